/*
 * msg_syslog - msg output to syslog(3), and to a log file written directly.
 *
 * Both produce what pflogsumm and mailgraph read: the tag is
 * "SYSLOG_NAME/PROGRAM" with the process id, and the text carries the
 * severity prefix ("warning: ...").  The log file output writes whole lines
 * of the syslog shape itself:
 *
 *     Nov 22 04:44:42 mx ulak/master[5272]: daemon started -- ...
 *
 * one write(2) per line to a file opened with O_APPEND, so that processes
 * sharing the file never interleave within a line.
 */
#ifndef ULAK_MSG_SYSLOG_H
#define ULAK_MSG_SYSLOG_H

#include "buf.h"

/* msg_syslog_facility - syslog facility value for NAME ("mail", "local0"),
 * or -1. */
int msg_syslog_facility(const char *name);
/* msg_syslog_open - log to syslog with TAG (copied) and FACILITY. */
void msg_syslog_open(const char *tag, int facility);
void msg_syslog_close(void);
/* msg_logfile_open - log to PATH with TAG and HOST (copied); -1 with WHY
 * when the file cannot be opened. */
int msg_logfile_open(const char *path, const char *tag, const char *host,
                     struct buf *why);
void msg_logfile_close(void);
/* msg_logfile_format - one log file line for TEXT at LEVEL, at time NOW
 * (exposed for tests). */
void msg_logfile_format(struct buf *out, long now, const char *host,
                        const char *tag, long pid, const char *level_prefix,
                        const char *text);

#endif
