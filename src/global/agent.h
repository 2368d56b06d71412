/*
 * agent - the delivery agent side of the qmgr protocol, shared by local,
 * virtual, error and discard.
 *
 * One session is one connection from the qmgr: agent_session() reads one
 * deliver_req frame (ipc_msgs.def) within $AGENT_REQ_TIMEOUT seconds,
 * opens and parses the queue file that it names (queue_name/queue_id under
 * queue_directory), calls the daemon's per-recipient function for each
 * recipient in order, and for each one logs Postfix's delivery line
 *
 *   QUEUEID: to=<rcpt>, orig_to=<orig>, relay=R, delay=D,
 *   delays=a/b/c/d, dsn=X.Y.Z, status=sent|deferred|bounced (text)
 *
 * (orig_to only when it differs from to) and sends one deliver_status
 * frame with the request's request_id, the last one with done = 1.  The
 * delays are: a, arrival to the qmgr taking the message in (deliver_req
 * active_usec; without it, to the request); b, in the qmgr until the
 * request arrived; c, connection setup (0 here); d, the delivery itself.
 *
 * A queue file that is missing, not a regular file or malformed defers
 * every recipient with 4.3.0 and the reason (the qmgr moves a damaged file
 * to corrupt/; the agent never changes the queue).  A request that does not
 * decode ends the session with a warning and no reply.
 *
 * With IPC_DELIVER_F_VERIFY in the request's flags (sendmail -bv, address
 * verification) the per-recipient function decides without delivering
 * (agent_verify), and the actions are deliverable / undeliverable
 * (status=deliverable|undeliverable in the log).
 *
 * Ownership: struct agent_msg and everything in it belong to
 * agent_session for the duration of the calls; the per-recipient function
 * borrows it.
 */
#ifndef ULAK_AGENT_H
#define ULAK_AGENT_H

#include <sys/time.h>

#include "../lib/buf.h"
#include "deliver.h"
#include "dsn.h"
#include "ipc_msgs.h"
#include "queue_file.h"
#include "server.h"

/* Seconds to wait for the request after the connection. */
#define AGENT_REQ_TIMEOUT  100
/* Seconds agent_pass waits for the other agent's status. */
#define AGENT_PASS_TIMEOUT 3600

/* One request: the decoded frame and the parsed queue file. */
struct agent_msg {
    struct ipc_deliver_req req;
    uint32_t request_id;
    struct queue_env env;
    struct buf data;       /* the whole queue file */
    struct timeval t_recv; /* when the request arrived */
};

/* The outcome for one recipient, filled by the daemon. */
struct agent_result {
    char status[DSN_STATUS_SIZE]; /* "2.0.0"; the class picks the action */
    struct buf reason;            /* "delivered to mailbox" */
    bool quiet; /* another agent logged this delivery (agent_pass) */
};

/* agent_rcpt_fn - deliver M to RCPT; fill RES (status and reason). */
typedef void (*agent_rcpt_fn)(void *ctx, struct agent_msg *m,
                              const struct ipc_rcpt *rcpt,
                              struct agent_result *res);

/* agent_session - serve the connection FD (owned: closed at the end) with
 * RELAY as the log's relay= and FN per recipient; then
 * server_session_done(SRV). */
void agent_session(struct server *srv, int fd, const char *relay,
                   agent_rcpt_fn fn, void *ctx);

/* agent_msg_load - load and parse the queue file that M->req names into
 * M->data and M->env (M->env needs queue_env_fini in every case); -1
 * with the reason for deferring every recipient (4.3.0). */
int agent_msg_load(struct agent_msg *m, struct buf *why);

/* What an agent with remote servers adds to a status (all optional). */
struct agent_status_extra {
    const char *remote_mta;          /* "dns; mx.example.test" (borrowed) */
    const char *diag_code;           /* "smtp; 550 5.1.1 ..." (borrowed) */
    const struct timeval *conn_done; /* end of connection setup: delays c
                                      * and d; NULL: c is 0 */
    bool last;                       /* done = 1: the request's last status */
    bool dest_fail;                  /* with last: the destination failed */
};

/* agent_log_delivery - log Postfix's delivery line for RCPT of M with
 * RELAY and D; CONN_DONE as in struct agent_status_extra. */
void agent_log_delivery(const struct agent_msg *m, const char *relay,
                        const struct ipc_rcpt *rcpt, const struct dsn *d,
                        const struct timeval *conn_done);

/* agent_status_frame - log RES for RCPT (unless RES->quiet) and append
 * its deliver_status frame to OUT (X may be NULL); -1 when the status does
 * not encode (logged). */
int agent_status_frame(const struct agent_msg *m, const char *relay,
                       const struct ipc_rcpt *rcpt,
                       const struct agent_result *res,
                       const struct agent_status_extra *x, struct buf *out);

/* agent_verify - whether M only asks how its recipients would go. */
static inline bool agent_verify(const struct agent_msg *m)
{
    return (m->req.flags & IPC_DELIVER_F_VERIFY) != 0;
}

/* agent_result_set - STATUS and printf-style reason into RES. */
void agent_result_set(struct agent_result *res, const char *status,
                      const char *fmt, ...) ULAK_PRINTFLIKE(3, 4);

/* The message content of M as a deliver_src (lines without LF, long lines
 * in pieces), read from the queue file in memory. */
struct agent_src {
    struct queue_content c;
};
void agent_src_init(struct agent_src *as, struct agent_msg *m,
                    struct deliver_src *src);

/*
 * agent_delay_format - SECS as Postfix prints delay= and delays= values:
 * rounded to two significant digits, at most two after the point, whole
 * seconds from 10 on ("48", "1.5", "0.25", "0.01"), trailing zeros
 * removed, and "0" below 0.005 (delay_logging_resolution_limit = 2).
 */
void agent_delay_format(double secs, struct buf *out);

/*
 * agent_nexthop_text - split a next-hop text as error(8) and discard(8)
 * take it: an optional RFC 3463 code and a space ("5.1.1 no such user"),
 * then the reason.  RES gets the code, or DEFAULT_DSN when there is none;
 * a code of another class than DEFAULT_DSN's is ignored with a warning
 * ('ignoring dsn code "4.2.2"') and DEFAULT_DSN used, as Postfix 3.7 does
 * (error bounces, retry defers, discard delivers).  An empty reason
 * becomes EMPTY_TEXT.
 */
void agent_nexthop_text(const char *nexthop, const char *default_dsn,
                        const char *empty_text, struct agent_result *res);

/*
 * agent_pass - hand recipient RCPT of M to the delivery agent TRANSPORT
 * (its socket private/TRANSPORT under queue_directory) with NEXTHOP, as
 * the qmgr would: one deliver_req for the same queue file and recipient
 * record, SENDER as the envelope sender.  RES gets the status that agent
 * sends back, and is quiet (that agent logged the delivery line); a
 * failure to reach it is 4.3.0 with the reason.  For local(8)'s
 * mailbox_transport and fallback_transport, as Postfix's local passes the
 * request on.
 */
void agent_pass(struct agent_msg *m, const struct ipc_rcpt *rcpt,
                const char *sender, const char *transport, const char *nexthop,
                struct agent_result *res);

/* agent_sanitize - TEXT with bytes outside printable ASCII as '?', capped
 * at 1000 bytes, appended to OUT (for the log and the reply). */
void agent_sanitize(const char *text, struct buf *out);

#endif
