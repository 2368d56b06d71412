/* smtpd_check_test - the restriction engine against Postfix 3.7.
 *
 * tests/data/smtpd/check_golden.txt holds Postfix's answers, recorded by
 * tests/data/smtpd/record_check.py from Debian's Postfix 3.7 (postfix-ref
 * instances with each tests/data/smtpd/check_CONFIG.cf appended to the
 * tool's main.cf; see tests/data/smtpd/README.md).  Here each CONFIG gets
 * the same main.cf and each session is replayed through the engine: the
 * HELO and MAIL stages when smtpd_delay_reject is off, the RCPT stages
 * (smtpd_check_rcpt_stages) for each recipient, the DATA stage for
 * DATA (with the count of accepted recipients).  The greeting's step name
 * says how the session was pipelined (record_check.py): "helo" lockstep,
 * "HELO"/"EHLO" greeting alone and the rest in one write, "HELO+"/"EHLO+"
 * all in one write; from that the replay sets unauth_pipelining where the
 * daemon would (see smtpd_check.h). */
#include "smtpd/smtpd_check.h"

#include "global/conf.h"
#include "global/dns.h"
#include "lib/argv.h"
#include "lib/mem.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <cmocka.h>

#define DATA "tests/data/smtpd/"

static char dir[] = "/tmp/smtpd_check_testXXXXXX";

/* load_conf - postfix-ref's main.cf plus check_NAME.cf, and EXTRA */
static void load_conf(const char *name, const char *extra)
{
    struct buf text = BUF_INIT;
    struct buf why = BUF_INIT;
    char path[256];
    char line[4096];
    FILE *fp;

    buf_set(&text, "compatibility_level = 3.6\n"
                   "myhostname = mx.example.test\n"
                   "mydomain = example.test\n"
                   "inet_interfaces = 127.0.0.1\n"
                   "inet_protocols = ipv4\n"
                   "alias_maps =\n");
    if (name != NULL) {
        assert_true(snprintf(path, sizeof(path), DATA "check_%s.cf", name) > 0);
        fp = fopen(path, "r");
        assert_non_null(fp);
        while (fgets(line, sizeof(line), fp) != NULL)
            buf_cat(&text, line);
        fclose(fp);
    }
    buf_cat(&text, extra ? extra : "");
    assert_true(snprintf(path, sizeof(path), "%s/main.cf", dir) > 0);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(buf_str(&text), fp);
    fclose(fp);
    conf_set_dir(dir);
    conf_defaults_only(false);
    assert_int_equal(conf_load(&why), 0);
    buf_fini(&text);
    buf_fini(&why);
}

/* run_stages - evaluate STAGES over ST; the reply, "" for accept */
static void run_stages(struct smtpd_check *c, struct smtpd_state *st,
                       const enum smtpd_stage *stages, size_t n,
                       struct buf *out)
{
    static struct buf carried = BUF_INIT;
    struct smtpd_check_run run;

    smtpd_check_run_init(&run);
    smtpd_check_start(&run, c, st, stages, n);
    assert_int_not_equal(smtpd_check_step(&run), SMTPD_CHECK_PENDING);
    buf_set(out, buf_str(&run.reply));
    /* What the daemon does: carry a DEFER_IF_PERMIT to the next run. */
    if (run.status == SMTPD_CHECK_ACCEPT && run.defer_if_permit) {
        buf_set(&carried, buf_str(&run.dip));
        st->defer_if_permit = buf_str(&carried);
    }
    /* ... and a DISCARD to the rest of the transaction. */
    if (run.fx.discard)
        st->discarded = true;
    smtpd_check_run_fini(&run);
}

/* daemon_reply - WANT is the daemon's own answer, not a restriction's:
 * "NNN X.Y.Z Error: ..." (503 need MAIL/RCPT, send HELO/EHLO first,
 * access denied for a rejected client; 554 no valid recipients) */
static bool daemon_reply(const char *want)
{
    return strlen(want) > 10 && strncmp(want + 10, "Error: ", 7) == 0;
}

