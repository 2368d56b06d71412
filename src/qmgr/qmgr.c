/*
 * qmgr - the queue manager daemon (see qmgr.h).
 *
 * Life of a message here:
 *   incoming/ID  --rename-->  active/ID  (log "from=<>, size=, nrcpt=")
 *   every recipient not yet done is resolved (resolve.h) and queued in
 *   the scheduler under its transport:nexthop; deliveries run as event
 *   driven sessions on private/TRANSPORT; each deliver_status is applied
 *   at once: sent -> queue_file_mark_done; failed -> kept for the bounce;
 *   delayed -> kept for the deferral (or bounced when the message is older
 *   than its lifetime).  When the last delivery of the message has ended:
 *   a failure report to the sender (a new message in incoming/) and the
 *   failed recipients marked done; then, with deferred recipients, a delay
 *   notice when its time has come, the next attempt time in the mtime and
 *   a move to deferred/; without, the file is removed ("removed").
 *
 * Crash safety: the file is never rewritten except by the one-byte done
 * marks; after a crash, the files left in active/ are scheduled again at
 * start (recipients already marked done are skipped).
 */
#include "qmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../global/agent.h"
#include "../global/bounce_notice.h"
#include "../global/bounce_report.h"
#include "../global/conf.h"
#include "../global/dsn.h"
#include "../global/ipc_msgs.h"
#include "../global/master_cf.h"
#include "../global/msg_log.h"
#include "../global/queue_dir.h"
#include "../global/queue_file.h"
#include "../global/resolve.h"
#include "../global/server.h"
#include "../lib/argv.h"
#include "../lib/htable.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "qmgr_sched.h"

/* The state of one recipient of an active message. */
enum rcpt_state {
    RCPT_SKIP,     /* done before this pass */
    RCPT_PENDING,  /* queued or in a delivery */
    RCPT_DONE,     /* delivered (marked) in this pass */
    RCPT_DEFER,    /* deferred in this pass */
    RCPT_BOUNCE,   /* failed in this pass: report, then mark done */
    RCPT_VERIFIED, /* sendmail -bv: the agent's answer, for the report */
};

struct qrcpt {
    enum rcpt_state state;
    char *address; /* resolved: what the agent delivers to (owned) */
    char *nexthop; /* owned */
    char status[DSN_STATUS_SIZE];
    char *reason;           /* owned: the last result */
    char *remote_mta;       /* owned, or NULL */
    char *diag_code;        /* owned, or NULL */
    char *relay;            /* owned, or NULL: who answered (reports) */
    enum dsn_action action; /* RCPT_DONE: delivered, relayed, expanded */
};

/* One message in active/. */
struct qmsg {
    char id[QUEUE_ID_SIZE];
    int fd; /* O_RDWR: the done marks */
    struct queue_env env;
    struct qrcpt *r; /* env.nrcpt of them */
    int jobs;        /* deliveries in progress */
    bool expired;    /* older than its lifetime: deferrals bounce */
    bool forced;     /* postsuper -e/-f: bounce without delivering */
    bool verify;     /* sendmail -bv: ask the agents, mail the answers */
    bool trace;      /* sendmail -v, first attempt: mail what happened */
    struct msg_log forced_log; /* owned: the reasons of the last deferral */
    size_t nexpired;           /* deferrals that became bounces in this pass */
    bool finishing;            /* finish is queued */
    bool scheduling;           /* msg_schedule is queueing its recipients */
};

/* One delivery session to an agent. */
struct qdeliv {
    struct qmgr_job *job;
    struct qmsg *m;
    int fd;
    uint32_t reqid;
    bool *got; /* per job recipient: a status came */
    struct ipc_reader rd;
    struct loop_ev *rev;
    struct loop_ev *timer;
    bool dest_fail;                  /* the done frame's dest_fail */
    char fb_status[DSN_STATUS_SIZE]; /* the done frame's status */
    char *fb_reason;                 /* owned: the done frame's reason */
};

/* How a delivery ends, for the concurrency feedback. */
enum deliv_fb {
    DELIV_FB_NONE,     /* no feedback (the request could not be made) */
    DELIV_FB_AGENT,    /* the agent answered: its dest_fail decides */
    DELIV_FB_FAIL,     /* the agent broke off: negative */
    DELIV_FB_THROTTLE, /* no agent: the transport is throttled */
};

/* The prefix of the reason of a dead destination's deferrals. */
#define DEAD_PREFIX "delivery temporarily suspended: "

/* The master.cf service (command error) that defers recipients with the
 * next-hop text as the reason, as Postfix's qmgr uses it. */
#define RETRY_SERVICE "retry"

/* A recipient deferred without a delivery, on its way to the retry
 * service. */
struct qretry {
    struct qmsg *m;
    size_t i;
    char *nexthop; /* owned: "X.Y.Z reason" */
};

/* One connection on the public socket. */
struct qconn {
    int fd;
    bool frames; /* ipc frames (else the master's wakeup byte) */
    struct ipc_reader rd;
    struct loop_ev *rev;
    struct loop_ev *timer;
};

static struct qmgr {
    struct server *srv;
    struct loop *loop;
    struct queue_dir qd;
    struct resolve *res;
    struct master_cf *mcf;
    struct qmgr_sched *sched;
    struct htable *msgs; /* id -> struct qmsg */
    size_t nmsgs;
    struct loop_ev *kick;    /* 0 ms: start deliveries, finish messages */
    struct loop_ev *scan_ev; /* queue_run_delay: deferred/ and active/ */
    struct loop_ev *due_ev;  /* a rate delay has run out */
    bool scan_incoming;      /* a kick should scan incoming/ */
    struct argv *finish;     /* IDs whose last delivery has ended */
    bool retry;              /* master.cf has the retry service */
    struct qretry *retries;  /* owned: recipients for it (drain_retry) */
    size_t nretries, retries_cap;
    uint32_t reqid;
    long active_limit;
    long run_delay;
    long min_backoff, max_backoff;
    long transport_retry;
    long max_life, bounce_life;
    long ipc_timeout;
    long daemon_timeout;
    size_t max_file;
} q;

static void kick(void);
static void arm_due(void);
static void on_due(int fd, int what, void *arg);
static void scan_folder(enum queue_folder f, bool all);

/* log_rcpt - the delivery log line for a result that qmgr decides itself
 * (resolver failure, transport unavailable, expiry) */
static void log_rcpt(const struct qmsg *m, size_t i, const char *relay,
                     const char *status, const char *word, const char *reason)
{
    const struct queue_rcpt *qr = &m->env.rcpts[i];
    struct timeval now;
    struct buf line = BUF_INIT;
    double d;

    gettimeofday(&now, NULL);
    d = (double) (now.tv_sec - m->env.arrival.tv_sec)
        + (now.tv_usec - m->env.arrival.tv_usec) / 1e6;
    buf_catf(&line, "%s: to=<%s>", m->id,
             m->r[i].address ? m->r[i].address : qr->address);
    if (qr->orig && strcmp(qr->orig, qr->address) != 0)
        buf_catf(&line, ", orig_to=<%s>", qr->orig);
    buf_catf(&line, ", relay=%s, delay=", relay);
    agent_delay_format(d, &line);
    buf_cat(&line, ", delays=");
    agent_delay_format(d, &line);
    buf_catf(&line, "/0/0/0, dsn=%s, status=%s (", status, word);
    agent_sanitize(reason, &line);
    buf_cat(&line, ")");
    msg_info("%s", buf_str(&line));
    buf_fini(&line);
}

/* set_result - record the outcome of recipient I; a deferral or failure
 * also goes into the message's defer or bounce log (docs/QUEUE.md), for
 * mailq and postqueue */
