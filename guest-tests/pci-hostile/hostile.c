// SPDX-License-Identifier: MIT
/*
 * Guest test `pci-hostile` (configs/pci-hostile.toml).
 *
 * A guest that treats the PCI model badly: garbage in every config
 * register (and in functions that do not exist), BARs over RAM, over
 * another BAR, over the console, the config ports, ECAM and the LAPIC,
 * MSI-X messages aimed at non-interrupt addresses, odd-sized accesses,
 * writes to read-only MSI-X structures. After each, the VMM must still
 * run and the device must work again once the guest puts things back.
 */
#include "fw/apic.h"
#include "fw/irq.h"
#include "fw/pci.h"
#include "fw/test.h"
#include "fw/testdev.h"
#include "fw/tsc.h"

const char *test_image_name = "pci-hostile";

#define VEC 0x50

static struct fw_testdev td;
static bool td_ok;

void test_setup(void)
{
	td_ok = fw_testdev_open(&td, 0) == 0;
	CHECK(td_ok, "no usable pci-testdev");
}

static uint64_t ms(uint64_t n)
{
	return fw_tsc_from_us(n * 1000);
}

/* The device answers and delivers an interrupt: the end of every test. */
static void check_device_works(const char *after)
{
	uint32_t before = fw_irq_count(VEC);
	uint32_t echo = 0x5eed0000u ^ (uint32_t)rdtsc();

	fw_testdev_write(&td, PCI_TESTDEV_ECHO, echo);
	CHECK(fw_testdev_read(&td, PCI_TESTDEV_ECHO) == echo, "after %s: ECHO broken", after);
	CHECK(fw_testdev_read(&td, PCI_TESTDEV_MAGIC_REG) == PCI_TESTDEV_MAGIC,
	      "after %s: MAGIC reads %#x", after, fw_testdev_read(&td, PCI_TESTDEV_MAGIC_REG));
	outl(td.io + PCI_TESTDEV_IO_ECHO, ~echo);
	CHECK(inl(td.io + PCI_TESTDEV_IO_ECHO) == ~echo, "after %s: I/O ECHO broken", after);
	fw_testdev_route(&td, 0, 0, VEC);
	fw_testdev_raise(&td, 0);
	CHECK(fw_irq_wait_count(VEC, before + 1, ms(1000)), "after %s: MSI-X not delivered", after);
	fw_irq_wait_count(VEC, before + 2, ms(2));
	CHECK(fw_irq_count(VEC) - before == 1, "after %s: %u interrupts for one raise", after,
	      fw_irq_count(VEC) - before);
	fw_msix_mask(&td.msix, 0, true);
}

TEST(baseline)
{
	REQUIRE(td_ok, "no testdev");
	check_device_works("setup");
}

static uint32_t prng = 0x9e3779b9u;

static uint32_t rnd(void)
{
	prng ^= prng << 13;
	prng ^= prng >> 17;
	prng ^= prng << 5;
	return prng;
}

