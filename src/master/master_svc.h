/*
 * master_svc - the services the master runs, and their processes.
 *
 * One struct master_svc per master.cf service whose command is a daemon of
 * this binary.  The master starts processes as Postfix's does: when a
 * listener is readable and no process of the service is available, up to
 * maxproc (0: no limit); MASTER_PROG_ALWAYS services are kept at maxproc
 * (at least one) all the time.  Each child gets a status socket
 * (SERVER_STATUS_FD: child_status ipc frames, see server.h) and the
 * listeners (SERVER_LISTEN_FD...).
 *
 * Failures: an abnormal exit is logged ("process PATH pid N exit status
 * 1"); a child that exits abnormally before its first status report never
 * got going, and the service is throttled for $service_throttle_time
 * ("SERVICE: bad command startup -- throttling"): no new process and its
 * listeners unwatched until then.  An ALWAYS service restarts with a
 * back-off that doubles from one second up to $service_throttle_time.
 *
 * Reload: master_svc_reload builds the new set and swaps it in only when
 * every new listener could be opened; an unchanged service keeps its
 * processes; a changed one keeps its listeners when its endpoints did not
 * change, and its old processes get SIGTERM (they finish what they are
 * doing, then exit).
 *
 * Ownership: the module owns every service, listener and child record.
 */
#ifndef ULAK_MASTER_SVC_H
#define ULAK_MASTER_SVC_H

#include <sys/types.h>

#include "../lib/argv.h"
#include "../lib/buf.h"
#include "../lib/loop.h"
#include "../global/master_cf.h"

/* What the services need from the master's configuration snapshot. */
struct master_svc_conf {
    char *config_dir;
    char *queue_dir;
    struct argv *interfaces;
    struct argv *protocols;
    struct argv *env;     /* the children's environment, NAME=VALUE */
    struct argv *disable; /* $master_service_disable: "type", "name/type" */
    long default_limit;
    long throttle_time; /* seconds */
    char *main_cf_text; /* to tell whether main.cf changed */
};

/* master_svc_init - remember the loop, the program path, and whether the
 * children share the master's stderr (foreground). */
void master_svc_init(struct loop *loop, const char *exe, bool keep_stderr);
/* master_svc_start - build and open the services of CF under CONF (taken
 * over); -1 with WHY (nothing started). */
int master_svc_start(const struct master_cf *cf, struct master_svc_conf *conf,
                     struct buf *why);
/* master_svc_reload - the same for a new configuration; on -1 the running
 * set is kept and CONF freed. */
int master_svc_reload(const struct master_cf *cf, struct master_svc_conf *conf,
                      struct buf *why);
/* master_svc_reap - collect exited children (SIGCHLD). */
void master_svc_reap(void);
/* master_svc_stop - close the listeners and signal every child with SIG
 * (SIGKILL: the whole process group). */
void master_svc_stop(int sig);
/* master_svc_children - processes still running. */
int master_svc_children(void);
/* master_svc_conf_free - a snapshot (NULL: no-op). */
void master_svc_conf_free(struct master_svc_conf *conf);
/* master_svc_fini - free everything (after the children are gone). */
void master_svc_fini(void);

#endif
