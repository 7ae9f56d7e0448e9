/* SPDX-License-Identifier: MIT */
#include "vmm/x86/cpuid.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_MAX_ENTRIES 256

static size_t cpuid_bytes(unsigned entries)
{
	return sizeof(struct kvm_cpuid2) + entries * sizeof(struct kvm_cpuid_entry2);
}

int x86_cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *cpuid = calloc(1, cpuid_bytes(CPUID_MAX_ENTRIES));

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		int rc = -errno;

		free(cpuid);
		return rc;
	}
	*out = cpuid;
	return 0;
}

int x86_cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned apic_id)
{
	size_t bytes = cpuid_bytes(supported->nent);
	struct kvm_cpuid2 *cpuid = malloc(bytes);
	int rc = 0;

	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, supported, bytes);
	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *entry = &cpuid->entries[i];

		if (entry->function == 1)
			entry->ebx = (entry->ebx & 0x00ffffffu) | (apic_id << 24);
		else if (entry->function == 0xb || entry->function == 0x1f)
			entry->edx = apic_id;
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		rc = -errno;
	free(cpuid);
	return rc;
}
