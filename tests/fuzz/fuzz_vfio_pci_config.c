/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the vfio-pci config-space virtualization
 * (devices/vfio/pci_config.c, pci_bar.c, pci_msix.c) over a fake device,
 * driven as tests/unit/test_vfio_pci_config.c does, plugged into a real
 * PCI host (devices/pci/host.c) so config accesses, BAR assignment and
 * decoding are the VMM's own. Memslots go to a VM whose fd is -1: KVM
 * refuses them, but where the BAR model wants them is still recorded.
 *
 * Input: the device, then guest operations.
 *   byte 0        n patches (mod 32) of the device's config space, a DSA-like
 *                 function (two 64-bit BARs, PM, MSI, PCIe, MSI-X in BAR0,
 *                 vendor, AF): n x (offset, value)
 *   6 x 2 bytes   BAR regions: size byte (0 absent, else 1 << (b & 0x3f) capped
 *                 at 2^40, + 0x10 if bit 7), flags byte (bit 0 MMAP; bits 1-2:
 *                 whole region, first half, two areas, none mappable)
 *   1 byte        MSI-X vectors VFIO offers (mod 64; 0xff: UINT32_MAX)
 *   then records  opcode + 8 argument bytes:
 *     0 config read    off16 (mod 0x1010), size      1 config write  off16, size, value32
 *     2 BAR sizing     bar                           3 COMMAND       value16
 *     4 MSI-X control  value16                       5 MSI-X table   vector16, dword, value32
 *     6 BAR access     addr32 (mem window or, bit 7 of byte 7, I/O), size, write, value
 *     7 the device signals MSI-X vector16            8 PBA read
 *     9 host reset (firmware reassigns BARs)        10 move BAR: bar, low32, high8
 *    11 function reset (no reassignment)
 *       (a config write may be the guest's FLR: DEVCTL of the PCIe capability)
 *    12 64-byte store at addr32 in the memory window (MOVDIR64B, or ENQCMD
 *       with bit 0 of byte 6)
 *
 * Invariants (abort() on violation), after every operation: the guest's
 * capability list is acyclic, strictly increasing, inside 0x40-0xff, only
 * PM, PCIe, vendor-specific and (once) MSI-X, and never changes; a BAR
 * decodes only while enabled and wholly inside its window, and only
 * addresses inside it; a BAR's memslots sit exactly at its address, only
 * with COMMAND.MEMORY, only inside the memory window and over no other
 * decoded BAR; the device's config space is never written but for the
 * forwarded COMMAND bits, which always match the guest's; BAR accesses
 * reach the device only inside the region and never in the MSI-X table or
 * PBA; the host's MSI-X vectors follow the guest's enable and masks (each
 * signals the irqfd's eventfd when deliverable, its parking eventfd
 * otherwise, none while disabled) and SET_IRQS never names a vector VFIO
 * does not offer. BAR sizing reads back the size mask. The memslot pieces
 * are page-aligned, inside the BAR and mappable, and never cover an MSI-X
 * table or PBA page. The device is reset (VFIO_DEVICE_RESET, its MSI-X off
 * first) exactly when a config write sets Initiate FLR in the PCIe
 * capability's DEVCTL and the device's DEVCAP has FLR, which leaves COMMAND
 * 0, MSI-X off and no memslot; the bit always reads 0. Refusing a device
 * at build time is allowed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pci/config.h"
#include "devices/pci/host.h"
#include "devices/pci/msix.h"
#include "devices/vfio/pci.h"
#include "vmm/log.h"
#include "vmm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

#define FORWARDED (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)
#define REAL_EVENTFDS 16 /* irqfd stand-ins with a real eventfd; the rest -1 */

struct fake_device {
	uint8_t config[256], original[256];
	int msix_fds[PCI_MSIX_MAX_VECTORS];
	bool msix_enabled;
	unsigned msi_inits;
	unsigned resets;       /* VFIO_DEVICE_RESET calls */
};

static struct fake_device fake;
static struct vfio_pci *pci;
static struct pci_host *host;
static struct vm fake_vm;
static int zero_fd = -1;

static struct reader {
	const uint8_t *data;
	size_t size, pos;
} in;

static uint8_t take8(void)
{
	return in.pos < in.size ? in.data[in.pos++] : 0;
}

static uint64_t get(const uint8_t *p, unsigned len)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static unsigned offered_vectors(void)
{
	const struct vfio_pci_msix_layout *m = &pci->msix;

	return m->host_vectors < m->vectors ? m->host_vectors : m->vectors;
}

static bool in_msix(unsigned index, uint64_t offset, uint64_t len)
{
	const struct vfio_pci_msix_layout *m = &pci->msix;
	uint64_t table = (uint64_t)m->vectors * PCI_MSIX_ENTRY_SIZE, pba = (m->vectors + 63) / 64 * 8;

	if (!m->present || index != m->bar)
		return false;
	return (offset < m->table + table && m->table < offset + len) ||
	       (offset < m->pba + pba && m->pba < offset + len);
}

/* ---- the fake device behind struct vfio_pci_io ---- */

static int fake_read(void *opaque, unsigned index, uint64_t offset, void *buf, size_t len)
{
	if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
		CHECK(offset <= 256 && len <= 256 - offset);
		memcpy(buf, fake.config + offset, len);
		return 0;
	}
	const struct vfio_region *r = &pci->dev.regions[index < VFIO_MAX_REGIONS ? index : 0];

	CHECK(index < PCI_BAR_COUNT && r->present && offset <= r->size && len <= r->size - offset);
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)((offset + i) * 7 + index);
	return 0;
}

