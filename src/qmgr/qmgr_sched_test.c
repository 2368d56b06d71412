/* qmgr_sched_test - the scheduling core: concurrency limits per destination
 * and per transport, recipients per delivery, round-robin, back-off and
 * expiry; the concurrency window with its feedback, dead destinations and
 * their revival, the rate delay and a throttled transport, on a fake
 * clock. */
#include "qmgr/qmgr_sched.h"
#include "lib/msg.h"

#include <stdio.h>
#include <string.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* limits - the transports of the tests: "local" (1 recipient, 2 at once
 * per destination), "smtp" (3 recipients, 2 per destination, 3 processes),
 * anything else no limit */
static void limits(void *ctx, const char *transport, struct qmgr_limits *out)
{
    (void) ctx;
    if (strcmp(transport, "local") == 0) {
        *out = (struct qmgr_limits){
            .proc_limit = 0, .dest_limit = 2, .rcpt_limit = 1};
    } else if (strcmp(transport, "smtp") == 0) {
        *out = (struct qmgr_limits){
            .proc_limit = 3, .dest_limit = 2, .rcpt_limit = 3};
    } else if (strcmp(transport, "fb") == 0) {
        /* feedback 1/concurrency both ways, dead after one cohort */
        *out = (struct qmgr_limits){.dest_limit = 4,
                                    .rcpt_limit = 1,
                                    .init_conc = 2,
                                    .pos = {1, true},
                                    .neg = {1, true},
                                    .cohort_limit = 1,
                                    .dead_delay = 300};
    } else if (strcmp(transport, "const") == 0) {
        /* constant feedback 1, never dead */
        *out = (struct qmgr_limits){.dest_limit = 5,
                                    .rcpt_limit = 1,
                                    .init_conc = 5,
                                    .pos = {1, false},
                                    .neg = {1, false},
                                    .cohort_limit = 0,
                                    .dead_delay = 300};
    } else if (strcmp(transport, "fragile") == 0) {
        /* no shrink, dead after half a cohort */
        *out = (struct qmgr_limits){.dest_limit = 3,
                                    .rcpt_limit = 1,
                                    .init_conc = 3,
                                    .pos = {1, true},
                                    .neg = {0, false},
                                    .cohort_limit = 0.5,
                                    .dead_delay = 300};
    } else if (strcmp(transport, "slow") == 0) {
        /* one delivery per 10 seconds */
        *out = (struct qmgr_limits){.dest_limit = 20,
                                    .rcpt_limit = 1,
                                    .init_conc = 5,
                                    .pos = {1, false},
                                    .neg = {1, false},
                                    .cohort_limit = 1,
                                    .dead_delay = 300,
                                    .rate_delay = 10};
    } else {
        *out = (struct qmgr_limits){0};
    }
}

/* The fake clock of the timer tests. */
static double fake_now = 1000;

/* fake_clock - qmgr_clock_fn */
static double fake_clock(void *ctx)
{
    (void) ctx;
    return fake_now;
}

/* What the defer function got. */
static size_t ndeferred;
static char deferred_reason[200];
static char deferred_status[16];

/* on_defer - qmgr_defer_fn: count and keep the last reason */
static void on_defer(void *ctx, void *msg, size_t rcpt, const char *transport,
                     const char *status, const char *reason)
{
    (void) ctx;
    assert_true(strcmp(transport, "fb") == 0
                || strcmp(transport, "fragile") == 0);
    (void) msg;
    (void) rcpt;
    ndeferred++;
    snprintf(deferred_status, sizeof(deferred_status), "%s", status);
    snprintf(deferred_reason, sizeof(deferred_reason), "%s", reason);
}

/* timed - a scheduler on the fake clock with the defer function */
static struct qmgr_sched *timed(void)
{
    struct qmgr_sched *s = qmgr_sched_new(limits, NULL);

    fake_now = 1000;
    ndeferred = 0;
    deferred_reason[0] = deferred_status[0] = 0;
    qmgr_sched_clock(s, fake_clock, NULL);
    qmgr_sched_on_defer(s, on_defer, NULL);
    return s;
}

