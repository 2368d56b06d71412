/*
 * bounce_report - compose a delivery status notification (RFC 3464) in
 * the shape Postfix's bounce(8) gives it: a failure ("Undelivered Mail
 * Returned to Sender"), delay ("Delayed Mail (still being retried)") or
 * success ("Successful Mail Delivery Report") or address verification
 * ("Mail Delivery Status Report", sendmail -bv) report, as multipart/report
 * with the human text of Postfix's built-in templates (postconf -b), a
 * message/delivery-status part, and the original message (message/rfc822)
 * or its headers (text/rfc822-headers).
 *
 * The report is produced as lines without line terminators (header lines
 * first, then an empty line and the body), for the queue writer to store;
 * the queue writer (cleanup) adds Received: and Message-Id: as for any
 * message, and the envelope sender of the report is the null sender.
 *
 * What is returned of the original: a failure report returns the whole
 * message unless RET=HDRS; delay, success and verify reports return only
 * the headers, whatever RET says (as Postfix 3.7 does); a message whose
 * content exceeds bounce_size_limit is returned as headers only (Postfix
 * >= 2.5); a limit of 0 returns nothing.
 * The original's content is read through a callback, headers first, as
 * stored in the queue file; at most bounce_size_limit bytes of it are held
 * in memory.  When it cannot be read, the report goes out without it (one
 * warning): the sender still learns what happened.
 *
 * Every string interpolated into the report (addresses, reasons, ...) has
 * its control characters replaced, so no input can add a header or a MIME
 * boundary.  All struct members are borrowed.
 */
#ifndef ULAK_BOUNCE_REPORT_H
#define ULAK_BOUNCE_REPORT_H

#include <time.h>

#include "lib/buf.h"
#include "global/dsn.h"

enum bounce_report_kind {
    BOUNCE_REPORT_FAILURE,
    BOUNCE_REPORT_DELAY,
    BOUNCE_REPORT_SUCCESS,
    BOUNCE_REPORT_VERIFY,
};

struct bounce_report_rcpt {
    const char *address;   /* the final recipient */
    const char *orig_rcpt; /* as the sender gave it, or NULL */
    const char *orcpt; /* the DSN ORCPT as received ("rfc822;xtext"), or NULL */
    struct dsn dsn;
};

/*
 * Reads the next line of the original message (without its terminator)
 * into LINE (reset by the callee).  1: a line, 0: the end, -1: error (WHY).
 */
typedef int (*bounce_report_read_fn)(void *ctx, struct buf *line,
                                     struct buf *why);
/* Receives one line of the report; 0, or -1 to stop (with WHY). */
typedef int (*bounce_report_out_fn)(void *ctx, const char *line, size_t len,
                                    struct buf *why);

struct bounce_report {
    enum bounce_report_kind kind;
    bool postmaster_copy; /* Postmaster-Subject, no template text, headers */
    const char *to;       /* the report's recipient; NULL: the sender */
    /* The original message. */
    const char *queue_id;
    const char *sender; /* envelope sender ("" is <>) */
    time_t arrival;
    const char *envid; /* the DSN ENVID as received (xtext), or NULL */
    enum dsn_ret ret;
    const struct bounce_report_rcpt *rcpts;
    size_t nrcpts;
    bounce_report_read_fn read_content; /* NULL: no original to return */
    void *read_ctx;
    /* Configuration. */
    const char *myhostname;
    const char *charset;         /* of the text part; NULL: "utf-8" (Postfix's
                          * with smtputf8_enable = yes; "us-ascii" else) */
    size_t bounce_size_limit;    /* bytes of original content */
    long delay_warning_time;     /* seconds */
    long maximal_queue_lifetime; /* seconds */
    time_t now;                  /* Date:, the boundary, Will-Retry-Until */
};

/*
 * bounce_report_write - produce the report line by line through OUT.
 * Fails only when OUT fails or a recipient's DSN status is invalid (WHY).
 */
ULAK_NODISCARD int bounce_report_write(const struct bounce_report *r,
                                       bounce_report_out_fn out, void *ctx,
                                       struct buf *why);
/* bounce_report_to_buf - the same, appended to OUT with "\n" after lines. */
ULAK_NODISCARD int bounce_report_to_buf(const struct bounce_report *r,
                                        struct buf *out, struct buf *why);

/*
 * bounce_report_date - append T as an RFC 5322 date the way Postfix writes
 * it: "Mon, 30 Nov 2026 18:43:04 +0000 (UTC)" (local time zone).
 */
void bounce_report_date(time_t t, struct buf *out);

#endif
