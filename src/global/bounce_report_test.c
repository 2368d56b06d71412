/*
 * bounce_report_test - the reports Postfix 3.7 wrote for the same input
 * (tests/data/bounce_report/NAME.ref: Postfix's notifications as queued,
 * minus the Received: and Message-Id: headers that its cleanup adds), the
 * bounce_size_limit and RET choices, the postmaster copy, line wrapping,
 * hostile text, and a parse by Python's email package.
 */
#include "global/bounce_report.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <errno.h>
#include <stdarg.h>
#include <setjmp.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#define DATA "tests/data/bounce_report/"

/* Captured warnings. */
static struct buf logged;

/* capture - msg output that records the text for assertions */
static void capture(enum msg_level level, const char *text)
{
    buf_cat(&logged, msg_prefix(level));
    buf_cat(&logged, text);
    buf_catc(&logged, '\n');
}

/* setup - UTC dates, captured logging */
static int setup(void **state)
{
    (void) state;
    setenv("TZ", "UTC", 1);
    tzset();
    buf_init(&logged, 0);
    msg_output_stderr(false);
    msg_output_add(capture);
    return 0;
}

/* teardown - stop capturing */
static int teardown(void **state)
{
    (void) state;
    msg_output_remove(capture);
    buf_fini(&logged);
    return 0;
}

/* slurp - the content of PATH in OUT */
static void slurp(const char *path, struct buf *out)
{
    FILE *fp = fopen(path, "r");
    char tmp[4096];
    size_t n;

    if (fp == NULL)
        fail_msg("%s: %s", path, strerror(errno));
    buf_reset(out);
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        buf_catn(out, tmp, n);
    fclose(fp);
}

/* A content reader over \n-separated text; fails after FAIL_AT lines. */
struct reader {
    const char *p;
    int fail_at; /* < 0: never */
};

/* read_line - bounce_report_read_fn over struct reader */
static int read_line(void *ctx, struct buf *line, struct buf *why)
{
    struct reader *r = ctx;
    const char *nl;

    if (r->fail_at == 0) {
        buf_set(why, "queue file read error");
        return -1;
    }
    if (r->fail_at > 0)
        r->fail_at--;
    if (*r->p == 0)
        return 0;
    nl = strchr(r->p, '\n');
    buf_reset(line);
    buf_catn(line, r->p, nl ? (size_t) (nl - r->p) : strlen(r->p));
    r->p = nl ? nl + 1 : r->p + strlen(r->p);
    return 1;
}

/* original_of - the queued content inside REF's returned part, in OUT */
static void original_of(const char *ref, const char *extra_body,
                        struct buf *out)
{
    const char *start = strstr(ref, "\nReturn-Path: ");
    const char *end = strrchr(ref, '\n');

    assert_non_null(start);
    start = strchr(start + 1, '\n') + 1;
    /* ... up to the empty line before the closing boundary. */
    while (end > start && end[-1] != '\n')
        end--;
    buf_reset(out);
    buf_catn(out, start, (size_t) (end - start) - 1);
    if (extra_body)
        buf_cat(out, extra_body);
}

/* conf - the reference instance's settings */
static void conf(struct bounce_report *r, time_t t)
{
    r->myhostname = "mx.example.test";
    r->bounce_size_limit = 50000;
    r->delay_warning_time = 1;
    r->maximal_queue_lifetime = 5 * 86400;
    r->arrival = t;
    r->now = t;
    r->read_content = read_line;
}

/* rcpt - a recipient with its result */
static struct bounce_report_rcpt rcpt(const char *addr, const char *orcpt,
                                      const char *status, enum dsn_action a,
                                      const char *reason)
{
    struct bounce_report_rcpt rc = {
        .address = addr, .orig_rcpt = addr, .orcpt = orcpt};
    struct buf why = BUF_INIT;

    assert_int_equal(dsn_init(&rc.dsn, status, a, reason, &why), 0);
    buf_fini(&why);
    return rc;
}

