/*
 * cmd_users - the authorized_*_users lists of the commands (see cmd.h).
 */
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/argv.h"
#include "../lib/buf.h"
#include "../lib/dict.h"
#include "../lib/msg.h"
#include "../lib/priv.h"
#include "../global/conf.h"
#include "cmd.h"

/* cmd_user_allowed - LOGIN in list PARAM: names, "!name", "type:table"
 * looked up with the name; the first match decides; no match: not
 * allowed, as in Postfix (the default static:anyone matches everyone) */
bool cmd_user_allowed(const char *param, const char *login)
{
    struct argv *list = conf_list(param);
    struct buf value = BUF_INIT;
    struct buf why = BUF_INIT;
    bool allowed = false;
    bool decided = false;

    for (size_t i = 0; !decided && i < list->argc; i++) {
        const char *e = list->argv[i];
        bool neg = e[0] == '!';
        struct dict *d;

        if (neg)
            e++;
        if (strchr(e, ':') != NULL) {
            if ((d = dict_open(e, O_RDONLY, DICT_FLAG_FOLD_FIX, &why)) == NULL)
                msg_fatal("%s: %s", param, buf_str(&why));
            switch (dict_lookup(d, login, &value)) {
                case LK_FOUND:
                    decided = true;
                    break;
                case LK_NOTFOUND:
                    break;
                case LK_TEMPFAIL:
                    msg_fatal("%s: %s: lookup error: %s", param, e,
                              dict_why(d));
            }
            dict_close(d);
        } else {
            decided = strcmp(e, login) == 0;
        }
        if (decided)
            allowed = !neg;
    }
    argv_free(list);
    buf_fini(&value);
    buf_fini(&why);
    return allowed;
}

/* cmd_queue_access - end the command unless the invoking user may do
 * WHAT ("view", "flush") by list PARAM; the super-user and mail_owner
 * always may (postconf(5)) */
void cmd_queue_access(const char *param, const char *what)
{
    uid_t uid = getuid();
    struct passwd *pw;
    struct passwd *owner;

    if (uid == 0)
        return;
    if ((pw = getpwuid(uid)) == NULL)
        msg_fatal("no login name found for user ID %lu", (unsigned long) uid);
    owner = getpwnam(conf_str("mail_owner"));
    if (owner != NULL && owner->pw_uid == uid)
        return;
    if (!cmd_user_allowed(param, pw->pw_name))
        msg_fatal("User %s(%lu) is not allowed to %s the mail queue",
                  pw->pw_name, (unsigned long) uid, what);
}

/* root_owned - PATH is root's and nobody else may write it */
static bool root_owned(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && st.st_uid == 0
           && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* cmd_setgid_policy - keep the set-group-ID group only where it is meant */
void cmd_setgid_policy(void)
{
    if (!priv_is_setgid())
        return;
    if (getuid() == 0 || !root_owned(conf_dir()) || !root_owned(conf_main_cf()))
        priv_drop_setgid();
}
