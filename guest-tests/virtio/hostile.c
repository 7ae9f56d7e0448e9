// SPDX-License-Identifier: MIT
/*
 * Guest test `virtio`: a hostile driver. Each case breaks a ring rule; the
 * device must set DEVICE_NEEDS_RESET (with a config interrupt status), not
 * touch anything outside guest RAM, and work again after a reset.
 */
#include "vt.h"

static struct fw_blk_hdr hdr __attribute__((aligned(16)));
static volatile uint8_t status;
static struct fw_vring_desc table[160] __attribute__((aligned(16)));
static struct fw_vring_desc table2[4] __attribute__((aligned(16)));

static struct fw_sg sg_hdr(void)
{
	hdr = (struct fw_blk_hdr){ .type = FW_VIRTIO_BLK_T_IN, .sector = 0 };
	return (struct fw_sg){ &hdr, sizeof(hdr), false };
}

static struct fw_sg sg_status(void)
{
	return (struct fw_sg){ (const void *)(uintptr_t)&status, 1, true };
}

static struct fw_sg sg_at(uint64_t addr, uint32_t len, bool write)
{
	return (struct fw_sg){ (const void *)(uintptr_t)addr, len, write };
}

/* The device must report NEEDS_RESET, then work again after a reset. */
static void expect_broken(const char *what)
{
	struct fw_virtio *d = &vt_disk.dev;

	if (!CHECK(vt_wait_needs_reset(d), "%s: no NEEDS_RESET (status %#x)", what,
		   fw_virtio_status(d)))
		return;
	CHECK(fw_virtio_isr(d) & FW_VIRTIO_INT_CONFIG, "%s: no config interrupt (ISR %#x)", what,
	      fw_virtio_isr(d));
	if (!CHECK(vt_open_disk(FW_BLK_WANT_ALL, 128), "%s: reopen after reset failed", what))
		return;
	CHECK_EQ(fw_blk_io(&vt_disk, FW_VIRTIO_BLK_T_IN, 3, vt_buf, 512), FW_VIRTIO_BLK_S_OK);
	CHECK(vt_host_pattern_ok(vt_buf, 3), "%s: wrong data after recovery", what);
}

static void publish_chain(const struct fw_sg *sg, unsigned n)
{
	fw_vq_add(&vt_disk.vq, sg, n, 0);
	fw_vq_publish(&vt_disk.vq);
}

TEST(hostile_buffer_outside_ram)
{
	REQUIRE(vt_open_disk(FW_BLK_WANT_ALL, 128), "no disk");
	uint64_t ram = fw_fdt_memory_size();
	struct fw_sg sg[3] = { sg_hdr(), sg_at(1ull << 40, 512, true), sg_status() };

	publish_chain(sg, 3);
	expect_broken("buffer at 1 TiB");
	sg[0] = sg_hdr();
	sg[1] = sg_at(ram - 256, 512, true); /* straddles the end of RAM */
	publish_chain(sg, 3);
	expect_broken("buffer across the end of RAM");
	sg[0] = sg_hdr();
	sg[1] = sg_at(0xfec00000, 512, true); /* the IOAPIC, not RAM */
	publish_chain(sg, 3);
	expect_broken("buffer on MMIO");
	sg[0] = sg_hdr();
	sg[1] = sg_at(~0ull - 100, 512, true); /* wraps around */
	publish_chain(sg, 3);
	expect_broken("buffer wrapping the address space");
}

TEST(hostile_descriptor_loop)
{
	REQUIRE(vt_disk_ok, "no disk");
	struct fw_vq *vq = &vt_disk.vq;
	struct fw_sg sg[2] = { sg_hdr(), sg_status() };
	int head = fw_vq_add(vq, sg, 1, 1);
	uint16_t second = vq->desc[head].next;

	vq->desc[second].flags |= FW_VRING_DESC_F_NEXT;
	vq->desc[second].next = (uint16_t)head;
	fw_vq_publish(vq);
	expect_broken("loop");
}

