/* SPDX-License-Identifier: MIT */
/*
 * DSA descriptor engine and device core over a fake guest RAM with
 * PROT_NONE guard pages on both sides: any access outside RAM crashes the
 * test instead of passing silently.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/dsa/core.h"
#include "devices/dsa/engine.h"
#include "suites.h"

#define RAM_SIZE  (1u << 20)
#define GUARD     (64u << 10)
#define CR        0x1000u   /* completion record */
#define SRC       0x10000u
#define DST       0x40000u
#define LIST      0x80000u

struct fake_ram {
	uint8_t *map;
	struct guest_memory mem;
};

static struct fake_ram ram;

struct events {
	unsigned interrupts;
	uint16_t last_handle;
	unsigned swerrs;
	struct dsa_swerr_info last_swerr;
};

static struct events events;

static void on_interrupt(void *opaque, uint16_t handle)
{
	events.interrupts++;
	events.last_handle = handle;
}

static void on_swerr(void *opaque, unsigned wq, const struct dsa_swerr_info *info)
{
	events.swerrs++;
	events.last_swerr = *info;
}

static const struct dsa_engine_ops test_ops = { .interrupt = on_interrupt, .software_error = on_swerr };

static struct dsa_engine engine;
static struct dsa_wq_limits limits;

static void setup(void)
{
	ram.map = mmap(NULL, RAM_SIZE + 2 * GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(ram.map, MAP_FAILED);
	ck_assert_int_eq(mprotect(ram.map + GUARD, RAM_SIZE, PROT_READ | PROT_WRITE), 0);
	ram.mem = (struct guest_memory){ .base = ram.map + GUARD, .size = RAM_SIZE };
	engine = (struct dsa_engine){ .mem = &ram.mem, .ops = &test_ops, .int_handles = 4 };
	limits = (struct dsa_wq_limits){ .max_xfer = 1u << 20, .max_batch = 32,
					 .ops = { DSA_OPS_IMPLEMENTED } };
	memset(&events, 0, sizeof(events));
}

static void teardown(void)
{
	munmap(ram.map, RAM_SIZE + 2 * GUARD);
}

static void *gpa(uint64_t addr)
{
	return ram.mem.base + addr;
}

static struct dsa_completion_record *record(uint64_t addr)
{
	return gpa(addr);
}

static struct dsa_hw_desc make(uint8_t opcode, uint32_t flags, uint64_t src, uint64_t dst,
			       uint32_t size)
{
	struct dsa_hw_desc d = { .flags_opcode = dsa_flags_opcode(opcode, flags),
				 .completion_addr = CR, .src = src, .dst = dst, .xfer_size = size };

	return d;
}

#define RECORD (DSA_FLAG_CRAV | DSA_FLAG_RCR)

static uint8_t run(const struct dsa_hw_desc *d)
{
	return dsa_engine_run(&engine, 0, &limits, d);
}

static void fill_pattern(uint64_t addr, size_t len, uint8_t seed)
{
	uint8_t *p = gpa(addr);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* ---- CRC ---- */

/* Reference written from accel-config's description (non-reflected domain, bitwise). */
static uint32_t ref_reflect(uint32_t v, int bits)
{
	uint32_t r = 0;

	for (int i = 0; i < bits; i++, v >>= 1)
		r = (r << 1) | (v & 1);
	return r;
}

static uint32_t ref_crc(uint32_t seed, const uint8_t *p, size_t len, uint32_t flags)
{
	bool bypass_inv = flags & DSA_FLAG_CRC_BYPASS_INV_REF;
	bool bypass_data = flags & DSA_FLAG_CRC_BYPASS_DATA_REF;
	uint32_t crc = bypass_inv ? seed : ~ref_reflect(seed, 32);

	for (size_t i = 0; i < len; i++) {
		uint8_t in = bypass_data ? p[i] : (uint8_t)ref_reflect(p[i], 8);

		crc ^= (uint32_t)in << 24;
		for (int b = 0; b < 8; b++)
			crc = (crc << 1) ^ (crc & 0x80000000u ? 0x1edc6f41u : 0);
	}
	return bypass_inv ? crc : ~ref_reflect(crc, 32);
}

START_TEST(crc32c_matches_standard_and_reference)
{
	const uint8_t check[] = "123456789";
	uint8_t data[1000];

	ck_assert_uint_eq(dsa_crc32c(0, check, 9, 0), 0xe3069283u);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 5);
	/* A previous result as seed continues the CRC. */
	ck_assert_uint_eq(dsa_crc32c(dsa_crc32c(0, data, 333, 0), data + 333, 667, 0),
			  dsa_crc32c(0, data, 1000, 0));
	for (uint32_t f = 0; f < 4; f++) {
		uint32_t flags = (f & 1 ? DSA_FLAG_CRC_BYPASS_INV_REF : 0) |
				 (f & 2 ? DSA_FLAG_CRC_BYPASS_DATA_REF : 0);

		ck_assert_uint_eq(dsa_crc32c(0x12345678, data, 1000, flags),
				  ref_crc(0x12345678, data, 1000, flags));
	}
}
END_TEST

/* ---- operations ---- */

START_TEST(noop_writes_success_record_last)
{
	struct dsa_hw_desc d = make(DSA_OP_NOOP, RECORD, 0, 0, 0);

	memset(record(CR), 0xee, 32);
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(CR)->status, DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(CR)->bytes_completed, 0);
	ck_assert_uint_eq(record(CR)->fault_addr, 0);
	ck_assert_uint_eq(engine.executed, 1);
}
END_TEST

START_TEST(no_record_without_rcr_on_success)
{
	struct dsa_hw_desc d = make(DSA_OP_NOOP, DSA_FLAG_CRAV, 0, 0, 0);

	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(CR)->status, 0);
}
END_TEST

