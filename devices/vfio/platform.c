/* SPDX-License-Identifier: MIT */
/*
 * Device model "vfio-platform": a host platform device passed through with
 * the VFIO device cdev (docs/devices/vfio-platform.md).
 *
 * Its regions are placed one after the other from `address` (each
 * page-aligned) and described by a device-tree node whose compatible comes
 * from config, reg from the regions' sizes and interrupts from the IRQ
 * indexes and the IOAPIC pins the config gives them. Mappable parts of a
 * region are KVM memslots; the rest traps and reaches the device with
 * pread/pwrite.
 *
 * Interrupts: each IRQ index has an eventfd (SET_IRQS trigger) read by the
 * event loop, which drives the index's IOAPIC pin. vfio-platform masks a
 * level-triggered (AUTOMASKED) line after each interrupt until it is
 * unmasked; nothing tells the VMM when the device deasserts it, so the
 * line is resampled:
 *   - on the guest's EOI when the pin is level-triggered (IOAPIC EOI
 *     notifier): the pin is dropped and the host line unmasked; if the
 *     device still asserts it, the host interrupts again;
 *   - after each trapped write to the device when the pin is programmed
 *     edge-triggered (there is no EOI to watch; a driver acknowledges by
 *     writing). A device acknowledged through a mapped region then needs
 *     `mmap = false`.
 * An edge-type index (not AUTOMASKED) is a pulse on the pin per interrupt.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libfdt.h>

#include "devices/ioapic.h"
#include "devices/models.h"
#include "devices/vfio/vfio.h"
#include "vmm/bus.h"
#include "vmm/fdt.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/x86/insn.h"

#define AREA_START 0xf0000000ull /* platform MMIO area (docs/architecture.md) */
#define AREA_END   0xfec00000ull
#define DEFAULT_ADDRESS 0xfd000000ull
#define PAGE 4096ull
#define MAX_COMPATIBLE 512        /* bytes of the compatible string list */
/* The bus node virtio-mmio devices also use (devices/virtio/virtio.h): a root
 * child x86 Linux probes, with identity ranges. */
#define BUS_NAME "platform"
#define BUS_PATH "/" BUS_NAME

struct plat_region {
	struct vplat *owner;
	unsigned index;
	uint64_t gpa, size;          /* size: the region's; the guest window is page-rounded */
	bool trapped;                /* a bus region covers it */
	void *maps[VFIO_MAX_SPARSE];
	uint64_t map_sizes[VFIO_MAX_SPARSE];
	int slots[VFIO_MAX_SPARSE];
};

struct plat_irq {
	struct vplat *owner;
	unsigned index;
	unsigned pin;
	bool level;                  /* AUTOMASKED: level-triggered on the host */
	int eventfd;
	bool in_loop, notifier, trigger_set;
	atomic_bool high;            /* our pin is asserted and the host line masked */
	atomic_uint_fast64_t count;
};

struct vplat {
	const char *name;
	char *sysfs;                      /* the host device's directory (ours: the tree is freed) */
	char compatible[MAX_COMPATIBLE];  /* NUL-separated list, as the DT property */
	size_t compatible_len;
	uint64_t address;
	bool mmap;
	unsigned pins[VFIO_MAX_IRQ_INDEXES];
	unsigned pin_count;
	struct vm *vm;
	struct vfio_device vfio;
	bool open;
	struct plat_region regions[VFIO_MAX_REGIONS];
	unsigned region_count;
	struct plat_irq irqs[VFIO_MAX_IRQ_INDEXES];
	unsigned irq_count;
	bool target_added;                /* vplat_store64 is an instruction-completer target */
};

/* ---- config ---- */

static int add_compatible(struct vplat *d, const struct config_context *ctx,
			  const struct toml_value *v)
{
	if (v->type != TOML_STRING || !v->u.string.str[0])
		return config_fail(ctx, v->pos, "'compatible' takes a non-empty string or an array "
				   "of them, such as \"vendor,device\"");
	size_t len = strlen(v->u.string.str) + 1;

	if (d->compatible_len + len > sizeof(d->compatible))
		return config_fail(ctx, v->pos, "'compatible' is longer than %d bytes in all",
				   MAX_COMPATIBLE);
	memcpy(d->compatible + d->compatible_len, v->u.string.str, len);
	d->compatible_len += len;
	return 0;
}

