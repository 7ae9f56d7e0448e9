/* SPDX-License-Identifier: MIT */
#include "vmm/x86/insn.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define RFLAGS_CF (1ull << 0)
#define RFLAGS_PF (1ull << 2)
#define RFLAGS_AF (1ull << 4)
#define RFLAGS_ZF (1ull << 6)
#define RFLAGS_SF (1ull << 7)
#define RFLAGS_OF (1ull << 11)
#define MSR_IA32_PASID 0xd93
#define PASID_VALID    (1ull << 31)
#define X86_GP_VECTOR  13

struct x86_insn_ctx {
	struct vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool synced;                /* regs/sregs came from kvm_run->s.regs */
	const struct x86_insn *insn;
};

typedef int x86_complete_fn(struct x86_insn_ctx *ctx);

/* One row per instruction the completer knows. */
struct x86_insn_def {
	enum x86_insn_id id;
	const char *name;
	uint8_t mandatory_prefix;  /* 0x66, 0xf2, 0xf3, or 0 for none */
	uint8_t opcode[3];         /* after the prefixes and REX */
	uint8_t opcode_length;
	bool memory_only;          /* ModRM.mod must not be 3 */
	x86_complete_fn *complete;
};

static x86_complete_fn complete_store64;

static const struct x86_insn_def x86_insn_table[] = {
	{ X86_INSN_MOVDIR64B, "movdir64b", 0x66, { 0x0f, 0x38, 0xf8 }, 3, true, complete_store64 },
	{ X86_INSN_ENQCMD, "enqcmd", 0xf2, { 0x0f, 0x38, 0xf8 }, 3, true, complete_store64 },
	{ X86_INSN_ENQCMDS, "enqcmds", 0xf3, { 0x0f, 0x38, 0xf8 }, 3, true, complete_store64 },
};

#define TABLE_SIZE (sizeof(x86_insn_table) / sizeof(x86_insn_table[0]))

/* ---- targets ---- */

int x86_insn_add_target(struct x86_insn_targets *targets, x86_store64_fn *store64, void *opaque)
{
	if (targets->count == X86_INSN_MAX_TARGETS)
		return -ENOSPC;
	targets->entry[targets->count].store64 = store64;
	targets->entry[targets->count].opaque = opaque;
	targets->count++;
	return 0;
}

void x86_insn_remove_target(struct x86_insn_targets *targets, const void *opaque)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < targets->count; i++)
		if (targets->entry[i].opaque != opaque)
			targets->entry[kept++] = targets->entry[i];
	targets->count = kept;
}

/* ---- decoding ---- */

static bool is_legacy_prefix(uint8_t b)
{
	return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x26 ||
	       b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65;
}

struct prefixes {
	uint8_t last_mandatory;  /* the last of 66/f2/f3 */
	uint8_t segment;
	bool address_size_32;
	bool lock;
};

static unsigned parse_prefixes(const uint8_t *bytes, unsigned size, struct prefixes *p)
{
	unsigned i = 0;

	memset(p, 0, sizeof(*p));
	for (; i < size && is_legacy_prefix(bytes[i]); i++) {
		uint8_t b = bytes[i];

		if (b == 0x66 || b == 0xf2 || b == 0xf3)
			p->last_mandatory = b;
		else if (b == 0x67)
			p->address_size_32 = true;
		else if (b == 0xf0)
			p->lock = true;
		else
			p->segment = b;
	}
	return i;
}

static const struct x86_insn_def *find_def(const uint8_t *opcode, unsigned available,
					   uint8_t mandatory)
{
	for (unsigned i = 0; i < TABLE_SIZE; i++) {
		const struct x86_insn_def *def = &x86_insn_table[i];

		if (available >= def->opcode_length && def->mandatory_prefix == mandatory &&
		    memcmp(opcode, def->opcode, def->opcode_length) == 0)
			return def;
	}
	return NULL;
}

