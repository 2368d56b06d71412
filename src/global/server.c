#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/ipc.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/priv.h"
#include "../lib/str.h"

#include "conf.h"
#include "ipc_msgs.h"
#include "mail_log.h"

enum listen_kind {
    LISTEN_STREAM,
    LISTEN_DGRAM,
    LISTEN_FIFO,
};

struct server {
    const struct server_spec *spec;
    struct loop *loop;
    unsigned max_sessions; /* -l: the master's share; 0: the spec's */
    char *service;
    char *type;
    struct argv *args;
    int nlisten;
    int lfd[SERVER_MAX_LISTEN];
    enum listen_kind lkind[SERVER_MAX_LISTEN];
    struct loop_ev *lev[SERVER_MAX_LISTEN];
    bool listening;
    int status_fd; /* -1: stand-alone */
    struct loop_ev *status_ev;
    struct loop_ev *sig_term;
    struct loop_ev *idle;
    unsigned sessions;
    long used;
    long max_use;
    long max_idle;
    bool draining;
    bool privileged;
    bool standalone;
    int last_status; /* enum ipc_child_state, 0 before the first */
    int exit_status;
    void *ctx;
};

/* A stream trigger being read. */
struct trigger {
    struct server *srv;
    int fd;
    struct loop_ev *ev;
    struct buf data;
};

static void update(struct server *srv);

/* send_status - a child_status frame to the master, when it changed */
static void send_status(struct server *srv, enum ipc_child_state state)
{
    struct ipc_child_status cs = {.pid = (int32_t) getpid(),
                                  .state = (int32_t) state};
    struct buf frame = BUF_INIT;
    struct buf why = BUF_INIT;

    if (srv->status_fd < 0 || srv->last_status == (int) state)
        return;
    srv->last_status = (int) state;
    if (ipc_child_status_encode(&cs, 0, &frame, &why) < 0)
        msg_panic("child_status: %s", buf_str(&why));
    /* A few dozen bytes on an idle stream socket: one write.  A master
     * that is gone shows up as end of file on the read side. */
    if (ipc_send(srv->status_fd, span_make(buf_str(&frame), buf_len(&frame)),
                 -1, 1000, &why)
        < 0)
        msg_warn("status to the master: %s", buf_str(&why));
    buf_fini(&frame);
    buf_fini(&why);
}

/* finish - leave the loop with STATUS */
static void finish(struct server *srv, int status)
{
    srv->exit_status = status;
    loop_stop(srv->loop);
}

/* trigger_read - collect a stream trigger until EOF, then deliver it */
static void trigger_read(int fd, int what, void *arg)
{
    struct trigger *t = arg;
    char chunk[256];
    ssize_t n = 0;
    bool done = (what & LOOP_TIMEOUT) != 0;

    if (!done) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n > 0 && buf_len(&t->data) + (size_t) n <= SERVER_TRIGGER_MAX)
            buf_catn(&t->data, chunk, (size_t) n);
        done = n <= 0 || buf_len(&t->data) >= SERVER_TRIGGER_MAX;
    }
    if (!done)
        return;
    loop_ev_free(t->ev);
    close(t->fd);
    if (buf_len(&t->data) > 0 && !t->srv->draining)
        t->srv->spec->on_trigger(t->srv, buf_str(&t->data), buf_len(&t->data));
    buf_fini(&t->data);
    t->srv->sessions--;
    update(t->srv);
    mem_free(t);
}

/* on_listen - a listener is ready: accept a session or read a trigger */
static void on_listen(int fd, int what, void *arg)
{
    struct server *srv = arg;
    char data[SERVER_TRIGGER_MAX];
    enum listen_kind kind = LISTEN_STREAM;
    ssize_t n;
    int conn;

    (void) what;
    for (int i = 0; i < srv->nlisten; i++)
        if (srv->lfd[i] == fd)
            kind = srv->lkind[i];
    if (!srv->listening)
        return;
    if (kind != LISTEN_STREAM) {
        n = kind == LISTEN_FIFO ? read(fd, data, sizeof(data))
                                : recv(fd, data, sizeof(data), 0);
        if (n > 0 && srv->spec->on_trigger) {
            srv->used++;
            srv->spec->on_trigger(srv, data, (size_t) n);
            update(srv);
        }
        return;
    }
    conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (conn < 0) {
        /* Another process took it, or the client gave up: not ours. */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED
            && errno != EINTR)
            msg_warn("accept on %s: %m", srv->service);
        return;
    }
    srv->used++;
    srv->sessions++;
    if (srv->spec->on_trigger) {
        struct trigger *t = mem_zalloc(sizeof(*t));

        t->srv = srv;
        t->fd = conn;
        buf_init(&t->data, SERVER_TRIGGER_MAX);
        t->ev = loop_read(srv->loop, conn, trigger_read, t);
        loop_ev_arm(t->ev, 10 * 1000);
    } else {
        srv->spec->on_accept(srv, conn);
    }
    update(srv);
}