/* check_golden - R's report equals DATA/NAME.ref byte for byte */
static void check_golden(struct bounce_report *r, const char *name,
                         const char *extra_body)
{
    char path[256];
    struct buf ref = BUF_INIT;
    struct buf orig = BUF_INIT;
    struct buf got = BUF_INIT;
    struct buf why = BUF_INIT;
    struct reader rd;

    assert_int_equal(str_fmt(path, sizeof(path), DATA "%s.ref", name), 0);
    slurp(path, &ref);
    original_of(buf_str(&ref), extra_body, &orig);
    rd.p = buf_str(&orig);
    rd.fail_at = -1;
    r->read_ctx = &rd;
    assert_int_equal(bounce_report_to_buf(r, &got, &why), 0);
    if (getenv("UPDATE_GOLDEN")) {
        FILE *fp = fopen(path, "w");

        fwrite(got.data, 1, got.len, fp);
        fclose(fp);
    }
    if (strcmp(buf_str(&got), buf_str(&ref)) != 0)
        fail_msg("%s: got:\n%s\nwant:\n%s", name, buf_str(&got), buf_str(&ref));
    buf_fini(&ref);
    buf_fini(&orig);
    buf_fini(&got);
    buf_fini(&why);
}

/* test_failure_full - two recipients, ORCPT and ENVID, the whole message */
static void test_failure_full(void **state)
{
    struct bounce_report_rcpt rc[2];
    struct bounce_report r = {.kind = BOUNCE_REPORT_FAILURE,
                              .queue_id = "5DEAEA76531",
                              .sender = "sender@remote.test",
                              .envid = "env+2B1",
                              .ret = DSN_RET_FULL,
                              .rcpts = rc,
                              .nrcpts = 2};

    (void) state;
    rc[0] =
        rcpt("nosuch2@mx.example.test", "rfc822;orig+2Buser@mx.example.test",
             "5.1.1", DSN_ACTION_FAILED, "unknown user: \"nosuch2\"");
    rc[1] =
        rcpt("nosuchuser@mx.example.test", "rfc822;orig+2Buser@mx.example.test",
             "5.1.1", DSN_ACTION_FAILED, "unknown user: \"nosuchuser\"");
    conf(&r, 1796064184);
    check_golden(&r, "failure_full", NULL);
}

/* test_failure_hdrs - RET=HDRS: the headers only, the body is not read */
static void test_failure_hdrs(void **state)
{
    struct bounce_report_rcpt rc[1];
    struct bounce_report r = {.kind = BOUNCE_REPORT_FAILURE,
                              .queue_id = "5E671A76875",
                              .sender = "sender2@remote.test",
                              .ret = DSN_RET_HDRS,
                              .rcpts = rc,
                              .nrcpts = 1};

    (void) state;
    rc[0] = rcpt("nosuchuser3@mx.example.test", NULL, "5.1.1",
                 DSN_ACTION_FAILED, "unknown user: \"nosuchuser3\"");
    conf(&r, 1796064184);
    check_golden(&r, "failure_hdrs", "\nbody2\n");
}

/* test_success - NOTIFY=SUCCESS, no RET: headers */
static void test_success(void **state)
{
    struct bounce_report_rcpt rc[1];
    struct bounce_report r = {.kind = BOUNCE_REPORT_SUCCESS,
                              .queue_id = "5F782A76876",
                              .sender = "sender3@remote.test",
                              .rcpts = rc,
                              .nrcpts = 1};

    (void) state;
    rc[0] = rcpt("root@mx.example.test", NULL, "2.0.0", DSN_ACTION_DELIVERED,
                 "delivery via local: delivered to mailbox");
    conf(&r, 1796064184);
    check_golden(&r, "success", "\nbody2\n");
}

/* test_delay - the warning text and Will-Retry-Until */
static void test_delay(void **state)
{
    struct bounce_report_rcpt rc[1];
    struct bounce_report r = {.kind = BOUNCE_REPORT_DELAY,
                              .queue_id = "7CB29A7694F",
                              .sender = "sender4@remote.test",
                              .rcpts = rc,
                              .nrcpts = 1};

    (void) state;
    rc[0] = rcpt("far@other.test", NULL, "4.3.2", DSN_ACTION_DELAYED,
                 "deferred transport");
    conf(&r, 1796064204);
    check_golden(&r, "delay", "\nbody4\n");
}

/* test_verify - sendmail -bv: deliverable and undeliverable */
static void test_verify(void **state)
{
    struct bounce_report_rcpt rc[2];
    struct bounce_report r = {.kind = BOUNCE_REPORT_VERIFY,
                              .queue_id = "AC050A764A6",
                              .sender = "sender5@remote.test",
                              .rcpts = rc,
                              .nrcpts = 2};

    (void) state;
    rc[0] =
        rcpt("nosuchx@mx.example.test", NULL, "5.1.1", DSN_ACTION_UNDELIVERABLE,
             "delivery via local: unknown user: \"nosuchx\"");
    rc[1] = rcpt("root@mx.example.test", NULL, "2.0.0", DSN_ACTION_DELIVERABLE,
                 "delivery via local: delivers to mailbox");
    conf(&r, 1796065142);
    check_golden(&r, "verify", "\nbody\n");
}

