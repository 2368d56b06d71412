/* deliver_test - prepended lines, quoting, statuses, loop detection */
#include "global/deliver.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* 2026-11-30 18:00:00 UTC, a Monday, and 2026-12-01 09:05:07 UTC. */
#define T_NOV30 1796061600
#define T_DEC01 1796115907

/* set_utc - the From_ line is in local time; make that UTC */
static int set_utc(void **state)
{
    (void) state;
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

/* test_hdr_mbox - the four lines, byte for byte as Postfix 3.7 wrote them */
static void test_hdr_mbox(void **state)
{
    struct buf b = BUF_INIT;
    struct deliver_env env = {"Sender@Example.test", "nobody@mx.example.test",
                              "nobody", T_NOV30};

    (void) state;
    assert_int_equal(deliver_hdr_format(&b, &env, DELIVER_HDR_MBOX), 0);
    assert_string_equal(buf_str(&b),
                        "From Sender@Example.test  Mon Nov 30 18:00:00 2026\n"
                        "Return-Path: <Sender@Example.test>\n"
                        "X-Original-To: nobody\n"
                        "Delivered-To: nobody@mx.example.test\n");
    buf_fini(&b);
}

/* test_hdr_null_sender - MAILER-DAEMON, <>, a space-padded day */
static void test_hdr_null_sender(void **state)
{
    struct buf b = BUF_INIT;
    struct deliver_env env = {"", "u@x.test", NULL, T_DEC01};

    (void) state;
    assert_int_equal(deliver_hdr_format(&b, &env, DELIVER_HDR_MBOX), 0);
    assert_string_equal(buf_str(&b), "From MAILER-DAEMON  Tue Dec  1 09:05:07 "
                                     "2026\n"
                                     "Return-Path: <>\n"
                                     "Delivered-To: u@x.test\n");
    buf_reset(&b);
    assert_int_equal(deliver_hdr_format(&b, &env, DELIVER_HDR_MAILDIR), 0);
    assert_string_equal(buf_str(&b), "Return-Path: <>\n"
                                     "Delivered-To: u@x.test\n");
    buf_reset(&b);
    env.sender = "a\nb@x\r";
    env.orig_rcpt = "o\n";
    assert_int_equal(deliver_hdr_format(&b, &env, DELIVER_HDR_MBOX), 0);
    assert_string_equal(buf_str(&b), "From a?b@x?  Tue Dec  1 09:05:07 2026\n"
                                     "Return-Path: <a?b@x?>\n"
                                     "X-Original-To: o?\n"
                                     "Delivered-To: u@x.test\n");
    env.sender = "";
    env.orig_rcpt = NULL;
    buf_reset(&b);
    env.recipient = NULL;
    assert_int_equal(deliver_hdr_format(&b, &env, DELIVER_HDR_MAILDIR), 0);
    assert_string_equal(buf_str(&b), "Return-Path: <>\n");
    buf_fini(&b);
}

/* test_status - the class follows the first digit; errno mapping */
static void test_status(void **state)
{
    struct deliver_status st;

    (void) state;
    deliver_status_set(&st, "2.0.0", 0);
    assert_int_equal(st.cls, DELIVER_SENT);
    deliver_status_errno(&st, ENOSPC, "5.2.0");
    assert_string_equal(st.dsn, "4.3.0");
    assert_int_equal(st.cls, DELIVER_DEFER);
    assert_int_equal(st.err, ENOSPC);
    deliver_status_errno(&st, EFBIG, "4.2.0");
    assert_string_equal(st.dsn, "5.2.2");
    assert_int_equal(st.cls, DELIVER_BOUNCE);
    deliver_status_errno(&st, EAGAIN, "5.2.0");
    assert_string_equal(st.dsn, "4.2.0");
    deliver_status_errno(&st, EISDIR, "5.2.0");
    assert_string_equal(st.dsn, "5.2.0");
    assert_int_equal(st.cls, DELIVER_BOUNCE);
}

/* Pieces for a source that splits lines. */
struct pieces {
    const char *const *text;
    const bool *more;
    size_t n, i;
    int fail_at; /* -1: never */
};

/* pieces_next - yield the pieces, or fail at FAIL_AT */
static int pieces_next(void *ctx, struct deliver_line *out, struct buf *why)
{
    struct pieces *p = ctx;

    if ((int) p->i == p->fail_at) {
        buf_set(why, "queue file read error");
        return -1;
    }
    if (p->i >= p->n)
        return 0;
    out->text = span_of(p->text[p->i]);
    out->more = p->more[p->i];
    p->i++;
    return 1;
}

/* read_fd - the whole content of FD from offset 0 */
static void read_fd(int fd, struct buf *out)
{
    char chunk[4096];
    ssize_t n;
    off_t off = 0;

    buf_reset(out);
    while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
        buf_catn(out, chunk, (size_t) n);
        off += n;
    }
}

