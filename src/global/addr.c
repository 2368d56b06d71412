/* addr - RFC 5321 paths, RFC 5322 address lists, internal/external forms */
#include "addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <strings.h>

#include "../lib/dict.h"
#include "../lib/mem.h"
#include "maps.h"
#include "tok822.h"

/* The RFC 822 specials that force quotes around a local part. */
#define QUOTE_SPECIALS "()<>@,;:\\\".[]"

/* is_atext - an RFC 5321 atext byte (ASCII) */
static bool is_atext(int c)
{
    return isalnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* utf8_ok - whether the 8-bit bytes of P..P+LEN form valid UTF-8 */
static bool utf8_ok(const char *p, size_t len)
{
    char *copy = mem_strndup(p, len);
    bool ok = strlen(copy) == len && dict_utf8_valid(copy);

    mem_free(copy);
    return ok;
}

/* bad_char - the reason for byte C in PART */
static int bad_char(struct buf *why, int c, const char *part)
{
    buf_setf(why, "bad character 0x%02x in %s", (unsigned) (unsigned char) c,
             part);
    return -1;
}

/* scan_local - the local part at *PP (before END) into OUT */
static int scan_local(const char **pp, const char *end, int flags,
                      struct buf *out, bool *quoted, struct buf *why)
{
    const char *p = *pp;

    *quoted = p < end && *p == '"';
    if (*quoted) {
        for (p++; p < end && *p != '"'; p++) {
            unsigned char c = (unsigned char) *p;

            if (c == '\\') {
                if (++p == end)
                    break;
                c = (unsigned char) *p;
            }
            if (c < 32 || c == 127 || (c > 127 && !(flags & ADDR_PATH_UTF8)))
                return bad_char(why, c, "quoted local part");
            buf_catc(out, (char) c);
        }
        if (p == end) {
            buf_set(why, "unterminated quoted string");
            return -1;
        }
        p++;
    } else {
        for (; p < end && *p != '@' && *p != '>'; p++) {
            unsigned char c = (unsigned char) *p;

            if (!(c == '.' || is_atext(c)
                  || (c > 127 && (flags & ADDR_PATH_UTF8))))
                break;
            buf_catc(out, (char) c);
        }
    }
    *pp = p;
    return 0;
}

/* scan_domain - a domain or address literal at *PP into OUT */
static int scan_domain(const char **pp, const char *end, int flags,
                       struct buf *out, struct buf *why)
{
    const char *p = *pp;
    const char *start = p;

    if (p < end && *p == '[') {
        for (p++; p < end && *p != ']'; p++) {
            unsigned char c = (unsigned char) *p;

            /* '@' would make the internal form split in the wrong
             * place (RFC 5321 allows it in dcontent; no address has it). */
            if (c <= 32 || c >= 127 || c == '[' || c == '\\' || c == '@')
                return bad_char(why, c, "address literal");
        }
        if (p == end) {
            buf_set(why, "missing ']' in address literal");
            return -1;
        }
        p++;
    } else {
        for (; p < end; p++) {
            unsigned char c = (unsigned char) *p;

            if (isalnum(c) || c == '-' || c == '_')
                continue;
            if (c == '.') {
                if (p == start || p[-1] == '.') {
                    buf_set(why, "empty label in domain");
                    return -1;
                }
                continue;
            }
            if (c > 127 && (flags & ADDR_PATH_UTF8))
                continue;
            break;
        }
        if (p == start) {
            if (p < end && *p != '>' && !isspace((unsigned char) *p))
                return bad_char(why, *p, "domain");
            buf_set(why, "empty domain");
            return -1;
        }
    }
    buf_catn(out, start, (size_t) (p - start));
    *pp = p;
    return 0;
}

/* scan_route - skip "@d1,@d2:" at *PP */
static int scan_route(const char **pp, const char *end, int flags,
                      struct buf *why)
{
    struct buf tmp = BUF_INIT;
    const char *p = *pp;
    int ret = 0;

    while (ret == 0) {
        if (p == end || *p != '@') {
            buf_set(why, "bad source route");
            ret = -1;
            break;
        }
        p++;
        buf_reset(&tmp);
        if (scan_domain(&p, end, flags, &tmp, why) < 0) {
            buf_set(why, "bad source route");
            ret = -1;
        } else if (p < end && *p == ',') {
            p++;
        } else if (p < end && *p == ':') {
            p++;
            break;
        } else {
            buf_set(why, "bad source route");
            ret = -1;
        }
    }
    buf_fini(&tmp);
    *pp = p;
    return ret;
}

/* addr_check_domain - Postfix's host name and address literal rules */
int addr_check_domain(struct span domain, bool numeric, struct buf *why)
{
    size_t label = 0;
    bool non_numeric = false;

    if (domain.len == 0) {
        buf_set(why, "empty domain");
        return -1;
    }
    if (domain.p[0] == '[') {
        if (!addr_literal_ip(domain, NULL)) {
            buf_set(why, "bad address literal");
            return -1;
        }
        return 0;
    }
    if (domain.len > ADDR_DOMAIN_MAX) {
        buf_setf(why, "domain longer than %d bytes", ADDR_DOMAIN_MAX);
        return -1;
    }
    for (size_t i = 0; i <= domain.len; i++) {
        unsigned char c = i < domain.len ? (unsigned char) domain.p[i] : '.';

        if (c == '.') {
            if (label == 0) {
                buf_set(why, "empty label in domain");
                return -1;
            }
            if (domain.p[i - 1] == '-') {
                buf_set(why, "label ends with '-' in domain");
                return -1;
            }
            label = 0;
            continue;
        }
        if (!(isalnum(c) || c == '-' || c == '_' || c > 127))
            return bad_char(why, c, "domain");
        if (c == '-' && label == 0) {
            buf_set(why, "label starts with '-' in domain");
            return -1;
        }
        if (++label > ADDR_LABEL_MAX) {
            buf_setf(why, "label longer than %d bytes in domain",
                     ADDR_LABEL_MAX);
            return -1;
        }
        if (!isdigit(c))
            non_numeric = true;
    }
    if (!non_numeric) {
        struct buf tmp = BUF_INIT;
        unsigned char bin[4];
        bool ip;

        buf_catspan(&tmp, domain);
        ip = inet_pton(AF_INET, buf_str(&tmp), bin) == 1;
        buf_fini(&tmp);
        if (!numeric || !ip) {
            buf_set(why, "all-numeric domain");
            return -1;
        }
    }
    return 0;
}

/* addr_parse_path - one RFC 5321 path */
int addr_parse_path(struct span in, int flags, struct buf *addr, size_t *used,
                    struct buf *why)
{
    const char *p = in.p;
    const char *end = in.p + in.len;
    bool angle;
    bool quoted;
    struct buf tmp;

    buf_reset(addr);
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    angle = p < end && *p == '<';
    if (!angle && (flags & ADDR_PATH_STRICT)) {
        buf_set(why, "address not enclosed in <>");
        return -1;
    }
    if (angle)
        p++;
    if (angle && p < end && *p == '>') {
        if (used != NULL)
            *used = (size_t) (p + 1 - in.p);
        return 0;
    }
    if (!angle && (p == end || isspace((unsigned char) *p))) {
        buf_set(why, "empty address");
        return -1;
    }
    if (angle && p < end && *p == '@' && scan_route(&p, end, flags, why) < 0)
        return -1;
    buf_init(&tmp, 0);
    if (scan_local(&p, end, flags, &tmp, &quoted, why) < 0) {
        buf_fini(&tmp);
        return -1;
    }
    /* Only a quoted local part may be empty: <""@example.com>. */
    if (buf_len(&tmp) == 0 && !quoted) {
        buf_fini(&tmp);
        if (p < end && *p != '@' && *p != '>' && !isspace((unsigned char) *p))
            return bad_char(why, *p, "local part");
        buf_set(why, "empty local part");
        return -1;
    }
    if ((p == end || *p != '@') && memchr(buf_str(&tmp), '@', buf_len(&tmp))) {
        /* "a@b" without a domain would read as local part a, domain b. */
        buf_fini(&tmp);
        buf_set(why, "'@' in local part without a domain");
        return -1;
    }
    if (p < end && *p == '@') {
        size_t at = buf_len(&tmp) + 1;
        struct span d;

        p++;
        buf_catc(&tmp, '@');
        if (scan_domain(&p, end, flags, &tmp, why) < 0) {
            buf_fini(&tmp);
            return -1;
        }
        /* One trailing dot is allowed (rewriting removes it). */
        d = span_make(buf_str(&tmp) + at, buf_len(&tmp) - at);
        if (d.len > 1 && d.p[d.len - 1] == '.')
            d.len--;
        if (addr_check_domain(d, (flags & ADDR_PATH_NUMERIC) != 0, why) < 0) {
            buf_fini(&tmp);
            return -1;
        }
    }
    if (angle) {
        if (p == end) {
            buf_fini(&tmp);
            buf_set(why, "missing '>'");
            return -1;
        }
        if (*p != '>') {
            int c = *p;

            buf_fini(&tmp);
            return bad_char(why, c, "address");
        }
        p++;
    } else if (p < end && !isspace((unsigned char) *p)) {
        int c = *p;

        buf_fini(&tmp);
        return bad_char(why, c, "address");
    }
    if (buf_len(&tmp) > ADDR_MAX_LEN) {
        buf_fini(&tmp);
        buf_setf(why, "address too long (more than %d bytes)", ADDR_MAX_LEN);
        return -1;
    }
    if ((flags & ADDR_PATH_UTF8) && !utf8_ok(buf_str(&tmp), buf_len(&tmp))) {
        buf_fini(&tmp);
        buf_set(why, "malformed UTF-8 in address");
        return -1;
    }
    buf_catspan(addr, span_make(buf_str(&tmp), buf_len(&tmp)));
    buf_fini(&tmp);
    if (used != NULL)
        *used = (size_t) (p - in.p);
    return 0;
}

/* local_needs_quotes - Postfix's quote_822_local test */
static bool local_needs_quotes(struct span local)
{
    if (local.len == 0)
        return true;
    if (local.p[0] == '.' || local.p[local.len - 1] == '.')
        return true;
    for (size_t i = 0; i < local.len; i++) {
        unsigned char c = (unsigned char) local.p[i];

        if (c == '.') {
            if (i + 1 < local.len && local.p[i + 1] == '.')
                return true;
            continue;
        }
        if (c <= ' ' || c == 0x7f || strchr(QUOTE_SPECIALS, c) != NULL)
            return true;
    }
    return false;
}

/* addr_externalize - quote the local part when it needs it */
void addr_externalize(struct span addr, struct buf *out)
{
    struct span local;
    struct span domain;
    bool at = addr_split(addr, &local, &domain);

    buf_reset(out);
    if (addr.len == 0)
        return;
    if (local_needs_quotes(local) && (at || local.len > 0))
        tok822_cat_quoted(out, local);
    else
        buf_catspan(out, local);
    if (at) {
        buf_catc(out, '@');
        buf_catspan(out, domain);
    }
}

/* addr_internalize - unquote the local part */
void addr_internalize(struct span addr, struct buf *out)
{
    size_t at = addr.len;
    bool quoted = false;

    /* The last '@' outside quotes ends the local part. */
    for (size_t i = 0; i < addr.len; i++) {
        if (quoted && addr.p[i] == '\\')
            i++;
        else if (addr.p[i] == '"')
            quoted = !quoted;
        else if (!quoted && addr.p[i] == '@')
            at = i;
    }
    buf_reset(out);
    quoted = false;
    for (size_t i = 0; i < at; i++) {
        if (quoted && addr.p[i] == '\\') {
            if (++i < at)
                buf_catc(out, addr.p[i]);
        } else if (addr.p[i] == '"') {
            quoted = !quoted;
        } else {
            buf_catc(out, addr.p[i]);
        }
    }
    if (at < addr.len)
        buf_catn(out, addr.p + at, addr.len - at);
}

/* addr_split - local part and domain at the last '@' */
bool addr_split(struct span addr, struct span *local, struct span *domain)
{
    size_t i = addr.len;

    while (i > 0 && addr.p[i - 1] != '@')
        i--;
    if (i == 0) {
        *local = addr;
        *domain = span_make(addr.p + addr.len, 0);
        return false;
    }
    *local = span_make(addr.p, i - 1);
    *domain = span_make(addr.p + i, addr.len - i);
    return true;
}

/* addr_lower_domain - fold the domain to lower case */
void addr_lower_domain(struct span addr, struct buf *out)
{
    struct span local;
    struct span domain;

    buf_reset(out);
    if (!addr_split(addr, &local, &domain)) {
        buf_catspan(out, addr);
        return;
    }
    buf_catspan(out, local);
    buf_catc(out, '@');
    for (size_t i = 0; i < domain.len; i++)
        buf_catc(out, (char) tolower((unsigned char) domain.p[i]));
}

/* addr_split_ext - user and extension */
bool addr_split_ext(struct span local, const struct maps_opts *o,
                    struct span *user, struct span *ext, char *delim)
{
    size_t ulen = maps_split_ext(local.p, local.len, o);

    if (ulen >= local.len) {
        *user = local;
        *ext = span_make(local.p + local.len, 0);
        if (delim != NULL)
            *delim = 0;
        return false;
    }
    *user = span_make(local.p, ulen);
    *ext = span_make(local.p + ulen + 1, local.len - ulen - 1);
    if (delim != NULL)
        *delim = local.p[ulen];
    return true;
}

/* addr_literal_ip - the address inside an address literal */
bool addr_literal_ip(struct span domain, struct buf *ip)
{
    char text[INET6_ADDRSTRLEN + 8];
    unsigned char bin[16];
    char out[INET6_ADDRSTRLEN];
    struct span in;
    int af = AF_INET;

    if (domain.len < 3 || domain.p[0] != '[' || domain.p[domain.len - 1] != ']')
        return false;
    in = span_make(domain.p + 1, domain.len - 2);
    if (in.len > 5 && strncasecmp(in.p, "ipv6:", 5) == 0) {
        af = AF_INET6;
        in.p += 5;
        in.len -= 5;
    }
    if (in.len == 0 || in.len >= sizeof(text) || memchr(in.p, 0, in.len))
        return false;
    memcpy(text, in.p, in.len);
    text[in.len] = 0;
    if (inet_pton(af, text, bin) != 1)
        return false;
    if (ip != NULL) {
        if (inet_ntop(af, bin, out, sizeof(out)) == NULL)
            return false;
        buf_set(ip, out);
    }
    return true;
}

/*
 * Header address lists.
 */

/* addr_hdr_init - an empty list */
void addr_hdr_init(struct addr_hdr_list *l)
{
    l->v = NULL;
    l->n = 0;
    l->size = 0;
    l->malformed = false;
}

/* addr_hdr_free - release the entries */
void addr_hdr_free(struct addr_hdr_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        mem_free(l->v[i].addr);
        mem_free(l->v[i].display);
        mem_free(l->v[i].group);
    }
    mem_free(l->v);
    addr_hdr_init(l);
}

