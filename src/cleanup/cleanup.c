/*
 * cleanup - one message from envelope and content lines into a queue file
 * in incoming/ (see cleanup.h).
 */
#include <strings.h>
#include <time.h>

#include "cleanup_int.h"

#include "../lib/htable.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "../global/addr.h"
#include "../global/conf.h"
#include "../global/queue_file.h"
#include "../global/trigger.h"

/* An envelope recipient as given. */
struct rcpt_in {
    char *addr;
    char *orig; /* the original recipient to keep; NULL: ADDR */
    char *orcpt;
    int notify;
};

enum cleanup_state {
    STATE_ENV,    /* envelope */
    STATE_HEADER, /* content: the header section */
    STATE_BODY,   /* content: the body */
};

/* What the header and body checks decided. */
#define ACT_HOLD    (1 << 0)
#define ACT_DISCARD (1 << 1)
#define ACT_REJECT  (1 << 2)

struct cleanup {
    struct cleanup_conf *cf;
    struct queue_writer *w;
    char *id;
    enum cleanup_state state;
    struct timeval arrival;
    bool have_time;
    char *sender_in; /* as given, or NULL */
    char *sender;    /* rewritten */
    char *fullname;
    char *uid;
    bool remote; /* rewrite_context=remote */
    struct argv *attrs;
    char *envid;
    int ret;
    struct rcpt_in *rcpts;
    size_t nrcpt, rcpt_size;
    struct buf hdr; /* the logical header being collected */
    bool have_hdr;
    bool hdr_truncated;
    bool seen_msgid, seen_date, seen_from;
    bool seen_resent; /* any Resent- header: the Resent- ones are added */
    bool seen_rmsgid, seen_rdate, seen_rfrom;
    long hops;
    long long size;
    long long body_checked;
    int actions;
    char *redirect;    /* REDIRECT target */
    struct argv *bcc;  /* BCC action targets */
    char *filter;      /* FILTER target */
    struct buf reason; /* REJECT text or a TEMPFAIL reason */
    bool tempfail;
    bool too_big;
};

/* log_ctx - "from CLIENT; from=<S> to=<R>[ proto=P helo=<H>]" as Postfix's
 * cleanup writes it after a check action */
static void log_ctx(const struct cleanup *c, struct buf *out)
{
    const char *name = NULL, *addr = NULL, *proto = NULL, *helo = NULL;

    for (size_t i = 0; i < c->attrs->argc; i++) {
        const char *a = c->attrs->argv[i];

        if (str_has_prefix(a, "log_client_name="))
            name = strchr(a, '=') + 1;
        else if (str_has_prefix(a, "log_client_address="))
            addr = strchr(a, '=') + 1;
        else if (str_has_prefix(a, "log_protocol="))
            proto = strchr(a, '=') + 1;
        else if (str_has_prefix(a, "log_helo_name="))
            helo = strchr(a, '=') + 1;
    }
    buf_reset(out);
    if (name && addr)
        buf_catf(out, "from %s[%s]", name, addr);
    else
        buf_cat(out, "from local");
    buf_catf(out, "; from=<%s>", c->sender ? c->sender : "");
    if (c->nrcpt > 0)
        buf_catf(out, " to=<%s>", c->rcpts[0].addr);
    if (proto && name)
        buf_catf(out, " proto=%s", proto);
    if (helo && name)
        buf_catf(out, " helo=<%s>", helo);
}

/* cleanup_open - a new message */
struct cleanup *cleanup_open(struct cleanup_conf *cf, struct buf *why)
{
    struct queue_writer *w = queue_writer_open(&cf->qd, QUEUE_INCOMING, why);
    struct cleanup *c;

    if (w == NULL)
        return NULL;
    c = mem_zalloc(sizeof(*c));
    c->cf = cf;
    c->w = w;
    c->id = mem_strdup(queue_writer_id(w));
    /* content_filter: every message through the filter (a FILTER action
     * replaces it); "-o content_filter=" turns it off for a service. */
    if (cf->content_filter[0])
        c->filter = mem_strdup(cf->content_filter);
    c->state = STATE_ENV;
    c->attrs = argv_new();
    c->bcc = argv_new();
    buf_init(&c->hdr, 0);
    buf_init(&c->reason, 0);
    return c;
}

/* cleanup_id - the queue ID */
const char *cleanup_id(const struct cleanup *c)
{
    return c->id;
}

/* cleanup_time - the arrival time */
void cleanup_time(struct cleanup *c, const struct timeval *arrival)
{
    c->arrival = *arrival;
    c->have_time = true;
}

/* cleanup_sender - the envelope sender as given */
void cleanup_sender(struct cleanup *c, const char *sender)
{
    mem_free(c->sender_in);
    c->sender_in = mem_strdup(sender);
}

