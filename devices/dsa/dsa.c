/* SPDX-License-Identifier: MIT */
/*
 * "dsa": an emulated Intel DSA (idxd) PCI function, 8086:0b25, on the PCI
 * host bridge. The register file, command state machine, work queues and
 * descriptor engine live in devices/dsa/core.c (KVM-free); this file gives
 * them a PCI function, MSI-X, a poller thread and the two submission paths:
 *
 *  - trapped WQs: BAR2 portal pages have no memslot, so a MOVDIR64B or
 *    ENQCMD to them stops the vCPU with an emulation failure that
 *    vmm/x86/insn.c completes by calling dsa_store64() below;
 *  - polled WQs: the WQ's four portal pages are host memory mapped as a KVM
 *    memslot at BAR2 + 16 KiB * wq; the guest's MOVDIR64B lands there with
 *    no exit and the poller finds it.
 *
 * BAR2 can move: the memslots follow it (dsa_sync_portals) at every BAR0
 * access, every trapped portal store, and from the idle poller (every 64
 * idle polls, at most once a millisecond). Until then a store to the new address is trapped and still
 * executes, so no descriptor is lost; see docs/devices/dsa.md.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devices/dsa/core.h"
#include "devices/models.h"
#include "devices/pci/host.h"
#include "devices/pci/msix.h"
#include "vmm/log.h"
#include "vmm/poll.h"
#include "vmm/vm.h"

#define DSA_SUBSYSTEM_ID     0x0000
#define DSA_SYNC_INTERVAL_NS 1000000   /* poller re-checks BAR2 at most this often... */
#define DSA_SYNC_CHECK_POLLS 64        /* ...looking at the clock every 64 idle polls */

struct dsa_device {
	const char *name;
	struct dsa_params params;
	int slot;                     /* -1: next free */
	struct poller_tuning tuning;
	struct vm *vm;
	struct pci_function fn;
	bool fn_ready;
	struct dsa_core core;
	bool core_ready;
	struct poller poller;
	bool poller_ready;
	bool target_added;
	uint8_t *portal_mem;          /* DSA_WQ_PORTAL_STRIDE per WQ */
	size_t portal_size;

	pthread_mutex_t map_lock;     /* memslot changes */
	atomic_uint_fast64_t mapped_base; /* BAR2 address the memslots sit at, 0: none */
	int ram_slot[DSA_MAX_WQS];
	struct timespec last_sync;    /* poller thread only */
	unsigned idle_polls;          /* poller thread only */
};

/* ---- portal memslots ---- */

static void unmap_portals(struct dsa_device *dsa)
{
	for (unsigned i = 0; i < dsa->params.wqs; i++) {
		dsa_core_set_portal(&dsa->core, i, NULL);
		if (dsa->ram_slot[i] > 0)
			vm_remove_ram_slot(dsa->vm, dsa->ram_slot[i]);
		dsa->ram_slot[i] = -1;
	}
	atomic_store(&dsa->mapped_base, 0);
}

static void map_portals(struct dsa_device *dsa, uint64_t base)
{
	for (unsigned i = 0; i < dsa->params.wqs; i++) {
		if (!dsa->params.polled[i])
			continue;
		uint8_t *host = dsa->portal_mem + (size_t)i * DSA_WQ_PORTAL_STRIDE;
		int slot = vm_add_ram_slot(dsa->vm, base + (uint64_t)i * DSA_WQ_PORTAL_STRIDE,
					   DSA_WQ_PORTAL_STRIDE, host);

		if (slot < 0) {
			log_warn("%s: WQ %u portal at %#llx stays trapped: %s", dsa->name, i,
				 (unsigned long long)(base + (uint64_t)i * DSA_WQ_PORTAL_STRIDE),
				 strerror(-slot));
			continue;
		}
		dsa->ram_slot[i] = slot;
		dsa_core_set_portal(&dsa->core, i, host);
	}
	atomic_store(&dsa->mapped_base, base);
}

/* Where BAR2 decodes now (0 when memory decoding is off). */
static uint64_t portal_bar_base(struct dsa_device *dsa)
{
	uint64_t base = 0;

	pthread_mutex_lock(&dsa->fn.lock);
	if (pci_function_command(&dsa->fn) & PCI_COMMAND_MEMORY)
		base = pci_function_bar_address(&dsa->fn, DSA_WQ_BAR);
	pthread_mutex_unlock(&dsa->fn.lock);
	return base;
}

