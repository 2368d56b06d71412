/* msg_log_test - per-message log entries: format, append, read back,
 * torn entries, remove. */
#include "global/msg_log.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static struct queue_dir qd;

/* setup - a fresh queue tree with Postfix's default hashing */
static int setup(void **state)
{
    struct buf why = BUF_INIT;
    int rc;

    (void) state;
    msg_output_stderr(false);
    if (str_copy(dir, sizeof(dir), "/tmp/ulak-msglog-XXXXXX") < 0
        || mkdtemp(dir) == NULL)
        return -1;
    rc = queue_dir_init(&qd, dir, 1, "deferred, defer", false, &why);
    if (rc == 0)
        rc = queue_dir_create(&qd, geteuid(), getegid(), &why);
    buf_fini(&why);
    return rc;
}

/* teardown - remove the tree */
static int teardown(void **state)
{
    char cmd[128];

    (void) state;
    queue_dir_fini(&qd);
    (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* entry - an entry from borrowed strings */
static struct msg_log_entry entry(const char *rcpt, const char *status,
                                  const char *reason)
{
    struct msg_log_entry e = {
        .recipient = (char *) rcpt,
        .offset = -1,
        .status = (char *) status,
        .action = (char *) "delayed",
        .reason = (char *) reason,
    };
    return e;
}

/* parse - LOG from the text T */
static void parse(const char *t, struct msg_log *log)
{
    memset(log, 0, sizeof(*log));
    msg_log_parse(span_of(t), log);
}

/* test_format - the documented layout, control characters as '?' */
static void test_format(void **state)
{
    struct msg_log_entry e = entry("bob@example.test", "4.4.1",
                                   "connect to x[192.0.2.1]:25:\r\nrefused");
    struct buf out = BUF_INIT;

    (void) state;
    e.offset = 252;
    e.orig_rcpt = (char *) "Bob@Example.Test";
    e.dsn_orig_rcpt = (char *) "rfc822;Bob@Example.Test";
    e.notify = 10;
    e.remote_mta = (char *) "dns; x";
    e.diag_code = (char *) "X-Postfix; connect to x";
    msg_log_format(&e, &out);
    assert_string_equal(buf_str(&out),
                        "\nrecipient=bob@example.test\n"
                        "offset=252\n"
                        "orig_rcpt=Bob@Example.Test\n"
                        "dsn_orig_rcpt=rfc822;Bob@Example.Test\n"
                        "notify=10\n"
                        "status=4.4.1\n"
                        "action=delayed\n"
                        "reason=connect to x[192.0.2.1]:25:??refused\n"
                        "remote_mta=dns; x\n"
                        "diag_code=X-Postfix; connect to x\n"
                        "\n");
    buf_reset(&out);
    e = entry("a", "5.1.1", "unknown user");
    msg_log_format(&e, &out);
    assert_string_equal(buf_str(&out), "\nrecipient=a\nstatus=5.1.1\n"
                                       "action=delayed\nreason=unknown user\n"
                                       "\n");
    buf_fini(&out);
}

/* test_parse_round_trip - what format writes, parse reads */
static void test_parse_round_trip(void **state)
{
    struct msg_log_entry a = entry("a@x", "4.0.0", "reason A");
    struct msg_log_entry b = entry("b@x", "5.0.0", "reason=B with = signs");
    struct buf out = BUF_INIT;
    struct msg_log log;

    (void) state;
    a.offset = 100;
    b.orig_rcpt = (char *) "B@X";
    b.action = (char *) "failed";
    a.diag_code = (char *) "smtp; 451 try later";
    msg_log_format(&a, &out);
    msg_log_format(&b, &out);
    parse(buf_str(&out), &log);
    assert_int_equal(log.count, 2);
    assert_int_equal(log.skipped, 0);
    assert_string_equal(log.entries[0].recipient, "a@x");
    assert_int_equal(log.entries[0].offset, 100);
    assert_null(log.entries[0].orig_rcpt);
    assert_string_equal(log.entries[0].reason, "reason A");
    assert_string_equal(log.entries[0].diag_code, "smtp; 451 try later");
    assert_string_equal(log.entries[1].recipient, "b@x");
    assert_int_equal(log.entries[1].offset, -1);
    assert_string_equal(log.entries[1].orig_rcpt, "B@X");
    assert_string_equal(log.entries[1].action, "failed");
    assert_string_equal(log.entries[1].status, "5.0.0");
    assert_string_equal(log.entries[1].reason, "reason=B with = signs");
    assert_null(log.entries[1].remote_mta);
    msg_log_fini(&log);
    buf_fini(&out);
}

/* test_torn - an entry cut by a crash at every byte is never read as
 * complete, and never hides the entry appended after it */
static void test_torn(void **state)
{
    struct msg_log_entry a = entry("a@x", "4.0.0", "reason A");
    struct msg_log_entry b = entry("b@x", "4.0.0", "reason B");
    struct buf one = BUF_INIT;
    struct buf two = BUF_INIT;
    struct buf text = BUF_INIT;
    struct msg_log log;

    (void) state;
    msg_log_format(&a, &one);
    msg_log_format(&b, &two);
    for (size_t cut = 0; cut <= buf_len(&one); cut++) {
        /* The torn entry alone: nothing, or A when it was complete. */
        buf_reset(&text);
        buf_catn(&text, buf_str(&one), cut);
        memset(&log, 0, sizeof(log));
        msg_log_parse(span_make(buf_str(&text), buf_len(&text)), &log);
        /* A is complete once its reason line has its LF. */
        size_t complete = buf_len(&one) - 1;
        assert_int_equal(log.count, cut >= buf_len(&one) ? 1 : 0);
        msg_log_fini(&log);

        /* Then B appended after it: B is always read, A only when all of
         * its lines were written. */
        buf_cat(&text, buf_str(&two));
        memset(&log, 0, sizeof(log));
        msg_log_parse(span_make(buf_str(&text), buf_len(&text)), &log);
        if (cut >= complete) {
            assert_int_equal(log.count, 2);
            assert_string_equal(log.entries[0].reason, "reason A");
            assert_string_equal(log.entries[1].recipient, "b@x");
        } else {
            assert_int_equal(log.count, 1);
            assert_string_equal(log.entries[0].recipient, "b@x");
            assert_string_equal(log.entries[0].reason, "reason B");
        }
        msg_log_fini(&log);
    }
    buf_fini(&one);
    buf_fini(&two);
    buf_fini(&text);
}

/* test_rejects - malformed entries are skipped, the rest kept */
static void test_rejects(void **state)
{
    static const struct {
        const char *name;
        const char *in;
    } cases[] = {
        {"no reason", "\nrecipient=a\nstatus=4.0.0\naction=delayed\n\n"},
        {"no recipient", "\nstatus=4.0.0\naction=delayed\nreason=r\n\n"},
        {"no equals sign",
         "\nrecipient=a\nstatus\naction=delayed\nreason=r\n\n"},
        {"empty name", "\nrecipient=a\n=x\nstatus=4.0.0\naction=delayed\n"
                       "reason=r\n\n"},
        {"bad offset", "\nrecipient=a\noffset=12x\nstatus=4.0.0\n"
                       "action=delayed\nreason=r\n\n"},
        {"negative offset", "\nrecipient=a\noffset=-1\nstatus=4.0.0\n"
                            "action=delayed\nreason=r\n\n"},
        {"bad notify", "\nrecipient=a\nnotify=16\nstatus=4.0.0\n"
                       "action=delayed\nreason=r\n\n"},
        {"twice", "\nrecipient=a\nstatus=4.0.0\nstatus=4.0.0\n"
                  "action=delayed\nreason=r\n\n"},
    };
    static const char good[] =
        "\nrecipient=g\nstatus=4.0.0\naction=delayed\nreason=good\n"
        "x_future=1\n\n";
    struct buf text = BUF_INIT;
    struct msg_log log;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        buf_set(&text, cases[i].in);
        buf_cat(&text, good);
        memset(&log, 0, sizeof(log));
        msg_log_parse(span_make(buf_str(&text), buf_len(&text)), &log);
        if (log.count != 1 || log.skipped != 1)
            fail_msg("%s: got %zu entries, %zu skipped, want 1, 1",
                     cases[i].name, log.count, log.skipped);
        assert_string_equal(log.entries[0].reason, "good");
        msg_log_fini(&log);
    }
    /* A NUL inside a line makes that entry bad, not the file. */
    memset(&log, 0, sizeof(log));
    buf_set(&text, "\nrecipient=a\nstatus=4.0.0\naction=delayed\nreason=");
    buf_catn(&text, "x\0y\n\n", 5);
    buf_cat(&text, good);
    msg_log_parse(span_make(buf_str(&text), buf_len(&text)), &log);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.skipped, 1);
    msg_log_fini(&log);
    buf_fini(&text);
}

