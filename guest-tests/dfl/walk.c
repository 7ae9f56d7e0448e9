// SPDX-License-Identifier: MIT
/*
 * Guest test `dfl`: setup, the Linux-style walk of BAR0, and the
 * device-tree description checked against it (dfltest.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfltest.h"
#include "fw/fdt.h"
#include "fw/smp.h"
#include "fw/test.h"
#include "fw/tsc.h"

const char *test_image_name = "dfl";

struct dfl_expect want;
struct fw_pci_dev *card;
volatile uint8_t *bar0;
uint64_t bar0_size;
struct fw_msix card_msix;
struct fw_dfl walk;

uint64_t ms_tsc(uint64_t ms)
{
	return fw_tsc_from_us(ms * 1000);
}

static const char *bootarg(const char *key)
{
	const char *args = fw_fdt_bootargs(), *p;

	if (!args || !(p = strstr(args, key)))
		return NULL;
	return p + strlen(key);
}

static unsigned bootarg_u(const char *key, unsigned def)
{
	const char *v = bootarg(key);

	return v ? (unsigned)strtoul(v, NULL, 0) : def;
}

/* "fme,port,afu1" up to a blank. */
static uint32_t parse_expose(const char *v, unsigned ports)
{
	uint32_t mask = 0;

	while (v && *v && *v != ' ') {
		size_t n = 0;

		while (v[n] && v[n] != ',' && v[n] != ' ')
			n++;

		if (n == 3 && !strncmp(v, "fme", 3))
			mask |= EXPOSE_FME;
		for (unsigned p = 0; p < ports; p++) {
			if ((n == 4 && !strncmp(v, "port", 4)) ||
			    (n == 5 && !strncmp(v, "port", 4) && v[4] - '0' == (int)p))
				mask |= EXPOSE_PORT(p);
			if ((n == 3 && !strncmp(v, "afu", 3)) ||
			    (n == 4 && !strncmp(v, "afu", 3) && v[3] - '0' == (int)p))
				mask |= EXPOSE_AFU(p);
		}
		v += n;
		if (*v == ',')
			v++;
	}
	return mask;
}

static void read_expectations(void)
{
	const char *assign = bootarg("dfl.assign=");

	want.given = bootarg("dfl.ports=") != NULL;
	want.ports = bootarg_u("dfl.ports=", 1);
	want.dfh = bootarg_u("dfl.dfh=", 0);
	want.vectors = bootarg_u("dfl.vectors=", 16);
	want.whole_device = !assign || strncmp(assign, "features", 8) != 0;
	want.expose = bootarg("dfl.expose=") ? parse_expose(bootarg("dfl.expose="), want.ports)
					     : parse_expose("port,afu", want.ports);
}

bool expected_exposed(const struct fw_dfl_feature *f)
{
	if (f->fiu_id == DFH_FIU_ID_FME)
		return want.expose & EXPOSE_FME;
	if (f->type == DFH_TYPE_AFU)
		return want.expose & EXPOSE_AFU(f->fiu_instance);
	return want.expose & EXPOSE_PORT(f->fiu_instance);
}

static void route_msix(void)
{
	fw_msix_function_mask(&card_msix, true);
	fw_msix_enable(&card_msix, true);
	for (unsigned i = 0; i < card_msix.size; i++)
		fw_msix_set(&card_msix, i, fw_smp_apic_id(0), DFL_VEC_BASE + i, false);
	fw_msix_function_mask(&card_msix, false);
}

void test_setup(void)
{
	struct fw_pci_dev *devs;
	int n = fw_pci_init(&devs);

	read_expectations();
	REQUIRE(n > 0, "no PCI functions (%d)", n);
	card = fw_pci_find(devs, n, DFL_PCI_VENDOR_ID, DFL_PCI_DEVICE_ID, 0);
	REQUIRE(card, "no 8086:bcc0 function on the bus");
	bar0 = fw_pci_bar_ptr(card, DFL_CARD_BAR0);
	bar0_size = card->bar[DFL_CARD_BAR0].size;
	REQUIRE(bar0, "BAR0 unassigned");
	fw_pci_command(card->bdf, FW_PCI_COMMAND_MEMORY | FW_PCI_COMMAND_MASTER, 0);
	REQUIRE(fw_msix_init(&card_msix, card) == 0, "no usable MSI-X");
	route_msix();
	uint64_t t0 = rdtsc();
	int rc = fw_dfl_enumerate(&walk, bar0, bar0_size, card_msix.size);

	diag("Linux-style walk: %u lists, %u features, %u MMIO reads, %llu us", walk.list_count,
	     walk.count, walk.mmio_reads, (unsigned long long)fw_tsc_to_us(rdtsc() - t0));
	CHECK(rc == 0, "walk failed (%d): %s at BAR0+0x%llx", rc, walk.why,
	      (unsigned long long)walk.where);
}

/* ---- the card on the bus ---- */

