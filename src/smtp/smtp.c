#include "smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/argv.h"
#include "../lib/ipc.h"
#include "../lib/loop.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "../global/agent.h"
#include "../global/conf.h"
#include "../global/dns.h"
#include "../global/dsn.h"
#include "../global/server.h"
#include "smtp_addr.h"
#include "smtp_proto.h"

/* Unread server bytes kept at most (a reply line is bounded far below). */
#define SMTP_IN_MAX (64 * 1024)

/* The configuration snapshot, read once in post_jail. */
struct smtp_conf {
    bool lmtp;
    const char *proto; /* "SMTP" or "LMTP" (texts) */
    char *helo_name;
    long connect_timeout, helo_timeout, mail_timeout, rcpt_timeout;
    long data_init_timeout, data_xfer_timeout, data_done_timeout;
    long quit_timeout, rset_timeout, xforward_timeout;
    char *bind4, *bind6;
    long mx_session_limit;
    bool skip_5xx_greeting;
    bool send_xforward;
    bool cache_on_demand;
    struct argv *cache_dests;
    long cache_time_limit, reuse_time_limit, reuse_count_limit;
    struct argv *fallback;
    long line_length_limit;
    bool never_ehlo, always_ehlo;
    bool skip_quit_response;
    struct smtp_addr_conf addr;
};

static struct smtp_conf conf;
static struct dns *dns;
static struct server *the_srv;

/* What a command's reply is for; the phase texts of time-outs. */
enum cmd {
    CMD_GREETING,
    CMD_EHLO,
    CMD_HELO,
    CMD_XFORWARD,
    CMD_MAIL,
    CMD_RCPT,
    CMD_DATA,
    CMD_DOT,
    CMD_RSET,
    CMD_QUIT,
};

struct pend {
    enum cmd cmd;
    size_t idx; /* RCPT and LMTP's DOT: the recipient */
};

struct deliv;

/* One SMTP/LMTP connection; owned by a delivery or by the cache. */
struct conn {
    int fd;
    struct loop_ev *rev, *wev, *timer;
    struct buf in, out;
    size_t out_off; /* bytes of OUT already written */
    char *host;     /* "mx1.example.test" */
    char *addrtext; /* "127.0.0.2" or the socket path */
    char *hostaddr; /* "host[addr]" */
    char *relay;    /* "host[addr]:port" or "host[path]" */
    char *nexthop;  /* the cache key of the next hop */
    char *addrkey;  /* the cache key of the server: "addr:port" */
    struct sockaddr_storage sa;
    socklen_t salen;
    struct smtp_ext ext;
    bool esmtp;
    bool connected;
    bool closed;   /* freed at the end of the current callback */
    bool broken;   /* timed out, lost or confused: no QUIT */
    bool quitting; /* QUIT sent, waiting for its reply (lmtp) */
    long uses;     /* mail transactions begun */
    int busy;      /* callbacks in progress */
    struct timeval created;
    struct pend *pend;
    size_t npend, pend_head, pend_cap;
    struct deliv *d;   /* NULL while idle in the cache */
    struct conn *next; /* cache list */
    struct smtp_reply reply;
};

/* The state of one recipient of a request. */
enum rstate {
    R_PENDING,  /* not decided: try (the next) server */
    R_ACCEPTED, /* RCPT accepted in the current transaction */
    R_DONE,     /* decided */
};

struct rcpt {
    enum rstate state;
    bool has_res; /* res holds an outcome (final or for now) */
    struct agent_result res;
    char *relay;
    char *remote_mta;
    char *diag;
};

/* One delivery request from the qmgr. */
struct deliv {
    int qfd;
    struct loop_ev *qrev, *qwev, *qtimer;
    struct ipc_reader reader;
    struct buf qout;
    bool have_req;
    struct agent_msg m;
    struct rcpt *r;
    struct smtp_mail_in mail;
    struct smtp_addr_req *areq;
    struct smtp_addr_result *servers;
    size_t next_server;
    size_t fallback_next; /* next smtp_fallback_relay entry */
    bool on_fallback;
    long sessions; /* sessions that completed the handshake */
    struct conn *c;
    bool talked;        /* a server took part in a mail transaction */
    bool dns_fail;      /* the next hop's lookup failed for now */
    bool looked_up;     /* the next hop's servers were asked for */
    bool tried;         /* some server was tried */
    bool pipelined;     /* the current transaction was sent at once */
    size_t rcpt_cursor; /* next recipient to send RCPT for */
    struct timeval conn_done;
    bool have_conn_done;
    bool accepted_any; /* in the current transaction */
    bool finished;
    /* best_mx_transport: the request passed on to another agent */
    int pfd;
    struct loop_ev *prev, *pwev;
    struct ipc_reader preader;
    struct buf pout;
};

static struct conn *cache_head;
static struct conn *quit_head; /* waiting for the reply to QUIT */

static void conn_on_read(int fd, int what, void *arg);
static void conn_on_write(int fd, int what, void *arg);
static void conn_on_timer(int fd, int what, void *arg);
static void deliv_next_server(struct deliv *d);
static void deliv_finish(struct deliv *d);
static void session_begin_tx(struct conn *c);

/* pname - the parameter SUFFIX with the daemon's prefix (borrowed) */
static const char *pname(const char *suffix)
{
    static char name[128];

    if (str_fmt(name, sizeof(name), "%s_%s", conf.lmtp ? "lmtp" : "smtp",
                suffix)
        < 0)
        msg_panic("pname: %s too long", suffix);
    return name;
}

/* self_addrs - this machine's addresses for the MX loop check */
static void self_addrs(struct smtp_addr_conf *ac)
{
    static const char *const params[] = {"inet_interfaces", "proxy_interfaces"};
    size_t cap = 8;

    ac->self = mem_alloc(cap * sizeof(*ac->self));
    ac->nself = 0;
    for (size_t p = 0; p < NELEM(params); p++) {
        struct argv *l = conf_list(params[p]);

        for (size_t i = 0; i < l->argc; i++) {
            const char *a = l->argv[i];
            struct sockaddr_storage ss = {0};
            struct ifaddrs *ifa = NULL;

            if (strcasecmp(a, "all") == 0) {
                if (getifaddrs(&ifa) < 0)
                    continue;
                for (struct ifaddrs *x = ifa; x; x = x->ifa_next) {
                    if (x->ifa_addr == NULL
                        || (x->ifa_addr->sa_family != AF_INET
                            && x->ifa_addr->sa_family != AF_INET6))
                        continue;
                    if (ac->nself == cap) {
                        cap *= 2;
                        ac->self =
                            mem_realloc(ac->self, cap * sizeof(*ac->self));
                    }
                    memset(&ac->self[ac->nself], 0, sizeof(ss));
                    memcpy(&ac->self[ac->nself++], x->ifa_addr,
                           x->ifa_addr->sa_family == AF_INET
                               ? sizeof(struct sockaddr_in)
                               : sizeof(struct sockaddr_in6));
                }
                freeifaddrs(ifa);
                continue;
            }
            if (strcasecmp(a, "loopback-only") == 0)
                a = "127.0.0.1";
            if (inet_pton(AF_INET, a, &((struct sockaddr_in *) &ss)->sin_addr)
                == 1) {
                ss.ss_family = AF_INET;
            } else if (inet_pton(AF_INET6, a,
                                 &((struct sockaddr_in6 *) &ss)->sin6_addr)
                       == 1) {
                ss.ss_family = AF_INET6;
            } else {
                continue;
            }
            if (ac->nself == cap) {
                cap *= 2;
                ac->self = mem_realloc(ac->self, cap * sizeof(*ac->self));
            }
            ac->self[ac->nself++] = ss;
        }
        argv_free(l);
    }
}

