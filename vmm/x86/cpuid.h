/* SPDX-License-Identifier: MIT */
/* CPUID for vCPUs: what KVM supports, with each vCPU's own APIC id. */
#ifndef VMM_X86_CPUID_H
#define VMM_X86_CPUID_H

struct kvm_cpuid2;

/* KVM_GET_SUPPORTED_CPUID into a malloc'd table. Returns 0 or -errno. */
int x86_cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out);
/* KVM_SET_CPUID2 with the APIC id patched into leaves 1, 0xb and 0x1f. */
int x86_cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned apic_id);

#endif
