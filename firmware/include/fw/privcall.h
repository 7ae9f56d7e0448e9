/* SPDX-License-Identifier: MIT */
/*
 * The privileged-call gate.
 *
 * CPL 3 code executes `int3` with RAX = call number and arguments in RDI, RSI,
 * RDX. The int3 gate (DPL 3 interrupt gate) enters the CPL 0 dispatcher in
 * firmware/entry.S, which jumps through fw_privcall_table; each handler is a
 * few instructions of assembly ending in iretq, which resumes after the int3.
 * The result comes back in RAX. RCX and RDX may be clobbered; every other
 * register is preserved. A number >= FW_PRIV_COUNT is a fatal #BP.
 *
 * Cost here (kvm-here.md): about 6.6 us plus 1.6 us per handler instruction.
 *
 * The numbers are usable from assembly; the C wrappers are below.
 */
#ifndef FW_PRIVCALL_H
#define FW_PRIVCALL_H

#define FW_PRIV_NOP         0  /* returns 0; for measuring the gate */
#define FW_PRIV_READ_CR0    1
#define FW_PRIV_READ_CR2    2
#define FW_PRIV_READ_CR3    3
#define FW_PRIV_READ_CR4    4
#define FW_PRIV_WRITE_CR3   5  /* rdi = new CR3 (flushes the TLB) */
#define FW_PRIV_RDMSR       6  /* rdi = msr -> value */
#define FW_PRIV_WRMSR       7  /* rdi = msr, rsi = value */
#define FW_PRIV_CPU_INDEX   8  /* RDX the VMM gave this CPU at entry */
#define FW_PRIV_EXIT        9  /* rdi = value: out to the exit port, then halt forever */
#define FW_PRIV_IRQ_ENABLE  10 /* sets RFLAGS.IF of the caller */
#define FW_PRIV_IRQ_DISABLE 11 /* clears RFLAGS.IF of the caller */
#define FW_PRIV_WAIT_IRQ    12 /* sti; hlt; cli at CPL 0: wait for one interrupt */
#define FW_PRIV_INVLPG      13 /* rdi = linear address */
#define FW_PRIV_WAIT_NE     14 /* rdi = u32 *, esi = value: sti; hlt; cli unless *rdi != esi */
#define FW_PRIV_COUNT       15

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline uint64_t fw_privcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	__asm__ volatile("int3"
			 : "+a"(nr), "+d"(a2)
			 : "D"(a0), "S"(a1)
			 : "rcx", "memory", "cc");
	return nr;
}

static inline uint64_t priv_read_cr0(void) { return fw_privcall(FW_PRIV_READ_CR0, 0, 0, 0); }
static inline uint64_t priv_read_cr2(void) { return fw_privcall(FW_PRIV_READ_CR2, 0, 0, 0); }
static inline uint64_t priv_read_cr3(void) { return fw_privcall(FW_PRIV_READ_CR3, 0, 0, 0); }
static inline uint64_t priv_read_cr4(void) { return fw_privcall(FW_PRIV_READ_CR4, 0, 0, 0); }
static inline void priv_write_cr3(uint64_t v) { fw_privcall(FW_PRIV_WRITE_CR3, v, 0, 0); }
static inline uint64_t priv_rdmsr(uint32_t msr) { return fw_privcall(FW_PRIV_RDMSR, msr, 0, 0); }
static inline void priv_wrmsr(uint32_t msr, uint64_t v) { fw_privcall(FW_PRIV_WRMSR, msr, v, 0); }
static inline unsigned int priv_cpu_index(void)
{
	return (unsigned int)fw_privcall(FW_PRIV_CPU_INDEX, 0, 0, 0);
}
static inline void priv_irq_enable(void) { fw_privcall(FW_PRIV_IRQ_ENABLE, 0, 0, 0); }
static inline void priv_irq_disable(void) { fw_privcall(FW_PRIV_IRQ_DISABLE, 0, 0, 0); }
static inline void priv_wait_irq(void) { fw_privcall(FW_PRIV_WAIT_IRQ, 0, 0, 0); }
static inline void priv_invlpg(const volatile void *p)
{
	fw_privcall(FW_PRIV_INVLPG, (uint64_t)(uintptr_t)p, 0, 0);
}
/* Halt at CPL 0 until an interrupt arrives, unless *word != value already
 * (checked with interrupts off, so no wake-up is lost). Returns after one
 * interrupt (any vector) or at once; callers loop on their condition. */
static inline void priv_wait_ne(const volatile uint32_t *word, uint32_t value)
{
	fw_privcall(FW_PRIV_WAIT_NE, (uint64_t)(uintptr_t)word, value, 0);
}
__attribute__((noreturn)) static inline void priv_exit(unsigned int value)
{
	fw_privcall(FW_PRIV_EXIT, value, 0, 0);
	__builtin_unreachable();
}
#endif

#endif
