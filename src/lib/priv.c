#include "priv.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "msg.h"

/* priv_lookup - getpwnam with a specific reason */
int priv_lookup(const char *name, uid_t *uid, gid_t *gid, struct buf *why)
{
    struct passwd *pw;

    errno = 0;
    if ((pw = getpwnam(name)) == NULL) {
        if (errno != 0 && errno != ENOENT && errno != ESRCH)
            buf_setf(why, "lookup of user %s: %m", name);
        else
            buf_setf(why, "unknown user: %s", name);
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/* priv_chroot - enter DIR for good */
int priv_chroot(const char *dir, struct buf *why)
{
    if (chroot(dir) < 0) {
        buf_setf(why, "chroot %s: %m", dir);
        return -1;
    }
    if (chdir("/") < 0) {
        buf_setf(why, "chdir / in %s: %m", dir);
        return -1;
    }
    return 0;
}

/* priv_verify - the ids are what they should be, and root is gone */
int priv_verify(uid_t uid, gid_t gid, struct buf *why)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;

    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0) {
        buf_setf(why, "getresuid: %m");
        return -1;
    }
    if (ru != uid || eu != uid || su != uid) {
        buf_setf(why, "user ids are %ld/%ld/%ld, want %ld", (long) ru,
                 (long) eu, (long) su, (long) uid);
        return -1;
    }
    if (rg != gid || eg != gid || sg != gid) {
        buf_setf(why, "group ids are %ld/%ld/%ld, want %ld", (long) rg,
                 (long) eg, (long) sg, (long) gid);
        return -1;
    }
    if (uid != 0 && setuid(0) == 0) {
        buf_setf(why, "setuid(0) succeeded after dropping to user %ld",
                 (long) uid);
        return -1;
    }
    return 0;
}

/* priv_drop - groups, then group ids, then user ids, then verify */
int priv_drop(uid_t uid, gid_t gid, struct buf *why)
{
    if (geteuid() == 0) {
        if (setgroups(1, &gid) < 0) {
            buf_setf(why, "setgroups %ld: %m", (long) gid);
            return -1;
        }
        if (setresgid(gid, gid, gid) < 0) {
            buf_setf(why, "setresgid %ld: %m", (long) gid);
            return -1;
        }
        if (setresuid(uid, uid, uid) < 0) {
            buf_setf(why, "setresuid %ld: %m", (long) uid);
            return -1;
        }
    } else if (uid != geteuid() || gid != getegid()) {
        errno = EPERM;
        buf_setf(why, "cannot become user %ld group %ld: not root", (long) uid,
                 (long) gid);
        return -1;
    } else {
        /* An ordinary user's process: make real/saved match effective so
         * that a set-id leftover cannot be switched back. */
        if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
            buf_setf(why, "setresuid %ld: %m", (long) uid);
            return -1;
        }
    }
    return priv_verify(uid, gid, why);
}

/* priv_is_setgid - running with a group not our own */
bool priv_is_setgid(void)
{
    return getegid() != getgid();
}

/* priv_drop_setgid - give the set-group-ID group up for good */
void priv_drop_setgid(void)
{
    gid_t g = getgid();
    gid_t r, e, sv;

    if (!priv_is_setgid())
        return;
    if (setresgid(g, g, g) < 0 || getresgid(&r, &e, &sv) < 0 || r != g || e != g
        || sv != g)
        msg_fatal("cannot give up the set-group-ID group: %m");
}

/* priv_become - temporary effective ids */
int priv_become(uid_t uid, gid_t gid, struct buf *why)
{
    if (geteuid() != 0) {
        if (uid == geteuid())
            return 0;
        buf_setf(why, "cannot act as uid %ld: not running as root", (long) uid);
        return -1;
    }
    if (setgroups(1, &gid) < 0) {
        buf_setf(why, "setgroups %ld: %m", (long) gid);
        return -1;
    }
    if (setegid(gid) < 0) {
        buf_setf(why, "setegid %ld: %m", (long) gid);
        return -1;
    }
    if (seteuid(uid) < 0) {
        buf_setf(why, "seteuid %ld: %m", (long) uid);
        if (setegid(0) < 0)
            msg_fatal("cannot restore group id 0: %m");
        return -1;
    }
    return 0;
}

/* priv_restore - back to root */
int priv_restore(struct buf *why)
{
    gid_t root = 0;

    if (getuid() != 0)
        return 0;
    if (seteuid(0) < 0 || setegid(0) < 0 || setgroups(1, &root) < 0) {
        buf_setf(why, "cannot restore root privileges: %m");
        return -1;
    }
    return 0;
}
