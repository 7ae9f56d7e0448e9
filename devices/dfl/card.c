/* SPDX-License-Identifier: MIT */
/*
 * "dfl-card": an FPGA DFL card as a PCI function (card.h,
 * docs/devices/dfl.md). BAR0 = the DFL (static words from layout.c plus the
 * live registers of bar0.c, which the VFIO host simulator's "dfl" backend
 * drives too), BAR2 = MSI-X table and PBA. The AFUs' DMA engines run on
 * one poller thread per card (bar0.c), kicked by their doorbells. This
 * file is the PCI function, MSI-X, config and life cycle.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/dfl/bar0.h"
#include "devices/dfl/card.h"
#include "devices/models.h"
#include "devices/pci/host.h"
#include "devices/pci/msix.h"
#include "vmm/log.h"
#include "vmm/poll.h"
#include "vmm/vm.h"

#define DEFAULT_AFU_GUID "564d4d2d-4146-5530-8c0f-d11ecafe0001"
#define MSIX_BAR_SIZE    0x1000

struct dfl_card {
	const char *name;
	struct dfl_card_config config;
	struct dfl_layout layout;
	struct pci_function fn;
	struct dfl_bar0 bar0;        /* registers and the AFUs' poller (bar0.c) */
	bool bar0_ready;
};

/* ---- BAR0 hooks ---- */

static void card_raise(void *opaque, unsigned vector)
{
	struct dfl_card *card = opaque;

	if (pci_msix_raise(&card->fn, vector))
		log_debug("%s: MSI-X entry %u does not exist", card->name, vector);
}

static bool card_dma_allowed(void *opaque)
{
	struct dfl_card *card = opaque;

	return card->config.whole_device && (pci_function_command(&card->fn) & PCI_COMMAND_MASTER);
}

static const struct dfl_bar0_ops bar0_hooks = {
	.raise = card_raise, .dma_allowed = card_dma_allowed,
};

/* ---- BARs ---- */

static uint64_t bar0_read(void *opaque, uint64_t offset, unsigned size)
{
	struct dfl_card *card = opaque;

	return dfl_bar0_read(&card->bar0, offset, size);
}

static void bar0_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct dfl_card *card = opaque;

	dfl_bar0_write(&card->bar0, offset, size, value);
}

static uint64_t msix_read(void *opaque, uint64_t offset, unsigned size)
{
	struct dfl_card *card = opaque;
	uint64_t value;

	if (pci_msix_mmio_read(&card->fn, DFL_CARD_MSIX_BAR, offset, size, &value))
		return value;
	return 0;
}

static void msix_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct dfl_card *card = opaque;

	pci_msix_mmio_write(&card->fn, DFL_CARD_MSIX_BAR, offset, size, value);
}

static const struct bus_region_ops bar0_ops = { .read = bar0_read, .write = bar0_write };
static const struct bus_region_ops msix_ops = { .read = msix_read, .write = msix_write };

/* ---- config ---- */

static const struct toml_value *position_of(const struct toml_table *section, const char *key,
					    const char *fallback)
{
	const struct toml_value *value = toml_table_get(section, key);

	return value ? value : toml_table_get(section, fallback);
}

static int parse_expose_item(const struct config_context *ctx, const struct toml_value *item,
			     unsigned ports, uint32_t *expose)
{
	const char *text = item->type == TOML_STRING ? item->u.string.str : NULL;
	unsigned index;

	if (text && strcmp(text, "fme") == 0)
		*expose |= DFL_EXPOSE_FME;
	else if (text && strcmp(text, "port") == 0)
		*expose |= DFL_EXPOSE_ALL_PORTS;
	else if (text && strcmp(text, "afu") == 0)
		*expose |= DFL_EXPOSE_ALL_AFUS;
	else if (text && (sscanf(text, "port%u", &index) == 1 || sscanf(text, "afu%u", &index) == 1) &&
		 strlen(text) == (text[0] == 'p' ? 5u : 4u)) {
		if (index >= ports)
			return config_fail(ctx, item->pos, "'%s': the card has %u port%s (0 to %u)", text,
					   ports, ports == 1 ? "" : "s", ports - 1);
		*expose |= text[0] == 'p' ? DFL_EXPOSE_PORT(index) : DFL_EXPOSE_AFU(index);
	} else {
		return config_fail(ctx, item->pos, "unknown feature group in 'expose'; valid: "
				   "\"fme\", \"port\", \"afu\", \"portN\", \"afuN\" (N < %u)", ports);
	}
	return 0;
}

static int parse_expose(const struct config_context *ctx, const struct toml_table *section,
			struct dfl_card_config *c)
{
	const struct toml_value *value = toml_table_get(section, "expose");
	uint32_t existing = DFL_EXPOSE_FME;
	int rc;

