/* rewrite_test - addresses to standard form.
 *
 * Golden cases: every case whose comment says "postfix" was sent to Postfix
 * 3.7.11 (Debian, a /work/shared/tools/postfix-ref instance) with the same
 * main.cf settings; the expected result is what its cleanup stored (the
 * "recipient:" record or the rewritten To:/Cc: header shown by postcat of
 * a held message: local context for sendmail and envelopes, remote context
 * for headers of an SMTP client outside local_header_rewrite_clients), or
 * the to=<...> of its delivery log line. */
#include "global/rewrite.h"
#include "global/addr.h"
#include "global/conf.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <unistd.h>

static char dir[64];

/* use_conf - a fresh config directory with MAIN as main.cf, loaded */
static void use_conf(const char *main)
{
    char path[128];
    FILE *fp;
    struct buf why = BUF_INIT;

    str_copy(dir, sizeof(dir), "/tmp/rewrite_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    str_fmt(path, sizeof(path), "%s/main.cf", dir);
    assert_non_null(fp = fopen(path, "w"));
    fputs(main, fp);
    fclose(fp);
    conf_set_dir(dir);
    conf_defaults_only(false);
    assert_int_equal(conf_load(&why), 0);
    buf_fini(&why);
}

/* drop_conf - remove the config directory */
static void drop_conf(void)
{
    char path[128];

    str_fmt(path, sizeof(path), "%s/main.cf", dir);
    unlink(path);
    rmdir(dir);
}

struct rw_case {
    enum rewrite_context ctx;
    const char *in;
    const char *want;
};

/* run_cases - each case under the loaded configuration */
static void run_cases(const char *title, const struct rw_case *c, size_t n)
{
    struct rewrite_conf *rc = rewrite_conf_new();
    struct buf out = BUF_INIT;

    for (size_t i = 0; i < n; i++) {
        rewrite_addr(rc, c[i].ctx, span_of(c[i].in), &out);
        if (strcmp(buf_str(&out), c[i].want) != 0)
            fail_msg("%s: %s %s: got %s, want %s", title,
                     c[i].ctx == REWRITE_LOCAL ? "local" : "remote", c[i].in,
                     buf_str(&out), c[i].want);
    }
    buf_fini(&out);
    rewrite_conf_free(rc);
}

#define L REWRITE_LOCAL
#define R REWRITE_REMOTE

static const char *base_cf = "compatibility_level = 3.6\n"
                             "myhostname = mx.example.test\n"
                             "mydomain = example.test\n";

static const struct rw_case base_cases[] = {
    {L, "", ""},
    {L, "u", "u@mx.example.test"},                     /* postfix */
    {L, "a!b!c", "b!c@a"},                             /* postfix */
    {L, "user%dom.example", "user@dom.example"},       /* postfix */
    {L, "u%v%w", "u%v@w"},                             /* postfix */
    {L, "user@host.", "user@host"},                    /* postfix */
    {L, "v@host..", "v@host.."},                       /* postfix */
    {L, "w@[1.2.3.4].", "w@[1.2.3.4]"},                /* postfix */
    {L, "b!u@mx.example.test", "b!u@mx.example.test"}, /* postfix */
    {L, "x%y@mx.example.test", "x%y@mx.example.test"}, /* postfix */
    {L, "@r2:u@remote.example", "u@remote.example"},   /* postfix */
    {L, "@r1,@r2:u@remote.example", "u@remote.example"},
    {L, "u@host", "u@host"}, /* postfix: append_dot_mydomain is no at 3.6 */
    {L, "U@Host.Example", "U@Host.Example"},
    {L, "u@", "u@"}, /* postfix (resolve then rejects it) */
    {L, "!u", "u@"}, /* postfix */
    {L, "u!", "@u"},
    {L, "%u", "@u"},
    {L, "u%", "u@"},
    {L, "a b@x", "a b@x"},
    {L, "@", "@"},
    {L, "@x:", "@x:"},
    {R, "u", "u"}, /* remote_header_rewrite_domain is empty */
    {R, "host!u", "u@host"},
};

/* test_base - defaults at compatibility level 3.6 */
static void test_base(void **state)
{
    (void) state;
    use_conf(base_cf);
    run_cases("base", base_cases, NELEM(base_cases));
    drop_conf();
}

static const char *dot_cf = "compatibility_level = 3.6\n"
                            "myhostname = mx.example.test\n"
                            "mydomain = example.test\n"
                            "myorigin = orig.example\n"
                            "append_dot_mydomain = yes\n"
                            "remote_header_rewrite_domain = domain.invalid\n";

static const struct rw_case dot_cases[] = {
    /* postfix: sendmail -t headers and envelope (local context) */
    {L, "me", "me@orig.example"},
    {L, "u", "u@orig.example"},
    {L, "v@host", "v@host.example.test"},
    {L, "w@host.sub", "w@host.sub"},
    {L, "x!y", "y@x.example.test"},
    {L, "p%q", "p@q.example.test"},
    {L, "@r:s@t", "s@t.example.test"},
    {L, "u@host.", "u@host"},
    {L, "u@localhost.", "u@localhost"},
    {L, "u!", "@u.example.test"},
    {L, "%u", "@u.example.test"},
    {L, "u@[1.2.3.4]", "u@[1.2.3.4]"},
    {L, "u@[1.2.3.4].", "u@[1.2.3.4]"},
    /* postfix: the same headers from a remote SMTP client */
    {R, "me", "me@domain.invalid"},
    {R, "u", "u@domain.invalid"},
    {R, "v@host", "v@host.domain.invalid"},
    {R, "w@host.sub", "w@host.sub"},
    {R, "x!y", "y@x.domain.invalid"},
    {R, "p%q", "p@q.domain.invalid"},
    {R, "@r:s@t", "s@t.domain.invalid"},
    {R, "", ""},
};

/* test_dot - append_dot_mydomain, myorigin, remote_header_rewrite_domain */
static void test_dot(void **state)
{
    struct rewrite_conf *rc;

    (void) state;
    use_conf(dot_cf);
    run_cases("dot", dot_cases, NELEM(dot_cases));
    rc = rewrite_conf_new();
    assert_true(rewrite_header_wanted(rc, REWRITE_REMOTE));
    assert_true(rewrite_header_wanted(rc, REWRITE_LOCAL));
    rewrite_conf_free(rc);
    drop_conf();
    use_conf(base_cf);
    rc = rewrite_conf_new();
    assert_false(rewrite_header_wanted(rc, REWRITE_REMOTE));
    rewrite_conf_free(rc);
    drop_conf();
}

static const char *off_cf = "compatibility_level = 3.6\n"
                            "myhostname = mx.example.test\n"
                            "swap_bangpath = no\n"
                            "allow_percent_hack = no\n"
                            "append_at_myorigin = no\n";

static const struct rw_case off_cases[] = {
    {L, "host!u", "host!u"}, /* postfix: resolved as host!u@mx.example.test */
    {L, "u%host", "u%host"}, /* postfix */
    {L, "u", "u"},
    {L, "u%remote.example@mx.example.test", "u%remote.example@mx.example.test"},
};

/* test_off - the switches off */
static void test_off(void **state)
{
    (void) state;
    use_conf(off_cf);
    run_cases("off", off_cases, NELEM(off_cases));
    drop_conf();
}

static const char *noappend_cf = "compatibility_level = 3.6\n"
                                 "myhostname = mx.example.test\n"
                                 "mydomain = example.test\n"
                                 "myorigin = orig.example\n"
                                 "append_at_myorigin = no\n"
                                 "append_dot_mydomain = no\n"
                                 "remote_header_rewrite_domain = "
                                 "domain.invalid\n";

/* postfix: the remote context obeys the same two switches */
static const struct rw_case noappend_cases[] = {
    {R, "u", "u"},
    {R, "v@host", "v@host"},
    {R, "w@host.sub", "w@host.sub"},
    {R, "x!y", "y@x"},
    {R, "p%q", "p@q"},
    {R, "@r:s@t", "s@t"},
    {R, "z@host.", "z@host"},
    {L, "u", "u"},
    {L, "v@host", "v@host"},
    {L, "z@host.", "z@host"},
};

/* test_noappend - neither myorigin nor mydomain appended */
static void test_noappend(void **state)
{
    (void) state;
    use_conf(noappend_cf);
    run_cases("noappend", noappend_cases, NELEM(noappend_cases));
    drop_conf();
}

static const struct rw_case compat_cases[] = {
    {L, "u@host", "u@host.example.test"},
    {L, "u", "u@mx.example.test"},
};

/* test_compat - below compatibility level 1 append_dot_mydomain is yes */
static void test_compat(void **state)
{
    (void) state;
    use_conf("compatibility_level = 0\n"
             "myhostname = mx.example.test\n"
             "mydomain = example.test\n");
    run_cases("compat 0", compat_cases, NELEM(compat_cases));
    drop_conf();
}

struct hdr_ctx {
    const struct rewrite_conf *rc;
    enum rewrite_context ctx;
};

/* rewrite_cb - addr_rewrite_header's callback: the standard form */
static void rewrite_cb(void *ctx, struct span addr, struct buf *out)
{
    const struct hdr_ctx *hc = ctx;

    rewrite_addr(hc->rc, hc->ctx, addr, out);
}

struct hdr_case {
    enum rewrite_context ctx;
    const char *name;
    const char *in;
    const char *want;
};

/* postfix: the headers of a held message, by sendmail (local) and by an
 * SMTP client outside local_header_rewrite_clients (remote), dot_cf */
static const struct hdr_case hdr_cases[] = {
    {L, "From: ", "me", "me@orig.example"},
    {L, "To: ", "u, v@host, w@host.sub, x!y, p%q, @r:s@t",
     "u@orig.example, v@host.example.test, w@host.sub,\n"
     "\ty@x.example.test, p@q.example.test, s@t.example.test"},
    {L, "Cc: ", "\"a b\" <c>", "\"a b\" <c@orig.example>"},
    {R, "From: ", "me", "me@domain.invalid"},
    {R, "To: ", "u, v@host, w@host.sub, x!y, p%q, @r:s@t",
     "u@domain.invalid, v@host.domain.invalid, w@host.sub,\n"
     "\ty@x.domain.invalid, p@q.domain.invalid, s@t.domain.invalid"},
    {R, "Cc: ", "\"a b\" <c>", "\"a b\" <c@domain.invalid>"},
};

/* test_headers - header addresses in standard form, written back */
static void test_headers(void **state)
{
    struct rewrite_conf *rc;
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    use_conf(dot_cf);
    rc = rewrite_conf_new();
    for (size_t i = 0; i < NELEM(hdr_cases); i++) {
        const struct hdr_case *c = &hdr_cases[i];
        struct hdr_ctx hc = {rc, c->ctx};
        bool changed;

        assert_int_equal(addr_rewrite_header(span_of(c->in), strlen(c->name),
                                             rewrite_cb, &hc, &out, &changed,
                                             &why),
                         0);
        if (!changed || strcmp(buf_str(&out), c->want) != 0)
            fail_msg("%s%s: got [%s], want [%s]", c->name, c->in, buf_str(&out),
                     c->want);
    }
    rewrite_conf_free(rc);
    buf_fini(&out);
    buf_fini(&why);
    drop_conf();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base),     cmocka_unit_test(test_dot),
        cmocka_unit_test(test_off),      cmocka_unit_test(test_compat),
        cmocka_unit_test(test_noappend), cmocka_unit_test(test_headers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
