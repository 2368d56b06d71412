/* anvil_clnt - smtpd's non-blocking client of anvil (see anvil_clnt.h). */
#include "anvil_clnt.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../lib/ipc.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "conf.h"

/* One request whose callback is still to run. */
struct pend {
    uint32_t id;
    anvil_clnt_fn fn;
    void *arg;
    long long deadline; /* monotonic milliseconds */
    int status;         /* for the done list */
    unsigned count;
    unsigned rate;
    struct pend *prev, *next;
};

/* A FIFO of requests. */
struct plist {
    struct pend *head, *tail;
    size_t n;
};

struct anvil_clnt {
    struct loop *loop;
    char *service;
    char *path; /* NULL: no reconnect (open_fd) */
    int fd;     /* -1: no stream */
    struct ipc_reader rd;
    struct buf out; /* frames not yet written */
    struct loop_ev *rev;
    struct loop_ev *wev;
    struct loop_ev *timer;   /* the oldest waiting request's deadline */
    struct loop_ev *deliver; /* runs the done list */
    struct plist wait;       /* sent, waiting for anvil's reply */
    struct plist done;       /* failed, callback to run from the loop */
    uint32_t next_id;
    long timeout_ms;
    bool warned;  /* anvil is known to be unusable */
    bool used_fd; /* open_fd: the one stream was used up */
    int depth;    /* callbacks running */
    bool closing; /* anvil_clnt_close while a callback ran */
};

/* now_ms - monotonic milliseconds */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* plist_push - append P */
static void plist_push(struct plist *l, struct pend *p)
{
    p->next = NULL;
    p->prev = l->tail;
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
    l->n++;
}

/* plist_unlink - take P out of L */
static void plist_unlink(struct plist *l, struct pend *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        l->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        l->tail = p->prev;
    p->prev = p->next = NULL;
    l->n--;
}

