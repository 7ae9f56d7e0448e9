/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "devices/device.h"
#include "suites.h"
#include "vmm/config/config.h"

static struct config_error error;

static struct vm_config *parse_with(const char *text, const char *const *overrides, size_t count)
{
	memset(&error, 0, sizeof(error));
	return config_parse("configs/t.toml", text, strlen(text), overrides, count, &error);
}

static struct vm_config *parse(const char *text)
{
	return parse_with(text, NULL, 0);
}

static void expect_error(const char *text, const char *position, const char *message_part)
{
	struct vm_config *config = parse(text);

	ck_assert_ptr_null(config);
	ck_assert_msg(strstr(error.message, position) == error.message,
		      "error '%s' does not start with '%s'", error.message, position);
	ck_assert_msg(strstr(error.message, message_part), "error '%s' lacks '%s'",
		      error.message, message_part);
}

static const char *const full_config =
	"[vm]\n"
	"memory = \"96M\"\n"
	"vcpus = 2\n"
	"image = \"../build/x.elf\"\n"
	"cmdline = \"console=ttyS0\"\n"
	"log_level = \"debug\"\n"
	"[devices.serial0]\n"
	"type = \"uart8250\"\n"
	"port = 0x2f8\n"
	"[devices.exit]\n"
	"type = \"debug-exit\"\n"
	"[test]\n"
	"expect = \"fail\"\n"
	"expect_exit = 7\n"
	"expect_output = [\"#PF\", \"cr2=\"]\n"
	"timeout = 5\n";

START_TEST(full_config_is_typed)
{
	struct vm_config *config = parse(full_config);

	ck_assert_msg(config != NULL, "%s", error.message);
	ck_assert_uint_eq(config->memory, 96ull << 20);
	ck_assert_uint_eq(config->vcpus, 2);
	ck_assert_str_eq(config->image, "configs/../build/x.elf");
	ck_assert_str_eq(config->cmdline, "console=ttyS0");
	ck_assert_int_eq(config->log_level, LOG_DEBUG);
	ck_assert_uint_eq(config->device_count, 2);
	ck_assert_str_eq(config->devices[0]->name, "serial0");
	ck_assert_str_eq(config->devices[0]->model->type, "uart8250");
	ck_assert_str_eq(config->devices[1]->model->type, "debug-exit");
	ck_assert(config->test.must_fail);
	ck_assert_int_eq(config->test.exit_status, 7);
	ck_assert_uint_eq(config->test.output_count, 2);
	ck_assert_str_eq(config->test.output[1], "cr2=");
	ck_assert_uint_eq(config->test.timeout_seconds, 5);
	config_free(config);
}
END_TEST

START_TEST(defaults_apply)
{
	struct vm_config *config = parse("[vm]\nimage = \"/abs/x.elf\"\n");

	ck_assert_msg(config != NULL, "%s", error.message);
	ck_assert_uint_eq(config->memory, 64ull << 20);
	ck_assert_uint_eq(config->vcpus, 1);
	ck_assert_str_eq(config->image, "/abs/x.elf");
	ck_assert_ptr_null(config->cmdline);
	ck_assert_uint_eq(config->device_count, 0);
	ck_assert(!config->test.must_fail);
	ck_assert_int_eq(config->test.exit_status, -1);
	ck_assert_uint_eq(config->test.timeout_seconds, 30);
	config_free(config);
}
END_TEST

START_TEST(overrides_win)
{
	const char *const overrides[] = {
		"vm.memory=128M", "vm.vcpus=4", "devices.serial0.output=none", "vm.cmdline=a b",
	};
	struct vm_config *config = parse_with(full_config, overrides, 4);

	ck_assert_msg(config != NULL, "%s", error.message);
	ck_assert_uint_eq(config->memory, 128ull << 20);
	ck_assert_uint_eq(config->vcpus, 4);
	ck_assert_str_eq(config->cmdline, "a b");
	config_free(config);
}
END_TEST

