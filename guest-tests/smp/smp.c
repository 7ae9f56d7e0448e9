// SPDX-License-Identifier: MIT
/*
 * Guest test `smp` (configs/smp.toml: 4 vCPUs; configs/smp-up.toml: 1).
 *
 * Every CPU the VMM started must check in with the APIC id the DTB gives
 * its cpu@N node, run work at CPL 3 when woken by an IPI, and park again
 * (halted) afterwards. Prints the wake-up latency.
 */
#include "fw/apic.h"
#include "fw/irq.h"
#include "fw/smp.h"
#include "fw/stats.h"
#include "fw/test.h"
#include "fw/tsc.h"

const char *test_image_name = "smp";

#define SUM_SPAN 1000000ull /* numbers each CPU sums */

static unsigned int ncpus(void)
{
	return fw_smp_cpu_count();
}

TEST(cpu_count_matches_dtb)
{
	uint32_t ids[FW_MAX_CPUS];
	int n = fw_fdt_cpus(ids, FW_MAX_CPUS);

	REQUIRE(fw_fdt(), "no DTB");
	REQUIRE(fw_boot.info_valid, "no boot_info");
	CHECK_EQ(n, fw_boot.info->cpu_count);
	CHECK_EQ(ncpus(), fw_boot.info->cpu_count);
	diag("%u CPU(s), TSC %llu Hz (%s)", ncpus(), (unsigned long long)fw_tsc_hz(),
	     fw_tsc_hz_source());
}

TEST(every_cpu_checked_in_with_dtb_apic_id)
{
	uint32_t ids[FW_MAX_CPUS];
	int n = fw_fdt_cpus(ids, FW_MAX_CPUS);

	REQUIRE(n > 0, "no cpus in the DTB");
	for (unsigned int i = 0; i < ncpus() && i < (unsigned int)n; i++) {
		CHECK(fw_smp_ready(i), "CPU %u is not ready (online=%u)", i, fw_percpu[i].online);
		CHECK(fw_percpu[i].online, "CPU %u never reported in at CPL 0", i);
		CHECK_EQ(fw_percpu[i].cpu, i);
		CHECK(fw_smp_apic_id(i) == ids[i], "CPU %u has APIC id %u, the DTB says %u", i,
		      fw_smp_apic_id(i), ids[i]);
		for (unsigned int j = 0; j < i; j++)
			CHECK(fw_smp_apic_id(i) != fw_smp_apic_id(j),
			      "CPUs %u and %u share APIC id %u", i, j, fw_smp_apic_id(i));
	}
	CHECK_EQ(fw_lapic_id(), fw_smp_apic_id(0));
}

/* What a CPU finds out about itself inside a call. */
struct whoami {
	unsigned int index, apic_id, cpl;
	bool if_on;
	uint64_t fs_self, rsp;
	bool done;
};

static void whoami_fn(void *arg)
{
	struct whoami *w = &((struct whoami *)arg)[fw_cpu_index()];
	uint16_t cs;
	uint64_t rsp;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	__asm__ volatile("mov %%rsp, %0" : "=r"(rsp));
	w->index = fw_cpu_index();
	w->apic_id = fw_lapic_id();
	w->cpl = cs & 3;
	w->if_on = fw_irq_enabled();
	w->fs_self = (uint64_t)(uintptr_t)fw_this_cpu();
	w->rsp = rsp;
	w->done = true;
}

TEST(call_each_cpu)
{
	static struct whoami w[FW_MAX_CPUS];

	if (ncpus() < 2)
		SKIP("1 CPU");
	for (unsigned int i = 1; i < ncpus(); i++) {
		int rc = fw_smp_call(i, whoami_fn, w);

		if (!CHECK(rc == 0, "fw_smp_call(%u) = %d", i, rc))
			continue;
		CHECK(w[i].done, "CPU %u did not run the call", i);
		CHECK_EQ(w[i].index, i);
		CHECK_EQ(w[i].apic_id, fw_smp_apic_id(i));
		CHECK_EQ(w[i].cpl, 3);
		CHECK(!w[i].if_on, "CPU %u runs calls with interrupts on", i);
		CHECK(w[i].fs_self == (uint64_t)(uintptr_t)&fw_percpu[i], "CPU %u FS base %#llx", i,
		      (unsigned long long)w[i].fs_self);
		for (unsigned int j = 1; j < i; j++)
			CHECK(w[i].rsp - w[j].rsp > 4096 && w[j].rsp - w[i].rsp > 4096,
			      "CPUs %u and %u share a stack (%#llx, %#llx)", i, j,
			      (unsigned long long)w[i].rsp, (unsigned long long)w[j].rsp);
	}
}

/* Each CPU sums its own range [k*SPAN, (k+1)*SPAN). */
static uint64_t sums[FW_MAX_CPUS];
static unsigned int ran_on[FW_MAX_CPUS];

