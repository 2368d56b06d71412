/* queue_dir_test - the folder tree, hashed paths, moves and scans. */
#include "global/queue_dir.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static struct queue_dir qd;

/* setup - a fresh queue tree with Postfix's default hashing */
static int setup(void **state)
{
    struct buf why = BUF_INIT;
    int rc;

    (void) state;
    msg_output_stderr(false);
    if (str_copy(dir, sizeof(dir), "/tmp/ulak-qdir-XXXXXX") < 0
        || mkdtemp(dir) == NULL)
        return -1;
    rc = queue_dir_init(&qd, dir, 1, "deferred, defer", false, &why);
    if (rc == 0)
        rc = queue_dir_create(&qd, geteuid(), getegid(), &why);
    buf_fini(&why);
    return rc;
}

/* teardown - remove the tree */
static int teardown(void **state)
{
    char cmd[128];

    (void) state;
    queue_dir_fini(&qd);
    (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* touch - create the file P */
static void touch(const char *p)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);

    if (fd < 0)
        fail_msg("create %s: %s", p, strerror(errno));
    close(fd);
}

/* test_create - every folder, with its mode */
static void test_create(void **state)
{
    struct buf p = BUF_INIT;
    struct buf why = BUF_INIT;
    struct stat st;

    (void) state;
    for (int i = 0; i < QUEUE_FOLDER_COUNT; i++) {
        queue_dir_folder_path(&qd, (enum queue_folder) i, &p);
        if (stat(buf_str(&p), &st) < 0)
            fail_msg("%s: %s", buf_str(&p), strerror(errno));
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, i == QUEUE_MAILDROP ? 0730 : 0700);
        assert_int_equal(st.st_uid, geteuid());
    }
    /* Again: nothing changes, no error. */
    assert_int_equal(queue_dir_create(&qd, geteuid(), getegid(), &why), 0);
    buf_fini(&p);
    buf_fini(&why);
}

/* test_names - folder names both ways */
static void test_names(void **state)
{
    enum queue_folder f;

    (void) state;
    assert_string_equal(queue_folder_name(QUEUE_DEFERRED), "deferred");
    assert_string_equal(queue_folder_name(QUEUE_TRACE), "trace");
    assert_int_equal(queue_folder_lookup("corrupt", &f), 0);
    assert_int_equal(f, QUEUE_CORRUPT);
    assert_int_equal(queue_folder_lookup("flush", &f), -1);
}

/* test_init_errors - bad hash settings */
static void test_init_errors(void **state)
{
    struct queue_dir q;
    struct buf why = BUF_INIT;

    (void) state;
    assert_int_equal(queue_dir_init(&q, "/x", 6, "", false, &why), -1);
    assert_string_equal(buf_str(&why), "hash_queue_depth: 6 is not in 0..5");
    buf_reset(&why);
    assert_int_equal(
        queue_dir_init(&q, "/x", 1, "deferred, nosuch", false, &why), -1);
    assert_string_equal(buf_str(&why),
                        "hash_queue_names: unknown queue folder \"nosuch\"");
    buf_reset(&why);
    assert_int_equal(queue_dir_init(&q, "/x", 1, "maildrop", false, &why), -1);
    assert_non_null(strstr(buf_str(&why), "cannot be hashed"));
    buf_fini(&why);
}

/* test_paths - hashed and flat paths; invalid IDs never make a path */
static void test_paths(void **state)
{
    struct buf p = BUF_INIT;
    struct buf want = BUF_INIT;
    struct buf why = BUF_INIT;
    struct queue_dir deep;

    (void) state;
    assert_int_equal(
        queue_dir_path(&qd, QUEUE_DEFERRED, "89DC5A76141", &p, &why), 0);
    buf_setf(&want, "%s/deferred/8/89DC5A76141", dir);
    assert_string_equal(buf_str(&p), buf_str(&want));
    assert_int_equal(queue_dir_path(&qd, QUEUE_ACTIVE, "89DC5A76141", &p, &why),
                     0);
    buf_setf(&want, "%s/active/89DC5A76141", dir);
    assert_string_equal(buf_str(&p), buf_str(&want));
    /* A long ID hashes by its hex microseconds (2VXx = 353025 = 56301). */
    assert_int_equal(queue_dir_init(&deep, dir, 2, "defer", true, &why), 0);
    assert_int_equal(
        queue_dir_path(&deep, QUEUE_DEFER, "3Pt2mN2VXxznjll", &p, &why), 0);
    buf_setf(&want, "%s/defer/5/6/3Pt2mN2VXxznjll", dir);
    assert_string_equal(buf_str(&p), buf_str(&want));
    queue_dir_fini(&deep);

    assert_int_equal(queue_dir_path(&qd, QUEUE_HOLD, "../x", &p, &why), -1);
    assert_string_equal(buf_str(&why), "invalid queue ID \"../x\"");
    assert_int_equal(errno, EINVAL);
    buf_fini(&p);
    buf_fini(&want);
    buf_fini(&why);
}

