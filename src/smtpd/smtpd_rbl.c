/* smtpd_rbl - names, filters and reply templates of the DNS lists. */
#include "smtpd/smtpd_rbl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <string.h>

/* smtpd_rbl_reverse - the reversed labels of ADDR */
int smtpd_rbl_reverse(const char *addr, struct buf *out, bool *v6)
{
    unsigned char a[16];
    int i;

    if (inet_pton(AF_INET, addr, a) == 1) {
        buf_catf(out, "%u.%u.%u.%u", a[3], a[2], a[1], a[0]);
        if (v6)
            *v6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, addr, a) == 1) {
        static const char hex[] = "0123456789abcdef";

        for (i = 15; i >= 0; i--) {
            buf_catc(out, hex[a[i] & 0xf]);
            buf_catc(out, '.');
            buf_catc(out, hex[a[i] >> 4]);
            if (i > 0)
                buf_catc(out, '.');
        }
        if (v6)
            *v6 = true;
        return 0;
    }
    return -1;
}

/* smtpd_rbl_split - domain and filter of SPEC */
const char *smtpd_rbl_split(const char *spec, struct buf *domain)
{
    const char *eq = strchr(spec, '=');

    if (eq == NULL) {
        buf_cat(domain, spec);
        return NULL;
    }
    buf_catn(domain, spec, (size_t) (eq - spec));
    return eq + 1;
}

/* number - a decimal 0..255 at *P (advanced); -1 when there is none */
static int number(const char **p)
{
    int v = 0, n = 0;

    while (isdigit((unsigned char) **p)) {
        v = v * 10 + (**p - '0');
        (*p)++;
        if (++n > 3 || v > 255)
            return -1;
    }
    return n == 0 ? -1 : v;
}

/* part - match one filter part at *P (advanced) against octet V (-1:
 * only check the syntax); 1 match, 0 no match, -1 malformed */
static int part(const char **p, int v)
{
    int lo, hi, hit = 0;

    if (**p != '[') {
        if ((lo = number(p)) < 0)
            return -1;
        return lo == v;
    }
    (*p)++;
    for (;;) {
        if ((lo = number(p)) < 0)
            return -1;
        hi = lo;
        if ((*p)[0] == '.' && (*p)[1] == '.') {
            *p += 2;
            if ((hi = number(p)) < 0 || hi < lo)
                return -1;
        }
        if (v >= lo && v <= hi)
            hit = 1;
        if (**p == ';') {
            (*p)++;
            continue;
        }
        if (**p != ']')
            return -1;
        (*p)++;
        return hit;
    }
}

/* filter_eval - FILTER against the octets A (NULL: syntax only); 1, 0, -1 */
static int filter_eval(const char *filter, const unsigned char *a)
{
    const char *p = filter;
    int i, r, all = 1;

    for (i = 0; i < 4; i++) {
        if (i > 0 && *p++ != '.')
            return -1;
        if ((r = part(&p, a ? a[i] : -1)) < 0)
            return -1;
        all &= r;
    }
    return *p == 0 ? all : -1;
}

/* smtpd_rbl_filter_ok - FILTER parses */
bool smtpd_rbl_filter_ok(const char *filter)
{
    return filter_eval(filter, NULL) >= 0;
}

/* smtpd_rbl_filter_match - ADDR passes FILTER */
bool smtpd_rbl_filter_match(const char *filter, const char *addr)
{
    unsigned char a[4];

    if (inet_pton(AF_INET, addr, a) != 1)
        return false;
    if (filter == NULL)
        return true;
    return filter_eval(filter, a) == 1;
}

/* macro - the value of NAME (LEN bytes); 0, or -1 when unknown */
static int macro(const struct smtpd_rbl_macros *m, const char *name, size_t len,
                 const char **val)
{
    static const struct {
        const char *name;
        size_t off;
    } tab[] = {
#define M(x) {#x, offsetof(struct smtpd_rbl_macros, x)}
        M(client),    M(client_address), M(client_name), M(reverse_client_name),
        M(helo_name), M(sender),         M(recipient),   M(rbl_class),
        M(rbl_code),  M(rbl_domain),     M(rbl_reason),  M(rbl_txt),
        M(rbl_what),
#undef M
    };
    size_t i;

    for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strlen(tab[i].name) == len && memcmp(tab[i].name, name, len) == 0) {
            *val = *(const char *const *) (const void *) ((const char *) m
                                                          + tab[i].off);
            return 0;
        }
    }
    return -1;
}

