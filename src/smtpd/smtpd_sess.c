/*
 * smtpd_sess - one SMTP session (see smtpd.h).
 *
 * Input is read into a bounded buffer and taken one command line at a
 * time (smtpd_line_take); pipelined commands are answered in order and
 * the replies go out together when no complete command is left in the
 * buffer, as Postfix flushes them.  While the session sleeps (error
 * delay) or its replies cannot be written, it does not read.
 *
 * DATA ends only at CR LF "." CR LF: a "." line after a bare LF, or one
 * ended by a bare LF, is content (no SMTP smuggling); a line that ends
 * with a bare LF is stored as a line, as Postfix stores it.  A content
 * line longer than SESS_DATA_LINE_MAX is cut there (queue records keep
 * lines of any length; this bounds the memory of one session).
 */
#include "smtpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../lib/argv.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "../global/queue_file.h"
#include "../global/addr.h"
#include "../global/dsn.h"
#include "../global/flush_clnt.h"
#include "../global/dns.h"
#include "../global/resolve.h"
#include "smtpd_policy.h"

#define SESS_READ_CHUNK    16384
#define SESS_DATA_LINE_MAX (256 * 1024)
#define SESS_OUT_HIGH      (64 * 1024) /* stop reading above this */
#define SESS_PENDING       (-2) /* check(): waiting for a policy or DNS */

/* What waits for a policy server's answer (smtpd_sess.policy_kind). */
enum {
    PW_LINE = 1,
    PW_EOD,
    PW_CONNECT
};

/* The command counters of the "disconnect from" line, in Postfix's
 * order. */
enum cstat {
    ST_HELO,
    ST_EHLO,
    ST_XCLIENT,
    ST_XFORWARD,
    ST_STARTTLS,
    ST_AUTH,
    ST_MAIL,
    ST_RCPT,
    ST_DATA,
    ST_BDAT,
    ST_RSET,
    ST_NOOP,
    ST_VRFY,
    ST_ETRN,
    ST_QUIT,
    ST_UNKNOWN,
    ST_COUNT,
};
static const char *const stat_names[ST_COUNT] = {
    "helo", "ehlo", "xclient", "xforward", "starttls", "auth",
    "mail", "rcpt", "data",    "bdat",     "rset",     "noop",
    "vrfy", "etrn", "quit",    "unknown",
};

enum mode {
    M_CMD,  /* reading commands */
    M_DATA, /* reading DATA content */
    M_BDAT, /* reading a BDAT chunk */
};

struct rcpt {
    char *addr;  /* internal form */
    char *orcpt; /* "type;addr" or NULL */
    int notify;
};

struct smtpd_sess {
    struct smtpd *d;
    int fd;
    int wfd; /* replies: fd, or standard output for sendmail -bs */
    struct loop_ev *rev, *wev, *sleep_ev;
    /* Input: bytes in ibuf[ioff, ilen). */
    char *ibuf;
    size_t ioff, ilen, icap;
    bool skip_line; /* the rest of an overlong command line */
    bool eof;
    /* Output: bytes in out from ooff on. */
    struct buf out;
    size_t ooff;
    bool closing; /* close when the output is written */
    bool sleeping;
    /* Waiting for anvil or for the queue file commit: input stays
     * buffered until the answer. */
    bool waiting;
    uint32_t anvil_id;
    bool anvil_registered; /* a connection anvil counts */
    struct buf anvil_addr; /* the address it was counted for */
    struct buf gate_line;  /* the command that waits */
    bool gate_passed;      /* its rate check is done */
    enum mode mode;
    /* The client. */
    struct buf addr, name, reverse, port, namaddr, rfc_addr;
    /* The name lookups (smtpd_peer_lookup): 0 found, 4 temporary failure,
     * 5 not found; the greeting waits for peer_lk. */
    int name_status, reverse_status;
    struct smtpd_peer_lookup *peer_lk;
    struct buf helo;
    bool have_helo;
    const char *proto; /* "SMTP" or "ESMTP" */
    bool xclient_ok, xforward_ok;
    struct buf fwd_name, fwd_addr, fwd_port, fwd_helo, fwd_proto, fwd_ident;
    struct buf fwd_source;
    const char *where; /* the last command, for log lines */
    long errors, junk;
    unsigned stat_ok[ST_COUNT], stat_all[ST_COUNT];
    struct buf denied; /* a connect-time reject (smtpd_delay_reject no) */
    struct buf dip;    /* a DEFER_IF_PERMIT kept for later checks */
    bool local_rewrite;
    bool pipelining;        /* EHLO announced PIPELINING */
    bool unauth_pipelining; /* commands sent ahead where not allowed */
    /* The transaction. */
    bool in_tx;
    struct smtpd_mail mail;
    struct buf sender_ext; /* MAIL FROM as sent, for log lines */
    struct rcpt *rcpts;
    size_t nrcpt, rcpt_cap;
    long rcpt_tries;
    struct buf rcpt_ext; /* the last RCPT TO as sent */
    struct cleanup *c;
    struct cleanup_job *commit; /* the queue file on its way to disk */
    bool commit_bdat;           /* ... of a BDAT transaction */
    struct buf queue_id;
    struct argv *prepend;
    struct argv *actions;         /* "HOLD", "FILTER x:y", ... for cleanup */
    struct argv *pending_actions; /* from checks outside a transaction */
    struct argv *pending_prepend;
    /* DATA and BDAT. */
    struct buf dline;
    bool prev_crlf;
    bool data_started; /* the first content line was written */
    unsigned long long data_bytes;
    unsigned long long bdat_left;
    bool bdat_last;
    bool bdat_mode; /* this transaction uses BDAT */
    bool bdat_failed;
    bool bdat_discard;             /* answer this chunk "Discarded N bytes" */
    unsigned long long bdat_count; /* this chunk's size */
    struct smtpd_check_run run;
    /* A restriction run waits for a policy server (smtpd_policy.h):
     * input stays buffered (waiting) until the answer; then what waited
     * runs again (policy_kind: the command line policy_line, the end of
     * the message, or the connection) and its check resumes. */
    uint32_t policy_id;
    struct dns_query *dns_q; /* a restriction's DNS lookup */
    int policy_kind;
    struct buf policy_line;
    struct span cur_line; /* the command being handled */
    bool resuming;
    struct buf instance; /* the policy "instance" of this message */
    char saddr[INET6_ADDRSTRLEN], sport[8]; /* our end, for the policy */
    bool have_saddr;
    struct timeval arrival;
    /* smtpd_per_request_deadline: when the request being read must be
     * complete (CLOCK_MONOTONIC milliseconds). */
    long long deadline;
};

static void process(struct smtpd_sess *s);
static void policy_wait(struct smtpd_sess *s);
static void on_policy(void *arg, const char *action);
static void on_dns(void *arg, const struct dns_answer *ans);
static void sess_wait(struct smtpd_sess *s);
static void sess_free(struct smtpd_sess *s);
static int open_queue(struct smtpd_sess *s);
static void cmd_mail(struct smtpd_sess *s, const struct smtpd_cmd *cmd,
                     struct span line);
static void cmd_rcpt(struct smtpd_sess *s, const struct smtpd_cmd *cmd,
                     struct span line);
static bool limited(const struct smtpd_sess *s, long limit);
static bool gate(struct smtpd_sess *s, enum ipc_anvil_op op, struct span line);

/* now_ms - the monotonic clock in milliseconds */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* nz - S or "" */
static const char *nz(const char *s)
{
    return s ? s : "";
}

/*
 * Output.
 */

/* reply - queue one reply line (CRLF added); with soft_bounce a 5XX
 * goes out as 4XX, its enhanced code too, as Postfix's smtpd sends it */
static void reply(struct smtpd_sess *s, const char *text)
{
    size_t at = buf_len(&s->out);

    buf_cat(&s->out, text);
    if (s->d->soft_bounce && text[0] == '5') {
        s->out.data[at] = '4';
        if (text[1] && text[2] && text[3] == ' ' && text[4] == '5'
            && text[5] == '.')
            s->out.data[at + 4] = '4';
    }
    buf_cat(&s->out, "\r\n");
    if (text[0] == '4' || text[0] == '5')
        s->errors++;
}

/* flush - write what can be written now; the rest waits for the socket */
static void flush(struct smtpd_sess *s)
{
    while (s->ooff < buf_len(&s->out)) {
        ssize_t n = write(s->wfd, buf_str(&s->out) + s->ooff,
                          buf_len(&s->out) - s->ooff);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!loop_ev_armed(s->wev))
                loop_ev_arm(s->wev, s->d->timeout_ms);
            return;
        }
        if (n <= 0) {
            /* The client is gone; what it did not read does not matter. */
            if (!s->closing)
                msg_info("lost connection after %s from %s", s->where,
                         buf_str(&s->namaddr));
            s->eof = true;
            s->closing = true;
            buf_reset(&s->out);
            s->ooff = 0;
            return;
        }
        s->ooff += (size_t) n;
    }
    buf_reset(&s->out);
    s->ooff = 0;
    if (loop_ev_armed(s->wev))
        loop_ev_disarm(s->wev);
}

/*
 * Log lines.
 */

/* log_ctx - "; from=<S> to=<R> proto=P helo=<H>" as Postfix ends a reject
 * line */
static void log_ctx(const struct smtpd_sess *s, bool with_rcpt, struct buf *out)
{
    if (s->in_tx)
        buf_catf(out, "; from=<%s>", buf_str(&s->sender_ext));
    if (with_rcpt && buf_len(&s->rcpt_ext))
        buf_catf(out, "%sto=<%s>", s->in_tx ? " " : "; ",
                 buf_str(&s->rcpt_ext));
    buf_catf(out, "%sproto=%s",
             s->in_tx || (with_rcpt && buf_len(&s->rcpt_ext)) ? " " : "; ",
             s->proto);
    if (s->have_helo)
        buf_catf(out, " helo=<%s>", buf_str(&s->helo));
}

/* log_event - "ID|NOQUEUE: WHAT: CMD from CLIENT: TEXT; from=..." */
static void log_event(const struct smtpd_sess *s, const char *what,
                      const char *text, bool with_rcpt)
{
    struct buf line = BUF_INIT;

    buf_setf(&line, "%s: %s: %s from %s: %s",
             buf_len(&s->queue_id) ? buf_str(&s->queue_id) : "NOQUEUE", what,
             s->where, buf_str(&s->namaddr), text);
    log_ctx(s, with_rcpt, &line);
    msg_info("%s", buf_str(&line));
    buf_fini(&line);
}

/*
 * The transaction.
 */

/* tx_reset - end the transaction: the queue file goes unless committed */
static void tx_reset(struct smtpd_sess *s)
{
    cleanup_abort(s->c);
    s->c = NULL;
    for (size_t i = 0; i < s->nrcpt; i++) {
        mem_free(s->rcpts[i].addr);
        mem_free(s->rcpts[i].orcpt);
    }
    s->nrcpt = 0;
    s->rcpt_tries = 0;
    s->in_tx = false;
    buf_reset(&s->sender_ext);
    buf_reset(&s->rcpt_ext);
    buf_reset(&s->queue_id);
    buf_reset(&s->instance);
    argv_truncate(s->prepend, 0);
    argv_truncate(s->actions, 0);
    s->bdat_mode = false;
    s->bdat_failed = false;
    s->data_started = false;
    s->data_bytes = 0;
    /* A DEFER_IF_PERMIT of the sender goes with its transaction. */
    if (smtpd_check_delay_reject(s->d->check))
        buf_reset(&s->dip);
}

