/* fuzz_dsn - DSN parameters from SMTP (status, NOTIFY, RET, ORCPT, xtext)
 * and the bounce report built around hostile text. */
#include "lib/buf.h"
#include "global/bounce_report.h"
#include "global/dsn.h"

#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* read_lines - bounce_report_read_fn over the fuzz input */
static int read_lines(void *ctx, struct buf *line, struct buf *why)
{
    struct span *in = ctx;
    const char *nl;
    size_t n;

    (void) why;
    if (in->len == 0)
        return 0;
    nl = memchr(in->p, '\n', in->len);
    n = nl ? (size_t) (nl - in->p) : in->len;
    buf_reset(line);
    buf_catn(line, in->p, n);
    in->p += n + (nl ? 1 : 0);
    in->len -= n + (nl ? 1 : 0);
    return 1;
}

/* LLVMFuzzerTestOneInput - every DSN parser on DATA, then a report */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct span in = span_make((const char *) data, len);
    struct buf why = BUF_INIT;
    struct buf a = BUF_INIT;
    struct buf b = BUF_INIT;
    struct buf c = BUF_INIT;
    enum dsn_ret ret;
    int notify;

    fuzz_init();
    (void) fuzz_write; /* fuzz_common.h's file helper: no file needed */
    (void) dsn_status_check(in, &why);
    if (dsn_notify_parse(in, &notify, &why) == 0) {
        dsn_notify_format(notify, &a);
        /* What was formatted parses to the same bits. */
        if (dsn_notify_parse(span_make(a.data, a.len), &notify, &why) != 0)
            abort();
    }
    (void) dsn_ret_parse(in, &ret, &why);
    buf_reset(&a);
    if (dsn_xtext_decode(in, &a, &why) == 0 && memchr(a.data, 0, a.len) == 0) {
        /* decode(encode(x)) == x when the encoding fits the bound. */
        dsn_xtext_encode(buf_str(&a), &b);
        if (buf_len(&b) <= DSN_XTEXT_MAX
            && (dsn_xtext_decode(span_make(b.data, b.len), &c, &why) != 0
                || strcmp(buf_str(&c), buf_str(&a)) != 0))
            abort();
    }
    (void) dsn_orcpt_parse(in, &a, &b, &why);

    /* A report whose reason, addresses and original are the input. */
    {
        struct buf text = BUF_INIT;
        struct bounce_report_rcpt rc = {.orcpt = NULL};
        struct bounce_report r = {.kind = BOUNCE_REPORT_FAILURE,
                                  .queue_id = "ABC",
                                  .rcpts = &rc,
                                  .nrcpts = 1,
                                  .read_content = read_lines,
                                  .myhostname = "h.test",
                                  .bounce_size_limit = 1000,
                                  .maximal_queue_lifetime = 86400};
        struct span content = in;

        buf_catn(&text, data, len);
        rc.address = buf_str(&text);
        rc.orig_rcpt = "o@x";
        rc.orcpt = buf_str(&text);
        r.sender = buf_str(&text);
        r.envid = buf_str(&text);
        r.read_ctx = &content;
        if (dsn_init(&rc.dsn, "5.0.0", DSN_ACTION_FAILED, buf_str(&text), &why)
            != 0)
            abort();
        rc.dsn.diag_code = buf_str(&text);
        buf_reset(&a);
        if (bounce_report_to_buf(&r, &a, &why) != 0)
            abort();
        buf_fini(&text);
    }
    buf_fini(&why);
    buf_fini(&a);
    buf_fini(&b);
    buf_fini(&c);
    return 0;
}
