// SPDX-License-Identifier: MIT
/*
 * CPU 0 at CPL 3 after _start: finish setting up (IDT, per-CPU, PVH
 * boot_info, DTB, console, exit port) and run the tests.
 */
#include <stdint.h>
#include <stdio.h>

#include <libfdt.h>

#include "fw/console.h"
#include "fw/cpu.h"
#include "fw/fdt.h"
#include "fw/fw.h"
#include "internal.h"

struct fw_boot fw_boot;

static uint16_t find_console_port(void)
{
	static const char *const compats[] = { "ns16550a", "ns16550", "ns8250" };
	uint16_t port;
	int node = fw_fdt_stdout_node();

	if (node >= 0 && fw_fdt_io_port(node, &port, NULL) == 0)
		return port;
	for (unsigned int i = 0; i < sizeof(compats) / sizeof(compats[0]); i++)
		for (node = fw_fdt_find_compatible(-1, compats[i]); node >= 0;
		     node = fw_fdt_find_compatible(node, compats[i]))
			if (fw_fdt_io_port(node, &port, NULL) == 0)
				return port;
	return 0x3f8;
}

static uint16_t find_exit_port(void)
{
	static const char *const compats[] = { "vmm,debug-exit", "qemu,isa-debug-exit" };
	uint16_t port;

	for (unsigned int i = 0; i < sizeof(compats) / sizeof(compats[0]); i++)
		for (int node = fw_fdt_find_compatible(-1, compats[i]); node >= 0;
		     node = fw_fdt_find_compatible(node, compats[i]))
			if (fw_fdt_io_port(node, &port, NULL) == 0)
				return port;
	return 0xf4;
}

void fw_main(uint64_t dtb, const struct boot_info *info, uint64_t cpu)
{
	/* First: gates for exceptions and the privileged-call gate, and the
	 * stack-protector canary, before any other code runs. */
	fw_cpu_init();

	fw_boot.info = info;
	fw_boot.dtb_gpa = dtb;
	if (info == &fw_pvh_boot_info) {
		fw_boot.pvh = true;
		fw_pvh_init();
	}
	fw_boot.info_valid = info && info->magic == BOOT_INFO_MAGIC &&
			     info->version == BOOT_INFO_VERSION;
	if (dtb) {
		int err = fdt_check_header((const void *)(uintptr_t)dtb);

		if (err == 0)
			fw_boot.fdt = (const void *)(uintptr_t)dtb;
		else
			fw_boot.fdt_error = err;
	}

	fw_boot.console_port = find_console_port();
	/* CRLF line ends only for QEMU's raw-mode terminal (no DTB). */
	fw_console_init(fw_boot.console_port, fw_boot.fdt == NULL);
	fw_exit_port = find_exit_port();
	if (fw_boot.pvh)
		printf("\n"); /* after the firmware's "Booting from ROM.." */

	if (!fw_boot.info_valid)
		printf("# warning: boot_info at %p has magic 0x%x version %u (expected 0x%x, %u)\n",
		       (const void *)info, info ? info->magic : 0, info ? info->version : 0,
		       BOOT_INFO_MAGIC, BOOT_INFO_VERSION);
	if (fw_boot.fdt_error)
		printf("# warning: DTB at 0x%llx is invalid: %s\n", (unsigned long long)dtb,
		       fdt_strerror(fw_boot.fdt_error));
	(void)cpu;

	/* CPU 0's LAPIC, then release the secondary CPUs into their idle loops
	 * (the IDT is complete since fw_cpu_init()). */
	fw_smp_init();

	fw_run_tests();
}
