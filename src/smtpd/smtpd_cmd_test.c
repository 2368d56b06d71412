/* smtpd_cmd_test - the SMTP command parsers against Postfix 3.7's replies.
 *
 * tests/data/smtpd/cmd_golden.txt was recorded by
 * tests/data/smtpd/record_cmd.py from Debian's Postfix 3.7 smtpd (a
 * /work/shared/tools/postfix-ref instance, once with the defaults and once
 * with strict_rfc821_envelopes = yes): each case is a fresh session, a
 * prelude (none, EHLO, EHLO + MAIL, EHLO + MAIL + RCPT), the line under
 * test and Postfix's first reply line to it.  Each line goes through
 * smtpd_line_take, smtpd_cmd_split and the verb's parser here, as the
 * daemon will call them. */
#include "smtpd/smtpd_cmd.h"

#include "lib/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#define GOLDEN "tests/data/smtpd/cmd_golden.txt"

/* Where ulak is deliberately stricter than Postfix (addr.h: RFC 5321's
 * dot-string refuses "a@@b" and control bytes, which Postfix's tokenizer
 * lets through): the line, and ulak's reply. */
static const struct {
    const char *line;
    const char *reply;
} stricter[] = {
    {"MAIL FROM:<a@@b.example>", "501 5.1.7 Bad sender address syntax"},
    {"MAIL FROM:<a\001@b.example>", "501 5.1.7 Bad sender address syntax"},
    {"RCPT TO:<a@@b.example>", "501 5.1.3 Bad recipient address syntax"},
};

/* unhex - the %XX escapes of the golden file undone */
static void unhex(const char *s, struct buf *out)
{
    buf_reset(out);
    while (*s) {
        unsigned v;

        if (*s == '%' && sscanf(s + 1, "%2x", &v) == 1) {
            buf_catc(out, (int) v);
            s += 3;
        } else
            buf_catc(out, *s++);
    }
}

/* answer - what ulak's parsers say to LINE: REPLY, or "" when the syntax
 * is fine (the daemon's state and policy answer then) */
static void answer(struct span raw, const struct smtpd_cmd_opts *o,
                   struct buf *reply)
{
    struct smtpd_cmd cmd;
    struct smtpd_mail m;
    struct smtpd_rcpt r;
    struct buf addr = BUF_INIT;
    struct span line;
    size_t used;
    uint64_t count;
    bool last;

    assert_int_not_equal(smtpd_line_take(raw, SMTPD_LINE_LIMIT, &line, &used),
                         0);
    if (smtpd_cmd_split(line, o, &cmd, reply) != 0)
        return;
    switch (cmd.verb) {
        case SMTPD_VERB_MAIL:
            smtpd_mail_init(&m);
            (void) smtpd_cmd_mail(cmd.args, o, &m, reply);
            smtpd_mail_fini(&m);
            break;
        case SMTPD_VERB_RCPT:
            smtpd_rcpt_init(&r);
            (void) smtpd_cmd_rcpt(cmd.args, o, &r, reply);
            smtpd_rcpt_fini(&r);
            break;
        case SMTPD_VERB_BDAT:
            (void) smtpd_cmd_bdat(cmd.args, &count, &last, reply);
            break;
        case SMTPD_VERB_VRFY:
            if (smtpd_cmd_check_args(&cmd, reply) == 0)
                (void) smtpd_cmd_vrfy(cmd.args, o, &addr, reply);
            break;
        case SMTPD_VERB_HELP:
            smtpd_cmd_unknown(reply);
            break;
        case SMTPD_VERB_UNKNOWN:
        case SMTPD_VERB_HELO:
        case SMTPD_VERB_EHLO:
        case SMTPD_VERB_DATA:
        case SMTPD_VERB_RSET:
        case SMTPD_VERB_NOOP:
        case SMTPD_VERB_QUIT:
        case SMTPD_VERB_ETRN:
        case SMTPD_VERB_AUTH:
        case SMTPD_VERB_STARTTLS:
        case SMTPD_VERB_XCLIENT:
        case SMTPD_VERB_XFORWARD:
            (void) smtpd_cmd_check_args(&cmd, reply);
            break;
    }
    buf_fini(&addr);
}

