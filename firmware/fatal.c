// SPDX-License-Identifier: MIT
/* Fatal paths: exception reports, stack-protector failure, panic, exit. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fw/console.h"
#include "fw/cpu.h"
#include "fw/fw.h"
#include "fw/io.h"
#include "fw/privcall.h"
#include "internal.h"

uint16_t fw_exit_port = 0xf4;
volatile uint32_t fw_fatal_busy; /* set by entry.S when a report starts */

static const char *const exc_names[32] = {
	"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP",
	"PF", "15", "MF", "AC", "MC", "XM", "VE", "CP", "22", "23", "24", "25", "26", "27",
	"HV", "VC", "SX", "31",
};

static int has_error_code(uint64_t v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

void fw_fatal_report(const struct fw_exc_frame *f)
{
	fw_console_force_unlock();
	if (f->vector < 32) {
		printf("FATAL: exception #%s (vector %llu) at rip=0x%016llx",
		       exc_names[f->vector], (unsigned long long)f->vector,
		       (unsigned long long)f->rip);
		if (has_error_code(f->vector))
			printf(" err=0x%llx", (unsigned long long)f->error);
		if (f->vector == 14)
			printf(" cr2=0x%016llx", (unsigned long long)f->cr2);
		printf(" cpl=%llu\n", (unsigned long long)(f->cs & 3));
		if (f->vector == 3)
			printf("  (int3 with rax=%llu: not a privileged call, FW_PRIV_COUNT=%d)\n",
			       (unsigned long long)f->rax, FW_PRIV_COUNT);
	} else {
		printf("FATAL: unexpected interrupt (vector %llu) at rip=0x%016llx cpl=%llu\n",
		       (unsigned long long)f->vector, (unsigned long long)f->rip,
		       (unsigned long long)(f->cs & 3));
	}
	printf("  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
	       "  rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx\n"
	       "  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n"
	       "  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n"
	       "  rflags=%016llx cs=%04llx ss=%04llx\n",
	       (unsigned long long)f->rax, (unsigned long long)f->rbx,
	       (unsigned long long)f->rcx, (unsigned long long)f->rdx,
	       (unsigned long long)f->rsi, (unsigned long long)f->rdi,
	       (unsigned long long)f->rbp, (unsigned long long)f->rsp,
	       (unsigned long long)f->r8, (unsigned long long)f->r9,
	       (unsigned long long)f->r10, (unsigned long long)f->r11,
	       (unsigned long long)f->r12, (unsigned long long)f->r13,
	       (unsigned long long)f->r14, (unsigned long long)f->r15,
	       (unsigned long long)f->rflags, (unsigned long long)f->cs,
	       (unsigned long long)f->ss);
	fw_exit(FW_EXIT_FATAL);
}

void fw_exit(unsigned int value)
{
	/* At CPL 3 through the I/O bitmap; if the VM goes on (no exit device),
	 * halt at CPL 0 via the gate. */
	outb(fw_exit_port, (uint8_t)value);
	priv_exit(value);
}

void exit(int status)
{
	fw_exit((unsigned int)status);
}

void fw_panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fw_console_force_unlock();
	printf("FATAL: %s\n", msg);
	fw_exit(FW_EXIT_FATAL);
}

void abort(void)
{
	fw_panic("abort() called from %p", __builtin_return_address(0));
}

/* Called by stack-protected code (Debian's libfdt.a) on a corrupt canary. */
__attribute__((noreturn)) void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
	fw_panic("stack smashing detected (return address %p)", __builtin_return_address(0));
}
