#include "master_svc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/ipc.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/spawn.h"
#include "../lib/str.h"
#include "../global/ipc_msgs.h"
#include "../global/server.h"

#include "master.h"
#include "master_listen.h"

/* The first restart delay of an ALWAYS service, in milliseconds. */
#define MASTER_BACKOFF_MIN 1000

struct master_svc {
    char *name;
    char *type_name;
    enum master_type type;
    char *label;       /* "name/type" */
    char *endpoint;    /* "25", "private/policy": for messages */
    char *fingerprint; /* everything that makes processes differ */
    const struct master_prog *prog;
    struct argv *argv; /* the child's argument vector */
    long maxproc;      /* processes; 0: no limit */
    long limit;        /* the master.cf maxproc, for messages */
    long wakeup;       /* seconds, 0: none */
    bool wakeup_if_used;
    struct master_listen *lst;
    struct loop_ev *lev[SERVER_MAX_LISTEN];
    bool watching;
    int total;           /* processes */
    int avail;           /* of which available */
    bool used;           /* a process reported busy once */
    bool limit_warned;   /* since the last change of the counts */
    time_t limit_logged; /* the last warning, at most one a minute */
    bool throttled;
    long backoff_ms;
    struct loop_ev *throttle_ev;
    struct loop_ev *restart_ev;
    struct loop_ev *wakeup_ev;
    struct master_svc *next;
};

struct master_child {
    pid_t pid;
    struct master_svc *svc; /* NULL: its service was retired */
    int status_fd;
    struct ipc_reader rd;
    struct loop_ev *ev;
    bool avail;
    bool reported; /* sent at least one child_status */
    struct master_child *next;
};

static struct loop *loop;
static char *exe;
static bool keep_stderr;
static struct master_svc *services;
static struct master_child *children;
static struct master_svc_conf *conf;
static bool stopping;

static void svc_update(struct master_svc *s);

/* master_svc_init - module set-up */
void master_svc_init(struct loop *l, const char *path, bool stderr_too)
{
    loop = l;
    exe = mem_strdup(path);
    keep_stderr = stderr_too;
    stopping = false;
}

/* master_svc_conf_free - a snapshot */
void master_svc_conf_free(struct master_svc_conf *c)
{
    if (c == NULL)
        return;
    mem_free(c->config_dir);
    mem_free(c->queue_dir);
    argv_free(c->interfaces);
    argv_free(c->protocols);
    argv_free(c->env);
    argv_free(c->disable);
    mem_free(c->main_cf_text);
    mem_free(c);
}

/* child_free - forget a reaped child */
static void child_free(struct master_child *c)
{
    loop_ev_free(c->ev);
    if (c->status_fd >= 0) {
        close(c->status_fd);
        ipc_reader_fini(&c->rd);
    }
    mem_free(c);
}

/* svc_free - a service without children pointing to it */
static void svc_free(struct master_svc *s, bool unlink_path)
{
    for (int i = 0; i < SERVER_MAX_LISTEN; i++)
        loop_ev_free(s->lev[i]);
    loop_ev_free(s->throttle_ev);
    loop_ev_free(s->restart_ev);
    loop_ev_free(s->wakeup_ev);
    master_listen_close(s->lst, unlink_path);
    argv_free(s->argv);
    mem_free(s->name);
    mem_free(s->type_name);
    mem_free(s->label);
    mem_free(s->endpoint);
    mem_free(s->fingerprint);
    mem_free(s);
}

/* status_closed - stop reading a child's status socket */
static void status_closed(struct master_child *c)
{
    /* The process is exiting (or misbehaved); SIGCHLD does the rest. */
    loop_ev_free(c->ev);
    c->ev = NULL;
    close(c->status_fd);
    c->status_fd = -1;
    ipc_reader_fini(&c->rd);
}

/* child_state - a child's state changed (a report, or its end) */
static void child_state(struct master_child *c, int state)
{
    struct master_svc *s = c->svc;
    bool avail = state == IPC_CHILD_READY;

    if (state == IPC_CHILD_BUSY && s)
        s->used = true;
    if (avail != c->avail && s)
        s->avail += avail ? 1 : -1;
    c->avail = avail;
}

