#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "lib/str.h"

static char got[512];

/* capture - a msg output that keeps the last line */
static void capture(enum msg_level level, const char *text)
{
    (void) level;
    if (str_copy(got, sizeof(got), text) < 0)
        fail_msg("line truncated");
}

static void test_printable(void **state)
{
    static const struct {
        const char *name;
        const char *in;
        const char *want;
    } cases[] = {
        {"plain", "plain text", "plain text"},
        {"newline forges no line", "a\nJan  1 00:00:00 h x: b",
         "a?Jan  1 00:00:00 h x: b"},
        {"control and tab", "f\001o\to", "f?o?o"},
        {"DEL", "a\177b", "a?b"},
        {"UTF-8 and stray bytes", "x\303\251\377", "x???"},
    };

    (void) state;
    msg_output_add(capture);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msg_info("%s", cases[i].in);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name, got,
                     cases[i].want);
    }
    msg_output_remove(capture);
}

static void test_printable_utf8(void **state)
{
    (void) state;
    msg_output_add(capture);
    msg_utf8(true);
    msg_info("x\303\251 \377 \303 \001 \342\202\254");
    assert_string_equal(got, "x\303\251 ? ? ? \342\202\254");
    msg_utf8(false);
    msg_output_remove(capture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printable),
        cmocka_unit_test(test_printable_utf8),
    };

    msg_init("msg_test");
    msg_output_stderr(false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
