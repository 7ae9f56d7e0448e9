/* SPDX-License-Identifier: MIT */
#include "vmm/x86/boot_state.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "boot_protocol.h"
#include "vmm/config/config.h"

/* Fixed low-memory layout; everything fits below BOOT_RESERVED_END. */
#define BOOT_INFO_GPA   0x1000ull
#define GDT_GPA         0x2000ull
#define IDT_GPA         0x3000ull
#define PML4_GPA        0x4000ull
#define PDPT_GPA        0x5000ull
#define PD_GPA          0x6000ull /* four page directories: 4 GiB */
#define TSS_GPA         0x10000ull
#define TSS_STRIDE      0x2080u   /* 0x68 header + 8 KiB I/O bitmap + end byte */
#define STACKS_GPA      0x60000ull
#define STACK_SIZE      0x2000u

#define TSS_IOPB_OFFSET 0x68u
#define TSS_LIMIT       (TSS_IOPB_OFFSET + 8192u) /* includes the 0xff end byte */

#define PTE_PRESENT  (1ull << 0)
#define PTE_WRITE    (1ull << 1)
#define PTE_USER     (1ull << 2)
#define PTE_PWT      (1ull << 3)
#define PTE_PCD      (1ull << 4)
#define PTE_HUGE     (1ull << 7)

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

_Static_assert(TSS_GPA + CONFIG_VCPUS_MAX * TSS_STRIDE <= STACKS_GPA, "TSS area too small");
_Static_assert(STACKS_GPA + CONFIG_VCPUS_MAX * STACK_SIZE <= X86_BOOT_DTB_GPA, "stacks overlap DTB");
_Static_assert(X86_BOOT_DTB_GPA + X86_BOOT_DTB_MAX <= BOOT_RESERVED_END, "DTB past reserved area");
_Static_assert(BOOT_SEL_TSS(CONFIG_VCPUS_MAX) <= 0x1000, "GDT larger than its page");

