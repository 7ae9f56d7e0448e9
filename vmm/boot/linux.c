/* SPDX-License-Identifier: MIT */
#include "vmm/boot/linux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/ioapic.h"
#include "devices/pci/host.h"
#include "vmm/boot/elf.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* boot_params (the zero page) and its setup header: byte offsets, boot.rst. */
#define BP_EXT_RAMDISK_IMAGE  0x0c0
#define BP_EXT_RAMDISK_SIZE   0x0c4
#define BP_EXT_CMD_LINE_PTR   0x0c8
#define BP_E820_ENTRIES       0x1e8
#define BP_HDR                0x1f1
#define BP_SETUP_SECTS        0x1f1
#define BP_BOOT_FLAG          0x1fe
#define BP_JUMP               0x200
#define BP_HEADER             0x202
#define BP_VERSION            0x206
#define BP_TYPE_OF_LOADER     0x210
#define BP_LOADFLAGS          0x211
#define BP_RAMDISK_IMAGE      0x218
#define BP_RAMDISK_SIZE       0x21c
#define BP_CMD_LINE_PTR       0x228
#define BP_INITRD_ADDR_MAX    0x22c
#define BP_KERNEL_ALIGNMENT   0x230
#define BP_RELOCATABLE        0x234
#define BP_XLOADFLAGS         0x236
#define BP_CMDLINE_SIZE       0x238
#define BP_SETUP_DATA         0x250
#define BP_PREF_ADDRESS       0x258
#define BP_INIT_SIZE          0x260
#define BP_E820_TABLE         0x2d0
#define BP_SIZE               0x1000
#define E820_MAX_ENTRIES      128
#define E820_ENTRY_SIZE       20

#define HDRS_MAGIC            0x53726448u /* "HdrS" */
#define BOOT_FLAG_MAGIC       0xaa55u
#define PROTOCOL_MIN          0x020cu     /* 2.12: xloadflags, the 64-bit entry flag */
#define PROTOCOL_VMLINUX      0x020fu     /* what boot_params claims for a vmlinux */
#define LOADER_UNDEFINED      0xff
#define LOADED_HIGH           0x01
#define XLF_KERNEL_64         0x01
#define ENTRY_64_OFFSET       0x200
#define SETUP_DTB             2u
#define SETUP_DATA_HEADER     16u
#define START_KERNEL_MAP      0xffffffff80000000ull
#define VMLINUX_CMDLINE_SIZE  2047u       /* COMMAND_LINE_SIZE - 1 on x86 */
#define INITRD_ADDR_MAX_DEFAULT 0x7fffffffull

#define E820_RAM              1u
#define E820_RESERVED         2u
#define EBDA_START            0x9fc00ull
#define BIOS_START            0xf0000ull
#define LAPIC_BASE            0xfee00000ull
#define PAGE_SIZE             0x1000ull

#define PTE_PRESENT (1ull << 0)
#define PTE_WRITE   (1ull << 1)
#define PTE_HUGE    (1ull << 7)

_Static_assert(LINUX_SETUP_DATA_GPA + SETUP_DATA_HEADER + X86_BOOT_DTB_MAX <= EBDA_START,
	       "setup_data area too small for the largest DTB");
_Static_assert(LINUX_CMDLINE_GPA + LINUX_CMDLINE_MAX <= LINUX_SETUP_DATA_GPA,
	       "command line overlaps setup_data");

