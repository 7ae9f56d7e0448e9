/* SPDX-License-Identifier: MIT */
/*
 * Device interrupts: VFIO_DEVICE_SET_IRQS and the backends' raise calls.
 *
 * Validation is vfio_set_irqs_validate_and_prepare's: argsz < 20, index
 * out of range, unknown flag bits, start >= count or start + count past
 * the index's count, not exactly one DATA type, or data shorter than
 * count entries: EINVAL. The action then dispatches like vfio-pci: MASK
 * and UNMASK only on MASKABLE indexes, and no action or several: ENOTTY
 * (the driver finds no handler). For PCI, INTx, MSI and MSI-X exclude each
 * other (EINVAL while another is enabled), enabling fixes the vector
 * count (NORESIZE: later EVENTFD calls must stay inside it), and disabling
 * (DATA_NONE, count 0) or loopback on an index that is not enabled is
 * EINVAL, as vfio_pci_set_msi_trigger does.
 *
 * Eventfds are dup'ed, so the caller may close its copy (the kernel holds
 * a reference); -1 de-assigns; a fd < -1: EINVAL, not open: EBADF, not an
 * eventfd: EINVAL. An UNMASK eventfd (INTx resample) is watched by one
 * simulator thread: when signalled the line unmasks and, if the device
 * still asserts it (sim_irq_set_level) or raised it while masked, fires
 * again and, on an AUTOMASKED index, masks itself again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/vfio-sim/sim_internal.h"

#define SET_HDR_SIZE 20u    /* offsetofend(struct vfio_irq_set, count) */

void sim_irq_init(struct sim_device *dev)
{
	struct sim_dev_core *core = dev->core;

	pthread_mutex_init(&core->irq_lock, NULL);
	for (unsigned i = 0; i < SIM_MAX_IRQS; i++)
		for (unsigned v = 0; v < SIM_MAX_VECTORS; v++)
			core->irqs[i].vectors[v] = (struct sim_irq_vector){ .trigger = -1, .unmask = -1 };
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0)
		return; /* counter saturated: the reader has work pending anyway */
}

/* irq_lock held. */
static void fire(struct sim_device *dev, unsigned index, struct sim_irq_vector *v)
{
	if (v->masked) {
		v->pending = true;
		return;
	}
	if (v->trigger < 0)
		return;
	signal_fd(v->trigger);
	if (dev->irqs[index].flags & VFIO_IRQ_INFO_AUTOMASKED)
		v->masked = true;
}

static struct sim_irq_vector *vector_of(struct sim_device *dev, unsigned index, unsigned vector)
{
	if (index >= SIM_MAX_IRQS || vector >= SIM_MAX_VECTORS)
		return NULL;
	return &sim_core_of(dev)->irqs[index].vectors[vector];
}

void sim_irq_raise(struct sim_device *dev, unsigned index, unsigned vector)
{
	struct sim_irq_vector *v = vector_of(dev, index, vector);

	if (!v)
		return;
	pthread_mutex_lock(&sim_core_of(dev)->irq_lock);
	fire(dev, index, v);
	pthread_mutex_unlock(&sim_core_of(dev)->irq_lock);
}

void sim_irq_set_level(struct sim_device *dev, unsigned index, bool asserted)
{
	struct sim_irq_vector *v = vector_of(dev, index, 0);

	if (!v)
		return;
	pthread_mutex_lock(&sim_core_of(dev)->irq_lock);
	bool rising = asserted && !v->level;

	v->level = asserted;
	if (!asserted)
		v->pending = false;
	if (rising)
		fire(dev, index, v);
	pthread_mutex_unlock(&sim_core_of(dev)->irq_lock);
}

bool sim_irq_has_trigger(const struct sim_device *dev, unsigned index, unsigned vector)
{
	if (index >= SIM_MAX_IRQS || vector >= SIM_MAX_VECTORS)
		return false;
	struct sim_dev_core *core = dev->core;

	pthread_mutex_lock(&core->irq_lock);
	bool set = core->irqs[index].vectors[vector].trigger >= 0;

	pthread_mutex_unlock(&core->irq_lock);
	return set;
}

