/* SPDX-License-Identifier: MIT */
#include "devices/dsa/core.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/log.h"

#define DSA_TOTAL_RDBUFS    0x60
#define DSA_CMDCAP_VALUE    0x1ffeull  /* commands 1-12; no interrupt handles */
#define DSA_FULL_SCAN_EVERY 32         /* polls between full portal scans */
#define DSA_RING_BURST      64         /* ring descriptors per WQ per poll */

#define WQCFG_DWORDS (DSA_WQCFG_STRIDE / 4)
#define GRPCFG_QWORDS (DSA_GRPCFG_SIZE / 8)

/* Writable bits of each WQCFG dword (dwords 6, 7 are read-only). */
static const uint32_t wqcfg_wmask[WQCFG_DWORDS] = {
	0xffff, 0xffff, 0x3fffffff, 0x1ff, 0x1ffff, 0x1ffff, 0, 0,
	~0u, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u,
};

#define MSIX_PERM_WMASK 0xfffff00cu
#define GENCFG_WMASK    0x10ffu
#define GENCTRL_WMASK   (DSA_GENCTRL_SOFTERR_INT_EN | DSA_GENCTRL_HALT_INT_EN)

/* ---- parameters ---- */

void dsa_params_default(struct dsa_params *params)
{
	*params = (struct dsa_params){
		.wqs = 1, .groups = 1, .engines = 1, .total_wq_size = 128, .msix_vectors = 9,
		.max_xfer_shift = 31, .max_batch_shift = 10,
		.opcap = { DSA_OPS_IMPLEMENTED, 0, 0, 0 },
	};
}

int dsa_params_check(const struct dsa_params *p, char *error, unsigned long size)
{
	const char *what = NULL;

	if (p->wqs < 1 || p->wqs > DSA_MAX_WQS)
		what = "wqs must be 1..8";
	else if (p->groups < 1 || p->groups > DSA_MAX_GROUPS)
		what = "groups must be 1..4";
	else if (p->engines < 1 || p->engines > DSA_MAX_ENGINES)
		what = "engines must be 1..4";
	else if (p->total_wq_size < p->wqs || p->total_wq_size > DSA_MAX_WQ_SIZE)
		what = "total_wq_size must be at least wqs and at most 1024";
	else if (p->msix_vectors < 2 || p->msix_vectors > DSA_MAX_VECTORS)
		what = "msix_vectors must be 2..64";
	else if (p->max_xfer_shift < 12 || p->max_xfer_shift > 31)
		what = "max_xfer_shift must be 12..31";
	else if (p->max_batch_shift < 1 || p->max_batch_shift > 10)
		what = "max_batch_shift must be 1..10";
	else if ((p->opcap[0] & ~DSA_OPS_IMPLEMENTED) || p->opcap[1] || p->opcap[2] || p->opcap[3])
		what = "ops may only name implemented operations";
	if (what)
		snprintf(error, size, "%s", what);
	return what ? -EINVAL : 0;
}

/* ---- lock-free MPSC ring ---- */

static int ring_init(struct dsa_ring *ring, unsigned min_capacity)
{
	uint64_t capacity = 1;

	while (capacity < min_capacity)
		capacity <<= 1;
	ring->cells = aligned_alloc(64, capacity * sizeof(*ring->cells));
	if (!ring->cells)
		return -ENOMEM;
	for (uint64_t i = 0; i < capacity; i++)
		atomic_init(&ring->cells[i].sequence, i);
	ring->mask = capacity - 1;
	atomic_init(&ring->head, 0);
	ring->tail = 0;
	return 0;
}

static bool ring_push(struct dsa_ring *ring, const void *desc)
{
	uint64_t pos = atomic_load_explicit(&ring->head, memory_order_relaxed);
	struct dsa_ring_cell *cell;

	for (;;) {
		cell = &ring->cells[pos & ring->mask];
		uint64_t seq = atomic_load_explicit(&cell->sequence, memory_order_acquire);
		int64_t diff = (int64_t)(seq - pos);

		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&ring->head, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (diff < 0) {
			return false;
		} else {
			pos = atomic_load_explicit(&ring->head, memory_order_relaxed);
		}
	}
	memcpy(&cell->desc, desc, sizeof(cell->desc));
	atomic_store_explicit(&cell->sequence, pos + 1, memory_order_release);
	return true;
}

static bool ring_pop(struct dsa_ring *ring, struct dsa_hw_desc *desc)
{
	struct dsa_ring_cell *cell = &ring->cells[ring->tail & ring->mask];
	uint64_t seq = atomic_load_explicit(&cell->sequence, memory_order_acquire);

	if (seq != ring->tail + 1)
		return false;
	memcpy(desc, &cell->desc, sizeof(*desc));
	atomic_store_explicit(&cell->sequence, ring->tail + ring->mask + 1, memory_order_release);
	ring->tail++;
	return true;
}

