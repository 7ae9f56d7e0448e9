/* SPDX-License-Identifier: MIT */
/*
 * Backend "dfl": an FPGA DFL card, PCI 8086:bcc0, as vfio-pci would present
 * it, built on the project's DFL card (devices/dfl/: layout.c builds the
 * BAR0 image, bar0.c the register semantics and the AFUs' poller, afu.c
 * the DMA copy/fill engine) with the AFUs' DMA going through the simulated
 * IOMMU (dev->dma).
 *
 * Regions (vfio-pci indexes):
 *   0 BAR0  256 KiB, the DFL: READ|WRITE, trapped (live registers), aligned
 *           4- and 8-byte accesses as on the card
 *   2 BAR2  4 KiB, MSI-X table (0x000) and PBA (0x800): READ|WRITE, keeps
 *           what is written (the VMM virtualises MSI-X)
 *   7 config space with MSI-X (table BAR2 0x000, PBA 0x800) and PCIe
 *           capabilities; COMMAND.BME gates the AFUs' DMA
 * IRQs: INTx 0, MSI 0, MSI-X `vectors` (FME error 0, port p error 1 + 2p,
 * AFU p completion 2 + 2p, as on the card), ERR 1, REQ 1. RESET and the
 * device's release are an FLR. The AFU poller runs from the first attach
 * to the release.
 *
 * Keys mirror the "dfl-card" model: ports, dfh_version, vectors, afu_guid,
 * spin_us, park_min_us, park_max_us (the whole function is passed, so
 * there is no assignment or expose).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/dfl/bar0.h"
#include "devices/dfl/card.h"
#include "tests/vfio-sim/sim.h"
#include "vmm/config/config.h"
#include "vmm/poll.h"

#define DEFAULT_AFU_GUID "564d4d2d-4146-5530-8c0f-d11ecafe0001"
#define MSIX_BAR_SIZE    0x1000u

struct dfl_sim {
	struct sim_device *dev;
	struct dfl_card_config config;
	struct dfl_layout layout;
	bool layout_ready;
	struct dfl_bar0 bar0;
	bool bar0_ready;
	pthread_mutex_t cfg_lock;
	struct sim_pci_config cfg;
	uint8_t msix[MSIX_BAR_SIZE];
};

/* ---- BAR0 hooks ---- */

static void dfl_sim_raise(void *opaque, unsigned vector)
{
	struct dfl_sim *s = opaque;

	sim_irq_raise(s->dev, VFIO_PCI_MSIX_IRQ_INDEX, vector);
}

static bool dfl_sim_dma_allowed(void *opaque)
{
	struct dfl_sim *s = opaque;

	return sim_pci_config_bus_master(&s->cfg);
}

static const struct dfl_bar0_ops bar0_hooks = {
	.raise = dfl_sim_raise, .dma_allowed = dfl_sim_dma_allowed,
};

/* ---- regions ---- */

/* 8- or 4-byte pieces where aligned; other sizes reach the card as they are (and read all-ones). */
static unsigned piece(uint64_t offset, size_t len)
{
	if (len >= 8 && offset % 8 == 0)
		return 8;
	if (len >= 4 && offset % 4 == 0)
		return 4;
	return len >= 2 && offset % 2 == 0 ? 2 : 1;
}

static ssize_t bar0_rw(struct dfl_sim *s, uint64_t offset, uint8_t *buf, size_t len, bool write)
{
	for (size_t done = 0; done < len;) {
		unsigned size = piece(offset + done, len - done);
		uint64_t value = 0;

		if (write) {
			memcpy(&value, buf + done, size);
			dfl_bar0_write(&s->bar0, offset + done, size, value);
		} else {
			value = dfl_bar0_read(&s->bar0, offset + done, size);
			memcpy(buf + done, &value, size);
		}
		done += size;
	}
	return (ssize_t)len;
}

