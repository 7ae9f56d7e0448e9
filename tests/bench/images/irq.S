/* SPDX-License-Identifier: MIT */
/*
 * irq.elf: the guest side of build/bench/irq_floor (tests/bench/irq_floor.c),
 * the floor of the interrupt benchmark. It does what guest-tests/irq-bench
 * does under the VMM, with the least code: an IDT gate, a CPL 0 handler,
 * and the same three measurements in the same order, driven through the
 * floor's MMIO registers at FLOOR_DEV (every access exits to irq_floor):
 *
 *   halt  N samples, at CPL 0: arm the host timer (ARM write), read the TSC,
 *         then `sti; hlt; cli` until the handler has run (the firmware's
 *         priv_wait_ne() halts the same way, at CPL 0);
 *   spin  N samples, at CPL 3 with IF = 1: arm, read the TSC, then spin on
 *         the handler's counter with `pause` (as the firmware's
 *         fw_irq_count() loop);
 *   rate  at CPL 3 with IF = 1, for each of RATE_STEPS timer periods: start
 *         the periodic host timer (PERIODIC = step), count interrupts over
 *         WINDOW TSC ticks, stop it, report DELIVERED and CYCLES.
 *
 * Each sample is reported as one 8-byte write to SAMPLE: the low 32 TSC
 * bits read right after the ARM write returned (high half) and the low 32
 * TSC bits the handler stamped (low half); irq_floor pairs it with its own
 * raise stamp.
 *
 * The handler is the firmware's timestamping stub instruction for
 * instruction (firmware/entry.S fw_irq_stamp_stubs + fw_irq_stubs), with
 * absolute addresses instead of %fs-relative ones: push, push, rdtsc
 * (3rd instruction after entry), store the low half, pop, pop, jmp, then
 * count, EOI (xAPIC, the value is ignored), iretq. The rate measurement
 * switches the gate to the plain 3-instruction stub, as the firmware's
 * fw_irq_set_timestamp(v, false) does.
 */
#include "boot_protocol.h"

#define FLOOR_DEV      0xd0000000
#define REG_SAMPLES    0x00 /* R32: N */
#define REG_RATE_STEPS 0x04 /* R32: number of timer periods to measure the rate at */
#define REG_WINDOW     0x08 /* R64: rate window per period, TSC ticks */
#define REG_ARM        0x10 /* W32: arm the one-shot host timer */
#define REG_PERIODIC   0x14 /* W32: K starts the periodic host timer at its K-th period, 0 stops it */
#define REG_MODE       0x18 /* W32: 1 halt, 2 spin: tags the samples that follow */
#define REG_SAMPLE     0x20 /* W64: t_back_lo << 32 | stamp_lo */
#define REG_DELIVERED  0x28 /* W64: interrupts counted in the rate window */
#define REG_CYCLES     0x30 /* W64: the window's actual length, TSC ticks */

#define VEC            0x40
#define LAPIC_SVR      0xfee000f0
#define LAPIC_EOI      0xfee000b0

/* Data in its own 4 KiB page of the image's 2 MiB page, away from the code. */
#define DATA           0x300000
#define COUNT          (DATA + 0x00) /* u32, incremented by the handler */
#define STAMP          (DATA + 0x04) /* u32, low TSC bits at handler entry */
#define GATE_PLAIN     (DATA + 0x08) /* low qword of the plain stub's gate */
#define GATE_ADDR      (DATA + 0x10) /* address of gate VEC in the IDT */
#define USER_STACK_TOP 0x3ff000

#define PORT_EXIT      0xf4

	.section .text.entry, "ax"
	.code64
	.globl	_start
_start:
	/* RSI = struct boot_info: idt_gpa at offset 48. */
	mov	48(%rsi), %rdi
	lea	(VEC * 16)(%rdi), %r8
	mov	%r8, GATE_ADDR
	mov	$plain_stub, %eax
	call	make_gate
	mov	%rax, GATE_PLAIN
	mov	$spurious_stub, %eax
	call	make_gate
	movq	$0, (0xff * 16 + 8)(%rdi)
	mov	%rax, (0xff * 16)(%rdi)
	mov	$stamp_stub, %eax
	call	make_gate
	movq	$0, 8(%r8)
	mov	%rax, (%r8)
	/* Software-enable the LAPIC, spurious vector 0xff. */
	mov	$LAPIC_SVR, %ecx
	movl	$0x1ff, (%rcx)

	mov	$FLOOR_DEV, %ebx
	movl	$1, REG_MODE(%rbx)
	mov	REG_SAMPLES(%rbx), %r13d
	test	%r13d, %r13d
	jz	.Lhalt_done
