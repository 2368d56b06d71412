/* resolve_test - address classes and (transport, nexthop, recipient).
 *
 * Golden cases: the cases in the tables marked "postfix" are Postfix
 * 3.7.11's answers (Debian's package, a /work/shared/tools/postfix-ref
 * instance with myhostname = mx.example.test, mydomain = example.test,
 * inet_interfaces = 127.0.0.1, inet_protocols = ipv4, compatibility_level
 * = 3.6, plus the settings of each table).  They were read from
 * trivial-rewrite's own verbose log (master.cf "trivial-rewrite -v"
 * prints each reply as `sender' -> `rcpt' -> (`transport' `nexthop'
 * `recipient' `flags')) after "sendmail -f sender@example.test RCPT", or,
 * for the first table, from the delivery line of a discard(8) service
 * named after each transport (status=sent (NEXTHOP)).  Where the transport
 * table had an entry, it is the same entry here. */
#include "global/resolve.h"
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

/* write_file - DIR/NAME holding TEXT */
static void write_file(const char *name, const char *text)
{
    char path[128];
    FILE *fp;

    str_fmt(path, sizeof(path), "%s/%s", dir, name);
    assert_non_null(fp = fopen(path, "w"));
    fputs(text, fp);
    fclose(fp);
}

/* use_conf - a fresh config directory: the common settings, then MAIN
 * (with "DIR" replaced by the directory), and TRANSPORT as DIR/transport */
static void use_conf(const char *main, const char *transport)
{
    struct buf text = BUF_INIT;
    struct buf why = BUF_INIT;

    str_copy(dir, sizeof(dir), "/tmp/resolve_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    buf_set(&text, "compatibility_level = 3.6\n"
                   "myhostname = mx.example.test\n"
                   "mydomain = example.test\n"
                   "inet_interfaces = 127.0.0.1\n"
                   "inet_protocols = ipv4\n");
    for (const char *p = main; *p; p++) {
        if (strncmp(p, "DIR", 3) == 0) {
            buf_cat(&text, dir);
            p += 2;
        } else {
            buf_catc(&text, *p);
        }
    }
    write_file("main.cf", buf_str(&text));
    write_file("transport", transport ? transport : "");
    conf_set_dir(dir);
    conf_defaults_only(false);
    assert_int_equal(conf_load(&why), 0);
    buf_fini(&text);
    buf_fini(&why);
}

/* drop_conf - remove the config directory */
static void drop_conf(void)
{
    char path[128];

    str_fmt(path, sizeof(path), "%s/main.cf", dir);
    unlink(path);
    str_fmt(path, sizeof(path), "%s/transport", dir);
    unlink(path);
    str_fmt(path, sizeof(path), "%s/list", dir);
    unlink(path);
    rmdir(dir);
}

struct rcase {
    const char *in;
    /* "class|transport|nexthop|recipient|flags", flags as R (routed),
     * E (error), F (fail) or "-" */
    const char *want;
};

/* flags_text - RESOLVE_FLAG_* as letters */
static void flags_text(int flags, struct buf *out)
{
    if (flags & RESOLVE_FLAG_ROUTED)
        buf_catc(out, 'R');
    if (flags & RESOLVE_FLAG_ERROR)
        buf_catc(out, 'E');
    if (flags & RESOLVE_FLAG_FAIL)
        buf_catc(out, 'F');
    if (flags == 0)
        buf_catc(out, '-');
}

/* run_cases - resolve each case under the loaded configuration */
static void run_cases(const char *title, const struct rcase *c, size_t n)
{
    struct resolve *r = resolve_open();
    struct resolve_reply reply;
    struct buf got = BUF_INIT;

    resolve_reply_init(&reply);
    for (size_t i = 0; i < n; i++) {
        enum lk_result lk = resolve_addr(r, span_of(c[i].in), &reply);

        buf_setf(&got, "%s|%s|%s|%s|", resolve_class_name(reply.rclass),
                 buf_str(&reply.transport), buf_str(&reply.nexthop),
                 buf_str(&reply.recipient));
        flags_text(reply.flags, &got);
        if ((lk == LK_TEMPFAIL) != ((reply.flags & RESOLVE_FLAG_FAIL) != 0))
            fail_msg("%s: %s: result %d with flags %s", title, c[i].in, lk,
                     buf_str(&got));
        if (strcmp(buf_str(&got), c[i].want) != 0)
            fail_msg("%s: %s: got %s, want %s", title, c[i].in, buf_str(&got),
                     c[i].want);
    }
    resolve_reply_fini(&reply);
    buf_fini(&got);
    resolve_free(r);
}

