/* mbox_test - mailbox appends into temporary directories, byte for byte */
#include "global/mbox.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/msg.h"

#include "global/conf.h"

#define T_NOV30 1796061600 /* Mon Nov 30 18:00:00 2026 UTC */

static char dir[] = "/tmp/ulak-mbox-XXXXXX";
static char path[80];

/* setup - UTC, a fresh directory */
static int setup(void **state)
{
    (void) state;
    setenv("TZ", "UTC", 1);
    tzset();
    memcpy(dir, "/tmp/ulak-mbox-XXXXXX", sizeof(dir));
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/user", dir);
    return 0;
}

/* teardown - remove the directory and what is in it */
static int teardown(void **state)
{
    char cmd[128];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* file_text - the content of P */
static void file_text(const char *p, struct buf *out)
{
    char chunk[4096];
    ssize_t n;
    int fd = open(p, O_RDONLY);

    assert_true(fd >= 0);
    buf_reset(out);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        buf_catn(out, chunk, (size_t) n);
    close(fd);
}

/* fast_opts - Postfix's defaults with short retries for tests */
static struct mbox_opts fast_opts(void)
{
    struct mbox_opts o = MBOX_OPTS_INIT;

    o.retry.attempts = 2;
    o.retry.delay_ms = 10;
    return o;
}

/* deliver_text - mbox_deliver of a message in memory */
static int deliver_text(const struct mbox_opts *o,
                        const struct deliver_env *env, const char *msg,
                        struct deliver_status *st, struct buf *why)
{
    struct deliver_mem mem;
    struct deliver_src src;

    deliver_src_mem(&src, &mem, msg, strlen(msg));
    return mbox_deliver(path, o, env, &src, st, why);
}

/* test_two_messages - a new mailbox (0600), two messages, exact bytes */
static void test_two_messages(void **state)
{
    struct mbox_opts o = fast_opts();
    struct deliver_env e1 = {"Sender@Example.test", "nobody@mx.example.test",
                             "nobody", T_NOV30};
    struct deliver_env e2 = {"", "nobody@mx.example.test", NULL, T_NOV30 + 1};
    struct deliver_status st;
    struct buf why = BUF_INIT, got = BUF_INIT;
    struct stat sb;
    char lock[96];

    (void) state;
    assert_int_equal(deliver_text(&o, &e1,
                                  "Subject: t1\n\nline1\nFrom me\n>From x\n",
                                  &st, &why),
                     0);
    assert_string_equal(st.dsn, "2.0.0");
    assert_int_equal(st.cls, DELIVER_SENT);
    assert_int_equal(deliver_text(&o, &e2, "Subject: t2\n\nx", &st, &why), 0);
    file_text(path, &got);
    assert_string_equal(buf_str(&got),
                        "From Sender@Example.test  Mon Nov 30 18:00:00 2026\n"
                        "Return-Path: <Sender@Example.test>\n"
                        "X-Original-To: nobody\n"
                        "Delivered-To: nobody@mx.example.test\n"
                        "Subject: t1\n"
                        "\n"
                        "line1\n"
                        ">From me\n"
                        ">From x\n"
                        "\n"
                        "From MAILER-DAEMON  Mon Nov 30 18:00:01 2026\n"
                        "Return-Path: <>\n"
                        "Delivered-To: nobody@mx.example.test\n"
                        "Subject: t2\n"
                        "\n"
                        "x\n"
                        "\n");
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    /* the dotlock is gone */
    snprintf(lock, sizeof(lock), "%s.lock", path);
    assert_int_equal(access(lock, F_OK), -1);
    buf_fini(&why);
    buf_fini(&got);
}

/* test_size_limit - a message that passes mailbox_size_limit: 5.2.2, the
 * file is as it was, also when a flush happened before the limit */
static void test_size_limit(void **state)
{
    struct mbox_opts o = fast_opts();
    struct deliver_env env = {"a@b.test", "u@x.test", NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT, before = BUF_INIT, after = BUF_INIT;
    struct buf big = BUF_INIT;
    struct stat sb;
    size_t i;

    (void) state;
    assert_int_equal(deliver_text(&o, &env, "Subject: 1\n\nx\n", &st, &why), 0);
    file_text(path, &before);
    /* 200 kB against a 150 kB limit: 64 kB chunks were written first */
    buf_cat(&big, "Subject: big\n\n");
    for (i = 0; i < 2000; i++)
        buf_cat(&big, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
                      "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
                      "\n");
    o.size_limit = 150000;
    assert_int_equal(deliver_text(&o, &env, buf_str(&big), &st, &why), -1);
    assert_string_equal(st.dsn, "5.2.2");
    assert_int_equal(st.cls, DELIVER_BOUNCE);
    assert_string_equal(buf_str(&why), "error writing message: File too large");
    file_text(path, &after);
    assert_string_equal(buf_str(&after), buf_str(&before));
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal((size_t) sb.st_size, buf_len(&before));
    /* a small one still fits afterwards */
    assert_int_equal(deliver_text(&o, &env, "Subject: 2\n\ny\n", &st, &why), 0);
    buf_fini(&why);
    buf_fini(&before);
    buf_fini(&after);
    buf_fini(&big);
}

/* test_kernel_efbig - a real write error (the file size resource limit,
 * which is how Postfix itself enforces the limit) truncates back too */
static void test_kernel_efbig(void **state)
{
    struct mbox_opts o = fast_opts();
    struct deliver_env env = {"a@b.test", "u@x.test", NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT, got = BUF_INIT;
    int status;
    pid_t pid;

    (void) state;
    assert_int_equal(deliver_text(&o, &env, "Subject: 1\n\nx\n", &st, &why), 0);
    if ((pid = fork()) == 0) {
        struct rlimit rl = {300, 300};
        struct buf big = BUF_INIT;
        int i;

        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
            _exit(10);
        o.size_limit = 0; /* only the kernel limit applies */
        buf_cat(&big, "Subject: big\n\n");
        for (i = 0; i < 20; i++)
            buf_cat(&big, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n");
        if (deliver_text(&o, &env, buf_str(&big), &st, &why) != -1)
            _exit(11);
        if (strcmp(st.dsn, "5.2.2") != 0)
            _exit(12);
        if (strcmp(buf_str(&why), "error writing message: File too large"))
            _exit(13);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    file_text(path, &got);
    assert_string_equal(buf_str(&got),
                        "From a@b.test  Mon Nov 30 18:00:00 2026\n"
                        "Return-Path: <a@b.test>\n"
                        "Delivered-To: u@x.test\n"
                        "Subject: 1\n"
                        "\n"
                        "x\n"
                        "\n");
    buf_fini(&why);
    buf_fini(&got);
}

/* fail_next - a source that fails after a few lines */
static int fail_next(void *ctx, struct deliver_line *out, struct buf *why)
{
    int *n = ctx;

    if ((*n)++ >= 3) {
        buf_set(why, "unexpected end of queue file");
        return -1;
    }
    out->text = span_of("From here");
    out->more = false;
    return 1;
}

/* test_read_error - a queue file read error defers and leaves nothing */
static void test_read_error(void **state)
{
    struct mbox_opts o = fast_opts();
    struct deliver_env env = {"a@b.test", "u@x.test", NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT;
    int n = 0;
    struct deliver_src src = {fail_next, &n};
    struct stat sb;

    (void) state;
    assert_int_equal(mbox_deliver(path, &o, &env, &src, &st, &why), -1);
    assert_string_equal(st.dsn, "4.3.0");
    assert_string_equal(buf_str(&why),
                        "error reading message: unexpected end of queue file");
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 0);
    buf_fini(&why);
}

/* expect_open_error - mbox_deliver fails with DSN and WHY */
static void expect_open_error(const struct mbox_opts *o, const char *dsn,
                              const char *want)
{
    struct deliver_env env = {"a@b.test", "u@x.test", NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT;

    assert_int_equal(deliver_text(o, &env, "Subject: x\n\nx\n", &st, &why), -1);
    assert_string_equal(st.dsn, dsn);
    assert_string_equal(buf_str(&why), want);
    buf_fini(&why);
}

/* test_open_checks - Postfix's refusals, with its words and statuses */
static void test_open_checks(void **state)
{
    struct mbox_opts o = fast_opts();
    char other[96], want[256];
    int fd;

    (void) state;
    /* a directory */
    assert_int_equal(mkdir(path, 0700), 0);
    expect_open_error(&o, "5.2.0", "cannot open file: Is a directory");
    assert_int_equal(rmdir(path), 0);
    /* a FIFO: O_NONBLOCK keeps the open from hanging */
    assert_int_equal(mkfifo(path, 0600), 0);
    expect_open_error(&o, "5.2.0",
                      "cannot open file: No such device or "
                      "address");
    assert_int_equal(unlink(path), 0);
    /* a character device through a root-owned link, or any link */
    assert_int_equal(symlink("/dev/null", path), 0);
    if (geteuid() == 0) {
        snprintf(want, sizeof(want), "destination %s is not a regular file",
                 path);
        expect_open_error(&o, "5.2.0", want);
    } else {
        expect_open_error(&o, "5.2.0", "file is a symbolic link");
    }
    assert_int_equal(unlink(path), 0);
    /* two hard links */
    snprintf(other, sizeof(other), "%s/other", dir);
    assert_true((fd = open(other, O_WRONLY | O_CREAT, 0600)) >= 0);
    close(fd);
    assert_int_equal(link(other, path), 0);
    expect_open_error(&o, "5.2.0", "file has 2 hard links");
    assert_int_equal(unlink(other), 0);
    /* strict_mailbox_ownership */
    o.owner = geteuid() + 1;
    snprintf(want, sizeof(want), "destination %s is not owned by recipient",
             path);
    expect_open_error(&o, "4.2.0", want);
}

/* test_symlink_user - a symbolic link that is not root's is refused */
static void test_symlink_user(void **state)
{
    struct mbox_opts o = fast_opts();
    char target[96];
    int fd;

    (void) state;
    snprintf(target, sizeof(target), "%s/target", dir);
    assert_true((fd = open(target, O_WRONLY | O_CREAT, 0600)) >= 0);
    close(fd);
    assert_int_equal(symlink(target, path), 0);
    if (geteuid() == 0 && lchown(path, 65534, 65534) < 0)
        fail();
    expect_open_error(&o, "5.2.0", "file is a symbolic link");
}

/* test_busy_locks - a held dotlock or fcntl lock defers with 4.2.0 */
static void test_busy_locks(void **state)
{
    struct mbox_opts o = fast_opts();
    struct deliver_env env = {"a@b.test", "u@x.test", NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT;
    char lock[96], want[256];
    int fd, go[2], ready[2], status;
    pid_t pid;
    char c;

    (void) state;
    snprintf(lock, sizeof(lock), "%s.lock", path);
    assert_true((fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0)) >= 0);
    close(fd);
    snprintf(want, sizeof(want), "unable to create lock file %s: File exists",
             lock);
    expect_open_error(&o, "4.2.0", want);
    /* someone else's lock file stays */
    assert_int_equal(access(lock, F_OK), 0);
    assert_int_equal(unlink(lock), 0);

    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    if ((pid = fork()) == 0) {
        struct mbox *mb = mbox_open(path, &o, &st, &why);

        if (mb == NULL || write(ready[1], "x", 1) != 1
            || read(go[0], &c, 1) != 1)
            _exit(1);
        mbox_close(mb);
        _exit(0);
    }
    assert_int_equal(read(ready[0], &c, 1), 1);
    o.locks = LOCK_METHOD_FCNTL; /* the child holds the dotlock too */
    expect_open_error(&o, "4.2.0",
                      "unable to lock for exclusive access: "
                      "Resource temporarily unavailable");
    assert_int_equal(write(go[1], "x", 1), 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* the child's close removed its dotlock */
    assert_int_equal(access(lock, F_OK), -1);
    o.locks = LOCK_METHOD_FCNTL | LOCK_METHOD_DOTLOCK;
    assert_int_equal(deliver_text(&o, &env, "S: x\n\nx\n", &st, &why), 0);
    close(go[0]);
    close(go[1]);
    close(ready[0]);
    close(ready[1]);
    buf_fini(&why);
}

#define WRITERS  4
#define MESSAGES 8
#define LINES    12000

/* writer - one process appending MESSAGES messages of LINES lines */
static void writer(const struct mbox_opts *o, int id)
{
    struct deliver_env env = {"a@b.test", "u@x.test", NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT, msg = BUF_INIT;
    int m, l;

    for (m = 0; m < MESSAGES; m++) {
        buf_setf(&msg, "Subject: w%d m%d\n\n", id, m);
        for (l = 0; l < LINES; l++)
            buf_catf(&msg, "w%d m%d l%d\n", id, m, l);
        if (deliver_text(o, &env, buf_str(&msg), &st, &why) < 0)
            _exit(1);
    }
    _exit(0);
}

/* check_interleave - every message whole and contiguous */
static void check_interleave(void)
{
    struct buf got = BUF_INIT, want = BUF_INIT;
    int count[WRITERS] = {0};
    const char *p, *end;
    int w, m, l, messages = 0;

    file_text(path, &got);
    p = buf_str(&got);
    end = p + buf_len(&got);
    while (p < end) {
        const char *subj = strstr(p, "Subject: w");

        assert_non_null(subj);
        assert_int_equal(sscanf(subj, "Subject: w%d m%d", &w, &m), 2);
        assert_true(w >= 0 && w < WRITERS);
        /* one writer's messages arrive in its order */
        assert_int_equal(m, count[w]);
        count[w]++;
        buf_setf(&want,
                 "From a@b.test  Mon Nov 30 18:00:00 2026\n"
                 "Return-Path: <a@b.test>\n"
                 "Delivered-To: u@x.test\n"
                 "Subject: w%d m%d\n\n",
                 w, m);
        for (l = 0; l < LINES; l++)
            buf_catf(&want, "w%d m%d l%d\n", w, m, l);
        buf_cat(&want, "\n");
        assert_true((size_t) (end - p) >= buf_len(&want));
        assert_memory_equal(p, buf_str(&want), buf_len(&want));
        p += buf_len(&want);
        messages++;
    }
    assert_int_equal(messages, WRITERS * MESSAGES);
    buf_fini(&got);
    buf_fini(&want);
}

/* concurrent - WRITERS processes at once with the LOCKS methods */
static void concurrent(unsigned locks)
{
    struct mbox_opts o = fast_opts();
    pid_t pids[WRITERS];
    int i, status;

    o.locks = locks;
    o.retry.attempts = 2000;
    o.retry.delay_ms = 2;
    for (i = 0; i < WRITERS; i++) {
        if ((pids[i] = fork()) == 0)
            writer(&o, i);
        assert_true(pids[i] > 0);
    }
    for (i = 0; i < WRITERS; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    check_interleave();
}

/* test_concurrent_fcntl - fcntl alone keeps messages apart */
static void test_concurrent_fcntl(void **state)
{
    (void) state;
    concurrent(LOCK_METHOD_FCNTL);
}

/* test_concurrent_dotlock - the dotlock alone keeps messages apart */
static void test_concurrent_dotlock(void **state)
{
    (void) state;
    concurrent(LOCK_METHOD_DOTLOCK);
}

/* test_concurrent_all - all three methods together */
static void test_concurrent_all(void **state)
{
    (void) state;
    concurrent(LOCK_METHOD_FLOCK | LOCK_METHOD_FCNTL | LOCK_METHOD_DOTLOCK);
}

/* test_chown - a new mailbox goes to the recipient (root), or the
 * delivery fails and leaves no file (anyone else) */
static void test_chown(void **state)
{
    struct mbox_opts o = fast_opts();
    struct deliver_env env = {"a@b.test", "u@x.test", NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT, want = BUF_INIT;
    struct stat sb;
    uid_t other = geteuid() == 65534 ? 65533 : 65534;

    (void) state;
    o.chown_uid = other;
    o.chown_gid = (gid_t) other;
    if (geteuid() == 0) {
        assert_int_equal(deliver_text(&o, &env, "S: x\n\nx\n", &st, &why), 0);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_uid, other);
        assert_int_equal(sb.st_gid, (gid_t) other);
        assert_int_equal(sb.st_mode & 07777, 0600);
        /* the next delivery with the ownership check passes */
        o.owner = other;
        assert_int_equal(deliver_text(&o, &env, "S: y\n\ny\n", &st, &why), 0);
    } else {
        assert_int_equal(deliver_text(&o, &env, "S: x\n\nx\n", &st, &why), -1);
        assert_string_equal(st.dsn, "4.2.0");
        buf_setf(&want,
                 "cannot change ownership of new file %s: Operation not "
                 "permitted",
                 path);
        assert_string_equal(buf_str(&why), buf_str(&want));
        assert_int_equal(stat(path, &sb), -1);
    }
    buf_fini(&why);
    buf_fini(&want);
}

/* test_over_limit - a mailbox already past the limit takes nothing */
static void test_over_limit(void **state)
{
    struct mbox_opts o = fast_opts();
    struct deliver_env env = {"a@b.test", "u@x.test", NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT;
    struct stat sb;

    (void) state;
    assert_int_equal(deliver_text(&o, &env, "S: x\n\nx\n", &st, &why), 0);
    assert_int_equal(stat(path, &sb), 0);
    o.size_limit = sb.st_size - 1;
    assert_int_equal(deliver_text(&o, &env, "", &st, &why), -1);
    assert_string_equal(st.dsn, "5.2.2");
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, o.size_limit + 1);
    buf_fini(&why);
}

/* test_opts_conf - the parameters local and virtual read */
static void test_opts_conf(void **state)
{
    struct mbox_opts o;
    struct buf why = BUF_INIT;

    (void) state;
    conf_set_dir(dir); /* no main.cf: Postfix's defaults */
    assert_int_equal(conf_load(&why), 0);
    assert_int_equal(
        mbox_opts_conf(&o, "mailbox_delivery_lock", "mailbox_size_limit", &why),
        0);
    assert_int_equal(o.locks, LOCK_METHOD_FCNTL | LOCK_METHOD_DOTLOCK);
    assert_int_equal(o.retry.attempts, 20);
    assert_int_equal(o.retry.delay_ms, 1000);
    assert_int_equal(o.retry.stale_sec, 500);
    assert_int_equal(o.size_limit, 51200000);
    assert_int_equal(o.mode, 0600);
    assert_int_equal(o.owner, (uid_t) -1);
    conf_override("virtual_mailbox_lock", "flock");
    conf_override("virtual_mailbox_limit", "1000");
    conf_override("deliver_lock_delay", "2s");
    conf_override("stale_lock_time", "1m");
    assert_int_equal(mbox_opts_conf(&o, "virtual_mailbox_lock",
                                    "virtual_mailbox_limit", &why),
                     0);
    assert_int_equal(o.locks, LOCK_METHOD_FLOCK);
    assert_int_equal(o.size_limit, 1000);
    assert_int_equal(o.retry.delay_ms, 2000);
    assert_int_equal(o.retry.stale_sec, 60);
    conf_override("virtual_mailbox_lock", "fcntl, posix");
    assert_int_equal(mbox_opts_conf(&o, "virtual_mailbox_lock",
                                    "virtual_mailbox_limit", &why),
                     -1);
    assert_string_equal(buf_str(&why),
                        "virtual_mailbox_lock: unknown locking method "
                        "\"posix\" (the methods are flock, fcntl and dotlock)");
    buf_fini(&why);
}

/* test_append_api - open once, append twice, sizes follow */
static void test_append_api(void **state)
{
    struct mbox_opts o = fast_opts();
    struct deliver_env env = {"a@b.test", "u@x.test", NULL, T_NOV30};
    struct deliver_status st;
    struct buf why = BUF_INIT;
    struct deliver_mem mem;
    struct deliver_src src;
    struct mbox *mb;
    static const char msg[] = "S: 1\n\nFrom x\n";

    (void) state;
    assert_non_null(mb = mbox_open(path, &o, &st, &why));
    assert_int_equal(mbox_size(mb), 0);
    deliver_src_mem(&src, &mem, msg, sizeof(msg) - 1);
    assert_int_equal(
        mbox_append(mb, &env, DELIVER_HDR_FROM_LINE, &src, &st, &why), 0);
    /* From_ line 40, then "S: 1\n\n>From x\n\n" */
    assert_int_equal(mbox_size(mb), 40 + 15);
    mbox_close(mb);
    mbox_close(NULL);
    buf_fini(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_efbig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_fcntl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_dotlock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opts_conf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_over_limit, setup, teardown),
    };

    msg_output_stderr(false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
