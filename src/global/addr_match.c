/* addr_match - Postfix's network address lists (mynetworks). */
#include "global/addr_match.h"

#include "global/maps.h"
#include "lib/mem.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* How deep "/file" may name another "/file". */
#define ADDR_MATCH_MAX_DEPTH 10

enum pat_kind {
    PAT_NET,
    PAT_TABLE,
    PAT_FAILED
};

struct pat {
    enum pat_kind kind;
    bool negate;
    int family;            /* PAT_NET: AF_INET or AF_INET6 */
    unsigned char net[16]; /* PAT_NET */
    unsigned bits;         /* PAT_NET: prefix length */
    struct maps *maps;     /* PAT_TABLE, owned */
    char *error;           /* PAT_FAILED: why, owned */
};

struct addr_match {
    char *param;
    struct pat *pats;
    size_t count;
    size_t cap;
    struct buf why;
};

/* add_pat - a new zeroed pattern at the end of M */
static struct pat *add_pat(struct addr_match *m)
{
    if (m->count == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 8;
        m->pats = mem_realloc(m->pats, m->cap * sizeof(*m->pats));
    }
    memset(&m->pats[m->count], 0, sizeof(*m->pats));
    return &m->pats[m->count++];
}

/* parse_ip - textual address S (brackets optional) into OUT; the family,
 * or 0 when S is not an address */
static int parse_ip(const char *s, unsigned char *out)
{
    char tmp[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(s);

    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        if (n - 2 >= sizeof(tmp))
            return 0;
        memcpy(tmp, s + 1, n - 2);
        tmp[n - 2] = 0;
        s = tmp;
    }
    if (inet_pton(AF_INET, s, out) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, s, out) == 1)
        return AF_INET6;
    return 0;
}

/* add_fail - a pattern that fails every match reaching it, with a warning
 * now: what Postfix does with a malformed mynetworks entry (its smtpd
 * then answers 451 4.3.0 ... Temporary lookup failure) */
static void add_fail(struct addr_match *m, bool negate, const char *text)
{
    struct pat *p = add_pat(m);

    p->kind = PAT_FAILED;
    p->negate = negate;
    p->error = mem_strdup(text);
    msg_warn("%s", text);
}

