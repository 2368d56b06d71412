/* addr_test - RFC 5321 paths, header address lists and the address forms.
 *
 * The addr_externalize cases marked "postfix" are golden: each address was
 * given (quoted) to Postfix 3.7's sendmail on a reference instance
 * (/work/shared/tools/postfix-ref, Debian 3.7.11) and the expected text is
 * the to=<...> of its delivery log line, i.e. Postfix's external form of
 * the internal address. */
#include "global/addr.h"
#include "global/maps.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

struct path_case {
    const char *in;
    int flags;
    const char *want; /* internal form, or NULL: error WHY */
    const char *why;  /* the reason, or the bytes left unused */
};

static const struct path_case path_cases[] = {
    {"<a@example.com>", 0, "a@example.com", ""},
    {"<a@example.com> SIZE=100", 0, "a@example.com", " SIZE=100"},
    {"<>", 0, "", ""},
    {"<> BODY=8BITMIME", ADDR_PATH_STRICT, "", " BODY=8BITMIME"},
    {"  <a@b>", 0, "a@b", ""},
    {"<user>", 0, "user", ""},
    {"<@r1,@r2.example:u@d.example>", 0, "u@d.example", ""},
    {"<@r1:u@d>", ADDR_PATH_STRICT, "u@d", ""},
    {"<\"a b\"@example.com>", 0, "a b@example.com", ""},
    {"<\"a\\\"b\"@example.com>", 0, "a\"b@example.com", ""},
    {"<\"a\\\\b\"@x>", 0, "a\\b@x", ""},
    {"<\"\"@example.com>", 0, "@example.com", ""},
    {"<\"a>b\"@x> X", 0, "a>b@x", " X"},
    {"<u@[192.0.2.1]>", 0, "u@[192.0.2.1]", ""},
    {"<u@[IPv6:2001:db8::1]>", 0, "u@[IPv6:2001:db8::1]", ""},
    {"<a.b+c-d_e@Sub.Example.COM>", 0, "a.b+c-d_e@Sub.Example.COM", ""},
    {"<a..b@x>", 0, "a..b@x", ""},
    {"<.a.@x>", 0, ".a.@x", ""},
    {"<u@host.>", 0, "u@host.", ""},
    {"<!#$%&'*+/=?^_`{|}~@x>", 0, "!#$%&'*+/=?^_`{|}~@x", ""},
    {"<a%b@c>", 0, "a%b@c", ""},
    {"<a!b!c>", 0, "a!b!c", ""},
    {"u@example.com SIZE=1", 0, "u@example.com", " SIZE=1"},
    {"u@example.com", 0, "u@example.com", ""},
    {"<\xc3\xbc@example.com>", ADDR_PATH_UTF8, "\xc3\xbc@example.com", ""},
    {"<u@\xc3\xa9x.example>", ADDR_PATH_UTF8, "u@\xc3\xa9x.example", ""},
    /* Every reject path. */
    {"u@example.com", ADDR_PATH_STRICT, NULL, "address not enclosed in <>"},
    {"", 0, NULL, "empty address"},
    {"   ", 0, NULL, "empty address"},
    {"<a@b", 0, NULL, "missing '>'"},
    {"<a", 0, NULL, "missing '>'"},
    {"<", 0, NULL, "empty local part"},
    {"<a b@c>", 0, NULL, "bad character 0x20 in address"},
    {"<a@b c>", 0, NULL, "bad character 0x20 in address"},
    {"<a@b>x", 0, "a@b", "x"},
    {"a<b@c>", 0, NULL, "bad character 0x3c in address"},
    {"<@x>", 0, NULL, "bad source route"},
    {"<@x,u@d>", 0, NULL, "bad source route"},
    {"<@x:>", 0, NULL, "empty local part"},
    {"<@:u@d>", 0, NULL, "bad source route"},
    {"<@example.com>", 0, NULL, "bad source route"},
    {"<a@>", 0, NULL, "empty domain"},
    {"<a@.b>", 0, NULL, "empty label in domain"},
    {"<a@b..c>", 0, NULL, "empty label in domain"},
    {"<a@b@c>", 0, NULL, "bad character 0x40 in address"},
    {"<a@[1.2.3.4>", 0, NULL, "missing ']' in address literal"},
    {"<a@[1 2]>", 0, NULL, "bad character 0x20 in address literal"},
    {"<a@[a\\b]>", 0, NULL, "bad character 0x5c in address literal"},
    /* found by fuzz_addr: the internal form cannot hold these */
    {"<\"a@b\">", 0, NULL, "'@' in local part without a domain"},
    {" \"(@\"", 0, NULL, "'@' in local part without a domain"},
    {"<\"a b\"@[x:1@P1]>", 0, NULL, "bad character 0x40 in address literal"},
    {"<\"abc@x>", 0, NULL, "unterminated quoted string"},
    {"<\"a\x01\"@x>", 0, NULL, "bad character 0x01 in quoted local part"},
    {"<\"a\x7f\"@x>", 0, NULL, "bad character 0x7f in quoted local part"},
    {"<a\x01@x>", 0, NULL, "bad character 0x01 in address"},
    {"<(c)a@x>", 0, NULL, "bad character 0x28 in local part"},
    {"<,a@x>", 0, NULL, "bad character 0x2c in local part"},
    {"<\xc3\xbc@example.com>", 0, NULL, "bad character 0xc3 in local part"},
    {"<u@\xc3\xa9x>", 0, NULL, "bad character 0xc3 in domain"},
    {"<\xff@x>", ADDR_PATH_UTF8, NULL, "malformed UTF-8 in address"},
    {"<\"\xc3\xbc\"@x>", 0, NULL, "bad character 0xc3 in quoted local part"},
};