/* is_word - an atom or a quoted string */
static bool is_word(const struct tok822 *k)
{
    return k->kind == TOK822_ATOM || k->kind == TOK822_QSTRING;
}

/* cat_phrase - the words of T[FROM..TO) joined by one space */
static void cat_phrase(const struct tok822_list *t, size_t from, size_t to,
                       struct buf *out)
{
    for (size_t i = from; i < to; i++) {
        const struct tok822 *k = &t->v[i];

        if (k->kind == TOK822_COMMENT)
            continue;
        if (buf_len(out) > 0 && (is_word(k) || tok822_is_op(k, '<')))
            buf_catc(out, ' ');
        if (k->kind == TOK822_DOMLIT)
            buf_catc(out, '[');
        buf_cat(out, buf_str(&k->text));
        if (k->kind == TOK822_DOMLIT)
            buf_catc(out, ']');
    }
}

/* cat_addr - the internal form of the address tokens T[FROM..TO) */
static void cat_addr(const struct tok822_list *t, size_t from, size_t to,
                     struct buf *out)
{
    /* A route "@a,@b:" before the mailbox is dropped. */
    if (from < to && tok822_is_op(&t->v[from], '@')) {
        for (size_t i = from; i < to; i++) {
            if (tok822_is_op(&t->v[i], ':')) {
                from = i + 1;
                break;
            }
        }
    }
    for (size_t i = from; i < to; i++) {
        const struct tok822 *k = &t->v[i];

        /* Comments, and stray angle brackets, are no part of it. */
        if (k->kind == TOK822_COMMENT || tok822_is_op(k, '<')
            || tok822_is_op(k, '>'))
            continue;
        /* Words inside angle brackets run together, as in Postfix:
         * "<a b@c>" is ab@c. */
        if (k->kind == TOK822_DOMLIT)
            buf_catc(out, '[');
        buf_cat(out, buf_str(&k->text));
        if (k->kind == TOK822_DOMLIT)
            buf_catc(out, ']');
    }
}

