// SPDX-License-Identifier: MIT
/*
 * Guest test `vfio-platform-hostile` (configs/platform-vfio-hostile*.toml):
 * a guest that treats the passed-through platform device
 * (tests/vfio-sim/dev_platform.c, docs/devices/vfio-platform.md) as badly as
 * it can, then checks that it still works. The VMM must neither crash, hang
 * nor misdeliver:
 *
 *  - every access size (1, 2, 4, 8) at every offset of the register region,
 *    aligned or not, reads and writes: only aligned 4-byte accesses reach
 *    registers (the device refuses the rest: reads all ones, writes dropped);
 *    accesses straddling the register window and the SRAM's, and past the
 *    last region (nothing there: all ones, dropped);
 *  - writes to the read-only registers change nothing;
 *  - MOVDIR64B onto the registers (refused by the device: nothing changes),
 *    past the last region (dropped), and onto the SRAM, where it must land
 *    whether the SRAM is mapped or trapped (the VMM forwards 64-byte stores
 *    to trapped regions);
 *  - interrupt storms: RAISE/ACK thousands of times with the pin programmed
 *    edge and then level; after each, once the line settles, one event is
 *    exactly one interrupt;
 *  - finally the device is sane: identity, scratch, SRAM and its SUM, one
 *    interrupt delivered once.
 */
#include <string.h>

#include "fw/apic.h"
#include "fw/fdt.h"
#include "fw/irq.h"
#include "fw/io.h"
#include "fw/test.h"
#include "fw/tsc.h"

const char *test_image_name = "vfio-platform-hostile";

#define COMPATIBLE   "vmm,test-platform"
#define REG_ID       0x00
#define REG_VERSION  0x04
#define REG_SCRATCH  0x08
#define REG_STATUS   0x0c
#define REG_RAISE    0x10
#define REG_ACK      0x14
#define REG_COUNT    0x18
#define REG_SUM      0x1c
#define DEVICE_ID    0x564d5054u
#define VERSION      0x00010000u
#define IOAPIC_BASE  0xfec00000ul
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))
#define RTE_LEVEL    (1u << 15)
#define RTE_MASKED   (1u << 16)
#define VEC_EDGE     0x61
#define VEC_LEVEL    0x62
#define WAIT_US      1000000
#define QUIET_US     20000
#define STORM        3000

static struct {
	bool found;
	uint64_t regs, regs_size, sram, sram_size;
	int pin;
} dev;

static volatile uint32_t *reg(unsigned off)
{
	return (volatile uint32_t *)(uintptr_t)(dev.regs + off);
}





static void ioapic_write(unsigned index, uint32_t value)
{
	*(volatile uint32_t *)IOAPIC_BASE = index;
	*(volatile uint32_t *)(IOAPIC_BASE + 0x10) = value;
}

static void route(unsigned vector, bool level)
{
	ioapic_write(IOAPIC_REDIR(dev.pin) + 1, fw_lapic_id() << 24);
	ioapic_write(IOAPIC_REDIR(dev.pin), vector | (level ? RTE_LEVEL : 0));
}

static void mask(void)
{
	ioapic_write(IOAPIC_REDIR(dev.pin), RTE_MASKED);
}

static void spin_us(unsigned us)
{
	uint64_t end = rdtsc() + fw_tsc_from_us(us);

	while (rdtsc() < end)
		cpu_relax();
}

/* Wait until `vector`'s count stops moving for QUIET_US; returns it. */
static uint32_t settle(unsigned vector)
{
	uint32_t last;

	do {
		last = fw_irq_count(vector);
		spin_us(QUIET_US);
	} while (fw_irq_count(vector) != last);
	return last;
}

