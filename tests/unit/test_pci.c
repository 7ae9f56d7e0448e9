/* SPDX-License-Identifier: MIT */
/*
 * PCI: config-space rules, MSI-X, the host's decode table and config
 * mechanisms (no KVM: MSI-X goes through recording irq ops), and the
 * pci-host/pci-testdev models end to end on a real KVM VM (split irqchip,
 * no vCPUs: accesses are dispatched through the VM's buses).
 */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <linux/kvm.h>
#include <linux/pci_regs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "devices/device.h"
#include "devices/pci/config.h"
#include "devices/pci/host.h"
#include "devices/pci/msix.h"
#include "pci_testdev.h"
#include "kvm_fixture.h"
#include "suites.h"
#include "vmm/fdt.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* ---- a BAR handler that records what reaches it ---- */

struct probe {
	unsigned reads, writes;
	uint64_t last_offset;
	uint64_t last_value;
};

static uint64_t probe_read(void *opaque, uint64_t offset, unsigned size)
{
	struct probe *probe = opaque;

	probe->reads++;
	probe->last_offset = offset;
	return 0x5a5a5a5a5a5a5a5aull & pci_all_ones(size);
}

static void probe_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct probe *probe = opaque;

	probe->writes++;
	probe->last_offset = offset;
	probe->last_value = value;
}

static const struct bus_region_ops probe_ops = { .read = probe_read, .write = probe_write };

/* ---- recording irq ops: irq.c's counting rules without KVM ---- */

#define FAKE_VECTORS 16

static struct pci_function fn;
static struct probe bar_probe[PCI_BAR_COUNT];
static unsigned programs[FAKE_VECTORS];

static unsigned vector_of(const struct irq_msi *msi)
{
	return (unsigned)(msi - fn.msix->msi);
}

static int fake_init(struct vm *vm, struct irq_msi *msi)
{
	memset(msi, 0, sizeof(*msi));
	msi->eventfd = -1;
	return 0;
}

static int fake_program(struct irq_msi *msi, uint64_t address, uint32_t data)
{
	programs[vector_of(msi)]++;
	msi->address = address;
	msi->data = data;
	atomic_store(&msi->routed, irq_msi_address_valid(address));
	return 0;
}

static void fake_trigger(struct irq_msi *msi)
{
	if (atomic_load(&msi->routed))
		atomic_fetch_add(&msi->raised, 1);
	else
		atomic_fetch_add(&msi->dropped, 1);
}

static void fake_destroy(struct irq_msi *msi)
{
	atomic_store(&msi->routed, false);
}

static const struct pci_irq_ops fake_ops = {
	.init = fake_init, .program = fake_program, .trigger = fake_trigger,
	.destroy = fake_destroy,
};

static const struct pci_identity test_identity = {
	.vendor_id = 0x1234, .device_id = 0x5678, .class_code = 0x028000, .revision = 3,
	.subsystem_vendor_id = 0xabcd, .subsystem_id = 0xef01,
};

/* BAR0 mem32 4K prefetchable, BAR2-3 mem64 16K, BAR4 I/O 32 bytes, MSI-X in BAR0. */
static void function_setup(void)
{
	log_set_level(LOG_ERROR);
	memset(bar_probe, 0, sizeof(bar_probe));
	memset(programs, 0, sizeof(programs));
	ck_assert_int_eq(pci_function_init(&fn, "fn", &test_identity), 0);
	ck_assert_int_eq(pci_function_add_bar(&fn, 0, PCI_BAR_MEM32, true, 0x1000, &probe_ops,
					      &bar_probe[0]), 0);
	ck_assert_int_eq(pci_function_add_bar(&fn, 2, PCI_BAR_MEM64, false, 0x4000, &probe_ops,
					      &bar_probe[2]), 0);
	ck_assert_int_eq(pci_function_add_bar(&fn, 4, PCI_BAR_IO, false, 32, &probe_ops,
					      &bar_probe[4]), 0);
	ck_assert_int_eq(pci_msix_init(&fn, NULL, &fake_ops, FAKE_VECTORS, 0, 0x800, 0xc00), 0);
}

static void function_teardown(void)
{
	pci_function_destroy(&fn);
	log_set_level(LOG_INFO);
}

static uint32_t cfg(unsigned offset, unsigned size)
{
	return pci_config_read(&fn, offset, size);
}

static void cfg_write(unsigned offset, unsigned size, uint32_t value)
{
	pci_config_write(&fn, offset, size, value);
}

/* ---- config space ---- */

START_TEST(header_identity)
{
	ck_assert_uint_eq(cfg(PCI_VENDOR_ID, 2), 0x1234);
	ck_assert_uint_eq(cfg(PCI_DEVICE_ID, 2), 0x5678);
	ck_assert_uint_eq(cfg(PCI_VENDOR_ID, 4), 0x56781234);
	ck_assert_uint_eq(cfg(PCI_CLASS_REVISION, 4), 0x02800003);
	ck_assert_uint_eq(cfg(PCI_SUBSYSTEM_VENDOR_ID, 4), 0xef01abcd);
	ck_assert_uint_eq(cfg(PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
	ck_assert_uint_eq(cfg(PCI_INTERRUPT_PIN, 1), 0);
	ck_assert_uint_eq(cfg(PCI_COMMAND, 2), 0);
}
END_TEST

START_TEST(bar_sizing_mem32)
{
	cfg_write(PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_0, 4), 0xfffff000 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	cfg_write(PCI_BASE_ADDRESS_0, 4, 0xc0001234);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_0, 4), 0xc0001000 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	ck_assert_uint_eq(pci_function_bar_address(&fn, 0), 0xc0001000);
}
END_TEST

START_TEST(bar_sizing_mem64)
{
	cfg_write(PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	cfg_write(PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_2, 4), 0xffffc000 | PCI_BASE_ADDRESS_MEM_TYPE_64);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_3, 4), 0xffffffff);
	cfg_write(PCI_BASE_ADDRESS_2, 4, 0xd0004000);
	cfg_write(PCI_BASE_ADDRESS_3, 4, 0x1);
	ck_assert_uint_eq(pci_function_bar_address(&fn, 2), 0x1d0004000ull);
}
END_TEST

START_TEST(bar_sizing_io)
{
	cfg_write(PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_4, 4), 0xffffffe1);
	cfg_write(PCI_BASE_ADDRESS_4, 4, 0xc03f);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_4, 4), 0xc021);
	ck_assert_uint_eq(pci_function_bar_address(&fn, 4), 0xc020);
}
END_TEST

START_TEST(unimplemented_bars_and_rom_read_zero)
{
	const unsigned offsets[] = { PCI_BASE_ADDRESS_1, PCI_BASE_ADDRESS_5, PCI_ROM_ADDRESS };

	for (unsigned i = 0; i < 3; i++) {
		cfg_write(offsets[i], 4, 0xffffffff);
		ck_assert_uint_eq(cfg(offsets[i], 4), 0);
	}
}
END_TEST

