/* SPDX-License-Identifier: MIT */
/*
 * One device on the VFIO device cdev: find /dev/vfio/devices/vfioN from
 * sysfs, BIND to the VM's iommufd, ATTACH to its IOAS, read device, region
 * and IRQ info, access regions, SET_IRQS, RESET, close (vfio.h).
 *
 * Order (vfio.rst 6.6): open, BIND, ATTACH, then guest RAM is mapped by the
 * first device: IOVA_RANGES only reflects an IOMMU's reserved regions once
 * a device is attached, so checking RAM against it before would check
 * nothing.
 */
#include "devices/vfio/vfio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "devices/vfio/iommufd.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define VFIO_CDEV_DIR        "/dev/vfio/devices"
#define REGION_INFO_MAX      65536u  /* a capability chain larger than this is refused */
#define CAP_CHAIN_MAX_STEPS  32u

/* "name (sysfs or fd)" for messages. */
static const char *who(const struct vfio_device *dev, char *buf, size_t len)
{
	snprintf(buf, len, "vfio '%s' (%s)", dev->name, dev->sysfs[0] ? dev->sysfs : dev->cdev);
	return buf;
}

#define WHO(dev) who((dev), (char[384]){ 0 }, 384)

const char *vfio_explain(const char *call, int err)
{
	bool bind = strstr(call, "BIND") != NULL, attach = strstr(call, "ATTACH") != NULL;
	bool map = strstr(call, "MAP") != NULL && strstr(call, "UNMAP") == NULL;

	switch (err) {
	case EPERM:
		if (bind)
			return "another owner holds the device's IOMMU group (a sibling bound to a "
			       "host driver, or another iommufd/process), or the platform lacks "
			       "interrupt isolation (iommufd.allow_unsafe_interrupts)";
		return "operation not permitted";
	case EBUSY:
		if (bind)
			return "the IOMMU group is in use: its legacy /dev/vfio/GROUP is open, or "
			       "the group is attached to a non-default domain";
		if (attach)
			return "a device reset is in progress";
		return "device or resource busy";
	case EINVAL:
		if (bind)
			return "the fd is already bound, came from a group, or the IOMMU cannot "
			       "enforce cache coherency";
		if (attach)
			return "another device of the IOMMU group is attached elsewhere, or the "
			       "IOAS holds mappings inside this device's reserved IOVA regions";
		if (map)
			return "IOVA or length not aligned to the IOMMU page size, or no access "
			       "flags";
		return "invalid argument (the fd may not be bound yet)";
	case ENOMEM:
		if (map)
			return "pinning guest RAM exceeds RLIMIT_MEMLOCK or host memory";
		return "out of memory";
	case ENOTTY:
		return "the kernel does not know this ioctl (too old: the VFIO cdev needs "
		       "Linux 6.6+, iommufd 6.2+)";
	case EEXIST:
		return "the IOVA range is already mapped";
	case ENOENT:
		return "no such object (IOAS id, or no mapping there)";
	case EOPNOTSUPP:
		return "a flag or reserved field the kernel does not support";
	case E2BIG:
		return "argument struct larger than the kernel's with non-zero tail";
	case EOVERFLOW:
		return "IOVA + length wraps";
	case EBADF:
		return "not an open file descriptor";
	case ENODEV:
		return "the device is gone (unbound or removed)";
	default:
		return strerror(err);
	}
}

/* ---- finding the cdev ---- */

