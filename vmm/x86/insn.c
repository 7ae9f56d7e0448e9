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
#include "vmm/x86/insn_internal.h"

#define RFLAGS_CF (1ull << 0)
#define RFLAGS_PF (1ull << 2)
#define RFLAGS_AF (1ull << 4)
#define RFLAGS_ZF (1ull << 6)
#define RFLAGS_SF (1ull << 7)
#define RFLAGS_OF (1ull << 11)
#define RFLAGS_AC (1ull << 18)
#define MSR_IA32_PASID 0xd93
#define PASID_VALID    (1ull << 31)

typedef int x86_complete_fn(struct x86_insn_ctx *ctx);

enum modrm_rule {
	MODRM_NONE,     /* no ModRM byte (the opcode says everything) */
	MODRM_MEMORY,   /* ModRM.mod != 3, else another instruction or #UD */
	MODRM_ANY,      /* register or memory operand */
};

/* One row per instruction the completer knows. */
struct x86_insn_def {
	enum x86_insn_id id;
	const char *name;
	uint8_t mandatory_prefix;  /* 0x66, 0xf2, 0xf3, or 0 for none */
	uint8_t opcode[3];         /* after the prefixes and REX */
	uint8_t opcode_length;
	int8_t reg_ext;            /* required ModRM.reg (/digit), or -1 */
	enum modrm_rule modrm;
	x86_complete_fn *complete;
	enum x86_insn_id rex_w_id; /* what REX.W makes of it (X86_INSN_UNKNOWN: same) */
	bool lockable;             /* LOCK allowed, else #UD */
};

static x86_complete_fn complete_store64, complete_int3, complete_clac_stac, complete_popcnt,
	complete_cmpxchg_wide;

#define ROW(id_, name_, prefix, op, len, ext, rule, fn) \
	{ .id = (id_), .name = (name_), .mandatory_prefix = (prefix), .opcode = op, \
	  .opcode_length = (len), .reg_ext = (ext), .modrm = (rule), .complete = (fn) }
#define OP(...) { __VA_ARGS__ }

static const struct x86_insn_def x86_insn_table[] = {
	ROW(X86_INSN_MOVDIR64B, "movdir64b", 0x66, OP(0x0f, 0x38, 0xf8), 3, -1, MODRM_MEMORY,
	    complete_store64),
	ROW(X86_INSN_ENQCMD, "enqcmd", 0xf2, OP(0x0f, 0x38, 0xf8), 3, -1, MODRM_MEMORY,
	    complete_store64),
	ROW(X86_INSN_ENQCMDS, "enqcmds", 0xf3, OP(0x0f, 0x38, 0xf8), 3, -1, MODRM_MEMORY,
	    complete_store64),
	ROW(X86_INSN_FXSAVE, "fxsave", 0, OP(0x0f, 0xae), 2, 0, MODRM_MEMORY, x86_complete_fxsave),
	ROW(X86_INSN_FXRSTOR, "fxrstor", 0, OP(0x0f, 0xae), 2, 1, MODRM_MEMORY, x86_complete_fxrstor),
	ROW(X86_INSN_XSAVE, "xsave", 0, OP(0x0f, 0xae), 2, 4, MODRM_MEMORY, x86_complete_xsave),
	ROW(X86_INSN_XRSTOR, "xrstor", 0, OP(0x0f, 0xae), 2, 5, MODRM_MEMORY, x86_complete_xrstor),
	ROW(X86_INSN_XSAVEOPT, "xsaveopt", 0, OP(0x0f, 0xae), 2, 6, MODRM_MEMORY, x86_complete_xsave),
	ROW(X86_INSN_XRSTORS, "xrstors", 0, OP(0x0f, 0xc7), 2, 3, MODRM_MEMORY, x86_complete_xrstor),
	ROW(X86_INSN_XSAVEC, "xsavec", 0, OP(0x0f, 0xc7), 2, 4, MODRM_MEMORY, x86_complete_xsave),
	ROW(X86_INSN_XSAVES, "xsaves", 0, OP(0x0f, 0xc7), 2, 5, MODRM_MEMORY, x86_complete_xsave),
	ROW(X86_INSN_INT3, "int3", 0, OP(0xcc), 1, -1, MODRM_NONE, complete_int3),
	ROW(X86_INSN_CLAC, "clac", 0, OP(0x0f, 0x01, 0xca), 3, -1, MODRM_NONE, complete_clac_stac),
	ROW(X86_INSN_STAC, "stac", 0, OP(0x0f, 0x01, 0xcb), 3, -1, MODRM_NONE, complete_clac_stac),
	ROW(X86_INSN_POPCNT, "popcnt", 0xf3, OP(0x0f, 0xb8), 2, -1, MODRM_ANY, complete_popcnt),
	{ .id = X86_INSN_CMPXCHG8B, .name = "cmpxchg8b", .opcode = { 0x0f, 0xc7 }, .opcode_length = 2,
	  .reg_ext = 1, .modrm = MODRM_MEMORY, .complete = complete_cmpxchg_wide,
	  .rex_w_id = X86_INSN_CMPXCHG16B, .lockable = true },
	/* Reached only through REX.W on the cmpxchg8b row: no opcode of its own. */
	{ .id = X86_INSN_CMPXCHG16B, .name = "cmpxchg16b", .reg_ext = -1, .modrm = MODRM_NONE,
	  .complete = complete_cmpxchg_wide, .lockable = true },
};

