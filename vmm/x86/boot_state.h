/* SPDX-License-Identifier: MIT */
/*
 * The machine state a self-test image is entered with (see
 * include/boot_protocol.h): page tables, GDT, TSS with I/O bitmap, an empty
 * IDT and struct boot_info in the VMM-reserved first MiB, and the per-vCPU
 * registers that point at them.
 */
#ifndef VMM_X86_BOOT_STATE_H
#define VMM_X86_BOOT_STATE_H

#include <stdint.h>

#include "vmm/memory.h"

#define X86_BOOT_DTB_GPA  0xc0000ull
#define X86_BOOT_DTB_MAX  0x40000ull /* up to BOOT_RESERVED_END */

struct x86_boot_layout {
	unsigned cpu_count;
	uint64_t boot_info_gpa;
	uint64_t gdt_gpa;
	uint16_t gdt_limit;
	uint64_t idt_gpa;
	uint64_t page_table_gpa;
	uint64_t tss_gpa;
	uint32_t tss_stride;
	uint64_t stacks_gpa;
	uint32_t stack_size;
	uint64_t dtb_gpa;
};

/*
 * Write the boot structures for cpu_count vCPUs into guest memory. The DTB
 * (dtb_size bytes) must already be at X86_BOOT_DTB_GPA. Returns 0 or -EINVAL
 * when RAM is too small or there are too many vCPUs.
 */
int x86_boot_build(const struct guest_memory *mem, unsigned cpu_count, uint64_t dtb_size,
		   struct x86_boot_layout *layout);

/* Set registers of one vCPU for entry at `entry`. Returns 0 or -errno. */
int x86_boot_init_vcpu(int vcpu_fd, const struct x86_boot_layout *layout, unsigned cpu,
		       uint64_t entry);

#endif
