/* SPDX-License-Identifier: MIT */
/*
 * DFL: the walker on the card's own layouts and on crafted valid and hostile
 * lists (every read checked against the window), GUID text, the card's
 * config rules and device-tree description, the AFU engine without KVM, and
 * the dfl-card model on a KVM VM (BAR0 through the bus, DMA on the poller
 * thread, MSI-X routes).
 */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <linux/kvm.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "devices/device.h"
#include "devices/dfl/afu.h"
#include "devices/dfl/card.h"
#include "devices/dfl/walker.h"
#include "devices/pci/host.h"
#include "dfl_regs.h"
#include "kvm_fixture.h"
#include "suites.h"
#include "vmm/fdt.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* ---- crafted lists: a byte window whose reads are checked ---- */

#define WIN 0x10000

static uint8_t win[WIN];
static uint64_t win_size;
static unsigned reads;

static uint64_t checked_read64(void *opaque, uint64_t offset)
{
	ck_assert_msg(offset % 8 == 0 && offset + 8 <= win_size,
		      "walker read 0x%llx outside the 0x%llx-byte window",
		      (unsigned long long)offset, (unsigned long long)win_size);
	reads++;
	uint64_t v;

	memcpy(&v, win + offset, 8);
	return v;
}

static void put(uint64_t offset, uint64_t value)
{
	memcpy(win + offset, &value, 8);
}

static struct dfl_feature table[64];
static struct dfl_walk walk;

static int discover(unsigned capacity, unsigned vectors)
{
	struct dfl_window w = { .size = win_size, .read64 = checked_read64 };

	dfl_walk_init(&walk, table, capacity, vectors);
	return dfl_walk_discover(&w, &walk);
}

static void expect_error(int rc, int want, const char *fragment)
{
	ck_assert_msg(rc == want, "rc %d, expected %d (%s)", rc, want, walk.error);
	ck_assert_msg(strstr(walk.error, fragment), "'%s' lacks '%s'", walk.error, fragment);
}

static void list_setup(void)
{
	memset(win, 0, sizeof(win));
	win_size = WIN;
	reads = 0;
}

/* A port (VF-style list): header at 0, NEXT_AFU -> 0x4000 (16 KiB), then
 * ERROR at 0x1000 and UINT at 0x2000 (EOL). */
static void put_port(uint64_t at)
{
	put(at, DFH_MAKE(DFH_TYPE_FIU, 0, false, 0x1000, 0, DFH_FIU_ID_PORT));
	put(at + DFL_GUID_L, DFL_PORT_GUID_L);
	put(at + DFL_GUID_H, DFL_PORT_GUID_H);
	put(at + DFL_NEXT_AFU, 0x4000);
	put(at + PORT_HDR_CAP, 16ull << PORT_CAP_MMIO_SIZE_SHIFT);
	put(at + 0x1000, DFH_MAKE(DFH_TYPE_PRIVATE, 0, false, 0x1000, 2, PORT_FEATURE_ID_ERROR));
	put(at + 0x1000 + PORT_ERROR_CAP, 1 | 3 << 1);
	put(at + 0x2000, DFH_MAKE(DFH_TYPE_PRIVATE, 0, true, 0x1000, 0, PORT_FEATURE_ID_UINT));
	put(at + 0x2000 + PORT_UINT_CAP, 2 | 4 << 12);
	put(at + 0x4000, DFH_MAKE(DFH_TYPE_AFU, 0, true, 0, 0, 0));
	put(at + 0x4000 + DFL_GUID_L, 0x1111);
	put(at + 0x4000 + DFL_GUID_H, 0x2222);
}

START_TEST(port_list_with_afu_and_irqs)
{
	put_port(0);
	ck_assert_int_eq(discover(64, 8), 0);
	ck_assert_uint_eq(walk.count, 4);
	ck_assert_uint_eq(walk.lists, 1);
	/* Walk order: FIU header, its AFU (NEXT_AFU), then the list. */
	ck_assert_uint_eq(table[0].type, DFH_TYPE_FIU);
	ck_assert_uint_eq(table[0].fiu_id, DFH_FIU_ID_PORT);
	ck_assert_uint_eq(table[0].size, 0x1000);
	ck_assert(table[0].has_guid);
	ck_assert_uint_eq(table[0].guid_h, DFL_PORT_GUID_H);
	ck_assert_uint_eq(table[1].type, DFH_TYPE_AFU);
	ck_assert_uint_eq(table[1].dfh, 0x4000);
	ck_assert_uint_eq(table[1].csr_size, 0x4000);
	ck_assert_uint_eq(table[1].guid_l, 0x1111);
	ck_assert_uint_eq(table[1].fiu, 0);
	ck_assert_uint_eq(table[2].id, PORT_FEATURE_ID_ERROR);
	ck_assert_uint_eq(table[2].revision, 2);
	ck_assert(table[2].has_irq);
	ck_assert_uint_eq(table[2].irq_base, 3);
	ck_assert_uint_eq(table[2].irq_count, 1);
	ck_assert_uint_eq(table[3].irq_base, 4);
	ck_assert_uint_eq(table[3].irq_count, 2);
	ck_assert(!table[3].has_guid);
	ck_assert_str_eq(dfl_feature_kind(&table[1]), "afu");
	ck_assert_int_eq(dfl_walk_find(&walk, 0x2000), 3);
	ck_assert_int_eq(dfl_walk_find(&walk, 0x2008), -1);
}
END_TEST

START_TEST(afu_directly_in_the_list)
{
	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, false, 0x1000, 0, DFH_FIU_ID_PORT));
	put(PORT_HDR_CAP, 4ull << PORT_CAP_MMIO_SIZE_SHIFT);
	put(0x1000, DFH_MAKE(DFH_TYPE_AFU, 0, false, 0x1000, 0, 0));
	put(0x2000, DFH_MAKE(DFH_TYPE_PRIVATE, 0, true, 0, 0, 0x77)); /* size 0 -> 4096 */
	ck_assert_int_eq(discover(64, 0), 0);
	ck_assert_uint_eq(walk.count, 3);
	ck_assert_uint_eq(table[1].type, DFH_TYPE_AFU);
	ck_assert_uint_eq(table[2].size, 4096);
}
END_TEST

