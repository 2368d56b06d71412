/* smtpd_policy - the non-blocking policy delegation client (see .h). */
#include "smtpd/smtpd_policy.h"

#include "global/conf.h"
#include "lib/argv.h"
#include "lib/mem.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- */
/* Settings. */

/* now_ms - monotonic milliseconds */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* group_items - the comma-separated items inside "{ ... }" (SPEC without
 * its braces), each trimmed; braces inside keep their commas */
static struct argv *group_items(struct span in)
{
    struct argv *out = argv_new();
    size_t start = 0, i;
    int depth = 0;

    for (i = 0; i <= in.len; i++) {
        if (i < in.len && in.p[i] == '{')
            depth++;
        else if (i < in.len && in.p[i] == '}' && depth > 0)
            depth--;
        else if (i == in.len || (in.p[i] == ',' && depth == 0)) {
            struct span item = span_trim(span_make(in.p + start, i - start));

            if (item.len > 0)
                argv_addn(out, item.p, item.len);
            start = i + 1;
        }
    }
    return out;
}

/* unbrace - S without one pair of outer braces, trimmed */
static struct span unbrace(struct span s)
{
    s = span_trim(s);
    if (s.len >= 2 && s.p[0] == '{' && s.p[s.len - 1] == '}')
        s = span_trim(span_make(s.p + 1, s.len - 2));
    return s;
}

/* time_ms - VALUE as a time (seconds by default) in milliseconds */
static int time_ms(const char *value, long *ms)
{
    long s;

    if (conf_parse_time(value, 's', &s) < 0 || s < 1 || s > 100000000)
        return -1;
    *ms = s * 1000;
    return 0;
}

/* smtpd_policy_conf_parse - one service's settings */
int smtpd_policy_conf_parse(const char *spec, struct smtpd_policy_conf *out,
                            struct buf *why)
{
    struct span in = span_trim(span_of(spec));
    struct argv *items;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->timeout_ms = conf_time("smtpd_policy_service_timeout") * 1000;
    out->max_idle_ms = conf_time("smtpd_policy_service_max_idle") * 1000;
    out->max_ttl_ms = conf_time("smtpd_policy_service_max_ttl") * 1000;
    out->retry_delay_ms = conf_time("smtpd_policy_service_retry_delay") * 1000;
    out->request_limit = conf_int("smtpd_policy_service_request_limit");
    out->try_limit = conf_int("smtpd_policy_service_try_limit");
    out->default_action =
        mem_strdup(conf_str("smtpd_policy_service_default_action"));
    out->policy_context =
        mem_strdup(conf_str("smtpd_policy_service_policy_context"));
    if (in.len > 0 && in.p[0] == '{') {
        if (in.p[in.len - 1] != '}') {
            buf_setf(why, "missing '}' in \"%s\"", spec);
            smtpd_policy_conf_fini(out);
            return -1;
        }
        items = group_items(span_make(in.p + 1, in.len - 2));
    } else {
        items = argv_new();
        argv_addn(items, in.p, in.len);
    }
    if (items->argc == 0 || strchr(items->argv[0], '=') != NULL) {
        buf_setf(why, "missing policy service endpoint in \"%s\"", spec);
        rc = -1;
    } else {
        out->endpoint = mem_strdup(items->argv[0]);
    }
    for (size_t i = 1; rc == 0 && i < items->argc; i++) {
        const char *it = items->argv[i];
        const char *eq = strchr(it, '=');
        struct span name;
        char *val;
        long n;

        if (eq == NULL) {
            buf_setf(why, "missing '=' in \"%s\"", it);
            rc = -1;
            break;
        }
        name = span_trim(span_make(it, (size_t) (eq - it)));
        val = span_dup(unbrace(span_of(eq + 1)));
        if (span_eq(name, "timeout") || span_eq(name, "max_idle")
            || span_eq(name, "max_ttl") || span_eq(name, "retry_delay")) {
            long *dst = span_eq(name, "timeout")    ? &out->timeout_ms
                        : span_eq(name, "max_idle") ? &out->max_idle_ms
                        : span_eq(name, "max_ttl")  ? &out->max_ttl_ms
                                                    : &out->retry_delay_ms;

            if (time_ms(val, dst) < 0) {
                buf_setf(why, "bad time value in \"%s\"", it);
                rc = -1;
            }
        } else if (span_eq(name, "request_limit")
                   || span_eq(name, "try_limit")) {
            if (conf_parse_long(val, &n) < 0 || n < 0) {
                buf_setf(why, "bad numerical value in \"%s\"", it);
                rc = -1;
            } else if (span_eq(name, "request_limit")) {
                out->request_limit = n;
            } else {
                out->try_limit = n;
            }
        } else if (span_eq(name, "default_action")) {
            mem_free(out->default_action);
            out->default_action = mem_strdup(val);
        } else if (span_eq(name, "policy_context")) {
            mem_free(out->policy_context);
            out->policy_context = mem_strdup(val);
        } else {
            buf_setf(why, "unknown policy service attribute in \"%s\"", it);
            rc = -1;
        }
        mem_free(val);
    }
    argv_free(items);
    if (rc == 0 && !str_has_prefix(out->endpoint, "inet:")
        && !str_has_prefix(out->endpoint, "unix:")) {
        buf_setf(why, "unsupported policy server type in \"%s\"",
                 out->endpoint);
        rc = -1;
    }
    if (out->try_limit < 1)
        out->try_limit = 1;
    if (rc < 0)
        smtpd_policy_conf_fini(out);
    return rc;
}

