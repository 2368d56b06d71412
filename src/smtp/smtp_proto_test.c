/* smtp_proto_test - replies, EHLO keywords, MAIL/RCPT parameters and the
 * content on the wire. */
#include "smtp/smtp_proto.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* test_reply_parse - complete, partial and malformed replies */
static void test_reply_parse(void **state)
{
    static const struct {
        const char *in;
        enum smtp_parse want;
        int code;
        const char *dsn;
        const char *text; /* or the error */
        size_t used;
    } cases[] = {
        {"220 mx ESMTP\r\n", SMTP_PARSE_REPLY, 220, "2.0.0", "220 mx ESMTP",
         14},
        {"250 2.1.0 Ok\r\nMORE", SMTP_PARSE_REPLY, 250, "2.1.0", "250 2.1.0 Ok",
         14},
        {"550-5.1.1 first\r\n550 5.1.1 second\r\n", SMTP_PARSE_REPLY, 550,
         "5.1.1", "550-5.1.1 first 550 5.1.1 second", 35},
        {"250\n", SMTP_PARSE_REPLY, 250, "2.0.0", "250", 4},
        /* An enhanced code of another class is not taken. */
        {"451 5.1.1 odd\r\n", SMTP_PARSE_REPLY, 451, "4.0.0", "451 5.1.1 odd",
         15},
        {"452 4.5.3 Too many\r\n", SMTP_PARSE_REPLY, 452, "4.5.3",
         "452 4.5.3 Too many", 20},
        {"250-a\r\n250-b\r\n", SMTP_PARSE_MORE, 0, "", "", 0},
        {"250 partial", SMTP_PARSE_MORE, 0, "", "", 0},
        {"", SMTP_PARSE_MORE, 0, "", "", 0},
        /* Lines without a reply code are skipped, as Postfix does; a
         * skipped line before the reply may be dropped (used). */
        {"hello\r\n", SMTP_PARSE_MORE, 0, "", "", 7},
        {"650 x\r\n25\r\n250x\r\n", SMTP_PARSE_MORE, 0, "", "", 17},
        {"hello\r\n220 mx\r\n", SMTP_PARSE_REPLY, 220, "2.0.0", "220 mx", 15},
        {"250-a\r\nnoise\r\n250 b\r\n", SMTP_PARSE_REPLY, 250, "2.0.0",
         "250-a 250 b", 21},
        /* The last line's code is the reply's; a first-line enhanced code
         * of another class is dropped. */
        {"250-2.1.0 a\r\n451 b\r\n", SMTP_PARSE_REPLY, 451, "4.0.0",
         "250-2.1.0 a 451 b", 20},
        {"550-5.1.1 a\r\n551 b\r\n", SMTP_PARSE_REPLY, 551, "5.1.1",
         "550-5.1.1 a 551 b", 20},
        {"250 a\x01\xff\r\n", SMTP_PARSE_REPLY, 250, "2.0.0", "250 a??", 9},
    };
    struct smtp_reply r;
    struct buf why = BUF_INIT;

    (void) state;
    smtp_reply_init(&r);
    for (size_t i = 0; i < NELEM(cases); i++) {
        size_t used = 99;
        enum smtp_parse got;

        buf_reset(&why);
        got = smtp_reply_parse(span_of(cases[i].in), &used, &r, &why);
        if (got != cases[i].want)
            fail_msg("%zu: got %d, want %d (%s)", i, got, cases[i].want,
                     buf_str(&why));
        if (got == SMTP_PARSE_REPLY) {
            assert_int_equal(r.code, cases[i].code);
            assert_string_equal(r.dsn, cases[i].dsn);
            assert_string_equal(buf_str(&r.text), cases[i].text);
            assert_int_equal(used, cases[i].used);
        } else if (got == SMTP_PARSE_ERROR) {
            assert_string_equal(buf_str(&why), cases[i].text);
        } else {
            assert_int_equal(used, cases[i].used);
        }
    }
    smtp_reply_fini(&r);
    buf_fini(&why);
}

