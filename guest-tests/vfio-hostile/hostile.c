// SPDX-License-Identifier: MIT
/*
 * Guest test `vfio-hostile` (configs/vfio-hostile.toml): a guest that treats
 * a passed-through function badly, on a DSA (8086:0b25) from the VFIO host
 * simulator (tests/vfio-sim/), the vfio-pci personality's paths
 * (docs/devices/vfio-pci.md) hammered:
 *
 *  - config writes of every size at every offset, header, reserved and
 *    extended space, aligned or not (Function Level Resets among them);
 *  - BARs moved onto RAM, the LAPIC, the IOAPIC, ECAM, another BAR, out of
 *    the PCI window, above 4 GiB through the 64-bit high half, and moved
 *    thousands of times (a memslot leaked per move would run out);
 *  - MSI-X enable, function mask and vector mask storms, vectors aimed at
 *    addresses that are not interrupts (dropped, never delivered later);
 *  - unaligned, straddling and odd-sized accesses to the trapped BAR, past
 *    the end of each BAR, odd MSI-X table and PBA accesses, 64-byte stores
 *    where they do not belong, everything with memory decoding off.
 *
 * The VMM must keep running, never show one BAR's device memory where RAM
 * or an interrupt controller is, and after each storm the device must work
 * again: registers answer, a memmove completes with its completion
 * interrupt, a command interrupt arrives exactly once, and (mmapped
 * portal) BAR2 is still a memslot, which it could not be if a move had
 * leaked one.
 */
#include <string.h>

#include "fw/apic.h"
#include "fw/dsa.h"
#include "fw/fdt.h"
#include "fw/io.h"
#include "fw/irq.h"
#include "fw/pci.h"
#include "fw/test.h"
#include "fw/tsc.h"
#include "vfio_hostile.h"

const char *test_image_name = "vfio-hostile";

#define VEC_MISC     0x62        /* MSI-X entry 0: command completion */
#define VEC_COMPLETE 0x63        /* MSI-X entry 1: descriptor completion */
#define VEC_IPI      0x64
#define WINDOW_BASE  0xc0000000ull
#define WINDOW_END   0xe0000000ull
#define ECAM_BASE    0xe0000000ull
#define IOAPIC_BASE  0xfec00000ull
#define RECORD       (DSA_FLAG_CRAV | DSA_FLAG_RCR)
#define TABLE_OFFSET 0x2000      /* the DSA's MSI-X table and PBA in BAR0 (device-facts 3) */
#define PBA_OFFSET   0x3000
#define BAR0_SIZE    0x10000ull
/* A byte of the portal no descriptor uses: the tail of the last slot of WQ
 * 0's fourth page (the poller only looks at a slot's first qword). */
#define MARK_OFFSET  (3 * DSA_PAGE_SIZE + DSA_PAGE_SIZE - 4)

static struct fw_dsa dsa;
static bool ready, mmapped;
static uint64_t timeout, bar0, bar2, bar2_size;
static uint8_t src[4096] __attribute__((aligned(4096)));
static uint8_t dst[4096] __attribute__((aligned(4096)));
static struct dsa_completion_record record __attribute__((aligned(64)));
/* RAM a BAR is laid over: aligned for the 64 KiB BAR0. */
static uint8_t ram_area[0x10000] __attribute__((aligned(0x10000)));

static uint16_t bdf(void)
{
	return dsa.pci->bdf;
}

static uint64_t ms(uint64_t n)
{
	return fw_tsc_from_us(n * 1000);
}

/* ---- raw accesses of any size at any address (the compiler may not split them) ---- */





static uint32_t prng = 0x2545f491u;

static uint32_t rnd(void)
{
	prng ^= prng << 13;
	prng ^= prng >> 17;
	prng ^= prng << 5;
	return prng;
}

/* ---- the device ---- */

static void refresh_pointers(void)
{
	fw_pci_read_bars(dsa.pci);
	dsa.regs = fw_pci_bar_ptr(dsa.pci, DSA_MMIO_BAR);
	dsa.portals = fw_pci_bar_ptr(dsa.pci, DSA_WQ_BAR);
	fw_msix_init(&dsa.msix, dsa.pci);
}

static void restore_bars(void)
{
	fw_pci_command(bdf(), FW_PCI_COMMAND_MEMORY | FW_PCI_COMMAND_MASTER, 0);
	fw_pci_set_bar(dsa.pci, DSA_MMIO_BAR, bar0);
	fw_pci_set_bar(dsa.pci, DSA_WQ_BAR, bar2);
	refresh_pointers();
}

