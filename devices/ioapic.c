/* SPDX-License-Identifier: MIT */
/*
 * IOAPIC (82093AA register model, version 0x20) at 0xfec00000: IOREGSEL at
 * 0x00, IOWIN at 0x10, EOI register at 0x40. 24 pins; the redirection
 * table is mirrored into KVM GSI routes 0..23 so KVM reports EOIs of
 * level-triggered vectors; delivery itself is KVM_SIGNAL_MSI.
 */
#include "devices/ioapic.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/models.h"
#include "vmm/bus.h"
#include "vmm/fdt.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define IOAPIC_VERSION      0x20u
#define REG_SELECT          0x00
#define REG_WINDOW          0x10
#define REG_EOI             0x40
#define INDEX_ID            0x00
#define INDEX_VERSION       0x01
#define INDEX_ARBITRATION   0x02
#define INDEX_REDIRECTION   0x10

#define RTE_VECTOR          0xffull
#define RTE_DELIVERY_MODE   (7ull << 8)
#define RTE_DEST_LOGICAL    (1ull << 11)
#define RTE_REMOTE_IRR      (1ull << 14)
#define RTE_LEVEL           (1ull << 15)
#define RTE_MASKED          (1ull << 16)
#define RTE_WRITABLE        (~(RTE_REMOTE_IRR | (1ull << 12)))

struct ioapic {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t select;
	uint32_t id;
	uint64_t table[IOAPIC_PINS];
	uint32_t asserted;       /* pin levels as devices drive them */
	struct {
		ioapic_eoi_fn *fn;
		void *opaque;
	} eoi_notifiers[IOAPIC_PINS];
};

static uint64_t rte_msi_address(uint64_t rte)
{
	return MSI_ADDRESS_BASE | ((rte >> 56) << 12) | ((rte & RTE_DEST_LOGICAL) ? 1u << 2 : 0);
}

static uint32_t rte_msi_data(uint64_t rte)
{
	uint32_t data = (uint32_t)(rte & (RTE_VECTOR | RTE_DELIVERY_MODE));

	/* MSI data bit 15 = level trigger, bit 14 = assert. */
	return (rte & RTE_LEVEL) ? data | (1u << 15) | (1u << 14) : data;
}

/* Deliver pin if it should fire now; lock held. */
static void ioapic_service(struct ioapic *ioapic, unsigned pin)
{
	uint64_t rte = ioapic->table[pin];

	if (!(ioapic->asserted & (1u << pin)) || (rte & RTE_MASKED) ||
	    ((rte & RTE_LEVEL) && (rte & RTE_REMOTE_IRR)))
		return;
	if (rte & RTE_LEVEL)
		ioapic->table[pin] |= RTE_REMOTE_IRR;
	int rc = irq_signal_msi(ioapic->vm, rte_msi_address(rte), rte_msi_data(rte));

	if (rc < 0)
		log_debug("ioapic pin %u: KVM_SIGNAL_MSI: %s", pin, strerror(-rc));
}

void ioapic_set_level(struct ioapic *ioapic, unsigned pin, bool asserted)
{
	if (pin >= IOAPIC_PINS)
		return;
	pthread_mutex_lock(&ioapic->lock);
	bool was = ioapic->asserted & (1u << pin);

	if (asserted)
		ioapic->asserted |= 1u << pin;
	else
		ioapic->asserted &= ~(1u << pin);
	/* Edge pins fire on the rising edge only; level pins while asserted. */
	if (asserted && (!was || (ioapic->table[pin] & RTE_LEVEL)))
		ioapic_service(ioapic, pin);
	pthread_mutex_unlock(&ioapic->lock);
}

void ioapic_eoi(struct ioapic *ioapic, uint8_t vector)
{
	pthread_mutex_lock(&ioapic->lock);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t rte = ioapic->table[pin];

		if (!(rte & RTE_REMOTE_IRR) || (rte & RTE_VECTOR) != vector)
			continue;
		ioapic->table[pin] &= ~RTE_REMOTE_IRR;
		if (ioapic->eoi_notifiers[pin].fn) {
			bool level = ioapic->eoi_notifiers[pin].fn(ioapic->eoi_notifiers[pin].opaque);

			if (level)
				ioapic->asserted |= 1u << pin;
			else
				ioapic->asserted &= ~(1u << pin);
		}
		ioapic_service(ioapic, pin);
	}
	pthread_mutex_unlock(&ioapic->lock);
}

int ioapic_set_eoi_notifier(struct ioapic *ioapic, unsigned pin, ioapic_eoi_fn *fn, void *opaque)
{
	int rc = 0;

	if (pin >= IOAPIC_PINS)
		return -EINVAL;
	pthread_mutex_lock(&ioapic->lock);
	if (fn && ioapic->eoi_notifiers[pin].fn) {
		rc = -EBUSY;
	} else {
		ioapic->eoi_notifiers[pin].fn = fn;
		ioapic->eoi_notifiers[pin].opaque = opaque;
	}
	pthread_mutex_unlock(&ioapic->lock);
	return rc;
}

bool ioapic_pin_is_level(struct ioapic *ioapic, unsigned pin)
{
	bool level;

	if (pin >= IOAPIC_PINS)
		return false;
	pthread_mutex_lock(&ioapic->lock);
	level = ioapic->table[pin] & RTE_LEVEL;
	pthread_mutex_unlock(&ioapic->lock);
	return level;
}

