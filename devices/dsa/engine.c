/* SPDX-License-Identifier: MIT */
#include "devices/dsa/engine.h"

#include <stddef.h>
#include <string.h>

/* What an operation reports, before it becomes a completion record. */
struct dsa_result {
	uint8_t status;
	uint8_t result;
	uint32_t bytes;        /* bytes (or descriptors) completed */
	uint64_t fault_addr;
	uint64_t op_specific;  /* crc_val or invalid_flags */
};

struct dsa_context {
	struct dsa_engine *engine;
	unsigned wq;
	const struct dsa_wq_limits *limits;
	const struct dsa_hw_desc *desc;
	bool in_batch;
	uint16_t batch_index;
};

/* ---- guest memory: every access is bounds-checked by guest_memory_ptr() ---- */

/* How many bytes from gpa (at most len) lie in guest RAM. */
static uint64_t ram_prefix(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	if (guest_memory_ptr(mem, gpa, len))
		return len;
	if (!guest_memory_ptr(mem, gpa, 1))
		return 0;
	if (!mem->translate)
		return mem->size - gpa; /* gpa < size here; RAM is [0, size) */
	/*
	 * Behind a translation (an IOMMU view, vmm/memory.h) size means nothing:
	 * find the longest mapped prefix by bisection (mapped prefixes nest).
	 */
	uint64_t good = 1, bad = len;

	while (bad - good > 1) {
		uint64_t mid = good + (bad - good) / 2;

		if (guest_memory_ptr(mem, gpa, mid))
			good = mid;
		else
			bad = mid;
	}
	return good;
}

static bool ranges_overlap(uint64_t a, uint64_t b, uint64_t len)
{
	return a < b + len && b < a + len;
}

/*
 * The usable length of an operation over a source (read) and optional
 * destinations (written): the shortest RAM prefix; on a fault, *result gets
 * the page-fault status, address and direction. Reads fault first when two
 * ranges fault at the same offset.
 */
static uint64_t usable_length(const struct dsa_context *ctx, const uint64_t *reads,
			      unsigned read_count, const uint64_t *writes, unsigned write_count,
			      uint64_t len, struct dsa_result *result)
{
	const struct guest_memory *mem = ctx->engine->mem;
	uint64_t usable = len, fault = 0;
	bool faulted = false, write = false;

	for (unsigned i = 0; i < read_count + write_count; i++) {
		bool is_write = i >= read_count;
		uint64_t gpa = is_write ? writes[i - read_count] : reads[i];
		uint64_t ok = ram_prefix(mem, gpa, len);

		if (ok < usable) {
			usable = ok;
			fault = gpa + ok;
			faulted = true;
			write = is_write;
		}
	}
	if (faulted) {
		bool bof = dsa_desc_flags(ctx->desc) & DSA_FLAG_BOF;

		result->status = (uint8_t)((bof ? DSA_COMP_PAGE_FAULT_IR : DSA_COMP_PAGE_FAULT_NOBOF) |
					   (write ? DSA_COMP_STATUS_WRITE : 0));
		result->fault_addr = fault;
		result->bytes = (uint32_t)usable;
	}
	return usable;
}

/* ---- CRC32C ---- */

static uint8_t reflect8(uint8_t v)
{
	v = (uint8_t)((v & 0xf0) >> 4 | (v & 0x0f) << 4);
	v = (uint8_t)((v & 0xcc) >> 2 | (v & 0x33) << 2);
	return (uint8_t)((v & 0xaa) >> 1 | (v & 0x55) << 1);
}

static uint32_t reflect32(uint32_t v)
{
	return (uint32_t)reflect8((uint8_t)v) << 24 | (uint32_t)reflect8((uint8_t)(v >> 8)) << 16 |
	       (uint32_t)reflect8((uint8_t)(v >> 16)) << 8 | reflect8((uint8_t)(v >> 24));
}

static uint32_t crc32c_byte(uint32_t crc, uint8_t byte)
{
	crc ^= byte;
	for (int bit = 0; bit < 8; bit++)
		crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	return crc;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *data, uint64_t len)
{
	uint64_t wide = crc;

	for (; len >= 8; len -= 8, data += 8) {
		uint64_t word;

		memcpy(&word, data, 8);
		wide = __builtin_ia32_crc32di(wide, word);
	}
	crc = (uint32_t)wide;
	for (; len; len--, data++)
		crc = __builtin_ia32_crc32qi(crc, *data);
	return crc;
}

