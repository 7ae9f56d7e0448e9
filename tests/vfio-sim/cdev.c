/* SPDX-License-Identifier: MIT */
/*
 * /dev/vfio/devices/vfioN: the VFIO device cdev (device_cdev.c,
 * vfio_main.c and the vfio-pci/-platform/-fsl-mc ioctls, as
 * reference/device-facts.md section 2 states them).
 *
 *  - Until BIND every ioctl but BIND fails with EINVAL, and so do pread,
 *    pwrite and mmap.
 *  - BIND: argsz < 16, flags != 0, iommufd < 0: EINVAL; then, as
 *    vfio_device_block_group does before anything else, the group's legacy
 *    /dev/vfio/G open (any process, group.c): EBUSY; this fd already bound,
 *    or another fd of the device bound: EINVAL; iommufd not an open fd:
 *    EBADF; an open fd that is not /dev/iommu: EBADFD (iommufd_ctx_from_fd);
 *    then DMA ownership of the IOMMU group (group.c): EPERM. While bound,
 *    opening /dev/vfio/G fails with EBUSY.
 *  - ATTACH (argsz < 12 or flags: EINVAL) to an IOAS or a HWPT id;
 *    another ATTACH replaces; DETACH blocks DMA again.
 *  - GET_INFO / GET_REGION_INFO / GET_IRQ_INFO: argsz below the fixed part
 *    or index out of range: EINVAL. A sparse mmappable region carries a
 *    SPARSE_MMAP capability; when argsz cannot hold it the call succeeds
 *    with FLAG_CAPS set, argsz raised and cap_offset 0.
 *  - Regions live at offset index << 40. pread/pwrite outside a region, or
 *    in a direction it does not allow: EINVAL; an access running past the
 *    end is shortened (vfio-pci). mmap needs MAP_SHARED, an MMAP region and
 *    a range inside one mmappable area: else EINVAL.
 *  - RESET without a backend reset: ENOTTY (vfio-pci says EINVAL; the
 *    VMM's interface treats ENOTTY as "cannot reset").
 *  - Unknown ioctls after BIND: ENOTTY (the drivers' default).
 *  - Closing the bound fd: detach, interrupts off, ops->released, group
 *    ownership released, legacy group path unblocked, unbound.
 * Not modelled: the legacy container API (VFIO_GROUP_GET_DEVICE_FD, so no
 * cdev fd "came from a group"), hot reset, VFIO_DEVICE_FEATURE, IOEVENTFD,
 * migration.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/vfio-sim/sim_internal.h"

#define OFFSET_MASK ((1ull << VMM_VFIO_REGION_SHIFT) - 1)

struct sim_cdev_file *sim_cdev_open(struct sim *sim, struct sim_device *dev, int fd)
{
	struct sim_cdev_file *file = calloc(1, sizeof(*file));

	if (!file)
		return NULL;
	file->dev = dev;
	file->fd = fd;
	file->block_fd = -1;
	sim_core_of(dev)->opens++;
	return file;
}

/* Undo BIND: what closing the bound fd does in the kernel (sim->lock held). */
static void unbind(struct sim_cdev_file *file)
{
	struct sim_device *dev = file->dev;
	struct sim_dev_core *core = dev->core;
	struct sim_iommufd *ctx = file->ctx;

	atomic_store(&file->bound, false);
	sim_iommufd_detach(ctx, dev);
	sim_irq_release(dev);
	if (dev->ops && dev->ops->released)
		dev->ops->released(dev);
	sim_group_release(ctx, dev->group);
	sim_group_unblock(file->block_fd);
	file->block_fd = -1;
	sim_iommufd_remove_device(ctx, file->devid);
	core->bound = NULL;
	file->ctx = NULL;
	sim_iommufd_put(ctx);
}

void sim_cdev_close(struct sim_cdev_file *file)
{
	if (file->ctx)
		unbind(file);
	sim_core_of(file->dev)->opens--;
	free(file);
}

/* ---- BIND / ATTACH / DETACH ---- */

static int cdev_bind(struct sim_cdev_file *file, void *arg)
{
	struct vfio_device_bind_iommufd bind;
	struct sim_device *dev = file->dev;
	struct sim_dev_core *core = dev->core;
	struct sim_iommufd *ctx;
	uint32_t devid;
	int rc, block_fd;

	memcpy(&bind, arg, sizeof(bind));
	if (bind.argsz < sizeof(bind) || bind.flags || bind.iommufd < 0)
		return -EINVAL;
	/* The kernel blocks the legacy group path first and undoes it on any
	 * later failure, so an open /dev/vfio/G wins over every check below. */
	if ((block_fd = sim_group_block(core->sim, dev->group)) < 0)
		return block_fd;
	if (file->ctx) {
		rc = -EINVAL; /* one device cannot be bound twice */
		goto unblock;
	}
	if (!(ctx = sim_fd_iommufd(bind.iommufd))) {
		rc = fcntl(bind.iommufd, F_GETFD) < 0 ? -EBADF : -EBADFD;
		goto unblock;
	}
	if (core->bound) {
		rc = -EINVAL; /* another fd of this device is bound */
		goto unblock;
	}
	if ((rc = sim_group_claim(ctx, dev->group)))
		goto unblock;
	if (!(devid = sim_iommufd_add_device(ctx, dev))) {
		sim_group_release(ctx, dev->group);
		rc = -ENOMEM;
		goto unblock;
	}
	ctx->refs++;
	file->ctx = ctx;
	file->devid = devid;
	file->block_fd = block_fd;
	core->bound = file;
	atomic_store(&file->bound, true);
	((struct vfio_device_bind_iommufd *)arg)->out_devid = devid;
	return 0;
unblock:
	sim_group_unblock(block_fd);
	return rc;
}

