// SPDX-License-Identifier: MIT
/*
 * Guest test `vfio-platform` (configs/platform-vfio.toml): a platform
 * device passed through with the vfio-platform personality
 * (docs/devices/vfio-platform.md), the VFIO host simulator's test device
 * (tests/vfio-sim/dev_platform.c). Everything is found in the device tree,
 * as a driver would:
 *
 *  - the node: compatible from config, reg from the host's region sizes
 *    (registers, then SRAM, page-aligned from the configured address),
 *    interrupts = <pin level-high> on the IOAPIC;
 *  - the registers (a trapped region: every access is a pread/pwrite on
 *    the device): identity, a scratch register;
 *  - the SRAM (a mapped region, a memslot): what the guest stores is what
 *    the device holds (its SUM register adds up the words);
 *  - the interrupt line, level on the host and masked there after each
 *    interrupt: programmed edge-triggered, one interrupt per event, the
 *    line resampled after the acknowledging write; programmed
 *    level-triggered, resampled at the EOI: acknowledged before the EOI it
 *    is delivered once, left asserted it is delivered again.
 */
#include <string.h>

#include "fw/apic.h"
#include "fw/fdt.h"
#include "fw/irq.h"
#include "fw/test.h"
#include "fw/tsc.h"

const char *test_image_name = "vfio-platform";

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
#define IOAPIC_BASE  0xfec00000ul
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))
#define RTE_LEVEL    (1u << 15)
#define RTE_MASKED   (1u << 16)
#define FDT_LEVEL_HIGH 1u        /* of_ioapic_type[1] */
#define VEC_EDGE     0x51
#define VEC_LEVEL    0x52
#define WAIT_US      1000000
#define QUIET_US     20000

