/* fuzz_dns - the parsers of outside DNS and next-hop data: record data of
 * every type (dns_rr_parse), $ulak_dns_servers and next hops. */
#include "global/dns.h"
#include "lib/argv.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "smtp/smtp_addr.h"

#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* LLVMFuzzerTestOneInput - byte 0 picks the record type, the rest is the
 * record data; the whole input as text feeds the other two parsers */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static const int types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_PTR,
                                DNS_T_TXT};
    struct dns_rr rr;
    struct buf why = BUF_INIT;
    struct argv *fwd;
    struct smtp_addr_nexthop nh;
    char *text;

    fuzz_init();
    (void) fuzz_write; /* the parsers here read no files */
    if (len == 0)
        return 0;
    if (dns_rr_parse(types[data[0] % NELEM(types)], data + 1, len - 1, &rr)
        == 0) {
        if (rr.name != NULL && strlen(rr.name) > 253)
            abort();
        dns_rr_fini(&rr);
    }
    text = mem_strndup((const char *) data, len);
    fwd = argv_new();
    buf_init(&why, 0);
    (void) dns_parse_servers(text, fwd, &why);
    if (smtp_addr_parse(text, data[0] & 1, &nh, &why) == 0)
        smtp_addr_nexthop_fini(&nh);
    argv_free(fwd);
    buf_fini(&why);
    mem_free(text);
    return 0;
}
