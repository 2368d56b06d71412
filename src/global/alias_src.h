/*
 * alias_src - aliases(5) entries as postalias(1) stores them.
 *
 * alias_src_parse() splits a logical line (see tbl_src.h) into the name
 * before the first ':' and the value after it.  Both are read as RFC 822
 * tokens (atoms, "quoted strings", (comments), [domain literals] and
 * specials) and written back the way Postfix stores them: one space between
 * words, none around specials, ", " after each comma; a quoted name loses
 * its quotes ("a b": x has the name a b).  An atom written with backslash
 * escapes comes back quoted when its text needs quotes.  The function is
 * pure: it reads LINE and writes only NAME, VALUE and WHY.
 */
#ifndef ULAK_ALIAS_SRC_H
#define ULAK_ALIAS_SRC_H

#include "../lib/buf.h"

/* alias_src_parse - "name: value, ...": 0 with NAME and the normalised
 * VALUE, or -1 with Postfix's warning text ("need name:value pair", "name
 * must be local") in WHY. */
int alias_src_parse(const char *line, struct buf *name, struct buf *value,
                    struct buf *why);

#endif
