/* SPDX-License-Identifier: MIT */
/*
 * Simulator backend kind "fsl-mc": a DPRC container and its objects behind
 * a simulated Management Complex, bound to vfio-fsl-mc. The MC is the
 * project's own model (devices/fslmc: fslmc_init/fslmc_execute), its
 * config parsed from the section with the emulated device's keys
 * (docs/config.md, type = "fsl-mc") plus:
 *
 *   host_base  where the MC's portals and register windows sit in the
 *              host's physical map (default 0x80c000000, an LS2088's), so
 *              GET_OBJ_REG answers are host addresses the VMM must rewrite
 *   hotplug    ["dpmcp.9", "dprc.2/dpcon.7", ...]: objects the test hook
 *              may add later, relative to the DPRC. The simulated sysfs is
 *              built once at start, so their devices exist from the start
 *              and come alive when the MC creates the object.
 *
 * Devices, as vfio-fsl-mc shows them (device-facts 4.6):
 *   the DPRC    sysfs = the section's (default /sys/bus/fsl-mc/devices/
 *               dprc.<container_id>); region 0 = its MC portal, READ|WRITE,
 *               not mmappable, only 64-byte accesses at offset 0: a write
 *               executes the command, a read returns the portal; IRQ 0
 *               (count 1); RESET = RESET_CONT of itself, non-recursive
 *               (also when its last fd closes)
 *   each plugged object, in its container's directory
 *               (.../dprc.1/dpni.1, .../dprc.1/dprc.2/dpmcp.3): regions
 *               are page-aligned mmappable memory; a DPMCP's region 0 is
 *               its MC portal: 64-byte pwrite/pread at offset 0 as for the
 *               DPRC (mainline vfio-fsl-mc allows it on any object), and a
 *               command stored into its mapping runs too (this backend's
 *               poller watches it, as the MC hardware would); a child
 *               DPRC's portal and RESET work as the DPRC's above; one IRQ
 *               index (count 1) per object IRQ; RESET for DPRCs only
 * All of them share the section's IOMMU group. MSIs the model raises
 * (DPRC events, DPMCP completions, test-hook asserts) are sim_irq_raise()
 * on the object's device; SET_IRQ commands never reach this MC through the
 * VMM (it virtualizes them), as with the host kernel owning the MSIs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/fslmc/fslmc.h"
#include "tests/vfio-sim/sim.h"
#include "vmm/config/config.h"

#define DEFAULT_HOST_BASE 0x80c000000ull
#define MAX_HOTPLUG 16
#define PAGE 4096ull

struct mc_backend;

/* One simulated device: the DPRC or an object. */
struct mc_simdev {
	struct mc_backend *mc;
	struct sim_device *dev;
	unsigned kind;
	uint32_t id;
	char container_path[96];     /* "" for the DPRC, else "dprc.2/" style prefix */
	int obj;                     /* model index; -1 while absent or after removal */
	int portal;                  /* model portal of a DPRC/DPMCP, -1 */
	uint64_t dprc_portal[MC_CMD_SIZE / 8]; /* DPRC: the portal's 64 bytes (pread/pwrite) */
};

struct mc_backend {
	struct fslmc_config config;
	struct fslmc mc;
	pthread_mutex_t lock;        /* the model and every device's portal */
	struct mc_simdev *devs[FSLMC_MAX_OBJECTS + MAX_HOTPLUG];
	unsigned dev_count;
	char home[256];              /* the DPRC's sysfs directory as created */
	pthread_t poller;
	bool poller_running;
	atomic_bool stop;
};

/* ---- model hooks (lock held) ---- */

static struct mc_simdev *dev_of_obj(struct mc_backend *b, unsigned obj)
{
	for (unsigned i = 0; i < b->dev_count; i++) {
		if (b->devs[i]->obj == (int)obj)
			return b->devs[i];
	}
	return NULL;
}

static void hook_raise(void *opaque, unsigned obj, unsigned irq)
{
	struct mc_simdev *d = dev_of_obj(opaque, obj);

	if (d)
		sim_irq_raise(d->dev, irq, 0);
}

/* The object left the MC: its device stays (sysfs is static) but is dead. */
static void hook_released(void *opaque, unsigned obj)
{
	struct mc_simdev *d = dev_of_obj(opaque, obj);

	if (d)
		d->obj = d->portal = -1;
}

