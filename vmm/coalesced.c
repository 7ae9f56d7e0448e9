/* SPDX-License-Identifier: MIT */
#include "vmm/coalesced.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/vm.h"

#define RING_PAGE_SIZE 4096u
#define RING_ENTRIES \
	((RING_PAGE_SIZE - sizeof(struct kvm_coalesced_mmio_ring)) / sizeof(struct kvm_coalesced_mmio))

void coalesced_init(struct vm *vm)
{
	memset(&vm->coalesced, 0, sizeof(vm->coalesced));
	vm->coalesced.timer_fd = -1;
	vm->coalesced.vcpu_fd = -1;
	pthread_mutex_init(&vm->coalesced.lock, NULL);
}

static void coalesced_on_timer(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t expirations;

	if (read(vm->coalesced.timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	coalesced_drain(vm);
}

static int coalesced_start_timer(struct vm *vm)
{
	struct itimerspec period = {
		.it_interval = { .tv_nsec = COALESCED_FLUSH_MS * 1000000L },
		.it_value = { .tv_nsec = COALESCED_FLUSH_MS * 1000000L },
	};

	vm->coalesced.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vm->coalesced.timer_fd < 0 || timerfd_settime(vm->coalesced.timer_fd, 0, &period, NULL) < 0)
		return -errno;
	return loop_add_fd(&vm->loop, vm->coalesced.timer_fd, EPOLLIN, coalesced_on_timer, vm);
}

/* Map the ring through a vCPU fd and start the flush timer; lock held. */
static int coalesced_map(struct vm *vm, int vcpu_fd)
{
	void *ring = mmap(NULL, RING_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd,
			  KVM_COALESCED_MMIO_PAGE_OFFSET * RING_PAGE_SIZE);

	if (ring == MAP_FAILED)
		return -errno;
	__atomic_store_n(&vm->coalesced.ring, ring, __ATOMIC_RELEASE);
	return coalesced_start_timer(vm);
}

int coalesced_add_pio(struct vm *vm, uint16_t port, uint32_t length)
{
	struct kvm_coalesced_mmio_zone zone = { .addr = port, .size = length, .pio = 1 };
	int rc = 0;

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0)
		return -ENOTSUP;
	pthread_mutex_lock(&vm->coalesced.lock);
	/* Registered while vCPUs run: map the ring first, so no write is missed. */
	if (!vm->coalesced.ring && vm->coalesced.vcpu_fd >= 0)
		rc = coalesced_map(vm, vm->coalesced.vcpu_fd);
	if (rc == 0 && ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		rc = -errno;
	if (rc == 0)
		vm->coalesced.zones++;
	pthread_mutex_unlock(&vm->coalesced.lock);
	return rc;
}

int coalesced_start(struct vm *vm, int vcpu_fd)
{
	int rc = 0;

	pthread_mutex_lock(&vm->coalesced.lock);
	vm->coalesced.vcpu_fd = vcpu_fd;
	if (vm->coalesced.zones && !vm->coalesced.ring)
		rc = coalesced_map(vm, vcpu_fd);
	pthread_mutex_unlock(&vm->coalesced.lock);
	return rc;
}

void coalesced_drain(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *ring = __atomic_load_n(&vm->coalesced.ring, __ATOMIC_ACQUIRE);

	if (!ring || __atomic_load_n(&ring->first, __ATOMIC_RELAXED) ==
		     __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&vm->coalesced.lock);
	uint32_t first = ring->first;

	while (first != __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE)) {
		struct kvm_coalesced_mmio *entry = &ring->coalesced_mmio[first % RING_ENTRIES];
		uint8_t data[8];
		uint32_t len = entry->len <= sizeof(data) ? entry->len : sizeof(data);

		memcpy(data, entry->data, len);
		bus_access(entry->pio ? &vm->pio_bus : &vm->mmio_bus, entry->phys_addr, true, data,
			   len);
		first = (first + 1) % RING_ENTRIES;
		/* Hand the slot back to KVM only after it has been consumed. */
		__atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vm->coalesced.lock);
}

void coalesced_destroy(struct vm *vm)
{
	if (vm->coalesced.timer_fd >= 0) {
		loop_remove_fd(&vm->loop, vm->coalesced.timer_fd);
		close(vm->coalesced.timer_fd);
	}
	if (vm->coalesced.ring)
		munmap(vm->coalesced.ring, RING_PAGE_SIZE);
	pthread_mutex_destroy(&vm->coalesced.lock);
	memset(&vm->coalesced, 0, sizeof(vm->coalesced));
	vm->coalesced.timer_fd = -1;
	vm->coalesced.vcpu_fd = -1;
}