static int fake_write(void *opaque, unsigned index, uint64_t offset, const void *buf, size_t len)
{
	if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
		uint16_t command;

		/* Only COMMAND reaches the device, and only its forwarded bits change. */
		CHECK(offset == PCI_COMMAND && len == 2);
		memcpy(&command, buf, 2);
		CHECK(((command ^ get(fake.original + PCI_COMMAND, 2)) & ~FORWARDED) == 0);
		memcpy(fake.config + offset, buf, len);
		return 0;
	}
	const struct vfio_region *r = &pci->dev.regions[index < VFIO_MAX_REGIONS ? index : 0];

	CHECK(index < PCI_BAR_COUNT && r->present && offset <= r->size && len <= r->size - offset);
	CHECK(!in_msix(index, offset, len)); /* the device's own table stays the VMM's */
	return 0;
}

static int fake_set_eventfds(void *opaque, unsigned index, unsigned start, unsigned count,
			     const int *fds)
{
	CHECK(index == VFIO_PCI_MSIX_IRQ_INDEX && pci->msix.present);
	CHECK(count >= 1 && start < offered_vectors() && count <= offered_vectors() - start);
	for (unsigned i = 0; i < count; i++)
		fake.msix_fds[start + i] = fds[i];
	fake.msix_enabled = true;
	return 0;
}

static int fake_disable(void *opaque, unsigned index)
{
	CHECK(index == VFIO_PCI_MSIX_IRQ_INDEX);
	for (unsigned i = 0; i < PCI_MSIX_MAX_VECTORS; i++)
		fake.msix_fds[i] = -1;
	fake.msix_enabled = false;
	return 0;
}

static int fake_set_unmask(void *opaque, unsigned index, int fd)
{
	abort(); /* INTx is not configured */
}

static int fake_reset(void *opaque)
{
	CHECK(!fake.msix_enabled); /* the host's vectors are off before a reset */
	fake.resets++;
	return 0;
}

static const struct vfio_pci_io fake_io = {
	.region_read = fake_read, .region_write = fake_write,
	.set_eventfds = fake_set_eventfds, .disable = fake_disable,
	.set_unmask_eventfd = fake_set_unmask, .reset = fake_reset,
};

/* ---- irq ops standing in for KVM ---- */

static int rec_init(struct vm *vm, struct irq_msi *msi)
{
	memset(msi, 0, sizeof(*msi));
	msi->eventfd = -1;
	if (fake.msi_inits++ < REAL_EVENTFDS) {
		msi->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (msi->eventfd < 0)
			return -errno;
	}
	return 0;
}

static int rec_program(struct irq_msi *msi, uint64_t address, uint32_t data)
{
	msi->address = address;
	msi->data = data;
	return 0;
}

static void rec_trigger(struct irq_msi *msi)
{
}

static void rec_destroy(struct irq_msi *msi)
{
	if (msi->eventfd >= 0)
		close(msi->eventfd);
	msi->eventfd = -1;
}

