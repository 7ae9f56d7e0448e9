/* SPDX-License-Identifier: MIT */
/*
 * Entry points of a self-test image.
 *
 *  _start          64-bit entry of the VMM boot protocol (include/boot_protocol.h):
 *                  CPL 0, RDI = DTB gpa, RSI = struct boot_info gpa, RDX = CPU index.
 *  fw_pvh_start32  32-bit PVH entry (Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY), used by
 *                  QEMU's -kernel: builds page tables, GDT and TSS, enters long mode
 *                  and joins _start with DTB = 0 and a boot_info of its own.
 *
 * Every instruction at CPL 0 is emulated on the project's machines (~1.5 us
 * each, see shared/reference/kvm-here.md), so CPL 0 does only what needs CPL 0:
 * load the IDTR (the IDT itself is filled in later at CPL 3, see cpu.c), enable
 * SSE, set the FS base to the per-CPU area, and iretq to CPL 3.
 */
#include "fw/layout.h"

/* ------------------------------------------------------------------------ */
/* PVH ELF note: name "Xen", type 18, 32-bit physical entry address.        */

	.section .note.Xen, "a", @note
	.balign 4
	.long	4				/* namesz */
	.long	4				/* descsz */
	.long	FW_XEN_ELFNOTE_PHYS32_ENTRY	/* type */
	.asciz	"Xen"
	.long	fw_pvh_start32			/* desc: 32-bit entry */
	/* QEMU 7.2 reads this desc as a size_t (8 bytes): image.ld puts 4 zero
	 * bytes right after the note, outside the PT_NOTE segment. */

/* ------------------------------------------------------------------------ */
/* 64-bit entry.                                                            */

	.section .text.entry, "ax"
	.code64
	.globl	_start
	.type	_start, @function
_start:
	lidt	fw_idt_desc(%rip)
	test	%edx, %edx
	jnz	.Lsecondary

	/* SSE for CPL 3 code (gcc may use it; CR0.EM/TS are clear per contract). */
	mov	%cr4, %rax
	or	$(FW_CR4_OSFXSR | FW_CR4_OSXMMEXCPT), %eax
	mov	%rax, %cr4

	/* Data selectors with DPL 3, so iretq to CPL 3 does not null them (and
	 * with them, on some CPUs, the FS base). */
	mov	$FW_SEL_USER_DATA, %eax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs

	/* FS base = CPU 0's per-CPU area (stack-protector canary at %fs:0x28). */
	mov	$FW_MSR_FS_BASE, %ecx
	mov	$fw_percpu, %eax
	xor	%edx, %edx
	wrmsr

	/* iretq to CPL 3, interrupts off, on CPU 0's user stack. RDI and RSI
	 * still hold the DTB and boot_info addresses. */
	pushq	$FW_SEL_USER_DATA
	pushq	$fw_user_stack_top
	pushq	$FW_RFLAGS_FIXED
	pushq	$FW_SEL_USER_CODE
	pushq	$fw_user_entry
	iretq

.Lsecondary:
	/* Secondary CPU (RDX = index): report in, take a per-CPU FS base,
	 * software-enable the LAPIC so wake-up IPIs are accepted, then halt with
	 * interrupts on until CPU 0 has filled the IDT and sets
	 * fw_smp_released (firmware/smp.c), and iretq to fw_ap_main() at CPL 3.
	 * About 35 instructions at CPL 0, once per CPU (one pass through the
	 * wait loop). */
	cmp	$FW_MAX_CPUS, %rdx
	jae	.Lpark
	mov	%edx, %ebx			/* CPU index, kept across wrmsr */
	shl	$FW_PERCPU_SHIFT, %edx
	add	$fw_percpu, %edx		/* the image is below 4 GiB */
	mov	%ebx, FW_PERCPU_CPU(%rdx)
	movl	$1, FW_PERCPU_ONLINE(%rdx)
	mov	%edx, %esi
	mov	$FW_SEL_USER_DATA, %eax		/* as on CPU 0: selectors before the FS base */
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	$FW_MSR_FS_BASE, %ecx
	mov	%esi, %eax
	xor	%edx, %edx
	wrmsr
	/* SVR: APIC on, spurious vector 0xff. movabs, because 0xfee000f0 as a
	 * 32-bit displacement would be sign-extended. */
	mov	$(FW_APIC_SVR_ENABLE | FW_VEC_SPURIOUS), %eax
	movabs	%eax, FW_LAPIC_BASE + FW_APIC_SVR
