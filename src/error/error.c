#include "error.h"

#include <string.h>

#include "../global/agent.h"
#include "../global/server.h"

/* error_rcpt - bounce or defer one recipient with the next-hop text */
static void error_rcpt(void *ctx, struct agent_msg *m,
                       const struct ipc_rcpt *rcpt, struct agent_result *res)
{
    struct server *srv = ctx;
    bool retry = strcmp(server_service(srv), "retry") == 0;

    (void) rcpt;
    /* Postfix 3.7 logs this text for "error:" and "retry:" without one. */
    agent_nexthop_text(m->req.nexthop, retry ? "4.0.0" : "5.0.0",
                       "Address is undeliverable", res);
}

/* on_accept - one request */
static void on_accept(struct server *srv, int fd)
{
    agent_session(srv, fd, "none", error_rcpt, srv);
}

/* error_main - the daemon */
int error_main(int argc, char **argv)
{
    static const struct server_spec spec = {
        .name = "error",
        .max_sessions = 1,
        .on_accept = on_accept,
    };

    return server_run(&spec, argc, argv);
}
