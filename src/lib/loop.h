/*
 * loop - the libevent glue: one event loop per process, and events that
 * call back with (fd, what, arg).
 *
 * A struct loop_ev is one libevent event: a descriptor watch (read or
 * write, persistent until loop_ev_free), a signal (persistent; libevent
 * turns it into a normal callback, outside the signal handler) or a timer
 * (one-shot, armed again with loop_ev_arm).  A callback may free its own
 * event and any other: libevent does not touch a freed event again.
 *
 * Ownership: loop_new's loop and every loop_ev are owned by the caller;
 * free the events before the loop.  loop_ev_free(NULL) is a no-op.
 */
#ifndef ULAK_LOOP_H
#define ULAK_LOOP_H

#include "sys_defs.h"

struct loop;
struct loop_ev;
struct event_base;

/* What a callback was called for (a bit set). */
#define LOOP_READ    0x01
#define LOOP_WRITE   0x02
#define LOOP_TIMEOUT 0x04
#define LOOP_SIGNAL  0x08

typedef void (*loop_fn)(int fd, int what, void *arg);

/* loop_new - a new loop (fatal when libevent cannot make one). */
struct loop *loop_new(void);
void loop_free(struct loop *l);
/* loop_run - dispatch until loop_stop or no events are left; 0 or -1. */
int loop_run(struct loop *l);
/* loop_stop - make loop_run return after the current callback. */
void loop_stop(struct loop *l);
/* loop_base - the libevent base, for bufferevents (borrowed). */
struct event_base *loop_base(struct loop *l);

/* loop_read / loop_write - watch FD until freed (not yet armed: call
 * loop_ev_arm(ev, -1) to start watching, loop_ev_disarm to pause). */
struct loop_ev *loop_read(struct loop *l, int fd, loop_fn fn, void *arg);
struct loop_ev *loop_write(struct loop *l, int fd, loop_fn fn, void *arg);
/* loop_signal - call FN (fd = the signal number) for each delivery of SIG;
 * armed at once. */
struct loop_ev *loop_signal(struct loop *l, int sig, loop_fn fn, void *arg);
/* loop_timer - a one-shot timer, not armed. */
struct loop_ev *loop_timer(struct loop *l, loop_fn fn, void *arg);
/* loop_ev_arm - start watching; MS >= 0 adds (or for a timer, is) a
 * timeout in milliseconds, MS < 0 none. */
void loop_ev_arm(struct loop_ev *ev, long ms);
void loop_ev_disarm(struct loop_ev *ev);
bool loop_ev_armed(const struct loop_ev *ev);
void loop_ev_free(struct loop_ev *ev);

#endif
