/* SPDX-License-Identifier: MIT */
/*
 * Guest test `dfl` (configs/dfl*.toml): the emulated DFL card. The config
 * tells the test what it declares through the kernel command line:
 *
 *   dfl.ports=N dfl.dfh=V dfl.vectors=M dfl.assign=device|features
 *   dfl.expose=GROUP[,GROUP...]   (fme, port, afu, portN, afuN; "none")
 *
 * test_setup() finds the card on the PCI bus, walks its BAR like Linux
 * (fw_dfl_enumerate) and points MSI-X entry i at vector DFL_VEC_BASE + i
 * on CPU 0.
 */
#ifndef GUEST_TESTS_DFL_DFLTEST_H
#define GUEST_TESTS_DFL_DFLTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "fw/dfl.h"
#include "fw/pci.h"

#define DFL_VEC_BASE 0x50

#define EXPOSE_FME     (1u << 0)
#define EXPOSE_PORT(p) (1u << (1 + (p)))
#define EXPOSE_AFU(p)  (1u << (8 + (p)))

struct dfl_expect {
	bool given;            /* the command line has dfl.ports */
	unsigned ports, dfh, vectors;
	bool whole_device;
	uint32_t expose;
};

extern struct dfl_expect want;
extern struct fw_pci_dev *card;   /* NULL when setup failed */
extern volatile uint8_t *bar0;
extern uint64_t bar0_size;
extern struct fw_msix card_msix;
extern struct fw_dfl walk;

static inline uint64_t reg64(uint64_t offset)
{
	return *(volatile uint64_t *)(bar0 + offset);
}

static inline void wreg64(uint64_t offset, uint64_t value)
{
	*(volatile uint64_t *)(bar0 + offset) = value;
}

static inline volatile uint8_t *afu_regs(unsigned port)
{
	return bar0 + DFL_CARD_PORT(port) + DFL_CARD_AFU;
}

/* Whether the walked feature should be in the device tree. */
bool expected_exposed(const struct fw_dfl_feature *f);

/* Milliseconds as TSC ticks. */
uint64_t ms_tsc(uint64_t ms);

#endif
