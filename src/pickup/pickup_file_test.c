/* pickup_file_test - maildrop files through pickup and cleanup: a good
 * file becomes an incoming/ file and leaves maildrop/, a damaged one goes
 * to corrupt/, and the attributes a user may not set are dropped. */
#include "pickup/pickup.h"
#include "global/conf.h"
#include "global/queue_file.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

static char dir[64];
static struct buf logged = BUF_INIT;
static struct queue_dir qd;

/* capture - the log lines the tests assert on */
static void capture(enum msg_level level, const char *text)
{
    buf_catf(&logged, "%s%s\n", msg_prefix(level), text);
}

/* setup - a fresh instance */
static int setup(void **state)
{
    struct buf text = BUF_INIT;
    struct buf why = BUF_INIT;
    char path[128];
    FILE *fp;

    (void) state;
    str_copy(dir, sizeof(dir), "/tmp/pickup_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    buf_setf(&text,
             "myhostname = mx.example.test\nmydomain = example.test\n"
             "queue_directory = %s/q\n",
             dir);
    str_fmt(path, sizeof(path), "%s/main.cf", dir);
    assert_non_null(fp = fopen(path, "w"));
    fputs(buf_str(&text), fp);
    fclose(fp);
    conf_set_dir(dir);
    assert_int_equal(conf_load(&why), 0);
    assert_int_equal(queue_dir_init_conf(&qd, &why), 0);
    assert_int_equal(queue_dir_create(&qd, getuid(), getgid(), &why), 0);
    buf_reset(&logged);
    buf_fini(&text);
    buf_fini(&why);
    return 0;
}

/* teardown - remove the instance */
static int teardown(void **state)
{
    struct buf cmd = BUF_INIT;

    (void) state;
    queue_dir_fini(&qd);
    buf_setf(&cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(buf_str(&cmd)), 0);
    buf_fini(&cmd);
    return 0;
}

/* drop - a maildrop file as sendmail writes it; its ID into ID */
static void drop(const char *filter, char *id, size_t len)
{
    struct buf why = BUF_INIT;
    struct queue_writer *w = queue_writer_open(&qd, QUEUE_MAILDROP, &why);
    struct queue_rcpt_in r = {.address = "bob@example.test"};
    struct timeval now = {1796064070, 0};

    assert_non_null(w);
    str_copy(id, len, queue_writer_id(w));
    assert_int_equal(queue_writer_time(w, &now), 0);
    assert_int_equal(queue_writer_sender(w, "joe"), 0);
    assert_int_equal(queue_writer_attr(w, "rewrite_context", "remote"), 0);
    assert_int_equal(queue_writer_attr(w, "sender_fullname", "Joe User"), 0);
    assert_int_equal(queue_writer_attr(w, "uid", "12345"), 0);
    if (filter)
        assert_int_equal(queue_writer_attr(w, "content_filter", filter), 0);
    assert_int_equal(queue_writer_rcpt(w, &r), 0);
    assert_int_equal(queue_writer_content_begin(w), 0);
    assert_int_equal(queue_writer_line(w, "Subject: hi", 11), 0);
    assert_int_equal(queue_writer_body_begin(w), 0);
    assert_int_equal(queue_writer_line(w, "", 0), 0);
    assert_int_equal(queue_writer_line(w, "body", 4), 0);
    assert_int_equal(queue_writer_content_end(w), 0);
    assert_int_equal(queue_writer_commit(w, &why), 0);
    buf_fini(&why);
}

/* only_file - the one queue file in folder F; its ID into ID */
static void only_file(enum queue_folder f, char *id, size_t len)
{
    struct buf why = BUF_INIT;
    struct queue_scan *s = queue_scan_open(&qd, f, &why);
    const char *got;

    assert_non_null(s);
    assert_non_null(got = queue_scan_next(s, NULL));
    str_copy(id, len, got);
    assert_null(queue_scan_next(s, NULL));
    queue_scan_close(s);
    buf_fini(&why);
}

/* empty - folder F holds no queue file */
static void empty(enum queue_folder f)
{
    struct buf why = BUF_INIT;
    struct queue_scan *s = queue_scan_open(&qd, f, &why);

    assert_non_null(s);
    assert_null(queue_scan_next(s, NULL));
    queue_scan_close(s);
    buf_fini(&why);
}

