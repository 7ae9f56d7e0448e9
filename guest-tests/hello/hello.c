// SPDX-License-Identifier: MIT
/*
 * hello: greets and prints what the image found in its device tree. Runs
 * under this VMM and under QEMU (PVH, no device tree).
 */
#include "fw/test.h"

const char *test_image_name = "hello";

static void print_isa_devices(const void *fdt)
{
	int isa = fw_fdt_find_compatible(-1, "isa");
	int node;

	if (isa < 0) {
		printf("  no isa bus node\n");
		return;
	}
	fdt_for_each_subnode(node, fdt, isa) {
		const char *name = fdt_get_name(fdt, node, NULL);
		const char *compat = fw_fdt_compatible(node);
		struct fw_fdt_reg reg;

		printf("  /isa/%s: compatible \"%s\"", name ? name : "?", compat ? compat : "");
		if (fw_fdt_read_reg(node, 0, &reg) == 0) {
			if (reg.addr_cells == 2 && (reg.cells[0] & 1))
				printf(", I/O ports 0x%llx-0x%llx",
				       (unsigned long long)reg.cells[1],
				       (unsigned long long)(reg.cells[1] + reg.size - 1));
			else
				printf(", reg 0x%llx size 0x%llx", (unsigned long long)reg.addr,
				       (unsigned long long)reg.size);
		}
		printf("\n");
	}
}

TEST(hello)
{
	const void *fdt = fw_fdt();
	uint32_t ids[FW_MAX_CPUS];
	int ncpus;

	printf("Hello from a self-test image (%s, entered %s) on CPU %u at CPL %u\n",
	       test_image_name, fw_boot.pvh ? "through PVH" : "by the VMM boot protocol",
	       fw_cpu_index(), 3u);
	printf("  console: 16550 at I/O 0x%x, exit port 0x%x\n", fw_boot.console_port,
	       fw_exit_port);
	if (fw_boot.info_valid)
		printf("  boot_info: %u CPU(s), RAM %llu MiB\n", fw_boot.info->cpu_count,
		       (unsigned long long)(fw_boot.info->ram_size >> 20));

	if (!fdt) {
		printf("  no device tree\n");
		if (fw_boot.pvh_cmdline && fw_boot.pvh_cmdline[0])
			printf("  PVH command line: \"%s\"\n", fw_boot.pvh_cmdline);
		CHECK(fw_boot.pvh || fw_boot.dtb_gpa == 0, "the VMM passed a DTB that is invalid");
		return;
	}

	printf("  device tree at %p, %u bytes, model \"%s\"\n", fdt, fdt_totalsize(fdt),
	       (const char *)fdt_getprop(fdt, 0, "model", NULL) ?: "?");
	printf("  memory: %llu MiB\n", (unsigned long long)(fw_fdt_memory_size() >> 20));
	ncpus = fw_fdt_cpus(ids, FW_MAX_CPUS);
	printf("  cpus: %d, APIC ids:", ncpus);
	for (int i = 0; i < ncpus && i < FW_MAX_CPUS; i++)
		printf(" %u", ids[i]);
	printf("\n");
	printf("  bootargs: \"%s\"\n", fw_fdt_bootargs() ?: "");
	print_isa_devices(fdt);

	CHECK(fw_fdt_memory_size() > 0, "no memory in the device tree");
	CHECK(ncpus > 0, "no cpus in the device tree (%d)", ncpus);
}
