// SPDX-License-Identifier: MIT
/*
 * Guest test `dsa`: the emulated Intel DSA through firmware/dsa.c, in the
 * submission mode the command line names (configs/dsa-polled.toml,
 * configs/dsa-trapped.toml):
 *
 *   dsa.mode=polled    portal pages are RAM; descriptors rotate through the
 *                      64-byte slots, at most 64 outstanding
 *   dsa.mode=trapped   portal pages trap; every descriptor goes to portal
 *                      offset 0, as the Linux VFIO selftest driver does
 *
 * Covers the selftest init sequence, every operation with data and
 * completion-record checks, batches, drain, interrupts, WQ enable/disable/
 * reset, every error status, a stress run of 262144 verified descriptors,
 * and prints performance lines ("# perf dsa ...").
 */
#include <stdlib.h>
#include <string.h>

#include "fw/apic.h"
#include "fw/dsa.h"
#include "fw/fdt.h"
#include "fw/irq.h"
#include "fw/smp.h"
#include "fw/stats.h"
#include "fw/test.h"
#include "fw/tsc.h"

const char *test_image_name = "dsa";

#define BUF_SIZE      (2u << 20)
#define WINDOW        64           /* outstanding descriptors at most */
#define VEC_COMPLETE  0x60         /* MSI-X entry 1 */
#define VEC_MISC      0x61         /* MSI-X entry 0 */
#define RECORD        (DSA_FLAG_CRAV | DSA_FLAG_RCR)
#define ALL_OPS       DSA_OPS_IMPLEMENTED

static uint8_t src[BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t dst[BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t dst2[BUF_SIZE] __attribute__((aligned(4096)));
static struct dsa_completion_record records[1024] __attribute__((aligned(4096)));
static struct dsa_hw_desc list[2][1024] __attribute__((aligned(4096)));

static struct fw_dsa dsa;
static bool polled, ready;
static uint64_t timeout;         /* one second of TSC */
static uint64_t ram_size;

/* ---- helpers ---- */

static uint64_t addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static struct dsa_hw_desc make(uint8_t opcode, uint32_t flags, uint64_t s, uint64_t d,
			       uint32_t size, struct dsa_completion_record *record)
{
	struct dsa_hw_desc desc = {
		.pasid_priv = 1u << 31, .flags_opcode = dsa_flags_opcode(opcode, flags),
		.completion_addr = addr(record), .src = s, .dst = d, .xfer_size = size,
	};

	return desc;
}

/* Submit one descriptor and wait for its record; returns the status (0: none came). */
static uint8_t run(const struct dsa_hw_desc *desc)
{
	struct dsa_completion_record *record =
		(struct dsa_completion_record *)(uintptr_t)desc->completion_addr;

	memset(record, 0, sizeof(*record));
	fw_dsa_submit(&dsa, desc);
	return fw_dsa_wait(record, timeout);
}

static void pattern(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

static uint64_t swerr(void)
{
	return fw_dsa_read64(&dsa, DSA_REG_SWERR);
}

static void clear_swerr(void)
{
	fw_dsa_write64(&dsa, DSA_REG_SWERR, DSA_SWERR_VALID | DSA_SWERR_OVERFLOW);
	fw_dsa_write32(&dsa, DSA_REG_INTCAUSE, DSA_INTCAUSE_ERR);
}

/* SWERR becomes valid (at once when trapped; once the poller looks when polled). */
static unsigned int wait_swerr_code(void)
{
	uint64_t start = rdtsc();

	while (!(swerr() & DSA_SWERR_VALID) && rdtsc() - start < timeout)
		cpu_relax();
	return (unsigned int)(swerr() >> DSA_SWERR_CODE_SHIFT) & 0xff;
}

static int cmd(unsigned int command, uint32_t operand)
{
	return fw_dsa_command(&dsa, DSA_CMD(command, operand));
}

void test_setup(void)
{
	const char *args = fw_fdt_bootargs();

	polled = args && strstr(args, "dsa.mode=polled");
	timeout = fw_tsc_from_us(1000000);
	ram_size = fw_fdt_memory_size();
	diag("mode: %s (%s)", polled ? "polled" : "trapped",
	     polled ? "slot rotation, <= 64 outstanding" : "portal offset 0, back to back");
	ready = fw_dsa_probe(&dsa, 0, polled ? FW_DSA_ROTATE : FW_DSA_OFFSET0) == 0;
	CHECK(ready, "no usable 8086:0b25 function");
}

#define NEED_DEVICE() REQUIRE(ready, "no DSA device")

/*
 * dsa.fault=source (configs/dsa-trapped-fault.toml): a MOVDIR64B to a
 * trapped portal whose source the page tables do not map must raise #PF in
 * the guest with CR2 = the source, as on hardware, and nothing else. (The
 * CPU reads the source before the store can exit, so the fault is its own;
 * the completer's page walk would raise the same one.) The firmware's fatal
 * report ends the run.
 */
TEST(trapped_source_page_fault)
{
	const char *args = fw_fdt_bootargs();

	if (!args || !strstr(args, "dsa.fault=source"))
		SKIP("only with dsa.fault=source");
	NEED_DEVICE();
	__asm__ volatile("movdir64b (%1), %0" : : "r"(dsa.portals), "r"(0x1234567000ull) : "memory");
	CHECK(false, "MOVDIR64B from an unmapped source did not fault");
}

/* ---- identity and init ---- */

TEST(identity_and_capabilities)
{
	NEED_DEVICE();
	CHECK_EQ(dsa.pci->class_code, DSA_CLASS_CODE);
	CHECK_EQ(dsa.pci->bar[DSA_MMIO_BAR].size, 0x10000);
	CHECK(dsa.pci->bar[DSA_WQ_BAR].size >= DSA_WQ_PORTAL_STRIDE, "BAR2 too small");
	CHECK(dsa.pci->bar[DSA_MMIO_BAR].space == FW_PCI_SPACE_MEM64, "BAR0 is not 64-bit");
	CHECK(dsa.msix.size >= 2, "the VFIO selftest needs 2 MSI-X vectors, have %u",
	      dsa.msix.size);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), 0x100);
	CHECK_EQ(dsa.num_wqs, 1);
	CHECK_EQ(dsa.total_wq_size, 128);
	CHECK_EQ(dsa.wqcfg_size, 64);
	CHECK_EQ(dsa.max_xfer_shift, 31);
	CHECK_EQ(dsa.opcap, ALL_OPS);
	/* Read-only registers stay so. */
	fw_dsa_write64(&dsa, DSA_REG_GENCAP, 0);
	fw_dsa_write64(&dsa, DSA_REG_OPCAP, ~0ull);
	CHECK_EQ(fw_dsa_read64(&dsa, DSA_REG_GENCAP), dsa.gencap);
	CHECK_EQ(fw_dsa_read64(&dsa, DSA_REG_OPCAP), ALL_OPS);
	diag("BAR0 %llx BAR2 %llx, %u MSI-X vectors", (unsigned long long)(uintptr_t)dsa.regs,
	     (unsigned long long)(uintptr_t)dsa.portals, dsa.msix.size);
}

/* Exactly the VFIO selftest's configuration: op_config = MEMMOVE | BATCH. */
TEST(vfio_selftest_init_sequence)
{
	NEED_DEVICE();
	uint64_t ops = (1ull << DSA_OP_MEMMOVE) | (1ull << DSA_OP_BATCH);

	REQUIRE(fw_dsa_init(&dsa, ops) == 0, "init failed: CMDSTS 0x%x",
		fw_dsa_read32(&dsa, DSA_REG_CMDSTS));
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_GENSTS) & 3, DSA_STATE_ENABLED);
	CHECK_EQ(fw_dsa_wq_state(&dsa, 0), DSA_WQ_STATE_ENABLED);
	CHECK_EQ(fw_dsa_wqcfg(&dsa, 0, 0), 128);
	pattern(src, 4096, 1);
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD, addr(src), addr(dst), 4096, &records[0]);

	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK(memcmp(src, dst, 4096) == 0, "memmove data differs");
	d = make(DSA_OP_NOOP, RECORD, 0, 0, 0, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_BAD_OPCODE); /* not in this WQ's op_config */
	/* Now with every operation, for the rest of the image. */
	REQUIRE(fw_dsa_init(&dsa, ALL_OPS) == 0, "re-init failed");
}