/* set_listening - watch the listeners or not */
static void set_listening(struct server *srv, bool on)
{
    if (srv->listening == on)
        return;
    srv->listening = on;
    for (int i = 0; i < srv->nlisten; i++) {
        if (srv->lev[i] == NULL)
            continue;
        if (on)
            loop_ev_arm(srv->lev[i], -1);
        else
            loop_ev_disarm(srv->lev[i]);
    }
}

/* on_idle - nothing to do for max_idle seconds */
static void on_idle(int fd, int what, void *arg)
{
    struct server *srv = arg;

    (void) fd;
    (void) what;
    msg_debug(1, "idle timeout -- exiting");
    send_status(srv, IPC_CHILD_IDLE);
    finish(srv, 0);
}

/* update - listening, status and exit after every change */
static void update(struct server *srv)
{
    const struct server_spec *spec = srv->spec;
    unsigned max = srv->max_sessions ? srv->max_sessions : spec->max_sessions;
    bool full = max && srv->sessions >= max;
    /* max_use counts clients of a one-at-a-time process; one that holds
     * MAX sessions at once serves MAX times as many before it retires,
     * and one without a session limit does not retire. */
    long uses = max > 0            ? srv->max_use * (long) max
                : spec->on_trigger ? srv->max_use
                                   : 0;
    bool used_up = !spec->long_running && uses > 0 && srv->used >= uses;

    if (srv->standalone) {
        if (srv->sessions == 0)
            finish(srv, 0);
        return;
    }
    if (srv->draining || used_up) {
        set_listening(srv, false);
        if (srv->sessions == 0) {
            if (used_up && !srv->draining)
                send_status(srv, IPC_CHILD_IDLE);
            finish(srv, 0);
            return;
        }
        send_status(srv, IPC_CHILD_BUSY);
    } else {
        set_listening(srv, !full);
        send_status(srv, full ? IPC_CHILD_BUSY : IPC_CHILD_READY);
    }
    if (srv->idle) {
        if (srv->sessions == 0 && !srv->draining)
            loop_ev_arm(srv->idle, srv->max_idle * 1000);
        else
            loop_ev_disarm(srv->idle);
    }
}

/* drain - stop taking work; exit when the sessions are over */
static void drain(struct server *srv)
{
    if (srv->draining)
        return;
    srv->draining = true;
    set_listening(srv, false);
    for (int i = 0; i < srv->nlisten; i++) {
        loop_ev_free(srv->lev[i]);
        srv->lev[i] = NULL;
        close(srv->lfd[i]);
    }
    srv->nlisten = 0;
    if (srv->spec->on_drain)
        srv->spec->on_drain(srv);
    update(srv);
}

/* on_term - SIGTERM: drain */
static void on_term(int sig, int what, void *arg)
{
    (void) sig;
    (void) what;
    drain(arg);
}

/* on_status - the master wrote or went away */
static void on_status(int fd, int what, void *arg)
{
    struct server *srv = arg;
    char junk[64];
    ssize_t n;

    (void) what;
    n = read(fd, junk, sizeof(junk));
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return;
    loop_ev_free(srv->status_ev);
    srv->status_ev = NULL;
    close(srv->status_fd);
    srv->status_fd = -1;
    msg_debug(1, "master went away -- draining");
    drain(srv);
}

/* check_fds - the descriptors the master passes are open and usable */
static void check_fds(struct server *srv, long count)
{
    struct stat st;

    if (fstat(SERVER_STATUS_FD, &st) < 0 || !S_ISSOCK(st.st_mode))
        msg_fatal("%s: descriptor %d is not the master's status socket: "
                  "this program is started by the ulak master (or use -S)",
                  srv->spec->name, SERVER_STATUS_FD);
    srv->status_fd = SERVER_STATUS_FD;
    fcntl(srv->status_fd, F_SETFD, FD_CLOEXEC);
    fcntl(srv->status_fd, F_SETFL, O_NONBLOCK);
    if (count < 0 || count > SERVER_MAX_LISTEN)
        msg_fatal("-s %ld: between 0 and %d listeners", count,
                  SERVER_MAX_LISTEN);
    for (long i = 0; i < count; i++) {
        int fd = SERVER_LISTEN_FD + (int) i;
        int type = 0;
        socklen_t len = sizeof(type);

        if (fstat(fd, &st) < 0)
            msg_fatal("listener descriptor %d: %m", fd);
        if (S_ISFIFO(st.st_mode)) {
            srv->lkind[i] = LISTEN_FIFO;
        } else if (S_ISSOCK(st.st_mode)
                   && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
            srv->lkind[i] = type == SOCK_DGRAM ? LISTEN_DGRAM : LISTEN_STREAM;
        } else {
            msg_fatal("listener descriptor %d is not a socket or fifo", fd);
        }
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        srv->lfd[i] = fd;
    }
    srv->nlisten = (int) count;
}

