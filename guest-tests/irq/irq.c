// SPDX-License-Identifier: MIT
/*
 * Guest test `irq` (configs/irq.toml: 1 vCPU; configs/irq-smp.toml: 4).
 *
 * Interrupt delivery through the firmware's CPL 0 stubs: self-IPIs on
 * every vector, IPIs to other CPUs, CPL 3 callbacks, and pci-testdev MSI-X:
 * every vector, per-vector and function masking with the PBA, delivery to
 * another CPU's APIC id. Prints interrupt latencies and rates.
 *
 * The config passes what it declares in the kernel command line:
 * "testdev.vectors=N" (MSI-X table size of the pci-testdev). Without it the
 * MSI-X tests skip.
 */
#include <stdlib.h>

#include "fw/apic.h"
#include "fw/irq.h"
#include "fw/smp.h"
#include "fw/stats.h"
#include "fw/test.h"
#include "fw/testdev.h"
#include "fw/tsc.h"

const char *test_image_name = "irq";

#define VEC_TEST    0x30 /* self-IPI tests */
#define VEC_MSIX    0x40 /* MSI-X entry i -> vector VEC_MSIX + i */
#define VEC_REMOTE  0xa0 /* IPIs and MSI-X to other CPUs */

static struct fw_testdev td;
static int td_expected_vectors = -1; /* from the command line; -1: no testdev */
static bool td_ok;

static uint64_t ms(uint64_t n)
{
	return fw_tsc_from_us(n * 1000);
}

static int bootarg(const char *key)
{
	const char *args = fw_fdt_bootargs(), *p;

	if (!args || !(p = strstr(args, key)))
		return -1;
	return (int)strtoul(p + strlen(key), NULL, 0);
}

void test_setup(void)
{
	td_expected_vectors = bootarg("testdev.vectors=");
	if (td_expected_vectors >= 0)
		td_ok = fw_testdev_open(&td, 0) == 0;
}

/* Snapshot of this CPU's counters, to prove nothing else moved. */
static void snapshot(uint32_t *c)
{
	for (unsigned int v = 0; v < 256; v++)
		c[v] = fw_irq_count(v);
}

static unsigned int others_moved(const uint32_t *before, unsigned int except, unsigned int *which)
{
	unsigned int n = 0;

	for (unsigned int v = FW_VEC_FIRST_IRQ; v < 256; v++)
		if (v != except && fw_irq_count(v) != before[v]) {
			n++;
			*which = v;
		}
	return n;
}

static void print_latency(const char *what, uint64_t *v, unsigned int n)
{
	struct fw_stats s = fw_stats_u64(v, n);

	diag("irq latency: %s: median %llu cycles (%llu us), min %llu us, max %llu us, n=%u", what,
	     (unsigned long long)s.median, (unsigned long long)fw_tsc_to_us(s.median),
	     (unsigned long long)fw_tsc_to_us(s.min), (unsigned long long)fw_tsc_to_us(s.max), n);
}

/* ---- LAPIC and IPIs. */

TEST(lapic_enabled_with_dtb_apic_id)
{
	uint32_t ids[FW_MAX_CPUS];
	int n = fw_fdt_cpus(ids, FW_MAX_CPUS);

	CHECK(fw_lapic_read(FW_APIC_SVR) & FW_APIC_SVR_ENABLE, "SVR %#x",
	      fw_lapic_read(FW_APIC_SVR));
	CHECK_EQ(fw_lapic_read(FW_APIC_SVR) & 0xff, FW_VEC_SPURIOUS);
	CHECK_EQ(fw_lapic_read(FW_APIC_TPR), 0);
	REQUIRE(n >= 1, "no cpus in the DTB");
	CHECK_EQ(fw_lapic_id(), ids[0]);
	CHECK(!fw_irq_enabled(), "tests start with interrupts enabled");
	diag("LAPIC version %#x, TSC %llu Hz (%s)", fw_lapic_read(FW_APIC_VERSION),
	     (unsigned long long)fw_tsc_hz(), fw_tsc_hz_source());
}

