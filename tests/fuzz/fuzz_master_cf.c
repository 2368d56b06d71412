/* fuzz_master_cf - master.cf parser. */
#include "lib/buf.h"
#include "global/master_cf.h"

#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* LLVMFuzzerTestOneInput - parse one master.cf */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char dir[64];
    char path[96];
    struct buf why = BUF_INIT;
    struct master_cf *cf;

    fuzz_init();
    if (str_fmt(dir, sizeof(dir), "/tmp/ulak-fuzz-%ld", (long) getpid()) < 0
        || fuzz_write(dir, "master.cf", data, len) < 0)
        return 0;
    if (str_fmt(path, sizeof(path), "%s/master.cf", dir) < 0)
        return 0;
    cf = master_cf_load(path, &why);
    if (cf)
        (void) master_cf_find(cf, "smtp", "inet");
    master_cf_free(cf);
    buf_fini(&why);
    return 0;
}