static int parse_compatible(struct vplat *d, const struct toml_table *section,
			    const struct config_context *ctx)
{
	const struct toml_value *v = toml_table_get(section, "compatible");
	int rc;

	if (!v)
		return config_fail(ctx, toml_table_get(section, "type")->pos,
				   "[devices.%s] needs 'compatible': what the guest's driver matches "
				   "in the device tree, e.g. \"vendor,device\"", d->name);
	if (v->type != TOML_ARRAY)
		return add_compatible(d, ctx, v);
	if (!v->u.array->count)
		return config_fail(ctx, v->pos, "'compatible' is empty");
	for (size_t i = 0; i < v->u.array->count; i++)
		if ((rc = add_compatible(d, ctx, &v->u.array->items[i])))
			return rc;
	return 0;
}

static int parse_irqs(struct vplat *d, const struct toml_table *section,
		      const struct config_context *ctx)
{
	const struct toml_value *v = toml_table_get(section, "irqs");

	if (!v)
		return 0;
	if (v->type != TOML_ARRAY || v->u.array->count > VFIO_MAX_IRQ_INDEXES)
		return config_fail(ctx, v->pos, "'irqs' takes an array of at most %d IOAPIC pins, "
				   "one per interrupt of the device, e.g. [5]", VFIO_MAX_IRQ_INDEXES);
	for (size_t i = 0; i < v->u.array->count; i++) {
		const struct toml_value *pin = &v->u.array->items[i];

		if (pin->type != TOML_INTEGER || pin->u.integer < 0 || pin->u.integer >= IOAPIC_PINS)
			return config_fail(ctx, pin->pos, "an IOAPIC pin is 0..%d", IOAPIC_PINS - 1);
		for (size_t j = 0; j < i; j++)
			if (d->pins[j] == (unsigned)pin->u.integer)
				return config_fail(ctx, pin->pos, "pin %lld is given twice",
						   (long long)pin->u.integer);
		d->pins[i] = (unsigned)pin->u.integer;
	}
	d->pin_count = (unsigned)v->u.array->count;
	return 0;
}

static int vplat_parse(struct device *dev, const struct toml_table *section,
		       const struct config_context *ctx)
{
	static const char *const keys[] = {
		"type", "sysfs", "compatible", "address", "irqs", "mmap", NULL,
	};
	struct vplat *d = calloc(1, sizeof(*d));
	const char *sysfs = NULL;
	char table[96];
	int rc;

	if (!d)
		return -ENOMEM;
	dev->state = d;
	d->name = dev->name;
	d->address = DEFAULT_ADDRESS;
	d->mmap = true;
	d->vfio.fd = -1;
	snprintf(table, sizeof(table), "devices.%s", dev->name);
	if ((rc = config_check_keys(ctx, section, table, keys)) ||
	    (rc = config_get_string(ctx, section, "sysfs", true, &sysfs)) ||
	    (rc = parse_compatible(d, section, ctx)) ||
	    (rc = config_get_u64(ctx, section, "address", AREA_START, AREA_END - PAGE,
				 &d->address)) ||
	    (rc = config_get_bool(ctx, section, "mmap", &d->mmap)) ||
	    (rc = parse_irqs(d, section, ctx)))
		return rc;
	if (!(d->sysfs = strdup(sysfs)))
		return -ENOMEM;
	if (d->address % PAGE)
		return config_fail(ctx, toml_table_get(section, "address")->pos,
				   "'address' must be 4K-aligned");
	return 0;
}

/* ---- regions ---- */

static uint64_t region_read(void *opaque, uint64_t offset, unsigned size)
{
	struct plat_region *r = opaque;
	uint64_t value = 0;

	if (offset + size > r->size ||
	    vfio_region_read(&r->owner->vfio, r->index, offset, &value, size))
		return ~0ull; /* outside the device's bytes, or it refused: what a bus gives */
	return value;
}

