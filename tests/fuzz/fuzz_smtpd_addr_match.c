/* fuzz_smtpd_addr_match - hostile mynetworks values (as permit_mynetworks
 * reads them): the first line is the list, the following lines are client
 * addresses to match.  Tables are not named here ("x:y" words are skipped)
 * so that the driver opens no files. */
#include "global/addr_match.h"
#include "lib/buf.h"

#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* LLVMFuzzerTestOneInput - build the list, match every line */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct buf list = BUF_INIT;
    struct buf addr = BUF_INIT;
    struct addr_match *m;
    size_t i = 0;

    fuzz_init();
    (void) fuzz_write;
    while (i < len && data[i] != '\n') {
        /* No tables, no files: keep the run in memory. */
        if (data[i] != ':' && data[i] != '/' && data[i] != 0)
            buf_catc(&list, data[i]);
        else if (data[i] == '/' && buf_len(&list) > 0)
            buf_catc(&list, '/');
        i++;
    }
    m = addr_match_new("mynetworks", buf_str(&list));
    while (i < len) {
        buf_reset(&addr);
        for (i++; i < len && data[i] != '\n'; i++)
            if (data[i] != 0)
                buf_catc(&addr, data[i]);
        if (addr_match_find(m, buf_str(&addr)) == LK_TEMPFAIL
            && *addr_match_why(m) == 0)
            abort(); /* a tempfail always says why */
    }
    addr_match_free(m);
    buf_fini(&list);
    buf_fini(&addr);
    return 0;
}
