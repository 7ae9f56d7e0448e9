/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk on a raw image through Linux AIO (libaio). Internal to
 * devices/virtio: blk.c is the device model (config, image, realize),
 * blk_io.c runs requests.
 *
 * Requests are indexed by their head descriptor, so taking one allocates
 * nothing and a head the driver reuses while in flight is caught. Reads
 * and writes whose buffers and offset meet the O_DIRECT alignment go to
 * the O_DIRECT descriptor, others to the buffered one (Linux keeps the two
 * coherent). Flush is an AIO fdsync when the kernel takes it, fdatasync
 * otherwise; discard and write-zeroes are fallocate() on the submitting
 * thread. Completions come back through an eventfd on the event thread.
 */
#ifndef DEVICES_VIRTIO_BLK_H
#define DEVICES_VIRTIO_BLK_H

#include <libaio.h>
#include <linux/virtio_blk.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio.h"

#define BLK_QUEUE_MAX      128      /* QueueNumMax, and requests per device */
#define BLK_SECTOR         512u
#define BLK_MAX_RANGES     16       /* discard / write-zeroes segments per request */
#define BLK_MAX_RANGE_SECTORS 0x400000u /* 2 GiB per discard / write-zeroes segment */
#define BLK_ZERO_BUFFER    (64u << 10)

enum blk_direct { BLK_DIRECT_AUTO, BLK_DIRECT_ON, BLK_DIRECT_OFF };

struct blk_req {
	struct iocb iocb;
	struct vq_chain chain;
	const struct iovec *data;  /* the data part of chain.iov */
	unsigned data_count;
	uint64_t data_len;
	uint8_t *status;           /* last writable byte */
	uint32_t used_len;
	bool busy;
};

struct blk_stats {
	atomic_uint_fast64_t requests, reads, writes, flushes, errors, direct, buffered;
};

struct virtio_blk {
	struct virtio_dev vd;      /* first: the common layer casts */
	/* config */
	char *path;
	bool read_only;
	unsigned direct;           /* enum blk_direct */
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	uint64_t queue_size;
	/* image */
	int fd;                    /* buffered */
	int fd_direct;             /* O_DIRECT, or -1 */
	unsigned dio_align;
	uint64_t capacity;         /* sectors */
	bool aio_fsync;            /* IOCB_CMD_FDSYNC works on this file */
	/* AIO */
	io_context_t aio;
	bool aio_ready;
	int aio_eventfd;
	bool aio_in_loop;
	atomic_uint inflight;      /* changed with the lock held */
	bool poll_mode;            /* the poller reaps; no eventfd per request */
	struct blk_req *reqs;      /* BLK_QUEUE_MAX, by head */
	struct vq_chain scratch;   /* vq_pop() target before the head is known */
	struct iocb *batch[BLK_QUEUE_MAX];
	unsigned batch_count;
	struct io_event events[BLK_QUEUE_MAX];
	bool completed;            /* a synchronous completion awaits publishing */
	uint8_t *zeroes;           /* write-zeroes fallback buffer */
	struct virtio_blk_config config;
	struct blk_stats stats;
};

/* blk_io.c */
bool blk_process(struct virtio_dev *vd, unsigned q);
void blk_reset(struct virtio_dev *vd);
/* Event thread: the AIO eventfd fired. */
void blk_on_aio(void *opaque, uint32_t events);
/* Reap completions (lock held); publishes and interrupts. */
void blk_reap(struct virtio_blk *b);
/* Poller: reap if the AIO ring has completions; true while requests are in flight. */
bool blk_poll(struct virtio_dev *vd);

#endif