START_TEST(unknown_types_skipped_afu_under_fme_ignored)
{
	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, false, 0x100, 0, DFH_FIU_ID_FME));
	put(DFL_NEXT_AFU, 0x200); /* Linux: "AFU belonging to FIU dfl-fme is not supported" */
	put(0x100, DFH_MAKE(7, 0, false, 0x100, 0, 1));
	put(0x200, DFH_MAKE(DFH_TYPE_PRIVATE, 0, true, 0x100, 0, 1));
	ck_assert_int_eq(discover(64, 0), 0);
	ck_assert_uint_eq(walk.count, 2);
	ck_assert_uint_eq(walk.skipped, 2);
}
END_TEST

START_TEST(hostile_structure)
{
	put(0, DFH_MAKE(DFH_TYPE_PRIVATE, 0, true, 0x100, 0, 1));
	expect_error(discover(64, 0), -ENODEV, "neither an FME nor a PORT");

	struct dfl_window w = { .size = win_size, .read64 = checked_read64 };

	dfl_walk_init(&walk, table, 64, 0);
	expect_error(dfl_walk_list(&w, 0, &walk), -EINVAL, "before any FIU");
	dfl_walk_init(&walk, table, 64, 0);
	expect_error(dfl_walk_list(&w, 4, &walk), -EINVAL, "not 8-byte aligned");

	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, false, 0x100, 0, 5));
	expect_error(discover(64, 0), -ENODEV, "neither");
	dfl_walk_init(&walk, table, 64, 0);
	expect_error(dfl_walk_list(&w, 0, &walk), -EINVAL, "has id 5");

	put(0, DFH_MAKE(DFH_TYPE_FIU, 2, false, 0x100, 0, DFH_FIU_ID_PORT));
	expect_error(discover(64, 0), -EINVAL, "version 2");
}
END_TEST

START_TEST(hostile_offsets)
{
	/* NEXT past the window */
	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, false, 0x800000, 0, DFH_FIU_ID_PORT));
	expect_error(discover(64, 0), -ERANGE, "past the end");
	/* NEXT misaligned */
	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, false, 0x104, 0, DFH_FIU_ID_PORT));
	expect_error(discover(64, 0), -EINVAL, "not a multiple of 8");
	/* last feature's size runs past the window */
	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, true, 0xfffff8, 0, DFH_FIU_ID_PORT));
	expect_error(discover(64, 0), -ERANGE, "runs past the end");
	/* NEXT_AFU beyond the window */
	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, true, 0x100, 0, DFH_FIU_ID_PORT));
	put(DFL_NEXT_AFU, 0xfffff8);
	put(PORT_HDR_CAP, 4ull << PORT_CAP_MMIO_SIZE_SHIFT);
	expect_error(discover(64, 0), -ERANGE, "AFU at 0xfffff8");
	/* AFU size 0 */
	put(DFL_NEXT_AFU, 0x1000);
	put(PORT_HDR_CAP, 0);
	expect_error(discover(64, 0), -EINVAL, "MMIO_SIZE is 0");
	/* window too small for a DFH */
	win_size = 4;
	reads = 0;
	expect_error(discover(64, 0), -ERANGE, "outside");
	ck_assert_uint_eq(reads, 0);
}
END_TEST

START_TEST(hostile_cycles_and_overlaps)
{
	/* NEXT_AFU points at the next private feature: reached twice. */
	put_port(0);
	put(DFL_NEXT_AFU, 0x1000);
	expect_error(discover(64, 8), -ELOOP, "reached twice");
	/* The AFU's 16 KiB overlap the UINT feature. */
	put_port(0);
	put(DFL_NEXT_AFU, 0x1800);
	expect_error(discover(64, 8), -EINVAL, "overlaps");
	/* FME whose PORT_OFST points back at the FME: a cycle across lists. */
	list_setup();
	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, true, 0x1000, 0, DFH_FIU_ID_FME));
	put(FME_HDR_CAP, 2ull << FME_CAP_NUM_PORTS_SHIFT);
	put(FME_HDR_PORT_OFST(0), FME_PORT_OFST_IMP | 0);
	expect_error(discover(64, 0), -ELOOP, "reached twice");
	/* Two ports at the same offset. */
	put_port(0x8000);
	put(FME_HDR_PORT_OFST(0), FME_PORT_OFST_IMP | 0x8000);
	put(FME_HDR_PORT_OFST(1), FME_PORT_OFST_IMP | 0x8000);
	expect_error(discover(64, 8), -ELOOP, "reached twice");
}
END_TEST

START_TEST(fme_port_offsets)
{
	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, true, 0x1000, 0, DFH_FIU_ID_FME));
	put_port(0x8000);
	put(FME_HDR_CAP, 7ull << FME_CAP_NUM_PORTS_SHIFT);
	expect_error(discover(64, 8), -EINVAL, "NUM_PORTS = 7");
	put(FME_HDR_CAP, 4ull << FME_CAP_NUM_PORTS_SHIFT);
	put(FME_HDR_PORT_OFST(0), FME_PORT_OFST_IMP | 0x8000);
	put(FME_HDR_PORT_OFST(1), 0x9000); /* not implemented */
	put(FME_HDR_PORT_OFST(2), FME_PORT_OFST_IMP | 7ull << 32); /* BAR 7: skip */
	put(FME_HDR_PORT_OFST(3), FME_PORT_OFST_IMP | 2ull << 32); /* another BAR */
	ck_assert_int_eq(discover(64, 8), 0);
	ck_assert_uint_eq(walk.lists, 2);
	ck_assert_uint_eq(walk.count, 5);
	ck_assert_uint_eq(walk.skipped, 1);
	ck_assert_uint_eq(table[1].fiu_instance, 0);
	put(FME_HDR_PORT_OFST(3), FME_PORT_OFST_IMP | 6ull << 32);
	expect_error(discover(64, 8), -EINVAL, "names BAR 6");
	put(FME_HDR_PORT_OFST(3), FME_PORT_OFST_IMP | 0xfff000);
	expect_error(discover(64, 8), -ERANGE, "past the end");
}
END_TEST

START_TEST(irqs_checked_against_msix)
{
	put_port(0);
	expect_error(discover(64, 5), -EINVAL, "exceed the 5 MSI-X vectors");
	ck_assert_int_eq(discover(64, 6), 0);
	ck_assert_int_eq(discover(64, 0), 0); /* not checked */
}
END_TEST

/* A v1 private feature at 0x1000 under a port at 0. */
static void put_v1(uint64_t csr_addr, uint64_t grp)
{
	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, false, 0x1000, 0, DFH_FIU_ID_PORT));
	put(0x1000, DFH_MAKE(DFH_TYPE_PRIVATE, 1, true, 0x1000, 3, 0x20));
	put(0x1000 + DFL_GUID_L, 0xaaaa);
	put(0x1000 + DFL_GUID_H, 0xbbbb);
	put(0x1000 + DFHV1_CSR_ADDR, csr_addr);
	put(0x1000 + DFHV1_CSR_SIZE_GRP, grp);
}

