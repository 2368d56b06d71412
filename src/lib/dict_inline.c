/*
 * dict_inline - a table written in the table name:
 * "inline:{ key=value, { key = text with spaces }, ... }".
 *
 * Elements are separated by commas or white space outside braces; an element
 * in braces may have white space around "=" and in the value.  A later
 * duplicate replaces an earlier one, as in Postfix.
 */
#include "dict.h"

#include <ctype.h>

#include "argv.h"
#include "mem.h"

#include "dict_impl.h"

/* bad_syntax - the open error of Postfix for a malformed inline table */
static struct dict *bad_syntax(struct dict *d, const char *name,
                               const char *what, struct buf *why)
{
    buf_setf(why, "%s: \"inline:%s\"; need \"inline:{name=value...}\"", what,
             name);
    if (d)
        d->ops.close(d);
    return NULL;
}

/* split_nameval - "name = value" into its parts; -1 without "=" */
static int split_nameval(const char *s, struct span *n, struct span *v)
{
    size_t i = 0;

    while (s[i] && isspace((unsigned char) s[i]))
        i++;
    n->p = s + i;
    while (s[i] && s[i] != '=' && !isspace((unsigned char) s[i]))
        i++;
    n->len = (size_t) (s + i - n->p);
    while (s[i] && isspace((unsigned char) s[i]))
        i++;
    if (s[i] != '=')
        return -1;
    *v = span_trim(span_of(s + i + 1));
    return 0;
}

/* dict_inline_open - parse the elements into an in-memory table */
struct dict *dict_inline_open(const char *name, int open_flags, int dict_flags,
                              struct buf *why)
{
    struct buf inner = BUF_INIT;
    struct buf elem = BUF_INIT;
    struct argv *items;
    struct dict *d;
    struct span trimmed = span_trim(span_of(name));

    if ((open_flags & O_ACCMODE) != O_RDONLY) {
        buf_setf(why, "inline:%s map requires O_RDONLY access mode", name);
        return NULL;
    }
    if (trimmed.len < 2 || trimmed.p[0] != '{'
        || dict_unbrace(name, &inner, why) < 0 || buf_len(&inner) == 0) {
        buf_fini(&inner);
        return bad_syntax(NULL, name, "bad syntax", why);
    }
    if ((items = dict_split(buf_str(&inner), ", \t\r\n", why)) == NULL) {
        buf_fini(&inner);
        return bad_syntax(NULL, name, "bad syntax", why);
    }
    buf_fini(&inner);
    d = dict_mem_new("inline", name, open_flags, dict_flags);
    for (size_t i = 0; i < items->argc; i++) {
        struct span n;
        struct span v;
        char *key;
        char *value;

        if (dict_unbrace(items->argv[i], &elem, why) < 0
            || split_nameval(buf_str(&elem), &n, &v) < 0) {
            argv_free(items);
            buf_fini(&elem);
            return bad_syntax(d, name, "missing '=' after attribute name", why);
        }
        key = span_dup(n);
        value = span_dup(v);
        (void) dict_mem_put(d, key, value, true);
        mem_free(key);
        mem_free(value);
    }
    argv_free(items);
    buf_fini(&elem);
    return d;
}
