/*
 * resolve - a recipient address to its class and (transport, nexthop,
 * recipient), as Postfix's trivial-rewrite "resolve" request does it; qmgr
 * calls it for every recipient, smtpd for its relay checks.
 *
 * The steps, on an address in internal form (normally already rewritten
 * to standard form by rewrite.h):
 *   1. Routing through us: while the domain is local (below), the local
 *      part is looked at again: one with '@' (resolve_dequoted_address;
 *      the "a@b"@here form), "site!user" (swap_bangpath) or "user%site"
 *      (allow_percent_hack, last '%') is resolved on its own; an empty
 *      local part becomes $empty_address_recipient.  An address without a
 *      domain gets "@$myhostname" (after the '!' and '%' forms); "user@"
 *      is bad syntax unless resolve_null_domain; "user@1.2.3.4" is bad
 *      syntax unless resolve_numeric_domain, which makes it
 *      "user@[1.2.3.4]".
 *   2. A domain is local when it is in mydestination, or is an address
 *      literal of an inet_interfaces or proxy_interfaces address.  A
 *      remote domain must be a valid host name (labels of letters,
 *      digits, '-' and '_', no label starting or ending with '-', not all
 *      numeric, at most 63 bytes a label and 255 in all) or a valid
 *      address literal; otherwise the result is bad address syntax.
 *   3. The class, in ADDRESS_CLASS_README's order: local (local_transport),
 *      virtual alias (virtual_alias_domains: always the error transport
 *      with "5.1.1 User unknown in virtual alias table"; transport_maps is
 *      not consulted), virtual mailbox (virtual_mailbox_domains,
 *      virtual_transport), relay (relay_domains, relay_transport), default
 *      (default_transport).  The class transport is "transport[:nexthop]";
 *      without a nexthop, the relay and default classes use relayhost when
 *      it is set, and every class falls back to the recipient domain.
 *   4. transport_maps, searched as transport(5) says (maps.h
 *      MAPS_ORDER_TRANSPORT: user+ext@domain, user@domain, domain,
 *      parent domains, "*"; recipient_delimiter is stripped for the second
 *      key).  A result "transport:nexthop" replaces the class result; an
 *      empty transport keeps the class transport; an empty nexthop means
 *      the recipient domain, or "Address is undeliverable" for the error
 *      and retry transports; ":" (both empty) keeps the class result.
 * Every rule above was checked against Postfix 3.7's trivial-rewrite
 * (its verbose log prints each reply); resolve_test.c holds those answers.
 *
 * Results.  LK_FOUND: REPLY holds the answer; with RESOLVE_FLAG_ERROR the
 * address is malformed and the reply is transport "error", nexthop
 * "5.1.3 bad address syntax" (what Postfix's qmgr bounces with), and
 * REPLY->why may say what is wrong (for a log line, not for the bounce).
 * LK_TEMPFAIL: a table (transport_maps, a domain list) could not answer;
 * RESOLVE_FLAG_FAIL is set, REPLY->why says which table, and the
 * recipient must be deferred (Postfix: 4.3.0 "address resolver failure"),
 * never treated as not found.
 *
 * Deliver with REPLY->recipient: it is the address after step 1 (Postfix
 * logs it as to=<...>, the queue file's address as orig_to=<...>).
 *
 * Ownership: struct resolve owns copies of its parameters and its tables
 * (read once at resolve_open, as a daemon reads its configuration);
 * struct resolve_reply owns its bufs (resolve_reply_init/fini).
 */
#ifndef ULAK_RESOLVE_H
#define ULAK_RESOLVE_H

#include "../lib/buf.h"
#include "../lib/dict.h"

enum resolve_class {
    RESOLVE_CLASS_LOCAL,
    RESOLVE_CLASS_ALIAS,   /* virtual alias domain */
    RESOLVE_CLASS_VIRTUAL, /* virtual mailbox domain */
    RESOLVE_CLASS_RELAY,
    RESOLVE_CLASS_DEFAULT,
};

/* The local part still routes: it holds '@', '%' or '!' (smtpd refuses to
 * relay such addresses for others). */
#define RESOLVE_FLAG_ROUTED (1 << 0)
/* Bad address syntax: bounce (5.1.3). */
#define RESOLVE_FLAG_ERROR  (1 << 1)
/* A table failed: defer (4.3.0), see why. */
#define RESOLVE_FLAG_FAIL   (1 << 2)

/* Hostile input cannot make resolve loop: this many routing steps
 * ("a%b%c%...@here") and the address is bad syntax. */
#define RESOLVE_MAX_STEPS 100

struct resolve_reply {
    enum resolve_class rclass;
    int flags;            /* RESOLVE_FLAG_* */
    struct buf transport; /* master.cf service name */
    struct buf nexthop;   /* host, [host]:port, text for error/discard */
    struct buf recipient; /* the address to deliver to (internal form) */
    struct buf why;       /* FAIL: what failed; ERROR: maybe what is wrong */
};

struct resolve;

/* resolve_open - snapshot main.cf (conf must be loaded) and open the
 * tables; tables that cannot be opened fail each lookup that needs them
 * (LK_TEMPFAIL) after one warning.  Never NULL. */
struct resolve *resolve_open(void);
/* resolve_free - resolve_free(NULL) is a no-op. */
void resolve_free(struct resolve *r);

void resolve_reply_init(struct resolve_reply *reply);
void resolve_reply_fini(struct resolve_reply *reply);

/* resolve_addr - resolve ADDR (internal form) into REPLY, without the
 * sender-dependent tables. */
ULAK_NODISCARD enum lk_result resolve_addr(struct resolve *r, struct span addr,
                                           struct resolve_reply *reply);
/*
 * resolve_addr_sender - the same for mail from envelope sender SENDER
 * (internal form; a zero-length span is the null sender, looked up as
 * empty_address_*_lookup_key): for the default class,
 * sender_dependent_default_transport_maps replaces default_transport; for
 * the relay and default classes without a nexthop,
 * sender_dependent_relayhost_maps replaces relayhost.  Both are searched
 * with the sender, then "@domain"; a result DUNNO ends the search without
 * an override.  transport_maps still wins over both.
 */
ULAK_NODISCARD enum lk_result resolve_addr_sender(struct resolve *r,
                                                  const struct span *sender,
                                                  struct span addr,
                                                  struct resolve_reply *reply);

/*
 * resolve_inet_interface - ADDR (textual IPv4 or IPv6, any IPv6 spelling)
 * is one of the addresses of inet_interfaces as resolve_open found them
 * ("all": every interface address getifaddrs lists, restricted by
 * inet_protocols; "loopback-only"; addresses; host names), not counting
 * proxy_interfaces: what smtpd's permit_inet_interfaces asks.
 */
bool resolve_inet_interface(const struct resolve *r, const char *addr);

/* resolve_class_name - "local", "alias", "virtual", "relay", "default". */
const char *resolve_class_name(enum resolve_class c);

#endif
