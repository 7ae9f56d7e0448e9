/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the TOML parser (vmm/config/toml*.c).
 *
 * Besides the cases written out here, two corpora are checked:
 *   tests/fixtures/toml/valid/   each "# expect: PATH TYPE [VALUE] [@LINE:COL]"
 *                                comment is looked up and compared;
 *   tests/fixtures/toml/invalid/ the first line "# error: LINE:COL: TEXT"
 *                                gives the error position and a substring
 *                                of the message.
 * PATH separates keys with '/', so keys may contain dots; a number indexes
 * an array. VALUE is a quoted string (\n \r \t \\ \" \xHH escapes), an integer,
 * true/false, or the element count of an array or table.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "vmm/config/toml.h"

#define VALID_DIR "tests/fixtures/toml/valid"
#define INVALID_DIR "tests/fixtures/toml/invalid"

/* ---- Helpers ---------------------------------------------------------- */

/* Exactly `len` bytes, no NUL after them, so ASan catches any over-read. */
static char *exact_copy(const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, text, len);
	return copy;
}

static struct toml_table *parse_len(const char *text, size_t len, struct toml_error *err)
{
	char *copy = exact_copy(text, len);
	struct toml_table *root = toml_parse(copy, len, err);

	free(copy);
	return root;
}

static struct toml_table *parse_ok(const char *text)
{
	struct toml_error err = { 0 };
	struct toml_table *root = parse_len(text, strlen(text), &err);

	ck_assert_msg(root != NULL, "parse of <<%s>> failed at %u:%u: %s", text, err.pos.line,
		      err.pos.col, err.message);
	return root;
}

static void check_error_len(const char *text, size_t len, unsigned line, unsigned col,
			    const char *substring)
{
	struct toml_error err = { 0 };
	struct toml_table *root = parse_len(text, len, &err);

	ck_assert_msg(root == NULL, "<<%s>> parsed but should fail", text);
	ck_assert_msg(err.pos.line == line && err.pos.col == col,
		      "<<%s>>: error at %u:%u, expected %u:%u (%s)", text, err.pos.line,
		      err.pos.col, line, col, err.message);
	ck_assert_msg(strstr(err.message, substring), "<<%s>>: message '%s' lacks '%s'", text,
		      err.message, substring);
	ck_assert_uint_lt(strlen(err.message), 200);
}

static void check_error(const char *text, unsigned line, unsigned col, const char *substring)
{
	check_error_len(text, strlen(text), line, col, substring);
}

/* Follow a '/'-separated path of keys and array indexes from the root. */
static const struct toml_value *lookup(const struct toml_table *root, const char *path)
{
	const struct toml_value *value = NULL; /* NULL while still at the root */
	char segment[128];

	while (*path) {
		size_t n = strcspn(path, "/");

		ck_assert_uint_lt(n, sizeof(segment));
		memcpy(segment, path, n);
		segment[n] = '\0';
		path += path[n] ? n + 1 : n;
		if (!value)
			value = toml_table_get(root, segment);
		else if (value->type == TOML_TABLE)
			value = toml_table_get(value->u.table, segment);
		else if (value->type == TOML_ARRAY && strtoul(segment, NULL, 10) < value->u.array->count)
			value = &value->u.array->items[strtoul(segment, NULL, 10)];
		else
			return NULL;
		if (!value)
			return NULL;
	}
	return value;
}

static const struct toml_value *get_typed(const struct toml_table *root, const char *path,
					  enum toml_type type)
{
	const struct toml_value *value = lookup(root, path);

	ck_assert_msg(value != NULL, "'%s' not found", path);
	ck_assert_msg(value->type == type, "'%s' is a %s, expected a %s", path,
		      toml_type_name(value->type), toml_type_name(type));
	return value;
}

static void check_string(const struct toml_table *root, const char *path, const char *expected,
			 size_t len)
{
	const struct toml_value *value = get_typed(root, path, TOML_STRING);

	ck_assert_msg(value->u.string.len == len, "'%s' has length %zu, expected %zu", path,
		      value->u.string.len, len);
	ck_assert_msg(memcmp(value->u.string.str, expected, len) == 0, "'%s' = '%s'", path,
		      value->u.string.str);
	ck_assert_int_eq(value->u.string.str[len], '\0');
}

#define CHECK_STRING(root, path, literal) check_string(root, path, literal, sizeof(literal) - 1)

static void check_integer(const struct toml_table *root, const char *path, int64_t expected)
{
	const struct toml_value *value = get_typed(root, path, TOML_INTEGER);

	ck_assert_msg(value->u.integer == expected, "'%s' = %" PRId64 ", expected %" PRId64, path,
		      value->u.integer, expected);
}

static void check_pos(struct toml_pos pos, unsigned line, unsigned col)
{
	ck_assert_msg(pos.line == line && pos.col == col, "position %u:%u, expected %u:%u",
		      pos.line, pos.col, line, col);
}

static void check_value_pos(const struct toml_table *root, const char *path, unsigned line,
			    unsigned col)
{
	const struct toml_value *value = lookup(root, path);

	ck_assert_msg(value != NULL, "'%s' not found", path);
	check_pos(value->pos, line, col);
}

static const struct toml_entry *entry_of(const struct toml_table *table, const char *key)
{
	for (size_t i = 0; i < table->count; i++)
		if (strcmp(table->entries[i].key, key) == 0)
			return &table->entries[i];
	ck_abort_msg("no entry '%s'", key);
	return NULL;
}

static void check_override_ok(struct toml_table *root, const char *assignment)
{
	struct toml_error err = { 0 };

	ck_assert_msg(toml_apply_override(root, assignment, &err) == 0,
		      "override '%s' failed at %u:%u: %s", assignment, err.pos.line, err.pos.col,
		      err.message);
}

static void check_override_error(const char *document, const char *assignment, unsigned col,
				 const char *substring)
{
	struct toml_table *root = parse_ok(document);
	struct toml_error err = { 0 };

	ck_assert_msg(toml_apply_override(root, assignment, &err) != 0, "'%s' was accepted",
		      assignment);
	ck_assert_msg(err.pos.line == 0 && err.pos.col == col, "'%s': error at %u:%u, expected 0:%u (%s)",
		      assignment, err.pos.line, err.pos.col, col, err.message);
	ck_assert_msg(strstr(err.message, substring), "'%s': message '%s' lacks '%s'", assignment,
		      err.message, substring);
	toml_table_free(root);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *file = fopen(path, "rb");
	char *text;
	long size;

	ck_assert_msg(file != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(file, 0, SEEK_END), 0);
	size = ftell(file);
	ck_assert_int_ge(size, 0);
	rewind(file);
	text = malloc(size ? (size_t)size : 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)size, file), (size_t)size);
	fclose(file);
	*len = (size_t)size;
	return text;
}

static int is_toml_file(const struct dirent *entry)
{
	size_t n = strlen(entry->d_name);

	return n > 5 && strcmp(entry->d_name + n - 5, ".toml") == 0;
}

