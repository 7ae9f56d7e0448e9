/* SPDX-License-Identifier: MIT */
/*
 * Shared by the completer's files (insn.c: decode, dispatch, memory and
 * simple instructions; insn_xsave.c: the XSAVE family). Not an interface
 * for anything else.
 */
#ifndef VMM_X86_INSN_INTERNAL_H
#define VMM_X86_INSN_INTERNAL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/x86/insn.h"

#define X86_UD_VECTOR 6
#define X86_GP_VECTOR 13
#define X86_PF_VECTOR 14
#define X86_BP_VECTOR 3

struct x86_insn_ctx {
	struct vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool synced;                /* regs/sregs came from kvm_run->s.regs */
	bool faulted;               /* an exception was injected instead */
	const struct x86_insn *insn;
};

/* Write back ctx->regs (RIP, flags, results). Returns 0 or -errno. */
int x86_insn_store_regs(struct x86_insn_ctx *ctx);
/* Raise an exception in the guest; RIP stays at the instruction. */
int x86_insn_inject(struct x86_insn_ctx *ctx, unsigned vector, bool has_error_code,
		    uint32_t error_code);

/* Linear address of the memory operand, segment base included. */
uint64_t x86_insn_operand_linear(const struct x86_insn_ctx *ctx);

/*
 * Copy guest-linear memory through the guest's page tables. Returns 0,
 * 1 when the access faults (the #PF/#GP is injected: the caller stops and
 * returns 0), or -errno (page tables or data outside RAM: stop the VM).
 * A write checks every page before writing any byte.
 */
int x86_insn_read(struct x86_insn_ctx *ctx, uint64_t linear, void *buf, size_t len);
int x86_insn_write(struct x86_insn_ctx *ctx, uint64_t linear, const void *buf, size_t len);

/* The XSAVE family's completion functions (insn_xsave.c). */
int x86_complete_fxsave(struct x86_insn_ctx *ctx);
int x86_complete_fxrstor(struct x86_insn_ctx *ctx);
int x86_complete_xsave(struct x86_insn_ctx *ctx);
int x86_complete_xrstor(struct x86_insn_ctx *ctx);

#endif
