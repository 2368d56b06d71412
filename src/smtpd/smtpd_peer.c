/*
 * smtpd_peer - who the client is: its name from the host file, then the
 * DNS (see smtpd.h).
 */
#include "smtpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../lib/argv.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "../global/dns.h"
#include "smtpd_rbl.h"

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

/* One DNS lookup of a client name. */
struct smtpd_peer_lookup {
    struct dns *dns;
    struct dns_query *q;
    char *addr;
    bool v6;
    struct buf ptr; /* the PTR name */
    struct buf *name, *reverse;
    int *name_status, *reverse_status;
    void (*done)(void *);
    void *arg;
};

/* lookup_end - the answer is in: tell the caller */
static void lookup_end(struct smtpd_peer_lookup *lk)
{
    void (*done)(void *) = lk->done;
    void *arg = lk->arg;

    buf_fini(&lk->ptr);
    mem_free(lk->addr);
    mem_free(lk);
    done(arg);
}

/* on_forward - the PTR name's addresses: confirmed, or not */
static void on_forward(void *arg, const struct dns_answer *ans)
{
    struct smtpd_peer_lookup *lk = arg;
    const char *ptr = buf_str(&lk->ptr);
    size_t i;

    lk->q = NULL;
    if (ans->status == DNS_OK) {
        for (i = 0; i < ans->nrr; i++) {
            char host[INET6_ADDRSTRLEN];
            const struct dns_rr *rr = &ans->rr[i];
            const void *a;

            if (rr->addr.ss_family == AF_INET)
                a = &((const struct sockaddr_in *) (const void *) &rr->addr)
                         ->sin_addr;
            else if (rr->addr.ss_family == AF_INET6)
                a = &((const struct sockaddr_in6 *) (const void *) &rr->addr)
                         ->sin6_addr;
            else
                continue;
            if (inet_ntop(rr->addr.ss_family, a, host, sizeof(host))
                && same_addr(host, lk->addr)) {
                buf_set(lk->name, ptr);
                buf_lower(lk->name);
                *lk->name_status = 0;
                lookup_end(lk);
                return;
            }
        }
        msg_warn("hostname %s does not resolve to address %s", ptr, lk->addr);
        *lk->name_status = 5;
    } else if (ans->status == DNS_RETRY) {
        msg_warn("hostname %s does not resolve to address %s: Temporary "
                 "failure in name resolution",
                 ptr, lk->addr);
        *lk->name_status = 4;
    } else {
        msg_warn("hostname %s does not resolve to address %s: Name or "
                 "service not known",
                 ptr, lk->addr);
        *lk->name_status = 5;
    }
    lookup_end(lk);
}

/* on_ptr - the client address's PTR name: then its addresses */
static void on_ptr(void *arg, const struct dns_answer *ans)
{
    struct smtpd_peer_lookup *lk = arg;
    const char *ptr = NULL;
    size_t i;

    lk->q = NULL;
    for (i = 0; ans->status == DNS_OK && i < ans->nrr && ptr == NULL; i++)
        if (ans->rr[i].type == DNS_T_PTR && ans->rr[i].name != NULL
            && ans->rr[i].name[0] != 0)
            ptr = ans->rr[i].name;
    if (ptr == NULL) {
        *lk->name_status = *lk->reverse_status =
            ans->status == DNS_RETRY ? 4 : 5;
        lookup_end(lk);
        return;
    }
    buf_set(&lk->ptr, ptr);
    buf_set(lk->reverse, ptr);
    *lk->reverse_status = 0;
    if (strspn(ptr, "0123456789.") == strlen(ptr)) {
        /* An address as a name would "confirm" anything. */
        msg_warn("numeric hostname: %s", ptr);
        *lk->name_status = 5;
        lookup_end(lk);
        return;
    }
    lk->q =
        dns_lookup(lk->dns, ptr, lk->v6 ? DNS_T_AAAA : DNS_T_A, on_forward, lk);
}

/* smtpd_peer_lookup - the client's name: the host file, then the DNS */
struct smtpd_peer_lookup *
smtpd_peer_lookup(struct dns *dns, const char *addr, struct buf *name,
                  struct buf *reverse, int *name_status, int *reverse_status,
                  void (*done)(void *), void *arg)
{
    struct smtpd_peer_lookup *lk;
    struct buf q = BUF_INIT;
    bool v6 = false;

    smtpd_peer_name(addr, name, reverse);
    *name_status = *reverse_status = 0;
    if (strcmp(buf_str(name), "unknown") != 0)
        return NULL;
    *name_status = *reverse_status = 5;
    if (dns == NULL || smtpd_rbl_reverse(addr, &q, &v6) < 0) {
        buf_fini(&q);
        return NULL;
    }
    buf_cat(&q, v6 ? ".ip6.arpa" : ".in-addr.arpa");
    lk = mem_zalloc(sizeof(*lk));
    lk->dns = dns;
    lk->addr = mem_strdup(addr);
    lk->v6 = v6;
    buf_init(&lk->ptr, 0);
    lk->name = name;
    lk->reverse = reverse;
    lk->name_status = name_status;
    lk->reverse_status = reverse_status;
    lk->done = done;
    lk->arg = arg;
    lk->q = dns_lookup(dns, buf_str(&q), DNS_T_PTR, on_ptr, lk);
    buf_fini(&q);
    return lk;
}

/* smtpd_peer_cancel - stop LK without calling back */
void smtpd_peer_cancel(struct smtpd_peer_lookup *lk)
{
    if (lk->q != NULL)
        dns_cancel(lk->q);
    buf_fini(&lk->ptr);
    mem_free(lk->addr);
    mem_free(lk);
}
