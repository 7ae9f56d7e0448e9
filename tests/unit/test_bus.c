/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "suites.h"
#include "vmm/bus.h"
#include "vmm/log.h"

struct probe {
	uint64_t last_offset;
	unsigned last_size;
	uint64_t last_value;
	unsigned writes;
	uint64_t read_value;
};

static uint64_t probe_read(void *opaque, uint64_t offset, unsigned size)
{
	struct probe *probe = opaque;

	probe->last_offset = offset;
	probe->last_size = size;
	return probe->read_value;
}

static void probe_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct probe *probe = opaque;

	probe->last_offset = offset;
	probe->last_size = size;
	probe->last_value = value;
	probe->writes++;
}

static const struct bus_region_ops probe_ops = { .read = probe_read, .write = probe_write };

static struct bus bus;
static struct probe a, b;

static void setup(void)
{
	log_set_level(LOG_ERROR);
	bus_init(&bus, "test");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(bus_register(&bus, 0x100, 0x10, &probe_ops, &a, "a"), 0);
	ck_assert_int_eq(bus_register(&bus, 0x200, 0x8, &probe_ops, &b, "b"), 0);
}

static void teardown(void)
{
	bus_destroy(&bus);
	log_set_level(LOG_INFO);
}

START_TEST(overlaps_are_rejected)
{
	/* Overlapping the start, the end, containing, contained, identical. */
	const uint64_t ranges[][2] = {
		{ 0xf8, 0x10 }, { 0x10f, 0x4 }, { 0xf0, 0x100 }, { 0x104, 0x2 }, { 0x100, 0x10 },
		{ 0x1ff, 0x2 }, { 0x207, 1 },
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		ck_assert_int_eq(bus_register(&bus, ranges[i][0], ranges[i][1], &probe_ops, &a, "x"),
				 -EEXIST);
	ck_assert_uint_eq(bus.count, 2);
}
END_TEST

START_TEST(adjacent_regions_are_allowed)
{
	ck_assert_int_eq(bus_register(&bus, 0x110, 0xf0, &probe_ops, &a, "between"), 0);
	ck_assert_int_eq(bus_register(&bus, 0xff, 1, &probe_ops, &a, "before"), 0);
	ck_assert_int_eq(bus_register(&bus, 0x208, 1, &probe_ops, &a, "after"), 0);
	ck_assert_uint_eq(bus.count, 5);
	for (size_t i = 1; i < bus.count; i++)
		ck_assert_uint_lt(bus.regions[i - 1].base, bus.regions[i].base);
}
END_TEST

START_TEST(empty_or_wrapping_ranges_are_invalid)
{
	ck_assert_int_eq(bus_register(&bus, 0x1000, 0, &probe_ops, &a, "empty"), -EINVAL);
	ck_assert_int_eq(bus_register(&bus, UINT64_MAX - 1, 4, &probe_ops, &a, "wrap"), -EINVAL);
	ck_assert_int_eq(bus_register(&bus, UINT64_MAX, 1, &probe_ops, &a, "last byte"), 0);
}
END_TEST

START_TEST(dispatch_reaches_the_owner_with_offset)
{
	uint32_t value = 0xdeadbeef;

	ck_assert(bus_access(&bus, 0x104, true, &value, 4));
	ck_assert_uint_eq(a.writes, 1);
	ck_assert_uint_eq(a.last_offset, 4);
	ck_assert_uint_eq(a.last_size, 4);
	ck_assert_uint_eq(a.last_value, 0xdeadbeef);
	ck_assert_uint_eq(b.writes, 0);

	b.read_value = 0x1122334455667788ull;
	uint16_t half = 0;

	ck_assert(bus_access(&bus, 0x206, false, &half, 2));
	ck_assert_uint_eq(half, 0x7788);
	ck_assert_uint_eq(b.last_offset, 6);
}
END_TEST

START_TEST(unhandled_reads_are_all_ones)
{
	uint32_t value = 0;

	ck_assert(!bus_access(&bus, 0x180, false, &value, 4));
	ck_assert_uint_eq(value, 0xffffffff);
	/* Straddling the end of a region is not the region's access. */
	value = 0;
	ck_assert(!bus_access(&bus, 0x10e, false, &value, 4));
	ck_assert_uint_eq(value, 0xffffffff);
	ck_assert(!bus_access(&bus, 0x10e, true, &value, 4));
	ck_assert_uint_eq(a.writes, 0);
	/* Odd sizes are refused. */
	ck_assert(!bus_access(&bus, 0x100, true, &value, 3));
	ck_assert_uint_eq(a.writes, 0);
}
END_TEST

START_TEST(find_many_regions)
{
	struct bus many;

	bus_init(&many, "many");
	/* Register out of order; lookups must still find each one. */
	for (uint64_t i = 0; i < 100; i++) {
		uint64_t base = ((i * 37) % 100) * 0x1000;

		ck_assert_int_eq(bus_register(&many, base, 0x800, &probe_ops, &a, "r"), 0);
	}
	for (uint64_t i = 0; i < 100; i++) {
		const struct bus_region *region = bus_find(&many, i * 0x1000 + 0x7ff);

		ck_assert_ptr_nonnull(region);
		ck_assert_uint_eq(region->base, i * 0x1000);
		ck_assert_ptr_null(bus_find(&many, i * 0x1000 + 0x800));
	}
	bus_destroy(&many);
}
END_TEST

Suite *bus_suite(void)
{
	Suite *suite = suite_create("bus");
	TCase *tc = tcase_create("registry");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, overlaps_are_rejected);
	tcase_add_test(tc, adjacent_regions_are_allowed);
	tcase_add_test(tc, empty_or_wrapping_ranges_are_invalid);
	tcase_add_test(tc, dispatch_reaches_the_owner_with_offset);
	tcase_add_test(tc, unhandled_reads_are_all_ones);
	tcase_add_test(tc, find_many_regions);
	suite_add_tcase(suite, tc);
	return suite;
}