/* test_path - every path case */
static void test_path(void **state)
{
    struct buf addr = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(path_cases); i++) {
        const struct path_case *c = &path_cases[i];
        size_t used = 9999;
        int r = addr_parse_path(span_of(c->in), c->flags, &addr, &used, &why);

        if (c->want == NULL) {
            if (r != -1 || strcmp(buf_str(&why), c->why) != 0)
                fail_msg("%s: got %d [%s] [%s], want -1 [%s]", c->in, r,
                         buf_str(&addr), buf_str(&why), c->why);
        } else if (r != 0 || strcmp(buf_str(&addr), c->want) != 0
                   || strcmp(c->in + used, c->why) != 0) {
            fail_msg("%s: got %d [%s] rest [%s] (%s), want [%s] rest [%s]",
                     c->in, r, buf_str(&addr), r == 0 ? c->in + used : "",
                     buf_str(&why), c->want, c->why);
        }
    }
    buf_fini(&addr);
    buf_fini(&why);
}

/* test_path_limits - the length bound and a NUL byte */
static void test_path_limits(void **state)
{
    struct buf in = BUF_INIT;
    struct buf addr = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    buf_catc(&in, '<');
    for (int i = 0; i < ADDR_MAX_LEN - 2; i++)
        buf_catc(&in, 'a');
    buf_cat(&in, "@b>");
    assert_int_equal(addr_parse_path(span_make(buf_str(&in), buf_len(&in)), 0,
                                     &addr, NULL, &why),
                     0);
    assert_int_equal(buf_len(&addr), ADDR_MAX_LEN);
    buf_set(&in, "<a");
    for (int i = 0; i < ADDR_MAX_LEN; i++)
        buf_catc(&in, 'a');
    buf_cat(&in, "@b>");
    assert_int_equal(addr_parse_path(span_make(buf_str(&in), buf_len(&in)), 0,
                                     &addr, NULL, &why),
                     -1);
    assert_string_equal(buf_str(&why),
                        "address too long (more than 2048 bytes)");
    /* A NUL inside the span is a bad byte, not the end. */
    assert_int_equal(
        addr_parse_path(span_make("<a\0b@c>", 7), 0, &addr, NULL, &why), -1);
    assert_string_equal(buf_str(&why), "bad character 0x00 in address");
    /* The span's end is respected: "<a@b>" cut before '>'. */
    assert_int_equal(
        addr_parse_path(span_make("<a@b>", 4), 0, &addr, NULL, &why), -1);
    assert_string_equal(buf_str(&why), "missing '>'");
    buf_fini(&in);
    buf_fini(&addr);
    buf_fini(&why);
}

