/*
 * qmgr_sched - the scheduling core of the queue manager, without I/O: the
 * per-destination queues (one per transport:nexthop), their concurrency
 * limits, the per-transport process limit, recipients per delivery, the
 * fair round-robin between destinations, and the time arithmetic of
 * retries (back-off) and expiry.  The daemon (qmgr.c) feeds it recipients
 * and delivery completions and asks it for the next delivery to start;
 * the unit tests feed it the same events.
 *
 * Round-robin: destinations are kept in a ring in order of creation; each
 * qmgr_sched_next() starts looking after the destination that was served
 * last, so one busy destination never starves the others.  A delivery
 * takes up to the recipient limit of recipients of ONE message from the
 * head of a destination's queue (a delivery request is for one message).
 *
 * Ownership: struct qmgr_sched owns its destinations and transports; a job
 * returned by qmgr_sched_next is owned by the caller until it gives it
 * back with qmgr_sched_done (which frees it).  MSG pointers are opaque and
 * borrowed: the caller keeps a message alive while any of its recipients
 * is queued or in a job (qmgr_sched_pending counts them).
 */
#ifndef ULAK_QMGR_SCHED_H
#define ULAK_QMGR_SCHED_H

#include <stddef.h>
#include <time.h>

#include "../lib/sys_defs.h"

struct qmgr_sched;

/* The limits of one transport (0: no limit). */
struct qmgr_limits {
    int proc_limit; /* deliveries at once over all destinations (maxproc) */
    int dest_limit; /* deliveries at once to one destination */
    int rcpt_limit; /* recipients per delivery */
};

/* One delivery: recipients of one message for one destination. */
struct qmgr_job {
    const char *transport; /* borrowed from the scheduler, valid until done */
    const char *nexthop;   /* the same */
    void *msg;             /* the caller's message */
    size_t *rcpts;         /* the caller's recipient numbers; owned */
    size_t nrcpt;
    void *dest; /* internal */
};

/* qmgr_sched_new - an empty scheduler; LIMITS_FN gives the limits of a
 * transport when it is first seen (CTX is passed back). */
typedef void (*qmgr_limits_fn)(void *ctx, const char *transport,
                               struct qmgr_limits *out);
struct qmgr_sched *qmgr_sched_new(qmgr_limits_fn limits_fn, void *ctx);
void qmgr_sched_free(struct qmgr_sched *s);

/* qmgr_sched_add - queue recipient RCPT of MSG for TRANSPORT:NEXTHOP. */
void qmgr_sched_add(struct qmgr_sched *s, const char *transport,
                    const char *nexthop, void *msg, size_t rcpt);
/* qmgr_sched_limits - the limits of TRANSPORT (asked of the limits
 * function once, then kept). */
void qmgr_sched_limits(struct qmgr_sched *s, const char *transport,
                       struct qmgr_limits *out);
/* qmgr_sched_next - the next delivery to start, or NULL when every
 * destination with work is at a limit (or there is no work). */
struct qmgr_job *qmgr_sched_next(struct qmgr_sched *s);
/* qmgr_sched_done - JOB has ended (whatever its outcome); frees it. */
void qmgr_sched_done(struct qmgr_sched *s, struct qmgr_job *job);
/* qmgr_sched_pending - recipients of MSG queued, not yet in a job. */
size_t qmgr_sched_pending(const struct qmgr_sched *s, const void *msg);
/* qmgr_sched_active - deliveries in progress (all, or for TRANSPORT). */
int qmgr_sched_active(const struct qmgr_sched *s, const char *transport);
/* qmgr_sched_dests - destinations that exist (have work or jobs). */
size_t qmgr_sched_dests(const struct qmgr_sched *s);

/*
 * qmgr_backoff - seconds until the next attempt for a message that
 * arrived at ARRIVAL and was deferred at NOW: its age, at least MIN and
 * at most MAX (minimal_backoff_time, maximal_backoff_time).  Since each
 * retry comes one back-off later, the intervals double from MIN until
 * they reach MAX, as in Postfix.
 */
long qmgr_backoff(time_t arrival, time_t now, long min, long max);
/*
 * qmgr_expired - a message that arrived at ARRIVAL has been queued for
 * LIFETIME seconds or longer at NOW (maximal_queue_lifetime, or
 * bounce_queue_lifetime for a null sender): its deferred recipients
 * bounce.  A LIFETIME of 0 means one attempt only, as in Postfix.
 */
bool qmgr_expired(time_t arrival, time_t now, long lifetime);

#endif