/* golden_config - the cases of CONFIG; the count checked */
static int golden_config(const char *config)
{
    FILE *fp = fopen(DATA "check_golden.txt", "r");
    struct smtpd_check *c;
    struct smtpd_state st;
    struct buf why = BUF_INIT;
    struct buf got = BUF_INIT;
    char *text = NULL;
    char helo[256], sender[512], rcpt[512], addr[64], name[256];
    char greet[8] = "";
    size_t cap = 0;
    int checked = 0, bad = 0;

    load_conf(config, NULL);
    c = smtpd_check_open();
    assert_non_null(c);
    assert_non_null(fp);
    memset(&st, 0, sizeof(st));
    while (getline(&text, &cap, fp) > 0) {
        char *f[7];
        char *p = text;
        int i;
        const char *want;
        enum smtpd_stage stages[SMTPD_STAGE_COUNT];
        size_t n;

        text[strcspn(text, "\n")] = 0;
        for (i = 0; i < 7; i++) {
            f[i] = p;
            if (i < 6) {
                p = strchr(p, '\t');
                assert_non_null(p);
                *p++ = 0;
            }
        }
        if (strcmp(f[0], config) != 0)
            continue;
        want = f[6];
        if (strcasecmp(f[4], "helo") == 0 || strcasecmp(f[4], "ehlo") == 0
            || strcasecmp(f[4], "helo+") == 0
            || strcasecmp(f[4], "ehlo+") == 0) {
            unsigned char bin[16];

            assert_int_equal(str_copy(addr, sizeof(addr), f[2]), 0);
            /* The daemon gives IPv6 in inet_ntop's form. */
            if (strchr(addr, ':') != NULL) {
                assert_int_equal(inet_pton(AF_INET6, f[2], bin), 1);
                assert_non_null(inet_ntop(AF_INET6, bin, addr, sizeof(addr)));
            }
            assert_int_equal(str_copy(greet, sizeof(greet), f[4]), 0);
            assert_int_equal(str_copy(name, sizeof(name), f[3]), 0);
            assert_int_equal(str_copy(helo, sizeof(helo), f[5]), 0);
            memset(&st, 0, sizeof(st));
            st.defer_if_permit = NULL;
            st.client_addr = addr;
            st.client_name = name;
            st.reverse_name = name;
            st.helo = helo;
            /* A pipelined HELO/EHLO is illegal from the start. */
            st.unauth_pipelining = strchr(greet, '+') != NULL;
            if (smtpd_check_delay_reject(c))
                continue;
            /* At HELO: the client list ran at connect, then helo. */
            stages[0] = SMTPD_STAGE_CLIENT;
            run_stages(c, &st, stages, 1, &got);
            if (buf_len(&got) > 0) {
                /* Postfix then answers every command "503 5.7.0 Error:
                 * access denied for NAME[ADDR]" (the daemon's job). */
                checked++;
                if (strncmp(want, "503 5.7.0 Error: access denied", 30) != 0)
                    bad++;
                continue;
            }
            stages[0] = SMTPD_STAGE_HELO;
            run_stages(c, &st, stages, 1, &got);
        } else if (strcmp(f[4], "mail") == 0) {
            assert_int_equal(str_copy(sender, sizeof(sender), f[5]), 0);
            st.sender = sender;
            st.recipient = NULL;
            st.rcpt_count = 0;
            /* MAIL with more behind it, PIPELINING not announced. */
            if (strcmp(greet, "HELO") == 0)
                st.unauth_pipelining = true;
            if (smtpd_check_delay_reject(c) || daemon_reply(want))
                continue;
            stages[0] = SMTPD_STAGE_SENDER;
            run_stages(c, &st, stages, 1, &got);
        } else if (strcmp(f[4], "rcpt") == 0) {
            assert_int_equal(str_copy(rcpt, sizeof(rcpt), f[5]), 0);
            /* The recorded argument is external: "u@r"@l is u@r@l. */
            if (rcpt[0] == '"') {
                char *q = strchr(rcpt + 1, '"');

                assert_non_null(q);
                memmove(q, q + 1, strlen(q));
                memmove(rcpt, rcpt + 1, strlen(rcpt));
            }
            /* A source route is dropped by the parser. */
            if (rcpt[0] == '@')
                memmove(rcpt, strchr(rcpt, ':') + 1,
                        strlen(strchr(rcpt, ':') + 1) + 1);
            /* The daemon's own answer: MAIL was refused. */
            if (daemon_reply(want))
                continue;
            st.recipient = rcpt;
            n = smtpd_check_rcpt_stages(c, stages);
            run_stages(c, &st, stages, n, &got);
            if (want[0] == '2')
                st.rcpt_count++;
        } else if (strcmp(f[4], "data") == 0) {
            /* The daemon's own answers: no (valid) recipients. */
            if (daemon_reply(want))
                continue;
            /* DATA with the message behind it is always ahead of time. */
            if (greet[0] == 'H' || greet[0] == 'E')
                st.unauth_pipelining = true;
            st.recipient = NULL;
            stages[0] = SMTPD_STAGE_DATA;
            run_stages(c, &st, stages, 1, &got);
        } else if (strcmp(f[4], "eod") == 0) {
            stages[0] = SMTPD_STAGE_EOD;
            run_stages(c, &st, stages, 1, &got);
        } else
            continue;
        checked++;
        if (want[0] == '2' || want[0] == '3'
                ? buf_len(&got) != 0
                : strcmp(buf_str(&got), want) != 0) {
            bad++;
            print_message("%s #%s %s %s: want \"%s\", got \"%s\"\n", config,
                          f[1], f[4], f[5], want, buf_str(&got));
        }
    }
    free(text);
    fclose(fp);
    smtpd_check_free(c);
    buf_fini(&why);
    buf_fini(&got);
    assert_int_equal(bad, 0);
    return checked;
}