void test_setup(void)
{
	const char *args = fw_fdt_bootargs();

	mmapped = args && strstr(args, "vfio.mmap=1");
	timeout = ms(1000);
	mc_setup();
	ready = fw_dsa_probe(&dsa, 0, mmapped ? FW_DSA_ROTATE : FW_DSA_OFFSET0) == 0 &&
		fw_dsa_init(&dsa, DSA_OPS_IMPLEMENTED) == 0;
	CHECK(ready, "no usable passed-through 8086:0b25 function");
	if (!ready)
		return;
	bar0 = dsa.pci->bar[DSA_MMIO_BAR].pci_addr;
	bar2 = dsa.pci->bar[DSA_WQ_BAR].pci_addr;
	bar2_size = dsa.pci->bar[DSA_WQ_BAR].size;
	fw_dsa_msix(&dsa, 0, VEC_MISC);
	fw_dsa_msix(&dsa, 1, VEC_COMPLETE);
	diag("portal %s; BAR0 %#llx, BAR2 %#llx (+%#llx)", mmapped ? "mmapped (memslot)" : "trapped",
	     (unsigned long long)bar0, (unsigned long long)bar2, (unsigned long long)bar2_size);
}

#define NEED_DEVICE() REQUIRE(ready, "no device")

static int command_with_interrupt(void)
{
	return fw_dsa_command(&dsa, DSA_CMD(DSA_CMD_DRAIN_ALL, 0) | DSA_CMD_INT_REQ);
}

static void clear_intcause(void)
{
	fw_dsa_write32(&dsa, DSA_REG_INTCAUSE, DSA_INTCAUSE_CMD | DSA_INTCAUSE_ERR);
}

static struct dsa_hw_desc memmove_desc(uint32_t flags)
{
	return (struct dsa_hw_desc){
		.pasid_priv = 1u << 31, .flags_opcode = dsa_flags_opcode(DSA_OP_MEMMOVE, flags),
		.completion_addr = (uint64_t)(uintptr_t)&record, .src = (uint64_t)(uintptr_t)src,
		.dst = (uint64_t)(uintptr_t)dst, .xfer_size = sizeof(src), .int_handle = 1,
	};
}

static void memmove_prepare(uint32_t seed)
{
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + seed);
	memset(dst, 0, sizeof(dst));
	memset(&record, 0, sizeof(record));
}

static uint8_t memmove_once(uint32_t flags)
{
	struct dsa_hw_desc d = memmove_desc(flags);

	memmove_prepare(flags);
	fw_dsa_submit(&dsa, &d);
	uint8_t status = fw_dsa_wait(&record, timeout);

	if (status == DSA_COMP_SUCCESS && memcmp(src, dst, sizeof(src)) != 0)
		return 0xff;
	return status;
}

/*
 * Whether BAR2's portal is a memslot: a 4-byte store there lands in the
 * mapped memory, while a trapped one is dropped by the device (only 64-byte
 * stores are submissions). Only asked with the portal mmapped.
 */
static bool portal_is_memslot(void)
{
	volatile uint32_t *mark = (volatile uint32_t *)(dsa.portals + MARK_OFFSET);
	uint32_t old = *mark, probe = 0x5a5aa5a5u ^ (uint32_t)rdtsc();
	bool memory;

	*mark = probe;
	memory = *mark == probe;
	*mark = old;
	return memory;
}

/* Every vector's count (32-255), for "nothing was delivered". */
static uint32_t counts[256];

static void snapshot_counts(void)
{
	for (unsigned v = FW_VEC_FIRST_IRQ; v < 256; v++)
		counts[v] = fw_irq_count(v);
}

static unsigned delivered_since_snapshot(void)
{
	unsigned moved = 0;

	for (unsigned v = FW_VEC_FIRST_IRQ; v < 256; v++)
		moved += fw_irq_count(v) - counts[v];
	return moved;
}

bool dsa_ready(void)
{
	return ready;
}

