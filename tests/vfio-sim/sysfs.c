/* SPDX-License-Identifier: MIT */
/*
 * The fake sysfs and /dev under the simulator root, shaped like the real
 * ones so the VMM's lookups need no simulator knowledge:
 *
 *   sys/devices/<parent>/<dev>/                 the device directory
 *       vfio-dev/vfioN/dev                      "240:N" (uevent too)
 *       iommu_group -> ../../../kernel/iommu_groups/G
 *       driver -> ../../../bus/<bus>/drivers/<driver>
 *       vendor, device, class, ... (PCI, read from the config region)
 *   sys/bus/<bus>/devices/<dev> -> ../../../devices/<parent>/<dev>
 *   sys/bus/<bus>/drivers/<driver>/<dev> -> the device directory
 *   sys/kernel/iommu_groups/G/devices/<dev> -> the device directory
 *   sys/kernel/iommu_groups/G/reserved_regions  "0x... 0x... msi" lines
 *   sys/class/vfio-dev/vfioN, sys/dev/char/240:N -> .../vfio-dev/vfioN
 *   dev/iommu, dev/vfio/devices/vfioN, dev/vfio/G  placeholders (stat: chardev)
 *   locks/group-G.lock                          DMA ownership (group.c)
 *   locks/group-G.legacy                        /dev/vfio/G open vs. BIND (group.c)
 *
 * <parent> is pci0000:00 for PCI, platform for platform and fsl-mc
 * devices. A configured sysfs path not of the form /sys/bus/B/devices/D
 * is created as a plain directory where it says. Several processes may
 * build the same root at once: every step tolerates finding its result.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/vfio-sim/sim_internal.h"

#define PATH_LEN 4096
#define HOME_LEN 512    /* a device directory: sim_device.sysfs is 256 */

