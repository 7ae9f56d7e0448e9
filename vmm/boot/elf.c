/* SPDX-License-Identifier: MIT */
#include "vmm/boot/elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ELF_MAX_SEGMENTS 64

__attribute__((format(printf, 3, 4)))
static int elf_reject(char *error, size_t error_size, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(error, error_size, fmt, args);
	va_end(args);
	return -ENOEXEC;
}

/* Headers copied out of the file: its bytes carry no alignment guarantee. */
struct elf_headers {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELF_MAX_SEGMENTS];
};

static int elf_read_headers(const uint8_t *file, size_t size, struct elf_headers *headers,
			    char *error, size_t error_size)
{
	const Elf64_Ehdr *eh = &headers->eh;

	if (size < EI_NIDENT || memcmp(file, ELFMAG, SELFMAG) != 0)
		return elf_reject(error, error_size, "not an ELF file (bad magic)");
	if (file[EI_CLASS] != ELFCLASS64)
		return elf_reject(error, error_size, "ELF class %u is not supported; self-test "
				  "images must be ELF64 (class 2)", file[EI_CLASS]);
	if (size < sizeof(*eh))
		return elf_reject(error, error_size, "truncated: %zu bytes is shorter than the "
				  "ELF64 header (%zu)", size, sizeof(*eh));
	memcpy(&headers->eh, file, sizeof(headers->eh));
	if (file[EI_DATA] != ELFDATA2LSB)
		return elf_reject(error, error_size, "big-endian ELF; x86-64 images are "
				  "little-endian");
	if (eh->e_machine != EM_X86_64)
		return elf_reject(error, error_size, "ELF machine %u is not x86-64 (%u)",
				  eh->e_machine, EM_X86_64);
	if (eh->e_type != ET_EXEC)
		return elf_reject(error, error_size, "ELF type %u is not an executable (ET_EXEC); "
				  "link the image statically at a fixed address", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return elf_reject(error, error_size, "program header size %u, expected %zu",
				  eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_SEGMENTS)
		return elf_reject(error, error_size, "%u program headers; expected 1 to %u",
				  eh->e_phnum, ELF_MAX_SEGMENTS);
	if (eh->e_phoff > size || (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
		return elf_reject(error, error_size, "truncated: program headers at %#llx run "
				  "past the end of the file (%zu bytes)",
				  (unsigned long long)eh->e_phoff, size);
	memcpy(headers->ph, file + eh->e_phoff, eh->e_phnum * sizeof(Elf64_Phdr));
	return 0;
}

static int elf_check_segment(const Elf64_Phdr *ph, unsigned index, size_t size,
			     const struct guest_memory *mem, uint64_t reserved_end,
			     char *error, size_t error_size)
{
	unsigned long long start = ph->p_paddr, memsz = ph->p_memsz;

	if (ph->p_filesz > ph->p_memsz)
		return elf_reject(error, error_size, "segment %u: file size %#llx exceeds memory "
				  "size %#llx", index, (unsigned long long)ph->p_filesz, memsz);
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return elf_reject(error, error_size, "truncated: segment %u needs file bytes "
				  "[%#llx, +%#llx) but the file has %zu", index,
				  (unsigned long long)ph->p_offset,
				  (unsigned long long)ph->p_filesz, size);
	if (start + memsz < start || start + memsz > mem->size)
		return elf_reject(error, error_size, "segment %u [%#llx, %#llx) is outside guest "
				  "RAM [0, %#llx); raise vm.memory or relink the image", index,
				  start, start + memsz, (unsigned long long)mem->size);
	if (start < reserved_end)
		return elf_reject(error, error_size, "segment %u at %#llx overlaps the VMM's boot "
				  "structures [0, %#llx); link images at or above %#llx", index,
				  start, (unsigned long long)reserved_end,
				  (unsigned long long)reserved_end);
	return 0;
}

static bool ranges_overlap(const Elf64_Phdr *a, const Elf64_Phdr *b)
{
	return a->p_memsz && b->p_memsz && a->p_paddr < b->p_paddr + b->p_memsz &&
	       b->p_paddr < a->p_paddr + a->p_memsz;
}

/* Checks every PT_LOAD; fills image bounds. Nothing is copied yet. */
static int elf_check_segments(const struct elf_headers *headers, size_t size,
			      const struct guest_memory *mem, uint64_t reserved_end,
			      struct elf_image *image, char *error, size_t error_size)
{
	const Elf64_Ehdr *eh = &headers->eh;
	const Elf64_Phdr *ph = headers->ph;
	bool entry_ok = false;

	*image = (struct elf_image){ .entry = eh->e_entry, .lowest = UINT64_MAX };
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		int rc = elf_check_segment(&ph[i], i, size, mem, reserved_end, error, error_size);

		if (rc)
			return rc;
		for (unsigned j = 0; j < i; j++) {
			if (ph[j].p_type == PT_LOAD && ranges_overlap(&ph[i], &ph[j]))
				return elf_reject(error, error_size, "segments %u and %u overlap",
						  j, i);
		}
		if ((ph[i].p_flags & PF_X) && eh->e_entry >= ph[i].p_paddr &&
		    eh->e_entry - ph[i].p_paddr < ph[i].p_memsz)
			entry_ok = true;
		image->segments++;
		if (ph[i].p_paddr < image->lowest)
			image->lowest = ph[i].p_paddr;
		if (ph[i].p_paddr + ph[i].p_memsz > image->highest)
			image->highest = ph[i].p_paddr + ph[i].p_memsz;
	}
	if (image->segments == 0)
		return elf_reject(error, error_size, "no loadable (PT_LOAD) segments");
	if (!entry_ok)
		return elf_reject(error, error_size, "entry point %#llx is not inside an "
				  "executable loaded segment", (unsigned long long)eh->e_entry);
	return 0;
}

int elf_load(const uint8_t *file, size_t size, const struct guest_memory *mem,
	     uint64_t reserved_end, struct elf_image *image, char *error, size_t error_size)
{
	struct elf_headers headers;
	int rc = elf_read_headers(file, size, &headers, error, error_size);

	if (rc || (rc = elf_check_segments(&headers, size, mem, reserved_end, image, error,
					   error_size)))
		return rc;

	const Elf64_Phdr *ph = headers.ph;

	for (unsigned i = 0; i < headers.eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uint8_t *dest = guest_memory_ptr(mem, ph[i].p_paddr, ph[i].p_memsz);

		/* Checked above; a NULL here would be a loader bug, not bad input. */
		if (!dest)
			return elf_reject(error, error_size, "segment %u: internal bounds error", i);
		memcpy(dest, file + ph[i].p_offset, ph[i].p_filesz);
		memset(dest + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
	}
	return 0;
}

int elf_load_file(const char *path, const struct guest_memory *mem, uint64_t reserved_end,
		  struct elf_image *image, char *error, size_t error_size)
{
	char detail[384];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(error, error_size, "%s: cannot open image: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		snprintf(error, error_size, "%s: not a non-empty regular file", path);
		return -ENOEXEC;
	}
	void *file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

	close(fd);
	if (file == MAP_FAILED) {
		rc = -errno;
		snprintf(error, error_size, "%s: cannot map image: %s", path, strerror(errno));
		return rc;
	}
	rc = elf_load(file, (size_t)st.st_size, mem, reserved_end, image, detail, sizeof(detail));
	munmap(file, (size_t)st.st_size);
	if (rc)
		snprintf(error, error_size, "%s: %s", path, detail);
	return rc;
}