	for (unsigned p = 0; p < c->ports; p++)
		existing |= DFL_EXPOSE_PORT(p) | DFL_EXPOSE_AFU(p);
	c->expose = DFL_EXPOSE_ALL_PORTS | DFL_EXPOSE_ALL_AFUS; /* default: FME hidden */
	if (value && value->type != TOML_ARRAY)
		return config_fail(ctx, value->pos, "'expose' must be an array of strings");
	if (value) {
		c->expose = 0;
		for (size_t i = 0; i < value->u.array->count; i++) {
			if ((rc = parse_expose_item(ctx, &value->u.array->items[i], c->ports,
						    &c->expose)))
				return rc;
		}
	}
	c->expose &= existing;
	return 0;
}

/* The isolation rule: DMA-capable features only with the whole device. */
static int check_isolation(const struct config_context *ctx, const struct toml_table *section,
			   const struct dfl_card_config *c, const char *name)
{
	for (unsigned p = 0; p < c->ports && !c->whole_device; p++) {
		if (!(c->expose & DFL_EXPOSE_AFU(p)))
			continue;
		return config_fail(ctx, position_of(section, "expose", "assignment")->pos,
				   "[devices.%s]: refusing to expose afu%u with assignment = \"features\": "
				   "it is DMA-capable (its copy/fill engine reads and writes guest memory) "
				   "and every feature of the PCI function shares one DMA context, so "
				   "handing it out alone gives no isolation; set assignment = \"device\" "
				   "or leave the AFUs out of 'expose'", name, p);
	}
	if (c->expose && c->slot < 0)
		return config_fail(ctx, toml_table_get(section, "type")->pos,
				   "[devices.%s]: 'slot' is required when features are exposed (the "
				   "device tree names the PCI function and is built before slots are "
				   "assigned); valid: 1 to %u, or expose = [] for no description",
				   name, PCI_HOST_SLOTS - 1);
	return 0;
}

/* The poller thread running the AFUs (vmm/poll.h), as the dsa model tunes its own. */
static int parse_tuning(const struct config_context *ctx, const struct toml_table *section,
			struct dfl_card_config *c)
{
	struct poller_tuning t = POLLER_DEFAULT_TUNING;
	uint64_t spin = t.spin_us, park_min = t.park_min_us, park_max = t.park_max_us;
	int rc;

	if ((rc = config_get_u64(ctx, section, "spin_us", 0, 1000000, &spin)) ||
	    (rc = config_get_u64(ctx, section, "park_min_us", 1, 1000000, &park_min)) ||
	    (rc = config_get_u64(ctx, section, "park_max_us", 1, 1000000, &park_max)))
		return rc;
	c->spin_us = (uint32_t)spin;
	c->park_min_us = (uint32_t)park_min;
	c->park_max_us = (uint32_t)(park_max < park_min ? park_min : park_max);
	return 0;
}

static int parse_config(const struct config_context *ctx, const struct toml_table *section,
			const char *name, struct dfl_card_config *c)
{
	static const char *const assignments[] = { "device", "features", NULL };
	uint64_t ports = 1, version = 0, vectors = DFL_CARD_DEFAULT_VECTORS, slot = 0;
	const char *guid = DEFAULT_AFU_GUID;
	unsigned assignment = 0;
	int rc;

	if ((rc = config_get_u64(ctx, section, "ports", 1, DFL_CARD_MAX_PORTS, &ports)) ||
	    (rc = config_get_u64(ctx, section, "dfh_version", 0, 1, &version)) ||
	    (rc = config_get_u64(ctx, section, "vectors", 1 + 2 * ports, DFL_CARD_MAX_VECTORS,
				 &vectors)) ||
	    (rc = config_get_u64(ctx, section, "slot", 1, PCI_HOST_SLOTS - 1, &slot)) ||
	    (rc = config_get_choice(ctx, section, "assignment", assignments, &assignment)) ||
	    (rc = config_get_string(ctx, section, "afu_guid", false, &guid)))
		return rc;
	if (dfl_guid_parse(guid, &c->afu_guid_l, &c->afu_guid_h))
		return config_fail(ctx, toml_table_get(section, "afu_guid")->pos,
				   "'afu_guid' = \"%s\" is not a GUID; valid: 8-4-4-4-12 hex digits, "
				   "e.g. \"%s\"", guid, DEFAULT_AFU_GUID);
	c->ports = (unsigned)ports;
	c->dfh_version = (unsigned)version;
	c->vectors = (unsigned)vectors;
	c->slot = slot ? (int)slot : -1;
	c->whole_device = assignment == 0;
	if ((rc = parse_tuning(ctx, section, c)) || (rc = parse_expose(ctx, section, c)))
		return rc;
	return check_isolation(ctx, section, c, name);
}