/* irq_lock held. */
static void unmask_vector(struct sim_device *dev, unsigned index, struct sim_irq_vector *v)
{
	v->masked = false;
	if (v->pending || v->level) {
		v->pending = false;
		fire(dev, index, v);
	}
}

/* ---- the resample thread ---- */

static void *resample_thread(void *opaque)
{
	struct sim *sim = opaque;
	struct epoll_event events[16];

	for (;;) {
		int n = epoll_wait(sim->irq_thread.epoll, events, 16, -1);

		for (int i = 0; i < n; i++) {
			uint64_t key = events[i].data.u64;

			if (key == UINT64_MAX)
				return NULL;
			struct sim_device *dev = sim->devices[key >> 16];
			unsigned index = (key >> 8) & 0xff, vector = key & 0xff;
			struct sim_irq_vector *v = vector_of(dev, index, vector);
			struct pollfd pfd = { .events = POLLIN };
			uint64_t count;

			pthread_mutex_lock(&sim_core_of(dev)->irq_lock);
			pfd.fd = v->unmask;
			if (pfd.fd >= 0 && poll(&pfd, 1, 0) == 1 &&
			    read(pfd.fd, &count, sizeof(count)) == sizeof(count))
				unmask_vector(dev, index, v);
			pthread_mutex_unlock(&sim_core_of(dev)->irq_lock);
		}
	}
}

/* sim->lock held. */
static int start_resample_thread(struct sim *sim)
{
	struct sim_irq_thread *t = &sim->irq_thread;
	struct epoll_event stop = { .events = EPOLLIN, .data.u64 = UINT64_MAX };

	if (t->running)
		return 0;
	t->epoll = epoll_create1(EPOLL_CLOEXEC);
	t->stop = eventfd(0, EFD_CLOEXEC);
	if (t->epoll < 0 || t->stop < 0 || epoll_ctl(t->epoll, EPOLL_CTL_ADD, t->stop, &stop) ||
	    pthread_create(&t->thread, NULL, resample_thread, sim)) {
		sim_irq_thread_stop(sim);
		return -ENOMEM;
	}
	t->running = true;
	return 0;
}

void sim_irq_thread_stop(struct sim *sim)
{
	struct sim_irq_thread *t = &sim->irq_thread;

	if (t->running) {
		signal_fd(t->stop);
		pthread_join(t->thread, NULL);
		t->running = false;
	}
	if (t->epoll >= 0)
		sim_libc()->close(t->epoll);
	if (t->stop >= 0)
		sim_libc()->close(t->stop);
	t->epoll = t->stop = -1;
}

/* ---- SET_IRQS ---- */

/* A user fd as the kernel's eventfd_ctx_fdget judges it; our own dup on success. */
static int take_eventfd(int32_t fd, int *out)
{
	char link[64], target[64];

	if (fd < 0)
		return -EINVAL;
	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = sim_libc()->readlink(link, target, sizeof(target) - 1);

	if (n <= 0)
		return -EBADF;
	target[n] = 0;
	if (strcmp(target, "anon_inode:[eventfd]") != 0)
		return -EINVAL;
	*out = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return *out < 0 ? -errno : 0;
}

static void drop_fd(struct sim *sim, int *fd, bool watched)
{
	if (*fd < 0)
		return;
	if (watched && sim->irq_thread.epoll >= 0)
		epoll_ctl(sim->irq_thread.epoll, EPOLL_CTL_DEL, *fd, NULL);
	sim_libc()->close(*fd);
	*fd = -1;
}

static unsigned device_slot(const struct sim *sim, const struct sim_device *dev)
{
	for (unsigned i = 0; i < sim->device_count; i++)
		if (sim->devices[i] == dev)
			return i;
	return 0;
}

/* Validate every fd first, so a bad one changes nothing; -1 de-assigns. */
static int take_eventfds(const int32_t *fds, unsigned count, int *out)
{
	for (unsigned i = 0; i < count; i++) {
		int rc = fds[i] == -1 ? 0 : take_eventfd(fds[i], &out[i]);

		if (fds[i] == -1)
			out[i] = -1;
		if (rc) {
			while (i--)
				if (out[i] >= 0)
					sim_libc()->close(out[i]);
			return rc;
		}
	}
	return 0;
}

