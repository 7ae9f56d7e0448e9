// SPDX-License-Identifier: MIT
/*
 * Guest test `vfio-pci` (configs/vfio-pci.toml): what passthrough adds on
 * top of a device that works, checked on a passed-through DSA function
 * (8086:0b25; the host simulator's, tests/vfio-sim/) through the vfio-pci
 * personality (docs/devices/vfio-pci.md):
 *
 *  - the header and BARs are virtual: single-function, BARs in the PCI
 *    window (never host addresses), sizing works;
 *  - capabilities are filtered: only MSI-X, PM, PCIe and vendor ones, no
 *    MSI, PM pinned to D0, extended space hidden;
 *  - MSI-X from the device reaches the guest (the device signals an
 *    eventfd KVM injects from), and masking holds it pending until the
 *    unmask delivers it exactly once, per vector and with the function
 *    mask;
 *  - the guest moves BAR0 (trapped registers, the virtual MSI-X table) and
 *    BAR2 (the mmapped portal): registers, interrupts and submissions all
 *    follow; with memory decoding off nothing answers;
 *  - Function Level Reset through the PCIe capability's DEVCTL resets the
 *    device (the VMM's VFIO_DEVICE_RESET) and the function's registers,
 *    and a driver can set it up again and use it.
 *
 * The command line says whether the portal is mmapped (vfio.mmap=1) or
 * trapped, which decides the submission discipline.
 */
#include <string.h>

#include "fw/apic.h"
#include "fw/dsa.h"
#include "fw/fdt.h"
#include "fw/irq.h"
#include "fw/pci.h"
#include "fw/test.h"
#include "fw/tsc.h"

const char *test_image_name = "vfio-pci";

#define VEC_MISC     0x62        /* MSI-X entry 0: command completion */
#define VEC_COMPLETE 0x63        /* MSI-X entry 1: descriptor completion */
#define WINDOW_BASE  0xc0000000ull
#define WINDOW_END   0xe0000000ull
#define CAP_ID_PM    0x01
#define CAP_ID_VNDR  0x09
#define CAP_ID_EXP   0x10
#define EXP_DEVCAP   0x04        /* PCI Express capability registers */
#define EXP_DEVCTL   0x08
#define DEVCAP_FLR   (1u << 28)  /* Function Level Reset Capability */
#define DEVCTL_FLR   0x8000u     /* Initiate Function Level Reset */
#define RECORD       (DSA_FLAG_CRAV | DSA_FLAG_RCR)
#define TABLE_OFFSET 0x2000      /* the DSA's MSI-X table and PBA in BAR0 (device-facts 3) */
#define PBA_OFFSET   0x3000

static struct fw_dsa dsa;
static bool ready, mmapped;
static uint64_t timeout;
static uint8_t src[4096] __attribute__((aligned(4096)));
static uint8_t dst[4096] __attribute__((aligned(4096)));
static struct dsa_completion_record record __attribute__((aligned(64)));

static uint16_t bdf(void)
{
	return dsa.pci->bdf;
}

void test_setup(void)
{
	const char *args = fw_fdt_bootargs();

	mmapped = args && strstr(args, "vfio.mmap=1");
	timeout = fw_tsc_from_us(1000000);
	ready = fw_dsa_probe(&dsa, 0, mmapped ? FW_DSA_ROTATE : FW_DSA_OFFSET0) == 0 &&
		fw_dsa_init(&dsa, DSA_OPS_IMPLEMENTED) == 0;
	CHECK(ready, "no usable passed-through 8086:0b25 function");
	diag("portal %s", mmapped ? "mmapped (memslot)" : "trapped");
}

#define NEED_DEVICE() REQUIRE(ready, "no device")

/* A command with INT_REQ: the device raises MSI-X entry 0 when it completes. */
static int command_with_interrupt(void)
{
	return fw_dsa_command(&dsa, DSA_CMD(DSA_CMD_DRAIN_ALL, 0) | DSA_CMD_INT_REQ);
}

