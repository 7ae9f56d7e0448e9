/* SPDX-License-Identifier: MIT */
/*
 * irq_floor: the floor of the interrupt benchmark (docs/PERFORMANCE.md (e)):
 * how fast a minimal KVM program gets an interrupt from a host thread into
 * a guest CPL 0 handler, through the same KVM path the VMM uses (split
 * irqchip, MSI route, irqfd), measured the same way as guest-tests/irq-bench
 * measures the VMM.
 *
 *     irq_floor [--memory MIB] [--samples N] [--delay-us D] [--periods P,P,..]
 *               [--window-ms W] IMAGE.elf        (IMAGE: build/bench/irq.elf)
 *
 * What it does:
 *   - /dev/kvm, KVM_CREATE_VM, KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP, 24) and
 *     KVM_SET_TSS_ADDR as the VMM; RAM by the VMM's guest_memory_alloc();
 *     the image loaded by the VMM's ELF loader and entered in the VMM's boot
 *     state (x86_boot_build / x86_boot_init_vcpu), all from libvmm.a;
 *   - one MSI route (GSI 24, address 0xfee00000 = APIC id 0, data = vector
 *     0x40, fixed, edge) bound by KVM_IRQFD to an eventfd;
 *   - a raiser thread blocked in read() on a timerfd (the VMM's pci-testdev
 *     timer is a timerfd on the VMM's epoll event thread): when it expires,
 *     the thread reads the TSC, then writes the eventfd. That TSC value is
 *     the raise stamp, taken where the VMM's pci-testdev takes its
 *     RAISE_TSC (just before its raise goes to irq_msi_trigger's eventfd
 *     write);
 *   - the vCPU runs on the main thread and serves the image's MMIO
 *     registers (tests/bench/images/irq.S): ARM arms the timer one-shot for
 *     D us, PERIODIC starts/stops it every P us, SAMPLE reports the
 *     handler's stamp, which is paired with the raise stamp.
 *
 * A sample's latency is handler stamp - raise stamp, in TSC ticks: both are
 * the host's TSC, which the guest sees unchanged on the project's machines
 * (the (a) start-up benchmark relies on the same). A sample whose raise
 * came less than RACE_US after the guest was back from its ARM write is
 * dropped and counted as `raced` (the guest might not have been spinning or
 * halted yet); one with a negative or absurd (> 1 s) latency counts as
 * `tsc_bad`.
 *
 * Output on stdout, the format guest-tests/irq-bench prints (scripts/bench.sh
 * parses both):
 *   irqbench: tsc_hz=H source=S
 *   irqbench: samples MODE: C C C ...          (ticks, 16 per line)
 *   irqbench: latency MODE: n=.. raced=.. tsc_bad=.. median_cycles=.. p99_cycles=.. ...
 *   irqbench: rate: period_us=P delivered=.. raised=.. cycles=.. per_s=.. raised_per_s=..
 * MODE is halt (guest halted at CPL 0) or spin (guest spinning at CPL 3).
 *
 * Exit status as `vmm run`: odd for a guest exit (1: the image finished),
 * 2 for a host/KVM error, 4 for a guest fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "boot_protocol.h"
#include "vmm/boot/elf.h"
#include "vmm/memory.h"
#include "vmm/x86/boot_state.h"

#define EXIT_HOST_ERROR  2
#define EXIT_GUEST_FAULT 4

#define CPUID_ENTRIES    256
#define EXIT_PORT        0xf4
#define SPLIT_ROUTES     24   /* as the VMM: IOAPIC pins below, MSIs from 24 */
#define MSI_GSI          24
#define VECTOR           0x40
#define RACE_US          100
#define MAX_PERIODS      8

/* The image's registers (tests/bench/images/irq.S). */
#define FLOOR_DEV        0xd0000000ull
#define REG_SAMPLES      0x00
#define REG_RATE_STEPS   0x04
#define REG_WINDOW       0x08
#define REG_ARM          0x10
#define REG_PERIODIC     0x14
#define REG_MODE         0x18
#define REG_SAMPLE       0x20
#define REG_DELIVERED    0x28
#define REG_CYCLES       0x30

