/* SPDX-License-Identifier: MIT */
/*
 * Test harness of the self-test images.
 *
 *     #include "fw/test.h"
 *
 *     const char *test_image_name = "example";
 *
 *     TEST(addition)
 *     {
 *             CHECK(1 + 1 == 2, "arithmetic is broken");
 *             CHECK_EQ(fw_fdt_memory_size(), 64ull << 20);
 *     }
 *
 * The harness runs every TEST of the image in source order (by file, then
 * line) on CPU 0 at CPL 3 and prints TAP version 13 on the console:
 *
 *     TAP version 13
 *     # image: example
 *     1..1
 *     ok 1 - addition
 *
 * or "not ok N - name" followed by one "# file:line: message" line per
 * failed check. It then exits with value 0 if every test passed (or was
 * skipped) and 1 otherwise. An exception is fatal: the image prints a
 * "FATAL: exception ..." line and exits with value 3.
 */
#ifndef FW_TEST_H
#define FW_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fw/console.h"
#include "fw/cpu.h"
#include "fw/fdt.h"
#include "fw/fw.h"
#include "fw/io.h"
#include "fw/privcall.h"

struct fw_test {
	const char *name;
	void (*fn)(void);
	const char *file;
	unsigned int line;
};

/* Declares a test; the body follows as a function body. Descriptor
 * pointers go to section "fw_tests", collected by the linker script. */
#define TEST(tname)                                                                  \
	static void fw_test_fn_##tname(void);                                        \
	static const struct fw_test fw_test_desc_##tname = {                         \
		#tname, fw_test_fn_##tname, __FILE__, __LINE__                       \
	};                                                                           \
	static const struct fw_test *const fw_test_ptr_##tname                       \
		__attribute__((used, section("fw_tests"))) = &fw_test_desc_##tname;  \
	static void fw_test_fn_##tname(void)

/* Records a failure of the running test (file:line: CHECK(cond) failed:
 * message) and continues. Evaluates to cond as a bool. A message format is
 * required: CHECK(x > 0, "x = %d", x). */
#define CHECK(cond, ...)                                                             \
	({                                                                           \
		bool fw_check_ok_ = (cond) ? true : false;                           \
		if (!fw_check_ok_)                                                   \
			fw_check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__);     \
		fw_check_ok_;                                                        \
	})

/* Integer equality; the message shows both values. */
#define CHECK_EQ(a, b)                                                               \
	({                                                                           \
		unsigned long long fw_check_a_ = (unsigned long long)(a);            \
		unsigned long long fw_check_b_ = (unsigned long long)(b);            \
		bool fw_check_ok_ = fw_check_a_ == fw_check_b_;                      \
		if (!fw_check_ok_)                                                   \
			fw_check_failed(__FILE__, __LINE__, #a " == " #b,            \
					"%llu (0x%llx) != %llu (0x%llx)",            \
					fw_check_a_, fw_check_a_, fw_check_b_,       \
					fw_check_b_);                                \
		fw_check_ok_;                                                        \
	})

/* String equality (NULL-safe); the message shows both strings. */
#define CHECK_STREQ(a, b)                                                            \
	({                                                                           \
		const char *fw_check_a_ = (a), *fw_check_b_ = (b);                   \
		bool fw_check_ok_ = fw_check_a_ && fw_check_b_ &&                    \
				    !strcmp(fw_check_a_, fw_check_b_);               \
		if (!fw_check_ok_)                                                   \
			fw_check_failed(__FILE__, __LINE__, #a " == " #b,            \
					"\"%s\" != \"%s\"", fw_check_a_,             \
					fw_check_b_);                                \
		fw_check_ok_;                                                        \
	})

/* Like CHECK, but ends the test (returns from the test function) on failure. */
#define REQUIRE(cond, ...)                                                           \
	do {                                                                         \
		if (!CHECK(cond, __VA_ARGS__))                                       \
			return;                                                      \
	} while (0)

/* Marks the running test skipped ("ok N - name # SKIP reason"); the test
 * should return right after. */
#define SKIP(...)                                                                    \
	do {                                                                         \
		fw_test_skip(__VA_ARGS__);                                           \
		return;                                                              \
	} while (0)

__attribute__((format(printf, 4, 5))) void fw_check_failed(const char *file, unsigned int line,
							   const char *expr, const char *fmt,
							   ...);
__attribute__((format(printf, 1, 2))) void fw_test_skip(const char *fmt, ...);

/* A TAP diagnostic line ("# " + message + "\n"), printed immediately. */
__attribute__((format(printf, 1, 2))) void diag(const char *fmt, ...);

/* Optional hook, called before the first test (weak, default none). */
void test_setup(void);

#endif
