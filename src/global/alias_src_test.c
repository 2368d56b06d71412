/* alias_src_test - aliases(5) entries normalised as Postfix's postalias
 * stores them (every "want" was read back with Postfix 3.7's postalias -q). */
#include "global/alias_src.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

struct alias_case {
    const char *in;
    const char *name; /* NULL: rejected with WHY */
    const char *want; /* value, or the reason */
};

static const struct alias_case cases[] = {
    {"root: admin, Bob", "root", "admin, Bob"},
    {"a: x,y", "a", "x, y"},
    {"b: x   y", "b", "x y"},
    {"c: \"q w\",,  z ,", "c", "\"q w\", , z, "},
    {"d:x", "d", "x"},
    {"e :  x", "e", "x"},
    {"\"F G\" : y", "F G", "y"},
    {"\"h\\\"i\": z", "h\"i", "z"},
    {"j: x # not comment", "j", "x # not comment"},
    {"k: :include:/a/b, |cmd arg, /file", "k",
     ":include:/a/b, |cmd arg, /file"},
    {"l: \"|cmd\"", "l", "\"|cmd\""},
    {"n: <a@b>, \"a b\"@c, a(comment)", "n", "<a@b>, \"a b\"@c, a (comment)"},
    {"v: a @ b", "v", "a@b"},
    {"v: a<b>", "v", "a <b>"},
    {"v: a\\b", "v", "ab"},
    {"v: (c)a", "v", "(c) a"},
    {"v: \"x\"y", "v", "\"x\" y"},
    {"v: \"unterminated", "v", "\"unterminated\""},
    {"v: (unterminated", "v", "(unterminated"},
    {"v: a)b", "v", "a)b"},
    {"v: |\"cmd x\"", "v", "|\"cmd x\""},
    {"v: /path/with space", "v", "/path/with space"},
    {"v: :include: /x", "v", ":include:/x"},
    {"v: x!y%z", "v", "x!y%z"},
    {"v: a\\ b", "v", "\"a b\""},
    {"v: <a>b", "v", "<a>b"},
    {"v: <a><b>", "v", "<a> <b>"},
    {"v: a > b", "v", "a>b"},
    {"v: [a\\]b]", "v", "[a]b]"},
    {"v: (a\\)b)", "v", "(a\\)b)"},
    {"v: a\\,b", "v", "\"a,b\""},
    {"v: a\\\\b", "v", "\"a\\\\b\""},
    {"v: a\\!b", "v", "\"a!b\""},
    {"v: a\\#b", "v", "a#b"},
    {"v: [abc", "v", "[abc]"},
    {"v: a\"b\"", "v", "a \"b\""},
    {"v: |a\"b c\"", "v", "|a \"b c\""},
    {"v: /\"a b\"", "v", "/ \"a b\""},
    {"a b: x", "a b", "x"},
    {"\"q\"r: x", "q r", "x"},
    {"(c)n: x", "(c) n", "x"},
    {"x\\:y: z", "x:y", "z"},
    {"\"\":z", "", "z"},
    {"a@b: x", NULL, "name must be local"},
    {":z", NULL, "need name:value pair"},
    {"empty:", NULL, "need name:value pair"},
    {"nocolon x", NULL, "need name:value pair"},
};

/* test_cases - every case, with "got X, want Y" on failure */
static void test_cases(void **state)
{
    struct buf name = BUF_INIT;
    struct buf value = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        const struct alias_case *c = &cases[i];
        int r = alias_src_parse(c->in, &name, &value, &why);

        if (c->name == NULL) {
            if (r != -1 || strcmp(buf_str(&why), c->want) != 0)
                fail_msg("%s: got %d \"%s\", want -1 \"%s\"", c->in, r,
                         buf_str(&why), c->want);
        } else if (r != 0 || strcmp(buf_str(&name), c->name) != 0
                   || strcmp(buf_str(&value), c->want) != 0) {
            fail_msg("%s: got %d [%s] [%s], want [%s] [%s]", c->in, r,
                     buf_str(&name), buf_str(&value), c->name, c->want);
        }
    }
    buf_fini(&name);
    buf_fini(&value);
    buf_fini(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