/* ---- operations ---- */

TEST(noop_and_drain)
{
	NEED_DEVICE();
	struct dsa_hw_desc d = make(DSA_OP_NOOP, RECORD, 0, 0, 0, &records[0]);

	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	/* Drain completes after everything submitted before it. */
	for (unsigned int i = 0; i < 8; i++) {
		d = make(DSA_OP_MEMMOVE, RECORD, addr(src) + 4096 * i, addr(dst) + 4096 * i, 4096,
			 &records[1 + i]);
		records[1 + i].status = 0;
		fw_dsa_submit(&dsa, &d);
	}
	d = make(DSA_OP_DRAIN, RECORD, 0, 0, 0, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	for (unsigned int i = 0; i < 8; i++)
		CHECK_EQ(records[1 + i].status, DSA_COMP_SUCCESS);
}

TEST(memmove_sizes_and_alignments)
{
	NEED_DEVICE();
	static const uint32_t sizes[] = { 1, 63, 64, 4096, 4113, 65536, 1u << 20 };

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t n = sizes[i], off = i * 3;
		struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD, addr(src) + off,
					    addr(dst) + off + 1, n, &records[0]);

		pattern(src + off, n, i);
		memset(dst, 0, n + off + 2);
		CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
		CHECK(memcmp(src + off, dst + off + 1, n) == 0, "size %u: data differs", n);
		CHECK(dst[off] == 0 && dst[off + n + 1] == 0, "size %u: wrote outside", n);
	}
	/* Overlap, destination above the source: a move, not a copy. */
	pattern(src, 10000, 7);
	memcpy(dst, src, 10000);
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD, addr(src), addr(src) + 100, 9000,
				    &records[0]);

	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK(memcmp(src + 100, dst, 9000) == 0, "overlapping move differs");
}

