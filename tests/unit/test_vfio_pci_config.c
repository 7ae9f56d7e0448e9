/* SPDX-License-Identifier: MIT */
/*
 * vfio-pci config-space virtualization without hardware or KVM: a fake
 * device behind struct vfio_pci_io (a DSA-like function: two 64-bit BARs,
 * PM, MSI, PCIe, MSI-X in BAR0, a vendor capability and one to hide) and
 * recording irq ops. Checked: identity and BAR sizing, capability
 * filtering, COMMAND forwarding, trapped BAR forwarding, the memslot
 * pieces around the MSI-X table, MSI-X enable/mask/pending driving the
 * host vectors' eventfds, the guest's Function Level Reset, and malformed MSI-X
 * layouts passing the function through with MSI-X hidden.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/device.h"
#include "devices/ioapic.h"
#include "devices/pci/config.h"
#include "devices/pci/msix.h"
#include "devices/vfio/pci.h"
#include "kvm_fixture.h"
#include "suites.h"
#include "vmm/vm.h"

#define VECTORS     9
#define BAR0_SIZE   0x10000u
#define BAR2_SIZE   0x20000u
#define TABLE       0x2000u
#define PBA         0x3000u

struct fake_device {
	uint8_t config[256];
	uint8_t bar0[BAR0_SIZE];
	unsigned command_writes;
	int msix_fds[VECTORS];
	int intx_trigger, intx_unmask;   /* the VMM's INTx eventfds */
	bool msix_enabled;
	unsigned set_calls, disable_calls;
	unsigned resets;                 /* VFIO_DEVICE_RESET calls */
	int reset_rc;                    /* what they return */
	bool msix_on_at_reset, intx_on_at_reset;
};

static struct fake_device fake;
static struct vfio_pci *pci;
static unsigned triggers[VECTORS], programs[VECTORS];

/* ---- the fake device ---- */

static int fake_read(void *opaque, unsigned index, uint64_t offset, void *buf, size_t len)
{
	struct fake_device *d = opaque;

	if (index == VFIO_PCI_CONFIG_REGION_INDEX && offset + len <= sizeof(d->config))
		memcpy(buf, d->config + offset, len);
	else if (index == 0 && offset + len <= sizeof(d->bar0))
		memcpy(buf, d->bar0 + offset, len);
	else
		return -EINVAL;
	return 0;
}