static void set_result(struct qmsg *m, size_t i, enum rcpt_state st,
                       const char *status, const char *reason,
                       const char *remote_mta, const char *diag_code)
{
    struct qrcpt *r = &m->r[i];
    const struct queue_rcpt *qr = &m->env.rcpts[i];
    struct msg_log_entry e = {
        .recipient = qr->address,
        .offset = (long long) qr->offset,
        .orig_rcpt = qr->orig,
        .dsn_orig_rcpt = qr->orcpt,
        .notify = qr->notify,
        .status = (char *) status,
        .action = (char *) dsn_action_name(
            st == RCPT_DEFER ? DSN_ACTION_DELAYED : DSN_ACTION_FAILED),
        .reason = (char *) reason,
        .remote_mta = (char *) remote_mta,
        .diag_code = (char *) diag_code,
    };
    struct buf why = BUF_INIT;

    r->state = st;
    str_copy(r->status, sizeof(r->status), status);
    mem_free(r->reason);
    mem_free(r->remote_mta);
    mem_free(r->diag_code);
    r->reason = mem_strdup(reason);
    r->remote_mta = remote_mta ? mem_strdup(remote_mta) : NULL;
    r->diag_code = diag_code ? mem_strdup(diag_code) : NULL;
    if (msg_log_append(&q.qd, st == RCPT_DEFER ? QUEUE_DEFER : QUEUE_BOUNCE,
                       m->id, &e, &why)
        < 0)
        msg_warn("%s: %s", m->id, buf_str(&why));
    buf_fini(&why);
}

/* defer_rcpt - qmgr's own deferral of recipient I, logged; bounced instead
 * when the message has expired */
static void defer_rcpt(struct qmsg *m, size_t i, const char *relay,
                       const char *status, const char *reason)
{
    log_rcpt(m, i, relay, status, "deferred", reason);
    if (m->expired)
        m->nexpired++;
    set_result(m, i, m->expired ? RCPT_BOUNCE : RCPT_DEFER, status, reason,
               NULL, NULL);
}

/* msg_free - free M (no delivery may refer to it) */
static void msg_free(struct qmsg *m)
{
    if (m->fd >= 0)
        close(m->fd);
    for (size_t i = 0; i < m->env.nrcpt; i++) {
        mem_free(m->r[i].address);
        mem_free(m->r[i].nexthop);
        mem_free(m->r[i].reason);
        mem_free(m->r[i].remote_mta);
        mem_free(m->r[i].diag_code);
        mem_free(m->r[i].relay);
    }
    mem_free(m->r);
    queue_env_fini(&m->env);
    msg_log_fini(&m->forced_log);
    mem_free(m);
}

/* msg_forget - drop M from the table and free it */
static void msg_forget(struct qmsg *m)
{
    htable_delete(q.msgs, m->id, NULL);
    q.nmsgs--;
    msg_free(m);
    if (q.nmsgs + 1 >= (size_t) q.active_limit) {
        q.scan_incoming = true;
        kick();
    }
}

/*
 * Notifications (bounce, delay) as new messages in incoming/.
 */

/* The bit of a recipient state in send_notice's STATES. */
#define STATE_BIT(st) (1u << (unsigned) (st))

/* free_texts - the N report texts of send_notice */
static void free_texts(struct buf *texts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_fini(&texts[i]);
    mem_free(texts);
}

/* send_notice - queue report KIND about recipients in state ST of M to
 * TO (NULL: the sender); the new queue ID into NEWID.  0 or -1 (WHY). */
static int send_notice(struct qmsg *m, enum bounce_report_kind kind,
                       unsigned states, int notify_bit, const char *to,
                       bool postmaster, char *newid, size_t newid_size,
                       struct buf *why)
{
    struct bounce_report_rcpt *rc = mem_calloc(m->env.nrcpt + 1, sizeof(*rc));
    struct buf *texts = mem_calloc(m->env.nrcpt + 1, sizeof(*texts));
    struct bounce_report br;
    struct bounce_notice_content bnc;
    struct buf path = BUF_INIT;
    struct buf data = BUF_INIT;
    struct queue_env env = {0};
    size_t nrc = 0;
    int fd = -1;
    int ret = -1;

    for (size_t i = 0; i < m->env.nrcpt; i++) {
        const struct queue_rcpt *qr = &m->env.rcpts[i];

        if (!(states & STATE_BIT(m->r[i].state)))
            continue;
        if (!postmaster && qr->notify != 0 && !(qr->notify & notify_bit))
            continue;
        /* Success reports only for NOTIFY=SUCCESS (RFC 3461). */
        if (kind == BOUNCE_REPORT_SUCCESS && !(qr->notify & notify_bit))
            continue;
        rc[nrc].address = qr->address;
        rc[nrc].orig_rcpt = qr->orig;
        rc[nrc].orcpt = qr->orcpt;
        str_copy(rc[nrc].dsn.status, sizeof(rc[nrc].dsn.status),
                 m->r[i].status);
        rc[nrc].dsn.action = m->r[i].state == RCPT_DEFER    ? DSN_ACTION_DELAYED
                             : m->r[i].state == RCPT_BOUNCE ? DSN_ACTION_FAILED
                                                            : m->r[i].action;
        rc[nrc].dsn.reason = m->r[i].reason;
        /* A report that was asked for (-bv, -v) names who answered. */
        if (kind == BOUNCE_REPORT_VERIFY && m->r[i].relay
            && strcmp(m->r[i].relay, "none") != 0) {
            buf_setf(&texts[nrc], "delivery via %s: %s", m->r[i].relay,
                     m->r[i].reason ? m->r[i].reason : "");
            rc[nrc].dsn.reason = buf_str(&texts[nrc]);
        }
        rc[nrc].dsn.remote_mta = m->r[i].remote_mta;
        rc[nrc].dsn.diag_code = m->r[i].diag_code;
        nrc++;
    }
    if (nrc == 0) {
        mem_free(rc);
        free_texts(texts, m->env.nrcpt);
        newid[0] = 0;
        return 0;
    }
    bounce_notice_init(&br, kind, m->id, &m->env);
    br.postmaster_copy = postmaster;
    br.to = to;
    br.rcpts = rc;
    br.nrcpts = nrc;
    br.maximal_queue_lifetime = q.max_life;

    /* The original, read again (the envelope pass does not keep it). */
    if (queue_dir_path(&q.qd, QUEUE_ACTIVE, m->id, &path, why) == 0
        && queue_file_read(buf_str(&path), O_RDONLY, q.max_file, &fd, &data,
                           &env, why)
               == QUEUE_READ_OK) {
        bounce_notice_content_init(
            &bnc, span_make(buf_str(&data), buf_len(&data)), &env, &br);
    } else {
        msg_warn("%s: cannot read the message for its notice: %s", m->id,
                 buf_str(why));
        buf_reset(why);
    }
    if (fd >= 0)
        close(fd);
    ret = bounce_notice_queue(&q.qd, &br, newid, newid_size, why);
    buf_fini(&path);
    buf_fini(&data);
    queue_env_fini(&env);
    mem_free(rc);
    free_texts(texts, m->env.nrcpt);
    if (ret == 0)
        q.scan_incoming = true;
    return ret;
}

/* has_class - NAME is in notify_classes */
static bool has_class(const char *name)
{
    struct argv *l = conf_list("notify_classes");
    bool yes = false;

    for (size_t i = 0; i < l->argc; i++)
        if (strcasecmp(l->argv[i], name) == 0)
            yes = true;
    argv_free(l);
    return yes;
}

/* remove_log - the per-message log of ID in folder F (none: fine) */
static void remove_log(const char *id, enum queue_folder f)
{
    struct buf why = BUF_INIT;

    if (msg_log_remove(&q.qd, f, id, &why) < 0)
        msg_warn("%s: %s", id, buf_str(&why));
    buf_fini(&why);
}

/* status_notice - a delivery status notification (success, -v) of the
 * recipients in STATES to the sender, logged; a failure is only warned
 * about (the sender asked for information, nothing is lost) */
static void status_notice(struct qmsg *m, enum bounce_report_kind kind,
                          unsigned states, int notify_bit)
{
    struct buf why = BUF_INIT;
    char newid[QUEUE_ID_SIZE];

    if (send_notice(m, kind, states, notify_bit, NULL, false, newid,
                    sizeof(newid), &why)
        < 0)
        msg_warn("%s: cannot queue the delivery status notification: %s", m->id,
                 buf_str(&why));
    else if (newid[0])
        msg_info("%s: sender delivery status notification: %s", m->id, newid);
    buf_fini(&why);
}

