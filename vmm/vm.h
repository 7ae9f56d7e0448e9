/* SPDX-License-Identifier: MIT */
/*
 * One virtual machine: the KVM VM fd, guest RAM, the PIO/MMIO buses, its
 * vCPUs and devices, and how it stops. Everything is reached through an
 * explicit struct vm *; two VMs in one process are fine.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/coalesced.h"
#include "vmm/config/config.h"
#include "vmm/irq.h"
#include "vmm/loop.h"
#include "vmm/memory.h"
#include "vmm/x86/boot_state.h"
#include "vmm/x86/insn.h"

struct vcpu;
struct kvm_cpuid2;
struct pci_host;
struct ioapic;
struct vfio_iommufd;

/*
 * Process exit status of `vmm run`. A guest exit-port write gives
 * (value << 1) | 1, which is always odd; the VMM's own outcomes are even.
 */
#define VMM_EXIT_RESET        0   /* the guest reset the machine (Linux: reboot, panic=-1) */
#define VMM_EXIT_ERROR        2   /* config, image, KVM or host failure */
#define VMM_EXIT_GUEST_FAULT  4   /* triple fault, emulation failure, bad entry */
#define VMM_EXIT_SIGNAL_BASE  128 /* + signal number: stopped by SIGINT/SIGTERM */

#define VM_MAX_RAM_SLOTS 32

enum vm_stop_reason {
	VM_RUNNING,
	VM_STOP_GUEST_EXIT,   /* the guest wrote the exit port */
	VM_STOP_GUEST_FAULT,  /* the guest cannot continue */
	VM_STOP_GUEST_RESET,  /* the guest asked for a reset (vmm/boot/linux.h) */
	VM_STOP_SIGNAL,       /* SIGINT/SIGTERM */
	VM_STOP_VMM_ERROR,    /* a host-side failure while running */
};

struct vm {
	const struct vm_config *config;
	int kvm_fd;
	int vm_fd;
	size_t vcpu_run_size;        /* mmap size of struct kvm_run */
	struct guest_memory ram;
	struct bus pio_bus;
	struct bus mmio_bus;
	struct irq_routing irq;
	struct coalesced_ring coalesced;
	struct event_loop loop;      /* serviced by the thread in vm_run() */
	struct pci_host *pci_host;   /* set by the pci-host device, if configured */
	struct x86_insn_targets insn_targets; /* 64-byte store targets (vmm/x86/insn.h) */
	struct x86_insn_state insn_state;     /* completer: XSAVE layout, counts by kind */
	struct ioapic *ioapic;       /* set by the ioapic device, if configured */
	struct vfio_iommufd *vfio_iommufd; /* shared by passed-through devices (devices/vfio/) */
	struct kvm_cpuid2 *cpuid;    /* supported CPUID, adjusted per vCPU */
	struct vcpu *vcpus;
	unsigned vcpu_count;
	struct x86_boot_layout boot_layout;
	uint64_t entry;
	uint64_t boot_params_gpa;    /* Linux boot: RSI at entry (vmm/boot/linux.h) */
	void *dtb;
	size_t dtb_size;
	unsigned realized_devices;   /* how many of config->devices to stop */
	struct {
		uint64_t gpa, size;  /* size 0: free; slot 0 is main RAM */
	} ram_slots[VM_MAX_RAM_SLOTS];
	pthread_mutex_t slot_lock;

	/* Stopping: the first reason wins; stop_eventfd wakes the main thread. */
	atomic_int stop_reason;
	int stop_status;
	int stop_eventfd;
	int signal_fd;               /* SIGINT/SIGTERM, blocked in every thread */
};

/*
 * Build a VM from config: KVM VM, RAM, devices, DTB, image, boot state,
 * vCPUs. Logs what failed and returns -errno; vm_destroy() is safe after a
 * failure.
 */
int vm_create(struct vm *vm, const struct vm_config *config);

/*
 * Run until the guest exits, faults, or SIGINT/SIGTERM arrives (the caller
 * must have blocked those in every thread; see vm_block_signals()). Returns
 * the process exit status.
 */
int vm_run(struct vm *vm);

void vm_destroy(struct vm *vm);

/* Block SIGINT/SIGTERM in the calling thread (call before vm_create). */
int vm_block_signals(void);

/*
 * Map host memory at gpa as a KVM memslot outside main RAM: device pages
 * (submission portals) the guest writes with plain stores and no exit.
 * host and size must be page-aligned. Returns the slot number or -errno
 * (-EEXIST if it overlaps RAM or another slot).
 */
int vm_add_ram_slot(struct vm *vm, uint64_t gpa, uint64_t size, void *host);
int vm_remove_ram_slot(struct vm *vm, int slot);

/* Ask every vCPU to stop; callable from any thread, idempotent. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int status);

static inline bool vm_stopping(struct vm *vm)
{
	return atomic_load_explicit(&vm->stop_reason, memory_order_acquire) != VM_RUNNING;
}

#endif
