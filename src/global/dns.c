/*
 * dns - asynchronous DNS lookups with libunbound on the process's loop.
 *
 * libunbound runs its resolver in a thread (ub_ctx_async(ctx, 1)) and
 * signals finished queries through ub_fd(); the loop watches that
 * descriptor and ub_process() runs libunbound's callbacks, which only park
 * the result on the ready list.  Answers are delivered from that list
 * after ub_process() has returned, so that a caller's callback may cancel
 * other queries or free the whole struct dns without re-entering
 * libunbound.  Answers made without a query (a malformed name, a query
 * libunbound refused) go through the same list from a zero timer, so that
 * no callback ever runs inside dns_lookup().
 */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <unbound.h>

#include "../lib/argv.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"

struct dns_query {
    struct dns *d;
    char *name;
    int type;
    dns_fn fn;
    void *arg;
    int async_id;               /* libunbound's id while in_ub */
    bool in_ub;                 /* libunbound has the query */
    bool ready;                 /* on the ready list */
    int ub_err;                 /* libunbound's error, 0 when none */
    struct ub_result *res;      /* owned; NULL without an answer */
    enum dns_status local;      /* with res == NULL: the status to report */
    struct dns_query *prev;     /* every query of D */
    struct dns_query *next;     /* every query of D */
    struct dns_query *ready_nx; /* the ready list */
};

struct dns {
    struct loop *loop;
    struct ub_ctx *ctx;
    struct loop_ev *fd_ev;
    struct loop_ev *timer;
    struct dns_query *all;
    struct dns_query *ready_head;
    struct dns_query *ready_tail;
    int busy;   /* delivering: a dns_free() waits */
    bool dying; /* dns_free() was called while busy */
};

/* dns_type_name - Postfix's names of record types */
const char *dns_type_name(int type)
{
    switch (type) {
        case DNS_T_A:
            return "A";
        case DNS_T_PTR:
            return "PTR";
        case DNS_T_MX:
            return "MX";
        case DNS_T_TXT:
            return "TXT";
        case DNS_T_AAAA:
            return "AAAA";
        default:
            return "unknown";
    }
}

/* dns_parse_servers - $ulak_dns_servers as unbound's "addr@port" list */
int dns_parse_servers(const char *servers, struct argv *out, struct buf *why)
{
    struct argv *words = argv_split(servers, ", \t\r\n");
    int ret = 0;

    for (size_t i = 0; i < words->argc; i++) {
        const char *w = words->argv[i];
        const char *colon;
        char host[INET6_ADDRSTRLEN + 1];
        const char *port = NULL;
        unsigned char bin[sizeof(struct in6_addr)];
        unsigned long pnum = 53;
        char fwd[INET6_ADDRSTRLEN + 16];
        size_t hlen;

        if (w[0] == '[') {
            const char *end = strchr(w, ']');

            if (end == NULL || (end[1] != 0 && end[1] != ':'))
                goto bad;
            hlen = (size_t) (end - w - 1);
            if (hlen == 0 || hlen >= sizeof(host))
                goto bad;
            memcpy(host, w + 1, hlen);
            host[hlen] = 0;
            if (inet_pton(AF_INET6, host, bin) != 1)
                goto bad;
            if (end[1] == ':')
                port = end + 2;
        } else if (inet_pton(AF_INET6, w, bin) == 1) {
            if (str_copy(host, sizeof(host), w) < 0)
                goto bad;
        } else {
            colon = strchr(w, ':');
            hlen = colon ? (size_t) (colon - w) : strlen(w);
            if (hlen == 0 || hlen >= sizeof(host))
                goto bad;
            memcpy(host, w, hlen);
            host[hlen] = 0;
            if (inet_pton(AF_INET, host, bin) != 1)
                goto bad;
            if (colon)
                port = colon + 1;
        }
        if (port != NULL
            && (str_to_ulong(port, &pnum) < 0 || pnum == 0 || pnum > 65535))
            goto bad;
        if (str_fmt(fwd, sizeof(fwd), "%s@%lu", host, pnum) < 0)
            goto bad;
        argv_add(out, fwd);
        continue;
bad:
        buf_setf(why,
                 "ulak_dns_servers: bad server \"%s\": want address, "
                 "address:port or [ipv6]:port",
                 w);
        ret = -1;
        break;
    }
    argv_free(words);
    return ret;
}

