/* SPDX-License-Identifier: MIT */
/* The instruction completer's decoder (vmm/x86/insn.c) and its target table. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "suites.h"
#include "vmm/memory.h"
#include "vmm/x86/insn.h"

static struct kvm_regs regs(void)
{
	struct kvm_regs r = {
		.rax = 0x1000, .rcx = 0x2000, .rdx = 0x3000, .rbx = 0x4000, .rsp = 0x5000,
		.rbp = 0x6000, .rsi = 0x7000, .rdi = 0x8000, .r8 = 0x9000, .r9 = 0xa000,
		.r10 = 0xb000, .r11 = 0xc000, .r12 = 0xd000, .r13 = 0xe000, .r14 = 0xf000,
		.r15 = 0x10000, .rip = 0x200000,
	};

	return r;
}

START_TEST(movdir64b_register_forms)
{
	/* movdir64b (%rdx), %rax -- what the firmware's compiler emitted. */
	const uint8_t a[] = { 0x66, 0x0f, 0x38, 0xf8, 0x02, 0x90 };
	struct kvm_regs r = regs();
	struct x86_insn insn;

	ck_assert_int_eq(x86_insn_decode(a, sizeof(a), &insn), 0);
	ck_assert_int_eq(insn.id, X86_INSN_MOVDIR64B);
	ck_assert_uint_eq(insn.length, 5);
	ck_assert_uint_eq(insn.reg, 0);
	ck_assert_uint_eq(x86_insn_memory_operand(&insn, &r), 0x3000);
	/* REX.R and REX.B: movdir64b (%r9), %r10 */
	const uint8_t b[] = { 0x66, 0x45, 0x0f, 0x38, 0xf8, 0x11 };

	ck_assert_int_eq(x86_insn_decode(b, sizeof(b), &insn), 0);
	ck_assert_uint_eq(insn.length, 6);
	ck_assert_uint_eq(insn.reg, 10);
	ck_assert_uint_eq(x86_insn_gpr(&r, insn.reg), 0xb000);
	ck_assert_uint_eq(x86_insn_memory_operand(&insn, &r), 0xa000);
}
END_TEST

START_TEST(memory_operand_forms)
{
	struct kvm_regs r = regs();
	struct x86_insn insn;
	/* movdir64b 0x10(%rbx,%rsi,4), %rcx: ModRM 01 001 100, SIB 10 110 011, disp8 */
	const uint8_t sib[] = { 0x66, 0x0f, 0x38, 0xf8, 0x4c, 0xb3, 0x10 };
	/* movdir64b -0x100(%rbp), %rdi: ModRM 10 111 101, disp32 */
	const uint8_t d32[] = { 0x66, 0x0f, 0x38, 0xf8, 0xbd, 0x00, 0xff, 0xff, 0xff };
	/* movdir64b 0x40(%rip), %rax: ModRM 00 000 101 */
	const uint8_t rip[] = { 0x66, 0x0f, 0x38, 0xf8, 0x05, 0x40, 0, 0, 0 };
	/* movdir64b 0x1000(,%r8,8), %rax with REX.X, no base: ModRM 00 000 100, SIB 11 000 101 */
	const uint8_t nobase[] = { 0x66, 0x42, 0x0f, 0x38, 0xf8, 0x04, 0xc5, 0, 0x10, 0, 0 };
	/* fs: and addr32 prefixes: movdir64b %fs:(%eax), %ecx */
	const uint8_t prefixed[] = { 0x64, 0x67, 0x66, 0x0f, 0x38, 0xf8, 0x08 };

	ck_assert_int_eq(x86_insn_decode(sib, sizeof(sib), &insn), 0);
	ck_assert_uint_eq(insn.length, 7);
	ck_assert_uint_eq(x86_insn_memory_operand(&insn, &r), 0x4000 + 4 * 0x7000 + 0x10);
	ck_assert_int_eq(x86_insn_decode(d32, sizeof(d32), &insn), 0);
	ck_assert_uint_eq(insn.length, 9);
	ck_assert_uint_eq(insn.reg, 7);
	ck_assert_uint_eq(x86_insn_memory_operand(&insn, &r), 0x6000 - 0x100);
	ck_assert_int_eq(x86_insn_decode(rip, sizeof(rip), &insn), 0);
	ck_assert(insn.rip_relative);
	ck_assert_uint_eq(x86_insn_memory_operand(&insn, &r), 0x200000 + 9 + 0x40);
	ck_assert_int_eq(x86_insn_decode(nobase, sizeof(nobase), &insn), 0);
	ck_assert_uint_eq(insn.length, 11);
	ck_assert_uint_eq(x86_insn_memory_operand(&insn, &r), 0x9000 * 8 + 0x1000);
	ck_assert_int_eq(x86_insn_decode(prefixed, sizeof(prefixed), &insn), 0);
	ck_assert_uint_eq(insn.segment, 0x64);
	ck_assert(insn.address_size_32);
	ck_assert_uint_eq(insn.length, 7);
	r.rax = 0x1234567800001000ull;
	ck_assert_uint_eq(x86_insn_memory_operand(&insn, &r), 0x1000);
}
END_TEST

