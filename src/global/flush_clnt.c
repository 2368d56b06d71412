#include "flush_clnt.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/ipc.h"
#include "conf.h"
#include "ipc_msgs.h"
#include "master_cf.h"

/* How long the queue manager may take to answer. */
#define FLUSH_WAIT_MS (60 * 1000)

/* qmgr_socket - the path of the qmgr service's socket into PATH */
static int qmgr_socket(struct buf *path, struct buf *why)
{
    struct master_cf *cf;
    const struct master_ent *q = NULL;

    buf_setf(path, "%s/master.cf", conf_dir());
    if ((cf = master_cf_load(buf_str(path), why)) == NULL)
        return -1;
    for (const struct master_ent *e = cf->head; e; e = e->next)
        if (e->command->argc && strcmp(e->command->argv[0], "qmgr") == 0)
            q = e;
    if (q == NULL) {
        buf_set(why, FLUSH_CLNT_NO_QMGR);
        master_cf_free(cf);
        return -1;
    }
    buf_setf(path, "%s/%s/%s", conf_str("queue_directory"),
             master_ent_private(q) ? "private" : "public", q->service);
    master_cf_free(cf);
    return 0;
}

/* exchange - send REQ on a connection to PATH and read the reply */
static int exchange(const char *path, const struct ipc_flush *req,
                    struct buf *why)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct ipc_reply rep;
    struct ipc_frame frame;
    struct buf out = BUF_INIT;
    int passed = -1;
    int ret = -1;
    int fd = -1;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        buf_setf(why, "%s: path too long", path);
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0
        || connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        buf_setf(why, "connect to %s: %m", path);
    } else if (ipc_flush_encode(req, 1, &out, why) == 0
               && ipc_send(fd, span_make(buf_str(&out), buf_len(&out)), -1,
                           FLUSH_WAIT_MS, why)
                      == 0) {
        buf_reset(&out);
        if (ipc_recv(fd, &out, &frame, &passed, FLUSH_WAIT_MS, why) != 1) {
            if (buf_len(why) == 0)
                buf_set(why, "no answer from the queue manager");
        } else if (ipc_reply_decode(&frame, &rep, why) == 0) {
            if (rep.status == IPC_REPLY_OK)
                ret = 0;
            else
                buf_set(why, rep.reason ? rep.reason : "refused");
            ipc_reply_fini(&rep);
        }
    }
    if (passed >= 0)
        close(passed);
    if (fd >= 0)
        close(fd);
    buf_fini(&out);
    return ret;
}

/* flush_clnt_request - one flush request to the queue manager */
int flush_clnt_request(const char *queue_id, const char *domain,
                       struct buf *why)
{
    struct ipc_flush req = {0};
    struct buf path = BUF_INIT;
    int ret = -1;

    req.queue_id = (char *) queue_id;
    req.domain = (char *) domain;
    if (qmgr_socket(&path, why) == 0)
        ret = exchange(buf_str(&path), &req, why);
    buf_fini(&path);
    return ret;
}