/* finish - feedback for JOB (ok or a destination failure), then done */
static void finish(struct qmgr_sched *s, struct qmgr_job *job, bool fail)
{
    qmgr_sched_feedback(s, job, fail, "4.4.1",
                        "delivery temporarily suspended: connect to "
                        "mx.example: Connection refused");
    qmgr_sched_done(s, job);
}

/* count_next - start deliveries until none may start; how many */
static size_t count_next(struct qmgr_sched *s, struct qmgr_job **jobs,
                         size_t max)
{
    size_t n = 0;
    struct qmgr_job *j;

    while (n < max && (j = qmgr_sched_next(s)) != NULL)
        jobs[n++] = j;
    return n;
}

static int m1, m2, m3; /* message handles */

/* test_dest_limit - at most dest_limit deliveries to one destination; a
 * completion lets the next one start */
static void test_dest_limit(void **state)
{
    struct qmgr_sched *s = qmgr_sched_new(limits, NULL);
    struct qmgr_job *a, *b;

    (void) state;
    for (size_t i = 0; i < 4; i++)
        qmgr_sched_add(s, "local", "host", &m1, i);
    assert_int_equal(qmgr_sched_pending(s, &m1), 4);
    a = qmgr_sched_next(s);
    b = qmgr_sched_next(s);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(qmgr_sched_next(s)); /* local: 2 per destination */
    assert_int_equal(a->nrcpt, 1);   /* local: 1 recipient per delivery */
    assert_int_equal(a->rcpts[0], 0);
    assert_int_equal(b->rcpts[0], 1);
    assert_string_equal(a->transport, "local");
    assert_string_equal(a->nexthop, "host");
    assert_ptr_equal(a->msg, &m1);
    assert_int_equal(qmgr_sched_active(s, "local"), 2);
    assert_int_equal(qmgr_sched_pending(s, &m1), 2);
    qmgr_sched_done(s, a);
    a = qmgr_sched_next(s);
    assert_non_null(a);
    assert_int_equal(a->rcpts[0], 2);
    assert_null(qmgr_sched_next(s));
    qmgr_sched_done(s, a);
    qmgr_sched_done(s, b);
    a = qmgr_sched_next(s);
    assert_int_equal(a->rcpts[0], 3);
    assert_null(qmgr_sched_next(s));
    qmgr_sched_done(s, a);
    /* an idle, empty destination is forgotten */
    assert_int_equal(qmgr_sched_dests(s), 0);
    assert_int_equal(qmgr_sched_active(s, NULL), 0);
    qmgr_sched_free(s);
}

/* test_rcpt_limit - a delivery takes up to rcpt_limit recipients of one
 * message; other messages' recipients wait for their own delivery */
static void test_rcpt_limit(void **state)
{
    struct qmgr_sched *s = qmgr_sched_new(limits, NULL);
    struct qmgr_job *a, *b;

    (void) state;
    qmgr_sched_add(s, "smtp", "example.com", &m1, 0);
    qmgr_sched_add(s, "smtp", "example.com", &m2, 0);
    for (size_t i = 1; i < 5; i++)
        qmgr_sched_add(s, "smtp", "example.com", &m1, i);
    a = qmgr_sched_next(s);
    assert_ptr_equal(a->msg, &m1);
    assert_int_equal(a->nrcpt, 3);
    assert_int_equal(a->rcpts[0], 0);
    assert_int_equal(a->rcpts[1], 1);
    assert_int_equal(a->rcpts[2], 2);
    b = qmgr_sched_next(s); /* the head is now m2's recipient */
    assert_ptr_equal(b->msg, &m2);
    assert_int_equal(b->nrcpt, 1);
    assert_null(qmgr_sched_next(s)); /* 2 per destination */
    qmgr_sched_done(s, a);
    a = qmgr_sched_next(s);
    assert_ptr_equal(a->msg, &m1);
    assert_int_equal(a->nrcpt, 2);
    assert_int_equal(a->rcpts[0], 3);
    assert_int_equal(a->rcpts[1], 4);
    assert_int_equal(qmgr_sched_pending(s, &m1), 0);
    qmgr_sched_done(s, a);
    qmgr_sched_done(s, b);
    assert_int_equal(qmgr_sched_dests(s), 0);
    qmgr_sched_free(s);
}

