/* bounce_report - RFC 3464 delivery status notifications (see .h). */
#include "bounce_report.h"

#include "lib/msg.h"

/* Text is wrapped at 76 columns, continuations indented by 4 more (so a
 * continuation line may have 80): what Postfix 3.7's reports show. */
#define WRAP_WIDTH  76
#define WRAP_INDENT 4

/* The emitter: OUT with its context and the first error. */
struct emit {
    bounce_report_out_fn out;
    void *ctx;
    struct buf *why;
    int failed;
    struct buf line;
};

/* put - emit one line */
static void put(struct emit *e, const char *s, size_t len)
{
    if (e->failed == 0 && e->out(e->ctx, s, len, e->why) < 0)
        e->failed = -1;
}

/* putf - emit one formatted line */
static ULAK_PRINTFLIKE(2, 3) void putf(struct emit *e, const char *fmt, ...)
{
    va_list ap;

    buf_reset(&e->line);
    va_start(ap, fmt);
    buf_vcatf(&e->line, fmt, ap);
    va_end(ap);
    put(e, e->line.data ? e->line.data : "", e->line.len);
}

/* clean - S with control characters made harmless, in OUT (reset) */
static const char *clean(const char *s, struct buf *out)
{
    buf_reset(out);
    for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p;
         p++) {
        if (*p == '\t' || *p == '\r' || *p == '\n')
            buf_catc(out, ' ');
        else if (*p < 0x20 || *p == 0x7f)
            buf_catc(out, '?');
        else
            buf_catc(out, *p);
    }
    return buf_str(out);
}

/* wrap - emit TEXT in lines of at most WRAP_WIDTH, breaking at spaces */
static void wrap(struct emit *e, const char *text)
{
    const char *p = text;
    size_t indent = 0;

    while (*p) {
        size_t room = WRAP_WIDTH;
        size_t len = strlen(p);
        size_t cut;

        if (len <= room) {
            cut = len;
        } else {
            /* The last space at or before the width, else the first after. */
            cut = room;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0) {
                const char *sp = strchr(p + room, ' ');

                cut = sp ? (size_t) (sp - p) : len;
            }
        }
        buf_reset(&e->line);
        for (size_t i = 0; i < indent; i++)
            buf_catc(&e->line, ' ');
        buf_catn(&e->line, p, cut);
        put(e, e->line.data, e->line.len);
        p += cut;
        while (*p == ' ')
            p++;
        indent = WRAP_INDENT;
    }
}