#define TABLE_SIZE (sizeof(x86_insn_table) / sizeof(x86_insn_table[0]))

const char *x86_insn_name(enum x86_insn_id id)
{
	for (unsigned i = 0; i < TABLE_SIZE; i++)
		if (x86_insn_table[i].id == id)
			return x86_insn_table[i].name;
	return "unknown";
}

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
	uint8_t last_rep;        /* the last of f2/f3, or 0 */
	bool operand_size;       /* 0x66 */
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

		if (b == 0xf2 || b == 0xf3)
			p->last_rep = b;
		else if (b == 0x66)
			p->operand_size = true;
		else if (b == 0x67)
			p->address_size_32 = true;
		else if (b == 0xf0)
			p->lock = true;
		else
			p->segment = b;
	}
	return i;
}

/* F2/F3 select the instruction when present; otherwise 66 does. */
static uint8_t mandatory_prefix(const struct prefixes *p)
{
	return p->last_rep ? p->last_rep : p->operand_size ? 0x66 : 0;
}

/* Does the row's ModRM rule accept this byte? */
static bool modrm_fits(const struct x86_insn_def *def, uint8_t modrm)
{
	if (def->reg_ext >= 0 && ((modrm >> 3) & 7) != (unsigned)def->reg_ext)
		return false;
	return def->modrm != MODRM_MEMORY || (modrm >> 6) != 3;
}

