/* SPDX-License-Identifier: MIT */
/*
 * One thread per vCPU running KVM_RUN and dispatching exits to the buses.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <pthread.h>
#include <stdbool.h>

struct vm;
struct kvm_run;

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
};

/* Create the KVM vCPU, set CPUID and the boot registers. Returns 0 or -errno. */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned index);
int vcpu_start(struct vcpu *vcpu);
/* Make a running vCPU leave KVM_RUN soon (signal + immediate_exit). */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

#endif
