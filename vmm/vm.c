/* SPDX-License-Identifier: MIT */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "boot_protocol.h"
#include "devices/device.h"
#include "vmm/boot/elf.h"
#include "vmm/boot/linux.h"
#include "vmm/fdt.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/x86/cpuid.h"

/* Reserved IOAPIC routes for the split irqchip (userspace IOAPIC pins). */
#define SPLIT_IRQCHIP_ROUTES 24
/* Needed on Intel hosts for real mode; harmless elsewhere. Inside the MMIO hole. */
#define KVM_TSS_GPA 0xfffbd000ull

/*
 * Emulation failures (e.g. MOVDIR64B to a trapped DSA portal) exit to user
 * space with the instruction bytes, so vmm/x86/insn.c can complete them.
 * Optional: kernels before 5.14 lack the capability.
 */
static void vm_enable_emulation_exits(struct vm *vm)
{
#ifdef KVM_CAP_EXIT_ON_EMULATION_FAILURE
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = { 1 } };

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0 &&
	    ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		log_debug("KVM_ENABLE_CAP(EXIT_ON_EMULATION_FAILURE): %s", strerror(errno));
#endif
}

static int vm_open_kvm(struct vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int rc = -errno;

		log_error("/dev/kvm: %s%s", strerror(errno), errno == ENOENT ?
			  " (is the kvm module loaded?)" : errno == EACCES ?
			  " (add yourself to the kvm group or run as root)" : "");
		return rc;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		log_error("/dev/kvm: unsupported KVM API version");
		return -ENOTSUP;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		int rc = -errno;

		log_error("KVM_CREATE_VM: %s", strerror(errno));
		return rc;
	}
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (run_size <= 0) {
		log_error("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -ENOTSUP;
	}
	vm->vcpu_run_size = (size_t)run_size;
	vm_enable_emulation_exits(vm);
	return 0;
}

/*
 * Split irqchip: the LAPIC stays in the kernel (IPIs, timer, MSI delivery)
 * while PIC/IOAPIC would be ours. A full in-kernel irqchip costs 7-15 ms
 * per VM on these hosts for devices self-test images do not use.
 */
static int vm_setup_irqchip(struct vm *vm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_SPLIT_IRQCHIP, .args = { SPLIT_IRQCHIP_ROUTES },
	};

	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		int rc = -errno;

		log_error("KVM_ENABLE_CAP(SPLIT_IRQCHIP): %s", strerror(errno));
		return rc;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA) < 0)
		log_debug("KVM_SET_TSS_ADDR: %s (ignored)", strerror(errno));
	int rc = irq_init(vm);

	if (rc)
		log_error("interrupt routing: %s", strerror(-rc));
	return rc;
}

static bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
	return a < b + b_size && b < a + a_size;
}

