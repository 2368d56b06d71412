/* dict_test - the dict core: open, sharing, dispatch, errors, text lines. */
#include "lib/argv.h"
#include "lib/dict.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

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
    /* The tables run with UTF-8 support on, as postmap with smtputf8. */
    msg_utf8(true);
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

/* test_open_errors - the open errors of Postfix, word for word */
static void test_open_errors(void **state)
{
    static const struct {
        const char *spec;
        int open_flags;
        const char *want;
    } tc[] = {
        {"db:/x", O_RDONLY, "unsupported dictionary type: db"},
        {"nosuch", O_RDONLY,
         "open dictionary: expecting \"type:name\" form instead of \"nosuch\""},
        {"environ:", O_RDONLY,
         "open dictionary: expecting \"type:name\" form instead of \"environ:\""},
        {":x", O_RDONLY,
         "open dictionary: expecting \"type:name\" form instead of \":x\""},
        {"cidr:/x", O_RDWR, "cidr:/x map requires O_RDONLY access mode"},
        {"pcre:/x", O_RDWR, "pcre:/x map requires O_RDONLY access mode"},
        {"inline:{a=b}", O_RDWR,
         "inline:{a=b} map requires O_RDONLY access mode"},
        {"texthash:/x", O_RDWR,
         "texthash:/x map requires O_RDONLY access mode"},
        {"unix:foo", O_RDONLY, "unknown table: unix:foo"},
        {"texthash:/nonexistent/t", O_RDONLY,
         "open database /nonexistent/t: No such file or directory"},
    };
    struct buf why = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(tc); i++) {
        struct dict *d = dict_open(tc[i].spec, tc[i].open_flags, 0, &why);

        if (d != NULL)
            fail_msg("%s: got a table, want \"%s\"", tc[i].spec, tc[i].want);
        if (strcmp(buf_str(&why), tc[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", tc[i].spec, buf_str(&why),
                     tc[i].want);
    }
    buf_fini(&why);
}

/* test_sharing - identical opens share one handle until the last close */
static void test_sharing(void **state)
{
    struct buf why = BUF_INIT;
    struct dict *a = dict_open("static:x", O_RDONLY, 0, &why);
    struct dict *b = dict_open("static:x", O_RDONLY, 0, &why);
    struct dict *c = dict_open("static:x", O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
    struct dict *d = dict_open3("static", "x", O_RDONLY, 0, &why);

    (void) state;
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_equal(a, d);
    assert_ptr_not_equal(a, c);
    assert_int_equal(a->refcount, 3);
    dict_close(b);
    dict_close(d);
    assert_int_equal(a->refcount, 1);
    assert_string_equal(a->type, "static");
    assert_string_equal(a->name, "x");
    dict_close(a);
    dict_close(c);
    dict_close(NULL);
    buf_fini(&why);
}

/* test_unsupported - missing ops answer Postfix's "not supported" */
static void test_unsupported(void **state)
{
    struct buf why = BUF_INIT;
    const char *k;
    const char *v;
    struct dict *d = dict_open("static:b", O_RDWR, 0, &why);

    (void) state;
    assert_non_null(d);
    assert_int_equal(dict_delete(d, "x"), -1);
    assert_string_equal(dict_why(d),
                        "table static:b: delete operation is not supported");
    assert_int_equal(dict_update(d, "x", "y"), -1);
    assert_string_equal(dict_why(d),
                        "table static:b: update operation is not supported");
    assert_int_equal(dict_sequence(d, DICT_SEQ_FIRST, &k, &v), -1);
    assert_string_equal(dict_why(d),
                        "table static:b: sequence operation is not supported");
    assert_int_equal(dict_sync(d), 0);
    dict_close(d);
    buf_fini(&why);
}

/* test_fold - FOLD_FIX folds keys of fixed tables, not of pattern tables */
static void test_fold(void **state)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *fixed =
        dict_open("inline:{key=v}", O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
    struct dict *exact = dict_open("inline:{key=v}", O_RDONLY, 0, &why);
    struct dict *pat = dict_open("regexp:{ {/^(K)ey$/i $1} }", O_RDONLY,
                                 DICT_FLAG_FOLD_FIX, &why);

    (void) state;
    assert_int_equal(dict_lookup(fixed, "KEY", &value), LK_FOUND);
    assert_int_equal(dict_lookup(exact, "KEY", &value), LK_NOTFOUND);
    assert_int_equal(dict_lookup(exact, "key", &value), LK_FOUND);
    assert_int_equal(dict_lookup(pat, "Key", &value), LK_FOUND);
    assert_string_equal(buf_str(&value), "K");
    assert_int_equal(dict_lookup(pat, "key", &value), LK_NOTFOUND);
    dict_close(fixed);
    dict_close(exact);
    dict_close(pat);
    buf_fini(&why);
    buf_fini(&value);
}

/* test_empty_result - the two warnings of Postfix, and still found */
static void test_empty_result(void **state)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *d = dict_open("static:{}", O_RDONLY, 0, &why);

    (void) state;
    buf_reset(&logged);
    assert_int_equal(dict_lookup(d, "x", &value), LK_FOUND);
    assert_string_equal(buf_str(&value), "");
    assert_string_equal(
        buf_str(&logged),
        "warning: table static:{}: key x: empty string result is not allowed\n"
        "warning: table static:{} should return NO RESULT in case of NOT FOUND\n");
    dict_close(d);
    buf_fini(&why);
    buf_fini(&value);
}

/* test_utf8 - DICT_FLAG_UTF8: key checks, value checks, Unicode folding */
static void test_utf8(void **state)
{
    static const struct {
        const char *spec, *key;
        enum lk_result want_result;
        const char *want, *log;
    } tc[] = {
        {"inline:{\xc3\xa9"
         "a=x}",
         "\xc3\x89"
         "A",
         LK_FOUND, "x", ""},
        {"inline:{\xc3\x89"
         "A=x}",
         "\xc3\xa9"
         "a",
         LK_FOUND, "x", ""},
        {"inline:{stra\xc3\x9f"
         "e=x}",
         "STRASSE", LK_FOUND, "x", ""},
        {"inline:{\xce\xa3\xce\xb9\xcf\x82=x}", "\xcf\x83\xce\xb9\xcf\x83",
         LK_FOUND, "x", ""},
        {"static:x",
         "a\xff"
         "b",
         LK_NOTFOUND, NULL,
         "warning: static:x: non-UTF-8 key \"a?b\": malformed UTF-8 or invalid codepoint\n"},
        {"static:x", "\xc0\x80", LK_NOTFOUND, NULL,
         "warning: static:x: non-UTF-8 key \"??\": malformed UTF-8 or invalid codepoint\n"},
        {"static:x", "\xed\xa0\x80", LK_NOTFOUND, NULL,
         "warning: static:x: non-UTF-8 key \"\xed\xa0\x80\": malformed UTF-8 or invalid codepoint\n"},
        {"static:x", "\x01\xf4\x90\x80\x80", LK_NOTFOUND, NULL,
         "warning: static:x: non-UTF-8 key \"?\xf4\x90\x80\x80\": malformed UTF-8 or invalid codepoint\n"},
        {"static:x", "a\tb", LK_FOUND, "x", ""},
        {"static:\xff", "k", LK_TEMPFAIL, NULL,
         "warning: static:?: key \"k\": non-UTF-8 value \"?\": malformed UTF-8 or invalid codepoint\n"},
    };
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(tc); i++) {
        struct dict *d = dict_open(tc[i].spec, O_RDONLY,
                                   DICT_FLAG_FOLD_FIX | DICT_FLAG_UTF8, &why);
        enum lk_result r;

        assert_non_null(d);
        buf_reset(&logged);
        r = dict_lookup(d, tc[i].key, &value);
        if (r != tc[i].want_result)
            fail_msg("%zu: got %d, want %d", i, r, tc[i].want_result);
        if (r == LK_FOUND && strcmp(buf_str(&value), tc[i].want) != 0)
            fail_msg("%zu: got \"%s\", want \"%s\"", i, buf_str(&value),
                     tc[i].want);
        if (strcmp(buf_str(&logged), tc[i].log) != 0)
            fail_msg("%zu: got log \"%s\", want \"%s\"", i, buf_str(&logged),
                     tc[i].log);
        dict_close(d);
    }
    buf_fini(&why);
    buf_fini(&value);
}

