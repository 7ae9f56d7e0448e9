/* SPDX-License-Identifier: MIT */
/*
 * From a TOML document to a validated struct vm_config.
 *
 * Top level: [vm], [devices.NAME] (one per device instance, `type` picks
 * the model) and [test] (read by the guest-test runner). docs/config.md
 * documents every key; keep the two in step.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/device.h"
#include "vmm/config/config.h"

#define CONFIG_FILE_MAX (1u << 20)
#define TEST_TIMEOUT_DEFAULT 30u

/* Exactly one of image (self-test ELF) and kernel (Linux); initrd only with kernel. */
static int check_guest_keys(const struct config_context *ctx, const struct toml_table *vm,
			    const struct vm_config *config)
{
	if (config->image && config->kernel)
		return config_fail(ctx, toml_table_get(vm, "kernel")->pos, "'image' (a self-test "
				   "ELF) and 'kernel' (a Linux bzImage or vmlinux) exclude each other; "
				   "keep one");
	if (!config->image && !config->kernel) {
		snprintf(ctx->error->message, sizeof(ctx->error->message), "%s: missing required key "
			 "'image' (a self-test ELF) or 'kernel' (a Linux bzImage or vmlinux) in [vm]",
			 ctx->path);
		return -EINVAL;
	}
	if (config->initrd && !config->kernel)
		return config_fail(ctx, toml_table_get(vm, "initrd")->pos, "'initrd' needs "
				   "'kernel': self-test images take no initrd");
	return 0;
}

static int parse_vm_section(const struct config_context *ctx, const struct toml_table *vm,
			    struct vm_config *config)
{
	static const char *const keys[] = {
		"memory", "vcpus", "image", "kernel", "initrd", "cmdline", "log_level", NULL,
	};
	static const char *const levels[] = { "error", "warn", "info", "debug", NULL };
	uint64_t vcpus = config->vcpus;
	unsigned level = (unsigned)config->log_level;
	const char *cmdline = NULL;
	int rc;

	if ((rc = config_check_keys(ctx, vm, "vm", keys)) ||
	    (rc = config_get_size(ctx, vm, "memory", CONFIG_MEMORY_MIN, CONFIG_MEMORY_MAX,
				  &config->memory)) ||
	    (rc = config_get_u64(ctx, vm, "vcpus", 1, CONFIG_VCPUS_MAX, &vcpus)) ||
	    (rc = config_get_path(ctx, vm, "image", false, &config->image)) ||
	    (rc = config_get_path(ctx, vm, "kernel", false, &config->kernel)) ||
	    (rc = config_get_path(ctx, vm, "initrd", false, &config->initrd)) ||
	    (rc = check_guest_keys(ctx, vm, config)) ||
	    (rc = config_get_string(ctx, vm, "cmdline", false, &cmdline)) ||
	    (rc = config_get_choice(ctx, vm, "log_level", levels, &level)))
		return rc;
	if (config->memory & 0xfff)
		return config_fail(ctx, toml_table_get(vm, "memory")->pos,
				   "'memory' must be a multiple of 4K");
	config->vcpus = (unsigned)vcpus;
	config->log_level = (enum log_level)level;
	if (cmdline && !(config->cmdline = strdup(cmdline)))
		return -ENOMEM;
	return 0;
}

static int parse_test_output(const struct config_context *ctx, const struct toml_value *value,
			     struct test_expectation *test)
{
	if (value->type != TOML_ARRAY)
		return config_fail(ctx, value->pos, "'expect_output' must be an array of strings");
	test->output = calloc(value->u.array->count + 1, sizeof(char *));
	if (!test->output)
		return -ENOMEM;
	for (size_t i = 0; i < value->u.array->count; i++) {
		const struct toml_value *item = &value->u.array->items[i];

		if (item->type != TOML_STRING)
			return config_fail(ctx, item->pos, "'expect_output' items must be strings, "
					   "not a %s", toml_type_name(item->type));
		if (!(test->output[i] = strdup(item->u.string.str)))
			return -ENOMEM;
		test->output_count++;
	}
	return 0;
}

