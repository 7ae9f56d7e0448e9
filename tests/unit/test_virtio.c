/* SPDX-License-Identifier: MIT */
/*
 * virtio: the split-virtqueue parser against hostile rings, and the
 * virtio-mmio transport through its register interface with a fake device
 * (no VM: fake guest RAM between PROT_NONE guard pages, so a touch outside
 * it crashes the test).
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/virtio/transport.h"
#include "devices/virtio/virtqueue.h"
#include "suites.h"

#define RAM_SIZE  (1u << 20)
#define GUARD     (64u << 10)
#define DESC_GPA  0x1000u
#define AVAIL_GPA 0x2000u
#define USED_GPA  0x3000u
#define BUF_GPA   0x10000u
#define TABLE_GPA 0x8000u
#define NUM       8u

static uint8_t *mapping;
static struct guest_memory mem;
static struct virtqueue vq;
static struct vq_chain chain;
static uint16_t avail_idx;

static void ram_setup(void)
{
	mapping = mmap(NULL, RAM_SIZE + 2 * GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(mapping, MAP_FAILED);
	ck_assert_int_eq(mprotect(mapping + GUARD, RAM_SIZE, PROT_READ | PROT_WRITE), 0);
	mem = (struct guest_memory){ .base = mapping + GUARD, .size = RAM_SIZE };
	memset(&vq, 0, sizeof(vq));
	avail_idx = 0;
}

static void ram_teardown(void)
{
	munmap(mapping, RAM_SIZE + 2 * GUARD);
}

static void *gpa(uint64_t addr)
{
	return mem.base + addr;
}

static void set_desc(unsigned table_gpa, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(gpa(table_gpa + 16u * i), &d, sizeof(d));
}

/* A started queue of NUM entries with the given features. */
static void start_queue(bool event_idx, bool indirect)
{
	vq.num = NUM;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	ck_assert_int_eq(vq_start(&vq, &mem, 128, event_idx, indirect), 0);
}

static void make_available(uint16_t head)
{
	uint16_t *avail = gpa(AVAIL_GPA);

	avail[2 + (avail_idx % NUM)] = head;
	avail[1] = ++avail_idx;
}

static uint16_t used_idx(void)
{
	return ((uint16_t *)gpa(USED_GPA))[1];
}

/* ---- vq_start ---- */

START_TEST(start_validates_size_alignment_and_range)
{
	static const struct {
		uint16_t num;
		uint64_t desc, avail, used;
	} bad[] = {
		{ 0, DESC_GPA, AVAIL_GPA, USED_GPA },
		{ 6, DESC_GPA, AVAIL_GPA, USED_GPA },
		{ 256, DESC_GPA, AVAIL_GPA, USED_GPA },        /* above max 128 */
		{ NUM, DESC_GPA + 8, AVAIL_GPA, USED_GPA },    /* desc needs 16 */
		{ NUM, DESC_GPA, AVAIL_GPA + 1, USED_GPA },    /* avail needs 2 */
		{ NUM, DESC_GPA, AVAIL_GPA, USED_GPA + 2 },    /* used needs 4 */
		{ NUM, RAM_SIZE - 64, AVAIL_GPA, USED_GPA },   /* desc across the end */
		{ NUM, DESC_GPA, RAM_SIZE - 8, USED_GPA },
		{ NUM, DESC_GPA, AVAIL_GPA, RAM_SIZE - 16 },
		{ NUM, ~0ull - 15, AVAIL_GPA, USED_GPA },      /* wraps */
		{ NUM, 1ull << 40, AVAIL_GPA, USED_GPA },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&vq, 0, sizeof(vq));
		vq.num = bad[i].num;
		vq.desc_gpa = bad[i].desc;
		vq.avail_gpa = bad[i].avail;
		vq.used_gpa = bad[i].used;
		ck_assert_msg(vq_start(&vq, &mem, 128, false, false) == -EINVAL, "case %zu", i);
		ck_assert(!vq.started);
		ck_assert_ptr_nonnull(vq.error);
		ck_assert_int_eq(vq_pop(&vq, &chain), 0); /* not started: nothing */
	}
	start_queue(false, false);
	ck_assert(vq.started);
}
END_TEST

/* ---- well-formed chains ---- */

