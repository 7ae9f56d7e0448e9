/* SPDX-License-Identifier: MIT */
/*
 * The TOML tree (creation, lookup, freeing) and command-line overrides.
 * Parsing proper lives in toml_parse.c and toml_lex.c.
 */
#include <stdlib.h>
#include <string.h>

#include "vmm/config/toml_internal.h"

/* ---- Tree ------------------------------------------------------------- */

struct toml_table *toml_tree_table_new(unsigned flags)
{
	struct toml_table *table = calloc(1, sizeof(*table));

	if (table)
		table->flags = flags;
	return table;
}

/* Grow *items (capacity *capacity, `size`-byte elements) to hold one more. */
static bool grow(void **items, size_t *capacity, size_t count, size_t size)
{
	size_t wanted = *capacity ? *capacity * 2 : 4;
	void *grown;

	if (count < *capacity)
		return true;
	if (wanted > SIZE_MAX / 2 / size)
		return false;
	grown = realloc(*items, wanted * size);
	if (!grown)
		return false;
	*items = grown;
	*capacity = wanted;
	return true;
}

struct toml_entry *toml_tree_find(const struct toml_table *table, const char *key, size_t len)
{
	for (size_t i = 0; i < table->count; i++) {
		struct toml_entry *entry = &table->entries[i];

		if (strncmp(entry->key, key, len) == 0 && entry->key[len] == '\0')
			return entry;
	}
	return NULL;
}

/* Takes ownership of *value on success only; the key is copied. */
struct toml_entry *toml_tree_add(struct toml_table *table, const struct toml_key_part *key,
				 const struct toml_value *value)
{
	struct toml_entry *entry;
	char *name = strndup(key->name, key->len);

	if (!name || !grow((void **)&table->entries, &table->capacity, table->count,
			   sizeof(*table->entries))) {
		free(name);
		return NULL;
	}
	entry = &table->entries[table->count++];
	entry->key = name;
	entry->key_pos = key->pos;
	entry->value = *value;
	return entry;
}

/* A new empty table under `key`, starting where the key was written. */
struct toml_entry *toml_tree_add_table(struct toml_table *table, const struct toml_key_part *key,
				       unsigned flags)
{
	struct toml_value value = { .type = TOML_TABLE, .pos = key->pos };
	struct toml_entry *entry;

	value.u.table = toml_tree_table_new(flags);
	if (!value.u.table)
		return NULL;
	entry = toml_tree_add(table, key, &value);
	if (!entry)
		free(value.u.table);
	return entry;
}

int toml_tree_push(struct toml_array *array, const struct toml_value *value)
{
	if (!grow((void **)&array->items, &array->capacity, array->count, sizeof(*array->items)))
		return -1;
	array->items[array->count++] = *value;
	return 0;
}

static void array_free(struct toml_array *array)
{
	for (size_t i = 0; i < array->count; i++)
		toml_tree_value_free(&array->items[i]);
	free(array->items);
	free(array);
}

/* Recursion depth is bounded: the parser never builds trees deeper than
 * TOML_MAX_DEPTH. */
void toml_tree_value_free(struct toml_value *value)
{
	switch (value->type) {
	case TOML_STRING:
		free(value->u.string.str);
		break;
	case TOML_ARRAY:
		if (value->u.array)
			array_free(value->u.array);
		break;
	case TOML_TABLE:
		toml_table_free(value->u.table);
		break;
	case TOML_INTEGER:
	case TOML_BOOLEAN:
		break;
	}
	memset(value, 0, sizeof(*value));
}

void toml_table_free(struct toml_table *table)
{
	if (!table)
		return;
	for (size_t i = 0; i < table->count; i++) {
		free(table->entries[i].key);
		toml_tree_value_free(&table->entries[i].value);
	}
	free(table->entries);
	free(table);
}

const struct toml_value *toml_table_get(const struct toml_table *table, const char *key)
{
	const struct toml_entry *entry;

	if (!table || !key)
		return NULL;
	entry = toml_tree_find(table, key, strlen(key));
	return entry ? &entry->value : NULL;
}

const char *toml_type_name(enum toml_type type)
{
	switch (type) {
	case TOML_STRING:
		return "string";
	case TOML_INTEGER:
		return "integer";
	case TOML_BOOLEAN:
		return "boolean";
	case TOML_ARRAY:
		return "array";
	case TOML_TABLE:
		return "table";
	}
	return "unknown";
}

