/*
 * argv - a growable, NULL-terminated vector of owned strings.
 *
 * a->argv[a->argc] is always NULL, so a->argv can be passed to execve().
 * argv_split() splits on any of the separator bytes and drops empty fields.
 */
#ifndef ULAK_ARGV_H
#define ULAK_ARGV_H

#include "sys_defs.h"

struct argv {
    char **argv; /* owned, NULL-terminated */
    size_t argc;
    size_t size;
};

struct argv *argv_new(void);
void argv_free(struct argv *a);
void argv_add(struct argv *a, const char *s);
void argv_addn(struct argv *a, const char *s, size_t len);
void argv_truncate(struct argv *a, size_t argc);
/* argv_split - new vector of the non-empty fields of S separated by SEP. */
struct argv *argv_split(const char *s, const char *sep);

#endif