TEST(pci_identity_and_bars)
{
	REQUIRE(card, "no card");
	CHECK_EQ(card->class_code, DFL_PCI_CLASS);
	CHECK_EQ(fw_pci_read16(card->bdf, FW_PCI_SUBSYS_VENDOR), DFL_PCI_VENDOR_ID);
	CHECK_EQ(card->bar[DFL_CARD_BAR0].space, FW_PCI_SPACE_MEM32);
	CHECK_EQ(card->bar[DFL_CARD_BAR0].size, DFL_CARD_BAR0_SIZE);
	CHECK_EQ(card->bar[DFL_CARD_MSIX_BAR].size, 0x1000);
	CHECK_EQ(card_msix.size, want.vectors);
	CHECK_EQ(card_msix.table_bir, DFL_CARD_MSIX_BAR);
	diag("card at %02x:%02x.%x, BAR0 at %#llx", FW_PCI_BUS(card->bdf), FW_PCI_DEV(card->bdf),
	     FW_PCI_FN(card->bdf), (unsigned long long)card->bar[0].addr);
}

/* ---- the walk ---- */

static void check_feature(uint64_t dfh, unsigned fiu, unsigned inst, uint16_t fid,
			  uint64_t size, int irq)
{
	const struct fw_dfl_feature *f = fw_dfl_find(&walk, dfh);
	bool v1 = want.dfh == 1 && fid != FW_DFL_FID_FIU_HEADER;

	if (!CHECK(f, "no feature with its DFH at %#llx", (unsigned long long)dfh))
		return;
	CHECK_EQ(f->fiu_id, fiu);
	CHECK_EQ(f->fiu_instance, inst);
	CHECK_EQ(f->fid, fid);
	if (fid != FW_DFL_FID_AFU)
		CHECK_EQ(f->dfh_version, v1 ? 1 : 0);
	if (v1 && fid != FW_DFL_FID_AFU) {
		CHECK_EQ(f->start, dfh + DFL_CARD_V1_CSR);
		CHECK_EQ(f->size, DFL_CARD_V1_CSR_SIZE);
		CHECK(f->param_size >= 16, "v1 feature %#llx: params %u bytes",
		      (unsigned long long)dfh, f->param_size);
	} else {
		CHECK_EQ(f->start, dfh);
		CHECK_EQ(f->size, size);
	}
	CHECK_EQ(f->irq_count, irq >= 0 ? 1 : 0);
	if (irq >= 0)
		CHECK_EQ(f->irq_base, (unsigned)irq);
}

TEST(walk_finds_what_linux_would)
{
	REQUIRE(card && !walk.error, "no walk");
	CHECK_EQ(walk.list_count, 1 + want.ports);
	CHECK_EQ(walk.count, 3 + 4 * want.ports);
	check_feature(DFL_CARD_FME, DFH_FIU_ID_FME, 0, FW_DFL_FID_FIU_HEADER, 0x1000, -1);
	check_feature(DFL_CARD_FME_THERMAL, DFH_FIU_ID_FME, 0, FME_FEATURE_ID_THERMAL_MGMT, 0x1000,
		      -1);
	check_feature(DFL_CARD_FME_GERR, DFH_FIU_ID_FME, 0, FME_FEATURE_ID_GLOBAL_ERR, 0x1000,
		      DFL_CARD_VEC_FME_ERR);
	for (unsigned p = 0; p < want.ports; p++) {
		uint64_t port = DFL_CARD_PORT(p);
		/* Linux does not read an AFU's DFH: its IRQs come from UINT, or
		 * (v1, read here) nowhere; the walk records none. */
		check_feature(port, DFH_FIU_ID_PORT, p, FW_DFL_FID_FIU_HEADER, 0x1000, -1);
		check_feature(port + DFL_CARD_PORT_ERROR, DFH_FIU_ID_PORT, p, PORT_FEATURE_ID_ERROR,
			      0x1000, DFL_CARD_VEC_PORT_ERR(p));
		check_feature(port + DFL_CARD_PORT_UINT, DFH_FIU_ID_PORT, p, PORT_FEATURE_ID_UINT,
			      0x1000, DFL_CARD_VEC_AFU(p));
		check_feature(port + DFL_CARD_AFU, DFH_FIU_ID_PORT, p, FW_DFL_FID_AFU,
			      DFL_CARD_AFU_SIZE, -1);
	}
}

/* ---- the device-tree view against the walk ---- */

static struct fw_dfl_dt_card dt_card;
static struct fw_dfl_dt_feature dt[FW_DFL_MAX_FEATURES];
static int dt_count;

static bool load_dt(void)
{
	if (dt_card.node > 0)
		return true;
	if (fw_dfl_dt_card(-1, &dt_card) < 0)
		return false;
	dt_count = fw_dfl_dt_features(&dt_card, dt, FW_DFL_MAX_FEATURES);
	return dt_count >= 0;
}

static const struct fw_dfl_dt_feature *dt_find(uint64_t dfh)
{
	for (int i = 0; i < dt_count && i < FW_DFL_MAX_FEATURES; i++)
		if (dt[i].dfh == dfh)
			return &dt[i];
	return NULL;
}