TEST(fill)
{
	NEED_DEVICE();
	uint64_t value = 0x0123456789abcdefull;
	struct dsa_hw_desc d = make(DSA_OP_MEMFILL, RECORD, value, addr(dst) + 5, 3001, &records[0]);
	bool ok = true;

	memset(dst, 0, 3010);
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	for (unsigned int i = 0; i < 3001; i++)
		ok &= dst[5 + i] == (uint8_t)(value >> (8 * (i % 8)));
	CHECK(ok, "fill pattern wrong");
	CHECK(dst[4] == 0 && dst[3006] == 0, "fill wrote outside");
}

TEST(compare_and_compare_pattern)
{
	NEED_DEVICE();
	struct dsa_hw_desc d = make(DSA_OP_COMPARE, RECORD, addr(src), addr(dst), 8192, &records[0]);

	pattern(src, 8192, 3);
	memcpy(dst, src, 8192);
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK_EQ(records[0].result, 0);
	dst[5000] ^= 0x10;
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK_EQ(records[0].result, 1);
	CHECK_EQ(records[0].bytes_completed, 5000);
	/* Check result: expected equal but they differ -> success with false predicate. */
	d = make(DSA_OP_COMPARE, RECORD | DSA_FLAG_CR, addr(src), addr(dst), 8192, &records[0]);
	d.expected_res = 0;
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS_PRED);

	uint64_t p = 0xa5a5a5a55a5a5a5aull;

	for (unsigned int i = 0; i < 512; i++)
		memcpy(dst + 8 * i, &p, 8);
	d = make(DSA_OP_COMPVAL, RECORD, addr(dst), p, 4096, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK_EQ(records[0].result, 0);
	dst[1234] = 0;
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK_EQ(records[0].result, 1);
	CHECK_EQ(records[0].bytes_completed, 1234);
}

TEST(dualcast)
{
	NEED_DEVICE();
	struct dsa_hw_desc d = make(DSA_OP_DUALCAST, RECORD, addr(src), addr(dst), 5000, &records[0]);

	d.dest2 = addr(dst2);
	pattern(src, 5000, 11);
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK(memcmp(src, dst, 5000) == 0 && memcmp(src, dst2, 5000) == 0, "dualcast data differs");
}

