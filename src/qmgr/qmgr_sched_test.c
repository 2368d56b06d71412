/* qmgr_sched_test - the scheduling core: concurrency limits per destination
 * and per transport, recipients per delivery, round-robin, back-off and
 * expiry. */
#include "qmgr/qmgr_sched.h"
#include "lib/msg.h"

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
    } else {
        *out = (struct qmgr_limits){0};
    }
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dest_limit),   cmocka_unit_test(test_rcpt_limit),
        cmocka_unit_test(test_round_robin),  cmocka_unit_test(test_proc_limit),
        cmocka_unit_test(test_queue_growth), cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_expired),
    };

    msg_output_stderr(false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
