/* SPDX-License-Identifier: MIT */
/*
 * The guest's view of a passed-through function's config space.
 *
 * It is an emulated pci_function (devices/pci/config.c) seeded from the
 * device's own header, not a window onto it: the guest must not program
 * the real BARs (they hold host addresses), enable MSI or MSI-X behind the
 * VMM's back, or put the device into D3. So:
 *  - ids, class, revision and subsystem ids are the device's; the header
 *    type is 0, single-function (only this function is passed);
 *  - BARs have the device's types and region sizes, at guest addresses in
 *    the PCI window (the host assigns them, the guest may move them);
 *  - COMMAND: IO, MEMORY and MASTER are forwarded to the device (decoding
 *    and DMA need them there); INTX_DISABLE gates our INTx emulation;
 *  - capabilities, in the device's order: MSI-X virtualized (pci_msix.c),
 *    Power Management, PCI Express and vendor-specific ones as read-only
 *    copies (drivers look at them; writes such as a D3 request or link
 *    control must not reach the device), everything else hidden (MSI
 *    above all: one interrupt mechanism is virtualized, MSI-X). Extended
 *    capabilities (0x100+) read 0, as for every emulated function;
 *  - the one write to the PCIe copy that does something: Initiate FLR in
 *    DEVCTL, when DEVCAP has FLR, resets the device (VFIO_DEVICE_RESET)
 *    and the emulated function (vfio_pci_reset_locked).
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "devices/vfio/pci.h"
#include "vmm/log.h"

#define CAP_WALK_MAX 48  /* (256 - 64) / 4: more means a loop */
#define FORWARDED_COMMAND (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)

static uint32_t raw_u32(const uint8_t *raw, unsigned offset)
{
	return (uint32_t)raw[offset] | (uint32_t)raw[offset + 1] << 8 |
	       (uint32_t)raw[offset + 2] << 16 | (uint32_t)raw[offset + 3] << 24;
}

static uint16_t raw_u16(const uint8_t *raw, unsigned offset)
{
	return (uint16_t)(raw[offset] | raw[offset + 1] << 8);
}

