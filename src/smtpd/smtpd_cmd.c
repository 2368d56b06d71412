/* smtpd_cmd - SMTP command line parsers, with Postfix 3.7's replies. */
#include "smtpd/smtpd_cmd.h"

#include "global/addr.h"
#include "lib/dict.h"
#include "lib/mem.h"

#include <string.h>

static const struct {
    const char *name;
    enum smtpd_verb verb;
} verbs[] = {
    {"HELO", SMTPD_VERB_HELO},       {"EHLO", SMTPD_VERB_EHLO},
    {"MAIL", SMTPD_VERB_MAIL},       {"RCPT", SMTPD_VERB_RCPT},
    {"DATA", SMTPD_VERB_DATA},       {"BDAT", SMTPD_VERB_BDAT},
    {"RSET", SMTPD_VERB_RSET},       {"NOOP", SMTPD_VERB_NOOP},
    {"QUIT", SMTPD_VERB_QUIT},       {"VRFY", SMTPD_VERB_VRFY},
    {"HELP", SMTPD_VERB_HELP},       {"ETRN", SMTPD_VERB_ETRN},
    {"AUTH", SMTPD_VERB_AUTH},       {"STARTTLS", SMTPD_VERB_STARTTLS},
    {"XCLIENT", SMTPD_VERB_XCLIENT}, {"XFORWARD", SMTPD_VERB_XFORWARD},
};

/* smtpd_cmd_opts_default - Postfix 3.7's defaults */
void smtpd_cmd_opts_default(struct smtpd_cmd_opts *o)
{
    o->strict_rfc821 = false;
    o->smtputf8_enable = true;
    o->message_size_limit = 10240000;
}

/* is_ws - SMTP word separator: Postfix splits a command line at every
 * byte that C's isspace() accepts, so "MAIL\vFROM:<a@b>\rSIZE=1" is MAIL
 * with a SIZE parameter (golden cases with \v, \f and a bare \r) */
static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
           || c == '\n';
}

/* skip_ws - S without leading white space */
static struct span skip_ws(struct span s)
{
    while (s.len > 0 && is_ws(*s.p)) {
        s.p++;
        s.len--;
    }
    return s;
}

/* next_word - the word at the start of *S (after white space); *S moves
 * past it.  An empty span at the end. */
static struct span next_word(struct span *s)
{
    struct span w;

    *s = skip_ws(*s);
    w.p = s->p;
    w.len = 0;
    while (w.len < s->len && !is_ws(s->p[w.len]))
        w.len++;
    s->p += w.len;
    s->len -= w.len;
    return w;
}

/* smtpd_line_take - the next line of IN, bounded by LIMIT */
int smtpd_line_take(struct span in, size_t limit, struct span *line,
                    size_t *used)
{
    size_t look = in.len < limit ? in.len : limit;
    const char *nl = memchr(in.p, '\n', look);
    size_t n;

    if (nl == NULL) {
        if (in.len < limit)
            return 0;
        *line = span_make(in.p, limit);
        *used = limit;
        return 2;
    }
    n = (size_t) (nl - in.p);
    *used = n + 1;
    if (n > 0 && in.p[n - 1] == '\r')
        n--;
    *line = span_make(in.p, n);
    return 1;
}

/* utf8_ok - S is valid UTF-8 (up to a NUL, as a C string is checked) */
static bool utf8_ok(struct span s)
{
    char *copy;
    bool ok;
    size_t i;

    for (i = 0; i < s.len; i++)
        if ((unsigned char) s.p[i] >= 0x80)
            break;
    if (i == s.len)
        return true;
    copy = span_dup(s);
    ok = dict_utf8_valid(copy);
    mem_free(copy);
    return ok;
}

/* smtpd_cmd_unknown - the reply to a verb Postfix does not know */
void smtpd_cmd_unknown(struct buf *reply)
{
    buf_set(reply, "500 5.5.2 Error: command not recognized");
}

/* smtpd_verb_name - the verb's name */
const char *smtpd_verb_name(enum smtpd_verb v)
{
    size_t i;

    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (verbs[i].verb == v)
            return verbs[i].name;
    return NULL;
}

/* smtpd_cmd_split - verb and arguments of LINE */
int smtpd_cmd_split(struct span line, const struct smtpd_cmd_opts *o,
                    struct smtpd_cmd *cmd, struct buf *reply)
{
    const char *nul = memchr(line.p, 0, line.len);
    struct span rest;
    size_t i;

