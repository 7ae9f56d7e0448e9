/* SPDX-License-Identifier: MIT */
/*
 * The DSA device without its PCI and KVM plumbing: BAR0 registers and
 * tables, the command state machine, work-queue submission (trapped and
 * polled portals) and the execution loop. devices/dsa/dsa.c wraps it in a
 * PCI function with a poller thread; unit tests and the fuzzer drive it
 * directly over a fake guest RAM.
 *
 * Threads:
 *  - BAR0 accesses (vCPU threads) serialise on `lock`, which the execution
 *    side never takes: a vCPU never waits for a descriptor to run, except
 *    in the commands whose architectural meaning is "wait until the WQ is
 *    drained" (disable, drain, abort, reset), through ops->quiesce.
 *  - Submissions (dsa_core_submit, from vCPUs in trapped mode) go through a
 *    lock-free bounded MPSC ring per WQ, except that a small descriptor
 *    (no batch, at most DSA_INLINE_MAX bytes) arriving at an idle WQ runs
 *    right away on the submitting vCPU: that costs less than the exit that
 *    brought it, and saves waking the poller. A per-WQ try-lock keeps the
 *    vCPU and the poller from executing for the same WQ at once, so a WQ's
 *    descriptors still complete in arrival order; nobody ever waits on it.
 *  - dsa_core_poll() runs on one thread (the poller): it empties the rings
 *    and scans the polled portal pages, executing descriptors in order.
 *  - WQ state, SWERR, INTCAUSE, GENSTS and CMDSTS are atomics, so the
 *    execution side and register readers never block each other.
 */
#ifndef DEVICES_DSA_CORE_H
#define DEVICES_DSA_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/dsa/engine.h"
#include "dsa_regs.h"
#include "vmm/memory.h"

#define DSA_MAX_WQS        8
#define DSA_MAX_GROUPS     4
#define DSA_MAX_ENGINES    4
#define DSA_MAX_WQ_SIZE    1024
#define DSA_MAX_VECTORS    64
#define DSA_INLINE_MAX     (64u << 10) /* bytes a trapped submission may run inline */

/* BAR0 layout (TABLE_OFFSET fields are in units of 0x100). */
#define DSA_BAR0_SIZE        0x10000
#define DSA_GRPCFG_OFFSET    0x400
#define DSA_WQCFG_OFFSET     0x800
#define DSA_WQCFG_STRIDE     64     /* WQCAP.wqcfg_size = 1 */
#define DSA_MSIX_PERM_OFFSET 0xc00
#define DSA_MSIX_TABLE_OFFSET 0x2000
#define DSA_MSIX_PBA_OFFSET  0x3000
#define DSA_VERSION_VALUE    0x100

#define DSA_PORTAL_PAGES     4       /* per WQ: unlimited, limited, and the IMS pair */
#define DSA_PORTAL_SLOTS     (DSA_PAGE_SIZE / DSA_PORTAL_SLOT)
/* What the poller leaves in a consumed polled-portal slot's first qword. */
#define DSA_PORTAL_EMPTY     0xffffffffffffffffull

struct dsa_params {
	unsigned wqs, groups, engines;
	unsigned total_wq_size;
	unsigned msix_vectors;       /* >= 2: vector 0 misc, 1.. completions */
	unsigned max_xfer_shift;     /* GENCAP */
	unsigned max_batch_shift;
	uint64_t opcap[4];
	bool polled[DSA_MAX_WQS];    /* portal pages are RAM watched by the poller */
};

struct dsa_core_ops {
	void (*raise)(void *opaque, unsigned vector);      /* MSI-X */
	bool (*bus_master)(void *opaque);                  /* PCI COMMAND.BME */
	/* Return once every descriptor submitted so far has completed. NULL: run inline. */
	void (*quiesce)(void *opaque);
	/* The execution side may have new work (kick the poller). */
	void (*kick)(void *opaque);
};

/* Lock-free bounded ring of descriptors (Vyukov): many producers, one consumer. */
struct dsa_ring_cell {
	atomic_uint_fast64_t sequence;
	struct dsa_hw_desc desc;
};

struct dsa_ring {
	struct dsa_ring_cell *cells;
	uint64_t mask;
	atomic_uint_fast64_t head;   /* producers */
	uint64_t tail;               /* the consumer */
};

