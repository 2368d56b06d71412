/* dict_union_test - unionmap, pipemap and randmap. */
#include "lib/dict.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

/* setup - no stderr noise */
static int setup(void **state)
{
    (void) state;
    msg_output_stderr(false);
    return 0;
}

struct tcase {
    const char *spec;
    const char *key;
    enum lk_result want_result;
    const char *want; /* value, TEMPFAIL reason, or open error */
};

static const struct tcase cases[] = {
    {"unionmap:{inline:{x=1},inline:{x=2, y=3},static:4}", "x", LK_FOUND,
     "1,2,4"},
    {"unionmap:{inline:{x=1},inline:{y=2}}", "y", LK_FOUND, "2"},
    {"unionmap:{inline:{x=1},inline:{y=2}}", "z", LK_NOTFOUND, NULL},
    {"unionmap:{inline:{x=1} inline:{x=2}}", "X", LK_FOUND, "1,2"},
    {"unionmap:{unionmap:{static:a,static:b},static:c}", "x", LK_FOUND,
     "a,b,c"},
    {"unionmap:{static:{a b}, static:c}", "x", LK_FOUND, "a b,c"},
    {"unionmap:{inline:{x=1},fail:x}", "x", LK_TEMPFAIL, "Application error"},
    {"unionmap:{}", "x", LK_NOTFOUND,
     "bad syntax: \"unionmap:{}\"; need \"unionmap:{type:name...}\""},
    {"unionmap:inline:{x=1}", "x", LK_NOTFOUND,
     "bad syntax: \"unionmap:inline:{x=1}\"; need \"unionmap:{type:name...}\""},
    {"unionmap:{inline:{x=1}", "x", LK_NOTFOUND,
     "bad syntax: \"unionmap:{inline:{x=1}\"; need \"unionmap:{type:name...}\""},
    {"unionmap:{nosuch:x}", "x", LK_NOTFOUND,
     "unsupported dictionary type: nosuch"},
    {"unionmap:{inline:{a=b}, x}", "x", LK_NOTFOUND,
     "bad syntax: \"unionmap:{inline:{a=b}, x}\"; need \"unionmap:{type:name...}\""},
    {"pipemap:{inline:{x=1},inline:{1=2},static:4}", "x", LK_FOUND, "4"},
    {"pipemap:{inline:{x=1},inline:{2=2},static:4}", "x", LK_NOTFOUND, NULL},
    {"pipemap:{inline:{x=Y}, inline:{y=ok}}", "X", LK_FOUND, "ok"},
    {"pipemap:{inline:{x=1},fail:x}", "x", LK_TEMPFAIL, "Application error"},
    {"pipemap:{}", "x", LK_NOTFOUND,
     "bad syntax: \"pipemap:{}\"; need \"pipemap:{type:name...}\""},
    {"randmap:{only}", "x", LK_FOUND, "only"},
    {"randmap:{ {a b} }", "x", LK_FOUND, "{a b}"},
    {"randmap:{}", "x", LK_NOTFOUND,
     "bad syntax: \"randmap:{}\"; need \"randmap:{value...}\""},
    {"randmap:a", "x", LK_NOTFOUND,
     "bad syntax: \"randmap:a\"; need \"randmap:{value...}\""},
};

/* test_cases - the table above */
static void test_cases(void **state)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        const struct tcase *tc = &cases[i];
        struct dict *d =
            dict_open(tc->spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
        enum lk_result r;

        if (d == NULL) {
            if (tc->want == NULL || strcmp(buf_str(&why), tc->want) != 0)
                fail_msg("%s: got open error \"%s\", want \"%s\"", tc->spec,
                         buf_str(&why), tc->want ? tc->want : "(a table)");
            continue;
        }
        r = dict_lookup(d, tc->key, &value);
        if (r != tc->want_result)
            fail_msg("%s: got result %d, want %d", tc->spec, r,
                     tc->want_result);
        if (r == LK_FOUND && strcmp(buf_str(&value), tc->want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", tc->spec, buf_str(&value),
                     tc->want);
        if (r == LK_TEMPFAIL && strcmp(dict_why(d), tc->want) != 0)
            fail_msg("%s: got why \"%s\", want \"%s\"", tc->spec, dict_why(d),
                     tc->want);
        dict_close(d);
    }
    buf_fini(&why);
    buf_fini(&value);
}

/* test_randmap_spread - every element comes up */
static void test_randmap_spread(void **state)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *d = dict_open("randmap:{a, b, c}", O_RDONLY, 0, &why);
    int seen[3] = {0, 0, 0};

    (void) state;
    assert_non_null(d);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(dict_lookup(d, "k", &value), LK_FOUND);
        assert_int_equal(buf_len(&value), 1);
        seen[buf_str(&value)[0] - 'a']++;
    }
    assert_true(seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
    dict_close(d);
    buf_fini(&why);
    buf_fini(&value);
}

/* test_members_shared - a member is closed with its composite */
static void test_members_shared(void **state)
{
    struct buf why = BUF_INIT;
    struct dict *m = dict_open("inline:{x=1}", O_RDONLY, 0, &why);
    struct dict *u = dict_open("unionmap:{inline:{x=1}}", O_RDONLY, 0, &why);

    (void) state;
    assert_non_null(m);
    assert_non_null(u);
    assert_int_equal(m->refcount, 2);
    dict_close(u);
    assert_int_equal(m->refcount, 1);
    dict_close(m);
    buf_fini(&why);
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_randmap_spread),
        cmocka_unit_test(test_members_shared),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
