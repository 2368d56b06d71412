/* dict_inline_test - inline:{ key=value, ... } parsing and lookups. */
#include "lib/dict.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <unistd.h>

static struct buf logged = BUF_INIT;

/* capture - collect msg_* lines for assertions */
static void capture(enum msg_level level, const char *text)
{
    buf_cat(&logged, msg_prefix(level));
    buf_cat(&logged, text);
    buf_catc(&logged, '\n');
}

/* setup - captured logging */
static int setup(void **state)
{
    (void) state;
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

struct tcase {
    const char *spec;
    int flags; /* dict flags */
    const char *key;
    enum lk_result want_result;
    const char *want; /* value when found, open error when the open fails */
    const char *log;  /* warnings at open and lookup */
};

/* run_cases - open each spec, look the key up, compare everything */
static void run_cases(const struct tcase *tc, size_t n)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;

    for (size_t i = 0; i < n; i++) {
        struct dict *d;
        enum lk_result r;

        buf_reset(&logged);
        d = dict_open(tc[i].spec, O_RDONLY, tc[i].flags, &why);
        if (d == NULL) {
            if (tc[i].want == NULL || strcmp(buf_str(&why), tc[i].want) != 0)
                fail_msg("%s: got open error \"%s\", want \"%s\"", tc[i].spec,
                         buf_str(&why), tc[i].want ? tc[i].want : "(a table)");
            continue;
        }
        r = dict_lookup(d, tc[i].key, &value);
        if (r != tc[i].want_result)
            fail_msg("%s: key %s: got result %d, want %d", tc[i].spec,
                     tc[i].key, r, tc[i].want_result);
        if (r == LK_FOUND && strcmp(buf_str(&value), tc[i].want) != 0)
            fail_msg("%s: key %s: got \"%s\", want \"%s\"", tc[i].spec,
                     tc[i].key, buf_str(&value), tc[i].want);
        if (r == LK_TEMPFAIL && strcmp(dict_why(d), tc[i].want) != 0)
            fail_msg("%s: key %s: got why \"%s\", want \"%s\"", tc[i].spec,
                     tc[i].key, dict_why(d), tc[i].want);
        if (strcmp(buf_str(&logged), tc[i].log) != 0)
            fail_msg("%s: got log \"%s\", want \"%s\"", tc[i].spec,
                     buf_str(&logged), tc[i].log);
        dict_close(d);
    }
    buf_fini(&why);
    buf_fini(&value);
}

static const struct tcase cases[] = {
    {"inline:{a=b, { c = d e }, f=g}", DICT_FLAG_FOLD_FIX, "a", LK_FOUND, "b",
     ""},
    {"inline:{a=b, { c = d e }, f=g}", DICT_FLAG_FOLD_FIX, "c", LK_FOUND, "d e",
     ""},
    {"inline:{a=b, { c = d e }, f=g}", DICT_FLAG_FOLD_FIX, "F", LK_FOUND, "g",
     ""},
    {"inline:{a=b, { c = d e }, f=g}", DICT_FLAG_FOLD_FIX, "z", LK_NOTFOUND,
     NULL, ""},
    {"inline:{a=b; c=d}", DICT_FLAG_FOLD_FIX, "a", LK_FOUND, "b;", ""},
    {"inline:{a={b}}", DICT_FLAG_FOLD_FIX, "a", LK_FOUND, "{b}", ""},
    {"inline:{{a= {b c} }}", DICT_FLAG_FOLD_FIX, "a", LK_FOUND, "{b c}", ""},
    {"inline:{a=1,a=2}", DICT_FLAG_FOLD_FIX, "a", LK_FOUND, "2", ""},
    {"inline:{Ab=x}", DICT_FLAG_FOLD_FIX, "aB", LK_FOUND, "x", ""},
    {"inline:{Ab=x}", 0, "ab", LK_NOTFOUND, NULL, ""},
    {"inline:{a==b}", DICT_FLAG_FOLD_FIX, "a", LK_FOUND, "=b", ""},
    {"inline:{a=}", DICT_FLAG_FOLD_FIX, "a", LK_FOUND, "",
     "warning: table inline:{a=}: key a: empty string result is not allowed\n"
     "warning: table inline:{a=} should return NO RESULT in case of NOT FOUND\n"},
    {"inline:{a}", 0, "a", LK_NOTFOUND,
     "missing '=' after attribute name: \"inline:{a}\"; need \"inline:{name=value...}\"",
     ""},
    {"inline:{ {a} }", 0, "a", LK_NOTFOUND,
     "missing '=' after attribute name: \"inline:{ {a} }\"; need \"inline:{name=value...}\"",
     ""},
    {"inline:{c d = x}", 0, "a", LK_NOTFOUND,
     "missing '=' after attribute name: \"inline:{c d = x}\"; need \"inline:{name=value...}\"",
     ""},
    {"inline:{ }", 0, "a", LK_NOTFOUND,
     "empty table: \"inline:{ }\"; need \"inline:{name=value...}\"", ""},
    {"inline:{ {} }", 0, "a", LK_NOTFOUND,
     "no key found; expected format: key = value: \"inline:{ {} }\"; need \"inline:{name=value...}\"",
     ""},
    {"inline:{{a=b}x}", 0, "a", LK_NOTFOUND,
     "syntax error after '}' in \"{a=b}x\": \"inline:{{a=b}x}\"; need \"inline:{name=value...}\"",
     ""},
    {"inline:{a=b} ", 0, "a", LK_NOTFOUND,
     "bad syntax: \"inline:{a=b} \"; need \"inline:{name=value...}\"", ""},
    {"inline:{=b}", 0, "", LK_FOUND, "b", ""},
    {"inline:{}", 0, "a", LK_NOTFOUND,
     "bad syntax: \"inline:{}\"; need \"inline:{name=value...}\"", ""},
    {"inline:a=b", 0, "a", LK_NOTFOUND,
     "bad syntax: \"inline:a=b\"; need \"inline:{name=value...}\"", ""},
    {"inline:{a=b", 0, "a", LK_NOTFOUND,
     "bad syntax: \"inline:{a=b\"; need \"inline:{name=value...}\"", ""},
    {"inline:{{ a = b }}x", 0, "a", LK_NOTFOUND,
     "bad syntax: \"inline:{{ a = b }}x\"; need \"inline:{name=value...}\"",
     ""},
};

/* test_cases - the table above */
static void test_cases(void **state)
{
    (void) state;
    run_cases(cases, NELEM(cases));
}

/* test_sequence - entries in the order they were written */
static void test_sequence(void **state)
{
    struct buf why = BUF_INIT;
    struct buf got = BUF_INIT;
    const char *k;
    const char *v;
    struct dict *d =
        dict_open("inline:{b=1, a=2, {c = 3 4}}", O_RDONLY, 0, &why);

    (void) state;
    assert_non_null(d);
    for (int r = dict_sequence(d, DICT_SEQ_FIRST, &k, &v); r == 0;
         r = dict_sequence(d, DICT_SEQ_NEXT, &k, &v))
        buf_catf(&got, "%s=%s;", k, v);
    assert_string_equal(buf_str(&got), "b=1;a=2;c=3 4;");
    dict_close(d);
    buf_fini(&why);
    buf_fini(&got);
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_sequence),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
