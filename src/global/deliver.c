/* deliver - shared pieces of mailbox delivery (see deliver.h) */
#include "deliver.h"

#include <errno.h>
#include <unistd.h>

#include "lib/htable.h"
#include "lib/mem.h"
#include "lib/msg.h"
#include "lib/str.h"

/* Output is flushed when this much is buffered. */
#define DELIVER_WRITE_CHUNK 65536

/* The longest Delivered-To: line remembered (longer ones cannot equal a
 * recipient address, which is far shorter). */
#define DELIVER_SEEN_LINE_MAX 4096

/* deliver_status_set - class from the first digit */
void deliver_status_set(struct deliver_status *st, const char *dsn, int err)
{
    if (str_copy(st->dsn, sizeof(st->dsn), dsn) < 0)
        msg_panic("deliver_status_set: bad status \"%s\"", dsn);
    st->cls = dsn[0] == '2'   ? DELIVER_SENT
              : dsn[0] == '5' ? DELIVER_BOUNCE
                              : DELIVER_DEFER;
    st->err = err;
}

/* deliver_status_errno - Postfix's errno to status mapping */
void deliver_status_errno(struct deliver_status *st, int err,
                          const char *default_dsn)
{
    const char *dsn;

    switch (err) {
        case ENOSPC:
            dsn = "4.3.0";
            break;
        case EFBIG:
            dsn = "5.2.2";
            break;
        case EDQUOT:
            dsn = "4.2.2";
            break;
        case EAGAIN:
        case ESTALE:
            dsn = "4.2.0";
            break;
        default:
            dsn = default_dsn;
            break;
    }
    deliver_status_set(st, dsn, err);
}

/* mem_next - the next line of a message in memory */
static int mem_next(void *ctx, struct deliver_line *out, struct buf *why)
{
    struct deliver_mem *m = ctx;
    const char *nl;
    size_t rest;

    (void) why;
    if (m->off >= m->len)
        return 0;
    rest = m->len - m->off;
    nl = memchr(m->p + m->off, '\n', rest);
    out->more = false;
    if (nl) {
        out->text = span_make(m->p + m->off, (size_t) (nl - (m->p + m->off)));
        m->off += out->text.len + 1;
    } else {
        out->text = span_make(m->p + m->off, rest);
        m->off = m->len;
    }
    return 1;
}

/* deliver_src_mem - a source over a message in memory */
void deliver_src_mem(struct deliver_src *src, struct deliver_mem *mem,
                     const char *text, size_t len)
{
    mem->p = text;
    mem->len = len;
    mem->off = 0;
    src->next = mem_next;
    src->ctx = mem;
}

/* cat_line - PREFIX, ADDR with line breaks as "?", SUFFIX: an address
 * from a damaged queue file must not add header lines of its own */
static int cat_line(struct buf *out, const char *prefix, const char *addr,
                    const char *suffix)
{
    int ret = buf_cat(out, prefix);

    for (; *addr; addr++)
        ret |= buf_catc(out, *addr == '\n' || *addr == '\r' ? '?' : *addr);
    return ret | buf_cat(out, suffix);
}

