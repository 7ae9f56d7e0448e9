/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue (virtio 1.x, section 2.7), device side, over guest RAM.
 *
 * The guest is hostile: every index, length and address it wrote is
 * checked before use, each descriptor is read once into a local copy, and
 * every buffer is reached through guest_memory_ptr(). A malformed ring makes
 * vq_pop() fail with -errno and a reason in vq->error; the transport then
 * sets DEVICE_NEEDS_RESET. Nothing here allocates, locks or logs: the
 * caller serialises access to one queue (the transport's device lock) and
 * unit tests and the fuzzer drive it without a VM.
 *
 * Layout (all little-endian, x86 host):
 *   desc  16 * num bytes, 16-byte aligned: { u64 addr; u32 len; u16 flags; u16 next; }
 *   avail 2-byte aligned: u16 flags, u16 idx, u16 ring[num], u16 used_event
 *   used  4-byte aligned: u16 flags, u16 idx, { u32 id; u32 len; } ring[num], u16 avail_event
 */
#ifndef DEVICES_VIRTIO_VIRTQUEUE_H
#define DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/memory.h"

/* Most segments one chain may have (direct plus indirect, zero-length ones
 * not counted). virtio-blk advertises seg_max = VQ_MAX_SEGS - 2. */
#define VQ_MAX_SEGS 128
/* Largest queue size any device here offers (QueueNumMax). */
#define VQ_MAX_SIZE 256
/* Largest indirect table accepted (entries). */
#define VQ_MAX_INDIRECT 1024

/* One descriptor chain: device-readable segments first, then writable. */
struct vq_chain {
	uint16_t head;
	uint16_t out_num;     /* iov[0 .. out_num): device reads */
	uint16_t in_num;      /* iov[out_num .. out_num + in_num): device writes */
	uint64_t out_len;
	uint64_t in_len;
	struct iovec iov[VQ_MAX_SEGS];
};

struct virtqueue {
	/* Programmed by the driver through the transport while not ready. */
	uint16_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Valid between vq_start() and vq_stop(). */
	bool started;
	const struct guest_memory *mem;
	uint8_t *desc;        /* host pointers into guest RAM */
	uint8_t *avail;
	uint8_t *used;
	bool event_idx;       /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;        /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint16_t max_segs;    /* <= VQ_MAX_SEGS */
	uint16_t last_avail;  /* next avail ring slot to consume */
	uint16_t used_idx;    /* shadow of used->idx (published by vq_publish) */
	uint16_t signalled_used;
	bool signalled_valid;
	bool notify_enabled;  /* the device asked the driver for kicks */
	const char *error;    /* why the last vq_pop()/vq_start() failed */
	uint32_t error_detail;/* descriptor index or value involved */
};

/* Forget everything (queue reset). */
void vq_reset(struct virtqueue *vq);

/*
 * Check the driver's settings (num a power of two, 1..max_num; ring
 * alignment; rings wholly in RAM) and resolve the ring pointers. Returns 0,
 * or -EINVAL with vq->error set.
 */
int vq_start(struct virtqueue *vq, const struct guest_memory *mem, uint16_t max_num,
	     bool event_idx, bool indirect);
void vq_stop(struct virtqueue *vq);

/*
 * Take the next available chain. Returns 1 with *chain filled, 0 when the
 * ring is empty, or -errno when the driver broke the rules (vq->error says
 * how): avail index more than num ahead, head or next out of range, a loop
 * or a chain longer than the table, more than max_segs segments, a
 * readable segment after a writable one, an address range outside RAM, an
 * indirect descriptor not negotiated / nested / with NEXT / of bad length.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *chain);

/* Is there a chain vq_pop() would look at? (One acquire load.) */
bool vq_has_work(const struct virtqueue *vq);

/* Give back `head` with `len` bytes written; visible after vq_publish(). */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
/* Publish pushed entries (store-release of used->idx). */
void vq_publish(struct virtqueue *vq);

/*
 * After vq_publish(): should the driver be interrupted? Honours
 * VRING_AVAIL_F_NO_INTERRUPT or, with EVENT_IDX, used_event.
 */
bool vq_need_interrupt(struct virtqueue *vq);

/*
 * Ask the driver to kick (enable) or not (disable) on new buffers: used
 * flags NO_NOTIFY, or avail_event with EVENT_IDX. After enabling, the
 * caller must check vq_has_work() again (this function issues the full
 * barrier that makes that check race-free).
 */
void vq_set_notification(struct virtqueue *vq, bool enable);

/* Copy up to len bytes from the readable segments starting at offset. */
size_t vq_chain_read(const struct vq_chain *chain, uint64_t offset, void *buf, size_t len);
/* Copy up to len bytes into the writable segments starting at offset. */
size_t vq_chain_write(const struct vq_chain *chain, uint64_t offset, const void *buf, size_t len);

/* Bytes the three rings of a queue of size num occupy (for tests). */
static inline uint64_t vq_desc_size(uint16_t num) { return 16ull * num; }
static inline uint64_t vq_avail_size(uint16_t num) { return 6ull + 2ull * num; }
static inline uint64_t vq_used_size(uint16_t num) { return 6ull + 8ull * num; }

#endif
