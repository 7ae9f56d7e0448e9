/* SPDX-License-Identifier: MIT */
#include "vmm/irq.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/vm.h"

static bool gsi_test(const struct irq_routing *routing, unsigned gsi)
{
	return routing->gsi_used[gsi / 8] & (1u << (gsi % 8));
}

static void gsi_set(struct irq_routing *routing, unsigned gsi, bool used)
{
	if (used)
		routing->gsi_used[gsi / 8] |= (uint8_t)(1u << (gsi % 8));
	else
		routing->gsi_used[gsi / 8] &= (uint8_t)~(1u << (gsi % 8));
}

int irq_init(struct vm *vm)
{
	struct irq_routing *routing = &vm->irq;

	memset(routing, 0, sizeof(*routing));
	routing->table = calloc(1, sizeof(*routing->table) +
				IRQ_MAX_ROUTES * sizeof(routing->table->entries[0]));
	if (!routing->table)
		return -ENOMEM;
	pthread_mutex_init(&routing->lock, NULL);
	routing->initialized = true;
	return 0;
}

void irq_destroy(struct vm *vm)
{
	struct irq_routing *routing = &vm->irq;

	if (!routing->initialized)
		return;
	free(routing->table);
	pthread_mutex_destroy(&routing->lock);
	memset(routing, 0, sizeof(*routing));
}

/* Push the whole table; called with the lock held. */
static int irq_routing_commit(struct vm *vm)
{
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, vm->irq.table) < 0) {
		int rc = -errno;

		log_error("KVM_SET_GSI_ROUTING (%u routes): %s", vm->irq.table->nr, strerror(errno));
		return rc;
	}
	return 0;
}

static struct kvm_irq_routing_entry *irq_route_find(struct irq_routing *routing, unsigned gsi)
{
	for (uint32_t i = 0; i < routing->table->nr; i++) {
		if (routing->table->entries[i].gsi == gsi)
			return &routing->table->entries[i];
	}
	return NULL;
}

static void irq_route_drop(struct irq_routing *routing, unsigned gsi)
{
	struct kvm_irq_routing_entry *entry = irq_route_find(routing, gsi);

	if (entry)
		*entry = routing->table->entries[--routing->table->nr];
}

int irq_msi_init(struct vm *vm, struct irq_msi *msi)
{
	struct irq_routing *routing = &vm->irq;
	int rc = -ENOSPC;

	memset(msi, 0, sizeof(*msi));
	msi->vm = vm;
	msi->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (msi->eventfd < 0)
		return -errno;
	pthread_mutex_lock(&routing->lock);
	for (unsigned gsi = IRQ_FIRST_MSI_GSI; gsi < IRQ_MAX_ROUTES; gsi++) {
		if (!gsi_test(routing, gsi)) {
			gsi_set(routing, gsi, true);
			msi->gsi = gsi;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&routing->lock);
	if (rc) {
		log_error("no free GSI for an MSI (%u in use)", IRQ_MAX_ROUTES - IRQ_FIRST_MSI_GSI);
		close(msi->eventfd);
		msi->eventfd = -1;
	}
	return rc;
}

static int irq_irqfd(struct irq_msi *msi, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)msi->eventfd, .gsi = msi->gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (ioctl(msi->vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		int rc = -errno;

		log_error("KVM_IRQFD %s gsi %u: %s", assign ? "assign" : "deassign", msi->gsi,
			  strerror(errno));
		return rc;
	}
	return 0;
}

/* Remove route and irqfd; lock held. */
static int irq_msi_unroute(struct irq_msi *msi)
{
	if (!atomic_load(&msi->routed))
		return 0;
	atomic_store(&msi->routed, false);
	irq_irqfd(msi, false);
	irq_route_drop(&msi->vm->irq, msi->gsi);
	return irq_routing_commit(msi->vm);
}

static int irq_msi_route(struct irq_msi *msi, uint64_t address, uint32_t data)
{
	struct irq_routing *routing = &msi->vm->irq;
	struct kvm_irq_routing_entry *entry = irq_route_find(routing, msi->gsi);

	if (!entry)
		entry = &routing->table->entries[routing->table->nr++];
	*entry = (struct kvm_irq_routing_entry){
		.gsi = msi->gsi, .type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = (uint32_t)address, .address_hi = (uint32_t)(address >> 32),
			   .data = data },
	};
	int rc = irq_routing_commit(msi->vm);

	if (rc) {
		irq_route_drop(routing, msi->gsi);
		return rc;
	}
	if (!atomic_load(&msi->routed)) {
		/* Drain triggers from the unrouted time: they were dropped, not queued. */
		uint64_t stale;

		if (read(msi->eventfd, &stale, sizeof(stale)) < 0 && errno != EAGAIN)
			log_debug("msi gsi %u: drain: %s", msi->gsi, strerror(errno));
		rc = irq_irqfd(msi, true);
		if (rc) {
			irq_route_drop(routing, msi->gsi);
			irq_routing_commit(msi->vm);
			return rc;
		}
		atomic_store(&msi->routed, true);
	}
	return 0;
}

