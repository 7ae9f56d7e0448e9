/* SPDX-License-Identifier: MIT */
/* The guest-facing MC portal windows, polled or trapped (portal.h). */
#include "devices/fslmc/portal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/vm.h"

int fslmc_portals_init(struct fslmc_portals *p, const struct fslmc_portals_setup *setup)
{
	*p = (struct fslmc_portals){
		.name = setup->name, .lock = setup->lock, .exec = setup->exec,
		.opaque = setup->opaque, .base = setup->base, .polled = setup->polled,
		.ram_slot = -1,
	};
	void *area = mmap(NULL, FSLMC_PORTAL_AREA, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (area == MAP_FAILED)
		return -ENOMEM;
	p->area = area;
	p->tuning = (struct poller_tuning){
		.spin_us = setup->poll_spin_us,
		.park_min_us = setup->poll_park_us < 50 ? setup->poll_park_us : 50,
		.park_max_us = setup->poll_park_us,
	};
	return 0;
}

void fslmc_portals_clear(struct fslmc_portals *p, unsigned portal)
{
	uint64_t *area = (uint64_t *)(p->area + portal * FSLMC_PORTAL_SIZE);

	for (unsigned i = 0; i < MC_CMD_SIZE / 8; i++)
		__atomic_store_n(&area[i], 0, __ATOMIC_RELAXED);
}

uint8_t *fslmc_portals_window(struct fslmc_portals *p, unsigned portal)
{
	return p->area && portal < FSLMC_MAX_PORTALS ? p->area + portal * FSLMC_PORTAL_SIZE : NULL;
}

/* Execute the command in portal `index` if it is submitted; lock held. */
static void run_locked(struct fslmc_portals *p, unsigned index)
{
	uint64_t *area = (uint64_t *)(p->area + index * FSLMC_PORTAL_SIZE);
	struct fslmc_cmd cmd;

	cmd.header = __atomic_load_n(&area[0], __ATOMIC_ACQUIRE);
	if (mc_hdr_status(cmd.header) != MC_READY)
		return;
	for (unsigned i = 0; i < MC_PARAMS_SIZE / 8; i++) {
		uint64_t word = __atomic_load_n(&area[1 + i], __ATOMIC_RELAXED);

		memcpy(cmd.params + 8 * i, &word, 8);
	}
	p->exec(p->opaque, index, &cmd);
	/* An executor that left READY would make the guest wait forever. */
	if (mc_hdr_status(cmd.header) == MC_READY)
		cmd.header = mc_hdr_set_status(cmd.header, MC_INVALID_STATE);
	if (mc_hdr_status(cmd.header) == MC_OK) {
		for (unsigned i = 0; i < MC_PARAMS_SIZE / 8; i++) {
			uint64_t word;

			memcpy(&word, cmd.params + 8 * i, 8);
			__atomic_store_n(&area[1 + i], word, __ATOMIC_RELAXED);
		}
	}
	/* The header last: the guest reads params only after it sees the status. */
	__atomic_store_n(&area[0], cmd.header, __ATOMIC_RELEASE);
}

/*
 * Poller source: every window whose status byte says READY. Windows without
 * a live owner are watched too, so a command there still gets an answer
 * (INVALID_STATE) rather than READY forever.
 */
static bool portals_poll(void *opaque)
{
	struct fslmc_portals *p = opaque;
	bool worked = false;

	for (unsigned i = 0; i < FSLMC_MAX_PORTALS; i++) {
		const uint8_t *status = p->area + i * FSLMC_PORTAL_SIZE + MC_HDR_STATUS_BYTE;

		if (__atomic_load_n(status, __ATOMIC_ACQUIRE) != MC_READY)
			continue;
		pthread_mutex_lock(p->lock);
		run_locked(p, i);
		pthread_mutex_unlock(p->lock);
		worked = true;
	}
	return worked;
}

/* Trapped mode: the 64-byte command area of each window; the rest reads 0. */
static uint64_t portal_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fslmc_portals *p = opaque;
	uint64_t off = offset % FSLMC_PORTAL_SIZE, value = 0;
	const uint8_t *area = p->area + (offset - off);

	pthread_mutex_lock(p->lock);
	for (unsigned i = 0; i < size && off + i < MC_CMD_SIZE; i++)
		value |= (uint64_t)area[off + i] << (8 * i);
	pthread_mutex_unlock(p->lock);
	return value;
}

static void portal_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct fslmc_portals *p = opaque;
	uint64_t off = offset % FSLMC_PORTAL_SIZE;
	uint8_t *area = p->area + (offset - off);

	pthread_mutex_lock(p->lock);
	for (unsigned i = 0; i < size && off + i < MC_CMD_SIZE; i++)
		area[off + i] = (uint8_t)(value >> (8 * i));
	/* The doorbell is the write that covers the status byte. */
	if (off <= MC_HDR_STATUS_BYTE && off + size > MC_HDR_STATUS_BYTE)
		run_locked(p, (unsigned)(offset / FSLMC_PORTAL_SIZE));
	pthread_mutex_unlock(p->lock);
}

static const struct bus_region_ops portal_ops = { .read = portal_read, .write = portal_write };

int fslmc_portals_realize(struct fslmc_portals *p, struct vm *vm)
{
	int rc;

	/* Polled too: the memslot shadows it, but the bus then knows the range is taken. */
	if ((rc = bus_register(&vm->mmio_bus, p->base, FSLMC_PORTAL_AREA, &portal_ops, p, p->name)))
		return rc;
	p->bus_registered = true;
	if (!p->polled)
		return 0;
	p->ram_slot = vm_add_ram_slot(vm, p->base, FSLMC_PORTAL_AREA, p->area);
	if (p->ram_slot < 0) {
		log_error("%s: MC portal memslot at %#llx: %s", p->name, (unsigned long long)p->base,
			  strerror(-p->ram_slot));
		return p->ram_slot;
	}
	poller_init(&p->poller, p->name, p->tuning);
	p->poller_ready = true;
	if ((rc = poller_add(&p->poller, portals_poll, p)) || (rc = poller_start(&p->poller)))
		return rc;
	return 0;
}

void fslmc_portals_stop(struct fslmc_portals *p)
{
	if (p->poller_ready)
		poller_stop(&p->poller);
}

void fslmc_portals_destroy(struct fslmc_portals *p, struct vm *vm)
{
	if (p->poller_ready)
		poller_destroy(&p->poller);
	p->poller_ready = false;
	if (p->ram_slot >= 0 && vm)
		vm_remove_ram_slot(vm, p->ram_slot);
	p->ram_slot = -1;
	if (p->area)
		munmap(p->area, FSLMC_PORTAL_AREA);
	p->area = NULL;
}