/* test_golden - every recorded configuration */
static void test_golden(void **state)
{
    static const char *const configs[] = {
        "default",  "strict",   "nodelay", "soft", "warn",   "misc",
        "hostbits", "unlisted", "unlistx", "pipe", "pipe2",  "pipe3",
        "access2",  "ifall",    "bounce2", "eod",  "actions"};
    size_t i;
    int total = 0;

    (void) state;
    for (i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
        total += golden_config(configs[i]);
    print_message("%d golden answers compared\n", total);
    assert_true(total >= 530);
}

/* test_effects - access(5) side effects come back as data */
static void test_effects(void **state)
{
    struct smtpd_check *c;
    struct smtpd_check_run run;
    struct smtpd_state st;
    struct buf why = BUF_INIT;
    enum smtpd_stage stages[SMTPD_STAGE_COUNT];
    size_t n;

    (void) state;
    load_conf(NULL,
              "mynetworks = 127.0.0.0/8\nlocal_recipient_maps =\n"
              "smtpd_restriction_classes = loop\n"
              "loop = loop\n"
              "smtpd_recipient_restrictions = check_recipient_access "
              "inline:{ {a@mx.example.test=FILTER smtp:[192.0.2.9]:25} "
              "{b@mx.example.test=BCC archive@example.org} "
              "{c@mx.example.test=PREPEND X-Tag: yes} "
              "{d@mx.example.test=REDIRECT other@example.org} "
              "{e@mx.example.test=DISCARD} "
              "{f@mx.example.test=HOLD look} "
              "{g@mx.example.test=WARN odd} "
              "{h@mx.example.test=loop} "
              "{i@mx.example.test=DEFER_IF_REJECT soft} "
              "{j@mx.example.test=DEFER_IF_PERMIT later} }, "
              "check_recipient_access inline:{ {i@mx.example.test=REJECT} }, "
              "permit_mynetworks\n");
    c = smtpd_check_open();
    assert_non_null(c);
    memset(&st, 0, sizeof(st));
    st.client_addr = "127.0.0.1";
    st.client_name = "localhost";
    st.helo = "client.example";
    st.sender = "s@example.org";
    n = smtpd_check_rcpt_stages(c, stages);
    smtpd_check_run_init(&run);

    st.recipient = "a@mx.example.test";
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_ACCEPT);
    assert_string_equal(buf_str(&run.fx.filter), "smtp:[192.0.2.9]:25");

    st.recipient = "b@mx.example.test";
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_ACCEPT);
    assert_int_equal(run.fx.bcc->argc, 1);
    assert_string_equal(run.fx.bcc->argv[0], "archive@example.org");
    assert_int_equal(buf_len(&run.fx.filter), 0);

    st.recipient = "c@mx.example.test";
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_ACCEPT);
    assert_string_equal(run.fx.prepend->argv[0], "X-Tag: yes");

    st.recipient = "d@mx.example.test";
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_ACCEPT);
    assert_string_equal(buf_str(&run.fx.redirect), "other@example.org");

    st.recipient = "e@mx.example.test";
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_ACCEPT);
    assert_true(run.fx.discard);

    st.recipient = "f@mx.example.test";
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_ACCEPT);
    assert_true(run.fx.held);
    assert_string_equal(buf_str(&run.fx.hold), "look");

    st.recipient = "g@mx.example.test";
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_ACCEPT);
    assert_string_equal(run.fx.warnings->argv[0], "warn: odd");

    /* A class that names itself ends as a configuration error. */
    st.recipient = "h@mx.example.test";
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "451 4.3.5 Server configuration error");

    /* DEFER_IF_REJECT turns the later reject of the same list into 450. */
    st.recipient = "i@mx.example.test";
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "450 4.7.1 <i@mx.example.test>: Recipient address "
                        "rejected: soft");

    /* DEFER_IF_PERMIT turns the final permit into 450. */
    st.recipient = "j@mx.example.test";
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "450 4.7.1 <j@mx.example.test>: Recipient address "
                        "rejected: later");

    smtpd_check_run_fini(&run);
    smtpd_check_free(c);
    buf_fini(&why);
}

