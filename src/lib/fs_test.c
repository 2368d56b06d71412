/* fs_test - durable and safe file operations. */
#include "lib/fs.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

/* path - DIR/NAME (static buffer, one of two rotating) */
static const char *path(const char *name)
{
    static char bufs[2][256];
    static int n;

    n = !n;
    assert_int_equal(str_fmt(bufs[n], sizeof(bufs[n]), "%s/%s", dir, name), 0);
    return bufs[n];
}

/* setup - a fresh folder */
static int setup(void **state)
{
    (void) state;
    msg_output_stderr(false);
    if (str_copy(dir, sizeof(dir), "/tmp/ulak-fs-XXXXXX") < 0
        || mkdtemp(dir) == NULL)
        return -1;
    return 0;
}

/* teardown - remove the folder */
static int teardown(void **state)
{
    char cmd[128];

    (void) state;
    (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* slurp - the content of a file */
static void slurp(const char *p, struct buf *out)
{
    struct buf why = BUF_INIT;
    int fd = open(p, O_RDONLY);

    assert_true(fd >= 0);
    buf_reset(out);
    assert_int_equal(fs_read_all(fd, 1 << 20, out, p, &why), 0);
    close(fd);
    buf_fini(&why);
}

/* write_file - create P with TEXT */
static void write_file(const char *p, const char *text)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(fs_write_all(fd, text, strlen(text), p, NULL), 0);
    close(fd);
}

/* test_dirname - the folder part of paths */
static void test_dirname(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {{"a/b/c", "a/b"}, {"/x", "/"}, {"name", "."}, {"/a/b", "/a"}};
    struct buf out = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        fs_dirname(cases[i].in, &out);
        if (strcmp(buf_str(&out), cases[i].want) != 0)
            fail_msg("%s: got %s, want %s", cases[i].in, buf_str(&out),
                     cases[i].want);
    }
    buf_fini(&out);
}

/* test_fsync - fsync of files and folders, and a missing folder */
static void test_fsync(void **state)
{
    struct buf why = BUF_INIT;
    int fd;

    (void) state;
    assert_int_equal(fs_fsync_dir(dir, &why), 0);
    write_file(path("f"), "x");
    assert_int_equal(fs_fsync_parent(path("f"), &why), 0);
    fd = open(path("f"), O_RDONLY);
    assert_int_equal(fs_fsync(fd, "f", &why), 0);
    close(fd);
    assert_int_equal(fs_fsync_dir(path("nosuch"), &why), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(buf_str(&why), "open folder"));
    assert_non_null(strstr(buf_str(&why), "No such file or directory"));
    buf_fini(&why);
}

/* test_read_all_bound - reading stops at the bound */
static void test_read_all_bound(void **state)
{
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    int fd;

    (void) state;
    write_file(path("big"), "0123456789");
    fd = open(path("big"), O_RDONLY);
    assert_int_equal(fs_read_all(fd, 9, &out, "big", &why), -1);
    assert_int_equal(errno, EFBIG);
    close(fd);
    fd = open(path("big"), O_RDONLY);
    buf_reset(&out);
    assert_int_equal(fs_read_all(fd, 10, &out, "big", &why), 0);
    assert_string_equal(buf_str(&out), "0123456789");
    close(fd);
    buf_fini(&out);
    buf_fini(&why);
}

/* test_rename - durable rename and rename without replacing */
static void test_rename(void **state)
{
    struct buf why = BUF_INIT;
    struct buf got = BUF_INIT;

    (void) state;
    write_file(path("a"), "A");
    write_file(path("b"), "B");
    assert_int_equal(fs_rename_noreplace(path("a"), path("b"), &why), -1);
    assert_int_equal(errno, EEXIST);
    slurp(path("b"), &got);
    assert_string_equal(buf_str(&got), "B");
    assert_int_equal(fs_rename_noreplace(path("a"), path("c"), &why), 0);
    assert_int_equal(access(path("a"), F_OK), -1);
    assert_int_equal(mkdir(path("sub"), 0700), 0);
    assert_int_equal(fs_rename_durable(path("c"), path("sub/b"), &why), 0);
    slurp(path("sub/b"), &got);
    assert_string_equal(buf_str(&got), "A");
    assert_int_equal(fs_rename_durable(path("nosuch"), path("x"), &why), -1);
    buf_fini(&why);
    buf_fini(&got);
}