START_TEST(bar_byte_writes_merge)
{
	cfg_write(PCI_BASE_ADDRESS_0 + 3, 1, 0xc0);
	cfg_write(PCI_BASE_ADDRESS_0 + 1, 1, 0x12);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_0, 4), 0xc0001000 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	cfg_write(PCI_BASE_ADDRESS_0, 1, 0xff); /* type and size bits: read-only */
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_0, 1), PCI_BASE_ADDRESS_MEM_PREFETCH);
}
END_TEST

START_TEST(read_only_fields_ignore_writes)
{
	for (unsigned offset = 0; offset < PCI_CONFIG_HEADER_SIZE; offset += 4) {
		if (offset == PCI_COMMAND ||
		    (offset >= PCI_BASE_ADDRESS_0 && offset <= PCI_BASE_ADDRESS_5))
			continue;
		cfg_write(offset, 4, 0xffffffff);
	}
	ck_assert_uint_eq(cfg(PCI_VENDOR_ID, 4), 0x56781234);
	ck_assert_uint_eq(cfg(PCI_CLASS_REVISION, 4), 0x02800003);
	/* Cache line size, latency timer writable; header type, BIST not. */
	ck_assert_uint_eq(cfg(PCI_CACHE_LINE_SIZE, 4), 0x0000ffff);
	ck_assert_uint_eq(cfg(PCI_INTERRUPT_LINE, 4), 0x000000ff);
	ck_assert_uint_eq(cfg(PCI_CAPABILITY_LIST, 1), 0x40);
	ck_assert_uint_eq(cfg(PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	/* MSI-X: table size, BIR and offsets are read-only. */
	ck_assert_uint_eq(cfg(0x40, 4),
			  (uint32_t)(0xc000 | (FAKE_VECTORS - 1)) << 16 | PCI_CAP_ID_MSIX);
	ck_assert_uint_eq(cfg(0x44, 4), 0x800);
	ck_assert_uint_eq(cfg(0x48, 4), 0xc00);
}
END_TEST

START_TEST(command_writable_bits)
{
	cfg_write(PCI_COMMAND, 2, 0xffff);
	ck_assert_uint_eq(cfg(PCI_COMMAND, 2),
			  PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			  PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	cfg_write(PCI_COMMAND, 1, 0);
	ck_assert_uint_eq(cfg(PCI_COMMAND, 2), PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
}
END_TEST

START_TEST(status_error_bits_are_rw1c)
{
	pci_function_set_status(&fn, PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT);
	ck_assert_uint_eq(cfg(PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_SIG_TARGET_ABORT |
				PCI_STATUS_REC_MASTER_ABORT);
	cfg_write(PCI_STATUS, 2, 0); /* writing 0 changes nothing */
	ck_assert_uint_eq(cfg(PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_SIG_TARGET_ABORT |
				PCI_STATUS_REC_MASTER_ABORT);
	cfg_write(PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_CAP_LIST);
	ck_assert_uint_eq(cfg(PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_SIG_TARGET_ABORT);
	/* A dword write to COMMAND also writes STATUS: ones there clear it. */
	cfg_write(PCI_COMMAND, 4, 0xffff0000);
	ck_assert_uint_eq(cfg(PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
}
END_TEST

START_TEST(capability_walk)
{
	int vendor = pci_function_add_capability(&fn, PCI_CAP_ID_VNDR, 8);
	int pm = pci_function_add_capability(&fn, PCI_CAP_ID_PM, 6); /* rounded to 8 */
	const uint8_t expected[] = { PCI_CAP_ID_MSIX, PCI_CAP_ID_VNDR, PCI_CAP_ID_PM };
	unsigned count = 0;

	ck_assert_int_eq(vendor, 0x40 + PCI_MSIX_CAP_LENGTH);
	ck_assert_int_eq(pm, vendor + 8);
	ck_assert(cfg(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (unsigned at = cfg(PCI_CAPABILITY_LIST, 1); at; at = cfg(at + PCI_CAP_LIST_NEXT, 1)) {
		ck_assert_uint_lt(count, 3);
		ck_assert_uint_eq(at % 4, 0);
		ck_assert_uint_eq(cfg(at, 1), expected[count++]);
	}
	ck_assert_uint_eq(count, 3);
	ck_assert_int_eq(pci_function_add_capability(&fn, PCI_CAP_ID_VNDR, 0x100), -ENOSPC);
}
END_TEST

START_TEST(bad_accesses_read_ones_and_drop)
{
	ck_assert_uint_eq(cfg(0x01, 2), 0xffff);
	ck_assert_uint_eq(cfg(0x02, 4), 0xffffffff);
	ck_assert_uint_eq(cfg(0x00, 3), 0xffffff);
	ck_assert_uint_eq(cfg(0x1000, 4), 0xffffffff);
	ck_assert_uint_eq(cfg(0xfffffffc, 4), 0xffffffff);
	ck_assert_uint_eq(cfg(0x100, 4), 0);   /* extended space: no capabilities */
	ck_assert_uint_eq(cfg(0xffc, 4), 0);
	cfg_write(PCI_COMMAND - 1, 2, 0xffff); /* misaligned: dropped */
	cfg_write(PCI_BASE_ADDRESS_0 + 2, 4, 0xffffffff);
	cfg_write(0x1000, 4, 0xffffffff);
	ck_assert_uint_eq(cfg(PCI_COMMAND, 2), 0);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_0, 4), PCI_BASE_ADDRESS_MEM_PREFETCH);
}
END_TEST

/* Deterministic garbage over every offset and size: identity and BAR types survive. */
START_TEST(garbage_writes_keep_invariants)
{
	uint32_t seed = 12345;

	for (unsigned round = 0; round < 4; round++) {
		for (unsigned offset = 0; offset < PCI_CONFIG_SPACE_SIZE + 8; offset++) {
			seed = seed * 1103515245 + 12345;
			cfg_write(offset, 1u << (seed >> 30 & 3), seed ^ (seed << 7));
		}
	}
	ck_assert_uint_eq(cfg(PCI_VENDOR_ID, 4), 0x56781234);
	ck_assert_uint_eq(cfg(PCI_CLASS_REVISION, 4), 0x02800003);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_0, 4) & 0xfff, PCI_BASE_ADDRESS_MEM_PREFETCH);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_2, 4) & 0x3fff, PCI_BASE_ADDRESS_MEM_TYPE_64);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_4, 4) & 0x1f, PCI_BASE_ADDRESS_SPACE_IO);
	ck_assert_uint_eq(cfg(PCI_CAPABILITY_LIST, 1), 0x40);
	ck_assert_uint_eq(cfg(0x40, 2), PCI_CAP_ID_MSIX);
	pci_function_reset(&fn);
	ck_assert_uint_eq(cfg(PCI_COMMAND, 4), PCI_STATUS_CAP_LIST << 16);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_0, 4), PCI_BASE_ADDRESS_MEM_PREFETCH);
	ck_assert_uint_eq(cfg(PCI_BASE_ADDRESS_3, 4), 0);
	ck_assert_uint_eq(cfg(0x40 + PCI_MSIX_FLAGS, 2), FAKE_VECTORS - 1);
}
END_TEST

static int add_bar(struct pci_function *f, unsigned index, enum pci_bar_type type,
		   uint64_t size)
{
	return pci_function_add_bar(f, index, type, false, size, &probe_ops, NULL);
}

START_TEST(add_bar_rejects_bad_layouts)
{
	struct pci_function other;

	ck_assert_int_eq(pci_function_init(&other, "other", &test_identity), 0);
	ck_assert_int_eq(add_bar(&other, 6, PCI_BAR_MEM32, 0x1000), -EINVAL);
	ck_assert_int_eq(add_bar(&other, 5, PCI_BAR_MEM64, 0x1000), -EINVAL);
	ck_assert_int_eq(add_bar(&other, 0, PCI_BAR_MEM32, 0x1800), -EINVAL);
	ck_assert_int_eq(add_bar(&other, 0, PCI_BAR_MEM32, 8), -EINVAL);
	ck_assert_int_eq(add_bar(&other, 0, PCI_BAR_IO, 512), -EINVAL);
	ck_assert_int_eq(add_bar(&other, 0, PCI_BAR_MEM64, 0x1000), 0);
	ck_assert_int_eq(add_bar(&other, 1, PCI_BAR_MEM32, 0x1000), -EINVAL);
	ck_assert_int_eq(add_bar(&other, 0, PCI_BAR_MEM32, 0x1000), -EINVAL);
	/* MSI-X must fit its BAR and not overlap itself. */
	ck_assert_int_eq(pci_msix_init(&other, NULL, &fake_ops, 257, 0, 0, 0x800), -EINVAL);
	ck_assert_int_eq(pci_msix_init(&other, NULL, &fake_ops, 8, 0, 0, 0x40), -EINVAL);
	ck_assert_int_eq(pci_msix_init(&other, NULL, &fake_ops, 8, 2, 0, 0x800), -EINVAL);
	ck_assert_int_eq(pci_msix_init(&other, NULL, &fake_ops, 8, 0, 4, 0x800), -EINVAL);
	ck_assert_uint_eq(pci_config_read(&other, PCI_STATUS, 2), 0); /* no capability added */
	pci_function_destroy(&other);
}
END_TEST

/* ---- MSI-X ---- */

#define MSIX_CONTROL (0x40 + PCI_MSIX_FLAGS)

static uint64_t table_read(uint64_t offset, unsigned size)
{
	uint64_t value = 0;

	ck_assert(pci_msix_mmio_read(&fn, 0, offset, size, &value));
	return value;
}

static void table_write(uint64_t offset, unsigned size, uint64_t value)
{
	ck_assert(pci_msix_mmio_write(&fn, 0, offset, size, value));
}

static uint64_t entry(unsigned vector, unsigned word)
{
	return 0x800 + vector * PCI_MSIX_ENTRY_SIZE + word;
}

static void program_vector(unsigned vector, uint64_t address, uint32_t data, bool masked)
{
	table_write(entry(vector, PCI_MSIX_ENTRY_LOWER_ADDR), 8, address);
	table_write(entry(vector, PCI_MSIX_ENTRY_DATA), 4, data);
	table_write(entry(vector, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, masked);
}

static uint64_t raised(unsigned vector)
{
	return atomic_load(&fn.msix->msi[vector].raised);
}

START_TEST(msix_table_reads_and_writes)
{
	uint64_t value;

	for (unsigned v = 0; v < FAKE_VECTORS; v++)
		ck_assert_uint_eq(table_read(entry(v, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 1);
	table_write(entry(3, 0), 8, 0x00000001fee01000ull);
	table_write(entry(3, 8), 8, 0xffffffff00004142ull); /* data + control, reserved bits */
	ck_assert_uint_eq(table_read(entry(3, 0), 4), 0xfee01000);
	ck_assert_uint_eq(table_read(entry(3, 4), 4), 1);
	ck_assert_uint_eq(table_read(entry(3, 8), 8), 0x0000000100004142ull);
	/* Misaligned or narrow: all-ones, dropped. */
	ck_assert_uint_eq(table_read(entry(3, 2), 4), 0xffffffff);
	ck_assert_uint_eq(table_read(entry(3, 4), 8), ~0ull);
	ck_assert_uint_eq(table_read(entry(3, 0), 2), 0xffff);
	table_write(entry(3, 0), 1, 0);
	table_write(entry(3, 4), 8, 0);
	ck_assert_uint_eq(table_read(entry(3, 0), 4), 0xfee01000);
	/* PBA is read-only; outside table and PBA the model handles it. */
	table_write(0xc00, 8, ~0ull);
	ck_assert_uint_eq(table_read(0xc00, 8), 0);
	ck_assert(!pci_msix_mmio_read(&fn, 0, 0x100, 4, &value));
	ck_assert(!pci_msix_mmio_read(&fn, 2, 0x800, 4, &value));
	ck_assert(pci_msix_mmio_read(&fn, 0, 0x7fc, 8, &value)); /* straddles the table start */
	ck_assert_uint_eq(value, ~0ull);
}
END_TEST

START_TEST(msix_masked_vector_pends_until_unmasked)
{
	cfg_write(MSIX_CONTROL, 2, PCI_MSIX_FLAGS_ENABLE);
	program_vector(2, 0xfee00000, 0x31, true);
	ck_assert_uint_eq(programs[2], 0); /* masked: no routing update yet */
	ck_assert_int_eq(pci_msix_raise(&fn, 2), 0);
	ck_assert_int_eq(pci_msix_raise(&fn, 2), 0);
	ck_assert(pci_msix_pending(&fn, 2));
	ck_assert_uint_eq(table_read(0xc00, 4), 1u << 2);
	ck_assert_uint_eq(raised(2), 0);
	table_write(entry(2, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	ck_assert_uint_eq(programs[2], 1);
	ck_assert_uint_eq(fn.msix->msi[2].address, 0xfee00000);
	ck_assert_uint_eq(fn.msix->msi[2].data, 0x31);
	ck_assert_uint_eq(raised(2), 1); /* two masked raises coalesce into one message */
	ck_assert(!pci_msix_pending(&fn, 2));
	ck_assert_int_eq(pci_msix_raise(&fn, 2), 0);
	ck_assert_uint_eq(raised(2), 2);
	ck_assert_uint_eq(programs[2], 1);
	ck_assert_int_eq(pci_msix_raise(&fn, FAKE_VECTORS), -EINVAL);
}
END_TEST

START_TEST(msix_function_mask_and_enable)
{
	program_vector(0, 0xfee00000, 0x40, false);
	program_vector(1, 0xfee00000, 0x41, false);
	/* Disabled counts as masked: pending, delivered on enable. */
	ck_assert_int_eq(pci_msix_raise(&fn, 0), 0);
	ck_assert(pci_msix_pending(&fn, 0));
	cfg_write(MSIX_CONTROL, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	ck_assert_uint_eq(raised(0), 0);
	ck_assert_int_eq(pci_msix_raise(&fn, 1), 0);
	ck_assert_uint_eq(table_read(0xc00, 8), 3);
	cfg_write(MSIX_CONTROL, 2, PCI_MSIX_FLAGS_ENABLE);
	ck_assert_uint_eq(raised(0), 1);
	ck_assert_uint_eq(raised(1), 1);
	ck_assert_uint_eq(table_read(0xc00, 8), 0);
	ck_assert_uint_eq(cfg(MSIX_CONTROL, 2), PCI_MSIX_FLAGS_ENABLE | (FAKE_VECTORS - 1));
	/* Function mask does not change vector masks. */
	cfg_write(MSIX_CONTROL, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	ck_assert_uint_eq(table_read(entry(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 0);
	/* A masked vector stays pending through a function unmask. */
	table_write(entry(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 1);
	ck_assert_int_eq(pci_msix_raise(&fn, 1), 0);
	cfg_write(MSIX_CONTROL, 2, PCI_MSIX_FLAGS_ENABLE);
	ck_assert(pci_msix_pending(&fn, 1));
	ck_assert_uint_eq(raised(1), 1);
}
END_TEST

START_TEST(msix_rewriting_a_live_vector_reroutes)
{
	cfg_write(MSIX_CONTROL, 2, PCI_MSIX_FLAGS_ENABLE);
	program_vector(5, 0xfee00000, 0x50, false);
	ck_assert_uint_eq(programs[5], 1);
	table_write(entry(5, PCI_MSIX_ENTRY_DATA), 4, 0x51);
	ck_assert_uint_eq(programs[5], 2);
	ck_assert_uint_eq(fn.msix->msi[5].data, 0x51);
	/* Not an interrupt address: no route, raises are dropped and counted. */
	table_write(entry(5, PCI_MSIX_ENTRY_LOWER_ADDR), 4, 0x1000);
	ck_assert(!fn.msix->msi[5].routed);
	ck_assert_int_eq(pci_msix_raise(&fn, 5), 0);
	uint64_t delivered, dropped;

	pci_msix_counters(&fn, &delivered, &dropped);
	ck_assert_uint_eq(delivered, 0);
	ck_assert_uint_eq(dropped, 1);
}
END_TEST

START_TEST(msix_reset_masks_and_unroutes)
{
	cfg_write(MSIX_CONTROL, 2, PCI_MSIX_FLAGS_ENABLE);
	program_vector(0, 0xfee00000, 0x40, false);
	table_write(entry(1, PCI_MSIX_ENTRY_LOWER_ADDR), 4, 0xfee00000);
	ck_assert_int_eq(pci_msix_raise(&fn, 1), 0);
	ck_assert(pci_msix_pending(&fn, 1));
	pci_function_reset(&fn);
	ck_assert_uint_eq(cfg(MSIX_CONTROL, 2), FAKE_VECTORS - 1);
	ck_assert_uint_eq(table_read(entry(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 1);
	ck_assert_uint_eq(table_read(entry(1, PCI_MSIX_ENTRY_LOWER_ADDR), 4), 0);
	ck_assert(!pci_msix_pending(&fn, 1));
	ck_assert(!fn.msix->msi[0].routed);
}
END_TEST

struct raiser {
	unsigned count;
};

static void *raise_many(void *opaque)
{
	struct raiser *raiser = opaque;

	for (unsigned i = 0; i < raiser->count; i++)
		pci_msix_raise(&fn, 7);
	return NULL;
}

/* Raises racing mask toggles: nothing may stay pending once unmasked. */
START_TEST(msix_raise_races_unmask)
{
	struct raiser raiser = { .count = 20000 };
	pthread_t threads[2];

	cfg_write(MSIX_CONTROL, 2, PCI_MSIX_FLAGS_ENABLE);
	program_vector(7, 0xfee00000, 0x77, true);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, raise_many, &raiser), 0);
	/* Ends unmasked: a raise that lost the race would leave its bit stuck. */
	for (unsigned i = 1; i <= 4000; i++)
		table_write(entry(7, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, i & 1);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	ck_assert(!pci_msix_pending(&fn, 7));
	ck_assert_uint_ge(raised(7), 1);
	ck_assert_uint_le(raised(7), 2 * raiser.count);
	ck_assert_uint_eq(atomic_load(&fn.msix->msi[7].dropped), 0);
}
END_TEST

/* ---- host: decode table, ECAM and CF8/CFC ---- */

static struct vm vm;
static struct pci_host *host;
static struct pci_function other;
static struct probe other_probe;

static void host_setup(void)
{
	function_setup();
	memset(&vm, 0, sizeof(vm));
	memset(&other_probe, 0, sizeof(other_probe));
	bus_init(&vm.pio_bus, "pio");
	bus_init(&vm.mmio_bus, "mmio");
	host = pci_host_new("pci", true);
	ck_assert_ptr_nonnull(host);
	ck_assert_int_eq(pci_host_attach(host, &vm), 0);
	ck_assert_ptr_eq(vm.pci_host, host);
	ck_assert_int_eq(pci_function_init(&other, "other", &test_identity), 0);
	ck_assert_int_eq(pci_function_add_bar(&other, 0, PCI_BAR_MEM32, false, 0x1000, &probe_ops,
					      &other_probe), 0);
}

static void host_teardown(void)
{
	pci_host_free(host);
	pci_function_destroy(&other);
	bus_destroy(&vm.pio_bus);
	bus_destroy(&vm.mmio_bus);
	function_teardown();
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

static uint64_t pio_read(uint64_t port, unsigned size)
{
	uint64_t value = 0;

	bus_access(&vm.pio_bus, port, false, &value, size);
	return value;
}

static void pio_write(uint64_t port, unsigned size, uint64_t value)
{
	bus_access(&vm.pio_bus, port, true, &value, size);
}

static uint64_t ecam(unsigned bus, unsigned dev, unsigned func, unsigned reg)
{
	return PCI_HOST_ECAM_BASE + ((uint64_t)bus << 20 | dev << 15 | func << 12 | reg);
}

static void cf8_select(unsigned bus, unsigned dev, unsigned func, unsigned reg)
{
	pio_write(PCI_HOST_CF8_PORT, 4,
		  0x80000000u | bus << 16 | dev << 11 | func << 8 | (reg & 0xfc));
}

START_TEST(host_bridge_and_empty_slots)
{
	ck_assert_uint_eq(mmio_read(ecam(0, 0, 0, PCI_VENDOR_ID), 4),
			  PCI_HOST_BRIDGE_DEVICE_ID << 16 | PCI_HOST_BRIDGE_VENDOR_ID);
	ck_assert_uint_eq(mmio_read(ecam(0, 0, 0, PCI_CLASS_REVISION), 4) >> 8,
			  PCI_HOST_BRIDGE_CLASS);
	ck_assert_uint_eq(mmio_read(ecam(0, 1, 0, PCI_VENDOR_ID), 4), 0xffffffff);
	ck_assert_uint_eq(mmio_read(ecam(0, 0, 1, PCI_VENDOR_ID), 2), 0xffff);
	ck_assert_uint_eq(mmio_read(ecam(15, 0, 0, PCI_VENDOR_ID), 4), 0xffffffff);
	ck_assert_uint_eq(mmio_read(ecam(0, 0, 0, PCI_VENDOR_ID), 8), ~0ull);
	ck_assert_uint_eq(pio_read(PCI_HOST_CFC_PORT, 4), 0xffffffff); /* CF8 enable clear */
}
END_TEST

START_TEST(ecam_and_cf8_agree)
{
	ck_assert_int_eq(pci_host_add_function(host, &fn, 4), 4);
	for (unsigned reg = 0; reg < 0x50; reg++) {
		for (unsigned size = 1; size <= 4; size *= 2) {
			if (reg % size)
				continue;
			cf8_select(0, 4, 0, reg);
			ck_assert_uint_eq(pio_read(PCI_HOST_CFC_PORT + (reg & 3), size),
					  mmio_read(ecam(0, 4, 0, reg), size));
		}
	}
	/* Write through one, read through the other. */
	cf8_select(0, 4, 0, PCI_INTERRUPT_LINE);
	pio_write(PCI_HOST_CFC_PORT, 1, 0x0b);
	ck_assert_uint_eq(mmio_read(ecam(0, 4, 0, PCI_INTERRUPT_LINE), 1), 0x0b);
	mmio_write(ecam(0, 4, 0, PCI_CACHE_LINE_SIZE), 1, 0x10);
	cf8_select(0, 4, 0, PCI_CACHE_LINE_SIZE);
	ck_assert_uint_eq(pio_read(PCI_HOST_CFC_PORT, 1), 0x10);
	/* The same device on another bus does not exist. */
	cf8_select(1, 4, 0, 0);
	ck_assert_uint_eq(pio_read(PCI_HOST_CFC_PORT, 4), 0xffffffff);
}
END_TEST

START_TEST(cf8_latch_rules)
{
	pio_write(PCI_HOST_CF8_PORT, 4, 0xffffffff);
	ck_assert_uint_eq(pio_read(PCI_HOST_CF8_PORT, 4), 0x80fffffc); /* reserved bits read 0 */
	pio_write(PCI_HOST_CF8_PORT, 4, 0x80000000);
	ck_assert_uint_eq(pio_read(PCI_HOST_CF8_PORT, 4), 0x80000000);
	pio_write(PCI_HOST_CF8_PORT + 3, 1, 0x01); /* not a type 1 access: ignored */
	pio_write(PCI_HOST_CF8_PORT, 2, 0x1234);
	ck_assert_uint_eq(pio_read(PCI_HOST_CF8_PORT, 4), 0x80000000);
	ck_assert_uint_eq(pio_read(PCI_HOST_CF8_PORT, 1), 0xff);
	ck_assert_uint_eq(pio_read(PCI_HOST_CFC_PORT + 2, 2), PCI_HOST_BRIDGE_DEVICE_ID);
	ck_assert_uint_eq(pio_read(PCI_HOST_CFC_PORT + 1, 2), 0xffff); /* misaligned */
}
END_TEST

START_TEST(assigned_bars_decode)
{
	ck_assert_int_eq(pci_host_add_function(host, &fn, 2), 2);
	ck_assert_uint_eq(pci_function_bar_address(&fn, 0), PCI_HOST_MEM_BASE);
	ck_assert_uint_eq(pci_function_bar_address(&fn, 2), PCI_HOST_MEM_BASE + 0x4000);
	ck_assert_uint_eq(pci_function_bar_address(&fn, 4), PCI_HOST_IO_BASE);
	ck_assert_uint_eq(pci_function_command(&fn), PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	ck_assert_uint_eq(mmio_read(PCI_HOST_MEM_BASE + 0x10, 4), 0x5a5a5a5a);
	ck_assert_uint_eq(bar_probe[0].last_offset, 0x10);
	mmio_write(PCI_HOST_MEM_BASE + 0x4000 + 0x3ff8, 8, 0x1122334455667788ull);
	ck_assert_uint_eq(bar_probe[2].writes, 1);
	ck_assert_uint_eq(bar_probe[2].last_offset, 0x3ff8);
	ck_assert_uint_eq(bar_probe[2].last_value, 0x1122334455667788ull);
	pio_write(PCI_HOST_IO_BASE + 0x1c, 4, 7);
	ck_assert_uint_eq(bar_probe[4].last_offset, 0x1c);
	/* Straddling the BAR's end, or in a gap: master abort. */
	ck_assert_uint_eq(mmio_read(PCI_HOST_MEM_BASE + 0xffe, 4), 0xffffffff);
	ck_assert_uint_eq(mmio_read(PCI_HOST_MEM_BASE + 0x2000, 4), 0xffffffff);
	ck_assert_uint_eq(pio_read(PCI_HOST_IO_BASE + 0x20, 4), 0xffffffff);
	ck_assert_uint_eq(bar_probe[0].reads, 1);
}
END_TEST

START_TEST(command_gates_decode)
{
	unsigned slot = (unsigned)pci_host_add_function(host, &fn, -1);

	ck_assert_uint_eq(slot, 1);
	mmio_write(ecam(0, slot, 0, PCI_COMMAND), 2, PCI_COMMAND_IO);
	ck_assert_uint_eq(mmio_read(PCI_HOST_MEM_BASE, 4), 0xffffffff);
	ck_assert_uint_eq(bar_probe[0].reads, 0);
	ck_assert_uint_eq(pio_read(PCI_HOST_IO_BASE, 4), 0x5a5a5a5a);
	mmio_write(ecam(0, slot, 0, PCI_COMMAND), 2, PCI_COMMAND_MEMORY);
	ck_assert_uint_eq(pio_read(PCI_HOST_IO_BASE, 4), 0xffffffff);
	ck_assert_uint_eq(mmio_read(PCI_HOST_MEM_BASE, 4), 0x5a5a5a5a);
}
END_TEST

START_TEST(moving_a_bar_moves_decode)
{
	ck_assert_int_eq(pci_host_add_function(host, &fn, 3), 3);
	mmio_write(ecam(0, 3, 0, PCI_BASE_ADDRESS_0), 4, 0xd0000000);
	ck_assert_uint_eq(mmio_read(PCI_HOST_MEM_BASE, 4), 0xffffffff);
	ck_assert_uint_eq(mmio_read(0xd0000004, 4), 0x5a5a5a5a);
	ck_assert_uint_eq(bar_probe[0].last_offset, 4);
	/* Outside the window (below it, over RAM; straddling its end): not decoded. */
	mmio_write(ecam(0, 3, 0, PCI_BASE_ADDRESS_0), 4, 0x00100000);
	ck_assert_ptr_null(pci_host_decode(host, false, 0x00100000, 4, &(unsigned){ 0 },
					   &(uint64_t){ 0 }));
	mmio_write(ecam(0, 3, 0, PCI_BASE_ADDRESS_2), 4, 0xdfffc000);
	mmio_write(ecam(0, 3, 0, PCI_BASE_ADDRESS_3), 4, 0);
	ck_assert_uint_eq(mmio_read(0xdfffc000, 4), 0x5a5a5a5a);
	mmio_write(ecam(0, 3, 0, PCI_BASE_ADDRESS_3), 4, 1); /* above 4 GiB */
	ck_assert_uint_eq(mmio_read(0xdfffc000, 4), 0xffffffff);
	/* Aligned BARs cannot straddle a window's end: the last slot works, past it not. */
	mmio_write(ecam(0, 3, 0, PCI_BASE_ADDRESS_4), 4, 0xffe0);
	ck_assert_uint_eq(pio_read(0xfffc, 4), 0x5a5a5a5a);
	mmio_write(ecam(0, 3, 0, PCI_BASE_ADDRESS_4), 4, 0x10000);
	ck_assert_ptr_null(pci_host_decode(host, true, 0x10000, 4, &(unsigned){ 0 },
					   &(uint64_t){ 0 }));
}
END_TEST

START_TEST(overlap_lowest_slot_wins)
{
	ck_assert_int_eq(pci_host_add_function(host, &other, 9), 9);
	ck_assert_int_eq(pci_host_add_function(host, &fn, 5), 5);
	/* Slot order, not declaration order, decides assignment. */
	ck_assert_uint_eq(pci_function_bar_address(&fn, 0), PCI_HOST_MEM_BASE);
	uint64_t other_base = pci_function_bar_address(&other, 0);

	ck_assert_uint_eq(other_base, PCI_HOST_MEM_BASE + 0x8000);
	mmio_write(ecam(0, 9, 0, PCI_BASE_ADDRESS_0), 4, PCI_HOST_MEM_BASE);
	mmio_read(PCI_HOST_MEM_BASE, 4);
	ck_assert_uint_eq(bar_probe[0].reads, 1);
	ck_assert_uint_eq(other_probe.reads, 0);
	/* Move the winner away: the other BAR takes over the address. */
	mmio_write(ecam(0, 5, 0, PCI_BASE_ADDRESS_0), 4, 0xd0000000);
	mmio_read(PCI_HOST_MEM_BASE, 4);
	ck_assert_uint_eq(other_probe.reads, 1);
	ck_assert_uint_eq(bar_probe[0].reads, 1);
}
END_TEST

START_TEST(slot_allocation)
{
	ck_assert_int_eq(pci_host_add_function(host, &fn, 0), -EINVAL);
	ck_assert_int_eq(pci_host_add_function(host, &fn, 32), -EINVAL);
	ck_assert_int_eq(pci_host_add_function(host, &fn, 1), 1);
	ck_assert_int_eq(pci_host_add_function(host, &other, 1), -EBUSY);
	ck_assert_int_eq(pci_host_add_function(host, &other, -1), 2);
	struct pci_host *second = pci_host_new("pci2", true);

	ck_assert_int_eq(pci_host_attach(second, &vm), -EEXIST);
	pci_host_free(second);
}
END_TEST

START_TEST(firmware_assignment_can_be_off)
{
	struct pci_host *bare = pci_host_new("bare", false);

	ck_assert_int_eq(pci_host_add_function(bare, &fn, 1), 1);
	ck_assert_uint_eq(pci_function_bar_address(&fn, 0), 0);
	ck_assert_uint_eq(pci_function_command(&fn), 0);
	ck_assert_uint_eq(pci_config_read(&fn, PCI_BASE_ADDRESS_0, 4),
			  PCI_BASE_ADDRESS_MEM_PREFETCH);
	pci_host_free(bare);
}
END_TEST

START_TEST(host_reset_reassigns)
{
	ck_assert_int_eq(pci_host_add_function(host, &fn, 1), 1);
	mmio_write(ecam(0, 1, 0, PCI_BASE_ADDRESS_0), 4, 0xd0000000);
	mmio_write(ecam(0, 1, 0, PCI_INTERRUPT_LINE), 1, 5);
	pci_host_reset(host);
	ck_assert_uint_eq(pci_function_bar_address(&fn, 0), PCI_HOST_MEM_BASE);
	ck_assert_uint_eq(mmio_read(ecam(0, 1, 0, PCI_INTERRUPT_LINE), 1), 0);
	ck_assert_uint_eq(mmio_read(0xd0000000, 4), 0xffffffff);
}
END_TEST

/* ---- device models: config, device tree, and on a KVM VM ---- */

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
#define HOST_SECTION "[devices.pci]\ntype = \"pci-host\"\n"
#define TESTDEV_SECTION "[devices.td]\ntype = \"pci-testdev\"\n"

START_TEST(config_keys_are_validated)
{
	expect_config_error(VM_HEAD HOST_SECTION "assign_bars = 1\n", "assign_bars");
	expect_config_error(VM_HEAD HOST_SECTION "ecam = 1\n", "valid keys: type, assign_bars");
	expect_config_error(VM_HEAD TESTDEV_SECTION "vectors = 0\n", "1 to 64");
	expect_config_error(VM_HEAD TESTDEV_SECTION "vectors = 65\n", "1 to 64");
	expect_config_error(VM_HEAD TESTDEV_SECTION "slot = 0\n", "1 to 31");
	expect_config_error(VM_HEAD TESTDEV_SECTION "slot = 32\n", "1 to 31");
}
END_TEST

static uint32_t fdt_cell(const void *blob, int node, const char *name, int index, int count)
{
	int len;
	const fdt32_t *cells = fdt_getprop(blob, node, name, &len);

	ck_assert_msg(cells != NULL, "no %s", name);
	ck_assert_int_eq(len, count * 4);
	return fdt32_to_cpu(cells[index]);
}

START_TEST(device_tree_node)
{
	struct config_error error;
	void *blob;
	size_t size;

	config = parse(VM_HEAD HOST_SECTION, &error);
	ck_assert_msg(config != NULL, "%s", error.message);
	ck_assert_int_eq(fdt_build(config, &blob, &size), 0);
	int node = fdt_path_offset(blob, "/pci@e0000000");

	ck_assert_int_ge(node, 0);
	ck_assert_str_eq(fdt_getprop(blob, node, "compatible", NULL), "pci-host-ecam-generic");
	ck_assert_str_eq(fdt_getprop(blob, node, "device_type", NULL), "pci");
	ck_assert_uint_eq(fdt_cell(blob, node, "#address-cells", 0, 1), 3);
	ck_assert_uint_eq(fdt_cell(blob, node, "#size-cells", 0, 1), 2);
	ck_assert_uint_eq(fdt_cell(blob, node, "#interrupt-cells", 0, 1), 1);
	ck_assert_uint_eq(fdt_cell(blob, node, "bus-range", 1, 2), 15);
	ck_assert_uint_eq(fdt_cell(blob, node, "reg", 1, 4), 0xe0000000);
	ck_assert_uint_eq(fdt_cell(blob, node, "reg", 3, 4), 0x01000000);
	ck_assert_uint_eq(fdt_cell(blob, node, "ranges", 0, 14), 0x01000000);
	ck_assert_uint_eq(fdt_cell(blob, node, "ranges", 2, 14), 0xc000);
	ck_assert_uint_eq(fdt_cell(blob, node, "ranges", 6, 14), 0x4000);
	ck_assert_uint_eq(fdt_cell(blob, node, "ranges", 7, 14), 0x02000000);
	ck_assert_uint_eq(fdt_cell(blob, node, "ranges", 11, 14), 0xc0000000);
	ck_assert_uint_eq(fdt_cell(blob, node, "ranges", 13, 14), 0x20000000);
	ck_assert_ptr_null(fdt_getprop(blob, node, "interrupt-map", NULL));
	free(blob);
	config_free(config);
	config = NULL;
}
END_TEST

/* A KVM VM with what realize needs: buses, irq routing, event loop. No vCPUs, no RAM. */
static void kvm_setup(void)
{
	log_set_level(LOG_ERROR);
	kvm_fixture_open(&vm, 0);
	config = NULL;
}

static size_t realized;

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

static void kvm_teardown(void)
{
	for (size_t i = realized; config && i-- > 0;) {
		struct device *dev = config->devices[i];

		if (dev->model->unrealize)
			dev->model->unrealize(dev, &vm);
	}
	realized = 0;
	config_free(config);
	config = NULL;
	kvm_fixture_close(&vm);
	log_set_level(LOG_INFO);
}

static uint32_t config_dword(unsigned slot, unsigned reg)
{
	return (uint32_t)mmio_read(ecam(0, slot, 0, reg), 4);
}

static uint64_t bar_base(unsigned slot, unsigned bar)
{
	return config_dword(slot, PCI_BASE_ADDRESS_0 + 4 * bar) & ~0xfull;
}

START_TEST(testdev_needs_a_host_first)
{
	ck_assert_int_eq(realize(TESTDEV_SECTION), -ENODEV);
}
END_TEST

START_TEST(testdev_host_declared_too_late)
{
	ck_assert_int_eq(realize(TESTDEV_SECTION HOST_SECTION), -ENODEV);
}
END_TEST

START_TEST(testdev_enumerates_and_registers_work)
{
	ck_assert_int_eq(realize(HOST_SECTION TESTDEV_SECTION "vectors = 4\nslot = 6\n"), 0);
	ck_assert_uint_eq(config_dword(6, PCI_VENDOR_ID),
			  PCI_TESTDEV_DEVICE_ID << 16 | PCI_TESTDEV_VENDOR_ID);
	ck_assert_uint_eq(config_dword(6, PCI_CLASS_REVISION) >> 8, PCI_TESTDEV_CLASS);
	uint64_t regs = bar_base(6, 0), io = bar_base(6, 4) & ~0x3ull;

	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_MAGIC_REG, 4), PCI_TESTDEV_MAGIC);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_VERSION, 4), 1);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_VECTORS, 4), 4);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_MAGIC_REG, 2), 0xffff); /* 32-bit only */
	mmio_write(regs + PCI_TESTDEV_ECHO, 4, 0xcafef00d);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_ECHO, 4), 0xcafef00d);
	pio_write(io + PCI_TESTDEV_IO_ECHO, 4, 0x1234);
	ck_assert_uint_eq(pio_read(io + PCI_TESTDEV_IO_ECHO, 4), 0x1234);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_WRITE_COUNT, 4), 2);
	pio_write(io + PCI_TESTDEV_IO_WRITE_COUNT, 4, 0);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_WRITE_COUNT, 4), 0);
	/* A bad vector sets ERROR bit 0, which is RW1C. */
	mmio_write(regs + PCI_TESTDEV_RAISE, 4, 4);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_ERROR, 4), 1);
	mmio_write(regs + PCI_TESTDEV_ERROR, 4, 1);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_ERROR, 4), 0);
}
END_TEST

