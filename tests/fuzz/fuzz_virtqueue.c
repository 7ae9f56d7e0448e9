/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the virtio-mmio transport and the split-virtqueue
 * parser. The input is a program run against fake guest RAM between
 * PROT_NONE guard pages (a touch outside RAM faults and the fuzzer reports
 * it; ASan and UBSan catch the rest):
 *
 *   0 OFF16 LEN8 BYTES   poke guest RAM
 *   1 REG8 VALUE32       register write at REG * 4 (0x000-0x1fc)
 *   2 REG8               register read
 *   3 Q8 LEN32           pop every chain of queue Q like a device: read each
 *                        readable byte, write each writable one, push
 *                        LEN, complete (publish + interrupt decision)
 *   4 Q8                 toggle kick notifications of queue Q
 *   5 OFF8 SIZE8 VALUE64 config-space access (read if SIZE & 0x80)
 *   6                    reset (status 0)
 *
 * Invariants: every segment vq_pop() hands out lies inside RAM and has a
 * non-zero length; a chain never has more than VQ_MAX_SEGS segments;
 * readable segments come first; a dead (NEEDS_RESET) device pops nothing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/virtio/transport.h"
#include "vmm/log.h"

#define FUZZ_RAM_SIZE (64u << 10)
#define FUZZ_GUARD    (16u << 10)
#define FUZZ_QUEUES   2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reader {
	const uint8_t *data;
	size_t size, pos;
};

static bool take(struct reader *r, void *out, size_t n)
{
	if (r->size - r->pos < n)
		return false;
	memcpy(out, r->data + r->pos, n);
	r->pos += n;
	return true;
}

static uint8_t config_space[64];

static void cfg_read(void *opaque, uint32_t offset, void *out, unsigned size)
{
	if (offset + size > sizeof(config_space))
		abort(); /* the transport must bound config accesses */
	memcpy(out, config_space + offset, size);
}

static void cfg_write(void *opaque, uint32_t offset, const void *in, unsigned size)
{
	if (offset + size > sizeof(config_space))
		abort();
	memcpy(config_space + offset, in, size);
}

static void nop(void *opaque) {}
static void notify(void *opaque, unsigned queue)
{
	if (queue >= FUZZ_QUEUES)
		abort();
}
static void set_irq(void *opaque, bool level) {}

static const struct virtio_mmio_ops fuzz_ops = {
	.config_read = cfg_read, .config_write = cfg_write, .start = nop, .reset = nop,
	.notify = notify, .set_irq = set_irq,
};

static struct guest_memory ram;
static struct vq_chain chain;

static void check_chain(const struct vq_chain *c)
{
	if (c->out_num + c->in_num > VQ_MAX_SEGS)
		abort();
	for (unsigned i = 0; i < c->out_num + c->in_num; i++) {
		const uint8_t *p = c->iov[i].iov_base;

		if (!c->iov[i].iov_len || p < ram.base || c->iov[i].iov_len > ram.size ||
		    p - ram.base > (ptrdiff_t)(ram.size - c->iov[i].iov_len))
			abort();
	}
}

/* Act as a device on queue q. */
static void drain(struct virtio_mmio *t, unsigned q, uint32_t len)
{
	volatile uint8_t sink = 0;

	for (int guard = 0; guard < 1024 && virtio_mmio_pop(t, q, &chain) > 0; guard++) {
		check_chain(&chain);
		for (unsigned i = 0; i < chain.out_num; i++)
			for (size_t k = 0; k < chain.iov[i].iov_len; k++)
				sink ^= ((const uint8_t *)chain.iov[i].iov_base)[k];
		for (unsigned i = chain.out_num; i < chain.out_num + chain.in_num; i++)
			memset(chain.iov[i].iov_base, 0xa5, chain.iov[i].iov_len);
		vq_push(&t->queues[q], chain.head, len);
	}
	virtio_mmio_complete(t, q);
	(void)sink;
}

static void step(struct virtio_mmio *t, struct reader *r, uint8_t op)
{
	uint8_t a = 0, b = 0;
	uint16_t off = 0;
	uint32_t v32 = 0;
	uint64_t v64 = 0;

	switch (op % 7) {
	case 0:
		if (take(r, &off, 2) && take(r, &a, 1)) {
			size_t n = a, at = off % FUZZ_RAM_SIZE;

			n = n > FUZZ_RAM_SIZE - at ? FUZZ_RAM_SIZE - at : n;
			n = n > r->size - r->pos ? r->size - r->pos : n;
			memcpy(ram.base + at, r->data + r->pos, n);
			r->pos += n;
		}
		break;
	case 1:
		if (take(r, &a, 1) && take(r, &v32, 4))
			virtio_mmio_write(t, (a % 0x80) * 4u, 4, v32);
		break;
	case 2:
		if (take(r, &a, 1))
			(void)virtio_mmio_read(t, (a % 0x80) * 4u, 4);
		break;
	case 3:
		if (take(r, &a, 1) && take(r, &v32, 4)) {
			pthread_mutex_lock(&t->lock);
			drain(t, a % FUZZ_QUEUES, v32);
			pthread_mutex_unlock(&t->lock);
		}
		break;
	case 4:
		if (take(r, &a, 1) && virtio_mmio_live(t, a % FUZZ_QUEUES))
			vq_set_notification(&t->queues[a % FUZZ_QUEUES], a & 0x80);
		break;
	case 5:
		if (take(r, &a, 1) && take(r, &b, 1) && take(r, &v64, 8)) {
			unsigned size = 1u << (b & 3);

			if (b & 0x80)
				(void)virtio_mmio_read(t, 0x100u + a, size);
			else
				virtio_mmio_write(t, 0x100u + a, size, v64);
		}
		break;
	default:
		virtio_mmio_write(t, 0x70, 4, 0);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mapping;
	struct virtio_mmio t;
	struct reader r = { data, size, 0 };
	uint8_t op;

	if (!mapping) {
		log_set_level(LOG_ERROR);
		mapping = mmap(NULL, FUZZ_RAM_SIZE + 2 * FUZZ_GUARD, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mapping == MAP_FAILED ||
		    mprotect(mapping + FUZZ_GUARD, FUZZ_RAM_SIZE, PROT_READ | PROT_WRITE))
			abort();
		ram = (struct guest_memory){ .base = mapping + FUZZ_GUARD, .size = FUZZ_RAM_SIZE };
	}
	memset(ram.base, 0, FUZZ_RAM_SIZE);
	virtio_mmio_init(&t, "fuzz", 2, 0x1ff, sizeof(config_space), FUZZ_QUEUES, 128, &ram,
			 &fuzz_ops, NULL);
	while (take(&r, &op, 1)) {
		step(&t, &r, op);
		if (atomic_load(&t.broken)) {
			pthread_mutex_lock(&t.lock);
			if (virtio_mmio_pop(&t, 0, &chain) != 0)
				abort(); /* a dead device pops nothing */
			pthread_mutex_unlock(&t.lock);
		}
	}
	pthread_mutex_lock(&t.lock);
	virtio_mmio_reset(&t);
	pthread_mutex_unlock(&t.lock);
	virtio_mmio_destroy(&t);
	return 0;
}
