/* SPDX-License-Identifier: MIT */
/* virtio-mmio transport, version 2: see transport.h. */
#include "devices/virtio/transport.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <string.h>

#include "vmm/log.h"

#define STATUS_DEVICE_BITS VIRTIO_CONFIG_S_NEEDS_RESET

uint64_t virtio_transport_features(void)
{
	return (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
	       (1ull << VIRTIO_RING_F_EVENT_IDX);
}

void virtio_mmio_init(struct virtio_mmio *t, const char *name, uint32_t device_id,
		      uint64_t device_features, uint32_t config_size, unsigned num_queues,
		      uint16_t queue_max, const struct guest_memory *mem,
		      const struct virtio_mmio_ops *ops, void *opaque)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->device_id = device_id;
	t->device_features = device_features | virtio_transport_features();
	t->config_size = config_size < VIRTIO_MMIO_CONFIG_MAX ? config_size : VIRTIO_MMIO_CONFIG_MAX;
	t->num_queues = num_queues < VIRTIO_MAX_QUEUES ? num_queues : VIRTIO_MAX_QUEUES;
	t->queue_max = queue_max < VQ_MAX_SIZE ? queue_max : VQ_MAX_SIZE;
	t->mem = mem;
	t->ops = ops;
	t->opaque = opaque;
	pthread_mutex_init(&t->lock, NULL);
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	pthread_mutex_destroy(&t->lock);
}

/* ---- interrupts ---- */

/*
 * Make the line follow isr. Only a thread that moved isr across zero calls
 * this; re-reading after each change means the last caller leaves the line
 * matching isr whatever the interleaving.
 */
static void settle_irq(struct virtio_mmio *t)
{
	for (;;) {
		bool level = atomic_load(&t->isr) != 0;

		t->ops->set_irq(t->opaque, level);
		if ((atomic_load(&t->isr) != 0) == level)
			return;
	}
}

void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t bits)
{
	if (atomic_fetch_or(&t->isr, bits) == 0)
		settle_irq(t);
}

