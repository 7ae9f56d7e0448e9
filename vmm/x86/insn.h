/* SPDX-License-Identifier: MIT */
/*
 * The instruction completer: finishes, in user space, guest instructions
 * that KVM stops on with an emulation failure (KVM_EXIT_INTERNAL_ERROR,
 * suberror KVM_INTERNAL_ERROR_EMULATION, instruction bytes included).
 *
 * Two sources of such exits:
 *  - MOVDIR64B or ENQCMD whose destination is a guest-physical address
 *    without a memslot (a trapped device portal): KVM's emulator has no
 *    entry for 0F 38 F8 (device-facts 3.7). The completer reads the 64-byte
 *    source, hands the store to the device that claims the destination, sets
 *    ZF for ENQCMD (0 accepted, 1 retry) and advances RIP.
 *  - On hosts without hardware virtualization, KVM emulates guest CPL 0 and
 *    its emulator lacks instructions Linux uses (reference/kvm-here.md):
 *    the XSAVE family (FXSAVE, FXRSTOR, XSAVE, XSAVEOPT, XSAVEC, XSAVES,
 *    XRSTOR, XRSTORS; standard and compacted layouts, applied to the vCPU
 *    through KVM_GET/SET_XSAVE), INT3 (delivered as a trap), CLAC/STAC,
 *    POPCNT and CMPXCHG8B/16B (SLUB's lockless fast path; done with the
 *    host's own locked instruction on the guest page, so it stays atomic).
 *
 * Decoding is table-driven (x86_insn_table in insn.c: one row per
 * instruction, adding one is adding a row and its completion function):
 * legacy prefixes, REX, opcode, ModRM with its opcode extension, SIB,
 * displacement, RIP-relative addressing. Guest memory is reached only
 * through the guest's own page tables (x86_page_walk, or KVM_TRANSLATE
 * outside 4-level paging) and guest_memory_ptr(); a fault the CPU would
 * raise (#PF, #GP, #UD) is injected instead. An instruction the table does
 * not know stops the VM with a report naming its bytes and RIP.
 *
 * Devices claim 64-byte stores by registering a target (before the vCPUs
 * run; removed after they stop), so the exit path reads the table without
 * a lock. Completions are counted by kind (struct x86_insn_state) and
 * reported when the VM stops.
 */
#ifndef VMM_X86_INSN_H
#define VMM_X86_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct kvm_regs;
struct kvm_sregs;
struct guest_memory;

#define X86_INSN_MAX_LENGTH  15
#define X86_INSN_MAX_TARGETS 16

enum x86_store64_kind {
	X86_STORE64_MOVDIR64B,   /* posted: no status */
	X86_STORE64_ENQCMD,      /* non-posted: accepted or retry; PASID from IA32_PASID */
	X86_STORE64_ENQCMDS,     /* supervisor form: PASID and priv from the source */
};

/*
 * A 64-byte store to gpa. Return false when gpa is not this target's;
 * otherwise set *accepted (ENQCMD: false means retry, ZF = 1).
 */
typedef bool x86_store64_fn(void *opaque, uint64_t gpa, const uint8_t data[64],
			    enum x86_store64_kind kind, bool *accepted);

struct x86_insn_targets {
	struct {
		x86_store64_fn *store64;
		void *opaque;
	} entry[X86_INSN_MAX_TARGETS];
	unsigned count;
};

/* Before vCPUs run. Returns 0 or -ENOSPC. */
int x86_insn_add_target(struct x86_insn_targets *targets, x86_store64_fn *store64, void *opaque);
/* After vCPUs stopped: drop every entry with this opaque. */
void x86_insn_remove_target(struct x86_insn_targets *targets, const void *opaque);

/* ---- decoding (pure; unit-tested) ---- */