static void testdev_enable_msix(unsigned slot, unsigned vector, uint64_t address, uint32_t data)
{
	uint64_t table = bar_base(slot, PCI_TESTDEV_MSIX_BAR) + PCI_TESTDEV_MSIX_TABLE +
			 vector * PCI_MSIX_ENTRY_SIZE;
	unsigned cap = config_dword(slot, PCI_CAPABILITY_LIST) & 0xff;

	ck_assert_uint_eq(config_dword(slot, cap) & 0xff, PCI_CAP_ID_MSIX);
	mmio_write(table + PCI_MSIX_ENTRY_LOWER_ADDR, 8, address);
	mmio_write(table + PCI_MSIX_ENTRY_DATA, 4, data);
	mmio_write(table + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	mmio_write(ecam(0, slot, 0, cap + PCI_MSIX_FLAGS), 2, PCI_MSIX_FLAGS_ENABLE);
}

START_TEST(testdev_msix_through_kvm)
{
	ck_assert_int_eq(realize(HOST_SECTION TESTDEV_SECTION), 0);
	uint64_t regs = bar_base(1, 0);

	testdev_enable_msix(1, 0, 0xfee00000, 0x41);
	testdev_enable_msix(1, 1, 0x00001000, 0x42); /* not an interrupt address */
	mmio_write(regs + PCI_TESTDEV_RAISE, 4, 0);
	mmio_write(regs + PCI_TESTDEV_RAISE, 4, 1);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_RAISED, 4), 1);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_DROPPED, 4), 1);
	ck_assert_uint_eq(vm.irq.table->nr, 1);
	ck_assert_uint_eq(vm.irq.table->entries[0].u.msi.data, 0x41);
	/* PBA: masked raise pends; read it through the BAR. */
	uint64_t pba = bar_base(1, PCI_TESTDEV_MSIX_BAR) + PCI_TESTDEV_MSIX_PBA;

	mmio_write(bar_base(1, 2) + 2 * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
	mmio_write(regs + PCI_TESTDEV_RAISE, 4, 2);
	ck_assert_uint_eq(mmio_read(pba, 8), 1u << 2);
}
END_TEST

