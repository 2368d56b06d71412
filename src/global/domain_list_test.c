/* domain_list_test - domain lists as Postfix matches them.  The string
 * and host modes follow Postfix 3.7's verbose log (match_string for
 * mydestination and virtual_*_domains, match_hostname for relay_domains);
 * see resolve_test.c for the end-to-end golden cases. */
#include "global/domain_list.h"
#include "global/conf.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <unistd.h>

static char dir[64];
static struct buf logged = BUF_INIT;

/* capture - msg output that the tests assert on */
static void capture(enum msg_level level, const char *text)
{
    buf_catf(&logged, "%s%s\n", msg_prefix(level), text);
}

/* put - DIR/NAME holding TEXT */
static void put(const char *name, const char *text)
{
    char path[128];
    FILE *fp;

    str_fmt(path, sizeof(path), "%s/%s", dir, name);
    assert_non_null(fp = fopen(path, "w"));
    fputs(text, fp);
    fclose(fp);
}

/* setup - a config directory with a few list files */
static int setup(void **state)
{
    struct buf why = BUF_INIT;

    (void) state;
    msg_output_stderr(false);
    msg_output_add(capture);
    str_copy(dir, sizeof(dir), "/tmp/domain_list_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    put("main.cf", "parent_domain_matches_subdomains = relay_domains\n");
    put("names", "# comment\nfile.example\n  # indented comment\n"
                 "other.example, third.example\n");
    put("table", "tbl.example x\n.sub.tbl.example x\nparent.example x\n");
    conf_set_dir(dir);
    conf_defaults_only(false);
    assert_int_equal(conf_load(&why), 0);
    buf_fini(&why);
    return 0;
}

/* teardown - remove the directory */
static int teardown(void **state)
{
    char path[128];
    static const char *const files[] = {"main.cf", "names", "table"};

    (void) state;
    for (size_t i = 0; i < NELEM(files); i++) {
        str_fmt(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    msg_output_remove(capture);
    buf_fini(&logged);
    return 0;
}

struct dl_case {
    const char *param;
    enum domain_list_mode mode;
    const char *value; /* "DIR" is replaced */
    const char *domain;
    enum lk_result want;
};

#define S DOMAIN_LIST_STRING
#define H DOMAIN_LIST_HOST
#define F LK_FOUND
#define N LK_NOTFOUND
#define T LK_TEMPFAIL

static const struct dl_case cases[] = {
    {"mydestination", S, "a.example, B.Example", "b.example", F},
    {"mydestination", S, "a.example", "A.EXAMPLE", F},
    {"mydestination", S, "a.example", "x.a.example", N},
    {"mydestination", S, ".a.example", "x.a.example", N},
    {"mydestination", S, "!a.example, a.example", "a.example", N},
    {"mydestination", S, "a.example, !a.example", "a.example", F},
    {"mydestination", S, "[127.0.0.1]", "[127.0.0.1]", F},
    {"mydestination", S, "/DIR/names", "other.example", F},
    {"mydestination", S, "/DIR/names", "comment", N},
    {"mydestination", S, "!/DIR/names, other.example", "other.example", N},
    {"mydestination", S, "texthash:DIR/table", "tbl.example", F},
    {"mydestination", S, "texthash:DIR/table", "x.tbl.example", N},
    {"mydestination", S, "!texthash:DIR/table, tbl.example", "tbl.example", N},
    {"mydestination", S, "", "a.example", N},
    /* relay_domains is in parent_domain_matches_subdomains here */
    {"relay_domains", H, "a.example", "x.y.a.example", F},
    {"relay_domains", H, "a.example", "xa.example", N},
    {"relay_domains", H, ".a.example", "a.example", N},
    {"relay_domains", H, ".a.example", "x.a.example", F},
    {"relay_domains", H, "texthash:DIR/table", "x.parent.example", F},
    {"relay_domains", H, "!x.a.example, a.example", "x.a.example", N},
    /* virtual_mailbox_domains in host mode is not: only ".parent" */
    {"virtual_mailbox_domains", H, "a.example", "x.a.example", N},
    {"virtual_mailbox_domains", H, "texthash:DIR/table", "x.sub.tbl.example",
     F},
    {"virtual_mailbox_domains", H, "texthash:DIR/table", "x.parent.example", N},
    /* failures are temporary, after what matched before them */
    {"mydestination", S, "a.example, fail:x", "a.example", F},
    {"mydestination", S, "a.example, fail:x", "b.example", T},
    {"mydestination", S, "/DIR/missing", "b.example", T},
    {"mydestination", S, "hash:DIR/missing", "b.example", T},
};

/* test_cases - every case on its own list */
static void test_cases(void **state)
{
    struct buf value = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        const struct dl_case *c = &cases[i];
        struct domain_list *dl;
        enum lk_result got;

        buf_reset(&value);
        for (const char *p = c->value; *p; p++) {
            if (strncmp(p, "DIR", 3) == 0) {
                buf_cat(&value, dir);
                p += 2;
            } else {
                buf_catc(&value, *p);
            }
        }
        dl = domain_list_new(c->param, buf_str(&value), c->mode);
        got = domain_list_match(dl, c->domain);
        if (got != c->want)
            fail_msg("%s = %s: %s: got %d, want %d (%s)", c->param,
                     buf_str(&value), c->domain, got, c->want,
                     domain_list_why(dl));
        if (got == LK_TEMPFAIL && *domain_list_why(dl) == 0)
            fail_msg("%s: no reason for the failure", c->value);
        domain_list_free(dl);
    }
    assert_non_null(strstr(buf_str(&logged), "warning: mydestination: open "));
    buf_fini(&value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