/* ---- software errors and interrupts ---- */

static void raise_vector(struct dsa_core *core, unsigned vector)
{
	if (core->ops && core->ops->raise)
		core->ops->raise(core->opaque, vector);
}

static void swerr_record(struct dsa_core *core, bool wq_valid, unsigned wq,
			 const struct dsa_swerr_info *info)
{
	atomic_fetch_add(&core->dropped, info->code == DSA_SWERR_WQ_DISABLED ||
					  info->code == DSA_SWERR_WQ_FULL ||
					  info->code == DSA_SWERR_WQ_MODE);
	if (atomic_flag_test_and_set(&core->swerr_writer)) {
		atomic_fetch_or(&core->swerr[0], DSA_SWERR_OVERFLOW);
		return;
	}
	if (atomic_load(&core->swerr[0]) & DSA_SWERR_VALID) {
		atomic_fetch_or(&core->swerr[0], DSA_SWERR_OVERFLOW);
	} else {
		atomic_store(&core->swerr[1], info->batch_index | (uint64_t)info->invalid_flags << 32);
		atomic_store(&core->swerr[2], info->fault_addr);
		atomic_store(&core->swerr[3], 0);
		atomic_store_explicit(&core->swerr[0],
				      DSA_SWERR_VALID | DSA_SWERR_DESC_VALID |
				      (wq_valid ? DSA_SWERR_WQ_VALID : 0) |
				      (info->batch ? DSA_SWERR_BATCH : 0) |
				      (info->fault_write ? DSA_SWERR_FAULT_RW : 0) |
				      (uint64_t)info->code << DSA_SWERR_CODE_SHIFT |
				      (uint64_t)(wq & 0xff) << DSA_SWERR_WQ_SHIFT |
				      (uint64_t)info->opcode << DSA_SWERR_OP_SHIFT,
				      memory_order_release);
	}
	atomic_flag_clear(&core->swerr_writer);
	atomic_fetch_or(&core->intcause, DSA_INTCAUSE_ERR);
	if (atomic_load(&core->genctrl) & DSA_GENCTRL_SOFTERR_INT_EN)
		raise_vector(core, 0);
}

static void engine_interrupt(void *opaque, uint16_t handle)
{
	raise_vector(opaque, handle);
}

static void engine_software_error(void *opaque, unsigned wq, const struct dsa_swerr_info *info)
{
	swerr_record(opaque, true, wq, info);
}

static const struct dsa_engine_ops core_engine_ops = {
	.interrupt = engine_interrupt,
	.software_error = engine_software_error,
};

static void submission_error(struct dsa_core *core, unsigned wq, const void *desc, uint8_t code)
{
	struct dsa_hw_desc copy;
	struct dsa_swerr_info info = { .code = code };

	memcpy(&copy, desc, sizeof(copy));
	info.opcode = dsa_desc_opcode(&copy);
	swerr_record(core, true, wq, &info);
}

/* ---- init and reset ---- */

static void wq_reset(struct dsa_core *core, struct dsa_wq *wq)
{
	atomic_store(&wq->state, DSA_WQ_STATE_DISABLED);
	memset(wq->cfg, 0, sizeof(wq->cfg));
	/* Until a driver narrows it, a WQ accepts every operation OPCAP lists. */
	for (unsigned i = 0; i < 4; i++) {
		wq->cfg[DSA_WQCFG_OP_CONFIG_DWORD + 2 * i] = (uint32_t)core->params.opcap[i];
		wq->cfg[DSA_WQCFG_OP_CONFIG_DWORD + 2 * i + 1] = (uint32_t)(core->params.opcap[i] >> 32);
	}
}

void dsa_core_reset(struct dsa_core *core)
{
	for (unsigned i = 0; i < core->params.wqs; i++)
		wq_reset(core, &core->wq[i]);
	memset(core->grpcfg, 0, sizeof(core->grpcfg));
	memset(core->msix_perm, 0, sizeof(core->msix_perm));
	core->gencfg = 0;
	atomic_store(&core->genctrl, 0);
	for (unsigned i = 0; i < 4; i++)
		atomic_store(&core->swerr[i], 0);
	atomic_store(&core->gensts, DSA_STATE_DISABLED);
}

int dsa_core_init(struct dsa_core *core, const struct dsa_params *params,
		  const struct guest_memory *mem, const struct dsa_core_ops *ops, void *opaque,
		  const char *name)
{
	char error[128];
	int rc = dsa_params_check(params, error, sizeof(error));

	if (rc)
		return rc;
	memset(core, 0, sizeof(*core));
	core->params = *params;
	core->ops = ops;
	core->opaque = opaque;
	core->name = name;
	pthread_mutex_init(&core->lock, NULL);
	atomic_flag_clear(&core->swerr_writer);
	core->engine = (struct dsa_engine){ .mem = mem, .ops = &core_engine_ops, .opaque = core,
					    .int_handles = (uint16_t)params->msix_vectors };
	for (unsigned i = 0; i < params->wqs; i++) {
		if ((rc = ring_init(&core->wq[i].ring, params->total_wq_size))) {
			dsa_core_destroy(core);
			return rc;
		}
		core->wq[i].scan_countdown = 1;
		atomic_flag_clear(&core->wq[i].executing);
	}
	dsa_core_reset(core);
	return 0;
}