void test_setup(void)
{
	struct fw_fdt_reg r0, r1;
	int len = 0;
	int node = fw_fdt_find_compatible(-1, COMPATIBLE);

	if (node < 0 || fw_fdt_read_reg(node, 0, &r0) || fw_fdt_read_reg(node, 1, &r1))
		return;
	const fdt32_t *irq = fdt_getprop(fw_fdt(), node, "interrupts", &len);

	dev.regs = r0.addr;
	dev.regs_size = r0.size;
	dev.sram = r1.addr;
	dev.sram_size = r1.size;
	dev.pin = irq && len == 8 ? (int)fdt32_to_cpu(irq[0]) : -1;
	dev.found = dev.regs_size == 0x1000 && dev.sram == dev.regs + 0x1000;
	diag("registers at %#llx, SRAM at %#llx (%#llx bytes), pin %d",
	     (unsigned long long)dev.regs, (unsigned long long)dev.sram,
	     (unsigned long long)dev.sram_size, dev.pin);
}

#define NEED_DEVICE() REQUIRE(dev.found, "no " COMPATIBLE " node laid out as expected")

/* The registers hold what they held: nothing hostile got through. */
static void check_registers(uint32_t scratch, uint32_t count)
{
	CHECK_EQ(*reg(REG_ID), DEVICE_ID);
	CHECK_EQ(*reg(REG_VERSION), VERSION);
	CHECK_EQ(*reg(REG_SCRATCH), scratch);
	CHECK_EQ(*reg(REG_STATUS), 0);
	CHECK_EQ(*reg(REG_COUNT), count);
}

/* Reads of every size at every offset of the register window. */
TEST(reads_every_size_every_offset)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned wrong = 0, first_off = 0, first_size = 0;

	NEED_DEVICE();
	*reg(REG_SCRATCH) = 0x5ca1ab1e;
	uint32_t count = *reg(REG_COUNT);

	for (unsigned s = 0; s < 4; s++) {
		unsigned size = sizes[s];

		/* Up to the window's end: the last ones straddle into the SRAM's window. */
		for (unsigned off = 0; off + size <= dev.regs_size; off++) {
			uint64_t v = mmio_read_sized(dev.regs + off, size), want;

			if (size != 4 || off % 4)
				want = mmio_ones(size);  /* refused by the device */
			else if (off == REG_ID)
				want = DEVICE_ID;
			else if (off == REG_VERSION)
				want = VERSION;
			else if (off == REG_SCRATCH)
				want = 0x5ca1ab1e;
			else if (off == REG_COUNT)
				want = count;
			else if (off == REG_SUM)
				continue;           /* whatever the SRAM holds */
			else
				want = 0;
			if (v != want && !wrong++) {
				first_off = off;
				first_size = size;
			}
		}
	}
	CHECK(!wrong, "%u reads wrong, first: %u bytes at %#x", wrong, first_size, first_off);
	check_registers(0x5ca1ab1e, count);
}

/* Straddling the two windows and beyond the last region: nothing crashes. */
TEST(straddling_and_beyond_the_last_region)
{
	uint64_t end = 0;
	unsigned wrong = 0;

	NEED_DEVICE();
	end = dev.sram + dev.sram_size;
	uint32_t count = *reg(REG_COUNT), scratch = *reg(REG_SCRATCH);

	/* Across the register/SRAM boundary: two bus regions, never one access. */
	for (unsigned size = 2; size <= 8; size *= 2)
		for (unsigned back = 1; back < size; back++) {
			(void)mmio_read_sized(dev.regs + dev.regs_size - back, size);
			mmio_write_sized(dev.regs + dev.regs_size - back, size, ~0ull);
		}
	/* Past the last region: no device, reads all ones, writes go nowhere. */
	for (unsigned size = 1; size <= 8; size *= 2)
		for (unsigned off = 0; off < 64; off++) {
			wrong += mmio_read_sized(end + off, size) != mmio_ones(size);
			mmio_write_sized(end + off, size, 0x1122334455667788ull);
			wrong += mmio_read_sized(end + off, size) != mmio_ones(size);
		}
	CHECK(!wrong, "%u reads past the last region were not all ones", wrong);
	/* Straddling the SRAM's end: half device, half nothing. */
	for (unsigned size = 2; size <= 8; size *= 2)
		for (unsigned back = 1; back < size; back++)
			(void)mmio_read_sized(end - back, size);
	check_registers(scratch, count);
}

