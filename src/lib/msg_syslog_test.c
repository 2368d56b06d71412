/* msg_syslog_test - log line shape and the file output. */
#include "lib/msg_syslog.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <time.h>
#include <unistd.h>

/* test_format - the line pflogsumm and mailgraph parse */
static void test_format(void **state)
{
    struct buf out = BUF_INIT;
    struct tm tm = {.tm_year = 126,
                    .tm_mon = 10,
                    .tm_mday = 2,
                    .tm_hour = 4,
                    .tm_min = 5,
                    .tm_sec = 6,
                    .tm_isdst = -1};
    long now;

    (void) state;
    setenv("TZ", "UTC", 1);
    tzset();
    now = (long) mktime(&tm);
    msg_logfile_format(&out, now, "mx", "ulak/smtpd", 123,
                       "warning: ", "text\nwith newline");
    assert_string_equal(buf_str(&out), "Nov  2 04:05:06 mx ulak/smtpd[123]: "
                                       "warning: text with newline\n");
    buf_fini(&out);
}

/* test_facility - facility names */
static void test_facility(void **state)
{
    (void) state;
    assert_true(msg_syslog_facility("mail") >= 0);
    assert_true(msg_syslog_facility("LOCAL7") >= 0);
    assert_int_equal(msg_syslog_facility("nosuch"), -1);
}

/* test_file - msg_* lines land in the file, one per call */
static void test_file(void **state)
{
    char path[] = "/tmp/ulak-msg-XXXXXX";
    int fd = mkstemp(path);
    struct buf why = BUF_INIT;
    char data[512];
    ssize_t n;

    (void) state;
    assert_true(fd >= 0);
    msg_output_stderr(false);
    assert_int_equal(msg_logfile_open(path, "ulak/test", "host", &why), 0);
    msg_info("hello %d", 1);
    msg_warn("careful");
    msg_logfile_close();
    n = read(fd, data, sizeof(data) - 1);
    assert_true(n > 0);
    data[n] = 0;
    assert_non_null(strstr(data, " host ulak/test["));
    assert_non_null(strstr(data, "]: hello 1\n"));
    assert_non_null(strstr(data, "]: warning: careful\n"));
    close(fd);
    unlink(path);
    assert_int_equal(msg_logfile_open("/nonexistent/dir/log", "t", "h", &why),
                     -1);
    assert_non_null(strstr(buf_str(&why), "open /nonexistent/dir/log: "));
    buf_fini(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_facility),
        cmocka_unit_test(test_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
