#include "virtual.h"

#include <string.h>
#include <unistd.h>

#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/priv.h"
#include "../lib/str.h"
#include "../global/addr.h"
#include "../global/agent.h"
#include "../global/conf.h"
#include "../global/maildir.h"
#include "../global/maps.h"
#include "../global/mbox.h"
#include "../global/server.h"

struct virt {
    struct maps *mailbox_maps;
    struct maps *uid_maps;
    struct maps *gid_maps;
    struct mbox_opts mbox;
    long minimum_uid;
    bool privileged;
};

static struct virt vt;

/* lookup_id - a numeric id from MAPS for ADDR; -1 with RES set */
static int lookup_id(struct maps *maps, const char *param, const char *addr,
                     const struct maps_opts *o, long *id,
                     struct agent_result *res)
{
    struct buf value = BUF_INIT;
    int rc = -1;

    switch (maps_search(maps, MAPS_ORDER_VIRTUAL, addr, o, &value, NULL)) {
        case LK_FOUND:
            if (str_to_long(buf_str(&value), id) == 0 && *id >= 0) {
                rc = 0;
                break;
            }
            agent_result_set(res, "4.3.0",
                             "mail system configuration error: %s: bad "
                             "value \"%s\" for %s",
                             param, buf_str(&value), addr);
            break;
        case LK_NOTFOUND:
            agent_result_set(res, "4.3.0",
                             "mail system configuration error: "
                             "recipient %s: no %s entry",
                             addr, param);
            break;
        case LK_TEMPFAIL:
            agent_result_set(res, "4.3.0", "%s lookup failure: %s", param,
                             maps_why(maps));
            break;
    }
    buf_fini(&value);
    return rc;
}

