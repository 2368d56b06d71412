/* server_test - the daemon skeleton in a child process, with a status
 * socket at descriptor 3 and a listener at 4 as the master passes them. */
#include "global/server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/ipc.h"
#include "lib/loop.h"
#include "global/ipc_msgs.h"

static char dir[] = "/tmp/server_test.XXXXXX";
static int out_pipe[2]; /* what the daemon saw, for the parent */

/* on_trigger - pass the trigger bytes to the parent */
static void on_trigger(struct server *srv, const char *data, size_t len)
{
    (void) srv;
    assert_true(write(out_pipe[1], data, len) == (ssize_t) len);
}

/* on_conn - a session's socket: end the session at end of file */
static void on_conn(int fd, int what, void *arg)
{
    struct server *srv = arg;
    char c;

    (void) what;
    if (read(fd, &c, 1) > 0)
        return;
    loop_ev_free(server_context(srv));
    close(fd);
    server_session_done(srv);
}

/* on_accept - watch the session until the client closes it */
static void on_accept(struct server *srv, int fd)
{
    struct loop_ev *ev = loop_read(server_loop(srv), fd, on_conn, srv);

    server_set_context(srv, ev);
    loop_ev_arm(ev, -1);
}

static const struct server_spec trigger_spec = {
    .name = "test",
    .on_trigger = on_trigger,
};
static const struct server_spec session_spec = {
    .name = "test",
    .max_sessions = 1,
    .on_accept = on_accept,
};

static struct loop_ev *own_ev[2]; /* the begin and end timers */

/* own_end - the daemon's own session ends */
static void own_end(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    loop_ev_free(own_ev[1]);
    assert_true(write(out_pipe[1], "E", 1) == 1);
    server_session_done(arg);
}

/* own_begin - the daemon starts a session of its own, for 300 ms */
static void own_begin(int fd, int what, void *arg)
{
    struct server *srv = arg;

    (void) fd;
    (void) what;
    loop_ev_free(own_ev[0]);
    own_ev[1] = loop_timer(server_loop(srv), own_end, srv);
    server_session_begin(srv);
    assert_true(write(out_pipe[1], "B", 1) == 1);
    loop_ev_arm(own_ev[1], 300);
}

/* own_post_jail - begin the session from the loop */
static int own_post_jail(struct server *srv, struct buf *why)
{
    (void) why;
    own_ev[0] = loop_timer(server_loop(srv), own_begin, srv);
    loop_ev_arm(own_ev[0], 0);
    return 0;
}

static const struct server_spec own_spec = {
    .name = "test",
    .long_running = true,
    .post_jail = own_post_jail,
    .on_accept = on_accept,
};

/* start - fork a daemon with STATUS at 3 and LISTENER at 4 (-1: none) */
static pid_t start(const struct server_spec *spec, int status, int listener,
                   const char *extra)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        char *argv[] = {"test",
                        "-c",
                        dir,
                        "-n",
                        "svc",
                        "-t",
                        "unix",
                        "-s",
                        listener >= 0 ? "1" : "0",
                        "-o",
                        (char *) (extra ? extra : "max_idle=100s"),
                        NULL};
        int s = status >= 0 ? fcntl(status, F_DUPFD, 20) : -1;
        int l = listener >= 0 ? fcntl(listener, F_DUPFD, 20) : -1;

        close(3);
        close(4);
        if (s >= 0)
            dup2(s, SERVER_STATUS_FD);
        if (l >= 0)
            dup2(l, SERVER_LISTEN_FD);
        _exit(server_run(spec, (int) NELEM(argv) - 1, argv));
    }
    return pid;
}

/* listener - a UNIX-domain stream listener at DIR/NAME */
static int listener(const char *name, struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s", dir, name);
    unlink(sun->sun_path);
    assert_int_equal(bind(fd, (struct sockaddr *) sun, sizeof(*sun)), 0);
    assert_int_equal(listen(fd, 10), 0);
    return fd;
}

