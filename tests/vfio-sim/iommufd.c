/* SPDX-License-Identifier: MIT */
/*
 * /dev/iommu: one context per open, holding IOAS, HWPT and device objects
 * by id (lowest free id from 1, like the kernel's xarray), and the DMA
 * translation the simulated devices use.
 *
 * Rules modelled (reference/device-facts.md section 1, and the kernel's
 * ioas.c/io_pagetable.c/main.c where the facts say UNCONFIRMED):
 *  - size < the command's minimum: EINVAL; a larger struct whose tail is
 *    not zero: E2BIG; unknown command: ENOTTY; non-zero flags or
 *    __reserved: EOPNOTSUPP; unknown object id (or one of another type):
 *    ENOENT.
 *  - An IOAS's reserved IOVAs: the x86 MSI window 0xfee00000-0xfeefffff
 *    always, everything above the 48-bit aperture, and the `reserved`
 *    ranges of each device attached to it. IOVA_RANGES reports the holes
 *    (EMSGSIZE + the count when the array is short), alignment 4 KiB.
 *  - MAP: READABLE or WRITEABLE required (EINVAL); iova or length >=
 *    ULONG_MAX, or iova + length wrapping: EOVERFLOW; length 0 or iova,
 *    length, user_va not 4 KiB aligned: EINVAL; FIXED_IOVA touching a
 *    reserved IOVA (which includes "outside the reported ranges"): EINVAL
 *    (iopt_check_iova; early iommufd versions said ENOENT); overlapping a
 *    mapping: EEXIST; user_va not mapped memory: EFAULT. Without FIXED_IOVA
 *    the lowest hole inside the ALLOW_IOVAS list (default [4K, ULONG_MAX -
 *    4K]) aligned like the kernel's allocator; none: ENOSPC. As in the
 *    kernel, ALLOW_IOVAS restricts only that allocation.
 *  - UNMAP: removes whole mappings inside [iova, iova + length), lowest
 *    first; a mapping crossing either end stops it with ENOENT (the ones
 *    before stay unmapped), nothing unmapped: ENOENT. iova 0 and length
 *    UINT64_MAX unmaps everything, succeeding on an empty IOAS. `length`
 *    returns the bytes unmapped.
 *  - DESTROY: EBUSY for an IOAS with HWPTs or attached devices, a HWPT
 *    with devices, and device objects (owned by their VFIO cdev).
 *  - ALLOW_IOVAS: start > last or overlapping entries: EINVAL; a range
 *    touching a reserved IOVA: EADDRINUSE.
 *  - ATTACH of a device whose reserved ranges hit a mapping or an allowed
 *    range: EADDRINUSE.
 * Not modelled: IOAS_COPY, VFIO_IOAS, GET_HW_INFO and later commands
 * (ENOTTY), pinning accounting (RLIMIT_MEMLOCK), read-only user memory,
 * per-direction permissions in the translation.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/vfio-sim/sim_internal.h"

#define MAX_RESERVED (2 + SIM_MAX_DEVICES * SIM_MAX_RESERVED)
#define ULONG_LIMIT  UINT64_MAX      /* the kernel's ULONG_MAX on x86-64 */
#define SIZE_SLACK   65536           /* past this, a struct tail is E2BIG unread */

/* ---- struct copying ---- */

int sim_copy_struct(void *dst, size_t kernel_size, const void *user, uint32_t user_size,
		    size_t min_size)
{
	if (user_size < min_size)
		return -EINVAL;
	memset(dst, 0, kernel_size);
	memcpy(dst, user, user_size < kernel_size ? user_size : kernel_size);
	if (user_size <= kernel_size)
		return 0;
	if (user_size - kernel_size > SIZE_SLACK)
		return -E2BIG;
	for (const uint8_t *p = (const uint8_t *)user + kernel_size;
	     p < (const uint8_t *)user + user_size; p++)
		if (*p)
			return -E2BIG;
	return 0;
}

/* ---- objects ---- */

