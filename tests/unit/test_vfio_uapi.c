/* SPDX-License-Identifier: MIT */
/*
 * The iommufd and VFIO cdev uAPI as this project compiles it (system
 * headers plus include/uapi/{iommufd,vfio}_compat.h), checked against the layouts in
 * reference/device-facts.md sections 1.2, 1.3, 2.1-2.5 (compiled against
 * the kernel's own headers there): every size, every offset, every ioctl
 * number and flag. Also the pure parts of the VFIO core that read what the
 * kernel returns: the region-info capability chain and the IOVA-range
 * coverage check.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vfio/iommufd.h"
#include "devices/vfio/vfio.h"
#include "suites.h"
#include "uapi/iommufd_compat.h"
#include "uapi/vfio_compat.h"

#define OFF(type, field, expected) ck_assert_uint_eq(offsetof(struct type, field), expected)
#define SIZE(type, expected) ck_assert_uint_eq(sizeof(struct type), expected)

#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#define SYSTEM_IOMMUFD 1 /* newer headers may have grown structs: tails not checked */
#endif
#endif

START_TEST(iommufd_structs)
{
	SIZE(iommu_destroy, 8);
	OFF(iommu_destroy, size, 0);
	OFF(iommu_destroy, id, 4);

	SIZE(iommu_ioas_alloc, 12);
	OFF(iommu_ioas_alloc, flags, 4);
	OFF(iommu_ioas_alloc, out_ioas_id, 8);

	SIZE(iommu_iova_range, 16);
	OFF(iommu_iova_range, start, 0);
	OFF(iommu_iova_range, last, 8);

	SIZE(iommu_ioas_iova_ranges, 32);
	OFF(iommu_ioas_iova_ranges, ioas_id, 4);
	OFF(iommu_ioas_iova_ranges, num_iovas, 8);
	OFF(iommu_ioas_iova_ranges, __reserved, 12);
	OFF(iommu_ioas_iova_ranges, allowed_iovas, 16);
	OFF(iommu_ioas_iova_ranges, out_iova_alignment, 24);

	SIZE(iommu_ioas_allow_iovas, 24);
	OFF(iommu_ioas_allow_iovas, ioas_id, 4);
	OFF(iommu_ioas_allow_iovas, num_iovas, 8);
	OFF(iommu_ioas_allow_iovas, __reserved, 12);
	OFF(iommu_ioas_allow_iovas, allowed_iovas, 16);

	SIZE(iommu_ioas_map, 40);
	OFF(iommu_ioas_map, flags, 4);
	OFF(iommu_ioas_map, ioas_id, 8);
	OFF(iommu_ioas_map, __reserved, 12);
	OFF(iommu_ioas_map, user_va, 16);
	OFF(iommu_ioas_map, length, 24);
	OFF(iommu_ioas_map, iova, 32);

	SIZE(iommu_ioas_copy, 40);
	OFF(iommu_ioas_copy, flags, 4);
	OFF(iommu_ioas_copy, dst_ioas_id, 8);
	OFF(iommu_ioas_copy, src_ioas_id, 12);
	OFF(iommu_ioas_copy, length, 16);
	OFF(iommu_ioas_copy, dst_iova, 24);
	OFF(iommu_ioas_copy, src_iova, 32);

	SIZE(iommu_ioas_unmap, 24);
	OFF(iommu_ioas_unmap, ioas_id, 4);
	OFF(iommu_ioas_unmap, iova, 8);
	OFF(iommu_ioas_unmap, length, 16);

	SIZE(iommu_option, 24);
	OFF(iommu_option, option_id, 4);
	OFF(iommu_option, op, 8);
	OFF(iommu_option, __reserved, 10);
	OFF(iommu_option, object_id, 12);
	OFF(iommu_option, val64, 16);

	/* 24 bytes in 6.6 (what we carry); later kernels append fields. */
#ifdef SYSTEM_IOMMUFD
	ck_assert_uint_ge(sizeof(struct iommu_hwpt_alloc), 24);
#else
	SIZE(iommu_hwpt_alloc, 24);
#endif
	OFF(iommu_hwpt_alloc, flags, 4);
	OFF(iommu_hwpt_alloc, dev_id, 8);
	OFF(iommu_hwpt_alloc, pt_id, 12);
	OFF(iommu_hwpt_alloc, out_hwpt_id, 16);
	OFF(iommu_hwpt_alloc, __reserved, 20);
}
END_TEST