START_TEST(pops_a_chain_readable_then_writable)
{
	start_queue(false, false);
	set_desc(DESC_GPA, 2, BUF_GPA, 16, VRING_DESC_F_NEXT, 5);
	set_desc(DESC_GPA, 5, BUF_GPA + 0x1000, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 7);
	set_desc(DESC_GPA, 7, BUF_GPA + 0x3000, 1, VRING_DESC_F_WRITE, 0);
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
	ck_assert(!vq_has_work(&vq));
	make_available(2);
	ck_assert(vq_has_work(&vq));
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_int_eq(chain.head, 2);
	ck_assert_int_eq(chain.out_num, 1);
	ck_assert_int_eq(chain.in_num, 2);
	ck_assert_uint_eq(chain.out_len, 16);
	ck_assert_uint_eq(chain.in_len, 4097);
	ck_assert_ptr_eq(chain.iov[0].iov_base, gpa(BUF_GPA));
	ck_assert_ptr_eq(chain.iov[1].iov_base, gpa(BUF_GPA + 0x1000));
	ck_assert_ptr_eq(chain.iov[2].iov_base, gpa(BUF_GPA + 0x3000));
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
}
END_TEST

START_TEST(zero_length_descriptors_are_skipped)
{
	start_queue(false, false);
	set_desc(DESC_GPA, 0, 1ull << 50, 0, VRING_DESC_F_NEXT, 1); /* never dereferenced */
	set_desc(DESC_GPA, 1, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	make_available(0);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_int_eq(chain.out_num, 0);
	ck_assert_int_eq(chain.in_num, 1);
}
END_TEST

START_TEST(index_wraps_at_65536)
{
	start_queue(false, false);
	set_desc(DESC_GPA, 3, BUF_GPA, 64, 0, 0);
	for (unsigned i = 0; i < 70000; i++) {
		make_available(3);
		ck_assert_int_eq(vq_pop(&vq, &chain), 1);
		vq_push(&vq, chain.head, 0);
	}
	vq_publish(&vq);
	ck_assert_uint_eq(used_idx(), (uint16_t)70000);
	ck_assert_uint_eq(vq.last_avail, (uint16_t)70000);
}
END_TEST

START_TEST(indirect_table)
{
	start_queue(false, true);
	set_desc(TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(TABLE_GPA, 2, BUF_GPA + 512, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(TABLE_GPA, 1, BUF_GPA + 2048, 1, VRING_DESC_F_WRITE, 0);
	set_desc(DESC_GPA, 4, TABLE_GPA, 48, VRING_DESC_F_INDIRECT, 0);
	make_available(4);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_int_eq(chain.head, 4);
	ck_assert_int_eq(chain.out_num, 1);
	ck_assert_int_eq(chain.in_num, 2);
	ck_assert_uint_eq(chain.in_len, 513);
	/* A direct descriptor may lead to the indirect one (which ends the chain). */
	set_desc(DESC_GPA, 6, BUF_GPA + 4096, 16, VRING_DESC_F_NEXT, 4);
	make_available(6);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_int_eq(chain.out_num, 2);
	ck_assert_int_eq(chain.in_num, 2);
}
END_TEST

START_TEST(chain_read_and_write_cross_segments)
{
	uint8_t out[32], in[32] = { 0 };

	start_queue(false, false);
	memcpy(gpa(BUF_GPA), "0123456789", 10);
	memcpy(gpa(BUF_GPA + 100), "abcdefghij", 10);
	set_desc(DESC_GPA, 0, BUF_GPA, 10, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA + 100, 10, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_GPA, 2, BUF_GPA + 200, 3, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	set_desc(DESC_GPA, 3, BUF_GPA + 300, 5, VRING_DESC_F_WRITE, 0);
	make_available(0);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_uint_eq(vq_chain_read(&chain, 7, out, sizeof(out)), 13);
	ck_assert(!memcmp(out, "789abcdefghij", 13));
	ck_assert_uint_eq(vq_chain_write(&chain, 1, "XYZWVUT", 7), 7);
	memcpy(in, gpa(BUF_GPA + 200), 3);
	memcpy(in + 3, gpa(BUF_GPA + 300), 5);
	ck_assert(!memcmp(in + 1, "XYZWVUT", 7));
	ck_assert_uint_eq(vq_chain_write(&chain, 6, "12345", 5), 2); /* only 2 bytes of room */
}
END_TEST

/* ---- hostile chains: each must fail with an errno, never touch outside RAM ---- */

static void expect_pop_fails(int rc)
{
	uint16_t before = vq.last_avail;

	ck_assert_int_eq(vq_pop(&vq, &chain), rc);
	ck_assert_ptr_nonnull(vq.error);
	ck_assert_uint_eq(vq.last_avail, before); /* not consumed */
}

START_TEST(hostile_indexes)
{
	uint16_t *avail;

	start_queue(false, false);
	avail = gpa(AVAIL_GPA);
	avail[1] = NUM + 1; /* more than the queue size ahead */
	expect_pop_fails(-EINVAL);
	avail[1] = 1;
	avail[2] = NUM; /* head outside the table */
	expect_pop_fails(-EINVAL);
	avail[2] = 0xffff;
	expect_pop_fails(-EINVAL);
	avail[2] = 1;
	set_desc(DESC_GPA, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, NUM); /* next outside */
	expect_pop_fails(-EINVAL);
}
END_TEST

START_TEST(hostile_loops)
{
	start_queue(false, true);
	set_desc(DESC_GPA, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 0); /* self */
	make_available(0);
	expect_pop_fails(-ELOOP);
	set_desc(DESC_GPA, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_GPA, 2, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
	expect_pop_fails(-ELOOP);
	/* A loop inside an indirect table. */
	set_desc(TABLE_GPA, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(TABLE_GPA, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
	set_desc(DESC_GPA, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	expect_pop_fails(-ELOOP);
	/* Zero-length descriptors do not escape the loop check. */
	set_desc(DESC_GPA, 0, BUF_GPA, 0, VRING_DESC_F_NEXT, 0);
	expect_pop_fails(-ELOOP);
}
END_TEST

START_TEST(hostile_direction)
{
	start_queue(false, false);
	set_desc(DESC_GPA, 0, BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 8, 0, 0);
	make_available(0);
	expect_pop_fails(-EINVAL);
}
END_TEST

START_TEST(hostile_addresses)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ RAM_SIZE, 1 },              /* just past the end */
		{ RAM_SIZE - 4, 8 },          /* across the end */
		{ ~0ull - 3, 8 },             /* wraps to 0 */
		{ ~0ull, 1 },
		{ 1ull << 63, 4096 },
		{ 0, 0xffffffffu },           /* longer than RAM */
	};

	start_queue(false, false);
	make_available(0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_desc(DESC_GPA, 0, bad[i].addr, bad[i].len, 0, 0);
		expect_pop_fails(-EFAULT);
	}
	set_desc(DESC_GPA, 0, RAM_SIZE - 8, 8, 0, 0); /* the last 8 bytes: fine */
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
}
END_TEST

START_TEST(hostile_indirect)
{
	start_queue(false, false);
	set_desc(TABLE_GPA, 0, BUF_GPA, 8, 0, 0);
	set_desc(DESC_GPA, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	make_available(0);
	expect_pop_fails(-EINVAL); /* not negotiated */

	memset(&vq, 0, sizeof(vq));
	avail_idx = 0;
	memset(gpa(AVAIL_GPA), 0, 64);
	start_queue(false, true);
	make_available(0);
	set_desc(DESC_GPA, 0, TABLE_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	expect_pop_fails(-EINVAL); /* length not a multiple of 16 */
	set_desc(DESC_GPA, 0, TABLE_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	expect_pop_fails(-EINVAL);
	set_desc(DESC_GPA, 0, TABLE_GPA, 16 * (VQ_MAX_INDIRECT + 1), VRING_DESC_F_INDIRECT, 0);
	expect_pop_fails(-EINVAL);
	set_desc(DESC_GPA, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	expect_pop_fails(-EINVAL);
	set_desc(DESC_GPA, 0, RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	expect_pop_fails(-EFAULT);
	set_desc(TABLE_GPA, 0, TABLE_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0); /* nested */
	set_desc(DESC_GPA, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_pop_fails(-EINVAL);
	set_desc(TABLE_GPA, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1); /* next past the table */
	expect_pop_fails(-EINVAL);
	set_desc(TABLE_GPA, 0, RAM_SIZE, 8, 0, 0); /* buffer outside RAM */
	expect_pop_fails(-EFAULT);
}
END_TEST

START_TEST(hostile_too_many_segments)
{
	start_queue(false, true);
	for (unsigned i = 0; i < VQ_MAX_SEGS + 1; i++)
		set_desc(TABLE_GPA, i, BUF_GPA, 8, i < VQ_MAX_SEGS ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	set_desc(DESC_GPA, 0, TABLE_GPA, 16 * (VQ_MAX_SEGS + 1), VRING_DESC_F_INDIRECT, 0);
	make_available(0);
	expect_pop_fails(-E2BIG);
	/* Exactly the limit is fine. */
	set_desc(TABLE_GPA, VQ_MAX_SEGS - 1, BUF_GPA, 8, 0, 0);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_int_eq(chain.out_num, VQ_MAX_SEGS);
}
END_TEST

/* ---- used ring and notification suppression ---- */

START_TEST(interrupt_suppression_flags)
{
	uint16_t *avail;

	start_queue(false, false);
	avail = gpa(AVAIL_GPA);
	vq_push(&vq, 1, 10);
	vq_publish(&vq);
	ck_assert_uint_eq(used_idx(), 1);
	ck_assert_uint_eq(((uint32_t *)gpa(USED_GPA + 4))[0], 1);
	ck_assert_uint_eq(((uint32_t *)gpa(USED_GPA + 4))[1], 10);
	ck_assert(vq_need_interrupt(&vq));
	avail[0] = VRING_AVAIL_F_NO_INTERRUPT;
	ck_assert(!vq_need_interrupt(&vq));
	vq_set_notification(&vq, false);
	ck_assert_uint_eq(((uint16_t *)gpa(USED_GPA))[0], VRING_USED_F_NO_NOTIFY);
	vq_set_notification(&vq, true);
	ck_assert_uint_eq(((uint16_t *)gpa(USED_GPA))[0], 0);
}
END_TEST

START_TEST(interrupt_suppression_event_idx)
{
	uint16_t *used_event, *avail_event;

	start_queue(true, false);
	used_event = gpa(AVAIL_GPA + 4 + 2 * NUM);
	avail_event = gpa(USED_GPA + 4 + 8 * NUM);
	*used_event = 0;
	vq_push(&vq, 0, 0);
	vq_publish(&vq);
	ck_assert(vq_need_interrupt(&vq)); /* first one always: nothing signalled yet */
	vq_push(&vq, 0, 0);
	vq_publish(&vq);
	ck_assert(!vq_need_interrupt(&vq)); /* used_event 0 was passed already */
	*used_event = 2;
	vq_push(&vq, 0, 0);
	vq_publish(&vq);
	ck_assert(vq_need_interrupt(&vq)); /* used idx went 2 -> 3, past event 2 */
	*used_event = 10;
	vq_push(&vq, 0, 0);
	vq_publish(&vq);
	ck_assert(!vq_need_interrupt(&vq));
	/* Kicks: avail_event follows last_avail when enabled. */
	set_desc(DESC_GPA, 0, BUF_GPA, 8, 0, 0);
	make_available(0);
	make_available(0);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	vq_set_notification(&vq, true);
	ck_assert_uint_eq(*avail_event, 2);
	vq_set_notification(&vq, false);
	ck_assert_uint_eq(*avail_event, 2);
}
END_TEST

/* ---- transport ---- */

struct fake_device {
	int starts, resets, notifies, last_notify;
	bool level;
	int level_changes;
	uint8_t config[16];
	uint8_t written[16];
};

static struct fake_device fake;
static struct virtio_mmio t;

static void fake_config_read(void *opaque, uint32_t offset, void *data, unsigned size)
{
	memcpy(data, fake.config + offset, size);
}

static void fake_config_write(void *opaque, uint32_t offset, const void *data, unsigned size)
{
	memcpy(fake.written + offset, data, size);
}

static void fake_start(void *opaque) { fake.starts++; }
static void fake_reset(void *opaque) { fake.resets++; }

static void fake_notify(void *opaque, unsigned queue)
{
	fake.notifies++;
	fake.last_notify = (int)queue;
}

static void fake_set_irq(void *opaque, bool level)
{
	fake.level_changes += fake.level != level;
	fake.level = level;
}

static const struct virtio_mmio_ops fake_ops = {
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.start = fake_start,
	.reset = fake_reset,
	.notify = fake_notify,
	.set_irq = fake_set_irq,
};

static void transport_setup(void)
{
	ram_setup();
	memset(&fake, 0, sizeof(fake));
	for (unsigned i = 0; i < sizeof(fake.config); i++)
		fake.config[i] = (uint8_t)(0x10 + i);
	virtio_mmio_init(&t, "test", 2, 1ull << 9, sizeof(fake.config), 2, 64, &mem, &fake_ops, NULL);
}

static void transport_teardown(void)
{
	virtio_mmio_destroy(&t);
	ram_teardown();
}

static uint32_t rd(uint64_t offset)
{
	return (uint32_t)virtio_mmio_read(&t, offset, 4);
}

static void wr(uint64_t offset, uint32_t value)
{
	virtio_mmio_write(&t, offset, 4, value);
}

static void negotiate(uint64_t features)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
}

static void setup_queue(unsigned q, uint32_t num, uint64_t desc)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL_GPA);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED_GPA);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void driver_ok(void)
{
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
}

#define VERSION_1 (1ull << VIRTIO_F_VERSION_1)

START_TEST(transport_identity)
{
	ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VERSION), 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES),
			  (1u << 9) | (1u << VIRTIO_RING_F_INDIRECT_DESC) | (1u << VIRTIO_RING_F_EVENT_IDX));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	/* Only 32-bit register accesses. */
	ck_assert_uint_eq(virtio_mmio_read(&t, VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	ck_assert_uint_eq(virtio_mmio_read(&t, VIRTIO_MMIO_MAGIC_VALUE + 2, 4), 0);
	virtio_mmio_write(&t, VIRTIO_MMIO_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
END_TEST

START_TEST(transport_feature_negotiation)
{
	negotiate(1ull << 9); /* no VERSION_1 */
	ck_assert(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	negotiate(VERSION_1 | (1ull << 40)); /* not offered */
	ck_assert(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	negotiate(VERSION_1 | (1ull << VIRTIO_RING_F_EVENT_IDX));
	ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert(virtio_mmio_has_feature(&t, VIRTIO_RING_F_EVENT_IDX));
	/* Frozen once accepted. */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	ck_assert(virtio_mmio_has_feature(&t, VIRTIO_RING_F_EVENT_IDX));
	ck_assert_uint_eq(t.driver_features, VERSION_1 | (1ull << VIRTIO_RING_F_EVENT_IDX));
}
END_TEST

START_TEST(transport_queue_life_cycle)
{
	negotiate(VERSION_1);
	setup_queue(0, NUM, DESC_GPA);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	ck_assert(!virtio_mmio_live(&t, 0)); /* not before DRIVER_OK */
	/* Queue registers are frozen while ready. */
	wr(VIRTIO_MMIO_QUEUE_NUM, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), NUM);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_DESC_LOW), DESC_GPA);
	driver_ok();
	ck_assert_int_eq(fake.starts, 1);
	ck_assert(virtio_mmio_live(&t, 0));
	ck_assert(!virtio_mmio_live(&t, 1));
	ck_assert(!virtio_mmio_peek(&t, 0));
	set_desc(DESC_GPA, 0, BUF_GPA, 8, 0, 0);
	make_available(0);
	ck_assert(virtio_mmio_peek(&t, 0));
	ck_assert_int_eq(virtio_mmio_pop(&t, 0, &chain), 1);
	ck_assert(!virtio_mmio_peek(&t, 0));
	vq_push(&t.queues[0], chain.head, 0);
	virtio_mmio_complete(&t, 0);
	ck_assert_uint_eq(used_idx(), 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	ck_assert(fake.level);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert(!fake.level);
	/* Notify: only for queues that exist. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 9);
	ck_assert_int_eq(fake.notifies, 1);
	ck_assert_int_eq(fake.last_notify, 1);
	/* Reset. */
	int resets = fake.resets;

	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_int_eq(fake.resets, resets + 1);
	ck_assert(!virtio_mmio_live(&t, 0));
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), 0);
}
END_TEST

START_TEST(transport_needs_reset_on_bad_ring)
{
	negotiate(VERSION_1);
	setup_queue(0, NUM, RAM_SIZE); /* outside RAM */
	driver_ok();
	ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert(!virtio_mmio_live(&t, 0));
	ck_assert_int_eq(fake.starts, 0);
	/* The device bit survives driver status writes, not a reset. */
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) & ~VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	negotiate(VERSION_1);
	setup_queue(0, NUM, DESC_GPA);
	driver_ok();
	ck_assert(virtio_mmio_live(&t, 0));
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}
END_TEST

START_TEST(transport_needs_reset_on_bad_chain)
{
	negotiate(VERSION_1);
	setup_queue(0, NUM, DESC_GPA);
	driver_ok();
	set_desc(DESC_GPA, 0, RAM_SIZE - 4, 8, 0, 0);
	make_available(0);
	ck_assert_int_eq(virtio_mmio_pop(&t, 0, &chain), -EFAULT);
	ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	ck_assert(fake.level);
	ck_assert(!virtio_mmio_live(&t, 0));
	ck_assert_int_eq(virtio_mmio_pop(&t, 0, &chain), 0); /* dead: nothing more */
	/* Completions of in-flight work are dropped, not written. */
	virtio_mmio_complete(&t, 0);
	ck_assert_uint_eq(used_idx(), 0);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert(!fake.level);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}
END_TEST

START_TEST(transport_driver_ok_without_features_ok)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	setup_queue(0, NUM, DESC_GPA);
	driver_ok();
	ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_int_eq(fake.starts, 0);
}
END_TEST

START_TEST(transport_config_space)
{
	uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);

	ck_assert_uint_eq(virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG, 1), 0x10);
	ck_assert_uint_eq(virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 2, 2), 0x1312);
	ck_assert_uint_eq(virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 4, 4), 0x17161514);
	ck_assert_uint_eq(virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 8, 8), 0x1f1e1d1c1b1a1918ull);
	ck_assert_uint_eq(virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 14, 4), 0); /* past the end */
	ck_assert_uint_eq(virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 0xfc, 4), 0);
	virtio_mmio_write(&t, VIRTIO_MMIO_CONFIG + 4, 2, 0xbeef);
	ck_assert_uint_eq(fake.written[4] | fake.written[5] << 8, 0xbeef);
	virtio_mmio_write(&t, VIRTIO_MMIO_CONFIG + 15, 2, 0xffff); /* past the end: dropped */
	ck_assert_uint_eq(fake.written[15], 0);
	virtio_mmio_config_changed(&t);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
}
END_TEST