static uint32_t alloc_id(const struct sim_iommufd *ctx)
{
	for (uint32_t id = 1;; id++) {
		bool used = false;

		for (size_t i = 0; i < ctx->object_count && !used; i++)
			used = ctx->objects[i].id == id;
		if (!used)
			return id;
	}
}

static uint32_t add_object(struct sim_iommufd *ctx, enum sim_object_type type, void *ptr)
{
	if (ctx->object_count == ctx->object_capacity) {
		size_t capacity = ctx->object_capacity ? ctx->object_capacity * 2 : 16;
		struct sim_object *bigger = realloc(ctx->objects, capacity * sizeof(*bigger));

		if (!bigger)
			return 0;
		ctx->objects = bigger;
		ctx->object_capacity = capacity;
	}
	uint32_t id = alloc_id(ctx);

	ctx->objects[ctx->object_count++] = (struct sim_object){ id, type, ptr };
	return id;
}

static struct sim_object *find_object(struct sim_iommufd *ctx, uint32_t id)
{
	for (size_t i = 0; i < ctx->object_count; i++)
		if (ctx->objects[i].id == id)
			return &ctx->objects[i];
	return NULL;
}

static void *find_typed(struct sim_iommufd *ctx, uint32_t id, enum sim_object_type type)
{
	struct sim_object *obj = find_object(ctx, id);

	return obj && obj->type == type ? obj->ptr : NULL;
}

static void remove_object(struct sim_iommufd *ctx, uint32_t id)
{
	struct sim_object *obj = find_object(ctx, id);

	if (obj)
		*obj = ctx->objects[--ctx->object_count];
}

/* ---- mappings and snapshots ---- */

/* Publish the IOAS's mappings to the lock-free readers; the old table retires. */
static int publish(struct sim_iommufd *ctx, struct sim_ioas *ioas)
{
	struct sim_snapshot *snap = malloc(sizeof(*snap) + ioas->map_count * sizeof(snap->maps[0]));

	if (!snap)
		return -ENOMEM;
	snap->retired_next = NULL;
	snap->count = ioas->map_count;
	memcpy(snap->maps, ioas->maps, ioas->map_count * sizeof(snap->maps[0]));
	struct sim_snapshot *old = atomic_exchange_explicit(&ioas->snapshot, snap,
							    memory_order_acq_rel);

	if (old) {
		old->retired_next = ctx->retired;
		ctx->retired = old;
	}
	return 0;
}

static uint64_t map_last(const struct sim_map *m)
{
	return m->iova + m->length - 1;
}

static const struct sim_map *overlapping_map(const struct sim_ioas *ioas, uint64_t start,
					     uint64_t last)
{
	for (size_t i = 0; i < ioas->map_count; i++)
		if (ioas->maps[i].iova <= last && map_last(&ioas->maps[i]) >= start)
			return &ioas->maps[i];
	return NULL;
}