START_TEST(iommufd_ioctls_and_flags)
{
	/* _IO(';', nr): no size or direction bits (1.1). */
	ck_assert_int_eq(IOMMUFD_TYPE, 0x3b);
	ck_assert_uint_eq(IOMMU_DESTROY, 0x3b80);
	ck_assert_uint_eq(IOMMU_IOAS_ALLOC, 0x3b81);
	ck_assert_uint_eq(IOMMU_IOAS_ALLOW_IOVAS, 0x3b82);
	ck_assert_uint_eq(IOMMU_IOAS_COPY, 0x3b83);
	ck_assert_uint_eq(IOMMU_IOAS_IOVA_RANGES, 0x3b84);
	ck_assert_uint_eq(IOMMU_IOAS_MAP, 0x3b85);
	ck_assert_uint_eq(IOMMU_IOAS_UNMAP, 0x3b86);
	ck_assert_uint_eq(IOMMU_OPTION, 0x3b87);
	ck_assert_uint_eq(IOMMU_HWPT_ALLOC, 0x3b89);

	ck_assert_int_eq(IOMMU_IOAS_MAP_FIXED_IOVA, 1);
	ck_assert_int_eq(IOMMU_IOAS_MAP_WRITEABLE, 2);
	ck_assert_int_eq(IOMMU_IOAS_MAP_READABLE, 4);
	ck_assert_int_eq(IOMMU_OPTION_RLIMIT_MODE, 0);
	ck_assert_int_eq(IOMMU_OPTION_HUGE_PAGES, 1);
	ck_assert_int_eq(IOMMU_OPTION_OP_SET, 0);
	ck_assert_int_eq(IOMMU_OPTION_OP_GET, 1);
}
END_TEST

START_TEST(vfio_cdev_structs)
{
	SIZE(vfio_device_bind_iommufd, 16);
	OFF(vfio_device_bind_iommufd, argsz, 0);
	OFF(vfio_device_bind_iommufd, flags, 4);
	OFF(vfio_device_bind_iommufd, iommufd, 8);
	OFF(vfio_device_bind_iommufd, out_devid, 12);

	SIZE(vfio_device_attach_iommufd_pt, 12);
	OFF(vfio_device_attach_iommufd_pt, flags, 4);
	OFF(vfio_device_attach_iommufd_pt, pt_id, 8);

	SIZE(vfio_device_detach_iommufd_pt, 8);
	OFF(vfio_device_detach_iommufd_pt, flags, 4);

	/* 24 with 6.12's trailing pad (device-facts 2.3); bookworm's 6.1 header
	 * ends at cap_offset (20). Either is a valid argsz: the kernel's minimum
	 * ends at num_irqs. */
	ck_assert(sizeof(struct vfio_device_info) == 20 || sizeof(struct vfio_device_info) == 24);
	OFF(vfio_device_info, flags, 4);
	OFF(vfio_device_info, num_regions, 8);
	OFF(vfio_device_info, num_irqs, 12);
	OFF(vfio_device_info, cap_offset, 16);

	SIZE(vfio_info_cap_header, 8);
	OFF(vfio_info_cap_header, id, 0);
	OFF(vfio_info_cap_header, version, 2);
	OFF(vfio_info_cap_header, next, 4);

	SIZE(vfio_region_info, 32);
	OFF(vfio_region_info, flags, 4);
	OFF(vfio_region_info, index, 8);
	OFF(vfio_region_info, cap_offset, 12);
	OFF(vfio_region_info, size, 16);
	OFF(vfio_region_info, offset, 24);

	/* SPARSE_MMAP: 16 + 16n bytes (2.4). */
	SIZE(vfio_region_info_cap_sparse_mmap, 16);
	OFF(vfio_region_info_cap_sparse_mmap, nr_areas, 8);
	OFF(vfio_region_info_cap_sparse_mmap, reserved, 12);
	OFF(vfio_region_info_cap_sparse_mmap, areas, 16);
	SIZE(vfio_region_sparse_mmap_area, 16);
	OFF(vfio_region_sparse_mmap_area, size, 8);

	SIZE(vfio_irq_info, 16);
	OFF(vfio_irq_info, flags, 4);
	OFF(vfio_irq_info, index, 8);
	OFF(vfio_irq_info, count, 12);

	SIZE(vfio_irq_set, 20);
	OFF(vfio_irq_set, flags, 4);
	OFF(vfio_irq_set, index, 8);
	OFF(vfio_irq_set, start, 12);
	OFF(vfio_irq_set, count, 16);
	OFF(vfio_irq_set, data, 20);
}
END_TEST

