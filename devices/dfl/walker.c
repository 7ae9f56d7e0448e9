/* SPDX-License-Identifier: MIT */
/*
 * DFL walker (walker.h). The structure follows Linux drivers/fpga/dfl.c:
 * walk_list ~ parse_feature_list, parse_fiu ~ parse_feature_fiu,
 * parse_afu ~ parse_feature_afu, add_feature ~ create_feature_instance +
 * parse_feature_irqs, and dfl_walk_discover ~ dfl-pci's
 * find_dfls_by_default. Where Linux trusts the list, this code checks.
 */
#include "devices/dfl/walker.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dfl_regs.h"

struct walker {
	const struct dfl_window *window;
	struct dfl_walk *walk;
	int fiu;            /* table index of the current FIU, -1 before the first */
	uint64_t fiu_start;
};

__attribute__((format(printf, 4, 5)))
static int fail(struct walker *w, int rc, uint64_t offset, const char *fmt, ...)
{
	struct dfl_walk *walk = w->walk;
	va_list ap;

	if (walk->rc)
		return walk->rc; /* keep the first error */
	walk->rc = rc;
	walk->error_offset = offset;
	va_start(ap, fmt);
	vsnprintf(walk->error, sizeof(walk->error), fmt, ap);
	va_end(ap);
	return rc;
}

/* The only place the accessor is called: aligned and wholly inside the window. */
static int read64(struct walker *w, uint64_t offset, const char *what, uint64_t *value)
{
	uint64_t size = w->window->size;

	if (offset % 8)
		return fail(w, -EINVAL, offset, "%s at 0x%" PRIx64 " is not 8-byte aligned", what,
			    offset);
	if (size < 8 || offset > size - 8)
		return fail(w, -ERANGE, offset,
			    "%s at 0x%" PRIx64 " is outside the 0x%" PRIx64 "-byte window", what,
			    offset, size);
	*value = w->window->read64(w->window->opaque, offset);
	return 0;
}

