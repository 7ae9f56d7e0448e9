/* SPDX-License-Identifier: MIT */
/*
 * PCI config space of a simulated PCI function, as vfio-pci's config
 * region shows it: a type-0 header, BARs that answer the sizing protocol,
 * a capability list, per-byte write masks. Any access size works (vfio-pci
 * splits them); an access starting past 4 KiB is EINVAL, one running past
 * the end is shortened.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "tests/vfio-sim/sim_internal.h"

#define CAP_FIRST 0x40
#define CAP_END   0x100
#define CAP_SLOT  0x40

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

void sim_pci_config_init(struct sim_pci_config *cfg, uint16_t vendor, uint16_t device,
			 uint32_t class_code, uint8_t revision)
{
	memset(cfg, 0, sizeof(*cfg));
	put16(cfg->bytes + PCI_VENDOR_ID, vendor);
	put16(cfg->bytes + PCI_DEVICE_ID, device);
	cfg->bytes[PCI_REVISION_ID] = revision;
	put32(cfg->bytes + PCI_REVISION_ID, (class_code << 8) | revision);
	put16(cfg->bytes + PCI_SUBSYSTEM_VENDOR_ID, vendor);
	put16(cfg->bytes + PCI_SUBSYSTEM_ID, device);
	cfg->bytes[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	/* COMMAND: I/O, memory, bus master, parity, SERR, INTx disable. */
	put16(cfg->writable + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
					   PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
					   PCI_COMMAND_INTX_DISABLE);
	cfg->writable[PCI_CACHE_LINE_SIZE] = 0xff;
	cfg->writable[PCI_LATENCY_TIMER] = 0xff;
	cfg->writable[PCI_INTERRUPT_LINE] = 0xff;
}

void sim_pci_config_bar(struct sim_pci_config *cfg, unsigned index, uint64_t size, bool is64)
{
	unsigned at = PCI_BASE_ADDRESS_0 + 4 * index;

	if (index >= 6 || (is64 && index == 5) || size < 16 || (size & (size - 1)))
		return;
	uint64_t mask = ~(size - 1) & ~0xfull;

	put32(cfg->bytes + at, is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
	put32(cfg->writable + at, (uint32_t)mask);
	if (is64) {
		put32(cfg->bytes + at + 4, 0);
		put32(cfg->writable + at + 4, (uint32_t)(mask >> 32));
	}
}

/* Capabilities take 64-byte slots from 0x40 (room for three), in list order. */
unsigned sim_pci_config_cap(struct sim_pci_config *cfg, uint8_t id, unsigned len)
{
	unsigned at = CAP_FIRST, last = 0;

	for (unsigned p = cfg->bytes[PCI_CAPABILITY_LIST]; p; p = cfg->bytes[p + 1]) {
		last = p;
		at = p + CAP_SLOT;
	}
	if (len > CAP_SLOT || at + CAP_SLOT > CAP_END)
		return 0;
	cfg->bytes[at] = id;
	cfg->bytes[at + 1] = 0;
	if (last)
		cfg->bytes[last + 1] = (uint8_t)at;
	else
		cfg->bytes[PCI_CAPABILITY_LIST] = (uint8_t)at;
	cfg->bytes[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	return at;
}

unsigned sim_pci_config_msix(struct sim_pci_config *cfg, unsigned vectors, unsigned bar,
			     uint32_t table_offset, uint32_t pba_offset)
{
	unsigned at = sim_pci_config_cap(cfg, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);

	if (!at || !vectors || vectors > 2048)
		return 0;
	put16(cfg->bytes + at + PCI_MSIX_FLAGS, (uint16_t)(vectors - 1));
	put16(cfg->writable + at + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	put32(cfg->bytes + at + PCI_MSIX_TABLE, table_offset | bar);
	put32(cfg->bytes + at + PCI_MSIX_PBA, pba_offset | bar);
	return at;
}

unsigned sim_pci_config_pcie(struct sim_pci_config *cfg)
{
	unsigned at = sim_pci_config_cap(cfg, PCI_CAP_ID_EXP, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2);

	if (!at)
		return 0;
	put16(cfg->bytes + at + PCI_EXP_FLAGS, 2 | (PCI_EXP_TYPE_ENDPOINT << 4));
	/* The backends' RESET is an FLR, and the function says so (a VMM checks). */
	put32(cfg->bytes + at + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR);
	/* Initiate FLR reads 0 (vfio-pci virtualizes it; the reset is VFIO_DEVICE_RESET). */
	put16(cfg->writable + at + PCI_EXP_DEVCTL, (uint16_t)~PCI_EXP_DEVCTL_BCR_FLR);
	return at;
}

bool sim_pci_config_bus_master(const struct sim_pci_config *cfg)
{
	return __atomic_load_n(&cfg->bytes[PCI_COMMAND], __ATOMIC_RELAXED) & PCI_COMMAND_MASTER;
}

void sim_pci_irqs_init(struct sim_device *dev, bool intx, unsigned msix_vectors)
{
	const uint32_t fixed = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;

	dev->irq_count = VFIO_PCI_NUM_IRQS;
	dev->irqs[VFIO_PCI_INTX_IRQ_INDEX] = (struct sim_irq){
		VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED, intx ? 1 : 0
	};
	dev->irqs[VFIO_PCI_MSI_IRQ_INDEX] = (struct sim_irq){ fixed, 0 };
	dev->irqs[VFIO_PCI_MSIX_IRQ_INDEX] = (struct sim_irq){ fixed, msix_vectors };
	dev->irqs[VFIO_PCI_ERR_IRQ_INDEX] = (struct sim_irq){ fixed, 1 };
	dev->irqs[VFIO_PCI_REQ_IRQ_INDEX] = (struct sim_irq){ fixed, 1 };
}

ssize_t sim_pci_config_read(const struct sim_pci_config *cfg, uint64_t offset, void *buf,
			    size_t len)
{
	if (offset >= sizeof(cfg->bytes))
		return -EINVAL;
	if (len > sizeof(cfg->bytes) - offset)
		len = (size_t)(sizeof(cfg->bytes) - offset);
	memcpy(buf, cfg->bytes + offset, len);
	return (ssize_t)len;
}

ssize_t sim_pci_config_write(struct sim_pci_config *cfg, uint64_t offset, const void *buf,
			     size_t len)
{
	const uint8_t *in = buf;

	if (offset >= sizeof(cfg->bytes))
		return -EINVAL;
	if (len > sizeof(cfg->bytes) - offset)
		len = (size_t)(sizeof(cfg->bytes) - offset);
	for (size_t i = 0; i < len; i++) {
		uint8_t mask = cfg->writable[offset + i];
		uint8_t *b = &cfg->bytes[offset + i];

		__atomic_store_n(b, (uint8_t)((*b & ~mask) | (in[i] & mask)), __ATOMIC_RELAXED);
	}
	return (ssize_t)len;
}
