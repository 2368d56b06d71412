/*
 * dict_union - the composite tables: "unionmap:{ a, b }" (the results of
 * every table that has the key, joined with commas), "pipemap:{ a, b }"
 * (the result of one table is the key of the next) and "randmap:{ v1, v2 }"
 * (a random element, whatever the key).
 *
 * A composite owns one reference to each table it names (opened with its
 * own flags, so shared with other users of the same table).  A temporary
 * failure of any member is the composite's, with the member's reason.
 */
#include "dict.h"

#include <sys/random.h>

#include "argv.h"
#include "mem.h"

#include "dict_impl.h"

struct dict_union {
    struct dict dict;      /* must be first */
    struct dict **members; /* owned references (unionmap, pipemap) */
    struct argv *values;   /* owned elements (randmap) */
    size_t count;
};

/* member_fail - copy a member's failure reason */
static enum lk_result member_fail(struct dict_union *u, struct dict *m)
{
    buf_set(&u->dict.why, dict_why(m));
    return LK_TEMPFAIL;
}

/* union_lookup - every member's result, comma-joined */
static enum lk_result union_lookup(struct dict *d, const char *key,
                                   struct buf *value)
{
    struct dict_union *u = (struct dict_union *) d;
    struct buf one = BUF_INIT;
    bool found = false;
    enum lk_result ret = LK_NOTFOUND;

    buf_reset(value);
    for (size_t i = 0; i < u->count; i++) {
        switch (dict_lookup(u->members[i], key, &one)) {
            case LK_FOUND:
                buf_catf(value, "%s%s", found ? "," : "", buf_str(&one));
                found = true;
                break;
            case LK_NOTFOUND:
                break;
            case LK_TEMPFAIL:
                buf_fini(&one);
                return member_fail(u, u->members[i]);
        }
    }
    buf_fini(&one);
    if (found)
        ret = LK_FOUND;
    return ret;
}

/* pipe_lookup - feed each result to the next member */
static enum lk_result pipe_lookup(struct dict *d, const char *key,
                                  struct buf *value)
{
    struct dict_union *u = (struct dict_union *) d;
    struct buf in = BUF_INIT;

    buf_set(&in, key);
    for (size_t i = 0; i < u->count; i++) {
        switch (dict_lookup(u->members[i], buf_str(&in), value)) {
            case LK_FOUND:
                buf_set(&in, buf_str(value));
                break;
            case LK_NOTFOUND:
                buf_fini(&in);
                return LK_NOTFOUND;
            case LK_TEMPFAIL:
                buf_fini(&in);
                return member_fail(u, u->members[i]);
        }
    }
    buf_fini(&in);
    return LK_FOUND;
}

/* rand_lookup - a random element */
static enum lk_result rand_lookup(struct dict *d, const char *key,
                                  struct buf *value)
{
    struct dict_union *u = (struct dict_union *) d;
    uint32_t r = 0;

    (void) key;
    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        r = (uint32_t) random();
    buf_set(value, u->values->argv[r % u->values->argc]);
    return LK_FOUND;
}

/* union_close - drop the member references */
static void union_close(struct dict *d)
{
    struct dict_union *u = (struct dict_union *) d;

    for (size_t i = 0; i < u->count; i++)
        dict_close(u->members[i]);
    mem_free(u->members);
    argv_free(u->values);
    dict_free_base(d);
}

/* split_braced - the elements of "{ a, b }", or NULL when malformed */
static struct argv *split_braced(const char *name)
{
    struct buf inner = BUF_INIT;
    struct buf err = BUF_INIT;
    struct argv *items = NULL;
    struct span t = span_trim(span_of(name));

    if (t.len >= 2 && t.p[0] == '{' && dict_unbrace(name, &inner, &err) == 0)
        items = dict_split(buf_str(&inner), ", \t\r\n", &err);
    if (items != NULL && items->argc == 0) {
        argv_free(items);
        items = NULL;
    }
    buf_fini(&inner);
    buf_fini(&err);
    return items;
}

/* composite_open - open the members of unionmap or pipemap */
static struct dict *composite_open(const char *type, const char *name,
                                   int open_flags, int dict_flags,
                                   struct buf *why)
{
    struct argv *items = split_braced(name);
    struct dict_union *u;

    if (items == NULL) {
        buf_setf(why, "bad syntax: \"%s:%s\"; need \"%s:{type:name...}\"", type,
                 name, type);
        return NULL;
    }
    u = (struct dict_union *) dict_alloc(type, name, open_flags, dict_flags,
                                         sizeof(*u));
    u->members = mem_calloc(items->argc, sizeof(*u->members));
    for (size_t i = 0; i < items->argc; i++) {
        struct dict *m = NULL;

        /* A member without "type:" makes the whole name bad, as Postfix. */
        if (strchr(items->argv[i], ':') == NULL)
            buf_setf(why, "bad syntax: \"%s:%s\"; need \"%s:{type:name...}\"",
                     type, name, type);
        else
            m = dict_open(items->argv[i], open_flags, dict_flags, why);
        if (m == NULL) {
            argv_free(items);
            union_close(&u->dict);
            return NULL;
        }
        u->members[u->count++] = m;
    }
    argv_free(items);
    u->dict.ops.close = union_close;
    return &u->dict;
}

/* dict_unionmap_open - all results joined */
struct dict *dict_unionmap_open(const char *name, int open_flags,
                                int dict_flags, struct buf *why)
{
    struct dict *d =
        composite_open("unionmap", name, open_flags, dict_flags, why);

    if (d)
        d->ops.lookup = union_lookup;
    return d;
}

/* dict_pipemap_open - results piped from table to table */
struct dict *dict_pipemap_open(const char *name, int open_flags, int dict_flags,
                               struct buf *why)
{
    struct dict *d =
        composite_open("pipemap", name, open_flags, dict_flags, why);

    if (d)
        d->ops.lookup = pipe_lookup;
    return d;
}

/* dict_randmap_open - a random choice among the elements */
struct dict *dict_randmap_open(const char *name, int open_flags, int dict_flags,
                               struct buf *why)
{
    struct argv *items = split_braced(name);
    struct dict_union *u;

    if (items == NULL) {
        buf_setf(why, "bad syntax: \"randmap:%s\"; need \"randmap:{value...}\"",
                 name);
        return NULL;
    }
    u = (struct dict_union *) dict_alloc("randmap", name, open_flags,
                                         dict_flags, sizeof(*u));
    u->values = items;
    u->dict.ops.lookup = rand_lookup;
    u->dict.ops.close = union_close;
    return &u->dict;
}
