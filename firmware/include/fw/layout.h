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

/* struct fw_percpu (fw/cpu.h): FS base of each CPU points at its entry. One
 * page per CPU: the CPL 0 interrupt stubs address it through %fs. */
#define FW_PERCPU_SHIFT       12 /* 4 KiB per CPU */
#define FW_PERCPU_SIZE        (1 << FW_PERCPU_SHIFT)
#define FW_PERCPU_SELF        0x00
#define FW_PERCPU_CPU         0x08
#define FW_PERCPU_ONLINE      0x0c
#define FW_PERCPU_APIC_ID     0x10
#define FW_PERCPU_READY       0x14
#define FW_PERCPU_IRQ_TSC     0x18 /* low 32 bits of rdtsc, stamped by the timestamping stubs */
#define FW_PERCPU_IRQ_ON      0x1c /* RFLAGS.IF at CPL 3, kept by the enable/disable calls */
#define FW_PERCPU_STACK_GUARD 0x28 /* gcc's -fstack-protector reads %fs:0x28 */
#define FW_PERCPU_SMP         0x40 /* struct fw_smp_mailbox */
#define FW_PERCPU_IRQ_COUNT   0x400 /* uint32_t irq_count[256], incremented at CPL 0 */
#define FW_PERCPU_IRQ_SEEN    0x800 /* uint32_t irq_seen[256], CPL 3 callback bookkeeping */

/* Interrupt vectors the firmware itself uses (see fw/irq.h). */
#define FW_VEC_FIRST_IRQ  32   /* vectors 32-255 count and EOI at CPL 0 */
#define FW_VEC_WAKE       0xf0 /* SMP wake-up and completion IPIs */
#define FW_VEC_SPURIOUS   0xff /* LAPIC spurious vector (SVR): counted, no EOI */

/* xAPIC (MMIO, mapped uncached and user-accessible by the boot page tables). */
#define FW_LAPIC_BASE       0xfee00000
#define FW_APIC_ID          0x020
#define FW_APIC_VERSION     0x030
#define FW_APIC_TPR         0x080
#define FW_APIC_EOI         0x0b0
#define FW_APIC_LDR         0x0d0
#define FW_APIC_SVR         0x0f0
#define FW_APIC_ISR         0x100
#define FW_APIC_TMR         0x180
#define FW_APIC_IRR         0x200
#define FW_APIC_ESR         0x280
#define FW_APIC_ICR_LO      0x300
#define FW_APIC_ICR_HI      0x310
#define FW_APIC_LVT_TIMER   0x320
#define FW_APIC_LVT_THERMAL 0x330
#define FW_APIC_LVT_PMC     0x340
#define FW_APIC_LVT_LINT0   0x350
#define FW_APIC_LVT_LINT1   0x360
#define FW_APIC_LVT_ERROR   0x370
#define FW_APIC_TIMER_INIT  0x380
#define FW_APIC_TIMER_CUR   0x390
#define FW_APIC_TIMER_DIV   0x3e0
#define FW_APIC_SVR_ENABLE  0x100

/* Secondary CPUs' CPL 3 stacks (firmware/smp.c), one per CPU 1..FW_MAX_CPUS-1. */
#define FW_AP_STACK_SHIFT 14 /* 16 KiB */
#define FW_AP_STACK_SIZE  (1 << FW_AP_STACK_SHIFT)

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
