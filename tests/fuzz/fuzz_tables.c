/*
 * fuzz_tables - the table file parsers: regexp, pcre, cidr, texthash, and
 * the inline/composite forms.  The first byte picks the type; the rest is
 * the table file (or, for inline forms, the text after "type:").
 */
#include "lib/buf.h"
#include "lib/dict.h"

#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* has_regcomp_bomb - an interval, or a run of 3+ quantifiers */
static int has_regcomp_bomb(const uint8_t *data, size_t len)
{
    size_t run = 0;

    for (size_t i = 0; i < len; i++) {
        if (data[i] == '{')
            return 1;
        if (data[i] == '+' || data[i] == '*' || data[i] == '?')
            run++;
        else
            run = 0;
        if (run >= 3)
            return 1;
    }
    return 0;
}

/* LLVMFuzzerTestOneInput - open one table and look a few keys up */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static const char *const file_types[] = {"regexp", "pcre", "cidr",
                                             "texthash"};
    static const char *const inline_types[] = {"inline", "static", "unionmap",
                                               "pipemap", "randmap"};
    static const char *const keys[] = {
        "user@example.com", "Content-Type: application/x; name=\"a.exe\"",
        "192.168.1.1",      "2001:db8::1",
        "::ffff:10.0.0.1",  "",
    };
    char dir[64];
    struct buf name = BUF_INIT;
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *d;
    size_t pick;

    fuzz_init();
    if (len < 1)
        return 0;
    pick = data[0] % (NELEM(file_types) + NELEM(inline_types));
    /*
     * glibc's regcomp needs exponential memory for stacked quantifiers and
     * nested intervals ("o++++++++", "(a{99}){99}"), in ulak as in Postfix,
     * which hands patterns to regcomp the same way.  That is libc's limit,
     * not a bug of the rule parser under test: keep such inputs away from
     * regexp tables.
     */
    if (pick == 0 && has_regcomp_bomb(data + 1, len - 1))
        return 0;
    if (pick < NELEM(file_types)) {
        if (str_fmt(dir, sizeof(dir), "/tmp/ulak-fuzz-%ld", (long) getpid()) < 0
            || fuzz_write(dir, "table", data + 1, len - 1) < 0)
            return 0;
        buf_setf(&name, "%s:%s/table", file_types[pick], dir);
    } else {
        /* Inline forms must not nest unboundedly into other files. */
        if (memchr(data + 1, 0, len - 1) || memchr(data + 1, '/', len - 1))
            return 0;
        buf_setf(&name, "%s:", inline_types[pick - NELEM(file_types)]);
        buf_catn(&name, data + 1, len - 1);
    }
    d = dict_open(buf_str(&name), O_RDONLY, DICT_FLAG_NONE, &why);
    if (d) {
        for (size_t i = 0; i < NELEM(keys); i++)
            (void) dict_lookup(d, keys[i], &value);
        dict_close(d);
    }
    buf_fini(&name);
    buf_fini(&why);
    buf_fini(&value);
    return 0;
}
