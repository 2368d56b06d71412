/*
 * tbl_src - the text that postmap(1) and postalias(1) build tables from.
 *
 * tbl_src_next() returns logical lines as Postfix reads them: a line that
 * starts with white space continues the previous one (the newline is
 * dropped, the white space kept), blank lines and lines whose first
 * non-blank byte is '#' are skipped, also in the middle of a continuation,
 * and trailing white space is removed.  A logical line that would start
 * with white space (continuation text before any entry) is skipped with
 * Postfix's warning.  The line number is that of the first physical line.
 *
 * tbl_src_split() splits a postmap(1) line into key and value ("key
 * whitespace value", the key optionally in double quotes, kept as written);
 * it is a pure function over its input.  aliases(5) lines are split by
 * alias_src.h.
 */
#ifndef ULAK_TBL_SRC_H
#define ULAK_TBL_SRC_H

#include <stdio.h>

#include "../lib/buf.h"

struct tbl_src {
    FILE *fp;        /* owned when OWN_FP */
    bool own_fp;     /* tbl_src_open opened it */
    char *name;      /* owned: for messages ("stdin" or the path) */
    int lineno;      /* physical lines consumed */
    struct buf next; /* look-ahead physical line */
    bool have_next;
    bool eof;
};

/* tbl_src_open - read PATH; -1 with "open PATH: strerror" in WHY. */
int tbl_src_open(struct tbl_src *s, const char *path, struct buf *why);
/* tbl_src_fdopen - read FP (not closed by tbl_src_close), named NAME. */
void tbl_src_fdopen(struct tbl_src *s, FILE *fp, const char *name);
/* tbl_src_next - the next logical line into LINE; false at the end. */
bool tbl_src_next(struct tbl_src *s, struct buf *line, int *lineno);
void tbl_src_close(struct tbl_src *s);

/* tbl_src_split - "key value": 0 with KEY and VALUE set, or -1 with the
 * warning text (without "file, line N: ") in WHY. */
int tbl_src_split(const char *line, struct buf *key, struct buf *value,
                  struct buf *why);

/* tbl_src_utf8_ok - whether S is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
bool tbl_src_utf8_ok(const char *s);
/* tbl_src_utf8_show - S for a message, each byte that is not part of a
 * well-shaped UTF-8 sequence replaced with '?', as Postfix shows it. */
void tbl_src_utf8_show(const char *s, struct buf *out);

#endif
