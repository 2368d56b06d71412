/*
 * fuzz_addr - the address parsers of src/global/addr.c and the standard
 * form of rewrite.c.  The first byte picks the target and its flags; the
 * rest is the input.  Besides crashes, leaks and hangs, the driver checks
 * the properties the callers rely on:
 *   - a path that parses has an internal form that survives
 *     addr_externalize() and parses back to itself;
 *   - addr_internalize(addr_externalize(x)) == x for any bytes x;
 *   - header lists respect their bounds.
 */
#include "global/addr.h"
#include "global/rewrite.h"
#include "lib/buf.h"

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
    for (size_t i = 0; i < l.n; i++)
        if (strlen(l.v[i].addr) > ADDR_MAX_LEN)
            abort();
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