/* not_syntax - a golden reply that the session state or the policy
 * gives, not the syntax: the parsers must accept the line */
static bool not_syntax(const char *want)
{
    static const char *const daemon[] = {
        "502 5.5.1 Error: command not implemented",
        "503 5.5.1 Error: authentication not enabled",
        "550 5.7.0 Error: insufficient authorization",
        "554 5.5.1 Error: no valid recipients",
        "459 <example.org>: service unavailable",
    };
    size_t i;

    if (want[0] == '2')
        return true;
    for (i = 0; i < sizeof(daemon) / sizeof(daemon[0]); i++)
        if (strcmp(want, daemon[i]) == 0)
            return true;
    return false;
}

/* test_golden - every recorded case */
static void test_golden(void **state)
{
    FILE *fp = fopen(GOLDEN, "r");
    struct buf line = BUF_INIT;
    struct buf reply = BUF_INIT;
    char *text = NULL;
    size_t cap = 0;
    int checked = 0, ok = 0;

    (void) state;
    assert_non_null(fp);
    while (getline(&text, &cap, fp) > 0) {
        char *f[4];
        char *p = text;
        struct smtpd_cmd_opts o;
        int i;
        size_t k;
        const char *want;

        text[strcspn(text, "\n")] = 0;
        for (i = 0; i < 4; i++) {
            f[i] = p;
            p = strchr(p, '\t');
            if (i < 3) {
                assert_non_null(p);
                *p++ = 0;
            }
        }
        smtpd_cmd_opts_default(&o);
        o.strict_rfc821 = strcmp(f[0], "strict") == 0;
        unhex(f[2], &line);
        buf_catc(&line, '\r');
        buf_catc(&line, '\n');
        want = f[3];
        /* A state error comes before the syntax: nothing to compare. */
        if (strncmp(want, "503 ", 4) == 0)
            continue;
        for (k = 0; k < sizeof(stricter) / sizeof(stricter[0]); k++) {
            if (strlen(stricter[k].line) + 2 == buf_len(&line)
                && memcmp(stricter[k].line, line.data, buf_len(&line) - 2) == 0)
                want = stricter[k].reply;
        }
        answer(span_make(line.data, line.len), &o, &reply);
        checked++;
        if (not_syntax(want) ? buf_len(&reply) == 0
                             : strcmp(buf_str(&reply), want) == 0)
            ok++;
        else
            print_message("%s %s [%s]: want \"%s\", got \"%s\"\n", f[0], f[1],
                          f[2], want, buf_str(&reply));
    }
    fclose(fp);
    free(text);
    buf_fini(&line);
    buf_fini(&reply);
    assert_true(checked > 250);
    assert_int_equal(ok, checked);
}

/* test_line_take - bounded line reading */
static void test_line_take(void **state)
{
    struct span line;
    size_t used;
    char big[40];

    (void) state;
    assert_int_equal(
        smtpd_line_take(span_of("NOOP\r\nQUIT\r\n"), 10, &line, &used), 1);
    assert_true(span_eq(line, "NOOP"));
    assert_int_equal(used, 6);
    assert_int_equal(smtpd_line_take(span_of("NOOP\nX"), 10, &line, &used), 1);
    assert_true(span_eq(line, "NOOP"));
    assert_int_equal(used, 5);
    assert_int_equal(smtpd_line_take(span_of("\r\n"), 10, &line, &used), 1);
    assert_int_equal(line.len, 0);
    assert_int_equal(smtpd_line_take(span_of("NOOP\r"), 10, &line, &used), 0);
    memset(big, 'A', sizeof(big));
    assert_int_equal(
        smtpd_line_take(span_make(big, sizeof(big)), 10, &line, &used), 2);
    assert_int_equal(line.len, 10);
    assert_int_equal(used, 10);
    /* A LF just past the limit does not count. */
    assert_int_equal(smtpd_line_take(span_of("0123456789\n"), 10, &line, &used),
                     2);
}