/* answer - give RUN's pending lookup STATUS with the records of TEXT
 * (A: "1.2.3.4 ...", MX: exchanges, TXT: one text), NULL: none */
static void answer(struct smtpd_check_run *run, enum dns_status status,
                   const char *text)
{
    struct dns_rr rr[4];
    struct dns_answer ans;
    struct argv *w = argv_new();
    size_t n = 0, i;

    if (text != NULL && run->dns_type == DNS_T_TXT)
        argv_add(w, text);
    else if (text != NULL) {
        argv_free(w);
        w = argv_split(text, " ");
    }
    memset(rr, 0, sizeof(rr));
    memset(&ans, 0, sizeof(ans));
    for (i = 0; i < w->argc && n < 4; i++, n++) {
        rr[n].type = run->dns_type;
        if (run->dns_type == DNS_T_A) {
            struct sockaddr_in *in = (struct sockaddr_in *) &rr[n].addr;

            in->sin_family = AF_INET;
            assert_int_equal(inet_pton(AF_INET, w->argv[i], &in->sin_addr), 1);
        } else if (run->dns_type == DNS_T_TXT) {
            rr[n].text = w->argv[i];
        } else {
            rr[n].name = strcmp(w->argv[i], ".") == 0 ? "" : w->argv[i];
        }
    }
    ans.status = status;
    ans.qname = buf_str(&run->dns_name);
    ans.qtype = run->dns_type;
    ans.rr = rr;
    ans.nrr = n;
    ans.why = status == DNS_RETRY ? "Host not found, try again" : "";
    smtpd_check_dns_answer(run, &ans);
    argv_free(w);
}

/* expect_lookup - RUN waits for NAME/TYPE */
static void expect_lookup(struct smtpd_check_run *run, const char *name,
                          int type)
{
    assert_int_equal(smtpd_check_step(run), SMTPD_CHECK_PENDING);
    assert_true(run->dns_waiting);
    assert_string_equal(buf_str(&run->dns_name), name);
    assert_int_equal(run->dns_type, type);
}

/* test_dns_lists - reject_rbl_client with a filter, the TXT reason in
 * default_rbl_reply, warn_if_reject, a SERVFAIL that does not refuse,
 * reject_rhsbl_sender and the answers kept for the run */