/* name_ok - whether NAME may be asked for (length, labels, bytes) */
static bool name_ok(const char *name)
{
    size_t len = strlen(name);
    size_t label = 0;

    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) name[i];

        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (c <= ' ' || c >= 0x7f || c == '\\') {
            return false;
        } else if (++label > 63) {
            return false;
        }
    }
    return true;
}

/* parse_name - an uncompressed wire-format name at P[*OFF..LEN) as text
 * ("" for the root) into OUT; -1 when it is malformed */
static int parse_name(const unsigned char *p, size_t len, size_t *off,
                      struct buf *out)
{
    size_t o = *off;
    size_t total = 0;

    buf_reset(out);
    for (;;) {
        size_t l;

        if (o >= len)
            return -1;
        l = p[o++];
        if (l == 0)
            break;
        if (l > 63) /* a compression pointer or an extended label type */
            return -1;
        if (o + l > len || (total += l + 1) > 255)
            return -1;
        if (buf_len(out) > 0)
            buf_catc(out, '.');
        for (size_t i = 0; i < l; i++) {
            unsigned char c = p[o + i];

            if (c <= ' ' || c >= 0x7f || c == '.' || c == '\\')
                return -1;
            buf_catc(out, c);
        }
        o += l;
    }
    *off = o;
    return 0;
}

/* dns_rr_parse - fill RR from the rdata of one record of TYPE */
int dns_rr_parse(int type, const unsigned char *rdata, size_t len,
                 struct dns_rr *rr)
{
    struct buf name = BUF_INIT;
    size_t off = 0;

    memset(rr, 0, sizeof(*rr));
    rr->type = type;
    switch (type) {
        case DNS_T_A: {
            struct sockaddr_in *sin = (struct sockaddr_in *) &rr->addr;

            if (len != 4)
                return -1;
            sin->sin_family = AF_INET;
            memcpy(&sin->sin_addr, rdata, 4);
            rr->addrlen = sizeof(*sin);
            return 0;
        }
        case DNS_T_AAAA: {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &rr->addr;

            if (len != 16)
                return -1;
            sin6->sin6_family = AF_INET6;
            memcpy(&sin6->sin6_addr, rdata, 16);
            rr->addrlen = sizeof(*sin6);
            return 0;
        }
        case DNS_T_MX:
            if (len < 3)
                return -1;
            rr->pref = (rdata[0] << 8) | rdata[1];
            off = 2;
            __attribute__((fallthrough));
        case DNS_T_PTR:
            buf_init(&name, 0);
            if (parse_name(rdata, len, &off, &name) < 0 || off != len) {
                buf_fini(&name);
                return -1;
            }
            rr->name = buf_steal(&name);
            buf_fini(&name);
            return 0;
        case DNS_T_TXT: {
            struct buf text = BUF_INIT;

            buf_init(&text, 0);
            if (len == 0) {
                buf_fini(&text);
                return -1;
            }
            while (off < len) {
                size_t l = rdata[off++];

                if (off + l > len) {
                    buf_fini(&text);
                    return -1;
                }
                buf_catn(&text, rdata + off, l);
                off += l;
            }
            rr->text = buf_steal(&text);
            buf_fini(&text);
            return 0;
        }
        default:
            return -1;
    }
}

/* dns_rr_fini - free what dns_rr_parse allocated */
void dns_rr_fini(struct dns_rr *rr)
{
    mem_free(rr->name);
    mem_free(rr->text);
    rr->name = rr->text = NULL;
}

/* ready_push - append Q to the ready list and make sure it is delivered */
static void ready_push(struct dns_query *q)
{
    struct dns *d = q->d;

    q->ready = true;
    q->ready_nx = NULL;
    if (d->ready_tail)
        d->ready_tail->ready_nx = q;
    else
        d->ready_head = q;
    d->ready_tail = q;
}