static uint32_t irq_lines_high(struct vplat *d);
static void irq_resample_edge(struct vplat *d, uint32_t lines);

static void region_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct plat_region *r = opaque;
	/* Only lines up before the write can be what it acknowledges: one that
	 * this very write raises must not be resampled (a second edge). */
	uint32_t lines = irq_lines_high(r->owner);

	if (offset + size <= r->size)
		vfio_region_write(&r->owner->vfio, r->index, offset, &value, size);
	if (lines)
		irq_resample_edge(r->owner, lines);
}

static const struct bus_region_ops region_ops = { .read = region_read, .write = region_write };

/*
 * A 64-byte store (MOVDIR64B, ENQCMD) onto a trapped part of a region: KVM
 * cannot emulate it, the instruction completer (vmm/x86/insn.h) hands it
 * here. Without this target it was dropped, so the same store reached the
 * device with `mmap = true` (a memslot: the CPU does it) and vanished with
 * `mmap = false`. Forwarded as one 64-byte write, like any trapped write
 * (beyond the region's bytes: dropped; the device may refuse it), with the
 * same edge resampling. Destinations are 64-byte aligned and windows
 * page-aligned, so a store never straddles two regions.
 */
static bool vplat_store64(void *opaque, uint64_t gpa, const uint8_t data[64],
			  enum x86_store64_kind kind, bool *accepted)
{
	struct vplat *d = opaque;

	for (unsigned i = 0; i < d->region_count; i++) {
		struct plat_region *r = &d->regions[i];
		uint64_t window = (r->size + PAGE - 1) & ~(PAGE - 1);

		if (!r->trapped || gpa < r->gpa || gpa - r->gpa >= window)
			continue;
		uint64_t offset = gpa - r->gpa;
		uint32_t lines = irq_lines_high(d);

		*accepted = offset + 64 <= r->size &&
			    vfio_region_write(&d->vfio, r->index, offset, data, 64) == 0;
		if (lines)
			irq_resample_edge(d, lines);
		return true;
	}
	return false;
}

/* Memslots for the mmappable areas; the bus region underneath gets the rest. */
static void map_areas(struct vplat *d, struct plat_region *r)
{
	const struct vfio_region *info = &d->vfio.regions[r->index];

	for (unsigned a = 0; d->mmap && a < info->area_count && a < VFIO_MAX_SPARSE; a++) {
		uint64_t start = (info->areas[a].offset + PAGE - 1) & ~(PAGE - 1);
		uint64_t end = (info->areas[a].offset + info->areas[a].size) & ~(PAGE - 1);

		if (end <= start)
			continue;
		void *map = vfio_region_mmap(&d->vfio, r->index, start, end - start);

		if (!map)
			continue; /* logged; stays trapped */
		int slot = vm_add_ram_slot(d->vm, r->gpa + start, end - start, map);

		if (slot < 0) {
			log_warn("%s: region %u [%#llx, %#llx) stays trapped: memslot: %s", d->name,
				 r->index, (unsigned long long)start, (unsigned long long)end,
				 strerror(-slot));
			munmap(map, end - start);
			continue;
		}
		r->maps[a] = map;
		r->map_sizes[a] = end - start;
		r->slots[a] = slot;
	}
}