static int card_parse(struct device *dev, const struct toml_table *section,
		      const struct config_context *ctx)
{
	static const char *const keys[] = { "type", "slot", "ports", "dfh_version", "vectors",
					    "afu_guid", "expose", "assignment", "spin_us",
					    "park_min_us", "park_max_us", NULL };
	struct dfl_card *card = calloc(1, sizeof(*card));
	int rc;

	if (!card)
		return -ENOMEM;
	dev->state = card;
	card->name = dev->name;
	if ((rc = config_check_keys(ctx, section, dev->name, keys)) ||
	    (rc = parse_config(ctx, section, dev->name, &card->config)))
		return rc;
	if ((rc = dfl_layout_build(&card->layout, &card->config)))
		snprintf(ctx->error->message, sizeof(ctx->error->message),
			 "%s: [devices.%s]: internal error building the DFL: %s", ctx->path,
			 dev->name, card->layout.walk.error);
	return rc;
}

/* ---- life cycle ---- */

static int card_no_host(const struct device *dev)
{
	log_error("dfl-card '%s' needs a PCI host: add [devices.pci] with type = \"pci-host\" "
		  "before it (devices realize in config order)", dev->name);
	return -ENODEV;
}

static int build_function(struct dfl_card *card, struct vm *vm)
{
	static const struct pci_identity identity = {
		.vendor_id = DFL_PCI_VENDOR_ID, .device_id = DFL_PCI_DEVICE_ID,
		.class_code = DFL_PCI_CLASS, .revision = 0,
		.subsystem_vendor_id = DFL_PCI_VENDOR_ID, .subsystem_id = DFL_PCI_DEVICE_ID,
	};
	int rc;

	if ((rc = pci_function_init(&card->fn, card->name, &identity)) ||
	    (rc = pci_function_add_bar(&card->fn, DFL_CARD_BAR0, PCI_BAR_MEM32, false,
				       DFL_CARD_BAR0_SIZE, &bar0_ops, card)) ||
	    (rc = pci_function_add_bar(&card->fn, DFL_CARD_MSIX_BAR, PCI_BAR_MEM32, false,
				       MSIX_BAR_SIZE, &msix_ops, card)))
		return rc;
	return pci_msix_init(&card->fn, vm, NULL, card->config.vectors, DFL_CARD_MSIX_BAR,
			     DFL_CARD_MSIX_TABLE, DFL_CARD_MSIX_PBA);
}

static int start_engines(struct dfl_card *card, struct vm *vm)
{
	int rc = dfl_bar0_init(&card->bar0, card->name, &card->config, &card->layout, &vm->ram,
			       &bar0_hooks, card);

	card->bar0_ready = true;
	return rc ? rc : dfl_bar0_start(&card->bar0);
}

static int card_realize(struct device *dev, struct vm *vm)
{
	struct dfl_card *card = dev->state;
	int rc;

	if (!vm->pci_host)
		return card_no_host(dev);
	if ((rc = build_function(card, vm)) || (rc = start_engines(card, vm)))
		return rc;
	rc = pci_host_add_function(vm->pci_host, &card->fn, card->config.slot);
	if (rc >= 0 && card->config.slot < 0)
		card->config.slot = rc;
	return rc < 0 ? rc : 0;
}

static int card_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const struct dfl_card *card = dev->state;

	return dfl_describe(&card->config, &card->layout, dev->name, fdt);
}

static void card_reset(struct device *dev)
{
	struct dfl_card *card = dev->state;

	if (card->bar0_ready)
		dfl_bar0_reset(&card->bar0);
}

/* vCPUs have stopped: no DMA into a stopping VM. */
static void card_stop(struct device *dev)
{
	struct dfl_card *card = dev->state;

	if (card->bar0_ready)
		dfl_bar0_stop(&card->bar0);
}

/* The engine thread first (it raises vectors), then the vectors. */
static void card_unrealize(struct device *dev, struct vm *vm)
{
	struct dfl_card *card = dev->state;

	if (card->bar0_ready)
		dfl_bar0_stop(&card->bar0);
	pci_msix_release(&card->fn);
}

static void card_destroy(struct device *dev)
{
	struct dfl_card *card = dev->state;

	if (!card)
		return;
	if (card->bar0_ready)
		dfl_bar0_destroy(&card->bar0);
	pci_function_destroy(&card->fn);
	dfl_layout_free(&card->layout);
	free(card);
	dev->state = NULL;
}

const struct device_model dfl_card_model = {
	.type = "dfl-card",
	.summary = "FPGA DFL card (PCI 8086:bcc0): FME, ports, DMA copy/fill AFUs",
	.parse = card_parse,
	.realize = card_realize,
	.add_fdt_node = card_add_fdt_node,
	.reset = card_reset,
	.stop = card_stop,
	.unrealize = card_unrealize,
	.destroy = card_destroy,
};
