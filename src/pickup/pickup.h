/*
 * pickup - local submissions from maildrop/ into the queue, through
 * cleanup (Postfix's pickup(8)).
 *
 * pickup_file reads one maildrop file strictly (queue_file_read: a
 * damaged file is moved to corrupt/ with a warning and never crashes or
 * stalls pickup), feeds it to cleanup as a local submission, and removes
 * the maildrop file only after cleanup committed its incoming/ file.
 *
 * What a maildrop file may say is limited, because any local user writes
 * one: the uid is the file's owner (not the uid attribute it holds), the
 * rewrite context is always local, and of the other attributes only
 * sender_fullname is taken (content_filter, log_* and the rest are
 * dropped, as Postfix's pickup drops them).
 *
 * Log lines: "QUEUEID: uid=N from=<SENDER>" (the new queue ID, the sender
 * as submitted), then cleanup's.
 */
#ifndef ULAK_PICKUP_H
#define ULAK_PICKUP_H

#include "../cleanup/cleanup.h"
#include "../global/queue_dir.h"

enum pickup_result {
    PICKUP_DONE,    /* queued (or discarded, or rejected): file removed */
    PICKUP_CORRUPT, /* damaged: moved to corrupt/ */
    PICKUP_RETRY,   /* a temporary problem: the file stays for later */
    PICKUP_GONE,    /* the file went away meanwhile */
};

/* pickup_file - process maildrop file ID at PATH (from queue_scan). */
enum pickup_result pickup_file(struct cleanup_conf *cf,
                               const struct queue_dir *qd, const char *id,
                               const char *path);
/* pickup_main - the pickup daemon (master.cf command "pickup"). */
int pickup_main(int argc, char **argv);

/* pickup_scan - every file in maildrop/; the number processed (done or
 * corrupt), or -1 when the folder cannot be read (logged). */
int pickup_scan(struct cleanup_conf *cf, const struct queue_dir *qd);

#endif
