/* SPDX-License-Identifier: MIT */
/*
 * Emulated NXP DPAA2 Management Complex (fsl-mc): the object model (a root
 * DPRC container, its objects, nested child containers), sessions, the
 * command decoder, and the IRQ state of every object. docs/devices/fsl-mc.md.
 *
 * This core knows nothing of KVM: it executes one 64-byte command at a time
 * for a portal and reports interrupts and portal/window changes through
 * struct fslmc_hooks. devices/fslmc/device.c puts it on a VM (portal pages,
 * poller, MMIO windows, MSIs); unit tests and the fuzzer drive it directly.
 * None of these functions lock: the caller serialises (device.c holds its
 * mutex around every call).
 */
#ifndef DEVICES_FSLMC_FSLMC_H
#define DEVICES_FSLMC_FSLMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/fslmc/protocol.h"

#define FSLMC_MAX_OBJECTS   128 /* root DPRC included */
#define FSLMC_MAX_IRQS      8   /* per object */
#define FSLMC_MAX_REGIONS   4   /* per object */
#define FSLMC_MAX_SESSIONS  128 /* open tokens, whole MC */
#define FSLMC_MAX_PORTALS   16  /* MC portals: root, child DPRCs, DPMCPs */
#define FSLMC_PORTAL_SIZE   0x10000ull
#define FSLMC_MAX_WINDOWS   64  /* register windows of other objects' regions */
#define FSLMC_WINDOW_SIZE   0x10000ull
#define FSLMC_PORTAL_AREA   (FSLMC_MAX_PORTALS * FSLMC_PORTAL_SIZE)
#define FSLMC_WINDOW_AREA   (FSLMC_MAX_WINDOWS * FSLMC_WINDOW_SIZE)
#define FSLMC_TOTAL_SIZE    (FSLMC_PORTAL_AREA + FSLMC_WINDOW_AREA)
#define FSLMC_ROOT_PORTAL_REG 0x40 /* reg[0] size in the DT: the command area */

/* Object type codes: OPEN is command 0x800 + code, GET_API_VERSION 0xa00 + code. */
enum fslmc_kind {
	FSLMC_DPNI = 0x1, FSLMC_DPSW, FSLMC_DPIO, FSLMC_DPBP, FSLMC_DPRC, FSLMC_DPDMUX,
	FSLMC_DPCI, FSLMC_DPCON, FSLMC_DPSECI, FSLMC_DPAIOP, FSLMC_DPMCP, FSLMC_DPMAC,
	FSLMC_DPDCEI, FSLMC_DPDMAI, FSLMC_DPDBG, FSLMC_DPRTC,
	FSLMC_KIND_COUNT
};

/* "dpni" -> FSLMC_DPNI; 0 when unknown. name need not be NUL-terminated past len. */
unsigned fslmc_kind_from_name(const char *name, size_t len);
const char *fslmc_kind_name(unsigned kind);
/* Defaults when config gives none: API version, IRQs, regions. */
void fslmc_kind_defaults(unsigned kind, uint16_t *major, uint16_t *minor, uint8_t *irqs,
			 uint8_t *regions);

/* ---- configuration (parsed from [devices.NAME], see docs/config.md) ---- */

struct fslmc_obj_config {
	unsigned kind;
	uint32_t id;
	uint32_t container;       /* id of the DPRC holding it */
	char label[MC_TYPE_LEN];
	uint16_t ver_major, ver_minor;
	uint8_t irq_count, region_count;
	uint32_t region_size;     /* register windows: bytes (v3 answer) */
	uint32_t region_flags;
	bool plugged;
	uint32_t icid, options;   /* DPRC only */
	unsigned connect_kind;    /* 0: not connected */
	uint32_t connect_id;
};

struct fslmc_config {
	uint64_t base;            /* MC portals, then register windows */
	bool polled;              /* portal = "polled" (default) or "trapped" */
	uint32_t root_id, root_icid, root_options;
	uint16_t dprc_major, dprc_minor;  /* advertised DPRC API version */
	uint32_t fw_major, fw_minor, fw_revision;
	bool test_hook;
	uint32_t poll_spin_us, poll_park_us;
	struct fslmc_obj_config *objects;
	size_t object_count;
};

/* ---- model ---- */

struct fslmc_irq {
	uint64_t addr;
	uint32_t data, irq_num;
	uint32_t status, mask;
	bool enabled;
};

struct fslmc_region {
	uint8_t type;     /* MC_REGION_MC_PORTAL or MC_REGION_QBMAN_PORTAL */
	uint16_t slot;    /* portal index, or register-window index */
	uint32_t size;    /* reported by GET_OBJ_REG v3 */
	uint32_t flags;
};

struct fslmc_obj {
	bool used;
	uint8_t kind;
	uint32_t id;
	char label[MC_TYPE_LEN];
	uint16_t ver_major, ver_minor;
	uint8_t irq_count, region_count;
	uint16_t flags;
	bool plugged;
	int parent;       /* index of the containing DPRC; -1 for the root */
	int peer;         /* connected endpoint's index, or -1 */
	uint32_t icid, options;   /* DPRC */
	int portal;       /* DPRC and DPMCP: MC portal index; else -1 */
	bool enabled;     /* DPBP */
	uint32_t sessions;        /* open tokens on it */
	struct fslmc_region regions[FSLMC_MAX_REGIONS];
	struct fslmc_irq irqs[FSLMC_MAX_IRQS];
};