/* ---- Overrides -------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The value text as a plain string, surrounding blanks trimmed. */
static int raw_string_value(struct toml_parser *p, size_t start, struct toml_value *out)
{
	size_t end = p->len;

	while (end > start && is_blank(p->text[end - 1]))
		end--;
	out->type = TOML_STRING;
	out->u.string.str = strndup(p->text + start, end - start);
	if (!out->u.string.str)
		return toml_fail_oom(p);
	out->u.string.len = end - start;
	return 0;
}

/*
 * The text after '=': a TOML value if it is exactly one, otherwise the text
 * itself, so that --set vm.memory=128M or --set kernel=../x.elf need no
 * quoting. Only running out of memory is an error here.
 */
static int parse_override_value(struct toml_parser *p, unsigned depth, struct toml_value *out)
{
	struct toml_error *saved = p->err, trial;
	struct toml_pos pos;
	size_t start;
	int rc;

	toml_scan_skip_ws(p);
	start = p->off;
	pos = toml_scan_pos(p);
	p->err = &trial;
	rc = toml_parse_value(p, depth, out);
	p->err = saved;
	if (rc == 0) {
		toml_scan_skip_ws(p);
		if (p->off == p->len)
			return 0;
		toml_tree_value_free(out);
	} else if (p->out_of_memory) {
		return toml_fail_oom(p);
	}
	rc = raw_string_value(p, start, out);
	out->pos = pos;
	return rc;
}

/* Walk (creating as needed) the tables named by all but the last key part. */
static int override_parent(struct toml_parser *p, struct toml_table *root,
			   const struct toml_key_path *key, struct toml_table **parent)
{
	struct toml_table *table = root;
	char name[80];

	for (size_t i = 0; i + 1 < key->count; i++) {
		const struct toml_key_part *part = &key->parts[i];
		struct toml_entry *entry = toml_tree_find(table, part->name, part->len);

		if (!entry)
			entry = toml_tree_add_table(table, part, TOML_TABLE_DOTTED);
		if (!entry)
			return toml_fail_oom(p);
		if (entry->value.type != TOML_TABLE) {
			toml_format_key(key, i + 1, name, sizeof(name));
			return toml_fail(p, part->pos, "cannot set a key inside '%s': it is %s, not a table",
					 name, toml_type_with_article(entry->value.type));
		}
		table = entry->value.u.table;
	}
	*parent = table;
	return 0;
}

/* Replace or add the last key part's value; takes *value on success. */
static int override_store(struct toml_parser *p, struct toml_table *parent,
			  const struct toml_key_path *key, struct toml_value *value)
{
	const struct toml_key_part *last = &key->parts[key->count - 1];
	struct toml_entry *entry = toml_tree_find(parent, last->name, last->len);

	if (!entry)
		return toml_tree_add(parent, last, value) ? 0 : toml_fail_oom(p);
	toml_tree_value_free(&entry->value);
	entry->value = *value;
	entry->key_pos = last->pos;
	return 0;
}

static int apply_override(struct toml_parser *p, struct toml_table *root)
{
	struct toml_key_path key = { 0 };
	struct toml_table *parent = root;
	struct toml_value value;
	char name[80];
	int rc = -1;

	toml_scan_skip_ws(p);
	if (toml_parse_key(p, &key))
		goto out;
	if (toml_scan_peek(p) != '=') {
		toml_format_key(&key, key.count, name, sizeof(name));
		toml_fail(p, toml_scan_pos(p), "expected '=' after key '%s', found %s", name,
			  toml_scan_found(p).text);
		goto out;
	}
	toml_scan_advance(p);
	/* The value lies key.count levels below the root. */
	if (parse_override_value(p, (unsigned)key.count, &value))
		goto out;
	if (override_parent(p, root, &key, &parent) ||
	    override_store(p, parent, &key, &value)) {
		toml_tree_value_free(&value);
		goto out;
	}
	rc = 0;
out:
	toml_key_path_free(&key);
	return rc;
}

int toml_apply_override(struct toml_table *root, const char *assignment, struct toml_error *err)
{
	struct toml_error scratch;
	struct toml_parser p = {
		.text = assignment ? assignment : "",
		.len = assignment ? strlen(assignment) : 0,
		.flat = true,
		.err = err ? err : &scratch,
	};

	if (!root)
		return toml_fail(&p, toml_scan_pos(&p), "no document to apply the override to");
	if (toml_scan_check_utf8(&p))
		return -1;
	return apply_override(&p, root);
}