/* comment_text - the inner text of comment K, trimmed */
static char *comment_text(const struct tok822 *k)
{
    struct span s = span_make(buf_str(&k->text), buf_len(&k->text));

    if (s.len > 0 && s.p[0] == '(') {
        s.p++;
        s.len--;
    }
    if (s.len > 0 && s.p[s.len - 1] == ')')
        s.len--;
    return span_dup(span_trim(s));
}

/* add_entry - append one address; -1 with WHY at a limit */
static int add_entry(struct addr_hdr_list *l, struct buf *addr,
                     struct buf *display, const char *group, struct buf *why)
{
    struct addr_hdr_entry *e;

    if (buf_len(addr) > ADDR_MAX_LEN) {
        buf_setf(why, "address too long (more than %d bytes)", ADDR_MAX_LEN);
        return -1;
    }
    if (l->n >= ADDR_HDR_MAX_ADDRS) {
        buf_setf(why, "too many addresses (more than %d)", ADDR_HDR_MAX_ADDRS);
        return -1;
    }
    if (l->n == l->size) {
        l->size = l->size ? 2 * l->size : 8;
        l->v = mem_realloc(l->v, l->size * sizeof(*l->v));
    }
    e = &l->v[l->n++];
    e->addr = mem_strdup(buf_str(addr));
    e->display = buf_len(display) > 0 ? mem_strdup(buf_str(display)) : NULL;
    e->group = group != NULL ? mem_strdup(group) : NULL;
    return 0;
}

