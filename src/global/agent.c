#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "conf.h"
#include "queue_dir.h"

/* The largest queue file an agent loads (a message above
 * message_size_limit plus its envelope never gets this far). */
#define AGENT_QFILE_MAX (512L * 1024 * 1024)

/* agent_result_set - status and reason */
void agent_result_set(struct agent_result *res, const char *status,
                      const char *fmt, ...)
{
    va_list ap;

    if (str_copy(res->status, sizeof(res->status), status) < 0)
        msg_panic("agent_result_set: bad status %s", status);
    buf_reset(&res->reason);
    va_start(ap, fmt);
    buf_vcatf(&res->reason, fmt, ap);
    va_end(ap);
}

/* round_pos - X >= 0 rounded to the nearest integer (no libm) */
static long round_pos(double x)
{
    return (long) (x + 0.5);
}

/* agent_delay_format - Postfix's delay value shape */
void agent_delay_format(double secs, struct buf *out)
{
    long v;

    if (secs < 0)
        secs = 0;
    if (secs >= 9.95) {
        buf_catf(out, "%ld", round_pos(secs));
    } else if (secs >= 0.995) {
        v = round_pos(secs * 10); /* two significant digits */
        if (v % 10 == 0)
            buf_catf(out, "%ld", v / 10);
        else
            buf_catf(out, "%ld.%ld", v / 10, v % 10);
    } else {
        v = round_pos(secs * 100);
        if (v == 0)
            buf_cat(out, "0");
        else if (v % 10 == 0)
            buf_catf(out, "0.%ld", v / 10);
        else
            buf_catf(out, "0.%02ld", v);
    }
}

/* agent_nexthop_text - "X.Y.Z text" or "text" */
void agent_nexthop_text(const char *nexthop, const char *default_dsn,
                        const char *empty_text, struct agent_result *res)
{
    const char *sp = strchr(nexthop, ' ');
    const char *text = nexthop;
    char code[DSN_STATUS_SIZE];
    struct buf why = BUF_INIT;

    str_copy(code, sizeof(code), default_dsn);
    if (sp && (size_t) (sp - nexthop) < sizeof(code)
        && dsn_status_check(span_make(nexthop, (size_t) (sp - nexthop)), &why)
               == 0) {
        text = sp + 1;
        while (*text == ' ')
            text++;
        if (nexthop[0] == default_dsn[0]) {
            memcpy(code, nexthop, (size_t) (sp - nexthop));
            code[sp - nexthop] = 0;
        } else {
            /* Postfix keeps the class of the service and says so. */
            msg_warn("ignoring dsn code \"%.*s\"", (int) (sp - nexthop),
                     nexthop);
        }
    }
    buf_fini(&why);
    agent_result_set(res, code, "%s", *text ? text : empty_text);
}

/* agent_sanitize - printable, capped */
void agent_sanitize(const char *text, struct buf *out)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if (++n > 1000) {
            buf_cat(out, "...");
            return;
        }
        buf_catc(out, (*p >= 0x20 && *p < 0x7f) ? *p : '?');
    }
}

/* src_next - deliver_src over the queue file's content records */
static int src_next(void *ctx, struct deliver_line *out, struct buf *why)
{
    struct agent_src *as = ctx;
    struct span piece;
    bool more;

    (void) why;
    if (queue_content_piece(&as->c, &piece, &more) == 0)
        return 0;
    out->text = piece;
    out->more = more;
    return 1;
}

/* agent_src_init - the content as a deliver_src */
void agent_src_init(struct agent_src *as, struct agent_msg *m,
                    struct deliver_src *src)
{
    queue_content_init(&as->c, span_make(buf_str(&m->data), buf_len(&m->data)),
                       &m->env);
    src->next = src_next;
    src->ctx = as;
}

/* tv_diff - B - A in seconds */
static double tv_diff(struct timeval a, struct timeval b)
{
    return (double) (b.tv_sec - a.tv_sec)
           + (double) (b.tv_usec - a.tv_usec) / 1e6;
}