static uint8_t memmove_once(uint32_t flags)
{
	struct dsa_hw_desc d = {
		.pasid_priv = 1u << 31, .flags_opcode = dsa_flags_opcode(DSA_OP_MEMMOVE, flags),
		.completion_addr = (uint64_t)(uintptr_t)&record, .src = (uint64_t)(uintptr_t)src,
		.dst = (uint64_t)(uintptr_t)dst, .xfer_size = sizeof(src), .int_handle = 1,
	};

	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + flags);
	memset(dst, 0, sizeof(dst));
	memset(&record, 0, sizeof(record));
	fw_dsa_submit(&dsa, &d);
	uint8_t status = fw_dsa_wait(&record, timeout);

	if (status == DSA_COMP_SUCCESS && memcmp(src, dst, sizeof(src)) != 0)
		return 0xff;
	return status;
}

static void clear_intcause(void)
{
	fw_dsa_write32(&dsa, DSA_REG_INTCAUSE, DSA_INTCAUSE_CMD | DSA_INTCAUSE_ERR);
}

/* ---- the virtual header ---- */

TEST(header_is_virtual)
{
	NEED_DEVICE();
	CHECK_EQ(fw_pci_read16(bdf(), FW_PCI_VENDOR_ID), 0x8086);
	CHECK_EQ(fw_pci_read16(bdf(), FW_PCI_DEVICE_ID), 0x0b25);
	CHECK_EQ(fw_pci_read8(bdf(), FW_PCI_HEADER_TYPE) & 0x80, 0); /* single function */
	CHECK_EQ(fw_pci_read8(bdf(), FW_PCI_INTERRUPT_PIN), 0);    /* no INTx configured */
	for (unsigned i = 0; i < 6; i++) {
		const struct fw_pci_bar *bar = &dsa.pci->bar[i];

		if (bar->space != FW_PCI_SPACE_MEM32 && bar->space != FW_PCI_SPACE_MEM64)
			continue;
		CHECK(bar->pci_addr >= WINDOW_BASE && bar->pci_addr + bar->size <= WINDOW_END,
		      "BAR%u at %llx is not in the PCI window", i,
		      (unsigned long long)bar->pci_addr);
	}
	CHECK_EQ(dsa.pci->bar[DSA_MMIO_BAR].size, 0x10000);
}

TEST(bar_sizing)
{
	NEED_DEVICE();
	uint32_t low = fw_pci_read32(bdf(), FW_PCI_BAR0), high = fw_pci_read32(bdf(), FW_PCI_BAR0 + 4);

	fw_pci_command(bdf(), 0, FW_PCI_COMMAND_MEMORY);
	fw_pci_write32(bdf(), FW_PCI_BAR0, 0xffffffff);
	fw_pci_write32(bdf(), FW_PCI_BAR0 + 4, 0xffffffff);
	uint32_t mask = fw_pci_read32(bdf(), FW_PCI_BAR0);

	CHECK_EQ(mask & ~0xfu, 0xffff0000u);                 /* 64 KiB */
	CHECK_EQ(mask & 0x6u, 0x4u);                         /* 64-bit */
	CHECK_EQ(fw_pci_read32(bdf(), FW_PCI_BAR0 + 4), 0xffffffffu);
	fw_pci_write32(bdf(), FW_PCI_BAR0, low);
	fw_pci_write32(bdf(), FW_PCI_BAR0 + 4, high);
	fw_pci_command(bdf(), FW_PCI_COMMAND_MEMORY, 0);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), 0x100);
}

/* ---- capabilities ---- */

