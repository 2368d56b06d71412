/* fuzz_ipc - the frame parser, the strict decoder of every message, dump. */
#include "lib/buf.h"
#include "lib/ipc.h"
#include "global/ipc_msgs.h"

#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* LLVMFuzzerTestOneInput - parse frames from DATA; decode, re-encode, dump */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct span in = span_make((const char *) data, len);
    struct buf why = BUF_INIT;
    struct buf out = BUF_INIT;
    struct ipc_frame f;
    size_t used;

    fuzz_init();
    (void) fuzz_write; /* fuzz_common.h's file helper: frames need no file */
    while (ipc_parse(in, &used, &f, &why) == IPC_PARSE_FRAME) {
        const struct ipc_msg_desc *d =
            ipc_desc_find(ipc_msgs_all, ipc_msgs_count, f.type);

        if (used < IPC_HDR_LEN || used > in.len)
            abort();
        buf_reset(&out);
        (void) ipc_msgs_dump(&f, &out);
        for (size_t i = 0; i < ipc_msgs_count; i++) {
            const struct ipc_msg_desc *e = ipc_msgs_all[i];
            void *msg = calloc(1, e->size);

            /* A decoded message re-encodes to a frame that decodes again. */
            if (ipc_decode(e, &f, msg, &why) == 0) {
                struct ipc_frame g;
                size_t used2;
                void *again = calloc(1, e->size);

                if (e != d)
                    abort();
                buf_reset(&out);
                if (ipc_encode(e, msg, f.request_id, &out, &why) < 0
                    || ipc_parse(span_make(out.data, out.len), &used2, &g, &why)
                           != IPC_PARSE_FRAME
                    || ipc_decode(e, &g, again, &why) < 0)
                    abort();
                ipc_msg_fini(e, again);
                free(again);
            }
            ipc_msg_fini(e, msg);
            free(msg);
        }
        in.p += used;
        in.len -= used;
    }
    buf_fini(&why);
    buf_fini(&out);
    return 0;
}