/* ModRM, SIB and displacement; returns bytes used or -EINVAL. */
static int parse_modrm(const uint8_t *bytes, unsigned size, struct x86_insn *insn)
{
	unsigned used = 1;

	if (size < 1)
		return -EINVAL;
	insn->modrm = bytes[0];
	unsigned mod = insn->modrm >> 6, rm = insn->modrm & 7;

	insn->reg = (uint8_t)(((insn->modrm >> 3) & 7) | ((insn->rex & 4) << 1));
	if (mod != 3 && rm == 4) {
		if (size < 2)
			return -EINVAL;
		insn->sib = bytes[1];
		insn->has_sib = true;
		used++;
	}
	unsigned disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;

	if (mod == 0 && rm == 5) {
		insn->rip_relative = true;
		disp_size = 4;
	} else if (mod == 0 && insn->has_sib && (insn->sib & 7) == 5) {
		disp_size = 4; /* no base register */
	}
	if (size < used + disp_size)
		return -EINVAL;
	if (disp_size == 1)
		insn->displacement = (int8_t)bytes[used];
	else if (disp_size == 4)
		insn->displacement = (int32_t)((uint32_t)bytes[used] | (uint32_t)bytes[used + 1] << 8 |
					       (uint32_t)bytes[used + 2] << 16 |
					       (uint32_t)bytes[used + 3] << 24);
	return (int)(used + disp_size);
}

int x86_insn_decode(const uint8_t *bytes, unsigned size, struct x86_insn *insn)
{
	struct prefixes p;
	unsigned i;

	memset(insn, 0, sizeof(*insn));
	if (size > X86_INSN_MAX_LENGTH)
		size = X86_INSN_MAX_LENGTH;
	i = parse_prefixes(bytes, size, &p);
	if (i < size && (bytes[i] & 0xf0) == 0x40)
		insn->rex = bytes[i++];
	const struct x86_insn_def *def = find_def(bytes + i, size - i, p.last_mandatory);

	if (!def)
		return i < size ? -ENOENT : -EINVAL;
	i += def->opcode_length;
	int used = parse_modrm(bytes + i, size - i, insn);

	if (used < 0)
		return used;
	if (p.lock || (def->memory_only && (insn->modrm >> 6) == 3))
		return -ENOENT; /* #UD on hardware; not ours to complete */
	insn->id = def->id;
	insn->name = def->name;
	insn->length = (uint8_t)(i + (unsigned)used);
	insn->segment = p.segment;
	insn->address_size_32 = p.address_size_32;
	return 0;
}

uint64_t x86_insn_gpr(const struct kvm_regs *regs, unsigned index)
{
	const uint64_t gprs[16] = {
		regs->rax, regs->rcx, regs->rdx, regs->rbx, regs->rsp, regs->rbp, regs->rsi,
		regs->rdi, regs->r8, regs->r9, regs->r10, regs->r11, regs->r12, regs->r13,
		regs->r14, regs->r15,
	};

	return gprs[index & 15];
}

uint64_t x86_insn_memory_operand(const struct x86_insn *insn, const struct kvm_regs *regs)
{
	unsigned rm = (insn->modrm & 7) | ((insn->rex & 1) << 3);
	uint64_t address;

	if (insn->rip_relative) {
		address = regs->rip + insn->length + (uint64_t)(int64_t)insn->displacement;
	} else if (insn->has_sib) {
		unsigned base = (insn->sib & 7) | ((insn->rex & 1) << 3);
		unsigned index = ((insn->sib >> 3) & 7) | ((insn->rex & 2) << 2);
		bool no_base = (insn->modrm >> 6) == 0 && (insn->sib & 7) == 5;

		address = no_base ? 0 : x86_insn_gpr(regs, base);
		if (index != 4)
			address += x86_insn_gpr(regs, index) << (insn->sib >> 6);
		address += (uint64_t)(int64_t)insn->displacement;
	} else {
		address = x86_insn_gpr(regs, rm) + (uint64_t)(int64_t)insn->displacement;
	}
	return insn->address_size_32 ? (uint32_t)address : address;
}

/* ---- completion ---- */

#define CR0_WP   (1ull << 16)
#define CR0_PG   (1ull << 31)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)
#define PTE_P    (1ull << 0)
#define PTE_W    (1ull << 1)
#define PTE_U    (1ull << 2)
#define PTE_PS   (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define PF_P     (1u << 0)
#define PF_W     (1u << 1)
#define PF_U     (1u << 2)
#define X86_PF_VECTOR 14
#define SYNC_STATE (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)

