/*
 * maildir - crash-safe delivery into a qmail-style Maildir, as Postfix's
 * local(8) and virtual(8) do it (measured with strace on Postfix 3.7):
 *
 *   1. create DIR/tmp/SEC.PPID.HOST with O_CREAT|O_EXCL, mode 0600; when
 *      a directory is missing, DIR, DIR/tmp, DIR/new and DIR/cur are made
 *      (mode 0700) and the create is tried again;
 *   2. write Return-Path:, X-Original-To:, Delivered-To: and the content
 *      (no From_ line, no ">From " quoting, no empty line at the end), and
 *      fsync;
 *   3. link it as DIR/new/SEC.VDEVIINOMUSEC.HOST (DEV and INO of the tmp
 *      file in lower-case hex, USEC the microseconds of the start time in
 *      decimal without padding; no ",S=size" suffix: Postfix adds none),
 *      making DIR/cur and DIR/new when the link says they are missing, and
 *      remove the tmp name;
 *   4. fsync DIR/new, so that the new entry survives a crash (Postfix does
 *      not; a failure here removes the new entry again and defers, so a
 *      retry cannot duplicate the message).
 *
 * HOST is gethostname() (not myhostname: Postfix uses the system name),
 * with "/" written as "\057" and ":" as "\072" as the Maildir
 * specification says (Postfix refuses to run with such a name at all).
 *
 * On any failure the tmp file is removed.  Reasons, in Postfix's words
 * after its "maildir delivery failed: " prefix (which the caller adds):
 * "create maildir file PATH: ERROR" for the create and the link (4.2.0;
 * EACCES is 5.2.0 with MAILDIR_FLAG_EACCES_BOUNCE, which is what local(8)
 * does, while virtual(8) defers), "error writing message: ERROR" for the
 * write (ENOSPC 4.3.0, the size limit 5.2.2 "File too large").  The
 * size limit (virtual_mailbox_limit, mailbox_size_limit) caps each file.
 */
#ifndef ULAK_MAILDIR_H
#define ULAK_MAILDIR_H

#include <sys/types.h>

#include "deliver.h"

enum maildir_flag {
    MAILDIR_FLAG_EACCES_BOUNCE = 1u << 0,
};

struct maildir_opts {
    off_t size_limit;     /* per file; 0: none */
    unsigned flags;       /* MAILDIR_FLAG_* */
    const char *hostname; /* NULL: gethostname() */
};

/*
 * maildir_deliver - deliver one message into the Maildir DIR (with or
 * without the trailing "/").  0 with ST 2.0.0 and, when NEW_PATH is not
 * NULL, the file's name under new/ in it; -1 with ST and WHY.
 */
int maildir_deliver(const char *dir, const struct maildir_opts *opts,
                    const struct deliver_env *env, struct deliver_src *src,
                    struct buf *new_path, struct deliver_status *st,
                    struct buf *why);

/* maildir_hostname - append HOST, escaped as above, to OUT. */
void maildir_hostname(struct buf *out, const char *host);

#endif
