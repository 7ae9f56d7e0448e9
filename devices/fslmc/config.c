/* SPDX-License-Identifier: MIT */
/* [devices.NAME] with type = "fsl-mc": keys in docs/config.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fslmc/fslmc.h"
#include "vmm/config/config.h"

#define FSLMC_AREA_START 0xf0000000ull /* platform MMIO area (docs/architecture.md) */
#define FSLMC_AREA_END   0xfec00000ull

/* "6.6" or "10.32.0" into up to `count` numbers; all must be present. */
static int parse_dotted(const char *text, unsigned count, uint32_t *out)
{
	for (unsigned i = 0; i < count; i++) {
		char *end;

		if (*text < '0' || *text > '9')
			return -EINVAL;
		unsigned long v = strtoul(text, &end, 10);

		if (v > 0xffff || end == text || (i + 1 < count ? *end != '.' : *end != '\0'))
			return -EINVAL;
		out[i] = (uint32_t)v;
		text = end + (i + 1 < count);
	}
	return 0;
}

static int get_version(const struct config_context *ctx, const struct toml_table *table,
		       const char *key, unsigned count, uint32_t *out)
{
	const char *text = NULL;
	int rc = config_get_string(ctx, table, key, false, &text);

	if (rc || !text)
		return rc;
	if (parse_dotted(text, count, out))
		return config_fail(ctx, toml_table_get(table, key)->pos,
				   "'%s' = \"%s\" is not a version; write %s", key, text,
				   count == 2 ? "\"MAJOR.MINOR\" such as \"6.6\""
					      : "\"MAJOR.MINOR.REVISION\" such as \"10.32.0\"");
	return 0;
}

static int get_u32(const struct config_context *ctx, const struct toml_table *table,
		   const char *key, uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t v = *out;
	int rc = config_get_u64(ctx, table, key, min, max, &v);

	*out = (uint32_t)v;
	return rc;
}

static int get_u8(const struct config_context *ctx, const struct toml_table *table,
		  const char *key, uint64_t max, uint8_t *out)
{
	uint64_t v = *out;
	int rc = config_get_u64(ctx, table, key, 0, max, &v);

	*out = (uint8_t)v;
	return rc;
}

static int get_kind(const struct config_context *ctx, const struct toml_table *table,
		    const char *key, struct toml_pos pos, unsigned *kind)
{
	const char *name = NULL;
	int rc = config_get_string(ctx, table, key, false, &name);

	if (rc)
		return rc;
	if (!name)
		return config_fail(ctx, pos, "an fsl-mc object needs a 'type' such as \"dpni\"");
	*kind = fslmc_kind_from_name(name, strlen(name));
	if (!*kind)
		return config_fail(ctx, toml_table_get(table, key)->pos,
				   "unknown fsl-mc object type \"%s\"; valid: dprc, dpmcp, dpio, "
				   "dpni, dpbp, dpcon, dpmac, dpsw, dpdmux, dpci, dpseci, dpaiop, "
				   "dpdcei, dpdmai, dpdbg, dprtc", name);
	return 0;
}

/* connect = "dpmac.1" */
static int get_connect(const struct config_context *ctx, const struct toml_table *table,
		       struct fslmc_obj_config *obj)
{
	const char *text = NULL;
	int rc = config_get_string(ctx, table, "connect", false, &text);
	const char *dot = text ? strchr(text, '.') : NULL;
	char *end = NULL;

	if (rc || !text)
		return rc;
	if (dot) {
		obj->connect_kind = fslmc_kind_from_name(text, (size_t)(dot - text));
		obj->connect_id = (uint32_t)strtoul(dot + 1, &end, 10);
	}
	if (!dot || !obj->connect_kind || dot[1] < '0' || dot[1] > '9' || *end)
		return config_fail(ctx, toml_table_get(table, "connect")->pos,
				   "'connect' = \"%s\" must name an object as \"TYPE.ID\", e.g. "
				   "\"dpmac.1\"", text);
	return 0;
}

static int parse_object_keys(const struct config_context *ctx, const struct toml_table *t,
			     struct fslmc_obj_config *obj, uint32_t root_id)
{
	static const char *const keys[] = {
		"type", "id", "container", "label", "version", "irqs", "regions", "region_size",
		"region_flags", "plugged", "icid", "options", "connect", NULL,
	};
	const char *label = NULL;
	uint32_t version[2];
	uint64_t region_size = FSLMC_WINDOW_SIZE;
	int rc;