enum mode { MODE_NONE, MODE_HALT, MODE_SPIN, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = { "none", "halt", "spin" };

struct samples {
	uint64_t *v;
	unsigned n, raced, tsc_bad;
};

struct floor {
	struct guest_memory ram;
	int kvm_fd, vm_fd, vcpu_fd, timer_fd, event_fd;
	struct kvm_run *run;
	unsigned samples, delay_us, window_ms;
	unsigned periods, period_us[MAX_PERIODS];
	double tsc_hz;
	enum mode mode;
	struct samples s[MODE_COUNT];
	atomic_uint_least64_t raise_tsc; /* TSC just before the last eventfd write */
	atomic_uint_least64_t raises;    /* eventfd writes */
	uint64_t raises_at_start;
	unsigned step;                   /* rate step running or last run, 1-based */
	struct {                         /* per period */
		uint64_t delivered, cycles; /* in the guest's window */
		uint64_t raised;            /* from PERIODIC K to PERIODIC 0 */
	} rate[MAX_PERIODS];
};

static void usage(FILE *out)
{
	fprintf(out, "usage: irq_floor [--memory MIB] [--samples N] [--delay-us D] "
		     "[--periods P,P,...] [--window-ms W] IMAGE.elf\n"
		     "The floor of the interrupt benchmark; see the header of\n"
		     "tests/bench/irq_floor.c and docs/PERFORMANCE.md.\n");
}

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Raiser thread: the timer expires -> TSC stamp -> eventfd write. */
static void *raiser(void *opaque)
{
	struct floor *f = opaque;
	uint64_t expirations, one = 1;

	for (;;) {
		if (read(f->timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "irq_floor: timerfd read: %s\n", strerror(errno));
			return NULL;
		}
		atomic_store_explicit(&f->raise_tsc, __rdtsc(), memory_order_relaxed);
		if (write(f->event_fd, &one, sizeof(one)) != sizeof(one)) {
			fprintf(stderr, "irq_floor: eventfd write: %s\n", strerror(errno));
			return NULL;
		}
		atomic_fetch_add_explicit(&f->raises, 1, memory_order_relaxed);
	}
}

static int arm_timer(struct floor *f, unsigned first_us, unsigned period_us)
{
	struct itimerspec spec = {
		.it_value = { .tv_sec = first_us / 1000000, .tv_nsec = (long)(first_us % 1000000) * 1000 },
		.it_interval = { .tv_sec = period_us / 1000000,
				 .tv_nsec = (long)(period_us % 1000000) * 1000 },
	};

	return timerfd_settime(f->timer_fd, 0, &spec, NULL) < 0 ? -errno : 0;
}

/* The interrupt path the VMM sets up for an MSI-X vector: route + irqfd. */
static int setup_irq(struct floor *f)
{
	struct kvm_irq_routing *routing =
		calloc(1, sizeof(*routing) + sizeof(struct kvm_irq_routing_entry));
	struct kvm_irqfd irqfd;
	int rc;

	if (!routing)
		return -ENOMEM;
	routing->nr = 1;
	routing->entries[0] = (struct kvm_irq_routing_entry){
		.gsi = MSI_GSI, .type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = 0xfee00000, .address_hi = 0, .data = VECTOR },
	};
	rc = ioctl(f->vm_fd, KVM_SET_GSI_ROUTING, routing) < 0 ? -errno : 0;
	free(routing);
	if (rc)
		return rc;
	f->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (f->event_fd < 0 || f->timer_fd < 0)
		return -errno;
	irqfd = (struct kvm_irqfd){ .fd = (uint32_t)f->event_fd, .gsi = MSI_GSI };
	if (ioctl(f->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
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
	if (ioctl(f->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0 ||
	    ioctl(f->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		rc = -errno;
	free(cpuid);
	return rc;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "irq_floor: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	return -1;
}

static int floor_create(struct floor *f, uint64_t memory, const char *image)
{
	struct kvm_enable_cap split = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { SPLIT_ROUTES } };
	struct x86_boot_layout layout;
	struct elf_image elf;
	char error[256];
	int rc;

	f->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (f->kvm_fd < 0)
		return fail("/dev/kvm", errno);
	f->vm_fd = ioctl(f->kvm_fd, KVM_CREATE_VM, 0);
	int run_size = ioctl(f->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (f->vm_fd < 0 || run_size <= 0)
		return fail("KVM_CREATE_VM", errno);
	if (ioctl(f->vm_fd, KVM_ENABLE_CAP, &split) < 0)
		return fail("KVM_ENABLE_CAP(SPLIT_IRQCHIP)", errno);
	if (ioctl(f->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		return fail("KVM_SET_TSS_ADDR", errno);
	if ((rc = guest_memory_alloc(&f->ram, memory)))
		return fail("guest RAM", rc);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = f->ram.size,
		.userspace_addr = (uintptr_t)f->ram.base,
	};

	if (ioctl(f->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION", errno);
	if (elf_load_file(image, &f->ram, BOOT_RESERVED_END, &elf, error, sizeof(error))) {
		fprintf(stderr, "irq_floor: %s\n", error);
		return -1;
	}
	if ((rc = x86_boot_build(&f->ram, 1, 0, &layout)))
		return fail("boot state", rc);
	f->vcpu_fd = ioctl(f->vm_fd, KVM_CREATE_VCPU, 0ul);
	if (f->vcpu_fd < 0)
		return fail("KVM_CREATE_VCPU", errno);
	f->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->vcpu_fd, 0);
	if (f->run == MAP_FAILED)
		return fail("mmap kvm_run", errno);
	if ((rc = set_cpuid(f)) || (rc = x86_boot_init_vcpu(f->vcpu_fd, &layout, 0, elf.entry)))
		return fail("vCPU setup", rc);
	if ((rc = setup_irq(f)))
		return fail("MSI route and irqfd", rc);
	return 0;
}

static void add_sample(struct floor *f, uint64_t value)
{
	struct samples *s = &f->s[f->mode];
	uint32_t raise = (uint32_t)atomic_load(&f->raise_tsc);
	uint32_t back = (uint32_t)(value >> 32), stamp = (uint32_t)value;
	int32_t gap = (int32_t)(raise - back);
	uint32_t latency = stamp - raise;

	if (gap < (int64_t)(RACE_US * f->tsc_hz / 1e6))
		s->raced++;
	else if (latency > f->tsc_hz)
		s->tsc_bad++;
	else
		s->v[s->n++] = latency;
}

static int mmio(struct floor *f)
{
	uint64_t offset = f->run->mmio.phys_addr - FLOOR_DEV, value = 0;
	uint8_t *data = f->run->mmio.data;
	unsigned len = f->run->mmio.len;
	int rc = 0;

	if (f->run->mmio.phys_addr < FLOOR_DEV || len > 8)
		return 0;
	if (!f->run->mmio.is_write) {
		if (offset == REG_SAMPLES)
			value = f->samples;
		else if (offset == REG_RATE_STEPS)
			value = f->periods;
		else if (offset == REG_WINDOW)
			value = (uint64_t)(f->window_ms * f->tsc_hz / 1e3);
		memcpy(data, &value, len);
		return 0;
	}
	memcpy(&value, data, len);
	switch (offset) {
	case REG_ARM:
		rc = arm_timer(f, f->delay_us, 0);
		break;
	case REG_PERIODIC:
		if (value && value <= f->periods) {
			unsigned period = f->period_us[value - 1];

			f->step = (unsigned)value;
			f->raises_at_start = atomic_load(&f->raises);
			rc = arm_timer(f, period, period);
		} else {
			rc = arm_timer(f, 0, 0);
			if (f->step)
				f->rate[f->step - 1].raised =
					atomic_load(&f->raises) - f->raises_at_start;
		}
		break;
	case REG_MODE:
		f->mode = value < MODE_COUNT ? (enum mode)value : MODE_NONE;
		break;
	case REG_SAMPLE:
		if (f->mode != MODE_NONE && f->s[f->mode].n + f->s[f->mode].raced +
		    f->s[f->mode].tsc_bad < f->samples)
			add_sample(f, value);
		break;
	case REG_DELIVERED:
		if (f->step)
			f->rate[f->step - 1].delivered = value;
		break;
	case REG_CYCLES:
		if (f->step)
			f->rate[f->step - 1].cycles = value;
		break;
	default:
		break;
	}
	if (rc)
		fprintf(stderr, "irq_floor: timerfd_settime: %s\n", strerror(-rc));
	return rc;
}

static int floor_run(struct floor *f)
{
	for (;;) {
		if (ioctl(f->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "irq_floor: KVM_RUN: %s\n", strerror(errno));
			return EXIT_HOST_ERROR;
		}
		switch (f->run->exit_reason) {
		case KVM_EXIT_IO:
			if (f->run->io.port == EXIT_PORT && f->run->io.direction == KVM_EXIT_IO_OUT)
				return (((uint8_t *)f->run)[f->run->io.data_offset] << 1 | 1) & 0xff;
			break;
		case KVM_EXIT_MMIO:
			if (mmio(f))
				return EXIT_HOST_ERROR;
			break;
		default:
			fprintf(stderr, "irq_floor: guest stopped: KVM exit reason %u\n",
				f->run->exit_reason);
			return EXIT_GUEST_FAULT;
		}
	}
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void report(const struct floor *f, enum mode mode)
{
	const struct samples *s = &f->s[mode];
	const char *name = mode_names[mode];

	for (unsigned i = 0; i < s->n; i++) {
		if (i % 16 == 0)
			printf("irqbench: samples %s:", name);
		printf(" %llu%s", (unsigned long long)s->v[i],
		       i % 16 == 15 || i + 1 == s->n ? "\n" : "");
	}
	qsort(s->v, s->n, sizeof(*s->v), compare_u64);
	uint64_t median = s->n ? s->v[(s->n - 1) / 2] : 0;
	uint64_t p99 = s->n ? s->v[(s->n * 99 + 99) / 100 - 1] : 0;

	printf("irqbench: latency %s: n=%u raced=%u tsc_bad=%u median_cycles=%llu p99_cycles=%llu "
	       "min_cycles=%llu max_cycles=%llu median_ns=%.0f p99_ns=%.0f\n", name, s->n,
	       s->raced, s->tsc_bad, (unsigned long long)median, (unsigned long long)p99,
	       (unsigned long long)(s->n ? s->v[0] : 0),
	       (unsigned long long)(s->n ? s->v[s->n - 1] : 0), (double)median * 1e9 / f->tsc_hz,
	       (double)p99 * 1e9 / f->tsc_hz);
}

/* "P,P,..." (microseconds, at most MAX_PERIODS). */
static int parse_periods(struct floor *f, const char *list)
{
	const char *p = list;

	f->periods = 0;
	while (*p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || v < 1 || v > 1000000 || f->periods == MAX_PERIODS ||
		    (*end && *end != ',')) {
			fprintf(stderr, "irq_floor: --periods takes up to %d periods in us "
				"(1 to 1000000), comma-separated: '%s'\n", MAX_PERIODS, list);
			return -1;
		}
		f->period_us[f->periods++] = (unsigned)v;
		p = *end ? end + 1 : end;
	}
	return f->periods ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct floor f = { .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1, .samples = 100,
			   .delay_us = 500, .window_ms = 200, .periods = 3,
			   .period_us = { 200, 100, 50 } };
	unsigned long long memory_mib = 64;
	const char *image = NULL;
	pthread_t thread;

	for (int i = 1; i < argc; i++) {
		unsigned *option = NULL;
		unsigned long max = 0;
		char *end;

		if (strcmp(argv[i], "--memory") == 0 && i + 1 < argc) {
			memory_mib = strtoull(argv[++i], &end, 0);
			if (*end || memory_mib < 8 || memory_mib > 3072) {
				fprintf(stderr, "irq_floor: --memory takes MiB, 8 to 3072\n");
				return EXIT_HOST_ERROR;
			}
			continue;
		}
		if (strcmp(argv[i], "--periods") == 0 && i + 1 < argc) {
			if (parse_periods(&f, argv[++i]))
				return EXIT_HOST_ERROR;
			continue;
		}
		if (strcmp(argv[i], "--samples") == 0)
			option = &f.samples, max = 100000;
		else if (strcmp(argv[i], "--delay-us") == 0)
			option = &f.delay_us, max = 1000000;
		else if (strcmp(argv[i], "--window-ms") == 0)
			option = &f.window_ms, max = 10000;
		if (option && i + 1 < argc) {
			unsigned long v = strtoul(argv[++i], &end, 0);

			if (*end || v < 1 || v > max) {
				fprintf(stderr, "irq_floor: %s takes 1 to %lu\n", argv[i - 1], max);
				return EXIT_HOST_ERROR;
			}
			*option = (unsigned)v;
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
	for (int m = MODE_HALT; m < MODE_COUNT; m++) {
		f.s[m].v = calloc(f.samples, sizeof(uint64_t));
		if (!f.s[m].v)
			return EXIT_HOST_ERROR;
	}

	/* TSC rate: 20 ms against CLOCK_MONOTONIC_RAW now (for the window and
	 * the race threshold), refined over the whole run at the end. */
	double t0 = monotonic_s();
	uint64_t c0 = __rdtsc();

	nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	f.tsc_hz = (double)(__rdtsc() - c0) / (monotonic_s() - t0);

	if (floor_create(&f, memory_mib << 20, image))
		return EXIT_HOST_ERROR;
	if (pthread_create(&thread, NULL, raiser, &f)) {
		fprintf(stderr, "irq_floor: raiser thread: %s\n", strerror(errno));
		return EXIT_HOST_ERROR;
	}
	int status = floor_run(&f);

	f.tsc_hz = (double)(__rdtsc() - c0) / (monotonic_s() - t0);
	printf("irqbench: tsc_hz=%.0f source=host-monotonic-raw\n", f.tsc_hz);
	for (int m = MODE_HALT; m < MODE_COUNT; m++)
		report(&f, (enum mode)m);
	for (unsigned k = 0; k < f.periods; k++) {
		double seconds = (double)f.rate[k].cycles / f.tsc_hz;

		printf("irqbench: rate: period_us=%u delivered=%llu raised=%llu cycles=%llu "
		       "per_s=%.0f raised_per_s=%.0f\n", f.period_us[k],
		       (unsigned long long)f.rate[k].delivered,
		       (unsigned long long)f.rate[k].raised, (unsigned long long)f.rate[k].cycles,
		       seconds > 0 ? (double)f.rate[k].delivered / seconds : 0.0,
		       seconds > 0 ? (double)f.rate[k].raised / seconds : 0.0);
	}
	fflush(stdout);
	return status;
}
