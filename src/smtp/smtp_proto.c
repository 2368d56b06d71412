#include "smtp_proto.h"

#include <string.h>
#include <strings.h>

#include "../lib/mem.h"
#include "../lib/str.h"
#include "../global/addr.h"

/* smtp_reply_init - an empty reply */
void smtp_reply_init(struct smtp_reply *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->text, 0);
    r->lines = argv_new();
}

/* smtp_reply_fini - free what R owns */
void smtp_reply_fini(struct smtp_reply *r)
{
    buf_fini(&r->text);
    argv_free(r->lines);
    r->lines = NULL;
}

/* reply_reset - R empty again */
static void reply_reset(struct smtp_reply *r)
{
    buf_reset(&r->text);
    argv_truncate(r->lines, 0);
    r->code = 0;
    r->has_dsn = false;
    r->dsn[0] = 0;
}

/* take_dsn - an enhanced code of class CLASS at the start of TEXT into R */
static void take_dsn(struct smtp_reply *r, struct span text, int cls)
{
    size_t n = 0;
    struct buf why = BUF_INIT;

    while (n < text.len && text.p[n] != ' ')
        n++;
    if (n > 0 && n < DSN_STATUS_SIZE && text.p[0] == '0' + cls
        && dsn_status_check(span_make(text.p, n), &why) == 0) {
        memcpy(r->dsn, text.p, n);
        r->dsn[n] = 0;
        r->has_dsn = true;
    }
    buf_fini(&why);
}

/* smtp_reply_parse - one complete reply */
enum smtp_parse smtp_reply_parse(struct span in, size_t *used,
                                 struct smtp_reply *r, struct buf *why)
{
    size_t off = 0;
    size_t skipped = 0; /* garbage lines before the reply's first line */
    int nlines = 0;
    int first = 0; /* the first line's code */

    *used = 0;
    reply_reset(r);
    for (;;) {
        const char *lf = memchr(in.p + off, '\n', in.len - off);
        size_t len, next;
        int code;
        char sep;

        if (lf == NULL) {
            if (in.len - off > SMTP_REPLY_LINE_MAX) {
                buf_setf(why, "reply line longer than %d bytes",
                         SMTP_REPLY_LINE_MAX);
                return SMTP_PARSE_ERROR;
            }
            reply_reset(r);
            *used = skipped;
            return SMTP_PARSE_MORE;
        }
        len = (size_t) (lf - (in.p + off));
        next = off + len + 1;
        if (len > 0 && in.p[off + len - 1] == '\r')
            len--;
        if (len > SMTP_REPLY_LINE_MAX) {
            buf_setf(why, "reply line longer than %d bytes",
                     SMTP_REPLY_LINE_MAX);
            return SMTP_PARSE_ERROR;
        }
        if (++nlines > SMTP_REPLY_LINES_MAX) {
            buf_setf(why, "reply with more than %d lines",
                     SMTP_REPLY_LINES_MAX);
            return SMTP_PARSE_ERROR;
        }
        const char *p = in.p + off;
        sep = len > 3 ? p[3] : ' ';
        if (len < 3 || p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9'
            || p[2] < '0' || p[2] > '9' || (sep != ' ' && sep != '-')) {
            /* Not a reply line: skipped, as Postfix's client does. */
            off = next;
            if (first == 0)
                skipped = off;
            continue;
        }
        code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
        struct span text =
            len > 4 ? span_make(p + 4, len - 4) : span_make(p + len, 0);
        if (first == 0) {
            first = code;
            take_dsn(r, text, code / 100);
        } else {
            buf_catc(&r->text, ' ');
        }
        /* The last line's code is the reply's, as in Postfix. */
        r->code = code;
        for (size_t i = 0; i < len; i++)
            buf_catc(&r->text,
                     (unsigned char) p[i] >= 0x20 && (unsigned char) p[i] < 0x7f
                         ? p[i]
                         : '?');
        argv_addn(r->lines, text.p, text.len);
        off = next;
        if (sep == ' ') {
            if (r->has_dsn && r->dsn[0] != '0' + code / 100)
                r->has_dsn = false;
            if (!r->has_dsn)
                str_fmt(r->dsn, sizeof(r->dsn), "%d.0.0", code / 100);
            *used = off;
            return SMTP_PARSE_REPLY;
        }
    }
}

/* smtp_reply_dsn - the status of a reply */
const char *smtp_reply_dsn(const struct smtp_reply *r)
{
    return r->dsn;
}