/* Writes of every size at every offset, none of which may do anything. */
TEST(writes_every_size_every_offset_and_read_only_registers)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	NEED_DEVICE();
	mask();
	*reg(REG_SCRATCH) = 0x600dcafe;
	uint32_t count = *reg(REG_COUNT);

	for (unsigned s = 0; s < 4; s++)
		for (unsigned off = 0; off + sizes[s] <= dev.regs_size; off++) {
			/* Aligned dwords are real register writes: keep them harmless. */
			if (sizes[s] == 4 && off % 4 == 0 &&
			    (off == REG_SCRATCH || off == REG_RAISE))
				continue;
			mmio_write_sized(dev.regs + off, sizes[s], ~0ull);
		}
	/* Read-only registers ignore writes. */
	*reg(REG_ID) = 0;
	*reg(REG_VERSION) = 0;
	*reg(REG_STATUS) = 1;
	*reg(REG_COUNT) = 0;
	*reg(REG_SUM) = 0;
	check_registers(0x600dcafe, count);
}

/* 64-byte stores: onto the registers, past the end, onto the SRAM. */
TEST(movdir64b_onto_the_device)
{
	static uint8_t junk[64] __attribute__((aligned(64)));
	static uint32_t words[16] __attribute__((aligned(64)));
	volatile uint32_t *sram = NULL;

	uint32_t a, b, c, d;

	NEED_DEVICE();
	cpuid(7, 0, &a, &b, &c, &d);
	if (!(c & (1u << 28)))
		SKIP("no MOVDIR64B (CPUID.7.0:ECX[28])");
	sram = (volatile uint32_t *)(uintptr_t)dev.sram;
	uint32_t count = *reg(REG_COUNT), scratch = *reg(REG_SCRATCH);

	memset(junk, 0xff, sizeof(junk));
	for (unsigned off = 0; off < dev.regs_size; off += 64)
		movdir64b(dev.regs + off, junk);       /* the device takes dwords only */
	movdir64b(dev.sram + dev.sram_size, junk);    /* nothing there */
	movdir64b(dev.sram + dev.sram_size + 0x1000 - 64, junk);
	check_registers(scratch, count);

	/* Onto the SRAM: the same bytes the device then holds, mapped or trapped. */
	for (unsigned i = 0; i < dev.sram_size / 4; i++)
		sram[i] = 0;
	uint32_t sum = 0;

	for (unsigned i = 0; i < 16; i++) {
		words[i] = 0x01010101u * (i + 1);
		sum += words[i];
	}
	movdir64b(dev.sram + 0x40, words);
	__asm__ volatile("sfence" ::: "memory");
	CHECK_EQ(sram[0x40 / 4], words[0]);
	CHECK_EQ(sram[0x40 / 4 + 15], words[15]);
	CHECK_EQ(*reg(REG_SUM), sum);
}

/* RAISE/ACK storm with the pin edge-programmed and interrupts on. */
TEST(edge_storm_then_exactly_once)
{
	NEED_DEVICE();
	REQUIRE(dev.pin >= 0, "no interrupt");
	uint32_t raised = *reg(REG_COUNT);

	route(VEC_EDGE, false);
	fw_irq_enable();
	uint32_t before = fw_irq_count(VEC_EDGE);

	for (unsigned i = 0; i < STORM; i++) {
		*reg(REG_RAISE) = 1;
		*reg(REG_ACK) = 1;
	}
	uint32_t during = settle(VEC_EDGE) - before;

	/* Each interrupt is one event: never more than the raises. */
	CHECK(during <= STORM, "%u interrupts for %u events", during, STORM);
	CHECK_EQ(*reg(REG_COUNT), raised + STORM);
	CHECK_EQ(*reg(REG_STATUS), 0);
	diag("edge storm: %u events, %u interrupts", STORM, during);
	/* Settled: one event, one interrupt, for a few rounds. */
	for (unsigned round = 0; round < 5; round++) {
		uint32_t n = fw_irq_count(VEC_EDGE);

		*reg(REG_RAISE) = 1;
		if (!CHECK(fw_irq_wait_count(VEC_EDGE, n + 1, fw_tsc_from_us(WAIT_US)),
			   "round %u: interrupt lost after the storm", round))
			break;
		spin_us(QUIET_US);
		CHECK_EQ(fw_irq_count(VEC_EDGE), n + 1);
		*reg(REG_ACK) = 1;
		spin_us(QUIET_US);
		CHECK_EQ(fw_irq_count(VEC_EDGE), n + 1);
	}
	fw_irq_disable();
	mask();
}

