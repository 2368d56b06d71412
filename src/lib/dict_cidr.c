/*
 * dict_cidr - cidr_table(5): "network/prefix result" rules for IPv4 and
 * IPv6 addresses, "!pattern result", "if pattern" ... "endif", first match
 * wins.  Keys and patterns are compared in binary, so "::ffff:102:304"
 * matches "::ffff:1.2.3.4"; an IPv4 key never matches an IPv6 rule (and
 * the other way round), negated or not.  A bad rule is warned about with
 * its file and line and skipped, as Postfix does.
 */
#include "dict.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <sys/socket.h>

#include "mem.h"
#include "msg.h"

#include "dict_impl.h"

enum cidr_op {
    CIDR_MATCH,
    CIDR_IF,
    CIDR_ENDIF,
};

struct cidr_rule {
    enum cidr_op op;
    bool negate;
    int family; /* AF_INET or AF_INET6 */
    unsigned char net[16];
    unsigned masklen;
    char *result; /* owned, CIDR_MATCH */
    size_t next;  /* CIDR_IF: the index after the matching ENDIF */
    int lineno;
};

struct dict_cidr {
    struct dict dict;        /* must be first */
    struct cidr_rule *rules; /* owned */
    size_t nrules;
};

struct cidr_line {
    const char *file;
    int lineno;
};

/* parse_addr - inet_pton by the presence of ':'; the family or 0 */
static int parse_addr(const char *s, unsigned char *out)
{
    int family = strchr(s, ':') ? AF_INET6 : AF_INET;

    memset(out, 0, 16);
    return inet_pton(family, s, out) == 1 ? family : 0;
}

/* prefix_match - whether the first LEN bits of A and B agree */
static bool prefix_match(const unsigned char *a, const unsigned char *b,
                         unsigned len)
{
    unsigned bytes = len / 8;
    unsigned bits = len % 8;

    if (memcmp(a, b, bytes) != 0)
        return false;
    if (bits == 0)
        return true;
    return ((a[bytes] ^ b[bytes]) & (0xff00 >> bits)) == 0;
}

/*
 * parse_pattern - "[addr]/len", "[addr/len]", "addr/len" or "addr" into R;
 * -1 after Postfix's warning.
 */
static int parse_pattern(const struct cidr_line *cl, const char *token,
                         struct cidr_rule *r)
{
    struct buf pat = BUF_INIT;
    const char *slash;
    int ret = -1;