TEST(garbage_in_every_config_register)
{
	static const uint32_t patterns[] = { 0xffffffffu, 0, 0xa5a5a5a5u, 0x5a5a5a5au };
	uint16_t bdf;
	uint32_t saved[64];

	REQUIRE(td_ok, "no testdev");
	bdf = td.pci->bdf;
	for (unsigned int i = 0; i < 64; i++)
		saved[i] = fw_pci_read32(bdf, 4 * i);
	/* Each dword: garbage, then put back (a BAR must not stay somewhere odd
	 * while the next register is hit). ID registers are read-only. */
	for (unsigned int i = 0; i < 64; i++) {
		for (unsigned int p = 0; p < 5; p++)
			fw_pci_write32(bdf, 4 * i, p < 4 ? patterns[p] : rnd());
		fw_pci_write32(bdf, 4 * i, saved[i]);
		/* Bytes and words, unaligned within the dword. */
		fw_pci_write8(bdf, 4 * i + 1, (uint8_t)rnd());
		fw_pci_write16(bdf, 4 * i + 2, (uint16_t)rnd());
		fw_pci_write8(bdf, 4 * i + 3, (uint8_t)rnd());
		fw_pci_write32(bdf, 4 * i, saved[i]);
	}
	CHECK_EQ(fw_pci_read32(bdf, 0), saved[0]);
	CHECK_EQ(fw_pci_read32(bdf, 8), saved[2]);
	/* Extended space (no extended capabilities): writes vanish. */
	for (unsigned int off = 0x100; off < 0x1000; off += 0x7c)
		fw_pci_write32(bdf, off, rnd());
	CHECK_EQ(fw_pci_read32(bdf, 0x100), 0);
	/* The host bridge, and functions that do not exist. */
	for (unsigned int off = 0x04; off < 0x100; off += 4) {
		uint32_t v = fw_pci_read32(FW_PCI_BDF(0, 0, 0), off);

		fw_pci_write32(FW_PCI_BDF(0, 0, 0), off, rnd());
		fw_pci_write32(FW_PCI_BDF(0, 0, 0), off, v);
		fw_pci_write32(FW_PCI_BDF(0, 31, 0), off, rnd());
		fw_pci_write32(FW_PCI_BDF(0, 1, 7), off, rnd());
		fw_pci_write32(FW_PCI_BDF(7, 3, 0), off, rnd());
	}
	CHECK_EQ(fw_pci_read32(FW_PCI_BDF(0, 31, 0), 0), 0xffffffffu);
	CHECK_EQ(fw_pci_read32(FW_PCI_BDF(7, 3, 0), 0x10), 0xffffffffu);
	/* The same through the legacy ports, and a CF8 address with garbage. */
	fw_pci_cf8_write32(FW_PCI_BDF(0, 30, 0), 0x10, 0x12345678u);
	outl(0xcf8, 0x7fffffffu); /* enable bit clear */
	outl(0xcfc, 0xdeadbeefu);
	outw(0xcf8, 0xffff);      /* not a dword: not the address latch */
	outb(0xcfe, 0x55);
	CHECK_EQ(fw_pci_cf8_read32(bdf, 0), saved[0]);
	/* MSI-X Message Control was hit too: back to enabled, unmasked. */
	CHECK_EQ(fw_msix_control(&td.msix) & 0xc000, FW_PCI_MSIX_FLAGS_ENABLE);
	check_device_works("config garbage");
}

static uint8_t ram_page[4096] __attribute__((aligned(4096)));

TEST(bar_over_ram)
{
	volatile uint32_t *ram = (volatile uint32_t *)ram_page;
	uint64_t old;

	REQUIRE(td_ok, "no testdev");
	old = td.pci->bar[0].pci_addr;
	ram[0] = 0x11111111u;
	ram[PCI_TESTDEV_ECHO / 4] = 0x22222222u;
	fw_testdev_write(&td, PCI_TESTDEV_ECHO, 0x33333333u);
	fw_pci_set_bar(td.pci, 0, (uint64_t)(uintptr_t)ram_page);
	/* RAM stays RAM: the BAR is not decoded there. */
	CHECK_EQ(ram[0], 0x11111111u);
	CHECK_EQ(ram[PCI_TESTDEV_ECHO / 4], 0x22222222u);
	ram[PCI_TESTDEV_ECHO / 4] = 0x44444444u;
	CHECK_EQ(ram[PCI_TESTDEV_ECHO / 4], 0x44444444u);
	/* And the guest's own code and stack, below it, still run. */
	fw_pci_set_bar(td.pci, 0, 0x200000); /* the image's first page */
	fw_pci_set_bar(td.pci, 0, 0);
	fw_pci_set_bar(td.pci, 0, old);
	CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_ECHO), 0x33333333u);
	check_device_works("BAR0 over RAM");
}