/* cleanup_attr - an attribute, kept in the file */
void cleanup_attr(struct cleanup *c, const char *name, const char *value)
{
    struct buf a = BUF_INIT;
    struct buf clean = BUF_INIT;

    /* A bad name would fail the whole queue file: drop it.  A line break
     * in a value (a sender_fullname from outside) becomes a space. */
    if (name[0] == 0
        || name[strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_")] != 0) {
        msg_warn("%s: bad attribute name \"%.100s\" -- ignored", c->id, name);
        return;
    }
    for (const char *p = value; *p; p++)
        buf_catc(&clean, *p == '\r' || *p == '\n' ? ' ' : *p);
    value = buf_str(&clean);

    if (strcmp(name, "sender_fullname") == 0) {
        mem_free(c->fullname);
        c->fullname = mem_strdup(value);
    } else if (strcmp(name, "uid") == 0) {
        mem_free(c->uid);
        c->uid = mem_strdup(value);
    } else if (strcmp(name, "rewrite_context") == 0) {
        c->remote = strcmp(value, "remote") == 0;
    }
    /* Each name at most once: a later value replaces an earlier one. */
    for (size_t i = 0; i < c->attrs->argc; i++) {
        const char *e = c->attrs->argv[i];
        size_t n = strlen(name);

        if (strncmp(e, name, n) == 0 && e[n] == '=') {
            buf_setf(&a, "%s=%s", name, value);
            mem_free(c->attrs->argv[i]);
            c->attrs->argv[i] = buf_steal(&a);
            buf_fini(&a);
            buf_fini(&clean);
            return;
        }
    }
    buf_setf(&a, "%s=%s", name, value);
    argv_add(c->attrs, buf_str(&a));
    buf_fini(&a);
    buf_fini(&clean);
}

/* cleanup_envid - DSN ENVID */
void cleanup_envid(struct cleanup *c, const char *envid)
{
    mem_free(c->envid);
    c->envid = NULL;
    /* An ENVID the queue cannot hold is dropped (DSN is best effort). */
    if (envid[0] && strlen(envid) <= 100 && !strpbrk(envid, "\r\n"))
        c->envid = mem_strdup(envid);
}

/* cleanup_ret - DSN RET */
void cleanup_ret(struct cleanup *c, int ret)
{
    c->ret = ret;
}

/* cleanup_conf_internal - no header or body checks */
void cleanup_conf_internal(struct cleanup_conf *cf)
{
    cf->override |= CLEANUP_NO_HDR_BODY;
}

/* cleanup_rcpt_orig - an envelope recipient with its original recipient */
void cleanup_rcpt_orig(struct cleanup *c, const char *addr, const char *orig,
                       const char *orcpt, int notify)
{
    if (c->nrcpt == c->rcpt_size) {
        c->rcpt_size = c->rcpt_size ? 2 * c->rcpt_size : 8;
        c->rcpts = mem_realloc(c->rcpts, c->rcpt_size * sizeof(*c->rcpts));
    }
    c->rcpts[c->nrcpt].addr = mem_strdup(addr);
    c->rcpts[c->nrcpt].orig = orig ? mem_strdup(orig) : NULL;
    c->rcpts[c->nrcpt].orcpt = orcpt ? mem_strdup(orcpt) : NULL;
    c->rcpts[c->nrcpt].notify = notify;
    c->nrcpt++;
}

/* cleanup_rcpt - an envelope recipient as given */
void cleanup_rcpt(struct cleanup *c, const char *addr, const char *orcpt,
                  int notify)
{
    cleanup_rcpt_orig(c, addr, NULL, orcpt, notify);
}

/* cleanup_smtpd_action - an action from smtpd's restrictions */
void cleanup_smtpd_action(struct cleanup *c, const char *action,
                          const char *arg)
{
    if (strcmp(action, "HOLD") == 0) {
        c->actions |= ACT_HOLD;
    } else if (strcmp(action, "DISCARD") == 0) {
        c->actions |= ACT_DISCARD;
    } else if (strcmp(action, "FILTER") == 0) {
        mem_free(c->filter);
        c->filter = mem_strdup(arg);
    } else if (strcmp(action, "REDIRECT") == 0) {
        mem_free(c->redirect);
        c->redirect = mem_strdup(arg);
    } else if (strcmp(action, "BCC") == 0) {
        argv_add(c->bcc, arg);
    } else {
        msg_panic("cleanup_smtpd_action: unknown action %s", action);
    }
}

/* fail - a temporary failure: the message is not accepted */
static void fail(struct cleanup *c, const char *reason)
{
    if (!c->tempfail && !(c->actions & ACT_REJECT)) {
        c->tempfail = true;
        buf_set(&c->reason, reason);
    }
}

/* reject - a permanent failure: the message is not accepted */
static void reject(struct cleanup *c, const char *reason)
{
    if (!(c->actions & ACT_REJECT)) {
        c->actions |= ACT_REJECT;
        c->tempfail = false;
        buf_set(&c->reason, reason);
    }
}

/* format_date - Postfix's header date: "Mon, 30 Nov 2026 19:27:10 +0000
 * (UTC)" in local time */
void cleanup_date(time_t when, struct buf *out)
{
    struct tm tm;
    char text[80];

    buf_reset(out);
    if (localtime_r(&when, &tm) == NULL
        || strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm)
               == 0)
        buf_catf(out, "%lld", (long long) when);
    else
        buf_cat(out, text);
}