	fslmc_kind_defaults(obj->kind, &obj->ver_major, &obj->ver_minor, &obj->irq_count,
			    &obj->region_count);
	version[0] = obj->ver_major;
	version[1] = obj->ver_minor;
	obj->container = root_id;
	obj->plugged = true;
	obj->icid = obj->id;
	if ((rc = config_check_keys(ctx, t, "devices.*.objects", keys)) ||
	    (rc = get_u32(ctx, t, "container", 0, UINT32_MAX, &obj->container)) ||
	    (rc = config_get_string(ctx, t, "label", false, &label)) ||
	    (rc = get_version(ctx, t, "version", 2, version)) ||
	    (rc = get_u8(ctx, t, "irqs", FSLMC_MAX_IRQS, &obj->irq_count)) ||
	    (rc = get_u8(ctx, t, "regions", FSLMC_MAX_REGIONS, &obj->region_count)) ||
	    (rc = config_get_size(ctx, t, "region_size", 0x1000, FSLMC_WINDOW_SIZE, &region_size)) ||
	    (rc = get_u32(ctx, t, "region_flags", 0, UINT32_MAX, &obj->region_flags)) ||
	    (rc = config_get_bool(ctx, t, "plugged", &obj->plugged)) ||
	    (rc = get_u32(ctx, t, "icid", 0, 0xffff, &obj->icid)) ||
	    (rc = get_u32(ctx, t, "options", 0, UINT32_MAX, &obj->options)) ||
	    (rc = get_connect(ctx, t, obj)))
		return rc;
	obj->ver_major = (uint16_t)version[0];
	obj->ver_minor = (uint16_t)version[1];
	obj->region_size = (uint32_t)region_size;
	if (label && strlen(label) >= MC_TYPE_LEN)
		return config_fail(ctx, toml_table_get(t, "label")->pos,
				   "'label' is at most %d characters", MC_TYPE_LEN - 1);
	if (label)
		memcpy(obj->label, label, strlen(label) + 1);
	if (region_size & 0xfff)
		return config_fail(ctx, toml_table_get(t, "region_size")->pos,
				   "'region_size' must be a multiple of 4K");
	return 0;
}

/* Keys that only make sense for some types. */
static int check_object_kind(const struct config_context *ctx, const struct toml_table *t,
			     struct fslmc_obj_config *obj)
{
	bool portal = obj->kind == FSLMC_DPRC || obj->kind == FSLMC_DPMCP;

	if (portal && toml_table_get(t, "regions"))
		return config_fail(ctx, toml_table_get(t, "regions")->pos,
				   "a %s has exactly one region, its MC portal; drop 'regions'",
				   fslmc_kind_name(obj->kind));
	if (portal && obj->irq_count == 0)
		return config_fail(ctx, toml_table_get(t, "irqs")->pos,
				   "a %s has at least one IRQ", fslmc_kind_name(obj->kind));
	if (obj->kind != FSLMC_DPRC && (toml_table_get(t, "icid") || toml_table_get(t, "options")))
		return config_fail(ctx, toml_table_get(t, toml_table_get(t, "icid") ? "icid"
								       : "options")->pos,
				   "'icid' and 'options' are for type = \"dprc\" only");
	if (portal) {
		obj->region_count = 1;
		obj->region_size = (uint32_t)FSLMC_PORTAL_SIZE;
	}
	return 0;
}

static int parse_object(const struct config_context *ctx, const struct toml_value *item,
			struct fslmc_obj_config *obj, uint32_t root_id)
{
	uint64_t id;
	int rc;

	if (item->type != TOML_TABLE)
		return config_fail(ctx, item->pos, "'objects' must be an array of tables "
				   "([[devices.NAME.objects]])");
	const struct toml_table *t = item->u.table;

	if ((rc = get_kind(ctx, t, "type", item->pos, &obj->kind)))
		return rc;
	if (!toml_table_get(t, "id"))
		return config_fail(ctx, item->pos, "an fsl-mc object needs an 'id'");
	if ((rc = config_get_u64(ctx, t, "id", 0, UINT32_MAX, &id)))
		return rc;
	obj->id = (uint32_t)id;
	if ((rc = parse_object_keys(ctx, t, obj, root_id)))
		return rc;
	return check_object_kind(ctx, t, obj);
}