/* The end of every test: registers, DMA, both interrupts once each, the memslot. */
void check_device_works(const char *after)
{
	CHECK(fw_dsa_read32(&dsa, DSA_REG_VERSION) == 0x100, "after %s: VERSION reads %#x", after,
	      fw_dsa_read32(&dsa, DSA_REG_VERSION));
	CHECK(fw_pci_read16(bdf(), FW_PCI_VENDOR_ID) == 0x8086, "after %s: config space lost", after);
	CHECK(!(fw_dsa_read64(&dsa, DSA_REG_SWERR) & DSA_SWERR_VALID), "after %s: SWERR %#llx",
	      after, (unsigned long long)fw_dsa_read64(&dsa, DSA_REG_SWERR));
	if (mmapped)
		CHECK(portal_is_memslot(), "after %s: BAR2 is no longer a memslot", after);

	/* Interrupts on: one held in the LAPIC's IRR while IF is clear would hide a duplicate. */
	bool irqs = fw_irq_save();
	uint32_t misc = fw_irq_count(VEC_MISC), complete = fw_irq_count(VEC_COMPLETE);
	uint8_t status;

	fw_irq_enable();
	status = memmove_once(RECORD | DSA_FLAG_RCI);

	CHECK(status == DSA_COMP_SUCCESS, "after %s: memmove status %#x", after, status);
	CHECK(fw_irq_wait_count(VEC_COMPLETE, complete + 1, timeout),
	      "after %s: no completion interrupt", after);
	CHECK(command_with_interrupt() == 0, "after %s: command failed", after);
	CHECK(fw_irq_wait_count(VEC_MISC, misc + 1, timeout), "after %s: no command interrupt",
	      after);
	clear_intcause();
	fw_udelay(5000);
	CHECK(fw_irq_count(VEC_MISC) == misc + 1 && fw_irq_count(VEC_COMPLETE) == complete + 1,
	      "after %s: %u command and %u completion interrupts for one each", after,
	      fw_irq_count(VEC_MISC) - misc, fw_irq_count(VEC_COMPLETE) - complete);
	CHECK(!fw_msix_pending(&dsa.msix, 0) && !fw_msix_pending(&dsa.msix, 1),
	      "after %s: delivered vectors left pending", after);
	fw_irq_restore(irqs);
}

TEST(baseline)
{
	NEED_DEVICE();
	check_device_works("setup");
}

/* ---- config space ---- */

static uint64_t ecam(unsigned offset)
{
	return (uint64_t)(uintptr_t)fw_pci_ecam_ptr(bdf(), 0) + offset;
}

TEST(config_writes_of_every_size_at_every_offset)
{
	static const uint32_t patterns[] = { 0xffffffffu, 0, 0xa5a5a5a5u, 0x5a5a5a5au };
	static const unsigned sizes[] = { 1, 2, 4 };
	uint32_t saved[64];
	unsigned bad_reads = 0;

	NEED_DEVICE();
	for (unsigned i = 0; i < 64; i++)
		saved[i] = fw_pci_read32(bdf(), 4 * i);
	/* The header, dword by dword: garbage of every size at each of its four
	 * bytes (the unaligned ones straddle into the next dword), then the
	 * dword put back before the next one is hit, so a BAR or COMMAND never
	 * stays garbage while another register is abused. */
	for (unsigned dword = 0; dword < 64; dword++) {
		for (unsigned byte = 0; byte < 4; byte++) {
			for (unsigned s = 0; s < 3; s++) {
				for (unsigned p = 0; p < 5; p++) {
					uint32_t v = p < 4 ? patterns[p] : rnd();

					mmio_write_sized(ecam(4 * dword + byte), sizes[s], v);
				}
				(void)mmio_read_sized(ecam(4 * dword + byte), sizes[s]);
			}
		}
		fw_pci_write32(bdf(), 4 * dword, saved[dword]);
		if (dword < 63)
			fw_pci_write32(bdf(), 4 * dword + 4, saved[dword + 1]);
	}
	/* Garbage in the PCIe capability's DEVCTL sets Initiate FLR (the
	 * simulated DSA has FLR): the function was reset, over and over, as
	 * hardware would be: COMMAND, BARs and MSI-X (restored above before the
	 * last reset) and the DSA itself. A driver puts back the header it
	 * saved, COMMAND last, and sets the device up again (below). */
	CHECK((fw_pci_read16(bdf(), FW_PCI_COMMAND) & FW_PCI_COMMAND_MEMORY) == 0,
	      "DEVCTL garbage did not reset the function");
	for (unsigned i = 2; i < 64; i++)
		fw_pci_write32(bdf(), 4 * i, saved[i]);
	fw_pci_write32(bdf(), FW_PCI_COMMAND, saved[1]);
	/* Extended space (0x100-0xfff): nothing there, whatever is written;
	 * aligned reads are 0, misaligned ones all-ones. The last bytes of the
	 * page straddle into the next function's config space. */
	for (unsigned off = 0x100; off < 0x1000; off++) {
		for (unsigned s = 0; s < 3; s++) {
			mmio_write_sized(ecam(off), sizes[s], rnd());
			if (off + sizes[s] > 0x1000)
				continue;
			uint64_t want = off % sizes[s] ? mmio_ones(sizes[s]) : 0;

			bad_reads += mmio_read_sized(ecam(off), sizes[s]) != want;
		}
	}
	CHECK(bad_reads == 0, "%u extended-space reads were not 0 (aligned) / all-ones", bad_reads);
	/* Misaligned header reads are all-ones too, and nothing moved. */
	CHECK_EQ(mmio_read_sized(ecam(FW_PCI_VENDOR_ID + 1), 2), 0xffff);
	CHECK_EQ(mmio_read_sized(ecam(FW_PCI_BAR0 + 2), 4), 0xffffffffu);
	for (unsigned i = 0; i < 64; i++) {
		uint32_t now = fw_pci_read32(bdf(), 4 * i);

		if (i == 1) /* STATUS error bits are write-1-to-clear: compare COMMAND */
			CHECK((now & 0xffff) == (saved[i] & 0xffff), "COMMAND %#x, was %#x",
			      now & 0xffff, saved[i] & 0xffff);
		else
			CHECK(now == saved[i], "config dword %#x reads %#x, was %#x", 4 * i, now,
			      saved[i]);
	}
	refresh_pointers();
	CHECK(fw_dsa_init(&dsa, DSA_OPS_IMPLEMENTED) == 0, "DSA init after the resets failed");
	fw_dsa_msix(&dsa, 0, VEC_MISC);
	fw_dsa_msix(&dsa, 1, VEC_COMPLETE);
	check_device_works("config garbage");
}

