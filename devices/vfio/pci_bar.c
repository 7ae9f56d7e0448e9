/* SPDX-License-Identifier: MIT */
/*
 * BARs of a passed-through function.
 *
 * Mmappable areas (region MMAP flag, or the SPARSE_MMAP areas) are mmapped
 * once at realize and given to KVM as memslots at the BAR's current guest
 * address, so the guest reaches the device with no exit. The MSI-X table
 * and PBA pages are cut out of them whatever the kernel allows: the guest
 * must see the virtual table (pci_msix.c), never the device's. Everything
 * else is trapped: the host's BAR decode (devices/pci/host.c) calls
 * vfio_pci_bar_ops, which serves the virtual MSI-X table and PBA and
 * forwards the rest with pread/pwrite on the region.
 *
 * Moving: the config hooks call vfio_pci_bars_sync() on every BAR or
 * COMMAND change, with fn.lock held, so the memslots follow at once: drop
 * the old ones, add the new. A BAR outside the PCI memory window (sizing
 * writes, a wild guest value) or with COMMAND.MEMORY clear gets none, so a
 * guest cannot lay device memory over RAM, the APIC or anything else.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/pci/host.h"
#include "devices/vfio/pci.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static uint64_t page_down(uint64_t value)
{
	return value & ~(VFIO_PCI_PAGE - 1);
}

static uint64_t page_up(uint64_t value)
{
	return (value + VFIO_PCI_PAGE - 1) & ~(VFIO_PCI_PAGE - 1);
}

unsigned vfio_pci_split_area(uint64_t start, uint64_t size, const uint64_t (*exclude)[2],
			     unsigned exclude_count, struct vfio_pci_map *out, unsigned max)
{
	struct vfio_pci_map pieces[VFIO_PCI_MAX_MAPS * 2];
	unsigned count = 0;
	uint64_t first = page_up(start), end = page_down(start + size);

	if (!max || size > UINT64_MAX - start || first >= end)
		return 0;
	pieces[count++] = (struct vfio_pci_map){ .offset = first, .size = end - first, .slot = -1 };
	for (unsigned x = 0; x < exclude_count; x++) {
		uint64_t cut_start = page_down(exclude[x][0]);
		uint64_t cut_end = page_up(exclude[x][0] + exclude[x][1]);
		struct vfio_pci_map kept[VFIO_PCI_MAX_MAPS * 2];
		unsigned kept_count = 0;

		if (!exclude[x][1])
			continue;
		for (unsigned p = 0; p < count; p++) {
			uint64_t s = pieces[p].offset, e = s + pieces[p].size;

			if (cut_end <= s || e <= cut_start) {
				if (kept_count < VFIO_PCI_MAX_MAPS * 2)
					kept[kept_count++] = pieces[p];
				continue;
			}
			if (s < cut_start && kept_count < VFIO_PCI_MAX_MAPS * 2)
				kept[kept_count++] = (struct vfio_pci_map){
					.offset = s, .size = cut_start - s, .slot = -1 };
			if (cut_end < e && kept_count < VFIO_PCI_MAX_MAPS * 2)
				kept[kept_count++] = (struct vfio_pci_map){
					.offset = cut_end, .size = e - cut_end, .slot = -1 };
		}
		memcpy(pieces, kept, kept_count * sizeof(kept[0]));
		count = kept_count;
	}
	if (count > max)
		count = max;
	memcpy(out, pieces, count * sizeof(pieces[0]));
	return count;
}

static bool in_msix_range(const struct vfio_pci *pci, unsigned bar, uint64_t offset,
			  uint64_t size, bool pba_only)
{
	const struct vfio_pci_msix_layout *m = &pci->msix;
	uint64_t table_size = (uint64_t)m->vectors * PCI_MSIX_ENTRY_SIZE;
	uint64_t pba_size = (m->vectors + 63) / 64 * 8;

	if (!m->present || bar != m->bar)
		return false;
	bool pba = offset < m->pba + pba_size && m->pba < offset + size;

	return pba || (!pba_only && offset < m->table + table_size && m->table < offset + size);
}

/* ---- trapped accesses (vCPU threads) ---- */