static int set_triggers(struct sim_device *dev, unsigned index, unsigned start, unsigned count,
			const int32_t *fds)
{
	struct sim_dev_core *core = dev->core;
	int taken[SIM_MAX_VECTORS];
	int rc = take_eventfds(fds, count, taken);

	if (rc)
		return rc;
	pthread_mutex_lock(&core->irq_lock);
	for (unsigned i = 0; i < count; i++) {
		struct sim_irq_vector *v = &core->irqs[index].vectors[start + i];

		drop_fd(core->sim, &v->trigger, false);
		v->trigger = taken[i];
	}
	pthread_mutex_unlock(&core->irq_lock);
	return 0;
}

static int set_unmask_fd(struct sim_device *dev, unsigned index, unsigned vector, int32_t fd)
{
	struct sim_dev_core *core = dev->core;
	struct sim *sim = core->sim;
	int taken = -1, rc;

	if (fd != -1 && ((rc = take_eventfd(fd, &taken)) || (rc = start_resample_thread(sim)))) {
		if (taken >= 0)
			sim_libc()->close(taken);
		return rc;
	}
	pthread_mutex_lock(&core->irq_lock);
	struct sim_irq_vector *v = &core->irqs[index].vectors[vector];

	drop_fd(sim, &v->unmask, true);
	v->unmask = taken;
	if (taken >= 0) {
		struct epoll_event ev = {
			.events = EPOLLIN,
			.data.u64 = (uint64_t)device_slot(sim, dev) << 16 | index << 8 | vector,
		};

		epoll_ctl(sim->irq_thread.epoll, EPOLL_CTL_ADD, taken, &ev);
	}
	pthread_mutex_unlock(&core->irq_lock);
	return 0;
}

static void disable_index(struct sim_device *dev, unsigned index)
{
	struct sim_dev_core *core = dev->core;

	pthread_mutex_lock(&core->irq_lock);
	for (unsigned v = 0; v < SIM_MAX_VECTORS; v++) {
		struct sim_irq_vector *vec = &core->irqs[index].vectors[v];

		drop_fd(core->sim, &vec->trigger, false);
		drop_fd(core->sim, &vec->unmask, true);
		vec->masked = vec->pending = false;
	}
	core->irqs[index].enabled = 0;
	if (core->active_index == (int)index)
		core->active_index = -1;
	pthread_mutex_unlock(&core->irq_lock);
}

static bool data_true(uint32_t flags, const uint8_t *data, unsigned i)
{
	return (flags & VFIO_IRQ_SET_DATA_NONE) || data[i];
}

static void loopback(struct sim_device *dev, const struct vfio_irq_set *hdr, const uint8_t *data)
{
	struct sim_dev_core *core = dev->core;

	pthread_mutex_lock(&core->irq_lock);
	for (unsigned i = 0; i < hdr->count; i++) {
		int fd = core->irqs[hdr->index].vectors[hdr->start + i].trigger;

		if (data_true(hdr->flags, data, i) && fd >= 0)
			signal_fd(fd);
	}
	pthread_mutex_unlock(&core->irq_lock);
}

/* INTx, MSI and MSI-X of a PCI device: one type at a time, NORESIZE. */
static bool exclusive_index(const struct sim_device *dev, unsigned index)
{
	return strcmp(dev->bus, "pci") == 0 && index <= VFIO_PCI_MSIX_IRQ_INDEX;
}

static int trigger(struct sim_device *dev, const struct vfio_irq_set *hdr, const uint8_t *data)
{
	struct sim_dev_core *core = dev->core;
	unsigned index = hdr->index;
	bool exclusive = exclusive_index(dev, index);
	bool enabled = exclusive ? core->active_index == (int)index : core->irqs[index].enabled > 0;
	int rc;

	if ((hdr->flags & VFIO_IRQ_SET_DATA_NONE) && !hdr->count) {
		if (exclusive && !enabled)
			return -EINVAL;
		disable_index(dev, index);
		return 0;
	}
	if (exclusive && core->active_index >= 0 && !enabled)
		return -EINVAL; /* another interrupt type is on */
	if (!(hdr->flags & VFIO_IRQ_SET_DATA_EVENTFD)) {
		if (exclusive && !enabled)
			return -EINVAL;
		loopback(dev, hdr, data);
		return 0;
	}
	if (enabled && (dev->irqs[index].flags & VFIO_IRQ_INFO_NORESIZE) &&
	    hdr->start + hdr->count > core->irqs[index].enabled)
		return -EINVAL; /* NORESIZE: disable and enable again with the new count */
	if ((rc = set_triggers(dev, index, hdr->start, hdr->count, (const int32_t *)data)))
		return rc;
	if (!enabled) {
		core->irqs[index].enabled = hdr->start + hdr->count;
		if (exclusive)
			core->active_index = (int)index;
	}
	return 0;
}

