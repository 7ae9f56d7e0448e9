/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot_protocol.h"
#include "suites.h"
#include "vmm/boot/elf.h"

#define RAM_SIZE  (4u << 20)
#define LOAD_ADDR 0x200000u
#define CODE_SIZE 64u

/* A minimal valid image: header, two program headers, code, data. */
struct test_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint8_t code[CODE_SIZE];
	uint8_t data[16];
};

static struct test_elf elf;
static struct guest_memory mem;
static char error[512];

static void reset_image(void)
{
	memset(&elf, 0, sizeof(elf));
	memcpy(elf.eh.e_ident, ELFMAG, SELFMAG);
	elf.eh.e_ident[EI_CLASS] = ELFCLASS64;
	elf.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	elf.eh.e_ident[EI_VERSION] = EV_CURRENT;
	elf.eh.e_type = ET_EXEC;
	elf.eh.e_machine = EM_X86_64;
	elf.eh.e_version = EV_CURRENT;
	elf.eh.e_entry = LOAD_ADDR + 4;
	elf.eh.e_phoff = offsetof(struct test_elf, ph);
	elf.eh.e_ehsize = sizeof(Elf64_Ehdr);
	elf.eh.e_phentsize = sizeof(Elf64_Phdr);
	elf.eh.e_phnum = 2;
	elf.ph[0] = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = offsetof(struct test_elf, code),
		.p_vaddr = LOAD_ADDR, .p_paddr = LOAD_ADDR, .p_filesz = CODE_SIZE,
		.p_memsz = CODE_SIZE,
	};
	/* Data with a bss tail of 4 KiB that must be zeroed. */
	elf.ph[1] = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = offsetof(struct test_elf, data),
		.p_vaddr = LOAD_ADDR + 0x1000, .p_paddr = LOAD_ADDR + 0x1000, .p_filesz = 16,
		.p_memsz = 0x1000,
	};
	memset(elf.code, 0x90, sizeof(elf.code));
	memset(elf.data, 0xab, sizeof(elf.data));
	error[0] = '\0';
}

static void setup(void)
{
	reset_image();
	mem.size = RAM_SIZE;
	mem.base = malloc(RAM_SIZE);
	ck_assert_ptr_nonnull(mem.base);
	memset(mem.base, 0x5a, RAM_SIZE);
}

static void teardown(void)
{
	free(mem.base);
}

static int load(size_t size)
{
	struct elf_image image;

	return elf_load((const uint8_t *)&elf, size, &mem, BOOT_RESERVED_END, &image, error,
			sizeof(error));
}

static void expect_rejected(size_t size, const char *message_part)
{
	ck_assert_int_eq(load(size), -ENOEXEC);
	ck_assert_msg(strstr(error, message_part), "error '%s' lacks '%s'", error, message_part);
	/* Nothing may be copied from a rejected image. */
	ck_assert_uint_eq(mem.base[LOAD_ADDR], 0x5a);
}

START_TEST(valid_image_loads_and_zeroes_bss)
{
	struct elf_image image;

	ck_assert_int_eq(elf_load((const uint8_t *)&elf, sizeof(elf), &mem, BOOT_RESERVED_END,
				  &image, error, sizeof(error)), 0);
	ck_assert_uint_eq(image.entry, LOAD_ADDR + 4);
	ck_assert_uint_eq(image.segments, 2);
	ck_assert_uint_eq(image.lowest, LOAD_ADDR);
	ck_assert_uint_eq(image.highest, LOAD_ADDR + 0x2000);
	ck_assert_uint_eq(mem.base[LOAD_ADDR], 0x90);
	ck_assert_uint_eq(mem.base[LOAD_ADDR + 0x1000 + 15], 0xab);
	ck_assert_uint_eq(mem.base[LOAD_ADDR + 0x1000 + 16], 0);
	ck_assert_uint_eq(mem.base[LOAD_ADDR + 0x1fff], 0);
	ck_assert_uint_eq(mem.base[LOAD_ADDR + 0x2000], 0x5a);
}
END_TEST

START_TEST(bad_magic)
{
	elf.eh.e_ident[1] = 'X';
	expect_rejected(sizeof(elf), "not an ELF file");
}
END_TEST

START_TEST(elf32_is_rejected)
{
	elf.eh.e_ident[EI_CLASS] = ELFCLASS32;
	expect_rejected(sizeof(elf), "ELF64");
}
END_TEST

START_TEST(truncated_header)
{
	expect_rejected(40, "truncated");
	expect_rejected(3, "not an ELF file");
}
END_TEST

START_TEST(wrong_machine)
{
	elf.eh.e_machine = EM_AARCH64;
	expect_rejected(sizeof(elf), "not x86-64");
}
END_TEST

START_TEST(not_executable_type)
{
	elf.eh.e_type = ET_DYN;
	expect_rejected(sizeof(elf), "ET_EXEC");
}
END_TEST

