/* dict_tmp_test - an unfinished build's temporary file goes away at exit */
#include "lib/dict_tmp.h"
#include "lib/mem.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

/* test_exit - registered files are removed at exit, finished ones kept */
static void test_exit(void **state)
{
    char left[] = "/tmp/ulak-dict-tmp-XXXXXX";
    char kept[] = "/tmp/ulak-dict-tmp-XXXXXX";
    int fd1 = mkstemp(left);
    int fd2 = mkstemp(kept);
    pid_t pid;
    int status;

    (void) state;
    assert_true(fd1 >= 0 && fd2 >= 0);
    close(fd1);
    close(fd2);
    if ((pid = fork()) == 0) {
        dict_tmp_add(left);
        dict_tmp_add(kept);
        dict_tmp_done(kept);
        exit(1);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(access(left, F_OK), -1);
    assert_int_equal(access(kept, F_OK), 0);
    unlink(kept);
}

/* test_target - a build through a symbolic link replaces the linked file */
static void test_target(void **state)
{
    char dir[] = "/tmp/ulak-dict-tmp-XXXXXX";
    char file[128];
    char link[128];
    char *t;

    (void) state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(str_fmt(file, sizeof(file), "%s/real.db", dir), 0);
    assert_int_equal(str_fmt(link, sizeof(link), "%s/t.db", dir), 0);
    t = dict_tmp_target(link);
    assert_string_equal(t, link);
    mem_free(t);
    close(open(file, O_CREAT | O_WRONLY, 0644));
    assert_int_equal(symlink("real.db", link), 0);
    t = dict_tmp_target(link);
    assert_string_equal(t, file);
    mem_free(t);
    unlink(link);
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit),
        cmocka_unit_test(test_target),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
