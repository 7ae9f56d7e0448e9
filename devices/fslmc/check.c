/* SPDX-License-Identifier: MIT */
/*
 * fslmc_check(): the invariants every command must leave intact. The unit
 * tests and the fuzzer run it after each command.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devices/fslmc/fslmc.h"

__attribute__((format(printf, 3, 4)))
static int broken(char *why, size_t len, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	if (why && len)
		vsnprintf(why, len, fmt, args);
	va_end(args);
	return -EUCLEAN;
}

static bool reaches_root(const struct fslmc *mc, int index)
{
	for (unsigned steps = 0; steps <= FSLMC_MAX_OBJECTS; steps++) {
		if (index == 0)
			return true;
		if (index < 0 || index >= FSLMC_MAX_OBJECTS || !mc->objs[index].used ||
		    mc->objs[index].kind != FSLMC_DPRC)
			return false;
		index = mc->objs[index].parent;
	}
	return false;
}

static int check_regions(const struct fslmc *mc, int i, char *why, size_t len)
{
	const struct fslmc_obj *obj = &mc->objs[i];
	bool portal_kind = obj->kind == FSLMC_DPRC || obj->kind == FSLMC_DPMCP;

	if (portal_kind) {
		if (obj->portal < 0 || obj->portal >= FSLMC_MAX_PORTALS ||
		    mc->portal_owner[obj->portal] != i)
			return broken(why, len, "object %d: portal %d not owned by it", i, obj->portal);
		if (obj->region_count != (i == 0 ? 0 : 1) ||
		    (i && (obj->regions[0].type != MC_REGION_MC_PORTAL ||
			   obj->regions[0].slot != obj->portal)))
			return broken(why, len, "object %d: region 0 is not its portal", i);
		return 0;
	}
	if (obj->portal != -1)
		return broken(why, len, "object %d (%s) has a portal", i, fslmc_kind_name(obj->kind));
	for (unsigned r = 0; r < obj->region_count; r++) {
		const struct fslmc_region *region = &obj->regions[r];

		if (region->type != MC_REGION_QBMAN_PORTAL || region->slot >= FSLMC_MAX_WINDOWS ||
		    mc->window_owner[region->slot] != i || !region->size ||
		    region->size > FSLMC_WINDOW_SIZE)
			return broken(why, len, "object %d: region %u bad (slot %u)", i, r, region->slot);
		for (unsigned q = 0; q < r; q++) {
			if (obj->regions[q].slot == region->slot)
				return broken(why, len, "object %d: regions share window", i);
		}
	}
	return 0;
}

static int check_object(const struct fslmc *mc, int i, char *why, size_t len)
{
	const struct fslmc_obj *obj = &mc->objs[i];

	if (obj->kind == 0 || obj->kind >= FSLMC_KIND_COUNT || obj->irq_count > FSLMC_MAX_IRQS ||
	    obj->region_count > FSLMC_MAX_REGIONS || obj->label[MC_TYPE_LEN - 1] != '\0')
		return broken(why, len, "object %d: bad kind/counts/label", i);
	if (i == 0 ? (obj->parent != -1 || obj->kind != FSLMC_DPRC || obj->portal != 0)
		   : (obj->parent == i || !reaches_root(mc, obj->parent)))
		return broken(why, len, "object %d: parent %d does not lead to the root", i,
			      obj->parent);
	if (fslmc_find(mc, obj->kind, obj->id) != i)
		return broken(why, len, "object %d: %s.%u is not unique", i,
			      fslmc_kind_name(obj->kind), obj->id);
	if (obj->peer >= 0 && (obj->peer >= FSLMC_MAX_OBJECTS || !mc->objs[obj->peer].used ||
			       mc->objs[obj->peer].peer != i || obj->peer == i))
		return broken(why, len, "object %d: peer %d not mutual", i, obj->peer);
	return check_regions(mc, i, why, len);
}

static int check_slots(const struct fslmc *mc, char *why, size_t len)
{
	for (unsigned p = 0; p < FSLMC_MAX_PORTALS; p++) {
		int owner = mc->portal_owner[p];

		if (owner >= 0 && (owner >= FSLMC_MAX_OBJECTS || !mc->objs[owner].used ||
				   mc->objs[owner].portal != (int)p))
			return broken(why, len, "portal %u: owner %d does not own it", p, owner);
	}
	for (unsigned w = 0; w < FSLMC_MAX_WINDOWS; w++) {
		int owner = mc->window_owner[w];
		bool found = false;

		if (owner < 0)
			continue;
		if (owner >= FSLMC_MAX_OBJECTS || !mc->objs[owner].used)
			return broken(why, len, "window %u: owner %d gone", w, owner);
		for (unsigned r = 0; r < mc->objs[owner].region_count; r++)
			found |= mc->objs[owner].regions[r].slot == w;
		if (!found)
			return broken(why, len, "window %u: owner %d has no such region", w, owner);
	}
	return 0;
}

static int check_sessions(const struct fslmc *mc, char *why, size_t len)
{
	uint32_t counts[FSLMC_MAX_OBJECTS] = { 0 };

	for (unsigned s = 0; s < FSLMC_MAX_SESSIONS; s++) {
		const struct fslmc_session *session = &mc->sessions[s];

		if (!session->used)
			continue;
		if (!session->token || session->obj >= FSLMC_MAX_OBJECTS ||
		    !mc->objs[session->obj].used || session->portal >= FSLMC_MAX_PORTALS ||
		    mc->portal_owner[session->portal] < 0)
			return broken(why, len, "session %u: token %#x on a dead object or portal", s,
				      session->token);
		for (unsigned t = 0; t < s; t++) {
			if (mc->sessions[t].used && mc->sessions[t].token == session->token)
				return broken(why, len, "token %#x used twice", session->token);
		}
		counts[session->obj]++;
	}
	for (unsigned i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		if (counts[i] != mc->objs[i].sessions)
			return broken(why, len, "object %u: %u sessions counted, %u open", i,
				      mc->objs[i].sessions, counts[i]);
	}
	return 0;
}

int fslmc_check(const struct fslmc *mc, char *why, size_t len)
{
	int rc;

	if (!mc->objs[0].used)
		return broken(why, len, "no root container");
	for (int i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		if (!mc->objs[i].used) {
			if (mc->objs[i].kind || mc->objs[i].sessions)
				return broken(why, len, "free object %d not cleared", i);
			continue;
		}
		if ((rc = check_object(mc, i, why, len)))
			return rc;
	}
	if ((rc = check_slots(mc, why, len)) || (rc = check_sessions(mc, why, len)))
		return rc;
	return 0;
}