int vfio_pci_read_config(struct vfio_pci *pci)
{
	/* Dword reads: what vfio-pci's config virtualization handles everywhere. */
	for (unsigned offset = 0; offset < sizeof(pci->raw); offset += 4) {
		int rc = pci->io->region_read(pci->io_opaque, VFIO_PCI_CONFIG_REGION_INDEX, offset,
					      pci->raw + offset, 4);

		if (rc) {
			log_error("vfio-pci '%s': reading config space at 0x%x: %s", pci->name,
				  offset, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Next capability pointer, or 0 when the chain ends or goes somewhere impossible. */
static unsigned cap_next(const uint8_t *raw, unsigned pointer_offset)
{
	unsigned next = raw[pointer_offset] & ~3u;

	return next >= PCI_CAP_FIRST && next <= PCI_CONFIG_HEADER_SIZE - 4 ? next : 0;
}

static unsigned cap_first(const uint8_t *raw)
{
	if (!(raw_u16(raw, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	return cap_next(raw, PCI_CAPABILITY_LIST);
}

unsigned vfio_pci_find_cap(const uint8_t raw[PCI_CONFIG_HEADER_SIZE], uint8_t id)
{
	unsigned offset = cap_first(raw);

	for (unsigned step = 0; offset && step < CAP_WALK_MAX; step++) {
		if (raw[offset + PCI_CAP_LIST_ID] == id)
			return offset;
		offset = cap_next(raw, offset + PCI_CAP_LIST_NEXT);
	}
	return 0;
}

/* ---- BARs ---- */

static bool bar_size_ok(bool io, uint64_t size)
{
	if (!size || (size & (size - 1)))
		return false;
	return io ? size >= 4 && size <= 256 : size >= 16 && size <= (1ull << 31);
}

static int add_bars(struct vfio_pci *pci)
{
	for (unsigned i = 0; i < PCI_BAR_COUNT; i++) {
		const struct vfio_region *region = &pci->dev.regions[i];
		uint32_t reg = raw_u32(pci->raw, PCI_BASE_ADDRESS_0 + 4 * i);
		struct vfio_pci_bar *bar = &pci->bars[i];
		bool io = reg & PCI_BASE_ADDRESS_SPACE_IO;
		bool is64 = !io && (reg & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;

		bar->pci = pci;
		bar->index = i;
		for (unsigned m = 0; m < VFIO_PCI_MAX_MAPS; m++)
			bar->maps[m].slot = -1;
		if (!region->present)
			continue;
		if (!bar_size_ok(io, region->size) || (is64 && i + 1 >= PCI_BAR_COUNT)) {
			log_warn("vfio-pci '%s': BAR%u (%s, %#llx bytes) cannot be offered to the guest "
				 "(sizes: I/O 4-256 bytes, memory 16 bytes-2 GiB, powers of two)",
				 pci->name, i, io ? "I/O" : "memory", (unsigned long long)region->size);
			if (is64)
				i++;
			continue;
		}
		bar->size = region->size;
		bar->io = io;
		bar->is64 = is64;
		bar->prefetch = !io && (reg & PCI_BASE_ADDRESS_MEM_PREFETCH);
		int rc = pci_function_add_bar(&pci->fn, i, io ? PCI_BAR_IO : is64 ? PCI_BAR_MEM64 :
					      PCI_BAR_MEM32, bar->prefetch, bar->size,
					      &vfio_pci_bar_ops, bar);

		if (rc)
			return rc;
		if (is64) {
			i++;
			pci->bars[i].pci = pci;
			pci->bars[i].index = i;
			for (unsigned m = 0; m < VFIO_PCI_MAX_MAPS; m++)
				pci->bars[i].maps[m].slot = -1;
		}
	}
	return 0;
}

/* ---- capabilities ---- */

static bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
	return a < b + b_size && b < a + a_size;
}

/*
 * The MSI-X capability as the device has it; false when the guest cannot be
 * given it. Every layout pci_msix_init() would refuse is caught here, with
 * the reason in one warning, so a device with a malformed or unsupported
 * MSI-X capability is still passed through, without MSI-X (INTx, when
 * configured, still works): refusing the whole device helps nobody. What
 * pci_msix_init() can still fail with is then a host resource error
 * (allocation, eventfds), which fails realize.
 */
static bool msix_layout(struct vfio_pci *pci, unsigned offset)
{
	struct vfio_pci_msix_layout *m = &pci->msix;
	uint32_t table = raw_u32(pci->raw, offset + PCI_MSIX_TABLE);
	uint32_t pba = raw_u32(pci->raw, offset + PCI_MSIX_PBA);

	*m = (struct vfio_pci_msix_layout){
		.device_cap = (uint8_t)offset,
		.vectors = (raw_u16(pci->raw, offset + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1,
		.host_vectors = pci->dev.irqs[VFIO_PCI_MSIX_IRQ_INDEX].count,
		.bar = table & PCI_MSIX_TABLE_BIR,
		.table = table & PCI_MSIX_TABLE_OFFSET,
		.pba = pba & PCI_MSIX_PBA_OFFSET,
	};
	/* Table Size is N - 1 in 11 bits: 1..2048 vectors, always within PCI_MSIX_MAX_VECTORS. */
	uint64_t table_bytes = (uint64_t)m->vectors * PCI_MSIX_ENTRY_SIZE;
	uint64_t pba_bytes = (m->vectors + 63) / 64 * 8;
	uint64_t bar_size = m->bar < PCI_BAR_COUNT ? pci->bars[m->bar].size : 0;
	const char *why = NULL;

	if ((pba & PCI_MSIX_PBA_BIR) != m->bar)
		why = "its table and PBA are in different BARs";
	else if (m->bar >= PCI_BAR_COUNT || !bar_size || pci->bars[m->bar].io)
		why = "its BAR is not offered to the guest";
	else if (m->table > bar_size || table_bytes > bar_size - m->table)
		why = "its table does not fit in its BAR";
	else if (m->pba > bar_size || pba_bytes > bar_size - m->pba)
		why = "its PBA does not fit in its BAR";
	else if (ranges_overlap(m->table, table_bytes, m->pba, pba_bytes))
		why = "its table and PBA overlap (neither could be emulated)";
	else if (!m->host_vectors)
		why = "VFIO offers no MSI-X vectors for it";
	else if (pci->fn.next_cap + PCI_MSIX_CAP_LENGTH > PCI_CONFIG_HEADER_SIZE)
		why = "no room is left for it in the guest's config space";
	if (why) {
		log_warn("vfio-pci '%s': MSI-X hidden: %s (%u vectors, BAR%u, table %#x, PBA "
			 "%#x, PBA BIR %u)", pci->name, why, m->vectors, m->bar, m->table, m->pba,
			 pba & PCI_MSIX_PBA_BIR);
		return false;
	}
	m->present = true;
	return true;
}

/*
 * A read-only copy of the device's capability (header rebuilt by
 * add_capability). Returns its offset in the guest's config space, 0 when
 * it could not be offered.
 */
static unsigned copy_cap(struct vfio_pci *pci, unsigned offset, unsigned length)
{
	uint8_t id = pci->raw[offset + PCI_CAP_LIST_ID];

	if (length < 4 || length > PCI_CONFIG_HEADER_SIZE - offset)
		return 0;
	int at = pci_function_add_capability(&pci->fn, id, length);

	if (at < 0)
		return 0;
	memcpy(&pci->fn.config[at + 2], &pci->raw[offset + 2], length - 2);
	if (id == PCI_CAP_ID_PM)
		pci->fn.config[at + PCI_PM_CTRL] &= (uint8_t)~PCI_PM_CTRL_STATE_MASK; /* D0 */
	/* Initiate FLR always reads 0 (PCIe 7.5.3.4), whatever the device showed. */
	if (id == PCI_CAP_ID_EXP)
		pci->fn.config[at + PCI_EXP_DEVCTL + 1] &= (uint8_t)~(PCI_EXP_DEVCTL_BCR_FLR >> 8);
	return (unsigned)at;
}

static unsigned pcie_cap_length(const uint8_t *raw, unsigned offset)
{
	unsigned version = raw_u16(raw, offset + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_VERS;

	return version >= 2 ? PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 : PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
}

static int add_capability(struct vfio_pci *pci, struct vm *vm, const struct pci_irq_ops *irq_ops,
			  unsigned offset)
{
	bool kept = false;

	switch (pci->raw[offset + PCI_CAP_LIST_ID]) {
	case PCI_CAP_ID_MSIX:
		if (!pci->msix.present && msix_layout(pci, offset)) {
			int rc = pci_msix_init(&pci->fn, vm, irq_ops, pci->msix.vectors, pci->msix.bar,
					       pci->msix.table, pci->msix.pba);

			/* msix_layout() took every refusable layout: this is the host's failure. */
			if (rc) {
				pci->msix.present = false;
				return rc;
			}
			kept = true;
		}
		break;
	case PCI_CAP_ID_PM:
		kept = copy_cap(pci, offset, PCI_PM_SIZEOF);
		break;
	case PCI_CAP_ID_EXP: {
		unsigned at = copy_cap(pci, offset, pcie_cap_length(pci->raw, offset));

		kept = at != 0;
		/* The first one is the function's (a second would be a broken device). */
		if (at && !pci->exp_cap) {
			pci->exp_cap = (uint8_t)at;
			pci->flr = raw_u32(pci->raw, offset + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR;
		}
		break;
	}
	case PCI_CAP_ID_VNDR:
		kept = copy_cap(pci, offset, pci->raw[offset + PCI_CAP_FLAGS]);
		break;
	default:
		break;
	}
	if (kept)
		pci->caps_kept++;
	else
		pci->caps_hidden++;
	log_debug("vfio-pci '%s': capability 0x%02x at 0x%02x %s", pci->name,
		  pci->raw[offset + PCI_CAP_LIST_ID], offset, kept ? "offered" : "hidden");
	return 0;
}

static int add_capabilities(struct vfio_pci *pci, struct vm *vm, const struct pci_irq_ops *irq_ops)
{
	unsigned offset = cap_first(pci->raw);
	uint64_t seen = 0; /* one bit per dword of 0x40-0xff: a looping list stops */

	for (unsigned step = 0; offset && step < CAP_WALK_MAX; step++) {
		uint64_t bit = 1ull << ((offset - PCI_CAP_FIRST) / 4);

		if (seen & bit) {
			log_warn("vfio-pci '%s': the device's capability list loops back to 0x%02x; "
				 "ignoring the rest", pci->name, offset);
			break;
		}
		seen |= bit;
		int rc = add_capability(pci, vm, irq_ops, offset);

		if (rc)
			return rc;
		offset = cap_next(pci->raw, offset + PCI_CAP_LIST_NEXT);
	}
	return 0;
}

/* ---- forwarding (fn.lock held) ---- */

static void forward_command(struct vfio_pci *pci, uint16_t command)
{
	uint16_t device;

	if (pci->io->region_read(pci->io_opaque, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND,
				 &device, 2))
		return;
	uint16_t wanted = (uint16_t)((device & ~FORWARDED_COMMAND) | (command & FORWARDED_COMMAND));

	if (wanted == device)
		return;
	int rc = pci->io->region_write(pci->io_opaque, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND,
				       &wanted, 2);

	if (rc)
		log_warn("vfio-pci '%s': forwarding COMMAND %#x: %s", pci->name, wanted,
			 strerror(-rc));
}

static void hook_decode_changed(struct pci_function *fn)
{
	struct vfio_pci *pci = fn->hooks_opaque;
	uint16_t command = pci_function_command(fn);

	forward_command(pci, command);
	vfio_pci_bars_sync(pci);
	/* A config reset disabled MSI-X without a config write. */
	vfio_pci_msix_sync(pci);
	vfio_pci_intx_command(pci, command);
}

int vfio_pci_reset_locked(struct vfio_pci *pci, bool flr)
{
	/*
	 * MSI-X off on the host first, as the reset function has it; the
	 * config hook below turns it on again from the emulated state (after
	 * an FLR that is once the guest re-enables it). INTx off across the
	 * reset, so a line the old function raised is dropped rather than
	 * delivered or left holding the pin; on again after it (a disable and
	 * enable also unmasks the host's line, as a reset function's is).
	 */
	vfio_pci_msix_host_off(pci);
	vfio_pci_intx_host(pci, false);
	int rc = pci->io->reset(pci->io_opaque);

	/*
	 * An FLR resets the function's registers too (PCIe 6.6.2): the emulated
	 * ones are reset here, between device and INTx, so the config hook
	 * this runs (COMMAND cleared: memslots dropped, decoding and bus
	 * mastering off on the device) finds INTx still off and asserts
	 * nothing the old function left pending.
	 */
	if (flr)
		pci_function_reset_locked(&pci->fn);
	vfio_pci_intx_host(pci, true);
	/* The kernel restores the COMMAND it saved before its reset; ours decides. */
	hook_decode_changed(&pci->fn);
	return rc;
}

/*
 * The guest wrote Initiate Function Level Reset (DEVCTL bit 15 of the
 * offered PCIe capability): the bit is in byte DEVCTL + 1, whatever the
 * access size (1, 2 or 4, naturally aligned: a dword write at DEVCTL
 * carries DEVSTA above it).
 */
static bool flr_written(const struct vfio_pci *pci, unsigned offset, unsigned size,
			uint32_t value)
{
	unsigned byte = pci->exp_cap + (unsigned)PCI_EXP_DEVCTL + 1;

	if (!pci->exp_cap || byte < offset || byte >= offset + size)
		return false;
	return (value >> (8 * (byte - offset))) & (PCI_EXP_DEVCTL_BCR_FLR >> 8);
}

/*
 * The guest's FLR becomes VFIO_DEVICE_RESET plus the emulated function's
 * reset, only when the device's DEVCAP says it has FLR: a guest driver
 * checks that before writing the bit, and a device without it would not
 * reset either. The guest restores BARs and COMMAND afterwards, as it
 * must on hardware (Linux saves and restores config space around an FLR).
 */
static void function_level_reset(struct vfio_pci *pci)
{
	if (!pci->flr) {
		if (!pci->flr_refused_logged)
			log_debug("vfio-pci '%s': the guest wrote Initiate FLR but the device's "
				  "DEVCAP has no Function Level Reset: ignored", pci->name);
		pci->flr_refused_logged = true;
		return;
	}
	log_debug("vfio-pci '%s': Function Level Reset by the guest", pci->name);
	int rc = vfio_pci_reset_locked(pci, true);

	/* Other failures are logged by the VFIO core. */
	if (rc == -ENOTTY && !pci->reset_warned)
		log_warn("vfio-pci '%s': the guest's Function Level Reset reset only the emulated "
			 "config space: VFIO offers no reset for the device", pci->name);
	pci->reset_warned |= rc == -ENOTTY;
}

static void hook_written(struct pci_function *fn, unsigned offset, unsigned size, uint32_t value)
{
	struct vfio_pci *pci = fn->hooks_opaque;

	unsigned flags = fn->msix ? fn->msix->cap + (unsigned)PCI_MSIX_FLAGS : 0;

	if (fn->msix && offset < flags + 2 && flags < offset + size)
		vfio_pci_msix_sync(pci);
	if (flr_written(pci, offset, size, value))
		function_level_reset(pci);
}

static const struct pci_config_hooks vfio_pci_hooks = {
	.written = hook_written,
	.decode_changed = hook_decode_changed,
};

int vfio_pci_build_function(struct vfio_pci *pci, struct vm *vm,
			    const struct pci_irq_ops *irq_ops)
{
	const uint8_t *raw = pci->raw;
	const struct pci_identity identity = {
		.vendor_id = raw_u16(raw, PCI_VENDOR_ID),
		.device_id = raw_u16(raw, PCI_DEVICE_ID),
		.class_code = raw_u32(raw, PCI_REVISION_ID) >> 8,
		.revision = raw[PCI_REVISION_ID],
		.subsystem_vendor_id = raw_u16(raw, PCI_SUBSYSTEM_VENDOR_ID),
		.subsystem_id = raw_u16(raw, PCI_SUBSYSTEM_ID),
	};
	int rc;

	if ((raw[PCI_HEADER_TYPE] & 0x7f) != PCI_HEADER_TYPE_NORMAL) {
		log_error("vfio-pci '%s': header type %#x: only type-0 functions (not bridges) can "
			  "be passed through", pci->name, raw[PCI_HEADER_TYPE]);
		return -ENOTSUP;
	}
	if ((rc = pci_function_init(&pci->fn, pci->name, &identity)))
		return rc;
	pci->fn_ready = true;
	if ((rc = add_bars(pci)) || (rc = add_capabilities(pci, vm, irq_ops)))
		return rc;
	pci->fn.hooks = &vfio_pci_hooks;
	pci->fn.hooks_opaque = pci;
	return 0;
}
