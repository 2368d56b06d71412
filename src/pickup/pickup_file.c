/*
 * pickup_file - one maildrop file through cleanup (see pickup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "pickup.h"

#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "../global/conf.h"
#include "../global/agent.h"
#include "../global/bounce_notice.h"
#include "../global/queue_file.h"
#include "../global/trigger.h"

/* read_limit - the largest maildrop file read into memory */
static size_t read_limit(void)
{
    long limit = conf_size("message_size_limit");

    /* Room for the records around the content and the envelope. */
    if (limit <= 0 || limit > (1L << 29))
        return (size_t) 1 << 30;
    return (size_t) limit * 2 + ((size_t) 1 << 20);
}

/* move_corrupt - a damaged maildrop file to corrupt/ */
static enum pickup_result move_corrupt(const struct queue_dir *qd,
                                       const char *id, const char *path,
                                       const char *reason)
{
    struct buf why = BUF_INIT;

    if (queue_dir_move_path(qd, path, QUEUE_CORRUPT, id, &why) < 0) {
        msg_warn("maildrop/%s: %s -- cannot move it to corrupt: %s", id, reason,
                 buf_str(&why));
        /* It cannot stay: it would stop nothing but come back each scan. */
        if (unlink(path) < 0)
            msg_warn("maildrop/%s: remove: %m", id);
    } else {
        msg_warn("maildrop/%s: %s -- moved to corrupt", id, reason);
    }
    buf_fini(&why);
    return PICKUP_CORRUPT;
}

/* return_rejected - the recipients of the maildrop message ENV (content
 * in DATA) failed with cleanup's REASON ("5.7.1 text"): each logged as
 * Postfix's cleanup logs it (QUEUEID ID), and one non-delivery report to
 * the sender (none for the null sender); -1 when the report could not be
 * queued (the maildrop file stays for another try) */
static int return_rejected(const struct queue_dir *qd, const char *id,
                           const struct queue_env *env, struct span data,
                           const char *reason)
{
    struct bounce_report_rcpt *rc = mem_calloc(env->nrcpt + 1, sizeof(*rc));
    struct bounce_report br;
    struct bounce_notice_content bnc;
    struct buf line = BUF_INIT;
    struct buf why = BUF_INIT;
    char status[DSN_STATUS_SIZE] = "5.0.0";
    char bid[64];
    struct timeval now;
    size_t n = strspn(reason, "0123456789.");
    size_t nrc = 0;
    double d;
    int ret = 0;

    if (n >= 5 && n < sizeof(status) && reason[0] == '5' && reason[n] == ' ') {
        memcpy(status, reason, n);
        status[n] = 0;
        reason += n + 1;
    }
    gettimeofday(&now, NULL);
    d = (double) (now.tv_sec - env->arrival.tv_sec)
        + (now.tv_usec - env->arrival.tv_usec) / 1e6;
    for (size_t i = 0; i < env->nrcpt; i++) {
        const struct queue_rcpt *qr = &env->rcpts[i];

        if (qr->done)
            continue;
        buf_setf(&line, "%s: to=<%s>, relay=none, delay=", id, qr->address);
        agent_delay_format(d, &line);
        buf_cat(&line, ", delays=");
        agent_delay_format(d, &line);
        buf_catf(&line, "/0/0/0, dsn=%s, status=bounced (", status);
        agent_sanitize(reason, &line);
        buf_cat(&line, ")");
        msg_info("%s", buf_str(&line));
        rc[nrc].address = qr->address;
        rc[nrc].orig_rcpt = qr->orig;
        rc[nrc].orcpt = qr->orcpt;
        str_copy(rc[nrc].dsn.status, sizeof(rc[nrc].dsn.status), status);
        rc[nrc].dsn.action = DSN_ACTION_FAILED;
        rc[nrc].dsn.reason = reason;
        nrc++;
    }
    if (*env->sender == 0 || nrc == 0) {
        msg_info("%s: rejected: %s; no notification to %s", id, reason,
                 *env->sender ? "send: no recipients" : "the null sender");
        goto out;
    }
    bounce_notice_init(&br, BOUNCE_REPORT_FAILURE, id, env);
    br.rcpts = rc;
    br.nrcpts = nrc;
    bounce_notice_content_init(&bnc, data, env, &br);
    if (bounce_notice_queue(qd, &br, bid, sizeof(bid), &why) < 0) {
        msg_warn("%s: cannot queue the non-delivery notification: %s -- "
                 "will try again",
                 id, buf_str(&why));
        ret = -1;
        goto out;
    }
    msg_info("%s: sender non-delivery notification: %s", id, bid);
    buf_reset(&line);
    trigger_path("public", conf_str("queue_service_name"), &line);
    buf_reset(&why);
    if (trigger_wakeup(buf_str(&line), "incoming", bid, &why) < 0)
        msg_debug(1, "%s: no qmgr wakeup: %s", bid, buf_str(&why));
out:
    mem_free(rc);
    buf_fini(&line);
    buf_fini(&why);
    return ret;
}

