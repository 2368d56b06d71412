#include "argv.h"

#include "mem.h"

/* argv_new - empty vector */
struct argv *argv_new(void)
{
    struct argv *a = mem_alloc(sizeof(*a));

    a->size = 8;
    a->argc = 0;
    a->argv = mem_calloc(a->size, sizeof(char *));
    return a;
}

/* argv_free - release the vector and its strings */
void argv_free(struct argv *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->argc; i++)
        mem_free(a->argv[i]);
    mem_free(a->argv);
    mem_free(a);
}

/* argv_addn - append a copy of LEN bytes */
void argv_addn(struct argv *a, const char *s, size_t len)
{
    if (a->argc + 1 >= a->size) {
        a->size *= 2;
        a->argv = mem_realloc(a->argv, a->size * sizeof(char *));
    }
    a->argv[a->argc++] = mem_strndup(s, len);
    a->argv[a->argc] = NULL;
}

/* argv_add - append a copy of S */
void argv_add(struct argv *a, const char *s)
{
    argv_addn(a, s, strlen(s));
}

/* argv_truncate - keep the first ARGC strings */
void argv_truncate(struct argv *a, size_t argc)
{
    while (a->argc > argc)
        mem_free(a->argv[--a->argc]);
    a->argv[a->argc] = NULL;
}

/* argv_split - split S on the bytes in SEP */
struct argv *argv_split(const char *s, const char *sep)
{
    struct argv *a = argv_new();

    while (*s) {
        size_t skip = strspn(s, sep);
        size_t len;

        s += skip;
        if (*s == 0)
            break;
        len = strcspn(s, sep);
        argv_addn(a, s, len);
        s += len;
    }
    return a;
}