static void interrupt_ack(struct virtio_mmio *t, uint32_t bits)
{
	uint32_t old = atomic_fetch_and(&t->isr, ~bits);

	if (old && !(old & ~bits))
		settle_irq(t);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	atomic_fetch_add(&t->generation, 1);
	virtio_mmio_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

/* ---- queue liveness ---- */

static void set_live(struct virtio_mmio *t, unsigned q, bool live)
{
	struct virtqueue *vq = &t->queues[q];

	if (live && vq->started) {
		atomic_store(&t->peek_last[q], vq->last_avail);
		atomic_store_explicit(&t->peek_avail[q],
				      (const uint16_t *)(const void *)(vq->avail + 2),
				      memory_order_release);
	} else {
		atomic_store_explicit(&t->peek_avail[q], NULL, memory_order_release);
	}
}

static void all_dead(struct virtio_mmio *t)
{
	for (unsigned q = 0; q < t->num_queues; q++)
		set_live(t, q, false);
}

bool virtio_mmio_peek(struct virtio_mmio *t, unsigned q)
{
	const uint16_t *avail = atomic_load_explicit(&t->peek_avail[q], memory_order_acquire);

	return avail && __atomic_load_n(avail, __ATOMIC_ACQUIRE) != atomic_load(&t->peek_last[q]);
}

void virtio_mmio_needs_reset(struct virtio_mmio *t, unsigned q, const char *why)
{
	if (atomic_exchange(&t->broken, true))
		return;
	all_dead(t);
	atomic_fetch_add(&t->needs_reset_count, 1);
	log_warn("%s: queue %u: %s; device needs reset", t->name, q, why);
	uint32_t status = atomic_fetch_or(&t->status, VIRTIO_CONFIG_S_NEEDS_RESET);

	if (status & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio_mmio_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

int virtio_mmio_pop(struct virtio_mmio *t, unsigned q, struct vq_chain *chain)
{
	struct virtqueue *vq = &t->queues[q];

	if (!virtio_mmio_live(t, q))
		return 0;
	int rc = vq_pop(vq, chain);

	if (rc < 0) {
		char why[160];

		snprintf(why, sizeof(why), "%s (%u)", vq->error, vq->error_detail);
		virtio_mmio_needs_reset(t, q, why);
		return rc;
	}
	atomic_store_explicit(&t->peek_last[q], vq->last_avail, memory_order_release);
	return rc;
}

void virtio_mmio_complete(struct virtio_mmio *t, unsigned q)
{
	struct virtqueue *vq = &t->queues[q];

	if (!virtio_mmio_live(t, q))
		return;
	vq_publish(vq);
	if (vq_need_interrupt(vq))
		virtio_mmio_interrupt(t, VIRTIO_MMIO_INT_VRING);
}

/* ---- status, features, queues (lock held) ---- */

static bool negotiated(const struct virtio_mmio *t, unsigned bit)
{
	return (t->driver_features >> bit) & 1;
}

/* Start every ready queue with the final features; false if one is bad. */
static bool start_queues(struct virtio_mmio *t)
{
	for (unsigned q = 0; q < t->num_queues; q++) {
		struct virtqueue *vq = &t->queues[q];

		if (!t->queue_ready[q])
			continue;
		if (vq_start(vq, t->mem, t->queue_max, negotiated(t, VIRTIO_RING_F_EVENT_IDX),
			     negotiated(t, VIRTIO_RING_F_INDIRECT_DESC))) {
			virtio_mmio_needs_reset(t, q, vq->error);
			return false;
		}
	}
	return true;
}

static void driver_ok(struct virtio_mmio *t)
{
	if (!(atomic_load(&t->status) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		virtio_mmio_needs_reset(t, 0, "DRIVER_OK without FEATURES_OK");
		return;
	}
	if (!start_queues(t))
		return;
	for (unsigned q = 0; q < t->num_queues; q++)
		set_live(t, q, t->queue_ready[q]);
	t->ops->start(t->opaque);
}

void virtio_mmio_reset(struct virtio_mmio *t)
{
	all_dead(t);
	t->ops->reset(t->opaque);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vq_reset(&t->queues[q]);
		t->queue_ready[q] = false;
	}
	t->driver_features = t->features = 0;
	atomic_store(&t->device_features_sel, 0);
	t->driver_features_sel = t->queue_sel = 0;
	atomic_store(&t->broken, false);
	atomic_store(&t->status, 0);
	interrupt_ack(t, ~0u);
}

static bool features_acceptable(const struct virtio_mmio *t)
{
	return !(t->driver_features & ~t->device_features) && negotiated(t, VIRTIO_F_VERSION_1);
}

static void write_status(struct virtio_mmio *t, uint32_t value)
{
	if (value == 0) {
		virtio_mmio_reset(t);
		return;
	}
	uint32_t old = atomic_load(&t->status);
	uint32_t now = (value & 0xff & ~STATUS_DEVICE_BITS) | (old & STATUS_DEVICE_BITS);

	if ((now & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		if (features_acceptable(t))
			t->features = t->driver_features;
		else
			now &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
	}
	atomic_store(&t->status, now);
	if ((now & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !atomic_load(&t->broken))
		driver_ok(t);
}

static void write_driver_features(struct virtio_mmio *t, uint32_t value)
{
	if (atomic_load(&t->status) & VIRTIO_CONFIG_S_FEATURES_OK)
		return; /* frozen once accepted */
	if (t->driver_features_sel == 0)
		t->driver_features = (t->driver_features & ~0xffffffffull) | value;
	else if (t->driver_features_sel == 1)
		t->driver_features = (t->driver_features & 0xffffffffull) | ((uint64_t)value << 32);
}

static void write_queue_ready(struct virtio_mmio *t, struct virtqueue *vq, unsigned q,
			      uint32_t value)
{
	if (!value) {
		t->queue_ready[q] = false;
		set_live(t, q, false);
		vq_stop(vq);
		return;
	}
	if (t->queue_ready[q])
		return;
	t->queue_ready[q] = true;
	if (!(atomic_load(&t->status) & VIRTIO_CONFIG_S_DRIVER_OK) || atomic_load(&t->broken))
		return; /* started at DRIVER_OK */
	if (vq_start(vq, t->mem, t->queue_max, virtio_mmio_has_feature(t, VIRTIO_RING_F_EVENT_IDX),
		     virtio_mmio_has_feature(t, VIRTIO_RING_F_INDIRECT_DESC))) {
		virtio_mmio_needs_reset(t, q, vq->error);
		return;
	}
	set_live(t, q, true);
	t->ops->start(t->opaque);
}

/* Queue registers: only while the selected queue is not ready. */
static void write_queue_reg(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
	unsigned q = t->queue_sel;

	if (q >= t->num_queues)
		return;
	struct virtqueue *vq = &t->queues[q];

	if (offset == VIRTIO_MMIO_QUEUE_READY) {
		write_queue_ready(t, vq, q, value);
		return;
	}
	if (t->queue_ready[q]) {
		log_debug("%s: queue %u register %#llx written while ready: ignored", t->name, q,
			  (unsigned long long)offset);
		return;
	}
	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM:
		vq->num = (uint16_t)(value > 0xffff ? 0 : value);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		vq->desc_gpa = (vq->desc_gpa & ~0xffffffffull) | value;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		vq->desc_gpa = (vq->desc_gpa & 0xffffffffull) | ((uint64_t)value << 32);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		vq->avail_gpa = (vq->avail_gpa & ~0xffffffffull) | value;
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		vq->avail_gpa = (vq->avail_gpa & 0xffffffffull) | ((uint64_t)value << 32);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		vq->used_gpa = (vq->used_gpa & ~0xffffffffull) | value;
		break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		vq->used_gpa = (vq->used_gpa & 0xffffffffull) | ((uint64_t)value << 32);
		break;
	default:
		break;
	}
}

static void write_locked(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		atomic_store(&t->device_features_sel, value);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		write_driver_features(t, value);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = value;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = value;
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, value);
		break;
	default:
		write_queue_reg(t, offset, value);
		break;
	}
}

/* ---- register access ---- */

static uint32_t read_queue_reg(struct virtio_mmio *t, uint64_t offset)
{
	unsigned q = t->queue_sel;

	if (q >= t->num_queues)
		return 0;
	const struct virtqueue *vq = &t->queues[q];

	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return t->queue_max;
	case VIRTIO_MMIO_QUEUE_NUM:
		return vq->num;
	case VIRTIO_MMIO_QUEUE_READY:
		return t->queue_ready[q];
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return (uint32_t)vq->desc_gpa;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return (uint32_t)(vq->desc_gpa >> 32);
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return (uint32_t)vq->avail_gpa;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		return (uint32_t)(vq->avail_gpa >> 32);
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		return (uint32_t)vq->used_gpa;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return (uint32_t)(vq->used_gpa >> 32);
	default:
		return 0;
	}
}

static uint32_t read_register(struct virtio_mmio *t, uint64_t offset)
{
	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES: {
		uint32_t sel = atomic_load(&t->device_features_sel);

		return sel > 1 ? 0 : (uint32_t)(t->device_features >> (32 * sel));
	}
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&t->isr);
	case VIRTIO_MMIO_STATUS:
		return atomic_load(&t->status);
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return atomic_load(&t->generation);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return ~0u; /* no shared memory regions */
	default:
		break;
	}
	pthread_mutex_lock(&t->lock);
	uint32_t value = read_queue_reg(t, offset);

	pthread_mutex_unlock(&t->lock);
	return value;
}

