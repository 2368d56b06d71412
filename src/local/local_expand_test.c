/* local_expand_test - alias and .forward destinations, forward_path
 * expansion, command environment and argument vectors. */
#include "local/local_expand.h"
#include "lib/mem.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

/* joined - ITEMS as "a|b|c" */
static void joined(const struct argv *a, struct buf *out)
{
    buf_reset(out);
    for (size_t i = 0; i < a->argc; i++) {
        if (i)
            buf_cat(out, "|");
        buf_cat(out, a->argv[i]);
    }
}

/* test_split - destinations of a value */
static void test_split(void **state)
{
    static const struct {
        const char *in;
        const char *want; /* items joined with '|', or "ERR: why" */
    } cases[] = {
        {"a, b", "a|b"},
        {"  a ,b  ,, c ", "a|b|c"},
        {"\"|cmd arg, x\", /f", "|cmd arg, x|/f"},
        {"# comment\n/x\n\n  b\n", "/x|b"},
        {"a,\n# not a comment in the middle? it is\nb", "a|b"},
        {"\"a \\\" b\"", "a \" b"},
        {"\\user, /dev/null", "\\user|/dev/null"},
        {":include:/etc/list", ":include:/etc/list"},
        {"", ""},
        {"\"open", "ERR: unterminated quoted string"},
    };
    struct buf got = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct argv *a = argv_new();

        if (local_split_items(cases[i].in, a, &why) < 0)
            buf_setf(&got, "ERR: %s", buf_str(&why));
        else
            joined(a, &got);
        if (strcmp(buf_str(&got), cases[i].want) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in,
                     buf_str(&got), cases[i].want);
        argv_free(a);
    }
    buf_fini(&got);
    buf_fini(&why);
}

/* test_split_limit - a hostile list is bounded */
static void test_split_limit(void **state)
{
    struct buf in = BUF_INIT;
    struct buf why = BUF_INIT;
    struct argv *a = argv_new();

    (void) state;
    for (int i = 0; i <= LOCAL_ITEMS_MAX; i++)
        buf_cat(&in, "x,");
    assert_int_equal(local_split_items(buf_str(&in), a, &why), -1);
    assert_string_equal(buf_str(&why), "more than 1000 destinations");
    argv_free(a);
    buf_fini(&in);
    buf_fini(&why);
}

/* test_kind - what a destination is */
static void test_kind(void **state)
{
    static const struct {
        const char *in;
        enum local_dest kind;
        const char *rest;
    } cases[] = {
        {"|/usr/bin/x -a", LOCAL_DEST_COMMAND, "/usr/bin/x -a"},
        {"/var/mail/x", LOCAL_DEST_FILE, "/var/mail/x"},
        {"/home/x/Maildir/", LOCAL_DEST_FILE, "/home/x/Maildir/"},
        {":include:/etc/l", LOCAL_DEST_INCLUDE, "/etc/l"},
        {":INCLUDE: /etc/l", LOCAL_DEST_INCLUDE, "/etc/l"},
        {"\\user", LOCAL_DEST_ADDR, "user"},
        {"user@example.com", LOCAL_DEST_ADDR, "user@example.com"},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *rest = NULL;
        enum local_dest k = local_dest_kind(cases[i].in, &rest);

        if (k != cases[i].kind || strcmp(rest, cases[i].rest) != 0)
            fail_msg("%s: got %d \"%s\", want %d \"%s\"", cases[i].in, (int) k,
                     rest, (int) cases[i].kind, cases[i].rest);
    }
}

