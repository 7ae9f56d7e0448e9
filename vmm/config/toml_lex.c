/* SPDX-License-Identifier: MIT */
/*
 * TOML at the level of characters: the cursor, error reporting, whitespace,
 * comments, strings and bare scalars (integers, booleans, and the floats and
 * date-times we refuse). Every read goes through toml_scan_peek*, which
 * checks the offset against len: the text is not NUL-terminated.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/toml_internal.h"

/* Longest excerpt of a key or token quoted in a message, keeping every
 * message well under 200 characters. */
#define EXCERPT_MAX 48

int toml_scan_peek(const struct toml_parser *p)
{
	return p->off < p->len ? (unsigned char)p->text[p->off] : -1;
}

int toml_scan_peek_at(const struct toml_parser *p, size_t ahead)
{
	return ahead < p->len - p->off ? (unsigned char)p->text[p->off + ahead] : -1;
}

void toml_scan_advance(struct toml_parser *p)
{
	if (p->off >= p->len)
		return;
	if (p->text[p->off++] == '\n') {
		p->line++;
		p->line_start = p->off;
	}
}

static void advance_by(struct toml_parser *p, size_t count)
{
	while (count--)
		toml_scan_advance(p);
}

static unsigned clamp_unsigned(size_t value)
{
	return value >= UINT_MAX ? UINT_MAX : (unsigned)value;
}

struct toml_pos toml_scan_pos(const struct toml_parser *p)
{
	if (p->flat)
		return (struct toml_pos){ 0, clamp_unsigned(p->off + 1) };
	return (struct toml_pos){ p->line, clamp_unsigned(p->off - p->line_start + 1) };
}

/* Bare tokens never span lines, so a byte inside one is `offset` columns on. */
static struct toml_pos pos_plus(struct toml_pos pos, size_t offset)
{
	pos.col = clamp_unsigned(pos.col + offset);
	return pos;
}

int toml_fail(struct toml_parser *p, struct toml_pos pos, const char *fmt, ...)
{
	va_list ap;

	p->err->pos = pos;
	va_start(ap, fmt);
	/* 200, not sizeof(message): messages are promised to stay under 200. */
	vsnprintf(p->err->message, 200, fmt, ap);
	va_end(ap);
	return -1;
}

int toml_fail_oom(struct toml_parser *p)
{
	p->out_of_memory = true;
	return toml_fail(p, toml_scan_pos(p), "out of memory");
}

static bool is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

/* Printable ASCII stays, anything else becomes '?': messages end up in
 * terminals and logs, and a cut in the middle of UTF-8 would be invalid. */
void toml_format_text(const char *text, size_t len, char *out, size_t size)
{
	size_t shown = len > EXCERPT_MAX ? EXCERPT_MAX : len;
	size_t n = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < shown && n + 1 < size; i++) {
		unsigned char c = (unsigned char)text[i];

		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
	if (shown < len && n + 4 < size)
		strcpy(out + n, "...");
}

const char *toml_type_with_article(enum toml_type type)
{
	switch (type) {
	case TOML_STRING:
		return "a string";
	case TOML_INTEGER:
		return "an integer";
	case TOML_BOOLEAN:
		return "a boolean";
	case TOML_ARRAY:
		return "an array";
	case TOML_TABLE:
		return "a table";
	}
	return "a value";
}

/*
 * Length of the valid UTF-8 sequence at s (at most avail bytes), 0 when it
 * is not one: overlong forms, surrogates and code points past U+10FFFF are
 * all rejected, as TOML documents must be valid UTF-8.
 */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2)
		return 0;
	if (s[0] < 0xe0) {
		n = 2;
	} else if (s[0] < 0xf0) {
		n = 3;
		lo = s[0] == 0xe0 ? 0xa0 : lo;
		hi = s[0] == 0xed ? 0x9f : hi;
	} else if (s[0] < 0xf5) {
		n = 4;
		lo = s[0] == 0xf0 ? 0x90 : lo;
		hi = s[0] == 0xf4 ? 0x8f : hi;
	} else {
		return 0;
	}
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Checked once up front so that strings and messages can copy bytes freely. */
int toml_scan_check_utf8(struct toml_parser *p)
{
	struct toml_parser scan = *p;

	while (scan.off < scan.len) {
		const unsigned char *s = (const unsigned char *)scan.text + scan.off;
		size_t n = utf8_sequence_length(s, scan.len - scan.off);

		if (n == 0)
			return toml_fail(p, toml_scan_pos(&scan),
					 "invalid UTF-8 byte 0x%02X; TOML documents must be UTF-8", s[0]);
		advance_by(&scan, n);
	}
	return 0;
}

