/* maps_test - table lists and the key search orders. */
#include "global/maps.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

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

static const struct maps_opts plus = {.delim = "+"};
static const struct maps_opts plus_minus = {
    .delim = "+-",
    .owner_request_special = true,
    .double_bounce = "double-bounce",
};
static const struct maps_opts pdms = {.delim = "+", .parent_matches_sub = true};
static const struct maps_opts local = {.delim = "+", .local_domain = true};

struct kcase {
    const char *name;
    enum maps_order order;
    const struct maps_opts *opts;
    const char *key;
    /* the keys tried, " | " between; "~" marks a key for fixed tables only */
    const char *want;
};

static const struct kcase kcases[] = {
    {"exact", MAPS_ORDER_EXACT, &plus, "a+b@c.d", "a+b@c.d"},
    /* access(5) EMAIL ADDRESS PATTERNS and EMAIL ADDRESS EXTENSION */
    {"access addr", MAPS_ORDER_ACCESS_ADDR, NULL, "user@a.b.c",
     "user@a.b.c | ~a.b.c | ~.b.c | ~.c | ~user@"},
    {"access addr ext", MAPS_ORDER_ACCESS_ADDR, &plus, "user+foo@a.b",
     "user+foo@a.b | ~user@a.b | ~a.b | ~.b | ~user+foo@ | ~user@"},
    {"access addr pdms", MAPS_ORDER_ACCESS_ADDR, &pdms, "user@a.b.c",
     "user@a.b.c | ~a.b.c | ~b.c | ~c | ~user@"},
    {"access addr no delimiter", MAPS_ORDER_ACCESS_ADDR, NULL, "user+foo@a.b",
     "user+foo@a.b | ~a.b | ~.b | ~user+foo@"},
    {"access addr no domain", MAPS_ORDER_ACCESS_ADDR, &plus, "user+foo",
     "user+foo | ~user"},
    {"access null sender", MAPS_ORDER_ACCESS_ADDR, &plus, "<>", "<>"},
    {"access addr literal", MAPS_ORDER_ACCESS_ADDR, NULL, "u@[10.1.2.3]",
     "u@[10.1.2.3] | ~[10.1.2.3] | ~u@"},
    {"access addr empty local", MAPS_ORDER_ACCESS_ADDR, &plus, "@a.b",
     "@a.b | ~a.b | ~.b"},
    /* access(5) HOST NAME/ADDRESS PATTERNS */
    {"access host", MAPS_ORDER_ACCESS_HOST, NULL, "mail.example.com",
     "mail.example.com | ~.example.com | ~.com"},
    {"access host pdms", MAPS_ORDER_ACCESS_HOST, &pdms, "mail.example.com",
     "mail.example.com | ~example.com | ~com"},
    {"access host single label", MAPS_ORDER_ACCESS_HOST, NULL, "localhost",
     "localhost"},
    {"access ipv4", MAPS_ORDER_ACCESS_IP, NULL, "192.168.1.20",
     "192.168.1.20 | ~192.168.1 | ~192.168 | ~192"},
    {"access ipv6", MAPS_ORDER_ACCESS_IP, NULL, "2001:db8:1:2::7",
     "2001:db8:1:2::7 | ~2001:db8:1:2 | ~2001:db8:1 | ~2001:db8 | ~2001"},
    {"access ipv6 full", MAPS_ORDER_ACCESS_IP, NULL, "1:2:3:4:5:6:7:8",
     "1:2:3:4:5:6:7:8 | ~1:2:3:4:5:6:7 | ~1:2:3:4:5:6 | ~1:2:3:4:5 | "
     "~1:2:3:4 | ~1:2:3 | ~1:2 | ~1"},
    /* virtual(5), canonical(5) */
    {"virtual", MAPS_ORDER_VIRTUAL, &plus, "user@example.com",
     "user@example.com | ~@example.com"},
    {"virtual ext", MAPS_ORDER_VIRTUAL, &plus, "user+foo@example.com",
     "user+foo@example.com | ~user@example.com | ~@example.com"},
    {"virtual local domain", MAPS_ORDER_VIRTUAL, &local, "user+foo@example.com",
     "user+foo@example.com | ~user@example.com | ~user+foo | ~user | "
     "~@example.com"},
    {"virtual bare user", MAPS_ORDER_VIRTUAL, &plus, "user+foo",
     "user+foo | ~user"},
    /* aliases(5) */
    {"alias", MAPS_ORDER_ALIAS, &plus, "user", "user"},
    {"alias ext", MAPS_ORDER_ALIAS, &plus, "user+foo", "user+foo | ~user"},
    {"alias postmaster", MAPS_ORDER_ALIAS, &plus_minus, "postmaster",
     "postmaster"},
    {"alias owner", MAPS_ORDER_ALIAS, &plus_minus, "owner-list", "owner-list"},
    {"alias request", MAPS_ORDER_ALIAS, &plus_minus, "list-request",
     "list-request"},
    {"alias double bounce", MAPS_ORDER_ALIAS, &plus_minus, "double-bounce",
     "double-bounce"},
    {"alias first delimiter", MAPS_ORDER_ALIAS, &plus_minus, "a-b+c",
     "a-b+c | ~a"},
    {"alias leading delimiter", MAPS_ORDER_ALIAS, &plus, "+foo", "+foo"},
    /* transport(5) */
    {"transport", MAPS_ORDER_TRANSPORT, &plus, "user+foo@a.example.com",
     "user+foo@a.example.com | ~user@a.example.com | ~a.example.com | "
     "~.example.com | ~.com | ~*"},
    {"transport pdms", MAPS_ORDER_TRANSPORT, &pdms, "user@a.example.com",
     "user@a.example.com | ~a.example.com | ~example.com | ~com | ~*"},
    {"transport domain", MAPS_ORDER_TRANSPORT, NULL, "a.example.com",
     "a.example.com | ~.example.com | ~.com | ~*"},
};