/* on_status - child_status frames, or the end of the socket */
static void on_status(int fd, int what, void *arg)
{
    struct master_child *c = arg;
    struct master_svc *s = c->svc;
    struct buf why = BUF_INIT;
    struct ipc_frame frame;
    struct ipc_child_status cs;
    enum ipc_read_result r;
    int passed = -1;

    (void) what;
    while ((r = ipc_reader_read(&c->rd, fd, &frame, &passed, &why))
           == IPC_READ_FRAME) {
        if (passed >= 0) {
            close(passed);
            passed = -1;
            buf_set(&why, "a descriptor came with a status message");
            r = IPC_READ_ERROR;
            break;
        }
        if (frame.type != ipc_child_status_desc.type) {
            buf_setf(&why, "unexpected message type %u", frame.type);
            r = IPC_READ_ERROR;
            break;
        }
        if (ipc_child_status_decode(&frame, &cs, &why) < 0) {
            r = IPC_READ_ERROR;
            break;
        }
        if (cs.pid != (int32_t) c->pid
            || (cs.state != IPC_CHILD_READY && cs.state != IPC_CHILD_BUSY
                && cs.state != IPC_CHILD_IDLE)) {
            buf_setf(&why, "bad status: pid %ld state %ld", (long) cs.pid,
                     (long) cs.state);
            ipc_child_status_fini(&cs);
            r = IPC_READ_ERROR;
            break;
        }
        c->reported = true;
        child_state(c, cs.state);
        ipc_child_status_fini(&cs);
    }
    if (r == IPC_READ_ERROR)
        msg_warn("process %s pid %ld: status channel: %s", exe, (long) c->pid,
                 buf_str(&why));
    /* The accounting of a process whose socket ends waits for its exit
     * (SIGCHLD): one that dies at startup must be seen as such. */
    if (r == IPC_READ_ERROR || r == IPC_READ_EOF)
        status_closed(c);
    buf_fini(&why);
    if (s && s->avail < 0)
        msg_panic("%s: negative available process count", s->label);
    if (s) {
        s->limit_warned = false;
        svc_update(s);
    }
}

/* throttle - stop starting processes for a while */
static void throttle(struct master_svc *s)
{
    s->throttled = true;
    loop_ev_arm(s->throttle_ev, conf->throttle_time * 1000);
}

/* start_child - one more process for S */
static void start_child(struct master_svc *s)
{
    struct buf why = BUF_INIT;
    struct master_child *c;
    int fds[4 + SERVER_MAX_LISTEN];
    int sv[2];
    pid_t pid;
    struct spawn_req req = {
        .path = exe,
        .argv = s->argv->argv,
        .envp = conf->env->argv,
        .fds = fds,
        /* Each child leads a process group, so that "abort" can end it
         * and whatever it started with one kill. */
        .setsid = true,
        .chdir = conf->queue_dir,
    };

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        msg_warn("%s: socketpair: %m", s->label);
        throttle(s);
        return;
    }
    fds[0] = fds[1] = -1;
    fds[2] = keep_stderr ? STDERR_FILENO : -1;
    fds[3] = sv[1];
    for (int i = 0; i < s->lst->n; i++)
        fds[SERVER_LISTEN_FD + i] = s->lst->fd[i];
    req.nfds = (size_t) (SERVER_LISTEN_FD + s->lst->n);
    pid = spawn_start(&req, &why);
    close(sv[1]);
    if (pid < 0) {
        msg_warn("%s: cannot start a process: %s", s->label, buf_str(&why));
        close(sv[0]);
        buf_fini(&why);
        throttle(s);
        return;
    }
    buf_fini(&why);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    c = mem_zalloc(sizeof(*c));
    c->pid = pid;
    c->svc = s;
    c->status_fd = sv[0];
    ipc_reader_init(&c->rd);
    /* Counted available until it says otherwise, so that one pending
     * connection does not start a crowd (Postfix does the same). */
    c->avail = true;
    c->ev = loop_read(loop, sv[0], on_status, c);
    loop_ev_arm(c->ev, -1);
    c->next = children;
    children = c;
    s->total++;
    s->avail++;
    msg_debug(1, "%s: started process %ld", s->label, (long) pid);
}

