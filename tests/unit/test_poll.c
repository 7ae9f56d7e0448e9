/* SPDX-License-Identifier: MIT */
#include <stdatomic.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "suites.h"
#include "vmm/poll.h"

struct work_source {
	atomic_int pending;
	atomic_int handled;
};

static bool take_work(void *opaque)
{
	struct work_source *source = opaque;

	if (atomic_load(&source->pending) == 0)
		return false;
	atomic_fetch_sub(&source->pending, 1);
	atomic_fetch_add(&source->handled, 1);
	return true;
}

/* Wait up to 2 s for handled to reach want. */
static bool wait_handled(struct work_source *source, int want)
{
	for (int i = 0; i < 2000 && atomic_load(&source->handled) < want; i++)
		usleep(1000);
	return atomic_load(&source->handled) >= want;
}

START_TEST(spinning_poller_takes_work)
{
	struct poller poller;
	struct work_source source = { 0 };

	poller_init(&poller, "test", POLLER_DEFAULT_TUNING);
	ck_assert_int_eq(poller_add(&poller, take_work, &source), 0);
	ck_assert_int_eq(poller_start(&poller), 0);
	atomic_store(&source.pending, 100);
	ck_assert(wait_handled(&source, 100));
	poller_destroy(&poller);
	ck_assert_int_eq(atomic_load(&source.handled), 100);
}
END_TEST

START_TEST(parked_poller_wakes_on_kick)
{
	/* A park far longer than the test: only the kick can wake it. */
	struct poller poller;
	struct work_source source = { 0 };

	poller_init(&poller, "test", (struct poller_tuning){ 0, 10000000, 10000000 });
	ck_assert_int_eq(poller_add(&poller, take_work, &source), 0);
	ck_assert_int_eq(poller_start(&poller), 0);
	usleep(20000); /* let it park */
	atomic_store(&source.pending, 1);
	usleep(20000);
	ck_assert_int_eq(atomic_load(&source.handled), 0);
	poller_kick(&poller);
	ck_assert(wait_handled(&source, 1));
	poller_destroy(&poller); /* must not wait out the 10 s park */
}
END_TEST

START_TEST(parked_poller_rechecks_after_backoff)
{
	struct poller poller;
	struct work_source source = { 0 };

	poller_init(&poller, "test", (struct poller_tuning){ 0, 100, 2000 });
	ck_assert_int_eq(poller_add(&poller, take_work, &source), 0);
	ck_assert_int_eq(poller_start(&poller), 0);
	usleep(20000);
	atomic_store(&source.pending, 1); /* no kick: the timer must find it */
	ck_assert(wait_handled(&source, 1));
	ck_assert_uint_gt(atomic_load(&poller.wakeups), 0);
	poller_destroy(&poller);
}
END_TEST

START_TEST(sources_are_bounded)
{
	struct poller poller;
	struct work_source source = { 0 };

	poller_init(&poller, "test", POLLER_DEFAULT_TUNING);
	for (int i = 0; i < POLLER_MAX_SOURCES; i++)
		ck_assert_int_eq(poller_add(&poller, take_work, &source), 0);
	ck_assert_int_eq(poller_add(&poller, take_work, &source), -ENOSPC);
	poller_destroy(&poller); /* never started: stop is a no-op */
}
END_TEST

Suite *poll_suite(void)
{
	Suite *suite = suite_create("poll");
	TCase *tc = tcase_create("poller");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, spinning_poller_takes_work);
	tcase_add_test(tc, parked_poller_wakes_on_kick);
	tcase_add_test(tc, parked_poller_rechecks_after_backoff);
	tcase_add_test(tc, sources_are_bounded);
	suite_add_tcase(suite, tc);
	return suite;
}
