/* SPDX-License-Identifier: MIT */
/*
 * Firmware of the self-test images: what the image learnt at boot, exit.
 * Include "fw/test.h" for writing tests; it includes this.
 */
#ifndef FW_FW_H
#define FW_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot_protocol.h"

/* Exit values (isa-debug-exit: the VMM/QEMU process status is (v << 1) | 1). */
#define FW_EXIT_PASS  0 /* every test passed */
#define FW_EXIT_FAIL  1 /* some test failed */
#define FW_EXIT_FATAL 3 /* exception, stack smashing, firmware error */

struct fw_boot {
	const struct boot_info *info; /* the VMM's, or one the PVH entry filled */
	uint64_t dtb_gpa;             /* RDI at entry (0 under PVH) */
	const void *fdt;              /* the DTB if it passed fdt_check_header, else NULL */
	int fdt_error;                /* libfdt error if dtb_gpa != 0 but fdt == NULL */
	bool info_valid;              /* info->magic/version as expected */
	bool pvh;                     /* entered through the PVH note (QEMU -kernel) */
	const char *pvh_cmdline;      /* PVH: hvm_start_info command line, or NULL */
	uint16_t console_port;        /* 16550 I/O base in use */
};

extern struct fw_boot fw_boot;

/* I/O port of the exit device (DTB "vmm,debug-exit" node, default 0xf4). */
extern uint16_t fw_exit_port;

/* Write `value` to the exit port; if that does not stop the VM, halt forever. */
__attribute__((noreturn)) void fw_exit(unsigned int value);

/* Name of the image, defined by each guest test (firmware default "unnamed"). */
extern const char *test_image_name;

/* Print a fatal message, then exit with FW_EXIT_FATAL. */
__attribute__((noreturn, format(printf, 1, 2))) void fw_panic(const char *fmt, ...);

#endif
