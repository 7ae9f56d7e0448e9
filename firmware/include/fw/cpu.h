/* SPDX-License-Identifier: MIT */
/* CPU state the firmware keeps, and small helpers usable at CPL 3. */
#ifndef FW_CPU_H
#define FW_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "fw/layout.h"

/* SMP mailbox of one CPU (firmware/smp.c, fw/smp.h). Written by the caller,
 * read by the target at CPL 3. */
struct fw_smp_mailbox {
	void (*fn)(void *arg);    /* work to run at CPL 3 */
	void *arg;
	volatile uint32_t seq;    /* bumped by the caller for each call */
	volatile uint32_t done;   /* set to seq by the target when fn returned */
	uint32_t caller_apic;     /* APIC id to send the completion IPI to */
	uint32_t busy;            /* caller-side lock (one call in flight) */
	volatile uint64_t t_post; /* TSC: caller, just before the wake-up IPI */
	volatile uint64_t t_start;/* TSC: target, first CPL 3 instruction of the call */
	volatile uint64_t t_end;  /* TSC: target, fn returned */
	uint64_t calls;           /* calls completed on this CPU */
};

/* One page per CPU; the FS base of CPU n points at fw_percpu[n]. The CPL 0
 * interrupt stubs write irq_count (and irq_tsc) through %fs. */
struct fw_percpu {
	struct fw_percpu *self;   /* 0x00 */
	uint32_t cpu;             /* 0x08 CPU index from the VMM (RDX at entry) */
	volatile uint32_t online; /* 0x0c set to 1 by the CPU itself at entry (CPL 0) */
	uint32_t apic_id;         /* 0x10 from its LAPIC ID register */
	volatile uint32_t ready;  /* 0x14 CPL 3 set up, parked and accepting smp_call */
	volatile uint32_t irq_tsc;/* 0x18 low 32 TSC bits at entry of a timestamping stub */
	volatile uint32_t irq_on; /* 0x1c CPL 3 code runs with IF = 1 (kept at CPL 0) */
	uint32_t lapic_div1;      /* 0x20 LAPIC timer divider set to 1 */
	uint32_t reserved0;       /* 0x24 */
	uint64_t stack_guard;     /* 0x28 -fstack-protector canary (%fs:0x28) */
	uint64_t reserved1[2];    /* 0x30 */
	struct fw_smp_mailbox smp;/* 0x40 */
	uint8_t reserved2[FW_PERCPU_IRQ_COUNT - FW_PERCPU_SMP - sizeof(struct fw_smp_mailbox)];
	volatile uint32_t irq_count[256]; /* 0x400 interrupts taken, per vector (CPL 0) */
	uint32_t irq_seen[256];           /* 0x800 counts already passed to callbacks */
	uint8_t reserved3[FW_PERCPU_SIZE - FW_PERCPU_IRQ_SEEN - 256 * 4];
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

/* This CPU's per-CPU area (%fs:0 holds its own address). */
static inline struct fw_percpu *fw_this_cpu(void)
{
	struct fw_percpu *p;

	__asm__ volatile("movq %%fs:%c1, %0" : "=r"(p) : "i"(FW_PERCPU_SELF));
	return p;
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
