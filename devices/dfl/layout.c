/* SPDX-License-Identifier: MIT */
/*
 * BAR0 of the DFL card from its config (card.h): the static words a guest
 * reads (DFHs, GUIDs, capability registers, DFHv1 parameters), the regions
 * the register code dispatches on, and the walker's table of the result.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/dfl/card.h"
#include "vmm/log.h"

#define V1_FEATURE_GUID_H 0x766d6d2d64666c00ull /* "vmm-dfl\0" | feature id */
#define CLK_FRQ_HZ        100000000ull

static void put(struct dfl_layout *layout, uint64_t offset, uint64_t value)
{
	layout->image[offset / 8] = value;
}

static void add_region(struct dfl_layout *layout, enum dfl_region_kind kind, unsigned port,
		       uint64_t dfh, uint64_t size, uint64_t csr)
{
	struct dfl_region *r = &layout->regions[layout->region_count++];

	*r = (struct dfl_region){ .kind = kind, .port = port, .dfh = dfh, .size = size, .csr = csr,
				  .dma_capable = kind == DFL_REGION_AFU };
}

/* DFHv1 parameter blocks from `at`: MSI_X (when irq_count), then CLK_FRQ (EOP). */
static uint64_t put_params(struct dfl_layout *layout, uint64_t at, unsigned irq_base,
			   unsigned irq_count)
{
	const uint64_t two_words = 2ull << DFHV1_PARAM_NEXT_SHIFT;

	if (irq_count) {
		put(layout, at, DFHV1_PARAM_ID_MSI_X | two_words);
		put(layout, at + 8, irq_base | (uint64_t)irq_count << 32);
		at += 16;
	}
	put(layout, at, DFHV1_PARAM_ID_CLK_FRQ | DFHV1_PARAM_EOP | two_words);
	put(layout, at + 8, CLK_FRQ_HZ);
	return at + 16;
}

/*
 * A private feature owning DFL_CARD_FEATURE_SIZE bytes at dfh. v1: GUID,
 * CSRs at DFH + DFL_CARD_V1_CSR (CSR_ADDR relative: offset << 1), params.
 * Returns the BAR0 offset of its registers.
 */
static uint64_t put_private(struct dfl_layout *layout, const struct dfl_card_config *config,
			    uint64_t dfh, unsigned id, bool eol, unsigned irq_base,
			    unsigned irq_count)
{
	put(layout, dfh, DFH_MAKE(DFH_TYPE_PRIVATE, config->dfh_version, eol,
				  DFL_CARD_FEATURE_SIZE, 1, id));
	if (config->dfh_version == 0)
		return dfh;
	put(layout, dfh + DFL_GUID_L, 0x8000000000000000ull | dfh);
	put(layout, dfh + DFL_GUID_H, V1_FEATURE_GUID_H | id);
	put(layout, dfh + DFHV1_CSR_ADDR, (uint64_t)DFL_CARD_V1_CSR << 1);
	put(layout, dfh + DFHV1_CSR_SIZE_GRP,
	    (uint64_t)DFL_CARD_V1_CSR_SIZE << DFHV1_CSR_SIZE_SHIFT | DFHV1_CSR_HAS_PARAMS);
	put_params(layout, dfh + DFHV1_PARAM_HDR, irq_base, irq_count);
	return dfh + DFL_CARD_V1_CSR;
}

static void build_fme(struct dfl_layout *layout, const struct dfl_card_config *config)
{
	uint64_t csr;

	put(layout, DFL_CARD_FME, DFH_MAKE(DFH_TYPE_FIU, 0, false, DFL_CARD_FEATURE_SIZE, 0,
					   DFH_FIU_ID_FME));
	put(layout, DFL_CARD_FME + DFL_GUID_L, DFL_FME_GUID_L);
	put(layout, DFL_CARD_FME + DFL_GUID_H, DFL_FME_GUID_H);
	put(layout, DFL_CARD_FME + FME_HDR_CAP, 1 | (uint64_t)config->ports << FME_CAP_NUM_PORTS_SHIFT |
						 48ull << FME_CAP_ADDR_WIDTH_SHIFT);
	for (unsigned p = 0; p < config->ports; p++)
		put(layout, DFL_CARD_FME + FME_HDR_PORT_OFST(p),
		    DFL_CARD_PORT(p) | (uint64_t)DFL_CARD_BAR0 << FME_PORT_OFST_BAR_SHIFT |
		    FME_PORT_OFST_IMP);
	put(layout, DFL_CARD_FME + FME_HDR_BITSTREAM_ID, DFL_CARD_BITSTREAM_ID);
	put(layout, DFL_CARD_FME + FME_HDR_BITSTREAM_MD, DFL_CARD_BITSTREAM_MD);
	add_region(layout, DFL_REGION_FME, 0, DFL_CARD_FME, DFL_CARD_FEATURE_SIZE, DFL_CARD_FME);

	csr = put_private(layout, config, DFL_CARD_FME_THERMAL, FME_FEATURE_ID_THERMAL_MGMT, false,
			  0, 0);
	put(layout, csr + DFL_THERMAL_THRESHOLD, 90);
	put(layout, csr + DFL_THERMAL_RDSENSOR, DFL_THERMAL_TEMP_C);
	add_region(layout, DFL_REGION_THERMAL, 0, DFL_CARD_FME_THERMAL, DFL_CARD_FEATURE_SIZE, csr);

	csr = put_private(layout, config, DFL_CARD_FME_GERR, FME_FEATURE_ID_GLOBAL_ERR, true,
			  DFL_CARD_VEC_FME_ERR, 1);
	put(layout, csr + FME_ERROR_CAP,
	    DFL_ERROR_CAP_SUPP_INT | (uint64_t)DFL_CARD_VEC_FME_ERR << DFL_ERROR_CAP_VECT_SHIFT);
	add_region(layout, DFL_REGION_GERR, 0, DFL_CARD_FME_GERR, DFL_CARD_FEATURE_SIZE, csr);
}

