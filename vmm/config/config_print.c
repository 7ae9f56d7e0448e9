/* SPDX-License-Identifier: MIT */
/*
 * `vmm check-config CONFIG --get KEY`: print one value for shell scripts
 * (the guest-test runner reads [test] this way instead of parsing TOML).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/config.h"

static void print_scalar(const struct toml_value *value)
{
	switch (value->type) {
	case TOML_STRING:
		printf("%s\n", value->u.string.str);
		break;
	case TOML_INTEGER:
		printf("%" PRId64 "\n", value->u.integer);
		break;
	case TOML_BOOLEAN:
		printf("%s\n", value->u.boolean ? "true" : "false");
		break;
	case TOML_ARRAY:
	case TOML_TABLE:
		break;
	}
}

static const struct toml_value *lookup_dotted(const struct toml_table *root, char *key)
{
	const struct toml_table *table = root;
	const struct toml_value *value = NULL;

	for (char *part = strtok(key, "."); part; part = strtok(NULL, ".")) {
		if (!table)
			return NULL;
		value = toml_table_get(table, part);
		if (!value)
			return NULL;
		table = value->type == TOML_TABLE ? value->u.table : NULL;
	}
	return value;
}

int config_print_key(const char *path, const char *key, const char *const *overrides,
		     size_t override_count, struct config_error *error)
{
	/* Validate first, so scripts never act on a config `vmm run` would refuse. */
	struct vm_config *config = config_load(path, overrides, override_count, error);

	if (!config)
		return -EINVAL;
	config_free(config);

	FILE *file = fopen(path, "r");
	char *text = NULL, *key_copy = strdup(key);
	size_t cap = 0, len = 0;
	struct toml_error toml_error;
	struct toml_table *root = NULL;
	int rc = -ENOENT;

	if (file) {
		ssize_t got = getdelim(&text, &cap, '\0', file);

		len = got > 0 ? (size_t)got : 0;
		fclose(file);
	}
	if (text && key_copy)
		root = toml_parse(text, len, &toml_error);
	for (size_t i = 0; root && i < override_count; i++)
		toml_apply_override(root, overrides[i], &toml_error);
	const struct toml_value *value = root ? lookup_dotted(root, key_copy) : NULL;

	if (value && value->type == TOML_ARRAY) {
		for (size_t i = 0; i < value->u.array->count; i++)
			print_scalar(&value->u.array->items[i]);
		rc = 0;
	} else if (value && value->type != TOML_TABLE) {
		print_scalar(value);
		rc = 0;
	}
	toml_table_free(root);
	free(text);
	free(key_copy);
	return rc;
}
