/* SPDX-License-Identifier: MIT */
/*
 * VFIO passthrough core: one passed-through device on the VFIO device cdev
 * (/dev/vfio/devices/vfioN) bound to the VM's iommufd (/dev/iommu). No
 * legacy container or group API. docs/passthrough.md; uAPI facts:
 * include/uapi/{iommufd,vfio}_compat.h.
 *
 *   iommufd.c  one iommufd per VM (created by the first device, freed with
 *              the last): IOAS_ALLOC, IOVA_RANGES, guest RAM mapped at
 *              IOVA = GPA once, unmapped on teardown
 *   cdev.c     sysfs -> vfio-dev/vfioN -> /dev/vfio/devices/vfioN, BIND,
 *              ATTACH, GET_INFO / GET_REGION_INFO (capability chain, sparse
 *              mmap) / GET_IRQ_INFO, region access, SET_IRQS, RESET, close
 *   pci.c      the "vfio-pci" model (config-space virtualization, BAR
 *              relocation, MSI-X and INTx); dfl.c: DFL cards over it
 *   platform.c the "vfio-platform" model; fslmc.c: the "vfio-fsl-mc" model
 *
 * Personalities call only this interface. Errors are logged here, naming
 * the device (its config name and sysfs path), the failing call, errno and
 * what it means on that call; functions return -errno.
 */
#ifndef DEVICES_VFIO_VFIO_H
#define DEVICES_VFIO_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uapi/vfio_compat.h"

struct vm;

#define VFIO_MAX_REGIONS     16
#define VFIO_MAX_IRQ_INDEXES 8
#define VFIO_MAX_SPARSE      8

/* Where the device comes from: a sysfs device directory, or an fd a parent
 * process opened for us (then sysfs may be empty). */
struct vfio_source {
	const char *sysfs;          /* "/sys/bus/pci/devices/0000:03:00.0" or NULL */
	int fd;                     /* pre-opened cdev fd, or -1 */
	/* Bind but never attach to the IOAS: the device stays DMA-blocked by
	 * the IOMMU (a partly assigned function must not reach guest RAM). */
	bool no_dma;
};

struct vfio_region {
	bool present;               /* GET_REGION_INFO succeeded and size > 0 */
	uint32_t flags;             /* VFIO_REGION_INFO_FLAG_* */
	uint64_t size;
	uint64_t offset;            /* file offset on the device fd (never index << 40 assumed) */
	/* mmappable areas relative to the region: the SPARSE_MMAP capability,
	 * or the whole region when MMAP is set without it */
	unsigned area_count;
	struct { uint64_t offset, size; } areas[VFIO_MAX_SPARSE];
};

struct vfio_irq {
	uint32_t flags;             /* VFIO_IRQ_INFO_* */
	uint32_t count;
};

struct vfio_device {
	char name[64];              /* [devices.NAME] */
	char sysfs[256];            /* as configured; "" for a pre-opened fd */
	char cdev[64];              /* "/dev/vfio/devices/vfio3" */
	int iommu_group;            /* from the iommu_group link; -1 unknown */
	int fd;
	uint32_t devid;             /* BIND out_devid */
	uint32_t hwpt;              /* ATTACH out pt_id */
	struct vfio_device_info info;
	struct vfio_region regions[VFIO_MAX_REGIONS];
	struct vfio_irq irqs[VFIO_MAX_IRQ_INDEXES];
	struct vm *vm;
	bool bound, attached;
	bool holds_iommufd;         /* counted as a user of vm->vfio_iommufd */
	bool kvm_added;             /* KVM_DEV_VFIO_FILE_ADD attempted */
};

/*
 * Open, bind to the VM's iommufd (creating it and mapping guest RAM on
 * first use), attach to its IOAS, read device, region and IRQ info, and
 * reset the device if it can be. Returns 0 or -errno (logged).
 */
int vfio_device_open(struct vfio_device *dev, struct vm *vm, const char *name,
		     const struct vfio_source *source);
/* Detach, close, and drop the VM's iommufd with the last device. Idempotent. */
void vfio_device_close(struct vfio_device *dev);

/* VFIO_DEVICE_RESET; -ENOTTY when the device cannot reset (not an error to log). */
int vfio_device_reset(struct vfio_device *dev);

/* pread/pwrite inside region `index`, whole access or -errno (-EINVAL: outside it). */
int vfio_region_read(struct vfio_device *dev, unsigned index, uint64_t offset, void *buf, size_t len);
int vfio_region_write(struct vfio_device *dev, unsigned index, uint64_t offset, const void *buf,
		      size_t len);
/*
 * mmap [offset, offset + size) of region `index` (MAP_SHARED, read/write as
 * the region allows); must lie inside one mmappable area. Returns the
 * mapping or NULL (errno set, logged).
 */
void *vfio_region_mmap(struct vfio_device *dev, unsigned index, uint64_t offset, uint64_t size);

/* SET_IRQS ACTION_TRIGGER|DATA_EVENTFD for vectors start..start+count-1 (fd -1: none). */
int vfio_irq_set_eventfds(struct vfio_device *dev, unsigned index, unsigned start, unsigned count,
			  const int *fds);
/* SET_IRQS ACTION_UNMASK|DATA_EVENTFD: signalling fd unmasks (INTx resample). */
int vfio_irq_set_unmask_eventfd(struct vfio_device *dev, unsigned index, int fd);
/* SET_IRQS ACTION_UNMASK|DATA_NONE on vector 0 of index. */
int vfio_irq_unmask(struct vfio_device *dev, unsigned index);
/* Disable an index: DATA_NONE|ACTION_TRIGGER, count 0. */
int vfio_irq_disable(struct vfio_device *dev, unsigned index);

/* SET_IRQS ACTION_MASK|DATA_NONE on vector 0 of index. */
int vfio_irq_mask(struct vfio_device *dev, unsigned index);

/* Whether [offset, offset + size) of region `index` lies inside one mmappable area. */
bool vfio_region_mmappable(const struct vfio_device *dev, unsigned index, uint64_t offset,
			   uint64_t size);

/*
 * Parse a GET_REGION_INFO answer (info, `len` valid bytes) into region:
 * flags, size, offset and the mmappable areas (SPARSE_MMAP capability, or
 * the whole region). Hostile chains (offsets outside the buffer, loops,
 * capabilities not 8-aligned as the kernel lays them out, areas outside
 * the region) are cut, never followed. A region whose file range
 * [offset, offset + size) wraps or ends past INT64_MAX is not present: no
 * off_t reaches it. Pure: unit-tested.
 */
void vfio_region_parse(struct vfio_region *region, const struct vfio_region_info *info,
		       size_t len);

/*
 * How the info ioctls reach the kernel: 0 or -errno, *arg filled in as
 * ioctl(2) fills it. The fuzzer stands in a hostile kernel here.
 */
typedef int (*vfio_query_fn)(void *opaque, unsigned long request, void *arg);
/*
 * GET_INFO, then GET_REGION_INFO (growing the buffer once when the
 * capabilities do not fit) and GET_IRQ_INFO of every index that fits the
 * arrays, into dev->info, dev->regions and dev->irqs. query NULL: ioctl(2)
 * on dev->fd. Returns 0 or -errno (logged).
 */
int vfio_device_read_info(struct vfio_device *dev, vfio_query_fn query, void *opaque);

/* Human text for errno on a given VFIO/iommufd call ("another owner of the IOMMU group"...). */
const char *vfio_explain(const char *call, int err);

#endif