static uint64_t bar_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vfio_pci_bar *bar = opaque;
	struct vfio_pci *pci = bar->pci;
	uint64_t value = 0;

	if (in_msix_range(pci, bar->index, offset, size, true))
		vfio_pci_msix_collect(pci);
	if (pci->msix.present && pci_msix_mmio_read(&pci->fn, bar->index, offset, size, &value))
		return value;
	if (pci->io->region_read(pci->io_opaque, bar->index, offset, &value, size))
		return pci_all_ones(size);
	return value;
}

static void bar_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct vfio_pci_bar *bar = opaque;
	struct vfio_pci *pci = bar->pci;

	if (pci->msix.present && pci_msix_mmio_write(&pci->fn, bar->index, offset, size, value)) {
		pthread_mutex_lock(&pci->fn.lock);
		vfio_pci_msix_sync(pci);
		pthread_mutex_unlock(&pci->fn.lock);
		return;
	}
	int rc = pci->io->region_write(pci->io_opaque, bar->index, offset, &value, size);

	if (rc)
		log_debug("vfio-pci '%s': BAR%u write of %u bytes at %#llx: %s", pci->name,
			  bar->index, size, (unsigned long long)offset, strerror(-rc));
}

const struct bus_region_ops vfio_pci_bar_ops = { .read = bar_read, .write = bar_write };

bool vfio_pci_store64(void *opaque, uint64_t gpa, const uint8_t data[64],
		      enum x86_store64_kind kind, bool *accepted)
{
	struct vfio_pci *pci = opaque;
	unsigned bar;
	uint64_t offset;

	if (!pci->vm->pci_host ||
	    pci_host_decode(pci->vm->pci_host, false, gpa, 64, &bar, &offset) != &pci->fn)
		return false;
	/* Never let a 64-byte store reach the device's own MSI-X table. */
	if (in_msix_range(pci, bar, offset, 64, false)) {
		*accepted = false;
		return true;
	}
	*accepted = pci->io->region_write(pci->io_opaque, bar, offset, data, 64) == 0;
	return true;
}

/* ---- memslots ---- */

int vfio_pci_bars_map(struct vfio_pci *pci)
{
	const struct vfio_pci_msix_layout *m = &pci->msix;

	for (unsigned i = 0; i < PCI_BAR_COUNT; i++) {
		struct vfio_pci_bar *bar = &pci->bars[i];
		const struct vfio_region *region = &pci->dev.regions[i];
		uint64_t exclude[2][2] = {
			{ m->table, (uint64_t)m->vectors * PCI_MSIX_ENTRY_SIZE },
			{ m->pba, (m->vectors + 63) / 64 * 8 },
		};
		unsigned excluded = m->present && m->bar == i ? 2 : 0;

		if (!bar->size || bar->io)
			continue;
		for (unsigned a = 0; a < region->area_count; a++) {
			struct vfio_pci_map pieces[VFIO_PCI_MAX_MAPS];
			unsigned n = vfio_pci_split_area(region->areas[a].offset, region->areas[a].size,
							 exclude, excluded, pieces,
							 VFIO_PCI_MAX_MAPS - bar->map_count);

			for (unsigned p = 0; p < n; p++) {
				void *host = vfio_region_mmap(&pci->dev, i, pieces[p].offset,
							      pieces[p].size);

				if (!host) {
					log_warn("vfio-pci '%s': BAR%u [%#llx, +%#llx) stays trapped",
						 pci->name, i, (unsigned long long)pieces[p].offset,
						 (unsigned long long)pieces[p].size);
					continue;
				}
				pieces[p].host = host;
				bar->maps[bar->map_count++] = pieces[p];
			}
		}
		if (bar->map_count)
			log_debug("vfio-pci '%s': BAR%u: %u mmapped piece(s)", pci->name, i,
				  bar->map_count);
	}
	return 0;
}

