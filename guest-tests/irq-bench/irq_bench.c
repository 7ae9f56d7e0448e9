// SPDX-License-Identifier: MIT
/*
 * Benchmark image `irq-bench` (tests/bench/configs/irq-bench.toml; run by
 * scripts/bench.sh, docs/PERFORMANCE.md (e)): interrupt injection latency,
 * host raise -> first instructions of the guest's CPL 0 handler, and the
 * interrupt rate one vector sustains, through the VMM's real path:
 *
 *   pci-testdev host timer (timerfd on the VMM's event thread) -> the
 *   device model stamps the host TSC (RAISE_TSC_LO/HI) -> pci_msix_raise ->
 *   irq_msi_trigger (eventfd write) -> KVM irqfd, MSI route -> LAPIC ->
 *   the firmware's timestamping stub (rdtsc is its 3rd instruction).
 *
 * The raise is not a guest exit: the guest arms TIMER_US (one MMIO exit),
 * is back at CPL 3 and waiting well before the timer fires, and reads
 * RAISE_TSC_LO after its interrupt. Latency = stub stamp - raise stamp (low
 * 32 TSC bits of each; the guest sees the host's TSC on the project's
 * machines).
 *
 *   halt  N samples: wait halted (fw_irq_wait_count without timeout:
 *         `sti; hlt` at CPL 0 through the privileged-call gate)
 *   spin  N samples: wait spinning at CPL 3 with IF = 1
 *   rate  for each period P: the testdev timer made periodic (TIMER_PERIOD_US),
 *         the plain 3-instruction stub, interrupts counted over a window
 *         while spinning at CPL 3; raises from TIMER_FIRED
 *
 * build/bench/irq_floor with build/bench/irq.elf does the same with a
 * minimal KVM program (the floor). Both print the same lines (TAP
 * diagnostics here):
 *   irqbench: tsc_hz=H source=S
 *   irqbench: samples MODE: C C C ...          (TSC ticks, 16 per line)
 *   irqbench: latency MODE: n=.. raced=.. tsc_bad=.. median_cycles=.. p99_cycles=.. ...
 *   irqbench: rate: period_us=P delivered=.. raised=.. cycles=.. per_s=.. raised_per_s=..
 * A sample whose raise came less than RACE_US after the guest was back from
 * its TIMER_US write is dropped (`raced`: the guest might not have been
 * waiting yet); one with a latency above 1 s or negative is `tsc_bad`.
 *
 * Command line (defaults in brackets): irqbench.samples=N [100],
 * irqbench.delay_us=D [500], irqbench.periods=P,P,.. [200,100,50],
 * irqbench.window_ms=W [200].
 */
#include <stdlib.h>

#include "fw/irq.h"
#include "fw/stats.h"
#include "fw/test.h"
#include "fw/testdev.h"
#include "fw/tsc.h"

const char *test_image_name = "irq-bench";

#define VEC         0x40
#define RACE_US     100
#define MAX_SAMPLES 1000
#define MAX_PERIODS 8

static struct fw_testdev td;
static bool td_ok;
static unsigned int samples = 100, delay_us = 500, window_ms = 200;
static unsigned int periods = 3, period_us[MAX_PERIODS] = { 200, 100, 50 };
static uint64_t values[MAX_SAMPLES];

static const char *bootarg(const char *key)
{
	const char *args = fw_fdt_bootargs(), *p;

	if (!args || !(p = strstr(args, key)))
		return NULL;
	return p + strlen(key);
}

static void bootarg_uint(const char *key, unsigned int *value, unsigned int max)
{
	const char *p = bootarg(key);
	unsigned long v;

	if (p && (v = strtoul(p, NULL, 0)) >= 1 && v <= max)
		*value = (unsigned int)v;
}

void test_setup(void)
{
	const char *p;

	bootarg_uint("irqbench.samples=", &samples, MAX_SAMPLES);
	bootarg_uint("irqbench.delay_us=", &delay_us, 1000000);
	bootarg_uint("irqbench.window_ms=", &window_ms, 10000);
	if ((p = bootarg("irqbench.periods="))) {
		unsigned int n = 0, list[MAX_PERIODS];
		char *end;

		for (; n < MAX_PERIODS; p = end + 1) {
			unsigned long v = strtoul(p, &end, 10);

			if (end == p || v < 1 || v > 1000000)
				break;
			list[n++] = (unsigned int)v;
			if (*end != ',')
				break;
		}
		if (n) { /* else keep the defaults */
			memcpy(period_us, list, sizeof(list[0]) * n);
			periods = n;
		}
	}
	td_ok = fw_testdev_open(&td, 0) == 0;
	if (td_ok) {
		fw_testdev_route(&td, 0, 0, VEC);
		fw_testdev_write(&td, PCI_TESTDEV_TIMER_VECTOR, 0);
		fw_testdev_write(&td, PCI_TESTDEV_TIMER_PERIOD_US, 0);
	}
}

static unsigned long long ns(uint64_t ticks)
{
	return (unsigned long long)fw_tsc_to_ns(ticks);
}