static int mask_or_unmask(struct sim_device *dev, const struct vfio_irq_set *hdr,
			  const uint8_t *data, bool mask)
{
	struct sim_dev_core *core = dev->core;

	if (exclusive_index(dev, hdr->index) && core->active_index != (int)hdr->index)
		return -EINVAL; /* vfio-pci: INTx must be enabled */
	if (hdr->flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		if (mask || hdr->count != 1)
			return mask ? -ENOTTY : -EINVAL;
		return set_unmask_fd(dev, hdr->index, hdr->start, *(const int32_t *)data);
	}
	pthread_mutex_lock(&core->irq_lock);
	for (unsigned i = 0; i < hdr->count; i++) {
		struct sim_irq_vector *v = &core->irqs[hdr->index].vectors[hdr->start + i];

		if (!data_true(hdr->flags, data, i))
			continue;
		if (mask)
			v->masked = true;
		else
			unmask_vector(dev, hdr->index, v);
	}
	pthread_mutex_unlock(&core->irq_lock);
	return 0;
}

int sim_irq_set(struct sim_device *dev, void *arg)
{
	const uint32_t data_mask = VFIO_IRQ_SET_DATA_TYPE_MASK;
	const uint32_t action_mask = VFIO_IRQ_SET_ACTION_TYPE_MASK;
	struct vfio_irq_set hdr;
	size_t size;

	memcpy(&hdr, arg, SET_HDR_SIZE);
	if (hdr.argsz < SET_HDR_SIZE || hdr.index >= dev->irq_count ||
	    hdr.count >= UINT32_MAX - hdr.start || (hdr.flags & ~(data_mask | action_mask)))
		return -EINVAL;
	uint32_t num = dev->irqs[hdr.index].count;

	if (hdr.start >= num || hdr.start + hdr.count > num || num > SIM_MAX_VECTORS)
		return -EINVAL;
	switch (hdr.flags & data_mask) {
	case VFIO_IRQ_SET_DATA_NONE:
		size = 0;
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		size = 1;
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		size = 4;
		break;
	default:
		return -EINVAL;
	}
	if (size && hdr.argsz - SET_HDR_SIZE < hdr.count * size)
		return -EINVAL;
	const uint8_t *data = (const uint8_t *)arg + SET_HDR_SIZE;
	bool maskable = dev->irqs[hdr.index].flags & VFIO_IRQ_INFO_MASKABLE;
	int rc;

	switch (hdr.flags & action_mask) {
	case VFIO_IRQ_SET_ACTION_MASK:
		return maskable ? mask_or_unmask(dev, &hdr, data, true) : -ENOTTY;
	case VFIO_IRQ_SET_ACTION_UNMASK:
		return maskable ? mask_or_unmask(dev, &hdr, data, false) : -ENOTTY;
	case VFIO_IRQ_SET_ACTION_TRIGGER:
		rc = trigger(dev, &hdr, data);
		if (!rc && dev->ops && dev->ops->irqs_changed &&
		    (hdr.flags & (VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_DATA_NONE)))
			dev->ops->irqs_changed(dev, hdr.index);
		return rc;
	default:
		return -ENOTTY; /* no action, or several: no handler */
	}
}

void sim_irq_release(struct sim_device *dev)
{
	for (unsigned i = 0; i < dev->irq_count && i < SIM_MAX_IRQS; i++) {
		bool had = sim_core_of(dev)->irqs[i].enabled > 0;

		disable_index(dev, i);
		if (had && dev->ops && dev->ops->irqs_changed)
			dev->ops->irqs_changed(dev, i);
	}
	sim_core_of(dev)->active_index = -1;
}