/* can_start - below the process limit and not throttled */
static bool can_start(const struct master_svc *s)
{
    return !stopping && !s->throttled
           && (s->maxproc == 0 || s->total < s->maxproc);
}

/* on_listen - a client waits and no process is available */
static void on_listen(int fd, int what, void *arg)
{
    struct master_svc *s = arg;

    (void) fd;
    (void) what;
    if (s->avail == 0 && can_start(s)) {
        start_child(s);
    } else if (s->avail == 0 && !s->limit_warned && s->maxproc > 0
               && s->total >= s->maxproc) {
        /* Postfix's words, at most once a minute. */
        if (time(NULL) - s->limit_logged >= 60) {
            msg_warn("service \"%s\" (%s) has reached its process limit "
                     "\"%ld\": new clients may experience noticeable delays",
                     s->name, s->endpoint, s->limit);
            s->limit_logged = time(NULL);
        }
        s->limit_warned = true;
    }
    svc_update(s);
}

/* set_watch - watch the listeners (on demand) or not */
static void set_watch(struct master_svc *s, bool on)
{
    if (s->watching == on)
        return;
    s->watching = on;
    for (int i = 0; i < s->lst->n; i++) {
        if (on)
            loop_ev_arm(s->lev[i], -1);
        else
            loop_ev_disarm(s->lev[i]);
    }
}

/* svc_update - start what is needed, watch what must be watched */
static void svc_update(struct master_svc *s)
{
    if (s->prog->flags & MASTER_PROG_ALWAYS) {
        long want = s->maxproc > 0 ? s->maxproc : 1;

        set_watch(s, false);
        while (s->total < want && can_start(s) && !loop_ev_armed(s->restart_ev)
               && !s->throttled) {
            int before = s->total;

            start_child(s);
            if (s->total == before)
                break;
        }
        return;
    }
    /* At the limit, watch once more to warn about waiting clients. */
    set_watch(s, s->avail == 0 && !stopping && !s->throttled
                     && (can_start(s) || !s->limit_warned));
}

/* on_unthrottle - the throttle time is over */
static void on_unthrottle(int fd, int what, void *arg)
{
    struct master_svc *s = arg;

    (void) fd;
    (void) what;
    s->throttled = false;
    svc_update(s);
}

/* on_restart - an ALWAYS service's back-off is over */
static void on_restart(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    svc_update(arg);
}

/* on_wakeup - poke the service through its own listener */
static void on_wakeup(int fd, int what, void *arg)
{
    struct master_svc *s = arg;
    int sock = -1;
    ssize_t n ULAK_UNUSED;

    (void) fd;
    (void) what;
    loop_ev_arm(s->wakeup_ev, s->wakeup * 1000);
    if (stopping || s->throttled || (s->wakeup_if_used && !s->used)
        || s->lst->path == NULL)
        return;
    if (s->type == MASTER_TYPE_FIFO) {
        sock = open(s->lst->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    } else if (s->type == MASTER_TYPE_UNIX || s->type == MASTER_TYPE_PASS) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};

        memcpy(sun.sun_path, s->lst->path, strlen(s->lst->path) + 1);
        sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (sock >= 0
            && connect(sock, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
            close(sock);
            sock = -1;
        }
    }
    if (sock < 0) {
        msg_warn("%s: wakeup: %m", s->label);
        return;
    }
    n = write(sock, "W", 1);
    close(sock);
}

/* fingerprint - what a reload compares */
static void fingerprint(const struct master_ent *e, const char *key,
                        struct buf *out)
{
    buf_setf(out, "%s|%s|%s|%s|%s|%s|%s", e->type_name, e->private_, e->unpriv,
             e->chroot, e->wakeup, e->maxproc, key);
    for (size_t i = 0; i < e->command->argc; i++)
        buf_catf(out, "\x1f%s", e->command->argv[i]);
}