static bool is_vfio_name(const char *name)
{
	if (strncmp(name, "vfio", 4) != 0 || !name[4])
		return false;
	for (const char *p = name + 4; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* The basename of the driver <sysfs>/driver points to, or "no driver". */
static const char *driver_name(const char *sysfs, char *buf, size_t len)
{
	char link[PATH_MAX];

	snprintf(link, sizeof(link), "%s/driver", sysfs);
	ssize_t n = readlink(link, buf, len - 1);

	if (n <= 0)
		return "no driver";
	buf[n] = '\0';
	return strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
}

static int find_cdev(struct vfio_device *dev)
{
	char path[PATH_MAX], driver[PATH_MAX];
	DIR *dir;
	struct dirent *entry;
	int found = 0;

	snprintf(path, sizeof(path), "%s/vfio-dev", dev->sysfs);
	dir = opendir(path);
	if (!dir) {
		int err = errno;

		/* A mistyped address is not a binding problem: say which it is. */
		if (err == ENOENT && access(dev->sysfs, F_OK) != 0) {
			log_error("%s: %s does not exist: no such device (check the address; the "
				  "bus's devices are listed in /sys/bus/<bus>/devices)", WHO(dev),
				  dev->sysfs);
			return -ENOENT;
		}
		log_error("%s: %s: %s: the device (driver: %s) is not bound to a VFIO driver "
			  "with device cdevs (bind it: echo vfio-pci > %s/driver_override and "
			  "write its address to /sys/bus/pci/drivers_probe; the kernel needs "
			  "CONFIG_VFIO_DEVICE_CDEV, Linux 6.6+)", WHO(dev), path, strerror(err),
			  driver_name(dev->sysfs, driver, sizeof(driver)), dev->sysfs);
		return -err;
	}
	while ((entry = readdir(dir))) {
		if (!is_vfio_name(entry->d_name))
			continue;
		if (found++ == 0)
			snprintf(dev->cdev, sizeof(dev->cdev), VFIO_CDEV_DIR "/%.32s", entry->d_name);
	}
	closedir(dir);
	if (found != 1) {
		log_error("%s: %s holds %d vfioN entries; expected exactly one", WHO(dev), path,
			  found);
		return -ENODEV;
	}
	return 0;
}

static void read_group(struct vfio_device *dev)
{
	char path[PATH_MAX], target[PATH_MAX];

	dev->iommu_group = -1;
	if (!dev->sysfs[0])
		return;
	snprintf(path, sizeof(path), "%s/iommu_group", dev->sysfs);
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n <= 0)
		return;
	target[n] = '\0';
	const char *base = strrchr(target, '/');
	char *end;
	long group = strtol(base ? base + 1 : target, &end, 10);

	if (*end == '\0' && group >= 0 && group < INT_MAX)
		dev->iommu_group = (int)group;
}

/* The members of the device's IOMMU group, for an ownership error. */
static void log_group_members(const struct vfio_device *dev)
{
	char path[PATH_MAX], list[1024] = "";
	size_t used = 0;
	unsigned count = 0;
	DIR *dir;
	struct dirent *entry;

	if (!dev->sysfs[0])
		return;
	snprintf(path, sizeof(path), "%s/iommu_group/devices", dev->sysfs);
	dir = opendir(path);
	if (!dir) {
		log_error("%s: cannot list the IOMMU group (%s: %s)", WHO(dev), path,
			  strerror(errno));
		return;
	}
	while ((entry = readdir(dir))) {
		char link[PATH_MAX + 300], driver[PATH_MAX] = "";

		if (entry->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s/driver", path, entry->d_name);
		ssize_t len = readlink(link, driver, sizeof(driver) - 1);
		const char *base = "none";

		if (len > 0) {
			driver[len] = '\0';
			base = strrchr(driver, '/') ? strrchr(driver, '/') + 1 : driver;
		}
		int n = snprintf(list + used, sizeof(list) - used, "%s%s (driver %s)",
				 count ? ", " : "", entry->d_name, base);

		count++;
		if (n > 0 && (size_t)n < sizeof(list) - used)
			used += (size_t)n;
	}
	closedir(dir);
	log_error("%s: IOMMU group %d has %u device(s): %s. Every one must be bound to a "
		  "VFIO driver (or to none), and no other process may hold one; pass them all to "
		  "this VM, which binds them to one iommufd", WHO(dev), dev->iommu_group, count, list);
}

/* ---- info ---- */

static bool cap_header_ok(uint32_t offset, size_t len)
{
	/* 8-aligned, as the kernel lays capabilities out (their structs hold u64s):
	 * a misaligned one would be read through a misaligned pointer. */
	return offset >= sizeof(struct vfio_region_info) && offset % 8 == 0 &&
	       offset <= len - sizeof(struct vfio_info_cap_header) &&
	       len >= sizeof(struct vfio_info_cap_header);
}

static void parse_sparse(struct vfio_region *region, const uint8_t *base, uint32_t offset,
			 size_t len)
{
	const struct vfio_region_info_cap_sparse_mmap *cap = (const void *)(base + offset);
	uint64_t room = (len - offset);

	if (room < sizeof(*cap))
		return;
	uint64_t nr = cap->nr_areas;

	if (nr > (room - sizeof(*cap)) / sizeof(cap->areas[0]))
		nr = (room - sizeof(*cap)) / sizeof(cap->areas[0]); /* truncated: keep what fits */
	region->area_count = 0;
	for (uint64_t i = 0; i < nr && region->area_count < VFIO_MAX_SPARSE; i++) {
		uint64_t start = cap->areas[i].offset, size = cap->areas[i].size;

		if (!size || start > region->size || size > region->size - start)
			continue; /* outside the region: not mappable */
		region->areas[region->area_count].offset = start;
		region->areas[region->area_count].size = size;
		region->area_count++;
	}
}

void vfio_region_parse(struct vfio_region *region, const struct vfio_region_info *info,
		       size_t len)
{
	const uint8_t *base = (const uint8_t *)info;
	bool sparse = false;

	memset(region, 0, sizeof(*region));
	if (len < sizeof(*info))
		return;
	region->flags = info->flags;
	region->size = info->size;
	region->offset = info->offset;
	/*
	 * Accesses reach file offset region->offset + n as an off_t: a range
	 * that wraps, or ends past what an off_t holds, would land in another
	 * region's range (or at a negative offset). Such a region is unusable.
	 */
	region->present = info->size > 0 && info->offset <= INT64_MAX &&
			  info->size <= (uint64_t)INT64_MAX - info->offset;
	if (!region->present)
		return;
	uint32_t offset = (info->flags & VFIO_REGION_INFO_FLAG_CAPS) ? info->cap_offset : 0;

	/* Offsets must move forward: a chain cannot loop, and steps are bounded anyway. */
	for (unsigned step = 0; offset && step < CAP_CHAIN_MAX_STEPS; step++) {
		if (!cap_header_ok(offset, len))
			break;
		const struct vfio_info_cap_header *header = (const void *)(base + offset);

		if (header->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP && !sparse) {
			sparse = true;
			parse_sparse(region, base, offset, len);
		}
		if (header->next <= offset)
			break;
		offset = header->next;
	}
	if (!(info->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		region->area_count = 0; /* areas only mean something with MMAP */
		return;
	}
	if (!sparse) {
		region->area_count = 1;
		region->areas[0].offset = 0;
		region->areas[0].size = region->size;
	}
}

/* The kernel: what the info queries are when nobody substitutes a fake one. */
static int ioctl_query(void *opaque, unsigned long request, void *arg)
{
	const struct vfio_device *dev = opaque;

	return ioctl(dev->fd, request, arg) < 0 ? -errno : 0;
}

static int get_region_info(struct vfio_device *dev, unsigned index, vfio_query_fn query,
			   void *opaque)
{
	size_t len = sizeof(struct vfio_region_info) + 256;
	struct vfio_region_info *info = NULL;

	for (int attempt = 0; attempt < 2; attempt++) {
		struct vfio_region_info *bigger = realloc(info, len);

		if (!bigger) {
			free(info);
			return -ENOMEM;
		}
		info = bigger;
		memset(info, 0, len);
		info->argsz = (uint32_t)len;
		info->index = index;
		int rc = query(opaque, VFIO_DEVICE_GET_REGION_INFO, info);

		if (rc) {
			log_error("%s: VFIO_DEVICE_GET_REGION_INFO %u: %s (errno %d): %s", WHO(dev),
				  index, strerror(-rc), -rc,
				  vfio_explain("VFIO_DEVICE_GET_REGION_INFO", -rc));
			free(info);
			return rc;
		}
		/* Capabilities did not fit: the kernel says how much it needs (2.3).
		 * It is asked once more at most: len must stay the size of the
		 * buffer, which bounds what is parsed, whatever argsz says then. */
		if (info->argsz <= len || info->argsz > REGION_INFO_MAX || attempt == 1)
			break;
		len = info->argsz;
	}
	size_t valid = info->argsz < len ? info->argsz : len;

	vfio_region_parse(&dev->regions[index], info, valid);
	if (valid >= sizeof(*info) && info->size && !dev->regions[index].present)
		log_warn("%s: region %u: the kernel's file range [%#llx, +%#llx) wraps or does not "
			 "fit an off_t; region ignored", WHO(dev), index,
			 (unsigned long long)info->offset, (unsigned long long)info->size);
	free(info);
	return 0;
}

int vfio_device_read_info(struct vfio_device *dev, vfio_query_fn query, void *opaque)
{
	int rc;

	if (!query) {
		query = ioctl_query;
		opaque = dev;
	}
	dev->info = (struct vfio_device_info){ .argsz = sizeof(dev->info) };
	if ((rc = query(opaque, VFIO_DEVICE_GET_INFO, &dev->info))) {
		log_error("%s: VFIO_DEVICE_GET_INFO: %s (errno %d): %s", WHO(dev), strerror(-rc),
			  -rc, vfio_explain("VFIO_DEVICE_GET_INFO", -rc));
		return rc;
	}
	if (dev->info.num_regions > VFIO_MAX_REGIONS)
		log_warn("%s: %u regions; only the first %u are used", WHO(dev),
			 dev->info.num_regions, VFIO_MAX_REGIONS);
	for (unsigned i = 0; i < dev->info.num_regions && i < VFIO_MAX_REGIONS; i++) {
		if ((rc = get_region_info(dev, i, query, opaque)))
			return rc;
	}
	for (unsigned i = 0; i < dev->info.num_irqs && i < VFIO_MAX_IRQ_INDEXES; i++) {
		struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = i };

		if ((rc = query(opaque, VFIO_DEVICE_GET_IRQ_INFO, &irq))) {
			log_error("%s: VFIO_DEVICE_GET_IRQ_INFO %u: %s (errno %d): %s", WHO(dev), i,
				  strerror(-rc), -rc, vfio_explain("VFIO_DEVICE_GET_IRQ_INFO", -rc));
			return rc;
		}
		dev->irqs[i].flags = irq.flags;
		dev->irqs[i].count = irq.count;
	}
	return 0;
}

/* ---- open / close ---- */

static const char *file_kind(mode_t mode)
{
	return S_ISREG(mode) ? "a regular file" : S_ISDIR(mode) ? "a directory" :
	       S_ISFIFO(mode) ? "a pipe" : S_ISSOCK(mode) ? "a socket" :
	       S_ISBLK(mode) ? "a block device" : "an anonymous inode (eventfd, epoll, KVM...)";
}

/*
 * fd = N must be a VFIO device cdev. Anything else would only fail at BIND
 * with an errno that blames the kernel (ENOTTY: "too old"), and an fd the
 * parent did not pass may be one the VMM opened itself, which the device
 * would then own and close. Checked before the device takes the fd.
 */
static int check_source_fd(struct vfio_device *dev, int fd)
{
	char link[64], target[PATH_MAX];
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int err = errno;

		log_error("%s: fd %d: %s: the parent process must pass an open VFIO cdev "
			  "(/dev/vfio/devices/vfioN) as fd %d, without FD_CLOEXEC", WHO(dev), fd,
			  strerror(err), fd);
		return -err;
	}
	/* An fd that survived exec has FD_CLOEXEC clear; the VMM opens all of its own with it. */
	int flags = fcntl(fd, F_GETFD);

	if (flags >= 0 && (flags & FD_CLOEXEC)) {
		log_error("%s: fd %d was not passed by the parent process: it is close-on-exec, so "
			  "the VMM opened it itself; the parent must pass an open VFIO cdev "
			  "(/dev/vfio/devices/vfioN) as fd %d, without FD_CLOEXEC", WHO(dev), fd, fd);
		return -EBADF;
	}
	if (!S_ISCHR(st.st_mode)) {
		log_error("%s: fd %d is %s, not a VFIO device cdev (/dev/vfio/devices/vfioN)",
			  WHO(dev), fd, file_kind(st.st_mode));
		return -ENODEV;
	}
	/* sysfs names what a character device is; without sysfs, BIND decides. */
	snprintf(link, sizeof(link), "/sys/dev/char/%u:%u", major(st.st_rdev), minor(st.st_rdev));
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	if (n <= 0)
		return 0;
	target[n] = '\0';
	if (!strstr(target, "/vfio-dev/vfio")) {
		log_error("%s: fd %d is character device %u:%u (%s), not a VFIO device cdev "
			  "(/dev/vfio/devices/vfioN; legacy /dev/vfio/GROUP fds are not supported)",
			  WHO(dev), fd, major(st.st_rdev), minor(st.st_rdev), target);
		return -ENODEV;
	}
	return 0;
}

static int open_cdev(struct vfio_device *dev, const struct vfio_source *source)
{
	int rc;

	if (source->fd >= 0) {
		snprintf(dev->cdev, sizeof(dev->cdev), "fd %d", source->fd);
		if ((rc = check_source_fd(dev, source->fd)))
			return rc;
		dev->fd = source->fd;
		return 0;
	}
	if ((rc = find_cdev(dev)))
		return rc;
	dev->fd = open(dev->cdev, O_RDWR | O_CLOEXEC);
	if (dev->fd < 0) {
		rc = -errno;
		log_error("%s: open %s: %s%s", WHO(dev), dev->cdev, strerror(errno),
			  errno == EACCES ? " (run as root or give this user the device node)" :
			  errno == ENOENT ? " (no device node: is devtmpfs mounted?)" : "");
		return rc;
	}
	return 0;
}

static int bind_device(struct vfio_device *dev, int iommufd)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .flags = 0, .iommufd = iommufd,
	};

	if (ioctl(dev->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0) {
		int err = errno;

		log_error("%s: VFIO_DEVICE_BIND_IOMMUFD: %s (errno %d): %s", WHO(dev), strerror(err),
			  err, vfio_explain("VFIO_DEVICE_BIND_IOMMUFD", err));
		if (err == EPERM || err == EBUSY)
			log_group_members(dev);
		return -err;
	}
	dev->devid = bind.out_devid;
	dev->bound = true;
	return 0;
}

