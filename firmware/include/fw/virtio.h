/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio (version 2) driver for the self-test images: discovery from
 * the device tree, feature negotiation, split virtqueues (direct and
 * indirect chains, EVENT_IDX), and small block and console layers on top.
 * Runs at CPL 3; ring memory is ordinary image memory (identity-mapped, so
 * a pointer is its guest-physical address).
 *
 *     static struct fw_blk blk;
 *     static uint8_t buf[4096] __attribute__((aligned(4096)));
 *
 *     fw_blk_open(&blk, 0, FW_BLK_WANT_ALL, 128);
 *     fw_blk_io(&blk, FW_VIRTIO_BLK_T_IN, 0, buf, sizeof(buf));  // status
 *
 * Register reads and writes are exits (~16 us here); the hot path touches
 * only RAM, plus a QueueNotify write (an ioeventfd, ~5 us) when the device
 * asks for kicks. A device in polling mode never does, so submitting costs
 * no exit at all.
 *
 * Completions are found by polling the used ring; interrupts are off unless
 * fw_vq_interrupts() turns them on (then the device raises its IOAPIC pin,
 * routed with fw_virtio_route_irq()).
 */
#ifndef FW_VIRTIO_H
#define FW_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- transport (virtio-mmio v2 registers, <linux/virtio_mmio.h>) ---- */
#define FW_VIRTIO_MAGIC_VALUE      0x000
#define FW_VIRTIO_VERSION          0x004
#define FW_VIRTIO_DEVICE_ID        0x008
#define FW_VIRTIO_VENDOR_ID        0x00c
#define FW_VIRTIO_DEVICE_FEATURES  0x010
#define FW_VIRTIO_DEVICE_FEAT_SEL  0x014
#define FW_VIRTIO_DRIVER_FEATURES  0x020
#define FW_VIRTIO_DRIVER_FEAT_SEL  0x024
#define FW_VIRTIO_QUEUE_SEL        0x030
#define FW_VIRTIO_QUEUE_NUM_MAX    0x034
#define FW_VIRTIO_QUEUE_NUM        0x038
#define FW_VIRTIO_QUEUE_READY      0x044
#define FW_VIRTIO_QUEUE_NOTIFY     0x050
#define FW_VIRTIO_INTERRUPT_STATUS 0x060
#define FW_VIRTIO_INTERRUPT_ACK    0x064
#define FW_VIRTIO_STATUS           0x070
#define FW_VIRTIO_QUEUE_DESC_LOW   0x080
#define FW_VIRTIO_QUEUE_DESC_HIGH  0x084
#define FW_VIRTIO_QUEUE_AVAIL_LOW  0x090
#define FW_VIRTIO_QUEUE_AVAIL_HIGH 0x094
#define FW_VIRTIO_QUEUE_USED_LOW   0x0a0
#define FW_VIRTIO_QUEUE_USED_HIGH  0x0a4
#define FW_VIRTIO_CONFIG_GEN       0x0fc
#define FW_VIRTIO_CONFIG           0x100

#define FW_VIRTIO_MAGIC            0x74726976u
#define FW_VIRTIO_ID_BLOCK         2
#define FW_VIRTIO_ID_CONSOLE       3

#define FW_VIRTIO_S_ACKNOWLEDGE    0x01
#define FW_VIRTIO_S_DRIVER         0x02
#define FW_VIRTIO_S_DRIVER_OK      0x04
#define FW_VIRTIO_S_FEATURES_OK    0x08
#define FW_VIRTIO_S_NEEDS_RESET    0x40
#define FW_VIRTIO_S_FAILED         0x80

#define FW_VIRTIO_INT_VRING        0x1
#define FW_VIRTIO_INT_CONFIG       0x2

#define FW_VIRTIO_F(bit)           (1ull << (bit))
#define FW_VIRTIO_F_INDIRECT_DESC  28
#define FW_VIRTIO_F_EVENT_IDX      29
#define FW_VIRTIO_F_VERSION_1      32

/* ---- split ring ---- */
#define FW_VRING_DESC_F_NEXT       1
#define FW_VRING_DESC_F_WRITE      2
#define FW_VRING_DESC_F_INDIRECT   4
#define FW_VRING_USED_F_NO_NOTIFY  1
#define FW_VRING_AVAIL_F_NO_INTERRUPT 1

#define FW_VQ_MAX 256

struct fw_vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One buffer of a chain: len bytes at addr, device-readable or -writable. */
struct fw_sg {
	const void *addr;
	uint32_t len;
	bool write;
};

struct fw_virtio {
	volatile uint8_t *regs;
	uint64_t base;
	int node;
	uint32_t device_id;
	int irq_pin;              /* IOAPIC pin from `interrupts`, or -1 */
	uint32_t irq_type;        /* second cell (1: level high, Linux's of_ioapic_type) */
	uint64_t device_features; /* offered */
	uint64_t features;        /* negotiated */
	char notify[4][8];        /* "kick"/"poll" per queue from vmm,notify, or "" */
};

