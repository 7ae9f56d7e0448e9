/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (virtio 1.x section 4.2.2; register
 * offsets from <linux/virtio_mmio.h>): identification, feature
 * negotiation, device status and reset, queue setup, interrupt status and
 * acknowledge, config generation and the device's config space.
 *
 * The transport knows no VM: it is handed guest RAM, a device (ops) and an
 * interrupt line (ops->set_irq), so unit tests and the fuzzer drive it
 * through virtio_mmio_read()/virtio_mmio_write() alone.
 *
 * Threads and locking:
 *  - Register accesses come from vCPU threads. Reads and the writes that
 *    sit on fast paths (QueueNotify, InterruptACK) take no lock; every
 *    other write takes `lock`.
 *  - Queue processing (kick handler on the event thread, poller thread,
 *    I/O completions) also holds `lock`, so a reset or queue change never
 *    races a pop or push. No vCPU waits for it on a kick or poll path: the
 *    kick is an ioeventfd and polling needs no exit at all.
 *  - virtio_mmio_peek() is lock-free: a poller asks whether a live queue has
 *    work before taking the lock.
 */
#ifndef DEVICES_VIRTIO_TRANSPORT_H
#define DEVICES_VIRTIO_TRANSPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtqueue.h"

#define VIRTIO_MMIO_REGION_SIZE 0x200u
#define VIRTIO_MMIO_CONFIG_MAX  0x100u  /* config space: 0x100-0x1ff */
#define VIRTIO_MMIO_MAGIC       0x74726976u /* "virt" */
#define VIRTIO_MMIO_VENDOR      0x00564d4du /* "MMV\0": this VMM */
#define VIRTIO_MAX_QUEUES       4

struct virtio_mmio_ops {
	/* Config space bytes [offset, offset + size), offset + size <= config_size. */
	void (*config_read)(void *opaque, uint32_t offset, void *data, unsigned size);
	void (*config_write)(void *opaque, uint32_t offset, const void *data, unsigned size);
	/* DRIVER_OK: the ready queues are live. Lock held. */
	void (*start)(void *opaque);
	/* Reset (status 0, or teardown): stop touching the queues and finish
	 * in-flight work without writing the rings. Lock held. */
	void (*reset)(void *opaque);
	/* QueueNotify written through the trap (no ioeventfd). No lock. */
	void (*notify)(void *opaque, unsigned queue);
	/* Drive the interrupt line (level). Any thread, no lock. */
	void (*set_irq)(void *opaque, bool level);
};

struct virtio_mmio {
	const struct virtio_mmio_ops *ops;
	void *opaque;
	const struct guest_memory *mem;
	const char *name;            /* for messages */
	uint32_t device_id;
	uint64_t device_features;    /* offered: transport bits are added by init */
	uint32_t config_size;
	unsigned num_queues;
	uint16_t queue_max;

	pthread_mutex_t lock;
	uint64_t driver_features;    /* what the driver wrote */
	uint64_t features;           /* accepted at FEATURES_OK */
	atomic_uint device_features_sel;
	uint32_t driver_features_sel, queue_sel;
	bool queue_ready[VIRTIO_MAX_QUEUES];
	struct virtqueue queues[VIRTIO_MAX_QUEUES];
	/* Lock-free view of a live queue, for pollers. */
	_Atomic(const uint16_t *) peek_avail[VIRTIO_MAX_QUEUES];
	_Atomic uint16_t peek_last[VIRTIO_MAX_QUEUES];

	atomic_uint status;
	atomic_uint isr;
	atomic_uint generation;
	atomic_bool broken;          /* DEVICE_NEEDS_RESET set, queues dead */
	atomic_uint_fast64_t needs_reset_count;
};

/* Features every device offers (VERSION_1, INDIRECT_DESC, EVENT_IDX). */
uint64_t virtio_transport_features(void);

void virtio_mmio_init(struct virtio_mmio *t, const char *name, uint32_t device_id,
		      uint64_t device_features, uint32_t config_size, unsigned num_queues,
		      uint16_t queue_max, const struct guest_memory *mem,
		      const struct virtio_mmio_ops *ops, void *opaque);
void virtio_mmio_destroy(struct virtio_mmio *t);

/* Register access: size 1, 2, 4 or 8 at offset < VIRTIO_MMIO_REGION_SIZE. */
uint64_t virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, unsigned size);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, unsigned size, uint64_t value);

/* Device reset as if the driver wrote status 0 (also used at teardown). */
void virtio_mmio_reset(struct virtio_mmio *t);

/* ---- for device models (lock held unless stated) ---- */

/* Is queue q live (DRIVER_OK, ready, not broken)? */
static inline bool virtio_mmio_live(struct virtio_mmio *t, unsigned q)
{
	return atomic_load_explicit(&t->peek_avail[q], memory_order_acquire) != NULL;
}

/* Lock-free: does live queue q have a chain to pop? */
bool virtio_mmio_peek(struct virtio_mmio *t, unsigned q);

/*
 * vq_pop() on a live queue; a malformed ring marks the device NEEDS_RESET
 * (logged once, config interrupt raised) and returns the negative errno.
 */
int virtio_mmio_pop(struct virtio_mmio *t, unsigned q, struct vq_chain *chain);

/* Publish pushed buffers of queue q and interrupt if the driver wants it. */
void virtio_mmio_complete(struct virtio_mmio *t, unsigned q);

/* The device found the driver broke the rules outside a ring walk. */
void virtio_mmio_needs_reset(struct virtio_mmio *t, unsigned q, const char *why);

/* Config space changed: bump the generation, raise a config interrupt. Any thread. */
void virtio_mmio_config_changed(struct virtio_mmio *t);

/* Raise interrupt status bits (VIRTIO_MMIO_INT_*). Any thread, no lock. */
void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t bits);

static inline bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned bit)
{
	return (t->features >> bit) & 1;
}

#endif
