/* SPDX-License-Identifier: MIT */
/*
 * The XSAVE family for the instruction completer (vmm/x86/insn.h).
 *
 * The vCPU's extended state is read and written with KVM_GET/SET_XSAVE
 * (KVM_GET_XSAVE2 when the state is larger than 4 KiB), whose buffer is a
 * standard-format XSAVE image with the CPU's component offsets and, in its
 * XSTATE_BV, the components not in their initial state. The instruction
 * moves components between that image and guest memory, in the standard
 * layout (FXSAVE, XSAVE, XSAVEOPT; XRSTOR of a standard area) or the
 * compacted one (XSAVEC, XSAVES; XRSTOR/XRSTORS of a compacted area).
 *
 * Supervisor components (IA32_XSS) are not in KVM's buffer: XSAVES saves
 * them as initial and XRSTORS leaves them alone. XSAVEOPT writes every
 * requested component (always a valid choice for it).
 */
#include <cpuid.h>
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/x86/insn.h"
#include "vmm/x86/insn_internal.h"

#define XSTATE_BV_OFFSET 512u
#define XCOMP_BV_OFFSET  520u
#define MXCSR_OFFSET     24u
#define MXCSR_DEFAULT    0x1f80u
#define MXCSR_MASK_DEFAULT 0xffbfu
#define X87_END          160u  /* x87 state: bytes 0-159 (MXCSR inside belongs to SSE) */
#define SSE_START        160u
#define SSE_END          416u  /* XMM0-15 */
#define FCW_INIT         0x037fu
#define CR4_OSXSAVE      (1ull << 18)
#define MSR_IA32_XSS     0xda0
#define XFEATURE_FP      (1ull << 0)
#define XFEATURE_SSE     (1ull << 1)
#define XFEATURE_YMM     (1ull << 2)
#define XFEATURE_LEGACY  (XFEATURE_FP | XFEATURE_SSE)

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* ---- layout ---- */

void x86_xsave_layout_host(struct x86_xsave_layout *layout)
{
	unsigned eax, ebx, ecx, edx;

	memset(layout, 0, sizeof(*layout));
	layout->known = XFEATURE_LEGACY;
	if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx))
		return;
	uint64_t candidates = ((uint64_t)edx << 32 | eax);

	if (__get_cpuid_count(0xd, 1, &eax, &ebx, &ecx, &edx))
		candidates |= ((uint64_t)edx << 32 | ecx); /* IA32_XSS components */
	for (unsigned i = 2; i < X86_XSAVE_COMPONENTS; i++) {
		if (!(candidates & (1ull << i)) || !__get_cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx) ||
		    !eax)
			continue;
		layout->known |= 1ull << i;
		layout->size[i] = eax;
		layout->offset[i] = ebx;
		if (ecx & 2)
			layout->align64 |= 1ull << i;
	}
}

uint32_t x86_xsave_offset(const struct x86_xsave_layout *layout, bool compacted, uint64_t xcomp_bv,
			  unsigned i)
{
	if (!compacted)
		return layout->offset[i];
	uint32_t offset = X86_XSAVE_EXTENDED;

	for (unsigned j = 2; j < i; j++) {
		if (!(xcomp_bv & layout->known & (1ull << j)))
			continue;
		if (layout->align64 & (1ull << j))
			offset = (offset + 63) & ~63u;
		offset += layout->size[j];
	}
	if (layout->align64 & (1ull << i))
		offset = (offset + 63) & ~63u;
	return offset;
}

uint32_t x86_xsave_area_size(const struct x86_xsave_layout *layout, bool compacted, uint64_t rfbm)
{
	uint32_t size = X86_XSAVE_EXTENDED;

	for (unsigned i = 2; i < X86_XSAVE_COMPONENTS; i++) {
		if (!(rfbm & layout->known & (1ull << i)))
			continue;
		uint32_t end = x86_xsave_offset(layout, compacted, rfbm, i) + layout->size[i];

		size = end > size ? end : size;
	}
	return size;
}

/* ---- save ---- */

/* x87 state; the 32-bit forms store FIP/FDP as 32-bit offsets with (unknown, 0) selectors. */
static void save_x87(bool rex_w, const uint8_t *state, uint8_t *area)
{
	memcpy(area, state, MXCSR_OFFSET);
	memcpy(area + 32, state + 32, X87_END - 32);
	if (!rex_w) {
		memset(area + 12, 0, 4);
		memset(area + 20, 0, 4);
	}
}