/* post_jail - the configuration snapshot and the resolver */
static int post_jail(struct server *srv, struct buf *why)
{
    const char *lvl = conf_str(pname("dns_support_level"));
    const char *lookup = conf_str(pname("host_lookup"));
    const char *pref = conf_str(pname("address_preference"));
    struct argv *protos = conf_list("inet_protocols");

    the_srv = srv;
    conf.proto = conf.lmtp ? "LMTP" : "SMTP";
    conf.helo_name =
        mem_strdup(conf_str(conf.lmtp ? "lmtp_lhlo_name" : "smtp_helo_name"));
    conf.connect_timeout = conf_time(pname("connect_timeout"));
    conf.helo_timeout =
        conf_time(conf.lmtp ? "lmtp_lhlo_timeout" : "smtp_helo_timeout");
    conf.mail_timeout = conf_time(pname("mail_timeout"));
    conf.rcpt_timeout = conf_time(pname("rcpt_timeout"));
    conf.data_init_timeout = conf_time(pname("data_init_timeout"));
    conf.data_xfer_timeout = conf_time(pname("data_xfer_timeout"));
    conf.data_done_timeout = conf_time(pname("data_done_timeout"));
    conf.quit_timeout = conf_time(pname("quit_timeout"));
    conf.rset_timeout = conf_time(pname("rset_timeout"));
    conf.xforward_timeout = conf_time(pname("xforward_timeout"));
    conf.bind4 = mem_strdup(conf_str(pname("bind_address")));
    conf.bind6 = mem_strdup(conf_str(pname("bind_address6")));
    conf.mx_session_limit = conf_int(pname("mx_session_limit"));
    conf.skip_5xx_greeting = conf_bool(pname("skip_5xx_greeting"));
    conf.send_xforward = conf_bool(pname("send_xforward_command"));
    conf.cache_on_demand = conf_bool(pname("connection_cache_on_demand"));
    conf.cache_dests = conf_list(pname("connection_cache_destinations"));
    conf.cache_time_limit = conf_time(pname("connection_cache_time_limit"));
    conf.reuse_time_limit = conf_time(pname("connection_reuse_time_limit"));
    conf.reuse_count_limit = conf_int(pname("connection_reuse_count_limit"));
    conf.fallback = conf_list(pname("fallback_relay"));
    conf.line_length_limit = conf_int(pname("line_length_limit"));
    conf.never_ehlo = !conf.lmtp && conf_bool("smtp_never_send_ehlo");
    conf.always_ehlo = conf.lmtp || conf_bool("smtp_always_send_ehlo");
    conf.skip_quit_response = conf_bool(pname("skip_quit_response"));

    conf.addr.lmtp = conf.lmtp;
    conf.addr.mx_address_limit = (int) conf_int(pname("mx_address_limit"));
    conf.addr.dns = !conf_bool("disable_dns_lookups")
                    && strcasecmp(lvl, "disabled") != 0
                    && strstr(lookup, "dns") != NULL;
    for (size_t i = 0; i < protos->argc; i++) {
        if (strcasecmp(protos->argv[i], "all") == 0)
            conf.addr.ipv4 = conf.addr.ipv6 = true;
        else if (strcasecmp(protos->argv[i], "ipv4") == 0)
            conf.addr.ipv4 = true;
        else if (strcasecmp(protos->argv[i], "ipv6") == 0)
            conf.addr.ipv6 = true;
    }
    argv_free(protos);
    conf.addr.prefer_ipv6 = strcasecmp(pref, "ipv6") == 0;
    conf.addr.randomize = conf_bool(pname("randomize_addresses"));
    conf.addr.ignore_mx_lookup_error = conf_bool("ignore_mx_lookup_error");
    conf.addr.best_mx_transport = *conf_str("best_mx_transport") != 0;
    self_addrs(&conf.addr);
    if (conf.addr.dns) {
        dns = dns_new(server_loop(srv), conf_str("ulak_dns_servers"), why);
        if (dns == NULL)
            return -1;
    }
    return 0;
}

/* tv_now - the time */
static struct timeval tv_now(void)
{
    struct timeval t;

    gettimeofday(&t, NULL);
    return t;
}

/* ------------------------------------------------------------------ */
/* Connections */

/* conn_enter / conn_leave - bracket a callback; free a closed one after */
static void conn_enter(struct conn *c)
{
    c->busy++;
}

/* conn_free - release everything */
static void conn_free(struct conn *c)
{
    loop_ev_free(c->rev);
    loop_ev_free(c->wev);
    loop_ev_free(c->timer);
    if (c->fd >= 0)
        close(c->fd);
    buf_fini(&c->in);
    buf_fini(&c->out);
    smtp_reply_fini(&c->reply);
    mem_free(c->host);
    mem_free(c->addrtext);
    mem_free(c->relay);
    mem_free(c->hostaddr);
    mem_free(c->nexthop);
    mem_free(c->addrkey);
    mem_free(c->pend);
    mem_free(c);
}

static void conn_leave(struct conn *c)
{
    if (--c->busy == 0 && c->closed)
        conn_free(c);
}

/* conn_close - close now; the struct goes when no callback holds it */
static void conn_close(struct conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    loop_ev_free(c->rev);
    loop_ev_free(c->wev);
    loop_ev_free(c->timer);
    c->rev = c->wev = c->timer = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->busy == 0)
        conn_free(c);
}

/* list_unlink - take C out of the list at *HEAD */
static void list_unlink(struct conn **head, struct conn *c)
{
    for (struct conn **pp = head; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            c->next = NULL;
            return;
        }
    }
}

/* cache_unlink - take C out of the cache list */
static void cache_unlink(struct conn *c)
{
    list_unlink(&cache_head, c);
}

/* conn_quit - say QUIT and close; with *_skip_quit_response = no (lmtp's
 * default) after its reply or *_quit_timeout.  A broken session gets no
 * QUIT. */