uint64_t virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, unsigned size)
{
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t value = 0;
		uint64_t at = offset - VIRTIO_MMIO_CONFIG;

		if (size <= 8 && at + size <= t->config_size)
			t->ops->config_read(t->opaque, (uint32_t)at, &value, size);
		return value;
	}
	if (size != 4 || (offset & 3)) {
		log_debug("%s: %u-byte read of register %#llx: registers are 32-bit", t->name, size,
			  (unsigned long long)offset);
		return 0;
	}
	return read_register(t, offset);
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, unsigned size, uint64_t value)
{
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t at = offset - VIRTIO_MMIO_CONFIG;

		if (size <= 8 && at + size <= t->config_size && t->ops->config_write)
			t->ops->config_write(t->opaque, (uint32_t)at, &value, size);
		return;
	}
	if (size != 4 || (offset & 3)) {
		log_debug("%s: %u-byte write of register %#llx: registers are 32-bit", t->name, size,
			  (unsigned long long)offset);
		return;
	}
	if (offset == VIRTIO_MMIO_QUEUE_NOTIFY) {
		if (value < t->num_queues)
			t->ops->notify(t->opaque, (unsigned)value);
		return;
	}
	if (offset == VIRTIO_MMIO_INTERRUPT_ACK) {
		interrupt_ack(t, (uint32_t)value);
		return;
	}
	pthread_mutex_lock(&t->lock);
	write_locked(t, offset, (uint32_t)value);
	pthread_mutex_unlock(&t->lock);
}