/* plist_find - the request ID in L, or NULL */
static struct pend *plist_find(const struct plist *l, uint32_t id)
{
    for (struct pend *p = l->head; p; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

/* plist_clear - free every request of L, no callback */
static void plist_clear(struct plist *l)
{
    while (l->head) {
        struct pend *p = l->head;

        plist_unlink(l, p);
        mem_free(p);
    }
}

/* new_clnt - the common part of the open calls */
static struct anvil_clnt *new_clnt(struct loop *loop, const char *service,
                                   const char *path)
{
    struct anvil_clnt *c = mem_zalloc(sizeof(*c));

    c->loop = loop;
    c->service = mem_strdup(service);
    c->path = path ? mem_strdup(path) : NULL;
    c->fd = -1;
    c->timeout_ms = ANVIL_CLNT_TIMEOUT_MS;
    c->next_id = 1;
    ipc_reader_init(&c->rd);
    buf_init(&c->out, 0);
    return c;
}

/* stream_close - drop the stream (the requests stay where they are) */
static void stream_close(struct anvil_clnt *c)
{
    loop_ev_free(c->rev);
    loop_ev_free(c->wev);
    c->rev = c->wev = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    ipc_reader_fini(&c->rd);
    ipc_reader_init(&c->rd);
    buf_reset(&c->out);
    if (c->timer)
        loop_ev_disarm(c->timer);
}

/* fail_later - P fails; its callback runs from the loop */
static void fail_later(struct anvil_clnt *c, struct pend *p)
{
    p->status = ANVIL_CLNT_FAIL;
    p->count = p->rate = 0;
    plist_push(&c->done, p);
    if (!loop_ev_armed(c->deliver))
        loop_ev_arm(c->deliver, 0);
}

/* broken - the stream is of no use: warn once, fail what waits on it */
static void broken(struct anvil_clnt *c, const char *why)
{
    if (!c->warned)
        msg_warn("anvil: %s: %s", c->path ? c->path : "stream", why);
    c->warned = true;
    stream_close(c);
    if (c->path == NULL)
        c->used_fd = true;
    while (c->wait.head) {
        struct pend *p = c->wait.head;

        plist_unlink(&c->wait, p);
        fail_later(c, p);
    }
}

/* arm_timer - the deadline of the oldest waiting request */
static void arm_timer(struct anvil_clnt *c)
{
    long long left;

    if (c->wait.head == NULL) {
        loop_ev_disarm(c->timer);
        return;
    }
    left = c->wait.head->deadline - now_ms();
    loop_ev_arm(c->timer, left < 0 ? 0 : (long) left);
}

/* run_callback - call P's callback and free P; false when the client was
 * closed meanwhile (stop touching it) */
static bool run_callback(struct anvil_clnt *c, struct pend *p)
{
    anvil_clnt_fn fn = p->fn;
    void *arg = p->arg;
    int status = p->status;
    unsigned count = p->count, rate = p->rate;

    mem_free(p);
    c->depth++;
    fn(arg, status, count, rate);
    c->depth--;
    return !c->closing;
}

/* clnt_free - the end of a client, no callback runs */
static void clnt_free(struct anvil_clnt *c)
{
    stream_close(c);
    plist_clear(&c->wait);
    plist_clear(&c->done);
    loop_ev_free(c->timer);
    loop_ev_free(c->deliver);
    ipc_reader_fini(&c->rd);
    buf_fini(&c->out);
    mem_free(c->service);
    mem_free(c->path);
    mem_free(c);
}

/* flush - write what can be written */
static void flush(struct anvil_clnt *c)
{
    if (ipc_send_some(c->fd, &c->out) < 0) {
        struct buf why = BUF_INIT;

        buf_setf(&why, "write: %m");
        broken(c, buf_str(&why));
        buf_fini(&why);
        return;
    }
    if (buf_len(&c->out) > 0 && !loop_ev_armed(c->wev))
        loop_ev_arm(c->wev, -1);
    else if (buf_len(&c->out) == 0 && loop_ev_armed(c->wev))
        loop_ev_disarm(c->wev);
}

/* on_reply - one frame from anvil; false: the stream is bad */
static bool on_reply(struct anvil_clnt *c, const struct ipc_frame *frame,
                     struct pend **out)
{
    struct ipc_anvil_reply rep;
    struct buf why = BUF_INIT;
    struct pend *p;

    *out = NULL;
    if (frame->type != ipc_anvil_reply_desc.type
        || ipc_anvil_reply_decode(frame, &rep, &why) < 0) {
        if (buf_len(&why) == 0)
            buf_setf(&why, "unexpected message type %u",
                     (unsigned) frame->type);
        broken(c, buf_str(&why));
        buf_fini(&why);
        return false;
    }
    buf_fini(&why);
    c->warned = false;
    /* Cancelled requests and those without a callback are not listed. */
    if ((p = plist_find(&c->wait, frame->request_id)) == NULL)
        return true;
    plist_unlink(&c->wait, p);
    if (rep.status == IPC_REPLY_OK) {
        p->status = ANVIL_CLNT_OK;
        p->count = rep.count < 0 ? 0 : (unsigned) rep.count;
        p->rate = rep.rate < 0 ? 0 : (unsigned) rep.rate;
    } else {
        p->status = ANVIL_CLNT_FAIL;
    }
    ipc_anvil_reply_fini(&rep);
    *out = p;
    return true;
}

/* on_read - replies from anvil */
static void on_read(int fd, int what, void *arg)
{
    struct anvil_clnt *c = arg;
    struct buf why = BUF_INIT;
    struct ipc_frame frame;
    struct pend *p;
    int pfd = -1;

    (void) fd;
    (void) what;
    for (;;) {
        enum ipc_read_result rr =
            ipc_reader_read(&c->rd, c->fd, &frame, &pfd, &why);

        if (pfd >= 0) {
            close(pfd);
            pfd = -1;
        }
        if (rr == IPC_READ_MORE)
            break;
        if (rr == IPC_READ_EOF) {
            broken(c, "connection closed by anvil");
            break;
        }
        if (rr == IPC_READ_ERROR) {
            broken(c, buf_str(&why));
            break;
        }
        if (!on_reply(c, &frame, &p))
            break;
        if (p && !run_callback(c, p)) {
            buf_fini(&why);
            if (c->depth == 0)
                clnt_free(c);
            return;
        }
        if (c->fd < 0)
            break; /* the callback's request found the stream broken */
    }
    buf_fini(&why);
    arm_timer(c);
}

/* on_write - the stream takes more */
static void on_write(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    flush(arg);
}

/* on_timer - the oldest request waited too long: anvil is stuck */
static void on_timer(int fd, int what, void *arg)
{
    struct anvil_clnt *c = arg;
    struct buf why = BUF_INIT;

    (void) fd;
    (void) what;
    if (c->wait.head && c->wait.head->deadline <= now_ms()) {
        buf_setf(&why, "no answer within %ld ms", c->timeout_ms);
        broken(c, buf_str(&why));
    }
    buf_fini(&why);
    arm_timer(c);
}

/* on_deliver - run the callbacks of failed requests */
static void on_deliver(int fd, int what, void *arg)
{
    struct anvil_clnt *c = arg;

    (void) fd;
    (void) what;
    /* Requests that fail while these run wait for the next round. */
    for (size_t n = c->done.n; n > 0 && c->done.head; n--) {
        struct pend *p = c->done.head;

        plist_unlink(&c->done, p);
        if (!run_callback(c, p)) {
            if (c->depth == 0)
                clnt_free(c);
            return;
        }
    }
}

/* attach - FD becomes the stream */
static void attach(struct anvil_clnt *c, int fd)
{
    c->fd = fd;
    c->rev = loop_read(c->loop, fd, on_read, c);
    c->wev = loop_write(c->loop, fd, on_write, c);
    loop_ev_arm(c->rev, -1);
}

/* reconnect - a stream to anvil's socket; -1 (warned) when none */
static int reconnect(struct anvil_clnt *c)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct buf why = BUF_INIT;
    size_t len;
    int fd;

    if (c->path == NULL)
        return -1;
    len = strlen(c->path);
    if (len >= sizeof(sun.sun_path)) {
        buf_set(&why, "socket path too long");
    } else {
        memcpy(sun.sun_path, c->path, len + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd >= 0
            && connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0) {
            attach(c, fd);
            buf_fini(&why);
            return 0;
        }
        buf_setf(&why, "connect: %m");
        if (fd >= 0)
            close(fd);
    }
    if (!c->warned)
        msg_warn("anvil: %s: %s", c->path, buf_str(&why));
    c->warned = true;
    buf_fini(&why);
    return -1;
}

/* anvil_clnt_open_path - a client for anvil at PATH */
struct anvil_clnt *anvil_clnt_open_path(struct loop *loop, const char *service,
                                        const char *path)
{
    struct anvil_clnt *c = new_clnt(loop, service, path);

    c->timer = loop_timer(loop, on_timer, c);
    c->deliver = loop_timer(loop, on_deliver, c);
    return c;
}

/* anvil_clnt_open - a client for anvil at its place in the queue */
struct anvil_clnt *anvil_clnt_open(struct loop *loop, const char *service)
{
    struct buf path = BUF_INIT;
    struct anvil_clnt *c;

