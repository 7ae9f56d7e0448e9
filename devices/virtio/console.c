/* SPDX-License-Identifier: MIT */
/*
 * Device model "virtio-console": one port (no MULTIPORT), receiveq 0 and
 * transmitq 1, plus the emergency-write config register
 * (VIRTIO_CONSOLE_F_EMERG_WRITE). Output goes unbuffered to stdout, stderr
 * or a file; input comes from stdin when asked for, read on the event
 * thread and handed to the guest's receive buffers. The receive queue is
 * always in kick mode: the device only needs it when input arrives.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/models.h"
#include "devices/virtio/virtio.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define CONSOLE_RX          0
#define CONSOLE_TX          1
#define CONSOLE_QUEUE_MAX   VQ_MAX_SEGS
#define CONSOLE_INPUT_SIZE  4096
#define CONSOLE_EMERG_WR    8   /* offset of emerg_wr in the config */

enum console_output { OUT_STDOUT, OUT_STDERR, OUT_FILE, OUT_NONE };
enum console_input { IN_NONE, IN_STDIN };

struct virtio_console {
	struct virtio_dev vd;   /* first: the common layer casts */
	unsigned output_kind;
	unsigned input_kind;
	char *path;
	int out_fd;
	bool owns_out_fd;
	int in_fd;
	bool in_loop;
	struct vq_chain chain;
	uint8_t input[CONSOLE_INPUT_SIZE];  /* received, not yet given to the guest */
	size_t input_len;
	struct virtio_console_config config;
	atomic_uint_fast64_t bytes_out, bytes_in, dropped_in;
};

static struct virtio_console *to_console(struct virtio_dev *vd)
{
	return (struct virtio_console *)vd;
}

static void console_output(struct virtio_console *c, const struct iovec *iov, int count)
{
	struct iovec rest[VQ_MAX_SEGS];

	if (c->out_fd < 0 || count == 0)
		return;
	memcpy(rest, iov, (size_t)count * sizeof(*iov));
	while (count > 0) {
		ssize_t n = writev(c->out_fd, rest, count);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* output gone: drop, the guest must not stall */
		atomic_fetch_add_explicit(&c->bytes_out, (uint64_t)n, memory_order_relaxed);
		while (count > 0 && (size_t)n >= rest[0].iov_len) {
			n -= (ssize_t)rest[0].iov_len;
			memmove(rest, rest + 1, (size_t)--count * sizeof(*rest));
		}
		if (count > 0) {
			rest[0].iov_base = (uint8_t *)rest[0].iov_base + n;
			rest[0].iov_len -= (size_t)n;
		}
	}
}

static bool console_transmit(struct virtio_console *c)
{
	struct virtio_mmio *t = &c->vd.t;
	bool worked = false;

	while (virtio_mmio_pop(t, CONSOLE_TX, &c->chain) > 0) {
		console_output(c, c->chain.iov, c->chain.out_num);
		vq_push(&t->queues[CONSOLE_TX], c->chain.head, 0);
		worked = true;
	}
	if (worked)
		virtio_mmio_complete(t, CONSOLE_TX);
	return worked;
}

/* Hand pending input to the guest's receive buffers. */
static bool console_receive(struct virtio_console *c)
{
	struct virtio_mmio *t = &c->vd.t;
	bool worked = false;

	while (c->input_len && virtio_mmio_pop(t, CONSOLE_RX, &c->chain) > 0) {
		size_t n = vq_chain_write(&c->chain, 0, c->input, c->input_len);

		memmove(c->input, c->input + n, c->input_len - n);
		c->input_len -= n;
		atomic_fetch_add_explicit(&c->bytes_in, n, memory_order_relaxed);
		vq_push(&t->queues[CONSOLE_RX], c->chain.head, (uint32_t)n);
		worked = true;
	}
	if (worked)
		virtio_mmio_complete(t, CONSOLE_RX);
	return worked;
}

static bool console_process(struct virtio_dev *vd, unsigned q)
{
	struct virtio_console *c = to_console(vd);

	return q == CONSOLE_TX ? console_transmit(c) : console_receive(c);
}

static void console_reset(struct virtio_dev *vd)
{
	to_console(vd)->input_len = 0;
}

static void console_config_read(struct virtio_dev *vd, uint32_t offset, void *data, unsigned size)
{
	memcpy(data, (const uint8_t *)&to_console(vd)->config + offset, size);
}

static void console_config_write(struct virtio_dev *vd, uint32_t offset, const void *data,
				 unsigned size)
{
	struct virtio_console *c = to_console(vd);
	struct iovec iov = { .iov_base = (void *)(uintptr_t)data, .iov_len = 1 };

	/* emerg_wr: one character, whatever the access width. */
	if (offset == CONSOLE_EMERG_WR && (vd->t.features >> VIRTIO_CONSOLE_F_EMERG_WRITE) & 1)
		console_output(c, &iov, 1);
}

static const struct virtio_backend_ops console_backend = {
	.process = console_process,
	.reset = console_reset,
	.config_read = console_config_read,
	.config_write = console_config_write,
};

