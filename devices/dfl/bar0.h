/* SPDX-License-Identifier: MIT */
/*
 * The DFL card's BAR0 without PCI or KVM: the static words from layout.c
 * plus the live registers (FME scratchpad, global and port errors, port
 * control, the AFUs' DMA engines) and the poller thread that runs the
 * AFUs. Two users drive it: the emulated "dfl-card" (card.c, BAR0 on the
 * VM's PCI host, DMA into guest RAM) and the VFIO host simulator's "dfl"
 * backend (tests/vfio-sim/dev_dfl.c, BAR0 behind a VFIO region, DMA
 * through a simulated IOMMU). The user supplies interrupts and decides
 * whether the function may master the bus.
 *
 * Live registers are atomics: accessors (vCPUs, the simulator's callers)
 * and the poller thread use them without a lock.
 */
#ifndef DEVICES_DFL_BAR0_H
#define DEVICES_DFL_BAR0_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/dfl/afu.h"
#include "devices/dfl/card.h"
#include "vmm/memory.h"
#include "vmm/poll.h"

struct dfl_bar0_ops {
	/* MSI-X entry `vector` fires (DFL_CARD_VEC_*). */
	void (*raise)(void *opaque, unsigned vector);
	/* Whether the AFUs may DMA now (bus master enable, assignment...). */
	bool (*dma_allowed)(void *opaque);
};

struct dfl_bar0 {
	const char *name;
	const struct dfl_card_config *config;
	const struct dfl_layout *layout;
	const struct dfl_bar0_ops *ops;
	void *opaque;
	struct poller poller;
	bool poller_ready;           /* poller_init done */
	struct dfl_afu afus[DFL_CARD_MAX_PORTS];

	atomic_uint_least64_t fme_scratch;
	atomic_uint_least64_t gerr_mask, gerr_error;
	atomic_uint_least64_t port_ctrl[DFL_CARD_MAX_PORTS];
	atomic_uint_least64_t perr_mask[DFL_CARD_MAX_PORTS];
	atomic_uint_least64_t perr_error[DFL_CARD_MAX_PORTS];
	atomic_uint_least64_t perr_first[DFL_CARD_MAX_PORTS];
};

/*
 * Registers at reset values, one AFU per port doing DMA through `ram`, and
 * the poller (not started; its tuning from config). config, layout and ram
 * must outlive the BAR. Returns 0 or -errno.
 */
int dfl_bar0_init(struct dfl_bar0 *bar0, const char *name, const struct dfl_card_config *config,
		  const struct dfl_layout *layout, const struct guest_memory *ram,
		  const struct dfl_bar0_ops *ops, void *opaque);
/* The AFUs' poller thread; start after stop is allowed. */
int dfl_bar0_start(struct dfl_bar0 *bar0);
void dfl_bar0_stop(struct dfl_bar0 *bar0);
void dfl_bar0_destroy(struct dfl_bar0 *bar0);

/* Aligned 4- or 8-byte accesses; anything else reads all-ones / is ignored. */
uint64_t dfl_bar0_read(struct dfl_bar0 *bar0, uint64_t offset, unsigned size);
void dfl_bar0_write(struct dfl_bar0 *bar0, uint64_t offset, unsigned size, uint64_t value);

/* Every live register and AFU to its reset value. */
void dfl_bar0_reset(struct dfl_bar0 *bar0);

#endif
