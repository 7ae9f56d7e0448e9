/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the DFL walker (devices/dfl/walker.c).
 *
 * Input: byte 0 flags, byte 1 MSI-X vectors, byte 2 table capacity, then
 *   flags bit 0 = 0: the rest is the window, byte for byte;
 *   flags bit 0 = 1: a sparse window of 4 KiB << (2 * bits 2:1) bytes
 *                    (4 KiB..256 KiB), zero but for records of a 3-byte
 *                    word index (little-endian, modulo the window) and an
 *                    8-byte value: lists as the card lays them out stay
 *                    small (tests/fuzz/corpus/dfl holds the card's own).
 *   flags bit 3: walk one list from the offset in bytes 3-5 instead of
 *                dfl-pci discovery.
 * Invariants: the accessor is only called inside the window (else abort);
 * a successful walk has count <= capacity and window-relative ranges
 * inside the window that do not overlap; a failed walk says why. The first
 * 36 bytes also go through the GUID parser and back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/dfl/walker.h"

#define MAX_WINDOW (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_window {
	uint8_t *bytes;
	uint64_t size;
};

static uint64_t fuzz_read64(void *opaque, uint64_t offset)
{
	const struct fuzz_window *w = opaque;
	uint64_t value;

	if (offset % 8 || offset > w->size || w->size - offset < 8)
		abort(); /* the walker's bounds check failed */
	memcpy(&value, w->bytes + offset, 8);
	return value;
}

static void check_result(const struct dfl_walk *walk, int rc, uint64_t window)
{
	if (rc) {
		if (!walk->error[0] || walk->rc != rc)
			abort();
		return;
	}
	if (walk->count > walk->capacity)
		abort();
	for (unsigned i = 0; i < walk->count; i++) {
		const struct dfl_feature *a = &walk->features[i];

		if (a->csr_absolute)
			continue;
		if (a->csr_start > window || a->csr_size > window - a->csr_start)
			abort();
		for (unsigned j = i + 1; j < walk->count; j++) {
			const struct dfl_feature *b = &walk->features[j];

			if (!b->csr_absolute && a->csr_size && b->csr_size &&
			    a->csr_start < b->csr_start + b->csr_size &&
			    b->csr_start < a->csr_start + a->csr_size)
				abort();
		}
	}
}

static void guid_roundtrip(const uint8_t *data, size_t size)
{
	char text[DFL_GUID_STRLEN], again[DFL_GUID_STRLEN];
	uint64_t lo, hi;

	if (size < DFL_GUID_STRLEN - 1)
		return;
	memcpy(text, data, DFL_GUID_STRLEN - 1);
	text[DFL_GUID_STRLEN - 1] = '\0';
	if (dfl_guid_parse(text, &lo, &hi))
		return;
	dfl_guid_format(lo, hi, again);
	uint64_t lo2, hi2;

	if (dfl_guid_parse(again, &lo2, &hi2) || lo2 != lo || hi2 != hi)
		abort();
}

static size_t build_window(const uint8_t *data, size_t size, uint8_t flags, uint8_t *window)
{
	if (!(flags & 1)) {
		size_t n = size < MAX_WINDOW ? size : MAX_WINDOW;

		memcpy(window, data, n);
		return n;
	}
	size_t bytes = (size_t)4096 << (2 * ((flags >> 1) & 3));

	if (bytes > MAX_WINDOW)
		bytes = MAX_WINDOW;
	memset(window, 0, bytes);
	for (size_t at = 0; at + 11 <= size; at += 11) {
		size_t word = (data[at] | (size_t)data[at + 1] << 8 | (size_t)data[at + 2] << 16) %
			      (bytes / 8);

		memcpy(window + word * 8, data + at + 3, 8);
	}
	return bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t window[MAX_WINDOW];
	static struct dfl_feature features[256];
	struct dfl_walk walk;
	int rc;

	if (size < 6)
		return 0;
	uint8_t flags = data[0];
	unsigned vectors = data[1], capacity = data[2] ? data[2] : 256;
	uint64_t start = (data[3] | (uint64_t)data[4] << 8 | (uint64_t)data[5] << 16) & ~7ull;

	guid_roundtrip(data + 6, size - 6);
	struct fuzz_window fw = { .bytes = window,
				  .size = build_window(data + 6, size - 6, flags, window) };
	struct dfl_window w = { .size = fw.size, .read64 = fuzz_read64, .opaque = &fw };

	dfl_walk_init(&walk, features, capacity, vectors);
	if (flags & 8)
		rc = dfl_walk_list(&w, start, &walk);
	else
		rc = dfl_walk_discover(&w, &walk);
	check_result(&walk, rc, fw.size);
	return 0;
}