static int cdev_attach(struct sim_cdev_file *file, void *arg)
{
	struct vfio_device_attach_iommufd_pt attach;
	int rc;

	memcpy(&attach, arg, sizeof(attach));
	if (attach.argsz < sizeof(attach) || attach.flags)
		return -EINVAL;
	if ((rc = sim_iommufd_attach(file->ctx, file->dev, &attach.pt_id)))
		return rc;
	((struct vfio_device_attach_iommufd_pt *)arg)->pt_id = attach.pt_id;
	return 0;
}

static int cdev_detach(struct sim_cdev_file *file, void *arg)
{
	struct vfio_device_detach_iommufd_pt detach;

	memcpy(&detach, arg, sizeof(detach));
	if (detach.argsz < sizeof(detach) || detach.flags)
		return -EINVAL;
	sim_iommufd_detach(file->ctx, file->dev);
	return 0;
}

/* ---- info ---- */

static int get_info(const struct sim_device *dev, void *arg)
{
	struct vfio_device_info info;
	const size_t minsz = offsetof(struct vfio_device_info, cap_offset);

	memcpy(&info, arg, minsz);
	if (info.argsz < minsz)
		return -EINVAL;
	info.flags = dev->flags | (dev->ops && dev->ops->reset ? VFIO_DEVICE_FLAGS_RESET : 0);
	info.num_regions = dev->region_count;
	info.num_irqs = dev->irq_count;
	info.cap_offset = 0;
	memcpy(arg, &info, info.argsz < sizeof(info) ? info.argsz : sizeof(info));
	return 0;
}

static size_t sparse_cap_size(const struct sim_region *r)
{
	return sizeof(struct vfio_region_info_cap_sparse_mmap) +
	       r->area_count * sizeof(struct vfio_region_sparse_mmap_area);
}

static bool has_sparse_cap(const struct sim_region *r)
{
	return r->size && (r->flags & VFIO_REGION_INFO_FLAG_MMAP) && r->sparse;
}

static int get_region_info(const struct sim_device *dev, void *arg)
{
	struct vfio_region_info info;
	const size_t minsz = sizeof(info);

	memcpy(&info, arg, minsz);
	if (info.argsz < minsz || info.index >= dev->region_count)
		return -EINVAL;
	const struct sim_region *r = &dev->regions[info.index];

	info.flags = r->size ? r->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
					   VFIO_REGION_INFO_FLAG_MMAP) : 0;
	info.size = r->size;
	info.offset = (uint64_t)info.index << VMM_VFIO_REGION_SHIFT;
	info.cap_offset = 0;
	if (has_sparse_cap(r)) {
		size_t need = minsz + sparse_cap_size(r);

		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < need) {
			info.argsz = (uint32_t)need; /* ask again with room for the chain */
		} else {
			struct vfio_region_info_cap_sparse_mmap *cap =
				(void *)((uint8_t *)arg + minsz);

			cap->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
			cap->header.version = 1;
			cap->header.next = 0;
			cap->nr_areas = r->area_count;
			cap->reserved = 0;
			for (unsigned i = 0; i < r->area_count; i++) {
				cap->areas[i].offset = r->areas[i].offset;
				cap->areas[i].size = r->areas[i].size;
			}
			info.cap_offset = (uint32_t)minsz;
		}
	}
	memcpy(arg, &info, minsz);
	return 0;
}

static int get_irq_info(const struct sim_device *dev, void *arg)
{
	struct vfio_irq_info info;

	memcpy(&info, arg, sizeof(info));
	if (info.argsz < sizeof(info) || info.index >= dev->irq_count ||
	    !dev->irqs[info.index].flags)
		return -EINVAL;
	info.flags = dev->irqs[info.index].flags;
	info.count = dev->irqs[info.index].count;
	memcpy(arg, &info, sizeof(info));
	return 0;
}

/* ---- ioctl ---- */

