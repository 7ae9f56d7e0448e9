// SPDX-License-Identifier: MIT
/* virtio-mmio driver for the self-test images: see fw/virtio.h. */
#include "fw/virtio.h"

#include <string.h>

#include "fw/apic.h"
#include "fw/cpu.h"
#include "fw/fdt.h"
#include "fw/tsc.h"

#define IOAPIC_BASE        0xfec00000ul
#define IOAPIC_REGSEL      0x00
#define IOAPIC_WINDOW      0x10
#define IOAPIC_REDIR(pin)  (0x10 + 2 * (pin))
#define IOAPIC_MASKED      (1u << 16)

static inline void mb(void)
{
	__asm__ volatile("mfence" ::: "memory");
}

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* ---- discovery ---- */

static void read_notify_modes(struct fw_virtio *dev)
{
	int len = 0;
	const char *p = fdt_getprop(fw_fdt(), dev->node, "vmm,notify", &len);

	memset(dev->notify, 0, sizeof(dev->notify));
	for (unsigned int q = 0; p && len > 0 && q < 4; q++) {
		size_t n = strnlen(p, (size_t)len);

		memcpy(dev->notify[q], p, n < 7 ? n : 7);
		p += n + 1;
		len -= (int)n + 1;
	}
}

static int probe_node(struct fw_virtio *dev, int node)
{
	struct fw_fdt_reg reg;
	int len = 0;
	const fdt32_t *irq = fdt_getprop(fw_fdt(), node, "interrupts", &len);

	if (fw_fdt_read_reg(node, 0, &reg) < 0 || reg.size < 0x200)
		return -1;
	dev->node = node;
	dev->base = reg.addr;
	dev->regs = (volatile uint8_t *)(uintptr_t)reg.addr;
	dev->irq_pin = irq && len >= 8 ? (int)fdt32_to_cpu(irq[0]) : -1;
	dev->irq_type = irq && len >= 8 ? fdt32_to_cpu(irq[1]) : 0;
	if (fw_virtio_read32(dev, FW_VIRTIO_MAGIC_VALUE) != FW_VIRTIO_MAGIC ||
	    fw_virtio_read32(dev, FW_VIRTIO_VERSION) != 2)
		return -1;
	dev->device_id = fw_virtio_read32(dev, FW_VIRTIO_DEVICE_ID);
	read_notify_modes(dev);
	return 0;
}

int fw_virtio_find(struct fw_virtio *dev, uint32_t device_id, unsigned int nth)
{
	for (int node = fw_fdt_find_compatible(-1, "virtio,mmio"); node >= 0;
	     node = fw_fdt_find_compatible(node, "virtio,mmio")) {
		if (probe_node(dev, node) == 0 && dev->device_id == device_id && nth-- == 0)
			return 0;
	}
	return -1;
}

int fw_virtio_count(void)
{
	int n = 0;

	for (int node = fw_fdt_find_compatible(-1, "virtio,mmio"); node >= 0;
	     node = fw_fdt_find_compatible(node, "virtio,mmio"))
		n++;
	return n;
}

/* ---- status and features ---- */

void fw_virtio_reset(struct fw_virtio *dev)
{
	fw_virtio_write32(dev, FW_VIRTIO_STATUS, 0);
	while (fw_virtio_read32(dev, FW_VIRTIO_STATUS) != 0)
		cpu_relax();
}

int fw_virtio_negotiate(struct fw_virtio *dev, uint64_t want)
{
	uint64_t offered;

	fw_virtio_reset(dev);
	fw_virtio_write32(dev, FW_VIRTIO_STATUS, FW_VIRTIO_S_ACKNOWLEDGE);
	fw_virtio_write32(dev, FW_VIRTIO_STATUS, FW_VIRTIO_S_ACKNOWLEDGE | FW_VIRTIO_S_DRIVER);
	fw_virtio_write32(dev, FW_VIRTIO_DEVICE_FEAT_SEL, 0);
	offered = fw_virtio_read32(dev, FW_VIRTIO_DEVICE_FEATURES);
	fw_virtio_write32(dev, FW_VIRTIO_DEVICE_FEAT_SEL, 1);
	offered |= (uint64_t)fw_virtio_read32(dev, FW_VIRTIO_DEVICE_FEATURES) << 32;
	dev->device_features = offered;
	dev->features = offered & want;
	fw_virtio_write32(dev, FW_VIRTIO_DRIVER_FEAT_SEL, 0);
	fw_virtio_write32(dev, FW_VIRTIO_DRIVER_FEATURES, (uint32_t)dev->features);
	fw_virtio_write32(dev, FW_VIRTIO_DRIVER_FEAT_SEL, 1);
	fw_virtio_write32(dev, FW_VIRTIO_DRIVER_FEATURES, (uint32_t)(dev->features >> 32));
	fw_virtio_write32(dev, FW_VIRTIO_STATUS,
			  FW_VIRTIO_S_ACKNOWLEDGE | FW_VIRTIO_S_DRIVER | FW_VIRTIO_S_FEATURES_OK);
	return (fw_virtio_status(dev) & FW_VIRTIO_S_FEATURES_OK) ? 0 : -1;
}