/* client - connect, write DATA (may be NULL), return the socket */
static int client(const struct sockaddr_un *sun, const char *data)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_int_equal(connect(fd, (const struct sockaddr *) sun, sizeof(*sun)),
                     0);
    if (data)
        assert_true(write(fd, data, strlen(data)) == (ssize_t) strlen(data));
    return fd;
}

/* status_byte - the state of the next child_status frame from PID */
static int status_of(int fd, pid_t pid)
{
    struct buf in = BUF_INIT;
    struct buf why = BUF_INIT;
    struct ipc_frame frame;
    struct ipc_child_status cs;
    int passed = -1;
    int state;

    if (ipc_recv(fd, &in, &frame, &passed, 5000, &why) != 1)
        fail_msg("ipc_recv: %s", buf_str(&why));
    assert_int_equal(passed, -1);
    if (ipc_child_status_decode(&frame, &cs, &why) < 0)
        fail_msg("decode: %s", buf_str(&why));
    assert_int_equal(cs.pid, pid);
    state = cs.state;
    ipc_child_status_fini(&cs);
    buf_fini(&in);
    buf_fini(&why);
    return state;
}

/* exit_status - wait for PID */
static int exit_status(pid_t pid)
{
    int st;

    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* read_out - what the daemon reported, N bytes */
static void read_out(char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(out_pipe[0], buf + got, n - got);

        assert_true(r > 0);
        got += (size_t) r;
    }
    buf[n] = 0;
}

/* test_trigger_stream - 'A', a trigger, then drain when the master goes */
static void test_trigger_stream(void **state)
{
    struct sockaddr_un sun;
    int sv[2];
    int l = listener("t1", &sun);
    char got[8];
    pid_t pid;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid = start(&trigger_spec, sv[1], l, NULL);
    close(sv[1]);
    assert_int_equal(status_of(sv[0], pid), IPC_CHILD_READY);
    close(client(&sun, "W"));
    read_out(got, 1);
    assert_string_equal(got, "W");
    close(client(&sun, "FA"));
    read_out(got, 2);
    assert_string_equal(got, "FA");
    close(sv[0]); /* the master is gone: drain and exit */
    assert_int_equal(exit_status(pid), 0);
    close(l);
}

/* test_max_use - the process exits by itself after $max_use uses */
static void test_max_use(void **state)
{
    struct sockaddr_un sun;
    int sv[2];
    int l = listener("t2", &sun);
    char got[8];
    pid_t pid;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid = start(&trigger_spec, sv[1], l, "max_use=2");
    close(sv[1]);
    assert_int_equal(status_of(sv[0], pid), IPC_CHILD_READY);
    close(client(&sun, "1"));
    read_out(got, 1);
    close(client(&sun, "2"));
    read_out(got, 1);
    assert_string_equal(got, "2");
    /* Used up: no more work (busy with the last one), then it says it is
     * leaving before it does. */
    assert_int_equal(status_of(sv[0], pid), IPC_CHILD_BUSY);
    assert_int_equal(status_of(sv[0], pid), IPC_CHILD_IDLE);
    assert_int_equal(exit_status(pid), 0);
    close(sv[0]);
    close(l);
}

