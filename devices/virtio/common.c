/* SPDX-License-Identifier: MIT */
/* virtio devices on a VM: region, doorbells, poller, IOAPIC line, DT node (virtio.h). */
#include "devices/virtio/virtio.h"

#include <errno.h>
#include <libfdt.h>
#include <pthread.h>
#include <sched.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/ioapic.h"
#include "vmm/bus.h"
#include "vmm/fdt.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define POLL_PARK_MIN_US 50
#define POLL_PARK_MAX_US 1000

uint64_t virtio_now_us(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

/* ---- config ---- */

static int parse_notify_value(const struct config_context *ctx, const struct toml_value *v,
			      enum virtio_notify_mode *mode)
{
	if (v->type != TOML_STRING)
		return config_fail(ctx, v->pos, "'notify' takes \"kick\" or \"poll\" (or an array of them, "
				   "one per queue), not a %s", toml_type_name(v->type));
	if (!strcmp(v->u.string.str, "kick"))
		*mode = VIRTIO_NOTIFY_KICK;
	else if (!strcmp(v->u.string.str, "poll"))
		*mode = VIRTIO_NOTIFY_POLL;
	else
		return config_fail(ctx, v->pos, "'notify' = \"%s\": valid: \"kick\", \"poll\"",
				   v->u.string.str);
	return 0;
}

static int parse_notify(struct virtio_dev *vd, const struct toml_table *section,
			const struct config_context *ctx)
{
	const struct toml_value *v = toml_table_get(section, "notify");
	int rc;

	if (!v)
		return 0;
	if (v->type != TOML_ARRAY) {
		for (unsigned q = 0; q < vd->num_queues; q++)
			if ((rc = parse_notify_value(ctx, v, &vd->config.notify[q])))
				return rc;
		return 0;
	}
	if (v->u.array->count != vd->num_queues)
		return config_fail(ctx, v->pos, "'notify' has %zu entries; a %s has %u queue%s",
				   v->u.array->count, vd->type, vd->num_queues,
				   vd->num_queues == 1 ? "" : "s");
	for (unsigned q = 0; q < vd->num_queues; q++)
		if ((rc = parse_notify_value(ctx, &v->u.array->items[q], &vd->config.notify[q])))
			return rc;
	return 0;
}

int virtio_parse_common(struct virtio_dev *vd, const char *name, const char *type,
			unsigned num_queues, const struct toml_table *section,
			const struct config_context *ctx)
{
	uint64_t irq = VIRTIO_DEFAULT_IRQ, cpu = ~0ull;
	int rc;

	vd->name = name;
	vd->type = type;
	vd->num_queues = num_queues;
	vd->config.address = VIRTIO_DEFAULT_ADDRESS;
	vd->config.poll_spin_us = POLLER_DEFAULT_TUNING.spin_us;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vd->queues[q].kick_fd = -1;
	if ((rc = config_get_u64(ctx, section, "address", VIRTIO_AREA_START,
				 VIRTIO_AREA_END - VIRTIO_MMIO_REGION_SIZE, &vd->config.address)) ||
	    (rc = config_get_u64(ctx, section, "irq", 0, IOAPIC_PINS - 1, &irq)) ||
	    (rc = config_get_u64(ctx, section, "poll_spin_us", 0, 1000000, &vd->config.poll_spin_us)) ||
	    (rc = config_get_u64(ctx, section, "poll_cpu", 0, CPU_SETSIZE - 1, &cpu)) ||
	    (rc = parse_notify(vd, section, ctx)))
		return rc;
	vd->config.irq = (unsigned)irq;
	vd->config.poll_cpu = cpu == ~0ull ? -1 : (int)cpu;
	if (vd->config.address % VIRTIO_MMIO_REGION_SIZE)
		return config_fail(ctx, toml_table_get(section, "address")->pos,
				   "'address' must be a multiple of %#x", VIRTIO_MMIO_REGION_SIZE);
	return 0;
}

/* ---- transport hooks ---- */

static void hook_config_read(void *opaque, uint32_t offset, void *data, unsigned size)
{
	struct virtio_dev *vd = opaque;

	vd->ops->config_read(vd, offset, data, size);
}

static void hook_config_write(void *opaque, uint32_t offset, const void *data, unsigned size)
{
	struct virtio_dev *vd = opaque;

	if (vd->ops->config_write)
		vd->ops->config_write(vd, offset, data, size);
}

static void hook_start(void *opaque)
{
	struct virtio_dev *vd = opaque;
	uint64_t now = virtio_now_us();

	for (unsigned q = 0; q < vd->num_queues; q++) {
		vd->queues[q].notify_on = true;
		vd->queues[q].last_work_us = now;
	}
	if (vd->ops->start)
		vd->ops->start(vd);
	/* Buffers may have been made available before DRIVER_OK. */
	for (unsigned q = 0; q < vd->num_queues; q++) {
		if (vd->queues[q].mode == VIRTIO_NOTIFY_KICK)
			virtio_dev_drain_queue(vd, q);
	}
	if (vd->poller_ready)
		poller_kick(&vd->poller);
}

static void hook_reset(void *opaque)
{
	struct virtio_dev *vd = opaque;

	if (vd->ops->reset)
		vd->ops->reset(vd);
}

/* Trapped QueueNotify (no ioeventfd): hand it to the same eventfd. */
static void hook_notify(void *opaque, unsigned queue)
{
	struct virtio_dev *vd = opaque;
	uint64_t one = 1;

	if (queue < vd->num_queues && vd->queues[queue].kick_fd >= 0 &&
	    write(vd->queues[queue].kick_fd, &one, sizeof(one)) < 0)
		log_debug("%s: queue %u notify: %s", vd->name, queue, strerror(errno));
}

static void hook_set_irq(void *opaque, bool level)
{
	struct virtio_dev *vd = opaque;

	if (vd->vm && vd->vm->ioapic)
		ioapic_set_level(vd->vm->ioapic, vd->config.irq, level);
}

static const struct virtio_mmio_ops transport_ops = {
	.config_read = hook_config_read,
	.config_write = hook_config_write,
	.start = hook_start,
	.reset = hook_reset,
	.notify = hook_notify,
	.set_irq = hook_set_irq,
};

static uint64_t region_read(void *opaque, uint64_t offset, unsigned size)
{
	struct virtio_dev *vd = opaque;

	return virtio_mmio_read(&vd->t, offset, size);
}

static void region_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct virtio_dev *vd = opaque;

	virtio_mmio_write(&vd->t, offset, size, value);
}