/* begin_content - the envelope records, then the local Received: header */
static void begin_content(struct cleanup *c)
{
    struct buf text = BUF_INIT;
    struct buf why = BUF_INIT;

    if (!c->have_time)
        c->arrival = queue_writer_created(c->w);
    (void) queue_writer_time(c->w, &c->arrival);
    /* The time of the delay notice (qmgr sends it once, then clears it). */
    if (conf_time("delay_warning_time") > 0)
        (void) queue_writer_warn(c->w, (long long) c->arrival.tv_sec
                                           + conf_time("delay_warning_time"));
    if (c->sender_in == NULL)
        c->sender_in = mem_strdup("");
    if (cleanup_rewrite_env(c->cf, CLEANUP_CLASS_ENV_SENDER, c->sender_in,
                            &text, &why)
        < 0) {
        fail(c, buf_str(&why));
        buf_set(&text, c->sender_in);
    }
    c->sender = buf_steal(&text);
    buf_init(&text, 0);
    /* What a queue record cannot hold is a bad address, not a reason to
     * try again forever. */
    if (strlen(c->sender) > ADDR_MAX_LEN || strpbrk(c->sender, "\r\n")) {
        reject(c, "5.1.7 Bad sender address syntax");
        c->sender[0] = 0;
    }
    (void) queue_writer_sender(c->w, c->sender);
    if (c->envid)
        (void) queue_writer_envid(c->w, c->envid);
    if (c->ret)
        (void) queue_writer_ret(c->w, c->ret);
    for (size_t i = 0; i < c->attrs->argc; i++) {
        char *eq = strchr(c->attrs->argv[i], '=');

        *eq = 0;
        (void) queue_writer_attr(c->w, c->attrs->argv[i], eq + 1);
        *eq = '=';
    }
    (void) queue_writer_content_begin(c->w);
    if (c->uid != NULL && !c->remote) {
        struct buf date = BUF_INIT;

        cleanup_date(c->arrival.tv_sec, &date);
        buf_setf(&text, "Received: by %s (%s, from userid %s)",
                 c->cf->myhostname, c->cf->mail_name, c->uid);
        (void) queue_writer_line(c->w, buf_str(&text), buf_len(&text));
        buf_setf(&text, "\tid %s; %s", c->id, buf_str(&date));
        (void) queue_writer_line(c->w, buf_str(&text), buf_len(&text));
        c->size += 0;
        buf_fini(&date);
    }
    c->state = STATE_HEADER;
    buf_fini(&text);
    buf_fini(&why);
}

/* write_text - TEXT (lines separated by LF) as content lines */
static void write_text(struct cleanup *c, const char *p, size_t len)
{
    const char *end = p + len;

    for (;;) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);

        (void) queue_writer_line(c->w, p, n);
        if (nl == NULL)
            break;
        p = nl + 1;
    }
}

/* header_name_len - the length of the field name of header line P, or 0
 * when P does not start a header */
static size_t header_name_len(const char *p, size_t len)
{
    size_t i = 0;
    size_t j;

    while (i < len && p[i] > ' ' && p[i] < 127 && p[i] != ':')
        i++;
    if (i == 0)
        return 0;
    for (j = i; j < len && (p[j] == ' ' || p[j] == '\t'); j++)
        ;
    return j < len && p[j] == ':' ? i : 0;
}

/*
 * Check actions (header_checks(5)).
 */

/* act_log - "QUEUEID: ACTION: header|body TEXT from ...[: MSG]" */
static void act_log(const struct cleanup *c, const char *action,
                    const char *where, const char *text, const char *msg)
{
    struct buf ctx = BUF_INIT;

    log_ctx(c, &ctx);
    if (msg && *msg)
        msg_info("%s: %s: %s %.200s %s: %s", c->id, action, where, text,
                 buf_str(&ctx), msg);
    else
        msg_info("%s: %s: %s %.200s %s", c->id, action, where, text,
                 buf_str(&ctx));
    buf_fini(&ctx);
}

enum act_result {
    ACT_KEEP, /* keep the line (possibly replaced) */
    ACT_DROP, /* drop the line */
};

/* apply_action - the result VALUE of a check on TEXT (WHERE: "header" or
 * "body"); LINE may be replaced (REPLACE), PRE gets a PREPEND text */
static enum act_result apply_action(struct cleanup *c, const char *where,
                                    const char *value, struct buf *line,
                                    struct buf *pre)
{
    const char *sp = value + strcspn(value, " \t");
    size_t n = (size_t) (sp - value);
    const char *arg = sp + strspn(sp, " \t");
    struct buf text = BUF_INIT;
    enum act_result r = ACT_KEEP;

