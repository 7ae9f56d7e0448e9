/* SPDX-License-Identifier: MIT */
/*
 * TOML grammar and table rules: keys, values, arrays, inline tables, table
 * headers and the document. Recursion (values inside arrays and inline
 * tables) is bounded by TOML_MAX_DEPTH, counted from the root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/toml_internal.h"

/* Room for a dotted key quoted in a message. */
#define KEY_TEXT_MAX 64

/* ---- Keys ------------------------------------------------------------- */

void toml_key_path_free(struct toml_key_path *key)
{
	for (size_t i = 0; i < key->count; i++)
		free(key->parts[i].name);
	free(key->parts);
	*key = (struct toml_key_path){ 0 };
}

/* The first `parts` components joined by dots, made safe for a message. */
void toml_format_key(const struct toml_key_path *key, size_t parts, char *out, size_t size)
{
	char joined[KEY_TEXT_MAX + 1];
	size_t n = 0;

	for (size_t i = 0; i < parts && n < KEY_TEXT_MAX; i++) {
		size_t len = key->parts[i].len;

		if (i > 0)
			joined[n++] = '.';
		if (len > KEY_TEXT_MAX - n)
			len = KEY_TEXT_MAX - n;
		memcpy(joined + n, key->parts[i].name, len);
		n += len;
	}
	toml_format_text(joined, n, out, size);
}

static int push_key_part(struct toml_parser *p, struct toml_key_path *key,
			 const struct toml_key_part *part)
{
	if (key->count == key->capacity) {
		size_t capacity = key->capacity ? key->capacity * 2 : 4;
		struct toml_key_part *parts = realloc(key->parts, capacity * sizeof(*parts));

		if (!parts)
			return toml_fail_oom(p);
		key->parts = parts;
		key->capacity = capacity;
	}
	key->parts[key->count++] = *part;
	return 0;
}

static int scan_bare_key(struct toml_parser *p, struct toml_key_part *part)
{
	size_t len = 0;

	while (toml_scan_is_bare_key_char(toml_scan_peek_at(p, len)))
		len++;
	part->name = strndup(p->text + p->off, len);
	if (!part->name)
		return toml_fail_oom(p);
	part->len = len;
	for (size_t i = 0; i < len; i++)
		toml_scan_advance(p);
	return 0;
}

/* One bare or quoted key component at the cursor. */
static int scan_key_part(struct toml_parser *p, struct toml_key_part *part, const char *where)
{
	int c = toml_scan_peek(p);

	part->pos = toml_scan_pos(p);
	if (toml_scan_is_bare_key_char(c))
		return scan_bare_key(p, part);
	if (c != '"' && c != '\'')
		return toml_fail(p, part->pos, "expected a key%s, found %s", where,
				 toml_scan_found(p).text);
	if (toml_scan_string(p, false, &part->name, &part->len))
		return -1;
	/* Keys are handed out as C strings (toml_entry.key). */
	if (memchr(part->name, '\0', part->len)) {
		free(part->name);
		return toml_fail(p, part->pos, "keys containing U+0000 are not supported");
	}
	return 0;
}

/* A simple or dotted key; whitespace around the dots and after it is eaten. */
int toml_parse_key(struct toml_parser *p, struct toml_key_path *key)
{
	const char *where = "";

	for (;;) {
		struct toml_key_part part;

		if (key->count == TOML_MAX_DEPTH)
			return toml_fail(p, toml_scan_pos(p), "key has more than %d dotted parts",
					 TOML_MAX_DEPTH);
		if (scan_key_part(p, &part, where))
			return -1;
		if (push_key_part(p, key, &part)) {
			free(part.name);
			return -1;
		}
		toml_scan_skip_ws(p);
		if (toml_scan_peek(p) != '.')
			return 0;
		toml_scan_advance(p);
		toml_scan_skip_ws(p);
		where = " after '.'";
	}
}

/* ---- Placing keys in tables ------------------------------------------- */

/* Where a clashing entry was defined, for messages: a table or array from
 * where it starts (its header, its '[' or '{'), anything else from its key. */
static struct toml_pos defined_at(const struct toml_entry *entry)
{
	if (entry->value.type == TOML_TABLE || entry->value.type == TOML_ARRAY)
		return entry->value.pos;
	return entry->key_pos;
}

