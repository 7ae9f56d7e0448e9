/* SPDX-License-Identifier: MIT */
/*
 * "pci-testdev": the PCI test function of include/pci_testdev.h, for guest
 * tests of enumeration, BAR sizing/decoding and MSI-X delivery, and for
 * measuring interrupt latency (a host timer that raises a vector, one-shot
 * or periodic, and the host TSC of the last raise: RAISE_TSC_LO/HI).
 *
 * Registers are atomics: vCPUs may hit them concurrently and the timer
 * fires on the event thread, so no register access takes a lock.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <x86intrin.h>

#include "devices/models.h"
#include "devices/pci/host.h"
#include "devices/pci/msix.h"
#include "pci_testdev.h"
#include "vmm/log.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

#define TESTDEV_VERSION       1
#define TESTDEV_ERROR_VECTOR  1u   /* ERROR bit 0: bad vector number */
#define TESTDEV_REGS_BAR      0
#define TESTDEV_IO_BAR        4
#define TESTDEV_DEFAULT_VECTORS 8

struct testdev {
	const char *name;
	uint64_t vectors;
	int slot;                         /* -1: next free */
	struct pci_function fn;
	int timer_fd;                     /* -1 until realized */
	bool timer_watched;               /* registered on vm->loop */

	atomic_uint_least32_t echo;
	atomic_uint_least32_t io_echo;
	atomic_uint_least32_t write_count; /* BAR0 and BAR4 writes */
	atomic_uint_least32_t timer_us;
	atomic_uint_least32_t timer_period_us;
	atomic_uint_least32_t timer_vector;
	atomic_uint_least32_t timer_fired;
	atomic_uint_least32_t error;
	atomic_uint_least64_t raise_tsc;  /* host TSC just before the last raise */
};

/* Any thread. The TSC stamp is the first thing done for a valid raise:
 * what follows (MSI-X mask checks, irq_msi_trigger's eventfd write, KVM's
 * injection) is the interrupt path a guest measures against RAISE_TSC. */
static void testdev_raise(struct testdev *td, uint32_t vector)
{
	if (vector < td->vectors) {
		atomic_store_explicit(&td->raise_tsc, __rdtsc(), memory_order_relaxed);
		if (!pci_msix_raise(&td->fn, vector))
			return;
	}
	atomic_fetch_or(&td->error, TESTDEV_ERROR_VECTOR);
}

static struct timespec us_to_timespec(uint32_t microseconds)
{
	return (struct timespec){ .tv_sec = microseconds / 1000000,
				  .tv_nsec = (long)(microseconds % 1000000) * 1000 };
}

/* Arm (or with 0, cancel) the timer, periodic if TIMER_PERIOD_US says so;
 * timerfd_settime is thread-safe. */
static void testdev_arm_timer(struct testdev *td, uint32_t microseconds)
{
	uint32_t period = microseconds ? atomic_load(&td->timer_period_us) : 0;
	struct itimerspec spec = {
		.it_value = us_to_timespec(microseconds), .it_interval = us_to_timespec(period),
	};

	atomic_store(&td->timer_us, microseconds);
	if (td->timer_fd >= 0 && timerfd_settime(td->timer_fd, 0, &spec, NULL) < 0)
		log_warn("%s: arming the timer: %s", td->name, strerror(errno));
}