static void test_dns_lists(void **state)
{
    struct smtpd_check *c;
    struct smtpd_check_run run;
    struct smtpd_state st;
    static const enum smtpd_stage rcpt[] = {SMTPD_STAGE_RECIPIENT};

    (void) state;
    load_conf(NULL, "smtpd_recipient_restrictions = "
                    "reject_rbl_client sf.test, "
                    "warn_if_reject reject_rbl_client zen.test, "
                    "reject_rbl_client zen.test=127.0.0.[3;5..9], "
                    "reject_rhsbl_sender dbl.test, "
                    "reject_rbl_client zen.test, permit\n");
    c = smtpd_check_open();
    memset(&st, 0, sizeof(st));
    st.client_addr = "127.0.0.2";
    st.client_name = "good.test";
    st.sender = "a@Spam.Test.";
    st.recipient = "u@mx.example.test";
    smtpd_check_run_init(&run);
    smtpd_check_start(&run, c, &st, rcpt, 1);
    expect_lookup(&run, "2.0.0.127.sf.test", DNS_T_A);
    answer(&run, DNS_RETRY, NULL);
    expect_lookup(&run, "2.0.0.127.zen.test", DNS_T_A);
    answer(&run, DNS_OK, "127.0.0.4 127.0.0.2");
    expect_lookup(&run, "2.0.0.127.zen.test", DNS_T_TXT);
    answer(&run, DNS_OK, "listed here");
    /* warn_if_reject: a warning; the filter matches 127.0.0.[3;5..9]
     * neither answer; then the sender's domain */
    expect_lookup(&run, "Spam.Test.dbl.test", DNS_T_A);
    answer(&run, DNS_NOTFOUND, NULL);
    /* the last list again: the answers are kept */
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "554 5.7.1 Service unavailable; Client host "
                        "[127.0.0.2] blocked using zen.test; listed here");
    assert_int_equal(run.fx.warnings->argc, 2);
    assert_string_equal(run.fx.warnings->argv[0],
                        "warning: 2.0.0.127.sf.test: RBL lookup error: Host "
                        "or domain name not found. Name service error for "
                        "name=2.0.0.127.sf.test type=A: Host not found, try "
                        "again");
    assert_string_equal(run.fx.warnings->argv[1],
                        "reject_warning: 554 5.7.1 Service unavailable; "
                        "Client host [127.0.0.2] blocked using zen.test; "
                        "listed here");
    smtpd_check_run_fini(&run);
    smtpd_check_free(c);

    /* a malformed filter is a configuration error */
    load_conf(NULL, "smtpd_recipient_restrictions = "
                    "reject_rbl_client zen.test=127.0.0\n");
    c = smtpd_check_open();
    smtpd_check_run_init(&run);
    smtpd_check_start(&run, c, &st, rcpt, 1);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "451 4.3.5 Server configuration error");
    smtpd_check_run_fini(&run);
    smtpd_check_free(c);
}

/* test_unknown_domains - reject_unknown_sender_domain: MX, then A and
 * AAAA; a null MX; a temporary failure as DEFER_IF_PERMIT; local domains
 * are not looked up; reject_unknown_client_hostname by the name status */
static void test_unknown_domains(void **state)
{
    struct smtpd_check *c;
    struct smtpd_check_run run;
    struct smtpd_state st;
    static const enum smtpd_stage rcpt[] = {SMTPD_STAGE_RECIPIENT};

    (void) state;
    load_conf(NULL, "unknown_address_reject_code = 550\n"
                    "local_recipient_maps =\n"
                    "smtpd_recipient_restrictions = "
                    "reject_unknown_sender_domain, "
                    "reject_unknown_recipient_domain, permit\n");
    c = smtpd_check_open();
    memset(&st, 0, sizeof(st));
    st.client_addr = "127.0.0.2";
    st.client_name = "good.test";
    st.recipient = "u@mx.example.test"; /* local: no lookup */
    smtpd_check_run_init(&run);

    st.sender = "a@aonly.test";
    smtpd_check_start(&run, c, &st, rcpt, 1);
    expect_lookup(&run, "aonly.test", DNS_T_MX);
    answer(&run, DNS_NODATA, NULL);
    expect_lookup(&run, "aonly.test", DNS_T_A);
    answer(&run, DNS_OK, "192.0.2.7");
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_ACCEPT);

    st.sender = "a@noaddr.test";
    smtpd_check_start(&run, c, &st, rcpt, 1);
    expect_lookup(&run, "noaddr.test", DNS_T_MX);
    answer(&run, DNS_NODATA, NULL);
    expect_lookup(&run, "noaddr.test", DNS_T_A);
    answer(&run, DNS_NODATA, NULL);
    expect_lookup(&run, "noaddr.test", DNS_T_AAAA);
    answer(&run, DNS_NODATA, NULL);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "550 5.1.8 <a@noaddr.test>: Sender address "
                        "rejected: Domain not found");

    st.sender = "a@nullmx.test";
    smtpd_check_start(&run, c, &st, rcpt, 1);
    expect_lookup(&run, "nullmx.test", DNS_T_MX);
    answer(&run, DNS_OK, ".");
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "550 5.7.27 <a@nullmx.test>: Sender address "
                        "rejected: Domain nullmx.test does not accept mail "
                        "(nullMX)");

    /* SERVFAIL: DEFER_IF_PERMIT, reported when the list permits */
    st.sender = "a@sf.test";
    smtpd_check_start(&run, c, &st, rcpt, 1);
    expect_lookup(&run, "sf.test", DNS_T_MX);
    answer(&run, DNS_RETRY, NULL);
    expect_lookup(&run, "sf.test", DNS_T_A);
    answer(&run, DNS_NODATA, NULL);
    expect_lookup(&run, "sf.test", DNS_T_AAAA);
    answer(&run, DNS_RETRY, NULL);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "450 4.1.8 <a@sf.test>: Sender address rejected: "
                        "Domain not found");

    /* a remote recipient domain with a null MX: 556 */
    st.sender = "";
    st.recipient = "u@nullmx.test";
    smtpd_check_start(&run, c, &st, rcpt, 1);
    expect_lookup(&run, "nullmx.test", DNS_T_MX);
    answer(&run, DNS_OK, ".");
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "556 5.1.10 <u@nullmx.test>: Recipient address "
                        "rejected: Domain nullmx.test does not accept mail "
                        "(nullMX)");
    smtpd_check_run_fini(&run);
    smtpd_check_free(c);

    load_conf(NULL, "smtpd_client_restrictions = "
                    "reject_unknown_reverse_client_hostname, "
                    "reject_unknown_client_hostname\n");
    c = smtpd_check_open();
    smtpd_check_run_init(&run);
    {
        static const enum smtpd_stage client[] = {SMTPD_STAGE_CLIENT};

        st.client_name = "unknown";
        st.reverse_name = "ptr.test";
        st.client_name_status = 4;
        smtpd_check_start(&run, c, &st, client, 1);
        assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
        assert_string_equal(buf_str(&run.reply),
                            "450 4.7.25 Client host rejected: cannot find "
                            "your hostname, [127.0.0.2]");
        st.reverse_name = "unknown";
        st.reverse_name_status = 5;
        smtpd_check_start(&run, c, &st, client, 1);
        assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
        assert_string_equal(buf_str(&run.reply),
                            "450 4.7.1 Client host rejected: cannot find "
                            "your reverse hostname, [127.0.0.2]");
    }
    smtpd_check_run_fini(&run);
    smtpd_check_free(c);
}

