/* SPDX-License-Identifier: MIT */
/* Split virtqueue, device side: see virtqueue.h. */
#include "devices/virtio/virtqueue.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdatomic.h>
#include <string.h>

#define AVAIL_FLAGS   0
#define AVAIL_IDX     2
#define AVAIL_RING    4
#define USED_FLAGS    0
#define USED_IDX      2
#define USED_RING     4
#define DESC_SIZE     16

/* The descriptor as read once from guest memory. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One read of a guest field: the compiler may not fetch it twice. */
static inline uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
}

static inline void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, v, __ATOMIC_RELAXED);
}

static inline void store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELAXED);
}

/* A descriptor may be unaligned inside an indirect table: copy, then fence
 * the compiler so every later use reads the copy, not guest memory. */
static void read_desc(const uint8_t *table, uint32_t index, struct desc *d)
{
	memcpy(d, table + (uint64_t)index * DESC_SIZE, sizeof(*d));
	__asm__ volatile("" ::: "memory");
}

static int vq_fail(struct virtqueue *vq, int rc, const char *why, uint32_t detail)
{
	vq->error = why;
	vq->error_detail = detail;
	return rc;
}

void vq_reset(struct virtqueue *vq)
{
	memset(vq, 0, sizeof(*vq));
}

int vq_start(struct virtqueue *vq, const struct guest_memory *mem, uint16_t max_num,
	     bool event_idx, bool indirect)
{
	uint16_t num = vq->num;

	vq->started = false;
	if (num == 0 || num > max_num || (num & (num - 1)))
		return vq_fail(vq, -EINVAL, "queue size is not a power of two within QueueNumMax",
			       num);
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return vq_fail(vq, -EINVAL, "ring address misaligned (desc 16, avail 2, used 4)", 0);
	vq->desc = guest_memory_ptr(mem, vq->desc_gpa, vq_desc_size(num));
	vq->avail = guest_memory_ptr(mem, vq->avail_gpa, vq_avail_size(num));
	vq->used = guest_memory_ptr(mem, vq->used_gpa, vq_used_size(num));
	if (!vq->desc || !vq->avail || !vq->used)
		return vq_fail(vq, -EINVAL, "ring outside guest RAM", 0);
	vq->mem = mem;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->max_segs = VQ_MAX_SEGS;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->notify_enabled = true;
	vq->error = NULL;
	vq->started = true;
	return 0;
}

void vq_stop(struct virtqueue *vq)
{
	vq->started = false;
}

static uint16_t avail_idx_acquire(const struct virtqueue *vq)
{
	return __atomic_load_n((const uint16_t *)(const void *)(vq->avail + AVAIL_IDX),
			       __ATOMIC_ACQUIRE);
}

bool vq_has_work(const struct virtqueue *vq)
{
	return vq->started && avail_idx_acquire(vq) != vq->last_avail;
}

/* Append one guest buffer to the chain. */
static int chain_add(struct virtqueue *vq, struct vq_chain *chain, const struct desc *d,
		     uint32_t index)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;

	if (!writable && chain->in_num)
		return vq_fail(vq, -EINVAL, "device-readable descriptor after a writable one", index);
	if (d->len == 0)
		return 0;
	if (chain->out_num + chain->in_num >= vq->max_segs)
		return vq_fail(vq, -E2BIG, "chain has more segments than the device accepts",
			       vq->max_segs);
	void *host = guest_memory_ptr(vq->mem, d->addr, d->len);

	if (!host)
		return vq_fail(vq, -EFAULT, "descriptor buffer outside guest RAM", index);
	struct iovec *iov = &chain->iov[chain->out_num + chain->in_num];

	iov->iov_base = host;
	iov->iov_len = d->len;
	if (writable) {
		chain->in_num++;
		chain->in_len += d->len;
	} else {
		chain->out_num++;
		chain->out_len += d->len;
	}
	return 0;
}

/* Switch the walk to the indirect table `d` names. */
static int enter_indirect(struct virtqueue *vq, const struct desc *d, uint32_t index,
			  const uint8_t **table, uint32_t *table_len)
{
	if (!vq->indirect)
		return vq_fail(vq, -EINVAL, "indirect descriptor, VIRTIO_F_INDIRECT_DESC not negotiated",
			       index);
	if (d->flags & VRING_DESC_F_NEXT)
		return vq_fail(vq, -EINVAL, "indirect descriptor with NEXT set", index);
	if (d->len == 0 || d->len % DESC_SIZE || d->len / DESC_SIZE > VQ_MAX_INDIRECT)
		return vq_fail(vq, -EINVAL, "indirect table length not a multiple of 16 (or too long)",
			       d->len);
	*table = guest_memory_ptr(vq->mem, d->addr, d->len);
	if (!*table)
		return vq_fail(vq, -EFAULT, "indirect table outside guest RAM", index);
	*table_len = d->len / DESC_SIZE;
	return 0;
}