TEST(self_ipi_held_while_disabled_then_delivered_once)
{
	uint32_t before = fw_irq_count(VEC_TEST);

	fw_irq_disable();
	fw_lapic_self_ipi(VEC_TEST);
	fw_lapic_self_ipi(VEC_TEST); /* one IRR bit: collapses into one interrupt */
	fw_udelay(1000);
	CHECK_EQ(fw_irq_count(VEC_TEST) - before, 0);
	CHECK(fw_lapic_irr(VEC_TEST), "vector %#x not pending in IRR", VEC_TEST);
	fw_irq_enable();
	fw_udelay(1000);
	fw_irq_disable();
	CHECK_EQ(fw_irq_count(VEC_TEST) - before, 1);
	CHECK(!fw_lapic_irr(VEC_TEST), "still pending in IRR");
	CHECK(!fw_lapic_isr(VEC_TEST), "still in service: the stub did not EOI");
}

TEST(self_ipi_every_vector)
{
	static uint32_t before[256];
	unsigned int bad = 0, which = 0;

	/* 0xff is the spurious vector (the stub does not EOI it). */
	for (unsigned int v = FW_VEC_FIRST_IRQ; v < FW_VEC_SPURIOUS; v++) {
		snapshot(before);
		fw_lapic_self_ipi(v);
		if (!CHECK(fw_irq_wait_count(v, before[v] + 1, ms(100)), "vector %#x not delivered", v))
			continue;
		if (others_moved(before, v, &which) && bad++ < 4)
			CHECK(0, "self-IPI %#x also counted on vector %#x", v, which);
		CHECK_EQ(fw_irq_count(v) - before[v], 1);
	}
	CHECK(!fw_lapic_isr(FW_VEC_SPURIOUS - 1), "ISR left set");
}

static unsigned int cb_calls, cb_last_count, cb_cpu, cb_cpl;

static void callback(unsigned int vector, uint32_t count, void *arg)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	cb_last_count = count;
	cb_cpu = fw_cpu_index();
	cb_cpl = cs & 3;
	*(unsigned int *)arg = vector;
	/* Last: another CPU may be waiting for it (release). */
	__atomic_add_fetch(&cb_calls, 1, __ATOMIC_RELEASE);
}

TEST(callback_runs_at_cpl3_after_the_fact)
{
	unsigned int got = 0;
	uint32_t before;

	fw_irq_set_handler(VEC_TEST, callback, &got);
	cb_calls = 0;
	before = fw_irq_count(VEC_TEST);
	fw_lapic_self_ipi(VEC_TEST);
	CHECK(fw_irq_wait_count(VEC_TEST, before + 1, ms(100)), "not delivered");
	CHECK_EQ(cb_calls, 1);
	CHECK_EQ(cb_last_count, 1);
	CHECK_EQ(got, VEC_TEST);
	CHECK_EQ(cb_cpl, 3);
	CHECK_EQ(cb_cpu, 0);
	CHECK_EQ(fw_irq_dispatch(), 0);

	/* Three interrupts between two dispatches: one call with count 3. */
	for (int i = 0; i < 3; i++) {
		before = fw_irq_count(VEC_TEST);
		fw_lapic_self_ipi(VEC_TEST);
		fw_irq_enable();
		while (fw_irq_count(VEC_TEST) == before)
			cpu_relax();
		fw_irq_disable();
	}
	CHECK_EQ(cb_calls, 1);
	CHECK_EQ(fw_irq_dispatch(), 1);
	CHECK_EQ(cb_calls, 2);
	CHECK_EQ(cb_last_count, 3);
	fw_irq_set_handler(VEC_TEST, NULL, NULL);
	fw_lapic_self_ipi(VEC_TEST);
	fw_irq_wait_count(VEC_TEST, fw_irq_count(VEC_TEST) + 1, ms(100));
	CHECK_EQ(cb_calls, 2);
}

