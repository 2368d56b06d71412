/*
 * smtp_addr - the servers of one next hop: parse, MX lookup, the address
 * lookups of every MX host at once, then order, the loop check and the
 * address limit when every answer is in.
 *
 * A request keeps one struct host per MX host (or one for the implicit MX
 * or the [host]); each asks for A and/or AAAA.  Answers come from the
 * dns module's callbacks (from the loop); results that need no lookup
 * (literals, unix sockets, the host file, parse errors) are delivered from
 * a zero timer, so FN never runs inside smtp_addr_find().
 */
#include "smtp_addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"

struct host;

/* One outstanding DNS query of a request. */
struct lookup {
    struct smtp_addr_req *req;
    struct host *host; /* NULL: the MX query */
    int type;
    struct dns_query *q;
};

struct host {
    char *name;
    int pref;
    struct smtp_addr *addr; /* port set, host not set */
    size_t naddr;
    enum dns_status st4, st6; /* per family (DNS_OK when not asked) */
    char why4[160], why6[160];
};

struct smtp_addr_req {
    struct dns *dns;
    const struct smtp_addr_conf *conf;
    struct loop *loop;
    smtp_addr_fn fn;
    void *arg;
    struct smtp_addr_nexthop nh;
    struct loop_ev *timer;
    struct smtp_addr_result *res; /* made at once, or at the end */
    struct host *hosts;
    size_t nhosts;
    bool implicit; /* the hosts are the domain itself (no MX) */
    bool native;   /* the hosts were looked up in the host file */
    struct lookup **lookups;
    size_t nlookups;
    size_t pending;
};

/* parse_port - a port number or a tcp service name; 0 when bad */
static unsigned parse_port(const char *s)
{
    unsigned long n;
    struct servent *se;

    if (*s == 0)
        return 0;
    if (isdigit((unsigned char) *s))
        return str_to_ulong(s, &n) == 0 && n > 0 && n <= 65535 ? (unsigned) n
                                                               : 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char) *p) && *p != '-' && *p != '_')
            return 0;
    se = getservbyname(s, "tcp");
    return se ? ntohs((uint16_t) se->s_port) : 0;
}

/* default_port - the "smtp" or "lmtp" service, or 25 or 24 */
static unsigned default_port(bool lmtp)
{
    unsigned p = parse_port(lmtp ? "lmtp" : "smtp");

    return p ? p : lmtp ? 24 : 25;
}

/* set_literal - whether HOST is an IP address: then NH->sa holds it */
static bool set_literal(struct smtp_addr_nexthop *nh, const char *host)
{
    struct sockaddr_in *sin = (struct sockaddr_in *) &nh->sa;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &nh->sa;

    memset(&nh->sa, 0, sizeof(nh->sa));
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        nh->salen = sizeof(*sin);
        return true;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        nh->salen = sizeof(*sin6);
        return true;
    }
    return false;
}

/* host_name_ok - a plausible host or domain name (no DNS meta bytes) */
static bool host_name_ok(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 255)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char) *p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    return true;
}

/* smtp_addr_parse - the forms of the header comment */
int smtp_addr_parse(const char *nexthop, bool lmtp,
                    struct smtp_addr_nexthop *out, struct buf *why)
{
    const char *s = nexthop;
    const char *port = NULL;
    char *host = NULL;
    bool brackets = false;

