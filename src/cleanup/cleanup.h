/*
 * cleanup - the one way from a submission into the queue, as Postfix's
 * cleanup(8) does it: used in-process by every way in (pickup now, smtpd
 * later).
 *
 * A message goes through it in order: cleanup_open (a new queue file in
 * incoming/, so the queue ID is known at once), the envelope
 * (cleanup_time, cleanup_sender, cleanup_attr, cleanup_envid, cleanup_ret,
 * cleanup_rcpt), the content one line at a time (cleanup_line, each line
 * without its LF), then cleanup_finish.  Along the way, as Postfix does:
 *   - the sender is rewritten to standard form in the local context
 *     (rewrite.h), then sender_canonical_maps, canonical_maps and
 *     masquerade_domains, as their *_classes say;
 *   - each recipient likewise (recipient_canonical_maps, canonical_maps,
 *     masquerade), then virtual_alias_maps expansion (one-to-many,
 *     recursive, virtual(5) key order, limits), duplicates removed; the
 *     recipients are written in the extracted section at the end with the
 *     original recipient (O) and, when none was given, the DSN ORCPT
 *     "rfc822;ADDR" that Postfix records for local submissions;
 *   - a "Received: by HOST (MAIL_NAME, from userid N)" header first for
 *     local submissions (a "uid" attribute); header_checks and body_checks
 *     with their actions and log lines; address headers rewritten in the
 *     context of the "rewrite_context" attribute (local by default);
 *     Message-Id:, Date: and From: added when missing (local submissions,
 *     or always_add_missing_headers);
 *   - message_size_limit, header_size_limit, hopcount_limit;
 *   - receive_override_options: no_address_mappings (no canonical,
 *     masquerade or virtual alias mapping), no_header_body_checks;
 *     no_unknown_recipient_checks and no_milters are accepted and mean
 *     nothing here (smtpd's and milter's business).
 * cleanup_finish commits the file (only then is the message safe), moves
 * it to hold/ after a HOLD action, and sends a wakeup to the queue manager
 * (public/$queue_service_name; a qmgr that is not running is fine: the
 * file waits in incoming/).
 *
 * Log lines (Postfix's): "QUEUEID: message-id=<...>", and for a check
 * action "QUEUEID: ACTION: header|body TEXT from CLIENT; from=<S> to=<R>[
 * proto=P helo=<H>][: TEXT]" where ACTION is reject, warning, hold,
 * discard, redirect, filter, prepend, replace, bcc.
 *
 * Ownership: struct cleanup_conf is a snapshot of main.cf (tables open);
 * struct cleanup is one message; cleanup_finish and cleanup_abort free
 * it.  cleanup_id is borrowed until then.
 */
#ifndef ULAK_CLEANUP_H
#define ULAK_CLEANUP_H

#include <sys/time.h>

#include "../lib/argv.h"
#include "../lib/buf.h"

struct cleanup_conf;
struct cleanup;

/* Address classes (canonical_classes, masquerade_classes). */
#define CLEANUP_CLASS_ENV_SENDER (1 << 0)
#define CLEANUP_CLASS_ENV_RCPT   (1 << 1)
#define CLEANUP_CLASS_HDR_SENDER (1 << 2)
#define CLEANUP_CLASS_HDR_RCPT   (1 << 3)

/* receive_override_options */
#define CLEANUP_NO_ADDR_MAPPINGS (1 << 0)
#define CLEANUP_NO_HDR_BODY      (1 << 1)
#define CLEANUP_NO_UNKNOWN_RCPT  (1 << 2)
#define CLEANUP_NO_MILTERS       (1 << 3)

/* cleanup_conf_new - open the tables and read the parameters of the
 * loaded main.cf; NULL with WHY for a bad value (an unknown class or
 * override option, a bad queue directory).  Tables that cannot be opened
 * make their lookups fail (the message is deferred), as maps.h says. */
struct cleanup_conf *cleanup_conf_new(struct buf *why);
void cleanup_conf_free(struct cleanup_conf *cf);
/* cleanup_conf_internal - CF from now on for mail that the mail system
 * makes itself (local(8)'s forwarded copies): no header_checks or
 * body_checks, as Postfix's cleanup does for such mail. */
void cleanup_conf_internal(struct cleanup_conf *cf);

/* cleanup_parse_classes - a *_classes value into CLEANUP_CLASS_* bits;
 * -1 with WHY for an unknown name. */
int cleanup_parse_classes(const char *param, const char *value, int *bits,
                          struct buf *why);
/* cleanup_parse_overrides - receive_override_options into CLEANUP_NO_*. */
int cleanup_parse_overrides(const char *value, int *bits, struct buf *why);

/*
 * Address mapping (also for sendmail -bv and smtpd's checks).
 */
/* cleanup_map_canonical - ADDR (standard form) through the canonical maps
 * of address class CLASS (one of CLEANUP_CLASS_*) into OUT; -1 with WHY
 * when a table failed (defer the message). */
int cleanup_map_canonical(struct cleanup_conf *cf, int cls, const char *addr,
                          struct buf *out, struct buf *why);
/* cleanup_masquerade - ADDR with masquerade_domains applied (class CLS)
 * into OUT. */
void cleanup_masquerade(const struct cleanup_conf *cf, int cls,
                        const char *addr, struct buf *out);
