/* SPDX-License-Identifier: MIT */
/*
 * PCI host bridge: config access (ECAM, CF8/CFC), BAR decoding in fixed
 * windows, firmware-style BAR assignment, and the "pci-host" device model.
 * The address map and decode rules are in host.h.
 */
#include "devices/pci/host.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/models.h"
#include "vmm/bus.h"
#include "vmm/fdt.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define DECODE_ENABLED   1ull  /* bit 0 of a decode word; BAR bases are >= 4-byte aligned */
#define DECODE_ENTRIES   (PCI_HOST_SLOTS * PCI_BAR_COUNT)
#define CF8_ENABLE       0x80000000u
#define CF8_WRITABLE     0x80fffffcu /* enable, bus, device, function, dword register */

/* One (slot, BAR) of the decode table; everything but `word` is fixed before vCPUs run. */
struct pci_decode_entry {
	atomic_uint_least64_t word;  /* base | DECODE_ENABLED, or 0: not decoded */
	uint64_t size;
	bool io;
	bool overlap_warned;         /* written under fn->lock */
	struct pci_function *fn;     /* NULL: no BAR here */
	unsigned bar;
};

struct pci_host {
	char *name;
	bool assign_bars;
	struct vm *vm;
	struct pci_function bridge;                  /* 00:00.0 */
	struct pci_function *slots[PCI_HOST_SLOTS];  /* bus 0, function 0 only */
	struct pci_decode_entry decode[DECODE_ENTRIES];
	unsigned decode_used;                        /* entries below this may be set */
	atomic_uint_least32_t cf8;                   /* legacy config address latch */
};

static const struct pci_identity bridge_identity = {
	.vendor_id = PCI_HOST_BRIDGE_VENDOR_ID,
	.device_id = PCI_HOST_BRIDGE_DEVICE_ID,
	.class_code = PCI_HOST_BRIDGE_CLASS,
	.subsystem_vendor_id = PCI_HOST_BRIDGE_VENDOR_ID,
	.subsystem_id = PCI_HOST_BRIDGE_DEVICE_ID,
};

struct pci_host *pci_host_new(const char *name, bool assign_bars)
{
	struct pci_host *host = calloc(1, sizeof(*host));

	if (!host)
		return NULL;
	host->name = strdup(name);
	host->assign_bars = assign_bars;
	if (!host->name || pci_function_init(&host->bridge, host->name, &bridge_identity)) {
		pci_host_free(host);
		return NULL;
	}
	host->bridge.host = host;
	host->slots[0] = &host->bridge;
	return host;
}

void pci_host_free(struct pci_host *host)
{
	if (!host)
		return;
	pci_function_destroy(&host->bridge);
	free(host->name);
	free(host);
}

/* ---- BAR decoding ---- */

static bool inside_window(bool io, uint64_t base, uint64_t size)
{
	uint64_t window = io ? PCI_HOST_IO_BASE : PCI_HOST_MEM_BASE;
	uint64_t window_size = io ? PCI_HOST_IO_SIZE : PCI_HOST_MEM_SIZE;

	return base >= window && size <= window_size && base - window <= window_size - size;
}

static uint64_t decode_word(const struct pci_decode_entry *entry)
{
	uint16_t enable = entry->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	uint64_t base = pci_function_bar_address(entry->fn, entry->bar);

	if (!(pci_function_command(entry->fn) & enable) ||
	    !inside_window(entry->io, base, entry->size))
		return 0;
	return base | DECODE_ENABLED;
}

static bool entries_overlap(const struct pci_decode_entry *a, uint64_t a_word,
			    const struct pci_decode_entry *b, uint64_t b_word)
{
	uint64_t a_base = a_word & ~DECODE_ENABLED, b_base = b_word & ~DECODE_ENABLED;

	return a->io == b->io && a_base < b_base + b->size && b_base < a_base + a->size;
}

