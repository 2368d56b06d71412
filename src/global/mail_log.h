/*
 * mail_log - send msg_* output where main.cf says.
 *
 * Call after conf_load().  With maillog_file set (and under one of the
 * maillog_file_prefixes, as Postfix requires), lines go to that file;
 * otherwise to syslog with syslog_facility.  The tag is
 * "$syslog_name/PROGRAM" (ulak/smtpd), so pflogsumm --syslog-name=ulak and
 * mailgraph read the log.  Commands keep their stderr output as well.
 */
#ifndef ULAK_MAIL_LOG_H
#define ULAK_MAIL_LOG_H

#include "../lib/buf.h"

/* mail_log_init - route logging for PROGRAM; -1 with WHY when the
 * configured destination is invalid (logging then stays on stderr). */
int mail_log_init(const char *program, struct buf *why);

#endif
