// SPDX-License-Identifier: MIT
/* PCI: host bridge from the DTB, ECAM, enumeration, BARs, MSI-X (fw/pci.h). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libfdt.h>

#include "fw/cpu.h"
#include "fw/fdt.h"
#include "fw/io.h"
#include "fw/pci.h"

static struct fw_pci_host host;
static int host_state; /* 0 not tried, 1 ok, < 0 error */

/* ---- Host bridge from the DTB. */

static uint64_t cells(const fdt32_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 32) | fdt32_to_cpu(p[i]);
	return v;
}

static int parse_host(void)
{
	const void *fdt = fw_fdt();
	struct fw_fdt_reg reg;
	const fdt32_t *p;
	int node, len, err, ac, sc, pac, entry;

	if (!fdt)
		return -FDT_ERR_NOTFOUND;
	node = fw_fdt_find_compatible(-1, "pci-host-ecam-generic");
	if (node < 0)
		return node;
	memset(&host, 0, sizeof(host));
	host.node = node;
	if ((err = fw_fdt_read_reg(node, 0, &reg)))
		return err;
	host.ecam_base = reg.addr;
	host.ecam_size = reg.size;
	p = fdt_getprop(fdt, node, "bus-range", &len);
	if (p && len == 8) {
		host.bus_first = fdt32_to_cpu(p[0]);
		host.bus_last = fdt32_to_cpu(p[1]);
	} else {
		host.bus_first = 0;
		host.bus_last = (unsigned int)(reg.size >> 20) - 1;
	}
	if (host.bus_last > 255 || host.bus_first > host.bus_last ||
	    ((uint64_t)(host.bus_last - host.bus_first + 1) << 20) > host.ecam_size)
		return -FDT_ERR_BADVALUE;

	/* ranges: child address (#address-cells of the node, 3), parent
	 * address (#address-cells of the parent), size (#size-cells of the node). */
	ac = fw_fdt_address_cells(node);
	sc = fw_fdt_size_cells(node);
	pac = fw_fdt_address_cells(fdt_parent_offset(fdt, node));
	if (ac != 3 || sc < 1 || sc > 2 || pac < 1 || pac > 2)
		return -FDT_ERR_BADNCELLS;
	p = fdt_getprop(fdt, node, "ranges", &len);
	if (!p)
		return len;
	entry = ac + pac + sc;
	if (len % (4 * entry))
		return -FDT_ERR_BADVALUE;
	for (int i = 0; i < len / (4 * entry) && host.nwindows < FW_PCI_MAX_WINDOWS; i++) {
		const fdt32_t *e = p + i * entry;
		uint32_t hi = fdt32_to_cpu(e[0]);
		struct fw_pci_window *w = &host.windows[host.nwindows];
		static const enum fw_pci_space spaces[4] = {
			FW_PCI_SPACE_NONE, FW_PCI_SPACE_IO, FW_PCI_SPACE_MEM32, FW_PCI_SPACE_MEM64,
		};

		w->space = spaces[(hi >> 24) & 3];
		if (w->space == FW_PCI_SPACE_NONE)
			continue;
		w->prefetchable = (hi >> 30) & 1;
		w->pci_base = cells(e + 1, 2);
		w->cpu_base = cells(e + ac, pac);
		w->size = cells(e + ac + pac, sc);
		if (w->size)
			host.nwindows++;
	}
	return 0;
}

int fw_pci_host_init(void)
{
	if (host_state == 0) {
		int err = parse_host();

		host_state = err ? err : 1;
	}
	return host_state < 0 ? host_state : 0;
}

const struct fw_pci_host *fw_pci_host(void)
{
	return fw_pci_host_init() == 0 ? &host : NULL;
}

/* ---- Config space. */

volatile void *fw_pci_ecam_ptr(uint16_t bdf, unsigned int offset)
{
	unsigned int bus = FW_PCI_BUS(bdf);

	if (fw_pci_host_init() || bus < host.bus_first || bus > host.bus_last || offset > 0xfff)
		return NULL;
	return (volatile void *)(uintptr_t)(host.ecam_base +
					    ((uint64_t)(bus - host.bus_first) << 20) +
					    ((uint64_t)(bdf & 0xff) << 12) + offset);
}