static int vm_set_slot(struct vm *vm, int slot, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region region = {
		.slot = (uint32_t)slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -errno : 0;
}

int vm_add_ram_slot(struct vm *vm, uint64_t gpa, uint64_t size, void *host)
{
	int slot = -ENOSPC;

	if (!size || (size | gpa | (uintptr_t)host) & 0xfff || gpa + size < gpa)
		return -EINVAL;
	pthread_mutex_lock(&vm->slot_lock);
	for (int i = 0; i < VM_MAX_RAM_SLOTS; i++) {
		if (vm->ram_slots[i].size &&
		    ranges_overlap(gpa, size, vm->ram_slots[i].gpa, vm->ram_slots[i].size)) {
			slot = -EEXIST;
			break;
		}
		/* Slot 0 is main RAM, even before it is mapped. */
		if (i > 0 && !vm->ram_slots[i].size && slot == -ENOSPC)
			slot = i;
	}
	if (slot >= 0) {
		int rc = vm_set_slot(vm, slot, gpa, size, host);

		if (rc)
			slot = rc;
		else
			vm->ram_slots[slot] = (typeof(vm->ram_slots[0])){ .gpa = gpa, .size = size };
	}
	pthread_mutex_unlock(&vm->slot_lock);
	return slot;
}

int vm_remove_ram_slot(struct vm *vm, int slot)
{
	int rc = -EINVAL;

	pthread_mutex_lock(&vm->slot_lock);
	if (slot > 0 && slot < VM_MAX_RAM_SLOTS && vm->ram_slots[slot].size) {
		/* Size 0 deletes the slot in KVM. */
		rc = vm_set_slot(vm, slot, vm->ram_slots[slot].gpa, 0, NULL);
		vm->ram_slots[slot].size = 0;
	}
	pthread_mutex_unlock(&vm->slot_lock);
	return rc;
}

static int vm_setup_memory(struct vm *vm)
{
	int rc = guest_memory_alloc(&vm->ram, vm->config->memory);

	if (rc) {
		log_error("allocating %llu MiB of guest RAM: %s",
			  (unsigned long long)(vm->config->memory >> 20), strerror(-rc));
		return rc;
	}
	if ((rc = vm_set_slot(vm, 0, 0, vm->ram.size, vm->ram.base))) {
		log_error("KVM_SET_USER_MEMORY_REGION: %s", strerror(-rc));
		return rc;
	}
	vm->ram_slots[0].gpa = 0;
	vm->ram_slots[0].size = vm->ram.size;
	return 0;
}

static int vm_realize_devices(struct vm *vm)
{
	const struct vm_config *config = vm->config;

	for (size_t i = 0; i < config->device_count; i++) {
		struct device *dev = config->devices[i];

		/* Counted before realize so a partial realize is unrealized too. */
		vm->realized_devices = (unsigned)i + 1;
		int rc = dev->model->realize ? dev->model->realize(dev, vm) : 0;

		if (rc) {
			log_error("device '%s' (%s): %s", dev->name, dev->model->type, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* A Linux kernel: boot_params, initrd, the DTB as setup_data (vmm/boot/linux.h). */
static int vm_load_linux(struct vm *vm)
{
	const struct vm_config *config = vm->config;
	struct linux_image image;
	char error[512];
	int rc = linux_load_files(&vm->ram, config->kernel, config->initrd, config->cmdline,
				  vm->dtb, vm->dtb_size, &image, error, sizeof(error));

	if (rc) {
		log_error("%s", error);
		return rc;
	}
	vm->entry = image.entry;
	vm->boot_params_gpa = image.boot_params_gpa;
	log_debug("linux: %s%s, entry %#llx, kernel [%#llx, %#llx), initrd %llu bytes at %#llx, "
		  "%u e820 entries", image.bzimage ? "bzImage, boot protocol " : "vmlinux",
		  image.bzimage ? (image.protocol == 0x20f ? "2.15" : "2.12+") : "",
		  (unsigned long long)image.entry, (unsigned long long)image.kernel_start,
		  (unsigned long long)image.kernel_end, (unsigned long long)image.initrd_size,
		  (unsigned long long)image.initrd_start, image.e820_entries);
	if ((rc = linux_register_reset(vm)))
		log_error("keyboard-controller reset port: %s", strerror(-rc));
	return rc;
}

static int vm_load_guest(struct vm *vm)
{
	struct elf_image image;
	char error[512];
	int rc = fdt_build(vm->config, &vm->dtb, &vm->dtb_size);

	if (rc) {
		log_error("building the device tree: %s", strerror(-rc));
		return rc;
	}
	if (vm->dtb_size > X86_BOOT_DTB_MAX) {
		log_error("device tree is %zu bytes; at most %llu fit", vm->dtb_size,
			  (unsigned long long)X86_BOOT_DTB_MAX);
		return -E2BIG;
	}
	if (vm->config->kernel)
		return vm_load_linux(vm);
	memcpy(guest_memory_ptr(&vm->ram, X86_BOOT_DTB_GPA, vm->dtb_size), vm->dtb, vm->dtb_size);
	rc = elf_load_file(vm->config->image, &vm->ram, BOOT_RESERVED_END, &image, error,
			   sizeof(error));
	if (rc) {
		log_error("%s", error);
		return rc;
	}
	vm->entry = image.entry;
	rc = x86_boot_build(&vm->ram, vm->config->vcpus, vm->dtb_size, &vm->boot_layout);
	if (rc)
		log_error("building boot structures: %s", strerror(-rc));
	return rc;
}

static int vm_create_vcpus(struct vm *vm)
{
	int rc = x86_cpuid_get_supported(vm->kvm_fd, &vm->cpuid);

	if (rc) {
		log_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(-rc));
		return rc;
	}
	vm->vcpus = calloc(vm->config->vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->config->vcpus; i++) {
		vm->vcpus[i].fd = -1;
		rc = vcpu_create(vm, &vm->vcpus[i], i);
		vm->vcpu_count = i + 1;
		if (rc)
			return rc;
	}
	rc = coalesced_start(vm, vm->vcpus[0].fd);
	if (rc)
		log_error("coalesced I/O ring: %s", strerror(-rc));
	return rc;
}

static void vm_on_stop_event(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;

	loop_stop(&vm->loop);
}

static void vm_on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo info;

	if (read(vm->signal_fd, &info, sizeof(info)) != sizeof(info))
		return;
	log_info("stopping on signal %u", info.ssi_signo);
	vm_request_stop(vm, VM_STOP_SIGNAL, VMM_EXIT_SIGNAL_BASE + (int)info.ssi_signo);
}

/* The event loop owns the stop eventfd and the SIGINT/SIGTERM signalfd. */
static int vm_setup_loop(struct vm *vm)
{
	sigset_t set;
	int rc = loop_init(&vm->loop);

	if (rc)
		return rc;
	vm->stop_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	vm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->stop_eventfd < 0 || vm->signal_fd < 0)
		return -errno;
	if ((rc = loop_add_fd(&vm->loop, vm->stop_eventfd, EPOLLIN, vm_on_stop_event, vm)) ||
	    (rc = loop_add_fd(&vm->loop, vm->signal_fd, EPOLLIN, vm_on_signal, vm)))
		return rc;
	return 0;
}

int vm_create(struct vm *vm, const struct vm_config *config)
{
	int rc;

	*vm = (struct vm){ .config = config, .kvm_fd = -1, .vm_fd = -1, .stop_eventfd = -1,
			   .signal_fd = -1 };
	atomic_init(&vm->stop_reason, VM_RUNNING);
	pthread_mutex_init(&vm->slot_lock, NULL);
	coalesced_init(vm);
	x86_insn_state_init(&vm->insn_state);
	bus_init(&vm->pio_bus, "pio");
	bus_init(&vm->mmio_bus, "mmio");
	if ((rc = vm_setup_loop(vm))) {
		log_error("event loop: %s", strerror(-rc));
		return rc;
	}
	if ((rc = vm_open_kvm(vm)) || (rc = vm_setup_irqchip(vm)) || (rc = vm_setup_memory(vm)) ||
	    (rc = vm_realize_devices(vm)) || (rc = vm_load_guest(vm)) ||
	    (rc = vm_create_vcpus(vm)))
		return rc;
	return 0;
}

int vm_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int status)
{
	int expected = VM_RUNNING;

	if (!atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)reason))
		return;
	vm->stop_status = status;
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		vcpu_kick(&vm->vcpus[i]);
	uint64_t one = 1;

	if (write(vm->stop_eventfd, &one, sizeof(one)) < 0)
		log_debug("stop eventfd: %s", strerror(errno));
}

