/*
 * smtpd_peer - who the client is: its name from the host file (see
 * smtpd.h).
 */
#include "smtpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../lib/argv.h"
#include "../lib/str.h"

/* The host file, read at each connection: it is small and local. */
#define HOSTS_FILE     "/etc/hosts"
/* Longer lines are not host entries anyone writes; they are skipped. */
#define HOSTS_LINE_MAX 4096

/* same_addr - A and B are one address (any textual form) */
static bool same_addr(const char *a, const char *b)
{
    unsigned char x[16], y[16];

    if (inet_pton(AF_INET, a, x) == 1)
        return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
    if (inet_pton(AF_INET6, a, x) == 1)
        return inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
    return false;
}

/* smtpd_peer_name - the client's name from the host file */
void smtpd_peer_name(const char *addr, struct buf *name, struct buf *reverse)
{
    FILE *fp = fopen(HOSTS_FILE, "re");
    char line[HOSTS_LINE_MAX];
    bool found = false;

    buf_set(name, "unknown");
    buf_set(reverse, "unknown");
    if (fp == NULL)
        return;
    while (!found && fgets(line, sizeof(line), fp) != NULL) {
        char *hash = strchr(line, '#');
        struct argv *w;

        if (hash)
            *hash = 0;
        w = argv_split(line, " \t\r\n");
        if (w->argc >= 2 && same_addr(w->argv[0], addr)) {
            /* The first name of the first line for the address is what
             * a PTR lookup through the host file gives; it maps back to
             * the address by the same line. */
            buf_set(reverse, w->argv[1]);
            buf_set(name, w->argv[1]);
            buf_lower(name);
            found = true;
        }
        argv_free(w);
    }
    (void) fclose(fp);
}
