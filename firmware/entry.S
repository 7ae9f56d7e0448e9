/* SPDX-License-Identifier: MIT */
/*
 * CPL 0 code after boot: exception/interrupt stubs and the privileged-call
 * gate. Everything here runs emulated on the project's machines (~1.5 us per
 * instruction), so it is assembly and short.
 *
 * Exceptions and unexpected interrupts are fatal. The CPL 0 part only saves
 * the registers and CR2 on its stack (struct fw_exc_frame, fw/cpu.h) and then
 * iretq's to fw_fatal_report() at CPL 3 on a stack of its own, which prints
 * the report at native speed and exits with value 3. A second fault while a
 * report is in progress writes 3 to the exit port from CPL 0 directly.
 */
#include "fw/layout.h"
#include "fw/privcall.h"

	.text
	.code64

/* ------------------------------------------------------------------------ */
/* 256 stubs, 16 bytes apart: [push $0 if the CPU pushes no error code]     */
/* push $vector; jmp fw_exc_common. cpu.c points IDT gate n at stub n.      */

	.balign 16
	.globl	fw_isr_stubs
	.type	fw_isr_stubs, @function
fw_isr_stubs:
	vec = 0
	.rept	256
	.balign	16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	fw_exc_common
	vec = vec + 1
	.endr
	.size	fw_isr_stubs, . - fw_isr_stubs

	.globl	fw_exc_common
	.type	fw_exc_common, @function
fw_exc_common:
	pushq	%r15
	pushq	%r14
	pushq	%r13
	pushq	%r12
	pushq	%r11
	pushq	%r10
	pushq	%r9
	pushq	%r8
	pushq	%rbp
	pushq	%rdi
	pushq	%rsi
	pushq	%rdx
	pushq	%rcx
	pushq	%rbx
	pushq	%rax
	mov	%cr2, %rax
	pushq	%rax
	lock btsl $0, fw_fatal_busy(%rip)
	jc	1f
	mov	%rsp, %rdi			/* struct fw_exc_frame * */
	pushq	$FW_SEL_USER_DATA
	pushq	$fw_fatal_stack_top
	pushq	$FW_RFLAGS_FIXED
	pushq	$FW_SEL_USER_CODE
	pushq	$fw_fatal_entry
	iretq
1:	/* Fault while reporting a fault: no more printing, just exit. */
	movzwl	fw_exit_port(%rip), %edx
	mov	$3, %eax
	outb	%al, %dx
2:	cli
	hlt
	jmp	2b
	.size	fw_exc_common, . - fw_exc_common

/* ------------------------------------------------------------------------ */
/* Interrupt stubs, vectors 32-255 (cpu.c points the IDT gates here).       */
/*                                                                          */
/* Every instruction here is emulated (~1.5 us each), so a stub is three    */
/* instructions and touches no register: count the vector in this CPU's     */
/* per-CPU page (FS base), EOI through the xAPIC MMIO page, iretq. The      */
/* xAPIC ignores the value written to EOI, so whatever EAX holds will do;   */
/* iretq restores RFLAGS, so incl may clobber the flags. Anything else      */
/* (callbacks) runs later at CPL 3: fw_irq_dispatch(), fw/irq.h.            */
/*                                                                          */
/*   normal vector:    incl; movabs (EOI); iretq         3 instructions     */
/*   spurious (0xff):  incl; iretq (no EOI for spurious) 2 instructions     */
/*   timestamping:     push, push, rdtsc, mov, pop, pop, jmp + the 3 above: */
/*                     10 instructions; rdtsc is the 3rd one after entry    */

	.balign 32
	.globl	fw_irq_stubs
	.type	fw_irq_stubs, @function
fw_irq_stubs:
	vec = FW_VEC_FIRST_IRQ
	.rept	256 - FW_VEC_FIRST_IRQ
	.balign	32
	incl	%fs:(FW_PERCPU_IRQ_COUNT + 4 * vec)
	.if vec != FW_VEC_SPURIOUS
	movabs	%eax, FW_LAPIC_BASE + FW_APIC_EOI
	.endif
	iretq
	vec = vec + 1
	.endr
	.size	fw_irq_stubs, . - fw_irq_stubs

/* Timestamping variants (fw_irq_set_timestamp()): low 32 bits of the TSC at
 * entry into %fs:FW_PERCPU_IRQ_TSC, then the normal stub. */
	.balign 32
	.globl	fw_irq_stamp_stubs
	.type	fw_irq_stamp_stubs, @function
fw_irq_stamp_stubs:
	vec = FW_VEC_FIRST_IRQ
	.rept	256 - FW_VEC_FIRST_IRQ
	.balign	32
	pushq	%rax
	pushq	%rdx
	rdtsc
	movl	%eax, %fs:FW_PERCPU_IRQ_TSC
	popq	%rdx
	popq	%rax
	jmp	fw_irq_stubs + 32 * (vec - FW_VEC_FIRST_IRQ)
	vec = vec + 1
	.endr
	.size	fw_irq_stamp_stubs, . - fw_irq_stamp_stubs

