/* SPDX-License-Identifier: MIT */
/* Firmware-internal interfaces between its files (not for tests). */
#ifndef FW_INTERNAL_H
#define FW_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "boot_protocol.h"
#include "fw/cpu.h"

/* entry.S */
extern const char fw_isr_stubs[];
extern const char fw_irq_stubs[], fw_irq_stamp_stubs[];
void fw_privcall_entry(void);

/* head.S: the PVH entry's boot_info, completed by fw_pvh_init(). */
extern struct boot_info fw_pvh_boot_info;
extern uint64_t fw_pvh_start_info;

/* main.c: CPU 0 at CPL 3, called from head.S. */
__attribute__((noreturn)) void fw_main(uint64_t dtb, const struct boot_info *info, uint64_t cpu);

/* cpu.c */
void fw_cpu_init(void);

/* irq.c */
uint64_t fw_lapic_measure_ticks(uint64_t tsc_ticks, uint64_t *tsc_elapsed);
void fw_lapic_boot_init(bool svr_enabled);

/* smp.c: release the secondary CPUs (CPU 0, after fw_cpu_init). */
void fw_smp_init(void);
extern volatile uint32_t fw_smp_released;
__attribute__((noreturn)) void fw_ap_main(unsigned int cpu);

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
