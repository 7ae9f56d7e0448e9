/* SPDX-License-Identifier: MIT */
/* virtio-blk requests: parse, submit to AIO or run, complete (blk.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "vmm/log.h"

#define BLK_HEADER_SIZE 16u
#define BLK_RANGE_SIZE  16u

static struct virtio_blk *to_blk(struct virtio_dev *vd)
{
	return (struct virtio_blk *)vd;
}

/* ---- completion ---- */

static void blk_finish(struct virtio_blk *b, struct blk_req *req, uint8_t status)
{
	req->busy = false;
	if (status != VIRTIO_BLK_S_OK)
		atomic_fetch_add_explicit(&b->stats.errors, 1, memory_order_relaxed);
	if (!virtio_mmio_live(&b->vd.t, 0))
		return; /* reset or broken: the rings are not ours to write */
	*req->status = status;
	vq_push(&b->vd.t.queues[0], req->chain.head, req->used_len);
}

static void blk_finish_sync(struct virtio_blk *b, struct blk_req *req, uint8_t status)
{
	if (status != VIRTIO_BLK_S_OK)
		req->used_len = 1;
	blk_finish(b, req, status);
	b->completed = true;
}

static void blk_aio_done(struct virtio_blk *b, const struct io_event *event)
{
	struct blk_req *req = event->data;
	long long res = (long long)event->res;
	bool ok = req->iocb.aio_lio_opcode == IO_CMD_FDSYNC ? res == 0
							     : res == (long long)req->data_len;

	if (!ok) {
		log_debug("%s: request at head %u: result %lld, wanted %llu", b->vd.name,
			  req->chain.head, res, (unsigned long long)req->data_len);
		req->used_len = 1;
	}
	b->inflight--;
	blk_finish(b, req, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
}

void blk_reap(struct virtio_blk *b)
{
	struct timespec zero = { 0, 0 };
	bool any = false;
	int n;

	while (b->inflight) {
		n = io_getevents(b->aio, 0, BLK_QUEUE_MAX, b->events, &zero);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			blk_aio_done(b, &b->events[i]);
		any = true;
	}
	if (any)
		virtio_mmio_complete(&b->vd.t, 0);
}

/*
 * The head of the kernel's AIO completion ring, which io_setup() maps into
 * the process (the io_context_t points at it; fio's userspace_reap reads it
 * the same way). head != tail means io_getevents() has something to return.
 */
struct aio_ring_head {
	unsigned id, nr, head, tail, magic, compat_features, incompat_features, header_length;
};

#define AIO_RING_MAGIC 0xa10a10a1u

static bool blk_aio_ready(const struct virtio_blk *b)
{
	const struct aio_ring_head *ring = (const void *)b->aio;

	if (__atomic_load_n(&ring->magic, __ATOMIC_RELAXED) != AIO_RING_MAGIC)
		return true; /* not the known layout: ask the kernel */
	return __atomic_load_n(&ring->head, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
}

bool blk_poll(struct virtio_dev *vd)
{
	struct virtio_blk *b = to_blk(vd);

	if (!atomic_load_explicit(&b->inflight, memory_order_relaxed))
		return false;
	if (blk_aio_ready(b)) {
		pthread_mutex_lock(&vd->t.lock);
		blk_reap(b);
		pthread_mutex_unlock(&vd->t.lock);
	}
	return true;
}

void blk_on_aio(void *opaque, uint32_t events)
{
	struct virtio_blk *b = opaque;
	uint64_t count;

	if (read(b->aio_eventfd, &count, sizeof(count)) != sizeof(count))
		return;
	pthread_mutex_lock(&b->vd.t.lock);
	blk_reap(b);
	pthread_mutex_unlock(&b->vd.t.lock);
}

/* Reset: wait for every in-flight request, write nothing to the guest. */
void blk_reset(struct virtio_dev *vd)
{
	struct virtio_blk *b = to_blk(vd);
	struct timespec limit = { 10, 0 };

	while (b->inflight) {
		int n = io_getevents(b->aio, 1, BLK_QUEUE_MAX, b->events, &limit);

		if (n <= 0) {
			log_error("%s: %u requests still in flight at reset: %s", vd->name,
				  atomic_load(&b->inflight), n < 0 ? strerror(-n) : "timed out");
			break;
		}
		for (int i = 0; i < n; i++)
			((struct blk_req *)b->events[i].data)->busy = false;
		atomic_fetch_sub(&b->inflight, (unsigned)n);
	}
	b->batch_count = 0;
	b->completed = false;
	for (unsigned i = 0; i < BLK_QUEUE_MAX; i++)
		b->reqs[i].busy = false;
}

/* ---- submission ---- */

static void blk_submit_batch(struct virtio_blk *b)
{
	unsigned done = 0;

	while (done < b->batch_count) {
		int n = io_submit(b->aio, (long)(b->batch_count - done), b->batch + done);

		if (n == -EINTR)
			continue;
		if (n <= 0) {
			/* The first iocb was refused: fail it alone, go on with the rest. */
			log_debug("%s: io_submit: %s", b->vd.name, strerror(n ? -n : EAGAIN));
			blk_finish_sync(b, b->batch[done++]->data, VIRTIO_BLK_S_IOERR);
			continue;
		}
		atomic_fetch_add(&b->inflight, (unsigned)n);
		done += (unsigned)n;
	}
	b->batch_count = 0;
}

static void blk_queue_aio(struct virtio_blk *b, struct blk_req *req)
{
	if (!b->poll_mode)
		io_set_eventfd(&req->iocb, b->aio_eventfd);
	req->iocb.data = req;
	b->batch[b->batch_count++] = &req->iocb;
}

/* Can this transfer go to the O_DIRECT descriptor? */
static bool blk_direct_ok(const struct virtio_blk *b, const struct blk_req *req, uint64_t offset)
{
	uint64_t mask = b->dio_align - 1;

	if (b->fd_direct < 0 || (offset & mask))
		return false;
	for (unsigned i = 0; i < req->data_count; i++) {
		if (((uintptr_t)req->data[i].iov_base | req->data[i].iov_len) & mask)
			return false;
	}
	return true;
}

/* Is [sector, sector + len bytes) inside the disk, len a whole number of sectors? */
static bool blk_range_ok(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
	return !(len % BLK_SECTOR) && sector <= b->capacity && len / BLK_SECTOR <= b->capacity - sector;
}

static void blk_rw(struct virtio_blk *b, struct blk_req *req, uint64_t sector, bool write)
{
	uint64_t offset = sector * BLK_SECTOR;

	if ((write && b->read_only) || !blk_range_ok(b, sector, req->data_len)) {
		blk_finish_sync(b, req, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (req->data_len == 0) {
		blk_finish_sync(b, req, VIRTIO_BLK_S_OK);
		return;
	}
	bool direct = blk_direct_ok(b, req, offset);
	int fd = direct ? b->fd_direct : b->fd;

	atomic_fetch_add_explicit(direct ? &b->stats.direct : &b->stats.buffered, 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(write ? &b->stats.writes : &b->stats.reads, 1,
				  memory_order_relaxed);
	if (write)
		io_prep_pwritev(&req->iocb, fd, req->data, (int)req->data_count, (long long)offset);
	else
		io_prep_preadv(&req->iocb, fd, req->data, (int)req->data_count, (long long)offset);
	blk_queue_aio(b, req);
}

static void blk_flush(struct virtio_blk *b, struct blk_req *req)
{
	atomic_fetch_add_explicit(&b->stats.flushes, 1, memory_order_relaxed);
	req->data_len = 0;
	if (b->read_only) {
		blk_finish_sync(b, req, VIRTIO_BLK_S_OK);
		return;
	}
	if (b->aio_fsync) {
		io_prep_fdsync(&req->iocb, b->fd);
		blk_queue_aio(b, req);
		return;
	}
	blk_finish_sync(b, req, fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

static void blk_get_id(struct virtio_blk *b, struct blk_req *req)
{
	uint8_t id[VIRTIO_BLK_ID_BYTES] = { 0 };
	size_t n = req->data_len < sizeof(id) ? (size_t)req->data_len : sizeof(id);

	memcpy(id, b->serial, strnlen(b->serial, sizeof(id)));
	req->used_len = (uint32_t)vq_chain_write(&req->chain, 0, id, n) + 1;
	blk_finish_sync(b, req, VIRTIO_BLK_S_OK);
}

/* Zero [offset, offset + len) by writing zeroes (no fallocate support). */
static int blk_write_zeroes_slow(struct virtio_blk *b, uint64_t offset, uint64_t len)
{
	while (len) {
		size_t n = len < BLK_ZERO_BUFFER ? (size_t)len : BLK_ZERO_BUFFER;
		ssize_t done = pwrite(b->fd, b->zeroes, n, (off_t)offset);

		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return -EIO;
		offset += (uint64_t)done;
		len -= (uint64_t)done;
	}
	return 0;
}

/* One discard / write-zeroes segment; returns a virtio-blk status. */
static uint8_t blk_range_op(struct virtio_blk *b, const struct virtio_blk_discard_write_zeroes *r,
			    bool zeroes)
{
	uint64_t offset = r->sector * BLK_SECTOR, len = (uint64_t)r->num_sectors * BLK_SECTOR;
	uint32_t allowed = zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;

	if (r->flags & ~allowed)
		return VIRTIO_BLK_S_UNSUPP;
	if (r->num_sectors > BLK_MAX_RANGE_SECTORS || !blk_range_ok(b, r->sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (!zeroes) {
		/* Discard is a hint: a file system without hole punching ignores it. */
		fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len);
		return VIRTIO_BLK_S_OK;
	}
	int mode = (r->flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ? FALLOC_FL_PUNCH_HOLE
								     : FALLOC_FL_ZERO_RANGE;

	if (fallocate(b->fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) == 0)
		return VIRTIO_BLK_S_OK;
	return blk_write_zeroes_slow(b, offset, len) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static void blk_ranges(struct virtio_blk *b, struct blk_req *req, bool zeroes)
{
	uint64_t count = req->data_len / BLK_RANGE_SIZE;
	uint8_t status = VIRTIO_BLK_S_OK;

	if (b->read_only)
		status = VIRTIO_BLK_S_IOERR;
	else if (!count || count > BLK_MAX_RANGES || req->data_len % BLK_RANGE_SIZE)
		status = VIRTIO_BLK_S_UNSUPP;
	for (uint64_t i = 0; i < count && status == VIRTIO_BLK_S_OK; i++) {
		struct virtio_blk_discard_write_zeroes r;

		vq_chain_read(&req->chain, BLK_HEADER_SIZE + i * BLK_RANGE_SIZE, &r, sizeof(r));
		status = blk_range_op(b, &r, zeroes);
	}
	blk_finish_sync(b, req, status);
}

/* ---- parsing ---- */

/* Data after the 16-byte header in the readable part. */
static void blk_data_readable(struct blk_req *req)
{
	struct iovec *iov = req->chain.iov;
	uint64_t skip = BLK_HEADER_SIZE;
	unsigned i = 0;

	while (i < req->chain.out_num && skip >= iov[i].iov_len)
		skip -= iov[i++].iov_len;
	if (i < req->chain.out_num) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + skip;
		iov[i].iov_len -= skip;
	}
	req->data = &iov[i];
	req->data_count = req->chain.out_num - i;
	req->data_len = req->chain.out_len - BLK_HEADER_SIZE;
}

/* Writable part minus the trailing status byte. */
static void blk_data_writable(struct blk_req *req)
{
	struct iovec *iov = req->chain.iov + req->chain.out_num;
	unsigned count = req->chain.in_num;

	if (--iov[count - 1].iov_len == 0)
		count--;
	req->data = iov;
	req->data_count = count;
	req->data_len = req->chain.in_len - 1;
}

static void blk_dispatch(struct virtio_blk *b, struct blk_req *req,
			 const struct virtio_blk_outhdr *hdr)
{
	switch (hdr->type) {
	case VIRTIO_BLK_T_IN:
		blk_data_writable(req);
		req->used_len = (uint32_t)req->chain.in_len;
		blk_rw(b, req, hdr->sector, false);
		break;
	case VIRTIO_BLK_T_OUT:
		blk_data_readable(req);
		blk_rw(b, req, hdr->sector, true);
		break;
	case VIRTIO_BLK_T_FLUSH:
		blk_flush(b, req);
		break;
	case VIRTIO_BLK_T_GET_ID:
		blk_data_writable(req);
		blk_get_id(b, req);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		blk_data_readable(req);
		blk_ranges(b, req, hdr->type == VIRTIO_BLK_T_WRITE_ZEROES);
		break;
	default:
		blk_finish_sync(b, req, VIRTIO_BLK_S_UNSUPP);
		break;
	}
}

/* Move the popped chain into its request slot and run it. */
static void blk_start(struct virtio_blk *b)
{
	const struct vq_chain *c = &b->scratch;
	struct blk_req *req = &b->reqs[c->head];
	struct virtio_blk_outhdr hdr;

	if (req->busy) {
		virtio_mmio_needs_reset(&b->vd.t, 0, "head descriptor reused while in flight");
		return;
	}
	if (c->out_len < BLK_HEADER_SIZE || c->in_len < 1) {
		virtio_mmio_needs_reset(&b->vd.t, 0, "request without header or status byte");
		return;
	}
	req->chain.head = c->head;
	req->chain.out_num = c->out_num;
	req->chain.in_num = c->in_num;
	req->chain.out_len = c->out_len;
	req->chain.in_len = c->in_len;
	memcpy(req->chain.iov, c->iov, (c->out_num + c->in_num) * sizeof(c->iov[0]));
	const struct iovec *last = &c->iov[c->out_num + c->in_num - 1];

	req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	req->used_len = 1;
	req->busy = true;
	atomic_fetch_add_explicit(&b->stats.requests, 1, memory_order_relaxed);
	vq_chain_read(&req->chain, 0, &hdr, sizeof(hdr));
	blk_dispatch(b, req, &hdr);
}

bool blk_process(struct virtio_dev *vd, unsigned q)
{
	struct virtio_blk *b = to_blk(vd);
	bool worked = false;

	while (virtio_mmio_pop(&vd->t, q, &b->scratch) > 0) {
		worked = true;
		blk_start(b);
	}
	if (b->batch_count)
		blk_submit_batch(b);
	if (b->completed) {
		b->completed = false;
		virtio_mmio_complete(&vd->t, q);
	}
	return worked;
}
