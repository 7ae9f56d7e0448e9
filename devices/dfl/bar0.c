/* SPDX-License-Identifier: MIT */
/*
 * The DFL card's BAR0 registers and AFU poller (bar0.h): static words from
 * the layout image, live registers dispatched by the feature (region) an
 * offset falls in.
 */
#include "devices/dfl/bar0.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

/* ---- interrupts and errors ---- */

static void bar0_raise(struct dfl_bar0 *bar0, unsigned vector)
{
	if (bar0->ops && bar0->ops->raise)
		bar0->ops->raise(bar0->opaque, vector);
}

static void afu_raise(void *opaque, unsigned vector)
{
	bar0_raise(opaque, vector);
}

static bool afu_dma_allowed(void *opaque)
{
	struct dfl_bar0 *bar0 = opaque;

	return bar0->ops && bar0->ops->dma_allowed && bar0->ops->dma_allowed(bar0->opaque);
}

/* Latch a port error; interrupt unless masked. */
static void port_error(struct dfl_bar0 *bar0, unsigned port, uint64_t bits)
{
	uint64_t before = atomic_fetch_or(&bar0->perr_error[port], bits);
	uint64_t zero = 0;

	atomic_compare_exchange_strong(&bar0->perr_first[port], &zero, before | bits);
	if (bits & ~atomic_load(&bar0->perr_mask[port]))
		bar0_raise(bar0, DFL_CARD_VEC_PORT_ERR(port));
}

static void afu_dma_fault(void *opaque, unsigned port)
{
	port_error(opaque, port, DFL_PERR_DMA_FAULT);
}

static const struct dfl_afu_ops afu_ops = {
	.raise = afu_raise, .dma_allowed = afu_dma_allowed, .dma_fault = afu_dma_fault,
};

/* ---- life cycle ---- */

int dfl_bar0_init(struct dfl_bar0 *bar0, const char *name, const struct dfl_card_config *config,
		  const struct dfl_layout *layout, const struct guest_memory *ram,
		  const struct dfl_bar0_ops *ops, void *opaque)
{
	int rc;

	memset(bar0, 0, sizeof(*bar0));
	bar0->name = name;
	bar0->config = config;
	bar0->layout = layout;
	bar0->ops = ops;
	bar0->opaque = opaque;
	poller_init(&bar0->poller, name, (struct poller_tuning){ config->spin_us,
								  config->park_min_us,
								  config->park_max_us });
	bar0->poller_ready = true;
	for (unsigned p = 0; p < config->ports; p++) {
		dfl_afu_init(&bar0->afus[p], p, DFL_CARD_VEC_AFU(p), ram, &afu_ops, bar0);
		if ((rc = poller_add(&bar0->poller, dfl_afu_poll, &bar0->afus[p])))
			return rc;
	}
	return 0;
}

int dfl_bar0_start(struct dfl_bar0 *bar0)
{
	int rc = bar0->poller.running ? 0 : poller_start(&bar0->poller);

	if (rc)
		log_error("%s: starting the DMA engine thread: %s", bar0->name, strerror(-rc));
	return rc;
}

void dfl_bar0_stop(struct dfl_bar0 *bar0)
{
	if (bar0->poller_ready)
		poller_stop(&bar0->poller);
}

void dfl_bar0_destroy(struct dfl_bar0 *bar0)
{
	if (bar0->poller_ready)
		poller_destroy(&bar0->poller);
	bar0->poller_ready = false;
}

void dfl_bar0_reset(struct dfl_bar0 *bar0)
{
	atomic_store(&bar0->fme_scratch, 0);
	atomic_store(&bar0->gerr_mask, 0);
	atomic_store(&bar0->gerr_error, 0);
	for (unsigned p = 0; p < bar0->config->ports; p++) {
		atomic_store(&bar0->port_ctrl[p], 0);
		atomic_store(&bar0->perr_mask[p], 0);
		atomic_store(&bar0->perr_error[p], 0);
		atomic_store(&bar0->perr_first[p], 0);
		dfl_afu_port_reset(&bar0->afus[p], false);
		dfl_afu_reset(&bar0->afus[p]);
		for (unsigned i = 0; i < DFL_AFU_SCRATCH_COUNT; i++)
			atomic_store(&bar0->afus[p].scratch[i], 0);
	}
}

/* ---- registers ---- */

static uint64_t all_ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static bool access_valid(const struct dfl_bar0 *bar0, uint64_t offset, unsigned size)
{
	if ((size == 8 || size == 4) && offset % size == 0)
		return true;
	log_debug("%s: %u-byte access at BAR0+0x%llx: registers take aligned 4- or 8-byte "
		  "accesses, ignored", bar0->name, size, (unsigned long long)offset);
	return false;
}

