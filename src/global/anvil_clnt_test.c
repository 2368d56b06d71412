/* anvil_clnt_test - the client against a real peer: a socketpair (or a
 * listening socket) whose other end this test plays as anvil. */
#include "global/anvil_clnt.h"
#include "lib/argv.h"
#include "lib/ipc.h"
#include "lib/loop.h"
#include "lib/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* What the callbacks saw. */
struct result {
    int calls;
    int status;
    unsigned count;
    unsigned rate;
};

static struct loop *lp;
static struct argv *logged;
static int want_calls; /* stop the loop when this many callbacks ran */
static int total_calls;
static struct anvil_clnt *closing_clnt; /* cb_close closes it */

/* capture - warnings into LOGGED */
static void capture(enum msg_level level, const char *text)
{
    char line[MSG_LINE_MAX + 16];

    snprintf(line, sizeof(line), "%s%s", msg_prefix(level), text);
    argv_add(logged, line);
}

/* cb - anvil_clnt_fn: note the result */
static void cb(void *arg, int status, unsigned count, unsigned rate)
{
    struct result *r = arg;

    r->calls++;
    r->status = status;
    r->count = count;
    r->rate = rate;
    if (++total_calls >= want_calls)
        loop_stop(lp);
}

/* cb_close - a callback that closes the client */
static void cb_close(void *arg, int status, unsigned count, unsigned rate)
{
    cb(arg, status, count, rate);
    anvil_clnt_close(closing_clnt);
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

/* peer_read - one request at the peer end */
static uint32_t peer_read(int fd, struct ipc_anvil_req *req)
{
    struct buf in = BUF_INIT;
    struct buf why = BUF_INIT;
    struct ipc_frame f;
    int pfd = -1;
    uint32_t id;

    assert_int_equal(ipc_recv(fd, &in, &f, &pfd, 2000, &why), 1);
    assert_int_equal(ipc_anvil_req_decode(&f, req, &why), 0);
    id = f.request_id;
    buf_fini(&in);
    buf_fini(&why);
    return id;
}

/* peer_reply - the peer's answer to request ID */
static void peer_reply(int fd, uint32_t id, int status, int count, int rate)
{
    struct ipc_anvil_reply rep = {
        .status = status, .count = count, .rate = rate};
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;

    assert_int_equal(ipc_anvil_reply_encode(&rep, id, &out, &why), 0);
    assert_int_equal(
        ipc_send(fd, span_make(buf_str(&out), buf_len(&out)), -1, 2000, &why),
        0);
    buf_fini(&out);
    buf_fini(&why);
}

/* pair - a connected socketpair */
static void pair(int sp[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
}

/* setup - a loop and a log per test */
static int setup(void **state)
{
    (void) state;
    lp = loop_new();
    logged = argv_new();
    total_calls = 0;
    return 0;
}

/* teardown - free them */
static int teardown(void **state)
{
    (void) state;
    loop_free(lp);
    argv_free(logged);
    return 0;
}

/* test_reply - a request goes out as an anvil_req, its answer comes back
 * through the loop, never inside the call */
static void test_reply(void **state)
{
    struct result r = {0};
    struct ipc_anvil_req req;
    struct anvil_clnt *c;
    uint32_t id, got;
    int sp[2];

    (void) state;
    pair(sp);
    c = anvil_clnt_open_fd(lp, "smtp", sp[0]);
    id = anvil_clnt_connect(c, "192.0.2.1", cb, &r);
    assert_true(id != 0);
    assert_int_equal(r.calls, 0);
    assert_int_equal(anvil_clnt_pending(c), 1);
    got = peer_read(sp[1], &req);
    assert_int_equal(got, id);
    assert_int_equal(req.op, IPC_ANVIL_CONNECT);
    assert_string_equal(req.service, "smtp");
    assert_string_equal(req.client, "192.0.2.1");
    ipc_anvil_req_fini(&req);
    peer_reply(sp[1], got, IPC_REPLY_OK, 3, 5);
    assert_true(run(1, 2000));
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, ANVIL_CLNT_OK);
    assert_int_equal(r.count, 3);
    assert_int_equal(r.rate, 5);
    assert_int_equal(anvil_clnt_pending(c), 0);
    /* every op by its name */
    anvil_clnt_message(c, "192.0.2.1", cb, &r);
    anvil_clnt_recipient(c, "192.0.2.1", cb, &r);
    anvil_clnt_newtls(c, "192.0.2.1", cb, &r);
    anvil_clnt_newtls_report(c, "192.0.2.1", cb, &r);
    anvil_clnt_auth(c, "192.0.2.1", cb, &r);
    assert_int_equal(anvil_clnt_disconnect(c, "192.0.2.1", NULL, NULL), 0);
    for (int op = IPC_ANVIL_MESSAGE; op <= IPC_ANVIL_AUTH; op++) {
        got = peer_read(sp[1], &req);
        assert_int_equal(req.op, op);
        ipc_anvil_req_fini(&req);
        peer_reply(sp[1], got, IPC_REPLY_OK, 0, op);
    }
    got = peer_read(sp[1], &req);
    assert_int_equal(req.op, IPC_ANVIL_DISCONNECT);
    ipc_anvil_req_fini(&req);
    peer_reply(sp[1], got, IPC_REPLY_OK, 0, 0); /* nobody waits for it */
    assert_true(run(5, 2000));
    assert_int_equal(r.calls, 6);
    assert_int_equal(r.rate, IPC_ANVIL_AUTH);
    assert_int_equal(anvil_clnt_pending(c), 0);
    anvil_clnt_close(c);
    close(sp[1]);
    assert_int_equal(logged->argc, 0);
}

/* test_cancel - a cancelled request's callback never runs, the others
 * get their own answers in order; cancelling again is harmless */
static void test_cancel(void **state)
{
    struct result a = {0}, b = {0}, d = {0};
    struct ipc_anvil_req req;
    struct anvil_clnt *c;
    uint32_t ia, ib, id, got[3];
    int sp[2];

    (void) state;
    pair(sp);
    c = anvil_clnt_open_fd(lp, "smtp", sp[0]);
    ia = anvil_clnt_connect(c, "192.0.2.1", cb, &a);
    ib = anvil_clnt_connect(c, "192.0.2.2", cb, &b);
    id = anvil_clnt_connect(c, "192.0.2.3", cb, &d);
    assert_true(ia != ib && ib != id);
    anvil_clnt_cancel(c, ib);
    anvil_clnt_cancel(c, ib);
    anvil_clnt_cancel(c, 12345);
    assert_int_equal(anvil_clnt_pending(c), 2);
    for (int i = 0; i < 3; i++) {
        got[i] = peer_read(sp[1], &req);
        ipc_anvil_req_fini(&req);
    }
    for (int i = 0; i < 3; i++)
        peer_reply(sp[1], got[i], IPC_REPLY_OK, i + 1, 0);
    assert_true(run(2, 2000));
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.count, 1);
    assert_int_equal(b.calls, 0);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.count, 3);
    anvil_clnt_cancel(c, ia); /* ran already: nothing */
    anvil_clnt_close(c);
    close(sp[1]);
}