/* ---- BARs where they must not be ---- */

/* RAM under a BAR stays RAM: what was there reads back, and writes stay RAM. */
static void check_ram_stays_ram(const char *what)
{
	volatile uint32_t *ram = (volatile uint32_t *)ram_area;
	unsigned wrong = 0;

	for (unsigned i = 0; i < sizeof(ram_area) / 4; i += 61)
		wrong += ram[i] != (0x12340000u | i);
	for (unsigned i = 0; i < sizeof(ram_area) / 4; i += 61)
		ram[i] = ~(0x12340000u | i);
	for (unsigned i = 0; i < sizeof(ram_area) / 4; i += 61)
		wrong += ram[i] != ~(0x12340000u | i);
	for (unsigned i = 0; i < sizeof(ram_area) / 4; i += 61)
		ram[i] = 0x12340000u | i;
	CHECK(wrong == 0, "%s over RAM: %u RAM words wrong", what, wrong);
}

/* The LAPIC (and the IOAPIC, when there is one) still answer under a BAR. */
static void check_interrupt_controllers(const char *what, uint32_t ioapic_version)
{
	uint32_t before = fw_irq_count(VEC_IPI);

	CHECK(fw_lapic_id() == fw_this_cpu()->apic_id, "%s on the LAPIC: ID reads %#x", what,
	      fw_lapic_id());
	fw_lapic_self_ipi(VEC_IPI);
	CHECK(fw_irq_wait_count(VEC_IPI, before + 1, timeout), "%s on the LAPIC: self-IPI lost",
	      what);
	if (ioapic_version) {
		mmio_write_sized(IOAPIC_BASE, 4, 1); /* IOREGSEL: the version register */
		CHECK(mmio_read_sized(IOAPIC_BASE + 0x10, 4) == ioapic_version,
		      "%s on the IOAPIC: version reads %#llx", what,
		      (unsigned long long)mmio_read_sized(IOAPIC_BASE + 0x10, 4));
	}
}

static uint32_t read_ioapic_version(void)
{
	mmio_write_sized(IOAPIC_BASE, 4, 1);
	uint32_t v = (uint32_t)mmio_read_sized(IOAPIC_BASE + 0x10, 4);

	return v == 0xffffffffu ? 0 : v;
}

/* One BAR at a forbidden address: the things that live there still work. */
static void bar_over(unsigned index, uint64_t where, const char *what, uint32_t ioapic_version)
{
	fw_pci_set_bar(dsa.pci, index, where);
	if (where == (uint64_t)(uintptr_t)ram_area)
		check_ram_stays_ram(what);
	else if (where == FW_LAPIC_BASE || where == IOAPIC_BASE)
		check_interrupt_controllers(what, ioapic_version);
	else if (where == ECAM_BASE)
		CHECK(fw_pci_read16(bdf(), FW_PCI_DEVICE_ID) == 0x0b25, "%s on ECAM: config lost",
		      what);
	restore_bars();
	CHECK(fw_dsa_read32(&dsa, DSA_REG_VERSION) == 0x100, "back from %s: VERSION %#x", what,
	      fw_dsa_read32(&dsa, DSA_REG_VERSION));
	if (mmapped && index == DSA_WQ_BAR)
		CHECK(portal_is_memslot(), "back from %s: BAR2 not a memslot", what);
}

