#include "str.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>

/* str_copy - bounded, always-terminated copy; -1 on truncation */
int str_copy(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if (size == 0)
        return -1;
    if (len >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = 0;
        return -1;
    }
    memcpy(dst, src, len + 1);
    return 0;
}

/* str_fmt - bounded, always-terminated format; -1 on truncation */
int str_fmt(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}

/* str_to_long - parse a whole decimal long */
int str_to_long(const char *s, long *out)
{
    char *end;
    long v;

    if (*s == 0 || isspace((unsigned char) *s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* str_to_ulong - parse a whole unsigned decimal number (no sign) */
int str_to_ulong(const char *s, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (!isdigit((unsigned char) *s))
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* str_lower - fold ASCII to lower case in place */
char *str_lower(char *s)
{
    for (char *p = s; *p; p++)
        *p = (char) tolower((unsigned char) *p);
    return s;
}

/* str_has_prefix - whether S starts with PREFIX */
bool str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* str_has_suffix - whether S ends with SUFFIX */
bool str_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* str_utf8_shape - length of a structurally complete sequence at P */
size_t str_utf8_shape(const char *p)
{
    const unsigned char *u = (const unsigned char *) p;
    size_t want;
    size_t n;

    if (u[0] < 0x80)
        return 1;
    if (u[0] < 0xc2 || u[0] > 0xf4)
        return 0;
    want = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : 2;
    for (n = 1; n < want; n++)
        if ((u[n] & 0xc0) != 0x80)
            return 0;
    return want;
}

/* str_utf8_valid - strict UTF-8 validity */
bool str_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *) s;

    while (*p) {
        size_t n = str_utf8_shape((const char *) p);
        unsigned long cp;

        if (n == 0)
            return false;
        if (n == 3) {
            cp = ((p[0] & 0x0fUL) << 12) | ((p[1] & 0x3fUL) << 6)
                 | (p[2] & 0x3fUL);
            if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))
                return false;
        } else if (n == 4) {
            cp = ((p[0] & 0x07UL) << 18) | ((p[1] & 0x3fUL) << 12)
                 | ((p[2] & 0x3fUL) << 6) | (p[3] & 0x3fUL);
            if (cp < 0x10000 || cp > 0x10ffff)
                return false;
        }
        p += n;
    }
    return true;
}
