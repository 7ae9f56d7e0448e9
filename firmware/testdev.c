// SPDX-License-Identifier: MIT
/* pci-testdev driver (fw/testdev.h). */
#include <stdint.h>
#include <string.h>

#include "fw/cpu.h"
#include "fw/pci.h"
#include "fw/smp.h"
#include "fw/testdev.h"

int fw_testdev_open(struct fw_testdev *t, int nth)
{
	struct fw_pci_dev *devs, *d;
	int n = fw_pci_init(&devs);

	memset(t, 0, sizeof(*t));
	if (n < 0)
		return -1;
	d = fw_pci_find(devs, n, PCI_TESTDEV_VENDOR_ID, PCI_TESTDEV_DEVICE_ID, nth);
	if (!d || !fw_pci_bar_ptr(d, 0) || d->bar[4].space != FW_PCI_SPACE_IO || !d->bar[4].addr)
		return -1;
	t->pci = d;
	t->regs = fw_pci_bar_ptr(d, 0);
	t->io = (uint16_t)d->bar[4].addr;
	fw_pci_command(d->bdf, FW_PCI_COMMAND_MEMORY | FW_PCI_COMMAND_IO | FW_PCI_COMMAND_MASTER, 0);
	if (fw_msix_init(&t->msix, d))
		return -1;
	t->vectors = t->msix.size;
	fw_msix_function_mask(&t->msix, true);
	fw_msix_enable(&t->msix, true);
	for (unsigned int i = 0; i < t->vectors; i++)
		fw_msix_mask(&t->msix, i, true);
	fw_msix_function_mask(&t->msix, false);
	return 0;
}

void fw_testdev_route(const struct fw_testdev *t, unsigned int entry, unsigned int cpu,
		      unsigned int vector)
{
	fw_msix_set(&t->msix, entry, fw_smp_apic_id(cpu), vector, false);
}
