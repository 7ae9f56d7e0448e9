// SPDX-License-Identifier: MIT
/*
 * Guest test `dfl`: the AFU's DMA copy/fill engine (include/dfl_regs.h):
 * data checks, interrupts, hostile descriptors, bandwidth (dfltest.h).
 */
#include <string.h>

#include "dfltest.h"
#include "fw/fdt.h"
#include "fw/irq.h"
#include "fw/stats.h"
#include "fw/test.h"
#include "fw/tsc.h"

#define BUF_SIZE (1u << 20)
#define RING_ENTRIES 64

static uint8_t src[BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t dst[BUF_SIZE + 8192] __attribute__((aligned(4096)));
static volatile struct dfl_afu_desc ring[RING_ENTRIES] __attribute__((aligned(64)));

static uint64_t gpa(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static bool open_afu(struct fw_dfl_afu *a, unsigned port, bool irq)
{
	return CHECK(fw_dfl_afu_open(a, afu_regs(port), ring, RING_ENTRIES, irq) == 0,
		     "AFU %u: bad magic %#llx", port,
		     (unsigned long long)*(volatile uint64_t *)(afu_regs(port) + DFL_AFU_MAGIC));
}

TEST(afu_identity_and_scratch)
{
	REQUIRE(card, "no card");
	for (unsigned p = 0; p < want.ports; p++) {
		struct fw_dfl_afu a = { .regs = afu_regs(p) };

		CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_MAGIC), DFL_AFU_MAGIC_VALUE);
		CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_IRQ_VECTOR), DFL_CARD_VEC_AFU(p));
		CHECK(fw_dfl_afu_read(&a, DFL_AFU_CAPS) & DFL_AFU_CAP_COPY, "no copy");
		for (unsigned i = 0; i < DFL_AFU_SCRATCH_COUNT; i++)
			fw_dfl_afu_write(&a, DFL_AFU_SCRATCH(i), 0x1111111111111111ull * (i + 1) + p);
		for (unsigned i = 0; i < DFL_AFU_SCRATCH_COUNT; i++)
			CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_SCRATCH(i)),
				 0x1111111111111111ull * (i + 1) + p);
		/* The AFU GUID the config chose, at the AFU header. */
		CHECK_EQ(DFH_GET(fw_dfl_afu_read(&a, 0), TYPE), DFH_TYPE_AFU);
	}
}

TEST(afu_copy_with_interrupt)
{
	struct fw_dfl_afu a;

	REQUIRE(card, "no card");
	if (!want.whole_device)
		SKIP("partial assignment: DMA is denied (afu_dma_denied_when_partial)");
	for (unsigned p = 0; p < want.ports; p++) {
		unsigned vec = DFL_VEC_BASE + DFL_CARD_VEC_AFU(p);
		uint32_t before = fw_irq_count(vec);

		REQUIRE(open_afu(&a, p, true), "open");
		pattern(src, 256 << 10, 7 + p);
		memset(dst, 0, (256 << 10) + 64);
		uint64_t bytes = fw_dfl_afu_read(&a, DFL_AFU_BYTES);
		volatile struct dfl_afu_desc *d =
			fw_dfl_afu_post(&a, DFL_AFU_OP_COPY, DFL_AFU_DESC_IRQ, gpa(src), gpa(dst),
					256 << 10);

		fw_dfl_afu_kick(&a);
		CHECK_EQ(fw_dfl_afu_wait(d, ms_tsc(1000)), DFL_AFU_ST_OK);
		CHECK_EQ(d->bytes_done, 256 << 10);
		CHECK(memcmp(src, dst, 256 << 10) == 0, "port %u: copy differs", p);
		CHECK_EQ(dst[256 << 10], 0);
		CHECK(fw_irq_wait_count(vec, before + 1, ms_tsc(100)), "port %u: no interrupt", p);
		CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_BYTES) - bytes, 256 << 10);
		CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_RING_HEAD), 1);
		CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_ERROR), 0);
	}
}

TEST(afu_fill_odd_sizes)
{
	static const uint64_t lens[] = { 0, 1, 7, 8, 9, 4095, 65537 };
	const uint64_t pat = 0x0807060504030201ull;
	struct fw_dfl_afu a;

	REQUIRE(card, "no card");
	if (!want.whole_device)
		SKIP("partial assignment");
	REQUIRE(open_afu(&a, 0, false), "open");
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t *p = dst + 3; /* unaligned start */
		bool ok = true;

		memset(dst, 0xee, 65537 + 16);
		CHECK_EQ(fw_dfl_afu_run(&a, DFL_AFU_OP_FILL, 0, pat, gpa(p), lens[i], ms_tsc(500)),
			 DFL_AFU_ST_OK);
		for (uint64_t j = 0; j < lens[i] && ok; j++)
			ok = p[j] == (uint8_t)(j % 8 + 1);
		CHECK(ok, "fill of %llu bytes is wrong", (unsigned long long)lens[i]);
		CHECK(dst[0] == 0xee && dst[2] == 0xee && p[lens[i]] == 0xee,
		      "fill of %llu bytes overran", (unsigned long long)lens[i]);
	}
}

