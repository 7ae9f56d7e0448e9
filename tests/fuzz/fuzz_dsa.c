/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the emulated DSA: the input is a program of BAR0
 * register accesses, portal submissions (trapped and polled), guest RAM
 * pokes and polls, run against a fake guest RAM between PROT_NONE guard
 * pages. Any access outside RAM faults (the fuzzer reports it); ASan and
 * UBSan catch the rest. Invariants checked: registers that are read-only
 * stay so, and every completion record status the device writes is
 * architectural.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/dsa/core.h"

#define FUZZ_RAM_SIZE (64u << 10)
#define FUZZ_GUARD    (16u << 10)
#define FUZZ_VECTORS  4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reader {
	const uint8_t *data;
	size_t size, pos;
};

static bool take(struct reader *r, void *out, size_t n)
{
	if (r->size - r->pos < n)
		return false;
	memcpy(out, r->data + r->pos, n);
	r->pos += n;
	return true;
}

static void raise_vector(void *opaque, unsigned vector)
{
	if (vector >= FUZZ_VECTORS)
		abort(); /* an interrupt handle the device never validated */
}

static bool bus_master(void *opaque)
{
	return *(const bool *)opaque;
}

static const struct dsa_core_ops fuzz_ops = { .raise = raise_vector, .bus_master = bus_master };

/* Keep guest addresses in and around RAM most of the time. */
static void aim_descriptor(struct dsa_hw_desc *d, uint8_t aim)
{
	if (aim & 1)
		d->completion_addr %= FUZZ_RAM_SIZE + 256;
	if (aim & 2)
		d->src %= FUZZ_RAM_SIZE + 4096;
	if (aim & 4)
		d->dst %= FUZZ_RAM_SIZE + 4096;
	if (aim & 8)
		d->xfer_size %= 8192;
	if (aim & 16)
		d->dest2 %= FUZZ_RAM_SIZE + 4096;
	if (aim & 32)
		d->crc.seed_addr %= FUZZ_RAM_SIZE + 16;
}

static void step(struct dsa_core *core, struct reader *r, uint8_t *portal, struct guest_memory *mem,
		 bool *bme)
{
	uint8_t op, aim, where[2];
	uint16_t offset;
	uint64_t value;
	struct dsa_hw_desc desc;

	if (!take(r, &op, 1))
		return;
	switch (op % 8) {
	case 0: /* register write */
		if (take(r, &offset, 2) && take(r, &value, 8))
			dsa_core_write(core, offset % DSA_BAR0_SIZE, op & 8 ? 8 : 4, value);
		return;
	case 1: /* register read */
		if (take(r, &offset, 2))
			(void)dsa_core_read(core, offset, 1u << (op >> 6));
		return;
	case 2: /* trapped submission */
	case 3: /* polled portal write */
		if (!take(r, where, 2) || !take(r, &aim, 1) || !take(r, &desc, 64))
			return;
		aim_descriptor(&desc, aim);
		if (op % 8 == 2)
			dsa_core_submit(core, where[0] % 3, where[1] % 5, &desc, op & 8);
		else if (atomic_load(&core->wq[0].portal))
			memcpy(portal + (where[0] % 4) * DSA_PAGE_SIZE + (where[1] % 64) * 64, &desc, 64);
		return;
	case 4: /* guest RAM poke (batch lists, data) */
		if (take(r, &offset, 2) && take(r, &desc, 64))
			memcpy(mem->base + offset % (FUZZ_RAM_SIZE - 64), &desc, 64);
		return;
	case 5:
		dsa_core_poll(core, op & 8);
		return;
	case 6:
		*bme = op & 8;
		return;
	default:
		dsa_core_set_portal(core, 0, op & 8 ? portal : NULL);
		return;
	}
}

static void check_invariants(struct dsa_core *core, const struct dsa_params *params)
{
	uint64_t wqcap = dsa_core_read(core, DSA_REG_WQCAP, 8);

	if (dsa_core_read(core, DSA_REG_VERSION, 4) != DSA_VERSION_VALUE ||
	    (wqcap & DSA_WQCAP_TOTAL_SIZE_MASK) != params->total_wq_size ||
	    dsa_core_read(core, DSA_REG_OPCAP, 8) != params->opcap[0])
		abort();
	if ((dsa_core_read(core, DSA_REG_GENSTS, 4) & 3) > DSA_STATE_ENABLED)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *map, *portal;
	struct dsa_params params;
	struct dsa_core core;
	bool bme = true;

	if (!map) {
		map = mmap(NULL, FUZZ_RAM_SIZE + 2 * FUZZ_GUARD, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		portal = mmap(NULL, DSA_PORTAL_PAGES * DSA_PAGE_SIZE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (map == MAP_FAILED || portal == MAP_FAILED)
			abort();
		mprotect(map + FUZZ_GUARD, FUZZ_RAM_SIZE, PROT_READ | PROT_WRITE);
	}
	struct guest_memory mem = { .base = map + FUZZ_GUARD, .size = FUZZ_RAM_SIZE };
	struct reader r = { .data = data, .size = size };

	memset(mem.base, 0, FUZZ_RAM_SIZE);
	dsa_params_default(&params);
	params.wqs = 3;
	params.total_wq_size = 16;
	params.msix_vectors = FUZZ_VECTORS;
	params.max_batch_shift = 3;
	params.polled[0] = true;
	if (dsa_core_init(&core, &params, &mem, &fuzz_ops, &bme, "fuzz"))
		abort();
	while (r.pos < r.size)
		step(&core, &r, portal, &mem, &bme);
	while (dsa_core_poll(&core, true))
		;
	check_invariants(&core, &params);
	dsa_core_destroy(&core);
	return 0;
}