/* Keep KVM's pin route in step with the entry, for its EOI-exit bitmap. */
static void ioapic_update_route(struct ioapic *ioapic, unsigned pin)
{
	uint64_t rte = ioapic->table[pin];
	int rc = irq_pin_route(ioapic->vm, pin, !(rte & RTE_MASKED), rte_msi_address(rte),
			       rte_msi_data(rte));

	if (rc)
		log_warn("ioapic pin %u: route update failed: %s", pin, strerror(-rc));
}

static uint32_t ioapic_read_index(const struct ioapic *ioapic, uint32_t index)
{
	switch (index) {
	case INDEX_ID:
		return ioapic->id << 24;
	case INDEX_VERSION:
		return ((IOAPIC_PINS - 1u) << 16) | IOAPIC_VERSION;
	case INDEX_ARBITRATION:
		return 0;
	default:
		break;
	}
	unsigned pin = (index - INDEX_REDIRECTION) / 2;

	if (index < INDEX_REDIRECTION || pin >= IOAPIC_PINS)
		return ~0u;
	return (uint32_t)(ioapic->table[pin] >> ((index & 1) ? 32 : 0));
}

static void ioapic_write_index(struct ioapic *ioapic, uint32_t index, uint32_t value)
{
	unsigned pin = (index - INDEX_REDIRECTION) / 2;

	if (index == INDEX_ID) {
		ioapic->id = (value >> 24) & 0xf;
		return;
	}
	if (index < INDEX_REDIRECTION || pin >= IOAPIC_PINS)
		return; /* read-only or reserved */
	uint64_t old = ioapic->table[pin];
	uint64_t shift = (index & 1) ? 32 : 0;
	uint64_t merged = (old & ~(0xffffffffull << shift)) | ((uint64_t)value << shift);

	ioapic->table[pin] = (merged & RTE_WRITABLE) | (old & RTE_REMOTE_IRR);
	if (!(ioapic->table[pin] & RTE_LEVEL))
		ioapic->table[pin] &= ~RTE_REMOTE_IRR;
	ioapic_update_route(ioapic, pin);
	ioapic_service(ioapic, pin); /* an unmasked, asserted level pin fires now */
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ioapic *ioapic = opaque;
	uint64_t value = ~0ull;

	if (size != 4)
		return value;
	pthread_mutex_lock(&ioapic->lock);
	if (offset == REG_SELECT)
		value = ioapic->select;
	else if (offset == REG_WINDOW)
		value = ioapic_read_index(ioapic, ioapic->select);
	pthread_mutex_unlock(&ioapic->lock);
	return value;
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct ioapic *ioapic = opaque;

	if (size != 4)
		return;
	pthread_mutex_lock(&ioapic->lock);
	if (offset == REG_SELECT)
		ioapic->select = (uint32_t)value & 0xff;
	else if (offset == REG_WINDOW)
		ioapic_write_index(ioapic, ioapic->select, (uint32_t)value);
	pthread_mutex_unlock(&ioapic->lock);
	if (offset == REG_EOI)
		ioapic_eoi(ioapic, (uint8_t)value);
}

static const struct bus_region_ops ioapic_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};

static int ioapic_parse(struct device *dev, const struct toml_table *section,
			const struct config_context *ctx)
{
	static const char *const keys[] = { "type", NULL };
	struct ioapic *ioapic = calloc(1, sizeof(*ioapic));

	if (!ioapic)
		return -ENOMEM;
	dev->state = ioapic;
	pthread_mutex_init(&ioapic->lock, NULL);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		ioapic->table[pin] = RTE_MASKED;
	return config_check_keys(ctx, section, dev->name, keys);
}

static int ioapic_realize(struct device *dev, struct vm *vm)
{
	struct ioapic *ioapic = dev->state;

	if (vm->ioapic) {
		log_error("%s: only one ioapic is supported", dev->name);
		return -EEXIST;
	}
	ioapic->vm = vm;
	int rc = bus_register(&vm->mmio_bus, IOAPIC_BASE, IOAPIC_SIZE, &ioapic_ops, ioapic,
			      dev->name);

	if (rc == 0)
		vm->ioapic = ioapic;
	return rc;
}

static int ioapic_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const uint32_t reg[] = { 0, (uint32_t)IOAPIC_BASE, 0, (uint32_t)IOAPIC_SIZE };
	int node = fdt_add_node(fdt, "/", "ioapic@fec00000");

	/* The binding x86 Linux knows (arch/x86/kernel/devicetree.c). */
	fdt_prop_string(fdt, node, "compatible", "intel,ce4100-ioapic");
	fdt_prop_empty(fdt, node, "interrupt-controller");
	fdt_prop_u32(fdt, node, "#interrupt-cells", 2);
	fdt_prop_cells(fdt, node, "reg", reg, 4);
	fdt_prop_u32(fdt, node, "phandle", FDT_PHANDLE_IOAPIC);
	return 0;
}

static void ioapic_unrealize(struct device *dev, struct vm *vm)
{
	if (vm->ioapic == dev->state)
		vm->ioapic = NULL;
}

static void ioapic_destroy(struct device *dev)
{
	struct ioapic *ioapic = dev->state;

	if (!ioapic)
		return;
	pthread_mutex_destroy(&ioapic->lock);
	free(ioapic);
	dev->state = NULL;
}

const struct device_model ioapic_model = {
	.type = "ioapic",
	.summary = "IOAPIC for line interrupts (split irqchip)",
	.parse = ioapic_parse,
	.realize = ioapic_realize,
	.add_fdt_node = ioapic_add_fdt_node,
	.unrealize = ioapic_unrealize,
	.destroy = ioapic_destroy,
};
