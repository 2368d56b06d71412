/* dns_test - rdata parsers, the server list, and lookups against a real
 * unbound (tests/e2e/dnsserver.py) started by the test. */
#include "global/dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/argv.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "global/dns_test_server.h"

/* test_parse_a_aaaa - addresses need exactly 4 or 16 bytes */
static void test_parse_a_aaaa(void **state)
{
    struct dns_rr rr;
    const unsigned char a[] = {127, 0, 0, 2};
    unsigned char aaaa[16] = {0};
    char text[INET6_ADDRSTRLEN];

    (void) state;
    assert_int_equal(dns_rr_parse(DNS_T_A, a, 4, &rr), 0);
    assert_int_equal(rr.addr.ss_family, AF_INET);
    assert_int_equal(rr.addrlen, sizeof(struct sockaddr_in));
    inet_ntop(AF_INET, &((struct sockaddr_in *) &rr.addr)->sin_addr, text,
              sizeof(text));
    assert_string_equal(text, "127.0.0.2");
    assert_int_equal(dns_rr_parse(DNS_T_A, a, 3, &rr), -1);
    aaaa[15] = 1;
    assert_int_equal(dns_rr_parse(DNS_T_AAAA, aaaa, 16, &rr), 0);
    assert_int_equal(rr.addr.ss_family, AF_INET6);
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &rr.addr)->sin6_addr, text,
              sizeof(text));
    assert_string_equal(text, "::1");
    assert_int_equal(dns_rr_parse(DNS_T_AAAA, aaaa, 4, &rr), -1);
    assert_int_equal(dns_rr_parse(DNS_T_AAAA, aaaa, 17, &rr), -1);
    assert_int_equal(dns_rr_parse(99, a, 4, &rr), -1);
}

struct name_case {
    const char *name;
    const char *in;
    size_t len;
    const char *want; /* NULL: malformed */
};

/* test_parse_names - MX and PTR names, good and hostile */
static void test_parse_names(void **state)
{
    static const struct name_case cases[] = {
        {"mx", "\0\12\3mx1\7example\4test\0", 20, "mx1.example.test"},
        {"null mx", "\0\12\0", 3, ""},
        {"no name", "\0\12", 2, NULL},
        {"unterminated", "\0\12\3mx1", 6, NULL},
        {"label past end", "\0\12\11mx1\0", 7, NULL},
        {"pointer", "\0\12\300\14", 4, NULL},
        {"trailing byte", "\0\12\1a\0x", 6, NULL},
        {"dot in label", "\0\12\3a.b\0", 7, NULL},
        {"space in label", "\0\12\3a b\0", 7, NULL},
        {"control byte", "\0\12\3a\nb\0", 7, NULL},
        {"high byte", "\0\12\3a\377b\0", 7, NULL},
        {"empty", "", 0, NULL},
    };
    struct dns_rr rr;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        int ret = dns_rr_parse(DNS_T_MX, (const unsigned char *) cases[i].in,
                               cases[i].len, &rr);

        if (cases[i].want == NULL) {
            if (ret != -1)
                fail_msg("%s: got %d, want -1", cases[i].name, ret);
            continue;
        }
        if (ret != 0)
            fail_msg("%s: got %d, want 0", cases[i].name, ret);
        assert_string_equal(rr.name, cases[i].want);
        assert_int_equal(rr.pref, 10);
        dns_rr_fini(&rr);
    }
    assert_int_equal(dns_rr_parse(DNS_T_PTR,
                                  (const unsigned char *) "\4host\4test\0", 11,
                                  &rr),
                     0);
    assert_string_equal(rr.name, "host.test");
    dns_rr_fini(&rr);
}

/* test_parse_long_names - 63-byte labels and the 255-byte name limit */
static void test_parse_long_names(void **state)
{
    unsigned char in[300];
    size_t n = 0;
    struct dns_rr rr;

    (void) state;
    /* 4 labels of 63: 4 * 64 + 1 = 257 > 255 */
    for (int l = 0; l < 4; l++) {
        in[n++] = 63;
        memset(in + n, 'a', 63);
        n += 63;
    }
    in[n++] = 0;
    assert_int_equal(dns_rr_parse(DNS_T_PTR, in, n, &rr), -1);
    /* 3 labels of 63 and one of 61: 255 */
    in[3 * 64] = 61;
    in[3 * 64 + 62] = 0;
    assert_int_equal(dns_rr_parse(DNS_T_PTR, in, 3 * 64 + 63, &rr), 0);
    assert_int_equal(strlen(rr.name), 253);
    dns_rr_fini(&rr);
    in[0] = 64; /* an extended label type */
    assert_int_equal(dns_rr_parse(DNS_T_PTR, in, n, &rr), -1);
}

