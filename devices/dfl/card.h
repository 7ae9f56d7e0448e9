/* SPDX-License-Identifier: MIT */
/*
 * The "dfl-card" device model (docs/devices/dfl.md): a PCI function with the
 * ids Linux dfl-pci binds, whose BAR0 holds an FME with private features
 * and one to four ports, each with private features and an AFU (afu.h).
 *
 *   layout.c    config -> BAR0 image (DFHs, GUIDs, capabilities) + regions
 *   describe.c  the walker's table of that image -> device-tree nodes for
 *               the features the config exposes
 *   bar0.c      BAR0 registers and the poller thread running the AFUs,
 *               free of PCI and KVM (the VFIO host simulator reuses it)
 *   card.c      the model: config, PCI function, MSI-X, life cycle
 *
 * The image and the walk are built at parse time, so `vmm dtb` and `vmm
 * run` describe the same features, and a layout the walker rejects is a
 * config error rather than a guest surprise.
 */
#ifndef DEVICES_DFL_CARD_H
#define DEVICES_DFL_CARD_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/dfl/walker.h"
#include "dfl_regs.h"

struct fdt_builder;

/* Bits of dfl_card_config.expose. */
#define DFL_EXPOSE_FME        (1u << 0)
#define DFL_EXPOSE_PORT(p)    (1u << (1 + (p)))
#define DFL_EXPOSE_AFU(p)     (1u << (8 + (p)))
#define DFL_EXPOSE_ALL_PORTS  (0xfu << 1)
#define DFL_EXPOSE_ALL_AFUS   (0xfu << 8)

#define DFL_CARD_DEFAULT_VECTORS 16
#define DFL_CARD_MAX_VECTORS     64
#define DFL_CARD_MAX_FEATURES    (3 + 4 * DFL_CARD_MAX_PORTS)

struct dfl_card_config {
	unsigned ports;            /* 1..DFL_CARD_MAX_PORTS */
	unsigned dfh_version;      /* private features and AFUs: 0 or 1 */
	unsigned vectors;          /* MSI-X table size */
	int slot;                  /* PCI device number, -1: next free */
	bool whole_device;         /* assignment = "device" */
	uint32_t expose;           /* DFL_EXPOSE_* */
	uint64_t afu_guid_l, afu_guid_h;
	uint32_t spin_us, park_min_us, park_max_us; /* the AFUs' poller thread */
};

enum dfl_region_kind {
	DFL_REGION_FME,
	DFL_REGION_THERMAL,
	DFL_REGION_GERR,
	DFL_REGION_PORT,
	DFL_REGION_PERR,
	DFL_REGION_UINT,
	DFL_REGION_AFU,
};

/* One feature of BAR0: where its DFH and registers are, who it belongs to. */
struct dfl_region {
	enum dfl_region_kind kind;
	unsigned port;             /* port features: the port number */
	uint64_t dfh;              /* BAR0 offset of the DFH */
	uint64_t size;             /* bytes the feature owns from its DFH */
	uint64_t csr;              /* BAR0 offset of its registers */
	bool dma_capable;          /* it reads or writes guest memory */
};

struct dfl_layout {
	uint64_t *image;           /* DFL_CARD_BAR0_SIZE / 8 little-endian words */
	struct dfl_region regions[DFL_CARD_MAX_FEATURES];
	unsigned region_count;
	struct dfl_feature features[DFL_CARD_MAX_FEATURES + 4];
	struct dfl_walk walk;      /* the walker's view of image */
};

/* Fill layout->image (allocated) and regions from config, then walk it.
 * Returns 0, or -ENOMEM, or the walker's error (a bug: logged). */
int dfl_layout_build(struct dfl_layout *layout, const struct dfl_card_config *config);
void dfl_layout_free(struct dfl_layout *layout);

/* The region containing BAR0 offset `offset`, or NULL. */
const struct dfl_region *dfl_layout_region(const struct dfl_layout *layout, uint64_t offset);
/* The region whose DFH is at `dfh`, or NULL. */
const struct dfl_region *dfl_layout_region_at(const struct dfl_layout *layout, uint64_t dfh);

/* Whether feature (a walk entry) is exposed by config->expose. */
bool dfl_feature_exposed(const struct dfl_card_config *config, const struct dfl_feature *feature);

/* Add the card's node and one node per exposed feature (describe.c). */
int dfl_describe(const struct dfl_card_config *config, const struct dfl_layout *layout,
		 const char *device_name, struct fdt_builder *fdt);

/*
 * The same description from any walk of a card's BAR0: the emulated card's
 * layout, or a passed-through card's BAR read through VFIO (devices/vfio/
 * dfl.c). One set of rules for both: what `expose` selects is described,
 * and a DMA-capable feature only with the whole device assigned.
 */
struct dfl_description {
	const char *device_name;   /* vmm,device */
	int slot;                  /* PCI device number on bus 0 */
	uint16_t vendor_id, device_id;
	bool whole_device;         /* assignment = "device" */
	uint32_t expose;           /* DFL_EXPOSE_* */
	const struct dfl_walk *walk;
};
int dfl_describe_walk(const struct dfl_description *description, struct fdt_builder *fdt);

/* Whether `expose` (DFL_EXPOSE_* bits) selects feature. */
bool dfl_expose_selects(uint32_t expose, const struct dfl_feature *feature);
/* Features that master the bus (the AFUs' engines): isolation needs the whole function. */
bool dfl_feature_dma_capable(const struct dfl_feature *feature);

#endif