static int mkdir_p(const char *path)
{
	char buf[PATH_LEN];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Atomically (rename) so a concurrent reader never sees a half-written file. */
static int write_file(const char *path, const char *text)
{
	char tmp[PATH_LEN + 32], dir[PATH_LEN];
	int rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((rc = mkdir_p(dirname(dir))))
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int fd = sim_libc()->open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	bool ok = write(fd, text, len) == (ssize_t)len;

	sim_libc()->close(fd);
	if (!ok || rename(tmp, path)) {
		rc = -errno;
		unlink(tmp);
		return rc ? rc : -EIO;
	}
	return 0;
}

static int make_link(const char *target, const char *path)
{
	char dir[PATH_LEN], old[PATH_LEN];
	int rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((rc = mkdir_p(dirname(dir))))
		return rc;
	if (symlink(target, path) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	ssize_t n = sim_libc()->readlink(path, old, sizeof(old) - 1);

	if (n >= 0) {
		old[n] = 0;
		if (strcmp(old, target) == 0)
			return 0;
	}
	unlink(path);
	return symlink(target, path) == 0 || errno == EEXIST ? 0 : -errno;
}

/* "../" once per component of `dir` below /sys: a relative way back to /sys. */
static void up_to_sys(const char *dir, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (const char *p = dir + strlen("/sys"); *p; p++) {
		if (*p == '/' && p[1] && o + 4 < len) {
			memcpy(out + o, "../", 4);
			o += 3;
		}
	}
}

/* Where the device's directory really lives (relative to /sys) and whether the configured path links to it. */
static void device_home(const struct sim_device *dev, char *home, size_t len, bool *linked)
{
	char bus[32], name[200];

	*linked = sscanf(dev->sysfs, "/sys/bus/%31[^/]/devices/%199[^/]", bus, name) == 2 &&
		  strncmp(dev->sysfs, "/sys/bus/", 9) == 0 &&
		  strlen(dev->sysfs) == strlen("/sys/bus//devices/") + strlen(bus) + strlen(name);
	if (*linked)
		snprintf(home, len, "/sys/devices/%s/%s",
			 strcmp(dev->bus, "pci") == 0 ? "pci0000:00" : "platform", name);
	else
		snprintf(home, len, "%s", dev->sysfs);
}

static int path_in_root(const struct sim *sim, const char *path, char *out, size_t len)
{
	return (size_t)snprintf(out, len, "%s%s", sim->root, path) >= len ? -ENAMETOOLONG : 0;
}

/* A symlink at sys path `at` pointing at sys path `to`, written relative like sysfs does. */
static int sys_link(const struct sim *sim, const char *at, const char *to)
{
	char dir[PATH_LEN], up[PATH_LEN], target[PATH_LEN * 2], real[PATH_LEN];
	int rc;

	snprintf(dir, sizeof(dir), "%s", at);
	up_to_sys(dirname(dir), up, sizeof(up));
	snprintf(target, sizeof(target), "%s%s", up, to + strlen("/sys/"));
	if ((rc = path_in_root(sim, at, real, sizeof(real))))
		return rc;
	return make_link(target, real);
}

static int sys_file(const struct sim *sim, const char *path, const char *text)
{
	char real[PATH_LEN];
	int rc = path_in_root(sim, path, real, sizeof(real));

	return rc ? rc : write_file(real, text);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* vendor, device, class... as sysfs shows them, from the config region. */
static int pci_attributes(const struct sim *sim, struct sim_device *dev, const char *home)
{
	static const struct { const char *name; unsigned offset, size; } attrs[] = {
		{ "vendor", 0x00, 2 }, { "device", 0x02, 2 }, { "revision", 0x08, 1 },
		{ "class", 0x09, 3 }, { "subsystem_vendor", 0x2c, 2 }, { "subsystem_device", 0x2e, 2 },
	};
	uint8_t cfg[0x40];
	char path[PATH_LEN], text[32];

	if (dev->region_count <= VFIO_PCI_CONFIG_REGION_INDEX ||
	    !dev->regions[VFIO_PCI_CONFIG_REGION_INDEX].size || !dev->ops || !dev->ops->read ||
	    dev->ops->read(dev, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg, sizeof(cfg)) !=
		    (ssize_t)sizeof(cfg))
		return 0;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		uint32_t value = 0;

		for (unsigned b = 0; b < attrs[i].size; b++)
			value |= (uint32_t)cfg[attrs[i].offset + b] << (8 * b);
		snprintf(path, sizeof(path), "%s/%s", home, attrs[i].name);
		snprintf(text, sizeof(text), attrs[i].size == 3 ? "0x%06x\n"
					     : attrs[i].size == 1 ? "0x%02x\n" : "0x%04x\n", value);
		int rc = sys_file(sim, path, text);

		if (rc)
			return rc;
	}
	return 0;
}

static int build_cdev(const struct sim *sim, const struct sim_dev_core *core, const char *home)
{
	char path[PATH_LEN], at[PATH_LEN], text[128];
	int n = core->cdev, rc;

	snprintf(path, sizeof(path), "%s/vfio-dev/vfio%d/dev", home, n);
	snprintf(text, sizeof(text), "%d:%d\n", SIM_CDEV_MAJOR, n);
	if ((rc = sys_file(sim, path, text)))
		return rc;
	snprintf(path, sizeof(path), "%s/vfio-dev/vfio%d/uevent", home, n);
	snprintf(text, sizeof(text), "MAJOR=%d\nMINOR=%d\nDEVNAME=vfio/devices/vfio%d\n",
		 SIM_CDEV_MAJOR, n, n);
	if ((rc = sys_file(sim, path, text)))
		return rc;
	snprintf(path, sizeof(path), "%s/vfio-dev/vfio%d", home, n);
	snprintf(at, sizeof(at), "/sys/class/vfio-dev/vfio%d", n);
	if ((rc = sys_link(sim, at, path)))
		return rc;
	snprintf(at, sizeof(at), "/sys/dev/char/%d:%d", SIM_CDEV_MAJOR, n);
	if ((rc = sys_link(sim, at, path)))
		return rc;
	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", n);
	return sys_file(sim, path, "");
}

static int build_device(const struct sim *sim, struct sim_device *dev)
{
	const struct sim_dev_core *core = dev->core;
	char home[HOME_LEN], at[PATH_LEN], to[HOME_LEN];
	bool linked;
	int rc;

	device_home(dev, home, sizeof(home), &linked);
	if ((rc = path_in_root(sim, home, at, sizeof(at))) || (rc = mkdir_p(at)))
		return rc;
	if (linked && (rc = sys_link(sim, dev->sysfs, home)))
		return rc;
	snprintf(at, sizeof(at), "%s/iommu_group", home);
	snprintf(to, sizeof(to), "/sys/kernel/iommu_groups/%d", dev->group);
	if ((rc = sys_link(sim, at, to)))
		return rc;
	snprintf(at, sizeof(at), "/sys/kernel/iommu_groups/%d/devices/%s", dev->group,
		 base_name(home));
	if ((rc = sys_link(sim, at, home)))
		return rc;
	snprintf(to, sizeof(to), "/sys/bus/%s/drivers/%s", dev->bus, dev->driver);
	snprintf(at, sizeof(at), "%s/driver", home);
	if ((rc = sys_link(sim, at, to)))
		return rc;
	snprintf(at, sizeof(at), "%s/%s", to, base_name(home));
	if ((rc = sys_link(sim, at, home)))
		return rc;
	if (strcmp(dev->bus, "pci") == 0 && (rc = pci_attributes(sim, dev, home)))
		return rc;
	return core->cdev >= 0 ? build_cdev(sim, core, home) : 0;
}

/* reserved_regions of each group: the MSI window and its members' reserved ranges. */
static int build_group_regions(const struct sim *sim, int group)
{
	char text[2048], path[PATH_LEN];
	size_t o = 0;

	o += (size_t)snprintf(text + o, sizeof(text) - o, "0x%016llx 0x%016llx msi\n",
			      (unsigned long long)SIM_MSI_START, (unsigned long long)SIM_MSI_LAST);
	for (unsigned i = 0; i < sim->device_count; i++) {
		const struct sim_dev_core *core = sim->devices[i]->core;

		if (sim->devices[i]->group != group)
			continue;
		for (unsigned r = 0; r < core->reserved_count && o < sizeof(text) - 64; r++)
			o += (size_t)snprintf(text + o, sizeof(text) - o,
					      "0x%016llx 0x%016llx reserved\n",
					      (unsigned long long)core->reserved[r].start,
					      (unsigned long long)core->reserved[r].last);
	}
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/reserved_regions", group);
	int rc = sys_file(sim, path, text);

	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/type", group);
	if ((rc = sys_file(sim, path, "DMA\n")))
		return rc;
	/* The legacy group node, listed in /dev/vfio like the kernel's. */
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	return sim_group_has_node(sim, group) ? sys_file(sim, path, "") : 0;
}

int sim_sysfs_build(struct sim *sim)
{
	char path[PATH_LEN];
	int rc;

	if ((rc = path_in_root(sim, "/locks", path, sizeof(path))) || (rc = mkdir_p(path)) ||
	    (rc = sys_file(sim, "/dev/iommu", "")) ||
	    (rc = path_in_root(sim, "/dev/vfio/devices", path, sizeof(path))) ||
	    (rc = mkdir_p(path)))
		return rc;
	for (unsigned i = 0; i < sim->device_count; i++) {
		if ((rc = build_device(sim, sim->devices[i])) ||
		    (rc = build_group_regions(sim, sim->devices[i]->group))) {
			sim_log("building the fake sysfs of %s under %s: %s", sim->devices[i]->name,
				sim->root, strerror(-rc));
			return rc;
		}
	}
	return 0;
}