TEST(bars_over_ram_interrupt_controllers_and_ecam)
{
	uint32_t ioapic_version;

	NEED_DEVICE();
	for (unsigned i = 0; i < sizeof(ram_area) / 4; i += 61)
		((volatile uint32_t *)ram_area)[i] = 0x12340000u | i;
	fw_lapic_init_cpu();
	fw_irq_enable();
	ioapic_version = read_ioapic_version();
	diag("IOAPIC version %#x", ioapic_version);
	for (unsigned index = 0; index <= 2; index += 2) {
		const char *name = index ? "BAR2 (memslot)" : "BAR0 (trapped)";

		bar_over(index, (uint64_t)(uintptr_t)ram_area, name, 0);
		bar_over(index, 0, name, 0);
		bar_over(index, 0x200000, name, 0); /* the image itself: its code keeps running */
		bar_over(index, FW_LAPIC_BASE, name, ioapic_version);
		bar_over(index, IOAPIC_BASE, name, ioapic_version);
		bar_over(index, ECAM_BASE, name, 0);
		bar_over(index, 0xf0000000ull, name, 0);       /* platform devices' area */
		bar_over(index, 0x100000000ull - BAR0_SIZE, name, 0); /* the top of 4 GiB */
	}
	fw_irq_disable();
	check_device_works("BARs over RAM, APIC, IOAPIC, ECAM");
}

TEST(bar_over_another_bar)
{
	uint32_t entry0[4];

	NEED_DEVICE();
	for (unsigned w = 0; w < 4; w++)
		entry0[w] = fw_msix_entry(&dsa.msix, 0, w);
	/* BAR2 (a memslot) laid over BAR0's first 16 KiB: its registers, the
	 * MSI-X table and the PBA. Overlapping BARs decode as the PCI host
	 * says (and logs): the lowest BAR wins, so BAR0's registers and its
	 * virtual MSI-X table still answer there, never the portal's memory. */
	fw_pci_set_bar(dsa.pci, DSA_WQ_BAR, bar0);
	CHECK_EQ(mmio_read_sized(bar0 + DSA_REG_VERSION, 4), 0x100);
	for (unsigned w = 0; w < 4; w++)
		CHECK(fw_msix_entry(&dsa.msix, 0, w) == entry0[w], "MSI-X entry 0 word %u reads %#x "
		      "under BAR2, was %#x", w, fw_msix_entry(&dsa.msix, 0, w), entry0[w]);
	CHECK(!fw_msix_pending(&dsa.msix, 0), "PBA under BAR2 reads pending");
	/* Back in place BAR2 is a memslot again. */
	fw_pci_set_bar(dsa.pci, DSA_WQ_BAR, bar2);
	if (mmapped)
		CHECK(portal_is_memslot(), "BAR2 back from over BAR0 is not a memslot");
	/* BAR0 over BAR2 (BAR0 still wins: it is the lower BAR), and a swap. */
	fw_pci_set_bar(dsa.pci, DSA_MMIO_BAR, bar2 & ~(BAR0_SIZE - 1));
	CHECK_EQ(mmio_read_sized((bar2 & ~(BAR0_SIZE - 1)) + DSA_REG_VERSION, 4), 0x100);
	fw_pci_set_bar(dsa.pci, DSA_WQ_BAR, bar0);
	CHECK_EQ(mmio_read_sized((bar2 & ~(BAR0_SIZE - 1)) + DSA_REG_VERSION, 4), 0x100);
	if (mmapped) {
		refresh_pointers();
		CHECK(portal_is_memslot(), "BAR2 alone at BAR0's old place is not a memslot");
	}
	restore_bars();
	for (unsigned w = 0; w < 4; w++)
		CHECK_EQ(fw_msix_entry(&dsa.msix, 0, w), entry0[w]);
	check_device_works("BAR over BAR");
}

static void set_bar_high(unsigned index, uint32_t high)
{
	fw_pci_write32(bdf(), FW_PCI_BAR0 + 4 * index + 4, high);
}

/*
 * Whether the BAR still decodes at its own (below 4 GiB) address: BAR0's
 * VERSION answers; BAR2's mapped portal keeps a store (with a trapped
 * portal a read cannot tell, so it is not asked).
 */
static bool decodes_at_home(unsigned index)
{
	if (index == DSA_MMIO_BAR)
		return mmio_read_sized(bar0 + DSA_REG_VERSION, 4) == 0x100;
	return portal_is_memslot();
}

TEST(bar_high_halves_and_sizing)
{
	static const uint32_t highs[] = { 1, 0x80000000u, 0xffffffffu };

	NEED_DEVICE();
	for (unsigned index = 0; index <= 2; index += 2) {
		bool observable = index == DSA_MMIO_BAR || mmapped;

		for (unsigned h = 0; h < 3; h++) {
			/* Above 4 GiB (high:low), outside the window: no memslot, no decode. */
			set_bar_high(index, highs[h]);
			CHECK(!observable || !decodes_at_home(index), "BAR%u at %#x_%08llx still "
			      "decodes below 4 GiB", index, highs[h],
			      (unsigned long long)(index ? bar2 : bar0));
			set_bar_high(index, 0);
			CHECK(!observable || decodes_at_home(index), "BAR%u back below 4 GiB does "
			      "not decode", index);
		}
		/* Sizing, as an OS does it, but with decoding left on. */
		fw_pci_write32(bdf(), FW_PCI_BAR0 + 4 * index, 0xffffffffu);
		set_bar_high(index, 0xffffffffu);
		CHECK(!observable || !decodes_at_home(index), "BAR%u decodes while being sized",
		      index);
		restore_bars();
	}
	check_device_works("64-bit high halves and sizing");
}