1:	cmpl	$0, fw_smp_released(%rip)
	jne	2f
	sti					/* the shadow covers hlt: no lost IPI */
	hlt
	cli
	jmp	1b
2:	mov	%ebx, %edi			/* fw_ap_user_entry(cpu) */
	pushq	$FW_SEL_USER_DATA
	pushq	$0				/* RSP: set at CPL 3 from the index */
	pushq	$FW_RFLAGS_FIXED		/* interrupts off at CPL 3 */
	pushq	$FW_SEL_USER_CODE
	pushq	$fw_ap_user_entry
	iretq
.Lpark:
	cli
	hlt
	jmp	.Lpark
	.size	_start, . - _start

/* CPU 0 at CPL 3: RDI = DTB, RSI = boot_info. */
	.text
	.type	fw_user_entry, @function
fw_user_entry:
	xor	%ebp, %ebp
	xor	%edx, %edx
	call	fw_main
	ud2
	.size	fw_user_entry, . - fw_user_entry

/* Secondary CPU at CPL 3: RDI = CPU index (1..FW_MAX_CPUS-1). Its stack is
 * fw_ap_stacks[index - 1], FW_AP_STACK_SIZE bytes; top = base + index * size. */
	.type	fw_ap_user_entry, @function
fw_ap_user_entry:
	mov	%rdi, %rax
	shl	$FW_AP_STACK_SHIFT, %rax
	add	$fw_ap_stacks, %rax
	mov	%rax, %rsp
	xor	%ebp, %ebp
	call	fw_ap_main
	ud2
	.size	fw_ap_user_entry, . - fw_ap_user_entry

/* ------------------------------------------------------------------------ */
/* PVH 32-bit entry: protected mode, paging off, EBX = struct hvm_start_info. */

	.section .text.entry, "ax"
	.code32
	.globl	fw_pvh_start32
	.type	fw_pvh_start32, @function
fw_pvh_start32:
	cli
	cld
	mov	%ebx, fw_pvh_start_info
	movl	$0, fw_pvh_start_info + 4

	/* Identity map [0, 4 GiB) with 2 MiB pages, user-accessible, writable:
	 * PML4[0] -> PDPT, PDPT[0..3] -> 4 page directories. */
	movl	$(fw_pvh_pdpt + 7), fw_pvh_pml4
	movl	$0, fw_pvh_pml4 + 4
	mov	$(fw_pvh_pd + 7), %eax
	mov	$fw_pvh_pdpt, %edi
	mov	$4, %ecx
1:	mov	%eax, (%edi)
	movl	$0, 4(%edi)
	add	$4096, %eax
	add	$8, %edi
	dec	%ecx
	jnz	1b
	mov	$0x87, %eax			/* P | RW | US | PS */
	mov	$fw_pvh_pd, %edi
	mov	$2048, %ecx