START_TEST(vfio_ioctls_and_flags)
{
	ck_assert_int_eq(VFIO_TYPE, 0x3b);
	ck_assert_int_eq(VFIO_BASE, 100);
	ck_assert_uint_eq(VFIO_DEVICE_GET_INFO, 0x3b6b);
	ck_assert_uint_eq(VFIO_DEVICE_GET_REGION_INFO, 0x3b6c);
	ck_assert_uint_eq(VFIO_DEVICE_GET_IRQ_INFO, 0x3b6d);
	ck_assert_uint_eq(VFIO_DEVICE_SET_IRQS, 0x3b6e);
	ck_assert_uint_eq(VFIO_DEVICE_RESET, 0x3b6f);
	ck_assert_uint_eq(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0x3b70);
	ck_assert_uint_eq(VFIO_DEVICE_PCI_HOT_RESET, 0x3b71);
	ck_assert_uint_eq(VFIO_DEVICE_IOEVENTFD, 0x3b74);
	ck_assert_uint_eq(VFIO_DEVICE_FEATURE, 0x3b75);
	ck_assert_uint_eq(VFIO_DEVICE_BIND_IOMMUFD, 0x3b76);
	ck_assert_uint_eq(VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3b77);
	ck_assert_uint_eq(VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3b78);

	ck_assert_int_eq(VFIO_DEVICE_FLAGS_RESET, 1 << 0);
	ck_assert_int_eq(VFIO_DEVICE_FLAGS_PCI, 1 << 1);
	ck_assert_int_eq(VFIO_DEVICE_FLAGS_PLATFORM, 1 << 2);
	ck_assert_int_eq(VFIO_DEVICE_FLAGS_AMBA, 1 << 3);
	ck_assert_int_eq(VFIO_DEVICE_FLAGS_CCW, 1 << 4);
	ck_assert_int_eq(VFIO_DEVICE_FLAGS_AP, 1 << 5);
	ck_assert_int_eq(VFIO_DEVICE_FLAGS_FSL_MC, 1 << 6);
	ck_assert_int_eq(VFIO_DEVICE_FLAGS_CAPS, 1 << 7);
	ck_assert_int_eq(VFIO_DEVICE_FLAGS_CDX, 1 << 8);

	ck_assert_int_eq(VFIO_REGION_INFO_FLAG_READ, 1);
	ck_assert_int_eq(VFIO_REGION_INFO_FLAG_WRITE, 2);
	ck_assert_int_eq(VFIO_REGION_INFO_FLAG_MMAP, 4);
	ck_assert_int_eq(VFIO_REGION_INFO_FLAG_CAPS, 8);
	ck_assert_int_eq(VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1);
	ck_assert_int_eq(VFIO_REGION_INFO_CAP_TYPE, 2);
	ck_assert_int_eq(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 3);

	ck_assert_int_eq(VFIO_IRQ_INFO_EVENTFD, 1);
	ck_assert_int_eq(VFIO_IRQ_INFO_MASKABLE, 2);
	ck_assert_int_eq(VFIO_IRQ_INFO_AUTOMASKED, 4);
	ck_assert_int_eq(VFIO_IRQ_INFO_NORESIZE, 8);
	ck_assert_int_eq(VFIO_IRQ_SET_DATA_NONE, 1 << 0);
	ck_assert_int_eq(VFIO_IRQ_SET_DATA_BOOL, 1 << 1);
	ck_assert_int_eq(VFIO_IRQ_SET_DATA_EVENTFD, 1 << 2);
	ck_assert_int_eq(VFIO_IRQ_SET_ACTION_MASK, 1 << 3);
	ck_assert_int_eq(VFIO_IRQ_SET_ACTION_UNMASK, 1 << 4);
	ck_assert_int_eq(VFIO_IRQ_SET_ACTION_TRIGGER, 1 << 5);

	ck_assert_int_eq(VFIO_PCI_BAR0_REGION_INDEX, 0);
	ck_assert_int_eq(VFIO_PCI_BAR5_REGION_INDEX, 5);
	ck_assert_int_eq(VFIO_PCI_ROM_REGION_INDEX, 6);
	ck_assert_int_eq(VFIO_PCI_CONFIG_REGION_INDEX, 7);
	ck_assert_int_eq(VFIO_PCI_VGA_REGION_INDEX, 8);
	ck_assert_int_eq(VFIO_PCI_NUM_REGIONS, 9);
	ck_assert_int_eq(VFIO_PCI_INTX_IRQ_INDEX, 0);
	ck_assert_int_eq(VFIO_PCI_MSI_IRQ_INDEX, 1);
	ck_assert_int_eq(VFIO_PCI_MSIX_IRQ_INDEX, 2);
	ck_assert_int_eq(VFIO_PCI_ERR_IRQ_INDEX, 3);
	ck_assert_int_eq(VFIO_PCI_REQ_IRQ_INDEX, 4);
	ck_assert_int_eq(VFIO_PCI_NUM_IRQS, 5);

	ck_assert_int_eq(KVM_DEV_VFIO_FILE, 1);
	ck_assert_int_eq(KVM_DEV_VFIO_FILE_ADD, 1);
	ck_assert_int_eq(KVM_DEV_VFIO_FILE_DEL, 2);
}
END_TEST