/* effects - remember what an accepting check asked for */
static void effects(struct smtpd_sess *s, const struct smtpd_check_run *run,
                    const char *subject)
{
    const struct smtpd_check_effects *fx = &run->fx;
    struct argv *acts = s->in_tx ? s->actions : s->pending_actions;
    struct argv *pre = s->in_tx ? s->prepend : s->pending_prepend;
    struct buf t = BUF_INIT;

    for (size_t i = 0; i < fx->warnings->argc; i++) {
        const char *w = fx->warnings->argv[i];

        if (str_has_prefix(w, "reject_warning: "))
            log_event(s, "reject_warning", w + 16, true);
        else if (str_has_prefix(w, "warn: "))
            log_event(s, "warn", w + 6, true);
        else if (str_has_prefix(w, "info: "))
            log_event(s, "info", w + 6, true);
        else
            msg_warn("%s", str_has_prefix(w, "warning: ") ? w + 9 : w);
    }
    if (fx->held) {
        buf_setf(&t, "%s triggers HOLD action", subject);
        if (buf_len(&fx->hold))
            buf_catf(&t, ": %s", buf_str(&fx->hold));
        log_event(s, "hold", buf_str(&t), true);
        argv_add(acts, "HOLD");
    }
    if (fx->discard) {
        buf_setf(&t, "%s triggers DISCARD action", subject);
        log_event(s, "discard", buf_str(&t), true);
        argv_add(acts, "DISCARD");
    }
    if (buf_len(&fx->filter)) {
        buf_setf(&t, "%s triggers FILTER %s", subject, buf_str(&fx->filter));
        log_event(s, "filter", buf_str(&t), true);
        buf_setf(&t, "FILTER %s", buf_str(&fx->filter));
        argv_add(acts, buf_str(&t));
    }
    if (buf_len(&fx->redirect)) {
        buf_setf(&t, "%s triggers REDIRECT %s", subject,
                 buf_str(&fx->redirect));
        log_event(s, "redirect", buf_str(&t), true);
        buf_setf(&t, "REDIRECT %s", buf_str(&fx->redirect));
        argv_add(acts, buf_str(&t));
    }
    for (size_t i = 0; i < fx->bcc->argc; i++) {
        buf_setf(&t, "BCC %s", fx->bcc->argv[i]);
        argv_add(acts, buf_str(&t));
    }
    for (size_t i = 0; i < fx->prepend->argc; i++)
        argv_add(pre, fx->prepend->argv[i]);
    buf_fini(&t);
}

/* state_of - the session as the restrictions see it */
static void state_of(const struct smtpd_sess *s, const char *rcpt,
                     struct smtpd_state *st)
{
    memset(st, 0, sizeof(*st));
    st->client_name = buf_str(&s->name);
    st->client_addr = buf_str(&s->addr);
    st->reverse_name = buf_str(&s->reverse);
    /* An "unknown" name (also one that XCLIENT set) is not found unless
     * the lookup said it failed temporarily. */
    st->client_name_status = strcmp(buf_str(&s->name), "unknown") != 0 ? 0
                             : s->name_status ? s->name_status
                                              : 5;
    st->reverse_name_status = strcmp(buf_str(&s->reverse), "unknown") != 0 ? 0
                              : s->reverse_status ? s->reverse_status
                                                  : 5;
    st->helo = s->have_helo ? buf_str(&s->helo) : NULL;
    st->sender = s->in_tx ? buf_str(&s->mail.addr) : NULL;
    st->recipient = rcpt;
    st->defer_if_permit = buf_len(&s->dip) ? buf_str(&s->dip) : NULL;
    st->unauth_pipelining = s->unauth_pipelining;
    st->rcpt_count = (unsigned) s->nrcpt;
    for (size_t i = 0; s->in_tx && i < s->actions->argc; i++)
        if (strcmp(s->actions->argv[i], "DISCARD") == 0)
            st->discarded = true;
}

/* policy_attrs - what a policy request says besides the restrictions'
 * state: the stage's protocol state, the endpoints, the message */
static void policy_attrs(struct smtpd_sess *s, const enum smtpd_stage *stages,
                         size_t n, struct smtpd_state *st)
{
    static unsigned serial;
    enum smtpd_stage last = n ? stages[n - 1] : SMTPD_STAGE_CLIENT;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    st->protocol_state = last == SMTPD_STAGE_DATA  ? "DATA"
                         : last == SMTPD_STAGE_EOD ? "END-OF-MESSAGE"
                                                   : s->where;
    st->protocol_name = s->proto;
    st->client_port = buf_str(&s->port);
    if (!s->have_saddr
        && getsockname(s->fd, (struct sockaddr *) &ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *in = (const void *) &ss;

            (void) inet_ntop(AF_INET, &in->sin_addr, s->saddr,
                             sizeof(s->saddr));
            str_fmt(s->sport, sizeof(s->sport), "%u", ntohs(in->sin_port));
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const void *) &ss;

            if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
                (void) inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], s->saddr,
                                 sizeof(s->saddr));
            else
                (void) inet_ntop(AF_INET6, &in6->sin6_addr, s->saddr,
                                 sizeof(s->saddr));
            str_fmt(s->sport, sizeof(s->sport), "%u", ntohs(in6->sin6_port));
        }
    }
    s->have_saddr = true;
    st->server_address = s->saddr;
    st->server_port = s->sport;
    st->queue_id = buf_str(&s->queue_id);
    /* The message's instance, from its first recipient on (Postfix 3.7
     * sends none at CONNECT, HELO, MAIL or ETRN). */
    if (s->in_tx && last >= SMTPD_STAGE_RELAY && last != SMTPD_STAGE_ETRN
        && buf_len(&s->instance) == 0) {
        struct timeval tv;

        gettimeofday(&tv, NULL);
        buf_setf(&s->instance, "%x.%lx.%lx.%x", (unsigned) getpid(),
                 (unsigned long) tv.tv_sec, (unsigned long) tv.tv_usec,
                 serial++);
    }
    st->instance = buf_str(&s->instance);
    /* The SIZE= of MAIL; at the end of the message its size (DATA: less
     * the final ".CRLF"). */
    if (last == SMTPD_STAGE_EOD)
        st->size = s->bdat_mode || s->data_bytes < 3 ? s->data_bytes
                                                     : s->data_bytes - 3;
    else
        st->size = s->in_tx && s->mail.has_size ? s->mail.size : 0;
}

/*
 * check - run STAGES over the session; 0 when accepted (effects taken),
 * -1 with the reply queued and the reject logged, SESS_PENDING (the
 * caller stops as after a reject, without its reply) when it waits for a
 * policy server: the command runs again when the answer is in, and this
 * check resumes.  SUBJECT names what the effects are about ("<addr>:
 * Recipient address").
 */
static int check(struct smtpd_sess *s, const enum smtpd_stage *stages, size_t n,
                 const char *rcpt, const char *subject, bool keep_dip)
{
    struct smtpd_state st;
    struct smtpd_check_run *run = &s->run;

    state_of(s, rcpt, &st);
    policy_attrs(s, stages, n, &st);
    if (s->resuming && run->status == SMTPD_CHECK_PENDING)
        smtpd_check_resume(run, &st);
    else
        smtpd_check_start(run, s->d->check, &st, stages, n);
    s->resuming = false;
    switch (smtpd_check_step(run)) {
        case SMTPD_CHECK_ACCEPT:
            effects(s, run, subject);
            if (keep_dip && run->defer_if_permit)
                buf_set(&s->dip, buf_str(&run->dip));
            return 0;
        case SMTPD_CHECK_REPLY:
            effects(s, run, subject);
            log_event(s, "reject", buf_str(&run->reply), rcpt != NULL);
            reply(s, buf_str(&run->reply));
            return -1;
        case SMTPD_CHECK_PENDING:
            sess_wait(s);
            return SESS_PENDING;
    }
    return -1;
}

/* sess_wait - the pending run waits for the DNS or a policy server */
static void sess_wait(struct smtpd_sess *s)
{
    if (!s->run.dns_waiting) {
        policy_wait(s);
        return;
    }
    if (s->cur_line.p != NULL) {
        s->policy_kind = PW_LINE;
        buf_reset(&s->policy_line);
        buf_catspan(&s->policy_line, s->cur_line);
    } else if (strcmp(s->where, "END-OF-MESSAGE") == 0) {
        s->policy_kind = PW_EOD;
    } else {
        s->policy_kind = PW_CONNECT;
    }
    s->waiting = true;
    s->dns_q = dns_lookup(s->d->dns, buf_str(&s->run.dns_name), s->run.dns_type,
                          on_dns, s);
}

/* policy_wait - send the pending run's request; the session waits */
static void policy_wait(struct smtpd_sess *s)
{
    if (s->cur_line.p != NULL) {
        s->policy_kind = PW_LINE;
        buf_reset(&s->policy_line);
        buf_catspan(&s->policy_line, s->cur_line);
    } else if (strcmp(s->where, "END-OF-MESSAGE") == 0) {
        s->policy_kind = PW_EOD;
    } else {
        s->policy_kind = PW_CONNECT;
    }
    s->waiting = true;
    s->policy_id =
        smtpd_policy_request(s->d->policy, buf_str(&s->run.policy_spec),
                             buf_str(&s->run.policy_request), on_policy, s);
}

/*
 * Client limits (anvil).
 */

/* limited - LIMIT applies to this client */
static bool limited(const struct smtpd_sess *s, long limit)
{
    return limit > 0 && s->anvil_registered;
}

/* on_gate - anvil's answer to a MAIL or RCPT rate event */
static void on_gate(void *arg, int status, unsigned count, unsigned rate)
{
    struct smtpd_sess *s = arg;
    bool mail = str_has_prefix(buf_str(&s->gate_line), "M")
                || str_has_prefix(buf_str(&s->gate_line), "m");
    long limit = mail ? s->d->msg_rate_limit : s->d->rcpt_rate_limit;
    struct buf t = BUF_INIT;

    (void) count;
    s->anvil_id = 0;
    s->waiting = false;
    if (status == ANVIL_CLNT_OK && (long) rate > limit) {
        msg_warn("%s rate limit exceeded: %u from %s for service %s",
                 mail ? "Message delivery request" : "Recipient address", rate,
                 buf_str(&s->namaddr), server_service(s->d->srv));
        buf_setf(&t, "450 4.7.1 Error: too %s from %s",
                 mail ? "much mail" : "many recipients", buf_str(&s->addr));
        reply(s, buf_str(&t));
    } else {
        struct smtpd_cmd cmd;
        struct buf r = BUF_INIT;

        /* The command again, its rate checked (cur_line: what a policy
         * request made now runs again). */
        s->gate_passed = true;
        s->cur_line = span_of(buf_str(&s->gate_line));
        if (smtpd_cmd_split(span_of(buf_str(&s->gate_line)), &s->d->cmd, &cmd,
                            &r)
            == 0) {
            if (cmd.verb == SMTPD_VERB_MAIL)
                cmd_mail(s, &cmd, span_of(buf_str(&s->gate_line)));
            else
                cmd_rcpt(s, &cmd, span_of(buf_str(&s->gate_line)));
        }
        s->cur_line = span_make(NULL, 0);
        s->gate_passed = false;
        buf_fini(&r);
    }
    buf_fini(&t);
    process(s);
}