static int insert_map(struct sim_ioas *ioas, const struct sim_map *map)
{
	size_t at = 0;

	if (ioas->map_count == ioas->map_capacity) {
		size_t capacity = ioas->map_capacity ? ioas->map_capacity * 2 : 8;
		struct sim_map *bigger = realloc(ioas->maps, capacity * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		ioas->maps = bigger;
		ioas->map_capacity = capacity;
	}
	while (at < ioas->map_count && ioas->maps[at].iova < map->iova)
		at++;
	memmove(&ioas->maps[at + 1], &ioas->maps[at], (ioas->map_count - at) * sizeof(*map));
	ioas->maps[at] = *map;
	ioas->map_count++;
	return 0;
}

/* ---- reserved IOVAs ---- */

static bool attached_to(const struct sim_device *dev, const struct sim_ioas *ioas)
{
	const struct sim_hwpt *hwpt = sim_core_of(dev)->hwpt;

	return hwpt && hwpt->ioas == ioas;
}

static unsigned collect_reserved(const struct sim *sim, const struct sim_ioas *ioas,
				 struct sim_range *out)
{
	unsigned n = 0;

	out[n++] = (struct sim_range){ SIM_MSI_START, SIM_MSI_LAST };
	out[n++] = (struct sim_range){ SIM_APERTURE_LAST + 1, UINT64_MAX };
	for (unsigned i = 0; i < sim->device_count; i++) {
		const struct sim_dev_core *core = sim->devices[i]->core;

		if (!attached_to(sim->devices[i], ioas))
			continue;
		for (unsigned r = 0; r < core->reserved_count; r++)
			out[n++] = core->reserved[r];
	}
	return n;
}

static bool ranges_overlap(const struct sim_range *a, unsigned count, uint64_t start, uint64_t last)
{
	for (unsigned i = 0; i < count; i++)
		if (a[i].start <= last && a[i].last >= start)
			return true;
	return false;
}

static int compare_ranges(const void *a, const void *b)
{
	const struct sim_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The holes between reserved ranges: what IOVA_RANGES reports. */
static unsigned usable_ranges(const struct sim *sim, const struct sim_ioas *ioas,
			      struct sim_range *out)
{
	struct sim_range reserved[MAX_RESERVED];
	unsigned count = collect_reserved(sim, ioas, reserved), n = 0;
	uint64_t cursor = 0;
	bool done = false;

	qsort(reserved, count, sizeof(reserved[0]), compare_ranges);
	for (unsigned i = 0; i < count && !done; i++) {
		if (reserved[i].start > cursor)
			out[n++] = (struct sim_range){ cursor, reserved[i].start - 1 };
		if (reserved[i].last == UINT64_MAX)
			done = true;
		else if (reserved[i].last + 1 > cursor)
			cursor = reserved[i].last + 1;
	}
	if (!done)
		out[n++] = (struct sim_range){ cursor, UINT64_MAX };
	return n;
}

/* ---- commands ---- */

static int cmd_ioas_alloc(struct sim_iommufd *ctx, void *arg)
{
	struct iommu_ioas_alloc *cmd = arg;
	struct sim_ioas *ioas;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (!(ioas = calloc(1, sizeof(*ioas))))
		return -ENOMEM;
	if (!(ioas->id = add_object(ctx, SIM_OBJ_IOAS, ioas))) {
		free(ioas);
		return -ENOMEM;
	}
	cmd->out_ioas_id = ioas->id;
	return 0;
}

static int cmd_iova_ranges(struct sim_iommufd *ctx, void *arg)
{
	struct iommu_ioas_iova_ranges *cmd = arg;
	struct sim_range ranges[MAX_RESERVED + 1];
	struct sim_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (!(ioas = find_typed(ctx, cmd->ioas_id, SIM_OBJ_IOAS)))
		return -ENOENT;
	unsigned count = usable_ranges(ctx->sim, ioas, ranges), room = cmd->num_iovas;
	struct iommu_iova_range *user = (void *)(uintptr_t)cmd->allowed_iovas;

	for (unsigned i = 0; i < count && i < room; i++) {
		if (!user)
			return -EFAULT;
		user[i].start = ranges[i].start;
		user[i].last = ranges[i].last;
	}
	cmd->num_iovas = count;
	cmd->out_iova_alignment = SIM_PAGE_SIZE;
	return count > room ? -EMSGSIZE : 0;
}

static int cmd_allow_iovas(struct sim_iommufd *ctx, void *arg)
{
	struct iommu_ioas_allow_iovas *cmd = arg;
	const struct iommu_iova_range *user = (const void *)(uintptr_t)cmd->allowed_iovas;
	struct sim_range reserved[MAX_RESERVED], *list = NULL;
	struct sim_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (!(ioas = find_typed(ctx, cmd->ioas_id, SIM_OBJ_IOAS)))
		return -ENOENT;
	if (cmd->num_iovas && !user)
		return -EFAULT;
	if (cmd->num_iovas > 65536)
		return -EINVAL;
	if (cmd->num_iovas && !(list = calloc(cmd->num_iovas, sizeof(*list))))
		return -ENOMEM;
	unsigned nreserved = collect_reserved(ctx->sim, ioas, reserved);

	for (uint32_t i = 0; i < cmd->num_iovas; i++) {
		int err = 0;

		if (user[i].start > user[i].last || ranges_overlap(list, i, user[i].start, user[i].last))
			err = -EINVAL;
		else if (ranges_overlap(reserved, nreserved, user[i].start, user[i].last))
			err = -EADDRINUSE;
		if (err) {
			free(list);
			return err;
		}
		list[i] = (struct sim_range){ user[i].start, user[i].last };
	}
	free(ioas->allowed);
	ioas->allowed = list;
	ioas->allowed_count = cmd->num_iovas;
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t align, bool *overflow)
{
	uint64_t r = (v + align - 1) & ~(align - 1);

	*overflow |= r < v;
	return r;
}

/* First `align`ed start in [lo, hi] with room for length avoiding reserved IOVAs and mappings. */
static bool fit_in(const struct sim_ioas *ioas, const struct sim_range *reserved, unsigned nres,
		   uint64_t lo, uint64_t hi, uint64_t length, uint64_t align, uint64_t *iova)
{
	bool overflow = false;
	uint64_t start = align_up(lo, align, &overflow);

	while (!overflow && start <= hi && hi - start >= length - 1) {
		uint64_t last = start + length - 1, skip = 0;
		const struct sim_map *m = overlapping_map(ioas, start, last);

		if (m)
			skip = map_last(m);
		for (unsigned i = 0; i < nres; i++)
			if (reserved[i].start <= last && reserved[i].last >= start &&
			    reserved[i].last > skip)
				skip = reserved[i].last;
		if (!m && !skip) {
			*iova = start;
			return true;
		}
		if (skip == UINT64_MAX)
			return false;
		start = align_up(skip + 1, align, &overflow);
	}
	return false;
}

/* The kernel aligns an allocated IOVA like user_va, up to the length's power of two. */
static int alloc_iova(const struct sim *sim, const struct sim_ioas *ioas, uint64_t user_va,
		      uint64_t length, uint64_t *iova)
{
	struct sim_range reserved[MAX_RESERVED];
	unsigned nres = collect_reserved(sim, ioas, reserved);
	uint64_t align = 1;

	while (align < length && align < (1ull << 62))
		align <<= 1;
	if (user_va && (user_va & -user_va) < align)
		align = user_va & -user_va;
	if (align < SIM_PAGE_SIZE)
		align = SIM_PAGE_SIZE;
	if (!ioas->allowed_count)
		return fit_in(ioas, reserved, nres, SIM_PAGE_SIZE, ULONG_LIMIT - SIM_PAGE_SIZE, length,
			      align, iova) ? 0 : -ENOSPC;
	for (size_t i = 0; i < ioas->allowed_count; i++)
		if (fit_in(ioas, reserved, nres, ioas->allowed[i].start, ioas->allowed[i].last,
			   length, align, iova))
			return 0;
	return -ENOSPC;
}

/* The pages must exist, as pinning them would require. */
static int check_user_memory(uint64_t user_va, uint64_t length)
{
	unsigned char vec[256];

	for (uint64_t off = 0; off < length; off += sizeof(vec) * SIM_PAGE_SIZE) {
		uint64_t chunk = length - off < sizeof(vec) * SIM_PAGE_SIZE
			? length - off : sizeof(vec) * SIM_PAGE_SIZE;

		if (mincore((void *)(uintptr_t)(user_va + off), chunk, vec))
			return -EFAULT;
	}
	return 0;
}

static int cmd_map(struct sim_iommufd *ctx, void *arg)
{
	const uint32_t known = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
			       IOMMU_IOAS_MAP_READABLE;
	struct iommu_ioas_map *cmd = arg;
	struct sim_range reserved[MAX_RESERVED];
	struct sim_ioas *ioas;
	uint64_t iova = cmd->iova, last;
	int rc;

	if ((cmd->flags & ~known) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_LIMIT || cmd->length >= ULONG_LIMIT)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	if (!(ioas = find_typed(ctx, cmd->ioas_id, SIM_OBJ_IOAS)))
		return -ENOENT;
	if (!cmd->length || cmd->length % SIM_PAGE_SIZE || cmd->user_va % SIM_PAGE_SIZE)
		return -EINVAL;
	if (__builtin_add_overflow(cmd->user_va, cmd->length - 1, &last))
		return -EOVERFLOW;
	if (cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA) {
		if (iova % SIM_PAGE_SIZE)
			return -EINVAL;
		if (__builtin_add_overflow(iova, cmd->length - 1, &last))
			return -EOVERFLOW;
		if (ranges_overlap(reserved, collect_reserved(ctx->sim, ioas, reserved), iova, last))
			return -EINVAL;
		if (overlapping_map(ioas, iova, last))
			return -EEXIST;
	} else if ((rc = alloc_iova(ctx->sim, ioas, cmd->user_va, cmd->length, &iova))) {
		return rc;
	}
	if ((rc = check_user_memory(cmd->user_va, cmd->length)))
		return rc;
	struct sim_map map = { iova, cmd->length, (uint8_t *)(uintptr_t)cmd->user_va, cmd->flags };

	if ((rc = insert_map(ioas, &map)) || (rc = publish(ctx, ioas)))
		return rc;
	cmd->iova = iova;
	return 0;
}

static int unmap_range(struct sim_iommufd *ctx, struct sim_ioas *ioas, uint64_t start,
		       uint64_t last, uint64_t *unmapped)
{
	size_t i = 0;
	int rc = 0;

	*unmapped = 0;
	while (i < ioas->map_count) {
		const struct sim_map *m = &ioas->maps[i];

		if (map_last(m) < start || m->iova > last) {
			i++;
			continue;
		}
		if (m->iova < start || map_last(m) > last) {
			rc = -ENOENT; /* never split a mapping */
			break;
		}
		*unmapped += m->length;
		memmove(&ioas->maps[i], &ioas->maps[i + 1], (ioas->map_count - i - 1) * sizeof(*m));
		ioas->map_count--;
	}
	if (*unmapped) {
		int prc = publish(ctx, ioas);

		if (prc)
			return prc;
	}
	return rc;
}

static int cmd_unmap(struct sim_iommufd *ctx, void *arg)
{
	struct iommu_ioas_unmap *cmd = arg;
	struct sim_ioas *ioas;
	uint64_t last, unmapped;
	int rc;

	if (!(ioas = find_typed(ctx, cmd->ioas_id, SIM_OBJ_IOAS)))
		return -ENOENT;
	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		rc = unmap_range(ctx, ioas, 0, UINT64_MAX, &unmapped);
	} else {
		if (cmd->iova >= ULONG_LIMIT || cmd->length >= ULONG_LIMIT)
			return -EOVERFLOW;
		if (!cmd->length)
			return -EINVAL;
		if (__builtin_add_overflow(cmd->iova, cmd->length - 1, &last))
			return -EOVERFLOW;
		rc = unmap_range(ctx, ioas, cmd->iova, last, &unmapped);
		if (!rc && !unmapped)
			rc = -ENOENT;
	}
	if (rc)
		return rc;
	cmd->length = unmapped;
	return 0;
}

static void free_hwpt(struct sim_iommufd *ctx, struct sim_hwpt *hwpt)
{
	remove_object(ctx, hwpt->id);
	hwpt->ioas->hwpts--;
	if (hwpt->ioas->auto_hwpt == hwpt)
		hwpt->ioas->auto_hwpt = NULL;
	free(hwpt);
}

/* A destroyed IOAS stays readable (a DMA may be translating through it) until the context goes. */
static void retire_ioas(struct sim_iommufd *ctx, struct sim_ioas *ioas)
{
	remove_object(ctx, ioas->id);
	free(ioas->maps);
	ioas->maps = NULL;
	ioas->map_count = ioas->map_capacity = 0;
	free(ioas->allowed);
	ioas->allowed = NULL;
	ioas->dead_next = ctx->dead;
	ctx->dead = ioas;
}

static int cmd_destroy(struct sim_iommufd *ctx, void *arg)
{
	struct iommu_destroy *cmd = arg;
	struct sim_object *obj = find_object(ctx, cmd->id);

	if (!obj)
		return -ENOENT;
	switch (obj->type) {
	case SIM_OBJ_IOAS: {
		struct sim_ioas *ioas = obj->ptr;

		if (ioas->hwpts || ioas->attached)
			return -EBUSY;
		retire_ioas(ctx, ioas);
		return 0;
	}
	case SIM_OBJ_HWPT: {
		struct sim_hwpt *hwpt = obj->ptr;

		if (hwpt->attached)
			return -EBUSY;
		free_hwpt(ctx, hwpt);
		return 0;
	}
	case SIM_OBJ_DEVICE:
		return -EBUSY;
	}
	return -ENOENT;
}

static int cmd_option(struct sim_iommufd *ctx, void *arg)
{
	struct iommu_option *cmd = arg;
	bool *value;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->option_id == IOMMU_OPTION_RLIMIT_MODE) {
		if (cmd->object_id)
			return -EOPNOTSUPP;
		value = &ctx->rlimit_per_process;
	} else if (cmd->option_id == IOMMU_OPTION_HUGE_PAGES) {
		struct sim_ioas *ioas = find_typed(ctx, cmd->object_id, SIM_OBJ_IOAS);

		if (!ioas)
			return -ENOENT;
		value = &ioas->huge_pages;
	} else {
		return -EOPNOTSUPP;
	}
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = *value;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (cmd->val64 > 1)
		return -EINVAL;
	*value = cmd->val64;
	return 0;
}

