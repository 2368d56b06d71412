/*
 * fuzz_smtpd_mail_rcpt - MAIL FROM and RCPT TO with their ESMTP parameters
 * (SIZE, BODY, SMTPUTF8, RET, ENVID and AUTH; NOTIFY and ORCPT, with the
 * xtext decoding of ENVID and ORCPT) on hostile bytes.
 *
 * The first byte holds the options (strict_rfc821_envelopes,
 * smtputf8_enable, no message_size_limit); the rest, cut at the first LF
 * or NUL as the daemon's line reader and splitter cut it, is the argument
 * text after the verb.  It goes through smtpd_cmd_mail as "FROM:" + text
 * and as text, and through smtpd_cmd_rcpt as "TO:" + text and as text.
 * Besides crashes, leaks and hangs, the driver checks what the daemon
 * relies on:
 *   - a refusal is one reply line "NNN N.N.N text" whose enhanced code has
 *     the class of the reply code, with no CR, LF or NUL in it;
 *   - an accepted address is at most ADDR_MAX_LEN bytes, without NUL, and
 *     its external form sent again in angle brackets parses to the same
 *     internal form, also under strict_rfc821_envelopes (RCPT: never "");
 *   - SIZE is within message_size_limit; SMTPUTF8 only when enabled;
 *   - the decoded ENVID and ORCPT address are non-empty, without NUL, and
 *     encode back to xtext that decodes to the same bytes; NOTIFY=NEVER
 *     stands alone.
 */
#include "global/addr.h"
#include "global/dsn.h"
#include "lib/buf.h"
#include "smtpd/smtpd_cmd.h"

#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* check_reply - REPLY is one line "NNN N.N.N text" of a refusal */
static void check_reply(const struct buf *reply)
{
    const char *r = buf_str(reply);
    size_t n = buf_len(reply);

    if (n < 10 || (r[0] != '4' && r[0] != '5') || r[1] < '0' || r[1] > '9'
        || r[2] < '0' || r[2] > '9' || r[3] != ' ' || r[4] != r[0]
        || r[5] != '.' || r[6] < '0' || r[6] > '9')
        abort();
    if (memchr(r, '\r', n) != NULL || memchr(r, '\n', n) != NULL
        || strlen(r) != n)
        abort();
}

/* check_addr - ADDR, accepted by the parser behind KEYWORD, as a client
 * would send it again: the same internal form comes back */
static void check_addr(const struct buf *addr, const char *keyword,
                       const struct smtpd_cmd_opts *o, bool rcpt)
{
    struct smtpd_cmd_opts strict = *o;
    struct buf ext = BUF_INIT;
    struct buf args = BUF_INIT;
    struct buf reply = BUF_INIT;
    struct smtpd_mail m;
    struct smtpd_rcpt r;
    const struct buf *again;
    int rc;

    if (buf_len(addr) > ADDR_MAX_LEN
        || memchr(buf_str(addr), 0, buf_len(addr)) != NULL
        || (rcpt && buf_len(addr) == 0))
        abort();
    addr_externalize(span_make(buf_str(addr), buf_len(addr)), &ext);
    buf_set(&args, keyword);
    buf_catc(&args, '<');
    buf_catn(&args, buf_str(&ext), buf_len(&ext));
    buf_catc(&args, '>');
    strict.strict_rfc821 = true;
    smtpd_mail_init(&m);
    smtpd_rcpt_init(&r);
    if (rcpt) {
        rc = smtpd_cmd_rcpt(span_make(buf_str(&args), buf_len(&args)), &strict,
                            &r, &reply);
        again = &r.addr;
    } else {
        rc = smtpd_cmd_mail(span_make(buf_str(&args), buf_len(&args)), &strict,
                            &m, &reply);
        again = &m.addr;
    }
    if (rc != 0 || buf_len(again) != buf_len(addr)
        || memcmp(buf_str(again), buf_str(addr), buf_len(addr)) != 0)
        abort();
    smtpd_mail_fini(&m);
    smtpd_rcpt_fini(&r);
    buf_fini(&ext);
    buf_fini(&args);
    buf_fini(&reply);
}