uint32_t fw_pci_read32(uint16_t bdf, unsigned int offset)
{
	volatile uint32_t *p = fw_pci_ecam_ptr(bdf, offset & ~3u);

	return p ? *p : 0xffffffffu;
}

uint16_t fw_pci_read16(uint16_t bdf, unsigned int offset)
{
	volatile uint16_t *p = fw_pci_ecam_ptr(bdf, offset & ~1u);

	return p ? *p : 0xffff;
}

uint8_t fw_pci_read8(uint16_t bdf, unsigned int offset)
{
	volatile uint8_t *p = fw_pci_ecam_ptr(bdf, offset);

	return p ? *p : 0xff;
}

void fw_pci_write32(uint16_t bdf, unsigned int offset, uint32_t v)
{
	volatile uint32_t *p = fw_pci_ecam_ptr(bdf, offset & ~3u);

	if (p)
		*p = v;
}

void fw_pci_write16(uint16_t bdf, unsigned int offset, uint16_t v)
{
	volatile uint16_t *p = fw_pci_ecam_ptr(bdf, offset & ~1u);

	if (p)
		*p = v;
}

void fw_pci_write8(uint16_t bdf, unsigned int offset, uint8_t v)
{
	volatile uint8_t *p = fw_pci_ecam_ptr(bdf, offset);

	if (p)
		*p = v;
}

/* The 0xcf8 latch is shared by all CPUs. */
static struct fw_spinlock cf8_lock;

static uint32_t cf8_address(uint16_t bdf, unsigned int offset)
{
	return 0x80000000u | ((uint32_t)bdf << 8) | (offset & 0xfc);
}

uint32_t fw_pci_cf8_read32(uint16_t bdf, unsigned int offset)
{
	uint32_t v;

	fw_spin_lock(&cf8_lock);
	outl(0xcf8, cf8_address(bdf, offset));
	v = inl(0xcfc);
	fw_spin_unlock(&cf8_lock);
	return v;
}

void fw_pci_cf8_write32(uint16_t bdf, unsigned int offset, uint32_t v)
{
	fw_spin_lock(&cf8_lock);
	outl(0xcf8, cf8_address(bdf, offset));
	outl(0xcfc, v);
	fw_spin_unlock(&cf8_lock);
}

void fw_pci_command(uint16_t bdf, uint16_t set, uint16_t clear)
{
	uint16_t cmd = fw_pci_read16(bdf, FW_PCI_COMMAND);

	fw_pci_write16(bdf, FW_PCI_COMMAND, (uint16_t)((cmd & ~clear) | set));
}

/* ---- Capabilities. */

int fw_pci_cap_walk(uint16_t bdf, uint8_t *offs, uint8_t *ids, int max)
{
	unsigned int ptr;
	int n = 0;

	if (!(fw_pci_read16(bdf, FW_PCI_STATUS) & FW_PCI_STATUS_CAP_LIST))
		return 0;
	ptr = fw_pci_read8(bdf, FW_PCI_CAP_PTR) & ~3u;
	while (ptr) {
		uint16_t head;

		if (ptr < 0x40 || n >= 48)
			return -1;
		head = fw_pci_read16(bdf, ptr); /* id, next */
		if (n < max) {
			if (offs)
				offs[n] = (uint8_t)ptr;
			if (ids)
				ids[n] = (uint8_t)head;
		}
		n++;
		ptr = (head >> 8) & ~3u;
	}
	return n;
}

uint8_t fw_pci_find_cap(uint16_t bdf, uint8_t id)
{
	uint8_t offs[48], ids[48];
	int n = fw_pci_cap_walk(bdf, offs, ids, 48);

	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return offs[i];
	return 0;
}

/* ---- BARs. */

