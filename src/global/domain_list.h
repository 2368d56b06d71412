/*
 * domain_list - a parameter's list of domains, as Postfix matches
 * mydestination, virtual_alias_domains, virtual_mailbox_domains (plain
 * strings) and relay_domains (host names).
 *
 * The value holds names, "/file/name" (replaced by the names in the
 * file), "type:table" (the domain is a lookup key; the value does not
 * matter) and "!pattern" (a match excludes the domain and ends the
 * search); the first pattern that matches decides.  Case does not
 * matter.  Two modes, as Postfix's verbose log shows them
 * (match_string vs match_hostname):
 *   DOMAIN_LIST_STRING: a name matches only itself; a table is looked up
 *     with the domain only.  (mydestination, virtual_*_domains)
 *   DOMAIN_LIST_HOST: "example.com" matches itself and, when the
 *     parameter is in parent_domain_matches_subdomains, its subdomains;
 *     ".example.com" matches its subdomains; a table is looked up with the
 *     domain, then its parents ("parent" or ".parent", the same rule).
 *     (relay_domains)
 *
 * A table that fails makes the match LK_TEMPFAIL, never "no match".
 * Ownership: the list owns its patterns and table handles;
 * domain_list_why() is borrowed until the next match.
 */
#ifndef ULAK_DOMAIN_LIST_H
#define ULAK_DOMAIN_LIST_H

#include "../lib/buf.h"
#include "../lib/dict.h"

enum domain_list_mode {
    DOMAIN_LIST_STRING,
    DOMAIN_LIST_HOST,
};

struct domain_list;

/* domain_list_new - the list of parameter PARAM holding VALUE (already
 * expanded).  A "/file" that cannot be read, or a table that cannot be
 * opened, is kept as a member whose every match is LK_TEMPFAIL, with one
 * warning now.  Never NULL. */
struct domain_list *domain_list_new(const char *param, const char *value,
                                    enum domain_list_mode mode);
/* domain_list_free - domain_list_free(NULL) is a no-op. */
void domain_list_free(struct domain_list *dl);
/* domain_list_match - LK_FOUND when DOMAIN is in the list. */
ULAK_NODISCARD enum lk_result domain_list_match(struct domain_list *dl,
                                                const char *domain);
/* domain_list_why - why the last match was LK_TEMPFAIL. */
const char *domain_list_why(const struct domain_list *dl);
/* domain_list_parent_matches - whether PARAM is listed in
 * parent_domain_matches_subdomains. */
bool domain_list_parent_matches(const char *param);

#endif