/* msg_finish - every delivery of M has ended */
static void msg_finish(struct qmsg *m)
{
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    char newid[QUEUE_ID_SIZE];
    size_t nbounce = 0, ndefer = 0;
    time_t now = time(NULL);

    size_t nverified = 0;

    for (size_t i = 0; i < m->env.nrcpt; i++) {
        if (m->r[i].state == RCPT_BOUNCE)
            nbounce++;
        else if (m->r[i].state == RCPT_DEFER || m->r[i].state == RCPT_PENDING)
            ndefer++;
        else if (m->r[i].state == RCPT_VERIFIED)
            nverified++;
    }

    /* sendmail -bv: once every recipient has its answer, one report to
     * the sender; then the message is done. */
    if (nverified > 0 && ndefer == 0) {
        int ok = 0;

        if (m->env.sender[0] != 0) {
            ok = send_notice(m, BOUNCE_REPORT_VERIFY, STATE_BIT(RCPT_VERIFIED),
                             ~0, NULL, false, newid, sizeof(newid), &why);
            if (ok == 0 && newid[0])
                msg_info("%s: sender delivery status notification: %s", m->id,
                         newid);
        }
        if (ok < 0) {
            msg_warn("%s: cannot queue the delivery status notification: %s",
                     m->id, buf_str(&why));
            buf_reset(&why);
            ndefer += nverified;
        } else {
            for (size_t i = 0; i < m->env.nrcpt; i++)
                if (m->r[i].state == RCPT_VERIFIED
                    && queue_file_mark_done(m->fd, m->env.rcpts[i].offset, &why)
                           < 0) {
                    msg_warn("%s: %s", m->id, buf_str(&why));
                    buf_reset(&why);
                }
        }
    }

    /* Failed recipients: the report first, then the done marks. */
    if (nbounce > 0) {
        int ok = 0;

        if (m->nexpired > 0)
            msg_info("%s: from=<%s>, status=%s, returned to sender", m->id,
                     m->env.sender, m->forced ? "force-expired" : "expired");
        if (m->env.sender[0] != 0) {
            ok = send_notice(m, BOUNCE_REPORT_FAILURE, STATE_BIT(RCPT_BOUNCE),
                             QUEUE_NOTIFY_FAILURE, NULL, false, newid,
                             sizeof(newid), &why);
            if (ok == 0 && newid[0])
                msg_info("%s: sender non-delivery notification: %s", m->id,
                         newid);
            if (ok == 0 && has_class("bounce")
                && send_notice(m, BOUNCE_REPORT_FAILURE, STATE_BIT(RCPT_BOUNCE),
                               0, conf_str("bounce_notice_recipient"), true,
                               newid, sizeof(newid), &why)
                       == 0
                && newid[0])
                msg_info("%s: postmaster non-delivery notification: %s", m->id,
                         newid);
        } else if (has_class("2bounce")) {
            ok = send_notice(m, BOUNCE_REPORT_FAILURE, STATE_BIT(RCPT_BOUNCE),
                             0, conf_str("2bounce_notice_recipient"), true,
                             newid, sizeof(newid), &why);
            if (ok == 0 && newid[0])
                msg_info("%s: postmaster non-delivery notification: %s", m->id,
                         newid);
        }
        if (ok < 0) {
            /* Without a report the sender would not learn: try again. */
            msg_warn("%s: cannot queue the non-delivery notification: %s",
                     m->id, buf_str(&why));
            for (size_t i = 0; i < m->env.nrcpt; i++)
                if (m->r[i].state == RCPT_BOUNCE) {
                    m->r[i].state = RCPT_DEFER;
                    ndefer++;
                }
        } else {
            for (size_t i = 0; i < m->env.nrcpt; i++)
                if (m->r[i].state == RCPT_BOUNCE
                    && queue_file_mark_done(m->fd, m->env.rcpts[i].offset, &why)
                           < 0) {
                    msg_warn("%s: %s", m->id, buf_str(&why));
                    buf_reset(&why);
                }
            /* The report is queued: the failures are told. */
            remove_log(m->id, QUEUE_BOUNCE);
        }
    }

    /* Delivered recipients that asked for it: a success report (DSN). */
    if (m->env.sender[0] != 0)
        status_notice(m, BOUNCE_REPORT_SUCCESS, STATE_BIT(RCPT_DONE),
                      QUEUE_NOTIFY_SUCCESS);

    /* sendmail -v: what became of every recipient in this first attempt,
     * once (a later attempt comes from deferred/, not incoming/). */
    if (m->trace && m->env.sender[0] != 0) {
        m->trace = false;
        status_notice(m, BOUNCE_REPORT_VERIFY,
                      STATE_BIT(RCPT_DONE) | STATE_BIT(RCPT_DEFER)
                          | STATE_BIT(RCPT_BOUNCE),
                      ~0);
    }

    if (queue_dir_path(&q.qd, QUEUE_ACTIVE, m->id, &path, &why) < 0)
        msg_panic("%s: %s", m->id, buf_str(&why));
    if (ndefer > 0) {
        long delay = qmgr_backoff(m->env.arrival.tv_sec, now, q.min_backoff,
                                  q.max_backoff);
        struct timeval tv[2];

        /* The delay notice, once: W holds its time until it is sent. */
        if (m->env.warn_time > 0 && m->env.warn_offset > 0
            && now >= m->env.warn_time) {
            if (m->env.sender[0] != 0
                && send_notice(m, BOUNCE_REPORT_DELAY, STATE_BIT(RCPT_DEFER),
                               QUEUE_NOTIFY_DELAY, NULL, false, newid,
                               sizeof(newid), &why)
                       < 0) {
                msg_warn("%s: cannot queue the delay notification: %s", m->id,
                         buf_str(&why));
            } else {
                if (m->env.sender[0] != 0 && newid[0])
                    msg_info("%s: sender delay notification: %s", m->id, newid);
                if (has_class("delay")
                    && send_notice(m, BOUNCE_REPORT_DELAY,
                                   STATE_BIT(RCPT_DEFER), 0,
                                   conf_str("delay_notice_recipient"), true,
                                   newid, sizeof(newid), &why)
                           == 0
                    && newid[0])
                    msg_info("%s: postmaster delay notification: %s", m->id,
                             newid);
                if (queue_file_set_warn(m->fd, m->env.warn_offset, 0, &why) < 0)
                    msg_warn("%s: %s", m->id, buf_str(&why));
            }
        }
        /* The next attempt time is the file's mtime (and atime), as in
         * Postfix; the deferred/ scan takes files whose time has come. */
        tv[0].tv_sec = tv[1].tv_sec = now + delay;
        tv[0].tv_usec = tv[1].tv_usec = 0;
        if (futimes(m->fd, tv) < 0)
            msg_warn("%s: set the retry time: %m", m->id);
        if (queue_dir_move_unsynced(&q.qd, QUEUE_ACTIVE, QUEUE_DEFERRED, m->id,
                                    &why)
            < 0)
            msg_warn("%s: move to deferred: %s", m->id, buf_str(&why));
    } else {
        if (unlink(buf_str(&path)) < 0 && errno != ENOENT) {
            msg_warn("%s: remove %s: %m", m->id, buf_str(&path));
        } else {
            remove_log(m->id, QUEUE_BOUNCE);
            remove_log(m->id, QUEUE_DEFER);
            remove_log(m->id, QUEUE_TRACE);
            msg_info("%s: removed", m->id);
        }
    }
    buf_fini(&path);
    buf_fini(&why);
    msg_forget(m);
}

/*
 * Deliveries.
 */

/* maybe_finish - M has nothing queued or in delivery: finish it soon */
static void maybe_finish(struct qmsg *m)
{
    if (m->jobs == 0 && !m->scheduling && !m->finishing
        && qmgr_sched_pending(q.sched, m) == 0) {
        m->finishing = true;
        argv_add(q.finish, m->id);
        kick();
    }
}

/* to_retry - defer recipient I of M through the retry service, as
 * Postfix does (its error(8) agent logs the deferral); false when there
 * is no retry service or the recipient was for it */
static bool to_retry(struct qmsg *m, size_t i, const char *transport,
                     const char *status, const char *reason)
{
    struct qretry *r;
    struct buf text = BUF_INIT;

    if (!q.retry || strcmp(transport, RETRY_SERVICE) == 0)
        return false;
    if (q.nretries == q.retries_cap) {
        q.retries_cap = q.retries_cap ? 2 * q.retries_cap : 16;
        q.retries = mem_realloc(q.retries, q.retries_cap * sizeof(*r));
    }
    r = &q.retries[q.nretries++];
    r->m = m;
    r->i = i;
    buf_setf(&text, "%s %s", status, reason);
    r->nexthop = buf_steal(&text);
    return true;
}

