/* SPDX-License-Identifier: MIT */
/*
 * Device-tree helpers on top of libfdt (Debian's libfdt.a; <libfdt.h> may be
 * included directly for anything else). All take the image's DTB implicitly
 * and fail with -FDT_ERR_NOTFOUND (or return 0/NULL) when there is none.
 */
#ifndef FW_FDT_H
#define FW_FDT_H

#include <stdbool.h>
#include <stdint.h>

#include <libfdt.h>

/* The DTB, or NULL (PVH boot, or the VMM's DTB failed fdt_check_header). */
const void *fw_fdt(void);

/* Total size of all "memory" nodes' reg ranges; 0 without a DTB. */
uint64_t fw_fdt_memory_size(void);

/* Number of /cpus children with device_type "cpu"; ids[] gets their reg
 * (the APIC id), at most max of them. Returns the count or -FDT_ERR_*. */
int fw_fdt_cpus(uint32_t *ids, int max);

/* /chosen bootargs, or NULL. */
const char *fw_fdt_bootargs(void);

/* First node after `after` (-1: from the start) whose compatible list
 * contains `compat`; -FDT_ERR_NOTFOUND if none. */
int fw_fdt_find_compatible(int after, const char *compat);

/* First string of the node's compatible property, or NULL. */
const char *fw_fdt_compatible(int node);

/* One reg entry, decoded with the parent's #address-cells/#size-cells. */
struct fw_fdt_reg {
	uint32_t addr_cells;  /* parent's #address-cells (1..3) */
	uint32_t size_cells;  /* parent's #size-cells (0..2) */
	uint32_t cells[3];    /* the address cells as written */
	uint64_t addr;        /* the last (up to two) address cells combined */
	uint64_t size;
};

/* Entry `index` of the node's reg. 0, or -FDT_ERR_*. */
int fw_fdt_read_reg(int node, int index, struct fw_fdt_reg *reg);

/* #address-cells / #size-cells of a node (defaults 2 / 1), or -FDT_ERR_*. */
int fw_fdt_address_cells(int node);
int fw_fdt_size_cells(int node);

/* Number of entries in the node's reg, or -FDT_ERR_*. */
int fw_fdt_reg_count(int node);

/* An ISA-bus I/O reg (parent #address-cells = 2, first cell bit 0 set,
 * i.e. the "i<hex>" unit addresses): port and size of entry 0. */
int fw_fdt_io_port(int node, uint16_t *port, uint32_t *size);

/* Node that /chosen stdout-path names (options after ':' ignored, aliases
 * resolved), or -FDT_ERR_*. */
int fw_fdt_stdout_node(void);

/* u32 property, or `def` when absent or malformed. */
uint32_t fw_fdt_u32(int node, const char *prop, uint32_t def);

/* Full path of a node into buf (for messages); "?" on error. */
const char *fw_fdt_path(int node, char *buf, int len);

#endif