static const struct fw_pci_window *window_for(const struct fw_pci_bar *b, uint64_t pci_addr,
					      uint64_t size)
{
	for (unsigned int i = 0; i < host.nwindows; i++) {
		const struct fw_pci_window *w = &host.windows[i];
		bool io = b->space == FW_PCI_SPACE_IO, wio = w->space == FW_PCI_SPACE_IO;

		if (io != wio || pci_addr < w->pci_base || size > w->size ||
		    pci_addr - w->pci_base > w->size - size)
			continue;
		/* A 32-bit BAR cannot live in a window above 4 GiB. */
		if (b->space == FW_PCI_SPACE_MEM32 && pci_addr + size > (1ull << 32))
			continue;
		return w;
	}
	return NULL;
}

static void bar_translate(struct fw_pci_bar *b)
{
	const struct fw_pci_window *w;

	b->addr = 0;
	if (b->space == FW_PCI_SPACE_NONE || !b->pci_addr)
		return;
	w = window_for(b, b->pci_addr, b->size);
	if (w)
		b->addr = w->cpu_base + (b->pci_addr - w->pci_base);
}

static unsigned int bar_count(const struct fw_pci_dev *d)
{
	switch (d->header_type & 0x7f) {
	case 0: return 6;
	case 1: return 2;
	default: return 0;
	}
}

void fw_pci_read_bars(struct fw_pci_dev *d)
{
	for (unsigned int i = 0; i < bar_count(d); i++) {
		struct fw_pci_bar *b = &d->bar[i];
		uint32_t lo;

		if (b->space == FW_PCI_SPACE_NONE)
			continue;
		lo = fw_pci_read32(d->bdf, FW_PCI_BAR0 + 4 * i);
		if (b->space == FW_PCI_SPACE_IO)
			b->pci_addr = lo & 0xfffffffcu;
		else if (b->space == FW_PCI_SPACE_MEM32)
			b->pci_addr = lo & 0xfffffff0u;
		else
			b->pci_addr = (lo & 0xfffffff0u) |
				      (uint64_t)fw_pci_read32(d->bdf, FW_PCI_BAR0 + 4 * i + 4) << 32;
		bar_translate(b);
	}
}

/* Size every BAR with decoding off; COMMAND is restored afterwards. */
static void size_bars(struct fw_pci_dev *d)
{
	uint16_t cmd = fw_pci_read16(d->bdf, FW_PCI_COMMAND);
	unsigned int n = bar_count(d);

	if (cmd & (FW_PCI_COMMAND_IO | FW_PCI_COMMAND_MEMORY))
		fw_pci_write16(d->bdf, FW_PCI_COMMAND,
			       cmd & ~(FW_PCI_COMMAND_IO | FW_PCI_COMMAND_MEMORY));
	for (unsigned int i = 0; i < n; i++) {
		unsigned int off = FW_PCI_BAR0 + 4 * i;
		struct fw_pci_bar *b = &d->bar[i];
		uint32_t orig = fw_pci_read32(d->bdf, off), probe;

		fw_pci_write32(d->bdf, off, 0xffffffffu);
		probe = fw_pci_read32(d->bdf, off);
		fw_pci_write32(d->bdf, off, orig);
		memset(b, 0, sizeof(*b));
		if (probe == 0 || probe == 0xffffffffu)
			continue; /* not implemented (all-ones: nothing answers) */
		if (probe & 1) {
			uint32_t mask = probe & 0xfffffffcu;

			if (!(mask & 0xffff0000u))
				mask |= 0xffff0000u; /* 16-bit I/O decoder */
			b->space = FW_PCI_SPACE_IO;
			b->size = (uint32_t)(~mask + 1);
			b->pci_addr = orig & 0xfffffffcu;
		} else if (((probe >> 1) & 3) == 2 && i + 1 < n) {
			uint32_t orig_hi = fw_pci_read32(d->bdf, off + 4), probe_hi;

			fw_pci_write32(d->bdf, off + 4, 0xffffffffu);
			probe_hi = fw_pci_read32(d->bdf, off + 4);
			fw_pci_write32(d->bdf, off + 4, orig_hi);
			b->space = FW_PCI_SPACE_MEM64;
			b->prefetchable = (probe >> 3) & 1;
			b->size = ~(((uint64_t)probe_hi << 32) | (probe & 0xfffffff0u)) + 1;
			b->pci_addr = ((uint64_t)orig_hi << 32) | (orig & 0xfffffff0u);
			memset(&d->bar[i + 1], 0, sizeof(d->bar[i + 1]));
			i++;
		} else {
			b->space = FW_PCI_SPACE_MEM32;
			b->prefetchable = (probe >> 3) & 1;
			b->size = (uint32_t)(~(probe & 0xfffffff0u) + 1);
			b->pci_addr = orig & 0xfffffff0u;
		}
		bar_translate(b);
		if (!b->addr)
			d->was_unassigned = true;
	}
	if (cmd & (FW_PCI_COMMAND_IO | FW_PCI_COMMAND_MEMORY))
		fw_pci_write16(d->bdf, FW_PCI_COMMAND, cmd);
}

