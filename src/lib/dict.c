/*
 * dict - open, share, dispatch and close lookup tables.
 *
 * Open tables live in one process-wide list keyed by "type:name", open flags
 * and dict flags, so that a table named in several parameters is opened
 * once.  The list is small (a process opens tens of tables), so a linear
 * scan is simpler than a hash table and just as fast.
 */
#include "dict.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <wctype.h>
#include <sys/stat.h>

#include "argv.h"
#include "mem.h"
#include "msg.h"
#include "str.h"

#include "dict_impl.h"

static struct dict **open_list; /* owned array of shared handles */
static size_t open_count;
static size_t open_size;

/* share_key - the sharing key of an open */
static char *share_key(const char *type, const char *name, int open_flags,
                       int dict_flags)
{
    struct buf b = BUF_INIT;

    buf_setf(&b, "%s:%s\n%d\n%d", type, name, open_flags, dict_flags);
    return buf_steal(&b);
}

/* make_printable - B as Postfix would log it: table text in an error
 * reason may hold control bytes, which every log line shows as '?' */
static void make_printable(struct buf *b)
{
    struct buf pr = BUF_INIT;

    dict_utf8_printable(buf_str(b), &pr);
    buf_set(b, buf_str(&pr));
    buf_fini(&pr);
}

/* dict_open3 - open TYPE:NAME, sharing an identical earlier open */
struct dict *dict_open3(const char *type, const char *name, int open_flags,
                        int dict_flags, struct buf *why)
{
    const struct dict_type *dt;
    struct dict *d;
    char *key;

    if (*type == 0 || name == NULL || *name == 0) {
        buf_setf(
            why,
            "open dictionary: expecting \"type:name\" form instead of \"%s:%s\"",
            type, name ? name : "");
        return NULL;
    }
    key = share_key(type, name, open_flags, dict_flags);
    for (size_t i = 0; i < open_count; i++) {
        if (strcmp(open_list[i]->key, key) == 0) {
            mem_free(key);
            open_list[i]->refcount++;
            return open_list[i];
        }
    }
    if ((dt = dict_type_find(type)) == NULL) {
        mem_free(key);
        buf_setf(why, "unsupported dictionary type: %s", type);
        return NULL;
    }
    /* Read-only types refuse a writable open before they touch anything. */
    if ((dt->flags & DICT_TYPE_WRITABLE) == 0
        && (dt->flags & DICT_TYPE_PATTERN) != 0
        && (open_flags & O_ACCMODE) != O_RDONLY) {
        mem_free(key);
        buf_setf(why, "%s:%s map requires O_RDONLY access mode", type, name);
        return NULL;
    }
    buf_reset(why);
    if ((d = dt->open(name, open_flags, dict_flags, why)) == NULL) {
        mem_free(key);
        if (buf_len(why) == 0)
            buf_setf(why, "open %s:%s failed", type, name);
        make_printable(why);
        return NULL;
    }
    d->type = dt->name;
    d->key = key;
    d->refcount = 1;
    if (open_count == open_size) {
        open_size = open_size ? 2 * open_size : 16;
        open_list = mem_realloc(open_list, open_size * sizeof(*open_list));
    }
    open_list[open_count++] = d;
    return d;
}

/* dict_open - open "type:name" */
struct dict *dict_open(const char *type_name, int open_flags, int dict_flags,
                       struct buf *why)
{
    const char *colon = strchr(type_name, ':');
    struct dict *d;
    char *type;

    if (colon == NULL || colon == type_name || colon[1] == 0) {
        buf_setf(
            why,
            "open dictionary: expecting \"type:name\" form instead of \"%s\"",
            type_name);
        return NULL;
    }
    type = mem_strndup(type_name, (size_t) (colon - type_name));
    d = dict_open3(type, colon + 1, open_flags, dict_flags, why);
    mem_free(type);
    return d;
}

/* dict_close - drop one reference; close the table at the last one */
void dict_close(struct dict *d)
{
    if (d == NULL)
        return;
    if (d->refcount <= 0)
        msg_panic("dict_close: %s:%s: bad refcount %d", d->type, d->name,
                  d->refcount);
    if (--d->refcount > 0)
        return;
    for (size_t i = 0; i < open_count; i++) {
        if (open_list[i] == d) {
            open_list[i] = open_list[--open_count];
            break;
        }
    }
    if (open_count == 0) {
        mem_free(open_list);
        open_list = NULL;
        open_size = 0;
    }
    if (d->ops.close)
        d->ops.close(d);
    else
        dict_free_base(d);
}

