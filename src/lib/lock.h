/*
 * lock - exclusive mailbox locks: kernel locks (flock, fcntl) on an open
 * descriptor and the ".lock" file protocol (dotlock), as Postfix's
 * mailbox_delivery_lock and virtual_mailbox_lock name them.
 *
 * Every attempt is non-blocking; a busy lock is retried up to
 * retry->attempts times in all, sleeping about retry->delay_ms between
 * attempts (a random time between half and one and a half times the delay,
 * so that competing processes do not retry in lock-step, which is what
 * Postfix's deliver_lock_delay does too).  Measured against Postfix 3.7:
 *
 *   - the kernel locks are taken in a fixed order, flock before fcntl, each
 *     with its own attempts, whatever order the parameter lists them in;
 *   - a dotlock is the file PATH.lock created with O_CREAT|O_EXCL and mode
 *     0, closed at once and removed on release;
 *   - a lock file whose status-change time (ctime, not mtime: touch cannot
 *     make a live lock look stale) is more than stale_sec seconds old is
 *     removed, and the next attempt comes after the usual sleep; no stale
 *     check follows the last attempt.
 *
 * Failures return -1 with errno set (EAGAIN for a busy kernel lock, EEXIST
 * for a busy dotlock) and the reason in WHY, in Postfix's words: "unable
 * to lock for exclusive access: Resource temporarily unavailable", "unable
 * to create lock file /var/mail/u.lock: File exists".  The caller decides
 * the status (a busy lock is a temporary failure) and logs.
 */
#ifndef ULAK_LOCK_H
#define ULAK_LOCK_H

#include "buf.h"

/* The methods, as a bit mask. */
enum lock_method {
    LOCK_METHOD_FLOCK = 1u << 0,
    LOCK_METHOD_FCNTL = 1u << 1,
    LOCK_METHOD_DOTLOCK = 1u << 2,
};

#define LOCK_METHOD_KERNEL (LOCK_METHOD_FLOCK | LOCK_METHOD_FCNTL)

/* How often and how long to try (deliver_lock_attempts, deliver_lock_delay,
 * stale_lock_time).  An attempts value below 1 means one attempt. */
struct lock_retry {
    int attempts;
    unsigned delay_ms;
    long stale_sec;
};

/* Postfix's defaults: 20 attempts, 1s apart, stale after 500s. */
#define LOCK_RETRY_DEFAULT \
    {                      \
        20, 1000, 500      \
    }

/*
 * lock_methods_parse - the mask of a list such as "fcntl, dotlock"
 * (separators: comma and white space, case-insensitive).  PARAM names the
 * parameter in the error text.  An unknown name is an error; an empty list
 * is the mask 0 (no locking).
 */
ULAK_NODISCARD int lock_methods_parse(const char *param, const char *list,
                                      unsigned *mask, struct buf *why);

/*
 * lock_fd - take the kernel locks of METHODS (flock, then fcntl; other
 * bits are ignored) on FD, an open file.  On failure a lock taken earlier
 * in the call is released again.
 */
ULAK_NODISCARD int lock_fd(int fd, unsigned methods,
                           const struct lock_retry *retry, struct buf *why);

/* lock_fd_release - release the kernel locks of METHODS on FD. */
void lock_fd_release(int fd, unsigned methods);

/*
 * lock_dot_acquire - create PATH.lock for the file PATH (the dotlock
 * protocol above).  Any failure other than an existing lock file (EACCES,
 * ENOENT, ...) is returned at once, without retries.
 */
ULAK_NODISCARD int lock_dot_acquire(const char *path,
                                    const struct lock_retry *retry,
                                    struct buf *why);

/* lock_dot_release - remove PATH.lock; -1 with WHY (may be NULL) if that
 * failed. */
int lock_dot_release(const char *path, struct buf *why);

/* lock_sleep_jitter - sleep about DELAY_MS as the retries do (exported for
 * other retry loops). */
void lock_sleep_jitter(unsigned delay_ms);

#endif
