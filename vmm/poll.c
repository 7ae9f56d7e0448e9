/* SPDX-License-Identifier: MIT */
#include "vmm/poll.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static uint64_t monotonic_us(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

void poller_init(struct poller *poller, const char *name, struct poller_tuning tuning)
{
	memset(poller, 0, sizeof(*poller));
	poller->name = name;
	poller->tuning = tuning;
	pthread_mutex_init(&poller->lock, NULL);
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&poller->wake, &attr);
	pthread_condattr_destroy(&attr);
}

int poller_add(struct poller *poller, poll_fn *poll, void *opaque)
{
	if (poller->running || poller->source_count == POLLER_MAX_SOURCES)
		return -ENOSPC;
	poller->sources[poller->source_count].poll = poll;
	poller->sources[poller->source_count].opaque = opaque;
	poller->source_count++;
	return 0;
}

static bool poller_poll_all(struct poller *poller)
{
	bool worked = false;

	for (unsigned i = 0; i < poller->source_count; i++)
		worked |= poller->sources[i].poll(poller->sources[i].opaque);
	return worked;
}

/* Sleep up to `us` unless kicked or stopped. */
static void poller_park(struct poller *poller, uint32_t us)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += (long)us * 1000;
	deadline.tv_sec += deadline.tv_nsec / 1000000000;
	deadline.tv_nsec %= 1000000000;
	pthread_mutex_lock(&poller->lock);
	while (!atomic_load(&poller->kicked) && !atomic_load(&poller->stop)) {
		if (pthread_cond_timedwait(&poller->wake, &poller->lock, &deadline) == ETIMEDOUT)
			break;
	}
	atomic_store(&poller->kicked, false);
	pthread_mutex_unlock(&poller->lock);
	atomic_fetch_add_explicit(&poller->wakeups, 1, memory_order_relaxed);
}

static void *poller_thread(void *opaque)
{
	struct poller *poller = opaque;
	uint64_t last_work = monotonic_us();
	uint32_t park_us = poller->tuning.park_min_us;

	while (!atomic_load_explicit(&poller->stop, memory_order_acquire)) {
		if (poller_poll_all(poller)) {
			last_work = monotonic_us();
			park_us = poller->tuning.park_min_us;
			continue;
		}
		if (monotonic_us() - last_work < poller->tuning.spin_us) {
			__builtin_ia32_pause();
			continue;
		}
		poller_park(poller, park_us);
		park_us = park_us * 2 > poller->tuning.park_max_us ? poller->tuning.park_max_us
								    : park_us * 2;
		if (atomic_exchange(&poller->kicked, false))
			last_work = monotonic_us(); /* a doorbell: expect work, spin again */
	}
	return NULL;
}

int poller_start(struct poller *poller)
{
	atomic_store(&poller->stop, false);
	int rc = pthread_create(&poller->thread, NULL, poller_thread, poller);

	if (rc)
		return -rc;
	poller->running = true;
	return 0;
}

void poller_kick(struct poller *poller)
{
	if (atomic_exchange(&poller->kicked, true))
		return; /* already pending */
	pthread_mutex_lock(&poller->lock);
	pthread_cond_signal(&poller->wake);
	pthread_mutex_unlock(&poller->lock);
}

void poller_stop(struct poller *poller)
{
	if (!poller->running)
		return;
	atomic_store(&poller->stop, true);
	poller_kick(poller);
	/* A kick that was already pending skipped the signal: signal anyway. */
	pthread_mutex_lock(&poller->lock);
	pthread_cond_signal(&poller->wake);
	pthread_mutex_unlock(&poller->lock);
	pthread_join(poller->thread, NULL);
	poller->running = false;
}

void poller_destroy(struct poller *poller)
{
	poller_stop(poller);
	pthread_cond_destroy(&poller->wake);
	pthread_mutex_destroy(&poller->lock);
}
