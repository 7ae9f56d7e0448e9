/* SPDX-License-Identifier: MIT */
/*
 * The guest's `fsl,qoriq-mc` device-tree node, the same for the emulated MC
 * (device.c) and a passed-through DPRC (devices/vfio/fslmc.c): a root-level
 * node with reg[0] = the root portal's command area (no control registers in
 * a VM), ranges for type 0 (MC portals) and type 1 (register windows), and a
 * dpmacs subnode when DPMAC objects exist. docs/devices/fsl-mc.md.
 */
#ifndef DEVICES_FSLMC_FDT_NODE_H
#define DEVICES_FSLMC_FDT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fdt_builder;

/* dpmac_ids in the order the guest should see them. Errors are recorded in fdt. */
void fslmc_fdt_add(struct fdt_builder *fdt, uint64_t base, bool polled, const uint32_t *dpmac_ids,
		   size_t dpmac_count);

#endif
