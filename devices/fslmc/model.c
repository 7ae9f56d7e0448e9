/* SPDX-License-Identifier: MIT */
/*
 * The fsl-mc object model: objects in a fixed table, containers by parent
 * index, MC portals and register windows by slot, IRQ state, and the tree
 * invariants fslmc_check() verifies.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/fslmc/fslmc.h"

struct kind_info {
	const char *name;
	uint16_t major, minor;   /* default API version */
	uint8_t irqs, regions;   /* default counts */
};

/* Indexed by type code. Versions: what an MC 10.x answers for these objects. */
static const struct kind_info kinds[FSLMC_KIND_COUNT] = {
	[FSLMC_DPNI] = { "dpni", 7, 9, 1, 0 },
	[FSLMC_DPSW] = { "dpsw", 8, 9, 1, 0 },
	[FSLMC_DPIO] = { "dpio", 4, 2, 1, 2 },
	[FSLMC_DPBP] = { "dpbp", 3, 3, 0, 0 },
	[FSLMC_DPRC] = { "dprc", 6, 6, 1, 1 },
	[FSLMC_DPDMUX] = { "dpdmux", 6, 3, 1, 0 },
	[FSLMC_DPCI] = { "dpci", 3, 3, 1, 0 },
	[FSLMC_DPCON] = { "dpcon", 3, 3, 1, 0 },
	[FSLMC_DPSECI] = { "dpseci", 5, 3, 1, 0 },
	[FSLMC_DPAIOP] = { "dpaiop", 2, 2, 1, 0 },
	[FSLMC_DPMCP] = { "dpmcp", 4, 0, 1, 1 },
	[FSLMC_DPMAC] = { "dpmac", 4, 4, 1, 0 },
	[FSLMC_DPDCEI] = { "dpdcei", 2, 3, 1, 0 },
	[FSLMC_DPDMAI] = { "dpdmai", 3, 3, 1, 0 },
	[FSLMC_DPDBG] = { "dpdbg", 2, 0, 0, 0 },
	[FSLMC_DPRTC] = { "dprtc", 2, 2, 1, 0 },
};

unsigned fslmc_kind_from_name(const char *name, size_t len)
{
	for (unsigned k = 1; k < FSLMC_KIND_COUNT; k++) {
		size_t n = strlen(kinds[k].name);

		if (len == n && memcmp(name, kinds[k].name, n) == 0)
			return k;
	}
	return 0;
}

const char *fslmc_kind_name(unsigned kind)
{
	return kind > 0 && kind < FSLMC_KIND_COUNT ? kinds[kind].name : "?";
}

void fslmc_kind_defaults(unsigned kind, uint16_t *major, uint16_t *minor, uint8_t *irqs,
			 uint8_t *regions)
{
	const struct kind_info *info = &kinds[kind > 0 && kind < FSLMC_KIND_COUNT ? kind : 0];

	*major = info->major;
	*minor = info->minor;
	*irqs = info->irqs;
	*regions = info->regions;
}

/* DPRCs and DPMCPs own one MC portal, exposed as their region 0. */
static bool kind_has_portal(unsigned kind)
{
	return kind == FSLMC_DPRC || kind == FSLMC_DPMCP;
}

int fslmc_find(const struct fslmc *mc, unsigned kind, uint32_t id)
{
	for (int i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		if (mc->objs[i].used && mc->objs[i].kind == kind && mc->objs[i].id == id)
			return i;
	}
	return -1;
}

int fslmc_find_container(const struct fslmc *mc, uint32_t container_id)
{
	return fslmc_find(mc, FSLMC_DPRC, container_id);
}

int fslmc_portal_container(const struct fslmc *mc, unsigned portal)
{
	if (portal >= FSLMC_MAX_PORTALS || mc->portal_owner[portal] < 0)
		return -1;
	const struct fslmc_obj *owner = &mc->objs[mc->portal_owner[portal]];

	return owner->kind == FSLMC_DPRC ? mc->portal_owner[portal] : owner->parent;
}

