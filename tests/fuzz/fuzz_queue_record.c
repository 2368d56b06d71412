/*
 * fuzz_queue_record - the queue file reader: framing, the strict parser and
 * the content walk, over the input bytes as a whole queue file.  A file
 * the parser accepts must also satisfy what its readers rely on: the
 * content lines add up to the message size, and every recipient offset
 * points at an R or r record.
 */
#include "lib/buf.h"
#include "global/queue_file.h"

#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* LLVMFuzzerTestOneInput - parse one queue file */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct span file = span_make((const char *) data, len);
    struct buf why = BUF_INIT;
    struct buf line = BUF_INIT;
    struct queue_env env;
    struct queue_content c;
    struct queue_rec r;
    struct span piece;
    bool more;
    size_t off = 0;
    long long total = 0;

    (void) fuzz_write; /* fuzz_common's helper for file parsers */
    fuzz_init();
    while (queue_rec_next(file, &off, &r, &why) > 0)
        if (r.offset + QUEUE_REC_HDR + r.data.len != off)
            abort();
    buf_reset(&why);
    if (queue_file_parse(file, &env, &why) == 0) {
        queue_content_init(&c, file, &env);
        while (queue_content_next(&c, &line) > 0)
            total += (long long) buf_len(&line) + 1;
        if (total != env.message_size)
            abort();
        total = 0;
        queue_content_init(&c, file, &env);
        while (queue_content_piece(&c, &piece, &more) > 0)
            total += (long long) piece.len + !more;
        if (total != env.message_size)
            abort();
        for (size_t i = 0; i < env.nrcpt; i++) {
            size_t at = env.rcpts[i].offset;

            if (at >= len || (data[at] != 'R' && data[at] != 'r'))
                abort();
        }
    } else if (env.bad_offset > len) {
        abort();
    }
    queue_env_fini(&env);
    buf_fini(&why);
    buf_fini(&line);
    return 0;
}