/* ready_remove - take Q off the ready list */
static void ready_remove(struct dns_query *q)
{
    struct dns *d = q->d;
    struct dns_query *prev = NULL;

    for (struct dns_query *p = d->ready_head; p; prev = p, p = p->ready_nx) {
        if (p != q)
            continue;
        if (prev)
            prev->ready_nx = q->ready_nx;
        else
            d->ready_head = q->ready_nx;
        if (d->ready_tail == q)
            d->ready_tail = prev;
        break;
    }
    q->ready = false;
    q->ready_nx = NULL;
}

/* query_unlink - take Q off D's lists */
static void query_unlink(struct dns_query *q)
{
    struct dns *d = q->d;

    if (q->ready)
        ready_remove(q);
    if (q->prev)
        q->prev->next = q->next;
    else if (d->all == q)
        d->all = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
}

/* query_free - unlink Q from D and free it (not its libunbound query) */
static void query_free(struct dns_query *q)
{
    query_unlink(q);
    if (q->res)
        ub_resolve_free(q->res);
    mem_free(q->name);
    mem_free(q);
}

/* ub_done - libunbound's callback (inside ub_process): park the result */
static void ub_done(void *arg, int err, struct ub_result *res)
{
    struct dns_query *q = arg;

    q->in_ub = false;
    q->ub_err = err;
    q->res = res;
    ready_push(q);
}

/* answer_of - the answer to Q; RRS gets the parsed records (owned) */
static void answer_of(struct dns_query *q, struct dns_answer *ans,
                      struct dns_rr **rrs)
{
    struct ub_result *r = q->res;

    memset(ans, 0, sizeof(*ans));
    ans->qname = q->name;
    ans->qtype = q->type;
    *rrs = NULL;
    if (r == NULL) {
        ans->status = q->ub_err ? DNS_RETRY : q->local;
    } else if (r->rcode == 3 || r->nxdomain) {
        ans->status = DNS_NOTFOUND;
    } else if (r->rcode != 0) {
        ans->status = DNS_RETRY;
    } else if (!r->havedata || r->data == NULL || r->data[0] == NULL) {
        ans->status = DNS_NODATA;
    } else {
        size_t n = 0;

        while (r->data[n] != NULL)
            n++;
        *rrs = mem_calloc(n, sizeof(**rrs));
        ans->status = DNS_OK;
        for (size_t i = 0; i < n; i++) {
            if (r->len[i] < 0
                || dns_rr_parse(q->type, (const unsigned char *) r->data[i],
                                (size_t) r->len[i], &(*rrs)[i])
                       < 0) {
                for (size_t j = 0; j < i; j++)
                    dns_rr_fini(&(*rrs)[j]);
                mem_free(*rrs);
                *rrs = NULL;
                ans->status = DNS_INVAL;
                msg_warn("malformed %s record in the answer for %s",
                         dns_type_name(q->type), q->name);
                break;
            }
            (*rrs)[i].ttl = r->ttl < 0 ? 0 : (unsigned) r->ttl;
        }
        if (*rrs) {
            ans->rr = *rrs;
            ans->nrr = n;
        }
    }
    switch (ans->status) {
        case DNS_OK:
            ans->why = "";
            break;
        case DNS_NODATA:
            ans->why = "Host found but no data record of requested type";
            break;
        case DNS_NOTFOUND:
            ans->why = "Host not found";
            break;
        case DNS_RETRY:
            ans->why = "Host not found, try again";
            if (q->ub_err)
                msg_debug(1, "dns: %s/%s: %s", q->name, dns_type_name(q->type),
                          ub_strerror(q->ub_err));
            break;
        case DNS_INVAL:
            ans->why = q->res ? "Malformed or unexpected name server reply"
                              : "Malformed domain name";
            break;
    }
}

/* dns_finish - let a dns_free() that came during a delivery happen */
static void dns_finish(struct dns *d);