/* temp_fd - an anonymous scratch file */
static int temp_fd(void)
{
    char name[] = "/tmp/ulak-deliver-XXXXXX";
    int fd = mkstemp(name);

    assert_true(fd >= 0);
    unlink(name);
    return fd;
}

/* test_copy_quote - ">From " quoting of "From " lines only, as Postfix */
static void test_copy_quote(void **state)
{
    /* The body Postfix 3.7 was given, and what it wrote (measured). */
    static const char in[] = "Subject: t1\n"
                             "\n"
                             "line1\n"
                             "From me\n"
                             ">From x\n"
                             "From\tTab\n"
                             "from lower\n"
                             " From space\n"
                             "From  two\n"
                             "last";
    static const char want[] = "Return-Path: <a@b.test>\n"
                               "Subject: t1\n"
                               "\n"
                               "line1\n"
                               ">From me\n"
                               ">From x\n"
                               "From\tTab\n"
                               "from lower\n"
                               " From space\n"
                               ">From  two\n"
                               "last\n"
                               "\n";
    struct deliver_env env = {"a@b.test", NULL, NULL, T_NOV30};
    struct deliver_mem mem;
    struct deliver_src src;
    struct deliver_status st;
    struct buf why = BUF_INIT, got = BUF_INIT;
    int fd = temp_fd();

    (void) state;
    deliver_src_mem(&src, &mem, in, sizeof(in) - 1);
    assert_int_equal(deliver_copy(fd, 0, 0, &env, DELIVER_HDR_RETURN_PATH,
                                  DELIVER_COPY_QUOTE | DELIVER_COPY_BLANK, &src,
                                  &st, &why),
                     0);
    assert_string_equal(st.dsn, "2.0.0");
    read_fd(fd, &got);
    assert_string_equal(buf_str(&got), want);
    close(fd);
    buf_fini(&why);
    buf_fini(&got);
}