/* Call fn(path) for each .toml file in dir, in name order; returns the count. */
static int for_each_fixture(const char *dir, void (*fn)(const char *path))
{
	struct dirent **names;
	int count = scandir(dir, &names, is_toml_file, alphasort);
	char path[512];

	ck_assert_msg(count >= 0, "cannot list %s (tests run from the top of the tree)", dir);
	for (int i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		fn(path);
		free(names[i]);
	}
	free(names);
	return count;
}

/* ---- Scalars ---------------------------------------------------------- */

START_TEST(test_scalars_types_values_positions)
{
	struct toml_table *root = parse_ok("# comment\n"
					   "name = \"vm0\"\n"
					   "  vcpus=4 # trailing\n"
					   "debug = true\n"
					   "quiet = false\n"
					   "path = 'C:\\x'\n");

	ck_assert_uint_eq(root->count, 5);
	CHECK_STRING(root, "name", "vm0");
	check_integer(root, "vcpus", 4);
	ck_assert(get_typed(root, "debug", TOML_BOOLEAN)->u.boolean);
	ck_assert(!get_typed(root, "quiet", TOML_BOOLEAN)->u.boolean);
	CHECK_STRING(root, "path", "C:\\x");
	check_pos(entry_of(root, "name")->key_pos, 2, 1);
	check_value_pos(root, "name", 2, 8);
	check_pos(entry_of(root, "vcpus")->key_pos, 3, 3);
	check_value_pos(root, "vcpus", 3, 9);
	check_value_pos(root, "quiet", 5, 9);
	/* Entries keep document order. */
	ck_assert_str_eq(root->entries[0].key, "name");
	ck_assert_str_eq(root->entries[4].key, "path");
	toml_table_free(root);
}
END_TEST

START_TEST(test_string_escapes)
{
	struct toml_table *root = parse_ok("all = \"\\b\\t\\n\\f\\r\\\"\\\\\"\n"
					   "nul = \"a\\u0000b\"\n"
					   "one = \"\\u0041\"\n"
					   "two = \"\\u00e9\"\n"
					   "three = \"\\u20AC\"\n"
					   "four = \"\\U0001F600\"\n"
					   "max = \"\\U0010FFFF\"\n"
					   "edges = \"\\uD7FF\\uE000\\uFFFF\"\n"
					   "literal = '\\n is not an escape'\n");

	CHECK_STRING(root, "all", "\b\t\n\f\r\"\\");
	CHECK_STRING(root, "nul", "a\0b");
	CHECK_STRING(root, "one", "A");
	CHECK_STRING(root, "two", "\xc3\xa9");
	CHECK_STRING(root, "three", "\xe2\x82\xac");
	CHECK_STRING(root, "four", "\xf0\x9f\x98\x80");
	CHECK_STRING(root, "max", "\xf4\x8f\xbf\xbf");
	CHECK_STRING(root, "edges", "\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf");
	CHECK_STRING(root, "literal", "\\n is not an escape");
	toml_table_free(root);
}
END_TEST

START_TEST(test_string_escape_errors)
{
	check_error("a = \"\\uD800\"", 1, 6, "not a Unicode scalar value");
	check_error("a = \"\\uDFFF\"", 1, 6, "not a Unicode scalar value");
	check_error("a = \"\\U0000DC00\"", 1, 6, "not a Unicode scalar value");
	check_error("a = \"\\U00110000\"", 1, 6, "not a Unicode scalar value");
	check_error("a = \"\\UFFFFFFFF\"", 1, 6, "not a Unicode scalar value");
	check_error("a = \"\\u12G4\"", 1, 10, "expected 4 hex digits in \\u escape, found 'G'");
	check_error("a = \"\\U1234\"", 1, 12, "expected 8 hex digits in \\U escape");
	check_error("a = \"\\e\"", 1, 6, "invalid escape sequence: '\\' followed by 'e'");
	check_error("a = \"\\x41\"", 1, 6, "invalid escape sequence");
	check_error("a = \"x\\", 1, 7, "invalid escape sequence: '\\' followed by end of input");
	check_error("a = \"\\", 1, 6, "invalid escape sequence: '\\' followed by end of input");
}
END_TEST

START_TEST(test_multiline_strings)
{
	struct toml_table *root = parse_ok("a = \"\"\"\nline1\nline2\"\"\"\n"
					   "b = \"\"\"\r\nx\r\ny\"\"\"\n"
					   "c = \"\"\"one \\  \n\n   two\"\"\"\n"
					   "d = \"\"\"\"quoted\" \"\"\"\"\"\n"
					   "e = '''\n\\raw\n'''\n"
					   "f = '''it''s'''\n"
					   "g = \"\"\"\"\"\"\n"
					   "h = \"\"\"tab\there \\u00e9\"\"\"\n");

	CHECK_STRING(root, "a", "line1\nline2");
	/* CRLF inside the string is stored as LF. */
	CHECK_STRING(root, "b", "x\ny");
	/* A line-ending backslash eats the newline and following whitespace. */
	CHECK_STRING(root, "c", "one two");
	CHECK_STRING(root, "d", "\"quoted\" \"\"");
	CHECK_STRING(root, "e", "\\raw\n");
	CHECK_STRING(root, "f", "it''s");
	CHECK_STRING(root, "g", "");
	CHECK_STRING(root, "h", "tab\there \xc3\xa9");
	check_value_pos(root, "b", 4, 5);
	check_pos(entry_of(root, "c")->key_pos, 7, 1);
	toml_table_free(root);
}
END_TEST

