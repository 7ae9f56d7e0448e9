/* SPDX-License-Identifier: MIT */
#include "vmm/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOOP_BATCH 32

/*
 * One watched fd. epoll hands back the pointer, so a removed watch is not
 * freed at once: a batch already returned by epoll_wait() may still hold
 * it. It is marked removed (its callback is skipped) and freed before the
 * next epoll_wait(), when no batch can refer to it any more.
 */
struct loop_watch {
	int fd;
	loop_callback_fn *callback;
	void *opaque;
	_Atomic bool removed;
	struct loop_watch *next; /* registry list */
};

struct loop_state {
	pthread_mutex_t lock;
	struct loop_watch *watches;
	struct loop_watch *graveyard;
};

static struct loop_state *loop_state(const struct event_loop *loop)
{
	return loop->state;
}

int loop_init(struct event_loop *loop)
{
	struct loop_state *state = calloc(1, sizeof(*state));

	*loop = (struct event_loop){ .epoll_fd = -1, .wake_fd = -1, .state = state };
	if (!state)
		return -ENOMEM;
	pthread_mutex_init(&state->lock, NULL);
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epoll_fd < 0 || loop->wake_fd < 0)
		return -errno;
	struct epoll_event event = { .events = EPOLLIN, .data.ptr = NULL };

	/* data.ptr == NULL marks the wake fd. */
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake_fd, &event) < 0)
		return -errno;
	return 0;
}

static void free_list(struct loop_watch *watch)
{
	while (watch) {
		struct loop_watch *next = watch->next;

		free(watch);
		watch = next;
	}
}

void loop_destroy(struct event_loop *loop)
{
	struct loop_state *state = loop_state(loop);

	if (state) {
		free_list(state->watches);
		free_list(state->graveyard);
		pthread_mutex_destroy(&state->lock);
		free(state);
	}
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	*loop = (struct event_loop){ .epoll_fd = -1, .wake_fd = -1 };
}

int loop_add_fd(struct event_loop *loop, int fd, uint32_t events, loop_callback_fn *callback,
		void *opaque)
{
	struct loop_state *state = loop_state(loop);
	struct loop_watch *watch = calloc(1, sizeof(*watch));

	if (!watch)
		return -ENOMEM;
	*watch = (struct loop_watch){ .fd = fd, .callback = callback, .opaque = opaque };
	struct epoll_event event = { .events = events, .data.ptr = watch };

	pthread_mutex_lock(&state->lock);
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
		int rc = -errno;

		pthread_mutex_unlock(&state->lock);
		free(watch);
		return rc;
	}
	watch->next = state->watches;
	state->watches = watch;
	pthread_mutex_unlock(&state->lock);
	return 0;
}

int loop_remove_fd(struct event_loop *loop, int fd)
{
	struct loop_state *state = loop_state(loop);
	int rc = -ENOENT;

	pthread_mutex_lock(&state->lock);
	for (struct loop_watch **link = &state->watches; *link; link = &(*link)->next) {
		struct loop_watch *watch = *link;

		if (watch->fd != fd)
			continue;
		epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		watch->removed = true;
		*link = watch->next;
		watch->next = state->graveyard;
		state->graveyard = watch;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&state->lock);
	return rc;
}

static void loop_bury_removed(struct loop_state *state)
{
	/* Racy peek is fine: a watch removed meanwhile is buried next pass. */
	if (!__atomic_load_n(&state->graveyard, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&state->lock);
	struct loop_watch *dead = state->graveyard;

	state->graveyard = NULL;
	pthread_mutex_unlock(&state->lock);
	free_list(dead);
}

int loop_run(struct event_loop *loop)
{
	struct loop_state *state = loop_state(loop);
	struct epoll_event events[LOOP_BATCH];

	while (!__atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE)) {
		loop_bury_removed(state);
		int count = epoll_wait(loop->epoll_fd, events, LOOP_BATCH, -1);

		if (count < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < count; i++) {
			struct loop_watch *watch = events[i].data.ptr;

			if (watch && !watch->removed)
				watch->callback(watch->opaque, events[i].events);
		}
	}
	return 0;
}

void loop_stop(struct event_loop *loop)
{
	uint64_t one = 1;

	__atomic_store_n(&loop->stopping, true, __ATOMIC_RELEASE);
	/* A full counter (never here) still wakes the loop: ignore the result. */
	if (write(loop->wake_fd, &one, sizeof(one)) < 0)
		return;
}
