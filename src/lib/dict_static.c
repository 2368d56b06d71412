/*
 * dict_static - every key maps to the same value: "static:value" or
 * "static:{ text with spaces }".
 */
#include "dict.h"

#include "mem.h"

#include "dict_impl.h"

struct dict_static {
    struct dict dict; /* must be first */
    char *value;      /* owned */
};

/* static_lookup - the value, whatever the key */
static enum lk_result static_lookup(struct dict *d, const char *key,
                                    struct buf *value)
{
    (void) key;
    buf_set(value, ((struct dict_static *) d)->value);
    return LK_FOUND;
}

/* static_close - release the value */
static void static_close(struct dict *d)
{
    mem_free(((struct dict_static *) d)->value);
    dict_free_base(d);
}

/* dict_static_open - remember the value */
struct dict *dict_static_open(const char *name, int open_flags, int dict_flags,
                              struct buf *why)
{
    struct buf value = BUF_INIT;
    struct buf err = BUF_INIT;
    struct dict_static *s;

    /* Only a {...} group is unwrapped; other text is the value as is. */
    if (name[0] != '{') {
        buf_set(&value, name);
    } else if (dict_unbrace(name, &value, &err) < 0) {
        buf_setf(why, "bad static:name syntax: %s in \"%s\"", buf_str(&err),
                 name);
        buf_fini(&value);
        buf_fini(&err);
        return NULL;
    }
    buf_fini(&err);
    s = (struct dict_static *) dict_alloc("static", name, open_flags,
                                          dict_flags, sizeof(*s));
    s->value = buf_steal(&value);
    buf_fini(&value);
    s->dict.ops.lookup = static_lookup;
    s->dict.ops.close = static_close;
    return &s->dict;
}
