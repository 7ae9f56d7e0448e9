/* SPDX-License-Identifier: MIT */
/*
 * The VM's iommufd (internal to devices/vfio/): one /dev/iommu context and
 * one IOAS per VM, shared by every passed-through device, so all of them
 * see guest RAM at IOVA = GPA and devices of one IOMMU group share one DMA
 * owner (device-facts 1.4: a second context would be EPERM at BIND).
 *
 * Life: vfio_iommufd_get() opens it with the first device and counts users;
 * vfio_iommufd_map_ram() maps guest RAM once, after the first ATTACH (only
 * then does IOVA_RANGES include the attached IOMMU's reserved regions);
 * vfio_iommufd_put() with the last user unmaps, destroys the IOAS and
 * closes. Devices are opened and closed on the main thread (realize,
 * unrealize), so there is no lock.
 */
#ifndef DEVICES_VFIO_IOMMUFD_H
#define DEVICES_VFIO_IOMMUFD_H

#include <stdbool.h>
#include <stdint.h>

#include "uapi/iommufd_compat.h"

struct vm;

struct vfio_iommufd {
	int fd;                  /* /dev/iommu */
	uint32_t ioas;
	unsigned users;          /* devices holding it */
	bool ram_mapped;
	uint64_t ram_size;       /* bytes mapped at IOVA 0 */
	int kvm_device;          /* KVM_DEV_TYPE_VFIO, -1 none; -2 creation failed */
	bool kvm_warned;
};

/* Open (first user) or share the VM's iommufd; 0 or -errno (logged). */
int vfio_iommufd_get(struct vm *vm, const char *who, struct vfio_iommufd **out);
/*
 * Map guest RAM [0, size) at IOVA 0 into the IOAS unless done already,
 * refusing with a clear error when RAM falls outside IOVA_RANGES.
 */
int vfio_iommufd_map_ram(struct vm *vm, const char *who);
/* Drop one user; the last unmaps everything and closes. */
void vfio_iommufd_put(struct vm *vm);

/*
 * Tell KVM about the device (KVM_DEV_VFIO_FILE_ADD, device-facts 2.2).
 * Optional: only non-coherent DMA needs it; a failure warns once per VM.
 */
void vfio_iommufd_kvm_add(struct vm *vm, int device_fd, const char *who);
void vfio_iommufd_kvm_del(struct vm *vm, int device_fd);

/*
 * Whether [start, start + length) lies inside one of the ranges
 * (inclusive `last`, as IOMMU_IOAS_IOVA_RANGES reports them). On failure
 * hole_start and hole_end name the first byte not covered and the end of
 * that gap (for the error message). Pure: unit-tested.
 */
bool vfio_iova_covered(const struct iommu_iova_range *ranges, unsigned count, uint64_t start,
		       uint64_t length, uint64_t *hole_start, uint64_t *hole_end);

#endif