/* Make the polled portals' memslots follow BAR2. Any thread but the poller's callers' locks. */
static void dsa_sync_portals(struct dsa_device *dsa)
{
	uint64_t base = portal_bar_base(dsa);

	if (base == atomic_load(&dsa->mapped_base))
		return;
	pthread_mutex_lock(&dsa->map_lock);
	if (base != atomic_load(&dsa->mapped_base)) {
		unmap_portals(dsa);
		if (base)
			map_portals(dsa, base);
	}
	pthread_mutex_unlock(&dsa->map_lock);
}

static bool any_polled(const struct dsa_device *dsa)
{
	for (unsigned i = 0; i < dsa->params.wqs; i++)
		if (dsa->params.polled[i])
			return true;
	return false;
}

/* ---- core callbacks ---- */

static void dsa_raise(void *opaque, unsigned vector)
{
	struct dsa_device *dsa = opaque;

	pci_msix_raise(&dsa->fn, vector);
}

static bool dsa_bus_master(void *opaque)
{
	struct dsa_device *dsa = opaque;

	return pci_function_command(&dsa->fn) & PCI_COMMAND_MASTER;
}

static int64_t elapsed_ns(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000000000ll + (now.tv_nsec - since->tv_nsec);
}

static bool dsa_vm_stopping(void *opaque)
{
	struct dsa_device *dsa = opaque;

	return vm_stopping(dsa->vm);
}

/* Wait until the poller made an empty full pass after this request. */
static void dsa_quiesce(void *opaque)
{
	struct dsa_device *dsa = opaque;

	if (!dsa->poller_ready || !dsa->poller.running) {
		while (dsa_core_poll(&dsa->core, true))
			;
		return;
	}
	if (!dsa_core_drain_wait(&dsa->core, dsa_vm_stopping, dsa))
		log_warn("%s: work queues did not drain", dsa->name);
}

static void dsa_kick(void *opaque)
{
	struct dsa_device *dsa = opaque;

	if (dsa->poller_ready)
		poller_kick(&dsa->poller);
}

static const struct dsa_core_ops dsa_core_callbacks = {
	.raise = dsa_raise,
	.bus_master = dsa_bus_master,
	.quiesce = dsa_quiesce,
	.kick = dsa_kick,
};

/* Poller thread. */
static bool dsa_poll(void *opaque)
{
	struct dsa_device *dsa = opaque;
	bool worked = dsa_core_poll_draining(&dsa->core);

	/* Idle: now and then, see whether the guest moved BAR2 (clock reads cost too). */
	if (!worked && ++dsa->idle_polls % DSA_SYNC_CHECK_POLLS == 0 &&
	    elapsed_ns(&dsa->last_sync) > DSA_SYNC_INTERVAL_NS) {
		clock_gettime(CLOCK_MONOTONIC, &dsa->last_sync);
		dsa_sync_portals(dsa);
	}
	return worked;
}

/* ---- BARs ---- */

static uint64_t bar0_read(void *opaque, uint64_t offset, unsigned size)
{
	struct dsa_device *dsa = opaque;
	uint64_t value;

	if (pci_msix_mmio_read(&dsa->fn, DSA_MMIO_BAR, offset, size, &value))
		return value;
	dsa_sync_portals(dsa);
	return dsa_core_read(&dsa->core, offset, size);
}

static void bar0_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct dsa_device *dsa = opaque;

	if (pci_msix_mmio_write(&dsa->fn, DSA_MMIO_BAR, offset, size, value))
		return;
	dsa_sync_portals(dsa);
	dsa_core_write(&dsa->core, offset, size, value);
}

/* Plain loads and stores to a trapped portal: reads all-ones, writes dropped. */
static uint64_t bar2_read(void *opaque, uint64_t offset, unsigned size)
{
	return pci_all_ones(size);
}

static void bar2_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct dsa_device *dsa = opaque;

	log_debug("%s: %u-byte store to portal offset %#llx ignored: submit with MOVDIR64B or "
		  "ENQCMD", dsa->name, size, (unsigned long long)offset);
}

static const struct bus_region_ops bar0_ops = { .read = bar0_read, .write = bar0_write };
static const struct bus_region_ops bar2_ops = { .read = bar2_read, .write = bar2_write };

/* vmm/x86/insn.c: a MOVDIR64B/ENQCMD that reached an unbacked address. vCPU thread. */
static bool dsa_store64(void *opaque, uint64_t gpa, const uint8_t data[64],
			enum x86_store64_kind kind, bool *accepted)
{
	struct dsa_device *dsa = opaque;
	unsigned bar;
	uint64_t offset;