uint64_t fslmc_region_gpa(const struct fslmc *mc, const struct fslmc_region *region)
{
	if (region->type == MC_REGION_MC_PORTAL)
		return mc->config->base + region->slot * FSLMC_PORTAL_SIZE;
	return mc->config->base + FSLMC_PORTAL_AREA + region->slot * FSLMC_WINDOW_SIZE;
}

static int free_slot(const int *owners, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		if (owners[i] < 0)
			return (int)i;
	}
	return -1;
}

static int free_object(const struct fslmc *mc)
{
	for (int i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		if (!mc->objs[i].used)
			return i;
	}
	return -1;
}

/* How many register windows are free (for an all-or-nothing add). */
static unsigned free_windows(const struct fslmc *mc)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FSLMC_MAX_WINDOWS; i++)
		n += mc->window_owner[i] < 0;
	return n;
}

/* Give object `index` its portal or register windows; all or nothing. */
static uint8_t assign_regions(struct fslmc *mc, int index, uint32_t size, uint32_t flags)
{
	struct fslmc_obj *obj = &mc->objs[index];

	if (kind_has_portal(obj->kind)) {
		int portal = index == 0 ? 0 : free_slot(mc->portal_owner, FSLMC_MAX_PORTALS);

		if (portal < 0 || mc->portal_owner[portal] >= 0)
			return MC_NO_RESOURCE;
		mc->portal_owner[portal] = index;
		obj->portal = portal;
		if (index != 0)
			obj->regions[0] = (struct fslmc_region){
				.type = MC_REGION_MC_PORTAL, .slot = (uint16_t)portal,
				.size = (uint32_t)FSLMC_PORTAL_SIZE,
			};
		if (mc->hooks.portal_assigned)
			mc->hooks.portal_assigned(mc->hooks.opaque, (unsigned)portal);
		return MC_OK;
	}
	if (free_windows(mc) < obj->region_count)
		return MC_NO_RESOURCE;
	for (unsigned r = 0; r < obj->region_count; r++) {
		int window = free_slot(mc->window_owner, FSLMC_MAX_WINDOWS);

		mc->window_owner[window] = index;
		obj->regions[r] = (struct fslmc_region){
			.type = MC_REGION_QBMAN_PORTAL, .slot = (uint16_t)window,
			.size = size, .flags = flags,
		};
		if (mc->hooks.window_assigned)
			mc->hooks.window_assigned(mc->hooks.opaque, (unsigned)window);
	}
	return MC_OK;
}

static uint8_t create_object(struct fslmc *mc, int index, const struct fslmc_obj_config *cfg,
			     int parent)
{
	struct fslmc_obj *obj = &mc->objs[index];

	*obj = (struct fslmc_obj){
		.used = true, .kind = (uint8_t)cfg->kind, .id = cfg->id,
		.ver_major = cfg->ver_major, .ver_minor = cfg->ver_minor,
		.irq_count = cfg->irq_count, .region_count = cfg->region_count,
		.plugged = cfg->plugged, .parent = parent, .peer = -1, .portal = -1,
		.icid = cfg->icid, .options = cfg->options,
	};
	memcpy(obj->label, cfg->label, sizeof(obj->label));
	obj->label[MC_TYPE_LEN - 1] = '\0';
	uint8_t status = assign_regions(mc, index, cfg->region_size, cfg->region_flags);

	if (status != MC_OK)
		obj->used = false;
	return status;
}

static int create_root(struct fslmc *mc)
{
	const struct fslmc_config *c = mc->config;
	struct fslmc_obj_config root = {
		.kind = FSLMC_DPRC, .id = c->root_id, .ver_major = c->dprc_major,
		.ver_minor = c->dprc_minor, .irq_count = 1, .region_count = 0, .plugged = true,
		.icid = c->root_icid, .options = c->root_options,
	};

	return create_object(mc, 0, &root, -1) == MC_OK ? 0 : -ENOSPC;
}

