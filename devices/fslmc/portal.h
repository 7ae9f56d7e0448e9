/* SPDX-License-Identifier: MIT */
/*
 * The guest-facing MC portal windows of an fsl-mc device: 16 windows of
 * 64 KiB from `base`, each with a 64-byte command area. A command is
 * submitted when the header's status byte becomes READY
 * (docs/devices/fsl-mc.md, "The submission rule"); the portals snapshot it
 * and hand it to whatever executes commands behind them:
 *
 *   - the emulated MC (device.c: fslmc_execute() on the local model), or
 *   - the passthrough forwarder (forward.c, through devices/vfio/fslmc.c),
 *     which sends it to the host MC and virtualizes some commands.
 *
 * Polled: the windows are a RAM memslot watched by a poller thread; the
 * guest never exits. Trapped: an MMIO region; the write covering the status
 * byte executes in the exit path. Either way the executor runs with the
 * owner's lock held, and the response parameters are written before the
 * header, so a guest that sees status != READY may read them.
 */
#ifndef DEVICES_FSLMC_PORTAL_H
#define DEVICES_FSLMC_PORTAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/fslmc/fslmc.h"
#include "vmm/poll.h"

struct vm;

/* Turn *cmd (a snapshot of `portal`'s command area) into its response. */
typedef void fslmc_portal_exec_fn(void *opaque, unsigned portal, struct fslmc_cmd *cmd);

struct fslmc_portals {
	const char *name;          /* the device's, for logs and the poller thread */
	pthread_mutex_t *lock;     /* the owner's: held around every exec call */
	fslmc_portal_exec_fn *exec;
	void *opaque;
	uint64_t base;
	bool polled;
	uint8_t *area;             /* FSLMC_PORTAL_AREA bytes of host memory */
	int ram_slot;              /* polled: the memslot; else -1 */
	struct poller_tuning tuning;
	struct poller poller;
	bool poller_ready;
	bool bus_registered;
};

struct fslmc_portals_setup {
	const char *name;
	uint64_t base;
	bool polled;
	uint32_t poll_spin_us, poll_park_us;
	pthread_mutex_t *lock;
	fslmc_portal_exec_fn *exec;
	void *opaque;
};

/* Allocate the windows (zeroed); nothing on a VM yet. 0 or -ENOMEM. */
int fslmc_portals_init(struct fslmc_portals *p, const struct fslmc_portals_setup *setup);
/* Put them on the VM (bus region; polled: memslot and poller). 0 or -errno (logged). */
int fslmc_portals_realize(struct fslmc_portals *p, struct vm *vm);
/* Zero a window's command area (it was (re)assigned); owner's lock held. */
void fslmc_portals_clear(struct fslmc_portals *p, unsigned portal);
/* Host view of a window, or NULL. */
uint8_t *fslmc_portals_window(struct fslmc_portals *p, unsigned portal);
/* Stop the poller (the vCPUs have stopped); idempotent. */
void fslmc_portals_stop(struct fslmc_portals *p);
/* Give back memslot and poller, free the windows; safe after a partial realize. */
void fslmc_portals_destroy(struct fslmc_portals *p, struct vm *vm);

#endif
