/* dict_pcre_test - pcre: flags, substitution and warnings. */
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
    if (str_copy(dir, sizeof(dir), "/tmp/ulak-pcre-XXXXXX") < 0
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
    {"first match wins", "/^a/ one\n/^ab/ two\n", "abc", "one", ""},
    {"groups", "/^(a)(b)?c$/ [$1] [$2] [${1}] [$(2)] [$$]\n", "ac",
     "[a] [] [a] [] [$]", ""},
    {"caseless default", "/^abc$/ yes\n", "ABC", "yes", ""},
    {"i toggles case", "/^abc$/i yes\n", "ABC", NULL, ""},
    {"dotall default", "/a.b/ r\n", "a\nb", "r", ""},
    {"s toggles dotall", "/a.b/s r\n", "a\nb", NULL, ""},
    {"m multiline", "/^b$/m r\n", "a\nb", "r", ""},
    {"x extended", "/a b/x r\n", "ab", "r", ""},
    {"A anchored", "/b/A r\n", "ab", NULL, ""},
    {"E dollar endonly", "/a$/E r\n", "a\n", NULL, ""},
    {"dollar before final newline", "/a$/ r\n", "a\n", "r", ""},
    {"U ungreedy", "/a(.+)/U r$1\n", "abc", "rb", ""},
    {"named group by number", "/(?<n>x)/ r$1\n", "x", "rx", ""},
    {"unset group", "/(a)|(b)/ [$1][$2]\n", "b", "[][b]", ""},
    {"if endif", "if /^s/\n/a/ sa\nendif\n/./ other\n", "xa", "other", ""},
    {"obsolete X", "/x/X r\n", "x", "r",
     "warning: pcre map @F@, line 1: ignoring obsolete regexp option \"X\"\n"},
    {"unknown flag", "/x/q r\n", "x", NULL,
     "warning: pcre map @F@, line 1: unknown regexp option \"q\": skipping this rule\n"},
    {"compile error", "/a(/ r\n", "a", NULL,
     "warning: pcre map @F@, line 1: error in regex at offset 2: missing closing parenthesis\n"},
    {"out of range", "/(x)/ $2\n", "x", NULL,
     "warning: pcre map @F@, line 1: out of range replacement index \"2\": skipping this rule\n"},
    {"zero index", "/(x)/ $0\n", "x", NULL,
     "warning: pcre map @F@, line 1: out of range replacement index \"0\"\n"
     "warning: pcre map @F@, line 1: bad replacement syntax: skipping this rule\n"},
    {"no closing delimiter", "/x\n", "x", NULL,
     "warning: pcre map @F@, line 1: no closing regexp delimiter \"/\": ignoring this rule\n"},
    {"if without endif", "if /x/\n", "x", NULL,
     "warning: pcre map @F@, line 1: IF has no matching ENDIF\n"},
};

/* test_rules - the table above */
static void test_rules(void **state)
{
    (void) state;
    run_cases("pcre", cases, NELEM(cases));
}

/* test_inline - the inline form */
static void test_inline(void **state)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *d;

    (void) state;
    d = dict_open("pcre:{ {/x/ r1}, {/(y)/ r2 $1} }", O_RDONLY, 0, &why);
    assert_non_null(d);
    assert_int_equal(dict_lookup(d, "Y", &value), LK_FOUND);
    assert_string_equal(buf_str(&value), "r2 Y");
    assert_int_equal(dict_lookup(d, "z", &value), LK_NOTFOUND);
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