static int fail_not_table(struct toml_parser *p, const struct toml_key_path *key, size_t i,
			  const struct toml_entry *entry)
{
	char name[KEY_TEXT_MAX + 4];

	toml_format_key(key, i + 1, name, sizeof(name));
	return toml_fail(p, key->parts[i].pos, "'%s' is %s (defined at %u:%u), not a table", name,
			 toml_type_with_article(entry->value.type), defined_at(entry).line,
			 defined_at(entry).col);
}

static int fail_inline_frozen(struct toml_parser *p, const struct toml_key_path *key, size_t i,
			      const struct toml_entry *entry)
{
	char name[KEY_TEXT_MAX + 4];

	toml_format_key(key, i + 1, name, sizeof(name));
	return toml_fail(p, key->parts[i].pos,
			 "cannot extend inline table '%s' (defined at %u:%u); inline tables are "
			 "complete once closed", name, entry->value.pos.line, entry->value.pos.col);
}

/* May a dotted key of a key/value pair go through this existing entry? */
static int check_dotted_step(struct toml_parser *p, const struct toml_key_path *key, size_t i,
			     const struct toml_entry *entry)
{
	char name[KEY_TEXT_MAX + 4];

	if (entry->value.type != TOML_TABLE)
		return fail_not_table(p, key, i, entry);
	if (entry->value.u.table->flags & TOML_TABLE_INLINE)
		return fail_inline_frozen(p, key, i, entry);
	if (!(entry->value.u.table->flags & TOML_TABLE_HEADER))
		return 0;
	toml_format_key(key, i + 1, name, sizeof(name));
	return toml_fail(p, key->parts[i].pos,
			 "cannot add to table '%s' with a dotted key: it was defined by a header at "
			 "%u:%u", name, entry->value.pos.line, entry->value.pos.col);
}

static int check_depth(struct toml_parser *p, struct toml_pos pos, unsigned depth)
{
	if (depth <= TOML_MAX_DEPTH)
		return 0;
	return toml_fail(p, pos, "nesting too deep (more than %d levels)", TOML_MAX_DEPTH);
}

/*
 * Walk the dotted prefix of a key/value pair's key from `table` (at depth
 * *depth), creating tables as needed. Leaves the table the last part goes in.
 */
static int resolve_dotted(struct toml_parser *p, const struct toml_key_path *key,
			  struct toml_table **table, unsigned *depth)
{
	for (size_t i = 0; i + 1 < key->count; i++) {
		const struct toml_key_part *part = &key->parts[i];
		struct toml_entry *entry = toml_tree_find(*table, part->name, part->len);

		if (check_depth(p, part->pos, ++*depth))
			return -1;
		if (!entry) {
			entry = toml_tree_add_table(*table, part, TOML_TABLE_DOTTED);
			if (!entry)
				return toml_fail_oom(p);
			*table = entry->value.u.table;
			continue;
		}
		if (check_dotted_step(p, key, i, entry))
			return -1;
		*table = entry->value.u.table;
		/* Now defined by dotted keys: [header] may no longer define it. */
		if ((*table)->flags & TOML_TABLE_IMPLICIT)
			(*table)->flags = TOML_TABLE_DOTTED;
	}
	return 0;
}

static int fail_duplicate(struct toml_parser *p, const struct toml_key_path *key,
			  const struct toml_entry *entry)
{
	char name[KEY_TEXT_MAX + 4];

	toml_format_key(key, key->count, name, sizeof(name));
	return toml_fail(p, key->parts[key->count - 1].pos,
			 "duplicate key '%s' (first defined at %u:%u)", name, entry->key_pos.line,
			 entry->key_pos.col);
}

/* key = value, into `table` at `depth`; the cursor is at the key. */
static int parse_keyval(struct toml_parser *p, struct toml_table *table, unsigned depth)
{
	struct toml_key_path key = { 0 };
	struct toml_value value;
	const struct toml_entry *existing;
	char name[KEY_TEXT_MAX + 4];
	int rc = -1;

	if (toml_parse_key(p, &key))
		goto out;
	if (toml_scan_peek(p) != '=') {
		toml_format_key(&key, key.count, name, sizeof(name));
		toml_fail(p, toml_scan_pos(p), "expected '=' after key '%s', found %s", name,
			  toml_scan_found(p).text);
		goto out;
	}
	toml_scan_advance(p);
	toml_scan_skip_ws(p);
	if (resolve_dotted(p, &key, &table, &depth))
		goto out;
	existing = toml_tree_find(table, key.parts[key.count - 1].name, key.parts[key.count - 1].len);
	if (existing) {
		fail_duplicate(p, &key, existing);
		goto out;
	}
	if (toml_parse_value(p, depth + 1, &value))
		goto out;
	if (!toml_tree_add(table, &key.parts[key.count - 1], &value)) {
		toml_tree_value_free(&value);
		toml_fail_oom(p);
		goto out;
	}
	rc = 0;
out:
	toml_key_path_free(&key);
	return rc;
}

