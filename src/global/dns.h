/*
 * dns - asynchronous DNS lookups on a process's event loop (libunbound).
 *
 * One struct dns per process, made after the privilege drop on the
 * process's loop.  SERVERS is $ulak_dns_servers (an ulak extension; Postfix
 * has no such parameter): empty means the name servers of /etc/resolv.conf
 * (read once, by dns_new(); 127.0.0.1 when it names none, as the C
 * library does; /etc/hosts is NOT consulted: that is the caller's "native"
 * lookup);
 * otherwise a list of "address", "address:port" or "[ipv6]:port" that are
 * used as forwarders (recursion desired), e.g. the tests' own server on
 * 127.0.0.1:5353.  No DNSSEC trust anchor is configured yet (answers are
 * never "secure").
 *
 * dns_lookup() never calls back from inside itself: FN runs later from the
 * loop, exactly once, unless the query is cancelled first.  The answer and
 * everything in it are borrowed for the duration of the callback.
 *
 * Ownership: the struct dns borrows LOOP, which must outlive it;
 * dns_free() cancels every pending query without calling back.  A struct
 * dns_query is owned by the dns module; the caller may keep the pointer
 * only until the callback runs or it calls dns_cancel().
 */
#ifndef ULAK_DNS_H
#define ULAK_DNS_H

#include <sys/socket.h>

#include "../lib/buf.h"
#include "../lib/loop.h"

/* Record types (the RFC 1035 numbers). */
#define DNS_T_A    1
#define DNS_T_PTR  12
#define DNS_T_MX   15
#define DNS_T_TXT  16
#define DNS_T_AAAA 28

enum dns_status {
    DNS_OK,       /* at least one record of the type */
    DNS_NODATA,   /* the name exists, but has no record of the type */
    DNS_NOTFOUND, /* NXDOMAIN: the name does not exist */
    DNS_RETRY,    /* SERVFAIL, REFUSED, time-out, no server: try later */
    DNS_INVAL,    /* a malformed name (the query was not sent) or answer */
};

/* One record of the answer (only the fields of its type are set). */
struct dns_rr {
    int type;     /* DNS_T_* */
    unsigned ttl; /* seconds */
    int pref;     /* MX: the preference */
    char *name;   /* MX exchange, PTR target, without the final dot; a
                    * null MX (RFC 7505, exchange ".") is "" */
    struct sockaddr_storage addr; /* A, AAAA: the address (port 0) */
    socklen_t addrlen;
    char *text; /* TXT: the character-strings concatenated */
};

struct dns_answer {
    enum dns_status status;
    const char *qname; /* as asked */
    int qtype;
    const struct dns_rr *rr; /* in the order of the answer section */
    size_t nrr;
    /* Postfix's wording of a failure, for "Name service error for
     * name=N type=T: WHY": "Host not found", "Host not found, try
     * again", "No address associated with hostname", ... */
    const char *why;
};

struct dns;
struct dns_query;

typedef void (*dns_fn)(void *arg, const struct dns_answer *ans);

/* dns_new - a resolver on LOOP with SERVERS ($ulak_dns_servers); NULL and
 * WHY when SERVERS does not parse or libunbound refuses the set-up. */
struct dns *dns_new(struct loop *loop, const char *servers, struct buf *why);
void dns_free(struct dns *d);

/* dns_lookup - ask for records of TYPE for NAME; FN(ARG, answer) later.
 * Never NULL (a malformed NAME is answered DNS_INVAL from the loop). */
struct dns_query *dns_lookup(struct dns *d, const char *name, int type,
                             dns_fn fn, void *arg);
/* dns_cancel - FN of Q will not run (Q must be pending). */
void dns_cancel(struct dns_query *q);

/* dns_rr_parse - RR from the RDATA (LEN bytes, uncompressed names) of one
 * record of TYPE: 0, or -1 when it is malformed or TYPE is not one of the
 * DNS_T_* above.  Hostile input: every length is checked, names must be
 * printable without dots or backslashes inside labels.  The strings in RR
 * are owned by RR: dns_rr_fini() frees them. */
int dns_rr_parse(int type, const unsigned char *rdata, size_t len,
                 struct dns_rr *rr);
void dns_rr_fini(struct dns_rr *rr);

/* dns_parse_servers - the entries of SERVERS ($ulak_dns_servers) as
 * libunbound forwarders "addr@port" (port 53 by default) appended to OUT;
 * -1 and WHY when one does not parse. */
struct argv;
int dns_parse_servers(const char *servers, struct argv *out, struct buf *why);

/* dns_type_name - "MX", "A", ... as Postfix names types in its logs. */
const char *dns_type_name(int type);

#endif