static int attach_device(struct vfio_device *dev, uint32_t ioas)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach), .flags = 0, .pt_id = ioas,
	};

	if (ioctl(dev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0) {
		int rc = -errno;

		log_error("%s: VFIO_DEVICE_ATTACH_IOMMUFD_PT (IOAS %u): %s (errno %d): %s",
			  WHO(dev), ioas, strerror(errno), errno,
			  vfio_explain("VFIO_DEVICE_ATTACH_IOMMUFD_PT", errno));
		return rc;
	}
	dev->hwpt = attach.pt_id;
	dev->attached = true;
	return 0;
}

static int open_steps(struct vfio_device *dev, const struct vfio_source *source)
{
	struct vfio_iommufd *iommufd;
	int rc;

	if ((rc = open_cdev(dev, source)))
		return rc;
	read_group(dev);
	if ((rc = vfio_iommufd_get(dev->vm, WHO(dev), &iommufd)))
		return rc;
	dev->holds_iommufd = true;
	if ((rc = bind_device(dev, iommufd->fd)))
		return rc;
	if (!source->no_dma) {
		if ((rc = attach_device(dev, iommufd->ioas)) ||
		    (rc = vfio_iommufd_map_ram(dev->vm, WHO(dev))))
			return rc;
	} else {
		log_info("%s: not attached to an IOAS: DMA stays blocked by the IOMMU", WHO(dev));
	}
	if ((rc = vfio_device_read_info(dev, NULL, NULL)))
		return rc;
	vfio_iommufd_kvm_add(dev->vm, dev->fd, WHO(dev));
	dev->kvm_added = true;
	rc = vfio_device_reset(dev);
	if (rc && rc != -ENOTTY)
		return rc;
	return 0;
}