	if (!dsa->vm->pci_host ||
	    pci_host_decode(dsa->vm->pci_host, false, gpa, 8, &bar, &offset) != &dsa->fn ||
	    bar != DSA_WQ_BAR)
		return false;
	unsigned wq = (unsigned)(offset / DSA_WQ_PORTAL_STRIDE);
	unsigned page = (unsigned)(offset % DSA_WQ_PORTAL_STRIDE / DSA_PAGE_SIZE);

	*accepted = false;
	if (wq >= dsa->params.wqs)
		return true; /* past the last WQ's portals: nothing decodes it */
	if (dsa->params.polled[wq])
		dsa_sync_portals(dsa); /* BAR2 moved: follow it; this store still counts */
	*accepted = dsa_core_submit(&dsa->core, wq, page, data, kind != X86_STORE64_MOVDIR64B);
	return true;
}

/* ---- config ---- */

static const char *const op_names[] = {
	"noop", "batch", "drain", "memmove", "fill", "compare", "compare-pattern", "dualcast",
	"crc", "copy-crc", "cache-flush", NULL,
};
static const uint8_t op_codes[] = {
	DSA_OP_NOOP, DSA_OP_BATCH, DSA_OP_DRAIN, DSA_OP_MEMMOVE, DSA_OP_MEMFILL, DSA_OP_COMPARE,
	DSA_OP_COMPVAL, DSA_OP_DUALCAST, DSA_OP_CRCGEN, DSA_OP_COPY_CRC, DSA_OP_CFLUSH,
};

static int parse_string_array(const struct config_context *ctx, const struct toml_table *section,
			      const char *key, const char *const *choices, unsigned max,
			      unsigned *out, unsigned *count)
{
	const struct toml_value *value = toml_table_get(section, key);

	*count = 0;
	if (!value)
		return 0;
	if (value->type != TOML_ARRAY)
		return config_fail(ctx, value->pos, "'%s' must be an array of strings", key);
	const struct toml_array *array = value->u.array;

	if (array->count > max)
		return config_fail(ctx, value->pos, "'%s' has %zu entries; at most %u", key,
				   array->count, max);
	for (size_t i = 0; i < array->count; i++) {
		const struct toml_value *item = &array->items[i];
		unsigned c = 0;

		if (item->type != TOML_STRING)
			return config_fail(ctx, item->pos, "'%s' entries must be strings", key);
		while (choices[c] && strcmp(choices[c], item->u.string.str))
			c++;
		if (!choices[c])
			return config_fail(ctx, item->pos, "'%s' in '%s' is not one of the known "
					   "values (%s, ...)", item->u.string.str, key, choices[0]);
		out[(*count)++] = c;
	}
	return 0;
}

static int parse_ops(const struct config_context *ctx, const struct toml_table *section,
		     struct dsa_params *params)
{
	unsigned picked[32], count;
	int rc = parse_string_array(ctx, section, "ops", op_names, 32, picked, &count);

	if (rc || !toml_table_get(section, "ops"))
		return rc;
	params->opcap[0] = 0;
	for (unsigned i = 0; i < count; i++)
		params->opcap[0] |= 1ull << op_codes[picked[i]];
	return 0;
}

static int parse_modes(const struct config_context *ctx, const struct toml_table *section,
		       struct dsa_params *params)
{
	static const char *const modes[] = { "trapped", "polled", NULL };
	unsigned mode = 0, picked[DSA_MAX_WQS], count;
	int rc;

	if ((rc = config_get_choice(ctx, section, "mode", modes, &mode)) ||
	    (rc = parse_string_array(ctx, section, "modes", modes, DSA_MAX_WQS, picked, &count)))
		return rc;
	for (unsigned i = 0; i < DSA_MAX_WQS; i++)
		params->polled[i] = i < count ? picked[i] == 1 : mode == 1;
	if (count && count != params->wqs)
		return config_fail(ctx, toml_table_get(section, "modes")->pos,
				   "'modes' has %u entries but wqs = %u", count, params->wqs);
	return 0;
}

static int parse_numbers(const struct config_context *ctx, const struct toml_table *section,
			 struct dsa_device *dsa)
{
	struct dsa_params *p = &dsa->params;
	uint64_t wqs = p->wqs, groups = p->groups, engines = p->engines;
	uint64_t total = p->total_wq_size, vectors = p->msix_vectors, xfer = p->max_xfer_shift;
	uint64_t batch = p->max_batch_shift, slot = 0;
	uint64_t spin = dsa->tuning.spin_us, park_min = dsa->tuning.park_min_us;
	uint64_t park_max = dsa->tuning.park_max_us;
	int rc;

