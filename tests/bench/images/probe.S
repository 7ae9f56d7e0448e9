/* SPDX-License-Identifier: MIT */
/*
 * probe.elf: the first instruction executed in the guest writes the exit
 * port, so the whole run (exec to process exit) is an upper bound on exec to
 * the guest's first instruction. Entered at CPL 0 in the boot_protocol.h
 * state, where RAX is 0: the write is V = 0, exit status 1.
 */
	.section .text.entry, "ax"
	.code64
	.globl	_start
_start:
	outb	%al, $0xf4
1:	hlt
	jmp	1b