/* test_parse_txt - character-strings concatenated, lengths checked */
static void test_parse_txt(void **state)
{
    struct dns_rr rr;

    (void) state;
    assert_int_equal(
        dns_rr_parse(DNS_T_TXT, (const unsigned char *) "\5v=spf\2 a", 9, &rr),
        0);
    assert_string_equal(rr.text, "v=spf a");
    dns_rr_fini(&rr);
    assert_int_equal(
        dns_rr_parse(DNS_T_TXT, (const unsigned char *) "\0", 1, &rr), 0);
    assert_string_equal(rr.text, "");
    dns_rr_fini(&rr);
    assert_int_equal(
        dns_rr_parse(DNS_T_TXT, (const unsigned char *) "\5abc", 4, &rr), -1);
    assert_int_equal(
        dns_rr_parse(DNS_T_TXT, (const unsigned char *) "", 0, &rr), -1);
}

/* test_servers - the forms of $ulak_dns_servers */
static void test_servers(void **state)
{
    struct argv *out = argv_new();
    struct buf why = BUF_INIT;
    static const char *bad[] = {
        "localhost", "127.0.0.1:",     "127.0.0.1:0", "127.0.0.1:65536", "[::1",
        "[::1]x",    "[127.0.0.1]:53", "1.2.3.4:x",   "::1:53:",
    };

    (void) state;
    assert_int_equal(dns_parse_servers("", out, &why), 0);
    assert_int_equal(out->argc, 0);
    assert_int_equal(dns_parse_servers("127.0.0.1:5353, 10.0.0.1 [::1]:54 "
                                       "::1 [fe80::1]",
                                       out, &why),
                     0);
    assert_int_equal(out->argc, 5);
    assert_string_equal(out->argv[0], "127.0.0.1@5353");
    assert_string_equal(out->argv[1], "10.0.0.1@53");
    assert_string_equal(out->argv[2], "::1@54");
    assert_string_equal(out->argv[3], "::1@53");
    assert_string_equal(out->argv[4], "fe80::1@53");
    for (size_t i = 0; i < NELEM(bad); i++) {
        buf_reset(&why);
        if (dns_parse_servers(bad[i], out, &why) != -1)
            fail_msg("%s: accepted", bad[i]);
        assert_non_null(strstr(buf_str(&why), "ulak_dns_servers: bad server"));
    }
    argv_free(out);
    buf_fini(&why);
}

/* The tests' DNS server (dns_test_server.h). */
static struct dns_test_server srv;
static const char *const zone[] = {
    "--servfail",
    "broken.test",
    "example.test. 300 IN MX 20 "
    "mx2.example.test.",
    "example.test. 300 IN MX 10 mx1.example.test.",
    "mx1.example.test. IN A 127.0.0.2",
    "mx1.example.test. IN A 127.0.0.3",
    "mx2.example.test. IN AAAA ::1",
    "null.test. IN MX 0 .",
    "2.0.0.127.in-addr.arpa. IN PTR mx1.example.test.",
    "txt.test. IN TXT \"v=spf1 -all\"",
    NULL};

/* server_setup - start it for the group */
static int server_setup(void **state)
{
    (void) state;
    return dns_test_server_setup(&srv, "dns_test", zone);
}

/* server_teardown - stop it */
static int server_teardown(void **state)
{
    (void) state;
    return dns_test_server_stop(&srv);
}

/* One collected answer. */
struct got {
    int calls;
    enum dns_status status;
    char why[128];
    struct argv *rr; /* one line per record */
    struct loop *loop;
    int *left; /* stop the loop at 0 */
};

