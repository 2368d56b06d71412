#include "mem.h"

#include "msg.h"

/* mem_alloc - allocate LEN bytes or exit */
void *mem_alloc(size_t len)
{
    void *p = malloc(len ? len : 1);

    if (p == NULL)
        msg_fatal("out of memory allocating %zu bytes", len);
    return p;
}

/* mem_zalloc - allocate LEN zeroed bytes or exit */
void *mem_zalloc(size_t len)
{
    void *p = calloc(1, len ? len : 1);

    if (p == NULL)
        msg_fatal("out of memory allocating %zu bytes", len);
    return p;
}

/* mem_calloc - allocate N zeroed elements of SIZE bytes, overflow-checked */
void *mem_calloc(size_t n, size_t size)
{
    void *p;

    if (size != 0 && n > SIZE_MAX / size)
        msg_panic("mem_calloc: %zu * %zu overflows", n, size);
    p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        msg_fatal("out of memory allocating %zu * %zu bytes", n, size);
    return p;
}

/* mem_realloc - resize PTR to LEN bytes or exit */
void *mem_realloc(void *ptr, size_t len)
{
    void *p = realloc(ptr, len ? len : 1);

    if (p == NULL)
        msg_fatal("out of memory reallocating %zu bytes", len);
    return p;
}

/* mem_free - release memory; NULL is a no-op */
void mem_free(void *ptr)
{
    free(ptr);
}

/* mem_strdup - copy a NUL-terminated string */
char *mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
}

/* mem_strndup - copy LEN bytes of S and terminate the copy */
char *mem_strndup(const char *s, size_t len)
{
    char *p = mem_alloc(len + 1);

    memcpy(p, s, len);
    p[len] = 0;
    return p;
}

/* mem_dup - copy LEN bytes */
void *mem_dup(const void *src, size_t len)
{
    void *p = mem_alloc(len);

    memcpy(p, src, len);
    return p;
}
