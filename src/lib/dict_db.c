/* placeholder: replaced by the real implementation */
#include "dict_impl.h"

struct dict *dict_hash_open(const char *name, int open_flags, int dict_flags,
                            struct buf *why)
{
    (void) name;
    (void) open_flags;
    (void) dict_flags;
    buf_set(why, "hash: not implemented yet");
    return NULL;
}

struct dict *dict_btree_open(const char *name, int open_flags, int dict_flags,
                             struct buf *why)
{
    (void) name;
    (void) open_flags;
    (void) dict_flags;
    buf_set(why, "btree: not implemented yet");
    return NULL;
}