START_TEST(test_integers)
{
	static const struct {
		const char *text;
		int64_t value;
	} cases[] = {
		{ "a = 0", 0 },
		{ "a = +0", 0 },
		{ "a = -0", 0 },
		{ "a = 7", 7 },
		{ "a = +42", 42 },
		{ "a = -42", -42 },
		{ "a = 1_000", 1000 },
		{ "a = 5_3_4", 534 },
		{ "a = 9223372036854775807", INT64_MAX },
		{ "a = -9223372036854775808", INT64_MIN },
		{ "a = 0xff", 255 },
		{ "a = 0xDEAD_beef", 0xdeadbeef },
		{ "a = 0x7fffffffffffffff", INT64_MAX },
		{ "a = 0x00", 0 },
		{ "a = 0o755", 0755 },
		{ "a = 0o0_7", 7 },
		{ "a = 0b1010", 10 },
		{ "a = 0b0000_0001", 1 },
		{ "a = 0x1e5", 0x1e5 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct toml_table *root = parse_ok(cases[i].text);

		check_integer(root, "a", cases[i].value);
		toml_table_free(root);
	}
}
END_TEST

START_TEST(test_integer_errors)
{
	check_error("a = 01", 1, 5, "leading zeros are not allowed");
	check_error("a = +00", 1, 6, "leading zeros");
	check_error("a = 1__2", 1, 6, "'_' must be between two digits");
	check_error("a = 1_", 1, 6, "'_' must be between two digits");
	check_error("a = 0b_1", 1, 7, "expected a base-2 digit after '0b'");
	check_error("a = 0x1_", 1, 8, "'_' must be between two digits");
	check_error("a = 0o8", 1, 7, "expected a base-8 digit");
	check_error("a = 0o17_8", 1, 9, "'_' must be between two digits");
	check_error("a = 0o178", 1, 9, "invalid integer '0o178': unexpected '8'");
	check_error("a = 9223372036854775808", 1, 5, "does not fit in a signed 64-bit integer");
	check_error("a = -9223372036854775809", 1, 5, "does not fit");
	check_error("a = 99999999999999999999999", 1, 5, "does not fit");
	check_error("a = 0x8000000000000000", 1, 5, "does not fit");
	check_error("a = 0o1000000000000000000000", 1, 5, "does not fit");
	check_error("a = -0x1", 1, 7, "unexpected 'x'");
	check_error("a = 0B1", 1, 6, "unexpected 'B'");
	check_error("a = 12a", 1, 7, "invalid integer '12a': unexpected 'a'");
	check_error("a = +", 1, 6, "expected a digit after the sign");
}
END_TEST

START_TEST(test_unsupported_values_rejected)
{
	static const char *const floats[] = {
		"a = 1.0", "a = -3.14", "a = 1e6", "a = 5E+22", "a = 6.626e-34", "a = 1_0.5",
		"a = inf", "a = +inf", "a = -inf", "a = nan", "a = +nan", "a = -nan",
	};
	static const char *const date_times[] = {
		"a = 1979-05-27T07:32:00Z", "a = 1979-05-27 07:32:00", "a = 1979-05-27",
		"a = 07:32:00", "a = 00:32:00.999999", "a = 1979-05-27T00:32:00-07:00",
	};

	for (size_t i = 0; i < sizeof(floats) / sizeof(floats[0]); i++)
		check_error(floats[i], 1, 5, "floating-point values are not supported");
	for (size_t i = 0; i < sizeof(date_times) / sizeof(date_times[0]); i++)
		check_error(date_times[i], 1, 5, "date-time values are not supported");
	check_error("a = [1, 2.5]", 1, 9, "floating-point values are not supported");
	check_error("a = {x = 1, y = nan}", 1, 17, "floating-point values are not supported");
}
END_TEST

START_TEST(test_bare_words_rejected)
{
	check_error("a = True", 1, 5, "found 'True'");
	check_error("a = yes", 1, 5, "expected a value (string, integer, boolean, array or inline table), found 'yes'");
	check_error("a = truex", 1, 5, "found 'truex'");
	check_error("a = @", 1, 5, "expected a value");
	check_error("a = ", 1, 5, "found end of input");
	check_error("a =\n", 1, 4, "found end of line");
}
END_TEST

/* ---- Arrays and inline tables ----------------------------------------- */

START_TEST(test_arrays)
{
	struct toml_table *root = parse_ok("empty = []\n"
					   "mixed = [ 1, 'two', [true], {k = -1} ]\n"
					   "multi = [\n"
					   "  1, # one\n"
					   "\n"
					   "  2,\n"
					   "]\n"
					   "nested = [[[]]]\n");
	const struct toml_value *mixed = get_typed(root, "mixed", TOML_ARRAY);

	ck_assert_uint_eq(get_typed(root, "empty", TOML_ARRAY)->u.array->count, 0);
	ck_assert_uint_eq(mixed->u.array->count, 4);
	ck_assert(!mixed->u.array->of_tables);
	check_integer(root, "mixed/0", 1);
	CHECK_STRING(root, "mixed/1", "two");
	ck_assert(get_typed(root, "mixed/2/0", TOML_BOOLEAN)->u.boolean);
	check_integer(root, "mixed/3/k", -1);
	check_value_pos(root, "mixed", 2, 9);
	check_value_pos(root, "mixed/1", 2, 14);
	check_value_pos(root, "mixed/3", 2, 29);
	ck_assert_uint_eq(get_typed(root, "multi", TOML_ARRAY)->u.array->count, 2);
	check_value_pos(root, "multi/1", 6, 3);
	ck_assert_uint_eq(get_typed(root, "nested/0/0", TOML_ARRAY)->u.array->count, 0);
	toml_table_free(root);
}
END_TEST

START_TEST(test_array_errors)
{
	check_error("a = [1 2]", 1, 8, "expected ',' or ']' in array, found '2'");
	check_error("a = [1,,2]", 1, 8, "expected a value");
	check_error("a = [,]", 1, 6, "expected a value");
	check_error("a = [1,\n2", 2, 2, "found end of input");
	check_error("a = [1 # comment ]", 1, 19, "found end of input");
	check_error("a = [1, # \x01\n]", 1, 11, "control character U+0001 is not allowed in a comment");
}
END_TEST

START_TEST(test_inline_tables)
{
	struct toml_table *root = parse_ok("empty = {}\n"
					   "point = { x = 1, y = -2 }\n"
					   "dotted = { a.b = 1, a.c = 'x', d = { e = true } }\n"
					   "with_array = { list = [\n  1,\n  2,\n] }\n");
	const struct toml_value *point = get_typed(root, "point", TOML_TABLE);

	ck_assert_uint_eq(get_typed(root, "empty", TOML_TABLE)->u.table->count, 0);
	ck_assert_uint_eq(point->u.table->count, 2);
	check_integer(root, "point/y", -2);
	check_pos(entry_of(point->u.table, "y")->key_pos, 2, 18);
	check_value_pos(root, "point", 2, 9);
	check_value_pos(root, "point/y", 2, 22);
	check_integer(root, "dotted/a/b", 1);
	CHECK_STRING(root, "dotted/a/c", "x");
	ck_assert(get_typed(root, "dotted/d/e", TOML_BOOLEAN)->u.boolean);
	check_integer(root, "with_array/list/1", 2);
	toml_table_free(root);
}
END_TEST

START_TEST(test_inline_table_errors)
{
	check_error("a = {b = 1,}", 1, 12, "no trailing comma allowed");
	check_error("a = {b = 1\n}", 1, 11, "expected ',' or '}' in inline table, found end of line");
	check_error("a = {b = 1, b = 2}", 1, 13, "duplicate key 'b' (first defined at 1:6)");
	check_error("a = {b.c = 1, b = 2}", 1, 15, "duplicate key 'b'");
	check_error("a = {b = {c = 1}, b.d = 2}", 1, 19, "cannot extend inline table 'b'");
	check_error("a = {}\na.b = 1", 2, 1, "cannot extend inline table 'a' (defined at 1:5)");
	check_error("a = {}\n[a]", 2, 2, "table 'a' already defined as an inline table at 1:5");
	check_error("a = {b = {}}\n[a.b.c]", 2, 2, "cannot extend inline table 'a'");
	check_error("a = [{}]\n[[a]]", 2, 3, "cannot append to statically defined array 'a'");
	check_error("a = {", 1, 6, "expected a key, found end of input");
}
END_TEST

/* ---- Keys and tables -------------------------------------------------- */

START_TEST(test_keys)
{
	struct toml_table *root = parse_ok("bare_key-1 = 1\n"
					   "\"quoted key\" = 2\n"
					   "'literal \"key\"' = 3\n"
					   "\"\" = 4\n"
					   "\"a.b\" = 5\n"
					   "x . \"y.z\" . 'w' = 6\n"
					   "1234 = 7\n"
					   "\"\\u00e9\" = 8\n");

	check_integer(root, "bare_key-1", 1);
	check_integer(root, "quoted key", 2);
	check_integer(root, "literal \"key\"", 3);
	ck_assert_int_eq(toml_table_get(root, "")->u.integer, 4);
	check_integer(root, "a.b", 5);
	check_integer(root, "x/y.z/w", 6);
	check_integer(root, "1234", 7);
	check_integer(root, "\xc3\xa9", 8);
	/* The position of a dotted key is that of its last part. */
	check_pos(entry_of(get_typed(root, "x/y.z", TOML_TABLE)->u.table, "w")->key_pos, 6, 13);
	check_pos(entry_of(root, "x")->key_pos, 6, 1);
	check_pos(entry_of(get_typed(root, "x", TOML_TABLE)->u.table, "y.z")->key_pos, 6, 5);
	toml_table_free(root);
}
END_TEST

START_TEST(test_table_headers)
{
	struct toml_table *root = parse_ok("top = 1\n"
					   "[vm]\n"
					   "memory = \"128M\"\n"
					   "[ devices . \"serial port\" ]\n"
					   "irq = 4\n"
					   "[a.b.c]\n"
					   "x = 1\n"
					   "[a]\n"
					   "y = 2\n"
					   "[a.b.d]\n");

	ck_assert_uint_eq(root->count, 4);
	CHECK_STRING(root, "vm/memory", "128M");
	check_integer(root, "devices/serial port/irq", 4);
	check_integer(root, "a/b/c/x", 1);
	check_integer(root, "a/y", 2);
	ck_assert_uint_eq(get_typed(root, "a/b/d", TOML_TABLE)->u.table->count, 0);
	/* A header table starts at its '['; its key where the name is written. */
	check_value_pos(root, "vm", 2, 1);
	check_pos(entry_of(root, "vm")->key_pos, 2, 2);
	check_value_pos(root, "devices/serial port", 4, 1);
	/* [a] defined after [a.b.c] implied it: the header is where it starts. */
	check_value_pos(root, "a", 8, 1);
	toml_table_free(root);
}
END_TEST

START_TEST(test_dotted_keys_and_tables)
{
	struct toml_table *root = parse_ok("[fruit]\n"
					   "apple.color = \"red\"\n"
					   "apple.taste.sweet = true\n"
					   "[fruit.apple.texture]\n"
					   "smooth = true\n"
					   "[x.y.z]\n"
					   "[x]\n"
					   "y.w = 1\n");

	CHECK_STRING(root, "fruit/apple/color", "red");
	ck_assert(get_typed(root, "fruit/apple/taste/sweet", TOML_BOOLEAN)->u.boolean);
	ck_assert(get_typed(root, "fruit/apple/texture/smooth", TOML_BOOLEAN)->u.boolean);
	/* Dotted keys may add to a table that a header only implied. */
	check_integer(root, "x/y/w", 1);
	ck_assert_uint_eq(get_typed(root, "x/y/z", TOML_TABLE)->u.table->count, 0);
	toml_table_free(root);
}
END_TEST

START_TEST(test_array_of_tables)
{
	struct toml_table *root = parse_ok("[[disk]]\n"
					   "path = \"a.img\"\n"
					   "[disk.options]\n"
					   "ro = true\n"
					   "[[disk]]\n"
					   "path = \"b.img\"\n"
					   "[[disk.part]]\n"
					   "n = 1\n"
					   "[[disk.part]]\n"
					   "n = 2\n"
					   "[[other]]\n");
	const struct toml_value *disk = get_typed(root, "disk", TOML_ARRAY);

	ck_assert(disk->u.array->of_tables);
	ck_assert_uint_eq(disk->u.array->count, 2);
	CHECK_STRING(root, "disk/0/path", "a.img");
	ck_assert(get_typed(root, "disk/0/options/ro", TOML_BOOLEAN)->u.boolean);
	CHECK_STRING(root, "disk/1/path", "b.img");
	ck_assert_ptr_null(lookup(root, "disk/1/options"));
	ck_assert(get_typed(root, "disk/1/part", TOML_ARRAY)->u.array->of_tables);
	check_integer(root, "disk/1/part/1/n", 2);
	ck_assert_uint_eq(get_typed(root, "other", TOML_ARRAY)->u.array->count, 1);
	check_value_pos(root, "disk", 1, 1);
	check_value_pos(root, "disk/1", 5, 1);
	check_pos(entry_of(root, "disk")->key_pos, 1, 3);
	toml_table_free(root);
}
END_TEST

START_TEST(test_table_rule_errors)
{
	check_error("a = 1\na = 2", 2, 1, "duplicate key 'a' (first defined at 1:1)");
	check_error("[vm]\nvcpus = 1\nmemory = 2\nvcpus = 3", 4, 1,
		    "duplicate key 'vcpus' (first defined at 2:1)");
	check_error("[a]\n[a]", 2, 2, "table 'a' already defined by a header at 1:1");
	check_error("[a]\n[b]\n[a]", 3, 2, "already defined by a header");
	check_error("a.b = 1\n[a]", 2, 2, "table 'a' already defined by dotted keys");
	check_error("[a]\nb.c = 1\n[a.b]", 3, 4, "table 'a.b' already defined by dotted keys");
	check_error("[a.b.c]\n[a]\nb.c.d = 1", 3, 3, "cannot add to table 'b.c' with a dotted key");
	check_error("[[a]]\n[a]", 2, 2, "'a' is an array of tables (defined at 1:1); use [[a]]");
	check_error("[a]\n[[a]]", 2, 3, "cannot define array of tables 'a': it is already a table");
	check_error("a = []\n[[a]]", 2, 3, "cannot append to statically defined array 'a' (defined at 1:5)");
	check_error("a = 1\n[a]", 2, 2, "cannot define table 'a': it is already an integer (defined at 1:1)");
	check_error("a = 1\n[a.b]", 2, 2, "'a' is an integer (defined at 1:1), not a table");
	check_error("a = [1]\n[a.b]", 2, 2, "'a' is an array (defined at 1:5), not a table");
	check_error("a = 'x'\na.b = 1", 2, 1, "'a' is a string (defined at 1:1), not a table");
	check_error("[a]\nb = 1\n[a.b.c]", 3, 4, "'a.b' is an integer");
	check_error("[a.b]\n[a]\nb = 1", 3, 1, "duplicate key 'b' (first defined at 1:4)");
	check_error("a = true\n[a]", 2, 2, "cannot define table 'a': it is already a boolean");
}
END_TEST

START_TEST(test_syntax_errors)
{
	/* The two messages the config layer documents, verbatim. */
	struct toml_error err;

	ck_assert_ptr_null(toml_parse("[vm]\nmemory x\n", 14, &err));
	ck_assert_str_eq(err.message, "expected '=' after key 'memory', found 'x'");
	check_pos(err.pos, 2, 8);
	ck_assert_ptr_null(toml_parse("x = 1\n\nvcpus = 1\nvcpus = 2\n", 27, &err));
	ck_assert_str_eq(err.message, "duplicate key 'vcpus' (first defined at 3:1)");
	check_pos(err.pos, 4, 1);

	check_error("= 1", 1, 1, "expected a key, found '='");
	check_error("a.= 1", 1, 3, "expected a key after '.', found '='");
	check_error("a b = 1", 1, 3, "expected '=' after key 'a', found 'b'");
	check_error("\"\"\"a\"\"\" = 1", 1, 1, "multi-line strings cannot be used as keys");
	check_error("\"a\\u0000\" = 1", 1, 1, "keys containing U+0000 are not supported");
	check_error("a = 1 b = 2", 1, 7, "expected end of line after value, found 'b'");
	check_error("[a] b = 1", 1, 5, "expected end of line after table header, found 'b'");
	check_error("[a", 1, 3, "expected ']' to close table header, found end of input");
	check_error("[[a]", 1, 5, "expected ']]' to close array-of-tables header");
	check_error("[]", 1, 2, "expected a key, found ']'");
	check_error("a = \"x\ny\"", 1, 5, "unterminated string: end of line before the closing '\"'");
	check_error("a = 'x", 1, 5, "unterminated string: end of input");
	check_error("a = '''x''''''", 1, 14, "too many quotes");
	check_error("a = 1\rb = 2", 1, 6, "found control character U+000D");
	check_error("\xef\xbb\xbf" "a = 1", 1, 1, "expected a key");
	check_error("[[a]\t]", 1, 5, "expected ']]' to close array-of-tables header, found a tab");
	check_error("a = 1 'x'", 1, 7, "expected end of line after value, found \"'\"");
}
END_TEST

/* Keys quoted in messages are cut short so messages stay under 200 bytes. */
START_TEST(test_long_keys_in_messages)
{
	char text[700];
	struct toml_error err;

	snprintf(text, sizeof(text), "%1$s = 1\n%1$s = 2\n",
		 "a_very_long_key_name_that_goes_on_and_on_and_on_and_on_and_on_and_on");
	ck_assert_ptr_null(toml_parse(text, strlen(text), &err));
	ck_assert_str_eq(err.message, "duplicate key 'a_very_long_key_name_that_goes_on_and_on_and_on_...' "
				      "(first defined at 1:1)");
	snprintf(text, sizeof(text), "[%1$s.%2$s.%1$s]\n[%1$s.%2$s.%1$s]\n",
		 "\"\\u00e9\\u0001-first-part-that-is-long-enough-to-matter\"",
		 "second_part_that_is_also_fairly_long_indeed");
	ck_assert_ptr_null(toml_parse(text, strlen(text), &err));
	ck_assert_str_eq(err.message, "table '??" "?-first-part-that-is-long-enough-to-matter.sec...' "
				      "already defined by a header at 1:1");
	/* Every character of a 300-byte key is seen, only 48 are quoted. */
	memset(text, 'k', 300);
	strcpy(text + 300, " x");
	ck_assert_ptr_null(toml_parse(text, strlen(text), &err));
	ck_assert_uint_lt(strlen(err.message), 200);
	check_pos(err.pos, 1, 302);
}
END_TEST

START_TEST(test_nul_and_control_characters)
{
	check_error_len("a = 1\0", 6, 1, 6, "control character U+0000");
	check_error_len("\0", 1, 1, 1, "expected a key, found control character U+0000");
	check_error_len("a = \"x\0\"", 8, 1, 7, "control character U+0000 is not allowed in a string");
	check_error_len("a = 'x\0'", 8, 1, 7, "control character U+0000");
	check_error_len("a = \"\"\"\0\"\"\"", 11, 1, 8, "control character U+0000");
	check_error_len("a = '''\0'''", 11, 1, 8, "control character U+0000");
	check_error_len("# \0\na = 1", 9, 1, 3, "control character U+0000 is not allowed in a comment");
	check_error_len("a\0 = 1", 6, 1, 2, "control character U+0000");
	check_error_len("[a\0]", 4, 1, 3, "control character U+0000");
	check_error("a = \"\x1f\"", 1, 6, "control character U+001F");
	check_error("a = \"\x7f\"", 1, 6, "control character U+007F");
	check_error("# \x08", 1, 3, "control character U+0008");
	check_error("a = \"\xff\"", 1, 6, "invalid UTF-8 byte 0xFF");
	check_error("\n\n  # \xc3\x28", 3, 5, "invalid UTF-8 byte 0xC3");
	check_error("a = '\xf4\x90\x80\x80'", 1, 6, "invalid UTF-8 byte 0xF4");
}
END_TEST

START_TEST(test_never_reads_past_len)
{
	struct toml_error err;
	const char text[] = "a = 12345";
	struct toml_table *root = parse_len(text, 6, &err);

	ck_assert_ptr_nonnull(root);
	check_integer(root, "a", 12);
	toml_table_free(root);
	/* A string whose closing quote lies past len is unterminated. */
	check_error_len("a = \"abc\"", 8, 1, 5, "unterminated string: end of input");
	check_error_len("a = \"\\u00e9\"", 9, 1, 10, "expected 4 hex digits");
	check_error_len("a = '''x'''", 10, 1, 5, "unterminated string");
	check_error_len("a = 0x1", 6, 1, 7, "expected a base-16 digit");
	check_error_len("a = \xc3\xa9", 5, 1, 5, "invalid UTF-8 byte 0xC3");
	check_error_len("[a]]", 2, 1, 3, "found end of input");
}
END_TEST

START_TEST(test_empty_documents)
{
	struct toml_error err;
	struct toml_table *root = toml_parse(NULL, 0, &err);

	ck_assert_ptr_nonnull(root);
	ck_assert_uint_eq(root->count, 0);
	toml_table_free(root);
	root = parse_ok(" \t\n# only a comment\r\n\n");
	ck_assert_uint_eq(root->count, 0);
	toml_table_free(root);
	toml_table_free(NULL);
}
END_TEST

/* "a = " and `depth` nested empty arrays: the outermost one is at depth 1. */
static size_t nested_arrays(char *text, size_t depth)
{
	memcpy(text, "a = ", 4);
	memset(text + 4, '[', depth);
	memset(text + 4 + depth, ']', depth);
	return 4 + 2 * depth;
}

START_TEST(test_nesting_limits)
{
	char text[600];
	struct toml_table *root;

	root = parse_len(text, nested_arrays(text, 64), NULL);
	ck_assert_ptr_nonnull(root);
	toml_table_free(root);
	check_error_len(text, nested_arrays(text, 65), 1, 69,
			"nesting too deep (more than 64 levels)");
	/* Unbalanced input must not recurse without bound either. */
	memset(text, '[', sizeof(text));
	memcpy(text, "a = ", 4);
	check_error_len(text, sizeof(text), 1, 69, "nesting too deep");
	memset(text, '{', sizeof(text));
	memcpy(text, "a = ", 4);
	check_error_len(text, sizeof(text), 1, 6, "expected a key, found '{'");
	/* 65 nested inline tables: the 65th '{' is one level too deep. */
	strcpy(text, "a = ");
	for (int i = 0; i < 65; i++)
		strcat(text, "{b=");
	check_error_len(text, strlen(text), 1, 197, "nesting too deep");
}
END_TEST

START_TEST(test_dotted_key_limits)
{
	char text[300] = "";
	struct toml_table *root;

	for (int i = 0; i < 64; i++)
		strcat(text, i ? ".k" : "k");
	strcat(text, " = 1");
	root = parse_ok(text);
	ck_assert_ptr_nonnull(root);
	toml_table_free(root);
	text[0] = '\0';
	for (int i = 0; i < 65; i++)
		strcat(text, i ? ".k" : "k");
	strcat(text, " = 1");
	check_error(text, 1, 129, "key has more than 64 dotted parts");
	/* Dotted keys below a deep header table hit the limit at the part
	 * that would be 65 levels down. */
	text[0] = '[';
	text[1] = '\0';
	for (int i = 0; i < 60; i++)
		strcat(text, i ? ".k" : "k");
	strcat(text, "]\na.b.c.d.e.f = 1");
	check_error(text, 2, 9, "nesting too deep");
	/* Each array of tables on a header's path costs two levels. */
	strcpy(text, "[[a]]\n[[a.b]]\n[a.b");
	for (int i = 0; i < 61; i++)
		strcat(text, ".k");
	strcat(text, ".x]");
	check_error(text, 3, 126, "nesting too deep");
	/* Headers that descend through existing tables hit the depth limit. */
	check_error("[a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.A.B.C.D.E.F]\n"
		    "x.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.A.B.C.D.E.F = 1",
		    2, 69, "nesting too deep");
}
END_TEST

/* ---- Lookup and names ------------------------------------------------- */

START_TEST(test_table_get)
{
	struct toml_table *root = parse_ok("a = 1\n\"b.c\" = 2\nd.e = 3\n");

	ck_assert_int_eq(toml_table_get(root, "a")->u.integer, 1);
	/* No dot splitting: "b.c" is one key, "d.e" is not one. */
	ck_assert_int_eq(toml_table_get(root, "b.c")->u.integer, 2);
	ck_assert_ptr_null(toml_table_get(root, "d.e"));
	ck_assert_ptr_nonnull(toml_table_get(root, "d"));
	ck_assert_ptr_null(toml_table_get(root, "A"));
	ck_assert_ptr_null(toml_table_get(root, "a "));
	ck_assert_ptr_null(toml_table_get(root, ""));
	ck_assert_ptr_null(toml_table_get(NULL, "a"));
	ck_assert_ptr_eq(toml_table_get(root, "a"), &root->entries[0].value);
	toml_table_free(root);
}
END_TEST

START_TEST(test_type_names)
{
	ck_assert_str_eq(toml_type_name(TOML_STRING), "string");
	ck_assert_str_eq(toml_type_name(TOML_INTEGER), "integer");
	ck_assert_str_eq(toml_type_name(TOML_BOOLEAN), "boolean");
	ck_assert_str_eq(toml_type_name(TOML_ARRAY), "array");
	ck_assert_str_eq(toml_type_name(TOML_TABLE), "table");
}
END_TEST

/* ---- Overrides -------------------------------------------------------- */

START_TEST(test_override_creates_tables)
{
	struct toml_table *root = parse_ok("");
	const struct toml_value *vm;

	check_override_ok(root, "vm.memory=128M");
	vm = get_typed(root, "vm", TOML_TABLE);
	ck_assert_uint_eq(vm->u.table->count, 1);
	CHECK_STRING(root, "vm/memory", "128M");
	check_value_pos(root, "vm/memory", 0, 11);
	check_pos(entry_of(vm->u.table, "memory")->key_pos, 0, 4);
	check_override_ok(root, "  devices.\"serial port\" . 'irq'  =  4  ");
	check_integer(root, "devices/serial port/irq", 4);
	check_value_pos(root, "devices/serial port/irq", 0, 37);
	toml_table_free(root);
}
END_TEST

START_TEST(test_override_value_forms)
{
	struct toml_table *root = parse_ok("");

	check_override_ok(root, "n=12");
	check_override_ok(root, "hex = 0x10");
	check_override_ok(root, "b = false");
	check_override_ok(root, "s = \"quoted # not a comment\"");
	check_override_ok(root, "lit='a\\b'");
	check_override_ok(root, "list=[1, \"x\", [true]]");
	check_override_ok(root, "t = { k = 1, v.w = 'x' }");
	check_integer(root, "n", 12);
	check_integer(root, "hex", 16);
	ck_assert(!get_typed(root, "b", TOML_BOOLEAN)->u.boolean);
	CHECK_STRING(root, "s", "quoted # not a comment");
	CHECK_STRING(root, "lit", "a\\b");
	ck_assert_uint_eq(get_typed(root, "list", TOML_ARRAY)->u.array->count, 3);
	check_value_pos(root, "list/1", 0, 10);
	check_integer(root, "t/k", 1);
	CHECK_STRING(root, "t/v/w", "x");
	toml_table_free(root);
}
END_TEST

START_TEST(test_override_raw_strings)
{
	struct toml_table *root = parse_ok("");

	check_override_ok(root, "memory=128M");
	check_override_ok(root, "serial = stdout");
	check_override_ok(root, "kernel =  ../x.elf \t");
	check_override_ok(root, "empty=");
	check_override_ok(root, "float = 1.5");
	check_override_ok(root, "broken = [1, 2");
	check_override_ok(root, "trailing = 1 2");
	check_override_ok(root, "comment = 5 # no");
	check_override_ok(root, "quote = \"unterminated");
	check_override_ok(root, "eq = a=b");
	CHECK_STRING(root, "memory", "128M");
	CHECK_STRING(root, "serial", "stdout");
	CHECK_STRING(root, "kernel", "../x.elf");
	check_value_pos(root, "kernel", 0, 11);
	CHECK_STRING(root, "empty", "");
	CHECK_STRING(root, "float", "1.5");
	CHECK_STRING(root, "broken", "[1, 2");
	CHECK_STRING(root, "trailing", "1 2");
	CHECK_STRING(root, "comment", "5 # no");
	CHECK_STRING(root, "quote", "\"unterminated");
	CHECK_STRING(root, "eq", "a=b");
	toml_table_free(root);
}
END_TEST

START_TEST(test_override_replaces)
{
	struct toml_table *root = parse_ok("[vm]\nmemory = 64\nvcpus = 1\n[devices.serial]\nirq = 4\n");
	const struct toml_table *vm = get_typed(root, "vm", TOML_TABLE)->u.table;

	check_override_ok(root, "vm.memory=128M");
	ck_assert_uint_eq(vm->count, 2);
	/* Replaced in place: document order is kept. */
	ck_assert_str_eq(vm->entries[0].key, "memory");
	CHECK_STRING(root, "vm/memory", "128M");
	check_pos(vm->entries[0].key_pos, 0, 4);
	check_value_pos(root, "vm/memory", 0, 11);
	check_override_ok(root, "vm.memory=[1,2]");
	ck_assert_uint_eq(get_typed(root, "vm/memory", TOML_ARRAY)->u.array->count, 2);
	/* A whole table can be replaced by a scalar, and back. */
	check_override_ok(root, "devices = 0");
	check_integer(root, "devices", 0);
	ck_assert_int_ne(toml_apply_override(root, "devices.serial.irq = 5", NULL), 0);
	check_override_ok(root, "devices = { serial.irq = 5 }");
	check_integer(root, "devices/serial/irq", 5);
	ck_assert_uint_eq(root->count, 2);
	toml_table_free(root);
}
END_TEST

START_TEST(test_override_into_inline_and_header_tables)
{
	struct toml_table *root = parse_ok("serial = { irq = 4 }\n[[disk]]\npath = 'a'\n");

	/* Overrides are not TOML documents: inline tables may be changed. */
	check_override_ok(root, "serial.irq = 3");
	check_override_ok(root, "serial.port = 0x2f8");
	check_integer(root, "serial/irq", 3);
	check_integer(root, "serial/port", 0x2f8);
	toml_table_free(root);
}
END_TEST

START_TEST(test_override_errors)
{
	check_override_error("title = 'x'", "title.x=1", 1,
			     "cannot set a key inside 'title': it is a string, not a table");
	check_override_error("[vm]\nmemory = 1", "vm.memory.size = 2", 4, "'vm.memory': it is an integer");
	check_override_error("[[disk]]", "disk.path=x", 1, "it is an array, not a table");
	check_override_error("", "vm.memory", 10, "expected '=' after key 'vm.memory', found end of input");
	check_override_error("", "vm memory=1", 4, "expected '=' after key 'vm', found 'm'");
	check_override_error("", "=1", 1, "expected a key, found '='");
	check_override_error("", "", 1, "expected a key, found end of input");
	check_override_error("", "vm.=1", 4, "expected a key after '.', found '='");
	check_override_error("", "\"vm=1", 1, "unterminated string");
	check_override_error("", "a=\xff", 3, "invalid UTF-8 byte 0xFF");

	struct toml_error err;

	ck_assert_int_ne(toml_apply_override(NULL, "a=1", &err), 0);
	ck_assert_uint_eq(err.pos.line, 0);
}
END_TEST

START_TEST(test_override_depth)
{
	struct toml_table *root = parse_ok("");
	char text[400] = "";

	for (int i = 0; i < 64; i++)
		strcat(text, i ? ".k" : "k");
	strcat(text, "=[1]");
	/* The array would sit at depth 64, its element at 65: too deep for a
	 * TOML value, so it is kept as text. */
	check_override_ok(root, text);
	CHECK_STRING(root, "k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/"
			   "k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k",
		     "[1]");
	toml_table_free(root);
}
END_TEST

/* ---- Fixture corpora -------------------------------------------------- */

struct expectation {
	char path[128];
	enum toml_type type;
	const char *value; /* rest of the line after the type */
};

static bool find_type(const char *line, struct expectation *e)
{
	static const enum toml_type types[] = { TOML_STRING, TOML_INTEGER, TOML_BOOLEAN,
						TOML_ARRAY, TOML_TABLE };
	const char *best = NULL;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *name = toml_type_name(types[i]);
		size_t n = strlen(name);

		for (const char *s = strchr(line, ' '); s; s = strchr(s + 1, ' ')) {
			if (strncmp(s + 1, name, n) == 0 && (s[n + 1] == ' ' || s[n + 1] == '\0')) {
				if (!best || s < best) {
					best = s;
					e->type = types[i];
					e->value = s + 1 + n;
				}
				break;
			}
		}
	}
	if (!best || (size_t)(best - line) >= sizeof(e->path))
		return false;
	memcpy(e->path, line, (size_t)(best - line));
	e->path[best - line] = '\0';
	return true;
}