/* Print the samples and their summary; returns how many were valid. */
static unsigned int report(const char *mode, unsigned int n, unsigned int raced,
			   unsigned int tsc_bad)
{
	char line[16 * 12 + 1];
	size_t used = 0;

	for (unsigned int i = 0; i < n; i++) {
		used += (size_t)snprintf(line + used, sizeof(line) - used, " %llu",
					 (unsigned long long)values[i]);
		if (i % 16 == 15 || i + 1 == n) {
			diag("irqbench: samples %s:%s", mode, line);
			used = 0;
		}
	}
	fw_stats_u64(values, n); /* sorts in place */
	uint64_t median = n ? values[(n - 1) / 2] : 0;
	uint64_t p99 = n ? values[(n * 99 + 99) / 100 - 1] : 0;

	diag("irqbench: latency %s: n=%u raced=%u tsc_bad=%u median_cycles=%llu p99_cycles=%llu "
	     "min_cycles=%llu max_cycles=%llu median_ns=%llu p99_ns=%llu", mode, n, raced, tsc_bad,
	     (unsigned long long)median, (unsigned long long)p99,
	     (unsigned long long)(n ? values[0] : 0), (unsigned long long)(n ? values[n - 1] : 0),
	     ns(median), ns(p99));
	return n;
}

/* N samples; halt: wait halted, else spinning at CPL 3 with IF = 1. */
static void measure(const char *mode, bool halt)
{
	uint64_t race = fw_tsc_from_us(RACE_US), limit = fw_tsc_hz();
	unsigned int n = 0, raced = 0, tsc_bad = 0;

	fw_irq_set_timestamp(VEC, true);
	if (!halt)
		fw_irq_enable();
	for (unsigned int i = 0; i < samples; i++) {
		uint32_t before = fw_irq_count(VEC), back, stamp, raise;

		fw_testdev_write(&td, PCI_TESTDEV_TIMER_US, delay_us);
		back = (uint32_t)rdtsc();
		if (halt) {
			fw_irq_wait_count(VEC, before + 1, 0);
		} else {
			while (fw_irq_count(VEC) == before)
				cpu_relax();
		}
		stamp = fw_this_cpu()->irq_tsc;
		raise = fw_testdev_read(&td, PCI_TESTDEV_RAISE_TSC_LO);
		if ((int32_t)(raise - back) < (int64_t)race)
			raced++;
		else if (stamp - raise > limit)
			tsc_bad++;
		else
			values[n++] = stamp - raise;
	}
	fw_irq_disable();
	fw_irq_set_timestamp(VEC, false);
	n = report(mode, n, raced, tsc_bad);
	CHECK(n >= samples / 2, "%u of %u samples valid (%u raced, %u tsc_bad)", n, samples,
	      raced, tsc_bad);
	CHECK_EQ(tsc_bad, 0);
}

TEST(tsc)
{
	diag("irqbench: tsc_hz=%llu source=%s", (unsigned long long)fw_tsc_hz(),
	     fw_tsc_hz_source());
	REQUIRE(td_ok, "no usable pci-testdev");
}

TEST(latency_halt)
{
	REQUIRE(td_ok, "no usable pci-testdev");
	measure("halt", true);
}

TEST(latency_spin)
{
	REQUIRE(td_ok, "no usable pci-testdev");
	measure("spin", false);
}

TEST(rate)
{
	REQUIRE(td_ok, "no usable pci-testdev");
	uint64_t window = fw_tsc_from_us(window_ms * 1000ull);

	fw_irq_enable();
	for (unsigned int k = 0; k < periods; k++) {
		uint32_t fired, c0, c1;
		uint64_t t0, cycles;

		fw_testdev_write(&td, PCI_TESTDEV_TIMER_PERIOD_US, period_us[k]);
		fired = fw_testdev_read(&td, PCI_TESTDEV_TIMER_FIRED);
		fw_testdev_write(&td, PCI_TESTDEV_TIMER_US, period_us[k]);
		t0 = rdtsc();
		c0 = fw_irq_count(VEC);
		while ((cycles = rdtsc() - t0) < window)
			cpu_relax();
		c1 = fw_irq_count(VEC);
		fw_testdev_write(&td, PCI_TESTDEV_TIMER_US, 0);
		fired = fw_testdev_read(&td, PCI_TESTDEV_TIMER_FIRED) - fired;
		fw_testdev_write(&td, PCI_TESTDEV_TIMER_PERIOD_US, 0);
		diag("irqbench: rate: period_us=%u delivered=%u raised=%u cycles=%llu per_s=%llu "
		     "raised_per_s=%llu", period_us[k], c1 - c0, fired, (unsigned long long)cycles,
		     (unsigned long long)((uint64_t)(c1 - c0) * fw_tsc_hz() / cycles),
		     (unsigned long long)((uint64_t)fired * fw_tsc_hz() / cycles));
		CHECK(c1 != c0, "period %u us: no interrupt in %u ms", period_us[k], window_ms);
	}
	fw_irq_disable();
}
