/* master_listen_test - where a service listens, and what is refused. */
#include "master/master_listen.h"

#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

static char dir[] = "/tmp/master_listen_test.XXXXXX";

struct key_case {
    const char *name;
    const char *line; /* a master.cf line */
    const char *interfaces;
    const char *protocols;
    const char *want; /* the key, or the error after "!" */
};

static const struct key_case key_cases[] = {
    {"host and port", "127.0.0.1:2525 inet n - n - - spawn", "all", "ipv4",
     "inet 127.0.0.1 port 2525"},
    {"port only, loopback", "2525 inet n - n - - spawn", "loopback-only",
     "ipv4", "inet 127.0.0.1 port 2525"},
    {"port only, list", "2525 inet n - n - - spawn", "127.0.0.1, 127.0.0.2",
     "ipv4", "inet 127.0.0.1 port 2525 127.0.0.2 port 2525"},
    {"all interfaces", "2525 inet n - n - - spawn", "all", "ipv4",
     "inet 0.0.0.0 port 2525"},
    {"bracketed v6", "[::1]:2525 inet n - n - - spawn", "all", "ipv6",
     "inet ::1 port 2525"},
    {"port by name", "127.0.0.1:smtp inet n - n - - spawn", "all", "ipv4",
     "inet 127.0.0.1 port 25"},
    {"private unix", "policy unix - n n - - spawn", "all", "all",
     "unix DIR/private/policy"},
    {"public fifo", "pickup fifo n - n - - spawn", "all", "all",
     "fifo DIR/public/pickup"},
    {"no port", "127.0.0.1: inet n - n - - spawn", "all", "ipv4",
     "!bad inet service \"127.0.0.1:\": no port"},
    {"bad brackets", "[::1]2525 inet n - n - - spawn", "all", "all",
     "!bad inet service \"[::1]2525\": want [address]:port"},
    {"unknown protocol", "2525 inet n - n - - spawn", "all", "ipx",
     "!inet_protocols: unknown protocol \"ipx\""},
    {"dot name", ".x unix - n n - - spawn", "all", "all",
     "!service name \".x\": may not contain '/' or start with '.'"},
};

/* replace_dir - TEXT with "DIR" replaced by the test folder */
static void replace_dir(const char *text, struct buf *out)
{
    const char *p = strstr(text, "DIR");

    buf_reset(out);
    if (p == NULL) {
        buf_set(out, text);
        return;
    }
    buf_catn(out, text, (size_t) (p - text));
    buf_cat(out, dir);
    buf_cat(out, p + 3);
}

/* test_keys - the endpoints of each case, or its error */
static void test_keys(void **state)
{
    (void) state;
    for (size_t i = 0; i < NELEM(key_cases); i++) {
        const struct key_case *c = &key_cases[i];
        struct buf why = BUF_INIT, key = BUF_INIT, want = BUF_INIT;
        struct argv *ifs = argv_split(c->interfaces, ", ");
        struct argv *prot = argv_split(c->protocols, ", ");
        struct master_listen_conf lc = {dir, ifs, prot};
        struct master_cf *cf =
            master_cf_parse("master.cf", c->line, strlen(c->line), &why);
        int r;

        assert_non_null(cf);
        r = master_listen_key(cf->head, &lc, &key, &why);
        replace_dir(c->want[0] == '!' ? c->want + 1 : c->want, &want);
        if (c->want[0] == '!') {
            if (r != -1 || strcmp(buf_str(&why), buf_str(&want)) != 0)
                fail_msg("%s: got %d \"%s\", want error \"%s\"", c->name, r,
                         buf_str(&why), buf_str(&want));
        } else if (r != 0 || strcmp(buf_str(&key), buf_str(&want)) != 0) {
            fail_msg("%s: got %d \"%s\" (%s), want \"%s\"", c->name, r,
                     buf_str(&key), buf_str(&why), buf_str(&want));
        }
        master_cf_free(cf);
        argv_free(ifs);
        argv_free(prot);
        buf_fini(&why);
        buf_fini(&key);
        buf_fini(&want);
    }
}

/* open_line - master_listen_open for one master.cf LINE */
static struct master_listen *open_line(const char *line, struct buf *why)
{
    struct argv *ifs = argv_split("127.0.0.1", " ");
    struct argv *prot = argv_split("ipv4", " ");
    struct master_listen_conf lc = {dir, ifs, prot};
    struct master_cf *cf =
        master_cf_parse("master.cf", line, strlen(line), why);
    struct master_listen *l;

