/* fuzz_smtpd_cmd - the SMTP server's command parsers on hostile bytes: the
 * input is a stream of client bytes cut into lines as the daemon will cut
 * them, and every line goes through the splitter and the verb's parser in
 * both strict_rfc821_envelopes modes. */
#include "lib/buf.h"
#include "global/addr.h"
#include "smtpd/smtpd_cmd.h"

#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* one_line - LINE through every parser that its verb selects */
static void one_line(struct span line, const struct smtpd_cmd_opts *o)
{
    struct smtpd_cmd cmd;
    struct smtpd_mail m;
    struct smtpd_rcpt r;
    struct buf reply = BUF_INIT;
    struct buf addr = BUF_INIT;
    uint64_t n;
    bool last;

    if (smtpd_cmd_split(line, o, &cmd, &reply) != 0) {
        /* Every refusal has a reply of a code, a space and text. */
        if (buf_len(&reply) < 5 || buf_str(&reply)[3] != ' ')
            abort();
        buf_fini(&reply);
        return;
    }
    /* The spans lie within the line. */
    if (cmd.args.p < line.p || cmd.args.p + cmd.args.len > line.p + line.len)
        abort();
    (void) smtpd_cmd_check_args(&cmd, &reply);
    smtpd_mail_init(&m);
    smtpd_rcpt_init(&r);
    if (smtpd_cmd_mail(cmd.args, o, &m, &reply) == 0) {
        if (buf_len(&m.addr) > ADDR_MAX_LEN)
            abort();
    } else if (buf_len(&reply) < 5)
        abort();
    if (smtpd_cmd_rcpt(cmd.args, o, &r, &reply) == 0 && buf_len(&r.addr) == 0)
        abort(); /* RCPT TO:<> is refused */
    if (smtpd_cmd_bdat(cmd.args, &n, &last, &reply) == 0 && n == 0 && !last)
        abort(); /* BDAT 0 needs LAST */
    (void) smtpd_cmd_vrfy(cmd.args, o, &addr, &reply);
    smtpd_mail_fini(&m);
    smtpd_rcpt_fini(&r);
    buf_fini(&addr);
    buf_fini(&reply);
}

/* LLVMFuzzerTestOneInput - DATA as client input, line by line */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct span in = span_make((const char *) data, len);
    struct smtpd_cmd_opts o;
    struct span line;
    size_t used;
    int rc;

    fuzz_init();
    (void) fuzz_write;
    smtpd_cmd_opts_default(&o);
    while (in.len > 0) {
        rc = smtpd_line_take(in, 512, &line, &used);
        if (rc == 0) {
            line = in; /* the last, unterminated line */
            used = in.len;
        }
        if (used == 0 || used > in.len || line.len > 512)
            abort();
        o.strict_rfc821 = false;
        o.smtputf8_enable = true;
        one_line(line, &o);
        o.strict_rfc821 = true;
        o.smtputf8_enable = (line.len & 1) != 0;
        one_line(line, &o);
        in.p += used;
        in.len -= used;
    }
    return 0;
}
