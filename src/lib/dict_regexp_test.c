/* dict_regexp_test - regexp: rule syntax, substitution and warnings. */
#include "lib/dict.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

static char dir[64];
static char path[128];
static struct buf logged = BUF_INIT;

/* capture - collect msg_* lines for assertions */
static void capture(enum msg_level level, const char *text)
{
    buf_cat(&logged, msg_prefix(level));
    buf_cat(&logged, text);
    buf_catc(&logged, '\n');
}

/* setup - a fresh folder and captured logging */
static int setup(void **state)
{
    (void) state;
    if (str_copy(dir, sizeof(dir), "/tmp/ulak-regexp-XXXXXX") < 0
        || mkdtemp(dir) == NULL)
        return -1;
    (void) snprintf(path, sizeof(path), "%s/t", dir);
    msg_output_stderr(false);
    msg_output_add(capture);
    return 0;
}

/* teardown - remove the folder */
static int teardown(void **state)
{
    char cmd[128];

    (void) state;
    (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    msg_output_remove(capture);
    buf_fini(&logged);
    return system(cmd) == 0 ? 0 : -1;
}

/* write_table - the rules into DIR/t */
static void write_table(const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* with_path - TEXT with every "@F@" replaced by the table path */
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

struct tcase {
    const char *name;
    const char *rules; /* file text */
    const char *key;
    const char *want; /* NULL: not found */
    const char *log;  /* warnings at open and lookup; @F@ is the path */
};

/* run_cases - each case in a table of its own, via TYPE:path */
static void run_cases(const char *type, const struct tcase *tc, size_t n)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct buf want_log = BUF_INIT;
    struct buf spec = BUF_INIT;

    for (size_t i = 0; i < n; i++) {
        struct dict *d;
        enum lk_result r;

        write_table(tc[i].rules);
        buf_reset(&logged);
        buf_setf(&spec, "%s:%s", type, path);
        d = dict_open(buf_str(&spec), O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
        if (d == NULL)
            fail_msg("%s: open: %s", tc[i].name, buf_str(&why));
        r = dict_lookup(d, tc[i].key, &value);
        if (tc[i].want == NULL && r != LK_NOTFOUND)
            fail_msg("%s: got %d \"%s\", want not found", tc[i].name, r,
                     buf_str(&value));
        if (tc[i].want != NULL
            && (r != LK_FOUND || strcmp(buf_str(&value), tc[i].want) != 0))
            fail_msg("%s: got %d \"%s\", want \"%s\"", tc[i].name, r,
                     r == LK_FOUND ? buf_str(&value) : "", tc[i].want);
        with_path(&want_log, tc[i].log);
        if (strcmp(buf_str(&logged), buf_str(&want_log)) != 0)
            fail_msg("%s: got log\n%s, want\n%s", tc[i].name, buf_str(&logged),
                     buf_str(&want_log));
        dict_close(d);
    }
    buf_fini(&why);
    buf_fini(&value);
    buf_fini(&want_log);
    buf_fini(&spec);
}

static const struct tcase cases[] = {
    {"first match wins", "/^a/ one\n/^ab/ two\n", "abc", "one", ""},
    {"not found", "/^a/ one\n", "xyz", NULL, ""},
    {"groups", "/^(a)(b)?c$/ [$1] [$2] [${1}] [$(2)] [$$]\n", "ac",
     "[a] [] [a] [] [$]", ""},
    {"groups all set", "/^(a)(b)?c$/ [$1][$2]\n", "abc", "[a][b]", ""},
    {"case-insensitive default", "/^abc$/ yes\n", "ABC", "yes", ""},
    {"i toggles case", "/^abc$/i yes\n", "ABC", NULL, ""},
    {"x toggles extended", "/^a+$/x basic\n", "a+", "basic", ""},
    {"m toggles newline", "/a.b/m r\n", "a\nb", NULL, ""},
    {"newline not special", "/a.b/ r\n", "a\nb", "r", ""},
    {"other delimiter", "%^pct(.*)% p$1\n", "pctX", "pX", ""},
    {"escaped delimiter", "/^sl\\/ash$/ s\n", "sl/ash", "s", ""},
    {"double negation", "!!/x/ r\n", "x", "r", ""},
    {"negation", "! /x/ nx\n", "y", "nx", ""},
    {"continuation", "/^m$/ first\n  second\n", "m", "first  second", ""},
    {"if endif", "if /^s/\n/a/ sa\nendif\n/./ other\n", "xa", "other", ""},
    {"if taken", "IF /^s/\n/a/ sa\nENDIF\n", "sa", "sa", ""},
    {"if negated", "if !/^s/\n/./ not-s\nendif\n", "x", "not-s", ""},
    {"two digit groups", "/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)/ $11-$10-${9}\n",
     "abcdefghijk", "k-j-i", ""},
    {"unset group", "/^e(a|(b))/ e[$2]\n", "ea", "e[]", ""},
    {"out of range", "/^(x)/ $2\n", "x", NULL,
     "warning: regexp map @F@, line 1: out of range replacement index \"2\": skipping this rule\n"},
    {"zero index", "/^(x)/ $0\n", "x", NULL,
     "warning: regexp map @F@, line 1: out-of-range replacement index \"0\"\n"
     "warning: regexp map @F@, line 1: bad replacement syntax: skipping this rule\n"},
    {"non-numeric", "/^(x)/ $1z\n", "x", NULL,
     "warning: regexp map @F@, line 1: non-numeric replacement index \"1z\"\n"
     "warning: regexp map @F@, line 1: bad replacement syntax: skipping this rule\n"},
    {"empty macro", "/^(x)/ [$]\n", "x", NULL,
     "warning: empty macro name: \"[$]\"\n"
     "warning: regexp map @F@, line 1: bad replacement syntax: skipping this rule\n"},
    {"truncated macro", "/^(x)/ ${1\n", "x", NULL,
     "warning: truncated macro reference: \"${1\"\n"
     "warning: regexp map @F@, line 1: bad replacement syntax: skipping this rule\n"},
    {"no closing delimiter", "/^x\n", "x", NULL,
     "warning: regexp map @F@, line 1: no closing regexp delimiter \"/\": skipping this rule\n"},
    {"unknown flag", "/x/q r\n", "x", NULL,
     "warning: regexp map @F@, line 1: unknown regexp option \"q\": skipping this rule\n"},
    {"negated with group", "!/(x)/ $1\n", "y", NULL,
     "warning: regexp map @F@, line 1: $number found in negative match replacement text: skipping this rule\n"},
    {"no replacement", "/x/\n", "y", NULL,
     "warning: regexp map @F@, line 1: no replacement text: using empty string\n"},
    {"empty result", "/x/\n", "x", "",
     "warning: regexp map @F@, line 1: no replacement text: using empty string\n"
     "warning: table regexp:@F@: key x: empty string result is not allowed\n"
     "warning: table regexp:@F@ should return NO RESULT in case of NOT FOUND\n"},
    {"bad regex", "/a(/ r\n", "a", NULL,
     "warning: regexp map @F@, line 1: Unmatched ( or \\(\n"},
    {"unrecognized", "a/x/ r\n", "x", NULL,
     "warning: regexp map @F@, line 1: ignoring unrecognized request\n"},
    {"endif without if", "endif\n/x/ r\n", "x", "r",
     "warning: regexp map @F@, line 1: ignoring ENDIF without matching IF\n"},
    {"if without endif", "if /a/\nif /b/\n/x/ r\n", "x", NULL,
     "warning: regexp map @F@, line 2: IF has no matching ENDIF\n"
     "warning: regexp map @F@, line 1: IF has no matching ENDIF\n"},
    {"extra after if", "if /x/ extra\nendif\n", "x", NULL,
     "warning: regexp map @F@, line 1: ignoring extra text after IF statement: \"extra\"\n"
     "warning: regexp map @F@, line 1: do not prepend whitespace to statements between IF and ENDIF\n"},
    {"extra after endif", "if /x/\nendif junk\n", "x", NULL,
     "warning: regexp map @F@, line 2: ignoring extra text after ENDIF\n"},
    {"no regexp", "if\nendif\n/x/ r\n", "x", "r",
     "warning: regexp map @F@, line 1: no regexp: skipping this rule\n"
     "warning: regexp map @F@, line 2: ignoring ENDIF without matching IF\n"},
    {"line numbers skip comments", "# c\n\n/(x)/ $2\n", "x", NULL,
     "warning: regexp map @F@, line 3: out of range replacement index \"2\": skipping this rule\n"},
    {"secondary pattern", "/^a/!/b/ r\n", "ax", "r", ""},
    {"secondary pattern excludes", "/^a/!/b/ r\n", "ab", NULL, ""},
    {"secondary pattern required", "/^a/!!/b/ r\n", "ab", "r", ""},
    {"secondary keeps primary groups", "/^(a)/!/(b)/ [$1]\n", "ax", "[a]", ""},
    {"secondary no regexp", "/a/!\n", "a", NULL,
     "warning: regexp map @F@, line 1: no regexp: skipping this rule\n"},
    {"nested macro", "/(x)/ ${1 ${1}\n", "x", NULL,
     "warning: truncated macro reference: \"${1 ${1}\"\n"
     "warning: regexp map @F@, line 1: bad replacement syntax: skipping this rule\n"},
    {"leading white space", " /x/ r\n/x/ s\n", "x", "s",
     "warning: @F@: logical line must not start with whitespace: \" /x/ r\"\n"},
    {"leading white space capped",
     " /x/ 12345678901234567890123456789\n/x/ s\n", "x", "s",
     "warning: @F@: logical line must not start with whitespace: \" /x/ 1234567890123456789012345...\"\n"},
    {"control bytes shown as ?", "if /x/ a\001b\nendif\n", "x", NULL,
     "warning: regexp map @F@, line 1: ignoring extra text after IF statement: \"a?b\"\n"
     "warning: regexp map @F@, line 1: do not prepend whitespace to statements between IF and ENDIF\n"},
    {"bracketed after a bad one ends the scan", "/(x)/ $x ${} $y\n", "x", NULL,
     "warning: regexp map @F@, line 1: non-numeric replacement index \"x\"\n"
     "warning: regexp map @F@, line 1: bad replacement syntax: skipping this rule\n"},
    {"no groups needed: glibc's NOSUB match", "/(a)$./ r\n", "a\nb", "r", ""},
    {"groups needed", "/(a)$./ r$1\n", "a\nb", NULL, ""},
    {"seed 004 mime header",
     "/^\\s*Content-(Disposition|Type).*name\\s*=\\s*\"?(.+\\.(lnk|exe|zip))\"?\\s*$/\n"
     "      REJECT Attachment type not allowed. File \"$2\" has the unacceptable extension \"$3\"\n",
     "Content-Disposition: attachment; filename=\"evil.exe\"",
     "REJECT Attachment type not allowed. File \"evil.exe\" has the unacceptable extension \"exe\"",
     ""},
};

/* test_rules - the table above */
static void test_rules(void **state)
{
    (void) state;
    run_cases("regexp", cases, NELEM(cases));
}

/* test_inline - the Postfix 3.7 inline form and its errors */
static void test_inline(void **state)
{
    static const struct {
        const char *spec, *key, *want, *err, *log;
    } tc[] = {
        {"regexp:{ {/x/ r1}, {/y/ r2 two} }", "y", "r2 two", NULL, ""},
        {"regexp:{ {if /y/}, {/./ in}, {endif} }", "y", "in", NULL, ""},
        {"regexp:{}", "y", NULL, NULL, ""},
        {"regexp:{ {/x/ r1}, {/y/q r2} }", "y", NULL, NULL,
         "warning: regexp map { {/x/ r1}, {/y/q r2} }, line 2: unknown regexp option \"q\": skipping this rule\n"},
        {"regexp:{ /x/ r1 }", "y", NULL,
         "regexp map: no '{' at start of text in \"/x/\"", ""},
        {"regexp:{", "y", NULL, "regexp map: missing '}' in \"{\"", ""},
        {"regexp:/nonexistent/x", "y", NULL,
         "open /nonexistent/x: No such file or directory", ""},
    };
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(tc); i++) {
        struct dict *d;

        buf_reset(&logged);
        d = dict_open(tc[i].spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
        if (tc[i].err != NULL) {
            assert_null(d);
            if (strcmp(buf_str(&why), tc[i].err) != 0)
                fail_msg("%s: got \"%s\", want \"%s\"", tc[i].spec,
                         buf_str(&why), tc[i].err);
            continue;
        }
        assert_non_null(d);
        if (tc[i].want == NULL)
            assert_int_equal(dict_lookup(d, tc[i].key, &value), LK_NOTFOUND);
        else if (dict_lookup(d, tc[i].key, &value) != LK_FOUND
                 || strcmp(buf_str(&value), tc[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", tc[i].spec, buf_str(&value),
                     tc[i].want);
        if (strcmp(buf_str(&logged), tc[i].log) != 0)
            fail_msg("%s: got log \"%s\", want \"%s\"", tc[i].spec,
                     buf_str(&logged), tc[i].log);
        dict_close(d);
    }
    buf_fini(&why);
    buf_fini(&value);
}

/* test_rdonly - a regexp table cannot be opened for writing */
static void test_rdonly(void **state)
{
    struct buf why = BUF_INIT;

    (void) state;
    assert_null(dict_open("regexp:/x", O_RDWR, 0, &why));
    assert_string_equal(buf_str(&why),
                        "regexp:/x map requires O_RDONLY access mode");
    buf_fini(&why);
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_rdonly),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
