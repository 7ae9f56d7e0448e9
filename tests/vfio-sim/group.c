/* SPDX-License-Identifier: MIT */
/*
 * DMA ownership of IOMMU groups (iommu_device_claim_dma_owner): one owner
 * per group. Here an owner is an iommufd context, and it owns a group by
 * holding an exclusive flock on <root>/locks/group-G.lock through its own
 * open file description. flock conflicts between descriptions, not
 * processes, so the same rule covers two contexts of one process and
 * contexts of two processes (several VMMs, or a test's fork). Devices of
 * one group bound to the same context share the claim (refcounted).
 *
 * The lock fd is never explicitly unlocked, only closed: a child that
 * inherited the context's fd across fork keeps the group owned, exactly
 * as an inherited /dev/iommu fd keeps the kernel context alive.
 *
 * A group member bound to a host (non-VFIO) driver is an owner nobody can
 * displace: EPERM, as the kernel gives for a sibling on a normal driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "tests/vfio-sim/sim_internal.h"

static bool host_driver_member(const struct sim *sim, int group, const char **who)
{
	for (unsigned i = 0; i < sim->device_count; i++) {
		const struct sim_device *dev = sim->devices[i];

		if (dev->group == group && !sim_core_of(dev)->vfio_driver) {
			*who = dev->name;
			return true;
		}
	}
	return false;
}

int sim_group_claim(struct sim_iommufd *ctx, int group)
{
	const char *who;
	char path[4200];

	for (unsigned i = 0; i < ctx->claim_count; i++) {
		if (ctx->claims[i].group == group) {
			ctx->claims[i].users++;
			return 0;
		}
	}
	if (host_driver_member(ctx->sim, group, &who)) {
		sim_log("IOMMU group %d: member %s is bound to host driver %s: EPERM", group, who,
			sim_device_by_name(ctx->sim, who)->driver);
		return -EPERM;
	}
	if (ctx->claim_count == SIM_MAX_DEVICES)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/locks/group-%d.lock", ctx->sim->root, group);
	int fd = sim_libc()->open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno;

		sim_libc()->close(fd);
		return err == EWOULDBLOCK ? -EPERM : -err;
	}
	ctx->claims[ctx->claim_count++] = (struct sim_group_claim){ group, fd, 1 };
	return 0;
}

void sim_group_release(struct sim_iommufd *ctx, int group)
{
	for (unsigned i = 0; i < ctx->claim_count; i++) {
		struct sim_group_claim *claim = &ctx->claims[i];

		if (claim->group != group || --claim->users)
			continue;
		sim_libc()->close(claim->lock_fd);
		*claim = ctx->claims[--ctx->claim_count];
		return;
	}
}