/* Many descriptors, one doorbell; the last asks for the interrupt. */
TEST(afu_ring_of_descriptors)
{
	struct fw_dfl_afu a;
	volatile struct dfl_afu_desc *last = NULL;
	unsigned vec = DFL_VEC_BASE + DFL_CARD_VEC_AFU(0);

	REQUIRE(card, "no card");
	if (!want.whole_device)
		SKIP("partial assignment");
	REQUIRE(open_afu(&a, 0, true), "open");
	pattern(src, 64 << 10, 99);
	uint32_t before = fw_irq_count(vec);

	for (unsigned round = 0; round < 3; round++) { /* wraps the 64-entry ring */
		for (unsigned i = 0; i < 40; i++) {
			bool copy = i % 2 == 0;

			last = fw_dfl_afu_post(&a, copy ? DFL_AFU_OP_COPY : DFL_AFU_OP_FILL,
					       i == 39 ? DFL_AFU_DESC_IRQ : 0,
					       copy ? gpa(src + i * 1024) : 0x4141414141414141ull,
					       gpa(dst + i * 1024), 1024);
		}
		fw_dfl_afu_kick(&a);
		CHECK_EQ(fw_dfl_afu_wait(last, ms_tsc(1000)), DFL_AFU_ST_OK);
		/* Take it now: with IF = 0 a second one would merge in the IRR. */
		CHECK(fw_irq_wait_count(vec, before + round + 1, ms_tsc(100)),
		      "round %u: no interrupt", round);
	}
	fw_udelay(2000);
	CHECK_EQ(fw_irq_count(vec) - before, 3);
	CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_RING_HEAD), 120);
	CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_COMPLETED) >= 120, 1);
	for (unsigned i = 0; i < 40; i++) {
		if (i % 2 == 0)
			CHECK(memcmp(dst + i * 1024, src + i * 1024, 1024) == 0, "copy %u", i);
		else
			CHECK(dst[i * 1024] == 0x41 && dst[i * 1024 + 1023] == 0x41, "fill %u", i);
	}
}

/* Buffers outside RAM: architectural errors, nothing written, port error IRQ. */
TEST(afu_buffers_outside_ram)
{
	uint64_t ram = fw_fdt_memory_size();
	const struct { uint32_t op; uint64_t src, dst, len; } bad[] = {
		{ DFL_AFU_OP_COPY, gpa(src), ram, 64 },
		{ DFL_AFU_OP_COPY, ram - 32, gpa(dst), 64 },
		{ DFL_AFU_OP_COPY, gpa(src), gpa(dst), ~0ull },
		{ DFL_AFU_OP_FILL, 0, ram + (1ull << 40), 8 },
		{ DFL_AFU_OP_COPY, 0xfee00000ull, gpa(dst), 4 }, /* the LAPIC is no RAM */
	};
	unsigned vec = DFL_VEC_BASE + DFL_CARD_VEC_PORT_ERR(0);
	uint64_t perr = DFL_CARD_PORT(0) + DFL_CARD_PORT_ERROR + (want.dfh ? DFL_CARD_V1_CSR : 0);
	struct fw_dfl_afu a;

	REQUIRE(card, "no card");
	if (!want.whole_device)
		SKIP("partial assignment");
	REQUIRE(open_afu(&a, 0, false), "open");
	uint32_t before = fw_irq_count(vec);

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(dst, 0x5a, 128);
		CHECK_EQ(fw_dfl_afu_run(&a, bad[i].op, 0, bad[i].src, bad[i].dst, bad[i].len,
					ms_tsc(500)), DFL_AFU_ST_ADDRESS);
		CHECK(fw_dfl_afu_read(&a, DFL_AFU_ERROR) & DFL_AFU_ERR_ADDRESS, "case %u: no ERROR", i);
		CHECK(dst[0] == 0x5a && dst[127] == 0x5a, "case %u wrote memory", i);
		fw_dfl_afu_write(&a, DFL_AFU_ERROR, DFL_AFU_ERR_ADDRESS);
	}
	CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_ERROR), 0);
	CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_ERROR_ADDR), 0xfee00000ull);
	CHECK(fw_irq_wait_count(vec, before + 1, ms_tsc(100)), "no port error interrupt");
	CHECK(reg64(perr + DFL_PERR_ERROR) & DFL_PERR_DMA_FAULT, "port ERROR not latched");
	CHECK(reg64(perr + DFL_PERR_FIRST_ERROR) & DFL_PERR_DMA_FAULT, "FIRST_ERROR not latched");
	wreg64(perr + DFL_PERR_ERROR, DFL_PERR_DMA_FAULT);
	CHECK_EQ(reg64(perr + DFL_PERR_ERROR), 0);
	CHECK_EQ(reg64(perr + DFL_PERR_FIRST_ERROR), 0);
	/* The engine still works. */
	CHECK_EQ(fw_dfl_afu_run(&a, DFL_AFU_OP_FILL, 0, 1, gpa(dst), 8, ms_tsc(500)), DFL_AFU_ST_OK);
}