/* Config order may name a child container before the container itself. */
static int create_configured(struct fslmc *mc)
{
	const struct fslmc_config *c = mc->config;
	size_t done = 0, pass_done;
	bool created[FSLMC_MAX_OBJECTS] = { false };

	if (c->object_count >= FSLMC_MAX_OBJECTS)
		return -ENOSPC;
	do {
		pass_done = 0;
		for (size_t i = 0; i < c->object_count; i++) {
			int parent = fslmc_find_container(mc, c->objects[i].container);
			int index = free_object(mc);

			if (created[i] || parent < 0)
				continue;
			if (index < 0 || create_object(mc, index, &c->objects[i], parent) != MC_OK)
				return -ENOSPC;
			created[i] = true;
			pass_done++;
		}
		done += pass_done;
	} while (pass_done && done < c->object_count);
	return done == c->object_count ? 0 : -EINVAL;
}

static void connect_configured(struct fslmc *mc)
{
	const struct fslmc_config *c = mc->config;

	for (size_t i = 0; i < c->object_count; i++) {
		const struct fslmc_obj_config *cfg = &c->objects[i];
		int a = fslmc_find(mc, cfg->kind, cfg->id);
		int b = cfg->connect_kind ? fslmc_find(mc, cfg->connect_kind, cfg->connect_id) : -1;

		if (a >= 0 && b >= 0 && a != b) {
			mc->objs[a].peer = b;
			mc->objs[b].peer = a;
		}
	}
}

static void reset_tables(struct fslmc *mc)
{
	memset(mc->objs, 0, sizeof(mc->objs));
	memset(mc->sessions, 0, sizeof(mc->sessions));
	for (unsigned p = 0; p < FSLMC_MAX_PORTALS; p++)
		mc->portal_owner[p] = -1;
	for (unsigned w = 0; w < FSLMC_MAX_WINDOWS; w++)
		mc->window_owner[w] = -1;
}

int fslmc_init(struct fslmc *mc, const struct fslmc_config *config,
	       const struct fslmc_hooks *hooks)
{
	memset(mc, 0, sizeof(*mc));
	mc->config = config;
	if (hooks)
		mc->hooks = *hooks;
	mc->next_token = 0x4d43; /* "MC": arbitrary, so tokens are not small integers */
	reset_tables(mc);
	int rc = create_root(mc);

	if (!rc)
		rc = create_configured(mc);
	if (!rc)
		connect_configured(mc);
	return rc;
}

void fslmc_clear(struct fslmc *mc)
{
	for (unsigned i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		if (mc->objs[i].used && mc->hooks.obj_released)
			mc->hooks.obj_released(mc->hooks.opaque, i);
	}
	reset_tables(mc);
}

int fslmc_reset(struct fslmc *mc)
{
	struct fslmc_hooks hooks = mc->hooks;
	const struct fslmc_config *config = mc->config;
	uint64_t commands = mc->commands, errors = mc->errors;

	fslmc_clear(mc);
	int rc = fslmc_init(mc, config, &hooks);

	mc->commands = commands;
	mc->errors = errors;
	return rc;
}

/* ---- IRQs ---- */

static void irq_raise(struct fslmc *mc, int obj, unsigned irq)
{
	if (mc->hooks.irq_raise)
		mc->hooks.irq_raise(mc->hooks.opaque, (unsigned)obj, irq);
}

uint8_t fslmc_irq_assert(struct fslmc *mc, int obj, unsigned irq, uint32_t bits)
{
	if (obj < 0 || obj >= FSLMC_MAX_OBJECTS || !mc->objs[obj].used ||
	    irq >= mc->objs[obj].irq_count || !bits)
		return MC_CONFIG_ERR;
	struct fslmc_irq *state = &mc->objs[obj].irqs[irq];

	state->status |= bits;
	if (state->enabled && (bits & state->mask))
		irq_raise(mc, obj, irq);
	return MC_OK;
}

/* ---- hot plug ---- */