/* test_round_robin - destinations take turns: a destination with much
 * mail does not delay one with little */
static void test_round_robin(void **state)
{
    struct qmgr_sched *s = qmgr_sched_new(limits, NULL);
    struct qmgr_job *j[6];
    const char *order[6];

    (void) state;
    for (size_t i = 0; i < 10; i++)
        qmgr_sched_add(s, "other", "big.example", &m1, i);
    qmgr_sched_add(s, "other", "small.example", &m2, 0);
    qmgr_sched_add(s, "other", "third.example", &m3, 0);
    qmgr_sched_add(s, "other", "third.example", &m3, 1);
    for (size_t i = 0; i < 3; i++) {
        j[i] = qmgr_sched_next(s);
        assert_non_null(j[i]);
        order[i] = j[i]->nexthop;
    }
    assert_string_equal(order[0], "big.example");
    assert_string_equal(order[1], "small.example");
    assert_string_equal(order[2], "third.example");
    /* no recipient limit: all of a message's recipients in one delivery */
    assert_int_equal(j[0]->nrcpt, 10);
    assert_int_equal(j[2]->nrcpt, 2);
    assert_null(qmgr_sched_next(s));
    for (size_t i = 0; i < 3; i++)
        qmgr_sched_done(s, j[i]);

    /* Fairness with a limit of one recipient: alternate */
    for (size_t i = 0; i < 3; i++)
        qmgr_sched_add(s, "local", "a", &m1, i);
    qmgr_sched_add(s, "local", "b", &m2, 0);
    j[0] = qmgr_sched_next(s);
    j[1] = qmgr_sched_next(s);
    j[2] = qmgr_sched_next(s);
    assert_string_equal(j[0]->nexthop, "a");
    assert_string_equal(j[1]->nexthop, "b");
    assert_string_equal(j[2]->nexthop, "a");
    assert_null(qmgr_sched_next(s)); /* a: 2 at once */
    for (size_t i = 0; i < 3; i++)
        qmgr_sched_done(s, j[i]);
    j[0] = qmgr_sched_next(s);
    assert_string_equal(j[0]->nexthop, "a");
    assert_int_equal(j[0]->rcpts[0], 2);
    qmgr_sched_done(s, j[0]);
    assert_null(qmgr_sched_next(s));
    qmgr_sched_free(s);
}

/* test_proc_limit - the transport's process limit caps deliveries over
 * all its destinations */
static void test_proc_limit(void **state)
{
    struct qmgr_sched *s = qmgr_sched_new(limits, NULL);
    struct qmgr_job *j[4];

    (void) state;
    qmgr_sched_add(s, "smtp", "a", &m1, 0);
    qmgr_sched_add(s, "smtp", "b", &m1, 1);
    qmgr_sched_add(s, "smtp", "c", &m1, 2);
    qmgr_sched_add(s, "smtp", "d", &m1, 3);
    qmgr_sched_add(s, "local", "x", &m2, 0);
    for (size_t i = 0; i < 3; i++)
        assert_non_null(j[i] = qmgr_sched_next(s));
    /* smtp is full (3), but local is another transport */
    j[3] = qmgr_sched_next(s);
    assert_non_null(j[3]);
    assert_string_equal(j[3]->transport, "local");
    assert_null(qmgr_sched_next(s));
    assert_int_equal(qmgr_sched_active(s, "smtp"), 3);
    qmgr_sched_done(s, j[1]);
    j[1] = qmgr_sched_next(s);
    assert_non_null(j[1]);
    assert_string_equal(j[1]->nexthop, "d");
    for (size_t i = 0; i < 4; i++)
        qmgr_sched_done(s, j[i]);
    assert_int_equal(qmgr_sched_active(s, NULL), 0);
    assert_int_equal(qmgr_sched_dests(s), 0);
    qmgr_sched_free(s);
}

