/* resolve - address class and (transport, nexthop, recipient) */
#include "resolve.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <strings.h>
#include <sys/socket.h>

#include "../lib/argv.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "addr.h"
#include "conf.h"
#include "domain_list.h"
#include "maps.h"

struct resolve {
    char *myhostname;
    char *empty_rcpt; /* empty_address_recipient */
    char *delim;      /* recipient_delimiter */
    char *double_bounce;
    bool swap_bangpath;
    bool percent_hack;
    bool dequoted;     /* resolve_dequoted_address */
    bool null_domain;  /* resolve_null_domain */
    bool numeric;      /* resolve_numeric_domain */
    bool transport_pm; /* transport_maps in parent_domain_matches_subdomains */
    struct domain_list *mydestination;
    struct domain_list *alias_domains;
    struct domain_list *mailbox_domains;
    struct domain_list *relay_domains;
    struct argv *local_ips; /* canonical text of interface addresses */
    size_t inet_ips;        /* the first ones: those of inet_interfaces */
    char *local_transport;
    char *virtual_transport;
    char *relay_transport;
    char *default_transport;
    char *relayhost;
    struct maps *transport_maps; /* NULL when the parameter is empty */
    struct maps *sdr_maps;       /* sender_dependent_relayhost_maps */
    struct maps *sdt_maps;       /* sender_dependent_default_transport_maps */
    char *sdr_null_key;          /* empty_address_relayhost_maps_lookup_key */
    char *sdt_null_key; /* empty_address_default_transport_maps_lookup_key */
};

/* resolve_class_name - the class for logs and tests */
const char *resolve_class_name(enum resolve_class c)
{
    switch (c) {
        case RESOLVE_CLASS_LOCAL:
            return "local";
        case RESOLVE_CLASS_ALIAS:
            return "alias";
        case RESOLVE_CLASS_VIRTUAL:
            return "virtual";
        case RESOLVE_CLASS_RELAY:
            return "relay";
        case RESOLVE_CLASS_DEFAULT:
            return "default";
    }
    return "unknown";
}

/* add_ip - the canonical text of binary address BIN of family AF */
static void add_ip(struct argv *ips, int af, const void *bin)
{
    char text[INET6_ADDRSTRLEN];

    if (inet_ntop(af, bin, text, sizeof(text)) != NULL)
        argv_add(ips, text);
}

/* add_sockaddr - one interface or resolver address */
static void add_sockaddr(struct argv *ips, const struct sockaddr *sa, bool v4,
                         bool v6)
{
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET && v4)
        add_ip(ips, AF_INET, &((const struct sockaddr_in *) sa)->sin_addr);
    else if (sa->sa_family == AF_INET6 && v6)
        add_ip(ips, AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr);
}

/* add_interfaces - the addresses named by an *_interfaces value */
static void add_interfaces(struct argv *ips, const char *param, bool v4,
                           bool v6)
{
    struct argv *a = conf_list(param);

    for (size_t i = 0; i < a->argc; i++) {
        char *name = a->argv[i];
        size_t len = strlen(name);
        unsigned char bin[16];

        if (strcasecmp(name, "all") == 0) {
            struct ifaddrs *ifa;

            if (getifaddrs(&ifa) < 0) {
                msg_warn("%s: cannot list the network interfaces: %m", param);
                continue;
            }
            for (struct ifaddrs *p = ifa; p != NULL; p = p->ifa_next)
                add_sockaddr(ips, p->ifa_addr, v4, v6);
            freeifaddrs(ifa);
            continue;
        }
        if (strcasecmp(name, "loopback-only") == 0) {
            if (v4)
                argv_add(ips, "127.0.0.1");
            if (v6)
                argv_add(ips, "::1");
            continue;
        }
        /* [addr] or addr, else a host name (resolved once, here). */
        if (len > 2 && name[0] == '[' && name[len - 1] == ']') {
            name[len - 1] = 0;
            name++;
        }
        if (inet_pton(AF_INET, name, bin) == 1) {
            add_ip(ips, AF_INET, bin);
        } else if (inet_pton(AF_INET6, name, bin) == 1) {
            add_ip(ips, AF_INET6, bin);
        } else {
            struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
            struct addrinfo *res;
            int err = getaddrinfo(name, NULL, &hints, &res);

            if (err != 0) {
                msg_warn("%s: %s: %s", param, name, gai_strerror(err));
                continue;
            }
            for (struct addrinfo *p = res; p != NULL; p = p->ai_next)
                add_sockaddr(ips, p->ai_addr, v4, v6);
            freeaddrinfo(res);
        }
    }
    argv_free(a);
}

