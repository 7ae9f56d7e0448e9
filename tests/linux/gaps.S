/*
 * Runs at CPL 0 every instruction KVM's CPL 0 emulator lacks on hosts
 * without hardware virtualization (vmm/x86/insn.h), checking each effect.
 * Exit-port value 0 when all hold, else the number of the failed check.
 * Where KVM runs CPL 0 natively (VT-x/AMD-V) nothing exits and the same
 * checks still hold. Entered per include/boot_protocol.h (IDT at 0x3000).
 */
	.globl _start
	.text
_start:
	/* #BP gate: interrupt gate, DPL 0, kernel code selector 0x08. */
	lea bp_handler(%rip), %rax
	mov $0x3000 + 3 * 16, %rdi
	mov %ax, (%rdi)
	movw $0x08, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	shr $16, %rax
	mov %ax, 6(%rdi)
	shr $16, %rax
	mov %eax, 8(%rdi)
	movl $0, 12(%rdi)

	/* 1: int3 is a trap: the handler sees the address after it. */
	int3
after_int3:
	mov $1, %al
	cmpq $1, bp_ok(%rip)
	jne fail

	/* 2, 3: stac sets RFLAGS.AC, clac clears it. */
	stac
	pushfq
	pop %rbx
	mov $2, %al
	bt $18, %rbx
	jnc fail
	clac
	pushfq
	pop %rbx
	mov $3, %al
	bt $18, %rbx
	jc fail

	/* 4-6: popcnt, register and memory forms, ZF. */
	mov $0xf0f0f0f0f0f0f0f0, %rcx
	popcnt %rcx, %rdx
	mov $4, %al
	cmp $32, %rdx
	jne fail
	popcntl pattern(%rip), %edx
	mov $5, %al
	cmp $20, %rdx  /* popcount(0x89abcdef) */
	jne fail
	xor %ecx, %ecx
	popcnt %rcx, %rdx
	mov $6, %al
	jnz fail

	/* XSAVE needs CR4.OSXSAVE; XCR0 = x87 | SSE | AVX. */
	mov %cr4, %rbx
	bts $18, %rbx
	mov %rbx, %cr4
	xor %ecx, %ecx
	mov $7, %eax
	xor %edx, %edx
	xsetbv

	/* Standard-format offset of the AVX component (CPUID.(0xD,2).EBX). */
	mov $0xd, %eax
	mov $2, %ecx
	cpuid
	mov %rbx, %r15

	/*
	 * 7: state goes in with xrstor64 and comes back with xsave64 (standard
	 * format). Only integer instructions touch the values: KVM's CPL 0
	 * emulator here lacks SSE moves too.
	 */
	mov $-1, %eax
	mov $-1, %edx
	xsave64 area(%rip)
	mov pattern(%rip), %rbx
	mov %rbx, area + 160 + 16(%rip)       /* xmm1, low half */
	lea area(%rip), %rdi
	mov %rbx, 16(%rdi, %r15)              /* ymm1, upper half */
	orq $6, area + 512(%rip)              /* XSTATE_BV: SSE, AVX */
	mov $-1, %eax
	mov $-1, %edx
	xrstor64 area(%rip)
	mov $-1, %eax
	mov $-1, %edx
	xsave64 area2(%rip)
	mov $7, %al
	cmp area2 + 160 + 16(%rip), %rbx
	jne fail
	lea area2(%rip), %rdi
	cmp 16(%rdi, %r15), %rbx
	jne fail

	/* 8, 9: xsavec64 writes the compacted format (AVX first at 576). */
	mov $-1, %eax
	mov $-1, %edx
	xsavec64 area3(%rip)
	mov $8, %al
	btq $63, area3 + 520(%rip)            /* XCOMP_BV bit 63 */
	jnc fail
	cmp area3 + 576 + 16(%rip), %rbx
	jne fail
	/* ... and xrstor64 takes it back. */
	mov pattern2(%rip), %rcx
	mov %rcx, area3 + 160 + 16(%rip)
	mov $-1, %eax
	mov $-1, %edx
	xrstor64 area3(%rip)
	mov $-1, %eax
	mov $-1, %edx
	xsave64 area2(%rip)
	mov $9, %al
	cmp area2 + 160 + 16(%rip), %rcx
	jne fail

	/* 10: fxsave64 / fxrstor64. */
	fxsave64 area4(%rip)
	mov $10, %al
	cmp area4 + 160 + 16(%rip), %rcx
	jne fail
	mov %rbx, area4 + 160 + 16(%rip)
	fxrstor64 area4(%rip)
	mov $-1, %eax
	mov $-1, %edx
	xsave64 area2(%rip)
	cmp area2 + 160 + 16(%rip), %rbx
	jne fail

	/* 11: xrstor of a header with reserved bits set raises #GP (vector 13). */
	movq $1, area + 512 + 16(%rip)
	movq $0, gp_seen(%rip)
	call set_gp_gate
	mov $-1, %eax
	mov $-1, %edx
	xrstor64 area(%rip)
	mov $11, %al
	cmpq $1, gp_seen(%rip)
	jne fail

	xor %eax, %eax
fail:
	out %al, $0xf4
	hlt
	jmp fail

set_gp_gate:
	lea gp_handler(%rip), %rax
	mov $0x3000 + 13 * 16, %rdi
	mov %ax, (%rdi)
	movw $0x08, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	shr $16, %rax
	mov %ax, 6(%rdi)
	shr $16, %rax
	mov %eax, 8(%rdi)
	movl $0, 12(%rdi)
	ret

bp_handler:
	push %rax
	push %rbx
	mov 16(%rsp), %rax
	lea after_int3(%rip), %rbx
	cmp %rbx, %rax
	jne 1f
	movq $1, bp_ok(%rip)
	jmp 2f
1:	movq $2, bp_ok(%rip)
	mov %rax, bp_seen(%rip)
2:	pop %rbx
	pop %rax
	iretq

/* #GP from the bad xrstor: skip the 8-byte instruction (48 0f ae 2d disp32). */
gp_handler:
	movq $1, gp_seen(%rip)
	addq $8, 8(%rsp)  /* past the error code */
	add $8, %rsp
	iretq

	.data
	.balign 64
pattern:	.quad 0x0123456789abcdef
pattern2:	.quad 0xfedcba9876543210
bp_ok:		.quad 0
bp_seen:	.quad 0
gp_seen:	.quad 0
	.balign 64
area:		.zero 4096
	.balign 64
area2:		.zero 4096
	.balign 64
area3:		.zero 4096
	.balign 64
area4:		.zero 512