/* The row for these opcode bytes; *truncated when the ModRM byte is missing. */
static const struct x86_insn_def *find_def(const uint8_t *opcode, unsigned available,
					   uint8_t mandatory, bool *truncated)
{
	*truncated = false;
	for (unsigned i = 0; i < TABLE_SIZE; i++) {
		const struct x86_insn_def *def = &x86_insn_table[i];

		if (!def->opcode_length || available < def->opcode_length ||
		    def->mandatory_prefix != mandatory ||
		    memcmp(opcode, def->opcode, def->opcode_length) != 0)
			continue;
		if (def->modrm == MODRM_NONE)
			return def;
		if (available == def->opcode_length) {
			*truncated = true;
			continue;
		}
		if (modrm_fits(def, opcode[def->opcode_length]))
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
	insn->has_modrm = true;
	insn->modrm = bytes[0];
	unsigned mod = insn->modrm >> 6, rm = insn->modrm & 7;

	insn->reg = (uint8_t)(((insn->modrm >> 3) & 7) | ((insn->rex & 4) << 1));
	if (mod == 3)
		return 1;
	if (rm == 4) {
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
	bool truncated;
	unsigned i;
	int used = 0;

	memset(insn, 0, sizeof(*insn));
	if (size > X86_INSN_MAX_LENGTH)
		size = X86_INSN_MAX_LENGTH;
	i = parse_prefixes(bytes, size, &p);
	if (i < size && (bytes[i] & 0xf0) == 0x40)
		insn->rex = bytes[i++];
	const struct x86_insn_def *def = find_def(bytes + i, size - i, mandatory_prefix(&p),
						  &truncated);

	if (!def)
		return i < size && !truncated ? -ENOENT : -EINVAL;
	i += def->opcode_length;
	if (def->modrm != MODRM_NONE && (used = parse_modrm(bytes + i, size - i, insn)) < 0)
		return used;
	if (p.lock && !def->lockable)
		return -ENOENT; /* #UD on hardware; not ours to complete */
	insn->id = (insn->rex & 8) && def->rex_w_id != X86_INSN_UNKNOWN ? def->rex_w_id : def->id;
	insn->name = x86_insn_name(insn->id);
	insn->length = (uint8_t)(i + (unsigned)used);
	insn->segment = p.segment;
	insn->address_size_32 = p.address_size_32;
	insn->operand_size = (insn->rex & 8) ? 8 : (p.operand_size && def->mandatory_prefix != 0x66)
				? 2 : 4;
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
#define PAGE_SIZE 4096u
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

int x86_insn_store_regs(struct x86_insn_ctx *ctx)
{
	struct kvm_run *run = ctx->vcpu->run;

	if (ctx->synced) {
		run->s.regs.regs = ctx->regs;
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		return 0;
	}
	return ioctl(ctx->vcpu->fd, KVM_SET_REGS, &ctx->regs) < 0 ? -errno : 0;
}

int x86_insn_inject(struct x86_insn_ctx *ctx, unsigned vector, bool has_error_code,
		    uint32_t error_code)
{
	struct kvm_vcpu_events events;

	if (ioctl(ctx->vcpu->fd, KVM_GET_VCPU_EVENTS, &events) < 0)
		return -errno;
	events.exception.injected = 1;
	events.exception.nr = (uint8_t)vector;
	events.exception.has_error_code = has_error_code;
	events.exception.error_code = error_code;
	events.flags = 0;
	ctx->faulted = true;
	return ioctl(ctx->vcpu->fd, KVM_SET_VCPU_EVENTS, &events) < 0 ? -errno : 0;
}

static int inject_gp(struct x86_insn_ctx *ctx)
{
	return x86_insn_inject(ctx, X86_GP_VECTOR, true, 0);
}

static int inject_page_fault(struct x86_insn_ctx *ctx, uint64_t linear, uint32_t error_code)
{
	ctx->sregs.cr2 = linear;
	if (ctx->synced) {
		ctx->vcpu->run->s.regs.sregs.cr2 = linear;
		ctx->vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	} else if (ioctl(ctx->vcpu->fd, KVM_SET_SREGS, &ctx->sregs) < 0) {
		return -errno;
	}
	return x86_insn_inject(ctx, X86_PF_VECTOR, true, error_code);
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

/*
 * Host pointers for [linear, linear + len) page by page: with write set,
 * every page is translated before the caller writes any byte.
 */
static int access_linear(struct x86_insn_ctx *ctx, uint64_t linear, uint8_t *buf, size_t len,
			 bool write)
{
	for (int pass = write ? 0 : 1; pass < 2; pass++) {
		for (size_t done = 0; done < len;) {
			uint64_t gpa = 0, in_page = PAGE_SIZE - ((linear + done) & (PAGE_SIZE - 1));
			size_t chunk = in_page < len - done ? (size_t)in_page : len - done;
			int rc = translate(ctx, linear + done, write, &gpa);

			if (rc)
				return rc;
			uint8_t *host = guest_memory_ptr(&ctx->vcpu->vm->ram, gpa, chunk);

			if (!host)
				return -EFAULT; /* MMIO or outside RAM */
			if (pass == 1 && write)
				memcpy(host, buf + done, chunk);
			else if (pass == 1)
				memcpy(buf + done, host, chunk);
			done += chunk;
		}
	}
	return 0;
}

int x86_insn_read(struct x86_insn_ctx *ctx, uint64_t linear, void *buf, size_t len)
{
	return access_linear(ctx, linear, buf, len, false);
}

int x86_insn_write(struct x86_insn_ctx *ctx, uint64_t linear, const void *buf, size_t len)
{
	/* access_linear only reads from buf when writing. */
	return access_linear(ctx, linear, (uint8_t *)(uintptr_t)buf, len, true);
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

uint64_t x86_insn_operand_linear(const struct x86_insn_ctx *ctx)
{
	return x86_insn_memory_operand(ctx->insn, &ctx->regs) + segment_base(ctx);
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
	uint64_t src = x86_insn_operand_linear(ctx);
	uint8_t data[64];
	int rc;

	if (insn->address_size_32)
		dst = (uint32_t)dst;
	if (dst % 64)
		return inject_gp(ctx); /* the destination must be 64-byte aligned */
	if ((rc = x86_insn_read(ctx, src, data, sizeof(data))) ||
	    (rc = translate(ctx, dst, true, &dst_gpa))) {
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
	return x86_insn_store_regs(ctx);
}

/*
 * INT3 is a trap: the handler sees the address after it. RIP moves past
 * the instruction, then #BP is raised there like any exception.
 */
static int complete_int3(struct x86_insn_ctx *ctx)
{
	int rc;

	ctx->regs.rip += ctx->insn->length;
	if ((rc = x86_insn_store_regs(ctx)) || (rc = x86_insn_inject(ctx, X86_BP_VECTOR, false, 0)))
		return rc;
	ctx->faulted = false; /* #BP is the instruction's own effect */
	return 0;
}

/* CLAC/STAC: RFLAGS.AC, at CPL 0 only (#UD elsewhere). */
static int complete_clac_stac(struct x86_insn_ctx *ctx)
{
	if (ctx->sregs.cs.dpl != 0)
		return x86_insn_inject(ctx, X86_UD_VECTOR, false, 0);
	if (ctx->insn->id == X86_INSN_STAC)
		ctx->regs.rflags |= RFLAGS_AC;
	else
		ctx->regs.rflags &= ~RFLAGS_AC;
	ctx->regs.rip += ctx->insn->length;
	return x86_insn_store_regs(ctx);
}

uint64_t x86_popcnt(uint64_t value, unsigned operand_size, uint64_t rflags, uint64_t *rflags_out)
{
	if (operand_size < 8)
		value &= (1ull << (8 * operand_size)) - 1;
	uint64_t count = (uint64_t)__builtin_popcountll(value);

	rflags &= ~(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF);
	*rflags_out = rflags | (value ? 0 : RFLAGS_ZF);
	return count;
}

static __u64 *gpr_slot(struct kvm_regs *regs, unsigned index)
{
	__u64 *const slots[16] = {
		&regs->rax, &regs->rcx, &regs->rdx, &regs->rbx, &regs->rsp, &regs->rbp, &regs->rsi,
		&regs->rdi, &regs->r8, &regs->r9, &regs->r10, &regs->r11, &regs->r12, &regs->r13,
		&regs->r14, &regs->r15,
	};

	return slots[index & 15];
}

/* Writing a 32-bit register zero-extends; a 16-bit one keeps the rest. */
static void set_gpr(struct kvm_regs *regs, unsigned index, unsigned size, uint64_t value)
{
	__u64 *slot = gpr_slot(regs, index);

	if (size == 8)
		*slot = value;
	else if (size == 4)
		*slot = (uint32_t)value;
	else
		*slot = (*slot & ~0xffffull) | (value & 0xffff);
}

/* POPCNT r, r/m (16, 32 or 64 bits). */
static int complete_popcnt(struct x86_insn_ctx *ctx)
{
	const struct x86_insn *insn = ctx->insn;
	uint64_t source = 0;

	if ((insn->modrm >> 6) == 3) {
		source = x86_insn_gpr(&ctx->regs, (insn->modrm & 7) | ((insn->rex & 1) << 3));
	} else {
		int rc = x86_insn_read(ctx, x86_insn_operand_linear(ctx), &source, insn->operand_size);

		if (rc)
			return rc > 0 ? 0 : rc;
	}
	uint64_t rflags;
	uint64_t count = x86_popcnt(source, insn->operand_size, ctx->regs.rflags, &rflags);

	ctx->regs.rflags = rflags;

	set_gpr(&ctx->regs, insn->reg, insn->operand_size, count);
	ctx->regs.rip += insn->length;
	return x86_insn_store_regs(ctx);
}

bool x86_cmpxchg_wide(void *operand, unsigned size, uint64_t *expected_lo, uint64_t *expected_hi,
		      uint64_t new_lo, uint64_t new_hi)
{
	bool equal;

	if (size == 16) {
		__asm__ volatile("lock cmpxchg16b %1"
				 : "=@ccz"(equal), "+m"(*(volatile unsigned __int128 *)operand),
				   "+a"(*expected_lo), "+d"(*expected_hi)
				 : "b"(new_lo), "c"(new_hi)
				 : "memory");
		return equal;
	}
	uint64_t expected = (*expected_hi << 32) | (uint32_t)*expected_lo;
	uint64_t desired = (new_hi << 32) | (uint32_t)new_lo;

	__asm__ volatile("lock cmpxchgq %3, %1"
			 : "=@ccz"(equal), "+m"(*(volatile uint64_t *)operand), "+a"(expected)
			 : "r"(desired)
			 : "memory");
	*expected_lo = (uint32_t)expected;
	*expected_hi = expected >> 32;
	return equal;
}

/*
 * CMPXCHG8B/16B m: done by the host's locked instruction on the guest page
 * (the operand never crosses a page: 16B needs 16-byte alignment, and an
 * 8B operand that crosses one is compared and written in two steps).
 */
static int complete_cmpxchg_wide(struct x86_insn_ctx *ctx)
{
	unsigned size = ctx->insn->id == X86_INSN_CMPXCHG16B ? 16 : 8;
	uint64_t linear = x86_insn_operand_linear(ctx), gpa = 0;
	uint64_t lo = ctx->regs.rax, hi = ctx->regs.rdx;
	void *host = NULL;
	bool equal;
	int rc;

	if (size == 16 && (linear & 15))
		return inject_gp(ctx);
	if (size == 8) {
		lo = (uint32_t)lo;
		hi = (uint32_t)hi;
	}
	if ((linear & (PAGE_SIZE - 1)) + size > PAGE_SIZE)
		return -ENOTSUP; /* an 8-byte operand across pages: not seen yet */
	if ((rc = translate(ctx, linear, true, &gpa)))
		return rc > 0 ? 0 : rc;
	if (!(host = guest_memory_ptr(&ctx->vcpu->vm->ram, gpa, size)))
		return -EFAULT;
	equal = x86_cmpxchg_wide(host, size, &lo, &hi, size == 16 ? ctx->regs.rbx :
				 (uint32_t)ctx->regs.rbx, size == 16 ? ctx->regs.rcx :
				 (uint32_t)ctx->regs.rcx);
	if (!equal) {
		ctx->regs.rax = size == 16 ? lo : (uint32_t)lo;
		ctx->regs.rdx = size == 16 ? hi : (uint32_t)hi;
	}
	ctx->regs.rflags = (ctx->regs.rflags & ~RFLAGS_ZF) | (equal ? RFLAGS_ZF : 0);
	ctx->regs.rip += ctx->insn->length;
	return x86_insn_store_regs(ctx);
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

void x86_insn_state_init(struct x86_insn_state *state)
{
	memset(state, 0, sizeof(*state));
	x86_xsave_layout_host(&state->xsave);
}

void x86_insn_format_counts(const struct x86_insn_state *state, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned id = X86_INSN_UNKNOWN + 1; id < X86_INSN_COUNT && used < size; id++) {
		uint64_t n = __atomic_load_n(&state->completed[id], __ATOMIC_RELAXED);
		int w;

		if (!n)
			continue;
		w = snprintf(out + used, size - used, "%s%s=%llu", used ? " " : "",
			     x86_insn_name((enum x86_insn_id)id), (unsigned long long)n);
		used += w > 0 ? (size_t)w : 0;
	}
	uint64_t faults = __atomic_load_n(&state->faults_injected, __ATOMIC_RELAXED);

	if (faults && used < size)
		snprintf(out + used, size - used, "%sfaults-injected=%llu", used ? " " : "",
			 (unsigned long long)faults);
	else if (!used && size)
		snprintf(out, size, "none");
}

static void count(struct x86_insn_ctx *ctx)
{
	struct x86_insn_state *state = &ctx->vcpu->vm->insn_state;

	__atomic_fetch_add(&state->completed[ctx->insn->id], 1, __ATOMIC_RELAXED);
	if (ctx->faulted)
		__atomic_fetch_add(&state->faults_injected, 1, __ATOMIC_RELAXED);
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
	for (unsigned i = 0; i < TABLE_SIZE; i++) {
		if (x86_insn_table[i].id != insn.id)
			continue;
		int rc = x86_insn_table[i].complete(&ctx);

		if (rc) {
			log_error("vcpu %u: completing %s at rip=%#llx: %s", vcpu->index, insn.name,
				  (unsigned long long)ctx.regs.rip, strerror(rc < 0 ? -rc : rc));
			return false;
		}
		count(&ctx);
		return true;
	}
	return false;
}