    /* The text as logged: the line with its newlines as they are. */
    buf_set(&text, buf_str(line));
#define IS(word) (n == strlen(word) && strncasecmp(value, word, n) == 0)
    if (IS("REJECT")) {
        if (!(c->actions & ACT_REJECT)) {
            struct buf msg = BUF_INIT;

            if (*arg == 0)
                buf_set(&msg, "5.7.1 message content rejected");
            else if (arg[0] >= '4' && arg[0] <= '5' && arg[1] == '.')
                buf_set(&msg, arg);
            else
                buf_setf(&msg, "5.7.1 %s", arg);
            act_log(c, "reject", where, buf_str(&text), buf_str(&msg));
            c->actions |= ACT_REJECT;
            c->tempfail = false;
            buf_set(&c->reason, buf_str(&msg));
            buf_fini(&msg);
        }
    } else if (IS("WARN")) {
        act_log(c, "warning", where, buf_str(&text), arg);
    } else if (IS("IGNORE")) {
        r = ACT_DROP;
    } else if (IS("DISCARD")) {
        act_log(c, "discard", where, buf_str(&text), arg);
        c->actions |= ACT_DISCARD;
    } else if (IS("HOLD")) {
        act_log(c, "hold", where, buf_str(&text), arg);
        c->actions |= ACT_HOLD;
    } else if (IS("REDIRECT") && *arg) {
        act_log(c, "redirect", where, buf_str(&text), arg);
        mem_free(c->redirect);
        c->redirect = mem_strdup(arg);
    } else if (IS("BCC") && *arg) {
        act_log(c, "bcc", where, buf_str(&text), arg);
        argv_add(c->bcc, arg);
    } else if (IS("FILTER") && strchr(arg, ':')) {
        act_log(c, "filter", where, buf_str(&text), arg);
        mem_free(c->filter);
        c->filter = mem_strdup(arg);
    } else if (IS("PREPEND") && *arg) {
        act_log(c, "prepend", where, buf_str(&text), arg);
        buf_set(pre, arg);
    } else if (IS("REPLACE") && *arg) {
        act_log(c, "replace", where, buf_str(&text), arg);
        buf_set(line, arg);
    } else if (IS("DUNNO") || IS("OK")) {
        /* nothing */
    } else {
        msg_warn("unknown command in %s_checks: \"%s\" -- ignored", where,
                 value);
    }
#undef IS
    buf_fini(&text);
    return r;
}

/* run_checks - TABLE on LINE; ACT_DROP when the line goes */
static enum act_result run_checks(struct cleanup *c, struct maps *table,
                                  const char *where, struct buf *line,
                                  struct buf *pre)
{
    struct buf value = BUF_INIT;
    enum act_result r = ACT_KEEP;

    buf_reset(pre);
    if (table == NULL || (c->cf->override & CLEANUP_NO_HDR_BODY))
        return ACT_KEEP;
    switch (maps_find(table, buf_str(line), MAPS_FIND_ALL, &value)) {
        case LK_FOUND:
            r = apply_action(c, where, buf_str(&value), line, pre);
            break;
        case LK_NOTFOUND:
            break;
        case LK_TEMPFAIL:
            msg_warn("%s: %s_checks map lookup problem -- message not "
                     "accepted, try again later",
                     c->id, where);
            fail(c, "4.3.0 header_checks or body_checks lookup error");
            break;
    }
    buf_fini(&value);
    return r;
}

/*
 * Headers.
 */

/* The address headers that Postfix's cleanup rewrites, with their class. */
static const struct {
    const char *name;
    int cls;
} addr_headers[] = {
    {"from", CLEANUP_CLASS_HDR_SENDER},
    {"sender", CLEANUP_CLASS_HDR_SENDER},
    {"reply-to", CLEANUP_CLASS_HDR_SENDER},
    {"return-receipt-to", CLEANUP_CLASS_HDR_SENDER},
    {"errors-to", CLEANUP_CLASS_HDR_SENDER},
    {"resent-from", CLEANUP_CLASS_HDR_SENDER},
    {"resent-sender", CLEANUP_CLASS_HDR_SENDER},
    {"resent-reply-to", CLEANUP_CLASS_HDR_SENDER},
    {"to", CLEANUP_CLASS_HDR_RCPT},
    {"cc", CLEANUP_CLASS_HDR_RCPT},
    {"bcc", CLEANUP_CLASS_HDR_RCPT},
    {"apparently-to", CLEANUP_CLASS_HDR_RCPT},
    {"resent-to", CLEANUP_CLASS_HDR_RCPT},
    {"resent-cc", CLEANUP_CLASS_HDR_RCPT},
    {"resent-bcc", CLEANUP_CLASS_HDR_RCPT},
};

struct hdr_rewrite {
    struct cleanup *c;
    int cls;
};

/* rewrite_hdr_addr - one header address: standard form in the message's
 * context, then (local context, as Postfix) canonical and masquerade */
static void rewrite_hdr_addr(void *ctx, struct span addr, struct buf *out)
{
    struct hdr_rewrite *hr = ctx;
    struct cleanup *c = hr->c;
    struct buf std = BUF_INIT;
    struct buf canon = BUF_INIT;
    struct buf why = BUF_INIT;
    enum rewrite_context rctx = c->remote ? REWRITE_REMOTE : REWRITE_LOCAL;

    if (addr.len == 0) {
        buf_reset(out);
        return;
    }
    rewrite_addr(c->cf->rc, rctx, addr, &std);
    if (c->cf->override & CLEANUP_NO_ADDR_MAPPINGS) {
        buf_set(out, buf_str(&std));
    } else if (cleanup_map_canonical(c->cf, hr->cls, buf_str(&std), &canon,
                                     &why)
               < 0) {
        fail(c, buf_str(&why));
        buf_set(out, buf_str(&std));
    } else {
        cleanup_masquerade(c->cf, hr->cls, buf_str(&canon), out);
    }
    buf_fini(&std);
    buf_fini(&canon);
    buf_fini(&why);
}