static void sum_fn(void *arg)
{
	unsigned int k = fw_cpu_index();
	uint64_t s = 0;

	(void)arg;
	for (uint64_t i = k * SUM_SPAN; i < (k + 1) * SUM_SPAN; i++)
		s += i;
	sums[k] = s;
	__atomic_add_fetch(&ran_on[k], 1, __ATOMIC_RELAXED);
}

TEST(call_all_sums_distinct_ranges)
{
	unsigned int ran = fw_smp_call_all(sum_fn, NULL);

	CHECK_EQ(ran, ncpus());
	for (unsigned int k = 0; k < ncpus(); k++) {
		uint64_t lo = k * SUM_SPAN, hi = (k + 1) * SUM_SPAN;

		CHECK_EQ(ran_on[k], 1);
		CHECK(sums[k] == (hi * (hi - 1) - lo * (lo - 1)) / 2, "CPU %u sum %llu", k,
		      (unsigned long long)sums[k]);
	}
}

/* All CPUs inside one call at the same time: a barrier. */
static volatile uint32_t barrier_in;
static bool barrier_ok[FW_MAX_CPUS];

static void barrier_fn(void *arg)
{
	uint64_t start = rdtsc(), timeout = *(const uint64_t *)arg;

	__atomic_add_fetch(&barrier_in, 1, __ATOMIC_SEQ_CST);
	while (barrier_in < ncpus() && rdtsc() - start < timeout)
		cpu_relax();
	barrier_ok[fw_cpu_index()] = barrier_in >= ncpus();
}

TEST(cpus_run_concurrently)
{
	uint64_t timeout = fw_tsc_from_us(2000000);

	if (ncpus() < 2)
		SKIP("1 CPU");
	fw_smp_call_all(barrier_fn, &timeout);
	for (unsigned int k = 0; k < ncpus(); k++)
		CHECK(barrier_ok[k], "CPU %u left the barrier alone (%u in)", k, barrier_in);
}

/* An AP calls another AP. */
static volatile unsigned int nested_ran_on = ~0u;

static void nested_leaf(void *arg)
{
	(void)arg;
	nested_ran_on = fw_cpu_index();
}

static void nested_fn(void *arg)
{
	*(int *)arg = fw_smp_call(2, nested_leaf, NULL);
}

TEST(ap_calls_ap)
{
	int rc = -99;

	if (ncpus() < 3)
		SKIP("needs 3 CPUs");
	CHECK_EQ(fw_smp_call(1, nested_fn, &rc), 0);
	CHECK_EQ(rc, 0);
	CHECK_EQ(nested_ran_on, 2);
}

static volatile uint32_t slow_release;

static void slow_fn(void *arg)
{
	(void)arg;
	while (!slow_release)
		cpu_relax();
}

TEST(busy_and_bad_targets)
{
	CHECK_EQ(fw_smp_call_async(0, slow_fn, NULL), FW_SMP_ERR_CPU);
	CHECK_EQ(fw_smp_call_async(ncpus(), slow_fn, NULL), FW_SMP_ERR_CPU);
	CHECK_EQ(fw_smp_call_async(FW_MAX_CPUS + 5, slow_fn, NULL), FW_SMP_ERR_CPU);
	if (ncpus() < 2)
		return;
	REQUIRE(fw_smp_call_async(1, slow_fn, NULL) == 0, "first call refused");
	CHECK_EQ(fw_smp_call_async(1, slow_fn, NULL), FW_SMP_ERR_BUSY);
	CHECK(!fw_smp_wait(1, fw_tsc_from_us(1000)), "a spinning call finished");
	slow_release = 1;
	CHECK(fw_smp_wait(1, 0), "call did not finish");
	CHECK_EQ(fw_smp_call(1, nested_leaf, NULL), 0);
	CHECK_EQ(nested_ran_on, 1);
}

static void empty_fn(void *arg)
{
	(void)arg;
}

/*
 * Wake-ups of a parked CPU. Each call sends the target exactly one wake IPI.
 * The target runs its idle loop with IF = 0 and takes interrupts only inside
 * the `sti; hlt` of priv_wait_ne(), i.e. only while it is parked. Two cases
 * per call, and which one happens is up to the host's scheduler:
 *
 *  - parked: the target was halted when the call was posted. The IPI wakes
 *    it: its CPL 0 handler runs after the post and before the call starts.
 *  - not parked yet: the host had not run the target as far as its hlt (it
 *    was still on its way back from the previous call). It then finds the
 *    call by itself, without halting, and the IPI waits in IRR until its
 *    next park, after the call.
 *
 * IRR holds one bit per vector, so an IPI still waiting there when the next
 * one arrives would merge with it. Before posting each call the caller waits
 * until the target has taken every wake IPI sent so far. Then the count is
 * exact: one wake per call, whatever the scheduling. A target that
 * polls for calls (and so does not halt) never takes its IPIs, or takes each
 * one only after the call it was for has started.
 */