__attribute__((format(printf, 3, 4)))
static int reject(char *error, size_t error_size, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(error, error_size, fmt, args);
	va_end(args);
	return -ENOEXEC;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t align_up(uint64_t value, uint64_t alignment)
{
	return alignment ? (value + alignment - 1) / alignment * alignment : value;
}

/* ---- e820 ---- */

struct e820_builder {
	uint8_t *table;
	unsigned count;
};

static void e820_add(struct e820_builder *e820, uint64_t start, uint64_t end, uint32_t type)
{
	if (end <= start || e820->count == E820_MAX_ENTRIES)
		return;
	uint8_t *entry = e820->table + e820->count++ * E820_ENTRY_SIZE;

	put64(entry, start);
	put64(entry + 8, end - start);
	put32(entry + 16, type);
}

/* RAM and the reserved parts of the VMM's memory map (docs/architecture.md). */
static unsigned build_e820(uint8_t *boot_params, uint64_t ram_size)
{
	struct e820_builder e820 = { .table = boot_params + BP_E820_TABLE };

	e820_add(&e820, 0, ram_size < EBDA_START ? ram_size : EBDA_START, E820_RAM);
	e820_add(&e820, EBDA_START, 0xa0000, E820_RESERVED);
	e820_add(&e820, BIOS_START, LINUX_KERNEL_LOAD_GPA, E820_RESERVED);
	e820_add(&e820, LINUX_KERNEL_LOAD_GPA, ram_size, E820_RAM);
	e820_add(&e820, PCI_HOST_ECAM_BASE, PCI_HOST_ECAM_BASE + PCI_HOST_ECAM_SIZE, E820_RESERVED);
	e820_add(&e820, IOAPIC_BASE, IOAPIC_BASE + IOAPIC_SIZE, E820_RESERVED);
	e820_add(&e820, LAPIC_BASE, LAPIC_BASE + PAGE_SIZE, E820_RESERVED);
	boot_params[BP_E820_ENTRIES] = (uint8_t)e820.count;
	return e820.count;
}

/* ---- kernel images ---- */

struct kernel_limits {
	uint32_t cmdline_size;       /* longest command line, without the NUL */
	uint64_t initrd_addr_max;    /* last byte the initrd may occupy */
};

/* The setup header, checked; copied into boot_params. */
static int bzimage_header(const uint8_t *file, size_t size, uint8_t *bp, struct linux_image *image,
			  struct kernel_limits *limits, char *error, size_t error_size)
{
	if (size < BP_HEADER + 4 || get32(file + BP_HEADER) != HDRS_MAGIC)
		return reject(error, error_size, "not a Linux kernel: neither an ELF vmlinux nor a "
			      "bzImage (no \"HdrS\" setup header at 0x202)");
	uint16_t version = get16(file + BP_VERSION);

	if (version < PROTOCOL_MIN)
		return reject(error, error_size, "boot protocol %u.%02u is too old: the 64-bit "
			      "entry needs 2.12 or later (Linux 3.8+)", version >> 8, version & 0xff);
	size_t header_end = BP_HEADER + (size_t)file[BP_JUMP + 1] + 2;

	if (header_end > size || header_end > BP_SIZE || header_end < BP_INIT_SIZE + 4)
		return reject(error, error_size, "truncated or malformed setup header (ends at "
			      "%#zx, file is %zu bytes)", header_end, size);
	if (get16(file + BP_BOOT_FLAG) != BOOT_FLAG_MAGIC)
		return reject(error, error_size, "bad boot flag %#x at 0x1fe (expected 0xaa55)",
			      get16(file + BP_BOOT_FLAG));
	if (!(get16(file + BP_XLOADFLAGS) & XLF_KERNEL_64))
		return reject(error, error_size, "this bzImage has no 64-bit entry point "
			      "(XLF_KERNEL_64 clear: a 32-bit kernel?)");
	memcpy(bp + BP_HDR, file + BP_HDR, header_end - BP_HDR);
	image->bzimage = true;
	image->protocol = version;
	limits->cmdline_size = get32(file + BP_CMDLINE_SIZE);
	limits->initrd_addr_max = get32(file + BP_INITRD_ADDR_MAX);
	return 0;
}

/* Where the decompressor will put the kernel: the end of the RAM it needs. */
static uint64_t bzimage_end(const uint8_t *bp, uint64_t load, uint64_t pm_size)
{
	uint64_t pref = get64(bp + BP_PREF_ADDRESS), init_size = get32(bp + BP_INIT_SIZE);
	uint64_t output = pref;

	if (bp[BP_RELOCATABLE]) {
		output = align_up(load, get32(bp + BP_KERNEL_ALIGNMENT));
		output = output < pref ? pref : output;
	}
	return output + init_size > load + pm_size ? output + init_size : load + pm_size;
}

static int load_bzimage(const struct guest_memory *mem, const uint8_t *file, size_t size,
			uint8_t *bp, struct linux_image *image, struct kernel_limits *limits,
			char *error, size_t error_size)
{
	int rc = bzimage_header(file, size, bp, image, limits, error, error_size);

	if (rc)
		return rc;
	unsigned setup_sects = bp[BP_SETUP_SECTS] ? bp[BP_SETUP_SECTS] : 4;
	size_t pm_offset = (size_t)(setup_sects + 1) * 512;

	if (pm_offset >= size)
		return reject(error, error_size, "truncated: %u setup sectors but the file has "
			      "only %zu bytes", setup_sects, size);
	uint64_t pm_size = size - pm_offset, load = LINUX_KERNEL_LOAD_GPA;

	image->kernel_start = load;
	image->kernel_end = bzimage_end(bp, load, pm_size);
	if (image->kernel_end > mem->size)
		return reject(error, error_size, "the kernel needs RAM up to %#llx (its "
			      "decompression buffer, init_size %#x); vm.memory is %llu MiB: raise it",
			      (unsigned long long)image->kernel_end, get32(bp + BP_INIT_SIZE),
			      (unsigned long long)(mem->size >> 20));
	memcpy(guest_memory_ptr(mem, load, pm_size), file + pm_offset, pm_size);
	image->entry = load + ENTRY_64_OFFSET;
	bp[BP_LOADFLAGS] |= LOADED_HIGH;
	return 0;
}

/* No setup header in a vmlinux: boot_params says what a boot loader would. */
static int load_vmlinux(const struct guest_memory *mem, const uint8_t *file, size_t size,
			uint8_t *bp, struct linux_image *image, struct kernel_limits *limits,
			char *error, size_t error_size)
{
	struct elf_image elf;
	int rc = elf_load(file, size, mem, LINUX_KERNEL_LOAD_GPA, &elf, error, error_size);

	if (rc)
		return rc;
	image->entry = elf.entry >= START_KERNEL_MAP ? elf.entry - START_KERNEL_MAP : elf.entry;
	image->kernel_start = elf.lowest;
	image->kernel_end = elf.highest;
	put16(bp + BP_BOOT_FLAG, BOOT_FLAG_MAGIC);
	put32(bp + BP_HEADER, HDRS_MAGIC);
	put16(bp + BP_VERSION, PROTOCOL_VMLINUX);
	bp[BP_LOADFLAGS] = LOADED_HIGH;
	put32(bp + BP_KERNEL_ALIGNMENT, 0x200000);
	put32(bp + BP_CMDLINE_SIZE, VMLINUX_CMDLINE_SIZE);
	put32(bp + BP_INITRD_ADDR_MAX, (uint32_t)INITRD_ADDR_MAX_DEFAULT);
	limits->cmdline_size = VMLINUX_CMDLINE_SIZE;
	limits->initrd_addr_max = INITRD_ADDR_MAX_DEFAULT;
	return 0;
}

/* ---- command line, initrd, DTB ---- */

static int place_cmdline(const struct guest_memory *mem, const char *cmdline, uint8_t *bp,
			 const struct kernel_limits *limits, char *error, size_t error_size)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	uint64_t max = limits->cmdline_size < LINUX_CMDLINE_MAX - 1 ? limits->cmdline_size :
								       LINUX_CMDLINE_MAX - 1;

	if (len > max) {
		snprintf(error, error_size, "the command line is %zu bytes; this kernel takes at "
			 "most %llu", len, (unsigned long long)max);
		return -E2BIG;
	}
	char *dest = guest_memory_ptr(mem, LINUX_CMDLINE_GPA, len + 1);

	memcpy(dest, cmdline ? cmdline : "", len + 1);
	put32(bp + BP_CMD_LINE_PTR, (uint32_t)LINUX_CMDLINE_GPA);
	return 0;
}

