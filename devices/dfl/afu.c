/* SPDX-License-Identifier: MIT */
/* The DFL card's AFU: a DMA copy/fill engine (afu.h). */
#include "devices/dfl/afu.h"

#include <string.h>

#define HEAD(state)  ((uint32_t)(state))
#define EPOCH(state) ((state) >> 32)

void dfl_afu_init(struct dfl_afu *afu, unsigned port, unsigned vector,
		  const struct guest_memory *ram, const struct dfl_afu_ops *ops, void *opaque)
{
	memset(afu, 0, sizeof(*afu));
	afu->port = port;
	afu->vector = vector;
	afu->ram = ram;
	afu->ops = ops;
	afu->opaque = opaque;
}

static uint64_t afu_status(struct dfl_afu *afu)
{
	uint64_t status = 0;

	if (atomic_load(&afu->ctrl) & DFL_AFU_CTRL_ENABLE)
		status |= DFL_AFU_STATUS_ENABLED;
	if (atomic_load(&afu->halted))
		status |= DFL_AFU_STATUS_HALTED;
	if (atomic_load(&afu->in_port_reset))
		status |= DFL_AFU_STATUS_PORT_RESET;
	return status;
}

uint64_t dfl_afu_read(struct dfl_afu *afu, uint64_t offset)
{
	if (offset >= DFL_AFU_SCRATCH(0) && offset < DFL_AFU_SCRATCH(DFL_AFU_SCRATCH_COUNT))
		return atomic_load(&afu->scratch[(offset - DFL_AFU_SCRATCH(0)) / 8]);
	switch (offset) {
	case DFL_AFU_MAGIC:      return DFL_AFU_MAGIC_VALUE;
	case DFL_AFU_CAPS:       return DFL_AFU_CAP_COPY | DFL_AFU_CAP_FILL |
				      (uint64_t)DFL_AFU_RING_MAX << DFL_AFU_CAP_RING_MAX_SHIFT;
	case DFL_AFU_RING_BASE:  return atomic_load(&afu->ring_base);
	case DFL_AFU_RING_SIZE:  return atomic_load(&afu->ring_size);
	case DFL_AFU_RING_TAIL:  return atomic_load(&afu->tail);
	case DFL_AFU_RING_HEAD:  return HEAD(atomic_load(&afu->state));
	case DFL_AFU_CTRL:       return atomic_load(&afu->ctrl);
	case DFL_AFU_STATUS:     return afu_status(afu);
	case DFL_AFU_ERROR:      return atomic_load(&afu->error);
	case DFL_AFU_ERROR_ADDR: return atomic_load(&afu->error_addr);
	case DFL_AFU_COMPLETED:  return atomic_load(&afu->completed);
	case DFL_AFU_BYTES:      return atomic_load(&afu->bytes);
	case DFL_AFU_IRQ_VECTOR: return afu->vector;
	case DFL_AFU_TAIL_ADDR:  return atomic_load(&afu->tail_addr);
	default:                 return 0;
	}
}

static void merge(atomic_uint_least64_t *reg, uint64_t value, uint64_t mask)
{
	uint64_t old = atomic_load(reg);

	while (!atomic_compare_exchange_weak(reg, &old, (old & ~mask) | (value & mask)))
		;
}

void dfl_afu_reset(struct dfl_afu *afu)
{
	uint64_t state = atomic_load(&afu->state);

	/* A new epoch: a descriptor in flight finishes but is not counted. */
	atomic_store(&afu->ctrl, 0);
	atomic_store(&afu->tail, 0);
	atomic_store(&afu->tail_addr, 0);
	atomic_store(&afu->state, (EPOCH(state) + 1) << 32);
	atomic_store(&afu->error, 0);
	atomic_store(&afu->error_addr, 0);
	atomic_store(&afu->halted, false);
}

void dfl_afu_port_reset(struct dfl_afu *afu, bool in_reset)
{
	if (in_reset)
		dfl_afu_reset(afu);
	atomic_store(&afu->in_port_reset, in_reset);
}

bool dfl_afu_write(struct dfl_afu *afu, uint64_t offset, uint64_t value, uint64_t mask)
{
	if (atomic_load(&afu->in_port_reset))
		return false; /* held in reset by the port: writes are dropped */
	if (offset >= DFL_AFU_SCRATCH(0) && offset < DFL_AFU_SCRATCH(DFL_AFU_SCRATCH_COUNT)) {
		merge(&afu->scratch[(offset - DFL_AFU_SCRATCH(0)) / 8], value, mask);
		return false;
	}
	switch (offset) {
	case DFL_AFU_RING_BASE: merge(&afu->ring_base, value, mask); return false;
	case DFL_AFU_RING_SIZE: merge(&afu->ring_size, value, mask); return false;
	case DFL_AFU_TAIL_ADDR: merge(&afu->tail_addr, value, mask); return true;
	case DFL_AFU_RING_TAIL: merge(&afu->tail, value & 0xffffffffull, mask); return true;
	case DFL_AFU_ERROR:
		atomic_fetch_and(&afu->error, ~(value & mask));
		return false;
	case DFL_AFU_CTRL:
		if (value & mask & DFL_AFU_CTRL_RESET) {
			dfl_afu_reset(afu);
			return false;
		}
		merge(&afu->ctrl, value, mask & (DFL_AFU_CTRL_ENABLE | DFL_AFU_CTRL_IRQ));
		return true;
	default:
		return false; /* read-only or reserved */
	}
}

/* ---- the engine (poller thread) ---- */

static void record_error(struct dfl_afu *afu, uint64_t bit, uint64_t address)
{
	atomic_store(&afu->error_addr, address);
	atomic_fetch_or(&afu->error, bit);
}