/* test_failure_wrap - long reasons, and a word longer than a line */
static void test_failure_wrap(void **state)
{
    struct bounce_report_rcpt rc[2];
    struct bounce_report r = {.kind = BOUNCE_REPORT_FAILURE,
                              .queue_id = "8571EA764B4",
                              .sender = "sender8@remote.test",
                              .rcpts = rc,
                              .nrcpts = 2};

    (void) state;
    rc[0] = rcpt("long2@mx.example.test", NULL, "5.7.1", DSN_ACTION_FAILED,
                 "Averyveryveryveryveryveryveryveryveryveryveryveryveryvery"
                 "veryveryveryveryveryverylongword and then some more words to "
                 "see what happens with the wrapping of it all");
    rc[1] = rcpt("long@mx.example.test", NULL, "5.7.1", DSN_ACTION_FAILED,
                 "host mx.example.com[192.0.2.1] said: 550 5.1.1 "
                 "<user@example.com>: Recipient address rejected: User "
                 "unknown in virtual mailbox table (in reply to RCPT TO "
                 "command)");
    conf(&r, 1796065264);
    r.now = 1796065265;
    check_golden(&r, "failure_wrap", NULL);
}

/* report - R's report with CONTENT as the original, in OUT */
static void report(struct bounce_report *r, const char *content,
                   struct buf *out)
{
    struct reader rd = {content, -1};
    struct buf why = BUF_INIT;

    r->read_ctx = &rd;
    buf_reset(out);
    assert_int_equal(bounce_report_to_buf(r, out, &why), 0);
    buf_fini(&why);
}

/* test_size_limit - too large for the whole message: headers only */
static void test_size_limit(void **state)
{
    static const char msg[] = "Subject: big\n\n0123456789\n0123456789\n";
    struct bounce_report_rcpt rc[1];
    struct bounce_report r = {.kind = BOUNCE_REPORT_FAILURE,
                              .queue_id = "ABC",
                              .sender = "s@x.test",
                              .rcpts = rc,
                              .nrcpts = 1};
    struct buf out = BUF_INIT;

    (void) state;
    rc[0] = rcpt("r@x.test", NULL, "5.0.0", DSN_ACTION_FAILED, "no");
    conf(&r, 1000000000);
    /* 13 + 11 + 11 bytes: exactly the limit returns all of it. */
    r.bounce_size_limit = 35;
    report(&r, msg, &out);
    assert_non_null(strstr(buf_str(&out),
                           "Content-Description: Undelivered Message\n"
                           "Content-Type: message/rfc822\n"
                           "Content-Transfer-Encoding: 8bit\n\n"
                           "Return-Path: <s@x.test>\nSubject: big\n\n"
                           "0123456789\n0123456789\n\n--ABC.1000000000/"
                           "mx.example.test--\n"));
    r.bounce_size_limit = 34;
    report(&r, msg, &out);
    assert_non_null(strstr(buf_str(&out),
                           "Content-Description: Undelivered Message Headers\n"
                           "Content-Type: text/rfc822-headers\n"
                           "Content-Transfer-Encoding: 8bit\n\n"
                           "Return-Path: <s@x.test>\nSubject: big\n\n"
                           "--ABC.1000000000/mx.example.test--\n"));
    assert_null(strstr(buf_str(&out), "0123456789"));
    /* 0 returns nothing of the original. */
    r.bounce_size_limit = 0;
    report(&r, msg, &out);
    assert_null(strstr(buf_str(&out), "Subject: big"));
    assert_null(strstr(buf_str(&out), "Return-Path:"));
    assert_true(str_has_suffix(buf_str(&out),
                               "Diagnostic-Code: X-Postfix; no\n\n"
                               "--ABC.1000000000/mx.example.test--\n"));
    /* Delay and success reports return headers even with RET=FULL (as
     * Postfix 3.7 does). */
    r.bounce_size_limit = 1000;
    r.kind = BOUNCE_REPORT_DELAY;
    r.ret = DSN_RET_FULL;
    rc[0] = rcpt("r@x.test", NULL, "4.0.0", DSN_ACTION_DELAYED, "later");
    report(&r, msg, &out);
    assert_non_null(strstr(buf_str(&out),
                           "Content-Description: Undelivered Message Headers\n"
                           "Content-Type: text/rfc822-headers\n"));
    assert_null(strstr(buf_str(&out), "0123456789\n"));
    r.kind = BOUNCE_REPORT_SUCCESS;
    rc[0] = rcpt("r@x.test", NULL, "2.0.0", DSN_ACTION_DELIVERED, "ok");
    report(&r, msg, &out);
    assert_non_null(strstr(buf_str(&out),
                           "Content-Description: Message Headers\n"
                           "Content-Type: text/rfc822-headers\n"));
    assert_null(strstr(buf_str(&out), "0123456789\n"));
    /* A failure report with RET=FULL (or none) returns it all. */
    r.kind = BOUNCE_REPORT_FAILURE;
    rc[0] = rcpt("r@x.test", NULL, "5.0.0", DSN_ACTION_FAILED, "no");
    report(&r, msg, &out);
    assert_non_null(strstr(buf_str(&out), "Content-Type: message/rfc822\n"));
    assert_non_null(strstr(buf_str(&out), "0123456789\n"));
    buf_fini(&out);
}

