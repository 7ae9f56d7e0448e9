/* SPDX-License-Identifier: MIT */
/*
 * Device model "vfio-fsl-mc": a host DPRC container and its objects, passed
 * through with the VFIO device cdev (docs/devices/vfio-fsl-mc.md).
 *
 * The guest sees the same fsl,qoriq-mc node and guest-physical layout as
 * with the emulated MC (devices/fslmc/): MC portal windows at `base`
 * (polled or trapped, devices/fslmc/portal.c), register windows at
 * base + 1 MiB. The DPRC's own MC portal is never handed through: commands
 * the guest submits go to the forwarder (devices/fslmc/forward.c), which
 * sends them to the host MC through the portal behind each window, the
 * DPRC's, a child DPRC's or a DPMCP's region 0: a 64-byte pwrite at offset
 * 0, which vfio-fsl-mc runs as a command to completion, then a pread of
 * the answer. The kernel does the polling: the VMM never spins on a host
 * portal, and a DPMCP portal is never mapped (no guest or VMM store can
 * reach the real MC unexamined).
 *
 * Every other object region (QBMAN portals...) is mapped into its register
 * windows as a KVM memslot; what cannot be mapped is trapped and reaches
 * the device with pread/pwrite. Object IRQs: an eventfd per IRQ set with
 * SET_IRQS on the object's own vfio device, bound by irqfd to a KVM MSI
 * route that carries the address/data the guest gave SET_IRQ/SET_OBJ_IRQ.
 *
 * Objects found at realize are opened then; objects that appear later are
 * opened when the guest first needs them, from the thread executing the
 * command, under the device lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/fslmc/fdt_node.h"
#include "devices/fslmc/forward.h"
#include "devices/fslmc/portal.h"
#include "devices/models.h"
#include "devices/vfio/vfio.h"
#include "vmm/bus.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define AREA_START 0xf0000000ull /* platform MMIO area (docs/architecture.md) */
#define AREA_END   0xfec00000ull
#define PAGE 4096ull

/* One host object: its vfio device, mappings and MSIs. */
struct mc_obj_dev {
	struct vfio_device vfio;
	void *maps[FSLMC_MAX_REGIONS];        /* register-window regions mapped */
	uint64_t map_sizes[FSLMC_MAX_REGIONS];
	int slots[FSLMC_MAX_REGIONS];         /* their memslots, -1 */
	struct irq_msi msi[FSLMC_MAX_IRQS];
	bool msi_ready[FSLMC_MAX_IRQS];
	bool trigger_set[FSLMC_MAX_IRQS];
};

struct vfslmc {
	const char *name;
	char *sysfs;                          /* the DPRC, e.g. /sys/bus/fsl-mc/devices/dprc.2 */
	uint64_t base;
	bool polled;
	uint64_t poll_spin_us, poll_park_us;
	struct vm *vm;
	pthread_mutex_t lock;                 /* forwarder, devices, portal execution */
	struct fslmc_portals portals;
	bool portals_ready;
	struct fslmc_fwd fwd;
	bool fwd_ready;
	struct mc_obj_dev *devs[FSLMC_MAX_OBJECTS]; /* [0] the DPRC */
};

/* ---- host portals ---- */

static int host_send(void *opaque, unsigned portal, struct fslmc_cmd *cmd)
{
	struct vfslmc *d = opaque;
	int owner = d->fwd.portal_obj[portal];
	struct mc_obj_dev *dev = owner >= 0 ? d->devs[owner] : NULL;
	uint8_t bytes[MC_CMD_SIZE];
	int rc;

	if (!dev)
		return -ENODEV;
	/* vfio-fsl-mc runs a 64-byte write at offset 0 of a DPRC's or DPMCP's
	 * portal as an MC command, polling the real portal until it completes
	 * (or -ETIMEDOUT); the read returns the portal's 64 bytes. */
	memcpy(bytes, &cmd->header, 8);
	memcpy(bytes + 8, cmd->params, MC_PARAMS_SIZE);
	if ((rc = vfio_region_write(&dev->vfio, 0, 0, bytes, sizeof(bytes))) ||
	    (rc = vfio_region_read(&dev->vfio, 0, 0, bytes, sizeof(bytes))))
		return rc;
	memcpy(&cmd->header, bytes, 8);
	memcpy(cmd->params, bytes + 8, MC_PARAMS_SIZE);
	return 0;
}