static const struct bus_region_ops region_ops = {
	.read = region_read,
	.write = region_write,
};

/* ---- queue processing ---- */

void virtio_dev_drain_queue(struct virtio_dev *vd, unsigned q)
{
	struct virtqueue *vq = &vd->t.queues[q];

	while (virtio_mmio_live(&vd->t, q)) {
		vd->ops->process(vd, q);
		if (!virtio_mmio_live(&vd->t, q))
			return;
		vq_set_notification(vq, true);
		if (!vq_has_work(vq))
			return;
	}
}

/* Event thread: a doorbell rang. */
static void on_kick(void *opaque, uint32_t events)
{
	struct virtio_queue_ctx *qc = opaque;
	struct virtio_dev *vd = qc->vd;
	uint64_t count;

	if (read(qc->kick_fd, &count, sizeof(count)) != sizeof(count))
		return;
	atomic_fetch_add_explicit(&qc->kicks, 1, memory_order_relaxed);
	pthread_mutex_lock(&vd->t.lock);
	if (qc->mode == VIRTIO_NOTIFY_KICK) {
		virtio_dev_drain_queue(vd, qc->index);
	} else if (virtio_mmio_live(&vd->t, qc->index)) {
		/* The poller was parked: take what is there now (this thread is
		 * awake already) and wake it for what follows. Kicks go off
		 * again: the woken poller turns them back on when it idles. */
		vq_set_notification(&vd->t.queues[qc->index], false);
		qc->notify_on = false;
		qc->last_work_us = virtio_now_us();
		vd->ops->process(vd, qc->index);
	}
	pthread_mutex_unlock(&vd->t.lock);
	if (qc->mode == VIRTIO_NOTIFY_POLL)
		poller_kick(&vd->poller);
}

/* Poller: idle long enough to park; ask for kicks, then look once more. */
static bool poll_go_idle(struct virtio_queue_ctx *qc)
{
	struct virtio_dev *vd = qc->vd;
	bool worked = false;

	pthread_mutex_lock(&vd->t.lock);
	if (virtio_mmio_live(&vd->t, qc->index)) {
		vq_set_notification(&vd->t.queues[qc->index], true);
		qc->notify_on = true;
		if (vq_has_work(&vd->t.queues[qc->index]))
			worked = vd->ops->process(vd, qc->index);
	}
	pthread_mutex_unlock(&vd->t.lock);
	return worked;
}

/* Poller thread: one look at a polled queue. */
static bool on_poll(void *opaque)
{
	struct virtio_queue_ctx *qc = opaque;
	struct virtio_dev *vd = qc->vd;
	unsigned q = qc->index;
	bool worked = false;

	if (!virtio_mmio_peek(&vd->t, q)) {
		if (qc->notify_on || !virtio_mmio_live(&vd->t, q))
			return false;
		uint64_t now = virtio_now_us();

		/* Requests in flight count as activity: the guest will be back
		 * once they complete, so idle time starts then. */
		if (atomic_load_explicit(&vd->busy, memory_order_relaxed))
			qc->last_work_us = now;
		else if (now - qc->last_work_us >= vd->config.poll_spin_us)
			return poll_go_idle(qc);
		return false;
	}
	pthread_mutex_lock(&vd->t.lock);
	if (virtio_mmio_live(&vd->t, q)) {
		if (qc->notify_on) {
			vq_set_notification(&vd->t.queues[q], false);
			qc->notify_on = false;
		}
		worked = vd->ops->process(vd, q);
	}
	pthread_mutex_unlock(&vd->t.lock);
	qc->last_work_us = virtio_now_us();
	return worked;
}

