/* smtp_addr_test - next-hop parsing, and server selection against a real
 * unbound (tests/e2e/dnsserver.py) and a host file. */
#include "smtp/smtp_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "global/dns_test_server.h"

/* addr_text - "host[addr]:port" of A */
static void addr_text(const struct smtp_addr *a, struct buf *out)
{
    char ip[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;

    if (a->sa.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *) &a->sa;

        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
    } else if (a->sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *) &a->sa;

        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
    } else {
        buf_catf(out, "unix:%s",
                 ((const struct sockaddr_un *) &a->sa)->sun_path);
        return;
    }
    buf_catf(out, "%s[%s]:%u", a->host, ip, port);
}

/* test_parse - every next-hop form and bad input */
static void test_parse(void **state)
{
    static const struct {
        const char *in;
        bool lmtp;
        const char *host; /* NULL: malformed */
        unsigned port;
        bool mx, literal, unix_path;
    } cases[] = {
        {"example.test", false, "example.test", 25, true, false, false},
        {"example.test.", false, "example.test", 25, true, false, false},
        {"example.test:2525", false, "example.test", 2525, true, false, false},
        {"example.test:smtp", false, "example.test", 25, true, false, false},
        {"[mx.example.test]", false, "mx.example.test", 25, false, false,
         false},
        {"[mx.example.test]:587", false, "mx.example.test", 587, false, false,
         false},
        {"[127.0.0.1]:2525", false, "127.0.0.1", 2525, false, true, false},
        {"127.0.0.1", false, "127.0.0.1", 25, false, true, false},
        {"[ipv6:::1]:26", false, "::1", 26, false, true, false},
        {"[IPv6:2001:db8::1]", false, "2001:db8::1", 25, false, true, false},
        {"[::1]", false, "::1", 25, false, true, false},
        {"unix:/run/lmtp.sock", true, "/run/lmtp.sock", 0, false, false, true},
        {"inet:lmtp.example.test:2424", true, "lmtp.example.test", 2424, false,
         false, false},
        {"inet:[127.0.0.1]:2424", true, "127.0.0.1", 2424, false, true, false},
        {"lmtp.example.test", true, "lmtp.example.test", 24, false, false,
         false},
        {"", false, NULL, 0, false, false, false},
        {"[mx.example.test", false, NULL, 0, false, false, false},
        {"[mx.example.test]x", false, NULL, 0, false, false, false},
        {"[]", false, NULL, 0, false, false, false},
        {"example.test:0", false, NULL, 0, false, false, false},
        {"example.test:65536", false, NULL, 0, false, false, false},
        {"example.test:", false, NULL, 0, false, false, false},
        {"example.test:nosuchservice", false, NULL, 0, false, false, false},
        {"exa mple.test", false, NULL, 0, false, false, false},
        {"[ipv6:127.0.0.1]", false, NULL, 0, false, false, false},
        {"unix:/x", false, NULL, 0, false, false, false},
        {"unix:", true, NULL, 0, false, false, false},
    };
    struct buf why = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        struct smtp_addr_nexthop nh;
        int ret = smtp_addr_parse(cases[i].in, cases[i].lmtp, &nh, &why);

        if (cases[i].host == NULL) {
            if (ret != -1)
                fail_msg("%s: accepted as %s", cases[i].in, nh.host);
            assert_non_null(strstr(buf_str(&why), "malformed next-hop "
                                                  "destination: "));
            continue;
        }
        if (ret != 0 || strcmp(nh.host, cases[i].host) != 0
            || nh.port != cases[i].port || nh.mx != cases[i].mx
            || nh.literal != cases[i].literal
            || nh.unix_path != cases[i].unix_path)
            fail_msg("%s: got %d %s:%u mx=%d literal=%d unix=%d (%s)",
                     cases[i].in, ret, nh.host, nh.port, nh.mx, nh.literal,
                     nh.unix_path, buf_str(&why));
        smtp_addr_nexthop_fini(&nh);
    }
    buf_fini(&why);
}

