/*
 * smtp - Postfix's smtp(8) and lmtp(8) delivery agents: the outbound
 * SMTP/LMTP client.
 *
 * One process serves many deliveries at once on its event loop (the
 * master gives it "-l N" sessions, as smtpd): each delivery is one
 * connection from the qmgr carrying one deliver_req.  The agent reads
 * the queue file, selects the servers of the next hop (smtp_addr.h),
 * connects without blocking, speaks SMTP (EHLO with HELO fallback) or
 * LMTP (LHLO, one reply per recipient after the data) with PIPELINING,
 * SIZE, 8BITMIME, SMTPUTF8, DSN and XFORWARD when offered, and answers
 * one deliver_status per recipient (ipc_msgs.def) with Postfix's texts
 * and log line.  A session-level failure tries the next server, up to
 * smtp_mx_session_limit sessions, then smtp_fallback_relay.  Finished
 * sessions stay open for smtp_connection_cache_time_limit, for the next
 * delivery to the same next hop or server address (RSET first).
 *
 * The parameters are read with the prefix of the daemon's name (smtp_
 * or lmtp_) once at start, after the master.cf -o overrides.
 */
#ifndef ULAK_SMTP_H
#define ULAK_SMTP_H

int smtp_main(int argc, char **argv);
int lmtp_main(int argc, char **argv);

#endif