int fw_pci_enumerate(struct fw_pci_dev *devs, int max)
{
	int err = fw_pci_host_init(), n = 0;

	if (err)
		return err;
	for (unsigned int bus = host.bus_first; bus <= host.bus_last; bus++) {
		for (unsigned int dev = 0; dev < 32; dev++) {
			unsigned int nfn = 1;

			for (unsigned int fn = 0; fn < nfn; fn++) {
				uint16_t bdf = FW_PCI_BDF(bus, dev, fn);
				uint32_t id = fw_pci_read32(bdf, FW_PCI_VENDOR_ID);
				struct fw_pci_dev *d;
				uint32_t rev_class;

				if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
					continue;
				if (fn == 0 && (fw_pci_read8(bdf, FW_PCI_HEADER_TYPE) & 0x80))
					nfn = 8;
				if (n++ >= max)
					continue;
				d = &devs[n - 1];
				memset(d, 0, sizeof(*d));
				d->bdf = bdf;
				d->vendor = (uint16_t)id;
				d->device = (uint16_t)(id >> 16);
				rev_class = fw_pci_read32(bdf, FW_PCI_REVISION);
				d->revision = (uint8_t)rev_class;
				d->class_code = rev_class >> 8;
				d->header_type = fw_pci_read8(bdf, FW_PCI_HEADER_TYPE);
				size_bars(d);
				d->msix_cap = fw_pci_find_cap(bdf, FW_PCI_CAP_ID_MSIX);
			}
		}
	}
	return n;
}

void fw_pci_set_bar(struct fw_pci_dev *d, unsigned int index, uint64_t pci_addr)
{
	struct fw_pci_bar *b = &d->bar[index % 6];
	unsigned int off = FW_PCI_BAR0 + 4 * (index % 6);

	fw_pci_write32(d->bdf, off, (uint32_t)pci_addr);
	if (b->space == FW_PCI_SPACE_MEM64)
		fw_pci_write32(d->bdf, off + 4, (uint32_t)(pci_addr >> 32));
	b->pci_addr = pci_addr;
	bar_translate(b);
}

volatile void *fw_pci_bar_ptr(const struct fw_pci_dev *d, unsigned int index)
{
	const struct fw_pci_bar *b = &d->bar[index % 6];

	if (b->space == FW_PCI_SPACE_NONE || b->space == FW_PCI_SPACE_IO || !b->addr)
		return NULL;
	return (volatile void *)(uintptr_t)b->addr;
}

struct fw_pci_dev *fw_pci_find(struct fw_pci_dev *devs, int n, uint16_t vendor, uint16_t device,
			       int nth)
{
	for (int i = 0; i < n; i++)
		if (devs[i].vendor == vendor && devs[i].device == device && nth-- == 0)
			return &devs[i];
	return NULL;
}

/* ---- BAR assignment. */

struct range {
	uint64_t base, size;
	bool io;
};