/* test_queue_growth - many recipients over many deliveries keep order */
static void test_queue_growth(void **state)
{
    struct qmgr_sched *s = qmgr_sched_new(limits, NULL);
    size_t want = 0;

    (void) state;
    for (size_t i = 0; i < 100; i++)
        qmgr_sched_add(s, "local", "h", &m1, i);
    for (size_t round = 0; round < 100; round++) {
        struct qmgr_job *j = qmgr_sched_next(s);

        assert_non_null(j);
        assert_int_equal(j->rcpts[0], want++);
        if (round % 7 == 0)
            qmgr_sched_add(s, "local", "h", &m2, round);
        qmgr_sched_done(s, j);
    }
    assert_int_equal(qmgr_sched_pending(s, &m2), 15);
    qmgr_sched_free(s);
}

/* test_backoff - the age, between the minimum and the maximum: doubling
 * intervals */
static void test_backoff(void **state)
{
    time_t t0 = 1796064070;
    time_t t = t0;

    (void) state;
    assert_int_equal(qmgr_backoff(t0, t0, 300, 4000), 300);
    assert_int_equal(qmgr_backoff(t0, t0 + 10, 300, 4000), 300);
    assert_int_equal(qmgr_backoff(t0, t0 + 1000, 300, 4000), 1000);
    assert_int_equal(qmgr_backoff(t0, t0 + 99999, 300, 4000), 4000);
    assert_int_equal(qmgr_backoff(t0, t0 - 50, 300, 4000), 300); /* clock */
    assert_int_equal(qmgr_backoff(t0, t0 + 99999, 300, 100), 300);
    /* the retry schedule: 300, 300, 600, 1200, 2400, 4000, 4000 */
    {
        long want[] = {300, 300, 600, 1200, 2400, 4000, 4000};

        for (size_t i = 0; i < 7; i++) {
            long d = qmgr_backoff(t0, t, 300, 4000);

            assert_int_equal(d, want[i]);
            t += d;
        }
    }
}

/* test_expired - lifetime reached; 0 is one attempt only */
static void test_expired(void **state)
{
    time_t t0 = 1796064070;

    (void) state;
    assert_false(qmgr_expired(t0, t0 + 100, 432000));
    assert_false(qmgr_expired(t0, t0 + 431999, 432000));
    assert_true(qmgr_expired(t0, t0 + 432000, 432000));
    assert_true(qmgr_expired(t0, t0, 0));
}

/* test_window_growth - the window starts at init_conc and grows by one
 * per whole unit of positive feedback (1/window per success: by one per
 * successful pseudo-cohort), up to the destination limit */
static void test_window_growth(void **state)
{
    struct qmgr_sched *s = timed();
    struct qmgr_job *j[8];
    size_t n;
    /* the window after each success, in completion order */
    static const int want[] = {2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4};

    (void) state;
    for (size_t i = 0; i < 40; i++)
        assert_true(qmgr_sched_add(s, "fb", "d", &m1, i));
    assert_int_equal(qmgr_sched_window(s, "fb", "d"), 2);
    n = count_next(s, j, 8);
    assert_int_equal(n, 2); /* the first window */
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        /* the oldest delivery succeeds; the window fills up again */
        finish(s, j[0], false);
        memmove(j, j + 1, (n - 1) * sizeof(j[0]));
        n--;
        if (qmgr_sched_window(s, "fb", "d") != want[k])
            fail_msg("success %zu: got window %d, want %d", k,
                     qmgr_sched_window(s, "fb", "d"), want[k]);
        n += count_next(s, j + n, 8 - n);
        assert_int_equal(n, (size_t) want[k]);
    }
    while (n > 0)
        qmgr_sched_done(s, j[--n]);
    assert_int_equal(ndeferred, 0);
    qmgr_sched_free(s);
}