static const char *classes_cf = "virtual_alias_domains = va.example\n"
                                "virtual_mailbox_domains = vm.example\n"
                                "relay_domains = rd.example\n"
                                "relayhost = [relay.example]:2525\n"
                                "transport_maps = texthash:DIR/transport\n"
                                "recipient_delimiter = +\n";

static const char *classes_tm =
    "special@rd.example   custom:[special.example]\n"
    "tm.example           custom:\n"
    ".tm.example          other:[sub-nexthop]\n"
    "joe@tm.example       other:[joe-hop]\n"
    "user@vm.example      :nexthop-only\n"
    "onlyhop.example      :[hop.example]:2525\n"
    "err.example          error:go away\n"
    "disc.example         discard:silently\n"
    "lt.example           local\n"
    "va.example           custom:va-hop\n"
    "lp@mx.example.test   other:\n"
    "mx.example.test      custom:[local-override]\n";

/* postfix: all of them */
static const struct rcase classes_cases[] = {
    {"special@rd.example",
     "relay|custom|[special.example]|special@rd.example|-"},
    {"x@rd.example", "relay|relay|[relay.example]:2525|x@rd.example|-"},
    {"x@sub.rd.example", "relay|relay|[relay.example]:2525|x@sub.rd.example|-"},
    {"x@tm.example", "default|custom|tm.example|x@tm.example|-"},
    {"x@a.b.tm.example", "default|other|[sub-nexthop]|x@a.b.tm.example|-"},
    {"joe+x@tm.example", "default|other|[joe-hop]|joe+x@tm.example|-"},
    {"user@vm.example", "virtual|virtual|nexthop-only|user@vm.example|-"},
    {"other@vm.example", "virtual|virtual|vm.example|other@vm.example|-"},
    {"x@onlyhop.example",
     "default|smtp|[hop.example]:2525|x@onlyhop.example|-"},
    {"x@err.example", "default|error|go away|x@err.example|-"},
    {"x@disc.example", "default|discard|silently|x@disc.example|-"},
    {"x@lt.example", "default|local|lt.example|x@lt.example|-"},
    {"x@va.example", "alias|error|5.1.1 User unknown in virtual alias "
                     "table|x@va.example|-"},
    {"x@remote.example",
     "default|smtp|[relay.example]:2525|x@remote.example|-"},
    {"lp@mx.example.test", "local|other|mx.example.test|lp@mx.example.test|-"},
    {"x@mx.example.test", "local|custom|[local-override]|x@mx.example.test|-"},
    {"x@localhost", "local|local|mx.example.test|x@localhost|-"},
    {"x@[127.0.0.1]", "local|local|mx.example.test|x@[127.0.0.1]|-"},
};

/* test_classes - every class and transport_maps forms */
static void test_classes(void **state)
{
    (void) state;
    use_conf(classes_cf, classes_tm);
    run_cases("classes", classes_cases, NELEM(classes_cases));
    drop_conf();
}

static const char *routing_cf = "transport_maps = texthash:DIR/transport\n"
                                "virtual_alias_domains = va.example\n"
                                "virtual_mailbox_domains = vm.example\n"
                                "relay_domains = rd.example\n";

static const char *routing_tm = "disc.example discard:\n"
                                "lt.example other\n"
                                "hop.example other:the-hop\n"
                                "noop.example :\n"
                                "err0.example error:\n"
                                "localhost retry:\n";