/* ---- binding devices to model objects ---- */

/* The container path ("" root, "dprc.2/") of model object `index`. */
static void container_path_of(const struct fslmc *mc, int index, char *out, size_t len)
{
	int chain[FSLMC_MAX_OBJECTS], depth = 0;

	out[0] = '\0';
	for (int c = mc->objs[index].parent; c > 0 && depth < FSLMC_MAX_OBJECTS;
	     c = mc->objs[c].parent)
		chain[depth++] = c;
	while (depth-- > 0) {
		size_t used = strlen(out);

		snprintf(out + used, len - used, "dprc.%u/", mc->objs[chain[depth]].id);
	}
}

static int setup_object_regions(struct mc_simdev *d, const struct fslmc_obj *obj)
{
	struct sim_device *dev = d->dev;
	int rc;

	dev->region_count = obj->region_count;
	for (unsigned r = 0; r < obj->region_count && r < SIM_MAX_REGIONS; r++) {
		uint64_t size = (obj->regions[r].size + PAGE - 1) & ~(PAGE - 1);

		dev->regions[r].flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		dev->regions[r].size = size;
		if (d->kind == FSLMC_DPRC && r == 0)
			continue; /* a DPRC's portal: pread/pwrite only */
		dev->regions[r].flags |= VFIO_REGION_INFO_FLAG_MMAP;
		if (!dev->regions[r].memory && (rc = sim_region_alloc_memory(dev, r, size)))
			return rc;
		memset(dev->regions[r].memory, 0, size);
	}
	dev->irq_count = obj->irq_count;
	for (unsigned i = 0; i < obj->irq_count && i < SIM_MAX_IRQS; i++)
		dev->irqs[i] = (struct sim_irq){ .flags = VFIO_IRQ_INFO_EVENTFD, .count = 1 };
	return 0;
}

/* Point device d at model object `index` (at create, or when the test hook adds it). */
static int bind_object(struct mc_backend *b, struct mc_simdev *d, int index)
{
	const struct fslmc_obj *obj = &b->mc.objs[index];
	int rc = index == 0 ? 0 : setup_object_regions(d, obj);

	if (rc)
		return rc;
	d->obj = index;
	d->portal = obj->portal;
	memset(d->dprc_portal, 0, sizeof(d->dprc_portal));
	return 0;
}

/* After a command: objects the test hook added come alive on their declared devices. */
static void bind_new_objects(struct mc_backend *b)
{
	char path[96];

	for (int i = 1; i < FSLMC_MAX_OBJECTS; i++) {
		if (!b->mc.objs[i].used || dev_of_obj(b, (unsigned)i))
			continue;
		container_path_of(&b->mc, i, path, sizeof(path));
		for (unsigned k = 0; k < b->dev_count; k++) {
			struct mc_simdev *d = b->devs[k];

			if (d->obj < 0 && d->kind == b->mc.objs[i].kind && d->id == b->mc.objs[i].id &&
			    strcmp(d->container_path, path) == 0) {
				if (bind_object(b, d, i))
					sim_log("fsl-mc: %s: cannot come alive", d->dev->name);
				break;
			}
		}
	}
}

/* ---- portals ---- */

static void execute_locked(struct mc_backend *b, struct mc_simdev *d, struct fslmc_cmd *cmd)
{
	if (d->obj < 0 || d->portal < 0) {
		/* The object is gone: its portal has no owner, as in the model. */
		cmd->header = mc_hdr_set_status(cmd->header, MC_INVALID_STATE);
		return;
	}
	unsigned number = mc_cmd_number(mc_hdr_cmd_id(cmd->header));

	fslmc_execute(&b->mc, (unsigned)d->portal, cmd);
	/* Only the test hook's ADD_OBJ creates objects; scanning the tree after
	 * every command would make this simulated MC, not the VMM, the cost a
	 * round-trip benchmark measures. */
	if (number == MC_CMD_TEST_ADD_OBJ)
		bind_new_objects(b);
}