static int parse_test_section(const struct config_context *ctx, const struct toml_table *section,
			      struct test_expectation *test)
{
	static const char *const keys[] = {
		"expect", "expect_exit", "expect_output", "timeout", "simulator", NULL,
	};
	static const char *const outcomes[] = { "pass", "fail", NULL };
	unsigned outcome = 0;
	uint64_t exit_status = (uint64_t)-1, timeout = test->timeout_seconds;
	const struct toml_value *output = toml_table_get(section, "expect_output");
	const char *simulator = NULL;
	int rc;

	if ((rc = config_check_keys(ctx, section, "test", keys)) ||
	    (rc = config_get_choice(ctx, section, "expect", outcomes, &outcome)) ||
	    (rc = config_get_u64(ctx, section, "expect_exit", 0, 255, &exit_status)) ||
	    (rc = config_get_u64(ctx, section, "timeout", 1, 3600, &timeout)) ||
	    /* The runner's (scripts/run-guest-tests): the VFIO host simulator config. */
	    (rc = config_get_string(ctx, section, "simulator", false, &simulator)) ||
	    (output && (rc = parse_test_output(ctx, output, test))))
		return rc;
	if (simulator && !*simulator)
		return config_fail(ctx, toml_table_get(section, "simulator")->pos,
				   "'simulator' must name a VFIO host simulator config, e.g. "
				   "\"../tests/vfio-sim/configs/dsa.toml\"");
	test->must_fail = outcome == 1;
	test->exit_status = exit_status == (uint64_t)-1 ? -1 : (int)exit_status;
	test->timeout_seconds = (unsigned)timeout;
	return 0;
}

static int parse_device(const struct config_context *ctx, const struct toml_entry *entry,
			struct vm_config *config)
{
	const struct toml_table *section;
	const char *type = NULL;
	char known[256];
	int rc;

	if (entry->value.type != TOML_TABLE)
		return config_fail(ctx, entry->key_pos, "'devices.%s' must be a table such as "
				   "[devices.%s] with a 'type' key", entry->key, entry->key);
	section = entry->value.u.table;
	if ((rc = config_get_string(ctx, section, "type", false, &type)))
		return rc;
	device_model_list(known, sizeof(known));
	if (!type)
		return config_fail(ctx, entry->key_pos, "[devices.%s] needs a 'type'; one of %s",
				   entry->key, known);
	const struct device_model *model = device_model_find(type);

	if (!model)
		return config_fail(ctx, toml_table_get(section, "type")->pos,
				   "unknown device type \"%s\"; known types: %s", type, known);
	struct device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return -ENOMEM;
	config->devices[config->device_count++] = dev;
	dev->model = model;
	if (!(dev->name = strdup(entry->key)))
		return -ENOMEM;
	return model->parse(dev, section, ctx);
}

static int parse_devices(const struct config_context *ctx, const struct toml_value *value,
			 struct vm_config *config)
{
	if (value->type != TOML_TABLE)
		return config_fail(ctx, value->pos, "'devices' must be a table of [devices.NAME] "
				   "sections");
	const struct toml_table *devices = value->u.table;

	config->devices = calloc(devices->count + 1, sizeof(*config->devices));
	if (!config->devices)
		return -ENOMEM;
	for (size_t i = 0; i < devices->count; i++) {
		int rc = parse_device(ctx, &devices->entries[i], config);

		if (rc)
			return rc;
	}
	return 0;
}

static int parse_document(const struct config_context *ctx, const struct toml_table *root,
			  struct vm_config *config)
{
	static const char *const keys[] = { "vm", "devices", "test", NULL };
	const struct toml_value *vm = toml_table_get(root, "vm");
	const struct toml_value *devices = toml_table_get(root, "devices");
	const struct toml_value *test = toml_table_get(root, "test");
	int rc;

	if ((rc = config_check_keys(ctx, root, "top level", keys)))
		return rc;
	if (!vm) {
		snprintf(ctx->error->message, sizeof(ctx->error->message),
			 "%s: missing [vm] section (it needs at least 'image' or 'kernel')", ctx->path);
		return -EINVAL;
	}
	if (vm->type != TOML_TABLE)
		return config_fail(ctx, vm->pos, "'vm' must be a table");
	if ((rc = parse_vm_section(ctx, vm->u.table, config)))
		return rc;
	if (devices && (rc = parse_devices(ctx, devices, config)))
		return rc;
	if (test && test->type != TOML_TABLE)
		return config_fail(ctx, test->pos, "'test' must be a table");
	if (test && (rc = parse_test_section(ctx, test->u.table, &config->test)))
		return rc;
	return 0;
}

