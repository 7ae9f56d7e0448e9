// SPDX-License-Identifier: MIT
/* TSC frequency (fw/tsc.h). */
#include <stdint.h>
#include <string.h>

#include "fw/cpu.h"
#include "fw/privcall.h"
#include "fw/tsc.h"
#include "internal.h"

#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define KVM_FEATURE_CLOCKSOURCE2 3

/* KVM's pvclock_vcpu_time_info (Documentation/virt/kvm/x86/msr.rst). */
struct pvclock_time {
	volatile uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((aligned(64)));

static uint64_t tsc_hz;
static const char *tsc_source = "unknown";

static uint64_t from_kvmclock(void)
{
	static struct pvclock_time pv;
	uint32_t a, b, c, d, mul = 0, version;
	int8_t shift = 0;
	char sig[13];
	uint64_t hz;

	cpuid(0x40000000, 0, &a, &b, &c, &d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	if (strcmp(sig, "KVMKVMKVM") || a < 0x40000001)
		return 0;
	cpuid(0x40000001, 0, &a, &b, &c, &d);
	if (!(a >> KVM_FEATURE_CLOCKSOURCE2 & 1))
		return 0;
	/* KVM fills the structure before the vCPU re-enters the guest, i.e.
	 * before the privileged call returns. */
	priv_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&pv | 1);
	for (int tries = 0; tries < 1000; tries++) {
		version = pv.version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		mul = pv.tsc_to_system_mul;
		shift = pv.tsc_shift;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(version & 1) && version == pv.version && mul)
			break;
		mul = 0;
	}
	priv_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	if (!mul)
		return 0;
	/* ns = ((ticks << shift) * mul) >> 32 (>> -shift when negative). */
	hz = (1000000000ull << 32) / mul;
	return shift >= 0 ? hz >> shift : hz << -shift;
}

static uint64_t from_lapic(void)
{
	uint64_t elapsed, ticks;

	/* About 2 ms, whatever the TSC rate is (assume at most 5 GHz). */
	ticks = fw_lapic_measure_ticks(10000000, &elapsed);
	return ticks ? (uint64_t)(((unsigned __int128)elapsed * 1000000000u) / ticks) : 0;
}

uint64_t fw_tsc_hz(void)
{
	uint32_t a, b, c, d, max, hmax;

	if (tsc_hz)
		return tsc_hz;
	cpuid(0, 0, &max, &b, &c, &d);
	cpuid(0x40000000, 0, &hmax, &b, &c, &d);
	if (max >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a && b && c) {
			tsc_hz = (uint64_t)c * b / a;
			tsc_source = "cpuid-0x15";
			return tsc_hz;
		}
	}
	if (hmax >= 0x40000010 && hmax < 0x40000100) {
		cpuid(0x40000010, 0, &a, &b, &c, &d);
		if (a) {
			tsc_hz = (uint64_t)a * 1000;
			tsc_source = "cpuid-0x40000010";
			return tsc_hz;
		}
	}
	if ((tsc_hz = from_kvmclock())) {
		tsc_source = "kvmclock";
		return tsc_hz;
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, &a, &b, &c, &d);
		if (a & 0xffff) {
			tsc_hz = (uint64_t)(a & 0xffff) * 1000000;
			tsc_source = "cpuid-0x16";
			return tsc_hz;
		}
	}
	tsc_hz = from_lapic();
	tsc_source = "lapic-1GHz";
	if (!tsc_hz)
		tsc_hz = 1000000000; /* never zero: callers divide by it */
	return tsc_hz;
}

const char *fw_tsc_hz_source(void)
{
	fw_tsc_hz();
	return tsc_source;
}

void fw_udelay(uint64_t us)
{
	uint64_t start = rdtsc(), ticks = fw_tsc_from_us(us);

	while (rdtsc() - start < ticks)
		cpu_relax();
}
