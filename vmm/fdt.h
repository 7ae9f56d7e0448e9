/* SPDX-License-Identifier: MIT */
/*
 * Device-tree assembly with libfdt. The core writes /, /chosen, /memory,
 * /cpus and the /isa bus node; each device model adds its own node(s).
 *
 * x86 Linux only probes root children compatible with "isa", "pci" or
 * "intel,ce4100-cp" (and their direct children), so platform devices live
 * under /isa (device-facts 6.5).
 */
#ifndef VMM_FDT_H
#define VMM_FDT_H

#include <stddef.h>
#include <stdint.h>

struct vm_config;

#define FDT_ISA_PATH "/isa"
/* ISA binding: first reg cell says which space; 1 = I/O ports. */
#define FDT_ISA_SPACE_IO 1u

struct fdt_builder {
	void *blob;
	size_t capacity;
	int error;     /* first libfdt error (negative FDT_ERR_*), sticky */
};

/* Build the DTB for a config. Returns 0 and a malloc'd blob, or -errno. */
int fdt_build(const struct vm_config *config, void **blob, size_t *size);

/* For device models: add node `name` under `parent_path`; returns its offset or -1. */
int fdt_add_node(struct fdt_builder *fdt, const char *parent_path, const char *name);
/* Offset of an existing node, or -1 (recorded as an error). */
int fdt_find_node(struct fdt_builder *fdt, const char *path);
/* Property setters; errors are recorded in fdt->error and checked once at the end. */
void fdt_prop_string(struct fdt_builder *fdt, int node, const char *name, const char *value);
void fdt_prop_u32(struct fdt_builder *fdt, int node, const char *name, uint32_t value);
void fdt_prop_cells(struct fdt_builder *fdt, int node, const char *name,
		    const uint32_t *cells, size_t count);
void fdt_prop_empty(struct fdt_builder *fdt, int node, const char *name);

#endif
