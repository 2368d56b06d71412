/* trigger_test - wakeups through a socket and a fifo, and what happens
 * when nobody listens. */
#include "global/trigger.h"
#include "global/ipc_msgs.h"
#include "lib/ipc.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64];
static char path[128];

/* setup - a folder for the endpoints */
static int setup(void **state)
{
    (void) state;
    str_copy(dir, sizeof(dir), "/tmp/trigger_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    str_fmt(path, sizeof(path), "%s/ep", dir);
    return 0;
}

/* teardown - remove them */
static int teardown(void **state)
{
    (void) state;
    unlink(path);
    rmdir(dir);
    return 0;
}

/* listen_at - a listening stream socket at PATH */
static int listen_at(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    str_copy(sun.sun_path, sizeof(sun.sun_path), path);
    assert_int_equal(bind(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

/* read_all - what the one client wrote, up to end of file */
static size_t read_all(int lfd, char *out, size_t size)
{
    int c = accept(lfd, NULL, NULL);
    size_t got = 0;
    ssize_t n;

    assert_true(c >= 0);
    while (got < size && (n = read(c, out + got, size - got)) > 0)
        got += (size_t) n;
    close(c);
    return got;
}

/* test_socket - the byte arrives, then end of file */
static void test_socket(void **state)
{
    struct buf why = BUF_INIT;
    char data[16];
    int lfd;

    (void) state;
    lfd = listen_at();
    assert_int_equal(trigger_send(path, "W", 1, &why), 0);
    assert_int_equal(read_all(lfd, data, sizeof(data)), 1);
    assert_int_equal(data[0], 'W');
    close(lfd);
    buf_fini(&why);
}

/* test_wakeup_frame - a wakeup message that decodes */
static void test_wakeup_frame(void **state)
{
    struct buf why = BUF_INIT;
    struct ipc_frame frame;
    struct ipc_wakeup msg;
    char data[256];
    size_t n, used = 0;
    int lfd;

    (void) state;
    lfd = listen_at();
    assert_int_equal(trigger_wakeup(path, "incoming", "3F2A81C0B4D", &why), 0);
    n = read_all(lfd, data, sizeof(data));
    assert_int_equal(data[0], 0); /* a frame, not a trigger letter */
    assert_int_equal(ipc_parse(span_make(data, n), &used, &frame, &why),
                     IPC_PARSE_FRAME);
    assert_int_equal(used, n);
    assert_int_equal(ipc_wakeup_decode(&frame, &msg, &why), 0);
    assert_string_equal(msg.queue_name, "incoming");
    assert_string_equal(msg.queue_id, "3F2A81C0B4D");
    ipc_wakeup_fini(&msg);
    close(lfd);
    buf_fini(&why);
}

/* test_fifo - the byte arrives; without a reader it is an error */
static void test_fifo(void **state)
{
    struct buf why = BUF_INIT;
    char c = 0;
    int rfd;

    (void) state;
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(trigger_send(path, "W", 1, &why), -1);
    assert_non_null(strstr(buf_str(&why), "No such device or address"));
    rfd = open(path, O_RDONLY | O_NONBLOCK);
    assert_true(rfd >= 0);
    assert_int_equal(trigger_send(path, "W", 1, &why), 0);
    assert_int_equal(read(rfd, &c, 1), 1);
    assert_int_equal(c, 'W');
    close(rfd);
    buf_fini(&why);
}

/* test_failures - no endpoint, nobody listening, not an endpoint */
static void test_failures(void **state)
{
    struct buf why = BUF_INIT;
    struct buf want = BUF_INIT;
    int fd;

    (void) state;
    assert_int_equal(trigger_send(path, "W", 1, &why), -1);
    buf_setf(&want, "%s: No such file or directory", path);
    assert_string_equal(buf_str(&why), buf_str(&want));

    fd = listen_at();
    close(fd); /* the socket file stays, nobody listens */
    assert_int_equal(trigger_send(path, "W", 1, &why), -1);
    buf_setf(&want, "%s: connect: Connection refused", path);
    assert_string_equal(buf_str(&why), buf_str(&want));
    unlink(path);

    assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
    close(fd);
    assert_int_equal(trigger_send(path, "W", 1, &why), -1);
    buf_setf(&want, "%s: not a socket or fifo", path);
    assert_string_equal(buf_str(&why), buf_str(&want));
    buf_fini(&why);
    buf_fini(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wakeup_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