/* drain_retry - queue what to_retry collected (outside the scheduler's
 * callbacks); a retry service that is itself throttled defers at once */
static void drain_retry(void)
{
    while (q.nretries > 0) {
        struct qretry r = q.retries[--q.nretries];

        mem_free(r.m->r[r.i].nexthop);
        r.m->r[r.i].nexthop = r.nexthop;
        (void) qmgr_sched_add(q.sched, RETRY_SERVICE, r.nexthop, r.m, r.i);
    }
}

/* on_sched_defer - qmgr_defer_fn: a dead destination or a throttled
 * transport defers a recipient without a delivery: through the retry
 * service, or logged by qmgr */
static void on_sched_defer(void *ctx, void *msg, size_t rcpt,
                           const char *transport, const char *status,
                           const char *reason)
{
    struct qmsg *m = msg;

    (void) ctx;
    if (to_retry(m, rcpt, transport, status, reason))
        return;
    defer_rcpt(m, rcpt, "none", status, reason);
    maybe_finish(m);
}

/* deliv_end - the session is over: recipients without a status are
 * deferred with REASON; the feedback FB goes to the scheduler; free the
 * session, maybe finish the message */
static void deliv_end(struct qdeliv *dv, const char *reason, enum deliv_fb fb)
{
    struct qmsg *m = dv->m;
    struct buf why = BUF_INIT;

    for (size_t k = 0; k < dv->job->nrcpt; k++)
        if (!dv->got[k]
            && !(fb == DELIV_FB_THROTTLE
                 && to_retry(m, dv->job->rcpts[k], dv->job->transport, "4.3.0",
                             reason)))
            defer_rcpt(m, dv->job->rcpts[k],
                       dv->rev ? dv->job->transport : "none", "4.3.0", reason);
    switch (fb) {
        case DELIV_FB_NONE:
            break;
        case DELIV_FB_AGENT:
            buf_setf(&why, DEAD_PREFIX "%s",
                     dv->fb_reason ? dv->fb_reason : reason);
            qmgr_sched_feedback(q.sched, dv->job, dv->dest_fail,
                                dv->fb_status[0] ? dv->fb_status : "4.3.0",
                                buf_str(&why));
            break;
        case DELIV_FB_FAIL:
            buf_setf(&why, DEAD_PREFIX "%s", reason);
            qmgr_sched_feedback(q.sched, dv->job, true, "4.3.0", buf_str(&why));
            break;
        case DELIV_FB_THROTTLE:
            qmgr_sched_throttle(q.sched, dv->job->transport, "4.3.0", reason,
                                (double) q.transport_retry);
            break;
    }
    drain_retry();
    buf_fini(&why);
    mem_free(dv->fb_reason);
    loop_ev_free(dv->rev);
    loop_ev_free(dv->timer);
    if (dv->fd >= 0)
        close(dv->fd);
    ipc_reader_fini(&dv->rd);
    qmgr_sched_done(q.sched, dv->job);
    mem_free(dv->got);
    mem_free(dv);
    m->jobs--;
    if (m->jobs == 0 && !m->scheduling && qmgr_sched_pending(q.sched, m) == 0
        && !m->finishing) {
        m->finishing = true;
        /* While draining no kick runs again: finish the message now. */
        if (server_draining(q.srv))
            msg_finish(m);
        else
            argv_add(q.finish, m->id);
    }
    kick();
    /* Last: when draining, the end of the last session ends the loop. */
    server_session_done(q.srv);
}

/* deliv_status - apply one deliver_status of the session; -1: protocol
 * error (the session ends) */
static int deliv_status(struct qdeliv *dv, const struct ipc_deliver_status *st,
                        bool *last, struct buf *why)
{
    struct qmsg *m = dv->m;
    struct dsn d;
    size_t k;

    if (dsn_from_status(st, &d, why) < 0)
        return -1;
    for (k = 0; k < dv->job->nrcpt; k++)
        if (m->env.rcpts[dv->job->rcpts[k]].offset == st->offset)
            break;
    if (k == dv->job->nrcpt || dv->got[k]) {
        buf_setf(why, "status for an unknown recipient offset %llu",
                 (unsigned long long) st->offset);
        return -1;
    }
    dv->got[k] = true;
    *last = st->done == 1;
    if (*last) {
        dv->dest_fail = st->dest_fail == 1;
        str_copy(dv->fb_status, sizeof(dv->fb_status), d.status);
        mem_free(dv->fb_reason);
        dv->fb_reason = mem_strdup(d.reason);
    }
    if (m->verify || m->trace) {
        struct qrcpt *r = &m->r[dv->job->rcpts[k]];

        mem_free(r->relay);
        r->relay = st->relay ? mem_strdup(st->relay) : NULL;
    }
    switch (d.action) {
        case DSN_ACTION_DELIVERED:
        case DSN_ACTION_RELAYED:
        case DSN_ACTION_EXPANDED:
            if (m->verify)
                msg_warn("%s: private/%s answered a verification with \"%s\"",
                         m->id, dv->job->transport, st->action);
            if (queue_file_mark_done(m->fd, st->offset, why) < 0) {
                msg_warn("%s: %s", m->id, buf_str(why));
                buf_reset(why);
            }
            m->r[dv->job->rcpts[k]].state = RCPT_DONE;
            if ((m->env.rcpts[dv->job->rcpts[k]].notify & QUEUE_NOTIFY_SUCCESS)
                || m->trace) {
                struct qrcpt *r = &m->r[dv->job->rcpts[k]];

                /* kept for the success report (NOTIFY=SUCCESS) */
                str_copy(r->status, sizeof(r->status), d.status);
                mem_free(r->reason);
                r->reason = mem_strdup(d.reason);
                r->action = d.action;
            }
            break;
        case DSN_ACTION_FAILED:
            set_result(m, dv->job->rcpts[k], RCPT_BOUNCE, d.status, d.reason,
                       d.remote_mta, d.diag_code);
            break;
        case DSN_ACTION_DELAYED:
            if (m->expired)
                m->nexpired++;
            set_result(m, dv->job->rcpts[k],
                       m->expired ? RCPT_BOUNCE : RCPT_DEFER, d.status,
                       d.reason, d.remote_mta, d.diag_code);
            break;
        case DSN_ACTION_DELIVERABLE:
        case DSN_ACTION_UNDELIVERABLE: {
            struct qrcpt *r = &m->r[dv->job->rcpts[k]];

            if (!m->verify) {
                dv->got[k] = false;
                buf_setf(why, "unexpected action %s", st->action);
                return -1;
            }
            /* The report says which agent answered, as Postfix's. */
            r->state = RCPT_VERIFIED;
            r->action = d.action;
            str_copy(r->status, sizeof(r->status), d.status);
            mem_free(r->reason);
            r->reason = mem_strdup(d.reason);
            break;
        }
    }
    return 0;
}

/* deliv_on_read - frames from the agent */
static void deliv_on_read(int fd, int what, void *arg)
{
    struct qdeliv *dv = arg;
    struct buf why = BUF_INIT;
    struct ipc_frame frame;
    int pfd = -1;

    (void) fd;
    (void) what;
    for (;;) {
        enum ipc_read_result rr =
            ipc_reader_read(&dv->rd, dv->fd, &frame, &pfd, &why);
        struct ipc_deliver_status st;
        bool last = false;

        if (pfd >= 0) {
            close(pfd);
            pfd = -1;
        }
        switch (rr) {
            case IPC_READ_MORE:
                buf_fini(&why);
                return;
            case IPC_READ_EOF:
                buf_set(&why, "unexpected end of file");
                __attribute__((fallthrough));
            case IPC_READ_ERROR:
                msg_warn("%s: private/%s: %s", dv->m->id, dv->job->transport,
                         buf_str(&why));
                buf_fini(&why);
                deliv_end(dv, "unknown mail transport error", DELIV_FB_FAIL);
                return;
            case IPC_READ_FRAME:
                break;
        }
        if (frame.request_id != dv->reqid
            || ipc_deliver_status_decode(&frame, &st, &why) < 0) {
            if (buf_len(&why) == 0)
                buf_set(&why, "reply to another request");
            msg_warn("%s: private/%s: malformed response: %s", dv->m->id,
                     dv->job->transport, buf_str(&why));
            buf_fini(&why);
            deliv_end(dv, "unknown mail transport error", DELIV_FB_FAIL);
            return;
        }
        if (deliv_status(dv, &st, &last, &why) < 0) {
            msg_warn("%s: private/%s: malformed response: %s", dv->m->id,
                     dv->job->transport, buf_str(&why));
            ipc_deliver_status_fini(&st);
            buf_fini(&why);
            deliv_end(dv, "unknown mail transport error", DELIV_FB_FAIL);
            return;
        }
        ipc_deliver_status_fini(&st);
        if (last) {
            buf_fini(&why);
            deliv_end(dv, "unknown mail transport error", DELIV_FB_AGENT);
            return;
        }
    }
}

