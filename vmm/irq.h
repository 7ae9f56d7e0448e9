/* SPDX-License-Identifier: MIT */
/*
 * Interrupt plumbing on KVM's split irqchip: GSI routes for MSIs, irqfds,
 * ioeventfds, with ownership so teardown is exact.
 *
 * The local APIC lives in the kernel; there is no in-kernel IOAPIC/PIC (a
 * full irqchip costs 7-15 ms per VM here, and no device needs a line
 * interrupt yet). Interrupts therefore reach the guest as MSIs:
 *
 *  - struct irq_msi: one MSI source (an MSI-X vector, a device event) with
 *    its own eventfd bound by irqfd to a GSI whose route carries the
 *    guest-programmed address/data. irq_msi_trigger() writes the eventfd, so
 *    any thread may raise it without a lock or an ioctl, and KVM injects it
 *    without a trip through user space.
 *  - A source whose address is not an interrupt address (not 0xFEExxxxx) has
 *    no route: triggering it drops the message and counts it
 *    (irq_msi.dropped), as the guest asked for a write that reaches no APIC.
 *
 * The route table is kept here and pushed whole with KVM_SET_GSI_ROUTING
 * when it changes (guest reprogramming an address: rare, never on a
 * submission hot path); a mutex serialises updates, triggers never take it.
 */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

#define IRQ_MAX_ROUTES 1024
#define IRQ_FIRST_MSI_GSI 24 /* GSIs below are the (absent) IOAPIC's pins */

/* Extended (x2APIC) destination ids are not enabled: the high half must be 0. */
#define MSI_ADDRESS_BASE 0xfee00000ull
#define MSI_ADDRESS_MASK 0xfffffffffff00000ull

struct irq_msi {
	struct vm *vm;
	int eventfd;
	unsigned gsi;
	atomic_bool routed;    /* a valid route and irqfd are installed */
	uint64_t address;
	uint32_t data;
	atomic_uint_fast64_t dropped; /* triggers with no valid route */
	atomic_uint_fast64_t raised;  /* triggers delivered to KVM */
};

struct irq_routing {
	pthread_mutex_t lock;
	struct kvm_irq_routing *table; /* entries for GSIs in use */
	uint8_t gsi_used[IRQ_MAX_ROUTES / 8];
	bool initialized;
};

int irq_init(struct vm *vm);
void irq_destroy(struct vm *vm);

/* An MSI source with an eventfd and a reserved GSI; no route until programmed. */
int irq_msi_init(struct vm *vm, struct irq_msi *msi);
/*
 * Point the source at address/data (from an MSI-X table entry or an MSI
 * capability). A non-interrupt address removes the route. Returns 0 or -errno.
 */
int irq_msi_program(struct irq_msi *msi, uint64_t address, uint32_t data);
/* Raise the interrupt: one eventfd write; safe from any thread. */
void irq_msi_trigger(struct irq_msi *msi);
/* Remove irqfd, route and GSI; close the eventfd. Idempotent. */
void irq_msi_destroy(struct irq_msi *msi);

/*
 * Routes for the IOAPIC's pins (GSI < IRQ_FIRST_MSI_GSI). A user-space
 * IOAPIC delivers with irq_signal_msi(), but KVM derives which vectors need
 * an EOI exit (KVM_EXIT_IOAPIC_EOI, for level-triggered pins) from these
 * routes, so they must mirror the redirection table. valid = false removes.
 */
int irq_pin_route(struct vm *vm, unsigned gsi, bool valid, uint64_t address, uint32_t data);

/* One-shot MSI without a route (KVM_SIGNAL_MSI); returns 1 delivered, 0 blocked, -errno. */
int irq_signal_msi(struct vm *vm, uint64_t address, uint32_t data);

static inline bool irq_msi_address_valid(uint64_t address)
{
	return (address & MSI_ADDRESS_MASK) == MSI_ADDRESS_BASE;
}

/*
 * ioeventfd: KVM signals fd on a guest write to [addr, addr+len) (pio or
 * mmio), optionally only when the value equals datamatch, with no exit to
 * user space. The fd is the caller's.
 */
struct irq_ioeventfd {
	uint64_t address;
	uint32_t length;
	bool pio;
	bool has_datamatch;
	uint64_t datamatch;
	int fd;
};

int irq_ioeventfd_add(struct vm *vm, const struct irq_ioeventfd *ioeventfd);
int irq_ioeventfd_remove(struct vm *vm, const struct irq_ioeventfd *ioeventfd);

#endif