TEST(crc_generation_and_copy_with_crc)
{
	NEED_DEVICE();
	const char *check = "123456789";
	struct dsa_hw_desc d = make(DSA_OP_CRCGEN, RECORD, addr(check), 0, 9, &records[0]);

	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK_EQ(records[0].crc_val, 0xe3069283u); /* the CRC32C check value */
	pattern(src, 100000, 5);
	d = make(DSA_OP_CRCGEN, RECORD, addr(src), 0, 100000, &records[0]);
	d.crc.crc_seed = 0xdeadbeef;
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK_EQ(records[0].crc_val, fw_dsa_crc32c(0xdeadbeef, src, 100000));
	/* Continuing a CRC: the first part's result seeds the second. */
	d = make(DSA_OP_CRCGEN, RECORD, addr(src), 0, 40000, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	d = make(DSA_OP_CRCGEN, RECORD, addr(src) + 40000, 0, 60000, &records[1]);
	d.crc.crc_seed = (uint32_t)records[0].crc_val;
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK_EQ(records[1].crc_val, fw_dsa_crc32c(0, src, 100000));
	/* Copy with CRC, seed read from memory. */
	static uint32_t seed = 0x1234;

	d = make(DSA_OP_COPY_CRC, RECORD | DSA_FLAG_CRC_READ_SEED, addr(src), addr(dst), 77777,
		 &records[0]);
	d.crc.seed_addr = addr(&seed);
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK_EQ(records[0].crc_val, fw_dsa_crc32c(0x1234, src, 77777));
	CHECK(memcmp(src, dst, 77777) == 0, "copy with CRC data differs");
}

TEST(cache_flush)
{
	NEED_DEVICE();
	struct dsa_hw_desc d = make(DSA_OP_CFLUSH, RECORD, 0, addr(dst), 65536, &records[0]);

	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
}

/* ---- batch ---- */

TEST(batch_of_memmoves)
{
	NEED_DEVICE();
	for (unsigned int i = 0; i < 32; i++) {
		/* Inner descriptors: CRAV without RCR, as the VFIO selftest's batches. */
		list[0][i] = make(DSA_OP_MEMMOVE, DSA_FLAG_CRAV, addr(src) + 1024 * i,
				  addr(dst) + 1024 * i, 1024, &records[1 + i]);
		records[1 + i].status = 0;
	}
	pattern(src, 32 * 1024, 21);
	memset(dst, 0, 32 * 1024);
	struct dsa_hw_desc d = make(DSA_OP_BATCH, RECORD, addr(list[0]), 0, 32, &records[0]);

	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK_EQ(records[0].bytes_completed, 32);
	CHECK(memcmp(src, dst, 32 * 1024) == 0, "batch data differs");
	for (unsigned int i = 0; i < 32; i++)
		CHECK_EQ(records[1 + i].status, 0); /* success: no record without RCR */
}

TEST(batch_errors_and_fence)
{
	NEED_DEVICE();
	struct dsa_hw_desc d;

	list[0][0] = make(DSA_OP_BATCH, DSA_FLAG_CRAV, addr(list[1]), 0, 2, &records[1]);
	list[0][1] = make(DSA_OP_NOOP, RECORD, 0, 0, 0, &records[2]);
	list[0][2] = make(DSA_OP_NOOP, RECORD | DSA_FLAG_FENCE, 0, 0, 0, &records[3]);
	memset(&records[1], 0, 3 * sizeof(records[0]));
	d = make(DSA_OP_BATCH, RECORD, addr(list[0]), 0, 3, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_BATCH_FAIL);
	CHECK_EQ(records[0].bytes_completed, 2);
	CHECK_EQ(records[1].status, DSA_COMP_BAD_OPCODE);   /* batch inside a batch */
	CHECK_EQ(records[2].status, DSA_COMP_SUCCESS);
	CHECK_EQ(records[3].status, 0);                     /* fenced after a failure */
	d = make(DSA_OP_BATCH, RECORD, addr(list[0]), 0, 1, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_DESC_CNT_ERANGE);
	d = make(DSA_OP_BATCH, RECORD, addr(list[0]), 0, 2000, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_DESC_CNT_ERANGE);
	d = make(DSA_OP_BATCH, RECORD, addr(list[0]) + 32, 0, 2, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_DESCLIST_ALIGN);
	d = make(DSA_OP_BATCH, RECORD, ram_size + 4096, 0, 2, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_BATCH_PAGE_FAULT);
	CHECK_EQ(records[0].fault_addr, ram_size + 4096);
	CHECK_EQ(records[0].bytes_completed, 0);
}

/* ---- interrupts ---- */

TEST(completion_and_command_interrupts)
{
	NEED_DEVICE();
	fw_dsa_msix(&dsa, 1, VEC_COMPLETE);
	fw_dsa_msix(&dsa, 0, VEC_MISC);
	uint32_t before = fw_irq_count(VEC_COMPLETE);
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD | DSA_FLAG_RCI, addr(src), addr(dst), 8,
				    &records[0]);

	d.int_handle = 1;
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK(fw_irq_wait_count(VEC_COMPLETE, before + 1, 0), "no completion interrupt");
	/* A command with int_req raises INTCAUSE.CMD and vector 0. */
	before = fw_irq_count(VEC_MISC);
	fw_dsa_write32(&dsa, DSA_REG_CMD, DSA_CMD(DSA_CMD_DRAIN_ALL, 0) | DSA_CMD_INT_REQ);
	CHECK(fw_irq_wait_count(VEC_MISC, before + 1, 0), "no command interrupt");
	CHECK(fw_dsa_read32(&dsa, DSA_REG_INTCAUSE) & DSA_INTCAUSE_CMD, "INTCAUSE.CMD not set");
	fw_dsa_write32(&dsa, DSA_REG_INTCAUSE, DSA_INTCAUSE_CMD);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_INTCAUSE) & DSA_INTCAUSE_CMD, 0);
	/* An interrupt handle past the table is an error, with no interrupt. */
	d.int_handle = (uint16_t)dsa.msix.size;
	before = fw_irq_count(VEC_COMPLETE);
	CHECK_EQ(run(&d), DSA_COMP_INT_HANDLE_INVAL);
	CHECK_EQ(fw_irq_count(VEC_COMPLETE), before);
}

/* ---- error statuses ---- */

TEST(descriptor_errors)
{
	NEED_DEVICE();
	struct dsa_hw_desc d = make(0x7f, RECORD, 0, 0, 0, &records[0]);

	CHECK_EQ(run(&d), DSA_COMP_BAD_OPCODE);
	d = make(DSA_OP_DIF_CHECK, RECORD, addr(src), addr(dst), 512, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_BAD_OPCODE);               /* not in OPCAP */
	d = make(DSA_OP_MEMMOVE, RECORD | 0x40, addr(src), addr(dst), 64, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_INVALID_FLAGS);
	CHECK_EQ(records[0].invalid_flags, 0x40);
	d = make(DSA_OP_MEMMOVE, RECORD | DSA_FLAG_BOF, addr(src), addr(dst), 64, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_INVALID_FLAGS);           /* WQ has no bof_en */
	d = make(DSA_OP_MEMMOVE, RECORD, addr(src), addr(dst), 0, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_XFER_ERANGE);
	d = make(DSA_OP_MEMMOVE, RECORD, addr(src), addr(dst), 0x80000001u, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_XFER_ERANGE);
	d = make(DSA_OP_DUALCAST, RECORD, addr(src), addr(dst), 64, &records[0]);
	d.dest2 = addr(dst2) + 8;
	CHECK_EQ(run(&d), DSA_COMP_DCAST_ERR);
	d = make(DSA_OP_COPY_CRC, RECORD, addr(src), addr(src) + 32, 64, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_OVERLAP_BUFFERS);
}