void dsa_core_destroy(struct dsa_core *core)
{
	for (unsigned i = 0; i < DSA_MAX_WQS; i++) {
		free(core->wq[i].ring.cells);
		core->wq[i].ring.cells = NULL;
	}
	pthread_mutex_destroy(&core->lock);
}

/* ---- execution side (the poller thread) ---- */

static void run_descriptor(struct dsa_core *core, unsigned index, const struct dsa_hw_desc *desc)
{
	struct dsa_wq *wq = &core->wq[index];

	if (atomic_load_explicit(&wq->state, memory_order_acquire) != DSA_WQ_STATE_ENABLED) {
		submission_error(core, index, desc, DSA_SWERR_WQ_DISABLED);
		return;
	}
	struct dsa_wq_limits limits = wq->limits;

	dsa_engine_run(&core->engine, index, &limits, desc);
	atomic_fetch_add_explicit(&core->completed, 1, memory_order_relaxed);
}

static unsigned drain_ring(struct dsa_core *core, unsigned index)
{
	struct dsa_wq *wq = &core->wq[index];
	struct dsa_hw_desc desc;
	unsigned done = 0;

	if (atomic_load_explicit(&wq->occupancy, memory_order_relaxed) == 0)
		return 0;
	if (atomic_flag_test_and_set_explicit(&wq->executing, memory_order_acquire))
		return 1; /* a vCPU runs one inline: come back, there is work */
	while (done < DSA_RING_BURST && ring_pop(&wq->ring, &desc)) {
		run_descriptor(core, index, &desc);
		atomic_fetch_sub(&wq->occupancy, 1);
		done++;
	}
	atomic_flag_clear_explicit(&wq->executing, memory_order_release);
	return done;
}

/* Take the descriptor in one polled-portal slot, if there is one. */
static bool take_slot(struct dsa_core *core, unsigned index, uint8_t *slot)
{
	uint64_t *first = (uint64_t *)slot;
	struct dsa_hw_desc desc;

	if (__atomic_load_n(first, __ATOMIC_ACQUIRE) == DSA_PORTAL_EMPTY)
		return false;
	memcpy(&desc, slot, sizeof(desc));
	/* Free the slot before the completion record can tell the guest it may reuse it. */
	__atomic_store_n(first, DSA_PORTAL_EMPTY, __ATOMIC_RELAXED);
	run_descriptor(core, index, &desc);
	return true;
}

/*
 * Slots are taken from the one after the last taken (drivers rotate), so
 * descriptors run in arrival order; a full scan also finds slots written
 * out of rotation.
 */
static unsigned scan_page(struct dsa_core *core, unsigned index, uint8_t *page, unsigned *next,
			  bool full)
{
	unsigned found = 0, missed = 0, slot = *next % DSA_PORTAL_SLOTS;

	while (found < DSA_PORTAL_SLOTS && missed < DSA_PORTAL_SLOTS) {
		if (take_slot(core, index, page + slot * DSA_PORTAL_SLOT)) {
			found++;
			missed = 0;
			slot = (slot + 1) % DSA_PORTAL_SLOTS;
			*next = slot;
			continue;
		}
		if (!full)
			break;
		missed++;
		slot = (slot + 1) % DSA_PORTAL_SLOTS;
	}
	return found;
}

static unsigned scan_portal(struct dsa_core *core, unsigned index, bool full)
{
	struct dsa_wq *wq = &core->wq[index];
	uint8_t *pages = atomic_load_explicit(&wq->portal, memory_order_acquire);
	unsigned found = 0;

	if (!pages)
		return 0;
	if (--wq->scan_countdown == 0) {
		wq->scan_countdown = DSA_FULL_SCAN_EVERY;
		full = true;
	}
	for (unsigned page = 0; page < DSA_PORTAL_PAGES; page++)
		found += scan_page(core, index, pages + page * DSA_PAGE_SIZE, &wq->next_slot[page],
				   full);
	return found;
}

bool dsa_core_poll(struct dsa_core *core, bool full_scan)
{
	unsigned found = 0;

	for (unsigned i = 0; i < core->params.wqs; i++) {
		found += drain_ring(core, i);
		if (core->params.polled[i])
			found += scan_portal(core, i, full_scan);
	}
	return found != 0;
}

bool dsa_core_poll_draining(struct dsa_core *core)
{
	uint64_t request = atomic_load(&core->drain_request);
	bool draining = request != atomic_load(&core->drain_done);
	bool worked = dsa_core_poll(core, draining);

	if (!worked && draining)
		atomic_store(&core->drain_done, request);
	return worked;
}

