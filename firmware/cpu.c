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
_Static_assert(offsetof(struct fw_exc_frame, vector) == FW_EXC_FRAME_GPRS * 8, "frame layout");

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
};

/* Loaded by _start (fw_idt_desc in head.S); all zero until fw_cpu_init(). */
struct idt_gate fw_idt[256] __attribute__((aligned(4096)));

/* In .bss (zeroed by the loader). _start points CPU 0's FS base here; the
 * canary is set in fw_cpu_init() before any stack-protected code (libfdt)
 * runs. Secondary CPUs write their own cpu/online fields at CPL 0. */
struct fw_percpu fw_percpu[FW_MAX_CPUS] __attribute__((aligned(FW_PERCPU_SIZE)));

void fw_idt_set_gate(unsigned int vector, const void *handler, unsigned int dpl, unsigned int ist)
{
	uint64_t off = (uint64_t)(uintptr_t)handler;
	struct idt_gate *g = &fw_idt[vector & 0xff];

	g->offset_lo = (uint16_t)off;
	g->selector = FW_SEL_KERNEL_CODE;
	g->ist = (uint8_t)(ist & 7);
	g->offset_mid = (uint16_t)(off >> 16);
	g->offset_hi = (uint32_t)(off >> 32);
	g->reserved = 0;
	/* Present, interrupt gate (0xE): IF is cleared on entry. Written last. */
	__atomic_store_n(&g->type_attr, (uint8_t)(0x80 | ((dpl & 3) << 5) | 0x0e), __ATOMIC_RELEASE);
}

void fw_cpu_init(void)
{
	const char *stubs = (const char *)fw_isr_stubs;
	unsigned int v;

	for (v = 0; v < 256; v++)
		fw_idt_set_gate(v, stubs + 16 * v, 0, v == 8 ? 1 : 0);
	/* int3: the privileged-call gate, reachable from CPL 3. */
	fw_idt_set_gate(3, (const void *)fw_privcall_entry, 3, 0);

	for (v = 0; v < FW_MAX_CPUS; v++)
		fw_percpu[v].self = &fw_percpu[v];
	fw_percpu[0].cpu = 0;
	fw_percpu[0].online = 1;
	/* Low byte 0, as glibc does, so string overruns stop at the canary. */
	fw_percpu[0].stack_guard = (0x2f8dd23a5e1c9bull ^ rdtsc()) << 8;
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