/* smtpd_policy_conf_fini - free what CONF holds */
void smtpd_policy_conf_fini(struct smtpd_policy_conf *conf)
{
    mem_free(conf->endpoint);
    mem_free(conf->default_action);
    mem_free(conf->policy_context);
    memset(conf, 0, sizeof(*conf));
}

/* ---------------------------------------------------------------- */
/* The protocol. */

/* attr - "NAME=VALUE\n", line breaks in VALUE as spaces */
static void attr(struct buf *out, const char *name, const char *value)
{
    buf_catf(out, "%s=", name);
    for (const char *p = value ? value : ""; *p; p++)
        buf_catc(out, *p == '\n' || *p == '\r' ? ' ' : *p);
    buf_catc(out, '\n');
}

/* smtpd_policy_encode - the request, in Postfix 3.7's order */
void smtpd_policy_encode(const struct smtpd_policy_attrs *a, struct buf *out)
{
    char num[32];

    attr(out, "request", "smtpd_access_policy");
    attr(out, "protocol_state", a->protocol_state);
    attr(out, "protocol_name", a->protocol_name);
    attr(out, "client_address", a->client_address);
    attr(out, "client_name", a->client_name);
    attr(out, "client_port", a->client_port);
    attr(out, "reverse_client_name", a->reverse_client_name);
    attr(out, "server_address", a->server_address);
    attr(out, "server_port", a->server_port);
    attr(out, "helo_name", a->helo_name);
    attr(out, "sender", a->sender);
    attr(out, "recipient", a->recipient);
    str_fmt(num, sizeof(num), "%u", a->recipient_count);
    attr(out, "recipient_count", num);
    attr(out, "queue_id", a->queue_id);
    attr(out, "instance", a->instance);
    str_fmt(num, sizeof(num), "%llu", a->size);
    attr(out, "size", num);
    attr(out, "etrn_domain", a->etrn_domain);
    attr(out, "stress", a->stress);
    attr(out, "sasl_method", a->sasl_method);
    attr(out, "sasl_username", a->sasl_username);
    attr(out, "sasl_sender", a->sasl_sender);
    /* No TLS in ulak yet: what Postfix sends for a plain session. */
    attr(out, "ccert_subject", "");
    attr(out, "ccert_issuer", "");
    attr(out, "ccert_fingerprint", "");
    attr(out, "ccert_pubkey_fingerprint", "");
    attr(out, "encryption_protocol", "");
    attr(out, "encryption_cipher", "");
    attr(out, "encryption_keysize", "0");
    attr(out, "policy_context", a->policy_context);
    buf_catc(out, '\n');
}

