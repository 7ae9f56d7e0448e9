/* SPDX-License-Identifier: MIT */
/*
 * The instruction completer (vmm/x86/insn.c, insn_xsave.c): the decoder,
 * the target table, the page walk, and each instruction's effect through
 * its pure helpers (XSAVE layouts, POPCNT, CMPXCHG8B/16B).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
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
	const uint8_t xsave[] = { 0x0f, 0xae, 0x39 };                 /* clflush: not in the table */
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

/* Each row of the table: bytes, id, length, and the operand it names. */
START_TEST(linux_gap_forms)
{
	static const struct {
		uint8_t bytes[8];
		unsigned size;
		enum x86_insn_id id;
		unsigned length;
	} rows[] = {
		{ { 0x48, 0x0f, 0xae, 0x27 }, 4, X86_INSN_XSAVE, 4 },           /* xsave64 (%rdi) */
		{ { 0x0f, 0xae, 0x6f, 0x40 }, 4, X86_INSN_XRSTOR, 4 },          /* xrstor 0x40(%rdi) */
		{ { 0x48, 0x0f, 0xae, 0x37 }, 4, X86_INSN_XSAVEOPT, 4 },        /* xsaveopt64 (%rdi) */
		{ { 0x48, 0x0f, 0xc7, 0x27 }, 4, X86_INSN_XSAVEC, 4 },          /* xsavec64 (%rdi) */
		{ { 0x48, 0x0f, 0xc7, 0x2f }, 4, X86_INSN_XSAVES, 4 },          /* xsaves64 (%rdi) */
		{ { 0x48, 0x0f, 0xc7, 0x1f }, 4, X86_INSN_XRSTORS, 4 },         /* xrstors64 (%rdi) */
		{ { 0x0f, 0xae, 0x07 }, 3, X86_INSN_FXSAVE, 3 },                /* fxsave (%rdi) */
		{ { 0x48, 0x0f, 0xae, 0x0f }, 4, X86_INSN_FXRSTOR, 4 },         /* fxrstor64 (%rdi) */
		{ { 0xcc, 0x90 }, 2, X86_INSN_INT3, 1 },
		{ { 0x0f, 0x01, 0xca }, 3, X86_INSN_CLAC, 3 },
		{ { 0x0f, 0x01, 0xcb }, 3, X86_INSN_STAC, 3 },
		{ { 0xf3, 0x48, 0x0f, 0xb8, 0xd1 }, 5, X86_INSN_POPCNT, 5 },    /* popcnt %rcx,%rdx */
		{ { 0xf3, 0x0f, 0xb8, 0x15, 1, 0, 0, 0 }, 8, X86_INSN_POPCNT, 8 }, /* (%rip) */
		{ { 0x0f, 0xc7, 0x0e }, 3, X86_INSN_CMPXCHG8B, 3 },             /* cmpxchg8b (%rsi) */
		{ { 0xf0, 0x48, 0x0f, 0xc7, 0x4d, 0x20 }, 6, X86_INSN_CMPXCHG16B, 6 }, /* lock, 0x20(%rbp) */
	};
	struct x86_insn insn;

	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ck_assert_msg(x86_insn_decode(rows[i].bytes, rows[i].size, &insn) == 0, "row %u", i);
		ck_assert_int_eq(insn.id, rows[i].id);
		ck_assert_uint_eq(insn.length, rows[i].length);
		ck_assert_str_eq(insn.name, x86_insn_name(rows[i].id));
	}
	struct kvm_regs r = regs();
	const uint8_t xrstor[] = { 0x0f, 0xae, 0x6f, 0x40 };

	ck_assert_int_eq(x86_insn_decode(xrstor, sizeof(xrstor), &insn), 0);
	ck_assert_uint_eq(x86_insn_memory_operand(&insn, &r), 0x8000 + 0x40);
	ck_assert_str_eq(x86_insn_name(X86_INSN_CMPXCHG16B), "cmpxchg16b");
}
END_TEST

