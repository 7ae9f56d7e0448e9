/* SPDX-License-Identifier: MIT */
/*
 * first.elf: the first instruction executed in the guest reads the TSC; the
 * image then sends those 8 bytes (little-endian) to the UART at 0x3f8 and
 * exits with V = 0 (status 1) through port 0xf4. bench_run --tsc subtracts
 * the TSC it read before fork: exec -> first guest instruction, directly
 * (the guest sees the host's TSC on the project's machines).
 */
#define PORT_UART_THR 0x3f8
#define PORT_EXIT     0xf4

	.section .text.entry, "ax"
	.code64
	.globl	_start
_start:
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	$PORT_UART_THR, %edx
	mov	$8, %ecx
1:	outb	%al, %dx
	shr	$8, %rax
	dec	%ecx
	jnz	1b
	xor	%eax, %eax
	outb	%al, $PORT_EXIT
2:	hlt
	jmp	2b
