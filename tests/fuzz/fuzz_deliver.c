/* fuzz_deliver - message content through loop detection and mbox copying.
 *
 * The first input byte sets the piece size (1..64) in which the rest is fed,
 * so that lines split across pieces are exercised.  Besides crashes, the
 * driver checks the quoting promise: in the mbox output no line other than
 * the From_ line begins with "From ".
 */
#include "global/deliver.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

struct feed {
    const char *p;
    size_t len, off, piece;
};

/* feed_next - the next piece, split at "\n" and at the piece size */
static int feed_next(void *ctx, struct deliver_line *out, struct buf *why)
{
    struct feed *f = ctx;
    const char *nl;
    size_t n;

    (void) why;
    if (f->off >= f->len)
        return 0;
    n = f->len - f->off;
    if (n > f->piece)
        n = f->piece;
    nl = memchr(f->p + f->off, '\n', n);
    out->text =
        span_make(f->p + f->off, nl ? (size_t) (nl - (f->p + f->off)) : n);
    out->more = nl == NULL && f->off + n < f->len;
    f->off += out->text.len + (nl ? 1 : 0);
    return 1;
}

/* LLVMFuzzerTestOneInput - loop check and mbox copy of DATA */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct deliver_env env = {"s@x", "r@x", "o@x", 1796061600};
    struct feed f;
    struct deliver_src src = {feed_next, &f};
    struct deliver_status st;
    struct deliver_seen *seen;
    struct buf why = BUF_INIT;
    struct buf out = BUF_INIT;
    char chunk[4096];
    ssize_t n;
    off_t off = 0;
    const char *p, *end;
    int fd;

    fuzz_init();
    (void) fuzz_write;
    if (len < 1)
        return 0;
    f.p = (const char *) data + 1;
    f.len = len - 1;
    f.off = 0;
    f.piece = (size_t) (data[0] % 64) + 1;
    if ((seen = deliver_seen_read(&src, &why)) != NULL) {
        (void) deliver_seen_has(seen, "r@x");
        deliver_seen_free(seen);
    }
    if ((fd = memfd_create("fuzz_deliver", 0)) < 0)
        return 0;
    f.off = 0;
    if (deliver_copy(fd, 0, 0, &env, DELIVER_HDR_MBOX,
                     DELIVER_COPY_QUOTE | DELIVER_COPY_BLANK, &src, &st, &why)
        == 0) {
        while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
            buf_catn(&out, chunk, (size_t) n);
            off += n;
        }
        p = buf_str(&out);
        end = p + buf_len(&out);
        p = memchr(p, '\n', (size_t) (end - p)) + 1; /* skip the From_ line */
        for (; p < end; p++) {
            if ((end - p) >= 5 && memcmp(p, "From ", 5) == 0)
                abort();
            if ((p = memchr(p, '\n', (size_t) (end - p))) == NULL)
                break;
        }
    }
    close(fd);
    buf_fini(&why);
    buf_fini(&out);
    return 0;
}