static bool range_overlaps(const struct range *used, int nused, bool io, uint64_t base,
			   uint64_t size, uint64_t *end)
{
	for (int i = 0; i < nused; i++)
		if (used[i].io == io && base < used[i].base + used[i].size &&
		    used[i].base < base + size) {
			*end = used[i].base + used[i].size;
			return true;
		}
	return false;
}

static const struct fw_pci_window *pick_window(const struct fw_pci_bar *b)
{
	const struct fw_pci_window *best = NULL;

	for (unsigned int i = 0; i < host.nwindows; i++) {
		const struct fw_pci_window *w = &host.windows[i];

		if ((b->space == FW_PCI_SPACE_IO) != (w->space == FW_PCI_SPACE_IO))
			continue;
		if (b->space == FW_PCI_SPACE_MEM32 && w->pci_base >= (1ull << 32))
			continue;
		/* Non-prefetchable BARs never go to a prefetchable window. */
		if (w->prefetchable && !b->prefetchable)
			continue;
		if (!best || (b->prefetchable && w->prefetchable && !best->prefetchable))
			best = w;
	}
	return best;
}

int fw_pci_assign_bars(struct fw_pci_dev *devs, int n)
{
	struct range used[FW_PCI_MAX_DEVS * 6];
	bool skip[FW_PCI_MAX_DEVS][6];
	int nused = 0, assigned = 0, failed = 0;

	if (fw_pci_host_init())
		return -1;
	if (n > FW_PCI_MAX_DEVS)
		n = FW_PCI_MAX_DEVS;
	memset(skip, 0, sizeof(skip));
	for (int i = 0; i < n; i++)
		for (unsigned int j = 0; j < 6; j++) {
			const struct fw_pci_bar *b = &devs[i].bar[j];

			if (b->space != FW_PCI_SPACE_NONE && b->addr)
				used[nused++] = (struct range){ b->pci_addr, b->size,
								b->space == FW_PCI_SPACE_IO };
		}
	/* Largest first: natural alignment then packs without holes. */
	for (;;) {
		struct fw_pci_dev *dev = NULL;
		struct fw_pci_bar *bar = NULL;
		unsigned int index = 0;
		const struct fw_pci_window *w;
		uint64_t base = 0, end;
		bool io;

		for (int i = 0; i < n; i++)
			for (unsigned int j = 0; j < 6; j++) {
				struct fw_pci_bar *b = &devs[i].bar[j];

				if (b->space == FW_PCI_SPACE_NONE || b->addr || skip[i][j])
					continue;
				if (!bar || b->size > bar->size) {
					dev = &devs[i];
					bar = b;
					index = j;
				}
			}
		if (!bar)
			break;
		skip[dev - devs][index] = true;
		io = bar->space == FW_PCI_SPACE_IO;
		w = pick_window(bar);
		/* Sizes are powers of two (sizing guarantees it). */
		if (w && bar->size <= w->size) {
			base = (w->pci_base + bar->size - 1) & ~(bar->size - 1);
			while (base - w->pci_base <= w->size - bar->size &&
			       range_overlaps(used, nused, io, base, bar->size, &end))
				base = (end + bar->size - 1) & ~(bar->size - 1);
		}
		if (!w || bar->size > w->size || base < w->pci_base ||
		    base - w->pci_base > w->size - bar->size) {
			failed++;
			continue;
		}
		fw_pci_set_bar(dev, index, base);
		used[nused++] = (struct range){ base, bar->size, io };
		fw_pci_command(dev->bdf, io ? FW_PCI_COMMAND_IO : FW_PCI_COMMAND_MEMORY, 0);
		assigned++;
	}
	return failed ? -1 : assigned;
}

static struct fw_pci_dev pci_devs[FW_PCI_MAX_DEVS];
static int pci_ndevs = -1;

int fw_pci_init(struct fw_pci_dev **devs)
{
	if (pci_ndevs < 0) {
		int n = fw_pci_enumerate(pci_devs, FW_PCI_MAX_DEVS);

		if (n < 0)
			return n;
		pci_ndevs = n < FW_PCI_MAX_DEVS ? n : FW_PCI_MAX_DEVS;
		fw_pci_assign_bars(pci_devs, pci_ndevs);
	}
	*devs = pci_devs;
	return pci_ndevs;
}