static int64_t elapsed_ns(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000000000ll + (now.tv_nsec - since->tv_nsec);
}

bool dsa_core_drain_wait(struct dsa_core *core, bool (*give_up)(void *opaque), void *opaque)
{
	uint64_t want = atomic_fetch_add(&core->drain_request, 1) + 1;
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (core->ops && core->ops->kick)
		core->ops->kick(core->opaque);
	while (atomic_load(&core->drain_done) < want) {
		if ((give_up && give_up(opaque)) || elapsed_ns(&start) > DSA_DRAIN_TIMEOUT_NS)
			return false;
		sched_yield();
	}
	return true;
}

void dsa_core_set_portal(struct dsa_core *core, unsigned wq, uint8_t *pages)
{
	if (wq >= core->params.wqs)
		return;
	if (pages && !atomic_load(&core->wq[wq].portal))
		memset(pages, 0xff, DSA_PORTAL_PAGES * DSA_PAGE_SIZE);
	atomic_store_explicit(&core->wq[wq].portal, pages, memory_order_release);
}

/* ---- submission side (vCPU threads) ---- */

static bool small_descriptor(const struct dsa_hw_desc *desc)
{
	uint8_t opcode = dsa_desc_opcode(desc);

	return opcode != DSA_OP_BATCH && (opcode == DSA_OP_NOOP || opcode == DSA_OP_DRAIN ||
					  desc->xfer_size <= DSA_INLINE_MAX);
}

/*
 * Run a small descriptor on the submitting thread when it is the WQ's only
 * outstanding one (its occupancy was counted by the caller) and nobody is
 * executing for the WQ. Returns false to queue it instead.
 */
static bool try_inline(struct dsa_core *core, unsigned index, const void *desc)
{
	struct dsa_wq *wq = &core->wq[index];
	struct dsa_hw_desc copy;
	bool ran = false;

	memcpy(&copy, desc, sizeof(copy));
	if (!small_descriptor(&copy) ||
	    atomic_flag_test_and_set_explicit(&wq->executing, memory_order_acquire))
		return false;
	if (atomic_load(&wq->occupancy) == 1) {
		struct dsa_engine engine = core->engine; /* the poller's counters are its own */
		struct dsa_wq_limits limits = wq->limits;

		dsa_engine_run(&engine, index, &limits, &copy);
		atomic_fetch_add_explicit(&core->completed, 1, memory_order_relaxed);
		atomic_fetch_sub(&wq->occupancy, 1);
		ran = true;
	}
	atomic_flag_clear_explicit(&wq->executing, memory_order_release);
	return ran;
}

bool dsa_core_submit(struct dsa_core *core, unsigned index, unsigned page, const void *desc,
		     bool enqcmd)
{
	if (index >= core->params.wqs || page >= DSA_PORTAL_PAGES)
		return false;
	struct dsa_wq *wq = &core->wq[index];

	if (atomic_load_explicit(&wq->state, memory_order_acquire) != DSA_WQ_STATE_ENABLED) {
		submission_error(core, index, desc, DSA_SWERR_WQ_DISABLED);
		return false;
	}
	if (enqcmd == wq->dedicated) {
		submission_error(core, index, desc, DSA_SWERR_WQ_MODE);
		return false;
	}
	/* Limited portals (odd pages) of a shared WQ stop at the threshold. */
	unsigned limit = !wq->dedicated && (page & 1) ? wq->threshold : wq->size;

	if (atomic_fetch_add(&wq->occupancy, 1) >= limit) {
		atomic_fetch_sub(&wq->occupancy, 1);
		if (!enqcmd)
			submission_error(core, index, desc, DSA_SWERR_WQ_FULL);
		return false;
	}
	if (try_inline(core, index, desc))
		return true;
	ring_push(&wq->ring, desc); /* cannot fail: the ring holds every WQ entry */
	if (core->ops && core->ops->kick)
		core->ops->kick(core->opaque);
	return true;
}

/* ---- commands ---- */

static void quiesce(struct dsa_core *core)
{
	if (core->ops && core->ops->quiesce) {
		core->ops->quiesce(core->opaque);
		return;
	}
	while (dsa_core_poll(core, true))
		;
}

static bool device_enabled(const struct dsa_core *core)
{
	return atomic_load(&core->gensts) == DSA_STATE_ENABLED;
}

static uint64_t group_wqs(const struct dsa_core *core, unsigned group)
{
	return core->grpcfg[group][0] | core->grpcfg[group][1] | core->grpcfg[group][2] |
	       core->grpcfg[group][3];
}