/* The tests' DNS server (dns_test_server.h). */
static struct dns_test_server srv;
static const char *const zone[] = {"--servfail",
                                   "broken.test",
                                   "example.test. IN MX 20 mx2.example.test.",
                                   "example.test. IN MX 10 mx1a.example.test.",
                                   "example.test. IN MX 10 mx1b.example.test.",
                                   "example.test. IN MX 30 gone.example.test.",
                                   "mx1a.example.test. IN A 127.0.0.11",
                                   "mx1a.example.test. IN A 127.0.0.12",
                                   "mx1b.example.test. IN A 127.0.0.13",
                                   "mx2.example.test. IN A 127.0.0.20",
                                   "mx2.example.test. IN AAAA ::1",
                                   "null.test. IN MX 0 .",
                                   "implicit.test. IN A 127.0.0.30",
                                   "badmx.test. IN MX 10 x.broken.test.",
                                   "nomx.test. IN MX 10 nowhere.test.",
                                   "selfmx.test. IN MX 10 self.test.",
                                   "selfmx.test. IN MX 20 mx2.example.test.",
                                   "selfmx2.test. IN MX 10 mx1b.example.test.",
                                   "selfmx2.test. IN MX 20 self.test.",
                                   "self.test. IN A 127.0.0.99",
                                   "noaddr.test. IN MX 10 mx1.noaddr.test.",
                                   "mx1.noaddr.test. IN TXT \"x\"",
                                   "txtonly.test. IN TXT \"y\"",
                                   NULL};

/* setup - start it for the group */
static int setup(void **state)
{
    (void) state;
    return dns_test_server_setup(&srv, "smtp_addr_test", zone);
}

/* teardown - stop it */
static int teardown(void **state)
{
    (void) state;
    return dns_test_server_stop(&srv);
}

struct got {
    int calls;
    struct loop *loop;
    struct buf text; /* "status dsn reason" or "host[addr]:port|..." */
    bool best_mx_local;
};

/* collect - the result as text */
static void collect(void *arg, struct smtp_addr_result *res)
{
    struct got *g = arg;

    g->calls++;
    buf_reset(&g->text);
    if (res->status != 0) {
        buf_catf(&g->text, "%d %s %s", res->status, res->dsn,
                 buf_str(&res->reason));
    } else {
        for (size_t i = 0; i < res->naddr; i++) {
            if (i)
                buf_cat(&g->text, "|");
            addr_text(&res->addr[i], &g->text);
        }
    }
    g->best_mx_local = res->best_mx_local;
    smtp_addr_result_free(res);
    loop_stop(g->loop);
}

/* on_deadline - never hang */
static void on_deadline(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    loop_stop(arg);
}

/* find - one selection, run to its end; the result as text */
static const char *find(struct dns *dns, const struct smtp_addr_conf *conf,
                        struct loop *loop, const char *nexthop, struct got *g)
{
    struct loop_ev *t = loop_timer(loop, on_deadline, loop);

    g->calls = 0;
    g->loop = loop;
    smtp_addr_find(dns, conf, loop, nexthop, collect, g);
    assert_int_equal(g->calls, 0); /* never from inside */
    loop_ev_arm(t, 20000);
    loop_run(loop);
    loop_ev_free(t);
    assert_int_equal(g->calls, 1);
    return buf_str(&g->text);
}

/* conf_default - smtp, DNS, IPv4 only */
static struct smtp_addr_conf conf_default(void)
{
    return (struct smtp_addr_conf){.dns = true, .ipv4 = true};
}