/* Decode the quoted VALUE of a string expectation; returns the byte count. */
static size_t decode_expected_string(const char **s, char *out, size_t size, const char *file)
{
	size_t n = 0;

	ck_assert_msg(**s == '"', "%s: string expectation must be quoted", file);
	for ((*s)++; **s && **s != '"'; (*s)++) {
		char c = **s;

		if (c == '\\') {
			c = *++*s;
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c == 'r')
				c = '\r';
			else if (c == 'x') {
				char hex[3] = { (*s)[1], (*s)[2], '\0' };

				c = (char)strtoul(hex, NULL, 16);
				*s += 2;
			}
		}
		ck_assert_uint_lt(n, size);
		out[n++] = c;
	}
	ck_assert_msg(**s == '"', "%s: unterminated expected string", file);
	(*s)++;
	return n;
}

static void check_expected_value(const struct toml_value *v, const struct expectation *e,
				 const char **rest, const char *file)
{
	char expected[256], *end;
	size_t n;

	switch (e->type) {
	case TOML_STRING:
		n = decode_expected_string(rest, expected, sizeof(expected), file);
		ck_assert_msg(v->u.string.len == n && memcmp(v->u.string.str, expected, n) == 0,
			      "%s: '%s' = '%s'", file, e->path, v->u.string.str);
		return;
	case TOML_INTEGER:
		ck_assert_msg(v->u.integer == strtoll(*rest, &end, 10), "%s: '%s' = %" PRId64,
			      file, e->path, v->u.integer);
		*rest = end;
		return;
	case TOML_BOOLEAN:
		ck_assert_msg(v->u.boolean == (strncmp(*rest, "true", 4) == 0), "%s: '%s'", file,
			      e->path);
		*rest += strcspn(*rest, " ");
		return;
	case TOML_ARRAY:
		ck_assert_msg(v->u.array->count == strtoul(*rest, &end, 10),
			      "%s: '%s' has %zu items", file, e->path, v->u.array->count);
		*rest = end;
		return;
	case TOML_TABLE:
		ck_assert_msg(v->u.table->count == strtoul(*rest, &end, 10),
			      "%s: '%s' has %zu entries", file, e->path, v->u.table->count);
		*rest = end;
		return;
	}
}

