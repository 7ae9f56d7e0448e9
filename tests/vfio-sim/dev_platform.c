/* SPDX-License-Identifier: MIT */
/*
 * Simulator backend kind "platform": a plain platform device bound to
 * vfio-platform (default sysfs /sys/bus/platform/devices/NAME), the kind of
 * small MMIO block with one interrupt line a board has dozens of.
 *
 *   region 0  registers, READ|WRITE, not mmappable (every access traps
 *             into the VMM and reaches us with pread/pwrite), 32-bit
 *             accesses at 4-byte aligned offsets:
 *               0x00 ID        RO  `id` (default 0x564d5054, "VMPT")
 *               0x04 VERSION   RO  0x00010000
 *               0x08 SCRATCH   RW
 *               0x0c STATUS    RO  bit 0: interrupt pending
 *               0x10 RAISE     WO  1: set STATUS bit 0 (asserts the line)
 *               0x14 ACK       WO  write-1-to-clear STATUS (line follows)
 *               0x18 COUNT     RO  interrupts raised so far
 *               0x1c SUM       RO  sum of region 1's 32-bit words (proves
 *                                  the guest's mapped writes reached us)
 *   region 1  `sram_size` bytes (default 8K) of memory, READ|WRITE|MMAP
 *   IRQ 0     count 1, EVENTFD|MASKABLE|AUTOMASKED: a level line, masked
 *             by the host after each interrupt until unmasked, as
 *             vfio-platform treats level IRQs
 *   RESET     clears the registers and drops the line
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/vfio-sim/sim.h"
#include "vmm/config/config.h"

#define REG_ID      0x00
#define REG_VERSION 0x04
#define REG_SCRATCH 0x08
#define REG_STATUS  0x0c
#define REG_RAISE   0x10
#define REG_ACK     0x14
#define REG_COUNT   0x18
#define REG_SUM     0x1c
#define REGS_SIZE   0x1000ull
#define VERSION     0x00010000u
#define DEFAULT_ID  0x564d5054u
#define DEFAULT_SRAM 0x2000ull

struct platdev {
	struct sim_device *dev;
	pthread_mutex_t lock;
	uint32_t id, scratch, status, count;
};

static uint32_t sram_sum(const struct sim_device *dev)
{
	const struct sim_region *r = &dev->regions[1];
	uint32_t sum = 0, word;

	for (uint64_t off = 0; r->memory && off + 4 <= r->size; off += 4) {
		memcpy(&word, r->memory + off, 4);
		sum += word;
	}
	return sum;
}

/* pread/pwrite of the SRAM: the same bytes the mapping shows. */
static uint8_t *sram_bytes(struct sim_device *dev, uint64_t offset, size_t len)
{
	const struct sim_region *r = &dev->regions[1];

	return r->memory && offset <= r->size && len <= r->size - offset ? r->memory + offset
									  : NULL;
}

static ssize_t plat_read(struct sim_device *dev, unsigned region, uint64_t offset, void *buf,
			 size_t len)
{
	struct platdev *p = dev->state;
	uint32_t value;

	if (region == 1) {
		const uint8_t *bytes = sram_bytes(dev, offset, len);

		if (!bytes)
			return -EINVAL;
		memcpy(buf, bytes, len);
		return (ssize_t)len;
	}
	if (region != 0 || len != 4 || offset % 4 || offset >= REGS_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	switch (offset) {
	case REG_ID:      value = p->id; break;
	case REG_VERSION: value = VERSION; break;
	case REG_SCRATCH: value = p->scratch; break;
	case REG_STATUS:  value = p->status; break;
	case REG_COUNT:   value = p->count; break;
	case REG_SUM:     value = sram_sum(dev); break;
	default:          value = 0; break;  /* write-only and unused registers */
	}
	pthread_mutex_unlock(&p->lock);
	memcpy(buf, &value, 4);
	return 4;
}

static ssize_t plat_write(struct sim_device *dev, unsigned region, uint64_t offset,
			  const void *buf, size_t len)
{
	struct platdev *p = dev->state;
	uint32_t value;

	if (region == 1) {
		uint8_t *bytes = sram_bytes(dev, offset, len);

		if (!bytes)
			return -EINVAL;
		memcpy(bytes, buf, len);
		return (ssize_t)len;
	}
	if (region != 0 || len != 4 || offset % 4 || offset >= REGS_SIZE)
		return -EINVAL;
	memcpy(&value, buf, 4);
	pthread_mutex_lock(&p->lock);
	uint32_t before = p->status;

	if (offset == REG_SCRATCH)
		p->scratch = value;
	else if (offset == REG_RAISE && (value & 1))
		p->status |= 1;
	else if (offset == REG_ACK)
		p->status &= ~value;
	if (!before && p->status)
		p->count++;
	/* The line is the status: level, as long as something is pending. */
	if (!!before != !!p->status)
		sim_irq_set_level(dev, 0, p->status != 0);
	pthread_mutex_unlock(&p->lock);
	return 4;
}

static int plat_reset(struct sim_device *dev)
{
	struct platdev *p = dev->state;

	pthread_mutex_lock(&p->lock);
	p->scratch = p->status = p->count = 0;
	sim_irq_set_level(dev, 0, false);
	if (dev->regions[1].memory)
		memset(dev->regions[1].memory, 0, dev->regions[1].size);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void plat_destroy(struct sim_device *dev)
{
	struct platdev *p = dev->state;

	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
	dev->state = NULL;
}

static const struct sim_device_ops plat_ops = {
	.read = plat_read, .write = plat_write, .reset = plat_reset, .destroy = plat_destroy,
};

static int plat_create(struct sim *sim, const char *name, const struct toml_table *section,
		       char *error, size_t error_len)
{
	static const char *const keys[] = { SIM_COMMON_KEYS, "id", "sram_size", NULL };
	struct config_error cerr = { "" };
	struct config_context ctx = { .path = sim_config_path(sim), .dir = ".", .error = &cerr };
	char table[96];
	uint64_t id = DEFAULT_ID, sram = DEFAULT_SRAM;
	int rc;

	snprintf(table, sizeof(table), "devices.%s", name);
	if ((rc = config_check_keys(&ctx, section, table, keys)) ||
	    (rc = config_get_u64(&ctx, section, "id", 0, UINT32_MAX, &id)) ||
	    (rc = config_get_size(&ctx, section, "sram_size", 4096, 1ull << 30, &sram)) ||
	    (sram % 4096 && (rc = config_fail(&ctx, toml_table_get(section, "sram_size")->pos,
					      "'sram_size' must be a multiple of 4K")))) {
		snprintf(error, error_len, "%s", cerr.message);
		return rc;
	}
	struct platdev *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->dev = sim_device_add(sim, name, "platform", NULL, -1);
	if (!p->dev) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->id = (uint32_t)id;
	p->dev->state = p;
	p->dev->ops = &plat_ops;
	p->dev->flags = VFIO_DEVICE_FLAGS_PLATFORM;
	p->dev->region_count = 2;
	p->dev->regions[0].flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	p->dev->regions[0].size = REGS_SIZE;
	p->dev->regions[1].flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				   VFIO_REGION_INFO_FLAG_MMAP;
	p->dev->regions[1].size = sram;
	p->dev->irq_count = 1;
	p->dev->irqs[0] = (struct sim_irq){
		.flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED,
		.count = 1,
	};
	return sim_region_alloc_memory(p->dev, 1, sram);
}

const struct sim_backend sim_backend_platform = { .kind = "platform", .create = plat_create };