TEST(halting_wait)
{
	uint32_t before = fw_irq_count(VEC_TEST);

	/* Pending before the wait: priv_wait_ne must not sleep through it. */
	fw_lapic_self_ipi(VEC_TEST);
	CHECK(fw_irq_wait_count(VEC_TEST, before + 1, 0), "halting wait");
	CHECK_EQ(fw_irq_count(VEC_TEST) - before, 1);
	CHECK(!fw_irq_enabled(), "wait left interrupts on");
}

TEST(ipi_to_each_cpu)
{
	unsigned int n = fw_smp_cpu_count();

	if (n < 2)
		SKIP("1 CPU");
	for (unsigned int cpu = 1; cpu < n; cpu++) {
		uint32_t before = fw_irq_count_cpu(cpu, VEC_REMOTE);
		uint32_t mine = fw_irq_count(VEC_REMOTE);

		fw_lapic_send_ipi(fw_smp_apic_id(cpu), VEC_REMOTE);
		CHECK(fw_irq_wait_count_cpu(cpu, VEC_REMOTE, before + 1, ms(1000)),
		      "IPI to CPU %u (APIC id %u) not delivered", cpu, fw_smp_apic_id(cpu));
		fw_udelay(200);
		CHECK_EQ(fw_irq_count_cpu(cpu, VEC_REMOTE) - before, 1);
		CHECK_EQ(fw_irq_count(VEC_REMOTE) - mine, 0);
		for (unsigned int other = 1; other < n; other++)
			if (other != cpu)
				CHECK(fw_irq_count_cpu(other, VEC_REMOTE) ==
					      fw_irq_count_cpu(other, VEC_REMOTE),
				      "unreachable");
	}
}

TEST(callback_runs_on_the_cpu_that_took_it)
{
	unsigned int got = 0, cpu = fw_smp_cpu_count() - 1;
	uint64_t start;

	if (cpu == 0)
		SKIP("1 CPU");
	cb_calls = 0;
	fw_irq_set_handler(VEC_REMOTE, callback, &got);
	fw_lapic_send_ipi(fw_smp_apic_id(cpu), VEC_REMOTE);
	/* The parked CPU dispatches after each wake-up. */
	start = rdtsc();
	while (!__atomic_load_n(&cb_calls, __ATOMIC_ACQUIRE) && rdtsc() - start < ms(1000))
		cpu_relax();
	CHECK_EQ(cb_calls, 1);
	CHECK_EQ(cb_cpu, cpu);
	CHECK_EQ(got, VEC_REMOTE);
	fw_irq_set_handler(VEC_REMOTE, NULL, NULL);
}

TEST(self_ipi_latency)
{
	enum { N = 64 };
	uint64_t entry[N], back[N], plain[N], icr[N];

	/* The ICR write alone: with IF = 0 nothing is delivered on the way back. */
	for (int i = 0; i < N; i++) {
		uint32_t before = fw_irq_count(VEC_TEST);
		uint64_t t0 = rdtsc();

		fw_lapic_self_ipi(VEC_TEST);
		icr[i] = rdtsc() - t0;
		fw_irq_wait_count(VEC_TEST, before + 1, ms(100));
	}
	fw_irq_enable();
	for (int i = 0; i < N; i++) {
		uint32_t before = fw_irq_count(VEC_TEST);
		uint64_t t0 = rdtsc();

		fw_lapic_self_ipi(VEC_TEST);
		while (fw_irq_count(VEC_TEST) == before)
			cpu_relax();
		plain[i] = rdtsc() - t0;
	}
	fw_irq_set_timestamp(VEC_TEST, true);
	for (int i = 0; i < N; i++) {
		uint32_t before = fw_irq_count(VEC_TEST);
		uint64_t t0 = rdtsc();

		fw_lapic_self_ipi(VEC_TEST);
		while (fw_irq_count(VEC_TEST) == before)
			cpu_relax();
		back[i] = rdtsc() - t0;
		entry[i] = fw_irq_stamp_tsc(0) - t0;
	}
	fw_irq_disable();
	fw_irq_set_timestamp(VEC_TEST, false);
	print_latency("self-IPI ICR write -> CPL 0 handler (timestamping stub)", entry, N);
	print_latency("self-IPI ICR write -> back at CPL 3 (3-instruction stub, IF=1, spinning)",
		      plain, N);
	print_latency("self-IPI ICR write -> back at CPL 3 (timestamping stub)", back, N);
	print_latency("ICR write from CPL 3, IF=0 (the write alone)", icr, N);
}