    buf_setf(&path, "%s/private/anvil", conf_str("queue_directory"));
    c = anvil_clnt_open_path(loop, service, buf_str(&path));
    buf_fini(&path);
    return c;
}

/* anvil_clnt_open_fd - a client over a connected stream */
struct anvil_clnt *anvil_clnt_open_fd(struct loop *loop, const char *service,
                                      int fd)
{
    struct anvil_clnt *c = anvil_clnt_open_path(loop, service, NULL);

    attach(c, fd);
    return c;
}

/* anvil_clnt_set_timeout - the answer time limit */
void anvil_clnt_set_timeout(struct anvil_clnt *c, long ms)
{
    c->timeout_ms = ms < 1 ? 1 : ms;
}

/* anvil_clnt_close - free the client, drop the callbacks */
void anvil_clnt_close(struct anvil_clnt *c)
{
    if (c == NULL)
        return;
    if (c->depth > 0) {
        /* Inside one of its callbacks: free it when that returns. */
        c->closing = true;
        stream_close(c);
        plist_clear(&c->wait);
        plist_clear(&c->done);
        return;
    }
    clnt_free(c);
}

/* anvil_clnt_request - queue one request */
uint32_t anvil_clnt_request(struct anvil_clnt *c, enum ipc_anvil_op op,
                            const char *addr, anvil_clnt_fn fn, void *arg)
{
    struct ipc_anvil_req req = {
        .op = (int32_t) op, .service = c->service, .client = (char *) addr};
    struct buf why = BUF_INIT;
    struct pend *p = NULL;
    uint32_t id;

    if (c->closing)
        msg_panic("anvil_clnt_request: the client is closed");
    if ((id = c->next_id++) == 0)
        id = c->next_id++;
    if (fn) {
        p = mem_zalloc(sizeof(*p));
        p->id = id;
        p->fn = fn;
        p->arg = arg;
        p->deadline = now_ms() + c->timeout_ms;
    }
    if (c->fd < 0 && (c->used_fd || reconnect(c) < 0)) {
        if (p)
            fail_later(c, p);
    } else if (buf_len(&c->out) >= ANVIL_CLNT_OUT_MAX
               || ipc_anvil_req_encode(&req, id, &c->out, &why) < 0) {
        /* anvil does not read, or ADDR is too long for a frame */
        if (p)
            fail_later(c, p);
    } else {
        if (p)
            plist_push(&c->wait, p);
        flush(c);
        if (p && c->wait.head == p)
            arm_timer(c);
    }
    buf_fini(&why);
    return fn ? id : 0;
}

/* anvil_clnt_cancel - request ID's callback will not run */
void anvil_clnt_cancel(struct anvil_clnt *c, uint32_t id)
{
    struct pend *p;

    if (id == 0)
        return;
    if ((p = plist_find(&c->wait, id)) != NULL) {
        plist_unlink(&c->wait, p);
        mem_free(p);
        if (c->fd >= 0)
            arm_timer(c);
    } else if ((p = plist_find(&c->done, id)) != NULL) {
        plist_unlink(&c->done, p);
        mem_free(p);
    }
}

/* anvil_clnt_pending - callbacks still to run */
size_t anvil_clnt_pending(const struct anvil_clnt *c)
{
    return c->wait.n + c->done.n;
}
