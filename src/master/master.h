/*
 * master - the master daemon, the registry of daemons, and what the
 * postfix command needs to know about them.
 *
 * The registry (master_registry.c) maps a master.cf command name to what
 * ulak does with it:
 *   MASTER_PROG_RUN      a daemon in this binary: the master starts
 *                        "ulak --daemon NAME ..." for the service, and
 *                        master_daemon_main calls the entry's main;
 *   MASTER_PROG_BUILTIN  the work is done inside another ulak process
 *                        (note says which); the master starts nothing;
 *   MASTER_PROG_NOTYET   a Postfix program that ulak does not have yet;
 *                        the service is accepted and not started.
 * Any other command name is an error in master.cf.
 *
 * The pid lock: data_directory/master.lock, held with an fcntl write lock
 * by the running master for its whole life, and holding its pid as ten
 * right-aligned digits and a newline (queue_directory/pid/master.pid gets
 * the same text).  master_lock_probe asks the lock, not the text, so a
 * stale file never counts as a running master.
 */
#ifndef ULAK_MASTER_H
#define ULAK_MASTER_H

#include <sys/types.h>

#include "../lib/buf.h"
#include "../global/master_cf.h"

enum master_prog_kind {
    MASTER_PROG_RUN,
    MASTER_PROG_BUILTIN,
    MASTER_PROG_NOTYET,
};

/* Flags of a RUN entry. */
#define MASTER_PROG_ALWAYS \
    0x01 /* keep maxproc (at least 1) processes
                                 * running, not only on demand (qmgr) */

#define MASTER_PROG_MULTI \
    0x02 /* one process serves many sessions: at most one process per
          * core (and at most maxproc), each given "-l" its share of the
          * service's maxproc sessions (smtpd) */

struct master_prog {
    const char *name; /* the master.cf command name */
    enum master_prog_kind kind;
    int (*main)(int argc, char **argv); /* RUN: argv[0] is NAME */
    unsigned flags;
    const char *note; /* BUILTIN: the process that does the work */
};

/* master_prog_find - the registry entry for COMMAND, or NULL. */
const struct master_prog *master_prog_find(const char *command);
/* master_daemon_main - "ulak --daemon NAME args": run NAME's main with
 * argv[0] = NAME (ARGV starts at NAME). */
int master_daemon_main(int argc, char **argv);
/* master_check_services - one line per service of CF (the last definition
 * of each name/type) saying what ulak does with it; returns the number of
 * errors (unknown commands, bad service names). */
int master_check_services(const struct master_cf *cf);

/* master_main - the master daemon: "ulak --daemon master [-c dir] [-i]
 * [-w]"; -i: stay attached, log to stderr as well (start-fg); -w: write
 * 'R' to descriptor 3 once running, then drop stderr (start). */
int master_main(int argc, char **argv);

/* master_lock_probe - is a master running for DATA_DIR?  1 with *PID, 0
 * when not, -1 with WHY when that cannot be told. */
int master_lock_probe(const char *data_dir, pid_t *pid, struct buf *why);

#endif
