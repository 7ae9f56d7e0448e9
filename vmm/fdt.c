/* SPDX-License-Identifier: MIT */
#include "vmm/fdt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/device.h"
#include "vmm/config/config.h"

#define FDT_INITIAL_SIZE 0x4000
#define FDT_MAX_SIZE     0x40000

static void fdt_record(struct fdt_builder *fdt, int rc)
{
	if (rc < 0 && fdt->error == 0)
		fdt->error = rc;
}

int fdt_add_node(struct fdt_builder *fdt, const char *parent_path, const char *name)
{
	int parent = fdt_path_offset(fdt->blob, parent_path);

	if (parent < 0) {
		fdt_record(fdt, parent);
		return -1;
	}
	int node = fdt_add_subnode(fdt->blob, parent, name);

	fdt_record(fdt, node);
	return node < 0 ? -1 : node;
}

int fdt_find_node(struct fdt_builder *fdt, const char *path)
{
	int node = fdt_path_offset(fdt->blob, path);

	fdt_record(fdt, node);
	return node < 0 ? -1 : node;
}

void fdt_prop_string(struct fdt_builder *fdt, int node, const char *name, const char *value)
{
	if (node >= 0)
		fdt_record(fdt, fdt_setprop_string(fdt->blob, node, name, value));
}

void fdt_prop_u32(struct fdt_builder *fdt, int node, const char *name, uint32_t value)
{
	if (node >= 0)
		fdt_record(fdt, fdt_setprop_u32(fdt->blob, node, name, value));
}

void fdt_prop_cells(struct fdt_builder *fdt, int node, const char *name,
		    const uint32_t *cells, size_t count)
{
	fdt32_t be[16];

	if (node < 0 || count > sizeof(be) / sizeof(be[0])) {
		fdt_record(fdt, -FDT_ERR_BADVALUE);
		return;
	}
	for (size_t i = 0; i < count; i++)
		be[i] = cpu_to_fdt32(cells[i]);
	fdt_record(fdt, fdt_setprop(fdt->blob, node, name, be, (int)(count * sizeof(be[0]))));
}

void fdt_prop_empty(struct fdt_builder *fdt, int node, const char *name)
{
	if (node >= 0)
		fdt_record(fdt, fdt_setprop_empty(fdt->blob, node, name));
}

static void fdt_add_root(struct fdt_builder *fdt)
{
	fdt_prop_u32(fdt, 0, "#address-cells", 2);
	fdt_prop_u32(fdt, 0, "#size-cells", 2);
	fdt_prop_string(fdt, 0, "compatible", "vmm,selftest-x86");
	fdt_prop_string(fdt, 0, "model", "vmm");
}

static void fdt_add_memory(struct fdt_builder *fdt, const struct vm_config *config)
{
	int memory = fdt_add_node(fdt, "/", "memory@0");
	uint32_t reg[4] = { 0, 0, (uint32_t)(config->memory >> 32), (uint32_t)config->memory };

	fdt_prop_string(fdt, memory, "device_type", "memory");
	fdt_prop_cells(fdt, memory, "reg", reg, 4);
}

static void fdt_add_cpus(struct fdt_builder *fdt, const struct vm_config *config)
{
	int cpus = fdt_add_node(fdt, "/", "cpus");

	fdt_prop_u32(fdt, cpus, "#address-cells", 1);
	fdt_prop_u32(fdt, cpus, "#size-cells", 0);
	/* Add in reverse: fdt_add_subnode inserts first, so cpu@0 ends up first. */
	for (unsigned i = config->vcpus; i-- > 0;) {
		char name[32];

		snprintf(name, sizeof(name), "cpu@%x", i);
		int cpu = fdt_add_node(fdt, "/cpus", name);

		fdt_prop_string(fdt, cpu, "device_type", "cpu");
		fdt_prop_u32(fdt, cpu, "reg", i); /* APIC id */
	}
}

static void fdt_add_isa(struct fdt_builder *fdt)
{
	int isa = fdt_add_node(fdt, "/", "isa");
	/* I/O space 0..64K maps to CPU address 0: x86 ports need no translation. */
	const uint32_t ranges[] = { FDT_ISA_SPACE_IO, 0, 0, 0, 0x10000 };

	fdt_prop_string(fdt, isa, "compatible", "isa");
	fdt_prop_string(fdt, isa, "device_type", "isa");
	fdt_prop_u32(fdt, isa, "#address-cells", 2);
	fdt_prop_u32(fdt, isa, "#size-cells", 1);
	fdt_prop_cells(fdt, isa, "ranges", ranges, 5);
}

/* A console device adds stdout-path itself. */
static void fdt_add_chosen(struct fdt_builder *fdt, const struct vm_config *config)
{
	int chosen = fdt_add_node(fdt, "/", "chosen");

	fdt_prop_string(fdt, chosen, "bootargs", config->cmdline ? config->cmdline : "");
}

static int fdt_add_devices(struct fdt_builder *fdt, const struct vm_config *config)
{
	/* Reverse order keeps config order in the blob (subnodes are prepended). */
	for (size_t i = config->device_count; i-- > 0;) {
		const struct device *dev = config->devices[i];

		if (!dev->model->add_fdt_node)
			continue;
		int rc = dev->model->add_fdt_node(dev, fdt);

		if (rc)
			return rc;
	}
	return 0;
}

static int fdt_try_build(struct fdt_builder *fdt, const struct vm_config *config)
{
	int rc = fdt_create_empty_tree(fdt->blob, (int)fdt->capacity);

	fdt->error = 0;
	if (rc < 0)
		return -ENOMEM;
	/* Root children are prepended: add them last-first. */
	fdt_add_root(fdt);
	fdt_add_isa(fdt);
	fdt_add_chosen(fdt, config);
	fdt_add_cpus(fdt, config);
	fdt_add_memory(fdt, config);
	rc = fdt_add_devices(fdt, config);
	if (rc)
		return rc;
	if (fdt->error == -FDT_ERR_NOSPACE)
		return -ENOSPC;
	if (fdt->error)
		return -EINVAL;
	return fdt_pack(fdt->blob) < 0 ? -EINVAL : 0;
}

int fdt_build(const struct vm_config *config, void **blob, size_t *size)
{
	struct fdt_builder fdt = { .capacity = FDT_INITIAL_SIZE };
	int rc;

	/* Grow and retry rather than guess how much room devices need. */
	for (;;) {
		void *grown = realloc(fdt.blob, fdt.capacity);

		if (!grown) {
			free(fdt.blob);
			return -ENOMEM;
		}
		fdt.blob = grown;
		rc = fdt_try_build(&fdt, config);
		if (rc != -ENOSPC || fdt.capacity >= FDT_MAX_SIZE)
			break;
		fdt.capacity *= 2;
	}
	if (rc) {
		free(fdt.blob);
		return rc;
	}
	*blob = fdt.blob;
	*size = fdt_totalsize(fdt.blob);
	return 0;
}
