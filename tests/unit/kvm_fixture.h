/* SPDX-License-Identifier: MIT */
/*
 * A real KVM VM for unit tests of code that needs routes, memslots, buses or
 * the event loop: split irqchip, no vCPUs, optional RAM. /dev/kvm is
 * required (these machines and CI have it; faking KVM would test nothing).
 */
#ifndef TESTS_UNIT_KVM_FIXTURE_H
#define TESTS_UNIT_KVM_FIXTURE_H

#include <stdint.h>

#include "vmm/vm.h"

/* Fails the running test if KVM refuses. ram_size 0: no guest RAM. */
void kvm_fixture_open(struct vm *vm, uint64_t ram_size);
void kvm_fixture_close(struct vm *vm);

#endif