/* Raw reflected CRC32C update (no inversion). */
static uint32_t crc32c_update(uint32_t crc, const uint8_t *data, uint64_t len, bool reflect_data)
{
	if (!reflect_data && __builtin_cpu_supports("sse4.2"))
		return crc32c_sse42(crc, data, len);
	for (uint64_t i = 0; i < len; i++)
		crc = crc32c_byte(crc, reflect_data ? reflect8(data[i]) : data[i]);
	return crc;
}

uint32_t dsa_crc32c(uint32_t seed, const uint8_t *data, uint64_t len, uint32_t flags)
{
	bool bypass_inv_ref = flags & DSA_FLAG_CRC_BYPASS_INV_REF;
	bool bypass_data_ref = flags & DSA_FLAG_CRC_BYPASS_DATA_REF;
	uint32_t crc = bypass_inv_ref ? reflect32(seed) : ~seed;

	crc = crc32c_update(crc, data, len, bypass_data_ref);
	return bypass_inv_ref ? reflect32(crc) : ~crc;
}

/* ---- validation ---- */

static bool opcode_allowed(const struct dsa_wq_limits *limits, uint8_t opcode)
{
	return (limits->ops[opcode / 64] >> (opcode % 64)) & 1;
}

static uint32_t flags_valid_for(uint8_t opcode)
{
	switch (opcode) {
	case DSA_OP_CRCGEN:
	case DSA_OP_COPY_CRC:
		return DSA_FLAGS_COMMON | DSA_FLAGS_CRC;
	default:
		return DSA_FLAGS_COMMON;
	}
}

/* Checks common to every descriptor; false with *result filled on an error. */
static bool check_descriptor(const struct dsa_context *ctx, struct dsa_result *result)
{
	const struct dsa_hw_desc *desc = ctx->desc;
	uint8_t opcode = dsa_desc_opcode(desc);
	uint32_t flags = dsa_desc_flags(desc);
	uint32_t invalid = flags & ~flags_valid_for(opcode);

	if (!opcode_allowed(ctx->limits, opcode) ||
	    (ctx->in_batch && (opcode == DSA_OP_BATCH || opcode == DSA_OP_DRAIN))) {
		result->status = DSA_COMP_BAD_OPCODE;
		return false;
	}
	if ((flags & DSA_FLAG_BOF) && !ctx->limits->bof_enabled)
		invalid |= DSA_FLAG_BOF;
	if (invalid) {
		result->status = DSA_COMP_INVALID_FLAGS;
		result->op_specific = invalid;
		return false;
	}
	if ((flags & DSA_FLAG_RCI) && desc->int_handle >= ctx->engine->int_handles) {
		result->status = DSA_COMP_INT_HANDLE_INVAL;
		return false;
	}
	return true;
}

static bool check_transfer_size(const struct dsa_context *ctx, struct dsa_result *result)
{
	uint32_t size = ctx->desc->xfer_size;

	if (size == 0 || size > ctx->limits->max_xfer) {
		result->status = DSA_COMP_XFER_ERANGE;
		return false;
	}
	return true;
}

/* ---- operations ---- */

static void op_memmove(const struct dsa_context *ctx, struct dsa_result *result)
{
	const struct dsa_hw_desc *desc = ctx->desc;
	const struct guest_memory *mem = ctx->engine->mem;
	uint64_t len = usable_length(ctx, &desc->src, 1, &desc->dst, 1, desc->xfer_size, result);

	if (len)
		memmove(guest_memory_ptr(mem, desc->dst, len), guest_memory_ptr(mem, desc->src, len),
			len);
}

static void op_fill(const struct dsa_context *ctx, struct dsa_result *result)
{
	const struct dsa_hw_desc *desc = ctx->desc;
	uint64_t len = usable_length(ctx, NULL, 0, &desc->dst, 1, desc->xfer_size, result);
	uint8_t *dst = len ? guest_memory_ptr(ctx->engine->mem, desc->dst, len) : NULL;
	uint8_t pattern[8];

	memcpy(pattern, &desc->src, 8);
	for (uint64_t i = 0; i < len && i < 8; i++)
		dst[i] = pattern[i];
	/* Double the filled prefix: the pattern repeats with period 8. */
	for (uint64_t done = len < 8 ? len : 8; done < len; done *= 2)
		memcpy(dst + done, dst, done <= len - done ? done : len - done);
}