/* postfix: trivial-rewrite -v */
static const struct rcase routing_cases[] = {
    {"x@disc.example", "default|discard|disc.example|x@disc.example|-"},
    {"x@lt.example", "default|other|lt.example|x@lt.example|-"},
    {"x@hop.example", "default|other|the-hop|x@hop.example|-"},
    {"x@noop.example", "default|smtp|noop.example|x@noop.example|-"},
    {"x@err0.example",
     "default|error|Address is undeliverable|x@err0.example|-"},
    {"x@localhost", "local|retry|Address is undeliverable|x@localhost|-"},
    {"x@remote.example", "default|smtp|remote.example|x@remote.example|-"},
    {"u", "local|local|mx.example.test|u@mx.example.test|-"},
    {"b!u@mx.example.test", "default|smtp|b|u@b|-"},
    {"u@host..", "default|error|5.1.3 bad address syntax|u@host..|E"},
    {"u%x@remote.example", "default|smtp|remote.example|u%x@remote.example|R"},
    {"a!b@remote.example", "default|smtp|remote.example|a!b@remote.example|R"},
    {"a@b@remote.example", "default|smtp|remote.example|a@b@remote.example|R"},
    {"x@va.example", "alias|error|5.1.1 User unknown in virtual alias "
                     "table|x@va.example|-"},
    {"x@vm.example", "virtual|virtual|vm.example|x@vm.example|-"},
    {"x@rd.example", "relay|relay|rd.example|x@rd.example|-"},
    {"u%x@rd.example", "relay|relay|rd.example|u%x@rd.example|R"},
    {"x!y@mx.example.test", "default|smtp|x|y@x|-"},
    {"x%localhost@mx.example.test",
     "local|retry|Address is undeliverable|x@localhost|-"},
    {"@mx.example.test",
     "local|local|mx.example.test|MAILER-DAEMON@mx.example.test|-"},
    {"u@1.2.3.4", "default|error|5.1.3 bad address syntax|u@1.2.3.4|E"},
    {"u@[300.1.1.1]", "default|error|5.1.3 bad address syntax|u@[300.1.1.1]|E"},
    {"x@[127.0.0.1]", "local|local|mx.example.test|x@[127.0.0.1]|-"},
    /* postfix: from the delivery log (bounced "bad address syntax", or the
     * nexthop of the discard service) */
    {"u@host..sub", "default|error|5.1.3 bad address syntax|u@host..sub|E"},
    {"u@-host.example",
     "default|error|5.1.3 bad address syntax|u@-host.example|E"},
    {"u@host.-x", "default|error|5.1.3 bad address syntax|u@host.-x|E"},
    {"u@a.b-", "default|error|5.1.3 bad address syntax|u@a.b-|E"},
    {"u@[foo]", "default|error|5.1.3 bad address syntax|u@[foo]|E"},
    {"u@", "default|error|5.1.3 bad address syntax|u@|E"},
    {"u@MX.EXAMPLE.TEST..",
     "default|error|5.1.3 bad address syntax|u@MX.EXAMPLE.TEST..|E"},
    {"u@ho_st.example", "default|smtp|ho_st.example|u@ho_st.example|-"},
    {"u@host.123", "default|smtp|host.123|u@host.123|-"},
    {"u@[IPv6:::1]", "default|smtp|[IPv6:::1]|u@[IPv6:::1]|-"},
    {"u@[127.0.0.2]", "default|smtp|[127.0.0.2]|u@[127.0.0.2]|-"},
    {"u@MX.Example.TEST", "local|local|mx.example.test|u@MX.Example.TEST|-"},
    {"a@b@mx.example.test", "default|smtp|b|a@b|-"},
    {"mx.example.test!u", "local|local|mx.example.test|u@mx.example.test|-"},
    {"u%v%w@mx.example.test", "default|smtp|w|u%v@w|R"},
    {"u%remote.example@mx.example.test",
     "default|smtp|remote.example|u@remote.example|-"},
    /* more */
    {"", "local|local|mx.example.test|MAILER-DAEMON@mx.example.test|-"},
    {"a!b%c", "default|smtp|a|b%c@a|R"},
    {"u@host.example.",
     "default|error|5.1.3 bad address syntax|u@host.example.|E"},
    {"u@[IPv6:1::2::3]",
     "default|error|5.1.3 bad address syntax|u@[IPv6:1::2::3]|E"},
};

/* test_routing - step 1, syntax, and the transport_maps value forms */
static void test_routing(void **state)
{
    (void) state;
    use_conf(routing_cf, routing_tm);
    run_cases("routing", routing_cases, NELEM(routing_cases));
    drop_conf();
}

static const char *star_cf = "relay_domains = rd.example\n"
                             "virtual_mailbox_domains = vm.example\n"
                             "transport_maps = texthash:DIR/transport\n";
static const char *star_tm = "*                 other:[star]\n"
                             "noop.example      :\n"
                             "localhost         other:\n";