/* smtpd_policy_reply_parse - one answer at the start of IN */
int smtpd_policy_reply_parse(const char *in, size_t len, size_t *used,
                             struct buf *action, struct buf *why)
{
    size_t off = 0, lines = 0;
    bool have = false;

    buf_reset(action);
    if (len > SMTPD_POLICY_REPLY_MAX
        && memmem(in, SMTPD_POLICY_REPLY_MAX, "\n\n", 2) == NULL) {
        buf_set(why, "reply too long");
        return -1;
    }
    for (;;) {
        const char *p = in + off;
        const char *nl = memchr(p, '\n', len - off);
        size_t n;

        if (memchr(p, 0, nl ? (size_t) (nl - p) : len - off) != NULL) {
            buf_set(why, "NUL byte");
            return -1;
        }
        if (nl == NULL) {
            if (len - off > SMTPD_POLICY_LINE_MAX) {
                buf_set(why, "attribute line too long");
                return -1;
            }
            return 0;
        }
        n = (size_t) (nl - p);
        off += n + 1;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > SMTPD_POLICY_LINE_MAX) {
            buf_set(why, "attribute line too long");
            return -1;
        }
        if (n == 0)
            break;
        if (++lines > SMTPD_POLICY_ATTRS_MAX) {
            buf_set(why, "too many attributes");
            return -1;
        }
        {
            const char *eq = memchr(p, '=', n);

            if (eq == NULL || eq == p) {
                buf_set(why, "malformed attribute line");
                return -1;
            }
            if ((size_t) (eq - p) == 6 && memcmp(p, "action", 6) == 0) {
                buf_reset(action);
                buf_catn(action, eq + 1, (size_t) (p + n - eq - 1));
                have = true;
            }
        }
    }
    if (!have) {
        buf_set(why, "missing attribute action");
        return -1;
    }
    *used = off;
    return 1;
}

/* ---------------------------------------------------------------- */
/* The client. */

struct preq {
    uint32_t id;
    smtpd_policy_fn fn; /* NULL: cancelled while on the wire */
    void *arg;
    char *text;
    long tries;
    bool resent; /* sent again after a reused connection closed */
    struct preq *next;
};

enum svc_state {
    S_NONE,       /* no connection */
    S_CONNECTING, /* connect in progress for the head request */
    S_IDLE,       /* connected, nothing on the wire */
    S_BUSY,       /* the head request is on the wire */
    S_RETRY,      /* no connection; the head request waits retry_delay */
};

struct svc {
    struct smtpd_policy *p;
    char *spec;
    struct smtpd_policy_conf conf;
    const char *label; /* the endpoint without "inet:" or "unix:" */
    enum svc_state st;
    int fd;
    struct loop_ev *rev, *wev;
    struct loop_ev *timer; /* attempt time limit, retry delay, idle */
    struct loop_ev *kick;  /* start the next request from the loop */
    struct buf out;
    size_t ooff;
    struct buf in;
    struct preq *head, *tail;
    long long born; /* when the connection was made */
    long nreq;      /* requests answered on it */
    struct svc *next;
};

struct smtpd_policy {
    struct loop *loop;
    struct svc *svcs;
    uint32_t next_id;
};

static void start_next(struct svc *v);

/* conn_close - drop the connection (the requests stay) */
static void conn_close(struct svc *v)
{
    loop_ev_free(v->rev);
    loop_ev_free(v->wev);
    v->rev = v->wev = NULL;
    if (v->fd >= 0)
        (void) close(v->fd);
    v->fd = -1;
    buf_reset(&v->out);
    buf_reset(&v->in);
    v->ooff = 0;
    v->st = S_NONE;
    loop_ev_disarm(v->timer);
}

/* pop - take the head request off the queue */
static struct preq *pop(struct svc *v)
{
    struct preq *r = v->head;

    if (r) {
        v->head = r->next;
        if (v->head == NULL)
            v->tail = NULL;
    }
    return r;
}