/* deliv_on_timeout - the agent took too long */
static void deliv_on_timeout(int fd, int what, void *arg)
{
    struct qdeliv *dv = arg;

    (void) fd;
    (void) what;
    msg_warn("%s: private/%s: delivery timed out after %lds", dv->m->id,
             dv->job->transport, q.daemon_timeout);
    deliv_end(dv, "mail transport timed out", DELIV_FB_FAIL);
}

/* agent_connect - a connection to private/TRANSPORT, or -1 (WHY) */
static int agent_connect(const char *transport, struct buf *why)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct buf path = BUF_INIT;
    int fd = -1;

    buf_setf(&path, "%s/private/%s", q.qd.top, transport);
    if (strchr(transport, '/') || buf_len(&path) >= sizeof(sun.sun_path)) {
        buf_setf(why, "connect to transport private/%s: bad name", transport);
    } else {
        memcpy(sun.sun_path, buf_str(&path), buf_len(&path) + 1);
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0
            || connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
            buf_setf(why, "connect to transport private/%s: %m", transport);
            if (fd >= 0)
                close(fd);
            fd = -1;
        }
    }
    buf_fini(&path);
    return fd;
}

/* deliv_start - start JOB */
static void deliv_start(struct qmgr_job *job)
{
    struct qmsg *m = job->msg;
    struct qdeliv *dv = mem_zalloc(sizeof(*dv));
    struct ipc_deliver_req req = {0};
    struct ipc_rcpt *rr = mem_calloc(job->nrcpt, sizeof(*rr));
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    const char *nexthop = m->r[job->rcpts[0]].nexthop;
    int enc;

    server_session_begin(q.srv); /* a stop waits for the delivery */
    dv->fd = -1;
    dv->job = job;
    dv->m = m;
    dv->reqid = ++q.reqid;
    ipc_reader_init(&dv->rd);
    m->jobs++;
    for (size_t k = 0; k < job->nrcpt; k++) {
        const struct queue_rcpt *qr = &m->env.rcpts[job->rcpts[k]];

        rr[k].address = m->r[job->rcpts[k]].address;
        rr[k].orig_rcpt = qr->orig ? qr->orig : qr->address;
        rr[k].notify = queue_notify_to_dsn(qr->notify);
        rr[k].orcpt = qr->orcpt;
        rr[k].offset = qr->offset;
    }
    req.queue_id = m->id;
    req.queue_name = (char *) queue_folder_name(QUEUE_ACTIVE);
    req.content_offset = m->env.content_offset;
    req.sender = m->env.sender;
    req.envid = m->env.envid;
    req.ret = m->env.ret == QUEUE_RET_HDRS   ? DSN_RET_HDRS
              : m->env.ret == QUEUE_RET_FULL ? DSN_RET_FULL
                                             : DSN_RET_NONE;
    req.arrival_time = (uint64_t) m->env.arrival.tv_sec;
    req.arrival_usec = (int32_t) m->env.arrival.tv_usec;
    req.nexthop = (char *) nexthop;
    req.flags = (m->env.sender[0] == 0 ? IPC_DELIVER_F_BOUNCE : 0)
                | (m->verify ? IPC_DELIVER_F_VERIFY : 0);
    req.rcpt = rr;
    /* A request must fit in one frame (IPC_FRAME_MAX): with many long
     * addresses, half of the recipients go back to the queue for a
     * delivery of their own, until it fits. */
    for (;;) {
        req.rcpt_count = job->nrcpt;
        if ((enc = ipc_deliver_req_encode(&req, dv->reqid, &out, &why)) == 0
            || job->nrcpt == 1)
            break;
        for (size_t k = job->nrcpt / 2; k < job->nrcpt; k++)
            (void) qmgr_sched_add(q.sched, job->transport, job->nexthop, m,
                                  job->rcpts[k]);
        job->nrcpt /= 2;
        buf_reset(&why);
    }
    dv->got = mem_calloc(job->nrcpt, sizeof(bool));

    if (enc < 0) {
        msg_warn("%s: private/%s: %s", m->id, job->transport, buf_str(&why));
        deliv_end(dv, "mail transport unavailable", DELIV_FB_NONE);
    } else if ((dv->fd = agent_connect(job->transport, &why)) < 0) {
        msg_warn("%s", buf_str(&why));
        deliv_end(dv, "mail transport unavailable", DELIV_FB_THROTTLE);
    } else if (ipc_send(dv->fd, span_make(buf_str(&out), buf_len(&out)), -1,
                        (int) q.ipc_timeout * 1000, &why)
               < 0) {
        msg_warn("%s: private/%s: %s", m->id, job->transport, buf_str(&why));
        deliv_end(dv, "mail transport unavailable", DELIV_FB_THROTTLE);
    } else {
        dv->rev = loop_read(q.loop, dv->fd, deliv_on_read, dv);
        loop_ev_arm(dv->rev, -1);
        dv->timer = loop_timer(q.loop, deliv_on_timeout, dv);
        loop_ev_arm(dv->timer, q.daemon_timeout * 1000);
    }
    mem_free(rr);
    buf_fini(&out);
    buf_fini(&why);
}

/*
 * Messages into the scheduler.
 */

/* forced_expire - recipient I of a force-expired message (postsuper -e,
 * -f) bounces without a delivery, as Postfix's qmgr does it: with the
 * reason of its last deferral (the defer log read at msg_load), or else
 * through the retry service as "4.7.0 message is administratively
 * expired" (which the expiry turns into a failure); false when it must
 * go the way of every recipient (the retry service itself) */
static bool forced_expire(struct qmsg *m, size_t i)
{
    const struct queue_rcpt *qr = &m->env.rcpts[i];

    for (size_t k = m->forced_log.count; k-- > 0;) {
        const struct msg_log_entry *e = &m->forced_log.entries[k];

        if (e->offset == (long long) qr->offset
            || (e->offset < 0 && strcmp(e->recipient, qr->address) == 0)) {
            m->nexpired++;
            set_result(m, i, RCPT_BOUNCE, e->status, e->reason, e->remote_mta,
                       e->diag_code);
            return true;
        }
    }
    mem_free(m->r[i].address);
    m->r[i].address = mem_strdup(qr->address);
    if (to_retry(m, i, "", "4.7.0", "message is administratively expired"))
        return true;
    defer_rcpt(m, i, "none", "4.7.0", "message is administratively expired");
    return true;
}

