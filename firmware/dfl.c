// SPDX-License-Identifier: MIT
/*
 * DFL enumeration as Linux does it, the device-tree view, and the AFU
 * driver (fw/dfl.h). Function names follow drivers/fpga/dfl.c and
 * dfl-pci.c so the two can be read side by side.
 */
#include <stdio.h>
#include <string.h>

#include "fw/cpu.h"
#include "fw/dfl.h"
#include "fw/fdt.h"

#define EINVAL_ 22
#define ENODEV_ 19
#define ENOSPC_ 28
#define ERANGE_ 34

/* Linux's build_feature_devs_info: the current FIU window. */
struct binfo {
	struct fw_dfl *d;
	bool have_dev;          /* a feature device (FIU) is being built */
	uint8_t dev_type;       /* DFH_FIU_ID_FME / PORT */
	uint8_t dev_instance;
	uint64_t start, len;    /* BAR offset and length of the window */
	unsigned fme_count, port_count;
};

static int fail(struct fw_dfl *d, int code, uint64_t where, const char *why)
{
	if (!d->error) {
		d->error = -code;
		d->why = why;
		d->where = where;
	}
	return d->error;
}

/* readq(binfo->ioaddr + ofst), refusing to leave the BAR. */
static int readq(struct binfo *b, uint64_t ofst, uint64_t *v)
{
	uint64_t at = b->start + ofst;

	if (ofst > b->len || at % 8 || at > b->d->bar_size - 8)
		return fail(b->d, ERANGE_, at, "read outside the BAR");
	b->d->mmio_reads++;
	*v = fw_dfl_read(b->d, at);
	return 0;
}

static uint32_t feature_size(uint64_t v)
{
	uint32_t ofst = (uint32_t)DFH_GET(v, NEXT);

	return ofst ? ofst : DFH_DEFAULT_SIZE;
}

static uint16_t feature_id(uint64_t v)
{
	switch (DFH_GET(v, TYPE)) {
	case DFH_TYPE_FIU:     return FW_DFL_FID_FIU_HEADER;
	case DFH_TYPE_PRIVATE: return (uint16_t)DFH_GET(v, ID);
	case DFH_TYPE_AFU:     return FW_DFL_FID_AFU;
	default:               return 0;
	}
}

/* dfh_get_param_size(): bytes of parameter blocks, or < 0. */
static int64_t dfh_get_param_size(struct binfo *b, uint64_t dfh, uint64_t max)
{
	uint64_t size = 0, v;
	int rc;

	if ((rc = readq(b, dfh + DFHV1_CSR_SIZE_GRP, &v)))
		return rc;
	if (!(v & DFHV1_CSR_HAS_PARAMS))
		return 0;
	while (size + DFHV1_PARAM_HDR < max) {
		if ((rc = readq(b, dfh + DFHV1_PARAM_HDR + size, &v)))
			return rc;
		uint64_t next = v >> DFHV1_PARAM_NEXT_SHIFT;

		if (!next)
			return fail(b->d, EINVAL_, b->start + dfh, "DFHv1 parameter with NEXT 0");
		size += next * 8;
		if (v & DFHV1_PARAM_EOP)
			return (int64_t)size;
	}
	return fail(b->d, 2 /* ENOENT */, b->start + dfh, "DFHv1 parameters without EOP");
}

/* find_param() over the copied parameter blocks: the MSI_X data word. */
static bool find_msix_param(struct binfo *b, uint64_t dfh, uint64_t psize, uint64_t *data)
{
	uint64_t off = 0, v;

	while (off < psize) {
		if (readq(b, dfh + DFHV1_PARAM_HDR + off, &v))
			return false;
		if ((v & DFHV1_PARAM_ID_MASK) == DFHV1_PARAM_ID_MSI_X)
			return readq(b, dfh + DFHV1_PARAM_HDR + off + 8, data) == 0;
		if (v & DFHV1_PARAM_EOP)
			break;
		off += (v >> DFHV1_PARAM_NEXT_SHIFT) * 8;
	}
	return false;
}