START_TEST(memmove_copies_and_handles_overlap)
{
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD, SRC, DST, 4097);
	uint8_t expect[4200];

	fill_pattern(SRC, 4097, 3);
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_mem_eq(gpa(DST), gpa(SRC), 4097);
	/* Overlapping, destination above source. */
	fill_pattern(SRC, 4200, 9);
	memcpy(expect, gpa(SRC), 4200);
	d = make(DSA_OP_MEMMOVE, RECORD, SRC, SRC + 100, 4100);
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_mem_eq(gpa(SRC + 100), expect, 4100);
}
END_TEST

START_TEST(memmove_write_fault_reports_partial_progress)
{
	uint64_t dst = RAM_SIZE - 3000;
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD, SRC, dst, 8192);

	fill_pattern(SRC, 8192, 1);
	ck_assert_uint_eq(run(&d), DSA_COMP_PAGE_FAULT_NOBOF | DSA_COMP_STATUS_WRITE);
	ck_assert_uint_eq(record(CR)->status, DSA_COMP_PAGE_FAULT_NOBOF | DSA_COMP_STATUS_WRITE);
	ck_assert_uint_eq(record(CR)->bytes_completed, 3000);
	ck_assert_uint_eq(record(CR)->fault_addr, RAM_SIZE);
	ck_assert_mem_eq(gpa(dst), gpa(SRC), 3000);
}
END_TEST

START_TEST(memmove_read_fault_and_wrapping_address)
{
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD, RAM_SIZE - 10, DST, 100);

	ck_assert_uint_eq(run(&d), DSA_COMP_PAGE_FAULT_NOBOF);
	ck_assert_uint_eq(record(CR)->bytes_completed, 10);
	ck_assert_uint_eq(record(CR)->fault_addr, RAM_SIZE);
	d = make(DSA_OP_MEMMOVE, RECORD, ~0ull - 5, DST, 100);
	ck_assert_uint_eq(run(&d), DSA_COMP_PAGE_FAULT_NOBOF);
	ck_assert_uint_eq(record(CR)->bytes_completed, 0);
	ck_assert_uint_eq(record(CR)->fault_addr, ~0ull - 5);
	/* With block-on-fault allowed and set, the fault cannot be resolved. */
	limits.bof_enabled = true;
	d = make(DSA_OP_MEMMOVE, RECORD | DSA_FLAG_BOF, 1ull << 40, DST, 100);
	ck_assert_uint_eq(run(&d), DSA_COMP_PAGE_FAULT_IR);
}
END_TEST

START_TEST(fill_repeats_pattern)
{
	struct dsa_hw_desc d = make(DSA_OP_MEMFILL, RECORD, 0x0807060504030201ull, DST + 3, 1001);
	const uint8_t *p = gpa(DST + 3);

	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	for (unsigned i = 0; i < 1001; i++)
		ck_assert_uint_eq(p[i], i % 8 + 1);
	ck_assert_uint_eq(p[1001], 0);
	d = make(DSA_OP_MEMFILL, RECORD, 0xab, RAM_SIZE - 5, 16);
	ck_assert_uint_eq(run(&d), DSA_COMP_PAGE_FAULT_NOBOF | DSA_COMP_STATUS_WRITE);
	ck_assert_uint_eq(record(CR)->bytes_completed, 5);
}
END_TEST

START_TEST(compare_reports_result_and_offset)
{
	struct dsa_hw_desc d = make(DSA_OP_COMPARE, RECORD, SRC, DST, 5000);

	fill_pattern(SRC, 5000, 4);
	memcpy(gpa(DST), gpa(SRC), 5000);
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(CR)->result, 0);
	((uint8_t *)gpa(DST))[4321] ^= 1;
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(CR)->result, 1);
	ck_assert_uint_eq(record(CR)->bytes_completed, 4321);
	/* Check result: expected "equal" but different -> success, false predicate. */
	d = make(DSA_OP_COMPARE, RECORD | DSA_FLAG_CR, SRC, DST, 5000);
	d.expected_res = 0;
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS_PRED);
	d.expected_res = 1;
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
}
END_TEST

START_TEST(compare_pattern)
{
	struct dsa_hw_desc d = make(DSA_OP_COMPVAL, RECORD, DST, 0x1122334455667788ull, 64);

	for (unsigned i = 0; i < 8; i++)
		memcpy((uint8_t *)gpa(DST) + 8 * i, &d.dst, 8);
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(CR)->result, 0);
	((uint8_t *)gpa(DST))[17] = 0;
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(CR)->result, 1);
	ck_assert_uint_eq(record(CR)->bytes_completed, 17);
}
END_TEST

START_TEST(dualcast_and_its_errors)
{
	struct dsa_hw_desc d = make(DSA_OP_DUALCAST, RECORD, SRC, DST, 3000);

	d.dest2 = DST + 0x10000;
	fill_pattern(SRC, 3000, 8);
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_mem_eq(gpa(DST), gpa(SRC), 3000);
	ck_assert_mem_eq(gpa(DST + 0x10000), gpa(SRC), 3000);
	d.dest2 = DST + 0x10008; /* bits 11:0 differ */
	ck_assert_uint_eq(run(&d), DSA_COMP_DCAST_ERR);
	d.dest2 = SRC + 0x1000;  /* overlaps the source */
	d.dst = SRC + 0x1000 - 0x1000 + 0x2000;
	d.dest2 = SRC;
	ck_assert_uint_eq(run(&d), DSA_COMP_OVERLAP_BUFFERS);
}
END_TEST