void fw_virtio_driver_ok(struct fw_virtio *dev)
{
	fw_virtio_write32(dev, FW_VIRTIO_STATUS, fw_virtio_status(dev) | FW_VIRTIO_S_DRIVER_OK);
}

uint64_t fw_virtio_config_read(const struct fw_virtio *dev, unsigned int offset, unsigned int size)
{
	const volatile uint8_t *p = dev->regs + FW_VIRTIO_CONFIG + offset;

	switch (size) {
	case 1:
		return *p;
	case 2:
		return *(const volatile uint16_t *)p;
	case 4:
		return *(const volatile uint32_t *)p;
	default: {
		/* 64-bit fields: two reads, retried across a generation change. */
		uint32_t gen, lo, hi;

		do {
			gen = fw_virtio_read32(dev, FW_VIRTIO_CONFIG_GEN);
			lo = *(const volatile uint32_t *)p;
			hi = *(const volatile uint32_t *)(p + 4);
		} while (gen != fw_virtio_read32(dev, FW_VIRTIO_CONFIG_GEN));
		return ((uint64_t)hi << 32) | lo;
	}
	}
}

void fw_virtio_config_write(const struct fw_virtio *dev, unsigned int offset, unsigned int size,
			    uint64_t value)
{
	volatile uint8_t *p = dev->regs + FW_VIRTIO_CONFIG + offset;

	if (size == 1)
		*p = (uint8_t)value;
	else if (size == 2)
		*(volatile uint16_t *)p = (uint16_t)value;
	else
		*(volatile uint32_t *)p = (uint32_t)value;
}

/* ---- queues ---- */

static size_t avail_offset(uint16_t size)
{
	return 16u * size;
}

static size_t used_offset(uint16_t size)
{
	return (avail_offset(size) + 6u + 2u * size + 3u) & ~(size_t)3;
}

size_t fw_vq_mem_size(uint16_t size)
{
	return used_offset(size) + 6u + 8u * size;
}

static void write64(struct fw_virtio *dev, unsigned int low, uint64_t v)
{
	fw_virtio_write32(dev, low, (uint32_t)v);
	fw_virtio_write32(dev, low + 4, (uint32_t)(v >> 32));
}

