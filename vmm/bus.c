/* SPDX-License-Identifier: MIT */
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_destroy(struct bus *bus)
{
	free(bus->regions);
	bus->regions = NULL;
	bus->count = bus->capacity = 0;
}

/* Index of the first region whose base is greater than addr. */
static size_t bus_upper_bound(const struct bus *bus, uint64_t addr)
{
	size_t low = 0, high = bus->count;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (bus->regions[mid].base <= addr)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

static bool region_overlaps(const struct bus_region *region, uint64_t base, uint64_t last)
{
	return base <= region->base + (region->size - 1) && region->base <= last;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t size,
		 const struct bus_region_ops *ops, void *opaque, const char *name)
{
	if (size == 0 || base + (size - 1) < base)
		return -EINVAL;

	uint64_t last = base + (size - 1);
	size_t pos = bus_upper_bound(bus, base);
	const struct bus_region *neighbours[2] = {
		pos > 0 ? &bus->regions[pos - 1] : NULL,
		pos < bus->count ? &bus->regions[pos] : NULL,
	};

	for (int i = 0; i < 2; i++) {
		if (neighbours[i] && region_overlaps(neighbours[i], base, last)) {
			log_error("%s: %s [%#llx-%#llx] overlaps %s [%#llx-%#llx]", bus->name,
				  name, (unsigned long long)base, (unsigned long long)last,
				  neighbours[i]->name, (unsigned long long)neighbours[i]->base,
				  (unsigned long long)(neighbours[i]->base + neighbours[i]->size - 1));
			return -EEXIST;
		}
	}
	if (bus->count == bus->capacity) {
		size_t capacity = bus->capacity ? bus->capacity * 2 : 8;
		struct bus_region *grown = realloc(bus->regions, capacity * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		bus->regions = grown;
		bus->capacity = capacity;
	}
	memmove(&bus->regions[pos + 1], &bus->regions[pos],
		(bus->count - pos) * sizeof(bus->regions[0]));
	bus->regions[pos] = (struct bus_region){
		.base = base, .size = size, .ops = ops, .opaque = opaque, .name = name,
	};
	bus->count++;
	return 0;
}

const struct bus_region *bus_find(const struct bus *bus, uint64_t addr)
{
	size_t pos = bus_upper_bound(bus, addr);

	if (pos == 0)
		return NULL;
	const struct bus_region *region = &bus->regions[pos - 1];

	return addr - region->base < region->size ? region : NULL;
}

bool bus_access(const struct bus *bus, uint64_t addr, bool is_write, void *data, unsigned len)
{
	const struct bus_region *region = bus_find(bus, addr);
	uint64_t value = 0;

	if (!region || len - 1 > region->size - 1 - (addr - region->base) ||
	    (len != 1 && len != 2 && len != 4 && len != 8)) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	if (is_write) {
		memcpy(&value, data, len);
		if (region->ops->write)
			region->ops->write(region->opaque, addr - region->base, len, value);
	} else {
		value = region->ops->read ? region->ops->read(region->opaque, addr - region->base, len)
					  : ~0ull;
		memcpy(data, &value, len);
	}
	return true;
}
