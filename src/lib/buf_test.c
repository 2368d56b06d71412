/* buf_test - unit tests for buf, span and str. */
#include "lib/buf.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* test_cat - appends keep the NUL terminator and binary data */
static void test_cat(void **state)
{
    struct buf b = BUF_INIT;

    (void) state;
    assert_int_equal(buf_cat(&b, "abc"), 0);
    assert_int_equal(buf_catn(&b, "\0x", 2), 0);
    assert_int_equal(buf_len(&b), 5);
    assert_int_equal(buf_str(&b)[5], 0);
    assert_memory_equal(buf_str(&b), "abc\0x", 5);
    assert_int_equal(buf_catf(&b, "%d-%s", 42, "y"), 0);
    assert_memory_equal(buf_str(&b) + 5, "42-y", 5);
    buf_fini(&b);
}

/* test_cap - a capped buf refuses to grow past its cap */
static void test_cap(void **state)
{
    struct buf *b = buf_new(4);

    (void) state;
    assert_int_equal(buf_cat(b, "abcd"), 0);
    assert_int_equal(buf_cat(b, "e"), -1);
    assert_string_equal(buf_str(b), "abcd");
    buf_reset(b);
    assert_int_equal(buf_catf(b, "%s", "toolong"), -1);
    assert_string_equal(buf_str(b), "");
    buf_free(b);
    buf_free(NULL);
}

/* test_long_format - formatting beyond the first allocation */
static void test_long_format(void **state)
{
    struct buf b = BUF_INIT;
    char want[1001];

    (void) state;
    memset(want, 'x', 1000);
    want[1000] = 0;
    assert_int_equal(buf_setf(&b, "%s", want), 0);
    assert_string_equal(buf_str(&b), want);
    buf_fini(&b);
}

/* test_str - bounded copies and strict number parsing */
static void test_str(void **state)
{
    char small[4];
    long v = 7;
    unsigned long u = 7;

    (void) state;
    assert_int_equal(str_copy(small, sizeof(small), "abc"), 0);
    assert_int_equal(str_copy(small, sizeof(small), "abcd"), -1);
    assert_string_equal(small, "abc");
    assert_int_equal(str_fmt(small, sizeof(small), "%d", 12345), -1);
    assert_int_equal(str_to_long("-12", &v), 0);
    assert_int_equal(v, -12);
    assert_int_equal(str_to_long("12x", &v), -1);
    assert_int_equal(str_to_long("", &v), -1);
    assert_int_equal(str_to_long("99999999999999999999", &v), -1);
    assert_int_equal(v, -12);
    assert_int_equal(str_to_ulong("-1", &u), -1);
    assert_int_equal(str_to_ulong("10", &u), 0);
    assert_int_equal(u, 10);
}

/* test_span - trimming and comparison */
static void test_span(void **state)
{
    struct span s = span_trim(span_of("  Hello \t"));
    char *d;

    (void) state;
    assert_true(span_eq(s, "Hello"));
    assert_true(span_caseeq(s, "hello"));
    assert_false(span_eq(s, "Hell"));
    d = span_dup(s);
    assert_string_equal(d, "Hello");
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cat),         cmocka_unit_test(test_cap),
        cmocka_unit_test(test_long_format), cmocka_unit_test(test_str),
        cmocka_unit_test(test_span),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
