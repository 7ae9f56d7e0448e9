/* SPDX-License-Identifier: MIT */
/*
 * Backend "dsa": an Intel DSA PCI function 8086:0b25 as vfio-pci would
 * present it, built on the project's DSA model (devices/dsa/core.c and
 * engine.c) with its DMA going through the simulated IOMMU (dev->dma).
 *
 * Regions (vfio-pci indexes):
 *   0 BAR0  64 KiB registers, READ|WRITE, trapped: dsa_core_read/write;
 *           the MSI-X table (0x2000) and PBA (0x3000) keep what is written
 *           (vfio-pci would hide them; the VMM virtualises MSI-X anyway)
 *   2 BAR2  the WQ portals, 16 KiB per WQ. mode = "polled": READ|WRITE|MMAP
 *           backed by a memfd the poller thread watches (a MOVDIR64B from
 *           the guest into the mapped page is a submission), with a
 *           SPARSE_MMAP capability of one area, the WQs' portals (BAR2 is
 *           rounded up to a power of two); mode =
 *           "trapped": READ|WRITE only. In both, a 64-byte pwrite at a
 *           64-byte aligned offset is a MOVDIR64B submission.
 *   7 config space with MSI-X (table BAR0 0x2000, PBA 0x3000) and PCIe
 *           capabilities; COMMAND.BME gates the engine's DMA
 * IRQs: INTx count 0 (no pin), MSI 0, MSI-X msix_vectors, ERR 1 (PCIe),
 * REQ 1, as vfio-pci reports them. Completion vectors are raised with
 * sim_irq_raise. RESET (and the release of the device) is an FLR, which
 * the PCIe capability's DEVCAP advertises: the DSA registers (every WQ
 * disabled, GENCFG, GRPCFG and WQCFG to defaults), config space and MSI-X
 * storage return to reset values.
 *
 * The poller thread starts when the device is first attached to an IOAS
 * (before that DMA is blocked anyway) and stops when the device is
 * released; it spins, then parks (vmm/poll.c), like the emulated device.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/dsa/core.h"
#include "tests/vfio-sim/sim.h"
#include "vmm/config/config.h"
#include "vmm/poll.h"

#define MSIX_STORE_SIZE     0x2000          /* table page + PBA page */

struct dsa_sim {
	struct sim_device *dev;
	struct dsa_params params;
	struct poller_tuning tuning;
	struct dsa_core core;
	bool core_ready;
	struct poller poller;
	bool poller_ready;
	pthread_mutex_t cfg_lock;
	struct sim_pci_config cfg;
	uint8_t msix[MSIX_STORE_SIZE];
	uint64_t bar2_size;
};

/* ---- core callbacks ---- */

static void dsa_sim_raise(void *opaque, unsigned vector)
{
	struct dsa_sim *s = opaque;

	sim_irq_raise(s->dev, VFIO_PCI_MSIX_IRQ_INDEX, vector);
}

static bool dsa_sim_bus_master(void *opaque)
{
	struct dsa_sim *s = opaque;

	return sim_pci_config_bus_master(&s->cfg);
}

/* Disable/drain/abort/reset wait until the poller made an empty pass. */
static void dsa_sim_quiesce(void *opaque)
{
	struct dsa_sim *s = opaque;

	if (!s->poller.running) {
		while (dsa_core_poll(&s->core, true))
			;
		return;
	}
	if (!dsa_core_drain_wait(&s->core, NULL, NULL))
		sim_log("%s: work queues did not drain", s->dev->name);
}

static void dsa_sim_kick(void *opaque)
{
	struct dsa_sim *s = opaque;

	if (s->poller_ready)
		poller_kick(&s->poller);
}

static const struct dsa_core_ops core_ops = {
	.raise = dsa_sim_raise,
	.bus_master = dsa_sim_bus_master,
	.quiesce = dsa_sim_quiesce,
	.kick = dsa_sim_kick,
};

static bool dsa_sim_poll(void *opaque)
{
	struct dsa_sim *s = opaque;
	return dsa_core_poll_draining(&s->core);
}

/* ---- regions ---- */

