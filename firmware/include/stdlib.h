/* SPDX-License-Identifier: MIT */
/* The firmware's libc subset: strtoul (libfdt), exit, abort. */
#ifndef FW_STDLIB_H
#define FW_STDLIB_H

#include <stddef.h>

unsigned long strtoul(const char *restrict nptr, char **restrict endptr, int base);
unsigned long long strtoull(const char *restrict nptr, char **restrict endptr, int base);

/* Writes `status` to the exit port: 0 pass, 1 test failure, 3 fatal.
 * The VMM's process exit status becomes (status << 1) | 1. */
__attribute__((noreturn)) void exit(int status);
__attribute__((noreturn)) void abort(void);

#endif