/* deliver - R is done with ACTION: its callback, then it goes */
static void deliver(struct preq *r, const char *action)
{
    if (r->fn)
        r->fn(r->arg, action);
    mem_free(r->text);
    mem_free(r);
}

/* kick - start the next request from the loop when nothing runs */
static void kick(struct svc *v)
{
    if (v->head && (v->st == S_NONE || v->st == S_IDLE)
        && !loop_ev_armed(v->kick))
        loop_ev_arm(v->kick, 0);
}

/* Kinds of failure (fail()). */
enum fail_kind {
    F_IO,      /* an I/O error or time-out: retried */
    F_CONNECT, /* a connect error: retried */
    F_APP,     /* an answer without an action: not retried */
};

/* fail - this attempt failed for WHY: log, retry or give up.  Postfix
 * 3.7 logs "problem talking to server" after each failed attempt, but
 * for a UNIX-domain service whose connect fails only after the last. */
static void fail(struct svc *v, const char *why, enum fail_kind kind)
{
    struct preq *r = v->head;
    bool last = r == NULL || kind == F_APP || r->fn == NULL
                || r->tries + 1 >= v->conf.try_limit;

    if (last || kind != F_CONNECT || !str_has_prefix(v->conf.endpoint, "unix:"))
        msg_warn("problem talking to server %s: %s", v->label, why);
    conn_close(v);
    if (r == NULL)
        return;
    r->tries++;
    if (!last) {
        v->st = S_RETRY;
        loop_ev_arm(v->timer, v->conf.retry_delay_ms);
        return;
    }
    r = pop(v);
    kick(v);
    deliver(r, v->conf.default_action);
}

/* fail_errno - fail with strerror(ERR) (0: the end of the stream), or
 * start again at once on a new connection when a reused one turns out to
 * be closed (a server that dropped an idle connection), once per request
 * and silently */
static void fail_errno(struct svc *v, int err)
{
    if ((err == 0 || err == ECONNRESET || err == EPIPE) && v->nreq > 0
        && v->head && !v->head->resent) {
        v->head->resent = true;
        conn_close(v);
        kick(v);
        return;
    }
    if (err == 0) /* the end of the stream before the answer */
        fail(v, "Application error", F_APP);
    else
        fail(v, strerror(err), F_IO);
}

/* connect_failed - a connect error, logged as Postfix logs it */
static void connect_failed(struct svc *v, int err)
{
    msg_warn("connect to %s: %s", v->label, strerror(err));
    fail(v, strerror(err), F_CONNECT);
}

/* send_some - write what the socket takes */
static void send_some(struct svc *v)
{
    while (v->ooff < buf_len(&v->out)) {
        ssize_t n = send(v->fd, buf_str(&v->out) + v->ooff,
                         buf_len(&v->out) - v->ooff, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            loop_ev_arm(v->wev, -1);
            return;
        }
        if (n <= 0) {
            fail_errno(v, n < 0 ? errno : EPIPE);
            return;
        }
        v->ooff += (size_t) n;
    }
    loop_ev_disarm(v->wev);
}

/* begin_request - the head request goes on the wire */
static void begin_request(struct svc *v)
{
    v->st = S_BUSY;
    buf_set(&v->out, v->head->text);
    v->ooff = 0;
    buf_reset(&v->in);
    loop_ev_arm(v->timer, v->conf.timeout_ms);
    send_some(v);
}