/* test_append_read_remove - through the queue folders, hashed */
static void test_append_read_remove(void **state)
{
    struct msg_log_entry a = entry("a@x", "4.4.1", "timed out");
    struct msg_log_entry b = entry("b@x", "4.3.2", "deferred transport");
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct msg_log log;
    struct stat st;
    const char *id = "89DC5A76141";

    (void) state;
    memset(&log, 0, sizeof(log));
    assert_int_equal(msg_log_read(&qd, QUEUE_DEFER, id, &log, &why), 0);
    assert_int_equal(log.count, 0);

    assert_int_equal(msg_log_append(&qd, QUEUE_DEFER, id, &a, &why), 0);
    assert_int_equal(msg_log_append(&qd, QUEUE_DEFER, id, &b, &why), 0);
    buf_setf(&path, "%s/defer/8/%s", dir, id);
    assert_int_equal(stat(buf_str(&path), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(msg_log_read(&qd, QUEUE_DEFER, id, &log, &why), 0);
    assert_int_equal(log.count, 2);
    assert_string_equal(log.entries[0].reason, "timed out");
    assert_string_equal(log.entries[1].recipient, "b@x");
    msg_log_fini(&log);

    /* bounce/ is not hashed. */
    assert_int_equal(msg_log_append(&qd, QUEUE_BOUNCE, id, &a, &why), 0);
    buf_setf(&path, "%s/bounce/%s", dir, id);
    assert_int_equal(stat(buf_str(&path), &st), 0);

    assert_int_equal(msg_log_remove(&qd, QUEUE_DEFER, id, &why), 0);
    assert_int_equal(msg_log_remove(&qd, QUEUE_DEFER, id, &why), 0);
    assert_int_equal(msg_log_read(&qd, QUEUE_DEFER, id, &log, &why), 0);
    assert_int_equal(log.count, 0);

    /* An invalid ID never becomes a path. */
    buf_reset(&why);
    assert_int_equal(msg_log_append(&qd, QUEUE_DEFER, "../x", &a, &why), -1);
    assert_non_null(strstr(buf_str(&why), "invalid queue ID"));
    buf_reset(&why);
    assert_int_equal(msg_log_read(&qd, QUEUE_DEFER, "../x", &log, &why), -1);

    /* A symbolic link is refused, not followed. */
    buf_setf(&path, "%s/bounce/ABCDE12345", dir);
    assert_int_equal(symlink("/etc/passwd", buf_str(&path)), 0);
    buf_reset(&why);
    assert_int_equal(msg_log_read(&qd, QUEUE_BOUNCE, "ABCDE12345", &log, &why),
                     -1);
    assert_int_equal(msg_log_append(&qd, QUEUE_BOUNCE, "ABCDE12345", &a, &why),
                     -1);
    buf_fini(&why);
    buf_fini(&path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_torn),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test_setup_teardown(test_append_read_remove, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
