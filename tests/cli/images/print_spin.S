/* Prints a line through the (coalesced) UART, then spins without exiting:
 * the line must still reach the console while the guest runs. */
	.globl _start
	.text
_start:
	lea message(%rip), %rsi
	mov $0x3f8, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, %dx
	jmp 1b
2:	pause
	jmp 2b
	.section .rodata
message:
	.asciz "spinning guest says hi\n"