/* gate - send a rate event for LINE's command and wait (true), unless its
 * rate was just checked (false: go on) */
static bool gate(struct smtpd_sess *s, enum ipc_anvil_op op, struct span line)
{
    if (s->gate_passed)
        return false;
    buf_reset(&s->gate_line);
    buf_catspan(&s->gate_line, line);
    s->anvil_id = anvil_clnt_request(s->d->anvil, op, buf_str(&s->anvil_addr),
                                     on_gate, s);
    s->waiting = true;
    return true;
}

/*
 * Commands.
 */

/* cmd_helo - HELO and EHLO */
static void cmd_helo(struct smtpd_sess *s, const struct smtpd_cmd *cmd,
                     bool ehlo)
{
    static const enum smtpd_stage helo_stage[] = {SMTPD_STAGE_HELO};
    struct buf t = BUF_INIT;
    struct span arg = span_trim(cmd->args);
    char *name = span_dup(arg);
    unsigned off = s->d->ehlo_discard;

    /* Postfix keeps the first word; the rest is ignored. */
    name[strcspn(name, " \t")] = 0;
    if (!smtpd_check_delay_reject(s->d->check)) {
        bool had = s->have_helo;
        struct buf old = BUF_INIT;

        buf_set(&old, buf_str(&s->helo));
        buf_set(&s->helo, name);
        s->have_helo = true;
        buf_setf(&t, "<%s>: Helo command", name);
        if (check(s, helo_stage, 1, NULL, buf_str(&t), true) < 0) {
            /* Postfix forgets a rejected name (MAIL then needs HELO). */
            s->have_helo = false;
            (void) had;
            buf_set(&s->helo, buf_str(&old));
            buf_fini(&old);
            mem_free(name);
            buf_fini(&t);
            return;
        }
        buf_fini(&old);
    }
    tx_reset(s);
    buf_set(&s->helo, name);
    s->have_helo = true;
    s->proto = ehlo ? "ESMTP" : "SMTP";
    s->pipelining = false;
    if (!ehlo) {
        buf_setf(&t, "250 %s", s->d->myhostname);
        reply(s, buf_str(&t));
    } else if (off & SMTPD_EHLO_SILENT) {
        buf_setf(&t, "250 %s", s->d->myhostname);
        reply(s, buf_str(&t));
    } else {
        struct argv *kw = argv_new();

        if (!(off & SMTPD_EHLO_PIPELINING)) {
            argv_add(kw, "PIPELINING");
            s->pipelining = true;
        }
        if (!(off & SMTPD_EHLO_SIZE)) {
            if (s->d->cmd.message_size_limit)
                buf_setf(&t, "SIZE %llu",
                         (unsigned long long) s->d->cmd.message_size_limit);
            else
                buf_set(&t, "SIZE");
            argv_add(kw, buf_str(&t));
        }
        if (!(off & SMTPD_EHLO_VRFY) && !s->d->disable_vrfy)
            argv_add(kw, "VRFY");
        if (!(off & SMTPD_EHLO_ETRN))
            argv_add(kw, "ETRN");
        if (s->xclient_ok && !(off & SMTPD_EHLO_XCLIENT))
            argv_add(kw, "XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT "
                         "LOGIN DESTADDR DESTPORT");
        if (s->xforward_ok && !(off & SMTPD_EHLO_XFORWARD))
            argv_add(kw, "XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT");
        if (!(off & SMTPD_EHLO_ENHANCED))
            argv_add(kw, "ENHANCEDSTATUSCODES");
        if (!(off & SMTPD_EHLO_8BITMIME))
            argv_add(kw, "8BITMIME");
        if (!(off & SMTPD_EHLO_DSN))
            argv_add(kw, "DSN");
        if (!(off & SMTPD_EHLO_SMTPUTF8) && s->d->cmd.smtputf8_enable)
            argv_add(kw, "SMTPUTF8");
        if (!(off & SMTPD_EHLO_CHUNKING))
            argv_add(kw, "CHUNKING");
        buf_setf(&t, "250%c%s", kw->argc ? '-' : ' ', s->d->myhostname);
        reply(s, buf_str(&t));
        for (size_t i = 0; i < kw->argc; i++) {
            buf_setf(&t, "250%c%s", i + 1 < kw->argc ? '-' : ' ', kw->argv[i]);
            reply(s, buf_str(&t));
        }
        argv_free(kw);
    }
    s->stat_ok[ehlo ? ST_EHLO : ST_HELO]++;
    mem_free(name);
    buf_fini(&t);
}

/* sender_ext - the MAIL FROM path as sent, for the log ("a@b", without
 * the angle brackets) */
static void path_text(struct span args, size_t skip, struct buf *out)
{
    struct span p = span_make(args.p + skip, args.len - skip);
    const char *lt, *gt;

    buf_reset(out);
    p = span_trim(p);
    lt = memchr(p.p, '<', p.len);
    gt = lt ? memchr(lt, '>', p.len - (size_t) (lt - p.p)) : NULL;
    if (lt && gt)
        buf_catn(out, lt + 1, (size_t) (gt - lt - 1));
    else
        buf_catn(out, p.p,
                 strcspn(p.p, " \t") < p.len ? strcspn(p.p, " \t") : p.len);
}

/* cmd_mail - MAIL FROM */
static void cmd_mail(struct smtpd_sess *s, const struct smtpd_cmd *cmd,
                     struct span line)
{
    static const enum smtpd_stage sender_stage[] = {SMTPD_STAGE_SENDER};
    struct buf r = BUF_INIT;
    struct buf t = BUF_INIT;

    if (s->d->helo_required && !s->have_helo) {
        reply(s, "503 5.5.1 Error: send HELO/EHLO first");
        goto out;
    }
    if (s->in_tx) {
        reply(s, "503 5.5.1 Error: nested MAIL command");
        goto out;
    }
    if (s->d->tls_required) {
        reply(s, "530 5.7.0 Must issue a STARTTLS command first");
        goto out;
    }
    if (limited(s, s->d->msg_rate_limit) && gate(s, IPC_ANVIL_MESSAGE, line))
        goto out;
    if (smtpd_cmd_mail(cmd->args, &s->d->cmd, &s->mail, &r) < 0) {
        if (str_has_prefix(buf_str(&r), "501 5.1.7")) {
            path_text(cmd->args, 5, &t);
            msg_warn("Illegal address syntax from %s in MAIL command: <%s>",
                     buf_str(&s->namaddr), buf_str(&t));
        }
        reply(s, buf_str(&r));
        goto out;
    }
    s->in_tx = true;
    path_text(cmd->args, 5, &s->sender_ext);
    if (!smtpd_check_delay_reject(s->d->check)) {
        buf_setf(&t, "<%s>: Sender address", buf_str(&s->mail.addr));
        if (check(s, sender_stage, 1, NULL, buf_str(&t), true) < 0) {
            s->in_tx = false;
            buf_reset(&s->sender_ext);
            goto out;
        }
    }
    gettimeofday(&s->arrival, NULL);
    for (size_t i = 0; i < s->pending_actions->argc; i++)
        argv_add(s->actions, s->pending_actions->argv[i]);
    for (size_t i = 0; i < s->pending_prepend->argc; i++)
        argv_add(s->prepend, s->pending_prepend->argv[i]);
    /* smtpd_delay_open_until_valid_rcpt = no: the queue file now. */
    if (!s->d->delay_open && open_queue(s) < 0) {
        s->in_tx = false;
        buf_reset(&s->sender_ext);
        goto out;
    }
    reply(s, "250 2.1.0 Ok");
    s->stat_ok[ST_MAIL]++;
out:
    buf_fini(&r);
    buf_fini(&t);
}

/* open_queue - the queue file at the first accepted recipient */
static int open_queue(struct smtpd_sess *s)
{
    struct buf why = BUF_INIT;
    struct buf t = BUF_INIT;
    struct smtpd *d = s->d;

    if ((s->c = cleanup_open(d->cf, &why)) == NULL) {
        msg_warn("cannot make a queue file: %s", buf_str(&why));
        reply(s, "451 4.3.0 Error: queue file write error");
        buf_fini(&why);
        return -1;
    }
    buf_set(&s->queue_id, cleanup_id(s->c));
    if (buf_len(&s->fwd_name) || buf_len(&s->fwd_addr))
        msg_info("%s: client=%s, orig_client=%s[%s]", buf_str(&s->queue_id),
                 buf_str(&s->namaddr), nz(buf_str(&s->fwd_name)),
                 nz(buf_str(&s->fwd_addr)));
    else
        msg_info("%s: client=%s", buf_str(&s->queue_id), buf_str(&s->namaddr));
    cleanup_time(s->c, &s->arrival);
    cleanup_sender(s->c, buf_str(&s->mail.addr));
    cleanup_attr(s->c, "rewrite_context",
                 s->local_rewrite ? "local" : "remote");
    /* XFORWARD attributes say where the mail really came from. */
    cleanup_attr(s->c, "log_client_name",
                 buf_len(&s->fwd_name) ? buf_str(&s->fwd_name)
                                       : buf_str(&s->name));
    cleanup_attr(s->c, "log_client_address",
                 buf_len(&s->fwd_addr) ? buf_str(&s->fwd_addr)
                                       : buf_str(&s->addr));
    cleanup_attr(s->c, "log_client_port",
                 buf_len(&s->fwd_port) ? buf_str(&s->fwd_port)
                                       : buf_str(&s->port));
    buf_setf(&t, "%s", buf_str(&s->namaddr));
    cleanup_attr(s->c, "log_message_origin", buf_str(&t));
    if (s->have_helo || buf_len(&s->fwd_helo))
        cleanup_attr(s->c, "log_helo_name",
                     buf_len(&s->fwd_helo) ? buf_str(&s->fwd_helo)
                                           : buf_str(&s->helo));
    cleanup_attr(s->c, "log_protocol",
                 buf_len(&s->fwd_proto) ? buf_str(&s->fwd_proto) : s->proto);
    if (buf_len(&s->fwd_ident))
        cleanup_attr(s->c, "log_ident", buf_str(&s->fwd_ident));
    if (s->mail.has_envid)
        cleanup_envid(s->c, buf_str(&s->mail.envid));
    if (s->mail.ret)
        cleanup_ret(s->c, (int) s->mail.ret);
    buf_fini(&why);
    buf_fini(&t);
    return 0;
}

/* cmd_rcpt - RCPT TO */
static void cmd_rcpt(struct smtpd_sess *s, const struct smtpd_cmd *cmd,
                     struct span line)
{
    enum smtpd_stage stages[SMTPD_STAGE_COUNT];
    size_t n;
    struct smtpd_rcpt r;
    struct buf rep = BUF_INIT;
    struct buf t = BUF_INIT;