static void conn_quit(struct conn *c)
{
    if (c->closed)
        return;
    if (c->quitting) {
        list_unlink(&quit_head, c);
        conn_close(c);
        return;
    }
    if (c->connected && c->fd >= 0 && !c->broken) {
        (void) send(c->fd, "QUIT\r\n", 6, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (!conf.skip_quit_response && !server_draining(the_srv)) {
            c->quitting = true;
            c->d = NULL;
            c->next = quit_head;
            quit_head = c;
            loop_ev_disarm(c->wev);
            loop_ev_arm(c->rev, -1);
            loop_ev_arm(c->timer, conf.quit_timeout * 1000);
            return;
        }
    }
    conn_close(c);
}

/* cache_take - an idle session for NEXTHOP (or server ADDRKEY) */
static struct conn *cache_take(const char *nexthop, const char *addrkey)
{
    struct timeval now = tv_now();

    for (struct conn *c = cache_head; c; c = c->next) {
        if ((nexthop && strcasecmp(c->nexthop, nexthop) == 0)
            || (addrkey && strcmp(c->addrkey, addrkey) == 0)) {
            cache_unlink(c);
            if (now.tv_sec - c->created.tv_sec >= conf.reuse_time_limit) {
                conn_quit(c);
                return NULL;
            }
            loop_ev_disarm(c->timer);
            return c;
        }
    }
    return NULL;
}

/* cache_wanted - whether to keep a session to NEXTHOP */
static bool cache_wanted(const char *nexthop)
{
    if (server_draining(the_srv) || conf.cache_time_limit <= 0)
        return false;
    if (conf.cache_on_demand)
        return true;
    for (size_t i = 0; i < conf.cache_dests->argc; i++)
        if (strcasecmp(conf.cache_dests->argv[i], nexthop) == 0)
            return true;
    return false;
}

/* conn_phase - what the client was doing while waiting for CMD */
static const char *conn_phase(enum cmd cmd)
{
    switch (cmd) {
        case CMD_GREETING:
            return "receiving the initial server greeting";
        case CMD_EHLO:
            return conf.lmtp ? "performing the LHLO handshake"
                             : "performing the EHLO handshake";
        case CMD_HELO:
            return "performing the HELO handshake";
        case CMD_XFORWARD:
            return "sending XFORWARD";
        case CMD_MAIL:
            return "sending MAIL FROM";
        case CMD_RCPT:
            return "sending RCPT TO";
        case CMD_DATA:
            return "sending DATA command";
        case CMD_DOT:
            return "sending end of data -- message may be sent more than "
                   "once";
        case CMD_RSET:
            return "sending RSET";
        case CMD_QUIT:
            return "sending QUIT";
    }
    return "talking";
}

/* cmd_name - the command a reply answered, as Postfix names it */
static const char *cmd_name(enum cmd cmd)
{
    switch (cmd) {
        case CMD_GREETING:
            return "initial greeting";
        case CMD_EHLO:
            return conf.lmtp ? "LHLO" : "EHLO";
        case CMD_HELO:
            return "HELO";
        case CMD_XFORWARD:
            return "XFORWARD";
        case CMD_MAIL:
            return "MAIL FROM";
        case CMD_RCPT:
            return "RCPT TO";
        case CMD_DATA:
            return "DATA";
        case CMD_DOT:
            return "end of DATA";
        case CMD_RSET:
            return "RSET";
        case CMD_QUIT:
            return "QUIT";
    }
    return "?";
}

/* cmd_timeout - the wait limit for CMD's reply, in seconds */
static long cmd_timeout(enum cmd cmd)
{
    switch (cmd) {
        case CMD_GREETING:
        case CMD_EHLO:
        case CMD_HELO:
            return conf.helo_timeout;
        case CMD_XFORWARD:
            return conf.xforward_timeout;
        case CMD_MAIL:
            return conf.mail_timeout;
        case CMD_RCPT:
            return conf.rcpt_timeout;
        case CMD_DATA:
            return conf.data_init_timeout;
        case CMD_DOT:
            return conf.data_done_timeout;
        case CMD_RSET:
            return conf.rset_timeout;
        case CMD_QUIT:
            return conf.quit_timeout;
    }
    return 300;
}

/* conn_arm - the timer for what C waits for now */
static void conn_arm(struct conn *c)
{
    long secs;

    if (c->closed)
        return;
    if (buf_len(&c->out) > c->out_off && c->npend > c->pend_head
        && c->pend[c->npend - 1].cmd == CMD_DOT)
        secs = conf.data_xfer_timeout; /* the body is still going out */
    else if (c->npend > c->pend_head)
        secs = cmd_timeout(c->pend[c->pend_head].cmd);
    else
        secs = 0;
    if (secs > 0)
        loop_ev_arm(c->timer, secs * 1000);
    else
        loop_ev_disarm(c->timer);
}

/* conn_expect - a reply to CMD will come */
static void conn_expect(struct conn *c, enum cmd cmd, size_t idx)
{
    if (c->npend == c->pend_cap) {
        if (c->pend_head > 0) {
            memmove(c->pend, c->pend + c->pend_head,
                    (c->npend - c->pend_head) * sizeof(*c->pend));
            c->npend -= c->pend_head;
            c->pend_head = 0;
        }
        if (c->npend == c->pend_cap) {
            c->pend_cap = c->pend_cap ? c->pend_cap * 2 : 8;
            c->pend = mem_realloc(c->pend, c->pend_cap * sizeof(*c->pend));
        }
    }
    c->pend[c->npend].cmd = cmd;
    c->pend[c->npend].idx = idx;
    c->npend++;
}

/* conn_flush - write what the socket takes; watch for the rest */
static int conn_flush(struct conn *c)
{
    while (c->out_off < buf_len(&c->out)) {
        ssize_t n =
            send(c->fd, buf_str(&c->out) + c->out_off,
                 buf_len(&c->out) - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        c->out_off += (size_t) n;
    }
    if (c->out_off == buf_len(&c->out)) {
        buf_reset(&c->out);
        c->out_off = 0;
        loop_ev_disarm(c->wev);
    } else {
        loop_ev_arm(c->wev, -1);
    }
    return 0;
}

/* conn_send - queue the command TEXT (no CRLF) expecting a reply to CMD */
static void conn_send(struct conn *c, const char *text, enum cmd cmd,
                      size_t idx)
{
    msg_debug(1, "> %s: %s", c->relay, text);
    buf_cat(&c->out, text);
    buf_cat(&c->out, "\r\n");
    conn_expect(c, cmd, idx);
}

/* ------------------------------------------------------------------ */
/* Outcomes */

/* rcpt_set - decide recipient I */
static void rcpt_set(struct deliv *d, size_t i, const char *status,
                     const char *reason, const char *relay,
                     const char *remote_mta, const char *diag)
{
    struct rcpt *r = &d->r[i];

    str_copy(r->res.status, sizeof(r->res.status), status);
    buf_set(&r->res.reason, reason);
    mem_free(r->relay);
    mem_free(r->remote_mta);
    mem_free(r->diag);
    r->relay = mem_strdup(relay ? relay : "none");
    r->remote_mta = remote_mta ? mem_strdup(remote_mta) : NULL;
    r->diag = diag ? mem_strdup(diag) : NULL;
    r->state = R_DONE;
    r->has_res = true;
}

/* rcpt_soft - what recipient I gets if no later server decides it */
static void rcpt_soft(struct deliv *d, size_t i, const char *status,
                      const char *reason, const char *relay,
                      const char *remote_mta, const char *diag)
{
    rcpt_set(d, i, status, reason, relay, remote_mta, diag);
    d->r[i].state = R_PENDING;
}

/* pending_all - every undecided recipient: STATUS/REASON now (HARD), or
 * unless a later server decides it */
static void pending_all(struct deliv *d, const char *status, const char *reason,
                        struct conn *c, const char *diag, bool hard)
{
    struct buf mta = BUF_INIT;
    bool talked = c && c->connected;
    char soft[DSN_STATUS_SIZE];

    /* What a later server may still change is temporary for now. */
    str_copy(soft, sizeof(soft), status);
    if (!hard && soft[0] == '5')
        soft[0] = '4';
    status = soft;
    if (talked)
        buf_setf(&mta, "dns; %s", c->host);
    for (size_t i = 0; i < d->m.req.rcpt_count; i++) {
        if (d->r[i].state == R_DONE)
            continue;
        rcpt_set(d, i, status, reason, talked ? c->relay : NULL,
                 talked ? buf_str(&mta) : NULL, diag);
        if (!hard)
            d->r[i].state = R_PENDING;
    }
    buf_fini(&mta);
}

/* undecided - recipients still pending */
static size_t undecided(const struct deliv *d)
{
    size_t n = 0;

    for (size_t i = 0; i < d->m.req.rcpt_count; i++)
        if (d->r[i].state != R_DONE)
            n++;
    return n;
}

/* final_server - C's server is the last one this delivery will try */
static bool final_server(const struct deliv *d)
{
    bool more_servers =
        d->servers && d->next_server < d->servers->naddr
        && (conf.mx_session_limit == 0 || d->sessions < conf.mx_session_limit);

    if (more_servers || !d->looked_up) /* !looked_up: a cached session */
        return false;
    if (!d->on_fallback && conf.fallback->argc > 0)
        return false;
    if (d->on_fallback && d->fallback_next < conf.fallback->argc)
        return false;
    return true;
}

/* said - "host X[a] said: TEXT (in reply to CMD command)" */
static void said(struct conn *c, enum cmd cmd, struct buf *out)
{
    buf_setf(out, "host %s said: %s (in reply to %s command)", c->hostaddr,
             buf_str(&c->reply.text), cmd_name(cmd));
}

/* diag_of - "smtp; TEXT" of C's last reply into OUT */
static const char *diag_of(struct conn *c, struct buf *out)
{
    buf_setf(out, "smtp; %s", buf_str(&c->reply.text));
    return buf_str(out);
}

/* conn_detach - C no longer works for its delivery */
static struct deliv *conn_detach(struct conn *c)
{
    struct deliv *d = c->d;

    c->d = NULL;
    if (d) {
        d->c = NULL;
        for (size_t i = 0; i < d->m.req.rcpt_count; i++)
            if (d->r[i].state == R_ACCEPTED)
                d->r[i].state = R_PENDING;
    }
    return d;
}

/* session_fail - the session with C failed as a whole: the pending
 * recipients get STATUS/REASON now (HARD) or unless a later server takes
 * them; C is closed and the next server tried */
static void session_fail(struct conn *c, const char *status, const char *reason,
                         const char *diag, bool hard)
{
    struct deliv *d = c->d;

    if (d == NULL) {
        conn_close(c);
        return;
    }
    /* Postfix logs a temporary failure that another server may make
     * good (a failed connect has its own line, without the queue id). */
    if (!hard && c->connected && !final_server(d))
        msg_info("%s: %s", d->m.req.queue_id, reason);
    for (size_t i = 0; i < d->m.req.rcpt_count; i++)
        if (d->r[i].state == R_ACCEPTED)
            d->r[i].state = R_PENDING;
    pending_all(d, status, reason, c, diag, hard);
    conn_detach(c);
    conn_quit(c);
    deliv_next_server(d);
}

/* reply_fail - a session-level refusal in reply to CMD */
static void reply_fail(struct conn *c, enum cmd cmd, bool hard)
{
    struct buf reason = BUF_INIT;
    struct buf diag = BUF_INIT;
    char status[DSN_STATUS_SIZE];

    str_copy(status, sizeof(status), smtp_reply_dsn(&c->reply));
    if (status[0] != '4' && status[0] != '5')
        str_copy(status, sizeof(status), "4.0.0"); /* a 2xx/3xx refusal */
    if (!hard && status[0] == '5')
        status[0] = '4';
    if (cmd == CMD_GREETING)
        buf_setf(&reason, "host %s refused to talk to me: %s", c->hostaddr,
                 buf_str(&c->reply.text));
    else
        said(c, cmd, &reason);
    session_fail(c, status, buf_str(&reason), diag_of(c, &diag), hard);
    buf_fini(&reason);
    buf_fini(&diag);
}

/* conn_release - the delivery is done with C: keep it for the next one
 * or say goodbye */
static void conn_release(struct conn *c)
{
    struct deliv *d = conn_detach(c);

    if (d && cache_wanted(d->m.req.nexthop) && !c->closed
        && tv_now().tv_sec - c->created.tv_sec < conf.reuse_time_limit
        && (conf.reuse_count_limit <= 0 || c->uses < conf.reuse_count_limit)) {
        mem_free(c->nexthop);
        c->nexthop = mem_strdup(d->m.req.nexthop);
        c->npend = c->pend_head = 0;
        buf_reset(&c->in);
        c->next = cache_head;
        cache_head = c;
        loop_ev_arm(c->timer, conf.cache_time_limit * 1000);
        return;
    }
    conn_quit(c);
}

/* tx_end - the mail transaction on C is over */
static void tx_end(struct conn *c)
{
    struct deliv *d = c->d;

    if (undecided(d) == 0) {
        conn_release(c);
        deliv_finish(d);
        return;
    }
    /* Recipients that got 4xx here go to the next server. */
    conn_release(c);
    deliv_next_server(d);
}

/* next_rcpt - the next recipient to send RCPT for, from d->rcpt_cursor */
static bool next_rcpt(struct deliv *d, size_t *out)
{
    while (d->rcpt_cursor < d->m.req.rcpt_count) {
        size_t i = d->rcpt_cursor++;

        if (d->r[i].state == R_PENDING) {
            *out = i;
            return true;
        }
    }
    return false;
}

/* send_rcpt - RCPT TO for recipient I */
static void send_rcpt(struct conn *c, size_t i)
{
    const struct ipc_rcpt *r = &c->d->m.req.rcpt[i];
    struct buf cmd = BUF_INIT;
    struct buf orcpt = BUF_INIT;

    /* Postfix passes the original recipient as ORCPT when there is none. */
    if (r->orcpt)
        buf_set(&orcpt, r->orcpt);
    else
        buf_setf(&orcpt, "rfc822;%s", r->orig_rcpt ? r->orig_rcpt : r->address);
    smtp_rcpt_cmd(r->address, r->notify, buf_str(&orcpt), &c->ext, &cmd);
    conn_send(c, buf_str(&cmd), CMD_RCPT, i);
    buf_fini(&cmd);
    buf_fini(&orcpt);
}

/* xforward_attr - NAME=xtext(value of ATTR, or [UNAVAILABLE]) */
static void xforward_attr(struct deliv *d, const char *name, const char *attr,
                          struct buf *out)
{
    const char *v = attr ? queue_env_attr(&d->m.env, attr) : NULL;

    buf_catf(out, " %s=", name);
    dsn_xtext_encode(v && *v ? v : "[UNAVAILABLE]", out);
}

/* send_xforward - the original client, as the queue file knows it, in
 * Postfix's two commands (name/address, then helo/protocol) */
static void send_xforward(struct conn *c)
{
    struct deliv *d = c->d;
    struct buf cmd = BUF_INIT;
    unsigned x = c->ext.xforward;

    if (x & (SMTP_XF_NAME | SMTP_XF_ADDR | SMTP_XF_PORT)) {
        buf_set(&cmd, "XFORWARD");
        if (x & SMTP_XF_NAME)
            xforward_attr(d, "NAME", "log_client_name", &cmd);
        if (x & SMTP_XF_ADDR)
            xforward_attr(d, "ADDR", "log_client_address", &cmd);
        if (x & SMTP_XF_PORT)
            xforward_attr(d, "PORT", "log_client_port", &cmd);
        conn_send(c, buf_str(&cmd), CMD_XFORWARD, 0);
    }
    if (x & (SMTP_XF_PROTO | SMTP_XF_HELO | SMTP_XF_IDENT | SMTP_XF_SOURCE)) {
        buf_set(&cmd, "XFORWARD");
        if (x & SMTP_XF_PROTO)
            xforward_attr(d, "PROTO", "log_protocol", &cmd);
        if (x & SMTP_XF_HELO)
            xforward_attr(d, "HELO", "log_helo_name", &cmd);
        if (x & SMTP_XF_IDENT) {
            /* The queue id at the origin: this message's own unless it
             * came with one. */
            const char *id = queue_env_attr(&d->m.env, "log_ident");

            buf_cat(&cmd, " IDENT=");
            dsn_xtext_encode(id && *id ? id : d->m.req.queue_id, &cmd);
        }
        if (x & SMTP_XF_SOURCE) {
            const char *ctx = queue_env_attr(&d->m.env, "rewrite_context");

            buf_catf(&cmd, " SOURCE=%s",
                     ctx && strcmp(ctx, "local") == 0 ? "LOCAL" : "REMOTE");
        }
        conn_send(c, buf_str(&cmd), CMD_XFORWARD, 1);
    }
    buf_fini(&cmd);
}

/* send_mail - MAIL FROM, and with PIPELINING every RCPT and DATA too */
static void send_mail(struct conn *c)
{
    struct deliv *d = c->d;
    struct buf cmd = BUF_INIT;
    size_t i;

    smtp_mail_cmd(&d->mail, &c->ext, &cmd);
    conn_send(c, buf_str(&cmd), CMD_MAIL, 0);
    if (d->pipelined) {
        while (next_rcpt(d, &i))
            send_rcpt(c, i);
        /* Address verification stops at RCPT, as Postfix's does. */
        if (!agent_verify(&d->m))
            conn_send(c, "DATA", CMD_DATA, 0);
    }
    buf_fini(&cmd);
}

/* session_begin_tx - one mail transaction for the pending recipients */
static void session_begin_tx(struct conn *c)
{
    struct deliv *d = c->d;
    struct buf reason = BUF_INIT;

    if (!d->have_conn_done) {
        d->conn_done = tv_now();
        d->have_conn_done = true;
    }
    d->accepted_any = false;
    d->rcpt_cursor = 0;
    c->uses++;
    if (d->mail.smtputf8 && !(c->ext.flags & SMTP_EXT_SMTPUTF8)) {
        buf_setf(&reason,
                 "SMTPUTF8 is required, but was not offered by host %s",
                 c->hostaddr);
        pending_all(d, "5.6.7", buf_str(&reason), c, NULL, true);
        tx_end(c);
        goto out;
    }
    if (smtp_size_refused(&c->ext, d->mail.size)) {
        buf_setf(&reason,
                 "message size %lld exceeds size limit %lld of "
                 "server %s",
                 d->mail.size, c->ext.size_max, c->hostaddr);
        pending_all(d, "5.3.4", buf_str(&reason), c, NULL, true);
        tx_end(c);
        goto out;
    }
    d->pipelined = (c->ext.flags & SMTP_EXT_PIPELINING) != 0;
    if (conf.send_xforward && (c->ext.flags & SMTP_EXT_XFORWARD))
        send_xforward(c);
    /* Without PIPELINING, MAIL waits for the XFORWARD replies. */
    if (d->pipelined || c->npend == c->pend_head)
        send_mail(c);
    if (conn_flush(c) < 0) {
        c->broken = true;
        buf_setf(&reason, "lost connection with %s while %s", c->hostaddr,
                 conn_phase(CMD_MAIL));
        session_fail(c, "4.4.2", buf_str(&reason), NULL, false);
        goto out;
    }
    conn_arm(c);
out:
    buf_fini(&reason);
}

/* handshake_done - EHLO or HELO accepted */
static void handshake_done(struct conn *c)
{
    c->d->sessions++;
    session_begin_tx(c);
}

/* send_body - the content after 354 */
static void send_body(struct conn *c)
{
    struct deliv *d = c->d;
    struct queue_content qc;
    struct span piece;
    bool more;
    size_t col = 0;

    queue_content_init(&qc, span_make(buf_str(&d->m.data), buf_len(&d->m.data)),
                       &d->m.env);
    while (queue_content_piece(&qc, &piece, &more))
        smtp_data_piece(piece, more, (size_t) conf.line_length_limit, &col,
                        &c->out);
    if (col)
        buf_cat(&c->out, "\r\n");
    smtp_data_end(&c->out);
    if (conf.lmtp) {
        for (size_t i = 0; i < d->m.req.rcpt_count; i++)
            if (d->r[i].state == R_ACCEPTED)
                conn_expect(c, CMD_DOT, i);
    } else {
        conn_expect(c, CMD_DOT, 0);
    }
}

/* rcpt_outcome - recipient I after reply to CMD on C */
static void rcpt_outcome(struct conn *c, size_t i, enum cmd cmd)
{
    struct deliv *d = c->d;
    struct buf reason = BUF_INIT;
    struct buf diag = BUF_INIT;
    struct buf mta = BUF_INIT;
    int cls = c->reply.code / 100;

    buf_setf(&mta, "dns; %s", c->host);
    if (cls == 2) {
        rcpt_set(d, i, smtp_reply_dsn(&c->reply), buf_str(&c->reply.text),
                 c->relay, buf_str(&mta), diag_of(c, &diag));
    } else {
        said(c, cmd, &reason);
        if (cls == 5)
            rcpt_set(d, i, smtp_reply_dsn(&c->reply), buf_str(&reason),
                     c->relay, buf_str(&mta), diag_of(c, &diag));
        else if (final_server(d))
            rcpt_set(d, i, cls == 4 ? smtp_reply_dsn(&c->reply) : "4.0.0",
                     buf_str(&reason), c->relay, buf_str(&mta),
                     diag_of(c, &diag));
        else {
            /* Kept for the next server, as Postfix does, which logs it. */
            msg_info("%s: %s", d->m.req.queue_id, buf_str(&reason));
            rcpt_soft(d, i, cls == 4 ? smtp_reply_dsn(&c->reply) : "4.0.0",
                      buf_str(&reason), c->relay, buf_str(&mta),
                      diag_of(c, &diag));
        }
    }
    buf_fini(&reason);
    buf_fini(&diag);
    buf_fini(&mta);
}

/* send_ehlo - EHLO, LHLO or HELO as configured */
static void send_ehlo(struct conn *c, bool helo)
{
    struct buf cmd = BUF_INIT;

    buf_setf(&cmd, "%s %s",
             helo        ? "HELO"
             : conf.lmtp ? "LHLO"
                         : "EHLO",
             conf.helo_name);
    conn_send(c, buf_str(&cmd), helo ? CMD_HELO : CMD_EHLO, 0);
    buf_fini(&cmd);
}

/* on_reply - one complete reply to P on C */
static void on_reply(struct conn *c, struct pend p)
{
    struct deliv *d = c->d;
    int cls = c->reply.code / 100;
    size_t i;

    switch (p.cmd) {
        case CMD_GREETING:
            if (cls != 2) {
                reply_fail(c, p.cmd, cls == 5 && !conf.skip_5xx_greeting);
                return;
            }
            c->esmtp = strstr(buf_str(&c->reply.text), "ESMTP") != NULL;
            send_ehlo(c, conf.never_ehlo || (!conf.always_ehlo && !c->esmtp));
            break;
        case CMD_EHLO:
            if (cls == 2) {
                smtp_ehlo_parse(&c->reply, &c->ext);
                handshake_done(c);
                return;
            }
            if (cls == 5 && !conf.lmtp) {
                send_ehlo(c, true);
                break;
            }
            reply_fail(c, p.cmd, cls == 5);
            return;
        case CMD_HELO:
            if (cls == 2) {
                memset(&c->ext, 0, sizeof(c->ext));
                handshake_done(c);
                return;
            }
            reply_fail(c, p.cmd, cls == 5);
            return;
        case CMD_XFORWARD:
            /* Postfix goes on without it, with a warning. */
            if (cls != 2)
                msg_warn("host %s said: %s (in reply to XFORWARD %s command)",
                         c->relay, buf_str(&c->reply.text),
                         p.idx ? "helo/protocol" : "name/address");
            if (!d->pipelined && c->npend == c->pend_head)
                send_mail(c);
            break;
        case CMD_RSET:
            if (cls != 2) {
                /* A cached session that lost its way: quietly drop it. */
                conn_detach(c);
                conn_quit(c);
                deliv_next_server(d);
                return;
            }
            d->sessions++;
            session_begin_tx(c);
            return;
        case CMD_MAIL:
            if (cls != 2) {
                reply_fail(c, p.cmd, cls == 5);
                return;
            }
            d->talked = true;
            if (!d->pipelined && next_rcpt(d, &i))
                send_rcpt(c, i);
            break;
        case CMD_RCPT:
            if (cls == 2 && !agent_verify(&d->m)) {
                d->r[p.idx].state = R_ACCEPTED;
                d->accepted_any = true;
            } else {
                /* Verification: the RCPT reply is the answer. */
                rcpt_outcome(c, p.idx, CMD_RCPT);
            }
            if (!d->pipelined && next_rcpt(d, &i)) {
                send_rcpt(c, i);
            } else if (agent_verify(&d->m)
                       || (!d->pipelined && !d->accepted_any)) {
                if (c->npend == c->pend_head) {
                    tx_end(c);
                    return;
                }
            } else if (!d->pipelined) {
                conn_send(c, "DATA", CMD_DATA, 0);
            }
            break;
        case CMD_DATA:
            if (c->reply.code == 354) {
                if (d->accepted_any) {
                    send_body(c);
                } else {
                    /* Nobody to send it to: end the data at once. */
                    buf_cat(&c->out, ".\r\n");
                    conn_expect(c, CMD_DOT, SIZE_MAX);
                }
                break;
            }
            if (cls == 2 || cls == 3) {
                /* Not an answer to DATA: the session is confused. */
                reply_fail(c, p.cmd, false);
                return;
            }
            for (i = 0; i < d->m.req.rcpt_count; i++)
                if (d->r[i].state == R_ACCEPTED)
                    rcpt_outcome(c, i, CMD_DATA);
            tx_end(c);
            return;
        case CMD_DOT:
            if (p.idx != SIZE_MAX) {
                if (conf.lmtp) {
                    rcpt_outcome(c, p.idx, CMD_DOT);
                } else {
                    for (i = 0; i < d->m.req.rcpt_count; i++)
                        if (d->r[i].state == R_ACCEPTED)
                            rcpt_outcome(c, i, CMD_DOT);
                }
            }
            if (c->npend == c->pend_head) {
                tx_end(c);
                return;
            }
            break;
        case CMD_QUIT:
            break;
    }
    if (conn_flush(c) < 0) {
        struct buf reason = BUF_INIT;

        c->broken = true;
        buf_setf(&reason, "lost connection with %s while %s", c->hostaddr,
                 conn_phase(p.cmd));
        session_fail(c, "4.4.2", buf_str(&reason), NULL, false);
        buf_fini(&reason);
        return;
    }
    conn_arm(c);
}

/* conn_lost - end of file or an error from C's server */
static void conn_lost(struct conn *c, const char *fmt_why)
{
    struct buf reason = BUF_INIT;
    enum cmd cmd =
        c->npend > c->pend_head ? c->pend[c->pend_head].cmd : CMD_QUIT;

    if (c->d == NULL) {
        /* An idle cached session that speaks or closes, or the answer to
         * QUIT. */
        if (c->quitting) {
            conn_quit(c);
            return;
        }
        cache_unlink(c);
        conn_close(c);
        return;
    }
    if (cmd == CMD_RSET) {
        struct deliv *d = conn_detach(c);

        conn_close(c);
        deliv_next_server(d);
        return;
    }
    c->broken = true;
    if (fmt_why)
        buf_setf(&reason, "%s", fmt_why);
    else
        buf_setf(&reason, "lost connection with %s while %s", c->hostaddr,
                 conn_phase(cmd));
    session_fail(c, "4.4.2", buf_str(&reason), NULL, false);
    buf_fini(&reason);
}

/* conn_on_read - server bytes */
static void conn_on_read(int fd, int what, void *arg)
{
    struct conn *c = arg;
    char tmp[8192];
    ssize_t n;
    struct buf why = BUF_INIT;

    (void) what;
    conn_enter(c);
    n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        goto out;
    if (n <= 0 || c->d == NULL) {
        /* An idle cached session that speaks or closes is done. */
        conn_lost(c, NULL);
        goto out;
    }
    if (buf_len(&c->in) + (size_t) n > SMTP_IN_MAX) {
        struct buf reason = BUF_INIT;

        buf_setf(&reason,
                 "conversation with %s: too much unread data from "
                 "the server",
                 c->hostaddr);
        session_fail(c, "4.4.2", buf_str(&reason), NULL, false);
        buf_fini(&reason);
        goto out;
    }
    buf_catn(&c->in, tmp, (size_t) n);
    while (!c->closed && c->d) {
        size_t used;
        enum smtp_parse pr =
            smtp_reply_parse(span_make(buf_str(&c->in), buf_len(&c->in)), &used,
                             &c->reply, &why);
        struct pend p;

        if (pr == SMTP_PARSE_MORE) {
            /* Skipped lines before a reply need not be kept. */
            memmove((char *) buf_str(&c->in), buf_str(&c->in) + used,
                    buf_len(&c->in) - used);
            buf_truncate(&c->in, buf_len(&c->in) - used);
            break;
        }
        if (pr == SMTP_PARSE_ERROR || c->npend == c->pend_head) {
            struct buf reason = BUF_INIT;

            c->broken = true;
            buf_setf(&reason, "host %s sent a malformed reply: %s", c->hostaddr,
                     pr == SMTP_PARSE_ERROR ? buf_str(&why)
                                            : "reply without a command");
            session_fail(c, "4.4.2", buf_str(&reason), NULL, false);
            buf_fini(&reason);
            break;
        }
        /* Drop the reply's bytes from the front. */
        memmove((char *) buf_str(&c->in), buf_str(&c->in) + used,
                buf_len(&c->in) - used);
        buf_truncate(&c->in, buf_len(&c->in) - used);
        p = c->pend[c->pend_head++];
        msg_debug(1, "< %s: %s", c->relay, buf_str(&c->reply.text));
        on_reply(c, p);
    }
out:
    buf_fini(&why);
    conn_leave(c);
}

/* conn_connected - the connection is up: wait for the greeting */
static void conn_connected(struct conn *c)
{
    c->connected = true;
    conn_expect(c, CMD_GREETING, 0);
    loop_ev_arm(c->rev, -1);
    loop_ev_disarm(c->wev);
    conn_arm(c);
}

/* conn_on_write - connected, or room for more output */
static void conn_on_write(int fd, int what, void *arg)
{
    struct conn *c = arg;

    (void) what;
    conn_enter(c);
    if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof(err);
        struct buf reason = BUF_INIT;

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            buf_setf(&reason, "connect to %s: %s", c->relay, strerror(err));
            msg_info("%s", buf_str(&reason));
            session_fail(c, "4.4.1", buf_str(&reason), NULL, false);
        } else {
            conn_connected(c);
        }
        buf_fini(&reason);
    } else if (conn_flush(c) < 0) {
        conn_lost(c, NULL);
    } else {
        conn_arm(c);
    }
    conn_leave(c);
}