/* ---- objects ---- */

/* sysfs directory of object `obj`: its container's, then "/type.id". */
static int object_path(const struct vfslmc *d, int obj, char *buf, size_t len, unsigned depth)
{
	const struct fslmc_fwd_obj *o = &d->fwd.objs[obj];
	size_t used;

	if (obj == 0)
		return snprintf(buf, len, "%s", d->sysfs) < (int)len ? 0 : -ENAMETOOLONG;
	if (o->container < 0 || depth > FSLMC_MAX_OBJECTS)
		return -ENOENT;
	int rc = object_path(d, o->container, buf, len, depth + 1);

	if (rc)
		return rc;
	used = strlen(buf);
	if (snprintf(buf + used, len - used, "/%s.%u", fslmc_kind_name(o->kind), o->id) >=
	    (int)(len - used))
		return -ENAMETOOLONG;
	return 0;
}

static void release_dev(struct vfslmc *d, struct mc_obj_dev *dev)
{
	for (unsigned irq = 0; irq < FSLMC_MAX_IRQS; irq++) {
		if (dev->trigger_set[irq])
			vfio_irq_disable(&dev->vfio, irq);
		if (dev->msi_ready[irq])
			irq_msi_destroy(&dev->msi[irq]);
		dev->trigger_set[irq] = dev->msi_ready[irq] = false;
	}
	for (unsigned r = 0; r < FSLMC_MAX_REGIONS; r++) {
		if (dev->slots[r] >= 0)
			vm_remove_ram_slot(d->vm, dev->slots[r]);
		if (dev->maps[r])
			munmap(dev->maps[r], dev->map_sizes[r]);
		dev->slots[r] = -1;
		dev->maps[r] = NULL;
	}
	vfio_device_close(&dev->vfio);
	free(dev);
}

/* Map a register-window region as a memslot when the host lets it be mapped whole. */
static void map_window_region(struct vfslmc *d, struct mc_obj_dev *dev, unsigned r, uint64_t gpa)
{
	const struct vfio_region *region = &dev->vfio.regions[r];
	uint64_t size = region->size & ~(PAGE - 1);

	if (!size || !vfio_region_mmappable(&dev->vfio, r, 0, size))
		return; /* trapped: accesses reach it with pread/pwrite */
	void *map = vfio_region_mmap(&dev->vfio, r, 0, size);

	if (!map)
		return;
	int slot = vm_add_ram_slot(d->vm, gpa, size, map);

	if (slot < 0) {
		log_warn("%s: %s region %u at %#llx stays trapped: memslot: %s", d->name,
			 dev->vfio.name, r, (unsigned long long)gpa, strerror(-slot));
		munmap(map, size);
		return;
	}
	dev->maps[r] = map;
	dev->map_sizes[r] = size;
	dev->slots[r] = slot;
}

static int map_regions(struct vfslmc *d, struct mc_obj_dev *dev, unsigned obj)
{
	struct fslmc_fwd_obj *o = &d->fwd.objs[obj];
	unsigned count = dev->vfio.info.num_regions;

	if (o->kind == FSLMC_DPRC || o->kind == FSLMC_DPMCP) {
		uint64_t gpa = fslmc_fwd_map_portal(&d->fwd, obj);

		if (!gpa || !dev->vfio.regions[0].present)
			return -ENOSPC;
		fslmc_portals_clear(&d->portals, (unsigned)o->portal);
		return 0;
	}
	for (unsigned r = 0; r < count && r < FSLMC_MAX_REGIONS && r < o->region_count; r++) {
		if (!dev->vfio.regions[r].present)
			continue;
		uint64_t gpa = fslmc_fwd_map_region(&d->fwd, obj, r, dev->vfio.regions[r].size);

		if (!gpa)
			return -ENOSPC;
		map_window_region(d, dev, r, gpa);
	}
	return 0;
}

