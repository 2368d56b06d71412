/*
 * postfix - the control command: "ulak [-c dir] [-Dv] command".
 *
 * check validates main.cf and master.cf and reports every problem at once.
 * start (check first, then the master daemonized; returns once it runs, or
 * says why not), start-fg (the master in this process), stop (SIGTERM:
 * orderly; returns when every process has exited), abort (SIGQUIT: kill
 * everything now), reload (check first, then SIGHUP), status, and flush
 * (a flush request to the queue manager, flush_clnt.h) find the master
 * through its pid lock (master.h).  Messages and exit codes are Postfix's
 * postfix-script's, with $mail_name for "Postfix".
 */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/msg.h"
#include "lib/spawn.h"
#include "global/conf.h"
#include "global/flush_clnt.h"
#include "global/mail_log.h"
#include "global/master_cf.h"
#include "master/master.h"

/* How long start and stop wait for the master (milliseconds). */
#define POSTFIX_WAIT_MS (60 * 1000)

static const char *const later_verbs[] = {
    "set-permissions",
    "upgrade-configuration",
    "post-install",
    "tls",
};

/* usage - the synopsis, then exit */
static int usage(void)
{
    msg_error("usage: %s [-c config_dir] [-Dv] command", msg_progname());
    return 2;
}

/* check_master - parse master.cf; returns the number of errors */
static int check_master(void)
{
    struct buf path = BUF_INIT;
    struct buf why = BUF_INIT;
    struct master_cf *cf;
    int errors = 0;

    buf_setf(&path, "%s/master.cf", conf_dir());
    if ((cf = master_cf_load(buf_str(&path), &why)) == NULL) {
        msg_error("%s", buf_str(&why));
        errors++;
    } else {
        errors += master_check_services(cf);
    }
    master_cf_free(cf);
    buf_fini(&path);
    buf_fini(&why);
    return errors;
}

/* check_dirs - the directories the instance needs; number of errors */
static int check_dirs(void)
{
    static const char *const names[] = {"config_directory", "queue_directory",
                                        "data_directory"};
    int errors = 0;
    struct stat st;

    for (size_t i = 0; i < NELEM(names); i++) {
        const char *dir = conf_str(names[i]);

        if (stat(dir, &st) < 0) {
            /* The queue and data folders are created at start-up. */
            if (i == 0) {
                msg_error("%s: %s: %m", names[i], dir);
                errors++;
            } else {
                msg_warn("%s: %s does not exist yet: it is created when "
                         "the mail system starts",
                         names[i], dir);
            }
        } else if (!S_ISDIR(st.st_mode)) {
            msg_error("%s: %s is not a directory", names[i], dir);
            errors++;
        }
    }
    return errors;
}

/* postfix_check - validate the whole configuration */
static int postfix_check(void)
{
    int errors = conf_check();

    errors += check_master();
    errors += check_dirs();
    if (errors) {
        msg_error("configuration check: %d problem%s found in %s", errors,
                  errors == 1 ? "" : "s", conf_dir());
        return 1;
    }
    return 0;
}

/* mail_system - "the ulak mail system" */
static const char *system_name(void)
{
    return conf_str("mail_name");
}

/* running - the master's pid, 0 when none runs, -1 when unknown */
static pid_t running(void)
{
    struct buf why = BUF_INIT;
    pid_t pid = 0;
    int r = master_lock_probe(conf_str("data_directory"), &pid, &why);

    if (r < 0) {
        msg_error("%s", buf_str(&why));
        pid = -1;
    } else if (r == 0) {
        pid = 0;
    }
    buf_fini(&why);
    return pid;
}

/* now_ms - a monotonic clock in milliseconds */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_gone - until no master holds the lock; 0, or -1 on time-out */
static int wait_gone(void)
{
    long long end = now_ms() + POSTFIX_WAIT_MS;

    while (running() > 0) {
        if (now_ms() > end)
            return -1;
        usleep(50 * 1000);
    }
    return 0;
}

/* child_env - the master's environment: $import_environment only */
static struct argv *child_env(void)
{
    struct argv *names = conf_list("import_environment");
    struct argv *env = spawn_env_clean(names);

    argv_free(names);
    spawn_env_set(env, "MAIL_CONFIG", conf_dir());
    return env;
}