TEST(capability_filtering)
{
	NEED_DEVICE();
	uint8_t offs[48], ids[48];
	int n = fw_pci_cap_walk(bdf(), offs, ids, 48);
	unsigned msix = 0;

	REQUIRE(n > 0, "capability list malformed or empty (%d)", n);
	for (int i = 0; i < n; i++) {
		CHECK(ids[i] == FW_PCI_CAP_ID_MSIX || ids[i] == CAP_ID_PM || ids[i] == CAP_ID_EXP ||
		      ids[i] == CAP_ID_VNDR, "capability 0x%x at 0x%x should be hidden", ids[i],
		      offs[i]);
		msix += ids[i] == FW_PCI_CAP_ID_MSIX;
	}
	CHECK_EQ(msix, 1);
	CHECK_EQ(fw_pci_find_cap(bdf(), FW_PCI_CAP_ID_MSI), 0);
	/* Extended capabilities are hidden. */
	CHECK_EQ(*(volatile uint32_t *)fw_pci_ecam_ptr(bdf(), 0x100), 0);
	/* A PM capability, if offered, stays in D0 whatever the guest writes. */
	uint8_t pm = fw_pci_find_cap(bdf(), CAP_ID_PM);

	if (pm) {
		fw_pci_write16(bdf(), pm + 4, 3);
		CHECK_EQ(fw_pci_read16(bdf(), pm + 4) & 3, 0);
		CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), 0x100);
	}
	/* MSI-X: the device's table geometry. */
	CHECK(dsa.msix.size >= 2, "MSI-X table has %u entries", dsa.msix.size);
	CHECK_EQ(dsa.msix.table_bir, DSA_MMIO_BAR);
	CHECK_EQ(dsa.msix.table_offset, TABLE_OFFSET);
	CHECK_EQ(dsa.msix.pba_offset, PBA_OFFSET);
}

/* ---- MSI-X through the device ---- */

TEST(msix_from_the_device)
{
	NEED_DEVICE();
	fw_dsa_msix(&dsa, 0, VEC_MISC);
	fw_dsa_msix(&dsa, 1, VEC_COMPLETE);
	uint32_t before = fw_irq_count(VEC_MISC);

	CHECK_EQ(command_with_interrupt(), 0);
	CHECK(fw_irq_wait_count(VEC_MISC, before + 1, timeout), "no command interrupt");
	clear_intcause();
	before = fw_irq_count(VEC_COMPLETE);
	CHECK_EQ(memmove_once(RECORD | DSA_FLAG_RCI), DSA_COMP_SUCCESS);
	CHECK(fw_irq_wait_count(VEC_COMPLETE, before + 1, timeout), "no completion interrupt");
	CHECK(!fw_msix_pending(&dsa.msix, 0) && !fw_msix_pending(&dsa.msix, 1),
	      "delivered vectors left pending");
}

TEST(msix_vector_mask_holds_pending)
{
	NEED_DEVICE();
	uint32_t before = fw_irq_count(VEC_MISC);

	fw_msix_mask(&dsa.msix, 0, true);
	CHECK_EQ(command_with_interrupt(), 0);
	fw_udelay(20000);
	CHECK_EQ(fw_irq_count(VEC_MISC), before);
	CHECK(fw_msix_pending(&dsa.msix, 0), "masked vector not pending");
	CHECK(!fw_msix_pending(&dsa.msix, 1), "vector 1 pending without cause");
	/* A second interrupt while pending coalesces. */
	CHECK_EQ(command_with_interrupt(), 0);
	fw_udelay(20000);
	fw_msix_mask(&dsa.msix, 0, false);
	CHECK(fw_irq_wait_count(VEC_MISC, before + 1, timeout), "unmask did not deliver");
	fw_udelay(20000);
	CHECK_EQ(fw_irq_count(VEC_MISC), before + 1);
	CHECK(!fw_msix_pending(&dsa.msix, 0), "still pending after delivery");
	clear_intcause();
}

TEST(msix_function_mask_holds_pending)
{
	NEED_DEVICE();
	uint32_t before = fw_irq_count(VEC_COMPLETE);

	fw_msix_function_mask(&dsa.msix, true);
	CHECK_EQ(memmove_once(RECORD | DSA_FLAG_RCI), DSA_COMP_SUCCESS);
	fw_udelay(20000);
	CHECK_EQ(fw_irq_count(VEC_COMPLETE), before);
	CHECK(fw_msix_pending(&dsa.msix, 1), "function-masked vector not pending");
	fw_msix_function_mask(&dsa.msix, false);
	CHECK(fw_irq_wait_count(VEC_COMPLETE, before + 1, timeout), "function unmask did not deliver");
	CHECK(!fw_msix_pending(&dsa.msix, 1), "still pending after delivery");
}

