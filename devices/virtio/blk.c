/* SPDX-License-Identifier: MIT */
/*
 * Device model "virtio-blk": a raw image file (or block device) as a
 * virtio-mmio block device (blk.h, docs/devices/virtio.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/models.h"
#include "devices/virtio/blk.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static struct virtio_blk *dev_blk(const struct device *dev)
{
	return dev->state;
}

/* ---- config ---- */

static int blk_parse_serial(struct virtio_blk *b, const struct device *dev,
			    const struct toml_table *section, const struct config_context *ctx)
{
	const char *serial = dev->name;
	int rc = config_get_string(ctx, section, "serial", false, &serial);

	if (rc)
		return rc;
	if (strlen(serial) > VIRTIO_BLK_ID_BYTES)
		return config_fail(ctx, toml_table_get(section, "serial")->pos,
				   "'serial' is at most %u characters", VIRTIO_BLK_ID_BYTES);
	snprintf(b->serial, sizeof(b->serial), "%s", serial);
	return 0;
}

static int blk_parse(struct device *dev, const struct toml_table *section,
		     const struct config_context *ctx)
{
	static const char *const keys[] = {
		VIRTIO_COMMON_KEYS, "path", "read_only", "direct", "serial", "queue_size", NULL,
	};
	static const char *const directs[] = { "auto", "on", "off", NULL };
	struct virtio_blk *b = calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return -ENOMEM;
	dev->state = b;
	b->fd = b->fd_direct = b->aio_eventfd = -1;
	b->queue_size = BLK_QUEUE_MAX;
	if ((rc = config_check_keys(ctx, section, dev->name, keys)) ||
	    (rc = virtio_parse_common(&b->vd, dev->name, "virtio-blk", 1, section, ctx)) ||
	    (rc = config_get_path(ctx, section, "path", true, &b->path)) ||
	    (rc = config_get_bool(ctx, section, "read_only", &b->read_only)) ||
	    (rc = config_get_choice(ctx, section, "direct", directs, &b->direct)) ||
	    (rc = config_get_u64(ctx, section, "queue_size", 1, BLK_QUEUE_MAX, &b->queue_size)) ||
	    (rc = blk_parse_serial(b, dev, section, ctx)))
		return rc;
	return 0;
}

/* ---- image ---- */