START_TEST(enqcmd_forms)
{
	const uint8_t enqcmd[] = { 0xf2, 0x0f, 0x38, 0xf8, 0x06 };
	const uint8_t enqcmds[] = { 0xf3, 0x0f, 0x38, 0xf8, 0x06 };
	/* The last of 66/F2/F3 selects the instruction. */
	const uint8_t last_wins[] = { 0x66, 0xf2, 0x0f, 0x38, 0xf8, 0x06 };
	struct x86_insn insn;

	ck_assert_int_eq(x86_insn_decode(enqcmd, sizeof(enqcmd), &insn), 0);
	ck_assert_int_eq(insn.id, X86_INSN_ENQCMD);
	ck_assert_str_eq(insn.name, "enqcmd");
	ck_assert_int_eq(x86_insn_decode(enqcmds, sizeof(enqcmds), &insn), 0);
	ck_assert_int_eq(insn.id, X86_INSN_ENQCMDS);
	ck_assert_int_eq(x86_insn_decode(last_wins, sizeof(last_wins), &insn), 0);
	ck_assert_int_eq(insn.id, X86_INSN_ENQCMD);
}
END_TEST

START_TEST(unknown_and_malformed)
{
	const uint8_t xsave[] = { 0x0f, 0xae, 0x21 };                 /* not in the table */
	const uint8_t no_prefix[] = { 0x0f, 0x38, 0xf8, 0x02 };       /* 0F 38 F8 without 66/F2/F3 */
	const uint8_t register_form[] = { 0x66, 0x0f, 0x38, 0xf8, 0xc2 }; /* mod = 3: #UD */
	const uint8_t locked[] = { 0xf0, 0x66, 0x0f, 0x38, 0xf8, 0x02 };
	const uint8_t truncated[] = { 0x66, 0x0f, 0x38, 0xf8, 0x84, 0x24, 0x00 };
	const uint8_t prefixes_only[] = { 0x66, 0x66, 0x66 };
	struct x86_insn insn;

	ck_assert_int_eq(x86_insn_decode(xsave, sizeof(xsave), &insn), -ENOENT);
	ck_assert_int_eq(x86_insn_decode(no_prefix, sizeof(no_prefix), &insn), -ENOENT);
	ck_assert_int_eq(x86_insn_decode(register_form, sizeof(register_form), &insn), -ENOENT);
	ck_assert_int_eq(x86_insn_decode(locked, sizeof(locked), &insn), -ENOENT);
	ck_assert_int_eq(x86_insn_decode(truncated, sizeof(truncated), &insn), -EINVAL);
	ck_assert_int_eq(x86_insn_decode(prefixes_only, sizeof(prefixes_only), &insn), -EINVAL);
	ck_assert_int_eq(x86_insn_decode(xsave, 0, &insn), -EINVAL);
}
END_TEST

static bool claim_all(void *opaque, uint64_t gpa, const uint8_t data[64],
		      enum x86_store64_kind kind, bool *accepted)
{
	*accepted = true;
	return true;
}