/* test_window_shrink - negative feedback shrinks the window, one per
 * whole unit (constant 1: one per failure), never below 1; success after
 * failure grows it again */
static void test_window_shrink(void **state)
{
    struct qmgr_sched *s = timed();
    struct qmgr_job *j[8];

    (void) state;
    for (size_t i = 0; i < 40; i++)
        qmgr_sched_add(s, "const", "d", &m1, i);
    assert_int_equal(count_next(s, j, 8), 5);
    for (int k = 0; k < 5; k++) {
        finish(s, j[k], true);
        assert_int_equal(qmgr_sched_window(s, "const", "d"),
                         5 - k - 1 > 0 ? 5 - k - 1 : 1);
    }
    assert_int_equal(qmgr_sched_window(s, "const", "d"), 1);
    assert_int_equal(count_next(s, j, 8), 1);
    finish(s, j[0], true); /* the floor: 1; no cohort limit, alive */
    assert_int_equal(qmgr_sched_window(s, "const", "d"), 1);
    assert_int_equal(count_next(s, j, 8), 1);
    finish(s, j[0], false); /* constant +1 */
    assert_int_equal(qmgr_sched_window(s, "const", "d"), 2);
    assert_int_equal(count_next(s, j, 8), 2);
    qmgr_sched_done(s, j[0]);
    qmgr_sched_done(s, j[1]);
    assert_int_equal(ndeferred, 0);
    qmgr_sched_free(s);
}

/* test_dead_destination - failed pseudo-cohorts reach the limit: the
 * destination is dead, its queue and new recipients are deferred with
 * the reason, nothing starts; after dead_delay it is tried again with a
 * window of 1; another destination is not affected */
static void test_dead_destination(void **state)
{
    struct qmgr_sched *s = timed();
    struct qmgr_job *j[8];

    (void) state;
    for (size_t i = 0; i < 6; i++)
        qmgr_sched_add(s, "fb", "d", &m1, i);
    qmgr_sched_add(s, "fb", "other", &m2, 0);
    assert_int_equal(count_next(s, j, 8), 3); /* 2 to d, 1 to other */
    assert_string_equal(j[0]->nexthop, "d");
    assert_string_equal(j[1]->nexthop, "other");
    assert_string_equal(j[2]->nexthop, "d");
    finish(s, j[1], false);
    finish(s, j[0], true); /* cohorts 1/2; window 2 - 1/2: 1 */
    assert_int_equal(qmgr_sched_window(s, "fb", "d"), 1);
    assert_int_equal(ndeferred, 0);
    assert_null(qmgr_sched_next(s)); /* j[2] still runs: window full */
    finish(s, j[2], true);           /* cohorts 1/2 + 1: dead */
    assert_int_equal(qmgr_sched_window(s, "fb", "d"), 0);
    assert_int_equal(ndeferred, 4); /* the four left in the queue */
    assert_string_equal(deferred_status, "4.4.1");
    assert_string_equal(deferred_reason,
                        "delivery temporarily suspended: connect to "
                        "mx.example: Connection refused");
    assert_int_equal(qmgr_sched_pending(s, &m1), 0);
    assert_null(qmgr_sched_next(s));
    /* new recipients go straight to the defer function */
    assert_false(qmgr_sched_add(s, "fb", "d", &m3, 0));
    assert_int_equal(ndeferred, 5);
    assert_true(qmgr_sched_add(s, "fb", "other", &m3, 1));
    assert_non_null(j[0] = qmgr_sched_next(s));
    assert_string_equal(j[0]->nexthop, "other");
    qmgr_sched_done(s, j[0]);
    /* the dead destination is remembered while idle */
    fake_now += 299;
    assert_null(qmgr_sched_next(s));
    assert_false(qmgr_sched_add(s, "fb", "d", &m3, 2));
    assert_int_equal(qmgr_sched_window(s, "fb", "d"), 0);
    /* minimal_backoff_time later: alive, one at a time (kept for that
     * while idle, even past a queue run) */
    fake_now += 1;
    assert_null(qmgr_sched_next(s));
    assert_int_equal(qmgr_sched_window(s, "fb", "d"), 1);
    assert_true(qmgr_sched_add(s, "fb", "d", &m3, 3));
    assert_true(qmgr_sched_add(s, "fb", "d", &m3, 4));
    assert_int_equal(qmgr_sched_window(s, "fb", "d"), 1);
    assert_int_equal(count_next(s, j, 8), 1);
    finish(s, j[0], false); /* +1/1: 2 */
    assert_int_equal(qmgr_sched_window(s, "fb", "d"), 2);
    assert_int_equal(ndeferred, 6);
    assert_int_equal(count_next(s, j, 8), 1);
    qmgr_sched_done(s, j[0]);
    assert_int_equal(qmgr_sched_dests(s), 0);
    qmgr_sched_free(s);
}