START_TEST(crc_generation_and_copy_crc)
{
	struct dsa_hw_desc d = make(DSA_OP_CRCGEN, RECORD, SRC, 0, 777);

	fill_pattern(SRC, 777, 2);
	d.crc.crc_seed = 0x1234;
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(CR)->crc_val, dsa_crc32c(0x1234, gpa(SRC), 777, 0));
	/* Seed read from memory. */
	*(uint32_t *)gpa(0x2000) = 0xcafe;
	d = make(DSA_OP_COPY_CRC, RECORD | DSA_FLAG_CRC_READ_SEED, SRC, DST, 777);
	d.crc.seed_addr = 0x2000;
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(CR)->crc_val, dsa_crc32c(0xcafe, gpa(SRC), 777, 0));
	ck_assert_mem_eq(gpa(DST), gpa(SRC), 777);
	d.crc.seed_addr = RAM_SIZE - 2;
	ck_assert_uint_eq(run(&d), DSA_COMP_PAGE_FAULT_NOBOF);
	ck_assert_uint_eq(record(CR)->fault_addr, RAM_SIZE);
	d = make(DSA_OP_COPY_CRC, RECORD, SRC, SRC + 10, 777);
	ck_assert_uint_eq(run(&d), DSA_COMP_OVERLAP_BUFFERS);
}
END_TEST

START_TEST(cache_flush)
{
	struct dsa_hw_desc d = make(DSA_OP_CFLUSH, RECORD, 0, DST, 4096);

	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	d.dst = RAM_SIZE;
	ck_assert_uint_eq(run(&d), DSA_COMP_PAGE_FAULT_NOBOF | DSA_COMP_STATUS_WRITE);
}
END_TEST

/* ---- batch ---- */

static struct dsa_hw_desc *list_entry(unsigned i)
{
	return gpa(LIST + 64ull * i);
}

START_TEST(batch_runs_members_in_order)
{
	for (unsigned i = 0; i < 3; i++) {
		*list_entry(i) = make(DSA_OP_MEMMOVE, DSA_FLAG_CRAV, SRC + 0x1000 * i,
				      DST + 0x1000 * i, 100);
		list_entry(i)->completion_addr = 0x3000 + 32 * i;
		fill_pattern(SRC + 0x1000 * i, 100, (uint8_t)i);
	}
	struct dsa_hw_desc d = make(DSA_OP_BATCH, RECORD, LIST, 0, 3);

	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(CR)->bytes_completed, 3);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_mem_eq(gpa(DST + 0x1000 * i), gpa(SRC + 0x1000 * i), 100);
		ck_assert_uint_eq(record(0x3000 + 32 * i)->status, 0); /* CRAV only, success */
	}
	ck_assert_uint_eq(engine.executed, 4);
}
END_TEST

START_TEST(batch_member_errors_and_fence)
{
	*list_entry(0) = make(DSA_OP_BATCH, DSA_FLAG_CRAV, LIST, 0, 2); /* nested batch */
	list_entry(0)->completion_addr = 0x3000;
	*list_entry(1) = make(DSA_OP_NOOP, RECORD, 0, 0, 0);
	list_entry(1)->completion_addr = 0x3020;
	*list_entry(2) = make(DSA_OP_NOOP, RECORD | DSA_FLAG_FENCE, 0, 0, 0);
	list_entry(2)->completion_addr = 0x3040;
	struct dsa_hw_desc d = make(DSA_OP_BATCH, RECORD, LIST, 0, 3);

	ck_assert_uint_eq(run(&d), DSA_COMP_BATCH_FAIL);
	ck_assert_uint_eq(record(CR)->bytes_completed, 2);
	ck_assert_uint_eq(record(0x3000)->status, DSA_COMP_BAD_OPCODE); /* written: error */
	ck_assert_uint_eq(record(0x3020)->status, DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(0x3040)->status, 0);                   /* fenced off */
	/* Drain inside a batch is invalid too. */
	*list_entry(0) = make(DSA_OP_DRAIN, DSA_FLAG_CRAV, 0, 0, 0);
	ck_assert_uint_eq(run(&d), DSA_COMP_BATCH_FAIL);
}
END_TEST

START_TEST(batch_descriptor_errors)
{
	struct dsa_hw_desc d = make(DSA_OP_BATCH, RECORD, LIST, 0, 1);

	ck_assert_uint_eq(run(&d), DSA_COMP_DESC_CNT_ERANGE);
	d.xfer_size = 33;
	ck_assert_uint_eq(run(&d), DSA_COMP_DESC_CNT_ERANGE);
	d.xfer_size = 2;
	d.src = LIST + 32;
	ck_assert_uint_eq(run(&d), DSA_COMP_DESCLIST_ALIGN);
	/* List running out of RAM: members before the fault run. */
	d.src = RAM_SIZE - 64;
	d.xfer_size = 4;
	*(struct dsa_hw_desc *)gpa(RAM_SIZE - 64) = make(DSA_OP_NOOP, RECORD, 0, 0, 0);
	((struct dsa_hw_desc *)gpa(RAM_SIZE - 64))->completion_addr = 0x3000;
	ck_assert_uint_eq(run(&d), DSA_COMP_BATCH_PAGE_FAULT);
	ck_assert_uint_eq(record(CR)->bytes_completed, 1);
	ck_assert_uint_eq(record(CR)->fault_addr, RAM_SIZE);
	ck_assert_uint_eq(record(0x3000)->status, DSA_COMP_SUCCESS);
	d.src = 1ull << 62;
	ck_assert_uint_eq(run(&d), DSA_COMP_BATCH_PAGE_FAULT);
	ck_assert_uint_eq(record(CR)->bytes_completed, 0);
}
END_TEST

/* ---- hostile descriptors ---- */

