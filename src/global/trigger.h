/*
 * trigger - wake a trigger server (pickup, qmgr) through its public/ or
 * private/ endpoint, as Postfix's sendmail and cleanup do.
 *
 * The endpoint is a UNIX stream socket or a fifo, whichever master.cf
 * made (`pickup unix ...` or `pickup fifo ...`).  The data is written
 * once and the endpoint closed (a stream connection is shut down for
 * writing so that the server reads up to end of file); nothing is read
 * back.  A missing endpoint or a server that does not listen is not an
 * error for the caller's mail: the file stays in its folder and the
 * server's periodic scan finds it.  The calls never block longer than
 * TRIGGER_TIMEOUT_MS.
 */
#ifndef ULAK_TRIGGER_H
#define ULAK_TRIGGER_H

#include "../lib/buf.h"

#define TRIGGER_TIMEOUT_MS 1000

/* trigger_path - queue_directory/CLASS/SERVICE into OUT (reset); CLASS
 * is "public" or "private". */
void trigger_path(const char *class_name, const char *service, struct buf *out);
/* trigger_send - write DATA (LEN bytes) to the endpoint at PATH: 0, or
 * -1 with WHY (no such endpoint, nobody listening, a write error). */
int trigger_send(const char *path, const void *data, size_t len,
                 struct buf *why);
/* trigger_wakeup - send a wakeup message (ipc_msgs.def) for QUEUE_ID
 * (NULL: scan the folder) in folder QUEUE_NAME to the endpoint at PATH. */
int trigger_wakeup(const char *path, const char *queue_name,
                   const char *queue_id, struct buf *why);

#endif
