/* SPDX-License-Identifier: MIT */
/* The fsl,qoriq-mc node (fdt_node.h). */
#include "devices/fslmc/fdt_node.h"

#include <stdio.h>

#include "devices/fslmc/fslmc.h"
#include "vmm/fdt.h"

static void add_dpmacs(struct fdt_builder *fdt, const char *path, const uint32_t *ids,
		       size_t count)
{
	char parent[96], name[32];

	if (!count)
		return;
	snprintf(parent, sizeof(parent), "%s/dpmacs", path);
	int node = fdt_add_node(fdt, path, "dpmacs");

	fdt_prop_u32(fdt, node, "#address-cells", 1);
	fdt_prop_u32(fdt, node, "#size-cells", 0);
	/* Subnodes are prepended: add the last first. */
	for (size_t i = count; i-- > 0;) {
		snprintf(name, sizeof(name), "ethernet@%x", ids[i]);
		int mac = fdt_add_node(fdt, parent, name);

		fdt_prop_string(fdt, mac, "compatible", "fsl,qoriq-mc-dpmac");
		fdt_prop_u32(fdt, mac, "reg", ids[i]);
	}
}

/*
 * Root level, as on arm64 (binding fsl,qoriq-mc). x86 Linux does not probe
 * root-level platform nodes (device-facts 6.5); see docs/devices/fsl-mc.md.
 */
void fslmc_fdt_add(struct fdt_builder *fdt, uint64_t base, bool polled, const uint32_t *dpmac_ids,
		   size_t dpmac_count)
{
	uint64_t windows = base + FSLMC_PORTAL_AREA;
	const uint32_t reg[] = { (uint32_t)(base >> 32), (uint32_t)base, 0, FSLMC_ROOT_PORTAL_REG };
	const uint32_t ranges[] = {
		MC_REGION_MC_PORTAL, 0, 0, (uint32_t)(base >> 32), (uint32_t)base,
		(uint32_t)FSLMC_PORTAL_AREA,
		MC_REGION_QBMAN_PORTAL, 0, 0, (uint32_t)(windows >> 32), (uint32_t)windows,
		(uint32_t)FSLMC_WINDOW_AREA,
	};
	char name[32], path[40];

	snprintf(name, sizeof(name), "fsl-mc@%llx", (unsigned long long)base);
	snprintf(path, sizeof(path), "/%s", name);
	int node = fdt_add_node(fdt, "/", name);

	fdt_prop_string(fdt, node, "compatible", "fsl,qoriq-mc");
	fdt_prop_cells(fdt, node, "reg", reg, 4);
	fdt_prop_u32(fdt, node, "#address-cells", 3);
	fdt_prop_u32(fdt, node, "#size-cells", 1);
	fdt_prop_cells(fdt, node, "ranges", ranges, 12);
	fdt_prop_empty(fdt, node, "dma-coherent");
	fdt_prop_string(fdt, node, "vmm,portal-mode", polled ? "polled" : "trapped");
	add_dpmacs(fdt, path, dpmac_ids, dpmac_count);
}
