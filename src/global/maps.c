/*
 * maps - table lists and the Postfix key search orders.
 */
#include "maps.h"

#include <strings.h>

#include "../lib/argv.h"
#include "../lib/mem.h"
#include "../lib/msg.h"

/* maps_open - open the members of SPEC */
struct maps *maps_open(const char *title, const char *spec, int dict_flags)
{
    struct maps *m = mem_zalloc(sizeof(*m));
    struct buf why = BUF_INIT;
    struct argv *names = dict_split(spec, ", \t\r\n", &why);

    m->title = mem_strdup(title);
    buf_init(&m->why, 0);
    if (names == NULL) {
        /* Unbalanced braces: one failing member stands for the value. */
        names = argv_new();
        argv_add(names, spec);
    }
    m->dicts = mem_calloc(names->argc + 1, sizeof(*m->dicts));
    m->specs = mem_calloc(names->argc + 1, sizeof(*m->specs));
    m->errors = mem_calloc(names->argc + 1, sizeof(*m->errors));
    for (size_t i = 0; i < names->argc; i++) {
        m->specs[i] = mem_strdup(names->argv[i]);
        buf_reset(&why);
        m->dicts[i] = dict_open(names->argv[i], O_RDONLY, dict_flags, &why);
        if (m->dicts[i] == NULL) {
            m->errors[i] = mem_strdup(buf_str(&why));
            msg_warn("%s is unavailable. %s", names->argv[i], buf_str(&why));
        }
    }
    m->count = names->argc;
    argv_free(names);
    buf_fini(&why);
    return m;
}

/* maps_free - drop the references */
void maps_free(struct maps *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->count; i++) {
        dict_close(m->dicts[i]);
        mem_free(m->specs[i]);
        mem_free(m->errors[i]);
    }
    mem_free(m->dicts);
    mem_free(m->specs);
    mem_free(m->errors);
    mem_free(m->title);
    buf_fini(&m->why);
    mem_free(m);
}

/* is_pattern - whether D takes only full keys */
static bool is_pattern(const struct dict *d)
{
    const struct dict_type *dt = dict_type_find(d->type);

    return dt != NULL && (dt->flags & DICT_TYPE_PATTERN) != 0;
}

/* maps_find - the first table that has KEY */
enum lk_result maps_find(struct maps *m, const char *key, int flags,
                         struct buf *value)
{
    for (size_t i = 0; i < m->count; i++) {
        struct dict *d = m->dicts[i];

        if (d == NULL) {
            buf_setf(&m->why, "%s: %s is unavailable. %s", m->title,
                     m->specs[i], m->errors[i]);
            return LK_TEMPFAIL;
        }
        if ((flags & MAPS_FIND_FIXED) && is_pattern(d))
            continue;
        switch (dict_lookup(d, key, value)) {
            case LK_FOUND:
                return LK_FOUND;
            case LK_NOTFOUND:
                break;
            case LK_TEMPFAIL:
                buf_setf(&m->why, "%s: %s:%s lookup error for \"%s\": %s",
                         m->title, d->type, d->name, key, dict_why(d));
                return LK_TEMPFAIL;
        }
    }
    return LK_NOTFOUND;
}

/* maps_why - reason of the last LK_TEMPFAIL */
const char *maps_why(const struct maps *m)
{
    return buf_str(&m->why);
}

/* local_is - case-insensitive compare of a local part with NAME */
static bool local_is(const char *local, size_t len, const char *name)
{
    return name != NULL && strlen(name) == len
           && strncasecmp(local, name, len) == 0;
}

/* maps_split_ext - user part length without the extension */
size_t maps_split_ext(const char *local, size_t len, const struct maps_opts *o)
{
    size_t at;

    if (o == NULL || o->delim == NULL || *o->delim == 0)
        return len;
    if (local_is(local, len, "postmaster")
        || local_is(local, len, "mailer-daemon")
        || local_is(local, len, o->double_bounce))
        return len;
    if (o->owner_request_special
        && ((len >= 6 && strncasecmp(local, "owner-", 6) == 0)
            || (len >= 8 && strncasecmp(local + len - 8, "-request", 8) == 0)))
        return len;
    for (at = 0; at < len; at++)
        if (strchr(o->delim, local[at]) != NULL)
            break;
    /* A delimiter at the start leaves no user name: keep the whole. */
    return at == 0 ? len : at;
}

/* add_key - append a key */
static void add_key(struct maps_keys *k, int flags, const char *fmt, ...)
    ULAK_PRINTFLIKE(3, 4);

/* add_key - append a formatted key */
static void add_key(struct maps_keys *k, int flags, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    buf_vcatf(&b, fmt, ap);
    va_end(ap);
    k->keys = mem_realloc(k->keys, (k->count + 1) * sizeof(*k->keys));
    k->keys[k->count].key = buf_steal(&b);
    k->keys[k->count].flags = flags;
    k->count++;
    buf_fini(&b);
}