/* word_eq - the first word of S (up to a space or '=') is LIT */
static bool word_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* smtp_ehlo_parse - the extensions we use */
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ext *ext)
{
    memset(ext, 0, sizeof(*ext));
    for (size_t i = 1; i < r->lines->argc; i++) {
        const char *l = r->lines->argv[i];
        size_t n = strcspn(l, " =");
        const char *arg = l[n] ? l + n + 1 : l + n;

        if (word_eq(l, n, "PIPELINING")) {
            ext->flags |= SMTP_EXT_PIPELINING;
        } else if (word_eq(l, n, "SIZE")) {
            long long v = 0;
            bool ok = true;

            ext->flags |= SMTP_EXT_SIZE;
            if (*arg == 0)
                continue;
            for (const char *q = arg; *q && *q != ' '; q++) {
                if (*q < '0' || *q > '9' || v > 100000000000000LL) {
                    ok = false;
                    break;
                }
                v = v * 10 + (*q - '0');
            }
            ext->size_max = ok ? v : 0;
        } else if (word_eq(l, n, "8BITMIME")) {
            ext->flags |= SMTP_EXT_8BITMIME;
        } else if (word_eq(l, n, "DSN")) {
            ext->flags |= SMTP_EXT_DSN;
        } else if (word_eq(l, n, "SMTPUTF8")) {
            ext->flags |= SMTP_EXT_SMTPUTF8;
        } else if (word_eq(l, n, "XFORWARD")) {
            ext->flags |= SMTP_EXT_XFORWARD;
            while (*arg) {
                size_t w;

                while (*arg == ' ')
                    arg++;
                w = strcspn(arg, " ");
                if (word_eq(arg, w, "NAME"))
                    ext->xforward |= SMTP_XF_NAME;
                else if (word_eq(arg, w, "ADDR"))
                    ext->xforward |= SMTP_XF_ADDR;
                else if (word_eq(arg, w, "PORT"))
                    ext->xforward |= SMTP_XF_PORT;
                else if (word_eq(arg, w, "PROTO"))
                    ext->xforward |= SMTP_XF_PROTO;
                else if (word_eq(arg, w, "HELO"))
                    ext->xforward |= SMTP_XF_HELO;
                else if (word_eq(arg, w, "IDENT"))
                    ext->xforward |= SMTP_XF_IDENT;
                else if (word_eq(arg, w, "SOURCE"))
                    ext->xforward |= SMTP_XF_SOURCE;
                arg += w;
            }
        }
    }
}

/* smtp_mail_cmd - MAIL FROM with the parameters the server takes */
void smtp_mail_cmd(const struct smtp_mail_in *in, const struct smtp_ext *ext,
                   struct buf *out)
{
    struct buf ext_addr = BUF_INIT;

    addr_externalize(span_of(in->sender), &ext_addr);
    buf_setf(out, "MAIL FROM:<%s>", buf_str(&ext_addr));
    buf_fini(&ext_addr);
    if (ext->flags & SMTP_EXT_SIZE)
        buf_catf(out, " SIZE=%lld", in->size);
    if (in->eightbit && (ext->flags & SMTP_EXT_8BITMIME))
        buf_cat(out, " BODY=8BITMIME");
    if (in->smtputf8 && (ext->flags & SMTP_EXT_SMTPUTF8))
        buf_cat(out, " SMTPUTF8");
    if (ext->flags & SMTP_EXT_DSN) {
        const char *ret = dsn_ret_name((enum dsn_ret) in->ret);

        /* Postfix 3.7's order (recorded): ENVID, then RET */
        if (in->envid && *in->envid) {
            buf_cat(out, " ENVID=");
            dsn_xtext_encode(in->envid, out);
        }
        if (ret)
            buf_catf(out, " RET=%s", ret);
    }
}

/* smtp_rcpt_cmd - RCPT TO with the DSN parameters */
void smtp_rcpt_cmd(const char *addr, int notify, const char *orcpt,
                   const struct smtp_ext *ext, struct buf *out)
{
    struct buf ext_addr = BUF_INIT;

    addr_externalize(span_of(addr), &ext_addr);
    buf_setf(out, "RCPT TO:<%s>", buf_str(&ext_addr));
    buf_fini(&ext_addr);
    if (!(ext->flags & SMTP_EXT_DSN))
        return;
    /* Postfix 3.7's order (recorded): ORCPT, then NOTIFY */
    if (orcpt && *orcpt) {
        const char *semi = strchr(orcpt, ';');

        if (semi && semi > orcpt && semi[1]) {
            buf_cat(out, " ORCPT=");
            buf_catn(out, orcpt, (size_t) (semi - orcpt));
            buf_catc(out, ';');
            dsn_xtext_encode(semi + 1, out);
        }
    }
    if (notify) {
        buf_cat(out, " NOTIFY=");
        dsn_notify_format(notify, out);
    }
}

/* smtp_size_refused - larger than the server's announced limit */
bool smtp_size_refused(const struct smtp_ext *ext, long long size)
{
    return (ext->flags & SMTP_EXT_SIZE) && ext->size_max > 0
           && size > ext->size_max;
}

/* smtp_data_piece - one piece of a content line on the wire */
void smtp_data_piece(struct span piece, bool more, size_t limit, size_t *col,
                     struct buf *out)
{
    size_t i = 0;

    while (i < piece.len) {
        size_t n;

        if (limit && *col >= limit) {
            /* Postfix breaks an over-long line with CRLF SPACE. */
            buf_cat(out, "\r\n ");
            *col = 1;
        }
        if (*col == 0 && piece.p[i] == '.') {
            buf_catc(out, '.');
            (*col)++;
        }
        /* Copy the run up to the next break (or the end) at once. */
        n = piece.len - i;
        if (limit) {
            /* At the limit already (only after a doubled dot with a limit
             * below 2): still one byte per output line. */
            size_t room = *col < limit ? limit - *col : 1;

            if (n > room)
                n = room;
        }
        buf_catn(out, piece.p + i, n);
        *col += n;
        i += n;
    }
    if (!more) {
        buf_cat(out, "\r\n");
        *col = 0;
    }
}

/* smtp_data_end - the end of the data */
void smtp_data_end(struct buf *out)
{
    buf_cat(out, ".\r\n");
}