static int find_config_dprc(const struct fslmc_config *c, uint32_t id)
{
	for (size_t i = 0; i < c->object_count; i++) {
		if (c->objects[i].kind == FSLMC_DPRC && c->objects[i].id == id)
			return (int)i;
	}
	return -1;
}

/* The container chain of object i ends at the root without a loop. */
static bool reaches_root(const struct fslmc_config *c, size_t i)
{
	uint32_t container = c->objects[i].container;

	for (size_t steps = 0; steps <= c->object_count; steps++) {
		if (container == c->root_id)
			return true;
		int parent = find_config_dprc(c, container);

		if (parent < 0)
			return false;
		container = c->objects[parent].container;
	}
	return false;
}

static int find_config_object(const struct fslmc_config *c, unsigned kind, uint32_t id,
			      size_t before)
{
	for (size_t j = 0; j < before; j++) {
		if (c->objects[j].kind == kind && c->objects[j].id == id)
			return (int)j;
	}
	return -1;
}

static int check_tree(const struct config_context *ctx, const struct fslmc_config *c,
		      const struct toml_array *items)
{
	unsigned portals = 1, windows = 0;

	for (size_t i = 0; i < c->object_count; i++) {
		const struct fslmc_obj_config *o = &c->objects[i];
		struct toml_pos pos = items->items[i].pos;

		if (find_config_object(c, o->kind, o->id, i) >= 0 ||
		    (o->kind == FSLMC_DPRC && o->id == c->root_id))
			return config_fail(ctx, pos, "%s.%u is defined twice (ids are unique per "
					   "type; the root container is dprc.%u)",
					   fslmc_kind_name(o->kind), o->id, c->root_id);
		if (!reaches_root(c, i))
			return config_fail(ctx, pos, "%s.%u: 'container' = %u is no dprc reachable "
					   "from the root container %u", fslmc_kind_name(o->kind),
					   o->id, o->container, c->root_id);
		portals += o->kind == FSLMC_DPRC || o->kind == FSLMC_DPMCP;
		windows += o->kind == FSLMC_DPRC || o->kind == FSLMC_DPMCP ? 0 : o->region_count;
		if (portals > FSLMC_MAX_PORTALS || windows > FSLMC_MAX_WINDOWS)
			return config_fail(ctx, pos, "too many %s: at most %d MC portals (root, "
					   "dprc, dpmcp) and %d register-window regions",
					   portals > FSLMC_MAX_PORTALS ? "portals" : "regions",
					   FSLMC_MAX_PORTALS, FSLMC_MAX_WINDOWS);
	}
	return 0;
}

static int check_connections(const struct config_context *ctx, const struct fslmc_config *c,
			     const struct toml_array *items)
{
	int peers[FSLMC_MAX_OBJECTS];

	for (size_t i = 0; i < c->object_count; i++)
		peers[i] = -1;
	for (size_t i = 0; i < c->object_count; i++) {
		const struct fslmc_obj_config *o = &c->objects[i];
		int j = o->connect_kind ? find_config_object(c, o->connect_kind, o->connect_id,
							     c->object_count) : -1;

		if (!o->connect_kind)
			continue;
		if (j < 0 || (size_t)j == i)
			return config_fail(ctx, items->items[i].pos, "%s.%u: 'connect' names no "
					   "other configured object", fslmc_kind_name(o->kind), o->id);
		if ((peers[i] >= 0 && peers[i] != j) || (peers[j] >= 0 && peers[j] != (int)i))
			return config_fail(ctx, items->items[i].pos, "%s.%u: an endpoint has one "
					   "connection at most", fslmc_kind_name(o->kind), o->id);
		peers[i] = j;
		peers[j] = (int)i;
	}
	return 0;
}

static int parse_objects(const struct config_context *ctx, const struct toml_table *section,
			 struct fslmc_config *c)
{
	const struct toml_value *value = toml_table_get(section, "objects");
	int rc;

	if (!value)
		return 0;
	if (value->type != TOML_ARRAY)
		return config_fail(ctx, value->pos, "'objects' must be an array of tables "
				   "([[devices.NAME.objects]])");
	const struct toml_array *items = value->u.array;