/* ---- pci-testdev MSI-X. */

#define REQUIRE_TESTDEV()                                                                  \
	do {                                                                               \
		if (td_expected_vectors < 0)                                               \
			SKIP("no testdev.vectors= on the command line");                   \
		REQUIRE(td_ok, "pci-testdev not found or unusable");                       \
	} while (0)

TEST(msix_table_size_matches_config)
{
	REQUIRE_TESTDEV();
	CHECK_EQ(td.vectors, td_expected_vectors);
	CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_VECTORS), td_expected_vectors);
	CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_MAGIC_REG), PCI_TESTDEV_MAGIC);
	CHECK(fw_msix_control(&td.msix) & FW_PCI_MSIX_FLAGS_ENABLE, "MSI-X not enabled");
}

TEST(msix_every_vector_delivered_once)
{
	static uint32_t before[256];
	unsigned int which = 0;
	uint32_t raised0;

	REQUIRE_TESTDEV();
	raised0 = fw_testdev_read(&td, PCI_TESTDEV_RAISED);
	for (unsigned int i = 0; i < td.vectors; i++)
		fw_testdev_route(&td, i, 0, VEC_MSIX + i);
	for (unsigned int i = 0; i < td.vectors; i++) {
		unsigned int v = VEC_MSIX + i;

		snapshot(before);
		fw_testdev_raise(&td, i);
		if (!CHECK(fw_irq_wait_count(v, before[v] + 1, ms(1000)),
			   "MSI-X entry %u (vector %#x) not delivered", i, v))
			continue;
		fw_udelay(100);
		CHECK_EQ(fw_irq_count(v) - before[v], 1);
		CHECK(!others_moved(before, v, &which), "raise %u also counted on vector %#x", i,
		      which);
		CHECK(!fw_msix_pending(&td.msix, i), "PBA bit %u set after delivery", i);
	}
	CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_RAISED) - raised0, td.vectors);
	CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_ERROR), 0);
}

TEST(masked_vector_stays_pending_until_unmasked)
{
	unsigned int i = td.vectors > 1 ? 1 : 0, v = VEC_MSIX + i;
	uint32_t before;

	REQUIRE_TESTDEV();
	fw_testdev_route(&td, i, 0, v);
	fw_msix_mask(&td.msix, i, true);
	before = fw_irq_count(v);
	fw_testdev_raise(&td, i);
	fw_testdev_raise(&td, i);
	CHECK(!fw_irq_wait_count(v, before + 1, ms(5)), "masked vector delivered");
	CHECK(fw_msix_pending(&td.msix, i), "PBA bit %u not set while masked", i);
	fw_msix_mask(&td.msix, i, false);
	CHECK(fw_irq_wait_count(v, before + 1, ms(1000)), "not delivered after unmasking");
	fw_irq_wait_count(v, before + 2, ms(5));
	CHECK_EQ(fw_irq_count(v) - before, 1);
	CHECK(!fw_msix_pending(&td.msix, i), "PBA bit %u still set", i);
}

