/* SPDX-License-Identifier: MIT */
/*
 * The simulator: its config file ([devices.NAME] sections, `kind` picks a
 * backend), the devices the backends register, and their common keys
 * (sim.h SIM_COMMON_KEYS). A config error is logged with file:line:col
 * and leaves the simulator off (no device is half-built).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/vfio-sim/sim_internal.h"
#include "vmm/config/config.h"

void sim_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof(line), "vfio-sim: ");

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	/* One write per line: the VMM's threads log to the same stderr. */
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
}

const char *sim_config_path(const struct sim *sim)
{
	return sim->config_path;
}

static int read_text(const char *path, char **text, size_t *len)
{
	int fd = sim_libc()->open(path, O_RDONLY | O_CLOEXEC);
	size_t capacity = 4096, used = 0;
	char *buf = malloc(capacity);

	if (fd < 0 || !buf) {
		int err = fd < 0 ? errno : ENOMEM;

		if (fd >= 0)
			sim_libc()->close(fd);
		free(buf);
		return -err;
	}
	for (;;) {
		if (used == capacity) {
			char *bigger = realloc(buf, capacity * 2);

			if (!bigger)
				break;
			buf = bigger;
			capacity *= 2;
		}
		ssize_t n = read(fd, buf + used, capacity - used);

		if (n <= 0)
			break;
		used += (size_t)n;
	}
	sim_libc()->close(fd);
	*text = buf;
	*len = used;
	return 0;
}

static uint64_t fnv1a(uint64_t hash, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		hash = (hash ^ p[i]) * 0x100000001b3ull;
	return hash;
}

/* One root per config file and content: a changed config gets a fresh tree. */
static void default_root(const char *path, const char *text, size_t len, char *out, size_t size)
{
	char real[PATH_MAX];
	uint64_t hash = 0xcbf29ce484222325ull;

	if (!sim_libc()->realpath(path, real))
		snprintf(real, sizeof(real), "%s", path);
	hash = fnv1a(hash, real, strlen(real));
	hash = fnv1a(hash, text, len);
	snprintf(out, size, "/tmp/vmm-vfio-sim-%016llx", (unsigned long long)hash);
}

struct sim_device *sim_device_by_cdev(struct sim *sim, int index)
{
	for (unsigned i = 0; i < sim->device_count; i++)
		if (sim_core_of(sim->devices[i])->cdev == index)
			return sim->devices[i];
	return NULL;
}

struct sim_device *sim_device_by_name(struct sim *sim, const char *name)
{
	for (unsigned i = 0; i < sim->device_count; i++)
		if (strcmp(sim->devices[i]->name, name) == 0)
			return sim->devices[i];
	return NULL;
}

static const char *default_driver(const char *bus)
{
	return strcmp(bus, "pci") == 0 ? "vfio-pci"
	     : strcmp(bus, "fsl-mc") == 0 ? "vfio-fsl-mc" : "vfio-platform";
}

static uint32_t default_flags(const char *bus)
{
	return strcmp(bus, "pci") == 0 ? VFIO_DEVICE_FLAGS_PCI
	     : strcmp(bus, "fsl-mc") == 0 ? VFIO_DEVICE_FLAGS_FSL_MC : VFIO_DEVICE_FLAGS_PLATFORM;
}

static void default_sysfs(struct sim *sim, const char *name, const char *bus, char *out,
			  size_t len)
{
	if (strcmp(bus, "pci") == 0) {
		snprintf(out, len, "/sys/bus/pci/devices/0000:00:%02x.0", sim->next_pci_slot);
		sim->next_pci_slot = sim->next_pci_slot % 31 + 1;
		return;
	}
	int n = snprintf(out, len, "/sys/bus/%s/devices/", bus);

	for (const char *p = name; *p && (size_t)n + 1 < len; p++)
		out[n++] = *p == '/' ? '.' : *p;
	out[n] = 0;
}