    assert_non_null(cf);
    l = master_listen_open(cf->head, &lc, why);
    master_cf_free(cf);
    argv_free(ifs);
    argv_free(prot);
    return l;
}

/* test_open_local - sockets and fifos in private/ and public/ */
static void test_open_local(void **state)
{
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct master_listen *l;
    struct stat st;
    int type = 0;
    socklen_t len = sizeof(type);

    (void) state;
    l = open_line("policy unix - n n - - spawn", &why);
    assert_non_null(l);
    assert_int_equal(l->n, 1);
    buf_setf(&path, "%s/private/policy", dir);
    assert_string_equal(l->path, buf_str(&path));
    assert_int_equal(stat(l->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0666);
    assert_true(fcntl(l->fd[0], F_GETFD) & FD_CLOEXEC);
    master_listen_close(l, false);
    /* A leftover socket is replaced... */
    l = open_line("policy unix - n n - - spawn", &why);
    assert_non_null(l);
    master_listen_close(l, true);
    assert_int_equal(stat(buf_str(&path), &st), -1);

    l = open_line("log unix-dgram n - n - - spawn", &why);
    assert_non_null(l);
    assert_int_equal(getsockopt(l->fd[0], SOL_SOCKET, SO_TYPE, &type, &len), 0);
    assert_int_equal(type, SOCK_DGRAM);
    master_listen_close(l, true);

    l = open_line("pickup fifo n - n - - spawn", &why);
    assert_non_null(l);
    assert_int_equal(stat(l->path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    master_listen_close(l, true);

    /* ...but a regular file is not ours to remove. */
    buf_setf(&path, "%s/public/keep", dir);
    close(open(buf_str(&path), O_CREAT | O_WRONLY, 0600));
    assert_null(open_line("keep unix n - n - - spawn", &why));
    buf_setf(&path, "%s/public/keep exists and is not a socket or fifo", dir);
    assert_string_equal(buf_str(&why), buf_str(&path));
    buf_setf(&path, "%s/public/keep", dir);
    unlink(buf_str(&path));
    buf_fini(&why);
    buf_fini(&path);
}

/* test_open_inet - a TCP listener, and a busy port's error */
static void test_open_inet(void **state)
{
    struct buf why = BUF_INIT;
    struct buf line = BUF_INIT;
    struct buf want = BUF_INIT;
    struct master_listen *l, *again;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int port;

    (void) state;
    l = open_line("127.0.0.1:0 inet n - n - - spawn", &why);
    assert_non_null(l);
    assert_int_equal(l->n, 1);
    assert_int_equal(getsockname(l->fd[0], (struct sockaddr *) &ss, &len), 0);
    port = ntohs(((struct sockaddr_in *) &ss)->sin_port);
    assert_true(port > 0);
    buf_setf(&line, "127.0.0.1:%d inet n - n - - spawn", port);
    again = open_line(buf_str(&line), &why);
    assert_null(again);
    buf_setf(&want, "bind 127.0.0.1 port %d: Address already in use", port);
    assert_string_equal(buf_str(&why), buf_str(&want));
    master_listen_close(l, false);
    buf_fini(&why);
    buf_fini(&line);
    buf_fini(&want);
}

/* setup - the queue folder with private/ and public/ */
static int setup(void **state)
{
    struct buf p = BUF_INIT;

    (void) state;
    if (mkdtemp(dir) == NULL)
        return -1;
    buf_setf(&p, "%s/private", dir);
    mkdir(buf_str(&p), 0700);
    buf_setf(&p, "%s/public", dir);
    mkdir(buf_str(&p), 0700);
    buf_fini(&p);
    return 0;
}

/* teardown - remove it */
static int teardown(void **state)
{
    struct buf p = BUF_INIT;

    (void) state;
    buf_setf(&p, "%s/private/policy", dir);
    unlink(buf_str(&p));
    buf_setf(&p, "%s/private", dir);
    rmdir(buf_str(&p));
    buf_setf(&p, "%s/public", dir);
    rmdir(buf_str(&p));
    rmdir(dir);
    buf_fini(&p);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_open_local),
        cmocka_unit_test(test_open_inet),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