/* exe_path - this program */
static int exe_path(struct buf *out)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

    if (n <= 0 || (size_t) n >= sizeof(path) - 1) {
        msg_error("cannot find this program's path: %m");
        return -1;
    }
    path[n] = 0;
    buf_set(out, path);
    return 0;
}

/* start_master - run the master in the background and wait until it runs:
 * its stderr comes here until then, and it writes 'R' on a second pipe */
static int start_master(void)
{
    struct buf exe = BUF_INIT;
    struct buf why = BUF_INIT;
    struct argv *env;
    struct argv *args;
    int err_pipe[2], ready_pipe[2];
    char ready = 0;
    int status;
    pid_t pid;
    int ret = 1;

    if (exe_path(&exe) < 0)
        return 1;
    if (pipe2(err_pipe, O_CLOEXEC) < 0 || pipe2(ready_pipe, O_CLOEXEC) < 0) {
        msg_error("pipe: %m");
        return 1;
    }
    env = child_env();
    args = argv_new();
    argv_add(args, buf_str(&exe));
    argv_add(args, "--daemon");
    argv_add(args, "master");
    argv_add(args, "-c");
    argv_add(args, conf_dir());
    argv_add(args, "-w");
    {
        int fds[4] = {-1, -1, err_pipe[1], ready_pipe[1]};
        struct spawn_req req = {
            .path = buf_str(&exe),
            .argv = args->argv,
            .envp = env->argv,
            .fds = fds,
            .nfds = 4,
            .setsid = true,
            .chdir = "/",
        };

        pid = spawn_start(&req, &why);
    }
    close(err_pipe[1]);
    close(ready_pipe[1]);
    if (pid < 0) {
        msg_error("cannot start the master: %s", buf_str(&why));
    } else {
        long long end = now_ms() + POSTFIX_WAIT_MS;
        struct pollfd pfd = {.fd = err_pipe[0], .events = POLLIN};
        char chunk[1024];
        ssize_t n = 1;

        /* Whatever the master says before it runs is for the user. */
        while (n > 0 && now_ms() < end) {
            if (poll(&pfd, 1, 200) <= 0)
                continue;
            if ((n = read(err_pipe[0], chunk, sizeof(chunk))) > 0
                && write(STDERR_FILENO, chunk, (size_t) n) < 0)
                n = 0;
        }
        fcntl(ready_pipe[0], F_SETFL, O_NONBLOCK);
        if (read(ready_pipe[0], &ready, 1) == 1 && ready == 'R') {
            ret = 0;
        } else if (waitpid(pid, &status, n <= 0 ? 0 : WNOHANG) == pid) {
            /* End of file without 'R': the master is exiting (it closes
             * stderr only after 'R'), so waiting cannot hang. */
            buf_reset(&why);
            spawn_status_text(status, &why);
            msg_error("the %s mail system did not start: the master "
                      "daemon ended with %s",
                      system_name(), buf_str(&why));
        } else {
            msg_error("the %s mail system did not start: no answer from "
                      "the master daemon (pid %ld)",
                      system_name(), (long) pid);
        }
    }
    close(err_pipe[0]);
    close(ready_pipe[0]);
    argv_free(args);
    argv_free(env);
    buf_fini(&exe);
    buf_fini(&why);
    return ret;
}

/* signal_master - send SIG to the running master; its pid or 0 */
static pid_t signal_master(int sig, const char *doing)
{
    pid_t pid = running();

    if (pid < 0)
        return 0;
    if (pid == 0) {
        msg_error("the %s mail system is not running", system_name());
        return 0;
    }
    if (doing)
        msg_info("%s the %s mail system", doing, system_name());
    if (kill(pid, sig) < 0) {
        msg_error("cannot signal the master (pid %ld): %m", (long) pid);
        return 0;
    }
    return pid;
}

/* postfix_flush - ask the queue manager to deliver the deferred mail now
 * (a "flush" message without fields: everything) */
static int postfix_flush(void)
{
    const struct master_prog *p = master_prog_find("qmgr");
    struct buf why = BUF_INIT;
    int ret = 1;

    if (running() <= 0) {
        msg_error("the %s mail system is not running", system_name());
        return 1;
    }
    if (p == NULL || p->kind != MASTER_PROG_RUN) {
        msg_error("flush: this ulak release (%s) has no queue manager yet; "
                  "there is no queue to flush",
                  ULAK_VERSION);
        return 1;
    }
    if (flush_clnt_request(NULL, NULL, &why) == 0)
        ret = 0;
    else if (strcmp(buf_str(&why), FLUSH_CLNT_NO_QMGR) == 0)
        msg_error("flush: %s", buf_str(&why));
    else
        msg_error("flush: cannot reach the queue manager: %s", buf_str(&why));
    buf_fini(&why);
    return ret;
}