/* The same storm with the pin level-programmed (resampled at each EOI). */
TEST(level_storm_then_exactly_once)
{
	NEED_DEVICE();
	REQUIRE(dev.pin >= 0, "no interrupt");
	uint32_t raised = *reg(REG_COUNT);

	route(VEC_LEVEL, true);
	fw_irq_enable();
	uint32_t before = fw_irq_count(VEC_LEVEL);

	for (unsigned i = 0; i < STORM; i++) {
		*reg(REG_RAISE) = 1;
		*reg(REG_ACK) = 1;
	}
	uint32_t during = settle(VEC_LEVEL) - before;

	CHECK_EQ(*reg(REG_COUNT), raised + STORM);
	CHECK_EQ(*reg(REG_STATUS), 0);
	diag("level storm: %u events, %u interrupts (again after each EOI while asserted)",
	     STORM, during);
	/* And a storm with the vector held in IRR (IF = 0): acknowledged before any EOI. */
	fw_irq_disable();
	for (unsigned i = 0; i < STORM; i++) {
		*reg(REG_RAISE) = 1;
		*reg(REG_ACK) = 1;
	}
	fw_irq_enable();
	settle(VEC_LEVEL);
	CHECK_EQ(*reg(REG_STATUS), 0);
	/* Settled: acknowledged before the EOI, an event is delivered exactly once. */
	for (unsigned round = 0; round < 5; round++) {
		uint32_t n = fw_irq_count(VEC_LEVEL);

		fw_irq_disable();
		*reg(REG_RAISE) = 1;
		uint64_t end = rdtsc() + fw_tsc_from_us(WAIT_US);

		while (!fw_lapic_irr(VEC_LEVEL) && rdtsc() < end)
			cpu_relax();
		if (!CHECK(fw_lapic_irr(VEC_LEVEL), "round %u: interrupt lost after the storm",
			   round))
			break;
		*reg(REG_ACK) = 1;
		fw_irq_enable();
		CHECK(fw_irq_wait_count(VEC_LEVEL, n + 1, fw_tsc_from_us(WAIT_US)),
		      "round %u: not delivered", round);
		spin_us(QUIET_US);
		CHECK_EQ(fw_irq_count(VEC_LEVEL), n + 1);
	}
	fw_irq_disable();
	mask();
}

/* After all that: the device works as on the first day. */
TEST(device_still_works)
{
	volatile uint32_t *sram = NULL;
	uint32_t sum = 0;

	NEED_DEVICE();
	sram = (volatile uint32_t *)(uintptr_t)dev.sram;
	CHECK_EQ(*reg(REG_ID), DEVICE_ID);
	CHECK_EQ(*reg(REG_VERSION), VERSION);
	*reg(REG_SCRATCH) = 0xfeedf00d;
	CHECK_EQ(*reg(REG_SCRATCH), 0xfeedf00d);
	for (unsigned i = 0; i < dev.sram_size / 4; i++) {
		sram[i] = i * 2654435761u;
		sum += i * 2654435761u;
	}
	CHECK_EQ(*reg(REG_SUM), sum);
	REQUIRE(dev.pin >= 0, "no interrupt");
	route(VEC_EDGE, false);
	fw_irq_enable();
	uint32_t n = fw_irq_count(VEC_EDGE);

	*reg(REG_RAISE) = 1;
	CHECK(fw_irq_wait_count(VEC_EDGE, n + 1, fw_tsc_from_us(WAIT_US)), "no interrupt");
	spin_us(QUIET_US);
	CHECK_EQ(fw_irq_count(VEC_EDGE), n + 1);
	*reg(REG_ACK) = 1;
	spin_us(QUIET_US);
	CHECK_EQ(fw_irq_count(VEC_EDGE), n + 1);
	fw_irq_disable();
	mask();
}