enum x86_insn_id {
	X86_INSN_UNKNOWN,
	X86_INSN_MOVDIR64B,
	X86_INSN_ENQCMD,
	X86_INSN_ENQCMDS,
	X86_INSN_FXSAVE,
	X86_INSN_FXRSTOR,
	X86_INSN_XSAVE,
	X86_INSN_XSAVEOPT,
	X86_INSN_XSAVEC,
	X86_INSN_XSAVES,
	X86_INSN_XRSTOR,
	X86_INSN_XRSTORS,
	X86_INSN_INT3,
	X86_INSN_CLAC,
	X86_INSN_STAC,
	X86_INSN_POPCNT,
	X86_INSN_CMPXCHG8B,
	X86_INSN_CMPXCHG16B,
	X86_INSN_COUNT,         /* number of ids, for per-kind counters */
};

/* The mnemonic of an id ("unknown" for X86_INSN_UNKNOWN). */
const char *x86_insn_name(enum x86_insn_id id);

struct x86_insn {
	enum x86_insn_id id;
	const char *name;
	uint8_t length;
	uint8_t rex;
	uint8_t segment;        /* override prefix byte (0x64 fs, 0x65 gs...) or 0 */
	bool address_size_32;   /* 0x67 prefix */
	uint8_t modrm, sib;
	bool has_sib;
	bool rip_relative;
	int32_t displacement;
	uint8_t reg;            /* ModRM.reg with REX.R */
	bool has_modrm;
	uint8_t operand_size;   /* 2, 4 or 8: 66 prefix and REX.W */
};

/*
 * Decode one 64-bit-mode instruction from bytes. Returns 0 (known, *insn
 * filled), -ENOENT (well-formed but not in the table: insn->length may
 * still be 0) or -EINVAL (truncated or malformed).
 */
int x86_insn_decode(const uint8_t *bytes, unsigned size, struct x86_insn *insn);

/* Effective (linear, before segment base) address of the memory operand. */
uint64_t x86_insn_memory_operand(const struct x86_insn *insn, const struct kvm_regs *regs);
/* The general register numbered 0-15 (rax..r15). */
uint64_t x86_insn_gpr(const struct kvm_regs *regs, unsigned index);

/*
 * The CPU's 4-level page walk for a data access at the privilege level of
 * sregs->cs (present; user pages for CPL 3; writable for stores, CR0.WP at
 * CPL 0). Accessed/dirty bits are not set. Returns 0 with *gpa, -1 for a
 * page fault (*pf_error: the #PF error code), -EFAULT when the tables are
 * not in RAM, -ENOTSUP outside 4-level long mode.
 */
int x86_page_walk(const struct guest_memory *mem, const struct kvm_sregs *sregs, uint64_t linear,
		  bool write, uint64_t *gpa, uint32_t *pf_error);

/* ---- XSAVE layouts (pure; unit-tested) ---- */

#define X86_XSAVE_COMPONENTS   32u
#define X86_XSAVE_LEGACY_SIZE  512u
#define X86_XSAVE_HEADER_SIZE  64u
#define X86_XSAVE_EXTENDED     (X86_XSAVE_LEGACY_SIZE + X86_XSAVE_HEADER_SIZE) /* 576 */
#define X86_XSAVE_COMPACTED    (1ull << 63) /* XCOMP_BV bit 63: compacted format */
#define X86_XSAVE_MAX_SIZE     16384u       /* largest area the completer handles */

/* Where state components live, from CPUID leaf 0xD (components 2 and up). */
struct x86_xsave_layout {
	uint64_t known;                          /* components with a size */
	uint64_t align64;                        /* 64-byte aligned when compacted */
	uint32_t offset[X86_XSAVE_COMPONENTS];   /* standard format (0 for supervisor) */
	uint32_t size[X86_XSAVE_COMPONENTS];
};

/* The host's layout (the CPU's, which KVM's XSAVE buffer also follows). */
void x86_xsave_layout_host(struct x86_xsave_layout *layout);