static void check_expectation(const struct toml_table *root, const char *line, const char *file)
{
	struct expectation e;
	const struct toml_value *v;
	const char *rest;
	unsigned exp_line, exp_col;

	ck_assert_msg(find_type(line, &e), "%s: bad expectation '%s'", file, line);
	v = lookup(root, e.path);
	ck_assert_msg(v != NULL, "%s: '%s' not found", file, e.path);
	ck_assert_msg(v->type == e.type, "%s: '%s' is a %s", file, e.path,
		      toml_type_name(v->type));
	rest = e.value + strspn(e.value, " ");
	if (*rest && *rest != '@')
		check_expected_value(v, &e, &rest, file);
	rest += strspn(rest, " ");
	if (*rest == '@') {
		ck_assert_int_eq(sscanf(rest, "@%u:%u", &exp_line, &exp_col), 2);
		ck_assert_msg(v->pos.line == exp_line && v->pos.col == exp_col,
			      "%s: '%s' at %u:%u, expected %u:%u", file, e.path, v->pos.line,
			      v->pos.col, exp_line, exp_col);
	}
}

/* The root table has no toml_value; "/" expectations check it directly. */
static void check_root_expectation(const struct toml_table *root, const char *line,
				   const char *file)
{
	unsigned long count = strtoul(line + strlen("/ table "), NULL, 10);

	ck_assert_msg(root->count == count, "%s: root has %zu entries, expected %lu", file,
		      root->count, count);
}

