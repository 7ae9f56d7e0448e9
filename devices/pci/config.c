/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration space of an emulated function (rules in config.h).
 *
 * The 256-byte header is a byte array with two masks beside it, as real
 * hardware is described: wmask (bits software may write) and w1cmask
 * (bits a 1 clears). Everything not in either is read-only, so garbage
 * writes need no per-register code. BARs are the exception: their writable
 * bits depend on the BAR size, so they go through bar_write().
 */
#include "devices/pci/config.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "devices/pci/host.h"
#include "devices/pci/msix.h"
#include "vmm/log.h"

#define PCI_BARS_START PCI_BASE_ADDRESS_0
#define PCI_BARS_END   (PCI_BASE_ADDRESS_0 + 4 * PCI_BAR_COUNT)

/* COMMAND bits a guest may set; the rest (VGA snoop, wait cycles...) are hardwired 0. */
#define PCI_COMMAND_WRITABLE (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
			      PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)
/* STATUS error bits: set by the device, cleared by writing 1. */
#define PCI_STATUS_RW1C (PCI_STATUS_DETECTED_PARITY | PCI_STATUS_SIG_SYSTEM_ERROR | \
			 PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_REC_TARGET_ABORT | \
			 PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_PARITY)

static uint32_t get_bytes(const uint8_t *array, unsigned offset, unsigned size)
{
	uint32_t value = 0;

	for (unsigned i = 0; i < size; i++)
		value |= (uint32_t)array[offset + i] << (8 * i);
	return value;
}

static void put_bytes(uint8_t *array, unsigned offset, unsigned size, uint32_t value)
{
	for (unsigned i = 0; i < size; i++)
		array[offset + i] = (uint8_t)(value >> (8 * i));
}

static unsigned bar_offset(unsigned index)
{
	return PCI_BARS_START + 4 * index;
}

static bool bar_is_upper_half(const struct pci_function *fn, unsigned index)
{
	return index > 0 && fn->bars[index - 1].type == PCI_BAR_MEM64;
}

