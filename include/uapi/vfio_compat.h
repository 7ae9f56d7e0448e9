/* SPDX-License-Identifier: MIT */
/*
 * The VFIO device cdev additions to <linux/vfio.h> (6.6: BIND_IOMMUFD,
 * ATTACH/DETACH_IOMMUFD_PT) and KVM's VFIO "file" attribute names, which
 * Debian bookworm's 6.1 headers lack. Newer system headers win: each block
 * is skipped when its ioctl is already defined.
 */
#ifndef VMM_UAPI_VFIO_COMPAT_H
#define VMM_UAPI_VFIO_COMPAT_H

#include <linux/kvm.h>
#include <linux/types.h>
#include <linux/vfio.h>

#include "uapi/iommufd_compat.h"

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;     /* 0 */
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;     /* 0 */
	__u32 pt_id;     /* in: IOAS or HWPT id; out: the HWPT attached */
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

#ifndef VFIO_DEVICE_FLAGS_CDX
#define VFIO_DEVICE_FLAGS_CDX (1 << 8)
#endif

/* 6.6 renamed KVM_DEV_VFIO_GROUP* to *_FILE*, same values, now taking cdev fds. */
#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE     1
#define KVM_DEV_VFIO_FILE_ADD 1
#define KVM_DEV_VFIO_FILE_DEL 2
#endif

/* vfio-pci, vfio-platform and vfio-fsl-mc encode region offsets this way;
 * it is not ABI (always use vfio_region_info.offset), only the simulator
 * and tests rely on it. */
#define VMM_VFIO_REGION_SHIFT 40

#endif