/* First differing offset in [0, len), or len. */
static uint64_t first_difference(const uint8_t *a, const uint8_t *b, uint64_t len)
{
	uint64_t i = 0;

	for (; i + 8 <= len; i += 8)
		if (memcmp(a + i, b + i, 8))
			break;
	for (; i < len; i++)
		if (a[i] != b[i])
			return i;
	return len;
}

static void finish_compare(const struct dsa_context *ctx, uint64_t diff, uint64_t len,
			   struct dsa_result *result)
{
	if (diff < len) {
		/* A difference before any fault: the operation succeeds. */
		result->status = DSA_COMP_SUCCESS;
		result->result = 1;
		result->bytes = (uint32_t)diff;
		result->fault_addr = 0;
	}
	if (result->status == DSA_COMP_SUCCESS && (dsa_desc_flags(ctx->desc) & DSA_FLAG_CR) &&
	    result->result != ctx->desc->expected_res)
		result->status = DSA_COMP_SUCCESS_PRED;
}

static void op_compare(const struct dsa_context *ctx, struct dsa_result *result)
{
	const struct dsa_hw_desc *desc = ctx->desc;
	const struct guest_memory *mem = ctx->engine->mem;
	const uint64_t reads[2] = { desc->src, desc->dst };
	uint64_t len = usable_length(ctx, reads, 2, NULL, 0, desc->xfer_size, result);
	uint64_t diff = len ? first_difference(guest_memory_ptr(mem, desc->src, len),
					       guest_memory_ptr(mem, desc->dst, len), len) : 0;

	finish_compare(ctx, diff, len, result);
}

static void op_compare_pattern(const struct dsa_context *ctx, struct dsa_result *result)
{
	const struct dsa_hw_desc *desc = ctx->desc;
	uint64_t len = usable_length(ctx, &desc->src, 1, NULL, 0, desc->xfer_size, result);
	const uint8_t *src = len ? guest_memory_ptr(ctx->engine->mem, desc->src, len) : NULL;
	uint8_t pattern[8];
	uint64_t diff = len;

	memcpy(pattern, &desc->dst, 8);
	for (uint64_t i = 0; i < len; i++) {
		if (src[i] != pattern[i % 8]) {
			diff = i;
			break;
		}
	}
	finish_compare(ctx, diff, len, result);
}

static void op_dualcast(const struct dsa_context *ctx, struct dsa_result *result)
{
	const struct dsa_hw_desc *desc = ctx->desc;
	const struct guest_memory *mem = ctx->engine->mem;
	const uint64_t writes[2] = { desc->dst, desc->dest2 };
	uint64_t size = desc->xfer_size;

	if ((desc->dst & 0xfff) != (desc->dest2 & 0xfff)) {
		result->status = DSA_COMP_DCAST_ERR;
		return;
	}
	if (ranges_overlap(desc->src, desc->dst, size) || ranges_overlap(desc->src, desc->dest2, size) ||
	    ranges_overlap(desc->dst, desc->dest2, size)) {
		result->status = DSA_COMP_OVERLAP_BUFFERS;
		return;
	}
	uint64_t len = usable_length(ctx, &desc->src, 1, writes, 2, size, result);

	if (!len)
		return;
	memcpy(guest_memory_ptr(mem, desc->dst, len), guest_memory_ptr(mem, desc->src, len), len);
	memcpy(guest_memory_ptr(mem, desc->dest2, len), guest_memory_ptr(mem, desc->src, len), len);
}

/* The seed, from the descriptor or (READ_SEED flag) from guest memory. */
static bool crc_seed(const struct dsa_context *ctx, uint32_t *seed, struct dsa_result *result)
{
	const struct dsa_hw_desc *desc = ctx->desc;
	const void *p;

	if (!(dsa_desc_flags(desc) & DSA_FLAG_CRC_READ_SEED)) {
		*seed = desc->crc.crc_seed;
		return true;
	}
	p = guest_memory_ptr(ctx->engine->mem, desc->crc.seed_addr, 4);
	if (!p) {
		usable_length(ctx, &desc->crc.seed_addr, 1, NULL, 0, 4, result);
		result->bytes = 0;
		return false;
	}
	memcpy(seed, p, 4);
	return true;
}

