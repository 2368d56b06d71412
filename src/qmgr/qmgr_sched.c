/*
 * qmgr_sched - per-destination queues, limits and round-robin (see the
 * header).
 */
#include "qmgr_sched.h"

#include <string.h>

#include "../lib/buf.h"
#include "../lib/htable.h"
#include "../lib/mem.h"
#include "../lib/msg.h"

/* One queued recipient. */
struct entry {
    void *msg;
    size_t rcpt;
};

struct transport {
    char *name; /* owned */
    struct qmgr_limits limits;
    int active; /* jobs in progress over all destinations */
};

/* One transport:nexthop queue; a member of the ring. */
struct dest {
    char *key;     /* owned: "transport:nexthop" */
    char *nexthop; /* owned */
    struct transport *tp;
    struct entry *q; /* owned FIFO: q[head .. len) */
    size_t head, len, cap;
    int active;
    struct dest *prev, *next; /* the ring */
};

struct qmgr_sched {
    struct htable *dests;      /* key -> struct dest */
    struct htable *transports; /* name -> struct transport */
    struct dest *ring;         /* the next destination to look at first */
    size_t ndests;
    int active;
    qmgr_limits_fn limits_fn;
    void *ctx;
};

/* qmgr_sched_new - an empty scheduler */
struct qmgr_sched *qmgr_sched_new(qmgr_limits_fn limits_fn, void *ctx)
{
    struct qmgr_sched *s = mem_zalloc(sizeof(*s));

    s->dests = htable_new(64);
    s->transports = htable_new(16);
    s->limits_fn = limits_fn;
    s->ctx = ctx;
    return s;
}

/* dest_free - free one destination (not unlinked) */
static void dest_free(void *p)
{
    struct dest *d = p;

    mem_free(d->key);
    mem_free(d->nexthop);
    mem_free(d->q);
    mem_free(d);
}

/* transport_free - free one transport */
static void transport_free(void *p)
{
    struct transport *t = p;

    mem_free(t->name);
    mem_free(t);
}

/* qmgr_sched_free - free S and everything it owns */
void qmgr_sched_free(struct qmgr_sched *s)
{
    if (s == NULL)
        return;
    htable_free(s->dests, dest_free);
    htable_free(s->transports, transport_free);
    mem_free(s);
}

/* transport_get - the transport NAME, created with its limits */
static struct transport *transport_get(struct qmgr_sched *s, const char *name)
{
    struct transport *t = htable_find(s->transports, name);

    if (t == NULL) {
        t = mem_zalloc(sizeof(*t));
        t->name = mem_strdup(name);
        if (s->limits_fn)
            s->limits_fn(s->ctx, name, &t->limits);
        htable_enter(s->transports, name, t);
    }
    return t;
}

/* dest_remove - take D out of the ring and free it */
static void dest_remove(struct qmgr_sched *s, struct dest *d)
{
    if (d->next == d) {
        s->ring = NULL;
    } else {
        d->prev->next = d->next;
        d->next->prev = d->prev;
        if (s->ring == d)
            s->ring = d->next;
    }
    s->ndests--;
    htable_delete(s->dests, d->key, dest_free);
}

/* qmgr_sched_add - queue one recipient */
void qmgr_sched_add(struct qmgr_sched *s, const char *transport,
                    const char *nexthop, void *msg, size_t rcpt)
{
    struct buf key = BUF_INIT;
    struct dest *d;

    buf_setf(&key, "%s:%s", transport, nexthop);
    if ((d = htable_find(s->dests, buf_str(&key))) == NULL) {
        d = mem_zalloc(sizeof(*d));
        d->key = buf_steal(&key);
        d->nexthop = mem_strdup(nexthop);
        d->tp = transport_get(s, transport);
        htable_enter(s->dests, d->key, d);
        /* New destinations join the ring just before the next one to be
         * served, that is, at the end of the current round. */
        if (s->ring == NULL) {
            d->next = d->prev = d;
            s->ring = d;
        } else {
            d->next = s->ring;
            d->prev = s->ring->prev;
            d->prev->next = d;
            s->ring->prev = d;
        }
        s->ndests++;
    }
    buf_fini(&key);
    if (d->head > 0 && d->head == d->len) {
        d->head = d->len = 0;
    } else if (d->len == d->cap) {
        if (d->head > d->cap / 2) {
            memmove(d->q, d->q + d->head, (d->len - d->head) * sizeof(*d->q));
            d->len -= d->head;
            d->head = 0;
        } else {
            d->cap = d->cap ? 2 * d->cap : 8;
            d->q = mem_realloc(d->q, d->cap * sizeof(*d->q));
        }
    }
    d->q[d->len].msg = msg;
    d->q[d->len].rcpt = rcpt;
    d->len++;
}

