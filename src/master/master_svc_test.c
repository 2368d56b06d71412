/* master_svc_test - supervision with a stand-in registry: an ALWAYS
 * service is kept at maxproc and restarted after a crash with back-off; a
 * service whose processes die before their first status is throttled.
 * The children are this test program, run as "--daemon NAME" (see main). */
#include "master/master_svc.h"
#include "master/master.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/mem.h"
#include "lib/msg.h"
#include "lib/str.h"
#include "global/ipc_msgs.h"
#include "global/server.h"

static char dir[] = "/tmp/master_svc_test.XXXXXX";
static char exe[4096];
static struct buf logged = BUF_INIT;

/* master_prog_find - the stand-in registry */
const struct master_prog *master_prog_find(const char *command)
{
    static const struct master_prog progs[] = {
        {"always", MASTER_PROG_RUN, NULL, MASTER_PROG_ALWAYS, NULL},
        {"crash", MASTER_PROG_RUN, NULL, 0, NULL},
    };

    for (size_t i = 0; i < NELEM(progs); i++)
        if (strcmp(progs[i].name, command) == 0)
            return &progs[i];
    return NULL;
}

/* capture - keep the log lines */
static void capture(enum msg_level level, const char *text)
{
    buf_catf(&logged, "%s%s\n", msg_prefix(level), text);
}

/* count - occurrences of TEXT in the log */
static int count(const char *text)
{
    int n = 0;

    for (const char *p = buf_str(&logged); (p = strstr(p, text)) != NULL; p++)
        n++;
    return n;
}

/* on_chld / on_time - the master's SIGCHLD, and a stop watch */
static void on_chld(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
    master_svc_reap();
}

static void on_time(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    loop_stop(arg);
}

/* run_for - the loop for MS milliseconds */
static void run_for(struct loop *l, long ms)
{
    struct loop_ev *t = loop_timer(l, on_time, l);

    loop_ev_arm(t, ms);
    loop_run(l);
    loop_ev_free(t);
}

/* wait_children - run the loop until N children run (at most 5 s) */
static void wait_children(struct loop *l, int n)
{
    for (int i = 0; i < 250 && master_svc_children() != n; i++)
        run_for(l, 20);
}

/* wait_log - run the loop until TEXT was logged N times (at most 5 s) */
static int count(const char *text);
static void wait_log(struct loop *l, const char *text, int n)
{
    for (int i = 0; i < 250 && count(text) < n; i++)
        run_for(l, 20);
}

/* start - master_svc_start for master.cf TEXT */
static void start(const char *text)
{
    struct master_svc_conf *c = mem_zalloc(sizeof(*c));
    struct buf why = BUF_INIT;
    struct master_cf *cf =
        master_cf_parse("master.cf", text, strlen(text), &why);

    assert_non_null(cf);
    c->config_dir = mem_strdup(dir);
    c->queue_dir = mem_strdup(dir);
    c->interfaces = argv_split("127.0.0.1", " ");
    c->protocols = argv_split("ipv4", " ");
    c->env = argv_new();
    c->disable = argv_new();
    c->default_limit = 100;
    c->throttle_time = 1;
    c->main_cf_text = mem_strdup("");
    if (master_svc_start(cf, c, &why) < 0)
        fail_msg("master_svc_start: %s", buf_str(&why));
    master_cf_free(cf);
    buf_fini(&why);
}

/* finish - kill what runs and free the module */
static void finish(struct loop *l)
{
    master_svc_stop(SIGKILL);
    for (int i = 0; i < 50 && master_svc_children() > 0; i++)
        run_for(l, 20);
    assert_int_equal(master_svc_children(), 0);
    master_svc_fini();
}

/* first_pid - a pid the stand-in daemons wrote to DIR/pids */
static pid_t first_pid(void)
{
    char path[256];
    long pid = 0;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/pids", dir);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_int_equal(fscanf(fp, "%ld", &pid), 1);
    fclose(fp);
    return (pid_t) pid;
}