void x86_fxsave(bool rex_w, const uint8_t *state, uint8_t *area)
{
	save_x87(rex_w, state, area);
	memcpy(area + MXCSR_OFFSET, state + MXCSR_OFFSET, 8);
	memcpy(area + SSE_START, state + SSE_START, SSE_END - SSE_START);
}

void x86_xsave_save(const struct x86_xsave_layout *layout, enum x86_xsave_form form, uint64_t rfbm,
		    uint64_t supervisor, bool rex_w, const uint8_t *state, uint8_t *area)
{
	bool compact = form == X86_XSAVE_COMPACT;
	uint64_t inuse = get64(state + XSTATE_BV_OFFSET) & ~supervisor;
	uint64_t saved = inuse & rfbm & XFEATURE_LEGACY;

	rfbm &= layout->known;
	if ((rfbm & XFEATURE_FP) && (!compact || (inuse & XFEATURE_FP)))
		save_x87(rex_w, state, area);
	if (rfbm & (XFEATURE_SSE | XFEATURE_YMM))
		memcpy(area + MXCSR_OFFSET, state + MXCSR_OFFSET, 8);
	if ((rfbm & XFEATURE_SSE) && (!compact || (inuse & XFEATURE_SSE)))
		memcpy(area + SSE_START, state + SSE_START, SSE_END - SSE_START);
	for (unsigned i = 2; i < X86_XSAVE_COMPONENTS; i++) {
		uint64_t bit = 1ull << i;

		if (!(rfbm & inuse & bit))
			continue; /* initial: XSTATE_BV says so, the bytes stay */
		memcpy(area + x86_xsave_offset(layout, compact, rfbm, i), state + layout->offset[i],
		       layout->size[i]);
		saved |= bit;
	}
	if (compact) {
		memset(area + XSTATE_BV_OFFSET, 0, X86_XSAVE_HEADER_SIZE);
		put64(area + XSTATE_BV_OFFSET, saved);
		put64(area + XCOMP_BV_OFFSET, rfbm | X86_XSAVE_COMPACTED);
	} else {
		uint64_t bv = get64(area + XSTATE_BV_OFFSET);

		put64(area + XSTATE_BV_OFFSET, (bv & ~rfbm) | saved);
	}
}

/* ---- restore ---- */

static void init_x87(uint8_t *state)
{
	uint16_t fcw = FCW_INIT;

	memset(state, 0, MXCSR_OFFSET);
	memcpy(state, &fcw, 2);
	memset(state + 32, 0, X87_END - 32);
}

static int check_header(bool xrstors, uint64_t allowed, const uint8_t *area)
{
	uint64_t xstate_bv = get64(area + XSTATE_BV_OFFSET);
	uint64_t xcomp_bv = get64(area + XCOMP_BV_OFFSET);
	bool compacted = xcomp_bv & X86_XSAVE_COMPACTED;

	if (xrstors && !compacted)
		return -EINVAL;
	if (xstate_bv & ~allowed)
		return -EINVAL;
	if (!compacted) {
		for (unsigned i = 8; i < 24; i++)
			if (area[XSTATE_BV_OFFSET + i])
				return -EINVAL;
		return 0;
	}
	if ((xcomp_bv & ~X86_XSAVE_COMPACTED & ~allowed) || (xstate_bv & ~xcomp_bv))
		return -EINVAL;
	for (unsigned i = 16; i < X86_XSAVE_HEADER_SIZE; i++)
		if (area[XSTATE_BV_OFFSET + i])
			return -EINVAL;
	return 0;
}

/* MXCSR: loaded from memory, or (compacted area, SSE initial) reset. */
static int restore_mxcsr(bool compacted, uint64_t rfbm, uint64_t xstate_bv, uint32_t mxcsr_mask,
			 const uint8_t *area, uint8_t *state)
{
	uint32_t mxcsr = get32(area + MXCSR_OFFSET);
	bool from_memory = compacted ? (rfbm & xstate_bv & (XFEATURE_SSE | XFEATURE_YMM)) != 0 :
				       (rfbm & (XFEATURE_SSE | XFEATURE_YMM)) != 0;

	if (from_memory) {
		if (mxcsr & ~mxcsr_mask)
			return -EINVAL;
		memcpy(state + MXCSR_OFFSET, &mxcsr, 4);
	} else if (compacted && (rfbm & XFEATURE_SSE)) {
		mxcsr = MXCSR_DEFAULT;
		memcpy(state + MXCSR_OFFSET, &mxcsr, 4);
	}
	return 0;
}

