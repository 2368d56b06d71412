/*
 * master - the master daemon: configuration, folders, the pid lock,
 * signals; the services themselves are master_svc's.
 */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/loop.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/priv.h"
#include "../lib/spawn.h"
#include "../global/conf.h"
#include "../global/mail_log.h"
#include "../global/queue_dir.h"

#include "master_svc.h"

/* How long "stop" lets children finish before they are killed (ms). */
#define MASTER_STOP_GRACE  (10 * 1000)
/* The largest main.cf that a reload compares. */
#define MASTER_MAIN_CF_MAX (4 * 1024 * 1024)

static struct loop *loop;
static struct loop_ev *grace_ev;
static bool stopping;
static bool privileged;
static uid_t owner_uid;
static gid_t owner_gid;

/* owner_check - as root, mail_owner must exist and not be root */
static int owner_check(struct buf *why)
{
    const char *owner = conf_str("mail_owner");
    struct buf err = BUF_INIT;

    if (!privileged)
        return 0;
    if (priv_lookup(owner, &owner_uid, &owner_gid, &err) < 0) {
        buf_setf(why,
                 "mail_owner: %s; create that account (for example "
                 "\"useradd --system --no-create-home %s\") or set "
                 "mail_owner in %s to an existing unprivileged account",
                 buf_str(&err), owner, conf_main_cf());
        buf_fini(&err);
        return -1;
    }
    buf_fini(&err);
    if (owner_uid == 0) {
        buf_setf(why,
                 "mail_owner: \"%s\" has user id 0; the mail system must "
                 "not run its queue processes as root: set mail_owner in %s "
                 "to a dedicated unprivileged account such as \"postfix\"",
                 owner, conf_main_cf());
        return -1;
    }
    return 0;
}

/* read_text - the whole of PATH ("" when missing) */
static char *read_text(const char *path)
{
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *fp = fopen(path, "r");

    if (fp) {
        while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0
               && buf_len(&b) < MASTER_MAIN_CF_MAX)
            buf_catn(&b, chunk, n);
        fclose(fp);
    }
    return buf_steal(&b);
}

/* snapshot - what the services need from the configuration now */
static struct master_svc_conf *snapshot(struct buf *why)
{
    struct master_svc_conf *c = mem_zalloc(sizeof(*c));
    struct argv *names = conf_list("import_environment");
    const char *queue = conf_str("queue_directory");
    const char *data = conf_str("data_directory");

    if (queue[0] != '/' || data[0] != '/') {
        buf_setf(why, "%s: \"%s\" is not an absolute path",
                 queue[0] != '/' ? "queue_directory" : "data_directory",
                 queue[0] != '/' ? queue : data);
        argv_free(names);
        mem_free(c);
        return NULL;
    }
    c->config_dir = mem_strdup(conf_dir());
    c->queue_dir = mem_strdup(queue);
    c->interfaces = conf_list("inet_interfaces");
    c->protocols = conf_list("inet_protocols");
    c->env = spawn_env_clean(names);
    spawn_env_set(c->env, "MAIL_CONFIG", conf_dir());
    argv_free(names);
    c->default_limit = conf_int("default_process_limit");
    c->throttle_time = conf_time("service_throttle_time");
    if (c->throttle_time < 1)
        c->throttle_time = 1;
    c->disable = conf_list("master_service_disable");
    c->main_cf_text = read_text(conf_main_cf());
    return c;
}

/* make_dir - PATH and its parents; MODE and owner for PATH itself */
static void make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    struct stat st;
    char *copy = mem_strdup(path);

    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
            msg_fatal("create directory %s: %m", copy);
        *p = '/';
    }
    mem_free(copy);
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        msg_fatal("create directory %s: %m", path);
    if (stat(path, &st) < 0)
        msg_fatal("%s: %m", path);
    if (!S_ISDIR(st.st_mode))
        msg_fatal("%s exists and is not a directory", path);
    if (privileged && (st.st_uid != uid || st.st_gid != gid)
        && chown(path, uid, gid) < 0)
        msg_fatal("chown %s: %m", path);
}

/* make_dirs - the queue and data folders, public, private and pid, and
 * the message folders through queue_dir_create */