static void check_valid_fixture(const char *path)
{
	size_t len, checked = 0;
	char *text = read_file(path, &len);
	struct toml_error err = { 0 };
	struct toml_table *root = toml_parse(text, len, &err);
	char *copy = strndup(text, len);
	char *save = NULL;

	ck_assert_msg(root != NULL, "%s:%u:%u: %s", path, err.pos.line, err.pos.col, err.message);
	for (char *line = strtok_r(copy, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		const char *body = line + strspn(line, " \t");

		if (strncmp(body, "# expect: ", 10) != 0)
			continue;
		if (strncmp(body + 10, "/ table ", 8) == 0)
			check_root_expectation(root, body + 10, path);
		else
			check_expectation(root, body + 10, path);
		checked++;
	}
	ck_assert_msg(checked > 0, "%s has no expectations", path);
	toml_table_free(root);
	free(copy);
	free(text);
}

static void check_invalid_fixture(const char *path)
{
	size_t len;
	char *text = read_file(path, &len);
	const char *newline = memchr(text, '\n', len);
	char *header = strndup(text, newline ? (size_t)(newline - text) : len);
	struct toml_error err = { 0 };
	unsigned line, col;
	int offset = 0;

	ck_assert_msg(sscanf(header, "# error: %u:%u: %n", &line, &col, &offset) == 2 && offset,
		      "%s: first line must be '# error: LINE:COL: TEXT'", path);
	ck_assert_msg(toml_parse(text, len, &err) == NULL, "%s parsed without error", path);
	ck_assert_msg(err.pos.line == line && err.pos.col == col, "%s: error at %u:%u (%s), expected %u:%u",
		      path, err.pos.line, err.pos.col, err.message, line, col);
	ck_assert_msg(strstr(err.message, header + offset), "%s: message '%s' lacks '%s'", path,
		      err.message, header + offset);
	ck_assert_uint_lt(strlen(err.message), 200);
	free(header);
	free(text);
}

/* Every prefix of a valid document either parses or fails cleanly. */
static void check_fixture_prefixes(const char *path)
{
	size_t len;
	char *text = read_file(path, &len);

	for (size_t n = 0; n <= len; n++) {
		struct toml_error err = { 0 };
		struct toml_table *root = parse_len(text, n, &err);

		if (root) {
			toml_table_free(root);
			continue;
		}
		ck_assert_msg(err.pos.line >= 1 && err.pos.col >= 1 && err.message[0],
			      "%s[0..%zu]: bad error %u:%u '%s'", path, n, err.pos.line, err.pos.col,
			      err.message);
		ck_assert_uint_lt(strlen(err.message), 200);
	}
	free(text);
}

START_TEST(test_valid_fixtures)
{
	ck_assert_int_ge(for_each_fixture(VALID_DIR, check_valid_fixture), 10);
}
END_TEST

START_TEST(test_invalid_fixtures)
{
	ck_assert_int_ge(for_each_fixture(INVALID_DIR, check_invalid_fixture), 90);
}
END_TEST

START_TEST(test_fixture_prefixes)
{
	ck_assert_int_ge(for_each_fixture(VALID_DIR, check_fixture_prefixes), 10);
}
END_TEST

Suite *toml_suite(void)
{
	Suite *suite = suite_create("toml");
	TCase *values = tcase_create("values");
	TCase *structure = tcase_create("structure");
	TCase *safety = tcase_create("safety");
	TCase *api = tcase_create("api");
	TCase *overrides = tcase_create("overrides");
	TCase *fixtures = tcase_create("fixtures");

	tcase_add_test(values, test_scalars_types_values_positions);
	tcase_add_test(values, test_string_escapes);
	tcase_add_test(values, test_string_escape_errors);
	tcase_add_test(values, test_multiline_strings);
	tcase_add_test(values, test_integers);
	tcase_add_test(values, test_integer_errors);
	tcase_add_test(values, test_unsupported_values_rejected);
	tcase_add_test(values, test_bare_words_rejected);
	tcase_add_test(structure, test_arrays);
	tcase_add_test(structure, test_array_errors);
	tcase_add_test(structure, test_inline_tables);
	tcase_add_test(structure, test_inline_table_errors);
	tcase_add_test(structure, test_keys);
	tcase_add_test(structure, test_table_headers);
	tcase_add_test(structure, test_dotted_keys_and_tables);
	tcase_add_test(structure, test_array_of_tables);
	tcase_add_test(structure, test_table_rule_errors);
	tcase_add_test(structure, test_syntax_errors);
	tcase_add_test(safety, test_long_keys_in_messages);
	tcase_add_test(safety, test_nul_and_control_characters);
	tcase_add_test(safety, test_never_reads_past_len);
	tcase_add_test(safety, test_empty_documents);
	tcase_add_test(safety, test_nesting_limits);
	tcase_add_test(safety, test_dotted_key_limits);
	tcase_add_test(api, test_table_get);
	tcase_add_test(api, test_type_names);
	tcase_add_test(overrides, test_override_creates_tables);
	tcase_add_test(overrides, test_override_value_forms);
	tcase_add_test(overrides, test_override_raw_strings);
	tcase_add_test(overrides, test_override_replaces);
	tcase_add_test(overrides, test_override_into_inline_and_header_tables);
	tcase_add_test(overrides, test_override_errors);
	tcase_add_test(overrides, test_override_depth);
	tcase_add_test(fixtures, test_valid_fixtures);
	tcase_add_test(fixtures, test_invalid_fixtures);
	tcase_add_test(fixtures, test_fixture_prefixes);
	suite_add_tcase(suite, values);
	suite_add_tcase(suite, structure);
	suite_add_tcase(suite, safety);
	suite_add_tcase(suite, api);
	suite_add_tcase(suite, overrides);
	suite_add_tcase(suite, fixtures);
	return suite;
}