/* Walk the chain from `head`: the main table, then at most one indirect table. */
static int walk_chain(struct virtqueue *vq, uint16_t head, struct vq_chain *chain)
{
	const uint8_t *table = vq->desc;
	uint32_t table_len = vq->num, index = head, visited = 0;
	bool indirect = false;
	struct desc d;
	int rc;

	chain->head = head;
	chain->out_num = chain->in_num = 0;
	chain->out_len = chain->in_len = 0;
	for (;;) {
		if (++visited > table_len)
			return vq_fail(vq, -ELOOP, "descriptor chain loops or outgrows its table", index);
		read_desc(table, index, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				return vq_fail(vq, -EINVAL, "indirect descriptor inside an indirect table",
					       index);
			if ((rc = enter_indirect(vq, &d, index, &table, &table_len)))
				return rc;
			indirect = true;
			index = 0;
			visited = 0;
			continue;
		}
		if ((rc = chain_add(vq, chain, &d, index)))
			return rc;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= table_len)
			return vq_fail(vq, -EINVAL, "next descriptor index out of range", d.next);
		index = d.next;
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *chain)
{
	if (!vq->started)
		return 0;
	uint16_t avail = avail_idx_acquire(vq);
	uint16_t pending = (uint16_t)(avail - vq->last_avail);

	if (pending == 0)
		return 0;
	if (pending > vq->num)
		return vq_fail(vq, -EINVAL, "avail index ran more than the queue size ahead", avail);
	uint16_t slot = vq->last_avail & (uint16_t)(vq->num - 1);
	uint16_t head = load16(vq->avail + AVAIL_RING + 2u * slot);

	if (head >= vq->num)
		return vq_fail(vq, -EINVAL, "avail ring names a head outside the table", head);
	int rc = walk_chain(vq, head, chain);

	if (rc)
		return rc;
	vq->last_avail++;
	return 1;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	uint8_t *elem = vq->used + USED_RING + 8u * (vq->used_idx & (uint16_t)(vq->num - 1));

	store32(elem, head);
	store32(elem + 4, len);
	vq->used_idx++;
}

void vq_publish(struct virtqueue *vq)
{
	__atomic_store_n((uint16_t *)(void *)(vq->used + USED_IDX), vq->used_idx, __ATOMIC_RELEASE);
}

bool vq_need_interrupt(struct virtqueue *vq)
{
	/* used->idx must be visible before we read the driver's suppression. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!vq->event_idx)
		return !(load16(vq->avail + AVAIL_FLAGS) & VRING_AVAIL_F_NO_INTERRUPT);
	uint16_t event = load16(vq->avail + AVAIL_RING + 2u * vq->num);
	uint16_t old = vq->signalled_used, now = vq->used_idx;
	bool valid = vq->signalled_valid;

	vq->signalled_used = now;
	vq->signalled_valid = true;
	return !valid || vring_need_event(event, now, old);
}

void vq_set_notification(struct virtqueue *vq, bool enable)
{
	vq->notify_enabled = enable;
	if (!vq->started)
		return;
	store16(vq->used + USED_FLAGS, enable ? 0 : VRING_USED_F_NO_NOTIFY);
	/* With EVENT_IDX, "kick me at the next buffer"; disabling leaves the
	 * old event behind the driver, which then does not kick. */
	if (vq->event_idx && enable)
		store16(vq->used + USED_RING + 8u * vq->num, vq->last_avail);
	if (enable)
		atomic_thread_fence(memory_order_seq_cst);
}

size_t vq_chain_read(const struct vq_chain *chain, uint64_t offset, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < chain->out_num && done < len; i++) {
		size_t seg = chain->iov[i].iov_len;

		if (offset >= seg) {
			offset -= seg;
			continue;
		}
		size_t n = seg - offset < len - done ? seg - offset : len - done;

		memcpy((uint8_t *)buf + done, (const uint8_t *)chain->iov[i].iov_base + offset, n);
		done += n;
		offset = 0;
	}
	return done;
}

size_t vq_chain_write(const struct vq_chain *chain, uint64_t offset, const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = chain->out_num; i < chain->out_num + chain->in_num && done < len; i++) {
		size_t seg = chain->iov[i].iov_len;

		if (offset >= seg) {
			offset -= seg;
			continue;
		}
		size_t n = seg - offset < len - done ? seg - offset : len - done;

		memcpy((uint8_t *)chain->iov[i].iov_base + offset, (const uint8_t *)buf + done, n);
		done += n;
		offset = 0;
	}
	return done;
}