/* conn_on_timer - a wait took too long, or a cached session expired */
static void conn_on_timer(int fd, int what, void *arg)
{
    struct conn *c = arg;
    struct buf reason = BUF_INIT;

    (void) fd;
    (void) what;
    conn_enter(c);
    if (c->d == NULL) {
        if (!c->quitting)
            cache_unlink(c);
        conn_quit(c); /* a quitting one closes */
    } else if (!c->connected) {
        buf_setf(&reason, "connect to %s: Connection timed out", c->relay);
        msg_info("%s", buf_str(&reason));
        session_fail(c, "4.4.1", buf_str(&reason), NULL, false);
    } else if (c->npend > c->pend_head
               && c->pend[c->pend_head].cmd == CMD_RSET) {
        conn_lost(c, NULL);
    } else {
        enum cmd cmd =
            c->npend > c->pend_head ? c->pend[c->pend_head].cmd : CMD_QUIT;

        buf_setf(&reason, "conversation with %s timed out while %s",
                 c->hostaddr, conn_phase(cmd));
        c->broken = true;
        session_fail(c, "4.4.2", buf_str(&reason), NULL, false);
    }
    buf_fini(&reason);
    conn_leave(c);
}

/* addr_text - the address part of SA for logs, and the cache key */
static void addr_text(const struct smtp_addr *a, struct buf *addr, int *port)
{
    char tmp[INET6_ADDRSTRLEN];

    *port = 0;
    buf_reset(addr);
    if (a->sa.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *) &a->sa;

        inet_ntop(AF_INET, &s4->sin_addr, tmp, sizeof(tmp));
        buf_cat(addr, tmp);
        *port = ntohs(s4->sin_port);
    } else if (a->sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) &a->sa;

        inet_ntop(AF_INET6, &s6->sin6_addr, tmp, sizeof(tmp));
        buf_cat(addr, tmp);
        *port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_un *su = (const struct sockaddr_un *) &a->sa;
        size_t max = a->salen > offsetof(struct sockaddr_un, sun_path)
                         ? a->salen - offsetof(struct sockaddr_un, sun_path)
                         : 0;

        buf_catn(addr, su->sun_path, strnlen(su->sun_path, max));
    }
}