/* DPMCP portals are memory the VMM writes: execute what turns READY. */
static bool poll_portals(struct mc_backend *b)
{
	bool worked = false;

	for (unsigned i = 0; i < b->dev_count; i++) {
		struct mc_simdev *d = b->devs[i];
		uint64_t *area = (uint64_t *)d->dev->regions[0].memory;
		struct fslmc_cmd cmd;

		if (d->kind != FSLMC_DPMCP || !area ||
		    mc_hdr_status(__atomic_load_n(&area[0], __ATOMIC_ACQUIRE)) != MC_READY)
			continue;
		pthread_mutex_lock(&b->lock);
		cmd.header = __atomic_load_n(&area[0], __ATOMIC_ACQUIRE);
		for (unsigned w = 0; w < MC_PARAMS_SIZE / 8; w++) {
			uint64_t word = __atomic_load_n(&area[1 + w], __ATOMIC_RELAXED);

			memcpy(cmd.params + 8 * w, &word, 8);
		}
		if (mc_hdr_status(cmd.header) == MC_READY) {
			execute_locked(b, d, &cmd);
			for (unsigned w = 0; w < MC_PARAMS_SIZE / 8; w++) {
				uint64_t word;

				memcpy(&word, cmd.params + 8 * w, 8);
				__atomic_store_n(&area[1 + w], word, __ATOMIC_RELAXED);
			}
			__atomic_store_n(&area[0], cmd.header, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&b->lock);
		worked = true;
	}
	return worked;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * Spin for a while after work (a driver sends commands back to back), then
 * sleep with backoff up to 1 ms: an idle simulated MC costs little CPU and
 * the first command after a pause waits at most that long.
 */
static void *poller_main(void *opaque)
{
	struct mc_backend *b = opaque;
	uint64_t last_work = now_us();
	long sleep_us = 0;

	while (!atomic_load(&b->stop)) {
		if (poll_portals(b)) {
			last_work = now_us();
			sleep_us = 0;
			continue;
		}
		if (now_us() - last_work < 500)
			continue;
		sleep_us = sleep_us ? (sleep_us * 2 > 1000 ? 1000 : sleep_us * 2) : 20;
		struct timespec pause = { 0, sleep_us * 1000 };

		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* ---- device operations ---- */

/* The 64 bytes a DPRC's or DPMCP's region 0 portal holds; NULL for other regions. */
static uint8_t *portal_bytes(struct mc_simdev *d, unsigned region)
{
	if (region != 0 || (d->kind != FSLMC_DPRC && d->kind != FSLMC_DPMCP))
		return NULL;
	return d->kind == FSLMC_DPRC ? (uint8_t *)d->dprc_portal : d->dev->regions[0].memory;
}

static ssize_t dev_read(struct sim_device *dev, unsigned region, uint64_t offset, void *buf,
			size_t len)
{
	struct mc_simdev *d = dev->state;
	const struct sim_region *r = region < dev->region_count ? &dev->regions[region] : NULL;
	const uint8_t *portal = portal_bytes(d, region);

	if (!r || offset > r->size || len > r->size - offset)
		return -EINVAL;
	if (portal) {
		/* vfio-fsl-mc: an MC portal reads back whole, at offset 0 only. */
		if (offset != 0 || len != MC_CMD_SIZE)
			return -EINVAL;
		pthread_mutex_lock(&d->mc->lock);
		memcpy(buf, portal, MC_CMD_SIZE);
		pthread_mutex_unlock(&d->mc->lock);
		return (ssize_t)len;
	}
	if (!r->memory)
		return -EINVAL;
	memcpy(buf, r->memory + offset, len);
	return (ssize_t)len;
}

static ssize_t dev_write(struct sim_device *dev, unsigned region, uint64_t offset, const void *buf,
			 size_t len)
{
	struct mc_simdev *d = dev->state;
	const struct sim_region *r = region < dev->region_count ? &dev->regions[region] : NULL;
	uint8_t *portal = portal_bytes(d, region);
	struct fslmc_cmd cmd;

	if (!r || offset > r->size || len > r->size - offset)
		return -EINVAL;
	if (!portal) {
		if (!r->memory)
			return -EINVAL;
		memcpy(r->memory + offset, buf, len);
		return (ssize_t)len;
	}
	/* vfio-fsl-mc: a 64-byte write at offset 0 of an MC portal is a command,
	 * run to completion before the write returns. */
	if (offset != 0 || len != MC_CMD_SIZE)
		return -EINVAL;
	memcpy(&cmd.header, buf, 8);
	memcpy(cmd.params, (const uint8_t *)buf + 8, MC_PARAMS_SIZE);
	pthread_mutex_lock(&d->mc->lock);
	if (mc_hdr_status(cmd.header) == MC_READY)
		execute_locked(d->mc, d, &cmd);
	/* Parameters first, the header last, as the MC writes a mapped portal. */
	for (unsigned w = 0; w < MC_PARAMS_SIZE / 8; w++) {
		uint64_t word;

		memcpy(&word, cmd.params + 8 * w, 8);
		__atomic_store_n((uint64_t *)(void *)(portal + 8 + 8 * w), word, __ATOMIC_RELAXED);
	}
	__atomic_store_n((uint64_t *)(void *)portal, cmd.header, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->mc->lock);
	return (ssize_t)len;
}

/* VFIO_DEVICE_RESET of a DPRC: RESET_CONT of itself, non-recursive, through its own portal. */
static int dprc_reset(struct sim_device *dev)
{
	struct mc_simdev *d = dev->state;
	struct mc_backend *b = d->mc;
	int rc = 0;

	pthread_mutex_lock(&b->lock);
	if (d->obj < 0 || d->portal < 0) {
		pthread_mutex_unlock(&b->lock);
		return -ENODEV;
	}
	struct fslmc_cmd cmd = {
		.header = mc_hdr_encode(MC_CMD_ID(MC_CMD_OPEN_BASE + FSLMC_DPRC, 1), 0, 0,
					MC_FLAG_SW_INTR_DIS, MC_READY),
	};

	mc_put(cmd.params, 0, 4, d->id);
	if (fslmc_execute(&b->mc, (unsigned)d->portal, &cmd) == MC_OK) {
		uint16_t token = mc_hdr_token(cmd.header);
		bool v2 = b->config.dprc_major > 6 ||
			  (b->config.dprc_major == 6 && b->config.dprc_minor >= 5);

		cmd = (struct fslmc_cmd){ .header = mc_hdr_encode(MC_CMD_ID(MC_CMD_RESET, v2 ? 2 : 1),
								  token, 0, MC_FLAG_SW_INTR_DIS,
								  MC_READY) };
		mc_put(cmd.params, 0, 4, d->id);
		mc_put(cmd.params, 4, 4, v2 ? DPRC_RESET_OPTION_NON_RECURSIVE : 0);
		if (fslmc_execute(&b->mc, (unsigned)d->portal, &cmd) != MC_OK)
			rc = -EIO;
		cmd = (struct fslmc_cmd){ .header = mc_hdr_encode(MC_CMD_ID(MC_CMD_CLOSE, 1), token,
								  0, MC_FLAG_SW_INTR_DIS, MC_READY) };
		fslmc_execute(&b->mc, (unsigned)d->portal, &cmd);
	} else {
		rc = -EIO;
	}
	memset(d->dprc_portal, 0, sizeof(d->dprc_portal));
	pthread_mutex_unlock(&b->lock);
	return rc;
}

/* vfio-fsl-mc resets the container when its last user goes. */
static void dprc_released(struct sim_device *dev)
{
	dprc_reset(dev);
}

static void backend_destroy(struct sim_device *dev)
{
	struct mc_simdev *d = dev->state;
	struct mc_backend *b = d->mc;

	/* The DPRC's device is destroyed last of the section's and owns the backend. */
	if (d->kind == FSLMC_DPRC && d->container_path[0] == '\0' && d == b->devs[0]) {
		atomic_store(&b->stop, true);
		if (b->poller_running)
			pthread_join(b->poller, NULL);
		fslmc_clear(&b->mc);
		fslmc_config_free(&b->config);
		pthread_mutex_destroy(&b->lock);
		for (unsigned i = 1; i < b->dev_count; i++)
			b->devs[i]->dev->state = NULL;
		for (unsigned i = 0; i < b->dev_count; i++)
			free(b->devs[i]);
		free(b);
	}
	dev->state = NULL;
}

static void object_destroy(struct sim_device *dev)
{
	dev->state = NULL; /* freed with the backend */
}

static const struct sim_device_ops dprc_ops = {
	.read = dev_read, .write = dev_write, .reset = dprc_reset, .released = dprc_released,
	.destroy = backend_destroy,
};

static const struct sim_device_ops child_dprc_ops = {
	.read = dev_read, .write = dev_write, .reset = dprc_reset, .released = dprc_released,
	.destroy = object_destroy,
};

static const struct sim_device_ops object_ops = {
	.read = dev_read, .write = dev_write, .destroy = object_destroy,
};

/* ---- create ---- */

static struct mc_simdev *add_device(struct sim *sim, struct mc_backend *b, const char *section,
				    unsigned kind, uint32_t id, const char *container_path,
				    const char *sysfs)
{
	char name[64];
	struct mc_simdev *d;

	if (b->dev_count >= sizeof(b->devs) / sizeof(b->devs[0]) || !(d = calloc(1, sizeof(*d))))
		return NULL;
	if (b->dev_count == 0)
		snprintf(name, sizeof(name), "%s", section);
	else
		snprintf(name, sizeof(name), "%s/%s%s.%u", section, container_path,
			 fslmc_kind_name(kind), id);
	d->dev = sim_device_add(sim, name, "fsl-mc", sysfs, -1);
	if (!d->dev) {
		free(d);
		return NULL;
	}
	d->mc = b;
	d->kind = kind;
	d->id = id;
	d->obj = d->portal = -1;
	snprintf(d->container_path, sizeof(d->container_path), "%s", container_path);
	d->dev->state = d;
	d->dev->flags = VFIO_DEVICE_FLAGS_FSL_MC;
	d->dev->ops = b->dev_count == 0 ? &dprc_ops : kind == FSLMC_DPRC ? &child_dprc_ops
									 : &object_ops;
	b->devs[b->dev_count++] = d;
	return d;
}

/* Where the DPRC's directory really is: /sys/bus/B/devices/D is a link to /sys/devices/platform/D. */
static void dprc_home(const char *sysfs, char *out, size_t len)
{
	char bus[32], name[200];

	if (sscanf(sysfs, "/sys/bus/%31[^/]/devices/%199[^/]", bus, name) == 2 &&
	    strlen(sysfs) == strlen("/sys/bus//devices/") + strlen(bus) + strlen(name))
		snprintf(out, len, "/sys/devices/platform/%s", name);
	else
		snprintf(out, len, "%s", sysfs);
}

static int add_object_device(struct sim *sim, struct mc_backend *b, const char *section,
			     unsigned kind, uint32_t id, const char *container_path)
{
	char sysfs[512];

	snprintf(sysfs, sizeof(sysfs), "%s/%s%s.%u", b->home, container_path, fslmc_kind_name(kind),
		 id);
	return add_device(sim, b, section, kind, id, container_path, sysfs) ? 0 : -ENOMEM;
}

/* "dpmcp.9" or "dprc.2/dpcon.7": a device for an object the test hook may add. */
static int parse_hotplug(struct sim *sim, struct mc_backend *b, const char *section,
			 const struct toml_value *v, char *error, size_t error_len)
{
	if (v->type != TOML_ARRAY || v->u.array->count > MAX_HOTPLUG) {
		snprintf(error, error_len, "%s:%u:%u: 'hotplug' takes at most %d strings such as "
			 "\"dpmcp.9\" or \"dprc.2/dpcon.7\"", sim_config_path(sim), v->pos.line,
			 v->pos.col, MAX_HOTPLUG);
		return -EINVAL;
	}
	for (size_t i = 0; i < v->u.array->count; i++) {
		const struct toml_value *item = &v->u.array->items[i];
		const char *text = item->type == TOML_STRING ? item->u.string.str : "";
		const char *last = strrchr(text, '/');
		const char *leaf = last ? last + 1 : text;
		const char *dot = strchr(leaf, '.');
		char prefix[96] = "";
		unsigned kind = dot ? fslmc_kind_from_name(leaf, (size_t)(dot - leaf)) : 0;
		char *end = NULL;
		unsigned long id = dot ? strtoul(dot + 1, &end, 10) : 0;

		if (!kind || !end || *end || end == dot + 1 ||
		    (last && (size_t)(last - text) + 2 > sizeof(prefix))) {
			snprintf(error, error_len, "%s:%u:%u: 'hotplug' entry \"%s\" is not "
				 "\"TYPE.ID\" or \"dprc.N/TYPE.ID\"", sim_config_path(sim),
				 item->pos.line, item->pos.col, text);
			return -EINVAL;
		}
		if (last)
			snprintf(prefix, sizeof(prefix), "%.*s/", (int)(last - text), text);
		int rc = add_object_device(sim, b, section, kind, (uint32_t)id, prefix);

		if (rc)
			return rc;
	}
	return 0;
}

/* Every plugged object of the model, in model order (parents before children). */
static int add_model_devices(struct sim *sim, struct mc_backend *b, const char *section)
{
	char path[96];
	int rc;

	for (int i = 1; i < FSLMC_MAX_OBJECTS; i++) {
		const struct fslmc_obj *obj = &b->mc.objs[i];

		if (!obj->used || !obj->plugged)
			continue;
		container_path_of(&b->mc, i, path, sizeof(path));
		if ((rc = add_object_device(sim, b, section, obj->kind, obj->id, path)) ||
		    (rc = bind_object(b, b->devs[b->dev_count - 1], i)))
			return rc;
	}
	return 0;
}

static int parse_section(struct sim *sim, struct mc_backend *b, const char *name,
			 const struct toml_table *section, char *error, size_t error_len)
{
	static const char *const extra[] = { SIM_COMMON_KEYS, "host_base", "hotplug", NULL };
	struct config_error cerr = { "" };
	struct config_context ctx = { .path = sim_config_path(sim), .dir = ".", .error = &cerr };
	uint64_t host_base = DEFAULT_HOST_BASE;
	int rc = fslmc_config_parse_with(&b->config, name, section, &ctx, extra);

	if (!rc)
		rc = config_get_u64(&ctx, section, "host_base", 0, (1ull << 48) - FSLMC_TOTAL_SIZE,
				    &host_base);
	if (!rc && host_base % FSLMC_PORTAL_SIZE)
		rc = config_fail(&ctx, toml_table_get(section, "host_base")->pos,
				 "'host_base' must be 64K-aligned");
	if (rc) {
		snprintf(error, error_len, "%s", cerr.message);
		return rc;
	}
	b->config.base = host_base;
	return 0;
}

static int fslmc_create(struct sim *sim, const char *name, const struct toml_table *section,
			char *error, size_t error_len)
{
	const struct fslmc_hooks hooks = { .irq_raise = hook_raise, .obj_released = hook_released };
	const struct toml_value *sysfs_value = toml_table_get(section, "sysfs");
	char sysfs[256];
	struct mc_backend *b = calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
	if ((rc = parse_section(sim, b, name, section, error, error_len))) {
		fslmc_config_free(&b->config);
		free(b);
		return rc;
	}
	struct fslmc_hooks with_opaque = hooks;

	with_opaque.opaque = b;
	if ((rc = fslmc_init(&b->mc, &b->config, &with_opaque))) {
		snprintf(error, error_len, "%s: [devices.%s]: the object tree does not fit the MC",
			 sim_config_path(sim), name);
		fslmc_config_free(&b->config);
		free(b);
		return rc;
	}
	if (sysfs_value && sysfs_value->type == TOML_STRING)
		snprintf(sysfs, sizeof(sysfs), "%s", sysfs_value->u.string.str);
	else
		snprintf(sysfs, sizeof(sysfs), "/sys/bus/fsl-mc/devices/dprc.%u", b->config.root_id);
	dprc_home(sysfs, b->home, sizeof(b->home));
	/* From here the DPRC's device owns the backend (backend_destroy). */
	struct mc_simdev *dprc = add_device(sim, b, name, FSLMC_DPRC, b->config.root_id, "", sysfs);

	if (!dprc) {
		fslmc_clear(&b->mc);
		fslmc_config_free(&b->config);
		free(b);
		return -ENOMEM;
	}
	dprc->obj = 0;
	dprc->portal = 0;
	dprc->dev->region_count = 1;
	dprc->dev->regions[0] = (struct sim_region){
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.size = FSLMC_PORTAL_SIZE, .memfd = -1,
	};
	dprc->dev->irq_count = 1;
	dprc->dev->irqs[0] = (struct sim_irq){ .flags = VFIO_IRQ_INFO_EVENTFD, .count = 1 };
	const struct toml_value *hotplug = toml_table_get(section, "hotplug");

	if ((rc = add_model_devices(sim, b, name)) ||
	    (hotplug && (rc = parse_hotplug(sim, b, name, hotplug, error, error_len))))
		return rc;
	if ((rc = pthread_create(&b->poller, NULL, poller_main, b))) {
		snprintf(error, error_len, "fsl-mc: poller thread: %s", strerror(rc));
		return -rc;
	}
	b->poller_running = true;
	return 0;
}

const struct sim_backend sim_backend_fslmc = { .kind = "fsl-mc", .create = fslmc_create };
