#include "loop.h"

#include <event2/event.h>

#include "mem.h"
#include "msg.h"

struct loop {
    struct event_base *base;
};

struct loop_ev {
    struct event *ev;
    loop_fn fn;
    void *arg;
};

/* loop_new - an event base without the environment's say */
struct loop *loop_new(void)
{
    struct event_config *cfg = event_config_new();
    struct loop *l = mem_zalloc(sizeof(*l));

    /* EVENT_NO* variables must not change how a mail daemon polls. */
    if (cfg)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_IGNORE_ENV);
    l->base = cfg ? event_base_new_with_config(cfg) : NULL;
    if (cfg)
        event_config_free(cfg);
    if (l->base == NULL)
        msg_fatal("cannot create an event loop (libevent)");
    return l;
}

/* loop_free - the base; events must be gone */
void loop_free(struct loop *l)
{
    if (l == NULL)
        return;
    event_base_free(l->base);
    mem_free(l);
}

/* loop_run - dispatch */
int loop_run(struct loop *l)
{
    return event_base_dispatch(l->base) < 0 ? -1 : 0;
}

/* loop_stop - leave loop_run */
void loop_stop(struct loop *l)
{
    event_base_loopbreak(l->base);
}

/* loop_base - for bufferevents */
struct event_base *loop_base(struct loop *l)
{
    return l->base;
}

/* trampoline - libevent's callback shape to ours */
static void trampoline(evutil_socket_t fd, short what, void *arg)
{
    struct loop_ev *e = arg;
    int w = 0;

    if (what & EV_READ)
        w |= LOOP_READ;
    if (what & EV_WRITE)
        w |= LOOP_WRITE;
    if (what & EV_TIMEOUT)
        w |= LOOP_TIMEOUT;
    if (what & EV_SIGNAL)
        w |= LOOP_SIGNAL;
    e->fn((int) fd, w, e->arg);
}

/* make - one event of any kind */
static struct loop_ev *make(struct loop *l, int fd, short what, loop_fn fn,
                            void *arg)
{
    struct loop_ev *e = mem_zalloc(sizeof(*e));

    e->fn = fn;
    e->arg = arg;
    if ((e->ev = event_new(l->base, fd, what, trampoline, e)) == NULL)
        msg_fatal("cannot create an event (libevent)");
    return e;
}

/* loop_read - a persistent read watch */
struct loop_ev *loop_read(struct loop *l, int fd, loop_fn fn, void *arg)
{
    return make(l, fd, EV_READ | EV_PERSIST, fn, arg);
}

/* loop_write - a persistent write watch */
struct loop_ev *loop_write(struct loop *l, int fd, loop_fn fn, void *arg)
{
    return make(l, fd, EV_WRITE | EV_PERSIST, fn, arg);
}

/* loop_signal - a persistent signal event, armed */
struct loop_ev *loop_signal(struct loop *l, int sig, loop_fn fn, void *arg)
{
    struct loop_ev *e = make(l, sig, EV_SIGNAL | EV_PERSIST, fn, arg);

    loop_ev_arm(e, -1);
    return e;
}

/* loop_timer - a one-shot timer */
struct loop_ev *loop_timer(struct loop *l, loop_fn fn, void *arg)
{
    return make(l, -1, 0, fn, arg);
}

/* loop_ev_arm - event_add with an optional timeout */
void loop_ev_arm(struct loop_ev *ev, long ms)
{
    struct timeval tv;

    if (ms >= 0) {
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
    }
    if (event_add(ev->ev, ms >= 0 ? &tv : NULL) < 0)
        msg_fatal("cannot add an event (libevent)");
}

/* loop_ev_disarm - event_del */
void loop_ev_disarm(struct loop_ev *ev)
{
    if (ev)
        event_del(ev->ev);
}

/* loop_ev_armed - pending for anything */
bool loop_ev_armed(const struct loop_ev *ev)
{
    return ev
           && event_pending(ev->ev, EV_READ | EV_WRITE | EV_TIMEOUT | EV_SIGNAL,
                            NULL);
}

/* loop_ev_free - delete and free */
void loop_ev_free(struct loop_ev *ev)
{
    if (ev == NULL)
        return;
    event_free(ev->ev);
    mem_free(ev);
}