static uint32_t check_groups(const struct dsa_core *core)
{
	uint64_t seen = 0, wq_mask = (1ull << core->params.wqs) - 1;
	uint64_t engine_mask = (1ull << core->params.engines) - 1;
	uint32_t total = 0;

	for (unsigned g = 0; g < core->params.groups; g++) {
		uint64_t wqs = group_wqs(core, g), engines = core->grpcfg[g][4];

		if ((core->grpcfg[g][0] & ~wq_mask) || core->grpcfg[g][1] || core->grpcfg[g][2] ||
		    core->grpcfg[g][3])
			return DSA_CMDERR_GRP_CONFIG3;
		if (engines & ~engine_mask)
			return DSA_CMDERR_GRP_CONFIG4;
		if (wqs && !engines)
			return DSA_CMDERR_GRP_CONFIG2;
		if (wqs & seen)
			return DSA_CMDERR_GRP_CONFIG;
		seen |= wqs;
	}
	for (unsigned i = 0; i < core->params.wqs; i++)
		total += core->wq[i].cfg[0] & DSA_WQCFG_SIZE_MASK;
	return total > core->params.total_wq_size ? DSA_CMDERR_WQ_SIZE_ERANGE : 0;
}

static uint32_t cmd_enable_device(struct dsa_core *core)
{
	if (device_enabled(core))
		return DSA_CMDERR_DEV_ENABLED;
	if (core->ops && core->ops->bus_master && !core->ops->bus_master(core->opaque))
		return DSA_CMDERR_BUSMASTER_EN;
	uint32_t err = check_groups(core);

	if (!err)
		atomic_store(&core->gensts, DSA_STATE_ENABLED);
	return err;
}

static void disable_all_wqs(struct dsa_core *core)
{
	for (unsigned i = 0; i < core->params.wqs; i++)
		atomic_store(&core->wq[i].state, DSA_WQ_STATE_DISABLED);
}

static uint32_t cmd_disable_device(struct dsa_core *core)
{
	if (!device_enabled(core))
		return DSA_CMDERR_DIS_DEV_EN;
	quiesce(core);
	disable_all_wqs(core);
	atomic_store(&core->gensts, DSA_STATE_DISABLED);
	return 0;
}

static bool wq_in_engine_group(const struct dsa_core *core, unsigned index)
{
	for (unsigned g = 0; g < core->params.groups; g++)
		if ((group_wqs(core, g) >> index) & 1)
			return core->grpcfg[g][4] != 0;
	return false;
}

static uint32_t enabled_wq_entries(const struct dsa_core *core)
{
	uint32_t total = 0;

	for (unsigned i = 0; i < core->params.wqs; i++)
		if (atomic_load(&core->wq[i].state) == DSA_WQ_STATE_ENABLED)
			total += core->wq[i].size;
	return total;
}

static uint32_t check_wq_config(const struct dsa_core *core, unsigned index)
{
	const uint32_t *cfg = core->wq[index].cfg;
	uint32_t size = cfg[0] & DSA_WQCFG_SIZE_MASK;
	bool dedicated = cfg[2] & DSA_WQCFG_MODE_DEDICATED;

	if (size == 0 || size > core->params.total_wq_size)
		return DSA_CMDERR_WQ_SIZE;
	if (enabled_wq_entries(core) + size > core->params.total_wq_size)
		return DSA_CMDERR_WQ_SIZE_ERANGE;
	if (!(cfg[2] & DSA_WQCFG_PRIORITY_MASK))
		return DSA_CMDERR_WQ_PRIOR;
	if (!dedicated && !(cfg[2] & DSA_WQCFG_PASID_EN))
		return DSA_CMDERR_PASID_EN;
	if ((cfg[3] & DSA_WQCFG_MAX_XFER_MASK) > core->params.max_xfer_shift)
		return DSA_CMDERR_MAX_XFER_SIZE;
	if (((cfg[3] & DSA_WQCFG_MAX_BATCH_MASK) >> DSA_WQCFG_MAX_BATCH_SHIFT) >
	    core->params.max_batch_shift)
		return DSA_CMDERR_MAX_BATCH_SIZE;
	if (!wq_in_engine_group(core, index))
		return DSA_CMDERR_CONFIG;
	return 0;
}

static void wq_snapshot_limits(struct dsa_core *core, struct dsa_wq *wq)
{
	const uint32_t *cfg = wq->cfg;

	wq->size = cfg[0] & DSA_WQCFG_SIZE_MASK;
	wq->threshold = cfg[1] & DSA_WQCFG_THRESH_MASK;
	wq->dedicated = cfg[2] & DSA_WQCFG_MODE_DEDICATED;
	wq->limits.max_xfer = 1ull << (cfg[3] & DSA_WQCFG_MAX_XFER_MASK);
	wq->limits.max_batch = 1u << ((cfg[3] & DSA_WQCFG_MAX_BATCH_MASK) >>
				      DSA_WQCFG_MAX_BATCH_SHIFT);
	wq->limits.bof_enabled = cfg[2] & DSA_WQCFG_BOF_EN;
	for (unsigned i = 0; i < 4; i++) {
		uint64_t allowed = cfg[DSA_WQCFG_OP_CONFIG_DWORD + 2 * i] |
				   (uint64_t)cfg[DSA_WQCFG_OP_CONFIG_DWORD + 2 * i + 1] << 32;

		wq->limits.ops[i] = allowed & core->params.opcap[i];
	}
}

