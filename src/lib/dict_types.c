/*
 * dict_types - the registry of table types.
 *
 * A type is listed here only when it works: postconf -m prints this list.
 */
#include "dict.h"

#include "dict_impl.h"

static const struct dict_type types[] = {
    {"btree", dict_btree_open,
     DICT_TYPE_FIXED | DICT_TYPE_WRITABLE | DICT_TYPE_INDEXED},
    {"cdb", dict_cdb_open,
     DICT_TYPE_FIXED | DICT_TYPE_WRITABLE | DICT_TYPE_INDEXED},
    {"hash", dict_hash_open,
     DICT_TYPE_FIXED | DICT_TYPE_WRITABLE | DICT_TYPE_INDEXED},
    {"lmdb", dict_lmdb_open,
     DICT_TYPE_FIXED | DICT_TYPE_WRITABLE | DICT_TYPE_INDEXED},
};

static const struct dict_type *const type_list[] = {
    &types[0], &types[1], &types[2], &types[3], NULL,
};

/* dict_type_find - the type called NAME, or NULL */
const struct dict_type *dict_type_find(const char *name)
{
    for (size_t i = 0; i < NELEM(types); i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

/* dict_type_list - every working type, sorted by name */
const struct dict_type *const *dict_type_list(void)
{
    return type_list;
}
