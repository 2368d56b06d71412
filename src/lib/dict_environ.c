/*
 * dict_environ - the process environment as a table ("environ:name"; the
 * name is only a label).  Keys are case-sensitive, as variable names are.
 */
#include "dict.h"

#include "dict_impl.h"

/* environ_lookup - getenv(KEY) */
static enum lk_result environ_lookup(struct dict *d, const char *key,
                                     struct buf *value)
{
    const char *v = getenv(key);

    (void) d;
    if (v == NULL)
        return LK_NOTFOUND;
    buf_set(value, v);
    return LK_FOUND;
}

/* dict_environ_open - nothing to open */
struct dict *dict_environ_open(const char *name, int open_flags, int dict_flags,
                               struct buf *why)
{
    struct dict *d;

    (void) why;
    /* Variable names are case-sensitive: never fold the key. */
    d = dict_alloc("environ", name, open_flags,
                   dict_flags & ~DICT_FLAG_FOLD_FIX, sizeof(*d));
    d->ops.lookup = environ_lookup;
    return d;
}
