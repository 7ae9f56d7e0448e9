/* SPDX-License-Identifier: MIT */
/*
 * Which paths the simulator answers: /dev/iommu, /dev/vfio/devices/vfioN
 * and the legacy group nodes /dev/vfio/G are simulated character devices;
 * anything else under /sys, /dev/vfio or /dev/iommu that exists in the
 * fake tree (sysfs.c) is redirected there.
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

/* The number `text` is entirely made of, -1 if it is not one. */
static long number(const char *text)
{
	char *end;

	if (*text < '0' || *text > '9')
		return -1;
	long value = strtol(text, &end, 10);

	return *end || value > 0x7fffffff ? -1 : value;
}

enum sim_node sim_path_node(const struct sim *sim, const char *path, int *index)
{
	char norm[256];
	long n;

	if (strncmp(path, "/dev", 4) != 0 && strncmp(path, "//", 2) != 0)
		return SIM_NODE_NONE;
	normalise(path, norm, sizeof(norm));
	if (strcmp(norm, "/dev/iommu") == 0)
		return SIM_NODE_IOMMU;
	if (strncmp(norm, "/dev/vfio/devices/vfio", 22) == 0) {
		if ((n = number(norm + 22)) < 0 || n >= (long)sim->cdev_count)
			return SIM_NODE_NONE;
		*index = (int)n;
		return SIM_NODE_CDEV;
	}
	/* /dev/vfio/vfio (the container), unknown groups and "/dev/vfio/013"
	 * (the kernel names the node by the plain number) stay unsimulated. */
	if (strncmp(norm, "/dev/vfio/", 10) == 0 && (norm[10] != '0' || !norm[11]) &&
	    (n = number(norm + 10)) >= 0 && sim_group_has_node(sim, (int)n)) {
		*index = (int)n;
		return SIM_NODE_GROUP;
	}
	return SIM_NODE_NONE;
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
