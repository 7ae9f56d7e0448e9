/* SPDX-License-Identifier: MIT */
/*
 * PCI from CPL 3 (firmware/pci.c): the host bridge from the DTB, config
 * space through ECAM (or legacy 0xCF8/0xCFC), enumeration, BAR sizing and
 * assignment, capabilities, MSI-X.
 *
 * The host bridge is the DTB node compatible "pci-host-ecam-generic"
 * (binding: Linux Documentation/devicetree/bindings/pci/host-generic-pci.yaml):
 *   reg        ECAM window of the first bus in bus-range (1 MiB per bus)
 *   bus-range  <first last>
 *   ranges     <phys.hi phys.mid phys.lo  cpu-address  size> per window;
 *              phys.hi space bits 25:24 = 01 I/O, 10 mem32, 11 mem64,
 *              bit 30 prefetchable
 * Nothing about it is hard-coded. ECAM and BARs are MMIO above RAM, which
 * the boot page tables map uncached and user-accessible; every access is an
 * exit to the VMM (~16 us here), so enumeration reads only what it needs.
 *
 * Addresses: a BAR holds a PCI bus address; struct fw_pci_bar keeps both it
 * and the CPU address (translated through `ranges`). I/O BARs are x86 ports.
 */
#ifndef FW_PCI_H
#define FW_PCI_H

#include <stdbool.h>
#include <stdint.h>

/* Config space registers and bits used here. */
#define FW_PCI_VENDOR_ID      0x00
#define FW_PCI_DEVICE_ID      0x02
#define FW_PCI_COMMAND        0x04
#define FW_PCI_STATUS         0x06
#define FW_PCI_REVISION       0x08
#define FW_PCI_CLASS_PROG     0x09
#define FW_PCI_HEADER_TYPE    0x0e
#define FW_PCI_BAR0           0x10
#define FW_PCI_SUBSYS_VENDOR  0x2c
#define FW_PCI_SUBSYS_ID      0x2e
#define FW_PCI_CAP_PTR        0x34
#define FW_PCI_INTERRUPT_PIN  0x3d

#define FW_PCI_COMMAND_IO     0x0001
#define FW_PCI_COMMAND_MEMORY 0x0002
#define FW_PCI_COMMAND_MASTER 0x0004
#define FW_PCI_COMMAND_INTX_DISABLE 0x0400
#define FW_PCI_STATUS_CAP_LIST 0x0010

#define FW_PCI_CAP_ID_MSI     0x05
#define FW_PCI_CAP_ID_MSIX    0x11

/* MSI-X capability. */
#define FW_PCI_MSIX_FLAGS     2        /* Message Control, 16 bits */
#define FW_PCI_MSIX_FLAGS_QSIZE   0x07ff /* table size - 1 */
#define FW_PCI_MSIX_FLAGS_MASKALL 0x4000
#define FW_PCI_MSIX_FLAGS_ENABLE  0x8000
#define FW_PCI_MSIX_TABLE     4        /* BIR (bits 2:0) | offset */
#define FW_PCI_MSIX_PBA       8
#define FW_PCI_MSIX_ENTRY_SIZE 16
#define FW_PCI_MSIX_ENTRY_CTRL_MASKBIT 1

#define FW_PCI_MAX_DEVS 64

/* Bus/device/function as one number: bus << 8 | device << 3 | function. */
#define FW_PCI_BDF(b, d, f) ((uint16_t)(((b) << 8) | ((d) << 3) | (f)))
#define FW_PCI_BUS(bdf)     ((unsigned int)(bdf) >> 8)
#define FW_PCI_DEV(bdf)     (((unsigned int)(bdf) >> 3) & 31)
#define FW_PCI_FN(bdf)      ((unsigned int)(bdf) & 7)

enum fw_pci_space { FW_PCI_SPACE_NONE, FW_PCI_SPACE_IO, FW_PCI_SPACE_MEM32, FW_PCI_SPACE_MEM64 };

/* One `ranges` entry of the host bridge. */
struct fw_pci_window {
	enum fw_pci_space space;
	bool prefetchable;
	uint64_t pci_base; /* bus address (I/O: port) */
	uint64_t cpu_base; /* CPU address (I/O: as written in the DTB) */
	uint64_t size;
};

#define FW_PCI_MAX_WINDOWS 4

struct fw_pci_host {
	int node;               /* DTB node offset */
	uint64_t ecam_base;     /* CPU address of bus bus_first's config space */
	uint64_t ecam_size;
	unsigned int bus_first, bus_last;
	struct fw_pci_window windows[FW_PCI_MAX_WINDOWS];
	unsigned int nwindows;
};

struct fw_pci_bar {
	enum fw_pci_space space; /* NONE: not implemented (or upper half of a 64-bit BAR) */
	bool prefetchable;
	uint64_t size;
	uint64_t pci_addr;       /* as programmed (0: unassigned) */
	uint64_t addr;           /* CPU address / I/O port (0 if not inside a window) */
};

struct fw_pci_dev {
	uint16_t bdf;
	uint16_t vendor, device;
	uint32_t class_code;     /* base << 16 | sub << 8 | prog-if */
	uint8_t revision, header_type;
	bool was_unassigned;     /* some BAR read 0 at enumeration (before fw_pci_assign_bars) */
	struct fw_pci_bar bar[6];
	uint8_t msix_cap;        /* 0: none */
};

/* ---- Host bridge and config space. */

/* Parse the host bridge from the DTB (first pci-host-ecam-generic node).
 * Returns 0, or -FDT_ERR_* (no DTB, no node, malformed). Cached. */
int fw_pci_host_init(void);
const struct fw_pci_host *fw_pci_host(void); /* NULL before a successful init */