/* bind_local - smtp_bind_address(6) for an inet socket */
static int bind_local(int fd, int family, struct buf *why)
{
    const char *b = family == AF_INET ? conf.bind4 : conf.bind6;
    struct sockaddr_storage ss = {0};
    socklen_t len;

    if (*b == 0)
        return 0;
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;

        s4->sin_family = AF_INET;
        if (inet_pton(AF_INET, b, &s4->sin_addr) != 1) {
            buf_setf(why, "bad %s value: %s", pname("bind_address"), b);
            return -1;
        }
        len = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;

        s6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, b, &s6->sin6_addr) != 1) {
            buf_setf(why, "bad %s value: %s", pname("bind_address6"), b);
            return -1;
        }
        len = sizeof(*s6);
    }
    if (bind(fd, (struct sockaddr *) &ss, len) < 0) {
        buf_setf(why, "bind %s: %m", b);
        return -1;
    }
    return 0;
}

/* conn_new - a connection attempt to A for D; NULL when it failed at once
 * (recorded for the pending recipients) */
static struct conn *conn_new(struct deliv *d, const struct smtp_addr *a,
                             const char *addrtext, int port)
{
    struct conn *c = mem_zalloc(sizeof(*c));
    struct loop *l = server_loop(the_srv);
    struct buf t = BUF_INIT;
    struct buf why = BUF_INIT;
    int rc;

    c->fd = -1;
    buf_init(&c->in, 0);
    buf_init(&c->out, 0);
    smtp_reply_init(&c->reply);
    /* Postfix names a unix-domain server after this machine:
     * "myhostname[/path]" (checked against Postfix 3.7's lmtp). */
    c->host = mem_strdup(a->sa.ss_family == AF_UNIX ? conf_str("myhostname")
                                                    : a->host);
    c->addrtext = mem_strdup(addrtext);
    buf_setf(&t, "%s[%s]", c->host, addrtext);
    c->hostaddr = mem_strdup(buf_str(&t));
    if (a->sa.ss_family != AF_UNIX)
        buf_catf(&t, ":%d", port);
    c->relay = mem_strdup(buf_str(&t));
    buf_setf(&t, "%s:%d", addrtext, port);
    c->addrkey = mem_strdup(buf_str(&t));
    c->nexthop = mem_strdup(d->m.req.nexthop);
    memcpy(&c->sa, &a->sa, sizeof(c->sa));
    c->salen = a->salen;
    c->created = tv_now();
    c->d = d;
    d->c = c;
    d->tried = true;
    c->fd =
        socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        buf_setf(&why, "connect to %s: %m", c->relay);
        goto fail;
    }
    if (a->sa.ss_family != AF_UNIX
        && bind_local(c->fd, a->sa.ss_family, &why) < 0) {
        msg_warn("%s", buf_str(&why));
        buf_setf(&why, "connect to %s: cannot bind the local address",
                 c->relay);
        goto fail;
    }
    c->rev = loop_read(l, c->fd, conn_on_read, c);
    c->wev = loop_write(l, c->fd, conn_on_write, c);
    c->timer = loop_timer(l, conn_on_timer, c);
    do {
        rc = connect(c->fd, (const struct sockaddr *) &c->sa, c->salen);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        conn_connected(c);
    } else if (errno == EINPROGRESS || errno == EAGAIN) {
        loop_ev_arm(c->wev, -1);
        if (conf.connect_timeout > 0)
            loop_ev_arm(c->timer, conf.connect_timeout * 1000);
    } else {
        buf_setf(&why, "connect to %s: %m", c->relay);
        msg_info("%s", buf_str(&why));
        goto fail;
    }
    buf_fini(&t);
    buf_fini(&why);
    return c;