/* deliver - call back every ready query, one at a time */
static void deliver(struct dns *d)
{
    d->busy++;
    while (d->ready_head != NULL && !d->dying) {
        struct dns_query *q = d->ready_head;
        struct dns_answer ans;
        struct dns_rr *rrs;

        /* Off the lists first: a dns_free() in the callback must not see Q
         * (and the callback may not cancel it). */
        query_unlink(q);
        answer_of(q, &ans, &rrs);
        q->fn(q->arg, &ans);
        for (size_t i = 0; rrs && i < ans.nrr; i++)
            dns_rr_fini(&rrs[i]);
        mem_free(rrs);
        query_free(q);
    }
    d->busy--;
    dns_finish(d);
}

/* on_fd - libunbound has answers: collect them, then deliver */
static void on_fd(int fd, int what, void *arg)
{
    struct dns *d = arg;
    int err;

    (void) fd;
    (void) what;
    d->busy++;
    if ((err = ub_process(d->ctx)) != 0)
        msg_warn("dns: ub_process: %s", ub_strerror(err));
    d->busy--;
    deliver(d);
}

/* on_timer - deliver the answers made without libunbound */
static void on_timer(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    deliver(arg);
}

/* no_default_zones - let the servers answer for the special-use names
 * that libunbound would answer itself (RFC 6761 .test and .invalid, the
 * loopback and private reverse zones): a stub resolver, as Postfix uses,
 * asks the server, and the tests' own server serves .test.  The zones are
 * "transparent" because libunbound ignores "nodefault" given through
 * ub_ctx_set_option(). */
static int no_default_zones(struct ub_ctx *ctx, struct buf *why)
{
    static const char *zones[] = {
        "test.",
        "invalid.",
        "onion.",
        "home.arpa.",
        "127.in-addr.arpa.",
        "10.in-addr.arpa.",
        "168.192.in-addr.arpa.",
        "254.169.in-addr.arpa.",
    };
    char zone[64];
    int err;

    for (size_t i = 0; i < NELEM(zones) + 16; i++) {
        if (i < NELEM(zones))
            str_fmt(zone, sizeof(zone), "%s transparent", zones[i]);
        else
            str_fmt(zone, sizeof(zone), "%zu.172.in-addr.arpa. transparent",
                    i - NELEM(zones) + 16);
        if ((err = ub_ctx_set_option(ctx, "local-zone:", zone)) != 0) {
            buf_setf(why, "libunbound: local-zone %s: %s", zone,
                     ub_strerror(err));
            return -1;
        }
    }
    return 0;
}

#define DNS_RESOLV_CONF "/etc/resolv.conf"

/* resolv_conf_has_servers - whether PATH names a name server: without
 * one (or without the file) libunbound would resolve from the root
 * servers itself, where the C library asks the local host */
static bool resolv_conf_has_servers(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    bool found = false;

    if (fp == NULL)
        return false;
    while (!found && getline(&line, &cap, fp) > 0) {
        const char *p = line + strspn(line, " \t");

        found = strncmp(p, "nameserver", 10) == 0
                && (p[10] == ' ' || p[10] == '\t');
    }
    free(line);
    fclose(fp);
    return found;
}

/* dns_new - a libunbound context in thread mode, watched by LOOP */
struct dns *dns_new(struct loop *loop, const char *servers, struct buf *why)
{
    struct dns *d;
    struct argv *fwd = argv_new();
    int err;

