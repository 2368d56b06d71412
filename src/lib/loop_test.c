/* loop_test - timers, descriptor watches and signals call back. */
#include "lib/loop.h"

#include <signal.h>
#include <unistd.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

struct seen {
    struct loop *l;
    int calls;
    int what;
    int fd;
};

/* record - remember the call and stop the loop */
static void record(int fd, int what, void *arg)
{
    struct seen *s = arg;

    s->calls++;
    s->what = what;
    s->fd = fd;
    loop_stop(s->l);
}

/* test_timer - a one-shot timer fires once */
static void test_timer(void **state)
{
    struct seen s = {.l = loop_new()};
    struct loop_ev *t = loop_timer(s.l, record, &s);

    (void) state;
    assert_false(loop_ev_armed(t));
    loop_ev_arm(t, 10);
    assert_true(loop_ev_armed(t));
    assert_int_equal(loop_run(s.l), 0);
    assert_int_equal(s.calls, 1);
    assert_true(s.what & LOOP_TIMEOUT);
    assert_false(loop_ev_armed(t));
    loop_ev_free(t);
    loop_ev_free(NULL);
    loop_free(s.l);
}

/* test_read - a readable pipe calls back with its descriptor */
static void test_read(void **state)
{
    struct seen s = {.l = loop_new()};
    int p[2];
    struct loop_ev *r;

    (void) state;
    assert_int_equal(pipe(p), 0);
    r = loop_read(s.l, p[0], record, &s);
    loop_ev_arm(r, -1);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(loop_run(s.l), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.fd, p[0]);
    assert_true(s.what & LOOP_READ);
    /* Disarmed, nothing is left to run: loop_run returns at once. */
    loop_ev_disarm(r);
    assert_int_equal(loop_run(s.l), 0);
    assert_int_equal(s.calls, 1);
    loop_ev_free(r);
    close(p[0]);
    close(p[1]);
    loop_free(s.l);
}

/* test_signal - a signal becomes an ordinary callback */
static void test_signal(void **state)
{
    struct seen s = {.l = loop_new()};
    struct loop_ev *e = loop_signal(s.l, SIGUSR1, record, &s);

    (void) state;
    raise(SIGUSR1);
    assert_int_equal(loop_run(s.l), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.fd, SIGUSR1);
    assert_true(s.what & LOOP_SIGNAL);
    loop_ev_free(e);
    loop_free(s.l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer),
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_signal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