/* ---- region info as the kernel answers it ---- */

struct region_answer {
	struct vfio_region_info info;
	uint8_t caps[512];
};

static void put_sparse(struct region_answer *a, uint32_t at, uint32_t next, uint32_t nr,
		       const uint64_t (*areas)[2])
{
	uint8_t *base = (uint8_t *)a;
	struct vfio_region_info_cap_sparse_mmap *cap = (void *)(base + at);

	cap->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	cap->header.version = 1;
	cap->header.next = next;
	cap->nr_areas = nr;
	for (uint32_t i = 0; areas && i < nr; i++) {
		cap->areas[i].offset = areas[i][0];
		cap->areas[i].size = areas[i][1];
	}
}

static void answer_init(struct region_answer *a, uint32_t flags, uint64_t size)
{
	memset(a, 0, sizeof(*a));
	a->info.argsz = sizeof(*a);
	a->info.flags = flags;
	a->info.size = size;
	a->info.offset = 7ull << VMM_VFIO_REGION_SHIFT;
}

START_TEST(region_parse_plain_and_sparse)
{
	struct region_answer a;
	struct vfio_region r;
	const uint64_t areas[3][2] = { { 0, 0x1000 }, { 0x3000, 0x1000 }, { 0x8000, 0x9000 } };

	/* No MMAP: nothing maps, whatever a capability says. */
	answer_init(&a, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, 0x4000);
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert(r.present);
	ck_assert_uint_eq(r.offset, 7ull << 40);
	ck_assert_uint_eq(r.area_count, 0);

	/* MMAP without capability: the whole region. */
	answer_init(&a, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP, 0x4000);
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert_uint_eq(r.area_count, 1);
	ck_assert_uint_eq(r.areas[0].size, 0x4000);

	/* Sparse: only the areas, and one outside the region is dropped. */
	answer_init(&a, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP |
		    VFIO_REGION_INFO_FLAG_CAPS, 0x10000);
	a.info.cap_offset = sizeof(a.info);
	put_sparse(&a, sizeof(a.info), 0, 3, areas);
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert_uint_eq(r.area_count, 2);
	ck_assert_uint_eq(r.areas[1].offset, 0x3000);

	/* Size 0: absent. */
	answer_init(&a, VFIO_REGION_INFO_FLAG_READ, 0);
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert(!r.present);
}
END_TEST