static void *run_loop(void *opaque)
{
	return (void *)(intptr_t)loop_run(opaque);
}

START_TEST(testdev_timer_raises_from_the_event_thread)
{
	pthread_t thread;

	ck_assert_int_eq(realize(HOST_SECTION TESTDEV_SECTION), 0);
	uint64_t regs = bar_base(1, 0);

	testdev_enable_msix(1, 3, 0xfee00000, 0x43);
	mmio_write(regs + PCI_TESTDEV_TIMER_VECTOR, 4, 3);
	ck_assert_int_eq(pthread_create(&thread, NULL, run_loop, &vm.loop), 0);
	mmio_write(regs + PCI_TESTDEV_TIMER_US, 4, 1000);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_TIMER_US, 4), 1000);
	for (int i = 0; i < 2000 && !mmio_read(regs + PCI_TESTDEV_TIMER_FIRED, 4); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	loop_stop(&vm.loop);
	pthread_join(thread, NULL);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_TIMER_FIRED, 4), 1);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_RAISED, 4), 1);
}
END_TEST

/* RAISE_TSC_LO/HI: the host TSC just before the latest valid raise. */
static uint64_t raise_tsc(uint64_t regs)
{
	return mmio_read(regs + PCI_TESTDEV_RAISE_TSC_HI, 4) << 32 |
	       mmio_read(regs + PCI_TESTDEV_RAISE_TSC_LO, 4);
}

