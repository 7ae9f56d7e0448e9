/* SPDX-License-Identifier: MIT */
/* The device models registry.c knows; each defined in its own file. */
#ifndef DEVICES_MODELS_H
#define DEVICES_MODELS_H

#include "devices/device.h"

extern const struct device_model uart8250_model;
extern const struct device_model debug_exit_model;
extern const struct device_model ioapic_model;
extern const struct device_model fslmc_model;
extern const struct device_model pci_host_model;
extern const struct device_model pci_testdev_model;
extern const struct device_model virtio_blk_model;
extern const struct device_model virtio_console_model;
extern const struct device_model dsa_model;
extern const struct device_model dfl_card_model;
extern const struct device_model vfio_platform_model;
extern const struct device_model vfio_fslmc_model;
extern const struct device_model vfio_pci_model;
extern const struct device_model vfio_dfl_model;

#endif