/* test_read_error - the report goes out without the original, one warning */
static void test_read_error(void **state)
{
    struct bounce_report_rcpt rc[1];
    struct bounce_report r = {.kind = BOUNCE_REPORT_FAILURE,
                              .queue_id = "ABC",
                              .sender = "s@x.test",
                              .rcpts = rc,
                              .nrcpts = 1};
    struct reader rd = {"Subject: x\n\nbody\n", 1};
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    rc[0] = rcpt("r@x.test", NULL, "5.0.0", DSN_ACTION_FAILED, "no");
    conf(&r, 1000000000);
    r.read_ctx = &rd;
    buf_reset(&logged);
    assert_int_equal(bounce_report_to_buf(&r, &out, &why), 0);
    assert_string_equal(buf_str(&logged),
                        "warning: ABC: cannot read the original message for "
                        "the delivery status notification: queue file read "
                        "error\n");
    assert_null(strstr(buf_str(&out), "Subject: x"));
    assert_non_null(strstr(buf_str(&out), "Status: 5.0.0\n"));
    buf_fini(&out);
    buf_fini(&why);
}

/* test_postmaster_wrap_hostile - postmaster copy, wrapping, control bytes */
static void test_postmaster_wrap_hostile(void **state)
{
    struct bounce_report_rcpt rc[1];
    struct bounce_report r = {.kind = BOUNCE_REPORT_FAILURE,
                              .postmaster_copy = true,
                              .to = "postmaster@mx.example.test",
                              .queue_id = "ABC",
                              .sender = "s@x.test\n--ABC",
                              .rcpts = rc,
                              .nrcpts = 1};
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    rc[0] = rcpt("user@example.com", NULL, "5.1.1", DSN_ACTION_FAILED,
                 "host mx.example.com[192.0.2.1] said: 550 5.1.1 "
                 "<user@example.com>: Recipient address rejected: User "
                 "unknown in virtual mailbox table (in reply to RCPT TO "
                 "command)\r\nInjected: yes");
    rc[0].orig_rcpt = "alias@example.com";
    rc[0].dsn.remote_mta = "dns; mx.example.com";
    rc[0].dsn.diag_code = "smtp; 550 5.1.1 <user@example.com>: Recipient "
                          "address rejected: User unknown in virtual mailbox "
                          "table";
    conf(&r, 1000000000);
    report(&r, "Subject: x\n\nbody\n", &out);
    assert_non_null(strstr(buf_str(&out),
                           "Subject: Postmaster Copy: Undelivered Mail\n"
                           "To: postmaster@mx.example.test\n"));
    /* No template text, the headers only. */
    assert_null(strstr(buf_str(&out), "This is the mail system"));
    assert_non_null(strstr(buf_str(&out), "text/rfc822-headers"));
    assert_null(strstr(buf_str(&out), "body"));
    /* Wrapped at 76 columns plus a 4-space hanging indent. */
    assert_non_null(strstr(
        buf_str(&out),
        "\n<user@example.com> (expanded from <alias@example.com>): host\n"
        "    mx.example.com[192.0.2.1] said: 550 5.1.1 <user@example.com>: "
        "Recipient\n"
        "    address rejected: User unknown in virtual mailbox table (in reply "
        "to RCPT TO\n"
        "    command)  Injected: yes\n\n"));
    assert_non_null(strstr(buf_str(&out),
                           "\nOriginal-Recipient: rfc822;alias@example.com\n"
                           "Action: failed\nStatus: 5.1.1\n"
                           "Remote-MTA: dns; mx.example.com\n"
                           "Diagnostic-Code: smtp; 550 5.1.1 "
                           "<user@example.com>: Recipient address\n"
                           "    rejected: User unknown in virtual mailbox "
                           "table\n\n"));
    /* The newline in the sender cannot start a line of its own. */
    assert_null(strstr(buf_str(&out), "\n--ABC\n"));
    assert_non_null(
        strstr(buf_str(&out), "X-Postfix-Sender: rfc822; s@x.test --ABC\n"));
    /* An invalid status is refused. */
    memcpy(rc[0].dsn.status, "6.0.0", 6);
    buf_reset(&out);
    assert_int_equal(bounce_report_to_buf(&r, &out, &why), -1);
    assert_string_equal(buf_str(&why),
                        "status code \"6.0.0\": class must be 2, 4 or 5");
    assert_int_equal(buf_len(&out), 0);
    buf_fini(&out);
    buf_fini(&why);
}