static int place_regions(struct vplat *d)
{
	uint64_t next = d->address;
	int rc;

	unsigned count = d->vfio.info.num_regions < VFIO_MAX_REGIONS ? d->vfio.info.num_regions
								     : VFIO_MAX_REGIONS;

	for (unsigned i = 0; i < count; i++) {
		struct plat_region *r = &d->regions[i];
		const struct vfio_region *info = &d->vfio.regions[i];

		*r = (struct plat_region){ .owner = d, .index = i };
		for (unsigned a = 0; a < VFIO_MAX_SPARSE; a++)
			r->slots[a] = -1;
		d->region_count = i + 1; /* counted once it is safe to unrealize */
		if (!info->present)
			continue;
		uint64_t window = (info->size + PAGE - 1) & ~(PAGE - 1);

		if (window < info->size || next + window > AREA_END || next + window < next) {
			log_error("%s: region %u (%#llx bytes) does not fit below %#llx from 'address' "
				  "%#llx", d->name, i, (unsigned long long)info->size,
				  (unsigned long long)AREA_END, (unsigned long long)d->address);
			return -ENOSPC;
		}
		r->gpa = next;
		r->size = info->size;
		next += window;
		if ((rc = bus_register(&d->vm->mmio_bus, r->gpa, window, &region_ops, r, d->name)))
			return rc;
		r->trapped = true;
		map_areas(d, r);
		log_debug("%s: region %u at %#llx, %#llx bytes, %s", d->name, i,
			  (unsigned long long)r->gpa, (unsigned long long)r->size,
			  r->maps[0] ? "mapped (memslot)" : "trapped");
	}
	return 0;
}

/* ---- interrupts ---- */

/* Event loop: the host signalled index `irq`. */
static void on_trigger(void *opaque, uint32_t events)
{
	struct plat_irq *irq = opaque;
	struct ioapic *ioapic = irq->owner->vm->ioapic;
	uint64_t n;

	if (read(irq->eventfd, &n, sizeof(n)) != sizeof(n))
		return;
	atomic_fetch_add(&irq->count, 1);
	if (!irq->level) {
		ioapic_set_level(ioapic, irq->pin, true);
		ioapic_set_level(ioapic, irq->pin, false);
		return;
	}
	atomic_store(&irq->high, true);
	ioapic_set_level(ioapic, irq->pin, true);
	/*
	 * A trapped write on a vCPU may have resampled between the two lines
	 * above: it took `high`, lowered a pin that was not up yet and unmasked
	 * the host line. The pin must end as that resample meant, down;
	 * otherwise it stays up with nothing left to lower it, and the next
	 * interrupt on an edge-programmed pin makes no edge. The guest still
	 * saw this one's edge; if the device asserts again, the unmasked host
	 * line signals the eventfd and this runs again.
	 */
	if (!atomic_load(&irq->high))
		ioapic_set_level(ioapic, irq->pin, false);
}

/* Level pin EOI'd (IOAPIC lock held: only VFIO here). The line is down
 * until the host, unmasked, says the device still asserts it. */
static bool on_eoi(void *opaque)
{
	struct plat_irq *irq = opaque;

	if (atomic_exchange(&irq->high, false))
		vfio_irq_unmask(&irq->owner->vfio, irq->index);
	return false;
}

static uint32_t irq_lines_high(struct vplat *d)
{
	uint32_t lines = 0;

	for (unsigned i = 0; i < d->irq_count; i++)
		lines |= atomic_load(&d->irqs[i].high) ? 1u << i : 0;
	return lines;
}

/* After a trapped write: edge-programmed pins have no EOI to resample on. */
static void irq_resample_edge(struct vplat *d, uint32_t lines)
{
	for (unsigned i = 0; i < d->irq_count; i++) {
		struct plat_irq *irq = &d->irqs[i];

		if (!(lines & (1u << i)) || !irq->level ||
		    ioapic_pin_is_level(d->vm->ioapic, irq->pin) || !atomic_exchange(&irq->high, false))
			continue;
		ioapic_set_level(d->vm->ioapic, irq->pin, false);
		vfio_irq_unmask(&d->vfio, irq->index);
	}
}

