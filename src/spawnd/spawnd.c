#include "spawnd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/argv.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/priv.h"
#include "../lib/spawn.h"
#include "../global/conf.h"
#include "../global/server.h"

/* Where a command without a '/' is looked for (Postfix's _PATH_DEFPATH). */
#define SPAWND_PATH "/usr/bin:/bin"

struct spawnd {
    struct argv *cmd; /* argv= and what follows */
    char *path;       /* the program, absolute */
    struct argv *env;
    bool drop;
    uid_t uid;
    gid_t gid;
    long time_limit; /* seconds */
    pid_t pid;       /* the command running, or 0 */
    struct loop_ev *sig_chld;
    struct loop_ev *timer;
};

static struct spawnd sd;

/* find_program - NAME itself when it has a '/', else on SPAWND_PATH */
static char *find_program(const char *name)
{
    struct argv *dirs;
    char *found = NULL;

    if (strchr(name, '/'))
        return mem_strdup(name);
    dirs = argv_split(SPAWND_PATH, ":");
    for (size_t i = 0; i < dirs->argc && !found; i++) {
        struct buf b = BUF_INIT;

        buf_setf(&b, "%s/%s", dirs->argv[i], name);
        if (access(buf_str(&b), X_OK) == 0)
            found = buf_steal(&b);
        buf_fini(&b);
    }
    argv_free(dirs);
    return found ? found : mem_strdup(name);
}

/* parse_args - user= and argv= as spawn(8) takes them */
static int parse_args(struct server *srv, struct buf *why)
{
    const struct argv *args = server_args(srv);
    const char *user = NULL;
    size_t i;

    sd.cmd = argv_new();
    for (i = 0; i < args->argc; i++) {
        const char *a = args->argv[i];

        if (strncmp(a, "user=", 5) == 0) {
            user = a + 5;
        } else if (strncmp(a, "argv=", 5) == 0) {
            if (a[5])
                argv_add(sd.cmd, a + 5);
            for (i++; i < args->argc; i++)
                argv_add(sd.cmd, args->argv[i]);
            break;
        } else {
            buf_setf(why, "unknown command-line attribute: %s", a);
            return -1;
        }
    }
    if (sd.cmd->argc == 0) {
        buf_setf(why, "missing argv= command-line attribute");
        return -1;
    }
    if (server_privileged(srv)) {
        if (user == NULL || *user == 0) {
            buf_setf(why, "missing user= command-line attribute");
            return -1;
        }
        if (priv_lookup(user, &sd.uid, &sd.gid, why) < 0)
            return -1;
        if (sd.uid == 0) {
            buf_setf(why,
                     "user= command-line attribute specifies root "
                     "privileges: %s",
                     user);
            return -1;
        }
        sd.drop = true;
    }
    return 0;
}

/* time_limit - $SERVICE_time_limit, else $command_time_limit */
static long time_limit(struct server *srv)
{
    struct buf name = BUF_INIT;
    const char *text;
    long secs = conf_time("command_time_limit");

    buf_setf(&name, "%s_time_limit", server_service(srv));
    text = conf_str(buf_str(&name));
    if (*text && conf_parse_time(text, 's', &secs) < 0)
        msg_warn("%s: \"%s\" is not a time; using $command_time_limit",
                 buf_str(&name), text);
    buf_fini(&name);
    return secs > 0 ? secs : 1;
}

/* pre_jail - the command and its user, before any privilege drop */
static int pre_jail(struct server *srv, struct buf *why)
{
    struct argv *names;

    if (parse_args(srv, why) < 0)
        return -1;
    sd.path = find_program(sd.cmd->argv[0]);
    if (access(sd.path, X_OK) < 0) {
        buf_setf(why, "command %s: %m", sd.path);
        return -1;
    }
    names = conf_list("export_environment");
    sd.env = spawn_env_clean(names);
    argv_free(names);
    spawn_env_set(sd.env, "MAIL_CONFIG", conf_dir());
    sd.time_limit = time_limit(srv);
    return 0;
}

/* on_child - reap the command and end the session */
static void on_child(int sig, int what, void *arg)
{
    struct server *srv = arg;
    struct buf text = BUF_INIT;
    int status;
    pid_t pid;

    (void) sig;
    (void) what;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid != sd.pid)
            continue;
        sd.pid = 0;
        loop_ev_disarm(sd.timer);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            buf_reset(&text);
            spawn_status_text(status, &text);
            msg_warn("command %s %s", sd.path, buf_str(&text));
        }
        server_session_done(srv);
    }
    buf_fini(&text);
}

/* on_time_limit - the command ran too long */
static void on_time_limit(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
    if (sd.pid > 0) {
        msg_warn("command %s: time limit of %lds exceeded, killing it", sd.path,
                 sd.time_limit);
        kill(sd.pid, SIGKILL);
    }
}

/* post_jail - events for the command's life */
static int post_jail(struct server *srv, struct buf *why)
{
    (void) why;
    sd.sig_chld = loop_signal(server_loop(srv), SIGCHLD, on_child, srv);
    sd.timer = loop_timer(server_loop(srv), on_time_limit, srv);
    return 0;
}

/* on_accept - one connection: one command */
static void on_accept(struct server *srv, int fd)
{
    struct buf why = BUF_INIT;
    int fds[3] = {fd, fd, -1};
    struct spawn_req req = {
        .path = sd.path,
        .argv = sd.cmd->argv,
        .envp = sd.env->argv,
        .fds = fds,
        .nfds = 3,
        /* The command stays in this process's group, so that the master
         * can end both at once. */
        .setsid = false,
        .drop = sd.drop,
        .uid = sd.uid,
        .gid = sd.gid,
    };

    /* Commands expect ordinary blocking I/O on their stdin and stdout. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    sd.pid = spawn_start(&req, &why);
    close(fd);
    if (sd.pid < 0) {
        msg_warn("%s", buf_str(&why));
        sd.pid = 0;
        server_session_done(srv);
    } else {
        loop_ev_arm(sd.timer, sd.time_limit * 1000);
    }
    buf_fini(&why);
}

/* release - the loop has ended: free our events */
static void release(struct server *srv)
{
    (void) srv;
    loop_ev_free(sd.sig_chld);
    loop_ev_free(sd.timer);
    sd.sig_chld = sd.timer = NULL;
}

/* spawnd_main - the spawn daemon */
int spawnd_main(int argc, char **argv)
{
    static const struct server_spec spec = {
        .name = "spawn",
        .max_sessions = 1,
        .pre_jail = pre_jail,
        .post_jail = post_jail,
        .on_accept = on_accept,
        .on_exit = release,
    };
    int status = server_run(&spec, argc, argv);

    argv_free(sd.cmd);
    argv_free(sd.env);
    mem_free(sd.path);
    return status;
}