START_TEST(targets_add_and_remove)
{
	struct x86_insn_targets targets = { 0 };
	int a, b;

	for (unsigned i = 0; i < X86_INSN_MAX_TARGETS; i++)
		ck_assert_int_eq(x86_insn_add_target(&targets, claim_all, i % 2 ? &a : &b), 0);
	ck_assert_int_eq(x86_insn_add_target(&targets, claim_all, &a), -ENOSPC);
	x86_insn_remove_target(&targets, &a);
	ck_assert_uint_eq(targets.count, X86_INSN_MAX_TARGETS / 2);
	for (unsigned i = 0; i < targets.count; i++)
		ck_assert_ptr_eq(targets.entry[i].opaque, &b);
}
END_TEST

/* Page tables in a fake RAM: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000. */
static uint64_t *table(uint8_t *ram, uint64_t gpa)
{
	return (uint64_t *)(void *)(ram + gpa);
}

START_TEST(page_walk)
{
	static uint8_t ram[1 << 20] __attribute__((aligned(4096)));
	struct guest_memory mem = { .base = ram, .size = sizeof(ram) };
	struct kvm_sregs sregs = { .cr0 = (1ull << 31) | (1ull << 16), .cr3 = 0x1000,
				   .efer = 1ull << 10, .cs = { .selector = 0x2b } };
	const uint64_t P = 1, W = 2, U = 4, PS = 0x80;
	uint64_t gpa;
	uint32_t err;

	memset(ram, 0, sizeof(ram));
	table(ram, 0x1000)[0] = 0x2000 | P | W | U;
	table(ram, 0x2000)[0] = 0x3000 | P | W | U;
	table(ram, 0x2000)[1] = 0x40000000 | P | U | PS;        /* 1 GiB page, read-only */
	table(ram, 0x3000)[0] = 0x4000 | P | W | U;
	table(ram, 0x3000)[1] = 0x200000 | P | W | U | PS;      /* 2 MiB page */
	table(ram, 0x3000)[2] = 0x400000 | P | W | PS;          /* supervisor only */
	table(ram, 0x4000)[5] = 0x9000 | P | W | U;
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 0x5123, true, &gpa, &err), 0);
	ck_assert_uint_eq(gpa, 0x9123);
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 0x234567, false, &gpa, &err), 0);
	ck_assert_uint_eq(gpa, 0x234567);
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 0x40000123, false, &gpa, &err), 0);
	ck_assert_uint_eq(gpa, 0x40000123);
	/* Not present: error code U, no P. */
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 0x6000, false, &gpa, &err), -1);
	ck_assert_uint_eq(err, 4);
	/* Supervisor page from CPL 3: P | U. Read-only page written: P | W | U. */
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 0x400000, false, &gpa, &err), -1);
	ck_assert_uint_eq(err, 5);
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 0x40000000, true, &gpa, &err), -1);
	ck_assert_uint_eq(err, 7);
	/* At CPL 0 the supervisor page is fine; CR0.WP still protects read-only pages. */
	sregs.cs.selector = 0x08;
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 0x400000, true, &gpa, &err), 0);
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 0x40000000, true, &gpa, &err), -1);
	sregs.cr0 &= ~(1ull << 16);
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 0x40000000, true, &gpa, &err), 0);
	/* Tables outside RAM; modes the walk leaves to KVM_TRANSLATE. */
	table(ram, 0x1000)[1] = 0x7ff00000000ull | P | W | U;
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 1ull << 39, false, &gpa, &err), -EFAULT);
	sregs.cr4 = 1ull << 12;
	ck_assert_int_eq(x86_page_walk(&mem, &sregs, 0, false, &gpa, &err), -ENOTSUP);
}
END_TEST

Suite *x86_insn_suite(void)
{
	Suite *suite = suite_create("x86_insn");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, movdir64b_register_forms);
	tcase_add_test(tc, memory_operand_forms);
	tcase_add_test(tc, enqcmd_forms);
	tcase_add_test(tc, unknown_and_malformed);
	tcase_add_test(tc, targets_add_and_remove);
	tcase_add_test(tc, page_walk);
	suite_add_tcase(suite, tc);
	return suite;
}
