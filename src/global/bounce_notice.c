/*
 * bounce_notice - a report queued as a new message (see bounce_notice.h).
 */
#include "bounce_notice.h"

#include <string.h>
#include <time.h>

#include "../lib/msg.h"
#include "../lib/str.h"
#include "conf.h"

/* The writer and what it needs to put Message-Id: after the headers. */
struct notice {
    struct queue_writer *w;
    bool in_body;
    struct buf msgid;
};

/* notice_line - one line of the report into the queue file; the
 * Message-Id header goes last in the headers, as cleanup adds it */
static int notice_line(void *ctx, const char *line, size_t len, struct buf *why)
{
    struct notice *n = ctx;

    (void) why;
    if (!n->in_body && len == 0) {
        queue_writer_line(n->w, buf_str(&n->msgid), buf_len(&n->msgid));
        queue_writer_body_begin(n->w);
        n->in_body = true;
    }
    return queue_writer_line(n->w, line, len);
}

/* bounce_notice_init - the report's message and configuration fields */
void bounce_notice_init(struct bounce_report *br, enum bounce_report_kind kind,
                        const char *id, const struct queue_env *env)
{
    memset(br, 0, sizeof(*br));
    br->kind = kind;
    br->queue_id = id;
    br->sender = env->sender;
    br->arrival = env->arrival.tv_sec;
    br->envid = env->envid;
    br->ret = env->ret == QUEUE_RET_HDRS   ? DSN_RET_HDRS
              : env->ret == QUEUE_RET_FULL ? DSN_RET_FULL
                                           : DSN_RET_NONE;
    br->myhostname = conf_str("myhostname");
    br->bounce_size_limit = (size_t) conf_size("bounce_size_limit");
    br->delay_warning_time = conf_time("delay_warning_time");
    br->maximal_queue_lifetime = conf_time("maximal_queue_lifetime");
    br->now = time(NULL);
}

/* bounce_notice_queue - the report as a new message in incoming/ */
int bounce_notice_queue(const struct queue_dir *qd,
                        const struct bounce_report *br, char *newid,
                        size_t newid_size, struct buf *why)
{
    struct notice n = {0};
    struct queue_rcpt_in rin = {0};
    struct buf hdr = BUF_INIT;
    struct buf mid = BUF_INIT;
    struct timeval created;
    char stamp[32];
    struct tm tm;
    const char *id;
    int ret = -1;

    if ((n.w = queue_writer_open(qd, QUEUE_INCOMING, why)) == NULL)
        return -1;
    buf_init(&n.msgid, 0);
    id = queue_writer_id(n.w);
    created = queue_writer_created(n.w);
    if (localtime_r(&created.tv_sec, &tm) == NULL
        || strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
        str_copy(stamp, sizeof(stamp), "19700101000000");
    buf_setf(&n.msgid, "Message-Id: <%s.%s@%s>", stamp, id, br->myhostname);
    rin.address = br->to ? br->to : br->sender;
    queue_writer_time(n.w, &created);
    queue_writer_sender(n.w, "");
    queue_writer_attr(n.w, "rewrite_context", "local");
    queue_writer_rcpt(n.w, &rin);
    queue_writer_content_begin(n.w);
    buf_setf(&hdr, "Received: by %s (%s)", br->myhostname,
             conf_str("mail_name"));
    queue_writer_line(n.w, buf_str(&hdr), buf_len(&hdr));
    buf_setf(&hdr, "\tid %s; ", id);
    bounce_report_date(created.tv_sec, &hdr);
    queue_writer_line(n.w, buf_str(&hdr), buf_len(&hdr));
    if (bounce_report_write(br, notice_line, &n, why) < 0) {
        queue_writer_abort(n.w);
        goto out;
    }
    if (!n.in_body)
        queue_writer_line(n.w, buf_str(&n.msgid), buf_len(&n.msgid));
    queue_writer_content_end(n.w);
    if (queue_writer_error(n.w)) {
        buf_set(why, queue_writer_error(n.w));
        queue_writer_abort(n.w);
        goto out;
    }
    str_copy(newid, newid_size, id);
    buf_catn(&mid, buf_str(&n.msgid) + 12, buf_len(&n.msgid) - 12);
    if (queue_writer_commit(n.w, why) == 0) {
        msg_info("%s: message-id=%s", newid, buf_str(&mid));
        ret = 0;
    }
out:
    buf_fini(&n.msgid);
    buf_fini(&hdr);
    buf_fini(&mid);
    return ret;
}

/* read_content - bounce_report_read_fn over a queue file in memory */
static int read_content(void *ctx, struct buf *line, struct buf *why)
{
    struct bounce_notice_content *bnc = ctx;

    (void) why;
    return queue_content_next(&bnc->c, line);
}

/* bounce_notice_content_init - the original's content for the report */
void bounce_notice_content_init(struct bounce_notice_content *bnc,
                                struct span data, const struct queue_env *env,
                                struct bounce_report *br)
{
    queue_content_init(&bnc->c, data, env);
    br->read_content = read_content;
    br->read_ctx = bnc;
}