/* test_split - verbs, case, separators */
static void test_split(void **state)
{
    struct smtpd_cmd_opts o;
    struct smtpd_cmd cmd;
    struct buf reply = BUF_INIT;

    (void) state;
    smtpd_cmd_opts_default(&o);
    assert_int_equal(smtpd_cmd_split(span_of("ehlo  a b "), &o, &cmd, &reply),
                     0);
    assert_int_equal(cmd.verb, SMTPD_VERB_EHLO);
    assert_true(span_eq(cmd.args, "a b "));
    assert_int_equal(smtpd_cmd_split(span_of("StartTLS"), &o, &cmd, &reply), 0);
    assert_int_equal(cmd.verb, SMTPD_VERB_STARTTLS);
    assert_int_equal(cmd.args.len, 0);
    assert_int_equal(
        smtpd_cmd_split(span_of("XFORWARD\tNAME=x"), &o, &cmd, &reply), 0);
    assert_int_equal(cmd.verb, SMTPD_VERB_XFORWARD);
    assert_true(span_eq(cmd.args, "NAME=x"));
    assert_string_equal(smtpd_verb_name(SMTPD_VERB_XCLIENT), "XCLIENT");
    assert_null(smtpd_verb_name(SMTPD_VERB_UNKNOWN));
    assert_int_equal(
        smtpd_cmd_split(span_of("MAILX FROM:<>"), &o, &cmd, &reply), -1);
    assert_string_equal(buf_str(&reply),
                        "500 5.5.2 Error: command not recognized");
    /* Without smtputf8_enable, 8-bit bytes are not checked here. */
    o.smtputf8_enable = false;
    assert_int_equal(smtpd_cmd_split(span_of("NOOP \x80"), &o, &cmd, &reply),
                     0);
    buf_fini(&reply);
}

/* test_mail_values - what MAIL's parameters parse to */
static void test_mail_values(void **state)
{
    struct smtpd_cmd_opts o;
    struct smtpd_mail m;
    struct buf reply = BUF_INIT;

    (void) state;
    smtpd_cmd_opts_default(&o);
    smtpd_mail_init(&m);
    assert_int_equal(
        smtpd_cmd_mail(span_of("from:<\"a b\"@x.example> size=1234 "
                               "BODY=8bitmime SMTPUTF8 RET=hdrs "
                               "ENVID=Q+2BZ AUTH=u+40x"),
                       &o, &m, &reply),
        0);
    assert_string_equal(buf_str(&m.addr), "a b@x.example");
    assert_true(m.has_size);
    assert_int_equal(m.size, 1234);
    assert_int_equal(m.body, SMTPD_BODY_8BITMIME);
    assert_true(m.smtputf8);
    assert_int_equal(m.ret, DSN_RET_HDRS);
    assert_true(m.has_envid);
    assert_string_equal(buf_str(&m.envid), "Q+Z");
    assert_true(m.has_auth);
    assert_string_equal(buf_str(&m.auth), "u+40x");
    /* A second call starts afresh. */
    assert_int_equal(smtpd_cmd_mail(span_of("FROM:<>"), &o, &m, &reply), 0);
    assert_string_equal(buf_str(&m.addr), "");
    assert_false(m.has_size);
    assert_int_equal(m.body, SMTPD_BODY_NONE);
    assert_int_equal(m.ret, DSN_RET_NONE);
    assert_false(m.has_envid);
    /* A long address (up to what a command line holds) is kept whole. */
    {
        struct buf line = BUF_INIT;
        size_t i;

        buf_set(&line, "FROM:<");
        for (i = 0; i < 1000; i++)
            buf_catc(&line, 'a');
        buf_cat(&line, "@x.example> ENVID=");
        for (i = 0; i < 400; i++)
            buf_catc(&line, 'e');
        assert_int_equal(
            smtpd_cmd_mail(span_make(line.data, line.len), &o, &m, &reply), 0);
        assert_int_equal(buf_len(&m.addr), 1000 + 10);
        assert_int_equal(buf_len(&m.envid), 400);
        buf_fini(&line);
    }
    /* No size limit: only what does not fit 63 bits is refused. */
    o.message_size_limit = 0;
    assert_int_equal(smtpd_cmd_mail(span_of("FROM:<> SIZE=9223372036854775807"),
                                    &o, &m, &reply),
                     0);
    assert_int_equal(smtpd_cmd_mail(span_of("FROM:<> SIZE=9223372036854775808"),
                                    &o, &m, &reply),
                     -1);
    assert_string_equal(
        buf_str(&reply),
        "552 5.3.4 Message size exceeds file system imposed limit");
    /* Without smtputf8_enable, SMTPUTF8 is an unknown option. */
    o.smtputf8_enable = false;
    assert_int_equal(
        smtpd_cmd_mail(span_of("FROM:<> SMTPUTF8"), &o, &m, &reply), -1);
    assert_string_equal(buf_str(&reply),
                        "555 5.5.4 Unsupported option: SMTPUTF8");
    smtpd_mail_fini(&m);
    buf_fini(&reply);
}