/* parse_feature_irqs(). */
static int parse_feature_irqs(struct binfo *b, uint64_t ofst, struct fw_dfl_feature *f)
{
	uint64_t v = 0;
	uint32_t ibase = 0, inr = 0;

	if (f->dfh_version == 0 && b->dev_type == DFH_FIU_ID_PORT &&
	    f->fid == PORT_FEATURE_ID_UINT) {
		if (readq(b, ofst + PORT_UINT_CAP, &v))
			return b->d->error;
		ibase = (uint32_t)((v >> PORT_UINT_CAP_FST_SHIFT) & PORT_UINT_CAP_FST_MASK);
		inr = (uint32_t)(v & PORT_UINT_CAP_NUM_MASK);
	} else if (f->dfh_version == 0 &&
		   ((b->dev_type == DFH_FIU_ID_PORT && f->fid == PORT_FEATURE_ID_ERROR) ||
		    (b->dev_type == DFH_FIU_ID_FME && f->fid == FME_FEATURE_ID_GLOBAL_ERR))) {
		uint64_t cap = b->dev_type == DFH_FIU_ID_PORT ? PORT_ERROR_CAP : FME_ERROR_CAP;

		if (readq(b, ofst + cap, &v))
			return b->d->error;
		ibase = (uint32_t)((v >> DFL_ERROR_CAP_VECT_SHIFT) & DFL_ERROR_CAP_VECT_MASK);
		inr = (uint32_t)(v & DFL_ERROR_CAP_SUPP_INT);
	} else if (f->dfh_version == 1 && f->param_size &&
		   find_msix_param(b, ofst, f->param_size, &v)) {
		ibase = (uint32_t)v;
		inr = (uint32_t)(v >> 32);
	}
	if (!inr)
		return 0;
	if ((uint64_t)ibase + inr > b->d->nr_irqs)
		return fail(b->d, EINVAL_, f->dfh, "invalid interrupt number in feature");
	f->irq_base = ibase;
	f->irq_count = inr;
	return 0;
}

/* create_feature_instance(). */
static int create_feature_instance(struct binfo *b, uint64_t ofst, uint64_t size, uint16_t fid)
{
	struct fw_dfl *d = b->d;
	struct fw_dfl_feature f = { .dfh = b->start + ofst, .fiu_id = b->dev_type,
				    .fiu_instance = b->dev_instance, .type = DFH_TYPE_AFU };
	int64_t psize = 0;
	uint64_t v;
	int rc;

	if (fid != FW_DFL_FID_AFU) {
		if ((rc = readq(b, ofst, &v)))
			return rc;
		f.type = (uint8_t)DFH_GET(v, TYPE);
		f.revision = (uint8_t)DFH_GET(v, REVISION);
		f.dfh_version = (uint8_t)DFH_GET(v, VERSION);
		size = size ? size : feature_size(v);
		fid = fid ? fid : feature_id(v);
		if (f.dfh_version == 1 && (psize = dfh_get_param_size(b, ofst, size)) < 0)
			return (int)psize;
	}
	if (b->len - ofst < size) /* unsigned, as in Linux */
		return fail(d, EINVAL_, f.dfh, "feature runs past the end of the list");
	f.fid = fid;
	f.param_size = (uint32_t)psize;
	if (f.dfh_version == 1) {
		uint64_t grp;

		if ((rc = readq(b, ofst + DFHV1_CSR_ADDR, &v)) ||
		    (rc = readq(b, ofst + DFHV1_CSR_SIZE_GRP, &grp)))
			return rc;
		f.absolute = v & DFHV1_CSR_ADDR_REL;
		f.start = f.absolute ? (v >> 1) << 1 : b->start + ofst + (v >> 1);
		f.size = grp >> DFHV1_CSR_SIZE_SHIFT;
	} else {
		f.start = b->start + ofst;
		f.size = size;
	}
	if ((rc = parse_feature_irqs(b, ofst, &f)))
		return rc;
	if (d->count == FW_DFL_MAX_FEATURES)
		return fail(d, ENOSPC_, f.dfh, "too many features for the table");
	d->features[d->count++] = f;
	return 0;
}

/* parse_feature_afu(). */
static int parse_feature_afu(struct binfo *b, uint64_t ofst)
{
	uint64_t v;
	int rc;

	if (!b->have_dev)
		return fail(b->d, EINVAL_, b->start + ofst, "AFU does not belong to any FIU");
	if (b->dev_type != DFH_FIU_ID_PORT)
		return 0; /* "AFU belonging to FIU ... is not supported yet" */
	if ((rc = readq(b, PORT_HDR_CAP, &v)))
		return rc;
	uint64_t size = ((v >> PORT_CAP_MMIO_SIZE_SHIFT) & PORT_CAP_MMIO_SIZE_MASK) << 10;

	return create_feature_instance(b, ofst, size, FW_DFL_FID_AFU);
}