uint8_t fslmc_obj_add(struct fslmc *mc, int container, const struct fslmc_new_obj *desc)
{
	struct fslmc_obj_config cfg = {
		.kind = desc->kind, .id = desc->id, .irq_count = desc->irq_count,
		.region_count = desc->region_count, .region_size = (uint32_t)FSLMC_WINDOW_SIZE,
		.plugged = true,
	};
	uint8_t irqs, regions;

	if (container < 0 || container >= FSLMC_MAX_OBJECTS || !mc->objs[container].used ||
	    mc->objs[container].kind != FSLMC_DPRC)
		return MC_CONFIG_ERR;
	if (desc->kind == 0 || desc->kind >= FSLMC_KIND_COUNT ||
	    desc->irq_count > FSLMC_MAX_IRQS || desc->region_count > FSLMC_MAX_REGIONS ||
	    fslmc_find(mc, desc->kind, desc->id) >= 0)
		return MC_CONFIG_ERR;
	fslmc_kind_defaults(desc->kind, &cfg.ver_major, &cfg.ver_minor, &irqs, &regions);
	if (desc->kind == FSLMC_DPRC) {
		cfg.ver_major = mc->config->dprc_major;
		cfg.ver_minor = mc->config->dprc_minor;
		cfg.icid = desc->id;
	}
	if (kind_has_portal(desc->kind)) {
		cfg.region_count = 1;
		cfg.irq_count = desc->irq_count ? desc->irq_count : 1;
	}
	if (desc->label)
		snprintf(cfg.label, sizeof(cfg.label), "%s", desc->label);
	int index = free_object(mc);

	if (index < 0)
		return MC_NO_RESOURCE;
	uint8_t status = create_object(mc, index, &cfg, container);

	if (status != MC_OK)
		return status;
	if (mc->objs[container].irq_count)
		fslmc_irq_assert(mc, container, 0, DPRC_IRQ_EVENT_OBJ_ADDED);
	return MC_OK;
}

static void close_sessions_of(struct fslmc *mc, int obj)
{
	for (unsigned s = 0; s < FSLMC_MAX_SESSIONS; s++) {
		struct fslmc_session *session = &mc->sessions[s];

		if (session->used &&
		    (session->obj == obj || mc->portal_owner[session->portal] == obj)) {
			mc->objs[session->obj].sessions--;
			session->used = false;
		}
	}
}

/*
 * Drop one object (no children left). Its sessions go, and so do sessions
 * opened through its portal: that portal is dead.
 */
static void release_object(struct fslmc *mc, int index)
{
	struct fslmc_obj *obj = &mc->objs[index];

	close_sessions_of(mc, index);
	if (obj->peer >= 0)
		mc->objs[obj->peer].peer = -1;
	if (obj->portal >= 0)
		mc->portal_owner[obj->portal] = -1;
	for (unsigned w = 0; w < FSLMC_MAX_WINDOWS; w++) {
		if (mc->window_owner[w] == index)
			mc->window_owner[w] = -1;
	}
	if (mc->hooks.obj_released)
		mc->hooks.obj_released(mc->hooks.opaque, (unsigned)index);
	memset(obj, 0, sizeof(*obj));
}

static void remove_subtree(struct fslmc *mc, int index, unsigned depth)
{
	if (depth > FSLMC_MAX_OBJECTS)
		return; /* fslmc_check rejects cycles; belt and braces */
	for (int i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		if (mc->objs[i].used && mc->objs[i].parent == index && i != index)
			remove_subtree(mc, i, depth + 1);
	}
	release_object(mc, index);
}

uint8_t fslmc_obj_remove(struct fslmc *mc, int obj)
{
	if (obj <= 0 || obj >= FSLMC_MAX_OBJECTS || !mc->objs[obj].used)
		return MC_CONFIG_ERR;
	int container = mc->objs[obj].parent;

	remove_subtree(mc, obj, 0);
	if (container >= 0 && mc->objs[container].used && mc->objs[container].irq_count)
		fslmc_irq_assert(mc, container, 0, DPRC_IRQ_EVENT_OBJ_REMOVED);
	return MC_OK;
}