/* postfix: "*" applies to every class (but virtual alias), ":" is a no-op */
static const struct rcase star_cases[] = {
    {"x@noop.example", "default|smtp|noop.example|x@noop.example|-"},
    {"x@any.example", "default|other|[star]|x@any.example|-"},
    {"x@localhost", "local|other|localhost|x@localhost|-"},
    {"x@mx.example.test", "local|other|[star]|x@mx.example.test|-"},
    {"x@rd.example", "relay|other|[star]|x@rd.example|-"},
    {"x@vm.example", "virtual|other|[star]|x@vm.example|-"},
};

/* test_star - the "*" entry */
static void test_star(void **state)
{
    (void) state;
    use_conf(star_cf, star_tm);
    run_cases("star", star_cases, NELEM(star_cases));
    drop_conf();
}

static const char *hop_cf = "relay_domains = rd.example\n"
                            "default_transport = smtp:[dt-hop]\n"
                            "relay_transport = relay:[rt-hop]\n"
                            "relayhost = relay.example\n"
                            "virtual_mailbox_domains = vm.example\n"
                            "virtual_transport = virtual:vt-hop\n"
                            "local_transport = local\n";

/* postfix: a class transport with a nexthop wins over relayhost; one
 * without uses the recipient domain */
static const struct rcase hop_cases[] = {
    {"x@any.example", "default|smtp|[dt-hop]|x@any.example|-"},
    {"x@rd.example", "relay|relay|[rt-hop]|x@rd.example|-"},
    {"x@vm.example", "virtual|virtual|vt-hop|x@vm.example|-"},
    {"x@localhost", "local|local|localhost|x@localhost|-"},
    {"x@mx.example.test", "local|local|mx.example.test|x@mx.example.test|-"},
};

/* test_hops - class transports with and without nexthop */
static void test_hops(void **state)
{
    (void) state;
    use_conf(hop_cf, NULL);
    run_cases("hops", hop_cases, NELEM(hop_cases));
    drop_conf();
}

static const char *err_cf = "transport_maps = texthash:DIR/transport\n"
                            "empty_address_recipient = nobody\n"
                            "relayhost = [rh.example]:25\n"
                            "default_transport = error\n"
                            "relay_domains = rd.example\n"
                            "relay_transport = retry\n";
static const char *err_tm = "a.example error\n"
                            "b.example retry:\n"
                            "c.example :\n";

/* postfix: trivial-rewrite -v */
static const struct rcase err_cases[] = {
    {"x@a.example", "default|error|Address is undeliverable|x@a.example|-"},
    {"x@b.example", "default|retry|Address is undeliverable|x@b.example|-"},
    {"x@c.example", "default|error|[rh.example]:25|x@c.example|-"},
    {"x@any.example", "default|error|[rh.example]:25|x@any.example|-"},
    {"x@rd.example", "relay|retry|[rh.example]:25|x@rd.example|-"},
    {"@localhost", "local|local|mx.example.test|nobody@localhost|-"},
};

/* test_error_transport - error/retry and empty_address_recipient */
static void test_error_transport(void **state)
{
    (void) state;
    use_conf(err_cf, err_tm);
    run_cases("error", err_cases, NELEM(err_cases));
    drop_conf();
}

static const char *opts_cf =
    "resolve_null_domain = yes\n"
    "resolve_numeric_domain = yes\n"
    "resolve_dequoted_address = no\n"
    "mydestination = $myhostname, localhost, !neg.example, .sub.example,"
    " texthash:DIR/transport, neg.example\n"
    "proxy_interfaces = 192.0.2.7\n";
static const char *opts_tm = "tbl.example ok\n";

/* postfix: trivial-rewrite -v (mydestination is a list of plain strings:
 * ".sub.example" matches nothing, a table only the domain itself) */
