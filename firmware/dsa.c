// SPDX-License-Identifier: MIT
/* Intel DSA driver for self-test images: see fw/dsa.h. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fw/apic.h"
#include "fw/cpu.h"
#include "fw/dsa.h"
#include "fw/io.h"
#include "fw/tsc.h"

#define CMD_POLL_US      1000
#define CMD_POLL_TRIES   5000

int fw_dsa_probe(struct fw_dsa *dsa, int nth, enum fw_dsa_discipline discipline)
{
	struct fw_pci_dev *devs;
	int n = fw_pci_init(&devs);

	memset(dsa, 0, sizeof(*dsa));
	dsa->discipline = discipline;
	if (n <= 0 || !(dsa->pci = fw_pci_find(devs, n, DSA_VENDOR_ID, DSA_DEVICE_ID, nth)))
		return -1;
	dsa->regs = fw_pci_bar_ptr(dsa->pci, DSA_MMIO_BAR);
	dsa->portals = fw_pci_bar_ptr(dsa->pci, DSA_WQ_BAR);
	if (!dsa->regs || !dsa->portals || fw_msix_init(&dsa->msix, dsa->pci))
		return -1;
	dsa->gencap = fw_dsa_read64(dsa, DSA_REG_GENCAP);
	dsa->wqcap = fw_dsa_read64(dsa, DSA_REG_WQCAP);
	dsa->grpcap = fw_dsa_read64(dsa, DSA_REG_GRPCAP);
	dsa->engcap = fw_dsa_read64(dsa, DSA_REG_ENGCAP);
	dsa->opcap = fw_dsa_read64(dsa, DSA_REG_OPCAP);
	dsa->table_offset[0] = fw_dsa_read64(dsa, DSA_REG_TABLE_OFFSET);
	dsa->table_offset[1] = fw_dsa_read64(dsa, DSA_REG_TABLE_OFFSET + 8);
	dsa->grpcfg_offset = (uint32_t)(dsa->table_offset[0] & 0xffff) * 0x100;
	dsa->wqcfg_offset = (uint32_t)((dsa->table_offset[0] >> 16) & 0xffff) * 0x100;
	dsa->wqcfg_size = 32u << ((dsa->wqcap >> DSA_WQCAP_WQCFG_SIZE_SHIFT) & 0xf);
	dsa->num_wqs = (unsigned int)(dsa->wqcap >> DSA_WQCAP_NUM_WQS_SHIFT) & 0xff;
	dsa->total_wq_size = (unsigned int)(dsa->wqcap & DSA_WQCAP_TOTAL_SIZE_MASK);
	dsa->max_xfer_shift = (unsigned int)(dsa->gencap >> DSA_GENCAP_MAX_XFER_SHIFT) & 0x1f;
	dsa->max_batch_shift = (unsigned int)(dsa->gencap >> DSA_GENCAP_MAX_BATCH_SHIFT) & 0xf;
	/* The selftest driver cannot use interrupt handles. */
	if ((dsa->gencap & DSA_GENCAP_CMD_CAP) &&
	    (fw_dsa_read64(dsa, DSA_REG_CMDCAP) & (1ull << DSA_CMD_REQUEST_INT_HANDLE)))
		return -1;
	return 0;
}

int fw_dsa_command(struct fw_dsa *dsa, uint32_t cmd)
{
	uint32_t status;

	fw_dsa_write32(dsa, DSA_REG_CMD, cmd);
	for (unsigned int i = 0;; i++) {
		status = fw_dsa_read32(dsa, DSA_REG_CMDSTS);
		if (fw_dsa_read64(dsa, DSA_REG_SWERR) & DSA_SWERR_VALID)
			return -1;
		if (!(status & DSA_CMDSTS_ACTIVE))
			break;
		if (i == CMD_POLL_TRIES)
			return -1;
		fw_udelay(CMD_POLL_US);
	}
	return (int)(status & DSA_CMDSTS_ERR_MASK);
}

void fw_dsa_configure_wq(struct fw_dsa *dsa, unsigned int wq, uint32_t size, bool dedicated,
			 uint64_t ops)
{
	uint32_t cfg[16] = { 0 };
	uint32_t base = dsa->wqcfg_offset + wq * dsa->wqcfg_size;

	cfg[0] = size;
	cfg[2] = (dedicated ? DSA_WQCFG_MODE_DEDICATED : DSA_WQCFG_PASID_EN) |
		 1u << DSA_WQCFG_PRIORITY_SHIFT |
		 ((dsa->wqcap & (1ull << 50)) ? DSA_WQCFG_ATS_DISABLE : 0);
	cfg[3] = dsa->max_xfer_shift | dsa->max_batch_shift << DSA_WQCFG_MAX_BATCH_SHIFT;
	cfg[DSA_WQCFG_OP_CONFIG_DWORD] = (uint32_t)ops;
	cfg[DSA_WQCFG_OP_CONFIG_DWORD + 1] = (uint32_t)(ops >> 32);
	for (unsigned int i = 0; i < dsa->wqcfg_size / 4 && i < 16; i++)
		fw_dsa_write32(dsa, base + 4 * i, cfg[i]);
}

