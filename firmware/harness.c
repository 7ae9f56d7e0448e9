// SPDX-License-Identifier: MIT
/* TAP test runner. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw/test.h"
#include "internal.h"

#define MAX_TESTS 256
#define DIAG_BUF  2048

/* Section "fw_tests" (pointers to descriptors), bounds from firmware/image.ld. */
extern const struct fw_test *const fw_tests_start[];
extern const struct fw_test *const fw_tests_end[];

__attribute__((weak)) const char *test_image_name = "unnamed";
__attribute__((weak)) void test_setup(void)
{
}

static struct {
	const struct fw_test *cur;
	unsigned int failures;  /* failed checks in the current test */
	bool skipped;
	char skip_reason[128];
	char diag[DIAG_BUF];    /* "# file:line: ..." lines, printed after the result */
	size_t diag_used;
	bool diag_truncated;
} run;

static void diag_append(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag_append(const char *fmt, ...)
{
	size_t room = sizeof(run.diag) - run.diag_used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(run.diag + run.diag_used, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= room) {
		run.diag_used = sizeof(run.diag) - 1;
		run.diag_truncated = true;
	} else {
		run.diag_used += (size_t)n;
	}
}

void fw_check_failed(const char *file, unsigned int line, const char *expr, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	run.failures++;
	if (!run.cur) {
		/* Outside a test (test_setup): report right away. */
		printf("# %s:%u: CHECK(%s) failed: %s\n", file, line, expr, msg);
		return;
	}
	diag_append("# %s:%u: CHECK(%s) failed%s%s\n", file, line, expr, msg[0] ? ": " : "",
		    msg);
}

void fw_test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run.skip_reason, sizeof(run.skip_reason), fmt, ap);
	va_end(ap);
	run.skipped = true;
}

void diag(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("# %s\n", msg);
}

static bool test_before(const struct fw_test *a, const struct fw_test *b)
{
	int c = strcmp(a->file, b->file);

	return c < 0 || (c == 0 && a->line < b->line);
}

void fw_run_tests(void)
{
	static const struct fw_test *tests[MAX_TESTS];
	unsigned int n = 0, failed = 0, setup_failures;

	/* Insertion sort into source order. */
	for (const struct fw_test *const *p = fw_tests_start; p < fw_tests_end; p++) {
		unsigned int i = n;

		if (n == MAX_TESTS)
			fw_panic("more than %d tests in one image", MAX_TESTS);
		n++;
		while (i > 0 && test_before(*p, tests[i - 1])) {
			tests[i] = tests[i - 1];
			i--;
		}
		tests[i] = *p;
	}

	printf("TAP version 13\n# image: %s\n", test_image_name);
	test_setup();
	setup_failures = run.failures;
	printf("1..%u\n", n);
	for (unsigned int i = 0; i < n; i++) {
		run.cur = tests[i];
		run.failures = 0;
		run.skipped = false;
		run.skip_reason[0] = '\0';
		run.diag_used = 0;
		run.diag[0] = '\0';
		run.diag_truncated = false;

		tests[i]->fn();

		if (run.failures) {
			failed++;
			printf("not ok %u - %s\n%s%s", i + 1, tests[i]->name, run.diag,
			       run.diag_truncated ? "# (more diagnostics truncated)\n" : "");
		} else if (run.skipped) {
			printf("ok %u - %s # SKIP %s\n", i + 1, tests[i]->name, run.skip_reason);
		} else {
			printf("ok %u - %s\n", i + 1, tests[i]->name);
		}
	}
	run.cur = NULL;
	if (setup_failures)
		printf("# test_setup had %u failed check(s)\n", setup_failures);
	printf("# %s: %u/%u passed\n", test_image_name, n - failed, n);
	fw_exit(failed || setup_failures ? FW_EXIT_FAIL : FW_EXIT_PASS);
}