static struct sim_hwpt *new_hwpt(struct sim_iommufd *ctx, struct sim_ioas *ioas, bool automatic)
{
	struct sim_hwpt *hwpt = calloc(1, sizeof(*hwpt));

	if (!hwpt)
		return NULL;
	if (!(hwpt->id = add_object(ctx, SIM_OBJ_HWPT, hwpt))) {
		free(hwpt);
		return NULL;
	}
	hwpt->ioas = ioas;
	hwpt->automatic = automatic;
	ioas->hwpts++;
	return hwpt;
}

static int cmd_hwpt_alloc(struct sim_iommufd *ctx, void *arg)
{
	struct iommu_hwpt_alloc *cmd = arg;
	struct sim_object *pt;
	struct sim_hwpt *hwpt;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	if (!find_typed(ctx, cmd->dev_id, SIM_OBJ_DEVICE) || !(pt = find_object(ctx, cmd->pt_id)))
		return -ENOENT;
	if (pt->type != SIM_OBJ_IOAS)
		return -EINVAL; /* nesting on a HWPT needs driver data the simulator has not */
	if (!(hwpt = new_hwpt(ctx, pt->ptr, false)))
		return -ENOMEM;
	cmd->out_hwpt_id = hwpt->id;
	return 0;
}

struct command {
	unsigned long request;
	size_t size, min_size;
	int (*run)(struct sim_iommufd *ctx, void *cmd);
};