/* test_timeout - anvil that does not answer: the callback fails after
 * the time limit, one warning, and a stream that cannot come back fails
 * the next request too (from the loop) */
static void test_timeout(void **state)
{
    struct result r = {0}, r2 = {0};
    struct ipc_anvil_req req;
    struct anvil_clnt *c;
    struct timespec t0, t1;
    long ms;
    int sp[2];

    (void) state;
    pair(sp);
    c = anvil_clnt_open_fd(lp, "smtp", sp[0]);
    anvil_clnt_set_timeout(c, 150);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    anvil_clnt_connect(c, "192.0.2.1", cb, &r);
    (void) peer_read(sp[1], &req);
    ipc_anvil_req_fini(&req);
    assert_true(run(1, 3000));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, ANVIL_CLNT_FAIL);
    assert_true(ms >= 140 && ms < 2000);
    assert_int_equal(logged->argc, 1);
    assert_string_equal(logged->argv[0],
                        "warning: anvil: stream: no answer within 150 ms");
    anvil_clnt_connect(c, "192.0.2.1", cb, &r2);
    assert_int_equal(r2.calls, 0); /* not inside the call */
    assert_true(run(1, 2000));
    assert_int_equal(r2.status, ANVIL_CLNT_FAIL);
    assert_int_equal(logged->argc, 1); /* warned once */
    anvil_clnt_close(c);
    close(sp[1]);
}

/* test_peer_goes - end of file or a refusal fail the requests */
static void test_peer_goes(void **state)
{
    struct result r = {0}, r2 = {0}, r3 = {0};
    struct ipc_anvil_req req;
    struct anvil_clnt *c;
    uint32_t got;
    int sp[2];

    (void) state;
    pair(sp);
    c = anvil_clnt_open_fd(lp, "smtp", sp[0]);
    anvil_clnt_connect(c, "192.0.2.1", cb, &r);
    got = peer_read(sp[1], &req);
    ipc_anvil_req_fini(&req);
    peer_reply(sp[1], got, IPC_REPLY_TEMPFAIL, 0, 0);
    assert_true(run(1, 2000));
    assert_int_equal(r.status, ANVIL_CLNT_FAIL);
    assert_int_equal(logged->argc, 0); /* anvil answered: no warning */
    anvil_clnt_connect(c, "192.0.2.1", cb, &r2);
    anvil_clnt_message(c, "192.0.2.1", cb, &r3);
    for (int i = 0; i < 2; i++) {
        (void) peer_read(sp[1], &req);
        ipc_anvil_req_fini(&req);
    }
    close(sp[1]);
    assert_true(run(2, 2000));
    assert_int_equal(r2.status, ANVIL_CLNT_FAIL);
    assert_int_equal(r3.status, ANVIL_CLNT_FAIL);
    assert_int_equal(logged->argc, 1);
    assert_string_equal(logged->argv[0],
                        "warning: anvil: stream: connection closed by anvil");
    anvil_clnt_close(c);
}

