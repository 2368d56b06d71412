#include "buf.h"

#include <ctype.h>

#include "mem.h"
#include "msg.h"

static char empty[1];

/* buf_init - prepare an embedded buf with an optional content cap */
void buf_init(struct buf *b, size_t cap)
{
    b->size = 32;
    b->data = mem_alloc(b->size);
    b->data[0] = 0;
    b->len = 0;
    b->cap = cap;
}

/* buf_fini - release an embedded buf */
void buf_fini(struct buf *b)
{
    mem_free(b->data);
    b->data = NULL;
    b->len = b->size = 0;
}

/* buf_new - allocate a heap buf */
struct buf *buf_new(size_t cap)
{
    struct buf *b = mem_alloc(sizeof(*b));

    buf_init(b, cap);
    return b;
}

/* buf_free - release a heap buf */
void buf_free(struct buf *b)
{
    if (b == NULL)
        return;
    buf_fini(b);
    mem_free(b);
}

/* reserve - make room for EXTRA more bytes plus the terminator */
static int reserve(struct buf *b, size_t extra)
{
    size_t need;

    if (b->data == NULL)
        buf_init(b, b->cap);
    if (extra > SIZE_MAX - b->len - 1)
        return -1;
    need = b->len + extra + 1;
    if (b->cap && need - 1 > b->cap)
        return -1;
    if (need > b->size) {
        size_t size = b->size * 2;

        if (size < need)
            size = need;
        b->data = mem_realloc(b->data, size);
        b->size = size;
    }
    return 0;
}

/* buf_reset - make empty, keep the memory */
void buf_reset(struct buf *b)
{
    if (b->data == NULL)
        buf_init(b, b->cap);
    b->len = 0;
    b->data[0] = 0;
}

/* buf_catn - append LEN bytes */
int buf_catn(struct buf *b, const void *p, size_t len)
{
    if (reserve(b, len) < 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

/* buf_cat - append a NUL-terminated string */
int buf_cat(struct buf *b, const char *s)
{
    return buf_catn(b, s, strlen(s));
}

/* buf_catc - append one byte */
int buf_catc(struct buf *b, int c)
{
    char ch = (char) c;

    return buf_catn(b, &ch, 1);
}

/* buf_catspan - append a span */
int buf_catspan(struct buf *b, struct span s)
{
    return buf_catn(b, s.p, s.len);
}

/* buf_vcatf - append formatted text */
int buf_vcatf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    if (reserve(b, 0) < 0)
        return -1;
    va_copy(ap2, ap);
    n = vsnprintf(b->data + b->len, b->size - b->len, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->data[b->len] = 0;
        return -1;
    }
    if ((size_t) n >= b->size - b->len) {
        if (reserve(b, (size_t) n) < 0) {
            b->data[b->len] = 0;
            return -1;
        }
        n = vsnprintf(b->data + b->len, b->size - b->len, fmt, ap);
    }
    if (b->cap && b->len + (size_t) n > b->cap) {
        b->data[b->len] = 0;
        return -1;
    }
    b->len += (size_t) n;
    return 0;
}

/* buf_catf - append formatted text */
int buf_catf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = buf_vcatf(b, fmt, ap);
    va_end(ap);
    return ret;
}

/* buf_set - replace the content */
int buf_set(struct buf *b, const char *s)
{
    buf_reset(b);
    return buf_cat(b, s);
}

/* buf_setf - replace the content with formatted text */
int buf_setf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int ret;

    buf_reset(b);
    va_start(ap, fmt);
    ret = buf_vcatf(b, fmt, ap);
    va_end(ap);
    return ret;
}

/* buf_truncate - shorten the content */
void buf_truncate(struct buf *b, size_t len)
{
    if (b->data && len < b->len) {
        b->len = len;
        b->data[len] = 0;
    }
}

/* buf_str - the content as a C string */
const char *buf_str(const struct buf *b)
{
    return b->data ? b->data : empty;
}

/* buf_len - the content length */
size_t buf_len(const struct buf *b)
{
    return b->len;
}

/* buf_steal - hand the content over and reset */
char *buf_steal(struct buf *b)
{
    char *p;

    if (b->data == NULL)
        return mem_strdup("");
    p = b->data;
    b->data = NULL;
    b->len = b->size = 0;
    return p;
}

/* buf_lower - ASCII lower-case in place */
void buf_lower(struct buf *b)
{
    for (size_t i = 0; i < b->len; i++)
        b->data[i] = (char) tolower((unsigned char) b->data[i]);
}

/* span_of - span over a C string */
struct span span_of(const char *s)
{
    struct span sp = {s, strlen(s)};

    return sp;
}

/* span_make - span over LEN bytes */
struct span span_make(const char *p, size_t len)
{
    struct span sp = {p, len};

    return sp;
}

/* span_eq - exact comparison with a literal */
bool span_eq(struct span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len == n && memcmp(s.p, lit, n) == 0;
}

/* span_caseeq - ASCII case-insensitive comparison with a literal */
bool span_caseeq(struct span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

/* span_trim - drop leading and trailing white space */
struct span span_trim(struct span s)
{
    while (s.len && isspace((unsigned char) s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && isspace((unsigned char) s.p[s.len - 1]))
        s.len--;
    return s;
}

/* span_dup - owned C string copy of a span */
char *span_dup(struct span s)
{
    return mem_strndup(s.p, s.len);
}
