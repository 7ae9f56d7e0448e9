/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what the VFIO core reads from the host kernel:
 * GET_REGION_INFO answers with their capability chain (vfio_region_parse)
 * and the whole GET_INFO / GET_REGION_INFO / GET_IRQ_INFO sequence
 * (vfio_device_read_info) against a fake, hostile kernel. Byte 0 picks:
 *
 *   even: one GET_REGION_INFO answer
 *         bytes 1-2   how many bytes the kernel says are valid (argsz);
 *                     0: all of them
 *         bytes 3-18  a probe (offset u64, size u64) for vfio_region_mmappable
 *         bytes 19..  the answer: struct vfio_region_info, then capabilities.
 *                     Only the valid bytes are copied, into a buffer of
 *                     exactly that size: reading a capability past argsz is
 *                     an ASan report.
 *   odd:  a device: each query the core makes eats one answer from the rest:
 *         byte        0xff: the ioctl fails (-EIO); else an answer follows:
 *         bytes       length u16 (mod 1024), then that many bytes, copied
 *                     over the caller's struct up to the argsz it passed (as
 *                     copy_to_user would); argsz, index, everything hostile.
 *                     Input exhausted: the ioctl succeeds writing nothing.
 *
 * Invariants (abort() on violation): a region is present only with a size
 * and a file range [offset, offset + size) that an off_t can address; areas
 * exist only with FLAG_MMAP, never more than VFIO_MAX_SPARSE, each
 * non-empty and inside the region; without a capability chain the one area
 * is the whole region; a sparse area is one the answer holds (inside the
 * valid bytes); vfio_region_mmappable agrees with a reference; parsing is
 * deterministic. For devices: regions and IRQs past what GET_INFO announced
 * (or past the arrays) stay zero, every region passes the region checks, a
 * failed ioctl fails the whole read, and no query is ever made with an
 * argsz larger than the buffer behind it (the fake writes up to argsz).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vfio/vfio.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* [offset, offset + size) of a u64 pair at 8-byte aligned `at` in the answer? */
static bool answer_holds_area(const uint8_t *answer, size_t len, uint64_t offset, uint64_t size)
{
	/* Sparse areas follow a 16-byte capability header, after the 32-byte info. */
	for (size_t at = sizeof(struct vfio_region_info) + 16; at + 16 <= len; at += 8) {
		if (get_u64(answer + at) == offset && get_u64(answer + at + 8) == size)
			return true;
	}
	return false;
}

/* The mmappable rule restated independently: inside the region and one area. */
static bool reference_mmappable(const struct vfio_region *r, uint64_t offset, uint64_t size)
{
	if (!r->present || !(r->flags & VFIO_REGION_INFO_FLAG_MMAP) || !size ||
	    offset > r->size || size > r->size - offset)
		return false;
	for (unsigned i = 0; i < r->area_count; i++) {
		uint64_t start = r->areas[i].offset, end = start + r->areas[i].size;

		if (offset >= start && offset + size <= end)
			return true;
	}
	return false;
}

static void check_probe(const struct vfio_region *r, uint64_t offset, uint64_t size)
{
	struct vfio_device dev = { .fd = 1 };

	dev.regions[0] = *r;
	CHECK(vfio_region_mmappable(&dev, 0, offset, size) == reference_mmappable(r, offset, size));
}

/* answer: the valid bytes the region was parsed from (NULL: not known). */
static void check_region(const struct vfio_region *r, const uint8_t *answer, size_t len)
{
	if (!r->present) {
		CHECK(r->area_count == 0);
		return;
	}
	CHECK(r->size > 0);
	/* pread/pwrite/mmap reach region->offset + offset as an off_t. */
	CHECK(r->offset <= INT64_MAX && r->size <= (uint64_t)INT64_MAX - r->offset);
	CHECK(r->area_count <= VFIO_MAX_SPARSE);
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP))
		CHECK(r->area_count == 0);
	if ((r->flags & VFIO_REGION_INFO_FLAG_MMAP) && !(r->flags & VFIO_REGION_INFO_FLAG_CAPS))
		CHECK(r->area_count == 1 && r->areas[0].offset == 0 && r->areas[0].size == r->size);
	for (unsigned i = 0; i < r->area_count; i++) {
		uint64_t start = r->areas[i].offset, area = r->areas[i].size;
		bool whole = start == 0 && area == r->size;

		CHECK(area > 0 && start < r->size && area <= r->size - start);
		if (answer && !whole)
			CHECK(answer_holds_area(answer, len, start, area));
		/* Each area is mappable whole; one byte past the region never is. */
		check_probe(r, start, area);
	}
	check_probe(r, r->size, 1);
	check_probe(r, 0, r->size);
	check_probe(r, r->size - 1, 2);
}