/*
 * parse_feature_fiu(): commit the previous device and re-base the window at
 * this FIU. Like Linux, the first FIU of a list is read at the window start
 * (offset 0), wherever the walk is.
 */
static int parse_feature_fiu(struct binfo *b, uint64_t ofst)
{
	uint64_t v;
	int rc;

	if (b->have_dev) {
		b->start += ofst;
		b->len -= ofst;
	}
	if ((rc = readq(b, 0, &v)))
		return rc;
	unsigned id = (unsigned)DFH_GET(v, ID);

	if (id != DFH_FIU_ID_FME && id != DFH_FIU_ID_PORT)
		return fail(b->d, EINVAL_, b->start, "FIU id neither FME nor PORT");
	b->have_dev = true;
	b->dev_type = (uint8_t)id;
	b->dev_instance = (uint8_t)(id == DFH_FIU_ID_FME ? b->fme_count++ : b->port_count++);
	if ((rc = create_feature_instance(b, 0, 0, 0)) || (rc = readq(b, DFL_NEXT_AFU, &v)))
		return rc;
	uint64_t offset = v & DFL_NEXT_AFU_MASK;

	return offset ? parse_feature_afu(b, offset) : 0;
}

/* parse_feature(). */
static int parse_feature(struct binfo *b, uint64_t ofst)
{
	uint64_t v;
	int rc;

	if ((rc = readq(b, ofst, &v)))
		return rc;
	switch (DFH_GET(v, TYPE)) {
	case DFH_TYPE_AFU:
		return parse_feature_afu(b, ofst);
	case DFH_TYPE_PRIVATE:
		if (!b->have_dev)
			return fail(b->d, EINVAL_, b->start + ofst,
				    "private feature does not belong to any FIU");
		return create_feature_instance(b, ofst, 0, 0);
	case DFH_TYPE_FIU:
		return parse_feature_fiu(b, ofst);
	default:
		return 0; /* "Feature Type %x is not supported." */
	}
}

/* parse_feature_list(). */
static int parse_feature_list(struct binfo *b, uint64_t start, uint64_t len)
{
	uint64_t end = start + len, ofst = 0, v;
	int rc;

	b->have_dev = false;
	b->start = start;
	b->len = len;
	for (; start < end; start += ofst) {
		if (end - start < DFH_SIZE)
			return fail(b->d, EINVAL_, start, "region too small to contain a feature");
		/* A FIU re-bases the window; offsets stay relative to it. */
		if ((rc = parse_feature(b, start - b->start)))
			return rc;
		if ((rc = readq(b, start - b->start, &v)))
			return rc;
		ofst = DFH_GET(v, NEXT);
		if ((v & DFH_EOL) || !ofst)
			break;
	}
	return 0;
}

static void add_dfl(struct fw_dfl *d, uint64_t start, uint64_t len)
{
	if (d->list_count < FW_DFL_MAX_LISTS) {
		d->lists[d->list_count].start = start;
		d->lists[d->list_count].len = len;
		d->list_count++;
	}
}

/* find_dfls_by_default() on BAR0 (the only BAR this walk reads). */
static int find_dfls_by_default(struct fw_dfl *d)
{
	uint64_t v = fw_dfl_read(d, 0);

	d->mmio_reads++;
	if (DFH_GET(v, TYPE) == DFH_TYPE_FIU && DFH_GET(v, ID) == DFH_FIU_ID_PORT) {
		add_dfl(d, 0, d->bar_size);
		return 0;
	}
	if (DFH_GET(v, TYPE) != DFH_TYPE_FIU || DFH_GET(v, ID) != DFH_FIU_ID_FME)
		return fail(d, ENODEV_, 0, "unknown feature type at BAR0 offset 0");
	add_dfl(d, 0, d->bar_size);
	unsigned ports = (unsigned)((fw_dfl_read(d, FME_HDR_CAP) >> FME_CAP_NUM_PORTS_SHIFT) &
				    FME_CAP_NUM_PORTS_MASK);

	for (unsigned i = 0; i < ports; i++) {
		v = fw_dfl_read(d, FME_HDR_PORT_OFST(i));
		d->mmio_reads += 2;
		if (!(v & FME_PORT_OFST_IMP))
			continue;
		unsigned bar = (unsigned)((v >> FME_PORT_OFST_BAR_SHIFT) & FME_PORT_OFST_BAR_MASK);
		uint64_t offset = v & FME_PORT_OFST_DFH_MASK;

		if (bar == FME_PORT_OFST_BAR_SKIP)
			continue;
		if (bar >= 6)
			return fail(d, EINVAL_, FME_HDR_PORT_OFST(i), "bad BAR for port");
		if (bar != 0 || offset >= d->bar_size)
			return fail(d, ERANGE_, FME_HDR_PORT_OFST(i), "port outside BAR0");
		add_dfl(d, offset, d->bar_size - offset);
	}
	return 0;
}

