/* SPDX-License-Identifier: MIT */
/*
 * Device model "fsl-mc": the MC core (fslmc.h) on a VM.
 *
 * Guest-physical layout from `base` (docs/devices/fsl-mc.md):
 *   base + 0          16 MC portal windows of 64 KiB: [0] the root DPRC's
 *                     (DT reg[0]), then child DPRCs' and DPMCPs' region 0
 *   base + 1 MiB      64 register windows of 64 KiB: other objects' regions
 *
 * The portal windows (polled or trapped, portal.h) hand every submitted
 * command to the local model; a passed-through DPRC puts the same windows
 * in front of the host MC instead (forward.h, devices/vfio/fslmc.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/fslmc/fdt_node.h"
#include "devices/fslmc/fslmc.h"
#include "devices/fslmc/portal.h"
#include "devices/models.h"
#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/vm.h"

struct fslmc_dev {
	struct fslmc_config config;
	struct fslmc mc;
	const char *name;
	struct vm *vm;
	pthread_mutex_t lock;     /* the model, portal execution, register windows */
	struct fslmc_portals portals;
	bool portals_ready;
	uint8_t *windows;         /* FSLMC_WINDOW_AREA bytes */
	bool mc_ready;
	struct irq_msi msi[FSLMC_MAX_OBJECTS][FSLMC_MAX_IRQS];
	bool msi_ready[FSLMC_MAX_OBJECTS][FSLMC_MAX_IRQS];
};

/* ---- hooks from the core (called with the lock held) ---- */

static int hook_irq_program(void *opaque, unsigned obj, unsigned irq, uint64_t addr, uint32_t data)
{
	struct fslmc_dev *d = opaque;
	int rc;

	if (!d->msi_ready[obj][irq]) {
		if ((rc = irq_msi_init(d->vm, &d->msi[obj][irq])))
			return rc;
		d->msi_ready[obj][irq] = true;
	}
	rc = irq_msi_program(&d->msi[obj][irq], addr, data);
	if (rc)
		log_warn("%s: MSI for object %u irq %u (%#llx/%#x): %s", d->name, obj, irq,
			 (unsigned long long)addr, data, strerror(-rc));
	return rc;
}

static void hook_irq_raise(void *opaque, unsigned obj, unsigned irq)
{
	struct fslmc_dev *d = opaque;

	if (d->msi_ready[obj][irq])
		irq_msi_trigger(&d->msi[obj][irq]);
}

static void hook_obj_released(void *opaque, unsigned obj)
{
	struct fslmc_dev *d = opaque;

	for (unsigned irq = 0; irq < FSLMC_MAX_IRQS; irq++) {
		if (d->msi_ready[obj][irq])
			irq_msi_destroy(&d->msi[obj][irq]);
		d->msi_ready[obj][irq] = false;
	}
}

static void hook_portal_assigned(void *opaque, unsigned portal)
{
	struct fslmc_dev *d = opaque;

	fslmc_portals_clear(&d->portals, portal);
}

/* A fresh window reads as zeros: drop its pages (anonymous memory refills with zeros). */
static void hook_window_assigned(void *opaque, unsigned window)
{
	struct fslmc_dev *d = opaque;

	if (madvise(d->windows + window * FSLMC_WINDOW_SIZE, FSLMC_WINDOW_SIZE, MADV_DONTNEED))
		memset(d->windows + window * FSLMC_WINDOW_SIZE, 0, FSLMC_WINDOW_SIZE);
}

/* ---- portals: the local model executes ---- */

static void exec_local(void *opaque, unsigned portal, struct fslmc_cmd *cmd)
{
	struct fslmc_dev *d = opaque;

	fslmc_execute(&d->mc, portal, cmd);
}

/* ---- register windows: plain read/write storage, all ones where nothing is ---- */

static uint8_t *window_bytes(struct fslmc_dev *d, uint64_t offset, unsigned size)
{
	unsigned w = (unsigned)(offset / FSLMC_WINDOW_SIZE);
	uint64_t off = offset % FSLMC_WINDOW_SIZE;
	int owner = d->mc.window_owner[w];

	if (owner < 0)
		return NULL;
	for (unsigned r = 0; r < d->mc.objs[owner].region_count; r++) {
		const struct fslmc_region *region = &d->mc.objs[owner].regions[r];

		if (region->slot == w)
			return off + size <= region->size ? d->windows + offset : NULL;
	}
	return NULL;
}

static uint64_t window_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fslmc_dev *d = opaque;
	uint64_t value = ~0ull;

	pthread_mutex_lock(&d->lock);
	const uint8_t *bytes = window_bytes(d, offset, size);

	if (bytes) {
		value = 0;
		memcpy(&value, bytes, size);
	}
	pthread_mutex_unlock(&d->lock);
	return size == 8 ? value : value & ((1ull << (8 * size)) - 1);
}

static void window_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct fslmc_dev *d = opaque;

	pthread_mutex_lock(&d->lock);
	uint8_t *bytes = window_bytes(d, offset, size);

	if (bytes)
		memcpy(bytes, &value, size);
	pthread_mutex_unlock(&d->lock);
}

static const struct bus_region_ops window_ops = { .read = window_read, .write = window_write };

/* ---- device model ---- */

static int mcdev_parse(struct device *dev, const struct toml_table *section,
		       const struct config_context *ctx)
{
	struct fslmc_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	dev->state = d;
	d->name = dev->name;
	pthread_mutex_init(&d->lock, NULL);
	return fslmc_config_parse(&d->config, dev->name, section, ctx);
}