/* test_keys - every search order, key by key */
static void test_keys(void **state)
{
    struct buf got = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(kcases); i++) {
        const struct kcase *tc = &kcases[i];
        struct maps_keys k;

        maps_keys(tc->order, tc->key, tc->opts, &k);
        buf_reset(&got);
        for (size_t j = 0; j < k.count; j++)
            buf_catf(&got, "%s%s%s", j ? " | " : "",
                     k.keys[j].flags & MAPS_FIND_FIXED ? "~" : "",
                     k.keys[j].key);
        if (strcmp(buf_str(&got), tc->want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", tc->name, buf_str(&got),
                     tc->want);
        maps_keys_free(&k);
    }
    buf_fini(&got);
}

struct scase {
    const char *name;
    const char *spec;
    enum maps_order order;
    const struct maps_opts *opts;
    const char *key;
    enum lk_result want_result;
    const char *want;    /* value, or the maps_why() text */
    const char *matched; /* key that was found */
};

static const struct scase scases[] = {
    {"first table wins", "inline:{a@b.c=one}, inline:{a@b.c=two}",
     MAPS_ORDER_EXACT, NULL, "a@b.c", LK_FOUND, "one", "a@b.c"},
    {"second table", "inline:{x=one}, inline:{a@b.c=two}", MAPS_ORDER_EXACT,
     NULL, "A@B.C", LK_FOUND, "two", "A@B.C"},
    {"domain found", "inline:{b.c=dom}", MAPS_ORDER_ACCESS_ADDR, &plus,
     "a+x@b.c", LK_FOUND, "dom", "b.c"},
    {"full key before domain", "inline:{b.c=dom}, inline:{a@b.c=full}",
     MAPS_ORDER_ACCESS_ADDR, &plus, "a@b.c", LK_FOUND, "full", "a@b.c"},
    {"pattern gets the full key", "regexp:{ {/^a@b\\.c$/ re} }, inline:{x=y}",
     MAPS_ORDER_ACCESS_ADDR, &plus, "a@b.c", LK_FOUND, "re", "a@b.c"},
    {"pattern gets no partial key", "regexp:{ {/^b\\.c$/ re} }",
     MAPS_ORDER_ACCESS_ADDR, &plus, "a@b.c", LK_NOTFOUND, NULL, NULL},
    {"cidr gets no prefix", "cidr:{ {10.0.0.0/8 net} }, inline:{10.1=pre}",
     MAPS_ORDER_ACCESS_IP, NULL, "10.1.2.3", LK_FOUND, "net", "10.1.2.3"},
    {"prefix", "inline:{10.1=pre}", MAPS_ORDER_ACCESS_IP, NULL, "10.1.2.3",
     LK_FOUND, "pre", "10.1"},
    {"stripped extension", "inline:{user@d=plain}", MAPS_ORDER_VIRTUAL, &plus,
     "user+ext@d", LK_FOUND, "plain", "user@d"},
    {"catch-all", "inline:{@d=all}", MAPS_ORDER_VIRTUAL, &plus, "x@d", LK_FOUND,
     "all", "@d"},
    {"tempfail propagates", "fail:x, inline:{a=b}", MAPS_ORDER_EXACT, NULL, "a",
     LK_TEMPFAIL, "test_maps: fail:x lookup error for \"a\": Application error",
     NULL},
    {"tempfail on a partial key", "inline:{z=1}, fail:x",
     MAPS_ORDER_ACCESS_ADDR, &plus, "a@b", LK_TEMPFAIL,
     "test_maps: fail:x lookup error for \"a@b\": Application error", NULL},
    {"unavailable table", "nosuch:x, inline:{a=b}", MAPS_ORDER_EXACT, NULL, "a",
     LK_TEMPFAIL,
     "test_maps: nosuch:x is unavailable. unsupported dictionary type: nosuch",
     NULL},
    {"not found", "inline:{a=b}", MAPS_ORDER_TRANSPORT, &plus, "x@y",
     LK_NOTFOUND, NULL, NULL},
    {"transport wildcard", "inline:{*=smtp:relay}", MAPS_ORDER_TRANSPORT, &plus,
     "x@y", LK_FOUND, "smtp:relay", "*"},
};

