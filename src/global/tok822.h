/*
 * tok822 - RFC 822 tokens of an address, an alias value or a header.
 *
 * tok822_scan() splits a span into atoms, "quoted strings", (comments),
 * [domain literals] and one-byte specials, as Postfix's RFC 822 tokenizer
 * reads them: white space separates tokens and is dropped; the specials are
 * RFC 822's ()<>@,;:\".[] plus the route operators ! % |, which Postfix
 * also keeps apart from atoms; a backslash escapes the next byte in an
 * atom, a quoted string or a domain literal (the escape is removed, and an
 * atom remembers that it had one).  Nothing is an error: an unterminated
 * quoted string, comment or domain literal ends at the end of the input, as
 * in Postfix, and the list's "unterminated" flag says that it happened; a
 * stray ')' is part of an atom.  Comments are kept as written (parentheses
 * and escapes included) and may nest.
 *
 * Bounds: the caller gives the maximum number of tokens; more is an error
 * (-1 with WHY), so a hostile header cannot make an unbounded list.  Input
 * bytes are never written; a NUL byte in the span is an ordinary byte.
 *
 * Ownership: the list owns its tokens and their text; tok822_free()
 * releases them (the struct itself is the caller's).
 */
#ifndef ULAK_TOK822_H
#define ULAK_TOK822_H

#include "../lib/buf.h"

enum tok822_kind {
    TOK822_ATOM,    /* text unescaped; ESCAPED when a backslash was used */
    TOK822_QSTRING, /* text without the quotes, unescaped */
    TOK822_COMMENT, /* text as written, parentheses included */
    TOK822_DOMLIT,  /* text without the brackets, unescaped */
    TOK822_OP,      /* one special character */
};

struct tok822 {
    enum tok822_kind kind;
    bool escaped;    /* TOK822_ATOM: a backslash escape was removed */
    struct buf text; /* owned */
};

struct tok822_list {
    struct tok822 *v; /* owned */
    size_t n;
    size_t size;
    bool unterminated; /* a quoted string, comment or literal hit the end */
};

/* The RFC 822 specials plus ! % |, as Postfix separates them. */
#define TOK822_SPECIALS "()<>@,;:\\\".[]!%|"

/* tok822_init - an empty list. */
void tok822_init(struct tok822_list *t);
/* tok822_free - release the tokens (the list may be reused after init). */
void tok822_free(struct tok822_list *t);
/* tok822_scan - append the tokens of IN to T; -1 with WHY ("too many
 * tokens (more than N)") when there would be more than MAX_TOKENS. */
int tok822_scan(struct span in, struct tok822_list *t, size_t max_tokens,
                struct buf *why);
/* tok822_is_op - whether K is the special character C. */
bool tok822_is_op(const struct tok822 *k, int c);
/* tok822_needs_quotes - whether TEXT, as a word, must be quoted in RFC 822
 * (a byte that is a special, white space, a control or DEL). */
bool tok822_needs_quotes(struct span text);
/* tok822_cat_quoted - append "TEXT" with " and \ escaped to OUT. */
void tok822_cat_quoted(struct buf *out, struct span text);

#endif