static void build_page_tables(uint8_t *ram, uint64_t ram_size)
{
	uint64_t *pml4 = (uint64_t *)(ram + PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(ram + PDPT_GPA);
	uint64_t *pd = (uint64_t *)(ram + PD_GPA);
	const uint64_t table = PTE_PRESENT | PTE_WRITE | PTE_USER;

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = PDPT_GPA | table;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (PD_GPA + i * 4096) | table;
	/* 2 MiB pages: 1 GiB pages raise reserved-bit faults on these hosts. */
	for (uint64_t i = 0; i < 4 * 512; i++) {
		uint64_t address = i << 21;
		uint64_t uncached = address >= ram_size ? PTE_PCD | PTE_PWT : 0;

		pd[i] = address | table | PTE_HUGE | uncached;
	}
}

static uint64_t segment_descriptor(uint64_t flags)
{
	/* base 0, limit 0xfffff; flags carry access byte and G/L/D bits. */
	return 0x000f00000000ffffull | flags;
}

static void build_gdt(uint8_t *ram, unsigned cpu_count)
{
	uint64_t *gdt = (uint64_t *)(ram + GDT_GPA);

	memset(gdt, 0, 4096);
	gdt[1] = segment_descriptor(0x00a09a0000000000ull); /* kernel code, L */
	gdt[2] = segment_descriptor(0x00c0920000000000ull); /* kernel data */
	gdt[3] = segment_descriptor(0x00c0fa0000000000ull); /* user code 32 (unused) */
	gdt[4] = segment_descriptor(0x00c0f20000000000ull); /* user data */
	gdt[5] = segment_descriptor(0x00a0fa0000000000ull); /* user code, L */
	for (unsigned cpu = 0; cpu < cpu_count; cpu++) {
		uint64_t base = TSS_GPA + (uint64_t)cpu * TSS_STRIDE;
		uint64_t *desc = &gdt[BOOT_SEL_TSS(cpu) / 8];

		/* 64-bit TSS, busy (type 0xb) to match the loaded TR. */
		desc[0] = (TSS_LIMIT & 0xffff) | ((base & 0xffffff) << 16) | (0x8bull << 40) |
			  ((uint64_t)(TSS_LIMIT >> 16) << 48) | ((base >> 24 & 0xff) << 56);
		desc[1] = base >> 32;
	}
}

static void build_tss(uint8_t *ram, unsigned cpu)
{
	uint8_t *tss = ram + TSS_GPA + (uint64_t)cpu * TSS_STRIDE;
	uint64_t stack_top = STACKS_GPA + (uint64_t)(cpu + 1) * STACK_SIZE;

	memset(tss, 0, TSS_STRIDE);
	memcpy(tss + 0x04, &stack_top, 8); /* RSP0 */
	memcpy(tss + 0x24, &stack_top, 8); /* IST1 */
	uint16_t iopb = TSS_IOPB_OFFSET;

	memcpy(tss + 0x66, &iopb, 2);
	/* All-zero bitmap: CPL 3 may use every port. The 0xff byte ends it. */
	tss[TSS_IOPB_OFFSET + 8192] = 0xff;
}

int x86_boot_build(const struct guest_memory *mem, unsigned cpu_count, uint64_t dtb_size,
		   struct x86_boot_layout *layout)
{
	if (mem->size < BOOT_RESERVED_END || cpu_count == 0 || cpu_count > CONFIG_VCPUS_MAX ||
	    dtb_size > X86_BOOT_DTB_MAX)
		return -EINVAL;
	*layout = (struct x86_boot_layout){
		.cpu_count = cpu_count, .boot_info_gpa = BOOT_INFO_GPA, .gdt_gpa = GDT_GPA,
		.gdt_limit = (uint16_t)(BOOT_SEL_TSS(cpu_count) - 1), .idt_gpa = IDT_GPA,
		.page_table_gpa = PML4_GPA, .tss_gpa = TSS_GPA, .tss_stride = TSS_STRIDE,
		.stacks_gpa = STACKS_GPA, .stack_size = STACK_SIZE, .dtb_gpa = X86_BOOT_DTB_GPA,
	};
	build_page_tables(mem->base, mem->size);
	build_gdt(mem->base, cpu_count);
	memset(mem->base + IDT_GPA, 0, 4096);
	for (unsigned cpu = 0; cpu < cpu_count; cpu++)
		build_tss(mem->base, cpu);

	struct boot_info info = {
		.magic = BOOT_INFO_MAGIC, .version = BOOT_INFO_VERSION, .size = sizeof(info),
		.cpu_count = cpu_count, .ram_size = mem->size, .dtb_gpa = X86_BOOT_DTB_GPA,
		.dtb_size = dtb_size, .gdt_gpa = GDT_GPA, .idt_gpa = IDT_GPA, .tss_gpa = TSS_GPA,
		.tss_stride = TSS_STRIDE, .stack_size = STACK_SIZE, .stacks_gpa = STACKS_GPA,
		.page_table_gpa = PML4_GPA,
	};
	memcpy(mem->base + BOOT_INFO_GPA, &info, sizeof(info));
	return 0;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, uint8_t dpl, bool code)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = dpl, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
}

int x86_boot_init_vcpu(int vcpu_fd, const struct x86_boot_layout *layout, unsigned cpu,
		       uint64_t entry)
{
	struct kvm_sregs sregs;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs = flat_segment(BOOT_SEL_KERNEL_CODE, 0xb, 0, true);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
		flat_segment(BOOT_SEL_KERNEL_DATA, 0x3, 0, false);
	sregs.tr = (struct kvm_segment){
		.base = layout->tss_gpa + (uint64_t)cpu * layout->tss_stride,
		.limit = TSS_LIMIT, .selector = (uint16_t)BOOT_SEL_TSS(cpu), .type = 0xb,
		.present = 1,
	};
	sregs.ldt = (struct kvm_segment){ .type = 0x2, .present = 1, .unusable = 1 };
	sregs.gdt = (struct kvm_dtable){ .base = layout->gdt_gpa, .limit = layout->gdt_limit };
	sregs.idt = (struct kvm_dtable){ .base = layout->idt_gpa, .limit = 256 * 16 - 1 };
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.cr3 = layout->page_table_gpa;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	uint64_t stack_top = layout->stacks_gpa + (uint64_t)(cpu + 1) * layout->stack_size;
	struct kvm_regs regs = {
		.rip = entry, .rsp = stack_top, .rflags = 0x2,
		.rdi = layout->dtb_gpa, .rsi = layout->boot_info_gpa, .rdx = cpu,
	};

	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}