/* test_unknown_helo - reject_unknown_helo_hostname (and its old name)
 * passes an address literal without the DNS, as Postfix does (seed 002,
 * tests/data/smtpd/seed_relay_golden.txt); a name needs the resolver */
static void test_unknown_helo(void **state)
{
    struct smtpd_check *c;
    struct smtpd_check_run run;
    struct smtpd_state st;
    enum smtpd_stage stages[SMTPD_STAGE_COUNT];
    size_t n;
    const char *lists[] = {"reject_unknown_hostname",
                           "reject_unknown_helo_hostname"};
    size_t i;
    char extra[256];

    (void) state;
    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        assert_true(snprintf(extra, sizeof(extra),
                             "smtpd_helo_restrictions = %s, reject\n", lists[i])
                    > 0);
        load_conf(NULL, extra);
        c = smtpd_check_open();
        assert_non_null(c);
        memset(&st, 0, sizeof(st));
        st.client_addr = "192.0.2.1";
        st.client_name = "outside.example";
        st.sender = "a@example.org";
        st.recipient = "root@mx.example.test";
        n = smtpd_check_rcpt_stages(c, stages);
        smtpd_check_run_init(&run);

        /* an address literal: no lookup, the next restriction rejects */
        st.helo = "[192.0.2.1]";
        smtpd_check_start(&run, c, &st, stages, n);
        assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
        assert_string_equal(buf_str(&run.reply),
                            "554 5.7.1 <[192.0.2.1]>: Helo command "
                            "rejected: Access denied");

        /* a name: the run waits for its A record; NXDOMAIN refuses */
        st.helo = "outside.example.";
        smtpd_check_start(&run, c, &st, stages, n);
        assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_PENDING);
        assert_true(run.dns_waiting);
        assert_string_equal(buf_str(&run.dns_name), "outside.example");
        assert_int_equal(run.dns_type, DNS_T_A);
        answer(&run, DNS_NOTFOUND, NULL);
        assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
        assert_string_equal(buf_str(&run.reply),
                            "450 4.7.1 <outside.example.>: Helo command "
                            "rejected: Host not found");

        smtpd_check_run_fini(&run);
        smtpd_check_free(c);
    }
}

/* test_policy - check_policy_service: the run waits with the request,
 * resumes with the answer, evaluated as an access(5) result with the
 * list's subject; a malformed service is a configuration error */
