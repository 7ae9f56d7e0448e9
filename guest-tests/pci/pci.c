// SPDX-License-Identifier: MIT
/*
 * Guest test `pci` (configs/pci.toml: the VMM assigns BARs;
 * configs/pci-noassign.toml: assign_bars = false, the firmware does).
 *
 * The host bridge comes from the DTB; enumeration must find exactly what
 * the config declares, BARs must size as include/pci_testdev.h says, the
 * capability walk must find MSI-X with the configured table size, BARs
 * must end up assigned (by whichever side the config says) inside the DTB
 * windows, and the registers behind BAR0 and BAR4 must work.
 *
 * The command line carries what the config declares:
 *   pci.testdevs=SLOT:VECTORS[,SLOT:VECTORS...]   the pci-testdev functions
 *   pci.assign=vmm|firmware                       who assigns BARs
 */
#include <stdlib.h>

#include "fw/irq.h"
#include "fw/pci.h"
#include "fw/test.h"
#include "fw/testdev.h"
#include "fw/tsc.h"

const char *test_image_name = "pci";

#define MAX_EXPECT 8

static struct {
	unsigned int slot, vectors;
} expect[MAX_EXPECT];
static unsigned int nexpect;
static bool expect_firmware_assigns;

/* Raw state, before fw_pci_init() assigns anything. */
static struct fw_pci_dev raw[FW_PCI_MAX_DEVS];
static int nraw;
static uint16_t raw_command[FW_PCI_MAX_DEVS];

/* After fw_pci_init(). */
static struct fw_pci_dev *devs;
static int ndevs;

static void parse_cmdline(void)
{
	const char *args = fw_fdt_bootargs(), *p;
	char *end;

	if (!args)
		return;
	p = strstr(args, "pci.testdevs=");
	if (p) {
		p += strlen("pci.testdevs=");
		while (nexpect < MAX_EXPECT) {
			expect[nexpect].slot = (unsigned int)strtoul(p, &end, 0);
			if (*end != ':')
				break;
			expect[nexpect].vectors = (unsigned int)strtoul(end + 1, &end, 0);
			nexpect++;
			if (*end != ',')
				break;
			p = end + 1;
		}
	}
	expect_firmware_assigns = strstr(args, "pci.assign=firmware") != NULL;
}

void test_setup(void)
{
	parse_cmdline();
	CHECK(nexpect > 0, "no pci.testdevs= on the command line");
	nraw = fw_pci_enumerate(raw, FW_PCI_MAX_DEVS);
	for (int i = 0; i < nraw && i < FW_PCI_MAX_DEVS; i++)
		raw_command[i] = fw_pci_read16(raw[i].bdf, FW_PCI_COMMAND);
	ndevs = fw_pci_init(&devs);
}

static struct fw_pci_dev *testdev_at(struct fw_pci_dev *table, int n, unsigned int slot)
{
	for (int i = 0; i < n; i++)
		if (table[i].bdf == FW_PCI_BDF(0, slot, 0) && table[i].vendor == PCI_TESTDEV_VENDOR_ID &&
		    table[i].device == PCI_TESTDEV_DEVICE_ID)
			return &table[i];
	return NULL;
}

static const char *space_name(enum fw_pci_space s)
{
	switch (s) {
	case FW_PCI_SPACE_IO: return "io";
	case FW_PCI_SPACE_MEM32: return "mem32";
	case FW_PCI_SPACE_MEM64: return "mem64";
	case FW_PCI_SPACE_NONE: break;
	}
	return "none";
}

TEST(host_bridge_from_dtb)
{
	const struct fw_pci_host *h = fw_pci_host();
	bool io = false, mem = false;

	REQUIRE(h, "no pci-host-ecam-generic node: %s", fdt_strerror(fw_pci_host_init()));
	diag("ECAM 0x%llx size 0x%llx, buses %u-%u", (unsigned long long)h->ecam_base,
	     (unsigned long long)h->ecam_size, h->bus_first, h->bus_last);
	for (unsigned int i = 0; i < h->nwindows; i++) {
		const struct fw_pci_window *w = &h->windows[i];

		diag("window %s%s: pci 0x%llx cpu 0x%llx size 0x%llx", space_name(w->space),
		     w->prefetchable ? " prefetchable" : "", (unsigned long long)w->pci_base,
		     (unsigned long long)w->cpu_base, (unsigned long long)w->size);
		io |= w->space == FW_PCI_SPACE_IO;
		mem |= w->space == FW_PCI_SPACE_MEM32;
	}
	/* The platform the brief describes. */
	CHECK_EQ(h->ecam_base, 0xe0000000ull);
	CHECK_EQ(h->ecam_size, 16ull << 20);
	CHECK_EQ(h->bus_first, 0);
	CHECK_EQ(h->bus_last, 15);
	CHECK(io, "no I/O window in ranges");
	CHECK(mem, "no 32-bit memory window in ranges");
	for (unsigned int i = 0; i < h->nwindows; i++) {
		const struct fw_pci_window *w = &h->windows[i];

		if (w->space == FW_PCI_SPACE_IO) {
			CHECK_EQ(w->pci_base, 0xc000);
			CHECK_EQ(w->pci_base + w->size, 0x10000);
		} else if (w->space == FW_PCI_SPACE_MEM32) {
			CHECK_EQ(w->cpu_base, 0xc0000000ull);
			CHECK_EQ(w->cpu_base + w->size, 0xe0000000ull);
		}
	}
}

