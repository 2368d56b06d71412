/*
 * qmgr_sched - per-destination queues, limits and round-robin (see the
 * header).
 */
#include "qmgr_sched.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    int active;            /* jobs in progress over all destinations */
    double dead_until;     /* throttled until then (0: not) */
    char *status, *reason; /* owned: why, while throttled */
};

/* One transport:nexthop queue; a member of the ring. */
struct dest {
    char *key;     /* owned: "transport:nexthop" */
    char *nexthop; /* owned */
    struct transport *tp;
    struct entry *q; /* owned FIFO: q[head .. len) */
    size_t head, len, cap;
    int active;
    int window;               /* deliveries at once (0: dead) */
    double success, failure;  /* the feedback sums */
    double fail_cohorts;      /* failed pseudo-cohorts in a row */
    double dead_until;        /* when dead: the time to try again */
    double next_start;        /* rate delay: no start before */
    double keep_until;        /* revived: kept while idle until */
    char *status, *reason;    /* owned: why dead */
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
    qmgr_clock_fn clock_fn;
    void *clock_ctx;
    qmgr_defer_fn defer_fn;
    void *defer_ctx;
};

/* mono_clock - the default clock: seconds of CLOCK_MONOTONIC */
static double mono_clock(void *ctx)
{
    struct timespec ts;

    (void) ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* now - the scheduler's clock */
static double now(const struct qmgr_sched *s)
{
    return s->clock_fn(s->clock_ctx);
}

/* qmgr_sched_new - an empty scheduler */
struct qmgr_sched *qmgr_sched_new(qmgr_limits_fn limits_fn, void *ctx)
{
    struct qmgr_sched *s = mem_zalloc(sizeof(*s));

    s->dests = htable_new(64);
    s->transports = htable_new(16);
    s->limits_fn = limits_fn;
    s->ctx = ctx;
    s->clock_fn = mono_clock;
    return s;
}

/* qmgr_sched_clock - set the clock */
void qmgr_sched_clock(struct qmgr_sched *s, qmgr_clock_fn fn, void *ctx)
{
    s->clock_fn = fn ? fn : mono_clock;
    s->clock_ctx = ctx;
}

/* qmgr_sched_on_defer - set the defer function */
void qmgr_sched_on_defer(struct qmgr_sched *s, qmgr_defer_fn fn, void *ctx)
{
    s->defer_fn = fn;
    s->defer_ctx = ctx;
}

/* set_why - replace the owned STATUS and REASON strings */
static void set_why(char **status, char **reason, const char *st,
                    const char *why)
{
    mem_free(*status);
    mem_free(*reason);
    *status = st ? mem_strdup(st) : NULL;
    *reason = why ? mem_strdup(why) : NULL;
}

/* defer_one - hand one recipient to the defer function */
static void defer_one(struct qmgr_sched *s, const struct transport *t,
                      void *msg, size_t rcpt, const char *status,
                      const char *reason)
{
    if (s->defer_fn)
        s->defer_fn(s->defer_ctx, msg, rcpt, t->name, status ? status : "4.3.0",
                    reason ? reason : "delivery temporarily suspended");
}

/* dest_free - free one destination (not unlinked) */
static void dest_free(void *p)
{
    struct dest *d = p;

    mem_free(d->key);
    mem_free(d->nexthop);
    mem_free(d->q);
    mem_free(d->status);
    mem_free(d->reason);
    mem_free(d);
}

/* transport_free - free one transport */
static void transport_free(void *p)
{
    struct transport *t = p;

    mem_free(t->name);
    mem_free(t->status);
    mem_free(t->reason);
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

/* first_window - the window of a new (or revived) destination */
static int first_window(const struct qmgr_limits *lim)
{
    int w = lim->init_conc;

    if (w <= 0)
        return lim->dest_limit; /* no feedback: the limit (0: none) */
    if (lim->dest_limit > 0 && w > lim->dest_limit)
        w = lim->dest_limit;
    return w;
}

/* revive - a dead destination whose time has come (or that delivered)
 * is tried again, one delivery at a time, as after a fresh start */
static void revive(struct qmgr_sched *s, struct dest *d)
{
    /* An idle destination is kept with this window for one more
     * dead_delay, or the next mail would find it forgotten and start at
     * init_conc. */
    d->keep_until = now(s) + d->tp->limits.dead_delay;
    d->window = d->tp->limits.init_conc > 0 ? 1 : first_window(&d->tp->limits);
    d->success = d->failure = d->fail_cohorts = 0;
    d->dead_until = 0;
    set_why(&d->status, &d->reason, NULL, NULL);
}

/* is_dead - D is dead now (revived when its time has come) */
static bool is_dead(struct qmgr_sched *s, struct dest *d)
{
    if (d->dead_until == 0)
        return false;
    if (now(s) < d->dead_until)
        return true;
    revive(s, d);
    return false;
}

/* tp_throttled - T is throttled now */
static bool tp_throttled(struct qmgr_sched *s, struct transport *t)
{
    if (t->dead_until == 0)
        return false;
    if (now(s) < t->dead_until)
        return true;
    t->dead_until = 0;
    set_why(&t->status, &t->reason, NULL, NULL);
    return false;
}

/* qmgr_sched_add - queue one recipient */
bool qmgr_sched_add(struct qmgr_sched *s, const char *transport,
                    const char *nexthop, void *msg, size_t rcpt)
{
    struct buf key = BUF_INIT;
    struct transport *t = transport_get(s, transport);
    struct dest *d;

    if (tp_throttled(s, t)) {
        defer_one(s, t, msg, rcpt, t->status, t->reason);
        return false;
    }
    buf_setf(&key, "%s:%s", transport, nexthop);
    if ((d = htable_find(s->dests, buf_str(&key))) != NULL && is_dead(s, d)) {
        buf_fini(&key);
        defer_one(s, d->tp, msg, rcpt, d->status, d->reason);
        return false;
    }
    if (d == NULL) {
        d = mem_zalloc(sizeof(*d));
        d->key = buf_steal(&key);
        d->nexthop = mem_strdup(nexthop);
        d->tp = t;
        d->window = first_window(&t->limits);
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
    return true;
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

/* dest_limit - the deliveries D may have at once now (0: no limit) */
static int dest_limit(const struct dest *d)
{
    if (d->tp->limits.rate_delay > 0)
        return 1;
    if (d->tp->limits.init_conc <= 0)
        return d->tp->limits.dest_limit;
    return d->window > 0 ? d->window : 1;
}

/* sweep - forget idle, empty destinations whose timers have run out (a
 * dead one remembers that it is dead, a rate-delayed one when it may
 * start again) */
static void sweep(struct qmgr_sched *s)
{
    struct dest *d = s->ring;
    size_t n = s->ndests;
    double t = now(s);

    for (size_t i = 0; d && i < n; i++) {
        struct dest *next = d->next;

        if (d->active == 0 && d->head == d->len && !is_dead(s, d)
            && d->next_start <= t && d->keep_until <= t)
            dest_remove(s, d);
        d = next;
    }
}

/* qmgr_sched_next - the next delivery, round-robin over destinations */
struct qmgr_job *qmgr_sched_next(struct qmgr_sched *s)
{
    struct dest *d;
    struct qmgr_job *job;
    size_t max;
    double t = now(s);

    sweep(s);
    d = s->ring;
    for (size_t i = 0; d && i < s->ndests; i++, d = d->next) {
        if (d->head == d->len || is_dead(s, d) || d->next_start > t
            || !under(d->active, dest_limit(d))
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
    if (d->tp->limits.rate_delay > 0)
        d->next_start = now(s) + d->tp->limits.rate_delay;
    d->keep_until = 0; /* a delivery after revival: on its own now */
    if (d->active == 0 && d->head == d->len && d->dead_until == 0
        && d->next_start <= now(s))
        dest_remove(s, d);
    mem_free(job->rcpts);
    mem_free(job);
}

/* feedback - the amount of FB at window W */
static double feedback(const struct qmgr_feedback *fb, int w)
{
    return fb->per_conc ? fb->amount / (w > 0 ? w : 1) : fb->amount;
}

/* defer_queue - every queued recipient of D goes to the defer function
 * with STATUS and REASON; D is emptied first, so that the function sees
 * the scheduler as it will stay */
static void defer_queue(struct qmgr_sched *s, struct dest *d,
                        const char *status, const char *reason)
{
    struct entry *q = d->q;
    size_t head = d->head, len = d->len;

    d->q = NULL;
    d->head = d->len = d->cap = 0;
    for (size_t k = head; k < len; k++)
        if (q[k].msg != NULL)
            defer_one(s, d->tp, q[k].msg, q[k].rcpt, status, reason);
    mem_free(q);
}

/* qmgr_sched_feedback - concurrency feedback for JOB's destination */
void qmgr_sched_feedback(struct qmgr_sched *s, struct qmgr_job *job,
                         bool dest_fail, const char *status, const char *reason)
{
    struct dest *d = job->dest;
    const struct qmgr_limits *lim = &d->tp->limits;

    if (lim->init_conc <= 0)
        return; /* a fixed window */
    if (!dest_fail) {
        d->fail_cohorts = 0;
        if (d->dead_until != 0) {
            /* A delivery that was under way when the destination died
             * got through: it lives again. */
            revive(s, d);
            d->keep_until = 0; /* it works: nothing to remember */
            return;
        }
        /* Positive feedback only while the window is in use, or its
         * growth would outrun what the destination has shown it takes. */
        if (d->window >= d->active + first_window(lim))
            return;
        d->success += feedback(&lim->pos, d->window);
        while (d->success >= 1) {
            d->window++;
            d->failure = 0;
            d->success -= 1;
        }
        if (lim->dest_limit > 0 && d->window > lim->dest_limit)
            d->window = lim->dest_limit;
        return;
    }
    if (d->dead_until != 0)
        return; /* dead already */
    d->fail_cohorts += 1.0 / (d->window > 0 ? d->window : 1);
    if (lim->cohort_limit > 0 && d->fail_cohorts >= lim->cohort_limit) {
        d->window = 0;
        d->dead_until = now(s) + (lim->dead_delay > 0 ? lim->dead_delay : 1);
        set_why(&d->status, &d->reason, status, reason);
        defer_queue(s, d, d->status, d->reason);
        return;
    }
    d->failure -= feedback(&lim->neg, d->window);
    while (d->failure < 0) {
        d->window--;
        d->failure += 1;
        d->success = 0;
    }
    if (d->window < 1)
        d->window = 1;
}

/* qmgr_sched_throttle - the transport's agent does not answer */
void qmgr_sched_throttle(struct qmgr_sched *s, const char *transport,
                         const char *status, const char *reason, double delay)
{
    struct transport *t = transport_get(s, transport);
    struct dest *d = s->ring;
    size_t n = s->ndests;

    t->dead_until = now(s) + (delay > 0 ? delay : 1);
    set_why(&t->status, &t->reason, status, reason);
    for (size_t i = 0; d && i < n; i++, d = d->next)
        if (d->tp == t)
            defer_queue(s, d, t->status, t->reason);
}

/* qmgr_sched_window - the window of a destination */
int qmgr_sched_window(struct qmgr_sched *s, const char *transport,
                      const char *nexthop)
{
    struct buf key = BUF_INIT;
    struct dest *d;

    buf_setf(&key, "%s:%s", transport, nexthop);
    d = htable_find(s->dests, buf_str(&key));
    buf_fini(&key);
    if (d == NULL)
        return -1;
    if (is_dead(s, d))
        return 0;
    return d->window;
}

/* qmgr_sched_due - the earliest rate-delay start time still ahead of a
 * destination with work */
double qmgr_sched_due(struct qmgr_sched *s)
{
    const struct dest *d = s->ring;
    double due = 0;
    double t = now(s);

    /* Only times still ahead: a destination whose delay has run out but
     * that waits for another limit needs no timer (and must not get one
     * that fires at once, again and again). */
    for (size_t i = 0; d && i < s->ndests; i++, d = d->next)
        if (d->head < d->len && d->next_start > t
            && (due == 0 || d->next_start < due))
            due = d->next_start;
    return due;
}

/* parse_number - TEXT (a span) as a number >= 0; false when it is not */
static bool parse_number(const char *p, size_t len, double *out)
{
    char tmp[32];
    char *end;

    while (len > 0 && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(tmp)
        || (!(*p >= '0' && *p <= '9') && *p != '.'))
        return false;
    memcpy(tmp, p, len);
    tmp[len] = 0;
    *out = strtod(tmp, &end);
    return *end == 0 && isfinite(*out) && *out >= 0;
}

/* qmgr_feedback_parse - a feedback setting */
int qmgr_feedback_parse(const char *text, struct qmgr_feedback *out,
                        struct buf *why)
{
    const char *slash = strchr(text, '/');
    double num, den = 1;

    out->per_conc = false;
    if (!parse_number(text, slash ? (size_t) (slash - text) : strlen(text),
                      &num))
        goto bad;
    if (slash != NULL) {
        const char *p = slash + 1;
        size_t len = strlen(p);

        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 11 && strncasecmp(p, "concurrency", 11) == 0)
            out->per_conc = true;
        else if (!parse_number(p, len, &den) || den == 0)
            goto bad;
    }
    out->amount = num / den;
    if (out->amount > 1)
        goto bad;
    return 0;
bad:
    buf_setf(why,
             "bad feedback value \"%s\": want a number in 0..1, "
             "number/number or number/concurrency",
             text);
    return -1;
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
