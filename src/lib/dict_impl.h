/*
 * dict_impl - the open functions of every table type, for the registry in
 * dict_types.c, and the in-memory table that texthash and inline share.
 * Only table implementations include this.
 */
#ifndef ULAK_DICT_IMPL_H
#define ULAK_DICT_IMPL_H

#include "dict.h"

struct dict *dict_hash_open(const char *, int, int, struct buf *);
struct dict *dict_btree_open(const char *, int, int, struct buf *);
struct dict *dict_lmdb_open(const char *, int, int, struct buf *);
struct dict *dict_cdb_open(const char *, int, int, struct buf *);
struct dict *dict_texthash_open(const char *, int, int, struct buf *);
struct dict *dict_inline_open(const char *, int, int, struct buf *);
struct dict *dict_static_open(const char *, int, int, struct buf *);
struct dict *dict_regexp_open(const char *, int, int, struct buf *);
struct dict *dict_pcre_open(const char *, int, int, struct buf *);
struct dict *dict_cidr_open(const char *, int, int, struct buf *);
struct dict *dict_unix_open(const char *, int, int, struct buf *);
struct dict *dict_fail_open(const char *, int, int, struct buf *);
struct dict *dict_environ_open(const char *, int, int, struct buf *);
struct dict *dict_unionmap_open(const char *, int, int, struct buf *);
struct dict *dict_pipemap_open(const char *, int, int, struct buf *);
struct dict *dict_randmap_open(const char *, int, int, struct buf *);

/*
 * An in-memory table (texthash, inline): keys in insertion order for
 * sequence, values owned by the table.
 */
struct dict *dict_mem_new(const char *type, const char *name, int open_flags,
                          int dict_flags);
/* dict_mem_put - store a copy of KEY=VALUE (folded as the flags say);
 * returns 1 when KEY was already present (then REPLACE decides), else 0. */
int dict_mem_put(struct dict *d, const char *key, const char *value,
                 bool replace);

#endif