fail:
    pending_all(d, "4.4.1", buf_str(&why), NULL, NULL, false);
    conn_detach(c);
    conn_close(c);
    buf_fini(&t);
    buf_fini(&why);
    return NULL;
}

/* conn_reuse - take the cached session C for D: RSET first */
static void conn_reuse(struct deliv *d, struct conn *c)
{
    c->d = d;
    d->c = c;
    d->tried = true;
    conn_send(c, "RSET", CMD_RSET, 0);
    if (conn_flush(c) < 0) {
        conn_detach(c);
        conn_close(c);
        deliv_next_server(d);
        return;
    }
    conn_arm(c);
}

/* ------------------------------------------------------------------ */
/* Deliveries */

static void deliv_addr_done(void *arg, struct smtp_addr_result *res);
static void pass_best_mx(struct deliv *d);

/* deliv_lookup - select the servers of NEXTHOP */
static void deliv_lookup(struct deliv *d, const char *nexthop)
{
    if (d->servers) {
        smtp_addr_result_free(d->servers);
        d->servers = NULL;
    }
    d->next_server = 0;
    d->sessions = 0;
    d->looked_up = true;
    d->areq = smtp_addr_find(dns, &conf.addr, server_loop(the_srv), nexthop,
                             deliv_addr_done, d);
}

/* pass_close - the other agent's connection is done with */
static void pass_close(struct deliv *d)
{
    loop_ev_free(d->prev);
    loop_ev_free(d->pwev);
    d->prev = d->pwev = NULL;
    if (d->pfd >= 0)
        close(d->pfd);
    d->pfd = -1;
    ipc_reader_fini(&d->preader);
    buf_fini(&d->pout);
}

/* pass_fail - the other agent could not be asked: defer with WHY */
static void pass_fail(struct deliv *d, const char *transport, const char *why)
{
    struct buf reason = BUF_INIT;

    buf_setf(&reason, "mail transport unavailable: %s: %s", transport, why);
    msg_warn("%s: %s", d->m.req.queue_id, buf_str(&reason));
    pass_close(d);
    pending_all(d, "4.3.0", buf_str(&reason), NULL, NULL, true);
    deliv_finish(d);
    buf_fini(&reason);
}

/* pass_status - one deliver_status from the other agent; true at done */
static bool pass_status(struct deliv *d, const struct ipc_deliver_status *st)
{
    /* That agent logged the delivery: the status goes back quiet. */
    for (size_t i = 0; i < d->m.req.rcpt_count; i++) {
        if (d->m.req.rcpt[i].offset == st->offset && d->r[i].state != R_DONE) {
            rcpt_set(d, i, st->status, st->reason, st->relay, st->remote_mta,
                     st->diag_code);
            d->r[i].res.quiet = true;
            break;
        }
    }
    return st->done != 0;
}