/* open_maps - the tables of PARAM, or NULL when it is empty */
static struct maps *open_maps(const char *param)
{
    const char *spec = conf_str(param);

    if (*spec == 0)
        return NULL;
    return maps_open(param, spec, DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK);
}

/* resolve_open - snapshot the parameters, open the tables */
struct resolve *resolve_open(void)
{
    struct resolve *r = mem_zalloc(sizeof(*r));
    const char *tm = conf_str("transport_maps");
    const char *proto = conf_str("inet_protocols");
    bool v4 = strstr(proto, "all") != NULL || strstr(proto, "ipv4") != NULL;
    bool v6 = strstr(proto, "all") != NULL || strstr(proto, "ipv6") != NULL;

    r->myhostname = mem_strdup(conf_str("myhostname"));
    r->empty_rcpt = mem_strdup(conf_str("empty_address_recipient"));
    r->delim = mem_strdup(conf_str("recipient_delimiter"));
    r->double_bounce = mem_strdup(conf_str("double_bounce_sender"));
    r->swap_bangpath = conf_bool("swap_bangpath");
    r->percent_hack = conf_bool("allow_percent_hack");
    r->dequoted = conf_bool("resolve_dequoted_address");
    r->null_domain = conf_bool("resolve_null_domain");
    r->numeric = conf_bool("resolve_numeric_domain");
    r->transport_pm = domain_list_parent_matches("transport_maps");
    r->mydestination = domain_list_new(
        "mydestination", conf_str("mydestination"), DOMAIN_LIST_STRING);
    r->alias_domains =
        domain_list_new("virtual_alias_domains",
                        conf_str("virtual_alias_domains"), DOMAIN_LIST_STRING);
    r->mailbox_domains = domain_list_new("virtual_mailbox_domains",
                                         conf_str("virtual_mailbox_domains"),
                                         DOMAIN_LIST_STRING);
    r->relay_domains = domain_list_new(
        "relay_domains", conf_str("relay_domains"), DOMAIN_LIST_HOST);
    r->local_ips = argv_new();
    add_interfaces(r->local_ips, "inet_interfaces", v4, v6);
    r->inet_ips = r->local_ips->argc;
    add_interfaces(r->local_ips, "proxy_interfaces", v4, v6);
    r->local_transport = mem_strdup(conf_str("local_transport"));
    r->virtual_transport = mem_strdup(conf_str("virtual_transport"));
    r->relay_transport = mem_strdup(conf_str("relay_transport"));
    r->default_transport = mem_strdup(conf_str("default_transport"));
    r->relayhost = mem_strdup(conf_str("relayhost"));
    if (*tm != 0)
        r->transport_maps = maps_open("transport_maps", tm,
                                      DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK);
    r->sdr_maps = open_maps("sender_dependent_relayhost_maps");
    r->sdt_maps = open_maps("sender_dependent_default_transport_maps");
    r->sdr_null_key =
        mem_strdup(conf_str("empty_address_relayhost_maps_lookup_key"));
    r->sdt_null_key =
        mem_strdup(conf_str("empty_address_default_transport_maps_lookup_key"));
    return r;
}