/* msg_schedule - resolve and queue every recipient of M that is not done */
static void msg_schedule(struct qmsg *m)
{
    struct resolve_reply reply;
    struct span sender = span_of(m->env.sender);
    const char *filter = queue_env_attr(&m->env, "content_filter");

    if (filter != NULL && *filter == 0)
        filter = NULL;
    resolve_reply_init(&reply);
    m->scheduling = true; /* a dead destination defers at once */
    for (size_t i = 0; i < m->env.nrcpt; i++) {
        const struct queue_rcpt *qr = &m->env.rcpts[i];
        struct qmgr_limits lim;
        const char *dest;

        if (qr->done) {
            m->r[i].state = RCPT_SKIP;
            continue;
        }
        m->r[i].state = RCPT_PENDING;
        if (m->forced && forced_expire(m, i))
            continue;
        switch (
            resolve_addr_sender(q.res, &sender, span_of(qr->address), &reply)) {
            case LK_FOUND:
                break;
            case LK_NOTFOUND:
            case LK_TEMPFAIL:
                msg_warn("%s: resolve <%s>: %s", m->id, qr->address,
                         buf_str(&reply.why));
                defer_rcpt(m, i, "none", "4.3.0", "address resolver failure");
                continue;
        }
        /* A content filter (content_filter, a FILTER action) takes every
         * recipient: "transport:nexthop", the recipient's own next hop
         * when the filter names none. */
        if (filter != NULL) {
            const char *colon = strchr(filter, ':');

            if (colon && colon > filter) {
                buf_set(&reply.transport, filter);
                buf_truncate(&reply.transport, (size_t) (colon - filter));
                if (colon[1])
                    buf_set(&reply.nexthop, colon + 1);
            }
        }
        m->r[i].address = mem_strdup(buf_str(&reply.recipient));
        m->r[i].nexthop = mem_strdup(buf_str(&reply.nexthop));
        /* With one recipient per delivery, the recipient is the
         * destination of the concurrency limit, as in Postfix. */
        dest = m->r[i].nexthop;
        qmgr_sched_limits(q.sched, buf_str(&reply.transport), &lim);
        if (lim.rcpt_limit == 1)
            dest = m->r[i].address;
        (void) qmgr_sched_add(q.sched, buf_str(&reply.transport), dest, m, i);
    }
    drain_retry();
    m->scheduling = false;
    resolve_reply_fini(&reply);
    if (qmgr_sched_pending(q.sched, m) == 0 && m->jobs == 0) {
        m->finishing = true;
        argv_add(q.finish, m->id);
    }
    kick();
}

/* msg_load - take the file ID in active/ into the scheduler */
static void msg_load(const char *id, bool first)
{
    struct buf path = BUF_INIT;
    struct buf data = BUF_INIT;
    struct buf why = BUF_INIT;
    struct qmsg *m;
    int fd = -1;
    long life;

    if (htable_find(q.msgs, id))
        return;
    m = mem_zalloc(sizeof(*m));
    m->fd = -1;
    str_copy(m->id, sizeof(m->id), id);
    if (queue_dir_path(&q.qd, QUEUE_ACTIVE, id, &path, &why) < 0) {
        msg_warn("%s", buf_str(&why));
        goto drop;
    }
    switch (queue_file_read(buf_str(&path), O_RDWR, q.max_file, &fd, &data,
                            &m->env, &why)) {
        case QUEUE_READ_OK:
            break;
        case QUEUE_READ_GONE:
            goto drop;
        case QUEUE_READ_CORRUPT:
            msg_warn("%s: corrupt queue file: %s", id, buf_str(&why));
            buf_reset(&why);
            if (queue_dir_move(&q.qd, QUEUE_ACTIVE, QUEUE_CORRUPT, id, &why)
                < 0)
                msg_warn("%s: move to corrupt: %s", id, buf_str(&why));
            else
                msg_warn("saving corrupt file \"%s\" from queue \"active\" to "
                         "queue \"corrupt\"",
                         id);
            goto drop;
        case QUEUE_READ_ERROR:
            msg_warn("%s: %s (will try again)", id, buf_str(&why));
            goto drop;
    }
    m->fd = fd;
    /* postsuper -e/-f marks a message with the group execute bit, as
     * Postfix does; its recipients bounce with their last reasons. */
    {
        struct stat st;

        if (fstat(fd, &st) == 0 && (st.st_mode & S_IXGRP)) {
            m->forced = true;
            if (msg_log_read(&q.qd, QUEUE_DEFER, id, &m->forced_log, &why)
                < 0) {
                msg_warn("%s: %s", id, buf_str(&why));
                buf_reset(&why);
            }
        }
    }
    /* A new attempt: the defer log will hold this attempt's reasons. */
    remove_log(id, QUEUE_DEFER);
    m->r = mem_calloc(m->env.nrcpt + 1, sizeof(*m->r));
    life = m->env.sender[0] == 0 ? q.bounce_life : q.max_life;
    m->expired =
        m->forced || qmgr_expired(m->env.arrival.tv_sec, time(NULL), life);
    m->verify = queue_env_attr(&m->env, "verify") != NULL;
    /* sendmail -v: a report of the first attempt only */
    m->trace = first && !m->verify && queue_env_attr(&m->env, "trace") != NULL;
    msg_info("%s: from=<%s>, size=%lld, nrcpt=%zu (queue active)", id,
             m->env.sender, m->env.message_size, m->env.nrcpt);
    htable_enter(q.msgs, m->id, m);
    q.nmsgs++;
    buf_fini(&path);
    buf_fini(&data);
    buf_fini(&why);
    msg_schedule(m);
    return;
drop:
    queue_env_fini(&m->env);
    mem_free(m);
    buf_fini(&path);
    buf_fini(&data);
    buf_fini(&why);
}

/* take - move ID from folder F (at PATH) to active/ and load it */
static void take(enum queue_folder f, const char *id, const char *path)
{
    struct buf why = BUF_INIT;

    if (f != QUEUE_ACTIVE
        && queue_dir_move_path_unsynced(&q.qd, path, QUEUE_ACTIVE, id, &why)
               < 0) {
        if (errno != ENOENT)
            msg_warn("%s: move to active: %s", id, buf_str(&why));
    } else {
        msg_load(id, f == QUEUE_INCOMING);
    }
    buf_fini(&why);
}

/* scan_folder - take the messages of F: incoming (all), active (those not
 * in memory: recovery), deferred (those whose retry time has come, or
 * ALL of them for a flush); up to qmgr_message_active_limit in memory */
static void scan_folder(enum queue_folder f, bool all)
{
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct queue_scan *s = queue_scan_open(&q.qd, f, &why);
    struct argv *ids = argv_new();
    struct argv *paths = argv_new();
    const char *id;
    time_t now = time(NULL);

    if (s == NULL) {
        msg_warn("scan %s: %s", queue_folder_name(f), buf_str(&why));
        goto out;
    }
    while ((id = queue_scan_next(s, &path)) != NULL) {
        struct stat st;

        if (htable_find(q.msgs, id))
            continue;
        if (f == QUEUE_DEFERRED && !all
            && (lstat(buf_str(&path), &st) < 0 || st.st_mtime > now))
            continue;
        argv_add(ids, id);
        argv_add(paths, buf_str(&path));
    }
    if (queue_scan_error(s))
        msg_warn("scan %s: %s", queue_folder_name(f), queue_scan_error(s));
    queue_scan_close(s);
    for (size_t i = 0; i < ids->argc; i++) {
        if (q.active_limit > 0 && q.nmsgs >= (size_t) q.active_limit)
            break;
        take(f, ids->argv[i], paths->argv[i]);
    }
out:
    argv_free(ids);
    argv_free(paths);
    buf_fini(&path);
    buf_fini(&why);
}

/* for_site - the file at PATH has a recipient not yet delivered whose
 * domain is SITE (case does not matter) */
static bool for_site(const char *path, const char *site)
{
    struct buf data = BUF_INIT;
    struct buf why = BUF_INIT;
    struct queue_env env = {0};
    bool yes = false;
    int fd = -1;

    if (queue_file_read(path, O_RDONLY, q.max_file, &fd, &data, &env, &why)
        == QUEUE_READ_OK) {
        for (size_t i = 0; i < env.nrcpt && !yes; i++) {
            const char *at = strrchr(env.rcpts[i].address, '@');

            yes = !env.rcpts[i].done && at != NULL
                  && strcasecmp(at + 1, site) == 0;
        }
    }
    if (fd >= 0)
        close(fd);
    queue_env_fini(&env);
    buf_fini(&data);
    buf_fini(&why);
    return yes;
}

/* flush_site - take the deferred messages with a recipient at SITE now
 * (postqueue -s, ETRN); up to qmgr_message_active_limit in memory */
static void flush_site(const char *site)
{
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct queue_scan *s = queue_scan_open(&q.qd, QUEUE_DEFERRED, &why);
    struct argv *ids = argv_new();
    struct argv *paths = argv_new();
    const char *id;

    if (s == NULL) {
        msg_warn("scan deferred: %s", buf_str(&why));
        goto out;
    }
    while ((id = queue_scan_next(s, &path)) != NULL) {
        if (htable_find(q.msgs, id) || !for_site(buf_str(&path), site))
            continue;
        argv_add(ids, id);
        argv_add(paths, buf_str(&path));
    }
    if (queue_scan_error(s))
        msg_warn("scan deferred: %s", queue_scan_error(s));
    queue_scan_close(s);
    for (size_t i = 0; i < ids->argc; i++) {
        if (q.active_limit > 0 && q.nmsgs >= (size_t) q.active_limit)
            break;
        take(QUEUE_DEFERRED, ids->argv[i], paths->argv[i]);
    }
out:
    argv_free(ids);
    argv_free(paths);
    buf_fini(&path);
    buf_fini(&why);
}

