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
 * Concurrency (Postfix's SCHEDULER_README): each destination has a window,
 * the deliveries it may have at once.  It starts at init_conc (at most
 * dest_limit) and moves with the feedback of each delivery that ends
 * (qmgr_sched_feedback): a success adds the positive feedback to a
 * success count and each whole unit grows the window by one, up to
 * dest_limit; a failure of the destination as a whole subtracts the
 * negative feedback from a failure count and each unit below zero shrinks
 * the window by one, never below 1.  A failure also adds 1/window to the
 * failed pseudo-cohort count (a success resets it); when that count
 * reaches cohort_limit the destination is dead: its queued recipients and
 * those added later are deferred through the defer function, with the
 * reason of the failure, and no delivery starts until dead_delay seconds
 * have passed (or one in progress succeeds); then it is tried again with
 * a window of 1.  A rate_delay keeps the window at 1 and lets a delivery
 * start only rate_delay seconds after the previous one ended.  A whole
 * transport can be throttled too (qmgr_sched_throttle: its agent does not
 * answer): its queued recipients are deferred, and so are new ones until
 * the given delay has passed.
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
#include "../lib/buf.h"

struct qmgr_sched;

/* A concurrency feedback: AMOUNT, or AMOUNT/window when PER_CONC. */
struct qmgr_feedback {
    double amount; /* 0..1 */
    bool per_conc;
};

/* The limits of one transport (0: no limit). */
struct qmgr_limits {
    int proc_limit; /* deliveries at once over all destinations (maxproc) */
    int dest_limit; /* deliveries at once to one destination */
    int rcpt_limit; /* recipients per delivery */
    int init_conc;  /* the first window (0: dest_limit, no feedback) */
    struct qmgr_feedback pos, neg;
    double cohort_limit; /* failed pseudo-cohorts to dead (0: never) */
    double dead_delay;   /* seconds a dead destination waits */
    double rate_delay;   /* seconds between deliveries (0: none) */
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

/* qmgr_sched_clock - the clock of the timers, in seconds (default: the
 * monotonic clock); for tests. */
typedef double (*qmgr_clock_fn)(void *ctx);
void qmgr_sched_clock(struct qmgr_sched *s, qmgr_clock_fn fn, void *ctx);

/* qmgr_sched_on_defer - FN is called for each recipient that a dead
 * destination or throttled transport defers without a delivery, with its
 * TRANSPORT and the STATUS and REASON it was given (borrowed for the
 * call).  It may not call back into the scheduler. */
typedef void (*qmgr_defer_fn)(void *ctx, void *msg, size_t rcpt,
                              const char *transport, const char *status,
                              const char *reason);
void qmgr_sched_on_defer(struct qmgr_sched *s, qmgr_defer_fn fn, void *ctx);

/* qmgr_sched_add - queue recipient RCPT of MSG for TRANSPORT:NEXTHOP;
 * false when the destination is dead or the transport throttled: then
 * the recipient went to the defer function instead. */
bool qmgr_sched_add(struct qmgr_sched *s, const char *transport,
                    const char *nexthop, void *msg, size_t rcpt);
/* qmgr_sched_limits - the limits of TRANSPORT (asked of the limits
 * function once, then kept). */
void qmgr_sched_limits(struct qmgr_sched *s, const char *transport,
                       struct qmgr_limits *out);
/* qmgr_sched_next - the next delivery to start, or NULL when every
 * destination with work is at a limit (or there is no work). */
struct qmgr_job *qmgr_sched_next(struct qmgr_sched *s);
/* qmgr_sched_feedback - the outcome of JOB for its destination, before
 * qmgr_sched_done: DEST_FAIL when the destination as a whole failed
 * (negative feedback; STATUS and REASON are what its recipients are
 * deferred with if it dies), else positive.  A job that ends without
 * feedback changes nothing. */
void qmgr_sched_feedback(struct qmgr_sched *s, struct qmgr_job *job,
                         bool dest_fail, const char *status,
                         const char *reason);
/* qmgr_sched_done - JOB has ended (whatever its outcome); frees it. */
void qmgr_sched_done(struct qmgr_sched *s, struct qmgr_job *job);
/* qmgr_sched_throttle - the agent of TRANSPORT does not answer: defer its
 * queued recipients and the new ones with STATUS and REASON for DELAY
 * seconds. */
void qmgr_sched_throttle(struct qmgr_sched *s, const char *transport,
                         const char *status, const char *reason, double delay);
/* qmgr_sched_window - the window of TRANSPORT:NEXTHOP now: 0 when dead,
 * -1 when there is no such destination. */
int qmgr_sched_window(struct qmgr_sched *s, const char *transport,
                      const char *nexthop);
/* qmgr_sched_due - the clock time when a destination held back by its
 * rate delay may start its next delivery, the earliest still ahead; 0
 * when none waits.  The caller runs qmgr_sched_next again then. */
double qmgr_sched_due(struct qmgr_sched *s);
/* qmgr_feedback_parse - TEXT as "number", "number/number" or
 * "number/concurrency", in 0..1; 0, or -1 with WHY. */
int qmgr_feedback_parse(const char *text, struct qmgr_feedback *out,
                        struct buf *why);
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