/* resolve_free - release everything */
void resolve_free(struct resolve *r)
{
    if (r == NULL)
        return;
    mem_free(r->myhostname);
    mem_free(r->empty_rcpt);
    mem_free(r->delim);
    mem_free(r->double_bounce);
    domain_list_free(r->mydestination);
    domain_list_free(r->alias_domains);
    domain_list_free(r->mailbox_domains);
    domain_list_free(r->relay_domains);
    argv_free(r->local_ips);
    mem_free(r->local_transport);
    mem_free(r->virtual_transport);
    mem_free(r->relay_transport);
    mem_free(r->default_transport);
    mem_free(r->relayhost);
    maps_free(r->transport_maps);
    maps_free(r->sdr_maps);
    maps_free(r->sdt_maps);
    mem_free(r->sdr_null_key);
    mem_free(r->sdt_null_key);
    mem_free(r);
}

/* resolve_inet_interface - ADDR is an address of inet_interfaces */
bool resolve_inet_interface(const struct resolve *r, const char *addr)
{
    unsigned char bin[16];
    char text[INET6_ADDRSTRLEN];
    int af = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;

    if (inet_pton(af, addr, bin) != 1
        || inet_ntop(af, bin, text, sizeof(text)) == NULL)
        return false;
    for (size_t i = 0; i < r->inet_ips; i++)
        if (strcasecmp(r->local_ips->argv[i], text) == 0)
            return true;
    return false;
}

/* resolve_reply_init - empty reply */
void resolve_reply_init(struct resolve_reply *reply)
{
    reply->rclass = RESOLVE_CLASS_DEFAULT;
    reply->flags = 0;
    buf_init(&reply->transport, 0);
    buf_init(&reply->nexthop, 0);
    buf_init(&reply->recipient, 0);
    buf_init(&reply->why, 0);
}

/* resolve_reply_fini - release the bufs */
void resolve_reply_fini(struct resolve_reply *reply)
{
    buf_fini(&reply->transport);
    buf_fini(&reply->nexthop);
    buf_fini(&reply->recipient);
    buf_fini(&reply->why);
}

/* dotted_ipv4 - whether DOMAIN is a bare IPv4 address */
static bool dotted_ipv4(const char *domain)
{
    unsigned char bin[4];

    return inet_pton(AF_INET, domain, bin) == 1;
}

/* is_local - DOMAIN in mydestination or a literal of our interfaces */
static enum lk_result is_local(struct resolve *r, const char *domain,
                               struct buf *why)
{
    enum lk_result m = domain_list_match(r->mydestination, domain);
    struct buf ip = BUF_INIT;

    if (m == LK_TEMPFAIL)
        buf_set(why, domain_list_why(r->mydestination));
    if (m != LK_NOTFOUND)
        return m;
    if (addr_literal_ip(span_of(domain), &ip)) {
        for (size_t i = 0; i < r->local_ips->argc && m == LK_NOTFOUND; i++)
            if (strcasecmp(r->local_ips->argv[i], buf_str(&ip)) == 0)
                m = LK_FOUND;
    }
    buf_fini(&ip);
    return m;
}

/* domain_of - the domain of ADDR after its last '@' (borrowed) */
static const char *domain_of(const struct buf *addr)
{
    const char *at = strrchr(buf_str(addr), '@');

    return at ? at + 1 : "";
}

/* set_error - the bad address syntax reply */
static enum lk_result set_error(struct resolve_reply *reply)
{
    reply->flags |= RESOLVE_FLAG_ERROR;
    reply->rclass = RESOLVE_CLASS_DEFAULT;
    buf_set(&reply->transport, "error");
    buf_set(&reply->nexthop, "5.1.3 bad address syntax");
    return LK_FOUND;
}

/* set_fail - a table failed */
static enum lk_result set_fail(struct resolve_reply *reply, const char *why)
{
    reply->flags |= RESOLVE_FLAG_FAIL;
    if (why != buf_str(&reply->why))
        buf_set(&reply->why, why);
    buf_reset(&reply->transport);
    buf_reset(&reply->nexthop);
    return LK_TEMPFAIL;
}

