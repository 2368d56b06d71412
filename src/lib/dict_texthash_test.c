/* dict_texthash_test - texthash: postmap source files read into memory. */
#include "lib/dict.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <unistd.h>

static char path[] = "/tmp/ulak-texthash-XXXXXX";
static struct buf logged = BUF_INIT;

/* capture - collect msg_* lines for assertions */
static void capture(enum msg_level level, const char *text)
{
    buf_cat(&logged, msg_prefix(level));
    buf_cat(&logged, text);
    buf_catc(&logged, '\n');
}

/* setup - the source file and captured logging */
static int setup(void **state)
{
    static const char text[] = "# comment\n"
                               "alice@example.com   OK\n"
                               "Bob@Example.COM     REJECT bob\n"
                               "example.net relay\n"
                               "   continued\n"
                               "alice@example.com   duplicate\n"
                               "lonely\n";
    int fd = mkstemp(path);

    (void) state;
    if (fd < 0 || write(fd, text, sizeof(text) - 1) != sizeof(text) - 1)
        return -1;
    close(fd);
    msg_output_stderr(false);
    msg_output_add(capture);
    return 0;
}

/* teardown - remove the file */
static int teardown(void **state)
{
    (void) state;
    msg_output_remove(capture);
    buf_fini(&logged);
    return unlink(path);
}

/* with_path - TEXT with every "@F@" replaced by the file path */
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

/* open_table - texthash:PATH with FLAGS; checks the open warnings */
static struct dict *open_table(int flags, const char *want_log)
{
    struct buf why = BUF_INIT;
    struct buf spec = BUF_INIT;
    struct buf want = BUF_INIT;
    struct dict *d;

    buf_reset(&logged);
    buf_setf(&spec, "texthash:%s", path);
    d = dict_open(buf_str(&spec), O_RDONLY, flags, &why);
    assert_non_null(d);
    with_path(&want, want_log);
    if (strcmp(buf_str(&logged), buf_str(&want)) != 0)
        fail_msg("got log \"%s\", want \"%s\"", buf_str(&logged),
                 buf_str(&want));
    buf_fini(&why);
    buf_fini(&spec);
    buf_fini(&want);
    return d;
}

/* test_lookups - folded keys, continuation, first duplicate kept */
static void test_lookups(void **state)
{
    static const struct {
        const char *key, *want;
    } tc[] = {
        {"alice@example.com", "OK"},
        {"BOB@example.com", "REJECT bob"},
        {"example.net", "relay   continued"},
        {"lonely", NULL},
        {"nothere", NULL},
    };
    struct buf value = BUF_INIT;
    struct dict *d = open_table(
        DICT_FLAG_FOLD_FIX | DICT_FLAG_DUP_WARN,
        "warning: @F@, line 6: duplicate entry: \"alice@example.com\"\n"
        "warning: @F@, line 7: expected format: key whitespace value -- ignoring this line\n");

    (void) state;
    for (size_t i = 0; i < NELEM(tc); i++) {
        enum lk_result r = dict_lookup(d, tc[i].key, &value);

        if (tc[i].want == NULL && r != LK_NOTFOUND)
            fail_msg("%s: got \"%s\", want not found", tc[i].key,
                     buf_str(&value));
        if (tc[i].want != NULL
            && (r != LK_FOUND || strcmp(buf_str(&value), tc[i].want) != 0))
            fail_msg("%s: got \"%s\", want \"%s\"", tc[i].key, buf_str(&value),
                     tc[i].want);
    }
    dict_close(d);
    buf_fini(&value);
}

/* test_fixed_case - without folding, keys keep their case */
static void test_fixed_case(void **state)
{
    struct buf value = BUF_INIT;
    struct dict *d = open_table(
        DICT_FLAG_DUP_REPLACE,
        "warning: @F@, line 7: expected format: key whitespace value -- ignoring this line\n");

    (void) state;
    assert_int_equal(dict_lookup(d, "bob@example.com", &value), LK_NOTFOUND);
    assert_int_equal(dict_lookup(d, "Bob@Example.COM", &value), LK_FOUND);
    assert_int_equal(dict_lookup(d, "alice@example.com", &value), LK_FOUND);
    assert_string_equal(buf_str(&value), "duplicate");
    dict_close(d);
    buf_fini(&value);
}

/* test_utf8_lines - with DICT_FLAG_UTF8, non-UTF-8 lines are skipped */
static void test_utf8_lines(void **state)
{
    char upath[] = "/tmp/ulak-texthash-utf8-XXXXXX";
    static const char text[] = "a\xff"
                               "b v\nok v\xfe\nx y\n";
    int fd = mkstemp(upath);
    struct buf why = BUF_INIT;
    struct buf spec = BUF_INIT;
    struct buf want = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *d;

    (void) state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
    close(fd);
    buf_reset(&logged);
    buf_setf(&spec, "texthash:%s", upath);
    d = dict_open(buf_str(&spec), O_RDONLY, DICT_FLAG_FOLD_FIX | DICT_FLAG_UTF8,
                  &why);
    assert_non_null(d);
    buf_setf(
        &want,
        "warning: %s, line 1: non-UTF-8 input \"a?b v\" -- ignoring this line\n"
        "warning: %s, line 2: non-UTF-8 input \"ok v?\" -- ignoring this line\n",
        upath, upath);
    assert_string_equal(buf_str(&logged), buf_str(&want));
    assert_int_equal(dict_lookup(d, "x", &value), LK_FOUND);
    assert_string_equal(buf_str(&value), "y");
    assert_int_equal(dict_lookup(d, "ok", &value), LK_NOTFOUND);
    dict_close(d);
    unlink(upath);
    buf_fini(&why);
    buf_fini(&spec);
    buf_fini(&want);
    buf_fini(&value);
}

/* test_internal - the writable in-memory table */
static void test_internal(void **state)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct buf got = BUF_INIT;
    const char *k;
    const char *v;
    struct dict *d = dict_open("internal:t", O_RDWR | O_CREAT,
                               DICT_FLAG_FOLD_FIX | DICT_FLAG_DUP_WARN, &why);

    (void) state;
    assert_non_null(d);
    assert_int_equal(dict_lookup(d, "a", &value), LK_NOTFOUND);
    assert_int_equal(dict_update(d, "A", "1"), 0);
    assert_int_equal(dict_update(d, "b", "2"), 0);
    assert_int_equal(dict_update(d, "c", "3"), 0);
    buf_reset(&logged);
    assert_int_equal(dict_update(d, "a", "again"), 1);
    assert_string_equal(buf_str(&logged),
                        "warning: internal:t: duplicate entry: \"a\"\n");
    assert_int_equal(dict_lookup(d, "a", &value), LK_FOUND);
    assert_string_equal(buf_str(&value), "1");
    assert_int_equal(dict_delete(d, "B"), 0);
    assert_int_equal(dict_delete(d, "b"), 1);
    for (int r = dict_sequence(d, DICT_SEQ_FIRST, &k, &v); r == 0;
         r = dict_sequence(d, DICT_SEQ_NEXT, &k, &v))
        buf_catf(&got, "%s=%s;", k, v);
    assert_string_equal(buf_str(&got), "a=1;c=3;");
    dict_close(d);
    buf_fini(&why);
    buf_fini(&value);
    buf_fini(&got);
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_fixed_case),
        cmocka_unit_test(test_utf8_lines),
        cmocka_unit_test(test_internal),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
