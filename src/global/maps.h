/*
 * maps - a list of lookup tables named by one parameter value, and the key
 * search orders of Postfix's table manual pages, shared by every caller.
 *
 * maps_open("virtual_alias_maps", "hash:/etc/postfix/virtual, regexp:/x",
 * ...) opens each table (shared with other users of the same table, see
 * dict.h); maps_find() tries them in order, and the first table that has
 * the key wins.  LK_TEMPFAIL from any table stops the search and is the
 * answer: a table that cannot answer now must defer the mail, never be
 * skipped.  A table that could not be opened is kept as a failing member:
 * maps_open warns once ("TYPE:NAME is unavailable. REASON") and every
 * lookup that reaches it is LK_TEMPFAIL, so a bad table is a clear error
 * where it is used and not a crash.
 *
 * maps_search() generates the partial keys of one search order (see
 * enum maps_order) and tries them in turn with maps_find().  As in Postfix,
 * pattern tables (regexp, pcre, cidr) receive only the full key: partial
 * keys (domain, parent domains, user@, user without extension, network
 * prefixes, "*") go to the other tables only.
 *
 * Ownership: struct maps owns its table references; maps_why() and the
 * key list of maps_keys() are borrowed from their owners.
 */
#ifndef ULAK_MAPS_H
#define ULAK_MAPS_H

#include "../lib/buf.h"
#include "../lib/dict.h"

struct maps {
    char *title;         /* owned: the parameter name, for messages */
    struct dict **dicts; /* owned references; NULL for a table that failed */
    char **specs;        /* owned: "type:name" of each member */
    char **errors;       /* owned: open error of a failed member, or NULL */
    size_t count;
    struct buf why; /* owned: reason of the last LK_TEMPFAIL */
};

/* maps_open - open every table named in SPEC (comma or white space
 * separated, { } groups kept together) with DICT_FLAGS.  Never NULL. */
struct maps *maps_open(const char *title, const char *spec, int dict_flags);
/* maps_free - drop the table references; maps_free(NULL) is a no-op. */
void maps_free(struct maps *m);

/* maps_find flags */
#define MAPS_FIND_ALL   0        /* every table gets the key */
#define MAPS_FIND_FIXED (1 << 0) /* a partial key: skip pattern tables */

/* maps_find - KEY in each table in order; the value into VALUE. */
ULAK_NODISCARD enum lk_result maps_find(struct maps *m, const char *key,
                                        int flags, struct buf *value);
/* maps_why - the reason of the last LK_TEMPFAIL (borrowed). */
const char *maps_why(const struct maps *m);

/*
 * The search orders.  KEY is what the caller has: an address
 * "user+ext@domain", a local part, a host name or an address.
 * "ext" below stands for an extension found with maps_opts.delim; the keys
 * with it are tried only when the address has one.
 */
enum maps_order {
    /* The key as is, every table. */
    MAPS_ORDER_EXACT,
    /*
     * access(5) EMAIL ADDRESS PATTERNS and EMAIL ADDRESS EXTENSION:
     * user+ext@domain, user@domain, domain, then the parent domains as
     * ".parent" (or as "parent" when parent_matches_subdomains is set,
     * i.e. smtpd_access_maps is in parent_domain_matches_subdomains),
     * user+ext@, user@.  An address without '@' is looked up whole, then
     * without extension.
     */
    MAPS_ORDER_ACCESS_ADDR,
    /*
     * access(5) HOST NAME/ADDRESS PATTERNS, host names: domain.tld, then
     * the parent domains as ".parent" (or "parent", as above).
     */
    MAPS_ORDER_ACCESS_HOST,
    /*
     * access(5) HOST NAME/ADDRESS PATTERNS, addresses: the full IPv4
     * address, then with the last ".octet" truncated repeatedly
     * (1.2.3.4, 1.2.3, 1.2, 1); for IPv6 the string with the last
     * ":octetpair" truncated repeatedly, as given (the caller passes the
     * compressed form).
     */
    MAPS_ORDER_ACCESS_IP,
    /*
     * virtual(5) TABLE SEARCH ORDER and ADDRESS EXTENSION, also
     * canonical(5) and relocated(5): user+ext@domain, user@domain, then
     * when maps_opts.local_domain says the domain is $myorigin,
     * $mydestination, $inet_interfaces or $proxy_interfaces: user+ext,
     * user; then @domain.
     */
    MAPS_ORDER_VIRTUAL,
    /*
     * aliases(5) and local(8) "ALIAS" lookups: the local part with
     * extension, then without (KEY is the local part).
     */
    MAPS_ORDER_ALIAS,
    /*
     * transport(5) TABLE SEARCH ORDER: user+ext@domain, user@domain,
     * domain, then the parent domains as ".parent" (or "parent" when
     * transport_maps is in parent_domain_matches_subdomains), then "*".
     */
    MAPS_ORDER_TRANSPORT,
};

struct maps_opts {
    const char *delim;          /* recipient_delimiter: a set; NULL or "" */
    bool parent_matches_sub;    /* this map is in parent_domain_matches_... */
    bool local_domain;          /* MAPS_ORDER_VIRTUAL: try the bare user */
    bool owner_request_special; /* owner_request_special: keep owner-x and
                                   x-request whole */
    const char *double_bounce;  /* double_bounce_sender: never split */
};

/* One key of a search order. */
struct maps_key {
    char *key; /* owned by the list */
    int flags; /* MAPS_FIND_ALL or MAPS_FIND_FIXED */
};

struct maps_keys {
    struct maps_key *keys; /* owned */
    size_t count;
};

/*
 * maps_split_ext - the length of the user part of local part LOCAL (of
 * LEN bytes) without its extension, or LEN when it has none: the first
 * byte of O->delim splits, except in postmaster, mailer-daemon, the
 * double-bounce name, owner-* and *-request (owner_request_special) and
 * at the start of the local part, as postconf(5) recipient_delimiter says.
 */
size_t maps_split_ext(const char *local, size_t len, const struct maps_opts *o);
/* maps_keys - the keys that ORDER tries for KEY, in order. */
void maps_keys(enum maps_order order, const char *key,
               const struct maps_opts *o, struct maps_keys *out);
void maps_keys_free(struct maps_keys *k);

/*
 * maps_search - try the keys of ORDER for KEY; the first found wins.
 * MATCHED, when not NULL, receives the key that was found (so a caller
 * can tell whether the extension was stripped and propagate it).
 */
ULAK_NODISCARD enum lk_result
maps_search(struct maps *m, enum maps_order order, const char *key,
            const struct maps_opts *o, struct buf *value, struct buf *matched);

#endif