static const struct rcase opts_cases[] = {
    {"u@", "local|local|mx.example.test|u@mx.example.test|-"},
    {"u@127.0.0.1", "local|local|mx.example.test|u@[127.0.0.1]|-"},
    {"u@1.2.3.4", "default|smtp|[1.2.3.4]|u@[1.2.3.4]|-"},
    {"a@b@mx.example.test",
     "local|local|mx.example.test|a@b@mx.example.test|R"},
    {"a%b@mx.example.test", "default|smtp|b|a@b|-"},
    {"x@neg.example", "default|smtp|neg.example|x@neg.example|-"},
    {"x@a.sub.example", "default|smtp|a.sub.example|x@a.sub.example|-"},
    {"x@sub.example", "default|smtp|sub.example|x@sub.example|-"},
    {"x@tbl.example", "local|local|mx.example.test|x@tbl.example|-"},
    {"x@a.tbl.example", "default|smtp|a.tbl.example|x@a.tbl.example|-"},
    {"x@[192.0.2.7]", "local|local|mx.example.test|x@[192.0.2.7]|-"},
    {"x@[IPv6:::1]", "default|smtp|[IPv6:::1]|x@[IPv6:::1]|-"},
};

/* test_options - resolve_* switches, mydestination forms, interfaces */
static void test_options(void **state)
{
    (void) state;
    use_conf(opts_cf, opts_tm);
    run_cases("options", opts_cases, NELEM(opts_cases));
    drop_conf();
}

static const char *off_cf = "swap_bangpath = no\n"
                            "allow_percent_hack = no\n";

/* postfix: from the delivery log */
static const struct rcase off_cases[] = {
    {"host!u@mx.example.test",
     "local|local|mx.example.test|host!u@mx.example.test|R"},
    {"u%host@mx.example.test",
     "local|local|mx.example.test|u%host@mx.example.test|R"},
    {"b!u@mx.example.test",
     "local|local|mx.example.test|b!u@mx.example.test|R"},
};

/* test_switches_off - no bang paths, no percent hack */
static void test_switches_off(void **state)
{
    (void) state;
    use_conf(off_cf, NULL);
    run_cases("off", off_cases, NELEM(off_cases));
    drop_conf();
}

static const char *domains_cf =
    "parent_domain_matches_subdomains = transport_maps\n"
    "relay_domains = .rd.example, /DIR/list\n"
    "transport_maps = texthash:DIR/transport\n"
    "recipient_delimiter = +-\n";
static const char *domains_tm = "example.org other:[org]\n"
                                "u@x.example other:[u]\n";

static const struct rcase domains_cases[] = {
    /* transport_maps in parent_domain_matches_subdomains: "example.org"
     * matches its subdomains without a leading dot */
    {"x@a.example.org", "default|other|[org]|x@a.example.org|-"},
    /* either delimiter strips the extension for the lookup */
    {"u-ext@x.example", "default|other|[u]|u-ext@x.example|-"},
    {"u+ext@x.example", "default|other|[u]|u+ext@x.example|-"},
    /* relay_domains: ".rd.example" covers subdomains only, a /file */
    {"x@a.rd.example", "relay|relay|a.rd.example|x@a.rd.example|-"},
    {"x@filed.example", "relay|relay|filed.example|x@filed.example|-"},
    {"x@rd.example", "default|smtp|rd.example|x@rd.example|-"},
};

static const char *missing_cf =
    "relay_domains = .rd.example, hash:DIR/missing, other.example\n";

static const struct rcase missing_cases[] = {
    /* a pattern before the table that cannot be opened decides */
    {"x@a.rd.example", "relay|relay|a.rd.example|x@a.rd.example|-"},
    /* any other domain reaches it: a temporary failure */
    {"x@other.example", "default|||x@other.example|F"},
    {"x@rd.example", "default|||x@rd.example|F"},
    /* local addresses never look at relay_domains */
    {"x@localhost", "local|local|mx.example.test|x@localhost|-"},
};

/* test_domains - domain lists and a table that fails */
static void test_domains(void **state)
{
    (void) state;
    buf_reset(&logged);
    use_conf(domains_cf, domains_tm);
    write_file("list", "# comment\nfiled.example other.example\n");
    run_cases("domains", domains_cases, NELEM(domains_cases));
    drop_conf();
    use_conf(missing_cf, NULL);
    run_cases("missing", missing_cases, NELEM(missing_cases));
    assert_non_null(
        strstr(buf_str(&logged), "warning: hash:/tmp/resolve_test."));
    assert_non_null(strstr(buf_str(&logged), "/missing is unavailable."));
    drop_conf();
}

struct scase {
    const char *cf;
    const char *sender; /* NULL: resolve_addr */
    const char *rcpt;
    const char *want; /* as in struct rcase */
};