/* add_parents - the parent domains of DOMAIN, ".parent" or "parent" */
static void add_parents(struct maps_keys *k, const char *domain,
                        const struct maps_opts *o)
{
    bool bare = o != NULL && o->parent_matches_sub;

    /* An address literal has no parent domains. */
    if (domain[0] == '[')
        return;
    for (const char *dot = strchr(domain + 1, '.'); dot && dot[1];
         dot = strchr(dot + 1, '.'))
        add_key(k, MAPS_FIND_FIXED, "%s", bare ? dot + 1 : dot);
}

/* maps_keys - the key list of ORDER for KEY */
void maps_keys(enum maps_order order, const char *key,
               const struct maps_opts *o, struct maps_keys *out)
{
    const char *at = strrchr(key, '@');
    size_t llen = at ? (size_t) (at - key) : strlen(key);
    size_t ulen = maps_split_ext(key, llen, o);
    bool ext = ulen < llen;
    const char *domain = at ? at + 1 : "";
    int ll = (int) llen;
    int ul = (int) ulen;

    out->keys = NULL;
    out->count = 0;
    add_key(out, MAPS_FIND_ALL, "%s", key);
    switch (order) {
        case MAPS_ORDER_EXACT:
            break;
        case MAPS_ORDER_ACCESS_ADDR:
            if (at == NULL) {
                if (ext)
                    add_key(out, MAPS_FIND_FIXED, "%.*s", ul, key);
                break;
            }
            if (ext)
                add_key(out, MAPS_FIND_FIXED, "%.*s@%s", ul, key, domain);
            if (*domain) {
                add_key(out, MAPS_FIND_FIXED, "%s", domain);
                add_parents(out, domain, o);
            }
            if (ll > 0)
                add_key(out, MAPS_FIND_FIXED, "%.*s@", ll, key);
            if (ext)
                add_key(out, MAPS_FIND_FIXED, "%.*s@", ul, key);
            break;
        case MAPS_ORDER_ACCESS_HOST:
            if (*key)
                add_parents(out, key, o);
            break;
        case MAPS_ORDER_ACCESS_IP: {
            /* A truncation that ends in ":" is no pattern: skip it. */
            char delim = strchr(key, ':') ? ':' : '.';
            size_t len = strlen(key);

            while (len > 0) {
                while (len > 0 && key[len - 1] != delim)
                    len--;
                if (len <= 1)
                    break;
                len--;
                if (key[len - 1] != ':')
                    add_key(out, MAPS_FIND_FIXED, "%.*s", (int) len, key);
            }
            break;
        }
        case MAPS_ORDER_VIRTUAL:
            if (at == NULL) {
                if (ext)
                    add_key(out, MAPS_FIND_FIXED, "%.*s", ul, key);
                break;
            }
            if (ext)
                add_key(out, MAPS_FIND_FIXED, "%.*s@%s", ul, key, domain);
            if (o != NULL && o->local_domain) {
                add_key(out, MAPS_FIND_FIXED, "%.*s", ll, key);
                if (ext)
                    add_key(out, MAPS_FIND_FIXED, "%.*s", ul, key);
            }
            add_key(out, MAPS_FIND_FIXED, "@%s", domain);
            break;
        case MAPS_ORDER_ALIAS:
            if (ext)
                add_key(out, MAPS_FIND_FIXED, "%.*s", ul, key);
            break;
        case MAPS_ORDER_TRANSPORT:
            if (at != NULL) {
                if (ext)
                    add_key(out, MAPS_FIND_FIXED, "%.*s@%s", ul, key, domain);
                if (*domain) {
                    add_key(out, MAPS_FIND_FIXED, "%s", domain);
                    add_parents(out, domain, o);
                }
            } else if (*key) {
                /* A bare domain (next-hop lookups). */
                add_parents(out, key, o);
            }
            add_key(out, MAPS_FIND_FIXED, "*");
            break;
    }
}

/* maps_keys_free - release a key list */
void maps_keys_free(struct maps_keys *k)
{
    for (size_t i = 0; i < k->count; i++)
        mem_free(k->keys[i].key);
    mem_free(k->keys);
    k->keys = NULL;
    k->count = 0;
}

/* maps_search - the first key of ORDER that a table has */
enum lk_result maps_search(struct maps *m, enum maps_order order,
                           const char *key, const struct maps_opts *o,
                           struct buf *value, struct buf *matched)
{
    struct maps_keys k;
    enum lk_result r = LK_NOTFOUND;

    maps_keys(order, key, o, &k);
    for (size_t i = 0; i < k.count && r == LK_NOTFOUND; i++) {
        r = maps_find(m, k.keys[i].key, k.keys[i].flags, value);
        if (r == LK_FOUND && matched != NULL)
            buf_set(matched, k.keys[i].key);
    }
    maps_keys_free(&k);
    return r;
}