    memset(out, 0, sizeof(*out));
    if (lmtp && str_has_prefix(s, "unix:")) {
        struct sockaddr_un *sun = (struct sockaddr_un *) &out->sa;

        s += 5;
        if (*s == 0 || strlen(s) >= sizeof(sun->sun_path)) {
            buf_setf(why, "malformed next-hop destination: %s", nexthop);
            return -1;
        }
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, s, strlen(s) + 1);
        out->salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path)
                                  + strlen(s) + 1);
        out->host = mem_strdup(s);
        out->unix_path = true;
        return 0;
    }
    if (lmtp && str_has_prefix(s, "inet:"))
        s += 5;
    if (*s == '[') {
        const char *end = strchr(s, ']');

        if (end == NULL || (end[1] != 0 && end[1] != ':'))
            goto bad;
        host = mem_strndup(s + 1, (size_t) (end - s - 1));
        if (end[1] == ':')
            port = end + 2;
        brackets = true;
    } else {
        const char *colon = strrchr(s, ':');

        host = colon ? mem_strndup(s, (size_t) (colon - s)) : mem_strdup(s);
        if (colon)
            port = colon + 1;
    }
    if (brackets && strncasecmp(host, "ipv6:", 5) == 0) {
        char *v6 = mem_strdup(host + 5);

        mem_free(host);
        host = v6;
        if (!set_literal(out, host) || out->sa.ss_family != AF_INET6)
            goto bad;
    }
    out->literal = set_literal(out, host);
    if (!out->literal && !host_name_ok(host))
        goto bad;
    if (port != NULL) {
        if ((out->port = parse_port(port)) == 0)
            goto bad;
    } else {
        out->port = default_port(lmtp);
    }
    if (out->literal) {
        if (out->sa.ss_family == AF_INET)
            ((struct sockaddr_in *) &out->sa)->sin_port =
                htons((uint16_t) out->port);
        else
            ((struct sockaddr_in6 *) &out->sa)->sin6_port =
                htons((uint16_t) out->port);
    }
    /* A trailing dot is not part of the name that is looked up. */
    if (!out->literal && strlen(host) > 1 && host[strlen(host) - 1] == '.')
        host[strlen(host) - 1] = 0;
    out->host = host;
    out->mx = !lmtp && !brackets && !out->literal;
    return 0;

bad:
    mem_free(host);
    memset(out, 0, sizeof(*out));
    buf_setf(why, "malformed next-hop destination: %s", nexthop);
    return -1;
}

/* smtp_addr_nexthop_fini - free what smtp_addr_parse allocated */
void smtp_addr_nexthop_fini(struct smtp_addr_nexthop *nh)
{
    mem_free(nh->host);
    nh->host = NULL;
}

/* result_new - an empty result */
static struct smtp_addr_result *result_new(void)
{
    struct smtp_addr_result *res = mem_zalloc(sizeof(*res));

    buf_init(&res->reason, 0);
    return res;
}

/* smtp_addr_result_free - the result and its addresses */
void smtp_addr_result_free(struct smtp_addr_result *res)
{
    if (res == NULL)
        return;
    for (size_t i = 0; i < res->naddr; i++)
        mem_free(res->addr[i].host);
    mem_free(res->addr);
    buf_fini(&res->reason);
    mem_free(res);
}

/* result_fail - status, enhanced code and reason */
static void result_fail(struct smtp_addr_result *res, int status,
                        const char *dsn, const char *fmt, ...)
    ULAK_PRINTFLIKE(4, 5);

static void result_fail(struct smtp_addr_result *res, int status,
                        const char *dsn, const char *fmt, ...)
{
    va_list ap;

    res->status = status;
    str_copy(res->dsn, sizeof(res->dsn), dsn);
    buf_reset(&res->reason);
    va_start(ap, fmt);
    buf_vcatf(&res->reason, fmt, ap);
    va_end(ap);
}

/* result_add - append one server */
static void result_add(struct smtp_addr_result *res, const char *host,
                       const struct sockaddr_storage *sa, socklen_t salen,
                       int pref)
{
    struct smtp_addr *a;

    res->addr = mem_realloc(res->addr, (res->naddr + 1) * sizeof(*res->addr));
    a = &res->addr[res->naddr++];
    memset(a, 0, sizeof(*a));
    a->host = mem_strdup(host);
    memcpy(&a->sa, sa, salen);
    a->salen = salen;
    a->pref = pref;
}

/* same_addr - the same IP address (ports ignored) */
static bool same_addr(const struct sockaddr_storage *a,
                      const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *) a)->sin_addr,
                      &((const struct sockaddr_in *) b)->sin_addr, 4)
               == 0;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr,
                      &((const struct sockaddr_in6 *) b)->sin6_addr, 16)
               == 0;
    return false;
}

/* is_self - whether SA is one of this machine's addresses */
static bool is_self(const struct smtp_addr_conf *conf,
                    const struct sockaddr_storage *sa)
{
    for (size_t i = 0; i < conf->nself; i++)
        if (same_addr(&conf->self[i], sa))
            return true;
    return false;
}