static const struct command commands[] = {
	{ IOMMU_DESTROY, sizeof(struct iommu_destroy), 8, cmd_destroy },
	{ IOMMU_IOAS_ALLOC, sizeof(struct iommu_ioas_alloc), 12, cmd_ioas_alloc },
	{ IOMMU_IOAS_ALLOW_IOVAS, sizeof(struct iommu_ioas_allow_iovas), 24, cmd_allow_iovas },
	{ IOMMU_IOAS_IOVA_RANGES, sizeof(struct iommu_ioas_iova_ranges), 32, cmd_iova_ranges },
	{ IOMMU_IOAS_MAP, sizeof(struct iommu_ioas_map), 40, cmd_map },
	{ IOMMU_IOAS_UNMAP, sizeof(struct iommu_ioas_unmap), 24, cmd_unmap },
	{ IOMMU_OPTION, sizeof(struct iommu_option), 24, cmd_option },
	{ IOMMU_HWPT_ALLOC, sizeof(struct iommu_hwpt_alloc), 24, cmd_hwpt_alloc },
};

int sim_iommufd_ioctl(struct sim_iommufd *ctx, unsigned long request, void *arg)
{
	const struct command *c = NULL;
	_Alignas(8) uint8_t cmd[128];
	uint32_t user_size;
	int rc;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].request == request)
			c = &commands[i];
	if (!c)
		return -ENOTTY;
	if (!arg)
		return -EFAULT;
	memcpy(&user_size, arg, sizeof(user_size));
	_Static_assert(sizeof(struct iommu_ioas_map) <= sizeof(cmd), "command buffer");
	if ((rc = sim_copy_struct(cmd, c->size, arg, user_size, c->min_size)))
		return rc;
	pthread_mutex_lock(&ctx->sim->lock);
	rc = c->run(ctx, cmd);
	pthread_mutex_unlock(&ctx->sim->lock);
	/* The kernel answers IOVA_RANGES even when the array was short (EMSGSIZE). */
	if (rc == 0 || rc == -EMSGSIZE)
		memcpy(arg, cmd, user_size < c->size ? user_size : c->size);
	return rc;
}

