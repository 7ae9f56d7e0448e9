/* SPDX-License-Identifier: MIT */
/*
 * Shared state of the fslmc guest test: the portals, the object tree of
 * configs/fslmc-{polled,trapped}.toml (keep in step), LAPIC helpers for
 * watching MSIs arrive, TSC calibration and percentiles.
 */
#ifndef GUEST_TESTS_FSLMC_MCTEST_H
#define GUEST_TESTS_FSLMC_MCTEST_H

#include "fw/fslmc.h"
#include "fw/test.h"

/* configs/fslmc-*.toml */
#define MC_BASE        0xf0000000ull
#define ROOT_ID        1
#define ROOT_ICID      1
#define CHILD_ID       2
#define CHILD_ICID     20
#define ROOT_OBJECTS   8
#define CHILD_OBJECTS  3
#define FW_MAJOR       10
#define FW_MINOR       32
#define DPRC_MAJOR     6
#define DPRC_MINOR     6
#define PORTAL_WINDOW  0x10000u

struct expect_obj {
	const char *type;
	uint32_t id;
	const char *label;
	uint8_t irqs, regions;
	uint16_t major, minor;
	bool plugged;
};

extern const struct expect_obj root_objects[ROOT_OBJECTS];
extern const struct expect_obj child_objects[CHILD_OBJECTS];

/* Set up by test_setup(). */
extern struct fw_mc mc;
extern struct fw_mc_portal root_portal;
extern bool mc_found;

/* Region 0 (an MC portal) of an object in container `container_token`'s tree. */
uint64_t portal_of(struct fw_mc_portal *p, uint16_t container_token, const char *type,
		   uint32_t id);
/* Open the root container on the root portal (REQUIRE-style: 0 on failure). */
uint16_t open_root(void);
/* Send a raw command; returns the status. */
int raw_send(struct fw_mc_portal *p, uint16_t cmd_id, uint16_t token, const uint64_t *params);
/* Test-hook calls on a DPRC token. */
int hook_add(struct fw_mc_portal *p, uint16_t token, const char *type, uint32_t id,
	     uint8_t irqs, uint8_t regions);
int hook_remove(struct fw_mc_portal *p, uint16_t token, const char *type, uint32_t id);
int hook_assert_irq(struct fw_mc_portal *p, uint16_t token, const char *type, uint32_t id,
		    uint8_t irq, uint32_t bits);

/* LAPIC (xAPIC page, CPL 3 MMIO): software enable, TPR, IRR. */
void apic_enable_and_block(void);
bool apic_irr(unsigned vector);
/* Wait up to `us` microseconds (calibrated TSC) for IRR bit `vector`. */
bool apic_wait_irr(unsigned vector, unsigned us);

/* TSC ticks per microsecond (LAPIC timer calibration; 0 if that failed). */
extern uint64_t tsc_per_us;
uint64_t tsc_after_us(unsigned us);

/* Sort and pick the p-th percentile (0-100) of n samples (sorts in place). */
uint32_t percentile(uint32_t *samples, unsigned n, unsigned p);

/* A number from /chosen/bootargs "name=N", or def. */
unsigned long bootarg(const char *name, unsigned long def);

#endif