static void op_crc(const struct dsa_context *ctx, bool copy, struct dsa_result *result)
{
	const struct dsa_hw_desc *desc = ctx->desc;
	const struct guest_memory *mem = ctx->engine->mem;
	uint64_t size = desc->xfer_size;
	uint32_t seed;

	if (copy && ranges_overlap(desc->src, desc->dst, size)) {
		result->status = DSA_COMP_OVERLAP_BUFFERS;
		return;
	}
	if (!crc_seed(ctx, &seed, result))
		return;
	uint64_t len = usable_length(ctx, &desc->src, 1, &desc->dst, copy ? 1 : 0, size, result);
	const uint8_t *src = len ? guest_memory_ptr(mem, desc->src, len) : NULL;

	if (copy && len)
		memcpy(guest_memory_ptr(mem, desc->dst, len), src, len);
	result->op_specific = dsa_crc32c(seed, src, len, dsa_desc_flags(desc));
}

static void op_cache_flush(const struct dsa_context *ctx, struct dsa_result *result)
{
	/* Guest RAM is coherent host memory: nothing to flush, only to check. */
	usable_length(ctx, NULL, 0, &ctx->desc->dst, 1, ctx->desc->xfer_size, result);
}

static uint8_t run_descriptor(struct dsa_engine *engine, unsigned wq,
			      const struct dsa_wq_limits *limits, const struct dsa_hw_desc *desc,
			      bool in_batch, uint16_t batch_index);

/* Descriptors of a batch run in order; a fenced one stops after a failure. */
static void op_batch(const struct dsa_context *ctx, struct dsa_result *result)
{
	const struct dsa_hw_desc *desc = ctx->desc;
	uint64_t list = desc->src;
	uint32_t count = desc->xfer_size;
	bool failed = false;
	uint32_t done = 0;

	if (count < 2 || count > ctx->limits->max_batch) {
		result->status = DSA_COMP_DESC_CNT_ERANGE;
		return;
	}
	if (list % DSA_DESC_LIST_ALIGN) {
		result->status = DSA_COMP_DESCLIST_ALIGN;
		return;
	}
	uint64_t readable = ram_prefix(ctx->engine->mem, list, (uint64_t)count * 64) / 64;

	for (; done < readable; done++) {
		struct dsa_hw_desc member;

		memcpy(&member, guest_memory_ptr(ctx->engine->mem, list + done * 64ull, 64), 64);
		if ((dsa_desc_flags(&member) & DSA_FLAG_FENCE) && failed)
			break;
		if (run_descriptor(ctx->engine, ctx->wq, ctx->limits, &member, true,
				   (uint16_t)done) != DSA_COMP_SUCCESS)
			failed = true;
	}
	result->bytes = done;
	if (done == readable && readable < count) {
		result->status = DSA_COMP_BATCH_PAGE_FAULT;
		result->fault_addr = list + readable * 64;
	} else {
		result->status = failed ? DSA_COMP_BATCH_FAIL : DSA_COMP_SUCCESS;
	}
}

static void execute(const struct dsa_context *ctx, struct dsa_result *result)
{
	uint8_t opcode = dsa_desc_opcode(ctx->desc);

	if (opcode != DSA_OP_NOOP && opcode != DSA_OP_DRAIN && opcode != DSA_OP_BATCH &&
	    !check_transfer_size(ctx, result))
		return;
	switch (opcode) {
	case DSA_OP_NOOP:
	case DSA_OP_DRAIN: /* descriptors of a WQ run in order: all earlier ones are done */
		return;
	case DSA_OP_BATCH:
		op_batch(ctx, result);
		return;
	case DSA_OP_MEMMOVE:
		op_memmove(ctx, result);
		return;
	case DSA_OP_MEMFILL:
		op_fill(ctx, result);
		return;
	case DSA_OP_COMPARE:
		op_compare(ctx, result);
		return;
	case DSA_OP_COMPVAL:
		op_compare_pattern(ctx, result);
		return;
	case DSA_OP_DUALCAST:
		op_dualcast(ctx, result);
		return;
	case DSA_OP_CRCGEN:
		op_crc(ctx, false, result);
		return;
	case DSA_OP_COPY_CRC:
		op_crc(ctx, true, result);
		return;
	case DSA_OP_CFLUSH:
		op_cache_flush(ctx, result);
		return;
	default:
		result->status = DSA_COMP_BAD_OPCODE;
		return;
	}
}