/* host_add_addr - add a (copy of) SA with PORT to H */
static void host_add_addr(struct host *h, const struct sockaddr_storage *sa,
                          socklen_t salen, unsigned port)
{
    struct smtp_addr *a;

    for (size_t i = 0; i < h->naddr; i++)
        if (same_addr(&h->addr[i].sa, sa))
            return;
    h->addr = mem_realloc(h->addr, (h->naddr + 1) * sizeof(*h->addr));
    a = &h->addr[h->naddr++];
    memset(a, 0, sizeof(*a));
    memcpy(&a->sa, sa, salen);
    a->salen = salen;
    if (sa->ss_family == AF_INET)
        ((struct sockaddr_in *) &a->sa)->sin_port = htons((uint16_t) port);
    else
        ((struct sockaddr_in6 *) &a->sa)->sin6_port = htons((uint16_t) port);
    a->pref = h->pref;
}

/* temporary - a lookup failure that may pass */
static bool temporary(enum dns_status st)
{
    return st == DNS_RETRY || st == DNS_INVAL;
}

/* host_status - the outcome of H: DNS_OK when it has addresses, else the
 * failure of its lookups, with WHY pointing at that lookup's text.  With
 * both families Postfix 3.7 names the AAAA lookup (its last), unless only
 * the A lookup failed for now. */
static enum dns_status host_status(const struct host *h, const char **why,
                                   int *type)
{
    if (h->naddr > 0)
        return DNS_OK;
    if (h->st6 == DNS_OK || (temporary(h->st4) && !temporary(h->st6))) {
        *why = h->why4;
        *type = DNS_T_A;
        return h->st4;
    }
    *why = h->why6;
    *type = DNS_T_AAAA;
    return h->st6;
}

/* shuffle - random order among MX hosts of equal preference */
static void shuffle(struct host *h, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j < n && h[j].pref == h[i].pref)
            j++;
        for (size_t k = j - 1; k > i; k--) {
            size_t r = i + (size_t) random() % (k - i + 1);
            struct host t = h[k];

            h[k] = h[r];
            h[r] = t;
        }
        i = j;
    }
}

/* shuffle_addr - random order of one host's addresses */
static void shuffle_addr(struct host *h)
{
    for (size_t k = h->naddr; k > 1; k--) {
        size_t r = (size_t) random() % k;
        struct smtp_addr t = h->addr[k - 1];

        h->addr[k - 1] = h->addr[r];
        h->addr[r] = t;
    }
}

/* cmp_pref - MX preference order (stable on equal preferences: qsort is
 * not, so the index breaks ties) */