START_TEST(program_headers_past_end)
{
	elf.eh.e_phoff = sizeof(elf) - 8;
	expect_rejected(sizeof(elf), "program headers");
	reset_image();
	elf.eh.e_phoff = UINT64_MAX - 8;
	expect_rejected(sizeof(elf), "program headers");
	reset_image();
	elf.eh.e_phnum = 0;
	expect_rejected(sizeof(elf), "program headers");
}
END_TEST

START_TEST(segment_data_past_end_of_file)
{
	expect_rejected(offsetof(struct test_elf, data) + 8, "truncated: segment 1");
	reset_image();
	elf.ph[0].p_offset = UINT64_MAX - 4;
	expect_rejected(sizeof(elf), "truncated: segment 0");
}
END_TEST

START_TEST(filesz_larger_than_memsz)
{
	elf.ph[1].p_memsz = 8;
	expect_rejected(sizeof(elf), "exceeds memory size");
}
END_TEST

START_TEST(segment_outside_ram)
{
	elf.ph[1].p_paddr = RAM_SIZE - 0x800;
	expect_rejected(sizeof(elf), "outside guest RAM");
	reset_image();
	elf.ph[1].p_paddr = UINT64_MAX - 0x10;
	expect_rejected(sizeof(elf), "outside guest RAM");
}
END_TEST

START_TEST(segment_over_boot_structures)
{
	elf.ph[1].p_paddr = 0x8000;
	expect_rejected(sizeof(elf), "boot structures");
}
END_TEST

START_TEST(overlapping_segments)
{
	elf.ph[1].p_paddr = LOAD_ADDR + 0x20;
	expect_rejected(sizeof(elf), "overlap");
}
END_TEST

START_TEST(entry_outside_code)
{
	elf.eh.e_entry = LOAD_ADDR + 0x1004; /* in the non-executable data segment */
	expect_rejected(sizeof(elf), "entry point");
}
END_TEST

START_TEST(no_loadable_segments)
{
	elf.ph[0].p_type = PT_NOTE;
	elf.ph[1].p_type = PT_NULL;
	expect_rejected(sizeof(elf), "no loadable");
}
END_TEST

/* File bytes carry no alignment: headers at an odd offset must still load. */
START_TEST(unaligned_headers_load)
{
	uint8_t *shifted = malloc(sizeof(elf) + 1);
	struct elf_image image;

	ck_assert_ptr_nonnull(shifted);
	elf.eh.e_phoff += 1;
	elf.ph[0].p_offset += 1;
	elf.ph[1].p_offset += 1;
	memcpy(shifted, &elf, offsetof(struct test_elf, ph));
	shifted[offsetof(struct test_elf, ph)] = 0;
	memcpy(shifted + offsetof(struct test_elf, ph) + 1, elf.ph,
	       sizeof(elf) - offsetof(struct test_elf, ph));
	ck_assert_msg(elf_load(shifted + 0, sizeof(elf) + 1, &mem, BOOT_RESERVED_END, &image,
			       error, sizeof(error)) == 0, "%s", error);
	ck_assert_uint_eq(mem.base[LOAD_ADDR + 0x1000], 0xab);
	free(shifted);
}
END_TEST

START_TEST(missing_file_names_path)
{
	struct elf_image image;

	ck_assert_int_eq(elf_load_file("tests/fixtures/does-not-exist.elf", &mem, BOOT_RESERVED_END,
				       &image, error, sizeof(error)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(error, "does-not-exist.elf"));
	ck_assert_int_eq(elf_load_file("tests/fixtures", &mem, BOOT_RESERVED_END, &image, error,
				       sizeof(error)), -ENOEXEC);
}
END_TEST

START_TEST(built_guest_image_loads)
{
	struct elf_image image;
	struct guest_memory big = { .size = 64u << 20 };

	big.base = calloc(1, big.size);
	ck_assert_ptr_nonnull(big.base);
	ck_assert_msg(elf_load_file("build/guest-tests/hello.elf", &big, BOOT_RESERVED_END, &image,
				    error, sizeof(error)) == 0, "%s", error);
	ck_assert_uint_ge(image.lowest, BOOT_RESERVED_END);
	free(big.base);
}
END_TEST

Suite *elf_suite(void)
{
	Suite *suite = suite_create("elf");
	TCase *tc = tcase_create("loader");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, valid_image_loads_and_zeroes_bss);
	tcase_add_test(tc, bad_magic);
	tcase_add_test(tc, elf32_is_rejected);
	tcase_add_test(tc, truncated_header);
	tcase_add_test(tc, wrong_machine);
	tcase_add_test(tc, not_executable_type);
	tcase_add_test(tc, program_headers_past_end);
	tcase_add_test(tc, segment_data_past_end_of_file);
	tcase_add_test(tc, filesz_larger_than_memsz);
	tcase_add_test(tc, segment_outside_ram);
	tcase_add_test(tc, segment_over_boot_structures);
	tcase_add_test(tc, overlapping_segments);
	tcase_add_test(tc, entry_outside_code);
	tcase_add_test(tc, no_loadable_segments);
	tcase_add_test(tc, unaligned_headers_load);
	tcase_add_test(tc, missing_file_names_path);
	tcase_add_test(tc, built_guest_image_loads);
	suite_add_tcase(suite, tc);
	return suite;
}
