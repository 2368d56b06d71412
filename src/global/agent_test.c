/* agent_test - the delay shape of the log, next-hop texts, sanitizing. */
#include "global/agent.h"
#include "lib/mem.h"
#include "lib/ipc.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <string.h>
#include <sys/time.h>
#include <cmocka.h>

static struct buf logged = BUF_INIT;

/* capture - keep what the module logs */
static void capture(enum msg_level level, const char *text)
{
    (void) level;
    buf_cat(&logged, text);
    buf_cat(&logged, "\n");
}

/* test_delay_format - Postfix's delay= values */
static void test_delay_format(void **state)
{
    static const struct {
        double in;
        const char *want;
    } cases[] = {
        {0, "0"},         {0.004, "0"},    {0.006, "0.01"}, {0.03, "0.03"},
        {0.1, "0.1"},     {0.254, "0.25"}, {0.999, "1"},    {1.0, "1"},
        {1.53, "1.5"},    {9.96, "10"},    {10.0, "10"},    {47.9, "48"},
        {3600.4, "3600"}, {-1.0, "0"},
    };
    struct buf out = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_reset(&out);
        agent_delay_format(cases[i].in, &out);
        if (strcmp(buf_str(&out), cases[i].want) != 0)
            fail_msg("%g: got %s, want %s", cases[i].in, buf_str(&out),
                     cases[i].want);
    }
    buf_fini(&out);
}

/* test_nexthop_text - error, retry and discard texts */
static void test_nexthop_text(void **state)
{
    static const struct {
        const char *nexthop;
        const char *dflt;
        const char *status;
        const char *reason;
        const char *log; /* NULL: nothing */
    } cases[] = {
        {"5.1.1 no such person", "5.0.0", "5.1.1", "no such person", NULL},
        {"no code here", "5.0.0", "5.0.0", "no code here", NULL},
        {"", "5.0.0", "5.0.0", "EMPTY", NULL},
        {"4.2.2 quota", "5.0.0", "5.0.0", "quota",
         "ignoring dsn code \"4.2.2\""},
        {"4.4.1   host down", "4.0.0", "4.4.1", "host down", NULL},
        {"2.1.5 thrown away", "2.0.0", "2.1.5", "thrown away", NULL},
        {"disc1.test", "2.0.0", "2.0.0", "disc1.test", NULL},
        {"5.1 not a code", "5.0.0", "5.0.0", "5.1 not a code", NULL},
        {"5.1.1234 too long", "5.0.0", "5.0.0", "5.1.1234 too long", NULL},
    };
    struct agent_result res;

    (void) state;
    buf_init(&res.reason, 0);
    msg_output_add(capture);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_reset(&logged);
        agent_nexthop_text(cases[i].nexthop, cases[i].dflt, "EMPTY", &res);
        if (strcmp(res.status, cases[i].status) != 0
            || strcmp(buf_str(&res.reason), cases[i].reason) != 0)
            fail_msg("%s: got %s %s, want %s %s", cases[i].nexthop, res.status,
                     buf_str(&res.reason), cases[i].status, cases[i].reason);
        if (cases[i].log ? strstr(buf_str(&logged), cases[i].log) == NULL
                         : buf_len(&logged) != 0)
            fail_msg("%s: logged \"%s\", want \"%s\"", cases[i].nexthop,
                     buf_str(&logged), cases[i].log ? cases[i].log : "");
    }
    msg_output_remove(capture);
    buf_fini(&res.reason);
}

/* test_sanitize - control bytes and length */
static void test_sanitize(void **state)
{
    struct buf out = BUF_INIT;
    char big[1200];

    (void) state;
    agent_sanitize("a\nb\tc\x7f\xc3\xa9", &out);
    assert_string_equal(buf_str(&out), "a?b?c???");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    buf_reset(&out);
    agent_sanitize(big, &out);
    assert_int_equal(buf_len(&out), 1003);
    assert_string_equal(buf_str(&out) + 1000, "...");
    buf_fini(&out);
}