/*
 * Golden: Postfix 3.7.11's smtpd (reference instance, relaying for
 * 127.0.0.1) answered "RCPT TO:" + IN with 250 (POSTFIX true) or "501 5.1.3
 * Bad recipient address syntax" (false).  ULAK is what addr_parse_path
 * says with flags 0; where the two differ ulak is stricter on purpose (see
 * addr.h).
 */
struct smtpd_case {
    const char *in;
    bool postfix;
    bool ulak;
};

static const struct smtpd_case smtpd_cases[] = {
    {"<a@example.com>", true, true},
    {"<@r1,@r2:u@d.example>", true, true},
    {"<\"a b\"@example.com>", true, true},
    {"<a..b@x.example>", true, true},
    {"<.a.@x.example>", true, true},
    {"<a b@c.example>", false, false},
    {"<a@b c.example>", false, false},
    {"<a@>", false, false},
    {"<a@.b>", false, false},
    {"<a@b..c>", false, false},
    {"u@example.com", true, true},
    {" <u@example.com>", true, true},
    {"<u@example.com", false, false},
    {"<a@[1.2.3.4]>", true, true},
    {"<a@[x:1@P1]>", false, false},
    {"<a@ex_ample.com>", true, true},
    {"<a@-x.example>", false, false},
    {"<a@x-.example>", false, false},
    {"<a@x.-y>", false, false},
    {"<a@x.example.>", true, true},
    {"<a@x..>", false, false},
    {"<a@.>", false, false},
    {"<a.@x>", true, true},
    {"<a\"b@x.example>", false, false},
    {"<\"abc@x.example>", false, false},
    {"<@x.example,u@d>", false, false},
    {"<a@1.2.3.4>", false, false},
    {"<a@123>", false, false},
    {"<a@x.123>", true, true},
    {"<a@[IPv6:::1]>", true, true},
    {"<a@[300.1.1.1]>", false, false},
    {"<a@[foo]>", false, false},
    {"<a@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
     "example>",
     true, true}, /* a label of 63 bytes */
    {"<a@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
     "example>",
     false, false}, /* 64 */
    /* ulak is stricter */
    {"<@x.example>", true, false},
    {"<a@b@c.example>", true, false},
    {"<\"a@b\">", true, false},
    {"<(c)a@x.example>", true, false},
    {"<\"a\x01\"@x.example>", true, false},
    {"<a@[1.2.3.4>", true, false},
    {"<@:u@d>", true, false},
    {"<,a@x.example>", true, false},
    {"a<b@c>", true, false},
};

/* test_path_smtpd - accept and reject as Postfix's smtpd */
static void test_path_smtpd(void **state)
{
    struct buf addr = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(smtpd_cases); i++) {
        const struct smtpd_case *c = &smtpd_cases[i];
        bool ok = addr_parse_path(span_of(c->in), 0, &addr, NULL, &why) == 0;

        if (ok != c->ulak)
            fail_msg("%s: got %s (%s), want %s", c->in,
                     ok ? "accepted" : "rejected", buf_str(&why),
                     c->ulak ? "accepted" : "rejected");
    }
    /* resolve_numeric_domain lets an IPv4 address through. */
    assert_int_equal(addr_parse_path(span_of("<a@1.2.3.4>"), ADDR_PATH_NUMERIC,
                                     &addr, NULL, &why),
                     0);
    assert_int_equal(addr_parse_path(span_of("<a@1.2.3>"), ADDR_PATH_NUMERIC,
                                     &addr, NULL, &why),
                     -1);
    assert_string_equal(buf_str(&why), "all-numeric domain");
    buf_fini(&addr);
    buf_fini(&why);
}

struct dom_case {
    const char *domain;
    const char *why; /* NULL: accepted */
};

static const struct dom_case dom_cases[] = {
    {"example.com", NULL},
    {"ex_ample.com", NULL},
    {"a-b.c", NULL},
    {"x.123", NULL},
    {"\xc3\xa9x.example", NULL},
    {"[192.0.2.1]", NULL},
    {"[IPv6:2001:db8::1]", NULL},
    {"", "empty domain"},
    {".a", "empty label in domain"},
    {"a.", "empty label in domain"},
    {"a..b", "empty label in domain"},
    {"-a.b", "label starts with '-' in domain"},
    {"a-.b", "label ends with '-' in domain"},
    {"a.b-", "label ends with '-' in domain"},
    {"a b", "bad character 0x20 in domain"},
    {"a@b", "bad character 0x40 in domain"},
    {"1.2.3.4", "all-numeric domain"},
    {"123", "all-numeric domain"},
    {"[1.2.3]", "bad address literal"},
    {"[tag:x]", "bad address literal"},
};

