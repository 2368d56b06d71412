/*
 * cleanup_addr - cleanup's configuration and its address mappings:
 * canonical_maps (with the sender and recipient variants and their
 * classes), masquerade_domains, virtual_alias_maps.
 */
#include <strings.h>

#include "cleanup_int.h"

#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../global/addr.h"
#include "../global/conf.h"

/* open_maps - the tables of PARAM, or NULL when it is empty */
static struct maps *open_maps(const char *param, int flags)
{
    const char *v = conf_str(param);

    while (*v == ' ' || *v == '\t' || *v == ',')
        v++;
    return *v ? maps_open(param, v, flags) : NULL;
}

/* cleanup_parse_classes - *_classes into bits */
int cleanup_parse_classes(const char *param, const char *value, int *bits,
                          struct buf *why)
{
    static const struct {
        const char *name;
        int bit;
    } names[] = {
        {"envelope_sender", CLEANUP_CLASS_ENV_SENDER},
        {"envelope_recipient", CLEANUP_CLASS_ENV_RCPT},
        {"header_sender", CLEANUP_CLASS_HDR_SENDER},
        {"header_recipient", CLEANUP_CLASS_HDR_RCPT},
    };
    struct argv *words = argv_split(value, ", \t\r\n");
    int ret = 0;

    *bits = 0;
    for (size_t i = 0; ret == 0 && i < words->argc; i++) {
        size_t k;

        for (k = 0; k < NELEM(names); k++)
            if (strcasecmp(words->argv[i], names[k].name) == 0)
                break;
        if (k == NELEM(names)) {
            buf_setf(why, "%s: unknown address class \"%s\"", param,
                     words->argv[i]);
            ret = -1;
        } else {
            *bits |= names[k].bit;
        }
    }
    argv_free(words);
    return ret;
}

/* cleanup_parse_overrides - receive_override_options into bits */
int cleanup_parse_overrides(const char *value, int *bits, struct buf *why)
{
    static const struct {
        const char *name;
        int bit;
    } names[] = {
        {"no_address_mappings", CLEANUP_NO_ADDR_MAPPINGS},
        {"no_header_body_checks", CLEANUP_NO_HDR_BODY},
        {"no_unknown_recipient_checks", CLEANUP_NO_UNKNOWN_RCPT},
        {"no_milters", CLEANUP_NO_MILTERS},
    };
    struct argv *words = argv_split(value, ", \t\r\n");
    int ret = 0;

    *bits = 0;
    for (size_t i = 0; ret == 0 && i < words->argc; i++) {
        size_t k;

        for (k = 0; k < NELEM(names); k++)
            if (strcasecmp(words->argv[i], names[k].name) == 0)
                break;
        if (k == NELEM(names)) {
            buf_setf(why, "receive_override_options: unknown option \"%s\"",
                     words->argv[i]);
            ret = -1;
        } else {
            *bits |= names[k].bit;
        }
    }
    argv_free(words);
    return ret;
}

/* has_word - whether list PARAM names WORD */
static bool has_word(const char *param, const char *word)
{
    struct argv *l = conf_list(param);
    bool found = false;

    for (size_t i = 0; !found && i < l->argc; i++)
        found = strcasecmp(l->argv[i], word) == 0;
    argv_free(l);
    return found;
}

/* cleanup_conf_new - the snapshot of main.cf */
struct cleanup_conf *cleanup_conf_new(struct buf *why)
{
    struct cleanup_conf *cf = mem_zalloc(sizeof(*cf));

