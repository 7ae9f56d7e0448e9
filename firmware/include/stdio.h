/* SPDX-License-Identifier: MIT */
/*
 * Formatted output of the firmware (firmware/printf.c, firmware/console.c).
 * Conversions: d i u x X o c s p %, flags - 0 + space #, width and precision
 * (also *), length modifiers hh h l ll z j t. No floating point.
 */
#ifndef FW_STDIO_H
#define FW_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

__attribute__((format(printf, 1, 2))) int printf(const char *fmt, ...);
__attribute__((format(printf, 1, 0))) int vprintf(const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) int snprintf(char *buf, size_t size, const char *fmt, ...);
__attribute__((format(printf, 3, 0))) int vsnprintf(char *buf, size_t size, const char *fmt,
						    va_list ap);
int puts(const char *s); /* appends a newline */
int putchar(int c);

#endif
