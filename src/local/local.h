/*
 * local - Postfix's local(8) delivery agent.
 *
 * Per recipient (user+ext@domain; the domain is not looked at: the qmgr
 * sends only local recipients here), in Postfix's order:
 *   1. Delivered-To: loop detection (5.4.6);
 *   2. alias_maps (aliases(5) order: the local part with extension, then
 *      without), each destination of the value: "|command" (run as
 *      default_privs, or as the instance user), "/file" (mbox; Maildir
 *      with a trailing "/"), ":include:/file" (more destinations, nested at
 *      most 10 deep), "\user" or the alias name itself (the user's
 *      mailbox), other addresses (forwarded, see below);
 *   3. the user from the passwd database (getpwnam of the lower-cased local
 *      part without extension); unknown: 5.1.1 'unknown user: "name"';
 *   4. forward_path (first existing file, $user/$home/$extension/...
 *      expanded), destinations as in 2, run as the user;
 *   5. mailbox_command (argv from main.cf; /bin/sh -c for shell syntax;
 *      the envelope only in the environment), else home_mailbox (mbox, or
 *      Maildir with a trailing "/"), else $mail_spool_directory/$user.
 * Mailboxes and commands of a user are written and run as that user (as
 * root: priv_become / spawn's drop); an unprivileged instance delivers
 * only for its own user and defers others with 4.3.0 and a reason.
 *
 * One recipient gets one status: when its aliases or .forward have several
 * destinations, the worst outcome (defer, then bounce) is reported with its
 * reason.  The addresses among the destinations (and luser_relay for an
 * unknown user) go into one new queue file through cleanup.h: the
 * recipient is then 2.0.0 "forwarded as NEWID" (docs/ARCHITECTURE.md).
 */
#ifndef ULAK_LOCAL_H
#define ULAK_LOCAL_H

int local_main(int argc, char **argv);

#endif