/* test_safe_open - symlinks, hard links, owners, non-files refused */
static void test_safe_open(void **state)
{
    struct buf why = BUF_INIT;
    struct stat st;
    int fd;

    (void) state;
    write_file(path("plain"), "p");
    fd = fs_safe_open(path("plain"), O_RDONLY, 0, geteuid(), &st, &why);
    assert_true(fd >= 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);

    assert_int_equal(symlink(path("plain"), path("link")), 0);
    assert_int_equal(
        fs_safe_open(path("link"), O_RDONLY, 0, FS_ANY_OWNER, NULL, &why), -1);
    assert_int_equal(errno, ELOOP);

    assert_int_equal(link(path("plain"), path("hard")), 0);
    buf_reset(&why);
    assert_int_equal(
        fs_safe_open(path("hard"), O_RDONLY, 0, FS_ANY_OWNER, NULL, &why), -1);
    assert_non_null(strstr(buf_str(&why), "2 hard links"));
    assert_int_equal(unlink(path("hard")), 0);

    buf_reset(&why);
    assert_int_equal(
        fs_safe_open(path("plain"), O_RDONLY, 0, geteuid() + 1, NULL, &why),
        -1);
    assert_non_null(strstr(buf_str(&why), "is owned by uid"));

    assert_int_equal(mkfifo(path("fifo"), 0600), 0);
    buf_reset(&why);
    assert_int_equal(
        fs_safe_open(path("fifo"), O_RDONLY, 0, FS_ANY_OWNER, NULL, &why), -1);
    assert_non_null(strstr(buf_str(&why), "not a regular file"));

    fd = fs_safe_open(path("new"), O_WRONLY | O_CREAT | O_EXCL, 0600, geteuid(),
                      NULL, &why);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(fs_safe_open(path("new"), O_WRONLY | O_CREAT | O_EXCL,
                                  0600, geteuid(), NULL, &why),
                     -1);
    assert_int_equal(errno, EEXIST);
    buf_fini(&why);
}

/* test_mkdirs - parents, modes, existing folders, a file in the way */
static void test_mkdirs(void **state)
{
    struct buf why = BUF_INIT;
    struct stat st;

    (void) state;
    assert_int_equal(fs_mkdirs(path("x//y/z/"), 0750, &why), 0);
    assert_int_equal(stat(path("x/y/z"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(fs_mkdirs(path("x/y/z"), 0700, &why), 0);
    write_file(path("file"), "f");
    assert_int_equal(fs_mkdirs(path("file/sub"), 0700, &why), -1);
    assert_int_equal(fs_mkdirs(path("file"), 0700, &why), -1);
    assert_int_equal(errno, ENOTDIR);
    buf_fini(&why);
}

/* test_atomic - create-then-rename: commit, abort, old content kept */
static void test_atomic(void **state)
{
    struct fs_atomic a;
    struct buf why = BUF_INIT;
    struct buf got = BUF_INIT;
    char tmp[256];

    (void) state;
    write_file(path("target"), "old");
    assert_int_equal(fs_atomic_open(&a, path("target"), 0640, &why), 0);
    assert_int_equal(fs_write_all(a.fd, "new", 3, a.tmp_path, &why), 0);
    slurp(path("target"), &got);
    assert_string_equal(buf_str(&got), "old");
    assert_int_equal(fs_atomic_commit(&a, &why), 0);
    assert_int_equal(a.fd, -1);
    slurp(path("target"), &got);
    assert_string_equal(buf_str(&got), "new");

    assert_int_equal(fs_atomic_open(&a, path("target"), 0640, &why), 0);
    assert_int_equal(fs_write_all(a.fd, "lost", 4, a.tmp_path, &why), 0);
    assert_int_equal(str_copy(tmp, sizeof(tmp), a.tmp_path), 0);
    fs_atomic_abort(&a);
    assert_int_equal(access(tmp, F_OK), -1);
    slurp(path("target"), &got);
    assert_string_equal(buf_str(&got), "new");

    assert_int_equal(fs_atomic_open(&a, path("nosuch/target"), 0640, &why), -1);
    assert_non_null(strstr(buf_str(&why), "create"));
    buf_fini(&why);
    buf_fini(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dirname),
        cmocka_unit_test_setup_teardown(test_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_all_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_safe_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
