#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

static void test_utf8_shape(void **state)
{
    static const struct {
        const char *name;
        const char *in;
        size_t want;
    } cases[] = {
        {"ASCII", "a", 1},
        {"control byte", "\001", 1},
        {"two bytes", "\303\251x", 2},
        {"three bytes", "\342\202\254", 3},
        {"four bytes", "\360\237\230\200", 4},
        {"cut short", "\342\202", 0},
        {"continuation alone", "\251", 0},
        {"overlong lead c0", "\300\200", 0},
        {"lead above f4", "\365\200\200\200", 0},
        {"surrogate has the shape", "\355\240\200", 3},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (str_utf8_shape(cases[i].in) != cases[i].want)
            fail_msg("%s: got %zu, want %zu", cases[i].name,
                     str_utf8_shape(cases[i].in), cases[i].want);
}

static void test_utf8_valid(void **state)
{
    static const struct {
        const char *in;
        bool want;
    } cases[] = {
        {"", true},
        {"plain", true},
        {"caf\303\251 \342\202\254 \360\237\230\200", true},
        {"\340\200\200", false},     /* overlong 3-byte */
        {"\360\200\200\200", false}, /* overlong 4-byte */
        {"\355\240\200", false},     /* surrogate */
        {"\364\220\200\200", false}, /* above U+10FFFF */
        {"a\377", false},
        {"\303", false},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (str_utf8_valid(cases[i].in) != cases[i].want)
            fail_msg("case %zu: got %d, want %d", i,
                     str_utf8_valid(cases[i].in), cases[i].want);
}

static void test_copy_and_fmt(void **state)
{
    char small[4];
    long n;

    (void) state;
    assert_int_equal(str_copy(small, sizeof(small), "abc"), 0);
    assert_string_equal(small, "abc");
    assert_int_equal(str_copy(small, sizeof(small), "abcd"), -1);
    assert_int_equal(str_fmt(small, sizeof(small), "%d", 12345), -1);
    assert_int_equal(str_to_long("42", &n), 0);
    assert_int_equal(n, 42);
    assert_int_equal(str_to_long("42x", &n), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_shape),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_copy_and_fmt),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
