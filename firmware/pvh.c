// SPDX-License-Identifier: MIT
/*
 * PVH boot (QEMU -kernel): complete the boot_info the PVH entry hands to the
 * common path, from struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h).
 */
#include <stdint.h>

#include "boot_protocol.h"
#include "fw/fw.h"
#include "fw/layout.h"
#include "internal.h"

struct hvm_start_info {
	uint32_t magic; /* FW_PVH_START_MAGIC */
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;   /* version >= 1 */
	uint32_t memmap_entries; /* version >= 1 */
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* 1 = RAM */
	uint32_t reserved;
};

struct boot_info fw_pvh_boot_info; /* RSI of the PVH path (head.S) */
uint64_t fw_pvh_start_info;        /* EBX at the PVH entry (head.S) */

extern char fw_pvh_gdt[], fw_pvh_tss[], fw_pvh_pml4[], fw_pvh_kstack_top[];
extern char fw_idt[];

void fw_pvh_init(void)
{
	const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)fw_pvh_start_info;
	struct boot_info *bi = &fw_pvh_boot_info;
	uint64_t ram = 0;

	bi->magic = BOOT_INFO_MAGIC;
	bi->version = BOOT_INFO_VERSION;
	bi->size = sizeof(*bi);
	bi->cpu_count = 1;
	bi->gdt_gpa = (uintptr_t)fw_pvh_gdt;
	bi->idt_gpa = (uintptr_t)fw_idt;
	bi->tss_gpa = (uintptr_t)fw_pvh_tss;
	bi->tss_stride = FW_TSS_SIZE;
	bi->stack_size = FW_PVH_KSTACK_SIZE;
	bi->stacks_gpa = (uintptr_t)fw_pvh_kstack_top - FW_PVH_KSTACK_SIZE;
	bi->page_table_gpa = (uintptr_t)fw_pvh_pml4;

	if (!si || si->magic != FW_PVH_START_MAGIC)
		return;
	if (si->cmdline_paddr && si->cmdline_paddr < (1ull << 32))
		fw_boot.pvh_cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
	if (si->version >= 1 && si->memmap_paddr && si->memmap_paddr < (1ull << 32)) {
		const struct hvm_memmap_entry *e =
			(const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;

		/* "RAM is [0, ram_size)": the end of the highest RAM range. */
		for (uint32_t i = 0; i < si->memmap_entries && i < 128; i++)
			if (e[i].type == 1 && e[i].addr + e[i].size > ram)
				ram = e[i].addr + e[i].size;
	}
	bi->ram_size = ram;
}