TEST(bar_over_another_bar)
{
	uint64_t bar0, bar2;
	uint32_t word;
	uint32_t entry0[4];

	REQUIRE(td_ok, "no testdev");
	bar0 = td.pci->bar[0].pci_addr;
	bar2 = td.pci->bar[2].pci_addr;
	fw_testdev_route(&td, 0, 0, VEC);
	fw_msix_mask(&td.msix, 0, true);
	for (unsigned int w = 0; w < 4; w++)
		entry0[w] = fw_msix_entry(&td.msix, 0, w);
	/* BAR0 on top of BAR2: one of them decodes (the VMM picks the lowest
	 * BAR index); accesses must not crash anything. */
	fw_pci_set_bar(td.pci, 0, bar2);
	word = *(volatile uint32_t *)(uintptr_t)td.pci->bar[2].addr;
	CHECK(word == PCI_TESTDEV_MAGIC || word == entry0[0], "overlap reads %#x", word);
	*(volatile uint32_t *)(uintptr_t)(td.pci->bar[2].addr + PCI_TESTDEV_ECHO) = 0x77;
	/* BAR2 on top of BAR0's old place, BAR0 back: a swap, then undo. */
	fw_pci_set_bar(td.pci, 2, bar0);
	fw_pci_set_bar(td.pci, 0, bar2);
	CHECK_EQ(*(volatile uint32_t *)(uintptr_t)td.pci->bar[0].addr, PCI_TESTDEV_MAGIC);
	fw_pci_set_bar(td.pci, 0, bar0);
	fw_pci_set_bar(td.pci, 2, bar2);
	for (unsigned int w = 0; w < 4; w++)
		CHECK_EQ(fw_msix_entry(&td.msix, 0, w), entry0[w]);
	check_device_works("BAR0 over BAR2");
}

TEST(bars_over_platform_devices)
{
	uint64_t bar0, bar2, bar4;
	uint32_t before;

	REQUIRE(td_ok, "no testdev");
	bar0 = td.pci->bar[0].pci_addr;
	bar2 = td.pci->bar[2].pci_addr;
	bar4 = td.pci->bar[4].pci_addr;
	/* I/O BAR over the console (0x3e0-0x3ff covers 0x3f8): printing works. */
	fw_pci_set_bar(td.pci, 4, 0x3e0);
	diag("console still works with BAR4 at 0x3e0");
	/* Over the config ports: CF8/CFC still reach config space. */
	fw_pci_set_bar(td.pci, 4, 0xce0);
	CHECK_EQ(fw_pci_cf8_read32(td.pci->bdf, 0),
		 (uint32_t)PCI_TESTDEV_DEVICE_ID << 16 | PCI_TESTDEV_VENDOR_ID);
	/* Over the exit port (0xe0-0xff covers 0xf4): not written here. */
	fw_pci_set_bar(td.pci, 4, 0xe0);
	fw_pci_set_bar(td.pci, 4, bar4);
	/* Memory BARs over ECAM and the LAPIC: both keep working. */
	fw_pci_set_bar(td.pci, 0, fw_pci_host()->ecam_base);
	CHECK_EQ(fw_pci_read16(td.pci->bdf, FW_PCI_VENDOR_ID), PCI_TESTDEV_VENDOR_ID);
	fw_pci_set_bar(td.pci, 0, bar0);
	fw_pci_set_bar(td.pci, 2, FW_LAPIC_BASE);
	before = fw_irq_count(VEC);
	fw_lapic_self_ipi(VEC);
	CHECK(fw_irq_wait_count(VEC, before + 1, ms(1000)), "self-IPI lost with BAR2 on the LAPIC");
	CHECK_EQ(fw_lapic_id(), fw_this_cpu()->apic_id);
	/* Past the end of the address space and straddling a window's end. */
	fw_pci_set_bar(td.pci, 2, 0xfffff000u);
	fw_pci_set_bar(td.pci, 2, bar2);
	check_device_works("BARs over platform devices");
}

static volatile uint32_t dma_target[4] __attribute__((aligned(16)));

