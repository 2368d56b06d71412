/*
 * flush_clnt - ask the queue manager to deliver deferred mail now: the
 * client side of the "flush" message (ipc_msgs.def), for "ulak flush",
 * postqueue -f/-i/-s and sendmail -q.
 *
 * The queue manager is the master.cf service whose command is qmgr; its
 * socket is queue_directory/public/NAME (private/ when the service says
 * so).  The call connects, sends one flush frame and waits for the reply.
 */
#ifndef ULAK_FLUSH_CLNT_H
#define ULAK_FLUSH_CLNT_H

#include "../lib/buf.h"

/* The reason when master.cf names no queue manager. */
#define FLUSH_CLNT_NO_QMGR "master.cf has no qmgr service"

/* flush_clnt_request - flush everything (both NULL), one message
 * (QUEUE_ID) or one destination (DOMAIN).  0 when the queue manager took
 * the request; -1 with WHY when master.cf has no qmgr service, nothing
 * listens on its socket (the mail system is down), or it refused. */
int flush_clnt_request(const char *queue_id, const char *domain,
                       struct buf *why);

#endif
