/* SPDX-License-Identifier: MIT */
/*
 * The contract between the VMM and a self-test image at entry.
 *
 * Shared by the VMM (which builds the state) and firmware/ (which relies on
 * it), so both sides are compiled against one definition. Freestanding: no
 * libc headers beyond <stdint.h>; the constants are usable from assembly.
 *
 * Entry state of every vCPU (all of them start at the ELF entry point):
 *   - 64-bit long mode, CPL 0, RFLAGS = 0x2 (interrupts off)
 *   - CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|OSFXSR|OSXMMEXCPT (SSE usable),
 *     EFER = SCE|LME|LMA|NXE
 *   - CR3 = identity map of [0, 4 GiB) with 2 MiB pages, user-accessible,
 *     writable; MMIO above RAM mapped uncached (PCD)
 *   - GDT as laid out below, TR = this CPU's TSS, IDTR = an all-zero
 *     (not present) 256-entry IDT; the image fills it or loads its own
 *   - TSS I/O permission bitmap allows every port, so CPL 3 may use in/out
 *   - TSS.RSP0 = TSS.IST1 = top of this CPU's boot stack; RSP = same
 *   - RDI = guest-physical address of the DTB
 *   - RSI = guest-physical address of struct boot_info
 *   - RDX = CPU index (0 .. cpu_count-1)
 *
 * Everything below BOOT_RESERVED_END belongs to the VMM; ELF segments must
 * load at or above it. PT_LOAD segments are loaded by p_paddr and the part
 * past p_filesz (.bss) is zeroed.
 */
#ifndef BOOT_PROTOCOL_H
#define BOOT_PROTOCOL_H

#define BOOT_INFO_MAGIC   0x424d4d56u /* "VMMB" little-endian */
#define BOOT_INFO_VERSION 1u

#define BOOT_RESERVED_END 0x100000ull /* first 1 MiB */

/* GDT selectors. */
#define BOOT_SEL_KERNEL_CODE 0x08
#define BOOT_SEL_KERNEL_DATA 0x10
#define BOOT_SEL_USER_DATA   0x23 /* entry 4, RPL 3 */
#define BOOT_SEL_USER_CODE   0x2b /* entry 5, RPL 3 */
#define BOOT_SEL_TSS(cpu)    (0x30 + 16 * (cpu))

#ifndef __ASSEMBLER__
#include <stdint.h>

struct boot_info {
	uint32_t magic;        /* BOOT_INFO_MAGIC */
	uint32_t version;      /* BOOT_INFO_VERSION */
	uint32_t size;         /* sizeof(struct boot_info) as built */
	uint32_t cpu_count;
	uint64_t ram_size;     /* RAM is [0, ram_size) */
	uint64_t dtb_gpa;
	uint64_t dtb_size;
	uint64_t gdt_gpa;
	uint64_t idt_gpa;      /* 256 x 16-byte gates, all zero at entry */
	uint64_t tss_gpa;      /* TSS of CPU n at tss_gpa + n * tss_stride */
	uint32_t tss_stride;
	uint32_t stack_size;   /* boot stack per CPU */
	uint64_t stacks_gpa;   /* stack of CPU n is [stacks_gpa + n*size, +size) */
	uint64_t page_table_gpa;
};
#endif /* __ASSEMBLER__ */

#endif