/*
 * Registers come from kvm_run (KVM_CAP_SYNC_REGS) once the first completion
 * has asked KVM to sync them: every vCPU ioctl costs a vcpu_load, which on
 * nested hosts reads MSRs through the outer hypervisor (tens of us).
 */
static int load_state(struct x86_insn_ctx *ctx)
{
	struct kvm_run *run = ctx->vcpu->run;

	if ((run->kvm_valid_regs & SYNC_STATE) == SYNC_STATE) {
		ctx->regs = run->s.regs.regs;
		ctx->sregs = run->s.regs.sregs;
		ctx->synced = true;
		return 0;
	}
	if (ioctl(ctx->vcpu->fd, KVM_GET_REGS, &ctx->regs) < 0 ||
	    ioctl(ctx->vcpu->fd, KVM_GET_SREGS, &ctx->sregs) < 0)
		return -errno;
	int caps = ioctl(ctx->vcpu->vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);

	if (caps > 0 && ((unsigned)caps & SYNC_STATE) == SYNC_STATE)
		run->kvm_valid_regs |= SYNC_STATE;
	return 0;
}

static int store_regs(struct x86_insn_ctx *ctx)
{
	struct kvm_run *run = ctx->vcpu->run;

	if (ctx->synced) {
		run->s.regs.regs = ctx->regs;
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		return 0;
	}
	return ioctl(ctx->vcpu->fd, KVM_SET_REGS, &ctx->regs) < 0 ? -errno : 0;
}

static int inject(struct x86_insn_ctx *ctx, unsigned vector, uint32_t error_code)
{
	struct kvm_vcpu_events events;

	if (ioctl(ctx->vcpu->fd, KVM_GET_VCPU_EVENTS, &events) < 0)
		return -errno;
	events.exception.injected = 1;
	events.exception.nr = (uint8_t)vector;
	events.exception.has_error_code = 1;
	events.exception.error_code = error_code;
	events.flags = 0;
	return ioctl(ctx->vcpu->fd, KVM_SET_VCPU_EVENTS, &events) < 0 ? -errno : 0;
}

static int inject_gp(struct x86_insn_ctx *ctx)
{
	return inject(ctx, X86_GP_VECTOR, 0);
}

static int inject_page_fault(struct x86_insn_ctx *ctx, uint64_t linear, uint32_t error_code)
{
	ctx->sregs.cr2 = linear;
	if (ioctl(ctx->vcpu->fd, KVM_SET_SREGS, &ctx->sregs) < 0)
		return -errno;
	return inject(ctx, X86_PF_VECTOR, error_code);
}

static int translate_ioctl(const struct x86_insn_ctx *ctx, uint64_t linear, uint64_t *gpa)
{
	struct kvm_translation tr = { .linear_address = linear };

	if (ioctl(ctx->vcpu->fd, KVM_TRANSLATE, &tr) < 0)
		return -errno;
	*gpa = tr.physical_address;
	return tr.valid ? 0 : -1; /* -1: not present */
}

static bool canonical(uint64_t linear)
{
	return (uint64_t)((int64_t)(linear << 16) >> 16) == linear;
}

int x86_page_walk(const struct guest_memory *mem, const struct kvm_sregs *sregs, uint64_t linear,
		  bool write, uint64_t *gpa, uint32_t *pf_error)
{
	bool user = (sregs->cs.selector & 3) == 3, wp = sregs->cr0 & CR0_WP;
	uint64_t table = sregs->cr3 & PTE_ADDR;

	*pf_error = (write ? PF_W : 0) | (user ? PF_U : 0);
	if (!(sregs->cr0 & CR0_PG) || !(sregs->efer & EFER_LMA) || (sregs->cr4 & CR4_LA57))
		return -ENOTSUP;
	for (int level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		const uint64_t *slot = guest_memory_ptr(mem, table + ((linear >> shift) & 511) * 8, 8);

		if (!slot)
			return -EFAULT; /* page tables outside RAM */
		uint64_t entry = __atomic_load_n(slot, __ATOMIC_RELAXED);

		if (!(entry & PTE_P))
			return -1;
		if ((user && !(entry & PTE_U)) || (write && !(entry & PTE_W) && (user || wp))) {
			*pf_error |= PF_P;
			return -1;
		}
		if (level == 1 || ((level == 2 || level == 3) && (entry & PTE_PS))) {
			uint64_t page_mask = (1ull << shift) - 1;

			*gpa = (entry & PTE_ADDR & ~page_mask) | (linear & page_mask);
			return 0;
		}
		table = entry & PTE_ADDR;
	}
	return -EFAULT;
}