START_TEST(linux_gap_operand_sizes)
{
	const uint8_t p64[] = { 0xf3, 0x48, 0x0f, 0xb8, 0xd1 };
	const uint8_t p32[] = { 0xf3, 0x0f, 0xb8, 0xd1 };
	const uint8_t p16[] = { 0x66, 0xf3, 0x0f, 0xb8, 0xd1 };
	const uint8_t p16_other_order[] = { 0xf3, 0x66, 0x0f, 0xb8, 0xd1 };
	struct x86_insn insn;

	ck_assert_int_eq(x86_insn_decode(p64, sizeof(p64), &insn), 0);
	ck_assert_uint_eq(insn.operand_size, 8);
	ck_assert_uint_eq(insn.reg, 2);
	ck_assert_uint_eq(insn.modrm & 7, 1);
	ck_assert_int_eq(x86_insn_decode(p32, sizeof(p32), &insn), 0);
	ck_assert_uint_eq(insn.operand_size, 4);
	ck_assert_int_eq(x86_insn_decode(p16, sizeof(p16), &insn), 0);
	ck_assert_uint_eq(insn.operand_size, 2);
	ck_assert_int_eq(x86_insn_decode(p16_other_order, sizeof(p16_other_order), &insn), 0);
	ck_assert_uint_eq(insn.operand_size, 2);
}
END_TEST

/* Neighbours in the opcode map that are other instructions: never completed. */
START_TEST(linux_gap_neighbours)
{
	static const struct {
		uint8_t bytes[6];
		unsigned size;
		int rc;
	} rows[] = {
		{ { 0x0f, 0xae, 0xe8 }, 3, -ENOENT },             /* lfence (/5, mod 3) */
		{ { 0x0f, 0xae, 0xf0 }, 3, -ENOENT },             /* mfence (/6, mod 3) */
		{ { 0x0f, 0xae, 0x3f }, 3, -ENOENT },             /* clflush (/7) */
		{ { 0x66, 0x0f, 0xae, 0x37 }, 4, -ENOENT },       /* clwb (66 /6) */
		{ { 0x0f, 0xc7, 0xf0 }, 3, -ENOENT },             /* rdrand (/6, mod 3) */
		{ { 0x0f, 0xc7, 0xc9 }, 3, -ENOENT },             /* cmpxchg8b with mod 3: #UD */
		{ { 0x0f, 0xb8, 0xd1 }, 3, -ENOENT },             /* 0F B8 without F3 (jmpe) */
		{ { 0xf0, 0xf3, 0x0f, 0xb8, 0xd1 }, 5, -ENOENT }, /* lock popcnt: #UD */
		{ { 0xf0, 0x0f, 0xae, 0x27 }, 4, -ENOENT },       /* lock xsave: #UD */
		{ { 0x0f, 0x01, 0xc8 }, 3, -ENOENT },             /* monitor */
		{ { 0x0f, 0xae }, 2, -EINVAL },                   /* ModRM missing */
		{ { 0xf3, 0x0f, 0xb8, 0x84, 0x24 }, 5, -EINVAL }, /* SIB, no disp32 */
	};
	struct x86_insn insn;

	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_msg(x86_insn_decode(rows[i].bytes, rows[i].size, &insn) == rows[i].rc,
			      "row %u", i);
}
END_TEST

START_TEST(popcnt_effect)
{
	const uint64_t cf = 1, zf = 1 << 6, of = 1 << 11, fixed = 2;
	uint64_t flags;

	ck_assert_uint_eq(x86_popcnt(0xf0f0f0f0f0f0f0f0ull, 8, fixed | cf | of, &flags), 32);
	ck_assert_uint_eq(flags, fixed);
	ck_assert_uint_eq(x86_popcnt(0xffffffff00000001ull, 4, fixed, &flags), 1);
	ck_assert_uint_eq(x86_popcnt(0xffff0000ull, 2, fixed, &flags), 0);
	ck_assert_uint_eq(flags, fixed | zf);
}
END_TEST

