/* fuzz_smtp_reply - server replies as the smtp/lmtp client reads them
 * (a stream of replies, one after another), and the EHLO keywords. */
#include "lib/buf.h"
#include "smtp/smtp_proto.h"

#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

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
    while (smtp_reply_parse(in, &used, &r, &why) == SMTP_PARSE_REPLY) {
        if (used == 0 || used > in.len)
            abort();
        smtp_ehlo_parse(&r, &ext);
        if (r.code < 200 || r.code > 599
            || smtp_reply_dsn(&r)[0] != '0' + r.code / 100)
            abort();
        in.p += used;
        in.len -= used;
    }
    smtp_reply_fini(&r);
    buf_fini(&why);
    return 0;
}