static unsigned exposed_count(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < walk.count; i++)
		n += expected_exposed(&walk.features[i]);
	return n;
}

TEST(dt_card_node_names_the_function)
{
	REQUIRE(card && !walk.error, "no walk");
	if (!load_dt()) {
		CHECK_EQ(exposed_count(), 0);
		SKIP("no vmm,dfl-card node (nothing exposed)");
	}
	CHECK_EQ(dt_card.bus, FW_PCI_BUS(card->bdf));
	CHECK_EQ(dt_card.slot, FW_PCI_DEV(card->bdf));
	CHECK_EQ(dt_card.function, FW_PCI_FN(card->bdf));
	CHECK_EQ(dt_card.vendor, card->vendor);
	CHECK_EQ(dt_card.device_id, card->device);
	CHECK_STREQ(dt_card.assignment, want.whole_device ? "device" : "features");
	CHECK_EQ((unsigned)dt_count, exposed_count());
	diag("device tree describes %d of %u features", dt_count, walk.count);
}

/* The DFH type and id, the GUID as read from the BAR (FIU, AFU, v1). */
static void check_identity(const struct fw_dfl_feature *f, const struct fw_dfl_dt_feature *n)
{
	uint64_t dfh = reg64(f->dfh);
	char guid[40];

	CHECK_EQ(n->type, DFH_GET(dfh, TYPE));
	CHECK_EQ(n->id, DFH_GET(dfh, ID));
	CHECK_EQ(n->revision, DFH_GET(dfh, REVISION));
	CHECK_EQ(n->dfh_version, DFH_GET(dfh, VERSION));
	CHECK_EQ(n->fiu, f->fiu_id);
	CHECK_EQ(n->fiu_instance, f->fiu_instance);
	if (f->type == DFH_TYPE_PRIVATE && DFH_GET(dfh, VERSION) == 0) {
		CHECK(!n->guid, "v0 private feature %#llx has a GUID", (unsigned long long)f->dfh);
		return;
	}
	fw_dfl_guid_format(reg64(f->dfh + DFL_GUID_L), reg64(f->dfh + DFL_GUID_H), guid);
	if (CHECK(n->guid, "feature %#llx: no GUID", (unsigned long long)f->dfh))
		CHECK_STREQ(n->guid, guid);
}

/* A v0 AFU has no interrupts of its own: the DT gives its port's UINT ones. */
static void check_irqs(const struct fw_dfl_feature *f, const struct fw_dfl_dt_feature *n)
{
	uint32_t base = f->irq_base, count = f->irq_count;

	if (f->type == DFH_TYPE_AFU) {
		base = DFL_CARD_VEC_AFU(f->fiu_instance);
		count = 1;
	}
	CHECK_EQ(n->has_irq, count != 0);
	CHECK_EQ(n->irq_base, base);
	CHECK_EQ(n->irq_count, count);
}

TEST(dt_features_match_the_walk)
{
	REQUIRE(card && !walk.error, "no walk");
	if (!load_dt())
		SKIP("nothing exposed");
	for (unsigned i = 0; i < walk.count; i++) {
		const struct fw_dfl_feature *f = &walk.features[i];
		const struct fw_dfl_dt_feature *n = dt_find(f->dfh);

		if (!expected_exposed(f)) {
			CHECK(!n, "hidden feature %#llx is in the device tree",
			      (unsigned long long)f->dfh);
			continue;
		}
		if (!CHECK(n, "exposed feature %#llx is missing", (unsigned long long)f->dfh))
			continue;
		CHECK_EQ(n->phys_hi, 0x02000000u | FW_PCI_DEV(card->bdf) << 11 |
				     FW_PCI_FN(card->bdf) << 8 | (FW_PCI_BAR0 + 4 * DFL_CARD_BAR0));
		CHECK_EQ(n->offset, f->start);
		CHECK_EQ(n->size, f->size);
		CHECK_EQ(n->dma_capable, f->type == DFH_TYPE_AFU);
		check_identity(f, n);
		check_irqs(f, n);
	}
}

/* Nothing the DT hands out reaches a hidden feature's registers. */
TEST(hidden_features_unreachable_through_the_dt)
{
	unsigned hidden = 0;

	REQUIRE(card && !walk.error, "no walk");
	load_dt();
	for (unsigned i = 0; i < walk.count; i++) {
		const struct fw_dfl_feature *f = &walk.features[i];

		if (expected_exposed(f))
			continue;
		hidden++;
		for (int j = 0; j < dt_count && j < FW_DFL_MAX_FEATURES; j++)
			CHECK(dt[j].offset + dt[j].size <= f->start ||
			      f->start + f->size <= dt[j].offset,
			      "DT range %#llx+%#llx overlaps hidden feature %#llx",
			      (unsigned long long)dt[j].offset, (unsigned long long)dt[j].size,
			      (unsigned long long)f->dfh);
	}
	if (!(want.expose & EXPOSE_FME))
		CHECK(hidden >= 3, "FME hidden but only %u hidden features", hidden);
	diag("%u hidden features", hidden);
}