/* The ring as programmed, or NULL (ERROR.RING, halted). */
static volatile struct dfl_afu_desc *ring_slot(struct dfl_afu *afu, uint32_t head, uint32_t tail)
{
	uint64_t base = atomic_load(&afu->ring_base), size = atomic_load(&afu->ring_size);
	void *ring;

	if (!size || size > DFL_AFU_RING_MAX || (size & (size - 1)) || base % DFL_AFU_DESC_SIZE ||
	    (uint32_t)(tail - head) > size ||
	    !(ring = guest_memory_ptr(afu->ram, base, size * DFL_AFU_DESC_SIZE))) {
		record_error(afu, DFL_AFU_ERR_RING, base);
		atomic_store(&afu->halted, true);
		return NULL;
	}
	return (volatile struct dfl_afu_desc *)ring + (head & (size - 1));
}

/* The tail: the RING_TAIL register, or the guest's tail word when TAIL_ADDR
 * is set (mirrored into RING_TAIL). False: the word is not in RAM (halted). */
static bool read_tail(struct dfl_afu *afu, uint32_t *tail)
{
	uint64_t addr = atomic_load(&afu->tail_addr);
	uint32_t *word;

	if (!addr) {
		*tail = (uint32_t)atomic_load(&afu->tail);
		return true;
	}
	if (addr % 4 || !(word = guest_memory_ptr(afu->ram, addr, 4))) {
		record_error(afu, DFL_AFU_ERR_RING, addr);
		atomic_store(&afu->halted, true);
		return false;
	}
	*tail = __atomic_load_n(word, __ATOMIC_ACQUIRE);
	atomic_store(&afu->tail, *tail);
	return true;
}

static void fill(uint8_t *dst, uint64_t pattern, uint64_t len)
{
	uint64_t done = len < 8 ? len : 8;

	for (uint64_t i = 0; i < done; i++)
		dst[i] = (uint8_t)(pattern >> (8 * i));
	/* Double the filled prefix: the pattern stays aligned to dst. */
	while (done < len) {
		uint64_t chunk = done <= len - done ? done : len - done;

		memcpy(dst + done, dst, chunk);
		done += chunk;
	}
}

static uint32_t fault(struct dfl_afu *afu, uint64_t address)
{
	record_error(afu, DFL_AFU_ERR_ADDRESS, address);
	if (afu->ops->dma_fault)
		afu->ops->dma_fault(afu->opaque, afu->port);
	return DFL_AFU_ST_ADDRESS;
}

static uint32_t execute(struct dfl_afu *afu, const struct dfl_afu_desc *d)
{
	void *src, *dst;

	if (d->op == DFL_AFU_OP_NOP && !(d->flags & ~DFL_AFU_DESC_IRQ))
		return DFL_AFU_ST_OK;
	if ((d->op != DFL_AFU_OP_COPY && d->op != DFL_AFU_OP_FILL) || (d->flags & ~DFL_AFU_DESC_IRQ)) {
		record_error(afu, DFL_AFU_ERR_DESC, 0);
		return DFL_AFU_ST_BAD_DESC;
	}
	if (!afu->ops->dma_allowed(afu->opaque)) {
		record_error(afu, DFL_AFU_ERR_DENIED, d->dst);
		return DFL_AFU_ST_DENIED;
	}
	if (!(dst = guest_memory_ptr(afu->ram, d->dst, d->len)))
		return fault(afu, d->dst);
	if (d->op == DFL_AFU_OP_FILL) {
		fill(dst, d->src, d->len);
	} else {
		if (!(src = guest_memory_ptr(afu->ram, d->src, d->len)))
			return fault(afu, d->src);
		memmove(dst, src, d->len);
	}
	atomic_fetch_add(&afu->bytes, d->len);
	return DFL_AFU_ST_OK;
}

/* One snapshot of the guest's descriptor (it may change it meanwhile). */
static void fetch(volatile struct dfl_afu_desc *slot, struct dfl_afu_desc *d)
{
	d->op = slot->op;
	d->flags = slot->flags;
	d->src = slot->src;
	d->dst = slot->dst;
	d->len = slot->len;
}

bool dfl_afu_poll(void *opaque)
{
	struct dfl_afu *afu = opaque;
	struct dfl_afu_desc d;

	if (atomic_load(&afu->in_port_reset) || atomic_load(&afu->halted) ||
	    !(atomic_load(&afu->ctrl) & DFL_AFU_CTRL_ENABLE))
		return false;
	uint64_t state = atomic_load(&afu->state);
	uint32_t head = HEAD(state), tail;

	if (!read_tail(afu, &tail))
		return true;
	if (head == tail)
		return false;
	volatile struct dfl_afu_desc *slot = ring_slot(afu, head, tail);

	if (!slot)
		return true;
	fetch(slot, &d);
	uint32_t status = execute(afu, &d);

	slot->bytes_done = status == DFL_AFU_ST_OK ? d.len : 0;
	__atomic_store_n(&slot->status, status, __ATOMIC_RELEASE);
	uint64_t next = (EPOCH(state) << 32) | (uint32_t)(head + 1);

	if (!atomic_compare_exchange_strong(&afu->state, &state, next))
		return true; /* reset meanwhile: not counted, no interrupt */
	atomic_fetch_add(&afu->completed, 1);
	if ((d.flags & DFL_AFU_DESC_IRQ) && (atomic_load(&afu->ctrl) & DFL_AFU_CTRL_IRQ))
		afu->ops->raise(afu->opaque, afu->vector);
	return true;
}