/* Event thread. */
static void testdev_timer_fired(void *opaque, uint32_t events)
{
	struct testdev *td = opaque;
	uint64_t expirations;

	if (read(td->timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return; /* cancelled or re-armed since: nothing expired */
	atomic_fetch_add(&td->timer_fired, 1);
	testdev_raise(td, atomic_load(&td->timer_vector));
}

static uint32_t testdev_counter(const struct testdev *td, bool raised)
{
	uint64_t delivered, dropped;

	pci_msix_counters(&td->fn, &delivered, &dropped);
	return (uint32_t)(raised ? delivered : dropped);
}

/* Registers are 32-bit: other sizes and misaligned offsets read all-ones, writes drop. */
static bool register_access_valid(const struct testdev *td, const char *bar, uint64_t offset,
				  unsigned size)
{
	if (size == 4 && offset % 4 == 0)
		return true;
	log_debug("%s: %u-byte access at %s+0x%llx: registers are 32-bit, ignored", td->name, size,
		  bar, (unsigned long long)offset);
	return false;
}

static uint64_t regs_read(void *opaque, uint64_t offset, unsigned size)
{
	struct testdev *td = opaque;

	if (!register_access_valid(td, "BAR0", offset, size))
		return pci_all_ones(size);
	switch (offset) {
	case PCI_TESTDEV_MAGIC_REG:    return PCI_TESTDEV_MAGIC;
	case PCI_TESTDEV_VERSION:      return TESTDEV_VERSION;
	case PCI_TESTDEV_VECTORS:      return td->vectors;
	case PCI_TESTDEV_ECHO:         return atomic_load(&td->echo);
	case PCI_TESTDEV_WRITE_COUNT:  return atomic_load(&td->write_count);
	case PCI_TESTDEV_TIMER_US:     return atomic_load(&td->timer_us);
	case PCI_TESTDEV_TIMER_VECTOR: return atomic_load(&td->timer_vector);
	case PCI_TESTDEV_TIMER_FIRED:  return atomic_load(&td->timer_fired);
	case PCI_TESTDEV_RAISED:       return testdev_counter(td, true);
	case PCI_TESTDEV_DROPPED:      return testdev_counter(td, false);
	case PCI_TESTDEV_ERROR:        return atomic_load(&td->error);
	case PCI_TESTDEV_RAISE_TSC_LO: return (uint32_t)atomic_load(&td->raise_tsc);
	case PCI_TESTDEV_RAISE_TSC_HI: return (uint32_t)(atomic_load(&td->raise_tsc) >> 32);
	case PCI_TESTDEV_TIMER_PERIOD_US: return atomic_load(&td->timer_period_us);
	default:                       return 0; /* RAISE is write-only; the rest reserved */
	}
}

static void regs_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct testdev *td = opaque;
	uint32_t data = (uint32_t)value;

	if (!register_access_valid(td, "BAR0", offset, size))
		return;
	if (offset == PCI_TESTDEV_WRITE_COUNT) {
		atomic_store(&td->write_count, 0);
		return;
	}
	atomic_fetch_add(&td->write_count, 1);
	switch (offset) {
	case PCI_TESTDEV_ECHO:         atomic_store(&td->echo, data); break;
	case PCI_TESTDEV_RAISE:        testdev_raise(td, data); break;
	case PCI_TESTDEV_TIMER_US:     testdev_arm_timer(td, data); break;
	case PCI_TESTDEV_TIMER_VECTOR: atomic_store(&td->timer_vector, data); break;
	case PCI_TESTDEV_ERROR:        atomic_fetch_and(&td->error, ~data); break;
	case PCI_TESTDEV_TIMER_PERIOD_US: atomic_store(&td->timer_period_us, data); break;
	default:                       break; /* read-only or reserved */
	}
}

static uint64_t msix_bar_read(void *opaque, uint64_t offset, unsigned size)
{
	struct testdev *td = opaque;
	uint64_t value;

	if (pci_msix_mmio_read(&td->fn, PCI_TESTDEV_MSIX_BAR, offset, size, &value))
		return value;
	return 0; /* between the table and the PBA, and after it: reserved */
}

static void msix_bar_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct testdev *td = opaque;

	pci_msix_mmio_write(&td->fn, PCI_TESTDEV_MSIX_BAR, offset, size, value);
}

static uint64_t io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct testdev *td = opaque;

	if (!register_access_valid(td, "BAR4", offset, size))
		return pci_all_ones(size);
	switch (offset) {
	case PCI_TESTDEV_IO_ECHO:        return atomic_load(&td->io_echo);
	case PCI_TESTDEV_IO_WRITE_COUNT: return atomic_load(&td->write_count);
	default:                         return 0;
	}
}

static void io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct testdev *td = opaque;

	if (!register_access_valid(td, "BAR4", offset, size))
		return;
	if (offset == PCI_TESTDEV_IO_WRITE_COUNT) {
		atomic_store(&td->write_count, 0);
		return;
	}
	atomic_fetch_add(&td->write_count, 1);
	if (offset == PCI_TESTDEV_IO_ECHO)
		atomic_store(&td->io_echo, (uint32_t)value);
}

static const struct bus_region_ops regs_ops = { .read = regs_read, .write = regs_write };
static const struct bus_region_ops msix_bar_ops = {
	.read = msix_bar_read, .write = msix_bar_write,
};
static const struct bus_region_ops io_ops = { .read = io_read, .write = io_write };

static int testdev_parse(struct device *dev, const struct toml_table *section,
			 const struct config_context *ctx)
{
	static const char *const keys[] = { "type", "vectors", "slot", NULL };
	struct testdev *td = calloc(1, sizeof(*td));
	uint64_t slot = 0;
	int rc;

	if (!td)
		return -ENOMEM;
	dev->state = td;
	td->name = dev->name;
	td->vectors = TESTDEV_DEFAULT_VECTORS;
	td->timer_fd = -1;
	if ((rc = config_check_keys(ctx, section, dev->name, keys)) ||
	    (rc = config_get_u64(ctx, section, "vectors", 1, PCI_TESTDEV_MAX_VECTORS,
				 &td->vectors)) ||
	    (rc = config_get_u64(ctx, section, "slot", 1, PCI_HOST_SLOTS - 1, &slot)))
		return rc;
	td->slot = slot ? (int)slot : -1;
	return 0;
}