bool toml_scan_at_newline(const struct toml_parser *p)
{
	int c = toml_scan_peek(p);

	return c == '\n' || (c == '\r' && toml_scan_peek_at(p, 1) == '\n');
}

static void skip_newline(struct toml_parser *p)
{
	if (toml_scan_peek(p) == '\r')
		toml_scan_advance(p);
	toml_scan_advance(p);
}

static void describe_non_ascii(const struct toml_parser *p, struct toml_found *found)
{
	size_t n = utf8_sequence_length((const unsigned char *)p->text + p->off, p->len - p->off);

	if (n)
		snprintf(found->text, sizeof(found->text), "'%.*s'", (int)n, p->text + p->off);
	else
		snprintf(found->text, sizeof(found->text), "byte 0x%02X",
			 (unsigned char)p->text[p->off]);
}

struct toml_found toml_scan_found(const struct toml_parser *p)
{
	struct toml_found found;
	int c = toml_scan_peek(p);

	if (c < 0)
		snprintf(found.text, sizeof(found.text), "end of input");
	else if (toml_scan_at_newline(p))
		snprintf(found.text, sizeof(found.text), "end of line");
	else if (c == '\t')
		snprintf(found.text, sizeof(found.text), "a tab");
	else if (is_control(c))
		snprintf(found.text, sizeof(found.text), "control character U+%04X", (unsigned)c);
	else if (c >= 0x80)
		describe_non_ascii(p, &found);
	else if (c == '\'')
		snprintf(found.text, sizeof(found.text), "\"'\"");
	else
		snprintf(found.text, sizeof(found.text), "'%c'", c);
	return found;
}

void toml_scan_skip_ws(struct toml_parser *p)
{
	int c = toml_scan_peek(p);

	while (c == ' ' || c == '\t') {
		toml_scan_advance(p);
		c = toml_scan_peek(p);
	}
}

/* At '#': consume the comment up to, not including, the end of line. */
static int skip_comment(struct toml_parser *p)
{
	toml_scan_advance(p);
	for (;;) {
		int c = toml_scan_peek(p);

		if (c < 0 || toml_scan_at_newline(p))
			return 0;
		if (is_control(c))
			return toml_fail(p, toml_scan_pos(p), "%s is not allowed in a comment",
					 toml_scan_found(p).text);
		toml_scan_advance(p);
	}
}

/* After a key/value pair or a header: only a comment may follow on the line. */
int toml_scan_end_of_line(struct toml_parser *p, const char *after)
{
	toml_scan_skip_ws(p);
	if (toml_scan_peek(p) == '#' && skip_comment(p))
		return -1;
	if (toml_scan_peek(p) < 0)
		return 0;
	if (!toml_scan_at_newline(p))
		return toml_fail(p, toml_scan_pos(p), "expected end of line after %s, found %s", after,
				 toml_scan_found(p).text);
	skip_newline(p);
	return 0;
}

/* Whitespace, newlines and comments, as allowed between array elements. */
int toml_scan_skip_blank_lines(struct toml_parser *p)
{
	for (;;) {
		toml_scan_skip_ws(p);
		if (toml_scan_peek(p) == '#') {
			if (skip_comment(p))
				return -1;
		} else if (toml_scan_at_newline(p)) {
			skip_newline(p);
		} else {
			return 0;
		}
	}
}