/* ---- contexts ---- */

struct sim_iommufd *sim_iommufd_open(struct sim *sim, int fd)
{
	struct sim_iommufd *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->sim = sim;
	ctx->fd = fd;
	ctx->pid = getpid();
	ctx->refs = 1;
	return ctx;
}

static void free_context(struct sim_iommufd *ctx)
{
	for (size_t i = 0; i < ctx->object_count; i++) {
		if (ctx->objects[i].type == SIM_OBJ_HWPT) {
			free(ctx->objects[i].ptr);
		} else if (ctx->objects[i].type == SIM_OBJ_IOAS) {
			struct sim_ioas *ioas = ctx->objects[i].ptr;

			free(ioas->maps);
			free(ioas->allowed);
			free(atomic_load(&ioas->snapshot));
			free(ioas);
		}
	}
	while (ctx->dead) {
		struct sim_ioas *ioas = ctx->dead;

		ctx->dead = ioas->dead_next;
		free(atomic_load(&ioas->snapshot));
		free(ioas);
	}
	while (ctx->retired) {
		struct sim_snapshot *snap = ctx->retired;

		ctx->retired = snap->retired_next;
		free(snap);
	}
	for (unsigned i = 0; i < ctx->claim_count; i++)
		sim_libc()->close(ctx->claims[i].lock_fd);
	free(ctx->objects);
	free(ctx);
}