int irq_msi_program(struct irq_msi *msi, uint64_t address, uint32_t data)
{
	struct irq_routing *routing = &msi->vm->irq;
	int rc;

	if (msi->eventfd < 0)
		return -EBADF;
	pthread_mutex_lock(&routing->lock);
	if (atomic_load(&msi->routed) && msi->address == address && msi->data == data)
		rc = 0; /* unchanged: spare KVM the table rebuild */
	else if (irq_msi_address_valid(address))
		rc = irq_msi_route(msi, address, data);
	else
		rc = irq_msi_unroute(msi);
	msi->address = address;
	msi->data = data;
	pthread_mutex_unlock(&routing->lock);
	return rc;
}

void irq_msi_trigger(struct irq_msi *msi)
{
	uint64_t one = 1;

	if (!atomic_load_explicit(&msi->routed, memory_order_acquire) ||
	    write(msi->eventfd, &one, sizeof(one)) != sizeof(one)) {
		atomic_fetch_add_explicit(&msi->dropped, 1, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&msi->raised, 1, memory_order_relaxed);
}

void irq_msi_destroy(struct irq_msi *msi)
{
	if (!msi->vm || msi->eventfd < 0)
		return;
	if (!msi->vm->irq.initialized) {
		/* Routing already gone with the VM (teardown order bug): just close. */
		close(msi->eventfd);
		msi->eventfd = -1;
		return;
	}
	struct irq_routing *routing = &msi->vm->irq;

	pthread_mutex_lock(&routing->lock);
	irq_msi_unroute(msi);
	gsi_set(routing, msi->gsi, false);
	pthread_mutex_unlock(&routing->lock);
	close(msi->eventfd);
	msi->eventfd = -1;
}

int irq_pin_route(struct vm *vm, unsigned gsi, bool valid, uint64_t address, uint32_t data)
{
	struct irq_routing *routing = &vm->irq;
	int rc;

	if (gsi >= IRQ_FIRST_MSI_GSI)
		return -EINVAL;
	pthread_mutex_lock(&routing->lock);
	struct kvm_irq_routing_entry *entry = irq_route_find(routing, gsi);

	if (!valid) {
		irq_route_drop(routing, gsi);
	} else {
		if (!entry)
			entry = &routing->table->entries[routing->table->nr++];
		*entry = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)address,
				   .address_hi = (uint32_t)(address >> 32), .data = data },
		};
	}
	rc = irq_routing_commit(vm);
	pthread_mutex_unlock(&routing->lock);
	return rc;
}

int irq_signal_msi(struct vm *vm, uint64_t address, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)address, .address_hi = (uint32_t)(address >> 32), .data = data,
	};
	int rc = ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);

	return rc < 0 ? -errno : rc;
}

static int irq_ioeventfd_ioctl(struct vm *vm, const struct irq_ioeventfd *ioeventfd,
			       bool assign)
{
	struct kvm_ioeventfd request = {
		.datamatch = ioeventfd->datamatch, .addr = ioeventfd->address,
		.len = ioeventfd->length, .fd = ioeventfd->fd,
		.flags = (ioeventfd->pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (ioeventfd->has_datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &request) < 0) {
		int rc = -errno;

		log_error("KVM_IOEVENTFD %s %s %#llx len %u: %s", assign ? "add" : "remove",
			  ioeventfd->pio ? "port" : "mmio", (unsigned long long)ioeventfd->address,
			  ioeventfd->length, strerror(errno));
		return rc;
	}
	return 0;
}

int irq_ioeventfd_add(struct vm *vm, const struct irq_ioeventfd *ioeventfd)
{
	return irq_ioeventfd_ioctl(vm, ioeventfd, true);
}

int irq_ioeventfd_remove(struct vm *vm, const struct irq_ioeventfd *ioeventfd)
{
	return irq_ioeventfd_ioctl(vm, ioeventfd, false);
}
