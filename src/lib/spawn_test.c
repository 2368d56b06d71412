/* spawn_test - the child gets exactly the argv, environment and
 * descriptors asked for, and failures before execve come back. */
#include "lib/spawn.h"
#include "lib/argv.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* run - start REQ with stdout on a pipe; the output and the exit status */
static int run(struct spawn_req *req, struct buf *out)
{
    int p[2];
    int fds[3];
    struct buf why = BUF_INIT;
    char chunk[512];
    ssize_t n;
    int status;
    pid_t pid;

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    fds[0] = -1;
    fds[1] = p[1];
    fds[2] = -1;
    req->fds = fds;
    req->nfds = 3;
    pid = spawn_start(req, &why);
    if (pid < 0)
        fail_msg("spawn_start: %s", buf_str(&why));
    close(p[1]);
    while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
        buf_catn(out, chunk, (size_t) n);
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    buf_fini(&why);
    return status;
}

/* test_argv_unchanged - shell characters and spaces arrive as given */
static void test_argv_unchanged(void **state)
{
    char *argv[] = {"printf",    "[%s]", "a b", "$HOME",
                    ";rm -rf /", "",     "`x`", NULL};
    struct spawn_req req = {.path = "/usr/bin/printf", .argv = argv};
    struct buf out = BUF_INIT;

    (void) state;
    assert_int_equal(run(&req, &out), 0);
    assert_string_equal(buf_str(&out), "[a b][$HOME][;rm -rf /][][`x`]");
    buf_fini(&out);
}

/* test_env_clean - nothing of the parent's environment leaks */
static void test_env_clean(void **state)
{
    char *argv[] = {"env", NULL};
    char *envp[] = {"A=1", "B=two words", NULL};
    struct spawn_req req = {.path = "/usr/bin/env", .argv = argv, .envp = envp};
    struct buf out = BUF_INIT;

    (void) state;
    setenv("SPAWN_TEST_LEAK", "yes", 1);
    assert_int_equal(run(&req, &out), 0);
    assert_string_equal(buf_str(&out), "A=1\nB=two words\n");
    buf_reset(&out);
    req.envp = NULL;
    assert_int_equal(run(&req, &out), 0);
    assert_string_equal(buf_str(&out), "");
    buf_fini(&out);
}

/* test_fds_closed - only 0, 1 and 2 stay open (ls adds its own 3) */
static void test_fds_closed(void **state)
{
    char *argv[] = {"ls", "/proc/self/fd", NULL};
    struct spawn_req req = {.path = "/bin/ls", .argv = argv};
    struct buf out = BUF_INIT;
    int leak = open("/dev/null", O_RDONLY); /* no close-on-exec */
    int high = dup2(leak, 40);

    (void) state;
    assert_true(leak >= 0 && high == 40);
    assert_int_equal(run(&req, &out), 0);
    assert_string_equal(buf_str(&out), "0\n1\n2\n3\n");
    close(leak);
    close(high);
    buf_fini(&out);
}

/* test_setsid - the child leads a new session when asked */
static void test_setsid(void **state)
{
    char *argv[] = {"cat", "/proc/self/stat", NULL};
    struct spawn_req req = {.path = "/bin/cat", .argv = argv, .setsid = true};
    struct buf out = BUF_INIT;
    long pid = 0, sid = -1;
    const char *paren;

    (void) state;
    assert_int_equal(run(&req, &out), 0);
    /* "pid (comm) state ppid pgrp session ..." */
    paren = strrchr(buf_str(&out), ')');
    assert_non_null(paren);
    assert_int_equal(sscanf(buf_str(&out), "%ld", &pid), 1);
    assert_int_equal(sscanf(paren + 2, "%*c %*d %*d %ld", &sid), 1);
    assert_int_equal(sid, pid);
    buf_fini(&out);
}

/* test_exec_failure - the reason comes back, no stray child */
static void test_exec_failure(void **state)
{
    char *argv[] = {"nope", NULL};
    struct spawn_req req = {.path = "/nonexistent/nope", .argv = argv};
    struct buf why = BUF_INIT;

    (void) state;
    assert_int_equal(spawn_start(&req, &why), -1);
    assert_string_equal(buf_str(&why), "execve /nonexistent/nope: No such "
                                       "file or directory");
    req.path = "bin/ls";
    assert_int_equal(spawn_start(&req, &why), -1);
    assert_string_equal(buf_str(&why),
                        "spawn: program path is not absolute: bin/ls");
    req.path = "/bin/true";
    req.chdir = "/nonexistent";
    assert_int_equal(spawn_start(&req, &why), -1);
    assert_string_equal(buf_str(&why),
                        "chdir /nonexistent: No such file or directory");
    buf_fini(&why);
}

/* test_status_text - Postfix's words for wait statuses */
static void test_status_text(void **state)
{
    struct buf b = BUF_INIT;

    (void) state;
    spawn_status_text(3 << 8, &b);
    assert_string_equal(buf_str(&b), "exit status 3");
    buf_reset(&b);
    spawn_status_text(SIGKILL, &b);
    assert_string_equal(buf_str(&b), "killed by signal 9");
    buf_fini(&b);
}

/* test_env_build - import_environment's NAME and NAME=VALUE forms */
static void test_env_build(void **state)
{
    struct argv *names = argv_split("SPAWN_A SPAWN_B=2 SPAWN_MISSING", " ");
    struct argv *env;

    (void) state;
    setenv("SPAWN_A", "1", 1);
    unsetenv("SPAWN_MISSING");
    env = spawn_env_clean(names);
    assert_int_equal(env->argc, 2);
    assert_string_equal(env->argv[0], "SPAWN_A=1");
    assert_string_equal(env->argv[1], "SPAWN_B=2");
    spawn_env_set(env, "SPAWN_A", "x");
    assert_string_equal(env->argv[0], "SPAWN_A=x");
    assert_int_equal(env->argc, 2);
    argv_free(env);
    argv_free(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv_unchanged),
        cmocka_unit_test(test_env_clean),
        cmocka_unit_test(test_fds_closed),
        cmocka_unit_test(test_setsid),
        cmocka_unit_test(test_exec_failure),
        cmocka_unit_test(test_status_text),
        cmocka_unit_test(test_env_build),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
