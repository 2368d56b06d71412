/*
 * dict_texthash - a postmap source file read into memory at open
 * ("texthash:/etc/postfix/access"), and the in-memory table it shares with
 * inline:, and internal: (an in-memory table that the process itself fills,
 * with update, delete and sequence).  The file is read once;
 * dict_changed() reports an edit.
 */
#include "dict.h"

#include "argv.h"
#include "htable.h"
#include "mem.h"
#include "msg.h"

#include "dict_impl.h"

struct dict_mem {
    struct dict dict;     /* must be first */
    struct htable *table; /* key -> owned value */
    struct argv *order;   /* keys in insertion order, for sequence */
    size_t seq;           /* next sequence position */
};

/* mem_lookup - find KEY */
static enum lk_result mem_lookup(struct dict *d, const char *key,
                                 struct buf *value)
{
    struct dict_mem *m = (struct dict_mem *) d;
    const char *v = htable_find(m->table, key);

    if (v == NULL)
        return LK_NOTFOUND;
    buf_set(value, v);
    return LK_FOUND;
}

/* mem_sequence - walk the keys in the order they were stored */
static int mem_sequence(struct dict *d, enum dict_seq func, const char **key,
                        const char **value)
{
    struct dict_mem *m = (struct dict_mem *) d;

    switch (func) {
        case DICT_SEQ_FIRST:
            m->seq = 0;
            break;
        case DICT_SEQ_NEXT:
            break;
    }
    if (m->seq >= m->order->argc)
        return 1;
    *key = m->order->argv[m->seq++];
    *value = htable_find(m->table, *key);
    return 0;
}

/* mem_close - release the table */
static void mem_close(struct dict *d)
{
    struct dict_mem *m = (struct dict_mem *) d;

    htable_free(m->table, mem_free);
    argv_free(m->order);
    dict_free_base(d);
}

/* dict_mem_new - an empty in-memory table */
struct dict *dict_mem_new(const char *type, const char *name, int open_flags,
                          int dict_flags)
{
    struct dict_mem *m = (struct dict_mem *) dict_alloc(type, name, open_flags,
                                                        dict_flags, sizeof(*m));

    m->table = htable_new(13);
    m->order = argv_new();
    m->dict.ops.lookup = mem_lookup;
    m->dict.ops.sequence = mem_sequence;
    m->dict.ops.close = mem_close;
    return &m->dict;
}

/* dict_mem_put - store KEY=VALUE */
int dict_mem_put(struct dict *d, const char *key, const char *value,
                 bool replace)
{
    struct dict_mem *m = (struct dict_mem *) d;
    struct htable_entry *e;
    struct buf tmp = BUF_INIT;
    char *k = mem_strdup(dict_fold_key(d, key, &tmp));
    int ret = 0;

    buf_fini(&tmp);
    if ((e = htable_locate(m->table, k)) != NULL) {
        if (replace) {
            mem_free(e->value);
            e->value = mem_strdup(value);
        }
        ret = 1;
    } else {
        htable_enter(m->table, k, mem_strdup(value));
        argv_add(m->order, k);
    }
    mem_free(k);
    return ret;
}

/* mem_update - store KEY=VALUE as the duplicate flags say */
static int mem_update(struct dict *d, const char *key, const char *value)
{
    bool replace =
        (d->flags & (DICT_FLAG_DUP_IGNORE | DICT_FLAG_DUP_WARN)) == 0;
    int dup = dict_mem_put(d, key, value, replace);

    if (dup && (d->flags & DICT_FLAG_DUP_WARN))
        dict_warn("%s:%s: duplicate entry: \"%s\"", d->type, d->name, key);
    return dup;
}

/* mem_delete - remove KEY; 1 when absent */
static int mem_delete(struct dict *d, const char *key)
{
    struct dict_mem *m = (struct dict_mem *) d;

    if (htable_find(m->table, key) == NULL)
        return 1;
    htable_delete(m->table, key, mem_free);
    for (size_t i = 0; i < m->order->argc; i++) {
        if (strcmp(m->order->argv[i], key) == 0) {
            mem_free(m->order->argv[i]);
            memmove(m->order->argv + i, m->order->argv + i + 1,
                    (m->order->argc - i) * sizeof(*m->order->argv));
            m->order->argc--;
            break;
        }
    }
    return 0;
}

/* dict_internal_open - an empty writable in-memory table */
struct dict *dict_internal_open(const char *name, int open_flags,
                                int dict_flags, struct buf *why)
{
    struct dict *d = dict_mem_new("internal", name, open_flags, dict_flags);

    (void) why;
    d->ops.update = mem_update;
    d->ops.delete = mem_delete;
    return d;
}

/* dict_texthash_open - read a postmap source file */
struct dict *dict_texthash_open(const char *name, int open_flags,
                                int dict_flags, struct buf *why)
{
    struct dict_text text;
    struct buf line = BUF_INIT;
    struct dict *d;
    int lineno;

    if ((open_flags & O_ACCMODE) != O_RDONLY) {
        buf_setf(why, "texthash:%s map requires O_RDONLY access mode", name);
        return NULL;
    }
    switch (dict_text_open(&text, name, why)) {
        case 0:
            break;
        case -2:
            dict_text_close(&text);
            return NULL;
        default:
            buf_setf(why, "open database %s: %m", name);
            return NULL;
    }
    d = dict_mem_new("texthash", name, open_flags, dict_flags);
    dict_set_file(d, name);
    while (dict_text_next(&text, &line, &lineno)) {
        const char *s = buf_str(&line);
        size_t klen = strcspn(s, " \t\r\n");
        struct span val = span_trim(span_of(s + klen));
        char *key;
        char *v;

        if ((dict_flags & DICT_FLAG_UTF8) && !dict_utf8_valid(s)) {
            struct buf pr = BUF_INIT;

            dict_utf8_printable(s, &pr);
            dict_warn(
                "%s, line %d: non-UTF-8 input \"%s\" -- ignoring this line",
                name, lineno, buf_str(&pr));
            buf_fini(&pr);
            continue;
        }
        if (val.len == 0) {
            dict_warn(
                "%s, line %d: expected format: key whitespace value -- ignoring this line",
                name, lineno);
            continue;
        }
        key = mem_strndup(s, klen);
        v = span_dup(val);
        if (dict_mem_put(d, key, v, (dict_flags & DICT_FLAG_DUP_REPLACE) != 0)
                == 1
            && (dict_flags & (DICT_FLAG_DUP_IGNORE | DICT_FLAG_DUP_REPLACE))
                   == 0)
            dict_warn("%s, line %d: duplicate entry: \"%s\"", name, lineno,
                      key);
        mem_free(key);
        mem_free(v);
    }
    buf_fini(&line);
    dict_text_close(&text);
    return d;
}
