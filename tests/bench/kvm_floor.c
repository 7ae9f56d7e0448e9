/* SPDX-License-Identifier: MIT */
/*
 * kvm_floor: the smallest honest KVM program that boots a self-test image the
 * way `vmm run` does. It is the baseline ("floor") the benchmarks compare the
 * VMM against (docs/PERFORMANCE.md).
 *
 *     kvm_floor [--memory MIB] [--dtb FILE] [--usage] [--trace] IMAGE.elf
 *
 * What it does, in order:
 *   - open /dev/kvm, KVM_CREATE_VM; no irqchip of any kind (the VMM creates a
 *     split irqchip), no TSS address, no device model beyond the ports below;
 *   - guest RAM: anonymous mmap, 2 MiB aligned and MADV_HUGEPAGE (as the VMM:
 *     the cheap way to take guest page faults on these hosts),
 *     KVM_SET_USER_MEMORY_REGION slot 0 at guest-physical 0;
 *   - copy the DTB file (made beforehand by `vmm dtb`) to X86_BOOT_DTB_GPA;
 *   - load the ELF PT_LOAD segments with its own minimal, bounds-checked
 *     loader;
 *   - build the entry state of include/boot_protocol.h with the VMM's own
 *     builder (x86_boot_build / x86_boot_init_vcpu from vmm/x86/boot_state.c,
 *     linked from libvmm.a): the floor shares the boot-state builder;
 *   - one vCPU, KVM_GET_SUPPORTED_CPUID -> KVM_SET_CPUID2, run it on the
 *     main thread (no vCPU thread, no signals, no eventfd).
 *
 * Ports: a write of V to 0xf4 ends the run with status (V << 1) | 1, like the
 * VMM's debug-exit device. 0x3f8-0x3ff is a minimal 16550: THR bytes go to
 * stdout through stdio (fully buffered when stdout is not a terminal), LSR
 * reads say "transmitter empty", the scratch register (0x3ff) stores its
 * byte, DLAB is honoured so divisor writes are not printed. Any other port
 * or MMIO access is ignored (reads see whatever KVM left in the buffer, as
 * with the VMM's unclaimed ports).
 *
 * --usage prints peak RSS minus resident guest RAM at the end, like the VMM's
 * debug-level usage line. --trace prints how long each setup step took, from
 * main() to the return of the first KVM_RUN (scripts/bench.sh reports them).
 *
 * Exit status as `vmm run`: odd for a guest exit, 2 for a host/KVM error,
 * 4 for a guest fault (triple fault, emulation failure, HLT...).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot_protocol.h"
#include "vmm/memory.h"
#include "vmm/x86/boot_state.h"

#define EXIT_HOST_ERROR  2
#define EXIT_GUEST_FAULT 4

#define HUGE_PAGE        (2ull << 20)
#define CPUID_ENTRIES    256

#define EXIT_PORT        0xf4
#define UART_BASE        0x3f8
#define UART_LCR         3
#define UART_LSR         5
#define UART_SCR         7
#define UART_LCR_DLAB    0x80
#define UART_LSR_IDLE    0x60 /* THRE | TEMT */

struct floor {
	struct guest_memory ram;
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	uint8_t uart_lcr, uart_scr;
	bool trace;             /* --trace: step durations in trace_line */
	double last_mark_us;
	char trace_line[512];
	size_t trace_used;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: kvm_floor [--memory MIB] [--dtb FILE] [--usage] [--trace] IMAGE.elf\n"
		     "Boots IMAGE like `vmm run` with the least work KVM needs; see the\n"
		     "header of tests/bench/kvm_floor.c and docs/PERFORMANCE.md.\n");
}

static double monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* --trace: record the time since the previous mark as NAME_us. */
static void mark(struct floor *f, const char *name)
{
	if (!f->trace)
		return;
	double now = monotonic_us();
	size_t room = sizeof(f->trace_line) - f->trace_used;
	int n = snprintf(f->trace_line + f->trace_used, room, " %s_us=%.1f", name,
			 now - f->last_mark_us);

	if (n > 0 && (size_t)n < room)
		f->trace_used += (size_t)n;
	f->last_mark_us = now;
}

/* Read a whole file into a malloc'd buffer. Returns 0 or -errno. */
static int read_file(const char *path, uint8_t **data, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st = { .st_size = -1 };

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		int rc = st.st_size < 0 ? -errno : -EINVAL;

		close(fd);
		return rc;
	}
	uint8_t *buffer = malloc((size_t)st.st_size);
	size_t done = 0;
	int rc = buffer ? 0 : -ENOMEM;

	while (!rc && done < (size_t)st.st_size) {
		ssize_t n = read(fd, buffer + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = n < 0 ? -errno : -EIO; /* EIO: the file shrank under us */
		else
			done += (size_t)n;
	}
	close(fd);
	if (rc) {
		free(buffer);
		return rc;
	}
	*data = buffer;
	*size = done;
	return 0;
}

