/* SPDX-License-Identifier: MIT */
/*
 * The host floor of the virtio-blk benchmark: the guest's I/O pattern
 * (guest-tests/virtio/perf.c) issued by one host thread with libaio on the
 * same file, the way the VMM issues it (O_DIRECT when the file system
 * allows, one iocb per request, io_submit as requests are reaped, buffers
 * in THP-advised memory like guest RAM).
 *
 *   aio_floor FILE [MS [QD]]
 *
 * prints, like the guest:
 *   aio-floor: randread-4k qd=32: N IOPS (...)
 *   aio-floor: randread-4k qd=1: N IOPS (...)
 *   aio-floor: seqread-1m qd=4: N MiB/s (...)
 */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QD_MAX   64
#define SEQ_QD   4
#define SEQ_SIZE (1u << 20)

struct run {
	int fd;
	uint32_t size;
	unsigned qd;
	bool random;
	uint64_t slots;       /* size-aligned positions in the file */
	uint64_t next, rng;
	uint64_t ops, errors;
	io_context_t ctx;
	struct iocb iocbs[QD_MAX];
	uint8_t *buffers;
};

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int submit(struct run *r, unsigned i)
{
	struct iocb *iocb = &r->iocbs[i];
	uint64_t slot = r->random ? xorshift(&r->rng) % r->slots : r->next++ % r->slots;

	io_prep_pread(iocb, r->fd, r->buffers + (size_t)i * r->size, r->size,
		      (long long)(slot * r->size));
	iocb->data = (void *)(uintptr_t)i;
	return io_submit(r->ctx, 1, &iocb) == 1 ? 1 : 0;
}

static uint64_t run_for(struct run *r, uint64_t us)
{
	struct io_event events[QD_MAX];
	uint64_t start = now_us(), end = start + us;
	unsigned inflight = 0;

	for (unsigned i = 0; i < r->qd; i++)
		inflight += (unsigned)submit(r, i);
	while (inflight) {
		int n = io_getevents(r->ctx, 1, QD_MAX, events, NULL);
		bool more = now_us() < end;

		for (int k = 0; k < n; k++) {
			r->ops++;
			r->errors += events[k].res != r->size;
			inflight--;
			if (more)
				inflight += (unsigned)submit(r, (unsigned)(uintptr_t)events[k].data);
		}
	}
	return now_us() - start;
}

static int bench(int fd, uint64_t file_size, const char *what, uint32_t size, unsigned qd,
		 bool random, uint64_t ms)
{
	struct run r = { .fd = fd, .size = size, .qd = qd, .random = random,
			 .slots = file_size / size, .rng = 0x9e3779b97f4a7c15ull };
	void *buffers;

	/* Like guest RAM: 2 MiB aligned and THP-advised (O_DIRECT pins pages;
	 * one huge page is cheaper to pin than 256 small ones). */
	size_t bytes = ((size_t)qd * size + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);

	if (!r.slots || posix_memalign(&buffers, 2u << 20, bytes))
		return -1;
	madvise(buffers, bytes, MADV_HUGEPAGE);
	memset(buffers, 0, bytes);
	r.buffers = buffers;
	if (io_setup(QD_MAX, &r.ctx)) {
		free(buffers);
		return -1;
	}
	uint64_t us = run_for(&r, ms * 1000);

	io_destroy(r.ctx);
	free(buffers);
	if (size == SEQ_SIZE)
		printf("aio-floor: %s qd=%u: %llu MiB/s (%llu requests in %llu ms, %llu errors)\n",
		       what, qd, (unsigned long long)(r.ops * 1000000 / us),
		       (unsigned long long)r.ops, (unsigned long long)(us / 1000),
		       (unsigned long long)r.errors);
	else
		printf("aio-floor: %s qd=%u: %llu IOPS (%llu requests in %llu ms, %llu errors)\n",
		       what, qd, (unsigned long long)(r.ops * 1000000 / us),
		       (unsigned long long)r.ops, (unsigned long long)(us / 1000),
		       (unsigned long long)r.errors);
	return r.errors ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct stat st;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s FILE [MS [QD]]\n", argv[0]);
		return 2;
	}
	uint64_t ms = argc > 2 ? strtoull(argv[2], NULL, 0) : 300;
	unsigned qd = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 32;
	int fd = open(argv[1], O_RDONLY | O_DIRECT);
	const char *how = "O_DIRECT";

	if (fd < 0 && errno == EINVAL) {
		fd = open(argv[1], O_RDONLY);
		how = "buffered";
	}
	if (fd < 0 || fstat(fd, &st) < 0 || qd < 1 || qd > QD_MAX) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], fd < 0 ? strerror(errno) : "bad qd");
		return 2;
	}
	printf("aio-floor: %s, %llu MiB, %s\n", argv[1], (unsigned long long)(st.st_size >> 20), how);
	int rc = bench(fd, (uint64_t)st.st_size, "randread-4k", 4096, qd, true, ms) |
		 bench(fd, (uint64_t)st.st_size, "randread-4k", 4096, 1, true, ms) |
		 bench(fd, (uint64_t)st.st_size, "seqread-1m", SEQ_SIZE, SEQ_QD, false, ms);

	close(fd);
	return rc ? 1 : 0;
}