TEST(hostile_indexes)
{
	REQUIRE(vt_disk_ok, "no disk");
	struct fw_vq *vq = &vt_disk.vq;

	/* avail->idx more than the queue size ahead. */
	vq->avail_idx = (uint16_t)(vq->published + vq->size + 1);
	fw_vq_publish(vq);
	expect_broken("avail index jump");
	/* A head outside the table. */
	vq = &vt_disk.vq;
	vq->avail[2 + (vq->avail_idx & (vq->size - 1))] = 0xfff0;
	vq->avail_idx++;
	fw_vq_publish(vq);
	expect_broken("head out of range");
	/* A next index outside the table. */
	struct fw_sg sg[2] = { sg_hdr(), sg_status() };
	int head;

	vq = &vt_disk.vq;
	head = fw_vq_add(vq, sg, 1, 1);
	vq->desc[head].next = 5000;
	fw_vq_publish(vq);
	expect_broken("next out of range");
}

TEST(hostile_direction)
{
	REQUIRE(vt_disk_ok, "no disk");
	struct fw_sg sg[4] = { sg_hdr(), sg_at((uintptr_t)vt_buf, 512, true),
			       sg_at((uintptr_t)vt_buf2, 512, false), sg_status() };

	publish_chain(sg, 4);
	expect_broken("readable after writable");
	/* No writable status byte at all / a header shorter than 16 bytes. */
	sg[0] = sg_hdr();
	publish_chain(sg, 1);
	expect_broken("no status byte");
	sg[0] = sg_hdr();
	sg[0].len = 8;
	sg[1] = sg_status();
	publish_chain(sg, 2);
	expect_broken("8-byte header");
}

TEST(hostile_indirect)
{
	struct fw_sg sg[3];

	/* Not negotiated. */
	REQUIRE(vt_open_disk(FW_BLK_WANT_ALL & ~FW_VIRTIO_F(FW_VIRTIO_F_INDIRECT_DESC), 128), "open");
	sg[0] = sg_hdr();
	sg[1] = sg_status();
	fw_vq_add_indirect(&vt_disk.vq, sg, 1, 1, table);
	fw_vq_publish(&vt_disk.vq);
	expect_broken("indirect without the feature");

	/* Nested table. */
	sg[0] = sg_hdr();
	sg[1] = sg_status();
	fw_vq_add_indirect(&vt_disk.vq, sg, 1, 1, table);
	table2[0] = table[0];
	table[0] = (struct fw_vring_desc){ (uintptr_t)table2, 16, FW_VRING_DESC_F_INDIRECT, 0 };
	fw_vq_publish(&vt_disk.vq);
	expect_broken("nested indirect table");

	/* Length not a multiple of 16, NEXT set, table outside RAM. */
	struct fw_vq *vq = &vt_disk.vq;
	int head;

	sg[0] = sg_hdr();
	sg[1] = sg_status();
	head = fw_vq_add_indirect(vq, sg, 1, 1, table);
	vq->desc[head].len = 24;
	fw_vq_publish(vq);
	expect_broken("indirect length 24");
	vq = &vt_disk.vq;
	head = fw_vq_add_indirect(vq, sg, 1, 1, table);
	vq->desc[head].flags |= FW_VRING_DESC_F_NEXT;
	fw_vq_publish(vq);
	expect_broken("indirect with NEXT");
	vq = &vt_disk.vq;
	head = fw_vq_add_indirect(vq, sg, 1, 1, table);
	vq->desc[head].addr = 1ull << 40;
	fw_vq_publish(vq);
	expect_broken("indirect table outside RAM");
}

TEST(hostile_too_many_segments)
{
	REQUIRE(vt_disk_ok, "no disk");
	static struct fw_sg sg[140];
	unsigned n = 0;

	sg[n++] = sg_hdr();
	for (unsigned i = 0; i < 130; i++)
		sg[n++] = sg_at((uintptr_t)vt_buf + 512 * i, 512, true);
	sg[n++] = sg_status();
	fw_vq_add_indirect(&vt_disk.vq, sg, 1, n - 1, table);
	fw_vq_publish(&vt_disk.vq);
	expect_broken("132 segments, seg_max 126");
}

