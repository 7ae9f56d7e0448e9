/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM as seen from the VMM, and the one bounds-checked way in.
 *
 * Device models and loaders reach guest memory only through
 * guest_memory_ptr(): a guest-supplied range not wholly inside RAM yields
 * NULL, which the caller turns into the device's architectural error.
 */
#ifndef VMM_MEMORY_H
#define VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_memory {
	uint8_t *base;  /* host address of guest-physical 0 */
	uint64_t size;  /* RAM is [0, size) */
	/*
	 * Optional: when set, every address goes through it instead of
	 * [base, base + size). The VFIO host simulator gives its devices a
	 * view of their IOMMU address space this way, so a model's DMA to an
	 * unmapped IOVA is an IOMMU fault (NULL) rather than a host access.
	 */
	void *(*translate)(const struct guest_memory *mem, uint64_t addr, uint64_t len);
	void *opaque;   /* for translate */
};

/* Host pointer for [gpa, gpa + len), or NULL if any byte is outside RAM. */
static inline void *guest_memory_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	if (mem->translate)
		return mem->translate(mem, gpa, len);
	if (gpa > mem->size || len > mem->size - gpa)
		return NULL;
	return mem->base + gpa;
}

/* Anonymous, THP-advised RAM; returns 0 or -errno. */
int guest_memory_alloc(struct guest_memory *mem, uint64_t size);
void guest_memory_free(struct guest_memory *mem);

#endif