/* on_read - the server's answer (or an idle connection that ends) */
static void on_read(int fd, int what, void *arg)
{
    struct svc *v = arg;
    char chunk[4096];
    ssize_t n;
    struct buf action = BUF_INIT;
    struct buf why = BUF_INIT;
    size_t used = 0;
    int rc;

    (void) fd;
    (void) what;
    n = read(v->fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == EWOULDBLOCK))
        return;
    if (v->st != S_BUSY) {
        /* Idle: the server closed it (or talks out of turn). */
        conn_close(v);
        kick(v);
        return;
    }
    if (n <= 0) {
        fail_errno(v, n < 0 ? errno : 0);
        return;
    }
    buf_catn(&v->in, chunk, (size_t) n);
    rc = smtpd_policy_reply_parse(buf_str(&v->in), buf_len(&v->in), &used,
                                  &action, &why);
    if (rc < 0) {
        msg_warn("%s in input from %s", buf_str(&why), v->label);
        fail(v, "Application error", F_APP);
    } else if (rc > 0) {
        struct preq *r = pop(v);

        if (used != buf_len(&v->in)) {
            /* More than one answer: the stream is out of step. */
            conn_close(v);
        } else {
            v->st = S_IDLE;
            v->nreq++;
            buf_reset(&v->in);
            loop_ev_arm(v->timer, v->conf.max_idle_ms);
        }
        kick(v);
        deliver(r, buf_str(&action));
    }
    buf_fini(&action);
    buf_fini(&why);
}

/* on_write - connected, or the socket takes more */
static void on_write(int fd, int what, void *arg)
{
    struct svc *v = arg;

    (void) fd;
    (void) what;
    if (v->st == S_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);

        if (getsockopt(v->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err != 0) {
            connect_failed(v, err);
            return;
        }
        loop_ev_disarm(v->wev);
        v->born = now_ms();
        v->nreq = 0;
        loop_ev_arm(v->rev, -1);
        begin_request(v);
        return;
    }
    if (v->st == S_BUSY)
        send_some(v);
    else
        loop_ev_disarm(v->wev);
}

/* on_timer - an attempt's time limit, the retry delay, or max_idle */
static void on_timer(int fd, int what, void *arg)
{
    struct svc *v = arg;

    (void) fd;
    (void) what;
    switch (v->st) {
        case S_CONNECTING:
        case S_BUSY:
            fail_errno(v, ETIMEDOUT);
            break;
        case S_RETRY:
            v->st = S_NONE;
            start_next(v);
            break;
        case S_IDLE:
            conn_close(v);
            kick(v);
            break;
        case S_NONE:
            kick(v);
            break;
    }
}

/* on_kick - start the next request */
static void on_kick(int fd, int what, void *arg)
{
    struct svc *v = arg;

    (void) fd;
    (void) what;
    if (v->head && (v->st == S_NONE || v->st == S_IDLE))
        start_next(v);
}

/* hosts_addr - the first address of NAME in the host file; 0 or -1 */
static int hosts_addr(const char *name, char *out, size_t size)
{
    FILE *fp = fopen("/etc/hosts", "re");
    char line[4096];
    int rc = -1;

    if (fp == NULL)
        return -1;
    while (rc < 0 && fgets(line, sizeof(line), fp) != NULL) {
        char *hash = strchr(line, '#');
        struct argv *w;

        if (hash)
            *hash = 0;
        w = argv_split(line, " \t\r\n");
        for (size_t i = 1; rc < 0 && i < w->argc; i++)
            if (strcasecmp(w->argv[i], name) == 0
                && str_copy(out, size, w->argv[0]) == 0)
                rc = 0;
        argv_free(w);
    }
    (void) fclose(fp);
    return rc;
}

/* open_socket - a non-blocking socket connecting to the endpoint; -1
 * with *ERR, or the descriptor with *ERR 0 (connected) or EINPROGRESS */
