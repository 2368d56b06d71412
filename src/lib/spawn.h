/*
 * spawn - the only place that forks and executes a program.
 *
 * A request names the program by absolute path and gives its argument
 * vector and its whole environment (nothing is inherited: the caller builds
 * a clean one).  Nothing goes through a shell.  In the child, in this
 * order: the signal mask is emptied and every signal reset to its default;
 * the descriptors in fds[] become 0, 1, 2, 3, ... (-1: /dev/null); every
 * other descriptor is closed; setsid() when asked; chdir when asked; the
 * credentials are dropped (priv_drop) when asked; then execve().
 *
 * A failure in the child before execve reaches the parent through a
 * close-on-exec pipe, so spawn_start() returns -1 with the reason
 * ("execve /bin/nope: No such file or directory") instead of a child that
 * exits 127 later.
 *
 * Ownership: the request is borrowed for the call; fds[] stay open in the
 * parent (the caller closes its copies).
 */
#ifndef ULAK_SPAWN_H
#define ULAK_SPAWN_H

#include <sys/types.h>

#include "buf.h"

struct spawn_req {
    const char *path;  /* absolute path of the program */
    char *const *argv; /* NULL-terminated; argv[0] as the program sees it */
    char *const *envp; /* NULL-terminated; NULL: an empty environment */
    const int *fds;    /* fds[i] becomes descriptor i; -1: /dev/null */
    size_t nfds;       /* 0: stdin, stdout and stderr on /dev/null */
    bool setsid;       /* new session (and process group) */
    const char *chdir; /* NULL: stay */
    bool drop;         /* priv_drop(uid, gid) before execve */
    uid_t uid;
    gid_t gid;
};

/* spawn_start - start the program of REQ; its pid, or -1 with WHY. */
pid_t spawn_start(const struct spawn_req *req, struct buf *why);
/* spawn_status_text - "exit status N" / "killed by signal N" for a wait
 * status, appended to OUT. */
void spawn_status_text(int status, struct buf *out);
/* spawn_env_clean - a new environment vector (owned by the caller) with
 * the variables NAMES (a list as in import_environment: "NAME" takes the
 * current value when set, "NAME=VALUE" sets it). */
struct argv *spawn_env_clean(const struct argv *names);
/* spawn_env_set - set NAME=VALUE in ENV, replacing an earlier NAME. */
void spawn_env_set(struct argv *env, const char *name, const char *value);

#endif
