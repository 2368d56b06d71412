/* fuzz_table_src - postmap/postalias source lines and message keys. */
#include "lib/buf.h"
#include "global/alias_src.h"
#include "global/mime_keys.h"
#include "global/tbl_src.h"

#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* ignore_key - a mime_keys callback that looks at the key */
static void ignore_key(enum mime_keys_kind kind, const char *key, void *ctx)
{
    size_t *total = ctx;

    (void) kind;
    *total += strlen(key);
}

/* LLVMFuzzerTestOneInput - read DATA as a table source and as a message */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct buf text = BUF_INIT;
    struct buf line = BUF_INIT;
    struct buf a = BUF_INIT;
    struct buf b = BUF_INIT;
    struct buf why = BUF_INIT;
    struct tbl_src src;
    struct mime_keys m;
    size_t total = 0;
    FILE *fp;
    int lineno;

    fuzz_init();
    (void) fuzz_write; /* shared helper; this driver reads from memory */
    buf_catn(&text, data, len);
    if ((fp = fmemopen((void *) buf_str(&text), len ? len : 1, "r")) == NULL)
        goto out;
    tbl_src_fdopen(&src, fp, "fuzz");
    while (tbl_src_next(&src, &line, &lineno)) {
        (void) tbl_src_utf8_ok(buf_str(&line));
        tbl_src_utf8_show(buf_str(&line), &a);
        (void) tbl_src_split(buf_str(&line), &a, &b, &why);
        (void) alias_src_parse(buf_str(&line), &a, &b, &why);
    }
    tbl_src_close(&src);
    fclose(fp);
    for (int mime = 0; mime < 2; mime++) {
        const char *p = buf_str(&text);

        mime_keys_init(&m, mime != 0, ignore_key, &total);
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t) (nl - p) : strlen(p);

            buf_reset(&line);
            buf_catn(&line, p, n);
            mime_keys_line(&m, buf_str(&line));
            p += n + (nl ? 1 : 0);
        }
        mime_keys_end(&m);
        mime_keys_fini(&m);
    }
out:
    buf_fini(&text);
    buf_fini(&line);
    buf_fini(&a);
    buf_fini(&b);
    buf_fini(&why);
    return 0;
}