TEST(enumeration_matches_config)
{
	unsigned int found = 0;

	REQUIRE(nraw > 0, "enumeration failed: %d", nraw);
	for (int i = 0; i < nraw; i++) {
		const struct fw_pci_dev *d = &raw[i];

		diag("%02x:%02x.%u %04x:%04x class %06x rev %u header %#x", FW_PCI_BUS(d->bdf),
		     FW_PCI_DEV(d->bdf), FW_PCI_FN(d->bdf), d->vendor, d->device, d->class_code,
		     d->revision, d->header_type);
		CHECK_EQ(FW_PCI_BUS(d->bdf), 0);
		CHECK_EQ(FW_PCI_FN(d->bdf), 0);
		CHECK_EQ(d->header_type, 0);
	}
	/* Host bridge at 00:00.0: class 06 (bridge), subclass 00 (host). */
	CHECK_EQ(raw[0].bdf, FW_PCI_BDF(0, 0, 0));
	CHECK_EQ(raw[0].class_code >> 8, 0x0600);
	for (unsigned int e = 0; e < nexpect; e++) {
		const struct fw_pci_dev *d = testdev_at(raw, nraw, expect[e].slot);

		if (!CHECK(d, "no pci-testdev at 00:%02x.0", expect[e].slot))
			continue;
		found++;
		CHECK_EQ(d->class_code, PCI_TESTDEV_CLASS);
		CHECK_EQ(fw_pci_read16(d->bdf, FW_PCI_SUBSYS_VENDOR), PCI_TESTDEV_VENDOR_ID);
	}
	CHECK_EQ(nraw, 1 + nexpect);
	CHECK_EQ(found, nexpect);
}

TEST(ecam_agrees_with_cf8)
{
	for (int i = 0; i < nraw; i++)
		for (unsigned int off = 0; off < 0x40; off += 4) {
			uint32_t e = fw_pci_read32(raw[i].bdf, off), c = fw_pci_cf8_read32(raw[i].bdf, off);

			CHECK(e == c, "%02x:%02x.%u +%#x: ECAM %#x, CF8 %#x", FW_PCI_BUS(raw[i].bdf),
			      FW_PCI_DEV(raw[i].bdf), FW_PCI_FN(raw[i].bdf), off, e, c);
		}
	/* Nothing at 00:1f.0, 00:00.1, 01:00.0: all-ones both ways. */
	CHECK_EQ(fw_pci_read32(FW_PCI_BDF(0, 31, 0), 0), 0xffffffffu);
	CHECK_EQ(fw_pci_cf8_read32(FW_PCI_BDF(0, 31, 0), 0), 0xffffffffu);
	CHECK_EQ(fw_pci_read32(FW_PCI_BDF(0, 0, 1), 0), 0xffffffffu);
	CHECK_EQ(fw_pci_read32(FW_PCI_BDF(1, 0, 0), 0), 0xffffffffu);
	CHECK_EQ(fw_pci_read16(FW_PCI_BDF(15, 3, 0), 0), 0xffff);
	CHECK_EQ(fw_pci_read8(FW_PCI_BDF(0, 0, 0), FW_PCI_HEADER_TYPE), raw[0].header_type);
}

