/*
 * anvil_clnt - smtpd's client of anvil (src/anvil/anvil.h), for a process
 * that runs an event loop with many sessions: nothing here blocks.
 *
 * One struct anvil_clnt per process keeps one stream to
 * $queue_directory/private/anvil, made on the first request and again on
 * the first request after it broke.  Each request (an anvil_req frame,
 * ipc_msgs.def) is queued and written without blocking; its callback runs
 * later from the loop, never inside the call that made the request:
 *
 *   FN(ARG, ANVIL_CLNT_OK, count, rate)    anvil's answer (anvil_req: the
 *                                          rate of the request's kind)
 *   FN(ARG, ANVIL_CLNT_FAIL, 0, 0)         anvil cannot be reached, did not
 *                                          answer within the time limit,
 *                                          broke the stream, or refused
 *                                          the request
 *
 * On ANVIL_CLNT_FAIL the caller goes on without the limit, as Postfix's
 * smtpd does.  The client logs one warning when anvil becomes unusable
 * ("warning: anvil: ..."), and none again until it has answered once.  A
 * time-out fails every pending request and closes the stream (the next
 * request reconnects).
 *
 * Cancelling: a request returns an id (never 0); anvil_clnt_cancel(clnt,
 * id) makes sure its callback never runs (a session that goes away).
 * Cancelling an id whose callback ran or that was cancelled is a no-op,
 * so a session may keep stale ids.  A request with FN NULL (a disconnect
 * the session does not wait for) returns 0 and is not answered.
 *
 * Ownership: the client borrows LOOP, which must outlive it; strings are
 * copied.  anvil_clnt_close() frees the client and drops every pending
 * callback without calling it; it may be called from a callback.
 */
#ifndef ULAK_ANVIL_CLNT_H
#define ULAK_ANVIL_CLNT_H

#include "../lib/loop.h"
#include "ipc_msgs.h"

/* How long anvil may take to answer, by default (milliseconds). */
#define ANVIL_CLNT_TIMEOUT_MS 2000
/* Requests not yet written above which new ones fail at once. */
#define ANVIL_CLNT_OUT_MAX    (256 * 1024)

enum anvil_clnt_status {
    ANVIL_CLNT_OK = 0,
    ANVIL_CLNT_FAIL = -1,
};

typedef void (*anvil_clnt_fn)(void *arg, int status, unsigned count,
                              unsigned rate);

struct anvil_clnt;

/* anvil_clnt_open - a client for master.cf service SERVICE (the "smtp" of
 * "smtp:client" in anvil's counters), at
 * $queue_directory/private/anvil. */
struct anvil_clnt *anvil_clnt_open(struct loop *loop, const char *service);
/* anvil_clnt_open_path - the same with anvil's socket at PATH. */
struct anvil_clnt *anvil_clnt_open_path(struct loop *loop, const char *service,
                                        const char *path);
/* anvil_clnt_open_fd - the same over the connected stream FD (owned from
 * now on), with no socket to reconnect to: once FD breaks, every request
 * fails (tests). */
struct anvil_clnt *anvil_clnt_open_fd(struct loop *loop, const char *service,
                                      int fd);
/* anvil_clnt_set_timeout - how long anvil may take to answer. */
void anvil_clnt_set_timeout(struct anvil_clnt *clnt, long ms);
/* anvil_clnt_close - free CLNT (NULL: nothing); no callback runs after. */
void anvil_clnt_close(struct anvil_clnt *clnt);

/* anvil_clnt_request - send OP (IPC_ANVIL_*) for the client address ADDR;
 * the id to cancel it with (0 when FN is NULL). */
uint32_t anvil_clnt_request(struct anvil_clnt *clnt, enum ipc_anvil_op op,
                            const char *addr, anvil_clnt_fn fn, void *arg);
/* anvil_clnt_cancel - FN of request ID will not run. */
void anvil_clnt_cancel(struct anvil_clnt *clnt, uint32_t id);
/* anvil_clnt_pending - requests whose callback is still to run. */
size_t anvil_clnt_pending(const struct anvil_clnt *clnt);

/* The requests by name; each is anvil_clnt_request with its op. */
static inline uint32_t anvil_clnt_connect(struct anvil_clnt *clnt,
                                          const char *addr, anvil_clnt_fn fn,
                                          void *arg)
{
    return anvil_clnt_request(clnt, IPC_ANVIL_CONNECT, addr, fn, arg);
}
static inline uint32_t anvil_clnt_disconnect(struct anvil_clnt *clnt,
                                             const char *addr, anvil_clnt_fn fn,
                                             void *arg)
{
    return anvil_clnt_request(clnt, IPC_ANVIL_DISCONNECT, addr, fn, arg);
}
static inline uint32_t anvil_clnt_message(struct anvil_clnt *clnt,
                                          const char *addr, anvil_clnt_fn fn,
                                          void *arg)
{
    return anvil_clnt_request(clnt, IPC_ANVIL_MESSAGE, addr, fn, arg);
}
static inline uint32_t anvil_clnt_recipient(struct anvil_clnt *clnt,
                                            const char *addr, anvil_clnt_fn fn,
                                            void *arg)
{
    return anvil_clnt_request(clnt, IPC_ANVIL_RECIPIENT, addr, fn, arg);
}
static inline uint32_t anvil_clnt_newtls(struct anvil_clnt *clnt,
                                         const char *addr, anvil_clnt_fn fn,
                                         void *arg)
{
    return anvil_clnt_request(clnt, IPC_ANVIL_NEWTLS, addr, fn, arg);
}
static inline uint32_t anvil_clnt_newtls_report(struct anvil_clnt *clnt,
                                                const char *addr,
                                                anvil_clnt_fn fn, void *arg)
{
    return anvil_clnt_request(clnt, IPC_ANVIL_NEWTLS_REPORT, addr, fn, arg);
}
static inline uint32_t anvil_clnt_auth(struct anvil_clnt *clnt,
                                       const char *addr, anvil_clnt_fn fn,
                                       void *arg)
{
    return anvil_clnt_request(clnt, IPC_ANVIL_AUTH, addr, fn, arg);
}

#endif