static struct {
	bool found;
	int node;
	uint64_t regs, regs_size, sram, sram_size;
	int pin;
	uint32_t irq_type;
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

/* Busy-wait `us` with interrupts as they are (no halting: counts must move). */
static void spin_us(unsigned us)
{
	uint64_t end = rdtsc() + fw_tsc_from_us(us);

	while (rdtsc() < end)
		cpu_relax();
}

void test_setup(void)
{
	struct fw_fdt_reg r0, r1;
	int len = 0;

	dev.node = fw_fdt_find_compatible(-1, COMPATIBLE);
	if (dev.node < 0 || fw_fdt_read_reg(dev.node, 0, &r0) || fw_fdt_read_reg(dev.node, 1, &r1))
		return;
	const fdt32_t *irq = fdt_getprop(fw_fdt(), dev.node, "interrupts", &len);

	dev.regs = r0.addr;
	dev.regs_size = r0.size;
	dev.sram = r1.addr;
	dev.sram_size = r1.size;
	dev.pin = irq && len == 8 ? (int)fdt32_to_cpu(irq[0]) : -1;
	dev.irq_type = irq && len == 8 ? fdt32_to_cpu(irq[1]) : 0;
	dev.found = true;
	diag("device at %#llx (%#llx bytes), SRAM at %#llx (%#llx bytes), IOAPIC pin %d",
	     (unsigned long long)dev.regs, (unsigned long long)dev.regs_size,
	     (unsigned long long)dev.sram, (unsigned long long)dev.sram_size, dev.pin);
}

#define NEED_DEVICE() REQUIRE(dev.found, "no " COMPATIBLE " node with two reg entries")

TEST(dt_node)
{
	const void *fdt = fw_fdt();
	int len = 0;

	NEED_DEVICE();
	int parent = fdt_parent_offset(fdt, dev.node);

	/* Under the bus node x86 Linux probes, like the virtio-mmio devices. */
	CHECK(parent > 0 && fdt_node_check_compatible(fdt, parent, "intel,ce4100-cp") == 0,
	      "parent is not the intel,ce4100-cp bus");
	const char *compat = fdt_getprop(fdt, dev.node, "compatible", &len);

	/* Both configured strings, in order. */
	CHECK(compat && len == (int)sizeof(COMPATIBLE "\0vmm,platform-device"), "compatible: %d bytes",
	      len);
	CHECK(compat && !memcmp(compat, COMPATIBLE "\0vmm,platform-device", (size_t)len),
	      "compatible list differs");
	CHECK_EQ(fw_fdt_reg_count(dev.node), 2);
	CHECK_EQ(dev.regs_size, 0x1000);        /* the host's register region */
	CHECK_EQ(dev.sram_size, 0x2000);        /* sram_size of the simulated device */
	CHECK_EQ(dev.sram, dev.regs + 0x1000);  /* placed one after the other */
	CHECK_EQ(fw_fdt_u32(dev.node, "interrupt-parent", 0), 1); /* the IOAPIC */
	CHECK(dev.pin >= 0 && dev.pin < 24, "pin %d", dev.pin);
	CHECK_EQ(dev.irq_type, FDT_LEVEL_HIGH); /* AUTOMASKED on the host: a level line */
}

TEST(registers_reach_the_device)
{
	NEED_DEVICE();
	CHECK_EQ(*reg(REG_ID), DEVICE_ID);
	CHECK_EQ(*reg(REG_VERSION), 0x00010000);
	*reg(REG_SCRATCH) = 0xc0ffee11;
	CHECK_EQ(*reg(REG_SCRATCH), 0xc0ffee11);
	*reg(REG_SCRATCH) = 0x12345678;
	CHECK_EQ(*reg(REG_SCRATCH), 0x12345678);
	CHECK_EQ(*reg(REG_STATUS), 0);
	/* Unused registers read 0 on this device; the write-only ones too. */
	CHECK_EQ(*reg(0x800), 0);
	CHECK_EQ(*reg(REG_RAISE), 0);
}

TEST(sram_is_the_devices_memory)
{
	volatile uint32_t *sram = (volatile uint32_t *)(uintptr_t)dev.sram;
	uint32_t sum = 0;

	NEED_DEVICE();
	for (unsigned i = 0; i < dev.sram_size / 4; i++) {
		uint32_t v = i * 0x9e3779b9u + 7;

		sram[i] = v;
		sum += v;
	}
	for (unsigned i = 0; i < dev.sram_size / 4; i += 97)
		CHECK_EQ(sram[i], i * 0x9e3779b9u + 7);
	/* The device adds up what it holds: the stores above reached it. */
	CHECK_EQ(*reg(REG_SUM), sum);
	sram[5] += 1;
	CHECK_EQ(*reg(REG_SUM), sum + 1);
}

/* Edge-programmed pin: one interrupt per event; the acknowledging write resamples. */
TEST(edge_interrupts_one_per_event)
{
	NEED_DEVICE();
	REQUIRE(dev.pin >= 0, "no interrupt");
	uint32_t raised = *reg(REG_COUNT);

	route(VEC_EDGE, false);
	fw_irq_enable();
	for (unsigned round = 0; round < 5; round++) {
		uint32_t before = fw_irq_count(VEC_EDGE);

		*reg(REG_RAISE) = 1;
		if (!CHECK(fw_irq_wait_count(VEC_EDGE, before + 1, fw_tsc_from_us(WAIT_US)),
			   "round %u: no interrupt on vector %#x", round, VEC_EDGE))
			break;
		CHECK_EQ(*reg(REG_STATUS), 1);
		spin_us(QUIET_US / 4);
		CHECK_EQ(fw_irq_count(VEC_EDGE), before + 1); /* still pending: no second edge */
		*reg(REG_ACK) = 1;
		CHECK_EQ(*reg(REG_STATUS), 0);
		spin_us(QUIET_US);
		CHECK_EQ(fw_irq_count(VEC_EDGE), before + 1);
	}
	fw_irq_disable();
	mask();
	CHECK_EQ(*reg(REG_COUNT), raised + 5);
}

/* Level-programmed pin, acknowledged before the EOI: delivered once. */
TEST(level_interrupt_acknowledged_before_eoi)
{
	NEED_DEVICE();
	REQUIRE(dev.pin >= 0, "no interrupt");
	route(VEC_LEVEL, true);
	for (unsigned round = 0; round < 3; round++) {
		uint32_t before = fw_irq_count(VEC_LEVEL);

		/* IF = 0: the vector waits in IRR, so the device is acknowledged
		 * before the interrupt stub runs and EOIs. */
		fw_irq_disable();
		*reg(REG_RAISE) = 1;
		uint64_t end = rdtsc() + fw_tsc_from_us(WAIT_US);

		while (!fw_lapic_irr(VEC_LEVEL) && rdtsc() < end)
			cpu_relax();
		if (!CHECK(fw_lapic_irr(VEC_LEVEL), "round %u: vector %#x not pending", round,
			   VEC_LEVEL))
			break;
		*reg(REG_ACK) = 1;
		fw_irq_enable();
		CHECK(fw_irq_wait_count(VEC_LEVEL, before + 1, fw_tsc_from_us(WAIT_US)),
		      "round %u: not delivered", round);
		spin_us(QUIET_US);
		CHECK_EQ(fw_irq_count(VEC_LEVEL), before + 1);
	}
	fw_irq_disable();
	mask();
}

/* Level-programmed pin left asserted at the EOI: the host, unmasked, interrupts again. */
TEST(level_interrupt_redelivered_while_asserted)
{
	NEED_DEVICE();
	REQUIRE(dev.pin >= 0, "no interrupt");
	uint32_t before = fw_irq_count(VEC_LEVEL);

	route(VEC_LEVEL, true);
	fw_irq_enable();
	*reg(REG_RAISE) = 1;
	CHECK(fw_irq_wait_count(VEC_LEVEL, before + 2, fw_tsc_from_us(WAIT_US)),
	      "delivered %u times while asserted; expected again after the EOI",
	      fw_irq_count(VEC_LEVEL) - before);
	*reg(REG_ACK) = 1;
	spin_us(QUIET_US);
	uint32_t settled = fw_irq_count(VEC_LEVEL);

	spin_us(QUIET_US);
	CHECK_EQ(fw_irq_count(VEC_LEVEL), settled); /* acknowledged: quiet */
	fw_irq_disable();
	mask();
	diag("delivered %u times before the acknowledgement", settled - before);
}
