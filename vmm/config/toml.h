/* SPDX-License-Identifier: MIT */
/*
 * A TOML 1.0 subset parser producing a position-annotated tree.
 *
 * Supported: tables, dotted keys, arrays of tables, inline tables, basic and
 * literal strings (single-line and multi-line) with escapes, integers
 * (decimal, 0x/0o/0b, underscores), booleans, arrays, comments. Floats and
 * date-times are rejected with a clear "not supported" error rather than
 * misparsed. Every value and key remembers its line and column (1-based) so
 * the typed config layer can report file:line:col for semantic errors too.
 *
 * Untrusted input: the parser bounds nesting depth and never reads past len.
 */
#ifndef VMM_CONFIG_TOML_H
#define VMM_CONFIG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum toml_type {
	TOML_STRING,
	TOML_INTEGER,
	TOML_BOOLEAN,
	TOML_ARRAY,
	TOML_TABLE,
};

struct toml_pos {
	unsigned line; /* 1-based */
	unsigned col;  /* 1-based, in bytes */
};

struct toml_table;
struct toml_array;

struct toml_value {
	enum toml_type type;
	struct toml_pos pos; /* where the value starts */
	union {
		struct {
			char *str;  /* NUL-terminated; may contain embedded NULs from \u0000 */
			size_t len;
		} string;
		int64_t integer;
		bool boolean;
		struct toml_array *array;
		struct toml_table *table;
	} u;
};

struct toml_entry {
	char *key;
	struct toml_pos key_pos; /* where the (last part of the) key was written */
	struct toml_value value;
};

struct toml_table {
	struct toml_entry *entries; /* in document order */
	size_t count;
	size_t capacity;
	/* Parser bookkeeping (header-defined, implicitly created, inline...). */
	unsigned flags;
};

struct toml_array {
	struct toml_value *items;
	size_t count;
	size_t capacity;
	bool of_tables; /* created by [[header]] */
};

struct toml_error {
	struct toml_pos pos;
	char message[256]; /* says what was found and what was expected */
};

/*
 * Parse a whole document. Returns the root table, or NULL with *err filled.
 * The text need not be NUL-terminated. Keys are C strings, so a quoted key
 * containing \u0000 is rejected (string values may hold U+0000).
 */
struct toml_table *toml_parse(const char *text, size_t len, struct toml_error *err);

void toml_table_free(struct toml_table *table);

/* Direct lookup of one key (no dots) in a table; NULL when absent. */
const struct toml_value *toml_table_get(const struct toml_table *table, const char *key);

/*
 * Apply an override "dotted.key=value" to a parsed document, as a
 * command-line --set does. The value is parsed as a TOML value; if it is not
 * one (e.g. 128M), it is taken as a bare string. Intermediate tables are
 * created as needed; an existing key is replaced, keeping its type check for
 * the config layer. Errors (bad key syntax, descending into a non-table) are
 * reported with pos.col pointing into the argument, pos.line = 0.
 * The value is a TOML value only when the whole text after '=' (blanks
 * trimmed) is exactly one, so "n = 1 # x" sets the string "1 # x". Unlike a
 * document, an override may change an inline table; arrays cannot be
 * descended into.
 */
int toml_apply_override(struct toml_table *root, const char *assignment, struct toml_error *err);

const char *toml_type_name(enum toml_type type);

#endif