/* test_always - kept at maxproc; a crash is logged and restarted later */
static void test_always(void **state)
{
    struct loop *l = loop_new();
    struct loop_ev *chld = loop_signal(l, SIGCHLD, on_chld, NULL);
    struct buf want = BUF_INIT;
    pid_t victim;

    (void) state;
    master_svc_init(l, exe, false);
    start("keep unix - n n - 2 always\n");
    /* Started at once, without a client. */
    assert_int_equal(master_svc_children(), 2);
    run_for(l, 300);
    victim = first_pid();
    kill(victim, SIGKILL);
    buf_setf(&want, "warning: process %s pid %ld killed by signal 9\n", exe,
             (long) victim);
    wait_log(l, buf_str(&want), 1);
    assert_int_equal(count(buf_str(&want)), 1);
    /* Not at once: the back-off is at least a second... */
    assert_int_equal(master_svc_children(), 1);
    run_for(l, 500);
    assert_int_equal(master_svc_children(), 1);
    /* ...and then it is back. */
    wait_children(l, 2);
    assert_int_equal(master_svc_children(), 2);
    assert_int_equal(count("throttling"), 0);
    finish(l);
    loop_ev_free(chld);
    loop_free(l);
    buf_fini(&want);
}

/* test_throttle - deaths before the first status stop the restarts */
static void test_throttle(void **state)
{
    struct loop *l = loop_new();
    struct loop_ev *chld = loop_signal(l, SIGCHLD, on_chld, NULL);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int client = socket(AF_UNIX, SOCK_STREAM, 0);

    (void) state;
    buf_reset(&logged);
    master_svc_init(l, exe, false);
    start("bad unix - n n - 1 crash\n");
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/private/bad", dir);
    assert_int_equal(connect(client, (struct sockaddr *) &sun, sizeof(sun)), 0);
    wait_log(l, "throttling", 1);
    assert_int_equal(count("warning: bad: bad command startup -- "
                           "throttling\n"),
                     1);
    assert_int_equal(count(" exit status 1\n"), 1);
    run_for(l, 500);
    /* The client still waits, and nothing was started meanwhile. */
    assert_int_equal(count(" exit status 1\n"), 1);
    /* $service_throttle_time (1s) later: one more try. */
    wait_log(l, " exit status 1\n", 2);
    assert_int_equal(count(" exit status 1\n"), 2);
    close(client);
    finish(l);
    loop_ev_free(chld);
    loop_free(l);
}

/* daemon - the stand-in children: "always" reports and waits for the
 * master to go; "crash" exits 1 before its first status */
static int daemon_role(const char *name)
{
    char path[256];
    char c;
    FILE *fp;

    if (strcmp(name, "crash") == 0)
        return 1;
    snprintf(path, sizeof(path), "%s/pids", dir);
    if ((fp = fopen(path, "a")) != NULL) {
        fprintf(fp, "%ld\n", (long) getpid());
        fclose(fp);
    }
    {
        struct ipc_child_status cs = {.pid = getpid(),
                                      .state = IPC_CHILD_READY};
        struct buf frame = BUF_INIT;
        struct buf why = BUF_INIT;

        if (ipc_child_status_encode(&cs, 0, &frame, &why) < 0
            || write(SERVER_STATUS_FD, buf_str(&frame), buf_len(&frame))
                   != (ssize_t) buf_len(&frame))
            return 2;
        buf_fini(&frame);
        buf_fini(&why);
    }
    while (read(SERVER_STATUS_FD, &c, 1) > 0)
        continue;
    return 0;
}

/* setup - the queue folder, this program's path, log capture */
static int setup(void **state)
{
    char path[256];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    (void) state;
    if (n <= 0 || mkdtemp(dir) == NULL)
        return -1;
    exe[n] = 0;
    snprintf(path, sizeof(path), "%s/private", dir);
    mkdir(path, 0700);
    msg_output_stderr(false);
    msg_output_add(capture);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* teardown - remove the folder */
static int teardown(void **state)
{
    char path[256];

    (void) state;
    snprintf(path, sizeof(path), "%s/pids", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/private/keep", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/private/bad", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/private", dir);
    rmdir(path);
    rmdir(dir);
    buf_fini(&logged);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_always),
        cmocka_unit_test(test_throttle),
    };

    /* argv: EXE --daemon NAME -c DIR ... */
    if (argc > 4 && strcmp(argv[1], "--daemon") == 0) {
        str_copy(dir, sizeof(dir), argv[4]);
        return daemon_role(argv[2]);
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
