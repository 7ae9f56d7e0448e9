/* SPDX-License-Identifier: MIT */
/*
 * The Linux loader (vmm/boot/linux.c) on made-up kernels: a minimal vmlinux
 * ELF and a minimal bzImage setup header, what lands in boot_params and
 * guest memory, and the clear errors for files that are not kernels, too-old
 * boot protocols and things that do not fit. Random headers never crash it.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "vmm/boot/linux.h"
#include "vmm/config/config.h"
#include "vmm/memory.h"

#define RAM_SIZE (64u << 20)

static uint8_t *ram;
static struct guest_memory mem;
static char error[512];

static void setup(void)
{
	ram = calloc(1, RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	mem = (struct guest_memory){ .base = ram, .size = RAM_SIZE };
	error[0] = '\0';
}

static void teardown(void)
{
	free(ram);
}

static uint32_t u32_at(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ram + gpa, 4);
	return v;
}

static uint64_t u64_at(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram + gpa, 8);
	return v;
}

/* An x86-64 ELF with one executable PT_LOAD of 4 KiB at 16 MiB (+ 4 KiB bss). */
static size_t make_vmlinux(uint8_t *file)
{
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_entry = 0x1000000, .e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1,
	};
	Elf64_Phdr ph = {
		.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x1000,
		.p_vaddr = 0xffffffff81000000ull, .p_paddr = 0x1000000, .p_filesz = 0x1000,
		.p_memsz = 0x2000, .p_align = 0x1000,
	};

	memset(file, 0, 0x2000);
	memcpy(file, &eh, sizeof(eh));
	memcpy(file + sizeof(eh), &ph, sizeof(ph));
	memset(file + 0x1000, 0x90, 0x1000);
	return 0x2000;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* One setup sector, protocol 2.15, relocatable, 2 MiB init_size at 16 MiB. */
static size_t make_bzimage(uint8_t *file)
{
	memset(file, 0, 0x800);
	file[0x1f1] = 1;                          /* setup_sects */
	put16(file + 0x1fe, 0xaa55);
	file[0x200] = 0xeb;
	file[0x201] = 0x6a;                       /* header ends at 0x26c */
	memcpy(file + 0x202, "HdrS", 4);
	put16(file + 0x206, 0x020f);
	put32(file + 0x22c, 0x37ffffff);          /* initrd_addr_max */
	put32(file + 0x230, 0x200000);            /* kernel_alignment */
	file[0x234] = 1;                          /* relocatable */
	put16(file + 0x236, 0x1);                 /* XLF_KERNEL_64 */
	put32(file + 0x238, 255);                 /* cmdline_size */
	memcpy(file + 0x258, "\0\0\0\1\0\0\0\0", 8); /* pref_address 16 MiB */
	put32(file + 0x260, 0x200000);            /* init_size */
	memset(file + 0x400, 0xab, 0x400);        /* protected-mode kernel */
	return 0x800;
}

static const char dtb[] = "not really a DTB, but bytes to chain";

START_TEST(vmlinux_boot_params)
{
	static uint8_t file[0x2000], initrd[5000];
	struct linux_boot_args args = {
		.kernel = file, .kernel_size = make_vmlinux(file), .initrd = initrd,
		.initrd_size = sizeof(initrd), .cmdline = "console=ttyS0 panic=-1",
		.dtb = dtb, .dtb_size = sizeof(dtb),
	};
	struct linux_image image;

	memset(initrd, 0x5a, sizeof(initrd));
	ck_assert_int_eq(linux_load(&mem, &args, &image, error, sizeof(error)), 0);
	ck_assert(!image.bzimage);
	ck_assert_uint_eq(image.entry, 0x1000000);
	ck_assert_uint_eq(image.boot_params_gpa, LINUX_BOOT_PARAMS_GPA);
	ck_assert_uint_eq(ram[0x1000000], 0x90);
	ck_assert_uint_eq(ram[0x1001000], 0);                   /* bss */
	const uint64_t bp = LINUX_BOOT_PARAMS_GPA;

	ck_assert_mem_eq(ram + bp + 0x202, "HdrS", 4);
	ck_assert_uint_eq(ram[bp + 0x210], 0xff);               /* type_of_loader */
	ck_assert_uint_eq(u32_at(bp + 0x228), LINUX_CMDLINE_GPA);
	ck_assert_str_eq((char *)ram + LINUX_CMDLINE_GPA, "console=ttyS0 panic=-1");
	/* initrd: top of RAM, page-aligned. */
	ck_assert_uint_eq(image.initrd_start, (RAM_SIZE - sizeof(initrd)) & ~0xfffull);
	ck_assert_uint_eq(u32_at(bp + 0x218), image.initrd_start);
	ck_assert_uint_eq(u32_at(bp + 0x21c), sizeof(initrd));
	ck_assert_uint_eq(ram[image.initrd_start + 4999], 0x5a);
	/* DTB chained as SETUP_DTB. */
	ck_assert_uint_eq(u64_at(bp + 0x250), LINUX_SETUP_DATA_GPA);
	ck_assert_uint_eq(u64_at(LINUX_SETUP_DATA_GPA), 0);
	ck_assert_uint_eq(u32_at(LINUX_SETUP_DATA_GPA + 8), 2);
	ck_assert_uint_eq(u32_at(LINUX_SETUP_DATA_GPA + 12), sizeof(dtb));
	ck_assert_mem_eq(ram + LINUX_SETUP_DATA_GPA + 16, dtb, sizeof(dtb));
	/* e820: low RAM, EBDA, BIOS, RAM from 1 MiB, ECAM, IOAPIC, LAPIC. */
	ck_assert_uint_eq(ram[bp + 0x1e8], 7);
	ck_assert_uint_eq(image.e820_entries, 7);
	ck_assert_uint_eq(u64_at(bp + 0x2d0 + 3 * 20), 0x100000);
	ck_assert_uint_eq(u64_at(bp + 0x2d0 + 3 * 20 + 8), RAM_SIZE - 0x100000);
	ck_assert_uint_eq(u32_at(bp + 0x2d0 + 3 * 20 + 16), 1);
	ck_assert_uint_eq(u32_at(bp + 0x2d0 + 4 * 20 + 16), 2);
	/* Identity map and the boot GDT. */
	ck_assert_uint_eq(u64_at(LINUX_PML4_GPA) & ~0xfffull, LINUX_PML4_GPA + 0x1000);
	ck_assert_uint_eq(u64_at(LINUX_PML4_GPA + 0x2000 + 8 * 8), (8ull << 21) | 0x83);
	ck_assert_uint_eq(u64_at(LINUX_GDT_GPA + LINUX_BOOT_CS), 0x00af9b000000ffffull);
}
END_TEST