TEST(function_mask_holds_every_vector)
{
	unsigned int n = td.vectors < 3 ? td.vectors : 3;
	uint32_t before[3];

	REQUIRE_TESTDEV();
	for (unsigned int i = 0; i < n; i++) {
		fw_testdev_route(&td, i, 0, VEC_MSIX + i);
		before[i] = fw_irq_count(VEC_MSIX + i);
	}
	fw_msix_function_mask(&td.msix, true);
	for (unsigned int i = 0; i < n; i++)
		fw_testdev_raise(&td, i);
	fw_irq_enable();
	fw_udelay(5000);
	fw_irq_disable();
	for (unsigned int i = 0; i < n; i++) {
		CHECK_EQ(fw_irq_count(VEC_MSIX + i) - before[i], 0);
		CHECK(fw_msix_pending(&td.msix, i), "PBA bit %u not set under the function mask", i);
	}
	fw_msix_function_mask(&td.msix, false);
	for (unsigned int i = 0; i < n; i++) {
		CHECK(fw_irq_wait_count(VEC_MSIX + i, before[i] + 1, ms(1000)),
		      "entry %u not delivered after the function mask cleared", i);
		fw_irq_wait_count(VEC_MSIX + i, before[i] + 2, ms(2));
		CHECK_EQ(fw_irq_count(VEC_MSIX + i) - before[i], 1);
		CHECK(!fw_msix_pending(&td.msix, i), "PBA bit %u still set", i);
	}
}

TEST(msix_to_other_cpus)
{
	unsigned int ncpu = fw_smp_cpu_count();

	REQUIRE_TESTDEV();
	if (ncpu < 2)
		SKIP("1 CPU");
	for (unsigned int cpu = 1; cpu < ncpu; cpu++) {
		unsigned int i = cpu % td.vectors;
		uint32_t before = fw_irq_count_cpu(cpu, VEC_REMOTE), mine = fw_irq_count(VEC_REMOTE);

		fw_testdev_route(&td, i, cpu, VEC_REMOTE);
		fw_testdev_raise(&td, i);
		CHECK(fw_irq_wait_count_cpu(cpu, VEC_REMOTE, before + 1, ms(1000)),
		      "MSI-X to CPU %u (APIC id %u) not delivered there", cpu, fw_smp_apic_id(cpu));
		fw_udelay(200);
		CHECK_EQ(fw_irq_count_cpu(cpu, VEC_REMOTE) - before, 1);
		CHECK_EQ(fw_irq_count(VEC_REMOTE) - mine, 0);
		fw_msix_mask(&td.msix, i, true);
	}
}