static void test_policy(void **state)
{
    struct smtpd_check *c;
    struct smtpd_check_run run;
    struct smtpd_state st;
    enum smtpd_stage stages[SMTPD_STAGE_COUNT];
    size_t n;
    const char *req;

    (void) state;
    load_conf(NULL, "mynetworks = 127.0.0.0/8\nlocal_recipient_maps =\n"
                    "smtpd_recipient_restrictions = warn_if_reject, "
                    "check_policy_service inet:127.0.0.1:9998, "
                    "check_policy_service { inet:127.0.0.1:9999, "
                    "policy_context = ctx } , permit_mynetworks\n"
                    "smtpd_data_restrictions = check_policy_service "
                    "{ inet:127.0.0.1:1, timeout = soon }\n");
    c = smtpd_check_open();
    memset(&st, 0, sizeof(st));
    st.client_addr = "127.0.0.1";
    st.client_name = "localhost";
    st.reverse_name = "localhost";
    st.helo = "client.example";
    st.sender = "s@example.org";
    st.recipient = "u@mx.example.test";
    st.rcpt_count = 2;
    st.protocol_state = "RCPT";
    st.protocol_name = "ESMTP";
    st.instance = "1.2.3.0";
    st.size = 100;
    n = smtpd_check_rcpt_stages(c, stages);
    smtpd_check_run_init(&run);
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_PENDING);
    assert_string_equal(buf_str(&run.policy_spec), "inet:127.0.0.1:9998");
    req = buf_str(&run.policy_request);
    assert_non_null(strstr(req, "request=smtpd_access_policy\n"
                                "protocol_state=RCPT\nprotocol_name=ESMTP\n"
                                "client_address=127.0.0.1\n"));
    assert_non_null(strstr(req, "\nrecipient=u@mx.example.test\n"
                                "recipient_count=0\n"));
    assert_non_null(strstr(req, "\ninstance=1.2.3.0\nsize=100\n"));
    assert_true(str_has_suffix(req, "\npolicy_context=\n\n"));
    /* Stepping before the answer stays pending. */
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_PENDING);
    /* warn_if_reject applies to the policy result. */
    smtpd_check_policy_answer(&run, "REJECT no thanks");
    smtpd_check_resume(&run, &st);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_PENDING);
    assert_string_equal(run.fx.warnings->argv[0],
                        "reject_warning: 554 5.7.1 <u@mx.example.test>: "
                        "Recipient address rejected: no thanks");
    assert_string_equal(buf_str(&run.policy_spec),
                        "{ inet:127.0.0.1:9999, policy_context = ctx }");
    assert_true(str_has_suffix(buf_str(&run.policy_request),
                               "\npolicy_context=ctx\n\n"));
    smtpd_check_policy_answer(&run, "451 4.3.5 Server configuration problem");
    smtpd_check_resume(&run, &st);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "451 4.3.5 <u@mx.example.test>: Recipient address "
                        "rejected: Server configuration problem");
    /* DUNNO and OK go on; a class or list result is evaluated in place. */
    smtpd_check_start(&run, c, &st, stages, n);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_PENDING);
    smtpd_check_policy_answer(&run, "DUNNO");
    smtpd_check_resume(&run, &st);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_PENDING);
    smtpd_check_policy_answer(&run, "reject_unauth_destination, defer");
    smtpd_check_resume(&run, &st);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "450 4.7.1 <u@mx.example.test>: Recipient address "
                        "rejected: Access denied");
    /* At DATA the request carries the recipient count; a service with a
     * bad setting is a configuration error. */
    stages[0] = SMTPD_STAGE_DATA;
    st.recipient = NULL;
    smtpd_check_start(&run, c, &st, stages, 1);
    assert_int_equal(smtpd_check_step(&run), SMTPD_CHECK_REPLY);
    assert_string_equal(buf_str(&run.reply),
                        "451 4.3.5 Server configuration error");
    assert_non_null(strstr(run.fx.warnings->argv[0], "bad time value"));
    smtpd_check_run_fini(&run);
    smtpd_check_free(c);
}

/* setup - a private configuration directory, quiet logging */
static int setup(void **state)
{
    (void) state;
    if (mkdtemp(dir) == NULL)
        return -1;
    return 0;
}

/* teardown - remove it */
static int teardown(void **state)
{
    char path[256];

    (void) state;
    if (snprintf(path, sizeof(path), "%s/main.cf", dir) > 0)
        unlink(path);
    rmdir(dir);
    return 0;
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_effects),
        cmocka_unit_test(test_unknown_helo),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_dns_lists),
        cmocka_unit_test(test_unknown_domains),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
