/* SPDX-License-Identifier: MIT */
/*
 * The VM's event loop: one epoll set serviced by the main thread while the
 * vCPUs run. Device models hand it file descriptors (eventfds, timerfds, aio
 * completion fds) with a callback; the loop also owns the VM's stop eventfd
 * and the SIGINT/SIGTERM signalfd.
 *
 * Callbacks run on the event thread, never on a vCPU thread, so a device's
 * slow work (timers, I/O completion) does not delay exits. epoll_ctl is
 * thread-safe: fds may be added or removed from any thread. Once
 * loop_remove_fd() returns, the fd's callback is not *started* again; a
 * callback already running on the event thread may still finish, so state
 * it uses must outlive it (free device state after the loop has stopped, or
 * remove the fd from the event thread itself).
 */
#ifndef VMM_LOOP_H
#define VMM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void loop_callback_fn(void *opaque, uint32_t events);

struct loop_state;

struct event_loop {
	int epoll_fd;
	int wake_fd;      /* eventfd: loop_stop() writes it */
	bool stopping;
	struct loop_state *state; /* watch registry (loop.c) */
};

int loop_init(struct event_loop *loop);
void loop_destroy(struct event_loop *loop);

/* Watch fd for events (EPOLLIN...). Returns 0 or -errno (-EEXIST if watched). */
int loop_add_fd(struct event_loop *loop, int fd, uint32_t events, loop_callback_fn *callback,
		void *opaque);
int loop_remove_fd(struct event_loop *loop, int fd);

/* Dispatch until loop_stop(); returns 0 or -errno on an epoll failure. */
int loop_run(struct event_loop *loop);
/* Callable from any thread (async-signal-safe: one write()). */
void loop_stop(struct event_loop *loop);

#endif
