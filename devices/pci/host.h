/* SPDX-License-Identifier: MIT */
/*
 * PCI host bridge: ECAM and legacy CF8/CFC config access to bus 0, a
 * host-bridge function at 00:00.0, and BAR decoding inside fixed windows.
 *
 * Address map (fixed; RAM ends at or below 3 GiB, so no window overlaps RAM):
 *   ECAM       0xe0000000-0xe0ffffff  buses 0-15 (only bus 0 has functions)
 *   mem32      0xc0000000-0xdfffffff  non-prefetchable memory BARs
 *   I/O        0xc000-0xffff          I/O BARs
 *   CF8/CFC    0xcf8 (address, dword only), 0xcfc-0xcff (data)
 *
 * Dispatch: the bus registry (vmm/bus.c) is fixed once vCPUs run, but
 * guests move BARs at any time. So the host registers its windows once and
 * decodes BARs itself through a fixed table, one entry per (slot, BAR
 * index). An entry's base address and enable state are one atomic 64-bit
 * word, rewritten under the function's mutex on each BAR or COMMAND write
 * and read lock-free, allocation-free on every access. Rules:
 *  - a BAR decodes when its COMMAND enable (MEM or IO) is set and it lies
 *    wholly inside its window; elsewhere it is not decoded (a BAR over RAM is
 *    outside the windows, and KVM's memslot would win anyway: such accesses
 *    never exit);
 *  - overlapping BARs: the lowest (slot, BAR index) wins, deterministically;
 *    the overlap is logged once per BAR at warn level;
 *  - an access must lie wholly inside one BAR; otherwise, and in window
 *    space no BAR claims, reads are all-ones and writes are dropped (master
 *    abort).
 */
#ifndef DEVICES_PCI_HOST_H
#define DEVICES_PCI_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/config.h"

struct vm;
struct pci_host;

#define PCI_HOST_ECAM_BASE  0xe0000000ull
#define PCI_HOST_BUSES      16u
#define PCI_HOST_ECAM_SIZE  ((uint64_t)PCI_HOST_BUSES << 20)
#define PCI_HOST_MEM_BASE   0xc0000000ull
#define PCI_HOST_MEM_SIZE   0x20000000ull
#define PCI_HOST_IO_BASE    0xc000ull
#define PCI_HOST_IO_SIZE    0x4000ull
#define PCI_HOST_CF8_PORT   0xcf8u
#define PCI_HOST_CFC_PORT   0xcfcu
#define PCI_HOST_SLOTS      32u

/* The host bridge function at 00:00.0 (this project's test vendor id). */
#define PCI_HOST_BRIDGE_VENDOR_ID 0x7f56
#define PCI_HOST_BRIDGE_DEVICE_ID 0x1000
#define PCI_HOST_BRIDGE_CLASS     0x060000

/* A host not yet attached to a VM; name is used in logs. */
struct pci_host *pci_host_new(const char *name, bool assign_bars);
/* Register the windows on vm's buses and set vm->pci_host. Returns 0 or -errno. */
int pci_host_attach(struct pci_host *host, struct vm *vm);
/* Frees the host (not the functions: their device models own them). */
void pci_host_free(struct pci_host *host);

/*
 * Plug fn into bus 0 at device number `slot` (1..31), or the lowest free
 * one when slot < 0. When the host assigns BARs, every function's BARs are
 * (re)assigned in slot order, so addresses do not depend on declaration
 * order. Returns the slot, -EBUSY (slot taken), -ENOSPC (bus full) or
 * -EINVAL. Call before the vCPUs run.
 */
int pci_host_add_function(struct pci_host *host, struct pci_function *fn, int slot);

/* Config reset of every function, then firmware-style BAR assignment if enabled. */
void pci_host_reset(struct pci_host *host);

/* From config.c, fn->lock held: fn's BARs or COMMAND changed. */
void pci_host_update_decode(struct pci_host *host, struct pci_function *fn);

/*
 * Whether memory range [base, base + size) overlaps a BAR decoded now other
 * than fn's BAR `bar`. For a BAR mapped as a KVM memslot: the memslot would
 * win every access in the overlap, while the rule above must decide it.
 * Lock-free.
 */
bool pci_host_overlaps_other(struct pci_host *host, const struct pci_function *fn,
			     unsigned bar, uint64_t base, uint64_t size);

/*
 * The function and BAR decoding [addr, addr + len) in I/O or memory space,
 * with the offset into the BAR; NULL when none does. Lock-free.
 */
struct pci_function *pci_host_decode(struct pci_host *host, bool io, uint64_t addr, unsigned len,
				     unsigned *bar, uint64_t *offset);

/* Config access by bus/device/function, as ECAM and CF8/CFC do. */
uint32_t pci_host_config_read(struct pci_host *host, unsigned bus, unsigned devfn,
			      unsigned offset, unsigned size);
void pci_host_config_write(struct pci_host *host, unsigned bus, unsigned devfn,
			   unsigned offset, unsigned size, uint32_t value);

#endif