START_TEST(transport_interrupt_line_follows_status)
{
	virtio_mmio_interrupt(&t, VIRTIO_MMIO_INT_VRING);
	virtio_mmio_interrupt(&t, VIRTIO_MMIO_INT_CONFIG);
	ck_assert(fake.level);
	ck_assert_int_eq(fake.level_changes, 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	ck_assert(fake.level); /* config bit still set */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	ck_assert(!fake.level);
	ck_assert_int_eq(fake.level_changes, 2);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff); /* nothing set: no change */
	ck_assert_int_eq(fake.level_changes, 2);
}
END_TEST

Suite *virtio_suite(void)
{
	Suite *suite = suite_create("virtio");
	TCase *ring = tcase_create("virtqueue");
	TCase *transport = tcase_create("transport");

	tcase_add_checked_fixture(ring, ram_setup, ram_teardown);
	tcase_add_test(ring, start_validates_size_alignment_and_range);
	tcase_add_test(ring, pops_a_chain_readable_then_writable);
	tcase_add_test(ring, zero_length_descriptors_are_skipped);
	tcase_add_test(ring, index_wraps_at_65536);
	tcase_add_test(ring, indirect_table);
	tcase_add_test(ring, chain_read_and_write_cross_segments);
	tcase_add_test(ring, hostile_indexes);
	tcase_add_test(ring, hostile_loops);
	tcase_add_test(ring, hostile_direction);
	tcase_add_test(ring, hostile_addresses);
	tcase_add_test(ring, hostile_indirect);
	tcase_add_test(ring, hostile_too_many_segments);
	tcase_add_test(ring, interrupt_suppression_flags);
	tcase_add_test(ring, interrupt_suppression_event_idx);
	suite_add_tcase(suite, ring);
	tcase_add_checked_fixture(transport, transport_setup, transport_teardown);
	tcase_add_test(transport, transport_identity);
	tcase_add_test(transport, transport_feature_negotiation);
	tcase_add_test(transport, transport_queue_life_cycle);
	tcase_add_test(transport, transport_needs_reset_on_bad_ring);
	tcase_add_test(transport, transport_needs_reset_on_bad_chain);
	tcase_add_test(transport, transport_driver_ok_without_features_ok);
	tcase_add_test(transport, transport_config_space);
	tcase_add_test(transport, transport_interrupt_line_follows_status);
	suite_add_tcase(suite, transport);
	return suite;
}
