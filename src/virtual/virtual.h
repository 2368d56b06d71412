/*
 * virtual - Postfix's virtual(8) delivery agent: mailboxes under
 * $virtual_mailbox_base for addresses in $virtual_mailbox_maps.
 *
 * Per recipient: the address (domain folded to lower case) is looked up in
 * virtual_mailbox_maps in virtual(5) order (user+ext@domain, user@domain,
 * @domain); not found is 5.1.1 'unknown user: "ADDR"'.  The value is a
 * path under virtual_mailbox_base: a trailing "/" means Maildir, else an
 * mbox file locked with $virtual_mailbox_lock.  The owner comes from
 * virtual_uid_maps and virtual_gid_maps (same order; "static:N" tables
 * too); a uid below virtual_minimum_uid, or a missing uid or gid, defers
 * the recipient (a configuration error, as in Postfix).  The message is
 * written as that owner: as root through priv_become(); in an
 * unprivileged instance only when the owner is the instance's own user
 * (others defer with 4.3.0 and the reason).  virtual_mailbox_limit caps
 * each mailbox (mbox) or file (Maildir) with 5.2.2.  Return-Path:,
 * X-Original-To: (the original recipient, when given) and Delivered-To:
 * are prepended; Delivered-To: loops bounce with 5.4.6.
 */
#ifndef ULAK_VIRTUAL_H
#define ULAK_VIRTUAL_H

int virtual_main(int argc, char **argv);

#endif