struct fw_vq {
	struct fw_virtio *dev;
	unsigned int index;
	uint16_t size;
	volatile struct fw_vring_desc *desc;
	volatile uint16_t *avail;  /* flags, idx, ring[size], used_event */
	volatile uint8_t *used;    /* flags, idx, {id, len}[size], avail_event */
	uint16_t avail_idx;        /* next index to publish */
	uint16_t published;        /* avail->idx as last written */
	uint16_t last_used;
	uint16_t free_head;
	uint16_t num_free;
	bool event_idx;
	bool irq_on;
	uint16_t chain_len[FW_VQ_MAX];
	uint64_t notifies;         /* QueueNotify writes */
	uint64_t notify_skipped;   /* publishes the device said not to kick */
};

static inline uint32_t fw_virtio_read32(const struct fw_virtio *dev, unsigned int reg)
{
	return *(volatile uint32_t *)(dev->regs + reg);
}

static inline void fw_virtio_write32(const struct fw_virtio *dev, unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(dev->regs + reg) = v;
}

/* The nth "virtio,mmio" DT node whose DeviceID is device_id. 0 or -1. */
int fw_virtio_find(struct fw_virtio *dev, uint32_t device_id, unsigned int nth);
/* How many virtio,mmio nodes the DT has (whatever their device). */
int fw_virtio_count(void);

/*
 * Reset, ACKNOWLEDGE, DRIVER, offer (device features & want), FEATURES_OK.
 * Returns 0, or -1 when the device refused FEATURES_OK.
 */
int fw_virtio_negotiate(struct fw_virtio *dev, uint64_t want);
void fw_virtio_reset(struct fw_virtio *dev);
void fw_virtio_driver_ok(struct fw_virtio *dev);
static inline uint32_t fw_virtio_status(const struct fw_virtio *dev)
{
	return fw_virtio_read32(dev, FW_VIRTIO_STATUS);
}

/* Config space access (any width the field has). */
uint64_t fw_virtio_config_read(const struct fw_virtio *dev, unsigned int offset, unsigned int size);
void fw_virtio_config_write(const struct fw_virtio *dev, unsigned int offset, unsigned int size,
			    uint64_t value);

/* Bytes of ring memory a queue of `size` needs (mem must be 4096-aligned). */
size_t fw_vq_mem_size(uint16_t size);
/* Set up queue `index` (QueueNum = size) in mem and make it ready. 0 or -1. */
int fw_vq_setup(struct fw_virtio *dev, struct fw_vq *vq, unsigned int index, uint16_t size,
		void *mem);

/* Put a chain (out readable then in writable buffers) in the avail ring,
 * unpublished. Returns its head, or -1 when descriptors are short. */
int fw_vq_add(struct fw_vq *vq, const struct fw_sg *sg, unsigned int out, unsigned int in);
/* The same through one indirect descriptor and `table` (out + in entries). */
int fw_vq_add_indirect(struct fw_vq *vq, const struct fw_sg *sg, unsigned int out,
		       unsigned int in, struct fw_vring_desc *table);
/* Publish added chains; write QueueNotify only if the device wants it. */
void fw_vq_publish(struct fw_vq *vq);
/* Next used buffer: returns its head and *len, or -1 if none. */
int fw_vq_get_used(struct fw_vq *vq, uint32_t *len);
/* Ask for used-buffer interrupts (on) or not (off; the default). */
void fw_vq_interrupts(struct fw_vq *vq, bool on);
/* Does the device currently suppress kicks (used flags / avail_event)? */
bool fw_vq_device_suppresses_kicks(const struct fw_vq *vq);

/* IOAPIC: route the device's pin to `vector` on this CPU (edge: see virtio.c), or mask it. */
int fw_virtio_route_irq(const struct fw_virtio *dev, unsigned int vector);
void fw_virtio_mask_irq(const struct fw_virtio *dev);
uint32_t fw_virtio_isr(const struct fw_virtio *dev);
void fw_virtio_ack(const struct fw_virtio *dev, uint32_t bits);

/* ---- virtio-blk ---- */
#define FW_VIRTIO_BLK_F_SEG_MAX      2
#define FW_VIRTIO_BLK_F_RO           5
#define FW_VIRTIO_BLK_F_BLK_SIZE     6
#define FW_VIRTIO_BLK_F_FLUSH        9
#define FW_VIRTIO_BLK_F_DISCARD      13
#define FW_VIRTIO_BLK_F_WRITE_ZEROES 14

#define FW_VIRTIO_BLK_T_IN           0
#define FW_VIRTIO_BLK_T_OUT          1
#define FW_VIRTIO_BLK_T_FLUSH        4
#define FW_VIRTIO_BLK_T_GET_ID       8
#define FW_VIRTIO_BLK_T_DISCARD      11
#define FW_VIRTIO_BLK_T_WRITE_ZEROES 13