/* test_python_parses - Python's email package reads it as RFC 3464 */
static void test_python_parses(void **state)
{
    static const char script[] =
        "import email, sys\n"
        "m = email.message_from_binary_file(open(sys.argv[1], 'rb'))\n"
        "assert m.get_content_type() == 'multipart/report', "
        "m.get_content_type()\n"
        "assert m.get_param('report-type') == 'delivery-status'\n"
        "p = m.get_payload()\n"
        "assert [x.get_content_type() for x in p] == ['text/plain', "
        "'message/delivery-status', 'message/rfc822'], p\n"
        "d = p[1].get_payload()\n"
        "assert d[0]['Reporting-MTA'] == 'dns; mx.example.test', d[0]\n"
        "assert d[1]['Final-Recipient'] == 'rfc822; a@x.test'\n"
        "assert d[1]['Status'] == '5.1.1'\n"
        "assert d[1]['Action'] == 'failed'\n"
        "assert d[2]['Final-Recipient'] == 'rfc822; b@x.test'\n"
        "assert d[2]['Original-Recipient'] == 'rfc822;B@x.test'\n"
        "assert d[2]['Status'] == '5.7.1'\n"
        "o = p[2].get_payload()[0]\n"
        "assert o['Subject'] == 'orig', o['Subject']\n"
        "assert o.get_payload() == 'body\\n', repr(o.get_payload())\n";
    struct bounce_report_rcpt rc[2];
    struct bounce_report r = {.kind = BOUNCE_REPORT_FAILURE,
                              .queue_id = "ABC",
                              .sender = "s@x.test",
                              .rcpts = rc,
                              .nrcpts = 2};
    char path[] = "/tmp/bounce_report_testXXXXXX";
    struct buf out = BUF_INIT;
    pid_t pid;
    int fd;
    int status;

    (void) state;
    rc[0] = rcpt("a@x.test", NULL, "5.1.1", DSN_ACTION_FAILED, "unknown");
    rc[1] = rcpt("b@x.test", "rfc822;B@x.test", "5.7.1", DSN_ACTION_FAILED,
                 "denied");
    conf(&r, 1000000000);
    report(&r, "Subject: orig\n\nbody\n", &out);
    assert_true((fd = mkstemp(path)) >= 0);
    assert_int_equal(write(fd, out.data, out.len), (ssize_t) out.len);
    close(fd);
    if ((pid = fork()) == 0) {
        execl("/usr/bin/python3", "python3", "-c", script, path, (char *) 0);
        _exit(127);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unlink(path);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    buf_fini(&out);
}

/* main - run the bounce_report tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failure_full),
        cmocka_unit_test(test_failure_hdrs),
        cmocka_unit_test(test_failure_wrap),
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_delay),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_postmaster_wrap_hostile),
        cmocka_unit_test(test_python_parses),
    };

    msg_init("bounce_report_test");
    return cmocka_run_group_tests(tests, setup, teardown);
}