START_TEST(bzimage_boot_params)
{
	static uint8_t file[0x800];
	struct linux_boot_args args = { .kernel = file, .kernel_size = make_bzimage(file) };
	struct linux_image image;

	ck_assert_int_eq(linux_load(&mem, &args, &image, error, sizeof(error)), 0);
	ck_assert(image.bzimage);
	ck_assert_uint_eq(image.protocol, 0x20f);
	ck_assert_uint_eq(image.entry, 0x100200);
	ck_assert_uint_eq(image.kernel_end, 0x1200000);          /* pref_address + init_size */
	ck_assert_uint_eq(ram[0x100000], 0xab);
	ck_assert_uint_eq(ram[0x1003ff], 0xab);
	ck_assert_uint_eq(ram[LINUX_BOOT_PARAMS_GPA + 0x206], 0x0f); /* header copied */
	ck_assert_uint_eq(ram[LINUX_BOOT_PARAMS_GPA + 0x211] & 1, 1); /* LOADED_HIGH */
	ck_assert_uint_eq(u64_at(LINUX_BOOT_PARAMS_GPA + 0x250), 0);  /* no DTB given */
	ck_assert_str_eq((char *)ram + LINUX_CMDLINE_GPA, "");
}
END_TEST

static void expect_reject(const uint8_t *file, size_t size, int rc, const char *text)
{
	struct linux_boot_args args = { .kernel = file, .kernel_size = size };
	struct linux_image image;

	error[0] = '\0';
	ck_assert_int_eq(linux_load(&mem, &args, &image, error, sizeof(error)), rc);
	ck_assert_msg(strstr(error, text), "error \"%s\" lacks \"%s\"", error, text);
}

START_TEST(bzimage_rejects)
{
	static uint8_t file[0x800];

	expect_reject((const uint8_t *)"hello", 5, -ENOEXEC, "not a Linux kernel");
	make_bzimage(file);
	memcpy(file + 0x202, "HdrX", 4);
	expect_reject(file, sizeof(file), -ENOEXEC, "not a Linux kernel");
	make_bzimage(file);
	put16(file + 0x206, 0x0201);
	expect_reject(file, sizeof(file), -ENOEXEC, "boot protocol 2.01 is too old");
	make_bzimage(file);
	put16(file + 0x236, 0);
	expect_reject(file, sizeof(file), -ENOEXEC, "no 64-bit entry point");
	make_bzimage(file);
	put16(file + 0x1fe, 0x1234);
	expect_reject(file, sizeof(file), -ENOEXEC, "bad boot flag");
	make_bzimage(file);
	file[0x201] = 0x10;                       /* header too short for init_size */
	expect_reject(file, sizeof(file), -ENOEXEC, "malformed setup header");
	make_bzimage(file);
	expect_reject(file, 0x260, -ENOEXEC, "truncated");
	make_bzimage(file);
	file[0x1f1] = 200;                        /* setup sectors past the end */
	expect_reject(file, sizeof(file), -ENOEXEC, "truncated");
	make_bzimage(file);
	put32(file + 0x260, 0x7000000);           /* needs more than 64 MiB */
	expect_reject(file, sizeof(file), -ENOEXEC, "vm.memory is 64 MiB");
}
END_TEST