/* bounce_report_date - Postfix's date format, local time */
void bounce_report_date(time_t t, struct buf *out)
{
    struct tm tm;
    char s[80];

    localtime_r(&t, &tm);
    if (strftime(s, sizeof(s), "%a, %e %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
        msg_panic("bounce_report_date: strftime");
    buf_cat(out, s);
}

/* The template texts of Postfix 3.7 (postconf -b), $myhostname expanded
 * by the writer. */
static const char *const failure_text[] = {
    "I'm sorry to have to inform you that your message could not",
    "be delivered to one or more recipients. It's attached below.",
    "",
    "For further assistance, please send mail to postmaster.",
    "",
    "If you do so, please include this problem report. You can",
    "delete your own text from the attached returned message.",
    "",
    "                   The mail system",
};
static const char *const delay_text_head[] = {
    "####################################################################",
    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
    "####################################################################",
    "",
};
static const char *const delay_text_tail[] = {
    "",
    "For further assistance, please send mail to postmaster.",
    "",
    "If you do so, please include this problem report. You can",
    "delete your own text from the attached returned message.",
    "",
    "                   The mail system",
};
static const char *const success_text[] = {
    "Your message was successfully delivered to the destination(s)",
    "listed below. If the message was delivered to mailbox you will",
    "receive no further notifications. Otherwise you may still receive",
    "notifications of mail delivery errors from other systems.",
    "",
    "                   The mail system",
};

static const char *const verify_text[] = {
    "Enclosed is the mail delivery report that you requested.",
    "",
    "                   The mail system",
};

/* put_lines - emit N fixed lines */
static void put_lines(struct emit *e, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(e, lines[i], strlen(lines[i]));
}

/* template_text - the human text of the kind of report */
static void template_text(struct emit *e, const struct bounce_report *r,
                          const char *host)
{
    putf(e, "This is the mail system at host %s.", host);
    put(e, "", 0);
    switch (r->kind) {
        case BOUNCE_REPORT_FAILURE:
            put_lines(e, failure_text, NELEM(failure_text));
            break;
        case BOUNCE_REPORT_DELAY:
            put_lines(e, delay_text_head, NELEM(delay_text_head));
            putf(e,
                 "Your message could not be delivered for more than %ld "
                 "hour(s).",
                 r->delay_warning_time / 3600);
            putf(e, "It will be retried until it is %ld day(s) old.",
                 r->maximal_queue_lifetime / 86400);
            put_lines(e, delay_text_tail, NELEM(delay_text_tail));
            break;
        case BOUNCE_REPORT_SUCCESS:
            put_lines(e, success_text, NELEM(success_text));
            break;
        case BOUNCE_REPORT_VERIFY:
            put_lines(e, verify_text, NELEM(verify_text));
            break;
    }
}

/* The original content, read before anything is written. */
struct original {
    struct buf headers; /* lines, each followed by \n */
    struct buf body;
    bool have;     /* readable */
    bool complete; /* headers and body both within the limit */
};

/* read_original - read the headers, and the body while within LIMIT */
static void read_original(const struct bounce_report *r, bool want_body,
                          struct original *o)
{
    struct buf line = BUF_INIT;
    struct buf why = BUF_INIT;
    bool in_headers = true;
    int got;

    buf_init(&o->headers, 0);
    buf_init(&o->body, 0);
    o->have = false;
    o->complete = false;
    if (r->read_content == NULL || r->bounce_size_limit == 0)
        return;
    while ((got = r->read_content(r->read_ctx, &line, &why)) > 0) {
        struct buf *to = in_headers ? &o->headers : &o->body;

        if (in_headers && buf_len(&line) == 0) {
            in_headers = false;
            if (!want_body)
                break;
            continue;
        }
        if (!in_headers
            && buf_len(&o->headers) + buf_len(&o->body) + buf_len(&line) + 1
                   > r->bounce_size_limit) {
            /* Too large for the whole message: headers only. */
            buf_reset(&o->body);
            want_body = false;
            break;
        }
        buf_catspan(to, span_make(line.data ? line.data : "", line.len));
        buf_catc(to, '\n');
    }
    if (got < 0) {
        msg_warn("%s: cannot read the original message for the delivery "
                 "status notification: %s",
                 r->queue_id, buf_str(&why));
    } else {
        o->have = true;
        /* A message that fits entirely, even when it has no body. */
        o->complete =
            want_body
            && buf_len(&o->headers) + buf_len(&o->body) <= r->bounce_size_limit;
    }
    buf_fini(&line);
    buf_fini(&why);
}

/* put_text - emit the \n-separated lines of T */
static void put_text(struct emit *e, const struct buf *t)
{
    const char *p = buf_str(t);
    const char *end = p + buf_len(t);

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);

        put(e, p, n);
        p += n + 1;
    }
}

/* original_recipient - the Original-Recipient value of R, or false */
static bool original_recipient(const struct bounce_report_rcpt *r,
                               struct buf *out)
{
    struct buf type = BUF_INIT;
    struct buf addr = BUF_INIT;
    struct buf why = BUF_INIT;
    struct buf tmp = BUF_INIT;
    bool ok = false;

    buf_reset(out);
    if (r->orcpt
        && dsn_orcpt_parse(span_of(r->orcpt), &type, &addr, &why) == 0) {
        buf_catf(out, "%s;%s", buf_str(&type), clean(buf_str(&addr), &tmp));
        ok = true;
    } else if (r->orig_rcpt && *r->orig_rcpt) {
        buf_catf(out, "rfc822;%s", clean(r->orig_rcpt, &tmp));
        ok = true;
    }
    buf_fini(&type);
    buf_fini(&addr);
    buf_fini(&why);
    buf_fini(&tmp);
    return ok;
}