START_TEST(bad_opcodes)
{
	struct dsa_hw_desc d = make(0x7f, RECORD, 0, 0, 0);

	ck_assert_uint_eq(run(&d), DSA_COMP_BAD_OPCODE);
	ck_assert_uint_eq(record(CR)->status, DSA_COMP_BAD_OPCODE);
	limits.ops[0] = 1ull << DSA_OP_MEMMOVE; /* WQ op_config narrows */
	d = make(DSA_OP_NOOP, RECORD, 0, 0, 0);
	ck_assert_uint_eq(run(&d), DSA_COMP_BAD_OPCODE);
	d = make(DSA_OP_DIF_CHECK, RECORD, SRC, DST, 512);
	limits.ops[0] = ~0ull;
	ck_assert_uint_eq(run(&d), DSA_COMP_BAD_OPCODE); /* not implemented */
}
END_TEST

START_TEST(invalid_flags_reported)
{
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD | 0x40 | (1u << 20), SRC, DST, 8);

	ck_assert_uint_eq(run(&d), DSA_COMP_INVALID_FLAGS);
	ck_assert_uint_eq(record(CR)->invalid_flags, 0x40 | (1u << 20));
	d = make(DSA_OP_MEMMOVE, RECORD | DSA_FLAG_BOF, SRC, DST, 8);
	ck_assert_uint_eq(run(&d), DSA_COMP_INVALID_FLAGS);
	ck_assert_uint_eq(record(CR)->invalid_flags, DSA_FLAG_BOF);
	d = make(DSA_OP_MEMMOVE, RECORD | DSA_FLAG_CRC_READ_SEED, SRC, DST, 8);
	ck_assert_uint_eq(run(&d), DSA_COMP_INVALID_FLAGS);
}
END_TEST

START_TEST(transfer_size_limits)
{
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD, SRC, DST, 0);

	ck_assert_uint_eq(run(&d), DSA_COMP_XFER_ERANGE);
	d.xfer_size = (1u << 20) + 1;
	ck_assert_uint_eq(run(&d), DSA_COMP_XFER_ERANGE);
	d = make(DSA_OP_MEMFILL, RECORD, 0, DST, 0);
	ck_assert_uint_eq(run(&d), DSA_COMP_XFER_ERANGE);
}
END_TEST

START_TEST(interrupts_and_handles)
{
	struct dsa_hw_desc d = make(DSA_OP_NOOP, RECORD | DSA_FLAG_RCI, 0, 0, 0);

	d.int_handle = 3;
	ck_assert_uint_eq(run(&d), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(events.interrupts, 1);
	ck_assert_uint_eq(events.last_handle, 3);
	d.int_handle = 4;
	ck_assert_uint_eq(run(&d), DSA_COMP_INT_HANDLE_INVAL);
	ck_assert_uint_eq(events.interrupts, 1);
}
END_TEST

START_TEST(completion_address_errors_go_to_swerr)
{
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD, SRC, DST, 64);

	d.completion_addr = CR + 8;
	fill_pattern(SRC, 64, 1);
	ck_assert_uint_eq(run(&d), DSA_COMP_CRA_ALIGN);
	ck_assert_uint_eq(events.swerrs, 1);
	ck_assert_uint_eq(events.last_swerr.code, DSA_COMP_CRA_ALIGN);
	ck_assert_uint_eq(events.last_swerr.fault_addr, CR + 8);
	ck_assert_uint_eq(((uint8_t *)gpa(DST))[0], 0); /* not executed */
	d.completion_addr = RAM_SIZE;
	run(&d);
	ck_assert_uint_eq(events.swerrs, 2);
	ck_assert_uint_eq(events.last_swerr.code, DSA_COMP_CRA_XLAT);
	d = make(DSA_OP_NOOP, DSA_FLAG_RCR, 0, 0, 0); /* RCR without CRAV */
	run(&d);
	ck_assert_uint_eq(events.last_swerr.code, DSA_COMP_INVALID_FLAGS);
}
END_TEST

/* ---- device core ---- */

static struct dsa_core core;
static unsigned raised[DSA_MAX_VECTORS];
static bool bus_master_on = true;

static void core_raise(void *opaque, unsigned vector)
{
	raised[vector]++;
}

static bool core_bus_master(void *opaque)
{
	return bus_master_on;
}

static const struct dsa_core_ops core_ops = { .raise = core_raise, .bus_master = core_bus_master };

static void core_setup_with(const struct dsa_params *params)
{
	setup();
	memset(raised, 0, sizeof(raised));
	bus_master_on = true;
	ck_assert_int_eq(dsa_core_init(&core, params, &ram.mem, &core_ops, NULL, "dsa-test"), 0);
}

static void core_setup(void)
{
	struct dsa_params params;

	dsa_params_default(&params);
	params.wqs = 2;
	params.total_wq_size = 64;
	core_setup_with(&params);
}

static void core_teardown(void)
{
	dsa_core_destroy(&core);
	teardown();
}

static uint64_t rd64(uint64_t off)
{
	return dsa_core_read(&core, off, 8);
}

static uint32_t rd32(uint64_t off)
{
	return (uint32_t)dsa_core_read(&core, off, 4);
}

static void wr32(uint64_t off, uint32_t v)
{
	dsa_core_write(&core, off, 4, v);
}

static void wr64(uint64_t off, uint64_t v)
{
	dsa_core_write(&core, off, 8, v);
}

static uint32_t command(unsigned cmd, uint32_t operand)
{
	wr32(DSA_REG_CMD, DSA_CMD(cmd, operand));
	ck_assert_uint_eq(rd32(DSA_REG_CMDSTS) & DSA_CMDSTS_ACTIVE, 0);
	return rd32(DSA_REG_CMDSTS) & DSA_CMDSTS_ERR_MASK;
}