static struct toml_table *parse_with_overrides(const char *path, const char *text, size_t len,
					       const char *const *overrides, size_t count,
					       struct config_error *error)
{
	struct toml_error toml_error;
	struct toml_table *root = toml_parse(text, len, &toml_error);

	if (!root) {
		snprintf(error->message, sizeof(error->message), "%s:%u:%u: %s", path,
			 toml_error.pos.line, toml_error.pos.col, toml_error.message);
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		if (toml_apply_override(root, overrides[i], &toml_error) == 0)
			continue;
		snprintf(error->message, sizeof(error->message), "--set '%s': column %u: %s",
			 overrides[i], toml_error.pos.col, toml_error.message);
		toml_table_free(root);
		return NULL;
	}
	return root;
}

static char *directory_of(const char *path)
{
	char *copy = strdup(path);
	char *dir = copy ? strdup(dirname(copy)) : NULL;

	free(copy);
	return dir;
}

struct vm_config *config_parse(const char *path, const char *text, size_t len,
			       const char *const *overrides, size_t override_count,
			       struct config_error *error)
{
	struct vm_config *config = calloc(1, sizeof(*config));
	char *dir = directory_of(path);
	struct toml_table *root = NULL;
	int rc = -ENOMEM;

	if (!config || !dir || !(config->path = strdup(path)))
		goto fail;
	config->memory = 64ull << 20;
	config->vcpus = 1;
	config->log_level = LOG_INFO;
	config->test.exit_status = -1;
	config->test.timeout_seconds = TEST_TIMEOUT_DEFAULT;
	root = parse_with_overrides(path, text, len, overrides, override_count, error);
	if (!root) {
		rc = -EINVAL;
		goto fail;
	}
	struct config_context ctx = { .path = path, .dir = dir, .error = error };

	rc = parse_document(&ctx, root, config);
	if (rc)
		goto fail;
	toml_table_free(root);
	free(dir);
	return config;
fail:
	if (rc == -ENOMEM)
		snprintf(error->message, sizeof(error->message), "%s: out of memory", path);
	toml_table_free(root);
	free(dir);
	config_free(config);
	return NULL;
}

/* Reads a whole config file; bounded because configs are small. */
static char *read_config_file(const char *path, size_t *len, struct config_error *error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *text = NULL;

	if (fd < 0) {
		snprintf(error->message, sizeof(error->message), "%s: cannot open: %s", path,
			 strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
		snprintf(error->message, sizeof(error->message),
			 "%s: not a regular file of at most %u bytes", path, CONFIG_FILE_MAX);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	ssize_t got = text ? read(fd, text, (size_t)st.st_size) : -1;

	if (got != st.st_size) {
		snprintf(error->message, sizeof(error->message), "%s: read failed: %s", path,
			 got < 0 ? strerror(errno) : "short read");
		free(text);
		text = NULL;
		goto out;
	}
	*len = (size_t)got;
out:
	close(fd);
	return text;
}

struct vm_config *config_load(const char *path, const char *const *overrides,
			      size_t override_count, struct config_error *error)
{
	size_t len;
	char *text = read_config_file(path, &len, error);

	if (!text)
		return NULL;
	struct vm_config *config = config_parse(path, text, len, overrides, override_count, error);

	free(text);
	return config;
}

void config_free(struct vm_config *config)
{
	if (!config)
		return;
	for (size_t i = 0; i < config->device_count; i++) {
		struct device *dev = config->devices[i];

		if (dev->model->destroy)
			dev->model->destroy(dev);
		free(dev->name);
		free(dev);
	}
	free(config->devices);
	for (size_t i = 0; i < config->test.output_count; i++)
		free(config->test.output[i]);
	free(config->test.output);
	free(config->image);
	free(config->kernel);
	free(config->initrd);
	free(config->cmdline);
	free(config->path);
	free(config);
}