START_TEST(dfh_v1_csr_and_params)
{
	const uint64_t params = 0x200ull << 32 | DFHV1_CSR_HAS_PARAMS | 5 << 16 | 7;

	put_v1(0x800 << 1, params);
	put(0x1028, DFHV1_PARAM_ID_CLK_FRQ | 2ull << DFHV1_PARAM_NEXT_SHIFT);
	put(0x1038, DFHV1_PARAM_ID_MSI_X | 2ull << DFHV1_PARAM_NEXT_SHIFT);
	put(0x1040, 4 | 3ull << 32);
	put(0x1048, DFHV1_PARAM_ID_REG_LAYOUT | DFHV1_PARAM_EOP | 2ull << DFHV1_PARAM_NEXT_SHIFT);
	ck_assert_int_eq(discover(64, 8), 0);
	ck_assert_uint_eq(table[1].dfh_version, 1);
	ck_assert_uint_eq(table[1].csr_start, 0x1800);
	ck_assert_uint_eq(table[1].csr_size, 0x200);
	ck_assert_uint_eq(table[1].param_count, 3);
	ck_assert_uint_eq(table[1].param_size, 48);
	ck_assert_uint_eq(table[1].irq_base, 4);
	ck_assert_uint_eq(table[1].irq_count, 3);
	ck_assert_uint_eq(table[1].group_id, 5);
	ck_assert_uint_eq(table[1].instance_id, 7);
	ck_assert_uint_eq(table[1].guid_h, 0xbbbb);
	/* Absolute CSR address: recorded, not a window offset. */
	put(0x1000 + DFHV1_CSR_ADDR, 0xfe000000ull | DFHV1_CSR_ADDR_REL);
	ck_assert_int_eq(discover(64, 8), 0);
	ck_assert(table[1].csr_absolute);
	ck_assert_uint_eq(table[1].csr_start, 0xfe000000ull);
}
END_TEST

START_TEST(dfh_v1_hostile)
{
	const uint64_t has = 0x100ull << 32 | DFHV1_CSR_HAS_PARAMS;

	put_v1(0, 0);
	expect_error(discover(64, 0), -EINVAL, "CSR size is 0");
	put_v1(0xfffffffffff0ull, 0x100ull << 32);
	expect_error(discover(64, 0), -ERANGE, "outside the window");
	put_v1(0x7ffffffffffffff0ull, 0x100ull << 32); /* offset overflows */
	expect_error(discover(64, 0), -ERANGE, "outside the window");
	put_v1(0, 0xffffffffull << 32);
	expect_error(discover(64, 0), -ERANGE, "outside the window");
	put_v1(0, has);
	put(0x1028, DFHV1_PARAM_ID_MSI_X);
	expect_error(discover(64, 0), -EINVAL, "NEXT = 0");
	put(0x1028, DFHV1_PARAM_ID_MSI_X | DFHV1_PARAM_EOP | 1ull << DFHV1_PARAM_NEXT_SHIFT);
	expect_error(discover(64, 0), -EINVAL, "no data word");
	put(0x1028, 9 | 0x1000ull << DFHV1_PARAM_NEXT_SHIFT);
	expect_error(discover(64, 0), -ERANGE, "runs past");
	/* 1-word parameters up to the end of a 32 KiB feature, none with EOP. */
	put(0x1000, DFH_MAKE(DFH_TYPE_PRIVATE, 1, true, 0x8000, 3, 0x20));
	for (uint64_t at = 0x1028; at < 0x9000; at += 8)
		put(at, 9 | 1ull << DFHV1_PARAM_NEXT_SHIFT);
	expect_error(discover(64, 0), -E2BIG, "more than 512 parameters");
	put_v1(0, has);
	for (uint64_t at = 0x1028; at < 0x1100; at += 8)
		put(at, 9 | 1ull << DFHV1_PARAM_NEXT_SHIFT);
	put(0x1000, DFH_MAKE(DFH_TYPE_PRIVATE, 1, true, 0x100, 3, 0x20));
	expect_error(discover(64, 0), -ENOENT, "no end (EOP)");
	/* A v1 CSR block that covers the next feature. */
	put_v1(0, 0x3000ull << 32);
	put(0x1000, DFH_MAKE(DFH_TYPE_PRIVATE, 1, false, 0x1000, 3, 0x20));
	put(0x2000, DFH_MAKE(DFH_TYPE_PRIVATE, 0, true, 0x1000, 3, 0x21));
	expect_error(discover(64, 0), -EINVAL, "overlaps");
}
END_TEST

START_TEST(bounded_by_table_and_steps)
{
	put(0, DFH_MAKE(DFH_TYPE_FIU, 0, false, 0x20, 0, DFH_FIU_ID_PORT));
	for (uint64_t at = 0x20; at < WIN; at += 8)
		put(at, DFH_MAKE(DFH_TYPE_PRIVATE, 0, false, 8, 0, 1));
	expect_error(discover(16, 0), -E2BIG, "more than 16 features");
	for (uint64_t at = 0x20; at < WIN; at += 8)
		put(at, DFH_MAKE(9, 0, false, 8, 0, 1)); /* unknown: skipped, still counted */
	reads = 0;
	expect_error(discover(16, 0), -E2BIG, "more than 4096 DFHs");
	ck_assert_uint_le(reads, 4200);
}
END_TEST

START_TEST(guid_text)
{
	char text[DFL_GUID_STRLEN];
	uint64_t lo, hi;

	dfl_guid_format(DFL_FME_GUID_L, DFL_FME_GUID_H, text);
	ck_assert_str_eq(text, "bfaf2ae9-4a52-46e3-82fe-38f0f9e17764");
	ck_assert_int_eq(dfl_guid_parse("BFAF2AE9-4A52-46E3-82FE-38F0F9E17764", &lo, &hi), 0);
	ck_assert_uint_eq(lo, DFL_FME_GUID_L);
	ck_assert_uint_eq(hi, DFL_FME_GUID_H);
	ck_assert_int_eq(dfl_guid_parse("bfaf2ae9-4a52-46e3-82fe-38f0f9e1776", &lo, &hi), -EINVAL);
	ck_assert_int_eq(dfl_guid_parse("bfaf2ae9-4a52-46e3-82fe-38f0f9e177640", &lo, &hi), -EINVAL);
	ck_assert_int_eq(dfl_guid_parse("bfaf2ae94a5246e382fe38f0f9e17764", &lo, &hi), -EINVAL);
	ck_assert_int_eq(dfl_guid_parse("bfaf2ae9-4a52-46e3-82fe-38f0f9e1776g", &lo, &hi), -EINVAL);
	ck_assert_int_eq(dfl_guid_parse("", &lo, &hi), -EINVAL);
}
END_TEST

