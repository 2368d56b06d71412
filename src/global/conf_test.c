/* conf_test - unit tests for main.cf reading, expansion and validation. */
#include "global/conf.h"
#include "global/params.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <unistd.h>

static char dir[64];
static struct buf logged;

/* capture - msg output that the tests assert on */
static void capture(enum msg_level level, const char *text)
{
    buf_catf(&logged, "%s%s\n", msg_prefix(level), text);
}

/* write_conf - a fresh config directory holding MAIN as main.cf */
static void write_conf(const char *main, const char *master)
{
    char path[128];
    FILE *fp;
    struct buf why = BUF_INIT;

    str_copy(dir, sizeof(dir), "/tmp/conf_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    str_fmt(path, sizeof(path), "%s/main.cf", dir);
    assert_non_null(fp = fopen(path, "w"));
    fputs(main, fp);
    fclose(fp);
    str_fmt(path, sizeof(path), "%s/master.cf", dir);
    assert_non_null(fp = fopen(path, "w"));
    fputs(master ? master : "", fp);
    fclose(fp);
    conf_set_dir(dir);
    conf_defaults_only(false);
    buf_reset(&logged);
    (void) conf_load(&why);
    buf_fini(&why);
}

/* remove_conf - delete the config directory */
static void remove_conf(void)
{
    char path[128];

    str_fmt(path, sizeof(path), "%s/main.cf", dir);
    unlink(path);
    str_fmt(path, sizeof(path), "%s/master.cf", dir);
    unlink(path);
    rmdir(dir);
}

static const char *expand_main_cf = "a = A\n"
                                    "b = $a$a\n"
                                    "empty =\n"
                                    "nested = ${b?{x$b}:{y}}\n"
                                    "loop1 = $loop2\n"
                                    "loop2 = x $loop1\n"
                                    "self = $self\n"
                                    "compatibility_level = 3.6\n";

struct expand_case {
    const char *name;
    const char *in;
    const char *want; /* NULL: expect an error, WHY in why */
    const char *why;
};

static const struct expand_case expand_cases[] = {
    {"plain", "text", "text", NULL},
    {"dollar name", "<$a>", "<A>", NULL},
    {"braces", "<${a}>", "<A>", NULL},
    {"parens", "<$(a)>", "<A>", NULL},
    {"recursive", "$b", "AA", NULL},
    {"double dollar", "$$a", "$a", NULL},
    {"undefined", "<$nosuch>", "<>", NULL},
    {"name ends at punct", "$a.$a", "A.A", NULL},
    {"if set", "${a?yes}", "yes", NULL},
    {"if set, empty", "${empty?yes}", "", NULL},
    {"if unset", "${empty:no}", "no", NULL},
    {"if unset, set", "${a:no}", "", NULL},
    {"braced if", "${a?{ x y }}", "x y", NULL},
    {"braced if/else true", "${a?{t}:{f}}", "t", NULL},
    {"braced if/else false", "${empty?{t}:{f}}", "f", NULL},
    {"else without braces", "${empty?{t}:f g}", "f g", NULL},
    {"nested", "$nested", "xAA", NULL},
    {"nested expansion in value", "${a?{$b}:{$a}}", "AA", NULL},
    {"equal", "${{$a} == {A} ? {eq} : {ne}}", "eq", NULL},
    {"not equal", "${{$a} != {A} ? {eq} : {ne}}", "ne", NULL},
    {"numeric less", "${{9} < {10} ? {lt} : {ge}}", "lt", NULL},
    {"lexical less", "${{b} < {a} ? {lt} : {ge}}", "ge", NULL},
    {"less or equal", "${{10} <= {10} ? {y} : {n}}", "y", NULL},
    {"greater", "${{10} > {9} ? {y} : {n}}", "y", NULL},
    {"greater or equal", "${{9} >= {10} ? {y} : {n}}", "n", NULL},
    {"bare relation true", "${{x}=={x}}", "true", NULL},
    {"bare relation false", "${{x}=={y}}", "", NULL},
    {"relation else only", "${{x}=={y}:no}", "no", NULL},
    {"level less", "${{$compatibility_level} <level {2} ? {old} : {new}}",
     "new", NULL},
    {"level 3.6 vs 3.10", "${{3.6} <level {3.10} ? {lt} : {ge}}", "lt", NULL},
    {"level equal", "${{3} >=level {3.0} ? {y} : {n}}", "y", NULL},
    {"level greater", "${{3.6} >level {3.5.9} ? {y} : {n}}", "y", NULL},
    {"level less-equal", "${{2} <=level {1} ? {y} : {n}}", "n", NULL},
    {"bad level", "${{abc} <level {2} ? {y} : {n}}", NULL,
     "malformed compatibility level syntax: \"abc\""},
    {"empty level", "${{3.6} <level {} ? {y} : {n}}", NULL,
     "malformed compatibility level syntax: \"\""},
    {"level 3.6x", "${{3.6x} <level {2} ? {y} : {n}}", NULL,
     "malformed compatibility level syntax: \"3.6x\""},
    {"loop", "$loop1", NULL, "unreasonable macro call nesting: \"loop2\""},
    {"self loop", "$self", NULL, "unreasonable macro call nesting: \"self\""},
    {"empty name", "a$", NULL, "empty macro name: \"a$\""},
    {"empty name punct", "a$-b", NULL, "empty macro name: \"a$-b\""},
    {"truncated", "${foo", NULL, "truncated macro reference: \"${foo\""},
    {"unexpected after else", "${nosuch:{a}:{b}}", NULL,
     "unexpected input at: \"...a}>>>:{b}\""},
    {"attribute name syntax", "${a)}", NULL,
     "attribute name syntax error at: \"...a>>>)\""},
    {"attribute name syntax, empty name", "${$$=x}", NULL,
     "attribute name syntax error at: \"...>>>$$=x\""},
    {"empty braces", "x${}y", NULL, "empty macro name: \"x${}y\""},
    {"blank name is undefined", "<${ }>", "<>", NULL},
    {"colon expected", "${a?{a}junk}", NULL,
     "\":\" expected at: \"...a}>>>junk\""},
    {"bad operator suffix", "${{}==0?{a}:{b}}", NULL,
     "bad operator suffix at: \"...==>>>0\""},
};

/* test_expand - every expansion form, table-driven */
static void test_expand(void **state)
{
    (void) state;
    write_conf(expand_main_cf, NULL);
    for (size_t i = 0; i < NELEM(expand_cases); i++) {
        const struct expand_case *c = &expand_cases[i];
        struct buf out = BUF_INIT;
        struct buf why = BUF_INIT;
        int rc = conf_expand(c->in, &out, &why, NULL);

        if (c->want) {
            if (rc != 0 || strcmp(buf_str(&out), c->want) != 0)
                fail_msg("%s: %s: got \"%s\" (rc %d, %s), want \"%s\"", c->name,
                         c->in, buf_str(&out), rc, buf_str(&why), c->want);
        } else if (rc != -1 || strcmp(buf_str(&why), c->why) != 0) {
            fail_msg("%s: %s: got rc %d why \"%s\", want error \"%s\"", c->name,
                     c->in, rc, buf_str(&why), c->why);
        }
        buf_fini(&out);
        buf_fini(&why);
    }
    /* conf_str is lazy and recursive too, and a loop gives "" plus a
     * warning instead of a crash. */
    assert_string_equal(conf_str("b"), "AA");
    assert_string_equal(conf_str("loop1"), "");
    assert_non_null(strstr(buf_str(&logged), "unreasonable macro call"));
    remove_conf();
}

/* test_logical_lines - continuation, comments inside values, last wins */
static void test_logical_lines(void **state)
{
    int line = -1;

    (void) state;
    write_conf("# comment\n"
               "myhostname   =   host.example.com   \n"
               "mydomain = a\n"
               "  # a comment inside the value\n"
               "\n"
               "   b\n"
               "\tc\n"
               "relayhost = first\n"
               "relayhost=second\n"
               "myorigin=\n",
               NULL);
    assert_string_equal(conf_str("myhostname"), "host.example.com");
    assert_string_equal(conf_str("mydomain"), "a   b\tc");
    assert_string_equal(conf_str("relayhost"), "second");
    assert_true(conf_is_set("relayhost", &line));
    assert_int_equal(line, 9);
    assert_true(conf_is_set("myorigin", &line));
    assert_string_equal(conf_str("myorigin"), "");
    assert_false(conf_is_set("mynetworks", NULL));
    /* -c sets config_directory as an earlier entry. */
    assert_true(conf_is_set("config_directory", &line));
    assert_int_equal(line, 0);
    assert_string_equal(conf_str("config_directory"), dir);
    assert_non_null(strstr(buf_str(&logged),
                           "line 9: overriding earlier entry: "
                           "relayhost=first"));
    /* Defaults expand through the values that are set. */
    assert_string_equal(conf_str("mydestination"),
                        "host.example.com, localhost.a   b\tc, localhost");
    conf_override("relayhost", "[override]");
    assert_string_equal(conf_str("relayhost"), "[override]");
    remove_conf();
}

/* test_defaults - the table, compatibility levels, host defaults */
static void test_defaults(void **state)
{
    const struct param *p;

    (void) state;
    write_conf("", NULL);
    assert_string_equal(conf_raw("smtpd_banner"),
                        "$myhostname ESMTP $mail_name");
    assert_string_equal(conf_str("mail_name"), "ulak");
    assert_string_equal(conf_str("append_dot_mydomain"), "yes");
    assert_string_equal(conf_str("smtpd_relay_restrictions"), "");
    assert_non_null(p = params_find("message_size_limit"));
    assert_int_equal(p->type, PARAM_SIZE);
    assert_int_equal(conf_size("message_size_limit"), 10240000);
    assert_int_equal(conf_time("maximal_queue_lifetime"), 5 * 86400);
    assert_int_equal(conf_time("smtpd_timeout"), 300);
    assert_true(conf_bool("biff"));
    assert_int_equal(conf_int("smtpd_recipient_limit"), 1000);
    assert_null(params_find("no_such_parameter"));
    assert_non_null(strchr(conf_str("myhostname"), '.'));
    remove_conf();

    write_conf("compatibility_level = 3.6\n", NULL);
    assert_string_equal(conf_str("append_dot_mydomain"), "no");
    assert_string_equal(conf_str("smtpd_relay_restrictions"),
                        "permit_mynetworks, permit_sasl_authenticated, "
                        "defer_unauth_destination");
    assert_string_equal(conf_str("mynetworks_style"), "host");
    remove_conf();

    write_conf("myhostname = mx.example.org\n", NULL);
    assert_string_equal(conf_str("mydomain"), "example.org");
    assert_string_equal(conf_str("myorigin"), "mx.example.org");
    remove_conf();
}

struct parse_case {
    const char *in;
    char unit;
    int rc;
    long want;
};

/* test_types - time units, numbers, booleans */
static void test_types(void **state)
{
    static const struct parse_case times[] = {
        {"10", 's', 0, 10},
        {"10s", 'd', 0, 10},
        {"2m", 's', 0, 120},
        {"3h", 's', 0, 10800},
        {"5d", 's', 0, 432000},
        {"1w", 's', 0, 604800},
        {"7", 'd', 0, 604800},
        {"1H", 's', 0, 3600},
        {"", 's', -1, 0},
        {"s", 's', -1, 0},
        {"10x", 's', -1, 0},
        {"1.5h", 's', -1, 0},
        {"-1", 's', -1, 0},
        {"10 s", 's', -1, 0},
        {"99999999999999999w", 's', -1, 0},
    };
    long n;
    bool b;

    (void) state;
    for (size_t i = 0; i < NELEM(times); i++) {
        int rc = conf_parse_time(times[i].in, times[i].unit, &n);

        if (rc != times[i].rc || (rc == 0 && n != times[i].want))
            fail_msg("time \"%s\" unit %c: got rc %d value %ld, want rc %d "
                     "value %ld",
                     times[i].in, times[i].unit, rc, n, times[i].rc,
                     times[i].want);
    }
    assert_int_equal(conf_parse_long("10240000", &n), 0);
    assert_int_equal(n, 10240000);
    assert_int_equal(conf_parse_long("10MB", &n), -1);
    assert_int_equal(conf_parse_long("", &n), -1);
    assert_int_equal(conf_parse_bool("yes", &b), 0);
    assert_true(b);
    assert_int_equal(conf_parse_bool("NO", &b), 0);
    assert_false(b);
    assert_int_equal(conf_parse_bool("maybe", &b), -1);
}

/* test_check - every problem at once, with file:line: name: why */
static void test_check(void **state)
{
    struct buf want = BUF_INIT;

    (void) state;
    write_conf("myhostname = mx.example.com\n"
               "message_size_limit = 10MB\n"
               "biff = maybe\n"
               "smtpd_timeout = 5x\n"
               "address_verify_negative_expire_time = 0\n"
               "smtpd_tls_cert_file = /etc/ssl/cert.pem\n"
               "foo = bar\n"
               "used = x\n"
               "relayhost = $used\n"
               "smtpd_restriction_classes = cls\n"
               "cls = permit\n"
               "alias_maps = ldap:PostfixUser\n"
               "PostfixUser_server_host = ldap.example.com\n"
               "PostfixUser_bogus = 1\n"
               "smtp-amavis_delivery_slot_cost = 2\n"
               "badline\n"
               "loop = $loop\n"
               "helo_from_master = mx.example.com\n"
               "myorigin = $mydomain_typo\n"
               /* acted on through its default: no warning */
               "smtp-amavis_initial_destination_concurrency = 2\n",
               "smtp-amavis unix - - n - 2 smtp\n"
               "  -o smtp_tls_servername=$helo_from_master\n");
    buf_reset(&logged);
    assert_int_equal(conf_check(), 6);
    buf_setf(&want,
             "error: %s/main.cf:16: missing '=' after attribute name: "
             "\"badline\"\n"
             "error: %s/main.cf:2: message_size_limit: \"10MB\" is not a "
             "size\n"
             "error: %s/main.cf:3: biff: \"maybe\" is not a boolean (yes or "
             "no)\n"
             "warning: %s/main.cf:3: biff: accepted, not acted on yet by "
             "ulak\n"
             "error: %s/main.cf:4: smtpd_timeout: \"5x\" is not a time\n"
             "error: %s/main.cf:5: address_verify_negative_expire_time: "
             "\"0\" is below the minimum of 1\n"
             "warning: %s/main.cf:5: address_verify_negative_expire_time: "
             "accepted, not acted on yet by ulak\n"
             "warning: %s/main.cf:6: smtpd_tls_cert_file: accepted, not "
             "acted on yet by ulak\n"
             "warning: %s/main.cf: unused parameter: foo=bar\n"
             "warning: %s/main.cf:13: PostfixUser_server_host: accepted, "
             "not acted on yet by ulak\n"
             "warning: %s/main.cf: unused parameter: PostfixUser_bogus=1\n"
             "warning: %s/main.cf:15: "
             "smtp-amavis_delivery_slot_cost: accepted, not "
             "acted on yet by ulak\n"
             "error: %s/main.cf:17: loop: unreasonable macro call nesting: "
             "\"loop\"\n"
             "warning: %s/main.cf:19: myorigin: undefined parameter: "
             "mydomain_typo\n"
             "warning: master.cf: service smtp-amavis/unix: -o "
             "smtp_tls_servername: accepted, not acted on yet by ulak\n",
             dir, dir, dir, dir, dir, dir, dir, dir, dir, dir, dir, dir, dir,
             dir);
    if (strcmp(buf_str(&logged), buf_str(&want)) != 0) {
        fprintf(stderr, "got:\n%swant:\n%s", buf_str(&logged), buf_str(&want));
        fail();
    }
    buf_fini(&want);
    remove_conf();
}

/* test_every_default_validates - a main.cf that sets every parameter to
 * its own default text passes the type and bound checks */
static void test_every_default_validates(void **state)
{
    size_t count;
    const struct param *t = params_table(&count);
    struct buf main = BUF_INIT;

    (void) state;
    assert_true(count > 800);
    for (size_t i = 0; i < count; i++)
        if (!(t[i].flags & (PARAM_RO | PARAM_DYN)))
            buf_catf(&main, "%s = %s\n", t[i].name, t[i].def);
    write_conf(buf_str(&main), NULL);
    buf_reset(&logged);
    if (conf_check() != 0 || strstr(buf_str(&logged), "error: /"))
        fail_msg("got %s", strstr(buf_str(&logged), "error: /"));
    assert_null(strstr(buf_str(&logged), "unused parameter"));
    buf_fini(&main);
    remove_conf();
}

/* test_lists - white space and commas split, { } groups do not */
static void test_lists(void **state)
{
    static const struct {
        const char *in;
        const char *want; /* elements joined with '|' */
    } cases[] = {
        {"", ""},
        {"a", "a"},
        {"a, b,c  d\n\te", "a|b|c|d|e"},
        {" ,, a ,, ", "a"},
        {"hash:/etc/aliases, inline:{ a=b, c=d }, static:x",
         "hash:/etc/aliases|inline:{ a=b, c=d }|static:x"},
        {"{ name = value with spaces }, permit",
         "{ name = value with spaces }|permit"},
        {"pcre:{{/a b/ REJECT}, {/c/ OK}}", "pcre:{{/a b/ REJECT}, {/c/ OK}}"},
    };
    struct argv *a;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        struct buf got = BUF_INIT;

        a = conf_split_list(cases[i].in);
        for (size_t j = 0; j < a->argc; j++)
            buf_catf(&got, "%s%s", j ? "|" : "", a->argv[j]);
        if (strcmp(buf_str(&got), cases[i].want) != 0)
            fail_msg("list \"%s\": got \"%s\", want \"%s\"", cases[i].in,
                     buf_str(&got), cases[i].want);
        argv_free(a);
        buf_fini(&got);
    }
    write_conf("myhostname = mx.example.com\nmydomain = example.com\n", NULL);
    a = conf_list("mydestination");
    assert_int_equal(a->argc, 3);
    assert_string_equal(a->argv[1], "localhost.example.com");
    argv_free(a);
    remove_conf();
}

/* test_check_clean - a plain main.cf has no errors and no warnings */
static void test_check_clean(void **state)
{
    (void) state;
    write_conf("myhostname = mx.example.com\n"
               "mydomain = example.com\n"
               "mydestination = $myhostname, localhost.$mydomain, localhost\n"
               "mynetworks = 127.0.0.0/8 [::1]/128\n"
               "alias_maps = hash:/etc/aliases\n"
               "compatibility_level = 3.7\n",
               NULL);
    buf_reset(&logged);
    assert_int_equal(conf_check(), 0);
    assert_string_equal(buf_str(&logged), "");
    remove_conf();
}

/* main - run the conf tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_logical_lines),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_check_clean),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_every_default_validates),
    };

    msg_init("conf_test");
    msg_output_add(capture);
    msg_output_stderr(false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