START_TEST(region_parse_hostile_chains)
{
	struct region_answer a;
	struct vfio_region r;
	const uint64_t area[1][2] = { { 0, 0x1000 } };
	uint32_t flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP |
			 VFIO_REGION_INFO_FLAG_CAPS;

	/* A chain pointing at itself: one visit, no loop. */
	answer_init(&a, flags, 0x2000);
	a.info.cap_offset = sizeof(a.info);
	put_sparse(&a, sizeof(a.info), sizeof(a.info), 1, area);
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert_uint_eq(r.area_count, 1);

	/* Capability offset past the buffer: ignored, whole region mappable. */
	answer_init(&a, flags, 0x2000);
	a.info.cap_offset = 100000;
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert_uint_eq(r.area_count, 1);
	ck_assert_uint_eq(r.areas[0].size, 0x2000);

	/* Capability inside the fixed header: ignored. */
	answer_init(&a, flags, 0x2000);
	a.info.cap_offset = 8;
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert_uint_eq(r.areas[0].size, 0x2000);

	/* nr_areas far beyond the buffer: only what fits is read. */
	answer_init(&a, flags, 0x2000);
	a.info.cap_offset = sizeof(a.info);
	put_sparse(&a, sizeof(a.info), 0, 0xffffffffu, NULL);
	vfio_region_parse(&r, &a.info, sizeof(a.info) + 16 + 32);
	ck_assert_uint_le(r.area_count, 2);

	/* A buffer shorter than the header: nothing. */
	vfio_region_parse(&r, &a.info, 16);
	ck_assert(!r.present);
}
END_TEST

/* ---- the info queries against a scripted kernel ---- */

struct scripted_kernel {
	unsigned calls, fail_at;
	uint32_t regions, irqs;
};

static int scripted_query(void *opaque, unsigned long request, void *arg)
{
	struct scripted_kernel *k = opaque;
	const uint64_t area[1][2] = { { 0x1000, 0x1000 } };

	if (++k->calls == k->fail_at)
		return -ENODEV;
	if (request == VFIO_DEVICE_GET_INFO) {
		struct vfio_device_info *info = arg;

		info->flags = VFIO_DEVICE_FLAGS_PCI;
		info->num_regions = k->regions;
		info->num_irqs = k->irqs;
	} else if (request == VFIO_DEVICE_GET_REGION_INFO) {
		struct region_answer *a = arg;
		uint32_t index = a->info.index, argsz = a->info.argsz;

		/* Region 1's capability needs more room than offered first (2.3). */
		if (index == 1 && argsz < sizeof(a->info) + 1024) {
			a->info.argsz = sizeof(a->info) + 1024;
			a->info.flags = VFIO_REGION_INFO_FLAG_CAPS;
			return 0;
		}
		ck_assert_uint_ge(argsz, sizeof(a->info) + 32);
		a->info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP |
				(index == 1 ? VFIO_REGION_INFO_FLAG_CAPS : 0);
		a->info.size = 0x4000;
		a->info.offset = (uint64_t)index << VMM_VFIO_REGION_SHIFT;
		if (index == 1) {
			a->info.cap_offset = sizeof(a->info);
			put_sparse(a, sizeof(a->info), 0, 1, area);
		}
	} else {
		struct vfio_irq_info *irq = arg;

		ck_assert_uint_eq(request, VFIO_DEVICE_GET_IRQ_INFO);
		irq->flags = VFIO_IRQ_INFO_EVENTFD;
		irq->count = irq->index + 1;
	}
	return 0;
}

