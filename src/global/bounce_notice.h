/*
 * bounce_notice - a delivery status notification (bounce_report.h) queued
 * as a new message in incoming/, the way Postfix's bounce(8) hands one to
 * cleanup: from the null sender to the report's recipient, with
 * "Received: by $myhostname ($mail_name)" / "id NEWID; DATE" first and
 * "Message-Id: <YYYYMMDDhhmmss.NEWID@$myhostname>" last among the headers.
 * The qmgr (failures, delays, success) and pickup (a locally submitted
 * message that cleanup rejected) write their reports through it.
 *
 * The new file is committed (fsync, rename, fsync of the folder) before
 * the function returns 0; it logs "NEWID: message-id=<...>" and leaves the
 * qmgr's wakeup to the caller.  Everything given is borrowed.
 */
#ifndef ULAK_BOUNCE_NOTICE_H
#define ULAK_BOUNCE_NOTICE_H

#include "../lib/buf.h"
#include "bounce_report.h"
#include "queue_dir.h"
#include "queue_file.h"

/* bounce_notice_init - BR zeroed, then KIND and what the report says of
 * message ID with envelope ENV (sender, arrival, ENVID, RET) and of the
 * configuration (myhostname, bounce_size_limit, delay_warning_time,
 * maximal_queue_lifetime); the caller adds the recipients, the content
 * and, for a report to someone else than the sender, to. */
void bounce_notice_init(struct bounce_report *br, enum bounce_report_kind kind,
                        const char *id, const struct queue_env *env);

/* bounce_notice_queue - report BR into incoming/ of QD; its queue ID into
 * NEWID.  0, or -1 with WHY (nothing is left behind). */
int bounce_notice_queue(const struct queue_dir *qd,
                        const struct bounce_report *br, char *newid,
                        size_t newid_size, struct buf *why);

/* The original message's content for bounce_report.read_content: the
 * content records of a queue file held in memory. */
struct bounce_notice_content {
    struct queue_content c;
};
/* bounce_notice_content_init - read BNC over DATA (the whole queue file,
 * parsed into ENV); sets BR's read_content and read_ctx.  DATA and ENV
 * must outlive the report's writing. */
void bounce_notice_content_init(struct bounce_notice_content *bnc,
                                struct span data, const struct queue_env *env,
                                struct bounce_report *br);

#endif
