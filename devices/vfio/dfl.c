/* SPDX-License-Identifier: MIT */
/*
 * "vfio-dfl": an FPGA DFL card passed through with vfio-pci, its features
 * described in the device tree like the emulated dfl-card's
 * (docs/devices/vfio-pci.md, docs/devices/dfl.md).
 *
 * Everything PCI is the vfio-pci personality. After realize, BAR0 is read
 * through the VFIO region (pread, 8 bytes at a time, bounds-checked by the
 * walker before each read) and walked with dfl_walk_discover(), dfl-pci's
 * default discovery; the walk is described with dfl_describe_walk(), the
 * emulated card's code, so the same `expose` and `assignment` rules apply:
 *
 *  - `assignment = "features"` refuses, at config time and with the same
 *    message, to expose a DMA-capable feature (an AFU), and the device is
 *    never attached to the VM's IOAS: the IOMMU blocks all its DMA, which
 *    is the passthrough form of the emulated card's "DMA denied";
 *  - `assignment = "device"` (default) attaches it: guest RAM at IOVA = GPA.
 *
 * A list the walker rejects is a realize error naming where it broke: a
 * hostile or broken card is refused rather than half described. The
 * description exists only once the device was read, so `vmm dtb` (which
 * never opens devices) has no card node for a vfio-dfl device.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/dfl/card.h"
#include "devices/models.h"
#include "devices/vfio/pci.h"
#include "vmm/log.h"

struct vfio_dfl {
	struct vfio_pci *pci;       /* first: vfio_pci_* helpers take dev->state */
	bool whole_device;
	uint32_t expose;
	bool walked;
	bool read_failed;
	struct dfl_feature features[DFL_CARD_MAX_FEATURES * 4];
	struct dfl_walk walk;
};

/* ---- config ---- */

static int parse_expose_item(const struct config_context *ctx, const struct toml_value *item,
			     uint32_t *expose)
{
	const char *text = item->type == TOML_STRING ? item->u.string.str : "";
	char *end;

	if (!strcmp(text, "fme")) {
		*expose |= DFL_EXPOSE_FME;
	} else if (!strcmp(text, "port")) {
		*expose |= DFL_EXPOSE_ALL_PORTS;
	} else if (!strcmp(text, "afu")) {
		*expose |= DFL_EXPOSE_ALL_AFUS;
	} else if ((!strncmp(text, "port", 4) || !strncmp(text, "afu", 3)) &&
		   text[text[0] == 'p' ? 4 : 3] >= '0' && text[text[0] == 'p' ? 4 : 3] <= '9') {
		unsigned long index = strtoul(text + (text[0] == 'p' ? 4 : 3), &end, 10);

		if (*end || index >= DFL_CARD_MAX_PORTS)
			return config_fail(ctx, item->pos, "'%s' in 'expose': ports are 0 to %u", text,
					   DFL_CARD_MAX_PORTS - 1);
		*expose |= text[0] == 'p' ? DFL_EXPOSE_PORT(index) : DFL_EXPOSE_AFU(index);
	} else {
		return config_fail(ctx, item->pos, "unknown feature group in 'expose'; valid: "
				   "\"fme\", \"port\", \"portN\", \"afu\", \"afuN\"");
	}
	return 0;
}

static int parse_dfl_keys(struct vfio_dfl *dfl, const struct toml_table *section,
			  const struct config_context *ctx, const char *name)
{
	static const char *const assignments[] = { "device", "features", NULL };
	const struct toml_value *value = toml_table_get(section, "expose");
	unsigned assignment = 0;
	int rc;

	if ((rc = config_get_choice(ctx, section, "assignment", assignments, &assignment)))
		return rc;
	dfl->whole_device = assignment == 0;
	dfl->expose = DFL_EXPOSE_ALL_PORTS | DFL_EXPOSE_ALL_AFUS; /* as dfl-card: FME hidden */
	if (value) {
		if (value->type != TOML_ARRAY)
			return config_fail(ctx, value->pos, "'expose' must be an array of strings");
		dfl->expose = 0;
		for (size_t i = 0; i < value->u.array->count; i++) {
			if ((rc = parse_expose_item(ctx, &value->u.array->items[i], &dfl->expose)))
				return rc;
		}
	}
	for (unsigned p = 0; p < DFL_CARD_MAX_PORTS && !dfl->whole_device; p++) {
		if (!(dfl->expose & DFL_EXPOSE_AFU(p)))
			continue;
		const struct toml_value *where = value ? value : toml_table_get(section, "assignment");

		return config_fail(ctx, where->pos,
				   "[devices.%s]: refusing to expose afu%u with assignment = \"features\": "
				   "it is DMA-capable (an accelerator behind a port masters the bus) and "
				   "every feature of the PCI function shares one DMA context, so handing "
				   "it out alone gives no isolation; set assignment = \"device\" or leave "
				   "the AFUs out of 'expose'", name, p);
	}
	return 0;
}