/* test_check_domain - every reason */
static void test_check_domain(void **state)
{
    struct buf why = BUF_INIT;
    struct buf big = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(dom_cases); i++) {
        const struct dom_case *c = &dom_cases[i];
        int r = addr_check_domain(span_of(c->domain), false, &why);

        if (c->why == NULL ? r != 0
                           : r != -1 || strcmp(buf_str(&why), c->why) != 0)
            fail_msg("%s: got %d %s, want %s", c->domain, r,
                     r ? buf_str(&why) : "", c->why ? c->why : "ok");
    }
    for (int i = 0; i < 64; i++)
        buf_cat(&big, "abc.");
    buf_cat(&big, "com");
    assert_int_equal(
        addr_check_domain(span_make(buf_str(&big), buf_len(&big)), false, &why),
        -1);
    assert_string_equal(buf_str(&why), "domain longer than 255 bytes");
    buf_fini(&big);
    buf_fini(&why);
}

struct form_case {
    const char *internal;
    const char *external;
};

static const struct form_case ext_cases[] = {
    /* postfix: golden from Postfix 3.7's log (see the file comment) */
    {"a b@remote.example", "\"a b\"@remote.example"},
    {"a..b@remote.example", "\"a..b\"@remote.example"},
    {".a@remote.example", "\".a\"@remote.example"},
    {"a.@remote.example", "\"a.\"@remote.example"},
    {"a.b@remote.example", "a.b@remote.example"},
    {"a\"b@remote.example", "\"a\\\"b\"@remote.example"},
    {"a\\b@remote.example", "\"a\\\\b\"@remote.example"},
    {"a@b@remote.example", "\"a@b\"@remote.example"},
    {"@remote.example", "\"\"@remote.example"},
    {"a%b@remote.example", "a%b@remote.example"},
    {"a!b@remote.example", "a!b@remote.example"},
    {"a,b@remote.example", "\"a,b\"@remote.example"},
    {"a(b@remote.example", "\"a(b\"@remote.example"},
    {"a;b@remote.example", "\"a;b\"@remote.example"},
    {"a:b@remote.example", "\"a:b\"@remote.example"},
    {"a<b@remote.example", "\"a<b\"@remote.example"},
    {"a]b@remote.example", "\"a]b\"@remote.example"},
    {"a'b@remote.example", "a'b@remote.example"},
    {"a=b@remote.example", "a=b@remote.example"},
    /* more */
    {"", ""},
    {"user", "user"},
    {"a b", "\"a b\""},
    {"u@[192.0.2.1]", "u@[192.0.2.1]"},
    {"a\tb@x", "\"a\tb\"@x"},
    {"\xc3\xbc@x", "\xc3\xbc@x"},
    /* found by fuzz_addr: a dot before the character that needs quotes */
    {"a.b c@x", "\"a.b c\"@x"},
    {"a.b\"c", "\"a.b\\\"c\""},
};

/* test_forms - externalize, and internalize back */
static void test_forms(void **state)
{
    struct buf out = BUF_INIT;
    struct buf back = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(ext_cases); i++) {
        const struct form_case *c = &ext_cases[i];

        addr_externalize(span_of(c->internal), &out);
        if (strcmp(buf_str(&out), c->external) != 0)
            fail_msg("externalize %s: got %s, want %s", c->internal,
                     buf_str(&out), c->external);
        addr_internalize(span_of(c->external), &back);
        if (strcmp(buf_str(&back), c->internal) != 0)
            fail_msg("internalize %s: got %s, want %s", c->external,
                     buf_str(&back), c->internal);
    }
    /* Partly quoted forms and an unterminated quote. */
    addr_internalize(span_of("\"a\".\"b\"@c"), &out);
    assert_string_equal(buf_str(&out), "a.b@c");
    addr_internalize(span_of("\"a@b\"@c@d"), &out);
    assert_string_equal(buf_str(&out), "a@b@c@d");
    addr_internalize(span_of("\"abc@d"), &out);
    assert_string_equal(buf_str(&out), "abc@d");
    addr_internalize(span_of("\"a\\"), &out);
    assert_string_equal(buf_str(&out), "a");
    buf_fini(&out);
    buf_fini(&back);
}