/* Overlapping BARs are a guest bug we survive: say once who wins. */
static void warn_overlap(struct pci_host *host, struct pci_decode_entry *entry, uint64_t word)
{
	for (unsigned i = 0; i < host->decode_used && !entry->overlap_warned; i++) {
		struct pci_decode_entry *other = &host->decode[i];
		uint64_t other_word = atomic_load(&other->word);

		if (other == entry || !other_word ||
		    !entries_overlap(entry, word, other, other_word))
			continue;
		const struct pci_decode_entry *winner = other < entry ? other : entry;

		log_warn("%s: %s BAR%u at 0x%llx overlaps %s BAR%u at 0x%llx; %s BAR%u wins "
			 "(lowest device/BAR)", host->name, entry->fn->name, entry->bar,
			 (unsigned long long)(word & ~DECODE_ENABLED), other->fn->name, other->bar,
			 (unsigned long long)(other_word & ~DECODE_ENABLED), winner->fn->name,
			 winner->bar);
		entry->overlap_warned = true;
	}
}

void pci_host_update_decode(struct pci_host *host, struct pci_function *fn)
{
	for (unsigned bar = 0; bar < PCI_BAR_COUNT; bar++) {
		struct pci_decode_entry *entry = &host->decode[fn->slot * PCI_BAR_COUNT + bar];

		if (entry->fn != fn)
			continue;
		uint64_t word = decode_word(entry);

		atomic_store_explicit(&entry->word, word, memory_order_release);
		if (word)
			warn_overlap(host, entry, word);
	}
}

struct pci_function *pci_host_decode(struct pci_host *host, bool io, uint64_t addr, unsigned len,
				     unsigned *bar, uint64_t *offset)
{
	/* Table order is (slot, BAR): the first match is the overlap winner. */
	for (unsigned i = 0; i < host->decode_used; i++) {
		const struct pci_decode_entry *entry = &host->decode[i];
		uint64_t word = atomic_load_explicit(&entry->word, memory_order_acquire);
		uint64_t base = word & ~DECODE_ENABLED;

		if (!word || entry->io != io || addr < base || addr - base >= entry->size ||
		    len > entry->size - (addr - base))
			continue;
		*bar = entry->bar;
		*offset = addr - base;
		return entry->fn;
	}
	return NULL;
}

bool pci_host_overlaps_other(struct pci_host *host, const struct pci_function *fn,
			     unsigned bar, uint64_t base, uint64_t size)
{
	for (unsigned i = 0; i < host->decode_used; i++) {
		const struct pci_decode_entry *entry = &host->decode[i];
		uint64_t word = atomic_load_explicit(&entry->word, memory_order_acquire);
		uint64_t other = word & ~DECODE_ENABLED;

		if (!word || entry->io || (entry->fn == fn && entry->bar == bar))
			continue;
		if (other < base + size && base < other + entry->size)
			return true;
	}
	return false;
}

static uint64_t window_read(struct pci_host *host, bool io, uint64_t addr, unsigned size)
{
	unsigned index;
	uint64_t offset;
	struct pci_function *fn = pci_host_decode(host, io, addr, size, &index, &offset);

	if (!fn)
		return pci_all_ones(size); /* master abort */
	const struct pci_bar *bar = &fn->bars[index];

	return bar->ops->read(bar->opaque, offset, size);
}

static void window_write(struct pci_host *host, bool io, uint64_t addr, unsigned size,
			 uint64_t value)
{
	unsigned index;
	uint64_t offset;
	struct pci_function *fn = pci_host_decode(host, io, addr, size, &index, &offset);

	if (!fn)
		return;
	const struct pci_bar *bar = &fn->bars[index];

	bar->ops->write(bar->opaque, offset, size, value);
}

static uint64_t mem_window_read(void *opaque, uint64_t offset, unsigned size)
{
	return window_read(opaque, false, PCI_HOST_MEM_BASE + offset, size);
}

static void mem_window_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	window_write(opaque, false, PCI_HOST_MEM_BASE + offset, size, value);
}

