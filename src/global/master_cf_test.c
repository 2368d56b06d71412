/* master_cf_test - unit tests for the master.cf parser. */
#include "global/master_cf.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* Captured warnings, one per line. */
static struct buf logged;

/* capture - msg output that records warnings for the assertions */
static void capture(enum msg_level level, const char *text)
{
    buf_cat(&logged, msg_prefix(level));
    buf_cat(&logged, text);
    buf_catc(&logged, '\n');
}

/* setup - capture msg output */
static int setup(void **state)
{
    (void) state;
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

/* parse - parse TEXT as "./master.cf"; WHY gets the error */
static struct master_cf *parse(const char *text, struct buf *why)
{
    buf_reset(&logged);
    buf_reset(why);
    return master_cf_parse("./master.cf", text, strlen(text), why);
}

/* command_of - the command as postconf prints it, in OUT */
static const char *command_of(const struct master_ent *e, struct buf *out)
{
    buf_reset(out);
    master_ent_format_command(e, out);
    return buf_str(out);
}

/* test_good - columns kept as written, with effective values */
static void test_good(void **state)
{
    struct buf why = BUF_INIT;
    struct buf out = BUF_INIT;
    struct master_cf *cf = parse(
        "# comment\n"
        "\n"
        "smtp      inet  n       -       y       -       -       smtpd\n"
        "pickup    unix  n       -       y       60      1       pickup\n"
        "tlsmgr    unix  -       -       y       1000?   1       tlsmgr\n"
        "postlog   unix-dgram n  -       n       -       1       postlogd\n"
        "127.0.0.1:10025 inet n - n - - smtpd\n"
        "[::1]:25 inet n - n - - smtpd\n"
        "q fifo y y y 0? 007 qmgr\n"
        "p pass - - - ? 0 x\n",
        &why);
    struct master_ent *e;
    bool if_used;

    (void) state;
    assert_non_null(cf);
    assert_string_equal(buf_str(&logged), "");
    e = master_cf_find(cf, "smtp", "inet");
    assert_non_null(e);
    assert_int_equal(e->type, MASTER_TYPE_INET);
    assert_string_equal(e->private_, "n");
    assert_string_equal(e->unpriv, "-");
    assert_int_equal(e->line, 3);
    assert_false(master_ent_private(e));
    assert_true(master_ent_unpriv(e));
    assert_true(master_ent_chroot(e));
    assert_int_equal(master_ent_wakeup(e, &if_used), 0);
    assert_false(if_used);
    assert_int_equal(master_ent_maxproc(e, 100), 100);
    e = master_cf_find(cf, "tlsmgr", NULL);
    assert_int_equal(master_ent_wakeup(e, &if_used), 1000);
    assert_true(if_used);
    assert_int_equal(master_ent_maxproc(e, 100), 1);
    e = master_cf_find(cf, "postlog", "unix-dgram");
    assert_int_equal(e->type, MASTER_TYPE_UNIX_DGRAM);
    assert_false(master_ent_chroot(e));
    e = master_cf_find(cf, "127.0.0.1:10025", "inet");
    assert_non_null(e);
    assert_non_null(master_cf_find(cf, "[::1]:25", "inet"));
    e = master_cf_find(cf, "q", "fifo");
    assert_int_equal(e->type, MASTER_TYPE_FIFO);
    assert_true(master_ent_private(e));
    assert_int_equal(master_ent_wakeup(e, &if_used), 0);
    assert_true(if_used);
    assert_int_equal(master_ent_maxproc(e, 100), 7);
    e = master_cf_find(cf, "p", "pass");
    assert_int_equal(e->type, MASTER_TYPE_PASS);
    assert_int_equal(master_ent_maxproc(e, 100), 0);
    assert_null(master_cf_find(cf, "smtp", "unix"));
    assert_string_equal(command_of(master_cf_find(cf, "pickup", NULL), &out),
                        "pickup");
    master_cf_free(cf);
    master_cf_free(NULL);
    buf_fini(&why);
    buf_fini(&out);
}

/* test_continuation - white space continues a line, across comments and
 * blank lines; the line number is the first physical line */
static void test_continuation(void **state)
{
    struct buf why = BUF_INIT;
    struct buf out = BUF_INIT;
    struct master_cf *cf = parse("#x\n"
                                 "\n"
                                 "a unix - - n - -\n"
                                 "  # c\n"
                                 "\n"
                                 "  x\n"
                                 "b unix - - n - - smtp\n"
                                 "  -o a=1\n"
                                 "\t-o b=2\n"
                                 "c unix - - n - - smtp\r\n"
                                 "\r\n"
                                 " y\n",
                                 &why);

    (void) state;
    assert_non_null(cf);
    struct master_ent *e = master_cf_find(cf, "a", "unix");
    assert_int_equal(e->line, 3);
    assert_string_equal(command_of(e, &out), "x");
    e = master_cf_find(cf, "b", "unix");
    assert_int_equal(e->line, 7);
    assert_string_equal(command_of(e, &out), "smtp -o a=1 -o b=2");
    e = master_cf_find(cf, "c", "unix");
    assert_string_equal(command_of(e, &out), "smtp y");
    master_cf_free(cf);
    buf_fini(&why);
    buf_fini(&out);
}

/* test_leading_space - a first line with white space is skipped, warned */
static void test_leading_space(void **state)
{
    struct buf why = BUF_INIT;
    struct master_cf *cf =
        parse("  a unix - - n - - smtp\nb unix - - n - - smtp\n", &why);

    (void) state;
    assert_non_null(cf);
    assert_null(master_cf_find(cf, "a", NULL));
    assert_non_null(master_cf_find(cf, "b", NULL));
    assert_string_equal(buf_str(&logged),
                        "warning: ./master.cf: logical line must not start "
                        "with whitespace: \"  a unix - - n - - smtp\"\n");
    master_cf_free(cf);
    buf_fini(&why);
}

/* A command line and how postconf prints it. */
struct cmd_case {
    const char *name;
    const char *in;   /* the text after the seven columns */
    const char *want; /* master_ent_format_command */
    const char *log;  /* warnings */
};

static const struct cmd_case cmd_cases[] = {
    {"plain", "smtp", "smtp", ""},
    {"groups", "pipe flags=R argv=/bin/x { a b } {c d } { e}",
     "pipe flags=R argv=/bin/x {a b} {c d} e", ""},
    {"first non-option as is", "smtp {a b} {c d}", "smtp a b {c d}", ""},
    {"nested", "smtp x {{a} b} {{a}b}", "smtp x {{a} b} {a}b", ""},
    {"after --", "smtp -- {a b}", "smtp -- {a b}", ""},
    {"empty groups", "smtp q {}  { } r", "smtp q   r", ""},
    {"command group", "{smtp x} y", "{smtp x} y", ""},
    {"command group as written", "{ cmd }x {a}", "{ cmd }x a", ""},
    {"-o group", "smtp -o { x = a b c } -o {y=2}", "smtp -o {x=a b c} -o y=2",
     ""},
    {"-o clusters", "smtpd -vo x=1 -ox=2 -Dv", "smtpd -v -o x=1 -o x=2 -Dv",
     ""},
    {"-o at end", "smtp -o x=1 -o", "smtp -o x=1 -o", ""},
    {"options stop", "smtpd -t x -o y=1", "smtpd -t x -o y=1", ""},
    {"lone dash", "smtp - {a = b} -o y=1", "smtp - {a = b} -o y=1", ""},
    {"missing }", "smtp q { a b", "smtp q {a b}",
     "warning: master.cf: missing '}' in \"{ a b\"\n"},
    {"text after }", "smtp q {x y}z w", "smtp q {x y} w",
     "warning: master.cf: syntax error after '}' in \"{x y}z\"\n"},
    {"-o no =", "smtp -o {a b}", "smtp -o {a b}",
     "warning: master.cf: missing '=' after attribute name: \"a b\"\n"},
    {"-o no name", "smtp -o { =c }", "smtp -o =c",
     "warning: master.cf: missing attribute name: \"=c\"\n"},
    {"-o tab", "smtp -o {a\tb=c}", "smtp -o {a\tb=c}",
     "warning: master.cf: missing '=' after attribute name: \"a?b=c\"\n"},
    {"group stops option scan", "smtpd {-v} -ox=1 {p 1} {p 2} {p 3}",
     "smtpd -v -ox=1 {p 1} p 2 {p 3}", ""},
    {"group stops before -t", "smtpd {-v} -t -ox=1 aaaa {a=b c} {c d}",
     "smtpd -v -t -ox=1 aaaa a=b c {c d}", ""},
    {"-t takes no argument", "smtpd -t -ox=1 aaaa {a=b c} {c d}",
     "smtpd -t -o x=1 aaaa {a=b c} {c d}", ""},
    {"lone dash takes a word", "smtpd - -oa=b -vo -Dvo -v b}",
     "smtpd - -oa=b -v -o -Dvo -v b}", ""},
    {"dash then --", "pipe - -- -ox=1 ${recipient} {a b}",
     "pipe - -- -o x=1 ${recipient} {a b}", ""},
    {"warnings in reading order", "smtpd -o {{a} b} -o {} {a b",
     "smtpd -o {{a} b} -o  a b",
     "warning: master.cf: missing '=' after attribute name: \"{a} b\"\n"
     "warning: master.cf: missing attribute name: \"\"\n"
     "warning: master.cf: missing '}' in \"{a b\"\n"},
};

/* test_commands - grouping, option normalization and warnings */
static void test_commands(void **state)
{
    struct buf why = BUF_INIT;
    struct buf text = BUF_INIT;
    struct buf out = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(cmd_cases); i++) {
        const struct cmd_case *c = &cmd_cases[i];
        buf_setf(&text, "a unix - - n - - %s\n", c->in);
        struct master_cf *cf = parse(buf_str(&text), &why);
        if (cf == NULL)
            fail_msg("%s: got error %s", c->name, buf_str(&why));
        const char *got = command_of(cf->head, &out);
        if (strcmp(got, c->want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", c->name, got, c->want);
        if (strcmp(buf_str(&logged), c->log) != 0)
            fail_msg("%s: got log \"%s\", want \"%s\"", c->name,
                     buf_str(&logged), c->log);
        master_cf_free(cf);
    }
    buf_fini(&why);
    buf_fini(&text);
    buf_fini(&out);
}

/* test_opts - the -o overrides as name/value pairs */
static void test_opts(void **state)
{
    struct buf why = BUF_INIT;
    struct master_cf *cf =
        parse("a unix - - n - - smtpd -o content_filter= -o { x = a b c }\n"
              "  -ox=2 -vo y=3 -o foo -o =bar -o {a b = c} -o z=1 arg\n"
              "  -o after=args\n",
              &why);
    static const char *const want[][2] = {
        {"content_filter", ""},
        {"x", "a b c"},
        {"x", "2"},
        {"y", "3"},
        {"z", "1"},
    };
    size_t n;

    (void) state;
    assert_non_null(cf);
    const struct master_opt *o = master_ent_opts(cf->head, &n);
    assert_int_equal(n, NELEM(want));
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(o[i].name, want[i][0]);
        assert_string_equal(o[i].value, want[i][1]);
    }
    master_cf_free(cf);
    buf_fini(&why);
}

/* test_opts_second_scan - overrides come from the second scan: after a
 * { } group, a braced "-o" still counts, "-ox=1" does not */
static void test_opts_second_scan(void **state)
{
    struct buf why = BUF_INIT;
    struct master_cf *cf = parse("a unix - - n - - smtpd {-o} x=1 y\n"
                                 "b unix - - n - - smtpd {-v} -ox=1 y=2\n"
                                 "c unix - - n - - smtpd {-v} -o {x = 1}\n"
                                 "d unix - - n - - smtpd - x=1 -o {y=1 2}\n",
                                 &why);
    size_t n;
    const struct master_opt *o;

    (void) state;
    assert_non_null(cf);
    o = master_ent_opts(master_cf_find(cf, "a", NULL), &n);
    assert_int_equal(n, 1);
    assert_string_equal(o[0].name, "x");
    assert_string_equal(o[0].value, "1");
    master_ent_opts(master_cf_find(cf, "b", NULL), &n);
    assert_int_equal(n, 0);
    o = master_ent_opts(master_cf_find(cf, "c", NULL), &n);
    assert_int_equal(n, 1);
    assert_string_equal(o[0].name, "x");
    assert_string_equal(o[0].value, "1");
    o = master_ent_opts(master_cf_find(cf, "d", NULL), &n);
    assert_int_equal(n, 1);
    assert_string_equal(o[0].name, "y");
    assert_string_equal(o[0].value, "1 2");
    master_cf_free(cf);
    buf_fini(&why);
}

/* A bad line and Postfix's message with file and line in front. */
struct bad_case {
    const char *in;
    const char *want;
};

static const struct bad_case bad_cases[] = {
    {"a unix \xe2\x80\x93 - n - - smtp",
     "file ./master.cf: line 3: invalid private field \"???\" in \"a unix ??? "
     "- n - - smtp\""},
    {"a unix x - n - - smtp", "file ./master.cf: line 3: invalid private "
                              "field \"x\" in \"a unix x - n - - smtp\""},
    {"a unix - x n - - smtp",
     "file ./master.cf: line 3: invalid unprivileged field \"x\" in \"a unix "
     "- x n - - smtp\""},
    {"a unix - - Y - - smtp", "file ./master.cf: line 3: invalid chroot "
                              "field \"Y\" in \"a unix - - Y - - smtp\""},
    {"a unix - - n -1 - smtp", "file ./master.cf: line 3: invalid wakeup "
                               "field \"-1\" in \"a unix - - n -1 - smtp\""},
    {"a unix - - n 10?? - smtp",
     "file ./master.cf: line 3: invalid wakeup field \"10??\" in \"a unix - "
     "- n 10?? - smtp\""},
    {"spf unix - n n -- spawn user=nobody",
     "file ./master.cf: line 3: invalid wakeup field \"--\" in \"spf unix - "
     "n n -- spawn user=nobody\""},
    {"a unix - - n - +1 smtp",
     "file ./master.cf: line 3: invalid process_limit field \"+1\" in \"a "
     "unix - - n - +1 smtp\""},
    {"a UNIX - - n - - smtp", "file ./master.cf: line 3: invalid type field "
                              "\"UNIX\" in \"a UNIX - - n - - smtp\""},
    {"a unix - - n - -", "file ./master.cf: line 3: bad field count"},
    {"a", "file ./master.cf: line 3: bad field count"},
    {"b unix x\n  # c\n  - n - - smtp",
     "file ./master.cf: line 3: invalid private field \"x\" in \"b unix x  - "
     "n - - smtp\""},
    {"a\tunix - - x - - smtp", "file ./master.cf: line 3: invalid chroot "
                               "field \"x\" in \"a?unix - - x - - smtp\""},
    {"a unix {n} - n - - smtp", "file ./master.cf: line 3: invalid private "
                                "field \"{n}\" in \"a unix {n} - n - - smtp\""},
    {"a { unix } - - n - - smtp",
     "file ./master.cf: line 3: invalid type field \"{ unix }\" in \"a { unix "
     "} - - n - - smtp\""},
    {"{a b unix - - n - - smtp", "file ./master.cf: line 3: bad field count"},
};

/* test_bad - every column error names the file and the line */
static void test_bad(void **state)
{
    struct buf why = BUF_INIT;
    struct buf text = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(bad_cases); i++) {
        buf_setf(&text, "ok unix - - n - - smtp\n\n%s\nz unix - - n - - z\n",
                 bad_cases[i].in);
        struct master_cf *cf = parse(buf_str(&text), &why);
        if (cf != NULL)
            fail_msg("\"%s\": parsed, want error", bad_cases[i].in);
        if (strcmp(buf_str(&why), bad_cases[i].want) != 0)
            fail_msg("got \"%s\", want \"%s\"", buf_str(&why),
                     bad_cases[i].want);
    }
    buf_fini(&why);
    buf_fini(&text);
}

