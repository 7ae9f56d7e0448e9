/* SPDX-License-Identifier: MIT */
/*
 * Which paths the simulator answers: /dev/iommu and /dev/vfio/devices/vfioN
 * are simulated character devices; anything else under /sys, /dev/vfio or
 * /dev/iommu that exists in the fake tree (sysfs.c) is redirected there.
 * A /sys path the fake tree lacks goes to the real /sys, so the VMM still
 * reads the host's real attributes (CPU topology, ...) through us.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/vfio-sim/sim_internal.h"

static bool has_prefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* Collapse repeated slashes and drop a trailing one ("//dev//iommu/" -> "/dev/iommu"). */
static void normalise(const char *path, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = path; *p && o + 1 < len; p++) {
		if (*p == '/' && o && out[o - 1] == '/')
			continue;
		out[o++] = *p;
	}
	if (o > 1 && out[o - 1] == '/')
		o--;
	out[o] = 0;
}

enum sim_node sim_path_node(const struct sim *sim, const char *path, int *cdev)
{
	char norm[256];
	const char *digits;
	char *end;

	if (strncmp(path, "/dev", 4) != 0 && strncmp(path, "//", 2) != 0)
		return SIM_NODE_NONE;
	normalise(path, norm, sizeof(norm));
	if (strcmp(norm, "/dev/iommu") == 0)
		return SIM_NODE_IOMMU;
	if (strncmp(norm, "/dev/vfio/devices/vfio", 22) != 0)
		return SIM_NODE_NONE;
	digits = norm + 22;
	if (*digits < '0' || *digits > '9')
		return SIM_NODE_NONE;
	long index = strtol(digits, &end, 10);

	if (*end || index < 0 || index >= (long)sim->cdev_count)
		return SIM_NODE_NONE;
	*cdev = (int)index;
	return SIM_NODE_CDEV;
}

bool sim_path_redirect(const struct sim *sim, const char *path, char *out, size_t len)
{
	struct stat st;

	if (!has_prefix(path, "/sys") && !has_prefix(path, "/dev/vfio") &&
	    !has_prefix(path, "/dev/iommu"))
		return false;
	if ((size_t)snprintf(out, len, "%s%s", sim->root, path) >= len)
		return false;
	return sim_libc()->lstat(out, &st) == 0;
}