/* log_msgid - "QUEUEID: message-id=<...>" (or resent-message-id=) */
static void log_msgid(const struct cleanup *c, const char *key,
                      struct span value)
{
    struct span v = span_trim(value);

    msg_info("%s: %s=%.*s", c->id, key, (int) (v.len > 200 ? 200 : v.len), v.p);
}

/* flush_header - the collected logical header through the checks, the
 * rewriting and into the file */
static void flush_header(struct cleanup *c)
{
    struct buf pre = BUF_INIT;
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    size_t nlen;
    bool changed = false;

    c->have_hdr = false;
    if (run_checks(c, c->cf->hdr_checks, "header", &c->hdr, &pre) == ACT_DROP)
        goto done;
    if (buf_len(&pre))
        write_text(c, buf_str(&pre), buf_len(&pre));
    nlen = header_name_len(buf_str(&c->hdr), buf_len(&c->hdr));
    if (nlen == 0) /* REPLACE made it something else: write it as is */
        goto write;
    {
        char name[64];
        const char *h = buf_str(&c->hdr);
        const char *colon = strchr(h, ':');
        struct span value =
            span_make(colon + 1, buf_len(&c->hdr) - (size_t) (colon + 1 - h));

        if (nlen >= sizeof(name))
            goto write;
        memcpy(name, h, nlen);
        name[nlen] = 0;
        str_lower(name);
        if (str_has_prefix(name, "resent-"))
            c->seen_resent = true;
        if (strcmp(name, "message-id") == 0) {
            c->seen_msgid = true;
            log_msgid(c, "message-id", value);
        } else if (strcmp(name, "resent-message-id") == 0) {
            c->seen_rmsgid = true;
            log_msgid(c, "resent-message-id", value);
        } else if (strcmp(name, "resent-date") == 0) {
            c->seen_rdate = true;
        } else if (strcmp(name, "resent-from") == 0) {
            c->seen_rfrom = true;
        } else if (strcmp(name, "date") == 0) {
            c->seen_date = true;
        } else if (strcmp(name, "from") == 0) {
            c->seen_from = true;
        } else if (strcmp(name, "received") == 0
                   || strcmp(name, "delivered-to") == 0) {
            c->hops++;
        }
        /* message_drop_headers (after header_checks, as Postfix). */
        for (size_t i = 0; i < c->cf->drop_headers->argc; i++)
            if (strcasecmp(name, c->cf->drop_headers->argv[i]) == 0)
                goto done;
        /* remote_header_rewrite_domain empty: headers from remote
         * clients are not rewritten at all (postconf(5)). */
        for (size_t i = 0;
             rewrite_header_wanted(c->cf->rc,
                                   c->remote ? REWRITE_REMOTE : REWRITE_LOCAL)
             && i < NELEM(addr_headers);
             i++) {
            struct hdr_rewrite hr = {c, addr_headers[i].cls};

            if (strcmp(name, addr_headers[i].name) != 0)
                continue;
            if (addr_rewrite_header(value, nlen + 2, rewrite_hdr_addr, &hr,
                                    &out, &changed, &why)
                    == 0
                && changed) {
                /* Postfix writes "Name: value" with one space. */
                struct buf line = BUF_INIT;

                buf_catn(&line, h, nlen);
                buf_cat(&line, ": ");
                buf_catspan(&line, span_trim(span_of(buf_str(&out))));
                write_text(c, buf_str(&line), buf_len(&line));
                buf_fini(&line);
                goto done;
            }
            break;
        }
    }
write:
    write_text(c, buf_str(&c->hdr), buf_len(&c->hdr));
done:
    buf_fini(&pre);
    buf_fini(&out);
    buf_fini(&why);
}

/* quote_phrase - the full name as a header phrase: quoted when it holds a
 * special (RFC 5322); control bytes become spaces, so that a name can never
 * start a new header line */
static void quote_phrase(const char *name, struct buf *out)
{
    bool quote = strpbrk(name, "()<>@,;:\\\".[]") != NULL;

    if (quote)
        buf_catc(out, '"');
    for (const char *p = name; *p; p++) {
        unsigned char ch = (unsigned char) *p;

        if (quote && (ch == '"' || ch == '\\'))
            buf_catc(out, '\\');
        buf_catc(out, ch < ' ' || ch == 127 ? ' ' : ch);
    }
    if (quote)
        buf_catc(out, '"');
}