/* test_dns_selection - MX order, equal preferences, the failures */
static void test_dns_selection(void **state)
{
    static const struct {
        const char *nexthop;
        const char *want;
    } cases[] = {
        {"example.test", "mx1a.example.test[127.0.0.11]:25|mx1a.example.test["
                         "127.0.0.12]:25|mx1b.example.test[127.0.0.13]:25|"
                         "mx2.example.test[127.0.0.20]:25"},
        {"example.test:2525", "mx1a.example.test[127.0.0.11]:2525|"
                              "mx1a.example.test[127.0.0.12]:2525|"
                              "mx1b.example.test[127.0.0.13]:2525|"
                              "mx2.example.test[127.0.0.20]:2525"},
        {"[mx2.example.test]:26", "mx2.example.test[127.0.0.20]:26"},
        {"[127.0.0.5]", "127.0.0.5[127.0.0.5]:25"},
        {"implicit.test", "implicit.test[127.0.0.30]:25"},
        {"null.test", "5 5.1.0 Domain null.test does not accept mail "
                      "(nullMX)"},
        {"nosuch.test", "5 5.4.4 Host or domain name not found. Name service "
                        "error for name=nosuch.test type=A: Host not found"},
        {"x.broken.test", "4 4.4.3 Host or domain name not found. Name "
                          "service error for name=x.broken.test type=MX: Host "
                          "not found, try again"},
        {"badmx.test", "4 4.4.3 Host or domain name not found. Name service "
                       "error for name=x.broken.test type=A: Host not found, "
                       "try again"},
        {"nomx.test", "5 5.4.4 Host or domain name not found. Name service "
                      "error for name=nowhere.test type=A: Host not found"},
        /* As Debian's Postfix 3.7 words them (recorded with this
         * server). */
        {"noaddr.test", "5 5.4.4 Host or domain name not found. Name service "
                        "error for name=mx1.noaddr.test type=A: Host found "
                        "but no data record of requested type"},
        {"txtonly.test", "5 5.4.4 Host or domain name not found. Name "
                         "service error for name=txtonly.test type=A: Host "
                         "found but no data record of requested type"},
        {"[nowhere.test]", "5 5.4.4 Host or domain name not found. Name "
                           "service error for name=nowhere.test type=A: Host "
                           "not found"},
        {"[null.test]", "5 5.4.4 Host or domain name not found. Name service "
                        "error for name=null.test type=A: Host found but no "
                        "data record of requested type"},
        {"exa mple", "4 4.3.5 malformed next-hop destination: exa mple"},
    };
    struct loop *loop = loop_new();
    struct buf why = BUF_INIT;
    struct smtp_addr_conf conf = conf_default();
    struct got g = {.text = BUF_INIT};
    struct dns *dns;

    (void) state;
    DNS_TEST_SKIP(&srv);
    dns = dns_new(loop, srv.servers, &why);
    assert_non_null(dns);
    buf_init(&g.text, 0);
    for (size_t i = 0; i < NELEM(cases); i++) {
        const char *got = find(dns, &conf, loop, cases[i].nexthop, &g);

        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].nexthop, got,
                     cases[i].want);
    }
    /* Both families: the failures name the AAAA lookup, as Postfix 3.7
     * does with inet_protocols = all (recorded). */
    conf.ipv6 = true;
    assert_string_equal(find(dns, &conf, loop, "nosuch.test", &g),
                        "5 5.4.4 Host or domain name not found. Name service "
                        "error for name=nosuch.test type=AAAA: Host not found");
    assert_string_equal(find(dns, &conf, loop, "txtonly.test", &g),
                        "5 5.4.4 Host or domain name not found. Name service "
                        "error for name=txtonly.test type=AAAA: Host found "
                        "but no data record of requested type");
    assert_string_equal(find(dns, &conf, loop, "badmx.test", &g),
                        "4 4.4.3 Host or domain name not found. Name service "
                        "error for name=x.broken.test type=AAAA: Host not "
                        "found, try again");
    /* IPv6 only */
    conf.ipv4 = false;
    assert_string_equal(find(dns, &conf, loop, "[mx2.example.test]", &g),
                        "mx2.example.test[::1]:25");
    assert_string_equal(find(dns, &conf, loop, "implicit.test", &g),
                        "5 5.4.4 Host or domain name not found. Name service "
                        "error for name=implicit.test type=AAAA: Host found "
                        "but no data record of requested type");
    assert_string_equal(find(dns, &conf, loop, "[127.0.0.1]", &g),
                        "4 4.4.4 127.0.0.1: address family disabled by "
                        "inet_protocols");
    conf.ipv4 = true;
    /* IPv6 too, preferred: mx2's AAAA comes before its A. */
    conf.ipv6 = conf.prefer_ipv6 = true;
    assert_string_equal(find(dns, &conf, loop, "[mx2.example.test]", &g),
                        "mx2.example.test[::1]:25|"
                        "mx2.example.test[127.0.0.20]:25");
    conf.prefer_ipv6 = false;
    assert_string_equal(find(dns, &conf, loop, "[mx2.example.test]", &g),
                        "mx2.example.test[127.0.0.20]:25|"
                        "mx2.example.test[::1]:25");
    /* The address limit. */
    conf = conf_default();
    conf.mx_address_limit = 2;
    assert_string_equal(find(dns, &conf, loop, "example.test", &g),
                        "mx1a.example.test[127.0.0.11]:25|"
                        "mx1a.example.test[127.0.0.12]:25");
    /* ignore_mx_lookup_error: a failed MX lookup tries the A record. */
    conf = conf_default();
    conf.ignore_mx_lookup_error = true;
    assert_string_equal(find(dns, &conf, loop, "x.broken.test", &g),
                        "4 4.4.3 Host or domain name not found. Name service "
                        "error for name=x.broken.test type=A: Host not found, "
                        "try again");
    /* No address family at all is a failure, not an empty list. */
    buf_fini(&g.text);
    dns_free(dns);
    buf_fini(&why);
    loop_free(loop);
}