/* Guest RAM pages the host has backed, in KiB (mincore over RAM). */
static uint64_t vm_guest_resident_kib(const struct vm *vm)
{
	const size_t page = 4096, chunk_pages = 4096;
	unsigned char residency[4096];
	uint64_t resident = 0;

	for (uint64_t offset = 0; offset < vm->ram.size; offset += chunk_pages * page) {
		uint64_t left = vm->ram.size - offset;
		size_t len = left < chunk_pages * page ? (size_t)left : chunk_pages * page;

		if (mincore(vm->ram.base + offset, len, residency) < 0)
			return 0;
		for (size_t i = 0; i < (len + page - 1) / page; i++)
			resident += residency[i] & 1;
	}
	return resident * (page / 1024);
}

/*
 * Peak RSS beyond guest RAM is what the VMM itself costs; guest pages are
 * the guest's. Logged at debug level; scripts/bench.sh reads it.
 */
static void vm_report_usage(const struct vm *vm)
{
	struct rusage usage;

	if (log_get_level() < LOG_DEBUG || getrusage(RUSAGE_SELF, &usage) < 0)
		return;
	uint64_t guest = vm_guest_resident_kib(vm);

	log_debug("usage: peak_rss_kib=%ld guest_resident_kib=%llu vmm_kib=%lld", usage.ru_maxrss,
		  (unsigned long long)guest, (long long)usage.ru_maxrss - (long long)guest);
}

/*
 * Instructions the VMM completed for KVM (vmm/x86/insn.h), by kind: at info
 * level for Linux boots (scripts/bench-linux.sh reads it), debug otherwise.
 */
static void vm_report_completions(const struct vm *vm)
{
	char counts[512];

	x86_insn_format_counts(&vm->insn_state, counts, sizeof(counts));
	if (vm->config->kernel)
		log_info("completed instructions: %s", counts);
	else
		log_debug("completed instructions: %s", counts);
}

int vm_run(struct vm *vm)
{
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		int rc = vcpu_start(&vm->vcpus[i]);

		if (rc) {
			log_error("starting vcpu %u: %s", i, strerror(-rc));
			vm_request_stop(vm, VM_STOP_VMM_ERROR, VMM_EXIT_ERROR);
			break;
		}
	}
	/* This thread is the event thread until the VM stops. */
	int rc = loop_run(&vm->loop);

	if (rc) {
		log_error("event loop: %s", strerror(-rc));
		vm_request_stop(vm, VM_STOP_VMM_ERROR, VMM_EXIT_ERROR);
	}
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		vcpu_join(&vm->vcpus[i]);
	coalesced_drain(vm); /* writes queued after the last exit */
	for (unsigned i = 0; i < vm->realized_devices; i++) {
		struct device *dev = vm->config->devices[i];

		if (dev->model->stop)
			dev->model->stop(dev);
	}
	vm_report_usage(vm);
	vm_report_completions(vm);
	return vm->stop_status;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		vcpu_join(&vm->vcpus[i]);
		vcpu_destroy(&vm->vcpus[i]);
	}
	for (unsigned i = vm->realized_devices; i-- > 0;) {
		struct device *dev = vm->config->devices[i];

		if (dev->model->unrealize)
			dev->model->unrealize(dev, vm);
	}
	vm->realized_devices = 0;
	coalesced_destroy(vm);
	irq_destroy(vm);
	loop_destroy(&vm->loop);
	pthread_mutex_destroy(&vm->slot_lock);
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	vm->signal_fd = -1;
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->vcpu_count = 0;
	free(vm->cpuid);
	free(vm->dtb);
	vm->cpuid = NULL;
	vm->dtb = NULL;
	bus_destroy(&vm->pio_bus);
	bus_destroy(&vm->mmio_bus);
	guest_memory_free(&vm->ram);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_eventfd >= 0)
		close(vm->stop_eventfd);
	vm->vm_fd = vm->kvm_fd = vm->stop_eventfd = -1;
}
