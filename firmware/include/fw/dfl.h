/* SPDX-License-Identifier: MIT */
/*
 * FPGA Device Feature Lists from the guest side (firmware/dfl.c):
 *
 *  - fw_dfl_enumerate(): discover and walk the DFLs of a PCI function's BAR
 *    the way Linux does it (dfl-pci.c find_dfls_by_default, then dfl.c
 *    parse_feature_list / parse_feature_fiu / create_feature_instance /
 *    parse_feature_irqs), step for step, including FIU window re-basing,
 *    NEXT_AFU, PORT_CAP-sized AFUs, DFHv1 CSR_ADDR and parameter walks and
 *    the IRQ checks against the MSI-X table size. It is an independent
 *    implementation from the VMM's walker (devices/dfl/walker.c), so a
 *    test comparing the two catches a mistake in either. Reads that would
 *    leave the BAR stop the walk with an error instead (Linux would trust
 *    the list).
 *  - fw_dfl_dt_*(): read the VMM's description of exposed features from the
 *    device tree (docs/devices/dfl.md).
 *  - fw_dfl_afu_*(): drive the emulated card's DMA copy/fill AFU
 *    (include/dfl_regs.h): descriptor ring in RAM, doorbell, completion
 *    polling.
 *
 * Every BAR read is an MMIO exit (~16 us here); a walk of a 2-port card
 * costs about 50 of them.
 */
#ifndef FW_DFL_H
#define FW_DFL_H

#include <stdbool.h>
#include <stdint.h>

#include "dfl_regs.h"

#define FW_DFL_MAX_FEATURES 64
#define FW_DFL_MAX_LISTS    8

/* Linux's internal feature ids for FIU headers and AFUs (dfl.h). */
#define FW_DFL_FID_FIU_HEADER 0xfe
#define FW_DFL_FID_AFU        0xff

struct fw_dfl_feature {
	uint8_t type;           /* DFH TYPE (AFU: DFH_TYPE_AFU; its DFH is not read) */
	uint8_t fiu_id;         /* feature device: DFH_FIU_ID_FME / DFH_FIU_ID_PORT */
	uint8_t fiu_instance;   /* n-th feature device of that type */
	uint8_t dfh_version;
	uint8_t revision;
	uint16_t fid;           /* Linux feature id: private id, 0xfe FIU header, 0xff AFU */
	uint64_t dfh;           /* BAR offset of the DFH */
	uint64_t start, size;   /* MMIO resource, BAR offset (or bus address if absolute) */
	bool absolute;
	uint32_t param_size;
	uint32_t irq_base, irq_count;
};

struct fw_dfl {
	volatile uint8_t *bar;
	uint64_t bar_size;
	unsigned nr_irqs;       /* MSI-X entries (dfl-pci allocates them all) */
	struct { uint64_t start, len; } lists[FW_DFL_MAX_LISTS];
	unsigned list_count;
	struct fw_dfl_feature features[FW_DFL_MAX_FEATURES];
	unsigned count;
	unsigned mmio_reads;    /* exits spent */
	int error;              /* 0 or -errno-style code of the first failure */
	const char *why;
	uint64_t where;
};

/*
 * Discover and walk the DFLs in `bar` (CPU pointer, bar_size bytes) of a
 * function with nr_irqs MSI-X entries. Returns 0 or a negative code with
 * d->why/d->where set.
 */
int fw_dfl_enumerate(struct fw_dfl *d, volatile void *bar, uint64_t bar_size, unsigned nr_irqs);

/* The walked feature with its DFH at `dfh`, or NULL. */
const struct fw_dfl_feature *fw_dfl_find(const struct fw_dfl *d, uint64_t dfh);

/* 64-bit register of the BAR. */
static inline uint64_t fw_dfl_read(const struct fw_dfl *d, uint64_t offset)
{
	return *(volatile uint64_t *)(d->bar + offset);
}

static inline void fw_dfl_write(const struct fw_dfl *d, uint64_t offset, uint64_t value)
{
	*(volatile uint64_t *)(d->bar + offset) = value;
}

/* GUID text from GUID_L/GUID_H (as the VMM prints it). out: 37 bytes. */
void fw_dfl_guid_format(uint64_t guid_l, uint64_t guid_h, char *out);

/* ---- the device-tree view ---- */

struct fw_dfl_dt_feature {
	int node;
	uint32_t type, fiu, fiu_instance, id, revision, dfh_version;
	uint64_t dfh;
	uint32_t phys_hi;       /* reg: space, bus/device/function, BAR register */
	uint64_t offset, size;  /* reg: offset in the BAR, size */
	const char *guid;       /* NULL when absent */
	bool has_irq;
	uint32_t irq_base, irq_count;
	bool dma_capable;
};

struct fw_dfl_dt_card {
	int node;
	const char *device, *assignment;
	uint32_t bus, slot, function;
	uint32_t vendor, device_id;
};

/* Next "vmm,dfl-card" node after `after` (-1: first); its properties. */
int fw_dfl_dt_card(int after, struct fw_dfl_dt_card *card);
/* The card's feature nodes into out[] (at most max); returns how many, or < 0. */
int fw_dfl_dt_features(const struct fw_dfl_dt_card *card, struct fw_dfl_dt_feature *out,
		       int max);

/* ---- the card's AFU (DMA copy/fill engine) ---- */

struct fw_dfl_afu {
	volatile uint8_t *regs;        /* AFU start in the BAR */
	volatile struct dfl_afu_desc *ring; /* 64-byte aligned, in RAM */
	unsigned entries;              /* power of two */
	uint32_t tail;
	volatile uint32_t *tail_word;  /* polled doorbell in RAM; NULL: RING_TAIL register */
};

/* Reset the AFU, give it ring[entries], enable it (with completion
 * interrupts when irq). Returns 0, or -1 if the magic is wrong. */
int fw_dfl_afu_open(struct fw_dfl_afu *a, volatile void *afu_base,
		    volatile struct dfl_afu_desc *ring, unsigned entries, bool irq);

static inline uint64_t fw_dfl_afu_read(const struct fw_dfl_afu *a, unsigned reg)
{
	return *(volatile uint64_t *)(a->regs + reg);
}

static inline void fw_dfl_afu_write(const struct fw_dfl_afu *a, unsigned reg, uint64_t v)
{
	*(volatile uint64_t *)(a->regs + reg) = v;
}

/* Exitless doorbell: the AFU polls *word (TAIL_ADDR) instead of waiting for
 * RING_TAIL writes. word must stay in RAM while the AFU is open. */
void fw_dfl_afu_use_tail_word(struct fw_dfl_afu *a, volatile uint32_t *word);

/* Write the next descriptor (status PENDING) without ringing; returns it. */
volatile struct dfl_afu_desc *fw_dfl_afu_post(struct fw_dfl_afu *a, uint32_t op, uint32_t flags,
					      uint64_t src, uint64_t dst, uint64_t len);
/* Ring the doorbell: RING_TAIL = the tail (one MMIO exit), or a store to
 * the tail word (no exit). */
void fw_dfl_afu_kick(const struct fw_dfl_afu *a);
/* Spin on the descriptor's status (plain RAM reads, no exits) up to
 * timeout_tsc ticks; returns the status (DFL_AFU_ST_PENDING on timeout). */
uint32_t fw_dfl_afu_wait(volatile struct dfl_afu_desc *desc, uint64_t timeout_tsc);
/* post + kick + wait. */
uint32_t fw_dfl_afu_run(struct fw_dfl_afu *a, uint32_t op, uint32_t flags, uint64_t src,
			uint64_t dst, uint64_t len, uint64_t timeout_tsc);

#endif