static int open_socket(struct svc *v, int *err)
{
    const char *ep = v->label;
    int fd = -1;

    *err = 0;
    if (str_has_prefix(v->conf.endpoint, "unix:")) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        struct buf path = BUF_INIT;

        if (ep[0] == '/')
            buf_set(&path, ep);
        else
            buf_setf(&path, "%s/%s", conf_str("queue_directory"), ep);
        if (buf_len(&path) >= sizeof(sun.sun_path)) {
            buf_fini(&path);
            *err = ENAMETOOLONG;
            return -1;
        }
        memcpy(sun.sun_path, buf_str(&path), buf_len(&path) + 1);
        buf_fini(&path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            *err = errno;
            return -1;
        }
        if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
            *err = errno == EAGAIN ? ECONNREFUSED : errno;
            if (*err != EINPROGRESS) {
                close(fd);
                return -1;
            }
        }
        return fd;
    }
    {
        const char *colon = strrchr(ep, ':');
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        char *host;
        int gai;

        if (colon == NULL || colon == ep || colon[1] == 0) {
            *err = EINVAL;
            return -1;
        }
        host = mem_strndup(ep, (size_t) (colon - ep));
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
            memmove(host, host + 1, strlen(host));
            host[strlen(host) - 1] = 0;
        }
        hints.ai_flags = AI_NUMERICHOST;
        gai = getaddrinfo(host, colon + 1, &hints, &res);
        if (gai != 0) {
            /* A name (localhost): the host file only, as smtpd's peer
             * names; a name service query would block the loop. */
            char addr[INET6_ADDRSTRLEN + 1];

            if (hosts_addr(host, addr, sizeof(addr)) == 0)
                gai = getaddrinfo(addr, colon + 1, &hints, &res);
        }
        mem_free(host);
        if (gai != 0 || res == NULL) {
            *err = EHOSTUNREACH;
            return -1;
        }
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
        if (fd < 0) {
            *err = errno;
        } else if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
            *err = errno;
            if (*err != EINPROGRESS) {
                close(fd);
                fd = -1;
            }
        }
        freeaddrinfo(res);
        return fd;
    }
}

/* start_next - the head request: on the idle connection, or a new one */
static void start_next(struct svc *v)
{
    int err;

    if (v->head == NULL)
        return;
    if (v->st == S_IDLE
        && (now_ms() - v->born >= v->conf.max_ttl_ms
            || (v->conf.request_limit > 0 && v->nreq >= v->conf.request_limit)))
        conn_close(v);
    if (v->st == S_IDLE) {
        begin_request(v);
        return;
    }
    if ((v->fd = open_socket(v, &err)) < 0) {
        connect_failed(v, err);
        return;
    }
    v->rev = loop_read(v->p->loop, v->fd, on_read, v);
    v->wev = loop_write(v->p->loop, v->fd, on_write, v);
    if (err == EINPROGRESS) {
        v->st = S_CONNECTING;
        loop_ev_arm(v->wev, -1);
        loop_ev_arm(v->timer, v->conf.timeout_ms);
        return;
    }
    v->born = now_ms();
    v->nreq = 0;
    loop_ev_arm(v->rev, -1);
    begin_request(v);
}

/* svc_get - the service SPEC, made on first use; NULL with WHY */
static struct svc *svc_get(struct smtpd_policy *p, const char *spec,
                           struct buf *why)
{
    struct svc *v;

    for (v = p->svcs; v; v = v->next)
        if (strcmp(v->spec, spec) == 0)
            return v;
    v = mem_zalloc(sizeof(*v));
    if (smtpd_policy_conf_parse(spec, &v->conf, why) < 0) {
        mem_free(v);
        return NULL;
    }
    v->p = p;
    v->spec = mem_strdup(spec);
    v->label = v->conf.endpoint + 5;
    v->fd = -1;
    buf_init(&v->out, 0);
    buf_init(&v->in, 0);
    v->timer = loop_timer(p->loop, on_timer, v);
    v->kick = loop_timer(p->loop, on_kick, v);
    v->next = p->svcs;
    p->svcs = v;
    return v;
}

/* smtpd_policy_open - a client without connections */
struct smtpd_policy *smtpd_policy_open(struct loop *loop)
{
    struct smtpd_policy *p = mem_zalloc(sizeof(*p));

    p->loop = loop;
    p->next_id = 1;
    return p;
}

static void bad_drop(struct smtpd_policy *p);

/* smtpd_policy_close - free everything, no callback */
void smtpd_policy_close(struct smtpd_policy *p)
{
    if (p == NULL)
        return;
    bad_drop(p);
    while (p->svcs) {
        struct svc *v = p->svcs;
        struct preq *r;

        p->svcs = v->next;
        conn_close(v);
        while ((r = pop(v)) != NULL) {
            mem_free(r->text);
            mem_free(r);
        }
        loop_ev_free(v->timer);
        loop_ev_free(v->kick);
        buf_fini(&v->out);
        buf_fini(&v->in);
        smtpd_policy_conf_fini(&v->conf);
        mem_free(v->spec);
        mem_free(v);
    }
    mem_free(p);
}