START_TEST(testdev_raise_tsc_stamps_raises)
{
	ck_assert_int_eq(realize(HOST_SECTION TESTDEV_SECTION "vectors = 2\n"), 0);
	uint64_t regs = bar_base(1, 0);

	testdev_enable_msix(1, 0, 0xfee00000, 0x41);
	ck_assert_uint_eq(raise_tsc(regs), 0);
	uint64_t before = __rdtsc();

	mmio_write(regs + PCI_TESTDEV_RAISE, 4, 0);
	uint64_t after = __rdtsc(), stamp = raise_tsc(regs);

	ck_assert_uint_ge(stamp, before);
	ck_assert_uint_le(stamp, after);
	/* A bad vector is no raise: the stamp stays. */
	mmio_write(regs + PCI_TESTDEV_RAISE, 4, 2);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_ERROR, 4), 1);
	ck_assert_uint_eq(raise_tsc(regs), stamp);
	/* A masked raise (it pends) is stamped: the device raised it. */
	mmio_write(bar_base(1, 2) + PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
	mmio_write(regs + PCI_TESTDEV_RAISE, 4, 1);
	ck_assert_uint_gt(raise_tsc(regs), stamp);
	/* Read-only; reset clears it. */
	mmio_write(regs + PCI_TESTDEV_RAISE_TSC_LO, 4, 0);
	ck_assert_uint_gt(raise_tsc(regs), stamp);
	config->devices[1]->model->reset(config->devices[1]);
	ck_assert_uint_eq(raise_tsc(regs), 0);
}
END_TEST