/* Configure a WQ the way the Linux VFIO selftest driver does. */
static void configure_wq(unsigned wq, uint32_t size, uint64_t ops, bool dedicated)
{
	uint64_t gencap = rd64(DSA_REG_GENCAP);
	uint32_t cfg[16] = { 0 };
	uint64_t base = DSA_WQCFG_OFFSET + (uint64_t)wq * DSA_WQCFG_STRIDE;

	cfg[0] = size;
	cfg[1] = size / 2;
	cfg[2] = (dedicated ? DSA_WQCFG_MODE_DEDICATED : DSA_WQCFG_PASID_EN) |
		 1u << DSA_WQCFG_PRIORITY_SHIFT;
	cfg[3] = (uint32_t)((gencap >> DSA_GENCAP_MAX_XFER_SHIFT) & 0x1f) |
		 (uint32_t)((gencap >> DSA_GENCAP_MAX_BATCH_SHIFT) & 0xf) << DSA_WQCFG_MAX_BATCH_SHIFT;
	cfg[8] = (uint32_t)ops;
	cfg[9] = (uint32_t)(ops >> 32);
	for (unsigned i = 0; i < 16; i++)
		wr32(base + 4 * i, cfg[i]);
}

static void configure_group(unsigned group, uint64_t wqs, uint64_t engines)
{
	wr64(DSA_GRPCFG_OFFSET + group * DSA_GRPCFG_SIZE + DSA_GRPCFG_WQS, wqs);
	wr64(DSA_GRPCFG_OFFSET + group * DSA_GRPCFG_SIZE + DSA_GRPCFG_ENGINES, engines);
}

static void enable_wq0(uint32_t size, bool dedicated)
{
	ck_assert_uint_eq(command(DSA_CMD_RESET_DEVICE, 0), 0);
	configure_wq(0, size, DSA_OPS_IMPLEMENTED, dedicated);
	configure_group(0, 1, 1);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_DEVICE, 0), 0);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_WQ, 0), 0);
}

static uint32_t wq_state(unsigned wq)
{
	return rd32(DSA_WQCFG_OFFSET + wq * DSA_WQCFG_STRIDE + 24) >> DSA_WQCFG_STATE_SHIFT;
}

START_TEST(capability_registers)
{
	uint64_t gencap = rd64(DSA_REG_GENCAP), wqcap = rd64(DSA_REG_WQCAP);
	uint64_t offsets = rd64(DSA_REG_TABLE_OFFSET);

	ck_assert_uint_eq(rd32(DSA_REG_VERSION), 0x100);
	ck_assert_uint_eq((gencap >> DSA_GENCAP_MAX_XFER_SHIFT) & 0x1f, 31);
	ck_assert_uint_eq((gencap >> DSA_GENCAP_MAX_BATCH_SHIFT) & 0xf, 10);
	ck_assert(gencap & DSA_GENCAP_CONFIG_EN);
	/* The VFIO selftest refuses cmd_cap with REQUEST_INT_HANDLE. */
	ck_assert(!((gencap & DSA_GENCAP_CMD_CAP) && (rd64(DSA_REG_CMDCAP) & (1u << 13))));
	ck_assert_uint_eq(wqcap & DSA_WQCAP_TOTAL_SIZE_MASK, 64);
	ck_assert_uint_eq((wqcap >> DSA_WQCAP_NUM_WQS_SHIFT) & 0xff, 2);
	ck_assert_uint_eq((wqcap >> DSA_WQCAP_WQCFG_SIZE_SHIFT) & 0xf, 1);
	ck_assert_uint_eq(rd64(DSA_REG_GRPCAP) & 0xff, 1);
	ck_assert_uint_eq(rd64(DSA_REG_ENGCAP) & 0xff, 1);
	ck_assert_uint_eq(rd64(DSA_REG_OPCAP), DSA_OPS_IMPLEMENTED);
	ck_assert_uint_eq((offsets & 0xffff) * 0x100, DSA_GRPCFG_OFFSET);
	ck_assert_uint_eq(((offsets >> 16) & 0xffff) * 0x100, DSA_WQCFG_OFFSET);
	/* Read-only registers ignore writes. */
	wr64(DSA_REG_GENCAP, 0);
	wr32(DSA_REG_VERSION, 0x300);
	wr32(DSA_REG_GENSTS, 1);
	ck_assert_uint_eq(rd64(DSA_REG_GENCAP), gencap);
	ck_assert_uint_eq(rd32(DSA_REG_VERSION), 0x100);
	ck_assert_uint_eq(rd32(DSA_REG_GENSTS), 0);
	/* Odd sizes and misaligned accesses. */
	ck_assert_uint_eq(dsa_core_read(&core, 2, 4), 0xffffffffull);
	ck_assert_uint_eq(dsa_core_read(&core, DSA_BAR0_SIZE - 4, 8), ~0ull);
}
END_TEST

START_TEST(selftest_sequence_and_memmove)
{
	enable_wq0(64, true);
	ck_assert_uint_eq(rd32(DSA_REG_GENSTS) & 3, DSA_STATE_ENABLED);
	ck_assert_uint_eq(wq_state(0), DSA_WQ_STATE_ENABLED);
	fill_pattern(SRC, 256, 5);
	struct dsa_hw_desc d = make(DSA_OP_MEMMOVE, RECORD | DSA_FLAG_RCI, SRC, DST, 256);

	d.int_handle = 1;
	/* Small and the WQ idle: it runs inline, on the submitting thread. */
	ck_assert(dsa_core_submit(&core, 0, 0, &d, false));
	ck_assert(!dsa_core_poll(&core, false));
	ck_assert_uint_eq(record(CR)->status, DSA_COMP_SUCCESS);
	ck_assert_mem_eq(gpa(DST), gpa(SRC), 256);
	ck_assert_uint_eq(raised[1], 1);
	ck_assert_uint_eq(atomic_load(&core.completed), 1);
}
END_TEST

