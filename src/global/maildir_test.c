/* maildir_test - Maildir deliveries into temporary directories */
#include "global/maildir.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/htable.h"
#include "lib/msg.h"
#include "lib/str.h"

static char dir[] = "/tmp/ulak-maildir-XXXXXX";
static char md[96]; /* the Maildir, not yet made */

/* setup - a fresh parent directory */
static int setup(void **state)
{
    (void) state;
    memcpy(dir, "/tmp/ulak-maildir-XXXXXX", sizeof(dir));
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(md, sizeof(md), "%s/Maildir/", dir);
    return 0;
}

/* teardown - remove it all */
static int teardown(void **state)
{
    char cmd[128];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* count_dir - entries of md/SUB other than . and .. (-1: no dir) */
static int count_dir(const char *sub)
{
    char p[160];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(p, sizeof(p), "%s%s", md, sub);
    if ((d = opendir(p)) == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
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

/* deliver_text - maildir_deliver of a message in memory */
static int deliver_text(const struct maildir_opts *o, const char *msg,
                        struct buf *name, struct deliver_status *st,
                        struct buf *why)
{
    struct deliver_env env = {"a@b.test", "u@v.test", "u@v.test", 0};
    struct deliver_mem mem;
    struct deliver_src src;

    deliver_src_mem(&src, &mem, msg, strlen(msg));
    return maildir_deliver(md, o, &env, &src, name, st, why);
}

/* test_first - creates tmp/new/cur (0700); exact bytes; Postfix's name */
static void test_first(void **state)
{
    struct maildir_opts o = {0, 0, "h:o/st"};
    struct deliver_status st;
    struct buf why = BUF_INIT, name = BUF_INIT, got = BUF_INIT;
    struct buf want = BUF_INIT;
    struct stat sb;
    static const char *const subs[] = {"tmp", "new", "cur"};
    char p[160];
    size_t i;
    regex_t re;
    regmatch_t m[4];
    unsigned long long dev, ino;
    long sec;

    (void) state;
    assert_int_equal(
        deliver_text(&o, "Subject: v\n\nFrom x\nlast", &name, &st, &why), 0);
    assert_string_equal(st.dsn, "2.0.0");
    for (i = 0; i < NELEM(subs); i++) {
        snprintf(p, sizeof(p), "%s%s", md, subs[i]);
        assert_int_equal(stat(p, &sb), 0);
        assert_true(S_ISDIR(sb.st_mode));
        assert_int_equal(sb.st_mode & 07777, 0700);
    }
    assert_int_equal(count_dir("tmp"), 0);
    assert_int_equal(count_dir("new"), 1);
    assert_int_equal(count_dir("cur"), 0);
    file_text(buf_str(&name), &got);
    assert_string_equal(buf_str(&got), "Return-Path: <a@b.test>\n"
                                       "X-Original-To: u@v.test\n"
                                       "Delivered-To: u@v.test\n"
                                       "Subject: v\n"
                                       "\n"
                                       "From x\n"
                                       "last\n");
    assert_int_equal(stat(buf_str(&name), &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    /* SEC.VdevIinoMusec.HOST, the host escaped */
    assert_int_equal(regcomp(&re,
                             "/new/([0-9]+)\\.V([0-9a-f]+)I([0-9a-f]+)"
                             "M(0|[1-9][0-9]{0,5})\\.h\\\\072o\\\\057st$",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regexec(&re, buf_str(&name), 4, m, 0), 0);
    regfree(&re);
    assert_int_equal(
        sscanf(buf_str(&name) + m[1].rm_so, "%ld.V%llxI%llx", &sec, &dev, &ino),
        3);
    assert_true(labs(sec - (long) time(NULL)) < 5);
    assert_int_equal(dev, (unsigned long long) sb.st_dev);
    assert_int_equal(ino, (unsigned long long) sb.st_ino);
    /* the name starts with DIR/new/ whatever the slashes of DIR */
    buf_setf(&want, "%snew/", md);
    assert_int_equal(strncmp(buf_str(&name), buf_str(&want), buf_len(&want)),
                     0);
    buf_fini(&why);
    buf_fini(&name);
    buf_fini(&got);
    buf_fini(&want);
}

/* test_unique - many deliveries, from two processes, many names */
static void test_unique(void **state)
{
    struct maildir_opts o = {0, 0, NULL};
    struct deliver_status st;
    struct buf why = BUF_INIT, name = BUF_INIT;
    struct htable *seen = htable_new(512);
    int i, status;
    pid_t pid;

    (void) state;
    if ((pid = fork()) == 0) {
        for (i = 0; i < 200; i++)
            if (deliver_text(&o, "S: c\n\nx\n", &name, &st, &why) < 0)
                _exit(1);
        _exit(0);
    }
    for (i = 0; i < 200; i++) {
        assert_int_equal(deliver_text(&o, "S: p\n\nx\n", &name, &st, &why), 0);
        assert_null(htable_find(seen, buf_str(&name)));
        htable_enter(seen, buf_str(&name), seen);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(count_dir("new"), 400);
    assert_int_equal(count_dir("tmp"), 0);
    htable_free(seen, NULL);
    buf_fini(&why);
    buf_fini(&name);
}

/* test_size_limit - a file over the limit: 5.2.2, nothing stays */
static void test_size_limit(void **state)
{
    struct maildir_opts o = {100, 0, NULL};
    struct deliver_status st;
    struct buf why = BUF_INIT, big = BUF_INIT;
    int i;

    (void) state;
    buf_cat(&big, "Subject: big\n\n");
    for (i = 0; i < 5000; i++)
        buf_cat(&big, "0123456789012345678901234567890123456789\n");
    assert_int_equal(deliver_text(&o, buf_str(&big), NULL, &st, &why), -1);
    assert_string_equal(st.dsn, "5.2.2");
    assert_string_equal(buf_str(&why), "error writing message: File too large");
    assert_int_equal(count_dir("tmp"), 0);
    assert_int_equal(count_dir("new"), 0);
    buf_fini(&why);
    buf_fini(&big);
}

/* test_new_missing - new/ and cur/ made when the link needs them */
static void test_new_missing(void **state)
{
    struct maildir_opts o = {0, 0, NULL};
    struct deliver_status st;
    struct buf why = BUF_INIT;
    char p[160];

    (void) state;
    snprintf(p, sizeof(p), "%s", md);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%stmp", md);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(deliver_text(&o, "S: x\n\nx\n", NULL, &st, &why), 0);
    assert_int_equal(count_dir("new"), 1);
    assert_int_equal(count_dir("cur"), 0);
    assert_int_equal(count_dir("tmp"), 0);
    buf_fini(&why);
}

/* test_new_not_dir - Postfix's words when new/ is a file: 4.2.0 */
static void test_new_not_dir(void **state)
{
    struct maildir_opts o = {0, 0, "vm"};
    struct deliver_status st;
    struct buf why = BUF_INIT, want = BUF_INIT;
    char p[160];
    int fd;

    (void) state;
    assert_int_equal(mkdir(md, 0700), 0);
    snprintf(p, sizeof(p), "%stmp", md);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%snew", md);
    assert_true((fd = open(p, O_WRONLY | O_CREAT, 0600)) >= 0);
    close(fd);
    assert_int_equal(deliver_text(&o, "S: x\n\nx\n", NULL, &st, &why), -1);
    assert_string_equal(st.dsn, "4.2.0");
    assert_int_equal(st.cls, DELIVER_DEFER);
    buf_setf(&want, "create maildir file %snew/", md);
    assert_int_equal(strncmp(buf_str(&why), buf_str(&want), buf_len(&want)), 0);
    assert_true(str_has_suffix(buf_str(&why), ".vm: Not a directory"));
    assert_int_equal(count_dir("tmp"), 0);
    buf_fini(&why);
    buf_fini(&want);
}

/* fail_next - a source that fails at once */
static int fail_next(void *ctx, struct deliver_line *out, struct buf *why)
{
    (void) ctx;
    (void) out;
    buf_set(why, "queue file read error");
    return -1;
}

/* test_read_error - the tmp file goes; 4.3.0 */
static void test_read_error(void **state)
{
    struct maildir_opts o = {0, 0, NULL};
    struct deliver_env env = {"", "u@v.test", NULL, 0};
    struct deliver_src src = {fail_next, NULL};
    struct deliver_status st;
    struct buf why = BUF_INIT;

    (void) state;
    assert_int_equal(maildir_deliver(md, &o, &env, &src, NULL, &st, &why), -1);
    assert_string_equal(st.dsn, "4.3.0");
    assert_string_equal(buf_str(&why),
                        "error reading message: queue file read error");
    assert_int_equal(count_dir("tmp"), 0);
    assert_int_equal(count_dir("new"), 0);
    buf_fini(&why);
}

/* test_eacces - virtual defers, local (the flag) bounces */
static void test_eacces(void **state)
{
    struct maildir_opts o = {0, 0, "vm"};
    struct deliver_status st;
    struct buf why = BUF_INIT;
    char p[160];
    int status;
    pid_t pid;

    (void) state;
    assert_int_equal(mkdir(md, 0700), 0);
    snprintf(p, sizeof(p), "%stmp", md);
    assert_int_equal(mkdir(p, 0500), 0);
    /* root ignores modes: test as an ordinary user */
    if ((pid = fork()) == 0) {
        if (geteuid() == 0
            && (chown(dir, 65534, 65534) < 0 || chown(md, 65534, 65534) < 0
                || chown(p, 65534, 65534) < 0 || setgid(65534) < 0
                || setuid(65534) < 0))
            _exit(10);
        if (deliver_text(&o, "S: x\n\nx\n", NULL, &st, &why) != -1)
            _exit(11);
        if (strcmp(st.dsn, "4.2.0") != 0 || st.err != EACCES)
            _exit(12);
        if (!str_has_suffix(buf_str(&why), ".vm: Permission denied"))
            _exit(13);
        o.flags = MAILDIR_FLAG_EACCES_BOUNCE;
        if (deliver_text(&o, "S: x\n\nx\n", NULL, &st, &why) != -1)
            _exit(14);
        if (strcmp(st.dsn, "5.2.0") != 0 || st.cls != DELIVER_BOUNCE)
            _exit(15);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    buf_fini(&why);
}

/* test_hostname - the escapes of the Maildir specification */
static void test_hostname(void **state)
{
    struct buf b = BUF_INIT;

    (void) state;
    maildir_hostname(&b, "a/b:c.d");
    assert_string_equal(buf_str(&b), "a\\057b\\072c.d");
    buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_not_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eacces, setup, teardown),
        cmocka_unit_test(test_hostname),
    };

    msg_output_stderr(false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