void fw_dsa_configure_group(struct fw_dsa *dsa, unsigned int group, uint64_t wqs,
			    uint64_t engines)
{
	uint32_t base = dsa->grpcfg_offset + group * DSA_GRPCFG_SIZE;

	fw_dsa_write64(dsa, base + DSA_GRPCFG_WQS, wqs);
	fw_dsa_write64(dsa, base + DSA_GRPCFG_ENGINES, engines);
}

uint32_t fw_dsa_wqcfg(const struct fw_dsa *dsa, unsigned int wq, unsigned int dword)
{
	return fw_dsa_read32(dsa, dsa->wqcfg_offset + wq * dsa->wqcfg_size + 4 * dword);
}

unsigned int fw_dsa_wq_state(const struct fw_dsa *dsa, unsigned int wq)
{
	return fw_dsa_wqcfg(dsa, wq, 6) >> DSA_WQCFG_STATE_SHIFT;
}

int fw_dsa_init(struct fw_dsa *dsa, uint64_t ops)
{
	int err;

	fw_pci_write16(dsa->pci->bdf, FW_PCI_COMMAND, FW_PCI_COMMAND_MEMORY |
		       FW_PCI_COMMAND_MASTER | FW_PCI_COMMAND_INTX_DISABLE);
	if ((err = fw_dsa_command(dsa, DSA_CMD(DSA_CMD_RESET_DEVICE, 0))))
		return err;
	fw_dsa_configure_wq(dsa, 0, dsa->total_wq_size, true, ops);
	fw_dsa_configure_group(dsa, 0, 1, 1);
	if ((err = fw_dsa_command(dsa, DSA_CMD(DSA_CMD_ENABLE_DEVICE, 0))) ||
	    (err = fw_dsa_command(dsa, DSA_CMD(DSA_CMD_ENABLE_WQ, 0))))
		return err;
	memset(dsa->next_slot, 0, sizeof(dsa->next_slot));
	return 0;
}

void fw_dsa_msix(struct fw_dsa *dsa, unsigned int entry, unsigned int vector)
{
	fw_lapic_init_cpu();
	fw_msix_set(&dsa->msix, entry, fw_lapic_id(), vector, false);
	fw_msix_enable(&dsa->msix, true);
}

/* Earlier stores (buffers, records, the descriptor) before the weakly ordered MOVDIR64B. */
static inline void store_fence(void)
{
	__asm__ volatile("sfence" : : : "memory");
}


static volatile uint8_t *next_portal_slot(struct fw_dsa *dsa, unsigned int wq, unsigned int page)
{
	volatile uint8_t *portal = dsa->portals + wq * DSA_WQ_PORTAL_STRIDE + page * DSA_PAGE_SIZE;
	unsigned int slot = 0;

	if (dsa->discipline == FW_DSA_ROTATE) {
		unsigned int *next = &dsa->next_slot[wq & 7][page & 3];

		slot = *next;
		*next = (slot + 1) % (DSA_PAGE_SIZE / DSA_PORTAL_SLOT);
	}
	return portal + slot * DSA_PORTAL_SLOT;
}

void fw_dsa_submit_page(struct fw_dsa *dsa, unsigned int wq, unsigned int page,
			const struct dsa_hw_desc *desc)
{
	store_fence();
	movdir64b((uint64_t)(uintptr_t)next_portal_slot(dsa, wq, page), desc);
}

void fw_dsa_submit_many(struct fw_dsa *dsa, const struct dsa_hw_desc *descs, unsigned int n)
{
	store_fence();
	for (unsigned int i = 0; i < n; i++)
		movdir64b((uint64_t)(uintptr_t)next_portal_slot(dsa, 0, 0), &descs[i]);
}

uint8_t fw_dsa_wait(const struct dsa_completion_record *record, uint64_t timeout_tsc)
{
	const volatile uint8_t *status = &record->status;
	uint64_t start = rdtsc();
	uint8_t s;

	while (!(s = *status)) {
		if (rdtsc() - start > timeout_tsc)
			return 0;
		cpu_relax();
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* the rest of the record, then the data */
	return s;
}

uint32_t fw_dsa_crc32c(uint32_t seed, const void *data, uint64_t len)
{
	const uint8_t *p = data;
	uint32_t crc = ~seed;

	for (uint64_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}
