#include "discard.h"

#include "../global/agent.h"
#include "../global/server.h"

/* discard_rcpt - pretend delivery */
static void discard_rcpt(void *ctx, struct agent_msg *m,
                         const struct ipc_rcpt *rcpt, struct agent_result *res)
{
    (void) ctx;
    (void) rcpt;
    agent_nexthop_text(m->req.nexthop, "2.0.0", "discarded", res);
}

/* on_accept - one request */
static void on_accept(struct server *srv, int fd)
{
    agent_session(srv, fd, "none", discard_rcpt, srv);
}

/* discard_main - the daemon */
int discard_main(int argc, char **argv)
{
    static const struct server_spec spec = {
        .name = "discard",
        .max_sessions = 1,
        .on_accept = on_accept,
    };

    return server_run(&spec, argc, argv);
}
