#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argv.h"
#include "mem.h"
#include "priv.h"

/* The largest descriptor number a request may map. */
#define SPAWN_MAX_FDS 64

/* report - tell the parent why the child failed, then exit */
static ULAK_NORETURN void report(int pipe_fd, struct buf *why)
{
    ssize_t n ULAK_UNUSED;

    n = write(pipe_fd, buf_str(why), buf_len(why));
    _exit(127);
}

/* move_fds - install the request's descriptors as 0..nfds-1 */
static int move_fds(const struct spawn_req *req, int *pipe_p, struct buf *why)
{
    int pipe_fd = *pipe_p;
    int high[SPAWN_MAX_FDS];
    int base = (int) req->nfds + 3 > 16 ? (int) req->nfds + 3 : 16;

    /* First copy everything above the target range (and above the error
     * pipe), so that no dup2 overwrites a source still needed. */
    if (pipe_fd < base) {
        int p = fcntl(pipe_fd, F_DUPFD_CLOEXEC, base);

        if (p < 0) {
            buf_setf(why, "dup: %m");
            return -1;
        }
        *pipe_p = pipe_fd = p;
    }
    for (size_t i = 0; i < req->nfds; i++) {
        int src = req->fds[i];

        if (src < 0 && (src = open("/dev/null", O_RDWR)) < 0) {
            buf_setf(why, "open /dev/null: %m");
            return -1;
        }
        if ((high[i] = fcntl(src, F_DUPFD, base)) < 0) {
            buf_setf(why, "dup: %m");
            return -1;
        }
    }
    for (size_t i = 0; i < req->nfds; i++) {
        if (dup2(high[i], (int) i) < 0) {
            buf_setf(why, "dup2: %m");
            return -1;
        }
    }
    /* Close all others but the error pipe (close-on-exec). */
    if (pipe_fd > (int) req->nfds)
        close_range((unsigned) req->nfds, (unsigned) pipe_fd - 1, 0);
    close_range((unsigned) pipe_fd + 1, ~0U, 0);
    return 0;
}

/* child - everything between fork and execve */
static ULAK_NORETURN void child(const struct spawn_req *req, int pipe_fd)
{
    static char *const empty[] = {NULL};
    struct buf why = BUF_INIT;
    sigset_t none;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    if (req->nfds == 0) {
        static const int devnull[3] = {-1, -1, -1};
        struct spawn_req copy = *req;

        copy.fds = devnull;
        copy.nfds = 3;
        if (move_fds(&copy, &pipe_fd, &why) < 0)
            report(pipe_fd, &why);
    } else if (move_fds(req, &pipe_fd, &why) < 0) {
        report(pipe_fd, &why);
    }
    if (req->setsid && setsid() < 0) {
        buf_setf(&why, "setsid: %m");
        report(pipe_fd, &why);
    }
    if (req->chdir && chdir(req->chdir) < 0) {
        buf_setf(&why, "chdir %s: %m", req->chdir);
        report(pipe_fd, &why);
    }
    if (req->drop && priv_drop(req->uid, req->gid, &why) < 0)
        report(pipe_fd, &why);
    execve(req->path, req->argv, req->envp ? req->envp : empty);
    buf_setf(&why, "execve %s: %m", req->path);
    report(pipe_fd, &why);
}

/* spawn_start - fork, set up the child, and learn whether execve worked */
pid_t spawn_start(const struct spawn_req *req, struct buf *why)
{
    int pipe_fds[2];
    char text[512];
    ssize_t n;
    pid_t pid;
    int status;

    if (req->path == NULL || req->path[0] != '/') {
        buf_setf(why, "spawn: program path is not absolute: %s",
                 req->path ? req->path : "(none)");
        return -1;
    }
    if (req->nfds > SPAWN_MAX_FDS) {
        buf_setf(why, "spawn: too many descriptors (%zu)", req->nfds);
        return -1;
    }
    if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
        buf_setf(why, "pipe: %m");
        return -1;
    }
    if ((pid = fork()) < 0) {
        buf_setf(why, "fork: %m");
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(pipe_fds[0]);
        child(req, pipe_fds[1]);
    }
    close(pipe_fds[1]);
    do {
        n = read(pipe_fds[0], text, sizeof(text) - 1);
    } while (n < 0 && errno == EINTR);
    close(pipe_fds[0]);
    if (n <= 0)
        return pid; /* the pipe closed at execve: the program runs */
    text[n] = 0;
    buf_set(why, text);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;
    return -1;
}

/* spawn_status_text - a wait status in Postfix's words */
void spawn_status_text(int status, struct buf *out)
{
    if (WIFEXITED(status))
        buf_catf(out, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        buf_catf(out, "killed by signal %d", WTERMSIG(status));
    else
        buf_catf(out, "wait status 0x%x", (unsigned) status);
}

/* spawn_env_set - replace or add NAME=VALUE */
void spawn_env_set(struct argv *env, const char *name, const char *value)
{
    size_t len = strlen(name);
    struct buf b = BUF_INIT;

    buf_setf(&b, "%s=%s", name, value);
    for (size_t i = 0; i < env->argc; i++) {
        if (strncmp(env->argv[i], name, len) == 0 && env->argv[i][len] == '=') {
            mem_free(env->argv[i]);
            env->argv[i] = buf_steal(&b);
            return;
        }
    }
    argv_add(env, buf_str(&b));
    buf_fini(&b);
}

/* spawn_env_clean - the listed variables only */
struct argv *spawn_env_clean(const struct argv *names)
{
    struct argv *env = argv_new();

    for (size_t i = 0; names && i < names->argc; i++) {
        const char *item = names->argv[i];
        const char *eq = strchr(item, '=');

        if (eq) {
            char *name = mem_strndup(item, (size_t) (eq - item));

            if (*name)
                spawn_env_set(env, name, eq + 1);
            mem_free(name);
        } else {
            const char *value = getenv(item);

            if (value)
                spawn_env_set(env, item, value);
        }
    }
    return env;
}
