/*
 * mbox - append messages to a UNIX mailbox file, as Postfix's local(8)
 * and virtual(8) do.
 *
 * mbox_open() takes the configured locks and opens the file the way
 * Postfix does it (measured with strace on Postfix 3.7):
 *
 *   1. the dotlock PATH.lock first, when LOCK_METHOD_DOTLOCK is set;
 *   2. open(PATH, O_WRONLY|O_APPEND|O_NONBLOCK); a missing file is created
 *      with O_CREAT|O_EXCL and opts->mode (Postfix: 0600) and, when
 *      opts->chown_uid is set, given to that user;
 *   3. the checks, each a failure with Postfix's text: not a regular file
 *      ("destination PATH is not a regular file", 5.2.0), more than one
 *      hard link ("file has N hard links", 5.2.0), a symbolic link not
 *      owned by root ("file is a symbolic link", 5.2.0; root's links are
 *      followed), a file that changed between open and check ("file status
 *      changed unexpectedly", 4.2.0), an owner other than opts->owner when
 *      that is set ("destination PATH is not owned by recipient", 4.2.0:
 *      strict_mailbox_ownership); an open error is "cannot open file:
 *      ERROR" with 5.2.0 unless deliver_status_errno() maps it;
 *   4. the kernel locks, flock then fcntl ("unable to lock for exclusive
 *      access: ...", 4.2.0; a busy dotlock is 4.2.0 too);
 *   5. the size at that moment is remembered.
 *
 * mbox_append() writes the From_ line, Return-Path:, X-Original-To:,
 * Delivered-To: (as HDR_FLAGS select), the content with ">From " quoting,
 * and an empty line, then fsyncs.  On any failure the file is truncated
 * back to the remembered size, so no half message stays (a failed
 * truncation is logged as a warning).  mailbox_size_limit is enforced as
 * "error writing message: File too large", 5.2.2.
 *
 * mbox_close() releases the kernel locks, closes, and removes the dotlock.
 *
 * Privileges are the caller's: Postfix's local takes the dotlock and opens
 * the file as root when the spool directory is not writable by the user,
 * then writes as the recipient.
 */
#ifndef ULAK_MBOX_H
#define ULAK_MBOX_H

#include <sys/types.h>

#include "lib/lock.h"

#include "deliver.h"

struct mbox_opts {
    unsigned locks;          /* LOCK_METHOD_* */
    struct lock_retry retry; /* deliver_lock_attempts, ... */
    off_t size_limit;        /* mailbox_size_limit; 0: none */
    mode_t mode;             /* of a new file */
    uid_t chown_uid;         /* owner of a new file; (uid_t) -1: as is */
    gid_t chown_gid;         /* group of a new file; (gid_t) -1: as is */
    uid_t owner;             /* required owner; (uid_t) -1: any */
};

/* Postfix's defaults: fcntl and dotlock, 51200000 bytes, mode 0600. */
#define MBOX_OPTS_INIT                                                         \
    {                                                                          \
        LOCK_METHOD_FCNTL | LOCK_METHOD_DOTLOCK, LOCK_RETRY_DEFAULT, 51200000, \
            0600, (uid_t) -1, (gid_t) -1, (uid_t) -1                           \
    }

/*
 * mbox_opts_conf - fill O from main.cf: the locks from LOCK_PARAM
 * (mailbox_delivery_lock for local, virtual_mailbox_lock for virtual), the
 * limit from LIMIT_PARAM (mailbox_size_limit, virtual_mailbox_limit), the
 * retries from deliver_lock_attempts, deliver_lock_delay and
 * stale_lock_time; mode 0600, no ownership changes or checks (the caller
 * sets those per recipient).  -1 with WHY for an unknown lock method.
 */
int mbox_opts_conf(struct mbox_opts *o, const char *lock_param,
                   const char *limit_param, struct buf *why);

struct mbox;

/* mbox_open - lock and open PATH; NULL with ST and WHY on failure.  The
 * result is owned by the caller and released with mbox_close(). */
struct mbox *mbox_open(const char *path, const struct mbox_opts *opts,
                       struct deliver_status *st, struct buf *why);

/* mbox_append - append one message (see above); 0, or -1 with ST and WHY
 * after truncating back. */
int mbox_append(struct mbox *mb, const struct deliver_env *env,
                unsigned hdr_flags, struct deliver_src *src,
                struct deliver_status *st, struct buf *why);

/* mbox_size - the file's size after the last append (or at open). */
off_t mbox_size(const struct mbox *mb);

/* mbox_close - unlock and close; mbox_close(NULL) is a no-op. */
void mbox_close(struct mbox *mb);

/*
 * mbox_deliver - open, append with DELIVER_HDR_MBOX, close: one local(8)
 * mailbox delivery.  0 with ST 2.0.0, or -1 with ST and WHY.
 */
int mbox_deliver(const char *path, const struct mbox_opts *opts,
                 const struct deliver_env *env, struct deliver_src *src,
                 struct deliver_status *st, struct buf *why);

#endif
