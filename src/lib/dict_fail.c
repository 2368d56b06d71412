/*
 * dict_fail - a table whose every lookup fails temporarily ("fail:name"),
 * for testing and for forcing deferrals.
 */
#include "dict.h"

#include "dict_impl.h"

/* fail_lookup - always try again later */
static enum lk_result fail_lookup(struct dict *d, const char *key,
                                  struct buf *value)
{
    (void) key;
    (void) value;
    buf_set(&d->why, "Application error");
    return LK_TEMPFAIL;
}

/* fail_update - always an error */
static int fail_update(struct dict *d, const char *key, const char *value)
{
    (void) key;
    (void) value;
    buf_set(&d->why, "Application error");
    return -1;
}

/* fail_delete - always an error */
static int fail_delete(struct dict *d, const char *key)
{
    (void) key;
    buf_set(&d->why, "Application error");
    return -1;
}

/* fail_sequence - always an error */
static int fail_sequence(struct dict *d, enum dict_seq func, const char **key,
                         const char **value)
{
    (void) func;
    (void) key;
    (void) value;
    buf_set(&d->why, "Application error");
    return -1;
}

/* dict_fail_open - a table that fails */
struct dict *dict_fail_open(const char *name, int open_flags, int dict_flags,
                            struct buf *why)
{
    struct dict *d =
        dict_alloc("fail", name, open_flags, dict_flags, sizeof(*d));

    (void) why;
    d->ops.lookup = fail_lookup;
    d->ops.update = fail_update;
    d->ops.delete = fail_delete;
    d->ops.sequence = fail_sequence;
    return d;
}