static int blk_image_size(struct virtio_blk *b, uint64_t *size)
{
	struct stat st;

	if (fstat(b->fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode))
		return ioctl(b->fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	log_error("%s: %s is neither a regular file nor a block device", b->vd.name, b->path);
	return -EINVAL;
}

/* The O_DIRECT alignment this file accepts (512 or 4096), or 0. */
static unsigned blk_probe_direct(int fd)
{
	static const unsigned sizes[] = { 512, 4096 };
	void *buffer = NULL;
	unsigned found = 0;

	if (posix_memalign(&buffer, 4096, 4096))
		return 0;
	for (unsigned i = 0; i < 2 && !found; i++) {
		if (pread(fd, buffer, sizes[i], 0) >= 0)
			found = sizes[i];
	}
	free(buffer);
	return found;
}

static int blk_open_direct(struct virtio_blk *b, int flags)
{
	if (b->direct == BLK_DIRECT_OFF)
		return 0;
	b->fd_direct = open(b->path, flags | O_DIRECT);
	if (b->fd_direct >= 0 && (b->dio_align = blk_probe_direct(b->fd_direct)) == 0) {
		close(b->fd_direct);
		b->fd_direct = -1;
	}
	if (b->fd_direct >= 0)
		return 0;
	if (b->direct == BLK_DIRECT_ON) {
		log_error("%s: %s: O_DIRECT is not usable here; set direct = \"auto\" or \"off\"",
			  b->vd.name, b->path);
		return -EINVAL;
	}
	log_info("%s: %s: no O_DIRECT on this file system, using buffered I/O", b->vd.name, b->path);
	return 0;
}

static int blk_open(struct virtio_blk *b)
{
	int flags = (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	uint64_t size = 0;
	int rc;

	b->fd = open(b->path, flags);
	if (b->fd < 0) {
		rc = -errno;
		log_error("%s: opening image %s: %s%s", b->vd.name, b->path, strerror(errno),
			  errno == EACCES || errno == EROFS ? " (read_only = true?)" : "");
		return rc;
	}
	if ((rc = blk_image_size(b, &size)) || (rc = blk_open_direct(b, flags)))
		return rc;
	b->capacity = size / BLK_SECTOR;
	if (size % BLK_SECTOR)
		log_warn("%s: %s is not a whole number of 512-byte sectors; the last %llu bytes are "
			 "not visible", b->vd.name, b->path, (unsigned long long)(size % BLK_SECTOR));
	return 0;
}

/* Does the kernel take IOCB_CMD_FDSYNC for this file? (Linux >= 4.18, most file systems.) */
static bool blk_probe_aio_fsync(struct virtio_blk *b)
{
	struct iocb iocb, *list[1] = { &iocb };
	struct io_event event;
	struct timespec limit = { 5, 0 };

	if (b->read_only)
		return false;
	io_prep_fdsync(&iocb, b->fd);
	if (io_submit(b->aio, 1, list) != 1)
		return false;
	return io_getevents(b->aio, 1, 1, &event, &limit) == 1 && event.res == 0;
}

static int blk_setup_aio(struct virtio_blk *b, struct vm *vm)
{
	int rc = io_setup(BLK_QUEUE_MAX + 1, &b->aio);

	if (rc) {
		log_error("%s: io_setup: %s", b->vd.name, strerror(-rc));
		return rc;
	}
	b->aio_ready = true;
	b->aio_fsync = blk_probe_aio_fsync(b);
	b->aio_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->aio_eventfd < 0)
		return -errno;
	if ((rc = loop_add_fd(&vm->loop, b->aio_eventfd, EPOLLIN, blk_on_aio, b)))
		return rc;
	b->aio_in_loop = true;
	return 0;
}

/* ---- the model ---- */

static void blk_fill_config(struct virtio_blk *b)
{
	struct virtio_blk_config *c = &b->config;

	memset(c, 0, sizeof(*c));
	c->capacity = b->capacity;
	c->seg_max = VQ_MAX_SEGS - 2;
	c->blk_size = BLK_SECTOR;
	c->max_discard_sectors = BLK_MAX_RANGE_SECTORS;
	c->max_discard_seg = BLK_MAX_RANGES;
	c->discard_sector_alignment = 4096 / BLK_SECTOR;
	c->max_write_zeroes_sectors = BLK_MAX_RANGE_SECTORS;
	c->max_write_zeroes_seg = BLK_MAX_RANGES;
	c->write_zeroes_may_unmap = 1;
}

static uint64_t blk_features(const struct virtio_blk *b)
{
	uint64_t f = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		     (1ull << VIRTIO_BLK_F_FLUSH);

	if (b->read_only)
		return f | (1ull << VIRTIO_BLK_F_RO);
	return f | (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
}

static void blk_config_read(struct virtio_dev *vd, uint32_t offset, void *data, unsigned size)
{
	const struct virtio_blk *b = (const struct virtio_blk *)vd;

	memcpy(data, (const uint8_t *)&b->config + offset, size);
}

static const struct virtio_backend_ops blk_backend = {
	.process = blk_process,
	.reset = blk_reset,
	.poll = blk_poll,
	.config_read = blk_config_read,
};

static int blk_realize(struct device *dev, struct vm *vm)
{
	struct virtio_blk *b = dev_blk(dev);
	int rc;

	b->vd.ops = &blk_backend;
	b->poll_mode = b->vd.config.notify[0] == VIRTIO_NOTIFY_POLL;
	b->reqs = calloc(BLK_QUEUE_MAX, sizeof(*b->reqs));
	if (!b->reqs || posix_memalign((void **)&b->zeroes, 4096, BLK_ZERO_BUFFER))
		return -ENOMEM;
	memset(b->zeroes, 0, BLK_ZERO_BUFFER);
	if ((rc = blk_open(b)) || (rc = blk_setup_aio(b, vm)))
		return rc;
	blk_fill_config(b);
	rc = virtio_dev_realize(&b->vd, vm, VIRTIO_ID_BLOCK, blk_features(b), sizeof(b->config),
				(uint16_t)b->queue_size);
	if (rc == 0)
		log_debug("%s: %s, %llu sectors%s, %s I/O (align %u), flush by %s", dev->name,
			  b->path, (unsigned long long)b->capacity, b->read_only ? ", read-only" : "",
			  b->fd_direct >= 0 ? "O_DIRECT" : "buffered", b->dio_align,
			  b->aio_fsync ? "AIO fdsync" : "fdatasync");
	return rc;
}

static int blk_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	return virtio_dev_add_fdt_node(&dev_blk(dev)->vd, fdt);
}

static void blk_stop(struct device *dev)
{
	struct virtio_blk *b = dev_blk(dev);
	const struct blk_stats *s = &b->stats;

	virtio_dev_stop(&b->vd);
	log_debug("%s: %llu requests (%llu reads, %llu writes, %llu flushes, %llu errors; "
		  "%llu O_DIRECT, %llu buffered), %llu kicks, %llu poller wake-ups", dev->name,
		  (unsigned long long)s->requests, (unsigned long long)s->reads,
		  (unsigned long long)s->writes, (unsigned long long)s->flushes,
		  (unsigned long long)s->errors, (unsigned long long)s->direct,
		  (unsigned long long)s->buffered, (unsigned long long)b->vd.queues[0].kicks,
		  (unsigned long long)(b->vd.poller_ready ? b->vd.poller.wakeups : 0));
}

static void blk_unrealize(struct device *dev, struct vm *vm)
{
	struct virtio_blk *b = dev_blk(dev);

	if (!b)
		return;
	if (b->reqs)
		virtio_dev_unrealize(&b->vd, vm); /* resets: waits for in-flight I/O */
	if (b->aio_in_loop)
		loop_remove_fd(&vm->loop, b->aio_eventfd);
	b->aio_in_loop = false;
	if (b->aio_ready)
		io_destroy(b->aio);
	b->aio_ready = false;
	if (b->aio_eventfd >= 0)
		close(b->aio_eventfd);
	if (b->fd_direct >= 0)
		close(b->fd_direct);
	if (b->fd >= 0)
		close(b->fd);
	b->aio_eventfd = b->fd_direct = b->fd = -1;
}

static void blk_destroy(struct device *dev)
{
	struct virtio_blk *b = dev_blk(dev);

	if (!b)
		return;
	free(b->reqs);
	free(b->zeroes);
	free(b->path);
	free(b);
	dev->state = NULL;
}

const struct device_model virtio_blk_model = {
	.type = "virtio-blk",
	.summary = "virtio-mmio block device on a raw image (libaio)",
	.parse = blk_parse,
	.realize = blk_realize,
	.add_fdt_node = blk_add_fdt_node,
	.stop = blk_stop,
	.unrealize = blk_unrealize,
	.destroy = blk_destroy,
};