/* ---- realize / unrealize ---- */

static bool is_virtio_device(const struct device *dev)
{
	return !strncmp(dev->model->type, "virtio-", 7) && dev->state;
}

static int check_platform(const struct virtio_dev *vd, const struct vm *vm)
{
	bool ioapic = false;

	for (size_t i = 0; i < vm->config->device_count; i++) {
		const struct device *dev = vm->config->devices[i];

		if (!strcmp(dev->model->type, "ioapic"))
			ioapic = true;
		if (!is_virtio_device(dev) || dev->state == vd)
			continue;
		const struct virtio_dev *other = dev->state;

		if (other->config.irq == vd->config.irq) {
			log_error("%s: irq %u is also %s's; give each virtio device its own 'irq'",
				  vd->name, vd->config.irq, other->name);
			return -EEXIST;
		}
	}
	if (!ioapic) {
		log_error("%s: virtio-mmio interrupts are IOAPIC lines: add a device with "
			  "type = \"ioapic\" to the config", vd->name);
		return -ENODEV;
	}
	return 0;
}

static int setup_queue(struct virtio_dev *vd, struct vm *vm, unsigned q)
{
	struct virtio_queue_ctx *qc = &vd->queues[q];
	int rc;

	qc->vd = vd;
	qc->index = q;
	qc->mode = vd->config.notify[q];
	qc->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (qc->kick_fd < 0)
		return -errno;
	struct irq_ioeventfd doorbell = {
		.address = vd->config.address + VIRTIO_MMIO_QUEUE_NOTIFY, .length = 4,
		.has_datamatch = true, .datamatch = q, .fd = qc->kick_fd,
	};

	/* Without an ioeventfd the trapped write still reaches kick_fd. */
	if (irq_ioeventfd_add(vm, &doorbell) == 0)
		qc->ioeventfd = true;
	if ((rc = loop_add_fd(&vm->loop, qc->kick_fd, EPOLLIN, on_kick, qc)))
		return rc;
	qc->in_loop = true;
	return 0;
}

/* "NAME-poll" in ps/top; optionally pinned (a poller must not share a CPU
 * with the vCPU it serves: both spin). */
