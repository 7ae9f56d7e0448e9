/* SPDX-License-Identifier: MIT */
/*
 * The DFL card's AFU: a DMA copy/fill engine driven by a descriptor ring in
 * guest RAM (register map and descriptor: include/dfl_regs.h, part 2).
 *
 * The guest writes descriptors with plain stores and rings the doorbell:
 * either RING_TAIL, a trapped register write that kicks the card's poller
 * thread, or (TAIL_ADDR set) a 32-bit tail word in guest RAM that the
 * poller watches, so submission costs no exit at all. The engine runs on
 * the poller thread, reaches guest memory only
 * through guest_memory_ptr(), writes each descriptor's status last (release
 * order) and raises its MSI-X entry when asked. A buffer outside guest RAM
 * is the descriptor's DFL_AFU_ST_ADDRESS and an ERROR bit, never a host
 * access; a ring outside RAM halts the engine until RESET.
 *
 * Registers are atomics: vCPUs and the engine thread use them without a
 * lock. The card decides, through ops, whether DMA is allowed (bus master
 * enable, whole-device assignment) and what an interrupt or a DMA fault
 * does, so the engine is testable without KVM.
 */
#ifndef DEVICES_DFL_AFU_H
#define DEVICES_DFL_AFU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dfl_regs.h"
#include "vmm/memory.h"

struct dfl_afu_ops {
	void (*raise)(void *opaque, unsigned vector);   /* an MSI-X entry */
	bool (*dma_allowed)(void *opaque);
	void (*dma_fault)(void *opaque, unsigned port); /* a buffer outside RAM */
};

struct dfl_afu {
	unsigned port;
	unsigned vector;                 /* MSI-X entry of completions */
	const struct guest_memory *ram;
	const struct dfl_afu_ops *ops;
	void *opaque;

	atomic_uint_least64_t scratch[DFL_AFU_SCRATCH_COUNT];
	atomic_uint_least64_t ring_base, ring_size, tail, ctrl, tail_addr;
	atomic_uint_least64_t error, error_addr, completed, bytes;
	atomic_uint_least64_t state;     /* reset epoch << 32 | head */
	atomic_bool halted;
	atomic_bool in_port_reset;       /* PORT_CTRL.SFTRST */
};

void dfl_afu_init(struct dfl_afu *afu, unsigned port, unsigned vector,
		  const struct guest_memory *ram, const struct dfl_afu_ops *ops, void *opaque);

/* Registers at offset (>= DFL_AFU_MAGIC, 8-aligned) from the AFU start. */
uint64_t dfl_afu_read(struct dfl_afu *afu, uint64_t offset);
/* mask: the bytes written (a 4-byte write touches half). Returns true when
 * the engine may have work (kick the poller). */
bool dfl_afu_write(struct dfl_afu *afu, uint64_t offset, uint64_t value, uint64_t mask);

/* Run at most one descriptor. Returns true if it did anything (poller source). */
bool dfl_afu_poll(void *opaque);

/* CTRL.RESET: head = tail = 0, ERROR and HALTED cleared, engine disabled. */
void dfl_afu_reset(struct dfl_afu *afu);
/* The port's soft reset: the AFU is reset and holds still while in_reset. */
void dfl_afu_port_reset(struct dfl_afu *afu, bool in_reset);

#endif