START_TEST(cmpxchg_wide_effect)
{
	uint64_t slot[2] __attribute__((aligned(16))) = { 1, 2 };
	uint64_t lo = 1, hi = 2;

	ck_assert(x86_cmpxchg_wide(slot, 16, &lo, &hi, 3, 4));
	ck_assert_uint_eq(slot[0], 3);
	ck_assert_uint_eq(slot[1], 4);
	lo = hi = 0;
	ck_assert(!x86_cmpxchg_wide(slot, 16, &lo, &hi, 5, 6));
	ck_assert_uint_eq(lo, 3);
	ck_assert_uint_eq(hi, 4);
	ck_assert_uint_eq(slot[0], 3);
	/* 8 bytes: EDX:EAX against the operand, ECX:EBX stored. */
	slot[0] = 0x1111111122222222ull;
	lo = 0x22222222;
	hi = 0x11111111;
	ck_assert(x86_cmpxchg_wide(slot, 8, &lo, &hi, 0x44444444, 0x33333333));
	ck_assert_uint_eq(slot[0], 0x3333333344444444ull);
	ck_assert_uint_eq(slot[1], 4);
	ck_assert(!x86_cmpxchg_wide(slot, 8, &lo, &hi, 0, 0));
	ck_assert_uint_eq(lo, 0x44444444);
	ck_assert_uint_eq(hi, 0x33333333);
}
END_TEST

/*
 * A made-up CPU: AVX (2) at 576 + 256, component 3 of 40 bytes at 832,
 * component 5 (64-byte aligned when compacted) of 64 bytes at 896, and a
 * supervisor component 8 (no standard offset) of 16 bytes.
 */
static struct x86_xsave_layout test_layout(void)
{
	struct x86_xsave_layout l = { .known = 0x12f, .align64 = 1u << 5 };