START_TEST(command_errors)
{
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_WQ, 0), DSA_CMDERR_DEV_NOTEN);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_WQ, 5), DSA_CMDERR_INVAL_WQIDX);
	ck_assert_uint_eq(command(0x1f, 0), DSA_CMDERR_INVAL_CMD);
	ck_assert_uint_eq(command(DSA_CMD_REQUEST_INT_HANDLE, 0), DSA_CMDERR_INVAL_CMD);
	ck_assert_uint_eq(command(DSA_CMD_DISABLE_DEVICE, 0), DSA_CMDERR_DIS_DEV_EN);
	ck_assert_uint_eq(command(DSA_CMD_DRAIN_ALL, 0), DSA_CMDERR_DEV_NOT_EN);
	bus_master_on = false;
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_DEVICE, 0), DSA_CMDERR_BUSMASTER_EN);
	bus_master_on = true;
	/* Group errors. */
	configure_group(0, 1, 0);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_DEVICE, 0), DSA_CMDERR_GRP_CONFIG2);
	configure_group(0, 1 << 5, 1);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_DEVICE, 0), DSA_CMDERR_GRP_CONFIG3);
	configure_group(0, 1, 1 << 3);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_DEVICE, 0), DSA_CMDERR_GRP_CONFIG4);
	configure_wq(0, 40, DSA_OPS_IMPLEMENTED, true);
	configure_wq(1, 40, DSA_OPS_IMPLEMENTED, true);
	configure_group(0, 1, 1);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_DEVICE, 0), DSA_CMDERR_WQ_SIZE_ERANGE);
	configure_wq(1, 0, DSA_OPS_IMPLEMENTED, true);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_DEVICE, 0), 0);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_DEVICE, 0), DSA_CMDERR_DEV_ENABLED);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_WQ, 1), DSA_CMDERR_WQ_SIZE);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_WQ, 0), 0);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_WQ, 0), DSA_CMDERR_WQ_ENABLED);
	/* WQ 1 not in a group with engines; priority 0; shared without PASID. */
	configure_wq(1, 8, DSA_OPS_IMPLEMENTED, true);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_WQ, 1), DSA_CMDERR_CONFIG);
	wr32(DSA_WQCFG_OFFSET + DSA_WQCFG_STRIDE + 8, DSA_WQCFG_MODE_DEDICATED);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_WQ, 1), DSA_CMDERR_WQ_PRIOR);
	wr32(DSA_WQCFG_OFFSET + DSA_WQCFG_STRIDE + 8, 1u << DSA_WQCFG_PRIORITY_SHIFT);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_WQ, 1), DSA_CMDERR_PASID_EN);
	wr32(DSA_WQCFG_OFFSET + DSA_WQCFG_STRIDE + 12, 31 | 11 << DSA_WQCFG_MAX_BATCH_SHIFT);
	wr32(DSA_WQCFG_OFFSET + DSA_WQCFG_STRIDE + 8, DSA_WQCFG_MODE_DEDICATED | 1u << 4);
	ck_assert_uint_eq(command(DSA_CMD_ENABLE_WQ, 1), DSA_CMDERR_MAX_BATCH_SIZE);
	ck_assert_uint_eq(command(DSA_CMD_DISABLE_WQ, DSA_WQ_MASK_OPERAND(7)), DSA_CMDERR_INVAL_WQIDX);
}
END_TEST

START_TEST(config_read_only_while_enabled)
{
	enable_wq0(16, true);
	uint64_t wq0 = DSA_WQCFG_OFFSET;

	wr32(wq0, 3);
	ck_assert_uint_eq(rd32(wq0), 16);
	wr32(wq0 + 24, 0); /* state dword is read-only anyway */
	ck_assert_uint_eq(wq_state(0), DSA_WQ_STATE_ENABLED);
	configure_group(0, 3, 1);
	ck_assert_uint_eq(rd64(DSA_GRPCFG_OFFSET), 1);
	ck_assert_uint_eq(command(DSA_CMD_DISABLE_WQ, DSA_WQ_MASK_OPERAND(0)), 0);
	ck_assert_uint_eq(wq_state(0), DSA_WQ_STATE_DISABLED);
	wr32(wq0, 8);
	ck_assert_uint_eq(rd32(wq0), 8);
	ck_assert_uint_eq(command(DSA_CMD_RESET_WQ, DSA_WQ_MASK_OPERAND(0)), 0);
	ck_assert_uint_eq(rd32(wq0), 0);
	ck_assert_uint_eq(rd32(wq0 + 32), (uint32_t)DSA_OPS_IMPLEMENTED);
	ck_assert_uint_eq(command(DSA_CMD_DISABLE_DEVICE, 0), 0);
	configure_group(0, 3, 1);
	ck_assert_uint_eq(rd64(DSA_GRPCFG_OFFSET), 3);
}
END_TEST

START_TEST(swerr_on_disabled_wq_and_overflow)
{
	struct dsa_hw_desc d = make(DSA_OP_NOOP, RECORD, 0, 0, 0);

	wr32(DSA_REG_GENCTRL, DSA_GENCTRL_SOFTERR_INT_EN);
	ck_assert(!dsa_core_submit(&core, 0, 0, &d, false));
	uint64_t sw = rd64(DSA_REG_SWERR);

	ck_assert(sw & DSA_SWERR_VALID);
	ck_assert(sw & DSA_SWERR_WQ_VALID);
	ck_assert_uint_eq((sw >> DSA_SWERR_CODE_SHIFT) & 0xff, DSA_SWERR_WQ_DISABLED);
	ck_assert_uint_eq(rd32(DSA_REG_INTCAUSE) & DSA_INTCAUSE_ERR, DSA_INTCAUSE_ERR);
	ck_assert_uint_eq(raised[0], 1);
	ck_assert(!dsa_core_submit(&core, 1, 0, &d, false));
	ck_assert(rd64(DSA_REG_SWERR) & DSA_SWERR_OVERFLOW);
	wr64(DSA_REG_SWERR, DSA_SWERR_VALID | DSA_SWERR_OVERFLOW);
	ck_assert_uint_eq(rd64(DSA_REG_SWERR), 0);
	wr32(DSA_REG_INTCAUSE, DSA_INTCAUSE_ERR);
	ck_assert_uint_eq(rd32(DSA_REG_INTCAUSE), 0);
	/* Hostile ranges never reach outside. */
	ck_assert(!dsa_core_submit(&core, 9, 0, &d, false));
	ck_assert(!dsa_core_submit(&core, 0, 4, &d, false));
}
END_TEST