/* Say exactly what the config lacks: a pci-host, or one declared too late. */
static int testdev_no_host(const struct device *dev, const struct vm *vm)
{
	for (size_t i = 0; i < vm->config->device_count; i++) {
		const struct device *other = vm->config->devices[i];

		if (strcmp(other->model->type, "pci-host") == 0) {
			log_error("pci-testdev '%s': declare the pci-host ('%s') before "
				  "pci-testdev in the config (devices realize in order)",
				  dev->name, other->name);
			return -ENODEV;
		}
	}
	log_error("pci-testdev '%s' needs a PCI host: add [devices.pci] with "
		  "type = \"pci-host\" before it", dev->name);
	return -ENODEV;
}

static int testdev_build_function(struct testdev *td, struct vm *vm)
{
	static const struct pci_identity identity = {
		.vendor_id = PCI_TESTDEV_VENDOR_ID, .device_id = PCI_TESTDEV_DEVICE_ID,
		.class_code = PCI_TESTDEV_CLASS, .revision = 0,
		.subsystem_vendor_id = PCI_TESTDEV_VENDOR_ID,
		.subsystem_id = PCI_TESTDEV_DEVICE_ID,
	};
	int rc;

	if ((rc = pci_function_init(&td->fn, td->name, &identity)) ||
	    (rc = pci_function_add_bar(&td->fn, TESTDEV_REGS_BAR, PCI_BAR_MEM32, false,
				       PCI_TESTDEV_REGS_SIZE, &regs_ops, td)) ||
	    (rc = pci_function_add_bar(&td->fn, PCI_TESTDEV_MSIX_BAR, PCI_BAR_MEM32, false,
				       0x1000, &msix_bar_ops, td)) ||
	    (rc = pci_function_add_bar(&td->fn, TESTDEV_IO_BAR, PCI_BAR_IO, false,
				       PCI_TESTDEV_IO_SIZE, &io_ops, td)))
		return rc;
	return pci_msix_init(&td->fn, vm, NULL, (unsigned)td->vectors, PCI_TESTDEV_MSIX_BAR,
			     PCI_TESTDEV_MSIX_TABLE, PCI_TESTDEV_MSIX_PBA);
}

static int testdev_start_timer(struct testdev *td, struct vm *vm)
{
	td->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (td->timer_fd < 0) {
		int rc = -errno;

		log_error("%s: timerfd_create: %s", td->name, strerror(errno));
		return rc;
	}
	int rc = loop_add_fd(&vm->loop, td->timer_fd, EPOLLIN, testdev_timer_fired, td);

	if (rc)
		log_error("%s: watching the timer: %s", td->name, strerror(-rc));
	td->timer_watched = rc == 0;
	return rc;
}

static int testdev_realize(struct device *dev, struct vm *vm)
{
	struct testdev *td = dev->state;
	int rc;

	if (!vm->pci_host)
		return testdev_no_host(dev, vm);
	if ((rc = testdev_build_function(td, vm)) || (rc = testdev_start_timer(td, vm)))
		return rc;
	/* Last: once plugged in, the host routes guest accesses to us. */
	rc = pci_host_add_function(vm->pci_host, &td->fn, td->slot);
	return rc < 0 ? rc : 0;
}

static void testdev_reset(struct device *dev)
{
	struct testdev *td = dev->state;

	testdev_arm_timer(td, 0);
	atomic_store(&td->timer_period_us, 0);
	atomic_store(&td->raise_tsc, 0);
	atomic_store(&td->echo, 0);
	atomic_store(&td->io_echo, 0);
	atomic_store(&td->write_count, 0);
	atomic_store(&td->timer_vector, 0);
	atomic_store(&td->timer_fired, 0);
	atomic_store(&td->error, 0);
}

/* vCPUs have stopped: the timer must not fire into a stopping VM. */
static void testdev_stop(struct device *dev)
{
	testdev_arm_timer(dev->state, 0);
}

/* Give back the loop watch and the MSI vectors while the VM still exists. */
static void testdev_unrealize(struct device *dev, struct vm *vm)
{
	struct testdev *td = dev->state;

	if (td->timer_watched)
		loop_remove_fd(&vm->loop, td->timer_fd);
	td->timer_watched = false;
	if (td->timer_fd >= 0)
		close(td->timer_fd);
	td->timer_fd = -1;
	pci_msix_release(&td->fn);
}

static void testdev_destroy(struct device *dev)
{
	struct testdev *td = dev->state;

	if (!td)
		return;
	if (td->timer_fd >= 0)
		close(td->timer_fd);
	pci_function_destroy(&td->fn);
	free(td);
	dev->state = NULL;
}

const struct device_model pci_testdev_model = {
	.type = "pci-testdev",
	.summary = "PCI test function (include/pci_testdev.h): registers, MSI-X, timer",
	.parse = testdev_parse,
	.realize = testdev_realize,
	.reset = testdev_reset,
	.stop = testdev_stop,
	.unrealize = testdev_unrealize,
	.destroy = testdev_destroy,
};
