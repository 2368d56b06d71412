/* lock_test - kernel locks and the dotlock protocol, with real contention */
#include "lib/lock.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/ulak-lock-XXXXXX";
static char path[64];

/* setup - a fresh directory with an empty file */
static int setup(void **state)
{
    int fd;

    (void) state;
    memcpy(dir, "/tmp/ulak-lock-XXXXXX", sizeof(dir));
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/mbox", dir);
    if ((fd = open(path, O_WRONLY | O_CREAT, 0600)) < 0)
        return -1;
    close(fd);
    return 0;
}

/* teardown - remove what the test left */
static int teardown(void **state)
{
    char lock[80];

    (void) state;
    snprintf(lock, sizeof(lock), "%s.lock", path);
    unlink(lock);
    unlink(path);
    rmdir(dir);
    return 0;
}

/* now_ms - monotonic milliseconds */
static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* test_parse - method lists as main.cf writes them */
static void test_parse(void **state)
{
    struct buf why = BUF_INIT;
    unsigned m = 99;

    (void) state;
    assert_int_equal(
        lock_methods_parse("mailbox_delivery_lock", "fcntl, dotlock", &m, &why),
        0);
    assert_int_equal(m, LOCK_METHOD_FCNTL | LOCK_METHOD_DOTLOCK);
    assert_int_equal(lock_methods_parse("x", " FLOCK\tfcntl,,", &m, &why), 0);
    assert_int_equal(m, LOCK_METHOD_FLOCK | LOCK_METHOD_FCNTL);
    assert_int_equal(lock_methods_parse("x", "", &m, &why), 0);
    assert_int_equal(m, 0);
    m = 7;
    assert_int_equal(
        lock_methods_parse("virtual_mailbox_lock", "fcntl, lockf", &m, &why),
        -1);
    assert_int_equal(m, 7);
    assert_string_equal(buf_str(&why),
                        "virtual_mailbox_lock: unknown locking method "
                        "\"lockf\" (the methods are flock, fcntl and dotlock)");
    buf_fini(&why);
}

/* hold_in_child - fork a child that takes METHOD on path and waits; the
 * parent returns once the lock is held.  *RELEASE is written to let go. */