/* test_reply_bounds - over-long lines and too many lines */
static void test_reply_bounds(void **state)
{
    struct smtp_reply r;
    struct buf in = BUF_INIT;
    struct buf why = BUF_INIT;
    size_t used;

    (void) state;
    smtp_reply_init(&r);
    buf_cat(&in, "250 ");
    for (int i = 0; i < SMTP_REPLY_LINE_MAX; i++)
        buf_catc(&in, 'x');
    /* No LF yet, and already too long: an error, not "more". */
    assert_int_equal(smtp_reply_parse(span_of(buf_str(&in)), &used, &r, &why),
                     SMTP_PARSE_ERROR);
    assert_string_equal(buf_str(&why), "reply line longer than 2048 bytes");
    buf_cat(&in, "\r\n");
    assert_int_equal(smtp_reply_parse(span_of(buf_str(&in)), &used, &r, &why),
                     SMTP_PARSE_ERROR);
    buf_reset(&in);
    for (int i = 0; i <= SMTP_REPLY_LINES_MAX; i++)
        buf_cat(&in, "250-x\r\n");
    buf_cat(&in, "250 x\r\n");
    assert_int_equal(smtp_reply_parse(span_of(buf_str(&in)), &used, &r, &why),
                     SMTP_PARSE_ERROR);
    assert_string_equal(buf_str(&why), "reply with more than 100 lines");
    smtp_reply_fini(&r);
    buf_fini(&in);
    buf_fini(&why);
}

/* parse_one - R from TEXT (which must be one complete reply) */
static void parse_one(const char *text, struct smtp_reply *r)
{
    struct buf why = BUF_INIT;
    size_t used;

    assert_int_equal(smtp_reply_parse(span_of(text), &used, r, &why),
                     SMTP_PARSE_REPLY);
    buf_fini(&why);
}

/* test_ehlo - the keywords and their arguments */
static void test_ehlo(void **state)
{
    struct smtp_reply r;
    struct smtp_ext ext;

    (void) state;
    smtp_reply_init(&r);
    parse_one("250-mx.example.test Hello PIPELINING\r\n"
              "250-size 10240000\r\n"
              "250-8bitmime\r\n"
              "250-DSN\r\n"
              "250-SMTPUTF8\r\n"
              "250-XFORWARD NAME ADDR PROTO HELO\r\n"
              "250 CHUNKING\r\n",
              &r);
    smtp_ehlo_parse(&r, &ext);
    /* The greeting line's words are not keywords. */
    assert_int_equal(ext.flags, SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_DSN
                                    | SMTP_EXT_SMTPUTF8 | SMTP_EXT_XFORWARD);
    assert_int_equal(ext.size_max, 10240000);
    assert_int_equal(ext.xforward, SMTP_XF_NAME | SMTP_XF_ADDR | SMTP_XF_PROTO
                                       | SMTP_XF_HELO);
    parse_one("250-mx\r\n250-PIPELINING\r\n250-SIZE\r\n250 SIZE=12x\r\n", &r);
    smtp_ehlo_parse(&r, &ext);
    assert_int_equal(ext.flags, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE);
    assert_int_equal(ext.size_max, 0);
    parse_one("250-mx\r\n250 SIZE 99999999999999999999999\r\n", &r);
    smtp_ehlo_parse(&r, &ext);
    assert_int_equal(ext.size_max, 0);
    assert_false(smtp_size_refused(&ext, 1LL << 40));
    parse_one("250-mx\r\n250 SIZE 1000\r\n", &r);
    smtp_ehlo_parse(&r, &ext);
    assert_true(smtp_size_refused(&ext, 1001));
    assert_false(smtp_size_refused(&ext, 1000));
    smtp_reply_fini(&r);
}