static int host_attach(void *opaque, struct fslmc_fwd *fwd, unsigned obj)
{
	struct vfslmc *d = opaque;
	struct fslmc_fwd_obj *o = &fwd->objs[obj];
	char path[512], name[64];
	int rc;

	if ((rc = object_path(d, (int)obj, path, sizeof(path), 0))) {
		log_error("%s: no sysfs path for %s.%u: %s", d->name, fslmc_kind_name(o->kind),
			  o->id, strerror(-rc));
		return rc;
	}
	struct mc_obj_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return -ENOMEM;
	for (unsigned r = 0; r < FSLMC_MAX_REGIONS; r++)
		dev->slots[r] = -1;
	snprintf(name, sizeof(name), "%s/%s.%u", d->name, fslmc_kind_name(o->kind), o->id);
	if ((rc = vfio_device_open(&dev->vfio, d->vm, name,
				   &(struct vfio_source){ .sysfs = path, .fd = -1 }))) {
		free(dev);
		return rc;
	}
	d->devs[obj] = dev;
	if ((rc = map_regions(d, dev, obj))) {
		log_error("%s: %s: no room for its regions in the guest windows", d->name, name);
		d->devs[obj] = NULL;
		release_dev(d, dev);
		return rc;
	}
	log_debug("%s: %s attached from %s", d->name, name, path);
	return 0;
}

static void host_detach(void *opaque, struct fslmc_fwd *fwd, unsigned obj)
{
	struct vfslmc *d = opaque;

	if (d->devs[obj])
		release_dev(d, d->devs[obj]);
	d->devs[obj] = NULL;
}

static int host_irq_program(void *opaque, unsigned obj, unsigned irq, uint64_t addr, uint32_t data)
{
	struct vfslmc *d = opaque;
	struct mc_obj_dev *dev = d->devs[obj];
	int rc;

	if (!dev || irq >= dev->vfio.info.num_irqs || irq >= FSLMC_MAX_IRQS)
		return -EINVAL;
	if (!dev->msi_ready[irq]) {
		if ((rc = irq_msi_init(d->vm, &dev->msi[irq])))
			return rc;
		dev->msi_ready[irq] = true;
	}
	if ((rc = irq_msi_program(&dev->msi[irq], addr, data))) {
		log_warn("%s: %s IRQ %u (%#llx/%#x): %s", d->name, dev->vfio.name, irq,
			 (unsigned long long)addr, data, strerror(-rc));
		return rc;
	}
	if (!dev->trigger_set[irq]) {
		if ((rc = vfio_irq_set_eventfds(&dev->vfio, irq, 0, 1, &dev->msi[irq].eventfd)))
			return rc;
		dev->trigger_set[irq] = true;
	}
	return 0;
}

/* ---- register windows: what is not a memslot traps here ---- */

static uint64_t window_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vfslmc *d = opaque;
	uint64_t value = ~0ull, region_offset;
	unsigned region;

	pthread_mutex_lock(&d->lock);
	int obj = fslmc_fwd_window_owner(&d->fwd, offset, &region, &region_offset);

	if (obj >= 0 && d->devs[obj]) {
		value = 0;
		if (vfio_region_read(&d->devs[obj]->vfio, region, region_offset, &value, size))
			value = ~0ull;
	}
	pthread_mutex_unlock(&d->lock);
	return size == 8 ? value : value & ((1ull << (8 * size)) - 1);
}

static void window_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct vfslmc *d = opaque;
	uint64_t region_offset;
	unsigned region;

	pthread_mutex_lock(&d->lock);
	int obj = fslmc_fwd_window_owner(&d->fwd, offset, &region, &region_offset);

	if (obj >= 0 && d->devs[obj])
		vfio_region_write(&d->devs[obj]->vfio, region, region_offset, &value, size);
	pthread_mutex_unlock(&d->lock);
}

