/* SPDX-License-Identifier: MIT */
/* CPU state the firmware keeps, and small helpers usable at CPL 3. */
#ifndef FW_CPU_H
#define FW_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "fw/layout.h"

/* One per CPU; the FS base of CPU n points at fw_percpu[n]. */
struct fw_percpu {
	struct fw_percpu *self;   /* 0x00 */
	uint32_t cpu;             /* 0x08 CPU index from the VMM (RDX at entry) */
	volatile uint32_t online; /* 0x0c set to 1 by the CPU itself at entry */
	uint64_t reserved0[3];    /* 0x10 */
	uint64_t stack_guard;     /* 0x28 -fstack-protector canary (%fs:0x28) */
	uint64_t reserved1[10];   /* 0x30 */
};

extern struct fw_percpu fw_percpu[FW_MAX_CPUS];

/* What the CPL 0 exception path saved (firmware/entry.S fw_exc_common). */
struct fw_exc_frame {
	uint64_t cr2;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* This CPU's index, read from the per-CPU area at CPL 3 (no privileged call). */
static inline unsigned int fw_cpu_index(void)
{
	uint32_t v;

	__asm__ volatile("movl %%fs:%c1, %0" : "=r"(v) : "i"(FW_PERCPU_CPU));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *a, uint32_t *b,
			 uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(subleaf));
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* Simple test-and-set spinlock (works at CPL 3). */
struct fw_spinlock {
	volatile uint32_t locked;
};

static inline void fw_spin_lock(struct fw_spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			cpu_relax();
}

static inline void fw_spin_unlock(struct fw_spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* IDT: point gate `vector` at `handler` (an assembly entry that ends in
 * iretq and runs at CPL 0). dpl 3 makes it reachable by an instruction from
 * CPL 3 (only int3 is, here); ist 0 = no IST stack. May be called at CPL 3:
 * the IDT is in the image's .bss. */
void fw_idt_set_gate(unsigned int vector, const void *handler, unsigned int dpl, unsigned int ist);

/* Number of CPUs that reported in at entry (CPU 0 included). */
unsigned int fw_cpus_online(void);

/* Wait until CPUs 0..count-1 have reported in, or timeout_tsc TSC ticks
 * have passed. Returns true if they all did. */
bool fw_wait_cpus_online(unsigned int count, uint64_t timeout_tsc);

#endif
