// SPDX-License-Identifier: MIT
/*
 * Guest test `virtio`: throughput, printed as TAP diagnostics that
 * scripts/bench-virtio.sh collects (docs/PERFORMANCE.md). The same
 * patterns run on the host by tests/bench/aio_floor.c give the floor:
 *   randread: 4 KiB reads at random 4 KiB-aligned offsets of the whole
 *             disk, queue depth virtio.bench_qd (32) and 1
 *   seqread:  1 MiB reads in order, queue depth 4
 * each for virtio.bench_ms (300) milliseconds, through indirect
 * descriptors, completions found by polling the used ring.
 */
#include "fw/tsc.h"
#include "vt.h"

#define QD_MAX    64
#define SEQ_QD    4
#define SEQ_SIZE  (1u << 20)

static uint8_t seq_buf[SEQ_QD * SEQ_SIZE] __attribute__((aligned(4096)));

struct run {
	uint32_t size;        /* bytes per request */
	unsigned qd;
	bool random;
	uint64_t next;        /* sequential: next sector */
	uint64_t rng;
	uint64_t ops, errors;
};

static uint64_t next_sector(struct run *r)
{
	uint64_t per = r->size / VT_SECTOR, slots = vt_disk.capacity / per;
	uint64_t s;

	if (r->random)
		return (vt_rand(&r->rng) % slots) * per;
	s = r->next;
	r->next = (r->next + per) % (slots * per);
	return s;
}

static void *buffer_of(const struct run *r, uint64_t token)
{
	return r->size == SEQ_SIZE ? seq_buf + token * SEQ_SIZE : vt_buf + token * 4096;
}

static bool submit(struct run *r, uint64_t token)
{
	return fw_blk_submit(&vt_disk, FW_VIRTIO_BLK_T_IN, next_sector(r), buffer_of(r, token),
			     r->size, token) >= 0;
}

/* Keep qd requests in flight for `us`; returns the elapsed microseconds. */
static uint64_t run_for(struct run *r, uint64_t us)
{
	uint64_t start = rdtsc(), end = start + fw_tsc_from_us(us);
	unsigned inflight = 0;
	int slot;

	for (unsigned i = 0; i < r->qd; i++)
		inflight += submit(r, i);
	fw_blk_kick(&vt_disk);
	while (inflight) {
		bool more = rdtsc() < end, any = false;

		while (fw_blk_reap(&vt_disk, &slot)) {
			struct fw_blk_slot *s = &vt_disk.slots[slot];

			s->done = false;
			r->ops++;
			r->errors += s->status != FW_VIRTIO_BLK_S_OK;
			inflight--;
			if (more)
				inflight += submit(r, s->token);
			any = true;
		}
		if (any)
			fw_blk_kick(&vt_disk);
		else
			cpu_relax();
	}
	return fw_tsc_to_us(rdtsc() - start);
}

static void bench(const char *what, uint32_t size, unsigned qd, bool random, uint64_t ms)
{
	struct run r = { .size = size, .qd = qd, .random = random, .rng = 0x9e3779b97f4a7c15ull };
	uint64_t kicks = vt_disk.vq.notifies;
	uint64_t us = run_for(&r, ms * 1000);

	kicks = vt_disk.vq.notifies - kicks;
	CHECK_EQ(r.errors, 0);
	if (!us || !r.ops)
		return;
	if (size == SEQ_SIZE)
		diag("virtio-bench: %s %s qd=%u: %llu MiB/s (%llu requests in %llu ms, %llu kicks)",
		     vt_mode(), what, qd, (unsigned long long)(r.ops * 1000000 / us),
		     (unsigned long long)r.ops, (unsigned long long)(us / 1000),
		     (unsigned long long)kicks);
	else
		diag("virtio-bench: %s %s qd=%u: %llu IOPS (%llu requests in %llu ms, %llu kicks)",
		     vt_mode(), what, qd, (unsigned long long)(r.ops * 1000000 / us),
		     (unsigned long long)r.ops, (unsigned long long)(us / 1000),
		     (unsigned long long)kicks);
}

TEST(perf)
{
	unsigned long ms = vt_arg("virtio.bench_ms", 300);
	unsigned long qd = vt_arg("virtio.bench_qd", 32);

	REQUIRE(vt_open_disk(FW_BLK_WANT_ALL, 128), "no disk");
	REQUIRE(qd >= 1 && qd <= QD_MAX, "virtio.bench_qd=%lu: 1 to %u", qd, QD_MAX);
	vt_disk.indirect = true;
	bench("randread-4k", 4096, (unsigned)qd, true, ms);
	bench("randread-4k", 4096, 1, true, ms);
	bench("seqread-1m", SEQ_SIZE, SEQ_QD, false, ms);
	vt_disk.indirect = false;
}