/* ---- the card's own layouts ---- */

START_TEST(card_layouts_walk_clean)
{
	static struct dfl_layout layout;

	for (unsigned version = 0; version <= 1; version++) {
		for (unsigned ports = 1; ports <= DFL_CARD_MAX_PORTS; ports++) {
			struct dfl_card_config c = { .ports = ports, .dfh_version = version,
						     .vectors = 1 + 2 * ports, .slot = 1 };

			ck_assert_int_eq(dfl_layout_build(&layout, &c), 0);
			ck_assert_uint_eq(layout.walk.count, 3 + 4 * ports);
			ck_assert_uint_eq(layout.walk.lists, 1 + ports);
			for (unsigned i = 0; i < layout.walk.count; i++) {
				const struct dfl_feature *f = &layout.walk.features[i];
				const struct dfl_region *r = dfl_layout_region_at(&layout, f->dfh);

				ck_assert_ptr_nonnull(r);
				ck_assert_uint_eq(f->csr_start, r->csr);
				ck_assert(!f->csr_absolute);
			}
			dfl_layout_free(&layout);
		}
	}
}
END_TEST

/* ---- config rules and the device-tree description ---- */

static struct vm_config *config;

static struct vm_config *parse(const char *text, struct config_error *error)
{
	return config_parse("t.toml", text, strlen(text), NULL, 0, error);
}

static void expect_config_error(const char *text, const char *fragment)
{
	struct config_error error;
	struct vm_config *bad = parse(text, &error);

	ck_assert_ptr_null(bad);
	ck_assert_msg(strstr(error.message, fragment), "'%s' lacks '%s'", error.message, fragment);
}

#define VM_HEAD "[vm]\nimage = \"x\"\n"
#define HOST "[devices.pci]\ntype = \"pci-host\"\n"
#define CARD "[devices.fpga]\ntype = \"dfl-card\"\n"

START_TEST(config_is_validated)
{
	expect_config_error(VM_HEAD CARD "slot = 3\nports = 5\n", "1 to 4");
	expect_config_error(VM_HEAD CARD "slot = 3\ndfh_version = 2\n", "0 to 1");
	expect_config_error(VM_HEAD CARD "slot = 3\nports = 3\nvectors = 6\n", "7 to 64");
	expect_config_error(VM_HEAD CARD "slot = 3\nafu_guid = \"nope\"\n", "is not a GUID");
	expect_config_error(VM_HEAD CARD "slot = 3\nexpose = \"afu\"\n", "array of strings");
	expect_config_error(VM_HEAD CARD "slot = 3\nexpose = [\"gpu\"]\n", "valid: \"fme\"");
	expect_config_error(VM_HEAD CARD "slot = 3\nexpose = [\"port1\"]\n", "has 1 port");
	expect_config_error(VM_HEAD CARD "slot = 3\nexpose = [\"port11\"]\n", "valid: \"fme\"");
	expect_config_error(VM_HEAD CARD "slot = 3\nassignment = \"half\"\n", "assignment");
	expect_config_error(VM_HEAD CARD "colour = 1\n", "valid keys");
	expect_config_error(VM_HEAD CARD, "'slot' is required when features are exposed");
}
END_TEST

START_TEST(dma_capable_features_need_the_whole_device)
{
	struct config_error error;

	expect_config_error(VM_HEAD CARD "slot = 3\nassignment = \"features\"\n",
			    "refusing to expose afu0 with assignment = \"features\": it is DMA-capable");
	expect_config_error(VM_HEAD CARD "slot = 3\nports = 2\nassignment = \"features\"\n"
			    "expose = [\"fme\", \"afu1\"]\n", "refusing to expose afu1");
	config = parse(VM_HEAD CARD "slot = 3\nports = 2\nassignment = \"features\"\n"
		       "expose = [\"fme\", \"port\"]\n", &error);
	ck_assert_msg(config != NULL, "%s", error.message);
	config_free(config);
	config = parse(VM_HEAD CARD "expose = []\n", &error); /* no description, no slot */
	ck_assert_msg(config != NULL, "%s", error.message);
	config_free(config);
	config = NULL;
}
END_TEST

static uint32_t cell(const void *blob, int node, const char *name, int index)
{
	int len;
	const fdt32_t *cells = fdt_getprop(blob, node, name, &len);

	ck_assert_msg(cells && len > index * 4, "no %s[%d]", name, index);
	return fdt32_to_cpu(cells[index]);
}

static void *build_dtb(const char *text)
{
	struct config_error error;
	void *blob;
	size_t size;

	config = parse(text, &error);
	ck_assert_msg(config != NULL, "%s", error.message);
	ck_assert_int_eq(fdt_build(config, &blob, &size), 0);
	config_free(config);
	config = NULL;
	return blob;
}

static int count_features(const void *blob, int card)
{
	int n = 0, node;

	fdt_for_each_subnode(node, blob, card)
		n++;
	return n;
}