/* svc_new - a service from E, not yet listening; NULL when the master
 * runs nothing for it */
static struct master_svc *svc_new(const struct master_ent *e,
                                  const struct master_svc_conf *c,
                                  const char *key)
{
    const struct master_prog *p;
    struct master_svc *s;
    struct buf b = BUF_INIT;

    if (e->command->argc == 0
        || (p = master_prog_find(e->command->argv[0])) == NULL
        || p->kind != MASTER_PROG_RUN)
        return NULL;
    s = mem_zalloc(sizeof(*s));
    s->name = mem_strdup(e->service);
    s->type_name = mem_strdup(e->type_name);
    s->type = e->type;
    buf_setf(&b, "%s/%s", e->service, e->type_name);
    s->label = buf_steal(&b);
    if (e->type == MASTER_TYPE_INET)
        buf_set(&b, e->service);
    else
        buf_setf(&b, "%s/%s", master_ent_private(e) ? "private" : "public",
                 e->service);
    s->endpoint = buf_steal(&b);
    fingerprint(e, key, &b);
    s->fingerprint = buf_steal(&b);
    s->prog = p;
    s->maxproc = master_ent_maxproc(e, c->default_limit);
    s->limit = s->maxproc;
    s->wakeup = master_ent_wakeup(e, &s->wakeup_if_used);
    s->argv = argv_new();
    argv_add(s->argv, exe);
    argv_add(s->argv, "--daemon");
    argv_add(s->argv, p->name);
    argv_add(s->argv, "-c");
    argv_add(s->argv, c->config_dir);
    argv_add(s->argv, "-n");
    argv_add(s->argv, e->service);
    argv_add(s->argv, "-t");
    argv_add(s->argv, e->type_name);
    argv_add(s->argv, "-s");
    argv_add(s->argv, "1"); /* fixed once the listeners are open */
    if (p->flags & MASTER_PROG_MULTI) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        long procs = cores > 0 ? cores : 1;
        char share[32];

        if (s->maxproc > 0 && s->maxproc < procs)
            procs = s->maxproc;
        argv_add(s->argv, "-l");
        str_fmt(share, sizeof(share), "%ld",
                s->maxproc > 0 ? (s->maxproc + procs - 1) / procs : 0);
        argv_add(s->argv, share);
        s->maxproc = procs;
    }
    if (master_ent_unpriv(e))
        argv_add(s->argv, "-u");
    if (master_ent_chroot(e))
        argv_add(s->argv, "-j");
    for (size_t i = 1; i < e->command->argc; i++)
        argv_add(s->argv, e->command->argv[i]);
    s->backoff_ms = MASTER_BACKOFF_MIN;
    buf_fini(&b);
    return s;
}

/* svc_attach - give S its listeners and events */
static void svc_attach(struct master_svc *s, struct master_listen *l)
{
    char count[16];

    s->lst = l;
    /* The count after "-s" is argv[10]: see svc_new. */
    str_fmt(count, sizeof(count), "%d", l->n);
    mem_free(s->argv->argv[10]);
    s->argv->argv[10] = mem_strdup(count);
    for (int i = 0; i < l->n; i++)
        s->lev[i] = loop_read(loop, l->fd[i], on_listen, s);
    s->throttle_ev = loop_timer(loop, on_unthrottle, s);
    s->restart_ev = loop_timer(loop, on_restart, s);
    if (s->wakeup > 0 && l->path) {
        s->wakeup_ev = loop_timer(loop, on_wakeup, s);
        loop_ev_arm(s->wakeup_ev, s->wakeup * 1000);
    }
}

/* find_svc - the service LABEL in LIST */
static struct master_svc *find_svc(struct master_svc *list, const char *label)
{
    for (struct master_svc *s = list; s; s = s->next)
        if (strcmp(s->label, label) == 0)
            return s;
    return NULL;
}

