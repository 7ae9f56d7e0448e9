/* SPDX-License-Identifier: MIT */
/* Firmware-internal interfaces between its files (not for tests). */
#ifndef FW_INTERNAL_H
#define FW_INTERNAL_H

#include <stdint.h>

#include "boot_protocol.h"
#include "fw/cpu.h"

/* entry.S */
extern const char fw_isr_stubs[];
void fw_privcall_entry(void);

/* head.S: the PVH entry's boot_info, completed by fw_pvh_init(). */
extern struct boot_info fw_pvh_boot_info;
extern uint64_t fw_pvh_start_info;

/* main.c: CPU 0 at CPL 3, called from head.S. */
__attribute__((noreturn)) void fw_main(uint64_t dtb, const struct boot_info *info, uint64_t cpu);

/* cpu.c */
void fw_cpu_init(void);

/* pvh.c */
void fw_pvh_init(void);

/* console.c */
void fw_console_init(uint16_t port, int crlf);
void fw_console_force_unlock(void);

/* fatal.c: called from entry.S at CPL 3 with the frame saved at CPL 0. */
extern volatile uint32_t fw_fatal_busy;
__attribute__((noreturn)) void fw_fatal_report(const struct fw_exc_frame *f);

/* harness.c */
__attribute__((noreturn)) void fw_run_tests(void);

#endif