TEST(afu_bad_ring_halts_until_reset)
{
	uint64_t ram = fw_fdt_memory_size();
	struct fw_dfl_afu a;

	REQUIRE(card, "no card");
	if (!want.whole_device)
		SKIP("partial assignment");
	REQUIRE(open_afu(&a, 0, false), "open");
	fw_dfl_afu_write(&a, DFL_AFU_RING_BASE, ram - 64); /* 64 entries do not fit */
	fw_dfl_afu_write(&a, DFL_AFU_RING_TAIL, 1);
	for (unsigned i = 0; i < 1000 && !(fw_dfl_afu_read(&a, DFL_AFU_STATUS) &
					    DFL_AFU_STATUS_HALTED); i++)
		fw_udelay(100);
	CHECK(fw_dfl_afu_read(&a, DFL_AFU_STATUS) & DFL_AFU_STATUS_HALTED, "not halted");
	CHECK(fw_dfl_afu_read(&a, DFL_AFU_ERROR) & DFL_AFU_ERR_RING, "no ring error");
	CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_RING_HEAD), 0);
	/* Unknown op: an error status, then a recovery through open (RESET). */
	REQUIRE(open_afu(&a, 0, false), "reopen");
	CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_STATUS) & DFL_AFU_STATUS_HALTED, 0);
	CHECK_EQ(fw_dfl_afu_run(&a, 77, 0, 0, gpa(dst), 8, ms_tsc(500)), DFL_AFU_ST_BAD_DESC);
	CHECK_EQ(fw_dfl_afu_run(&a, DFL_AFU_OP_NOP, 0, 0, 0, 0, ms_tsc(500)), DFL_AFU_ST_OK);
}

TEST(afu_needs_bus_master)
{
	struct fw_dfl_afu a;

	REQUIRE(card, "no card");
	if (!want.whole_device)
		SKIP("partial assignment");
	REQUIRE(open_afu(&a, 0, false), "open");
	fw_pci_command(card->bdf, 0, FW_PCI_COMMAND_MASTER);
	memset(dst, 0, 64);
	CHECK_EQ(fw_dfl_afu_run(&a, DFL_AFU_OP_FILL, 0, ~0ull, gpa(dst), 64, ms_tsc(500)),
		 DFL_AFU_ST_DENIED);
	CHECK_EQ(dst[0], 0);
	fw_pci_command(card->bdf, FW_PCI_COMMAND_MASTER, 0);
	CHECK_EQ(fw_dfl_afu_run(&a, DFL_AFU_OP_FILL, 0, ~0ull, gpa(dst), 64, ms_tsc(500)),
		 DFL_AFU_ST_OK);
	CHECK_EQ(dst[0], 0xff);
}

/* assignment = "features": the DMA-capable AFU is neither described nor
 * allowed to run, even when reached by walking the BAR. */
TEST(afu_dma_denied_when_partial)
{
	struct fw_dfl_afu a;

	REQUIRE(card, "no card");
	if (want.whole_device)
		SKIP("whole device assigned");
	REQUIRE(open_afu(&a, 0, true), "open");
	memset(dst, 0, 64);
	pattern(src, 64, 1);
	CHECK_EQ(fw_dfl_afu_run(&a, DFL_AFU_OP_COPY, DFL_AFU_DESC_IRQ, gpa(src), gpa(dst), 64,
				ms_tsc(500)), DFL_AFU_ST_DENIED);
	CHECK(fw_dfl_afu_read(&a, DFL_AFU_ERROR) & DFL_AFU_ERR_DENIED, "ERROR.DENIED not set");
	CHECK_EQ(dst[0] | dst[63], 0);
}

/* ---- measurements (make bench reads these lines) ---- */

static uint64_t median(uint64_t *v, unsigned n)
{
	return fw_stats_u64(v, n).median;
}