    smtpd_rcpt_init(&r);
    if (!s->in_tx) {
        reply(s, "503 5.5.1 Error: need MAIL command");
        goto out;
    }
    if (limited(s, s->d->rcpt_rate_limit) && gate(s, IPC_ANVIL_RECIPIENT, line))
        goto out;
    if (smtpd_cmd_rcpt(cmd->args, &s->d->cmd, &r, &rep) < 0) {
        if (str_has_prefix(buf_str(&rep), "501 5.1.3")) {
            path_text(cmd->args, 3, &t);
            msg_warn("Illegal address syntax from %s in RCPT command: <%s>",
                     buf_str(&s->namaddr), buf_str(&t));
        }
        reply(s, buf_str(&rep));
        goto out;
    }
    if (!s->resuming)
        s->rcpt_tries++;
    path_text(cmd->args, 3, &s->rcpt_ext);
    if ((long) s->nrcpt >= s->d->rcpt_limit && s->d->rcpt_limit > 0) {
        reply(s, "452 4.5.3 Error: too many recipients");
        /* Only what goes past smtpd_recipient_overshoot_limit counts as
         * an error, as Postfix counts it. */
        if (s->rcpt_tries <= s->d->rcpt_limit + s->d->overshoot_limit)
            s->errors--;
        goto out;
    }
    n = smtpd_check_rcpt_stages(s->d->check, stages);
    buf_setf(&t, "<%s>: Recipient address", buf_str(&r.addr));
    if (check(s, stages, n, buf_str(&r.addr), buf_str(&t), false) < 0)
        goto out;
    if (s->c == NULL && open_queue(s) < 0)
        goto out;
    if (s->nrcpt == s->rcpt_cap) {
        s->rcpt_cap = s->rcpt_cap ? 2 * s->rcpt_cap : 8;
        s->rcpts = mem_realloc(s->rcpts, s->rcpt_cap * sizeof(*s->rcpts));
    }
    s->rcpts[s->nrcpt].addr = mem_strdup(buf_str(&r.addr));
    if (r.has_orcpt) {
        buf_setf(&t, "%s;%s", buf_str(&r.orcpt_type), buf_str(&r.orcpt_addr));
        s->rcpts[s->nrcpt].orcpt = buf_steal(&t);
        buf_init(&t, 0);
    } else {
        s->rcpts[s->nrcpt].orcpt = NULL;
    }
    s->rcpts[s->nrcpt].notify = r.notify;
    s->nrcpt++;
    reply(s, "250 2.1.5 Ok");
    s->stat_ok[ST_RCPT]++;
out:
    smtpd_rcpt_fini(&r);
    buf_fini(&rep);
    buf_fini(&t);
}

/* data_begin - the envelope to cleanup, then smtpd's own headers:
 * PREPEND actions, then Received: */
static void data_begin(struct smtpd_sess *s)
{
    struct buf t = BUF_INIT;
    struct buf date = BUF_INIT;
    struct smtpd *d = s->d;
    const char *proto = s->proto;
    char with[32];

    for (size_t i = 0; i < s->actions->argc; i++) {
        const char *a = s->actions->argv[i];
        const char *sp = strchr(a, ' ');

        buf_set(&t, a);
        if (sp)
            buf_truncate(&t, (size_t) (sp - a));
        cleanup_smtpd_action(s->c, buf_str(&t), sp ? sp + 1 : "");
    }
    for (size_t i = 0; i < s->nrcpt; i++)
        cleanup_rcpt(s->c, s->rcpts[i].addr, s->rcpts[i].orcpt,
                     queue_notify_from_dsn(s->rcpts[i].notify));
    for (size_t i = 0; i < s->prepend->argc; i++)
        cleanup_line(s->c, s->prepend->argv[i], strlen(s->prepend->argv[i]));
    if (s->mail.smtputf8)
        str_fmt(with, sizeof(with), "UTF8%s",
                strcmp(proto, "ESMTP") == 0 ? "SMTP" : proto);
    else
        str_fmt(with, sizeof(with), "%s", proto);
    cleanup_date(s->arrival.tv_sec, &date);
    buf_setf(&t, "Received: from %s (%s [%s])",
             s->have_helo ? buf_str(&s->helo) : buf_str(&s->name),
             buf_str(&s->name), buf_str(&s->rfc_addr));
    cleanup_line(s->c, buf_str(&t), buf_len(&t));
    buf_setf(&t, "\tby %s (%s) with %s id %s%s", d->myhostname, d->mail_name,
             with, buf_str(&s->queue_id), s->nrcpt == 1 ? "" : ";");
    cleanup_line(s->c, buf_str(&t), buf_len(&t));
    if (s->nrcpt == 1) {
        struct buf ext = BUF_INIT;

        addr_externalize(span_of(s->rcpts[0].addr), &ext);
        buf_setf(&t, "\tfor <%s>; %s", buf_str(&ext), buf_str(&date));
        buf_fini(&ext);
    } else {
        buf_setf(&t, "\t%s", buf_str(&date));
    }
    cleanup_line(s->c, buf_str(&t), buf_len(&t));
    s->data_started = true;
    s->data_bytes = 0;
    s->prev_crlf = true;
    buf_reset(&s->dline);
    buf_fini(&t);
    buf_fini(&date);
}

/* data_checks - the DATA restrictions; 0 to go on */
static int data_checks(struct smtpd_sess *s)
{
    static const enum smtpd_stage data_stage[] = {SMTPD_STAGE_DATA};

    if (!s->in_tx) {
        reply(s, "503 5.5.1 Error: need RCPT command");
        return -1;
    }
    if (s->nrcpt == 0) {
        /* In a transaction, Postfix says this even when no RCPT came. */
        log_event(s, "reject", "554 5.5.1 Error: no valid recipients", true);
        reply(s, "554 5.5.1 Error: no valid recipients");
        return -1;
    }
    return check(s, data_stage, 1, NULL, "<DATA>: Data command", false);
}

/* cmd_data - DATA */
static void cmd_data(struct smtpd_sess *s, const struct smtpd_cmd *cmd)
{
    struct buf r = BUF_INIT;

    if (s->bdat_mode) {
        reply(s, "503 5.5.1 Error: DATA after BDAT");
    } else if (data_checks(s) == 0) {
        if (smtpd_cmd_check_args(cmd, &r) < 0) {
            reply(s, buf_str(&r));
        } else {
            data_begin(s);
            reply(s, "354 End data with <CR><LF>.<CR><LF>");
            s->mode = M_DATA;
        }
    }
    buf_fini(&r);
}

/* finished - cleanup's verdict ST (REASON) on the message: the reply */
static void finished(struct smtpd_sess *s, bool bdat, enum cleanup_status st,
                     const char *reason)
{
    struct buf t = BUF_INIT;

    switch (st) {
        case CLEANUP_OK:
        case CLEANUP_DISCARDED:
            if (bdat)
                buf_setf(&t, "250 2.0.0 Ok: %llu bytes queued as %s",
                         s->data_bytes, buf_str(&s->queue_id));
            else
                buf_setf(&t, "250 2.0.0 Ok: queued as %s",
                         buf_str(&s->queue_id));
            s->stat_ok[bdat ? ST_BDAT : ST_DATA]++;
            break;
        case CLEANUP_REJECTED:
            /* cleanup logged a content reject; smtpd logs only the size,
             * as Postfix's does. */
            if (str_has_prefix(reason, "5.3.4")) {
                msg_warn("%s: queue file size limit exceeded",
                         buf_str(&s->queue_id));
                buf_set(&t, "552 5.3.4 Error: message file too big");
            } else {
                buf_setf(&t, "550 %s", reason);
            }
            break;
        case CLEANUP_TEMPFAIL:
            if (str_has_prefix(reason, "4.3.0 queue file write error"))
                buf_set(&t, "451 4.3.0 Error: queue file write error");
            else
                buf_setf(&t, "451 %s", reason);
            break;
    }
    reply(s, buf_str(&t));
    tx_reset(s);
    buf_fini(&t);
}

/* on_committed - the queue file is durable (or failed): the reply, and
 * the input that waited behind it */
static void on_committed(void *arg, enum cleanup_status st, const char *reason)
{
    struct smtpd_sess *s = arg;

    s->commit = NULL;
    s->waiting = false;
    finished(s, s->commit_bdat, st, reason);
    process(s);
}

/* finish - the message is complete: EOD restrictions, then cleanup's
 * verdict; the commit runs on cleanup's workers, and the session waits
 * for it (reading nothing more) while the loop serves the others */
static void finish(struct smtpd_sess *s, bool bdat)
{
    static const enum smtpd_stage eod_stage[] = {SMTPD_STAGE_EOD};
    struct buf why = BUF_INIT;
    enum cleanup_status st;
    struct cleanup *c;

    s->where = "END-OF-MESSAGE";
    switch (
        check(s, eod_stage, 1, NULL, "<END-OF-MESSAGE>: End-of-data", false)) {
        case 0:
            break;
        case SESS_PENDING:
            goto out; /* finish runs again with the answer */
        default:
            tx_reset(s);
            goto out;
    }
    if (buf_len(&s->dline)) {
        cleanup_line(s->c, buf_str(&s->dline), buf_len(&s->dline));
        buf_reset(&s->dline);
    }
    c = s->c;
    s->c = NULL;
    if (cleanup_finish_async(c, s->d->loop, &st, &why, on_committed, s,
                             &s->commit)
        == 1) {
        s->commit_bdat = bdat;
        s->waiting = true;
        goto out;
    }
    finished(s, bdat, st, buf_str(&why));
out:
    buf_fini(&why);
}

/* cmd_bdat - BDAT: the chunk follows */
static void cmd_bdat(struct smtpd_sess *s, const struct smtpd_cmd *cmd)
{
    uint64_t count;
    bool last;
    struct buf r = BUF_INIT;

    if (smtpd_cmd_bdat(cmd->args, &count, &last, &r) < 0) {
        reply(s, buf_str(&r));
        if (buf_str(&r)[0] == '5' && buf_str(&r)[1] == '2')
            s->closing = true; /* 521: Postfix hangs up */
        buf_fini(&r);
        return;
    }
    /* The chunk is read whatever the answer, so the client stays in step;
     * after an error the rest of the message is read and dropped. */
    s->bdat_left = count;
    s->bdat_last = last;
    s->mode = M_BDAT;
    s->bdat_count = count;
    s->bdat_discard = s->bdat_failed;
    if (!s->bdat_mode && !s->bdat_failed) {
        int rc = data_checks(s);

        if (rc == SESS_PENDING) {
            /* The command runs again when the policy server answered. */
            s->mode = M_CMD;
        } else if (rc < 0) {
            s->bdat_failed = true;
        } else {
            s->bdat_mode = true;
            data_begin(s);
        }
    }
    buf_fini(&r);
}

/* content_line - one content line of DATA or BDAT to cleanup */
static void content_line(struct smtpd_sess *s, const char *p, size_t len)
{
    if (s->c)
        cleanup_line(s->c, p, len);
}

