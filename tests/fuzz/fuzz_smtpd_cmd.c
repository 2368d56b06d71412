/*
 * fuzz_smtpd_cmd - the SMTP server's command-line parsers on hostile bytes:
 * the input is a stream of client bytes, cut into lines by smtpd_line_take
 * as the daemon cuts them (once with line_length_limit's 2048 bytes, once
 * with 64 so that overlong lines and their skipped tails are common); every
 * line goes through smtpd_cmd_split, smtpd_cmd_check_args, smtpd_cmd_bdat
 * and smtpd_cmd_vrfy, in both strict_rfc821_envelopes modes.  MAIL and RCPT
 * with their parameters have their own driver (fuzz_smtpd_mail_rcpt).
 * Besides crashes, leaks and hangs, the driver checks:
 *   - a line lies at the start of the input, holds no LF, ends before the
 *     LF it was cut at (and a CR before it), and is never longer than the
 *     limit; "need more" only when no LF came within the limit;
 *   - the verb and argument spans lie inside the line, before any NUL; the
 *     verb is a non-empty word whose name matches the table; the arguments
 *     start with no white space and run to the end of the line (or NUL);
 *   - every refusal is one of the documented replies (the right code);
 *   - BDAT's count fits in int64 and 0 only with LAST;
 *   - a VRFY address is non-empty and, externalized and sent again in
 *     angle brackets, parses to the same internal form.
 */
#include "global/addr.h"
#include "lib/buf.h"
#include "smtpd/smtpd_cmd.h"

