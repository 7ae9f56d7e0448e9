/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the TOML parser: parse the input, walk every node
 * checking the tree's invariants, then apply the input as a --set override
 * (to the parsed tree, or to an empty one when parsing failed) and walk again.
 * A broken invariant traps, so the fuzzer reports it as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

static void walk_value(const struct toml_value *value, unsigned depth);

/* Parsed positions are 1-based; overrides use line 0 and a column. */
static void check_pos(struct toml_pos pos)
{
	CHECK(pos.col >= 1);
}

static void walk_table(const struct toml_table *table, unsigned depth)
{
	CHECK(table->count <= table->capacity);
	for (size_t i = 0; i < table->count; i++) {
		const struct toml_entry *entry = &table->entries[i];

		check_pos(entry->key_pos);
		/* Keys are unique, so lookup finds this very entry. */
		CHECK(toml_table_get(table, entry->key) == &entry->value);
		walk_value(&entry->value, depth + 1);
	}
}

static void walk_value(const struct toml_value *value, unsigned depth)
{
	/* The parser promises a bounded depth; a generous margin here. */
	CHECK(depth <= 80);
	check_pos(value->pos);
	CHECK(toml_type_name(value->type) != NULL);
	switch (value->type) {
	case TOML_STRING:
		CHECK(value->u.string.str[value->u.string.len] == '\0');
		break;
	case TOML_INTEGER:
	case TOML_BOOLEAN:
		break;
	case TOML_ARRAY:
		CHECK(value->u.array->count <= value->u.array->capacity);
		/* An array of tables always holds at least the table that made it. */
		CHECK(!value->u.array->of_tables || value->u.array->count > 0);
		for (size_t i = 0; i < value->u.array->count; i++) {
			CHECK(!value->u.array->of_tables ||
			      value->u.array->items[i].type == TOML_TABLE);
			walk_value(&value->u.array->items[i], depth + 1);
		}
		break;
	case TOML_TABLE:
		walk_table(value->u.table, depth);
		break;
	}
}

static void check_error(const struct toml_error *err)
{
	size_t len = strnlen(err->message, sizeof(err->message));

	CHECK(len > 0 && len < 200);
	check_pos(err->pos);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error err;
	struct toml_table *root = toml_parse((const char *)data, size, &err);
	char *assignment;

	if (root) {
		walk_table(root, 0);
	} else {
		check_error(&err);
		CHECK(err.pos.line >= 1);
		root = toml_parse("", 0, &err);
		if (!root)
			return 0;
	}
	assignment = malloc(size + 1);
	if (assignment) {
		memcpy(assignment, data, size);
		assignment[size] = '\0';
		if (toml_apply_override(root, assignment, &err) != 0) {
			check_error(&err);
			CHECK(err.pos.line == 0);
		}
		walk_table(root, 0);
		free(assignment);
	}
	toml_table_free(root);
	return 0;
}