static ssize_t dfl_sim_read(struct sim_device *dev, unsigned region, uint64_t offset, void *buf,
			    size_t len)
{
	struct dfl_sim *s = dev->state;
	ssize_t rc;

	switch (region) {
	case DFL_CARD_BAR0:
		return bar0_rw(s, offset, buf, len, false);
	case DFL_CARD_MSIX_BAR:
		memcpy(buf, s->msix + offset, len);
		return (ssize_t)len;
	case VFIO_PCI_CONFIG_REGION_INDEX:
		pthread_mutex_lock(&s->cfg_lock);
		rc = sim_pci_config_read(&s->cfg, offset, buf, len);
		pthread_mutex_unlock(&s->cfg_lock);
		return rc;
	default:
		return -EINVAL;
	}
}

static ssize_t dfl_sim_write(struct sim_device *dev, unsigned region, uint64_t offset,
			     const void *buf, size_t len)
{
	struct dfl_sim *s = dev->state;
	ssize_t rc;

	switch (region) {
	case DFL_CARD_BAR0:
		return bar0_rw(s, offset, (uint8_t *)(uintptr_t)buf, len, true);
	case DFL_CARD_MSIX_BAR:
		memcpy(s->msix + offset, buf, len);
		return (ssize_t)len;
	case VFIO_PCI_CONFIG_REGION_INDEX:
		pthread_mutex_lock(&s->cfg_lock);
		rc = sim_pci_config_write(&s->cfg, offset, buf, len);
		pthread_mutex_unlock(&s->cfg_lock);
		return rc;
	default:
		return -EINVAL;
	}
}

/* ---- life cycle ---- */

static void build_config(struct dfl_sim *s)
{
	sim_pci_config_init(&s->cfg, DFL_PCI_VENDOR_ID, DFL_PCI_DEVICE_ID, DFL_PCI_CLASS, 0);
	sim_pci_config_bar(&s->cfg, DFL_CARD_BAR0, DFL_CARD_BAR0_SIZE, false);
	sim_pci_config_bar(&s->cfg, DFL_CARD_MSIX_BAR, MSIX_BAR_SIZE, false);
	sim_pci_config_msix(&s->cfg, s->config.vectors, DFL_CARD_MSIX_BAR, DFL_CARD_MSIX_TABLE,
			    DFL_CARD_MSIX_PBA);
	sim_pci_config_pcie(&s->cfg);
}

static int dfl_sim_reset(struct sim_device *dev)
{
	struct dfl_sim *s = dev->state;

	dfl_bar0_reset(&s->bar0);
	pthread_mutex_lock(&s->cfg_lock);
	build_config(s);
	memset(s->msix, 0, sizeof(s->msix));
	pthread_mutex_unlock(&s->cfg_lock);
	return 0;
}

static void dfl_sim_dma_changed(struct sim_device *dev, bool attached)
{
	struct dfl_sim *s = dev->state;

	if (attached)
		dfl_bar0_start(&s->bar0);
}

static void dfl_sim_released(struct sim_device *dev)
{
	struct dfl_sim *s = dev->state;

	dfl_bar0_stop(&s->bar0);
	dfl_sim_reset(dev);
}

static void dfl_sim_destroy(struct sim_device *dev)
{
	struct dfl_sim *s = dev->state;

	if (!s)
		return;
	if (s->bar0_ready)
		dfl_bar0_destroy(&s->bar0);
	if (s->layout_ready)
		dfl_layout_free(&s->layout);
	pthread_mutex_destroy(&s->cfg_lock);
	free(s);
	dev->state = NULL;
}

static const struct sim_device_ops dfl_sim_ops = {
	.read = dfl_sim_read,
	.write = dfl_sim_write,
	.reset = dfl_sim_reset,
	.dma_changed = dfl_sim_dma_changed,
	.released = dfl_sim_released,
	.destroy = dfl_sim_destroy,
};

/* ---- config ---- */