void sim_iommufd_put(struct sim_iommufd *ctx)
{
	if (--ctx->refs == 0)
		free_context(ctx);
}

void sim_iommufd_close(struct sim_iommufd *ctx)
{
	sim_iommufd_put(ctx);
}

uint32_t sim_iommufd_add_device(struct sim_iommufd *ctx, struct sim_device *dev)
{
	return add_object(ctx, SIM_OBJ_DEVICE, dev);
}

void sim_iommufd_remove_device(struct sim_iommufd *ctx, uint32_t id)
{
	remove_object(ctx, id);
}

/* ---- attach / detach (sim->lock held) ---- */

static void drop_hwpt(struct sim_iommufd *ctx, struct sim_hwpt *hwpt)
{
	hwpt->attached--;
	hwpt->ioas->attached--;
	if (hwpt->automatic && !hwpt->attached)
		free_hwpt(ctx, hwpt); /* an auto domain lives while devices use it */
}

/* Another device of the group attached elsewhere: the group shares one domain. */
static bool group_conflict(const struct sim *sim, const struct sim_device *dev,
			   const struct sim_hwpt *hwpt)
{
	for (unsigned i = 0; i < sim->device_count; i++) {
		const struct sim_device *other = sim->devices[i];
		const struct sim_hwpt *theirs = sim_core_of(other)->hwpt;

		if (other != dev && other->group == dev->group && theirs && theirs != hwpt)
			return true;
	}
	return false;
}

static int check_device_reserved(const struct sim_device *dev, const struct sim_ioas *ioas)
{
	const struct sim_dev_core *core = dev->core;

	for (unsigned r = 0; r < core->reserved_count; r++) {
		const struct sim_range *res = &core->reserved[r];

		if (overlapping_map(ioas, res->start, res->last) ||
		    ranges_overlap(ioas->allowed, (unsigned)ioas->allowed_count, res->start, res->last))
			return -EADDRINUSE;
	}
	return 0;
}