static const char *sdr_tab = "sender@example.test [sdr.example]\n"
                             "@example.test [sdr-domain]\n"
                             "x@other.test DUNNO\n"
                             "<> [null-sender]\n";

/* postfix: trivial-rewrite -v, with "sendmail -f SENDER" (all but the
 * null-sender, no-sender and "plain@" cases, which follow postconf(5) and
 * the observed precedence: Postfix gave "custom [sdr.example]" when the
 * sender also had a sender-dependent relayhost) */
static const struct scase scases[] = {
    {"sender_dependent_relayhost_maps = texthash:DIR/transport\n"
     "relayhost = [rh.example]\nrelay_domains = rd.example\n",
     "sender@example.test", "x@any.example",
     "default|smtp|[sdr.example]|x@any.example|-"},
    {"sender_dependent_relayhost_maps = texthash:DIR/transport\n"
     "relayhost = [rh.example]\nrelay_domains = rd.example\n",
     "sender@example.test", "x@rd.example",
     "relay|relay|[sdr.example]|x@rd.example|-"},
    {"sender_dependent_relayhost_maps = texthash:DIR/transport\n"
     "relayhost = [rh.example]\n",
     "sender@example.test", "x@localhost",
     "local|local|mx.example.test|x@localhost|-"},
    {"sender_dependent_relayhost_maps = texthash:DIR/transport\n"
     "relayhost = [rh.example]\n",
     "y@example.test", "x@any.example",
     "default|smtp|[sdr-domain]|x@any.example|-"},
    {"sender_dependent_relayhost_maps = texthash:DIR/transport\n"
     "relayhost = [rh.example]\n",
     "x@other.test", "x@any.example",
     "default|smtp|[rh.example]|x@any.example|-"},
    {"sender_dependent_relayhost_maps = texthash:DIR/transport\n"
     "default_transport = smtp:[dt-hop]\n",
     "sender@example.test", "x@any.example",
     "default|smtp|[dt-hop]|x@any.example|-"},
    {"sender_dependent_relayhost_maps = texthash:DIR/transport\n"
     "relayhost = [rh.example]\n",
     "", "x@any.example", "default|smtp|[null-sender]|x@any.example|-"},
    {"sender_dependent_relayhost_maps = texthash:DIR/transport\n"
     "relayhost = [rh.example]\n",
     NULL, "x@any.example", "default|smtp|[rh.example]|x@any.example|-"},
    {"sender_dependent_relayhost_maps = fail:x\n", "a@b.example",
     "x@any.example", "default|||x@any.example|F"},
};

static const struct scase sdt_cases[] = {
    {"sender_dependent_default_transport_maps = texthash:DIR/transport\n"
     "relayhost = [rh.example]\nrelay_domains = rd.example\n",
     "sender@example.test", "x@any.example",
     "default|other|[sdt-hop]|x@any.example|-"},
    {"sender_dependent_default_transport_maps = texthash:DIR/transport\n"
     "relayhost = [rh.example]\nrelay_domains = rd.example\n",
     "sender@example.test", "x@rd.example",
     "relay|relay|[rh.example]|x@rd.example|-"},
    {"sender_dependent_default_transport_maps = texthash:DIR/transport\n"
     "relayhost = [rh.example]\n",
     "plain@example.test", "x@any.example",
     "default|custom|[rh.example]|x@any.example|-"},
};

/* run_scases - each case with its own configuration and TABLE */
static void run_scases(const struct scase *c, size_t n, const char *table)
{
    struct resolve_reply reply;
    struct buf got = BUF_INIT;

    resolve_reply_init(&reply);
    for (size_t i = 0; i < n; i++) {
        struct resolve *r;
        struct span snd = span_of(c[i].sender ? c[i].sender : "");
        enum lk_result lk;

        use_conf(c[i].cf, table);
        r = resolve_open();
        lk = resolve_addr_sender(r, c[i].sender ? &snd : NULL,
                                 span_of(c[i].rcpt), &reply);
        buf_setf(&got, "%s|%s|%s|%s|", resolve_class_name(reply.rclass),
                 buf_str(&reply.transport), buf_str(&reply.nexthop),
                 buf_str(&reply.recipient));
        flags_text(reply.flags, &got);
        if ((lk == LK_TEMPFAIL) != ((reply.flags & RESOLVE_FLAG_FAIL) != 0)
            || strcmp(buf_str(&got), c[i].want) != 0)
            fail_msg("<%s> %s: got %s (%d), want %s",
                     c[i].sender ? c[i].sender : "(none)", c[i].rcpt,
                     buf_str(&got), lk, c[i].want);
        resolve_free(r);
        drop_conf();
    }
    resolve_reply_fini(&reply);
    buf_fini(&got);
}

