/*
 * postconf_master - the master.cf side of postconf: -M, -F, -P.
 *
 * postconf.c parses the command line and calls these with the names given
 * as arguments (none: every service).  Each returns the exit status.
 */
#ifndef ULAK_POSTCONF_MASTER_H
#define ULAK_POSTCONF_MASTER_H

#include "../lib/sys_defs.h"

/* -M [-f] [service[/type]...]: print entries ("fold" for -f). */
int postconf_master_entries(char **names, int count, bool fold);
/* -F [service[/type[/field]]...]: print "service/type/field = value". */
int postconf_master_fields(char **names, int count);
/* -P [service[/type[/parameter]]...]: print "service/type/name = value". */
int postconf_master_params(char **names, int count);

/* Parameter modes (-n, -d, names): a master.cf that exists must parse, as
 * Postfix's postconf reads it for service names; fatal otherwise. */
void postconf_master_verify(void);

#endif