/* ---- moving BARs ---- */

TEST(moving_bar0_registers_and_msix_table)
{
	NEED_DEVICE();
	uint64_t old = dsa.pci->bar[DSA_MMIO_BAR].pci_addr, moved = old + (32u << 20);

	fw_pci_set_bar(dsa.pci, DSA_MMIO_BAR, moved);
	dsa.regs = fw_pci_bar_ptr(dsa.pci, DSA_MMIO_BAR);
	REQUIRE(dsa.regs, "BAR0 did not move");
	REQUIRE(fw_msix_init(&dsa.msix, dsa.pci) == 0, "MSI-X table not found after the move");
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), 0x100);
	/* The table kept its entries (they are the VMM's, not the BAR's). */
	CHECK_EQ(fw_msix_entry(&dsa.msix, 0, 2), VEC_MISC);
	uint32_t before = fw_irq_count(VEC_MISC);

	CHECK_EQ(command_with_interrupt(), 0);
	CHECK(fw_irq_wait_count(VEC_MISC, before + 1, timeout), "no interrupt after the move");
	clear_intcause();
	/* Back, through the old address: still the device. */
	fw_pci_set_bar(dsa.pci, DSA_MMIO_BAR, old);
	dsa.regs = fw_pci_bar_ptr(dsa.pci, DSA_MMIO_BAR);
	fw_msix_init(&dsa.msix, dsa.pci);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), 0x100);
}

TEST(moving_bar2_portal)
{
	NEED_DEVICE();
	uint64_t old = dsa.pci->bar[DSA_WQ_BAR].pci_addr, moved = old + (16u << 20);

	fw_pci_set_bar(dsa.pci, DSA_WQ_BAR, moved);
	dsa.portals = fw_pci_bar_ptr(dsa.pci, DSA_WQ_BAR);
	REQUIRE(dsa.portals, "BAR2 did not move");
	for (unsigned i = 0; i < 32; i++)
		CHECK_EQ(memmove_once(RECORD), DSA_COMP_SUCCESS);
	fw_pci_set_bar(dsa.pci, DSA_WQ_BAR, old);
	dsa.portals = fw_pci_bar_ptr(dsa.pci, DSA_WQ_BAR);
	CHECK_EQ(memmove_once(RECORD), DSA_COMP_SUCCESS);
}

TEST(memory_decode_off_hides_the_bars)
{
	NEED_DEVICE();
	fw_pci_command(bdf(), 0, FW_PCI_COMMAND_MEMORY);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), 0xffffffffu);
	CHECK_EQ(*(volatile uint64_t *)(dsa.portals + 0x40), ~0ull);
	fw_pci_command(bdf(), FW_PCI_COMMAND_MEMORY, 0);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), 0x100);
	CHECK_EQ(memmove_once(RECORD), DSA_COMP_SUCCESS);
}

/* ---- Function Level Reset ---- */