int fw_dfl_enumerate(struct fw_dfl *d, volatile void *bar, uint64_t bar_size, unsigned nr_irqs)
{
	struct binfo b = { .d = d };
	int rc;

	memset(d, 0, sizeof(*d));
	d->bar = bar;
	d->bar_size = bar_size;
	d->nr_irqs = nr_irqs;
	if (bar_size < 8)
		return fail(d, ERANGE_, 0, "BAR too small");
	if ((rc = find_dfls_by_default(d)))
		return rc;
	for (unsigned i = 0; i < d->list_count; i++) {
		if ((rc = parse_feature_list(&b, d->lists[i].start, d->lists[i].len)))
			return rc;
	}
	return 0;
}

const struct fw_dfl_feature *fw_dfl_find(const struct fw_dfl *d, uint64_t dfh)
{
	for (unsigned i = 0; i < d->count; i++) {
		if (d->features[i].dfh == dfh)
			return &d->features[i];
	}
	return NULL;
}

void fw_dfl_guid_format(uint64_t guid_l, uint64_t guid_h, char *out)
{
	snprintf(out, 37, "%08llx-%04llx-%04llx-%04llx-%012llx",
		 (unsigned long long)(guid_h >> 32), (unsigned long long)((guid_h >> 16) & 0xffff),
		 (unsigned long long)(guid_h & 0xffff), (unsigned long long)(guid_l >> 48),
		 (unsigned long long)(guid_l & 0xffffffffffffull));
}

/* ---- the device-tree view ---- */

static bool dt_cells(int node, const char *name, uint32_t *out, int count)
{
	int len;
	const fdt32_t *p = fdt_getprop(fw_fdt(), node, name, &len);

	if (!p || len != count * 4)
		return false;
	for (int i = 0; i < count; i++)
		out[i] = fdt32_to_cpu(p[i]);
	return true;
}

int fw_dfl_dt_card(int after, struct fw_dfl_dt_card *card)
{
	uint32_t address[3], id[2];
	int node = fw_fdt_find_compatible(after, "vmm,dfl-card");

	memset(card, 0, sizeof(*card));
	card->node = node;
	if (node < 0)
		return node;
	card->device = fdt_getprop(fw_fdt(), node, "vmm,device", NULL);
	card->assignment = fdt_getprop(fw_fdt(), node, "vmm,assignment", NULL);
	if (!dt_cells(node, "vmm,pci-address", address, 3) || !dt_cells(node, "vmm,pci-id", id, 2))
		return -FDT_ERR_BADVALUE;
	card->bus = address[0];
	card->slot = address[1];
	card->function = address[2];
	card->vendor = id[0];
	card->device_id = id[1];
	return node;
}

static int dt_feature(int node, struct fw_dfl_dt_feature *f)
{
	uint32_t reg[5], irq[2];

	memset(f, 0, sizeof(*f));
	f->node = node;
	if (!dt_cells(node, "reg", reg, 5))
		return -FDT_ERR_BADVALUE;
	f->phys_hi = reg[0];
	f->offset = (uint64_t)reg[1] << 32 | reg[2];
	f->size = (uint64_t)reg[3] << 32 | reg[4];
	f->type = fw_fdt_u32(node, "vmm,dfl-type", ~0u);
	f->fiu = fw_fdt_u32(node, "vmm,dfl-fiu", ~0u);
	f->fiu_instance = fw_fdt_u32(node, "vmm,dfl-fiu-instance", ~0u);
	f->id = fw_fdt_u32(node, "vmm,dfl-feature-id", ~0u);
	f->revision = fw_fdt_u32(node, "vmm,dfl-revision", ~0u);
	f->dfh_version = fw_fdt_u32(node, "vmm,dfl-dfh-version", ~0u);
	f->dfh = fw_fdt_u32(node, "vmm,dfl-dfh", ~0u);
	f->guid = fdt_getprop(fw_fdt(), node, "vmm,dfl-guid", NULL);
	f->has_irq = dt_cells(node, "vmm,msix-vectors", irq, 2);
	f->irq_base = f->has_irq ? irq[0] : 0;
	f->irq_count = f->has_irq ? irq[1] : 0;
	f->dma_capable = fdt_getprop(fw_fdt(), node, "vmm,dma-capable", NULL) != NULL;
	return 0;
}