/* Event thread: stdin is readable. */
static void console_on_input(void *opaque, uint32_t events)
{
	struct virtio_console *c = opaque;
	uint8_t buffer[CONSOLE_INPUT_SIZE];
	ssize_t n = read(c->in_fd, buffer, sizeof(buffer));

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		loop_remove_fd(&c->vd.vm->loop, c->in_fd); /* EOF: stop watching */
		c->in_loop = false;
		return;
	}
	pthread_mutex_lock(&c->vd.t.lock);
	size_t room = sizeof(c->input) - c->input_len, take = (size_t)n < room ? (size_t)n : room;

	memcpy(c->input + c->input_len, buffer, take);
	c->input_len += take;
	atomic_fetch_add_explicit(&c->dropped_in, (uint64_t)n - take, memory_order_relaxed);
	console_receive(c);
	pthread_mutex_unlock(&c->vd.t.lock);
}

static int console_parse(struct device *dev, const struct toml_table *section,
			 const struct config_context *ctx)
{
	static const char *const keys[] = { VIRTIO_COMMON_KEYS, "output", "path", "input", NULL };
	static const char *const outputs[] = { "stdout", "stderr", "file", "none", NULL };
	static const char *const inputs[] = { "none", "stdin", NULL };
	struct virtio_console *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	dev->state = c;
	c->out_fd = c->in_fd = -1;
	if ((rc = config_check_keys(ctx, section, dev->name, keys)) ||
	    (rc = virtio_parse_common(&c->vd, dev->name, "virtio-console", 2, section, ctx)) ||
	    (rc = config_get_choice(ctx, section, "output", outputs, &c->output_kind)) ||
	    (rc = config_get_path(ctx, section, "path", false, &c->path)) ||
	    (rc = config_get_choice(ctx, section, "input", inputs, &c->input_kind)))
		return rc;
	if (c->vd.config.notify[CONSOLE_RX] == VIRTIO_NOTIFY_POLL &&
	    toml_table_get(section, "notify")->type == TOML_ARRAY)
		return config_fail(ctx, toml_table_get(section, "notify")->pos,
				   "the receive queue (first entry) is always \"kick\"");
	c->vd.config.notify[CONSOLE_RX] = VIRTIO_NOTIFY_KICK;
	if ((c->output_kind == OUT_FILE) != (c->path != NULL))
		return config_fail(ctx, toml_table_get(section, c->path ? "path" : "output")->pos,
				   "output = \"file\" and 'path' go together");
	return 0;
}

static int console_open_output(struct virtio_console *c)
{
	switch ((enum console_output)c->output_kind) {
	case OUT_STDOUT:
		c->out_fd = STDOUT_FILENO;
		return 0;
	case OUT_STDERR:
		c->out_fd = STDERR_FILENO;
		return 0;
	case OUT_FILE:
		c->out_fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0) {
			int rc = -errno;

			log_error("%s: output %s: %s", c->vd.name, c->path, strerror(errno));
			return rc;
		}
		c->owns_out_fd = true;
		return 0;
	case OUT_NONE:
		return 0;
	}
	return -EINVAL;
}

static int console_realize(struct device *dev, struct vm *vm)
{
	struct virtio_console *c = dev->state;
	int rc;

	c->vd.ops = &console_backend;
	c->config.max_nr_ports = 1;
	if ((rc = console_open_output(c)))
		return rc;
	if ((rc = virtio_dev_realize(&c->vd, vm, VIRTIO_ID_CONSOLE,
				     1ull << VIRTIO_CONSOLE_F_EMERG_WRITE, sizeof(c->config),
				     CONSOLE_QUEUE_MAX)))
		return rc;
	if (c->input_kind != IN_STDIN)
		return 0;
	c->in_fd = STDIN_FILENO;
	if ((rc = loop_add_fd(&vm->loop, c->in_fd, EPOLLIN, console_on_input, c)))
		log_warn("%s: stdin cannot be watched (%s): no input", dev->name, strerror(-rc));
	c->in_loop = rc == 0;
	return 0;
}

static int console_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const struct virtio_console *c = dev->state;

	return virtio_dev_add_fdt_node(&c->vd, fdt);
}

static void console_stop(struct device *dev)
{
	struct virtio_console *c = dev->state;

	virtio_dev_stop(&c->vd);
	log_debug("%s: %llu bytes out, %llu in (%llu dropped), %llu kicks", dev->name,
		  (unsigned long long)c->bytes_out, (unsigned long long)c->bytes_in,
		  (unsigned long long)c->dropped_in,
		  (unsigned long long)c->vd.queues[CONSOLE_TX].kicks);
}

static void console_unrealize(struct device *dev, struct vm *vm)
{
	struct virtio_console *c = dev->state;

	if (!c)
		return;
	if (c->in_loop)
		loop_remove_fd(&vm->loop, c->in_fd);
	c->in_loop = false;
	virtio_dev_unrealize(&c->vd, vm);
	if (c->owns_out_fd)
		close(c->out_fd);
	c->owns_out_fd = false;
	c->out_fd = -1;
}

static void console_destroy(struct device *dev)
{
	struct virtio_console *c = dev->state;

	if (!c)
		return;
	free(c->path);
	free(c);
	dev->state = NULL;
}

const struct device_model virtio_console_model = {
	.type = "virtio-console",
	.summary = "virtio-mmio console, one port",
	.parse = console_parse,
	.realize = console_realize,
	.add_fdt_node = console_add_fdt_node,
	.stop = console_stop,
	.unrealize = console_unrealize,
	.destroy = console_destroy,
};