/* ECAM accessors; bus outside bus-range, or no host: reads all-ones,
 * writes dropped. offset 0..4095, naturally aligned. */
uint32_t fw_pci_read32(uint16_t bdf, unsigned int offset);
uint16_t fw_pci_read16(uint16_t bdf, unsigned int offset);
uint8_t fw_pci_read8(uint16_t bdf, unsigned int offset);
void fw_pci_write32(uint16_t bdf, unsigned int offset, uint32_t v);
void fw_pci_write16(uint16_t bdf, unsigned int offset, uint16_t v);
void fw_pci_write8(uint16_t bdf, unsigned int offset, uint8_t v);
/* The CPU address of a config register (for tests that poke it directly). */
volatile void *fw_pci_ecam_ptr(uint16_t bdf, unsigned int offset);

/* Legacy configuration mechanism #1 (ports 0xcf8/0xcfc), offset < 256. */
uint32_t fw_pci_cf8_read32(uint16_t bdf, unsigned int offset);
void fw_pci_cf8_write32(uint16_t bdf, unsigned int offset, uint32_t v);

/* ---- Enumeration, BARs. */

/*
 * Scan every bus in bus-range (functions 1-7 only for multi-function
 * devices), size each function's BARs (decoding off meanwhile, COMMAND
 * restored) and find MSI-X. Fills devs[] (at most max) and returns how many
 * functions exist (may exceed max), or a negative error from
 * fw_pci_host_init(). Does not assign anything.
 */
int fw_pci_enumerate(struct fw_pci_dev *devs, int max);

/*
 * The firmware's own table: on the first call, fw_pci_enumerate() into it
 * and fw_pci_assign_bars() for whatever the VMM left unassigned; later calls
 * return the same table. *devs gets the table; returns the number of
 * functions in it, or a negative error (no host bridge).
 */
int fw_pci_init(struct fw_pci_dev **devs);

/* Re-read BAR addresses into d->bar[] (after someone reprogrammed them). */
void fw_pci_read_bars(struct fw_pci_dev *d);

/*
 * Give every BAR that is unassigned (reads 0, or lies outside every window
 * of its type) an address in a window of its type: memory BARs in the
 * 32-bit memory window (64-bit BARs too, prefetchable ones in a
 * prefetchable window when there is one), I/O BARs in the I/O window;
 * naturally aligned, lowest free address, skipping BARs already in place.
 * Then sets COMMAND.MEM / IO for each function with such BARs. Returns the
 * number of BARs assigned, or -1 if one did not fit (left unassigned).
 */
int fw_pci_assign_bars(struct fw_pci_dev *devs, int n);

/* Program BAR `index` to bus address pci_addr (both halves of a 64-bit BAR)
 * and update d->bar[index]. */
void fw_pci_set_bar(struct fw_pci_dev *d, unsigned int index, uint64_t pci_addr);

/* COMMAND |= set, &= ~clear. */
void fw_pci_command(uint16_t bdf, uint16_t set, uint16_t clear);

/* CPU address of a memory BAR, as a pointer (NULL if unassigned / I/O). */
volatile void *fw_pci_bar_ptr(const struct fw_pci_dev *d, unsigned int index);

/* First function with vendor:device, skipping `nth` earlier ones. */
struct fw_pci_dev *fw_pci_find(struct fw_pci_dev *devs, int n, uint16_t vendor,
			       uint16_t device, int nth);

/* ---- Capabilities. */

/* Walk the capability list: offsets into offs[] and ids into ids[] (either
 * may be NULL), at most max. Returns the number found, or -1 if the list is
 * malformed (pointer < 0x40, or more than 48 entries: a loop). */
int fw_pci_cap_walk(uint16_t bdf, uint8_t *offs, uint8_t *ids, int max);
/* Offset of the first capability `id`, or 0. */
uint8_t fw_pci_find_cap(uint16_t bdf, uint8_t id);

/* ---- MSI-X. */

struct fw_msix {
	uint16_t bdf;
	uint8_t cap;
	unsigned int size;             /* table entries */
	unsigned int table_bir, pba_bir;
	uint32_t table_offset, pba_offset;
	volatile uint32_t *table;      /* CPU pointers through the BARs */
	volatile uint32_t *pba;
};

/* Locate the table and PBA of d (BARs must be assigned). 0, or -1 (no MSI-X,
 * BAR unassigned or too small). Leaves the device's MSI-X state alone. */
int fw_msix_init(struct fw_msix *m, const struct fw_pci_dev *d);

/* Message Control: Enable and Function Mask. */
void fw_msix_enable(const struct fw_msix *m, bool enable);
void fw_msix_function_mask(const struct fw_msix *m, bool masked);
uint16_t fw_msix_control(const struct fw_msix *m);

/* xAPIC message address/data: fixed delivery, edge, physical destination. */
static inline uint64_t fw_msi_address(uint32_t apic_id)
{
	return 0xfee00000ull | ((uint64_t)(apic_id & 0xff) << 12);
}

/* Program entry i: masked while address/data change, then mask as asked. */
void fw_msix_set(const struct fw_msix *m, unsigned int i, uint32_t apic_id, unsigned int vector,
		 bool masked);
/* Raw entry write (any address/data), masked first, then `control`. */
void fw_msix_set_raw(const struct fw_msix *m, unsigned int i, uint64_t address, uint32_t data,
		     uint32_t control);
void fw_msix_mask(const struct fw_msix *m, unsigned int i, bool masked);
uint32_t fw_msix_entry(const struct fw_msix *m, unsigned int i, unsigned int word);
/* Pending Bit Array bit of entry i. */
bool fw_msix_pending(const struct fw_msix *m, unsigned int i);

#endif