/* pickup_file - one maildrop file */
enum pickup_result pickup_file(struct cleanup_conf *cf,
                               const struct queue_dir *qd, const char *id,
                               const char *path)
{
    struct queue_env env = {0};
    struct queue_content qc;
    struct buf data = BUF_INIT;
    struct buf why = BUF_INIT;
    struct buf line = BUF_INIT;
    struct buf text = BUF_INIT;
    struct cleanup *c;
    struct stat st;
    enum pickup_result res = PICKUP_DONE;
    char new_id[64];
    int fd = -1;

    switch (
        queue_file_read(path, O_RDONLY, read_limit(), &fd, &data, &env, &why)) {
        case QUEUE_READ_OK:
            break;
        case QUEUE_READ_GONE:
            queue_env_fini(&env);
            buf_fini(&why);
            return PICKUP_GONE;
        case QUEUE_READ_CORRUPT:
            res = move_corrupt(qd, id, path, buf_str(&why));
            queue_env_fini(&env);
            buf_fini(&why);
            buf_fini(&data);
            return res;
        case QUEUE_READ_ERROR:
            msg_warn("maildrop/%s: %s", id, buf_str(&why));
            queue_env_fini(&env);
            buf_fini(&why);
            buf_fini(&data);
            return PICKUP_RETRY;
    }
    if (fstat(fd, &st) < 0) {
        msg_warn("maildrop/%s: fstat: %m", id);
        res = PICKUP_RETRY;
        goto out;
    }
    if ((c = cleanup_open(cf, &why)) == NULL) {
        msg_warn("maildrop/%s: %s", id, buf_str(&why));
        res = PICKUP_RETRY;
        goto out;
    }
    str_copy(new_id, sizeof(new_id), cleanup_id(c));
    msg_info("%s: uid=%lu from=<%s>", new_id, (unsigned long) st.st_uid,
             env.sender);

    cleanup_time(c, &env.arrival);
    cleanup_sender(c, env.sender);
    cleanup_attr(c, "rewrite_context", "local");
    buf_setf(&text, "%lu", (unsigned long) st.st_uid);
    cleanup_attr(c, "uid", buf_str(&text));
    buf_setf(&text, "uid=%lu", (unsigned long) st.st_uid);
    cleanup_attr(c, "log_message_origin", buf_str(&text));
    cleanup_attr(c, "log_protocol", "sendmail");
    {
        const char *full = queue_env_attr(&env, "sender_fullname");

        if (full)
            cleanup_attr(c, "sender_fullname", full);
        /* sendmail -bv: the qmgr asks the agents and mails the answers
         * (nothing is delivered, so any user may ask). */
        if (queue_env_attr(&env, "verify"))
            cleanup_attr(c, "verify", "1");
        /* sendmail -v: a report of the first attempt by mail */
        if (queue_env_attr(&env, "trace"))
            cleanup_attr(c, "trace", "1");
    }
    if (env.envid)
        cleanup_envid(c, env.envid);
    if (env.ret)
        cleanup_ret(c, env.ret);
    for (size_t i = 0; i < env.nrcpt; i++)
        if (!env.rcpts[i].done)
            cleanup_rcpt(c, env.rcpts[i].address, env.rcpts[i].orcpt,
                         env.rcpts[i].notify);
    queue_content_init(&qc, span_make(buf_str(&data), buf_len(&data)), &env);
    while (queue_content_next(&qc, &line) == 1)
        cleanup_line(c, buf_str(&line), buf_len(&line));

    switch (cleanup_finish(c, &why)) {
        case CLEANUP_OK:
        case CLEANUP_DISCARDED:
            break;
        case CLEANUP_REJECTED:
            /* The submitter has gone: the message goes back to its sender,
             * as Postfix's cleanup bounces local mail it rejects. */
            if (return_rejected(qd, new_id, &env,
                                span_make(buf_str(&data), buf_len(&data)),
                                buf_str(&why))
                < 0) {
                res = PICKUP_RETRY;
                goto out;
            }
            break;
        case CLEANUP_TEMPFAIL:
            msg_warn("maildrop/%s: %s -- will try again", id, buf_str(&why));
            res = PICKUP_RETRY;
            goto out;
    }
    /* cleanup's file is committed (or the message needs none): only now
     * does the maildrop copy go. */
    if (unlink(path) < 0 && errno != ENOENT)
        msg_warn("maildrop/%s: remove: %m", id);

out:
    if (fd >= 0)
        close(fd);
    queue_env_fini(&env);
    buf_fini(&data);
    buf_fini(&why);
    buf_fini(&line);
    buf_fini(&text);
    return res;
}

/* pickup_scan - every maildrop file */
int pickup_scan(struct cleanup_conf *cf, const struct queue_dir *qd)
{
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct queue_scan *s = queue_scan_open(qd, QUEUE_MAILDROP, &why);
    const char *id;
    int done = 0;

    if (s == NULL) {
        msg_warn("maildrop: %s", buf_str(&why));
        buf_fini(&why);
        return -1;
    }
    while ((id = queue_scan_next(s, &path)) != NULL) {
        char copy[64];

        str_copy(copy, sizeof(copy), id);
        switch (pickup_file(cf, qd, copy, buf_str(&path))) {
            case PICKUP_DONE:
            case PICKUP_CORRUPT:
                done++;
                break;
            case PICKUP_RETRY:
            case PICKUP_GONE:
                break;
        }
    }
    if (queue_scan_error(s))
        msg_warn("maildrop: %s", queue_scan_error(s));
    queue_scan_close(s);
    buf_fini(&why);
    buf_fini(&path);
    return done;
}
