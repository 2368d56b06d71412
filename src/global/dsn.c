/* dsn - delivery status codes and the DSN SMTP parameters (see dsn.h). */
#include "dsn.h"

#include <ctype.h>

#include "lib/msg.h"
#include "global/ipc_msgs.h"

/* digits - length of the run of digits at S (at most N bytes) */
static size_t digits(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* dsn_status_check - validate "X.Y.Z" */
int dsn_status_check(struct span s, struct buf *why)
{
    size_t at = 0;

    if (s.len == 0) {
        buf_set(why, "empty status code");
        return -1;
    }
    if (s.p[0] != '2' && s.p[0] != '4' && s.p[0] != '5') {
        buf_setf(why, "status code \"%.*s\": class must be 2, 4 or 5",
                 (int) (s.len > 20 ? 20 : s.len), s.p);
        return -1;
    }
    at = 1;
    for (int part = 0; part < 2; part++) {
        size_t n;

        if (at >= s.len || s.p[at] != '.') {
            buf_setf(why, "status code \"%.*s\": want class.subject.detail",
                     (int) (s.len > 20 ? 20 : s.len), s.p);
            return -1;
        }
        at++;
        n = digits(s.p + at, s.len - at);
        if (n == 0 || n > 3 || (n > 1 && s.p[at] == '0')) {
            buf_setf(why,
                     "status code \"%.*s\": %s must be 1 to 3 digits without "
                     "a leading zero",
                     (int) (s.len > 20 ? 20 : s.len), s.p,
                     part == 0 ? "subject" : "detail");
            return -1;
        }
        at += n;
    }
    if (at != s.len) {
        buf_setf(why, "status code \"%.*s\": text after the detail",
                 (int) (s.len > 20 ? 20 : s.len), s.p);
        return -1;
    }
    return 0;
}

/* dsn_action_name - the RFC 3464 action keyword */
const char *dsn_action_name(enum dsn_action a)
{
    switch (a) {
        case DSN_ACTION_FAILED:
            return "failed";
        case DSN_ACTION_DELAYED:
            return "delayed";
        case DSN_ACTION_DELIVERED:
            return "delivered";
        case DSN_ACTION_RELAYED:
            return "relayed";
        case DSN_ACTION_EXPANDED:
            return "expanded";
        case DSN_ACTION_DELIVERABLE:
            return "deliverable";
        case DSN_ACTION_UNDELIVERABLE:
            return "undeliverable";
    }
    msg_panic("dsn_action_name: bad action %d", (int) a);
}

/* dsn_action_parse - the action named S */
int dsn_action_parse(const char *s, enum dsn_action *out, struct buf *why)
{
    static const enum dsn_action all[] = {
        DSN_ACTION_FAILED,        DSN_ACTION_DELAYED,  DSN_ACTION_DELIVERED,
        DSN_ACTION_RELAYED,       DSN_ACTION_EXPANDED, DSN_ACTION_DELIVERABLE,
        DSN_ACTION_UNDELIVERABLE,
    };

    for (size_t i = 0; i < NELEM(all); i++) {
        if (strcmp(s, dsn_action_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    buf_set(why, "unknown DSN action");
    return -1;
}

/* dsn_status_word - status= of the delivery log line */
const char *dsn_status_word(enum dsn_action a)
{
    switch (a) {
        case DSN_ACTION_FAILED:
            return "bounced";
        case DSN_ACTION_DELAYED:
            return "deferred";
        case DSN_ACTION_DELIVERED:
        case DSN_ACTION_RELAYED:
        case DSN_ACTION_EXPANDED:
            return "sent";
        case DSN_ACTION_DELIVERABLE:
            return "deliverable";
        case DSN_ACTION_UNDELIVERABLE:
            return "undeliverable";
    }
    msg_panic("dsn_status_word: bad action %d", (int) a);
}

/* dsn_init - fill D after checking STATUS against ACTION */
int dsn_init(struct dsn *d, const char *status, enum dsn_action action,
             const char *reason, struct buf *why)
{
    char want;

    if (dsn_status_check(span_of(status), why) < 0)
        return -1;
    switch (action) {
        case DSN_ACTION_FAILED:
            want = '5';
            break;
        case DSN_ACTION_DELAYED:
            want = '4';
            break;
        case DSN_ACTION_UNDELIVERABLE:
            /* A temporary failure leaves an address undeliverable, too. */
            want = status[0] == '4' ? '4' : '5';
            break;
        case DSN_ACTION_DELIVERED:
        case DSN_ACTION_RELAYED:
        case DSN_ACTION_EXPANDED:
        case DSN_ACTION_DELIVERABLE:
        default:
            want = '2';
            break;
    }
    if (status[0] != want) {
        buf_setf(why, "status code %s does not match action %s", status,
                 dsn_action_name(action));
        return -1;
    }
    memset(d, 0, sizeof(*d));
    /* Checked above: at most 9 characters. */
    memcpy(d->status, status, strlen(status) + 1);
    d->action = action;
    d->reason = reason;
    return 0;
}

/* dsn_from_status - a delivery agent's result as a struct dsn */
int dsn_from_status(const struct ipc_deliver_status *s, struct dsn *d,
                    struct buf *why)
{
    enum dsn_action a;

    if (dsn_action_parse(s->action, &a, why) < 0
        || dsn_init(d, s->status, a, s->reason, why) < 0)
        return -1;
    d->remote_mta = s->remote_mta;
    d->diag_code = s->diag_code;
    return 0;
}

/* dsn_to_status - a struct dsn into a deliver_status message */
void dsn_to_status(const struct dsn *d, struct ipc_deliver_status *s)
{
    s->status = (char *) d->status;
    s->action = (char *) dsn_action_name(d->action);
    s->reason = (char *) (d->reason ? d->reason : "");
    s->remote_mta = (char *) d->remote_mta;
    s->diag_code = (char *) d->diag_code;
}

/* dsn_log - append "dsn=X.Y.Z, status=WORD (reason)" */
void dsn_log(const struct dsn *d, struct buf *out)
{
    buf_catf(out, "dsn=%s, status=%s (%s)", d->status,
             dsn_status_word(d->action), d->reason ? d->reason : "");
}

static const struct {
    const char *name;
    int bit;
} notify_names[] = {
    {"SUCCESS", DSN_NOTIFY_SUCCESS},
    {"DELAY", DSN_NOTIFY_DELAY},
    {"FAILURE", DSN_NOTIFY_FAILURE},
    {"NEVER", DSN_NOTIFY_NEVER},
};

/* dsn_notify_parse - NOTIFY=... as bits */
int dsn_notify_parse(struct span s, int *out, struct buf *why)
{
    int bits = 0;
    size_t at = 0;

    if (s.len == 0) {
        buf_set(why, "empty NOTIFY value");
        return -1;
    }
    while (at <= s.len) {
        const char *end = memchr(s.p + at, ',', s.len - at);
        size_t n = end ? (size_t) (end - (s.p + at)) : s.len - at;
        struct span item = span_make(s.p + at, n);
        size_t k;

        if (n == 0) {
            buf_set(why, "empty item in NOTIFY value");
            return -1;
        }
        for (k = 0; k < NELEM(notify_names); k++)
            if (span_caseeq(item, notify_names[k].name))
                break;
        if (k == NELEM(notify_names)) {
            buf_setf(why, "unknown NOTIFY keyword \"%.*s\"",
                     (int) (n > 20 ? 20 : n), item.p);
            return -1;
        }
        bits |= notify_names[k].bit;
        at += n + 1;
        if (end == NULL)
            break;
    }
    if ((bits & DSN_NOTIFY_NEVER) && (bits & DSN_NOTIFY_ANY)) {
        buf_set(why, "NOTIFY=NEVER combined with other keywords");
        return -1;
    }
    *out = bits;
    return 0;
}

/* dsn_notify_format - the NOTIFY keywords of NOTIFY */
void dsn_notify_format(int notify, struct buf *out)
{
    bool first = true;

    for (size_t k = 0; k < NELEM(notify_names); k++) {
        if (notify & notify_names[k].bit) {
            if (!first)
                buf_catc(out, ',');
            buf_cat(out, notify_names[k].name);
            first = false;
        }
    }
}

/* dsn_ret_parse - RET=FULL|HDRS */
int dsn_ret_parse(struct span s, enum dsn_ret *out, struct buf *why)
{
    if (span_caseeq(s, "FULL")) {
        *out = DSN_RET_FULL;
    } else if (span_caseeq(s, "HDRS")) {
        *out = DSN_RET_HDRS;
    } else {
        buf_set(why, "RET must be FULL or HDRS");
        return -1;
    }
    return 0;
}

/* dsn_ret_name - the RET keyword */
const char *dsn_ret_name(enum dsn_ret r)
{
    switch (r) {
        case DSN_RET_NONE:
            return NULL;
        case DSN_RET_FULL:
            return "FULL";
        case DSN_RET_HDRS:
            return "HDRS";
    }
    msg_panic("dsn_ret_name: bad value %d", (int) r);
}

/* hexval - the value of an upper-case hex digit, or -1 */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* dsn_xtext_decode - append decoded xtext */
int dsn_xtext_decode(struct span s, struct buf *out, struct buf *why)
{
    if (s.len > DSN_XTEXT_MAX) {
        buf_setf(why, "xtext longer than %d characters", DSN_XTEXT_MAX);
        return -1;
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char) s.p[i];

        if (c == '+') {
            int hi, lo;

            if (s.len - i < 3) {
                buf_set(why, "xtext: \"+\" without two hex digits");
                return -1;
            }
            hi = hexval(s.p[i + 1]);
            lo = hexval(s.p[i + 2]);
            if (hi < 0 || lo < 0) {
                buf_set(why, "xtext: \"+\" without two upper-case hex digits");
                return -1;
            }
            if (hi == 0 && lo == 0) {
                buf_set(why, "xtext: encoded NUL byte");
                return -1;
            }
            buf_catc(out, hi * 16 + lo);
            i += 2;
        } else if (c < '!' || c > '~' || c == '=') {
            buf_setf(why, "xtext: invalid character 0x%02x", c);
            return -1;
        } else {
            buf_catc(out, c);
        }
    }
    return 0;
}

/* dsn_xtext_encode - append S as xtext */
void dsn_xtext_encode(const char *s, struct buf *out)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (*p < '!' || *p > '~' || *p == '+' || *p == '=')
            buf_catf(out, "+%02X", *p);
        else
            buf_catc(out, *p);
    }
}

/* dsn_orcpt_parse - "addr-type;xtext" */
int dsn_orcpt_parse(struct span s, struct buf *type, struct buf *addr,
                    struct buf *why)
{
    const char *semi = s.len ? memchr(s.p, ';', s.len) : NULL;
    size_t tlen;

    if (s.len > DSN_XTEXT_MAX) {
        buf_setf(why, "ORCPT longer than %d characters", DSN_XTEXT_MAX);
        return -1;
    }
    if (semi == NULL) {
        buf_set(why, "ORCPT without \";\" after the address type");
        return -1;
    }
    tlen = (size_t) (semi - s.p);
    if (tlen == 0) {
        buf_set(why, "ORCPT with an empty address type");
        return -1;
    }
    for (size_t i = 0; i < tlen; i++) {
        if (!isalnum((unsigned char) s.p[i]) && s.p[i] != '-') {
            buf_set(why, "ORCPT address type is not an atom");
            return -1;
        }
    }
    if (tlen + 1 == s.len) {
        buf_set(why, "ORCPT with an empty address");
        return -1;
    }
    buf_reset(type);
    buf_catn(type, s.p, tlen);
    buf_reset(addr);
    if (dsn_xtext_decode(span_make(semi + 1, s.len - tlen - 1), addr, why) < 0)
        return -1;
    return 0;
}

/* dsn_orcpt_format - append "TYPE;xtext(ADDR)" */
void dsn_orcpt_format(const char *type, const char *addr, struct buf *out)
{
    buf_cat(out, type);
    buf_catc(out, ';');
    dsn_xtext_encode(addr, out);
}