/* ---- MSI-X. */

int fw_msix_init(struct fw_msix *m, const struct fw_pci_dev *d)
{
	uint32_t table, pba;
	const struct fw_pci_bar *tb, *pb;

	memset(m, 0, sizeof(*m));
	if (!d->msix_cap)
		return -1;
	m->bdf = d->bdf;
	m->cap = d->msix_cap;
	m->size = (fw_pci_read16(d->bdf, m->cap + FW_PCI_MSIX_FLAGS) & FW_PCI_MSIX_FLAGS_QSIZE) + 1;
	table = fw_pci_read32(d->bdf, m->cap + FW_PCI_MSIX_TABLE);
	pba = fw_pci_read32(d->bdf, m->cap + FW_PCI_MSIX_PBA);
	m->table_bir = table & 7;
	m->table_offset = table & ~7u;
	m->pba_bir = pba & 7;
	m->pba_offset = pba & ~7u;
	if (m->table_bir > 5 || m->pba_bir > 5)
		return -1;
	tb = &d->bar[m->table_bir];
	pb = &d->bar[m->pba_bir];
	if (!fw_pci_bar_ptr(d, m->table_bir) || !fw_pci_bar_ptr(d, m->pba_bir) ||
	    m->table_offset + (uint64_t)m->size * FW_PCI_MSIX_ENTRY_SIZE > tb->size ||
	    m->pba_offset + ((m->size + 63) / 64) * 8ull > pb->size)
		return -1;
	m->table = (volatile uint32_t *)(uintptr_t)(tb->addr + m->table_offset);
	m->pba = (volatile uint32_t *)(uintptr_t)(pb->addr + m->pba_offset);
	return 0;
}

uint16_t fw_msix_control(const struct fw_msix *m)
{
	return fw_pci_read16(m->bdf, m->cap + FW_PCI_MSIX_FLAGS);
}

static void msix_control(const struct fw_msix *m, uint16_t bit, bool on)
{
	uint16_t c = fw_msix_control(m);

	fw_pci_write16(m->bdf, m->cap + FW_PCI_MSIX_FLAGS, on ? (c | bit) : (c & ~bit));
}

void fw_msix_enable(const struct fw_msix *m, bool enable)
{
	msix_control(m, FW_PCI_MSIX_FLAGS_ENABLE, enable);
}

void fw_msix_function_mask(const struct fw_msix *m, bool masked)
{
	msix_control(m, FW_PCI_MSIX_FLAGS_MASKALL, masked);
}

void fw_msix_set_raw(const struct fw_msix *m, unsigned int i, uint64_t address, uint32_t data,
		     uint32_t control)
{
	volatile uint32_t *e = m->table + 4 * (i % m->size);

	e[3] = e[3] | FW_PCI_MSIX_ENTRY_CTRL_MASKBIT;
	e[0] = (uint32_t)address;
	e[1] = (uint32_t)(address >> 32);
	e[2] = data;
	e[3] = control;
}

void fw_msix_set(const struct fw_msix *m, unsigned int i, uint32_t apic_id, unsigned int vector,
		 bool masked)
{
	fw_msix_set_raw(m, i, fw_msi_address(apic_id), vector & 0xff,
			masked ? FW_PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
}

void fw_msix_mask(const struct fw_msix *m, unsigned int i, bool masked)
{
	volatile uint32_t *e = m->table + 4 * (i % m->size);
	uint32_t c = e[3];

	e[3] = masked ? (c | FW_PCI_MSIX_ENTRY_CTRL_MASKBIT) : (c & ~FW_PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

uint32_t fw_msix_entry(const struct fw_msix *m, unsigned int i, unsigned int word)
{
	return m->table[4 * (i % m->size) + (word & 3)];
}

bool fw_msix_pending(const struct fw_msix *m, unsigned int i)
{
	return (m->pba[i / 32] >> (i % 32)) & 1;
}