/* test_random_equal - equal preferences in both orders, better first */
static void test_random_equal(void **state)
{
    struct loop *loop = loop_new();
    struct buf why = BUF_INIT;
    struct smtp_addr_conf conf = conf_default();
    struct got g = {.text = BUF_INIT};
    struct dns *dns;
    int a_first = 0, b_first = 0;

    (void) state;
    DNS_TEST_SKIP(&srv);
    dns = dns_new(loop, srv.servers, &why);
    assert_non_null(dns);
    buf_init(&g.text, 0);
    conf.randomize = true;
    for (int i = 0; i < 40 && (a_first == 0 || b_first == 0); i++) {
        const char *got = find(dns, &conf, loop, "example.test", &g);

        if (str_has_prefix(got, "mx1a."))
            a_first++;
        else if (str_has_prefix(got, "mx1b."))
            b_first++;
        else
            fail_msg("got \"%s\", want mx1a or mx1b first", got);
        assert_true(str_has_suffix(got, "|mx2.example.test[127.0.0.20]:25"));
    }
    assert_true(a_first > 0 && b_first > 0);
    buf_fini(&g.text);
    dns_free(dns);
    buf_fini(&why);
    loop_free(loop);
}

/* test_loop_check - an MX that is this machine */
static void test_loop_check(void **state)
{
    struct loop *loop = loop_new();
    struct buf why = BUF_INIT;
    struct smtp_addr_conf conf = conf_default();
    struct got g = {.text = BUF_INIT};
    struct sockaddr_storage self = {0};
    struct sockaddr_in *sin = (struct sockaddr_in *) &self;
    struct dns *dns;

    (void) state;
    DNS_TEST_SKIP(&srv);
    dns = dns_new(loop, srv.servers, &why);
    assert_non_null(dns);
    buf_init(&g.text, 0);
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.99", &sin->sin_addr);
    conf.self = &self;
    conf.nself = 1;
    assert_string_equal(find(dns, &conf, loop, "selfmx.test", &g),
                        "5 5.4.6 mail for selfmx.test loops back to myself");
    assert_string_equal(find(dns, &conf, loop, "selfmx2.test", &g),
                        "mx1b.example.test[127.0.0.13]:25");
    assert_string_equal(find(dns, &conf, loop, "self.test", &g),
                        "5 5.4.6 mail for self.test loops back to myself");
    /* [host] is taken as given */
    assert_string_equal(find(dns, &conf, loop, "[self.test]", &g),
                        "self.test[127.0.0.99]:25");
    conf.best_mx_transport = true;
    assert_string_equal(find(dns, &conf, loop, "selfmx.test", &g), "");
    assert_true(g.best_mx_local);
    buf_fini(&g.text);
    dns_free(dns);
    buf_fini(&why);
    loop_free(loop);
}

