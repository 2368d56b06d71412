/*
 * pickup - the pickup daemon: on each trigger (sendmail's "W" on
 * public/pickup, and the master's wakeup every N seconds from the
 * master.cf wakeup column, which is also the periodic scan) it takes
 * every file in maildrop/ through cleanup (pickup_file.c).  One process
 * (master.cf process limit 1), as Postfix runs it.
 */
#include "pickup.h"

#include "../lib/msg.h"
#include "../global/server.h"

struct pickup {
    struct cleanup_conf *cf;
    struct queue_dir qd;
    bool have_qd;
    struct loop_ev *first; /* the scan at start */
};

static struct pickup pk;

/* scan - one pass over maildrop/ */
static void scan(struct server *srv)
{
    if (server_draining(srv))
        return;
    (void) pickup_scan(pk.cf, &pk.qd);
}

/* on_first - the scan at start: files that arrived while no pickup ran */
static void on_first(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    scan(arg);
}

/* post_jail - the configuration snapshot, then a scan soon */
static int post_jail(struct server *srv, struct buf *why)
{
    if (queue_dir_init_conf(&pk.qd, why) < 0)
        return -1;
    pk.have_qd = true;
    if ((pk.cf = cleanup_conf_new(why)) == NULL)
        return -1;
    pk.first = loop_timer(server_loop(srv), on_first, srv);
    loop_ev_arm(pk.first, 0);
    return 0;
}

/* on_trigger - any trigger means: scan */
static void on_trigger(struct server *srv, const char *data, size_t len)
{
    (void) data;
    (void) len;
    scan(srv);
}

/* on_exit - free the daemon's events */
static void on_exit_(struct server *srv)
{
    (void) srv;
    loop_ev_free(pk.first);
    pk.first = NULL;
}

/* pickup_main - the pickup daemon */
int pickup_main(int argc, char **argv)
{
    static const struct server_spec spec = {
        .name = "pickup",
        .max_sessions = 1,
        .post_jail = post_jail,
        .on_trigger = on_trigger,
        .on_exit = on_exit_,
    };
    int status = server_run(&spec, argc, argv);

    cleanup_conf_free(pk.cf);
    if (pk.have_qd)
        queue_dir_fini(&pk.qd);
    return status;
}