/* prefix_eq - the first BITS bits of A and B are equal */
static bool prefix_eq(const unsigned char *a, const unsigned char *b,
                      unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    unsigned char mask;

    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    mask = (unsigned char) (0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

/* add_net - the network pattern TOK (a malformed one fails its matches) */
static void add_net(struct addr_match *m, const char *tok, bool negate)
{
    const char *slash = strrchr(tok, '/');
    char host[INET6_ADDRSTRLEN + 3];
    unsigned char addr[16];
    unsigned char zero[16];
    struct buf why = BUF_INIT;
    unsigned long bits = 0;
    unsigned max, i;
    int family;
    struct pat *p;

    family = 0;
    if (str_copy(host, sizeof(host), tok) == 0) {
        if (slash != NULL)
            host[slash - tok] = 0;
        family = parse_ip(host, addr);
    }
    if (family == 0) {
        /* Postfix takes a word that is no address for a host name,
         * which an address never matches; with a '/' it is an error. */
        if (slash != NULL) {
            buf_setf(&why, "%s: bad net/mask pattern: \"%s\"", m->param, tok);
            add_fail(m, negate, buf_str(&why));
        }
        buf_fini(&why);
        return;
    }
    max = family == AF_INET ? 32 : 128;
    if (slash == NULL)
        bits = max;
    else if (slash[1] < '0' || slash[1] > '9'
             || str_to_ulong(slash + 1, &bits) != 0 || bits > max) {
        buf_setf(&why, "%s: bad mask length in \"%s\"", m->param, tok);
        add_fail(m, negate, buf_str(&why));
        buf_fini(&why);
        return;
    }
    /* Host bits must be zero: the address masked must equal itself. */
    memcpy(zero, addr, sizeof(zero));
    for (i = (unsigned) bits; i < max; i++)
        zero[i / 8] &= (unsigned char) ~(0x80 >> (i % 8));
    if (memcmp(zero, addr, max / 8) != 0) {
        char fixed[INET6_ADDRSTRLEN];
        bool br = family == AF_INET6 && host[0] == '[';

        inet_ntop(family, zero, fixed, sizeof(fixed));
        buf_setf(&why,
                 "%s: non-null host address bits in \"%s\", perhaps you "
                 "should use \"%s%s%s/%lu\" instead",
                 m->param, tok, br ? "[" : "", fixed, br ? "]" : "", bits);
        add_fail(m, negate, buf_str(&why));
        buf_fini(&why);
        return;
    }
    p = add_pat(m);
    p->kind = PAT_NET;
    p->negate = negate;
    p->family = family;
    memcpy(p->net, addr, sizeof(p->net));
    p->bits = (unsigned) bits;
}

static void add_value(struct addr_match *m, const char *value, int depth);

/* add_file - the patterns of FILE; a file that cannot be read fails
 * every match that reaches it */
static void add_file(struct addr_match *m, const char *file, bool negate,
                     int depth)
{
    struct buf text = BUF_INIT;
    char chunk[4096];
    FILE *fp;
    size_t n;

    if (depth >= ADDR_MATCH_MAX_DEPTH || (fp = fopen(file, "r")) == NULL) {
        struct pat *p = add_pat(m);

        p->kind = PAT_FAILED;
        p->negate = negate;
        buf_setf(&m->why, "%s: open %s: %s", m->param, file,
                 depth >= ADDR_MATCH_MAX_DEPTH ? "nested too deeply"
                                               : strerror(errno));
        p->error = mem_strdup(buf_str(&m->why));
        return;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_catn(&text, chunk, n);
    fclose(fp);
    /* "#" comments run to the end of the line. */
    {
        char *s = text.data;
        size_t i;
        bool comment = false;

        for (i = 0; s != NULL && i < text.len; i++) {
            if (s[i] == '#')
                comment = true;
            if (s[i] == '\n')
                comment = false;
            else if (comment || s[i] == 0)
                s[i] = ' ';
        }
    }
    add_value(m, buf_str(&text), depth + 1);
    buf_fini(&text);
}

/* add_value - every pattern of VALUE */
static void add_value(struct addr_match *m, const char *value, int depth)
{
    const char *s = value;

    for (;;) {
        const char *tok;
        char *word;
        bool negate = false;

        s += strspn(s, ", \t\r\n");
        if (*s == 0)
            return;
        tok = s;
        /* A "type:{ ... }" table keeps its separators inside braces. */
        {
            int braces = 0;

            for (; *s != 0; s++) {
                if (*s == '{')
                    braces++;
                else if (*s == '}' && braces > 0)
                    braces--;
                else if (braces == 0 && strchr(", \t\r\n", *s) != NULL)
                    break;
            }
        }
        word = span_dup(span_make(tok, (size_t) (s - tok)));
        tok = word;
        while (*tok == '!') {
            negate = !negate;
            tok++;
        }
        if (*tok == '/')
            add_file(m, tok, negate, depth);
        else if (*tok != '[' && strchr(tok, ':') != NULL) {
            /* IPv6 goes inside [] (postconf(5) mynetworks): a bare
             * "type:name" is a table. */
            struct pat *p = add_pat(m);

            p->kind = PAT_TABLE;
            p->negate = negate;
            p->maps = maps_open(m->param, tok, DICT_FLAG_LOCK);
        } else
            add_net(m, tok, negate);
        mem_free(word);
    }
}

/* addr_match_new - parse VALUE */
struct addr_match *addr_match_new(const char *param, const char *value)
{
    struct addr_match *m = mem_zalloc(sizeof(*m));

    m->param = mem_strdup(param);
    buf_init(&m->why, 0);
    add_value(m, value, 0);
    return m;
}

/* addr_match_free - free M */
void addr_match_free(struct addr_match *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->count; i++) {
        maps_free(m->pats[i].maps);
        mem_free(m->pats[i].error);
    }
    mem_free(m->pats);
    mem_free(m->param);
    buf_fini(&m->why);
    mem_free(m);
}

/* addr_match_find - the first pattern that matches ADDR decides */
enum lk_result addr_match_find(struct addr_match *m, const char *addr)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};
    unsigned char ip[16];
    unsigned char ip4[4];
    struct buf value = BUF_INIT;
    int family = parse_ip(addr, ip);
    bool is_mapped = family == AF_INET6 && memcmp(ip, mapped, 12) == 0;
    size_t i;

    if (is_mapped)
        memcpy(ip4, ip + 12, 4);
    buf_reset(&m->why);
    for (i = 0; i < m->count; i++) {
        const struct pat *p = &m->pats[i];
        bool hit = false;

        switch (p->kind) {
            case PAT_NET:
                if (p->family == family)
                    hit = prefix_eq(p->net, ip, p->bits);
                else if (p->family == AF_INET && is_mapped)
                    hit = prefix_eq(p->net, ip4, p->bits);
                break;
            case PAT_TABLE:
                switch (maps_find(p->maps, addr, MAPS_FIND_ALL, &value)) {
                    case LK_FOUND:
                        hit = true;
                        break;
                    case LK_NOTFOUND:
                        break;
                    case LK_TEMPFAIL:
                        buf_set(&m->why, maps_why(p->maps));
                        buf_fini(&value);
                        return LK_TEMPFAIL;
                }
                break;
            case PAT_FAILED:
                buf_set(&m->why, p->error);
                buf_fini(&value);
                return LK_TEMPFAIL;
        }
        if (hit) {
            buf_fini(&value);
            return p->negate ? LK_NOTFOUND : LK_FOUND;
        }
    }
    buf_fini(&value);
    return LK_NOTFOUND;
}

/* addr_match_why - the reason of the last LK_TEMPFAIL */
const char *addr_match_why(const struct addr_match *m)
{
    return buf_str(&m->why);
}