int sim_cdev_ioctl(struct sim_cdev_file *file, unsigned long request, void *arg)
{
	struct sim *sim = sim_core_of(file->dev)->sim;
	struct sim_device *dev = file->dev;
	int rc;

	if (request == VFIO_DEVICE_BIND_IOMMUFD) {
		if (!arg)
			return -EFAULT;
		pthread_mutex_lock(&sim->lock);
		rc = cdev_bind(file, arg);
		pthread_mutex_unlock(&sim->lock);
		return rc;
	}
	if (!atomic_load(&file->bound))
		return -EINVAL;
	if (request == VFIO_DEVICE_RESET)
		return dev->ops && dev->ops->reset ? dev->ops->reset(dev) : -ENOTTY;
	if (!arg)
		return -EFAULT;
	pthread_mutex_lock(&sim->lock);
	switch (request) {
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		rc = cdev_attach(file, arg);
		break;
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		rc = cdev_detach(file, arg);
		break;
	case VFIO_DEVICE_GET_INFO:
		rc = get_info(dev, arg);
		break;
	case VFIO_DEVICE_GET_REGION_INFO:
		rc = get_region_info(dev, arg);
		break;
	case VFIO_DEVICE_GET_IRQ_INFO:
		rc = get_irq_info(dev, arg);
		break;
	case VFIO_DEVICE_SET_IRQS:
		rc = sim_irq_set(dev, arg);
		break;
	default:
		rc = -ENOTTY;
		break;
	}
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

/* ---- regions ---- */

int sim_region_alloc_memory(struct sim_device *dev, unsigned index, uint64_t size)
{
	struct sim_region *r;
	char name[96];

	if (index >= SIM_MAX_REGIONS || !size)
		return -EINVAL;
	r = &dev->regions[index];
	size = (size + SIM_PAGE_SIZE - 1) & ~(SIM_PAGE_SIZE - 1);
	snprintf(name, sizeof(name), "vfio-sim-region:%s:%u", dev->name, index);
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		int err = errno;

		sim_libc()->close(fd);
		return -err;
	}
	void *mem = sim_libc()->mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (mem == MAP_FAILED) {
		int err = errno;

		sim_libc()->close(fd);
		return -err;
	}
	r->memfd = fd;
	r->memory = mem;
	if (!r->size)
		r->size = size;
	if (dev->region_count <= index)
		dev->region_count = index + 1;
	return 0;
}

static const struct sim_region *region_at(const struct sim_cdev_file *file, uint64_t offset,
					  unsigned *index, uint64_t *off)
{
	const struct sim_device *dev = file->dev;

	*index = (unsigned)(offset >> VMM_VFIO_REGION_SHIFT);
	*off = offset & OFFSET_MASK;
	if (*index >= dev->region_count || !dev->regions[*index].size ||
	    *off >= dev->regions[*index].size)
		return NULL;
	return &dev->regions[*index];
}

ssize_t sim_cdev_rw(struct sim_cdev_file *file, void *buf, size_t len, uint64_t offset,
		    bool write)
{
	struct sim_device *dev = file->dev;
	unsigned index;
	uint64_t off;
	const struct sim_region *r;

	if (!atomic_load_explicit(&file->bound, memory_order_acquire))
		return -EINVAL;
	if (!(r = region_at(file, offset, &index, &off)) ||
	    !(r->flags & (write ? VFIO_REGION_INFO_FLAG_WRITE : VFIO_REGION_INFO_FLAG_READ)))
		return -EINVAL;
	if (len > r->size - off)
		len = (size_t)(r->size - off);
	if (write && dev->ops && dev->ops->write)
		return dev->ops->write(dev, index, off, buf, len);
	if (!write && dev->ops && dev->ops->read)
		return dev->ops->read(dev, index, off, buf, len);
	if (!r->memory)
		return -EINVAL;
	if (write)
		memcpy(r->memory + off, buf, len);
	else
		memcpy(buf, r->memory + off, len);
	return (ssize_t)len;
}

static bool inside_area(const struct sim_region *r, uint64_t off, uint64_t len)
{
	if (!r->sparse || !r->area_count) {
		uint64_t whole = (r->size + SIM_PAGE_SIZE - 1) & ~(SIM_PAGE_SIZE - 1);

		return off < whole && len <= whole - off;
	}
	for (unsigned i = 0; i < r->area_count; i++) {
		uint64_t start = r->areas[i].offset, size = r->areas[i].size;

		if (off >= start && off - start < size && len <= size - (off - start))
			return true;
	}
	return false;
}

void *sim_cdev_mmap(struct sim_cdev_file *file, void *addr, size_t len, int prot, int flags,
		    uint64_t offset, int *err)
{
	unsigned index;
	uint64_t off;
	const struct sim_region *r;

	*err = EINVAL;
	if (!atomic_load_explicit(&file->bound, memory_order_acquire) || !(flags & MAP_SHARED) ||
	    !len || (offset & (SIM_PAGE_SIZE - 1)))
		return MAP_FAILED;
	if (!(r = region_at(file, offset, &index, &off)) || !(r->flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    r->memfd < 0 || !inside_area(r, off, len))
		return MAP_FAILED;
	void *map = sim_libc()->mmap(addr, len, prot, flags, r->memfd, (off_t)off);

	*err = errno;
	return map;
}
