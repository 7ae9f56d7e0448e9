/* SPDX-License-Identifier: MIT */
/*
 * The MC command forwarder of a passed-through DPRC (docs/devices/vfio-fsl-mc.md).
 *
 * The guest talks to the same emulated portal windows as with the local
 * model (portal.h); behind them, this forwarder sends each command to the
 * host MC portal that backs the guest portal (the DPRC's portal through
 * its vfio device, a DPMCP's through its mapped region: the `send` host
 * operation) and returns the host's answer, except for what a guest must
 * not reach or see:
 *
 *   virtualized  SET_IRQ, SET_OBJ_IRQ: never forwarded (the host kernel
 *                owns the MC's MSI programming); the object's host IRQ is
 *                routed to the guest's address/data instead (`irq_program`:
 *                an eventfd on the object's vfio device feeding a KVM MSI
 *                route). The host validates first through a harmless probe
 *                on the same token (GET_IRQ / GET_ATTR), so the guest gets
 *                the MC's own AUTH_ERR/CONFIG_ERR/UNSUPPORTED_OP.
 *                GET_IRQ, GET_OBJ_IRQ: forwarded, answered with the guest's
 *                values instead of the host's MSI.
 *   rewritten    GET_OBJ_REG: host addresses become the guest addresses
 *                where the object's region is mapped.
 *   refused      commands that change what the container holds or its
 *                isolation (CREATE/DESTROY_CONT, SET_RES_QUOTA, ASSIGN,
 *                UNASSIGN, object CREATE/DESTROY, GET_PORTAL_PADDR, which
 *                would reveal a host address): NO_PRIVILEGE.
 *   tracked      OPEN/CLOSE (token -> object, per guest portal), GET_OBJ
 *                (which container holds what), RESET_CONT (the sessions
 *                the MC closed with it), the test hook's REMOVE_OBJ (the
 *                object's host device is let go).
 *
 * Objects are attached (their host device opened, regions given guest
 * addresses, `attach`) at scan time, or lazily when the guest first needs
 * one (hot-plugged objects). Guest addresses keep the emulated layout: MC
 * portals in the 16 portal windows, other regions in the register windows.
 *
 * No locking: the caller serialises every call (the portals' owner lock).
 */
#ifndef DEVICES_FSLMC_FORWARD_H
#define DEVICES_FSLMC_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/fslmc/fslmc.h"

#define FSLMC_FWD_MAX_SESSIONS 512
/* GET_OBJ calls per container at realize: several times the object table. */
#define FSLMC_SCAN_MAX_OBJECTS (4 * FSLMC_MAX_OBJECTS)
#define FSLMC_FWD_CONTAINER_UNKNOWN (-2)

struct fslmc_fwd_region {
	bool mapped;               /* has a guest address */
	uint8_t type;              /* MC_REGION_MC_PORTAL or MC_REGION_QBMAN_PORTAL (where it lives) */
	uint64_t gpa;
};

struct fslmc_fwd_irq {
	uint64_t addr;             /* the guest's SET_IRQ values */
	uint32_t data, irq_num;
	bool routed;               /* irq_program succeeded */
};

struct fslmc_fwd_obj {
	bool used;
	bool attached;             /* its host device is open */
	bool attach_failed;        /* tried once and failed: not retried */
	bool plugged;              /* GET_OBJ state (unplugged objects have no host device) */
	uint8_t kind;
	uint32_t id;
	int container;             /* index of the holding DPRC; -1 root; FSLMC_FWD_CONTAINER_UNKNOWN */
	uint8_t irq_count, region_count;   /* from GET_OBJ */
	int portal;                /* DPRC/DPMCP: guest portal window, -1 */
	struct fslmc_fwd_region regions[FSLMC_MAX_REGIONS];
	struct fslmc_fwd_irq irqs[FSLMC_MAX_IRQS];
};

struct fslmc_fwd_session {
	bool used;
	uint16_t portal, token;
	uint16_t obj;
	uint64_t stamp;            /* for evicting the oldest when full */
};

struct fslmc_fwd;