struct dsa_wq {
	atomic_int state;                 /* DSA_WQ_STATE_* */
	uint32_t cfg[DSA_WQCFG_STRIDE / 4];
	struct dsa_wq_limits limits;      /* valid while enabled */
	atomic_uint occupancy;            /* accepted from trapped stores, not yet completed */
	atomic_flag executing;            /* try-lock: one executor (poller or a vCPU) at a time */
	uint32_t size, threshold;         /* snapshot at enable */
	bool dedicated;
	struct dsa_ring ring;
	/* Polled portal: host view of the WQ's 4 pages, NULL when not mapped. */
	_Atomic(uint8_t *) portal;
	unsigned next_slot[DSA_PORTAL_PAGES];
	unsigned scan_countdown;
};

struct dsa_core {
	struct dsa_params params;
	const struct dsa_core_ops *ops;
	void *opaque;
	const char *name;

	pthread_mutex_t lock;             /* BAR0 register accesses */
	uint32_t gencfg, cmd;
	atomic_uint genctrl;
	atomic_uint gensts, intcause, cmdsts;
	uint64_t grpcfg[DSA_MAX_GROUPS][DSA_GRPCFG_SIZE / 8];
	uint32_t msix_perm[DSA_MAX_VECTORS];
	atomic_uint_least64_t swerr[4];
	atomic_flag swerr_writer;         /* one writer at a time; losers set overflow */

	struct dsa_wq wq[DSA_MAX_WQS];
	struct dsa_engine engine;         /* used by the polling thread only */
	atomic_uint_fast64_t completed;   /* descriptors run from portals and rings */
	atomic_uint_fast64_t dropped;     /* submissions refused (SWERR) */
	/* Drain handshake (dsa_core_drain_wait / dsa_core_poll_draining). */
	atomic_uint_fast64_t drain_request, drain_done;
};

/* Defaults: 1 WQ (trapped), 1 group, 1 engine, 128 entries, 9 vectors, every implemented op. */
void dsa_params_default(struct dsa_params *params);
/* -EINVAL with a message for anything out of range. */
int dsa_params_check(const struct dsa_params *params, char *error, unsigned long size);

int dsa_core_init(struct dsa_core *core, const struct dsa_params *params,
		  const struct guest_memory *mem, const struct dsa_core_ops *ops, void *opaque,
		  const char *name);
void dsa_core_destroy(struct dsa_core *core);
/* RESET_DEVICE semantics: every WQ disabled, tables to defaults. */
void dsa_core_reset(struct dsa_core *core);
/*
 * Function Level Reset from outside the register file (the VFIO host
 * simulator's VFIO_DEVICE_RESET): queued work drained, then RESET_DEVICE's
 * reset plus CMD, CMDSTS and INTCAUSE cleared, under the register lock so
 * it cannot interleave with a register access or a command.
 */
void dsa_core_function_reset(struct dsa_core *core);

/* BAR0 accesses outside the MSI-X table/PBA (size 1, 2, 4 or 8). */
uint64_t dsa_core_read(struct dsa_core *core, uint64_t offset, unsigned size);
void dsa_core_write(struct dsa_core *core, uint64_t offset, unsigned size, uint64_t value);

/*
 * A 64-byte portal write (MOVDIR64B, or ENQCMD when `enqcmd`) to WQ `wq`,
 * portal page `page` (0-3). Returns true when accepted; false means dropped
 * (MOVDIR64B: logged in SWERR) or, for ENQCMD, "retry" (ZF = 1).
 */
bool dsa_core_submit(struct dsa_core *core, unsigned wq, unsigned page, const void *desc,
		     bool enqcmd);

/* Polled portal of `wq`: host memory of its DSA_PORTAL_PAGES pages, or NULL. */
void dsa_core_set_portal(struct dsa_core *core, unsigned wq, uint8_t *pages);

/* Execute what is queued or sitting in polled portals. Returns true if it found work. */
bool dsa_core_poll(struct dsa_core *core, bool full_scan);

/*
 * Disable, drain, abort and reset must wait until every descriptor
 * submitted so far has run. With a poller thread, the device's quiesce op
 * calls dsa_core_drain_wait(), which kicks the poller (ops->kick) and waits
 * until the poller, calling dsa_core_poll_draining() as its poll function,
 * has made an empty full pass after the request. Returns false (nothing
 * undone, the caller logs) after DSA_DRAIN_TIMEOUT_NS or when give_up
 * (may be NULL) says so, e.g. because the VM is stopping.
 */
#define DSA_DRAIN_TIMEOUT_NS 10000000000ll
bool dsa_core_drain_wait(struct dsa_core *core, bool (*give_up)(void *opaque), void *opaque);
/* One poller pass: a full scan while a drain is pending, which completes it when idle. */
bool dsa_core_poll_draining(struct dsa_core *core);

#endif