/* set_spec - "transport[:nexthop]" into the reply; true with a nexthop */
static bool set_spec(struct resolve_reply *reply, const char *spec)
{
    const char *colon = strchr(spec, ':');

    if (colon == NULL) {
        buf_set(&reply->transport, spec);
        buf_reset(&reply->nexthop);
        return false;
    }
    buf_reset(&reply->transport);
    buf_catn(&reply->transport, spec, (size_t) (colon - spec));
    buf_set(&reply->nexthop, colon + 1);
    return colon[1] != 0;
}

/* is_error_transport - error and retry: an empty nexthop is a text */
static bool is_error_transport(const struct buf *t)
{
    return strcmp(buf_str(t), "error") == 0 || strcmp(buf_str(t), "retry") == 0;
}

/* route - step 1: the address that routes no further, into WORK */
static enum lk_result route(struct resolve *r, struct buf *work, bool *local,
                            struct resolve_reply *reply)
{
    struct buf tmp = BUF_INIT;
    enum lk_result ret = LK_FOUND;

    *local = false;
    for (int step = 0;; step++) {
        const char *s = buf_str(work);
        const char *at = strrchr(s, '@');
        const char *p;

        if (step >= RESOLVE_MAX_STEPS) {
            ret = set_error(reply);
            break;
        }
        if (at == NULL) {
            if (r->swap_bangpath && (p = strchr(s, '!')) != NULL) {
                buf_setf(&tmp, "%s@%.*s", p + 1, (int) (p - s), s);
                buf_set(work, buf_str(&tmp));
                continue;
            }
            if (r->percent_hack && (p = strrchr(s, '%')) != NULL) {
                buf_setf(&tmp, "%.*s@%s", (int) (p - s), s, p + 1);
                buf_set(work, buf_str(&tmp));
                continue;
            }
            /* A bare local part is ours: "@$myhostname", local class. */
            if (buf_len(work) == 0)
                buf_set(work, r->empty_rcpt);
            buf_catf(work, "@%s", r->myhostname);
            *local = true;
            break;
        }
        if (at[1] == 0) {
            if (!r->null_domain) {
                ret = set_error(reply);
                break;
            }
            buf_truncate(work, buf_len(work) - 1);
            continue;
        }
        if (r->numeric && dotted_ipv4(at + 1)) {
            size_t llen = (size_t) (at - s);

            buf_setf(&tmp, "%.*s@[%s]", (int) llen, s, at + 1);
            buf_set(work, buf_str(&tmp));
            continue;
        }
        switch (is_local(r, at + 1, &reply->why)) {
            case LK_NOTFOUND:
                break;
            case LK_TEMPFAIL:
                ret = set_fail(reply, buf_str(&reply->why));
                break;
            case LK_FOUND: {
                size_t llen = (size_t) (at - s);
                struct span localpart = span_make(s, llen);

                *local = true;
                if (llen == 0) {
                    buf_setf(&tmp, "%s%s", r->empty_rcpt, at);
                    buf_set(work, buf_str(&tmp));
                    break;
                }
                if ((r->dequoted && memchr(s, '@', llen) != NULL)
                    || (r->swap_bangpath && memchr(s, '!', llen) != NULL)
                    || (r->percent_hack && memchr(s, '%', llen) != NULL)) {
                    *local = false;
                    buf_reset(&tmp);
                    buf_catspan(&tmp, localpart);
                    buf_set(work, buf_str(&tmp));
                    continue;
                }
                break;
            }
        }
        break;
    }
    buf_fini(&tmp);
    return ret;
}

/* sender_lookup - SENDER, then "@domain", in M (NULL: nothing); the null
 * sender is NULL_KEY; a result DUNNO ends the search as not found */
