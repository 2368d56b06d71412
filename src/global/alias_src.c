/* alias_src - aliases(5) entries as postalias(1) stores them */
#include "alias_src.h"

#include "tok822.h"

/* Aliases come from the administrator's file, whose lines tbl_src
 * already bounds: no token limit of our own. */
#define ALIAS_MAX_TOKENS SIZE_MAX

/* is_word - whether a token is a word for the spacing rules */
static bool is_word(const struct tok822 *k)
{
    return k->kind != TOK822_OP;
}

/* externalize - tokens FROM..TO as text; INTERNAL drops the quoting */
static void externalize(const struct tok822_list *t, size_t from, size_t to,
                        bool internal, struct buf *out)
{
    buf_reset(out);
    for (size_t i = from; i < to; i++) {
        const struct tok822 *k = &t->v[i];

        if (i > from) {
            const struct tok822 *prev = &t->v[i - 1];

            /* One space between words, and before '<' after a word or
             * '>'; ", " after a comma (added below). */
            if ((is_word(prev) || tok822_is_op(prev, '>'))
                && (is_word(k) || tok822_is_op(k, '<'))
                && !(tok822_is_op(prev, '>') && is_word(k)))
                buf_catc(out, ' ');
        }
        switch (k->kind) {
            case TOK822_ATOM:
                if (!internal && k->escaped
                    && tok822_needs_quotes(span_of(buf_str(&k->text))))
                    tok822_cat_quoted(out, span_of(buf_str(&k->text)));
                else
                    buf_cat(out, buf_str(&k->text));
                break;
            case TOK822_QSTRING:
                if (internal)
                    buf_cat(out, buf_str(&k->text));
                else
                    tok822_cat_quoted(out, span_of(buf_str(&k->text)));
                break;
            case TOK822_COMMENT:
                buf_cat(out, buf_str(&k->text));
                break;
            case TOK822_DOMLIT:
                buf_catc(out, '[');
                buf_cat(out, buf_str(&k->text));
                buf_catc(out, ']');
                break;
            case TOK822_OP:
                buf_cat(out, buf_str(&k->text));
                if (tok822_is_op(k, ','))
                    buf_catc(out, ' ');
                break;
        }
    }
}

/* alias_src_parse - split and normalise one aliases(5) entry */
int alias_src_parse(const char *line, struct buf *name, struct buf *value,
                    struct buf *why)
{
    struct tok822_list t;
    size_t colon;
    int ret = 0;

    tok822_init(&t);
    (void) tok822_scan(span_of(line), &t, ALIAS_MAX_TOKENS, why);
    for (colon = 0; colon < t.n; colon++)
        if (tok822_is_op(&t.v[colon], ':'))
            break;
    if (colon == 0 || colon >= t.n - 1) {
        buf_set(why, "need name:value pair");
        ret = -1;
    } else {
        for (size_t i = 0; i < colon && ret == 0; i++) {
            if (tok822_is_op(&t.v[i], '@')) {
                buf_set(why, "name must be local");
                ret = -1;
            }
        }
    }
    if (ret == 0) {
        externalize(&t, 0, colon, true, name);
        externalize(&t, colon + 1, t.n, false, value);
    }
    tok822_free(&t);
    return ret;
}