/* bdat_bytes - chunk bytes to content lines (CRLF or LF ends a line) */
static void bdat_bytes(struct smtpd_sess *s, const char *p, size_t len)
{
    const char *end = p + len;

    if (s->bdat_failed || !s->c) {
        return;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);

        buf_catn(&s->dline, p, n);
        if (nl == NULL) {
            if (buf_len(&s->dline) >= SESS_DATA_LINE_MAX) {
                content_line(s, buf_str(&s->dline), buf_len(&s->dline));
                buf_reset(&s->dline);
            }
            break;
        }
        if (buf_len(&s->dline)
            && buf_str(&s->dline)[buf_len(&s->dline) - 1] == '\r')
            buf_truncate(&s->dline, buf_len(&s->dline) - 1);
        content_line(s, buf_str(&s->dline), buf_len(&s->dline));
        buf_reset(&s->dline);
        p = nl + 1;
    }
}

/* data_line - a DATA line (without LF; CR says it ended with CR LF);
 * true at the end of the message */
static bool data_line(struct smtpd_sess *s, const char *p, size_t len, bool cr)
{
    if (cr && s->prev_crlf && len == 1 && p[0] == '.')
        return true;
    s->prev_crlf = cr;
    if (len > 0 && p[0] == '.') {
        p++;
        len--;
    }
    content_line(s, p, len);
    return false;
}

/* cmd_rset - RSET */
static void cmd_rset(struct smtpd_sess *s, const struct smtpd_cmd *cmd)
{
    struct buf r = BUF_INIT;

    if (smtpd_cmd_check_args(cmd, &r) < 0) {
        reply(s, buf_str(&r));
    } else {
        tx_reset(s);
        reply(s, "250 2.0.0 Ok");
        s->stat_ok[ST_RSET]++;
    }
    buf_fini(&r);
}

/* cmd_vrfy - VRFY: the unknown-recipient checks only, as Postfix's */
static void cmd_vrfy(struct smtpd_sess *s, const struct smtpd_cmd *cmd)
{
    struct buf a = BUF_INIT;
    struct buf r = BUF_INIT;
    struct buf t = BUF_INIT;

    if (s->d->disable_vrfy) {
        reply(s, "502 5.5.1 VRFY command is disabled");
    } else if (smtpd_cmd_vrfy(cmd->args, &s->d->cmd, &a, &r) < 0) {
        reply(s, buf_str(&r));
    } else {
        enum smtpd_stage none[1];
        struct smtpd_state st;

        /* No restriction list: only the recipient table checks that run
         * after the lists accept. */
        state_of(s, buf_str(&a), &st);
        smtpd_check_start(&s->run, s->d->check, &st, none, 0);
        if (smtpd_check_step(&s->run) == SMTPD_CHECK_REPLY) {
            reply(s, buf_str(&s->run.reply));
        } else {
            buf_setf(&t, "252 2.0.0 %s", buf_str(&a));
            reply(s, buf_str(&t));
            s->stat_ok[ST_VRFY]++;
        }
    }
    buf_fini(&a);
    buf_fini(&r);
    buf_fini(&t);
}

/* cmd_etrn - ETRN: flush a fast_flush_domains site */
static void cmd_etrn(struct smtpd_sess *s, const struct smtpd_cmd *cmd)
{
    static const enum smtpd_stage etrn_stage[] = {SMTPD_STAGE_ETRN};
    struct buf r = BUF_INIT;
    struct buf t = BUF_INIT;
    struct buf why = BUF_INIT;
    struct span arg = span_trim(cmd->args);
    char *dom;
    bool ok = false;

    if (smtpd_cmd_check_args(cmd, &r) < 0) {
        reply(s, buf_str(&r));
        goto out;
    }
    if (s->in_tx) {
        reply(s, "503 Error: MAIL transaction in progress");
        goto out;
    }
    dom = span_dup(arg);
    str_lower(dom);
    for (size_t i = 0; i < s->d->fast_flush->argc; i++) {
        const char *f = s->d->fast_flush->argv[i];

        if (strcmp(f, dom + (dom[0] == '@' || dom[0] == '#')) == 0)
            ok = true;
    }
    if (!ok) {
        buf_setf(&t, "459 <%s>: service unavailable", dom);
        reply(s, buf_str(&t));
    } else {
        struct smtpd_state st;

        enum smtpd_check_status cs;

        state_of(s, NULL, &st);
        policy_attrs(s, etrn_stage, 1, &st);
        st.etrn_domain = dom;
        if (s->resuming && s->run.status == SMTPD_CHECK_PENDING)
            smtpd_check_resume(&s->run, &st);
        else
            smtpd_check_start(&s->run, s->d->check, &st, etrn_stage, 1);
        s->resuming = false;
        cs = smtpd_check_step(&s->run);
        if (cs == SMTPD_CHECK_PENDING) {
            sess_wait(s);
        } else if (cs == SMTPD_CHECK_REPLY) {
            log_event(s, "reject", buf_str(&s->run.reply), false);
            reply(s, buf_str(&s->run.reply));
        } else if (flush_clnt_request(NULL, dom, &why) < 0) {
            msg_warn("ETRN %s: %s", dom, buf_str(&why));
            reply(s, "458 Unable to queue messages");
        } else {
            reply(s, "250 Queuing started");
            s->stat_ok[ST_ETRN]++;
        }
    }
    mem_free(dom);
out:
    buf_fini(&r);
    buf_fini(&t);
    buf_fini(&why);
}

/* xtext_value - an XCLIENT/XFORWARD value, xtext-decoded; false when it
 * is malformed */
static bool xtext_value(struct span v, struct buf *out)
{
    buf_reset(out);
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char) v.p[i];

        if (ch == '+') {
            unsigned hi, lo;

            if (i + 2 >= v.len)
                return false;
            hi = (unsigned char) v.p[i + 1];
            lo = (unsigned char) v.p[i + 2];
            if (!strchr("0123456789ABCDEF", (int) hi) || hi == 0
                || !strchr("0123456789ABCDEF", (int) lo) || lo == 0)
                return false;
            hi = hi <= '9' ? hi - '0' : hi - 'A' + 10;
            lo = lo <= '9' ? lo - '0' : lo - 'A' + 10;
            ch = (unsigned char) (hi * 16 + lo);
            if (ch < 0x20 || ch == 0x7f)
                return false;
            buf_catc(out, ch);
            i += 2;
        } else if (ch < 0x21 || ch == 0x7f || ch == '=') {
            return false;
        } else {
            buf_catc(out, ch);
        }
    }
    return true;
}

/* set_peer - the client's address and name in log form */
static void set_namaddr(struct smtpd_sess *s)
{
    unsigned char a6[16];

    if (s->d->port_logging && buf_len(&s->port))
        buf_setf(&s->namaddr, "%s[%s]:%s", buf_str(&s->name), buf_str(&s->addr),
                 buf_str(&s->port));
    else
        buf_setf(&s->namaddr, "%s[%s]", buf_str(&s->name), buf_str(&s->addr));
    if (inet_pton(AF_INET6, buf_str(&s->addr), a6) == 1)
        buf_setf(&s->rfc_addr, "IPv6:%s", buf_str(&s->addr));
    else
        buf_set(&s->rfc_addr, buf_str(&s->addr));
}

/* client_start - what happens when a client (or an XCLIENT identity)
 * arrives: the local-rewrite decision and, without smtpd_delay_reject,
 * the client restrictions; 0 to greet, -1 when refused (reply queued) */
static int client_start(struct smtpd_sess *s)
{
    static const enum smtpd_stage client_stage[] = {SMTPD_STAGE_CLIENT};
    struct smtpd *d = s->d;
    struct buf t = BUF_INIT;
    int rc = 0;

    s->local_rewrite = false;
    for (size_t i = 0; i < d->local_rewrite->argc && !s->local_rewrite; i++) {
        const char *w = d->local_rewrite->argv[i];

        if (strcmp(w, "permit_inet_interfaces") == 0) {
            if (resolve_inet_interface(d->resolve, buf_str(&s->addr)))
                s->local_rewrite = true;
        } else if (strcmp(w, "permit_mynetworks") == 0) {
            if (addr_match_find(d->mynetworks, buf_str(&s->addr)) == LK_FOUND)
                s->local_rewrite = true;
        } else if (strcmp(w, "static:all") == 0) {
            s->local_rewrite = true;
        }
    }
    buf_reset(&s->denied);
    buf_reset(&s->dip);
    if (!smtpd_check_delay_reject(d->check)) {
        buf_setf(&t, "<%s>: Client host", buf_str(&s->namaddr));
        rc = check(s, client_stage, 1, NULL, buf_str(&t), true);
        if (rc == -1)
            buf_setf(&s->denied, "503 5.7.0 Error: access denied for %s",
                     buf_str(&s->namaddr));
    }
    buf_fini(&t);
    return rc;
}

/* greet - the banner */
static void greet(struct smtpd_sess *s)
{
    struct buf t = BUF_INIT;

    buf_setf(&t, "220 %s", s->d->banner);
    reply(s, buf_str(&t));
    buf_fini(&t);
}

/* attr_words - the name=value words of XCLIENT or XFORWARD (VERB), after
 * the checks both share; NULL when answered with an error */
static struct argv *attr_words(struct smtpd_sess *s,
                               const struct smtpd_cmd *cmd, bool allowed,
                               const char *verb)
{
    struct argv *w;
    char *args;
    struct buf t = BUF_INIT;

    if (!allowed) {
        reply(s, "550 5.7.0 Error: insufficient authorization");
        return NULL;
    }
    if (s->in_tx) {
        reply(s, "503 5.5.1 Error: MAIL transaction in progress");
        return NULL;
    }
    args = span_dup(cmd->args);
    w = argv_split(args, " \t");
    mem_free(args);
    if (w->argc == 0) {
        buf_setf(&t, "501 5.5.4 Syntax: %s attribute=value...", verb);
        reply(s, buf_str(&t));
        buf_fini(&t);
        argv_free(w);
        return NULL;
    }
    return w;
}

/* cmd_xclient - XCLIENT name=value...: a new identity, then a new
 * greeting */
