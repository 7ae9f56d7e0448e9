/* SPDX-License-Identifier: MIT */
/*
 * Typed getters over the TOML tree. Every error names the file, line and
 * column of the offending value and says what would be valid.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/config.h"

int config_fail(const struct config_context *ctx, struct toml_pos pos, const char *fmt, ...)
{
	char detail[384];
	va_list args;

	va_start(args, fmt);
	vsnprintf(detail, sizeof(detail), fmt, args);
	va_end(args);
	if (pos.line == 0)
		snprintf(ctx->error->message, sizeof(ctx->error->message),
			 "%s: --set override: %s", ctx->path, detail);
	else
		snprintf(ctx->error->message, sizeof(ctx->error->message), "%s:%u:%u: %s",
			 ctx->path, pos.line, pos.col, detail);
	return -EINVAL;
}

static bool key_is_known(const char *key, const char *const *known)
{
	for (; *known; known++) {
		if (strcmp(key, *known) == 0)
			return true;
	}
	return false;
}

int config_check_keys(const struct config_context *ctx, const struct toml_table *table,
		      const char *table_name, const char *const *known)
{
	for (size_t i = 0; i < table->count; i++) {
		const struct toml_entry *entry = &table->entries[i];
		char valid[256] = "";
		size_t used = 0;

		if (key_is_known(entry->key, known))
			continue;
		for (const char *const *k = known; *k && used < sizeof(valid); k++) {
			int n = snprintf(valid + used, sizeof(valid) - used, "%s%s",
					 k == known ? "" : ", ", *k);
			used += n > 0 ? (size_t)n : 0;
		}
		return config_fail(ctx, entry->key_pos, "unknown key '%s' in [%s]; valid keys: %s",
				   entry->key, table_name, valid);
	}
	return 0;
}

static const char *with_article(enum toml_type type)
{
	static const char *const names[] = {
		[TOML_STRING] = "a string", [TOML_INTEGER] = "an integer",
		[TOML_BOOLEAN] = "a boolean", [TOML_ARRAY] = "an array", [TOML_TABLE] = "a table",
	};

	return names[type];
}

static const struct toml_value *config_lookup(const struct config_context *ctx,
					      const struct toml_table *table, const char *key,
					      enum toml_type type, int *rc)
{
	const struct toml_value *value = toml_table_get(table, key);

	*rc = 0;
	if (value && value->type != type) {
		*rc = config_fail(ctx, value->pos, "'%s' must be %s, not %s", key,
				  with_article(type), with_article(value->type));
		return NULL;
	}
	return value;
}

int config_get_string(const struct config_context *ctx, const struct toml_table *table,
		      const char *key, bool required, const char **out)
{
	int rc;
	const struct toml_value *value = config_lookup(ctx, table, key, TOML_STRING, &rc);

	if (rc)
		return rc;
	if (!value) {
		if (!required)
			return 0;
		snprintf(ctx->error->message, sizeof(ctx->error->message),
			 "%s: missing required key '%s'", ctx->path, key);
		return -EINVAL;
	}
	if (strlen(value->u.string.str) != value->u.string.len)
		return config_fail(ctx, value->pos, "'%s' must not contain NUL characters", key);
	*out = value->u.string.str;
	return 0;
}

int config_get_bool(const struct config_context *ctx, const struct toml_table *table,
		    const char *key, bool *out)
{
	int rc;
	const struct toml_value *value = config_lookup(ctx, table, key, TOML_BOOLEAN, &rc);

	if (value)
		*out = value->u.boolean;
	return rc;
}

int config_get_u64(const struct config_context *ctx, const struct toml_table *table,
		   const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	int rc;
	const struct toml_value *value = config_lookup(ctx, table, key, TOML_INTEGER, &rc);

	if (!value)
		return rc;
	if (value->u.integer < 0 || (uint64_t)value->u.integer < min ||
	    (uint64_t)value->u.integer > max)
		return config_fail(ctx, value->pos, "'%s' = %" PRId64 " is out of range; valid: %"
				   PRIu64 " to %" PRIu64 " (%#" PRIx64 ")", key,
				   value->u.integer, min, max, max);
	*out = (uint64_t)value->u.integer;
	return 0;
}

int config_parse_size(const char *text, uint64_t *out)
{
	static const struct { char suffix; unsigned shift; } units[] = {
		{ 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
	};
	char *end;
	unsigned shift = 0;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long number = strtoull(text, &end, 0);

	if (errno)
		return -ERANGE;
	if (*end) {
		char suffix = (char)(*end >= 'a' && *end <= 'z' ? *end - 32 : *end);
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (units[i].suffix == suffix)
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		shift = units[i].shift;
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && number > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)number << shift;
	return 0;
}

int config_get_size(const struct config_context *ctx, const struct toml_table *table,
		    const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	const struct toml_value *value = toml_table_get(table, key);
	uint64_t size;

	if (!value)
		return 0;
	if (value->type == TOML_INTEGER)
		return config_get_u64(ctx, table, key, min, max, out);
	if (value->type != TOML_STRING)
		return config_fail(ctx, value->pos, "'%s' must be a size such as \"64M\" or an "
				   "integer byte count, not %s", key, with_article(value->type));
	int rc = config_parse_size(value->u.string.str, &size);

	if (rc == -EINVAL)
		return config_fail(ctx, value->pos, "'%s' = \"%s\" is not a size; write a number "
				   "with an optional K, M, G or T suffix, e.g. \"256M\"", key,
				   value->u.string.str);
	if (rc || size < min || size > max)
		return config_fail(ctx, value->pos, "'%s' = \"%s\" is out of range; valid: %" PRIu64
				   "K to %" PRIu64 "K", key, value->u.string.str, min >> 10, max >> 10);
	*out = size;
	return 0;
}

int config_get_choice(const struct config_context *ctx, const struct toml_table *table,
		      const char *key, const char *const *choices, unsigned *index)
{
	const char *text = NULL;
	int rc = config_get_string(ctx, table, key, false, &text);

	if (rc || !text)
		return rc;
	for (unsigned i = 0; choices[i]; i++) {
		if (strcmp(text, choices[i]) == 0) {
			*index = i;
			return 0;
		}
	}
	char valid[256] = "";
	size_t used = 0;

	for (unsigned i = 0; choices[i] && used < sizeof(valid); i++) {
		int n = snprintf(valid + used, sizeof(valid) - used, "%s\"%s\"", i ? ", " : "",
				 choices[i]);
		used += n > 0 ? (size_t)n : 0;
	}
	return config_fail(ctx, toml_table_get(table, key)->pos,
			   "'%s' = \"%s\" is not valid; choose one of %s", key, text, valid);
}

int config_get_path(const struct config_context *ctx, const struct toml_table *table,
		    const char *key, bool required, char **out)
{
	const char *text = NULL;
	int rc = config_get_string(ctx, table, key, required, &text);

	if (rc || !text)
		return rc;
	if (text[0] == '\0')
		return config_fail(ctx, toml_table_get(table, key)->pos, "'%s' must not be empty",
				   key);
	char *path;

	if (text[0] == '/' || strcmp(ctx->dir, ".") == 0)
		path = strdup(text);
	else if (asprintf(&path, "%s/%s", ctx->dir, text) < 0)
		path = NULL;
	if (!path)
		return -ENOMEM;
	free(*out);
	*out = path;
	return 0;
}