	if (items->count >= FSLMC_MAX_OBJECTS)
		return config_fail(ctx, value->pos, "at most %d objects", FSLMC_MAX_OBJECTS - 1);
	c->objects = calloc(items->count + 1, sizeof(*c->objects));
	if (!c->objects)
		return -ENOMEM;
	for (size_t i = 0; i < items->count; i++) {
		if ((rc = parse_object(ctx, &items->items[i], &c->objects[i], c->root_id)))
			return rc;
		c->object_count = i + 1;
	}
	if ((rc = check_tree(ctx, c, items)) || (rc = check_connections(ctx, c, items)))
		return rc;
	return 0;
}

static int parse_globals(struct fslmc_config *c, const struct toml_table *s,
			 const struct config_context *ctx)
{
	static const char *const modes[] = { "polled", "trapped", NULL };
	uint32_t dprc[2] = { 6, 6 }, fw[3] = { 10, 32, 0 };
	unsigned mode = 0;
	int rc;

	if ((rc = config_get_u64(ctx, s, "base", FSLMC_AREA_START, FSLMC_AREA_END - FSLMC_TOTAL_SIZE,
				 &c->base)) ||
	    (rc = config_get_choice(ctx, s, "portal", modes, &mode)) ||
	    (rc = get_u32(ctx, s, "container_id", 0, UINT32_MAX, &c->root_id)) ||
	    (rc = get_u32(ctx, s, "icid", 0, 0xffff, &c->root_icid)) ||
	    (rc = get_u32(ctx, s, "options", 0, UINT32_MAX, &c->root_options)) ||
	    (rc = get_version(ctx, s, "dprc_version", 2, dprc)) ||
	    (rc = get_version(ctx, s, "firmware_version", 3, fw)) ||
	    (rc = config_get_bool(ctx, s, "test_hook", &c->test_hook)) ||
	    (rc = get_u32(ctx, s, "poll_spin_us", 0, 1000000, &c->poll_spin_us)) ||
	    (rc = get_u32(ctx, s, "poll_park_us", 1, 1000000, &c->poll_park_us)))
		return rc;
	c->polled = mode == 0;
	c->dprc_major = (uint16_t)dprc[0];
	c->dprc_minor = (uint16_t)dprc[1];
	c->fw_major = fw[0];
	c->fw_minor = fw[1];
	c->fw_revision = fw[2];
	if (c->base & (FSLMC_PORTAL_SIZE - 1))
		return config_fail(ctx, toml_table_get(s, "base")->pos,
				   "'base' must be 64K-aligned");
	if (c->dprc_major < 6)
		return config_fail(ctx, toml_table_get(s, "dprc_version")->pos,
				   "'dprc_version' major must be 6 or more (Linux needs 6.0)");
	return 0;
}

int fslmc_config_parse_with(struct fslmc_config *c, const char *name, const struct toml_table *s,
			    const struct config_context *ctx, const char *const *extra_keys)
{
	static const char *const own[] = {
		"type", "base", "portal", "container_id", "icid", "options", "dprc_version",
		"firmware_version", "test_hook", "poll_spin_us", "poll_park_us", "objects",
	};
	const size_t own_count = sizeof(own) / sizeof(own[0]);
	const char *keys[sizeof(own) / sizeof(own[0]) + 16];
	size_t count = 0;
	char table_name[96];
	int rc;

	for (size_t i = 0; i < own_count; i++)
		keys[count++] = own[i];
	for (size_t i = 0; extra_keys && extra_keys[i] && count + 1 < sizeof(keys) / sizeof(keys[0]);
	     i++)
		keys[count++] = extra_keys[i];
	keys[count] = NULL;
	*c = (struct fslmc_config){
		.base = FSLMC_AREA_START, .polled = true, .root_id = 1, .poll_spin_us = 200,
		.poll_park_us = 1000,
	};
	snprintf(table_name, sizeof(table_name), "devices.%s", name);
	if ((rc = config_check_keys(ctx, s, table_name, keys)) ||
	    (rc = parse_globals(c, s, ctx)))
		return rc;
	if (!toml_table_get(s, "icid"))
		c->root_icid = c->root_id;
	return parse_objects(ctx, s, c);
}

int fslmc_config_parse(struct fslmc_config *c, const char *name, const struct toml_table *s,
		       const struct config_context *ctx)
{
	return fslmc_config_parse_with(c, name, s, ctx, NULL);
}

void fslmc_config_free(struct fslmc_config *config)
{
	free(config->objects);
	config->objects = NULL;
	config->object_count = 0;
}