static void remove_slots(struct vfio_pci *pci, struct vfio_pci_bar *bar)
{
	for (unsigned m = 0; m < bar->map_count; m++) {
		if (bar->maps[m].slot > 0)
			vm_remove_ram_slot(pci->vm, bar->maps[m].slot);
		bar->maps[m].slot = -1;
	}
	bar->mapped_base = 0;
}

static void add_slots(struct vfio_pci *pci, struct vfio_pci_bar *bar, uint64_t base)
{
	for (unsigned m = 0; m < bar->map_count; m++) {
		struct vfio_pci_map *map = &bar->maps[m];
		int slot = vm_add_ram_slot(pci->vm, base + map->offset, map->size, map->host);

		if (slot < 0) {
			/* Overlapping BARs are the guest's doing: say it once, then quietly. */
			log_message(bar->slot_warned ? LOG_DEBUG : LOG_WARN,
				    "vfio-pci '%s': BAR%u at %#llx: memslot for [%#llx, +%#llx): %s; "
				    "trapped instead", pci->name, bar->index, (unsigned long long)base,
				    (unsigned long long)map->offset, (unsigned long long)map->size,
				    strerror(-slot));
			bar->slot_warned = true;
			continue;
		}
		map->slot = slot;
	}
	bar->mapped_base = base;
}

/*
 * Where the BAR's memslots belong now: 0 when it must have none. A BAR laid
 * over another decoded BAR (this function's or another's) gets none: a
 * memslot would win every access in the overlap, hiding the other BAR (the
 * virtual MSI-X table under BAR2's portal, say) where the host's rule,
 * lowest BAR wins, must decide; trapped, it does. Every BAR or COMMAND
 * change of this function re-checks all its BARs, so the memslots come
 * back once the overlap is gone.
 */
static uint64_t wanted_base(struct vfio_pci *pci, const struct vfio_pci_bar *bar)
{
	uint64_t base;

	if (!(pci_function_command(&pci->fn) & PCI_COMMAND_MEMORY))
		return 0;
	base = pci_function_bar_address(&pci->fn, bar->index);
	if (base < PCI_HOST_MEM_BASE || bar->size > PCI_HOST_MEM_SIZE ||
	    base - PCI_HOST_MEM_BASE > PCI_HOST_MEM_SIZE - bar->size)
		return 0;
	if (pci->fn.host && pci_host_overlaps_other(pci->fn.host, &pci->fn, bar->index, base,
						    bar->size))
		return 0;
	return base;
}

void vfio_pci_bars_sync(struct vfio_pci *pci)
{
	if (!pci->vm)
		return;
	for (unsigned i = 0; i < PCI_BAR_COUNT; i++) {
		struct vfio_pci_bar *bar = &pci->bars[i];

		if (!bar->map_count)
			continue;
		uint64_t base = wanted_base(pci, bar);

		if (base == bar->mapped_base)
			continue;
		remove_slots(pci, bar);
		if (base)
			add_slots(pci, bar, base);
		log_debug("vfio-pci '%s': BAR%u memslots %s %#llx", pci->name, i,
			  base ? "at" : "removed; BAR at", (unsigned long long)(base ? base :
			  pci_function_bar_address(&pci->fn, i)));
	}
}

void vfio_pci_bars_unmap(struct vfio_pci *pci)
{
	for (unsigned i = 0; i < PCI_BAR_COUNT; i++) {
		struct vfio_pci_bar *bar = &pci->bars[i];

		if (pci->vm)
			remove_slots(pci, bar);
		for (unsigned m = 0; m < bar->map_count; m++)
			munmap(bar->maps[m].host, bar->maps[m].size);
		bar->map_count = 0;
	}
}