/* Median TSC ticks of RUNS 1 MiB AFU copies (trapped or polled doorbell). */
static uint64_t time_afu_copies(struct fw_dfl_afu *a, uint64_t *t, unsigned runs)
{
	for (unsigned i = 0; i < runs; i++) {
		uint64_t t0 = rdtsc();

		if (!CHECK_EQ(fw_dfl_afu_run(a, DFL_AFU_OP_COPY, 0, gpa(src), gpa(dst), BUF_SIZE,
					     ms_tsc(1000)), DFL_AFU_ST_OK))
			return 0;
		t[i] = rdtsc() - t0;
	}
	return median(t, runs);
}

/* The same, waiting for the completion interrupt in HLT (frees the CPU for
 * the VMM's engine thread) instead of spinning on the status. */
static uint64_t time_afu_copies_irq(struct fw_dfl_afu *a, uint64_t *t, unsigned runs)
{
	unsigned vec = DFL_VEC_BASE + DFL_CARD_VEC_AFU(0);

	for (unsigned i = 0; i < runs; i++) {
		uint32_t before = fw_irq_count(vec);
		uint64_t t0 = rdtsc();
		volatile struct dfl_afu_desc *d = fw_dfl_afu_post(a, DFL_AFU_OP_COPY,
								  DFL_AFU_DESC_IRQ, gpa(src),
								  gpa(dst), BUF_SIZE);

		fw_dfl_afu_kick(a);
		fw_irq_wait_count(vec, before + 1, 0);
		t[i] = rdtsc() - t0;
		if (!CHECK_EQ(d->status, DFL_AFU_ST_OK))
			return 0;
	}
	return median(t, runs);
}

static uint64_t time_memcpy(uint64_t *t, unsigned runs)
{
	for (unsigned i = 0; i < runs; i++) {
		uint64_t t0 = rdtsc();

		memcpy(dst, src, BUF_SIZE);
		__asm__ volatile("" ::: "memory");
		t[i] = rdtsc() - t0;
	}
	return median(t, runs);
}

static void report(const char *what, uint64_t afu, uint64_t cpu)
{
	uint64_t afu_ns = fw_tsc_to_ns(afu), cpu_ns = fw_tsc_to_ns(cpu);

	diag("dfl bench: AFU copy 1 MiB, %s doorbell: %llu us, %llu MB/s; CPL 3 memcpy 1 MiB: "
	     "%llu us, %llu MB/s; AFU/memcpy %llu%%", what, (unsigned long long)(afu_ns / 1000),
	     (unsigned long long)(afu_ns ? BUF_SIZE * 1000ull / afu_ns : 0),
	     (unsigned long long)(cpu_ns / 1000),
	     (unsigned long long)(cpu_ns ? BUF_SIZE * 1000ull / cpu_ns : 0),
	     (unsigned long long)(afu_ns ? cpu_ns * 100 / afu_ns : 0));
}

TEST(bench_copy_bandwidth_and_mmio_read)
{
	enum { RUNS = 21, READS = 32 };
	static volatile uint32_t tail_word __attribute__((aligned(64)));
	uint64_t t[RUNS], rd[READS], cpu, trapped, polled, polled_irq;
	struct fw_dfl_afu a;

	REQUIRE(card, "no card");
	if (!want.whole_device)
		SKIP("partial assignment");
	REQUIRE(open_afu(&a, 0, true), "open");
	pattern(src, BUF_SIZE, 5);
	memset(dst, 0, BUF_SIZE); /* fault the pages in */
	cpu = time_memcpy(t, RUNS);
	trapped = time_afu_copies(&a, t, RUNS);
	fw_dfl_afu_use_tail_word(&a, &tail_word);
	polled = time_afu_copies(&a, t, RUNS);
	polled_irq = time_afu_copies_irq(&a, t, RUNS);
	CHECK(memcmp(src, dst, BUF_SIZE) == 0, "copy differs");
	CHECK_EQ(fw_dfl_afu_read(&a, DFL_AFU_RING_TAIL), a.tail);
	for (unsigned i = 0; i < READS; i++) {
		uint64_t t0 = rdtsc();

		(void)fw_dfl_afu_read(&a, DFL_AFU_SCRATCH(0));
		rd[i] = rdtsc() - t0;
	}
	report("trapped (RING_TAIL write)", trapped, cpu);
	report("polled (tail word in RAM)", polled, cpu);
	report("polled, completion by interrupt (HLT)", polled_irq, cpu);
	diag("dfl bench: MMIO register read at CPL 3 (one exit): median %llu ns",
	     (unsigned long long)fw_tsc_to_ns(median(rd, READS)));
}
