/* SPDX-License-Identifier: MIT */
/*
 * Hot-path pollers: a thread that watches guest-RAM submission areas (MC
 * command portal, DSA WQ portal, virtqueue avail ring) so a guest submits
 * work with a plain store and no VM exit.
 *
 * The thread spins while work keeps arriving and parks when idle: after
 * `spin_us` without work it sleeps with exponential backoff from
 * `park_min_us` up to `park_max_us`, re-checking the sources after each
 * sleep. poller_kick() (e.g. from an ioeventfd doorbell callback, or a trapped
 * register write) ends a sleep at once. So an idle device costs a wake-up
 * every park_max_us, a busy one costs no exits at all, and the worst-case
 * latency of the first submission after idling is park_max_us unless the
 * guest rings a doorbell. docs/PERFORMANCE.md measures the trade.
 *
 * Poll callbacks run on the poller thread; they must not block.
 */
#ifndef VMM_POLL_H
#define VMM_POLL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Returns true when it found (and handled) work. */
typedef bool poll_fn(void *opaque);

#define POLLER_MAX_SOURCES 16

struct poller_tuning {
	uint32_t spin_us;     /* keep spinning this long after the last work */
	uint32_t park_min_us; /* first sleep once idle */
	uint32_t park_max_us; /* longest sleep */
};

#define POLLER_DEFAULT_TUNING ((struct poller_tuning){ 200, 50, 1000 })

struct poller {
	const char *name;
	struct poller_tuning tuning;
	struct {
		poll_fn *poll;
		void *opaque;
	} sources[POLLER_MAX_SOURCES];
	unsigned source_count;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	pthread_mutex_t lock;   /* only for parking, never taken by poll() paths */
	pthread_cond_t wake;
	atomic_bool kicked;
	atomic_uint_fast64_t wakeups;  /* parks that ended: for tests/benchmarks */
};

void poller_init(struct poller *poller, const char *name, struct poller_tuning tuning);
/* Add before poller_start(). Returns 0 or -ENOSPC. */
int poller_add(struct poller *poller, poll_fn *poll, void *opaque);
int poller_start(struct poller *poller);
/* Wake a parked poller now; cheap when it is spinning. Any thread. */
void poller_kick(struct poller *poller);
/* Stop and join the thread; idempotent. */
void poller_stop(struct poller *poller);
void poller_destroy(struct poller *poller);

#endif