static enum lk_result sender_lookup(struct maps *m, const struct span *sender,
                                    const char *null_key, struct buf *value,
                                    struct resolve_reply *reply)
{
    struct buf key = BUF_INIT;
    struct span local;
    struct span domain;
    enum lk_result r;

    if (m == NULL || sender == NULL)
        return LK_NOTFOUND;
    if (sender->len == 0)
        buf_set(&key, null_key);
    else
        buf_catspan(&key, *sender);
    r = maps_find(m, buf_str(&key), MAPS_FIND_ALL, value);
    if (r == LK_NOTFOUND && sender->len > 0
        && addr_split(*sender, &local, &domain)) {
        buf_set(&key, "@");
        buf_catspan(&key, domain);
        r = maps_find(m, buf_str(&key), MAPS_FIND_FIXED, value);
    }
    buf_fini(&key);
    if (r == LK_TEMPFAIL)
        return set_fail(reply, maps_why(m));
    if (r == LK_FOUND && strcasecmp(buf_str(value), "DUNNO") == 0)
        r = LK_NOTFOUND;
    return r;
}

/* class_spec - step 3: the class transport and nexthop */
static enum lk_result class_spec(struct resolve *r, const struct span *sender,
                                 const char *domain, bool local,
                                 struct resolve_reply *reply)
{
    const char *spec;
    bool relayhost_applies = false;
    enum lk_result m = LK_NOTFOUND;
    struct buf sdt = BUF_INIT;
    struct buf sdr = BUF_INIT;

    if (local) {
        reply->rclass = RESOLVE_CLASS_LOCAL;
        spec = r->local_transport;
    } else if ((m = domain_list_match(r->alias_domains, domain))
               != LK_NOTFOUND) {
        if (m == LK_TEMPFAIL)
            return set_fail(reply, domain_list_why(r->alias_domains));
        reply->rclass = RESOLVE_CLASS_ALIAS;
        buf_set(&reply->transport, "error");
        buf_set(&reply->nexthop, "5.1.1 User unknown in virtual alias table");
        return LK_FOUND;
    } else if ((m = domain_list_match(r->mailbox_domains, domain))
               != LK_NOTFOUND) {
        if (m == LK_TEMPFAIL)
            return set_fail(reply, domain_list_why(r->mailbox_domains));
        reply->rclass = RESOLVE_CLASS_VIRTUAL;
        spec = r->virtual_transport;
    } else if ((m = domain_list_match(r->relay_domains, domain))
               != LK_NOTFOUND) {
        if (m == LK_TEMPFAIL)
            return set_fail(reply, domain_list_why(r->relay_domains));
        reply->rclass = RESOLVE_CLASS_RELAY;
        spec = r->relay_transport;
        relayhost_applies = true;
    } else {
        reply->rclass = RESOLVE_CLASS_DEFAULT;
        spec = r->default_transport;
        relayhost_applies = true;
        /* sender_dependent_default_transport_maps overrides it. */
        m = sender_lookup(r->sdt_maps, sender, r->sdt_null_key, &sdt, reply);
        if (m == LK_TEMPFAIL) {
            buf_fini(&sdt);
            return m;
        }
        if (m == LK_FOUND)
            spec = buf_str(&sdt);
    }
    if (!set_spec(reply, spec)) {
        /* No nexthop: the sender's relayhost, relayhost, the domain. */
        m = relayhost_applies ? sender_lookup(r->sdr_maps, sender,
                                              r->sdr_null_key, &sdr, reply)
                              : LK_NOTFOUND;
        if (m == LK_FOUND)
            buf_set(&reply->nexthop, buf_str(&sdr));
        else if (m == LK_NOTFOUND && relayhost_applies && r->relayhost[0] != 0)
            buf_set(&reply->nexthop, r->relayhost);
        else if (m == LK_NOTFOUND)
            buf_set(&reply->nexthop, domain);
    }
    buf_fini(&sdt);
    buf_fini(&sdr);
    return m == LK_TEMPFAIL ? LK_TEMPFAIL : LK_FOUND;
}