static uint32_t cmd_enable_wq(struct dsa_core *core, uint32_t operand)
{
	if (operand >= core->params.wqs)
		return DSA_CMDERR_INVAL_WQIDX;
	if (!device_enabled(core))
		return DSA_CMDERR_DEV_NOTEN;
	struct dsa_wq *wq = &core->wq[operand];

	if (atomic_load(&wq->state) == DSA_WQ_STATE_ENABLED)
		return DSA_CMDERR_WQ_ENABLED;
	uint32_t err = check_wq_config(core, operand);

	if (err)
		return err;
	wq_snapshot_limits(core, wq);
	atomic_store_explicit(&wq->state, DSA_WQ_STATE_ENABLED, memory_order_release);
	return 0;
}

/* The WQ mask form: bit (id % 16) in bits 0-15, (id / 16) in bits 16-19. */
static uint32_t wq_mask_operand(const struct dsa_core *core, uint32_t operand, uint32_t *mask)
{
	unsigned base = ((operand >> 16) & 0xf) * 16;

	*mask = 0;
	for (unsigned bit = 0; bit < 16; bit++) {
		if (!((operand >> bit) & 1))
			continue;
		if (base + bit >= core->params.wqs)
			return DSA_CMDERR_INVAL_WQIDX;
		*mask |= 1u << (base + bit);
	}
	return 0;
}

static uint32_t cmd_wq_mask(struct dsa_core *core, unsigned command, uint32_t operand)
{
	uint32_t mask, err = wq_mask_operand(core, operand, &mask);

	if (err)
		return err;
	if (!device_enabled(core) && command != DSA_CMD_RESET_WQ)
		return DSA_CMDERR_DEV_NOT_EN;
	quiesce(core); /* drain, abort (done as drain), disable and reset all wait */
	for (unsigned i = 0; i < core->params.wqs; i++) {
		if (!((mask >> i) & 1))
			continue;
		if (command == DSA_CMD_DISABLE_WQ)
			atomic_store(&core->wq[i].state, DSA_WQ_STATE_DISABLED);
		else if (command == DSA_CMD_RESET_WQ)
			wq_reset(core, &core->wq[i]);
	}
	return 0;
}

static uint32_t cmd_reset_device(struct dsa_core *core)
{
	quiesce(core);
	disable_all_wqs(core);
	dsa_core_reset(core);
	return 0;
}

void dsa_core_function_reset(struct dsa_core *core)
{
	pthread_mutex_lock(&core->lock);
	cmd_reset_device(core);
	/* RESET_DEVICE leaves these to the command running it (its status lands there). */
	core->cmd = 0;
	atomic_store(&core->cmdsts, 0);
	atomic_store(&core->intcause, 0);
	pthread_mutex_unlock(&core->lock);
}

static uint32_t run_command(struct dsa_core *core, unsigned command, uint32_t operand)
{
	switch (command) {
	case DSA_CMD_ENABLE_DEVICE:
		return cmd_enable_device(core);
	case DSA_CMD_DISABLE_DEVICE:
		return cmd_disable_device(core);
	case DSA_CMD_DRAIN_ALL:
	case DSA_CMD_ABORT_ALL:
	case DSA_CMD_DRAIN_PASID:
	case DSA_CMD_ABORT_PASID:
		if (!device_enabled(core))
			return DSA_CMDERR_DEV_NOT_EN;
		quiesce(core);
		return 0;
	case DSA_CMD_RESET_DEVICE:
		return cmd_reset_device(core);
	case DSA_CMD_ENABLE_WQ:
		return cmd_enable_wq(core, operand);
	case DSA_CMD_DISABLE_WQ:
	case DSA_CMD_DRAIN_WQ:
	case DSA_CMD_ABORT_WQ:
	case DSA_CMD_RESET_WQ:
		return cmd_wq_mask(core, command, operand);
	default:
		return DSA_CMDERR_INVAL_CMD;
	}
}

static void write_command(struct dsa_core *core, uint32_t value)
{
	core->cmd = value;
	atomic_store(&core->cmdsts, DSA_CMDSTS_ACTIVE);
	uint32_t err = run_command(core, (value >> DSA_CMD_SHIFT) & DSA_CMD_MASK,
				   value & DSA_CMD_OPERAND_MASK);

	atomic_store(&core->cmdsts, err);
	if (err)
		log_debug("%s: CMD %#x (command %u, operand %#x) failed: CMDSTS.err %#x", core->name,
			  value, (value >> DSA_CMD_SHIFT) & DSA_CMD_MASK, value & DSA_CMD_OPERAND_MASK,
			  err);
	if (value & DSA_CMD_INT_REQ) {
		atomic_fetch_or(&core->intcause, DSA_INTCAUSE_CMD);
		raise_vector(core, 0);
	}
}