/* At the top of RAM below the kernel's limit, page-aligned, above the kernel. */
static int place_initrd(const struct guest_memory *mem, const struct linux_boot_args *args,
			uint8_t *bp, struct linux_image *image, const struct kernel_limits *limits,
			char *error, size_t error_size)
{
	if (!args->initrd)
		return 0;
	uint64_t limit = limits->initrd_addr_max + 1 < mem->size ? limits->initrd_addr_max + 1 :
								      mem->size;
	uint64_t floor = align_up(image->kernel_end, PAGE_SIZE);
	uint64_t size = args->initrd_size;

	if (size == 0 || limit < floor || size > limit - floor) {
		snprintf(error, error_size, "the initrd (%llu bytes) does not fit: the kernel ends "
			 "at %#llx and initrds must end below %#llx, leaving %llu bytes; raise "
			 "vm.memory or shrink the initrd", (unsigned long long)size,
			 (unsigned long long)floor, (unsigned long long)limit,
			 (unsigned long long)(limit > floor ? limit - floor : 0));
		return -E2BIG;
	}
	uint64_t start = (limit - size) & ~(PAGE_SIZE - 1);

	memcpy(guest_memory_ptr(mem, start, size), args->initrd, size);
	put32(bp + BP_RAMDISK_IMAGE, (uint32_t)start);
	put32(bp + BP_RAMDISK_SIZE, (uint32_t)size);
	put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(start >> 32));
	put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(size >> 32));
	image->initrd_start = start;
	image->initrd_size = size;
	return 0;
}