TEST(thousands_of_bar_moves)
{
	unsigned moves = 0;

	NEED_DEVICE();
	/* BAR2 (memslots) all over the window, out of it, above 4 GiB, with
	 * decoding toggled: each move drops and adds memslots. 32 of them exist
	 * in all, so one leaked per move would end mapping within the first
	 * few dozen. */
	for (unsigned i = 0; i < 4000; i++) {
		uint64_t to = WINDOW_BASE + 0x1000000 + (uint64_t)(i % 509) * bar2_size;

		if (i % 7 == 3)
			to = 0xf0000000ull + (i % 5) * bar2_size;        /* out of the window */
		else if (i % 11 == 5)
			to |= (uint64_t)(i % 3 + 1) << 32;               /* above 4 GiB */
		fw_pci_set_bar(dsa.pci, DSA_WQ_BAR, to);
		if (i % 13 == 0) {
			fw_pci_command(bdf(), 0, FW_PCI_COMMAND_MEMORY);
			fw_pci_command(bdf(), FW_PCI_COMMAND_MEMORY, 0);
		}
		moves++;
	}
	/* BAR0 (trapped, the MSI-X table) a thousand times. */
	for (unsigned i = 0; i < 1000; i++)
		fw_pci_set_bar(dsa.pci, DSA_MMIO_BAR, WINDOW_BASE + 0x8000000 +
			       (uint64_t)(i % 97) * BAR0_SIZE);
	restore_bars();
	diag("%u BAR2 moves, 1000 BAR0 moves", moves);
	/* The portal is a memslot again and carries a stream of submissions. */
	for (unsigned i = 0; i < 64; i++)
		if (!CHECK(memmove_once(RECORD) == DSA_COMP_SUCCESS, "memmove %u after the moves", i))
			break;
	CHECK_EQ(fw_msix_entry(&dsa.msix, 0, 2), VEC_MISC);
	check_device_works("thousands of BAR moves");
}

/* ---- MSI-X ---- */

TEST(msix_enable_and_mask_storms)
{
	NEED_DEVICE();
	/* Every storm is a SET_IRQS (or several) per write on the host: none
	 * may leak an eventfd or leave a vector on the wrong one. */
	for (unsigned i = 0; i < 2000; i++)
		fw_msix_enable(&dsa.msix, i % 2);
	fw_msix_enable(&dsa.msix, true);
	for (unsigned i = 0; i < 2000; i++)
		fw_msix_function_mask(&dsa.msix, !(i % 2));
	fw_msix_function_mask(&dsa.msix, false);
	for (unsigned i = 0; i < 4000; i++)
		fw_msix_mask(&dsa.msix, i % dsa.msix.size, rnd() % 2);
	/* Both Message Control bits at once, and garbage in the rest of it. */
	for (unsigned i = 0; i < 500; i++)
		fw_pci_write16(bdf(), dsa.msix.cap + FW_PCI_MSIX_FLAGS, (uint16_t)rnd());
	for (unsigned v = 0; v < dsa.msix.size; v++)
		fw_msix_mask(&dsa.msix, v, true);
	fw_msix_enable(&dsa.msix, true);
	fw_msix_function_mask(&dsa.msix, false);
	fw_msix_set(&dsa.msix, 0, fw_lapic_id(), VEC_MISC, false);
	fw_msix_set(&dsa.msix, 1, fw_lapic_id(), VEC_COMPLETE, false);

	/* Interrupts raised while a storm of masks goes on: never more than raised. */
	fw_irq_enable();
	uint32_t before = fw_irq_count(VEC_MISC);
	unsigned raised = 0;

	for (unsigned i = 0; i < 50; i++) {
		fw_msix_mask(&dsa.msix, 0, i % 2);
		if (command_with_interrupt() == 0)
			raised++;
		fw_msix_function_mask(&dsa.msix, i % 3 == 0);
		fw_msix_function_mask(&dsa.msix, false);
	}
	fw_msix_mask(&dsa.msix, 0, false);
	fw_udelay(20000);
	CHECK(fw_irq_count(VEC_MISC) - before <= raised, "%u interrupts for %u raised",
	      fw_irq_count(VEC_MISC) - before, raised);
	CHECK(fw_irq_count(VEC_MISC) - before >= 1, "no interrupt through the storm");
	fw_irq_disable();
	clear_intcause();
	check_device_works("MSI-X storms");
}