START_TEST(read_info_through_a_query)
{
	struct scripted_kernel k = { .regions = 20, .irqs = 3 };
	struct vfio_device dev = { .name = "t", .fd = -1 };

	ck_assert_int_eq(vfio_device_read_info(&dev, scripted_query, &k), 0);
	/* GET_INFO, 16 regions (one asked twice), 3 IRQs: the rest is never asked for. */
	ck_assert_uint_eq(k.calls, 1 + VFIO_MAX_REGIONS + 1 + 3);
	ck_assert(dev.regions[0].present);
	ck_assert_uint_eq(dev.regions[0].area_count, 1);
	ck_assert_uint_eq(dev.regions[1].area_count, 1);
	ck_assert_uint_eq(dev.regions[1].areas[0].offset, 0x1000);
	ck_assert_uint_eq(dev.regions[15].offset, 15ull << 40);
	ck_assert_uint_eq(dev.irqs[2].count, 3);
	ck_assert_uint_eq(dev.irqs[3].count, 0);
	/* A failing query fails the whole read with its errno. */
	k = (struct scripted_kernel){ .regions = 2, .irqs = 2, .fail_at = 4 };
	memset(&dev, 0, sizeof(dev));
	ck_assert_int_eq(vfio_device_read_info(&dev, scripted_query, &k), -ENODEV);
}
END_TEST

/*
 * Accesses go to file offset region.offset + n as an off_t: a range that
 * wraps (or passes INT64_MAX) would alias another region or go negative.
 */
START_TEST(region_parse_file_range_must_fit)
{
	struct region_answer a;
	struct vfio_region r;
	struct vfio_device dev = { .fd = 1 };

	answer_init(&a, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP, 0x2000);
	a.info.offset = 0xfffffffffffff000ull;
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert(!r.present);
	ck_assert_uint_eq(r.area_count, 0);
	dev.regions[0] = r;
	ck_assert(!vfio_region_mmappable(&dev, 0, 0, 0x1000));
	/* Past INT64_MAX without wrapping: no off_t reaches it either. */
	a.info.offset = 1ull << 62;
	a.info.size = 1ull << 62;
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert(!r.present);
	a.info.offset = 1ull << 63;
	a.info.size = 0x1000;
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert(!r.present);
	/* The largest range that fits is fine. */
	a.info.offset = (1ull << 62) - 0x1000;
	a.info.size = 1ull << 62;
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert(r.present);
	ck_assert_uint_eq(r.area_count, 1);
}
END_TEST

/* The kernel 8-aligns capabilities (they hold u64s); one that is not is cut, not read. */
START_TEST(region_parse_misaligned_capability)
{
	struct region_answer a;
	struct vfio_region r;
	const uint64_t area[1][2] = { { 0, 0x1000 } };
	uint32_t flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP |
			 VFIO_REGION_INFO_FLAG_CAPS;

	/* Built aside and copied in: a misaligned struct pointer is UB here too. */
	struct region_answer aligned;

	answer_init(&aligned, flags, 0x2000);
	put_sparse(&aligned, sizeof(aligned.info), 0, 1, area);
	answer_init(&a, flags, 0x2000);
	a.info.cap_offset = sizeof(a.info) + 4;
	memcpy(a.caps + 4, aligned.caps, 32);
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert_uint_eq(r.area_count, 1);
	ck_assert_uint_eq(r.areas[0].size, 0x2000); /* no capability: the whole region */
	/* The same capability 8-aligned is followed. */
	answer_init(&a, flags, 0x2000);
	a.info.cap_offset = sizeof(a.info) + 8;
	put_sparse(&a, sizeof(a.info) + 8, 0, 1, area);
	vfio_region_parse(&r, &a.info, sizeof(a));
	ck_assert_uint_eq(r.area_count, 1);
	ck_assert_uint_eq(r.areas[0].size, 0x1000);
}
END_TEST

/* A kernel that wants a bigger buffer every time it is asked, with a full one. */
static int greedy_query(void *opaque, unsigned long request, void *arg)
{
	unsigned *calls = opaque;

	++*calls;
	if (request == VFIO_DEVICE_GET_INFO) {
		((struct vfio_device_info *)arg)->num_regions = 1;
		return 0;
	}
	ck_assert_uint_eq(request, VFIO_DEVICE_GET_REGION_INFO);
	struct vfio_region_info *info = arg;
	uint32_t argsz = info->argsz;
	struct vfio_region_info_cap_sparse_mmap *cap = (void *)((uint8_t *)arg + sizeof(*info));
	uint32_t fit = (argsz - sizeof(*info) - sizeof(*cap)) / sizeof(cap->areas[0]);

	info->argsz = argsz + 4096;
	info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP |
		      VFIO_REGION_INFO_FLAG_CAPS;
	info->cap_offset = sizeof(*info);
	info->size = 0x100000;
	cap->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	/* More areas than any buffer we were given holds, all empty (skipped), so
	 * the parser walks every one of them: to the end of what it thinks it has. */
	cap->nr_areas = fit + 100;
	memset(cap->areas, 0, fit * sizeof(cap->areas[0]));
	return 0;
}