/* test_changed - dict_changed follows the source file's mtime */
static void test_changed(void **state)
{
    char path[] = "/tmp/ulak-dict-changed-XXXXXX";
    int fd = mkstemp(path);
    struct buf why = BUF_INIT;
    struct buf spec = BUF_INIT;
    struct dict *d;
    struct utimbuf ut = {1000000000, 1000000000};

    (void) state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "k v\n", 4), 4);
    close(fd);
    assert_int_equal(utime(path, &ut), 0);
    buf_setf(&spec, "texthash:%s", path);
    d = dict_open(buf_str(&spec), O_RDONLY, 0, &why);
    assert_non_null(d);
    assert_false(dict_changed(d));
    assert_int_equal(utime(path, NULL), 0);
    assert_true(dict_changed(d));
    unlink(path);
    assert_true(dict_changed(d));
    dict_close(d);
    d = dict_open("static:x", O_RDONLY, 0, &why);
    assert_false(dict_changed(d));
    dict_close(d);
    buf_fini(&why);
    buf_fini(&spec);
}

/* test_text - logical lines: continuation, comments, blanks, line numbers */
static void test_text(void **state)
{
    struct dict_text t;
    struct buf line = BUF_INIT;
    int lineno = 0;

    (void) state;
    dict_text_init(&t, "x",
                   "# c\nk1 v1\n   cont\n# inside\n\n\tmore  \nk2 v2\n"
                   "  \n#\nk3");
    assert_true(dict_text_next(&t, &line, &lineno));
    assert_string_equal(buf_str(&line), "k1 v1   cont\tmore");
    assert_int_equal(lineno, 2);
    assert_true(dict_text_next(&t, &line, &lineno));
    assert_string_equal(buf_str(&line), "k2 v2");
    assert_int_equal(lineno, 7);
    assert_true(dict_text_next(&t, &line, &lineno));
    assert_string_equal(buf_str(&line), "k3");
    assert_int_equal(lineno, 10);
    assert_false(dict_text_next(&t, &line, &lineno));
    dict_text_close(&t);
    buf_fini(&line);
}