static const struct bus_region_ops window_ops = { .read = window_read, .write = window_write };

/* ---- device model ---- */

static void exec_forward(void *opaque, unsigned portal, struct fslmc_cmd *cmd)
{
	struct vfslmc *d = opaque;

	fslmc_fwd_execute(&d->fwd, portal, cmd);
}

static int vfslmc_parse(struct device *dev, const struct toml_table *section,
			const struct config_context *ctx)
{
	static const char *const keys[] = {
		"type", "sysfs", "base", "portal", "poll_spin_us", "poll_park_us", NULL,
	};
	static const char *const modes[] = { "polled", "trapped", NULL };
	struct vfslmc *d = calloc(1, sizeof(*d));
	const char *sysfs = NULL;
	char table[96];
	unsigned mode = 0;
	int rc;

	if (!d)
		return -ENOMEM;
	dev->state = d;
	pthread_mutex_init(&d->lock, NULL);
	d->name = dev->name;
	d->base = AREA_START;
	d->poll_spin_us = 200;  /* the emulated MC's defaults */
	d->poll_park_us = 1000;
	snprintf(table, sizeof(table), "devices.%s", dev->name);
	if ((rc = config_check_keys(ctx, section, table, keys)) ||
	    (rc = config_get_string(ctx, section, "sysfs", true, &sysfs)) ||
	    (rc = config_get_u64(ctx, section, "base", AREA_START, AREA_END - FSLMC_TOTAL_SIZE,
				 &d->base)) ||
	    (rc = config_get_choice(ctx, section, "portal", modes, &mode)) ||
	    (rc = config_get_u64(ctx, section, "poll_spin_us", 0, 1000000, &d->poll_spin_us)) ||
	    (rc = config_get_u64(ctx, section, "poll_park_us", 1, 1000000, &d->poll_park_us)))
		return rc;
	d->polled = mode == 0;
	if (!(d->sysfs = strdup(sysfs)))
		return -ENOMEM;
	if (d->base & (FSLMC_PORTAL_SIZE - 1))
		return config_fail(ctx, toml_table_get(section, "base")->pos,
				   "'base' must be 64K-aligned");
	return 0;
}

