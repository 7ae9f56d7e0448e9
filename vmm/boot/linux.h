/* SPDX-License-Identifier: MIT */
/*
 * Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst).
 *
 * Two kinds of kernel file, told apart by their first bytes:
 *  - bzImage: the setup header at 0x1f1 ("HdrS" at 0x202) is copied into
 *    boot_params; the protected-mode kernel after the setup sectors loads at
 *    1 MiB and is entered at its 64-bit entry (load address + 0x200).
 *    Needs boot protocol 2.12 or later with XLF_KERNEL_64.
 *  - vmlinux: an x86-64 ELF whose PT_LOAD segments load at their physical
 *    addresses; it carries no setup header, so boot_params is built from
 *    scratch. Entered at e_entry (physical; a __START_KERNEL_map address is
 *    translated).
 *
 * Guest-physical layout below 1 MiB (Linux reserves that range for itself
 * once it runs): GDT, TSS, boot_params (the zero page), the command line,
 * identity page tables for the first 4 GiB, and the DTB as a SETUP_DTB
 * setup_data node. The initrd goes at the top of RAM below the kernel's
 * initrd_addr_max. The e820 map: RAM below the EBDA, RAM from 1 MiB to the
 * end of RAM, reserved EBDA/BIOS areas, the PCI ECAM window and the IOAPIC
 * and local APIC pages.
 *
 * Every kernel and initrd byte is untrusted: a malformed file gets an error
 * message saying what is wrong and what would be valid, never a crash.
 */
#ifndef VMM_BOOT_LINUX_H
#define VMM_BOOT_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

struct vm;

#define LINUX_GDT_GPA          0x1000ull
#define LINUX_TSS_GPA          0x2000ull
#define LINUX_BOOT_PARAMS_GPA  0x7000ull
#define LINUX_PML4_GPA         0x9000ull  /* + PDPT 0xa000, four PDs 0xb000-0xefff */
#define LINUX_CMDLINE_GPA      0x20000ull
#define LINUX_CMDLINE_MAX      0x10000ull
#define LINUX_SETUP_DATA_GPA   0x30000ull /* setup_data header + DTB, up to 0x9fc00 */
#define LINUX_KERNEL_LOAD_GPA  0x100000ull
#define LINUX_BOOT_CS          0x10
#define LINUX_BOOT_DS          0x18
#define LINUX_BOOT_TR          0x20

/* Keyboard-controller reset: writing 0xfe to port 0x64 ends the VM. */
#define LINUX_KBC_PORT         0x64
#define LINUX_KBC_RESET        0xfe

struct linux_boot_args {
	const uint8_t *kernel;
	size_t kernel_size;
	const uint8_t *initrd;      /* NULL: none */
	size_t initrd_size;
	const char *cmdline;        /* NULL: empty */
	const void *dtb;            /* NULL: no setup_data */
	size_t dtb_size;
};

struct linux_image {
	bool bzimage;
	uint16_t protocol;          /* bzImage boot protocol (0x20f = 2.15); 0 for vmlinux */
	uint64_t entry;             /* 64-bit entry, guest-physical */
	uint64_t boot_params_gpa;
	uint64_t kernel_start;      /* loaded image */
	uint64_t kernel_end;        /* end of what the kernel needs (bzImage: init_size) */
	uint64_t initrd_start;
	uint64_t initrd_size;
	unsigned e820_entries;
};

/*
 * Lay out a Linux boot in guest memory from in-memory files. Returns 0, or
 * -ENOEXEC (not a kernel, protocol too old, malformed), -E2BIG (something
 * does not fit: RAM, command line, initrd, DTB) with error set.
 */
int linux_load(const struct guest_memory *mem, const struct linux_boot_args *args,
	       struct linux_image *image, char *error, size_t error_size);

/* Same, reading the kernel and initrd files (errors name them). */
int linux_load_files(const struct guest_memory *mem, const char *kernel_path,
		     const char *initrd_path, const char *cmdline, const void *dtb,
		     size_t dtb_size, struct linux_image *image, char *error, size_t error_size);

/*
 * Registers for the 64-bit entry (RSI = boot_params) on the boot processor;
 * nothing for the others, which wait for Linux's INIT/SIPI. 0 or -errno.
 */
int linux_init_vcpu(int vcpu_fd, unsigned index, uint64_t entry, uint64_t boot_params_gpa);

/*
 * The reset paths Linux takes (reboot, panic=-1): a keyboard-controller
 * port whose status reads "ready" and whose reset command stops the VM
 * with VM_STOP_GUEST_RESET. Before the vCPUs run.
 */
int linux_register_reset(struct vm *vm);

#endif