/* Queue setup by hand: rings the device must refuse at DRIVER_OK. */
static void bad_queue(uint16_t num, uint64_t desc, const char *what)
{
	struct fw_virtio *d = &vt_disk.dev;
	uint64_t ring = (uintptr_t)vt_disk.ring;

	REQUIRE(fw_virtio_negotiate(d, FW_BLK_WANT_ALL) == 0, "%s: negotiate", what);
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_SEL, 0);
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_NUM, num);
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_DESC_LOW, (uint32_t)desc);
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_AVAIL_LOW, (uint32_t)(ring + 4096));
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_USED_LOW, (uint32_t)(ring + 8192));
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_READY, 1);
	fw_virtio_driver_ok(d);
	expect_broken(what);
}

TEST(hostile_queue_setup)
{
	REQUIRE(vt_disk_ok, "no disk");
	uint64_t ring = (uintptr_t)vt_disk.ring;

	bad_queue(128, 0xf0000000ull, "descriptor table outside RAM");
	bad_queue(128, fw_fdt_memory_size() - 1024, "descriptor table across the end of RAM");
	bad_queue(128, ring + 8, "misaligned descriptor table");
	bad_queue(100, ring, "queue size 100");
	bad_queue(256, ring, "queue size above QueueNumMax");

	/* DRIVER_OK without FEATURES_OK. */
	struct fw_virtio *d = &vt_disk.dev;

	fw_virtio_reset(d);
	fw_virtio_write32(d, FW_VIRTIO_STATUS, FW_VIRTIO_S_ACKNOWLEDGE | FW_VIRTIO_S_DRIVER);
	fw_virtio_write32(d, FW_VIRTIO_STATUS, FW_VIRTIO_S_ACKNOWLEDGE | FW_VIRTIO_S_DRIVER |
						       FW_VIRTIO_S_DRIVER_OK);
	CHECK(vt_wait_needs_reset(d), "DRIVER_OK without FEATURES_OK accepted");
	REQUIRE(vt_open_disk(FW_BLK_WANT_ALL, 128), "reopen");
}

TEST(register_misuse)
{
	REQUIRE(vt_disk_ok, "no disk");
	struct fw_virtio *d = &vt_disk.dev;

	/* Narrow register accesses, unknown registers, notify of a missing
	 * queue, queue registers while ready: all ignored. */
	*(volatile uint8_t *)(d->regs + FW_VIRTIO_STATUS) = 0;
	*(volatile uint16_t *)(d->regs + FW_VIRTIO_QUEUE_SEL) = 3;
	fw_virtio_write32(d, 0x0d0, 0x12345678);
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_NOTIFY, 7);
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_SEL, 0);
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_NUM, 3);
	fw_virtio_write32(d, FW_VIRTIO_QUEUE_DESC_LOW, 0x10);
	CHECK_EQ(fw_virtio_read32(d, FW_VIRTIO_QUEUE_NUM), 128);
	CHECK_EQ(*(volatile uint8_t *)(d->regs + FW_VIRTIO_MAGIC_VALUE), 0);
	CHECK_EQ(fw_virtio_read32(d, 0x0d0), 0);
	/* Config writes to a read-only config are dropped; reads past it are 0. */
	fw_virtio_config_write(d, 0, 4, 0xdeadbeef);
	CHECK_EQ(fw_virtio_config_read(d, FW_VIRTIO_BLK_CFG_CAPACITY, 8), vt_disk.capacity);
	CHECK_EQ(fw_virtio_config_read(d, 0xf0, 4), 0);
	CHECK_EQ(fw_virtio_status(d) & FW_VIRTIO_S_NEEDS_RESET, 0);
	CHECK_EQ(fw_blk_io(&vt_disk, FW_VIRTIO_BLK_T_IN, 3, vt_buf, 512), FW_VIRTIO_BLK_S_OK);
}
