/* SPDX-License-Identifier: MIT */
/*
 * Device Feature List walker: reads a DFL out of any byte window (a BAR, a
 * buffer, a fuzzer's input) through an accessor and produces a feature
 * table. It follows Linux drivers/fpga/dfl.c (parse_feature_list and
 * friends) and dfl-pci.c (find_dfls_by_default), with every value checked:
 *
 *  - DFH v0 and v1 (CSR_ADDR/CSR_SIZE_GROUP, parameter blocks), FIU FME and
 *    PORT, private features, AFUs (through a port's NEXT_AFU or directly in
 *    the list), end of list (EOL or NEXT = 0), unknown types skipped;
 *  - IRQ information as Linux derives it: DFHv0 from FME GLOBAL_ERR,
 *    PORT ERROR and PORT UINT capability registers, DFHv1 from the MSI_X
 *    parameter.
 *
 * Hostile lists get a clear error, never a loop or a read outside the
 * window: every read goes through one bounds check (offset 8-byte aligned,
 * wholly inside the window) before the accessor is called; lists only move
 * forward and each is bounded in steps; a DFH reached twice (PORT_OFST or
 * NEXT_AFU pointing into a list already walked) is -ELOOP; a feature or
 * parameter block running past its window is -ERANGE; overlapping MMIO
 * ranges, a list that does not start with an FIU, a zero-sized or
 * misaligned feature are -EINVAL; more features than the table holds is
 * -E2BIG. walk->error then says what and where.
 *
 * Stricter than Linux where Linux would misbehave (misaligned DFHs,
 * overlaps, NEXT_AFU beyond the window); otherwise the same results.
 * No allocation: the caller provides the table.
 */
#ifndef DEVICES_DFL_WALKER_H
#define DEVICES_DFL_WALKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DFL_WALK_MAX_STEPS  4096u   /* DFHs visited per list */
#define DFL_WALK_MAX_PARAMS 512u    /* parameter headers per feature */

/* The byte window holding the list(s). read64 is called only for 8-byte
 * aligned offsets with offset + 8 <= size. */
struct dfl_window {
	uint64_t size;
	uint64_t (*read64)(void *opaque, uint64_t offset);
	void *opaque;
};

struct dfl_feature {
	uint8_t type;          /* DFH_TYPE_FIU, DFH_TYPE_PRIVATE, DFH_TYPE_AFU */
	uint8_t fiu_id;        /* owning FIU: DFH_FIU_ID_FME or DFH_FIU_ID_PORT (FIU: itself) */
	uint8_t fiu_instance;  /* n-th FIU of that id in walk order (port number) */
	uint8_t dfh_version;   /* AFU reached through NEXT_AFU: from its DFH if it has one */
	uint16_t id;           /* DFH ID (FIU: 0 FME / 1 PORT) */
	uint8_t revision;
	bool has_dfh;          /* false: an AFU whose header is not an AFU DFH */
	unsigned fiu;          /* table index of the owning FIU (FIU: itself) */
	uint64_t dfh;          /* offset of the DFH in the window */
	uint64_t size;         /* extent in the list: NEXT (4096 when 0); AFU: PORT_CAP */
	/* MMIO range Linux gives the feature: v0 [dfh, dfh + size); v1 CSR block. */
	bool csr_absolute;     /* v1 REL = 1: csr_start is a bus address, not in the window */
	uint64_t csr_start;    /* window offset, or the absolute address */
	uint64_t csr_size;
	bool has_guid;         /* FIU, AFU, every v1 feature */
	uint64_t guid_l, guid_h;
	uint32_t param_size;   /* v1: bytes of parameter blocks (0: none) */
	uint16_t param_count;
	bool has_irq;
	uint32_t irq_base;     /* first MSI-X entry (index into the function's table) */
	uint32_t irq_count;
	uint16_t instance_id, group_id; /* v1 CSR_SIZE_GROUP */
};

struct dfl_walk {
	struct dfl_feature *features; /* caller's array */
	unsigned capacity;
	unsigned count;
	unsigned msix_vectors;        /* input: IRQs must fit (0: not checked) */
	unsigned skipped;             /* unknown types, AFUs outside a port */
	unsigned lists;               /* DFLs walked */
	int rc;                       /* 0 or the error returned */
	uint64_t error_offset;        /* where the error was found */
	char error[192];
};

/* Prepare walk over features[capacity]. */
void dfl_walk_init(struct dfl_walk *walk, struct dfl_feature *features, unsigned capacity,
		   unsigned msix_vectors);

/*
 * Walk one DFL starting at `start` and running to the end of the window, as
 * parse_feature_list() does. Features are appended to walk. Returns 0 or
 * -errno with walk->error set. Overlaps are checked across everything in
 * the table.
 */
int dfl_walk_list(const struct dfl_window *window, uint64_t start, struct dfl_walk *walk);

/*
 * dfl-pci's default discovery on a BAR: the list at offset 0; if it starts
 * with an FME, also one list per implemented port from FME PORT_OFST(n)
 * that lies in this BAR (DFL_WALK_BAR; ports in other BARs are counted in
 * walk->skipped, BAR 7 skipped as Linux does, other BAR numbers are -EINVAL).
 */
#define DFL_WALK_BAR 0
int dfl_walk_discover(const struct dfl_window *window, struct dfl_walk *walk);

/* A window over a little-endian byte buffer (tests, fuzzing, the card's image). */
struct dfl_buffer {
	const uint8_t *bytes;
	uint64_t size;
};
void dfl_window_from_buffer(struct dfl_window *window, const struct dfl_buffer *buffer);

/* Index of the feature whose DFH is at `dfh`, or -1. */
int dfl_walk_find(const struct dfl_walk *walk, uint64_t dfh);

/* "fme", "port", "private", "afu", "unknown". */
const char *dfl_feature_kind(const struct dfl_feature *feature);

/* GUID as text, GUID_H then GUID_L: "bfaf2ae9-4a52-46e3-82fe-38f0f9e17764". */
#define DFL_GUID_STRLEN 37
void dfl_guid_format(uint64_t guid_l, uint64_t guid_h, char out[DFL_GUID_STRLEN]);
/* Parse that form (hex digits either case, dashes where shown). 0 or -EINVAL. */
int dfl_guid_parse(const char *text, uint64_t *guid_l, uint64_t *guid_h);

#endif
