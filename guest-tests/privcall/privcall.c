// SPDX-License-Identifier: MIT
/* privcall: the int3 privileged-call gate from CPL 3. */
#include "fw/test.h"

const char *test_image_name = "privcall";

#define CR0_PE   (1ull << 0)
#define CR0_PG   (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define MSR_EFER 0xc0000080u
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define MSR_KERNEL_GS_BASE 0xc0000102u

static unsigned int cpl(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

TEST(runs_at_cpl3)
{
	CHECK_EQ(cpl(), 3);
}

TEST(control_registers)
{
	uint64_t cr0 = priv_read_cr0(), cr3 = priv_read_cr3(), cr4 = priv_read_cr4();

	diag("cr0=0x%llx cr3=0x%llx cr4=0x%llx", (unsigned long long)cr0,
	     (unsigned long long)cr3, (unsigned long long)cr4);
	CHECK((cr0 & (CR0_PE | CR0_PG)) == (CR0_PE | CR0_PG), "cr0=0x%llx lacks PE|PG",
	      (unsigned long long)cr0);
	CHECK(cr4 & CR4_PAE, "cr4=0x%llx lacks PAE", (unsigned long long)cr4);
	CHECK(cr3 != 0, "cr3 is 0");
	if (fw_boot.info_valid && !fw_boot.pvh)
		CHECK_EQ(cr3 & ~0xfffull, fw_boot.info->page_table_gpa);
}

TEST(efer_long_mode_active)
{
	uint64_t efer = priv_rdmsr(MSR_EFER);

	diag("EFER=0x%llx", (unsigned long long)efer);
	CHECK(efer & EFER_LMA, "EFER=0x%llx lacks LMA", (unsigned long long)efer);
	CHECK(efer & EFER_LME, "EFER=0x%llx lacks LME", (unsigned long long)efer);
}

TEST(wrmsr_rdmsr_roundtrip)
{
	uint64_t old = priv_rdmsr(MSR_KERNEL_GS_BASE);
	uint64_t v = 0x0000123456789000ull;

	priv_wrmsr(MSR_KERNEL_GS_BASE, v);
	CHECK_EQ(priv_rdmsr(MSR_KERNEL_GS_BASE), v);
	priv_wrmsr(MSR_KERNEL_GS_BASE, old);
	CHECK_EQ(priv_rdmsr(MSR_KERNEL_GS_BASE), old);
}

TEST(cpu_index)
{
	CHECK_EQ(priv_cpu_index(), 0);
	CHECK_EQ(fw_cpu_index(), 0);
}

TEST(registers_preserved)
{
	uint64_t rdi = 0x1111, rsi = 0x2222, r8 = 0x8888, rbx = 0xbbbb, rax = FW_PRIV_NOP;
	register uint64_t r8v __asm__("r8") = r8;

	__asm__ volatile("int3"
			 : "+a"(rax), "+D"(rdi), "+S"(rsi), "+r"(r8v), "+b"(rbx)
			 :
			 : "rcx", "rdx", "memory", "cc");
	CHECK_EQ(rax, 0);
	CHECK_EQ(rdi, 0x1111);
	CHECK_EQ(rsi, 0x2222);
	CHECK_EQ(r8v, r8);
	CHECK_EQ(rbx, 0xbbbb);
}

TEST(gate_cost)
{
	enum { N = 64 };
	uint64_t t0 = rdtsc();

	for (int i = 0; i < N; i++)
		fw_privcall(FW_PRIV_NOP, 0, 0, 0);
	diag("privileged-call round trip: %llu TSC ticks (mean of %d)",
	     (unsigned long long)((rdtsc() - t0) / N), N);
}
