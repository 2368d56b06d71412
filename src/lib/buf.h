/*
 * buf - the one growable, binary-safe string; span - a borrowed slice.
 *
 * Invariants: b->data is always NUL-terminated (b->data[b->len] == 0), so
 * buf_str() can be passed to C string functions; the data may contain NULs.
 * A buf with a non-zero cap never grows beyond cap bytes of content: an
 * append that would exceed it appends nothing and returns -1 (the caller
 * decides: reject the line, truncate, ...).  Growth may move the data, so
 * never hold a char * into a buf across an append.
 *
 * A span {p, len} points into memory it does not own and need not be
 * NUL-terminated.  Parsers take spans and never write into their input.
 */
#ifndef ULAK_BUF_H
#define ULAK_BUF_H

#include <stdarg.h>

#include "sys_defs.h"

struct buf {
    char *data; /* owned; NUL-terminated */
    size_t len;
    size_t size; /* allocated, > len */
    size_t cap;  /* 0: unlimited */
};

struct span {
    const char *p;
    size_t len;
};

#define BUF_INIT      \
    {                 \
        NULL, 0, 0, 0 \
    }

/* buf_new - heap buf (owned); buf_free(NULL) is a no-op. */
struct buf *buf_new(size_t cap);
void buf_free(struct buf *b);
/* buf_init/buf_fini - embedded buf. */
void buf_init(struct buf *b, size_t cap);
void buf_fini(struct buf *b);

void buf_reset(struct buf *b);
int buf_cat(struct buf *b, const char *s);
int buf_catn(struct buf *b, const void *p, size_t len);
int buf_catc(struct buf *b, int c);
int buf_catspan(struct buf *b, struct span s);
int buf_catf(struct buf *b, const char *fmt, ...) ULAK_PRINTFLIKE(2, 3);
int buf_vcatf(struct buf *b, const char *fmt, va_list ap) ULAK_PRINTFLIKE(2, 0);
/* buf_set - reset, then cat. */
int buf_set(struct buf *b, const char *s);
int buf_setf(struct buf *b, const char *fmt, ...) ULAK_PRINTFLIKE(2, 3);
/* buf_truncate - shorten to LEN (no-op when already shorter). */
void buf_truncate(struct buf *b, size_t len);
/* buf_str - the content, borrowed until the next change ("" when empty). */
const char *buf_str(const struct buf *b);
size_t buf_len(const struct buf *b);
/* buf_steal - transfer the content to the caller and reset the buf. */
char *buf_steal(struct buf *b);
/* buf_lower - fold ASCII upper case to lower case in place. */
void buf_lower(struct buf *b);

/* Spans. */
struct span span_of(const char *s);
struct span span_make(const char *p, size_t len);
bool span_eq(struct span s, const char *lit);
bool span_caseeq(struct span s, const char *lit);
struct span span_trim(struct span s);
char *span_dup(struct span s); /* owned, NUL-terminated copy */

#endif