START_TEST(testdev_periodic_timer)
{
	pthread_t thread;

	ck_assert_int_eq(realize(HOST_SECTION TESTDEV_SECTION), 0);
	uint64_t regs = bar_base(1, 0);

	testdev_enable_msix(1, 0, 0xfee00000, 0x40);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_TIMER_PERIOD_US, 4), 0);
	mmio_write(regs + PCI_TESTDEV_TIMER_PERIOD_US, 4, 1000);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_TIMER_PERIOD_US, 4), 1000);
	ck_assert_int_eq(pthread_create(&thread, NULL, run_loop, &vm.loop), 0);
	uint64_t before = __rdtsc();

	mmio_write(regs + PCI_TESTDEV_TIMER_US, 4, 500);
	for (int i = 0; i < 5000 && mmio_read(regs + PCI_TESTDEV_TIMER_FIRED, 4) < 3; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	mmio_write(regs + PCI_TESTDEV_TIMER_US, 4, 0); /* stops a periodic timer too */
	uint32_t fired = (uint32_t)mmio_read(regs + PCI_TESTDEV_TIMER_FIRED, 4);

	ck_assert_uint_ge(fired, 3);
	ck_assert_uint_gt(raise_tsc(regs), before);
	nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
	loop_stop(&vm.loop);
	pthread_join(thread, NULL);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_TIMER_FIRED, 4), fired);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_RAISED, 4), fired);
	/* Reset: one-shot again. */
	config->devices[1]->model->reset(config->devices[1]);
	ck_assert_uint_eq(mmio_read(regs + PCI_TESTDEV_TIMER_PERIOD_US, 4), 0);
}
END_TEST

