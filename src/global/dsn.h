/*
 * dsn - delivery status: the RFC 3463 status code, the RFC 3464 action and
 * the reason of one delivery attempt, and the RFC 3461 SMTP parameters
 * (NOTIFY, RET, ORCPT, ENVID with their xtext encoding).
 *
 * struct dsn borrows every string it points to: it describes a result that
 * lives elsewhere (a deliver_status message, a queue log record).
 *
 * Validators are strict and bounded: each reject path has its own text in
 * WHY, and none of them reads past the span it was given.
 */
#ifndef ULAK_DSN_H
#define ULAK_DSN_H

#include "lib/buf.h"

/* "X.YYY.ZZZ" and a NUL. */
#define DSN_STATUS_SIZE 10
/* RFC 3461 section 4: an xtext parameter value is at most 500 characters. */
#define DSN_XTEXT_MAX   500

enum dsn_action {
    DSN_ACTION_FAILED,
    DSN_ACTION_DELAYED,
    DSN_ACTION_DELIVERED,
    DSN_ACTION_RELAYED,
    DSN_ACTION_EXPANDED,
    /* Address verification (sendmail -bv), as Postfix reports it. */
    DSN_ACTION_DELIVERABLE,
    DSN_ACTION_UNDELIVERABLE,
};

struct dsn {
    char status[DSN_STATUS_SIZE]; /* "5.1.1" */
    enum dsn_action action;
    const char *reason;     /* for humans and the log (borrowed) */
    const char *remote_mta; /* Remote-MTA "dns; host", or NULL */
    const char *diag_code;  /* Diagnostic-Code "smtp; 550 ...", or NULL */
};

/*
 * dsn_status_check - S is "class.subject.detail" with class 2, 4 or 5,
 * subject and detail of 1 to 3 digits without a leading zero (RFC 3463).
 */
ULAK_NODISCARD int dsn_status_check(struct span s, struct buf *why);

/*
 * dsn_init - fill D; STATUS is checked, and must agree with ACTION (failed
 * takes class 5, delayed 4, undeliverable 4 or 5, the others 2).  REASON
 * is borrowed.
 */
ULAK_NODISCARD int dsn_init(struct dsn *d, const char *status,
                            enum dsn_action action, const char *reason,
                            struct buf *why);

/* dsn_action_name - "failed", "delayed", "delivered", "relayed",
 * "expanded", "deliverable", "undeliverable" */
const char *dsn_action_name(enum dsn_action a);
/* dsn_action_parse - the action named S (exact lower case); 0 or -1 (WHY) */
ULAK_NODISCARD int dsn_action_parse(const char *s, enum dsn_action *out,
                                    struct buf *why);
/* dsn_status_word - the log's status=: bounced, deferred, sent,
 * deliverable or undeliverable */
const char *dsn_status_word(enum dsn_action a);

/*
 * dsn_log - append "dsn=X.Y.Z, status=WORD (reason)" to OUT, the tail of
 * Postfix's delivery log line (the caller sanitizes the reason).
 */
void dsn_log(const struct dsn *d, struct buf *out);

/*
 * Between a delivery agent and the qmgr (ipc_msgs.def deliver_status).
 * dsn_from_status - D from S, borrowing S's strings; S comes from another
 * process, so its status and action are checked as dsn_init does.
 * dsn_to_status - S's status, action, reason, remote_mta and diag_code from
 * D (borrowed: D's status array must outlive S's encoding).
 */
struct ipc_deliver_status;
ULAK_NODISCARD int dsn_from_status(const struct ipc_deliver_status *s,
                                   struct dsn *d, struct buf *why);
void dsn_to_status(const struct dsn *d, struct ipc_deliver_status *s);

/* NOTIFY (RFC 3461 section 4.1): NEVER, or a list of the others. */
#define DSN_NOTIFY_NEVER   (1 << 0)
#define DSN_NOTIFY_SUCCESS (1 << 1)
#define DSN_NOTIFY_DELAY   (1 << 2)
#define DSN_NOTIFY_FAILURE (1 << 3)
#define DSN_NOTIFY_ANY \
    (DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY | DSN_NOTIFY_FAILURE)

/*
 * dsn_notify_parse - the NOTIFY value S (case-insensitive) as DSN_NOTIFY_*
 * bits.  Rejects empty items, unknown keywords, NEVER with others.
 */
ULAK_NODISCARD int dsn_notify_parse(struct span s, int *out, struct buf *why);
/* dsn_notify_format - append "NEVER" or "SUCCESS,DELAY,FAILURE" (a subset). */
void dsn_notify_format(int notify, struct buf *out);

enum dsn_ret {
    DSN_RET_NONE = 0, /* not given */
    DSN_RET_FULL = 1,
    DSN_RET_HDRS = 2,
};
/* dsn_ret_parse - "FULL" or "HDRS", case-insensitive. */
ULAK_NODISCARD int dsn_ret_parse(struct span s, enum dsn_ret *out,
                                 struct buf *why);
/* dsn_ret_name - "FULL", "HDRS", or NULL for DSN_RET_NONE. */
const char *dsn_ret_name(enum dsn_ret r);

/*
 * xtext (RFC 3461 section 4): printable ASCII except "+" and "=", with
 * "+XX" (two upper-case hex digits) for any other byte.
 *
 * dsn_xtext_decode - append the decoded S to OUT.  Rejects a value longer
 * than DSN_XTEXT_MAX, bytes outside "!".."~", a bare "=", a "+" without two
 * upper-case hex digits, and an encoded NUL.
 * dsn_xtext_encode - append S (a C string) encoded to OUT.
 */
ULAK_NODISCARD int dsn_xtext_decode(struct span s, struct buf *out,
                                    struct buf *why);
void dsn_xtext_encode(const char *s, struct buf *out);

/*
 * dsn_orcpt_parse - the ORCPT value S, "addr-type;xtext": TYPE gets the
 * address type as written (an atom: letters, digits, "-"), ADDR the decoded
 * address (not empty).  dsn_orcpt_format appends "TYPE;xtext(ADDR)".
 */
ULAK_NODISCARD int dsn_orcpt_parse(struct span s, struct buf *type,
                                   struct buf *addr, struct buf *why);
void dsn_orcpt_format(const char *type, const char *addr, struct buf *out);

#endif