static void cmd_xclient(struct smtpd_sess *s, const struct smtpd_cmd *cmd)
{
    struct argv *w;
    struct buf v = BUF_INIT;
    bool bad = false;
    bool got_reverse = false;
    int rc;

    /* Again after a policy answer: the new identity is in place. */
    if (s->resuming)
        goto start;
    if ((w = attr_words(s, cmd, s->xclient_ok, "XCLIENT")) == NULL)
        return;
    /* A new session as far as HELO and the protocol go. */
    s->have_helo = false;
    s->pipelining = false;
    s->unauth_pipelining = false;
    buf_reset(&s->helo);
    s->proto = "SMTP";
    for (size_t i = 0; i < w->argc && !bad; i++) {
        const char *a = w->argv[i];
        const char *eq = strchr(a, '=');
        struct span name, val;

        if (eq == NULL || eq == a || !xtext_value(span_of(eq + 1), &v)) {
            bad = true;
            break;
        }
        name = span_make(a, (size_t) (eq - a));
        val = span_of(buf_str(&v));
        if (span_caseeq(name, "NAME")) {
            if (span_caseeq(val, "[UNAVAILABLE]")
                || span_caseeq(val, "[TEMPUNAVAIL]"))
                buf_set(&s->name, "unknown");
            else
                buf_set(&s->name, buf_str(&v));
            s->name_status = span_caseeq(val, "[TEMPUNAVAIL]") ? 4 : 5;
            /* The reverse name too, unless REVERSE_NAME says otherwise
             * (Postfix's check_reverse_client_hostname_access sees NAME). */
            if (!got_reverse)
                buf_set(&s->reverse, buf_str(&s->name));
        } else if (span_caseeq(name, "REVERSE_NAME")) {
            got_reverse = true;
            if (span_caseeq(val, "[UNAVAILABLE]")
                || span_caseeq(val, "[TEMPUNAVAIL]"))
                buf_set(&s->reverse, "unknown");
            else
                buf_set(&s->reverse, buf_str(&v));
            s->reverse_status = span_caseeq(val, "[TEMPUNAVAIL]") ? 4 : 5;
        } else if (span_caseeq(name, "ADDR")) {
            const char *x = buf_str(&v);
            unsigned char tmp[16];
            char text[INET6_ADDRSTRLEN];

            if (strncasecmp(x, "IPv6:", 5) == 0)
                x += 5;
            /* Kept in the canonical form, as Postfix logs it. */
            if (inet_pton(AF_INET, x, tmp) == 1
                && inet_ntop(AF_INET, tmp, text, sizeof(text)) != NULL) {
                buf_set(&s->addr, text);
            } else if (inet_pton(AF_INET6, x, tmp) == 1
                       && inet_ntop(AF_INET6, tmp, text, sizeof(text))
                              != NULL) {
                buf_set(&s->addr, text);
            } else {
                bad = true;
                break;
            }
        } else if (span_caseeq(name, "PORT")) {
            buf_set(&s->port, buf_str(&v));
        } else if (span_caseeq(name, "HELO")) {
            buf_set(&s->helo, buf_str(&v));
            s->have_helo = true;
        } else if (span_caseeq(name, "PROTO")) {
            if (span_caseeq(val, "SMTP"))
                s->proto = "SMTP";
            else if (span_caseeq(val, "ESMTP"))
                s->proto = "ESMTP";
            else {
                bad = true;
                break;
            }
        } else if (span_caseeq(name, "LOGIN") || span_caseeq(name, "DESTADDR")
                   || span_caseeq(name, "DESTPORT")) {
            /* Accepted; SASL login and the local endpoint do not steer
             * anything in ulak yet. */
        } else {
            bad = true;
        }
    }
    argv_free(w);
    buf_fini(&v);
    if (bad) {
        reply(s, "501 5.5.4 Bad XCLIENT attribute syntax");
        return;
    }
    set_namaddr(s);
    tx_reset(s);
    s->stat_ok[ST_XCLIENT]++;
    s->xclient_ok =
        addr_match_find(s->d->xclient_ok, buf_str(&s->addr)) == LK_FOUND;
    s->xforward_ok =
        addr_match_find(s->d->xforward_ok, buf_str(&s->addr)) == LK_FOUND;
    s->where = "XCLIENT";
start:
    if ((rc = client_start(s)) == 0)
        greet(s);
    else if (rc != SESS_PENDING)
        s->stat_ok[ST_XCLIENT]--;
}

/* cmd_xforward - XFORWARD name=value...: where the mail came from */
static void cmd_xforward(struct smtpd_sess *s, const struct smtpd_cmd *cmd)
{
    struct argv *w = attr_words(s, cmd, s->xforward_ok, "XFORWARD");
    struct buf v = BUF_INIT;
    bool bad = false;

    if (w == NULL)
        return;
    for (size_t i = 0; i < w->argc && !bad; i++) {
        const char *a = w->argv[i];
        const char *eq = strchr(a, '=');
        struct span name;
        bool unavailable;
        struct buf *dst = NULL;

        if (eq == NULL || eq == a || !xtext_value(span_of(eq + 1), &v)) {
            bad = true;
            break;
        }
        name = span_make(a, (size_t) (eq - a));
        unavailable = strcmp(buf_str(&v), "[UNAVAILABLE]") == 0
                      || strcmp(buf_str(&v), "[TEMPUNAVAIL]") == 0;
        if (span_caseeq(name, "NAME"))
            dst = &s->fwd_name;
        else if (span_caseeq(name, "ADDR"))
            dst = &s->fwd_addr;
        else if (span_caseeq(name, "PORT"))
            dst = &s->fwd_port;
        else if (span_caseeq(name, "HELO"))
            dst = &s->fwd_helo;
        else if (span_caseeq(name, "PROTO"))
            dst = &s->fwd_proto;
        else if (span_caseeq(name, "IDENT"))
            dst = &s->fwd_ident;
        else if (span_caseeq(name, "SOURCE"))
            dst = &s->fwd_source;
        else
            bad = true;
        if (dst) {
            const char *x = buf_str(&v);

            if (dst == &s->fwd_addr && strncasecmp(x, "IPv6:", 5) == 0)
                x += 5;
            buf_set(dst, unavailable ? "" : x);
            if (dst == &s->fwd_name && unavailable)
                buf_set(dst, "unknown");
        }
    }
    argv_free(w);
    buf_fini(&v);
    if (bad) {
        reply(s, "501 5.5.4 Bad XFORWARD attribute name");
        return;
    }
    reply(s, "250 2.0.0 Ok");
    s->stat_ok[ST_XFORWARD]++;
}

/* forbidden - a command that says the client is not an SMTP client (an
 * HTTP request, a header line) */
static bool forbidden(struct smtpd_sess *s, struct span verb)
{
    struct buf k = BUF_INIT;
    struct buf v = BUF_INIT;
    bool hit = false;

    if (verb.len > 0 && verb.p[verb.len - 1] == ':')
        return true;
    for (size_t i = 0; i < s->d->forbidden->argc && !hit; i++)
        hit = span_caseeq(verb, s->d->forbidden->argv[i]);
    if (!hit && s->d->forbidden_maps) {
        buf_catspan(&k, verb);
        hit = maps_find(s->d->forbidden_maps, buf_str(&k), MAPS_FIND_ALL, &v)
              == LK_FOUND;
    }
    buf_fini(&k);
    buf_fini(&v);
    return hit;
}

/* stat_of - the counter of VERB */
static enum cstat stat_of(enum smtpd_verb v)
{
    switch (v) {
        case SMTPD_VERB_HELO:
            return ST_HELO;
        case SMTPD_VERB_EHLO:
            return ST_EHLO;
        case SMTPD_VERB_XCLIENT:
            return ST_XCLIENT;
        case SMTPD_VERB_XFORWARD:
            return ST_XFORWARD;
        case SMTPD_VERB_STARTTLS:
            return ST_STARTTLS;
        case SMTPD_VERB_AUTH:
            return ST_AUTH;
        case SMTPD_VERB_MAIL:
            return ST_MAIL;
        case SMTPD_VERB_RCPT:
            return ST_RCPT;
        case SMTPD_VERB_DATA:
            return ST_DATA;
        case SMTPD_VERB_BDAT:
            return ST_BDAT;
        case SMTPD_VERB_RSET:
            return ST_RSET;
        case SMTPD_VERB_NOOP:
            return ST_NOOP;
        case SMTPD_VERB_VRFY:
            return ST_VRFY;
        case SMTPD_VERB_ETRN:
            return ST_ETRN;
        case SMTPD_VERB_QUIT:
            return ST_QUIT;
        case SMTPD_VERB_HELP:
        case SMTPD_VERB_UNKNOWN:
            return ST_UNKNOWN;
    }
    return ST_UNKNOWN;
}

/* hang_up - a 421 and the end of the session */
static void hang_up(struct smtpd_sess *s, const char *why, const char *log)
{
    struct buf t = BUF_INIT;

    buf_setf(&t, "421 4.7.0 %s %s", s->d->myhostname, why);
    if (log)
        msg_info("%s after %s from %s", log, s->where, buf_str(&s->namaddr));
    reply(s, buf_str(&t));
    s->closing = true;
    buf_fini(&t);
}

/* command - one command line */
static void command(struct smtpd_sess *s, struct span line)
{
    struct smtpd_cmd cmd;
    struct buf r = BUF_INIT;
    enum cstat st;

    if (smtpd_cmd_split(line, &s->d->cmd, &cmd, &r) < 0) {
        struct span verb = span_trim(line);

        verb.len = 0;
        while (verb.p + verb.len < line.p + line.len && verb.p[verb.len] != ' '
               && verb.p[verb.len] != '\t')
            verb.len++;
        s->where = "UNKNOWN";
        s->stat_all[ST_UNKNOWN]++;
        if (verb.len && strstr(buf_str(&r), "command not recognized")
            && forbidden(s, verb)) {
            struct buf show = BUF_INIT;

            buf_catn(&show, line.p, line.len > 100 ? 100 : line.len);
            msg_warn("non-SMTP command from %s: %s", buf_str(&s->namaddr),
                     buf_str(&show));
            buf_fini(&show);
            reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
            s->closing = true;
        } else {
            reply(s, buf_str(&r));
        }
        buf_fini(&r);
        return;
    }
    st = stat_of(cmd.verb);
    s->where =
        cmd.verb == SMTPD_VERB_HELP ? "UNKNOWN" : smtpd_verb_name(cmd.verb);
    /* A command that runs again after a policy answer counts once. */
    if (!s->resuming)
        s->stat_all[st]++;
    s->cur_line = line;
    if (buf_len(&s->denied) && cmd.verb != SMTPD_VERB_QUIT) {
        reply(s, buf_str(&s->denied));
        goto out;
    }
    /* Junk: commands that move no mail; past smtpd_junk_command_limit
     * each counts as an error (the hard error limit ends it). */
    if ((cmd.verb == SMTPD_VERB_NOOP || cmd.verb == SMTPD_VERB_VRFY
         || cmd.verb == SMTPD_VERB_ETRN || cmd.verb == SMTPD_VERB_RSET)
        && !s->resuming && ++s->junk > s->d->junk_limit)
        s->errors++;
    if (cmd.verb != SMTPD_VERB_MAIL && cmd.verb != SMTPD_VERB_RCPT
        && cmd.verb != SMTPD_VERB_XCLIENT && cmd.verb != SMTPD_VERB_XFORWARD
        && cmd.verb != SMTPD_VERB_ETRN && cmd.verb != SMTPD_VERB_BDAT
        && cmd.verb != SMTPD_VERB_DATA && smtpd_cmd_check_args(&cmd, &r) < 0) {
        reply(s, buf_str(&r));
        goto out;
    }
    switch (cmd.verb) {
        case SMTPD_VERB_HELO:
            cmd_helo(s, &cmd, false);
            break;
        case SMTPD_VERB_EHLO:
            cmd_helo(s, &cmd, true);
            break;
        case SMTPD_VERB_MAIL:
            cmd_mail(s, &cmd, line);
            break;
        case SMTPD_VERB_RCPT:
            cmd_rcpt(s, &cmd, line);
            break;
        case SMTPD_VERB_DATA:
            cmd_data(s, &cmd);
            break;
        case SMTPD_VERB_BDAT:
            cmd_bdat(s, &cmd);
            break;
        case SMTPD_VERB_RSET:
            cmd_rset(s, &cmd);
            break;
        case SMTPD_VERB_NOOP:
            reply(s, "250 2.0.0 Ok");
            s->stat_ok[ST_NOOP]++;
            break;
        case SMTPD_VERB_QUIT:
            reply(s, "221 2.0.0 Bye");
            s->stat_ok[ST_QUIT]++;
            s->closing = true;
            break;
        case SMTPD_VERB_VRFY:
            cmd_vrfy(s, &cmd);
            break;
        case SMTPD_VERB_ETRN:
            cmd_etrn(s, &cmd);
            break;
        case SMTPD_VERB_XCLIENT:
            cmd_xclient(s, &cmd);
            break;
        case SMTPD_VERB_XFORWARD:
            cmd_xforward(s, &cmd);
            break;
        case SMTPD_VERB_AUTH:
            /* No SASL yet: Postfix's answer without smtpd_sasl_auth_enable */
            reply(s, "503 5.5.1 Error: authentication not enabled");
            break;
        case SMTPD_VERB_STARTTLS:
            /* No TLS yet: Postfix's answer without a server certificate */
            reply(s, "502 5.5.1 Error: command not implemented");
            break;
        case SMTPD_VERB_HELP:
        case SMTPD_VERB_UNKNOWN:
            /* Postfix 3.7 has no HELP. */
            smtpd_cmd_unknown(&r);
            reply(s, buf_str(&r));
            break;
    }
out:
    s->cur_line = span_make(NULL, 0);
    buf_fini(&r);
}

