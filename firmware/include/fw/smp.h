/* SPDX-License-Identifier: MIT */
/*
 * Running work on other CPUs (firmware/smp.c).
 *
 * Every vCPU starts at the image entry. CPU 0 runs the firmware and the
 * tests; the others ("APs") park in HLT at CPL 0 with interrupts enabled
 * and run work at CPL 3 when asked:
 *
 *   caller (CPL 3)                       AP (CPL 3, idle loop)
 *   mailbox.fn/arg = ...; seq++          wait: priv_wait_ne(&seq, done):
 *   IPI FW_VEC_WAKE -> AP's APIC id  ->    hlt at CPL 0 until an interrupt
 *                                        seq != done: fn(arg) at CPL 3
 *   fw_smp_wait(): priv_wait_ne(&done)   done = seq; IPI FW_VEC_WAKE -> caller
 *     (halts) or spins, until done==seq    (back to waiting)
 *
 * A parked AP costs the host nothing (it is halted); a wake-up costs one
 * IPI (an ICR write from CPL 3) plus KVM's HLT wake-up (~25 us to the CPL 0
 * handler here, ~50 us back at CPL 3). The AP's loop runs with IF = 0;
 * interrupts aimed at a parked AP are taken (counted) while it halts, and a
 * work function may enable interrupts itself (the loop disables them again
 * when it returns).
 *
 * Work functions run on their CPU's own 16 KiB stack with its own FS base
 * (fw_cpu_index(), fw_this_cpu()). They may printf (the console is locked),
 * but must not use the test harness (CHECK etc. are CPU 0 only): record
 * results in memory and check them on CPU 0.
 */
#ifndef FW_SMP_H
#define FW_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "fw/cpu.h"

#define FW_SMP_ERR_CPU  (-1) /* no such CPU, not ready, or the caller itself */
#define FW_SMP_ERR_BUSY (-2) /* a call to that CPU is already in flight */

typedef void fw_smp_fn(void *arg);

/* CPUs the VMM started (boot_info cpu_count; 1 under PVH), capped at
 * FW_MAX_CPUS. */
unsigned int fw_smp_cpu_count(void);

/* CPU `cpu` reached its idle loop (CPU 0: always). */
bool fw_smp_ready(unsigned int cpu);

/* APIC id each CPU read from its own LAPIC at boot. */
static inline uint32_t fw_smp_apic_id(unsigned int cpu)
{
	return fw_percpu[cpu % FW_MAX_CPUS].apic_id;
}

/* Post fn(arg) to `cpu` and wake it; returns 0 or FW_SMP_ERR_*. The caller
 * must then fw_smp_wait() for it. */
int fw_smp_call_async(unsigned int cpu, fw_smp_fn *fn, void *arg);

/*
 * Wait for the call posted to `cpu` to finish.
 *   timeout_tsc == 0: halt until the completion IPI (no timeout);
 *   timeout_tsc  > 0: spin at most that many TSC ticks.
 * Returns true when it finished (and frees the mailbox for the next call);
 * false on timeout (the call stays in flight: wait again later).
 */
bool fw_smp_wait(unsigned int cpu, uint64_t timeout_tsc);

/* fw_smp_call_async + fw_smp_wait(cpu, 0). cpu == the caller runs fn
 * directly. Returns 0 or FW_SMP_ERR_*. */
int fw_smp_call(unsigned int cpu, fw_smp_fn *fn, void *arg);

/* Run fn(arg) on every ready CPU, the caller included (it runs its share
 * after posting the others'), and wait for all of them (halting).
 * Returns the number of CPUs that ran it. */
unsigned int fw_smp_call_all(fw_smp_fn *fn, void *arg);

/* TSC stamps of the last completed call on `cpu`: posted (caller, before the
 * IPI), started (first CPL 3 instruction on the AP), ended. */
struct fw_smp_timing {
	uint64_t posted, started, ended;
};
struct fw_smp_timing fw_smp_last_timing(unsigned int cpu);

#endif