/* ---- Values ----------------------------------------------------------- */

static int parse_array_items(struct toml_parser *p, struct toml_array *array, unsigned depth)
{
	for (;;) {
		struct toml_value item;

		if (toml_scan_skip_blank_lines(p))
			return -1;
		if (toml_scan_peek(p) == ']')
			break;
		if (toml_parse_value(p, depth + 1, &item))
			return -1;
		if (toml_tree_push(array, &item)) {
			toml_tree_value_free(&item);
			return toml_fail_oom(p);
		}
		if (toml_scan_skip_blank_lines(p))
			return -1;
		if (toml_scan_peek(p) == ']')
			break;
		if (toml_scan_peek(p) != ',')
			return toml_fail(p, toml_scan_pos(p), "expected ',' or ']' in array, found %s",
					 toml_scan_found(p).text);
		toml_scan_advance(p);
	}
	toml_scan_advance(p);
	return 0;
}

static int parse_array(struct toml_parser *p, unsigned depth, struct toml_value *out)
{
	out->type = TOML_ARRAY;
	out->u.array = calloc(1, sizeof(*out->u.array));
	if (!out->u.array)
		return toml_fail_oom(p);
	toml_scan_advance(p);
	if (parse_array_items(p, out->u.array, depth)) {
		toml_tree_value_free(out);
		return -1;
	}
	return 0;
}

/* Inline tables stay on one line: only spaces and tabs between the parts. */
static int parse_inline_items(struct toml_parser *p, struct toml_table *table, unsigned depth)
{
	toml_scan_skip_ws(p);
	if (toml_scan_peek(p) == '}')
		goto close;
	for (;;) {
		if (parse_keyval(p, table, depth))
			return -1;
		toml_scan_skip_ws(p);
		if (toml_scan_peek(p) == '}')
			goto close;
		if (toml_scan_peek(p) != ',')
			return toml_fail(p, toml_scan_pos(p),
					 "expected ',' or '}' in inline table, found %s",
					 toml_scan_found(p).text);
		toml_scan_advance(p);
		toml_scan_skip_ws(p);
		if (toml_scan_peek(p) == '}')
			return toml_fail(p, toml_scan_pos(p),
					 "expected a key after ',' in inline table, found '}' "
					 "(no trailing comma allowed)");
	}
close:
	toml_scan_advance(p);
	return 0;
}

static int parse_inline_table(struct toml_parser *p, unsigned depth, struct toml_value *out)
{
	out->type = TOML_TABLE;
	out->u.table = toml_tree_table_new(0);
	if (!out->u.table)
		return toml_fail_oom(p);
	toml_scan_advance(p);
	if (parse_inline_items(p, out->u.table, depth)) {
		toml_tree_value_free(out);
		return -1;
	}
	out->u.table->flags |= TOML_TABLE_INLINE;
	return 0;
}

/* On failure *out holds nothing that needs freeing. */
int toml_parse_value(struct toml_parser *p, unsigned depth, struct toml_value *out)
{
	memset(out, 0, sizeof(*out));
	out->pos = toml_scan_pos(p);
	if (check_depth(p, out->pos, depth))
		return -1;
	switch (toml_scan_peek(p)) {
	case '"':
	case '\'':
		out->type = TOML_STRING;
		return toml_scan_string(p, true, &out->u.string.str, &out->u.string.len);
	case '[':
		return parse_array(p, depth, out);
	case '{':
		return parse_inline_table(p, depth, out);
	default:
		return toml_scan_scalar(p, out);
	}
}

/* ---- Table headers ---------------------------------------------------- */

/* Where a [header] or [[header]] currently sends key/value pairs. */
struct section {
	struct toml_table *table;
	unsigned depth;
};

/* The last element of an array of tables, which later headers extend. */
static struct toml_table *last_table_of(const struct toml_entry *entry)
{
	const struct toml_array *array = entry->value.u.array;