static uint64_t io_window_read(void *opaque, uint64_t offset, unsigned size)
{
	return window_read(opaque, true, PCI_HOST_IO_BASE + offset, size);
}

static void io_window_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	window_write(opaque, true, PCI_HOST_IO_BASE + offset, size, value);
}

static const struct bus_region_ops mem_window_ops = {
	.read = mem_window_read, .write = mem_window_write,
};
static const struct bus_region_ops io_window_ops = {
	.read = io_window_read, .write = io_window_write,
};

/* ---- config access ---- */

/* devfn = device << 3 | function, as in CF8 bits 15:8. */
static struct pci_function *config_target(struct pci_host *host, unsigned bus, unsigned devfn)
{
	if (bus != 0 || (devfn & 7) != 0)
		return NULL; /* no bridges, single-function devices */
	return host->slots[devfn >> 3];
}

uint32_t pci_host_config_read(struct pci_host *host, unsigned bus, unsigned devfn,
			      unsigned offset, unsigned size)
{
	struct pci_function *fn = config_target(host, bus, devfn);

	return fn ? pci_config_read(fn, offset, size) : (uint32_t)pci_all_ones(size);
}

void pci_host_config_write(struct pci_host *host, unsigned bus, unsigned devfn,
			   unsigned offset, unsigned size, uint32_t value)
{
	struct pci_function *fn = config_target(host, bus, devfn);

	if (fn)
		pci_config_write(fn, offset, size, value);
}

/* ECAM offset: bus << 20 | device << 15 | function << 12 | register. */
static uint64_t ecam_read(void *opaque, uint64_t offset, unsigned size)
{
	if (size > 4)
		return pci_all_ones(size); /* ECAM accesses are at most a dword */
	unsigned bus = (unsigned)(offset >> 20), devfn = (unsigned)(offset >> 12) & 0xff;

	return pci_host_config_read(opaque, bus, devfn, (unsigned)offset & 0xfff, size);
}

static void ecam_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	if (size > 4)
		return;
	unsigned bus = (unsigned)(offset >> 20), devfn = (unsigned)(offset >> 12) & 0xff;

	pci_host_config_write(opaque, bus, devfn, (unsigned)offset & 0xfff, size, (uint32_t)value);
}

/* CF8 is only the address latch for dword accesses; narrower ones are not ours. */
static uint64_t cf8_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_host *host = opaque;

	return size == 4 ? atomic_load(&host->cf8) : pci_all_ones(size);
}

static void cf8_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_host *host = opaque;

	if (size == 4)
		atomic_store(&host->cf8, (uint32_t)value & CF8_WRITABLE);
}

static uint64_t cfc_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_host *host = opaque;
	uint32_t address = atomic_load(&host->cf8);

	if (!(address & CF8_ENABLE))
		return pci_all_ones(size);
	return pci_host_config_read(host, (address >> 16) & 0xff, (address >> 8) & 0xff,
				    (address & 0xfc) + (unsigned)offset, size);
}

static void cfc_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_host *host = opaque;
	uint32_t address = atomic_load(&host->cf8);

	if (address & CF8_ENABLE)
		pci_host_config_write(host, (address >> 16) & 0xff, (address >> 8) & 0xff,
				      (address & 0xfc) + (unsigned)offset, size, (uint32_t)value);
}

static const struct bus_region_ops ecam_ops = { .read = ecam_read, .write = ecam_write };
static const struct bus_region_ops cf8_ops = { .read = cf8_read, .write = cf8_write };
static const struct bus_region_ops cfc_ops = { .read = cfc_read, .write = cfc_write };

