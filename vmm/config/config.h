/* SPDX-License-Identifier: MIT */
/*
 * The typed, validated VM configuration built from a TOML file plus
 * command-line overrides. Everything the VMM needs to build a VM (or its
 * DTB) is in struct vm_config; nothing reads the TOML tree after parsing
 * except device models, which parse their own [devices.NAME] section.
 */
#ifndef VMM_CONFIG_CONFIG_H
#define VMM_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config/toml.h"
#include "vmm/log.h"

struct device;

#define CONFIG_MEMORY_MIN   (2ull << 20)
#define CONFIG_MEMORY_MAX   (3ull << 30) /* RAM must end below the MMIO hole */
#define CONFIG_VCPUS_MAX    32u

struct config_error {
	char message[512]; /* "file:line:col: what is wrong; what would be valid" */
};

/* Context handed to everything that validates a piece of config. */
struct config_context {
	const char *path;          /* the config file, for messages */
	const char *dir;           /* its directory, for relative paths */
	struct config_error *error;
};

struct test_expectation {
	bool must_fail;            /* expect = "fail" */
	int exit_status;           /* -1 when not given */
	char **output;             /* substrings the console must show */
	size_t output_count;
	unsigned timeout_seconds;
};

struct vm_config {
	char *path;
	uint64_t memory;
	unsigned vcpus;
	char *image;               /* self-test ELF; absolute or relative to the cwd */
	char *kernel;              /* Linux bzImage or vmlinux instead of image (docs/linux.md) */
	char *initrd;              /* with kernel only; NULL: none */
	char *cmdline;
	enum log_level log_level;
	struct device **devices;
	size_t device_count;
	struct test_expectation test;
};

/*
 * Parse and validate a config file with "key=value" overrides applied in
 * order. Returns NULL with error->message set.
 */
struct vm_config *config_load(const char *path, const char *const *overrides,
			      size_t override_count, struct config_error *error);
struct vm_config *config_parse(const char *path, const char *text, size_t len,
			       const char *const *overrides, size_t override_count,
			       struct config_error *error);
void config_free(struct vm_config *config);

/*
 * Print the value of a dotted key from a config file (after overrides), for
 * scripts: scalars on one line, arrays one element per line. Returns 0,
 * -ENOENT when absent, or -EINVAL with error set.
 */
int config_print_key(const char *path, const char *key, const char *const *overrides,
		     size_t override_count, struct config_error *error);

/* ---- helpers for validating a table, used by config.c and device models ---- */

/* Always returns -EINVAL so callers can `return config_fail(...)`. */
__attribute__((format(printf, 3, 4)))
int config_fail(const struct config_context *ctx, struct toml_pos pos, const char *fmt, ...);

/* Rejects keys not in the NULL-terminated list, naming the valid ones. */
int config_check_keys(const struct config_context *ctx, const struct toml_table *table,
		      const char *table_name, const char *const *known);

/* Each getter leaves *out untouched when the key is absent and not required. */
int config_get_string(const struct config_context *ctx, const struct toml_table *table,
		      const char *key, bool required, const char **out);
int config_get_bool(const struct config_context *ctx, const struct toml_table *table,
		    const char *key, bool *out);
int config_get_u64(const struct config_context *ctx, const struct toml_table *table,
		   const char *key, uint64_t min, uint64_t max, uint64_t *out);
/* Integer bytes or a size string: "64M", "1G", "512K", "4096". */
int config_get_size(const struct config_context *ctx, const struct toml_table *table,
		    const char *key, uint64_t min, uint64_t max, uint64_t *out);
/* One of the NULL-terminated choices; *index receives its position. */
int config_get_choice(const struct config_context *ctx, const struct toml_table *table,
		      const char *key, const char *const *choices, unsigned *index);
/* A path relative to the config file's directory becomes cwd-relative. */
int config_get_path(const struct config_context *ctx, const struct toml_table *table,
		    const char *key, bool required, char **out);

/* Parses "64M"-style sizes; -EINVAL on bad syntax, -ERANGE on overflow. */
int config_parse_size(const char *text, uint64_t *out);

#endif