TEST(bar_sizes)
{
	for (unsigned int e = 0; e < nexpect; e++) {
		const struct fw_pci_dev *d = testdev_at(raw, nraw, expect[e].slot);

		if (!d)
			continue;
		CHECK_EQ(d->bar[0].space, FW_PCI_SPACE_MEM32);
		CHECK_EQ(d->bar[0].size, PCI_TESTDEV_REGS_SIZE);
		CHECK(!d->bar[0].prefetchable, "BAR0 prefetchable");
		CHECK_EQ(d->bar[2].space, FW_PCI_SPACE_MEM32);
		CHECK_EQ(d->bar[2].size, 4096);
		CHECK_EQ(d->bar[4].space, FW_PCI_SPACE_IO);
		CHECK_EQ(d->bar[4].size, PCI_TESTDEV_IO_SIZE);
		CHECK_EQ(d->bar[1].space, FW_PCI_SPACE_NONE);
		CHECK_EQ(d->bar[3].space, FW_PCI_SPACE_NONE);
		CHECK_EQ(d->bar[5].space, FW_PCI_SPACE_NONE);
		/* Sizing left the BARs where they were (fw_pci_init() may have
		 * assigned them since: compare with its table). */
		for (unsigned int b = 0; b < 6; b += 2)
			CHECK_EQ(fw_pci_read32(d->bdf, FW_PCI_BAR0 + 4 * b) & ~0xfu,
				 testdev_at(devs, ndevs, expect[e].slot)->bar[b].pci_addr);
	}
	for (unsigned int i = 0; i < 6; i++)
		CHECK(raw[0].bar[i].space == FW_PCI_SPACE_NONE || raw[0].bar[i].size,
		      "host bridge BAR%u", i);
}

TEST(who_assigned_bars)
{
	for (unsigned int e = 0; e < nexpect; e++) {
		int i = (int)(testdev_at(raw, nraw, expect[e].slot) - raw);

		if (i < 0 || i >= nraw)
			continue;
		if (expect_firmware_assigns) {
			CHECK(raw[i].was_unassigned, "slot %u came with BARs assigned", expect[e].slot);
			for (unsigned int b = 0; b < 6; b++)
				CHECK_EQ(raw[i].bar[b].pci_addr, 0);
			CHECK_EQ(raw_command[i] & (FW_PCI_COMMAND_MEMORY | FW_PCI_COMMAND_IO), 0);
		} else {
			CHECK(!raw[i].was_unassigned, "slot %u came with BARs unassigned",
			      expect[e].slot);
			CHECK_EQ(raw_command[i] & (FW_PCI_COMMAND_MEMORY | FW_PCI_COMMAND_IO),
				 FW_PCI_COMMAND_MEMORY | FW_PCI_COMMAND_IO);
		}
	}
	diag("BARs assigned by %s", expect_firmware_assigns ? "the firmware" : "the VMM");
}

TEST(bars_inside_windows_aligned_disjoint)
{
	REQUIRE(ndevs == nraw, "fw_pci_init found %d functions, enumeration %d", ndevs, nraw);
	for (int i = 0; i < ndevs; i++) {
		const struct fw_pci_dev *d = &devs[i];
		uint16_t cmd = fw_pci_read16(d->bdf, FW_PCI_COMMAND);

		for (unsigned int b = 0; b < 6; b++) {
			const struct fw_pci_bar *bar = &d->bar[b];

			if (bar->space == FW_PCI_SPACE_NONE)
				continue;
			diag("%02x:%02x.%u BAR%u %s size %#llx at %#llx", FW_PCI_BUS(d->bdf),
			     FW_PCI_DEV(d->bdf), FW_PCI_FN(d->bdf), b, space_name(bar->space),
			     (unsigned long long)bar->size, (unsigned long long)bar->pci_addr);
			CHECK(bar->addr, "BAR%u of %02x:%02x.%u not inside a window", b,
			      FW_PCI_BUS(d->bdf), FW_PCI_DEV(d->bdf), FW_PCI_FN(d->bdf));
			CHECK_EQ(bar->pci_addr & (bar->size - 1), 0);
			CHECK(cmd & (bar->space == FW_PCI_SPACE_IO ? FW_PCI_COMMAND_IO
								 : FW_PCI_COMMAND_MEMORY),
			      "decoding of BAR%u is off (COMMAND %#x)", b, cmd);
			for (int j = 0; j <= i; j++)
				for (unsigned int c = 0; c < (j == i ? b : 6); c++) {
					const struct fw_pci_bar *o = &devs[j].bar[c];

					if (o->space == FW_PCI_SPACE_NONE ||
					    (o->space == FW_PCI_SPACE_IO) != (bar->space == FW_PCI_SPACE_IO))
						continue;
					CHECK(bar->pci_addr + bar->size <= o->pci_addr ||
						      o->pci_addr + o->size <= bar->pci_addr,
					      "BAR%u of function %d overlaps BAR%u of function %d", b, i,
					      c, j);
				}
		}
	}
}