/* test_expand - forward_path */
static void test_expand(void **state)
{
    struct local_vars v = {
        .user = "joe",
        .home = "/home/joe",
        .shell = "/bin/bash",
        .recipient = "joe+tag@example.com",
        .extension = "tag",
        .domain = "example.com",
        .local = "joe+tag",
        .delimiter = "+",
    };
    struct local_vars noext = v;
    static const struct {
        bool ext;
        const char *in;
        const char *want;
    } cases[] = {
        {true, "$home/.forward${recipient_delimiter}${extension}",
         "/home/joe/.forward+tag"},
        {false, "$home/.forward${recipient_delimiter}${extension}",
         "/home/joe/.forward"},
        {true, "/f/${extension?x-$user}", "/f/x-joe"},
        {false, "/f/${extension?x}", "/f/"},
        {false, "/f/${extension:none}", "/f/none"},
        {true, "/f/${extension:none}", "/f/"},
        {true, "$(user).$shell.$domain.$local.$recipient.$$",
         "joe./bin/bash.example.com.joe+tag.joe+tag@example.com.$"},
        {true, "$nosuch", "ERR: unknown variable \"nosuch\" in \"$nosuch\""},
        {true, "${user", "ERR: missing '}' in \"${user\""},
        {true, "$", "ERR: bad '$' in \"$\""},
        {true, "${a b}", "ERR: bad variable syntax in \"${a b}\""},
    };
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    struct buf got = BUF_INIT;

    (void) state;
    noext.extension = "";
    noext.delimiter = "";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (local_expand_path(cases[i].in, cases[i].ext ? &v : &noext, &out,
                              &why)
            < 0)
            buf_setf(&got, "ERR: %s", buf_str(&why));
        else
            buf_set(&got, buf_str(&out));
        if (strcmp(buf_str(&got), cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].in, buf_str(&got),
                     cases[i].want);
    }
    buf_fini(&out);
    buf_fini(&why);
    buf_fini(&got);
}

/* find - the value of NAME in ENV, or NULL */
static const char *find(const struct argv *env, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < env->argc; i++)
        if (strncmp(env->argv[i], name, n) == 0 && env->argv[i][n] == '=')
            return env->argv[i] + n + 1;
    return NULL;
}

/* test_env - the documented variables, envelope data verbatim */
static void test_env(void **state)
{
    struct local_vars v = {
        .user = "joe",
        .home = "/home/joe",
        .shell = "",
        .recipient = "joe+x@example.com",
        .extension = "x",
        .domain = "example.com",
        .local = "joe+x",
        .delimiter = "+",
        .sender = "a$(rm -rf /)`x`@evil",
        .orig_rcpt = NULL,
    };
    struct argv *env = argv_new();

    (void) state;
    argv_add(env, "TZ=UTC");
    local_command_env(env, &v);
    assert_string_equal(find(env, "TZ"), "UTC");
    assert_string_equal(find(env, "HOME"), "/home/joe");
    assert_string_equal(find(env, "USER"), "joe");
    assert_string_equal(find(env, "LOGNAME"), "joe");
    assert_string_equal(find(env, "SHELL"), "/bin/sh");
    assert_string_equal(find(env, "SENDER"), "a$(rm -rf /)`x`@evil");
    assert_string_equal(find(env, "RECIPIENT"), "joe+x@example.com");
    assert_string_equal(find(env, "EXTENSION"), "x");
    assert_string_equal(find(env, "DOMAIN"), "example.com");
    assert_string_equal(find(env, "LOCAL"), "joe+x");
    assert_string_equal(find(env, "ORIGINAL_RECIPIENT"), "joe+x@example.com");
    assert_non_null(find(env, "PATH"));
    argv_free(env);
}

/* test_argv - a shell only for shell syntax */
static void test_argv(void **state)
{
    static const struct {
        const char *in;
        const char *want; /* joined with '|' */
    } cases[] = {
        {"/usr/bin/procmail -a x", "/usr/bin/procmail|-a|x"},
        {"/usr/bin/procmail  -t", "/usr/bin/procmail|-t"},
        {"procmail -a x", "/bin/sh|-c|procmail -a x"},
        {"/usr/bin/procmail -a \"$EXTENSION\"",
         "/bin/sh|-c|/usr/bin/procmail -a \"$EXTENSION\""},
        {"/bin/cat > /tmp/x", "/bin/sh|-c|/bin/cat > /tmp/x"},
    };
    struct buf got = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path;
        struct argv *a = local_command_argv(cases[i].in, &path);

        joined(a, &got);
        if (strcmp(buf_str(&got), cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].in, buf_str(&got),
                     cases[i].want);
        assert_string_equal(path, a->argv[0]);
        argv_free(a);
    }
    buf_fini(&got);
}

/* main - run the local_expand tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split), cmocka_unit_test(test_split_limit),
        cmocka_unit_test(test_kind),  cmocka_unit_test(test_expand),
        cmocka_unit_test(test_env),   cmocka_unit_test(test_argv),
    };

    msg_output_stderr(false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