/* The DTB as the only setup_data node (type SETUP_DTB). */
static int place_dtb(const struct guest_memory *mem, const struct linux_boot_args *args,
		     uint8_t *bp, char *error, size_t error_size)
{
	if (!args->dtb)
		return 0;
	if (args->dtb_size > X86_BOOT_DTB_MAX || args->dtb_size > UINT32_MAX) {
		snprintf(error, error_size, "the device tree is %zu bytes; at most %llu fit",
			 args->dtb_size, (unsigned long long)X86_BOOT_DTB_MAX);
		return -E2BIG;
	}
	uint8_t *node = guest_memory_ptr(mem, LINUX_SETUP_DATA_GPA,
					 SETUP_DATA_HEADER + args->dtb_size);

	put64(node, 0);
	put32(node + 8, SETUP_DTB);
	put32(node + 12, (uint32_t)args->dtb_size);
	memcpy(node + SETUP_DATA_HEADER, args->dtb, args->dtb_size);
	put64(bp + BP_SETUP_DATA, LINUX_SETUP_DATA_GPA);
	return 0;
}

/* ---- page tables and GDT ---- */

static void build_page_tables(uint8_t *ram)
{
	uint64_t *pml4 = (uint64_t *)(void *)(ram + LINUX_PML4_GPA);
	uint64_t *pdpt = pml4 + 512;
	uint64_t *pd = pdpt + 512;

	memset(pml4, 0, 6 * PAGE_SIZE);
	pml4[0] = (LINUX_PML4_GPA + PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (LINUX_PML4_GPA + (2 + i) * PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
	/* Identity map of 4 GiB with 2 MiB pages (1 GiB pages fault on nested hosts). */
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
}

static void build_gdt(uint8_t *ram)
{
	uint64_t *gdt = (uint64_t *)(void *)(ram + LINUX_GDT_GPA);
	const uint64_t tss = LINUX_TSS_GPA, limit = 0x67;

	memset(gdt, 0, PAGE_SIZE);
	memset(ram + LINUX_TSS_GPA, 0, PAGE_SIZE);
	gdt[LINUX_BOOT_CS / 8] = 0x00af9b000000ffffull; /* 64-bit code, flat */
	gdt[LINUX_BOOT_DS / 8] = 0x00cf93000000ffffull; /* data, flat */
	gdt[LINUX_BOOT_TR / 8] = limit | (tss & 0xffffff) << 16 | 0x8bull << 40 |
				 (tss >> 24 & 0xff) << 56;
	gdt[LINUX_BOOT_TR / 8 + 1] = tss >> 32;
}

/* ---- entry points ---- */

static bool is_elf(const uint8_t *file, size_t size)
{
	return size >= 4 && memcmp(file, "\177ELF", 4) == 0;
}

int linux_load(const struct guest_memory *mem, const struct linux_boot_args *args,
	       struct linux_image *image, char *error, size_t error_size)
{
	struct kernel_limits limits = { 0 };
	int rc;

	*image = (struct linux_image){ .boot_params_gpa = LINUX_BOOT_PARAMS_GPA };
	if (mem->size < 2 * LINUX_KERNEL_LOAD_GPA)
		return reject(error, error_size, "vm.memory is too small for Linux (at least 2 MiB; "
			      "a real kernel wants 64 MiB or more)");
	uint8_t *bp = guest_memory_ptr(mem, LINUX_BOOT_PARAMS_GPA, BP_SIZE);

	memset(bp, 0, BP_SIZE);
	rc = is_elf(args->kernel, args->kernel_size) ?
		load_vmlinux(mem, args->kernel, args->kernel_size, bp, image, &limits, error,
			     error_size) :
		load_bzimage(mem, args->kernel, args->kernel_size, bp, image, &limits, error,
			     error_size);
	if (rc || (rc = place_cmdline(mem, args->cmdline, bp, &limits, error, error_size)) ||
	    (rc = place_initrd(mem, args, bp, image, &limits, error, error_size)) ||
	    (rc = place_dtb(mem, args, bp, error, error_size)))
		return rc;
	bp[BP_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	put32(bp + BP_EXT_CMD_LINE_PTR, 0);
	image->e820_entries = build_e820(bp, mem->size);
	build_page_tables(mem->base);
	build_gdt(mem->base);
	return 0;
}

/* The whole file, if it is a regular file of at most max bytes. */
static int read_whole(const char *path, const char *what, uint64_t max, uint8_t **data,
		      size_t *size, char *error, size_t error_size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0) {
		rc = -errno;
		snprintf(error, error_size, "%s: cannot open %s: %s", path, what, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > max) {
		snprintf(error, error_size, "%s: the %s must be a non-empty regular file smaller "
			 "than guest RAM (%llu MiB)", path, what, (unsigned long long)(max >> 20));
		close(fd);
		return -ENOEXEC;
	}
	*size = (size_t)st.st_size;
	*data = malloc(*size);
	for (size_t done = 0; *data && done < *size;) {
		ssize_t got = read(fd, *data + done, *size - done);

		if (got <= 0) {
			rc = got < 0 ? -errno : -EIO;
			snprintf(error, error_size, "%s: reading the %s: %s", path, what,
				 got < 0 ? strerror(errno) : "file shrank");
			break;
		}
		done += (size_t)got;
	}
	close(fd);
	if (!*data)
		rc = -ENOMEM;
	if (rc) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

int linux_load_files(const struct guest_memory *mem, const char *kernel_path,
		     const char *initrd_path, const char *cmdline, const void *dtb,
		     size_t dtb_size, struct linux_image *image, char *error, size_t error_size)
{
	struct linux_boot_args args = { .cmdline = cmdline, .dtb = dtb, .dtb_size = dtb_size };
	uint8_t *kernel = NULL, *initrd = NULL;
	char detail[400];
	int rc = read_whole(kernel_path, "kernel", mem->size, &kernel, &args.kernel_size, error,
			    error_size);

	if (rc)
		return rc;
	if (initrd_path && (rc = read_whole(initrd_path, "initrd", mem->size, &initrd,
					    &args.initrd_size, error, error_size))) {
		free(kernel);
		return rc;
	}
	args.kernel = kernel;
	args.initrd = initrd;
	rc = linux_load(mem, &args, image, detail, sizeof(detail));
	if (rc)
		snprintf(error, error_size, "%s: %s", rc == -E2BIG && initrd_path &&
			 strstr(detail, "initrd") ? initrd_path : kernel_path, detail);
	free(kernel);
	free(initrd);
	return rc;
}

static struct kvm_segment boot_segment(uint16_t selector, bool code)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = code ? 0xb : 0x3,
		.present = 1, .dpl = 0, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
}

int linux_init_vcpu(int vcpu_fd, unsigned index, uint64_t entry, uint64_t boot_params_gpa)
{
	struct kvm_sregs sregs;

	if (index != 0)
		return 0;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs = boot_segment(LINUX_BOOT_CS, true);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = boot_segment(LINUX_BOOT_DS, false);
	sregs.tr = (struct kvm_segment){
		.base = LINUX_TSS_GPA, .limit = 0x67, .selector = LINUX_BOOT_TR, .type = 0xb,
		.present = 1,
	};
	sregs.ldt = (struct kvm_segment){ .type = 0x2, .present = 1, .unusable = 1 };
	sregs.gdt = (struct kvm_dtable){ .base = LINUX_GDT_GPA, .limit = LINUX_BOOT_TR + 15 };
	sregs.idt = (struct kvm_dtable){ .base = 0, .limit = 0 };
	sregs.cr0 = (1ull << 0) | (1ull << 4) | (1ull << 5) | (1ull << 31); /* PE ET NE PG */
	sregs.cr3 = LINUX_PML4_GPA;
	sregs.cr4 = 1ull << 5;                                              /* PAE */
	sregs.efer = (1ull << 8) | (1ull << 10);                            /* LME LMA */
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	struct kvm_regs regs = {
		.rip = entry, .rsi = boot_params_gpa, .rflags = 0x2,
		.rsp = LINUX_PML4_GPA, /* the free page below the page tables */
	};

	return ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

/* ---- reset ---- */

static uint64_t kbc_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0; /* status: input and output buffers empty */
}

static void kbc_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct vm *vm = opaque;

	if ((value & 0xff) != LINUX_KBC_RESET)
		return;
	log_info("guest reset through the keyboard controller: stopping (exit status %d)",
		 VMM_EXIT_RESET);
	vm_request_stop(vm, VM_STOP_GUEST_RESET, VMM_EXIT_RESET);
}

static const struct bus_region_ops kbc_ops = { .read = kbc_read, .write = kbc_write };

int linux_register_reset(struct vm *vm)
{
	return bus_register(&vm->pio_bus, LINUX_KBC_PORT, 1, &kbc_ops, vm, "keyboard-controller");
}