/* test_good - into incoming/, maildrop emptied, the log lines */
static void test_good(void **state)
{
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct buf data = BUF_INIT;
    struct buf want = BUF_INIT;
    struct cleanup_conf *cf;
    struct queue_env env = {0};
    char md[64], in[64];
    int fd;

    (void) state;
    drop("smtp:[127.0.0.1]:10025", md, sizeof(md));
    assert_non_null(cf = cleanup_conf_new(&why));
    assert_int_equal(pickup_scan(cf, &qd), 1);
    empty(QUEUE_MAILDROP);
    only_file(QUEUE_INCOMING, in, sizeof(in));
    buf_setf(&want, "%s: uid=%lu from=<joe>\n%s: message-id=<", in,
             (unsigned long) getuid(), in);
    if (strstr(buf_str(&logged), buf_str(&want)) == NULL)
        fail_msg("log lacks %s:\n%s", buf_str(&want), buf_str(&logged));

    assert_int_equal(queue_dir_path(&qd, QUEUE_INCOMING, in, &path, &why), 0);
    assert_int_equal(queue_file_read(buf_str(&path), O_RDONLY, 1 << 20, &fd,
                                     &data, &env, &why),
                     QUEUE_READ_OK);
    close(fd);
    assert_string_equal(env.sender, "joe@mx.example.test");
    /* The uid is the file owner's; the context is local; the filter a user
     * asked for is dropped. */
    buf_setf(&want, "%lu", (unsigned long) getuid());
    assert_string_equal(queue_env_attr(&env, "uid"), buf_str(&want));
    assert_string_equal(queue_env_attr(&env, "rewrite_context"), "local");
    assert_string_equal(queue_env_attr(&env, "sender_fullname"), "Joe User");
    assert_null(queue_env_attr(&env, "content_filter"));
    assert_int_equal(env.nrcpt, 1);
    assert_string_equal(env.rcpts[0].address, "bob@example.test");
    assert_string_equal(env.rcpts[0].orcpt, "rfc822;bob@example.test");
    assert_int_equal(env.arrival.tv_sec, 1796064070);
    buf_setf(&want, "From: Joe User <joe@mx.example.test>");
    assert_non_null(
        memmem(buf_str(&data), buf_len(&data), buf_str(&want), buf_len(&want)));
    queue_env_fini(&env);
    cleanup_conf_free(cf);
    buf_fini(&why);
    buf_fini(&path);
    buf_fini(&data);
    buf_fini(&want);
}

/* test_corrupt - a damaged file goes to corrupt/ with a warning */
static void test_corrupt(void **state)
{
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct cleanup_conf *cf;
    char md[64], got[64];
    FILE *fp;

    (void) state;
    drop(NULL, md, sizeof(md));
    assert_int_equal(queue_dir_path(&qd, QUEUE_MAILDROP, md, &path, &why), 0);
    assert_non_null(fp = fopen(buf_str(&path), "w"));
    fputs("garbage that is no queue file", fp);
    fclose(fp);
    assert_non_null(cf = cleanup_conf_new(&why));
    assert_int_equal(pickup_scan(cf, &qd), 1);
    empty(QUEUE_MAILDROP);
    empty(QUEUE_INCOMING);
    only_file(QUEUE_CORRUPT, got, sizeof(got));
    assert_string_equal(got, md);
    buf_setf(&path, "warning: maildrop/%s: offset 0: ", md);
    if (strstr(buf_str(&logged), buf_str(&path)) == NULL
        || strstr(buf_str(&logged), "-- moved to corrupt") == NULL)
        fail_msg("log: %s", buf_str(&logged));
    cleanup_conf_free(cf);
    buf_fini(&why);
    buf_fini(&path);
}

/* test_tempfail - a table that fails: the file stays in maildrop/ */
static void test_tempfail(void **state)
{
    struct buf why = BUF_INIT;
    struct cleanup_conf *cf;
    char md[64], got[64];

    (void) state;
    conf_override("virtual_alias_maps", "fail:broken");
    drop(NULL, md, sizeof(md));
    assert_non_null(cf = cleanup_conf_new(&why));
    assert_int_equal(pickup_scan(cf, &qd), 0);
    only_file(QUEUE_MAILDROP, got, sizeof(got));
    assert_string_equal(got, md);
    empty(QUEUE_INCOMING);
    if (strstr(buf_str(&logged), "-- will try again") == NULL)
        fail_msg("log: %s", buf_str(&logged));
    cleanup_conf_free(cf);
    conf_override("virtual_alias_maps", "");
    buf_fini(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tempfail, setup, teardown),
    };

    msg_init("pickup_file_test");
    msg_output_stderr(false);
    msg_output_add(capture);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