static uint32_t bar_type_bits(const struct pci_bar *bar)
{
	switch (bar->type) {
	case PCI_BAR_IO:
		return PCI_BASE_ADDRESS_SPACE_IO;
	case PCI_BAR_MEM32:
		return bar->prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0;
	case PCI_BAR_MEM64:
		return PCI_BASE_ADDRESS_MEM_TYPE_64 |
		       (bar->prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
	case PCI_BAR_NONE:
		break;
	}
	return 0;
}

int pci_function_init(struct pci_function *fn, const char *name, const struct pci_identity *id)
{
	memset(fn, 0, sizeof(*fn));
	int rc = -pthread_mutex_init(&fn->lock, NULL);

	if (rc)
		return rc;
	fn->name = name; /* also marks the function initialised, for destroy */
	fn->next_cap = PCI_CAP_FIRST;
	put_bytes(fn->config, PCI_VENDOR_ID, 2, id->vendor_id);
	put_bytes(fn->config, PCI_DEVICE_ID, 2, id->device_id);
	put_bytes(fn->config, PCI_REVISION_ID, 1, id->revision);
	put_bytes(fn->config, PCI_CLASS_PROG, 3, id->class_code);
	put_bytes(fn->config, PCI_SUBSYSTEM_VENDOR_ID, 2, id->subsystem_vendor_id);
	put_bytes(fn->config, PCI_SUBSYSTEM_ID, 2, id->subsystem_id);
	fn->config[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL; /* single-function */
	fn->config[PCI_INTERRUPT_PIN] = 0;                   /* no INTx: MSI-X only */
	put_bytes(fn->wmask, PCI_COMMAND, 2, PCI_COMMAND_WRITABLE);
	put_bytes(fn->w1cmask, PCI_STATUS, 2, PCI_STATUS_RW1C);
	fn->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	fn->wmask[PCI_LATENCY_TIMER] = 0xff;
	fn->wmask[PCI_INTERRUPT_LINE] = 0xff; /* scratch for software, per spec */
	return 0;
}

void pci_function_destroy(struct pci_function *fn)
{
	if (!fn->name)
		return; /* never initialised */
	pci_msix_destroy(fn);
	pthread_mutex_destroy(&fn->lock);
	fn->name = NULL;
}

static bool bar_size_valid(enum pci_bar_type type, uint64_t size)
{
	if (size == 0 || (size & (size - 1)))
		return false;
	if (type == PCI_BAR_IO)
		return size >= 4 && size <= 256;
	return size >= 16 && size <= (1ull << 31);
}

static bool bar_index_free(const struct pci_function *fn, unsigned index, enum pci_bar_type type)
{
	if (index >= PCI_BAR_COUNT || fn->bars[index].type != PCI_BAR_NONE ||
	    bar_is_upper_half(fn, index))
		return false;
	if (type != PCI_BAR_MEM64)
		return true;
	return index + 1 < PCI_BAR_COUNT && fn->bars[index + 1].type == PCI_BAR_NONE;
}

int pci_function_add_bar(struct pci_function *fn, unsigned index, enum pci_bar_type type,
			 bool prefetchable, uint64_t size, const struct bus_region_ops *ops,
			 void *opaque)
{
	if (type == PCI_BAR_NONE || !ops || !bar_size_valid(type, size) ||
	    !bar_index_free(fn, index, type) || (type == PCI_BAR_IO && prefetchable)) {
		log_error("%s: invalid BAR%u (type %d, %llu bytes)", fn->name, index, (int)type,
			  (unsigned long long)size);
		return -EINVAL;
	}
	fn->bars[index] = (struct pci_bar){
		.type = type, .prefetchable = prefetchable, .size = size, .ops = ops,
		.opaque = opaque,
	};
	put_bytes(fn->config, bar_offset(index), 4, bar_type_bits(&fn->bars[index]));
	return 0;
}

int pci_function_add_capability(struct pci_function *fn, uint8_t id, unsigned length)
{
	unsigned offset = fn->next_cap;

	length = (length + 3) & ~3u; /* capabilities are dword aligned */
	if (length < 4 || length > PCI_CONFIG_HEADER_SIZE - offset)
		return -ENOSPC;
	fn->config[offset + PCI_CAP_LIST_ID] = id;
	fn->config[offset + PCI_CAP_LIST_NEXT] = 0;
	if (fn->last_cap)
		fn->config[fn->last_cap + PCI_CAP_LIST_NEXT] = (uint8_t)offset;
	else
		fn->config[PCI_CAPABILITY_LIST] = (uint8_t)offset;
	fn->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	fn->last_cap = (uint8_t)offset;
	fn->next_cap = offset + length;
	return (int)offset;
}

void pci_function_set_status(struct pci_function *fn, uint16_t bits)
{
	pthread_mutex_lock(&fn->lock);
	uint32_t status = get_bytes(fn->config, PCI_STATUS, 2) | (bits & PCI_STATUS_RW1C);

	put_bytes(fn->config, PCI_STATUS, 2, status);
	pthread_mutex_unlock(&fn->lock);
}

uint64_t pci_function_bar_address(const struct pci_function *fn, unsigned index)
{
	if (index >= PCI_BAR_COUNT || fn->bars[index].type == PCI_BAR_NONE)
		return 0;
	const struct pci_bar *bar = &fn->bars[index];
	uint32_t low = get_bytes(fn->config, bar_offset(index), 4);

	if (bar->type == PCI_BAR_IO)
		return low & PCI_BASE_ADDRESS_IO_MASK;
	uint64_t address = low & PCI_BASE_ADDRESS_MEM_MASK;

	if (bar->type == PCI_BAR_MEM64)
		address |= (uint64_t)get_bytes(fn->config, bar_offset(index + 1), 4) << 32;
	return address;
}

uint16_t pci_function_command(const struct pci_function *fn)
{
	return (uint16_t)get_bytes(fn->config, PCI_COMMAND, 2);
}

/* A dword write to BAR `index`: address bits below the size and type bits stay. */
static void bar_write(struct pci_function *fn, unsigned index, uint32_t value)
{
	if (bar_is_upper_half(fn, index)) {
		uint64_t mask = ~(fn->bars[index - 1].size - 1);

		put_bytes(fn->config, bar_offset(index), 4, value & (uint32_t)(mask >> 32));
		return;
	}
	const struct pci_bar *bar = &fn->bars[index];

	if (bar->type == PCI_BAR_NONE)
		return; /* unimplemented: hardwired 0 */
	uint32_t address_mask = (uint32_t)~(bar->size - 1) &
		(bar->type == PCI_BAR_IO ? PCI_BASE_ADDRESS_IO_MASK : PCI_BASE_ADDRESS_MEM_MASK);

	put_bytes(fn->config, bar_offset(index), 4, (value & address_mask) | bar_type_bits(bar));
}

static void update_decode(struct pci_function *fn)
{
	if (fn->host)
		pci_host_update_decode(fn->host, fn);
	if (fn->hooks && fn->hooks->decode_changed)
		fn->hooks->decode_changed(fn);
}

void pci_function_set_bar_address(struct pci_function *fn, unsigned index, uint64_t address)
{
	if (index >= PCI_BAR_COUNT || fn->bars[index].type == PCI_BAR_NONE)
		return;
	pthread_mutex_lock(&fn->lock);
	bar_write(fn, index, (uint32_t)address);
	if (fn->bars[index].type == PCI_BAR_MEM64)
		bar_write(fn, index + 1, (uint32_t)(address >> 32));
	update_decode(fn);
	pthread_mutex_unlock(&fn->lock);
}

void pci_function_enable(struct pci_function *fn, uint16_t command_bits)
{
	pthread_mutex_lock(&fn->lock);
	uint32_t command = pci_function_command(fn) | (command_bits & PCI_COMMAND_WRITABLE);

	put_bytes(fn->config, PCI_COMMAND, 2, command);
	update_decode(fn);
	pthread_mutex_unlock(&fn->lock);
}

void pci_function_reset_locked(struct pci_function *fn)
{
	for (unsigned i = 0; i < PCI_CONFIG_HEADER_SIZE; i++)
		fn->config[i] &= (uint8_t)~(fn->wmask[i] | fn->w1cmask[i]);
	for (unsigned i = 0; i < PCI_BAR_COUNT; i++)
		put_bytes(fn->config, bar_offset(i), 4, bar_type_bits(&fn->bars[i]));
	if (fn->msix)
		pci_msix_reset(fn);
	update_decode(fn);
}

void pci_function_reset(struct pci_function *fn)
{
	pthread_mutex_lock(&fn->lock);
	pci_function_reset_locked(fn);
	pthread_mutex_unlock(&fn->lock);
}

/* Naturally aligned 1, 2 or 4 bytes inside the 4 KiB config space. */
static bool config_access_valid(unsigned offset, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && offset % size == 0 &&
	       offset < PCI_CONFIG_SPACE_SIZE;
}

uint32_t pci_config_read(struct pci_function *fn, unsigned offset, unsigned size)
{
	if (!config_access_valid(offset, size)) {
		log_debug("%s: config read of %u bytes at 0x%x: misaligned, reads all-ones",
			  fn->name, size, offset);
		return (uint32_t)pci_all_ones(size);
	}
	if (offset >= PCI_CONFIG_HEADER_SIZE)
		return 0; /* extended space: no extended capabilities */
	pthread_mutex_lock(&fn->lock);
	uint32_t value = get_bytes(fn->config, offset, size);

	pthread_mutex_unlock(&fn->lock);
	return value;
}

static void write_masked_byte(struct pci_function *fn, unsigned offset, uint8_t value)
{
	uint8_t writable = fn->wmask[offset];

	fn->config[offset] = (uint8_t)((fn->config[offset] & ~writable) | (value & writable));
	fn->config[offset] &= (uint8_t)~(value & fn->w1cmask[offset]);
}

/* An aligned access never crosses a dword: one BAR at most. */
static void write_bar_bytes(struct pci_function *fn, unsigned offset, unsigned size,
			    uint32_t value)
{
	unsigned dword = offset & ~3u, shift = 8 * (offset - dword);
	uint32_t lanes = (uint32_t)pci_all_ones(size) << shift;
	uint32_t merged = (get_bytes(fn->config, dword, 4) & ~lanes) | ((value << shift) & lanes);

	bar_write(fn, (dword - PCI_BARS_START) / 4, merged);
}

static bool access_touches(unsigned offset, unsigned size, unsigned start, unsigned length)
{
	return offset < start + length && start < offset + size;
}

void pci_config_write(struct pci_function *fn, unsigned offset, unsigned size, uint32_t value)
{
	if (!config_access_valid(offset, size)) {
		log_debug("%s: config write of %u bytes at 0x%x: misaligned, dropped",
			  fn->name, size, offset);
		return;
	}
	if (offset >= PCI_CONFIG_HEADER_SIZE)
		return;
	pthread_mutex_lock(&fn->lock);
	bool bars = access_touches(offset, size, PCI_BARS_START, PCI_BARS_END - PCI_BARS_START);

	if (bars) {
		write_bar_bytes(fn, offset, size, value);
	} else {
		for (unsigned i = 0; i < size; i++)
			write_masked_byte(fn, offset + i, (uint8_t)(value >> (8 * i)));
	}
	if (bars || access_touches(offset, size, PCI_COMMAND, 2))
		update_decode(fn);
	if (fn->msix && access_touches(offset, size, fn->msix->cap + PCI_MSIX_FLAGS, 2))
		pci_msix_control_written(fn);
	if (fn->hooks && fn->hooks->written)
		fn->hooks->written(fn, offset, size, value);
	pthread_mutex_unlock(&fn->lock);
}