int vfio_device_open(struct vfio_device *dev, struct vm *vm, const char *name,
		     const struct vfio_source *source)
{
	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	dev->iommu_group = -1;
	dev->vm = vm;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	if (source->sysfs) {
		size_t len = strlen(source->sysfs);

		while (len > 1 && source->sysfs[len - 1] == '/')
			len--; /* "…/0000:03:00.0/" names the same device */
		if (len >= sizeof(dev->sysfs)) {
			log_error("vfio '%s': sysfs path too long (%zu bytes; at most %zu)", name, len,
				  sizeof(dev->sysfs) - 1);
			return -ENAMETOOLONG;
		}
		memcpy(dev->sysfs, source->sysfs, len);
		dev->sysfs[len] = '\0';
	}
	if (!dev->sysfs[0] && source->fd < 0) {
		log_error("vfio '%s': neither a sysfs path nor a pre-opened fd", name);
		return -EINVAL;
	}
	int rc = open_steps(dev, source);

	if (rc)
		vfio_device_close(dev);
	return rc;
}

void vfio_device_close(struct vfio_device *dev)
{
	/* A zeroed, never-opened struct has vm NULL (and fd 0, which is not ours). */
	if (!dev->vm)
		return;
	if (dev->fd >= 0) {
		if (dev->kvm_added)
			vfio_iommufd_kvm_del(dev->vm, dev->fd);
		if (dev->attached) {
			struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };

			if (ioctl(dev->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach) < 0)
				log_warn("%s: VFIO_DEVICE_DETACH_IOMMUFD_PT: %s (errno %d): %s",
					 WHO(dev), strerror(errno), errno,
					 vfio_explain("VFIO_DEVICE_DETACH_IOMMUFD_PT", errno));
		}
		/* Closing unbinds and releases DMA ownership (device-facts 2.2). */
		close(dev->fd);
	}
	dev->fd = -1;
	dev->attached = dev->bound = dev->kvm_added = false;
	if (dev->holds_iommufd && dev->vm)
		vfio_iommufd_put(dev->vm);
	dev->holds_iommufd = false;
}