/* decode_one - the deliver_status frame in OUT */
static void decode_one(const struct buf *out, struct ipc_deliver_status *st)
{
    struct ipc_frame f;
    struct buf why = BUF_INIT;
    size_t used;

    assert_int_equal(
        ipc_parse(span_make(buf_str(out), buf_len(out)), &used, &f, &why),
        IPC_PARSE_FRAME);
    assert_int_equal(used, buf_len(out));
    assert_int_equal(f.request_id, 42);
    if (ipc_deliver_status_decode(&f, st, &why) < 0)
        fail_msg("decode: %s", buf_str(&why));
    buf_fini(&why);
}

/* test_status_frame - the log line with delays c/d and the frame with
 * remote_mta, diag_code, done and dest_fail */
static void test_status_frame(void **state)
{
    struct agent_msg m;
    struct ipc_rcpt rcpt = {.address = "u@example.test",
                            .orig_rcpt = "o@example.test",
                            .offset = 77};
    struct agent_result res;
    struct ipc_deliver_status st;
    struct timeval now, conn_done;
    struct buf out = BUF_INIT;
    struct agent_status_extra x = {
        .remote_mta = "dns; mx.example.test",
        .diag_code = "smtp; 550 5.1.1 no",
        .conn_done = &conn_done,
        .last = false,
        .dest_fail = true,
    };

    (void) state;
    memset(&m, 0, sizeof(m));
    gettimeofday(&now, NULL);
    m.req.queue_id = "ABC123";
    m.req.arrival_time = (uint64_t) now.tv_sec - 3;
    m.req.arrival_usec = (int32_t) now.tv_usec;
    m.req.active_usec =
        (uint64_t) (now.tv_sec - 2) * 1000000 + (uint64_t) now.tv_usec;
    m.t_recv = now;
    m.t_recv.tv_sec -= 1;
    conn_done = now;
    m.request_id = 42;
    buf_init(&res.reason, 0);
    res.quiet = false;
    agent_result_set(&res, "5.1.1", "host mx said: 550 5.1.1 no");
    buf_reset(&logged);
    msg_output_add(capture);
    assert_int_equal(
        agent_status_frame(&m, "mx[127.0.0.2]:25", &rcpt, &res, &x, &out), 0);
    msg_output_remove(capture);
    /* a = 1 (arrival to active), b = 1 (active to request), c = 1 (to the
     * end of the connection setup), d = 0. */
    /* Pieces, so that a slow run (d above 0.005 s) does not fail it. */
    if (strstr(buf_str(&logged), "ABC123: to=<u@example.test>, "
                                 "orig_to=<o@example.test>, "
                                 "relay=mx[127.0.0.2]:25, delay=3")
            == NULL
        || strstr(buf_str(&logged), ", delays=1/1/1/") == NULL
        || strstr(buf_str(&logged), ", dsn=5.1.1, status=bounced (host mx "
                                    "said: 550 5.1.1 no)\n")
               == NULL)
        fail_msg("got %s", buf_str(&logged));
    decode_one(&out, &st);
    assert_string_equal(st.status, "5.1.1");
    assert_string_equal(st.action, "failed");
    assert_string_equal(st.remote_mta, "dns; mx.example.test");
    assert_string_equal(st.diag_code, "smtp; 550 5.1.1 no");
    assert_string_equal(st.relay, "mx[127.0.0.2]:25");
    assert_int_equal(st.offset, 77);
    /* dest_fail travels on the last frame only. */
    assert_int_equal(st.done, 0);
    assert_int_equal(st.dest_fail, 0);
    ipc_deliver_status_fini(&st);
    buf_reset(&out);
    x.last = true;
    res.quiet = true;
    buf_reset(&logged);
    msg_output_add(capture);
    assert_int_equal(agent_status_frame(&m, "none", &rcpt, &res, &x, &out), 0);
    msg_output_remove(capture);
    assert_string_equal(buf_str(&logged), ""); /* quiet: not logged */
    decode_one(&out, &st);
    assert_int_equal(st.done, 1);
    assert_int_equal(st.dest_fail, 1);
    ipc_deliver_status_fini(&st);
    buf_fini(&out);
    buf_fini(&res.reason);
}

/* main - run the agent tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delay_format),
        cmocka_unit_test(test_nexthop_text),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_status_frame),
    };

    msg_output_stderr(false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
