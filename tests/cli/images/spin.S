/* Never exits: the VMM must still stop on SIGINT/SIGTERM. */
	.globl _start
	.text
_start:
	pause
	jmp _start
