// SPDX-License-Identifier: MIT
/* Per-CPU areas, the IDT (filled at CPL 3), CPU bring-up bookkeeping. */
#include <stddef.h>
#include <stdint.h>

#include "boot_protocol.h"
#include "fw/cpu.h"
#include "fw/fw.h"
#include "internal.h"

_Static_assert(sizeof(struct fw_percpu) == FW_PERCPU_SIZE, "per-CPU size");
_Static_assert(offsetof(struct fw_percpu, cpu) == FW_PERCPU_CPU, "per-CPU layout");
_Static_assert(offsetof(struct fw_percpu, online) == FW_PERCPU_ONLINE, "per-CPU layout");
_Static_assert(offsetof(struct fw_percpu, stack_guard) == FW_PERCPU_STACK_GUARD, "per-CPU layout");
_Static_assert(offsetof(struct fw_percpu, apic_id) == FW_PERCPU_APIC_ID, "per-CPU layout");
_Static_assert(offsetof(struct fw_percpu, ready) == FW_PERCPU_READY, "per-CPU layout");
_Static_assert(offsetof(struct fw_percpu, irq_tsc) == FW_PERCPU_IRQ_TSC, "per-CPU layout");
_Static_assert(offsetof(struct fw_percpu, irq_on) == FW_PERCPU_IRQ_ON, "per-CPU layout");
_Static_assert(offsetof(struct fw_percpu, smp) == FW_PERCPU_SMP, "per-CPU layout");
_Static_assert(offsetof(struct fw_percpu, irq_count) == FW_PERCPU_IRQ_COUNT, "per-CPU layout");
_Static_assert(offsetof(struct fw_percpu, irq_seen) == FW_PERCPU_IRQ_SEEN, "per-CPU layout");
_Static_assert(offsetof(struct fw_exc_frame, vector) == FW_EXC_FRAME_GPRS * 8, "frame layout");


/* Loaded by _start (fw_idt_desc in head.S); all zero until fw_cpu_init(). */
uint64_t fw_idt[2 * 256] __attribute__((aligned(4096))); /* 16-byte gates */

/* In .bss (zeroed by the loader). _start points CPU 0's FS base here; the
 * canary is set in fw_cpu_init() before any stack-protected code (libfdt)
 * runs. Secondary CPUs write their own cpu/online fields at CPL 0. */
struct fw_percpu fw_percpu[FW_MAX_CPUS] __attribute__((aligned(FW_PERCPU_SIZE)));

void fw_idt_set_gate(unsigned int vector, const void *handler, unsigned int dpl, unsigned int ist)
{
	uint64_t off = (uint64_t)(uintptr_t)handler;
	/* Present, interrupt gate (0xE): IF is cleared on entry. */
	uint64_t lo = (off & 0xffff) | ((uint64_t)FW_SEL_KERNEL_CODE << 16) |
		      ((uint64_t)(ist & 7) << 32) | ((uint64_t)(0x80 | ((dpl & 3) << 5) | 0x0e) << 40) |
		      ((off >> 16 & 0xffff) << 48);
	uint64_t *q = &fw_idt[2 * (vector & 0xff)];

	/* High half first, then the low half (present bit, selector, offset
	 * 0-31) in one store: a gate that is live on another CPU switches
	 * from one handler to the other atomically (handlers are below 4 GiB,
	 * so the high half never changes once written). */
	__atomic_store_n(&q[1], off >> 32, __ATOMIC_RELAXED);
	__atomic_store_n(&q[0], lo, __ATOMIC_RELEASE);
}

void fw_cpu_init(void)
{
	const char *stubs = (const char *)fw_isr_stubs;
	uint64_t guard;
	unsigned int v;

	for (v = 0; v < FW_VEC_FIRST_IRQ; v++)
		fw_idt_set_gate(v, stubs + 16 * v, 0, v == 8 ? 1 : 0);
	/* 32-255: count + EOI at CPL 0 (entry.S fw_irq_stubs), 32 bytes apart. */
	for (v = FW_VEC_FIRST_IRQ; v < 256; v++)
		fw_idt_set_gate(v, fw_irq_stubs + 32 * (v - FW_VEC_FIRST_IRQ), 0, 0);
	/* int3: the privileged-call gate, reachable from CPL 3. */
	fw_idt_set_gate(3, (const void *)fw_privcall_entry, 3, 0);

	/* Low byte 0, as glibc does, so string overruns stop at the canary.
	 * Secondary CPUs run no C code before fw_smp_init() releases them, so
	 * their canaries can be set here too. */
	guard = (0x2f8dd23a5e1c9bull ^ rdtsc()) << 8;
	for (v = 0; v < FW_MAX_CPUS; v++) {
		fw_percpu[v].self = &fw_percpu[v];
		fw_percpu[v].stack_guard = guard;
	}
	fw_percpu[0].cpu = 0;
	fw_percpu[0].online = 1;
}

unsigned int fw_cpus_online(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < FW_MAX_CPUS; i++)
		n += fw_percpu[i].online ? 1 : 0;
	return n;
}

bool fw_wait_cpus_online(unsigned int count, uint64_t timeout_tsc)
{
	uint64_t start = rdtsc();
	unsigned int i;

	if (count > FW_MAX_CPUS)
		return false;
	for (;;) {
		for (i = 0; i < count; i++)
			if (!fw_percpu[i].online)
				break;
		if (i == count)
			return true;
		if (rdtsc() - start > timeout_tsc)
			return false;
		cpu_relax();
	}
}