/* [start, start + len) wholly inside [0, limit)? Overflow-safe. */
static bool range_inside(uint64_t start, uint64_t len, uint64_t limit)
{
	return start <= limit && len <= limit - start;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

void dfl_walk_init(struct dfl_walk *walk, struct dfl_feature *features, unsigned capacity,
		   unsigned msix_vectors)
{
	memset(walk, 0, sizeof(*walk));
	walk->features = features;
	walk->capacity = capacity;
	walk->msix_vectors = msix_vectors;
}

int dfl_walk_find(const struct dfl_walk *walk, uint64_t dfh)
{
	for (unsigned i = 0; i < walk->count; i++) {
		if (walk->features[i].dfh == dfh)
			return (int)i;
	}
	return -1;
}

/* ---- interrupts ---- */

static int check_irqs(struct walker *w, struct dfl_feature *f)
{
	unsigned vectors = w->walk->msix_vectors;

	f->has_irq = f->irq_count != 0;
	if (!f->has_irq || !vectors)
		return 0;
	if ((uint64_t)f->irq_base + f->irq_count > vectors)
		return fail(w, -EINVAL, f->dfh,
			    "feature 0x%x at 0x%" PRIx64 ": interrupts %" PRIu32 "..%" PRIu64
			    " exceed the %u MSI-X vectors", f->id, f->dfh, f->irq_base,
			    (uint64_t)f->irq_base + f->irq_count - 1, vectors);
	return 0;
}

/* DFHv0: FME GLOBAL_ERR, PORT ERROR and PORT UINT describe their vectors. */
static int irqs_v0(struct walker *w, struct dfl_feature *f)
{
	uint64_t cap_offset, v;
	bool uint = false;
	int rc;

	if (f->type != DFH_TYPE_PRIVATE)
		return 0;
	if (f->fiu_id == DFH_FIU_ID_FME && f->id == FME_FEATURE_ID_GLOBAL_ERR)
		cap_offset = FME_ERROR_CAP;
	else if (f->fiu_id == DFH_FIU_ID_PORT && f->id == PORT_FEATURE_ID_ERROR)
		cap_offset = PORT_ERROR_CAP;
	else if (f->fiu_id == DFH_FIU_ID_PORT && f->id == PORT_FEATURE_ID_UINT)
		cap_offset = PORT_UINT_CAP, uint = true;
	else
		return 0;
	if (cap_offset + 8 > f->size)
		return fail(w, -EINVAL, f->dfh,
			    "feature 0x%x at 0x%" PRIx64 ": its interrupt capability at +0x%" PRIx64
			    " lies outside its 0x%" PRIx64 " bytes", f->id, f->dfh, cap_offset,
			    f->size);
	if ((rc = read64(w, f->dfh + cap_offset, "interrupt capability", &v)))
		return rc;
	if (uint) {
		f->irq_count = (uint32_t)(v & PORT_UINT_CAP_NUM_MASK);
		f->irq_base = (uint32_t)((v >> PORT_UINT_CAP_FST_SHIFT) & PORT_UINT_CAP_FST_MASK);
	} else {
		f->irq_count = (uint32_t)(v & DFL_ERROR_CAP_SUPP_INT);
		f->irq_base = (uint32_t)((v >> DFL_ERROR_CAP_VECT_SHIFT) & DFL_ERROR_CAP_VECT_MASK);
	}
	return check_irqs(w, f);
}

/* ---- DFHv1 ---- */

/* Walk the parameter blocks of the feature at f->dfh (dfh_get_param_size), and
 * pick the MSI_X one. */
static int params_v1(struct walker *w, struct dfl_feature *f)
{
	uint64_t psize = 0, hdr, data;
	int rc;

	while (DFHV1_PARAM_HDR + psize < f->size) {
		uint64_t at = f->dfh + DFHV1_PARAM_HDR + psize;

		if (f->param_count >= DFL_WALK_MAX_PARAMS)
			return fail(w, -E2BIG, at, "feature at 0x%" PRIx64 ": more than %u parameters",
				    f->dfh, DFL_WALK_MAX_PARAMS);
		if ((rc = read64(w, at, "DFHv1 parameter header", &hdr)))
			return rc;
		uint64_t next = hdr >> DFHV1_PARAM_NEXT_SHIFT;

		if (!next)
			return fail(w, -EINVAL, at,
				    "feature at 0x%" PRIx64 ": parameter at 0x%" PRIx64 " has NEXT = 0",
				    f->dfh, at);
		if (!range_inside(DFHV1_PARAM_HDR + psize, next * 8, f->size))
			return fail(w, -ERANGE, at,
				    "feature at 0x%" PRIx64 ": parameter at 0x%" PRIx64 " (%" PRIu64
				    " words) runs past the feature's 0x%" PRIx64 " bytes", f->dfh, at,
				    next, f->size);
		f->param_count++;
		if ((hdr & DFHV1_PARAM_ID_MASK) == DFHV1_PARAM_ID_MSI_X && !f->irq_count) {
			if (next < 2)
				return fail(w, -EINVAL, at, "MSI_X parameter at 0x%" PRIx64
					    " has no data word", at);
			if ((rc = read64(w, at + 8, "MSI_X parameter", &data)))
				return rc;
			f->irq_base = (uint32_t)data;
			f->irq_count = (uint32_t)(data >> 32);
		}
		psize += next * 8;
		if (hdr & DFHV1_PARAM_EOP) {
			f->param_size = (uint32_t)psize;
			return check_irqs(w, f);
		}
	}
	return fail(w, -ENOENT, f->dfh,
		    "feature at 0x%" PRIx64 ": parameter list has no end (EOP) within 0x%" PRIx64
		    " bytes", f->dfh, f->size);
}

/* CSR_ADDR / CSR_SIZE_GROUP, GUID and parameters of a v1 feature. */
static int describe_v1(struct walker *w, struct dfl_feature *f, bool csr_is_extent)
{
	uint64_t addr, grp;
	int rc;

	if ((rc = read64(w, f->dfh + DFL_GUID_L, "GUID_L", &f->guid_l)) ||
	    (rc = read64(w, f->dfh + DFL_GUID_H, "GUID_H", &f->guid_h)) ||
	    (rc = read64(w, f->dfh + DFHV1_CSR_ADDR, "CSR_ADDR", &addr)) ||
	    (rc = read64(w, f->dfh + DFHV1_CSR_SIZE_GRP, "CSR_SIZE_GROUP", &grp)))
		return rc;
	f->has_guid = true;
	f->instance_id = (uint16_t)grp;
	f->group_id = (uint16_t)((grp >> 16) & 0x7fff);
	if (!csr_is_extent) {
		f->csr_size = grp >> DFHV1_CSR_SIZE_SHIFT;
		f->csr_absolute = addr & DFHV1_CSR_ADDR_REL;
		f->csr_start = f->csr_absolute ? addr & ~DFHV1_CSR_ADDR_REL : addr >> 1;
		if (!f->csr_size)
			return fail(w, -EINVAL, f->dfh,
				    "feature 0x%x at 0x%" PRIx64 ": CSR size is 0", f->id, f->dfh);
		if (!f->csr_absolute) {
			if (f->csr_start > w->window->size - f->dfh ||
			    !range_inside(f->dfh + f->csr_start, f->csr_size, w->window->size))
				return fail(w, -ERANGE, f->dfh,
					    "feature 0x%x at 0x%" PRIx64 ": CSR block at +0x%" PRIx64
					    " (0x%" PRIx64 " bytes) is outside the window", f->id,
					    f->dfh, f->csr_start, f->csr_size);
			f->csr_start += f->dfh;
		}
	}
	if (!(grp & DFHV1_CSR_HAS_PARAMS))
		return 0;
	return params_v1(w, f);
}

/* ---- features ---- */

static int append(struct walker *w, const struct dfl_feature *f)
{
	struct dfl_walk *walk = w->walk;

	if (dfl_walk_find(walk, f->dfh) >= 0)
		return fail(w, -ELOOP, f->dfh,
			    "DFH at 0x%" PRIx64 " reached twice: a NEXT_AFU or PORT_OFST points "
			    "into a list already walked", f->dfh);
	if (walk->count >= walk->capacity)
		return fail(w, -E2BIG, f->dfh, "more than %u features (table full at 0x%" PRIx64 ")",
			    walk->capacity, f->dfh);
	walk->features[walk->count++] = *f;
	return 0;
}

static void inherit_fiu(const struct walker *w, struct dfl_feature *f)
{
	const struct dfl_feature *fiu = &w->walk->features[w->fiu];

	f->fiu = (unsigned)w->fiu;
	f->fiu_id = fiu->fiu_id;
	f->fiu_instance = fiu->fiu_instance;
}

/*
 * A feature with its own DFH (FIU header or private feature), as
 * create_feature_instance(binfo, ofst, 0, 0): size from NEXT (4096 when 0),
 * then v1 CSR block and parameters, then interrupts.
 */
static int add_feature(struct walker *w, uint64_t dfh, uint64_t value, uint64_t end,
		       struct dfl_feature *f)
{
	uint64_t next = DFH_GET(value, NEXT);
	int rc;

	f->type = (uint8_t)DFH_GET(value, TYPE);
	f->id = (uint16_t)DFH_GET(value, ID);
	f->revision = (uint8_t)DFH_GET(value, REVISION);
	f->dfh_version = (uint8_t)DFH_GET(value, VERSION);
	f->has_dfh = true;
	f->dfh = dfh;
	f->size = next ? next : DFH_DEFAULT_SIZE;
	if (f->dfh_version > 1)
		return fail(w, -EINVAL, dfh, "DFH at 0x%" PRIx64 ": version %u; valid: 0 or 1", dfh,
			    f->dfh_version);
	if (f->size % 8)
		return fail(w, -EINVAL, dfh, "DFH at 0x%" PRIx64 ": size/next 0x%" PRIx64
			    " is not a multiple of 8", dfh, f->size);
	if (!range_inside(dfh, f->size, end))
		return fail(w, -ERANGE, dfh,
			    "feature 0x%x at 0x%" PRIx64 " (0x%" PRIx64 " bytes) runs past the end "
			    "of its list at 0x%" PRIx64, f->id, dfh, f->size, end);
	f->csr_start = dfh;
	f->csr_size = f->size;
	if (f->dfh_version == 1)
		return describe_v1(w, f, false);
	if (f->type == DFH_TYPE_FIU) {
		f->has_guid = true;
		if ((rc = read64(w, dfh + DFL_GUID_L, "GUID_L", &f->guid_l)) ||
		    (rc = read64(w, dfh + DFL_GUID_H, "GUID_H", &f->guid_h)))
			return rc;
	}
	return irqs_v0(w, f);
}

/* An AFU at `at` under the current FIU (parse_feature_afu): sized by PORT_CAP. */
static int parse_afu(struct walker *w, uint64_t at, uint64_t end)
{
	struct dfl_feature f = { .type = DFH_TYPE_AFU, .dfh = at };
	uint64_t cap, value;
	int rc;

	if (w->fiu < 0)
		return fail(w, -EINVAL, at, "AFU at 0x%" PRIx64 " does not belong to any FIU", at);
	if (w->walk->features[w->fiu].fiu_id != DFH_FIU_ID_PORT) {
		w->walk->skipped++; /* Linux: "AFU belonging to FIU ... is not supported yet" */
		return 0;
	}
	inherit_fiu(w, &f);
	if ((rc = read64(w, w->fiu_start + PORT_HDR_CAP, "PORT_CAP", &cap)))
		return rc;
	f.size = ((cap >> PORT_CAP_MMIO_SIZE_SHIFT) & PORT_CAP_MMIO_SIZE_MASK) << 10;
	if (!f.size)
		return fail(w, -EINVAL, at, "AFU at 0x%" PRIx64 ": PORT_CAP.MMIO_SIZE is 0", at);
	if (at % 8 || !range_inside(at, f.size, end))
		return fail(w, -ERANGE, at, "AFU at 0x%" PRIx64 " (0x%" PRIx64 " bytes from PORT_CAP)"
			    " is misaligned or runs past the end of the window at 0x%" PRIx64, at,
			    f.size, end);
	f.csr_start = at;
	f.csr_size = f.size;
	if ((rc = read64(w, at, "AFU DFH", &value)))
		return rc;
	/* Linux does not read the AFU's DFH; its GUID is read by dfl-afu (afu_id). */
	if (DFH_GET(value, TYPE) == DFH_TYPE_AFU && DFH_GET(value, VERSION) <= 1 &&
	    f.size >= 0x18) {
		f.has_dfh = true;
		f.id = (uint16_t)DFH_GET(value, ID);
		f.revision = (uint8_t)DFH_GET(value, REVISION);
		f.dfh_version = (uint8_t)DFH_GET(value, VERSION);
		f.has_guid = true;
		if ((rc = read64(w, at + DFL_GUID_L, "AFU GUID_L", &f.guid_l)) ||
		    (rc = read64(w, at + DFL_GUID_H, "AFU GUID_H", &f.guid_h)) ||
		    (f.dfh_version == 1 && f.size > DFHV1_PARAM_HDR &&
		     (rc = describe_v1(w, &f, true))))
			return rc;
	}
	return append(w, &f);
}

static unsigned fiu_instances(const struct dfl_walk *walk, unsigned fiu_id)
{
	unsigned n = 0;

	for (unsigned i = 0; i < walk->count; i++) {
		if (walk->features[i].type == DFH_TYPE_FIU && walk->features[i].fiu_id == fiu_id)
			n++;
	}
	return n;
}

/* A new FIU (parse_feature_fiu): its header feature, then its NEXT_AFU. */
static int parse_fiu(struct walker *w, uint64_t at, uint64_t value, uint64_t end)
{
	struct dfl_feature f = { 0 };
	unsigned id = (unsigned)DFH_GET(value, ID);
	uint64_t next_afu;
	int rc;

	if (id != DFH_FIU_ID_FME && id != DFH_FIU_ID_PORT)
		return fail(w, -EINVAL, at, "FIU at 0x%" PRIx64 " has id %u; valid: 0 (FME), 1 (PORT)",
			    at, id);
	f.fiu_id = (uint8_t)id;
	f.fiu_instance = (uint8_t)fiu_instances(w->walk, id);
	f.fiu = w->walk->count;
	if ((rc = add_feature(w, at, value, end, &f)) || (rc = append(w, &f)))
		return rc;
	w->fiu = (int)f.fiu;
	w->fiu_start = at;
	if ((rc = read64(w, at + DFL_NEXT_AFU, "NEXT_AFU", &next_afu)))
		return rc;
	next_afu &= DFL_NEXT_AFU_MASK;
	return next_afu ? parse_afu(w, at + next_afu, end) : 0;
}

static int parse_private(struct walker *w, uint64_t at, uint64_t value, uint64_t end)
{
	struct dfl_feature f = { 0 };
	int rc;

	if (w->fiu < 0)
		return fail(w, -EINVAL, at, "private feature 0x%x at 0x%" PRIx64
			    " comes before any FIU (a list must start with an FME or a PORT)",
			    (unsigned)DFH_GET(value, ID), at);
	inherit_fiu(w, &f);
	if ((rc = add_feature(w, at, value, end, &f)))
		return rc;
	return append(w, &f);
}

static int parse_one(struct walker *w, uint64_t at, uint64_t value, uint64_t end)
{
	switch (DFH_GET(value, TYPE)) {
	case DFH_TYPE_FIU:
		return parse_fiu(w, at, value, end);
	case DFH_TYPE_PRIVATE:
		return parse_private(w, at, value, end);
	case DFH_TYPE_AFU:
		return parse_afu(w, at, end);
	default:
		w->walk->skipped++; /* Linux: "Feature Type %x is not supported." */
		return 0;
	}
}

/* Pairwise overlap of window-relative MMIO ranges across the table. */
static int check_overlaps(struct walker *w)
{
	const struct dfl_walk *walk = w->walk;

	for (unsigned i = 0; i < walk->count; i++) {
		const struct dfl_feature *a = &walk->features[i];

		for (unsigned j = i + 1; j < walk->count && !a->csr_absolute; j++) {
			const struct dfl_feature *b = &walk->features[j];

			if (!b->csr_absolute &&
			    ranges_overlap(a->csr_start, a->csr_size, b->csr_start, b->csr_size))
				return fail(w, -EINVAL, b->dfh,
					    "feature at 0x%" PRIx64 " (MMIO 0x%" PRIx64 "+0x%" PRIx64
					    ") overlaps feature at 0x%" PRIx64 " (MMIO 0x%" PRIx64
					    "+0x%" PRIx64 ")", b->dfh, b->csr_start, b->csr_size,
					    a->dfh, a->csr_start, a->csr_size);
		}
	}
	return 0;
}

static int walk_steps(struct walker *w, uint64_t start)
{
	uint64_t end = w->window->size, at = start, value;
	int rc;

	for (unsigned steps = 0;; steps++) {
		if (at > end || end - at < DFH_SIZE)
			return fail(w, -ERANGE, at, "no room for a DFH at 0x%" PRIx64
				    " before the end of the window at 0x%" PRIx64, at, end);
		if (steps == DFL_WALK_MAX_STEPS)
			return fail(w, -E2BIG, at, "list from 0x%" PRIx64 " has more than %u DFHs",
				    start, DFL_WALK_MAX_STEPS);
		if ((rc = read64(w, at, "DFH", &value)) || (rc = parse_one(w, at, value, end)))
			return rc;
		uint64_t next = DFH_GET(value, NEXT);

		if ((value & DFH_EOL) || !next)
			return 0;
		if (next % 8)
			return fail(w, -EINVAL, at, "DFH at 0x%" PRIx64 ": NEXT 0x%" PRIx64
				    " is not 8-byte aligned", at, next);
		if (next >= end - at) {
			if (next == end - at)
				return 0; /* the list fills the window exactly */
			return fail(w, -ERANGE, at, "DFH at 0x%" PRIx64 ": next DFH at 0x%" PRIx64
				    " is past the end of the window at 0x%" PRIx64, at, at + next,
				    end);
		}
		at += next;
	}
}

int dfl_walk_list(const struct dfl_window *window, uint64_t start, struct dfl_walk *walk)
{
	struct walker w = { .window = window, .walk = walk, .fiu = -1 };
	int rc;

	if (walk->rc)
		return walk->rc;
	if (start % 8)
		return fail(&w, -EINVAL, start, "list start 0x%" PRIx64 " is not 8-byte aligned",
			    start);
	walk->lists++;
	if ((rc = walk_steps(&w, start)))
		return rc;
	return check_overlaps(&w);
}

static int discover_ports(struct walker *w)
{
	uint64_t cap, ofst;
	int rc;

	if ((rc = read64(w, FME_HDR_CAP, "FME_CAP", &cap)))
		return rc;
	unsigned ports = (unsigned)((cap >> FME_CAP_NUM_PORTS_SHIFT) & FME_CAP_NUM_PORTS_MASK);

	if (ports > FME_MAX_PORTS)
		return fail(w, -EINVAL, FME_HDR_CAP, "FME_CAP.NUM_PORTS = %u; valid: 0 to %u", ports,
			    FME_MAX_PORTS);
	for (unsigned i = 0; i < ports; i++) {
		if ((rc = read64(w, FME_HDR_PORT_OFST(i), "PORT_OFST", &ofst)))
			return rc;
		unsigned bar = (unsigned)((ofst >> FME_PORT_OFST_BAR_SHIFT) & FME_PORT_OFST_BAR_MASK);
		uint64_t at = ofst & FME_PORT_OFST_DFH_MASK;

		if (!(ofst & FME_PORT_OFST_IMP) || bar == FME_PORT_OFST_BAR_SKIP)
			continue;
		if (bar >= 6)
			return fail(w, -EINVAL, FME_HDR_PORT_OFST(i), "PORT_OFST(%u) names BAR %u; "
				    "valid: 0 to 5, or 7 (none)", i, bar);
		if (bar != DFL_WALK_BAR) {
			w->walk->skipped++;
			continue;
		}
		if (at >= w->window->size)
			return fail(w, -ERANGE, FME_HDR_PORT_OFST(i), "PORT_OFST(%u) = 0x%" PRIx64
				    " is past the end of the window", i, at);
		if ((rc = dfl_walk_list(w->window, at, w->walk)))
			return rc;
	}
	return 0;
}

int dfl_walk_discover(const struct dfl_window *window, struct dfl_walk *walk)
{
	struct walker w = { .window = window, .walk = walk, .fiu = -1 };
	uint64_t value;
	int rc;

	if (walk->rc)
		return walk->rc;
	if ((rc = read64(&w, 0, "first DFH", &value)))
		return rc;
	if (DFH_GET(value, TYPE) != DFH_TYPE_FIU ||
	    (DFH_GET(value, ID) != DFH_FIU_ID_FME && DFH_GET(value, ID) != DFH_FIU_ID_PORT))
		return fail(&w, -ENODEV, 0, "the DFH at 0 (type %u, id 0x%x) is neither an FME nor "
			    "a PORT", (unsigned)DFH_GET(value, TYPE), (unsigned)DFH_GET(value, ID));
	if ((rc = dfl_walk_list(window, 0, walk)))
		return rc;
	return DFH_GET(value, ID) == DFH_FIU_ID_FME ? discover_ports(&w) : 0;
}

/* ---- buffers, names, GUIDs ---- */

static uint64_t buffer_read64(void *opaque, uint64_t offset)
{
	const struct dfl_buffer *buffer = opaque;
	uint64_t value = 0;

	for (unsigned i = 0; i < 8; i++)
		value |= (uint64_t)buffer->bytes[offset + i] << (8 * i);
	return value;
}

void dfl_window_from_buffer(struct dfl_window *window, const struct dfl_buffer *buffer)
{
	window->size = buffer->size;
	window->read64 = buffer_read64;
	window->opaque = (void *)(uintptr_t)buffer;
}

const char *dfl_feature_kind(const struct dfl_feature *feature)
{
	switch (feature->type) {
	case DFH_TYPE_FIU:
		return feature->fiu_id == DFH_FIU_ID_FME ? "fme" : "port";
	case DFH_TYPE_PRIVATE:
		return "private";
	case DFH_TYPE_AFU:
		return "afu";
	default:
		return "unknown";
	}
}

void dfl_guid_format(uint64_t guid_l, uint64_t guid_h, char out[DFL_GUID_STRLEN])
{
	snprintf(out, DFL_GUID_STRLEN, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64
		 "-%012" PRIx64, guid_h >> 32, (guid_h >> 16) & 0xffff, guid_h & 0xffff,
		 guid_l >> 48, guid_l & (uint64_t)0xffffffffffff);
}

int dfl_guid_parse(const char *text, uint64_t *guid_l, uint64_t *guid_h)
{
	uint64_t value[2] = { 0, 0 };
	unsigned digits = 0;

	for (unsigned i = 0; text[i]; i++) {
		bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
		char c = text[i];

		if (i >= DFL_GUID_STRLEN - 1 || dash_here != (c == '-'))
			return -EINVAL;
		if (dash_here)
			continue;
		if (!isxdigit((unsigned char)c))
			return -EINVAL;
		unsigned nibble = (unsigned)(isdigit((unsigned char)c) ? c - '0'
								: tolower((unsigned char)c) - 'a' + 10);
		uint64_t *half = &value[digits < 16 ? 0 : 1];

		*half = *half << 4 | nibble;
		digits++;
	}
	if (digits != 32)
		return -EINVAL;
	*guid_h = value[0];
	*guid_l = value[1];
	return 0;
}