static bool in_msix(const struct dsa_sim *s, uint64_t offset, size_t len)
{
	return offset >= DSA_MSIX_TABLE_OFFSET && offset - DSA_MSIX_TABLE_OFFSET < MSIX_STORE_SIZE &&
	       len <= MSIX_STORE_SIZE - (offset - DSA_MSIX_TABLE_OFFSET);
}

/* Largest naturally aligned access (8, 4, 2, 1) at offset within len. */
static unsigned access_size(uint64_t offset, size_t len)
{
	unsigned size = 8;

	while (size > 1 && (offset % size || len < size))
		size /= 2;
	return size;
}

static ssize_t bar0_rw(struct dsa_sim *s, uint64_t offset, uint8_t *buf, size_t len, bool write)
{
	if (in_msix(s, offset, len)) {
		uint8_t *store = s->msix + (offset - DSA_MSIX_TABLE_OFFSET);

		if (write)
			memcpy(store, buf, len);
		else
			memcpy(buf, store, len);
		return (ssize_t)len;
	}
	for (size_t done = 0; done < len;) {
		unsigned size = access_size(offset + done, len - done);
		uint64_t value = 0;

		if (write) {
			memcpy(&value, buf + done, size);
			dsa_core_write(&s->core, offset + done, size, value);
		} else {
			value = dsa_core_read(&s->core, offset + done, size);
			memcpy(buf + done, &value, size);
		}
		done += size;
	}
	return (ssize_t)len;
}

/* A trapped store to the portals: 64 aligned bytes are a MOVDIR64B, anything else is dropped. */
static ssize_t bar2_write(struct dsa_sim *s, uint64_t offset, const void *buf, size_t len)
{
	unsigned wq = (unsigned)(offset / DSA_WQ_PORTAL_STRIDE);
	unsigned page = (unsigned)(offset % DSA_WQ_PORTAL_STRIDE / DSA_PAGE_SIZE);

	if (len == DSA_PORTAL_SLOT && offset % DSA_PORTAL_SLOT == 0 && wq < s->params.wqs)
		dsa_core_submit(&s->core, wq, page, buf, false);
	return (ssize_t)len;
}

static ssize_t bar2_read(struct dsa_sim *s, uint64_t offset, void *buf, size_t len)
{
	const struct sim_region *r = &s->dev->regions[DSA_WQ_BAR];

	if (r->memory)
		memcpy(buf, r->memory + offset, len);
	else
		memset(buf, 0xff, len); /* portals read all-ones */
	return (ssize_t)len;
}

static ssize_t dsa_sim_read(struct sim_device *dev, unsigned region, uint64_t offset, void *buf,
			    size_t len)
{
	struct dsa_sim *s = dev->state;
	ssize_t rc;

	switch (region) {
	case DSA_MMIO_BAR:
		return bar0_rw(s, offset, buf, len, false);
	case DSA_WQ_BAR:
		return bar2_read(s, offset, buf, len);
	case VFIO_PCI_CONFIG_REGION_INDEX:
		pthread_mutex_lock(&s->cfg_lock);
		rc = sim_pci_config_read(&s->cfg, offset, buf, len);
		pthread_mutex_unlock(&s->cfg_lock);
		return rc;
	default:
		return -EINVAL;
	}
}