static void name_and_pin_poller(struct virtio_dev *vd)
{
	char name[16];
	cpu_set_t set;

	snprintf(name, sizeof(name), "%.10s-poll", vd->name);
	pthread_setname_np(vd->poller.thread, name);
	if (vd->config.poll_cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(vd->config.poll_cpu, &set);
	int rc = pthread_setaffinity_np(vd->poller.thread, sizeof(set), &set);

	if (rc)
		log_warn("%s: poller not pinned to CPU %d: %s", vd->name, vd->config.poll_cpu,
			 strerror(rc));
}

/* Poller thread: the backend's own pending work (I/O completions). */
static bool on_poll_device(void *opaque)
{
	struct virtio_dev *vd = opaque;
	bool busy = vd->ops->poll(vd);

	atomic_store_explicit(&vd->busy, busy, memory_order_relaxed);
	return busy;
}

static int setup_poller(struct virtio_dev *vd)
{
	struct poller_tuning tuning = {
		.spin_us = (uint32_t)vd->config.poll_spin_us, .park_min_us = POLL_PARK_MIN_US,
		.park_max_us = POLL_PARK_MAX_US,
	};
	int rc;

	poller_init(&vd->poller, vd->name, tuning);
	vd->poller_ready = true;
	if (vd->ops->poll && (rc = poller_add(&vd->poller, on_poll_device, vd)))
		return rc;
	for (unsigned q = 0; q < vd->num_queues; q++) {
		if (vd->queues[q].mode == VIRTIO_NOTIFY_POLL &&
		    (rc = poller_add(&vd->poller, on_poll, &vd->queues[q])))
			return rc;
	}
	if ((rc = poller_start(&vd->poller)))
		return rc;
	name_and_pin_poller(vd);
	return 0;
}

int virtio_dev_realize(struct virtio_dev *vd, struct vm *vm, uint32_t device_id,
		       uint64_t features, uint32_t config_size, uint16_t queue_max)
{
	bool polled = false;
	int rc;

	vd->vm = vm;
	if ((rc = check_platform(vd, vm)))
		return rc;
	virtio_mmio_init(&vd->t, vd->name, device_id, features, config_size, vd->num_queues,
			 queue_max, &vm->ram, &transport_ops, vd);
	rc = bus_register(&vm->mmio_bus, vd->config.address, VIRTIO_MMIO_REGION_SIZE, &region_ops,
			  vd, vd->name);
	if (rc)
		return rc;
	vd->region_registered = true;
	for (unsigned q = 0; q < vd->num_queues; q++) {
		if ((rc = setup_queue(vd, vm, q)))
			return rc;
		polled |= vd->queues[q].mode == VIRTIO_NOTIFY_POLL;
	}
	return polled ? setup_poller(vd) : 0;
}

void virtio_dev_stop(struct virtio_dev *vd)
{
	if (vd->poller_ready)
		poller_stop(&vd->poller);
}

void virtio_dev_unrealize(struct virtio_dev *vd, struct vm *vm)
{
	virtio_dev_stop(vd);
	for (unsigned q = 0; q < vd->num_queues; q++) {
		struct virtio_queue_ctx *qc = &vd->queues[q];
		struct irq_ioeventfd doorbell = {
			.address = vd->config.address + VIRTIO_MMIO_QUEUE_NOTIFY, .length = 4,
			.has_datamatch = true, .datamatch = q, .fd = qc->kick_fd,
		};

		if (qc->in_loop)
			loop_remove_fd(&vm->loop, qc->kick_fd);
		if (qc->ioeventfd)
			irq_ioeventfd_remove(vm, &doorbell);
		if (qc->kick_fd >= 0)
			close(qc->kick_fd);
		qc->in_loop = qc->ioeventfd = false;
		qc->kick_fd = -1;
	}
	if (vd->region_registered) {
		pthread_mutex_lock(&vd->t.lock);
		virtio_mmio_reset(&vd->t);
		pthread_mutex_unlock(&vd->t.lock);
		virtio_mmio_destroy(&vd->t);
		vd->region_registered = false;
	}
	if (vd->poller_ready)
		poller_destroy(&vd->poller);
	vd->poller_ready = false;
	vd->vm = NULL;
}

/* ---- device tree ---- */

/* The bus node: a root child x86 Linux probes, with identity ranges. */
static int ensure_bus(struct fdt_builder *fdt)
{
	static const char compatible[] = "intel,ce4100-cp\0simple-bus";

	if (fdt_path_offset(fdt->blob, VIRTIO_FDT_BUS_PATH) >= 0)
		return 0;
	int node = fdt_add_node(fdt, "/", VIRTIO_FDT_BUS_NAME);

	if (node < 0)
		return 0; /* recorded in fdt->error */
	int rc = fdt_setprop(fdt->blob, node, "compatible", compatible, sizeof(compatible));

	if (rc < 0 && !fdt->error)
		fdt->error = rc;
	fdt_prop_u32(fdt, node, "#address-cells", 2);
	fdt_prop_u32(fdt, node, "#size-cells", 2);
	fdt_prop_empty(fdt, node, "ranges");
	return 0;
}

static void add_notify_modes(const struct virtio_dev *vd, struct fdt_builder *fdt, int node)
{
	char modes[VIRTIO_MAX_QUEUES * 5];
	size_t len = 0;

	for (unsigned q = 0; q < vd->num_queues; q++) {
		const char *m = vd->config.notify[q] == VIRTIO_NOTIFY_POLL ? "poll" : "kick";

		memcpy(modes + len, m, 5);
		len += 5;
	}
	int rc = fdt_setprop(fdt->blob, node, "vmm,notify", modes, (int)len);

	if (rc < 0 && !fdt->error)
		fdt->error = rc;
}

int virtio_dev_add_fdt_node(const struct virtio_dev *vd, struct fdt_builder *fdt)
{
	const uint64_t a = vd->config.address;
	const uint32_t reg[] = { (uint32_t)(a >> 32), (uint32_t)a, 0, VIRTIO_MMIO_REGION_SIZE };
	const uint32_t interrupts[] = { vd->config.irq, IOAPIC_FDT_LEVEL_HIGH };
	char name[48];

	ensure_bus(fdt);
	snprintf(name, sizeof(name), "virtio@%llx", (unsigned long long)a);
	int node = fdt_add_node(fdt, VIRTIO_FDT_BUS_PATH, name);

	if (node < 0)
		return 0;
	fdt_prop_string(fdt, node, "compatible", "virtio,mmio");
	fdt_prop_cells(fdt, node, "reg", reg, 4);
	fdt_prop_u32(fdt, node, "interrupt-parent", FDT_PHANDLE_IOAPIC);
	fdt_prop_cells(fdt, node, "interrupts", interrupts, 2);
	fdt_prop_empty(fdt, node, "dma-coherent");
	add_notify_modes(vd, fdt, node);
	return 0;
}
