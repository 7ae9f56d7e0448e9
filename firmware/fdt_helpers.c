// SPDX-License-Identifier: MIT
/* Device-tree helpers on top of libfdt. */
#include <stdint.h>
#include <string.h>

#include <libfdt.h>

#include "fw/fdt.h"
#include "fw/fw.h"

const void *fw_fdt(void)
{
	return fw_boot.fdt;
}

static uint64_t read_cells(const fdt32_t *p, uint32_t n)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < n; i++)
		v = (v << 32) | fdt32_to_cpu(p[i]);
	return v;
}

/* #address-cells / #size-cells of `node` (defaults 2 and 1, as libfdt's
 * fdt_address_cells(), which would pull libfdt's read-write code in). */
static int ncells(const void *fdt, int node, const char *name, int def)
{
	const fdt32_t *p;
	int len;
	uint32_t v;

	p = fdt_getprop(fdt, node, name, &len);
	if (!p)
		return len == -FDT_ERR_NOTFOUND ? def : len;
	if (len != 4)
		return -FDT_ERR_BADNCELLS;
	v = fdt32_to_cpu(*p);
	if (v > 4)
		return -FDT_ERR_BADNCELLS;
	return (int)v;
}

int fw_fdt_address_cells(int node)
{
	const void *fdt = fw_fdt();

	return fdt ? ncells(fdt, node, "#address-cells", 2) : -FDT_ERR_NOTFOUND;
}

int fw_fdt_size_cells(int node)
{
	const void *fdt = fw_fdt();

	return fdt ? ncells(fdt, node, "#size-cells", 1) : -FDT_ERR_NOTFOUND;
}

int fw_fdt_reg_count(int node)
{
	const void *fdt = fw_fdt();
	int parent, ac, sc, len;
	const fdt32_t *p;

	if (!fdt)
		return -FDT_ERR_NOTFOUND;
	parent = fdt_parent_offset(fdt, node);
	if (parent < 0)
		return parent;
	ac = ncells(fdt, parent, "#address-cells", 2);
	sc = ncells(fdt, parent, "#size-cells", 1);
	if (ac < 0)
		return ac;
	if (sc < 0)
		return sc;
	p = fdt_getprop(fdt, node, "reg", &len);
	if (!p)
		return len;
	if (ac + sc == 0 || len % (4 * (ac + sc)))
		return -FDT_ERR_BADVALUE;
	return len / (4 * (ac + sc));
}

int fw_fdt_read_reg(int node, int index, struct fw_fdt_reg *reg)
{
	const void *fdt = fw_fdt();
	int parent, ac, sc, len, n;
	const fdt32_t *p;

	if (!fdt)
		return -FDT_ERR_NOTFOUND;
	parent = fdt_parent_offset(fdt, node);
	if (parent < 0)
		return parent;
	ac = ncells(fdt, parent, "#address-cells", 2);
	sc = ncells(fdt, parent, "#size-cells", 1);
	if (ac < 0)
		return ac;
	if (sc < 0)
		return sc;
	if (ac < 1 || ac > 3 || sc > 2)
		return -FDT_ERR_BADNCELLS;
	p = fdt_getprop(fdt, node, "reg", &len);
	if (!p)
		return len;
	if (len % (4 * (ac + sc)))
		return -FDT_ERR_BADVALUE;
	n = len / (4 * (ac + sc));
	if (index < 0 || index >= n)
		return -FDT_ERR_NOTFOUND;
	p += index * (ac + sc);
	memset(reg, 0, sizeof(*reg));
	reg->addr_cells = (uint32_t)ac;
	reg->size_cells = (uint32_t)sc;
	for (int i = 0; i < ac; i++)
		reg->cells[i] = fdt32_to_cpu(p[i]);
	reg->addr = ac > 2 ? read_cells(p + ac - 2, 2) : read_cells(p, (uint32_t)ac);
	reg->size = read_cells(p + ac, (uint32_t)sc);
	return 0;
}

