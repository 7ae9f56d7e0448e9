/* SPDX-License-Identifier: MIT */
#include "vmm/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/ioapic.h"
#include "vmm/boot/linux.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/x86/cpuid.h"
#include "vmm/x86/insn.h"

/* The kick signal only interrupts KVM_RUN; its handler does nothing. */
#define VCPU_KICK_SIGNAL SIGUSR1

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned index)
{
	int rc;

	*vcpu = (struct vcpu){ .vm = vm, .index = index, .fd = -1 };
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0) {
		rc = -errno;
		log_error("vcpu %u: KVM_CREATE_VCPU: %s", index, strerror(errno));
		return rc;
	}
	vcpu->run = mmap(NULL, vm->vcpu_run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		rc = -errno;
		vcpu->run = NULL;
		log_error("vcpu %u: mmap kvm_run: %s", index, strerror(errno));
		return rc;
	}
	if ((rc = x86_cpuid_set_vcpu(vcpu->fd, vm->cpuid, index))) {
		log_error("vcpu %u: KVM_SET_CPUID2: %s", index, strerror(-rc));
		return rc;
	}
	rc = vm->config->kernel ? linux_init_vcpu(vcpu->fd, index, vm->entry, vm->boot_params_gpa) :
		x86_boot_init_vcpu(vcpu->fd, &vm->boot_layout, index, vm->entry);
	if (rc) {
		log_error("vcpu %u: setting entry registers: %s", index, strerror(-rc));
		return rc;
	}
	/*
	 * With the in-kernel LAPIC, KVM parks every vCPU but the first in
	 * wait-for-SIPI. Self-test images start all CPUs at the entry point;
	 * Linux wakes its APs itself.
	 */
	if (vm->config->kernel)
		return 0;
	struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &runnable) < 0) {
		rc = -errno;
		log_error("vcpu %u: KVM_SET_MP_STATE: %s", index, strerror(errno));
		return rc;
	}
	return 0;
}

static uint64_t vcpu_rip(const struct vcpu *vcpu)
{
	struct kvm_regs regs;

	return ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ? ~0ull : regs.rip;
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* String I/O (rep outsb...) arrives as count back-to-back elements. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (bus_access(&vcpu->vm->pio_bus, run->io.port, is_write, data, run->io.size))
			continue;
		log_debug("vcpu %u: unhandled port %s %#x size %u at rip=%#llx", vcpu->index,
			  is_write ? "write" : "read", run->io.port, run->io.size,
			  (unsigned long long)vcpu_rip(vcpu));
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (bus_access(&vcpu->vm->mmio_bus, run->mmio.phys_addr, run->mmio.is_write,
		       run->mmio.data, run->mmio.len))
		return;
	log_debug("vcpu %u: unhandled MMIO %s %#llx size %u at rip=%#llx", vcpu->index,
		  run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr,
		  run->mmio.len, (unsigned long long)vcpu_rip(vcpu));
}

/* Register dump for the fatal-exit report. */
static void vcpu_report_state(const struct vcpu *vcpu)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return;
	log_error("vcpu %u: rip=%#llx rsp=%#llx rflags=%#llx cs=%#x cpl=%u cr0=%#llx cr2=%#llx "
		  "cr3=%#llx cr4=%#llx efer=%#llx", vcpu->index, (unsigned long long)regs.rip,
		  (unsigned long long)regs.rsp, (unsigned long long)regs.rflags, sregs.cs.selector,
		  sregs.cs.dpl, (unsigned long long)sregs.cr0, (unsigned long long)sregs.cr2,
		  (unsigned long long)sregs.cr3, (unsigned long long)sregs.cr4,
		  (unsigned long long)sregs.efer);
}

static void vcpu_report_internal_error(const struct vcpu *vcpu)
{
	const struct kvm_run *run = vcpu->run;
	char bytes[256] = "";
	size_t used = 0;

	for (uint32_t i = 0; i < run->internal.ndata && i < 16 && used < sizeof(bytes); i++) {
		int n = snprintf(bytes + used, sizeof(bytes) - used, " %#llx",
				 (unsigned long long)run->internal.data[i]);
		used += n > 0 ? (size_t)n : 0;
	}
	log_error("vcpu %u: KVM internal error, suberror %u%s; data:%s", vcpu->index,
		  run->internal.suberror,
		  run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			  " (instruction emulation failed)" : "", bytes);
}

/* Returns false when this vCPU must stop. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_IOAPIC_EOI:
		if (vcpu->vm->ioapic)
			ioapic_eoi(vcpu->vm->ioapic, run->eoi.vector);
		return true;
	case KVM_EXIT_SHUTDOWN:
		log_error("vcpu %u: guest shut down (triple fault)", vcpu->index);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		/* MOVDIR64B/ENQCMD to a trapped portal end here: complete them. */
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && x86_insn_complete(vcpu))
			return true;
		vcpu_report_internal_error(vcpu);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vcpu %u: VM entry failed, hardware reason %#llx", vcpu->index,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_HLT:
		log_error("vcpu %u: halted with no interrupt source", vcpu->index);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		/* A reset or power-off the guest asked for is a clean end (docs/usage.md). */
		log_info("vcpu %u: system event %u (shutdown/reset): stopping", vcpu->index,
			 run->system_event.type);
		vm_request_stop(vcpu->vm, VM_STOP_GUEST_RESET, VMM_EXIT_RESET);
		return false;
	default:
		log_error("vcpu %u: unexpected KVM exit reason %u", vcpu->index, run->exit_reason);
		break;
	}
	vcpu_report_state(vcpu);
	vm_request_stop(vcpu->vm, VM_STOP_GUEST_FAULT, VMM_EXIT_GUEST_FAULT);
	return false;
}

static void *vcpu_thread(void *opaque)
{
	struct vcpu *vcpu = opaque;
	struct vm *vm = vcpu->vm;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	while (!vm_stopping(vm)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_error("vcpu %u: KVM_RUN: %s", vcpu->index, strerror(errno));
			vm_request_stop(vm, VM_STOP_VMM_ERROR, VMM_EXIT_ERROR);
			break;
		}
		/* Queued writes happened before this exit: replay them first. */
		coalesced_drain(vm);
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

static void vcpu_kick_handler(int signo)
{
	(void)signo;
}

int vcpu_start(struct vcpu *vcpu)
{
	struct sigaction action = { .sa_handler = vcpu_kick_handler };

	/* No SA_RESTART: the point is to make KVM_RUN return EINTR. */
	sigemptyset(&action.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &action, NULL) < 0)
		return -errno;
	int rc = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (rc)
		return -rc;
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	/* The caller's own vCPU checks vm_stopping() after this exit anyway. */
	if (!vcpu->thread_started || pthread_equal(vcpu->thread, pthread_self()))
		return;
	/* immediate_exit covers the window before the thread re-enters KVM_RUN. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->thread_started)
		pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->vcpu_run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