    if (queue_dir_init_conf(&cf->qd, why) < 0) {
        mem_free(cf);
        return NULL;
    }
    if (cleanup_parse_classes("canonical_classes",
                              conf_str("canonical_classes"), &cf->canon_classes,
                              why)
            < 0
        || cleanup_parse_classes("sender_canonical_classes",
                                 conf_str("sender_canonical_classes"),
                                 &cf->send_classes, why)
               < 0
        || cleanup_parse_classes("recipient_canonical_classes",
                                 conf_str("recipient_canonical_classes"),
                                 &cf->rcpt_classes, why)
               < 0
        || cleanup_parse_classes("masquerade_classes",
                                 conf_str("masquerade_classes"),
                                 &cf->masq_classes, why)
               < 0
        || cleanup_parse_overrides(conf_str("receive_override_options"),
                                   &cf->override, why)
               < 0) {
        queue_dir_fini(&cf->qd);
        mem_free(cf);
        return NULL;
    }
    cf->rc = rewrite_conf_new();
    cf->canon = open_maps("canonical_maps", DICT_FLAG_FOLD_FIX);
    cf->send_canon = open_maps("sender_canonical_maps", DICT_FLAG_FOLD_FIX);
    cf->rcpt_canon = open_maps("recipient_canonical_maps", DICT_FLAG_FOLD_FIX);
    cf->virt = open_maps("virtual_alias_maps", DICT_FLAG_FOLD_FIX);
    cf->hdr_checks = open_maps("header_checks", DICT_FLAG_NONE);
    cf->body_checks = open_maps("body_checks", DICT_FLAG_NONE);
    cf->mydest = domain_list_new("mydestination", conf_str("mydestination"),
                                 DOMAIN_LIST_STRING);
    cf->masq_domains = conf_list("masquerade_domains");
    cf->masq_except = conf_list("masquerade_exceptions");
    cf->drop_headers = conf_list("message_drop_headers");
    cf->myorigin = mem_strdup(conf_str("myorigin"));
    cf->myhostname = mem_strdup(conf_str("myhostname"));
    cf->content_filter = mem_strdup(conf_str("content_filter"));
    cf->mail_name = mem_strdup(conf_str("mail_name"));
    cf->delim = mem_strdup(conf_str("recipient_delimiter"));
    cf->qmgr_service = mem_strdup(conf_str("queue_service_name"));
    cf->double_bounce = mem_strdup(conf_str("double_bounce_sender"));
    cf->owner_request_special = conf_bool("owner_request_special");
    cf->propagate_canon =
        has_word("propagate_unmatched_extensions", "canonical");
    cf->propagate_virt = has_word("propagate_unmatched_extensions", "virtual");
    cf->always_add = conf_bool("always_add_missing_headers");
    cf->orig_rcpt = conf_bool("enable_original_recipient");
    cf->recursion_limit = conf_int("virtual_alias_recursion_limit");
    cf->expansion_limit = conf_int("virtual_alias_expansion_limit");
    cf->size_limit = conf_size("message_size_limit");
    cf->hdr_size_limit = conf_size("header_size_limit");
    cf->hopcount = conf_int("hopcount_limit");
    cf->body_checks_size = conf_size("body_checks_size_limit");
    cf->dup_limit = conf_int("duplicate_filter_limit");
    return cf;
}

/* cleanup_conf_free - drop the snapshot */
void cleanup_conf_free(struct cleanup_conf *cf)
{
    if (cf == NULL)
        return;
    /* Commits on the workers read CF's queue_dir. */
    cleanup_pool_drain();
    queue_dir_fini(&cf->qd);
    rewrite_conf_free(cf->rc);
    maps_free(cf->canon);
    maps_free(cf->send_canon);
    maps_free(cf->rcpt_canon);
    maps_free(cf->virt);
    maps_free(cf->hdr_checks);
    maps_free(cf->body_checks);
    domain_list_free(cf->mydest);
    argv_free(cf->masq_domains);
    argv_free(cf->masq_except);
    argv_free(cf->drop_headers);
    mem_free(cf->myorigin);
    mem_free(cf->myhostname);
    mem_free(cf->content_filter);
    mem_free(cf->mail_name);
    mem_free(cf->delim);
    mem_free(cf->qmgr_service);
    mem_free(cf->double_bounce);
    mem_free(cf);
}

/* search_opts - the virtual(5) search options for ADDR */
static void search_opts(struct cleanup_conf *cf, const char *addr,
                        struct maps_opts *o)
{
    struct span local, domain;

    o->delim = cf->delim;
    o->parent_matches_sub = false;
    o->owner_request_special = cf->owner_request_special;
    o->double_bounce = cf->double_bounce;
    o->local_domain = false;
    if (addr_split(span_of(addr), &local, &domain)) {
        char *d = span_dup(domain);

        if (strcasecmp(d, cf->myorigin) == 0)
            o->local_domain = true;
        else
            switch (domain_list_match(cf->mydest, d)) {
                case LK_FOUND:
                    o->local_domain = true;
                    break;
                case LK_NOTFOUND:
                case LK_TEMPFAIL:
                    break;
            }
        mem_free(d);
    }
}

/* propagate_ext - when MATCHED dropped the extension of ADDR, append it
 * to the local part of RESULT (in place) */
