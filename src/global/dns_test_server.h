/*
 * dns_test_server - for unit tests only: the tests' DNS server
 * (python3 tests/e2e/dnsserver.py, Debian's unbound with the given zone
 * lines) on 127.0.0.1, started by a cmocka group setup and stopped by
 * closing its input.  Header-only so that it never enters libulak.
 *
 * dns_test_server_setup(S, NAME, ARGS): 0 with S->servers the
 * ulak_dns_servers value, or 0 with S->servers empty when this host has
 * no unbound or the test does not run in the source tree (the server
 * tests then skip: DNS_TEST_SKIP), -1 when the server failed to start.
 * ARGS are dnsserver.py's arguments after its folder ("--servfail", "x",
 * zone lines...), NULL-terminated.
 */
#ifndef ULAK_DNS_TEST_SERVER_H
#define ULAK_DNS_TEST_SERVER_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/str.h"

struct dns_test_server {
    pid_t pid;
    int in;           /* its standard input: closing it stops it */
    char servers[64]; /* "127.0.0.1:PORT", or "" */
    char workdir[64]; /* /tmp/NAME.XXXXXX */
};

#define DNS_TEST_SKIP(s)          \
    do {                          \
        if ((s)->servers[0] == 0) \
            skip();               \
    } while (0)

/* dns_test_server_start - 1 up, 0 not possible here, -1 failed */
static inline int dns_test_server_start(struct dns_test_server *s,
                                        const char *name,
                                        const char *const *args)
{
    const char *argv[64];
    size_t n = 0;
    int in[2], out[2];
    char line[64];
    ssize_t got;
    size_t len = 0;

    s->pid = -1;
    s->in = -1;
    s->servers[0] = 0;
    s->workdir[0] = 0;
    if (access("tests/e2e/dnsserver.py", R_OK) != 0
        || access("/usr/sbin/unbound", X_OK) != 0)
        return 0;
    if (str_fmt(s->workdir, sizeof(s->workdir), "/tmp/%s.XXXXXX", name) < 0
        || mkdtemp(s->workdir) == NULL || pipe(in) < 0 || pipe(out) < 0)
        return -1;
    argv[n++] = "python3";
    argv[n++] = "tests/e2e/dnsserver.py";
    argv[n++] = s->workdir;
    for (size_t i = 0; args[i] != NULL && n < sizeof(argv) / sizeof(*argv) - 1;
         i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if ((s->pid = fork()) == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execv("/usr/bin/python3", (char *const *) argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->in = in[1];
    while (len < sizeof(line) - 1
           && (got = read(out[0], line + len, sizeof(line) - 1 - len)) > 0) {
        len += (size_t) got;
        if (memchr(line, '\n', len))
            break;
    }
    close(out[0]);
    line[len] = 0;
    if (len == 0 || line[len - 1] != '\n')
        return -1;
    line[len - 1] = 0;
    return str_copy(s->servers, sizeof(s->servers), line) == 0 ? 1 : -1;
}

/* dns_test_server_setup - start it for a group (see above) */
static inline int dns_test_server_setup(struct dns_test_server *s,
                                        const char *name,
                                        const char *const *args)
{
    signal(SIGPIPE, SIG_IGN);
    switch (dns_test_server_start(s, name, args)) {
        case 1:
            return 0;
        case 0:
            s->servers[0] = 0;
            return 0;
        default:
            s->servers[0] = 0;
            fprintf(stderr, "%s: the DNS server did not start\n", name);
            return -1;
    }
}

/* dns_test_server_stop - stop it, remove its folder; 0 */
static inline int dns_test_server_stop(struct dns_test_server *s)
{
    char cmd[128];

    if (s->in >= 0)
        close(s->in);
    if (s->pid > 0)
        waitpid(s->pid, NULL, 0);
    s->in = -1;
    s->pid = -1;
    if (strncmp(s->workdir, "/tmp/", 5) == 0 && strstr(s->workdir, "..") == NULL
        && str_fmt(cmd, sizeof(cmd), "rm -rf %s", s->workdir) == 0
        && system(cmd) != 0)
        return -1;
    return 0;
}

#endif
