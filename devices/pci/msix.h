/* SPDX-License-Identifier: MIT */
/*
 * MSI-X for emulated PCI functions: the capability, the vector table and
 * pending-bit array (PBA) in one of the function's memory BARs, and a raise
 * that any thread may call.
 *
 * Each vector is a struct irq_msi (vmm/irq.h): an eventfd bound by irqfd to
 * a GSI route carrying the vector's address/data, so raising it is one
 * eventfd write and KVM injects it without a user-space round trip.
 *
 * Semantics (PCI Local Bus 3.0 / PCIe 6.1.4):
 *  - A vector is deliverable when MSI-X is enabled, the function is not
 *    masked (Message Control bit 14) and the vector is not masked (Vector
 *    Control bit 0). Raising a vector that is not deliverable sets its
 *    pending bit (as QEMU does, MSI-X disabled counts as masked); raises
 *    while pending coalesce into one message.
 *  - When a vector becomes deliverable (vector unmask, function unmask or
 *    enable), its pending bit is cleared and the message is sent.
 *  - The route (irq_msi_program) is updated when a vector becomes
 *    deliverable after its address/data changed, or at once when a
 *    deliverable vector's entry is rewritten (undefined by the spec; we
 *    apply it). Masked vectors do not cost a KVM routing update per write.
 *  - Bus Master Enable does not gate messages (documented difference).
 *  - Table and PBA: aligned 4- or 8-byte accesses; anything else reads
 *    all-ones and writes are dropped. The PBA is read-only. Vector Control
 *    bits other than the mask bit are reserved (read 0).
 *
 * Concurrency: table and PBA reads and pci_msix_raise() are lock-free
 * (atomics). Table writes and Message Control writes take the function's
 * mutex. A raise racing an unmask is delivered exactly once: the raiser
 * sets the pending bit before re-checking the mask state, the unmasker
 * publishes the mask state before claiming pending bits, and the pending
 * bit is claimed with an atomic fetch-and-clear.
 */
#ifndef DEVICES_PCI_MSIX_H
#define DEVICES_PCI_MSIX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/config.h"
#include "vmm/irq.h"

struct vm;

#define PCI_MSIX_MAX_VECTORS 2048
#define PCI_MSIX_CAP_LENGTH  12

/*
 * How vectors reach the interrupt plumbing. pci_irq_kvm_ops calls
 * vmm/irq.c; unit tests substitute recording functions (a seam that keeps
 * MSI-X logic testable without /dev/kvm).
 */
struct pci_irq_ops {
	int (*init)(struct vm *vm, struct irq_msi *msi);
	int (*program)(struct irq_msi *msi, uint64_t address, uint32_t data);
	void (*trigger)(struct irq_msi *msi);
	void (*destroy)(struct irq_msi *msi);
};

extern const struct pci_irq_ops pci_irq_kvm_ops;

struct pci_msix_entry {
	atomic_uint_least32_t address_lo;
	atomic_uint_least32_t address_hi;
	atomic_uint_least32_t data;
	atomic_uint_least32_t control;   /* bit 0: vector masked */
};

struct pci_msix {
	const struct pci_irq_ops *ops;
	unsigned vectors;
	unsigned bar;
	uint32_t table_offset;
	uint32_t pba_offset;
	uint8_t cap;                      /* capability offset in config space */
	atomic_uint_least16_t control;    /* mirror of Message Control, for lock-free raise */
	struct pci_msix_entry *table;
	atomic_uint_least64_t *pending;   /* the PBA, one bit per vector */
	struct irq_msi *msi;              /* one per vector */
	bool *route_stale;                /* address/data changed since last programmed */
	unsigned msi_initialised;         /* how many msi[] to destroy */
};

/*
 * Add the MSI-X capability to fn with `vectors` (1..2048) vectors whose
 * table and PBA live in memory BAR `bar` (already added) at the given
 * 8-byte-aligned, non-overlapping offsets. ops NULL means pci_irq_kvm_ops.
 * Every vector starts masked, with irq_msi_init() done. Returns 0 or -errno.
 */
int pci_msix_init(struct pci_function *fn, struct vm *vm, const struct pci_irq_ops *ops,
		  unsigned vectors, unsigned bar, uint32_t table_offset, uint32_t pba_offset);

/*
 * Signal `vector`: sent now if deliverable, else left pending. Any thread,
 * no lock, no allocation. Returns 0, or -EINVAL for a vector out of range
 * or a function without MSI-X.
 */
int pci_msix_raise(struct pci_function *fn, unsigned vector);

/*
 * BAR accesses that fall in the table or PBA. Return false when offset is
 * not in them, so a model can share the BAR with its own registers.
 */
bool pci_msix_mmio_read(struct pci_function *fn, unsigned bar, uint64_t offset, unsigned size,
			uint64_t *value);
bool pci_msix_mmio_write(struct pci_function *fn, unsigned bar, uint64_t offset, unsigned size,
			 uint64_t value);

bool pci_msix_pending(const struct pci_function *fn, unsigned vector);
/* Sums of irq_msi.raised and irq_msi.dropped over the vectors. */
void pci_msix_counters(const struct pci_function *fn, uint64_t *raised, uint64_t *dropped);

/*
 * Give the vectors back to the VM (irq_msi_destroy), from the model's
 * unrealize while the VM still exists. Later raises are dropped: no route.
 */
void pci_msix_release(struct pci_function *fn);

/* ---- for devices/pci/config.c ---- */

/* Message Control was written (fn->lock held): deliver what became unmasked. */
void pci_msix_control_written(struct pci_function *fn);
/* Config reset (fn->lock held): disabled, every vector masked, nothing pending, no route. */
void pci_msix_reset(struct pci_function *fn);
/* Frees the MSI-X state (releasing the vectors first if still held). */
void pci_msix_destroy(struct pci_function *fn);

#endif