struct split_case {
    const char *addr;
    bool at;
    const char *local;
    const char *domain;
    const char *lower;
};

static const struct split_case split_cases[] = {
    {"User@Example.COM", true, "User", "Example.COM", "User@example.com"},
    {"a@b@C", true, "a@b", "C", "a@b@c"},
    {"user", false, "user", "", "user"},
    {"@D", true, "", "D", "@d"},
    {"u@", true, "u", "", "u@"},
    {"", false, "", "", ""},
};

/* test_split - local part and domain at the last '@', domain folding */
static void test_split(void **state)
{
    struct buf out = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(split_cases); i++) {
        const struct split_case *c = &split_cases[i];
        struct span local;
        struct span domain;
        bool at = addr_split(span_of(c->addr), &local, &domain);

        if (at != c->at || !span_eq(local, c->local)
            || !span_eq(domain, c->domain))
            fail_msg("split %s: got %d [%.*s] [%.*s], want %d [%s] [%s]",
                     c->addr, at, (int) local.len, local.p, (int) domain.len,
                     domain.p, c->at, c->local, c->domain);
        addr_lower_domain(span_of(c->addr), &out);
        if (strcmp(buf_str(&out), c->lower) != 0)
            fail_msg("lower %s: got %s, want %s", c->addr, buf_str(&out),
                     c->lower);
    }
    buf_fini(&out);
}

struct ext_case {
    const char *local;
    const char *delim;
    const char *user; /* NULL: no extension */
    const char *ext;
    char d;
};

static const struct ext_case xcases[] = {
    {"joe+foo", "+", "joe", "foo", '+'},
    {"joe+foo+bar", "+", "joe", "foo+bar", '+'},
    {"joe-foo", "+", NULL, NULL, 0},
    {"joe-foo", "+-", "joe", "foo", '-'},
    {"joe+a-b", "-+", "joe", "a-b", '+'},
    {"joe-a+b", "+-", "joe", "a+b", '-'},
    {"joe+", "+", "joe", "", '+'},
    {"+joe", "+", NULL, NULL, 0},
    {"joe", "+", NULL, NULL, 0},
    {"joe+foo", "", NULL, NULL, 0},
    /* The special names are compared whole, before any split. */
    {"postmaster+x", "+", "postmaster", "x", '+'},
    {"MAILER-DAEMON", "-", NULL, NULL, 0},
    {"postmaster", "s", NULL, NULL, 0},
    {"owner-list", "-", NULL, NULL, 0},
    {"list-request", "-", NULL, NULL, 0},
    {"double-bounce", "-", NULL, NULL, 0},
};

/* test_ext - recipient_delimiter splitting, one or several delimiters */
static void test_ext(void **state)
{
    (void) state;
    for (size_t i = 0; i < NELEM(xcases); i++) {
        const struct ext_case *c = &xcases[i];
        struct maps_opts o = {.delim = c->delim,
                              .owner_request_special = true,
                              .double_bounce = "double-bounce"};
        struct span user;
        struct span ext;
        char d = 'x';
        bool got = addr_split_ext(span_of(c->local), &o, &user, &ext, &d);

        if (got != (c->user != NULL) || d != c->d
            || (got && (!span_eq(user, c->user) || !span_eq(ext, c->ext)))
            || (!got && !span_eq(user, c->local)))
            fail_msg("%s / %s: got %d [%.*s] [%.*s] %c", c->local, c->delim,
                     got, (int) user.len, user.p, (int) ext.len, ext.p,
                     d ? d : '0');
    }
}

struct lit_case {
    const char *domain;
    const char *ip; /* NULL: not an address literal */
};