/*
 * The input loop.
 */

/* take_data - DATA content from the input; false when more is needed */
static bool take_data(struct smtpd_sess *s)
{
    while (s->ioff < s->ilen) {
        const char *p = s->ibuf + s->ioff;
        size_t avail = s->ilen - s->ioff;
        const char *nl = memchr(p, '\n', avail);

        if (nl == NULL) {
            /* Keep a partial line; a very long one is cut. */
            s->data_bytes += avail;
            if (buf_len(&s->dline) + avail >= SESS_DATA_LINE_MAX) {
                buf_catn(&s->dline, p, avail);
                content_line(s, buf_str(&s->dline), buf_len(&s->dline));
                buf_reset(&s->dline);
                s->prev_crlf = false;
                s->ioff = s->ilen;
            } else {
                /* Move it out of the way so that reading can go on. */
                buf_catn(&s->dline, p, avail);
                s->ioff = s->ilen;
            }
            return false;
        }
        {
            size_t n = (size_t) (nl - p);
            bool cr;

            s->data_bytes += n + 1;
            const char *lp;
            size_t ln;

            if (buf_len(&s->dline)) {
                buf_catn(&s->dline, p, n);
                lp = buf_str(&s->dline);
                ln = buf_len(&s->dline);
            } else {
                lp = p;
                ln = n;
            }
            cr = ln > 0 && lp[ln - 1] == '\r';
            if (cr)
                ln--;
            else if (s->d->forbid_bare_newline
                     && addr_match_find(s->d->bare_nl_exempt, buf_str(&s->addr))
                            != LK_FOUND) {
                struct buf t = BUF_INIT;

                buf_setf(&t, "%d 5.5.2 %s Error: bare <LF> received",
                         s->d->bare_newline_code, s->d->myhostname);
                s->ioff += n + 1;
                buf_reset(&s->dline);
                tx_reset(s);
                s->mode = M_CMD;
                reply(s, buf_str(&t));
                s->closing = true;
                buf_fini(&t);
                return true;
            }
            if (data_line(s, lp, ln, cr)) {
                s->ioff += n + 1;
                buf_reset(&s->dline);
                s->mode = M_CMD;
                finish(s, false);
                return true;
            }
            buf_reset(&s->dline);
            s->ioff += n + 1;
        }
    }
    return false;
}

/* take_bdat - chunk bytes from the input; false when more is needed */
static bool take_bdat(struct smtpd_sess *s)
{
    size_t n = s->ilen - s->ioff;

    if (n > s->bdat_left)
        n = (size_t) s->bdat_left;
    bdat_bytes(s, s->ibuf + s->ioff, n);
    s->data_bytes += n;
    s->ioff += n;
    s->bdat_left -= n;
    if (s->bdat_left > 0)
        return false;
    s->mode = M_CMD;
    if (s->bdat_failed) {
        /* The first failed chunk was answered at its command; the later
         * ones are answered as Postfix answers them. */
        if (s->bdat_discard) {
            struct buf t = BUF_INIT;

            buf_setf(&t, "551 5.0.0 Discarded %llu bytes after earlier error",
                     s->bdat_count);
            reply(s, buf_str(&t));
            buf_fini(&t);
        }
        if (s->bdat_last) {
            s->bdat_failed = false;
            tx_reset(s);
        }
        return true;
    }
    if (s->bdat_last) {
        if (buf_len(&s->dline))
            content_line(s, buf_str(&s->dline), buf_len(&s->dline));
        buf_reset(&s->dline);
        finish(s, true);
    } else {
        struct buf t = BUF_INIT;

        buf_setf(&t, "250 2.0.0 Ok: %llu bytes", s->data_bytes);
        reply(s, buf_str(&t));
        s->stat_ok[ST_BDAT]++;
        buf_fini(&t);
    }
    return true;
}

/* stats - " ehlo=1 mail=1 ... commands=N" */
static void stats(const struct smtpd_sess *s, struct buf *out)
{
    unsigned ok = 0, all = 0;

    for (int i = 0; i < ST_COUNT; i++) {
        if (s->stat_all[i] == 0)
            continue;
        ok += s->stat_ok[i];
        all += s->stat_all[i];
        if (s->stat_ok[i] == s->stat_all[i])
            buf_catf(out, " %s=%u", stat_names[i], s->stat_all[i]);
        else
            buf_catf(out, " %s=%u/%u", stat_names[i], s->stat_ok[i],
                     s->stat_all[i]);
    }
    if (ok == all && all > 0)
        buf_catf(out, " commands=%u", all);
    else
        buf_catf(out, " commands=%u/%u", ok, all);
}

/* sess_end - log the end and free the session */
static void sess_end(struct smtpd_sess *s)
{
    struct buf t = BUF_INIT;
    struct server *srv = s->d->srv;

    stats(s, &t);
    msg_info("disconnect from %s%s", buf_str(&s->namaddr), buf_str(&t));
    buf_fini(&t);
    sess_free(s);
    server_session_done(srv);
}

/* sleep_done - the error delay is over */
static void sleep_done(int fd, int what, void *arg)
{
    struct smtpd_sess *s = arg;

    (void) fd;
    (void) what;
    s->sleeping = false;
    process(s);
}

/* note_pipelining - LINE (just taken) has more input behind it where
 * the client should have waited: after HELO, EHLO or DATA always, after
 * anything when PIPELINING was not announced */
static void note_pipelining(struct smtpd_sess *s, struct span line)
{
    static const char *const wait_after[] = {"HELO", "EHLO", "DATA"};
    bool must_wait = !s->pipelining;

    if (s->ioff == s->ilen || s->unauth_pipelining)
        return;
    for (size_t i = 0; i < 3 && !must_wait; i++)
        if (line.len >= 4 && strncasecmp(line.p, wait_after[i], 4) == 0
            && (line.len == 4 || line.p[4] == ' ' || line.p[4] == '\t'))
            must_wait = true;
    if (must_wait)
        s->unauth_pipelining = true;
}

/* process - take what the input holds, then wait for more */
static void process(struct smtpd_sess *s)
{
    while (!s->closing && !s->sleeping && !s->waiting) {
        if (buf_len(&s->out) - s->ooff > SESS_OUT_HIGH) {
            flush(s);
            if (buf_len(&s->out) - s->ooff > SESS_OUT_HIGH)
                break;
        }
        if (s->mode == M_DATA || s->mode == M_BDAT) {
            if (!(s->mode == M_DATA ? take_data(s) : take_bdat(s)))
                break;
            s->deadline = now_ms() + s->d->timeout_ms; /* the next request */
            continue;
        }
        {
            struct span in = span_make(s->ibuf + s->ioff, s->ilen - s->ioff);
            struct span line;
            size_t used;
            int rc;
            long before = s->errors;

            if (s->skip_line) {
                const char *nl = memchr(in.p, '\n', in.len);

                if (nl == NULL) {
                    s->ioff = s->ilen;
                    break;
                }
                s->ioff += (size_t) (nl - in.p) + 1;
                s->skip_line = false;
                continue;
            }
            rc = smtpd_line_take(in, s->d->line_limit, &line, &used);
            if (rc == 0)
                break;
            s->ioff += used;
            if (rc == 2)
                s->skip_line = true;
            /* As Postfix: the next command after the hard error limit is
             * answered with 421 instead. */
            if (s->errors >= s->d->hard_limit) {
                hang_up(s, "Error: too many errors", "too many errors");
                break;
            }
            note_pipelining(s, line);
            command(s, line);
            s->deadline = now_ms() + s->d->timeout_ms; /* the next request */
            if (s->closing)
                break;
            if (s->errors > before && s->errors >= s->d->soft_limit
                && s->d->error_sleep_ms > 0) {
                /* Postfix sleeps before the reply; the reply waits here
                 * with everything after it. */
                s->sleeping = true;
                loop_ev_arm(s->sleep_ev, s->d->error_sleep_ms);
                break;
            }
        }
    }
    /* Replies go out when the client must wait for them. */
    if (!s->sleeping)
        flush(s);
    if (s->closing && (buf_len(&s->out) - s->ooff == 0 || s->eof)) {
        sess_end(s);
        return;
    }
    /* Compact the input and read again when there is room. */
    if (s->ioff == s->ilen) {
        s->ioff = s->ilen = 0;
    } else if (s->ioff > 0) {
        memmove(s->ibuf, s->ibuf + s->ioff, s->ilen - s->ioff);
        s->ilen -= s->ioff;
        s->ioff = 0;
    }
    if (s->closing || s->sleeping || s->waiting
        || buf_len(&s->out) - s->ooff > SESS_OUT_HIGH) {
        loop_ev_disarm(s->rev);
    } else if (!loop_ev_armed(s->rev)) {
        long ms = s->d->timeout_ms;

        /* With smtpd_per_request_deadline the limit is for the whole
         * request, not for each read. */
        if (s->d->per_request_deadline) {
            long long left = s->deadline - now_ms();

            ms = left > 0 ? (long) left : 0;
        }
        loop_ev_arm(s->rev, ms);
    }
}

