/*
 * smtpd_rbl - the pure parts of smtpd's DNS-based restrictions
 * (postconf(5) reject_rbl_client, reject_rhsbl_*, permit_dnswl_client,
 * default_rbl_reply): the reversed-address names, the "domain=d.d.d.d"
 * filters and the reply template macros.  No DNS here: smtpd_check.c asks.
 *
 * Ownership: nothing is kept; results are appended to the caller's bufs.
 */
#ifndef ULAK_SMTPD_RBL_H
#define ULAK_SMTPD_RBL_H

#include <stdbool.h>

#include "lib/buf.h"

/* smtpd_rbl_reverse - ADDR (textual IPv4, or IPv6 in any spelling) as the
 * labels of a DNSBL or PTR query: "2.0.0.127" for 127.0.0.2, 32 nibbles
 * "1.0.0.0....8.b.d.0.1.0.0.2" for 2001:db8::1; -1 when ADDR is neither.
 * Appended to OUT; *V6 tells the family when V6 is not NULL. */
int smtpd_rbl_reverse(const char *addr, struct buf *out, bool *v6);

/* smtpd_rbl_split - "domain=filter" into its domain (appended to DOMAIN)
 * and filter (a pointer into SPEC after "=", NULL without one). */
const char *smtpd_rbl_split(const char *spec, struct buf *domain);

/* smtpd_rbl_filter_ok - FILTER is well formed: four dot-separated parts,
 * each a number 0..255 or "[list]" of numbers and "N..M" ranges separated
 * by ";" (Postfix 3.7's syntax, e.g. 127.0.0.[2;4..10]). */
bool smtpd_rbl_filter_ok(const char *filter);

/* smtpd_rbl_filter_match - the IPv4 answer ADDR (textual) matches FILTER
 * (NULL: every answer matches); a malformed FILTER matches nothing. */
bool smtpd_rbl_filter_match(const char *filter, const char *addr);

/* The values of the reply template's macros; NULL: undefined. */
struct smtpd_rbl_macros {
    const char *client;         /* "name[addr]" */
    const char *client_address; /* addr */
    const char *client_name;
    const char *reverse_client_name;
    const char *helo_name;
    const char *sender;
    const char *recipient;
    const char *rbl_class; /* "Client host", "Sender address", ... */
    const char *rbl_code;  /* "554" */
    const char *rbl_domain;
    const char *rbl_reason; /* the TXT record's text, "" without one */
    const char *rbl_txt;
    const char *rbl_what; /* the address or name that is listed */
};

/* smtpd_rbl_expand - TEMPLATE with $name, ${name}, ${name?text} (TEXT,
 * itself expanded, when NAME is set and not empty) and ${name:text} (when
 * it is unset or empty) replaced; "$$" is a "$".  Appended to OUT; -1 and
 * WHY on a syntax error or an unknown macro name. */
int smtpd_rbl_expand(const char *tmpl, const struct smtpd_rbl_macros *m,
                     struct buf *out, struct buf *why);

/* smtpd_rbl_reply - the final reply from an expanded template TEXT: "NNN
 * [x.y.z] text"; without an enhanced code, "D.7.1" is inserted (D the
 * code's class).  -1 and WHY when TEXT does not start with a 4XX or 5XX
 * code. */
int smtpd_rbl_reply(const char *text, struct buf *out, struct buf *why);

#endif