    /* Postfix reads the line as a C string: a NUL ends it. */
    if (nul != NULL)
        line.len = (size_t) (nul - line.p);
    rest = line;
    buf_reset(reply);
    cmd->verb = SMTPD_VERB_UNKNOWN;
    cmd->name = next_word(&rest);
    cmd->args = skip_ws(rest);
    if (cmd->name.len == 0) {
        buf_set(reply, "500 5.5.2 Error: bad syntax");
        return -1;
    }
    if (o->smtputf8_enable && !utf8_ok(line)) {
        buf_set(reply, "500 5.5.2 Error: bad UTF-8 syntax");
        return -1;
    }
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (span_caseeq(cmd->name, verbs[i].name)) {
            cmd->verb = verbs[i].verb;
            return 0;
        }
    }
    smtpd_cmd_unknown(reply);
    return -1;
}

/* blank - S holds nothing but white space */
static bool blank(struct span s)
{
    return skip_ws(s).len == 0;
}

/* smtpd_cmd_check_args - argument syntax of the simple commands */
int smtpd_cmd_check_args(const struct smtpd_cmd *cmd, struct buf *reply)
{
    struct span rest = cmd->args;

    buf_reset(reply);
    switch (cmd->verb) {
        case SMTPD_VERB_HELO:
        case SMTPD_VERB_EHLO:
            if (blank(rest)) {
                buf_setf(reply, "501 Syntax: %s hostname",
                         smtpd_verb_name(cmd->verb));
                return -1;
            }
            return 0;
        case SMTPD_VERB_RSET:
        case SMTPD_VERB_DATA:
            if (!blank(rest)) {
                buf_setf(reply, "501 5.5.4 Syntax: %s",
                         smtpd_verb_name(cmd->verb));
                return -1;
            }
            return 0;
        case SMTPD_VERB_VRFY:
            if (blank(rest)) {
                buf_set(reply, "501 5.5.4 Syntax: VRFY address [SMTPUTF8]");
                return -1;
            }
            return 0;
        case SMTPD_VERB_ETRN:
            if (next_word(&rest).len == 0 || !blank(rest)) {
                buf_set(reply, "500 Syntax: ETRN domain");
                return -1;
            }
            return 0;
        case SMTPD_VERB_UNKNOWN:
        case SMTPD_VERB_MAIL:
        case SMTPD_VERB_RCPT:
        case SMTPD_VERB_BDAT:
        case SMTPD_VERB_NOOP:
        case SMTPD_VERB_QUIT:
        case SMTPD_VERB_HELP:
        case SMTPD_VERB_AUTH:
        case SMTPD_VERB_STARTTLS:
        case SMTPD_VERB_XCLIENT:
        case SMTPD_VERB_XFORWARD:
            return 0;
    }
    return 0;
}

/* smtpd_mail_init - an empty MAIL result */
void smtpd_mail_init(struct smtpd_mail *m)
{
    memset(m, 0, sizeof(*m));
    buf_init(&m->addr, 0);
    buf_init(&m->envid, 0);
    buf_init(&m->auth, 0);
}

/* smtpd_mail_fini - free M's strings */
void smtpd_mail_fini(struct smtpd_mail *m)
{
    buf_fini(&m->addr);
    buf_fini(&m->envid);
    buf_fini(&m->auth);
}

/* smtpd_rcpt_init - an empty RCPT result */
void smtpd_rcpt_init(struct smtpd_rcpt *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->addr, 0);
    buf_init(&r->orcpt_type, 0);
    buf_init(&r->orcpt_addr, 0);
}

/* smtpd_rcpt_fini - free R's strings */
void smtpd_rcpt_fini(struct smtpd_rcpt *r)
{
    buf_fini(&r->addr);
    buf_fini(&r->orcpt_type);
    buf_fini(&r->orcpt_addr);
}

/* case_prefix - S starts with LIT (ASCII case-insensitive) */
static bool case_prefix(struct span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len >= n && span_caseeq(span_make(s.p, n), lit);
}

/*
 * parse_path - the "FROM:" / "TO:" KEYWORD, then the path, into ADDR;
 * *REST gets what follows.  Returns 0, -1 for the command syntax reply,
 * -2 for the bad address reply.
 */
static int parse_path(struct span args, const char *keyword,
                      const struct smtpd_cmd_opts *o, struct buf *addr,
                      struct span *rest)
{
    struct buf why = BUF_INIT;
    struct span s = skip_ws(args);
    size_t klen = strlen(keyword);
    size_t used = 0;
    int flags = 0;
    int rc;