START_TEST(command_interrupt_request)
{
	wr32(DSA_REG_CMD, DSA_CMD(DSA_CMD_RESET_DEVICE, 0) | DSA_CMD_INT_REQ);
	ck_assert_uint_eq(rd32(DSA_REG_INTCAUSE) & DSA_INTCAUSE_CMD, DSA_INTCAUSE_CMD);
	ck_assert_uint_eq(raised[0], 1);
	ck_assert_uint_eq(rd32(DSA_REG_CMD), DSA_CMD(DSA_CMD_RESET_DEVICE, 0) | DSA_CMD_INT_REQ);
}
END_TEST

START_TEST(dedicated_wq_full_drops_with_swerr)
{
	struct dsa_hw_desc d = make(DSA_OP_NOOP, 0, 0, 0, 0);

	enable_wq0(4, true);
	atomic_flag_test_and_set(&core.wq[0].executing); /* as if the poller were busy */
	for (unsigned i = 0; i < 4; i++)
		ck_assert(dsa_core_submit(&core, 0, 0, &d, false));
	ck_assert(!dsa_core_submit(&core, 0, 0, &d, false));
	ck_assert_uint_eq((rd64(DSA_REG_SWERR) >> DSA_SWERR_CODE_SHIFT) & 0xff, DSA_SWERR_WQ_FULL);
	ck_assert_uint_eq(rd32(DSA_WQCFG_OFFSET + 24) & 0xffff, 4); /* occupancy */
	ck_assert(!dsa_core_submit(&core, 0, 0, &d, true)); /* ENQCMD to a dedicated WQ */
	ck_assert(dsa_core_poll(&core, false));              /* busy: nothing yet */
	ck_assert_uint_eq(atomic_load(&core.completed), 0);
	atomic_flag_clear(&core.wq[0].executing);
	ck_assert(dsa_core_poll(&core, false));
	ck_assert_uint_eq(atomic_load(&core.completed), 4);
	ck_assert_uint_eq(rd32(DSA_WQCFG_OFFSET + 24) & 0xffff, 0);
}
END_TEST

START_TEST(shared_wq_enqcmd_retry_at_threshold)
{
	struct dsa_hw_desc d = make(DSA_OP_NOOP, 0, 0, 0, 0);

	enable_wq0(8, false); /* threshold = 4 */
	atomic_flag_test_and_set(&core.wq[0].executing);
	for (unsigned i = 0; i < 4; i++)
		ck_assert(dsa_core_submit(&core, 0, 1, &d, true));
	ck_assert(!dsa_core_submit(&core, 0, 1, &d, true));   /* limited portal: retry */
	ck_assert_uint_eq(rd64(DSA_REG_SWERR), 0);            /* no error for a retry */
	for (unsigned i = 0; i < 4; i++)
		ck_assert(dsa_core_submit(&core, 0, 0, &d, true)); /* unlimited */
	ck_assert(!dsa_core_submit(&core, 0, 0, &d, true));
	ck_assert(!dsa_core_submit(&core, 0, 0, &d, false));  /* MOVDIR64B to a shared WQ */
	ck_assert_uint_eq((rd64(DSA_REG_SWERR) >> DSA_SWERR_CODE_SHIFT) & 0xff, DSA_SWERR_WQ_MODE);
	atomic_flag_clear(&core.wq[0].executing);
	while (dsa_core_poll(&core, false))
		;
	ck_assert_uint_eq(atomic_load(&core.completed), 8);
}
END_TEST

START_TEST(inline_only_when_the_wq_is_idle)
{
	struct dsa_hw_desc big = make(DSA_OP_MEMMOVE, RECORD, SRC, DST, DSA_INLINE_MAX + 1);
	struct dsa_hw_desc small = make(DSA_OP_NOOP, RECORD, 0, 0, 0);

	enable_wq0(16, true);
	small.completion_addr = 0x2000;
	ck_assert(dsa_core_submit(&core, 0, 0, &big, false));   /* too big: queued */
	ck_assert_uint_eq(record(CR)->status, 0);
	ck_assert(dsa_core_submit(&core, 0, 0, &small, false)); /* behind it: queued too */
	ck_assert_uint_eq(record(0x2000)->status, 0);
	ck_assert(dsa_core_poll(&core, false));
	ck_assert_uint_eq(record(CR)->status, DSA_COMP_SUCCESS);
	ck_assert_uint_eq(record(0x2000)->status, DSA_COMP_SUCCESS);
	record(0x2000)->status = 0;
	ck_assert(dsa_core_submit(&core, 0, 0, &small, false)); /* idle now: inline */
	ck_assert_uint_eq(record(0x2000)->status, DSA_COMP_SUCCESS);
	ck_assert_uint_eq(atomic_load(&core.completed), 3);
}
END_TEST

static void polled_setup(void)
{
	struct dsa_params params;

	dsa_params_default(&params);
	params.polled[0] = true;
	core_setup_with(&params);
}

static uint8_t portal[DSA_PORTAL_PAGES * DSA_PAGE_SIZE] __attribute__((aligned(4096)));

static void portal_write(unsigned page, unsigned slot, const struct dsa_hw_desc *d)
{
	memcpy(portal + page * DSA_PAGE_SIZE + slot * DSA_PORTAL_SLOT, d, 64);
}