/* qmgr_sched_limits - the limits of a transport */
void qmgr_sched_limits(struct qmgr_sched *s, const char *transport,
                       struct qmgr_limits *out)
{
    *out = transport_get(s, transport)->limits;
}

/* under - COUNT is below LIMIT (0: none) */
static bool under(int count, int limit)
{
    return limit <= 0 || count < limit;
}

/* qmgr_sched_next - the next delivery, round-robin over destinations */
struct qmgr_job *qmgr_sched_next(struct qmgr_sched *s)
{
    struct dest *d = s->ring;
    struct qmgr_job *job;
    size_t max;

    for (size_t i = 0; d && i < s->ndests; i++, d = d->next) {
        if (d->head == d->len || !under(d->active, d->tp->limits.dest_limit)
            || !under(d->tp->active, d->tp->limits.proc_limit))
            continue;
        job = mem_zalloc(sizeof(*job));
        job->transport = d->tp->name;
        job->nexthop = d->nexthop;
        job->msg = d->q[d->head].msg;
        job->dest = d;
        max = d->tp->limits.rcpt_limit > 0 ? (size_t) d->tp->limits.rcpt_limit
                                           : SIZE_MAX;
        /* Recipients of the head message, in queue order; entries of other
         * messages stay where they are. */
        job->rcpts = mem_calloc(1, sizeof(size_t));
        for (size_t k = d->head, cap = 1; k < d->len && job->nrcpt < max; k++) {
            if (d->q[k].msg != job->msg)
                continue;
            if (job->nrcpt == cap) {
                cap *= 2;
                job->rcpts = mem_realloc(job->rcpts, cap * sizeof(size_t));
            }
            job->rcpts[job->nrcpt++] = d->q[k].rcpt;
            d->q[k].msg = NULL; /* taken */
        }
        while (d->head < d->len && d->q[d->head].msg == NULL)
            d->head++;
        /* close the holes left among other messages' entries */
        {
            size_t w = d->head;

            for (size_t k = d->head; k < d->len; k++)
                if (d->q[k].msg != NULL)
                    d->q[w++] = d->q[k];
            d->len = w;
        }
        d->active++;
        d->tp->active++;
        s->active++;
        s->ring = d->next;
        return job;
    }
    return NULL;
}

/* qmgr_sched_done - a delivery has ended */
void qmgr_sched_done(struct qmgr_sched *s, struct qmgr_job *job)
{
    struct dest *d = job->dest;

    if (d->active <= 0 || d->tp->active <= 0 || s->active <= 0)
        msg_panic("qmgr_sched_done: %s: no delivery in progress", d->key);
    d->active--;
    d->tp->active--;
    s->active--;
    if (d->active == 0 && d->head == d->len)
        dest_remove(s, d);
    mem_free(job->rcpts);
    mem_free(job);
}

/* qmgr_sched_pending - queued recipients of MSG */
size_t qmgr_sched_pending(const struct qmgr_sched *s, const void *msg)
{
    const struct dest *d = s->ring;
    size_t n = 0;

    for (size_t i = 0; d && i < s->ndests; i++, d = d->next)
        for (size_t k = d->head; k < d->len; k++)
            if (d->q[k].msg == msg)
                n++;
    return n;
}

/* qmgr_sched_active - deliveries in progress */
int qmgr_sched_active(const struct qmgr_sched *s, const char *transport)
{
    const struct transport *t;

    if (transport == NULL)
        return s->active;
    t = htable_find(s->transports, transport);
    return t ? t->active : 0;
}

/* qmgr_sched_dests - destinations in the ring */
size_t qmgr_sched_dests(const struct qmgr_sched *s)
{
    return s->ndests;
}

/* qmgr_backoff - the delay before the next attempt */
long qmgr_backoff(time_t arrival, time_t now, long min, long max)
{
    long age = now > arrival ? (long) (now - arrival) : 0;

    if (max < min)
        max = min;
    if (age < min)
        return min;
    if (age > max)
        return max;
    return age;
}

/* qmgr_expired - queued for LIFETIME or longer */
bool qmgr_expired(time_t arrival, time_t now, long lifetime)
{
    return lifetime <= 0 || now - arrival >= (time_t) lifetime;
}
