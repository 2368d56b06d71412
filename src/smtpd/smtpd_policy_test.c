/* smtpd_policy_test - the policy delegation client: request encoding,
 * reply parsing against hostile input, the service syntax, and the
 * client on a loop against a policy server in the same loop (a UNIX
 * socket): answers, connection reuse, request_limit, time-outs, refusals,
 * a server that closes or answers without an action, cancelling. */
#include "smtpd/smtpd_policy.h"

#include "global/conf.h"
#include "lib/argv.h"
#include "lib/mem.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

static struct loop *lp;
static struct argv *logged;
static char sockpath[108];
static char dir[] = "/tmp/smtpd_policy_testXXXXXX";

/* The server: what it does with each request. */
enum srv_mode {
    SRV_ANSWER,   /* "action=DUNNO conn=C req=R" */
    SRV_SILENT,   /* no answer */
    SRV_CLOSE,    /* closes the connection */
    SRV_NOACTION, /* "foo=bar" */
};
static enum srv_mode mode;
static int listen_fd = -1;
static struct loop_ev *listen_ev;
static int conns;         /* connections accepted */
static struct argv *seen; /* every request's text */

struct conn {
    int fd;
    int n;
    struct loop_ev *ev;
    struct buf in;
};

static struct conn *open_conns[16];

/* conn_drop - the server closes C */
static void conn_drop(struct conn *c)
{
    for (int i = 0; i < 16; i++)
        if (open_conns[i] == c)
            open_conns[i] = NULL;
    loop_ev_free(c->ev);
    close(c->fd);
    buf_fini(&c->in);
    mem_free(c);
}

/* on_conn - request bytes at the server */
static void on_conn(int fd, int what, void *arg)
{
    struct conn *c = arg;
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    const char *end;

    (void) what;
    if (n <= 0) {
        conn_drop(c);
        return;
    }
    buf_catn(&c->in, chunk, (size_t) n);
    while ((end = strstr(buf_str(&c->in), "\n\n")) != NULL) {
        size_t len = (size_t) (end - buf_str(&c->in)) + 2;
        char reply[128];
        char *req = mem_strndup(buf_str(&c->in), len);

        argv_add(seen, req);
        mem_free(req);
        memmove(c->in.data, c->in.data + len, buf_len(&c->in) - len);
        buf_truncate(&c->in, buf_len(&c->in) - len);
        c->n++;
        switch (mode) {
            case SRV_ANSWER:
                snprintf(reply, sizeof(reply),
                         "x=y\naction=DUNNO conn=%d req=%d\n\n", conns, c->n);
                assert_true(write(fd, reply, strlen(reply)) > 0);
                break;
            case SRV_NOACTION:
                assert_true(write(fd, "foo=bar\n\n", 9) == 9);
                break;
            case SRV_CLOSE:
                conn_drop(c);
                return;
            case SRV_SILENT:
                break;
        }
    }
}

/* on_accept - a client at the server */
static void on_accept(int fd, int what, void *arg)
{
    struct conn *c = mem_zalloc(sizeof(*c));

    (void) what;
    (void) arg;
    c->fd = accept(fd, NULL, NULL);
    assert_true(c->fd >= 0);
    buf_init(&c->in, 0);
    c->ev = loop_read(lp, c->fd, on_conn, c);
    loop_ev_arm(c->ev, -1);
    for (int i = 0; i < 16; i++)
        if (open_conns[i] == NULL) {
            open_conns[i] = c;
            break;
        }
    conns++;
}