/* jail - chroot and privilege drop as the master.cf columns say */
static void jail(struct server *srv, bool chroot_it, bool drop)
{
    struct buf why = BUF_INIT;
    const char *owner = conf_str("mail_owner");
    uid_t uid;
    gid_t gid;

    if (!srv->privileged)
        return; /* an unprivileged instance: one user for everything */
    if (drop) {
        if (priv_lookup(owner, &uid, &gid, &why) < 0)
            msg_fatal("mail_owner: %s", buf_str(&why));
        if (uid == 0)
            msg_fatal("mail_owner: user %s has uid 0; set mail_owner to an "
                      "unprivileged account",
                      owner);
    }
    if (chroot_it && priv_chroot(conf_str("queue_directory"), &why) < 0)
        msg_fatal("%s", buf_str(&why));
    if (drop && priv_drop(uid, gid, &why) < 0)
        msg_fatal("privilege drop: %s", buf_str(&why));
    buf_fini(&why);
}

/* raise_fd_limit - a process with many sessions needs a descriptor or
 * two for each: the soft limit goes up towards the hard one */
static void raise_fd_limit(unsigned sessions)
{
    struct rlimit rl;
    rlim_t want = sessions ? (rlim_t) sessions * 2 + 64 : 65536;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        msg_warn("cannot raise the open file limit to %lu: %m",
                 (unsigned long) rl.rlim_cur);
}

