/* TEMPORARY until branch dns lands: smtp_addr_find for IP literals and
 * unix: paths only, and a resolver that is never asked.  Removed at the
 * merge of branch dns (src/smtp/smtp_addr.c, src/global/dns.c). */
#include "smtp_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "../lib/mem.h"
#include "../lib/str.h"
#include "../global/conf.h"

struct dns {
    int unused;
};

struct smtp_addr_req {
    struct loop_ev *ev;
    struct smtp_addr_result *res;
    smtp_addr_fn fn;
    void *arg;
};

/* dns_new - a placeholder */
struct dns *dns_new(struct loop *loop, const char *servers, struct buf *why)
{
    (void) loop;
    (void) servers;
    (void) why;
    return mem_zalloc(sizeof(struct dns));
}

/* dns_free - the placeholder */
void dns_free(struct dns *d)
{
    mem_free(d);
}

/* fire - the callback from the loop */
static void fire(int fd, int what, void *arg)
{
    struct smtp_addr_req *r = arg;

    (void) fd;
    (void) what;
    loop_ev_free(r->ev);
    r->fn(r->arg, r->res);
    mem_free(r);
}

/* smtp_addr_find - literals only */
struct smtp_addr_req *smtp_addr_find(struct dns *dns,
                                     const struct smtp_addr_conf *conf,
                                     struct loop *loop, const char *nexthop,
                                     smtp_addr_fn fn, void *arg)
{
    struct smtp_addr_req *r = mem_zalloc(sizeof(*r));
    struct smtp_addr_result *res = mem_zalloc(sizeof(*res));
    const char *h = nexthop;
    char host[256];
    int port = conf->lmtp ? 24 : 25;

    (void) dns;
    buf_init(&res->reason, 0);
    r->res = res;
    r->fn = fn;
    r->arg = arg;
    if (strncmp(h, "inet:", 5) == 0)
        h += 5;
    if (strncmp(h, "unix:", 5) == 0) {
        struct sockaddr_un *su;

        res->addr = mem_zalloc(sizeof(*res->addr));
        res->naddr = 1;
        su = (struct sockaddr_un *) &res->addr[0].sa;
        su->sun_family = AF_UNIX;
        str_copy(su->sun_path, sizeof(su->sun_path), h + 5);
        res->addr[0].salen = sizeof(*su);
        res->addr[0].host = mem_strdup(conf_str("myhostname"));
        res->addr[0].pref = -1;
    } else {
        const char *close = strchr(h, ']');

        if (h[0] != '[' || close == NULL
            || (size_t) (close - h - 1) >= sizeof(host)) {
            res->status = 4;
            str_copy(res->dsn, sizeof(res->dsn), "4.3.0");
            buf_setf(&res->reason, "no DNS yet: %s", nexthop);
        } else {
            struct sockaddr_in *s4;

            memcpy(host, h + 1, (size_t) (close - h - 1));
            host[close - h - 1] = 0;
            if (close[1] == ':')
                port = (int) strtol(close + 2, NULL, 10);
            res->addr = mem_zalloc(sizeof(*res->addr));
            res->naddr = 1;
            s4 = (struct sockaddr_in *) &res->addr[0].sa;
            s4->sin_family = AF_INET;
            s4->sin_port = htons((uint16_t) port);
            inet_pton(AF_INET, host, &s4->sin_addr);
            res->addr[0].salen = sizeof(*s4);
            res->addr[0].host = mem_strdup(host);
            res->addr[0].pref = -1;
        }
    }
    r->ev = loop_timer(loop, fire, r);
    loop_ev_arm(r->ev, 0);
    return r;
}

/* smtp_addr_cancel - drop it */
void smtp_addr_cancel(struct smtp_addr_req *r)
{
    loop_ev_free(r->ev);
    smtp_addr_result_free(r->res);
    mem_free(r);
}

/* smtp_addr_result_free - everything */
void smtp_addr_result_free(struct smtp_addr_result *res)
{
    if (res == NULL)
        return;
    for (size_t i = 0; i < res->naddr; i++)
        mem_free(res->addr[i].host);
    mem_free(res->addr);
    buf_fini(&res->reason);
    mem_free(res);
}