/* server_start - listen on SOCKPATH */
static void server_start(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};

    unlink(sockpath);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(listen_fd >= 0);
    memcpy(sun.sun_path, sockpath, strlen(sockpath) + 1);
    assert_int_equal(bind(listen_fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    assert_int_equal(listen(listen_fd, 8), 0);
    listen_ev = loop_read(lp, listen_fd, on_accept, NULL);
    loop_ev_arm(listen_ev, -1);
}

/* capture - warnings into LOGGED */
static void capture(enum msg_level level, const char *text)
{
    char line[MSG_LINE_MAX + 16];

    snprintf(line, sizeof(line), "%s%s", msg_prefix(level), text);
    argv_add(logged, line);
}

struct result {
    int calls;
    char action[256];
};

static int want_calls, total_calls;

/* cb - smtpd_policy_fn: note the action */
static void cb(void *arg, const char *action)
{
    struct result *r = arg;

    r->calls++;
    str_copy(r->action, sizeof(r->action), action);
    if (++total_calls >= want_calls)
        loop_stop(lp);
}

/* on_guard - a test that waits too long stops */
static void on_guard(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    *(bool *) arg = true;
    loop_stop(lp);
}

/* run - the loop until N more callbacks ran (or MS passed); false on the
 * guard */
static bool run(int n, long ms)
{
    bool expired = false;
    struct loop_ev *guard = loop_timer(lp, on_guard, &expired);

    want_calls = total_calls + n;
    loop_ev_arm(guard, ms);
    loop_run(lp);
    loop_ev_free(guard);
    return !expired;
}

/* logged_count - lines of the log equal to LINE */
static int logged_count(const char *line)
{
    int n = 0;

    for (size_t i = 0; i < logged->argc; i++)
        if (strcmp(logged->argv[i], line) == 0)
            n++;
    return n;
}

/* ---------------------------------------------------------------- */

/* test_encode - Postfix's attributes in Postfix's order */
static void test_encode(void **state)
{
    struct smtpd_policy_attrs a = {
        .protocol_state = "RCPT",
        .protocol_name = "ESMTP",
        .client_address = "192.0.2.1",
        .client_name = "c.example",
        .client_port = "4711",
        .reverse_client_name = "c.example",
        .server_address = "127.0.0.1",
        .server_port = "25",
        .helo_name = "evil\nrequest=x",
        .sender = "s@example.org",
        .recipient = "r@example.test",
        .queue_id = "ABC",
        .instance = "1.2.3.0",
        .size = 12345,
        .sasl_username = "joe",
        .policy_context = "ctx",
    };
    struct buf out = BUF_INIT;

    (void) state;
    smtpd_policy_encode(&a, &out);
    assert_string_equal(buf_str(&out), "request=smtpd_access_policy\n"
                                       "protocol_state=RCPT\n"
                                       "protocol_name=ESMTP\n"
                                       "client_address=192.0.2.1\n"
                                       "client_name=c.example\n"
                                       "client_port=4711\n"
                                       "reverse_client_name=c.example\n"
                                       "server_address=127.0.0.1\n"
                                       "server_port=25\n"
                                       "helo_name=evil request=x\n"
                                       "sender=s@example.org\n"
                                       "recipient=r@example.test\n"
                                       "recipient_count=0\n"
                                       "queue_id=ABC\n"
                                       "instance=1.2.3.0\n"
                                       "size=12345\n"
                                       "etrn_domain=\n"
                                       "stress=\n"
                                       "sasl_method=\n"
                                       "sasl_username=joe\n"
                                       "sasl_sender=\n"
                                       "ccert_subject=\n"
                                       "ccert_issuer=\n"
                                       "ccert_fingerprint=\n"
                                       "ccert_pubkey_fingerprint=\n"
                                       "encryption_protocol=\n"
                                       "encryption_cipher=\n"
                                       "encryption_keysize=0\n"
                                       "policy_context=ctx\n"
                                       "\n");
    buf_fini(&out);
}

/* parse - smtpd_policy_reply_parse over TEXT; ACTION / WHY out */
static int parse(const char *text, size_t len, size_t *used, struct buf *action,
                 struct buf *why)
{
    buf_reset(why);
    return smtpd_policy_reply_parse(text, len, used, action, why);
}

/* test_reply_parse - good answers, partial ones and hostile ones */
static void test_reply_parse(void **state)
{
    struct buf action = BUF_INIT;
    struct buf why = BUF_INIT;
    struct buf big = BUF_INIT;
    size_t used = 0;
    const char *t;

    (void) state;
    t = "action=REJECT no = way\n\nnext";
    assert_int_equal(parse(t, strlen(t), &used, &action, &why), 1);
    assert_string_equal(buf_str(&action), "REJECT no = way");
    assert_int_equal(used, strlen(t) - 4);
    t = "other=1\r\naction=OK\r\n\r\n";
    assert_int_equal(parse(t, strlen(t), &used, &action, &why), 1);
    assert_string_equal(buf_str(&action), "OK");
    /* Not complete yet: no empty line, or no line end. */
    t = "action=OK\n";
    assert_int_equal(parse(t, strlen(t), &used, &action, &why), 0);
    t = "action=OK";
    assert_int_equal(parse(t, strlen(t), &used, &action, &why), 0);
    assert_int_equal(parse("", 0, &used, &action, &why), 0);
    /* No action. */
    t = "foo=bar\n\n";
    assert_int_equal(parse(t, strlen(t), &used, &action, &why), -1);
    assert_string_equal(buf_str(&why), "missing attribute action");
    t = "\n";
    assert_int_equal(parse(t, strlen(t), &used, &action, &why), -1);
    /* Garbage. */
    t = "garbage\n\n";
    assert_int_equal(parse(t, strlen(t), &used, &action, &why), -1);
    assert_string_equal(buf_str(&why), "malformed attribute line");
    t = "=x\n\n";
    assert_int_equal(parse(t, strlen(t), &used, &action, &why), -1);
    assert_int_equal(parse("action=O\0K\n\n", 12, &used, &action, &why), -1);
    assert_string_equal(buf_str(&why), "NUL byte");
    /* Overlong lines: complete or still coming. */
    buf_set(&big, "action=REJECT ");
    while (buf_len(&big) <= SMTPD_POLICY_LINE_MAX)
        buf_cat(&big, "xxxxxxxxxxxxxxxx");
    assert_int_equal(parse(buf_str(&big), buf_len(&big), &used, &action, &why),
                     -1);
    assert_string_equal(buf_str(&why), "attribute line too long");
    buf_cat(&big, "\n\n");
    assert_int_equal(parse(buf_str(&big), buf_len(&big), &used, &action, &why),
                     -1);
    /* A line as long as Postfix takes (10000 bytes) is fine. */
    buf_set(&big, "action=REJECT ");
    for (int i = 0; i < 1000; i++)
        buf_cat(&big, "xxxxxxxxxx");
    buf_cat(&big, "\n\n");
    assert_int_equal(parse(buf_str(&big), buf_len(&big), &used, &action, &why),
                     1);
    assert_int_equal(buf_len(&action), 10007);
    /* Too many lines. */
    buf_reset(&big);
    for (int i = 0; i <= SMTPD_POLICY_ATTRS_MAX; i++)
        buf_cat(&big, "a=b\n");
    buf_cat(&big, "action=OK\n\n");
    assert_int_equal(parse(buf_str(&big), buf_len(&big), &used, &action, &why),
                     -1);
    assert_string_equal(buf_str(&why), "too many attributes");
    /* Too much in all. */
    buf_reset(&big);
    while (buf_len(&big) <= SMTPD_POLICY_REPLY_MAX)
        buf_cat(&big, "a=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n");
    assert_int_equal(parse(buf_str(&big), buf_len(&big), &used, &action, &why),
                     -1);
    assert_string_equal(buf_str(&why), "reply too long");
    buf_fini(&action);
    buf_fini(&why);
    buf_fini(&big);
}

/* test_conf - endpoints, "{ ... }" settings, errors */
static void test_conf(void **state)
{
    struct smtpd_policy_conf pc;
    struct buf why = BUF_INIT;

    (void) state;
    assert_int_equal(smtpd_policy_conf_parse("inet:127.0.0.1:10023", &pc, &why),
                     0);
    assert_string_equal(pc.endpoint, "inet:127.0.0.1:10023");
    assert_int_equal(pc.timeout_ms, 100000);
    assert_int_equal(pc.max_idle_ms, 300000);
    assert_int_equal(pc.max_ttl_ms, 1000000);
    assert_int_equal(pc.retry_delay_ms, 1000);
    assert_int_equal(pc.try_limit, 2);
    assert_int_equal(pc.request_limit, 0);
    assert_string_equal(pc.default_action,
                        "451 4.3.5 Server configuration problem");
    assert_string_equal(pc.policy_context, "");
    smtpd_policy_conf_fini(&pc);
    assert_int_equal(
        smtpd_policy_conf_parse(
            "{ unix:private/policy, timeout=10s, max_idle = 1m, max_ttl=2h,"
            " retry_delay=3, try_limit=5, request_limit=7, "
            "default_action = { 450 4.7.1 try, later }, policy_context=c1 }",
            &pc, &why),
        0);
    assert_string_equal(pc.endpoint, "unix:private/policy");
    assert_int_equal(pc.timeout_ms, 10000);
    assert_int_equal(pc.max_idle_ms, 60000);
    assert_int_equal(pc.max_ttl_ms, 7200000);
    assert_int_equal(pc.retry_delay_ms, 3000);
    assert_int_equal(pc.try_limit, 5);
    assert_int_equal(pc.request_limit, 7);
    assert_string_equal(pc.default_action, "450 4.7.1 try, later");
    assert_string_equal(pc.policy_context, "c1");
    smtpd_policy_conf_fini(&pc);
    assert_int_equal(
        smtpd_policy_conf_parse("{ inet:h:1, timeout=x }", &pc, &why), -1);
    assert_string_equal(buf_str(&why), "bad time value in \"timeout=x\"");
    assert_int_equal(
        smtpd_policy_conf_parse("{ inet:h:1, color=red }", &pc, &why), -1);
    assert_int_equal(
        smtpd_policy_conf_parse("{ inet:h:1, try_limit }", &pc, &why), -1);
    assert_int_equal(smtpd_policy_conf_parse("{ inet:h:1", &pc, &why), -1);
    assert_int_equal(smtpd_policy_conf_parse("{ }", &pc, &why), -1);
    assert_int_equal(smtpd_policy_conf_parse("{ timeout=1 }", &pc, &why), -1);
    assert_int_equal(smtpd_policy_conf_parse("tcp:h:1", &pc, &why), -1);
    assert_string_equal(buf_str(&why),
                        "unsupported policy server type in \"tcp:h:1\"");
    buf_fini(&why);
}

/* spec - a service on the test server with SETTINGS */
static const char *spec(const char *settings)
{
    static char text[512];

    snprintf(text, sizeof(text), "{ unix:%s, retry_delay=1s%s }", sockpath,
             settings);
    return text;
}

/* test_client_reuse - answers in order on one connection; request_limit
 * makes a new one */
static void test_client_reuse(void **state)
{
    struct smtpd_policy *p = smtpd_policy_open(lp);
    struct result r1 = {0}, r2 = {0}, r3 = {0};

    (void) state;
    mode = SRV_ANSWER;
    conns = 0;
    server_start();
    smtpd_policy_request(p, spec(""), "a=1\n\n", cb, &r1);
    smtpd_policy_request(p, spec(""), "a=2\n\n", cb, &r2);
    /* Callbacks run from the loop only. */
    assert_int_equal(r1.calls, 0);
    assert_true(run(2, 5000));
    assert_string_equal(r1.action, "DUNNO conn=1 req=1");
    assert_string_equal(r2.action, "DUNNO conn=1 req=2");
    assert_string_equal(seen->argv[0], "a=1\n\n");
    assert_string_equal(seen->argv[1], "a=2\n\n");
    smtpd_policy_request(p, spec(""), "a=3\n\n", cb, &r3);
    assert_true(run(1, 5000));
    assert_string_equal(r3.action, "DUNNO conn=1 req=3");
    /* Another service (here: the same server with request_limit=1). */
    smtpd_policy_request(p, spec(", request_limit=1"), "a=4\n\n", cb, &r1);
    assert_true(run(1, 5000));
    assert_string_equal(r1.action, "DUNNO conn=2 req=1");
    smtpd_policy_request(p, spec(", request_limit=1"), "a=5\n\n", cb, &r1);
    assert_true(run(1, 5000));
    assert_string_equal(r1.action, "DUNNO conn=3 req=1");
    assert_int_equal(logged->argc, 0);
    /* max_idle: an idle connection is closed after it; max_ttl: one is
     * not used after it (the next request gets a new one). */
    smtpd_policy_request(p, spec(", max_idle=1s"), "a=7\n\n", cb, &r1);
    assert_true(run(1, 5000));
    assert_string_equal(r1.action, "DUNNO conn=4 req=1");
    smtpd_policy_request(p, spec(", max_idle=1s"), "a=8\n\n", cb, &r1);
    assert_true(run(1, 5000));
    assert_string_equal(r1.action, "DUNNO conn=4 req=2");
    assert_false(run(1, 1300));
    smtpd_policy_request(p, spec(", max_idle=1s"), "a=9\n\n", cb, &r1);
    assert_true(run(1, 5000));
    assert_string_equal(r1.action, "DUNNO conn=5 req=1");
    smtpd_policy_request(p, spec(", max_ttl=1s"), "a=10\n\n", cb, &r1);
    assert_true(run(1, 5000));
    assert_string_equal(r1.action, "DUNNO conn=6 req=1");
    assert_false(run(1, 1100));
    smtpd_policy_request(p, spec(", max_ttl=1s"), "a=11\n\n", cb, &r1);
    assert_true(run(1, 5000));
    assert_string_equal(r1.action, "DUNNO conn=7 req=1");
    /* A service that does not parse: main.cf's default action, from the
     * loop, with a warning. */
    r2.calls = 0;
    smtpd_policy_request(p, "{ inet:h:1, color=red }", "a=6\n\n", cb, &r2);
    assert_int_equal(r2.calls, 0);
    assert_true(run(1, 5000));
    assert_string_equal(r2.action, "451 4.3.5 Server configuration problem");
    assert_string_equal(logged->argv[0],
                        "warning: check_policy_service: unknown policy "
                        "service attribute in \"color=red\"");
    /* ... and one cancelled never answers. */
    smtpd_policy_cancel(p, smtpd_policy_request(p, "{ x }", "", cb, &r2));
    assert_false(run(1, 200));
    assert_int_equal(r2.calls, 1);
    smtpd_policy_close(p);
}

/* test_client_failures - refused, silent, closed, no action */
static void test_client_failures(void **state)
{
    struct smtpd_policy *p = smtpd_policy_open(lp);
    struct result r = {0};
    char line[300];

    (void) state;
    /* Nobody listens: two attempts, Postfix's warnings, the default. */
    unlink(sockpath);
    smtpd_policy_request(p, spec(", default_action=DUNNO"), "a=1\n\n", cb, &r);
    assert_true(run(1, 5000));
    assert_string_equal(r.action, "DUNNO");
    snprintf(line, sizeof(line),
             "warning: connect to %s: No such file or directory", sockpath);
    assert_int_equal(logged_count(line), 2);
    snprintf(line, sizeof(line),
             "warning: problem talking to server %s: No such file or "
             "directory",
             sockpath);
    assert_int_equal(logged_count(line), 1);
    /* A server that does not answer within the time limit. */
    server_start();
    mode = SRV_SILENT;
    argv_truncate(logged, 0);
    smtpd_policy_request(p, spec(", timeout=1s, try_limit=1"), "a=1\n\n", cb,
                         &r);
    assert_true(run(1, 5000));
    assert_string_equal(r.action, "451 4.3.5 Server configuration problem");
    snprintf(line, sizeof(line),
             "warning: problem talking to server %s: Connection timed out",
             sockpath);
    assert_int_equal(logged_count(line), 1);
    /* No action: not tried again. */
    mode = SRV_NOACTION;
    argv_truncate(logged, 0);
    smtpd_policy_request(p, spec(""), "a=1\n\n", cb, &r);
    assert_true(run(1, 5000));
    assert_string_equal(r.action, "451 4.3.5 Server configuration problem");
    snprintf(line, sizeof(line),
             "warning: missing attribute action in input from %s", sockpath);
    assert_int_equal(logged_count(line), 1);
    snprintf(line, sizeof(line),
             "warning: problem talking to server %s: Application error",
             sockpath);
    assert_int_equal(logged_count(line), 1);
    /* Closed before the answer. */
    mode = SRV_CLOSE;
    argv_truncate(logged, 0);
    smtpd_policy_request(p, spec(", default_action=OK"), "a=1\n\n", cb, &r);
    assert_true(run(1, 5000));
    assert_string_equal(r.action, "OK");
    assert_int_equal(logged_count(line), 1);
    smtpd_policy_close(p);
}

/* test_client_stale_and_cancel - a reused connection the server closed
 * is replaced silently; a cancelled request's callback never runs */
static void test_client_stale_and_cancel(void **state)
{
    struct smtpd_policy *p = smtpd_policy_open(lp);
    struct result r1 = {0}, r2 = {0};
    uint32_t id;

    (void) state;
    mode = SRV_ANSWER;
    conns = 0;
    server_start();
    smtpd_policy_request(p, spec(""), "a=1\n\n", cb, &r1);
    assert_true(run(1, 5000));
    /* The server drops the idle connection; the client may not have seen
     * it yet when the next request goes out. */
    for (int i = 0; i < 16; i++)
        if (open_conns[i])
            shutdown(open_conns[i]->fd, SHUT_RDWR);
    smtpd_policy_request(p, spec(""), "a=2\n\n", cb, &r1);
    assert_true(run(1, 5000));
    assert_string_equal(r1.action, "DUNNO conn=2 req=1");
    assert_int_equal(logged->argc, 0);
    /* Cancel one queued behind another, and one on the wire. */
    smtpd_policy_request(p, spec(""), "a=3\n\n", cb, &r1);
    id = smtpd_policy_request(p, spec(""), "a=4\n\n", cb, &r2);
    smtpd_policy_cancel(p, id);
    assert_true(run(1, 5000));
    assert_false(run(1, 300));
    assert_int_equal(r2.calls, 0);
    mode = SRV_SILENT;
    id = smtpd_policy_request(p, spec(""), "a=5\n\n", cb, &r2);
    assert_false(run(1, 200));
    smtpd_policy_cancel(p, id);
    /* Its answer comes late, and is dropped. */
    mode = SRV_ANSWER;
    for (int i = 0; i < 16; i++)
        if (open_conns[i])
            assert_int_equal(write(open_conns[i]->fd, "action=LATE\n\n", 13),
                             13);
    assert_false(run(1, 300));
    assert_int_equal(r2.calls, 0);
    /* The connection stays in step: the next answer is its own. */
    smtpd_policy_request(p, spec(""), "a=6\n\n", cb, &r1);
    assert_true(run(1, 5000));
    assert_string_equal(seen->argv[seen->argc - 1], "a=6\n\n");
    assert_string_equal(r1.action, "DUNNO conn=2 req=4");
    smtpd_policy_close(p);
}

/* setup - a loop, a log, a socket path per test */
static int setup(void **state)
{
    (void) state;
    lp = loop_new();
    logged = argv_new();
    seen = argv_new();
    total_calls = 0;
    return 0;
}

/* teardown - free them, the server too */
static int teardown(void **state)
{
    (void) state;
    for (int i = 0; i < 16; i++)
        if (open_conns[i])
            conn_drop(open_conns[i]);
    loop_ev_free(listen_ev);
    listen_ev = NULL;
    if (listen_fd >= 0)
        close(listen_fd);
    listen_fd = -1;
    unlink(sockpath);
    loop_free(lp);
    argv_free(logged);
    argv_free(seen);
    return 0;
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_reply_parse),
        cmocka_unit_test(test_conf),
        cmocka_unit_test_setup_teardown(test_client_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_stale_and_cancel, setup,
                                        teardown),
    };
    int rc;

    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(sockpath, sizeof(sockpath), "%s/policy", dir);
    conf_defaults_only(true);
    msg_output_stderr(false);
    msg_output_add(capture);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(sockpath);
    rmdir(dir);
    return rc;
}