TEST(page_faults_report_partial_progress)
{
	NEED_DEVICE();
	/* Write fault: the destination runs off the end of RAM. */
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD, addr(src), ram_size - 100, 4096,
				    &records[0]);

	pattern(src, 4096, 9);
	CHECK_EQ(run(&d), DSA_COMP_PAGE_FAULT_NOBOF | DSA_COMP_STATUS_WRITE);
	CHECK_EQ(records[0].bytes_completed, 100);
	CHECK_EQ(records[0].fault_addr, ram_size);
	CHECK(memcmp((void *)(uintptr_t)(ram_size - 100), src, 100) == 0, "partial data wrong");
	/* Read fault far outside RAM: nothing done. */
	d = make(DSA_OP_MEMMOVE, RECORD, 1ull << 40, addr(dst), 4096, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_PAGE_FAULT_NOBOF);
	CHECK_EQ(records[0].bytes_completed, 0);
	CHECK_EQ(records[0].fault_addr, 1ull << 40);
	d = make(DSA_OP_CRCGEN, RECORD, ram_size - 10, 0, 100, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_PAGE_FAULT_NOBOF);
	CHECK_EQ(records[0].bytes_completed, 10);
}

TEST(errors_without_a_record_go_to_swerr)
{
	NEED_DEVICE();
	struct dsa_hw_desc d = make(DSA_OP_NOOP, RECORD, 0, 0, 0, &records[0]);

	clear_swerr();
	d.completion_addr += 8; /* misaligned */
	fw_dsa_submit(&dsa, &d);
	CHECK_EQ(wait_swerr_code(), DSA_COMP_CRA_ALIGN);
	CHECK(fw_dsa_read32(&dsa, DSA_REG_INTCAUSE) & DSA_INTCAUSE_ERR, "INTCAUSE.ERR not set");
	clear_swerr();
	CHECK_EQ(swerr(), 0);
	d.completion_addr = ram_size + 64; /* outside RAM */
	fw_dsa_submit(&dsa, &d);
	CHECK_EQ(wait_swerr_code(), DSA_COMP_CRA_XLAT);
	clear_swerr();
	d = make(DSA_OP_NOOP, DSA_FLAG_RCR, 0, 0, 0, &records[0]); /* RCR without CRAV */
	fw_dsa_submit(&dsa, &d);
	CHECK_EQ(wait_swerr_code(), DSA_COMP_INVALID_FLAGS);
	clear_swerr();
}

/* ---- work-queue and device commands ---- */

TEST(wq_disable_enable_reset)
{
	NEED_DEVICE();
	struct dsa_hw_desc d = make(DSA_OP_NOOP, RECORD, 0, 0, 0, &records[0]);

	CHECK_EQ(cmd(DSA_CMD_ENABLE_WQ, 0), DSA_CMDERR_WQ_ENABLED);
	CHECK_EQ(cmd(DSA_CMD_ENABLE_WQ, 3), DSA_CMDERR_INVAL_WQIDX);
	CHECK_EQ(cmd(DSA_CMD_ENABLE_DEVICE, 0), DSA_CMDERR_DEV_ENABLED);
	CHECK_EQ(cmd(0x1f, 0), DSA_CMDERR_INVAL_CMD);
	/* WQCFG is read-only while the WQ is enabled. */
	fw_dsa_write32(&dsa, dsa.wqcfg_offset, 7);
	CHECK_EQ(fw_dsa_wqcfg(&dsa, 0, 0), 128);
	CHECK_EQ(cmd(DSA_CMD_DISABLE_WQ, DSA_WQ_MASK_OPERAND(0)), 0);
	CHECK_EQ(fw_dsa_wq_state(&dsa, 0), DSA_WQ_STATE_DISABLED);
	/* A descriptor for a disabled WQ is dropped and logged. */
	records[0].status = 0;
	fw_dsa_submit(&dsa, &d);
	CHECK_EQ(wait_swerr_code(), DSA_SWERR_WQ_DISABLED);
	CHECK_EQ(records[0].status, 0);
	clear_swerr();
	CHECK_EQ(cmd(DSA_CMD_ENABLE_WQ, 0), 0);
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	/* Reset WQ: back to defaults, and a WQ of size 0 cannot be enabled. */
	CHECK_EQ(cmd(DSA_CMD_DISABLE_WQ, DSA_WQ_MASK_OPERAND(0)), 0);
	CHECK_EQ(cmd(DSA_CMD_RESET_WQ, DSA_WQ_MASK_OPERAND(0)), 0);
	CHECK_EQ(fw_dsa_wqcfg(&dsa, 0, 0), 0);
	CHECK_EQ(cmd(DSA_CMD_ENABLE_WQ, 0), DSA_CMDERR_WQ_SIZE);
	fw_dsa_configure_wq(&dsa, 0, 256, true, ALL_OPS);
	CHECK_EQ(cmd(DSA_CMD_ENABLE_WQ, 0), DSA_CMDERR_WQ_SIZE);   /* > total_wq_size */
	fw_dsa_configure_wq(&dsa, 0, 128, true, ALL_OPS);
	CHECK_EQ(cmd(DSA_CMD_ENABLE_WQ, 0), 0);
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	/* Device disable: WQs go with it; enabling a WQ then fails. */
	CHECK_EQ(cmd(DSA_CMD_DISABLE_DEVICE, 0), 0);
	CHECK_EQ(fw_dsa_wq_state(&dsa, 0), DSA_WQ_STATE_DISABLED);
	CHECK_EQ(cmd(DSA_CMD_ENABLE_WQ, 0), DSA_CMDERR_DEV_NOTEN);
	CHECK_EQ(cmd(DSA_CMD_DISABLE_DEVICE, 0), DSA_CMDERR_DIS_DEV_EN);
	/* Bus mastering off: the device refuses to enable. */
	fw_pci_command(dsa.pci->bdf, 0, FW_PCI_COMMAND_MASTER);
	CHECK_EQ(cmd(DSA_CMD_ENABLE_DEVICE, 0), DSA_CMDERR_BUSMASTER_EN);
	fw_pci_command(dsa.pci->bdf, FW_PCI_COMMAND_MASTER, 0);
	/* Group config errors: WQ without engines. */
	fw_dsa_configure_group(&dsa, 0, 1, 0);
	CHECK_EQ(cmd(DSA_CMD_ENABLE_DEVICE, 0), DSA_CMDERR_GRP_CONFIG2);
	REQUIRE(fw_dsa_init(&dsa, ALL_OPS) == 0, "re-init failed");
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
}