/* A live register at BAR0 offset `at`, or false for the static image. */
static bool live_read(struct dfl_bar0 *bar0, const struct dfl_region *r, uint64_t at,
		      uint64_t *value)
{
	uint64_t hdr = at - r->dfh, csr = at - r->csr;
	bool in_csr = at >= r->csr;

	switch (r->kind) {
	case DFL_REGION_FME:
		if (hdr != FME_HDR_SCRATCHPAD)
			return false;
		*value = atomic_load(&bar0->fme_scratch);
		return true;
	case DFL_REGION_GERR:
		if (!in_csr || (csr != DFL_GERR_MASK && csr != DFL_GERR_ERROR && csr != DFL_GERR_INJECT))
			return false;
		*value = csr == DFL_GERR_MASK ? atomic_load(&bar0->gerr_mask)
		       : csr == DFL_GERR_ERROR ? atomic_load(&bar0->gerr_error) : 0;
		return true;
	case DFL_REGION_PORT: {
		uint64_t ctrl = atomic_load(&bar0->port_ctrl[r->port]);

		if (hdr != PORT_HDR_CTRL)
			return false;
		*value = ctrl | ((ctrl & PORT_CTRL_SFTRST) ? PORT_CTRL_SFTRST_ACK : 0);
		return true;
	}
	case DFL_REGION_PERR:
		if (!in_csr || csr < DFL_PERR_MASK || csr > DFL_PERR_FIRST_ERROR)
			return false;
		*value = atomic_load(csr == DFL_PERR_MASK ? &bar0->perr_mask[r->port]
				     : csr == DFL_PERR_ERROR ? &bar0->perr_error[r->port]
				     : &bar0->perr_first[r->port]);
		return true;
	case DFL_REGION_AFU:
		if (hdr < DFL_AFU_MAGIC)
			return false;
		*value = dfl_afu_read(&bar0->afus[r->port], hdr);
		return true;
	case DFL_REGION_THERMAL:
	case DFL_REGION_UINT:
		return false;
	}
	return false;
}

static uint64_t read64(struct dfl_bar0 *bar0, uint64_t at)
{
	const struct dfl_region *r = dfl_layout_region(bar0->layout, at);
	uint64_t value;

	if (r && live_read(bar0, r, at, &value))
		return value;
	return bar0->layout->image[at / 8];
}

uint64_t dfl_bar0_read(struct dfl_bar0 *bar0, uint64_t offset, unsigned size)
{
	if (!access_valid(bar0, offset, size) || offset >= DFL_CARD_BAR0_SIZE)
		return all_ones(size);
	uint64_t value = read64(bar0, offset & ~7ull);

	return size == 8 ? value : (value >> (8 * (offset & 7))) & 0xffffffffull;
}

static void merge(atomic_uint_least64_t *reg, uint64_t value, uint64_t mask)
{
	uint64_t old = atomic_load(reg);

	while (!atomic_compare_exchange_weak(reg, &old, (old & ~mask) | (value & mask)))
		;
}

static void gerr_inject(struct dfl_bar0 *bar0, uint64_t bits)
{
	atomic_fetch_or(&bar0->gerr_error, bits);
	if (bits & ~atomic_load(&bar0->gerr_mask))
		bar0_raise(bar0, DFL_CARD_VEC_FME_ERR);
}

static void port_ctrl_write(struct dfl_bar0 *bar0, unsigned port, uint64_t value, uint64_t mask)
{
	merge(&bar0->port_ctrl[port], value, mask & (PORT_CTRL_SFTRST | PORT_CTRL_LATENCY));
	dfl_afu_port_reset(&bar0->afus[port],
			   atomic_load(&bar0->port_ctrl[port]) & PORT_CTRL_SFTRST);
}

static void live_write(struct dfl_bar0 *bar0, const struct dfl_region *r, uint64_t at,
		       uint64_t value, uint64_t mask)
{
	uint64_t hdr = at - r->dfh, csr = at - r->csr;
	bool in_csr = at >= r->csr;

	switch (r->kind) {
	case DFL_REGION_FME:
		if (hdr == FME_HDR_SCRATCHPAD)
			merge(&bar0->fme_scratch, value, mask);
		break;
	case DFL_REGION_GERR:
		if (in_csr && csr == DFL_GERR_MASK)
			merge(&bar0->gerr_mask, value, mask);
		else if (in_csr && csr == DFL_GERR_ERROR)
			atomic_fetch_and(&bar0->gerr_error, ~(value & mask));
		else if (in_csr && csr == DFL_GERR_INJECT && (value & mask))
			gerr_inject(bar0, value & mask);
		break;
	case DFL_REGION_PORT:
		if (hdr == PORT_HDR_CTRL)
			port_ctrl_write(bar0, r->port, value, mask);
		break;
	case DFL_REGION_PERR:
		if (in_csr && csr == DFL_PERR_MASK)
			merge(&bar0->perr_mask[r->port], value, mask);
		else if (in_csr && csr == DFL_PERR_ERROR &&
			 !(atomic_fetch_and(&bar0->perr_error[r->port], ~(value & mask)) &
			   ~(value & mask)))
			atomic_store(&bar0->perr_first[r->port], 0); /* all cleared: re-arm */
		break;
	case DFL_REGION_AFU:
		if (hdr >= DFL_AFU_MAGIC && dfl_afu_write(&bar0->afus[r->port], hdr, value, mask) &&
		    bar0->poller_ready)
			poller_kick(&bar0->poller);
		break;
	case DFL_REGION_THERMAL:
	case DFL_REGION_UINT:
		break; /* read-only */
	}
}

void dfl_bar0_write(struct dfl_bar0 *bar0, uint64_t offset, unsigned size, uint64_t value)
{
	if (!access_valid(bar0, offset, size) || offset >= DFL_CARD_BAR0_SIZE)
		return;
	unsigned shift = 8 * (offset & 7);
	uint64_t mask = size == 8 ? ~0ull : 0xffffffffull << shift;
	const struct dfl_region *r = dfl_layout_region(bar0->layout, offset & ~7ull);

	if (r)
		live_write(bar0, r, offset & ~7ull, value << shift, mask);
}
