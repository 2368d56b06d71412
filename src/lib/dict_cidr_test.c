/* dict_cidr_test - cidr: IPv4/IPv6 matching and warnings. */
#include "lib/dict.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

static char dir[64];
static char path[128];
static struct buf logged = BUF_INIT;

/* capture - collect msg_* lines for assertions */
static void capture(enum msg_level level, const char *text)
{
    buf_cat(&logged, msg_prefix(level));
    buf_cat(&logged, text);
    buf_catc(&logged, '\n');
}

/* setup - a fresh folder and captured logging */
static int setup(void **state)
{
    (void) state;
    if (str_copy(dir, sizeof(dir), "/tmp/ulak-cidr-XXXXXX") < 0
        || mkdtemp(dir) == NULL)
        return -1;
    (void) snprintf(path, sizeof(path), "%s/t", dir);
    msg_output_stderr(false);
    msg_output_add(capture);
    return 0;
}

/* teardown - remove the folder */
static int teardown(void **state)
{
    char cmd[128];

    (void) state;
    (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    msg_output_remove(capture);
    buf_fini(&logged);
    return system(cmd) == 0 ? 0 : -1;
}

/* write_table - the rules into DIR/t */
static void write_table(const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* with_path - TEXT with every "@F@" replaced by the table path */
static void with_path(struct buf *out, const char *text)
{
    const char *p;

    buf_reset(out);
    while ((p = strstr(text, "@F@")) != NULL) {
        buf_catn(out, text, (size_t) (p - text));
        buf_cat(out, path);
        text = p + 3;
    }
    buf_cat(out, text);
}

struct tcase {
    const char *name;
    const char *rules; /* file text */
    const char *key;
    const char *want; /* NULL: not found */
    const char *log;  /* warnings at open and lookup; @F@ is the path */
};

/* run_cases - each case in a table of its own, via TYPE:path */
static void run_cases(const char *type, const struct tcase *tc, size_t n)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct buf want_log = BUF_INIT;
    struct buf spec = BUF_INIT;

    for (size_t i = 0; i < n; i++) {
        struct dict *d;
        enum lk_result r;

        write_table(tc[i].rules);
        buf_reset(&logged);
        buf_setf(&spec, "%s:%s", type, path);
        d = dict_open(buf_str(&spec), O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
        if (d == NULL)
            fail_msg("%s: open: %s", tc[i].name, buf_str(&why));
        r = dict_lookup(d, tc[i].key, &value);
        if (tc[i].want == NULL && r != LK_NOTFOUND)
            fail_msg("%s: got %d \"%s\", want not found", tc[i].name, r,
                     buf_str(&value));
        if (tc[i].want != NULL
            && (r != LK_FOUND || strcmp(buf_str(&value), tc[i].want) != 0))
            fail_msg("%s: got %d \"%s\", want \"%s\"", tc[i].name, r,
                     r == LK_FOUND ? buf_str(&value) : "", tc[i].want);
        with_path(&want_log, tc[i].log);
        if (strcmp(buf_str(&logged), buf_str(&want_log)) != 0)
            fail_msg("%s: got log\n%s, want\n%s", tc[i].name, buf_str(&logged),
                     buf_str(&want_log));
        dict_close(d);
    }
    buf_fini(&why);
    buf_fini(&value);
    buf_fini(&want_log);
    buf_fini(&spec);
}

static const struct tcase cases[] = {
    {"exact", "1.2.3.4 exact\n", "1.2.3.4", "exact", ""},
    {"network", "10.0.0.0/8 ten\n", "10.2.3.4", "ten", ""},
    {"outside", "10.0.0.0/8 ten\n", "11.2.3.4", NULL, ""},
    {"first match wins", "10.0.0.0/8 a\n10.1.0.0/16 b\n", "10.1.1.1", "a", ""},
    {"brackets", "[192.168.0.0]/16 x\n[172.16.0.0/12] y\n", "172.16.1.1", "y",
     ""},
    {"negation", "!11.0.0.0/8 not11\n", "12.0.0.1", "not11", ""},
    {"negation other family", "!11.0.0.0/8 not11\n", "::1", NULL, ""},
    {"ipv6", "2001:db8::/32 doc\n", "2001:DB8:0::1", "doc", ""},
    {"ipv4-mapped stays ipv6", "::ffff:1.2.3.0/120 m\n1.2.3.4 v4\n",
     "::ffff:102:304", "m", ""},
    {"v4 key, v6 rule", "::ffff:1.2.3.0/120 m\n", "1.2.3.4", NULL, ""},
    {"zero prefix", "0.0.0.0/0 any\n", "255.1.2.3", "any", ""},
    {"odd prefix", "10.0.0.0/9 r\n", "10.127.0.1", "r", ""},
    {"odd prefix miss", "10.0.0.0/9 r\n", "10.128.0.1", NULL, ""},
    {"bad key", "0.0.0.0/0 any\n", "01.2.3.4", NULL, ""},
    {"bracketed key", "0.0.0.0/0 any\n", "[1.2.3.4]", NULL, ""},
    {"if endif", "if 20.0.0.0/8\n20.1.0.0/16 t\nendif\n0.0.0.0/0 any\n",
     "20.2.0.1", "any", ""},
    {"if negated", "if !1.0.0.0/8\n0.0.0.0/0 not1\nendif\n", "2.0.0.1", "not1",
     ""},
    {"result continues", "1.2.3.4 a\n  b\n", "1.2.3.4", "a  b", ""},
    {"bad pattern", "nonsense x\n", "1.2.3.4", NULL,
     "warning: cidr map @F@, line 1: bad address pattern: \"nonsense\": skipping this rule\n"},
    {"bad network", "1.2.3/24 x\n", "1.2.3.4", NULL,
     "warning: cidr map @F@, line 1: bad network value in \"1.2.3/24\": skipping this rule\n"},
    {"bad mask length", "1.2.3.0/33 x\n", "1.2.3.4", NULL,
     "warning: cidr map @F@, line 1: bad mask length in \"1.2.3.0/33\": skipping this rule\n"},
    {"bad mask value", "1.2.3.0/+24 x\n", "1.2.3.4", NULL,
     "warning: cidr map @F@, line 1: bad mask value in \"1.2.3.0/+24\": skipping this rule\n"},
    {"host bits", "10.1.0.1/16 x\n", "10.1.0.1", NULL,
     "warning: cidr map @F@, line 1: non-null host address bits in \"10.1.0.1/16\", perhaps you should use \"10.1.0.0/16\" instead: skipping this rule\n"},
    {"host bits v6", "2001:db8::1/32 x\n", "2001:db8::1", NULL,
     "warning: cidr map @F@, line 1: non-null host address bits in \"2001:db8::1/32\", perhaps you should use \"2001:db8::/32\" instead: skipping this rule\n"},
    {"missing bracket", "[1.2.3.0/24 x\n", "1.2.3.4", NULL,
     "warning: cidr map @F@, line 1: missing ']' character after \"[1.2.3.0/24\": skipping this rule\n"},
    {"garbage after bracket", "[1.2.3.4]x y\n", "1.2.3.4", NULL,
     "warning: cidr map @F@, line 1: garbage after \"[1.2.3.4]\": skipping this rule\n"},
    {"no result", "1.2.3.4\n", "1.2.3.4", NULL,
     "warning: cidr map @F@, line 1: no lookup result: skipping this rule\n"},
    {"no pattern", "if\nendif\n", "1.2.3.4", NULL,
     "warning: cidr map @F@, line 1: no address pattern: skipping this rule\n"
     "warning: cidr map @F@, line 2: ENDIF without IF: skipping this rule\n"},
    {"garbage after endif", "endif junk\n", "1.2.3.4", NULL,
     "warning: cidr map @F@, line 1: garbage after ENDIF: skipping this rule\n"},
    {"if without endif", "if 1.0.0.0/8\n", "1.2.3.4", NULL,
     "warning: cidr map @F@, line 1: IF has no matching ENDIF\n"},
};

/* test_rules - the table above */
static void test_rules(void **state)
{
    (void) state;
    run_cases("cidr", cases, NELEM(cases));
}

/* test_inline - the inline form */
static void test_inline(void **state)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *d;

    (void) state;
    d = dict_open("cidr:{ {1.2.3.0/24 net}, {0.0.0.0/0 all} }", O_RDONLY, 0,
                  &why);
    assert_non_null(d);
    assert_int_equal(dict_lookup(d, "1.2.3.9", &value), LK_FOUND);
    assert_string_equal(buf_str(&value), "net");
    assert_int_equal(dict_lookup(d, "9.9.9.9", &value), LK_FOUND);
    assert_string_equal(buf_str(&value), "all");
    assert_int_equal(dict_lookup(d, "::1", &value), LK_NOTFOUND);
    dict_close(d);
    buf_fini(&why);
    buf_fini(&value);
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_inline),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