/* Offset of component i (>= 2) in an area, standard or compacted with xcomp_bv. */
uint32_t x86_xsave_offset(const struct x86_xsave_layout *layout, bool compacted, uint64_t xcomp_bv,
			  unsigned i);
/* Bytes an instruction with this requested-feature bitmap touches. */
uint32_t x86_xsave_area_size(const struct x86_xsave_layout *layout, bool compacted, uint64_t rfbm);

enum x86_xsave_form {
	X86_XSAVE_STANDARD,   /* XSAVE, XSAVEOPT */
	X86_XSAVE_COMPACT,    /* XSAVEC, XSAVES */
};

/*
 * Save: from `state` (a standard-format image of the vCPU's state as
 * KVM_GET_XSAVE returns it; its XSTATE_BV is the in-use bitmap) into
 * `area` (the guest's bytes at the operand, at least x86_xsave_area_size
 * long), for the components in rfbm. supervisor: components saved as
 * initial (their state is not in KVM's buffer). rex_w: the 64-bit forms'
 * x87 pointer format.
 */
void x86_xsave_save(const struct x86_xsave_layout *layout, enum x86_xsave_form form, uint64_t rfbm,
		    uint64_t supervisor, bool rex_w, const uint8_t *state, uint8_t *area);

/*
 * Restore (XRSTOR, XRSTORS): from `area` into `state`, the components in
 * rfbm; those whose XSTATE_BV bit is clear get their initial value. Returns
 * 0, or -EINVAL where the CPU raises #GP (bad header, reserved MXCSR bits,
 * compacted form required by XRSTORS). allowed: bits the header may name
 * (XCR0, plus IA32_XSS for XRSTORS); mxcsr_mask: writable MXCSR bits.
 */
int x86_xsave_restore(const struct x86_xsave_layout *layout, bool xrstors, uint64_t rfbm,
		      uint64_t allowed, uint64_t supervisor, uint32_t mxcsr_mask,
		      const uint8_t *area, uint8_t *state);

/* FXSAVE/FXRSTOR: the 512-byte legacy region (x87, MXCSR, XMM0-15). */
void x86_fxsave(bool rex_w, const uint8_t *state, uint8_t *area);
int x86_fxrstor(uint32_t mxcsr_mask, const uint8_t *area, uint8_t *state);

/* POPCNT's result and flags (ZF set when the source is 0, others clear). */
uint64_t x86_popcnt(uint64_t value, unsigned operand_size, uint64_t rflags, uint64_t *rflags_out);

/*
 * CMPXCHG8B (size 8) / CMPXCHG16B (size 16) on host memory: compare
 * *expected_hi:*expected_lo (EDX:EAX or RDX:RAX) with the operand; if equal
 * store new_hi:new_lo (ECX:EBX or RCX:RBX) and return true, else load the
 * operand into the expected pair and return false. Atomic (LOCK).
 */
bool x86_cmpxchg_wide(void *operand, unsigned size, uint64_t *expected_lo, uint64_t *expected_hi,
		      uint64_t new_lo, uint64_t new_hi);

/* ---- per-VM state: layout and counters ---- */

struct x86_insn_state {
	struct x86_xsave_layout xsave;
	uint64_t completed[X86_INSN_COUNT];  /* by kind; updated atomically */
	uint64_t faults_injected;            /* #PF/#GP/#UD raised instead */
};

/* Before the vCPUs run. */
void x86_insn_state_init(struct x86_insn_state *state);
/* "xsave=12 xrstor=30 ..." for the kinds seen, or "none". */
void x86_insn_format_counts(const struct x86_insn_state *state, char *out, size_t size);

/*
 * From the vCPU thread, on KVM_EXIT_INTERNAL_ERROR with suberror
 * KVM_INTERNAL_ERROR_EMULATION. Returns true when the instruction was
 * completed (or an exception injected) and the vCPU may run on; false
 * (after logging the bytes and RIP) when the VM must stop.
 */
bool x86_insn_complete(struct vcpu *vcpu);

#endif