/* The CPU's view of this access; KVM_TRANSLATE for paging modes the walk does not do. */
static int walk(const struct x86_insn_ctx *ctx, uint64_t linear, bool write, uint64_t *gpa,
		uint32_t *pf_error)
{
	int rc = x86_page_walk(&ctx->vcpu->vm->ram, &ctx->sregs, linear, write, gpa, pf_error);

	return rc == -ENOTSUP ? translate_ioctl(ctx, linear, gpa) : rc;
}

/* Translate or inject the fault; 1 means "fault injected, stop here". */
static int translate(struct x86_insn_ctx *ctx, uint64_t linear, bool write, uint64_t *gpa)
{
	uint32_t pf_error;
	int rc;

	if (!canonical(linear))
		return inject_gp(ctx) ?: 1;
	rc = walk(ctx, linear, write, gpa, &pf_error);
	if (rc == -1)
		return inject_page_fault(ctx, linear, pf_error) ?: 1;
	return rc;
}

/* Read guest-linear [linear, linear + 64) page by page through the guest's page tables. */
static int read_linear(struct x86_insn_ctx *ctx, uint64_t linear, uint8_t out[64])
{
	for (unsigned done = 0; done < 64;) {
		uint64_t gpa = 0, in_page = 4096 - ((linear + done) & 4095);
		unsigned chunk = in_page < 64u - done ? (unsigned)in_page : 64u - done;
		int rc = translate(ctx, linear + done, false, &gpa);

		if (rc)
			return rc;
		const void *src = guest_memory_ptr(&ctx->vcpu->vm->ram, gpa, chunk);

		if (!src)
			return -EFAULT;
		memcpy(out + done, src, chunk);
		done += chunk;
	}
	return 0;
}

static uint64_t segment_base(const struct x86_insn_ctx *ctx)
{
	switch (ctx->insn->segment) {
	case 0x64:
		return ctx->sregs.fs.base;
	case 0x65:
		return ctx->sregs.gs.base;
	default:
		return 0; /* 64-bit mode: ES/CS/SS/DS bases are 0 */
	}
}

/* ENQCMD takes the PASID from IA32_PASID and clears the privilege bit. */
static int enqcmd_pasid(const struct x86_insn_ctx *ctx, uint8_t data[64])
{
	struct {
		struct kvm_msrs header;
		struct kvm_msr_entry entry;
	} msrs = { .header.nmsrs = 1, .entry.index = MSR_IA32_PASID };
	uint32_t word;

	if (ioctl(ctx->vcpu->fd, KVM_GET_MSRS, &msrs) != 1 || !(msrs.entry.data & PASID_VALID))
		return -EINVAL;
	word = (uint32_t)(msrs.entry.data & 0xfffff);
	memcpy(data, &word, 4);
	return 0;
}

static bool deliver(struct vm *vm, uint64_t gpa, const uint8_t data[64], enum x86_store64_kind kind)
{
	const struct x86_insn_targets *targets = &vm->insn_targets;
	bool accepted = false;

	for (unsigned i = 0; i < targets->count; i++)
		if (targets->entry[i].store64(targets->entry[i].opaque, gpa, data, kind, &accepted))
			return accepted;
	log_debug("64-byte store to %#llx: no device there, dropped", (unsigned long long)gpa);
	return false;
}

static enum x86_store64_kind store_kind(enum x86_insn_id id)
{
	return id == X86_INSN_ENQCMD ? X86_STORE64_ENQCMD :
	       id == X86_INSN_ENQCMDS ? X86_STORE64_ENQCMDS : X86_STORE64_MOVDIR64B;
}