TEST(portal_plain_access)
{
	NEED_DEVICE();
	/* Reads of a portal return all-ones in both modes; plain stores submit nothing. */
	CHECK_EQ(*(volatile uint64_t *)(dsa.portals + 0x1000), ~0ull);
	if (!polled) {
		*(volatile uint64_t *)dsa.portals = 0;
		CHECK_EQ(swerr(), 0);
	}
}

/* Polled mode: the portal's memslot follows BAR2 when the guest moves it. */
TEST(moving_bar2)
{
	NEED_DEVICE();
	uint64_t old = dsa.pci->bar[DSA_WQ_BAR].pci_addr, moved = old + (16u << 20);
	struct dsa_hw_desc d;

	fw_pci_set_bar(dsa.pci, DSA_WQ_BAR, moved);
	dsa.portals = fw_pci_bar_ptr(dsa.pci, DSA_WQ_BAR);
	REQUIRE(dsa.portals, "BAR2 did not move");
	for (unsigned int i = 0; i < 100; i++) {
		d = make(DSA_OP_MEMMOVE, RECORD, addr(src) + 8 * i, addr(dst) + 8 * i, 8, &records[0]);
		CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	}
	fw_pci_set_bar(dsa.pci, DSA_WQ_BAR, old);
	dsa.portals = fw_pci_bar_ptr(dsa.pci, DSA_WQ_BAR);
	d = make(DSA_OP_NOOP, RECORD, 0, 0, 0, &records[0]);
	CHECK_EQ(run(&d), DSA_COMP_SUCCESS);
	CHECK_EQ(swerr(), 0);
}

/* ---- stress ---- */

static uint32_t stress_tag(uint32_t n, unsigned int word)
{
	return n * 0x9e3779b9u + word;
}

struct stress {
	unsigned int page;                     /* portal page (one per submitting CPU) */
	struct dsa_completion_record *records; /* window of them */
	uint32_t *src, *dst;                   /* 16 words per slot */
	uint32_t first, n, window;
	bool ok;
};

/* n 64-byte memmoves, each verified, at most s->window outstanding. */
static void stress_run(void *arg)
{
	struct stress *st = arg;
	bool ok = true;

	for (uint32_t i = 0; i < st->n + st->window && ok; i++) {
		unsigned int slot = i % st->window;

		if (i >= st->window) {
			uint32_t prev = st->first + i - st->window;

			ok &= fw_dsa_wait(&st->records[slot], timeout) == DSA_COMP_SUCCESS;
			for (unsigned int w = 0; w < 16; w++)
				ok &= st->dst[slot * 16 + w] == stress_tag(prev, w);
		}
		if (i >= st->n)
			continue;
		for (unsigned int w = 0; w < 16; w++)
			st->src[slot * 16 + w] = stress_tag(st->first + i, w);
		st->records[slot].status = 0;
		struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD, addr(&st->src[slot * 16]),
					    addr(&st->dst[slot * 16]), 64, &st->records[slot]);

		fw_dsa_submit_page(&dsa, 0, st->page, &d);
	}
	st->ok = ok;
}