struct fslmc_session {
	bool used;
	uint16_t token;
	uint16_t obj;
	uint16_t portal;
};

/* Callbacks into the device layer; any may be NULL. */
struct fslmc_hooks {
	/* SET_IRQ/SET_OBJ_IRQ: returns 0 or -errno (-> NO_RESOURCE). */
	int (*irq_program)(void *opaque, unsigned obj, unsigned irq, uint64_t addr, uint32_t data);
	void (*irq_raise)(void *opaque, unsigned obj, unsigned irq);
	/* The object left the tree: give back its MSIs. */
	void (*obj_released)(void *opaque, unsigned obj);
	/* A portal or register window was (re)assigned: clear its memory. */
	void (*portal_assigned)(void *opaque, unsigned portal);
	void (*window_assigned)(void *opaque, unsigned window);
	void *opaque;
};

struct fslmc {
	const struct fslmc_config *config;
	struct fslmc_hooks hooks;
	struct fslmc_obj objs[FSLMC_MAX_OBJECTS];   /* [0] is the root DPRC */
	struct fslmc_session sessions[FSLMC_MAX_SESSIONS];
	int portal_owner[FSLMC_MAX_PORTALS];        /* object index or -1 */
	int window_owner[FSLMC_MAX_WINDOWS];        /* object index or -1 */
	uint16_t next_token;
	uint64_t commands, errors;  /* statistics */
};

/* One command as it sits in the portal. */
struct fslmc_cmd {
	uint64_t header;
	uint8_t params[MC_PARAMS_SIZE];
};

/*
 * Build the tree from config (validated by fslmc_config_parse). Returns 0,
 * or -ENOSPC/-EINVAL if it does not fit (config validation prevents that).
 */
int fslmc_init(struct fslmc *mc, const struct fslmc_config *config,
	       const struct fslmc_hooks *hooks);
/* Back to the configured tree: sessions closed, IRQs cleared, runtime changes undone. */
int fslmc_reset(struct fslmc *mc);
/* Release every object (hooks called); the model is empty afterwards. */
void fslmc_clear(struct fslmc *mc);

/*
 * Execute the command in *cmd, submitted on `portal`, and turn *cmd into the
 * response: header status (and token for OPEN); params replaced by the
 * response on MC_OK, untouched on an error. Returns the status. A portal
 * with no owner answers MC_INVALID_STATE.
 */
uint8_t fslmc_execute(struct fslmc *mc, unsigned portal, struct fslmc_cmd *cmd);

/* VMM-side hot plug (what the test-hook commands call). Return an MC status. */
struct fslmc_new_obj {
	unsigned kind;
	uint32_t id;
	uint8_t irq_count, region_count;
	const char *label;   /* may be NULL */
};
uint8_t fslmc_obj_add(struct fslmc *mc, int container, const struct fslmc_new_obj *desc);
/* Remove object `obj` (a DPRC with everything in it); raises OBJ_REMOVED on its container. */
uint8_t fslmc_obj_remove(struct fslmc *mc, int obj);
/* Set status bits of one object IRQ and raise the MSI if enabled and unmasked. */
uint8_t fslmc_irq_assert(struct fslmc *mc, int obj, unsigned irq, uint32_t bits);

/* Lookup helpers (index or -1). */
int fslmc_find(const struct fslmc *mc, unsigned kind, uint32_t id);
int fslmc_find_container(const struct fslmc *mc, uint32_t container_id);
/* Container the commands on `portal` act for, or -1. */
int fslmc_portal_container(const struct fslmc *mc, unsigned portal);
/* Guest-physical address of an object's region. */
uint64_t fslmc_region_gpa(const struct fslmc *mc, const struct fslmc_region *region);

/*
 * Tree invariants (parents, ids, portals, windows, sessions, open counts,
 * peers). Returns 0 or -EUCLEAN with a description in why.
 */
int fslmc_check(const struct fslmc *mc, char *why, size_t len);

/*
 * The same on a realized "fsl-mc" device (device.c), under its lock: add an
 * object to container `container_id` / remove one (with OBJ_ADDED /
 * OBJ_REMOVED on its container's IRQ 0). Returns 0, -EINVAL (no such
 * container or object, duplicate id, bad counts) or -ENOSPC (no room).
 */
struct device;
int fslmc_device_hotplug(struct device *dev, uint32_t container_id,
			 const struct fslmc_new_obj *desc);
int fslmc_device_unplug(struct device *dev, unsigned kind, uint32_t id);
/* Host view of a realized device's portal window (what a polled guest writes); for tests. */
uint8_t *fslmc_device_portal(struct device *dev, unsigned portal);

/* ---- config (config.c) ---- */
struct toml_table;
struct config_context;
int fslmc_config_parse(struct fslmc_config *config, const char *name,
		       const struct toml_table *section, const struct config_context *ctx);
/* The same, also accepting the NULL-terminated extra_keys (at most 15; the
 * VFIO host simulator's section has keys of its own). */
int fslmc_config_parse_with(struct fslmc_config *config, const char *name,
			    const struct toml_table *section, const struct config_context *ctx,
			    const char *const *extra_keys);
void fslmc_config_free(struct fslmc_config *config);

#endif