START_TEST(things_that_do_not_fit)
{
	static uint8_t file[0x2000], long_line[300];
	size_t size = make_vmlinux(file);
	struct linux_image image;
	struct linux_boot_args args = { .kernel = file, .kernel_size = size };

	/* An initrd larger than the RAM above the kernel. */
	args.initrd = ram;                        /* any bytes will do */
	args.initrd_size = RAM_SIZE - 0x1000000;
	ck_assert_int_eq(linux_load(&mem, &args, &image, error, sizeof(error)), -E2BIG);
	ck_assert_ptr_nonnull(strstr(error, "does not fit"));
	args.initrd = NULL;
	/* A command line longer than the bzImage's cmdline_size (255). */
	static uint8_t bz[0x800];

	memset(long_line, 'x', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	args = (struct linux_boot_args){ .kernel = bz, .kernel_size = make_bzimage(bz),
					 .cmdline = (const char *)long_line };
	ck_assert_int_eq(linux_load(&mem, &args, &image, error, sizeof(error)), -E2BIG);
	ck_assert_ptr_nonnull(strstr(error, "at most 255"));
	/* A DTB larger than the setup_data area. */
	args = (struct linux_boot_args){ .kernel = file, .kernel_size = size, .dtb = ram,
					 .dtb_size = 1u << 20 };
	ck_assert_int_eq(linux_load(&mem, &args, &image, error, sizeof(error)), -E2BIG);
	/* RAM too small for Linux at all. */
	struct guest_memory tiny = { .base = ram, .size = 1u << 20 };

	args.dtb = NULL;
	ck_assert_int_eq(linux_load(&tiny, &args, &image, error, sizeof(error)), -ENOEXEC);
}
END_TEST

/* Random setup headers around a valid one: errors or success, never a crash. */
START_TEST(random_headers_never_crash)
{
	static uint8_t file[0x800];

	srand(9);
	for (unsigned i = 0; i < 2000; i++) {
		struct linux_boot_args args = { .kernel = file };
		struct linux_image image;
		size_t size = make_bzimage(file);

		for (unsigned j = 0; j < 8; j++)
			file[0x1f1 + (unsigned)rand() % 0x80] = (uint8_t)rand();
		args.kernel_size = (size_t)rand() % (size + 1);
		int rc = linux_load(&mem, &args, &image, error, sizeof(error));

		ck_assert(rc == 0 || rc == -ENOEXEC || rc == -E2BIG);
		if (rc)
			ck_assert_uint_gt(strlen(error), 0);
	}
}
END_TEST

static void expect_config(const char *text, const char *want_error)
{
	struct config_error err = { .message = "" };
	struct vm_config *config = config_parse("configs/l.toml", text, strlen(text), NULL, 0, &err);

	if (!want_error) {
		ck_assert_msg(config != NULL, "%s", err.message);
		config_free(config);
		return;
	}
	ck_assert_ptr_null(config);
	ck_assert_msg(strstr(err.message, want_error), "\"%s\" lacks \"%s\"", err.message,
		      want_error);
}

/* [vm] kernel/initrd: exactly one of image and kernel; initrd only with kernel. */
START_TEST(config_keys)
{
	struct config_error err;
	const char *ok = "[vm]\nkernel = \"vmlinux\"\ninitrd = \"/abs/initrd.cpio\"\n";
	struct vm_config *config = config_parse("configs/l.toml", ok, strlen(ok), NULL, 0, &err);

	ck_assert_ptr_nonnull(config);
	ck_assert_str_eq(config->kernel, "configs/vmlinux");
	ck_assert_str_eq(config->initrd, "/abs/initrd.cpio");
	ck_assert_ptr_null(config->image);
	config_free(config);
	expect_config("[vm]\nkernel = \"k\"\n", NULL);
	expect_config("[vm]\nimage = \"x\"\nkernel = \"k\"\n", "configs/l.toml:3:10: 'image'");
	expect_config("[vm]\nimage = \"x\"\ninitrd = \"i\"\n", "'initrd' needs 'kernel'");
	expect_config("[vm]\nmemory = \"64M\"\n", "'image' (a self-test ELF) or 'kernel'");
	expect_config("[vm]\nkernel = \"\"\n", "must not be empty");
}
END_TEST

Suite *linux_boot_suite(void)
{
	Suite *suite = suite_create("linux_boot");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, vmlinux_boot_params);
	tcase_add_test(tc, bzimage_boot_params);
	tcase_add_test(tc, bzimage_rejects);
	tcase_add_test(tc, things_that_do_not_fit);
	tcase_add_test(tc, random_headers_never_crash);
	tcase_add_test(tc, config_keys);
	suite_add_tcase(suite, tc);
	return suite;
}
