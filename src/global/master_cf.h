/*
 * master_cf - master.cf: the service table.
 *
 * One entry per logical line (continuation lines joined, '#' lines skipped):
 * service, type, private, unpriv, chroot, wakeup, maxproc, command and its
 * arguments.  Fields are kept as written ("-" included) so postconf -M and
 * -F can print them as Postfix does; the helpers give effective values.
 * A later definition of the same service/type replaces an earlier one, as in
 * Postfix.  Parse errors name the file and line.
 */
#ifndef ULAK_MASTER_CF_H
#define ULAK_MASTER_CF_H

#include "../lib/buf.h"
#include "../lib/argv.h"

enum master_type {
    MASTER_TYPE_INET,
    MASTER_TYPE_UNIX,
    MASTER_TYPE_UNIX_DGRAM,
    MASTER_TYPE_FIFO,
    MASTER_TYPE_PASS,
};

struct master_ent {
    char *service; /* owned: "smtp", "127.0.0.1:10025" */
    enum master_type type;
    char *type_name;      /* owned: as written */
    char *private_;       /* owned: "y", "n" or "-" */
    char *unpriv;         /* owned */
    char *chroot;         /* owned */
    char *wakeup;         /* owned: "60", "1000?", "-" */
    char *maxproc;        /* owned: "100", "0", "-" */
    struct argv *command; /* owned: command name, then arguments, with
                             * "{ a b }" groups kept as one element */
    int line;             /* first line of the logical line */
    struct master_ent *next;
};

struct master_cf {
    char *path;              /* owned */
    struct master_ent *head; /* owned list, in file order */
};

/* master_cf_load - parse PATH; NULL with WHY ("master.cf:12: ...") on the
 * first fatal error.  Warnings go through msg_warn. */
struct master_cf *master_cf_load(const char *path, struct buf *why);
void master_cf_free(struct master_cf *cf);
/* master_cf_find - the entry for SERVICE/TYPE (type NULL: any), or NULL. */
struct master_ent *master_cf_find(const struct master_cf *cf,
                                  const char *service, const char *type);

#endif