.Lhalt:
	mov	COUNT, %r14d
	movl	$1, REG_ARM(%rbx)
	rdtsc
	mov	%eax, %r12d
1:	sti
	hlt
	cli
	cmp	COUNT, %r14d
	je	1b
	call	report
	dec	%r13d
	jnz	.Lhalt
.Lhalt_done:

	/* To CPL 3 with interrupts enabled. */
	pushq	$BOOT_SEL_USER_DATA
	pushq	$USER_STACK_TOP
	pushq	$0x202
	pushq	$BOOT_SEL_USER_CODE
	pushq	$.Luser
	iretq
.Luser:
	movl	$2, REG_MODE(%rbx)
	mov	REG_SAMPLES(%rbx), %r13d
	test	%r13d, %r13d
	jz	.Lspin_done
.Lspin:
	mov	COUNT, %r14d
	movl	$1, REG_ARM(%rbx)
	rdtsc
	mov	%eax, %r12d
1:	pause
	cmp	COUNT, %r14d
	je	1b
	call	report
	dec	%r13d
	jnz	.Lspin
.Lspin_done:

	/* Rate: the plain stub; for each of the host's RATE_STEPS timer
	 * periods, count interrupts over WINDOW ticks. */
	mov	GATE_PLAIN, %rax
	mov	GATE_ADDR, %rcx
	mov	%rax, (%rcx)
	mov	REG_WINDOW(%rbx), %r15
	mov	REG_RATE_STEPS(%rbx), %r13d
	xor	%ebp, %ebp
.Lrate:
	cmp	%r13d, %ebp
	jae	.Lrate_done
	inc	%ebp
	mov	%ebp, REG_PERIODIC(%rbx)	/* start step EBP (1-based) */
	rdtsc
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, %r12		/* t0 */
	mov	COUNT, %r14d		/* c0 */
1:	pause
	rdtsc
	shl	$32, %rdx
	or	%rax, %rdx
	sub	%r12, %rdx
	cmp	%r15, %rdx
	jb	1b
	mov	COUNT, %eax
	sub	%r14d, %eax
	mov	%rdx, %r12		/* cycles */
	mov	%rax, %r14		/* delivered */
	movl	$0, REG_PERIODIC(%rbx)	/* stop */
	mov	%r14, REG_DELIVERED(%rbx)
	mov	%r12, REG_CYCLES(%rbx)	/* ends the step */
	jmp	.Lrate
.Lrate_done:

	xor	%eax, %eax
	outb	%al, $PORT_EXIT
2:	pause
	jmp	2b

/* EAX = handler address (below 4 GiB) -> RAX = low qword of a present
 * DPL 0 interrupt gate, kernel code selector, no IST. Clobbers RDX. */
make_gate:
	mov	%eax, %edx
	and	$0xffff, %eax
	or	$(BOOT_SEL_KERNEL_CODE << 16), %eax
	shr	$16, %edx
	shl	$48, %rdx
	or	%rdx, %rax
	movabs	$(0x8e << 40), %rdx
	or	%rdx, %rax
	ret

/* One sample: t_back_lo (R12D) << 32 | stamp_lo, to SAMPLE. */
report:
	mov	STAMP, %eax
	mov	%r12d, %edx
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, REG_SAMPLE(%rbx)
	ret

/* The handlers (see the header). */
	.balign	32
stamp_stub:
	pushq	%rax
	pushq	%rdx
	rdtsc
	movl	%eax, STAMP
	popq	%rdx
	popq	%rax
	jmp	plain_stub
	.balign	32
plain_stub:
	incl	COUNT
	movabs	%eax, LAPIC_EOI
	iretq
	.balign	32
spurious_stub:
	iretq