	return array->items[array->count - 1].u.table;
}

/* Step from s->table into key part i of a header, which is not the last. */
static int header_step(struct toml_parser *p, const struct toml_key_path *key, size_t i,
		       struct section *s)
{
	const struct toml_key_part *part = &key->parts[i];
	struct toml_entry *entry = toml_tree_find(s->table, part->name, part->len);

	if (check_depth(p, part->pos, ++s->depth))
		return -1;
	if (!entry) {
		entry = toml_tree_add_table(s->table, part, TOML_TABLE_IMPLICIT);
		if (!entry)
			return toml_fail_oom(p);
		s->table = entry->value.u.table;
		return 0;
	}
	if (entry->value.type == TOML_ARRAY && entry->value.u.array->of_tables) {
		if (check_depth(p, part->pos, ++s->depth))
			return -1;
		s->table = last_table_of(entry);
		return 0;
	}
	if (entry->value.type != TOML_TABLE)
		return fail_not_table(p, key, i, entry);
	if (entry->value.u.table->flags & TOML_TABLE_INLINE)
		return fail_inline_frozen(p, key, i, entry);
	s->table = entry->value.u.table;
	return 0;
}

/* Why an existing entry cannot become the table of a [header]. */
static int fail_redefined(struct toml_parser *p, const struct toml_key_path *key,
			  const struct toml_entry *entry)
{
	const struct toml_value *v = &entry->value;
	const char *how = "by a header";
	char name[KEY_TEXT_MAX + 4];

	toml_format_key(key, key->count, name, sizeof(name));
	if (v->type == TOML_ARRAY && v->u.array->of_tables)
		return toml_fail(p, key->parts[key->count - 1].pos,
				 "'%s' is an array of tables (defined at %u:%u); use [[%s]] to "
				 "add an element", name, v->pos.line, v->pos.col, name);
	if (v->type != TOML_TABLE)
		return toml_fail(p, key->parts[key->count - 1].pos,
				 "cannot define table '%s': it is already %s (defined at %u:%u)",
				 name, toml_type_with_article(v->type), defined_at(entry).line,
				 defined_at(entry).col);
	if (v->u.table->flags & TOML_TABLE_DOTTED)
		how = "by dotted keys";
	else if (v->u.table->flags & TOML_TABLE_INLINE)
		how = "as an inline table";
	return toml_fail(p, key->parts[key->count - 1].pos,
			 "table '%s' already defined %s at %u:%u", name, how,
			 v->pos.line, v->pos.col);
}

/* [key]: the last part names the table to define. */
static int define_table(struct toml_parser *p, const struct toml_key_path *key,
			struct toml_pos header_pos, struct section *s)
{
	const struct toml_key_part *part = &key->parts[key->count - 1];
	struct toml_entry *entry = toml_tree_find(s->table, part->name, part->len);

	if (check_depth(p, part->pos, ++s->depth))
		return -1;
	if (!entry) {
		entry = toml_tree_add_table(s->table, part, TOML_TABLE_HEADER);
		if (!entry)
			return toml_fail_oom(p);
	} else if (entry->value.type != TOML_TABLE ||
		   !(entry->value.u.table->flags & TOML_TABLE_IMPLICIT)) {
		return fail_redefined(p, key, entry);
	}
	s->table = entry->value.u.table;
	s->table->flags = TOML_TABLE_HEADER;
	/* The header, not an earlier [x.y] that implied it, is where it starts. */
	entry->value.pos = header_pos;
	return 0;
}

static int fail_not_array_of_tables(struct toml_parser *p, const struct toml_key_path *key,
				    const struct toml_entry *entry)
{
	const struct toml_value *v = &entry->value;
	char name[KEY_TEXT_MAX + 4];

	toml_format_key(key, key->count, name, sizeof(name));
	if (v->type == TOML_ARRAY)
		return toml_fail(p, key->parts[key->count - 1].pos,
				 "cannot append to statically defined array '%s' (defined at "
				 "%u:%u) with [[%s]]", name, v->pos.line, v->pos.col, name);
	return toml_fail(p, key->parts[key->count - 1].pos,
			 "cannot define array of tables '%s': it is already %s (defined at %u:%u)",
			 name, toml_type_with_article(v->type), defined_at(entry).line,
			 defined_at(entry).col);
}