static void propagate_ext(struct cleanup_conf *cf, const char *addr,
                          const char *matched, struct buf *result)
{
    struct span local, domain, user, ext, rl, rd;
    struct maps_opts o = {.delim = cf->delim,
                          .owner_request_special = cf->owner_request_special,
                          .double_bounce = cf->double_bounce};
    char delim;
    struct buf out = BUF_INIT;

    addr_split(span_of(addr), &local, &domain);
    if (!addr_split_ext(local, &o, &user, &ext, &delim))
        return;
    /* The extension was matched with the key: nothing to propagate. */
    if (strncasecmp(matched, local.p, local.len) == 0
        && (matched[local.len] == '@' || matched[local.len] == 0))
        return;
    bool at = addr_split(span_make(buf_str(result), buf_len(result)), &rl, &rd);
    buf_catspan(&out, rl);
    buf_catc(&out, delim);
    buf_catspan(&out, ext);
    if (at) {
        buf_catc(&out, '@');
        buf_catspan(&out, rd);
    }
    buf_set(result, buf_str(&out));
    buf_fini(&out);
}

/* map_one - ADDR through one canonical table set into OUT; 0, 1 when
 * changed, -1 with WHY */
static int map_one(struct cleanup_conf *cf, struct maps *m, const char *addr,
                   struct buf *out, struct buf *why)
{
    struct maps_opts o;
    struct buf value = BUF_INIT;
    struct buf matched = BUF_INIT;
    int ret = 0;

    search_opts(cf, addr, &o);
    switch (maps_search(m, MAPS_ORDER_VIRTUAL, addr, &o, &value, &matched)) {
        case LK_FOUND: {
            /* A canonical value is one address; "@domain" keeps the
             * local part (canonical(5)). */
            struct buf ia = BUF_INIT;

            addr_internalize(span_trim(span_of(buf_str(&value))), &ia);
            if (buf_str(&ia)[0] == '@') {
                struct span local, domain;

                addr_split(span_of(addr), &local, &domain);
                buf_reset(out);
                buf_catspan(out, local);
                buf_cat(out, buf_str(&ia));
            } else {
                buf_set(out, buf_str(&ia));
                if (cf->propagate_canon)
                    propagate_ext(cf, addr, buf_str(&matched), out);
            }
            buf_fini(&ia);
            ret = 1;
            break;
        }
        case LK_NOTFOUND:
            buf_set(out, addr);
            break;
        case LK_TEMPFAIL:
            buf_setf(why, "4.3.0 %s map lookup problem for %s", m->title, addr);
            ret = -1;
            break;
    }
    buf_fini(&value);
    buf_fini(&matched);
    return ret;
}

/* cleanup_map_canonical - the canonical maps of class CLS */
int cleanup_map_canonical(struct cleanup_conf *cf, int cls, const char *addr,
                          struct buf *out, struct buf *why)
{
    bool sender = cls & (CLEANUP_CLASS_ENV_SENDER | CLEANUP_CLASS_HDR_SENDER);
    struct maps *first = sender ? cf->send_canon : cf->rcpt_canon;
    int first_classes = sender ? cf->send_classes : cf->rcpt_classes;
    struct buf tmp = BUF_INIT;
    int ret = 0;

    buf_set(out, addr);
    /* The sender or recipient table first, then the common one, as
     * Postfix's cleanup applies them. */
    if (first && (first_classes & cls)) {
        buf_set(&tmp, buf_str(out));
        ret = map_one(cf, first, buf_str(&tmp), out, why);
    }
    if (ret >= 0 && cf->canon && (cf->canon_classes & cls)) {
        buf_set(&tmp, buf_str(out));
        ret = map_one(cf, cf->canon, buf_str(&tmp), out, why);
    }
    buf_fini(&tmp);
    return ret < 0 ? -1 : 0;
}

/* cleanup_masquerade - strip subdomains as masquerade_domains says */
void cleanup_masquerade(const struct cleanup_conf *cf, int cls,
                        const char *addr, struct buf *out)
{
    struct span local, domain;

    buf_set(out, addr);
    if (!(cf->masq_classes & cls) || cf->masq_domains->argc == 0
        || !addr_split(span_of(addr), &local, &domain))
        return;
    for (size_t i = 0; i < cf->masq_except->argc; i++)
        if (span_caseeq(local, cf->masq_except->argv[i]))
            return;
    for (size_t i = 0; i < cf->masq_domains->argc; i++) {
        const char *m = cf->masq_domains->argv[i];
        bool negate = m[0] == '!';
        size_t mlen;

        if (negate)
            m++;
        mlen = strlen(m);
        if (mlen == 0)
            continue;
        if (domain.len == mlen && strncasecmp(domain.p, m, mlen) == 0)
            return; /* already the masquerade domain */
        if (domain.len > mlen + 1
            && strncasecmp(domain.p + domain.len - mlen, m, mlen) == 0
            && domain.p[domain.len - mlen - 1] == '.') {
            if (negate)
                return;
            buf_reset(out);
            buf_catspan(out, local);
            buf_catc(out, '@');
            buf_cat(out, m);
            return;
        }
    }
}

