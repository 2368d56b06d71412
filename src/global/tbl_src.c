/* tbl_src - logical lines of table source files, and "key value" lines */
#include "tbl_src.h"

#include <ctype.h>
#include <errno.h>

#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"

/* tbl_src_fdopen - read FP, which the caller keeps */
void tbl_src_fdopen(struct tbl_src *s, FILE *fp, const char *name)
{
    s->fp = fp;
    s->own_fp = false;
    s->name = mem_strdup(name);
    s->lineno = 0;
    buf_init(&s->next, 0);
    s->have_next = false;
    s->eof = false;
}

/* tbl_src_open - read the file PATH */
int tbl_src_open(struct tbl_src *s, const char *path, struct buf *why)
{
    FILE *fp;

    if ((fp = fopen(path, "re")) == NULL) {
        buf_setf(why, "open %s: %m", path);
        return -1;
    }
    tbl_src_fdopen(s, fp, path);
    s->own_fp = true;
    return 0;
}

/* tbl_src_close - release the reader (and close the file it opened) */
void tbl_src_close(struct tbl_src *s)
{
    if (s->fp != NULL && s->own_fp)
        (void) fclose(s->fp);
    s->fp = NULL;
    mem_free(s->name);
    s->name = NULL;
    buf_fini(&s->next);
}

/* phys_line - the next physical line without its newline into S->next */
static bool phys_line(struct tbl_src *s)
{
    char chunk[4096];
    bool got = false;

    buf_reset(&s->next);
    if (s->eof)
        return false;
    while (fgets(chunk, sizeof(chunk), s->fp) != NULL) {
        size_t n = strlen(chunk);

        got = true;
        if (n > 0 && chunk[n - 1] == '\n') {
            buf_catn(&s->next, chunk, n - 1);
            s->lineno++;
            return true;
        }
        buf_catn(&s->next, chunk, n);
    }
    s->eof = true;
    if (got)
        s->lineno++;
    return got;
}

/* skipped - whether a physical line is blank or a comment */
static bool skipped(const struct buf *b)
{
    const char *p = buf_str(b);

    while (*p && isspace((unsigned char) *p))
        p++;
    return *p == 0 || *p == '#';
}

/* gather - the logical line that starts with the look-ahead line */
static void gather(struct tbl_src *s, struct buf *line)
{
    buf_set(line, buf_str(&s->next));
    s->have_next = false;
    while (phys_line(s)) {
        if (skipped(&s->next))
            continue;
        if (!isspace((unsigned char) buf_str(&s->next)[0])) {
            s->have_next = true;
            break;
        }
        buf_cat(line, buf_str(&s->next));
    }
    while (buf_len(line) > 0
           && isspace((unsigned char) buf_str(line)[buf_len(line) - 1]))
        buf_truncate(line, buf_len(line) - 1);
}

/* tbl_src_next - the next logical line */
bool tbl_src_next(struct tbl_src *s, struct buf *line, int *lineno)
{
    for (;;) {
        int first;

        if (!s->have_next) {
            do {
                if (!phys_line(s))
                    return false;
            } while (skipped(&s->next));
        }
        first = s->lineno; /* the look-ahead line's number */
        gather(s, line);
        if (isspace((unsigned char) buf_str(line)[0])) {
            msg_warn("%s: logical line must not start with whitespace: "
                     "\"%.30s%s\"",
                     s->name, buf_str(line), buf_len(line) > 30 ? "..." : "");
            continue;
        }
        *lineno = first;
        return true;
    }
}

/* tbl_src_split - split "key whitespace value" */
int tbl_src_split(const char *line, struct buf *key, struct buf *value,
                  struct buf *why)
{
    const char *p = line;
    const char *k;

    while (*p && isspace((unsigned char) *p))
        p++;
    k = p;
    if (*p == '"') {
        /* Postfix 3.2+: a quoted key may hold white space; \" and \\ are
         * escapes.  The key is stored as written, quotes included. */
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1] != 0)
                p++;
        if (*p != '"') {
            buf_setf(why, "unbalanced '\"' in '%s' -- ignoring this line",
                     line);
            return -1;
        }
        p++;
    }
    while (*p && !isspace((unsigned char) *p))
        p++;
    buf_reset(key);
    buf_catn(key, k, (size_t) (p - k));
    while (*p && isspace((unsigned char) *p))
        p++;
    buf_set(value, p);
    while (buf_len(value) > 0
           && isspace((unsigned char) buf_str(value)[buf_len(value) - 1]))
        buf_truncate(value, buf_len(value) - 1);
    if (buf_len(key) == 0 || buf_len(value) == 0) {
        buf_set(why, "expected format: key whitespace value");
        return -1;
    }
    return 0;
}

/* tbl_src_utf8_ok - strict UTF-8 validity */
bool tbl_src_utf8_ok(const char *s)
{
    return str_utf8_valid(s);
}

/* tbl_src_utf8_show - replace the bytes of malformed sequences by '?' */
void tbl_src_utf8_show(const char *s, struct buf *out)
{
    const unsigned char *p = (const unsigned char *) s;

    buf_reset(out);
    while (*p) {
        size_t n = str_utf8_shape((const char *) p);

        if (n == 0) {
            buf_catc(out, '?');
            p++;
        } else {
            buf_catn(out, p, n);
            p += n;
        }
    }
}