/* test_split - brace-aware splitting and unbracing */
static void test_split(void **state)
{
    static const struct {
        const char *in;
        const char *want; /* fields joined with "|", NULL: error */
    } tc[] = {
        {"a, b c", "a|b|c"},
        {"hash:/a, inline:{ k=v, x=y }", "hash:/a|inline:{ k=v, x=y }"},
        {" { a b } ,{c}", "{ a b }|{c}"},
        {"", ""},
        {"a {", NULL},
        {"a }", NULL},
    };
    struct buf why = BUF_INIT;
    struct buf got = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(tc); i++) {
        struct argv *a = dict_split(tc[i].in, ", \t", &why);

        if (tc[i].want == NULL) {
            if (a != NULL)
                fail_msg("%s: got fields, want an error", tc[i].in);
            continue;
        }
        assert_non_null(a);
        buf_reset(&got);
        for (size_t j = 0; j < a->argc; j++)
            buf_catf(&got, "%s%s", j ? "|" : "", a->argv[j]);
        if (strcmp(buf_str(&got), tc[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", tc[i].in, buf_str(&got),
                     tc[i].want);
        argv_free(a);
    }
    assert_int_equal(dict_unbrace("{ a b }", &got, &why), 0);
    assert_string_equal(buf_str(&got), "a b");
    assert_int_equal(dict_unbrace(" plain ", &got, &why), 0);
    assert_string_equal(buf_str(&got), "plain");
    assert_int_equal(dict_unbrace("{a} b", &got, &why), -1);
    assert_int_equal(dict_unbrace("{a", &got, &why), -1);
    buf_fini(&why);
    buf_fini(&got);
}

/* test_type_list - the registry is sorted and lists the working types */
static void test_type_list(void **state)
{
    const struct dict_type *const *list = dict_type_list();
    size_t n = 0;

    (void) state;
    for (; list[n] != NULL; n++)
        if (n > 0 && strcmp(list[n - 1]->name, list[n]->name) >= 0)
            fail_msg("got %s before %s, want sorted", list[n - 1]->name,
                     list[n]->name);
    assert_true(n >= 16);
    assert_non_null(dict_type_find("regexp"));
    assert_null(dict_type_find("db"));
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),  cmocka_unit_test(test_sharing),
        cmocka_unit_test(test_unsupported),  cmocka_unit_test(test_fold),
        cmocka_unit_test(test_empty_result), cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_changed),      cmocka_unit_test(test_text),
        cmocka_unit_test(test_split),        cmocka_unit_test(test_type_list),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
