// SPDX-License-Identifier: MIT
/*
 * Interrupts at CPL 3 (fw/irq.h) and the local APIC (fw/apic.h).
 *
 * The CPL 0 side is entry.S: fw_irq_stubs (count + EOI + iretq) and
 * fw_irq_stamp_stubs. Everything here runs at CPL 3.
 */
#include <stdbool.h>
#include <stdint.h>

#include "fw/apic.h"
#include "fw/cpu.h"
#include "fw/fw.h"
#include "fw/irq.h"
#include "fw/privcall.h"
#include "fw/tsc.h"
#include "internal.h"

/* ---- Interrupt flag. */

void fw_irq_enable(void)
{
	if (!fw_irq_enabled())
		priv_irq_enable();
}

void fw_irq_disable(void)
{
	if (fw_irq_enabled())
		priv_irq_disable();
}

bool fw_irq_save(void)
{
	bool on = fw_irq_enabled();

	if (on)
		priv_irq_disable();
	return on;
}

void fw_irq_restore(bool enabled)
{
	if (enabled)
		fw_irq_enable();
	else
		fw_irq_disable();
}

/* ---- Counters and waiting. */

uint64_t fw_irq_count_all(unsigned int vector)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < FW_MAX_CPUS; i++)
		n += fw_percpu[i].irq_count[vector & 0xff];
	return n;
}

static bool reached(uint32_t count, uint32_t target)
{
	return (int32_t)(count - target) >= 0;
}

void fw_irq_wait(void)
{
	priv_wait_irq();
	fw_irq_dispatch();
}

bool fw_irq_wait_count(unsigned int vector, uint32_t target, uint64_t timeout_tsc)
{
	volatile uint32_t *count = &fw_this_cpu()->irq_count[vector & 0xff];
	uint64_t start;
	bool was_on, ok;

	if (timeout_tsc == 0) {
		uint32_t seen;

		while (!reached(seen = *count, target)) {
			priv_wait_ne(count, seen);
			fw_irq_dispatch();
		}
		return true;
	}
	was_on = fw_irq_enabled();
	if (!was_on)
		priv_irq_enable();
	start = rdtsc();
	while (!(ok = reached(*count, target)) && rdtsc() - start < timeout_tsc)
		cpu_relax();
	if (!was_on)
		priv_irq_disable();
	fw_irq_dispatch();
	return ok;
}

bool fw_irq_wait_count_cpu(unsigned int cpu, unsigned int vector, uint32_t target,
			   uint64_t timeout_tsc)
{
	volatile uint32_t *count = &fw_percpu[cpu % FW_MAX_CPUS].irq_count[vector & 0xff];
	uint64_t start = rdtsc();

	for (;;) {
		if (reached(*count, target))
			return true;
		if (rdtsc() - start >= timeout_tsc)
			return false;
		cpu_relax();
	}
}

/* ---- Callbacks. */

static struct {
	fw_irq_fn *fn;
	void *arg;
} handlers[256];
static uint64_t handler_map[4]; /* vectors with a callback */

void fw_irq_set_handler(unsigned int vector, fw_irq_fn *fn, void *arg)
{
	unsigned int v = vector & 0xff;

	__atomic_and_fetch(&handler_map[v / 64], ~(1ull << (v % 64)), __ATOMIC_SEQ_CST);
	handlers[v].fn = fn;
	handlers[v].arg = arg;
	if (!fn)
		return;
	for (unsigned int i = 0; i < FW_MAX_CPUS; i++)
		fw_percpu[i].irq_seen[v] = fw_percpu[i].irq_count[v];
	__atomic_or_fetch(&handler_map[v / 64], 1ull << (v % 64), __ATOMIC_SEQ_CST);
}

unsigned int fw_irq_dispatch(void)
{
	struct fw_percpu *pc = fw_this_cpu();
	unsigned int ran = 0;

	for (unsigned int w = 0; w < 4; w++) {
		uint64_t map = __atomic_load_n(&handler_map[w], __ATOMIC_ACQUIRE);

		while (map) {
			unsigned int v = w * 64 + (unsigned int)__builtin_ctzll(map);
			uint32_t now = pc->irq_count[v];
			uint32_t delta = now - pc->irq_seen[v];
			fw_irq_fn *fn = handlers[v].fn;

			map &= map - 1;
			if (!delta || !fn)
				continue;
			pc->irq_seen[v] = now;
			fn(v, delta, handlers[v].arg);
			ran++;
		}
	}
	return ran;
}

