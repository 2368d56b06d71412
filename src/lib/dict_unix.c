/*
 * dict_unix - the system user and group databases: "unix:passwd.byname"
 * answers a passwd(5) line, "unix:group.byname" a group(5) line, built from
 * getpwnam/getgrnam as Postfix does.
 */
#include "dict.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>

#include "dict_impl.h"

/* passwd_lookup - name:passwd:uid:gid:gecos:dir:shell */
static enum lk_result passwd_lookup(struct dict *d, const char *key,
                                    struct buf *value)
{
    struct passwd *pw;

    errno = 0;
    if ((pw = getpwnam(key)) == NULL) {
        if (errno != 0 && errno != ENOENT && errno != ESRCH) {
            buf_setf(&d->why, "unix:passwd.byname: getpwnam %s: %m", key);
            return LK_TEMPFAIL;
        }
        return LK_NOTFOUND;
    }
    buf_setf(value, "%s:%s:%ld:%ld:%s:%s:%s", pw->pw_name, pw->pw_passwd,
             (long) pw->pw_uid, (long) pw->pw_gid, pw->pw_gecos, pw->pw_dir,
             pw->pw_shell);
    return LK_FOUND;
}

/* group_lookup - name:passwd:gid:member,member */
static enum lk_result group_lookup(struct dict *d, const char *key,
                                   struct buf *value)
{
    struct group *gr;

    errno = 0;
    if ((gr = getgrnam(key)) == NULL) {
        if (errno != 0 && errno != ENOENT && errno != ESRCH) {
            buf_setf(&d->why, "unix:group.byname: getgrnam %s: %m", key);
            return LK_TEMPFAIL;
        }
        return LK_NOTFOUND;
    }
    buf_setf(value, "%s:%s:%ld:", gr->gr_name, gr->gr_passwd,
             (long) gr->gr_gid);
    for (char **m = gr->gr_mem; *m; m++)
        buf_catf(value, "%s%s", m == gr->gr_mem ? "" : ",", *m);
    return LK_FOUND;
}

/* dict_unix_open - pick the database by name */
struct dict *dict_unix_open(const char *name, int open_flags, int dict_flags,
                            struct buf *why)
{
    struct dict *d;
    enum lk_result (*fn)(struct dict *, const char *, struct buf *);

    if (strcmp(name, "passwd.byname") == 0) {
        fn = passwd_lookup;
    } else if (strcmp(name, "group.byname") == 0) {
        fn = group_lookup;
    } else {
        buf_setf(why, "unknown table: unix:%s", name);
        return NULL;
    }
    d = dict_alloc("unix", name, open_flags, dict_flags, sizeof(*d));
    d->ops.lookup = fn;
    return d;
}
