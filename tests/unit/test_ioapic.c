/* SPDX-License-Identifier: MIT */
/*
 * IOAPIC register model and Remote IRR/EOI behaviour, through its MMIO
 * interface on a real KVM VM with the split irqchip (no vCPUs: delivery goes
 * nowhere, but routes and Remote IRR are observable).
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/device.h"
#include "devices/ioapic.h"
#include "kvm_fixture.h"
#include "suites.h"
#include "vmm/vm.h"

static struct vm vm;
static struct vm_config *config;

static void setup(void)
{
	static const char text[] = "[vm]\nimage = \"x\"\n[devices.ioapic]\ntype = \"ioapic\"\n";
	struct config_error error;

	kvm_fixture_open(&vm, 0);
	config = config_parse("t.toml", text, strlen(text), NULL, 0, &error);
	ck_assert_msg(config != NULL, "%s", error.message);
	ck_assert_int_eq(config->devices[0]->model->realize(config->devices[0], &vm), 0);
	ck_assert_ptr_nonnull(vm.ioapic);
}

static void teardown(void)
{
	config->devices[0]->model->unrealize(config->devices[0], &vm);
	config_free(config);
	kvm_fixture_close(&vm);
}

static uint32_t reg_read(uint32_t index)
{
	uint32_t value = index;

	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE, true, &value, 4));
	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE + 0x10, false, &value, 4));
	return value;
}

static void reg_write(uint32_t index, uint32_t value)
{
	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE, true, &index, 4));
	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE + 0x10, true, &value, 4));
}

static const struct kvm_irq_routing_entry *route(unsigned gsi)
{
	for (uint32_t i = 0; i < vm.irq.table->nr; i++) {
		if (vm.irq.table->entries[i].gsi == gsi)
			return &vm.irq.table->entries[i];
	}
	return NULL;
}

START_TEST(identity_and_reset_state)
{
	ck_assert_uint_eq(reg_read(0x01), (23u << 16) | 0x20);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		ck_assert_uint_eq(reg_read(0x10 + 2 * pin), 1u << 16); /* masked */
	ck_assert_uint_eq(reg_read(0x10 + 2 * IOAPIC_PINS), 0xffffffff);
	reg_write(0x00, 0x0f000000);
	ck_assert_uint_eq(reg_read(0x00), 0x0f000000);
	reg_write(0x01, 0); /* version is read-only */
	ck_assert_uint_eq(reg_read(0x01), (23u << 16) | 0x20);
}
END_TEST

START_TEST(unmasking_installs_a_route)
{
	ck_assert_ptr_null(route(5));
	reg_write(0x10 + 2 * 5 + 1, 3u << 24);          /* destination APIC 3 */
	reg_write(0x10 + 2 * 5, 0x41 | (1u << 15));     /* vector 0x41, level, unmasked */
	const struct kvm_irq_routing_entry *entry = route(5);

	ck_assert_ptr_nonnull(entry);
	ck_assert_uint_eq(entry->u.msi.address_lo, 0xfee03000);
	ck_assert_uint_eq(entry->u.msi.data & 0xff, 0x41);
	ck_assert(entry->u.msi.data & (1u << 15)); /* level: KVM will report the EOI */
	reg_write(0x10 + 2 * 5, 0x41 | (1u << 16));
	ck_assert_ptr_null(route(5));
}
END_TEST

START_TEST(level_pin_holds_remote_irr_until_eoi)
{
	reg_write(0x10 + 2 * 9, 0x51 | (1u << 15));
	ioapic_set_level(vm.ioapic, 9, true);
	ck_assert(reg_read(0x10 + 2 * 9) & (1u << 14));
	/* Remote IRR is read-only: a guest write cannot clear it. */
	reg_write(0x10 + 2 * 9, 0x51 | (1u << 15));
	ck_assert(reg_read(0x10 + 2 * 9) & (1u << 14));
	ioapic_eoi(vm.ioapic, 0x52); /* another vector: no effect */
	ck_assert(reg_read(0x10 + 2 * 9) & (1u << 14));
	ioapic_set_level(vm.ioapic, 9, false);
	ioapic_eoi(vm.ioapic, 0x51);
	ck_assert(!(reg_read(0x10 + 2 * 9) & (1u << 14)));
	/* Still asserted at EOI: delivered again, Remote IRR set again. */
	ioapic_set_level(vm.ioapic, 9, true);
	uint32_t eoi = 0x51;

	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE + 0x40, true, &eoi, 4));
	ck_assert(reg_read(0x10 + 2 * 9) & (1u << 14));
}
END_TEST

START_TEST(edge_and_masked_pins_never_hold_remote_irr)
{
	reg_write(0x10 + 2 * 4, 0x30); /* edge */
	ioapic_set_level(vm.ioapic, 4, true);
	ck_assert(!(reg_read(0x10 + 2 * 4) & (1u << 14)));
	reg_write(0x10 + 2 * 6, 0x31 | (1u << 15) | (1u << 16)); /* level, masked */
	ioapic_set_level(vm.ioapic, 6, true);
	ck_assert(!(reg_read(0x10 + 2 * 6) & (1u << 14)));
	/* Unmasking an asserted level pin delivers it at once. */
	reg_write(0x10 + 2 * 6, 0x31 | (1u << 15));
	ck_assert(reg_read(0x10 + 2 * 6) & (1u << 14));
	ioapic_set_level(vm.ioapic, 99, true); /* out of range: ignored */
}
END_TEST

START_TEST(bad_accesses_are_harmless)
{
	uint64_t wide = 0x10;
	uint16_t narrow = 0;

	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE, true, &wide, 8));
	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE + 0x10, false, &narrow, 2));
	ck_assert_uint_eq(narrow, 0xffff);
	ck_assert_uint_eq(reg_read(0x01), (23u << 16) | 0x20);
}
END_TEST

Suite *ioapic_suite(void)
{
	Suite *suite = suite_create("ioapic");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity_and_reset_state);
	tcase_add_test(tc, unmasking_installs_a_route);
	tcase_add_test(tc, level_pin_holds_remote_irr_until_eoi);
	tcase_add_test(tc, edge_and_masked_pins_never_hold_remote_irr);
	tcase_add_test(tc, bad_accesses_are_harmless);
	suite_add_tcase(suite, tc);
	return suite;
}