int pci_host_attach(struct pci_host *host, struct vm *vm)
{
	int rc;

	if (vm->pci_host) {
		log_error("%s: only one pci-host per VM", host->name);
		return -EEXIST;
	}
	if ((rc = bus_register(&vm->mmio_bus, PCI_HOST_ECAM_BASE, PCI_HOST_ECAM_SIZE, &ecam_ops,
			       host, host->name)) ||
	    (rc = bus_register(&vm->mmio_bus, PCI_HOST_MEM_BASE, PCI_HOST_MEM_SIZE,
			       &mem_window_ops, host, host->name)) ||
	    (rc = bus_register(&vm->pio_bus, PCI_HOST_IO_BASE, PCI_HOST_IO_SIZE, &io_window_ops,
			       host, host->name)) ||
	    (rc = bus_register(&vm->pio_bus, PCI_HOST_CF8_PORT, 4, &cf8_ops, host, host->name)) ||
	    (rc = bus_register(&vm->pio_bus, PCI_HOST_CFC_PORT, 4, &cfc_ops, host, host->name)))
		return rc;
	host->vm = vm;
	vm->pci_host = host;
	return 0;
}

/* ---- functions and BAR assignment ---- */

static int pick_slot(struct pci_host *host, const struct pci_function *fn, int slot)
{
	if (slot < 0) {
		for (unsigned s = 1; s < PCI_HOST_SLOTS; s++) {
			if (!host->slots[s])
				return (int)s;
		}
		log_error("%s: no free slot on bus 0 for %s (31 devices at most)", host->name,
			  fn->name);
		return -ENOSPC;
	}
	if (slot == 0 || slot >= (int)PCI_HOST_SLOTS) {
		log_error("%s: slot %d for %s is invalid; valid: 1 to 31 (0 is the host bridge)",
			  host->name, slot, fn->name);
		return -EINVAL;
	}
	if (host->slots[slot]) {
		log_error("%s: slot %d for %s is already used by %s", host->name, slot, fn->name,
			  host->slots[slot]->name);
		return -EBUSY;
	}
	return slot;
}

static void add_decode_entries(struct pci_host *host, struct pci_function *fn)
{
	for (unsigned bar = 0; bar < PCI_BAR_COUNT; bar++) {
		struct pci_decode_entry *entry = &host->decode[fn->slot * PCI_BAR_COUNT + bar];

		if (fn->bars[bar].type == PCI_BAR_NONE)
			continue;
		entry->fn = fn;
		entry->bar = bar;
		entry->size = fn->bars[bar].size;
		entry->io = fn->bars[bar].type == PCI_BAR_IO;
	}
	if (host->decode_used < (fn->slot + 1) * PCI_BAR_COUNT)
		host->decode_used = (fn->slot + 1) * PCI_BAR_COUNT;
}

int pci_host_add_function(struct pci_host *host, struct pci_function *fn, int slot)
{
	int picked = pick_slot(host, fn, slot);

	if (picked < 0)
		return picked;
	fn->host = host;
	fn->slot = (unsigned)picked;
	host->slots[picked] = fn;
	add_decode_entries(host, fn);
	/* Re-assign everything, so addresses follow slot order, not config order. */
	pci_host_reset(host);
	return picked;
}

static uint64_t align_up(uint64_t value, uint64_t alignment)
{
	return (value + alignment - 1) & ~(alignment - 1);
}

/* Bump allocation in the window; BARs are naturally aligned. */
static void assign_function(struct pci_host *host, struct pci_function *fn, uint64_t *next_mem,
			    uint64_t *next_io)
{
	uint16_t enable = 0;

	for (unsigned bar = 0; bar < PCI_BAR_COUNT; bar++) {
		const struct pci_bar *b = &fn->bars[bar];
		bool io = b->type == PCI_BAR_IO;
		uint64_t *next = io ? next_io : next_mem;

		if (b->type == PCI_BAR_NONE)
			continue;
		uint64_t address = align_up(*next, b->size);

		if (!inside_window(io, address, b->size)) {
			log_warn("%s: no room for %s BAR%u (%llu bytes) in the %s window; "
				 "left unassigned", host->name, fn->name, bar,
				 (unsigned long long)b->size, io ? "I/O" : "memory");
			continue;
		}
		pci_function_set_bar_address(fn, bar, address);
		*next = address + b->size;
		enable |= io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	}
	if (enable)
		pci_function_enable(fn, enable);
}