static void make_dirs(const struct master_svc_conf *c, const char *data)
{
    struct buf path = BUF_INIT;
    uid_t uid = privileged ? owner_uid : geteuid();
    gid_t gid = privileged ? owner_gid : getegid();
    gid_t public_gid = gid;

    if (privileged) {
        struct group *gr = getgrnam(conf_str("setgid_group"));

        if (gr)
            public_gid = gr->gr_gid;
    }
    make_dir(c->queue_dir, 0755, privileged ? 0 : uid, privileged ? 0 : gid);
    make_dir(data, 0700, uid, gid);
    buf_setf(&path, "%s/public", c->queue_dir);
    make_dir(buf_str(&path), 0710, uid, public_gid);
    buf_setf(&path, "%s/private", c->queue_dir);
    make_dir(buf_str(&path), 0700, uid, gid);
    buf_setf(&path, "%s/pid", c->queue_dir);
    make_dir(buf_str(&path), 0755, privileged ? 0 : uid, privileged ? 0 : gid);
    /* The message folders are the queue module's (queue_dir.h). */
    {
        struct queue_dir qd;
        struct buf why = BUF_INIT;

        if (queue_dir_init_conf(&qd, &why) < 0
            || queue_dir_create(&qd, uid, public_gid, &why) < 0)
            msg_fatal("queue folders: %s", buf_str(&why));
        queue_dir_fini(&qd);
        buf_fini(&why);
    }
    buf_fini(&path);
}

/* lock_path - data_directory/master.lock */
static void lock_path(const char *data_dir, struct buf *out)
{
    buf_setf(out, "%s/master.lock", data_dir);
}

/* master_lock_probe - ask the lock who holds it */
int master_lock_probe(const char *data_dir, pid_t *pid, struct buf *why)
{
    struct buf path = BUF_INIT;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int fd;

    lock_path(data_dir, &path);
    if ((fd = open(buf_str(&path), O_RDONLY | O_CLOEXEC)) < 0) {
        int ret = errno == ENOENT ? 0 : -1;

        if (ret < 0)
            buf_setf(why, "open %s: %m", buf_str(&path));
        buf_fini(&path);
        return ret;
    }
    if (fcntl(fd, F_GETLK, &fl) < 0) {
        buf_setf(why, "lock %s: %m", buf_str(&path));
        close(fd);
        buf_fini(&path);
        return -1;
    }
    close(fd);
    buf_fini(&path);
    if (fl.l_type == F_UNLCK)
        return 0;
    *pid = fl.l_pid;
    return 1;
}

/* write_pid - PATH gets the pid as Postfix writes it */
static void write_pid(int fd, const char *path)
{
    char text[32];
    int len = snprintf(text, sizeof(text), "%10ld\n", (long) getpid());

    if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t) len, 0) != len)
        msg_fatal("write %s: %m", path);
}

/* take_lock - hold master.lock for life (the descriptor stays open) */
static void take_lock(const struct master_svc_conf *c, const char *data)
{
    struct buf path = BUF_INIT;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int fd;

    lock_path(data, &path);
    fd = open(buf_str(&path), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        msg_fatal("open lock file %s: %m", buf_str(&path));
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        if (errno == EAGAIN || errno == EACCES)
            msg_fatal("the %s mail system is already running",
                      conf_str("mail_name"));
        msg_fatal("lock %s: %m", buf_str(&path));
    }
    write_pid(fd, buf_str(&path));
    buf_setf(&path, "%s/pid/master.pid", c->queue_dir);
    {
        int pfd = open(buf_str(&path),
                       O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

        if (pfd < 0)
            msg_fatal("open %s: %m", buf_str(&path));
        write_pid(pfd, buf_str(&path));
        close(pfd);
    }
    buf_fini(&path);
}

/* check_commands - every command of CF is known (quietly) */
static int check_commands(const struct master_cf *cf, struct buf *why)
{
    for (const struct master_ent *e = cf->head; e; e = e->next) {
        const char *cmd = e->command->argc ? e->command->argv[0] : "";

        if (master_prog_find(cmd) == NULL) {
            buf_setf(why, "file %s: line %d: unknown command \"%s\"", cf->path,
                     e->line, cmd);
            return -1;
        }
    }
    return 0;
}

/* reload - SIGHUP: validate, then switch */
static void reload(void)
{
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct master_cf *cf = NULL;
    struct master_svc_conf *c;
    int problems;

    if (conf_load(&why) < 0)
        goto refuse;
    if ((problems = conf_check()) > 0) {
        buf_setf(&why, "%d problem%s in %s", problems, problems == 1 ? "" : "s",
                 conf_main_cf());
        goto refuse;
    }
    if (owner_check(&why) < 0)
        goto refuse;
    buf_setf(&path, "%s/master.cf", conf_dir());
    if ((cf = master_cf_load(buf_str(&path), &why)) == NULL)
        goto refuse;
    if (check_commands(cf, &why) < 0)
        goto refuse;
    if ((c = snapshot(&why)) == NULL)
        goto refuse;
    make_dirs(c, conf_str("data_directory"));
    if (master_svc_reload(cf, c, &why) < 0)
        goto refuse;
    msg_info("reload -- version %s, configuration %s", ULAK_VERSION,
             conf_dir());
    master_cf_free(cf);
    buf_fini(&why);
    buf_fini(&path);
    return;

refuse:
    msg_warn("reload refused: %s; the running configuration is kept",
             buf_str(&why));
    master_cf_free(cf);
    buf_fini(&why);
    buf_fini(&path);
}

/* maybe_done - leave once stopping and every child is gone */
static void maybe_done(void)
{
    if (stopping && master_svc_children() == 0)
        loop_stop(loop);
}

/* on_grace - stop took too long: kill what is left */
static void on_grace(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
    if (master_svc_children() > 0)
        msg_warn("killing %d process%s that did not stop in %d seconds",
                 master_svc_children(), master_svc_children() == 1 ? "" : "es",
                 MASTER_STOP_GRACE / 1000);
    master_svc_stop(SIGKILL);
}

/* on_signal - every signal the master handles */
static void on_signal(int sig, int what, void *arg)
{
    (void) what;
    (void) arg;
    switch (sig) {
        case SIGHUP:
            if (!stopping)
                reload();
            break;
        case SIGCHLD:
            master_svc_reap();
            maybe_done();
            break;
        case SIGTERM:
            if (!stopping)
                msg_info("terminating on signal %d", sig);
            stopping = true;
            master_svc_stop(SIGTERM);
            loop_ev_arm(grace_ev, MASTER_STOP_GRACE);
            maybe_done();
            break;
        default:
            /* SIGINT, SIGQUIT: abort at once. */
            msg_info("terminating on signal %d", sig);
            stopping = true;
            master_svc_stop(SIGKILL);
            maybe_done();
            break;
    }
}

/* exe_path - this program, for the children */
static char *exe_path(void)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

    if (n <= 0 || (size_t) n >= sizeof(path) - 1)
        msg_fatal("cannot find this program's path: readlink "
                  "/proc/self/exe: %m");
    path[n] = 0;
    return mem_strdup(path);
}