int fw_dfl_dt_features(const struct fw_dfl_dt_card *card, struct fw_dfl_dt_feature *out, int max)
{
	int n = 0, node, rc;

	fdt_for_each_subnode(node, fw_fdt(), card->node) {
		const char *compat = fw_fdt_compatible(node);

		if (!compat || strcmp(compat, "vmm,dfl-feature") != 0)
			continue;
		if (n < max && (rc = dt_feature(node, &out[n])))
			return rc;
		n++;
	}
	return n;
}

/* ---- the AFU ---- */

int fw_dfl_afu_open(struct fw_dfl_afu *a, volatile void *afu_base,
		    volatile struct dfl_afu_desc *ring, unsigned entries, bool irq)
{
	a->regs = afu_base;
	a->ring = ring;
	a->entries = entries;
	a->tail = 0;
	a->tail_word = NULL;
	if (fw_dfl_afu_read(a, DFL_AFU_MAGIC) != DFL_AFU_MAGIC_VALUE)
		return -1;
	fw_dfl_afu_write(a, DFL_AFU_CTRL, DFL_AFU_CTRL_RESET);
	fw_dfl_afu_write(a, DFL_AFU_RING_BASE, (uint64_t)(uintptr_t)ring);
	fw_dfl_afu_write(a, DFL_AFU_RING_SIZE, entries);
	fw_dfl_afu_write(a, DFL_AFU_CTRL, DFL_AFU_CTRL_ENABLE | (irq ? DFL_AFU_CTRL_IRQ : 0));
	return 0;
}

volatile struct dfl_afu_desc *fw_dfl_afu_post(struct fw_dfl_afu *a, uint32_t op, uint32_t flags,
					      uint64_t src, uint64_t dst, uint64_t len)
{
	volatile struct dfl_afu_desc *desc = &a->ring[a->tail & (a->entries - 1)];

	desc->status = DFL_AFU_ST_PENDING;
	desc->bytes_done = 0;
	desc->op = op;
	desc->flags = flags;
	desc->src = src;
	desc->dst = dst;
	desc->len = len;
	a->tail++;
	return desc;
}

void fw_dfl_afu_use_tail_word(struct fw_dfl_afu *a, volatile uint32_t *word)
{
	*word = a->tail;
	a->tail_word = word;
	fw_dfl_afu_write(a, DFL_AFU_TAIL_ADDR, (uint64_t)(uintptr_t)word);
}

void fw_dfl_afu_kick(const struct fw_dfl_afu *a)
{
	if (a->tail_word) { /* release: descriptors before the tail */
		__atomic_store_n(a->tail_word, a->tail, __ATOMIC_RELEASE);
		return;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fw_dfl_afu_write(a, DFL_AFU_RING_TAIL, a->tail);
}

uint32_t fw_dfl_afu_wait(volatile struct dfl_afu_desc *desc, uint64_t timeout_tsc)
{
	uint64_t start = rdtsc();
	uint32_t status;

	while ((status = __atomic_load_n(&desc->status, __ATOMIC_ACQUIRE)) == DFL_AFU_ST_PENDING) {
		if (rdtsc() - start > timeout_tsc)
			break;
	}
	return status;
}

uint32_t fw_dfl_afu_run(struct fw_dfl_afu *a, uint32_t op, uint32_t flags, uint64_t src,
			uint64_t dst, uint64_t len, uint64_t timeout_tsc)
{
	volatile struct dfl_afu_desc *desc = fw_dfl_afu_post(a, op, flags, src, dst, len);

	fw_dfl_afu_kick(a);
	return fw_dfl_afu_wait(desc, timeout_tsc);
}