/* cleanup_rewrite_env - rewrite, canonical, masquerade */
int cleanup_rewrite_env(struct cleanup_conf *cf, int cls, const char *addr,
                        struct buf *out, struct buf *why)
{
    struct buf std = BUF_INIT;
    struct buf canon = BUF_INIT;
    int ret = 0;

    rewrite_addr(cf->rc, REWRITE_LOCAL, span_of(addr), &std);
    if (buf_len(&std) == 0 || (cf->override & CLEANUP_NO_ADDR_MAPPINGS)) {
        buf_set(out, buf_str(&std));
    } else if ((ret =
                    cleanup_map_canonical(cf, cls, buf_str(&std), &canon, why))
               == 0) {
        cleanup_masquerade(cf, cls, buf_str(&canon), out);
    }
    buf_fini(&std);
    buf_fini(&canon);
    return ret;
}

/* expand - ADDR at DEPTH into OUT, counting against *COUNT; warnings
 * name TOP, the recipient whose expansion it is */
static int expand(struct cleanup_conf *cf, const char *top, const char *addr,
                  long depth, long *count, struct argv *out, struct buf *why)
{
    struct maps_opts o;
    struct buf value = BUF_INIT;
    struct buf matched = BUF_INIT;
    struct buf one = BUF_INIT;
    struct buf std = BUF_INIT;
    struct addr_hdr_list l;
    int ret = 0;

    if (depth > cf->recursion_limit) {
        msg_warn("unreasonable virtual_alias_maps map nesting for %s -- "
                 "message not accepted, try again later",
                 top);
        buf_setf(why, "4.6.0 Alias expansion error");
        return -1;
    }
    search_opts(cf, addr, &o);
    switch (
        maps_search(cf->virt, MAPS_ORDER_VIRTUAL, addr, &o, &value, &matched)) {
        case LK_NOTFOUND:
            if (++*count > cf->expansion_limit) {
                msg_warn("unreasonable virtual_alias_maps map expansion size "
                         "for %s -- message not accepted, try again later",
                         top);
                buf_setf(why, "4.6.0 Alias expansion error");
                ret = -1;
            } else {
                argv_add(out, addr);
            }
            break;
        case LK_TEMPFAIL:
            buf_setf(why, "4.3.0 virtual_alias_maps map lookup problem for %s",
                     addr);
            ret = -1;
            break;
        case LK_FOUND:
            addr_hdr_init(&l);
            if (addr_parse_header(span_of(buf_str(&value)), &l, why) < 0) {
                msg_warn("virtual_alias_maps: bad result for %s: %s", addr,
                         buf_str(why));
                buf_setf(why,
                         "4.3.0 virtual_alias_maps map lookup problem "
                         "for %s",
                         addr);
                ret = -1;
            }
            for (size_t i = 0; ret == 0 && i < l.n; i++) {
                rewrite_addr(cf->rc, REWRITE_LOCAL, span_of(l.v[i].addr), &std);
                buf_set(&one, buf_str(&std));
                if (cf->propagate_virt && buf_str(&matched)[0] != '@')
                    propagate_ext(cf, addr, buf_str(&matched), &one);
                /* An address that maps to itself stops the recursion
                 * (virtual(5): "a -> a, b"). */
                if (strcasecmp(buf_str(&one), addr) == 0) {
                    if (++*count > cf->expansion_limit) {
                        msg_warn("unreasonable virtual_alias_maps map "
                                 "expansion size for %s -- message not "
                                 "accepted, try again later",
                                 top);
                        buf_setf(why, "4.6.0 Alias expansion error");
                        ret = -1;
                    } else {
                        argv_add(out, buf_str(&one));
                    }
                } else {
                    ret = expand(cf, top, buf_str(&one), depth + 1, count, out,
                                 why);
                }
            }
            addr_hdr_free(&l);
            break;
    }
    buf_fini(&value);
    buf_fini(&matched);
    buf_fini(&one);
    buf_fini(&std);
    return ret;
}

/* cleanup_map_virtual - the expansion of ADDR */
int cleanup_map_virtual(struct cleanup_conf *cf, const char *addr,
                        struct argv *out, struct buf *why)
{
    long count = 0;

    if (cf->virt == NULL || addr[0] == 0) {
        argv_add(out, addr);
        return 0;
    }
    return expand(cf, addr, addr, 0, &count, out, why);
}