2:	mov	%eax, (%edi)
	movl	$0, 4(%edi)
	add	$0x200000, %eax
	add	$8, %edi
	dec	%ecx
	jnz	2b

	/* TSS: RSP0, IST1, I/O bitmap all open (bss is zero) plus its end byte. */
	mov	$fw_pvh_tss, %edi
	movl	$fw_pvh_kstack_top, FW_TSS_RSP0(%edi)
	movl	$0, FW_TSS_RSP0 + 4(%edi)
	movl	$fw_pvh_dfstack_top, FW_TSS_IST1(%edi)
	movl	$0, FW_TSS_IST1 + 4(%edi)
	movw	$FW_TSS_HDR_SIZE, FW_TSS_IOPB(%edi)
	movb	$0xff, FW_TSS_LIMIT(%edi)

	/* 64-bit TSS descriptor at GDT offset 0x30 (available TSS, present). */
	mov	%edi, %eax
	shl	$16, %eax
	or	$FW_TSS_LIMIT, %eax		/* limit[15:0] | base[15:0] << 16 */
	mov	%eax, fw_pvh_gdt + FW_SEL_TSS0
	mov	%edi, %eax
	shr	$16, %eax
	mov	%eax, %edx
	and	$0xff, %eax			/* base[23:16] */
	or	$0x8900, %eax			/* P, type 9 */
	and	$0xff00, %edx
	shl	$16, %edx			/* base[31:24] */
	or	%edx, %eax
	mov	%eax, fw_pvh_gdt + FW_SEL_TSS0 + 4
	lgdt	fw_pvh_gdt_desc

	/* Long mode. */
	mov	%cr4, %eax
	or	$(FW_CR4_PAE | FW_CR4_OSFXSR | FW_CR4_OSXMMEXCPT), %eax
	mov	%eax, %cr4
	mov	$fw_pvh_pml4, %eax
	mov	%eax, %cr3
	mov	$FW_MSR_EFER, %ecx
	rdmsr
	or	$FW_EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	and	$~FW_CR0_EM, %eax
	or	$(FW_CR0_PG | FW_CR0_WP | FW_CR0_NE | FW_CR0_MP | FW_CR0_PE), %eax
	mov	%eax, %cr0
	ljmp	$FW_SEL_KERNEL_CODE, $fw_pvh_start64

	.code64
fw_pvh_start64:
	mov	$FW_SEL_KERNEL_DATA, %eax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$FW_SEL_TSS0, %eax
	ltr	%ax
	mov	$fw_pvh_kstack_top, %esp
	xor	%edi, %edi			/* no DTB */
	mov	$fw_pvh_boot_info, %esi		/* completed at CPL 3 by pvh.c */
	xor	%edx, %edx			/* CPU 0 */
	jmp	_start
	.size	fw_pvh_start32, . - fw_pvh_start32

/* ------------------------------------------------------------------------ */
/* Data.                                                                    */

	.data
	.balign 16
	.globl	fw_idt_desc
fw_idt_desc:
	.word	256 * 16 - 1
	.quad	fw_idt

	.balign 16
	.globl	fw_pvh_gdt
fw_pvh_gdt:
	.quad	0				/* 0x00 null */
	.quad	0x00af9b000000ffff		/* 0x08 kernel code, 64-bit */
	.quad	0x00cf93000000ffff		/* 0x10 kernel data */
	.quad	0				/* 0x18 unused */
	.quad	0x00cff3000000ffff		/* 0x20 user data (0x23) */
	.quad	0x00affb000000ffff		/* 0x28 user code, 64-bit (0x2b) */
	.quad	0, 0				/* 0x30 TSS, filled at entry */
fw_pvh_gdt_end:

	.balign 8
fw_pvh_gdt_desc:
	.word	fw_pvh_gdt_end - fw_pvh_gdt - 1
	.quad	fw_pvh_gdt

	.bss
	.balign 4096
	.globl	fw_pvh_pml4, fw_pvh_pdpt, fw_pvh_pd
fw_pvh_pml4:	.skip 4096
fw_pvh_pdpt:	.skip 4096
fw_pvh_pd:	.skip 4 * 4096

	.balign 16
	.globl	fw_pvh_tss
fw_pvh_tss:	.skip FW_TSS_SIZE

	.balign 16
	.globl	fw_user_stack, fw_user_stack_top
fw_user_stack:	.skip FW_USER_STACK_SIZE
fw_user_stack_top:

	.balign 4096
	.globl	fw_ap_stacks
fw_ap_stacks:	.skip (FW_MAX_CPUS - 1) * FW_AP_STACK_SIZE

	.balign 16
	.globl	fw_fatal_stack_top
fw_fatal_stack:	.skip FW_FATAL_STACK_SIZE
fw_fatal_stack_top:

	.balign 16
	.globl	fw_pvh_kstack_top, fw_pvh_dfstack_top
fw_pvh_kstack:	.skip FW_PVH_KSTACK_SIZE
fw_pvh_kstack_top:
fw_pvh_dfstack:	.skip FW_PVH_DFSTACK_SIZE
fw_pvh_dfstack_top:

	.section .note.GNU-stack, "", @progbits
