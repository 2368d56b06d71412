/*
 * fuzz_addr - the address parsers of src/global/addr.c and the standard
 * form of rewrite.c.  The first byte picks the target and its flags; the
 * rest is the input.  Besides crashes, leaks and hangs, the driver checks
 * the properties the callers rely on:
 *   - a path that parses has an internal form that survives
 *     addr_externalize() and parses back to itself;
 *   - addr_internalize(addr_externalize(x)) == x for any bytes x;
 *   - header lists respect their bounds, and every address of a header,
 *     written back in its external form as "<addr>", parses
 *     to the same internal form (unless the value was malformed: an
 *     unterminated quote or bracket is read to the end, as Postfix does);
 *   - the RFC 822 tokenizer keeps its token bound, and a quoted string it
 *     read, quoted again, scans back to one quoted string of the same text.
 */
#include "global/addr.h"
#include "global/rewrite.h"
#include "global/tok822.h"
#include "lib/buf.h"

#include <ctype.h>
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* check_path - parse, externalize, parse again */
static void check_path(struct span in, int flags)
{
    struct buf addr = BUF_INIT;
    struct buf ext = BUF_INIT;
    struct buf again = BUF_INIT;
    struct buf wrapped = BUF_INIT;
    struct buf why = BUF_INIT;
    size_t used = 0;

    if (addr_parse_path(in, flags, &addr, &used, &why) == 0) {
        if (used > in.len || buf_len(&addr) > ADDR_MAX_LEN)
            abort();
        addr_externalize(span_make(buf_str(&addr), buf_len(&addr)), &ext);
        buf_set(&wrapped, "<");
        buf_catn(&wrapped, buf_str(&ext), buf_len(&ext));
        buf_catc(&wrapped, '>');
        if (addr_parse_path(span_make(buf_str(&wrapped), buf_len(&wrapped)),
                            flags | ADDR_PATH_STRICT, &again, NULL, &why)
                != 0
            || buf_len(&again) != buf_len(&addr)
            || memcmp(buf_str(&again), buf_str(&addr), buf_len(&addr)) != 0)
            abort();
    } else if (buf_len(&why) == 0) {
        abort();
    }
    buf_fini(&addr);
    buf_fini(&ext);
    buf_fini(&again);
    buf_fini(&wrapped);
    buf_fini(&why);
}

/* check_forms - internal -> external -> internal is the identity */
static void check_forms(struct span in)
{
    struct buf ext = BUF_INIT;
    struct buf back = BUF_INIT;

    addr_externalize(in, &ext);
    addr_internalize(span_make(buf_str(&ext), buf_len(&ext)), &back);
    if (buf_len(&back) != in.len || memcmp(buf_str(&back), in.p, in.len) != 0)
        abort();
    buf_fini(&ext);
    buf_fini(&back);
}

/* qualify - a rewrite that changes most addresses */
static void qualify(void *ctx, struct span addr, struct buf *out)
{
    (void) ctx;
    buf_reset(out);
    buf_catspan(out, addr);
    if (memchr(addr.p, '@', addr.len) == NULL)
        buf_cat(out, "@example.com");
}

/* plain_domain - the domain of internal ADDR (if any) needs no quoting:
 * labels of letters, digits, '-', '_', 8-bit bytes and dots, or a literal
 * of letters, digits, '.' and ':'.  Postfix quotes only the local part, so
 * an address whose domain holds a special (a quoted "@x y" read from a
 * header) has no external form that reads back the same, in Postfix too */
static bool plain_domain(struct span addr)
{
    struct span local;
    struct span d;
    bool literal;

    if (!addr_split(addr, &local, &d))
        return true;
    literal = d.len >= 2 && d.p[0] == '[' && d.p[d.len - 1] == ']';
    if (literal) {
        d.p++;
        d.len -= 2;
    }
    for (size_t i = 0; i < d.len; i++) {
        unsigned char c = (unsigned char) d.p[i];

        if (isalnum(c) || c == '.')
            continue;
        if (literal ? c != ':' : c != '-' && c != '_' && c < 0x80)
            return false;
    }
    return true;
}

/* check_requote - header address ADDR (internal form), written back in
 * external form as a header value, is read as the same one address */
