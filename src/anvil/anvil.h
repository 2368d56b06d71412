/*
 * anvil - the connection count and rate server that every smtpd process
 * shares (Postfix's anvil(8)); master.cf: "anvil unix - - y - 1 anvil".
 *
 * It listens on private/anvil (a stream socket); each smtpd process keeps
 * one connection and sends anvil_req frames (ipc_msgs.def) on it, each
 * answered in order by one anvil_reply with the same request_id
 * (global/anvil_clnt.h is the client).  The counters are anvil_tab's,
 * keyed by "service:client"; a connection that ends takes back the
 * connections it registered.  Every $anvil_status_update_time, and when
 * it exits, anvil logs the peaks as Postfix does ("statistics: max
 * connection rate 4/60s for (smtp:192.0.2.1) at Dec  1 22:30:58").
 *
 * Hostile input: a frame that does not decode ends that connection with a
 * warning; a request with an unknown op or an empty, overlong (above
 * ANVIL_FIELD_MAX bytes) or unprintable service or client is answered
 * IPC_REPLY_FAIL with a warning.  A peer that does not read its replies
 * is not read from while ANVIL_OUT_MAX bytes of them wait.
 */
#ifndef ULAK_ANVIL_H
#define ULAK_ANVIL_H

/* The longest service name or client address taken. */
#define ANVIL_FIELD_MAX  255
/* The most (service, client) entries kept. */
#define ANVIL_MAX_IDENTS 100000
/* Unsent replies to one peer above which it is not read. */
#define ANVIL_OUT_MAX    (256 * 1024)

/* anvil_main - the anvil daemon (master.cf command "anvil"). */
int anvil_main(int argc, char **argv);

#endif