/* MOVDIR64B/ENQCMD(S) reg, m512: 64 bytes from m512 to the address in reg. */
static int complete_store64(struct x86_insn_ctx *ctx)
{
	const struct x86_insn *insn = ctx->insn;
	uint64_t dst = x86_insn_gpr(&ctx->regs, insn->reg), dst_gpa = 0;
	uint64_t src = x86_insn_memory_operand(insn, &ctx->regs) + segment_base(ctx);
	uint8_t data[64];
	int rc;

	if (insn->address_size_32)
		dst = (uint32_t)dst;
	if (dst % 64)
		return inject_gp(ctx); /* the destination must be 64-byte aligned */
	if ((rc = read_linear(ctx, src, data)) || (rc = translate(ctx, dst, true, &dst_gpa))) {
		if (rc == 1)
			return 0; /* the guest takes #PF/#GP; RIP stays */
		log_error("vcpu %u: %s at rip=%#llx: source %#llx is not in guest RAM",
			  ctx->vcpu->index, insn->name, (unsigned long long)ctx->regs.rip,
			  (unsigned long long)src);
		return rc;
	}
	if (insn->id == X86_INSN_ENQCMD && enqcmd_pasid(ctx, data))
		return inject_gp(ctx); /* IA32_PASID not valid */
	bool accepted = deliver(ctx->vcpu->vm, dst_gpa, data, store_kind(insn->id));

	if (insn->id != X86_INSN_MOVDIR64B) {
		ctx->regs.rflags &= ~(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF);
		ctx->regs.rflags |= accepted ? 0 : RFLAGS_ZF;
	}
	ctx->regs.rip += insn->length;
	return store_regs(ctx);
}

/* The instruction bytes KVM reported, or (older kernels) read at RIP. */
static unsigned instruction_bytes(struct x86_insn_ctx *ctx, uint8_t *bytes)
{
	const struct kvm_run *run = ctx->vcpu->run;
	uint64_t gpa = 0;
	uint32_t pf_error;
	const void *p;

	if (run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned size = run->emulation_failure.insn_size;

		size = size > X86_INSN_MAX_LENGTH ? X86_INSN_MAX_LENGTH : size;
		memcpy(bytes, run->emulation_failure.insn_bytes, size);
		return size;
	}
	if (walk(ctx, ctx->regs.rip + ctx->sregs.cs.base, false, &gpa, &pf_error) ||
	    !(p = guest_memory_ptr(&ctx->vcpu->vm->ram, gpa, X86_INSN_MAX_LENGTH)))
		return 0;
	memcpy(bytes, p, X86_INSN_MAX_LENGTH);
	return X86_INSN_MAX_LENGTH;
}

static void report_unknown(const struct x86_insn_ctx *ctx, const uint8_t *bytes, unsigned size)
{
	char text[3 * X86_INSN_MAX_LENGTH + 1] = "";

	for (unsigned i = 0; i < size; i++)
		snprintf(text + 3 * i, sizeof(text) - 3 * i, "%02x ", bytes[i]);
	log_error("vcpu %u: KVM cannot emulate the instruction at rip=%#llx and the VMM does not "
		  "know it either; bytes: %s", ctx->vcpu->index, (unsigned long long)ctx->regs.rip,
		  size ? text : "(unavailable)");
}

bool x86_insn_complete(struct vcpu *vcpu)
{
	struct x86_insn_ctx ctx = { .vcpu = vcpu };
	uint8_t bytes[X86_INSN_MAX_LENGTH] = { 0 };
	struct x86_insn insn;

	if (load_state(&ctx))
		return false;
	unsigned size = instruction_bytes(&ctx, bytes);

	if (!ctx.sregs.cs.l || x86_insn_decode(bytes, size, &insn)) {
		report_unknown(&ctx, bytes, size);
		return false;
	}
	ctx.insn = &insn;
	for (unsigned i = 0; i < TABLE_SIZE; i++)
		if (x86_insn_table[i].id == insn.id)
			return x86_insn_table[i].complete(&ctx) == 0;
	return false;
}