    if (!case_prefix(s, keyword))
        return -1;
    s.p += klen;
    s.len -= klen;
    s = skip_ws(s);
    if (s.len == 0)
        return -1;
    if (o->strict_rfc821)
        flags |= ADDR_PATH_STRICT;
    if (o->smtputf8_enable)
        flags |= ADDR_PATH_UTF8;
    rc = addr_parse_path(s, flags, addr, &used, &why);
    buf_fini(&why);
    if (rc != 0 || (used < s.len && !is_ws(s.p[used])))
        return -2;
    *rest = span_make(s.p + used, s.len - used);
    return 0;
}

/* param_value - when P is "NAME=value" (NAME case-insensitive), true with
 * the value in *V */
static bool param_value(struct span p, const char *name, struct span *v)
{
    size_t n = strlen(name);

    if (p.len <= n || p.p[n] != '=' || !case_prefix(p, name))
        return false;
    *v = span_make(p.p + n + 1, p.len - n - 1);
    return true;
}

/* unsupported - the reply to an unknown parameter P */
static int unsupported(struct span p, struct buf *reply)
{
    buf_set(reply, "555 5.5.4 Unsupported option: ");
    buf_catspan(reply, p);
    return -1;
}

/* parse_size - SIZE's value: digits only; 0, -1 not a number, -2 too big
 * to represent */
