// SPDX-License-Identifier: MIT
/*
 * Secondary CPUs: release at boot, idle loop, smp_call (fw/smp.h).
 *
 * head.S brings a secondary CPU to a halt at CPL 0 with its LAPIC enabled
 * and its FS base set, waiting for fw_smp_released. fw_smp_init() (CPU 0,
 * after the IDT is filled) sets it and sends one "all but self" IPI; each
 * CPU then iretq's to fw_ap_main() at CPL 3 on its own stack.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "boot_protocol.h"
#include "fw/apic.h"
#include "fw/cpu.h"
#include "fw/fw.h"
#include "fw/irq.h"
#include "fw/privcall.h"
#include "fw/smp.h"
#include "fw/tsc.h"
#include "internal.h"

volatile uint32_t fw_smp_released; /* read by head.S at CPL 0 */
static unsigned int cpu_count = 1;

unsigned int fw_smp_cpu_count(void)
{
	return cpu_count;
}

bool fw_smp_ready(unsigned int cpu)
{
	return cpu < cpu_count && (cpu == 0 || fw_percpu[cpu].ready);
}

void fw_smp_init(void)
{
	const struct boot_info *info = fw_boot.info;
	uint64_t start, timeout;
	unsigned int i;

	fw_lapic_boot_init(false);
	fw_percpu[0].ready = 1;
	if (fw_boot.info_valid && info->cpu_count > 1)
		cpu_count = info->cpu_count < FW_MAX_CPUS ? info->cpu_count : FW_MAX_CPUS;
	if (cpu_count == 1)
		return;

	/* A CPU that has not enabled its LAPIC yet drops the IPI, but it then
	 * sees the flag before it halts (head.S checks after enabling). */
	__atomic_store_n(&fw_smp_released, 1, __ATOMIC_SEQ_CST);
	fw_lapic_ipi_others(FW_VEC_WAKE);

	/* Secondary CPUs need ~30 emulated instructions and one wake-up each:
	 * well under a millisecond. Spin (bounded) rather than halt, so a CPU
	 * that never comes cannot hang the image. */
	start = rdtsc();
	timeout = fw_tsc_from_us(2000000);
	for (i = 1; i < cpu_count; i++)
		while (!fw_percpu[i].ready && rdtsc() - start < timeout)
			cpu_relax();
	for (i = 1; i < cpu_count; i++)
		if (!fw_percpu[i].ready)
			printf("# warning: CPU %u did not reach its idle loop (online=%u)\n", i,
			       fw_percpu[i].online);
}

/* Secondary CPU at CPL 3, interrupts off, on its own stack (head.S). */
void fw_ap_main(unsigned int cpu)
{
	struct fw_percpu *pc = fw_this_cpu();
	struct fw_smp_mailbox *mb = &pc->smp;
	uint32_t done = mb->done;

	(void)cpu;
	fw_lapic_boot_init(true); /* head.S enabled the SVR */
	__atomic_store_n(&pc->ready, 1, __ATOMIC_RELEASE);
	for (;;) {
		uint32_t seq = __atomic_load_n(&mb->seq, __ATOMIC_ACQUIRE);

		if (seq == done) {
			/* Halts at CPL 0 unless a call was posted since the load. */
			priv_wait_ne(&mb->seq, seq);
			fw_irq_dispatch();
			continue;
		}
		mb->t_start = rdtsc();
		mb->fn(mb->arg);
		mb->t_end = rdtsc();
		if (fw_irq_enabled())
			priv_irq_disable();
		done = seq;
		mb->calls++;
		__atomic_store_n(&mb->done, seq, __ATOMIC_RELEASE);
		fw_lapic_send_ipi(mb->caller_apic, FW_VEC_WAKE);
	}
}

int fw_smp_call_async(unsigned int cpu, fw_smp_fn *fn, void *arg)
{
	struct fw_smp_mailbox *mb;

	if (cpu >= cpu_count || cpu == fw_cpu_index() || !fw_percpu[cpu].ready)
		return FW_SMP_ERR_CPU;
	mb = &fw_percpu[cpu].smp;
	if (__atomic_exchange_n(&mb->busy, 1, __ATOMIC_ACQUIRE))
		return FW_SMP_ERR_BUSY;
	mb->fn = fn;
	mb->arg = arg;
	mb->caller_apic = fw_this_cpu()->apic_id;
	mb->t_post = rdtsc();
	__atomic_store_n(&mb->seq, mb->seq + 1, __ATOMIC_RELEASE);
	fw_lapic_send_ipi(fw_percpu[cpu].apic_id, FW_VEC_WAKE);
	return 0;
}

bool fw_smp_wait(unsigned int cpu, uint64_t timeout_tsc)
{
	struct fw_smp_mailbox *mb;
	uint32_t seq, done;
	uint64_t start = rdtsc();

	if (cpu >= cpu_count)
		return false;
	mb = &fw_percpu[cpu].smp;
	if (!mb->busy)
		return true;
	seq = mb->seq;
	while ((done = __atomic_load_n(&mb->done, __ATOMIC_ACQUIRE)) != seq) {
		if (timeout_tsc == 0) {
			/* The AP stores done before its completion IPI. */
			priv_wait_ne(&mb->done, done);
			fw_irq_dispatch();
		} else {
			if (rdtsc() - start >= timeout_tsc)
				return false;
			cpu_relax();
		}
	}
	__atomic_store_n(&mb->busy, 0, __ATOMIC_RELEASE);
	return true;
}

int fw_smp_call(unsigned int cpu, fw_smp_fn *fn, void *arg)
{
	int rc;

	if (cpu == fw_cpu_index()) {
		fn(arg);
		return 0;
	}
	rc = fw_smp_call_async(cpu, fn, arg);
	if (rc == 0)
		fw_smp_wait(cpu, 0);
	return rc;
}

unsigned int fw_smp_call_all(fw_smp_fn *fn, void *arg)
{
	unsigned int self = fw_cpu_index(), ran = 1, i;
	uint64_t posted[(FW_MAX_CPUS + 63) / 64] = { 0 };

	for (i = 0; i < cpu_count; i++)
		if (i != self && fw_smp_call_async(i, fn, arg) == 0)
			posted[i / 64] |= 1ull << (i % 64);
	fn(arg);
	for (i = 0; i < cpu_count; i++)
		if (posted[i / 64] >> (i % 64) & 1) {
			fw_smp_wait(i, 0);
			ran++;
		}
	return ran;
}

struct fw_smp_timing fw_smp_last_timing(unsigned int cpu)
{
	const struct fw_smp_mailbox *mb = &fw_percpu[cpu % FW_MAX_CPUS].smp;

	return (struct fw_smp_timing){ mb->t_post, mb->t_start, mb->t_end };
}
