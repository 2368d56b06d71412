/*
 * anvil - the daemon: connections on private/anvil, each with its own
 * frame reader, output queue and anvil_tab owner (see anvil.h).
 */
#include "anvil.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/ipc.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../global/conf.h"
#include "../global/ipc_msgs.h"
#include "../global/server.h"
#include "anvil_tab.h"

_Static_assert((int) IPC_ANVIL_CONNECT == (int) ANVIL_TAB_CONNECT
                   && (int) IPC_ANVIL_DISCONNECT == (int) ANVIL_TAB_DISCONNECT
                   && (int) IPC_ANVIL_MESSAGE == (int) ANVIL_TAB_MESSAGE
                   && (int) IPC_ANVIL_RECIPIENT == (int) ANVIL_TAB_RECIPIENT
                   && (int) IPC_ANVIL_NEWTLS == (int) ANVIL_TAB_NEWTLS
                   && (int) IPC_ANVIL_NEWTLS_REPORT
                          == (int) ANVIL_TAB_NEWTLS_REPORT
                   && (int) IPC_ANVIL_AUTH == (int) ANVIL_TAB_AUTH
                   && (int) IPC_ANVIL_LOOKUP == (int) ANVIL_TAB_LOOKUP,
               "ipc_anvil_op and anvil_tab_op differ");

#define TIME_FOREVER (30L * 365 * 86400)

/* One client stream (one smtpd process). */
struct aconn {
    int fd;
    struct ipc_reader rd;
    struct buf out; /* replies not yet written */
    struct loop_ev *rev;
    struct loop_ev *wev;
    struct anvil_owner *owner;
    struct aconn *prev, *next;
};

static struct anvil {
    time_t status_due; /* the next statistics */
    struct server *srv;
    struct loop *loop;
    struct anvil_tab *tab;
    struct aconn *conns;
    struct loop_ev *status_ev; /* every anvil_status_update_time */
    struct loop_ev *expire_ev; /* every anvil_rate_time_unit */
    long unit;
    long status_time;
} a;

/* conn_close - end a client stream; its connections are taken back */
static void conn_close(struct aconn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        a.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    anvil_owner_free(a.tab, c->owner, time(NULL));
    loop_ev_free(c->rev);
    loop_ev_free(c->wev);
    close(c->fd);
    ipc_reader_fini(&c->rd);
    buf_fini(&c->out);
    mem_free(c);
    server_session_done(a.srv);
}

/* conn_flush - write what can be written; -1: the peer is gone */
static int conn_flush(struct aconn *c)
{
    if (ipc_send_some(c->fd, &c->out) < 0)
        return -1;
    if (buf_len(&c->out) > 0) {
        if (!loop_ev_armed(c->wev))
            loop_ev_arm(c->wev, -1);
    } else if (loop_ev_armed(c->wev)) {
        loop_ev_disarm(c->wev);
    }
    /* A peer that does not read its replies is not read from. */
    if (buf_len(&c->out) >= ANVIL_OUT_MAX) {
        if (loop_ev_armed(c->rev))
            loop_ev_disarm(c->rev);
    } else if (!loop_ev_armed(c->rev)) {
        loop_ev_arm(c->rev, -1);
    }
    return 0;
}

/* field_ok - a service or client as anvil takes it: 1..ANVIL_FIELD_MAX
 * printable ASCII bytes without spaces */