static bool stress_single(uint32_t n)
{
	struct stress st = { .page = 0, .records = records, .src = (uint32_t *)(void *)src,
			     .dst = (uint32_t *)(void *)dst, .first = 0, .n = n, .window = WINDOW };

	stress_run(&st);
	return st.ok;
}

/* batches of `per` 64-byte memmoves, each member verified. */
static bool stress_batches(uint32_t batches, uint32_t per)
{
	uint32_t *s = (uint32_t *)(void *)src, *t = (uint32_t *)(void *)dst;
	bool ok = true;

	for (uint32_t b = 0; b < batches && ok; b++) {
		for (uint32_t i = 0; i < per; i++) {
			for (unsigned int w = 0; w < 16; w++)
				s[i * 16 + w] = stress_tag(b * per + i, w);
			list[0][i] = make(DSA_OP_MEMMOVE, DSA_FLAG_CRAV, addr(&s[i * 16]),
					  addr(&t[i * 16]), 64, &records[1 + i % 512]);
		}
		struct dsa_hw_desc d = make(DSA_OP_BATCH, RECORD, addr(list[0]), 0, per, &records[0]);

		/*
		 * A 1024-member batch runs on a host thread that a loaded 2-core
		 * host may starve for a while: allow 10 s (a bound on scheduling,
		 * not on correctness) and say which way it failed.
		 */
		memset(&records[0], 0, sizeof(records[0]));
		fw_dsa_submit(&dsa, &d);
		uint8_t status = fw_dsa_wait(&records[0], 10 * timeout);

		if (status != DSA_COMP_SUCCESS || records[0].bytes_completed != per)
			diag("batch %u: status %#x, %u of %u members completed", b, status,
			     records[0].bytes_completed, per);
		ok &= status == DSA_COMP_SUCCESS && records[0].bytes_completed == per;
		for (uint32_t i = 0; i < per * 16; i++)
			ok &= t[i] == stress_tag(b * per + i / 16, i % 16);
	}
	return ok;
}

TEST(stress_single_descriptors)
{
	NEED_DEVICE();
	uint32_t n = polled ? 262144 : 20000;
	uint64_t start = rdtsc();

	CHECK(stress_single(n), "a descriptor failed or copied wrong data");
	diag("%u single descriptors verified in %llu ms", n,
	     (unsigned long long)fw_tsc_to_us(rdtsc() - start) / 1000);
	CHECK_EQ(swerr(), 0);
}

TEST(stress_batches)
{
	NEED_DEVICE();
	uint64_t start = rdtsc();

	CHECK(stress_batches(256, 1024), "a batch member failed or copied wrong data");
	diag("262144 batched descriptors verified in %llu ms",
	     (unsigned long long)fw_tsc_to_us(rdtsc() - start) / 1000);
}

/* Two CPUs submit to the same WQ at once (trapped: both at offset 0). */
TEST(two_cpus_submit_concurrently)
{
	NEED_DEVICE();
	REQUIRE(fw_smp_cpu_count() >= 2 && fw_smp_ready(1), "needs a second CPU");
	uint32_t n = polled ? 100000 : 5000;
	struct stress mine = { .page = 0, .records = records, .src = (uint32_t *)(void *)src,
			       .dst = (uint32_t *)(void *)dst, .first = 0, .n = n, .window = 32 };
	struct stress theirs = { .page = polled ? 1 : 0, .records = records + 512,
				 .src = (uint32_t *)(void *)(src + (1u << 20)),
				 .dst = (uint32_t *)(void *)(dst + (1u << 20)), .first = n, .n = n,
				 .window = 32 };

	REQUIRE(fw_smp_call_async(1, stress_run, &theirs) == 0, "CPU 1 busy");
	stress_run(&mine);
	REQUIRE(fw_smp_wait(1, 60 * timeout), "CPU 1 did not finish");
	CHECK(mine.ok, "CPU 0's descriptors failed or copied wrong data");
	CHECK(theirs.ok, "CPU 1's descriptors failed or copied wrong data");
	CHECK_EQ(swerr(), 0);
	diag("2 x %u concurrent descriptors verified", n);
}

/* ---- performance ---- */

static uint64_t per_second(uint64_t count, uint64_t ticks)
{
	return ticks ? count * fw_tsc_hz() / ticks : 0;
}

/*
 * Descriptors per second with WINDOW outstanding, submitted in groups of
 * `group` (one store fence per group: fw_dsa_submit_many()).
 */
static uint64_t throughput(uint8_t opcode, uint32_t n, unsigned int group, uint32_t size)
{
	static struct dsa_hw_desc descs[WINDOW] __attribute__((aligned(64)));
	uint64_t start = rdtsc();

	for (uint32_t i = 0; i < n + WINDOW; i += group) {
		for (unsigned int k = 0; k < group; k++) {
			unsigned int slot = (i + k) % WINDOW;

			if (i + k >= WINDOW && fw_dsa_wait(&records[slot], timeout) != DSA_COMP_SUCCESS)
				return 0;
			records[slot].status = 0;
			descs[k] = make(opcode, RECORD, addr(src) + size * slot, addr(dst) + size * slot,
					size, &records[slot]);
		}
		if (i < n)
			fw_dsa_submit_many(&dsa, descs, group);
	}
	return per_second(n, rdtsc() - start);
}

