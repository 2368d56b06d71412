/*
 * smtp_addr - the servers of one next hop, in the order in which the smtp
 * or lmtp client tries them: Postfix's smtp(8) and lmtp(8) address
 * selection.
 *
 * Next-hop forms (transport(5), smtp(8), lmtp(8)):
 *   domain            MX lookup; with no MX, the domain's own A/AAAA
 *                     (the implicit MX); a null MX bounces
 *   domain:port       the same, with PORT for every server
 *   [host]            no MX lookup: host's A/AAAA, or an IP literal
 *   [host]:port       the same
 *   [ipv6:addr] / [addr] with an IPv6 address; port as above
 * and for lmtp also unix:/path (one AF_UNIX server), inet:host:port and
 * inet:[host]:port; the default port is 25 for smtp, 24 for lmtp (the
 * services "smtp" and "lmtp"; a port may be a number or a service name).
 *
 * Order: MX records by preference, equal preferences in random order
 * (smtp_randomize_addresses); each MX host's addresses (A, AAAA by
 * inet_protocols; smtp_address_preference); at most smtp_mx_address_limit
 * addresses in all (0: no limit).  When one of the MX hosts is this
 * machine (an address of inet_interfaces/proxy_interfaces), the MX hosts
 * with that preference and worse are dropped; nothing left is "mail for
 * DOMAIN loops back to myself" (5.4.6), or, with best_mx_transport set,
 * result.best_mx_local.
 *
 * Failures carry Postfix's enhanced status code and text, e.g.
 *   4.4.3 "Host or domain name not found. Name service error for
 *          name=example.test type=MX: Host not found, try again"
 *   5.4.4 "Host or domain name not found. Name service error for
 *          name=nosuch.test type=A: Host not found"
 *   5.1.0 "Domain example.test does not accept mail (nullMX)" (RFC 7505
 *          asks for 5.1.10; Debian's Postfix 3.7 says dsn=5.1.0)
 *   5.4.6 "mail for example.test loops back to myself"
 * (each recorded from Debian's Postfix 3.7 with the tests' DNS server).
 * An MX lookup that ends in NXDOMAIN goes on to the address lookup, as
 * Postfix does, so its text names type=A; with IPv6 on (inet_protocols =
 * all) the failed lookup named is AAAA, as in Postfix 3.7.
 *
 * Without DNS (disable_dns_lookups = yes, smtp_dns_support_level =
 * disabled, or smtp_host_lookup = native) hosts are looked up in the host
 * file (/etc/hosts: nothing blocks) and no MX lookup is made; a host that
 * is not there is 5.4.4 "unable to look up host H: Name or service not
 * known", as Postfix 3.7 says it.
 *
 * smtp_addr_find() never calls back from inside itself; FN runs once,
 * later, from the loop, unless smtp_addr_cancel() comes first.  The
 * result is owned by the callee and freed with smtp_addr_result_free().
 */
#ifndef ULAK_SMTP_ADDR_H
#define ULAK_SMTP_ADDR_H

#include <sys/socket.h>

#include "../global/dns.h"
#include "../global/dsn.h"
#include "../lib/argv.h"
#include "../lib/buf.h"

/* What address selection needs from the configuration (the caller reads
 * the parameters with the smtp_ or lmtp_ prefix of its service). */
struct smtp_addr_conf {
    bool lmtp;            /* next-hop syntax and default port of lmtp */
    int mx_address_limit; /* smtp_mx_address_limit; 0: none */
    bool dns;             /* DNS lookups allowed (see above) */
    bool ipv4, ipv6;      /* inet_protocols */
    bool prefer_ipv6;     /* smtp_address_preference = ipv6 (else any/ipv4) */
    bool randomize;       /* smtp_randomize_addresses */
    bool ignore_mx_lookup_error; /* a failed MX lookup: try the A record */
    bool best_mx_transport;      /* best_mx_transport is set */
    /* This machine's addresses for the loop check (inet_interfaces and
     * proxy_interfaces, resolved; "all" means the interfaces' own). */
    struct sockaddr_storage *self;
    size_t nself;
    /* The host file of the no-DNS mode; NULL: /etc/hosts (an addition for
     * the tests). */
    const char *hosts_file;
};

struct smtp_addr {
    char *host;                 /* "mx1.example.test" or the literal */
    struct sockaddr_storage sa; /* with the port set; AF_UNIX for lmtp */
    socklen_t salen;
    int pref; /* MX preference; -1 when not from an MX record */
};

struct smtp_addr_result {
    int status; /* 0: ADDR are the servers; 4: defer; 5: bounce */
    char dsn[DSN_STATUS_SIZE]; /* when status is 4 or 5 */
    struct buf reason;         /* when status is 4 or 5 */
    struct smtp_addr *addr;
    size_t naddr;
    bool best_mx_local; /* this machine is the best MX (best_mx_transport) */
};

/* A parsed next hop (smtp_addr_parse). */
struct smtp_addr_nexthop {
    char *host;     /* domain, host name, address literal or socket path
                    * (owned; an IPv6 literal without "ipv6:") */
    unsigned port;  /* host order; 0 for unix: */
    bool mx;        /* an MX lookup is wanted (smtp, no brackets, no literal) */
    bool literal;   /* HOST is an IP address: SA holds it (port set) */
    bool unix_path; /* lmtp unix:/path */
    struct sockaddr_storage sa;
    socklen_t salen;
};

/* smtp_addr_parse - NEXTHOP in the forms above into OUT: 0, or -1 with
 * WHY ("malformed next-hop destination ...").  The default port is the
 * "smtp" (25) or "lmtp" (24) service; a port may be a number or a
 * service name.  smtp_addr_nexthop_fini() frees OUT's strings. */
int smtp_addr_parse(const char *nexthop, bool lmtp,
                    struct smtp_addr_nexthop *out, struct buf *why);
void smtp_addr_nexthop_fini(struct smtp_addr_nexthop *nh);

typedef void (*smtp_addr_fn)(void *arg, struct smtp_addr_result *res);

struct smtp_addr_req;

/* smtp_addr_find - select the servers of NEXTHOP with CONF (borrowed until
 * the callback) through DNS (may be NULL when CONF says no DNS). */
struct smtp_addr_req *smtp_addr_find(struct dns *dns,
                                     const struct smtp_addr_conf *conf,
                                     struct loop *loop, const char *nexthop,
                                     smtp_addr_fn fn, void *arg);
void smtp_addr_cancel(struct smtp_addr_req *req);
void smtp_addr_result_free(struct smtp_addr_result *res);

#endif
