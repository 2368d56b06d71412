#include "htable.h"

#include "mem.h"

/* hash - FNV-1a over the key */
static size_t hash(const char *key, size_t size)
{
    uint64_t h = 14695981039346656037ULL;

    for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return (size_t) (h % size);
}

/* htable_new - empty table */
struct htable *htable_new(size_t size_hint)
{
    struct htable *t = mem_alloc(sizeof(*t));

    t->size = size_hint < 13 ? 13 : size_hint | 1;
    t->used = 0;
    t->buckets = mem_calloc(t->size, sizeof(*t->buckets));
    return t;
}

/* htable_free - release the table, and values with FN when set */
void htable_free(struct htable *t, htable_free_fn fn)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->size; i++) {
        struct htable_entry *e = t->buckets[i], *next;

        for (; e; e = next) {
            next = e->next;
            if (fn)
                fn(e->value);
            mem_free(e->key);
            mem_free(e);
        }
    }
    mem_free(t->buckets);
    mem_free(t);
}

/* grow - double the bucket array */
static void grow(struct htable *t)
{
    size_t size = t->size * 2 + 1;
    struct htable_entry **b = mem_calloc(size, sizeof(*b));

    for (size_t i = 0; i < t->size; i++) {
        struct htable_entry *e = t->buckets[i], *next;

        for (; e; e = next) {
            size_t h = hash(e->key, size);

            next = e->next;
            e->next = b[h];
            b[h] = e;
        }
    }
    mem_free(t->buckets);
    t->buckets = b;
    t->size = size;
}

/* htable_locate - the entry for KEY, or NULL */
struct htable_entry *htable_locate(const struct htable *t, const char *key)
{
    for (struct htable_entry *e = t->buckets[hash(key, t->size)]; e;
         e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* htable_find - the value for KEY, or NULL */
void *htable_find(const struct htable *t, const char *key)
{
    struct htable_entry *e = htable_locate(t, key);

    return e ? e->value : NULL;
}

/* htable_enter - insert or replace */
struct htable_entry *htable_enter(struct htable *t, const char *key,
                                  void *value)
{
    struct htable_entry *e = htable_locate(t, key);
    size_t h;

    if (e) {
        e->value = value;
        return e;
    }
    if (t->used >= t->size)
        grow(t);
    h = hash(key, t->size);
    e = mem_alloc(sizeof(*e));
    e->key = mem_strdup(key);
    e->value = value;
    e->next = t->buckets[h];
    t->buckets[h] = e;
    t->used++;
    return e;
}

/* htable_delete - remove KEY */
void htable_delete(struct htable *t, const char *key, htable_free_fn fn)
{
    struct htable_entry **pp = &t->buckets[hash(key, t->size)];

    for (; *pp; pp = &(*pp)->next) {
        struct htable_entry *e = *pp;

        if (strcmp(e->key, key) == 0) {
            *pp = e->next;
            if (fn)
                fn(e->value);
            mem_free(e->key);
            mem_free(e);
            t->used--;
            return;
        }
    }
}

/* cmp - order entries by key */
static int cmp(const void *a, const void *b)
{
    const struct htable_entry *const *x = a, *const *y = b;

    return strcmp((*x)->key, (*y)->key);
}

/* htable_list - all entries, optionally sorted */
struct htable_entry **htable_list(const struct htable *t, bool sorted)
{
    struct htable_entry **list = mem_calloc(t->used + 1, sizeof(*list));
    size_t n = 0;

    for (size_t i = 0; i < t->size; i++)
        for (struct htable_entry *e = t->buckets[i]; e; e = e->next)
            list[n++] = e;
    list[n] = NULL;
    if (sorted && n > 1)
        qsort(list, n, sizeof(*list), cmp);
    return list;
}
