/* SPDX-License-Identifier: MIT */
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "vmm/config/config.h"
#include "vmm/fdt.h"

static void *blob;
static struct vm_config *config;

static void build(const char *text)
{
	struct config_error error;
	size_t size;

	config = config_parse("t.toml", text, strlen(text), NULL, 0, &error);
	ck_assert_msg(config != NULL, "%s", error.message);
	ck_assert_int_eq(fdt_build(config, &blob, &size), 0);
	ck_assert_int_eq(fdt_check_header(blob), 0);
	ck_assert_uint_eq(size, fdt_totalsize(blob));
}

static void teardown(void)
{
	free(blob);
	config_free(config);
	blob = NULL;
	config = NULL;
}

static const char *string_prop(const char *path, const char *name)
{
	int node = fdt_path_offset(blob, path);

	ck_assert_msg(node >= 0, "no node %s", path);
	const char *value = fdt_getprop(blob, node, name, NULL);

	ck_assert_msg(value != NULL, "no %s in %s", name, path);
	return value;
}

static uint32_t cell(const char *path, const char *name, int index, int expected_cells)
{
	int node = fdt_path_offset(blob, path), len;

	ck_assert_msg(node >= 0, "no node %s", path);
	const fdt32_t *cells = fdt_getprop(blob, node, name, &len);

	ck_assert_ptr_nonnull(cells);
	ck_assert_int_eq(len, expected_cells * 4);
	return fdt32_to_cpu(cells[index]);
}

static const char *const two_cpu_config =
	"[vm]\nmemory = \"96M\"\nvcpus = 3\nimage = \"x\"\ncmdline = \"fdt-test answer=42\"\n"
	"[devices.serial0]\ntype = \"uart8250\"\n"
	"[devices.serial1]\ntype = \"uart8250\"\nport = 0x2f8\noutput = \"none\"\n"
	"[devices.exit]\ntype = \"debug-exit\"\n";

START_TEST(memory_and_cpus)
{
	build(two_cpu_config);
	ck_assert_str_eq(string_prop("/memory@0", "device_type"), "memory");
	ck_assert_uint_eq(cell("/memory@0", "reg", 0, 4), 0);
	ck_assert_uint_eq(cell("/memory@0", "reg", 3, 4), 96u << 20);
	ck_assert_uint_eq(cell("/cpus", "#address-cells", 0, 1), 1);
	for (unsigned i = 0; i < 3; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/cpus/cpu@%x", i);
		ck_assert_str_eq(string_prop(path, "device_type"), "cpu");
		ck_assert_uint_eq(cell(path, "reg", 0, 1), i);
	}
	ck_assert_int_lt(fdt_path_offset(blob, "/cpus/cpu@3"), 0);
	/* cpu@0 comes first, as Linux numbers CPUs in node order. */
	int first = fdt_first_subnode(blob, fdt_path_offset(blob, "/cpus"));

	ck_assert_str_eq(fdt_get_name(blob, first, NULL), "cpu@0");
}
END_TEST

START_TEST(chosen_and_devices)
{
	build(two_cpu_config);
	ck_assert_str_eq(string_prop("/chosen", "bootargs"), "fdt-test answer=42");
	/* The first UART with output is the console. */
	ck_assert_str_eq(string_prop("/chosen", "stdout-path"), "/isa/serial@i3f8:115200n8");
	ck_assert_str_eq(string_prop("/isa", "compatible"), "isa");
	ck_assert_uint_eq(cell("/isa", "ranges", 4, 5), 0x10000);
	ck_assert_str_eq(string_prop("/isa/serial@i3f8", "compatible"), "ns16550a");
	ck_assert_uint_eq(cell("/isa/serial@i3f8", "reg", 0, 3), 1);
	ck_assert_uint_eq(cell("/isa/serial@i3f8", "reg", 1, 3), 0x3f8);
	ck_assert_uint_eq(cell("/isa/serial@i3f8", "clock-frequency", 0, 1), 1843200);
	ck_assert_uint_eq(cell("/isa/serial@i2f8", "reg", 1, 3), 0x2f8);
	ck_assert_str_eq(string_prop("/isa/debug-exit@if4", "compatible"), "vmm,debug-exit");
	ck_assert_uint_eq(cell("/isa/debug-exit@if4", "reg", 1, 3), 0xf4);
}
END_TEST

START_TEST(no_devices_no_stdout_path)
{
	build("[vm]\nimage = \"x\"\n");
	ck_assert_str_eq(string_prop("/chosen", "bootargs"), "");
	ck_assert_ptr_null(fdt_getprop(blob, fdt_path_offset(blob, "/chosen"), "stdout-path", NULL));
	ck_assert_int_lt(fdt_first_subnode(blob, fdt_path_offset(blob, "/isa")), 0);
}
END_TEST

START_TEST(many_cpus_grow_the_blob)
{
	build("[vm]\nimage = \"x\"\nvcpus = 32\ncmdline = \""
	      "0123456789012345678901234567890123456789012345678901234567890123456789\"\n");
	ck_assert_uint_eq(cell("/cpus/cpu@1f", "reg", 0, 1), 31);
}
END_TEST

Suite *fdt_suite(void)
{
	Suite *suite = suite_create("fdt");
	TCase *tc = tcase_create("contents");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, memory_and_cpus);
	tcase_add_test(tc, chosen_and_devices);
	tcase_add_test(tc, no_devices_no_stdout_path);
	tcase_add_test(tc, many_cpus_grow_the_blob);
	suite_add_tcase(suite, tc);
	return suite;
}