/*
 * The second answer still asks for more: only the buffer we have is parsed.
 * (Before, len took the new argsz and the parser read up to 64 KiB past the
 * allocation; check-unit-sanitized and fuzz_vfio_region report that.)
 */
START_TEST(read_info_argsz_keeps_growing)
{
	struct vfio_device dev = { .name = "t", .fd = -1 };
	unsigned calls = 0;

	ck_assert_int_eq(vfio_device_read_info(&dev, greedy_query, &calls), 0);
	ck_assert_uint_eq(calls, 3); /* GET_INFO, then the region twice */
	ck_assert(dev.regions[0].present);
	ck_assert_uint_eq(dev.regions[0].area_count, 0); /* nothing mappable in what we have */
}
END_TEST

START_TEST(iova_coverage)
{
	const struct iommu_iova_range x86[2] = {
		{ 0, 0xfedfffffull }, { 0xfef00000ull, (1ull << 48) - 1 },
	};
	const struct iommu_iova_range split[2] = { { 0x200000, 0x3fffffff }, { 0, 0x1fffff } };
	const struct iommu_iova_range all[1] = { { 0, UINT64_MAX } };
	uint64_t hole = 0, end = 0;

	ck_assert(vfio_iova_covered(x86, 2, 0, 3ull << 30, &hole, &end));
	ck_assert(!vfio_iova_covered(x86, 2, 0, 0xfee10000ull, &hole, &end));
	ck_assert_uint_eq(hole, 0xfee00000ull);
	ck_assert_uint_eq(end, 0xfee10000ull);
	/* Abutting ranges in any order cover together. */
	ck_assert(vfio_iova_covered(split, 2, 0, 0x40000000, &hole, &end));
	ck_assert(!vfio_iova_covered(split, 2, 0, 0x40001000, &hole, &end));
	ck_assert_uint_eq(hole, 0x40000000);
	ck_assert(vfio_iova_covered(all, 1, 0, 1ull << 40, &hole, &end));
	/* No ranges (nothing usable): the hole is everything. */
	ck_assert(!vfio_iova_covered(NULL, 0, 0, 4096, &hole, &end));
	ck_assert_uint_eq(hole, 0);
	ck_assert_uint_eq(end, 4096);
}
END_TEST

START_TEST(errno_explanations)
{
	ck_assert_ptr_nonnull(strstr(vfio_explain("VFIO_DEVICE_BIND_IOMMUFD", EPERM), "IOMMU group"));
	ck_assert_ptr_nonnull(strstr(vfio_explain("VFIO_DEVICE_BIND_IOMMUFD", EBUSY), "group"));
	ck_assert_ptr_nonnull(strstr(vfio_explain("IOMMU_IOAS_MAP", ENOMEM), "RLIMIT_MEMLOCK"));
	ck_assert_ptr_nonnull(strstr(vfio_explain("VFIO_DEVICE_BIND_IOMMUFD", ENOTTY), "6.6"));
}
END_TEST

Suite *vfio_uapi_suite(void)
{
	Suite *suite = suite_create("vfio_uapi");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, iommufd_structs);
	tcase_add_test(tc, iommufd_ioctls_and_flags);
	tcase_add_test(tc, vfio_cdev_structs);
	tcase_add_test(tc, vfio_ioctls_and_flags);
	tcase_add_test(tc, region_parse_plain_and_sparse);
	tcase_add_test(tc, region_parse_hostile_chains);
	tcase_add_test(tc, read_info_through_a_query);
	tcase_add_test(tc, read_info_argsz_keeps_growing);
	tcase_add_test(tc, region_parse_file_range_must_fit);
	tcase_add_test(tc, region_parse_misaligned_capability);
	tcase_add_test(tc, iova_coverage);
	tcase_add_test(tc, errno_explanations);
	suite_add_tcase(suite, tc);
	return suite;
}