	if ((rc = config_get_u64(ctx, section, "wqs", 1, DSA_MAX_WQS, &wqs)) ||
	    (rc = config_get_u64(ctx, section, "groups", 1, DSA_MAX_GROUPS, &groups)) ||
	    (rc = config_get_u64(ctx, section, "engines", 1, DSA_MAX_ENGINES, &engines)) ||
	    (rc = config_get_u64(ctx, section, "total_wq_size", 1, DSA_MAX_WQ_SIZE, &total)) ||
	    (rc = config_get_u64(ctx, section, "msix_vectors", 2, DSA_MAX_VECTORS, &vectors)) ||
	    (rc = config_get_u64(ctx, section, "max_xfer_shift", 12, 31, &xfer)) ||
	    (rc = config_get_u64(ctx, section, "max_batch_shift", 1, 10, &batch)) ||
	    (rc = config_get_u64(ctx, section, "slot", 1, PCI_HOST_SLOTS - 1, &slot)) ||
	    (rc = config_get_u64(ctx, section, "spin_us", 0, 1000000, &spin)) ||
	    (rc = config_get_u64(ctx, section, "park_min_us", 1, 1000000, &park_min)) ||
	    (rc = config_get_u64(ctx, section, "park_max_us", 1, 1000000, &park_max)))
		return rc;
	*p = (struct dsa_params){ .wqs = (unsigned)wqs, .groups = (unsigned)groups,
				  .engines = (unsigned)engines, .total_wq_size = (unsigned)total,
				  .msix_vectors = (unsigned)vectors, .max_xfer_shift = (unsigned)xfer,
				  .max_batch_shift = (unsigned)batch, .opcap = { p->opcap[0] } };
	dsa->slot = slot ? (int)slot : -1;
	dsa->tuning = (struct poller_tuning){ (uint32_t)spin, (uint32_t)park_min,
					      (uint32_t)(park_max < park_min ? park_min : park_max) };
	if (total < wqs)
		return config_fail(ctx, toml_table_get(section, "total_wq_size")->pos,
				   "total_wq_size (%llu) must be at least wqs (%llu)",
				   (unsigned long long)total, (unsigned long long)wqs);
	return 0;
}

static int dsa_parse(struct device *dev, const struct toml_table *section,
		     const struct config_context *ctx)
{
	static const char *const keys[] = {
		"type", "slot", "wqs", "groups", "engines", "total_wq_size", "msix_vectors",
		"max_xfer_shift", "max_batch_shift", "ops", "mode", "modes", "spin_us",
		"park_min_us", "park_max_us", NULL,
	};
	struct dsa_device *dsa = calloc(1, sizeof(*dsa));
	int rc;

	if (!dsa)
		return -ENOMEM;
	dev->state = dsa;
	dsa->name = dev->name;
	dsa->slot = -1;
	dsa->tuning = POLLER_DEFAULT_TUNING;
	pthread_mutex_init(&dsa->map_lock, NULL);
	for (unsigned i = 0; i < DSA_MAX_WQS; i++)
		dsa->ram_slot[i] = -1;
	dsa_params_default(&dsa->params);
	if ((rc = config_check_keys(ctx, section, dev->name, keys)) ||
	    (rc = parse_numbers(ctx, section, dsa)) || (rc = parse_ops(ctx, section, &dsa->params)) ||
	    (rc = parse_modes(ctx, section, &dsa->params)))
		return rc;
	return 0;
}

/* ---- life cycle ---- */

