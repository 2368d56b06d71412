/*
 * qmgr - the queue manager daemon (master.cf "qmgr unix n - n 300 1 qmgr",
 * kept running by the master).
 *
 * It moves new messages from incoming/ to active/, resolves their
 * recipients, schedules deliveries through qmgr_sched (per transport:
 * nexthop queues, concurrency and recipient limits, round-robin) to the
 * delivery agents on private/TRANSPORT (ipc_msgs.def deliver_req ->
 * deliver_status), marks delivered recipients done, returns failed ones
 * to the sender (bounce_report, a new message in incoming/), and defers
 * the rest to deferred/ with the next attempt time in the file's mtime.
 *
 * Its public/qmgr socket takes the master's wakeup byte "W" and ipc
 * frames: wakeup (scan incoming/) and flush (retry every deferred message
 * now), each answered with a reply frame.
 */
#ifndef ULAK_QMGR_H
#define ULAK_QMGR_H

/* qmgr_main - the daemon's entry point (master_registry.c) */
int qmgr_main(int argc, char **argv);

#endif