static int cmp_pref(const void *a, const void *b)
{
    const struct host *x = a, *y = b;

    if (x->pref != y->pref)
        return x->pref < y->pref ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* order_family - IPv6 or IPv4 first within each host */
static void order_family(struct host *h, bool prefer_ipv6)
{
    int first = prefer_ipv6 ? AF_INET6 : AF_INET;
    size_t k = 0;
    struct smtp_addr *sorted;

    if (h->naddr < 2)
        return;
    sorted = mem_calloc(h->naddr, sizeof(*sorted));
    for (size_t i = 0; i < h->naddr; i++)
        if (h->addr[i].sa.ss_family == first)
            sorted[k++] = h->addr[i];
    for (size_t i = 0; i < h->naddr; i++)
        if (h->addr[i].sa.ss_family != first)
            sorted[k++] = h->addr[i];
    mem_free(h->addr);
    h->addr = sorted;
}

/* finish_hosts - every lookup is in: the result of the request */
static void finish_hosts(struct smtp_addr_req *req)
{
    const struct smtp_addr_conf *conf = req->conf;
    struct smtp_addr_result *res = req->res;
    const char *domain = req->nh.host;
    size_t nhosts = req->nhosts;
    const char *fail_why = NULL;
    int fail_type = DNS_T_A;
    const char *fail_name = NULL;
    enum dns_status fail = DNS_OK;
    size_t limit;

    /* The loop check, for MX hosts and the implicit MX ([host] is the
     * administrator's explicit choice). */
    if (req->nh.mx) {
        for (size_t i = 0; i < nhosts; i++) {
            bool self = false;

            for (size_t j = 0; j < req->hosts[i].naddr; j++)
                self |= is_self(conf, &req->hosts[i].addr[j].sa);
            if (!self)
                continue;
            /* Drop this preference and every worse one. */
            while (i > 0 && req->hosts[i - 1].pref == req->hosts[i].pref
                   && !req->implicit)
                i--;
            nhosts = req->implicit ? 0 : i;
            if (nhosts == 0) {
                if (conf->best_mx_transport) {
                    res->best_mx_local = true;
                    res->status = 0;
                } else {
                    result_fail(res, 5, "5.4.6",
                                "mail for %s loops back to myself", domain);
                }
                return;
            }
            break;
        }
    }
    limit =
        conf->mx_address_limit > 0 ? (size_t) conf->mx_address_limit : SIZE_MAX;
    for (size_t i = 0; i < nhosts; i++) {
        struct host *h = &req->hosts[i];
        const char *why = "";
        int type = DNS_T_A;
        enum dns_status st = host_status(h, &why, &type);

        if (st != DNS_OK) {
            /* The first failure that is temporary wins, else the first. */
            if (fail_name == NULL
                || ((st == DNS_RETRY || st == DNS_INVAL) && fail != DNS_RETRY
                    && fail != DNS_INVAL)) {
                fail = st;
                fail_why = why;
                fail_type = type;
                fail_name = h->name;
            }
            continue;
        }
        if (conf->randomize)
            shuffle_addr(h);
        order_family(h, conf->prefer_ipv6);
        for (size_t j = 0; j < h->naddr && res->naddr < limit; j++) {
            bool dup = false;

            for (size_t k = 0; k < res->naddr; k++)
                dup |= same_addr(&res->addr[k].sa, &h->addr[j].sa);
            if (!dup)
                result_add(res, h->name, &h->addr[j].sa, h->addr[j].salen,
                           req->implicit || !req->nh.mx ? -1 : h->pref);
        }
    }
    if (res->naddr > 0) {
        res->status = 0;
        return;
    }
    if (fail_name == NULL) {
        /* Every host that resolved was cut by the limit: cannot be. */
        result_fail(res, 4, "4.4.3",
                    "Host or domain name not found. Name service error for "
                    "name=%s type=A: Host not found, try again",
                    domain);
        return;
    }
    if (req->native)
        /* Postfix's text for its getaddrinfo() lookup (recorded with
         * smtp_dns_support_level = disabled). */
        result_fail(res, 5, "5.4.4",
                    "unable to look up host %s: Name or service not known",
                    fail_name);
    else if (fail == DNS_RETRY || fail == DNS_INVAL)
        result_fail(res, 4, "4.4.3",
                    "Host or domain name not found. Name service error for "
                    "name=%s type=%s: %s",
                    fail_name, dns_type_name(fail_type), fail_why);
    else
        result_fail(res, 5, "5.4.4",
                    "Host or domain name not found. Name service error for "
                    "name=%s type=%s: %s",
                    fail_name, dns_type_name(fail_type), fail_why);
}

/* deliver - hand the result to the caller and free the request */
static void deliver(struct smtp_addr_req *req)
{
    smtp_addr_fn fn = req->fn;
    void *arg = req->arg;
    struct smtp_addr_result *res = req->res;

    req->res = NULL;
    smtp_addr_cancel(req);
    fn(arg, res);
}

/* on_timer - deliver a result that needed no lookup */
static void on_timer(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    deliver(arg);
}

/* later - deliver the result from the loop */
static void later(struct smtp_addr_req *req)
{
    if (req->timer == NULL)
        req->timer = loop_timer(req->loop, on_timer, req);
    loop_ev_arm(req->timer, 0);
}

static void on_answer(void *arg, const struct dns_answer *ans);

/* ask - one DNS query of REQ for HOST (NULL: the MX query) */
static void ask(struct smtp_addr_req *req, struct host *host, const char *name,
                int type)
{
    struct lookup *lk = mem_zalloc(sizeof(*lk));

    lk->req = req;
    lk->host = host;
    lk->type = type;
    req->lookups =
        mem_realloc(req->lookups, (req->nlookups + 1) * sizeof(*req->lookups));
    req->lookups[req->nlookups++] = lk;
    req->pending++;
    lk->q = dns_lookup(req->dns, name, type, on_answer, lk);
}

/* hosts_from_file - no DNS: the addresses of every host from the host
 * file (a local file: nothing blocks) */
static void hosts_from_file(struct smtp_addr_req *req)
{
    const char *path =
        req->conf->hosts_file ? req->conf->hosts_file : "/etc/hosts";
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;

    for (size_t i = 0; i < req->nhosts; i++) {
        struct host *h = &req->hosts[i];

        h->st4 = req->conf->ipv4 ? DNS_NOTFOUND : DNS_OK;
        h->st6 = req->conf->ipv6 ? DNS_NOTFOUND : DNS_OK;
        str_copy(h->why4, sizeof(h->why4), "Host not found");
        str_copy(h->why6, sizeof(h->why6), "Host not found");
    }
    if (fp == NULL) {
        msg_warn("open %s: %m", path);
        return;
    }
    while (getline(&line, &cap, fp) > 0) {
        struct argv *w;
        struct smtp_addr_nexthop lit = {0};
        char *hash = strchr(line, '#');

        if (hash)
            *hash = 0;
        w = argv_split(line, " \t\r\n");
        if (w->argc >= 2 && set_literal(&lit, w->argv[0])
            && ((lit.sa.ss_family == AF_INET && req->conf->ipv4)
                || (lit.sa.ss_family == AF_INET6 && req->conf->ipv6))) {
            for (size_t i = 0; i < req->nhosts; i++) {
                struct host *h = &req->hosts[i];

                for (size_t k = 1; k < w->argc; k++)
                    if (strcasecmp(w->argv[k], h->name) == 0)
                        host_add_addr(h, &lit.sa, lit.salen, req->nh.port);
            }
        }
        argv_free(w);
    }
    free(line);
    fclose(fp);
}

/* ask_hosts - the address lookups of every host */
static void ask_hosts(struct smtp_addr_req *req)
{
    if (req->dns == NULL || !req->conf->dns) {
        req->native = true;
        hosts_from_file(req);
        finish_hosts(req);
        later(req);
        return;
    }
    for (size_t i = 0; i < req->nhosts; i++) {
        struct host *h = &req->hosts[i];

        h->st4 = h->st6 = DNS_OK;
        if (req->conf->ipv4)
            ask(req, h, h->name, DNS_T_A);
        if (req->conf->ipv6)
            ask(req, h, h->name, DNS_T_AAAA);
    }
    if (req->pending == 0) {
        finish_hosts(req);
        later(req);
    }
}

/* one_host - the implicit MX or the [host]: the name itself */
static void one_host(struct smtp_addr_req *req, bool implicit)
{
    req->implicit = implicit;
    req->hosts = mem_zalloc(sizeof(*req->hosts));
    req->nhosts = 1;
    req->hosts[0].name = mem_strdup(req->nh.host);
    req->hosts[0].pref = -1;
    ask_hosts(req);
}

/* mx_answer - the MX records: the hosts, or the implicit MX, or a failure */
static void mx_answer(struct smtp_addr_req *req, const struct dns_answer *ans)
{
    struct smtp_addr_result *res = req->res;
    size_t n = 0;

    switch (ans->status) {
        case DNS_OK:
            break;
        case DNS_NODATA:
            one_host(req, true);
            return;
        case DNS_NOTFOUND:
            /* Postfix 3.7 reports a domain that does not exist through its
             * address lookup ("name=D type=A: Host not found"): ask. */
            one_host(req, true);
            return;
        case DNS_RETRY:
        case DNS_INVAL:
            if (req->conf->ignore_mx_lookup_error) {
                one_host(req, true);
                return;
            }
            result_fail(res, 4, "4.4.3",
                        "Host or domain name not found. Name service error "
                        "for name=%s type=MX: %s",
                        req->nh.host, ans->why);
            deliver(req);
            return;
    }
    /* RFC 7505: a single MX record with the root as its exchange. */
    if (ans->nrr == 1 && ans->rr[0].name[0] == 0) {
        /* RFC 7505 says 5.1.10; Postfix 3.7 logs and bounces 5.1.0. */
        result_fail(res, 5, "5.1.0", "Domain %s does not accept mail (nullMX)",
                    req->nh.host);
        deliver(req);
        return;
    }
    req->hosts = mem_calloc(ans->nrr, sizeof(*req->hosts));
    for (size_t i = 0; i < ans->nrr; i++) {
        bool dup = false;

        if (ans->rr[i].name == NULL || ans->rr[i].name[0] == 0)
            continue; /* a null MX among others is not one */
        for (size_t k = 0; k < n; k++)
            dup |= strcasecmp(req->hosts[k].name, ans->rr[i].name) == 0;
        if (dup)
            continue;
        req->hosts[n].name = mem_strdup(ans->rr[i].name);
        req->hosts[n].pref = ans->rr[i].pref;
        n++;
    }
    req->nhosts = n;
    if (n == 0) {
        result_fail(res, 5, "5.4.4",
                    "Host or domain name not found. Name service error for "
                    "name=%s type=MX: Malformed or unexpected name server "
                    "reply",
                    req->nh.host);
        deliver(req);
        return;
    }
    qsort(req->hosts, n, sizeof(*req->hosts), cmp_pref);
    if (req->conf->randomize)
        shuffle(req->hosts, n);
    ask_hosts(req);
}

/* on_answer - one DNS answer of a request */
static void on_answer(void *arg, const struct dns_answer *ans)
{
    struct lookup *lk = arg;
    struct smtp_addr_req *req = lk->req;
    struct host *h = lk->host;

    lk->q = NULL;
    req->pending--;
    if (h == NULL) {
        mx_answer(req, ans);
        return;
    }
    for (size_t i = 0; ans->status == DNS_OK && i < ans->nrr; i++)
        host_add_addr(h, &ans->rr[i].addr, ans->rr[i].addrlen, req->nh.port);
    if (lk->type == DNS_T_A) {
        h->st4 = ans->status;
        str_copy(h->why4, sizeof(h->why4), ans->why);
    } else {
        h->st6 = ans->status;
        str_copy(h->why6, sizeof(h->why6), ans->why);
    }
    if (req->pending == 0) {
        finish_hosts(req);
        deliver(req);
    }
}

/* smtp_addr_find - start the selection; the result comes from the loop */
struct smtp_addr_req *smtp_addr_find(struct dns *dns,
                                     const struct smtp_addr_conf *conf,
                                     struct loop *loop, const char *nexthop,
                                     smtp_addr_fn fn, void *arg)
{
    struct smtp_addr_req *req = mem_zalloc(sizeof(*req));
    struct buf why = BUF_INIT;

    req->dns = dns;
    req->conf = conf;
    req->loop = loop;
    req->fn = fn;
    req->arg = arg;
    req->res = result_new();
    buf_init(&why, 0);
    if (smtp_addr_parse(nexthop, conf->lmtp, &req->nh, &why) < 0) {
        result_fail(req->res, 4, "4.3.5", "%s", buf_str(&why));
        later(req);
    } else if (req->nh.unix_path || req->nh.literal) {
        if (!req->nh.unix_path
            && ((req->nh.sa.ss_family == AF_INET && !conf->ipv4)
                || (req->nh.sa.ss_family == AF_INET6 && !conf->ipv6)))
            result_fail(req->res, 4, "4.4.4",
                        "%s: address family disabled by inet_protocols",
                        req->nh.host);
        else
            result_add(req->res, req->nh.host, &req->nh.sa, req->nh.salen, -1);
        later(req);
    } else if (req->nh.mx && dns != NULL && conf->dns) {
        ask(req, NULL, req->nh.host, DNS_T_MX);
    } else {
        one_host(req, req->nh.mx);
    }
    buf_fini(&why);
    return req;
}

/* smtp_addr_cancel - cancel every query, free everything but a result
 * that was handed over */
void smtp_addr_cancel(struct smtp_addr_req *req)
{
    for (size_t i = 0; i < req->nlookups; i++) {
        if (req->lookups[i]->q)
            dns_cancel(req->lookups[i]->q);
        mem_free(req->lookups[i]);
    }
    mem_free(req->lookups);
    for (size_t i = 0; i < req->nhosts; i++) {
        mem_free(req->hosts[i].name);
        mem_free(req->hosts[i].addr);
    }
    mem_free(req->hosts);
    loop_ev_free(req->timer);
    smtp_addr_result_free(req->res);
    smtp_addr_nexthop_fini(&req->nh);
    mem_free(req);
}