/* The passed-through DPRC itself: an fsl-mc device with a read/write MC portal. */
static int open_dprc(struct vfslmc *d)
{
	struct mc_obj_dev *dev = calloc(1, sizeof(*dev));
	int rc;

	if (!dev)
		return -ENOMEM;
	for (unsigned r = 0; r < FSLMC_MAX_REGIONS; r++)
		dev->slots[r] = -1;
	if ((rc = vfio_device_open(&dev->vfio, d->vm, d->name,
				   &(struct vfio_source){ .sysfs = d->sysfs, .fd = -1 }))) {
		free(dev);
		return rc;
	}
	d->devs[0] = dev;
	const struct vfio_region *portal = &dev->vfio.regions[0];

	if (!(dev->vfio.info.flags & VFIO_DEVICE_FLAGS_FSL_MC) || dev->vfio.info.num_regions < 1 ||
	    !portal->present || (portal->flags & (VFIO_REGION_INFO_FLAG_READ |
						  VFIO_REGION_INFO_FLAG_WRITE)) !=
				(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) {
		log_error("%s: %s is not an fsl-mc DPRC with a read/write MC portal (flags %#x, "
			  "%u regions): give 'sysfs' a dprc.N bound to vfio-fsl-mc", d->name,
			  d->sysfs, dev->vfio.info.flags, dev->vfio.info.num_regions);
		return -ENODEV;
	}
	return 0;
}

static int vfslmc_realize(struct device *device, struct vm *vm)
{
	struct vfslmc *d = device->state;
	const struct fslmc_portals_setup portals = {
		.name = d->name, .base = d->base, .polled = d->polled,
		.poll_spin_us = (uint32_t)d->poll_spin_us, .poll_park_us = (uint32_t)d->poll_park_us,
		.lock = &d->lock, .exec = exec_forward, .opaque = d,
	};
	const struct fslmc_fwd_host_ops host = {
		.send = host_send, .attach = host_attach, .detach = host_detach,
		.irq_program = host_irq_program, .opaque = d,
	};
	int rc;

	d->vm = vm;
	if ((rc = fslmc_portals_init(&d->portals, &portals)))
		return rc;
	d->portals_ready = true;
	if ((rc = open_dprc(d)))
		return rc;
	pthread_mutex_lock(&d->lock);
	fslmc_fwd_init(&d->fwd, d->name, d->base, &host);
	d->fwd.objs[0].irq_count = (uint8_t)(d->devs[0]->vfio.info.num_irqs < FSLMC_MAX_IRQS
					     ? d->devs[0]->vfio.info.num_irqs : FSLMC_MAX_IRQS);
	d->fwd_ready = true;
	rc = fslmc_fwd_scan(&d->fwd);
	pthread_mutex_unlock(&d->lock);
	if (rc)
		return rc;
	if ((rc = bus_register(&vm->mmio_bus, d->base + FSLMC_PORTAL_AREA, FSLMC_WINDOW_AREA,
			       &window_ops, d, d->name)))
		return rc;
	log_debug("%s: DPRC %s (dprc.%u) at %#llx, %s portals", d->name, d->sysfs,
		  d->fwd.objs[0].id, (unsigned long long)d->base, d->polled ? "polled" : "trapped");
	return fslmc_portals_realize(&d->portals, vm);
}

/* Same node as the emulated MC; DPMACs are those found on the host. */
static int vfslmc_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const struct vfslmc *d = dev->state;
	uint32_t dpmacs[FSLMC_MAX_OBJECTS];
	size_t count = 0;

	for (unsigned i = 0; d->fwd_ready && i < FSLMC_MAX_OBJECTS; i++) {
		if (d->fwd.objs[i].used && d->fwd.objs[i].kind == FSLMC_DPMAC)
			dpmacs[count++] = d->fwd.objs[i].id;
	}
	fslmc_fdt_add(fdt, d->base, d->polled, dpmacs, count);
	return 0;
}

/* The container's reset (vfio-fsl-mc: RESET_CONT of the DPRC on itself). */
static void vfslmc_reset(struct device *dev)
{
	struct vfslmc *d = dev->state;

	pthread_mutex_lock(&d->lock);
	if (d->devs[0])
		vfio_device_reset(&d->devs[0]->vfio);
	pthread_mutex_unlock(&d->lock);
}

static void vfslmc_stop(struct device *dev)
{
	struct vfslmc *d = dev->state;

	if (d->portals_ready)
		fslmc_portals_stop(&d->portals);
}

static void vfslmc_unrealize(struct device *dev, struct vm *vm)
{
	struct vfslmc *d = dev->state;

	if (d->portals_ready)
		fslmc_portals_stop(&d->portals);
	pthread_mutex_lock(&d->lock);
	if (d->fwd_ready)
		fslmc_fwd_clear(&d->fwd); /* closes every object's device */
	d->fwd_ready = false;
	for (unsigned i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		if (d->devs[i])
			release_dev(d, d->devs[i]);
		d->devs[i] = NULL;
	}
	pthread_mutex_unlock(&d->lock);
	if (d->portals_ready)
		fslmc_portals_destroy(&d->portals, vm);
	d->portals_ready = false;
	d->vm = NULL;
}

static void vfslmc_destroy(struct device *dev)
{
	struct vfslmc *d = dev->state;

	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d->sysfs);
	free(d);
	dev->state = NULL;
}

const struct device_model vfio_fslmc_model = {
	.type = "vfio-fsl-mc",
	.summary = "a host DPRC container passed through (vfio-fsl-mc), behind emulated MC portals",
	.parse = vfslmc_parse,
	.realize = vfslmc_realize,
	.add_fdt_node = vfslmc_add_fdt_node,
	.reset = vfslmc_reset,
	.stop = vfslmc_stop,
	.unrealize = vfslmc_unrealize,
	.destroy = vfslmc_destroy,
};