static int add_array_of_tables(struct toml_parser *p, struct toml_table *parent,
			       const struct toml_key_part *part, struct toml_pos header_pos,
			       struct toml_entry **out)
{
	struct toml_value value = { .type = TOML_ARRAY, .pos = header_pos };

	value.u.array = calloc(1, sizeof(*value.u.array));
	if (!value.u.array)
		return toml_fail_oom(p);
	value.u.array->of_tables = true;
	*out = toml_tree_add(parent, part, &value);
	if (*out)
		return 0;
	free(value.u.array);
	return toml_fail_oom(p);
}

/* [[key]]: append a new table to the array the last part names. */
static int append_table(struct toml_parser *p, const struct toml_key_path *key,
			struct toml_pos header_pos, struct section *s)
{
	const struct toml_key_part *part = &key->parts[key->count - 1];
	struct toml_entry *entry = toml_tree_find(s->table, part->name, part->len);
	struct toml_value element = { .type = TOML_TABLE, .pos = header_pos };

	s->depth += 2;
	if (check_depth(p, part->pos, s->depth))
		return -1;
	if (!entry && add_array_of_tables(p, s->table, part, header_pos, &entry))
		return -1;
	if (entry->value.type != TOML_ARRAY || !entry->value.u.array->of_tables)
		return fail_not_array_of_tables(p, key, entry);
	element.u.table = toml_tree_table_new(TOML_TABLE_HEADER);
	if (!element.u.table)
		return toml_fail_oom(p);
	if (toml_tree_push(entry->value.u.array, &element)) {
		toml_tree_value_free(&element);
		return toml_fail_oom(p);
	}
	s->table = element.u.table;
	return 0;
}

/* After the opening '[' or '[[': the key, the closing bracket(s), the line end. */
static int parse_header_key(struct toml_parser *p, bool array, struct toml_key_path *key)
{
	const char *closing = array ? "]]" : "]";

	toml_scan_skip_ws(p);
	if (toml_parse_key(p, key))
		return -1;
	for (const char *c = closing; *c; c++) {
		if (toml_scan_peek(p) != *c)
			return toml_fail(p, toml_scan_pos(p), "expected '%s' to close %s header, found %s",
					 closing, array ? "array-of-tables" : "table",
					 toml_scan_found(p).text);
		toml_scan_advance(p);
	}
	return toml_scan_end_of_line(p, array ? "array-of-tables header" : "table header");
}

/* At '[': a [table] or [[array of tables]] header; makes it the section. */
static int parse_header(struct toml_parser *p, struct toml_table *root, struct section *s)
{
	struct toml_pos header_pos = toml_scan_pos(p);
	bool array = toml_scan_peek_at(p, 1) == '[';
	struct toml_key_path key = { 0 };
	int rc = -1;

	toml_scan_advance(p);
	if (array)
		toml_scan_advance(p);
	if (parse_header_key(p, array, &key))
		goto out;
	*s = (struct section){ root, 0 };
	for (size_t i = 0; i + 1 < key.count; i++)
		if (header_step(p, &key, i, s))
			goto out;
	rc = array ? append_table(p, &key, header_pos, s) : define_table(p, &key, header_pos, s);
out:
	toml_key_path_free(&key);
	return rc;
}

/* ---- Document --------------------------------------------------------- */

static int parse_document(struct toml_parser *p, struct toml_table *root)
{
	struct section s = { root, 0 };

	if (toml_scan_check_utf8(p))
		return -1;
	for (;;) {
		int rc;

		toml_scan_skip_ws(p);
		if (toml_scan_peek(p) < 0)
			return 0;
		if (toml_scan_peek(p) == '[')
			rc = parse_header(p, root, &s);
		else if (toml_scan_peek(p) == '#' || toml_scan_at_newline(p))
			rc = toml_scan_end_of_line(p, "comment");
		else
			rc = parse_keyval(p, s.table, s.depth) ||
			     toml_scan_end_of_line(p, "value");
		if (rc)
			return -1;
	}
}

struct toml_table *toml_parse(const char *text, size_t len, struct toml_error *err)
{
	struct toml_error scratch;
	struct toml_parser p = {
		.text = text ? text : "",
		.len = text ? len : 0,
		.line = 1,
		.err = err ? err : &scratch,
	};
	struct toml_table *root = toml_tree_table_new(0);

	if (!root) {
		toml_fail_oom(&p);
		return NULL;
	}
	if (parse_document(&p, root)) {
		toml_table_free(root);
		return NULL;
	}
	return root;
}
