/*
 * mem - allocation that never returns NULL.
 *
 * On exhaustion every mem_* call logs a fatal error and exits: a mail daemon
 * that cannot allocate cannot continue safely, and the master restarts it.
 * mem_free(NULL) is a no-op.  Every pointer returned is owned by the caller.
 */
#ifndef ULAK_MEM_H
#define ULAK_MEM_H

#include "sys_defs.h"

void *mem_alloc(size_t len);
void *mem_zalloc(size_t len);
void *mem_realloc(void *ptr, size_t len);
void *mem_calloc(size_t n, size_t size);
void mem_free(void *ptr);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t len);
void *mem_dup(const void *p, size_t len);

#endif
