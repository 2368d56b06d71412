/*
 * rewrite - addresses to standard form, as Postfix's trivial-rewrite
 * "rewrite" request does it (cleanup calls it for every envelope and
 * header address).
 *
 * In order, on an address in internal form (see addr.h):
 *   - the empty address stays empty;
 *   - a source route "@a,@b:user@domain" becomes "user@domain";
 *   - an address without '@': with swap_bangpath "site!user" becomes
 *     "user@site" (at the first '!', so "a!b!c" is "b!c@a"); else with
 *     allow_percent_hack "user%domain" becomes "user@domain" (at the last
 *     '%'); else with append_at_myorigin "@$myorigin" is appended (the
 *     remote context appends "@$remote_header_rewrite_domain" instead, and
 *     nothing when that is empty);
 *   - with append_dot_mydomain, a domain without any dot that is not an
 *     address literal gets ".$mydomain" (".$remote_header_rewrite_domain"
 *     in the remote context);
 *   - one trailing dot of the domain is removed ("host.." stays: resolve
 *     then calls it bad syntax).
 * These are Postfix 3.7's results, recorded as golden cases in
 * rewrite_test.c.  The defaults follow compatibility_level through conf
 * (append_dot_mydomain is yes below level 1, no from level 1 on).
 *
 * Which context applies is the caller's decision: Postfix rewrites
 * envelope addresses, and headers of mail from sendmail and from clients
 * that match local_header_rewrite_clients, in the local context; headers
 * from other SMTP clients in the remote context, and not at all when
 * remote_header_rewrite_domain is empty (rewrite_header_wanted).
 *
 * Ownership: struct rewrite_conf owns copies of the parameter values taken
 * at rewrite_conf_new() (a daemon reads its configuration once); the
 * output buf is the caller's.
 */
#ifndef ULAK_REWRITE_H
#define ULAK_REWRITE_H

#include "../lib/buf.h"

enum rewrite_context {
    REWRITE_LOCAL,  /* envelope; headers from local origins */
    REWRITE_REMOTE, /* headers from remote SMTP clients */
};

struct rewrite_conf {
    char *myorigin;      /* owned */
    char *mydomain;      /* owned */
    char *remote_domain; /* owned: remote_header_rewrite_domain */
    bool append_at_myorigin;
    bool append_dot_mydomain;
    bool swap_bangpath;
    bool percent_hack; /* allow_percent_hack */
};

/* rewrite_conf_new - the parameters as conf (main.cf) has them now. */
struct rewrite_conf *rewrite_conf_new(void);
/* rewrite_conf_free - rewrite_conf_free(NULL) is a no-op. */
void rewrite_conf_free(struct rewrite_conf *rc);

/* rewrite_addr - ADDR (internal form) in standard form into OUT (which
 * must not hold the bytes ADDR points into). */
void rewrite_addr(const struct rewrite_conf *rc, enum rewrite_context ctx,
                  struct span addr, struct buf *out);

/* rewrite_header_wanted - whether header addresses of mail in context
 * CTX are rewritten at all (the remote context needs a non-empty
 * remote_header_rewrite_domain). */
bool rewrite_header_wanted(const struct rewrite_conf *rc,
                           enum rewrite_context ctx);

#endif