/* ---- Timestamps. */

void fw_irq_set_timestamp(unsigned int vector, bool on)
{
	unsigned int v = vector & 0xff;

	if (v < FW_VEC_FIRST_IRQ)
		return;
	fw_idt_set_gate(v, (on ? fw_irq_stamp_stubs : fw_irq_stubs) + 32 * (v - FW_VEC_FIRST_IRQ),
			0, 0);
}

uint64_t fw_irq_stamp_tsc(unsigned int cpu)
{
	uint64_t now = rdtsc();
	uint32_t stamp = fw_percpu[cpu % FW_MAX_CPUS].irq_tsc;

	return now - (uint32_t)((uint32_t)now - stamp);
}

/* ---- Local APIC. */

/* Every LAPIC access is an exit (~30 us here), so boot touches as few
 * registers as it can: the SVR (CPU 0 only: head.S enables it on the
 * others at CPL 0) and the ID. The VMM's LAPICs come out of reset with
 * every LVT masked (LINT0 ExtINT on CPU 0, but there is no PIC) and TPR 0. */
void fw_lapic_boot_init(bool svr_enabled)
{
	struct fw_percpu *pc = fw_this_cpu();

	if (fw_boot.pvh) {
		fw_lapic_init_cpu(); /* QEMU: a PIC behind LINT0, a BIOS before us */
		return;
	}
	if (!svr_enabled)
		fw_lapic_write(FW_APIC_SVR, FW_APIC_SVR_ENABLE | FW_VEC_SPURIOUS);
	pc->apic_id = fw_lapic_id();
}

void fw_lapic_init_cpu(void)
{
	struct fw_percpu *pc = fw_this_cpu();
	unsigned int max_lvt = (fw_lapic_read(FW_APIC_VERSION) >> 16) & 0xff;

	fw_lapic_write(FW_APIC_SVR, FW_APIC_SVR_ENABLE | FW_VEC_SPURIOUS);
	fw_lapic_write(FW_APIC_TPR, 0);
	/* Nothing but what the firmware programs: under QEMU (PVH) the BIOS
	 * left LINT0 in ExtINT mode, which would deliver the PIT through the
	 * 8259 on vector 8. */
	fw_lapic_write(FW_APIC_LVT_LINT0, FW_LVT_MASKED);
	fw_lapic_write(FW_APIC_LVT_LINT1, FW_LVT_MASKED);
	fw_lapic_write(FW_APIC_LVT_ERROR, FW_LVT_MASKED);
	fw_lapic_write(FW_APIC_LVT_TIMER, FW_LVT_MASKED);
	if (max_lvt >= 4)
		fw_lapic_write(FW_APIC_LVT_PMC, FW_LVT_MASKED);
	if (max_lvt >= 5)
		fw_lapic_write(FW_APIC_LVT_THERMAL, FW_LVT_MASKED);
	pc->apic_id = fw_lapic_id();
}

void fw_lapic_send_ipi(uint32_t apic_id, unsigned int vector)
{
	fw_lapic_write(FW_APIC_ICR_HI, apic_id << 24);
	fw_lapic_write(FW_APIC_ICR_LO, FW_ICR_FIXED | FW_ICR_ASSERT | (vector & 0xff));
}

void fw_lapic_self_ipi(unsigned int vector)
{
	fw_lapic_write(FW_APIC_ICR_LO, FW_ICR_DEST_SELF | FW_ICR_FIXED | FW_ICR_ASSERT |
					       (vector & 0xff));
}

void fw_lapic_ipi_others(unsigned int vector)
{
	fw_lapic_write(FW_APIC_ICR_LO, FW_ICR_DEST_OTHERS | FW_ICR_FIXED | FW_ICR_ASSERT |
					       (vector & 0xff));
}

bool fw_lapic_irr(unsigned int vector)
{
	return fw_lapic_read(FW_APIC_IRR + 0x10 * ((vector & 0xff) / 32)) >> (vector % 32) & 1;
}

