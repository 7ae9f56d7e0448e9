/* SPDX-License-Identifier: MIT */
/*
 * Device model "fsl-mc": the MC core (fslmc.h) on a VM.
 *
 * Guest-physical layout from `base` (docs/devices/fsl-mc.md):
 *   base + 0          16 MC portal windows of 64 KiB: [0] the root DPRC's
 *                     (DT reg[0]), then child DPRCs' and DPMCPs' region 0
 *   base + 1 MiB      64 register windows of 64 KiB: other objects' regions
 *
 * Portals are polled (RAM memslot watched by a poller thread: a command
 * costs the guest no exit) or trapped (MMIO: the write of the status byte
 * executes the command in the exit path). A command is submitted when the
 * header's status byte (portal byte 2) becomes READY: with one 64-bit header
 * write, or with two 32-bit writes high dword first (io-64-nonatomic-hi-lo),
 * the low dword's write is the doorbell. Bytes 3-7 must already be in place.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/fslmc/fslmc.h"
#include "devices/models.h"
#include "vmm/bus.h"
#include "vmm/fdt.h"
#include "vmm/log.h"
#include "vmm/poll.h"
#include "vmm/vm.h"

struct fslmc_dev {
	struct fslmc_config config;
	struct fslmc mc;
	const char *name;
	struct vm *vm;
	pthread_mutex_t lock;     /* the model, portal execution, register windows */
	uint8_t *portals;         /* FSLMC_PORTAL_AREA bytes */
	uint8_t *windows;         /* FSLMC_WINDOW_AREA bytes */
	int ram_slot;             /* polled mode memslot, or -1 */
	struct poller poller;
	bool poller_ready;
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
	uint64_t *area = (uint64_t *)(d->portals + portal * FSLMC_PORTAL_SIZE);

	for (unsigned i = 0; i < MC_CMD_SIZE / 8; i++)
		__atomic_store_n(&area[i], 0, __ATOMIC_RELAXED);
}

/* A fresh window reads as zeros: drop its pages (anonymous memory refills with zeros). */
static void hook_window_assigned(void *opaque, unsigned window)
{
	struct fslmc_dev *d = opaque;

	if (madvise(d->windows + window * FSLMC_WINDOW_SIZE, FSLMC_WINDOW_SIZE, MADV_DONTNEED))
		memset(d->windows + window * FSLMC_WINDOW_SIZE, 0, FSLMC_WINDOW_SIZE);
}

/* ---- portals ---- */

/* Execute the command in portal p if it is submitted; lock held. */
static void portal_run_locked(struct fslmc_dev *d, unsigned p)
{
	uint64_t *area = (uint64_t *)(d->portals + p * FSLMC_PORTAL_SIZE);
	struct fslmc_cmd cmd;

	cmd.header = __atomic_load_n(&area[0], __ATOMIC_ACQUIRE);
	if (mc_hdr_status(cmd.header) != MC_READY)
		return;
	for (unsigned i = 0; i < MC_PARAMS_SIZE / 8; i++) {
		uint64_t word = __atomic_load_n(&area[1 + i], __ATOMIC_RELAXED);

		memcpy(cmd.params + 8 * i, &word, 8);
	}
	if (fslmc_execute(&d->mc, p, &cmd) == MC_OK) {
		for (unsigned i = 0; i < MC_PARAMS_SIZE / 8; i++) {
			uint64_t word;

			memcpy(&word, cmd.params + 8 * i, 8);
			__atomic_store_n(&area[1 + i], word, __ATOMIC_RELAXED);
		}
	}
	/* The header last: the guest reads params only after it sees the status. */
	__atomic_store_n(&area[0], cmd.header, __ATOMIC_RELEASE);
}

/*
 * Poller source: every portal window whose status byte says READY. Windows
 * without a live owner are watched too, so a command there still gets an
 * answer (INVALID_STATE) rather than READY forever.
 */
