/* tbl_src_test - postmap source lines: logical lines and "key value". */
#include "global/tbl_src.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

static struct buf logged = BUF_INIT;

/* capture - collect msg_* lines for assertions */
static void capture(enum msg_level level, const char *text)
{
    buf_cat(&logged, msg_prefix(level));
    buf_cat(&logged, text);
    buf_catc(&logged, '\n');
}

/* test_lines - continuation, comments, blank lines, leading white space */
static void test_lines(void **state)
{
    static const char text[] =
        "#c\n"
        "   xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yyyy\n"
        "  zz\n"
        "a b\n"
        "\tc\n"
        "\n"
        "# inside\n"
        "  d  \n"
        "e f\n"
        "last";
    FILE *fp = fmemopen((void *) text, sizeof(text) - 1, "r");
    struct tbl_src s;
    struct buf line = BUF_INIT;
    int lineno = 0;

    (void) state;
    msg_output_stderr(false);
    msg_output_add(capture);
    assert_non_null(fp);
    tbl_src_fdopen(&s, fp, "src");
    assert_true(tbl_src_next(&s, &line, &lineno));
    assert_string_equal(buf_str(&line), "a b\tc  d");
    assert_int_equal(lineno, 4);
    assert_string_equal(buf_str(&logged),
                        "warning: src: logical line must not start with "
                        "whitespace: \"   xxxxxxxxxxxxxxxxxxxxxxxxxxx...\"\n");
    assert_true(tbl_src_next(&s, &line, &lineno));
    assert_string_equal(buf_str(&line), "e f");
    assert_int_equal(lineno, 9);
    assert_true(tbl_src_next(&s, &line, &lineno));
    assert_string_equal(buf_str(&line), "last");
    assert_int_equal(lineno, 10);
    assert_false(tbl_src_next(&s, &line, &lineno));
    tbl_src_close(&s);
    fclose(fp);
    msg_output_remove(capture);
    buf_fini(&line);
}

struct split_case {
    const char *in;
    const char *key; /* NULL: rejected with WHY */
    const char *want;
};

static const struct split_case split_cases[] = {
    {"Foo bar", "Foo", "bar"},
    {"key2 value two  continued", "key2", "value two  continued"},
    {"\"q k\" v v", "\"q k\"", "v v"},
    {"\"q\\\"x\" y", "\"q\\\"x\"", "y"},
    {"\"a b\"c val", "\"a b\"c", "val"},
    {"K\\ey val", "K\\ey", "val"},
    {"n: y", "n:", "y"},
    {"novalue", NULL, "expected format: key whitespace value"},
    {"\"unterm z", NULL,
     "unbalanced '\"' in '\"unterm z' -- ignoring this line"},
};

/* test_split - "key whitespace value" */
static void test_split(void **state)
{
    struct buf key = BUF_INIT;
    struct buf value = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(split_cases); i++) {
        const struct split_case *c = &split_cases[i];
        int r = tbl_src_split(c->in, &key, &value, &why);

        if (c->key == NULL) {
            if (r != -1 || strcmp(buf_str(&why), c->want) != 0)
                fail_msg("%s: got %d \"%s\", want -1 \"%s\"", c->in, r,
                         buf_str(&why), c->want);
        } else if (r != 0 || strcmp(buf_str(&key), c->key) != 0
                   || strcmp(buf_str(&value), c->want) != 0) {
            fail_msg("%s: got %d [%s] [%s], want [%s] [%s]", c->in, r,
                     buf_str(&key), buf_str(&value), c->key, c->want);
        }
    }
    buf_fini(&key);
    buf_fini(&value);
    buf_fini(&why);
}

/* test_utf8 - validity and the '?' form of messages */
static void test_utf8(void **state)
{
    struct buf out = BUF_INIT;

    (void) state;
    assert_true(tbl_src_utf8_ok("plain \xc3\x87 \xf0\x9f\x98\x80"));
    assert_false(tbl_src_utf8_ok("bad\xff"));
    assert_false(tbl_src_utf8_ok("a \xc0\xaf"));         /* overlong */
    assert_false(tbl_src_utf8_ok("a \xed\xa0\x80"));     /* surrogate */
    assert_false(tbl_src_utf8_ok("a \xf4\x90\x80\x80")); /* > U+10FFFF */
    assert_false(tbl_src_utf8_ok("a\xc3 b"));
    tbl_src_utf8_show("\xc3\x87 \xff\xfe x", &out);
    assert_string_equal(buf_str(&out), "\xc3\x87 ?? x");
    tbl_src_utf8_show("a \xed\xa0\x80", &out);
    assert_string_equal(buf_str(&out), "a \xed\xa0\x80");
    tbl_src_utf8_show("a\xc3 b", &out);
    assert_string_equal(buf_str(&out), "a? b");
    buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