static int vfio_dfl_parse(struct device *dev, const struct toml_table *section,
			  const struct config_context *ctx)
{
	static const char *const extra[] = { "expose", "assignment", NULL };
	struct vfio_dfl *dfl = calloc(1, sizeof(*dfl));
	int rc;

	if (!dfl)
		return -ENOMEM;
	rc = vfio_pci_parse_common(dev, section, ctx, extra);
	dfl->pci = dev->state;
	dev->state = dfl;
	if (rc)
		return rc;
	if ((rc = parse_dfl_keys(dfl, section, ctx, dev->name)))
		return rc;
	/* Partial assignment: never attached, so the IOMMU blocks the card's DMA. */
	dfl->pci->no_dma = !dfl->whole_device;
	return 0;
}

/* ---- BAR0 through VFIO ---- */

static uint64_t bar0_read64(void *opaque, uint64_t offset)
{
	struct vfio_dfl *dfl = opaque;
	uint64_t value;

	if (vfio_region_read(&dfl->pci->dev, 0, offset, &value, sizeof(value))) {
		dfl->read_failed = true;
		return ~0ull;
	}
	return value;
}

static int walk_bar0(struct vfio_dfl *dfl)
{
	struct vfio_pci *pci = dfl->pci;
	const struct vfio_region *bar0 = &pci->dev.regions[0];
	struct dfl_window window = { .size = bar0->size, .read64 = bar0_read64, .opaque = dfl };

	if (!bar0->present || !(bar0->flags & VFIO_REGION_INFO_FLAG_READ)) {
		log_error("vfio-dfl '%s': the device has no readable BAR0 to hold a DFL", pci->name);
		return -ENODEV;
	}
	dfl_walk_init(&dfl->walk, dfl->features, sizeof(dfl->features) / sizeof(dfl->features[0]),
		      pci->msix.present ? pci->msix.vectors : 0);
	int rc = dfl_walk_discover(&window, &dfl->walk);

	if (dfl->read_failed) {
		log_error("vfio-dfl '%s': reading BAR0 through VFIO failed during the walk",
			  pci->name);
		return -EIO;
	}
	if (rc) {
		log_error("vfio-dfl '%s': the card's feature list is refused at BAR0 offset %#llx: "
			  "%s", pci->name, (unsigned long long)dfl->walk.error_offset,
			  dfl->walk.error);
		return rc;
	}
	dfl->walked = true;
	log_info("vfio-dfl '%s': %u features in %u list(s) (%u skipped); assignment = %s",
		 pci->name, dfl->walk.count, dfl->walk.lists, dfl->walk.skipped,
		 dfl->whole_device ? "device" : "features (DMA blocked by the IOMMU)");
	return 0;
}

/* ---- life cycle ---- */

static int vfio_dfl_realize(struct device *dev, struct vm *vm)
{
	struct vfio_dfl *dfl = dev->state;
	int rc = vfio_pci_realize_common(dfl->pci, vm);

	return rc ? rc : walk_bar0(dfl);
}

static int vfio_dfl_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const struct vfio_dfl *dfl = dev->state;
	const struct vfio_pci *pci = dfl->pci;

	if (!dfl->walked) {
		log_info("vfio-dfl '%s': features are described only when the device is opened "
			 "(vmm run); this device tree has no card node", pci->name);
		return 0;
	}
	const struct dfl_description description = {
		.device_name = dev->name, .slot = (int)pci->fn.slot,
		.vendor_id = (uint16_t)(pci->fn.config[PCI_VENDOR_ID] |
					pci->fn.config[PCI_VENDOR_ID + 1] << 8),
		.device_id = (uint16_t)(pci->fn.config[PCI_DEVICE_ID] |
					pci->fn.config[PCI_DEVICE_ID + 1] << 8),
		.whole_device = dfl->whole_device, .expose = dfl->expose, .walk = &dfl->walk,
	};

	return dfl_describe_walk(&description, fdt);
}

static void vfio_dfl_reset(struct device *dev)
{
	struct vfio_dfl *dfl = dev->state;
	struct device inner = { .model = &vfio_pci_model, .name = dev->name, .state = dfl->pci };

	vfio_pci_model.reset(&inner);
}

static void vfio_dfl_unrealize(struct device *dev, struct vm *vm)
{
	struct vfio_dfl *dfl = dev->state;

	vfio_pci_unrealize_common(dfl->pci);
}

static void vfio_dfl_destroy(struct device *dev)
{
	struct vfio_dfl *dfl = dev->state;

	if (!dfl)
		return;
	vfio_pci_free(dfl->pci);
	free(dfl);
	dev->state = NULL;
}

const struct device_model vfio_dfl_model = {
	.type = "vfio-dfl",
	.summary = "a host FPGA DFL card passed through with vfio-pci, features in the DT",
	.parse = vfio_dfl_parse,
	.realize = vfio_dfl_realize,
	.add_fdt_node = vfio_dfl_add_fdt_node,
	.reset = vfio_dfl_reset,
	.unrealize = vfio_dfl_unrealize,
	.destroy = vfio_dfl_destroy,
};