int vfio_device_reset(struct vfio_device *dev)
{
	if (dev->fd < 0)
		return -EBADF;
	if (!(dev->info.flags & VFIO_DEVICE_FLAGS_RESET))
		return -ENOTTY;
	if (ioctl(dev->fd, VFIO_DEVICE_RESET) < 0) {
		int rc = -errno;

		if (errno == ENOTTY)
			return rc;
		log_error("%s: VFIO_DEVICE_RESET: %s (errno %d): %s", WHO(dev), strerror(errno),
			  errno, vfio_explain("VFIO_DEVICE_RESET", errno));
		return rc;
	}
	return 0;
}

/* ---- regions ---- */

static const struct vfio_region *region_for(const struct vfio_device *dev, unsigned index,
					    uint64_t offset, uint64_t len)
{
	if (index >= VFIO_MAX_REGIONS || dev->fd < 0)
		return NULL;
	const struct vfio_region *region = &dev->regions[index];

	if (!region->present || offset > region->size || len > region->size - offset)
		return NULL;
	return region;
}

int vfio_region_read(struct vfio_device *dev, unsigned index, uint64_t offset, void *buf,
		     size_t len)
{
	const struct vfio_region *region = region_for(dev, index, offset, len);

	if (!region || !(region->flags & VFIO_REGION_INFO_FLAG_READ))
		return -EINVAL;
	ssize_t n = pread(dev->fd, buf, len, (off_t)(region->offset + offset));

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vfio_region_write(struct vfio_device *dev, unsigned index, uint64_t offset, const void *buf,
		      size_t len)
{
	const struct vfio_region *region = region_for(dev, index, offset, len);

	if (!region || !(region->flags & VFIO_REGION_INFO_FLAG_WRITE))
		return -EINVAL;
	ssize_t n = pwrite(dev->fd, buf, len, (off_t)(region->offset + offset));

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

bool vfio_region_mmappable(const struct vfio_device *dev, unsigned index, uint64_t offset,
			   uint64_t size)
{
	const struct vfio_region *region = region_for(dev, index, offset, size);

	if (!region || !size || !(region->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return false;
	for (unsigned i = 0; i < region->area_count; i++) {
		uint64_t start = region->areas[i].offset, area = region->areas[i].size;

		if (offset >= start && offset - start <= area && size <= area - (offset - start))
			return true;
	}
	return false;
}

void *vfio_region_mmap(struct vfio_device *dev, unsigned index, uint64_t offset, uint64_t size)
{
	if (!vfio_region_mmappable(dev, index, offset, size) || offset % 4096 || size % 4096) {
		log_error("%s: region %u [%#llx, +%#llx) is not an mmappable, page-aligned part "
			  "of the region", WHO(dev), index, (unsigned long long)offset,
			  (unsigned long long)size);
		errno = EINVAL;
		return NULL;
	}
	const struct vfio_region *region = &dev->regions[index];
	int prot = (region->flags & VFIO_REGION_INFO_FLAG_READ ? PROT_READ : 0) |
		   (region->flags & VFIO_REGION_INFO_FLAG_WRITE ? PROT_WRITE : 0);
	void *map = mmap(NULL, size, prot, MAP_SHARED, dev->fd, (off_t)(region->offset + offset));

	if (map == MAP_FAILED) {
		int err = errno;

		log_error("%s: mmap of region %u [%#llx, +%#llx): %s", WHO(dev), index,
			  (unsigned long long)offset, (unsigned long long)size, strerror(err));
		errno = err;
		return NULL;
	}
	return map;
}

/* ---- interrupts ---- */

static int set_irqs(struct vfio_device *dev, uint32_t flags, unsigned index, unsigned start,
		    unsigned count, const void *data, size_t data_len)
{
	size_t len = sizeof(struct vfio_irq_set) + data_len;
	struct vfio_irq_set *set = calloc(1, len);

	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)len;
	set->flags = flags;
	set->index = index;
	set->start = start;
	set->count = count;
	if (data_len)
		memcpy(set->data, data, data_len);
	int rc = ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, set) < 0 ? -errno : 0;

	free(set);
	if (rc)
		log_error("%s: VFIO_DEVICE_SET_IRQS (index %u, vectors %u+%u, flags %#x): %s "
			  "(errno %d): %s", WHO(dev), index, start, count, flags, strerror(-rc),
			  -rc, vfio_explain("VFIO_DEVICE_SET_IRQS", -rc));
	return rc;
}

int vfio_irq_set_eventfds(struct vfio_device *dev, unsigned index, unsigned start, unsigned count,
			  const int *fds)
{
	int32_t *data = calloc(count ? count : 1, sizeof(*data));

	if (!data)
		return -ENOMEM;
	for (unsigned i = 0; i < count; i++)
		data[i] = fds ? fds[i] : -1;
	int rc = set_irqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index,
			  start, count, data, count * sizeof(*data));

	free(data);
	return rc;
}

int vfio_irq_set_unmask_eventfd(struct vfio_device *dev, unsigned index, int fd)
{
	int32_t data = fd;

	return set_irqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, index, 0, 1,
			&data, sizeof(data));
}

int vfio_irq_unmask(struct vfio_device *dev, unsigned index)
{
	return set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, index, 0, 1,
			NULL, 0);
}

int vfio_irq_mask(struct vfio_device *dev, unsigned index)
{
	return set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, index, 0, 1,
			NULL, 0);
}

int vfio_irq_disable(struct vfio_device *dev, unsigned index)
{
	return set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 0,
			NULL, 0);
}