static int parse(const struct config_context *ctx, const struct toml_table *section,
		 const char *name, struct dfl_card_config *c)
{
	static const char *const keys[] = {
		SIM_COMMON_KEYS, "ports", "dfh_version", "vectors", "afu_guid", "spin_us",
		"park_min_us", "park_max_us", NULL,
	};
	struct poller_tuning t = POLLER_DEFAULT_TUNING;
	uint64_t ports = 1, version = 0, vectors = DFL_CARD_DEFAULT_VECTORS;
	uint64_t spin = t.spin_us, park_min = t.park_min_us, park_max = t.park_max_us;
	const char *guid = DEFAULT_AFU_GUID;
	int rc;

	if ((rc = config_check_keys(ctx, section, name, keys)) ||
	    (rc = config_get_u64(ctx, section, "ports", 1, DFL_CARD_MAX_PORTS, &ports)) ||
	    (rc = config_get_u64(ctx, section, "dfh_version", 0, 1, &version)) ||
	    (rc = config_get_u64(ctx, section, "vectors", 1 + 2 * ports, DFL_CARD_MAX_VECTORS,
				 &vectors)) ||
	    (rc = config_get_string(ctx, section, "afu_guid", false, &guid)) ||
	    (rc = config_get_u64(ctx, section, "spin_us", 0, 1000000, &spin)) ||
	    (rc = config_get_u64(ctx, section, "park_min_us", 1, 1000000, &park_min)) ||
	    (rc = config_get_u64(ctx, section, "park_max_us", 1, 1000000, &park_max)))
		return rc;
	if (dfl_guid_parse(guid, &c->afu_guid_l, &c->afu_guid_h))
		return config_fail(ctx, toml_table_get(section, "afu_guid")->pos,
				   "'afu_guid' = \"%s\" is not a GUID; valid: 8-4-4-4-12 hex digits, "
				   "e.g. \"%s\"", guid, DEFAULT_AFU_GUID);
	c->ports = (unsigned)ports;
	c->dfh_version = (unsigned)version;
	c->vectors = (unsigned)vectors;
	c->slot = -1;
	c->whole_device = true;
	c->expose = 0;
	c->spin_us = (uint32_t)spin;
	c->park_min_us = (uint32_t)park_min;
	c->park_max_us = (uint32_t)(park_max < park_min ? park_min : park_max);
	return 0;
}

static void build_regions(struct dfl_sim *s)
{
	struct sim_device *dev = s->dev;
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;

	dev->region_count = VFIO_PCI_NUM_REGIONS;
	dev->regions[DFL_CARD_BAR0] = (struct sim_region){ .flags = rw, .size = DFL_CARD_BAR0_SIZE,
							   .memfd = -1 };
	dev->regions[DFL_CARD_MSIX_BAR] = (struct sim_region){ .flags = rw, .size = MSIX_BAR_SIZE,
							       .memfd = -1 };
	dev->regions[VFIO_PCI_CONFIG_REGION_INDEX] = (struct sim_region){ .flags = rw, .size = 4096,
									  .memfd = -1 };
	sim_pci_irqs_init(dev, false, s->config.vectors);
}

static int dfl_sim_create(struct sim *sim, const char *name, const struct toml_table *section,
			  char *error, size_t error_len)
{
	struct config_error cerr = { "" };
	struct config_context ctx = { .path = sim_config_path(sim), .dir = ".", .error = &cerr };
	struct dfl_sim *s = calloc(1, sizeof(*s));
	struct sim_device *dev;
	int rc;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->cfg_lock, NULL);
	if ((rc = parse(&ctx, section, name, &s->config)) ||
	    !(dev = sim_device_add(sim, name, "pci", NULL, -1))) {
		snprintf(error, error_len, "%s", cerr.message);
		pthread_mutex_destroy(&s->cfg_lock);
		free(s);
		return rc ? rc : -ENOMEM;
	}
	s->dev = dev;
	dev->state = s;
	dev->ops = &dfl_sim_ops;
	if ((rc = dfl_layout_build(&s->layout, &s->config))) {
		snprintf(error, error_len, "%s: [devices.%s]: building the DFL: %s",
			 sim_config_path(sim), name, s->layout.walk.error);
		return rc;
	}
	s->layout_ready = true;
	build_config(s);
	build_regions(s);
	rc = dfl_bar0_init(&s->bar0, dev->name, &s->config, &s->layout, &dev->dma, &bar0_hooks, s);
	s->bar0_ready = true;
	if (rc)
		snprintf(error, error_len, "%s: [devices.%s]: %s", sim_config_path(sim), name,
			 strerror(-rc));
	return rc;
}

const struct sim_backend sim_backend_dfl = { .kind = "dfl", .create = dfl_sim_create };