/* test_mail_rcpt - parameters only when offered and needed */
static void test_mail_rcpt(void **state)
{
    struct smtp_ext none = {0};
    struct smtp_ext all = {.flags = SMTP_EXT_SIZE | SMTP_EXT_8BITMIME
                                    | SMTP_EXT_DSN | SMTP_EXT_SMTPUTF8};
    struct smtp_mail_in in = {
        .sender = "a b@example.test",
        .size = 1234,
        .eightbit = true,
        .smtputf8 = false,
        .envid = "id+1=x",
        .ret = DSN_RET_HDRS,
    };
    struct buf out = BUF_INIT;

    (void) state;
    smtp_mail_cmd(&in, &none, &out);
    assert_string_equal(buf_str(&out), "MAIL FROM:<\"a b\"@example.test>");
    smtp_mail_cmd(&in, &all, &out);
    assert_string_equal(buf_str(&out),
                        "MAIL FROM:<\"a b\"@example.test> SIZE=1234 "
                        "BODY=8BITMIME ENVID=id+2B1+3Dx RET=HDRS");
    in.sender = "";
    in.eightbit = false;
    in.smtputf8 = true;
    in.envid = NULL;
    in.ret = 0;
    smtp_mail_cmd(&in, &all, &out);
    assert_string_equal(buf_str(&out), "MAIL FROM:<> SIZE=1234 SMTPUTF8");
    smtp_rcpt_cmd("u@example.test", DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE,
                  "rfc822;o+x@example.test", &all, &out);
    assert_string_equal(buf_str(&out), "RCPT TO:<u@example.test> "
                                       "ORCPT=rfc822;o+2Bx@example.test "
                                       "NOTIFY=SUCCESS,FAILURE");
    smtp_rcpt_cmd("u@example.test", DSN_NOTIFY_NEVER, "bad", &all, &out);
    assert_string_equal(buf_str(&out), "RCPT TO:<u@example.test> NOTIFY=NEVER");
    smtp_rcpt_cmd("u@example.test", DSN_NOTIFY_NEVER, "rfc822;x", &none, &out);
    assert_string_equal(buf_str(&out), "RCPT TO:<u@example.test>");
    buf_fini(&out);
}

/* test_data - dot-stuffing, CRLF and long lines */
static void test_data(void **state)
{
    struct buf out = BUF_INIT;
    size_t col = 0;

    (void) state;
    smtp_data_piece(span_of("Subject: x"), false, 0, &col, &out);
    smtp_data_piece(span_of(""), false, 0, &col, &out);
    smtp_data_piece(span_of("."), false, 0, &col, &out);
    smtp_data_piece(span_of("..a"), false, 0, &col, &out);
    /* A line in two pieces: only its first byte may need a dot. */
    smtp_data_piece(span_of("a"), true, 0, &col, &out);
    smtp_data_piece(span_of(".b"), false, 0, &col, &out);
    smtp_data_end(&out);
    assert_string_equal(buf_str(&out), "Subject: x\r\n\r\n..\r\n...a\r\na.b\r\n"
                                       ".\r\n");
    buf_reset(&out);
    smtp_data_piece(span_of("abcdefgh"), false, 3, &col, &out);
    assert_string_equal(buf_str(&out), "abc\r\n de\r\n fg\r\n h\r\n");
    buf_reset(&out);
    smtp_data_piece(span_of(".abc"), false, 3, &col, &out);
    assert_string_equal(buf_str(&out), "..a\r\n bc\r\n");
    /* A silly limit still makes progress. */
    buf_reset(&out);
    smtp_data_piece(span_of(".ab"), false, 1, &col, &out);
    assert_string_equal(buf_str(&out), "..\r\n a\r\n b\r\n");
    /* A long line in pieces, broken across them. */
    buf_reset(&out);
    smtp_data_piece(span_of("abcd"), true, 3, &col, &out);
    smtp_data_piece(span_of("ef"), false, 3, &col, &out);
    assert_string_equal(buf_str(&out), "abc\r\n de\r\n f\r\n");
    buf_fini(&out);
}

/* main - run the smtp_proto tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_parse), cmocka_unit_test(test_reply_bounds),
        cmocka_unit_test(test_ehlo),        cmocka_unit_test(test_mail_rcpt),
        cmocka_unit_test(test_data),
    };

    msg_init("smtp_proto_test");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
