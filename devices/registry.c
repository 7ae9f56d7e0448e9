/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "devices/device.h"
#include "devices/models.h"

/* One line per device model. */
static const struct device_model *const device_models[] = {
	&uart8250_model,
	&debug_exit_model,
	&ioapic_model,
	&fslmc_model,
	&pci_host_model,
	&pci_testdev_model,
	&virtio_blk_model,
	&virtio_console_model,
	&dsa_model,
	&dfl_card_model,
	&vfio_platform_model,
	&vfio_fslmc_model,
	&vfio_pci_model,
	&vfio_dfl_model,
};

const struct device_model *device_model_find(const char *type)
{
	for (size_t i = 0; i < sizeof(device_models) / sizeof(device_models[0]); i++) {
		if (strcmp(device_models[i]->type, type) == 0)
			return device_models[i];
	}
	return NULL;
}

void device_model_list(char *buffer, size_t size)
{
	size_t used = 0;

	buffer[0] = '\0';
	for (size_t i = 0; i < sizeof(device_models) / sizeof(device_models[0]); i++) {
		int n = snprintf(buffer + used, size - used, "%s\"%s\"", i ? ", " : "",
				 device_models[i]->type);

		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
	}
}