/* test_sender_dependent - sender_dependent_{relayhost,default_transport}_maps */
static void test_sender_dependent(void **state)
{
    (void) state;
    run_scases(scases, NELEM(scases), sdr_tab);
    run_scases(sdt_cases, NELEM(sdt_cases),
               "sender@example.test other:[sdt-hop]\n"
               "plain@example.test custom\n");
}

/* test_interfaces - "all" (the host's interface addresses: loopback is
 * always one), "loopback-only", host names, inet_protocols */
static void test_interfaces(void **state)
{
    static const struct {
        const char *cf;
        const char *addr;
        enum resolve_class want;
    } c[] = {
        {"inet_interfaces = all\ninet_protocols = ipv4\n", "x@[127.0.0.1]",
         RESOLVE_CLASS_LOCAL},
        {"inet_interfaces = loopback-only\ninet_protocols = ipv4\n",
         "x@[127.0.0.1]", RESOLVE_CLASS_LOCAL},
        {"inet_interfaces = loopback-only\ninet_protocols = ipv4\n",
         "x@[IPv6:::1]", RESOLVE_CLASS_DEFAULT},
        {"inet_interfaces = loopback-only\ninet_protocols = all\n",
         "x@[IPv6:::1]", RESOLVE_CLASS_LOCAL},
        {"inet_interfaces = [::1]\ninet_protocols = ipv6\n", "x@[IPv6:0:0::1]",
         RESOLVE_CLASS_LOCAL},
        {"inet_interfaces = localhost\ninet_protocols = ipv4\n",
         "x@[127.0.0.1]", RESOLVE_CLASS_LOCAL},
        {"inet_interfaces = 192.0.2.1\n", "x@[127.0.0.1]",
         RESOLVE_CLASS_DEFAULT},
    };
    struct resolve_reply reply;

    (void) state;
    resolve_reply_init(&reply);
    for (size_t i = 0; i < NELEM(c); i++) {
        struct resolve *r;

        use_conf(c[i].cf, NULL);
        r = resolve_open();
        assert_int_equal(resolve_addr(r, span_of(c[i].addr), &reply), LK_FOUND);
        if (reply.rclass != c[i].want)
            fail_msg("%s%s: got %s, want %s", c[i].cf, c[i].addr,
                     resolve_class_name(reply.rclass),
                     resolve_class_name(c[i].want));
        resolve_free(r);
        drop_conf();
    }
    resolve_reply_fini(&reply);
}

/* test_inet_interface - resolve_inet_interface: inet_interfaces only,
 * any IPv6 spelling, never proxy_interfaces */
static void test_inet_interface(void **state)
{
    struct resolve *r;

    (void) state;
    use_conf("inet_interfaces = 127.0.0.1\nproxy_interfaces = 192.0.2.7\n",
             NULL);
    r = resolve_open();
    assert_true(resolve_inet_interface(r, "127.0.0.1"));
    assert_false(resolve_inet_interface(r, "127.0.0.2"));
    assert_false(resolve_inet_interface(r, "192.0.2.7"));
    assert_false(resolve_inet_interface(r, "not an address"));
    assert_false(resolve_inet_interface(r, ""));
    resolve_free(r);
    drop_conf();
    use_conf("inet_interfaces = [::1], 127.0.0.1\ninet_protocols = all\n",
             NULL);
    r = resolve_open();
    assert_true(resolve_inet_interface(r, "0:0:0:0:0:0:0:1"));
    assert_true(resolve_inet_interface(r, "::1"));
    assert_false(resolve_inet_interface(r, "::2"));
    resolve_free(r);
    drop_conf();
    /* all: every interface, the loopback one among them. */
    use_conf("inet_interfaces = all\ninet_protocols = ipv4\n", NULL);
    r = resolve_open();
    assert_true(resolve_inet_interface(r, "127.0.0.1"));
    assert_false(resolve_inet_interface(r, "192.0.2.1"));
    resolve_free(r);
    drop_conf();
}