/* element - one mailbox of T[FROM..TO) into L, its comments (the display
 * name of "addr (Name)") in T[CFROM..CTO); empty ones are skipped */
static int element(const struct tok822_list *t, size_t from, size_t to,
                   size_t cfrom, size_t cto, const char *group,
                   struct addr_hdr_list *l, struct buf *why)
{
    struct buf addr = BUF_INIT;
    struct buf display = BUF_INIT;
    size_t lt = to;
    size_t gt = to;
    bool any = false;
    int ret = 0;

    for (size_t i = from; i < to; i++) {
        if (lt == to && tok822_is_op(&t->v[i], '<'))
            lt = i;
        else if (lt < to && gt == to && tok822_is_op(&t->v[i], '>'))
            gt = i;
        if (t->v[i].kind != TOK822_COMMENT)
            any = true;
    }
    if (lt < to) {
        if (gt == to)
            l->malformed = true;
        for (size_t i = gt + 1; i < to; i++)
            if (t->v[i].kind != TOK822_COMMENT)
                l->malformed = true;
        cat_phrase(t, from, lt, &display);
        cat_addr(t, lt + 1, gt, &addr);
        ret = add_entry(l, &addr, &display, group, why);
    } else if (any) {
        cat_addr(t, from, to, &addr);
        for (size_t i = cfrom; i < cto; i++) {
            if (t->v[i].kind == TOK822_COMMENT) {
                char *c = comment_text(&t->v[i]);

                buf_set(&display, c);
                mem_free(c);
                break;
            }
        }
        ret = add_entry(l, &addr, &display, group, why);
    }
    buf_fini(&addr);
    buf_fini(&display);
    return ret;
}