static int parse_size(struct span v, uint64_t *out)
{
    uint64_t n = 0;
    size_t i;
    int big = 0;

    if (v.len == 0)
        return -1;
    for (i = 0; i < v.len; i++) {
        unsigned d;

        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        d = (unsigned) (v.p[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            big = 1;
        else
            n = n * 10 + d;
    }
    *out = n;
    return big ? -2 : 0;
}

/* mail_param - one MAIL parameter P into M; 0 or -1 with REPLY */
static int mail_param(struct span p, const struct smtpd_cmd_opts *o,
                      struct smtpd_mail *m, struct buf *reply)
{
    struct buf why = BUF_INIT;
    struct span v;
    int rc = 0;

    if (param_value(p, "SIZE", &v)) {
        int r = parse_size(v, &m->size);

        if (r == -1)
            buf_set(reply, "501 5.5.4 Bad message size syntax");
        else if (r == -2 || m->size > (uint64_t) INT64_MAX)
            buf_set(reply,
                    "552 5.3.4 Message size exceeds file system imposed limit");
        else if (o->message_size_limit > 0 && m->size > o->message_size_limit)
            buf_set(reply, "552 5.3.4 Message size exceeds fixed limit");
        else {
            m->has_size = true;
            return 0;
        }
        return -1;
    }
    if (param_value(p, "BODY", &v)) {
        if (span_caseeq(v, "8BITMIME"))
            m->body = SMTPD_BODY_8BITMIME;
        else if (span_caseeq(v, "7BIT"))
            m->body = SMTPD_BODY_7BIT;
        else
            return unsupported(p, reply);
        return 0;
    }
    if (span_caseeq(p, "SMTPUTF8") && o->smtputf8_enable) {
        m->smtputf8 = true;
        return 0;
    }
    if (param_value(p, "RET", &v)) {
        if (m->ret != DSN_RET_NONE || dsn_ret_parse(v, &m->ret, &why) != 0) {
            buf_set(reply, "501 5.5.4 Bad RET parameter syntax");
            rc = -1;
        }
        buf_fini(&why);
        return rc;
    }
    if (param_value(p, "ENVID", &v)) {
        if (m->has_envid || v.len == 0
            || dsn_xtext_decode(v, &m->envid, &why) != 0) {
            buf_set(reply, "501 5.5.4 Bad ENVID parameter syntax");
            rc = -1;
        }
        m->has_envid = true;
        buf_fini(&why);
        return rc;
    }
    if (param_value(p, "AUTH", &v)) {
        buf_reset(&m->auth);
        buf_catspan(&m->auth, v);
        m->has_auth = true;
        return 0;
    }
    return unsupported(p, reply);
}

/* smtpd_cmd_mail - MAIL FROM:<path> params */
int smtpd_cmd_mail(struct span args, const struct smtpd_cmd_opts *o,
                   struct smtpd_mail *m, struct buf *reply)
{
    struct span rest;
    struct span p;
    int rc;

    buf_reset(reply);
    buf_reset(&m->addr);
    buf_reset(&m->envid);
    buf_reset(&m->auth);
    m->has_size = m->smtputf8 = m->has_envid = m->has_auth = false;
    m->size = 0;
    m->body = SMTPD_BODY_NONE;
    m->ret = DSN_RET_NONE;
    rc = parse_path(args, "FROM:", o, &m->addr, &rest);
    if (rc == -1) {
        buf_set(reply, "501 5.5.4 Syntax: MAIL FROM:<address>");
        return -1;
    }
    if (rc == -2) {
        buf_set(reply, "501 5.1.7 Bad sender address syntax");
        return -1;
    }
    while ((p = next_word(&rest)).len > 0)
        if (mail_param(p, o, m, reply) != 0)
            return -1;
    return 0;
}

/* rcpt_param - one RCPT parameter P into R; 0 or -1 with REPLY */
static int rcpt_param(struct span p, struct smtpd_rcpt *r, struct buf *reply)
{
    struct buf why = BUF_INIT;
    struct span v;
    int rc = 0;

    if (param_value(p, "NOTIFY", &v)) {
        if (r->notify != 0 || dsn_notify_parse(v, &r->notify, &why) != 0) {
            buf_set(reply, "501 5.5.4 Error: Bad NOTIFY parameter syntax");
            rc = -1;
        }
        buf_fini(&why);
        return rc;
    }
    if (param_value(p, "ORCPT", &v)) {
        if (r->has_orcpt
            || dsn_orcpt_parse(v, &r->orcpt_type, &r->orcpt_addr, &why) != 0) {
            buf_set(reply, "501 5.5.4 Error: Bad ORCPT parameter syntax");
            rc = -1;
        }
        r->has_orcpt = true;
        buf_fini(&why);
        return rc;
    }
    return unsupported(p, reply);
}

/* smtpd_cmd_rcpt - RCPT TO:<path> params */
int smtpd_cmd_rcpt(struct span args, const struct smtpd_cmd_opts *o,
                   struct smtpd_rcpt *r, struct buf *reply)
{
    struct span rest;
    struct span p;
    int rc;

    buf_reset(reply);
    buf_reset(&r->addr);
    buf_reset(&r->orcpt_type);
    buf_reset(&r->orcpt_addr);
    r->notify = 0;
    r->has_orcpt = false;
    rc = parse_path(args, "TO:", o, &r->addr, &rest);
    if (rc == -1) {
        buf_set(reply, "501 5.5.4 Syntax: RCPT TO:<address>");
        return -1;
    }
    if (rc == -2 || buf_len(&r->addr) == 0) {
        buf_set(reply, "501 5.1.3 Bad recipient address syntax");
        return -1;
    }
    while ((p = next_word(&rest)).len > 0)
        if (rcpt_param(p, r, reply) != 0)
            return -1;
    return 0;
}

/* smtpd_cmd_bdat - BDAT count [LAST] */
int smtpd_cmd_bdat(struct span args, uint64_t *count, bool *last,
                   struct buf *reply)
{
    struct span rest = args;
    struct span n = next_word(&rest);
    struct span l = next_word(&rest);

    buf_reset(reply);
    *last = false;
    if (parse_size(n, count) != 0 || (l.len > 0 && !span_caseeq(l, "LAST"))
        || !blank(rest) || *count > (uint64_t) INT64_MAX) {
        buf_set(reply, "521 5.5.4 Syntax: BDAT count [LAST]");
        return -1;
    }
    *last = l.len > 0;
    if (*count == 0 && !*last) {
        buf_set(reply, "551 5.7.1 Null BDAT request");
        return -1;
    }
    return 0;
}

/* smtpd_cmd_vrfy - VRFY address [SMTPUTF8] */
int smtpd_cmd_vrfy(struct span args, const struct smtpd_cmd_opts *o,
                   struct buf *addr, struct buf *reply)
{
    struct buf why = BUF_INIT;
    struct span s = skip_ws(args);
    struct span rest;
    size_t used = 0;
    int rc;

    buf_reset(reply);
    if (s.len == 0) {
        buf_set(reply, "501 5.5.4 Syntax: VRFY address [SMTPUTF8]");
        return -1;
    }
    rc = addr_parse_path(s, o->smtputf8_enable ? ADDR_PATH_UTF8 : 0, addr,
                         &used, &why);
    buf_fini(&why);
    rest = span_make(s.p + used, s.len - used);
    if (rc == 0 && used < s.len && !is_ws(s.p[used]))
        rc = -1;
    if (rc == 0) {
        struct span w = next_word(&rest);

        if (w.len > 0 && (!span_caseeq(w, "SMTPUTF8") || !blank(rest)))
            rc = -1;
    }
    if (rc != 0 || buf_len(addr) == 0) {
        buf_set(reply, "501 5.1.3 Bad recipient address syntax");
        return -1;
    }
    return 0;
}
