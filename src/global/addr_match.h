/*
 * addr_match - a list of network addresses, as Postfix's mynetworks (and
 * the other address lists: smtpd_authorized_xclient_hosts, ...) holds it:
 * "192.0.2.1", "192.0.2.0/24", "[2001:db8::1]", "[2001:db8::]/32" (IPv6
 * inside [], as postconf(5) requires: a bare "x:y" is a table),
 * "/file/name" (the patterns in the file, white space or comma separated,
 * "#" comments), "type:table" (the client address is the lookup key; any
 * value matches) and "!pattern" (a match
 * excludes the address and ends the search).  The first pattern that
 * matches decides.  As in Postfix, a network with host bits set is an
 * error ("non-null host address bits in "192.0.2.1/24", perhaps you
 * should use "192.0.2.0/24" instead").
 *
 * A table or file that cannot be read makes every match that reaches it
 * LK_TEMPFAIL (never "no match"): smtpd then answers 451 4.3.0.
 * Ownership: the list owns its patterns and tables; addr_match_why() is
 * borrowed until the next call.
 */
#ifndef ULAK_ADDR_MATCH_H
#define ULAK_ADDR_MATCH_H

#include "../lib/buf.h"
#include "../lib/dict.h"

struct addr_match;

/*
 * addr_match_new - the list of parameter PARAM holding VALUE (already
 * expanded).  0 with *OUT, or -1 with WHY for a malformed pattern (what
 * Postfix refuses to start with).  A file or table that cannot be opened
 * is not an error here: it fails each match that reaches it.
 */
int addr_match_new(const char *param, const char *value,
                   struct addr_match **out, struct buf *why);
/* addr_match_free - addr_match_free(NULL) is a no-op. */
void addr_match_free(struct addr_match *m);
/*
 * addr_match_find - LK_FOUND when ADDR (a textual IPv4 or IPv6 address,
 * without brackets; an IPv4-mapped IPv6 address is also tried as IPv4) is
 * in the list, LK_NOTFOUND when not (or excluded by "!"), LK_TEMPFAIL
 * when a table failed first.  An ADDR that is not an address matches no
 * network pattern (tables still see it).
 */
ULAK_NODISCARD enum lk_result addr_match_find(struct addr_match *m,
                                              const char *addr);
/* addr_match_why - why the last find was LK_TEMPFAIL. */
const char *addr_match_why(const struct addr_match *m);

#endif