/* test_tempfail - a failing table is a temporary failure, never "not
 * found" (postfix: "transport_maps = fail:x" defers with "address
 * resolver failure") */
static void test_tempfail(void **state)
{
    struct resolve *r;
    struct resolve_reply reply;

    (void) state;
    use_conf("transport_maps = fail:x\n", NULL);
    r = resolve_open();
    resolve_reply_init(&reply);
    assert_int_equal(resolve_addr(r, span_of("x@any.example"), &reply),
                     LK_TEMPFAIL);
    assert_true(reply.flags & RESOLVE_FLAG_FAIL);
    assert_non_null(strstr(buf_str(&reply.why), "transport_maps"));
    assert_string_equal(buf_str(&reply.transport), "");
    resolve_free(r);
    drop_conf();

    use_conf("mydestination = fail:x\n", NULL);
    r = resolve_open();
    assert_int_equal(resolve_addr(r, span_of("x@any.example"), &reply),
                     LK_TEMPFAIL);
    assert_true(reply.flags & RESOLVE_FLAG_FAIL);
    assert_non_null(strstr(buf_str(&reply.why), "mydestination"));
    resolve_free(r);
    drop_conf();

    use_conf("virtual_alias_domains = fail:x\n", NULL);
    r = resolve_open();
    assert_int_equal(resolve_addr(r, span_of("x@any.example"), &reply),
                     LK_TEMPFAIL);
    /* A local address never looks at the virtual domains. */
    assert_int_equal(resolve_addr(r, span_of("x@localhost"), &reply), LK_FOUND);
    assert_int_equal(reply.rclass, RESOLVE_CLASS_LOCAL);
    resolve_reply_fini(&reply);
    resolve_free(r);
    drop_conf();
}

/* test_hostile - loops and junk end as bad syntax */
static void test_hostile(void **state)
{
    struct resolve *r;
    struct resolve_reply reply;
    struct buf in = BUF_INIT;

    (void) state;
    use_conf("", NULL);
    r = resolve_open();
    resolve_reply_init(&reply);
    /* Each step strips a local domain: the step limit ends it. */
    buf_set(&in, "u");
    for (int i = 0; i < RESOLVE_MAX_STEPS; i++)
        buf_cat(&in, "%localhost");
    buf_cat(&in, "@localhost");
    assert_int_equal(
        resolve_addr(r, span_make(buf_str(&in), buf_len(&in)), &reply),
        LK_FOUND);
    assert_true(reply.flags & RESOLVE_FLAG_ERROR);
    assert_int_equal(buf_len(&reply.recipient), buf_len(&in));
    /* Each "%localhost" takes two steps (strip the local domain, then the
     * percent hack): with half as many it resolves. */
    buf_set(&in, "u");
    for (int i = 0; i < RESOLVE_MAX_STEPS / 2 - 1; i++)
        buf_cat(&in, "%localhost");
    buf_cat(&in, "@localhost");
    assert_int_equal(
        resolve_addr(r, span_make(buf_str(&in), buf_len(&in)), &reply),
        LK_FOUND);
    assert_string_equal(buf_str(&reply.recipient), "u@localhost");
    assert_int_equal(reply.flags, 0);
    assert_int_equal(resolve_addr(r, span_make("a\0b@x.example", 13), &reply),
                     LK_FOUND);
    assert_true(reply.flags & RESOLVE_FLAG_ERROR);
    /* A label of 64 bytes. */
    buf_set(&in, "u@");
    for (int i = 0; i < 64; i++)
        buf_catc(&in, 'a');
    buf_cat(&in, ".example");
    assert_int_equal(
        resolve_addr(r, span_make(buf_str(&in), buf_len(&in)), &reply),
        LK_FOUND);
    assert_true(reply.flags & RESOLVE_FLAG_ERROR);
    resolve_reply_fini(&reply);
    resolve_free(r);
    buf_fini(&in);
    drop_conf();
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_star),
        cmocka_unit_test(test_hops),
        cmocka_unit_test(test_error_transport),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_switches_off),
        cmocka_unit_test(test_domains),
        cmocka_unit_test(test_tempfail),
        cmocka_unit_test(test_interfaces),
        cmocka_unit_test(test_inet_interface),
        cmocka_unit_test(test_sender_dependent),
        cmocka_unit_test(test_hostile),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