/* disabled - $master_service_disable names E by its type or name/type */
static bool disabled(const struct master_ent *e, const struct argv *list)
{
    size_t len = strlen(e->service);

    for (size_t i = 0; list && i < list->argc; i++) {
        const char *d = list->argv[i];

        if (strcmp(d, e->type_name) == 0
            || (strncmp(d, e->service, len) == 0 && d[len] == '/'
                && strcmp(d + len + 1, e->type_name) == 0))
            return true;
    }
    return false;
}

/* build - the new service list of CF; listeners reused from OLD (by key)
 * or opened.  NULL with WHY when one cannot be opened; *OK tells success
 * apart from an empty list. */
static struct master_svc *build(const struct master_cf *cf,
                                const struct master_svc_conf *c,
                                struct master_svc *old, bool *ok,
                                struct buf *why)
{
    struct master_listen_conf lc = {c->queue_dir, c->interfaces, c->protocols};
    struct master_svc *list = NULL;
    struct master_svc **tail = &list;
    struct buf key = BUF_INIT;

    *ok = true;
    for (const struct master_ent *e = cf->head; e && *ok; e = e->next) {
        struct master_svc *s;
        struct master_svc *prev;
        struct master_listen *l = NULL;

        if (master_cf_find(cf, e->service, e->type_name) != e
            || disabled(e, c->disable))
            continue;
        if (master_listen_key(e, &lc, &key, why) < 0) {
            const struct master_prog *p =
                e->command->argc ? master_prog_find(e->command->argv[0]) : NULL;

            if (p && p->kind == MASTER_PROG_RUN) {
                buf_catf(why, " (service %s/%s)", e->service, e->type_name);
                *ok = false;
            }
            continue;
        }
        if ((s = svc_new(e, c, buf_str(&key))) == NULL)
            continue;
        prev = find_svc(old, s->label);
        if (prev && prev->lst && strcmp(prev->lst->key, buf_str(&key)) == 0) {
            /* Same endpoints: keep the descriptors (moved at commit). */
            l = NULL;
        } else if ((l = master_listen_open(e, &lc, why)) == NULL) {
            buf_catf(why, " (service %s/%s)", e->service, e->type_name);
            svc_free(s, false);
            *ok = false;
            continue;
        }
        s->lst = l; /* NULL: take over from PREV */
        *tail = s;
        tail = &s->next;
    }
    buf_fini(&key);
    if (!*ok) {
        while (list) {
            struct master_svc *next = list->next;

            svc_free(list, true);
            list = next;
        }
    }
    return list;
}

/* retire - old processes of S finish their work and exit */
static void retire(struct master_svc *s)
{
    for (struct master_child *c = children; c; c = c->next) {
        if (c->svc != s)
            continue;
        c->svc = NULL;
        kill(c->pid, SIGTERM);
    }
}

/* commit - NEW becomes the running set */
static void commit(struct master_svc *fresh, bool main_cf_changed)
{
    struct master_svc *old = services;
    struct master_svc *list = NULL;
    struct master_svc **tail = &list;

    while (fresh) {
        struct master_svc *s = fresh;
        struct master_svc *prev = find_svc(old, s->label);

        fresh = s->next;
        s->next = NULL;
        if (prev && !main_cf_changed
            && strcmp(prev->fingerprint, s->fingerprint) == 0) {
            /* Unchanged: the running service stays as it is. */
            struct master_svc **pp = &old;

            while (*pp != prev)
                pp = &(*pp)->next;
            *pp = prev->next;
            prev->next = NULL;
            svc_free(s, false);
            s = prev;
        } else {
            struct master_listen *l = s->lst;

            if (l == NULL) {
                /* The endpoints did not change: move the listeners. */
                l = prev->lst;
                prev->lst = NULL;
                for (int i = 0; i < SERVER_MAX_LISTEN; i++) {
                    loop_ev_free(prev->lev[i]);
                    prev->lev[i] = NULL;
                }
            }
            s->lst = NULL;
            svc_attach(s, l);
            if (prev)
                msg_info("%s: configuration changed, restarting", s->label);
        }
        *tail = s;
        tail = &s->next;
    }
    /* What is left of OLD was removed or replaced. */
    while (old) {
        struct master_svc *next = old->next;
        bool still_there = false;

        for (struct master_svc *s = list; s && old->lst; s = s->next)
            still_there |= s->lst->path && old->lst->path
                           && strcmp(s->lst->path, old->lst->path) == 0;
        retire(old);
        svc_free(old, !still_there);
        old = next;
    }
    services = list;
    for (struct master_svc *s = services; s; s = s->next)
        svc_update(s);
}