/* phrase_only - whether T[FROM..TO) holds only words and comments */
static bool phrase_only(const struct tok822_list *t, size_t from, size_t to)
{
    bool word = false;

    for (size_t i = from; i < to; i++) {
        if (is_word(&t->v[i]))
            word = true;
        else if (t->v[i].kind != TOK822_COMMENT && !tok822_is_op(&t->v[i], '.'))
            return false;
    }
    return word || from == to;
}

/* One element of an address list, as walk_header finds it. */
struct hdr_elem {
    size_t from; /* tokens [from, to) */
    size_t to;
    bool in_group;
    size_t gfrom; /* the group name's tokens, when in_group */
    size_t gto;
    bool opens_group;   /* the first element after "name:" */
    bool closes_group;  /* ended by ';' */
    bool follows_group; /* the (empty) text between ';' and ',' */
    size_t cfrom;       /* the comments that go with it: [cfrom, cto) */
    size_t cto;
};

typedef int (*hdr_elem_fn)(void *ctx, const struct tok822_list *t,
                           const struct hdr_elem *e);

/* is_wordish - a word or a domain literal */
static bool is_wordish(const struct tok822 *k)
{
    return is_word(k) || k->kind == TOK822_DOMLIT;
}

/* call_elem - FN for E, or, when E has no angle brackets, for each of its
 * space-separated addresses: Postfix reads "To: a b" as two addresses,
 * split where a word follows a word with no special between them */
