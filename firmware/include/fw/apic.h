/* SPDX-License-Identifier: MIT */
/*
 * Local APIC (xAPIC, MMIO at FW_LAPIC_BASE) and its timers, from CPL 3.
 *
 * The boot page tables map the APIC page uncached and user-accessible, so
 * every register is reachable from CPL 3 without a privileged call: IPIs
 * (ICR), EOI, the timer. Each access is handled by KVM's in-kernel LAPIC
 * (an exit to the kernel, not to the VMM). Only the TSC-deadline MSR and
 * the x2APIC MSRs need CPL 0 (priv_wrmsr); the firmware keeps the APIC in
 * xAPIC mode.
 *
 * Every function acts on the calling CPU's own LAPIC.
 */
#ifndef FW_APIC_H
#define FW_APIC_H

#include <stdbool.h>
#include <stdint.h>

#include "fw/layout.h"

/* ICR fields. */
#define FW_ICR_FIXED       0x00000
#define FW_ICR_NMI         0x00400
#define FW_ICR_PENDING     0x01000 /* delivery status (read) */
#define FW_ICR_ASSERT      0x04000
#define FW_ICR_DEST_SELF   0x40000
#define FW_ICR_DEST_ALL    0x80000
#define FW_ICR_DEST_OTHERS 0xc0000

/* LVT fields. */
#define FW_LVT_MASKED      (1u << 16)
#define FW_LVT_PERIODIC    (1u << 17)
#define FW_LVT_TSC_DEADLINE (2u << 17)

#define FW_MSR_APIC_BASE    0x1b
#define FW_MSR_TSC_DEADLINE 0x6e0

static inline uint32_t fw_lapic_read(unsigned int reg)
{
	return *(volatile uint32_t *)(uintptr_t)(FW_LAPIC_BASE + reg);
}

static inline void fw_lapic_write(unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(FW_LAPIC_BASE + reg) = v;
}

/* Software-enable this CPU's LAPIC (SVR, spurious vector 0xff), TPR 0, every
 * LVT masked; records the APIC id in fw_percpu[].apic_id. Idempotent. At
 * boot the firmware does only what the VMM's reset state lacks (SVR, ID
 * read: two LAPIC exits per CPU), and all of this under PVH/QEMU. */
void fw_lapic_init_cpu(void);

/* APIC id of the calling CPU (ID register bits 31:24). */
static inline unsigned int fw_lapic_id(void)
{
	return fw_lapic_read(FW_APIC_ID) >> 24;
}

/* The interrupt stubs EOI by themselves; this is for code that takes an
 * interrupt some other way. */
static inline void fw_lapic_eoi(void)
{
	fw_lapic_write(FW_APIC_EOI, 0);
}

/* Fixed IPI, physical destination `apic_id`. */
void fw_lapic_send_ipi(uint32_t apic_id, unsigned int vector);
/* Fixed IPI to the calling CPU (destination shorthand "self"). */
void fw_lapic_self_ipi(unsigned int vector);
/* Fixed IPI to every CPU but the caller (shorthand "all excluding self"). */
void fw_lapic_ipi_others(unsigned int vector);

/* IRR / ISR bit of a vector on the calling CPU. */
bool fw_lapic_irr(unsigned int vector);
bool fw_lapic_isr(unsigned int vector);

/* Set the timer divider to 1 on this CPU (once; the timer functions call
 * it). Needed before programming TIMER_INIT by hand. */
void fw_lapic_timer_prepare(void);

/*
 * LAPIC timer, divide-by-1. One-shot: `vector` fires once after `count`
 * timer ticks (fw_lapic_timer_hz() ticks per second). count 0 stops it.
 */
void fw_lapic_timer_oneshot(unsigned int vector, uint32_t count);
void fw_lapic_timer_periodic(unsigned int vector, uint32_t count);
void fw_lapic_timer_stop(void);
static inline uint32_t fw_lapic_timer_current(void)
{
	return fw_lapic_read(FW_APIC_TIMER_CUR);
}
/* Timer ticks per second, measured against the TSC once (about 5 ms, the
 * LVT masked) and cached. KVM's LAPIC timer runs at 1 GHz. */
uint64_t fw_lapic_timer_hz(void);

/*
 * TSC-deadline mode (CPUID.1:ECX[24]): `vector` fires when the TSC reaches
 * `deadline`. Arming writes IA32_TSC_DEADLINE through the privileged-call
 * gate (~30 us here); 0 disarms.
 */
bool fw_tsc_deadline_supported(void);
void fw_tsc_deadline_arm(unsigned int vector, uint64_t deadline);
void fw_tsc_deadline_stop(void);

#endif
