/* SPDX-License-Identifier: MIT */
/*
 * Private to vmm/config/toml*.c. The parser is split in three:
 *   toml_lex.c    characters: positions, errors, whitespace, comments,
 *                 strings, integers and the other bare scalars;
 *   toml_parse.c  grammar and TOML's table rules: keys, arrays, inline
 *                 tables, [headers], [[arrays of tables]], the document;
 *   toml.c        the tree (create, look up, free) and --set overrides.
 */
#ifndef VMM_CONFIG_TOML_INTERNAL_H
#define VMM_CONFIG_TOML_INTERNAL_H

#include "vmm/config/toml.h"

/*
 * Deepest value allowed, the root table being depth 0. Every recursion in
 * the parser, in toml_table_free and in tree walkers is bounded by it.
 */
#define TOML_MAX_DEPTH 64

/* struct toml_table.flags: how a table came to be, which decides who may
 * still add to it (TOML 1.0 "Table" and "Inline Table" rules). */
enum toml_table_flag {
	/* Parent of a [x.y] header: a later [x] header may still define it. */
	TOML_TABLE_IMPLICIT = 1u << 0,
	/* Defined by its own [header] or [[header]]: dotted keys from another
	 * table section may not add to it, and no header may define it again. */
	TOML_TABLE_HEADER = 1u << 1,
	/* Created by a dotted key (a.b = 1): no header may define it. */
	TOML_TABLE_DOTTED = 1u << 2,
	/* An inline table: closed for good at its '}'. */
	TOML_TABLE_INLINE = 1u << 3,
};

struct toml_parser {
	const char *text; /* not NUL-terminated */
	size_t len;
	size_t off;
	unsigned line;
	size_t line_start; /* offset of the first byte of the current line */
	/* An override argument: positions are line 0, col = offset + 1. */
	bool flat;
	/* Set when an allocation failed, so overrides do not mistake it for
	 * "not a TOML value" and fall back to a bare string. */
	bool out_of_memory;
	struct toml_error *err;
};

/* One component of a dotted key, already unquoted. */
struct toml_key_part {
	char *name; /* NUL-terminated; never contains NUL */
	size_t len;
	struct toml_pos pos;
};

struct toml_key_path {
	struct toml_key_part *parts;
	size_t count;
	size_t capacity;
};

/* Text of the character at the cursor, for "found ..." in messages. */
struct toml_found {
	char text[40];
};

/* toml_lex.c */
int toml_scan_peek(const struct toml_parser *p);
int toml_scan_peek_at(const struct toml_parser *p, size_t ahead);
void toml_scan_advance(struct toml_parser *p);
struct toml_pos toml_scan_pos(const struct toml_parser *p);
struct toml_found toml_scan_found(const struct toml_parser *p);
int toml_fail(struct toml_parser *p, struct toml_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int toml_fail_oom(struct toml_parser *p);
void toml_format_text(const char *text, size_t len, char *out, size_t size);
const char *toml_type_with_article(enum toml_type type);
int toml_scan_check_utf8(struct toml_parser *p);
bool toml_scan_at_newline(const struct toml_parser *p);
void toml_scan_skip_ws(struct toml_parser *p);
int toml_scan_end_of_line(struct toml_parser *p, const char *after);
int toml_scan_skip_blank_lines(struct toml_parser *p);
bool toml_scan_is_bare_key_char(int c);
int toml_scan_string(struct toml_parser *p, bool allow_multiline, char **str, size_t *len);
int toml_scan_scalar(struct toml_parser *p, struct toml_value *out);

/* toml_parse.c */
int toml_parse_key(struct toml_parser *p, struct toml_key_path *key);
void toml_key_path_free(struct toml_key_path *key);
void toml_format_key(const struct toml_key_path *key, size_t parts, char *out, size_t size);
int toml_parse_value(struct toml_parser *p, unsigned depth, struct toml_value *out);

/* toml.c */
struct toml_table *toml_tree_table_new(unsigned flags);
struct toml_entry *toml_tree_find(const struct toml_table *table, const char *key, size_t len);
struct toml_entry *toml_tree_add(struct toml_table *table, const struct toml_key_part *key,
				 const struct toml_value *value);
struct toml_entry *toml_tree_add_table(struct toml_table *table, const struct toml_key_part *key,
				       unsigned flags);
int toml_tree_push(struct toml_array *array, const struct toml_value *value);
void toml_tree_value_free(struct toml_value *value);

#endif
