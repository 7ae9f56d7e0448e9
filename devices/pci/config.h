/* SPDX-License-Identifier: MIT */
/*
 * PCI function configuration space, for device models: a type-0 header,
 * BARs, a capability list, and the access rules a hostile guest meets.
 *
 * The model fills a struct pci_function with pci_function_init(), adds its
 * BARs and capabilities (and MSI-X, devices/pci/msix.h), then hands it to
 * the host with pci_host_add_function() (devices/pci/host.h), which routes
 * config accesses (ECAM, CF8/CFC) and BAR accesses to it.
 *
 * Access rules (pci_config_read/write):
 *  - sizes 1, 2 and 4, naturally aligned, inside the 4 KiB config space;
 *    anything else reads all-ones and writes are dropped.
 *  - 0x000-0x0ff is the header plus capabilities; 0x100-0xfff (extended
 *    space) reads 0 (no extended capabilities) and ignores writes.
 *  - Read-only and reserved bits ignore writes; status error bits are RW1C;
 *    every writable bit resets to 0.
 *  - BARs: the address bits below the BAR size and the type bits are
 *    read-only, so writing all-ones reads back the size mask with the type
 *    bits (the sizing protocol). The upper half of a 64-bit BAR is its own
 *    dword. An unimplemented BAR reads 0.
 *  - A write to COMMAND or a BAR updates the host's decode table: a BAR
 *    decodes only while COMMAND.MEM (memory BARs) or COMMAND.IO (I/O BARs)
 *    is set.
 *
 * Locking: config reads and writes take the function's mutex; the BAR
 * decode path and MSI-X raise/read paths never do (see host.h, msix.h).
 */
#ifndef DEVICES_PCI_CONFIG_H
#define DEVICES_PCI_CONFIG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"

struct pci_host;
struct pci_msix;
struct pci_function;

#define PCI_CONFIG_SPACE_SIZE  0x1000  /* ECAM: 4 KiB per function */
#define PCI_CONFIG_HEADER_SIZE 0x100   /* header + capabilities we model */
#define PCI_BAR_COUNT          6
#define PCI_CAP_FIRST          0x40    /* capabilities start after the header */

enum pci_bar_type {
	PCI_BAR_NONE,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,   /* takes this BAR index and the next */
	PCI_BAR_IO,
};

struct pci_bar {
	enum pci_bar_type type;
	bool prefetchable;
	uint64_t size;                   /* power of two; 0 when unimplemented */
	const struct bus_region_ops *ops; /* offsets are relative to the BAR */
	void *opaque;
};

struct pci_identity {
	uint16_t vendor_id;
	uint16_t device_id;
	uint32_t class_code;             /* base class << 16 | subclass << 8 | prog-if */
	uint8_t revision;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_id;
};

/*
 * Optional observers for a function whose config space stands in front of
 * a real device (vfio-pci, devices/vfio/pci.c): called with fn->lock held,
 * after the emulated state changed, so the model can forward COMMAND to the
 * device, move BAR memslots and follow MSI-X enables. Emulated models leave
 * fn->hooks NULL.
 */
struct pci_config_hooks {
	/* A guest config write was applied (value as the guest wrote it). */
	void (*written)(struct pci_function *fn, unsigned offset, unsigned size, uint32_t value);
	/* BAR addresses or COMMAND changed (guest write, firmware assignment, reset). */
	void (*decode_changed)(struct pci_function *fn);
};

struct pci_function {
	const char *name;                /* device name, for logs */
	const struct pci_config_hooks *hooks; /* NULL: pure emulation */
	void *hooks_opaque;
	pthread_mutex_t lock;            /* config space and MSI-X table writes */
	uint8_t config[PCI_CONFIG_HEADER_SIZE];
	uint8_t wmask[PCI_CONFIG_HEADER_SIZE];   /* writable bits */
	uint8_t w1cmask[PCI_CONFIG_HEADER_SIZE]; /* write-1-to-clear bits */
	struct pci_bar bars[PCI_BAR_COUNT];
	uint8_t last_cap;                /* 0 until the first capability */
	unsigned next_cap;               /* where the next capability goes */
	struct pci_msix *msix;           /* NULL without MSI-X */
	struct pci_host *host;           /* set by pci_host_add_function() */
	unsigned slot;                   /* device number on bus 0 */
};

int pci_function_init(struct pci_function *fn, const char *name, const struct pci_identity *id);
/* Frees MSI-X state too; safe on a function that was never initialised past zeroing. */
void pci_function_destroy(struct pci_function *fn);

/*
 * Declare BAR `index`: a power-of-two size (memory: >= 16 bytes, below
 * 4 GiB; I/O: 4 to 256 bytes), accessed through ops/opaque with offsets
 * relative to the BAR. A 64-bit BAR uses index and index + 1.
 * Returns 0 or -EINVAL (bad index, size, or index in use).
 */
int pci_function_add_bar(struct pci_function *fn, unsigned index, enum pci_bar_type type,
			 bool prefetchable, uint64_t size, const struct bus_region_ops *ops,
			 void *opaque);

/*
 * Append a capability of `length` bytes (header included) to the list; its
 * ID and next pointer are filled in, the rest is zero and read-only until
 * the caller sets fn->wmask. Returns the capability's offset or -ENOSPC.
 */
int pci_function_add_capability(struct pci_function *fn, uint8_t id, unsigned length);

/* Device-side: set STATUS bits (e.g. signalled target abort); the guest clears them (RW1C). */
void pci_function_set_status(struct pci_function *fn, uint16_t bits);

/* Current BAR address (both halves of a 64-bit BAR), type bits stripped. */
uint64_t pci_function_bar_address(const struct pci_function *fn, unsigned index);
/* Current COMMAND register. */
uint16_t pci_function_command(const struct pci_function *fn);

/* Firmware-style assignment: program BAR `index` to address (used by the host). */
void pci_function_set_bar_address(struct pci_function *fn, unsigned index, uint64_t address);
/* Set COMMAND bits as firmware would (used by the host when assigning BARs). */
void pci_function_enable(struct pci_function *fn, uint16_t command_bits);

/* Config-space reset: every writable bit to 0, MSI-X disabled and masked. */
void pci_function_reset(struct pci_function *fn);
/*
 * The same with fn->lock already held: for a config hook that resets the
 * function from inside a guest's config write (vfio-pci's Function Level
 * Reset), where taking the lock again would deadlock.
 */
void pci_function_reset_locked(struct pci_function *fn);

/* Guest config accesses (offset within the function's 4 KiB). */
uint32_t pci_config_read(struct pci_function *fn, unsigned offset, unsigned size);
void pci_config_write(struct pci_function *fn, unsigned offset, unsigned size, uint32_t value);

/* All-ones of an access size: what an absent function or a bad access reads. */
static inline uint64_t pci_all_ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

#endif