START_TEST(device_tree_default_hides_the_fme)
{
	void *blob = build_dtb(VM_HEAD HOST CARD "slot = 3\n");
	int card = fdt_path_offset(blob, "/dfl-card-slot3");

	ck_assert_int_ge(card, 0);
	ck_assert_str_eq(fdt_getprop(blob, card, "compatible", NULL), "vmm,dfl-card");
	ck_assert_str_eq(fdt_getprop(blob, card, "vmm,device", NULL), "fpga");
	ck_assert_str_eq(fdt_getprop(blob, card, "vmm,assignment", NULL), "device");
	ck_assert_uint_eq(cell(blob, card, "vmm,pci-address", 1), 3);
	ck_assert_uint_eq(cell(blob, card, "vmm,pci-id", 1), DFL_PCI_DEVICE_ID);
	ck_assert_uint_eq(cell(blob, card, "#address-cells", 0), 3);
	ck_assert_int_eq(count_features(blob, card), 4); /* port, error, uint, afu */
	ck_assert_int_lt(fdt_subnode_offset(blob, card, "feature@0"), 0);
	int afu = fdt_subnode_offset(blob, card, "feature@c000");

	ck_assert_int_ge(afu, 0);
	ck_assert_uint_eq(cell(blob, afu, "reg", 0), 0x02000000u | 3 << 11 | 0x10);
	ck_assert_uint_eq(cell(blob, afu, "reg", 2), 0xc000);
	ck_assert_uint_eq(cell(blob, afu, "reg", 4), DFL_CARD_AFU_SIZE);
	ck_assert_uint_eq(cell(blob, afu, "vmm,dfl-type", 0), DFH_TYPE_AFU);
	ck_assert_uint_eq(cell(blob, afu, "vmm,msix-vectors", 0), DFL_CARD_VEC_AFU(0));
	ck_assert_ptr_nonnull(fdt_getprop(blob, afu, "vmm,dma-capable", NULL));
	ck_assert_str_eq(fdt_getprop(blob, afu, "vmm,dfl-guid", NULL),
			 "564d4d2d-4146-5530-8c0f-d11ecafe0001");
	int perr = fdt_subnode_offset(blob, card, "feature@9000");

	ck_assert_int_ge(perr, 0);
	ck_assert_uint_eq(cell(blob, perr, "vmm,dfl-feature-id", 0), PORT_FEATURE_ID_ERROR);
	ck_assert_uint_eq(cell(blob, perr, "vmm,msix-vectors", 0), DFL_CARD_VEC_PORT_ERR(0));
	ck_assert_ptr_null(fdt_getprop(blob, perr, "vmm,dma-capable", NULL));
	ck_assert_ptr_null(fdt_getprop(blob, perr, "vmm,dfl-guid", NULL)); /* v0 private */
	free(blob);
}
END_TEST

START_TEST(device_tree_v1_partial)
{
	void *blob = build_dtb(VM_HEAD HOST CARD "slot = 7\nports = 2\ndfh_version = 1\n"
			       "assignment = \"features\"\nexpose = [\"fme\", \"port1\"]\n");
	int card = fdt_path_offset(blob, "/dfl-card-slot7");

	ck_assert_int_ge(card, 0);
	ck_assert_str_eq(fdt_getprop(blob, card, "vmm,assignment", NULL), "features");
	ck_assert_int_eq(count_features(blob, card), 3 + 3);
	/* v1: the CSR block, not the DFH; GUID and parameters. */
	int gerr = fdt_subnode_offset(blob, card, "feature@2100");

	ck_assert_int_ge(gerr, 0);
	ck_assert_uint_eq(cell(blob, gerr, "vmm,dfl-dfh", 0), DFL_CARD_FME_GERR);
	ck_assert_uint_eq(cell(blob, gerr, "reg", 4), DFL_CARD_V1_CSR_SIZE);
	ck_assert_uint_eq(cell(blob, gerr, "vmm,dfl-dfh-version", 0), 1);
	ck_assert_ptr_nonnull(fdt_getprop(blob, gerr, "vmm,dfl-guid", NULL));
	ck_assert_int_lt(fdt_subnode_offset(blob, card, "feature@8000"), 0);  /* port 0 */
	ck_assert_int_ge(fdt_subnode_offset(blob, card, "feature@10000"), 0); /* port 1 */
	ck_assert_int_lt(fdt_subnode_offset(blob, card, "feature@14000"), 0); /* afu 1 */
	free(blob);
	blob = build_dtb(VM_HEAD HOST CARD "expose = []\n");
	ck_assert_int_lt(fdt_node_offset_by_compatible(blob, -1, "vmm,dfl-card"), 0);
	free(blob);
}
END_TEST

/* ---- the AFU engine without KVM ---- */

#define RAM_SIZE (1u << 20)

static struct guest_memory ram;
static struct dfl_afu afu;
static unsigned raised[8], faults;
static bool dma_ok;

static void fake_raise(void *opaque, unsigned vector)
{
	raised[vector % 8]++;
}

static bool fake_dma_allowed(void *opaque)
{
	return dma_ok;
}

static void fake_fault(void *opaque, unsigned port)
{
	faults++;
}

static const struct dfl_afu_ops fake_ops = {
	.raise = fake_raise, .dma_allowed = fake_dma_allowed, .dma_fault = fake_fault,
};

#define RING_GPA 0x1000u
#define SRC_GPA  0x10000u
#define DST_GPA  0x40000u

static void afu_setup(void)
{
	ck_assert_int_eq(guest_memory_alloc(&ram, RAM_SIZE), 0);
	memset(raised, 0, sizeof(raised));
	faults = 0;
	dma_ok = true;
	dfl_afu_init(&afu, 0, 2, &ram, &fake_ops, NULL);
	dfl_afu_write(&afu, DFL_AFU_RING_BASE, RING_GPA, ~0ull);
	dfl_afu_write(&afu, DFL_AFU_RING_SIZE, 8, ~0ull);
	dfl_afu_write(&afu, DFL_AFU_CTRL, DFL_AFU_CTRL_ENABLE | DFL_AFU_CTRL_IRQ, ~0ull);
}

static void afu_teardown(void)
{
	guest_memory_free(&ram);
}

static struct dfl_afu_desc *slot(unsigned i)
{
	return (struct dfl_afu_desc *)(ram.base + RING_GPA) + (i % 8);
}

/* Post one descriptor at index `tail` and ring; run the engine dry. */
static uint32_t submit(unsigned tail, uint32_t op, uint32_t flags, uint64_t src, uint64_t dst,
		       uint64_t len)
{
	struct dfl_afu_desc *d = slot(tail);

	*d = (struct dfl_afu_desc){ .op = op, .flags = flags, .src = src, .dst = dst, .len = len,
				    .status = DFL_AFU_ST_PENDING, .user = 0x5eed };
	ck_assert(dfl_afu_write(&afu, DFL_AFU_RING_TAIL, tail + 1, ~0ull));
	while (dfl_afu_poll(&afu))
		;
	ck_assert_uint_eq(d->user, 0x5eed);
	return d->status;
}