/* check_xtext - decoded DSN value V: encoded and decoded again, the same */
static void check_xtext(const struct buf *v)
{
    struct buf enc = BUF_INIT;
    struct buf dec = BUF_INIT;
    struct buf why = BUF_INIT;

    if (buf_len(v) == 0 || buf_len(v) > DSN_XTEXT_MAX
        || strlen(buf_str(v)) != buf_len(v))
        abort();
    dsn_xtext_encode(buf_str(v), &enc);
    if (dsn_xtext_decode(span_make(buf_str(&enc), buf_len(&enc)), &dec, &why)
            != 0
        || buf_len(&dec) != buf_len(v)
        || memcmp(buf_str(&dec), buf_str(v), buf_len(v)) != 0)
        abort();
    buf_fini(&enc);
    buf_fini(&dec);
    buf_fini(&why);
}

/* one_mail - ARGS through the MAIL parser */
static void one_mail(struct span args, const struct smtpd_cmd_opts *o)
{
    struct smtpd_mail m;
    struct buf reply = BUF_INIT;

    smtpd_mail_init(&m);
    if (smtpd_cmd_mail(args, o, &m, &reply) != 0) {
        check_reply(&reply);
    } else {
        if (buf_len(&reply) != 0)
            abort();
        check_addr(&m.addr, "FROM:", o, false);
        if (m.has_size && o->message_size_limit > 0
            && m.size > o->message_size_limit)
            abort();
        if (m.smtputf8 && !o->smtputf8_enable)
            abort();
        if (m.has_envid)
            check_xtext(&m.envid);
        else if (buf_len(&m.envid) != 0)
            abort();
    }
    smtpd_mail_fini(&m);
    buf_fini(&reply);
}

/* one_rcpt - ARGS through the RCPT parser */
static void one_rcpt(struct span args, const struct smtpd_cmd_opts *o)
{
    struct smtpd_rcpt r;
    struct buf reply = BUF_INIT;

    smtpd_rcpt_init(&r);
    if (smtpd_cmd_rcpt(args, o, &r, &reply) != 0) {
        check_reply(&reply);
    } else {
        if (buf_len(&reply) != 0)
            abort();
        check_addr(&r.addr, "TO:", o, true);
        if ((r.notify & DSN_NOTIFY_NEVER) && r.notify != DSN_NOTIFY_NEVER)
            abort();
        if (r.has_orcpt) {
            struct buf fmt = BUF_INIT;
            struct buf type = BUF_INIT;
            struct buf addr = BUF_INIT;
            struct buf why = BUF_INIT;

            check_xtext(&r.orcpt_addr);
            dsn_orcpt_format(buf_str(&r.orcpt_type), buf_str(&r.orcpt_addr),
                             &fmt);
            if (dsn_orcpt_parse(span_make(buf_str(&fmt), buf_len(&fmt)), &type,
                                &addr, &why)
                    != 0
                || strcmp(buf_str(&type), buf_str(&r.orcpt_type)) != 0
                || strcmp(buf_str(&addr), buf_str(&r.orcpt_addr)) != 0)
                abort();
            buf_fini(&fmt);
            buf_fini(&type);
            buf_fini(&addr);
            buf_fini(&why);
        }
    }
    smtpd_rcpt_fini(&r);
    buf_fini(&reply);
}

/* LLVMFuzzerTestOneInput - options byte, then the argument text */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct smtpd_cmd_opts o;
    struct buf args = BUF_INIT;
    struct span text;
    size_t n;

    fuzz_init();
    (void) fuzz_write; /* the parsers read no files */
    if (len < 1 || len > SMTPD_LINE_LIMIT + 1)
        return 0;
    smtpd_cmd_opts_default(&o);
    o.strict_rfc821 = (data[0] & 1) != 0;
    o.smtputf8_enable = (data[0] & 2) == 0;
    if (data[0] & 4)
        o.message_size_limit = 0;
    text = span_make((const char *) data + 1, len - 1);
    for (n = 0; n < text.len && text.p[n] != '\n' && text.p[n] != 0; n++)
        ;
    text.len = n;
    buf_set(&args, "FROM:");
    buf_catspan(&args, text);
    one_mail(span_make(buf_str(&args), buf_len(&args)), &o);
    one_mail(text, &o);
    buf_set(&args, "TO:");
    buf_catspan(&args, text);
    one_rcpt(span_make(buf_str(&args), buf_len(&args)), &o);
    one_rcpt(text, &o);
    buf_fini(&args);
    return 0;
}