static int setup_irq(struct vplat *d, unsigned index)
{
	struct plat_irq *irq = &d->irqs[index];
	const struct vfio_irq *info = &d->vfio.irqs[index];
	int rc;

	*irq = (struct plat_irq){
		.owner = d, .index = index, .pin = d->pins[index], .eventfd = -1,
		.level = info->flags & VFIO_IRQ_INFO_AUTOMASKED,
	};
	if (!(info->flags & VFIO_IRQ_INFO_EVENTFD) || info->count != 1) {
		log_error("%s: IRQ %u has flags %#x and %u vectors; vfio-platform gives one "
			  "eventfd-capable vector per index", d->name, index, info->flags,
			  info->count);
		return -EINVAL;
	}
	irq->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (irq->eventfd < 0)
		return -errno;
	if ((rc = loop_add_fd(&d->vm->loop, irq->eventfd, EPOLLIN, on_trigger, irq)))
		return rc;
	irq->in_loop = true;
	if (irq->level) {
		if ((rc = ioapic_set_eoi_notifier(d->vm->ioapic, irq->pin, on_eoi, irq))) {
			log_error("%s: IOAPIC pin %u already has a level source (%s)", d->name,
				  irq->pin, strerror(-rc));
			return rc;
		}
		irq->notifier = true;
	}
	if ((rc = vfio_irq_set_eventfds(&d->vfio, index, 0, 1, &irq->eventfd)))
		return rc;
	irq->trigger_set = true;
	return 0;
}

static int setup_irqs(struct vplat *d)
{
	unsigned count = d->vfio.info.num_irqs;
	int rc;

	if (count > VFIO_MAX_IRQ_INDEXES)
		count = VFIO_MAX_IRQ_INDEXES;
	if (count != d->pin_count) {
		log_error("%s: the device has %u interrupt%s; 'irqs' gives %u IOAPIC pin%s (one "
			  "per interrupt, in order)", d->name, count, count == 1 ? "" : "s",
			  d->pin_count, d->pin_count == 1 ? "" : "s");
		return -EINVAL;
	}
	if (count && !d->vm->ioapic) {
		log_error("%s: its interrupts are IOAPIC lines: add a device with type = \"ioapic\" "
			  "to the config", d->name);
		return -ENODEV;
	}
	for (unsigned i = 0; i < count; i++) {
		d->irq_count = i + 1; /* counted first: a failure half-way is undone too */
		if ((rc = setup_irq(d, i)))
			return rc;
	}
	return 0;
}

/* ---- device model ---- */

static int vplat_realize(struct device *dev, struct vm *vm)
{
	struct vplat *d = dev->state;
	int rc;

	d->vm = vm;
	if ((rc = vfio_device_open(&d->vfio, vm, d->name,
				   &(struct vfio_source){ .sysfs = d->sysfs, .fd = -1 })))
		return rc;
	d->open = true;
	if (!(d->vfio.info.flags & VFIO_DEVICE_FLAGS_PLATFORM))
		log_warn("%s: %s is not a vfio-platform device (flags %#x); passing it through "
			 "as one anyway", d->name, d->sysfs, d->vfio.info.flags);
	if ((rc = place_regions(d)) || (rc = setup_irqs(d)))
		return rc;
	if ((rc = x86_insn_add_target(&vm->insn_targets, vplat_store64, d)))
		return rc;
	d->target_added = true;
	log_debug("%s: %s at %#llx: %u regions, %u IRQs", d->name, d->sysfs,
		  (unsigned long long)d->address, d->region_count, d->irq_count);
	return 0;
}

static void ensure_bus(struct fdt_builder *fdt)
{
	static const char compatible[] = "intel,ce4100-cp\0simple-bus";

	if (fdt_path_offset(fdt->blob, BUS_PATH) >= 0)
		return;
	int node = fdt_add_node(fdt, "/", BUS_NAME);

	if (node < 0)
		return; /* recorded in fdt->error */
	int rc = fdt_setprop(fdt->blob, node, "compatible", compatible, sizeof(compatible));

	if (rc < 0 && !fdt->error)
		fdt->error = rc;
	fdt_prop_u32(fdt, node, "#address-cells", 2);
	fdt_prop_u32(fdt, node, "#size-cells", 2);
	fdt_prop_empty(fdt, node, "ranges");
}

/*
 * reg: one entry per present region (known once the device is open: `vmm
 * dtb` without the host device leaves reg out). interrupts: <pin type> per
 * IRQ index, level-high for AUTOMASKED lines, edge-rising otherwise.
 */
