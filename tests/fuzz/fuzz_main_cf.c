/* fuzz_main_cf - main.cf reading, validation and $name expansion. */
#include "lib/buf.h"
#include "global/conf.h"

#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* LLVMFuzzerTestOneInput - load one main.cf, check it, expand values */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static const char *const names[] = {
        "myhostname",
        "mydestination",
        "smtpd_banner",
        "relay_domains",
        "smtpd_relay_restrictions",
        "foo",
        "bar",
    };
    char dir[64];
    struct buf why = BUF_INIT;
    struct buf out = BUF_INIT;

    fuzz_init();
    if (str_fmt(dir, sizeof(dir), "/tmp/ulak-fuzz-%ld", (long) getpid()) < 0
        || fuzz_write(dir, "main.cf", data, len) < 0)
        return 0;
    conf_set_dir(dir);
    (void) conf_load(&why);
    (void) conf_check();
    for (size_t i = 0; i < NELEM(names); i++)
        (void) conf_str(names[i]);
    /* The input as one value, too: every expansion form in one place. */
    buf_catn(&why, data, len);
    (void) conf_expand(buf_str(&why), &out, &why, NULL);
    buf_fini(&why);
    buf_fini(&out);
    return 0;
}