	l.offset[2] = 576;
	l.size[2] = 256;
	l.offset[3] = 832;
	l.size[3] = 40;
	l.offset[5] = 896;
	l.size[5] = 64;
	l.size[8] = 16;
	return l;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void set_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A state image whose every byte is a function of its offset. */
static void fill_state(uint8_t *state, size_t size, uint8_t seed, uint64_t xstate_bv)
{
	for (size_t i = 0; i < size; i++)
		state[i] = (uint8_t)(i * 7 + seed);
	memset(state + 512, 0, 64);
	set_u64(state + 512, xstate_bv);
	uint32_t mxcsr = 0x1f80, mask = 0xffff;

	memcpy(state + 24, &mxcsr, 4);
	memcpy(state + 28, &mask, 4);
}

START_TEST(xsave_offsets)
{
	struct x86_xsave_layout l = test_layout();

	ck_assert_uint_eq(x86_xsave_offset(&l, false, 0, 5), 896);
	ck_assert_uint_eq(x86_xsave_offset(&l, true, 0x2c, 2), 576);
	/* 576 + 256 = 832 for 3; 832 + 40 = 872, aligned up to 896 for 5. */
	ck_assert_uint_eq(x86_xsave_offset(&l, true, 0x2c, 3), 832);
	ck_assert_uint_eq(x86_xsave_offset(&l, true, 0x2c, 5), 896);
	/* Without 3 and 2, 5 is first: 576 (aligned already). */
	ck_assert_uint_eq(x86_xsave_offset(&l, true, 0x20, 5), 576);
	/* Supervisor 8 after 5 in compacted form. */
	ck_assert_uint_eq(x86_xsave_offset(&l, true, 0x124, 8), 576 + 256 + 64);
	ck_assert_uint_eq(x86_xsave_area_size(&l, false, 0x2f), 960);
	ck_assert_uint_eq(x86_xsave_area_size(&l, true, 0x27), 576 + 256 + 64);
	ck_assert_uint_eq(x86_xsave_area_size(&l, false, 3), 576);
}
END_TEST

START_TEST(xsave_standard_effect)
{
	struct x86_xsave_layout l = test_layout();
	static uint8_t state[4096], area[4096];

	fill_state(state, sizeof(state), 1, 0x27); /* x87, SSE, AVX, 5 in use; 3 initial */
	memset(area, 0xee, sizeof(area));
	set_u64(area + 512, 0x8);                   /* component 3 was saved earlier */
	memset(area + 520, 0, 56);
	x86_xsave_save(&l, X86_XSAVE_STANDARD, 0x0f, 0, true, state, area);
	ck_assert_mem_eq(area, state, 160);                 /* x87 + MXCSR */
	ck_assert_mem_eq(area + 160, state + 160, 256);     /* XMM */
	ck_assert_mem_eq(area + 576, state + 576, 256);     /* AVX */
	ck_assert_uint_eq(area[832], 0xee);                 /* 3 initial: not written */
	ck_assert_uint_eq(area[896], 0xee);                 /* 5 not requested */
	ck_assert_uint_eq(get_u64(area + 512), 0x7);        /* 3 now initial; 5 untouched (0) */
	ck_assert_uint_eq(area[416], 0xee);                 /* bytes 416-511 are not written */
	/* The 32-bit form stores FIP/FDP as offsets with selectors 0. */
	x86_xsave_save(&l, X86_XSAVE_STANDARD, 0x1, 0, false, state, area);
	ck_assert_uint_eq(area[12], 0);
	ck_assert_uint_eq(area[20], 0);
	ck_assert_uint_eq(area[8], state[8]);
}
END_TEST

START_TEST(xsave_compacted_round_trip)
{
	struct x86_xsave_layout l = test_layout();
	static uint8_t state[4096], area[4096], back[4096];

	fill_state(state, sizeof(state), 3, 0x2b); /* x87, SSE, 3, 5 in use; AVX initial */
	memset(area, 0xee, sizeof(area));
	x86_xsave_save(&l, X86_XSAVE_COMPACT, 0x2f, 0, true, state, area);
	ck_assert_uint_eq(get_u64(area + 512), 0x2b);
	ck_assert_uint_eq(get_u64(area + 520), 0x2f | X86_XSAVE_COMPACTED);
	ck_assert_mem_eq(area + 832, state + 832, 40);      /* 3 after AVX's reserved room */
	ck_assert_mem_eq(area + 896, state + 896, 64);      /* 5, 64-aligned */
	ck_assert_uint_eq(area[576], 0xee);                 /* AVX initial: room, no bytes */
	/* XRSTOR of the compacted area into a different state. */
	fill_state(back, sizeof(back), 9, 0x7);
	ck_assert_int_eq(x86_xsave_restore(&l, false, 0x2f, 0x2f, 0, 0xffff, area, back), 0);
	ck_assert_mem_eq(back, state, 24);
	ck_assert_mem_eq(back + 160, state + 160, 256);
	ck_assert_mem_eq(back + 832, state + 832, 40);
	ck_assert_mem_eq(back + 896, state + 896, 64);
	for (unsigned i = 576; i < 832; i++)
		ck_assert_uint_eq(back[i], 0);              /* AVX initialised */
	ck_assert_uint_eq(get_u64(back + 512), 0x2b);       /* legacy always given */
}
END_TEST

START_TEST(xrstor_initialises_and_checks)
{
	struct x86_xsave_layout l = test_layout();
	static uint8_t state[4096], area[4096];
	uint32_t mxcsr;

	/* Standard area with only AVX given: x87 and SSE get their initial values. */
	fill_state(state, sizeof(state), 5, 0x7);
	memset(area, 0x11, sizeof(area));
	memset(area + 512, 0, 64);
	set_u64(area + 512, 0x4);
	mxcsr = 0x1f80;
	memcpy(area + 24, &mxcsr, 4);
	ck_assert_int_eq(x86_xsave_restore(&l, false, 0x7, 0x2f, 0, 0xffff, area, state), 0);
	ck_assert_uint_eq(state[0] | state[1] << 8, 0x37f);  /* FCW */
	ck_assert_uint_eq(state[2], 0);                      /* FSW */
	ck_assert_uint_eq(state[160], 0);                    /* XMM0 */
	ck_assert_uint_eq(state[576], 0x11);                 /* AVX loaded */
	/* #GP cases. */
	set_u64(area + 512, 0x40);                           /* 6: not allowed */
	ck_assert_int_eq(x86_xsave_restore(&l, false, 0x7, 0x2f, 0, 0xffff, area, state), -EINVAL);
	set_u64(area + 512, 0x4);
	area[512 + 16] = 1;                                  /* standard: bytes 8-23 nonzero */
	ck_assert_int_eq(x86_xsave_restore(&l, false, 0x7, 0x2f, 0, 0xffff, area, state), -EINVAL);
	area[512 + 16] = 0;
	ck_assert_int_eq(x86_xsave_restore(&l, true, 0x7, 0x2f, 0, 0xffff, area, state), -EINVAL);
	set_u64(area + 520, X86_XSAVE_COMPACTED | 0x3);      /* XSTATE_BV 4 not in XCOMP_BV */
	ck_assert_int_eq(x86_xsave_restore(&l, false, 0x7, 0x2f, 0, 0xffff, area, state), -EINVAL);
	set_u64(area + 520, 0);
	mxcsr = 0x10000;                                     /* reserved MXCSR bit */
	memcpy(area + 24, &mxcsr, 4);
	ck_assert_int_eq(x86_xsave_restore(&l, false, 0x7, 0x2f, 0, 0xffff, area, state), -EINVAL);
}
END_TEST

START_TEST(xsaves_supervisor_components)
{
	struct x86_xsave_layout l = test_layout();
	static uint8_t state[4096], area[4096];

	fill_state(state, sizeof(state), 7, 0x107);
	memset(area, 0xee, sizeof(area));
	x86_xsave_save(&l, X86_XSAVE_COMPACT, 0x107, 0x100, true, state, area);
	ck_assert_uint_eq(get_u64(area + 520), 0x107 | X86_XSAVE_COMPACTED);
	ck_assert_uint_eq(get_u64(area + 512), 0x7);         /* supervisor saved as initial */
	/* XRSTORS takes the compacted area and leaves the supervisor part alone. */
	set_u64(area + 512, 0x107);
	ck_assert_int_eq(x86_xsave_restore(&l, true, 0x107, 0x107, 0x100, 0xffff, area, state), 0);
}
END_TEST

START_TEST(fxsave_round_trip)
{
	static uint8_t state[4096], back[4096], area[512];
	uint32_t bad = 0x10000;

	fill_state(state, sizeof(state), 11, 0x3);
	memset(area, 0xee, sizeof(area));
	x86_fxsave(true, state, area);
	ck_assert_mem_eq(area, state, 416);
	ck_assert_uint_eq(area[416], 0xee);
	fill_state(back, sizeof(back), 13, 0);
	ck_assert_int_eq(x86_fxrstor(0xffff, area, back), 0);
	ck_assert_mem_eq(back, state, 416);
	ck_assert_uint_eq(get_u64(back + 512) & 3, 3);
	memcpy(area + 24, &bad, 4);
	ck_assert_int_eq(x86_fxrstor(0xffff, area, back), -EINVAL);
}
END_TEST

START_TEST(host_layout_is_sane)
{
	struct x86_xsave_layout l;

	x86_xsave_layout_host(&l);
	ck_assert_uint_eq(l.known & 3, 3);
	if (l.known & 4) { /* AVX, where the CPU has it, is at 576 in the standard form */
		ck_assert_uint_eq(l.offset[2], 576);
		ck_assert_uint_eq(l.size[2], 256);
	}
	ck_assert_uint_le(x86_xsave_area_size(&l, false, l.known), X86_XSAVE_MAX_SIZE);
}
END_TEST

START_TEST(counts_format)
{
	struct x86_insn_state state;
	char text[128];

	memset(&state, 0, sizeof(state));
	x86_insn_format_counts(&state, text, sizeof(text));
	ck_assert_str_eq(text, "none");
	state.completed[X86_INSN_XRSTOR] = 2;
	state.completed[X86_INSN_CMPXCHG16B] = 7;
	state.faults_injected = 1;
	x86_insn_format_counts(&state, text, sizeof(text));
	ck_assert_str_eq(text, "xrstor=2 cmpxchg16b=7 faults-injected=1");
	x86_insn_format_counts(&state, text, 8); /* truncates, stays terminated */
	ck_assert_uint_eq(strlen(text), 7);
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
	tcase_add_test(tc, linux_gap_forms);
	tcase_add_test(tc, linux_gap_operand_sizes);
	tcase_add_test(tc, linux_gap_neighbours);
	suite_add_tcase(suite, tc);

	TCase *effects = tcase_create("effects");

	tcase_add_test(effects, popcnt_effect);
	tcase_add_test(effects, cmpxchg_wide_effect);
	tcase_add_test(effects, xsave_offsets);
	tcase_add_test(effects, xsave_standard_effect);
	tcase_add_test(effects, xsave_compacted_round_trip);
	tcase_add_test(effects, xrstor_initialises_and_checks);
	tcase_add_test(effects, xsaves_supervisor_components);
	tcase_add_test(effects, fxsave_round_trip);
	tcase_add_test(effects, host_layout_is_sane);
	tcase_add_test(effects, counts_format);
	suite_add_tcase(suite, effects);
	return suite;
}