TEST(msix_to_non_interrupt_addresses_is_dropped)
{
	static volatile uint32_t target[16] __attribute__((aligned(64)));
	const uint64_t addresses[] = {
		0,                                  /* never programmed */
		(uint64_t)(uintptr_t)target,        /* RAM: a DMA write, not an interrupt */
		0xfef00000u,                        /* just past the interrupt range */
		0xfedff000u,                        /* just before it */
		ECAM_BASE,
		bar0 + TABLE_OFFSET,                /* the device's own MSI-X table */
		0x1fee00000ull,                     /* the interrupt range + 4 GiB */
		0xfffffffffee00000ull,
	};

	NEED_DEVICE();
	target[0] = 0xabcdef01u;
	fw_irq_enable();
	for (unsigned a = 0; a < sizeof(addresses) / sizeof(addresses[0]); a++) {
		/* Aimed at the wild address with the vector's data, unmasked. */
		fw_msix_set_raw(&dsa.msix, 0, addresses[a], VEC_MISC, 0);
		snapshot_counts();
		CHECK(command_with_interrupt() == 0, "command with the vector at %#llx",
		      (unsigned long long)addresses[a]);
		fw_udelay(10000);
		CHECK(delivered_since_snapshot() == 0, "vector aimed at %#llx delivered %u "
		      "interrupt(s)", (unsigned long long)addresses[a], delivered_since_snapshot());
		CHECK(!fw_msix_pending(&dsa.msix, 0), "dropped message left pending (%#llx)",
		      (unsigned long long)addresses[a]);
		clear_intcause();
		/* Back to a real address: the dropped message does not turn up late,
		 * and the next one arrives exactly once. */
		fw_msix_set(&dsa.msix, 0, fw_lapic_id(), VEC_MISC, false);
		fw_udelay(5000);
		CHECK(delivered_since_snapshot() == 0, "%#llx: a dropped message arrived once the "
		      "address was fixed", (unsigned long long)addresses[a]);
		uint32_t before = fw_irq_count(VEC_MISC);

		CHECK(command_with_interrupt() == 0, "command after %#llx",
		      (unsigned long long)addresses[a]);
		CHECK(fw_irq_wait_count(VEC_MISC, before + 1, timeout), "no interrupt after %#llx",
		      (unsigned long long)addresses[a]);
		fw_udelay(5000);
		CHECK(fw_irq_count(VEC_MISC) == before + 1, "after %#llx: %u interrupts for one",
		      (unsigned long long)addresses[a], fw_irq_count(VEC_MISC) - before);
		clear_intcause();
	}
	fw_irq_disable();
	CHECK_EQ(target[0], 0xabcdef01u);
	CHECK_EQ(target[1], 0);
	/* Reserved upper data bits with a fixed-mode vector: delivered as that vector. */
	uint32_t before = fw_irq_count(VEC_MISC);

	fw_msix_set_raw(&dsa.msix, 0, fw_msi_address(fw_lapic_id()), 0xffff0000u | VEC_MISC, 0);
	CHECK(command_with_interrupt() == 0, "command with reserved data bits");
	CHECK(fw_irq_wait_count(VEC_MISC, before + 1, timeout), "reserved data bits: not delivered");
	clear_intcause();
	fw_msix_set(&dsa.msix, 0, fw_lapic_id(), VEC_MISC, false);
	check_device_works("MSI-X to non-interrupt addresses");
}

/* ---- trapped BAR0, the ends of BARs, 64-byte stores ---- */