/* ---- register file (dword granular) ---- */

static uint64_t gencap(const struct dsa_core *core)
{
	return DSA_GENCAP_BLOCK_ON_FAULT | DSA_GENCAP_OVERLAP_COPY | DSA_GENCAP_CACHE_CTRL_MEM |
	       DSA_GENCAP_CMD_CAP | (uint64_t)core->params.max_xfer_shift << DSA_GENCAP_MAX_XFER_SHIFT |
	       (uint64_t)core->params.max_batch_shift << DSA_GENCAP_MAX_BATCH_SHIFT |
	       DSA_GENCAP_CONFIG_EN;
}

static uint64_t wqcap(const struct dsa_core *core)
{
	return core->params.total_wq_size | (uint64_t)core->params.wqs << DSA_WQCAP_NUM_WQS_SHIFT |
	       1ull << DSA_WQCAP_WQCFG_SIZE_SHIFT | DSA_WQCAP_SHARED_MODE |
	       DSA_WQCAP_DEDICATED_MODE | DSA_WQCAP_PRIORITY | DSA_WQCAP_OP_CONFIG;
}

/* 64-bit read-only capability registers; false when offset is not one. */
static bool read_capability(const struct dsa_core *core, uint64_t qword, uint64_t *value)
{
	switch (qword) {
	case DSA_REG_VERSION:
		*value = DSA_VERSION_VALUE;
		return true;
	case DSA_REG_GENCAP:
		*value = gencap(core);
		return true;
	case DSA_REG_WQCAP:
		*value = wqcap(core);
		return true;
	case DSA_REG_GRPCAP:
		*value = core->params.groups | (uint64_t)DSA_TOTAL_RDBUFS << 8;
		return true;
	case DSA_REG_ENGCAP:
		*value = core->params.engines;
		return true;
	case DSA_REG_TABLE_OFFSET:
		*value = DSA_GRPCFG_OFFSET / 0x100 | (uint64_t)(DSA_WQCFG_OFFSET / 0x100) << 16 |
			 (uint64_t)(DSA_MSIX_PERM_OFFSET / 0x100) << 32;
		return true;
	case DSA_REG_CMDCAP:
		*value = DSA_CMDCAP_VALUE;
		return true;
	default:
		break;
	}
	if (qword >= DSA_REG_OPCAP && qword < DSA_REG_OPCAP + 32) {
		*value = core->params.opcap[(qword - DSA_REG_OPCAP) / 8];
		return true;
	}
	return false;
}

static uint32_t wqcfg_read(const struct dsa_core *core, unsigned index, unsigned dword)
{
	const struct dsa_wq *wq = &core->wq[index];

	if (dword == 6)
		return (atomic_load(&wq->occupancy) & DSA_WQCFG_OCCUPANCY_MASK) |
		       DSA_WQCFG_MODE_SUPPORT |
		       (uint32_t)atomic_load(&wq->state) << DSA_WQCFG_STATE_SHIFT;
	return wq->cfg[dword];
}

/* Tables: GRPCFG, WQCFG, MSI-X permissions. */
static bool table_dword(const struct dsa_core *core, uint64_t offset, unsigned *table,
			unsigned *entry, unsigned *dword)
{
	if (offset >= DSA_GRPCFG_OFFSET &&
	    offset < DSA_GRPCFG_OFFSET + core->params.groups * DSA_GRPCFG_SIZE) {
		*table = 0;
		*entry = (unsigned)(offset - DSA_GRPCFG_OFFSET) / DSA_GRPCFG_SIZE;
		*dword = (unsigned)(offset - DSA_GRPCFG_OFFSET) % DSA_GRPCFG_SIZE / 4;
		return true;
	}
	if (offset >= DSA_WQCFG_OFFSET &&
	    offset < DSA_WQCFG_OFFSET + core->params.wqs * DSA_WQCFG_STRIDE) {
		*table = 1;
		*entry = (unsigned)(offset - DSA_WQCFG_OFFSET) / DSA_WQCFG_STRIDE;
		*dword = (unsigned)(offset - DSA_WQCFG_OFFSET) % DSA_WQCFG_STRIDE / 4;
		return true;
	}
	if (offset >= DSA_MSIX_PERM_OFFSET &&
	    offset < DSA_MSIX_PERM_OFFSET + core->params.msix_vectors * 8ull) {
		*table = 2;
		*entry = (unsigned)(offset - DSA_MSIX_PERM_OFFSET) / 8;
		*dword = (unsigned)(offset - DSA_MSIX_PERM_OFFSET) % 8 / 4;
		return true;
	}
	return false;
}