static const struct pci_irq_ops rec_ops = {
	.init = rec_init, .program = rec_program, .trigger = rec_trigger, .destroy = rec_destroy,
};

/* ---- the device: a DSA-like function, then the input's patches ---- */

static void put(uint8_t *p, unsigned offset, unsigned len, uint64_t value)
{
	for (unsigned i = 0; i < len; i++)
		p[offset + i] = (uint8_t)(value >> (8 * i));
}

static void build_config(uint8_t *c)
{
	memset(c, 0, 256);
	put(c, PCI_VENDOR_ID, 2, 0x8086);
	put(c, PCI_DEVICE_ID, 2, 0x0b25);
	put(c, PCI_REVISION_ID, 4, 0x08800001);
	c[PCI_HEADER_TYPE] = 0x80;
	put(c, PCI_STATUS, 2, PCI_STATUS_CAP_LIST);
	put(c, PCI_BASE_ADDRESS_0, 4, 0xfe00000c);
	put(c, PCI_BASE_ADDRESS_1, 4, 0x3f);
	put(c, PCI_BASE_ADDRESS_2, 4, 0xfd00000c);
	c[PCI_INTERRUPT_PIN] = 1;
	c[PCI_CAPABILITY_LIST] = 0x40;
	c[0x40] = PCI_CAP_ID_PM; c[0x41] = 0x50; put(c, 0x42, 2, 3); put(c, 0x44, 2, 3);
	c[0x50] = PCI_CAP_ID_MSI; c[0x51] = 0x60; put(c, 0x52, 2, 0x80);
	c[0x60] = PCI_CAP_ID_EXP; c[0x61] = 0x98; put(c, 0x62, 2, 2); put(c, 0x64, 4, 0x10008fc0);
	c[0x98] = PCI_CAP_ID_MSIX; c[0x99] = 0xa8; put(c, 0x9a, 2, 8);
	put(c, 0x9c, 4, 0x2000); put(c, 0xa0, 4, 0x3000);
	c[0xa8] = PCI_CAP_ID_VNDR; c[0xa9] = 0xb0; c[0xaa] = 8; put(c, 0xac, 4, 0xcafe);
	c[0xb0] = PCI_CAP_ID_AF; c[0xb2] = 6;
}

static void build_region(unsigned index, uint8_t size_byte, uint8_t flags_byte)
{
	struct vfio_region *r = &pci->dev.regions[index];
	unsigned shift = size_byte & 0x3f;
	uint64_t size = (1ull << (shift < 40 ? shift : 40)) + (size_byte & 0x80 ? 0x10 : 0);

	if (!size_byte)
		return;
	*r = (struct vfio_region){
		.present = true, .size = size, .offset = (uint64_t)index << 40,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 (flags_byte & 1 ? VFIO_REGION_INFO_FLAG_MMAP : 0),
	};
	if (!(flags_byte & 1))
		return;
	/* What vfio_region_parse can hand out: areas inside the region. */
	switch ((flags_byte >> 1) & 3) {
	case 0:
		r->area_count = 1;
		r->areas[0].size = size;
		break;
	case 1:
		r->area_count = 1;
		r->areas[0].size = size / 2 ? size / 2 : size;
		break;
	case 2:
		r->area_count = 2;
		r->areas[0].size = size / 4 ? size / 4 : size;
		r->areas[1].offset = size / 2;
		r->areas[1].size = size - size / 2;
		break;
	default:
		break;
	}
}

/* ---- invariants ---- */

static uint8_t snapshot_ids[64], snapshot_offsets[64];
static unsigned snapshot_count;

