/* SPDX-License-Identifier: MIT */
/*
 * pio-*.elf: PIO_LOOPS x 64 unrolled `outb` to port 0x3ff (the 16550's
 * scratch register: a registered device that only stores the byte), then
 * exit with V = 0 (status 1) through port 0xf4.
 *
 * The guest also times the writes itself: TSC after the loop minus TSC
 * before it, sent as 8 bytes (little-endian) to the UART's THR (0x3f8) just
 * before the exit; bench_run --tsc-span reads them from the run's stdout.
 * That number excludes process start and teardown, so it is far less noisy
 * than the wall-time difference t(N) - t(0); both are reported.
 *
 * PIO_CPL 0: the writes run at CPL 0, where the image is entered.
 * PIO_CPL 3: first iretq to CPL 3 (GDT selectors of boot_protocol.h, the
 * boot stack is user-accessible, the TSS I/O bitmap allows every port), as
 * the self-test firmware does its port I/O.
 *
 * The absolute symbol pio_outs = PIO_LOOPS * 64 tells scripts/bench.sh N
 * (`nm`). PIO_LOOPS = 0 gives the same image minus the writes: t(0).
 */
#ifndef PIO_LOOPS
#error "define PIO_LOOPS (iterations of 64 writes)"
#endif
#ifndef PIO_CPL
#error "define PIO_CPL (0 or 3)"
#endif

#define SEL_USER_DATA 0x23
#define SEL_USER_CODE 0x2b
#define PORT_SCRATCH  0x3ff
#define PORT_UART_THR 0x3f8
#define PORT_EXIT     0xf4

	.globl	pio_outs
	.set	pio_outs, PIO_LOOPS * 64

	.section .text.entry, "ax"
	.code64
	.globl	_start
_start:
#if PIO_CPL == 3
	mov	%rsp, %rax
	pushq	$SEL_USER_DATA		/* SS */
	pushq	%rax			/* RSP */
	pushq	$0x2			/* RFLAGS: interrupts off */
	pushq	$SEL_USER_CODE		/* CS */
	pushq	$.Luser			/* RIP */
	iretq
.Luser:
#elif PIO_CPL != 0
#error "PIO_CPL must be 0 or 3"
#endif
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, %r8
	mov	$PORT_SCRATCH, %edx
	mov	$PIO_LOOPS, %ecx
	test	%ecx, %ecx
	jz	.Ldone
.Lloop:
	.rept	64
	outb	%al, %dx
	.endr
	dec	%ecx
	jnz	.Lloop
.Ldone:
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	sub	%r8, %rax
	mov	$PORT_UART_THR, %edx
	mov	$8, %ecx
.Lsend:
	outb	%al, %dx
	shr	$8, %rax
	dec	%ecx
	jnz	.Lsend
	xor	%eax, %eax
	outb	%al, $PORT_EXIT
1:	pause
	jmp	1b