/* on_read - input, end of file or the session timeout */
static void on_read(int fd, int what, void *arg)
{
    struct smtpd_sess *s = arg;
    ssize_t n;

    (void) fd;
    if (what & LOOP_TIMEOUT) {
        struct buf t = BUF_INIT;

        msg_info("timeout after %s from %s", s->where, buf_str(&s->namaddr));
        buf_setf(&t, "421 4.4.2 %s Error: timeout exceeded", s->d->myhostname);
        reply(s, buf_str(&t));
        buf_fini(&t);
        s->closing = true;
        flush(s);
        sess_end(s);
        return;
    }
    if (s->ilen == s->icap) {
        /* Full: a partial line waits for process() to take it. */
        process(s);
        return;
    }
    n = read(s->fd, s->ibuf + s->ilen, s->icap - s->ilen);
    if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        if (s->mode == M_DATA || s->mode == M_BDAT)
            msg_info("lost connection after %s (%llu bytes) from %s",
                     s->mode == M_DATA ? "DATA" : "BDAT", s->data_bytes,
                     buf_str(&s->namaddr));
        else
            msg_info("lost connection after %s from %s", s->where,
                     buf_str(&s->namaddr));
        s->eof = true;
        sess_end(s);
        return;
    }
    s->ilen += (size_t) n;
    /* Message content earns time at smtpd_min_data_rate. */
    if ((s->mode == M_DATA || s->mode == M_BDAT) && s->d->min_data_rate > 0)
        s->deadline += (long long) n * 1000 / s->d->min_data_rate;
    /* Re-arm: the timeout counts from the last input. */
    loop_ev_disarm(s->rev);
    process(s);
}

/* on_write - the socket takes more output */
static void on_write(int fd, int what, void *arg)
{
    struct smtpd_sess *s = arg;

    (void) fd;
    if (what & LOOP_TIMEOUT) {
        msg_info("timeout after %s from %s", s->where, buf_str(&s->namaddr));
        s->eof = true;
        sess_end(s);
        return;
    }
    flush(s);
    if (s->eof || (s->closing && buf_len(&s->out) == 0)) {
        sess_end(s);
        return;
    }
    if (buf_len(&s->out) == 0)
        process(s);
}

/* sess_bufs - initialise (INIT) or free every buf of a session */
static void sess_bufs(struct smtpd_sess *s, bool init)
{
    struct buf *bufs[] = {
        &s->out,       &s->addr,       &s->name,       &s->reverse,
        &s->port,      &s->namaddr,    &s->rfc_addr,   &s->helo,
        &s->fwd_name,  &s->fwd_addr,   &s->fwd_port,   &s->fwd_helo,
        &s->fwd_proto, &s->fwd_ident,  &s->fwd_source, &s->denied,
        &s->dip,       &s->sender_ext, &s->rcpt_ext,   &s->queue_id,
        &s->dline,     &s->anvil_addr, &s->gate_line,  &s->policy_line,
        &s->instance,
    };

    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        if (init)
            buf_init(bufs[i], 0);
        else
            buf_fini(bufs[i]);
    }
}

/* sess_free - release everything */
static void sess_free(struct smtpd_sess *s)
{
    if (s->anvil_id)
        anvil_clnt_cancel(s->d->anvil, s->anvil_id);
    cleanup_finish_cancel(s->commit);
    if (s->policy_id)
        smtpd_policy_cancel(s->d->policy, s->policy_id);
    if (s->dns_q)
        dns_cancel(s->dns_q);
    if (s->peer_lk)
        smtpd_peer_cancel(s->peer_lk);
    if (s->anvil_registered)
        (void) anvil_clnt_disconnect(s->d->anvil, buf_str(&s->anvil_addr), NULL,
                                     NULL);
    tx_reset(s);
    loop_ev_free(s->rev);
    loop_ev_free(s->wev);
    loop_ev_free(s->sleep_ev);
    (void) close(s->fd);
    if (s->wfd != s->fd)
        (void) close(s->wfd);
    mem_free(s->ibuf);
    mem_free(s->rcpts);
    smtpd_mail_fini(&s->mail);
    smtpd_check_run_fini(&s->run);
    argv_free(s->prepend);
    argv_free(s->actions);
    argv_free(s->pending_actions);
    argv_free(s->pending_prepend);
    sess_bufs(s, false);
    mem_free(s);
}

/* on_connect - anvil's count of this connection: over a limit, a 421 */
static void on_connect(void *arg, int status, unsigned count, unsigned rate)
{
    struct smtpd_sess *s = arg;
    struct smtpd *d = s->d;
    const char *over = NULL;
    unsigned n = 0;

    s->anvil_id = 0;
    s->waiting = false;
    if (status == ANVIL_CLNT_OK && d->conn_count_limit > 0
        && (long) count > d->conn_count_limit) {
        over = "Connection concurrency";
        n = count;
    } else if (status == ANVIL_CLNT_OK && d->conn_rate_limit > 0
               && (long) rate > d->conn_rate_limit) {
        over = "Connection rate";
        n = rate;
    }
    if (over) {
        struct buf t = BUF_INIT;

        msg_warn("%s limit exceeded: %u from %s for service %s", over, n,
                 buf_str(&s->namaddr), server_service(d->srv));
        buf_setf(&t, "421 4.7.0 %s Error: too many connections from %s",
                 d->myhostname, buf_str(&s->addr));
        reply(s, buf_str(&t));
        s->closing = true;
        buf_fini(&t);
    } else if (client_start(s) == 0) {
        greet(s);
    }
    process(s);
}

static void resume(struct smtpd_sess *s);

/* on_policy - the policy server's answer: what waited runs again and its
 * check resumes with ACTION */
static void on_policy(void *arg, const char *action)
{
    struct smtpd_sess *s = arg;

    s->policy_id = 0;
    smtpd_check_policy_answer(&s->run, action);
    resume(s);
}

/* on_dns - a restriction's DNS answer: what waited runs again */
static void on_dns(void *arg, const struct dns_answer *ans)
{
    struct smtpd_sess *s = arg;

    s->dns_q = NULL;
    smtpd_check_dns_answer(&s->run, ans);
    resume(s);
}

/* resume - what waited for an answer runs again and its check resumes */
static void resume(struct smtpd_sess *s)
{
    long before = s->errors;

    s->waiting = false;
    s->resuming = true;
    switch (s->policy_kind) {
        case PW_LINE: {
            char *line = buf_steal(&s->policy_line);
            bool passed = s->gate_passed;

            buf_init(&s->policy_line, 0);
            s->gate_passed = true; /* its rate was checked the first time */
            command(s, span_of(line));
            s->gate_passed = passed;
            mem_free(line);
            break;
        }
        case PW_EOD:
            finish(s, s->bdat_mode);
            break;
        default:
            if (client_start(s) == 0)
                greet(s);
            break;
    }
    s->resuming = false;
    s->deadline = now_ms() + s->d->timeout_ms;
    /* The error delay, as process() applies it after a command. */
    if (!s->closing && !s->waiting && s->errors > before
        && s->errors >= s->d->soft_limit && s->d->error_sleep_ms > 0) {
        s->sleeping = true;
        loop_ev_arm(s->sleep_ev, s->d->error_sleep_ms);
    }
    process(s);
}

/* peer_of - the client's address and port from the socket */
static void peer_of(struct smtpd_sess *s)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN];

    buf_set(&s->addr, "unknown");
    buf_set(&s->port, "unknown");
    if (getpeername(s->fd, (struct sockaddr *) &ss, &len) != 0) {
        /* Not a socket: standard input of sendmail -bs, a local client. */
        buf_set(&s->addr, "127.0.0.1");
        buf_set(&s->port, "0");
        buf_set(&s->name, "localhost");
        return;
    }
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *) &ss;

        if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)))
            buf_set(&s->addr, host);
        buf_setf(&s->port, "%u", (unsigned) ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *) &ss;

        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            if (inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host,
                          sizeof(host)))
                buf_set(&s->addr, host);
        } else if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host))) {
            buf_set(&s->addr, host);
        }
        buf_setf(&s->port, "%u", (unsigned) ntohs(in6->sin6_port));
    } else {
        /* A UNIX-domain connection (a local client). */
        buf_set(&s->addr, "127.0.0.1");
        buf_set(&s->port, "0");
        buf_set(&s->name, "localhost");
    }
}

static void on_peer(void *arg);
static void sess_connected(struct smtpd_sess *s);

/* smtpd_sess_start - a new session */
void smtpd_sess_start(struct smtpd *d, int fd, int wfd)
{
    struct smtpd_sess *s = mem_zalloc(sizeof(*s));

    sess_bufs(s, true);
    s->d = d;
    s->fd = fd;
    s->wfd = wfd >= 0 ? wfd : fd;
    s->deadline = now_ms() + d->timeout_ms;
    s->icap = d->line_limit + SESS_READ_CHUNK;
    s->ibuf = mem_alloc(s->icap);
    s->proto = "SMTP";
    s->where = "CONNECT";
    s->prepend = argv_new();
    s->actions = argv_new();
    s->pending_actions = argv_new();
    s->pending_prepend = argv_new();
    smtpd_mail_init(&s->mail);
    smtpd_check_run_init(&s->run);
    s->rev = loop_read(d->loop, fd, on_read, s);
    s->wev = loop_write(d->loop, s->wfd, on_write, s);
    s->sleep_ev = loop_timer(d->loop, sleep_done, s);
    d->sessions++;

    peer_of(s);
    if (d->tls_wrapper) {
        /* No TLS to wrap the session in: nothing in plaintext. */
        set_namaddr(s);
        msg_info("connect from %s", buf_str(&s->namaddr));
        msg_warn("%s: TLS (smtpd_tls_wrappermode) is not available: "
                 "connection closed",
                 buf_str(&s->namaddr));
        s->closing = true;
        process(s);
        return;
    }
    if (buf_len(&s->name) == 0) {
        if (d->peername_lookup) {
            /* The greeting waits for the name (the host file, then the
             * DNS). */
            s->peer_lk = smtpd_peer_lookup(d->dns, buf_str(&s->addr), &s->name,
                                           &s->reverse, &s->name_status,
                                           &s->reverse_status, on_peer, s);
            if (s->peer_lk != NULL) {
                s->waiting = true;
                return;
            }
        } else {
            buf_set(&s->name, "unknown");
            buf_set(&s->reverse, "unknown");
        }
    } else {
        buf_set(&s->reverse, buf_str(&s->name));
    }
    sess_connected(s);
}

/* on_peer - the client's name is known */
static void on_peer(void *arg)
{
    struct smtpd_sess *s = arg;

    s->peer_lk = NULL;
    s->waiting = false;
    sess_connected(s);
}

/* sess_connected - the client is known: log it, count it, greet it */
static void sess_connected(struct smtpd_sess *s)
{
    struct smtpd *d = s->d;

    set_namaddr(s);
    msg_info("connect from %s", buf_str(&s->namaddr));
    s->xclient_ok =
        addr_match_find(d->xclient_ok, buf_str(&s->addr)) == LK_FOUND;
    s->xforward_ok =
        addr_match_find(d->xforward_ok, buf_str(&s->addr)) == LK_FOUND;
    if (d->anvil
        && addr_match_find(d->limit_exempt, buf_str(&s->addr)) != LK_FOUND) {
        /* The greeting waits for anvil's count. */
        buf_set(&s->anvil_addr, buf_str(&s->addr));
        s->anvil_registered = true;
        s->waiting = true;
        s->anvil_id =
            anvil_clnt_connect(d->anvil, buf_str(&s->addr), on_connect, s);
        return;
    }
    if (client_start(s) == 0)
        greet(s);
    process(s);
}
