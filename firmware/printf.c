// SPDX-License-Identifier: MIT
/* Formatted output: one formatter (fw_vformat) behind vsnprintf and printf. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fw/console.h"

struct sink {
	void (*emit)(struct sink *s, const char *p, size_t n);
	size_t total;
};

static void out(struct sink *s, const char *p, size_t n)
{
	if (n) {
		s->emit(s, p, n);
		s->total += n;
	}
}

static void pad(struct sink *s, char c, int n)
{
	char buf[16];

	memset(buf, c, sizeof(buf));
	while (n > 0) {
		size_t k = n > 16 ? 16 : (size_t)n;

		out(s, buf, k);
		n -= (int)k;
	}
}

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16, F_PTR = 32 };

static void format_number(struct sink *s, unsigned long long v, bool neg, unsigned int base,
			  bool upper, int flags, int width, int prec)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = 0, zeros, total;
	const char *prefix = "";
	int plen = 0;

	while (v) {
		buf[sizeof(buf) - 1 - n++] = digits[v % base];
		v /= base;
	}
	if (prec < 0 && n == 0)
		buf[sizeof(buf) - 1 - n++] = '0';
	if (neg)
		prefix = "-";
	else if (flags & F_PLUS)
		prefix = "+";
	else if (flags & F_SPACE)
		prefix = " ";
	if (flags & F_PTR)
		prefix = "0x";
	else if ((flags & F_ALT) && base == 16 && n > 0 && !(n == 1 && buf[sizeof(buf) - 1] == '0'))
		prefix = upper ? "0X" : "0x";
	else if ((flags & F_ALT) && base == 8 && buf[sizeof(buf) - n] != '0')
		prefix = "0";
	plen = (int)strlen(prefix);

	zeros = prec > n ? prec - n : 0;
	if ((flags & F_ZERO) && !(flags & F_LEFT) && prec < 0 && width > plen + n)
		zeros = width - plen - n;
	total = plen + zeros + n;
	if (!(flags & F_LEFT))
		pad(s, ' ', width - total);
	out(s, prefix, (size_t)plen);
	pad(s, '0', zeros);
	out(s, buf + sizeof(buf) - n, (size_t)n);
	if (flags & F_LEFT)
		pad(s, ' ', width - total);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	while (*fmt) {
		const char *start = fmt;
		int flags = 0, width = 0, prec = -1, lng = 0;
		unsigned long long u;
		long long d;

		while (*fmt && *fmt != '%')
			fmt++;
		out(s, start, (size_t)(fmt - start));
		if (!*fmt)
			break;
		fmt++;

		for (;; fmt++) {
			if (*fmt == '-')
				flags |= F_LEFT;
			else if (*fmt == '0')
				flags |= F_ZERO;
			else if (*fmt == '+')
				flags |= F_PLUS;
			else if (*fmt == ' ')
				flags |= F_SPACE;
			else if (*fmt == '#')
				flags |= F_ALT;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				flags |= F_LEFT;
				width = -width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				if (prec < 0)
					prec = -1;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					prec = prec * 10 + (*fmt++ - '0');
			}
		}
		/* lng: -2 hh, -1 h, 0 int, 1 long, 2 long long (z, j, t are 64-bit here) */
		switch (*fmt) {
		case 'h':
			lng = -1;
			if (*++fmt == 'h') {
				lng = -2;
				fmt++;
			}
			break;
		case 'l':
			lng = 1;
			if (*++fmt == 'l') {
				lng = 2;
				fmt++;
			}
			break;
		case 'z':
		case 'j':
		case 't':
			lng = 2;
			fmt++;
			break;
		default:
			break;
		}

		switch (*fmt) {
		case 'd':
		case 'i':
			if (lng >= 2)
				d = va_arg(ap, long long);
			else if (lng == 1)
				d = va_arg(ap, long);
			else
				d = va_arg(ap, int);
			if (lng == -1)
				d = (short)d;
			else if (lng == -2)
				d = (signed char)d;
			u = d < 0 ? 0ull - (unsigned long long)d : (unsigned long long)d;
			format_number(s, u, d < 0, 10, false, flags, width, prec);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			if (lng >= 2)
				u = va_arg(ap, unsigned long long);
			else if (lng == 1)
				u = va_arg(ap, unsigned long);
			else
				u = va_arg(ap, unsigned int);
			if (lng == -1)
				u = (unsigned short)u;
			else if (lng == -2)
				u = (unsigned char)u;
			format_number(s, u, false, *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16,
				      *fmt == 'X', flags & ~(F_PLUS | F_SPACE), width, prec);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			format_number(s, u, false, 16, false, (flags & (F_LEFT | F_ZERO)) | F_PTR,
				      width, prec);
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);

			if (!(flags & F_LEFT))
				pad(s, ' ', width - 1);
			out(s, &c, 1);
			if (flags & F_LEFT)
				pad(s, ' ', width - 1);
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);
			size_t len;

			if (!str)
				str = "(null)";
			len = prec >= 0 ? strnlen(str, (size_t)prec) : strlen(str);
			if (!(flags & F_LEFT))
				pad(s, ' ', width - (int)len);
			out(s, str, len);
			if (flags & F_LEFT)
				pad(s, ' ', width - (int)len);
			break;
		}
		case '%':
			out(s, "%", 1);
			break;
		case '\0':
			return;
		default:
			/* Unknown conversion: print it as written. */
			out(s, "%", 1);
			out(s, fmt, 1);
			break;
		}
		fmt++;
	}
}

/* vsnprintf: truncate, always terminate (if size > 0), return the full length. */
struct buf_sink {
	struct sink base;
	char *buf;
	size_t size, used;
};

static void buf_emit(struct sink *s, const char *p, size_t n)
{
	struct buf_sink *b = (struct buf_sink *)s;

	if (b->size == 0)
		return;
	if (n > b->size - 1 - b->used)
		n = b->size - 1 - b->used;
	memcpy(b->buf + b->used, p, n);
	b->used += n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_sink b = { { buf_emit, 0 }, buf, size, 0 };

	format(&b.base, fmt, ap);
	if (size)
		buf[b.used] = '\0';
	return (int)b.base.total;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* printf: stage output in 64-byte pieces, written to the console under its
 * lock so lines of different CPUs do not interleave. */
struct con_sink {
	struct sink base;
	char buf[64];
	size_t used;
};

static void con_emit(struct sink *s, const char *p, size_t n)
{
	struct con_sink *c = (struct con_sink *)s;

	while (n) {
		size_t k = sizeof(c->buf) - c->used;

		if (k > n)
			k = n;
		memcpy(c->buf + c->used, p, k);
		c->used += k;
		p += k;
		n -= k;
		if (c->used == sizeof(c->buf)) {
			fw_console_write_locked(c->buf, c->used);
			c->used = 0;
		}
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct con_sink c = { { con_emit, 0 }, { 0 }, 0 };

	fw_console_lock();
	format(&c.base, fmt, ap);
	fw_console_write_locked(c.buf, c.used);
	fw_console_unlock();
	return (int)c.base.total;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s)
{
	fw_console_lock();
	fw_console_write_locked(s, strlen(s));
	fw_console_write_locked("\n", 1);
	fw_console_unlock();
	return 0;
}

int putchar(int ch)
{
	char c = (char)ch;

	fw_console_write(&c, 1);
	return (unsigned char)c;
}
