/* fuzz_msg_log - the per-message log reader on hostile bytes: it must
 * never crash, and every entry it returns must survive a format/parse
 * round trip unchanged. */
#include "lib/buf.h"
#include "global/msg_log.h"

#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* same - B is A as the writer writes it (control characters as '?'),
 * both NULL, or both absent */
static int same(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    for (; *a && *b; a++, b++)
        if (*b != ((unsigned char) *a < 0x20 || *a == 0x7f ? '?' : *a))
            return 0;
    return *a == 0 && *b == 0;
}

/* LLVMFuzzerTestOneInput - parse DATA, then format and reparse each entry */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct msg_log log;
    struct buf out = BUF_INIT;

    fuzz_init();
    (void) fuzz_write; /* fuzz_common.h's file helper: no file needed */
    memset(&log, 0, sizeof(log));
    msg_log_parse(span_make((const char *) data, len), &log);
    for (size_t i = 0; i < log.count; i++) {
        const struct msg_log_entry *e = &log.entries[i];
        struct msg_log again;

        buf_reset(&out);
        msg_log_format(e, &out);
        memset(&again, 0, sizeof(again));
        msg_log_parse(span_make(buf_str(&out), buf_len(&out)), &again);
        /* The reader never returns a value with a line break, so the
         * writer writes it back unchanged (control characters aside). */
        const struct msg_log_entry *f = again.count ? again.entries : NULL;

        if (again.count != 1 || again.skipped != 0 || f->offset != e->offset
            || f->notify != e->notify || !same(e->recipient, f->recipient)
            || !same(e->orig_rcpt, f->orig_rcpt)
            || !same(e->dsn_orig_rcpt, f->dsn_orig_rcpt)
            || !same(e->status, f->status) || !same(e->action, f->action)
            || !same(e->reason, f->reason)
            || !same(e->remote_mta, f->remote_mta)
            || !same(e->diag_code, f->diag_code))
            abort();
        msg_log_fini(&again);
    }
    msg_log_fini(&log);
    buf_fini(&out);
    return 0;
}