/* test_rcpt_values - what RCPT's parameters parse to */
static void test_rcpt_values(void **state)
{
    struct smtpd_cmd_opts o;
    struct smtpd_rcpt r;
    struct buf reply = BUF_INIT;

    (void) state;
    smtpd_cmd_opts_default(&o);
    smtpd_rcpt_init(&r);
    assert_int_equal(smtpd_cmd_rcpt(span_of("TO:<u@x.example> "
                                            "NOTIFY=success,delay "
                                            "ORCPT=rfc822;u+40y.example"),
                                    &o, &r, &reply),
                     0);
    assert_string_equal(buf_str(&r.addr), "u@x.example");
    assert_int_equal(r.notify, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY);
    assert_true(r.has_orcpt);
    assert_string_equal(buf_str(&r.orcpt_type), "rfc822");
    assert_string_equal(buf_str(&r.orcpt_addr), "u@y.example");
    assert_int_equal(
        smtpd_cmd_rcpt(span_of("TO:<@r.example:u@x.example>"), &o, &r, &reply),
        0);
    assert_string_equal(buf_str(&r.addr), "u@x.example");
    assert_int_equal(r.notify, 0);
    assert_false(r.has_orcpt);
    o.strict_rfc821 = true;
    assert_int_equal(smtpd_cmd_rcpt(span_of("TO:u@x.example"), &o, &r, &reply),
                     -1);
    assert_string_equal(buf_str(&reply),
                        "501 5.1.3 Bad recipient address syntax");
    smtpd_rcpt_fini(&r);
    buf_fini(&reply);
}

/* test_bdat_vrfy - BDAT's count and LAST, VRFY's address */
static void test_bdat_vrfy(void **state)
{
    struct smtpd_cmd_opts o;
    struct buf reply = BUF_INIT;
    struct buf addr = BUF_INIT;
    uint64_t n;
    bool last;

    (void) state;
    smtpd_cmd_opts_default(&o);
    assert_int_equal(smtpd_cmd_bdat(span_of("1048576"), &n, &last, &reply), 0);
    assert_int_equal(n, 1048576);
    assert_false(last);
    assert_int_equal(smtpd_cmd_bdat(span_of("7 Last"), &n, &last, &reply), 0);
    assert_int_equal(n, 7);
    assert_true(last);
    assert_int_equal(smtpd_cmd_bdat(span_of("0 LAST"), &n, &last, &reply), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        smtpd_cmd_vrfy(span_of("<root@x.example> smtputf8"), &o, &addr, &reply),
        0);
    assert_string_equal(buf_str(&addr), "root@x.example");
    assert_int_equal(smtpd_cmd_vrfy(span_of("<>"), &o, &addr, &reply), -1);
    assert_string_equal(buf_str(&reply),
                        "501 5.1.3 Bad recipient address syntax");
    buf_fini(&addr);
    buf_fini(&reply);
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),      cmocka_unit_test(test_line_take),
        cmocka_unit_test(test_split),       cmocka_unit_test(test_mail_values),
        cmocka_unit_test(test_rcpt_values), cmocka_unit_test(test_bdat_vrfy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