/* test_dead_revived_by_success - a delivery that was under way when its
 * destination died, and that succeeds, brings the destination back with
 * a window of 1 */
static void test_dead_revived_by_success(void **state)
{
    struct qmgr_sched *s = timed();
    struct qmgr_job *j[4];

    (void) state;
    for (size_t i = 0; i < 5; i++)
        qmgr_sched_add(s, "fragile", "d", &m1, i);
    assert_int_equal(count_next(s, j, 4), 3);
    finish(s, j[0], true); /* 1/3; no shrink (feedback 0) */
    assert_int_equal(qmgr_sched_window(s, "fragile", "d"), 3);
    assert_int_equal(ndeferred, 0);
    finish(s, j[1], true); /* 2/3 >= 0.5: dead, j[2] still runs */
    assert_int_equal(qmgr_sched_window(s, "fragile", "d"), 0);
    assert_int_equal(ndeferred, 2);
    assert_false(qmgr_sched_add(s, "fragile", "d", &m1, 5));
    finish(s, j[2], false);
    /* alive; idle and empty, so forgotten: the next mail starts afresh */
    assert_int_equal(qmgr_sched_window(s, "fragile", "d"), -1);
    assert_true(qmgr_sched_add(s, "fragile", "d", &m1, 6));
    assert_int_equal(qmgr_sched_window(s, "fragile", "d"), 3);
    assert_int_equal(count_next(s, j, 4), 1);
    qmgr_sched_done(s, j[0]);
    qmgr_sched_free(s);
}

/* test_rate_delay - a rate delay keeps one delivery at a time and the
 * next start rate_delay after the end of the previous one */
static void test_rate_delay(void **state)
{
    struct qmgr_sched *s = timed();
    struct qmgr_job *j;

    (void) state;
    for (size_t i = 0; i < 3; i++)
        qmgr_sched_add(s, "slow", "d", &m1, i);
    qmgr_sched_add(s, "slow", "e", &m2, 0);
    assert_non_null(j = qmgr_sched_next(s));
    assert_string_equal(j->nexthop, "d");
    {
        struct qmgr_job *e = qmgr_sched_next(s);

        assert_non_null(e); /* another destination is not held up */
        assert_string_equal(e->nexthop, "e");
        qmgr_sched_done(s, e);
    }
    assert_null(qmgr_sched_next(s)); /* d: one at a time */
    assert_true(qmgr_sched_due(s) == 0);
    fake_now += 3;
    finish(s, j, false);
    assert_null(qmgr_sched_next(s)); /* 10 s after the end */
    assert_true(qmgr_sched_due(s) == 1013);
    fake_now += 9.5;
    assert_null(qmgr_sched_next(s));
    assert_true(qmgr_sched_due(s) == 1013);
    fake_now += 0.5;
    assert_true(qmgr_sched_due(s) == 0); /* run out: no timer needed */
    assert_non_null(j = qmgr_sched_next(s));
    assert_int_equal(j->rcpts[0], 1);
    assert_null(qmgr_sched_next(s));
    finish(s, j, false);
    fake_now += 10;
    assert_non_null(j = qmgr_sched_next(s));
    assert_int_equal(j->rcpts[0], 2);
    qmgr_sched_done(s, j);
    assert_true(qmgr_sched_due(s) == 0); /* nothing waits */
    /* the idle destination is kept until its delay has run out */
    assert_int_equal(qmgr_sched_dests(s), 1);
    qmgr_sched_add(s, "slow", "d", &m1, 3);
    assert_null(qmgr_sched_next(s));
    fake_now += 10;
    assert_non_null(j = qmgr_sched_next(s));
    qmgr_sched_done(s, j);
    fake_now += 10;
    assert_null(qmgr_sched_next(s));
    assert_int_equal(qmgr_sched_dests(s), 0);
    qmgr_sched_free(s);
}

