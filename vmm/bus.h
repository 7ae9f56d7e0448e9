/* SPDX-License-Identifier: MIT */
/*
 * PIO and MMIO region registry and dispatch.
 *
 * A bus is a sorted array of non-overlapping regions. Registration happens
 * while the VM is being built (before vCPUs run), so dispatch on the exit
 * path is a lock-free binary search that allocates nothing.
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_region_ops {
	/* size is 1, 2, 4 or 8; offset is relative to the region base. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

struct bus_region {
	uint64_t base;
	uint64_t size;
	const struct bus_region_ops *ops;
	void *opaque;
	const char *name; /* owner, for logs and overlap errors */
};

struct bus {
	const char *name; /* "pio" or "mmio" */
	struct bus_region *regions; /* sorted by base */
	size_t count;
	size_t capacity;
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/*
 * Returns 0, -EINVAL for an empty or wrapping range, -EEXIST when the range
 * overlaps an existing region (logged with both owners), -ENOMEM.
 */
int bus_register(struct bus *bus, uint64_t base, uint64_t size,
		 const struct bus_region_ops *ops, void *opaque, const char *name);

/* The region containing addr, or NULL. */
const struct bus_region *bus_find(const struct bus *bus, uint64_t addr);

/*
 * Dispatch one access of len bytes (1, 2, 4 or 8) at addr. Returns false when
 * no region wholly contains the access; a read then yields all ones. data is
 * little-endian guest data, as KVM hands it over.
 */
bool bus_access(const struct bus *bus, uint64_t addr, bool is_write, void *data, unsigned len);

#endif