TEST(odd_accesses_to_the_trapped_bar)
{
	uint64_t regs = bar0, table = bar0 + TABLE_OFFSET, pba = bar0 + PBA_OFFSET;
	uint32_t entry[4], version = fw_dsa_read32(&dsa, DSA_REG_VERSION);
	uint64_t gencap = fw_dsa_read64(&dsa, DSA_REG_GENCAP);
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	static uint8_t junk[64] __attribute__((aligned(64)));

	NEED_DEVICE();
	for (unsigned w = 0; w < 4; w++)
		entry[w] = fw_msix_entry(&dsa.msix, 1, w);
	/* Every size at every offset of the read-only capability registers
	 * (0x00-0x3f), read and written: writes there change nothing on a DSA. */
	for (unsigned off = 0; off < 0x38; off++) {
		for (unsigned s = 0; s < 4; s++) {
			(void)mmio_read_sized(regs + off, sizes[s]);
			mmio_write_sized(regs + off, sizes[s], ~0ull);
		}
	}
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), version);
	CHECK_EQ(fw_dsa_read64(&dsa, DSA_REG_GENCAP), gencap);
	/* The virtual MSI-X table: only aligned dwords and qwords count. Bytes,
	 * words, misaligned and straddling accesses read all-ones and are dropped. */
	for (unsigned off = 0; off < 32; off++) {
		for (unsigned s = 0; s < 4; s++) {
			bool valid = (sizes[s] == 4 || sizes[s] == 8) && off % sizes[s] == 0;

			if (!valid)
				CHECK(mmio_read_sized(table + 16 + off, sizes[s]) == mmio_ones(sizes[s]),
				      "table +%#x size %u reads data", 16 + off, sizes[s]);
			if (!valid)
				mmio_write_sized(table + 16 + off, sizes[s], 0);
		}
	}
	for (unsigned w = 0; w < 4; w++)
		CHECK_EQ(fw_msix_entry(&dsa.msix, 1, w), entry[w]);
	/* Straddling the table's end (its start is a page boundary, where the
	 * CPU splits an access in two), into the PBA, past the PBA. */
	CHECK_EQ(mmio_read_sized(table + 16 * dsa.msix.size - 4, 8), ~0ull);
	mmio_write_sized(table + 16 * dsa.msix.size - 4, 8, 0);
	CHECK_EQ(fw_msix_entry(&dsa.msix, dsa.msix.size - 1, 3) & 1, 1); /* still masked */
	for (unsigned off = 0; off < 16; off++)
		mmio_write_sized(pba + off, sizes[off % 4], ~0ull); /* read-only */
	CHECK(!fw_msix_pending(&dsa.msix, 0) && !fw_msix_pending(&dsa.msix, 1),
	      "PBA writes set pending bits");
	(void)mmio_read_sized(pba + 8, 8);
	(void)mmio_read_sized(pba + 0x7fc, 8);
	/* The last bytes of each BAR, and accesses straddling their ends (into
	 * the next BAR or into nothing). */
	for (unsigned s = 0; s < 4; s++) {
		(void)mmio_read_sized(bar0 + BAR0_SIZE - sizes[s], sizes[s]);
		(void)mmio_read_sized(bar0 + BAR0_SIZE - sizes[s] / 2, sizes[s]);
		(void)mmio_read_sized(bar2 + bar2_size - sizes[s] / 2, sizes[s]);
		mmio_write_sized(bar2 + bar2_size - sizes[s] / 2, sizes[s], ~0ull);
	}
	/* Past the end of BAR2 nothing answers; writes go nowhere. */
	CHECK_EQ(mmio_read_sized(bar2 + bar2_size, 4), 0xffffffffu);
	CHECK_EQ(mmio_read_sized(bar2 + bar2_size + 0x1000, 8), ~0ull);
	mmio_write_sized(bar2 + bar2_size + 0x40, 8, 0);
	/* 64-byte stores where they do not belong: onto the MSI-X table,
	 * into the registers, onto nothing in the window. */
	memset(junk, 0xee, sizeof(junk));
	movdir64b(table, junk);
	movdir64b(table + 64, junk);
	movdir64b(bar2 + bar2_size, junk);
	movdir64b(WINDOW_END - 64, junk);
	for (unsigned w = 0; w < 4; w++)
		CHECK_EQ(fw_msix_entry(&dsa.msix, 1, w), entry[w]);
	CHECK_EQ(fw_dsa_read32(&dsa, DSA_REG_VERSION), version);
	check_device_works("odd accesses");
}

TEST(memory_decoding_off)
{
	uint32_t entry[4];

	NEED_DEVICE();
	for (unsigned w = 0; w < 4; w++)
		entry[w] = fw_msix_entry(&dsa.msix, 1, w);
	struct dsa_hw_desc d = memmove_desc(RECORD);

	memmove_prepare(0x42);
	fw_pci_command(bdf(), 0, FW_PCI_COMMAND_MEMORY);
	/* Nothing answers and nothing reaches the device: not the registers,
	 * not the virtual MSI-X table, not a submission to the portal. */
	CHECK_EQ(mmio_read_sized(bar0 + DSA_REG_VERSION, 4), 0xffffffffu);
	CHECK_EQ(mmio_read_sized(bar0 + TABLE_OFFSET + 16, 8), ~0ull);
	mmio_write_sized(bar0 + TABLE_OFFSET + 16, 8, 0x1234);
	mmio_write_sized(bar0 + TABLE_OFFSET + 28, 4, 0);
	CHECK_EQ(mmio_read_sized(bar2, 8), ~0ull);
	movdir64b(bar2, &d);
	movdir64b(bar2 + 64, &d);
	fw_udelay(20000);
	CHECK(record.status == 0, "a submission with memory decoding off ran (status %#x)",
	      record.status);
	fw_pci_command(bdf(), FW_PCI_COMMAND_MEMORY, 0);
	for (unsigned w = 0; w < 4; w++)
		CHECK_EQ(fw_msix_entry(&dsa.msix, 1, w), entry[w]);
	fw_udelay(20000);
	CHECK(record.status == 0, "a submission made with decoding off ran later (status %#x)",
	      record.status);
	check_device_works("memory decoding off");
}
