/* Says it is up, then keeps the VM (and whatever devices it holds) alive
 * for 2^35 TSC ticks (~15 s at 2.3 GHz) and exits through the debug-exit
 * port with 0x15 (status 43): the script that started it kills it long
 * before, but a script that failed to must not leave it running forever. */
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
2:	rdtsc
	shl $32, %rdx
	or %rax, %rdx
	mov %rdx, %rbx
	mov $1, %rcx
	shl $35, %rcx
	add %rcx, %rbx
3:	pause
	rdtsc
	shl $32, %rdx
	or %rax, %rdx
	cmp %rbx, %rdx
	jb 3b
	mov $0x15, %al
	mov $0xf4, %dx
	out %al, %dx
4:	hlt
	jmp 4b
	.section .rodata
message:
	.asciz "holder guest up\n"