START_TEST(afu_copy_fill_and_counters)
{
	for (unsigned i = 0; i < 4096; i++)
		ram.base[SRC_GPA + i] = (uint8_t)(i * 7);
	ck_assert_uint_eq(submit(0, DFL_AFU_OP_COPY, DFL_AFU_DESC_IRQ, SRC_GPA, DST_GPA, 4096),
			  DFL_AFU_ST_OK);
	ck_assert_mem_eq(ram.base + DST_GPA, ram.base + SRC_GPA, 4096);
	ck_assert_uint_eq(slot(0)->bytes_done, 4096);
	ck_assert_uint_eq(raised[2], 1);
	ck_assert_uint_eq(submit(1, DFL_AFU_OP_FILL, 0, 0x8877665544332211ull, DST_GPA + 1, 13),
			  DFL_AFU_ST_OK);
	ck_assert_uint_eq(ram.base[DST_GPA + 1], 0x11);
	ck_assert_uint_eq(ram.base[DST_GPA + 8], 0x88);
	ck_assert_uint_eq(ram.base[DST_GPA + 9], 0x11);
	ck_assert_uint_eq(ram.base[DST_GPA + 13], 0x55);
	ck_assert_uint_eq(ram.base[DST_GPA + 14], (uint8_t)(14 * 7)); /* untouched */
	ck_assert_uint_eq(raised[2], 1); /* no IRQ flag */
	/* Overlapping copy: memmove semantics. */
	ck_assert_uint_eq(submit(2, DFL_AFU_OP_COPY, 0, SRC_GPA, SRC_GPA + 1, 100), DFL_AFU_ST_OK);
	ck_assert_uint_eq(ram.base[SRC_GPA + 100], (uint8_t)(99 * 7));
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_RING_HEAD), 3);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_COMPLETED), 3);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_BYTES), 4096 + 13 + 100);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_MAGIC), DFL_AFU_MAGIC_VALUE);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_IRQ_VECTOR), 2);
	/* Scratch: 4-byte halves merge. */
	dfl_afu_write(&afu, DFL_AFU_SCRATCH(3), 0x1122334455667788ull, ~0ull);
	dfl_afu_write(&afu, DFL_AFU_SCRATCH(3), 0xaabbccdd00000000ull, 0xffffffff00000000ull);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_SCRATCH(3)), 0xaabbccdd55667788ull);
	ck_assert(!dfl_afu_write(&afu, DFL_AFU_RING_HEAD, 77, ~0ull)); /* read-only */
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_RING_HEAD), 3);
}
END_TEST

START_TEST(afu_hostile_descriptors)
{
	ck_assert_uint_eq(submit(0, DFL_AFU_OP_COPY, 0, RAM_SIZE - 8, DST_GPA, 16),
			  DFL_AFU_ST_ADDRESS);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_ERROR_ADDR), RAM_SIZE - 8);
	ck_assert_uint_eq(submit(1, DFL_AFU_OP_FILL, 0, 0, DST_GPA, UINT64_MAX),
			  DFL_AFU_ST_ADDRESS);
	ck_assert_uint_eq(submit(2, DFL_AFU_OP_COPY, 0, SRC_GPA, UINT64_MAX - 4, 8),
			  DFL_AFU_ST_ADDRESS);
	ck_assert_uint_eq(faults, 3);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_ERROR), DFL_AFU_ERR_ADDRESS);
	dfl_afu_write(&afu, DFL_AFU_ERROR, DFL_AFU_ERR_ADDRESS, ~0ull);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_ERROR), 0);
	ck_assert_uint_eq(submit(3, 9, 0, 0, 0, 0), DFL_AFU_ST_BAD_DESC);
	ck_assert_uint_eq(submit(4, DFL_AFU_OP_COPY, 0x80, SRC_GPA, DST_GPA, 8),
			  DFL_AFU_ST_BAD_DESC);
	dma_ok = false;
	ram.base[DST_GPA] = 0x42;
	ck_assert_uint_eq(submit(5, DFL_AFU_OP_FILL, DFL_AFU_DESC_IRQ, 0, DST_GPA, 8),
			  DFL_AFU_ST_DENIED);
	ck_assert_uint_eq(ram.base[DST_GPA], 0x42);
	ck_assert(dfl_afu_read(&afu, DFL_AFU_ERROR) & DFL_AFU_ERR_DENIED);
	ck_assert_uint_eq(raised[2], 1); /* completions interrupt whatever their status */
	ck_assert_uint_eq(submit(6, DFL_AFU_OP_NOP, 0, 0, 0, 0), DFL_AFU_ST_OK);
}
END_TEST

START_TEST(afu_bad_ring_halts_until_reset)
{
	dfl_afu_write(&afu, DFL_AFU_RING_BASE, RAM_SIZE - 64, ~0ull); /* 8 entries do not fit */
	dfl_afu_write(&afu, DFL_AFU_RING_TAIL, 1, ~0ull);
	ck_assert(dfl_afu_poll(&afu));
	ck_assert(!dfl_afu_poll(&afu)); /* halted */
	ck_assert(dfl_afu_read(&afu, DFL_AFU_STATUS) & DFL_AFU_STATUS_HALTED);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_ERROR), DFL_AFU_ERR_RING);
	dfl_afu_write(&afu, DFL_AFU_CTRL, DFL_AFU_CTRL_RESET, ~0ull);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_STATUS), 0);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_RING_TAIL), 0);
	/* Other bad rings: size not a power of two, misaligned, too many pending. */
	const uint64_t bad[][3] = { { RING_GPA, 6, 1 }, { RING_GPA + 8, 8, 1 }, { RING_GPA, 8, 9 },
				    { RING_GPA, DFL_AFU_RING_MAX * 2, 1 } };

	for (unsigned i = 0; i < 4; i++) {
		dfl_afu_write(&afu, DFL_AFU_CTRL, DFL_AFU_CTRL_RESET, ~0ull);
		dfl_afu_write(&afu, DFL_AFU_RING_BASE, bad[i][0], ~0ull);
		dfl_afu_write(&afu, DFL_AFU_RING_SIZE, bad[i][1], ~0ull);
		dfl_afu_write(&afu, DFL_AFU_CTRL, DFL_AFU_CTRL_ENABLE, ~0ull);
		dfl_afu_write(&afu, DFL_AFU_RING_TAIL, bad[i][2], ~0ull);
		ck_assert(dfl_afu_poll(&afu));
		ck_assert_msg(dfl_afu_read(&afu, DFL_AFU_STATUS) & DFL_AFU_STATUS_HALTED, "case %u", i);
	}
}
END_TEST