/* bounce_report_write - produce the report line by line */
int bounce_report_write(const struct bounce_report *r, bounce_report_out_fn out,
                        void *ctx, struct buf *why)
{
    struct emit e = {.out = out, .ctx = ctx, .why = why, .failed = 0};
    struct buf host = BUF_INIT;
    struct buf qid = BUF_INIT;
    struct buf sender = BUF_INIT;
    struct buf t1 = BUF_INIT;
    struct buf t2 = BUF_INIT;
    struct buf boundary = BUF_INIT;
    struct original orig;
    const char *subject;
    bool want_full;
    bool headers_only;

    for (size_t i = 0; i < r->nrcpts; i++) {
        if (dsn_status_check(span_of(r->rcpts[i].dsn.status), why) < 0)
            return -1;
    }
    buf_init(&e.line, 0);
    clean(r->myhostname, &host);
    clean(r->queue_id, &qid);
    clean(r->sender, &sender);
    buf_setf(&boundary, "%s.%lld/%s", buf_str(&qid), (long long) r->now,
             buf_str(&host));

    switch (r->kind) {
        case BOUNCE_REPORT_FAILURE:
            subject = r->postmaster_copy ? "Postmaster Copy: Undelivered Mail"
                                         : "Undelivered Mail Returned to "
                                           "Sender";
            want_full = r->ret != DSN_RET_HDRS;
            break;
        case BOUNCE_REPORT_DELAY:
            subject = r->postmaster_copy ? "Postmaster Warning: Delayed Mail"
                                         : "Delayed Mail (still being "
                                           "retried)";
            want_full = false;
            break;
        case BOUNCE_REPORT_SUCCESS:
            subject = "Successful Mail Delivery Report";
            want_full = false;
            break;
        case BOUNCE_REPORT_VERIFY:
            subject = "Mail Delivery Status Report";
            want_full = false;
            break;
        default:
            msg_panic("bounce_report_write: bad kind %d", (int) r->kind);
    }
    /* The postmaster gets the headers, not the sender's text. */
    if (r->postmaster_copy)
        want_full = false;
    read_original(r, want_full, &orig);
    headers_only = !orig.complete;

    /* The message header. */
    buf_reset(&t1);
    bounce_report_date(r->now, &t1);
    putf(&e, "Date: %s", buf_str(&t1));
    putf(&e, "From: Mail Delivery System <MAILER-DAEMON@%s>", buf_str(&host));
    putf(&e, "Subject: %s", subject);
    putf(&e, "To: %s", r->to ? clean(r->to, &t1) : buf_str(&sender));
    putf(&e, "Auto-Submitted: auto-replied");
    putf(&e, "MIME-Version: 1.0");
    putf(&e, "Content-Type: multipart/report; report-type=delivery-status;");
    putf(&e, "\tboundary=\"%s\"", buf_str(&boundary));
    putf(&e, "Content-Transfer-Encoding: 8bit");
    put(&e, "", 0);
    putf(&e, "This is a MIME-encapsulated message.");
    put(&e, "", 0);

    /* Part 1: the human text. */
    putf(&e, "--%s", buf_str(&boundary));
    putf(&e, "Content-Description: Notification");
    putf(&e, "Content-Type: text/plain; charset=%s",
         r->charset ? r->charset : "utf-8");
    putf(&e, "Content-Transfer-Encoding: 8bit");
    put(&e, "", 0);
    if (!r->postmaster_copy) {
        template_text(&e, r, buf_str(&host));
        put(&e, "", 0);
    }
    for (size_t i = 0; i < r->nrcpts; i++) {
        const struct bounce_report_rcpt *rc = r->rcpts + i;

        buf_setf(&t1, "<%s>", clean(rc->address, &t2));
        if (rc->orig_rcpt && *rc->orig_rcpt
            && strcmp(rc->orig_rcpt, rc->address) != 0)
            buf_catf(&t1, " (expanded from <%s>)", clean(rc->orig_rcpt, &t2));
        buf_catf(&t1, ": %s", clean(rc->dsn.reason, &t2));
        wrap(&e, buf_str(&t1));
        put(&e, "", 0);
    }

    /* Part 2: the delivery status. */
    putf(&e, "--%s", buf_str(&boundary));
    putf(&e, "Content-Description: Delivery report");
    putf(&e, "Content-Type: message/delivery-status");
    put(&e, "", 0);
    putf(&e, "Reporting-MTA: dns; %s", buf_str(&host));
    if (r->envid && *r->envid) {
        struct buf dec = BUF_INIT;

        if (dsn_xtext_decode(span_of(r->envid), &dec, &t2) == 0)
            putf(&e, "Original-Envelope-Id: %s", clean(buf_str(&dec), &t1));
        else
            putf(&e, "Original-Envelope-Id: %s", clean(r->envid, &t1));
        buf_fini(&dec);
    }
    putf(&e, "X-Postfix-Queue-ID: %s", buf_str(&qid));
    putf(&e, "X-Postfix-Sender: rfc822; %s", buf_str(&sender));
    buf_reset(&t1);
    bounce_report_date(r->arrival, &t1);
    putf(&e, "Arrival-Date: %s", buf_str(&t1));
    put(&e, "", 0);
    for (size_t i = 0; i < r->nrcpts; i++) {
        const struct bounce_report_rcpt *rc = r->rcpts + i;

        putf(&e, "Final-Recipient: rfc822; %s", clean(rc->address, &t1));
        if (original_recipient(rc, &t2))
            putf(&e, "Original-Recipient: %s", buf_str(&t2));
        putf(&e, "Action: %s", dsn_action_name(rc->dsn.action));
        putf(&e, "Status: %s", rc->dsn.status);
        if (rc->dsn.remote_mta && *rc->dsn.remote_mta)
            putf(&e, "Remote-MTA: %s", clean(rc->dsn.remote_mta, &t1));
        if (rc->dsn.diag_code && *rc->dsn.diag_code)
            buf_setf(&t2, "Diagnostic-Code: %s", clean(rc->dsn.diag_code, &t1));
        else
            buf_setf(&t2, "Diagnostic-Code: X-Postfix; %s",
                     clean(rc->dsn.reason, &t1));
        wrap(&e, buf_str(&t2));
        if (rc->dsn.action == DSN_ACTION_DELAYED) {
            buf_reset(&t1);
            bounce_report_date(r->arrival + r->maximal_queue_lifetime, &t1);
            putf(&e, "Will-Retry-Until: %s", buf_str(&t1));
        }
        put(&e, "", 0);
    }

    /* Part 3: the original, or its headers. */
    if (orig.have) {
        const char *what;

        switch (r->kind) {
            case BOUNCE_REPORT_SUCCESS:
            case BOUNCE_REPORT_VERIFY:
                what = "Message Headers";
                break;
            case BOUNCE_REPORT_FAILURE:
            case BOUNCE_REPORT_DELAY:
            default:
                what = headers_only ? "Undelivered Message Headers"
                                    : "Undelivered Message";
                break;
        }
        putf(&e, "--%s", buf_str(&boundary));
        putf(&e, "Content-Description: %s", what);
        putf(&e, "Content-Type: %s",
             headers_only ? "text/rfc822-headers" : "message/rfc822");
        putf(&e, "Content-Transfer-Encoding: 8bit");
        put(&e, "", 0);
        putf(&e, "Return-Path: <%s>", buf_str(&sender));
        put_text(&e, &orig.headers);
        if (!headers_only) {
            put(&e, "", 0);
            put_text(&e, &orig.body);
        }
        put(&e, "", 0);
    }
    buf_fini(&orig.headers);
    buf_fini(&orig.body);
    putf(&e, "--%s--", buf_str(&boundary));

    buf_fini(&e.line);
    buf_fini(&host);
    buf_fini(&qid);
    buf_fini(&sender);
    buf_fini(&t1);
    buf_fini(&t2);
    buf_fini(&boundary);
    return e.failed;
}

/* to_buf - the line callback of bounce_report_to_buf */
static int to_buf(void *ctx, const char *line, size_t len, struct buf *why)
{
    (void) why;
    buf_catn(ctx, line, len);
    buf_catc(ctx, '\n');
    return 0;
}

/* bounce_report_to_buf - the report appended to OUT */
int bounce_report_to_buf(const struct bounce_report *r, struct buf *out,
                         struct buf *why)
{
    return bounce_report_write(r, to_buf, out, why);
}