static void build_afu(struct dfl_layout *layout, const struct dfl_card_config *config,
		      unsigned p)
{
	uint64_t afu = DFL_CARD_PORT(p) + DFL_CARD_AFU;

	put(layout, afu, DFH_MAKE(DFH_TYPE_AFU, config->dfh_version, true, DFL_CARD_AFU_SIZE, 0, 0));
	put(layout, afu + DFL_GUID_L, config->afu_guid_l);
	put(layout, afu + DFL_GUID_H, config->afu_guid_h);
	if (config->dfh_version == 1) {
		/* CSRs from the DFH over the whole AFU: the range Linux gives it. */
		put(layout, afu + DFHV1_CSR_ADDR, 0);
		put(layout, afu + DFHV1_CSR_SIZE_GRP,
		    (uint64_t)DFL_CARD_AFU_SIZE << DFHV1_CSR_SIZE_SHIFT | DFHV1_CSR_HAS_PARAMS);
		put_params(layout, afu + DFHV1_PARAM_HDR, DFL_CARD_VEC_AFU(p), 1);
	}
	add_region(layout, DFL_REGION_AFU, p, afu, DFL_CARD_AFU_SIZE, afu);
}

static void build_port(struct dfl_layout *layout, const struct dfl_card_config *config,
		       unsigned p)
{
	uint64_t port = DFL_CARD_PORT(p), csr;

	put(layout, port, DFH_MAKE(DFH_TYPE_FIU, 0, false, DFL_CARD_FEATURE_SIZE, 0,
				   DFH_FIU_ID_PORT));
	put(layout, port + DFL_GUID_L, DFL_PORT_GUID_L);
	put(layout, port + DFL_GUID_H, DFL_PORT_GUID_H);
	put(layout, port + DFL_NEXT_AFU, DFL_CARD_AFU);
	put(layout, port + PORT_HDR_CAP, p | (uint64_t)(DFL_CARD_AFU_SIZE >> 10)
				<< PORT_CAP_MMIO_SIZE_SHIFT | 2ull << PORT_CAP_SUPP_INT_SHIFT);
	add_region(layout, DFL_REGION_PORT, p, port, DFL_CARD_FEATURE_SIZE, port);

	csr = put_private(layout, config, port + DFL_CARD_PORT_ERROR, PORT_FEATURE_ID_ERROR, false,
			  DFL_CARD_VEC_PORT_ERR(p), 1);
	put(layout, csr + PORT_ERROR_CAP, DFL_ERROR_CAP_SUPP_INT |
	    (uint64_t)DFL_CARD_VEC_PORT_ERR(p) << DFL_ERROR_CAP_VECT_SHIFT);
	add_region(layout, DFL_REGION_PERR, p, port + DFL_CARD_PORT_ERROR, DFL_CARD_FEATURE_SIZE,
		   csr);

	csr = put_private(layout, config, port + DFL_CARD_PORT_UINT, PORT_FEATURE_ID_UINT, true,
			  DFL_CARD_VEC_AFU(p), 1);
	put(layout, csr + PORT_UINT_CAP, 1 | (uint64_t)DFL_CARD_VEC_AFU(p) << PORT_UINT_CAP_FST_SHIFT);
	add_region(layout, DFL_REGION_UINT, p, port + DFL_CARD_PORT_UINT, DFL_CARD_FEATURE_SIZE,
		   csr);
	build_afu(layout, config, p);
}

static uint64_t image_read64(void *opaque, uint64_t offset)
{
	const struct dfl_layout *layout = opaque;

	return layout->image[offset / 8];
}

int dfl_layout_build(struct dfl_layout *layout, const struct dfl_card_config *config)
{
	struct dfl_window window = { .size = DFL_CARD_BAR0_SIZE, .read64 = image_read64,
				     .opaque = layout };

	memset(layout, 0, sizeof(*layout));
	layout->image = calloc(DFL_CARD_BAR0_SIZE / 8, sizeof(uint64_t));
	if (!layout->image)
		return -ENOMEM;
	build_fme(layout, config);
	for (unsigned p = 0; p < config->ports; p++)
		build_port(layout, config, p);
	dfl_walk_init(&layout->walk, layout->features,
		      sizeof(layout->features) / sizeof(layout->features[0]), config->vectors);
	int rc = dfl_walk_discover(&window, &layout->walk);

	if (rc == 0 && layout->walk.count != layout->region_count)
		rc = -EINVAL;
	if (rc)
		log_error("dfl-card: the walker rejects the generated layout (a bug): %s",
			  layout->walk.error[0] ? layout->walk.error : "feature count differs");
	return rc;
}

void dfl_layout_free(struct dfl_layout *layout)
{
	free(layout->image);
	layout->image = NULL;
}

const struct dfl_region *dfl_layout_region(const struct dfl_layout *layout, uint64_t offset)
{
	for (unsigned i = 0; i < layout->region_count; i++) {
		const struct dfl_region *r = &layout->regions[i];

		if (offset >= r->dfh && offset - r->dfh < r->size)
			return r;
	}
	return NULL;
}

const struct dfl_region *dfl_layout_region_at(const struct dfl_layout *layout, uint64_t dfh)
{
	for (unsigned i = 0; i < layout->region_count; i++) {
		if (layout->regions[i].dfh == dfh)
			return &layout->regions[i];
	}
	return NULL;
}
