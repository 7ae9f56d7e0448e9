/* SPDX-License-Identifier: MIT */
/*
 * DSA descriptor engine: executes one 64-byte work descriptor against guest
 * RAM and writes its completion record. Pure C over struct guest_memory (no
 * KVM, no threads), so unit tests and the fuzzer drive it directly.
 *
 * Every guest address (source, destination, completion record, batch list,
 * CRC seed) goes through guest_memory_ptr(); a range not wholly in RAM ends
 * the operation with the architectural page-fault status, the fault address
 * and the bytes completed before it (the status byte's bit 7 says whether
 * the fault was on a write). The status byte of a completion record is
 * written last, with release ordering, after the data and the record's
 * other fields.
 *
 * Side effects the engine cannot perform itself (a completion interrupt, a
 * software error that no completion record can carry) go through
 * struct dsa_engine_ops. The engine allocates nothing and takes no lock.
 */
#ifndef DEVICES_DSA_ENGINE_H
#define DEVICES_DSA_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "dsa_regs.h"
#include "vmm/memory.h"

/* What a software error report carries (becomes SWERR). */
struct dsa_swerr_info {
	uint8_t code;          /* DSA_COMP_* or DSA_SWERR_* */
	uint8_t opcode;
	bool batch;            /* raised by a descriptor inside a batch */
	bool fault_write;
	uint16_t batch_index;
	uint32_t invalid_flags;
	uint64_t fault_addr;
};

struct dsa_engine_ops {
	/* A descriptor with RCI completed: raise interrupt handle `handle`. */
	void (*interrupt)(void *opaque, uint16_t handle);
	/* An error no completion record could carry (e.g. misaligned record). */
	void (*software_error)(void *opaque, unsigned wq, const struct dsa_swerr_info *info);
};

/* Per-WQ limits, fixed while the WQ is enabled (snapshot of its WQCFG). */
struct dsa_wq_limits {
	uint64_t max_xfer;     /* bytes, 1 << max_xfer_shift */
	uint32_t max_batch;    /* descriptors, 1 << max_batch_shift */
	bool bof_enabled;
	uint64_t ops[4];       /* opcodes this WQ accepts (OPCAP & op_config) */
};

struct dsa_engine {
	const struct guest_memory *mem;
	const struct dsa_engine_ops *ops;
	void *opaque;
	uint16_t int_handles;  /* valid interrupt handles are 0 .. int_handles-1 */
	uint64_t executed;     /* descriptors run (batch members included) */
};

/*
 * Run one descriptor submitted to WQ `wq` with the given limits. Returns
 * the final status (DSA_COMP_*, with bit 7 for a write fault); the
 * completion record, interrupts and software errors are already done.
 */
uint8_t dsa_engine_run(struct dsa_engine *engine, unsigned wq, const struct dsa_wq_limits *limits,
		       const struct dsa_hw_desc *desc);

/*
 * CRC as DSA's CRC generation defines it: CRC32C (reflected polynomial
 * 0x82f63b78). By default the seed is inverted on input and the result
 * inverted on output, so seed 0 gives the standard CRC32C and a previous
 * result as seed continues it; `flags` may hold DSA_FLAG_CRC_BYPASS_*.
 */
uint32_t dsa_crc32c(uint32_t seed, const uint8_t *data, uint64_t len, uint32_t flags);

#endif