/* test_garbage - a reply that is no anvil_reply breaks the stream */
static void test_garbage(void **state)
{
    struct result r = {0};
    struct ipc_anvil_req req;
    struct anvil_clnt *c;
    struct buf out = BUF_INIT, why = BUF_INIT;
    struct ipc_reply rep = {.status = 0};
    uint32_t got;
    int sp[2];

    (void) state;
    pair(sp);
    c = anvil_clnt_open_fd(lp, "smtp", sp[0]);
    anvil_clnt_connect(c, "192.0.2.1", cb, &r);
    got = peer_read(sp[1], &req);
    ipc_anvil_req_fini(&req);
    assert_int_equal(ipc_reply_encode(&rep, got, &out, &why), 0);
    assert_int_equal(ipc_send(sp[1], span_make(buf_str(&out), buf_len(&out)),
                              -1, 2000, &why),
                     0);
    assert_true(run(1, 2000));
    assert_int_equal(r.status, ANVIL_CLNT_FAIL);
    assert_int_equal(logged->argc, 1);
    assert_string_equal(logged->argv[0],
                        "warning: anvil: stream: unexpected message type 6");
    anvil_clnt_close(c);
    close(sp[1]);
    buf_fini(&out);
    buf_fini(&why);
}

/* test_reconnect - nothing listens: requests fail from the loop with one
 * warning; once anvil listens, the next request connects */
static void test_reconnect(void **state)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct result r = {0}, r2 = {0}, r3 = {0};
    struct ipc_anvil_req req;
    struct anvil_clnt *c;
    char dir[] = "/tmp/anvil_clnt_test.XXXXXX";
    char path[128], want[256];
    int lfd, conn;
    uint32_t got;

    (void) state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/anvil", dir);
    c = anvil_clnt_open_path(lp, "submission", path);
    anvil_clnt_connect(c, "192.0.2.1", cb, &r);
    anvil_clnt_connect(c, "192.0.2.1", cb, &r2);
    assert_int_equal(r.calls + r2.calls, 0);
    assert_true(run(2, 2000));
    assert_int_equal(r.status, ANVIL_CLNT_FAIL);
    assert_int_equal(r2.status, ANVIL_CLNT_FAIL);
    assert_int_equal(logged->argc, 1);
    snprintf(want, sizeof(want),
             "warning: anvil: %s: connect: No such file or directory", path);
    assert_string_equal(logged->argv[0], want);

    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memcpy(sun.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(lfd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    assert_int_equal(listen(lfd, 5), 0);
    anvil_clnt_recipient(c, "192.0.2.1", cb, &r3);
    conn = accept(lfd, NULL, NULL);
    assert_true(conn >= 0);
    got = peer_read(conn, &req);
    assert_string_equal(req.service, "submission");
    assert_int_equal(req.op, IPC_ANVIL_RECIPIENT);
    ipc_anvil_req_fini(&req);
    peer_reply(conn, got, IPC_REPLY_OK, 1, 7);
    assert_true(run(1, 2000));
    assert_int_equal(r3.status, ANVIL_CLNT_OK);
    assert_int_equal(r3.rate, 7);
    assert_int_equal(logged->argc, 1);
    anvil_clnt_close(c);
    close(conn);
    close(lfd);
    unlink(path);
    rmdir(dir);
}

/* test_close_in_callback - a callback may close the client; the other
 * answers that already arrived run no callback */
static void test_close_in_callback(void **state)
{
    struct result a = {0}, b = {0};
    struct ipc_anvil_req req;
    uint32_t got[2];
    int sp[2];

    (void) state;
    pair(sp);
    closing_clnt = anvil_clnt_open_fd(lp, "smtp", sp[0]);
    anvil_clnt_connect(closing_clnt, "192.0.2.1", cb_close, &a);
    anvil_clnt_connect(closing_clnt, "192.0.2.2", cb, &b);
    for (int i = 0; i < 2; i++) {
        got[i] = peer_read(sp[1], &req);
        ipc_anvil_req_fini(&req);
    }
    /* both answers in one write: one read event sees them both */
    peer_reply(sp[1], got[0], IPC_REPLY_OK, 1, 1);
    peer_reply(sp[1], got[1], IPC_REPLY_OK, 1, 1);
    assert_true(run(1, 2000));
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 0);
    /* nothing is left on the loop for the closed client */
    assert_false(run(1, 200));
    assert_int_equal(b.calls, 0);
    close(sp[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_goes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_in_callback, setup,
                                        teardown),
    };

    msg_output_stderr(false);
    msg_output_add(capture);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
