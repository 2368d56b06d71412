/* dsn_test - status codes, actions and the DSN parameters. */
#include "global/dsn.h"
#include "global/ipc_msgs.h"
#include "lib/mem.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* test_status - RFC 3463 shapes, each reject path with its text */
static void test_status(void **state)
{
    static const struct {
        const char *in;
        const char *want; /* NULL: valid */
    } cases[] = {
        {"2.0.0", NULL},
        {"5.1.1", NULL},
        {"4.7.123", NULL},
        {"5.123.999", NULL},
        {"", "empty status code"},
        {"3.0.0", "status code \"3.0.0\": class must be 2, 4 or 5"},
        {"5", "status code \"5\": want class.subject.detail"},
        {"5.1", "status code \"5.1\": want class.subject.detail"},
        {"5..1", "status code \"5..1\": subject must be 1 to 3 digits "
                 "without a leading zero"},
        {"5.01.1", "status code \"5.01.1\": subject must be 1 to 3 digits "
                   "without a leading zero"},
        {"5.1.1234", "status code \"5.1.1234\": detail must be 1 to 3 digits "
                     "without a leading zero"},
        {"5.1.x", "status code \"5.1.x\": detail must be 1 to 3 digits "
                  "without a leading zero"},
        {"5.1.1 ", "status code \"5.1.1 \": text after the detail"},
        {"5.1.1.1", "status code \"5.1.1.1\": text after the detail"},
    };
    struct buf why = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        int r;

        buf_reset(&why);
        r = dsn_status_check(span_of(cases[i].in), &why);
        if (cases[i].want == NULL
                ? r != 0
                : r != -1 || strcmp(buf_str(&why), cases[i].want) != 0)
            fail_msg("\"%s\": got %d \"%s\", want \"%s\"", cases[i].in, r,
                     buf_str(&why), cases[i].want ? cases[i].want : "valid");
    }
    buf_fini(&why);
}

/* test_init_log - a result, its action and the log line tail */
static void test_init_log(void **state)
{
    struct dsn d;
    struct buf why = BUF_INIT;
    struct buf out = BUF_INIT;
    enum dsn_action a;

    (void) state;
    assert_int_equal(
        dsn_init(&d, "5.1.1", DSN_ACTION_FAILED, "unknown user: \"x\"", &why),
        0);
    dsn_log(&d, &out);
    assert_string_equal(buf_str(&out),
                        "dsn=5.1.1, status=bounced (unknown user: \"x\")");
    buf_reset(&out);
    assert_int_equal(dsn_init(&d, "4.4.1", DSN_ACTION_DELAYED, "refused", &why),
                     0);
    dsn_log(&d, &out);
    assert_string_equal(buf_str(&out), "dsn=4.4.1, status=deferred (refused)");
    buf_reset(&out);
    assert_int_equal(dsn_init(&d, "2.0.0", DSN_ACTION_RELAYED, "250 ok", &why),
                     0);
    dsn_log(&d, &out);
    assert_string_equal(buf_str(&out), "dsn=2.0.0, status=sent (250 ok)");
    assert_int_equal(dsn_init(&d, "2.0.0", DSN_ACTION_FAILED, "x", &why), -1);
    assert_string_equal(buf_str(&why),
                        "status code 2.0.0 does not match action failed");
    assert_int_equal(dsn_init(&d, "5.0", DSN_ACTION_FAILED, "x", &why), -1);
    assert_int_equal(dsn_action_parse("expanded", &a, &why), 0);
    assert_int_equal(a, DSN_ACTION_EXPANDED);
    assert_int_equal(dsn_action_parse("Failed", &a, &why), -1);
    assert_string_equal(buf_str(&why), "unknown DSN action");
    assert_string_equal(dsn_action_name(DSN_ACTION_DELIVERED), "delivered");
    /* Address verification: undeliverable takes 4 or 5. */
    assert_int_equal(dsn_init(&d, "4.3.2", DSN_ACTION_UNDELIVERABLE, "x", &why),
                     0);
    assert_string_equal(dsn_status_word(d.action), "undeliverable");
    assert_int_equal(dsn_init(&d, "5.1.1", DSN_ACTION_UNDELIVERABLE, "x", &why),
                     0);
    assert_int_equal(dsn_init(&d, "2.0.0", DSN_ACTION_UNDELIVERABLE, "x", &why),
                     -1);
    assert_string_equal(buf_str(&why),
                        "status code 2.0.0 does not match action "
                        "undeliverable");
    assert_int_equal(dsn_init(&d, "5.0.0", DSN_ACTION_DELIVERABLE, "x", &why),
                     -1);
    assert_int_equal(dsn_action_parse("deliverable", &a, &why), 0);
    assert_int_equal(a, DSN_ACTION_DELIVERABLE);
    buf_fini(&why);
    buf_fini(&out);
}

