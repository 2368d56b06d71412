/*
 * master_listen - the listeners of one master.cf service.
 *
 * inet: SERVICE is "port", "host:port" or "[v6addr]:port"; without a host,
 * one listener per address of $inet_interfaces ("all": the wildcard of
 * each protocol in $inet_protocols; "loopback-only": 127.0.0.1 and ::1).
 * unix, unix-dgram, pass: a socket queue_directory/private/NAME or
 * public/NAME (the private column); fifo: a named pipe there.
 *
 * The key (master_listen_key) names the endpoints, so that a reload keeps
 * the descriptors of a service whose endpoints did not change: clients
 * never see a refused connection during a reload.
 *
 * Ownership: a master_listen owns its descriptors and strings.
 */
#ifndef ULAK_MASTER_LISTEN_H
#define ULAK_MASTER_LISTEN_H

#include "../lib/argv.h"
#include "../lib/buf.h"
#include "../global/master_cf.h"
#include "../global/server.h"

struct master_listen {
    int fd[SERVER_MAX_LISTEN];
    int n;
    enum master_type type;
    char *key;  /* owned: "inet 127.0.0.1:10025 [::1]:10025", "unix /q/x" */
    char *path; /* owned: the socket or fifo path; NULL for inet */
};

/* The parameters that decide where a service listens. */
struct master_listen_conf {
    const char *queue_dir;
    const struct argv *interfaces; /* $inet_interfaces, split */
    const struct argv *protocols;  /* $inet_protocols, split */
};

/* master_listen_key - the endpoints E would use, into KEY (reset); -1 with
 * WHY when they cannot be worked out (bad address, unknown port). */
int master_listen_key(const struct master_ent *e,
                      const struct master_listen_conf *lc, struct buf *key,
                      struct buf *why);
/* master_listen_open - bind them; NULL with WHY. */
struct master_listen *master_listen_open(const struct master_ent *e,
                                         const struct master_listen_conf *lc,
                                         struct buf *why);
/* master_listen_close - close (and with UNLINK remove the socket file). */
void master_listen_close(struct master_listen *l, bool unlink_path);

#endif
