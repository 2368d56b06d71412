/* rewrite - addresses to standard form (trivial-rewrite's "rewrite") */
#include "rewrite.h"

#include "../lib/mem.h"
#include "addr.h"
#include "conf.h"

/* rewrite_conf_new - snapshot the parameters */
struct rewrite_conf *rewrite_conf_new(void)
{
    struct rewrite_conf *rc = mem_zalloc(sizeof(*rc));

    rc->myorigin = mem_strdup(conf_str("myorigin"));
    rc->mydomain = mem_strdup(conf_str("mydomain"));
    rc->remote_domain = mem_strdup(conf_str("remote_header_rewrite_domain"));
    rc->append_at_myorigin = conf_bool("append_at_myorigin");
    rc->append_dot_mydomain = conf_bool("append_dot_mydomain");
    rc->swap_bangpath = conf_bool("swap_bangpath");
    rc->percent_hack = conf_bool("allow_percent_hack");
    return rc;
}

/* rewrite_conf_free - release the copies */
void rewrite_conf_free(struct rewrite_conf *rc)
{
    if (rc == NULL)
        return;
    mem_free(rc->myorigin);
    mem_free(rc->mydomain);
    mem_free(rc->remote_domain);
    mem_free(rc);
}

/* rewrite_header_wanted - whether to touch header addresses at all */
bool rewrite_header_wanted(const struct rewrite_conf *rc,
                           enum rewrite_context ctx)
{
    switch (ctx) {
        case REWRITE_LOCAL:
            return true;
        case REWRITE_REMOTE:
            return rc->remote_domain[0] != 0;
    }
    return false;
}

/* span_chr - the first C in S, or NULL */
static const char *span_chr(struct span s, int c)
{
    return s.len ? memchr(s.p, c, s.len) : NULL;
}

/* span_rchr - the last C in S, or NULL */
static const char *span_rchr(struct span s, int c)
{
    for (size_t i = s.len; i > 0; i--)
        if (s.p[i - 1] == c)
            return s.p + i - 1;
    return NULL;
}

/* rewrite_addr - standard form */
void rewrite_addr(const struct rewrite_conf *rc, enum rewrite_context ctx,
                  struct span addr, struct buf *out)
{
    const char *origin =
        ctx == REWRITE_LOCAL ? rc->myorigin : rc->remote_domain;
    const char *domain_suffix =
        ctx == REWRITE_LOCAL ? rc->mydomain : rc->remote_domain;
    struct span local;
    struct span domain;
    const char *p;

    buf_reset(out);
    if (addr.len == 0)
        return;
    /* A source route "@a,@b:user@domain" is dropped. */
    if (addr.p[0] == '@' && (p = span_chr(addr, ':')) != NULL
        && p + 1 < addr.p + addr.len) {
        addr.len -= (size_t) (p + 1 - addr.p);
        addr.p = p + 1;
    }
    if (span_chr(addr, '@') == NULL) {
        if (rc->swap_bangpath && (p = span_chr(addr, '!')) != NULL) {
            buf_catn(out, p + 1, (size_t) (addr.p + addr.len - p - 1));
            buf_catc(out, '@');
            buf_catn(out, addr.p, (size_t) (p - addr.p));
        } else if (rc->percent_hack && (p = span_rchr(addr, '%')) != NULL) {
            buf_catn(out, addr.p, (size_t) (p - addr.p));
            buf_catc(out, '@');
            buf_catn(out, p + 1, (size_t) (addr.p + addr.len - p - 1));
        } else {
            buf_catspan(out, addr);
            if (rc->append_at_myorigin && origin[0] != 0) {
                buf_catc(out, '@');
                buf_cat(out, origin);
            }
            return;
        }
    } else {
        buf_catspan(out, addr);
    }
    /* The domain: ".$mydomain" for a single label, one trailing dot off. */
    (void) addr_split(span_make(buf_str(out), buf_len(out)), &local, &domain);
    if (domain.len == 0)
        return;
    if (rc->append_dot_mydomain && domain_suffix[0] != 0 && domain.p[0] != '['
        && span_chr(domain, '.') == NULL) {
        buf_catc(out, '.');
        buf_cat(out, domain_suffix);
    } else if (domain.p[domain.len - 1] == '.'
               && (domain.len < 2 || domain.p[domain.len - 2] != '.')) {
        /* Postfix leaves "host.." alone (resolve then rejects it). */
        buf_truncate(out, buf_len(out) - 1);
    }
}
