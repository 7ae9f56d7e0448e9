/* SPDX-License-Identifier: MIT */
/*
 * Constants shared by the firmware's assembly and C code.
 *
 * Usable from .S files (no C declarations here).
 */
#ifndef FW_LAYOUT_H
#define FW_LAYOUT_H

#include "boot_protocol.h"

/* GDT selectors: the VMM's, which the PVH entry reproduces. */
#define FW_SEL_KERNEL_CODE BOOT_SEL_KERNEL_CODE
#define FW_SEL_KERNEL_DATA BOOT_SEL_KERNEL_DATA
#define FW_SEL_USER_DATA   BOOT_SEL_USER_DATA
#define FW_SEL_USER_CODE   BOOT_SEL_USER_CODE
#define FW_SEL_TSS0        BOOT_SEL_TSS(0)

/* Most vCPUs the firmware keeps per-CPU state for. */
#define FW_MAX_CPUS 64

/* struct fw_percpu (fw/cpu.h): FS base of each CPU points at its entry. */
#define FW_PERCPU_SHIFT       7 /* 128 bytes per CPU */
#define FW_PERCPU_SIZE        (1 << FW_PERCPU_SHIFT)
#define FW_PERCPU_SELF        0x00
#define FW_PERCPU_CPU         0x08
#define FW_PERCPU_ONLINE      0x0c
#define FW_PERCPU_STACK_GUARD 0x28 /* gcc's -fstack-protector reads %fs:0x28 */

/* Stacks. */
#define FW_USER_STACK_SIZE  0x10000 /* CPU 0's CPL 3 stack (test bodies) */
#define FW_FATAL_STACK_SIZE 0x4000  /* CPL 3 stack of the fatal reporter */
#define FW_PVH_KSTACK_SIZE  0x2000  /* PVH only: CPL 0 stack (TSS.RSP0) */
#define FW_PVH_DFSTACK_SIZE 0x1000  /* PVH only: #DF stack (TSS.IST1) */

/* Architectural bits used by the entry code. */
#define FW_MSR_EFER     0xc0000080
#define FW_MSR_FS_BASE  0xc0000100
#define FW_EFER_LME     (1 << 8)
#define FW_CR0_PE       (1 << 0)
#define FW_CR0_MP       (1 << 1)
#define FW_CR0_EM       (1 << 2)
#define FW_CR0_NE       (1 << 5)
#define FW_CR0_WP       (1 << 16)
#define FW_CR0_PG       (1 << 31)
#define FW_CR4_PAE      (1 << 5)
#define FW_CR4_OSFXSR   (1 << 9)
#define FW_CR4_OSXMMEXCPT (1 << 10)
#define FW_RFLAGS_FIXED 0x2
#define FW_RFLAGS_IF    0x200

/* TSS (64-bit): I/O permission bitmap right after the 104-byte header. */
#define FW_TSS_RSP0      4
#define FW_TSS_IST1      36
#define FW_TSS_IOPB      102
#define FW_TSS_HDR_SIZE  104
#define FW_TSS_IOMAP_SIZE 8192
#define FW_TSS_LIMIT     (FW_TSS_HDR_SIZE + FW_TSS_IOMAP_SIZE) /* incl. 0xff end byte */
#define FW_TSS_SIZE      (FW_TSS_LIMIT + 1)

/* Exception frame (struct fw_exc_frame in fw/cpu.h), offsets from its base. */
#define FW_EXC_FRAME_GPRS 16 /* cr2 + 15 general registers, 8 bytes each */

/* PVH: struct hvm_start_info magic. */
#define FW_PVH_START_MAGIC 0x336ec578

/* Xen ELF note type of the 32-bit PVH entry point. */
#define FW_XEN_ELFNOTE_PHYS32_ENTRY 18

#endif