/* pass_on_io - the request goes out, the statuses come back */
static void pass_on_io(int fd, int what, void *arg)
{
    struct deliv *d = arg;
    struct ipc_frame frame;
    struct ipc_deliver_status st;
    struct buf why = BUF_INIT;
    const char *transport = conf_str("best_mx_transport");
    int passed = -1;
    bool done;

    if (what & LOOP_TIMEOUT) {
        pass_fail(d, transport, "time-out");
        goto out;
    }
    if (what & LOOP_WRITE) {
        if (ipc_send_some(fd, &d->pout) < 0) {
            buf_setf(&why, "%m");
            pass_fail(d, transport, buf_str(&why));
            goto out;
        }
        if (buf_len(&d->pout) == 0)
            loop_ev_disarm(d->pwev);
        goto out;
    }
    for (;;) {
        switch (ipc_reader_read(&d->preader, fd, &frame, &passed, &why)) {
            case IPC_READ_MORE:
                goto out;
            case IPC_READ_EOF:
                pass_fail(d, transport, "no delivery status");
                goto out;
            case IPC_READ_ERROR:
                pass_fail(d, transport, buf_str(&why));
                goto out;
            case IPC_READ_FRAME:
                break;
        }
        if (passed >= 0)
            close(passed);
        passed = -1;
        if (ipc_deliver_status_decode(&frame, &st, &why) < 0) {
            pass_fail(d, transport, buf_str(&why));
            goto out;
        }
        if (dsn_status_check(span_of(st.status), &why) < 0) {
            ipc_deliver_status_fini(&st);
            pass_fail(d, transport, buf_str(&why));
            goto out;
        }
        done = pass_status(d, &st);
        ipc_deliver_status_fini(&st);
        if (done) {
            pass_close(d);
            /* A recipient it did not answer for defers. */
            pending_all(d, "4.3.0", "mail transport error: no delivery status",
                        NULL, NULL, true);
            d->talked = true;
            deliv_finish(d);
            goto out;
        }
    }
out:
    buf_fini(&why);
}

/* pass_best_mx - hand the pending recipients to best_mx_transport
 * ("transport" or "transport:nexthop") as Postfix's smtp does when this
 * machine is the best MX: one deliver_req for the same queue file on
 * private/TRANSPORT, without blocking */
static void pass_best_mx(struct deliv *d)
{
    const char *spec = conf_str("best_mx_transport");
    const char *colon = strchr(spec, ':');
    char *transport = colon ? span_dup(span_make(spec, (size_t) (colon - spec)))
                            : mem_strdup(spec);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct ipc_deliver_req req = d->m.req;
    struct ipc_rcpt *rcpts = mem_alloc(d->m.req.rcpt_count * sizeof(*rcpts));
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct loop *l = server_loop(the_srv);

    ipc_reader_init(&d->preader);
    buf_init(&d->pout, 0);
    req.nexthop = colon && colon[1] ? (char *) colon + 1 : d->m.req.nexthop;
    req.rcpt = rcpts;
    req.rcpt_count = 0;
    for (size_t i = 0; i < d->m.req.rcpt_count; i++)
        if (d->r[i].state != R_DONE)
            rcpts[req.rcpt_count++] = d->m.req.rcpt[i];
    buf_setf(&path, "%s/private/%s", conf_str("queue_directory"), transport);
    if (*transport == 0 || strchr(transport, '/') || *transport == '.'
        || str_copy(sun.sun_path, sizeof(sun.sun_path), buf_str(&path)) < 0) {
        pass_fail(d, spec, "bad transport name");
        goto out;
    }
    if (ipc_deliver_req_encode(&req, d->m.request_id, &d->pout, &why) < 0) {
        pass_fail(d, spec, buf_str(&why));
        goto out;
    }
    d->pfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->pfd < 0
        || connect(d->pfd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        buf_setf(&why, "connect to private/%s: %m", transport);
        pass_fail(d, spec, buf_str(&why));
        goto out;
    }
    d->prev = loop_read(l, d->pfd, pass_on_io, d);
    d->pwev = loop_write(l, d->pfd, pass_on_io, d);
    /* The other agent's own time limits bound its work. */
    loop_ev_arm(d->prev, AGENT_PASS_TIMEOUT * 1000L);
    loop_ev_arm(d->pwev, AGENT_REQ_TIMEOUT * 1000L);
out:
    mem_free(rcpts);
    mem_free(transport);
    buf_fini(&why);
    buf_fini(&path);
}

/* deliv_addr_done - the servers, or why there are none */
static void deliv_addr_done(void *arg, struct smtp_addr_result *res)
{
    struct deliv *d = arg;

    d->areq = NULL;
    d->servers = res;
    if (res->status != 0) {
        if (res->status == 4)
            d->dns_fail = true;
        pending_all(d, res->dsn, buf_str(&res->reason), NULL, NULL,
                    res->status == 5 && !d->on_fallback);
    } else if (res->best_mx_local) {
        /* This machine is the best MX: best_mx_transport delivers. */
        pass_best_mx(d);
        return;
    }
    deliv_next_server(d);
}

/* deliv_next_server - the next server, the fallback relay, or the end */
static void deliv_next_server(struct deliv *d)
{
    struct buf addr = BUF_INIT;
    struct buf key = BUF_INIT;

    while (!d->finished && undecided(d) > 0) {
        if (!d->looked_up) {
            /* A cached session for the next hop failed its RSET. */
            deliv_lookup(d, d->m.req.nexthop);
            goto out;
        }
        if (d->servers && d->servers->status == 0 && !d->servers->best_mx_local
            && d->next_server < d->servers->naddr
            && (conf.mx_session_limit == 0
                || d->sessions < conf.mx_session_limit)) {
            const struct smtp_addr *a = &d->servers->addr[d->next_server++];
            struct conn *c;
            int port;

            addr_text(a, &addr, &port);
            buf_setf(&key, "%s:%d", buf_str(&addr), port);
            if ((c = cache_take(NULL, buf_str(&key))) != NULL) {
                conn_reuse(d, c);
                goto out;
            }
            if (conn_new(d, a, buf_str(&addr), port) != NULL)
                goto out;
            continue;
        }
        if (d->fallback_next < conf.fallback->argc
            && !(d->servers && d->servers->status == 5 && !d->on_fallback)) {
            d->on_fallback = true;
            deliv_lookup(d, conf.fallback->argv[d->fallback_next++]);
            goto out;
        }
        break;
    }
    if (!d->finished)
        deliv_finish(d);
out:
    buf_fini(&addr);
    buf_fini(&key);
}

/* deliv_free - the end of a delivery */
static void deliv_free(struct deliv *d)
{
    if (d->areq)
        smtp_addr_cancel(d->areq);
    if (d->servers)
        smtp_addr_result_free(d->servers);
    if (d->c) {
        struct conn *c = d->c;

        conn_detach(c);
        conn_quit(c);
    }
    for (size_t i = 0; d->r && i < d->m.req.rcpt_count; i++) {
        buf_fini(&d->r[i].res.reason);
        mem_free(d->r[i].relay);
        mem_free(d->r[i].remote_mta);
        mem_free(d->r[i].diag);
    }
    mem_free(d->r);
    if (d->pfd >= 0 || d->prev)
        pass_close(d);
    if (d->have_req)
        ipc_deliver_req_fini(&d->m.req);
    queue_env_fini(&d->m.env);
    buf_fini(&d->m.data);
    ipc_reader_fini(&d->reader);
    buf_fini(&d->qout);
    loop_ev_free(d->qrev);
    loop_ev_free(d->qwev);
    loop_ev_free(d->qtimer);
    if (d->qfd >= 0)
        close(d->qfd);
    mem_free(d);
    server_session_done(the_srv);
}

/* deliv_flush - send the statuses; free the delivery when they are out */
static void deliv_flush(struct deliv *d)
{
    if (ipc_send_some(d->qfd, &d->qout) < 0) {
        msg_warn("%s: cannot send the delivery status to the queue manager: "
                 "%m",
                 d->m.req.queue_id);
        deliv_free(d);
        return;
    }
    if (buf_len(&d->qout) == 0) {
        deliv_free(d);
        return;
    }
    loop_ev_arm(d->qwev, AGENT_REQ_TIMEOUT * 1000);
}

/* deliv_on_qwrite - the qmgr takes more, or does not */
static void deliv_on_qwrite(int fd, int what, void *arg)
{
    struct deliv *d = arg;

    (void) fd;
    if (what & LOOP_TIMEOUT) {
        msg_warn("%s: time-out sending the delivery status to the queue "
                 "manager",
                 d->m.req.queue_id);
        deliv_free(d);
        return;
    }
    deliv_flush(d);
}

