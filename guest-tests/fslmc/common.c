// SPDX-License-Identifier: MIT
/* Setup and helpers of the fslmc guest test (mctest.h). */
#include <stdlib.h>

#include "mctest.h"

const char *test_image_name = "fslmc";

const struct expect_obj root_objects[ROOT_OBJECTS] = {
	{ "dpmcp", 1, "", 1, 1, 4, 0, true },
	{ "dpmcp", 2, "", 1, 1, 4, 0, true },
	{ "dpio", 1, "io0", 1, 2, 4, 2, true },
	{ "dpbp", 1, "", 0, 0, 3, 3, true },
	{ "dpni", 1, "eth0", 1, 0, 7, 9, true },
	{ "dpmac", 1, "", 1, 0, 4, 4, true },
	{ "dpcon", 1, "", 1, 0, 3, 3, true },
	{ "dprc", CHILD_ID, "child", 1, 1, DPRC_MAJOR, DPRC_MINOR, true },
};

const struct expect_obj child_objects[CHILD_OBJECTS] = {
	{ "dpmcp", 3, "", 1, 1, 4, 0, true },
	{ "dpni", 2, "", 1, 0, 7, 9, false },
	{ "dpbp", 2, "", 0, 0, 3, 3, true },
};

struct fw_mc mc;
struct fw_mc_portal root_portal;
bool mc_found;
uint64_t tsc_per_us;

#define APIC_BASE   0xfee00000ul
#define APIC_TPR    0x080
#define APIC_SVR    0x0f0
#define APIC_IRR    0x200
#define APIC_LVTT   0x320
#define APIC_TMICT  0x380
#define APIC_TMCCT  0x390
#define APIC_TDCR   0x3e0

static volatile uint32_t *apic_reg(unsigned reg)
{
	return (volatile uint32_t *)(APIC_BASE + reg);
}

/* The LAPIC timer counts KVM's 1 GHz APIC bus: 1 tick per ns at divide-by-1. */
static void calibrate_tsc(void)
{
	uint32_t start_count, count;
	uint64_t start_tsc, end_tsc;

	*apic_reg(APIC_LVTT) = 0x10000; /* masked, one-shot */
	*apic_reg(APIC_TDCR) = 0xb;     /* divide by 1 */
	*apic_reg(APIC_TMICT) = 0xffffffffu;
	start_count = *apic_reg(APIC_TMCCT);
	start_tsc = rdtsc();
	do {
		count = *apic_reg(APIC_TMCCT);
	} while (start_count - count < 20000000u && count != 0); /* 20 ms */
	end_tsc = rdtsc();
	*apic_reg(APIC_TMICT) = 0;
	if (start_count - count < 1000000u)
		return;
	tsc_per_us = (end_tsc - start_tsc) * 1000u / (start_count - count);
	if (tsc_per_us < 200 || tsc_per_us > 10000)
		tsc_per_us = 0; /* not a 1 GHz APIC bus after all: report ticks only */
}

uint64_t tsc_after_us(unsigned us)
{
	return rdtsc() + (uint64_t)us * (tsc_per_us ? tsc_per_us : 3000);
}

void test_setup(void)
{
	mc_found = fw_mc_find(&mc) == 0;
	if (mc_found)
		fw_mc_portal_init(&root_portal, mc.portal_gpa);
	calibrate_tsc();
	diag("fslmc: portal mode %s, TSC %llu MHz", mc_found && mc.mode ? mc.mode : "?",
	     (unsigned long long)tsc_per_us);
}

void apic_enable_and_block(void)
{
	/* Software-enable (KVM drops fixed MSIs to a disabled APIC) with TPR
	 * 0xf0, so accepted vectors below 0xf0 stay in IRR and are never
	 * delivered, whatever RFLAGS.IF says. */
	*apic_reg(APIC_TPR) = 0xf0;
	*apic_reg(APIC_SVR) = 0x1ff;
}

bool apic_irr(unsigned vector)
{
	return (*apic_reg(APIC_IRR + 0x10 * (vector / 32)) >> (vector % 32)) & 1;
}

bool apic_wait_irr(unsigned vector, unsigned us)
{
	uint64_t deadline = tsc_after_us(us);

	while (!apic_irr(vector)) {
		if (rdtsc() > deadline)
			return false;
		cpu_relax();
	}
	return true;
}

uint64_t portal_of(struct fw_mc_portal *p, uint16_t token, const char *type, uint32_t id)
{
	struct fw_mc_region region;

	if (fw_dprc_get_obj_region(p, token, 3, type, id, 0, &region) != FW_MC_OK)
		return 0;
	return fw_mc_region_gpa(&mc, &region);
}

uint16_t open_root(void)
{
	uint16_t token = 0;

	if (fw_dprc_open(&root_portal, ROOT_ID, &token) != FW_MC_OK)
		return 0;
	return token;
}

int raw_send(struct fw_mc_portal *p, uint16_t cmd_id, uint16_t token, const uint64_t *params)
{
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, cmd_id, token);
	for (unsigned i = 0; params && i < 7; i++)
		cmd.params[i] = params[i];
	return fw_mc_send(p, &cmd);
}

int hook_add(struct fw_mc_portal *p, uint16_t token, const char *type, uint32_t id,
	     uint8_t irqs, uint8_t regions)
{
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, FW_MC_CMD_TEST_ADD_OBJ, token);
	fw_mc_put(&cmd, 0, 4, id);
	fw_mc_put(&cmd, 4, 1, irqs);
	fw_mc_put(&cmd, 5, 1, regions);
	fw_mc_put_str(&cmd, 24, type);
	fw_mc_put_str(&cmd, 40, "hotplug");
	return fw_mc_send(p, &cmd);
}

int hook_remove(struct fw_mc_portal *p, uint16_t token, const char *type, uint32_t id)
{
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, FW_MC_CMD_TEST_REMOVE_OBJ, token);
	fw_mc_put(&cmd, 0, 4, id);
	fw_mc_put_str(&cmd, 24, type);
	return fw_mc_send(p, &cmd);
}

int hook_assert_irq(struct fw_mc_portal *p, uint16_t token, const char *type, uint32_t id,
		    uint8_t irq, uint32_t bits)
{
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, FW_MC_CMD_TEST_ASSERT_IRQ, token);
	fw_mc_put(&cmd, 0, 4, id);
	fw_mc_put(&cmd, 4, 1, irq);
	fw_mc_put(&cmd, 8, 4, bits);
	fw_mc_put_str(&cmd, 24, type);
	return fw_mc_send(p, &cmd);
}

/* Heapsort: no allocation, O(n log n) for 200k samples. */
static void sift_down(uint32_t *a, unsigned start, unsigned n)
{
	unsigned root = start;

	while (2 * root + 1 < n) {
		unsigned child = 2 * root + 1;

		if (child + 1 < n && a[child] < a[child + 1])
			child++;
		if (a[root] >= a[child])
			return;
		uint32_t t = a[root];

		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

uint32_t percentile(uint32_t *a, unsigned n, unsigned p)
{
	if (!n)
		return 0;
	for (unsigned i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (unsigned end = n; end-- > 1;) {
		uint32_t t = a[0];

		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
	unsigned index = (unsigned)(((uint64_t)n * p) / 100);

	return a[index < n ? index : n - 1];
}

unsigned long bootarg(const char *name, unsigned long def)
{
	const char *args = fw_fdt_bootargs();
	const char *at = args ? strstr(args, name) : NULL;
	size_t len = strlen(name);

	if (!at || at[len] != '=')
		return def;
	return strtoul(at + len + 1, NULL, 0);
}