/* expand - TEMPLATE's first LEN bytes into OUT, DEPTH levels deep */
static int expand(const char *t, size_t len, const struct smtpd_rbl_macros *m,
                  struct buf *out, struct buf *why, int depth)
{
    size_t i = 0;

    if (depth > 10) {
        buf_set(why, "macros nested too deeply");
        return -1;
    }
    while (i < len) {
        const char *name, *val = NULL;
        size_t nlen, j;

        if (t[i] != '$') {
            buf_catc(out, t[i++]);
            continue;
        }
        i++;
        if (i < len && t[i] == '$') {
            buf_catc(out, '$');
            i++;
            continue;
        }
        if (i < len && (t[i] == '{' || t[i] == '(')) {
            char close = t[i] == '{' ? '}' : ')';
            int nest = 0;
            char op = 0;
            size_t body = 0;

            name = t + ++i;
            while (i < len && (isalnum((unsigned char) t[i]) || t[i] == '_'))
                i++;
            nlen = (size_t) (t + i - name);
            if (i < len && (t[i] == '?' || t[i] == ':')) {
                op = t[i++];
                body = i;
            }
            for (j = i; j < len; j++) {
                if (t[j] == (close == '}' ? '{' : '('))
                    nest++;
                else if (t[j] == close && nest-- == 0)
                    break;
            }
            if (j >= len || nlen == 0 || (!op && j != i)) {
                buf_setf(why, "malformed macro near \"%.20s\"", name - 2);
                return -1;
            }
            if (macro(m, name, nlen, &val) < 0) {
                buf_setf(why, "unknown macro name \"%.*s\"", (int) nlen, name);
                return -1;
            }
            if (op == '?' && val != NULL && *val != 0) {
                if (expand(t + body, j - body, m, out, why, depth + 1) < 0)
                    return -1;
            } else if (op == ':' && (val == NULL || *val == 0)) {
                if (expand(t + body, j - body, m, out, why, depth + 1) < 0)
                    return -1;
            } else if (!op && val != NULL) {
                buf_cat(out, val);
            }
            i = j + 1;
            continue;
        }
        name = t + i;
        while (i < len && (isalnum((unsigned char) t[i]) || t[i] == '_'))
            i++;
        nlen = (size_t) (t + i - name);
        if (nlen == 0) {
            buf_set(why, "\"$\" without a macro name");
            return -1;
        }
        if (macro(m, name, nlen, &val) < 0) {
            buf_setf(why, "unknown macro name \"%.*s\"", (int) nlen, name);
            return -1;
        }
        if (val != NULL)
            buf_cat(out, val);
    }
    return 0;
}

/* smtpd_rbl_expand - TEMPLATE with M's values */
int smtpd_rbl_expand(const char *tmpl, const struct smtpd_rbl_macros *m,
                     struct buf *out, struct buf *why)
{
    return expand(tmpl, strlen(tmpl), m, out, why, 0);
}

/* smtpd_rbl_reply - "NNN D.7.1 text" from TEXT */
int smtpd_rbl_reply(const char *text, struct buf *out, struct buf *why)
{
    const char *p = text;
    size_t n;

    if ((p[0] != '4' && p[0] != '5') || !isdigit((unsigned char) p[1])
        || !isdigit((unsigned char) p[2]) || (p[3] != ' ' && p[3] != 0)) {
        buf_setf(why, "malformed RBL reply: \"%.60s\"", text);
        return -1;
    }
    buf_catn(out, p, 3);
    p += 3;
    while (*p == ' ')
        p++;
    /* An enhanced status code of the same class stays. */
    n = 0;
    if (p[0] == text[0] && p[1] == '.') {
        n = 2;
        while (isdigit((unsigned char) p[n]) || p[n] == '.')
            n++;
        if (p[n] != ' ' && p[n] != 0)
            n = 0;
    }
    if (n > 0)
        buf_catc(out, ' ');
    else
        buf_catf(out, " %c.7.1 ", text[0]);
    buf_cat(out, p);
    return 0;
}