static unsigned walk_caps(uint8_t ids[64], uint8_t offsets[64])
{
	unsigned n = 0, msix = 0, end = PCI_CAP_FIRST;

	if (!(pci_config_read(&pci->fn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) {
		CHECK(pci_config_read(&pci->fn, PCI_CAPABILITY_LIST, 1) == 0);
		return 0;
	}
	for (unsigned at = pci_config_read(&pci->fn, PCI_CAPABILITY_LIST, 1); at;
	     at = pci_config_read(&pci->fn, at + PCI_CAP_LIST_NEXT, 1)) {
		uint8_t id = (uint8_t)pci_config_read(&pci->fn, at + PCI_CAP_LIST_ID, 1);
		unsigned len = id == PCI_CAP_ID_PM ? PCI_PM_SIZEOF
			       : id == PCI_CAP_ID_MSIX ? PCI_MSIX_CAP_LENGTH
			       : id == PCI_CAP_ID_VNDR ? pci_config_read(&pci->fn, at + 2, 1)
			       : PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;

		/* Strictly increasing, dword-aligned, after the previous one: acyclic. */
		CHECK(n < 48 && at >= end && at % 4 == 0 && at <= 0xfc && at + len <= 0x100);
		CHECK(id == PCI_CAP_ID_PM || id == PCI_CAP_ID_EXP || id == PCI_CAP_ID_VNDR ||
		      id == PCI_CAP_ID_MSIX);
		if (id == PCI_CAP_ID_MSIX) {
			CHECK(msix++ == 0 && pci->fn.msix && pci->fn.msix->cap == at);
			CHECK(pci->msix.present);
		}
		if (id == PCI_CAP_ID_PM)
			CHECK((pci_config_read(&pci->fn, at + PCI_PM_CTRL, 2) &
			       PCI_PM_CTRL_STATE_MASK) == 0); /* always D0 */
		ids[n] = id;
		offsets[n++] = (uint8_t)at;
		end = at + (len < 4 ? 4 : len);
	}
	CHECK(!pci->fn.msix == !msix);
	return n;
}

static bool bar_enabled(unsigned i)
{
	uint16_t command = pci_function_command(&pci->fn);

	return command & (pci->fn.bars[i].type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY);
}

static bool inside_window(bool io, uint64_t base, uint64_t size)
{
	uint64_t window = io ? PCI_HOST_IO_BASE : PCI_HOST_MEM_BASE;
	uint64_t window_size = io ? PCI_HOST_IO_SIZE : PCI_HOST_MEM_SIZE;

	return base >= window && size <= window_size && base - window <= window_size - size;
}

static bool bar_decoded(unsigned i)
{
	const struct pci_bar *bar = &pci->fn.bars[i];

	return bar->type != PCI_BAR_NONE && bar_enabled(i) &&
	       inside_window(bar->type == PCI_BAR_IO, pci_function_bar_address(&pci->fn, i),
			     bar->size);
}

static void check_decode_at(bool io, uint64_t addr)
{
	unsigned index = PCI_BAR_COUNT;
	uint64_t offset = 0;
	struct pci_function *fn = pci_host_decode(host, io, addr, 1, &index, &offset);

	if (!fn)
		return;
	CHECK(fn == &pci->fn && index < PCI_BAR_COUNT && bar_decoded(index));
	const struct pci_bar *bar = &fn->bars[index];
	uint64_t base = pci_function_bar_address(fn, index);

	CHECK((bar->type == PCI_BAR_IO) == io && addr >= base && addr - base < bar->size &&
	      offset == addr - base);
}

static bool overlaps_other_decoded(unsigned i, uint64_t base, uint64_t size)
{
	for (unsigned j = 0; j < PCI_BAR_COUNT; j++) {
		const struct pci_bar *other = &pci->fn.bars[j];
		uint64_t at = pci_function_bar_address(&pci->fn, j);

		if (j != i && other->type != PCI_BAR_NONE && other->type != PCI_BAR_IO &&
		    bar_decoded(j) && at < base + size && base < at + other->size)
			return true;
	}
	return false;
}

static void check_bars(void)
{
	for (unsigned i = 0; i < PCI_BAR_COUNT; i++) {
		const struct pci_bar *bar = &pci->fn.bars[i];
		const struct vfio_pci_bar *vbar = &pci->bars[i];
		uint64_t base = pci_function_bar_address(&pci->fn, i);
		bool io = bar->type == PCI_BAR_IO;

		if (bar->type != PCI_BAR_NONE) {
			CHECK(bar->size == vbar->size && bar->size == pci->dev.regions[i].size);
			check_decode_at(io, base);
			check_decode_at(io, base + bar->size - 1);
			check_decode_at(io, base - 1);
			check_decode_at(io, base + bar->size);
		}
		if (vbar->mapped_base) {
			CHECK(!io && bar->type != PCI_BAR_NONE && vbar->map_count);
			CHECK(pci_function_command(&pci->fn) & PCI_COMMAND_MEMORY);
			CHECK(vbar->mapped_base == base && inside_window(false, base, bar->size));
			CHECK(!overlaps_other_decoded(i, base, bar->size));
		} else if (vbar->map_count && bar_decoded(i) && !overlaps_other_decoded(i, base, bar->size)) {
			abort(); /* a mappable BAR where it belongs has its memslots */
		}
	}
	check_decode_at(false, PCI_HOST_MEM_BASE - 1);
	check_decode_at(false, PCI_HOST_MEM_BASE + PCI_HOST_MEM_SIZE);
	check_decode_at(true, PCI_HOST_IO_BASE + PCI_HOST_IO_SIZE);
}

static void check_device(void)
{
	uint16_t device = (uint16_t)get(fake.config + PCI_COMMAND, 2);

	CHECK(memcmp(fake.config, fake.original, PCI_COMMAND) == 0);
	CHECK(memcmp(fake.config + PCI_STATUS, fake.original + PCI_STATUS, 256 - PCI_STATUS) == 0);
	CHECK((device & FORWARDED) == (pci_function_command(&pci->fn) & FORWARDED));
}

static void check_msix(void)
{
	struct pci_msix *msix = pci->fn.msix;
	unsigned n = offered_vectors();

	if (!msix || !pci->vector_live || !n) {
		CHECK(!fake.msix_enabled);
		return;
	}
	uint_least16_t control = atomic_load(&msix->control);

	CHECK(fake.msix_enabled == !!(control & PCI_MSIX_FLAGS_ENABLE));
	CHECK(pci->msix_host_enabled == fake.msix_enabled);
	if (!fake.msix_enabled)
		return;
	for (unsigned v = 0; v < n; v++) {
		bool live = !(control & PCI_MSIX_FLAGS_MASKALL) &&
			    !(atomic_load(&msix->table[v].control) & PCI_MSIX_ENTRY_CTRL_MASKBIT);

		CHECK(pci->vector_live[v] == live);
		CHECK(fake.msix_fds[v] == (live ? msix->msi[v].eventfd : pci->parked[v]));
	}
}

static void check_all(void)
{
	uint8_t ids[64], offsets[64];
	unsigned n = walk_caps(ids, offsets);

	CHECK(n == snapshot_count && memcmp(ids, snapshot_ids, n) == 0 &&
	      memcmp(offsets, snapshot_offsets, n) == 0);
	check_bars();
	check_device();
	check_msix();
}

/* The memslot pieces: page-aligned, inside the BAR, never on the MSI-X table or PBA pages. */
static void check_maps(void)
{
	for (unsigned i = 0; i < PCI_BAR_COUNT; i++) {
		const struct vfio_pci_bar *bar = &pci->bars[i];

		CHECK(bar->map_count <= VFIO_PCI_MAX_MAPS);
		CHECK(!bar->map_count || (bar->size && !bar->io));
		for (unsigned m = 0; m < bar->map_count; m++) {
			const struct vfio_pci_map *map = &bar->maps[m];
			uint64_t start = map->offset & ~(VFIO_PCI_PAGE - 1);
			uint64_t end = (map->offset + map->size + VFIO_PCI_PAGE - 1) & ~(VFIO_PCI_PAGE - 1);

			CHECK(map->host && map->size && map->offset % VFIO_PCI_PAGE == 0 &&
			      map->size % VFIO_PCI_PAGE == 0);
			CHECK(map->offset < bar->size && map->size <= bar->size - map->offset);
			CHECK(vfio_region_mmappable(&pci->dev, i, map->offset, map->size));
			CHECK(!in_msix(i, start, end - start));
		}
	}
}

/* ---- guest operations ---- */

static uint32_t cfg_read(unsigned offset, unsigned size)
{
	return pci_host_config_read(host, 0, pci->fn.slot << 3, offset, size);
}

static void cfg_write(unsigned offset, unsigned size, uint32_t value)
{
	pci_host_config_write(host, 0, pci->fn.slot << 3, offset, size, value);
}

/*
 * A guest config write, and the FLR rule: the device is reset exactly when
 * the write sets Initiate FLR in the offered PCIe capability's DEVCTL and
 * the device's DEVCAP has FLR; then the function is left as an FLR leaves
 * it (COMMAND 0, no BAR decoding, MSI-X off), and the bit reads 0.
 */
static void guest_config_write(unsigned offset, unsigned size, uint32_t value)
{
	unsigned resets = fake.resets, flr_byte = pci->exp_cap + PCI_EXP_DEVCTL + 1;
	bool valid = (size == 1 || size == 2 || size == 4) && offset % size == 0;
	bool flr = pci->exp_cap && valid && flr_byte >= offset && flr_byte < offset + size &&
		   ((value >> (8 * (flr_byte - offset))) & 0x80) && pci->flr;

	cfg_write(offset, size, value);
	CHECK(fake.resets == resets + flr);
	if (pci->exp_cap)
		CHECK(!(cfg_read(flr_byte, 1) & 0x80));
	if (!flr)
		return;
	CHECK(pci_function_command(&pci->fn) == 0);
	CHECK(!pci->msix_host_enabled && !fake.msix_enabled);
	for (unsigned i = 0; i < PCI_BAR_COUNT; i++)
		CHECK(!pci->bars[i].mapped_base);
}

static void bar_sizing(unsigned i)
{
	unsigned offset = PCI_BASE_ADDRESS_0 + 4 * i;
	uint32_t saved = cfg_read(offset, 4);
	const struct pci_bar *bar = &pci->fn.bars[i];
	uint32_t expect;

	cfg_write(offset, 4, 0xffffffff);
	if (i > 0 && pci->fn.bars[i - 1].type == PCI_BAR_MEM64)
		expect = (uint32_t)(~(pci->fn.bars[i - 1].size - 1) >> 32);
	else if (bar->type == PCI_BAR_NONE)
		expect = 0;
	else if (bar->type == PCI_BAR_IO)
		expect = ((uint32_t)~(bar->size - 1) & PCI_BASE_ADDRESS_IO_MASK) | PCI_BASE_ADDRESS_SPACE_IO;
	else
		expect = ((uint32_t)~(bar->size - 1) & PCI_BASE_ADDRESS_MEM_MASK) |
			 (bar->type == PCI_BAR_MEM64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
			 (bar->prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
	CHECK(cfg_read(offset, 4) == expect);
	check_all(); /* mid-sizing: the BAR is somewhere absurd */
	cfg_write(offset, 4, saved);
}

static void bar_access(const uint8_t *a)
{
	bool io = a[7] & 0x80;
	uint64_t addr = io ? PCI_HOST_IO_BASE + (get(a, 2) & 0x3fff)
			   : PCI_HOST_MEM_BASE + (get(a, 4) & 0x1fffffff);
	unsigned size = 1u << (a[4] & 3), index;
	uint64_t offset, value = get(a, 4) * 0x9e3779b97f4a7c15ull;
	struct pci_function *fn = pci_host_decode(host, io, addr, size, &index, &offset);

	if (!fn)
		return;
	const struct pci_bar *bar = &fn->bars[index];

	if (a[5] & 1)
		bar->ops->write(bar->opaque, offset, size, value);
	else
		bar->ops->read(bar->opaque, offset, size);
}

static void one_op(const uint8_t *op)
{
	const uint8_t *a = op + 1;
	struct pci_msix *msix = pci->fn.msix;

	switch (op[0] % 13) {
	case 0:
		cfg_read((unsigned)get(a, 2) % 0x1010, a[2] % 5);
		break;
	case 1:
		guest_config_write((unsigned)get(a, 2) % 0x1010, a[2] % 5, (uint32_t)get(a + 3, 4));
		break;
	case 2:
		bar_sizing(a[0] % PCI_BAR_COUNT);
		break;
	case 3:
		cfg_write(PCI_COMMAND, 2, (uint32_t)get(a, 2));
		break;
	case 4:
		if (msix)
			cfg_write(msix->cap + PCI_MSIX_FLAGS, 2, (uint32_t)get(a, 2));
		break;
	case 5:
		if (msix)
			vfio_pci_bar_ops.write(&pci->bars[pci->msix.bar],
					       pci->msix.table + (get(a, 2) % msix->vectors) * 16 +
					       (a[2] % 4) * 4, 4, get(a + 3, 4));
		break;
	case 6:
		bar_access(a);
		break;
	case 7: {
		unsigned v = (unsigned)get(a, 2);
		uint64_t one = 1;

		if (v < offered_vectors() && fake.msix_fds[v] >= 0)
			CHECK(write(fake.msix_fds[v], &one, sizeof(one)) == sizeof(one));
		break;
	}
	case 8:
		if (msix)
			vfio_pci_bar_ops.read(&pci->bars[pci->msix.bar], pci->msix.pba, 8);
		break;
	case 9:
		pci_host_reset(host);
		break;
	case 10: {
		unsigned i = a[0] % PCI_BAR_COUNT;

		cfg_write(PCI_BASE_ADDRESS_0 + 4 * i, 4, (uint32_t)get(a + 1, 4));
		if (pci->fn.bars[i].type == PCI_BAR_MEM64)
			cfg_write(PCI_BASE_ADDRESS_0 + 4 * (i + 1), 4, a[5] & 3);
		break;
	}
	case 11:
		pci_function_reset(&pci->fn);
		break;
	default: {
		uint8_t line[64];
		bool accepted = false;
		uint64_t gpa = PCI_HOST_MEM_BASE + (get(a, 4) & 0x1fffffc0);

		memset(line, a[4], sizeof(line));
		/* Ours only where the host decodes one of our BARs; never the MSI-X table. */
		bool ours = vfio_pci_store64(pci, gpa, line, a[5] & 1 ? X86_STORE64_ENQCMD
								      : X86_STORE64_MOVDIR64B, &accepted);
		unsigned index;
		uint64_t offset;

		CHECK(ours == (pci_host_decode(host, false, gpa, 64, &index, &offset) == &pci->fn));
		if (ours && accepted)
			CHECK(!in_msix(index, offset, 64));
		break;
	}
	}
}

/* ---- one input ---- */

static void teardown(void)
{
	vfio_pci_unrealize_common(pci);
	vfio_pci_free(pci);
	pci = NULL;
	pci_host_free(host);
	host = NULL;
	fake_vm.pci_host = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_level(LOG_ERROR);
	if (zero_fd < 0) {
		zero_fd = open("/dev/zero", O_RDWR | O_CLOEXEC); /* what BARs mmap */
		fake_vm.vm_fd = -1;
		pthread_mutex_init(&fake_vm.slot_lock, NULL);
		CHECK(zero_fd >= 0);
	}
	in = (struct reader){ .data = data, .size = size };
	memset(&fake, 0, sizeof(fake));
	for (unsigned i = 0; i < PCI_MSIX_MAX_VECTORS; i++)
		fake.msix_fds[i] = -1;
	build_config(fake.config);
	for (unsigned n = take8() % 32; n; n--) {
		uint8_t at = take8();

		fake.config[at] = take8();
	}
	memcpy(fake.original, fake.config, sizeof(fake.config));

	pci = calloc(1, sizeof(*pci));
	CHECK(pci);
	pci->name = "fuzz";
	pci->io = &fake_io;
	pci->io_opaque = &fake;
	pci->source_fd = -1;
	pci->intx = (struct vfio_pci_intx){ .pin = -1, .trigger_fd = -1, .unmask_fd = -1 };
	pci->dev.fd = zero_fd;
	for (unsigned i = 0; i < PCI_BAR_COUNT; i++) {
		uint8_t size_byte = take8();

		build_region(i, size_byte, take8());
	}
	pci->dev.regions[VFIO_PCI_CONFIG_REGION_INDEX] = (struct vfio_region){
		.present = true, .size = 256, .offset = (uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
	};
	uint8_t vectors = take8();

	pci->dev.irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = vectors == 0xff ? UINT32_MAX : vectors % 64;
	host = pci_host_new("pci", true);
	CHECK(host);
	CHECK(vfio_pci_read_config(pci) == 0);
	if (vfio_pci_build_function(pci, NULL, &rec_ops) || vfio_pci_msix_init(pci)) {
		teardown(); /* a device the VMM refuses: fine, as long as nothing broke */
		return 0;
	}
	pci->vm = &fake_vm;
	fake_vm.pci_host = host;
	CHECK(vfio_pci_bars_map(pci) == 0);
	check_maps();
	CHECK(pci_host_add_function(host, &pci->fn, -1) == 1);
	snapshot_count = walk_caps(snapshot_ids, snapshot_offsets);
	check_all();
	while (in.size - in.pos >= 9) {
		one_op(in.data + in.pos);
		in.pos += 9;
		check_all();
	}
	teardown();
	return 0;
}
