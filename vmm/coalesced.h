/* SPDX-License-Identifier: MIT */
/*
 * Coalesced port I/O: KVM queues guest writes to a registered port range in
 * a ring instead of exiting, and the VMM replays them on the next exit.
 *
 * Why: an OUT from CPL 3 costs ~100 us on these hosts (docs/PERFORMANCE.md)
 * and a coalesced one ~5 us, so a UART transmit register is the natural
 * candidate. Order is preserved by draining the ring before handling every
 * exit (a read of LSR, a write to LCR, the exit port...), so the device sees
 * the writes exactly as if each had exited. The event loop also drains every
 * COALESCED_FLUSH_MS so output of a guest that idles in HLT (which never
 * exits to user space) still appears.
 */
#ifndef VMM_COALESCED_H
#define VMM_COALESCED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct kvm_coalesced_mmio_ring;

#define COALESCED_FLUSH_MS 20

struct coalesced_ring {
	struct kvm_coalesced_mmio_ring *ring; /* mapped from a vCPU fd */
	unsigned zones;
	int vcpu_fd;          /* the ring is mapped through it, on first use */
	pthread_mutex_t lock;  /* one consumer at a time; producers are in KVM */
	int timer_fd;
};

void coalesced_init(struct vm *vm);
/*
 * Register a write-coalesced port range, before or while vCPUs run.
 * Returns 0, -ENOTSUP or -errno. A VM with coalescing set up takes ~5-10 ms
 * longer for KVM to tear down here, so devices register only once a guest
 * proves chatty (the UART after 64 transmitted bytes).
 */
int coalesced_add_pio(struct vm *vm, uint16_t port, uint32_t length);
/* Remember the first vCPU's fd; map the ring now if zones already exist. */
int coalesced_start(struct vm *vm, int vcpu_fd);
/* Replay queued writes to the buses, in order. Cheap when empty. */
void coalesced_drain(struct vm *vm);
void coalesced_destroy(struct vm *vm);

#endif