TEST(function_level_reset)
{
	NEED_DEVICE();
	uint8_t exp = fw_pci_find_cap(bdf(), CAP_ID_EXP);
	uint64_t bar0 = dsa.pci->bar[DSA_MMIO_BAR].pci_addr, bar2 = dsa.pci->bar[DSA_WQ_BAR].pci_addr;

	REQUIRE(exp, "no PCIe capability");
	REQUIRE(fw_pci_read32(bdf(), exp + EXP_DEVCAP) & DEVCAP_FLR, "DEVCAP has no FLR");
	/* Running: device and WQ 0 enabled, WQ 0 configured, interrupts set up. */
	fw_dsa_msix(&dsa, 0, VEC_MISC);
	fw_dsa_msix(&dsa, 1, VEC_COMPLETE);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_GENSTS) & 3, DSA_STATE_ENABLED);
	CHECK_EQ(fw_dsa_wq_state(&dsa, 0), DSA_WQ_STATE_ENABLED);
	CHECK_EQ(fw_dsa_wqcfg(&dsa, 0, 0), dsa.total_wq_size);
	CHECK_EQ(memmove_once(RECORD), DSA_COMP_SUCCESS);

	fw_pci_write16(bdf(), exp + EXP_DEVCTL, (uint16_t)(fw_pci_read16(bdf(), exp + EXP_DEVCTL) |
							  DEVCTL_FLR));
	fw_udelay(100000); /* PCIe: 100 ms before the function must answer again */
	/* The function's registers as an FLR leaves them; Initiate FLR reads 0. */
	CHECK_EQ(fw_pci_read16(bdf(), exp + EXP_DEVCTL) & DEVCTL_FLR, 0);
	CHECK_EQ(fw_pci_read16(bdf(), FW_PCI_VENDOR_ID), 0x8086);
	CHECK_EQ(fw_pci_read16(bdf(), FW_PCI_COMMAND) &
		 (FW_PCI_COMMAND_MEMORY | FW_PCI_COMMAND_MASTER), 0);
	CHECK_EQ(fw_pci_read32(bdf(), FW_PCI_BAR0) & ~0xfu, 0);
	CHECK_EQ(fw_msix_control(&dsa.msix) & 0x8000, 0);          /* MSI-X off */
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), 0xffffffffu); /* nothing decodes */

	/* A driver restores the BARs it saved and turns decoding back on: the
	 * DSA itself is reset, disabled with WQ 0 back at its reset config. */
	fw_pci_set_bar(dsa.pci, DSA_MMIO_BAR, bar0);
	fw_pci_set_bar(dsa.pci, DSA_WQ_BAR, bar2);
	fw_pci_command(bdf(), FW_PCI_COMMAND_MEMORY, 0);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), 0x100);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_GENSTS) & 3, DSA_STATE_DISABLED);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_GENCFG), 0);
	CHECK_EQ(fw_dsa_wq_state(&dsa, 0), DSA_WQ_STATE_DISABLED);
	for (unsigned i = 0; i < 4; i++)
		CHECK(fw_dsa_wqcfg(&dsa, 0, i) == 0, "WQCFG dword %u reads %#x after the FLR", i,
		      fw_dsa_wqcfg(&dsa, 0, i));
	CHECK_EQ(fw_dsa_wqcfg(&dsa, 0, DSA_WQCFG_OP_CONFIG_DWORD), (uint32_t)dsa.opcap);
	CHECK_EQ(fw_dsa_read64(&dsa, dsa.grpcfg_offset + DSA_GRPCFG_WQS), 0);
	/* The MSI-X table is back to every vector masked. */
	CHECK_EQ(fw_msix_entry(&dsa.msix, 0, 3) & 1, 1);
	CHECK_EQ(fw_msix_entry(&dsa.msix, 1, 3) & 1, 1);

	/* Set up again as after probe: it works, completion interrupt and all. */
	REQUIRE(fw_dsa_init(&dsa, DSA_OPS_IMPLEMENTED) == 0, "DSA init after the FLR failed");
	fw_dsa_msix(&dsa, 0, VEC_MISC);
	fw_dsa_msix(&dsa, 1, VEC_COMPLETE);
	uint32_t before = fw_irq_count(VEC_COMPLETE);

	CHECK_EQ(memmove_once(RECORD | DSA_FLAG_RCI), DSA_COMP_SUCCESS);
	CHECK(fw_irq_wait_count(VEC_COMPLETE, before + 1, timeout),
	      "no completion interrupt after the FLR");
	before = fw_irq_count(VEC_MISC);
	CHECK_EQ(command_with_interrupt(), 0);
	CHECK(fw_irq_wait_count(VEC_MISC, before + 1, timeout), "no command interrupt after the FLR");
	clear_intcause();
	CHECK(!fw_msix_pending(&dsa.msix, 0) && !fw_msix_pending(&dsa.msix, 1),
	      "delivered vectors left pending");
}
