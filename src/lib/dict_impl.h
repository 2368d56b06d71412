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
struct dict *dict_internal_open(const char *, int, int, struct buf *);
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

/*
 * dict_text_any - the rule lines of a pattern table: the file NAME, or
 * for NAME "{ {rule}, {rule} }" one line per rule (Postfix 3.7 inline
 * form).  MAP ("regexp map") prefixes the syntax errors in WHY.  Returns
 * as dict_text_open (dict.h).
 */
int dict_text_any(struct dict_text *t, const char *map, const char *name,
                  struct buf *why);

/*
 * A regular-expression engine for the rule-file table of dict_regexp.c,
 * shared by regexp: (POSIX) and pcre: (PCRE2).
 */
#define DICT_PAT_UNSET SIZE_MAX
struct dict_pat_engine {
    const char *type;          /* "regexp" */
    int default_flags;         /* engine flag bits before the toggles */
    const char *zero_warning;  /* "out-of-range replacement index" */
    const char *no_delim;      /* "skipping" (regexp) or "ignoring" (pcre) */
    bool secondary;            /* "/re/!/re2/": also require re2 (regexp) */
    bool end_backslash_closes; /* a backslash ending the line ends the
                                  pattern (regexp) */
    /* flag - toggle flag C in *FLAGS: 0 done, 1 obsolete (warn, ignore),
     * -1 unknown */
    int (*flag)(int c, int *flags);
    /* compile - NULL with the engine's message in ERR.  SUBS says whether
     * the groups will be used: Postfix's regexp tables match without them
     * otherwise (REG_NOSUB), which changes what glibc's regexec matches. */
    void *(*compile)(const char *pattern, int flags, bool subs, size_t *nsub,
                     struct buf *err);
    /* match - 1 matched, with groups 0..NSUB as start/end offsets in OFF
     * (DICT_PAT_UNSET when a group did not take part), 0 no match, -1
     * error in ERR */
    int (*match)(void *re, const char *key, size_t nsub, size_t *off,
                 struct buf *err);
    void (*free)(void *re);
};
struct dict *dict_pat_open(const struct dict_pat_engine *eng, const char *name,
                           int open_flags, int dict_flags, struct buf *why);

#endif
