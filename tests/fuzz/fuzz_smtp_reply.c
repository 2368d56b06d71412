/* fuzz_smtp_reply - server replies as the smtp/lmtp client reads them
 * (a stream of replies, one after another), and the EHLO keywords. */
#include "lib/buf.h"
#include "smtp/smtp_proto.h"

#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* data_check - DATA lines cut into pieces: no line on the wire may start
 * with a single dot, and none is longer than the limit */
static void data_check(const uint8_t *data, size_t len)
{
    struct buf out = BUF_INIT;
    size_t limit = len ? data[0] % 16 : 0;
    size_t col = 0;
    size_t start = 1;

    for (size_t i = 1; i <= len; i++) {
        if (i == len || data[i] == '\n') {
            /* The line in pieces of at most 7 bytes. */
            for (size_t p = start; p < i || p == start; p += 7) {
                size_t n = i - p < 7 ? i - p : 7;

                smtp_data_piece(span_make((const char *) data + p, n),
                                p + n < i, limit, &col, &out);
                if (p + n >= i)
                    break;
            }
            start = i + 1;
        }
    }
    smtp_data_end(&out);
    /* The content may hold any byte, NUL included: walk by length. */
    const char *l = buf_str(&out);
    const char *end = l + buf_len(&out);

    while (l < end) {
        const char *e = memmem(l, (size_t) (end - l), "\r\n", 2);
        size_t n;

        if (e == NULL)
            abort(); /* every line ends in CRLF */
        n = (size_t) (e - l);
        if (n >= 1 && l[0] == '.' && !(n == 1 && e + 2 == end)
            && !(n >= 2 && l[1] == '.'))
            abort();
        if (limit >= 2 && n > limit && memchr(l, '\r', n) == NULL)
            abort();
        l = e + 2;
    }
    buf_fini(&out);
}

/* LLVMFuzzerTestOneInput - every reply in DATA, as a session would */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct span in = span_make((const char *) data, len);
    struct smtp_reply r;
    struct smtp_ext ext;
    struct buf why = BUF_INIT;
    size_t used;

    fuzz_init();
    (void) fuzz_write; /* fuzz_common.h's file helper: no file needed */
    smtp_reply_init(&r);
    for (;;) {
        enum smtp_parse pr = smtp_reply_parse(in, &used, &r, &why);

        if (used > in.len)
            abort();
        if (pr == SMTP_PARSE_REPLY) {
            if (used == 0)
                abort();
            smtp_ehlo_parse(&r, &ext);
            if (r.code < 200 || r.code > 599
                || smtp_reply_dsn(&r)[0] != '0' + r.code / 100)
                abort();
        } else if (pr == SMTP_PARSE_ERROR || used == 0) {
            break;
        }
        in.p += used;
        in.len -= used;
    }
    smtp_reply_fini(&r);
    buf_fini(&why);
    data_check(data, len);
    return 0;
}