/* CPL 3 side of the fatal path: RDI = frame on the CPL 0 stack. */
	.type	fw_fatal_entry, @function
fw_fatal_entry:
	xor	%ebp, %ebp
	call	fw_fatal_report
	ud2
	.size	fw_fatal_entry, . - fw_fatal_entry

/* ------------------------------------------------------------------------ */
/* Privileged-call gate (int3, DPL 3 interrupt gate). See fw/privcall.h.    */

	.globl	fw_privcall_entry
	.type	fw_privcall_entry, @function
fw_privcall_entry:
	cmp	$FW_PRIV_COUNT, %rax
	jae	1f
	jmp	*fw_privcall_table(, %rax, 8)
1:	pushq	$0				/* not a call: fatal #BP */
	pushq	$3
	jmp	fw_exc_common
	.size	fw_privcall_entry, . - fw_privcall_entry

priv_nop:
	xor	%eax, %eax
	iretq
priv_read_cr0:
	mov	%cr0, %rax
	iretq
priv_read_cr2:
	mov	%cr2, %rax
	iretq
priv_read_cr3:
	mov	%cr3, %rax
	iretq
priv_read_cr4:
	mov	%cr4, %rax
	iretq
priv_write_cr3:
	mov	%rdi, %cr3
	xor	%eax, %eax
	iretq
priv_rdmsr:
	mov	%edi, %ecx
	rdmsr
	shl	$32, %rdx
	or	%rdx, %rax
	iretq
priv_wrmsr:
	mov	%edi, %ecx
	mov	%rsi, %rax
	mov	%rsi, %rdx
	shr	$32, %rdx
	wrmsr
	xor	%eax, %eax
	iretq
priv_cpu_index:
	movl	%fs:FW_PERCPU_CPU, %eax
	iretq
priv_exit:
	mov	%edi, %eax
	movzwl	fw_exit_port(%rip), %edx
	outb	%al, %dx
1:	cli
	hlt
	jmp	1b
/* pushfq at CPL 3 always shows IF = 1 here (the hypervisor keeps the
 * guest's IF elsewhere), so the state is also kept in %fs:FW_PERCPU_IRQ_ON
 * for fw_irq_enabled(). */
priv_irq_enable:
	orq	$FW_RFLAGS_IF, 16(%rsp)		/* RFLAGS in the iretq frame */
	movl	$1, %fs:FW_PERCPU_IRQ_ON
	iretq
priv_irq_disable:
	andq	$~FW_RFLAGS_IF, 16(%rsp)
	movl	$0, %fs:FW_PERCPU_IRQ_ON
	iretq
priv_wait_irq:
	sti
	hlt
	cli
	iretq
priv_invlpg:
	invlpg	(%rdi)
	xor	%eax, %eax
	iretq
/* Halt until an interrupt unless the u32 at RDI already differs from ESI.
 * The compare runs with IF = 0 (int3 enters through an interrupt gate), so
 * an interrupt that changes the word after the caller's last look at CPL 3
 * either happened before the compare (no halt) or wakes the hlt (sti's
 * shadow covers the hlt). 6 instructions after the dispatch. */
priv_wait_ne:
	cmp	%esi, (%rdi)
	jne	1f
	sti
	hlt
	cli
1:	iretq

	.section .rodata
	.balign 8
	.globl	fw_privcall_table
fw_privcall_table:
	.quad	priv_nop		/* FW_PRIV_NOP */
	.quad	priv_read_cr0		/* FW_PRIV_READ_CR0 */
	.quad	priv_read_cr2		/* FW_PRIV_READ_CR2 */
	.quad	priv_read_cr3		/* FW_PRIV_READ_CR3 */
	.quad	priv_read_cr4		/* FW_PRIV_READ_CR4 */
	.quad	priv_write_cr3		/* FW_PRIV_WRITE_CR3 */
	.quad	priv_rdmsr		/* FW_PRIV_RDMSR */
	.quad	priv_wrmsr		/* FW_PRIV_WRMSR */
	.quad	priv_cpu_index		/* FW_PRIV_CPU_INDEX */
	.quad	priv_exit		/* FW_PRIV_EXIT */
	.quad	priv_irq_enable		/* FW_PRIV_IRQ_ENABLE */
	.quad	priv_irq_disable	/* FW_PRIV_IRQ_DISABLE */
	.quad	priv_wait_irq		/* FW_PRIV_WAIT_IRQ */
	.quad	priv_invlpg		/* FW_PRIV_INVLPG */
	.quad	priv_wait_ne		/* FW_PRIV_WAIT_NE */
	.if (. - fw_privcall_table) != FW_PRIV_COUNT * 8
	.error "fw_privcall_table does not match FW_PRIV_COUNT"
	.endif

	.section .note.GNU-stack, "", @progbits
