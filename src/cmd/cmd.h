/*
 * cmd - entry points of the commands in the multi-call binary.
 *
 * Each takes the argument vector as its program sees it: argv[0] is the
 * command name ("postconf"), never "ulak".
 */
#ifndef ULAK_CMD_H
#define ULAK_CMD_H

#include <stdbool.h>

int postfix_main(int argc, char **argv);
int postconf_main(int argc, char **argv);
int postmap_main(int argc, char **argv);
int postalias_main(int argc, char **argv);
int newaliases_main(int argc, char **argv);
int postcat_main(int argc, char **argv);
int postqueue_main(int argc, char **argv);
int mailq_main(int argc, char **argv);
int postsuper_main(int argc, char **argv);
/* postqueue_list - print the queue listing of the loaded main.cf
 * (postqueue -p, or -j when JSON), for mailq and sendmail -bp; 0, or 1
 * when stdout failed. */
int postqueue_list(bool json);
int sendmail_main(int argc, char **argv);

/* cmd_user_allowed - whether LOGIN is in the authorized_*_users list
 * PARAM (names, "!name", "type:table"; the first match decides; no match:
 * not allowed). */
bool cmd_user_allowed(const char *param, const char *login);
/* cmd_queue_access - end the command with Postfix's fatal error ("User
 * NAME(UID) is not allowed to WHAT the mail queue") unless the invoking
 * user is root, mail_owner, or in list PARAM. */
void cmd_queue_access(const char *param, const char *what);
/* cmd_setgid_policy - a set-group-ID sendmail or postqueue (setgid_group,
 * as Postfix's postdrop and postqueue are) keeps the group only for an
 * ordinary user of a configuration that root owns and no one else may
 * change (the directory and its main.cf); for root, or for a
 * configuration the user might have written (-C, -c, MAIL_CONFIG), the
 * group is given up at once. */
void cmd_setgid_policy(void);

#endif