static void *map_area(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int mcdev_realize(struct device *dev, struct vm *vm)
{
	struct fslmc_dev *d = dev->state;
	const struct fslmc_hooks hooks = {
		.irq_program = hook_irq_program, .irq_raise = hook_irq_raise,
		.obj_released = hook_obj_released, .portal_assigned = hook_portal_assigned,
		.window_assigned = hook_window_assigned, .opaque = d,
	};

	const struct fslmc_portals_setup portals = {
		.name = d->name, .base = d->config.base, .polled = d->config.polled,
		.poll_spin_us = d->config.poll_spin_us, .poll_park_us = d->config.poll_park_us,
		.lock = &d->lock, .exec = exec_local, .opaque = d,
	};
	int rc;

	d->vm = vm;
	if ((rc = fslmc_portals_init(&d->portals, &portals)))
		return rc;
	d->portals_ready = true;
	d->windows = map_area(FSLMC_WINDOW_AREA);
	if (!d->windows)
		return -ENOMEM;
	pthread_mutex_lock(&d->lock);
	rc = fslmc_init(&d->mc, &d->config, &hooks);
	d->mc_ready = true;
	pthread_mutex_unlock(&d->lock);
	if (rc)
		return rc;
	if ((rc = bus_register(&vm->mmio_bus, d->config.base + FSLMC_PORTAL_AREA, FSLMC_WINDOW_AREA,
			       &window_ops, d, d->name)))
		return rc;
	log_debug("%s: fsl-mc at %#llx, %s portals, %zu objects", d->name,
		  (unsigned long long)d->config.base, d->config.polled ? "polled" : "trapped",
		  d->config.object_count);
	return fslmc_portals_realize(&d->portals, vm);
}

/* The node of docs/devices/fsl-mc.md, with the configured DPMACs. */
static int mcdev_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const struct fslmc_dev *d = dev->state;
	const struct fslmc_config *c = &d->config;
	uint32_t dpmacs[FSLMC_MAX_OBJECTS];
	size_t count = 0;

	for (size_t i = 0; i < c->object_count && count < FSLMC_MAX_OBJECTS; i++) {
		if (c->objects[i].kind == FSLMC_DPMAC)
			dpmacs[count++] = c->objects[i].id;
	}
	fslmc_fdt_add(fdt, c->base, c->polled, dpmacs, count);
	return 0;
}

static void mcdev_reset(struct device *dev)
{
	struct fslmc_dev *d = dev->state;

	if (!d->mc_ready)
		return;
	pthread_mutex_lock(&d->lock);
	if (fslmc_reset(&d->mc))
		log_error("%s: reset: the configured tree does not fit", d->name);
	pthread_mutex_unlock(&d->lock);
}

static void mcdev_stop(struct device *dev)
{
	struct fslmc_dev *d = dev->state;

	if (d->portals_ready)
		fslmc_portals_stop(&d->portals);
}

static void mcdev_unrealize(struct device *dev, struct vm *vm)
{
	struct fslmc_dev *d = dev->state;

	if (d->portals_ready)
		fslmc_portals_stop(&d->portals);
	if (d->mc_ready) {
		pthread_mutex_lock(&d->lock);
		fslmc_clear(&d->mc); /* gives back every MSI */
		d->mc_ready = false;
		pthread_mutex_unlock(&d->lock);
	}
	if (d->portals_ready)
		fslmc_portals_destroy(&d->portals, vm);
	d->portals_ready = false;
	if (d->windows)
		munmap(d->windows, FSLMC_WINDOW_AREA);
	d->windows = NULL;
	d->vm = NULL;
}

static void mcdev_destroy(struct device *dev)
{
	struct fslmc_dev *d = dev->state;

	if (!d)
		return;
	fslmc_config_free(&d->config);
	pthread_mutex_destroy(&d->lock);
	free(d);
	dev->state = NULL;
}

/* ---- VMM-side hot plug (a control command would call these) ---- */

static int status_errno(uint8_t status)
{
	return status == MC_OK ? 0 : status == MC_NO_RESOURCE ? -ENOSPC : -EINVAL;
}

int fslmc_device_hotplug(struct device *dev, uint32_t container_id,
			 const struct fslmc_new_obj *desc)
{
	struct fslmc_dev *d = dev->state;
	uint8_t status = MC_INVALID_STATE;

	pthread_mutex_lock(&d->lock);
	if (d->mc_ready)
		status = fslmc_obj_add(&d->mc, fslmc_find_container(&d->mc, container_id), desc);
	pthread_mutex_unlock(&d->lock);
	return status_errno(status);
}

int fslmc_device_unplug(struct device *dev, unsigned kind, uint32_t id)
{
	struct fslmc_dev *d = dev->state;
	uint8_t status = MC_INVALID_STATE;

	pthread_mutex_lock(&d->lock);
	if (d->mc_ready)
		status = fslmc_obj_remove(&d->mc, fslmc_find(&d->mc, kind, id));
	pthread_mutex_unlock(&d->lock);
	return status_errno(status);
}

uint8_t *fslmc_device_portal(struct device *dev, unsigned portal)
{
	struct fslmc_dev *d = dev->state;

	return d->portals_ready ? fslmc_portals_window(&d->portals, portal) : NULL;
}

const struct device_model fslmc_model = {
	.type = "fsl-mc",
	.summary = "NXP DPAA2 Management Complex: MC portals (polled or trapped), DPRC objects",
	.parse = mcdev_parse,
	.realize = mcdev_realize,
	.add_fdt_node = mcdev_add_fdt_node,
	.reset = mcdev_reset,
	.stop = mcdev_stop,
	.unrealize = mcdev_unrealize,
	.destroy = mcdev_destroy,
};