static uint32_t read_table(const struct dsa_core *core, uint64_t offset)
{
	unsigned table, entry, dword;

	if (!table_dword(core, offset, &table, &entry, &dword))
		return 0;
	switch (table) {
	case 0:
		return (uint32_t)(core->grpcfg[entry][dword / 2] >> (32 * (dword % 2)));
	case 1:
		return wqcfg_read(core, entry, dword);
	default:
		return dword ? 0 : core->msix_perm[entry];
	}
}

static uint32_t read_dword(struct dsa_core *core, uint64_t offset)
{
	uint64_t qword = offset & ~7ull, value;
	unsigned shift = (unsigned)(offset & 4) * 8;

	if (read_capability(core, qword, &value))
		return (uint32_t)(value >> shift);
	switch (offset) {
	case DSA_REG_GENCFG:
		return core->gencfg;
	case DSA_REG_GENCTRL:
		return atomic_load(&core->genctrl);
	case DSA_REG_GENSTS:
		return atomic_load(&core->gensts);
	case DSA_REG_INTCAUSE:
		return atomic_load(&core->intcause);
	case DSA_REG_CMD:
		return core->cmd;
	case DSA_REG_CMDSTS:
		return atomic_load(&core->cmdsts);
	default:
		break;
	}
	if (offset >= DSA_REG_SWERR && offset < DSA_REG_SWERR + 32)
		return (uint32_t)(atomic_load(&core->swerr[(offset - DSA_REG_SWERR) / 8]) >> shift);
	return read_table(core, offset);
}

static void write_table(struct dsa_core *core, uint64_t offset, uint32_t value)
{
	unsigned table, entry, dword;

	if (!table_dword(core, offset, &table, &entry, &dword))
		return;
	if (table == 0) {
		/* Group configuration only changes while the device is disabled. */
		if (device_enabled(core) || dword >= 12)
			return;
		uint64_t *q = &core->grpcfg[entry][dword / 2];
		unsigned shift = 32 * (dword % 2);

		*q = (*q & ~(0xffffffffull << shift)) | (uint64_t)value << shift;
	} else if (table == 1) {
		struct dsa_wq *wq = &core->wq[entry];

		if (atomic_load(&wq->state) != DSA_WQ_STATE_DISABLED)
			return; /* WQCFG is read-only while the WQ is enabled */
		wq->cfg[dword] = (wq->cfg[dword] & ~wqcfg_wmask[dword]) | (value & wqcfg_wmask[dword]);
	} else if (dword == 0) {
		core->msix_perm[entry] = value & MSIX_PERM_WMASK;
	}
}

static void write_dword(struct dsa_core *core, uint64_t offset, uint32_t value)
{
	switch (offset) {
	case DSA_REG_GENCFG:
		if (!device_enabled(core))
			core->gencfg = value & GENCFG_WMASK;
		return;
	case DSA_REG_GENCTRL:
		atomic_store(&core->genctrl, value & GENCTRL_WMASK);
		return;
	case DSA_REG_INTCAUSE:
		atomic_fetch_and(&core->intcause, ~value);
		return;
	case DSA_REG_CMD:
		write_command(core, value);
		return;
	case DSA_REG_SWERR:
		/* RW1C on valid/overflow; clearing valid releases the whole record. */
		if (value & (uint32_t)DSA_SWERR_VALID) {
			for (unsigned i = 1; i < 4; i++)
				atomic_store(&core->swerr[i], 0);
			atomic_store(&core->swerr[0], 0);
		} else {
			atomic_fetch_and(&core->swerr[0], ~(uint64_t)(value & DSA_SWERR_OVERFLOW));
		}
		return;
	default:
		write_table(core, offset, value);
		return;
	}
}

uint64_t dsa_core_read(struct dsa_core *core, uint64_t offset, unsigned size)
{
	uint64_t value;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return ~0ull;
	if (offset % size || offset + size > DSA_BAR0_SIZE)
		return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
	pthread_mutex_lock(&core->lock);
	if (size == 8)
		value = read_dword(core, offset) | (uint64_t)read_dword(core, offset + 4) << 32;
	else
		value = read_dword(core, offset & ~3ull) >> (8 * (offset & 3));
	pthread_mutex_unlock(&core->lock);
	return size == 8 ? value : value & ((1ull << (8 * size)) - 1);
}

void dsa_core_write(struct dsa_core *core, uint64_t offset, unsigned size, uint64_t value)
{
	/* Registers take 32- and 64-bit writes (low dword first); others are dropped. */
	if ((size != 4 && size != 8) || offset % size || offset + size > DSA_BAR0_SIZE)
		return;
	pthread_mutex_lock(&core->lock);
	write_dword(core, offset, (uint32_t)value);
	if (size == 8)
		write_dword(core, offset + 4, (uint32_t)(value >> 32));
	pthread_mutex_unlock(&core->lock);
}