/* test_search - maps_search over real in-memory and pattern tables */
static void test_search(void **state)
{
    struct buf value = BUF_INIT;
    struct buf matched = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(scases); i++) {
        const struct scase *tc = &scases[i];
        struct maps *m = maps_open("test_maps", tc->spec, DICT_FLAG_FOLD_FIX);
        enum lk_result r;

        buf_reset(&matched);
        r = maps_search(m, tc->order, tc->key, tc->opts, &value, &matched);
        if (r != tc->want_result)
            fail_msg("%s: got result %d, want %d", tc->name, r,
                     tc->want_result);
        if (r == LK_FOUND
            && (strcmp(buf_str(&value), tc->want) != 0
                || strcmp(buf_str(&matched), tc->matched) != 0))
            fail_msg("%s: got \"%s\" for \"%s\", want \"%s\" for \"%s\"",
                     tc->name, buf_str(&value), buf_str(&matched), tc->want,
                     tc->matched);
        if (r == LK_TEMPFAIL && strcmp(maps_why(m), tc->want) != 0)
            fail_msg("%s: got why \"%s\", want \"%s\"", tc->name, maps_why(m),
                     tc->want);
        maps_free(m);
    }
    maps_free(NULL);
    buf_fini(&value);
    buf_fini(&matched);
}

/* test_unavailable_warning - one warning at open for a bad table */
static void test_unavailable_warning(void **state)
{
    struct maps *m;

    (void) state;
    buf_reset(&logged);
    m = maps_open("x_maps", "inline:{a}, static:ok", 0);
    assert_int_equal(m->count, 2);
    assert_string_equal(
        buf_str(&logged),
        "warning: inline:{a} is unavailable. missing '=' after attribute "
        "name: \"inline:{a}\"; need \"inline:{name=value...}\"\n");
    maps_free(m);
    buf_reset(&logged);
    m = maps_open("x_maps", "", 0);
    assert_int_equal(m->count, 0);
    assert_string_equal(buf_str(&logged), "");
    maps_free(m);
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_unavailable_warning),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