/* test_move_find - rename between folders, sub-folders made on demand */
static void test_move_find(void **state)
{
    struct buf p = BUF_INIT;
    struct buf why = BUF_INIT;
    enum queue_folder f;

    (void) state;
    assert_int_equal(queue_dir_path(&qd, QUEUE_INCOMING, "A1234B", &p, &why),
                     0);
    touch(buf_str(&p));
    assert_int_equal(queue_dir_find(&qd, "A1234B", &f, &p, &why), 0);
    assert_int_equal(f, QUEUE_INCOMING);
    assert_int_equal(
        queue_dir_move(&qd, QUEUE_INCOMING, QUEUE_ACTIVE, "A1234B", &why), 0);
    assert_int_equal(
        queue_dir_move(&qd, QUEUE_ACTIVE, QUEUE_DEFERRED, "A1234B", &why), 0);
    assert_int_equal(queue_dir_find(&qd, "A1234B", &f, &p, &why), 0);
    assert_int_equal(f, QUEUE_DEFERRED);
    assert_non_null(strstr(buf_str(&p), "/deferred/A/A1234B"));

    /* A move never replaces a file. */
    assert_int_equal(queue_dir_path(&qd, QUEUE_HOLD, "A1234B", &p, &why), 0);
    touch(buf_str(&p));
    assert_int_equal(
        queue_dir_move(&qd, QUEUE_DEFERRED, QUEUE_HOLD, "A1234B", &why), -1);
    assert_int_equal(errno, EEXIST);
    assert_int_equal(queue_dir_find(&qd, "A1234B", &f, &p, &why), 0);
    assert_int_equal(f, QUEUE_DEFERRED);

    buf_reset(&why);
    assert_int_equal(queue_dir_find(&qd, "B1234C", &f, &p, &why), -1);
    assert_int_equal(errno, ENOENT);
    assert_string_equal(buf_str(&why),
                        "queue file B1234C: not found in the queue");
    assert_int_equal(queue_dir_find(&qd, "x/y", &f, &p, &why), -1);
    assert_int_equal(errno, EINVAL);
    buf_fini(&p);
    buf_fini(&why);
}

/* test_scan - files in hashed sub-folders at any depth; junk skipped */
static void test_scan(void **state)
{
    struct buf p = BUF_INIT;
    struct buf why = BUF_INIT;
    struct queue_scan *s;
    const char *id;
    int seen = 0;

    (void) state;
    buf_setf(&p, "%s/deferred/8", dir);
    mkdir(buf_str(&p), 0700);
    buf_setf(&p, "%s/deferred/8/89DC5A76141", dir);
    touch(buf_str(&p));
    /* Left from a deeper hash_queue_depth. */
    buf_setf(&p, "%s/deferred/1", dir);
    mkdir(buf_str(&p), 0700);
    buf_setf(&p, "%s/deferred/1/2", dir);
    mkdir(buf_str(&p), 0700);
    buf_setf(&p, "%s/deferred/1/2/12345AB", dir);
    touch(buf_str(&p));
    /* Skipped: a temporary file, a stray name, a symlink, a bad folder. */
    buf_setf(&p, "%s/deferred/tmp.123.1", dir);
    touch(buf_str(&p));
    buf_setf(&p, "%s/deferred/README", dir);
    touch(buf_str(&p));
    buf_setf(&p, "%s/deferred/ABCDEF1", dir);
    assert_int_equal(symlink("/etc/passwd", buf_str(&p)), 0);
    buf_setf(&p, "%s/deferred/zz", dir);
    mkdir(buf_str(&p), 0700);
    buf_setf(&p, "%s/deferred/zz/ABCDEF2", dir);
    touch(buf_str(&p));

    s = queue_scan_open(&qd, QUEUE_DEFERRED, &why);
    assert_non_null(s);
    while ((id = queue_scan_next(s, &p)) != NULL) {
        if (strcmp(id, "89DC5A76141") == 0)
            assert_non_null(strstr(buf_str(&p), "/deferred/8/89DC5A76141"));
        else if (strcmp(id, "12345AB") == 0)
            assert_non_null(strstr(buf_str(&p), "/deferred/1/2/12345AB"));
        else
            fail_msg("unexpected %s at %s", id, buf_str(&p));
        seen++;
    }
    assert_null(queue_scan_error(s));
    queue_scan_close(s);
    assert_int_equal(seen, 2);

    /* A file in a sub-folder the current depth does not use can move. */
    buf_setf(&p, "%s/deferred/1/2/12345AB", dir);
    assert_int_equal(
        queue_dir_move_path(&qd, buf_str(&p), QUEUE_ACTIVE, "12345AB", &why),
        0);

    buf_setf(&p, "%s/hold", dir);
    assert_int_equal(rmdir(buf_str(&p)), 0);
    assert_null(queue_scan_open(&qd, QUEUE_HOLD, &why));
    assert_non_null(strstr(buf_str(&why), "open folder"));
    buf_fini(&p);
    buf_fini(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create, setup, teardown),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
