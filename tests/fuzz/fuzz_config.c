/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the whole config path: TOML parse, overrides, typed
 * validation and device-model parsing, then the device tree built from the
 * result. Any input must give a config or an error message.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vmm/config/config.h"
#include "vmm/fdt.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const overrides[] = { "vm.cmdline=fuzz" };
	struct config_error error = { .message = "" };
	struct vm_config *config;

	log_set_level(LOG_ERROR);
	config = config_parse("fuzz.toml", (const char *)data, size, overrides, 1, &error);
	if (!config) {
		if (error.message[0] == '\0')
			abort(); /* every rejection must say why */
		return 0;
	}
	void *blob;
	size_t blob_size;

	if (fdt_build(config, &blob, &blob_size) == 0)
		free(blob);
	config_free(config);
	return 0;
}
