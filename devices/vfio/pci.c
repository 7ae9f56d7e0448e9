/* SPDX-License-Identifier: MIT */
/*
 * The "vfio-pci" device model: a real PCI function passed through with the
 * VFIO device cdev, plugged into the VM's PCI host behind a virtualized
 * config space (pci.h lists the parts; docs/devices/vfio-pci.md).
 *
 * Realize: open the device (vfio_device_open: bind, attach, RAM mapped,
 * info, reset), read its config header, build the guest's function,
 * mmap what can be mapped, set up MSI-X and INTx, plug into the host
 * (which assigns BARs: the config hooks then place the memslots).
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/models.h"
#include "devices/pci/host.h"
#include "devices/vfio/pci.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* ---- the device behind struct vfio_pci_io ---- */

static int cdev_region_read(void *opaque, unsigned index, uint64_t offset, void *buf, size_t len)
{
	return vfio_region_read(opaque, index, offset, buf, len);
}

static int cdev_region_write(void *opaque, unsigned index, uint64_t offset, const void *buf,
			     size_t len)
{
	return vfio_region_write(opaque, index, offset, buf, len);
}

static int cdev_set_eventfds(void *opaque, unsigned index, unsigned start, unsigned count,
			     const int *fds)
{
	return vfio_irq_set_eventfds(opaque, index, start, count, fds);
}

static int cdev_disable(void *opaque, unsigned index)
{
	return vfio_irq_disable(opaque, index);
}

static int cdev_set_unmask_eventfd(void *opaque, unsigned index, int fd)
{
	return vfio_irq_set_unmask_eventfd(opaque, index, fd);
}

static int cdev_reset(void *opaque)
{
	return vfio_device_reset(opaque);
}

const struct vfio_pci_io vfio_pci_cdev_io = {
	.region_read = cdev_region_read,
	.region_write = cdev_region_write,
	.set_eventfds = cdev_set_eventfds,
	.disable = cdev_disable,
	.set_unmask_eventfd = cdev_set_unmask_eventfd,
	.reset = cdev_reset,
};

/* ---- config ---- */

static const char *const common_keys[] = { "type", "sysfs", "fd", "slot", "mmap", "intx_pin" };
#define COMMON_KEY_COUNT (sizeof(common_keys) / sizeof(common_keys[0]))

static int check_keys(struct device *dev, const struct toml_table *section,
		      const struct config_context *ctx, const char *const *extra_keys)
{
	const char *keys[COMMON_KEY_COUNT + 16];
	size_t n = 0;

	for (size_t i = 0; i < COMMON_KEY_COUNT; i++)
		keys[n++] = common_keys[i];
	for (size_t i = 0; extra_keys && extra_keys[i] && n < COMMON_KEY_COUNT + 15; i++)
		keys[n++] = extra_keys[i];
	keys[n] = NULL;
	return config_check_keys(ctx, section, dev->name, keys);
}

static int parse_source(struct vfio_pci *pci, const struct toml_table *section,
			const struct config_context *ctx, const char *name)
{
	const struct toml_value *sysfs = toml_table_get(section, "sysfs");
	const struct toml_value *fd = toml_table_get(section, "fd");
	const char *path = NULL;
	uint64_t number = 0;
	int rc;

	if ((rc = config_get_string(ctx, section, "sysfs", false, &path)) ||
	    (rc = config_get_u64(ctx, section, "fd", 0, 65535, &number)))
		return rc;
	if (!sysfs && !fd)
		return config_fail(ctx, toml_table_get(section, "type")->pos, "[devices.%s]: say which device: "
				   "sysfs = \"/sys/bus/pci/devices/DDDD:BB:DD.F\", or fd = N (a VFIO "
				   "cdev fd opened by a parent process)", name);
	if (sysfs && fd)
		return config_fail(ctx, fd->pos, "[devices.%s]: 'sysfs' and 'fd' both given; use one",
				   name);
	if (path) {
		if (strlen(path) >= sizeof(pci->sysfs) || path[0] != '/')
			return config_fail(ctx, sysfs->pos, "[devices.%s]: 'sysfs' must be an absolute "
					   "path below %zu bytes", name, sizeof(pci->sysfs));
		strcpy(pci->sysfs, path);
	}
	pci->source_fd = fd ? (int)number : -1;
	return 0;
}

int vfio_pci_parse_common(struct device *dev, const struct toml_table *section,
			  const struct config_context *ctx, const char *const *extra_keys)
{
	struct vfio_pci *pci = calloc(1, sizeof(*pci));
	uint64_t slot = 0, pin = 0;
	int rc;

	if (!pci)
		return -ENOMEM;
	dev->state = pci;
	pci->name = dev->name;
	pci->slot = -1;
	pci->mmap = true;
	pci->source_fd = -1;
	pci->io = &vfio_pci_cdev_io;
	pci->io_opaque = &pci->dev;
	pci->intx = (struct vfio_pci_intx){ .pin = -1, .trigger_fd = -1, .unmask_fd = -1 };
	if ((rc = check_keys(dev, section, ctx, extra_keys)) ||
	    (rc = parse_source(pci, section, ctx, dev->name)) ||
	    (rc = config_get_u64(ctx, section, "slot", 1, PCI_HOST_SLOTS - 1, &slot)) ||
	    (rc = config_get_bool(ctx, section, "mmap", &pci->mmap)) ||
	    (rc = config_get_u64(ctx, section, "intx_pin", 0, 23, &pin)))
		return rc;
	pci->slot = slot ? (int)slot : -1;
	pci->intx.pin = toml_table_get(section, "intx_pin") ? (int)pin : -1;
	return 0;
}

