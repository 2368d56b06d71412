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
    {"cidr", dict_cidr_open, DICT_TYPE_PATTERN},
    {"environ", dict_environ_open, DICT_TYPE_FIXED},
    {"fail", dict_fail_open, DICT_TYPE_FIXED},
    {"hash", dict_hash_open,
     DICT_TYPE_FIXED | DICT_TYPE_WRITABLE | DICT_TYPE_INDEXED},
    {"inline", dict_inline_open, DICT_TYPE_FIXED},
    {"internal", dict_internal_open, DICT_TYPE_FIXED | DICT_TYPE_WRITABLE},
    {"lmdb", dict_lmdb_open,
     DICT_TYPE_FIXED | DICT_TYPE_WRITABLE | DICT_TYPE_INDEXED},
    {"pcre", dict_pcre_open, DICT_TYPE_PATTERN},
    {"pipemap", dict_pipemap_open, 0},
    {"randmap", dict_randmap_open, 0},
    {"regexp", dict_regexp_open, DICT_TYPE_PATTERN},
    {"static", dict_static_open, DICT_TYPE_FIXED},
    {"texthash", dict_texthash_open, DICT_TYPE_FIXED},
    {"unionmap", dict_unionmap_open, 0},
    {"unix", dict_unix_open, DICT_TYPE_FIXED},
};

/* Filled on first use from types[], which is kept sorted by name. */
static const struct dict_type *type_list[NELEM(types) + 1];

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
    if (type_list[0] == NULL)
        for (size_t i = 0; i < NELEM(types); i++)
            type_list[i] = &types[i];
    return type_list;
}