static bool fslmc_poll(void *opaque)
{
	struct fslmc_dev *d = opaque;
	bool worked = false;

	for (unsigned p = 0; p < FSLMC_MAX_PORTALS; p++) {
		const uint8_t *status = d->portals + p * FSLMC_PORTAL_SIZE + MC_HDR_STATUS_BYTE;

		if (__atomic_load_n(status, __ATOMIC_ACQUIRE) != MC_READY)
			continue;
		pthread_mutex_lock(&d->lock);
		portal_run_locked(d, p);
		pthread_mutex_unlock(&d->lock);
		worked = true;
	}
	return worked;
}

/* Trapped mode: the 64-byte command area of each portal window; the rest reads 0. */
static uint64_t portal_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fslmc_dev *d = opaque;
	uint64_t off = offset % FSLMC_PORTAL_SIZE, value = 0;
	const uint8_t *area = d->portals + (offset - off);

	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < size && off + i < MC_CMD_SIZE; i++)
		value |= (uint64_t)area[off + i] << (8 * i);
	pthread_mutex_unlock(&d->lock);
	return value;
}

static void portal_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct fslmc_dev *d = opaque;
	uint64_t off = offset % FSLMC_PORTAL_SIZE;
	uint8_t *area = d->portals + (offset - off);

	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < size && off + i < MC_CMD_SIZE; i++)
		area[off + i] = (uint8_t)(value >> (8 * i));
	/* The doorbell is the write that covers the status byte. */
	if (off <= MC_HDR_STATUS_BYTE && off + size > MC_HDR_STATUS_BYTE)
		portal_run_locked(d, (unsigned)(offset / FSLMC_PORTAL_SIZE));
	pthread_mutex_unlock(&d->lock);
}

static const struct bus_region_ops portal_ops = { .read = portal_read, .write = portal_write };

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
	d->ram_slot = -1;
	pthread_mutex_init(&d->lock, NULL);
	return fslmc_config_parse(&d->config, dev->name, section, ctx);
}

