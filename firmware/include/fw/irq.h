/* SPDX-License-Identifier: MIT */
/*
 * Interrupts: CPL 0 counts, CPL 3 does the rest.
 *
 * Every vector 32-255 has an IDT interrupt gate to a 3-instruction CPL 0
 * stub (firmware/entry.S) that increments fw_percpu[cpu].irq_count[vector],
 * writes the xAPIC EOI register and returns (the spurious vector 0xff is not
 * EOI'd). Nothing else runs at CPL 0, because every instruction there costs
 * ~1.5 us on the project's machines. Code at CPL 3 looks at the counters,
 * waits for them to move, and optionally has callbacks run "after the
 * fact" by fw_irq_dispatch().
 *
 * Interrupts are delivered while
 *   - the CPU runs at CPL 3 with RFLAGS.IF = 1 (fw_irq_enable()), or
 *   - it halts in a waiting privileged call (fw_irq_wait*, priv_wait_ne),
 *     which enables them around its hlt whatever the caller's IF.
 * CPL 3 code starts with IF = 0 on every CPU.
 *
 * Counters are per CPU, 32 bits, and only ever incremented; compare them
 * with wrap-safe differences (fw_irq_count() - before).
 */
#ifndef FW_IRQ_H
#define FW_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "fw/cpu.h"
#include "fw/layout.h"

/* ---- Interrupt flag (the privileged-call gate; skipped when already so). */

/* Whether the calling CPU runs with interrupts enabled. Not pushfq: at
 * CPL 3 it always shows IF = 1 on the project's machines; the enable and
 * disable calls keep fw_percpu[].irq_on instead. */
static inline bool fw_irq_enabled(void)
{
	uint32_t on;

	__asm__ volatile("movl %%fs:%c1, %0" : "=r"(on) : "i"(FW_PERCPU_IRQ_ON) : "memory");
	return on != 0;
}

void fw_irq_enable(void);
void fw_irq_disable(void);
/* Disable; returns whether interrupts were enabled, for fw_irq_restore(). */
bool fw_irq_save(void);
void fw_irq_restore(bool enabled);

/* ---- Counters. */

/* Interrupts taken on vector v by the calling CPU / by CPU `cpu` / by all. */
static inline uint32_t fw_irq_count(unsigned int vector)
{
	return fw_this_cpu()->irq_count[vector & 0xff];
}

static inline uint32_t fw_irq_count_cpu(unsigned int cpu, unsigned int vector)
{
	return fw_percpu[cpu % FW_MAX_CPUS].irq_count[vector & 0xff];
}

uint64_t fw_irq_count_all(unsigned int vector);

/* ---- Waiting. */

/*
 * Halt until at least one interrupt has been taken (any vector), then run
 * fw_irq_dispatch(). Race-free only with IF = 0 in the caller; otherwise use
 * fw_irq_wait_count(), which rechecks its condition at CPL 0.
 */
void fw_irq_wait(void);

/*
 * Wait until this CPU's count of `vector` reaches `target` (wrap-safe:
 * (int32_t)(count - target) >= 0), running fw_irq_dispatch() meanwhile.
 *   timeout_tsc == 0: halt between interrupts (no timeout, frees the host
 *                     CPU; ~25 us wake-up + ~30 us gate here);
 *   timeout_tsc  > 0: spin at CPL 3 with interrupts enabled for at most
 *                     that many TSC ticks (lowest latency).
 * The caller's interrupt flag is the same on return. Returns true if the
 * count was reached.
 */
bool fw_irq_wait_count(unsigned int vector, uint32_t target, uint64_t timeout_tsc);

/* Spin (no halting) until CPU `cpu`'s count of `vector` reaches `target`
 * or timeout_tsc ticks pass. For interrupts aimed at another CPU. */
bool fw_irq_wait_count_cpu(unsigned int cpu, unsigned int vector, uint32_t target,
			   uint64_t timeout_tsc);

/* ---- Callbacks at CPL 3. */

/* Called by fw_irq_dispatch() on the CPU that took the interrupts, with the
 * number taken since the previous call (>= 1). */
typedef void fw_irq_fn(unsigned int vector, uint32_t count, void *arg);

/*
 * Set (fn != NULL) or clear the callback of a vector, for every CPU.
 * Interrupts already counted do not trigger it. Set it before the source
 * is enabled.
 */
void fw_irq_set_handler(unsigned int vector, fw_irq_fn *fn, void *arg);

/* Run the callbacks of the calling CPU's vectors whose counts moved.
 * Returns how many callbacks ran. The wait functions call it; a CPU running
 * with IF = 1 calls it when it likes (never from CPL 0). */
unsigned int fw_irq_dispatch(void);

/* ---- Timestamps (latency measurement). */

/*
 * Point vector's gate at the timestamping stub (on) or the plain one (off).
 * The timestamping stub stores the low 32 bits of rdtsc, taken as the third
 * instruction after entry, in this CPU's fw_percpu[].irq_tsc; it costs 7
 * more emulated instructions (~10 us here). Safe while the vector is live.
 */
void fw_irq_set_timestamp(unsigned int vector, bool on);

/* The last stub timestamp of CPU `cpu` as a full TSC value (valid for about
 * 2^32 ticks, 1.6 s at 2.6 GHz, after it was taken). */
uint64_t fw_irq_stamp_tsc(unsigned int cpu);

#endif