static const struct lit_case lcases[] = {
    {"[192.0.2.1]", "192.0.2.1"},
    {"[IPv6:2001:DB8:0::1]", "2001:db8::1"},
    {"[ipv6:::1]", "::1"},
    {"[IPv6:192.0.2.1]", NULL},
    {"[2001:db8::1]", NULL},
    {"[192.0.2.256]", NULL},
    {"[]", NULL},
    {"192.0.2.1", NULL},
    {"[192.0.2.1", NULL},
    {"[example.com]", NULL},
};

/* test_literal - address literals */
static void test_literal(void **state)
{
    struct buf ip = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(lcases); i++) {
        bool got = addr_literal_ip(span_of(lcases[i].domain), &ip);

        if (got != (lcases[i].ip != NULL)
            || (got && strcmp(buf_str(&ip), lcases[i].ip) != 0))
            fail_msg("%s: got %d %s, want %s", lcases[i].domain, got,
                     buf_str(&ip), lcases[i].ip ? lcases[i].ip : "none");
    }
    buf_fini(&ip);
}

struct hdr_case {
    const char *in;
    /* the entries, "addr|display|group" each, " ; " between */
    const char *want;
    bool malformed;
};

static const struct hdr_case hcases[] = {
    {"a@example.com", "a@example.com||", false},
    {"a@x, b@y", "a@x|| ; b@y||", false},
    {"Joe User <joe@example.com>", "joe@example.com|Joe User|", false},
    {"\"User, Joe\" <joe@x>, b@y", "joe@x|User, Joe| ; b@y||", false},
    {"joe@x (Joe User)", "joe@x|Joe User|", false},
    {"joe(c1)@x(Joe)", "joe@x|c1|", false},
    {"<joe@x>", "joe@x||", false},
    {"\"a b\"@x", "a b@x||", false},
    {"Name <\"a b\"@x>", "a b@x|Name|", false},
    {"<@r1,@r2:u@d>", "u@d||", false},
    {"undisclosed-recipients:;", "", false},
    {"friends: a@x, B <b@y>;, c@z", "a@x||friends ; b@y|B|friends ; c@z||",
     false},
    {"The Team: a@x;", "a@x||The Team", false},
    {"a@x,, ,b@y,", "a@x|| ; b@y||", false},
    {"", "", false},
    {"   ", "", false},
    {"(only a comment)", "", false},
    {"joe", "joe||", false},
    {"u@[192.0.2.1]", "u@[192.0.2.1]||", false},
    {"<>", "||", false},
    {"Joe <joe@x> (comment)", "joe@x|Joe|", false},
    {"a:b@x", "b@x||a", true},
    {"John . Doe@x", "John.Doe@x||", false},
    /* Postfix reads words without a special between them as addresses */
    {"a\r\n b@x", "a|| ; b@x||", false},
    {"a b c", "a|| ; b|| ; c||", false},
    {"a@[1.2.3.4] b (c) \"q\" d", "a@[1.2.3.4]|| ; b|| ; q|| ; d|c|", false},
    {"g: a b;", "a||g ; b||g", false},
    {"Dr. Who <who@x>", "who@x|Dr. Who|", false},
    {"a!b@c, d%e@f", "a!b@c|| ; d%e@f||", false},
    /* Malformed: read to the end as Postfix reads them, and flagged. */
    {"<a@x", "a@x||", true},
    {"a@x>", "a@x||", true},
    {"\"unterminated@x", "unterminated@x||", true},
    {"a@x (unterminated", "a@x|unterminated|", true},
    {"N <a@x> junk", "a@x|N|", true},
    {"<<a@x>>", "a@x||", true},
    {"grp: a@x", "a@x||grp", true},
};

/* test_header - header address lists */
static void test_header(void **state)
{
    struct buf got = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(hcases); i++) {
        const struct hdr_case *c = &hcases[i];
        struct addr_hdr_list l;

        addr_hdr_init(&l);
        if (addr_parse_header(span_of(c->in), &l, &why) != 0)
            fail_msg("%s: failed: %s", c->in, buf_str(&why));
        buf_reset(&got);
        for (size_t j = 0; j < l.n; j++)
            buf_catf(&got, "%s%s|%s|%s", j ? " ; " : "", l.v[j].addr,
                     l.v[j].display ? l.v[j].display : "",
                     l.v[j].group ? l.v[j].group : "");
        if (strcmp(buf_str(&got), c->want) != 0 || l.malformed != c->malformed)
            fail_msg("%s: got [%s] malformed=%d, want [%s] malformed=%d", c->in,
                     buf_str(&got), l.malformed, c->want, c->malformed);
        addr_hdr_free(&l);
    }
    buf_fini(&got);
    buf_fini(&why);
}