/* Median submit-to-record time of a noop; idle_us > 0 lets the device go idle first. */
static uint64_t p50_latency_ns(unsigned int samples, unsigned int idle_us)
{
	static uint64_t ticks[2000];
	struct dsa_hw_desc d = make(DSA_OP_NOOP, RECORD, 0, 0, 0, &records[0]);

	samples = samples > 2000 ? 2000 : samples;
	for (unsigned int i = 0; i < samples; i++) {
		records[0].status = 0;
		if (idle_us)
			fw_udelay(idle_us);
		uint64_t start = rdtsc();

		fw_dsa_submit(&dsa, &d);
		fw_dsa_wait(&records[0], timeout);
		ticks[i] = rdtsc() - start;
	}
	return fw_tsc_to_ns(fw_stats_u64(ticks, samples).median);
}

/*
 * MiB/s of n back-to-back memmoves of `size` bytes, each waited for by
 * spinning on the record, or (halt) by halting until its completion
 * interrupt, which leaves the CPU to the device's thread.
 */
static uint64_t dsa_bandwidth(uint32_t size, unsigned int n, bool halt)
{
	uint64_t start = rdtsc();

	for (unsigned int i = 0; i < n; i++) {
		struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD | (halt ? DSA_FLAG_RCI : 0),
					    addr(src), addr(dst), size, &records[0]);
		uint32_t irqs = fw_irq_count(VEC_COMPLETE);

		d.int_handle = 1;
		records[0].status = 0;
		fw_dsa_submit(&dsa, &d);
		if (halt && !fw_irq_wait_count(VEC_COMPLETE, irqs + 1, 0))
			return 0;
		if (fw_dsa_wait(&records[0], timeout) != DSA_COMP_SUCCESS)
			return 0;
	}
	return per_second((uint64_t)size * n, rdtsc() - start) >> 20;
}

static uint64_t memcpy_bandwidth(uint32_t size, unsigned int n)
{
	uint64_t start = rdtsc();

	for (unsigned int i = 0; i < n; i++) {
		void *d = dst, *s = src;
		uint64_t c = size;

		__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
	}
	return per_second((uint64_t)size * n, rdtsc() - start) >> 20;
}

TEST(performance)
{
	NEED_DEVICE();
	uint32_t n = polled ? 200000 : 5000;
	const char *mode = polled ? "polled" : "trapped";

	pattern(src, 1u << 20, 1);
	memset(dst, 0, 1u << 20); /* touch once, outside the timing */
	uint64_t noop1 = throughput(DSA_OP_NOOP, n, 1, 64);
	uint64_t noop = throughput(DSA_OP_NOOP, n, 16, 64);
	uint64_t move64 = throughput(DSA_OP_MEMMOVE, n, 16, 64);
	uint64_t move4k = (throughput(DSA_OP_MEMMOVE, n / 4, 16, 4096) * 4096) >> 20;
	uint64_t p50 = p50_latency_ns(polled ? 2000 : 500, 0);
	uint64_t p50_idle = p50_latency_ns(20, 5000); /* after 5 ms idle: the poller has parked */
	uint64_t dsa4k = dsa_bandwidth(4096, polled ? 20000 : 2000, false);
	uint64_t cpu4k = memcpy_bandwidth(4096, 20000);
	uint64_t dsa1m = dsa_bandwidth(1u << 20, 200, false);
	uint64_t dsa1m_halt = dsa_bandwidth(1u << 20, 200, true);
	uint64_t cpu1m = memcpy_bandwidth(1u << 20, 200);

	CHECK(noop1 && noop && move64 && move4k && dsa4k && dsa1m && dsa1m_halt,
	      "a measured descriptor failed");
	diag("perf dsa mode=%s noop_per_s=%llu memmove64_per_s=%llu (16 per fence) "
	     "noop_per_s_fence_each=%llu", mode, (unsigned long long)noop,
	     (unsigned long long)move64, (unsigned long long)noop1);
	diag("perf dsa mode=%s p50_submit_to_record_ns=%llu p50_after_idle_ns=%llu", mode,
	     (unsigned long long)p50, (unsigned long long)p50_idle);
	diag("perf dsa mode=%s memmove_4k_mib_s=%llu memmove_4k_pipelined_mib_s=%llu "
	     "guest_memcpy_4k_mib_s=%llu", mode, (unsigned long long)dsa4k,
	     (unsigned long long)move4k, (unsigned long long)cpu4k);
	diag("perf dsa mode=%s memmove_1m_mib_s=%llu memmove_1m_halt_mib_s=%llu "
	     "guest_memcpy_1m_mib_s=%llu", mode, (unsigned long long)dsa1m,
	     (unsigned long long)dsa1m_halt, (unsigned long long)cpu1m);
}