TEST(capability_walk_finds_msix)
{
	for (unsigned int e = 0; e < nexpect; e++) {
		const struct fw_pci_dev *d = testdev_at(devs, ndevs, expect[e].slot);
		uint8_t offs[16], ids[16];
		int n;
		uint32_t table, pba;
		uint16_t control;

		if (!d)
			continue;
		n = fw_pci_cap_walk(d->bdf, offs, ids, 16);
		REQUIRE(n >= 1, "slot %u: capability walk returned %d", expect[e].slot, n);
		CHECK(fw_pci_read16(d->bdf, FW_PCI_STATUS) & FW_PCI_STATUS_CAP_LIST,
		      "STATUS.CAP_LIST clear");
		CHECK(d->msix_cap && d->msix_cap == fw_pci_find_cap(d->bdf, FW_PCI_CAP_ID_MSIX),
		      "no MSI-X capability");
		control = fw_pci_read16(d->bdf, d->msix_cap + FW_PCI_MSIX_FLAGS);
		table = fw_pci_read32(d->bdf, d->msix_cap + FW_PCI_MSIX_TABLE);
		pba = fw_pci_read32(d->bdf, d->msix_cap + FW_PCI_MSIX_PBA);
		CHECK_EQ((control & FW_PCI_MSIX_FLAGS_QSIZE) + 1, expect[e].vectors);
		CHECK_EQ(table, PCI_TESTDEV_MSIX_TABLE | PCI_TESTDEV_MSIX_BAR);
		CHECK_EQ(pba, PCI_TESTDEV_MSIX_PBA | PCI_TESTDEV_MSIX_BAR);
		for (int i = 0; i < n; i++)
			diag("slot %u capability %#x at %#x", expect[e].slot, ids[i], offs[i]);
		/* Message Control: only Enable and Function Mask are writable. */
		fw_pci_write16(d->bdf, d->msix_cap + FW_PCI_MSIX_FLAGS, 0x3fff);
		CHECK_EQ(fw_pci_read16(d->bdf, d->msix_cap + FW_PCI_MSIX_FLAGS), control & 0xc7ff);
		fw_pci_write16(d->bdf, d->msix_cap + FW_PCI_MSIX_FLAGS, control);
	}
}

TEST(bar0_registers)
{
	static const uint32_t patterns[] = { 0, 0xffffffffu, 0xa5a55a5au, 0x12345678u };
	struct fw_testdev td;

	for (unsigned int e = 0; e < nexpect; e++) {
		REQUIRE(fw_testdev_open(&td, (int)e) == 0, "testdev %u unusable", e);
		CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_MAGIC_REG), PCI_TESTDEV_MAGIC);
		CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_VERSION), 1);
		CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_VECTORS), td.vectors);
		fw_testdev_write(&td, PCI_TESTDEV_WRITE_COUNT, 0);
		CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_WRITE_COUNT), 0);
		for (unsigned int i = 0; i < 4; i++) {
			fw_testdev_write(&td, PCI_TESTDEV_ECHO, patterns[i] ^ e);
			CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_ECHO), patterns[i] ^ e);
		}
		/* Read-only registers do not change, but writes still count. */
		fw_testdev_write(&td, PCI_TESTDEV_MAGIC_REG, 0);
		CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_MAGIC_REG), PCI_TESTDEV_MAGIC);
		CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_WRITE_COUNT), 5);
		/* A bad vector number sets ERROR bit 0, cleared by writing 1. */
		fw_testdev_write(&td, PCI_TESTDEV_ERROR, 1);
		fw_testdev_raise(&td, td.vectors);
		CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_ERROR) & 1, 1);
		fw_testdev_write(&td, PCI_TESTDEV_ERROR, 1);
		CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_ERROR), 0);
	}
}

TEST(bar4_io_registers)
{
	struct fw_testdev td;

	for (unsigned int e = 0; e < nexpect; e++) {
		REQUIRE(fw_testdev_open(&td, (int)e) == 0, "testdev %u unusable", e);
		outl(td.io + PCI_TESTDEV_IO_WRITE_COUNT, 0);
		CHECK_EQ(inl(td.io + PCI_TESTDEV_IO_WRITE_COUNT), 0);
		outl(td.io + PCI_TESTDEV_IO_ECHO, 0xc0ffee00u + e);
		CHECK_EQ(inl(td.io + PCI_TESTDEV_IO_ECHO), 0xc0ffee00u + e);
		outl(td.io + PCI_TESTDEV_IO_ECHO, 0x13572468u);
		CHECK_EQ(inl(td.io + PCI_TESTDEV_IO_ECHO), 0x13572468u);
		/* One counter for BAR0 and BAR4 writes. */
		fw_testdev_write(&td, PCI_TESTDEV_ECHO, 7);
		CHECK_EQ(inl(td.io + PCI_TESTDEV_IO_WRITE_COUNT), 3);
		CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_WRITE_COUNT), 3);
	}
}