static pid_t hold_in_child(unsigned method, int *release)
{
    int ready[2], go[2];
    pid_t pid;
    char c;

    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    if ((pid = fork()) == 0) {
        int fd = open(path, O_WRONLY);
        struct lock_retry r = {1, 0, 500};
        struct buf why = BUF_INIT;

        if (fd < 0 || lock_fd(fd, method, &r, &why) < 0)
            _exit(1);
        if (write(ready[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        _exit(0);
    }
    assert_true(pid > 0);
    close(ready[1]);
    close(go[0]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    *release = go[1];
    return pid;
}

/* contend - METHOD held elsewhere fails after the retries, then works */
static void contend(unsigned method)
{
    struct buf why = BUF_INIT;
    struct lock_retry r = {3, 40, 500};
    int release, status, fd;
    long t0;
    pid_t pid = hold_in_child(method, &release);

    assert_true((fd = open(path, O_WRONLY)) >= 0);
    t0 = now_ms();
    assert_int_equal(lock_fd(fd, method, &r, &why), -1);
    assert_int_equal(errno, EAGAIN);
    /* two sleeps of 20..60 ms between three attempts */
    assert_true(now_ms() - t0 >= 40);
    assert_string_equal(buf_str(&why), "unable to lock for exclusive access: "
                                       "Resource temporarily unavailable");
    assert_int_equal(write(release, "x", 1), 1);
    close(release);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(lock_fd(fd, method, &r, &why), 0);
    lock_fd_release(fd, method);
    close(fd);
    buf_fini(&why);
}

/* test_fcntl - a busy fcntl lock */
static void test_fcntl(void **state)
{
    (void) state;
    contend(LOCK_METHOD_FCNTL);
}

/* test_flock - a busy flock lock */
static void test_flock(void **state)
{
    (void) state;
    contend(LOCK_METHOD_FLOCK);
}

/* test_both_release - a failed fcntl gives back the flock taken first */
static void test_both_release(void **state)
{
    struct buf why = BUF_INIT;
    struct lock_retry r = {1, 0, 500};
    int release, status, fd, fd2;
    pid_t pid = hold_in_child(LOCK_METHOD_FCNTL, &release);

    (void) state;
    assert_true((fd = open(path, O_WRONLY)) >= 0);
    assert_int_equal(lock_fd(fd, LOCK_METHOD_KERNEL, &r, &why), -1);
    /* the flock must be free again: another open file can take it */
    assert_true((fd2 = open(path, O_WRONLY)) >= 0);
    assert_int_equal(flock(fd2, LOCK_EX | LOCK_NB), 0);
    close(fd2);
    assert_int_equal(write(release, "x", 1), 1);
    close(release);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(fd);
    buf_fini(&why);
}

/* test_dotlock - create, busy, release */
static void test_dotlock(void **state)
{
    struct buf why = BUF_INIT;
    struct lock_retry r = {2, 10, 500};
    char lock[80];
    char want[160];
    struct stat st;

    (void) state;
    snprintf(lock, sizeof(lock), "%s.lock", path);
    assert_int_equal(lock_dot_acquire(path, &r, &why), 0);
    assert_int_equal(stat(lock, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0);
    assert_int_equal(lock_dot_acquire(path, &r, &why), -1);
    assert_int_equal(errno, EEXIST);
    snprintf(want, sizeof(want), "unable to create lock file %s: File exists",
             lock);
    assert_string_equal(buf_str(&why), want);
    /* a fresh lock is not stale: still there */
    assert_int_equal(stat(lock, &st), 0);
    assert_int_equal(lock_dot_release(path, &why), 0);
    assert_int_equal(stat(lock, &st), -1);
    assert_int_equal(lock_dot_release(path, &why), -1);
    assert_non_null(strstr(buf_str(&why), "No such file or directory"));
    buf_fini(&why);
}

/* test_stale - a lock older than stale_sec (by ctime) is removed */
static void test_stale(void **state)
{
    struct buf why = BUF_INIT;
    struct lock_retry r = {8, 600, 1};
    char lock[80];
    int fd;
    long t0;

    (void) state;
    snprintf(lock, sizeof(lock), "%s.lock", path);
    assert_true((fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0)) >= 0);
    close(fd);
    t0 = now_ms();
    assert_int_equal(lock_dot_acquire(path, &r, &why), 0);
    /* "more than 1 second old" takes at least one second */
    assert_true(now_ms() - t0 >= 1000);
    assert_int_equal(lock_dot_release(path, &why), 0);
    buf_fini(&why);
}

/* test_dot_hard_error - a missing directory fails at once, no retries */
static void test_dot_hard_error(void **state)
{
    struct buf why = BUF_INIT;
    struct lock_retry r = {5, 1000, 500};
    long t0 = now_ms();

    (void) state;
    assert_int_equal(lock_dot_acquire("/nonexistent-ulak/u", &r, &why), -1);
    assert_int_equal(errno, ENOENT);
    assert_true(now_ms() - t0 < 500);
    assert_string_equal(buf_str(&why),
                        "unable to create lock file /nonexistent-ulak/u.lock: "
                        "No such file or directory");
    buf_fini(&why);
}

/* test_jitter - sleeps between half and one and a half times the delay */
static void test_jitter(void **state)
{
    long t0, dt;
    int i;

    (void) state;
    for (i = 0; i < 5; i++) {
        t0 = now_ms();
        lock_sleep_jitter(40);
        dt = now_ms() - t0;
        assert_true(dt >= 19 && dt < 200);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup_teardown(test_fcntl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotlock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
        cmocka_unit_test(test_dot_hard_error),
        cmocka_unit_test(test_jitter),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