static void check_requote(const char *addr)
{
    struct addr_hdr_list l;
    struct buf ext = BUF_INIT;
    struct buf tmp = BUF_INIT;
    struct buf why = BUF_INIT;

    if (*addr == 0 || !plain_domain(span_of(addr)))
        return; /* "<>" has no external form of its own */
    addr_hdr_init(&l);
    /* The domain is not quoted (Postfix quotes only the local part), so
     * the address goes back in angle brackets, as a rewrite writes it. */
    buf_set(&ext, "<");
    addr_externalize(span_of(addr), &tmp);
    buf_catn(&ext, buf_str(&tmp), buf_len(&tmp));
    buf_catc(&ext, '>');
    if (addr_parse_header(span_make(buf_str(&ext), buf_len(&ext)), &l, &why)
            != 0
        || l.n != 1 || strcmp(l.v[0].addr, addr) != 0)
        abort();
    addr_hdr_free(&l);
    buf_fini(&ext);
    buf_fini(&tmp);
    buf_fini(&why);
}

/* check_tokens - the tokenizer within its bound; quoted strings requote */
static void check_tokens(struct span in)
{
    struct tok822_list t;
    struct buf why = BUF_INIT;

    tok822_init(&t);
    if (tok822_scan(in, &t, 64, &why) != 0 && buf_len(&why) == 0)
        abort();
    if (t.n > 64)
        abort();
    for (size_t i = 0; i < t.n; i++) {
        struct tok822_list again;
        struct buf q = BUF_INIT;
        const struct buf *text = &t.v[i].text;

        if (t.v[i].kind != TOK822_QSTRING || (t.unterminated && i + 1 == t.n))
            continue;
        tok822_init(&again);
        tok822_cat_quoted(&q, span_make(buf_str(text), buf_len(text)));
        if (tok822_scan(span_make(buf_str(&q), buf_len(&q)), &again, 4, &why)
                != 0
            || again.n != 1 || again.v[0].kind != TOK822_QSTRING
            || again.unterminated || buf_len(&again.v[0].text) != buf_len(text)
            || memcmp(buf_str(&again.v[0].text), buf_str(text), buf_len(text))
                   != 0)
            abort();
        tok822_free(&again);
        buf_fini(&q);
    }
    tok822_free(&t);
    buf_fini(&why);
}

/* check_header - a header address list within its bounds; rewritten, an
 * unchanged value comes back byte for byte */

static void check_header(struct span in)
{
    struct addr_hdr_list l;
    struct buf why = BUF_INIT;

    addr_hdr_init(&l);
    if (addr_parse_header(in, &l, &why) != 0 && buf_len(&why) == 0)
        abort();
    if (l.n > ADDR_HDR_MAX_ADDRS)
        abort();
    for (size_t i = 0; i < l.n; i++) {
        if (strlen(l.v[i].addr) > ADDR_MAX_LEN)
            abort();
        if (!l.malformed) /* read as Postfix reads it, not requotable */
            check_requote(l.v[i].addr);
    }
    check_tokens(in);
    {
        struct buf out = BUF_INIT;
        bool changed;

        if (addr_rewrite_header(in, 4, qualify, NULL, &out, &changed, &why)
            == 0) {
            if (!changed
                && (buf_len(&out) != in.len
                    || memcmp(buf_str(&out), in.p, in.len) != 0))
                abort();
        }
        buf_fini(&out);
    }
    addr_hdr_free(&l);
    buf_fini(&why);
}

/* check_rewrite - standard form in both contexts */
static void check_rewrite(struct span in)
{
    struct rewrite_conf rc = {
        .myorigin = "origin.example",
        .mydomain = "example.com",
        .remote_domain = "domain.invalid",
        .append_at_myorigin = true,
        .append_dot_mydomain = true,
        .swap_bangpath = true,
        .percent_hack = true,
    };
    struct buf out = BUF_INIT;

    rewrite_addr(&rc, REWRITE_LOCAL, in, &out);
    rewrite_addr(&rc, REWRITE_REMOTE, in, &out);
    buf_fini(&out);
}

/* LLVMFuzzerTestOneInput - one input for the target the first byte picks */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct span in;

    fuzz_init();
    (void) fuzz_write; /* the parsers here read no files */
    if (len < 1)
        return 0;
    in = span_make((const char *) data + 1, len - 1);
    switch (data[0] % 5) {
        case 0:
            check_path(in,
                       (data[0] >> 3) & (ADDR_PATH_STRICT | ADDR_PATH_UTF8));
            break;
        case 1:
            check_header(in);
            break;
        case 2:
            check_forms(in);
            break;
        case 3:
            check_rewrite(in);
            break;
        default: {
            struct span local;
            struct span domain;
            struct buf ip = BUF_INIT;

            (void) addr_split(in, &local, &domain);
            (void) addr_literal_ip(domain, &ip);
            buf_fini(&ip);
            break;
        }
    }
    return 0;
}
