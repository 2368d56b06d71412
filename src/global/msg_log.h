/*
 * msg_log - the per-message logs in bounce/, defer/ and trace/: one text
 * file per queue ID with one entry per recipient (address, DSN status,
 * action, reason).  Delivery status updates append entries; mailq shows
 * the reasons of defer/, bounces and delay notices read them back.
 *
 * docs/QUEUE.md ("Per-message logs") is the specification.  In short, an
 * entry is written with ONE write(2) on a file opened with O_APPEND, then
 * fsynced, as
 *
 *   "\n" "recipient=ADDR\n" [offset= orig_rcpt= dsn_orig_rcpt= notify=]
 *   "status=X.Y.Z\n" "action=ACTION\n" "reason=TEXT\n"
 *   [remote_mta= diag_code=] "\n"
 *
 * The fields are those of bounce_report.h's struct bounce_report_rcpt
 * (ACTION is a dsn_action_name), so a bounce or delay report is built
 * from the entries without another source.
 *
 * so that concurrent writers (several delivery agents for one message)
 * never interleave, and an entry torn by a crash is recognised and
 * skipped by the reader: an entry counts only when it is ended by an empty
 * line and has recipient, status, action and reason.
 *
 * Values never hold a NUL, CR or LF (the writer turns control characters
 * into '?').  The reader is a pure function over a span (msg_log_parse):
 * any byte sequence is read without crashing; what does not fit the
 * format is skipped.  Names it does not know are ignored, so that fields
 * can be added later.
 *
 * Ownership: struct msg_log owns its entries and their strings
 * (msg_log_fini).  The entry given to msg_log_append is borrowed for the
 * call.  No function here logs: failures are -1 with a reason in WHY.
 */
#ifndef ULAK_MSG_LOG_H
#define ULAK_MSG_LOG_H

#include "../lib/buf.h"
#include "queue_dir.h"

/* The largest log file msg_log_read reads (a message with very many
 * recipients and long reasons stays far below it). */
#define MSG_LOG_MAX ((size_t) 64 << 20)

struct msg_log_entry {
    char *recipient;     /* the recipient address, as in the queue file */
    long long offset;    /* of its R record in the queue file; -1: unknown */
    char *orig_rcpt;     /* the original recipient, or NULL */
    char *dsn_orig_rcpt; /* DSN ORCPT "type;address", or NULL */
    int notify;          /* DSN NOTIFY bits (QUEUE_NOTIFY_*); 0: none */
    char *status;        /* RFC 3463 status "4.3.2" */
    char *action;        /* RFC 3464 action, as dsn_action_name() */
    char *reason;        /* the text for the report and mailq */
    char *remote_mta;    /* Remote-MTA "dns; host", or NULL */
    char *diag_code;     /* Diagnostic-Code "smtp; 550 ...", or NULL */
};

struct msg_log {
    struct msg_log_entry *entries; /* owned, in file order */
    size_t count;
    size_t skipped; /* torn or malformed entries that were left out */
};

/* msg_log_format - one entry as the bytes that msg_log_append writes,
 * appended to OUT.  E->recipient, status, action and reason must not be
 * NULL (msg_panic). */
void msg_log_format(const struct msg_log_entry *e, struct buf *out);

/* msg_log_parse - the complete entries of a log file's bytes into LOG
 * (which the caller initialised to zero, and finalizes). */
void msg_log_parse(struct span file, struct msg_log *log);
void msg_log_fini(struct msg_log *log);

/* msg_log_append - append entry E to the log of queue ID in folder F
 * (QUEUE_BOUNCE, QUEUE_DEFER or QUEUE_TRACE), creating the file (0600) and
 * its hashed sub-folders when needed; one write, then fsync of the file
 * (and of its folder when the file was created).  0 means it is on
 * disk. */
int msg_log_append(const struct queue_dir *qd, enum queue_folder f,
                   const char *id, const struct msg_log_entry *e,
                   struct buf *why);
/* msg_log_read - the entries of the log of ID in folder F into LOG
 * (initialised to zero by the caller).  No log file is not an error: LOG
 * stays empty, and the result is 0.  -1 with WHY when the file cannot be
 * read, is larger than MSG_LOG_MAX, or is not a regular file. */
int msg_log_read(const struct queue_dir *qd, enum queue_folder f,
                 const char *id, struct msg_log *log, struct buf *why);
/* msg_log_remove - remove the log of ID in folder F (and fsync its
 * folder); no such file is success. */
int msg_log_remove(const struct queue_dir *qd, enum queue_folder f,
                   const char *id, struct buf *why);

#endif