/* test_no_dns - the host file; lmtp's unix socket */
static void test_no_dns(void **state)
{
    char path[] = "/tmp/smtp_addr_hosts.XXXXXX";
    int fd = mkstemp(path);
    static const char hosts[] = "# comment\n127.0.0.40 relay.test relay # x\n"
                                "::1 relay.test\n127.0.0.41 other.test\n";
    struct loop *loop = loop_new();
    struct smtp_addr_conf conf = {.ipv4 = true, .hosts_file = path};
    struct got g = {.text = BUF_INIT};

    (void) state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, hosts, sizeof(hosts) - 1), sizeof(hosts) - 1);
    close(fd);
    buf_init(&g.text, 0);
    assert_string_equal(find(NULL, &conf, loop, "relay.test", &g),
                        "relay.test[127.0.0.40]:25");
    assert_string_equal(find(NULL, &conf, loop, "[RELAY]:2525", &g),
                        "RELAY[127.0.0.40]:2525");
    conf.ipv6 = true;
    assert_string_equal(find(NULL, &conf, loop, "relay.test", &g),
                        "relay.test[127.0.0.40]:25|relay.test[::1]:25");
    /* Postfix 3.7's text with smtp_dns_support_level = disabled */
    assert_string_equal(find(NULL, &conf, loop, "nosuch.test", &g),
                        "5 5.4.4 unable to look up host nosuch.test: Name or "
                        "service not known");
    conf.lmtp = true;
    assert_string_equal(find(NULL, &conf, loop, "unix:/run/x.sock", &g),
                        "unix:/run/x.sock");
    assert_string_equal(find(NULL, &conf, loop, "inet:other.test:2424", &g),
                        "other.test[127.0.0.41]:2424");
    unlink(path);
    buf_fini(&g.text);
    loop_free(loop);
}

/* cancelled - must not run */
static void cancelled(void *arg, struct smtp_addr_result *res)
{
    (void) res;
    fail_msg("callback of a cancelled request (%p)", arg);
}

/* test_cancel - a cancelled request never calls back */
static void test_cancel(void **state)
{
    struct loop *loop = loop_new();
    struct buf why = BUF_INIT;
    struct smtp_addr_conf conf = conf_default();
    struct got g = {.text = BUF_INIT};
    struct dns *dns;

    (void) state;
    DNS_TEST_SKIP(&srv);
    dns = dns_new(loop, srv.servers, &why);
    assert_non_null(dns);
    buf_init(&g.text, 0);
    smtp_addr_cancel(
        smtp_addr_find(dns, &conf, loop, "example.test", cancelled, NULL));
    smtp_addr_cancel(
        smtp_addr_find(dns, &conf, loop, "[127.0.0.1]", cancelled, NULL));
    /* another request completes normally after them */
    assert_string_equal(find(dns, &conf, loop, "implicit.test", &g),
                        "implicit.test[127.0.0.30]:25");
    buf_fini(&g.text);
    dns_free(dns);
    buf_fini(&why);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_no_dns),
        cmocka_unit_test(test_dns_selection),
        cmocka_unit_test(test_random_equal),
        cmocka_unit_test(test_loop_check),
        cmocka_unit_test(test_cancel),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