/* agent_log_delivery - Postfix's delivery line */
void agent_log_delivery(const struct agent_msg *m, const char *relay,
                        const struct ipc_rcpt *rcpt, const struct dsn *d,
                        const struct timeval *conn_done)
{
    struct buf line = BUF_INIT;
    struct timeval arrival, active, now, setup;

    gettimeofday(&now, NULL);
    arrival.tv_sec = (time_t) m->req.arrival_time;
    arrival.tv_usec = m->req.arrival_usec;
    if (m->req.active_usec) {
        active.tv_sec = (time_t) (m->req.active_usec / 1000000);
        active.tv_usec = (suseconds_t) (m->req.active_usec % 1000000);
    } else {
        active = m->t_recv;
    }
    setup = conn_done ? *conn_done : m->t_recv;
    buf_catf(&line, "%s: to=<", m->req.queue_id);
    agent_sanitize(rcpt->address, &line);
    buf_cat(&line, ">");
    if (rcpt->orig_rcpt && strcmp(rcpt->orig_rcpt, rcpt->address) != 0) {
        buf_cat(&line, ", orig_to=<");
        agent_sanitize(rcpt->orig_rcpt, &line);
        buf_cat(&line, ">");
    }
    buf_catf(&line, ", relay=%s, delay=", relay);
    agent_delay_format(tv_diff(arrival, now), &line);
    buf_cat(&line, ", delays=");
    agent_delay_format(tv_diff(arrival, active), &line);
    buf_cat(&line, "/");
    agent_delay_format(tv_diff(active, m->t_recv), &line);
    buf_cat(&line, "/");
    agent_delay_format(tv_diff(m->t_recv, setup), &line);
    buf_cat(&line, "/");
    agent_delay_format(tv_diff(setup, now), &line);
    buf_cat(&line, ", ");
    dsn_log(d, &line);
    msg_info("%s", buf_str(&line));
    buf_fini(&line);
}

/* agent_status_frame - log one outcome and encode its deliver_status */
int agent_status_frame(const struct agent_msg *m, const char *relay,
                       const struct ipc_rcpt *rcpt,
                       const struct agent_result *res,
                       const struct agent_status_extra *x, struct buf *out)
{
    struct ipc_deliver_status st = {0};
    struct buf clean = BUF_INIT;
    struct buf why = BUF_INIT;
    struct dsn d;
    enum dsn_action action;
    int rc;

    if (m->req.flags & IPC_DELIVER_F_VERIFY)
        action = res->status[0] == '2' ? DSN_ACTION_DELIVERABLE
                                       : DSN_ACTION_UNDELIVERABLE;
    else if (res->status[0] == '2')
        action = DSN_ACTION_DELIVERED;
    else if (res->status[0] == '4')
        action = DSN_ACTION_DELAYED;
    else
        action = DSN_ACTION_FAILED;
    agent_sanitize(buf_str(&res->reason), &clean);
    if (dsn_init(&d, res->status, action, buf_str(&clean), &why) < 0) {
        msg_warn("%s: bad delivery status %s: %s", m->req.queue_id, res->status,
                 buf_str(&why));
        if (dsn_init(&d, "4.3.0", DSN_ACTION_DELAYED, buf_str(&clean), &why)
            < 0)
            msg_panic("agent_status_frame: %s", buf_str(&why));
    }
    if (x) {
        d.remote_mta = x->remote_mta;
        d.diag_code = x->diag_code;
    }
    if (!res->quiet)
        agent_log_delivery(m, relay, rcpt, &d, x ? x->conn_done : NULL);
    dsn_to_status(&d, &st);
    st.offset = rcpt->offset;
    st.relay = (char *) relay;
    st.done = x && x->last ? 1 : 0;
    st.dest_fail = x && x->last && x->dest_fail ? 1 : 0;
    rc = ipc_deliver_status_encode(&st, m->request_id, out, &why);
    if (rc < 0)
        msg_warn("%s: cannot encode the status of <%s>: %s", m->req.queue_id,
                 rcpt->address, buf_str(&why));
    buf_fini(&clean);
    buf_fini(&why);
    return rc;
}

