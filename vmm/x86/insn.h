/* SPDX-License-Identifier: MIT */
/*
 * The instruction completer: finishes, in user space, guest instructions
 * that KVM stops on with an emulation failure (KVM_EXIT_INTERNAL_ERROR,
 * suberror KVM_INTERNAL_ERROR_EMULATION, instruction bytes included).
 *
 * On this project's hosts a MOVDIR64B or ENQCMD whose destination is a
 * guest-physical address without a memslot (a trapped device portal) ends
 * exactly so: KVM's emulator has no entry for 0F 38 F8 (device-facts 3.7).
 * The completer decodes the instruction with a table (x86_insn_table in
 * insn.c: one row per instruction, adding one is adding a row and its
 * completion function), reads the 64-byte source through the guest's page
 * tables (KVM_TRANSLATE, then guest_memory_ptr), hands the store to the
 * device that claims the destination, sets ZF for ENQCMD (0 accepted,
 * 1 retry) and advances RIP.
 *
 * Devices claim 64-byte stores by registering a target (before the vCPUs
 * run; removed after they stop), so the exit path reads the table without
 * a lock. An instruction the table does not know stops the VM with a report
 * naming its bytes and RIP.
 */
#ifndef VMM_X86_INSN_H
#define VMM_X86_INSN_H

#include <stdbool.h>
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
};

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

/*
 * From the vCPU thread, on KVM_EXIT_INTERNAL_ERROR with suberror
 * KVM_INTERNAL_ERROR_EMULATION. Returns true when the instruction was
 * completed (or an exception injected) and the vCPU may run on; false
 * (after logging the bytes and RIP) when the VM must stop.
 */
bool x86_insn_complete(struct vcpu *vcpu);

#endif