static int call_elem(const struct tok822_list *t, struct hdr_elem *e,
                     hdr_elem_fn fn, void *ctx)
{
    struct hdr_elem sub = *e;
    const struct tok822 *prev = NULL;
    int ret = 0;

    for (size_t i = e->from; i < e->to; i++)
        if (tok822_is_op(&t->v[i], '<'))
            return fn(ctx, t, e);
    /* The comments of the element go with its last address ("x (c) y"
     * is x, y (c)), as Postfix writes them back. */
    sub.closes_group = false;
    sub.cfrom = sub.cto = e->from;
    for (size_t i = e->from; i < e->to && ret == 0; i++) {
        const struct tok822 *k = &t->v[i];

        if (k->kind == TOK822_COMMENT)
            continue;
        if (prev != NULL && is_wordish(prev) && is_word(k)) {
            sub.to = i;
            ret = fn(ctx, t, &sub);
            sub.from = i;
            sub.opens_group = false;
            sub.follows_group = false;
        }
        prev = k;
    }
    if (ret == 0) {
        sub.to = e->to;
        sub.cfrom = e->from;
        sub.cto = e->to;
        sub.closes_group = e->closes_group;
        ret = fn(ctx, t, &sub);
    }
    return ret;
}

/* walk_header - call FN for each element of an address list */
static int walk_header(const struct tok822_list *t, bool *malformed,
                       hdr_elem_fn fn, void *ctx)
{
    struct hdr_elem e = {0};
    bool in_angle = false;
    size_t start = 0;
    int ret = 0;

    for (size_t i = 0; i <= t->n && ret == 0; i++) {
        const struct tok822 *k = i < t->n ? &t->v[i] : NULL;

        if (k == NULL
            || (!in_angle
                && (tok822_is_op(k, ',')
                    || (tok822_is_op(k, ';') && e.in_group)))) {
            e.from = start;
            e.to = i;
            e.cfrom = start;
            e.cto = i;
            e.closes_group = k != NULL && tok822_is_op(k, ';');
            ret = call_elem(t, &e, fn, ctx);
            e.opens_group = false;
            e.follows_group = e.closes_group;
            if (e.closes_group)
                e.in_group = false;
            start = i + 1;
        } else if (tok822_is_op(k, '<')) {
            if (in_angle)
                *malformed = true;
            in_angle = true;
        } else if (tok822_is_op(k, '>')) {
            if (!in_angle)
                *malformed = true;
            in_angle = false;
        } else if (!in_angle && tok822_is_op(k, ':') && !e.in_group
                   && phrase_only(t, start, i)) {
            e.in_group = true;
            e.opens_group = true;
            e.follows_group = false;
            e.gfrom = start;
            e.gto = i;
            start = i + 1;
        }
    }
    if (in_angle || e.in_group)
        *malformed = true;
    return ret;
}

/* scan_header - the bounded tokens of a header value */
static int scan_header(struct span value, struct tok822_list *t,
                       struct buf *why)
{
    if (value.len > ADDR_HDR_MAX_LEN) {
        buf_setf(why, "header value too long (more than %d bytes)",
                 ADDR_HDR_MAX_LEN);
        return -1;
    }
    /* Entries are C strings: a NUL byte would cut an address short. */
    if (value.len > 0 && memchr(value.p, 0, value.len) != NULL) {
        buf_set(why, "NUL byte in header value");
        return -1;
    }
    tok822_init(t);
    /* Each token takes at least one byte: the length bounds the count. */
    if (tok822_scan(value, t, ADDR_HDR_MAX_LEN, why) < 0) {
        tok822_free(t);
        return -1;
    }
    return 0;
}