/* master_main - the master daemon */
int master_main(int argc, char **argv)
{
    static const int sigs[] = {SIGHUP, SIGCHLD, SIGTERM, SIGINT, SIGQUIT};
    struct loop_ev *sig_ev[NELEM(sigs)];
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct master_svc_conf *c;
    struct master_cf *cf;
    bool foreground = false;
    bool ready_fd = false;
    char *exe;
    int ch;

    msg_init("master");
    optind = 1;
    while ((ch = getopt(argc, argv, "c:iwv")) != -1) {
        switch (ch) {
            case 'c':
                conf_set_dir(optarg);
                break;
            case 'i':
                foreground = true;
                break;
            case 'w':
                ready_fd = true;
                break;
            case 'v':
                msg_verbose++;
                break;
            default:
                msg_fatal("usage: master [-c dir] [-i] [-w] [-v]");
        }
    }
    umask(022);
    if (conf_load(&why) < 0)
        msg_fatal("%s", buf_str(&why));
    if (mail_log_init("master", &why) < 0)
        msg_warn("%s", buf_str(&why));
    privileged = geteuid() == 0;
    if (owner_check(&why) < 0)
        msg_fatal("%s", buf_str(&why));
    if ((c = snapshot(&why)) == NULL)
        msg_fatal("%s", buf_str(&why));
    make_dirs(c, conf_str("data_directory"));
    take_lock(c, conf_str("data_directory"));
    if (chdir(c->queue_dir) < 0)
        msg_fatal("chdir %s: %m", c->queue_dir);
    signal(SIGPIPE, SIG_IGN);
    exe = exe_path();
    loop = loop_new();
    for (size_t i = 0; i < NELEM(sigs); i++)
        sig_ev[i] = loop_signal(loop, sigs[i], on_signal, NULL);
    grace_ev = loop_timer(loop, on_grace, NULL);
    master_svc_init(loop, exe, foreground);
    mem_free(exe);
    buf_setf(&path, "%s/master.cf", conf_dir());
    if ((cf = master_cf_load(buf_str(&path), &why)) == NULL)
        msg_fatal("%s", buf_str(&why));
    if (check_commands(cf, &why) < 0 || master_svc_start(cf, c, &why) < 0)
        msg_fatal("%s", buf_str(&why));
    master_cf_free(cf);
    /* With -w, "start" shows our stderr to the user: problems only. */
    if (ready_fd)
        msg_output_stderr(false);
    msg_info("daemon started -- version %s, configuration %s", ULAK_VERSION,
             conf_dir());
    if (ready_fd) {
        /* "start" waits for this byte, then for end of file on our stderr:
         * from now on the log is the only place we write to. */
        int null = open("/dev/null", O_RDWR);
        ssize_t n ULAK_UNUSED = write(3, "R", 1);

        close(3);
        msg_output_stderr(false);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            if (null > 2)
                close(null);
        }
    }
    if (loop_run(loop) < 0)
        msg_fatal("event loop failed");
    for (size_t i = 0; i < NELEM(sigs); i++)
        loop_ev_free(sig_ev[i]);
    loop_ev_free(grace_ev);
    master_svc_fini();
    loop_free(loop);
    buf_fini(&why);
    buf_fini(&path);
    return 0;
}