static int vplat_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const struct vplat *d = dev->state;
	uint32_t reg[VFIO_MAX_REGIONS * 4], interrupts[VFIO_MAX_IRQ_INDEXES * 2];
	size_t reg_cells = 0;
	char name[96];

	ensure_bus(fdt);
	snprintf(name, sizeof(name), "%s@%llx", d->name, (unsigned long long)d->address);
	int node = fdt_add_node(fdt, BUS_PATH, name);

	if (node < 0)
		return 0;
	int rc = fdt_setprop(fdt->blob, node, "compatible", d->compatible, (int)d->compatible_len);

	if (rc < 0 && !fdt->error)
		fdt->error = rc;
	for (unsigned i = 0; d->open && i < d->region_count; i++) {
		const struct plat_region *r = &d->regions[i];

		if (!r->size)
			continue;
		reg[reg_cells++] = (uint32_t)(r->gpa >> 32);
		reg[reg_cells++] = (uint32_t)r->gpa;
		reg[reg_cells++] = (uint32_t)(r->size >> 32);
		reg[reg_cells++] = (uint32_t)r->size;
	}
	if (reg_cells)
		fdt_prop_cells(fdt, node, "reg", reg, reg_cells);
	for (unsigned i = 0; i < d->pin_count; i++) {
		bool level = d->open && i < d->irq_count ? d->irqs[i].level : true;

		interrupts[2 * i] = d->pins[i];
		interrupts[2 * i + 1] = level ? IOAPIC_FDT_LEVEL_HIGH : IOAPIC_FDT_EDGE_RISING;
	}
	if (d->pin_count) {
		fdt_prop_u32(fdt, node, "interrupt-parent", FDT_PHANDLE_IOAPIC);
		fdt_prop_cells(fdt, node, "interrupts", interrupts, 2 * d->pin_count);
	}
	fdt_prop_empty(fdt, node, "dma-coherent");
	return 0;
}

static void vplat_reset(struct device *dev)
{
	struct vplat *d = dev->state;

	if (d->open)
		vfio_device_reset(&d->vfio); /* -ENOTTY: the device has no reset */
}

static void vplat_unrealize(struct device *dev, struct vm *vm)
{
	struct vplat *d = dev->state;

	if (d->target_added)
		x86_insn_remove_target(&vm->insn_targets, d);
	d->target_added = false;
	for (unsigned i = 0; i < d->irq_count; i++) {
		struct plat_irq *irq = &d->irqs[i];

		if (irq->trigger_set)
			vfio_irq_disable(&d->vfio, i);
		if (irq->notifier)
			ioapic_set_eoi_notifier(vm->ioapic, irq->pin, NULL, NULL);
		if (irq->in_loop)
			loop_remove_fd(&vm->loop, irq->eventfd);
		if (irq->eventfd >= 0)
			close(irq->eventfd);
		*irq = (struct plat_irq){ .eventfd = -1 };
	}
	d->irq_count = 0;
	for (unsigned i = 0; i < d->region_count; i++) {
		struct plat_region *r = &d->regions[i];

		for (unsigned a = 0; a < VFIO_MAX_SPARSE; a++) {
			if (r->slots[a] >= 0)
				vm_remove_ram_slot(vm, r->slots[a]);
			if (r->maps[a])
				munmap(r->maps[a], r->map_sizes[a]);
			r->slots[a] = -1;
			r->maps[a] = NULL;
		}
	}
	if (d->open)
		vfio_device_close(&d->vfio);
	d->open = false;
	d->vm = NULL;
}

static void vplat_destroy(struct device *dev)
{
	struct vplat *d = dev->state;

	if (d)
		free(d->sysfs);
	free(d);
	dev->state = NULL;
}

const struct device_model vfio_platform_model = {
	.type = "vfio-platform",
	.summary = "a host platform device passed through (vfio-platform), described in the DT",
	.parse = vplat_parse,
	.realize = vplat_realize,
	.add_fdt_node = vplat_add_fdt_node,
	.reset = vplat_reset,
	.unrealize = vplat_unrealize,
	.destroy = vplat_destroy,
};