/* virtual_rcpt - deliver to one virtual mailbox */
static void virtual_rcpt(void *ctx, struct agent_msg *m,
                         const struct ipc_rcpt *rcpt, struct agent_result *res)
{
    struct maps_opts o = {.delim = conf_str("recipient_delimiter")};
    struct buf addr = BUF_INIT;
    struct buf ext_addr = BUF_INIT;
    struct buf value = BUF_INIT;
    struct buf path = BUF_INIT;
    struct buf why = BUF_INIT;
    struct agent_src as;
    struct deliver_src src;
    struct deliver_status st;
    struct deliver_env env = {0};
    struct mbox_opts mo = vt.mbox;
    long uid = 0, gid = 0;
    bool maildir;

    (void) ctx;
    addr_lower_domain(span_of(rcpt->address), &addr);
    addr_externalize(span_of(rcpt->address), &ext_addr);
    switch (maps_search(vt.mailbox_maps, MAPS_ORDER_VIRTUAL, buf_str(&addr), &o,
                        &value, NULL)) {
        case LK_FOUND:
            break;
        case LK_NOTFOUND:
            agent_result_set(res, "5.1.1", "unknown user: \"%s\"",
                             buf_str(&addr));
            goto out;
        case LK_TEMPFAIL:
            agent_result_set(res, "4.3.0",
                             "virtual_mailbox_maps lookup failure: %s",
                             maps_why(vt.mailbox_maps));
            goto out;
    }
    if (lookup_id(vt.uid_maps, "virtual_uid_maps", buf_str(&addr), &o, &uid,
                  res)
            < 0
        || lookup_id(vt.gid_maps, "virtual_gid_maps", buf_str(&addr), &o, &gid,
                     res)
               < 0)
        goto out;
    if (uid < vt.minimum_uid) {
        agent_result_set(res, "4.3.0",
                         "mail system configuration error: user id %ld of "
                         "%s is below virtual_minimum_uid %ld",
                         uid, buf_str(&addr), vt.minimum_uid);
        goto out;
    }
    if (!vt.privileged && (uid_t) uid != getuid()) {
        agent_result_set(res, "4.3.0",
                         "unprivileged instance: cannot deliver as user id "
                         "%ld (this instance runs as user id %ld)",
                         uid, (long) getuid());
        goto out;
    }
    if (strstr(buf_str(&value), "..") || buf_str(&value)[0] == 0) {
        agent_result_set(res, "4.3.0",
                         "mail system configuration error: bad mailbox "
                         "path \"%s\" for %s",
                         buf_str(&value), buf_str(&addr));
        goto out;
    }
    buf_setf(&path, "%s/%s", conf_str("virtual_mailbox_base"), buf_str(&value));
    maildir = str_has_suffix(buf_str(&value), "/");
    if (agent_verify(m)) {
        agent_result_set(res, "2.0.0", "delivers to %s",
                         maildir ? "maildir" : "mailbox");
        goto out;
    }
    env.sender = m->req.sender;
    env.recipient = buf_str(&ext_addr);
    env.orig_rcpt = rcpt->orig_rcpt;
    agent_src_init(&as, m, &src);
    switch (deliver_loop_check(&src, buf_str(&ext_addr), &st, &why)) {
        case 0:
            break;
        default:
            agent_result_set(res, st.dsn, "%s", buf_str(&why));
            goto out;
    }
    if (priv_become((uid_t) uid, (gid_t) gid, &why) < 0) {
        agent_result_set(res, "4.3.0", "%s", buf_str(&why));
        goto out;
    }
    agent_src_init(&as, m, &src);
    if (maildir) {
        struct maildir_opts mdo = {.size_limit = vt.mbox.size_limit};

        if (maildir_deliver(buf_str(&path), &mdo, &env, &src, NULL, &st, &why)
            == 0)
            agent_result_set(res, "2.0.0", "delivered to maildir");
        else
            agent_result_set(res, st.dsn, "maildir delivery failed: %s",
                             buf_str(&why));
    } else {
        if (vt.privileged) {
            mo.chown_uid = (uid_t) uid;
            mo.chown_gid = (gid_t) gid;
        }
        if (mbox_deliver(buf_str(&path), &mo, &env, &src, &st, &why) == 0)
            agent_result_set(res, "2.0.0", "delivered to mailbox");
        else
            agent_result_set(res, st.dsn,
                             "cannot update mailbox %s for user %s. %s",
                             buf_str(&path), buf_str(&addr), buf_str(&why));
    }
    if (priv_restore(&why) < 0)
        msg_fatal("%s", buf_str(&why));
out:
    buf_fini(&addr);
    buf_fini(&ext_addr);
    buf_fini(&value);
    buf_fini(&path);
    buf_fini(&why);
}

/* pre_jail - tables and options, before any privilege change */
static int pre_jail(struct server *srv, struct buf *why)
{
    int flags = DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK;

    vt.privileged = server_privileged(srv);
    if (mbox_opts_conf(&vt.mbox, "virtual_mailbox_lock",
                       "virtual_mailbox_limit", why)
        < 0)
        return -1;
    vt.mailbox_maps = maps_open("virtual_mailbox_maps",
                                conf_str("virtual_mailbox_maps"), flags);
    vt.uid_maps =
        maps_open("virtual_uid_maps", conf_str("virtual_uid_maps"), flags);
    vt.gid_maps =
        maps_open("virtual_gid_maps", conf_str("virtual_gid_maps"), flags);
    vt.minimum_uid = conf_int("virtual_minimum_uid");
    return 0;
}

/* on_accept - one request */
static void on_accept(struct server *srv, int fd)
{
    agent_session(srv, fd, "virtual", virtual_rcpt, srv);
}

/* on_exit - drop the tables */
static void on_exit_(struct server *srv)
{
    (void) srv;
    maps_free(vt.mailbox_maps);
    maps_free(vt.uid_maps);
    maps_free(vt.gid_maps);
}

/* virtual_main - the daemon */
int virtual_main(int argc, char **argv)
{
    static const struct server_spec spec = {
        .name = "virtual",
        .max_sessions = 1,
        .pre_jail = pre_jail,
        .on_accept = on_accept,
        .on_exit = on_exit_,
    };

    return server_run(&spec, argc, argv);
}
