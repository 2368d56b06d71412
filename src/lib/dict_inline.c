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
    struct buf err = BUF_INIT;
    struct argv *items;
    struct dict *d;
    size_t len = strlen(name);

    if ((open_flags & O_ACCMODE) != O_RDONLY) {
        buf_setf(why, "inline:%s map requires O_RDONLY access mode", name);
        return NULL;
    }
    /* Exactly "{...}", balanced, with something between the braces. */
    if (len <= 2 || name[0] != '{' || name[len - 1] != '}'
        || dict_unbrace(name, &inner, &err) < 0
        || (items = dict_split(buf_str(&inner), ", \t\r\n", &err)) == NULL) {
        buf_fini(&inner);
        buf_fini(&err);
        return bad_syntax(NULL, name, "bad syntax", why);
    }
    if (items->argc == 0) {
        buf_fini(&inner);
        buf_fini(&err);
        argv_free(items);
        return bad_syntax(NULL, name, "empty table", why);
    }
    buf_fini(&inner);
    d = dict_mem_new("inline", name, open_flags, dict_flags);
    for (size_t i = 0; i < items->argc; i++) {
        struct span n;
        struct span v;
        char *key;
        char *value;
        const char *problem = NULL;

        if (dict_unbrace(items->argv[i], &elem, &err) < 0) {
            buf_catf(&err, " in \"%s\"", items->argv[i]);
            problem = buf_str(&err);
        } else if (buf_len(&elem) == 0) {
            problem = "no key found; expected format: key = value";
        } else if (split_nameval(buf_str(&elem), &n, &v) < 0) {
            problem = "missing '=' after attribute name";
        }
        if (problem != NULL) {
            bad_syntax(d, name, problem, why);
            argv_free(items);
            buf_fini(&elem);
            buf_fini(&err);
            return NULL;
        }
        key = span_dup(n);
        value = span_dup(v);
        (void) dict_mem_put(d, key, value, true);
        mem_free(key);
        mem_free(value);
    }
    buf_fini(&err);
    argv_free(items);
    buf_fini(&elem);
    return d;
}