static ssize_t dsa_sim_write(struct sim_device *dev, unsigned region, uint64_t offset,
			     const void *buf, size_t len)
{
	struct dsa_sim *s = dev->state;
	ssize_t rc;

	switch (region) {
	case DSA_MMIO_BAR:
		return bar0_rw(s, offset, (uint8_t *)(uintptr_t)buf, len, true);
	case DSA_WQ_BAR:
		return bar2_write(s, offset, buf, len);
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

static void build_config(struct dsa_sim *s)
{
	sim_pci_config_init(&s->cfg, DSA_VENDOR_ID, DSA_DEVICE_ID, DSA_CLASS_CODE, 0);
	sim_pci_config_bar(&s->cfg, DSA_MMIO_BAR, DSA_BAR0_SIZE, true);
	sim_pci_config_bar(&s->cfg, DSA_WQ_BAR, s->bar2_size, true);
	sim_pci_config_msix(&s->cfg, s->params.msix_vectors, DSA_MMIO_BAR, DSA_MSIX_TABLE_OFFSET,
			    DSA_MSIX_PBA_OFFSET);
	sim_pci_config_pcie(&s->cfg);
}

/* Config space and MSI-X storage back to reset values. */
static void reset_config(struct dsa_sim *s)
{
	pthread_mutex_lock(&s->cfg_lock);
	build_config(s);
	memset(s->msix, 0, sizeof(s->msix));
	pthread_mutex_unlock(&s->cfg_lock);
}

/*
 * Function level reset (VFIO_DEVICE_RESET, e.g. for a guest's FLR): the
 * device may be running, so queued work is drained and the registers
 * reset under the core's lock, as a RESET_DEVICE command would; then
 * config space and MSI-X storage.
 */
static int dsa_sim_reset(struct sim_device *dev)
{
	struct dsa_sim *s = dev->state;

	dsa_core_function_reset(&s->core);
	reset_config(s);
	return 0;
}

static void dsa_sim_dma_changed(struct sim_device *dev, bool attached)
{
	struct dsa_sim *s = dev->state;

	if (attached && !s->poller.running) {
		int rc = poller_start(&s->poller);

		if (rc)
			sim_log("%s: starting the poller: %s", dev->name, strerror(-rc));
	}
}

static void dsa_sim_released(struct sim_device *dev)
{
	struct dsa_sim *s = dev->state;

	poller_stop(&s->poller);
	/* Nothing else touches the device now and its IOAS is gone: queued work is not run. */
	dsa_core_reset(&s->core);
	reset_config(s);
}

static void dsa_sim_destroy(struct sim_device *dev)
{
	struct dsa_sim *s = dev->state;

	if (!s)
		return;
	if (s->poller_ready)
		poller_destroy(&s->poller);
	if (s->core_ready)
		dsa_core_destroy(&s->core);
	pthread_mutex_destroy(&s->cfg_lock);
	free(s);
	dev->state = NULL;
}

static const struct sim_device_ops dsa_sim_ops = {
	.read = dsa_sim_read,
	.write = dsa_sim_write,
	.reset = dsa_sim_reset,
	.dma_changed = dsa_sim_dma_changed,
	.released = dsa_sim_released,
	.destroy = dsa_sim_destroy,
};

/* ---- config ---- */

static int parse(const struct config_context *ctx, const struct toml_table *section,
		 const char *name, struct dsa_sim *s)
{
	static const char *const keys[] = {
		SIM_COMMON_KEYS, "wqs", "groups", "engines", "total_wq_size", "msix_vectors",
		"max_xfer_shift", "max_batch_shift", "mode", "spin_us", "park_min_us",
		"park_max_us", NULL,
	};
	static const char *const modes[] = { "trapped", "polled", NULL };
	struct dsa_params *p = &s->params;
	uint64_t wqs = p->wqs, groups = p->groups, engines = p->engines, total = p->total_wq_size;
	uint64_t vectors = p->msix_vectors, xfer = p->max_xfer_shift, batch = p->max_batch_shift;
	uint64_t spin = s->tuning.spin_us, park_min = s->tuning.park_min_us;
	uint64_t park_max = s->tuning.park_max_us;
	unsigned mode = 0;
	int rc;

	if ((rc = config_check_keys(ctx, section, name, keys)) ||
	    (rc = config_get_u64(ctx, section, "wqs", 1, DSA_MAX_WQS, &wqs)) ||
	    (rc = config_get_u64(ctx, section, "groups", 1, DSA_MAX_GROUPS, &groups)) ||
	    (rc = config_get_u64(ctx, section, "engines", 1, DSA_MAX_ENGINES, &engines)) ||
	    (rc = config_get_u64(ctx, section, "total_wq_size", 1, DSA_MAX_WQ_SIZE, &total)) ||
	    (rc = config_get_u64(ctx, section, "msix_vectors", 2, DSA_MAX_VECTORS, &vectors)) ||
	    (rc = config_get_u64(ctx, section, "max_xfer_shift", 12, 31, &xfer)) ||
	    (rc = config_get_u64(ctx, section, "max_batch_shift", 1, 10, &batch)) ||
	    (rc = config_get_u64(ctx, section, "spin_us", 0, 1000000, &spin)) ||
	    (rc = config_get_u64(ctx, section, "park_min_us", 1, 1000000, &park_min)) ||
	    (rc = config_get_u64(ctx, section, "park_max_us", 1, 1000000, &park_max)) ||
	    (rc = config_get_choice(ctx, section, "mode", modes, &mode)))
		return rc;
	p->wqs = (unsigned)wqs;
	p->groups = (unsigned)groups;
	p->engines = (unsigned)engines;
	p->total_wq_size = (unsigned)total;
	p->msix_vectors = (unsigned)vectors;
	p->max_xfer_shift = (unsigned)xfer;
	p->max_batch_shift = (unsigned)batch;
	for (unsigned i = 0; i < DSA_MAX_WQS; i++)
		p->polled[i] = mode == 1;
	s->tuning = (struct poller_tuning){ (uint32_t)spin, (uint32_t)park_min,
					    (uint32_t)(park_max < park_min ? park_min : park_max) };
	char what[128];

	if (dsa_params_check(p, what, sizeof(what)))
		return config_fail(ctx, toml_table_get(section, "kind")->pos, "[devices.%s]: %s", name,
				   what);
	return 0;
}

static uint64_t power_of_two_at_least(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int build_regions(struct dsa_sim *s)
{
	struct sim_device *dev = s->dev;
	bool polled = s->params.polled[0];
	int rc;

	dev->region_count = VFIO_PCI_NUM_REGIONS;
	dev->regions[DSA_MMIO_BAR] = (struct sim_region){
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.size = DSA_BAR0_SIZE, .memfd = -1,
	};
	/* Only the WQs' portals map (BAR2 is rounded up to a power of two). */
	dev->regions[DSA_WQ_BAR] = (struct sim_region){
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 (polled ? VFIO_REGION_INFO_FLAG_MMAP : 0),
		.size = s->bar2_size, .memfd = -1, .sparse = polled, .area_count = polled,
		.areas = { { 0, (uint64_t)s->params.wqs * DSA_WQ_PORTAL_STRIDE } },
	};
	dev->regions[VFIO_PCI_CONFIG_REGION_INDEX] = (struct sim_region){
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.size = 4096, .memfd = -1,
	};
	if (polled && (rc = sim_region_alloc_memory(dev, DSA_WQ_BAR, s->bar2_size)))
		return rc;
	sim_pci_irqs_init(dev, false, s->params.msix_vectors);
	return 0;
}

static int dsa_sim_create(struct sim *sim, const char *name, const struct toml_table *section,
			  char *error, size_t error_len)
{
	struct config_error cerr = { "" };
	struct config_context ctx = { .path = sim_config_path(sim), .dir = ".", .error = &cerr };
	struct dsa_sim *s = calloc(1, sizeof(*s));
	struct sim_device *dev;
	int rc;

	if (!s)
		return -ENOMEM;
	dsa_params_default(&s->params);
	s->tuning = POLLER_DEFAULT_TUNING;
	pthread_mutex_init(&s->cfg_lock, NULL);
	if ((rc = parse(&ctx, section, name, s)) || !(dev = sim_device_add(sim, name, "pci", NULL, -1))) {
		snprintf(error, error_len, "%s", cerr.message);
		pthread_mutex_destroy(&s->cfg_lock);
		free(s);
		return rc ? rc : -ENOMEM;
	}
	s->dev = dev;
	dev->state = s;
	dev->ops = &dsa_sim_ops;
	s->bar2_size = power_of_two_at_least((uint64_t)s->params.wqs * DSA_WQ_PORTAL_STRIDE);
	build_config(s);
	if ((rc = build_regions(s)) ||
	    (rc = dsa_core_init(&s->core, &s->params, &dev->dma, &core_ops, s, dev->name))) {
		snprintf(error, error_len, "%s: [devices.%s]: %s", sim_config_path(sim), name,
			 strerror(-rc));
		return rc;
	}
	s->core_ready = true;
	for (unsigned i = 0; i < s->params.wqs; i++)
		if (s->params.polled[i])
			dsa_core_set_portal(&s->core, i, dev->regions[DSA_WQ_BAR].memory +
						       (size_t)i * DSA_WQ_PORTAL_STRIDE);
	poller_init(&s->poller, dev->name, s->tuning);
	s->poller_ready = true;
	return poller_add(&s->poller, dsa_sim_poll, s);
}

const struct sim_backend sim_backend_dsa = { .kind = "dsa", .create = dsa_sim_create };