    if (token[0] == '[') {
        const char *close = strchr(token, ']');

        if (close == NULL) {
            dict_warn(
                "cidr map %s, line %d: missing ']' character after \"%s\": skipping this rule",
                cl->file, cl->lineno, token);
            return -1;
        }
        if (close[1] != 0 && close[1] != '/') {
            dict_warn(
                "cidr map %s, line %d: garbage after \"%.*s\": skipping this rule",
                cl->file, cl->lineno, (int) (close - token + 1), token);
            return -1;
        }
        buf_catn(&pat, token + 1, (size_t) (close - token - 1));
        buf_cat(&pat, close + 1);
    } else {
        buf_set(&pat, token);
    }
    if ((slash = strchr(buf_str(&pat), '/')) != NULL) {
        char *addr =
            mem_strndup(buf_str(&pat), (size_t) (slash - buf_str(&pat)));
        const char *m = slash + 1;
        unsigned maxlen = strchr(addr, ':') ? 128 : 32;
        unsigned long len = 0;
        unsigned char host[16];

        if (*m == 0 || strspn(m, "0123456789") != strlen(m)) {
            dict_warn(
                "cidr map %s, line %d: bad mask value in \"%s\": skipping this rule",
                cl->file, cl->lineno, buf_str(&pat));
        } else {
            for (; *m; m++)
                len = len > 1000 ? len : len * 10 + (unsigned long) (*m - '0');
            if (len > maxlen) {
                dict_warn(
                    "cidr map %s, line %d: bad mask length in \"%s\": skipping this rule",
                    cl->file, cl->lineno, buf_str(&pat));
            } else if ((r->family = parse_addr(addr, r->net)) == 0) {
                dict_warn(
                    "cidr map %s, line %d: bad network value in \"%s\": skipping this rule",
                    cl->file, cl->lineno, buf_str(&pat));
            } else {
                r->masklen = (unsigned) len;
                memset(host, 0, sizeof(host));
                memcpy(host, r->net, (size_t) (r->masklen + 7) / 8);
                if (r->masklen % 8)
                    host[r->masklen / 8] &=
                        (unsigned char) (0xff00 >> (r->masklen % 8));
                if (memcmp(host, r->net, 16) != 0) {
                    char txt[INET6_ADDRSTRLEN];

                    inet_ntop(r->family, host, txt, sizeof(txt));
                    dict_warn(
                        "cidr map %s, line %d: non-null host address bits in \"%s\", perhaps you should use \"%s/%u\" instead: skipping this rule",
                        cl->file, cl->lineno, buf_str(&pat), txt, r->masklen);
                } else {
                    ret = 0;
                }
            }
        }
        mem_free(addr);
    } else if ((r->family = parse_addr(buf_str(&pat), r->net)) == 0) {
        dict_warn(
            "cidr map %s, line %d: bad address pattern: \"%s\": skipping this rule",
            cl->file, cl->lineno, buf_str(&pat));
    } else {
        r->masklen = r->family == AF_INET ? 32 : 128;
        ret = 0;
    }
    buf_fini(&pat);
    return ret;
}

/* parse_negation - skip "!" marks (each toggles) and white space */
static const char *parse_negation(const char *s, bool *negate)
{
    *negate = false;
    for (;;) {
        while (isspace((unsigned char) *s))
            s++;
        if (*s != '!')
            return s;
        *negate = !*negate;
        s++;
    }
}

/* add_rule - append a copy of R */
static struct cidr_rule *add_rule(struct dict_cidr *dc,
                                  const struct cidr_rule *r)
{
    dc->rules = mem_realloc(dc->rules, (dc->nrules + 1) * sizeof(*dc->rules));
    dc->rules[dc->nrules] = *r;
    return &dc->rules[dc->nrules++];
}

/* cidr_parse - turn the logical lines into rules */
static void cidr_parse(struct dict_cidr *dc, struct dict_text *text,
                       const char *name)
{
    struct buf line = BUF_INIT;
    struct cidr_line cl = {name, 0};
    size_t *stack = NULL;
    size_t depth = 0;

    while (dict_text_next(text, &line, &cl.lineno)) {
        const char *s = buf_str(&line);
        size_t kwlen = 0;
        struct cidr_rule r;

        memset(&r, 0, sizeof(r));
        r.lineno = cl.lineno;
        while (isalnum((unsigned char) s[kwlen]))
            kwlen++;
        if (kwlen == 5 && strncasecmp(s, "endif", 5) == 0) {
            if (span_trim(span_of(s + 5)).len > 0) {
                dict_warn(
                    "cidr map %s, line %d: garbage after ENDIF: skipping this rule",
                    name, cl.lineno);
            } else if (depth == 0) {
                dict_warn(
                    "cidr map %s, line %d: ENDIF without IF: skipping this rule",
                    name, cl.lineno);
            } else {
                r.op = CIDR_ENDIF;
                add_rule(dc, &r);
                dc->rules[stack[--depth]].next = dc->nrules;
            }
            continue;
        }
        if (kwlen == 2 && strncasecmp(s, "if", 2) == 0) {
            const char *p = parse_negation(s + 2, &r.negate);

            if (*p == 0) {
                dict_warn(
                    "cidr map %s, line %d: no address pattern: skipping this rule",
                    name, cl.lineno);
                continue;
            }
            if (parse_pattern(&cl, p, &r) < 0)
                continue;
            r.op = CIDR_IF;
            add_rule(dc, &r);
            stack = mem_realloc(stack, (depth + 1) * sizeof(*stack));
            stack[depth++] = dc->nrules - 1;
            continue;
        }
        {
            const char *p = parse_negation(s, &r.negate);
            size_t toklen = strcspn(p, " \t\r\n");
            char *token;
            struct span result;
            int bad;

            if (toklen == 0) {
                dict_warn(
                    "cidr map %s, line %d: no address pattern: skipping this rule",
                    name, cl.lineno);
                continue;
            }
            token = mem_strndup(p, toklen);
            bad = parse_pattern(&cl, token, &r);
            mem_free(token);
            if (bad < 0)
                continue;
            result = span_trim(span_of(p + toklen));
            if (result.len == 0) {
                dict_warn(
                    "cidr map %s, line %d: no lookup result: skipping this rule",
                    name, cl.lineno);
                continue;
            }
            r.op = CIDR_MATCH;
            r.result = span_dup(result);
            add_rule(dc, &r);
        }
    }
    while (depth > 0) {
        struct cidr_rule *ifr = &dc->rules[stack[--depth]];

        dict_warn("cidr map %s, line %d: IF has no matching ENDIF", name,
                  ifr->lineno);
        ifr->next = dc->nrules;
    }
    mem_free(stack);
    buf_fini(&line);
}