START_TEST(afu_polled_tail_word_and_resets)
{
	uint32_t *word = (uint32_t *)(ram.base + 0x800);

	dfl_afu_write(&afu, DFL_AFU_TAIL_ADDR, 0x800, ~0ull);
	*slot(0) = (struct dfl_afu_desc){ .op = DFL_AFU_OP_FILL, .dst = DST_GPA, .len = 8 };
	ck_assert(!dfl_afu_poll(&afu)); /* tail word still 0 */
	*word = 1;
	ck_assert(dfl_afu_poll(&afu));
	ck_assert_uint_eq(slot(0)->status, DFL_AFU_ST_OK);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_RING_TAIL), 1);
	/* Port soft reset: everything holds, writes dropped, then a clean AFU. */
	dfl_afu_port_reset(&afu, true);
	ck_assert(dfl_afu_read(&afu, DFL_AFU_STATUS) & DFL_AFU_STATUS_PORT_RESET);
	ck_assert(!dfl_afu_write(&afu, DFL_AFU_CTRL, DFL_AFU_CTRL_ENABLE, ~0ull));
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_CTRL), 0);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_TAIL_ADDR), 0);
	dfl_afu_port_reset(&afu, false);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_RING_HEAD), 0);
	/* A tail word outside RAM halts. */
	dfl_afu_write(&afu, DFL_AFU_CTRL, DFL_AFU_CTRL_ENABLE, ~0ull);
	dfl_afu_write(&afu, DFL_AFU_TAIL_ADDR, RAM_SIZE, ~0ull);
	ck_assert(dfl_afu_poll(&afu));
	ck_assert(dfl_afu_read(&afu, DFL_AFU_STATUS) & DFL_AFU_STATUS_HALTED);
	ck_assert_uint_eq(dfl_afu_read(&afu, DFL_AFU_ERROR_ADDR), RAM_SIZE);
}
END_TEST

/* ---- the dfl-card model on a KVM VM (no vCPUs; RAM for DMA) ---- */

static struct vm vm;
static size_t realized;

static void kvm_setup(void)
{
	log_set_level(LOG_ERROR);
	kvm_fixture_open(&vm, 4u << 20);
	config = NULL;
	realized = 0;
}

static void kvm_teardown(void)
{
	for (size_t i = realized; config && i-- > 0;) {
		struct device *dev = config->devices[i];

		if (dev->model->unrealize)
			dev->model->unrealize(dev, &vm);
	}
	config_free(config);
	config = NULL;
	kvm_fixture_close(&vm);
	log_set_level(LOG_INFO);
}

static int realize(const char *devices)
{
	struct config_error error;
	char text[1024];
	int rc = 0;

	snprintf(text, sizeof(text), VM_HEAD "%s", devices);
	config = parse(text, &error);
	ck_assert_msg(config != NULL, "%s", error.message);
	vm.config = config;
	for (realized = 0; realized < config->device_count && !rc; realized++) {
		struct device *dev = config->devices[realized];

		rc = dev->model->realize(dev, &vm);
	}
	return rc;
}

static uint64_t mmio_read(uint64_t address, unsigned size)
{
	uint64_t value = 0;

	bus_access(&vm.mmio_bus, address, false, &value, size);
	return value;
}

static void mmio_write(uint64_t address, unsigned size, uint64_t value)
{
	bus_access(&vm.mmio_bus, address, true, &value, size);
}

static uint64_t ecam(unsigned slot, unsigned reg)
{
	return PCI_HOST_ECAM_BASE + ((uint64_t)slot << 15 | reg);
}

static uint64_t bar(unsigned slot, unsigned index)
{
	return mmio_read(ecam(slot, PCI_BASE_ADDRESS_0 + 4 * index), 4) & ~0xfull;
}

START_TEST(card_needs_a_host)
{
	ck_assert_int_eq(realize(CARD "expose = []\n"), -ENODEV);
}
END_TEST

START_TEST(card_identity_and_registers)
{
	ck_assert_int_eq(realize(HOST CARD "slot = 4\nports = 2\n"), 0);
	ck_assert_uint_eq(mmio_read(ecam(4, PCI_VENDOR_ID), 4),
			  (uint32_t)DFL_PCI_DEVICE_ID << 16 | DFL_PCI_VENDOR_ID);
	ck_assert_uint_eq(mmio_read(ecam(4, PCI_CLASS_REVISION), 4) >> 8, DFL_PCI_CLASS);
	uint64_t b0 = bar(4, 0);

	ck_assert_uint_eq(mmio_read(b0, 8),
			  DFH_MAKE(DFH_TYPE_FIU, 0, false, 0x1000, 0, DFH_FIU_ID_FME));
	ck_assert_uint_eq(mmio_read(b0 + 4, 4),
			  DFH_MAKE(DFH_TYPE_FIU, 0, false, 0x1000, 0, DFH_FIU_ID_FME) >> 32);
	ck_assert_uint_eq(mmio_read(b0 + FME_HDR_PORT_OFST(1), 8) & FME_PORT_OFST_DFH_MASK,
			  DFL_CARD_PORT(1));
	mmio_write(b0 + FME_HDR_SCRATCHPAD, 8, 0x1234);
	ck_assert_uint_eq(mmio_read(b0 + FME_HDR_SCRATCHPAD, 8), 0x1234);
	ck_assert_uint_eq(mmio_read(b0 + FME_HDR_SCRATCHPAD, 2), 0xffff);
	ck_assert_uint_eq(mmio_read(b0 + FME_HDR_SCRATCHPAD + 4, 8), ~0ull); /* misaligned */
	mmio_write(b0, 8, 0); /* the DFH is read-only */
	ck_assert_uint_eq(mmio_read(b0, 8) >> DFH_TYPE_SHIFT, DFH_TYPE_FIU);
	uint64_t ctrl = b0 + DFL_CARD_PORT(1) + PORT_HDR_CTRL;

	mmio_write(ctrl, 8, PORT_CTRL_SFTRST);
	ck_assert_uint_eq(mmio_read(ctrl, 8), PORT_CTRL_SFTRST | PORT_CTRL_SFTRST_ACK);
	mmio_write(ctrl, 8, 0);
	ck_assert_uint_eq(mmio_read(ctrl, 8), 0);
}
END_TEST

static bool pba_bit(unsigned slot, unsigned vector)
{
	return mmio_read(bar(slot, DFL_CARD_MSIX_BAR) + DFL_CARD_MSIX_PBA, 8) >> vector & 1;
}

