/* Prints a line through the UART, then spins without exiting: the line
 * must still reach the console while the guest runs. It is longer than the
 * 64 bytes after which the UART switches to coalesced transmit, so its end,
 * newline included, sits in KVM's ring until the event loop flushes it. */
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
	.asciz "spinning guest says hi, and keeps talking long enough to move the UART to coalesced transmit\n"