static int fake_write(void *opaque, unsigned index, uint64_t offset, const void *buf, size_t len)
{
	struct fake_device *d = opaque;

	if (index == VFIO_PCI_CONFIG_REGION_INDEX && offset + len <= sizeof(d->config)) {
		memcpy(d->config + offset, buf, len);
		d->command_writes += offset == PCI_COMMAND;
	} else if (index == 0 && offset + len <= sizeof(d->bar0)) {
		memcpy(d->bar0 + offset, buf, len);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int fake_set_eventfds(void *opaque, unsigned index, unsigned start, unsigned count,
			     const int *fds)
{
	struct fake_device *d = opaque;

	/* vfio-pci: one of INTx, MSI, MSI-X enabled at a time, else EINVAL. */
	if (index == VFIO_PCI_INTX_IRQ_INDEX) {
		ck_assert_uint_eq(start + count, 1);
		if (d->msix_enabled)
			return -EINVAL;
		d->intx_trigger = fds[0];
		return 0;
	}
	ck_assert_uint_eq(index, VFIO_PCI_MSIX_IRQ_INDEX);
	ck_assert_uint_le(start + count, VECTORS);
	if (d->intx_trigger >= 0)
		return -EINVAL;
	for (unsigned i = 0; i < count; i++)
		d->msix_fds[start + i] = fds[i];
	d->msix_enabled = true;
	d->set_calls++;
	return 0;
}

static int fake_disable(void *opaque, unsigned index)
{
	struct fake_device *d = opaque;

	if (index == VFIO_PCI_INTX_IRQ_INDEX) {
		d->intx_trigger = d->intx_unmask = -1;
		return 0;
	}
	for (unsigned i = 0; i < VECTORS; i++)
		d->msix_fds[i] = -1;
	d->msix_enabled = false;
	d->disable_calls++;
	return 0;
}

static int fake_set_unmask(void *opaque, unsigned index, int fd)
{
	struct fake_device *d = opaque;

	ck_assert_uint_eq(index, VFIO_PCI_INTX_IRQ_INDEX);
	d->intx_unmask = fd;
	return 0;
}

static int fake_reset(void *opaque)
{
	struct fake_device *d = opaque;

	d->resets++;
	d->msix_on_at_reset = d->msix_enabled;
	d->intx_on_at_reset = d->intx_trigger >= 0;
	/* Like the kernel: COMMAND comes back as saved before the reset. */
	return d->reset_rc;
}

static const struct vfio_pci_io fake_io = {
	.region_read = fake_read, .region_write = fake_write,
	.set_eventfds = fake_set_eventfds, .disable = fake_disable,
	.set_unmask_eventfd = fake_set_unmask, .reset = fake_reset,
};

/* The device interrupts on `vector`: what vfio-pci does, signal the trigger eventfd. */
static void device_signal(unsigned vector)
{
	uint64_t one = 1;

	ck_assert_int_ge(fake.msix_fds[vector], 0);
	ck_assert_int_eq(write(fake.msix_fds[vector], &one, sizeof(one)), sizeof(one));
}

/* ---- recording irq ops: real eventfds, no KVM ---- */

static unsigned vector_of(const struct irq_msi *msi)
{
	return (unsigned)(msi - pci->fn.msix->msi);
}

static int rec_init(struct vm *vm, struct irq_msi *msi)
{
	memset(msi, 0, sizeof(*msi));
	msi->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return msi->eventfd < 0 ? -errno : 0;
}

static int rec_program(struct irq_msi *msi, uint64_t address, uint32_t data)
{
	programs[vector_of(msi)]++;
	msi->address = address;
	msi->data = data;
	return 0;
}

static void rec_trigger(struct irq_msi *msi)
{
	triggers[vector_of(msi)]++;
}

static void rec_destroy(struct irq_msi *msi)
{
	if (msi->eventfd >= 0)
		close(msi->eventfd);
	msi->eventfd = -1;
}

static const struct pci_irq_ops rec_ops = {
	.init = rec_init, .program = rec_program, .trigger = rec_trigger, .destroy = rec_destroy,
};

/* ---- fixture ---- */

static void put32(uint8_t *p, unsigned offset, uint32_t value)
{
	for (unsigned i = 0; i < 4; i++)
		p[offset + i] = (uint8_t)(value >> (8 * i));
}

static void put16(uint8_t *p, unsigned offset, uint16_t value)
{
	p[offset] = (uint8_t)value;
	p[offset + 1] = (uint8_t)(value >> 8);
}

static void build_fake(void)
{
	uint8_t *c = fake.config;

	memset(&fake, 0, sizeof(fake));
	for (unsigned i = 0; i < VECTORS; i++)
		fake.msix_fds[i] = -1;
	fake.intx_trigger = fake.intx_unmask = -1;
	put16(c, PCI_VENDOR_ID, 0x8086);
	put16(c, PCI_DEVICE_ID, 0x0b25);
	put32(c, PCI_REVISION_ID, 0x08800001);       /* class 0x088000, revision 1 */
	c[PCI_HEADER_TYPE] = 0x80;                   /* multi-function on the host */
	put16(c, PCI_STATUS, PCI_STATUS_CAP_LIST);
	put32(c, PCI_BASE_ADDRESS_0, 0xfe00000c);    /* host address, 64-bit prefetchable */
	put32(c, PCI_BASE_ADDRESS_0 + 4, 0x0000003f);
	put32(c, PCI_BASE_ADDRESS_2, 0xfd00000c);
	put16(c, PCI_SUBSYSTEM_VENDOR_ID, 0x8086);
	put16(c, PCI_SUBSYSTEM_ID, 0x1234);
	c[PCI_INTERRUPT_PIN] = 1;
	c[PCI_CAPABILITY_LIST] = 0x40;
	/* 0x40 PM, state D3hot on the host */
	c[0x40] = PCI_CAP_ID_PM; c[0x41] = 0x50; put16(c, 0x42, 0x0003); put16(c, 0x44, 0x0003);
	/* 0x50 MSI: hidden */
	c[0x50] = PCI_CAP_ID_MSI; c[0x51] = 0x60; put16(c, 0x52, 0x0080);
	/* 0x60 PCIe v2 endpoint */
	c[0x60] = PCI_CAP_ID_EXP; c[0x61] = 0x98; put16(c, 0x62, 0x0002);
	put32(c, 0x64, 0x10008fc0);                   /* DevCap */
	/* 0x98 MSI-X: 9 vectors, table BAR0+0x2000, PBA BAR0+0x3000 */
	c[0x98] = PCI_CAP_ID_MSIX; c[0x99] = 0xa8; put16(c, 0x9a, VECTORS - 1);
	put32(c, 0x9c, TABLE | 0); put32(c, 0xa0, PBA | 0);
	/* 0xa8 vendor-specific, 8 bytes */
	c[0xa8] = PCI_CAP_ID_VNDR; c[0xa9] = 0xb0; c[0xaa] = 8; c[0xab] = 0x5a; put32(c, 0xac, 0xcafe);
	/* 0xb0 Advanced Features: hidden */
	c[0xb0] = PCI_CAP_ID_AF; c[0xb1] = 0; c[0xb2] = 6;
	for (unsigned i = 0; i < BAR0_SIZE; i += 4)
		put32(fake.bar0, i, 0xd5a00000u | i);
}

/* The function over the fake as it is now (tests may change it first). */
static void setup_pci(void)
{
	memset(triggers, 0, sizeof(triggers));
	memset(programs, 0, sizeof(programs));
	pci = calloc(1, sizeof(*pci));
	ck_assert_ptr_nonnull(pci);
	pci->name = "vf0";
	pci->io = &fake_io;
	pci->io_opaque = &fake;
	pci->intx.pin = -1;
	pci->dev.regions[0] = (struct vfio_region){
		.present = true, .size = BAR0_SIZE,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
	};
	pci->dev.regions[2] = (struct vfio_region){
		.present = true, .size = BAR2_SIZE, .area_count = 1,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP,
	};
	pci->dev.regions[2].areas[0].size = BAR2_SIZE;
	pci->dev.regions[VFIO_PCI_CONFIG_REGION_INDEX] = (struct vfio_region){
		.present = true, .size = 256,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
	};
	pci->dev.irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = VECTORS;
	ck_assert_int_eq(vfio_pci_read_config(pci), 0);
	ck_assert_int_eq(vfio_pci_build_function(pci, NULL, &rec_ops), 0);
	ck_assert_int_eq(vfio_pci_msix_init(pci), 0);
}

static void setup(void)
{
	build_fake();
	setup_pci();
}

static void teardown(void)
{
	vfio_pci_free(pci);
	pci = NULL;
}

static uint32_t cfg_read(unsigned offset, unsigned size)
{
	return pci_config_read(&pci->fn, offset, size);
}

static void cfg_write(unsigned offset, unsigned size, uint32_t value)
{
	pci_config_write(&pci->fn, offset, size, value);
}

static uint64_t bar0_read(uint64_t offset, unsigned size)
{
	return vfio_pci_bar_ops.read(&pci->bars[0], offset, size);
}

static void bar0_write(uint64_t offset, unsigned size, uint64_t value)
{
	vfio_pci_bar_ops.write(&pci->bars[0], offset, size, value);
}

/* Offsets of the guest's capabilities, in list order; returns how many. */
static unsigned guest_caps(uint8_t ids[16], unsigned offsets[16])
{
	unsigned n = 0, offset = cfg_read(PCI_CAPABILITY_LIST, 1);

	while (offset && n < 16) {
		ids[n] = (uint8_t)cfg_read(offset, 1);
		offsets[n++] = offset;
		offset = cfg_read(offset + 1, 1);
	}
	return n;
}

static unsigned guest_cap(uint8_t id)
{
	uint8_t ids[16];
	unsigned offsets[16], n = guest_caps(ids, offsets);

	for (unsigned i = 0; i < n; i++)
		if (ids[i] == id)
			return offsets[i];
	return 0;
}

/* ---- tests ---- */

START_TEST(identity_and_header)
{
	ck_assert_uint_eq(cfg_read(PCI_VENDOR_ID, 2), 0x8086);
	ck_assert_uint_eq(cfg_read(PCI_DEVICE_ID, 2), 0x0b25);
	ck_assert_uint_eq(cfg_read(PCI_CLASS_REVISION, 4), 0x08800001);
	ck_assert_uint_eq(cfg_read(PCI_SUBSYSTEM_ID, 2), 0x1234);
	ck_assert_uint_eq(cfg_read(PCI_HEADER_TYPE, 1), 0); /* single function here */
	/* The host's BAR addresses never show. */
	ck_assert_uint_eq(cfg_read(PCI_BASE_ADDRESS_0, 4), 0x0c);
	ck_assert_uint_eq(cfg_read(PCI_BASE_ADDRESS_1, 4), 0);
	/* No INTx unless configured. */
	ck_assert_uint_eq(cfg_read(PCI_INTERRUPT_PIN, 1), 0);
	/* Extended space is hidden. */
	ck_assert_uint_eq(cfg_read(0x100, 4), 0);
}
END_TEST

START_TEST(bar_sizing_and_relocation)
{
	cfg_write(PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	cfg_write(PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	ck_assert_uint_eq(cfg_read(PCI_BASE_ADDRESS_0, 4), (uint32_t)~(BAR0_SIZE - 1) | 0x0c);
	ck_assert_uint_eq(cfg_read(PCI_BASE_ADDRESS_1, 4), 0xffffffff);
	cfg_write(PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	ck_assert_uint_eq(cfg_read(PCI_BASE_ADDRESS_2, 4), (uint32_t)~(BAR2_SIZE - 1) | 0x0c);
	/* Unimplemented BAR4: hardwired 0. */
	cfg_write(PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	ck_assert_uint_eq(cfg_read(PCI_BASE_ADDRESS_4, 4), 0);

	/* Relocation: low bits below the size are dropped, the BAR reads back moved. */
	cfg_write(PCI_BASE_ADDRESS_0, 4, 0xc0123456);
	cfg_write(PCI_BASE_ADDRESS_1, 4, 0);
	ck_assert_uint_eq(pci_function_bar_address(&pci->fn, 0), 0xc0120000);
	/* The device's own BARs were never written. */
	ck_assert_uint_eq(fake.config[PCI_BASE_ADDRESS_0 + 3], 0xfe);
}
END_TEST

START_TEST(capability_filtering)
{
	uint8_t ids[16];
	unsigned offsets[16];
	unsigned n = guest_caps(ids, offsets);

	/* Device order, MSI and the AF capability gone. */
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(ids[0], PCI_CAP_ID_PM);
	ck_assert_uint_eq(ids[1], PCI_CAP_ID_EXP);
	ck_assert_uint_eq(ids[2], PCI_CAP_ID_MSIX);
	ck_assert_uint_eq(ids[3], PCI_CAP_ID_VNDR);
	ck_assert_uint_eq(pci->caps_kept, 4);
	ck_assert_uint_eq(pci->caps_hidden, 2);

	/* PM: the guest sees D0 and cannot move the device to D3. */
	unsigned pm = guest_cap(PCI_CAP_ID_PM);

	ck_assert_uint_eq(cfg_read(pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK, 0);
	cfg_write(pm + PCI_PM_CTRL, 2, 3);
	ck_assert_uint_eq(cfg_read(pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK, 0);
	ck_assert_uint_eq(fake.config[0x44], 3); /* nothing forwarded */

	/* PCIe and vendor capabilities: read-only copies. */
	unsigned exp = guest_cap(PCI_CAP_ID_EXP), vndr = guest_cap(PCI_CAP_ID_VNDR);

	ck_assert_uint_eq(cfg_read(exp + PCI_EXP_DEVCAP, 4), 0x10008fc0);
	cfg_write(exp + PCI_EXP_DEVCTL, 2, 0x7fff); /* all but Initiate FLR: flr_* tests */
	ck_assert_uint_eq(cfg_read(exp + PCI_EXP_DEVCTL, 2), 0);
	ck_assert_uint_eq(cfg_read(vndr + 2, 1), 8);
	ck_assert_uint_eq(cfg_read(vndr + 4, 4), 0xcafe);

	/* MSI-X: the device's table size, BIR and offsets. */
	unsigned msix = guest_cap(PCI_CAP_ID_MSIX);

	ck_assert_uint_eq(cfg_read(msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, VECTORS - 1);
	ck_assert_uint_eq(cfg_read(msix + PCI_MSIX_TABLE, 4), TABLE);
	ck_assert_uint_eq(cfg_read(msix + PCI_MSIX_PBA, 4), PBA);
}
END_TEST

START_TEST(hostile_capability_lists)
{
	/* A list that loops back on itself and one pointing into the header. */
	teardown();
	build_fake();
	fake.config[0xb1] = 0x40; /* AF -> PM again: a loop */
	pci = calloc(1, sizeof(*pci));
	pci->name = "loop";
	pci->io = &fake_io;
	pci->io_opaque = &fake;
	pci->intx.pin = -1;
	ck_assert_int_eq(vfio_pci_read_config(pci), 0);
	ck_assert_int_eq(vfio_pci_find_cap(pci->raw, 0x77), 0); /* terminates */
	fake.config[PCI_CAPABILITY_LIST] = 0x10; /* into the BARs: no capabilities */
	ck_assert_int_eq(vfio_pci_read_config(pci), 0);
	ck_assert_int_eq(vfio_pci_find_cap(pci->raw, PCI_CAP_ID_PM), 0);
	/* No BAR regions: MSI-X cannot be offered and is hidden, not fatal. */
	fake.config[PCI_CAPABILITY_LIST] = 0x40;
	ck_assert_int_eq(vfio_pci_read_config(pci), 0);
	ck_assert_int_eq(vfio_pci_build_function(pci, NULL, &rec_ops), 0);
	ck_assert(!pci->msix.present);
	ck_assert_ptr_null(pci->fn.msix);
	/* The AF -> PM loop is walked once: PM, PCIe, vendor kept; MSI, MSI-X, AF hidden. */
	ck_assert_uint_eq(pci->caps_kept, 3);
	ck_assert_uint_eq(pci->caps_hidden, 3);
}
END_TEST

/* ---- malformed MSI-X: hidden with one warning, the function passed through ---- */

static int saved_stderr = -1;
static FILE *captured;
static char log_text[8192];

/* What the VMM logs from here to capture_end() goes to a file. */
static void capture_start(void)
{
	fflush(stderr);
	captured = tmpfile();
	ck_assert_ptr_nonnull(captured);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_ge(dup2(fileno(captured), STDERR_FILENO), 0);
}

/* stderr restored; the captured text is in log_text. */
static void capture_end(void)
{
	size_t n;

	fflush(stderr);
	ck_assert_int_ge(dup2(saved_stderr, STDERR_FILENO), 0);
	close(saved_stderr);
	rewind(captured);
	n = fread(log_text, 1, sizeof(log_text) - 1, captured);
	log_text[n] = '\0';
	fclose(captured);
}

/* How many captured lines contain `needle`. */
static unsigned captured_lines(const char *needle)
{
	unsigned n = 0;

	for (const char *line = log_text; *line; ) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *hit = strstr(line, needle);

		n += hit && hit < line + len;
		line += len + (end != NULL);
	}
	return n;
}

/*
 * Realize over the fake as the test left it: it must succeed, with MSI-X
 * hidden (not in the guest's list, nothing virtualized) and exactly one
 * warning, which says `why`.
 */
static void expect_msix_hidden(const char *why)
{
	capture_start();
	setup_pci();
	capture_end();
	ck_assert_uint_eq(captured_lines("MSI-X hidden"), 1);
	ck_assert_msg(captured_lines(why) == 1, "warning without '%s': %s", why, log_text);
	ck_assert(!pci->msix.present);
	ck_assert_ptr_null(pci->fn.msix);
	ck_assert_uint_eq(guest_cap(PCI_CAP_ID_MSIX), 0);
}

/* The function without MSI-X is still one a driver can use. */
static void expect_function_usable(void)
{
	uint8_t ids[16];
	unsigned offsets[16];

	ck_assert_uint_eq(cfg_read(PCI_VENDOR_ID, 2), 0x8086);
	ck_assert_uint_eq(guest_caps(ids, offsets), 3);
	ck_assert_uint_eq(ids[0], PCI_CAP_ID_PM);
	ck_assert_uint_eq(ids[1], PCI_CAP_ID_EXP);
	ck_assert_uint_eq(ids[2], PCI_CAP_ID_VNDR);
	/* BARs size and decode, COMMAND reaches the device. */
	cfg_write(PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	ck_assert_uint_eq(cfg_read(PCI_BASE_ADDRESS_0, 4), (uint32_t)~(BAR0_SIZE - 1) | 0x0c);
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ck_assert_uint_eq(fake.config[PCI_COMMAND], PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/* Nothing in BAR0 is virtual any more: the device's table bytes read through. */
	ck_assert_uint_eq(bar0_read(TABLE, 4), 0xd5a00000u | TABLE);
	bar0_write(0x200, 4, 0x11223344);
	ck_assert_uint_eq(fake.bar0[0x200], 0x44);
	/* No MSI-X host state, and none to clean up. */
	ck_assert_ptr_null(pci->parked);
	ck_assert(!fake.msix_enabled);
}

static void set_msix(uint16_t qsize, uint32_t table, uint32_t pba)
{
	put16(fake.config, 0x9a, qsize);
	put32(fake.config, 0x9c, table);
	put32(fake.config, 0xa0, pba);
}

START_TEST(msix_table_beyond_bar)
{
	set_msix(VECTORS - 1, BAR0_SIZE - 0x10, PBA);   /* 9 entries from 16 bytes before the end */
	expect_msix_hidden("its table does not fit in its BAR");
	expect_function_usable();
	teardown();
	/* Starting past the end, with an offset that would wrap a 32-bit sum. */
	build_fake();
	set_msix(VECTORS - 1, 0xfffffff8, PBA);
	expect_msix_hidden("its table does not fit in its BAR");
	expect_function_usable();
}
END_TEST

START_TEST(msix_pba_beyond_bar)
{
	set_msix(VECTORS - 1, TABLE, BAR0_SIZE);        /* the PBA's 8 bytes just past the end */
	expect_msix_hidden("its PBA does not fit in its BAR");
	expect_function_usable();
	teardown();
	build_fake();
	/* 2048 vectors: a 256-byte PBA, which starts 0xf8 bytes before the end. */
	set_msix(0x7ff, 0, BAR0_SIZE - 0xf8);
	expect_msix_hidden("its PBA does not fit in its BAR");
	expect_function_usable();
}
END_TEST

START_TEST(msix_in_absent_or_empty_bar)
{
	/* BAR4: VFIO has no region for it. */
	set_msix(VECTORS - 1, TABLE | 4, PBA | 4);
	expect_msix_hidden("its BAR is not offered to the guest");
	expect_function_usable();
	teardown();
	/* BAR1: the high half of 64-bit BAR0, not a BAR of its own. */
	build_fake();
	set_msix(VECTORS - 1, TABLE | 1, PBA | 1);
	expect_msix_hidden("its BAR is not offered to the guest");
	expect_function_usable();
	teardown();
	/* BIR 7: reserved. */
	build_fake();
	set_msix(VECTORS - 1, TABLE | 7, PBA | 7);
	expect_msix_hidden("its BAR is not offered to the guest");
	expect_function_usable();
}
END_TEST

/* A BAR VFIO reports with size 0 is not offered, so neither is an MSI-X table in it. */
START_TEST(msix_in_zero_size_bar)
{
	set_msix(VECTORS - 1, TABLE | 4, PBA | 4);
	put32(fake.config, PCI_BASE_ADDRESS_4, 0);
	pci = calloc(1, sizeof(*pci));
	ck_assert_ptr_nonnull(pci);
	pci->name = "bar4-empty";
	pci->io = &fake_io;
	pci->io_opaque = &fake;
	pci->intx.pin = -1;
	pci->dev.regions[0] = (struct vfio_region){ .present = true, .size = BAR0_SIZE };
	pci->dev.regions[4] = (struct vfio_region){ .present = true, .size = 0 };
	pci->dev.irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = VECTORS;
	ck_assert_int_eq(vfio_pci_read_config(pci), 0);
	capture_start();
	ck_assert_int_eq(vfio_pci_build_function(pci, NULL, &rec_ops), 0);
	capture_end();
	ck_assert_uint_eq(captured_lines("MSI-X hidden: its BAR is not offered"), 1);
	ck_assert_int_eq(vfio_pci_msix_init(pci), 0);
	ck_assert(!pci->msix.present);
	ck_assert_uint_eq(guest_cap(PCI_CAP_ID_MSIX), 0);
	ck_assert_uint_eq(cfg_read(PCI_BASE_ADDRESS_4, 4), 0);
}
END_TEST

START_TEST(msix_table_and_pba_overlap)
{
	/* The PBA inside the table: one of them would have to be the device's. */
	set_msix(VECTORS - 1, TABLE, TABLE + 0x10);
	expect_msix_hidden("its table and PBA overlap");
	expect_function_usable();
	teardown();
	/* The same offset for both. */
	build_fake();
	set_msix(VECTORS - 1, TABLE, TABLE);
	expect_msix_hidden("its table and PBA overlap");
	expect_function_usable();
	teardown();
	/* Table ending exactly where the PBA starts: adjacent, not overlapping, offered. */
	build_fake();
	set_msix(VECTORS - 1, TABLE, TABLE + VECTORS * 16 + 8);
	setup_pci();
	ck_assert(pci->msix.present);
	ck_assert_uint_ne(guest_cap(PCI_CAP_ID_MSIX), 0);
}
END_TEST

START_TEST(msix_table_size_zero)
{
	/* VFIO offers no MSI-X vectors (an IRQ count of 0): nothing could fire. */
	capture_start();
	memset(triggers, 0, sizeof(triggers));
	pci = calloc(1, sizeof(*pci));
	ck_assert_ptr_nonnull(pci);
	pci->name = "no-vectors";
	pci->io = &fake_io;
	pci->io_opaque = &fake;
	pci->intx.pin = -1;
	pci->dev.regions[0] = (struct vfio_region){ .present = true, .size = BAR0_SIZE };
	ck_assert_int_eq(vfio_pci_read_config(pci), 0);
	ck_assert_int_eq(vfio_pci_build_function(pci, NULL, &rec_ops), 0);
	capture_end();
	ck_assert_uint_eq(captured_lines("MSI-X hidden: VFIO offers no MSI-X vectors"), 1);
	ck_assert_int_eq(vfio_pci_msix_init(pci), 0);
	ck_assert(!pci->msix.present);
	ck_assert_uint_eq(guest_cap(PCI_CAP_ID_MSIX), 0);
	teardown();
	/*
	 * A Table Size field of 0 is not an empty table: the field is N - 1, so
	 * it is one vector, which is offered as such.
	 */
	build_fake();
	set_msix(0, TABLE, PBA);
	setup_pci();
	ck_assert(pci->msix.present);
	ck_assert_uint_eq(pci->fn.msix->vectors, 1);
	ck_assert_uint_eq(cfg_read(guest_cap(PCI_CAP_ID_MSIX) + PCI_MSIX_FLAGS, 2) &
			  PCI_MSIX_FLAGS_QSIZE, 0);
}
END_TEST

/*
 * The guest's config space is full by the time the MSI-X capability comes
 * (a long vendor capability before it): no room, MSI-X hidden, not fatal.
 */
START_TEST(msix_no_room_in_config_space)
{
	uint8_t *c = fake.config;

	/* 0x40 vendor, 0xb8 bytes (to 0xf8) -> 0xf4 MSI-X -> end; the guest's copy needs 0x104. */
	memset(c + 0x40, 0, 0xc0);
	c[PCI_CAPABILITY_LIST] = 0x40;
	c[0x40] = PCI_CAP_ID_VNDR; c[0x41] = 0xf4; c[0x42] = 0xb8;
	c[0xf4] = PCI_CAP_ID_MSIX; c[0xf5] = 0; put16(c, 0xf6, VECTORS - 1);
	put32(c, 0xf8, TABLE); put32(c, 0xfc, PBA);
	capture_start();
	setup_pci();
	capture_end();
	ck_assert_uint_eq(captured_lines("MSI-X hidden: no room is left"), 1);
	ck_assert(!pci->msix.present);
	ck_assert_ptr_null(pci->fn.msix);
	uint8_t ids[16];
	unsigned offsets[16];

	ck_assert_uint_eq(guest_caps(ids, offsets), 1);
	ck_assert_uint_eq(ids[0], PCI_CAP_ID_VNDR);
	ck_assert_uint_eq(bar0_read(TABLE, 4), 0xd5a00000u | TABLE);
}
END_TEST

/* A host resource error while setting MSI-X up is not a layout problem: realize fails. */
static int enomem_init(struct vm *vm, struct irq_msi *msi)
{
	memset(msi, 0, sizeof(*msi));
	msi->eventfd = -1;
	return -ENOMEM;
}

static const struct pci_irq_ops enomem_ops = {
	.init = enomem_init, .program = rec_program, .trigger = rec_trigger,
	.destroy = rec_destroy,
};

START_TEST(msix_host_resource_error_fails)
{
	pci = calloc(1, sizeof(*pci));
	ck_assert_ptr_nonnull(pci);
	pci->name = "enomem";
	pci->io = &fake_io;
	pci->io_opaque = &fake;
	pci->intx.pin = -1;
	pci->dev.regions[0] = (struct vfio_region){ .present = true, .size = BAR0_SIZE };
	pci->dev.irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = VECTORS;
	ck_assert_int_eq(vfio_pci_read_config(pci), 0);
	ck_assert_int_eq(vfio_pci_build_function(pci, NULL, &enomem_ops), -ENOMEM);
	ck_assert(!pci->msix.present);
	ck_assert_ptr_null(pci->fn.msix);
}
END_TEST

START_TEST(command_forwarding)
{
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		  PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_SERR);
	uint16_t device = (uint16_t)(fake.config[PCI_COMMAND] | fake.config[PCI_COMMAND + 1] << 8);

	ck_assert_uint_eq(device, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	unsigned writes = fake.command_writes;

	/* Unchanged forwarded bits: no device write. */
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ck_assert_uint_eq(fake.command_writes, writes);
	cfg_write(PCI_COMMAND, 2, 0);
	ck_assert_uint_eq(fake.config[PCI_COMMAND], 0);
}
END_TEST

START_TEST(trapped_bar_forwarding)
{
	ck_assert_uint_eq(bar0_read(0x100, 4), 0xd5a00100u);
	ck_assert_uint_eq(bar0_read(0x108, 8), 0xd5a0010cd5a00108ull);
	bar0_write(0x200, 4, 0x11223344);
	ck_assert_uint_eq(fake.bar0[0x200], 0x44);
	/* The table page's other bytes are the device's; the table is not. */
	ck_assert_uint_eq(bar0_read(TABLE + VECTORS * 16, 4), 0xd5a00000u | (TABLE + VECTORS * 16));
	bar0_write(TABLE, 4, 0xfee00000);
	ck_assert_uint_eq(fake.bar0[TABLE + 3], 0xd5); /* never reached the device */
	ck_assert_uint_eq(bar0_read(TABLE, 4), 0xfee00000);
}
END_TEST

START_TEST(memslot_pieces)
{
	struct vfio_pci_map out[VFIO_PCI_MAX_MAPS];
	const uint64_t msix[2][2] = { { TABLE, VECTORS * 16 }, { PBA, 8 } };
	const uint64_t same_page[2][2] = { { 0x1000, 16 }, { 0x1800, 8 } };

	unsigned n = vfio_pci_split_area(0, BAR0_SIZE, msix, 2, out, VFIO_PCI_MAX_MAPS);

	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[0].offset, 0);
	ck_assert_uint_eq(out[0].size, TABLE);
	ck_assert_uint_eq(out[1].offset, PBA + 0x1000);
	ck_assert_uint_eq(out[1].size, BAR0_SIZE - PBA - 0x1000);
	n = vfio_pci_split_area(0, 0x4000, same_page, 2, out, VFIO_PCI_MAX_MAPS);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[1].offset, 0x2000);
	/* Unaligned areas shrink to whole pages; a sub-page area maps nothing. */
	n = vfio_pci_split_area(0x800, 0x2000, NULL, 0, out, VFIO_PCI_MAX_MAPS);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0].offset, 0x1000);
	ck_assert_uint_eq(out[0].size, 0x1000);
	ck_assert_uint_eq(vfio_pci_split_area(0x10, 0x100, NULL, 0, out, 4), 0);
	ck_assert_uint_eq(vfio_pci_split_area(UINT64_MAX - 0xfff, 0x2000, NULL, 0, out, 4), 0);
	/* The mmappable BAR2 of the fixture has no MSI-X in it. */
	ck_assert(!pci->bars[2].io);
	ck_assert_uint_eq(pci->bars[2].size, BAR2_SIZE);
}
END_TEST

static void table_entry(unsigned vector, uint64_t address, uint32_t data, bool masked)
{
	bar0_write(TABLE + vector * 16, 4, (uint32_t)address);
	bar0_write(TABLE + vector * 16 + 4, 4, (uint32_t)(address >> 32));
	bar0_write(TABLE + vector * 16 + 8, 4, data);
	bar0_write(TABLE + vector * 16 + 12, 4, masked);
}

START_TEST(msix_enable_mask_pending)
{
	unsigned cap = guest_cap(PCI_CAP_ID_MSIX);
	struct pci_msix *msix = pci->fn.msix;

	/* Enable with every vector masked: all host vectors parked. */
	ck_assert(!fake.msix_enabled);
	cfg_write(cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	ck_assert(fake.msix_enabled);
	ck_assert_uint_eq(fake.set_calls, 1);
	for (unsigned v = 0; v < VECTORS; v++) {
		ck_assert_int_eq(fake.msix_fds[v], pci->parked[v]);
		ck_assert_int_ne(fake.msix_fds[v], msix->msi[v].eventfd);
	}

	/* Unmask vector 0: its host trigger is the irqfd's eventfd now. */
	table_entry(0, 0xfee00000, 0x41, false);
	ck_assert_int_eq(fake.msix_fds[0], msix->msi[0].eventfd);
	ck_assert_uint_eq(programs[0], 1);
	ck_assert_uint_eq(msix->msi[0].data, 0x41);

	/* Mask it, the device fires: pending, not delivered. */
	bar0_write(TABLE + 12, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	ck_assert_int_eq(fake.msix_fds[0], pci->parked[0]);
	device_signal(0);
	ck_assert_uint_eq(bar0_read(PBA, 8) & 1, 1);
	ck_assert_uint_eq(triggers[0], 0);

	/* Unmask: the pending message is sent once and the bit clears. */
	bar0_write(TABLE + 12, 4, 0);
	ck_assert_uint_eq(triggers[0], 1);
	ck_assert_uint_eq(bar0_read(PBA, 8) & 1, 0);

	/* Pending found at unmask even without a PBA read in between. */
	bar0_write(TABLE + 12, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	device_signal(0);
	bar0_write(TABLE + 12, 4, 0);
	ck_assert_uint_eq(triggers[0], 2);

	/* Function mask parks everything; clearing it brings vector 0 back. */
	unsigned calls = fake.set_calls;

	cfg_write(cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	ck_assert_int_eq(fake.msix_fds[0], pci->parked[0]);
	ck_assert_uint_eq(fake.set_calls, calls + 1); /* only the live vector moved */
	device_signal(0);
	ck_assert_uint_eq(bar0_read(PBA, 4) & 1, 1);
	cfg_write(cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	ck_assert_int_eq(fake.msix_fds[0], msix->msi[0].eventfd);
	ck_assert_uint_eq(triggers[0], 3);

	/* Disable: the host index goes off. */
	cfg_write(cap + PCI_MSIX_FLAGS, 2, 0);
	ck_assert(!fake.msix_enabled);
	ck_assert_uint_eq(fake.disable_calls, 1);
}
END_TEST

START_TEST(msix_hostile_table_access)
{
	unsigned cap = guest_cap(PCI_CAP_ID_MSIX);

	cfg_write(cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	/* Misaligned, odd-sized and PBA writes are dropped; nothing reaches the device. */
	bar0_write(TABLE + 1, 4, 0);
	bar0_write(TABLE + 12, 2, 0);
	bar0_write(PBA, 8, ~0ull);
	ck_assert_uint_eq(bar0_read(PBA, 8), 0);
	ck_assert_uint_eq(bar0_read(TABLE + 12, 4), PCI_MSIX_ENTRY_CTRL_MASKBIT);
	ck_assert_uint_eq(bar0_read(TABLE + 2, 4), 0xffffffffu);
	/* Reads past the BAR: all-ones, no crash. */
	ck_assert_uint_eq(bar0_read(BAR0_SIZE + 8, 4), 0xffffffffu);
	/* Non-interrupt address: programmed as given, delivery is irq.c's business. */
	table_entry(1, 0x1000, 0, false);
	ck_assert_int_eq(fake.msix_fds[1], pci->fn.msix->msi[1].eventfd);
	/* Reserved vector-control bits read 0. */
	bar0_write(TABLE + 2 * 16 + 12, 4, 0xfffffffe);
	ck_assert_uint_eq(bar0_read(TABLE + 2 * 16 + 12, 4), 0);
}
END_TEST

START_TEST(reset_turns_msix_off)
{
	unsigned cap = guest_cap(PCI_CAP_ID_MSIX);

	cfg_write(cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	ck_assert(fake.msix_enabled);
	pci_function_reset(&pci->fn); /* what the host does on a VM reset */
	ck_assert(!fake.msix_enabled);
	ck_assert_uint_eq(cfg_read(cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE, 0);
}
END_TEST

/* ---- Function Level Reset through the PCIe capability's DEVCTL ---- */

static uint16_t device_command(void)
{
	return (uint16_t)(fake.config[PCI_COMMAND] | fake.config[PCI_COMMAND + 1] << 8);
}

/* BARs placed, decoding and bus mastering on, MSI-X on with vector 0 live. */
static void bring_up(void)
{
	cfg_write(PCI_BASE_ADDRESS_0, 4, 0xc0000000);
	cfg_write(PCI_BASE_ADDRESS_2, 4, 0xc0100000);
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_write(guest_cap(PCI_CAP_ID_MSIX) + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	table_entry(0, 0xfee00000, 0x41, false);
	ck_assert(fake.msix_enabled);
	ck_assert_int_eq(fake.msix_fds[0], pci->fn.msix->msi[0].eventfd);
	ck_assert_uint_eq(device_command(), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

START_TEST(flr_resets_device_and_function)
{
	unsigned exp = guest_cap(PCI_CAP_ID_EXP), msix = guest_cap(PCI_CAP_ID_MSIX);

	bring_up();
	cfg_write(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
	ck_assert_uint_eq(fake.resets, 1);
	ck_assert(!fake.msix_on_at_reset);             /* host vectors off before the reset */
	/* The function's registers as an FLR leaves them. */
	ck_assert_uint_eq(cfg_read(PCI_COMMAND, 2), 0);
	ck_assert_uint_eq(device_command() & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), 0);
	ck_assert_uint_eq(cfg_read(PCI_BASE_ADDRESS_0, 4), 0x0c); /* type bits only */
	ck_assert_uint_eq(cfg_read(PCI_BASE_ADDRESS_2, 4), 0x0c);
	ck_assert_uint_eq(cfg_read(msix + PCI_MSIX_FLAGS, 2) & (PCI_MSIX_FLAGS_ENABLE |
								 PCI_MSIX_FLAGS_MASKALL), 0);
	ck_assert_uint_eq(bar0_read(TABLE + 12, 4), PCI_MSIX_ENTRY_CTRL_MASKBIT);
	ck_assert(!fake.msix_enabled);
	ck_assert(!pci->msix_host_enabled);
	/* Initiate FLR reads 0; the rest of the capability is untouched. */
	ck_assert_uint_eq(cfg_read(exp + PCI_EXP_DEVCTL, 2), 0);
	ck_assert_uint_eq(cfg_read(exp + PCI_EXP_DEVCAP, 4), 0x10008fc0);
	ck_assert_uint_eq(cfg_read(PCI_VENDOR_ID, 2), 0x8086);

	/* The guest sets the function up again and it works. */
	bring_up();

	/* Any access size reaching bit 15: a dword at DEVCTL, a byte at DEVCTL + 1. */
	cfg_write(exp + PCI_EXP_DEVCTL, 4, 0xffff0000u | PCI_EXP_DEVCTL_BCR_FLR);
	ck_assert_uint_eq(fake.resets, 2);
	ck_assert_uint_eq(cfg_read(PCI_COMMAND, 2), 0);
	bring_up();
	cfg_write(exp + PCI_EXP_DEVCTL + 1, 1, PCI_EXP_DEVCTL_BCR_FLR >> 8);
	ck_assert_uint_eq(fake.resets, 3);
	ck_assert(!fake.msix_enabled);
}
END_TEST

START_TEST(flr_reset_failure_still_resets_the_function)
{
	unsigned exp = guest_cap(PCI_CAP_ID_EXP);

	/* VFIO cannot reset it: the emulated function is reset all the same (warned once). */
	fake.reset_rc = -ENOTTY;
	bring_up();
	cfg_write(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
	cfg_write(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
	ck_assert_uint_eq(fake.resets, 2);
	ck_assert(pci->reset_warned);
	ck_assert_uint_eq(cfg_read(PCI_COMMAND, 2), 0);
	ck_assert(!fake.msix_enabled);
}
END_TEST

START_TEST(flr_without_devcap_flr_does_nothing)
{
	teardown();
	build_fake();
	put32(fake.config, 0x64, 0x00008fc0);           /* DEVCAP without FLR */
	setup_pci();
	unsigned exp = guest_cap(PCI_CAP_ID_EXP), msix = guest_cap(PCI_CAP_ID_MSIX);

	bring_up();
	cfg_write(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
	cfg_write(exp + PCI_EXP_DEVCTL, 4, 0xffffffffu);
	ck_assert_uint_eq(fake.resets, 0);
	ck_assert(pci->flr_refused_logged);
	ck_assert_uint_eq(cfg_read(PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ck_assert_uint_eq(pci_function_bar_address(&pci->fn, 0), 0xc0000000);
	ck_assert_uint_eq(cfg_read(msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE,
			  PCI_MSIX_FLAGS_ENABLE);
	ck_assert(fake.msix_enabled);
	ck_assert_uint_eq(cfg_read(exp + PCI_EXP_DEVCTL, 2), 0);
}
END_TEST

START_TEST(devctl_writes_without_flr_do_nothing)
{
	unsigned exp = guest_cap(PCI_CAP_ID_EXP);
	unsigned calls;

	bring_up();
	calls = fake.set_calls;
	cfg_write(exp + PCI_EXP_DEVCTL, 2, 0x7fff);
	cfg_write(exp + PCI_EXP_DEVCTL, 1, 0xff);         /* the low byte: no bit 15 there */
	cfg_write(exp + PCI_EXP_DEVCTL + 1, 1, 0x7f);
	cfg_write(exp + PCI_EXP_DEVCTL, 4, 0xffff7fffu);  /* DEVSTA's bit 15 is not FLR */
	cfg_write(exp + PCI_EXP_DEVSTA, 2, 0xffff);
	cfg_write(exp + PCI_EXP_DEVCAP, 4, 0xffffffffu);
	cfg_write(exp + PCI_EXP_LNKCTL, 2, 0xffff);
	ck_assert_uint_eq(fake.resets, 0);
	ck_assert_uint_eq(cfg_read(PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ck_assert(fake.msix_enabled);
	ck_assert_uint_eq(fake.set_calls, calls);
	ck_assert_uint_eq(cfg_read(exp + PCI_EXP_DEVCTL, 2), 0);
	ck_assert_uint_eq(cfg_read(exp + PCI_EXP_DEVCAP, 4), 0x10008fc0);
}
END_TEST

START_TEST(flr_bit_reads_zero)
{
	/* Even from a device whose DEVCTL showed it set when read. */
	teardown();
	build_fake();
	put16(fake.config, 0x68, PCI_EXP_DEVCTL_BCR_FLR | 0x2810);
	setup_pci();
	unsigned exp = guest_cap(PCI_CAP_ID_EXP);

	ck_assert_uint_eq(cfg_read(exp + PCI_EXP_DEVCTL, 2), 0x2810);
	cfg_write(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR | 0x2810);
	ck_assert_uint_eq(fake.resets, 1);
	ck_assert_uint_eq(cfg_read(exp + PCI_EXP_DEVCTL, 2), 0x2810);
	ck_assert_uint_eq(cfg_read(exp + PCI_EXP_DEVCTL + 1, 1) & 0x80, 0);
}
END_TEST

/* The model's reset (VM reset) and FLR share their device side. */
START_TEST(model_reset_resets_the_device)
{
	bring_up();
	pthread_mutex_lock(&pci->fn.lock);
	ck_assert_int_eq(vfio_pci_reset_locked(pci, false), 0);
	pthread_mutex_unlock(&pci->fn.lock);
	ck_assert_uint_eq(fake.resets, 1);
	ck_assert(!fake.msix_on_at_reset);
	/* The emulated function is the PCI host's to reset: MSI-X, still on there, comes back. */
	ck_assert_uint_eq(cfg_read(PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ck_assert(fake.msix_enabled);
	ck_assert_int_eq(fake.msix_fds[0], pci->fn.msix->msi[0].eventfd);
}
END_TEST

/* ---- INTx on a real KVM VM with the user-space IOAPIC (no vCPUs) ---- */

#define INTX_PIN    5
#define INTX_VECTOR 0x40

static struct vm vm;
static struct vm_config *ioapic_config;

static void intx_setup(void)
{
	static const char text[] = "[vm]\nimage = \"x\"\n[devices.ioapic]\ntype = \"ioapic\"\n";
	struct config_error error;

	kvm_fixture_open(&vm, 0);
	ioapic_config = config_parse("t.toml", text, strlen(text), NULL, 0, &error);
	ck_assert_msg(ioapic_config != NULL, "%s", error.message);
	ck_assert_int_eq(ioapic_config->devices[0]->model->realize(ioapic_config->devices[0], &vm),
			 0);
	setup();
	pci->vm = &vm;
	pci->dev.irqs[VFIO_PCI_INTX_IRQ_INDEX].count = 1;
	pci->intx.pin = INTX_PIN;
	pci->intx.trigger_fd = pci->intx.unmask_fd = -1;
	ck_assert_int_eq(vfio_pci_intx_init(pci, &vm), 0);
}

static void intx_teardown(void)
{
	vfio_pci_intx_free(pci);
	teardown();
	ioapic_config->devices[0]->model->unrealize(ioapic_config->devices[0], &vm);
	config_free(ioapic_config);
	kvm_fixture_close(&vm);
}

static uint32_t rte_low(void)
{
	uint32_t index = 0x10 + 2 * INTX_PIN, value = 0;

	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE, true, &index, 4));
	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE + 0x10, false, &value, 4));
	return value;
}

static void rte_program(bool level)
{
	uint32_t index = 0x10 + 2 * INTX_PIN, value = INTX_VECTOR | (level ? 1u << 15 : 0);

	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE, true, &index, 4));
	ck_assert(bus_access(&vm.mmio_bus, IOAPIC_BASE + 0x10, true, &value, 4));
}

#define REMOTE_IRR (1u << 14)

/* The device asserts INTx: vfio-pci signals the trigger eventfd. */
static void device_intx(void)
{
	uint64_t one = 1;

	ck_assert_int_ge(fake.intx_trigger, 0);
	ck_assert_int_eq(write(fake.intx_trigger, &one, sizeof(one)), sizeof(one));
	vfio_pci_intx_service(pci); /* what the event loop runs */
}

/* How often the VMM told the host to unmask since the last call. */
static uint64_t unmasks(void)
{
	uint64_t count = 0;

	ck_assert_int_ge(fake.intx_unmask, 0);
	if (read(fake.intx_unmask, &count, sizeof(count)) != sizeof(count))
		return 0;
	return count;
}

START_TEST(intx_config_and_resample_at_eoi)
{
	ck_assert_uint_eq(cfg_read(PCI_INTERRUPT_PIN, 1), 1);
	ck_assert_uint_eq(cfg_read(PCI_INTERRUPT_LINE, 1), INTX_PIN);
	cfg_write(PCI_INTERRUPT_LINE, 1, 9); /* the routing is not scratch here */
	ck_assert_uint_eq(cfg_read(PCI_INTERRUPT_LINE, 1), INTX_PIN);

	rte_program(true);
	device_intx();
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, REMOTE_IRR); /* delivered, awaiting EOI */
	ck_assert_uint_eq(unmasks(), 0);                        /* host line stays masked */
	ioapic_eoi(vm.ioapic, INTX_VECTOR);
	ck_assert_uint_eq(unmasks(), 1);                        /* resampled */
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, 0);           /* deasserted: no re-delivery */
	/* An EOI with nothing pending unmasks nothing. */
	ioapic_eoi(vm.ioapic, INTX_VECTOR);
	ck_assert_uint_eq(unmasks(), 0);
}
END_TEST

START_TEST(intx_disable_holds_the_line)
{
	rte_program(true);
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	device_intx();
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, 0);
	cfg_write(PCI_COMMAND, 2, 0);                          /* pending: now asserted */
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, REMOTE_IRR);
	ioapic_eoi(vm.ioapic, INTX_VECTOR);
	ck_assert_uint_eq(unmasks(), 1);
}
END_TEST

START_TEST(intx_edge_pin_is_pulsed)
{
	rte_program(false);
	device_intx();
	ck_assert_uint_eq(unmasks(), 1); /* no EOI will come: unmasked at once */
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, 0);
}
END_TEST

/* vfio-pci enables INTx or MSI-X, not both: MSI-X takes INTx off and gives it back. */
START_TEST(intx_yields_to_msix)
{
	unsigned cap = guest_cap(PCI_CAP_ID_MSIX);

	rte_program(true);
	ck_assert_int_ge(fake.intx_trigger, 0);
	device_intx();                                          /* INTx pending, pin up */
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, REMOTE_IRR);
	cfg_write(cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	ck_assert(fake.msix_enabled);                            /* refused while INTx was on */
	ck_assert_int_lt(fake.intx_trigger, 0);
	ck_assert(!atomic_load(&pci->intx.asserted));           /* the old line let go */
	ioapic_eoi(vm.ioapic, INTX_VECTOR);
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, 0);
	/* A trigger that raced the switch is dropped, not asserted. */
	uint64_t one = 1;
	int old_trigger = pci->intx.trigger_fd;

	ck_assert_int_eq(write(old_trigger, &one, sizeof(one)), sizeof(one));
	vfio_pci_intx_service(pci);
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, 0);
	/* MSI-X off: INTx is back, resampling and all. */
	cfg_write(cap + PCI_MSIX_FLAGS, 2, 0);
	ck_assert(!fake.msix_enabled);
	ck_assert_int_eq(fake.intx_trigger, old_trigger);
	ck_assert_int_ge(fake.intx_unmask, 0);
	device_intx();
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, REMOTE_IRR);
	ioapic_eoi(vm.ioapic, INTX_VECTOR);
	ck_assert_uint_eq(unmasks(), 1);
	/* Enabled and disabled over and over: no state left behind either way. */
	for (unsigned i = 0; i < 100; i++)
		cfg_write(cap + PCI_MSIX_FLAGS, 2, i % 2 ? 0 : PCI_MSIX_FLAGS_ENABLE);
	ck_assert(!fake.msix_enabled);
	ck_assert_int_eq(fake.intx_trigger, old_trigger);
}
END_TEST

/* An FLR drops the old function's INTx (off across the reset) and gives the line back after. */
START_TEST(intx_across_flr)
{
	unsigned exp = guest_cap(PCI_CAP_ID_EXP);

	rte_program(true);
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	device_intx();                                          /* pending, held off the pin */
	ck_assert(atomic_load(&pci->intx.pending));
	cfg_write(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
	ck_assert_uint_eq(fake.resets, 1);
	ck_assert(!fake.intx_on_at_reset);
	/* INTX_DISABLE is cleared by the reset, yet the old interrupt is not asserted. */
	ck_assert_uint_eq(cfg_read(PCI_COMMAND, 2), 0);
	ck_assert(!atomic_load(&pci->intx.pending) && !atomic_load(&pci->intx.asserted));
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, 0);
	ck_assert_int_ge(fake.intx_trigger, 0);                 /* back on the host */
	ck_assert_int_ge(fake.intx_unmask, 0);
	/* The reset function's INTx works. */
	device_intx();
	ck_assert_uint_eq(rte_low() & REMOTE_IRR, REMOTE_IRR);
	ioapic_eoi(vm.ioapic, INTX_VECTOR);
	ck_assert_uint_eq(unmasks(), 1);
}
END_TEST

Suite *vfio_pci_config_suite(void)
{
	Suite *suite = suite_create("vfio_pci_config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity_and_header);
	tcase_add_test(tc, bar_sizing_and_relocation);
	tcase_add_test(tc, capability_filtering);
	tcase_add_test(tc, hostile_capability_lists);
	tcase_add_test(tc, command_forwarding);
	tcase_add_test(tc, trapped_bar_forwarding);
	tcase_add_test(tc, memslot_pieces);
	tcase_add_test(tc, msix_enable_mask_pending);
	tcase_add_test(tc, msix_hostile_table_access);
	tcase_add_test(tc, reset_turns_msix_off);
	tcase_add_test(tc, flr_resets_device_and_function);
	tcase_add_test(tc, flr_reset_failure_still_resets_the_function);
	tcase_add_test(tc, flr_without_devcap_flr_does_nothing);
	tcase_add_test(tc, devctl_writes_without_flr_do_nothing);
	tcase_add_test(tc, flr_bit_reads_zero);
	tcase_add_test(tc, model_reset_resets_the_device);
	suite_add_tcase(suite, tc);
	tc = tcase_create("malformed_msix");
	tcase_add_checked_fixture(tc, build_fake, teardown);
	tcase_add_test(tc, msix_table_beyond_bar);
	tcase_add_test(tc, msix_pba_beyond_bar);
	tcase_add_test(tc, msix_in_absent_or_empty_bar);
	tcase_add_test(tc, msix_in_zero_size_bar);
	tcase_add_test(tc, msix_table_and_pba_overlap);
	tcase_add_test(tc, msix_table_size_zero);
	tcase_add_test(tc, msix_no_room_in_config_space);
	tcase_add_test(tc, msix_host_resource_error_fails);
	suite_add_tcase(suite, tc);
	tc = tcase_create("intx");
	tcase_add_checked_fixture(tc, intx_setup, intx_teardown);
	tcase_add_test(tc, intx_config_and_resample_at_eoi);
	tcase_add_test(tc, intx_disable_holds_the_line);
	tcase_add_test(tc, intx_edge_pin_is_pulsed);
	tcase_add_test(tc, intx_yields_to_msix);
	tcase_add_test(tc, intx_across_flr);
	suite_add_tcase(suite, tc);
	return suite;
}