/* master_svc_start - the first set */
int master_svc_start(const struct master_cf *cf, struct master_svc_conf *c,
                     struct buf *why)
{
    struct master_svc *list;
    bool ok;

    conf = c;
    list = build(cf, c, NULL, &ok, why);
    if (!ok)
        return -1;
    commit(list, false);
    return 0;
}

/* master_svc_reload - a new set, or none when it cannot be built */
int master_svc_reload(const struct master_cf *cf, struct master_svc_conf *c,
                      struct buf *why)
{
    struct master_svc_conf *prev = conf;
    struct master_svc *list;
    bool changed;
    bool ok;

    list = build(cf, c, services, &ok, why);
    if (!ok) {
        master_svc_conf_free(c);
        return -1;
    }
    changed = strcmp(prev->main_cf_text, c->main_cf_text) != 0
              || strcmp(prev->queue_dir, c->queue_dir) != 0;
    conf = c;
    commit(list, changed);
    master_svc_conf_free(prev);
    return 0;
}

/* master_svc_reap - SIGCHLD */
void master_svc_reap(void)
{
    struct buf text = BUF_INIT;
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct master_child **pp = &children;
        struct master_child *c;
        struct master_svc *s;
        bool bad = !WIFEXITED(status) || WEXITSTATUS(status) != 0;

        while (*pp && (*pp)->pid != pid)
            pp = &(*pp)->next;
        if ((c = *pp) == NULL)
            continue;
        *pp = c->next;
        if (bad && !stopping) {
            buf_reset(&text);
            spawn_status_text(status, &text);
            msg_warn("process %s pid %ld %s", exe, (long) pid, buf_str(&text));
        }
        if ((s = c->svc) != NULL) {
            s->limit_warned = false;
            s->total--;
            if (c->avail)
                s->avail--;
            if (bad && !stopping && !c->reported && !s->throttled) {
                msg_warn("%s: bad command startup -- throttling", s->name);
                throttle(s);
            } else if ((s->prog->flags & MASTER_PROG_ALWAYS) && !stopping) {
                /* Even a clean exit waits a little: a daemon that keeps
                 * exiting at once must not become a tight loop. */
                if (!bad)
                    s->backoff_ms = MASTER_BACKOFF_MIN;
                loop_ev_arm(s->restart_ev, s->backoff_ms);
                if (bad && (s->backoff_ms *= 2) > conf->throttle_time * 1000)
                    s->backoff_ms = conf->throttle_time * 1000;
            }
            svc_update(s);
        }
        child_free(c);
    }
    buf_fini(&text);
}

/* master_svc_stop - listeners closed, children signalled */
void master_svc_stop(int sig)
{
    stopping = true;
    for (struct master_svc *s = services; s; s = s->next) {
        set_watch(s, false);
        loop_ev_disarm(s->wakeup_ev);
        loop_ev_disarm(s->restart_ev);
    }
    for (struct master_child *c = children; c; c = c->next)
        kill(sig == SIGKILL ? -c->pid : c->pid, sig);
}

/* master_svc_children - how many are left */
int master_svc_children(void)
{
    int n = 0;

    for (struct master_child *c = children; c; c = c->next)
        n++;
    return n;
}

/* master_svc_fini - free it all */
void master_svc_fini(void)
{
    while (children) {
        struct master_child *c = children;

        children = c->next;
        child_free(c);
    }
    while (services) {
        struct master_svc *s = services;

        services = s->next;
        svc_free(s, false);
    }
    master_svc_conf_free(conf);
    conf = NULL;
    mem_free(exe);
    exe = NULL;
}
