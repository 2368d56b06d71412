/*
 * sys_defs - platform glue and project-wide attributes.
 *
 * Every .c file includes this first (through its own header).  It fixes the
 * feature-test macros, defines the attribute macros of the house style, and
 * poisons the unbounded C library calls that STYLE.md bans, so that a use of
 * one of them is a compile error, not a review comment.
 */
#ifndef ULAK_SYS_DEFS_H
#define ULAK_SYS_DEFS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#define ULAK_PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))
#define ULAK_NORETURN         __attribute__((noreturn))
#define ULAK_NODISCARD        __attribute__((warn_unused_result))
#define ULAK_UNUSED           __attribute__((unused))

#define ULAK_VERSION "0.1.0"

/* The number of elements of a true array. */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Banned calls (alloca is a glibc macro and cannot be poisoned: "make lint"
 * catches it).
 * catches uses in our own code.  Test files may define ULAK_NO_POISON when a
 * test framework's macros expand to one of these.
 */
#ifndef ULAK_NO_POISON
#pragma GCC poison strcpy strcat sprintf vsprintf strncpy strtok atoi atol
#pragma GCC poison gets
#endif

#endif