TEST(wakeup_latency)
{
	enum { N = 32 };
	uint64_t wake[N], round[N], handler[N];
	struct fw_stats ws, hs, rs;
	uint32_t wakes_before, calls_before;
	unsigned int cpu = ncpus() - 1, parked = 0;
	/* Host scheduling only: a parking target takes its pending IPI as soon as the
	 * host runs it a few dozen instructions further. */
	const uint64_t take_timeout = fw_tsc_from_us(2000000);

	if (ncpus() < 2)
		SKIP("1 CPU");
	fw_irq_set_timestamp(FW_VEC_WAKE, true);
	wakes_before = fw_irq_count_cpu(cpu, FW_VEC_WAKE);
	calls_before = (uint32_t)fw_percpu[cpu].smp.calls;
	for (int i = 0; i < N; i++) {
		uint64_t t0, rt, stamp;
		struct fw_smp_timing t;

		REQUIRE(fw_irq_wait_count_cpu(cpu, FW_VEC_WAKE, wakes_before + (uint32_t)i,
					      take_timeout),
			"CPU %u did not take the wake IPI of call %d within 2 s (%u of %d taken): "
			"it does not halt after a call", cpu, i - 1,
			fw_irq_count_cpu(cpu, FW_VEC_WAKE) - wakes_before, i);
		/* Let the target settle into hlt: the latency is from a parked CPU. */
		fw_udelay(200);
		t0 = rdtsc();
		REQUIRE(fw_smp_call(cpu, empty_fn, NULL) == 0, "call %d refused", i);
		rt = rdtsc() - t0;
		t = fw_smp_last_timing(cpu);
		stamp = fw_irq_stamp_tsc(cpu);
		/* Parked: the handler of this call's IPI ran between the post and the
		 * start (every earlier IPI had been taken before the post). */
		if ((int64_t)(stamp - t.posted) > 0 && (int64_t)(t.started - stamp) > 0) {
			round[parked] = rt;
			wake[parked] = t.started - t.posted;
			handler[parked] = stamp - t.posted;
			parked++;
		}
	}
	CHECK(fw_irq_wait_count_cpu(cpu, FW_VEC_WAKE, wakes_before + N, take_timeout),
	      "CPU %u did not take the wake IPI of the last call within 2 s", cpu);
	fw_irq_set_timestamp(FW_VEC_WAKE, false);
	/* One wake per call: none lost, none extra. */
	CHECK_EQ(fw_irq_count_cpu(cpu, FW_VEC_WAKE) - wakes_before, N);
	CHECK_EQ((uint32_t)fw_percpu[cpu].smp.calls - calls_before, N);
	/* It does not poll: a target that had halted was woken by the IPI. Each
	 * call gives it 200 us plus the caller's own wake-up to get to its hlt:
	 * only a host that never runs it in time makes it miss every one. */
	CHECK(parked > 0, "CPU %u never was parked when a call came (%d calls): it polls", cpu,
	      N);
	ws = fw_stats_u64(wake, parked);
	hs = fw_stats_u64(handler, parked);
	rs = fw_stats_u64(round, parked);
	diag("smp wake-up: IPI -> parked CPU %u running work at CPL 3: median %llu cycles "
	     "(%llu us), min %llu us, max %llu us, %u of %d calls found it parked", cpu,
	     (unsigned long long)ws.median, (unsigned long long)fw_tsc_to_us(ws.median),
	     (unsigned long long)fw_tsc_to_us(ws.min), (unsigned long long)fw_tsc_to_us(ws.max),
	     parked, N);
	diag("smp wake-up: of which IPI -> CPL 0 handler entry (timestamping stub): median %llu "
	     "cycles (%llu us)", (unsigned long long)hs.median,
	     (unsigned long long)fw_tsc_to_us(hs.median));
	diag("smp round trip: fw_smp_call of an empty function (caller halts for the completion "
	     "IPI): median %llu cycles (%llu us)", (unsigned long long)rs.median,
	     (unsigned long long)fw_tsc_to_us(rs.median));
}

TEST(spinning_caller_round_trip)
{
	enum { N = 32 };
	uint64_t round[N];
	unsigned int cpu = 1;

	if (ncpus() < 2)
		SKIP("1 CPU");
	for (int i = 0; i < N; i++) {
		uint64_t t0;

		fw_udelay(200);
		t0 = rdtsc();
		REQUIRE(fw_smp_call_async(cpu, empty_fn, NULL) == 0, "call %d refused", i);
		REQUIRE(fw_smp_wait(cpu, fw_tsc_from_us(1000000)), "call %d timed out", i);
		round[i] = rdtsc() - t0;
	}
	struct fw_stats rs = fw_stats_u64(round, N);

	diag("smp round trip, spinning caller: median %llu cycles (%llu us)",
	     (unsigned long long)rs.median, (unsigned long long)fw_tsc_to_us(rs.median));
}
