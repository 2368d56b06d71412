/*
 * addr_match - a list of network addresses, as Postfix's mynetworks (and
 * the other address lists: smtpd_authorized_xclient_hosts, ...) holds it:
 * "192.0.2.1", "192.0.2.0/24", "[2001:db8::1]", "[2001:db8::]/32" (IPv6
 * inside [], as postconf(5) requires: a bare "x:y" is a table),
 * "/file/name" (the patterns in the file, white space or comma separated,
 * "#" comments), "type:table" (the client address is the lookup key; any
 * value matches) and "!pattern" (a match
 * excludes the address and ends the search).  The first pattern that
 * matches decides.
 *
 * Malformed patterns, as Postfix 3.7's smtpd treats them (checked on a
 * reference instance): a network with host bits set ("non-null host
 * address bits in "127.0.0.1/8", perhaps you should use "127.0.0.0/8"
 * instead"), a bad mask length, or a bare IPv6 address (taken for a table
 * of an unknown type) is warned about once, and every match that reaches
 * it is LK_TEMPFAIL (Postfix's smtpd then answers "451 4.3.0 <rcpt>:
 * Temporary lookup failure"); a word that is no address ("300.1.2.3",
 * "host.example") is a host name pattern, which no address matches.
 *
 * A table or file that cannot be read also makes every match that reaches
 * it LK_TEMPFAIL (never "no match").
 * Ownership: the list owns its patterns and tables; addr_match_why() is
 * borrowed until the next call.
 */
#ifndef ULAK_ADDR_MATCH_H
#define ULAK_ADDR_MATCH_H

#include "../lib/buf.h"
#include "../lib/dict.h"

struct addr_match;

/* addr_match_new - the list of parameter PARAM holding VALUE (already
 * expanded).  Never NULL. */
struct addr_match *addr_match_new(const char *param, const char *value);
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
