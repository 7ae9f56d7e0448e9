/* SPDX-License-Identifier: MIT */
/*
 * Driver of the emulated PCI test function (include/pci_testdev.h),
 * firmware/testdev.c. Registers in BAR0 (MMIO), an echo/counter pair in
 * BAR4 (I/O), MSI-X table and PBA in BAR2; RAISE sends MSI-X entry N, and a
 * host timer (TIMER_US) raises entry TIMER_VECTOR.
 */
#ifndef FW_TESTDEV_H
#define FW_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "fw/io.h"
#include "fw/pci.h"
#include "pci_testdev.h"

struct fw_testdev {
	struct fw_pci_dev *pci;  /* in fw_pci_init()'s table */
	volatile uint8_t *regs;  /* BAR0 */
	uint16_t io;             /* BAR4 port base */
	struct fw_msix msix;
	unsigned int vectors;    /* MSI-X table size */
};

/*
 * Find the nth pci-testdev (fw_pci_init(): enumerates and assigns BARs the
 * first time), enable MEM, IO and bus mastering, locate MSI-X, mask every
 * entry and enable MSI-X (function unmasked). Returns 0, or -1 if there is
 * no such device or it is unusable.
 */
int fw_testdev_open(struct fw_testdev *t, int nth);

static inline uint32_t fw_testdev_read(const struct fw_testdev *t, unsigned int reg)
{
	return *(volatile uint32_t *)(t->regs + reg);
}

static inline void fw_testdev_write(const struct fw_testdev *t, unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(t->regs + reg) = v;
}

/* Send MSI-X entry `entry` (one MMIO write, an exit to the VMM). */
static inline void fw_testdev_raise(const struct fw_testdev *t, unsigned int entry)
{
	fw_testdev_write(t, PCI_TESTDEV_RAISE, entry);
}

/* Point MSI-X entry `entry` at CPU `cpu` (its APIC id), vector `vector`,
 * unmasked. */
void fw_testdev_route(const struct fw_testdev *t, unsigned int entry, unsigned int cpu,
		      unsigned int vector);

#endif