/* test_copy_pieces - quoting decided over pieces; an open last line ends */
static void test_copy_pieces(void **state)
{
    static const char *const text[] = {"Fr",  "om split", "From", " x",
                                       "Fro", "",         "Fr"};
    static const bool more[] = {true, false, true, false, true, false, true};
    struct pieces p = {text, more, NELEM(text), 0, -1};
    struct deliver_src src = {pieces_next, &p};
    struct deliver_env env = {"", NULL, NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT, got = BUF_INIT;
    int fd = temp_fd();

    (void) state;
    assert_int_equal(
        deliver_copy(fd, 0, 0, &env, 0, DELIVER_COPY_QUOTE, &src, &st, &why),
        0);
    read_fd(fd, &got);
    assert_string_equal(buf_str(&got), ">From split\n>From x\nFro\nFr\n");
    close(fd);
    buf_fini(&why);
    buf_fini(&got);
}

/* test_copy_read_error - a source failure is 4.3.0 with its reason */
static void test_copy_read_error(void **state)
{
    static const char *const text[] = {"a", "b"};
    static const bool more[] = {false, false};
    struct pieces p = {text, more, NELEM(text), 0, 1};
    struct deliver_src src = {pieces_next, &p};
    struct deliver_env env = {"", NULL, NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT;
    int fd = temp_fd();

    (void) state;
    assert_int_equal(deliver_copy(fd, 0, 0, &env, 0, 0, &src, &st, &why), -1);
    assert_string_equal(st.dsn, "4.3.0");
    assert_int_equal(st.cls, DELIVER_DEFER);
    assert_string_equal(buf_str(&why),
                        "error reading message: queue file read error");
    close(fd);
    buf_fini(&why);
}

/* test_copy_limit - the size limit counts START and fails with EFBIG */
static void test_copy_limit(void **state)
{
    static const char in[] = "0123456789\n";
    struct deliver_env env = {"", NULL, NULL, T_NOV30};
    struct deliver_mem mem;
    struct deliver_src src;
    struct deliver_status st;
    struct buf why = BUF_INIT;
    int fd = temp_fd();

    (void) state;
    /* 11 bytes into a file of 89: exactly 100 is allowed */
    deliver_src_mem(&src, &mem, in, sizeof(in) - 1);
    assert_int_equal(deliver_copy(fd, 89, 100, &env, 0, 0, &src, &st, &why), 0);
    deliver_src_mem(&src, &mem, in, sizeof(in) - 1);
    assert_int_equal(deliver_copy(fd, 90, 100, &env, 0, 0, &src, &st, &why),
                     -1);
    assert_string_equal(st.dsn, "5.2.2");
    assert_int_equal(st.err, EFBIG);
    assert_string_equal(buf_str(&why), "error writing message: File too large");
    close(fd);
    buf_fini(&why);
}

/* loop_of - deliver_loop_check over a message in memory */
static int loop_of(const char *msg, const char *rcpt, struct buf *why)
{
    struct deliver_mem mem;
    struct deliver_src src;
    struct deliver_status st;
    int ret;

    deliver_src_mem(&src, &mem, msg, strlen(msg));
    ret = deliver_loop_check(&src, rcpt, &st, why);
    if (ret == 1) {
        assert_string_equal(st.dsn, "5.4.6");
        assert_int_equal(st.cls, DELIVER_BOUNCE);
    }
    return ret;
}

/* test_loop - the cases measured against Postfix 3.7's local(8) */
static void test_loop(void **state)
{
    static const char *const loops[] = {
        "Subject: x\nDelivered-To: NOBODY@MX.Example.TEST\n\nx\n",
        "Delivered-To:    nobody@mx.example.test\n\nx\n",
        "Delivered-To:\tnobody@mx.example.test\n\nx\n",
        "DELIVERED-TO: nobody@mx.example.test\n\nx\n",
        "delivered-to:nobody@mx.example.test\n\nx\n",
        "Delivered-To: other@x\nDelivered-To: nobody@MX.example.test\n\n",
    };
    static const char *const clean[] = {
        /* trailing blanks are part of the value */
        "Delivered-To: nobody@mx.example.test   \n\nx\n",
        /* only the primary header counts */
        "Subject: x\n\nDelivered-To: nobody@mx.example.test\n",
        "Delivered-To: <nobody@mx.example.test>\n\n",
        "Delivered-To: nobody@mx.example.test (comment)\n\n",
        /* a folded value is not unfolded */
        "Delivered-To:\n nobody@mx.example.test\n\n",
        "X-Delivered-To: nobody@mx.example.test\n\n",
        "Delivered-To: nobody@mx.example.testx\n\n",
        "",
    };
    struct buf why = BUF_INIT;
    size_t i;

    (void) state;
    for (i = 0; i < NELEM(loops); i++) {
        buf_reset(&why);
        assert_int_equal(loop_of(loops[i], "nobody@mx.example.test", &why), 1);
        assert_string_equal(buf_str(&why),
                            "mail forwarding loop for nobody@mx.example.test");
    }
    for (i = 0; i < NELEM(clean); i++)
        assert_int_equal(loop_of(clean[i], "nobody@mx.example.test", &why), 0);
    buf_fini(&why);
}

/* test_seen - one read, many recipients; long lines are skipped */
static void test_seen(void **state)
{
    struct buf msg = BUF_INIT, why = BUF_INIT;
    struct deliver_mem mem;
    struct deliver_src src;
    struct deliver_seen *seen;
    static const char *const text[] = {"Delivered-To: a@x", "b"};
    static const bool more[] = {false, false};
    struct pieces p = {text, more, NELEM(text), 0, 1};
    struct deliver_src bad = {pieces_next, &p};
    struct deliver_status st;
    size_t i;

    (void) state;
    buf_cat(&msg, "Delivered-To: ");
    for (i = 0; i < 5000; i++)
        buf_catc(&msg, 'a');
    buf_cat(&msg, "\nDelivered-To: b@x\nDelivered-To: C@x\n\n"
                  "Delivered-To: d@x\n");
    deliver_src_mem(&src, &mem, buf_str(&msg), buf_len(&msg));
    assert_non_null(seen = deliver_seen_read(&src, &why));
    assert_true(deliver_seen_has(seen, "B@X"));
    assert_true(deliver_seen_has(seen, "c@x"));
    assert_false(deliver_seen_has(seen, "d@x"));
    assert_false(deliver_seen_has(seen, "a@x"));
    deliver_seen_free(seen);
    deliver_seen_free(NULL);
    assert_int_equal(deliver_loop_check(&bad, "a@x", &st, &why), -1);
    assert_string_equal(st.dsn, "4.3.0");
    assert_string_equal(buf_str(&why),
                        "error reading message: queue file read error");
    buf_fini(&msg);
    buf_fini(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hdr_mbox),
        cmocka_unit_test(test_hdr_null_sender),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_copy_quote),
        cmocka_unit_test(test_copy_pieces),
        cmocka_unit_test(test_copy_read_error),
        cmocka_unit_test(test_copy_limit),
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_seen),
    };

    return cmocka_run_group_tests(tests, set_utc, NULL);
}