/* One MSI-X message to `addr` must reach no CPU and count as dropped. */
static void check_dropped(uint64_t addr)
{
	static uint32_t before[256];
	uint32_t dropped, raised, moved = 0;

	for (unsigned int v = 0; v < 256; v++)
		before[v] = fw_irq_count(v);
	dropped = fw_testdev_read(&td, PCI_TESTDEV_DROPPED);
	raised = fw_testdev_read(&td, PCI_TESTDEV_RAISED);
	fw_msix_set_raw(&td.msix, 0, addr, VEC, 0);
	fw_irq_enable();
	fw_testdev_raise(&td, 0);
	fw_udelay(2000);
	fw_irq_disable();
	for (unsigned int v = FW_VEC_FIRST_IRQ; v < 256; v++)
		moved += fw_irq_count(v) - before[v];
	CHECK(moved == 0, "MSI to %#llx delivered %u interrupt(s)", (unsigned long long)addr, moved);
	CHECK(fw_testdev_read(&td, PCI_TESTDEV_DROPPED) - dropped == 1,
	      "MSI to %#llx: DROPPED moved by %u", (unsigned long long)addr,
	      fw_testdev_read(&td, PCI_TESTDEV_DROPPED) - dropped);
	CHECK(fw_testdev_read(&td, PCI_TESTDEV_RAISED) == raised, "MSI to %#llx counted as raised",
	      (unsigned long long)addr);
}

TEST(msix_to_non_interrupt_addresses_is_dropped)
{
	static const uint64_t addresses[] = {
		0,                       /* not programmed */
		0x1000,                  /* RAM: the boot_info page */
		0xfef00000u,             /* just past the interrupt range */
		0xfed00000u,             /* just before it */
		0xe0000000u,             /* ECAM */
	};
	REQUIRE(td_ok, "no testdev");
	dma_target[0] = 0xabcdef01u;
	for (unsigned int a = 0; a < sizeof(addresses) / sizeof(addresses[0]); a++)
		check_dropped(addresses[a]);
	check_dropped((uint64_t)(uintptr_t)dma_target);
	/* No DMA either: the message did not land in RAM. */
	CHECK_EQ(dma_target[0], 0xabcdef01u);
	CHECK_EQ(dma_target[1], 0);
	check_device_works("MSI-X to non-interrupt addresses");
}

/* 0x1_fee00000 is a memory write above 4 GiB, not an interrupt: the xAPIC
 * interrupt range is 0x00000000_fee00000-0x00000000_feefffff. */
TEST(msix_to_interrupt_range_plus_4g_is_dropped)
{
	REQUIRE(td_ok, "no testdev");
	check_dropped(0x1fee00000ull);
	check_dropped(0xfffffffffee00000ull);
	check_device_works("MSI-X to 0x1_fee00000");
}

TEST(bad_raises_and_odd_sized_accesses)
{
	volatile uint8_t *r;
	volatile uint64_t *q;
	uint32_t echo = 0x0ddba11u;

	REQUIRE(td_ok, "no testdev");
	r = td.regs;
	fw_testdev_write(&td, PCI_TESTDEV_ECHO, echo);
	fw_testdev_raise(&td, 0xffffffffu);
	fw_testdev_raise(&td, PCI_TESTDEV_MAX_VECTORS);
	CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_ERROR) & 1, 1);
	fw_testdev_write(&td, PCI_TESTDEV_ERROR, 0xffffffffu);
	CHECK_EQ(fw_testdev_read(&td, PCI_TESTDEV_ERROR), 0);
	/* Byte, word and qword accesses, unaligned ones, the last bytes of the BAR. */
	(void)r[PCI_TESTDEV_MAGIC_REG + 1];
	(void)*(volatile uint16_t *)(r + PCI_TESTDEV_ECHO + 2);
	r[PCI_TESTDEV_ECHO] = 0xff;
	*(volatile uint16_t *)(r + PCI_TESTDEV_ECHO + 1) = 0xffff;
	q = (volatile uint64_t *)(r + PCI_TESTDEV_ECHO - 4);
	(void)*q;
	*q = 0x1234567812345678ull;
	*(volatile uint32_t *)(r + PCI_TESTDEV_ECHO + 2) = 0xffffffffu;
	(void)*(volatile uint32_t *)(r + PCI_TESTDEV_REGS_SIZE - 4);
	*(volatile uint32_t *)(r + PCI_TESTDEV_REGS_SIZE - 4) = 1;
	(void)*(volatile uint64_t *)(r + PCI_TESTDEV_REGS_SIZE - 4);
	*(volatile uint64_t *)(r + PCI_TESTDEV_REGS_SIZE - 4) = ~0ull;
	/* I/O BAR: bytes, words, the last port, one past the end. */
	outb(td.io + 1, 0x12);
	(void)inw(td.io + 2);
	(void)inl(td.io + PCI_TESTDEV_IO_SIZE - 4);
	outl(td.io + PCI_TESTDEV_IO_SIZE - 2, 0xffffffffu);
	diag("ECHO after odd-sized writes: %#x (32-bit registers only: expect it unchanged)",
	     fw_testdev_read(&td, PCI_TESTDEV_ECHO));
	check_device_works("odd-sized accesses");
}