/* collect - remember the answer as text */
static void collect(void *arg, const struct dns_answer *ans)
{
    struct got *g = arg;
    char text[INET6_ADDRSTRLEN];
    char line[300];

    g->calls++;
    g->status = ans->status;
    str_copy(g->why, sizeof(g->why), ans->why);
    for (size_t i = 0; i < ans->nrr; i++) {
        const struct dns_rr *rr = &ans->rr[i];

        switch (rr->type) {
            case DNS_T_MX:
                str_fmt(line, sizeof(line), "%d %s", rr->pref, rr->name);
                break;
            case DNS_T_A:
                inet_ntop(AF_INET,
                          &((const struct sockaddr_in *) &rr->addr)->sin_addr,
                          text, sizeof(text));
                str_copy(line, sizeof(line), text);
                break;
            case DNS_T_AAAA:
                inet_ntop(AF_INET6,
                          &((const struct sockaddr_in6 *) &rr->addr)->sin6_addr,
                          text, sizeof(text));
                str_copy(line, sizeof(line), text);
                break;
            case DNS_T_PTR:
                str_copy(line, sizeof(line), rr->name);
                break;
            case DNS_T_TXT:
                str_copy(line, sizeof(line), rr->text);
                break;
            default:
                str_copy(line, sizeof(line), "?");
                break;
        }
        argv_add(g->rr, line);
    }
    if (g->left && --*g->left == 0)
        loop_stop(g->loop);
}

/* on_deadline - a test must not hang */
static void on_deadline(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    loop_stop(arg);
}

/* run - run LOOP until the answers are in (or 20 s) */
static void run(struct loop *loop)
{
    struct loop_ev *t = loop_timer(loop, on_deadline, loop);

    loop_ev_arm(t, 20000);
    loop_run(loop);
    loop_ev_free(t);
}

/* test_lookups - every status and type against the server */
static void test_lookups(void **state)
{
    struct {
        const char *name;
        int type;
        enum dns_status want;
        const char *rr; /* records, sorted, joined by "|" */
        const char *why;
    } cases[] = {
        {"example.test", DNS_T_MX, DNS_OK,
         "10 mx1.example.test|20 mx2.example.test", ""},
        {"mx1.example.test", DNS_T_A, DNS_OK, "127.0.0.2|127.0.0.3", ""},
        {"mx2.example.test", DNS_T_AAAA, DNS_OK, "::1", ""},
        {"mx1.example.test", DNS_T_AAAA, DNS_NODATA, "",
         "Host found but no data record of requested type"},
        {"mx1.example.test", DNS_T_MX, DNS_NODATA, "",
         "Host found but no data record of requested type"},
        {"null.test", DNS_T_MX, DNS_OK, "0 ", ""},
        {"2.0.0.127.in-addr.arpa", DNS_T_PTR, DNS_OK, "mx1.example.test", ""},
        {"txt.test", DNS_T_TXT, DNS_OK, "v=spf1 -all", ""},
        {"nosuch.test", DNS_T_MX, DNS_NOTFOUND, "", "Host not found"},
        {"x.broken.test", DNS_T_A, DNS_RETRY, "", "Host not found, try again"},
        {"bad..name", DNS_T_A, DNS_INVAL, "", "Malformed domain name"},
        {"", DNS_T_A, DNS_INVAL, "", "Malformed domain name"},
        /* The server is still usable after a refusal. */
        {"mx1.example.test.", DNS_T_A, DNS_OK, "127.0.0.2|127.0.0.3", ""},
    };
    struct loop *loop = loop_new();
    struct buf why = BUF_INIT;
    struct dns *d;
    struct got got[NELEM(cases)];
    int left = (int) NELEM(cases);

    (void) state;
    DNS_TEST_SKIP(&srv);
    d = dns_new(loop, srv.servers, &why);
    assert_non_null(d);
    for (size_t i = 0; i < NELEM(cases); i++) {
        got[i] = (struct got){.rr = argv_new(), .loop = loop, .left = &left};
        dns_lookup(d, cases[i].name, cases[i].type, collect, &got[i]);
        /* Never from inside dns_lookup. */
        assert_int_equal(got[i].calls, 0);
    }
    run(loop);
    for (size_t i = 0; i < NELEM(cases); i++) {
        struct buf joined = BUF_INIT;

        buf_init(&joined, 0);
        /* the order of equal-type records is the server's: sort */
        for (size_t a = 0; a < got[i].rr->argc; a++) {
            for (size_t b = a + 1; b < got[i].rr->argc; b++) {
                if (strcmp(got[i].rr->argv[a], got[i].rr->argv[b]) > 0) {
                    char *t = got[i].rr->argv[a];

                    got[i].rr->argv[a] = got[i].rr->argv[b];
                    got[i].rr->argv[b] = t;
                }
            }
            buf_catf(&joined, "%s%s", a ? "|" : "", got[i].rr->argv[a]);
        }
        if (got[i].calls != 1 || got[i].status != cases[i].want
            || strcmp(buf_str(&joined), cases[i].rr) != 0
            || strcmp(got[i].why, cases[i].why) != 0)
            fail_msg("%s/%s: got %d calls, status %d, \"%s\" (%s), want "
                     "status %d, \"%s\" (%s)",
                     cases[i].name, dns_type_name(cases[i].type), got[i].calls,
                     got[i].status, buf_str(&joined), got[i].why, cases[i].want,
                     cases[i].rr, cases[i].why);
        buf_fini(&joined);
        argv_free(got[i].rr);
    }
    dns_free(d);
    buf_fini(&why);
    loop_free(loop);
}