/* The section's sysfs/group keys for its first device (validated in apply_common). */
static void section_placement(struct sim *sim, const char **sysfs, int *group)
{
	const struct toml_value *v;

	if (!sim->section)
		return;
	if (!*sysfs && !sim->section_used && (v = toml_table_get(sim->section, "sysfs")) &&
	    v->type == TOML_STRING)
		*sysfs = v->u.string.str;
	if (*group < 0 && (v = toml_table_get(sim->section, "group")) && v->type == TOML_INTEGER &&
	    v->u.integer >= 0 && v->u.integer < INT_MAX)
		*group = (int)v->u.integer;
	if (*group < 0 && sim->section_group >= 0)
		*group = sim->section_group;
	sim->section_used = true;
}

struct sim_device *sim_device_add(struct sim *sim, const char *name, const char *bus,
				  const char *sysfs, int group)
{
	struct sim_device *dev;
	struct sim_dev_core *core;

	if (sim->device_count == SIM_MAX_DEVICES || sim_device_by_name(sim, name)) {
		sim_log("%s: device '%s' %s", sim->config_path, name,
			sim->device_count == SIM_MAX_DEVICES ? "is one too many" : "exists twice");
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	core = calloc(1, sizeof(*core));
	if (!dev || !core) {
		free(dev);
		free(core);
		return NULL;
	}
	section_placement(sim, &sysfs, &group);
	if (group < 0)
		group = sim->next_group++;
	if (sim->section)
		sim->section_group = group;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	snprintf(dev->bus, sizeof(dev->bus), "%s", bus);
	if (sysfs)
		snprintf(dev->sysfs, sizeof(dev->sysfs), "%s", sysfs);
	else
		default_sysfs(sim, name, bus, dev->sysfs, sizeof(dev->sysfs));
	snprintf(dev->driver, sizeof(dev->driver), "%s", default_driver(bus));
	dev->group = group;
	dev->flags = default_flags(bus);
	for (unsigned i = 0; i < SIM_MAX_REGIONS; i++)
		dev->regions[i].memfd = -1;
	dev->dma.translate = sim_dma_translate;
	dev->dma.opaque = core;
	dev->core = core;
	core->sim = sim;
	core->dev = dev;
	core->cdev = -1;
	core->active_index = -1;
	snprintf(core->section, sizeof(core->section), "%s", sim->section_name ? sim->section_name
									     : name);
	sim_irq_init(dev);
	sim->devices[sim->device_count++] = dev;
	return dev;
}

/* ---- common keys ---- */

static int parse_reserved(const struct config_context *ctx, const struct toml_value *value,
			  struct sim_range *out, unsigned *count)
{
	if (value->type != TOML_ARRAY || value->u.array->count > SIM_MAX_RESERVED)
		return config_fail(ctx, value->pos, "'reserved' must be an array of at most %d "
				   "[start, last] pairs (inclusive IOVAs)", SIM_MAX_RESERVED);
	for (size_t i = 0; i < value->u.array->count; i++) {
		const struct toml_value *pair = &value->u.array->items[i];
		const struct toml_array *a = pair->type == TOML_ARRAY ? pair->u.array : NULL;

		if (!a || a->count != 2 || a->items[0].type != TOML_INTEGER ||
		    a->items[1].type != TOML_INTEGER || a->items[0].u.integer < 0 ||
		    a->items[1].u.integer < a->items[0].u.integer)
			return config_fail(ctx, pair->pos, "'reserved' entries are [start, last] "
					   "with 0 <= start <= last, e.g. [0x10000000, 0x1000ffff]");
		out[i].start = (uint64_t)a->items[0].u.integer;
		out[i].last = (uint64_t)a->items[1].u.integer;
	}
	*count = (unsigned)value->u.array->count;
	return 0;
}

static int apply_common(struct sim *sim, const struct config_context *ctx,
			const struct toml_table *section, unsigned first)
{
	const char *driver = NULL, *sysfs = NULL;
	const struct toml_value *reserved = toml_table_get(section, "reserved");
	struct sim_range ranges[SIM_MAX_RESERVED];
	unsigned range_count = 0;
	uint64_t group = 0;
	int rc;

	if ((rc = config_get_string(ctx, section, "driver", false, &driver)) ||
	    (rc = config_get_string(ctx, section, "sysfs", false, &sysfs)) ||
	    (rc = config_get_u64(ctx, section, "group", 0, INT_MAX - 1, &group)) ||
	    (reserved && (rc = parse_reserved(ctx, reserved, ranges, &range_count))))
		return rc;
	if (sysfs && strncmp(sysfs, "/sys/", 5) != 0)
		return config_fail(ctx, toml_table_get(section, "sysfs")->pos,
				   "'sysfs' must be a path under /sys/, e.g. "
				   "\"/sys/bus/pci/devices/0000:6a:01.0\"");
	if (driver && (!*driver || strlen(driver) >= sizeof(sim->devices[0]->driver) ||
		       strchr(driver, '/')))
		return config_fail(ctx, toml_table_get(section, "driver")->pos,
				   "'driver' must be a driver name such as \"vfio-pci\" or \"idxd\"");
	for (unsigned i = first; i < sim->device_count; i++) {
		struct sim_device *dev = sim->devices[i];
		struct sim_dev_core *core = dev->core;

		if (driver)
			snprintf(dev->driver, sizeof(dev->driver), "%s", driver);
		memcpy(core->reserved, ranges, sizeof(ranges[0]) * range_count);
		core->reserved_count = range_count;
		if (dev->ops && dev->ops->reset)
			dev->flags |= VFIO_DEVICE_FLAGS_RESET;
	}
	return 0;
}

static int create_section(struct sim *sim, const struct config_context *ctx,
			  const struct toml_entry *entry)
{
	const struct toml_table *section;
	const struct sim_backend *backend;
	const char *kind = NULL;
	char known[128], error[512] = "";
	unsigned first = sim->device_count;
	int rc;

	if (entry->value.type != TOML_TABLE)
		return config_fail(ctx, entry->key_pos, "'devices.%s' must be a table with a 'kind'",
				   entry->key);
	section = entry->value.u.table;
	sim_backend_list(known, sizeof(known));
	if ((rc = config_get_string(ctx, section, "kind", false, &kind)))
		return rc;
	if (!kind)
		return config_fail(ctx, entry->key_pos, "[devices.%s] needs a 'kind': one of %s",
				   entry->key, known);
	if (!(backend = sim_backend_find(kind)))
		return config_fail(ctx, toml_table_get(section, "kind")->pos,
				   "unknown kind \"%s\"; known: %s", kind, known);
	sim->section = section;
	sim->section_name = entry->key;
	sim->section_used = false;
	sim->section_group = -1;
	rc = backend->create(sim, entry->key, section, error, sizeof(error));
	sim->section = NULL;
	sim->section_name = NULL;
	if (rc) {
		snprintf(ctx->error->message, sizeof(ctx->error->message), "%s",
			 error[0] ? error : strerror(rc < 0 ? -rc : rc));
		return rc < 0 ? rc : -rc;
	}
	if (sim->device_count == first)
		return config_fail(ctx, entry->key_pos, "[devices.%s] created no device", entry->key);
	return apply_common(sim, ctx, section, first);
}

/* Auto-assigned groups start above every group the config names. */
static int first_free_group(const struct toml_table *devices)
{
	int next = 1;

	for (size_t i = 0; devices && i < devices->count; i++) {
		const struct toml_value *v = devices->entries[i].value.type == TOML_TABLE
			? toml_table_get(devices->entries[i].value.u.table, "group") : NULL;

		if (v && v->type == TOML_INTEGER && v->u.integer >= next && v->u.integer < INT_MAX / 2)
			next = (int)v->u.integer + 1;
	}
	return next;
}

static bool vfio_driver(const char *driver)
{
	return strcmp(driver, "vfio-pci") == 0 || strcmp(driver, "vfio-platform") == 0 ||
	       strcmp(driver, "vfio-fsl-mc") == 0;
}

static int load_devices(struct sim *sim, const struct config_context *ctx,
			const struct toml_table *root)
{
	static const char *const keys[] = { "devices", NULL };
	const struct toml_value *devices = toml_table_get(root, "devices");
	int rc;

	if ((rc = config_check_keys(ctx, root, "top level", keys)))
		return rc;
	if (!devices || devices->type != TOML_TABLE) {
		snprintf(ctx->error->message, sizeof(ctx->error->message),
			 "%s: no [devices.NAME] sections", ctx->path);
		return -EINVAL;
	}
	sim->next_group = first_free_group(devices->u.table);
	for (size_t i = 0; i < devices->u.table->count; i++)
		if ((rc = create_section(sim, ctx, &devices->u.table->entries[i])))
			return rc;
	for (unsigned i = 0; i < sim->device_count; i++) {
		struct sim_dev_core *core = sim->devices[i]->core;

		core->vfio_driver = vfio_driver(sim->devices[i]->driver);
		core->cdev = core->vfio_driver ? (int)sim->cdev_count++ : -1;
	}
	return 0;
}

static int parse_config(struct sim *sim, const char *text, size_t len)
{
	struct config_error error = { "" };
	char dir[PATH_MAX];
	struct config_context ctx = { .path = sim->config_path, .dir = dir, .error = &error };
	struct toml_error terr;
	struct toml_table *root = toml_parse(text, len, &terr);
	int rc;

	snprintf(dir, sizeof(dir), "%s", sim->config_path);
	char *slash = strrchr(dir, '/');

	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	if (!root) {
		sim_log("%s:%u:%u: %s", sim->config_path, terr.pos.line, terr.pos.col, terr.message);
		return -EINVAL;
	}
	/* Kept for the simulator's life: a backend may hold on to its section. */
	sim->tree = root;
	rc = load_devices(sim, &ctx, root);
	if (rc)
		sim_log("%s", error.message[0] ? error.message : strerror(-rc));
	return rc;
}

struct sim *sim_create(const char *config_path, const char *root)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!sim)
		return NULL;
	pthread_mutex_init(&sim->lock, NULL);
	sim->next_pci_slot = 1;
	sim->irq_thread.epoll = -1;
	sim->irq_thread.stop = -1;
	sim->next_devid = 1;
	snprintf(sim->config_path, sizeof(sim->config_path), "%s", config_path);
	if ((rc = read_text(config_path, &text, &len))) {
		sim_log("%s: %s", config_path, strerror(-rc));
		sim_destroy(sim);
		return NULL;
	}
	if (root && *root)
		snprintf(sim->root, sizeof(sim->root), "%s", root);
	else
		default_root(config_path, text, len, sim->root, sizeof(sim->root));
	rc = parse_config(sim, text, len);
	free(text);
	if (rc || sim_sysfs_build(sim)) {
		sim_destroy(sim);
		return NULL;
	}
	return sim;
}

void sim_destroy(struct sim *sim)
{
	if (!sim)
		return;
	sim_irq_thread_stop(sim);
	for (unsigned i = 0; i < sim->device_count; i++) {
		struct sim_device *dev = sim->devices[i];

		if (dev->ops && dev->ops->destroy)
			dev->ops->destroy(dev);
		pthread_mutex_destroy(&sim_core_of(dev)->irq_lock);
		free(dev->core);
		free(dev);
	}
	if (sim->tree)
		toml_table_free(sim->tree);
	pthread_mutex_destroy(&sim->lock);
	free(sim);
}