    if (dns_parse_servers(servers ? servers : "", fwd, why) < 0) {
        argv_free(fwd);
        return NULL;
    }
    d = mem_zalloc(sizeof(*d));
    d->loop = loop;
    if ((d->ctx = ub_ctx_create()) == NULL) {
        buf_setf(why, "cannot create a libunbound context");
        goto fail;
    }
    /* The tests' servers and a local resolver (127.0.0.53) live on the
     * loopback, which unbound avoids by default. */
    if ((err = ub_ctx_set_option(d->ctx, "do-not-query-localhost:", "no"))
        != 0) {
        buf_setf(why, "libunbound: do-not-query-localhost: %s",
                 ub_strerror(err));
        goto fail;
    }
    /* The order of the server's answer: whoever wants another order
     * (smtp_randomize_addresses) shuffles. */
    if ((err = ub_ctx_set_option(d->ctx, "rrset-roundrobin:", "no")) != 0) {
        buf_setf(why, "libunbound: rrset-roundrobin: %s", ub_strerror(err));
        goto fail;
    }
    if (no_default_zones(d->ctx, why) < 0)
        goto fail;
    if (fwd->argc == 0) {
        if (!resolv_conf_has_servers(DNS_RESOLV_CONF)) {
            /* What the C library's stub resolver does: the local host. */
            argv_add(fwd, "127.0.0.1@53");
        } else if ((err = ub_ctx_resolvconf(d->ctx, DNS_RESOLV_CONF)) != 0) {
            buf_setf(why, "libunbound: %s: %s", DNS_RESOLV_CONF,
                     err == UB_READFILE ? strerror(errno) : ub_strerror(err));
            goto fail;
        }
    }
    for (size_t i = 0; i < fwd->argc; i++) {
        if ((err = ub_ctx_set_fwd(d->ctx, fwd->argv[i])) != 0) {
            buf_setf(why, "libunbound: forwarder %s: %s", fwd->argv[i],
                     ub_strerror(err));
            goto fail;
        }
    }
    if ((err = ub_ctx_async(d->ctx, 1)) != 0) {
        buf_setf(why, "libunbound: async: %s", ub_strerror(err));
        goto fail;
    }
    d->fd_ev = loop_read(loop, ub_fd(d->ctx), on_fd, d);
    loop_ev_arm(d->fd_ev, -1);
    d->timer = loop_timer(loop, on_timer, d);
    argv_free(fwd);
    return d;

fail:
    argv_free(fwd);
    if (d->ctx)
        ub_ctx_delete(d->ctx);
    mem_free(d);
    return NULL;
}

/* dns_lookup - queue a query with libunbound, or an immediate answer */
struct dns_query *dns_lookup(struct dns *d, const char *name, int type,
                             dns_fn fn, void *arg)
{
    struct dns_query *q = mem_zalloc(sizeof(*q));
    int err;

    if (d->dying)
        msg_panic("dns_lookup: after dns_free");
    q->d = d;
    q->name = mem_strdup(name);
    q->type = type;
    q->fn = fn;
    q->arg = arg;
    q->next = d->all;
    if (d->all)
        d->all->prev = q;
    d->all = q;
    if (!name_ok(name)) {
        q->local = DNS_INVAL;
    } else if ((err = ub_resolve_async(d->ctx, name, type, 1, q, ub_done,
                                       &q->async_id))
               != 0) {
        msg_warn("dns: cannot ask for %s/%s: %s", name, dns_type_name(type),
                 ub_strerror(err));
        q->local = DNS_RETRY;
    } else {
        q->in_ub = true;
        return q;
    }
    ready_push(q);
    if (!loop_ev_armed(d->timer))
        loop_ev_arm(d->timer, 0);
    return q;
}

/* dns_cancel - forget Q: libunbound's query, or its parked answer */
void dns_cancel(struct dns_query *q)
{
    if (q->in_ub)
        (void) ub_cancel(q->d->ctx, q->async_id);
    q->in_ub = false;
    query_free(q);
}

/* dns_finish - free D when dns_free() came while it was busy */
static void dns_finish(struct dns *d)
{
    if (!d->dying || d->busy > 0)
        return;
    loop_ev_free(d->fd_ev);
    loop_ev_free(d->timer);
    ub_ctx_delete(d->ctx);
    mem_free(d);
}

/* dns_free - cancel every query, then free D (later, when delivering) */
void dns_free(struct dns *d)
{
    if (d == NULL)
        return;
    while (d->all)
        dns_cancel(d->all);
    d->dying = true;
    dns_finish(d);
}