START_TEST(testdev_auto_slots_and_conflicts)
{
	ck_assert_int_eq(realize(HOST_SECTION TESTDEV_SECTION
				 "[devices.td2]\ntype = \"pci-testdev\"\n"
				 "[devices.td3]\ntype = \"pci-testdev\"\nslot = 2\n"), -EBUSY);
	ck_assert_uint_eq(config_dword(1, PCI_VENDOR_ID), 0x00017f56);
	ck_assert_uint_eq(config_dword(2, PCI_VENDOR_ID), 0x00017f56);
	/* Distinct BARs, in slot order. */
	ck_assert_uint_lt(bar_base(1, 0), bar_base(2, 0));
}
END_TEST

Suite *pci_suite(void)
{
	Suite *suite = suite_create("pci");
	TCase *config_space = tcase_create("config-space");
	TCase *msix = tcase_create("msix");
	TCase *decode = tcase_create("host");
	TCase *models = tcase_create("models");
	TCase *kvm = tcase_create("kvm");

	tcase_add_checked_fixture(config_space, function_setup, function_teardown);
	tcase_add_test(config_space, header_identity);
	tcase_add_test(config_space, bar_sizing_mem32);
	tcase_add_test(config_space, bar_sizing_mem64);
	tcase_add_test(config_space, bar_sizing_io);
	tcase_add_test(config_space, unimplemented_bars_and_rom_read_zero);
	tcase_add_test(config_space, bar_byte_writes_merge);
	tcase_add_test(config_space, read_only_fields_ignore_writes);
	tcase_add_test(config_space, command_writable_bits);
	tcase_add_test(config_space, status_error_bits_are_rw1c);
	tcase_add_test(config_space, capability_walk);
	tcase_add_test(config_space, bad_accesses_read_ones_and_drop);
	tcase_add_test(config_space, garbage_writes_keep_invariants);
	tcase_add_test(config_space, add_bar_rejects_bad_layouts);
	suite_add_tcase(suite, config_space);

	tcase_add_checked_fixture(msix, function_setup, function_teardown);
	tcase_add_test(msix, msix_table_reads_and_writes);
	tcase_add_test(msix, msix_masked_vector_pends_until_unmasked);
	tcase_add_test(msix, msix_function_mask_and_enable);
	tcase_add_test(msix, msix_rewriting_a_live_vector_reroutes);
	tcase_add_test(msix, msix_reset_masks_and_unroutes);
	tcase_add_test(msix, msix_raise_races_unmask);
	suite_add_tcase(suite, msix);

	tcase_add_checked_fixture(decode, host_setup, host_teardown);
	tcase_add_test(decode, host_bridge_and_empty_slots);
	tcase_add_test(decode, ecam_and_cf8_agree);
	tcase_add_test(decode, cf8_latch_rules);
	tcase_add_test(decode, assigned_bars_decode);
	tcase_add_test(decode, command_gates_decode);
	tcase_add_test(decode, moving_a_bar_moves_decode);
	tcase_add_test(decode, overlap_lowest_slot_wins);
	tcase_add_test(decode, slot_allocation);
	tcase_add_test(decode, firmware_assignment_can_be_off);
	tcase_add_test(decode, host_reset_reassigns);
	suite_add_tcase(suite, decode);

	tcase_add_test(models, config_keys_are_validated);
	tcase_add_test(models, device_tree_node);
	suite_add_tcase(suite, models);

	tcase_add_checked_fixture(kvm, kvm_setup, kvm_teardown);
	tcase_add_test(kvm, testdev_needs_a_host_first);
	tcase_add_test(kvm, testdev_host_declared_too_late);
	tcase_add_test(kvm, testdev_enumerates_and_registers_work);
	tcase_add_test(kvm, testdev_msix_through_kvm);
	tcase_add_test(kvm, testdev_timer_raises_from_the_event_thread);
	tcase_add_test(kvm, testdev_raise_tsc_stamps_raises);
	tcase_add_test(kvm, testdev_periodic_timer);
	tcase_add_test(kvm, testdev_auto_slots_and_conflicts);
	suite_add_tcase(suite, kvm);
	return suite;
}