START_TEST(polled_portal_rotation_and_any_slot)
{
	struct dsa_hw_desc d;

	enable_wq0(128, true);
	dsa_core_set_portal(&core, 0, portal);
	ck_assert_uint_eq(*(uint64_t *)portal, DSA_PORTAL_EMPTY);
	/* Three laps of the page, 64 outstanding at most, each a memmove of its index. */
	for (unsigned lap = 0; lap < 3; lap++) {
		for (unsigned slot = 0; slot < 64; slot++) {
			unsigned n = lap * 64 + slot;

			d = make(DSA_OP_MEMMOVE, RECORD, 0x5000 + 4 * n, 0x6000 + 4 * n, 4);
			d.completion_addr = 0x20000 + 32 * n;
			*(uint32_t *)gpa(0x5000 + 4 * n) = n;
			portal_write(1, slot, &d);
		}
		while (dsa_core_poll(&core, false))
			;
	}
	for (unsigned n = 0; n < 192; n++) {
		ck_assert_uint_eq(record(0x20000 + 32 * n)->status, DSA_COMP_SUCCESS);
		ck_assert_uint_eq(*(uint32_t *)gpa(0x6000 + 4 * n), n);
	}
	/* A slot out of rotation is found by a full scan. */
	d = make(DSA_OP_NOOP, RECORD, 0, 0, 0);
	portal_write(3, 17, &d);
	ck_assert(dsa_core_poll(&core, true));
	ck_assert_uint_eq(record(CR)->status, DSA_COMP_SUCCESS);
	ck_assert_uint_eq(*(uint64_t *)(portal + 3 * DSA_PAGE_SIZE + 17 * 64), DSA_PORTAL_EMPTY);
	/* After DISABLE_WQ (which drains first), portal writes are dropped with SWERR. */
	portal_write(0, 0, &d);
	ck_assert_uint_eq(command(DSA_CMD_DISABLE_WQ, DSA_WQ_MASK_OPERAND(0)), 0);
	portal_write(0, 1, &d);
	dsa_core_poll(&core, true);
	ck_assert_uint_eq((rd64(DSA_REG_SWERR) >> DSA_SWERR_CODE_SHIFT) & 0xff, DSA_SWERR_WQ_DISABLED);
	ck_assert_uint_eq(atomic_load(&core.dropped), 1);
	dsa_core_set_portal(&core, 0, NULL);
}
END_TEST

START_TEST(params_are_checked)
{
	struct dsa_params p;
	char error[128];

	dsa_params_default(&p);
	ck_assert_int_eq(dsa_params_check(&p, error, sizeof(error)), 0);
	p.wqs = 9;
	ck_assert_int_eq(dsa_params_check(&p, error, sizeof(error)), -EINVAL);
	dsa_params_default(&p);
	p.msix_vectors = 1;
	ck_assert_int_eq(dsa_params_check(&p, error, sizeof(error)), -EINVAL);
	dsa_params_default(&p);
	p.opcap[0] |= 1ull << DSA_OP_DIF_CHECK;
	ck_assert_int_eq(dsa_params_check(&p, error, sizeof(error)), -EINVAL);
}
END_TEST

Suite *dsa_suite(void)
{
	Suite *suite = suite_create("dsa");
	TCase *engine_case = tcase_create("engine");
	TCase *core_case = tcase_create("core");
	TCase *polled_case = tcase_create("polled");

	tcase_add_checked_fixture(engine_case, setup, teardown);
	tcase_add_test(engine_case, crc32c_matches_standard_and_reference);
	tcase_add_test(engine_case, noop_writes_success_record_last);
	tcase_add_test(engine_case, no_record_without_rcr_on_success);
	tcase_add_test(engine_case, memmove_copies_and_handles_overlap);
	tcase_add_test(engine_case, memmove_write_fault_reports_partial_progress);
	tcase_add_test(engine_case, memmove_read_fault_and_wrapping_address);
	tcase_add_test(engine_case, fill_repeats_pattern);
	tcase_add_test(engine_case, compare_reports_result_and_offset);
	tcase_add_test(engine_case, compare_pattern);
	tcase_add_test(engine_case, dualcast_and_its_errors);
	tcase_add_test(engine_case, crc_generation_and_copy_crc);
	tcase_add_test(engine_case, cache_flush);
	tcase_add_test(engine_case, batch_runs_members_in_order);
	tcase_add_test(engine_case, batch_member_errors_and_fence);
	tcase_add_test(engine_case, batch_descriptor_errors);
	tcase_add_test(engine_case, bad_opcodes);
	tcase_add_test(engine_case, invalid_flags_reported);
	tcase_add_test(engine_case, transfer_size_limits);
	tcase_add_test(engine_case, interrupts_and_handles);
	tcase_add_test(engine_case, completion_address_errors_go_to_swerr);
	tcase_add_test(engine_case, params_are_checked);
	suite_add_tcase(suite, engine_case);

	tcase_add_checked_fixture(core_case, core_setup, core_teardown);
	tcase_add_test(core_case, capability_registers);
	tcase_add_test(core_case, selftest_sequence_and_memmove);
	tcase_add_test(core_case, command_errors);
	tcase_add_test(core_case, config_read_only_while_enabled);
	tcase_add_test(core_case, swerr_on_disabled_wq_and_overflow);
	tcase_add_test(core_case, command_interrupt_request);
	tcase_add_test(core_case, dedicated_wq_full_drops_with_swerr);
	tcase_add_test(core_case, shared_wq_enqcmd_retry_at_threshold);
	tcase_add_test(core_case, inline_only_when_the_wq_is_idle);
	suite_add_tcase(suite, core_case);

	tcase_add_checked_fixture(polled_case, polled_setup, core_teardown);
	tcase_add_test(polled_case, polled_portal_rotation_and_any_slot);
	suite_add_tcase(suite, polled_case);
	return suite;
}