TEST(msix_structure_abuse)
{
	volatile uint32_t *t, *pba;
	volatile uint8_t *bar2;
	uint32_t pba0;

	REQUIRE(td_ok, "no testdev");
	t = td.msix.table;
	pba = td.msix.pba;
	bar2 = (volatile uint8_t *)(uintptr_t)td.pci->bar[2].addr;
	fw_testdev_route(&td, 0, 0, VEC);
	fw_msix_mask(&td.msix, 0, true);
	fw_testdev_raise(&td, 0); /* pending */
	pba0 = pba[0];
	CHECK_EQ(pba0 & 1, 1);
	/* The PBA is read-only. */
	pba[0] = 0;
	pba[1] = 0xffffffffu;
	CHECK_EQ(pba[0], pba0);
	/* 64-bit table writes (allowed by the spec), 8- and 16-bit ones. */
	*(volatile uint64_t *)&t[4 * (td.vectors - 1)] = 0x00000000fee00000ull;
	((volatile uint8_t *)t)[16 * (td.vectors - 1) + 12] = 0xff;
	((volatile uint16_t *)t)[8 * (td.vectors - 1) + 5] = 0xffff;
	/* Past the table, between table and PBA, past the PBA. */
	*(volatile uint32_t *)(bar2 + 16 * td.vectors) = 0xffffffffu;
	*(volatile uint32_t *)(bar2 + 0x7fc) = 0xffffffffu;
	*(volatile uint32_t *)(bar2 + 0xffc) = 0xffffffffu;
	(void)*(volatile uint32_t *)(bar2 + 0xffc);
	/* Reserved Vector Control bits: mask bit still reads as written. */
	t[3] = 0xfffffffeu;
	fw_irq_enable();
	fw_udelay(1000); /* unmasked by that write: the pending one may arrive */
	fw_irq_disable();
	t[3] = 1;
	CHECK_EQ(t[3] & 1, 1);
	/* Unmask with a good entry: at most one interrupt for the pending raise. */
	fw_testdev_route(&td, 0, 0, VEC);
	fw_irq_wait_count(VEC, fw_irq_count(VEC) + 1, ms(5));
	CHECK_EQ(pba[0] & 1, 0);
	for (unsigned int i = 1; i < td.vectors; i++)
		fw_msix_mask(&td.msix, i, true);
	check_device_works("MSI-X structure abuse");
}

TEST(vmm_still_runs)
{
	REQUIRE(td_ok, "no testdev");
	check_device_works("everything");
	CHECK(fw_lapic_read(FW_APIC_SVR) & FW_APIC_SVR_ENABLE, "LAPIC disabled");
	diag("raised %u, dropped %u, timer fired %u", fw_testdev_read(&td, PCI_TESTDEV_RAISED),
	     fw_testdev_read(&td, PCI_TESTDEV_DROPPED), fw_testdev_read(&td, PCI_TESTDEV_TIMER_FIRED));
}