/* deliv_finish - every recipient's status to the qmgr */
static void deliv_finish(struct deliv *d)
{
    struct agent_result res;
    size_t n = d->m.req.rcpt_count;
    /* Negative feedback when no server took part in a mail transaction:
     * nothing reachable, every one refused the session, or no servers
     * for now.  A bounce for the next hop itself (5xx lookup) is none. */
    bool dest_fail = !d->talked && (d->dns_fail || d->tried);

    d->finished = true;
    if (!d->have_conn_done && d->tried) {
        /* The time went into setting up connections (delays c), as in
         * Postfix's log. */
        d->conn_done = tv_now();
        d->have_conn_done = true;
    }
    if (d->c) {
        struct conn *c = d->c;

        conn_detach(c);
        conn_quit(c);
    }
    if (d->areq) {
        smtp_addr_cancel(d->areq);
        d->areq = NULL;
    }
    buf_init(&res.reason, 0);
    res.quiet = false;
    for (size_t i = 0; i < n; i++) {
        struct rcpt *r = &d->r[i];
        struct agent_status_extra x = {
            .remote_mta = r->remote_mta,
            .diag_code = r->diag,
            .conn_done = d->have_conn_done ? &d->conn_done : NULL,
            .last = i + 1 == n,
            .dest_fail = dest_fail,
        };

        res.quiet = r->res.quiet;
        if (r->has_res) {
            str_copy(res.status, sizeof(res.status), r->res.status);
            buf_set(&res.reason, buf_str(&r->res.reason));
        } else {
            agent_result_set(&res, "4.3.0",
                             "mail transport error: no "
                             "server was tried");
        }
        (void) agent_status_frame(&d->m, r->relay ? r->relay : "none",
                                  &d->m.req.rcpt[i], &res, &x, &d->qout);
    }
    buf_fini(&res.reason);
    d->qwev = loop_write(server_loop(the_srv), d->qfd, deliv_on_qwrite, d);
    deliv_flush(d);
}

/* deliv_prepare - the message's facts for MAIL FROM */
static void deliv_prepare(struct deliv *d)
{
    struct queue_content qc;
    struct span piece;
    bool more;
    const char *enc;

    d->mail.sender = d->m.req.sender;
    d->mail.size = d->m.env.message_size;
    d->mail.envid = d->m.req.envid;
    d->mail.ret = d->m.req.ret;
    /* Postfix sends BODY=8BITMIME for a message declared 8bit (the
     * queue file's "encoding" attribute).  Without the declaration ulak
     * looks at the content: 8-bit data needs BODY=8BITMIME (RFC 6152),
     * and ulak's smtpd does not record BODY= yet. */
    enc = queue_env_attr(&d->m.env, "encoding");
    if (enc && strcmp(enc, "8bit") == 0)
        d->mail.eightbit = true;
    /* One pass over the content: SIZE= counts what goes on the wire,
     * each line end as CR LF, as Postfix 3.7 announces it (the queue
     * file's size counts one byte a line end); 8-bit data as above. */
    queue_content_init(&qc, span_make(buf_str(&d->m.data), buf_len(&d->m.data)),
                       &d->m.env);
    while (queue_content_piece(&qc, &piece, &more)) {
        if (!more)
            d->mail.size++;
        for (size_t i = 0; !enc && !d->mail.eightbit && i < piece.len; i++)
            if ((unsigned char) piece.p[i] & 0x80)
                d->mail.eightbit = true;
    }
    for (const unsigned char *p = (const unsigned char *) d->m.req.sender; *p;
         p++)
        if (*p & 0x80)
            d->mail.smtputf8 = true;
    for (size_t i = 0; i < d->m.req.rcpt_count; i++)
        for (const unsigned char *p =
                 (const unsigned char *) d->m.req.rcpt[i].address;
             *p; p++)
            if (*p & 0x80)
                d->mail.smtputf8 = true;
}

/* deliv_start - the request is in: load the message and go */
static void deliv_start(struct deliv *d)
{
    struct buf why = BUF_INIT;
    struct conn *c;

    d->r = mem_zalloc(d->m.req.rcpt_count * sizeof(*d->r));
    for (size_t i = 0; i < d->m.req.rcpt_count; i++)
        buf_init(&d->r[i].res.reason, 0);
    if (agent_msg_load(&d->m, &why) < 0) {
        msg_warn("%s: %s", d->m.req.queue_id, buf_str(&why));
        pending_all(d, "4.3.0", buf_str(&why), NULL, NULL, true);
        deliv_finish(d);
        buf_fini(&why);
        return;
    }
    buf_fini(&why);
    /* Addresses go into command lines: no line breaks (the queue file
     * never has them; the request comes from another process). */
    if (strpbrk(d->m.req.sender, "\r\n")) {
        pending_all(d, "5.1.7", "malformed sender address", NULL, NULL, true);
    }
    for (size_t i = 0; i < d->m.req.rcpt_count; i++)
        if (strpbrk(d->m.req.rcpt[i].address, "\r\n")
            || (d->m.req.rcpt[i].orcpt
                && strpbrk(d->m.req.rcpt[i].orcpt, "\r\n")))
            rcpt_set(d, i, "5.1.3", "malformed recipient address", NULL, NULL,
                     NULL);
    if (undecided(d) == 0) {
        deliv_finish(d);
        return;
    }
    deliv_prepare(d);
    if ((c = cache_take(d->m.req.nexthop, NULL)) != NULL) {
        /* A failed RSET goes to deliv_next_server, which looks up the
         * servers then (looked_up is false). */
        conn_reuse(d, c);
        return;
    }
    deliv_lookup(d, d->m.req.nexthop);
}

/* deliv_on_qread - the request from the qmgr */
static void deliv_on_qread(int fd, int what, void *arg)
{
    struct deliv *d = arg;
    struct ipc_frame frame;
    struct buf why = BUF_INIT;
    int passed = -1;

    if (what & LOOP_TIMEOUT) {
        msg_warn("time-out reading the delivery request");
        deliv_free(d);
        goto out;
    }
    switch (ipc_reader_read(&d->reader, fd, &frame, &passed, &why)) {
        case IPC_READ_MORE:
            goto out;
        case IPC_READ_EOF:
            deliv_free(d);
            goto out;
        case IPC_READ_ERROR:
            msg_warn("read request: %s", buf_str(&why));
            deliv_free(d);
            goto out;
        case IPC_READ_FRAME:
            break;
    }
    if (passed >= 0)
        close(passed);
    loop_ev_free(d->qrev);
    d->qrev = NULL;
    gettimeofday(&d->m.t_recv, NULL);
    d->m.request_id = frame.request_id;
    if (ipc_deliver_req_decode(&frame, &d->m.req, &why) < 0) {
        msg_warn("bad delivery request: %s", buf_str(&why));
        deliv_free(d);
        goto out;
    }
    d->have_req = true;
    deliv_start(d);
out:
    buf_fini(&why);
}

/* on_accept - a delivery request connection from the qmgr */
static void on_accept(struct server *srv, int fd)
{
    struct deliv *d = mem_zalloc(sizeof(*d));

    d->qfd = fd;
    d->pfd = -1;
    ipc_reader_init(&d->reader);
    buf_init(&d->qout, 0);
    buf_init(&d->m.data, 0);
    d->qrev = loop_read(server_loop(srv), fd, deliv_on_qread, d);
    loop_ev_arm(d->qrev, AGENT_REQ_TIMEOUT * 1000);
}

/* on_drain - no new work: close the cached sessions */
static void on_drain(struct server *srv)
{
    (void) srv;
    while (cache_head) {
        struct conn *c = cache_head;

        cache_unlink(c);
        conn_quit(c);
    }
    while (quit_head)
        conn_quit(quit_head);
}

/* on_exit - free the process's own events before the loop goes */
static void on_exit_cb(struct server *srv)
{
    on_drain(srv);
    if (dns)
        dns_free(dns);
    dns = NULL;
}

/* run - the daemon as NAME */
static int run(bool lmtp, int argc, char **argv)
{
    static const struct server_spec smtp_spec = {
        .name = "smtp",
        .post_jail = post_jail,
        .on_accept = on_accept,
        .on_drain = on_drain,
        .on_exit = on_exit_cb,
    };
    static const struct server_spec lmtp_spec = {
        .name = "lmtp",
        .post_jail = post_jail,
        .on_accept = on_accept,
        .on_drain = on_drain,
        .on_exit = on_exit_cb,
    };

    conf.lmtp = lmtp;
    return server_run(lmtp ? &lmtp_spec : &smtp_spec, argc, argv);
}

/* smtp_main - the smtp(8) daemon */
int smtp_main(int argc, char **argv)
{
    return run(false, argc, argv);
}

/* lmtp_main - the lmtp(8) daemon */
int lmtp_main(int argc, char **argv)
{
    return run(true, argc, argv);
}