/* reply - log and send one deliver_status; -1 when the qmgr is gone */
static int reply(int fd, struct agent_msg *m, const char *relay,
                 const struct ipc_rcpt *rcpt, struct agent_result *res,
                 bool last)
{
    struct agent_status_extra x = {.last = last};
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    int rc;

    rc = agent_status_frame(m, relay, rcpt, res, &x, &out);
    if (rc == 0)
        rc = ipc_send(fd, span_make(buf_str(&out), buf_len(&out)), -1,
                      AGENT_REQ_TIMEOUT * 1000, &why);
    if (rc < 0)
        msg_warn("%s: cannot send the status of <%s> to the queue manager: "
                 "%s",
                 m->req.queue_id, rcpt->address, buf_str(&why));
    buf_fini(&out);
    buf_fini(&why);
    return rc;
}

/* agent_msg_load - load and parse the request's queue file */
int agent_msg_load(struct agent_msg *m, struct buf *why)
{
    struct queue_dir qd;
    enum queue_folder f;
    struct buf path = BUF_INIT;
    int fd = -1;
    int rc = -1;

    if (queue_dir_init_conf(&qd, why) < 0)
        return -1;
    if (queue_folder_lookup(m->req.queue_name, &f) < 0) {
        buf_setf(why, "unknown queue name: %s", m->req.queue_name);
    } else if (queue_dir_path(&qd, f, m->req.queue_id, &path, why) == 0) {
        switch (queue_file_read(buf_str(&path), O_RDONLY, AGENT_QFILE_MAX, &fd,
                                &m->data, &m->env, why)) {
            case QUEUE_READ_OK:
                close(fd);
                rc = 0;
                break;
            case QUEUE_READ_GONE:
                buf_setf(why, "queue file %s is gone", buf_str(&path));
                break;
            case QUEUE_READ_CORRUPT:
            case QUEUE_READ_ERROR: {
                struct buf tmp = BUF_INIT;

                buf_setf(&tmp, "queue file %s: %s", buf_str(&path),
                         buf_str(why));
                buf_set(why, buf_str(&tmp));
                buf_fini(&tmp);
                break;
            }
        }
    }
    buf_fini(&path);
    queue_dir_fini(&qd);
    return rc;
}

/* pass_connect - a stream connection to private/TRANSPORT; -1 (WHY) */
static int pass_connect(const char *transport, struct buf *why)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct buf path = BUF_INIT;
    int fd = -1;

    if (strchr(transport, '/') || *transport == 0 || *transport == '.') {
        buf_setf(why, "bad transport name \"%s\"", transport);
        goto out;
    }
    buf_setf(&path, "%s/private/%s", conf_str("queue_directory"), transport);
    if (str_copy(sun.sun_path, sizeof(sun.sun_path), buf_str(&path)) < 0) {
        buf_setf(why, "socket path too long: %s", buf_str(&path));
        goto out;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        buf_setf(why, "connect to transport private/%s: %m", transport);
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
out:
    buf_fini(&path);
    return fd;
}

/* agent_pass - the request for one recipient to another agent */
void agent_pass(struct agent_msg *m, const struct ipc_rcpt *rcpt,
                const char *sender, const char *transport, const char *nexthop,
                struct agent_result *res)
{
    struct ipc_deliver_req req = m->req;
    struct ipc_rcpt one = *rcpt;
    struct ipc_deliver_status st;
    struct ipc_frame frame;
    struct buf out = BUF_INIT;
    struct buf in = BUF_INIT;
    struct buf why = BUF_INIT;
    int passed = -1;
    int fd;