struct parse_ctx {
    struct addr_hdr_list *l;
    struct buf *why;
};

/* parse_elem - walk_header callback of addr_parse_header */
static int parse_elem(void *ctx, const struct tok822_list *t,
                      const struct hdr_elem *e)
{
    struct parse_ctx *pc = ctx;
    struct buf group = BUF_INIT;
    int ret;

    if (e->in_group)
        cat_phrase(t, e->gfrom, e->gto, &group);
    ret = element(t, e->from, e->to, e->cfrom, e->cto,
                  e->in_group ? buf_str(&group) : NULL, pc->l, pc->why);
    buf_fini(&group);
    return ret;
}

/* addr_parse_header - the addresses of one header value */
int addr_parse_header(struct span value, struct addr_hdr_list *l,
                      struct buf *why)
{
    struct tok822_list t;
    struct parse_ctx pc = {l, why};
    int ret;

    if (scan_header(value, &t, why) < 0)
        return -1;
    if (t.unterminated)
        l->malformed = true;
    ret = walk_header(&t, &l->malformed, parse_elem, &pc);
    tok822_free(&t);
    return ret;
}

/*
 * Header rewriting.
 */

struct rw_ctx {
    addr_rewrite_fn fn;
    void *ctx;
    struct buf *units; /* owned: the text of each element */
    size_t n;
    size_t size;
    bool changed;
    struct buf *why;
};

/* cat_word_ext - one token as it is written back */
static void cat_word_ext(const struct tok822 *k, struct buf *out)
{
    struct span text = span_make(buf_str(&k->text), buf_len(&k->text));

    switch (k->kind) {
        case TOK822_QSTRING:
            tok822_cat_quoted(out, text);
            break;
        case TOK822_ATOM:
            if (k->escaped && tok822_needs_quotes(text))
                tok822_cat_quoted(out, text);
            else
                buf_catspan(out, text);
            break;
        case TOK822_DOMLIT:
            buf_catc(out, '[');
            buf_catspan(out, text);
            buf_catc(out, ']');
            break;
        case TOK822_COMMENT:
        case TOK822_OP:
            buf_catspan(out, text);
            break;
    }
}

/* phrase_ext - T[FROM..TO) written back: one space before each word or
 * comment, none around specials ("Dr. Who") */
static void phrase_ext(const struct tok822_list *t, size_t from, size_t to,
                       struct buf *out)
{
    size_t start = buf_len(out);

    for (size_t i = from; i < to; i++) {
        const struct tok822 *k = &t->v[i];

        if (buf_len(out) > start && k->kind != TOK822_OP)
            buf_catc(out, ' ');
        cat_word_ext(k, out);
    }
}

/* cat_comments - the comments of T[FROM..TO), each after SEP */
static void cat_comments(const struct tok822_list *t, size_t from, size_t to,
                         const char *first_sep, struct buf *out)
{
    const char *sep = first_sep;

    for (size_t i = from; i < to; i++) {
        if (t->v[i].kind == TOK822_COMMENT) {
            buf_cat(out, sep);
            buf_catspan(
                out, span_make(buf_str(&t->v[i].text), buf_len(&t->v[i].text)));
            sep = " ";
        }
    }
}

/* rw_addr - the rewritten external form of the address in T[FROM..TO) */
static int rw_addr(struct rw_ctx *rc, const struct tok822_list *t, size_t from,
                   size_t to, struct buf *out)
{
    struct buf old = BUF_INIT;
    struct buf new = BUF_INIT;
    struct buf ext = BUF_INIT;
    int ret = 0;

    cat_addr(t, from, to, &old);
    /* A route is dropped, and that is a change (Postfix's rewrite drops
     * it too, and the header is written back). */
    if (from < to && tok822_is_op(&t->v[from], '@'))
        rc->changed = true;
    rc->fn(rc->ctx, span_make(buf_str(&old), buf_len(&old)), &new);
    if (buf_len(&new) > ADDR_MAX_LEN) {
        buf_setf(rc->why, "address too long (more than %d bytes)",
                 ADDR_MAX_LEN);
        ret = -1;
    } else {
        if (buf_len(&new) != buf_len(&old)
            || memcmp(buf_str(&new), buf_str(&old), buf_len(&old)) != 0)
            rc->changed = true;
        addr_externalize(span_make(buf_str(&new), buf_len(&new)), &ext);
        buf_catspan(out, span_make(buf_str(&ext), buf_len(&ext)));
    }
    buf_fini(&old);
    buf_fini(&new);
    buf_fini(&ext);
    return ret;
}