static void one_region(const uint8_t *data, size_t size)
{
	if (size < 19)
		return;
	size_t cut = (size_t)(data[1] | data[2] << 8);
	uint64_t probe_offset = get_u64(data + 3), probe_size = get_u64(data + 11);
	const uint8_t *answer = data + 19;
	size_t len = size - 19;

	if (cut && cut < len)
		len = cut;
	uint8_t *buf = malloc(len ? len : 1);

	CHECK(buf);
	memcpy(buf, answer, len);
	struct vfio_region first, second;

	vfio_region_parse(&first, (const struct vfio_region_info *)buf, len);
	vfio_region_parse(&second, (const struct vfio_region_info *)buf, len);
	CHECK(memcmp(&first, &second, sizeof(first)) == 0);
	if (len < sizeof(struct vfio_region_info))
		CHECK(!first.present);
	check_region(&first, buf, len);
	check_probe(&first, probe_offset, probe_size);
	free(buf);
}

/* ---- a hostile kernel behind vfio_device_read_info ---- */

struct fake_kernel {
	const uint8_t *data;
	size_t size, pos;
	unsigned queries, failed;
};

static int fake_query(void *opaque, unsigned long request, void *arg)
{
	struct fake_kernel *k = opaque;
	uint32_t argsz;

	CHECK(request == VFIO_DEVICE_GET_INFO || request == VFIO_DEVICE_GET_REGION_INFO ||
	      request == VFIO_DEVICE_GET_IRQ_INFO);
	CHECK(++k->queries <= 1 + VFIO_MAX_REGIONS * 2 + VFIO_MAX_IRQ_INDEXES);
	memcpy(&argsz, arg, sizeof(argsz));
	/* What the caller promised: at least the fixed struct. */
	if (request == VFIO_DEVICE_GET_REGION_INFO)
		CHECK(argsz >= sizeof(struct vfio_region_info));
	else if (request == VFIO_DEVICE_GET_IRQ_INFO)
		CHECK(argsz >= sizeof(struct vfio_irq_info));
	else
		CHECK(argsz >= offsetof(struct vfio_device_info, cap_offset));
	if (k->pos >= k->size)
		return 0;
	if (k->data[k->pos] == 0xff) {
		k->pos++;
		k->failed++;
		return -EIO;
	}
	if (k->size - k->pos < 3) {
		k->pos = k->size;
		return 0;
	}
	size_t len = (size_t)(k->data[k->pos + 1] | k->data[k->pos + 2] << 8) % 1024;

	k->pos += 3;
	if (len > k->size - k->pos)
		len = k->size - k->pos;
	/* copy_to_user of the answer, bounded by the argsz the caller passed in. */
	memcpy(arg, k->data + k->pos, len < argsz ? len : argsz);
	k->pos += len;
	return 0;
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		if (b[i])
			return false;
	}
	return true;
}

static void one_device(const uint8_t *data, size_t size)
{
	struct fake_kernel k = { .data = data + 1, .size = size - 1 };
	struct vfio_device dev;

	memset(&dev, 0, sizeof(dev));
	strcpy(dev.name, "fuzz");
	strcpy(dev.cdev, "fd 1");
	dev.fd = 1;
	int rc = vfio_device_read_info(&dev, fake_query, &k);

	CHECK(rc == 0 || rc == -EIO);
	CHECK((rc != 0) == (k.failed != 0));
	if (rc)
		return;
	unsigned regions = dev.info.num_regions < VFIO_MAX_REGIONS ? dev.info.num_regions
								   : VFIO_MAX_REGIONS;
	unsigned irqs = dev.info.num_irqs < VFIO_MAX_IRQ_INDEXES ? dev.info.num_irqs
								 : VFIO_MAX_IRQ_INDEXES;

	for (unsigned i = 0; i < VFIO_MAX_REGIONS; i++) {
		if (i >= regions)
			CHECK(all_zero(&dev.regions[i], sizeof(dev.regions[i])));
		check_region(&dev.regions[i], NULL, 0);
	}
	for (unsigned i = irqs; i < VFIO_MAX_IRQ_INDEXES; i++)
		CHECK(all_zero(&dev.irqs[i], sizeof(dev.irqs[i])));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_level(LOG_ERROR);
	if (!size)
		return 0;
	if (data[0] & 1)
		one_device(data, size);
	else
		one_region(data, size);
	return 0;
}