/* test_status_msg - to and from a deliver_status message */
static void test_status_msg(void **state)
{
    struct ipc_deliver_status s = {.offset = 7};
    struct ipc_deliver_status got;
    struct ipc_frame f;
    struct dsn d;
    struct dsn back;
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    size_t used;

    (void) state;
    assert_int_equal(dsn_init(&d, "4.4.1", DSN_ACTION_DELAYED,
                              "connect to x: refused", &why),
                     0);
    d.remote_mta = "dns; x.test";
    dsn_to_status(&d, &s);
    assert_int_equal(ipc_deliver_status_encode(&s, 1, &out, &why), 0);
    assert_int_equal(ipc_parse(span_make(out.data, out.len), &used, &f, &why),
                     IPC_PARSE_FRAME);
    assert_int_equal(ipc_deliver_status_decode(&f, &got, &why), 0);
    assert_int_equal(dsn_from_status(&got, &back, &why), 0);
    assert_string_equal(back.status, "4.4.1");
    assert_int_equal(back.action, DSN_ACTION_DELAYED);
    assert_string_equal(back.reason, "connect to x: refused");
    assert_string_equal(back.remote_mta, "dns; x.test");
    assert_null(back.diag_code);
    /* A peer's bad status or action is refused. */
    mem_free(got.action);
    got.action = mem_strdup("bounced");
    assert_int_equal(dsn_from_status(&got, &back, &why), -1);
    assert_string_equal(buf_str(&why), "unknown DSN action");
    mem_free(got.status);
    got.status = mem_strdup("4.4");
    mem_free(got.action);
    got.action = mem_strdup("delayed");
    assert_int_equal(dsn_from_status(&got, &back, &why), -1);
    assert_string_equal(buf_str(&why),
                        "status code \"4.4\": want class.subject.detail");
    ipc_deliver_status_fini(&got);
    buf_fini(&out);
    buf_fini(&why);
}

/* test_notify_ret - NOTIFY and RET values */
static void test_notify_ret(void **state)
{
    struct buf why = BUF_INIT;
    struct buf out = BUF_INIT;
    int n = -1;
    enum dsn_ret r;

    (void) state;
    assert_int_equal(dsn_notify_parse(span_of("never"), &n, &why), 0);
    assert_int_equal(n, DSN_NOTIFY_NEVER);
    assert_int_equal(
        dsn_notify_parse(span_of("FAILURE,success,Delay"), &n, &why), 0);
    assert_int_equal(n, DSN_NOTIFY_ANY);
    dsn_notify_format(n, &out);
    assert_string_equal(buf_str(&out), "SUCCESS,DELAY,FAILURE");
    buf_reset(&out);
    dsn_notify_format(DSN_NOTIFY_NEVER, &out);
    assert_string_equal(buf_str(&out), "NEVER");
    n = 77;
    assert_int_equal(dsn_notify_parse(span_of("NEVER,FAILURE"), &n, &why), -1);
    assert_string_equal(buf_str(&why),
                        "NOTIFY=NEVER combined with other keywords");
    assert_int_equal(n, 77);
    assert_int_equal(dsn_notify_parse(span_of("FAILURE,"), &n, &why), -1);
    assert_string_equal(buf_str(&why), "empty item in NOTIFY value");
    assert_int_equal(dsn_notify_parse(span_of(",FAILURE"), &n, &why), -1);
    assert_string_equal(buf_str(&why), "empty item in NOTIFY value");
    assert_int_equal(dsn_notify_parse(span_of(""), &n, &why), -1);
    assert_string_equal(buf_str(&why), "empty NOTIFY value");
    assert_int_equal(dsn_notify_parse(span_of("SUCCESS,FAILED"), &n, &why), -1);
    assert_string_equal(buf_str(&why), "unknown NOTIFY keyword \"FAILED\"");
    /* A span is read only to its end. */
    assert_int_equal(dsn_notify_parse(span_make("DELAYX", 5), &n, &why), 0);
    assert_int_equal(n, DSN_NOTIFY_DELAY);

    assert_int_equal(dsn_ret_parse(span_of("hdrs"), &r, &why), 0);
    assert_int_equal(r, DSN_RET_HDRS);
    assert_int_equal(dsn_ret_parse(span_of("FULL"), &r, &why), 0);
    assert_int_equal(r, DSN_RET_FULL);
    assert_int_equal(dsn_ret_parse(span_of("HEADERS"), &r, &why), -1);
    assert_string_equal(buf_str(&why), "RET must be FULL or HDRS");
    assert_string_equal(dsn_ret_name(DSN_RET_HDRS), "HDRS");
    assert_null(dsn_ret_name(DSN_RET_NONE));
    buf_fini(&why);
    buf_fini(&out);
}