/* Copy the PT_LOAD segments of an ELF64 x86-64 executable; returns the entry or 0. */
static uint64_t load_elf(const char *path, const struct guest_memory *ram)
{
	uint8_t *file;
	size_t size;
	int rc = read_file(path, &file, &size);

	if (rc) {
		fprintf(stderr, "kvm_floor: %s: %s\n", path, strerror(-rc));
		return 0;
	}
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
	uint64_t entry = 0;

	if (size < sizeof(*eh) || memcmp(file, ELFMAG, SELFMAG) != 0 ||
	    file[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > size ||
	    (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum) {
		fprintf(stderr, "kvm_floor: %s: not an ELF64 x86-64 executable\n", path);
		goto out;
	}
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, file + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > size ||
		    ph.p_filesz > size - ph.p_offset || ph.p_paddr < BOOT_RESERVED_END ||
		    !guest_memory_ptr(ram, ph.p_paddr, ph.p_memsz)) {
			fprintf(stderr, "kvm_floor: %s: segment %u is truncated or does not fit "
				"guest RAM [%#llx, %#llx)\n", path, i,
				(unsigned long long)BOOT_RESERVED_END, (unsigned long long)ram->size);
			goto out;
		}
		uint8_t *dest = ram->base + ph.p_paddr;

		memcpy(dest, file + ph.p_offset, ph.p_filesz);
		memset(dest + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	entry = eh->e_entry;
	if (!entry)
		fprintf(stderr, "kvm_floor: %s: entry point is 0\n", path);
out:
	free(file);
	return entry;
}

static int alloc_ram(struct guest_memory *ram, uint64_t size)
{
	uint64_t reserve = size + HUGE_PAGE;
	uint8_t *raw = mmap(NULL, reserve, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (raw == MAP_FAILED)
		return -errno;
	uint8_t *base = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));

	madvise(base, size, MADV_HUGEPAGE);
	ram->base = base;
	ram->size = size;
	return 0;
}

static int set_cpuid(struct floor *f)
{
	size_t bytes = sizeof(struct kvm_cpuid2) + CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, bytes);
	int rc = 0;

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = CPUID_ENTRIES;
	if (ioctl(f->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		rc = -errno;
	mark(f, "get_cpuid");
	if (!rc && ioctl(f->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		rc = -errno;
	mark(f, "set_cpuid");
	free(cpuid);
	return rc;
}

/* Build the VM; returns 0 or prints what failed and returns -1. */
static int floor_create(struct floor *f, uint64_t memory, const char *dtb_path,
			const char *image)
{
	struct x86_boot_layout layout;
	uint8_t *dtb = NULL;
	size_t dtb_size = 0;
	int rc;

	f->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (f->kvm_fd < 0) {
		fprintf(stderr, "kvm_floor: /dev/kvm: %s\n", strerror(errno));
		return -1;
	}
	f->vm_fd = ioctl(f->kvm_fd, KVM_CREATE_VM, 0);
	int run_size = ioctl(f->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (f->vm_fd < 0 || run_size <= 0) {
		fprintf(stderr, "kvm_floor: KVM_CREATE_VM: %s\n", strerror(errno));
		return -1;
	}
	mark(f, "create_vm");
	if ((rc = alloc_ram(&f->ram, memory))) {
		fprintf(stderr, "kvm_floor: guest RAM: %s\n", strerror(-rc));
		return -1;
	}
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = f->ram.size,
		.userspace_addr = (uintptr_t)f->ram.base,
	};

	if (ioctl(f->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		fprintf(stderr, "kvm_floor: KVM_SET_USER_MEMORY_REGION: %s\n", strerror(errno));
		return -1;
	}
	mark(f, "memory");
	if (dtb_path) {
		if ((rc = read_file(dtb_path, &dtb, &dtb_size))) {
			fprintf(stderr, "kvm_floor: %s: %s\n", dtb_path, strerror(-rc));
			return -1;
		}
		if (dtb_size > X86_BOOT_DTB_MAX) {
			fprintf(stderr, "kvm_floor: %s: %zu bytes; at most %llu fit\n", dtb_path,
				dtb_size, (unsigned long long)X86_BOOT_DTB_MAX);
			free(dtb);
			return -1;
		}
		memcpy(f->ram.base + X86_BOOT_DTB_GPA, dtb, dtb_size);
		free(dtb);
	}
	mark(f, "dtb");
	uint64_t entry = load_elf(image, &f->ram);

	if (!entry)
		return -1;
	mark(f, "elf");
	if ((rc = x86_boot_build(&f->ram, 1, dtb_size, &layout))) {
		fprintf(stderr, "kvm_floor: boot state: %s\n", strerror(-rc));
		return -1;
	}
	mark(f, "boot_state");
	f->vcpu_fd = ioctl(f->vm_fd, KVM_CREATE_VCPU, 0ul);
	if (f->vcpu_fd < 0) {
		fprintf(stderr, "kvm_floor: KVM_CREATE_VCPU: %s\n", strerror(errno));
		return -1;
	}
	f->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->vcpu_fd, 0);
	if (f->run == MAP_FAILED) {
		fprintf(stderr, "kvm_floor: mmap kvm_run: %s\n", strerror(errno));
		return -1;
	}
	mark(f, "create_vcpu");
	if ((rc = set_cpuid(f)) || (rc = x86_boot_init_vcpu(f->vcpu_fd, &layout, 0, entry))) {
		fprintf(stderr, "kvm_floor: vCPU setup: %s\n", strerror(-rc));
		return -1;
	}
	mark(f, "regs");
	return 0;
}

/* Minimal 16550 at 0x3f8 (see the header). */
static void uart_access(struct floor *f, unsigned reg, bool is_write, uint8_t *data)
{
	if (is_write) {
		if (reg == 0 && !(f->uart_lcr & UART_LCR_DLAB))
			putchar(*data);
		else if (reg == UART_LCR)
			f->uart_lcr = *data;
		else if (reg == UART_SCR)
			f->uart_scr = *data;
		return;
	}
	*data = reg == UART_LSR ? UART_LSR_IDLE : reg == UART_LCR ? f->uart_lcr :
		reg == UART_SCR ? f->uart_scr : 0;
}

/* Returns -1 while the guest runs on, else the process exit status. */
static int handle_io(struct floor *f)
{
	struct kvm_run *run = f->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.port == EXIT_PORT && is_write)
			return (int)(((unsigned)data[0] << 1 | 1) & 0xff);
		if (run->io.port >= UART_BASE && run->io.port < UART_BASE + 8)
			uart_access(f, run->io.port - UART_BASE, is_write, data);
	}
	return -1;
}

static int floor_run(struct floor *f)
{
	for (bool first = true;; first = false) {
		if (ioctl(f->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "kvm_floor: KVM_RUN: %s\n", strerror(errno));
			return EXIT_HOST_ERROR;
		}
		if (first)
			mark(f, "first_exit");
		switch (f->run->exit_reason) {
		case KVM_EXIT_IO: {
			int status = handle_io(f);

			if (status >= 0)
				return status;
			break;
		}
		case KVM_EXIT_MMIO:
			break;
		default:
			fprintf(stderr, "kvm_floor: guest stopped: KVM exit reason %u\n",
				f->run->exit_reason);
			return EXIT_GUEST_FAULT;
		}
	}
}

/* Same accounting as the VMM's debug line: peak RSS minus resident guest RAM. */
static void report_usage(const struct floor *f)
{
	unsigned char residency[4096];
	const size_t page = 4096, chunk = sizeof(residency) * page;
	struct rusage usage;
	uint64_t resident = 0;

	if (getrusage(RUSAGE_SELF, &usage) < 0)
		return;
	for (uint64_t offset = 0; offset < f->ram.size; offset += chunk) {
		size_t len = f->ram.size - offset < chunk ? (size_t)(f->ram.size - offset) : chunk;

		if (mincore(f->ram.base + offset, len, residency) < 0)
			return;
		for (size_t i = 0; i < (len + page - 1) / page; i++)
			resident += residency[i] & 1;
	}
	resident *= page / 1024;
	fprintf(stderr, "kvm_floor: usage: peak_rss_kib=%ld guest_resident_kib=%llu "
		"floor_kib=%lld\n", usage.ru_maxrss, (unsigned long long)resident,
		(long long)usage.ru_maxrss - (long long)resident);
}

int main(int argc, char **argv)
{
	struct floor f = { .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
	const char *dtb = NULL, *image = NULL;
	unsigned long long memory_mib = 64;
	bool want_usage = false;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--memory") == 0 && i + 1 < argc) {
			memory_mib = strtoull(argv[++i], &end, 0);
			if (*end || memory_mib < 2 || memory_mib > 3072) {
				fprintf(stderr, "kvm_floor: --memory takes MiB, 2 to 3072\n");
				return EXIT_HOST_ERROR;
			}
		} else if (strcmp(argv[i], "--dtb") == 0 && i + 1 < argc) {
			dtb = argv[++i];
		} else if (strcmp(argv[i], "--usage") == 0) {
			want_usage = true;
		} else if (strcmp(argv[i], "--trace") == 0) {
			f.trace = true;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && !image) {
			image = argv[i];
		} else {
			usage(stderr);
			return EXIT_HOST_ERROR;
		}
	}
	if (!image) {
		usage(stderr);
		return EXIT_HOST_ERROR;
	}
	f.last_mark_us = monotonic_us();
	if (floor_create(&f, memory_mib << 20, dtb, image))
		return EXIT_HOST_ERROR;
	int status = floor_run(&f);

	fflush(stdout);
	if (want_usage)
		report_usage(&f);
	if (f.trace)
		fprintf(stderr, "kvm_floor: trace:%s\n", f.trace_line);
	return status;
}
