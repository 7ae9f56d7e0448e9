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
 *
 * The legacy group path (vfio_device_block_group, group.c in the kernel):
 * /dev/vfio/G may be open once, and not while any cdev of the group is
 * bound; BIND fails while it is open. Both sides are one flock on
 * <root>/locks/group-G.legacy, so the rule holds across processes like
 * the ownership above:
 *   - an open /dev/vfio/G *is* an open file description of that file
 *     holding LOCK_EX (the fd the caller gets), so it lives exactly as
 *     long as the kernel's group file: shared by fork and dup, kept
 *     across exec unless O_CLOEXEC, released with the last close;
 *   - each bound cdev holds LOCK_SH on a description of its own (the
 *     kernel's cdev_device_open_cnt), taken at BIND, closed at unbind.
 * EX against EX is the second open's EBUSY, EX against SH the two EBUSYs
 * of the issue, and flock decides atomically, so an open racing a BIND in
 * another process cannot both succeed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

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

/* ---- the legacy group path ---- */

static int legacy_lock_path(const struct sim *sim, int group, char *out, size_t len)
{
	return (size_t)snprintf(out, len, "%s/locks/group-%d.legacy", sim->root, group) >= len
		       ? -ENAMETOOLONG : 0;
}

bool sim_group_has_node(const struct sim *sim, int group)
{
	/* The kernel makes a vfio_group (and its node) when a VFIO driver
	 * registers a member; a group only on host drivers has none. */
	for (unsigned i = 0; i < sim->device_count; i++) {
		const struct sim_device *dev = sim->devices[i];

		if (dev->group == group && sim_core_of(dev)->vfio_driver)
			return true;
	}
	return false;
}

/* flock `mode` on a new description of the group's legacy lock file: the fd or -errno. */
static int legacy_lock(const struct sim *sim, int group, int mode, int cloexec)
{
	char path[4200];
	int rc = legacy_lock_path(sim, group, path, sizeof(path));

	if (rc)
		return rc;
	/* Read-only: flock needs no access mode, and a write() on an open
	 * /dev/vfio/G (not interposed) then fails instead of filling the file. */
	int fd = sim_libc()->open(path, O_RDONLY | O_CREAT | cloexec, 0644);

	if (fd < 0)
		return -errno;
	if (flock(fd, mode | LOCK_NB)) {
		int err = errno;

		sim_libc()->close(fd);
		if (err != EWOULDBLOCK)
			return -err;
		if (mode == LOCK_SH)
			sim_log("IOMMU group %d: BIND while /dev/vfio/%d is open: EBUSY", group, group);
		else
			sim_log("IOMMU group %d: /dev/vfio/%d is open or a cdev of the group is bound: "
				"EBUSY", group, group);
		return -EBUSY;
	}
	return fd;
}

int sim_group_node_open(const struct sim *sim, int group, int flags)
{
	return legacy_lock(sim, group, LOCK_EX, flags & O_CLOEXEC);
}

bool sim_group_node_fd(const struct sim *sim, int fd, int *group)
{
	char target[256], path[4200];
	struct stat fd_st, lock_st;
	int g;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = sim_libc()->readlink(path, target, sizeof(target) - 1);

	if (n <= 0)
		return false;
	target[n] = 0;
	const char *base = strrchr(target, '/');
	char name[64];

	/* The name narrows it down; the inode proves it is this root's file. */
	if (!base || sscanf(base, "/group-%d", &g) != 1 ||
	    (snprintf(name, sizeof(name), "/group-%d.legacy", g), strcmp(base, name) != 0) ||
	    !sim_group_has_node(sim, g) || legacy_lock_path(sim, g, path, sizeof(path)) ||
	    sim_libc()->fstat(fd, &fd_st) || sim_libc()->stat(path, &lock_st) ||
	    fd_st.st_dev != lock_st.st_dev || fd_st.st_ino != lock_st.st_ino)
		return false;
	*group = g;
	return true;
}

int sim_group_block(const struct sim *sim, int group)
{
	/* CLOEXEC like the ownership lock: a forked child shares the block
	 * until it execs, as it shares the bound device's claim. */
	return legacy_lock(sim, group, LOCK_SH, O_CLOEXEC);
}

void sim_group_unblock(int fd)
{
	if (fd >= 0)
		sim_libc()->close(fd);
}

/*
 * ioctls on /dev/vfio/G. Only VFIO_GROUP_GET_STATUS, whose answer needs
 * no container: VIABLE unless a member is on a host driver (the kernel:
 * no DMA owner claimed, and a kernel driver's default-domain use counts
 * as one); CONTAINER_SET never. The container API (SET_CONTAINER,
 * GET_DEVICE_FD, ...) is not modelled: ENOTTY, which a legacy user reads
 * as "this kernel cannot do it".
 */
int sim_group_node_ioctl(const struct sim *sim, int group, unsigned long request, void *arg)
{
	struct vfio_group_status status;
	const char *who;

	if (request != VFIO_GROUP_GET_STATUS)
		return -ENOTTY;
	if (!arg)
		return -EFAULT;
	memcpy(&status, arg, sizeof(status));
	if (status.argsz < sizeof(status))
		return -EINVAL;
	status.flags = host_driver_member(sim, group, &who) ? 0 : VFIO_GROUP_FLAGS_VIABLE;
	memcpy(arg, &status, sizeof(status));
	return 0;
}