/* cleanup_map_virtual - the virtual_alias_maps expansion of ADDR appended
 * to OUT (ADDR itself when it has none); -1 with WHY on a table failure
 * or when the recursion or expansion limit is passed (Postfix's
 * "unreasonable ... -- message not accepted, try again later"). */
int cleanup_map_virtual(struct cleanup_conf *cf, const char *addr,
                        struct argv *out, struct buf *why);
/* cleanup_rewrite_env - ADDR (internal form) as an envelope address of
 * class CLS becomes after rewriting, canonical mapping and masquerading
 * (as the override options allow) into OUT; -1 with WHY (table failure). */
int cleanup_rewrite_env(struct cleanup_conf *cf, int cls, const char *addr,
                        struct buf *out, struct buf *why);

/*
 * One message.
 */
enum cleanup_status {
    CLEANUP_OK,        /* committed (in incoming/, or hold/) */
    CLEANUP_DISCARDED, /* a DISCARD action: accepted and dropped */
    CLEANUP_REJECTED,  /* a REJECT action or a limit: REASON "5.x.y text" */
    CLEANUP_TEMPFAIL,  /* try again later: REASON "4.x.y text" */
};

/* cleanup_open - start a message: a new queue file in incoming/.  NULL
 * with WHY when the file cannot be made. */
struct cleanup *cleanup_open(struct cleanup_conf *cf, struct buf *why);
/* cleanup_id - the queue ID of the message (borrowed until finish). */
const char *cleanup_id(const struct cleanup *c);

/* The envelope, before the first cleanup_line.  Addresses are in
 * internal form, as given (not rewritten yet). */
void cleanup_time(struct cleanup *c, const struct timeval *arrival);
void cleanup_sender(struct cleanup *c, const char *sender);
/* cleanup_attr - an attribute (docs/QUEUE.md): rewrite_context,
 * sender_fullname and uid steer cleanup; log_* say where the mail came
 * from; all are kept in the queue file. */
void cleanup_attr(struct cleanup *c, const char *name, const char *value);
void cleanup_envid(struct cleanup *c, const char *envid);
void cleanup_ret(struct cleanup *c, int ret);
void cleanup_rcpt(struct cleanup *c, const char *addr, const char *orcpt,
                  int notify);
/* cleanup_rcpt_orig - as cleanup_rcpt, with ORIG (internal form) kept as
 * the original recipient instead of ADDR, and the DSN ORCPT made from it
 * when ORCPT is NULL (local(8) forwarding, as Postfix keeps them). */
void cleanup_rcpt_orig(struct cleanup *c, const char *addr, const char *orig,
                       const char *orcpt, int notify);

/* cleanup_smtpd_action - an action of smtpd's access restrictions for
 * this message, before the content: "HOLD", "DISCARD", "FILTER"
 * (ARG transport:destination, the last wins), "REDIRECT" (ARG an address:
 * every recipient goes there instead, the last wins) or "BCC" (ARG an
 * address added as a recipient).  smtpd logs them itself. */
void cleanup_smtpd_action(struct cleanup *c, const char *action,
                          const char *arg);

/* cleanup_date - TIME as a header date, "Mon, 30 Nov 2026 19:27:10 +0000
 * (UTC)" in local time, as Postfix writes Date: and Received:. */
void cleanup_date(time_t when, struct buf *out);

/* cleanup_line - one content line (without its LF). */
void cleanup_line(struct cleanup *c, const char *p, size_t len);

/* cleanup_finish - end the message: recipients, commit, hold, wakeup.
 * REASON gets the text for REJECTED and TEMPFAIL.  Frees C. */
enum cleanup_status cleanup_finish(struct cleanup *c, struct buf *reason);
/*
 * The same end of a message without blocking the caller's loop (smtpd):
 * the commit - fsync of the file, rename to its queue ID, fsync of the
 * folder - runs on one of cleanup's commit workers (threads), so that
 * many sessions' fsyncs proceed at once and the loop serves the other
 * sessions meanwhile.  Nothing is said to be queued before the file and
 * its directory entry are durable: DONE gets CLEANUP_OK only then.
 */
struct loop;
struct cleanup_job;
/* cleanup_done_fn - the outcome of an asynchronous finish: ST as
 * cleanup_finish returns it, REASON its text (borrowed for the call). */
typedef void (*cleanup_done_fn)(void *arg, enum cleanup_status st,
                                const char *reason);
/* cleanup_finish_async - as cleanup_finish.  0: finished already (a
 * reject, discard or temporary failure found before the commit, or no
 * worker could be started and the commit ran here), *ST and REASON are
 * the outcome, DONE is never called.  1: the commit is on its way; DONE
 * (ARG, ...) is called later from loop L (never from inside this call),
 * and *JOB names it for cleanup_finish_cancel until then.  Frees C
 * either way.  One loop per process. */
int cleanup_finish_async(struct cleanup *c, struct loop *l,
                         enum cleanup_status *st, struct buf *reason,
                         cleanup_done_fn done, void *arg,
                         struct cleanup_job **job);
/* cleanup_finish_cancel - the caller goes away: DONE is not called (the
 * commit itself completes: the message may be queued without its client
 * having heard so, as after a connection lost after the reply).  NULL:
 * no-op.  JOB is invalid afterwards. */
void cleanup_finish_cancel(struct cleanup_job *job);

/* cleanup_abort - drop the message (no file stays); NULL: no-op. */
void cleanup_abort(struct cleanup *c);

#endif
