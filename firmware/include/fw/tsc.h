/* SPDX-License-Identifier: MIT */
/*
 * TSC frequency and conversions (firmware/tsc.c).
 *
 * The guest sees the host's TSC (constant rate). Its frequency comes from
 * the first of these that answers, tried once and cached:
 *   1. CPUID 0x15 with a crystal frequency (ECX) and ratio (EBX/EAX);
 *   2. CPUID 0x40000010 EAX (hypervisor timing leaf, kHz);
 *   3. kvmclock: with the "KVMKVMKVM" signature and feature bit 3 in CPUID
 *      0x40000001, MSR_KVM_SYSTEM_TIME_NEW (0x4b564d01) is pointed at a
 *      pvclock structure for a moment (two privileged calls); KVM's
 *      tsc_to_system_mul/tsc_shift give the exact rate KVM itself uses;
 *   4. CPUID 0x16 EAX (nominal base MHz);
 *   5. the LAPIC timer, assuming KVM's 1 GHz APIC bus (2 ms measurement).
 */
#ifndef FW_TSC_H
#define FW_TSC_H

#include <stdint.h>

uint64_t fw_tsc_hz(void);
/* Which method gave fw_tsc_hz(): "cpuid-0x15", "cpuid-0x40000010",
 * "kvmclock", "cpuid-0x16" or "lapic-1GHz". */
const char *fw_tsc_hz_source(void);

static inline uint64_t fw_tsc_from_us(uint64_t us)
{
	return (uint64_t)(((unsigned __int128)us * fw_tsc_hz()) / 1000000u);
}

static inline uint64_t fw_tsc_to_us(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * 1000000u) / fw_tsc_hz());
}

static inline uint64_t fw_tsc_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * 1000000000u) / fw_tsc_hz());
}

/* Busy-wait at CPL 3. */
void fw_udelay(uint64_t us);

#endif
