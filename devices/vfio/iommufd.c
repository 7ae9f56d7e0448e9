/* SPDX-License-Identifier: MIT */
/*
 * The VM's iommufd: /dev/iommu, one IOAS, guest RAM mapped at IOVA = GPA
 * (iommufd.h says why one per VM and when RAM is mapped).
 */
#include "devices/vfio/iommufd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "devices/vfio/vfio.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define IOMMU_DEV_PATH "/dev/iommu"
#define IOVA_RANGES_MAX 64  /* real IOMMUs report a handful of holes */

bool vfio_iova_covered(const struct iommu_iova_range *ranges, unsigned count, uint64_t start,
		       uint64_t length, uint64_t *hole_start, uint64_t *hole_end)
{
	uint64_t pos = start, end = start + length; /* exclusive; callers keep it below 2^64 */

	/* Each step either ends, or moves pos past one whole range: at most count steps. */
	for (unsigned step = 0; pos < end && step <= count; step++) {
		const struct iommu_iova_range *inside = NULL;

		for (unsigned i = 0; i < count && !inside; i++) {
			if (ranges[i].start <= pos && pos <= ranges[i].last)
				inside = &ranges[i];
		}
		if (!inside) {
			uint64_t next = end;

			for (unsigned i = 0; i < count; i++) {
				if (ranges[i].start > pos && ranges[i].start < next)
					next = ranges[i].start;
			}
			*hole_start = pos;
			*hole_end = next;
			return false;
		}
		if (inside->last == UINT64_MAX)
			return true;
		pos = inside->last + 1;
	}
	return pos >= end;
}

int vfio_iommufd_get(struct vm *vm, const char *who, struct vfio_iommufd **out)
{
	struct vfio_iommufd *iommufd = vm->vfio_iommufd;

	if (iommufd) {
		iommufd->users++;
		*out = iommufd;
		return 0;
	}
	iommufd = calloc(1, sizeof(*iommufd));
	if (!iommufd)
		return -ENOMEM;
	iommufd->kvm_device = -1;
	iommufd->fd = open(IOMMU_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (iommufd->fd < 0) {
		int rc = -errno;

		log_error("%s: open %s: %s%s", who, IOMMU_DEV_PATH, strerror(errno),
			  errno == ENOENT ? " (the host kernel has no iommufd: it needs "
			  "CONFIG_IOMMUFD and Linux 6.6+ for VFIO device cdevs)" :
			  errno == EACCES ? " (no permission: run as root or give this user "
			  "access to /dev/iommu)" : "");
		free(iommufd);
		return rc;
	}
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	if (ioctl(iommufd->fd, IOMMU_IOAS_ALLOC, &alloc) < 0) {
		int rc = -errno;

		log_error("%s: IOMMU_IOAS_ALLOC: %s (errno %d): %s", who, strerror(errno), errno,
			  vfio_explain("IOMMU_IOAS_ALLOC", errno));
		close(iommufd->fd);
		free(iommufd);
		return rc;
	}
	iommufd->ioas = alloc.out_ioas_id;
	iommufd->users = 1;
	vm->vfio_iommufd = iommufd;
	log_debug("%s: iommufd %d, IOAS %u", who, iommufd->fd, iommufd->ioas);
	*out = iommufd;
	return 0;
}

/* IOVA_RANGES into a caller array: count, or -errno. */
static int read_iova_ranges(struct vfio_iommufd *iommufd, const char *who,
			    struct iommu_iova_range *ranges, unsigned capacity, uint64_t *alignment)
{
	struct iommu_ioas_iova_ranges query = {
		.size = sizeof(query), .ioas_id = iommufd->ioas, .num_iovas = capacity,
		.allowed_iovas = (uintptr_t)ranges,
	};

	if (ioctl(iommufd->fd, IOMMU_IOAS_IOVA_RANGES, &query) < 0) {
		int rc = -errno;

		log_error("%s: IOMMU_IOAS_IOVA_RANGES: %s (errno %d): %s", who, strerror(errno),
			  errno, errno == EMSGSIZE ? "more than 64 usable IOVA ranges" :
			  vfio_explain("IOMMU_IOAS_IOVA_RANGES", errno));
		return rc;
	}
	*alignment = query.out_iova_alignment;
	return (int)(query.num_iovas < capacity ? query.num_iovas : capacity);
}

static void log_ranges(const char *who, const struct iommu_iova_range *ranges, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		log_error("%s:   usable IOVA range %u: [%#llx, %#llx]", who, i,
			  (unsigned long long)ranges[i].start, (unsigned long long)ranges[i].last);
}

/* Refuse guest RAM that the IOMMU cannot map at IOVA = GPA. */
static int check_ram_iovas(struct vfio_iommufd *iommufd, const char *who, uint64_t size)
{
	struct iommu_iova_range ranges[IOVA_RANGES_MAX];
	uint64_t alignment = 0, hole_start, hole_end;
	int count = read_iova_ranges(iommufd, who, ranges, IOVA_RANGES_MAX, &alignment);

	if (count < 0)
		return count;
	if (alignment > 1 && size % alignment) {
		log_error("%s: guest RAM (%#llx bytes) is not a multiple of the IOMMU's IOVA "
			  "alignment %#llx", who, (unsigned long long)size,
			  (unsigned long long)alignment);
		return -EINVAL;
	}
	if (!vfio_iova_covered(ranges, (unsigned)count, 0, size, &hole_start, &hole_end)) {
		log_error("%s: guest RAM [0, %#llx) cannot be mapped at IOVA = GPA: "
			  "[%#llx, %#llx) is not a usable IOVA range of this IOMMU (a reserved "
			  "region or beyond its address width); the device could not DMA there. "
			  "Use less guest memory (vm.memory) so RAM ends below the hole",
			  who, (unsigned long long)size, (unsigned long long)hole_start,
			  (unsigned long long)hole_end);
		log_ranges(who, ranges, (unsigned)count);
		return -ERANGE;
	}
	return 0;
}

static void explain_memlock(const char *who, uint64_t size)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_MEMLOCK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
	    limit.rlim_cur < size)
		log_error("%s: mapping pins all guest RAM (%llu MiB) but RLIMIT_MEMLOCK is "
			  "%llu KiB: raise it (ulimit -l, limits.conf) or run as root", who,
			  (unsigned long long)(size >> 20), (unsigned long long)(limit.rlim_cur >> 10));
}

