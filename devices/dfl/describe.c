/* SPDX-License-Identifier: MIT */
/*
 * The walker's table of a card's BAR0 as device-tree nodes, one per
 * exposed feature (format: docs/devices/dfl.md). The table comes from the
 * emulated card's layout (card.c) or from a passed-through card's BAR
 * (devices/vfio/dfl.c); the rules are the same for both. There is no upstream
 * binding for DFL features; the properties are this project's ("vmm,").
 *
 * Placement: a root child "dfl-card-slotN" holding "feature@OFFSET"
 * children whose reg uses the PCI bus binding's address format (BAR0 of
 * device N, offset in the BAR), so a description stays right when the
 * guest moves the BAR. x86 Linux does not probe root children other than
 * isa/pci/ce4100 ones (device-facts 6.5) and binds DFL from PCI anyway
 * (dfl-pci); the description is for guests that read it (the self-test
 * firmware) and for tools.
 */
#include <errno.h>
#include <stdio.h>

#include "devices/dfl/card.h"
#include "vmm/fdt.h"

#define PCI_SPACE_MEM32  0x02000000u
#define PCI_BAR0_REGISTER 0x10u

bool dfl_expose_selects(uint32_t expose, const struct dfl_feature *feature)
{
	unsigned port = feature->fiu_instance;

	if (feature->fiu_id == DFH_FIU_ID_FME)
		return expose & DFL_EXPOSE_FME;
	if (port >= DFL_CARD_MAX_PORTS)
		return false;
	if (feature->type == DFH_TYPE_AFU)
		return expose & DFL_EXPOSE_AFU(port);
	return expose & DFL_EXPOSE_PORT(port);
}

bool dfl_feature_exposed(const struct dfl_card_config *config, const struct dfl_feature *feature)
{
	return dfl_expose_selects(config->expose, feature);
}

/*
 * An AFU is the accelerator behind a port: on the emulated card its
 * copy/fill engine, on a real card whatever the FPGA image does, which
 * includes DMA. FIU headers and private management features only have
 * registers. (The emulated layout's regions say the same: dma_capable is
 * set exactly for its AFUs.)
 */
bool dfl_feature_dma_capable(const struct dfl_feature *feature)
{
	return feature->type == DFH_TYPE_AFU;
}

/*
 * Interrupts of a feature: its own (DFHv0 capability registers, DFHv1
 * MSI_X parameter); a DFHv0 AFU has none of its own and uses its port's
 * user interrupts (the UINT feature), as Linux dfl-afu does.
 */
static const struct dfl_feature *irq_source(const struct dfl_walk *walk,
					    const struct dfl_feature *feature)
{
	if (feature->has_irq || feature->type != DFH_TYPE_AFU)
		return feature->has_irq ? feature : NULL;
	for (unsigned i = 0; i < walk->count; i++) {
		const struct dfl_feature *f = &walk->features[i];

		if (f->fiu == feature->fiu && f->type == DFH_TYPE_PRIVATE &&
		    f->id == PORT_FEATURE_ID_UINT && f->has_irq)
			return f;
	}
	return NULL;
}

static void describe_feature(const struct dfl_description *d, const struct dfl_feature *f,
			     const char *card_path, struct fdt_builder *fdt)
{
	const struct dfl_feature *irq = irq_source(d->walk, f);
	const uint32_t reg[5] = {
		PCI_SPACE_MEM32 | (uint32_t)d->slot << 11 | PCI_BAR0_REGISTER,
		(uint32_t)(f->csr_start >> 32), (uint32_t)f->csr_start,
		(uint32_t)(f->csr_size >> 32), (uint32_t)f->csr_size,
	};
	char name[40];

	snprintf(name, sizeof(name), "feature@%llx", (unsigned long long)f->csr_start);
	int node = fdt_add_node(fdt, card_path, name);

	fdt_prop_string(fdt, node, "compatible", "vmm,dfl-feature");
	fdt_prop_cells(fdt, node, "reg", reg, 5);
	fdt_prop_u32(fdt, node, "vmm,dfl-type", f->type);
	fdt_prop_u32(fdt, node, "vmm,dfl-fiu", f->fiu_id);
	fdt_prop_u32(fdt, node, "vmm,dfl-fiu-instance", f->fiu_instance);
	fdt_prop_u32(fdt, node, "vmm,dfl-feature-id", f->id);
	fdt_prop_u32(fdt, node, "vmm,dfl-revision", f->revision);
	fdt_prop_u32(fdt, node, "vmm,dfl-dfh-version", f->dfh_version);
	fdt_prop_u32(fdt, node, "vmm,dfl-dfh", (uint32_t)f->dfh);
	if (f->has_guid) {
		char guid[DFL_GUID_STRLEN];

		dfl_guid_format(f->guid_l, f->guid_h, guid);
		fdt_prop_string(fdt, node, "vmm,dfl-guid", guid);
	}
	if (irq) {
		const uint32_t vectors[2] = { irq->irq_base, irq->irq_count };

		fdt_prop_cells(fdt, node, "vmm,msix-vectors", vectors, 2);
	}
	if (dfl_feature_dma_capable(f))
		fdt_prop_empty(fdt, node, "vmm,dma-capable");
}

int dfl_describe_walk(const struct dfl_description *d, struct fdt_builder *fdt)
{
	const struct dfl_walk *walk = d->walk;
	const uint32_t pci_address[3] = { 0, (uint32_t)d->slot, 0 };
	const uint32_t pci_id[2] = { d->vendor_id, d->device_id };
	char name[32], path[40];

	if (!d->expose)
		return 0;
	if (d->slot < 0)
		return -EINVAL; /* callers require a slot when features are exposed */
	snprintf(name, sizeof(name), "dfl-card-slot%d", d->slot);
	snprintf(path, sizeof(path), "/%s", name);
	int card = fdt_add_node(fdt, "/", name);

	fdt_prop_string(fdt, card, "compatible", "vmm,dfl-card");
	fdt_prop_string(fdt, card, "vmm,device", d->device_name);
	fdt_prop_cells(fdt, card, "vmm,pci-address", pci_address, 3);
	fdt_prop_cells(fdt, card, "vmm,pci-id", pci_id, 2);
	fdt_prop_string(fdt, card, "vmm,assignment", d->whole_device ? "device" : "features");
	fdt_prop_u32(fdt, card, "#address-cells", 3);
	fdt_prop_u32(fdt, card, "#size-cells", 2);
	/* Children are prepended: add the last feature first to keep walk order. */
	for (unsigned i = walk->count; i-- > 0;) {
		const struct dfl_feature *f = &walk->features[i];

		if (!dfl_expose_selects(d->expose, f))
			continue;
		/* Config parsing refuses this; never describe it even if asked. */
		if (dfl_feature_dma_capable(f) && !d->whole_device)
			continue;
		describe_feature(d, f, path, fdt);
	}
	return 0;
}

int dfl_describe(const struct dfl_card_config *config, const struct dfl_layout *layout,
		 const char *device_name, struct fdt_builder *fdt)
{
	const struct dfl_description description = {
		.device_name = device_name, .slot = config->slot,
		.vendor_id = DFL_PCI_VENDOR_ID, .device_id = DFL_PCI_DEVICE_ID,
		.whole_device = config->whole_device, .expose = config->expose,
		.walk = &layout->walk,
	};

	return dfl_describe_walk(&description, fdt);
}
