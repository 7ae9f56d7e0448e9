/* SPDX-License-Identifier: MIT */
/*
 * Test exit port with QEMU isa-debug-exit semantics: a byte write of v ends
 * the VM and the VMM process exits with status (v << 1) | 1. Reads return 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/models.h"
#include "vmm/bus.h"
#include "vmm/fdt.h"
#include "vmm/vm.h"

struct debug_exit {
	uint64_t port;
	struct vm *vm;
};

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct debug_exit *exit_port = opaque;

	vm_request_stop(exit_port->vm, VM_STOP_GUEST_EXIT, (int)(((value << 1) | 1) & 0xff));
}

static const struct bus_region_ops debug_exit_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};

static int debug_exit_parse(struct device *dev, const struct toml_table *section,
			    const struct config_context *ctx)
{
	static const char *const keys[] = { "type", "port", NULL };
	struct debug_exit *exit_port = calloc(1, sizeof(*exit_port));
	int rc;

	if (!exit_port)
		return -ENOMEM;
	dev->state = exit_port;
	exit_port->port = 0xf4;
	if ((rc = config_check_keys(ctx, section, dev->name, keys)) ||
	    (rc = config_get_u64(ctx, section, "port", 0, 0xffff, &exit_port->port)))
		return rc;
	return 0;
}

static int debug_exit_realize(struct device *dev, struct vm *vm)
{
	struct debug_exit *exit_port = dev->state;

	exit_port->vm = vm;
	return bus_register(&vm->pio_bus, exit_port->port, 1, &debug_exit_ops, exit_port,
			    dev->name);
}

static int debug_exit_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const struct debug_exit *exit_port = dev->state;
	char name[32];
	const uint32_t reg[] = { FDT_ISA_SPACE_IO, (uint32_t)exit_port->port, 1 };

	snprintf(name, sizeof(name), "debug-exit@i%llx", (unsigned long long)exit_port->port);
	int node = fdt_add_node(fdt, FDT_ISA_PATH, name);

	fdt_prop_string(fdt, node, "compatible", "vmm,debug-exit");
	fdt_prop_cells(fdt, node, "reg", reg, 3);
	return 0;
}

static void debug_exit_destroy(struct device *dev)
{
	free(dev->state);
	dev->state = NULL;
}

const struct device_model debug_exit_model = {
	.type = "debug-exit",
	.summary = "test exit port (isa-debug-exit semantics)",
	.parse = debug_exit_parse,
	.realize = debug_exit_realize,
	.add_fdt_node = debug_exit_add_fdt_node,
	.destroy = debug_exit_destroy,
};