/* rule_match - whether rule R matches the key (negation applied) */
static bool rule_match(const struct cidr_rule *r, int family,
                       const unsigned char *addr)
{
    if (family != r->family)
        return false;
    return prefix_match(addr, r->net, r->masklen) != r->negate;
}

/* cidr_lookup - the result of the first rule that matches KEY */
static enum lk_result cidr_lookup(struct dict *d, const char *key,
                                  struct buf *value)
{
    struct dict_cidr *dc = (struct dict_cidr *) d;
    unsigned char addr[16];
    int family = parse_addr(key, addr);
    size_t i = 0;

    if (family == 0)
        return LK_NOTFOUND;
    while (i < dc->nrules) {
        const struct cidr_rule *r = &dc->rules[i];

        switch (r->op) {
            case CIDR_ENDIF:
                i++;
                break;
            case CIDR_IF:
                i = rule_match(r, family, addr) ? i + 1 : r->next;
                break;
            case CIDR_MATCH:
                if (rule_match(r, family, addr)) {
                    buf_set(value, r->result);
                    return LK_FOUND;
                }
                i++;
                break;
        }
    }
    return LK_NOTFOUND;
}

/* cidr_close - release the rules */
static void cidr_close(struct dict *d)
{
    struct dict_cidr *dc = (struct dict_cidr *) d;

    for (size_t i = 0; i < dc->nrules; i++)
        mem_free(dc->rules[i].result);
    mem_free(dc->rules);
    dict_free_base(d);
}

/* dict_cidr_open - read a CIDR rule file or inline rule list */
struct dict *dict_cidr_open(const char *name, int open_flags, int dict_flags,
                            struct buf *why)
{
    struct dict_text text;
    struct dict_cidr *dc;

    if ((open_flags & O_ACCMODE) != O_RDONLY) {
        buf_setf(why, "cidr:%s map requires O_RDONLY access mode", name);
        return NULL;
    }
    switch (dict_text_any(&text, "cidr map", name, why)) {
        case 0:
            break;
        case -2:
            buf_setf(why, "cidr map %s: read error: %m", name);
            dict_text_close(&text);
            return NULL;
        default:
            return NULL;
    }
    dc = (struct dict_cidr *) dict_alloc("cidr", name, open_flags,
                                         dict_flags & ~DICT_FLAG_FOLD_FIX,
                                         sizeof(*dc));
    if (name[0] != '{')
        dict_set_file(&dc->dict, name);
    cidr_parse(dc, &text, name);
    dict_text_close(&text);
    dc->dict.ops.lookup = cidr_lookup;
    dc->dict.ops.close = cidr_close;
    return &dc->dict;
}