/* fold_key - whether D folds fixed-string keys to lower case */
static bool fold_key(const struct dict *d)
{
    const struct dict_type *dt;

    if ((d->flags & DICT_FLAG_FOLD_FIX) == 0)
        return false;
    dt = dict_type_find(d->type);
    return dt != NULL && (dt->flags & DICT_TYPE_FIXED) != 0;
}

/* unsupported - the reason for an operation the type does not have */
static void unsupported(struct dict *d, const char *op)
{
    buf_setf(&d->why, "table %s:%s: %s operation is not supported", d->type,
             d->name, op);
    d->unsupported = true;
}

/* dict_unsupported - whether the last failure was a missing operation */
bool dict_unsupported(const struct dict *d)
{
    return d->unsupported;
}

/* utf8_seq - length of the well-formed UTF-8 sequence at S, 0 when
 * malformed (overlong forms, surrogates and code points above U+10FFFF
 * included), as Postfix's valid_utf8_string rejects them */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff
        || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* dict_utf8_valid - whether S is well-formed UTF-8 */
bool dict_utf8_valid(const char *s)
{
    return str_utf8_valid(s);
}

/* dict_utf8_printable - S for a warning: control bytes and bytes that do not
 * start a complete multi-byte sequence become '?' (structurally complete
 * sequences are kept, as Postfix prints them) */
void dict_utf8_printable(const char *s, struct buf *out)
{
    buf_reset(out);
    while (*s) {
        size_t n = str_utf8_shape(s);

        if (n == 1 && ((unsigned char) *s < 0x20 || *s == 0x7f))
            n = 0;
        if (n == 0) {
            buf_catc(out, '?');
            s++;
        } else {
            buf_catn(out, s, n);
            s += n;
        }
    }
}

/* dict_warn - msg_warn with the line made printable, as Postfix logs */
void dict_warn(const char *fmt, ...)
{
    struct buf text = BUF_INIT;
    struct buf pr = BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    buf_vcatf(&text, fmt, ap);
    va_end(ap);
    dict_utf8_printable(buf_str(&text), &pr);
    msg_warn("%s", buf_str(&pr));
    buf_fini(&text);
    buf_fini(&pr);
}

/* Full case foldings that differ from towlower (Unicode CaseFolding.txt
 * status F, plus final sigma and long s), for the scripts in real use. */
static const struct {
    wint_t from;
    const char *to;
} multi_fold[] = {
    {0x00df, "ss"},        {0x1e9e, "ss"}, {0x0130, "i\xcc\x87"},
    {0x03c2, "\xcf\x83"},  {0x017f, "s"},  {0xfb00, "ff"},
    {0xfb01, "fi"},        {0xfb02, "fl"}, {0xfb03, "ffi"},
    {0xfb04, "ffl"},       {0xfb05, "st"}, {0xfb06, "st"},
    {0x0149, "\xca\xbcn"},
};

/* utf8_put - append code point CP in UTF-8 */
static void utf8_put(struct buf *out, uint32_t cp)
{
    unsigned char enc[4];
    size_t len;

    if (cp < 0x80) {
        enc[0] = (unsigned char) cp;
        len = 1;
    } else if (cp < 0x800) {
        enc[0] = (unsigned char) (0xc0 | (cp >> 6));
        len = 2;
    } else if (cp < 0x10000) {
        enc[0] = (unsigned char) (0xe0 | (cp >> 12));
        len = 3;
    } else {
        enc[0] = (unsigned char) (0xf0 | (cp >> 18));
        len = 4;
    }
    for (size_t i = len - 1; i > 0; i--) {
        enc[i] = (unsigned char) (0x80 | (cp & 0x3f));
        cp >>= 6;
    }
    buf_catn(out, enc, len);
}