/* test_header_limits - every limit is an error with a reason */
static void test_header_limits(void **state)
{
    struct buf in = BUF_INIT;
    struct buf why = BUF_INIT;
    struct addr_hdr_list l;

    (void) state;
    addr_hdr_init(&l);
    for (int i = 0; i <= ADDR_HDR_MAX_ADDRS; i++)
        buf_cat(&in, "a,");
    assert_int_equal(
        addr_parse_header(span_make(buf_str(&in), buf_len(&in)), &l, &why), -1);
    assert_string_equal(buf_str(&why), "too many addresses (more than 10000)");
    assert_int_equal(l.n, ADDR_HDR_MAX_ADDRS);
    addr_hdr_free(&l);

    buf_reset(&in);
    for (int i = 0; i <= ADDR_MAX_LEN; i++)
        buf_catc(&in, 'a');
    buf_cat(&in, "@x, b@y");
    assert_int_equal(
        addr_parse_header(span_make(buf_str(&in), buf_len(&in)), &l, &why), -1);
    assert_string_equal(buf_str(&why),
                        "address too long (more than 2048 bytes)");
    assert_int_equal(l.n, 0);
    addr_hdr_free(&l);

    buf_reset(&in);
    for (int i = 0; i <= ADDR_HDR_MAX_LEN; i++)
        buf_catc(&in, ' ');
    assert_int_equal(
        addr_parse_header(span_make(buf_str(&in), buf_len(&in)), &l, &why), -1);
    assert_string_equal(buf_str(&why),
                        "header value too long (more than 102400 bytes)");
    addr_hdr_free(&l);

    assert_int_equal(addr_parse_header(span_make("a@x, b\0c@y", 11), &l, &why),
                     -1);
    assert_string_equal(buf_str(&why), "NUL byte in header value");
    addr_hdr_free(&l);

    /* Deeply nested comments cost no stack. */
    buf_reset(&in);
    for (int i = 0; i < 50000; i++)
        buf_catc(&in, '(');
    buf_cat(&in, "a@b");
    assert_int_equal(
        addr_parse_header(span_make(buf_str(&in), buf_len(&in)), &l, &why), 0);
    assert_int_equal(l.n, 0);
    assert_true(l.malformed);
    addr_hdr_free(&l);
    buf_fini(&in);
    buf_fini(&why);
}

/* qualify - the test's rewrite: "@orig.example" after a bare local part */
static void qualify(void *ctx, struct span addr, struct buf *out)
{
    (void) ctx;
    buf_reset(out);
    buf_catspan(out, addr);
    if (addr.len > 0 && memchr(addr.p, '@', addr.len) == NULL)
        buf_cat(out, "@orig.example");
}

struct rwh_case {
    const char *name; /* "To: " */
    const char *in;
    const char *want; /* NULL: unchanged */
};

#define A10 "aaaaaaaaaa"
#define A26 A10 A10 "aaaaaa"

/* Golden: each header was sent through Postfix 3.7.11's sendmail with
 * myorigin = orig.example (a bare local part gets "@orig.example") and
 * held; the "want" is the header postcat showed. */