int sim_iommufd_attach(struct sim_iommufd *ctx, struct sim_device *dev, uint32_t *pt_id)
{
	struct sim_dev_core *core = dev->core;
	struct sim_object *obj = find_object(ctx, *pt_id);
	struct sim_hwpt *hwpt, *old = core->hwpt;
	struct sim_ioas *ioas;
	int rc;

	if (!obj)
		return -ENOENT;
	if (obj->type == SIM_OBJ_IOAS) {
		ioas = obj->ptr;
		hwpt = ioas->auto_hwpt;
	} else if (obj->type == SIM_OBJ_HWPT) {
		hwpt = obj->ptr;
		ioas = hwpt->ioas;
	} else {
		return -EINVAL;
	}
	if (hwpt && hwpt == old) {
		*pt_id = hwpt->id;
		return 0;
	}
	if (group_conflict(ctx->sim, dev, hwpt))
		return -EINVAL;
	if ((rc = check_device_reserved(dev, ioas)))
		return rc;
	if (!hwpt) {
		if (!(hwpt = new_hwpt(ctx, ioas, true)))
			return -ENOMEM;
		ioas->auto_hwpt = hwpt;
	}
	hwpt->attached++;
	ioas->attached++;
	core->hwpt = hwpt;
	atomic_store_explicit(&core->dma_ioas, ioas, memory_order_release);
	if (old)
		drop_hwpt(ctx, old);
	*pt_id = hwpt->id;
	if (!old && dev->ops && dev->ops->dma_changed)
		dev->ops->dma_changed(dev, true);
	return 0;
}

void sim_iommufd_detach(struct sim_iommufd *ctx, struct sim_device *dev)
{
	struct sim_dev_core *core = dev->core;
	struct sim_hwpt *hwpt = core->hwpt;

	if (!hwpt)
		return;
	atomic_store_explicit(&core->dma_ioas, NULL, memory_order_release);
	core->hwpt = NULL;
	drop_hwpt(ctx, hwpt);
	if (dev->ops && dev->ops->dma_changed)
		dev->ops->dma_changed(dev, false);
}

/* ---- DMA translation (any thread, lock-free) ---- */

static void iommu_fault(struct sim_dev_core *core, const struct sim_ioas *ioas, uint64_t addr,
			uint64_t len)
{
	atomic_fetch_add_explicit(&core->faults, 1, memory_order_relaxed);
	if (atomic_exchange(&core->fault_logged, true))
		return;
	if (ioas)
		sim_log("%s: IOMMU fault: DMA to IOVA %#llx (%llu bytes) not mapped in IOAS %u "
			"(logged once per device)", core->dev->name, (unsigned long long)addr,
			(unsigned long long)len, ioas->id);
	else
		sim_log("%s: IOMMU fault: DMA to IOVA %#llx (%llu bytes) while not attached to an "
			"IOAS: DMA is blocked (logged once per device)", core->dev->name,
			(unsigned long long)addr, (unsigned long long)len);
}

void *sim_dma_translate(const struct guest_memory *mem, uint64_t addr, uint64_t len)
{
	struct sim_dev_core *core = mem->opaque;
	struct sim_ioas *ioas = atomic_load_explicit(&core->dma_ioas, memory_order_acquire);
	const struct sim_snapshot *snap =
		ioas ? atomic_load_explicit(&ioas->snapshot, memory_order_acquire) : NULL;

	if (snap && snap->count) {
		size_t lo = 0, hi = snap->count;

		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (snap->maps[mid].iova <= addr)
				lo = mid;
			else
				hi = mid;
		}
		const struct sim_map *m = &snap->maps[lo];

		if (m->iova <= addr) {
			uint64_t off = addr - m->iova;

			if (off < m->length && len <= m->length - off)
				return m->va + off;
		}
	}
	iommu_fault(core, ioas, addr, len);
	return NULL;
}

uint64_t sim_device_iommu_faults(const struct sim_device *dev)
{
	return atomic_load(&sim_core_of(dev)->faults);
}