/* fold_utf8 - case-fold well-formed UTF-8 S in place into OUT */
static void fold_utf8(const char *s, struct buf *out)
{
    static locale_t loc;
    const unsigned char *p = (const unsigned char *) s;

    if (loc == (locale_t) 0)
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
    buf_reset(out);
    while (*p) {
        size_t n = utf8_seq(p);
        uint32_t cp;
        size_t i;

        if (n <= 1) {
            buf_catc(out, n == 1 && *p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            p++;
            continue;
        }
        cp = p[0] & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
        for (i = 1; i < n; i++)
            cp = (cp << 6) | (p[i] & 0x3f);
        for (i = 0; i < NELEM(multi_fold); i++)
            if (multi_fold[i].from == cp)
                break;
        if (i < NELEM(multi_fold))
            buf_cat(out, multi_fold[i].to);
        else
            utf8_put(out, loc ? (uint32_t) towlower_l((wint_t) cp, loc) : cp);
        p += n;
    }
}

/* dict_fold_key - KEY as D stores it */
const char *dict_fold_key(const struct dict *d, const char *key,
                          struct buf *tmp)
{
    if (!fold_key(d))
        return key;
    if ((d->flags & DICT_FLAG_UTF8) != 0) {
        fold_utf8(key, tmp);
    } else {
        buf_set(tmp, key);
        buf_lower(tmp);
    }
    return buf_str(tmp);
}

/* bad_utf8_key - warn about a non-UTF-8 key of a UTF-8 table */
static bool bad_utf8_key(const struct dict *d, const char *key)
{
    struct buf pr = BUF_INIT;

    if ((d->flags & DICT_FLAG_UTF8) == 0 || dict_utf8_valid(key))
        return false;
    dict_utf8_printable(key, &pr);
    dict_warn(
        "%s:%s: non-UTF-8 key \"%s\": malformed UTF-8 or invalid codepoint",
        d->type, d->name, buf_str(&pr));
    buf_fini(&pr);
    return true;
}

/* dict_lookup - look KEY up, the value (copied) into VALUE */
enum lk_result dict_lookup(struct dict *d, const char *key, struct buf *value)
{
    struct buf tmp = BUF_INIT;
    enum lk_result r;

    if (d->ops.lookup == NULL)
        msg_panic("dict_lookup: %s:%s has no lookup", d->type, d->name);
    buf_reset(&d->why);
    d->unsupported = false;
    if (bad_utf8_key(d, key))
        return LK_NOTFOUND;
    r = d->ops.lookup(d, dict_fold_key(d, key, &tmp), value);
    buf_fini(&tmp);
    switch (r) {
        case LK_FOUND:
            /* Postfix's rule: a table never answers an empty string. */
            if (buf_len(value) == 0) {
                dict_warn(
                    "table %s:%s: key %s: empty string result is not allowed",
                    d->type, d->name, key);
                dict_warn(
                    "table %s:%s should return NO RESULT in case of NOT FOUND",
                    d->type, d->name);
            }
            if ((d->flags & DICT_FLAG_UTF8) != 0
                && !dict_utf8_valid(buf_str(value))) {
                struct buf pr = BUF_INIT;

                dict_utf8_printable(buf_str(value), &pr);
                dict_warn(
                    "%s:%s: key \"%s\": non-UTF-8 value \"%s\": malformed UTF-8 or invalid codepoint",
                    d->type, d->name, key, buf_str(&pr));
                buf_fini(&pr);
                buf_setf(&d->why, "table %s:%s: non-UTF-8 value", d->type,
                         d->name);
                buf_reset(value);
                return LK_TEMPFAIL;
            }
            break;
        case LK_NOTFOUND:
            break;
        case LK_TEMPFAIL:
            if (buf_len(&d->why) == 0)
                buf_setf(&d->why, "table %s:%s: lookup error", d->type,
                         d->name);
            make_printable(&d->why);
            break;
    }
    return r;
}

/* dict_update - store KEY=VALUE */
int dict_update(struct dict *d, const char *key, const char *value)
{
    struct buf tmp = BUF_INIT;
    int r;

    buf_reset(&d->why);
    d->unsupported = false;
    if (d->ops.update == NULL) {
        unsupported(d, "update");
        return -1;
    }
    if (bad_utf8_key(d, key)) {
        buf_setf(&d->why, "%s:%s: non-UTF-8 key", d->type, d->name);
        return -1;
    }
    r = d->ops.update(d, dict_fold_key(d, key, &tmp), value);
    buf_fini(&tmp);
    return r;
}

/* dict_delete - remove KEY */
int dict_delete(struct dict *d, const char *key)
{
    struct buf tmp = BUF_INIT;
    int r;

    buf_reset(&d->why);
    d->unsupported = false;
    if (d->ops.delete == NULL) {
        unsupported(d, "delete");
        return -1;
    }
    if (bad_utf8_key(d, key))
        return 1;
    r = d->ops.delete(d, dict_fold_key(d, key, &tmp));
    buf_fini(&tmp);
    return r;
}

/* dict_sequence - iterate over the entries */
int dict_sequence(struct dict *d, enum dict_seq func, const char **key,
                  const char **value)
{
    buf_reset(&d->why);
    d->unsupported = false;
    if (d->ops.sequence == NULL) {
        unsupported(d, "sequence");
        return -1;
    }
    return d->ops.sequence(d, func, key, value);
}

/* dict_sync - flush to disk (a no-op for tables without sync) */
int dict_sync(struct dict *d)
{
    buf_reset(&d->why);
    d->unsupported = false;
    if (d->ops.sync == NULL)
        return 0;
    return d->ops.sync(d);
}

/* dict_why - the reason of the last failure */
const char *dict_why(const struct dict *d)
{
    return buf_str(&d->why);
}

/* dict_set_file - watch PATH for dict_changed */
void dict_set_file(struct dict *d, const char *path)
{
    struct stat st;

    mem_free(d->file);
    d->file = mem_strdup(path);
    d->mtime = stat(path, &st) == 0 ? st.st_mtime : 0;
}

/* dict_changed - whether the watched file changed or vanished since open */
bool dict_changed(const struct dict *d)
{
    struct stat st;

    if (d->file == NULL)
        return false;
    if (stat(d->file, &st) < 0)
        return true;
    return st.st_mtime != d->mtime;
}

/* dict_alloc - a zeroed table struct with the common fields set */
struct dict *dict_alloc(const char *type, const char *name, int open_flags,
                        int dict_flags, size_t size)
{
    struct dict *d;

    if (size < sizeof(struct dict))
        msg_panic("dict_alloc: size %zu too small", size);
    d = mem_zalloc(size);
    d->type = type;
    d->name = mem_strdup(name);
    d->open_flags = open_flags;
    d->flags = dict_flags;
    buf_init(&d->why, 0);
    return d;
}

/* dict_free_base - release what dict_alloc and dict.c allocated, and D */
void dict_free_base(struct dict *d)
{
    mem_free(d->name);
    mem_free(d->key);
    mem_free(d->file);
    buf_fini(&d->why);
    mem_free(d);
}

/* dict_text_init - iterate over a copy of TEXT */
void dict_text_init(struct dict_text *t, const char *name, const char *text)
{
    t->path = mem_strdup(name);
    buf_init(&t->data, 0);
    buf_set(&t->data, text);
    t->off = 0;
    t->lineno = 0;
}

/* dict_text_open - read the whole of PATH */
int dict_text_open(struct dict_text *t, const char *path, struct buf *why)
{
    FILE *fp;
    char chunk[8192];
    size_t n;

    if ((fp = fopen(path, "re")) == NULL) {
        int saved = errno;

        buf_setf(why, "open %s: %m", path);
        errno = saved;
        return -1;
    }
    dict_text_init(t, path, "");
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_catn(&t->data, chunk, n);
    if (ferror(fp)) {
        int saved = errno;

        buf_setf(why, "read %s: %m", path);
        fclose(fp);
        errno = saved;
        return -2;
    }
    fclose(fp);
    return 0;
}

/* phys_line - the next physical line without its newline; false at end */
static bool phys_line(struct dict_text *t, struct span *out)
{
    const char *data = buf_str(&t->data);
    size_t len = buf_len(&t->data);
    const char *nl;

    if (t->off >= len)
        return false;
    nl = memchr(data + t->off, '\n', len - t->off);
    out->p = data + t->off;
    out->len = nl ? (size_t) (nl - out->p) : len - t->off;
    t->off += out->len + (nl ? 1 : 0);
    t->lineno++;
    return true;
}

/* blank_or_comment - whether a physical line is skipped */
static bool blank_or_comment(struct span s)
{
    size_t i = 0;

    while (i < s.len && isspace((unsigned char) s.p[i]))
        i++;
    return i == s.len || s.p[i] == '#';
}

/* text_next - the next logical line, whatever its first byte */
static bool text_next(struct dict_text *t, struct buf *line, int *lineno)
{
    struct span s;

    buf_reset(line);
    /* Skip to the first line that starts a logical line. */
    for (;;) {
        if (!phys_line(t, &s))
            return false;
        if (blank_or_comment(s))
            continue;
        break;
    }
    *lineno = t->lineno;
    buf_catspan(line, s);
    /* Append continuation lines, skipping blanks and comments. */
    for (;;) {
        size_t save_off = t->off;
        int save_lineno = t->lineno;

        if (!phys_line(t, &s))
            break;
        if (blank_or_comment(s))
            continue;
        if (!isspace((unsigned char) s.p[0])) {
            t->off = save_off;
            t->lineno = save_lineno;
            break;
        }
        buf_catspan(line, s);
    }
    return true;
}

/* dict_text_next - the next logical line that starts a rule */
bool dict_text_next(struct dict_text *t, struct buf *line, int *lineno)
{
    while (text_next(t, line, lineno)) {
        /* Only the first lines of a file can start with white space. */
        if (isspace((unsigned char) buf_str(line)[0])) {
            /* Postfix shows at most 30 bytes of the line. */
            dict_warn(
                "%s: logical line must not start with whitespace: \"%.30s%s\"",
                t->path, buf_str(line), buf_len(line) > 30 ? "..." : "");
            continue;
        }
        while (isspace((unsigned char) buf_str(line)[buf_len(line) - 1]))
            buf_truncate(line, buf_len(line) - 1);
        return true;
    }
    return false;
}

/* dict_text_close - release the file copy */
void dict_text_close(struct dict_text *t)
{
    mem_free(t->path);
    t->path = NULL;
    buf_fini(&t->data);
}

/* dict_split - split at SEP outside braces */
struct argv *dict_split(const char *s, const char *sep, struct buf *why)
{
    struct argv *a = argv_new();
    const char *start = s;
    int depth = 0;

    for (const char *p = s;; p++) {
        if (*p == '{') {
            depth++;
        } else if (*p == '}') {
            if (--depth < 0) {
                buf_setf(why, "syntax error: extra \"}\" in \"%s\"", s);
                argv_free(a);
                return NULL;
            }
        } else if (*p == 0 || (depth == 0 && strchr(sep, *p) != NULL)) {
            struct span f = span_trim(span_make(start, (size_t) (p - start)));

            if (*p == 0 && depth > 0)
                break;
            if (f.len > 0)
                argv_addn(a, f.p, f.len);
            if (*p == 0)
                return a;
            start = p + 1;
        }
    }
    buf_setf(why, "syntax error: missing \"}\" in \"%s\"", s);
    argv_free(a);
    return NULL;
}

/* dict_unbrace - the inside of "{ text }", trimmed */
int dict_unbrace(const char *s, struct buf *out, struct buf *why)
{
    struct span t = span_trim(span_of(s));
    int depth = 0;

    buf_reset(out);
    if (t.len == 0 || t.p[0] != '{') {
        buf_catspan(out, t);
        return 0;
    }
    for (size_t i = 0; i < t.len; i++) {
        if (t.p[i] == '{') {
            depth++;
        } else if (t.p[i] == '}' && --depth == 0) {
            if (i != t.len - 1) {
                buf_set(why, "syntax error after '}'");
                return -1;
            }
            buf_catspan(out, span_trim(span_make(t.p + 1, t.len - 2)));
            return 0;
        }
    }
    buf_set(why, "missing '}'");
    return -1;
}

/* dict_text_any - rule lines from a file or from an inline "{ {...} }" */
int dict_text_any(struct dict_text *t, const char *map, const char *name,
                  struct buf *why)
{
    struct buf inner = BUF_INIT;
    struct buf rule = BUF_INIT;
    struct buf text = BUF_INIT;
    struct buf err = BUF_INIT;
    struct argv *items;
    int ret = -1;

    if (name[0] != '{')
        return dict_text_open(t, name, why);
    if (dict_unbrace(name, &inner, &err) < 0
        || (items = dict_split(buf_str(&inner), ", \t\r\n", &err)) == NULL) {
        buf_setf(why, "%s: missing '}' in \"%s\"", map, name);
        goto out;
    }
    for (size_t i = 0; i < items->argc; i++) {
        if (items->argv[i][0] != '{') {
            buf_setf(why, "%s: no '{' at start of text in \"%s\"", map,
                     items->argv[i]);
            argv_free(items);
            goto out;
        }
        if (dict_unbrace(items->argv[i], &rule, &err) < 0) {
            buf_setf(why, "%s: missing '}' in \"%s\"", map, items->argv[i]);
            argv_free(items);
            goto out;
        }
        buf_catf(&text, "%s\n", buf_str(&rule));
    }
    argv_free(items);
    dict_text_init(t, name, buf_str(&text));
    ret = 0;
out:
    buf_fini(&inner);
    buf_fini(&rule);
    buf_fini(&text);
    buf_fini(&err);
    return ret;
}
