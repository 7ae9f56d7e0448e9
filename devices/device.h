/* SPDX-License-Identifier: MIT */
/*
 * Device models: a typed table of operations, instantiated by type name
 * from a [devices.NAME] config section.
 *
 * Life cycle: parse (config only, no VM: `vmm check-config` and `vmm dtb`
 * run it too) -> realize (map regions on a VM) -> add_fdt_node -> reset ->
 * stop -> unrealize (release what realize took from the VM: MSIs, loop fds,
 * threads; called by vm_destroy while the VM still exists) -> destroy. Adding a model touches its own file and one line in registry.c.
 */
#ifndef DEVICES_DEVICE_H
#define DEVICES_DEVICE_H

#include "vmm/config/config.h"

struct vm;
struct fdt_builder;

struct device {
	const struct device_model *model;
	char *name;     /* the NAME of [devices.NAME] */
	void *state;    /* owned by the model */
};

struct device_model {
	const char *type;        /* value of the `type` key */
	const char *summary;     /* one line, for error messages and docs */
	/* Validate the section and allocate dev->state. */
	int (*parse)(struct device *dev, const struct toml_table *section,
		     const struct config_context *ctx);
	/* Register regions/threads on the VM. May fail with -errno. */
	int (*realize)(struct device *dev, struct vm *vm);
	/* Describe the device in the guest's device tree. */
	int (*add_fdt_node)(const struct device *dev, struct fdt_builder *fdt);
	void (*reset)(struct device *dev);
	/* Flush and stop (called once the vCPUs have stopped). */
	void (*stop)(struct device *dev);
	/* Give back VM resources; must cope with a partly failed realize. */
	void (*unrealize)(struct device *dev, struct vm *vm);
	/* Free dev->state; must cope with a device that was never realized. */
	void (*destroy)(struct device *dev);
};

const struct device_model *device_model_find(const char *type);
/* Comma-separated, quoted list of known types, for error messages. */
void device_model_list(char *buffer, size_t size);

#endif