bool toml_scan_is_bare_key_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* ---- Strings ---------------------------------------------------------- */

struct string_buf {
	char *data;
	size_t len;
	size_t cap;
};

static int buf_put(struct toml_parser *p, struct string_buf *b, const char *bytes, size_t n)
{
	if (!b->data || b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 32;

		while (cap - b->len <= n) {
			if (cap > SIZE_MAX / 2)
				return toml_fail_oom(p);
			cap *= 2;
		}
		char *data = realloc(b->data, cap);

		if (!data)
			return toml_fail_oom(p);
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, bytes, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int buf_put_char(struct toml_parser *p, struct string_buf *b, char c)
{
	return buf_put(p, b, &c, 1);
}

/* The source byte at the cursor is plain string content: copy it. */
static int copy_current(struct toml_parser *p, struct string_buf *b)
{
	if (buf_put(p, b, p->text + p->off, 1))
		return -1;
	toml_scan_advance(p);
	return 0;
}

static int hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int put_utf8(struct toml_parser *p, struct string_buf *b, uint32_t cp)
{
	char out[4];
	size_t n;

	if (cp < 0x80) {
		out[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		out[0] = (char)(0xf0 | cp >> 18);
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_put(p, b, out, n);
}

/* After "\u" or "\U": exactly `digits` hex digits naming a Unicode scalar. */
static int scan_unicode_escape(struct toml_parser *p, struct string_buf *b, unsigned digits,
			       struct toml_pos escape_pos)
{
	uint32_t cp = 0;

	toml_scan_advance(p);
	for (unsigned i = 0; i < digits; i++) {
		int v = hex_digit_value(toml_scan_peek(p));

		if (v < 0)
			return toml_fail(p, toml_scan_pos(p),
					 "expected %u hex digits in \\%c escape, found %s", digits,
					 digits == 4 ? 'u' : 'U', toml_scan_found(p).text);
		cp = cp << 4 | (uint32_t)v;
		toml_scan_advance(p);
	}
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return toml_fail(p, escape_pos,
				 "escape \\%c%0*X is not a Unicode scalar value "
				 "(surrogate or above U+10FFFF)",
				 digits == 4 ? 'u' : 'U', (int)digits, (unsigned)cp);
	return put_utf8(p, b, cp);
}

/* At a backslash inside a basic string. */
static int scan_escape(struct toml_parser *p, struct string_buf *b)
{
	struct toml_pos at = toml_scan_pos(p);
	char c;

	toml_scan_advance(p);
	switch (toml_scan_peek(p)) {
	case 'b': c = '\b'; break;
	case 't': c = '\t'; break;
	case 'n': c = '\n'; break;
	case 'f': c = '\f'; break;
	case 'r': c = '\r'; break;
	case '"': c = '"'; break;
	case '\\': c = '\\'; break;
	case 'u':
		return scan_unicode_escape(p, b, 4, at);
	case 'U':
		return scan_unicode_escape(p, b, 8, at);
	default:
		return toml_fail(p, at,
				 "invalid escape sequence: '\\' followed by %s; expected one of "
				 "\\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX",
				 toml_scan_found(p).text);
	}
	toml_scan_advance(p);
	return buf_put_char(p, b, c);
}

static int fail_unterminated(struct toml_parser *p, struct toml_pos open, const char *closing)
{
	return toml_fail(p, open, "unterminated string: %s before the closing %s",
			 toml_scan_found(p).text, closing);
}

static int fail_control(struct toml_parser *p)
{
	return toml_fail(p, toml_scan_pos(p), "%s is not allowed in a string; use an escape",
			 toml_scan_found(p).text);
}

/* Single-line basic ("...") or literal ('...') string, at the quote. */
static int scan_single_line(struct toml_parser *p, struct string_buf *b)
{
	struct toml_pos open = toml_scan_pos(p);
	int quote = toml_scan_peek(p);
	const char *closing = quote == '"' ? "'\"'" : "\"'\"";

	toml_scan_advance(p);
	for (;;) {
		int c = toml_scan_peek(p);

		if (c == quote) {
			toml_scan_advance(p);
			return 0;
		}
		if (c < 0 || toml_scan_at_newline(p))
			return fail_unterminated(p, open, closing);
		if (c == '\\' && quote == '"') {
			if (scan_escape(p, b))
				return -1;
			continue;
		}
		if (is_control(c))
			return fail_control(p);
		if (copy_current(p, b))
			return -1;
	}
}

static size_t quote_run(const struct toml_parser *p, int quote)
{
	size_t n = 0;

	while (toml_scan_peek_at(p, n) == quote)
		n++;
	return n;
}

/*
 * At a run of quotes inside a multi-line string. Up to two quotes are
 * content; three or more close the string, any extra one or two before them
 * being content ("""a""""" is 'a""'). *closed tells which.
 */
static int scan_quote_run(struct toml_parser *p, struct string_buf *b, int quote, bool *closed)
{
	size_t run = quote_run(p, quote);
	char quotes[2] = { (char)quote, (char)quote };

	*closed = run >= 3;
	if (run > 5) {
		advance_by(p, 5);
		return toml_fail(p, toml_scan_pos(p),
				 "too many quotes: at most two %s may precede the closing %s",
				 quote == '"' ? "'\"'" : "\"'\"", quote == '"' ? "'\"\"\"'" : "\"'''\"");
	}
	size_t content = *closed ? run - 3 : run;

	if (buf_put(p, b, quotes, content))
		return -1;
	advance_by(p, run);
	return 0;
}

/* A backslash whose line holds nothing more but whitespace trims all
 * whitespace and newlines that follow it. */
static bool at_line_ending_backslash(const struct toml_parser *p)
{
	size_t i = 1;
	int c = toml_scan_peek_at(p, i);

	while (c == ' ' || c == '\t')
		c = toml_scan_peek_at(p, ++i);
	return c == '\n' || (c == '\r' && toml_scan_peek_at(p, i + 1) == '\n');
}

static void skip_line_ending_backslash(struct toml_parser *p)
{
	toml_scan_advance(p);
	for (;;) {
		int c = toml_scan_peek(p);

		if (c == ' ' || c == '\t')
			toml_scan_advance(p);
		else if (toml_scan_at_newline(p))
			skip_newline(p);
		else
			return;
	}
}

/* One piece of multi-line basic string content, other than quotes. */
static int scan_ml_basic_char(struct toml_parser *p, struct string_buf *b)
{
	int c = toml_scan_peek(p);

	if (c == '\\') {
		if (!at_line_ending_backslash(p))
			return scan_escape(p, b);
		skip_line_ending_backslash(p);
		return 0;
	}
	if (toml_scan_at_newline(p)) {
		/* CRLF is stored as LF, as the spec allows, so content is the
		 * same whatever line endings the file was saved with. */
		skip_newline(p);
		return buf_put_char(p, b, '\n');
	}
	if (is_control(c))
		return fail_control(p);
	return copy_current(p, b);
}

static int scan_ml_literal_char(struct toml_parser *p, struct string_buf *b)
{
	if (toml_scan_at_newline(p)) {
		skip_newline(p);
		return buf_put_char(p, b, '\n');
	}
	if (is_control(toml_scan_peek(p)))
		return fail_control(p);
	return copy_current(p, b);
}

/* Multi-line basic ("""...""") or literal ('''...''') string, at the quotes. */
static int scan_multi_line(struct toml_parser *p, struct string_buf *b)
{
	struct toml_pos open = toml_scan_pos(p);
	int quote = toml_scan_peek(p);
	bool closed = false;

	advance_by(p, 3);
	/* A newline right after the opening delimiter is trimmed. */
	if (toml_scan_at_newline(p))
		skip_newline(p);
	while (!closed) {
		int c = toml_scan_peek(p);
		int rc;

		if (c < 0)
			return fail_unterminated(p, open, quote == '"' ? "'\"\"\"'" : "\"'''\"");
		if (c == quote)
			rc = scan_quote_run(p, b, quote, &closed);
		else if (quote == '"')
			rc = scan_ml_basic_char(p, b);
		else
			rc = scan_ml_literal_char(p, b);
		if (rc)
			return -1;
	}
	return 0;
}

static bool at_triple_quote(const struct toml_parser *p)
{
	int c = toml_scan_peek(p);

	return toml_scan_peek_at(p, 1) == c && toml_scan_peek_at(p, 2) == c;
}

/* At a '"' or '\''. Keys use allow_multiline = false. */
int toml_scan_string(struct toml_parser *p, bool allow_multiline, char **str, size_t *len)
{
	struct string_buf b = { 0 };
	int rc;

	if (at_triple_quote(p)) {
		if (!allow_multiline)
			return toml_fail(p, toml_scan_pos(p),
					 "multi-line strings cannot be used as keys");
		rc = scan_multi_line(p, &b);
	} else {
		rc = scan_single_line(p, &b);
	}
	if (rc == 0 && !b.data)
		rc = buf_put(p, &b, "", 0);
	if (rc) {
		free(b.data);
		return -1;
	}
	*str = b.data;
	*len = b.len;
	return 0;
}

/* ---- Bare scalars ----------------------------------------------------- */

/* Characters that may make up a number, boolean, float or date-time; the
 * whole run is classified at once so errors can name the token. */
static bool is_token_char(int c)
{
	return toml_scan_is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool token_is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(tok, word, n) == 0;
}

struct token {
	const char *text;
	size_t len;
	struct toml_pos pos;
};

static int fail_in_token(struct toml_parser *p, const struct token *t, size_t i,
			 const char *what)
{
	char excerpt[EXCERPT_MAX + 4];

	toml_format_text(t->text, t->len, excerpt, sizeof(excerpt));
	return toml_fail(p, pos_plus(t->pos, i), "invalid integer '%s': %s", excerpt, what);
}

static int fail_unexpected_in_token(struct toml_parser *p, const struct token *t, size_t i)
{
	char what[24];

	snprintf(what, sizeof(what), "unexpected '%c'", t->text[i]);
	return fail_in_token(p, t, i, what);
}

static int digit_in_base(char c, unsigned base)
{
	int v = hex_digit_value((unsigned char)c);

	return v >= 0 && (unsigned)v < base ? v : -1;
}

/* An underscore must sit between two digits of the number's base. */
static bool underscore_ok(const struct token *t, size_t i, size_t first_digit, unsigned base)
{
	return i > first_digit && i + 1 < t->len && digit_in_base(t->text[i - 1], base) >= 0 &&
	       digit_in_base(t->text[i + 1], base) >= 0;
}

/* Digits (and underscores) from t->text[start] on; magnitude up to `limit`. */
static int accumulate_digits(struct toml_parser *p, const struct token *t, size_t start,
			     unsigned base, uint64_t limit, uint64_t *out)
{
	uint64_t value = 0;

	for (size_t i = start; i < t->len; i++) {
		int d = digit_in_base(t->text[i], base);

		if (t->text[i] == '_') {
			if (!underscore_ok(t, i, start, base))
				return fail_in_token(p, t, i, "'_' must be between two digits");
			continue;
		}
		if (d < 0)
			return fail_unexpected_in_token(p, t, i);
		if (value > (limit - (unsigned)d) / base)
			return fail_in_token(p, t, 0, "does not fit in a signed 64-bit integer");
		value = value * base + (unsigned)d;
	}
	*out = value;
	return 0;
}

static int parse_decimal(struct toml_parser *p, const struct token *t, int64_t *out)
{
	size_t i = t->text[0] == '+' || t->text[0] == '-' ? 1 : 0;
	bool negative = t->text[0] == '-';
	uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t magnitude;

	if (i == t->len || !is_digit(t->text[i]))
		return fail_in_token(p, t, i, "expected a digit after the sign");
	if (t->text[i] == '0' && i + 1 < t->len && (is_digit(t->text[i + 1]) || t->text[i + 1] == '_'))
		return fail_in_token(p, t, i, "leading zeros are not allowed");
	if (accumulate_digits(p, t, i, 10, limit, &magnitude))
		return -1;
	if (negative)
		*out = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
	else
		*out = (int64_t)magnitude;
	return 0;
}

/* 0x, 0o or 0b: unsigned forms, so at most INT64_MAX. */
static int parse_prefixed(struct toml_parser *p, const struct token *t, int64_t *out)
{
	unsigned base = t->text[1] == 'x' ? 16 : t->text[1] == 'o' ? 8 : 2;
	uint64_t value;

	if (t->len == 2 || digit_in_base(t->text[2], base) < 0) {
		char what[48];

		snprintf(what, sizeof(what), "expected a base-%u digit after '0%c'", base,
			 t->text[1]);
		return fail_in_token(p, t, 2, what);
	}
	if (accumulate_digits(p, t, 2, base, INT64_MAX, &value))
		return -1;
	*out = (int64_t)value;
	return 0;
}

static bool looks_like_date_time(const struct token *t)
{
	if (!is_digit(t->text[0]))
		return false;
	if (memchr(t->text, ':', t->len))
		return true;
	return t->len > 4 && is_digit(t->text[1]) && is_digit(t->text[2]) &&
	       is_digit(t->text[3]) && t->text[4] == '-';
}

static bool looks_like_float(const struct token *t)
{
	size_t sign = t->text[0] == '+' || t->text[0] == '-' ? 1 : 0;
	const char *rest = t->text + sign;
	size_t n = t->len - sign;

	if (token_is(rest, n, "inf") || token_is(rest, n, "nan"))
		return true;
	if (n == 0 || !is_digit(rest[0]))
		return false;
	return memchr(rest, '.', n) || memchr(rest, 'e', n) || memchr(rest, 'E', n);
}

static bool has_radix_prefix(const struct token *t)
{
	return t->len >= 2 && t->text[0] == '0' &&
	       (t->text[1] == 'x' || t->text[1] == 'o' || t->text[1] == 'b');
}

static bool looks_like_integer(const struct token *t)
{
	size_t sign = t->text[0] == '+' || t->text[0] == '-' ? 1 : 0;

	return sign < t->len ? is_digit(t->text[sign]) : sign == 1;
}

static int classify_token(struct toml_parser *p, const struct token *t, struct toml_value *out)
{
	char excerpt[EXCERPT_MAX + 4];

	if (token_is(t->text, t->len, "true") || token_is(t->text, t->len, "false")) {
		out->type = TOML_BOOLEAN;
		out->u.boolean = t->text[0] == 't';
		return 0;
	}
	if (looks_like_date_time(t))
		return toml_fail(p, t->pos, "date-time values are not supported");
	out->type = TOML_INTEGER;
	if (has_radix_prefix(t))
		return parse_prefixed(p, t, &out->u.integer);
	if (looks_like_float(t))
		return toml_fail(p, t->pos, "floating-point values are not supported");
	if (looks_like_integer(t))
		return parse_decimal(p, t, &out->u.integer);
	toml_format_text(t->text, t->len, excerpt, sizeof(excerpt));
	return toml_fail(p, t->pos,
			 "expected a value (string, integer, boolean, array or inline table), "
			 "found '%s'; strings must be quoted", excerpt);
}

/* At a value that is not a string, array or inline table. */
int toml_scan_scalar(struct toml_parser *p, struct toml_value *out)
{
	struct token t = { .text = p->text + p->off, .pos = toml_scan_pos(p) };

	while (is_token_char(toml_scan_peek_at(p, t.len)))
		t.len++;
	if (t.len == 0)
		return toml_fail(p, t.pos,
				 "expected a value (string, integer, boolean, array or inline table), "
				 "found %s", toml_scan_found(p).text);
	if (classify_token(p, &t, out))
		return -1;
	advance_by(p, t.len);
	return 0;
}