int fw_fdt_io_port(int node, uint16_t *port, uint32_t *size)
{
	struct fw_fdt_reg reg;
	int err = fw_fdt_read_reg(node, 0, &reg);

	if (err)
		return err;
	if (reg.addr_cells != 2 || !(reg.cells[0] & 1) || reg.cells[1] > 0xffff)
		return -FDT_ERR_BADVALUE;
	if (port)
		*port = (uint16_t)reg.cells[1];
	if (size)
		*size = (uint32_t)reg.size;
	return 0;
}

uint64_t fw_fdt_memory_size(void)
{
	const void *fdt = fw_fdt();
	uint64_t total = 0;
	int node;

	if (!fdt)
		return 0;
	for (node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", 7);
	     node >= 0;
	     node = fdt_node_offset_by_prop_value(fdt, node, "device_type", "memory", 7)) {
		int n = fw_fdt_reg_count(node);

		for (int i = 0; i < n; i++) {
			struct fw_fdt_reg reg;

			if (fw_fdt_read_reg(node, i, &reg) == 0)
				total += reg.size;
		}
	}
	return total;
}

int fw_fdt_cpus(uint32_t *ids, int max)
{
	const void *fdt = fw_fdt();
	int cpus, node, count = 0;

	if (!fdt)
		return -FDT_ERR_NOTFOUND;
	cpus = fdt_path_offset(fdt, "/cpus");
	if (cpus < 0)
		return cpus;
	fdt_for_each_subnode(node, fdt, cpus) {
		const char *type = fdt_getprop(fdt, node, "device_type", NULL);

		if (!type || strcmp(type, "cpu"))
			continue;
		if (ids && count < max) {
			struct fw_fdt_reg reg;

			ids[count] = fw_fdt_read_reg(node, 0, &reg) == 0 ? (uint32_t)reg.addr
									  : UINT32_MAX;
		}
		count++;
	}
	return count;
}

const char *fw_fdt_bootargs(void)
{
	const void *fdt = fw_fdt();
	int chosen;

	if (!fdt)
		return NULL;
	chosen = fdt_path_offset(fdt, "/chosen");
	if (chosen < 0)
		return NULL;
	return fdt_getprop(fdt, chosen, "bootargs", NULL);
}

int fw_fdt_find_compatible(int after, const char *compat)
{
	const void *fdt = fw_fdt();

	if (!fdt)
		return -FDT_ERR_NOTFOUND;
	return fdt_node_offset_by_compatible(fdt, after, compat);
}

const char *fw_fdt_compatible(int node)
{
	const void *fdt = fw_fdt();

	return fdt ? fdt_getprop(fdt, node, "compatible", NULL) : NULL;
}

int fw_fdt_stdout_node(void)
{
	const void *fdt = fw_fdt();
	const char *path, *colon;
	int chosen, len;

	if (!fdt)
		return -FDT_ERR_NOTFOUND;
	chosen = fdt_path_offset(fdt, "/chosen");
	if (chosen < 0)
		return chosen;
	path = fdt_getprop(fdt, chosen, "stdout-path", &len);
	if (!path)
		path = fdt_getprop(fdt, chosen, "linux,stdout-path", &len);
	if (!path || len < 1)
		return -FDT_ERR_NOTFOUND;
	colon = memchr(path, ':', (size_t)len);
	len = colon ? (int)(colon - path) : (int)strnlen(path, (size_t)len);
	return fdt_path_offset_namelen(fdt, path, len);
}

uint32_t fw_fdt_u32(int node, const char *prop, uint32_t def)
{
	const void *fdt = fw_fdt();
	const fdt32_t *p;
	int len;

	if (!fdt)
		return def;
	p = fdt_getprop(fdt, node, prop, &len);
	if (!p || len != 4)
		return def;
	return fdt32_to_cpu(*p);
}

const char *fw_fdt_path(int node, char *buf, int len)
{
	const void *fdt = fw_fdt();

	if (!fdt || fdt_get_path(fdt, node, buf, len) < 0)
		return "?";
	return buf;
}
