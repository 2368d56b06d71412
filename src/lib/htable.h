/*
 * htable - a hash table from NUL-terminated string keys to pointers.
 *
 * Keys are copied (owned by the table); values are borrowed: the table never
 * frees them unless htable_free() is given a destructor.  Iteration order is
 * unspecified; htable_list() returns the entries for sorting.
 */
#ifndef ULAK_HTABLE_H
#define ULAK_HTABLE_H

#include "sys_defs.h"

struct htable_entry {
    char *key;   /* owned by the table */
    void *value; /* borrowed */
    struct htable_entry *next;
};

struct htable {
    struct htable_entry **buckets;
    size_t size;
    size_t used;
};

typedef void (*htable_free_fn)(void *value);

struct htable *htable_new(size_t size_hint);
void htable_free(struct htable *t, htable_free_fn fn);
/* htable_enter - insert or replace; returns the entry. Old value is the
 * caller's problem (use htable_locate first when it must be freed). */
struct htable_entry *htable_enter(struct htable *t, const char *key,
                                  void *value);
struct htable_entry *htable_locate(const struct htable *t, const char *key);
void *htable_find(const struct htable *t, const char *key);
/* htable_delete - remove KEY, calling FN on its value when FN is set. */
void htable_delete(struct htable *t, const char *key, htable_free_fn fn);
/* htable_list - NULL-terminated array of entries (owned by the caller,
 * entries borrowed); sorted by key when SORTED. */
struct htable_entry **htable_list(const struct htable *t, bool sorted);

#endif
