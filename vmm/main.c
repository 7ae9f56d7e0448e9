/* SPDX-License-Identifier: MIT */
/*
 * vmm run CONFIG [--set key=value]...
 * vmm dtb CONFIG -o FILE [--set key=value]...
 * vmm check-config CONFIG [--set key=value]... [--get KEY]
 *
 * Exit status of `run` is the guest's exit-port status ((v << 1) | 1, odd);
 * the VMM's own outcomes are even (see vm.h and docs/usage.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/config/config.h"
#include "vmm/fdt.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define MAX_OVERRIDES 64

struct cli {
	const char *command;
	const char *config_path;
	const char *output_path;   /* dtb -o */
	const char *get_key;       /* check-config --get */
	const char *overrides[MAX_OVERRIDES];
	size_t override_count;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vmm run CONFIG [--set KEY=VALUE]...\n"
		"       vmm dtb CONFIG -o FILE [--set KEY=VALUE]...\n"
		"       vmm check-config CONFIG [--set KEY=VALUE]... [--get KEY]\n"
		"\n"
		"KEY uses the TOML key names, e.g. --set vm.memory=128M --set vm.vcpus=2.\n"
		"Exit status of run: the guest's exit-port status (odd), %d for a VMM error,\n"
		"%d for a guest fault, %d+N when stopped by signal N. See docs/usage.md.\n",
		VMM_EXIT_ERROR, VMM_EXIT_GUEST_FAULT, VMM_EXIT_SIGNAL_BASE);
}

static int parse_option(struct cli *cli, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	const char *value = NULL;

	if (strcmp(arg, "--set") == 0 || strcmp(arg, "-o") == 0 || strcmp(arg, "--get") == 0) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "vmm: %s needs a value\n", arg);
			return -EINVAL;
		}
		value = argv[++*i];
	} else if (strncmp(arg, "--set=", 6) == 0) {
		value = arg + 6;
		arg = "--set";
	}
	if (value && strcmp(arg, "--set") == 0) {
		if (cli->override_count == MAX_OVERRIDES) {
			fprintf(stderr, "vmm: at most %d --set options\n", MAX_OVERRIDES);
			return -EINVAL;
		}
		cli->overrides[cli->override_count++] = value;
	} else if (value && strcmp(arg, "-o") == 0 && strcmp(cli->command, "dtb") == 0) {
		cli->output_path = value;
	} else if (value && strcmp(arg, "--get") == 0 && strcmp(cli->command, "check-config") == 0) {
		cli->get_key = value;
	} else if (arg[0] != '-' && !cli->config_path) {
		cli->config_path = arg;
	} else {
		fprintf(stderr, "vmm: unexpected argument '%s' for '%s'\n", arg, cli->command);
		return -EINVAL;
	}
	return 0;
}

static int parse_cli(struct cli *cli, int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return -EINVAL;
	}
	cli->command = argv[1];
	if (strcmp(cli->command, "run") != 0 && strcmp(cli->command, "dtb") != 0 &&
	    strcmp(cli->command, "check-config") != 0) {
		fprintf(stderr, "vmm: unknown command '%s'\n", cli->command);
		usage(stderr);
		return -EINVAL;
	}
	for (int i = 2; i < argc; i++) {
		if (parse_option(cli, argc, argv, &i))
			return -EINVAL;
	}
	if (!cli->config_path) {
		fprintf(stderr, "vmm: %s needs a CONFIG file\n", cli->command);
		return -EINVAL;
	}
	if (strcmp(cli->command, "dtb") == 0 && !cli->output_path) {
		fprintf(stderr, "vmm: dtb needs -o FILE\n");
		return -EINVAL;
	}
	return 0;
}

static int write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t written = fd >= 0 ? write(fd, data, size) : -1;
	int rc = written == (ssize_t)size ? 0 : -(errno ? errno : EIO);

	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int command_dtb(const struct vm_config *config, const char *output_path)
{
	void *blob;
	size_t size;
	int rc = fdt_build(config, &blob, &size);

	if (rc) {
		log_error("building the device tree: %s", strerror(-rc));
		return VMM_EXIT_ERROR;
	}
	rc = write_file(output_path, blob, size);
	free(blob);
	if (rc) {
		log_error("%s: %s", output_path, strerror(-rc));
		return VMM_EXIT_ERROR;
	}
	return 0;
}

static int command_run(const struct vm_config *config)
{
	struct vm vm;
	int status = VMM_EXIT_ERROR;

	if (vm_block_signals()) {
		log_error("cannot block signals");
		return VMM_EXIT_ERROR;
	}
	if (vm_create(&vm, config) == 0)
		status = vm_run(&vm);
	vm_destroy(&vm);
	return status;
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct config_error error;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (parse_cli(&cli, argc, argv))
		return VMM_EXIT_ERROR;
	if (cli.get_key) {
		int rc = config_print_key(cli.config_path, cli.get_key, cli.overrides,
					  cli.override_count, &error);

		if (rc == -EINVAL)
			fprintf(stderr, "vmm: %s\n", error.message);
		return rc ? VMM_EXIT_ERROR : 0;
	}
	struct vm_config *config = config_load(cli.config_path, cli.overrides,
					       cli.override_count, &error);

	if (!config) {
		fprintf(stderr, "vmm: %s\n", error.message);
		return VMM_EXIT_ERROR;
	}
	log_set_level(config->log_level);
	int status = 0;

	if (strcmp(cli.command, "dtb") == 0)
		status = command_dtb(config, cli.output_path);
	else if (strcmp(cli.command, "run") == 0)
		status = command_run(config);
	else
		printf("%s: ok\n", cli.config_path);
	config_free(config);
	return status;
}