#define FW_VIRTIO_BLK_S_OK           0
#define FW_VIRTIO_BLK_S_IOERR        1
#define FW_VIRTIO_BLK_S_UNSUPP       2
#define FW_BLK_TIMEOUT               (-1)
#define FW_BLK_BUSY                  (-2)

/* Config offsets (struct virtio_blk_config). */
#define FW_VIRTIO_BLK_CFG_CAPACITY   0
#define FW_VIRTIO_BLK_CFG_SEG_MAX    12
#define FW_VIRTIO_BLK_CFG_BLK_SIZE   20
#define FW_VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40

#define FW_BLK_WANT_ALL (FW_VIRTIO_F(FW_VIRTIO_F_VERSION_1) | FW_VIRTIO_F(FW_VIRTIO_F_INDIRECT_DESC) | \
	FW_VIRTIO_F(FW_VIRTIO_F_EVENT_IDX) | FW_VIRTIO_F(FW_VIRTIO_BLK_F_SEG_MAX) |           \
	FW_VIRTIO_F(FW_VIRTIO_BLK_F_RO) | FW_VIRTIO_F(FW_VIRTIO_BLK_F_BLK_SIZE) |             \
	FW_VIRTIO_F(FW_VIRTIO_BLK_F_FLUSH) | FW_VIRTIO_F(FW_VIRTIO_BLK_F_DISCARD) |          \
	FW_VIRTIO_F(FW_VIRTIO_BLK_F_WRITE_ZEROES))

struct fw_blk_hdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

struct fw_blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* Per-request memory the device reads and writes. */
struct fw_blk_slot {
	struct fw_blk_hdr hdr;
	volatile uint8_t status;
	bool busy;
	bool done;
	uint32_t len;             /* used length */
	uint64_t token;           /* caller's */
	struct fw_vring_desc table[4] __attribute__((aligned(16)));
};

struct fw_blk {
	struct fw_virtio dev;
	struct fw_vq vq;
	uint64_t capacity;        /* sectors */
	uint32_t seg_max;
	bool read_only;
	bool indirect;            /* submit through indirect descriptors */
	struct fw_blk_slot slots[FW_VQ_MAX];
	uint8_t ring[16384] __attribute__((aligned(4096)));
};

/* Find the nth virtio-blk, negotiate (want & offered), one queue of qsize. 0 or -1. */
int fw_blk_open(struct fw_blk *blk, unsigned int nth, uint64_t want, uint16_t qsize);
/*
 * Queue one request with one data buffer (IN/GET_ID: written by the device;
 * OUT/DISCARD/WRITE_ZEROES: read; FLUSH: none), unpublished. Returns the
 * slot (= head when direct) or FW_BLK_BUSY.
 */
int fw_blk_submit(struct fw_blk *blk, uint32_t type, uint64_t sector, void *buf, uint32_t len,
		  uint64_t token);
/* Same with several data buffers. */
int fw_blk_submit_sg(struct fw_blk *blk, uint32_t type, uint64_t sector, const struct fw_sg *data,
		     unsigned int count, uint64_t token);
static inline void fw_blk_kick(struct fw_blk *blk)
{
	fw_vq_publish(&blk->vq);
}
/* One completion: 1 with *slot set (its status in blk->slots[*slot]), or 0. */
int fw_blk_reap(struct fw_blk *blk, int *slot);
/* Wait for a given slot (reaping others into their slots). Status or FW_BLK_TIMEOUT. */
int fw_blk_wait(struct fw_blk *blk, int slot, uint64_t timeout_us);
/* Submit, kick, wait: the status (FW_VIRTIO_BLK_S_*) or FW_BLK_TIMEOUT / FW_BLK_BUSY. */
int fw_blk_io(struct fw_blk *blk, uint32_t type, uint64_t sector, void *buf, uint32_t len);

/* ---- virtio-console ---- */
#define FW_VIRTIO_CONSOLE_F_EMERG_WRITE 2
#define FW_VIRTIO_CONSOLE_CFG_EMERG_WR  8

struct fw_vcon {
	struct fw_virtio dev;
	struct fw_vq rx, tx;
	uint8_t rx_ring[8192] __attribute__((aligned(4096)));
	uint8_t tx_ring[8192] __attribute__((aligned(4096)));
	char tx_buf[4096];
};

int fw_vcon_open(struct fw_vcon *con, unsigned int nth);
/* Write through the transmit queue and wait until the device took it. Bytes written or -1. */
int fw_vcon_write(struct fw_vcon *con, const void *buf, size_t len);
/* One character through the emergency-write register (an exit). */
void fw_vcon_emerg_write(struct fw_vcon *con, char c);

#endif