/* deliver_hdr_format - the prepended lines */
int deliver_hdr_format(struct buf *out, const struct deliver_env *env,
                       unsigned flags)
{
    int ret = 0;

    if (flags & DELIVER_HDR_FROM_LINE) {
        time_t now = env->now ? env->now : time(NULL);
        struct tm tm;
        char date[64];

        /* asctime(3)'s layout, without its newline, reentrant */
        if (localtime_r(&now, &tm) == NULL
            || strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
            msg_panic("deliver_hdr_format: bad time %lld", (long long) now);
        ret |= cat_line(out, "From ",
                        *env->sender ? env->sender : "MAILER-DAEMON", "  ");
        ret |= buf_catf(out, "%s\n", date);
    }
    if (flags & DELIVER_HDR_RETURN_PATH)
        ret |= cat_line(out, "Return-Path: <", env->sender, ">\n");
    if ((flags & DELIVER_HDR_ORIG_TO) && env->orig_rcpt)
        ret |= cat_line(out, "X-Original-To: ", env->orig_rcpt, "\n");
    if ((flags & DELIVER_HDR_DELIVERED_TO) && env->recipient)
        ret |= cat_line(out, "Delivered-To: ", env->recipient, "\n");
    return ret ? -1 : 0;
}

/* The writer of deliver_copy. */
struct writer {
    int fd;
    off_t size;  /* START plus what was accepted so far */
    off_t limit; /* 0: none */
    struct buf b;
};

/* wr_flush - write the buffered bytes; -1 with errno */
static int wr_flush(struct writer *w)
{
    const char *p = buf_str(&w->b);
    size_t left = buf_len(&w->b);
    ssize_t n;

    while (left > 0) {
        if ((n = write(w->fd, p, left)) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        left -= (size_t) n;
    }
    buf_reset(&w->b);
    return 0;
}

/* wr_put - append LEN bytes, enforcing the size limit; -1 with errno */
static int wr_put(struct writer *w, const char *p, size_t len)
{
    if (w->limit > 0 && (off_t) len > w->limit - w->size) {
        /* Write what fits, as the file size resource limit would. */
        size_t fits = w->limit > w->size ? (size_t) (w->limit - w->size) : 0;

        (void) buf_catn(&w->b, p, fits);
        (void) wr_flush(w);
        errno = EFBIG;
        return -1;
    }
    w->size += (off_t) len;
    if (buf_catn(&w->b, p, len) < 0)
        msg_panic("wr_put: unbounded buffer refused data");
    if (buf_len(&w->b) >= DELIVER_WRITE_CHUNK)
        return wr_flush(w);
    return 0;
}

/* deliver_copy - write prepended lines and content, then fsync */
int deliver_copy(int fd, off_t start, off_t limit,
                 const struct deliver_env *env, unsigned hdr_flags,
                 unsigned copy_flags, struct deliver_src *src,
                 struct deliver_status *st, struct buf *why)
{
    struct writer w;
    struct deliver_line line;
    struct buf hdr = BUF_INIT;
    struct buf rwhy = BUF_INIT;
    bool quote = (copy_flags & DELIVER_COPY_QUOTE) != 0;
    bool deciding = quote; /* collecting the first bytes of a line */
    char head[5];
    size_t headlen = 0;
    bool line_done = true; /* no line is open */
    int rc, err;

    w.fd = fd;
    w.size = start;
    w.limit = limit;
    buf_init(&w.b, 0);

    (void) deliver_hdr_format(&hdr, env, hdr_flags);
    if (wr_put(&w, buf_str(&hdr), buf_len(&hdr)) < 0)
        goto write_error;
    while ((rc = src->next(src->ctx, &line, &rwhy)) > 0) {
        const char *p = line.text.p;
        size_t len = line.text.len;

        line_done = false;
        /* The first five bytes of a line decide about quoting, even when
         * they arrive in more than one piece. */
        if (deciding) {
            size_t take = len < 5 - headlen ? len : 5 - headlen;

            memcpy(head + headlen, p, take);
            headlen += take;
            p += take;
            len -= take;
            if (headlen < 5 && line.more)
                continue;
            if (headlen == 5 && memcmp(head, "From ", 5) == 0
                && wr_put(&w, ">", 1) < 0)
                goto write_error;
            if (wr_put(&w, head, headlen) < 0)
                goto write_error;
            deciding = false;
        }
        if (wr_put(&w, p, len) < 0)
            goto write_error;
        if (line.more)
            continue;
        if (wr_put(&w, "\n", 1) < 0)
            goto write_error;
        deciding = quote;
        headlen = 0;
        line_done = true;
    }
    if (rc < 0) {
        buf_setf(why, "error reading message: %s", buf_str(&rwhy));
        deliver_status_set(st, "4.3.0", 0);
        goto fail;
    }
    /* A last line without its end: finish it (and any bytes held). */
    if (deciding && headlen > 0 && wr_put(&w, head, headlen) < 0)
        goto write_error;
    if (!line_done && wr_put(&w, "\n", 1) < 0)
        goto write_error;
    if ((copy_flags & DELIVER_COPY_BLANK) && wr_put(&w, "\n", 1) < 0)
        goto write_error;
    if (wr_flush(&w) < 0 || fsync(fd) < 0)
        goto write_error;
    buf_fini(&w.b);
    buf_fini(&hdr);
    buf_fini(&rwhy);
    deliver_status_set(st, "2.0.0", 0);
    return 0;

write_error:
    err = errno;
    buf_setf(why, "error writing message: %s", strerror(err));
    deliver_status_errno(st, err, "4.2.0");
fail:
    buf_fini(&w.b);
    buf_fini(&hdr);
    buf_fini(&rwhy);
    return -1;
}

/* Delivered-To: values seen, lower-cased. */
struct deliver_seen {
    struct htable *addrs;
};

/* seen_add - remember the value of a complete header line */
static void seen_add(struct deliver_seen *seen, const struct buf *line)
{
    static const char name[] = "delivered-to:";
    const char *p = buf_str(line);
    struct buf v = BUF_INIT;

    if (buf_len(line) < sizeof(name) - 1
        || strncasecmp(p, name, sizeof(name) - 1) != 0)
        return;
    p += sizeof(name) - 1;
    while (*p == ' ' || *p == '\t')
        p++;
    buf_set(&v, p);
    buf_lower(&v);
    htable_enter(seen->addrs, buf_str(&v), seen);
    buf_fini(&v);
}

/* deliver_seen_read - collect the Delivered-To: values */
struct deliver_seen *deliver_seen_read(struct deliver_src *src, struct buf *why)
{
    struct deliver_seen *seen = mem_zalloc(sizeof(*seen));
    struct buf line = BUF_INIT;
    struct deliver_line piece;
    bool overflow = false;
    int rc;

    seen->addrs = htable_new(8);
    while ((rc = src->next(src->ctx, &piece, why)) > 0) {
        if (!overflow
            && buf_len(&line) + piece.text.len > DELIVER_SEEN_LINE_MAX)
            overflow = true;
        if (!overflow)
            (void) buf_catspan(&line, piece.text);
        if (piece.more)
            continue;
        if (!overflow && buf_len(&line) == 0)
            break; /* end of the primary header */
        if (!overflow)
            seen_add(seen, &line);
        buf_reset(&line);
        overflow = false;
    }
    buf_fini(&line);
    if (rc < 0) {
        deliver_seen_free(seen);
        return NULL;
    }
    return seen;
}

/* deliver_seen_has - case-insensitive membership */
bool deliver_seen_has(const struct deliver_seen *seen, const char *addr)
{
    struct buf key = BUF_INIT;
    bool found;

    buf_set(&key, addr);
    buf_lower(&key);
    found = htable_find(seen->addrs, buf_str(&key)) != NULL;
    buf_fini(&key);
    return found;
}

/* deliver_seen_free - release */
void deliver_seen_free(struct deliver_seen *seen)
{
    if (seen == NULL)
        return;
    htable_free(seen->addrs, NULL);
    mem_free(seen);
}

/* deliver_loop_check - one recipient against the header */
int deliver_loop_check(struct deliver_src *src, const char *addr,
                       struct deliver_status *st, struct buf *why)
{
    struct buf rwhy = BUF_INIT;
    struct deliver_seen *seen = deliver_seen_read(src, &rwhy);
    int ret;

    if (seen == NULL) {
        buf_setf(why, "error reading message: %s", buf_str(&rwhy));
        deliver_status_set(st, "4.3.0", 0);
        buf_fini(&rwhy);
        return -1;
    }
    buf_fini(&rwhy);
    if ((ret = deliver_seen_has(seen, addr) ? 1 : 0) != 0) {
        buf_setf(why, "mail forwarding loop for %s", addr);
        deliver_status_set(st, "5.4.6", 0);
    }
    deliver_seen_free(seen);
    return ret;
}
