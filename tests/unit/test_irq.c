/* SPDX-License-Identifier: MIT */
/*
 * Route allocation and teardown against a real KVM VM (split irqchip, no
 * vCPUs needed), and the event loop. /dev/kvm is required: these machines and
 * CI have it, and faking KVM would test nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kvm_fixture.h"
#include "suites.h"
#include "vmm/irq.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

static struct vm vm;

static void setup(void)
{
	kvm_fixture_open(&vm, 0);
}

static void teardown(void)
{
	kvm_fixture_close(&vm);
}

START_TEST(msi_gets_a_gsi_and_no_route_until_programmed)
{
	struct irq_msi a, b;

	ck_assert_int_eq(irq_msi_init(&vm, &a), 0);
	ck_assert_int_eq(irq_msi_init(&vm, &b), 0);
	ck_assert_uint_ge(a.gsi, IRQ_FIRST_MSI_GSI);
	ck_assert_uint_ne(a.gsi, b.gsi);
	ck_assert(!a.routed);
	ck_assert_uint_eq(vm.irq.table->nr, 0);
	/* Unrouted triggers are dropped and counted, never queued. */
	irq_msi_trigger(&a);
	ck_assert_uint_eq(a.dropped, 1);
	ck_assert_uint_eq(a.raised, 0);
	irq_msi_destroy(&a);
	irq_msi_destroy(&b);
}
END_TEST

START_TEST(programming_installs_and_replaces_routes)
{
	struct irq_msi msi;

	ck_assert_int_eq(irq_msi_init(&vm, &msi), 0);
	ck_assert_int_eq(irq_msi_program(&msi, 0xfee00000, 0x41), 0);
	ck_assert(msi.routed);
	ck_assert_uint_eq(vm.irq.table->nr, 1);
	ck_assert_uint_eq(vm.irq.table->entries[0].gsi, msi.gsi);
	ck_assert_uint_eq(vm.irq.table->entries[0].u.msi.data, 0x41);
	irq_msi_trigger(&msi);
	ck_assert_uint_eq(msi.raised, 1);

	/* Reprogramming replaces the entry rather than adding one. */
	ck_assert_int_eq(irq_msi_program(&msi, 0xfee01000, 0x42), 0);
	ck_assert_uint_eq(vm.irq.table->nr, 1);
	ck_assert_uint_eq(vm.irq.table->entries[0].u.msi.address_lo, 0xfee01000);

	/* 0xfee00000 above 4 GiB is a memory write, not an interrupt. */
	ck_assert(!irq_msi_address_valid(0x1fee00000ull));
	ck_assert(!irq_msi_address_valid(0xfffffffffee00000ull));
	ck_assert(irq_msi_address_valid(0xfeeff00cull));

	/* A non-interrupt address removes the route: later triggers drop. */
	ck_assert_int_eq(irq_msi_program(&msi, 0x12345000, 0x42), 0);
	ck_assert(!msi.routed);
	ck_assert_uint_eq(vm.irq.table->nr, 0);
	irq_msi_trigger(&msi);
	ck_assert_uint_eq(msi.dropped, 1);
	irq_msi_destroy(&msi);
	irq_msi_destroy(&msi); /* idempotent */
}
END_TEST

START_TEST(teardown_frees_gsis_for_reuse)
{
	struct irq_msi msis[8];

	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(irq_msi_init(&vm, &msis[i]), 0);
		ck_assert_int_eq(irq_msi_program(&msis[i], 0xfee00000, 0x30u + (unsigned)i), 0);
	}
	ck_assert_uint_eq(vm.irq.table->nr, 8);
	unsigned freed = msis[3].gsi;

	irq_msi_destroy(&msis[3]);
	ck_assert_uint_eq(vm.irq.table->nr, 7);
	for (uint32_t i = 0; i < vm.irq.table->nr; i++)
		ck_assert_uint_ne(vm.irq.table->entries[i].gsi, freed);
	ck_assert_int_eq(irq_msi_init(&vm, &msis[3]), 0);
	ck_assert_uint_eq(msis[3].gsi, freed);
	for (int i = 0; i < 8; i++)
		irq_msi_destroy(&msis[i]);
	ck_assert_uint_eq(vm.irq.table->nr, 0);
}
END_TEST