static int vfio_pci_parse(struct device *dev, const struct toml_table *section,
			  const struct config_context *ctx)
{
	return vfio_pci_parse_common(dev, section, ctx, NULL);
}

/* ---- life cycle ---- */

static int open_device(struct vfio_pci *pci, struct vm *vm)
{
	const struct vfio_source source = {
		.sysfs = pci->sysfs[0] ? pci->sysfs : NULL, .fd = pci->source_fd,
		.no_dma = pci->no_dma,
	};
	int rc = vfio_device_open(&pci->dev, vm, pci->name, &source);

	if (rc)
		return rc;
	pci->source_fd = -1; /* the device owns it now */
	pci->dev_open = true;
	if (!(pci->dev.info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    pci->dev.info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX ||
	    !pci->dev.regions[VFIO_PCI_CONFIG_REGION_INDEX].present) {
		log_error("vfio-pci '%s': %s is not a vfio-pci device (flags %#x, %u regions): use "
			  "the personality of its bus", pci->name, pci->dev.cdev,
			  pci->dev.info.flags, pci->dev.info.num_regions);
		return -ENODEV;
	}
	return 0;
}

int vfio_pci_realize_common(struct vfio_pci *pci, struct vm *vm)
{
	int rc;

	pci->vm = vm;
	if (!vm->pci_host) {
		log_error("vfio-pci '%s' needs a PCI host: add [devices.pci] with type = \"pci-host\" "
			  "before it (devices realize in order)", pci->name);
		return -ENODEV;
	}
	if ((rc = open_device(pci, vm)) || (rc = vfio_pci_read_config(pci)) ||
	    (rc = vfio_pci_build_function(pci, vm, NULL)) || (rc = vfio_pci_msix_init(pci)) ||
	    (rc = vfio_pci_intx_init(pci, vm)))
		return rc;
	if (pci->mmap && (rc = vfio_pci_bars_map(pci)))
		return rc;
	if ((rc = x86_insn_add_target(&vm->insn_targets, vfio_pci_store64, pci)))
		return rc;
	pci->target_added = true;
	rc = pci_host_add_function(vm->pci_host, &pci->fn, pci->slot);
	if (rc < 0)
		return rc;
	log_info("vfio-pci '%s': %04x:%04x from %s at slot %d: %u capabilities offered, %u hidden; "
		 "MSI-X %s; INTx %s", pci->name, pci->fn.config[PCI_VENDOR_ID] |
		 pci->fn.config[PCI_VENDOR_ID + 1] << 8, pci->fn.config[PCI_DEVICE_ID] |
		 pci->fn.config[PCI_DEVICE_ID + 1] << 8, pci->dev.sysfs[0] ? pci->dev.sysfs :
		 pci->dev.cdev, rc, pci->caps_kept, pci->caps_hidden,
		 pci->msix.present ? "virtualized" : "not offered",
		 pci->intx.pin >= 0 ? "on an IOAPIC pin" : "not offered");
	return 0;
}

static int vfio_pci_realize(struct device *dev, struct vm *vm)
{
	return vfio_pci_realize_common(dev->state, vm);
}

/*
 * VM reset: the device is reset with its interrupts off on the host. The
 * emulated config space is the PCI host's to reset (pci_host_reset); the
 * guest's own FLR resets both (pci_config.c), through the same code.
 */
static void vfio_pci_reset(struct device *dev)
{
	struct vfio_pci *pci = dev->state;

	if (!pci->dev_open || !pci->fn.hooks)
		return; /* not realized */
	pthread_mutex_lock(&pci->fn.lock);
	vfio_pci_reset_locked(pci, false);
	pthread_mutex_unlock(&pci->fn.lock);
}

void vfio_pci_unrealize_common(struct vfio_pci *pci)
{
	if (!pci->vm)
		return;
	if (pci->target_added)
		x86_insn_remove_target(&pci->vm->insn_targets, pci);
	pci->target_added = false;
	vfio_pci_intx_free(pci);
	if (pci->dev_open && pci->fn_ready) {
		pthread_mutex_lock(&pci->fn.lock);
		vfio_pci_msix_host_off(pci);
		pthread_mutex_unlock(&pci->fn.lock);
	}
	vfio_pci_bars_unmap(pci);
	if (pci->fn_ready)
		pci_msix_release(&pci->fn);
	vfio_pci_msix_free(pci);
	if (pci->dev_open)
		vfio_device_close(&pci->dev);
	pci->dev_open = false;
}

static void vfio_pci_unrealize(struct device *dev, struct vm *vm)
{
	vfio_pci_unrealize_common(dev->state);
}

void vfio_pci_free(struct vfio_pci *pci)
{
	if (!pci)
		return;
	if (pci->fn_ready)
		pci_function_destroy(&pci->fn);
	vfio_pci_msix_free(pci);
	free(pci);
}

static void vfio_pci_destroy(struct device *dev)
{
	vfio_pci_free(dev->state);
	dev->state = NULL;
}

const struct device_model vfio_pci_model = {
	.type = "vfio-pci",
	.summary = "a host PCI function passed through (VFIO device cdev + iommufd)",
	.parse = vfio_pci_parse,
	.realize = vfio_pci_realize,
	.reset = vfio_pci_reset,
	.unrealize = vfio_pci_unrealize,
	.destroy = vfio_pci_destroy,
};