/* test_xtext_orcpt - xtext both ways, ORCPT values */
static void test_xtext_orcpt(void **state)
{
    static const struct {
        const char *in;
        const char *want;
    } bad[] = {
        {"a+2", "xtext: \"+\" without two hex digits"},
        {"a+", "xtext: \"+\" without two hex digits"},
        {"a+2b", "xtext: \"+\" without two upper-case hex digits"},
        {"a+G0", "xtext: \"+\" without two upper-case hex digits"},
        {"a+00b", "xtext: encoded NUL byte"},
        {"a=b", "xtext: invalid character 0x3d"},
        {"a b", "xtext: invalid character 0x20"},
        {"a\x7f", "xtext: invalid character 0x7f"},
        {"\xc3\xa9", "xtext: invalid character 0xc3"},
    };
    struct buf why = BUF_INIT;
    struct buf out = BUF_INIT;
    struct buf type = BUF_INIT;
    char big[DSN_XTEXT_MAX + 2];

    (void) state;
    assert_int_equal(
        dsn_xtext_decode(span_of("orig+2Buser+3Dx@ex+20a"), &out, &why), 0);
    assert_string_equal(buf_str(&out), "orig+user=x@ex a");
    buf_reset(&out);
    dsn_xtext_encode("orig+user=x@ex a\xc3\xa9", &out);
    assert_string_equal(buf_str(&out), "orig+2Buser+3Dx@ex+20a+C3+A9");
    for (size_t i = 0; i < NELEM(bad); i++) {
        buf_reset(&why);
        if (dsn_xtext_decode(span_of(bad[i].in), &out, &why) != -1
            || strcmp(buf_str(&why), bad[i].want) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", bad[i].in,
                     buf_str(&why), bad[i].want);
    }
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(dsn_xtext_decode(span_of(big), &out, &why), -1);
    assert_string_equal(buf_str(&why), "xtext longer than 500 characters");
    big[DSN_XTEXT_MAX] = 0;
    buf_reset(&out);
    assert_int_equal(dsn_xtext_decode(span_of(big), &out, &why), 0);
    assert_int_equal(buf_len(&out), DSN_XTEXT_MAX);

    assert_int_equal(dsn_orcpt_parse(span_of("rfc822;orig+2Buser@example.test"),
                                     &type, &out, &why),
                     0);
    assert_string_equal(buf_str(&type), "rfc822");
    assert_string_equal(buf_str(&out), "orig+user@example.test");
    buf_reset(&out);
    dsn_orcpt_format("rfc822", "a+b@x", &out);
    assert_string_equal(buf_str(&out), "rfc822;a+2Bb@x");
    assert_int_equal(dsn_orcpt_parse(span_of("rfc822"), &type, &out, &why), -1);
    assert_string_equal(buf_str(&why),
                        "ORCPT without \";\" after the address type");
    assert_int_equal(dsn_orcpt_parse(span_of(";a@b"), &type, &out, &why), -1);
    assert_string_equal(buf_str(&why), "ORCPT with an empty address type");
    assert_int_equal(dsn_orcpt_parse(span_of("rfc 822;a@b"), &type, &out, &why),
                     -1);
    assert_string_equal(buf_str(&why), "ORCPT address type is not an atom");
    assert_int_equal(dsn_orcpt_parse(span_of("rfc822;"), &type, &out, &why),
                     -1);
    assert_string_equal(buf_str(&why), "ORCPT with an empty address");
    assert_int_equal(dsn_orcpt_parse(span_of("rfc822;a+zz"), &type, &out, &why),
                     -1);
    assert_string_equal(buf_str(&why),
                        "xtext: \"+\" without two upper-case hex digits");
    buf_fini(&why);
    buf_fini(&out);
    buf_fini(&type);
}

/* main - run the dsn tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),      cmocka_unit_test(test_init_log),
        cmocka_unit_test(test_status_msg),  cmocka_unit_test(test_notify_ret),
        cmocka_unit_test(test_xtext_orcpt),
    };

    msg_init("dsn_test");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
