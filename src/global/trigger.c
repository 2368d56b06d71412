/*
 * trigger - wake a trigger server through its socket or fifo.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "trigger.h"

#include "../lib/ipc.h"
#include "conf.h"
#include "ipc_msgs.h"

/* trigger_path - the endpoint of SERVICE */
void trigger_path(const char *class_name, const char *service, struct buf *out)
{
    buf_reset(out);
    buf_catf(out, "%s/%s/%s", conf_str("queue_directory"), class_name, service);
}

/* write_bounded - write all of DATA to the non-blocking FD, waiting at
 * most TRIGGER_TIMEOUT_MS for room */
static int write_bounded(int fd, const char *path, const char *data, size_t len,
                         struct buf *why)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n > 0) {
            data += n;
            len -= (size_t) n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};

            if (poll(&p, 1, TRIGGER_TIMEOUT_MS) > 0)
                continue;
            buf_setf(why, "%s: write timeout", path);
            return -1;
        }
        buf_setf(why, "%s: write: %m", path);
        return -1;
    }
    return 0;
}

/* trigger_send - one write to the endpoint at PATH */
int trigger_send(const char *path, const void *data, size_t len,
                 struct buf *why)
{
    struct stat st;
    int fd;
    int ret;

    if (lstat(path, &st) < 0) {
        buf_setf(why, "%s: %m", path);
        return -1;
    }
    if (S_ISFIFO(st.st_mode)) {
        /* ENXIO: no reader; the server's periodic scan does the work. */
        if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW))
            < 0) {
            buf_setf(why, "%s: %m", path);
            return -1;
        }
    } else if (S_ISSOCK(st.st_mode)) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        size_t plen = strlen(path);

        if (plen >= sizeof(sun.sun_path)) {
            buf_setf(why, "%s: path too long for a socket", path);
            return -1;
        }
        memcpy(sun.sun_path, path, plen + 1);
        if ((fd =
                 socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0))
            < 0) {
            buf_setf(why, "socket: %m");
            return -1;
        }
        if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
            buf_setf(why, "%s: connect: %m", path);
            close(fd);
            return -1;
        }
    } else {
        buf_setf(why, "%s: not a socket or fifo", path);
        return -1;
    }
    ret = write_bounded(fd, path, data, len, why);
    if (ret == 0 && S_ISSOCK(st.st_mode))
        (void) shutdown(fd, SHUT_WR);
    close(fd);
    return ret;
}

/* trigger_wakeup - a wakeup frame to the endpoint at PATH */
int trigger_wakeup(const char *path, const char *queue_name,
                   const char *queue_id, struct buf *why)
{
    struct ipc_wakeup msg = {0};
    struct buf frame = BUF_INIT;
    int ret;

    msg.queue_name = (char *) queue_name;
    msg.queue_id = (char *) queue_id;
    if (ipc_wakeup_encode(&msg, 1, &frame, why) < 0)
        ret = -1;
    else
        ret = trigger_send(path, buf_str(&frame), buf_len(&frame), why);
    buf_fini(&frame);
    return ret;
}