/* test_fifo - a fifo listener delivers what is written to it */
static void test_fifo(void **state)
{
    char path[128];
    char got[8];
    int sv[2];
    int fifo, w;
    pid_t pid;

    (void) state;
    snprintf(path, sizeof(path), "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    fifo = open(path, O_RDWR | O_NONBLOCK);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid = start(&trigger_spec, sv[1], fifo, NULL);
    close(sv[1]);
    assert_int_equal(status_of(sv[0], pid), IPC_CHILD_READY);
    w = open(path, O_WRONLY);
    assert_int_equal(write(w, "I", 1), 1);
    close(w);
    read_out(got, 1);
    assert_string_equal(got, "I");
    close(sv[0]);
    assert_int_equal(exit_status(pid), 0);
    close(fifo);
}

/* test_sessions - busy while full, available again after; SIGTERM waits
 * for the session in progress */
static void test_sessions(void **state)
{
    struct sockaddr_un sun;
    int sv[2];
    int l = listener("t3", &sun);
    int conn;
    pid_t pid;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid = start(&session_spec, sv[1], l, NULL);
    close(sv[1]);
    assert_int_equal(status_of(sv[0], pid), IPC_CHILD_READY);
    conn = client(&sun, NULL);
    assert_int_equal(status_of(sv[0], pid), IPC_CHILD_BUSY);
    close(conn);
    assert_int_equal(status_of(sv[0], pid), IPC_CHILD_READY);
    conn = client(&sun, NULL);
    assert_int_equal(status_of(sv[0], pid), IPC_CHILD_BUSY);
    kill(pid, SIGTERM);
    usleep(100 * 1000);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still serving */
    close(conn);
    assert_int_equal(exit_status(pid), 0);
    close(sv[0]);
    close(l);
}

/* test_own_session - a session the daemon began itself keeps a draining
 * process alive until it ends (qmgr's deliveries) */
static void test_own_session(void **state)
{
    struct sockaddr_un sun;
    int sv[2];
    int l = listener("t4", &sun);
    char got[2];
    pid_t pid;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid = start(&own_spec, sv[1], l, NULL);
    close(sv[1]);
    read_out(got, 1);
    assert_string_equal(got, "B");
    kill(pid, SIGTERM);
    usleep(100 * 1000);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still working */
    read_out(got, 1);
    assert_string_equal(got, "E");
    assert_int_equal(exit_status(pid), 0);
    close(sv[0]);
    close(l);
}

/* test_standalone - -S: standard input is the one session */
static void test_standalone(void **state)
{
    int sv[2];
    pid_t pid;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    if ((pid = fork()) == 0) {
        char *argv[] = {"test", "-c", dir, "-S", NULL};

        dup2(sv[1], 0);
        close(sv[0]);
        close(sv[1]);
        _exit(server_run(&session_spec, 4, argv));
    }
    close(sv[1]);
    usleep(100 * 1000);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* serving */
    close(sv[0]);
    assert_int_equal(exit_status(pid), 0);
}

/* test_no_master - without the status socket the daemon refuses to run */
static void test_no_master(void **state)
{
    (void) state;
    assert_int_equal(exit_status(start(&trigger_spec, -1, -1, NULL)), 1);
}

/* setup - a configuration directory that logs to stdout */
static int setup(void **state)
{
    char path[128];
    FILE *fp;
    int p[2];

    (void) state;

    if (mkdtemp(dir) == NULL || pipe(p) < 0)
        return -1;
    /* Out of the way of descriptors 3 and 4, which the daemon gets. */
    out_pipe[0] = fcntl(p[0], F_DUPFD, 30);
    out_pipe[1] = fcntl(p[1], F_DUPFD, 30);
    close(p[0]);
    close(p[1]);
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    if ((fp = fopen(path, "w")) == NULL)
        return -1;
    fprintf(fp, "maillog_file = /dev/stdout\n");
    fclose(fp);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* teardown - remove the directory */
static int teardown(void **state)
{
    char cmd[256];
    (void) state;
    snprintf(cmd, sizeof(cmd), "%s/main.cf", dir);
    unlink(cmd);
    for (const char *const *n =
             (const char *const[]){"t1", "t2", "t3", "t4", "fifo", NULL};
         *n; n++) {
        snprintf(cmd, sizeof(cmd), "%s/%s", dir, *n);
        unlink(cmd);
    }
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trigger_stream),
        cmocka_unit_test(test_max_use),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_own_session),
        cmocka_unit_test(test_standalone),
        cmocka_unit_test(test_no_master),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