START_TEST(bad_override_values_are_errors)
{
	const char *const wrong_type[] = { "vm.vcpus=many" };
	const char *const unknown[] = { "vm.colour=1" };

	ck_assert_ptr_null(parse_with(full_config, wrong_type, 1));
	ck_assert_ptr_nonnull(strstr(error.message, "--set"));
	ck_assert_ptr_nonnull(strstr(error.message, "'vcpus' must be an integer"));
	ck_assert_ptr_null(parse_with(full_config, unknown, 1));
	ck_assert_ptr_nonnull(strstr(error.message, "unknown key 'colour'"));
}
END_TEST

START_TEST(unknown_key_names_valid_ones)
{
	expect_error("[vm]\nimage = \"x\"\nmemroy = \"1G\"\n", "configs/t.toml:3:1:",
		     "unknown key 'memroy' in [vm]; valid keys: memory, vcpus");
	expect_error("[vm]\nimage = \"x\"\n[vmm]\n", "configs/t.toml:3:",
		     "unknown key 'vmm' in [top level]");
}
END_TEST

START_TEST(wrong_types_and_ranges)
{
	expect_error("[vm]\nimage = \"x\"\nvcpus = \"2\"\n", "configs/t.toml:3:9:",
		     "'vcpus' must be an integer, not a string");
	expect_error("[vm]\nimage = \"x\"\nvcpus = 0\n", "configs/t.toml:3:9:",
		     "out of range; valid: 1 to 32");
	expect_error("[vm]\nimage = \"x\"\nvcpus = 33\n", "configs/t.toml:3:9:", "1 to 32");
	expect_error("[vm]\nimage = \"x\"\nmemory = \"64Q\"\n", "configs/t.toml:3:10:",
		     "is not a size");
	expect_error("[vm]\nimage = \"x\"\nmemory = \"4G\"\n", "configs/t.toml:3:10:",
		     "out of range");
	expect_error("[vm]\nimage = \"x\"\nmemory = 1000\n", "configs/t.toml:3:10:",
		     "out of range");
	expect_error("[vm]\nimage = \"x\"\nmemory = \"3000001\"\n", "configs/t.toml:3:10:",
		     "multiple of 4K");
	expect_error("[vm]\nimage = \"x\"\nlog_level = \"loud\"\n", "configs/t.toml:3:13:",
		     "choose one of \"error\", \"warn\", \"info\", \"debug\"");
}
END_TEST

START_TEST(missing_pieces)
{
	expect_error("", "configs/t.toml: missing [vm]", "image");
	expect_error("[vm]\nmemory = \"64M\"\n", "configs/t.toml: missing required key", "'image'");
	expect_error("[vm]\nimage = \"\"\n", "configs/t.toml:2:9:", "must not be empty");
}
END_TEST

START_TEST(device_errors)
{
	expect_error("[vm]\nimage = \"x\"\n[devices.d]\ntype = \"gpu\"\n", "configs/t.toml:4:8:",
		     "unknown device type \"gpu\"; known types: \"uart8250\", \"debug-exit\"");
	expect_error("[vm]\nimage = \"x\"\n[devices.d]\nport = 1\n", "configs/t.toml:3:",
		     "needs a 'type'");
	expect_error("[vm]\nimage = \"x\"\n[devices.s]\ntype = \"uart8250\"\nspeed = 9600\n",
		     "configs/t.toml:5:1:", "unknown key 'speed' in [s]");
	expect_error("[vm]\nimage = \"x\"\n[devices.s]\ntype = \"uart8250\"\noutput = \"file\"\n",
		     "configs/t.toml:5:10:", "needs a 'path'");
	expect_error("[vm]\nimage = \"x\"\n[devices.s]\ntype = \"uart8250\"\nport = 0x10000\n",
		     "configs/t.toml:5:8:", "out of range");
	expect_error("[vm]\nimage = \"x\"\n[devices.e]\ntype = \"debug-exit\"\nport = -1\n",
		     "configs/t.toml:5:8:", "out of range");
}
END_TEST