#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* is_sep - a word separator of the command parsers (C's isspace) */
static bool is_sep(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* inside - span S lies within span OUTER */
static bool inside(struct span s, struct span outer)
{
    return s.p >= outer.p && s.len <= outer.len
           && (size_t) (s.p - outer.p) <= outer.len - s.len;
}

/* check_take - the properties of one smtpd_line_take answer */
static void check_take(struct span in, size_t limit, int rc, struct span line,
                       size_t used)
{
    size_t look = in.len < limit ? in.len : limit;

    if (rc == 0) {
        if (in.len >= limit || memchr(in.p, '\n', in.len) != NULL)
            abort();
        return;
    }
    if (line.p != in.p || used == 0 || used > in.len || line.len > limit
        || memchr(line.p, '\n', line.len) != NULL)
        abort();
    if (rc == 2) {
        if (memchr(in.p, '\n', look) != NULL || used != limit
            || line.len != limit)
            abort();
        return;
    }
    if (rc != 1 || in.p[used - 1] != '\n' || used > limit
        || (line.len != used - 1 && line.len != used - 2)
        || (line.len == used - 2 && in.p[used - 2] != '\r'))
        abort();
}

/* check_refusal - REPLY starts with one of the replies in OK */
static void check_refusal(const struct buf *reply, const char *const *ok)
{
    for (; *ok != NULL; ok++)
        if (strncmp(buf_str(reply), *ok, strlen(*ok)) == 0)
            return;
    abort();
}

/* check_vrfy - the VRFY parser on ARGS */
static void check_vrfy(struct span args, const struct smtpd_cmd_opts *o)
{
    static const char *const bad[] = {
        "501 5.5.4 Syntax: VRFY address [SMTPUTF8]",
        "501 5.1.3 Bad recipient address syntax", NULL};
    struct buf addr = BUF_INIT;
    struct buf again = BUF_INIT;
    struct buf ext = BUF_INIT;
    struct buf wrapped = BUF_INIT;
    struct buf reply = BUF_INIT;

    if (smtpd_cmd_vrfy(args, o, &addr, &reply) != 0) {
        check_refusal(&reply, bad);
    } else {
        if (buf_len(&addr) == 0 || buf_len(&addr) > ADDR_MAX_LEN)
            abort();
        addr_externalize(span_make(buf_str(&addr), buf_len(&addr)), &ext);
        buf_set(&wrapped, "<");
        buf_catn(&wrapped, buf_str(&ext), buf_len(&ext));
        buf_catc(&wrapped, '>');
        if (smtpd_cmd_vrfy(span_make(buf_str(&wrapped), buf_len(&wrapped)), o,
                           &again, &reply)
                != 0
            || buf_len(&again) != buf_len(&addr)
            || memcmp(buf_str(&again), buf_str(&addr), buf_len(&addr)) != 0)
            abort();
    }
    buf_fini(&addr);
    buf_fini(&again);
    buf_fini(&ext);
    buf_fini(&wrapped);
    buf_fini(&reply);
}

/* one_line - LINE through the splitter and the parsers of its verb */
static void one_line(struct span line, const struct smtpd_cmd_opts *o)
{
    static const char *const split_bad[] = {
        "500 5.5.2 Error: bad syntax", "500 5.5.2 Error: bad UTF-8 syntax",
        "500 5.5.2 Error: command not recognized", NULL};
    static const char *const args_bad[] = {
        "501 Syntax: HELO hostname",
        "501 Syntax: EHLO hostname",
        "501 5.5.4 Syntax: RSET",
        "501 5.5.4 Syntax: DATA",
        "501 5.5.4 Syntax: VRFY address [SMTPUTF8]",
        "500 Syntax: ETRN domain",
        NULL};
    static const char *const bdat_bad[] = {
        "521 5.5.4 Syntax: BDAT count [LAST]", "551 5.7.1 Null BDAT request",
        NULL};
    const char *nul = memchr(line.p, 0, line.len);
    struct span text = line;
    struct smtpd_cmd cmd;
    struct buf reply = BUF_INIT;
    uint64_t n;
    bool last;

    if (nul != NULL)
        text.len = (size_t) (nul - line.p);
    if (smtpd_cmd_split(line, o, &cmd, &reply) != 0) {
        check_refusal(&reply, split_bad);
        buf_fini(&reply);
        return;
    }
    if (!inside(cmd.name, text) || !inside(cmd.args, text) || cmd.name.len == 0
        || cmd.args.p + cmd.args.len != text.p + text.len
        || cmd.args.p < cmd.name.p + cmd.name.len
        || (cmd.args.len > 0 && is_sep(cmd.args.p[0])))
        abort();
    for (size_t i = 0; i < cmd.name.len; i++)
        if (is_sep(cmd.name.p[i]))
            abort();
    if (cmd.verb == SMTPD_VERB_UNKNOWN
        || !span_caseeq(cmd.name, smtpd_verb_name(cmd.verb)))
        abort();
    if (smtpd_cmd_check_args(&cmd, &reply) != 0)
        check_refusal(&reply, args_bad);
    if (smtpd_cmd_bdat(cmd.args, &n, &last, &reply) == 0) {
        if (n > (uint64_t) INT64_MAX || (n == 0 && !last))
            abort();
    } else {
        check_refusal(&reply, bdat_bad);
    }
    check_vrfy(cmd.args, o);
    buf_fini(&reply);
}

/* run - DATA cut into lines of at most LIMIT bytes, each parsed */
static void run(struct span in, size_t limit)
{
    struct smtpd_cmd_opts o;
    bool skipping = false;

    smtpd_cmd_opts_default(&o);
    while (in.len > 0) {
        struct span line;
        size_t used = 0;
        int rc = smtpd_line_take(in, limit, &line, &used);

        check_take(in, limit, rc, line, used);
        if (rc == 0) {
            line = in; /* the last, unterminated line */
            used = in.len;
        }
        if (!skipping) {
            o.strict_rfc821 = false;
            o.smtputf8_enable = true;
            one_line(line, &o);
            o.strict_rfc821 = true;
            o.smtputf8_enable = (line.len & 1) != 0;
            one_line(line, &o);
        }
        /* After an overlong line the daemon drops input up to its LF. */
        skipping = rc == 2;
        in.p += used;
        in.len -= used;
    }
}

/* LLVMFuzzerTestOneInput - DATA as client input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct span in = span_make((const char *) data, len);

    fuzz_init();
    (void) fuzz_write; /* the parsers read no files */
    run(in, SMTPD_LINE_LIMIT);
    run(in, 64);
    return 0;
}