bool fw_lapic_isr(unsigned int vector)
{
	return fw_lapic_read(FW_APIC_ISR + 0x10 * ((vector & 0xff) / 32)) >> (vector % 32) & 1;
}

/* Divide by 1, once per CPU (the reset value divides by 2). */
void fw_lapic_timer_prepare(void)
{
	struct fw_percpu *pc = fw_this_cpu();

	if (!pc->lapic_div1) {
		fw_lapic_write(FW_APIC_TIMER_DIV, 0xb);
		pc->lapic_div1 = 1;
	}
}

/* Each LAPIC access costs an exit (~30 us here): two writes per arming.
 * Writing the LVT stops a timer in TSC-deadline mode, writing the initial
 * count (re)starts the countdown. */
void fw_lapic_timer_oneshot(unsigned int vector, uint32_t count)
{
	fw_lapic_timer_prepare();
	fw_lapic_write(FW_APIC_LVT_TIMER, vector & 0xff);
	fw_lapic_write(FW_APIC_TIMER_INIT, count);
}

void fw_lapic_timer_periodic(unsigned int vector, uint32_t count)
{
	fw_lapic_timer_prepare();
	fw_lapic_write(FW_APIC_LVT_TIMER, FW_LVT_PERIODIC | (vector & 0xff));
	fw_lapic_write(FW_APIC_TIMER_INIT, count);
}

void fw_lapic_timer_stop(void)
{
	fw_lapic_write(FW_APIC_TIMER_INIT, 0);
	fw_lapic_write(FW_APIC_LVT_TIMER, FW_LVT_MASKED);
}

/* Current count and the TSC when it was read: of a few reads, the one
 * that took least time (an exit may be stretched by the host scheduler). */
static void sample_timer(uint32_t *count, uint64_t *tsc)
{
	uint64_t best = ~0ull;

	for (int i = 0; i < 5; i++) {
		uint64_t a = rdtsc();
		uint32_t c = fw_lapic_timer_current();
		uint64_t b = rdtsc();

		if (b - a < best) {
			best = b - a;
			*count = c;
			*tsc = a + (b - a) / 2;
		}
	}
}

/* LAPIC timer ticks during about tsc_ticks TSC ticks (LVT masked);
 * *tsc_elapsed gets the TSC ticks actually measured. */
uint64_t fw_lapic_measure_ticks(uint64_t tsc_ticks, uint64_t *tsc_elapsed)
{
	uint32_t c0 = 0, c1 = 0;
	uint64_t t0 = 0, t1 = 0;

	fw_lapic_timer_prepare();
	fw_lapic_write(FW_APIC_LVT_TIMER, FW_LVT_MASKED);
	fw_lapic_write(FW_APIC_TIMER_INIT, 0xffffffffu);
	sample_timer(&c0, &t0);
	while (rdtsc() - t0 < tsc_ticks)
		cpu_relax();
	sample_timer(&c1, &t1);
	fw_lapic_write(FW_APIC_TIMER_INIT, 0);
	*tsc_elapsed = t1 - t0;
	return (uint64_t)(c0 - c1);
}

uint64_t fw_lapic_timer_hz(void)
{
	static uint64_t hz;

	if (!hz) {
		uint64_t tsc_hz = fw_tsc_hz(), elapsed;
		uint64_t ticks = fw_lapic_measure_ticks(tsc_hz / 200, &elapsed); /* 5 ms */

		hz = (uint64_t)(((unsigned __int128)ticks * tsc_hz) / (elapsed ? elapsed : 1));
	}
	return hz;
}

bool fw_tsc_deadline_supported(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return (c >> 24) & 1;
}

void fw_tsc_deadline_arm(unsigned int vector, uint64_t deadline)
{
	fw_lapic_write(FW_APIC_LVT_TIMER, FW_LVT_TSC_DEADLINE | (vector & 0xff));
	priv_wrmsr(FW_MSR_TSC_DEADLINE, deadline);
}

void fw_tsc_deadline_stop(void)
{
	priv_wrmsr(FW_MSR_TSC_DEADLINE, 0);
	fw_lapic_write(FW_APIC_LVT_TIMER, FW_LVT_MASKED);
}