START_TEST(test_section_errors)
{
	expect_error("[vm]\nimage = \"x\"\n[test]\nexpect = \"maybe\"\n", "configs/t.toml:4:10:",
		     "choose one of \"pass\", \"fail\"");
	expect_error("[vm]\nimage = \"x\"\n[test]\nexpect_output = [1]\n", "configs/t.toml:4:18:",
		     "items must be strings");
	expect_error("[vm]\nimage = \"x\"\n[test]\ntimeout = 0\n", "configs/t.toml:4:11:",
		     "out of range");
}
END_TEST

START_TEST(toml_syntax_errors_carry_position)
{
	expect_error("[vm]\nimage = \"x\"\nvcpus = = 2\n", "configs/t.toml:3:", "");
	expect_error("[vm\n", "configs/t.toml:1:", "");
}
END_TEST

START_TEST(size_strings)
{
	uint64_t size;

	ck_assert_int_eq(config_parse_size("64M", &size), 0);
	ck_assert_uint_eq(size, 64ull << 20);
	ck_assert_int_eq(config_parse_size("1G", &size), 0);
	ck_assert_uint_eq(size, 1ull << 30);
	ck_assert_int_eq(config_parse_size("512k", &size), 0);
	ck_assert_uint_eq(size, 512ull << 10);
	ck_assert_int_eq(config_parse_size("2MiB", &size), 0);
	ck_assert_uint_eq(size, 2ull << 20);
	ck_assert_int_eq(config_parse_size("0x1000", &size), 0);
	ck_assert_uint_eq(size, 0x1000);
	ck_assert_int_eq(config_parse_size("4096", &size), 0);
	ck_assert_uint_eq(size, 4096);
	ck_assert_int_eq(config_parse_size("M", &size), -EINVAL);
	ck_assert_int_eq(config_parse_size("-1M", &size), -EINVAL);
	ck_assert_int_eq(config_parse_size("1MX", &size), -EINVAL);
	ck_assert_int_eq(config_parse_size("1 M", &size), -EINVAL);
	ck_assert_int_eq(config_parse_size("99999999999T", &size), -ERANGE);
	ck_assert_int_eq(config_parse_size("99999999999999999999", &size), -ERANGE);
}
END_TEST

START_TEST(load_reports_missing_file)
{
	ck_assert_ptr_null(config_load("tests/fixtures/nope.toml", NULL, 0, &error));
	ck_assert_ptr_nonnull(strstr(error.message, "tests/fixtures/nope.toml: cannot open"));
}
END_TEST

START_TEST(every_shipped_config_is_valid)
{
	const char *const configs[] = {
		"configs/default.toml", "configs/hello.toml", "configs/fdt.toml",
		"configs/fail.toml", "configs/fault.toml",
	};

	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		struct vm_config *config = config_load(configs[i], NULL, 0, &error);

		ck_assert_msg(config != NULL, "%s", error.message);
		config_free(config);
	}
}
END_TEST

Suite *config_suite(void)
{
	Suite *suite = suite_create("config");
	TCase *tc = tcase_create("validation");

	tcase_add_test(tc, full_config_is_typed);
	tcase_add_test(tc, defaults_apply);
	tcase_add_test(tc, overrides_win);
	tcase_add_test(tc, bad_override_values_are_errors);
	tcase_add_test(tc, unknown_key_names_valid_ones);
	tcase_add_test(tc, wrong_types_and_ranges);
	tcase_add_test(tc, missing_pieces);
	tcase_add_test(tc, device_errors);
	tcase_add_test(tc, test_section_errors);
	tcase_add_test(tc, toml_syntax_errors_carry_position);
	tcase_add_test(tc, size_strings);
	tcase_add_test(tc, load_reports_missing_file);
	tcase_add_test(tc, every_shipped_config_is_valid);
	suite_add_tcase(suite, tc);
	return suite;
}