/* test_group_columns - braces in the columns stay part of the value */
static void test_group_columns(void **state)
{
    struct buf why = BUF_INIT;
    struct master_cf *cf =
        parse("{a b} unix - - n - - smtp\n{x}y inet n - n - - smtpd\n", &why);

    (void) state;
    assert_non_null(cf);
    assert_non_null(master_cf_find(cf, "{a b}", "unix"));
    assert_non_null(master_cf_find(cf, "{x}y", "inet"));
    assert_string_equal(buf_str(&logged), "");
    master_cf_free(cf);
    buf_fini(&why);
}

/* test_inet_private - postconf accepts private=y for inet, as Postfix's
 * postconf does; the effective value is n (master(5)) */
static void test_inet_private(void **state)
{
    struct buf why = BUF_INIT;
    struct master_cf *cf = parse("a inet y - n - - smtpd\n", &why);

    (void) state;
    assert_non_null(cf);
    assert_string_equal(cf->head->private_, "y");
    assert_false(master_ent_private(cf->head));
    master_cf_free(cf);
    buf_fini(&why);
}

/* test_duplicates - all lines kept, the last one counts */
static void test_duplicates(void **state)
{
    struct buf why = BUF_INIT;
    struct master_cf *cf = parse("a unix - - n - - one\n"
                                 "b unix - - n - - b\n"
                                 "a inet - - n - - smtpd\n"
                                 "a unix - - y - - two\n",
                                 &why);
    struct buf out = BUF_INIT;

    (void) state;
    assert_non_null(cf);
    assert_string_equal(command_of(master_cf_find(cf, "a", "unix"), &out),
                        "two");
    assert_string_equal(command_of(master_cf_find(cf, "a", NULL), &out), "two");
    assert_string_equal(command_of(master_cf_find(cf, "a", "inet"), &out),
                        "smtpd");
    assert_string_equal(command_of(cf->head, &out), "one");
    struct argv *s = master_cf_services(cf);
    assert_int_equal(s->argc, 2);
    assert_string_equal(s->argv[0], "a");
    assert_string_equal(s->argv[1], "b");
    argv_free(s);
    master_cf_free(cf);
    buf_fini(&why);
    buf_fini(&out);
}

/* test_load - a missing file is reported like Postfix's open error */
static void test_load(void **state)
{
    struct buf why = BUF_INIT;

    (void) state;
    assert_null(master_cf_load("/nonexistent/master.cf", &why));
    assert_string_equal(buf_str(&why), "open /nonexistent/master.cf: No such "
                                       "file or directory");
    buf_fini(&why);
}

/* test_format_field - braces only around values with blanks */
static void test_format_field(void **state)
{
    struct buf out = BUF_INIT;

    (void) state;
    master_format_field("my svc", &out);
    master_format_field("unix", &out);
    assert_string_equal(buf_str(&out), "{my svc}unix");
    buf_fini(&out);
}

/* main - run the master_cf tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_continuation),
        cmocka_unit_test(test_leading_space),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_opts_second_scan),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_group_columns),
        cmocka_unit_test(test_inet_private),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_format_field),
    };

    msg_init("master_cf_test");
    return cmocka_run_group_tests(tests, setup, teardown);
}