/* ---- completion ---- */

static void report_swerr(const struct dsa_context *ctx, uint8_t code, uint64_t addr,
			 uint32_t invalid_flags)
{
	const struct dsa_swerr_info info = {
		.code = code, .opcode = dsa_desc_opcode(ctx->desc), .batch = ctx->in_batch,
		.batch_index = ctx->batch_index, .fault_addr = addr, .fault_write = true,
		.invalid_flags = invalid_flags,
	};

	if (ctx->engine->ops && ctx->engine->ops->software_error)
		ctx->engine->ops->software_error(ctx->engine->opaque, ctx->wq, &info);
}

/* Write the record: every byte but status, then status with release order. */
static void write_record(const struct dsa_context *ctx, const struct dsa_result *result)
{
	uint64_t addr = ctx->desc->completion_addr;
	uint8_t *record = guest_memory_ptr(ctx->engine->mem, addr, sizeof(struct dsa_completion_record));
	struct dsa_completion_record cr = {
		.result = result->result, .bytes_completed = result->bytes,
		.fault_addr = result->fault_addr, .crc_val = result->op_specific,
	};

	if (!record) {
		report_swerr(ctx, DSA_COMP_CRA_XLAT, addr, 0);
		return;
	}
	memcpy(record + 1, (const uint8_t *)&cr + 1, sizeof(cr) - 1);
	__atomic_store_n(record, result->status, __ATOMIC_RELEASE);
}

static bool record_wanted(uint32_t flags, uint8_t status)
{
	if (flags & DSA_FLAG_RCR)
		return true;
	/* CRAV without RCR: a record only when something went wrong. */
	return (flags & DSA_FLAG_CRAV) && status != DSA_COMP_SUCCESS;
}

static void complete(const struct dsa_context *ctx, const struct dsa_result *result)
{
	uint32_t flags = dsa_desc_flags(ctx->desc);

	if (record_wanted(flags, result->status)) {
		if (!(flags & DSA_FLAG_CRAV))
			report_swerr(ctx, DSA_COMP_INVALID_FLAGS, 0, DSA_FLAG_RCR);
		else
			write_record(ctx, result);
	}
	if ((flags & DSA_FLAG_RCI) && ctx->desc->int_handle < ctx->engine->int_handles &&
	    ctx->engine->ops && ctx->engine->ops->interrupt)
		ctx->engine->ops->interrupt(ctx->engine->opaque, ctx->desc->int_handle);
}

static uint8_t run_descriptor(struct dsa_engine *engine, unsigned wq,
			      const struct dsa_wq_limits *limits, const struct dsa_hw_desc *desc,
			      bool in_batch, uint16_t batch_index)
{
	const struct dsa_context ctx = {
		.engine = engine, .wq = wq, .limits = limits, .desc = desc, .in_batch = in_batch,
		.batch_index = batch_index,
	};
	struct dsa_result result = { .status = DSA_COMP_SUCCESS };
	uint32_t flags = dsa_desc_flags(desc);

	engine->executed++;
	if ((flags & DSA_FLAG_CRAV) && desc->completion_addr % DSA_COMPLETION_ALIGN) {
		/* No record can be written: the error goes to SWERR, nothing runs. */
		report_swerr(&ctx, DSA_COMP_CRA_ALIGN, desc->completion_addr, 0);
		return DSA_COMP_CRA_ALIGN;
	}
	if (check_descriptor(&ctx, &result))
		execute(&ctx, &result);
	complete(&ctx, &result);
	return result.status;
}

uint8_t dsa_engine_run(struct dsa_engine *engine, unsigned wq, const struct dsa_wq_limits *limits,
		       const struct dsa_hw_desc *desc)
{
	return run_descriptor(engine, wq, limits, desc, false, 0);
}
