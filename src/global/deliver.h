/*
 * deliver - what the mailbox writers (mbox, maildir) share: the outcome of
 * a delivery attempt, the message content as a stream of lines, the lines
 * that local(8) and virtual(8) prepend, and Delivered-To loop detection.
 *
 * Content.  A struct deliver_src yields the message as it is in the queue
 * file: the header lines, the empty line, the body lines, each without its
 * line terminator.  A long line may come in pieces: a piece with
 * more = true continues in the next one (no line break between them), so
 * a reader never needs a buffer as large as the longest line.  The source
 * owns the bytes it yields; they stay valid until its next call.  A source
 * is read once; to deliver the same message again, make a new one.
 *
 * Outcome.  Every delivery function returns 0 or -1 and fills a struct
 * deliver_status: the class (sent, defer, bounce), an RFC 3463 status
 * ("2.0.0", "4.2.0", "5.2.2", ...) and the errno behind a failure.  The
 * reason text goes to the caller's struct buf *why, in the words Postfix
 * uses after its "cannot update mailbox PATH for user U." or "maildir
 * delivery failed:" prefixes, which the caller adds.
 *
 * Addresses (sender, recipients) are passed in external, quoted form
 * ("a b"@x becomes "\"a b\"@x"): Postfix writes them that way in the From_
 * line, Return-Path:, X-Original-To: and Delivered-To:.
 */
#ifndef ULAK_DELIVER_H
#define ULAK_DELIVER_H

#include <sys/types.h>
#include <time.h>

#include "lib/buf.h"

enum deliver_class {
    DELIVER_SENT,
    DELIVER_DEFER,  /* 4.x.x: try again later */
    DELIVER_BOUNCE, /* 5.x.x: give up */
};

struct deliver_status {
    enum deliver_class cls;
    char dsn[8]; /* "4.2.0" */
    int err;     /* errno of the failure, 0 if none */
};

/* deliver_status_set - fill ST; the class follows DSN's first digit. */
void deliver_status_set(struct deliver_status *st, const char *dsn, int err);

/*
 * deliver_status_errno - the status of a file-system failure ERR, as
 * Postfix maps it: ENOSPC 4.3.0 (mail system full), EFBIG 5.2.2 (mailbox
 * full: mailbox_size_limit, virtual_mailbox_limit), EDQUOT 4.2.2, EAGAIN
 * and ESTALE 4.2.0, anything else DEFAULT_DSN.
 */
void deliver_status_errno(struct deliver_status *st, int err,
                          const char *default_dsn);

/* One piece of a line (see above). */
struct deliver_line {
    struct span text;
    bool more;
};

/* deliver_next_fn - the next piece: 1 with *OUT set, 0 at the end, -1 on
 * a read error (a temporary failure; the reason in WHY). */
typedef int (*deliver_next_fn)(void *ctx, struct deliver_line *out,
                               struct buf *why);

struct deliver_src {
    deliver_next_fn next;
    void *ctx;
};

/* A source over a message in memory ("\n" line ends; a "\r" before "\n" is
 * kept as content). */
struct deliver_mem {
    const char *p;
    size_t len;
    size_t off;
};

/* deliver_src_mem - a source over TEXT[0..LEN), which must outlive it. */
void deliver_src_mem(struct deliver_src *src, struct deliver_mem *mem,
                     const char *text, size_t len);

/* The envelope facts of one delivery. */
struct deliver_env {
    const char *sender;    /* "" for the null sender */
    const char *recipient; /* Delivered-To: value (final recipient) */
    const char *orig_rcpt; /* X-Original-To: value; NULL: none */
    time_t now;            /* From_ line time; 0: time(NULL) */
};

/* Which lines to prepend, in this fixed order (Postfix's). */
enum deliver_hdr {
    DELIVER_HDR_FROM_LINE = 1u << 0,    /* "From sender  asctime" (mbox) */
    DELIVER_HDR_RETURN_PATH = 1u << 1,  /* Return-Path: <sender> */
    DELIVER_HDR_ORIG_TO = 1u << 2,      /* X-Original-To: orig_rcpt */
    DELIVER_HDR_DELIVERED_TO = 1u << 3, /* Delivered-To: recipient */
};