/* test_throttle - a throttled transport defers its queue and new
 * recipients until the delay has passed; other transports go on */
static void test_throttle(void **state)
{
    struct qmgr_sched *s = timed();
    struct qmgr_job *j;

    (void) state;
    qmgr_sched_add(s, "fb", "a", &m1, 0);
    qmgr_sched_add(s, "fb", "b", &m1, 1);
    qmgr_sched_add(s, "fb", "b", &m2, 0);
    qmgr_sched_add(s, "const", "a", &m3, 0);
    assert_non_null(j = qmgr_sched_next(s));
    assert_string_equal(j->transport, "fb");
    qmgr_sched_throttle(s, "fb", "4.3.0", "mail transport unavailable", 60);
    qmgr_sched_done(s, j);
    assert_int_equal(ndeferred, 2);
    assert_string_equal(deferred_reason, "mail transport unavailable");
    assert_false(qmgr_sched_add(s, "fb", "c", &m2, 1));
    assert_int_equal(ndeferred, 3);
    assert_non_null(j = qmgr_sched_next(s));
    assert_string_equal(j->transport, "const");
    qmgr_sched_done(s, j);
    assert_null(qmgr_sched_next(s));
    fake_now += 60;
    assert_true(qmgr_sched_add(s, "fb", "c", &m2, 1));
    assert_non_null(j = qmgr_sched_next(s));
    qmgr_sched_done(s, j);
    qmgr_sched_free(s);
}

/* test_feedback_parse - the forms of the feedback parameters */
static void test_feedback_parse(void **state)
{
    static const struct {
        const char *in;
        int ret;
        double amount;
        bool per_conc;
    } cases[] = {
        {"1", 0, 1, false},
        {"0", 0, 0, false},
        {"0.5", 0, 0.5, false},
        {"1/4", 0, 0.25, false},
        {" 1 / 2 ", 0, 0.5, false},
        {"1/concurrency", 0, 1, true},
        {"0.5 / concurrency", 0, 0.5, true},
        {"2", -1, 0, false},
        {"3/2", -1, 0, false},
        {"1/0", -1, 0, false},
        {"-1", -1, 0, false},
        {"x", -1, 0, false},
        {"", -1, 0, false},
        {"1/", -1, 0, false},
        {"1/conc", -1, 0, false},
        {"nan", -1, 0, false},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct qmgr_feedback fb;
        struct buf why = BUF_INIT;
        int ret = qmgr_feedback_parse(cases[i].in, &fb, &why);

        if (ret != cases[i].ret)
            fail_msg("%s: got %d, want %d (%s)", cases[i].in, ret, cases[i].ret,
                     buf_str(&why));
        if (ret == 0) {
            assert_true(fb.amount == cases[i].amount);
            assert_int_equal(fb.per_conc, cases[i].per_conc);
        } else {
            assert_non_null(strstr(buf_str(&why), "bad feedback value"));
        }
        buf_fini(&why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dest_limit),
        cmocka_unit_test(test_rcpt_limit),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_proc_limit),
        cmocka_unit_test(test_queue_growth),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_window_growth),
        cmocka_unit_test(test_window_shrink),
        cmocka_unit_test(test_dead_destination),
        cmocka_unit_test(test_dead_revived_by_success),
        cmocka_unit_test(test_rate_delay),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_feedback_parse),
    };

    msg_output_stderr(false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