/* rw_elem - walk_header callback of addr_rewrite_header */
static int rw_elem(void *ctx, const struct tok822_list *t,
                   const struct hdr_elem *e)
{
    struct rw_ctx *rc = ctx;
    struct buf *unit;
    size_t lt = e->to;
    size_t gt = e->to;
    bool any = false;
    int ret = 0;

    /* The gap between a group's ';' and the next ',' is no element. */
    if (e->follows_group && e->from == e->to)
        return 0;
    if (rc->n >= ADDR_HDR_MAX_ADDRS) {
        buf_setf(rc->why, "too many addresses (more than %d)",
                 ADDR_HDR_MAX_ADDRS);
        return -1;
    }
    if (rc->n == rc->size) {
        rc->size = rc->size ? 2 * rc->size : 8;
        rc->units = mem_realloc(rc->units, rc->size * sizeof(*rc->units));
    }
    unit = &rc->units[rc->n++];
    buf_init(unit, 0);
    if (e->opens_group) {
        phrase_ext(t, e->gfrom, e->gto, unit);
        buf_cat(unit, ": ");
    }
    for (size_t i = e->from; i < e->to; i++) {
        if (lt == e->to && tok822_is_op(&t->v[i], '<'))
            lt = i;
        else if (lt < e->to && gt == e->to && tok822_is_op(&t->v[i], '>'))
            gt = i;
        if (t->v[i].kind != TOK822_COMMENT)
            any = true;
    }
    if (lt < e->to) {
        /* Name <addr (comments inside)>(comments after) */
        size_t before = buf_len(unit);

        phrase_ext(t, e->from, lt, unit);
        if (buf_len(unit) > before)
            buf_catc(unit, ' ');
        buf_catc(unit, '<');
        ret = rw_addr(rc, t, lt + 1, gt, unit);
        cat_comments(t, lt + 1, gt, " ", unit);
        buf_catc(unit, '>');
        if (gt < e->to)
            cat_comments(t, gt + 1, e->to, "", unit);
    } else if (any) {
        /* addr (comments) */
        ret = rw_addr(rc, t, e->from, e->to, unit);
        cat_comments(t, e->cfrom, e->cto, " ", unit);
    } else {
        cat_comments(t, e->from, e->to, "", unit);
    }
    if (e->closes_group)
        buf_catc(unit, ';');
    return ret;
}

/* addr_rewrite_header - rewrite every address of a header value */
int addr_rewrite_header(struct span value, size_t prefix_len,
                        addr_rewrite_fn fn, void *ctx, struct buf *out,
                        bool *changed, struct buf *why)
{
    struct tok822_list t;
    struct rw_ctx rc = {fn, ctx, NULL, 0, 0, false, why};
    bool malformed = false;
    size_t line = prefix_len;
    int ret;

    *changed = false;
    if (scan_header(value, &t, why) < 0)
        return -1;
    malformed = t.unterminated;
    ret = walk_header(&t, &malformed, rw_elem, &rc);
    buf_reset(out);
    if (ret == 0 && rc.changed && !malformed) {
        for (size_t i = 0; i < rc.n; i++) {
            size_t len = buf_len(&rc.units[i]) + (i + 1 < rc.n);

            if (i > 0 && line + 1 + len >= ADDR_HDR_FOLD) {
                buf_cat(out, "\n\t");
                line = 1 + len;
            } else {
                if (i > 0)
                    buf_catc(out, ' ');
                line += (i > 0) + len;
            }
            buf_catspan(
                out, span_make(buf_str(&rc.units[i]), buf_len(&rc.units[i])));
            if (i + 1 < rc.n)
                buf_catc(out, ',');
        }
        *changed = true;
    } else if (ret == 0) {
        buf_catspan(out, value);
    }
    for (size_t i = 0; i < rc.n; i++)
        buf_fini(&rc.units[i]);
    mem_free(rc.units);
    tok822_free(&t);
    return ret;
}