#define DELIVER_HDR_MAILDIR \
    (DELIVER_HDR_RETURN_PATH | DELIVER_HDR_ORIG_TO | DELIVER_HDR_DELIVERED_TO)
#define DELIVER_HDR_MBOX (DELIVER_HDR_FROM_LINE | DELIVER_HDR_MAILDIR)

/*
 * deliver_hdr_format - append to OUT the lines FLAGS select, each ending in
 * "\n".  The From_ line is "From SENDER  Www Mmm dd hh:mm:ss yyyy" in local
 * time (two spaces; the day padded with a space; MAILER-DAEMON for the
 * null sender).  X-Original-To: is written only when orig_rcpt is not
 * NULL, Delivered-To: only when recipient is not NULL.  A line break in
 * an address is written as "?" (Postfix never lets one into the queue; a
 * damaged queue file must not add header lines).  Returns -1 if OUT's cap
 * was hit.
 */
int deliver_hdr_format(struct buf *out, const struct deliver_env *env,
                       unsigned flags);

/*
 * Delivered-To loop detection, as Postfix's local(8) does it: the
 * primary header (the lines before the first empty line) is searched for
 * lines "Delivered-To:" (the name in any case), and the value after the
 * colon, with leading blanks skipped but nothing else changed, is compared
 * with the recipient without regard to case.  A folded continuation line is
 * not part of the value, and a trailing blank makes a value differ, exactly
 * as in Postfix 3.7.  A loop is a permanent failure: "mail forwarding loop
 * for ADDR", 5.4.6.
 */
struct deliver_seen;

/* deliver_seen_read - read SRC's primary header; NULL with WHY on a read
 * error.  The result is owned by the caller. */
struct deliver_seen *deliver_seen_read(struct deliver_src *src,
                                       struct buf *why);
/* deliver_seen_has - whether ADDR is in a Delivered-To: line. */
bool deliver_seen_has(const struct deliver_seen *seen, const char *addr);
void deliver_seen_free(struct deliver_seen *seen);

/*
 * deliver_loop_check - 1 and ST = 5.4.6 "mail forwarding loop for ADDR"
 * (in WHY) when SRC's header has a Delivered-To: ADDR; 0 when not; -1 with
 * ST = 4.3.0 on a read error.
 */
int deliver_loop_check(struct deliver_src *src, const char *addr,
                       struct deliver_status *st, struct buf *why);

/*
 * deliver_copy - write the prepended lines and the content of SRC to FD at
 * its current offset, with writes of up to 64 kB, then fsync FD.
 *
 * START is the file's size before the delivery and LIMIT the largest size
 * it may reach (0: none): a message that would pass it fails before the
 * bytes beyond it are written, with EFBIG, "error writing message: File too
 * large", 5.2.2, as Postfix's mailbox_size_limit and virtual_mailbox_limit
 * do.  COPY_FLAGS: DELIVER_COPY_QUOTE prefixes ">" to every line that
 * begins with "From " (only those: ">From " stays as it is, "From\t" too);
 * DELIVER_COPY_BLANK appends an empty line (mbox).  Failures: a read error
 * "error reading message: ..." 4.3.0, a write or fsync error "error writing
 * message: ..." with deliver_status_errno(.., "4.2.0").  The caller undoes
 * a partial write (truncate, unlink).
 */
enum deliver_copy_flag {
    DELIVER_COPY_QUOTE = 1u << 0,
    DELIVER_COPY_BLANK = 1u << 1,
};

int deliver_copy(int fd, off_t start, off_t limit,
                 const struct deliver_env *env, unsigned hdr_flags,
                 unsigned copy_flags, struct deliver_src *src,
                 struct deliver_status *st, struct buf *why);

#endif