static bool field_ok(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > ANVIL_FIELD_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

/* op_rate - the rate a request of OP answers with */
static unsigned op_rate(int op, const struct anvil_counts *v)
{
    switch ((enum ipc_anvil_op) op) {
        case IPC_ANVIL_CONNECT:
            return v->conn_rate;
        case IPC_ANVIL_MESSAGE:
            return v->mail_rate;
        case IPC_ANVIL_RECIPIENT:
            return v->rcpt_rate;
        case IPC_ANVIL_NEWTLS:
        case IPC_ANVIL_NEWTLS_REPORT:
            return v->ntls_rate;
        case IPC_ANVIL_AUTH:
            return v->auth_rate;
        case IPC_ANVIL_DISCONNECT:
        case IPC_ANVIL_LOOKUP:
            break;
    }
    return 0;
}

/* clamp - a counter as an ipc INT */
static int32_t clamp(unsigned v)
{
    return v > INT32_MAX ? INT32_MAX : (int32_t) v;
}

/* conn_frame - one request; -1: close the stream */
static int conn_frame(struct aconn *c, const struct ipc_frame *frame)
{
    struct ipc_anvil_reply rep = {.status = IPC_REPLY_OK};
    struct ipc_anvil_req req;
    struct anvil_counts v = {0};
    struct buf why = BUF_INIT;
    struct buf ident = BUF_INIT;

    if (frame->type != ipc_anvil_req_desc.type) {
        msg_warn("unexpected message type %u", (unsigned) frame->type);
        buf_fini(&why);
        return -1;
    }
    if (ipc_anvil_req_decode(frame, &req, &why) < 0) {
        msg_warn("bad request: %s", buf_str(&why));
        buf_fini(&why);
        return -1;
    }
    if (req.op < 1 || req.op > ANVIL_TAB_OP_MAX) {
        msg_warn("request with unknown op %d", (int) req.op);
        rep.status = IPC_REPLY_FAIL;
    } else if (!field_ok(req.service) || !field_ok(req.client)) {
        msg_warn("request with a bad service or client name");
        rep.status = IPC_REPLY_FAIL;
    } else {
        buf_setf(&ident, "%s:%s", req.service, req.client);
        if (anvil_tab_event(a.tab, c->owner, (enum anvil_tab_op) req.op,
                            buf_str(&ident), time(NULL), &v)
            < 0) {
            msg_warn("table full (%d entries in use): not counting %s",
                     ANVIL_MAX_IDENTS, buf_str(&ident));
            rep.status = IPC_REPLY_TEMPFAIL;
        }
    }
    if (rep.status == IPC_REPLY_OK) {
        rep.count = clamp(v.count);
        rep.rate = clamp(op_rate(req.op, &v));
        if (req.op == IPC_ANVIL_LOOKUP) {
            rep.conn_rate = clamp(v.conn_rate);
            rep.mail_rate = clamp(v.mail_rate);
            rep.rcpt_rate = clamp(v.rcpt_rate);
            rep.ntls_rate = clamp(v.ntls_rate);
            rep.auth_rate = clamp(v.auth_rate);
        }
    }
    if (ipc_anvil_reply_encode(&rep, frame->request_id, &c->out, &why) < 0)
        msg_panic("anvil_reply: %s", buf_str(&why));
    ipc_anvil_req_fini(&req);
    buf_fini(&ident);
    buf_fini(&why);
    return 0;
}

/* conn_on_read - requests from a client stream */
static void conn_on_read(int fd, int what, void *arg)
{
    struct aconn *c = arg;
    struct buf why = BUF_INIT;
    struct ipc_frame frame;
    int pfd = -1;

    (void) fd;
    (void) what;
    while (buf_len(&c->out) < ANVIL_OUT_MAX) {
        enum ipc_read_result rr =
            ipc_reader_read(&c->rd, c->fd, &frame, &pfd, &why);

        if (pfd >= 0) {
            close(pfd); /* no request carries a descriptor */
            pfd = -1;
        }
        if (rr == IPC_READ_MORE)
            break;
        if (rr == IPC_READ_ERROR)
            msg_warn("client stream: %s", buf_str(&why));
        if (rr != IPC_READ_FRAME || conn_frame(c, &frame) < 0) {
            conn_close(c);
            buf_fini(&why);
            return;
        }
    }
    if (conn_flush(c) < 0)
        conn_close(c);
    buf_fini(&why);
}

/* conn_on_write - the peer reads again */
static void conn_on_write(int fd, int what, void *arg)
{
    struct aconn *c = arg;

    (void) fd;
    (void) what;
    if (conn_flush(c) < 0)
        conn_close(c);
}

/* on_accept - a new client stream (an smtpd process) */
static void on_accept(struct server *srv, int fd)
{
    struct aconn *c = mem_zalloc(sizeof(*c));

    (void) srv;
    c->fd = fd;
    ipc_reader_init(&c->rd);
    buf_init(&c->out, 0);
    c->owner = anvil_owner_new(a.tab);
    c->rev = loop_read(a.loop, fd, conn_on_read, c);
    c->wev = loop_write(a.loop, fd, conn_on_write, c);
    loop_ev_arm(c->rev, -1);
    c->next = a.conns;
    if (a.conns)
        a.conns->prev = c;
    a.conns = c;
}

/* log_stat - anvil_tab_report_fn: one statistics line */
static void log_stat(void *ctx, const char *text)
{
    (void) ctx;
    msg_info("%s", text);
}

/* timer_ms - SECONDS as a timer's milliseconds; a timer of more than a
 * day fires daily and waits again (no overflow for large settings) */
static long timer_ms(long seconds)
{
    return (seconds > 86400 ? 86400 : seconds) * 1000;
}

/* on_status - the periodic statistics */
static void on_status(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
    if (time(NULL) >= a.status_due) {
        anvil_tab_report(a.tab, log_stat, NULL);
        a.status_due = time(NULL) + a.status_time;
    }
    loop_ev_arm(a.status_ev, timer_ms(a.status_due - time(NULL)));
}

/* on_expire - free what nobody used for a time unit */
static void on_expire(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
    anvil_tab_expire(a.tab, time(NULL));
    loop_ev_arm(a.expire_ev, timer_ms(a.unit));
}

/* post_jail - the table and the timers */
static int post_jail(struct server *srv, struct buf *why)
{
    (void) why;
    a.srv = srv;
    a.loop = server_loop(srv);
    a.unit = conf_time("anvil_rate_time_unit");
    a.status_time = conf_time("anvil_status_update_time");
    if (a.unit < 1)
        a.unit = 1;
    if (a.status_time < 1)
        a.status_time = 1;
    /* No sum with the clock may overflow: 30 years are forever here. */
    if (a.unit > TIME_FOREVER)
        a.unit = TIME_FOREVER;
    if (a.status_time > TIME_FOREVER)
        a.status_time = TIME_FOREVER;
    a.tab = anvil_tab_new(a.unit, ANVIL_MAX_IDENTS);
    a.status_due = time(NULL) + a.status_time;
    a.status_ev = loop_timer(a.loop, on_status, NULL);
    loop_ev_arm(a.status_ev, timer_ms(a.status_time));
    a.expire_ev = loop_timer(a.loop, on_expire, NULL);
    loop_ev_arm(a.expire_ev, timer_ms(a.unit));
    return 0;
}

/* on_drain - a stop or reload: the counts are of no use to a successor,
 * and the smtpd processes reconnect to it, so end every stream now */
static void on_drain(struct server *srv)
{
    (void) srv;
    while (a.conns)
        conn_close(a.conns);
}

/* on_exit_anvil - the last statistics, then free everything */
static void on_exit_anvil(struct server *srv)
{
    (void) srv;
    while (a.conns) {
        struct aconn *c = a.conns;

        /* The loop is over: no server_session_done any more. */
        a.conns = c->next;
        anvil_owner_free(a.tab, c->owner, time(NULL));
        loop_ev_free(c->rev);
        loop_ev_free(c->wev);
        close(c->fd);
        ipc_reader_fini(&c->rd);
        buf_fini(&c->out);
        mem_free(c);
    }
    if (a.tab)
        anvil_tab_report(a.tab, log_stat, NULL);
    loop_ev_free(a.status_ev);
    loop_ev_free(a.expire_ev);
    a.status_ev = a.expire_ev = NULL;
    anvil_tab_free(a.tab);
    a.tab = NULL;
}

/* anvil_main - the anvil daemon */
int anvil_main(int argc, char **argv)
{
    static const struct server_spec spec = {
        .name = "anvil",
        .max_sessions = 0,
        .long_running = true,
        .post_jail = post_jail,
        .on_accept = on_accept,
        .on_drain = on_drain,
        .on_exit = on_exit_anvil,
    };

    return server_run(&spec, argc, argv);
}