void pci_host_reset(struct pci_host *host)
{
	uint64_t next_mem = PCI_HOST_MEM_BASE, next_io = PCI_HOST_IO_BASE;

	atomic_store(&host->cf8, 0);
	for (unsigned s = 0; s < PCI_HOST_SLOTS; s++) {
		if (host->slots[s])
			pci_function_reset(host->slots[s]);
	}
	for (unsigned s = 0; host->assign_bars && s < PCI_HOST_SLOTS; s++) {
		if (host->slots[s])
			assign_function(host, host->slots[s], &next_mem, &next_io);
	}
}

/* ---- the "pci-host" device model ---- */

static int pci_host_parse(struct device *dev, const struct toml_table *section,
			  const struct config_context *ctx)
{
	static const char *const keys[] = { "type", "assign_bars", NULL };
	bool assign_bars = true;
	int rc;

	if ((rc = config_check_keys(ctx, section, dev->name, keys)) ||
	    (rc = config_get_bool(ctx, section, "assign_bars", &assign_bars)))
		return rc;
	dev->state = pci_host_new(dev->name, assign_bars);
	return dev->state ? 0 : -ENOMEM;
}

static int pci_host_realize(struct device *dev, struct vm *vm)
{
	return pci_host_attach(dev->state, vm);
}

/* Root node per the pci-host-ecam-generic binding (device-facts 6.1). */
static int pci_host_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const uint32_t reg[] = { 0, (uint32_t)PCI_HOST_ECAM_BASE, 0, (uint32_t)PCI_HOST_ECAM_SIZE };
	const uint32_t bus_range[] = { 0, PCI_HOST_BUSES - 1 };
	/* child (3 cells) -> parent (2 cells, CPU address), size (2 cells); I/O 1:1 as on /isa */
	const uint32_t ranges[] = {
		0x01000000, 0, (uint32_t)PCI_HOST_IO_BASE, 0, (uint32_t)PCI_HOST_IO_BASE,
		0, (uint32_t)PCI_HOST_IO_SIZE,
		0x02000000, 0, (uint32_t)PCI_HOST_MEM_BASE, 0, (uint32_t)PCI_HOST_MEM_BASE,
		0, (uint32_t)PCI_HOST_MEM_SIZE,
	};
	char name[32];

	snprintf(name, sizeof(name), "pci@%llx", (unsigned long long)PCI_HOST_ECAM_BASE);
	int node = fdt_add_node(fdt, "/", name);

	fdt_prop_string(fdt, node, "compatible", "pci-host-ecam-generic");
	fdt_prop_string(fdt, node, "device_type", "pci");
	fdt_prop_u32(fdt, node, "#address-cells", 3);
	fdt_prop_u32(fdt, node, "#size-cells", 2);
	fdt_prop_u32(fdt, node, "#interrupt-cells", 1);
	fdt_prop_cells(fdt, node, "bus-range", bus_range, 2);
	fdt_prop_cells(fdt, node, "reg", reg, 4);
	fdt_prop_cells(fdt, node, "ranges", ranges, sizeof(ranges) / sizeof(ranges[0]));
	return 0;
}

static void pci_host_unrealize(struct device *dev, struct vm *vm)
{
	struct pci_host *host = dev->state;

	if (vm->pci_host == host)
		vm->pci_host = NULL;
	host->vm = NULL;
}

static void pci_host_device_reset(struct device *dev)
{
	pci_host_reset(dev->state);
}

static void pci_host_destroy(struct device *dev)
{
	pci_host_free(dev->state);
	dev->state = NULL;
}

const struct device_model pci_host_model = {
	.type = "pci-host",
	.summary = "PCI host bridge: ECAM at 0xe0000000, CF8/CFC, BAR windows",
	.parse = pci_host_parse,
	.realize = pci_host_realize,
	.add_fdt_node = pci_host_add_fdt_node,
	.reset = pci_host_device_reset,
	.unrealize = pci_host_unrealize,
	.destroy = pci_host_destroy,
};