int x86_xsave_restore(const struct x86_xsave_layout *layout, bool xrstors, uint64_t rfbm,
		      uint64_t allowed, uint64_t supervisor, uint32_t mxcsr_mask,
		      const uint8_t *area, uint8_t *state)
{
	uint64_t xstate_bv = get64(area + XSTATE_BV_OFFSET);
	uint64_t xcomp_bv = get64(area + XCOMP_BV_OFFSET);
	bool compacted = xcomp_bv & X86_XSAVE_COMPACTED;
	int rc;

	if ((rc = check_header(xrstors, allowed, area)) ||
	    (rc = restore_mxcsr(compacted, rfbm, xstate_bv, mxcsr_mask, area, state)))
		return rc;
	rfbm &= layout->known & ~supervisor;
	if (rfbm & XFEATURE_FP) {
		if (xstate_bv & XFEATURE_FP) {
			memcpy(state, area, MXCSR_OFFSET);
			memcpy(state + 32, area + 32, X87_END - 32);
		} else {
			init_x87(state);
		}
	}
	if (rfbm & XFEATURE_SSE) {
		if (xstate_bv & XFEATURE_SSE)
			memcpy(state + SSE_START, area + SSE_START, SSE_END - SSE_START);
		else
			memset(state + SSE_START, 0, SSE_END - SSE_START);
	}
	for (unsigned i = 2; i < X86_XSAVE_COMPONENTS; i++) {
		uint64_t bit = 1ull << i;

		if (!(rfbm & bit))
			continue;
		if (xstate_bv & bit)
			memcpy(state + layout->offset[i],
			       area + x86_xsave_offset(layout, compacted, xcomp_bv, i), layout->size[i]);
		else
			memset(state + layout->offset[i], 0, layout->size[i]);
	}
	/* FP and SSE are always given explicitly: KVM then takes MXCSR from the image. */
	uint64_t bv = get64(state + XSTATE_BV_OFFSET);

	put64(state + XSTATE_BV_OFFSET, (bv & ~rfbm) | (xstate_bv & rfbm) | XFEATURE_LEGACY);
	return 0;
}

int x86_fxrstor(uint32_t mxcsr_mask, const uint8_t *area, uint8_t *state)
{
	if (get32(area + MXCSR_OFFSET) & ~mxcsr_mask)
		return -EINVAL;
	memcpy(state, area, SSE_END);
	put64(state + XSTATE_BV_OFFSET, get64(state + XSTATE_BV_OFFSET) | XFEATURE_LEGACY);
	return 0;
}

/* ---- the vCPU side ---- */

struct xsave_buffer {
	union {
		struct kvm_xsave kvm;
		uint8_t bytes[X86_XSAVE_MAX_SIZE];
	};
};