/* on_kick - the deferred work: incoming scan, finished messages, new
 * deliveries */
static void on_kick(int fd, int what, void *arg)
{
    struct qmgr_job *job;

    (void) fd;
    (void) what;
    (void) arg;
    if (server_draining(q.srv))
        return;
    if (q.scan_incoming) {
        q.scan_incoming = false;
        scan_folder(QUEUE_INCOMING, true);
    }
    while (q.finish->argc > 0) {
        struct argv *list = q.finish;

        q.finish = argv_new();
        for (size_t i = 0; i < list->argc; i++) {
            struct qmsg *m = htable_find(q.msgs, list->argv[i]);

            if (m)
                msg_finish(m);
        }
        argv_free(list);
    }
    while ((job = qmgr_sched_next(q.sched)) != NULL)
        deliv_start(job);
    arm_due();
    if (q.scan_incoming || q.finish->argc > 0)
        kick();
}

/* arm_due - wake up when a destination's rate delay runs out */
static void arm_due(void)
{
    double due = qmgr_sched_due(q.sched);
    struct timespec ts;
    double ms;

    if (due == 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ms = (due - ((double) ts.tv_sec + ts.tv_nsec / 1e9)) * 1000 + 1;
    loop_ev_arm(q.due_ev, ms < 1 ? 1 : (long) ms);
}

/* on_due - a rate delay has run out: start what may start */
static void on_due(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
    kick();
}

/* kick - run on_kick from the loop soon */
static void kick(void)
{
    if (!loop_ev_armed(q.kick))
        loop_ev_arm(q.kick, 0);
}

/* on_scan - the periodic queue run */
static void on_scan(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
    loop_ev_arm(q.scan_ev, q.run_delay * 1000);
    if (server_draining(q.srv))
        return;
    scan_folder(QUEUE_ACTIVE, true);
    scan_folder(QUEUE_INCOMING, true);
    scan_folder(QUEUE_DEFERRED, false);
    kick();
}

/*
 * The public socket: the master's "W", wakeup and flush frames.
 */

/* conn_close - end a connection on the public socket */
static void conn_close(struct qconn *c)
{
    loop_ev_free(c->rev);
    loop_ev_free(c->timer);
    close(c->fd);
    ipc_reader_fini(&c->rd);
    mem_free(c);
    server_session_done(q.srv);
}

/* conn_reply - answer a request (a peer that went away is no error) */
static void conn_reply(struct qconn *c, uint32_t reqid, int status,
                       const char *reason)
{
    struct ipc_reply rep = {.status = status, .reason = (char *) reason};
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;

    if (ipc_reply_encode(&rep, reqid, &out, &why) == 0
        && ipc_send(c->fd, span_make(buf_str(&out), buf_len(&out)), -1, 1000,
                    &why)
               < 0)
        buf_reset(&why); /* the client went away: nothing to do */
    buf_fini(&out);
    buf_fini(&why);
}

/* conn_frame - one request frame; -1: close the connection */
static int conn_frame(struct qconn *c, const struct ipc_frame *frame)
{
    struct buf why = BUF_INIT;
    int ret = 0;

    if (frame->type == ipc_wakeup_desc.type) {
        struct ipc_wakeup w;

        if (ipc_wakeup_decode(frame, &w, &why) < 0) {
            msg_warn("public socket: bad wakeup: %s", buf_str(&why));
            conn_reply(c, frame->request_id, IPC_REPLY_FAIL, "bad request");
            ret = -1;
        } else {
            if (strcmp(w.queue_name, "incoming") == 0)
                q.scan_incoming = true;
            else if (strcmp(w.queue_name, "deferred") == 0)
                scan_folder(QUEUE_DEFERRED, false);
            kick();
            conn_reply(c, frame->request_id, IPC_REPLY_OK, NULL);
            ipc_wakeup_fini(&w);
        }
    } else if (frame->type == ipc_flush_desc.type) {
        struct ipc_flush fl;

        if (ipc_flush_decode(frame, &fl, &why) < 0) {
            msg_warn("public socket: bad flush: %s", buf_str(&why));
            conn_reply(c, frame->request_id, IPC_REPLY_FAIL, "bad request");
            ret = -1;
        } else {
            /* One message (postqueue -i), the messages for one site
             * (postqueue -s, ETRN), or every deferred message. */
            if (fl.domain != NULL && fl.queue_id == NULL) {
                if (fl.domain[0] == 0 || strlen(fl.domain) > 255)
                    msg_warn("public socket: flush: bad site");
                else
                    flush_site(fl.domain);
            } else if (fl.queue_id != NULL) {
                struct buf path = BUF_INIT;

                if (!queue_id_valid(fl.queue_id)) {
                    msg_warn("public socket: flush: bad queue ID");
                } else if (queue_dir_path(&q.qd, QUEUE_DEFERRED, fl.queue_id,
                                          &path, &why)
                               == 0
                           && access(buf_str(&path), F_OK) == 0) {
                    take(QUEUE_DEFERRED, fl.queue_id, buf_str(&path));
                }
                buf_fini(&path);
            } else {
                scan_folder(QUEUE_DEFERRED, true);
            }
            q.scan_incoming = true;
            kick();
            conn_reply(c, frame->request_id, IPC_REPLY_OK, NULL);
            ipc_flush_fini(&fl);
        }
    } else {
        msg_warn("public socket: unexpected message type %u",
                 (unsigned) frame->type);
        conn_reply(c, frame->request_id, IPC_REPLY_FAIL, "unknown request");
        ret = -1;
    }
    buf_fini(&why);
    return ret;
}

/* conn_on_read - bytes on a public socket connection */
static void conn_on_read(int fd, int what, void *arg)
{
    struct qconn *c = arg;
    struct buf why = BUF_INIT;
    struct ipc_frame frame;
    int pfd = -1;
    char b[SERVER_TRIGGER_MAX];
    ssize_t n;

    (void) fd;
    (void) what;
    if (!c->frames) {
        n = recv(c->fd, b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            goto out;
        if (n <= 0) {
            conn_close(c);
            goto out;
        }
        if (b[0] != 0) {
            /* The master's wakeup byte (or another trigger): read what is
             * there and run the queue. */
            while ((n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
                ;
            q.scan_incoming = true;
            kick();
            if (n == 0 || (n < 0 && errno != EAGAIN))
                conn_close(c);
            goto out;
        }
        c->frames = true;
    }
    for (;;) {
        enum ipc_read_result rr =
            ipc_reader_read(&c->rd, c->fd, &frame, &pfd, &why);

        if (pfd >= 0) {
            close(pfd);
            pfd = -1;
        }
        if (rr == IPC_READ_MORE)
            break;
        if (rr == IPC_READ_ERROR)
            msg_warn("public socket: %s", buf_str(&why));
        if (rr != IPC_READ_FRAME || conn_frame(c, &frame) < 0) {
            conn_close(c);
            break;
        }
    }
out:
    buf_fini(&why);
}

/* conn_on_timeout - a client that says nothing */
static void conn_on_timeout(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    conn_close(arg);
}

/* on_accept - a connection on the public socket */
static void on_accept(struct server *srv, int fd)
{
    struct qconn *c = mem_zalloc(sizeof(*c));

    (void) srv;
    c->fd = fd;
    ipc_reader_init(&c->rd);
    c->rev = loop_read(q.loop, fd, conn_on_read, c);
    loop_ev_arm(c->rev, -1);
    c->timer = loop_timer(q.loop, conn_on_timeout, c);
    loop_ev_arm(c->timer, q.ipc_timeout * 1000);
}

/*
 * Configuration and start.
 */

/* limit_param - TRANSPORT_NAME when set (or a known parameter), else
 * default_NAME */
static long limit_param(const char *transport, const char *name)
{
    struct buf pname = BUF_INIT;
    const char *text;
    long v = -1;

    buf_setf(&pname, "%s_%s", transport, name);
    text = conf_str(buf_str(&pname));
    if (text[0] == 0 || conf_parse_long(text, &v) < 0 || v < 0) {
        buf_setf(&pname, "default_%s", name);
        v = conf_int(buf_str(&pname));
    }
    buf_fini(&pname);
    return v;
}

/* transport_param - the text of TRANSPORT_NAME when set, else of
 * DEFAULT_NAME (the global parameter) */
static const char *transport_param(const char *transport, const char *name,
                                   const char *default_name)
{
    struct buf pname = BUF_INIT;
    const char *text;

    buf_setf(&pname, "%s_%s", transport, name);
    text = conf_str(buf_str(&pname)); /* the configuration's own string */
    buf_fini(&pname);
    return text[0] != 0 ? text : conf_str(default_name);
}

/* feedback_param - a concurrency feedback setting of TRANSPORT; a bad
 * value is warned about and taken as 1 (the default) */
static void feedback_param(const char *transport, const char *name,
                           struct qmgr_feedback *out)
{
    struct buf dname = BUF_INIT;
    struct buf why = BUF_INIT;
    const char *text;

    buf_setf(&dname, "default_%s", name);
    text = transport_param(transport, name, buf_str(&dname));
    if (qmgr_feedback_parse(text, out, &why) < 0) {
        msg_warn("transport %s: %s: %s (using 1)", transport, name,
                 buf_str(&why));
        out->amount = 1;
        out->per_conc = false;
    }
    buf_fini(&dname);
    buf_fini(&why);
}

/* number_param - an integer (TIME: a time in seconds) setting of
 * TRANSPORT, else of DEFAULT_NAME; a bad value is warned about and the
 * default's value used */
static long number_param(const char *transport, const char *name,
                         const char *default_name, bool time)
{
    const char *text = transport_param(transport, name, default_name);
    long v;

    if ((time ? conf_parse_time(text, 's', &v) : conf_parse_long(text, &v)) < 0
        || v < 0) {
        msg_warn("transport %s: %s: bad value \"%s\" (using $%s)", transport,
                 name, text, default_name);
        v = time ? conf_time(default_name) : conf_int(default_name);
    }
    return v;
}

/* qmgr_limits - qmgr_limits_fn: main.cf and master.cf limits */
static void qmgr_limits(void *ctx, const char *transport,
                        struct qmgr_limits *out)
{
    const struct master_ent *e;

    (void) ctx;
    out->dest_limit =
        (int) limit_param(transport, "destination_concurrency_limit");
    out->rcpt_limit =
        (int) limit_param(transport, "destination_recipient_limit");
    out->init_conc =
        (int) number_param(transport, "initial_destination_concurrency",
                           "initial_destination_concurrency", false);
    if (out->init_conc < 1)
        out->init_conc = 1;
    feedback_param(transport, "destination_concurrency_positive_feedback",
                   &out->pos);
    feedback_param(transport, "destination_concurrency_negative_feedback",
                   &out->neg);
    out->cohort_limit = (double) number_param(
        transport, "destination_concurrency_failed_cohort_limit",
        "default_destination_concurrency_failed_cohort_limit", false);
    out->rate_delay =
        (double) number_param(transport, "destination_rate_delay",
                              "default_destination_rate_delay", true);
    out->dead_delay = (double) q.min_backoff;
    out->proc_limit = (int) conf_int("default_process_limit");
    if (q.mcf && (e = master_cf_find(q.mcf, transport, "unix")) != NULL)
        out->proc_limit =
            (int) master_ent_maxproc(e, conf_int("default_process_limit"));
}

/* Descriptors kept for deliveries, sockets and tables besides the open
 * queue files of the messages in memory. */
#define QMGR_FD_RESERVE 1024

/* fd_budget - each message in memory keeps its queue file open: raise the
 * open file limit to LIMIT messages plus the reserve, or lower LIMIT to
 * what the hard limit allows (with a warning), so that a large backlog
 * never runs out of descriptors */
static long fd_budget(long limit)
{
    struct rlimit rl;
    rlim_t want;
    long fit;

    if (limit <= 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return limit;
    want = (rlim_t) limit + QMGR_FD_RESERVE;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want
                          ? want
                          : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            (void) getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= want)
        return limit;
    fit = rl.rlim_cur > 2 * QMGR_FD_RESERVE
              ? (long) rl.rlim_cur - QMGR_FD_RESERVE
              : (long) rl.rlim_cur / 2;
    msg_warn("open file limit %lu: qmgr_message_active_limit lowered from "
             "%ld to %ld",
             (unsigned long) rl.rlim_cur, limit, fit);
    return fit;
}

/* post_jail - the queue, the tables, the timers; then recovery */
static int post_jail(struct server *srv, struct buf *why)
{
    struct buf path = BUF_INIT;
    long limit;

    q.srv = srv;
    q.loop = server_loop(srv);
    if (queue_dir_init_conf(&q.qd, why) < 0)
        return -1;
    buf_setf(&path, "%s/master.cf", conf_dir());
    if ((q.mcf = master_cf_load(buf_str(&path), why)) == NULL) {
        msg_warn("%s (process limits: $default_process_limit)", buf_str(why));
        buf_reset(why);
    }
    buf_fini(&path);
    q.res = resolve_open();
    if (q.mcf != NULL) {
        const struct master_ent *e =
            master_cf_find(q.mcf, RETRY_SERVICE, "unix");

        q.retry = e != NULL && e->command->argc > 0
                  && strcmp(e->command->argv[0], "error") == 0;
    }
    q.sched = qmgr_sched_new(qmgr_limits, NULL);
    qmgr_sched_on_defer(q.sched, on_sched_defer, NULL);
    q.msgs = htable_new(256);
    q.finish = argv_new();
    q.active_limit = fd_budget(conf_int("qmgr_message_active_limit"));
    q.run_delay = conf_time("queue_run_delay");
    q.min_backoff = conf_time("minimal_backoff_time");
    q.max_backoff = conf_time("maximal_backoff_time");
    q.transport_retry = conf_time("transport_retry_time");
    q.max_life = conf_time("maximal_queue_lifetime");
    q.bounce_life = conf_time("bounce_queue_lifetime");
    q.ipc_timeout = conf_time("qmgr_ipc_timeout");
    q.daemon_timeout = conf_time("qmgr_daemon_timeout");
    if (q.run_delay < 1)
        q.run_delay = 1;
    limit = conf_size("message_size_limit");
    q.max_file =
        limit > 0 ? (size_t) limit * 2 + ((size_t) 1 << 20) : (size_t) 1 << 40;
    q.kick = loop_timer(q.loop, on_kick, NULL);
    q.scan_ev = loop_timer(q.loop, on_scan, NULL);
    q.due_ev = loop_timer(q.loop, on_due, NULL);
    /* Recovery: what a crash left in active/, then the rest. */
    loop_ev_arm(q.scan_ev, 0);
    return 0;
}

/* msg_free_ent - htable_free_fn for the message table */
static void msg_free_ent(void *p)
{
    msg_free(p);
}

/* on_exit_qmgr - free what the loop may still refer to */
static void on_exit_qmgr(struct server *srv)
{
    (void) srv;
    loop_ev_free(q.kick);
    loop_ev_free(q.scan_ev);
    loop_ev_free(q.due_ev);
    q.kick = q.scan_ev = q.due_ev = NULL;
    /* Deliveries are sessions (server_session_begin): a stop waits for
     * them.  Messages with recipients still queued stay in active/ and
     * the next qmgr takes them up. */
    if (q.msgs)
        htable_free(q.msgs, msg_free_ent);
    q.msgs = NULL;
    argv_free(q.finish);
    q.finish = NULL;
    mem_free(q.retries);
    q.retries = NULL;
    qmgr_sched_free(q.sched);
    q.sched = NULL;
    resolve_free(q.res);
    master_cf_free(q.mcf);
    queue_dir_fini(&q.qd);
}

/* qmgr_main - the queue manager */
int qmgr_main(int argc, char **argv)
{
    static const struct server_spec spec = {
        .name = "qmgr",
        .max_sessions = 0,
        .long_running = true,
        .post_jail = post_jail,
        .on_accept = on_accept,
        .on_exit = on_exit_qmgr,
    };

    return server_run(&spec, argc, argv);
}