TEST(msix_latency)
{
	enum { N = 64 };
	uint64_t entry[N], back[N], plain[N], halted[N], remote[N], write[N];
	unsigned int v = VEC_MSIX;

	REQUIRE_TESTDEV();
	/* The RAISE write alone: entry masked, nothing delivered. */
	fw_testdev_route(&td, 0, 0, v);
	fw_msix_mask(&td.msix, 0, true);
	for (int i = 0; i < N; i++) {
		uint64_t t0 = rdtsc();

		fw_testdev_raise(&td, 0);
		write[i] = rdtsc() - t0;
	}
	{
		uint32_t before = fw_irq_count(v);

		fw_msix_mask(&td.msix, 0, false); /* the pending one arrives */
		fw_irq_wait_count(v, before + 1, ms(1000));
	}
	fw_irq_enable();
	for (int i = 0; i < N; i++) {
		uint32_t before = fw_irq_count(v);
		uint64_t t0 = rdtsc();

		fw_testdev_raise(&td, 0);
		while (fw_irq_count(v) == before)
			cpu_relax();
		plain[i] = rdtsc() - t0;
	}
	fw_irq_set_timestamp(v, true);
	for (int i = 0; i < N; i++) {
		uint32_t before = fw_irq_count(v);
		uint64_t t0 = rdtsc();

		fw_testdev_raise(&td, 0);
		while (fw_irq_count(v) == before)
			cpu_relax();
		back[i] = rdtsc() - t0;
		entry[i] = fw_irq_stamp_tsc(0) - t0;
	}
	fw_irq_disable();
	fw_irq_set_timestamp(v, false);
	print_latency("RAISE write -> CPL 0 handler (timestamping stub)", entry, N);
	print_latency("RAISE write -> back at CPL 3 (3-instruction stub, IF=1, spinning)", plain, N);
	print_latency("RAISE write -> back at CPL 3 (timestamping stub)", back, N);
	print_latency("RAISE write alone (entry masked: MMIO exit to the VMM)", write, N);

	/* The MSI arrives while the CPU halts (fw_irq_wait_count, no timeout). */
	for (int i = 0; i < N; i++) {
		uint32_t before = fw_irq_count(v);
		uint64_t t0 = rdtsc();

		fw_testdev_raise(&td, 0);
		fw_irq_wait_count(v, before + 1, 0);
		halted[i] = rdtsc() - t0;
	}
	print_latency("RAISE write -> back at CPL 3 (IF=0, halting wait)", halted, N);

	if (fw_smp_cpu_count() > 1) {
		unsigned int cpu = 1;

		fw_irq_set_timestamp(VEC_REMOTE, true);
		fw_testdev_route(&td, 1 % td.vectors, cpu, VEC_REMOTE);
		for (int i = 0; i < N; i++) {
			uint32_t before = fw_irq_count_cpu(cpu, VEC_REMOTE);
			uint64_t t0;

			fw_udelay(200);
			t0 = rdtsc();
			fw_testdev_raise(&td, 1 % td.vectors);
			fw_irq_wait_count_cpu(cpu, VEC_REMOTE, before + 1, ms(1000));
			remote[i] = fw_irq_stamp_tsc(cpu) - t0;
		}
		fw_irq_set_timestamp(VEC_REMOTE, false);
		fw_msix_mask(&td.msix, 1 % td.vectors, true);
		print_latency("RAISE write -> CPL 0 handler on a parked (halted) CPU", remote, N);
	}
}

TEST(msix_rate)
{
	unsigned int v = VEC_MSIX;
	uint64_t start, end, window = ms(200);
	uint32_t before, raised = 0, burst_before;

	REQUIRE_TESTDEV();
	fw_testdev_route(&td, 0, 0, v);
	fw_irq_enable();
	before = fw_irq_count(v);
	start = rdtsc();
	do {
		uint32_t c = fw_irq_count(v);

		fw_testdev_raise(&td, 0);
		raised++;
		while (fw_irq_count(v) == c)
			cpu_relax();
	} while ((end = rdtsc()) - start < window);
	diag("irq rate: one vector, raise and wait for each: %llu interrupts/s (%u in %llu us)",
	     (unsigned long long)((uint64_t)(fw_irq_count(v) - before) * fw_tsc_hz() / (end - start)),
	     fw_irq_count(v) - before, (unsigned long long)fw_tsc_to_us(end - start));
	CHECK_EQ(fw_irq_count(v) - before, raised);

	/* Back-to-back raises: what is not yet delivered coalesces in IRR. */
	burst_before = fw_irq_count(v);
	raised = 0;
	start = rdtsc();
	do {
		fw_testdev_raise(&td, 0);
		raised++;
	} while ((end = rdtsc()) - start < window);
	fw_udelay(1000);
	fw_irq_disable();
	diag("irq rate: one vector, back-to-back raises: %llu raises/s, %llu interrupts/s "
	     "(%u of %u raises delivered)",
	     (unsigned long long)((uint64_t)raised * fw_tsc_hz() / (end - start)),
	     (unsigned long long)((uint64_t)(fw_irq_count(v) - burst_before) * fw_tsc_hz() /
				  (end - start)),
	     fw_irq_count(v) - burst_before, raised);
	CHECK(fw_irq_count(v) - burst_before > 0, "nothing delivered");
	fw_msix_mask(&td.msix, 0, true);
}