static uint64_t power_of_two_at_least(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int dsa_build_function(struct dsa_device *dsa, struct vm *vm)
{
	static const struct pci_identity identity = {
		.vendor_id = DSA_VENDOR_ID, .device_id = DSA_DEVICE_ID, .class_code = DSA_CLASS_CODE,
		.revision = 0, .subsystem_vendor_id = DSA_VENDOR_ID,
		.subsystem_id = DSA_SUBSYSTEM_ID,
	};
	uint64_t bar2 = power_of_two_at_least((uint64_t)dsa->params.wqs * DSA_WQ_PORTAL_STRIDE);
	int rc;

	if ((rc = pci_function_init(&dsa->fn, dsa->name, &identity)))
		return rc;
	dsa->fn_ready = true;
	if ((rc = pci_function_add_bar(&dsa->fn, DSA_MMIO_BAR, PCI_BAR_MEM64, true, DSA_BAR0_SIZE,
				       &bar0_ops, dsa)) ||
	    (rc = pci_function_add_bar(&dsa->fn, DSA_WQ_BAR, PCI_BAR_MEM64, true, bar2, &bar2_ops,
				       dsa)))
		return rc;
	return pci_msix_init(&dsa->fn, vm, NULL, dsa->params.msix_vectors, DSA_MMIO_BAR,
			     DSA_MSIX_TABLE_OFFSET, DSA_MSIX_PBA_OFFSET);
}

static int dsa_start_poller(struct dsa_device *dsa)
{
	int rc;

	poller_init(&dsa->poller, dsa->name, dsa->tuning);
	dsa->poller_ready = true;
	clock_gettime(CLOCK_MONOTONIC, &dsa->last_sync);
	if ((rc = poller_add(&dsa->poller, dsa_poll, dsa)) || (rc = poller_start(&dsa->poller)))
		log_error("%s: starting the poller: %s", dsa->name, strerror(-rc));
	return rc;
}

static int dsa_realize(struct device *dev, struct vm *vm)
{
	struct dsa_device *dsa = dev->state;
	int rc;

	dsa->vm = vm;
	if (!vm->pci_host) {
		log_error("dsa '%s' needs a PCI host: add [devices.pci] with type = \"pci-host\" "
			  "before it (devices realize in order)", dsa->name);
		return -ENODEV;
	}
	if ((rc = dsa_build_function(dsa, vm)))
		return rc;
	if ((rc = dsa_core_init(&dsa->core, &dsa->params, &vm->ram, &dsa_core_callbacks, dsa,
				dsa->name)))
		return rc;
	dsa->core_ready = true;
	dsa->portal_size = (size_t)dsa->params.wqs * DSA_WQ_PORTAL_STRIDE;
	dsa->portal_mem = mmap(NULL, dsa->portal_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (dsa->portal_mem == MAP_FAILED) {
		dsa->portal_mem = NULL;
		return -errno;
	}
	if ((rc = dsa_start_poller(dsa)) ||
	    (rc = x86_insn_add_target(&vm->insn_targets, dsa_store64, dsa)))
		return rc;
	dsa->target_added = true;
	rc = pci_host_add_function(vm->pci_host, &dsa->fn, dsa->slot);
	if (rc < 0)
		return rc;
	if (any_polled(dsa))
		dsa_sync_portals(dsa);
	return 0;
}

static void dsa_reset(struct device *dev)
{
	struct dsa_device *dsa = dev->state;

	if (dsa->core_ready)
		dsa_core_reset(&dsa->core);
}

/* vCPUs have stopped: nothing runs descriptors any more. */
static void dsa_stop(struct device *dev)
{
	struct dsa_device *dsa = dev->state;

	if (dsa->poller_ready)
		poller_stop(&dsa->poller);
	if (dsa->core_ready)
		log_debug("%s: %llu descriptors completed, %llu submissions dropped", dsa->name,
			  (unsigned long long)atomic_load(&dsa->core.completed),
			  (unsigned long long)atomic_load(&dsa->core.dropped));
}

static void dsa_unrealize(struct device *dev, struct vm *vm)
{
	struct dsa_device *dsa = dev->state;

	if (dsa->poller_ready)
		poller_destroy(&dsa->poller);
	dsa->poller_ready = false;
	if (dsa->target_added)
		x86_insn_remove_target(&vm->insn_targets, dsa);
	dsa->target_added = false;
	if (dsa->core_ready)
		unmap_portals(dsa);
	if (dsa->fn_ready)
		pci_msix_release(&dsa->fn);
}

static void dsa_destroy(struct device *dev)
{
	struct dsa_device *dsa = dev->state;

	if (!dsa)
		return;
	if (dsa->poller_ready)
		poller_destroy(&dsa->poller);
	if (dsa->core_ready)
		dsa_core_destroy(&dsa->core);
	if (dsa->portal_mem)
		munmap(dsa->portal_mem, dsa->portal_size);
	if (dsa->fn_ready)
		pci_function_destroy(&dsa->fn);
	pthread_mutex_destroy(&dsa->map_lock);
	free(dsa);
	dev->state = NULL;
}

const struct device_model dsa_model = {
	.type = "dsa",
	.summary = "Intel DSA (idxd) 8086:0b25: work queues, trapped or polled portals",
	.parse = dsa_parse,
	.realize = dsa_realize,
	.reset = dsa_reset,
	.stop = dsa_stop,
	.unrealize = dsa_unrealize,
	.destroy = dsa_destroy,
};
