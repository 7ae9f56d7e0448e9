/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the ELF loader: any byte string must either load
 * inside guest RAM or be rejected with a message, never read past the input
 * or write outside the guest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot_protocol.h"
#include "vmm/boot/elf.h"

#define FUZZ_RAM_SIZE (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	struct guest_memory mem = { .size = FUZZ_RAM_SIZE };
	struct elf_image image;
	char error[512];

	if (!ram && !(ram = malloc(FUZZ_RAM_SIZE)))
		return 0;
	mem.base = ram;
	/* A private copy, so ASan sees reads past the end of the input. */
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	error[0] = '\0';
	if (elf_load(copy, size, &mem, BOOT_RESERVED_END, &image, error, sizeof(error)) == 0) {
		if (image.lowest < BOOT_RESERVED_END || image.highest > FUZZ_RAM_SIZE)
			abort();
	} else if (error[0] == '\0') {
		abort(); /* every rejection must say why */
	}
	free(copy);
	return 0;
}
