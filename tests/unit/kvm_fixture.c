/* SPDX-License-Identifier: MIT */
#include "kvm_fixture.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void kvm_fixture_open(struct vm *vm, uint64_t ram_size)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	ck_assert_msg(vm->kvm_fd >= 0, "/dev/kvm: %s", strerror(errno));
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	ck_assert_int_ge(vm->vm_fd, 0);
	ck_assert_int_eq(ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap), 0);
	ck_assert_int_eq(irq_init(vm), 0);
	ck_assert_int_eq(loop_init(&vm->loop), 0);
	pthread_mutex_init(&vm->slot_lock, NULL);
	coalesced_init(vm);
	bus_init(&vm->pio_bus, "pio");
	bus_init(&vm->mmio_bus, "mmio");
	if (ram_size)
		ck_assert_int_eq(guest_memory_alloc(&vm->ram, ram_size), 0);
}

void kvm_fixture_close(struct vm *vm)
{
	guest_memory_free(&vm->ram);
	bus_destroy(&vm->pio_bus);
	bus_destroy(&vm->mmio_bus);
	coalesced_destroy(vm);
	pthread_mutex_destroy(&vm->slot_lock);
	loop_destroy(&vm->loop);
	irq_destroy(vm);
	close(vm->vm_fd);
	close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}
