/* SPDX-License-Identifier: MIT */
/*
 * ELF64 loader for self-test images.
 *
 * The image is untrusted input: every header field is checked against the
 * file size and guest RAM before anything is copied, and a rejected image
 * leaves a message that says what is wrong and what would be valid.
 */
#ifndef VMM_BOOT_ELF_H
#define VMM_BOOT_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

struct elf_image {
	uint64_t entry;
	uint64_t lowest;   /* lowest loaded guest-physical address */
	uint64_t highest;  /* one past the highest */
	unsigned segments; /* PT_LOAD count */
};

/*
 * Validate an in-memory ELF file and copy its PT_LOAD segments (by p_paddr)
 * into guest memory, zeroing the bss part. Segments must lie in
 * [reserved_end, mem->size). Returns 0 or -EINVAL/-ENOEXEC with error set.
 */
int elf_load(const uint8_t *file, size_t size, const struct guest_memory *mem,
	     uint64_t reserved_end, struct elf_image *image, char *error, size_t error_size);

/* Same, reading the file at path (errors name the path). */
int elf_load_file(const char *path, const struct guest_memory *mem, uint64_t reserved_end,
		  struct elf_image *image, char *error, size_t error_size);

#endif