static void *map_area(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int mcdev_realize_portals(struct fslmc_dev *d, struct vm *vm)
{
	const struct fslmc_config *c = &d->config;
	int rc;

	/* Polled too: the memslot shadows it, but the bus then knows the range is taken. */
	if ((rc = bus_register(&vm->mmio_bus, c->base, FSLMC_PORTAL_AREA, &portal_ops, d, d->name)))
		return rc;
	if (!c->polled)
		return 0;
	d->ram_slot = vm_add_ram_slot(vm, c->base, FSLMC_PORTAL_AREA, d->portals);
	if (d->ram_slot < 0) {
		log_error("%s: MC portal memslot at %#llx: %s", d->name, (unsigned long long)c->base,
			  strerror(-d->ram_slot));
		return d->ram_slot;
	}
	uint32_t park_min = c->poll_park_us < 50 ? c->poll_park_us : 50;

	poller_init(&d->poller, d->name, (struct poller_tuning){ c->poll_spin_us, park_min,
								  c->poll_park_us });
	d->poller_ready = true;
	if ((rc = poller_add(&d->poller, fslmc_poll, d)) || (rc = poller_start(&d->poller)))
		return rc;
	return 0;
}

static int mcdev_realize(struct device *dev, struct vm *vm)
{
	struct fslmc_dev *d = dev->state;
	const struct fslmc_hooks hooks = {
		.irq_program = hook_irq_program, .irq_raise = hook_irq_raise,
		.obj_released = hook_obj_released, .portal_assigned = hook_portal_assigned,
		.window_assigned = hook_window_assigned, .opaque = d,
	};
	int rc;

	d->vm = vm;
	d->portals = map_area(FSLMC_PORTAL_AREA);
	d->windows = map_area(FSLMC_WINDOW_AREA);
	if (!d->portals || !d->windows)
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
	return mcdev_realize_portals(d, vm);
}

static void fdt_add_dpmacs(const struct fslmc_config *c, struct fdt_builder *fdt,
			   const char *path)
{
	char parent[96], name[32];
	int node = -1;

	snprintf(parent, sizeof(parent), "%s/dpmacs", path);
	for (size_t i = c->object_count; i-- > 0;) {
		if (c->objects[i].kind != FSLMC_DPMAC)
			continue;
		if (node < 0) {
			node = fdt_add_node(fdt, path, "dpmacs");
			fdt_prop_u32(fdt, node, "#address-cells", 1);
			fdt_prop_u32(fdt, node, "#size-cells", 0);
		}
		snprintf(name, sizeof(name), "ethernet@%x", c->objects[i].id);
		int mac = fdt_add_node(fdt, parent, name);

		fdt_prop_string(fdt, mac, "compatible", "fsl,qoriq-mc-dpmac");
		fdt_prop_u32(fdt, mac, "reg", c->objects[i].id);
	}
}

/*
 * A root-level node, as on arm64 (binding fsl,qoriq-mc): reg[0] only (the
 * root portal's command area; no control registers in a VM), ranges for
 * type 0 (MC portals) and type 1 (QBMAN/register windows). x86 Linux does
 * not probe root-level platform nodes (device-facts 6.5); see the doc.
 */
static int mcdev_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const struct fslmc_dev *d = dev->state;
	const struct fslmc_config *c = &d->config;
	uint64_t windows = c->base + FSLMC_PORTAL_AREA;
	const uint32_t reg[] = { (uint32_t)(c->base >> 32), (uint32_t)c->base, 0,
				 FSLMC_ROOT_PORTAL_REG };
	const uint32_t ranges[] = {
		MC_REGION_MC_PORTAL, 0, 0, (uint32_t)(c->base >> 32), (uint32_t)c->base,
		(uint32_t)FSLMC_PORTAL_AREA,
		MC_REGION_QBMAN_PORTAL, 0, 0, (uint32_t)(windows >> 32), (uint32_t)windows,
		(uint32_t)FSLMC_WINDOW_AREA,
	};
	char name[32], path[40];

	snprintf(name, sizeof(name), "fsl-mc@%llx", (unsigned long long)c->base);
	snprintf(path, sizeof(path), "/%s", name);
	int node = fdt_add_node(fdt, "/", name);

	fdt_prop_string(fdt, node, "compatible", "fsl,qoriq-mc");
	fdt_prop_cells(fdt, node, "reg", reg, 4);
	fdt_prop_u32(fdt, node, "#address-cells", 3);
	fdt_prop_u32(fdt, node, "#size-cells", 1);
	fdt_prop_cells(fdt, node, "ranges", ranges, 12);
	fdt_prop_empty(fdt, node, "dma-coherent");
	fdt_prop_string(fdt, node, "vmm,portal-mode", c->polled ? "polled" : "trapped");
	fdt_add_dpmacs(c, fdt, path);
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

	if (d->poller_ready)
		poller_stop(&d->poller);
}

static void mcdev_unrealize(struct device *dev, struct vm *vm)
{
	struct fslmc_dev *d = dev->state;

	if (d->poller_ready)
		poller_destroy(&d->poller);
	d->poller_ready = false;
	if (d->mc_ready) {
		pthread_mutex_lock(&d->lock);
		fslmc_clear(&d->mc); /* gives back every MSI */
		d->mc_ready = false;
		pthread_mutex_unlock(&d->lock);
	}
	if (d->ram_slot >= 0)
		vm_remove_ram_slot(vm, d->ram_slot);
	d->ram_slot = -1;
	if (d->portals)
		munmap(d->portals, FSLMC_PORTAL_AREA);
	if (d->windows)
		munmap(d->windows, FSLMC_WINDOW_AREA);
	d->portals = d->windows = NULL;
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

	return d->portals && portal < FSLMC_MAX_PORTALS ? d->portals + portal * FSLMC_PORTAL_SIZE
							: NULL;
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