/* transport_lookup - step 4: transport_maps overrides */
static enum lk_result transport_lookup(struct resolve *r, const char *domain,
                                       struct resolve_reply *reply)
{
    struct maps_opts o = {
        .delim = r->delim,
        .parent_matches_sub = r->transport_pm,
        .double_bounce = r->double_bounce,
    };
    struct buf value = BUF_INIT;
    const char *colon;
    enum lk_result m;

    if (r->transport_maps == NULL)
        return LK_FOUND;
    m = maps_search(r->transport_maps, MAPS_ORDER_TRANSPORT,
                    buf_str(&reply->recipient), &o, &value, NULL);
    switch (m) {
        case LK_NOTFOUND:
            break;
        case LK_TEMPFAIL:
            (void) set_fail(reply, maps_why(r->transport_maps));
            break;
        case LK_FOUND: {
            const char *v = buf_str(&value);
            struct span t = span_of(v);
            const char *hop = "";

            if ((colon = strchr(v, ':')) != NULL) {
                t.len = (size_t) (colon - v);
                hop = colon + 1;
            }
            if (t.len == 0 && *hop == 0)
                break;
            if (t.len > 0) {
                buf_reset(&reply->transport);
                buf_catspan(&reply->transport, t);
            }
            if (*hop != 0)
                buf_set(&reply->nexthop, hop);
            else if (is_error_transport(&reply->transport))
                buf_set(&reply->nexthop, "Address is undeliverable");
            else
                buf_set(&reply->nexthop, domain);
            break;
        }
    }
    buf_fini(&value);
    return m == LK_TEMPFAIL ? LK_TEMPFAIL : LK_FOUND;
}

/* resolve_addr - resolution without sender-dependent tables */
enum lk_result resolve_addr(struct resolve *r, struct span addr,
                            struct resolve_reply *reply)
{
    return resolve_addr_sender(r, NULL, addr, reply);
}

/* resolve_addr_sender - the whole resolution */
enum lk_result resolve_addr_sender(struct resolve *r, const struct span *sender,
                                   struct span addr,
                                   struct resolve_reply *reply)
{
    const char *domain;
    bool local;
    enum lk_result ret;
    struct span lp;
    struct span dp;

    reply->rclass = RESOLVE_CLASS_DEFAULT;
    reply->flags = 0;
    buf_reset(&reply->transport);
    buf_reset(&reply->nexthop);
    buf_reset(&reply->why);
    buf_reset(&reply->recipient);
    buf_catspan(&reply->recipient, addr);
    /* A NUL byte or an overlong address is no address. */
    if (addr.len > ADDR_MAX_LEN || memchr(addr.p, 0, addr.len) != NULL)
        return set_error(reply);
    ret = route(r, &reply->recipient, &local, reply);
    if (reply->flags & RESOLVE_FLAG_ERROR) {
        /* Report the address as it came. */
        buf_reset(&reply->recipient);
        buf_catspan(&reply->recipient, addr);
    }
    if (ret != LK_FOUND || (reply->flags & RESOLVE_FLAG_ERROR))
        return ret;
    domain = domain_of(&reply->recipient);
    if (!local && addr_check_domain(span_of(domain), false, &reply->why) < 0)
        return set_error(reply);
    (void) addr_split(
        span_make(buf_str(&reply->recipient), buf_len(&reply->recipient)), &lp,
        &dp);
    if (memchr(lp.p, '@', lp.len) || memchr(lp.p, '%', lp.len)
        || memchr(lp.p, '!', lp.len))
        reply->flags |= RESOLVE_FLAG_ROUTED;
    if ((ret = class_spec(r, sender, domain, local, reply)) != LK_FOUND)
        return ret;
    if (reply->rclass == RESOLVE_CLASS_ALIAS)
        return LK_FOUND;
    return transport_lookup(r, domain, reply);
}