struct fslmc_fwd_host_ops {
	/*
	 * Run *cmd (header with READY) on the host portal behind guest portal
	 * `portal`; *cmd becomes the host's 64 bytes afterwards. 0, or -errno
	 * when the host portal failed (-ETIMEDOUT: no answer in time).
	 */
	int (*send)(void *opaque, unsigned portal, struct fslmc_cmd *cmd);
	/*
	 * Open object `obj`'s host device (kind, id, container, counts filled
	 * in) and map its regions: call fslmc_fwd_map_portal() or
	 * fslmc_fwd_map_region() for each. 0 or -errno (logged).
	 */
	int (*attach)(void *opaque, struct fslmc_fwd *fwd, unsigned obj);
	/* The object is gone (or the forwarder is torn down): undo attach. */
	void (*detach)(void *opaque, struct fslmc_fwd *fwd, unsigned obj);
	/* Route the object's host IRQ `irq` to the guest's MSI. 0 or -errno (-> NO_RESOURCE). */
	int (*irq_program)(void *opaque, unsigned obj, unsigned irq, uint64_t addr, uint32_t data);
	void *opaque;
};

struct fslmc_fwd {
	const char *name;          /* for logs */
	uint64_t base;             /* guest base: portal windows, then register windows */
	struct fslmc_fwd_host_ops host;
	struct fslmc_fwd_obj objs[FSLMC_MAX_OBJECTS];  /* [0] the passed-through DPRC */
	int portal_obj[FSLMC_MAX_PORTALS];             /* guest portal -> owning object, -1 */
	int window_obj[FSLMC_MAX_WINDOWS];             /* register window -> object, -1 */
	struct fslmc_fwd_session sessions[FSLMC_FWD_MAX_SESSIONS];
	uint64_t clock;
	uint32_t warned;           /* guest-triggerable warnings already logged once */
	uint64_t forwarded, virtualized, refused, host_errors;  /* statistics */
};

/*
 * Set up with the passed-through DPRC as object 0 owning guest portal 0
 * (its host portal must already answer through `send`). No commands yet.
 */
void fslmc_fwd_init(struct fslmc_fwd *fwd, const char *name, uint64_t base,
		    const struct fslmc_fwd_host_ops *host);
/*
 * Learn the tree from the host (GET_CONT_ID, then OPEN/GET_OBJ_COUNT/
 * GET_OBJ/CLOSE of every container, breadth first) and attach every
 * plugged object in that order, so guest portal and window numbers follow
 * the host's object order. 0 or -errno (logged: an MC status the host gave
 * becomes -EIO).
 */
int fslmc_fwd_scan(struct fslmc_fwd *fwd);
/* Detach every object (host devices closed); the forwarder is empty. */
void fslmc_fwd_clear(struct fslmc_fwd *fwd);

/* Execute a guest command submitted on guest portal `portal`; *cmd becomes the response. */
void fslmc_fwd_execute(struct fslmc_fwd *fwd, unsigned portal, struct fslmc_cmd *cmd);

/* For attach: give obj's MC portal (region 0) the next free guest portal window. Its gpa, or 0. */
uint64_t fslmc_fwd_map_portal(struct fslmc_fwd *fwd, unsigned obj);
/* For attach: give region `index` of `size` bytes enough register windows. Its gpa, or 0. */
uint64_t fslmc_fwd_map_region(struct fslmc_fwd *fwd, unsigned obj, unsigned index, uint64_t size);

/* Lookups (index or -1). */
int fslmc_fwd_find(const struct fslmc_fwd *fwd, unsigned kind, uint32_t id);
/* The DPRC whose commands `portal` carries, or -1. */
int fslmc_fwd_portal_container(const struct fslmc_fwd *fwd, unsigned portal);
/* The object a register-window offset (from base + portal area) belongs to, and its region. */
int fslmc_fwd_window_owner(const struct fslmc_fwd *fwd, uint64_t offset, unsigned *region,
			   uint64_t *region_offset);

/* MC status for a failed host portal access. */
uint8_t fslmc_fwd_errno_status(int err);

#endif
