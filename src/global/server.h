/*
 * server - the skeleton of every daemon that the master starts.
 *
 * A daemon's main fills a static const struct server_spec and returns
 * server_run(&spec, argc, argv).  server_run owns, in this order:
 *  1. the options the master passes (below) and the configuration:
 *     main.cf read once, then each "-o name=value" applied in order;
 *     logging to $syslog_name/NAME as main.cf says;
 *  2. the inherited descriptors: SERVER_STATUS_FD, the stream socket to
 *     the master, and SERVER_LISTEN_FD .. SERVER_LISTEN_FD+N-1, the
 *     service's listeners (N from -s);
 *  3. pre_jail (as the user the master started it as: root for a
 *     privileged instance), chroot to queue_directory when the master.cf
 *     chroot column says so and the process is root, the privilege drop to
 *     mail_owner when the unpriv column says so and the process is root
 *     (priv.c), then post_jail;
 *  4. the event loop (server_loop), SIGTERM and a master that went away
 *     (drain: stop accepting, on_drain, exit when the last session ended),
 *     the status reports to the master, and the limits: a process with no
 *     session for $max_idle seconds exits, and so does one that has served
 *     $max_use times its session limit (0: no limit; a process without a
 *     session limit does not retire), unless the spec is long_running.
 *
 * Options (as Postfix's master passes them to its daemons; getopt stops at
 * the first word that is not an option, and the rest are the daemon's own
 * arguments, server_args):
 *   -c DIR      configuration directory (else $MAIL_CONFIG, /etc/postfix)
 *   -n SERVICE  the master.cf service name     -t TYPE  its type column
 *   -s N        number of listeners            -u       drop to mail_owner
 *   -l N        sessions at once in this process (the master's share of
 *               the service's maxproc; overrides spec.max_sessions)
 *   -j          chroot to queue_directory      -o NAME=VALUE  override
 *   -v          more verbose logging           -D       ignored (debugger)
 *   -S          stand-alone: no master; fd 0 is one connection (tests)
 *
 * Status protocol on SERVER_STATUS_FD: one ipc frame (lib/ipc.h) per
 * change, a child_status message (global/ipc_msgs.def) with the pid and
 * the state: IPC_CHILD_READY when the process can take work (sent first,
 * after post_jail: an exit before it is a failed start, and the master
 * throttles the service), IPC_CHILD_BUSY when it cannot (its session limit
 * is reached, or it is draining), IPC_CHILD_IDLE when it is about to exit
 * on its own (max_idle, max_use), so that the master starts another
 * process for the next client instead of counting on this one.  End of
 * file on that socket means the master is gone: the process drains and
 * exits.
 *
 * Sessions: on_accept gets a connected, non-blocking, close-on-exec
 * stream descriptor and owns it; when the session ends the daemon calls
 * server_session_done.  Trigger servers (pickup, qmgr: on_trigger set)
 * get the bytes of a trigger instead: a fifo or datagram read, or up to
 * SERVER_TRIGGER_MAX bytes read from a stream connection until EOF.
 *
 * Ownership: the struct server is owned by server_run; pointers returned
 * by the accessors are borrowed until server_run returns.  The loop is
 * freed at the end of server_run, after on_exit.
 */
#ifndef ULAK_SERVER_H
#define ULAK_SERVER_H

#include <sys/types.h>

#include "../lib/argv.h"
#include "../lib/buf.h"
#include "../lib/loop.h"

#define SERVER_STATUS_FD   3
#define SERVER_LISTEN_FD   4
#define SERVER_MAX_LISTEN  32
#define SERVER_TRIGGER_MAX 1024

struct server;

typedef int (*server_init_fn)(struct server *srv, struct buf *why);
typedef void (*server_accept_fn)(struct server *srv, int fd);
typedef void (*server_trigger_fn)(struct server *srv, const char *data,
                                  size_t len);
typedef void (*server_fn)(struct server *srv);

struct server_spec {
    const char *name;             /* program name: the log tag is ulak/NAME */
    unsigned max_sessions;        /* sessions at once; 0: no limit */
    bool long_running;            /* max_idle and max_use do not apply */
    server_init_fn pre_jail;      /* may be NULL; -1 + WHY: fatal */
    server_init_fn post_jail;     /* may be NULL; -1 + WHY: fatal */
    server_accept_fn on_accept;   /* stream servers */
    server_trigger_fn on_trigger; /* trigger servers (instead) */
    server_fn on_drain;           /* may be NULL */
    server_fn on_exit;            /* may be NULL: the loop has ended; free the
                        * daemon's own events (the loop goes next) */
};

/* server_run - run the daemon; returns the process exit status. */
int server_run(const struct server_spec *spec, int argc, char **argv);

/* server_session_begin - a session that the daemon starts itself (a qmgr
 * delivery): like an accepted one, it keeps a draining process alive
 * until its server_session_done. */
void server_session_begin(struct server *srv);
/* server_session_done - a session handed over by on_accept (or begun
 * with server_session_begin) has ended. */
void server_session_done(struct server *srv);
/* server_loop - the process's event loop (borrowed). */
struct loop *server_loop(struct server *srv);
/* server_service / server_type - the -n and -t values ("" when absent). */
const char *server_service(const struct server *srv);
const char *server_type(const struct server *srv);
/* server_args - the daemon's own arguments (borrowed). */
const struct argv *server_args(const struct server *srv);
/* server_draining - SIGTERM or master gone: start no new work. */
bool server_draining(const struct server *srv);
/* server_sessions - sessions in progress. */
unsigned server_sessions(const struct server *srv);
/* server_standalone - started with -S: one connection on standard input,
 * no master. */
bool server_standalone(const struct server *srv);
/* server_privileged - the process started as root (before any drop): the
 * instance is privileged, and user= settings apply. */
bool server_privileged(const struct server *srv);
/* server_set_context / server_context - one pointer for the daemon. */
void server_set_context(struct server *srv, void *ctx);
void *server_context(const struct server *srv);
/* server_stop - leave the loop now (server_run returns STATUS). */
void server_stop(struct server *srv, int status);

#endif