static const struct rwh_case rwh_cases[] = {
    {"From: ", "me (Me Myself)", "me@orig.example (Me Myself)"},
    {"To: ", "Joe User <joe>, \"Doe, J\" <jd@host> (comment), undisclosed:;",
     "Joe User <joe@orig.example>, \"Doe, J\" <jd@host>(comment),\n"
     "\tundisclosed: ;"},
    {"Cc: ", "a(c1)@b(c2), \"a b\"@x,   spaced   <  x  @  y  >, <@r:s@t>",
     "a@b (c1) (c2), \"a b\"@x, spaced <x@y>, <s@t>"},
    {"Reply-To: ",
     "aaaaaaaaaa, bbbbbbbbbb, cccccccccc, dddddddddd, eeeeeeeeee, "
     "ffffffffff, gggggggggg, hhhhhhhhhh",
     "aaaaaaaaaa@orig.example, bbbbbbbbbb@orig.example,\n"
     "\tcccccccccc@orig.example, dddddddddd@orig.example,\n"
     "\teeeeeeeeee@orig.example, ffffffffff@orig.example,\n"
     "\tgggggggggg@orig.example, hhhhhhhhhh@orig.example"},
    {"Resent-To: ",
     "x1@a.example, x2@a.example, x3@a.example, x4@a.example, "
     "x5@a.example, x6@a.example, x7@a.example",
     NULL},
    {"Sender: ", "\"quoted name\" <s>", "\"quoted name\" <s@orig.example>"},
    {"To: ", "(c0) Joe (c1) <(c2) j (c3)> (c4), a@b.c, ,, grp: ; , x",
     "(c0) Joe (c1) <j@orig.example (c2) (c3)>(c4), a@b.c, , , grp: ;,\n"
     "\tx@orig.example"},
    {"To: ", "a, b\n\tc, \"x y\" <d>, e(c1)(c2) , f (c3) ,g",
     "a@orig.example, b@orig.example, c@orig.example,\n"
     "\t\"x y\" <d@orig.example>, e@orig.example (c1) (c2),\n"
     "\tf@orig.example (c3), g@orig.example"},
    {"Cc: ", "Group: g1, g2;, Name <(c) x>",
     "Group: g1@orig.example, g2@orig.example;,\n"
     "\tName <x@orig.example (c)>"},
    /* folding: the line with the next element and its comma reaches 70 */
    {"To: ", A26 ", yyyyyyyyyy, z",
     A26 "@orig.example, yyyyyyyyyy@orig.example,\n\tz@orig.example"},
    {"To: ", A26 "a, yyyyyyyyyy, z",
     A26 "a@orig.example,\n\tyyyyyyyyyy@orig.example, z@orig.example"},
    {"To: ", A10 A10 ", bbbbbbbbbbbbbbbbb",
     A10 A10 "@orig.example, bbbbbbbbbbbbbbbbb@orig.example"},
    {"To: ", A10 A10 ", bbbbbbbbbbbbbbbbbb",
     A10 A10 "@orig.example,\n\tbbbbbbbbbbbbbbbbbb@orig.example"},
    /* more */
    {"To: ", "a@x, b@y", NULL},
    {"To: ", "<>", NULL},
    {"To: ", "", NULL},
    {"To: ", "Dr. Who <who>", "Dr. Who <who@orig.example>"},
    {"To: ", "\"a b\"", "\"a b\"@orig.example"},
    /* postfix: words are addresses, comments go with the last one, words
     * in angle brackets run together */
    {"To: ", "a b, John Doe@x.example, \"q r\" s",
     "a@orig.example, b@orig.example, John@orig.example, Doe@x.example,\n"
     "\t\"q r\"@orig.example, s@orig.example"},
    {"Cc: ", "<a b@c.example>, x (c) y",
     "<ab@c.example>, x@orig.example, y@orig.example (c)"},
    {"To: ", "<a", NULL},             /* malformed: left alone */
    {"To: ", "\"unterminated", NULL}, /* malformed: left alone */
};

/* test_rewrite_header - addresses replaced, the header written back */
static void test_rewrite_header(void **state)
{
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(rwh_cases); i++) {
        const struct rwh_case *c = &rwh_cases[i];
        bool changed = true;
        int r = addr_rewrite_header(span_of(c->in), strlen(c->name), qualify,
                                    NULL, &out, &changed, &why);
        const char *want = c->want ? c->want : c->in;

        if (r != 0 || changed != (c->want != NULL)
            || strcmp(buf_str(&out), want) != 0)
            fail_msg("%s%s: got %d changed=%d\n[%s]\nwant\n[%s]", c->name,
                     c->in, r, changed, buf_str(&out), want);
    }
    buf_fini(&out);
    buf_fini(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_path_limits),
        cmocka_unit_test(test_path_smtpd),
        cmocka_unit_test(test_check_domain),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_ext),
        cmocka_unit_test(test_literal),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_rewrite_header),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