/* server_run - options, config, descriptors, jail, loop */
int server_run(const struct server_spec *spec, int argc, char **argv)
{
    struct server *srv = mem_zalloc(sizeof(*srv));
    struct argv *overrides = argv_new();
    struct buf why = BUF_INIT;
    bool chroot_it = false;
    bool drop = false;
    bool bad_conf;
    long count = 0;
    int status;
    int ch;

    msg_init(spec->name);
    if ((spec->on_accept == NULL) == (spec->on_trigger == NULL))
        msg_panic("server_run: %s: give on_accept or on_trigger, not both",
                  spec->name);
    srv->spec = spec;
    srv->status_fd = -1;
    srv->service = mem_strdup("");
    srv->type = mem_strdup("");
    srv->privileged = geteuid() == 0;
    optind = 1;
    while ((ch = getopt(argc, argv, "+c:n:t:s:l:o:ujvDS")) != -1) {
        switch (ch) {
            case 'c':
                conf_set_dir(optarg);
                break;
            case 'n':
                mem_free(srv->service);
                srv->service = mem_strdup(optarg);
                break;
            case 't':
                mem_free(srv->type);
                srv->type = mem_strdup(optarg);
                break;
            case 's':
                if (str_to_long(optarg, &count) < 0)
                    msg_fatal("-s %s: not a number", optarg);
                break;
            case 'l': {
                unsigned long l;

                if (str_to_ulong(optarg, &l) < 0 || l > 1000000)
                    msg_fatal("-l %s: not a session count", optarg);
                srv->max_sessions = (unsigned) l;
                break;
            }
            case 'o':
                if (strchr(optarg, '=') == NULL)
                    msg_fatal("-o %s: not name=value", optarg);
                argv_add(overrides, optarg);
                break;
            case 'u':
                drop = true;
                break;
            case 'j':
                chroot_it = true;
                break;
            case 'v':
                msg_verbose++;
                break;
            case 'D':
                break;
            case 'S':
                srv->standalone = true;
                break;
            default:
                msg_fatal(
                    "usage: %s [-c dir] [-n service] [-t type] "
                    "[-s count] [-l sessions] [-o name=value] [-ujvS] [args]",
                    spec->name);
        }
    }
    {
        unsigned max =
            srv->max_sessions ? srv->max_sessions : spec->max_sessions;

        if (max == 0 || max > 100)
            raise_fd_limit(max);
    }
    srv->args = argv_new();
    for (int i = optind; i < argc; i++)
        argv_add(srv->args, argv[i]);
    /* conf_load reads past a bad line: log where main.cf says before
     * saying why this process cannot run (its stderr is /dev/null). */
    bad_conf = conf_load(&why) < 0;
    /* "-o syslog_name=postfix/$service_name" (Debian's relay line). */
    conf_set_service_name(srv->service);
    for (size_t i = 0; i < overrides->argc; i++) {
        char *eq = strchr(overrides->argv[i], '=');

        *eq = 0;
        conf_override(overrides->argv[i], eq + 1);
    }
    argv_free(overrides);
    {
        struct buf log_why = BUF_INIT;

        if (mail_log_init(spec->name, &log_why) < 0)
            msg_warn("%s", buf_str(&log_why));
        buf_fini(&log_why);
    }
    if (bad_conf)
        msg_fatal("%s", buf_str(&why));
    signal(SIGPIPE, SIG_IGN);
    if (!srv->standalone)
        check_fds(srv, count);
    srv->max_idle = conf_time("max_idle");
    srv->max_use = conf_int("max_use");
    srv->loop = loop_new();
    if (spec->pre_jail && spec->pre_jail(srv, &why) < 0)
        msg_fatal("%s", buf_str(&why));
    jail(srv, chroot_it, drop);
    if (spec->post_jail && spec->post_jail(srv, &why) < 0)
        msg_fatal("%s", buf_str(&why));

    srv->sig_term = loop_signal(srv->loop, SIGTERM, on_term, srv);
    if (srv->standalone) {
        int conn = dup(0);

        if (conn < 0 || spec->on_accept == NULL)
            msg_fatal("-S: no connection on standard input");
        fcntl(conn, F_SETFD, FD_CLOEXEC);
        srv->sessions = 1;
        spec->on_accept(srv, conn);
    } else {
        for (int i = 0; i < srv->nlisten; i++)
            srv->lev[i] = loop_read(srv->loop, srv->lfd[i], on_listen, srv);
        srv->status_ev = loop_read(srv->loop, srv->status_fd, on_status, srv);
        loop_ev_arm(srv->status_ev, -1);
        if (!spec->long_running)
            srv->idle = loop_timer(srv->loop, on_idle, srv);
        update(srv);
    }
    if (srv->exit_status == 0 && loop_run(srv->loop) < 0)
        msg_fatal("event loop failed");
    status = srv->exit_status;
    for (int i = 0; i < srv->nlisten; i++)
        loop_ev_free(srv->lev[i]);
    loop_ev_free(srv->status_ev);
    loop_ev_free(srv->sig_term);
    loop_ev_free(srv->idle);
    if (spec->on_exit)
        spec->on_exit(srv);
    loop_free(srv->loop);
    /* Sessions still open belong to the daemon, which is exiting. */
    argv_free(srv->args);
    mem_free(srv->service);
    mem_free(srv->type);
    buf_fini(&why);
    mem_free(srv);
    return status;
}

/* server_session_begin - one session more, started by the daemon */
void server_session_begin(struct server *srv)
{
    srv->sessions++;
    update(srv);
}

/* server_session_done - one session fewer */
void server_session_done(struct server *srv)
{
    if (srv->sessions == 0)
        msg_panic("server_session_done: no session in progress");
    srv->sessions--;
    update(srv);
}

/* server_loop - accessor */
struct loop *server_loop(struct server *srv)
{
    return srv->loop;
}

/* server_service - accessor */
const char *server_service(const struct server *srv)
{
    return srv->service;
}

/* server_type - accessor */
const char *server_type(const struct server *srv)
{
    return srv->type;
}

/* server_args - accessor */
const struct argv *server_args(const struct server *srv)
{
    return srv->args;
}

/* server_draining - accessor */
bool server_draining(const struct server *srv)
{
    return srv->draining;
}

/* server_sessions - accessor */
unsigned server_sessions(const struct server *srv)
{
    return srv->sessions;
}

/* server_standalone - -S */
bool server_standalone(const struct server *srv)
{
    return srv->standalone;
}

/* server_privileged - accessor */
bool server_privileged(const struct server *srv)
{
    return srv->privileged;
}

/* server_set_context - the daemon's pointer */
void server_set_context(struct server *srv, void *ctx)
{
    srv->ctx = ctx;
}

/* server_context - accessor */
void *server_context(const struct server *srv)
{
    return srv->ctx;
}

/* server_stop - leave now */
void server_stop(struct server *srv, int status)
{
    finish(srv, status);
}