TEST(functions_are_independent)
{
	struct fw_testdev a, b;

	if (nexpect < 2)
		SKIP("one pci-testdev");
	REQUIRE(fw_testdev_open(&a, 0) == 0 && fw_testdev_open(&b, 1) == 0, "testdevs unusable");
	fw_testdev_write(&a, PCI_TESTDEV_ECHO, 0xaaaa);
	fw_testdev_write(&b, PCI_TESTDEV_ECHO, 0xbbbb);
	CHECK_EQ(fw_testdev_read(&a, PCI_TESTDEV_ECHO), 0xaaaa);
	CHECK_EQ(fw_testdev_read(&b, PCI_TESTDEV_ECHO), 0xbbbb);
	CHECK(a.regs != b.regs && a.io != b.io, "two functions share BARs");
}

TEST(bar_moves_and_decode_follows_command)
{
	struct fw_testdev td;
	const struct fw_pci_host *h = fw_pci_host();
	uint64_t old, new_addr = 0, end = 0;
	volatile uint32_t *p;

	REQUIRE(h && fw_testdev_open(&td, 0) == 0, "testdev unusable");
	old = td.pci->bar[0].pci_addr;
	/* Highest 4 KiB-aligned page of the memory window: free. */
	for (unsigned int i = 0; i < h->nwindows; i++)
		if (h->windows[i].space == FW_PCI_SPACE_MEM32 && !h->windows[i].prefetchable) {
			end = h->windows[i].pci_base + h->windows[i].size;
			new_addr = end - PCI_TESTDEV_REGS_SIZE;
		}
	REQUIRE(new_addr, "no memory window");
	for (int i = 0; i < ndevs; i++)
		for (unsigned int b = 0; b < 6; b++)
			REQUIRE(devs[i].bar[b].space == FW_PCI_SPACE_IO ||
					devs[i].bar[b].pci_addr + devs[i].bar[b].size <= new_addr,
				"the last page is in use");
	fw_testdev_write(&td, PCI_TESTDEV_ECHO, 0x600d);
	fw_pci_set_bar(td.pci, 0, new_addr);
	p = fw_pci_bar_ptr(td.pci, 0);
	REQUIRE(p, "new BAR0 not inside the window");
	CHECK_EQ(p[PCI_TESTDEV_MAGIC_REG / 4], PCI_TESTDEV_MAGIC);
	CHECK_EQ(p[PCI_TESTDEV_ECHO / 4], 0x600d);
	/* Nothing decodes the old place any more: master abort, all-ones. */
	CHECK_EQ(*(volatile uint32_t *)(uintptr_t)old, 0xffffffffu);
	/* COMMAND.MEM off: BAR0 stops decoding, BAR4 (I/O) does not. */
	fw_pci_command(td.pci->bdf, 0, FW_PCI_COMMAND_MEMORY);
	CHECK_EQ(p[PCI_TESTDEV_MAGIC_REG / 4], 0xffffffffu);
	CHECK_EQ(inl(td.io + PCI_TESTDEV_IO_ECHO), 0x13572468u);
	fw_pci_command(td.pci->bdf, FW_PCI_COMMAND_MEMORY, 0);
	fw_pci_set_bar(td.pci, 0, old);
	CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_ECHO), 0x600d);
	/* COMMAND.IO off: BAR4 reads all-ones. */
	fw_pci_command(td.pci->bdf, 0, FW_PCI_COMMAND_IO);
	CHECK_EQ(inl(td.io + PCI_TESTDEV_IO_ECHO), 0xffffffffu);
	fw_pci_command(td.pci->bdf, FW_PCI_COMMAND_IO, 0);
	CHECK_EQ(inl(td.io + PCI_TESTDEV_IO_ECHO), 0x13572468u);
}

TEST(config_access_cost)
{
	enum { N = 32 };
	uint64_t t0 = rdtsc();

	for (int i = 0; i < N; i++)
		(void)fw_pci_read32(FW_PCI_BDF(0, 0, 0), 0);
	diag("ECAM config read from CPL 3: %llu us (mean of %d)",
	     (unsigned long long)fw_tsc_to_us((rdtsc() - t0) / N), N);
	t0 = rdtsc();
	for (int i = 0; i < N; i++)
		(void)fw_pci_cf8_read32(FW_PCI_BDF(0, 0, 0), 0);
	diag("CF8/CFC config read from CPL 3 (two port accesses): %llu us (mean of %d)",
	     (unsigned long long)fw_tsc_to_us((rdtsc() - t0) / N), N);
}
