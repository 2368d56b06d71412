/* alias_src - aliases(5) entries as postalias(1) stores them */
#include "alias_src.h"

#include <ctype.h>

#include "../lib/mem.h"

enum tok_kind {
    TOK_ATOM,    /* text unescaped; ESCAPED when a backslash was used */
    TOK_QSTRING, /* text without the quotes, unescaped */
    TOK_COMMENT, /* text as written, parentheses included */
    TOK_DOMLIT,  /* text without the brackets, unescaped */
    TOK_OP,      /* one special character */
};

struct tok {
    enum tok_kind kind;
    bool escaped;
    struct buf text;
};

struct toks {
    struct tok *v;
    size_t n;
    size_t size;
};

/* RFC 822 specials plus the route operators !, % and |, which Postfix
 * also separates from atoms. */
#define SPECIALS "()<>@,;:\\\".[]!%|"

/* tok_add - a new empty token of KIND at the end of T */
static struct tok *tok_add(struct toks *t, enum tok_kind kind)
{
    struct tok *k;

    if (t->n == t->size) {
        t->size = t->size ? 2 * t->size : 16;
        t->v = mem_realloc(t->v, t->size * sizeof(*t->v));
    }
    k = &t->v[t->n++];
    k->kind = kind;
    k->escaped = false;
    buf_init(&k->text, 0);
    return k;
}

/* toks_free - release every token */
static void toks_free(struct toks *t)
{
    for (size_t i = 0; i < t->n; i++)
        buf_fini(&t->v[i].text);
    mem_free(t->v);
}

/* scan_quoted - text up to the unescaped CLOSE (or the end) at *PP */
static void scan_quoted(const char **pp, int close, struct buf *out)
{
    const char *p = *pp;

    while (*p && *p != close) {
        if (*p == '\\') {
            if (*++p == 0)
                break;
        }
        buf_catc(out, *p++);
    }
    if (*p == close)
        p++;
    *pp = p;
}

/* tokenize - the RFC 822 tokens of S */
static void tokenize(const char *s, struct toks *t)
{
    const char *p = s;

    while (*p) {
        struct tok *k;

        if (isspace((unsigned char) *p)) {
            p++;
        } else if (*p == '(') {
            /* Comments are kept as written, even when unterminated. */
            const char *start = p;
            int depth = 0;

            for (; *p; p++) {
                if (*p == '\\' && p[1] != 0) {
                    p++;
                } else if (*p == '(') {
                    depth++;
                } else if (*p == ')' && --depth == 0) {
                    p++;
                    break;
                }
            }
            k = tok_add(t, TOK_COMMENT);
            buf_catn(&k->text, start, (size_t) (p - start));
        } else if (*p == '"') {
            p++;
            k = tok_add(t, TOK_QSTRING);
            scan_quoted(&p, '"', &k->text);
        } else if (*p == '[') {
            p++;
            k = tok_add(t, TOK_DOMLIT);
            scan_quoted(&p, ']', &k->text);
        } else if (*p != '\\' && strchr(SPECIALS, *p) != NULL) {
            k = tok_add(t, TOK_OP);
            buf_catc(&k->text, *p++);
        } else {
            k = tok_add(t, TOK_ATOM);
            while (*p && !isspace((unsigned char) *p)
                   && (*p == '\\' || strchr(SPECIALS, *p) == NULL)) {
                if (*p == '\\') {
                    k->escaped = true;
                    if (*++p == 0)
                        break;
                }
                buf_catc(&k->text, *p++);
            }
        }
    }
}

/* is_word - whether a token is a word for the spacing rules */
static bool is_word(const struct tok *k)
{
    return k->kind != TOK_OP;
}

/* is_op - whether K is the special character C */
static bool is_op(const struct tok *k, int c)
{
    return k->kind == TOK_OP && buf_str(&k->text)[0] == c;
}

/* needs_quotes - whether an escaped atom's text must be quoted */
static bool needs_quotes(const struct buf *text)
{
    for (const char *p = buf_str(text); *p; p++) {
        unsigned char c = (unsigned char) *p;

        if (c <= ' ' || c == 0x7f || strchr(SPECIALS, c) != NULL)
            return true;
    }
    return false;
}

/* cat_quoted - "TEXT" with " and \ escaped */
static void cat_quoted(struct buf *out, const struct buf *text)
{
    buf_catc(out, '"');
    for (const char *p = buf_str(text); *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_catc(out, '\\');
        buf_catc(out, *p);
    }
    buf_catc(out, '"');
}

/* externalize - tokens FROM..TO as text; INTERNAL drops the quoting */
static void externalize(const struct toks *t, size_t from, size_t to,
                        bool internal, struct buf *out)
{
    buf_reset(out);
    for (size_t i = from; i < to; i++) {
        const struct tok *k = &t->v[i];

        if (i > from) {
            const struct tok *prev = &t->v[i - 1];

            /* One space between words, and before '<' after a word or
             * '>'; ", " after a comma (added below). */
            if ((is_word(prev) || is_op(prev, '>'))
                && (is_word(k) || is_op(k, '<'))
                && !(is_op(prev, '>') && is_word(k)))
                buf_catc(out, ' ');
        }
        switch (k->kind) {
            case TOK_ATOM:
                if (!internal && k->escaped && needs_quotes(&k->text))
                    cat_quoted(out, &k->text);
                else
                    buf_cat(out, buf_str(&k->text));
                break;
            case TOK_QSTRING:
                if (internal)
                    buf_cat(out, buf_str(&k->text));
                else
                    cat_quoted(out, &k->text);
                break;
            case TOK_COMMENT:
                buf_cat(out, buf_str(&k->text));
                break;
            case TOK_DOMLIT:
                buf_catc(out, '[');
                buf_cat(out, buf_str(&k->text));
                buf_catc(out, ']');
                break;
            case TOK_OP:
                buf_cat(out, buf_str(&k->text));
                if (is_op(k, ','))
                    buf_catc(out, ' ');
                break;
        }
    }
}

/* alias_src_parse - split and normalise one aliases(5) entry */
int alias_src_parse(const char *line, struct buf *name, struct buf *value,
                    struct buf *why)
{
    struct toks t = {NULL, 0, 0};
    size_t colon;
    int ret = 0;

    tokenize(line, &t);
    for (colon = 0; colon < t.n; colon++)
        if (is_op(&t.v[colon], ':'))
            break;
    if (colon == 0 || colon >= t.n - 1) {
        buf_set(why, "need name:value pair");
        ret = -1;
    } else {
        for (size_t i = 0; i < colon && ret == 0; i++) {
            if (is_op(&t.v[i], '@')) {
                buf_set(why, "name must be local");
                ret = -1;
            }
        }
    }
    if (ret == 0) {
        externalize(&t, 0, colon, true, name);
        externalize(&t, colon + 1, t.n, false, value);
    }
    toks_free(&t);
    return ret;
}
