/*
 * priv - the only place that changes process credentials.
 *
 * priv_drop() becomes one user for good: supplementary groups set to the
 * primary group only, then setresgid, then setresuid (group first: after
 * the user change there is no right left to change groups), then it checks
 * with getresuid/getresgid that real, effective and saved ids all changed,
 * and that setuid(0) fails.  A process that is not root can only "drop" to
 * itself: priv_drop() then changes nothing and still verifies.  The checks
 * turn a half-done drop into an error instead of a process that quietly
 * keeps root.
 *
 * priv_lookup() resolves a login name before a chroot or a fork (getpwnam
 * needs /etc and may allocate; a child between fork and exec must not).
 *
 * Errors: -1 with the reason in WHY ("setresuid 102: Operation not
 * permitted", "unknown user: postfix").
 */
#ifndef ULAK_PRIV_H
#define ULAK_PRIV_H

#include <sys/types.h>

#include "buf.h"

/* priv_lookup - the uid and primary gid of login NAME; -1 with WHY when
 * there is no such user (or the lookup failed). */
int priv_lookup(const char *name, uid_t *uid, gid_t *gid, struct buf *why);
/* priv_chroot - chroot to DIR and chdir to "/"; -1 with WHY. */
int priv_chroot(const char *dir, struct buf *why);
/* priv_drop - become UID/GID permanently and verify; -1 with WHY.  Safe
 * between fork and exec (no allocation on success; WHY is formatted only
 * on failure, by the caller's choice of buffer). */
int priv_drop(uid_t uid, gid_t gid, struct buf *why);
/* priv_drop_setgid - a set-group-ID process gives its extra group up for
 * good (real, effective and saved group IDs become the real one); fatal
 * when that fails.  A no-op for a process that is not set-group-ID. */
void priv_drop_setgid(void);
/* priv_is_setgid - the effective group differs from the real one. */
bool priv_is_setgid(void);
/* priv_verify - real, effective and saved ids are UID/GID, and, unless UID
 * is 0, setuid(0) fails; -1 with WHY. */
int priv_verify(uid_t uid, gid_t gid, struct buf *why);

/*
 * priv_become / priv_restore - act as UID/GID for a while (the effective
 * ids and the supplementary groups; the real and saved ids stay root), as
 * local(8) and virtual(8) do to write a recipient's mailbox and files, then
 * return to root.  Only for a root process; a process that is not root can
 * only "become" itself, which changes nothing.  -1 with WHY; a failed
 * priv_restore is fatal to the caller (it would go on with the wrong ids).
 */
int priv_become(uid_t uid, gid_t gid, struct buf *why);
int priv_restore(struct buf *why);
#endif