/* postfix_control - the verbs that talk to the master */
static int postfix_control(const char *verb)
{
    pid_t pid;

    if (strcmp(verb, "start") == 0 || strcmp(verb, "start-fg") == 0) {
        char *args[] = {"master", "-c", NULL, "-i", NULL};
        int ret;

        if (postfix_check() != 0)
            return 1;
        if ((pid = running()) != 0) {
            if (pid > 0)
                msg_error("the %s mail system is already running",
                          system_name());
            return 1;
        }
        msg_info("starting the %s mail system", system_name());
        if (strcmp(verb, "start") == 0)
            return start_master();
        args[2] = mem_strdup(conf_dir());
        ret = master_main(4, args);
        mem_free(args[2]);
        return ret;
    }
    if (strcmp(verb, "stop") == 0 || strcmp(verb, "abort") == 0) {
        bool stop = strcmp(verb, "stop") == 0;

        if (signal_master(stop ? SIGTERM : SIGQUIT,
                          stop ? "stopping" : "aborting")
            == 0)
            return 1;
        if (wait_gone() < 0) {
            msg_error("the %s mail system did not stop in %d seconds",
                      system_name(), POSTFIX_WAIT_MS / 1000);
            return 1;
        }
        return 0;
    }
    if (strcmp(verb, "reload") == 0) {
        if ((pid = running()) <= 0) {
            if (pid == 0)
                msg_error("the %s mail system is not running", system_name());
            return 1;
        }
        if (postfix_check() != 0) {
            msg_error("reload refused: the running configuration is kept");
            return 1;
        }
        return signal_master(SIGHUP, "refreshing") ? 0 : 1;
    }
    if (strcmp(verb, "status") == 0) {
        if ((pid = running()) < 0)
            return 1;
        if (pid == 0) {
            msg_info("the %s mail system is not running", system_name());
            return 1;
        }
        msg_info("the %s mail system is running: PID: %ld", system_name(),
                 (long) pid);
        return 0;
    }
    return postfix_flush();
}

/* postfix_main - parse options and run the command */
int postfix_main(int argc, char **argv)
{
    static const char *const control[] = {"start",  "start-fg", "stop", "abort",
                                          "reload", "status",   "flush"};
    struct buf why = BUF_INIT;
    const char *verb;
    bool checks;
    int ch;

    msg_init(argc > 0 ? argv[0] : "postfix");
    optind = 1;
    while ((ch = getopt(argc, argv, "+c:Dv")) != -1) {
        switch (ch) {
            case 'c': {
                /* Children run elsewhere: keep the path absolute. */
                char *abs = realpath(optarg, NULL);

                conf_set_dir(abs ? abs : optarg);
                free(abs);
            } break;
            case 'D':
                break;
            case 'v':
                msg_verbose++;
                break;
            default:
                return usage();
        }
    }
    if (optind >= argc)
        return usage();
    verb = argv[optind];
    checks = strcmp(verb, "check") == 0 || strcmp(verb, "start") == 0
             || strcmp(verb, "start-fg") == 0 || strcmp(verb, "reload") == 0;
    /* The verbs that check list this problem with every other one. */
    if (conf_load(&why) < 0 && !checks) {
        msg_error("%s", buf_str(&why));
        buf_fini(&why);
        return 1;
    }
    /* Children started later find the instance through MAIL_CONFIG. */
    setenv("MAIL_CONFIG", conf_dir(), 1);
    if (mail_log_init("postfix", &why) < 0)
        msg_warn("%s", buf_str(&why));
    buf_fini(&why);
    if (strcmp(verb, "check") == 0)
        return postfix_check();
    for (size_t i = 0; i < NELEM(control); i++)
        if (strcmp(verb, control[i]) == 0)
            return postfix_control(verb);
    for (size_t i = 0; i < NELEM(later_verbs); i++) {
        if (strcmp(verb, later_verbs[i]) == 0) {
            msg_error("%s: this ulak release (%s) does not have this "
                      "command yet",
                      verb, ULAK_VERSION);
            return 1;
        }
    }
    msg_error("unknown command: '%s'", verb);
    return usage();
}