/* A request for a service that cannot be used: answered from the loop. */
struct bad_req {
    struct smtpd_policy *p;
    uint32_t id;
    smtpd_policy_fn fn;
    void *arg;
    struct loop_ev *ev;
    struct bad_req *next;
};

static struct bad_req *bad_reqs;

/* bad_drop - forget P's requests for malformed services */
static void bad_drop(struct smtpd_policy *p)
{
    for (struct bad_req **pp = &bad_reqs; *pp;) {
        struct bad_req *b = *pp;

        if (b->p != p) {
            pp = &b->next;
            continue;
        }
        *pp = b->next;
        loop_ev_free(b->ev);
        mem_free(b);
    }
}

/* on_bad - answer a request for a malformed service */
static void on_bad(int fd, int what, void *arg)
{
    struct bad_req *b = arg, **pp;
    smtpd_policy_fn fn = b->fn;
    void *farg = b->arg;

    (void) fd;
    (void) what;
    for (pp = &bad_reqs; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    loop_ev_free(b->ev);
    mem_free(b);
    fn(farg, conf_str("smtpd_policy_service_default_action"));
}

/* smtpd_policy_request - queue one request */
uint32_t smtpd_policy_request(struct smtpd_policy *p, const char *spec,
                              const char *request, smtpd_policy_fn fn,
                              void *arg)
{
    struct buf why = BUF_INIT;
    struct svc *v = svc_get(p, spec, &why);
    struct preq *r;
    uint32_t id;

    if ((id = p->next_id++) == 0)
        id = p->next_id++;
    if (v == NULL) {
        struct bad_req *b = mem_zalloc(sizeof(*b));

        msg_warn("check_policy_service: %s", buf_str(&why));
        buf_fini(&why);
        b->p = p;
        b->id = id;
        b->fn = fn;
        b->arg = arg;
        b->ev = loop_timer(p->loop, on_bad, b);
        b->next = bad_reqs;
        bad_reqs = b;
        loop_ev_arm(b->ev, 0);
        return id;
    }
    buf_fini(&why);
    r = mem_zalloc(sizeof(*r));
    r->id = id;
    r->fn = fn;
    r->arg = arg;
    r->text = mem_strdup(request);
    if (v->tail)
        v->tail->next = r;
    else
        v->head = r;
    v->tail = r;
    kick(v);
    return id;
}

/* smtpd_policy_cancel - request ID's callback will not run */
void smtpd_policy_cancel(struct smtpd_policy *p, uint32_t id)
{
    if (id == 0)
        return;
    for (struct bad_req **pp = &bad_reqs; *pp; pp = &(*pp)->next) {
        struct bad_req *b = *pp;

        if (b->id == id && b->p == p) {
            *pp = b->next;
            loop_ev_free(b->ev);
            mem_free(b);
            return;
        }
    }
    for (struct svc *v = p->svcs; v; v = v->next) {
        struct preq **pp;

        for (pp = &v->head; *pp; pp = &(*pp)->next) {
            struct preq *r = *pp, *prev = NULL;

            if (r->id != id)
                continue;
            if (r == v->head && (v->st == S_BUSY || v->st == S_CONNECTING)) {
                /* On the wire: the answer still comes, and is dropped. */
                r->fn = NULL;
                return;
            }
            for (struct preq *q = v->head; q && q != r; q = q->next)
                prev = q;
            *pp = r->next;
            if (v->tail == r)
                v->tail = prev;
            if (r == v->head || prev == NULL) {
                /* It was the head, waiting for a retry: the next one
                 * goes instead. */
                if (v->st == S_RETRY) {
                    v->st = S_NONE;
                    loop_ev_disarm(v->timer);
                    kick(v);
                }
            }
            mem_free(r->text);
            mem_free(r);
            return;
        }
    }
}
