/* tok822 - RFC 822 tokens */
#include "tok822.h"

#include <ctype.h>

#include "../lib/mem.h"

/* tok822_init - an empty list */
void tok822_init(struct tok822_list *t)
{
    t->v = NULL;
    t->n = 0;
    t->size = 0;
    t->unterminated = false;
}

/* tok822_free - release every token */
void tok822_free(struct tok822_list *t)
{
    for (size_t i = 0; i < t->n; i++)
        buf_fini(&t->v[i].text);
    mem_free(t->v);
    tok822_init(t);
}

/* tok_add - a new empty token of KIND at the end of T */
static struct tok822 *tok_add(struct tok822_list *t, enum tok822_kind kind)
{
    struct tok822 *k;

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

/* is_special - whether C separates atoms (a NUL byte does not) */
static bool is_special(int c)
{
    return c != 0 && strchr(TOK822_SPECIALS, c) != NULL;
}

/* scan_quoted - text up to the unescaped CLOSE (or END) from *PP */
static void scan_quoted(const char **pp, const char *end, int close,
                        struct buf *out, struct tok822_list *t)
{
    const char *p = *pp;

    while (p < end && *p != close) {
        if (*p == '\\' && ++p == end)
            break;
        buf_catc(out, *p++);
    }
    if (p < end)
        p++;
    else
        t->unterminated = true;
    *pp = p;
}

/* tok822_scan - the RFC 822 tokens of IN */
int tok822_scan(struct span in, struct tok822_list *t, size_t max_tokens,
                struct buf *why)
{
    const char *p = in.p;
    const char *end = in.p + in.len;

    while (p < end) {
        struct tok822 *k;

        if (isspace((unsigned char) *p)) {
            p++;
            continue;
        }
        if (t->n >= max_tokens) {
            buf_setf(why, "too many tokens (more than %zu)", max_tokens);
            return -1;
        }
        if (*p == '(') {
            /* Comments are kept as written, even when unterminated. */
            const char *start = p;
            size_t depth = 0;
            bool closed = false;

            for (; p < end; p++) {
                if (*p == '\\' && p + 1 < end) {
                    p++;
                } else if (*p == '(') {
                    depth++;
                } else if (*p == ')' && --depth == 0) {
                    p++;
                    closed = true;
                    break;
                }
            }
            if (!closed)
                t->unterminated = true;
            k = tok_add(t, TOK822_COMMENT);
            buf_catn(&k->text, start, (size_t) (p - start));
        } else if (*p == '"') {
            p++;
            k = tok_add(t, TOK822_QSTRING);
            scan_quoted(&p, end, '"', &k->text, t);
        } else if (*p == '[') {
            p++;
            k = tok_add(t, TOK822_DOMLIT);
            scan_quoted(&p, end, ']', &k->text, t);
        } else if (*p != '\\' && is_special(*p)) {
            k = tok_add(t, TOK822_OP);
            buf_catc(&k->text, *p++);
        } else {
            k = tok_add(t, TOK822_ATOM);
            while (p < end && !isspace((unsigned char) *p)
                   && (*p == '\\' || !is_special(*p))) {
                if (*p == '\\') {
                    k->escaped = true;
                    if (++p == end)
                        break;
                }
                buf_catc(&k->text, *p++);
            }
        }
    }
    return 0;
}

/* tok822_is_op - whether K is the special character C */
bool tok822_is_op(const struct tok822 *k, int c)
{
    return k->kind == TOK822_OP && buf_str(&k->text)[0] == c;
}

/* tok822_needs_quotes - whether TEXT must be quoted */
bool tok822_needs_quotes(struct span text)
{
    for (size_t i = 0; i < text.len; i++) {
        unsigned char c = (unsigned char) text.p[i];

        if (c <= ' ' || c == 0x7f || is_special(c))
            return true;
    }
    return false;
}

/* tok822_cat_quoted - "TEXT" with " and \ escaped */
void tok822_cat_quoted(struct buf *out, struct span text)
{
    buf_catc(out, '"');
    for (size_t i = 0; i < text.len; i++) {
        if (text.p[i] == '"' || text.p[i] == '\\')
            buf_catc(out, '\\');
        buf_catc(out, text.p[i]);
    }
    buf_catc(out, '"');
}