/* end_headers - the missing headers, then the body mark */
static void end_headers(struct cleanup *c)
{
    struct buf line = BUF_INIT;
    struct buf ext = BUF_INIT;
    bool local = !c->remote;

    if (c->have_hdr)
        flush_header(c);
    if (local || c->cf->always_add) {
        /* With Resent- headers, the Resent- forms are the missing ones
         * (as Postfix: the original headers stay as they are). */
        const char *pfx = c->seen_resent ? "Resent-" : "";
        bool msgid = c->seen_resent ? c->seen_rmsgid : c->seen_msgid;
        bool date = c->seen_resent ? c->seen_rdate : c->seen_date;
        bool from = c->seen_resent ? c->seen_rfrom : c->seen_from;

        if (!msgid) {
            struct tm tm;
            time_t now = time(NULL);
            char stamp[32];

            if (localtime_r(&now, &tm) == NULL
                || strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
                str_copy(stamp, sizeof(stamp), "0");
            buf_setf(&line, "%sMessage-Id: <%s.%s@%s>", pfx, stamp, c->id,
                     c->cf->myhostname);
            (void) queue_writer_line(c->w, buf_str(&line), buf_len(&line));
            log_msgid(c, c->seen_resent ? "resent-message-id" : "message-id",
                      span_of(strchr(buf_str(&line), '<')));
        }
        if (!date) {
            cleanup_date(c->arrival.tv_sec, &ext);
            buf_setf(&line, "%sDate: %s", pfx, buf_str(&ext));
            (void) queue_writer_line(c->w, buf_str(&line), buf_len(&line));
        }
        if (!from) {
            buf_setf(&line, "%sFrom: ", pfx);
            if (c->sender[0] == 0) {
                buf_cat(&line, "MAILER-DAEMON");
            } else {
                addr_externalize(span_of(c->sender), &ext);
                if (c->fullname && c->fullname[0]) {
                    quote_phrase(c->fullname, &line);
                    buf_catf(&line, " <%s>", buf_str(&ext));
                } else {
                    buf_cat(&line, buf_str(&ext));
                }
            }
            (void) queue_writer_line(c->w, buf_str(&line), buf_len(&line));
        }
    }
    if (c->cf->hopcount > 0 && c->hops >= c->cf->hopcount
        && !(c->actions & ACT_REJECT)) {
        c->actions |= ACT_REJECT;
        c->tempfail = false;
        buf_set(&c->reason, "5.4.6 too many hops");
    }
    c->state = STATE_BODY;
    buf_fini(&line);
    buf_fini(&ext);
}

/* body_line - one body line through body_checks into the file */
static void body_line(struct cleanup *c, const char *p, size_t len)
{
    struct buf pre = BUF_INIT;
    struct buf line = BUF_INIT;

    if (c->cf->body_checks && c->body_checked < c->cf->body_checks_size) {
        c->body_checked += (long long) len + 1;
        buf_catn(&line, p, len);
        if (run_checks(c, c->cf->body_checks, "body", &line, &pre)
            == ACT_KEEP) {
            if (buf_len(&pre))
                write_text(c, buf_str(&pre), buf_len(&pre));
            (void) queue_writer_line(c->w, buf_str(&line), buf_len(&line));
        }
    } else {
        (void) queue_writer_line(c->w, p, len);
    }
    buf_fini(&pre);
    buf_fini(&line);
}

/* cleanup_line - one content line */
void cleanup_line(struct cleanup *c, const char *p, size_t len)
{
    if (c->state == STATE_ENV)
        begin_content(c);
    c->size += (long long) len + 1;
    if (c->cf->size_limit > 0 && c->size > c->cf->size_limit)
        c->too_big = true;
    if (c->too_big || (c->actions & (ACT_REJECT | ACT_DISCARD)))
        return;
    if (c->state == STATE_HEADER) {
        if (c->have_hdr && len > 0 && (p[0] == ' ' || p[0] == '\t')) {
            if ((long) (buf_len(&c->hdr) + len + 1) <= c->cf->hdr_size_limit) {
                buf_catc(&c->hdr, '\n');
                buf_catn(&c->hdr, p, len);
            } else {
                c->hdr_truncated = true;
            }
            return;
        }
        if (c->have_hdr) {
            flush_header(c);
            if (c->actions & ACT_DISCARD)
                return;
        }
        if (len > 0 && header_name_len(p, len) > 0) {
            buf_reset(&c->hdr);
            buf_catn(&c->hdr, p,
                     (long) len > c->cf->hdr_size_limit
                         ? (size_t) c->cf->hdr_size_limit
                         : len);
            c->have_hdr = true;
            return;
        }
        end_headers(c);
        (void) queue_writer_body_begin(c->w);
        /* A body that does not start with the empty line gets one, as
         * Postfix's cleanup writes it. */
        if (len > 0)
            (void) queue_writer_line(c->w, "", 0);
    }
    body_line(c, p, len);
}

/* add_final - one final recipient, unless it is a duplicate; 1 when
 * written */
static size_t add_final(struct cleanup *c, struct htable *seen,
                        const char *addr, const char *orig, const char *orcpt,
                        int notify)
{
    struct queue_rcpt_in r = {
        .address = addr, .orig = orig, .orcpt = orcpt, .notify = notify};
    struct buf key = BUF_INIT;

    if (strlen(addr) > ADDR_MAX_LEN || strlen(orig) > ADDR_MAX_LEN
        || strpbrk(addr, "\r\n") || strpbrk(orig, "\r\n")
        || (orcpt
            && (strlen(orcpt) > ADDR_MAX_LEN || strpbrk(orcpt, "\r\n")))) {
        reject(c, "5.1.3 Bad recipient address syntax");
        return 0;
    }
    /* As Postfix: with enable_original_recipient, one final address for
     * two original recipients stays two recipients (the original
     * recipient and the DSN fields are part of the key). */
    addr_lower_domain(span_of(addr), &key);
    if (c->cf->orig_rcpt)
        buf_catf(&key, "\n%s\n%d\n%s", orcpt ? orcpt : "", notify, orig);
    else
        r.orig = NULL;
    if (htable_find(seen, buf_str(&key)) != NULL) {
        buf_fini(&key);
        return 0;
    }
    /* duplicate_filter_limit bounds the memory; past it duplicates are
     * written (qmgr delivers each once anyway). */
    if (c->cf->dup_limit <= 0 || (long) seen->used < c->cf->dup_limit)
        htable_enter(seen, buf_str(&key), (void *) 1);
    (void) queue_writer_rcpt(c->w, &r);
    buf_fini(&key);
    return 1;
}

/* write_rcpts - rewrite, map, expand and write the recipients; the
 * number written into *COUNT */
static void write_rcpts(struct cleanup *c, size_t *count)
{
    struct htable *seen = htable_new(16);
    struct buf std = BUF_INIT;
    struct buf orcpt = BUF_INIT;
    struct buf ext = BUF_INIT;
    struct buf why = BUF_INIT;
    struct argv *targets = argv_new();

    *count = 0;
    size_t given = c->nrcpt;

    /* BCC adds recipients (without DSN ORCPT, as Postfix); REDIRECT sends
     * the message for every recipient to one address, each keeping its
     * original recipient (Postfix's delivery log shows orig_to=). */
    for (size_t i = 0; i < c->bcc->argc; i++)
        cleanup_rcpt(c, c->bcc->argv[i], "", 0);
    for (size_t i = 0; i < c->nrcpt && !c->tempfail; i++) {
        const struct rcpt_in *r = &c->rcpts[i];
        const char *target = c->redirect && i < given ? c->redirect : r->addr;
        struct buf orig = BUF_INIT;

        if (r->orig)
            buf_set(&orig, r->orig);
        else
            rewrite_addr(c->cf->rc, REWRITE_LOCAL, span_of(r->addr), &orig);
        if (r->orcpt) {
            buf_set(&orcpt, r->orcpt); /* "" (a BCC action): none */
        } else {
            addr_externalize(span_of(buf_str(&orig)), &ext);
            buf_setf(&orcpt, "rfc822;%s", buf_str(&ext));
        }
        if (cleanup_rewrite_env(c->cf, CLEANUP_CLASS_ENV_RCPT, target, &std,
                                &why)
            < 0) {
            fail(c, buf_str(&why));
            buf_fini(&orig);
            break;
        }
        argv_truncate(targets, 0);
        if (c->cf->override & CLEANUP_NO_ADDR_MAPPINGS)
            argv_add(targets, buf_str(&std));
        else if (cleanup_map_virtual(c->cf, buf_str(&std), targets, &why) < 0) {
            fail(c, buf_str(&why));
            buf_fini(&orig);
            break;
        }
        for (size_t k = 0; k < targets->argc; k++) {
            if (targets->argv[k][0] == 0)
                continue;
            *count +=
                add_final(c, seen, targets->argv[k], buf_str(&orig),
                          buf_len(&orcpt) ? buf_str(&orcpt) : NULL, r->notify);
        }
        buf_fini(&orig);
    }
    htable_free(seen, NULL);
    argv_free(targets);
    buf_fini(&std);
    buf_fini(&orcpt);
    buf_fini(&ext);
    buf_fini(&why);
}

/* free_message - everything but the writer */
static void free_message(struct cleanup *c)
{
    for (size_t i = 0; i < c->nrcpt; i++) {
        mem_free(c->rcpts[i].addr);
        mem_free(c->rcpts[i].orig);
        mem_free(c->rcpts[i].orcpt);
    }
    mem_free(c->rcpts);
    mem_free(c->id);
    mem_free(c->sender_in);
    mem_free(c->sender);
    mem_free(c->fullname);
    mem_free(c->uid);
    mem_free(c->envid);
    mem_free(c->redirect);
    mem_free(c->filter);
    argv_free(c->attrs);
    argv_free(c->bcc);
    buf_fini(&c->hdr);
    buf_fini(&c->reason);
    mem_free(c);
}

/* prepare - the end of the message up to the commit: 1 when the file is
 * to be committed; else 0 with *ST and REASON (the file is gone) */
static int prepare(struct cleanup *c, struct buf *reason,
                   enum cleanup_status *st)
{
    size_t count = 0;

    buf_reset(reason);
    if (c->state == STATE_ENV)
        begin_content(c);
    /* After DISCARD nothing more is done (Postfix logs no message-id
     * then); after REJECT the header section is still completed. */
    if (c->state == STATE_HEADER && !(c->actions & ACT_DISCARD))
        end_headers(c);
    if (c->too_big) {
        c->actions |= ACT_REJECT;
        buf_set(&c->reason, "5.3.4 Message file too big");
    }
    if (!(c->actions & (ACT_REJECT | ACT_DISCARD)) && !c->tempfail) {
        (void) queue_writer_content_end(c->w);
        if (c->filter)
            (void) queue_writer_attr(c->w, "content_filter", c->filter);
        write_rcpts(c, &count);
        if (count == 0 && !c->tempfail && !(c->actions & ACT_REJECT)) {
            c->actions |= ACT_REJECT;
            buf_set(&c->reason, "5.1.3 no recipients specified");
        }
    }
    if (c->actions & ACT_REJECT) {
        buf_set(reason, buf_str(&c->reason));
        *st = CLEANUP_REJECTED;
    } else if (c->tempfail) {
        buf_set(reason, buf_str(&c->reason));
        *st = CLEANUP_TEMPFAIL;
    } else if (c->actions & ACT_DISCARD) {
        *st = CLEANUP_DISCARDED;
    } else {
        return 1;
    }
    queue_writer_abort(c->w);
    c->w = NULL;
    return 0;
}

/* A qmgr wakeup owed for files committed by the workers: one for each
 * batch of finished commits (qmgr scans incoming/ for any wakeup). */
static struct buf wake_path = BUF_INIT;
static bool wake_pending;

/* committed - the commit's outcome (RC, WHY): hold, or the qmgr wakeup
 * (now, or at the end of the batch when LATER); REASON for a failure;
 * frees C */
static enum cleanup_status committed(struct cleanup *c, int rc, const char *why,
                                     struct buf *reason, bool later)
{
    struct buf err = BUF_INIT;
    struct buf path = BUF_INIT;
    enum cleanup_status st = CLEANUP_OK;

    buf_reset(reason);
    if (rc < 0) {
        msg_warn("%s: %s", c->id, why);
        buf_setf(reason, "4.3.0 queue file write error");
        st = CLEANUP_TEMPFAIL;
    } else if (c->actions & ACT_HOLD) {
        if (queue_dir_move(&c->cf->qd, QUEUE_INCOMING, QUEUE_HOLD, c->id, &err)
            < 0)
            msg_warn("%s: cannot move to hold: %s", c->id, buf_str(&err));
    } else if (later) {
        trigger_path("public", c->cf->qmgr_service, &wake_path);
        wake_pending = true;
    } else {
        trigger_path("public", c->cf->qmgr_service, &path);
        if (trigger_wakeup(buf_str(&path), "incoming", c->id, &err) < 0)
            msg_debug(1, "%s: no qmgr wakeup: %s", c->id, buf_str(&err));
    }
    c->w = NULL;
    free_message(c);
    buf_fini(&err);
    buf_fini(&path);
    return st;
}

/* cleanup_pool_batch_end - the wakeup for the files of a batch */
void cleanup_pool_batch_end(void)
{
    struct buf why = BUF_INIT;

    if (!wake_pending)
        return;
    wake_pending = false;
    if (trigger_wakeup(buf_str(&wake_path), "incoming", NULL, &why) < 0)
        msg_debug(1, "no qmgr wakeup: %s", buf_str(&why));
    buf_fini(&why);
}

/* cleanup_finish - recipients, commit, hold, wakeup */
enum cleanup_status cleanup_finish(struct cleanup *c, struct buf *reason)
{
    struct buf why = BUF_INIT;
    enum cleanup_status st;
    int rc;

    if (prepare(c, reason, &st) == 0) {
        free_message(c);
        return st;
    }
    rc = queue_writer_commit(c->w, &why);
    c->w = NULL; /* freed by the commit */
    st = committed(c, rc, buf_str(&why), reason, false);
    buf_fini(&why);
    return st;
}

/* One commit on the workers. */
struct cleanup_job {
    struct cleanup_pool_job pj; /* first: the pool hands this back */
    struct cleanup *c;
    cleanup_done_fn done;
    void *arg;
    bool cancelled;
};

/* job_done - the workers committed (or failed): the rest, in the loop */
static void job_done(struct cleanup_pool_job *pj)
{
    struct cleanup_job *job = (struct cleanup_job *) pj;
    struct buf reason = BUF_INIT;
    enum cleanup_status st;

    st = committed(job->c, pj->rc, buf_str(&pj->why), &reason, true);
    if (!job->cancelled)
        job->done(job->arg, st, buf_str(&reason));
    buf_fini(&reason);
    buf_fini(&pj->why);
    mem_free(job);
}

/* cleanup_finish_async - cleanup_finish with the commit on the workers */
int cleanup_finish_async(struct cleanup *c, struct loop *l,
                         enum cleanup_status *st, struct buf *reason,
                         cleanup_done_fn done, void *arg,
                         struct cleanup_job **jobp)
{
    struct cleanup_job *job;

    *jobp = NULL;
    if (prepare(c, reason, st) == 0) {
        free_message(c);
        return 0;
    }
    job = mem_zalloc(sizeof(*job));
    job->pj.w = c->w;
    job->pj.fn = job_done;
    job->c = c;
    job->done = done;
    job->arg = arg;
    if (cleanup_pool_submit(l, &job->pj) < 0) {
        struct buf why = BUF_INIT;
        int rc = queue_writer_commit(c->w, &why);

        c->w = NULL;
        *st = committed(c, rc, buf_str(&why), reason, false);
        buf_fini(&why);
        mem_free(job);
        return 0;
    }
    c->w = NULL; /* the pool's now */
    *jobp = job;
    return 1;
}

/* cleanup_finish_cancel - no callback for JOB */
void cleanup_finish_cancel(struct cleanup_job *job)
{
    if (job)
        job->cancelled = true;
}

/* cleanup_abort - drop the message */
void cleanup_abort(struct cleanup *c)
{
    if (c == NULL)
        return;
    queue_writer_abort(c->w);
    free_message(c);
}