/* KVM_GET_XSAVE2 when KVM's image is larger than struct kvm_xsave. */
static int get_state(struct x86_insn_ctx *ctx, struct xsave_buffer *buf)
{
	int size = ioctl(ctx->vcpu->vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	unsigned long request = KVM_GET_XSAVE;

	if (size > (int)sizeof(struct kvm_xsave)) {
		if (size > (int)sizeof(buf->bytes)) {
			log_error("vcpu %u: XSAVE state of %d bytes; the completer handles %u",
				  ctx->vcpu->index, size, X86_XSAVE_MAX_SIZE);
			return -E2BIG;
		}
		request = KVM_GET_XSAVE2;
	}
	memset(buf, 0, sizeof(*buf));
	return ioctl(ctx->vcpu->fd, request, &buf->kvm) < 0 ? -errno : 0;
}

static int set_state(struct x86_insn_ctx *ctx, struct xsave_buffer *buf)
{
	/* The header's XCOMP_BV must stay 0: KVM takes the standard format. */
	put64(buf->bytes + XCOMP_BV_OFFSET, 0);
	return ioctl(ctx->vcpu->fd, KVM_SET_XSAVE, &buf->kvm) < 0 ? -errno : 0;
}

static int get_xcr0(struct x86_insn_ctx *ctx, uint64_t *xcr0)
{
	struct kvm_xcrs xcrs;

	if (ioctl(ctx->vcpu->fd, KVM_GET_XCRS, &xcrs) < 0)
		return -errno;
	*xcr0 = XFEATURE_FP;
	for (unsigned i = 0; i < xcrs.nr_xcrs; i++)
		if (xcrs.xcrs[i].xcr == 0)
			*xcr0 = xcrs.xcrs[i].value;
	return 0;
}

static uint64_t get_xss(struct x86_insn_ctx *ctx)
{
	struct {
		struct kvm_msrs header;
		struct kvm_msr_entry entry;
	} msrs = { .header.nmsrs = 1, .entry.index = MSR_IA32_XSS };

	return ioctl(ctx->vcpu->fd, KVM_GET_MSRS, &msrs) == 1 ? msrs.entry.data : 0;
}

static uint32_t mxcsr_mask_of(const struct xsave_buffer *buf)
{
	uint32_t mask = get32(buf->bytes + MXCSR_OFFSET + 4);

	return mask ? mask : MXCSR_MASK_DEFAULT;
}

static bool rex_w(const struct x86_insn_ctx *ctx)
{
	return ctx->insn->rex & 8;
}

/* #GP unless the operand is aligned; 1 when the fault was injected. */
static int check_alignment(struct x86_insn_ctx *ctx, uint64_t linear, uint64_t alignment)
{
	if (!(linear & (alignment - 1)))
		return 0;
	return x86_insn_inject(ctx, X86_GP_VECTOR, true, 0) ?: 1;
}

static int advance(struct x86_insn_ctx *ctx)
{
	ctx->regs.rip += ctx->insn->length;
	return x86_insn_store_regs(ctx);
}

/* 1 (fault injected) becomes "done" for the dispatcher. */
static int finish(int rc)
{
	return rc > 0 ? 0 : rc;
}

int x86_complete_fxsave(struct x86_insn_ctx *ctx)
{
	uint64_t linear = x86_insn_operand_linear(ctx);
	struct xsave_buffer state;
	uint8_t area[X86_XSAVE_LEGACY_SIZE];
	int rc;

	if ((rc = check_alignment(ctx, linear, 16)) || (rc = get_state(ctx, &state)) ||
	    (rc = x86_insn_read(ctx, linear, area, sizeof(area))))
		return finish(rc);
	x86_fxsave(rex_w(ctx), state.bytes, area);
	if ((rc = x86_insn_write(ctx, linear, area, sizeof(area))))
		return finish(rc);
	return advance(ctx);
}

int x86_complete_fxrstor(struct x86_insn_ctx *ctx)
{
	uint64_t linear = x86_insn_operand_linear(ctx);
	struct xsave_buffer state;
	uint8_t area[X86_XSAVE_LEGACY_SIZE];
	int rc;

	if ((rc = check_alignment(ctx, linear, 16)) || (rc = get_state(ctx, &state)) ||
	    (rc = x86_insn_read(ctx, linear, area, sizeof(area))))
		return finish(rc);
	if (x86_fxrstor(mxcsr_mask_of(&state), area, state.bytes))
		return x86_insn_inject(ctx, X86_GP_VECTOR, true, 0);
	if ((rc = set_state(ctx, &state)))
		return rc;
	return advance(ctx);
}

/* What EDX:EAX, XCR0 and IA32_XSS allow; *supervisor: the XSS part. */
static int requested(struct x86_insn_ctx *ctx, bool supervisor_form, uint64_t *rfbm,
		     uint64_t *allowed, uint64_t *supervisor)
{
	uint64_t xcr0, xss = 0;
	int rc = get_xcr0(ctx, &xcr0);

	if (rc)
		return rc;
	if (supervisor_form)
		xss = get_xss(ctx);
	*allowed = xcr0 | xss;
	*supervisor = xss & ~xcr0;
	*rfbm = *allowed & ((ctx->regs.rdx & 0xffffffffull) << 32 | (ctx->regs.rax & 0xffffffffull));
	return 0;
}

/* #UD without CR4.OSXSAVE; XSAVES/XRSTORS also #GP above CPL 0. */
static int check_xsave_allowed(struct x86_insn_ctx *ctx, bool supervisor_form)
{
	if (!(ctx->sregs.cr4 & CR4_OSXSAVE))
		return x86_insn_inject(ctx, X86_UD_VECTOR, false, 0) ?: 1;
	if (supervisor_form && ctx->sregs.cs.dpl != 0)
		return x86_insn_inject(ctx, X86_GP_VECTOR, true, 0) ?: 1;
	return 0;
}

/* XSAVE, XSAVEOPT (standard), XSAVEC, XSAVES (compacted). */
int x86_complete_xsave(struct x86_insn_ctx *ctx)
{
	enum x86_insn_id id = ctx->insn->id;
	bool supervisor_form = id == X86_INSN_XSAVES;
	enum x86_xsave_form form = id == X86_INSN_XSAVEC || supervisor_form ? X86_XSAVE_COMPACT :
									      X86_XSAVE_STANDARD;
	const struct x86_xsave_layout *layout = &ctx->vcpu->vm->insn_state.xsave;
	uint64_t linear = x86_insn_operand_linear(ctx), rfbm, allowed, supervisor;
	struct xsave_buffer state, area;
	int rc;

	if ((rc = check_xsave_allowed(ctx, supervisor_form)) ||
	    (rc = check_alignment(ctx, linear, 64)))
		return finish(rc);
	if ((rc = requested(ctx, supervisor_form, &rfbm, &allowed, &supervisor)))
		return rc;
	uint32_t size = x86_xsave_area_size(layout, form == X86_XSAVE_COMPACT, rfbm);

	if (size > sizeof(area.bytes))
		return -E2BIG;
	if ((rc = get_state(ctx, &state)) || (rc = x86_insn_read(ctx, linear, area.bytes, size)))
		return finish(rc);
	x86_xsave_save(layout, form, rfbm, supervisor, rex_w(ctx), state.bytes, area.bytes);
	if ((rc = x86_insn_write(ctx, linear, area.bytes, size)))
		return finish(rc);
	return advance(ctx);
}

/* Bytes XRSTOR reads for this header: the components it loads. */
static uint32_t restore_size(const struct x86_xsave_layout *layout, uint64_t rfbm,
			     const uint8_t *header)
{
	uint64_t xstate_bv = get64(header), xcomp_bv = get64(header + 8);
	bool compacted = xcomp_bv & X86_XSAVE_COMPACTED;
	uint32_t size = X86_XSAVE_EXTENDED;

	for (unsigned i = 2; i < X86_XSAVE_COMPONENTS; i++) {
		if (!(rfbm & xstate_bv & layout->known & (1ull << i)))
			continue;
		uint32_t end = x86_xsave_offset(layout, compacted, xcomp_bv, i) + layout->size[i];

		size = end > size ? end : size;
	}
	return size;
}

/* XRSTOR (either layout), XRSTORS (compacted). */
int x86_complete_xrstor(struct x86_insn_ctx *ctx)
{
	bool supervisor_form = ctx->insn->id == X86_INSN_XRSTORS;
	const struct x86_xsave_layout *layout = &ctx->vcpu->vm->insn_state.xsave;
	uint64_t linear = x86_insn_operand_linear(ctx), rfbm, allowed, supervisor;
	struct xsave_buffer state, area;
	int rc;

	if ((rc = check_xsave_allowed(ctx, supervisor_form)) ||
	    (rc = check_alignment(ctx, linear, 64)))
		return finish(rc);
	if ((rc = requested(ctx, supervisor_form, &rfbm, &allowed, &supervisor)) ||
	    (rc = x86_insn_read(ctx, linear + XSTATE_BV_OFFSET, area.bytes + XSTATE_BV_OFFSET,
				X86_XSAVE_HEADER_SIZE)))
		return finish(rc);
	uint32_t size = restore_size(layout, rfbm, area.bytes + XSTATE_BV_OFFSET);

	if (size > sizeof(area.bytes))
		return x86_insn_inject(ctx, X86_GP_VECTOR, true, 0);
	if ((rc = get_state(ctx, &state)) || (rc = x86_insn_read(ctx, linear, area.bytes, size)))
		return finish(rc);
	if (x86_xsave_restore(layout, supervisor_form, rfbm, allowed, supervisor,
			      mxcsr_mask_of(&state), area.bytes, state.bytes))
		return x86_insn_inject(ctx, X86_GP_VECTOR, true, 0);
	if ((rc = set_state(ctx, &state)))
		return rc;
	return advance(ctx);
}