    req.sender = (char *) sender;
    req.nexthop = (char *) nexthop;
    req.rcpt = &one;
    req.rcpt_count = 1;
    if ((fd = pass_connect(transport, &why)) < 0
        || ipc_deliver_req_encode(&req, m->request_id, &out, &why) < 0
        || ipc_send(fd, span_make(buf_str(&out), buf_len(&out)), -1,
                    AGENT_REQ_TIMEOUT * 1000, &why)
               < 0) {
        agent_result_set(res, "4.3.0", "mail transport unavailable: %s",
                         buf_str(&why));
        goto out;
    }
    /* The agent's own time limits bound its work; a silent one is a
     * temporary failure after $AGENT_PASS_TIMEOUT. */
    if (ipc_recv(fd, &in, &frame, &passed, AGENT_PASS_TIMEOUT * 1000, &why)
        != 1) {
        agent_result_set(res, "4.3.0",
                         "mail transport %s: no delivery status: %s", transport,
                         buf_len(&why) ? buf_str(&why) : "end of file");
        goto out;
    }
    if (passed >= 0)
        close(passed);
    if (ipc_deliver_status_decode(&frame, &st, &why) < 0) {
        agent_result_set(res, "4.3.0", "mail transport %s: bad reply: %s",
                         transport, buf_str(&why));
        goto out;
    }
    if (dsn_status_check(span_of(st.status), &why) < 0) {
        agent_result_set(res, "4.3.0", "mail transport %s: %s", transport,
                         buf_str(&why));
    } else {
        agent_result_set(res, st.status, "%s", st.reason);
        res->quiet = true;
    }
    ipc_deliver_status_fini(&st);
out:
    if (fd >= 0)
        close(fd);
    buf_fini(&out);
    buf_fini(&in);
    buf_fini(&why);
}

/* agent_session - one request from the qmgr */
void agent_session(struct server *srv, int fd, const char *relay,
                   agent_rcpt_fn fn, void *ctx)
{
    struct agent_msg m;
    struct agent_result res;
    struct buf in = BUF_INIT;
    struct buf why = BUF_INIT;
    struct ipc_frame frame;
    int passed = -1;
    int flags;

    memset(&m, 0, sizeof(m));
    res.quiet = false;
    buf_init(&m.data, 0);
    buf_init(&res.reason, 0);
    /* A delivery agent serves one request at a time, as Postfix's do:
     * blocking I/O with time limits keeps the per-recipient code linear. */
    flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        (void) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    switch (
        ipc_recv(fd, &in, &frame, &passed, AGENT_REQ_TIMEOUT * 1000, &why)) {
        case 1:
            break;
        case 0:
            goto done;
        default:
            msg_warn("read request: %s", buf_str(&why));
            goto done;
    }
    if (passed >= 0)
        close(passed);
    gettimeofday(&m.t_recv, NULL);
    m.request_id = frame.request_id;
    if (ipc_deliver_req_decode(&frame, &m.req, &why) < 0) {
        msg_warn("bad delivery request: %s", buf_str(&why));
        goto done;
    }
    if (agent_msg_load(&m, &why) < 0) {
        msg_warn("%s: %s", m.req.queue_id, buf_str(&why));
        for (size_t i = 0; i < m.req.rcpt_count; i++) {
            agent_result_set(&res, "4.3.0", "%s", buf_str(&why));
            if (reply(fd, &m, relay, &m.req.rcpt[i], &res,
                      i + 1 == m.req.rcpt_count)
                < 0)
                break;
        }
    } else {
        for (size_t i = 0; i < m.req.rcpt_count; i++) {
            agent_result_set(&res, "4.3.0", "internal error");
            res.quiet = false;
            fn(ctx, &m, &m.req.rcpt[i], &res);
            if (reply(fd, &m, relay, &m.req.rcpt[i], &res,
                      i + 1 == m.req.rcpt_count)
                < 0)
                break;
        }
    }
    ipc_deliver_req_fini(&m.req);
done:
    queue_env_fini(&m.env);
    buf_fini(&m.data);
    buf_fini(&res.reason);
    buf_fini(&in);
    buf_fini(&why);
    close(fd);
    server_session_done(srv);
}