/* MSI-X stays disabled, so raises are visible as pending bits. */
START_TEST(card_dma_on_the_poller_thread)
{
	ck_assert_int_eq(realize(HOST CARD "slot = 2\n"), 0);
	uint64_t afu_regs = bar(2, 0) + DFL_CARD_PORT(0) + DFL_CARD_AFU;
	struct dfl_afu_desc *ring = (struct dfl_afu_desc *)(vm.ram.base + 0x1000);

	memset(vm.ram.base + 0x10000, 0xab, 8192);
	ring[0] = (struct dfl_afu_desc){ .op = DFL_AFU_OP_COPY, .flags = DFL_AFU_DESC_IRQ,
					 .src = 0x10000, .dst = 0x20000, .len = 8192 };
	mmio_write(afu_regs + DFL_AFU_RING_BASE, 8, 0x1000);
	mmio_write(afu_regs + DFL_AFU_RING_SIZE, 8, 4);
	mmio_write(afu_regs + DFL_AFU_CTRL, 8, DFL_AFU_CTRL_ENABLE | DFL_AFU_CTRL_IRQ);
	/* Bus mastering off: denied. */
	mmio_write(afu_regs + DFL_AFU_RING_TAIL, 8, 1);
	for (int i = 0; i < 1000 && !__atomic_load_n(&ring[0].status, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	ck_assert_uint_eq(ring[0].status, DFL_AFU_ST_DENIED);
	ck_assert(pba_bit(2, DFL_CARD_VEC_AFU(0)));
	/* Bus master on: the copy runs. */
	mmio_write(ecam(2, PCI_COMMAND), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ring[1] = ring[0];
	ring[1].status = 0;
	mmio_write(afu_regs + DFL_AFU_RING_TAIL, 4, 2);
	for (int i = 0; i < 1000 && !__atomic_load_n(&ring[1].status, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	ck_assert_uint_eq(ring[1].status, DFL_AFU_ST_OK);
	ck_assert_mem_eq(vm.ram.base + 0x20000, vm.ram.base + 0x10000, 8192);
	ck_assert_uint_eq(mmio_read(afu_regs + DFL_AFU_RING_HEAD, 8), 2);
	/* A buffer past RAM: the port's error vector, nothing written. */
	ring[2] = (struct dfl_afu_desc){ .op = DFL_AFU_OP_FILL, .dst = vm.ram.size - 4, .len = 8 };
	ck_assert(!pba_bit(2, DFL_CARD_VEC_PORT_ERR(0)));
	mmio_write(afu_regs + DFL_AFU_RING_TAIL, 8, 3);
	for (int i = 0; i < 1000 && !__atomic_load_n(&ring[2].status, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	ck_assert_uint_eq(ring[2].status, DFL_AFU_ST_ADDRESS);
	ck_assert(pba_bit(2, DFL_CARD_VEC_PORT_ERR(0)));
	uint64_t perr = bar(2, 0) + DFL_CARD_PORT(0) + DFL_CARD_PORT_ERROR;

	ck_assert_uint_eq(mmio_read(perr + DFL_PERR_ERROR, 8), DFL_PERR_DMA_FAULT);
	/* FME error injection: vector 0. */
	mmio_write(bar(2, 0) + DFL_CARD_FME_GERR + DFL_GERR_INJECT, 8, 1);
	ck_assert(pba_bit(2, DFL_CARD_VEC_FME_ERR));
}
END_TEST

START_TEST(card_msix_routes_in_kvm)
{
	ck_assert_int_eq(realize(HOST CARD "slot = 6\n"), 0);
	uint64_t msix_table = bar(6, DFL_CARD_MSIX_BAR) + DFL_CARD_MSIX_TABLE;
	unsigned cap = mmio_read(ecam(6, PCI_CAPABILITY_LIST), 1);

	ck_assert_uint_eq(mmio_read(ecam(6, cap), 1), PCI_CAP_ID_MSIX);
	ck_assert_uint_eq((mmio_read(ecam(6, cap + PCI_MSIX_FLAGS), 2) & PCI_MSIX_FLAGS_QSIZE) + 1,
			  DFL_CARD_DEFAULT_VECTORS);
	mmio_write(msix_table + PCI_MSIX_ENTRY_LOWER_ADDR, 8, 0xfee00000);
	mmio_write(msix_table + PCI_MSIX_ENTRY_DATA, 4, 0x51);
	mmio_write(msix_table + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	mmio_write(ecam(6, cap + PCI_MSIX_FLAGS), 2, PCI_MSIX_FLAGS_ENABLE);
	mmio_write(bar(6, 0) + DFL_CARD_FME_GERR + DFL_GERR_INJECT, 8, 2);
	ck_assert_uint_eq(vm.irq.table->nr, 1);
	ck_assert_uint_eq(vm.irq.table->entries[0].u.msi.data, 0x51);
}
END_TEST

static Suite *walker_part(Suite *suite)
{
	TCase *lists = tcase_create("walker");

	tcase_add_checked_fixture(lists, list_setup, NULL);
	tcase_add_test(lists, port_list_with_afu_and_irqs);
	tcase_add_test(lists, afu_directly_in_the_list);
	tcase_add_test(lists, unknown_types_skipped_afu_under_fme_ignored);
	tcase_add_test(lists, hostile_structure);
	tcase_add_test(lists, hostile_offsets);
	tcase_add_test(lists, hostile_cycles_and_overlaps);
	tcase_add_test(lists, fme_port_offsets);
	tcase_add_test(lists, irqs_checked_against_msix);
	tcase_add_test(lists, dfh_v1_csr_and_params);
	tcase_add_test(lists, dfh_v1_hostile);
	tcase_add_test(lists, bounded_by_table_and_steps);
	tcase_add_test(lists, guid_text);
	tcase_add_test(lists, card_layouts_walk_clean);
	suite_add_tcase(suite, lists);
	return suite;
}

static Suite *card_part(Suite *suite)
{
	TCase *card = tcase_create("card");
	TCase *engine = tcase_create("afu");

	tcase_add_test(card, config_is_validated);
	tcase_add_test(card, dma_capable_features_need_the_whole_device);
	tcase_add_test(card, device_tree_default_hides_the_fme);
	tcase_add_test(card, device_tree_v1_partial);
	suite_add_tcase(suite, card);
	tcase_add_checked_fixture(engine, afu_setup, afu_teardown);
	tcase_add_test(engine, afu_copy_fill_and_counters);
	tcase_add_test(engine, afu_hostile_descriptors);
	tcase_add_test(engine, afu_bad_ring_halts_until_reset);
	tcase_add_test(engine, afu_polled_tail_word_and_resets);
	suite_add_tcase(suite, engine);
	return suite;
}

static Suite *kvm_part(Suite *suite)
{
	TCase *kvm = tcase_create("kvm");

	tcase_add_checked_fixture(kvm, kvm_setup, kvm_teardown);
	tcase_add_test(kvm, card_needs_a_host);
	tcase_add_test(kvm, card_identity_and_registers);
	tcase_add_test(kvm, card_dma_on_the_poller_thread);
	tcase_add_test(kvm, card_msix_routes_in_kvm);
	suite_add_tcase(suite, kvm);
	return suite;
}

Suite *dfl_suite(void)
{
	Suite *suite = suite_create("dfl");

	return kvm_part(card_part(walker_part(suite)));
}
