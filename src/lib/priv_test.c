/* priv_test - lookups, and a drop that sticks (run in a child process). */
#include "lib/priv.h"

#include <sys/wait.h>
#include <unistd.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* test_lookup - a known and an unknown user */
static void test_lookup(void **state)
{
    struct buf why = BUF_INIT;
    uid_t uid = 7;
    gid_t gid = 7;

    (void) state;
    assert_int_equal(priv_lookup("root", &uid, &gid, &why), 0);
    assert_int_equal(uid, 0);
    assert_int_equal(priv_lookup("no-such-user-ulak", &uid, &gid, &why), -1);
    assert_string_equal(buf_str(&why), "unknown user: no-such-user-ulak");
    buf_fini(&why);
}

/* test_drop - as root: to nobody for good; otherwise: only to oneself */
static void test_drop(void **state)
{
    struct buf why = BUF_INIT;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    int status;

    (void) state;
    if (geteuid() == 0) {
        assert_int_equal(priv_lookup("nobody", &uid, &gid, &why), 0);
    } else {
        uid = 0;
        gid = 0;
    }
    if ((pid = fork()) == 0) {
        if (geteuid() != 0) {
            /* Not root: becoming root must fail with a reason. */
            if (priv_drop(uid, gid, &why) == 0)
                _exit(2);
            if (strstr(buf_str(&why), "not root") == NULL)
                _exit(3);
            if (priv_drop(geteuid(), getegid(), &why) < 0)
                _exit(4);
            _exit(0);
        }
        if (priv_drop(uid, gid, &why) < 0)
            _exit(5);
        if (getuid() != uid || geteuid() != uid || getgid() != gid)
            _exit(6);
        if (setuid(0) == 0 || setgid(0) == 0)
            _exit(7);
        if (getgroups(0, NULL) != 1)
            _exit(8);
        _exit(0);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    buf_fini(&why);
}

/* test_verify - the current ids verify; others do not */
static void test_verify(void **state)
{
    struct buf why = BUF_INIT;
    uid_t r, e, s;
    gid_t rg, eg, sg;

    (void) state;
    assert_int_equal(getresuid(&r, &e, &s), 0);
    assert_int_equal(getresgid(&rg, &eg, &sg), 0);
    if (r == e && e == s && rg == eg && eg == sg && r == 0)
        assert_int_equal(priv_verify(r, rg, &why), 0);
    assert_int_equal(priv_verify(r + 1, rg, &why), -1);
    assert_non_null(strstr(buf_str(&why), "user ids are"));
    buf_fini(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_drop),
        cmocka_unit_test(test_verify),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