int vfio_iommufd_map_ram(struct vm *vm, const char *who)
{
	struct vfio_iommufd *iommufd = vm->vfio_iommufd;
	int rc;

	if (!iommufd)
		return -EINVAL;
	if (iommufd->ram_mapped)
		return 0;
	if ((rc = check_ram_iovas(iommufd, who, vm->ram.size)))
		return rc;
	struct iommu_ioas_map map = {
		.size = sizeof(map), .ioas_id = iommufd->ioas,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)vm->ram.base, .length = vm->ram.size, .iova = 0,
	};

	if (ioctl(iommufd->fd, IOMMU_IOAS_MAP, &map) < 0) {
		rc = -errno;
		log_error("%s: IOMMU_IOAS_MAP of guest RAM (%#llx bytes at IOVA 0): %s (errno %d): "
			  "%s", who, (unsigned long long)vm->ram.size, strerror(errno), errno,
			  vfio_explain("IOMMU_IOAS_MAP", errno));
		if (errno == ENOMEM)
			explain_memlock(who, vm->ram.size);
		return rc;
	}
	iommufd->ram_mapped = true;
	iommufd->ram_size = vm->ram.size;
	log_debug("%s: guest RAM mapped at IOVA 0..%#llx", who, (unsigned long long)vm->ram.size);
	return 0;
}

static void unmap_ram(struct vfio_iommufd *iommufd)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = iommufd->ioas, .iova = 0,
		.length = iommufd->ram_size,
	};

	if (ioctl(iommufd->fd, IOMMU_IOAS_UNMAP, &unmap) < 0)
		log_warn("iommufd: IOMMU_IOAS_UNMAP of guest RAM: %s (errno %d): %s",
			 strerror(errno), errno, vfio_explain("IOMMU_IOAS_UNMAP", errno));
	else if (unmap.length != iommufd->ram_size)
		log_warn("iommufd: IOMMU_IOAS_UNMAP unmapped %#llx of %#llx bytes",
			 (unsigned long long)unmap.length, (unsigned long long)iommufd->ram_size);
	iommufd->ram_mapped = false;
}

void vfio_iommufd_put(struct vm *vm)
{
	struct vfio_iommufd *iommufd = vm->vfio_iommufd;

	if (!iommufd || --iommufd->users > 0)
		return;
	if (iommufd->ram_mapped)
		unmap_ram(iommufd);
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = iommufd->ioas };

	if (ioctl(iommufd->fd, IOMMU_DESTROY, &destroy) < 0)
		log_warn("iommufd: IOMMU_DESTROY IOAS %u: %s (errno %d): %s", iommufd->ioas,
			 strerror(errno), errno, vfio_explain("IOMMU_DESTROY", errno));
	if (iommufd->kvm_device >= 0)
		close(iommufd->kvm_device);
	close(iommufd->fd);
	free(iommufd);
	vm->vfio_iommufd = NULL;
}

static int kvm_vfio_attr(int kvm_device, uint64_t attr, int device_fd)
{
	int32_t fd = device_fd;
	struct kvm_device_attr request = {
		.group = KVM_DEV_VFIO_FILE, .attr = attr, .addr = (uintptr_t)&fd,
	};

	return ioctl(kvm_device, KVM_SET_DEVICE_ATTR, &request) < 0 ? -errno : 0;
}

void vfio_iommufd_kvm_add(struct vm *vm, int device_fd, const char *who)
{
	struct vfio_iommufd *iommufd = vm->vfio_iommufd;
	int rc = 0;

	if (!iommufd || iommufd->kvm_device == -2)
		return;
	if (iommufd->kvm_device < 0) {
		struct kvm_create_device create = { .type = KVM_DEV_TYPE_VFIO };

		if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &create) < 0) {
			rc = -errno;
			iommufd->kvm_device = -2;
		} else {
			iommufd->kvm_device = (int)create.fd;
		}
	}
	if (!rc)
		rc = kvm_vfio_attr(iommufd->kvm_device, KVM_DEV_VFIO_FILE_ADD, device_fd);
	if (rc && !iommufd->kvm_warned) {
		/* Only non-coherent DMA (WBINVD emulation) needs KVM to know. */
		log_warn("%s: KVM_DEV_VFIO_FILE_ADD: %s; continuing without the KVM-VFIO "
			 "association (only devices doing non-coherent DMA need it)", who,
			 strerror(-rc));
		iommufd->kvm_warned = true;
	}
}

void vfio_iommufd_kvm_del(struct vm *vm, int device_fd)
{
	struct vfio_iommufd *iommufd = vm->vfio_iommufd;

	if (iommufd && iommufd->kvm_device >= 0)
		kvm_vfio_attr(iommufd->kvm_device, KVM_DEV_VFIO_FILE_DEL, device_fd);
}