START_TEST(gsis_run_out_cleanly)
{
	static struct irq_msi msis[IRQ_MAX_ROUTES];
	unsigned count = 0;
	struct rlimit files;

	/* One eventfd per MSI: make sure the fd limit is not what runs out. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &files), 0);
	if (files.rlim_cur < 2 * IRQ_MAX_ROUTES && files.rlim_max >= 2 * IRQ_MAX_ROUTES) {
		files.rlim_cur = 2 * IRQ_MAX_ROUTES;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &files), 0);
	}

	while (count < IRQ_MAX_ROUTES && irq_msi_init(&vm, &msis[count]) == 0)
		count++;
	ck_assert_uint_eq(count, IRQ_MAX_ROUTES - IRQ_FIRST_MSI_GSI);
	ck_assert_int_eq(msis[count].eventfd, -1);
	for (unsigned i = 0; i < count; i++)
		irq_msi_destroy(&msis[i]);
}
END_TEST

START_TEST(ioeventfd_add_remove)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	struct irq_ioeventfd doorbell = {
		.address = 0xd0000000, .length = 4, .has_datamatch = true, .datamatch = 1, .fd = fd,
	};

	ck_assert_int_eq(irq_ioeventfd_add(&vm, &doorbell), 0);
	ck_assert_int_eq(irq_ioeventfd_add(&vm, &doorbell), -EEXIST);
	ck_assert_int_eq(irq_ioeventfd_remove(&vm, &doorbell), 0);
	ck_assert_int_eq(irq_ioeventfd_remove(&vm, &doorbell), -ENOENT);
	close(fd);
}
END_TEST

START_TEST(ram_slots_add_and_remove)
{
	void *page = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(page, MAP_FAILED);
	int slot = vm_add_ram_slot(&vm, 0xf0000000, 0x2000, page);

	ck_assert_int_gt(slot, 0);
	ck_assert_int_eq(vm_add_ram_slot(&vm, 0xf0001000, 0x1000, page), -EEXIST);
	ck_assert_int_eq(vm_add_ram_slot(&vm, 0xf0100800, 0x1000, page), -EINVAL);
	ck_assert_int_eq(vm_add_ram_slot(&vm, 0xf0100000, 0, page), -EINVAL);
	ck_assert_int_eq(vm_remove_ram_slot(&vm, slot), 0);
	ck_assert_int_eq(vm_remove_ram_slot(&vm, slot), -EINVAL);
	ck_assert_int_eq(vm_add_ram_slot(&vm, 0xf0001000, 0x1000, page), slot);
	munmap(page, 0x2000);
}
END_TEST

struct loop_probe {
	struct event_loop *loop;
	int fd;
	int calls;
};

static void probe_callback(void *opaque, uint32_t events)
{
	struct loop_probe *probe = opaque;
	uint64_t value;

	ck_assert(events & EPOLLIN);
	ck_assert_int_eq(read(probe->fd, &value, sizeof(value)), sizeof(value));
	probe->calls++;
	loop_stop(probe->loop);
}

static void *loop_thread(void *opaque)
{
	return (void *)(intptr_t)loop_run(opaque);
}

START_TEST(loop_dispatches_and_stops)
{
	struct event_loop loop;
	struct loop_probe probe = { .loop = &loop, .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	uint64_t one = 1;
	pthread_t thread;
	void *result;

	ck_assert_int_eq(loop_init(&loop), 0);
	ck_assert_int_eq(loop_add_fd(&loop, probe.fd, EPOLLIN, probe_callback, &probe), 0);
	ck_assert_int_eq(loop_add_fd(&loop, probe.fd, EPOLLIN, probe_callback, &probe), -EEXIST);
	ck_assert_int_eq(pthread_create(&thread, NULL, loop_thread, &loop), 0);
	ck_assert_int_eq(write(probe.fd, &one, sizeof(one)), sizeof(one));
	pthread_join(thread, &result);
	ck_assert_ptr_null(result);
	ck_assert_int_eq(probe.calls, 1);
	ck_assert_int_eq(loop_remove_fd(&loop, probe.fd), 0);
	ck_assert_int_eq(loop_remove_fd(&loop, probe.fd), -ENOENT);
	loop_destroy(&loop);
	close(probe.fd);
}
END_TEST

Suite *irq_suite(void)
{
	Suite *suite = suite_create("irq");
	TCase *routes = tcase_create("routes");
	TCase *loop = tcase_create("loop");

	tcase_add_checked_fixture(routes, setup, teardown);
	tcase_add_test(routes, msi_gets_a_gsi_and_no_route_until_programmed);
	tcase_add_test(routes, programming_installs_and_replaces_routes);
	tcase_add_test(routes, teardown_frees_gsis_for_reuse);
	tcase_add_test(routes, gsis_run_out_cleanly);
	tcase_add_test(routes, ioeventfd_add_remove);
	tcase_add_test(routes, ram_slots_add_and_remove);
	tcase_add_test(loop, loop_dispatches_and_stops);
	suite_add_tcase(suite, routes);
	suite_add_tcase(suite, loop);
	return suite;
}
