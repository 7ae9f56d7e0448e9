/* SPDX-License-Identifier: MIT */
/*
 * What virtio-blk and virtio-console share on a VM: the MMIO region, the
 * IOAPIC line, the device-tree node, and how each queue learns of new
 * buffers (docs/devices/virtio.md):
 *
 *  - notify = "kick": QueueNotify is an ioeventfd (no exit to user space);
 *    its eventfd wakes the event thread, which processes the queue and asks
 *    for the next kick (used flags / avail_event).
 *  - notify = "poll": a poller thread (vmm/poll.h) watches the avail index
 *    in guest RAM with notifications suppressed, so submitting costs the
 *    guest no exit at all. Once the queue has been idle for poll_spin_us it
 *    re-enables notifications and parks; the next kick (same ioeventfd)
 *    wakes it and it suppresses them again.
 *
 * A backend embeds struct virtio_dev first in its state and fills ops.
 */
#ifndef DEVICES_VIRTIO_VIRTIO_H
#define DEVICES_VIRTIO_VIRTIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/virtio/transport.h"
#include "vmm/poll.h"

struct vm;
struct fdt_builder;

#define VIRTIO_DEFAULT_ADDRESS 0xfe000000ull
#define VIRTIO_DEFAULT_IRQ     16u
/* Where virtio-mmio regions may go: the platform device area (docs/architecture.md). */
#define VIRTIO_AREA_START      0xf0000000ull
#define VIRTIO_AREA_END        0xfec00000ull
/* The root bus node x86 Linux probes (device-facts 6.5), shared by virtio devices. */
#define VIRTIO_FDT_BUS_NAME    "platform"
#define VIRTIO_FDT_BUS_PATH    "/" VIRTIO_FDT_BUS_NAME

/* Keys every virtio device section accepts besides its own. */
#define VIRTIO_COMMON_KEYS "type", "address", "irq", "notify", "poll_spin_us", "poll_cpu"

enum virtio_notify_mode { VIRTIO_NOTIFY_KICK, VIRTIO_NOTIFY_POLL };

struct virtio_dev;

struct virtio_backend_ops {
	/* Pop and handle what queue q holds; true if it did any work. Lock held. */
	bool (*process)(struct virtio_dev *vd, unsigned q);
	/* DRIVER_OK (lock held). */
	void (*start)(struct virtio_dev *vd);
	/* Reset: finish in-flight work without touching the rings (lock held). */
	void (*reset)(struct virtio_dev *vd);
	/*
	 * Poll mode only, on the poller thread, no lock: reap what finished
	 * outside the rings (I/O completions); true while work is pending, so
	 * the poller keeps spinning instead of parking. Optional.
	 */
	bool (*poll)(struct virtio_dev *vd);
	void (*config_read)(struct virtio_dev *vd, uint32_t offset, void *data, unsigned size);
	void (*config_write)(struct virtio_dev *vd, uint32_t offset, const void *data,
			     unsigned size);
};

struct virtio_queue_ctx {
	struct virtio_dev *vd;
	unsigned index;
	enum virtio_notify_mode mode;
	int kick_fd;                /* eventfd: ioeventfd doorbell or trapped notify */
	bool ioeventfd;             /* registered with KVM */
	bool in_loop;
	atomic_bool notify_on;      /* poll mode: kicks currently enabled */
	_Atomic uint64_t last_work_us; /* poll mode: when work was last found */
	atomic_uint_fast64_t kicks; /* doorbells seen */
};

struct virtio_dev_config {
	uint64_t address;
	unsigned irq;               /* IOAPIC pin */
	enum virtio_notify_mode notify[VIRTIO_MAX_QUEUES];
	uint64_t poll_spin_us;
	int poll_cpu;               /* pin the poller thread here; -1: no pinning */
};

struct virtio_dev {
	struct virtio_mmio t;
	const struct virtio_backend_ops *ops;
	const char *name;
	const char *type;           /* "virtio-blk" ... for messages */
	struct vm *vm;
	struct virtio_dev_config config;
	unsigned num_queues;
	struct virtio_queue_ctx queues[VIRTIO_MAX_QUEUES];
	struct poller poller;
	bool poller_ready;
	atomic_bool busy;           /* poll mode: ops->poll has work pending */
	bool region_registered;
};

/* Parse the common keys into vd->config (defaults first). */
int virtio_parse_common(struct virtio_dev *vd, const char *name, const char *type,
			unsigned num_queues, const struct toml_table *section,
			const struct config_context *ctx);

/*
 * Put the device on the VM: transport, MMIO region, doorbells, poller.
 * Needs an `ioapic` device in the config. The backend is ready before this.
 */
int virtio_dev_realize(struct virtio_dev *vd, struct vm *vm, uint32_t device_id,
		       uint64_t features, uint32_t config_size, uint16_t queue_max);
/* Stop the poller (vCPUs are stopped). */
void virtio_dev_stop(struct virtio_dev *vd);
/* Give back doorbells, loop fds, the poller; reset the device. */
void virtio_dev_unrealize(struct virtio_dev *vd, struct vm *vm);
/* The virtio,mmio node under VIRTIO_FDT_BUS_PATH (created if missing). */
int virtio_dev_add_fdt_node(const struct virtio_dev *vd, struct fdt_builder *fdt);

/* Process queue q until it is empty with the driver asked to kick again. Lock held. */
void virtio_dev_drain_queue(struct virtio_dev *vd, unsigned q);

uint64_t virtio_now_us(void);

#endif