int fw_vq_setup(struct fw_virtio *dev, struct fw_vq *vq, unsigned int index, uint16_t size,
		void *mem)
{
	uint8_t *base = mem;

	fw_virtio_write32(dev, FW_VIRTIO_QUEUE_SEL, index);
	if (fw_virtio_read32(dev, FW_VIRTIO_QUEUE_READY) ||
	    fw_virtio_read32(dev, FW_VIRTIO_QUEUE_NUM_MAX) < size || size > FW_VQ_MAX)
		return -1;
	memset(vq, 0, sizeof(*vq));
	memset(mem, 0, fw_vq_mem_size(size));
	vq->dev = dev;
	vq->index = index;
	vq->size = size;
	vq->desc = (volatile struct fw_vring_desc *)base;
	vq->avail = (volatile uint16_t *)(base + avail_offset(size));
	vq->used = base + used_offset(size);
	vq->event_idx = dev->features & FW_VIRTIO_F(FW_VIRTIO_F_EVENT_IDX);
	vq->num_free = size;
	for (uint16_t i = 0; i < size; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
	fw_vq_interrupts(vq, false);
	fw_virtio_write32(dev, FW_VIRTIO_QUEUE_NUM, size);
	write64(dev, FW_VIRTIO_QUEUE_DESC_LOW, (uintptr_t)vq->desc);
	write64(dev, FW_VIRTIO_QUEUE_AVAIL_LOW, (uintptr_t)vq->avail);
	write64(dev, FW_VIRTIO_QUEUE_USED_LOW, (uintptr_t)vq->used);
	fw_virtio_write32(dev, FW_VIRTIO_QUEUE_READY, 1);
	return 0;
}

static void set_desc(volatile struct fw_vring_desc *d, const struct fw_sg *sg, uint16_t flags)
{
	d->addr = (uintptr_t)sg->addr;
	d->len = sg->len;
	d->flags = (uint16_t)(flags | (sg->write ? FW_VRING_DESC_F_WRITE : 0));
}

static void make_available(struct fw_vq *vq, uint16_t head)
{
	vq->avail[2 + (vq->avail_idx & (vq->size - 1))] = head;
	vq->avail_idx++;
}

int fw_vq_add(struct fw_vq *vq, const struct fw_sg *sg, unsigned int out, unsigned int in)
{
	unsigned int n = out + in;

	if (n == 0 || n > vq->num_free)
		return -1;
	uint16_t head = vq->free_head, i = head;

	for (unsigned int k = 0; k < n; k++) {
		set_desc(&vq->desc[i], &sg[k], k + 1 < n ? FW_VRING_DESC_F_NEXT : 0);
		if (k + 1 < n)
			i = vq->desc[i].next;
	}
	vq->free_head = vq->desc[i].next;
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->chain_len[head] = (uint16_t)n;
	make_available(vq, head);
	return head;
}

int fw_vq_add_indirect(struct fw_vq *vq, const struct fw_sg *sg, unsigned int out,
		       unsigned int in, struct fw_vring_desc *table)
{
	unsigned int n = out + in;

	if (n == 0 || vq->num_free == 0)
		return -1;
	for (unsigned int k = 0; k < n; k++) {
		table[k].addr = (uintptr_t)sg[k].addr;
		table[k].len = sg[k].len;
		table[k].flags = (uint16_t)((k + 1 < n ? FW_VRING_DESC_F_NEXT : 0) |
					    (sg[k].write ? FW_VRING_DESC_F_WRITE : 0));
		table[k].next = (uint16_t)(k + 1);
	}
	uint16_t head = vq->free_head;
	volatile struct fw_vring_desc *d = &vq->desc[head];

	vq->free_head = d->next;
	vq->num_free--;
	d->addr = (uintptr_t)table;
	d->len = n * sizeof(*table);
	d->flags = FW_VRING_DESC_F_INDIRECT;
	vq->chain_len[head] = 1;
	make_available(vq, head);
	return head;
}

static bool need_event(uint16_t event, uint16_t now, uint16_t old)
{
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

static uint16_t avail_event(const struct fw_vq *vq)
{
	return *(const volatile uint16_t *)(vq->used + 4 + 8u * vq->size);
}

bool fw_vq_device_suppresses_kicks(const struct fw_vq *vq)
{
	if (vq->event_idx)
		return avail_event(vq) != vq->published;
	return *(const volatile uint16_t *)vq->used & FW_VRING_USED_F_NO_NOTIFY;
}

void fw_vq_publish(struct fw_vq *vq)
{
	uint16_t old = vq->published, now = vq->avail_idx;
	bool kick;

	if (old == now)
		return;
	barrier(); /* x86 keeps stores in order; the compiler must too */
	vq->avail[1] = now;
	vq->published = now;
	mb(); /* the index before reading the device's suppression */
	if (vq->event_idx)
		kick = need_event(avail_event(vq), now, old);
	else
		kick = !(*(const volatile uint16_t *)vq->used & FW_VRING_USED_F_NO_NOTIFY);
	if (kick) {
		fw_virtio_write32(vq->dev, FW_VIRTIO_QUEUE_NOTIFY, vq->index);
		vq->notifies++;
	} else {
		vq->notify_skipped++;
	}
}

static void free_chain(struct fw_vq *vq, uint16_t head)
{
	uint16_t last = head;

	for (uint16_t k = 1; k < vq->chain_len[head]; k++)
		last = vq->desc[last].next;
	vq->desc[last].next = vq->free_head;
	vq->free_head = head;
	vq->num_free = (uint16_t)(vq->num_free + vq->chain_len[head]);
	vq->chain_len[head] = 0;
}

static void set_used_event(struct fw_vq *vq)
{
	/* On: interrupt for the next used buffer; off: an event the device passed. */
	vq->avail[2 + vq->size] = (uint16_t)(vq->irq_on ? vq->last_used : vq->last_used - 1);
}

int fw_vq_get_used(struct fw_vq *vq, uint32_t *len)
{
	uint16_t idx = __atomic_load_n((const volatile uint16_t *)(vq->used + 2), __ATOMIC_ACQUIRE);

	if (idx == vq->last_used)
		return -1;
	const volatile uint8_t *elem = vq->used + 4 + 8u * (vq->last_used & (vq->size - 1));
	uint32_t id = *(const volatile uint32_t *)elem;

	*len = *(const volatile uint32_t *)(elem + 4);
	vq->last_used++;
	if (vq->event_idx)
		set_used_event(vq);
	if (id >= vq->size || vq->chain_len[id] == 0)
		return -1; /* not ours: a device bug */
	free_chain(vq, (uint16_t)id);
	return (int)id;
}

void fw_vq_interrupts(struct fw_vq *vq, bool on)
{
	vq->irq_on = on;
	vq->avail[0] = on ? 0 : FW_VRING_AVAIL_F_NO_INTERRUPT;
	set_used_event(vq);
	mb();
}

/* ---- interrupts through the IOAPIC ---- */

static void ioapic_write(unsigned int index, uint32_t value)
{
	*(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_REGSEL) = index;
	*(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_WINDOW) = value;
}

/*
 * Edge-triggered on purpose although the DT says level: the firmware's CPL 0
 * stub EOIs before CPL 3 code can read and acknowledge InterruptStatus, so a
 * level pin that is still asserted would be re-delivered at once, forever.
 * The device raises the line when InterruptStatus goes from 0 to non-zero,
 * which is exactly one rising edge per batch the driver acknowledges.
 */
int fw_virtio_route_irq(const struct fw_virtio *dev, unsigned int vector)
{
	if (dev->irq_pin < 0 || vector < 32 || vector > 0xfe)
		return -1;
	ioapic_write(IOAPIC_REDIR(dev->irq_pin) + 1, fw_lapic_id() << 24);
	ioapic_write(IOAPIC_REDIR(dev->irq_pin), vector);
	return 0;
}

void fw_virtio_mask_irq(const struct fw_virtio *dev)
{
	if (dev->irq_pin >= 0)
		ioapic_write(IOAPIC_REDIR(dev->irq_pin), IOAPIC_MASKED);
}

uint32_t fw_virtio_isr(const struct fw_virtio *dev)
{
	return fw_virtio_read32(dev, FW_VIRTIO_INTERRUPT_STATUS);
}

void fw_virtio_ack(const struct fw_virtio *dev, uint32_t bits)
{
	fw_virtio_write32(dev, FW_VIRTIO_INTERRUPT_ACK, bits);
}

/* ---- virtio-blk ---- */

int fw_blk_open(struct fw_blk *blk, unsigned int nth, uint64_t want, uint16_t qsize)
{
	memset(&blk->dev, 0, sizeof(blk->dev));
	memset(blk->slots, 0, sizeof(blk->slots));
	if (fw_virtio_find(&blk->dev, FW_VIRTIO_ID_BLOCK, nth) || fw_virtio_negotiate(&blk->dev, want))
		return -1;
	blk->capacity = fw_virtio_config_read(&blk->dev, FW_VIRTIO_BLK_CFG_CAPACITY, 8);
	blk->seg_max = (blk->dev.features & FW_VIRTIO_F(FW_VIRTIO_BLK_F_SEG_MAX))
			       ? (uint32_t)fw_virtio_config_read(&blk->dev, FW_VIRTIO_BLK_CFG_SEG_MAX, 4)
			       : 1;
	blk->read_only = blk->dev.features & FW_VIRTIO_F(FW_VIRTIO_BLK_F_RO);
	blk->indirect = false;
	if (fw_vq_setup(&blk->dev, &blk->vq, 0, qsize, blk->ring))
		return -1;
	fw_virtio_driver_ok(&blk->dev);
	return 0;
}

static bool device_writes(uint32_t type)
{
	return type == FW_VIRTIO_BLK_T_IN || type == FW_VIRTIO_BLK_T_GET_ID;
}

int fw_blk_submit_sg(struct fw_blk *blk, uint32_t type, uint64_t sector, const struct fw_sg *data,
		     unsigned int count, uint64_t token)
{
	struct fw_sg sg[6];
	struct fw_blk_slot *slot;
	unsigned int n = 0;
	int head;

	/* Both chain kinds take the free list's head: that is the slot. */
	if (count > 4 || blk->vq.num_free < (blk->indirect ? 1 : count + 2))
		return FW_BLK_BUSY;
	slot = &blk->slots[blk->vq.free_head];
	if (slot->busy)
		return FW_BLK_BUSY;
	slot->hdr.type = type;
	slot->hdr.ioprio = 0;
	slot->hdr.sector = sector;
	slot->status = 0xff;
	slot->done = false;
	slot->token = token;
	sg[n++] = (struct fw_sg){ &slot->hdr, sizeof(slot->hdr), false };
	for (unsigned int i = 0; i < count; i++) {
		sg[n] = data[i];
		sg[n++].write = device_writes(type);
	}
	sg[n++] = (struct fw_sg){ (const void *)(uintptr_t)&slot->status, 1, true };
	if (blk->indirect)
		head = fw_vq_add_indirect(&blk->vq, sg, device_writes(type) ? 1 : n - 1,
					  device_writes(type) ? n - 1 : 1, slot->table);
	else
		head = fw_vq_add(&blk->vq, sg, device_writes(type) ? 1 : n - 1,
				 device_writes(type) ? n - 1 : 1);
	if (head < 0)
		return FW_BLK_BUSY;
	slot->busy = true;
	return head;
}

int fw_blk_submit(struct fw_blk *blk, uint32_t type, uint64_t sector, void *buf, uint32_t len,
		  uint64_t token)
{
	struct fw_sg data = { buf, len, false };

	return fw_blk_submit_sg(blk, type, sector, &data, buf && len ? 1 : 0, token);
}

int fw_blk_reap(struct fw_blk *blk, int *slot)
{
	uint32_t len;
	int head = fw_vq_get_used(&blk->vq, &len);

	if (head < 0)
		return 0;
	blk->slots[head].busy = false;
	blk->slots[head].done = true;
	blk->slots[head].len = len;
	*slot = head;
	return 1;
}

int fw_blk_wait(struct fw_blk *blk, int slot, uint64_t timeout_us)
{
	uint64_t start = rdtsc(), limit = fw_tsc_from_us(timeout_us);
	int got;

	while (!blk->slots[slot].done) {
		if (!fw_blk_reap(blk, &got) && rdtsc() - start > limit)
			return FW_BLK_TIMEOUT;
	}
	blk->slots[slot].done = false;
	return blk->slots[slot].status;
}

int fw_blk_io(struct fw_blk *blk, uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
	int slot = fw_blk_submit(blk, type, sector, buf, len, 0);

	if (slot < 0)
		return slot;
	fw_blk_kick(blk);
	return fw_blk_wait(blk, slot, 5000000);
}

/* ---- virtio-console ---- */

int fw_vcon_open(struct fw_vcon *con, unsigned int nth)
{
	uint64_t want = FW_VIRTIO_F(FW_VIRTIO_F_VERSION_1) | FW_VIRTIO_F(FW_VIRTIO_F_EVENT_IDX) |
			FW_VIRTIO_F(FW_VIRTIO_CONSOLE_F_EMERG_WRITE);

	memset(&con->dev, 0, sizeof(con->dev));
	if (fw_virtio_find(&con->dev, FW_VIRTIO_ID_CONSOLE, nth) ||
	    fw_virtio_negotiate(&con->dev, want) ||
	    fw_vq_setup(&con->dev, &con->rx, 0, 16, con->rx_ring) ||
	    fw_vq_setup(&con->dev, &con->tx, 1, 16, con->tx_ring))
		return -1;
	fw_virtio_driver_ok(&con->dev);
	return 0;
}

int fw_vcon_write(struct fw_vcon *con, const void *buf, size_t len)
{
	struct fw_sg sg = { con->tx_buf, 0, false };
	uint64_t start = rdtsc(), limit = fw_tsc_from_us(2000000);
	uint32_t used;

	if (len > sizeof(con->tx_buf))
		len = sizeof(con->tx_buf);
	memcpy(con->tx_buf, buf, len);
	sg.len = (uint32_t)len;
	if (fw_vq_add(&con->tx, &sg, 1, 0) < 0)
		return -1;
	fw_vq_publish(&con->tx);
	while (fw_vq_get_used(&con->tx, &used) < 0) {
		if (rdtsc() - start > limit)
			return -1;
		cpu_relax();
	}
	return (int)len;
}

void fw_vcon_emerg_write(struct fw_vcon *con, char c)
{
	fw_virtio_config_write(&con->dev, FW_VIRTIO_CONSOLE_CFG_EMERG_WR, 4, (uint8_t)c);
}
