/* dict_static_test - static:value and static:{ text }. */
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
    {"static:value", 0, "anything", LK_FOUND, "value", ""},
    {"static:{ text with  spaces }", 0, "x", LK_FOUND, "text with  spaces", ""},
    {"static:{}", 0, "x", LK_FOUND, "",
     "warning: table static:{}: key x: empty string result is not allowed\n"
     "warning: table static:{} should return NO RESULT in case of NOT FOUND\n"},
    {"static:{a", 0, "x", LK_NOTFOUND,
     "bad static:name syntax: missing '}' in \"{a\"", ""},
    {"static:{a}\tb", 0, "x", LK_NOTFOUND,
     "bad static:name syntax: syntax error after '}' in \"{a}?b\"", ""},
};

/* test_cases - the table above */
static void test_cases(void **state)
{
    (void) state;
    run_cases(cases, NELEM(cases));
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