/* test_cancel - a cancelled query never calls back; dns_free cancels all */
static void test_cancel(void **state)
{
    struct loop *loop = loop_new();
    struct buf why = BUF_INIT;
    struct dns *d;
    struct got a = {.rr = argv_new()}, b = {.rr = argv_new()},
               c = {.rr = argv_new()};
    int left = 1;
    struct dns_query *qa, *qc;

    (void) state;
    DNS_TEST_SKIP(&srv);
    d = dns_new(loop, srv.servers, &why);
    assert_non_null(d);
    qa = dns_lookup(d, "example.test", DNS_T_MX, collect, &a);
    b.loop = loop;
    b.left = &left;
    dns_lookup(d, "mx1.example.test", DNS_T_A, collect, &b);
    qc = dns_lookup(d, "bad..name", DNS_T_A, collect, &c);
    dns_cancel(qa);
    dns_cancel(qc);
    run(loop);
    assert_int_equal(a.calls, 0);
    assert_int_equal(c.calls, 0);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.status, DNS_OK);
    /* pending queries, then dns_free: nothing calls back */
    dns_lookup(d, "example.test", DNS_T_MX, collect, &a);
    dns_lookup(d, "bad..name", DNS_T_A, collect, &c);
    dns_free(d);
    {
        struct loop_ev *t = loop_timer(loop, on_deadline, loop);

        loop_ev_arm(t, 300);
        loop_run(loop);
        loop_ev_free(t);
    }
    assert_int_equal(a.calls, 0);
    assert_int_equal(c.calls, 0);
    argv_free(a.rr);
    argv_free(b.rr);
    argv_free(c.rr);
    buf_fini(&why);
    loop_free(loop);
}

/* Free the resolver from inside a callback. */
struct freer {
    struct dns *d;
    struct loop *loop;
    int calls;
};

/* free_in_callback - dns_free while another answer is pending */
static void free_in_callback(void *arg, const struct dns_answer *ans)
{
    struct freer *f = arg;

    (void) ans;
    f->calls++;
    dns_free(f->d);
    loop_stop(f->loop);
}

/* test_free_in_callback - the other answers never arrive, nothing leaks */
static void test_free_in_callback(void **state)
{
    struct loop *loop = loop_new();
    struct buf why = BUF_INIT;
    struct freer f = {.loop = loop};

    (void) state;
    DNS_TEST_SKIP(&srv);
    f.d = dns_new(loop, srv.servers, &why);
    assert_non_null(f.d);
    dns_lookup(f.d, "a..b", DNS_T_A, free_in_callback, &f);
    dns_lookup(f.d, "b..c", DNS_T_A, free_in_callback, &f);
    dns_lookup(f.d, "example.test", DNS_T_MX, free_in_callback, &f);
    run(loop);
    assert_int_equal(f.calls, 1);
    buf_fini(&why);
    loop_free(loop);
}

/* test_new_errors - a bad server list is refused with a reason */
static void test_new_errors(void **state)
{
    struct loop *loop = loop_new();
    struct buf why = BUF_INIT;

    (void) state;
    assert_null(dns_new(loop, "127.0.0.1:99999", &why));
    assert_string_equal(buf_str(&why), "ulak_dns_servers: bad server "
                                       "\"127.0.0.1:99999\": want address, "
                                       "address:port or [ipv6]:port");
    /* empty: the servers of /etc/resolv.conf (or 127.0.0.1) */
    buf_reset(&why);
    dns_free(dns_new(loop, "", &why));
    assert_string_equal(buf_str(&why), "");
    assert_string_equal(dns_type_name(DNS_T_MX), "MX");
    assert_string_equal(dns_type_name(DNS_T_AAAA), "AAAA");
    buf_fini(&why);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_a_aaaa),
        cmocka_unit_test(test_parse_names),
        cmocka_unit_test(test_parse_long_names),
        cmocka_unit_test(test_parse_txt),
        cmocka_unit_test(test_servers),
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_free_in_callback),
    };

    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
