#include "queue_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/fs.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"

/* type_known - one of the record types of the format */
static bool type_known(int t)
{
    return t != 0 && strchr("STWFVDAOPNRrMLCBXE", t) != NULL;
}

/* queue_rec_next - the framing of one record */
int queue_rec_next(struct span file, size_t *off, struct queue_rec *rec,
                   struct buf *why)
{
    size_t at = *off;
    const unsigned char *p;
    size_t len;

    if (at >= file.len)
        return 0;
    p = (const unsigned char *) file.p + at;
    if (!type_known(p[0])) {
        buf_catf(why, "offset %zu: unknown record type 0x%02x", at, p[0]);
        return -1;
    }
    if (file.len - at < QUEUE_REC_HDR) {
        buf_catf(why, "offset %zu: truncated record header (type %c)", at,
                 p[0]);
        return -1;
    }
    len = ((size_t) p[1] << 8) | p[2];
    if (len > QUEUE_REC_MAX) {
        buf_catf(why, "offset %zu: record type %c length %zu exceeds %d", at,
                 p[0], len, QUEUE_REC_MAX);
        return -1;
    }
    if (file.len - at - QUEUE_REC_HDR < len) {
        buf_catf(
            why,
            "offset %zu: truncated record type %c: length %zu, %zu bytes left",
            at, p[0], len, file.len - at - QUEUE_REC_HDR);
        return -1;
    }
    rec->type = p[0];
    rec->offset = at;
    rec->data = span_make(file.p + at + QUEUE_REC_HDR, len);
    *off = at + QUEUE_REC_HDR + len;
    return 1;
}

/* fixed_num - a right-aligned decimal field of WIDTH characters */
static int fixed_num(const char *p, size_t width, long long *out)
{
    size_t i = 0;
    long long v = 0;

    while (i < width && p[i] == ' ')
        i++;
    if (i == width)
        return -1;
    for (; i < width; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (LLONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* span_num - a whole span of decimal digits (1..18 of them) */
static int span_num(struct span s, long long *out)
{
    long long v = 0;

    if (s.len == 0 || s.len > 18)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (s.p[i] - '0');
    }
    *out = v;
    return 0;
}

/* text_ok - envelope text: no NUL, CR or LF */
static bool text_ok(struct span s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] == 0 || s.p[i] == '\r' || s.p[i] == '\n')
            return false;
    return true;
}

/* attr_ok - "name=value" with a [a-z0-9_]+ name; the name length */
static size_t attr_name_len(struct span s)
{
    size_t i = 0;

    while (i < s.len
           && ((s.p[i] >= 'a' && s.p[i] <= 'z')
               || (s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '_'))
        i++;
    return (i > 0 && i < s.len && s.p[i] == '=') ? i : 0;
}

/* notify_ok - NEVER alone, or a set of the other bits */
static bool notify_ok(long long n)
{
    return n == QUEUE_NOTIFY_NEVER
           || (n > 0 && n <= QUEUE_NOTIFY_ALL && !(n & QUEUE_NOTIFY_NEVER));
}

/* parse_size - the fields of the size record */
static int parse_size(struct span d, long long f[QUEUE_SIZE_FIELDS])
{
    if (d.len != QUEUE_SIZE_LEN)
        return -1;
    for (int i = 0; i < QUEUE_SIZE_FIELDS; i++) {
        const char *p = d.p + i * (QUEUE_SIZE_WIDTH + 1);

        if (i > 0 && p[-1] != ' ')
            return -1;
        if (fixed_num(p, QUEUE_SIZE_WIDTH, &f[i]) < 0)
            return -1;
    }
    return 0;
}

/* parse_time - "SECONDS.USEC" with six digits of microseconds */
static int parse_time(struct span d, struct timeval *tv)
{
    const char *dot = memchr(d.p, '.', d.len);
    long long sec;
    long long usec;

    if (dot == NULL || d.p + d.len - dot != 7
        || span_num(span_make(d.p, (size_t) (dot - d.p)), &sec) < 0
        || span_num(span_make(dot + 1, 6), &usec) < 0)
        return -1;
    tv->tv_sec = (time_t) sec;
    tv->tv_usec = (suseconds_t) usec;
    return 0;
}

enum section {
    SEC_ENV,
    SEC_CONTENT,
    SEC_XTRA,
    SEC_END,
};

/* struct pending - the O/P/N fields waiting for their R */
struct pending {
    char *orig;
    char *orcpt;
    int notify;
    bool any;
};

/* pending_clear - forget a recipient's fields */
static void pending_clear(struct pending *pd)
{
    mem_free(pd->orig);
    mem_free(pd->orcpt);
    memset(pd, 0, sizeof(*pd));
}

/* bad - report an error at OFFSET and remember it */
static int bad(struct queue_env *env, struct buf *why, size_t offset,
               const char *fmt, ...) ULAK_PRINTFLIKE(4, 5);

static int bad(struct queue_env *env, struct buf *why, size_t offset,
               const char *fmt, ...)
{
    va_list ap;

    env->bad_offset = offset;
    buf_catf(why, "offset %zu: ", offset);
    va_start(ap, fmt);
    buf_vcatf(why, fmt, ap);
    va_end(ap);
    return -1;
}

/* add_rcpt - a recipient record with its pending fields */
static void add_rcpt(struct queue_env *env, struct pending *pd,
                     const struct queue_rec *r, size_t *cap)
{
    struct queue_rcpt *rc;

    if (env->nrcpt == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        env->rcpts = mem_realloc(env->rcpts, *cap * sizeof(*env->rcpts));
    }
    rc = &env->rcpts[env->nrcpt++];
    rc->address = span_dup(r->data);
    rc->orig = pd->orig;
    rc->orcpt = pd->orcpt;
    rc->notify = pd->notify;
    rc->done = r->type == QUEUE_REC_DONE;
    rc->offset = r->offset;
    if (rc->done)
        env->ndone++;
    memset(pd, 0, sizeof(*pd));
}

/* queue_file_parse - the strict reader */
int queue_file_parse(struct span file, struct queue_env *env, struct buf *why)
{
    enum section sec = SEC_ENV;
    struct pending pd = {0};
    struct queue_rec r;
    long long size[QUEUE_SIZE_FIELDS];
    long long content_bytes = 0;
    bool seen_time = false;
    bool seen_from = false;
    bool in_cont = false; /* a C record waits for its L */
    size_t cap = 0;
    size_t off = 0;
    size_t name_len;
    int rc;

    memset(env, 0, sizeof(*env));
    env->attrs = argv_new();
    if ((rc = queue_rec_next(file, &off, &r, why)) <= 0) {
        env->bad_offset = 0;
        if (rc == 0)
            buf_cat(why, "offset 0: empty file");
        return -1;
    }
    if (r.type != QUEUE_REC_SIZE || parse_size(r.data, size) < 0)
        return bad(env, why, 0, "not a queue file: no size record");
    if (size[4] != QUEUE_FILE_VERSION)
        return bad(env, why, 0, "queue file format version %lld, not %d",
                   size[4], QUEUE_FILE_VERSION);
    if (size[1] == 0)
        return bad(env, why, 0,
                   "incomplete queue file: size record not completed");
    env->message_size = size[0];
    env->content_offset = (size_t) size[1];

    for (;;) {
        rc = queue_rec_next(file, &off, &r, why);
        if (rc < 0) {
            env->bad_offset = off;
            goto fail;
        }
        if (rc == 0)
            break;
        if (sec == SEC_END) {
            bad(env, why, r.offset, "record type %c after the end record",
                r.type);
            goto fail;
        }
        if (sec != SEC_CONTENT && !text_ok(r.data)) {
            bad(env, why, r.offset, "record type %c holds a NUL, CR or LF byte",
                r.type);
            goto fail;
        }
        if (pd.any && !strchr("OPNRr", r.type)) {
            bad(env, why, r.offset,
                "recipient fields not followed by a recipient record");
            goto fail;
        }
        switch (r.type) {
            case QUEUE_REC_SIZE:
                bad(env, why, r.offset, "a second size record");
                goto fail;
            case QUEUE_REC_TIME:
                if (sec != SEC_ENV || seen_time) {
                    bad(env, why, r.offset, "unexpected time record");
                    goto fail;
                }
                if (parse_time(r.data, &env->arrival) < 0) {
                    bad(env, why, r.offset, "malformed time record");
                    goto fail;
                }
                seen_time = true;
                break;
            case QUEUE_REC_WARN:
                if (sec != SEC_ENV || env->warn_offset != 0
                    || r.data.len != QUEUE_WARN_LEN
                    || fixed_num(r.data.p, QUEUE_WARN_LEN, &env->warn_time)
                           < 0) {
                    bad(env, why, r.offset,
                        "unexpected or malformed warning time record");
                    goto fail;
                }
                env->warn_offset = r.offset;
                break;
            case QUEUE_REC_FROM:
                if (sec != SEC_ENV || seen_from) {
                    bad(env, why, r.offset, "unexpected sender record");
                    goto fail;
                }
                env->sender = span_dup(r.data);
                seen_from = true;
                break;
            case QUEUE_REC_ENVID:
                if (sec != SEC_ENV || env->envid != NULL || r.data.len == 0) {
                    bad(env, why, r.offset, "unexpected envelope-id record");
                    goto fail;
                }
                env->envid = span_dup(r.data);
                break;
            case QUEUE_REC_RET:
                if (sec != SEC_ENV || env->ret != 0 || r.data.len != 1
                    || (r.data.p[0] != '1' && r.data.p[0] != '2')) {
                    bad(env, why, r.offset,
                        "unexpected or malformed RET record");
                    goto fail;
                }
                env->ret = r.data.p[0] - '0';
                break;
            case QUEUE_REC_ATTR:
                if (sec == SEC_CONTENT
                    || (name_len = attr_name_len(r.data)) == 0) {
                    bad(env, why, r.offset,
                        "unexpected or malformed attribute record");
                    goto fail;
                }
                for (size_t i = 0; i < env->attrs->argc; i++) {
                    if (strncmp(env->attrs->argv[i], r.data.p, name_len + 1)
                        == 0) {
                        bad(env, why, r.offset, "duplicate attribute %.*s",
                            (int) name_len, r.data.p);
                        goto fail;
                    }
                }
                argv_addn(env->attrs, r.data.p, r.data.len);
                break;
            case QUEUE_REC_ORIG:
            case QUEUE_REC_ORCPT:
            case QUEUE_REC_NOTIFY:
                if (sec == SEC_CONTENT) {
                    bad(env, why, r.offset, "recipient field in the content");
                    goto fail;
                }
                if ((r.type == QUEUE_REC_ORIG || r.type == QUEUE_REC_ORCPT)
                    && r.data.len == 0) {
                    bad(env, why, r.offset, "empty recipient field %c", r.type);
                    goto fail;
                }
                if (r.type == QUEUE_REC_ORIG && pd.orig == NULL) {
                    pd.orig = span_dup(r.data);
                } else if (r.type == QUEUE_REC_ORCPT && pd.orcpt == NULL) {
                    pd.orcpt = span_dup(r.data);
                } else if (r.type == QUEUE_REC_NOTIFY && pd.notify == 0) {
                    long long n;

                    if (span_num(r.data, &n) < 0 || !notify_ok(n)) {
                        bad(env, why, r.offset, "malformed notify record");
                        goto fail;
                    }
                    pd.notify = (int) n;
                } else {
                    bad(env, why, r.offset, "duplicate recipient field %c",
                        r.type);
                    goto fail;
                }
                pd.any = true;
                break;
            case QUEUE_REC_RCPT:
            case QUEUE_REC_DONE:
                if (sec == SEC_CONTENT || r.data.len == 0) {
                    bad(env, why, r.offset,
                        "unexpected or empty recipient record");
                    goto fail;
                }
                add_rcpt(env, &pd, &r, &cap);
                break;
            case QUEUE_REC_MESSAGE:
                if (sec != SEC_ENV || r.data.len != 0
                    || r.offset != env->content_offset) {
                    bad(env, why, r.offset,
                        "unexpected content record (content offset %zu)",
                        env->content_offset);
                    goto fail;
                }
                if (!seen_time || !seen_from) {
                    bad(env, why, r.offset, "no %s record before the content",
                        seen_time ? "sender" : "time");
                    goto fail;
                }
                sec = SEC_CONTENT;
                break;
            case QUEUE_REC_LINE:
            case QUEUE_REC_CONT:
                if (sec != SEC_CONTENT) {
                    bad(env, why, r.offset, "content line outside the content");
                    goto fail;
                }
                if (memchr(r.data.p, '\n', r.data.len) != NULL) {
                    bad(env, why, r.offset, "content record holds a LF byte");
                    goto fail;
                }
                content_bytes +=
                    (long long) r.data.len + (r.type == QUEUE_REC_LINE);
                in_cont = r.type == QUEUE_REC_CONT;
                break;
            case QUEUE_REC_BODY:
                if (sec != SEC_CONTENT || in_cont || env->body_offset != 0
                    || r.data.len != 0) {
                    bad(env, why, r.offset, "unexpected body record");
                    goto fail;
                }
                env->body_offset = r.offset;
                break;
            case QUEUE_REC_XTRA:
                if (sec != SEC_CONTENT || in_cont || r.data.len != 0) {
                    bad(env, why, r.offset, "unexpected end of content");
                    goto fail;
                }
                env->xtra_offset = r.offset;
                sec = SEC_XTRA;
                break;
            case QUEUE_REC_END:
                if (sec != SEC_XTRA || r.data.len != 0) {
                    bad(env, why, r.offset, "unexpected end record");
                    goto fail;
                }
                sec = SEC_END;
                break;
            default:
                msg_panic("queue_file_parse: type %c", r.type);
        }
    }
    if (sec != SEC_END) {
        bad(env, why, off, "missing end record: truncated queue file");
        goto fail;
    }
    if (content_bytes != env->message_size) {
        bad(env, why, 0, "message size %lld, but the content holds %lld bytes",
            env->message_size, content_bytes);
        goto fail;
    }
    if ((long long) env->xtra_offset != size[3]) {
        bad(env, why, 0, "extracted offset %lld, but the X record is at %zu",
            size[3], env->xtra_offset);
        goto fail;
    }
    if ((long long) env->nrcpt != size[2]) {
        bad(env, why, 0, "recipient count %lld, but the file holds %zu",
            size[2], env->nrcpt);
        goto fail;
    }
    return 0;
fail:
    pending_clear(&pd);
    return -1;
}

/* queue_env_fini - free the envelope */
void queue_env_fini(struct queue_env *env)
{
    for (size_t i = 0; i < env->nrcpt; i++) {
        mem_free(env->rcpts[i].address);
        mem_free(env->rcpts[i].orig);
        mem_free(env->rcpts[i].orcpt);
    }
    mem_free(env->rcpts);
    mem_free(env->sender);
    mem_free(env->envid);
    argv_free(env->attrs);
    memset(env, 0, sizeof(*env));
}

/* queue_env_attr - an attribute's value */
const char *queue_env_attr(const struct queue_env *env, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; env->attrs && i < env->attrs->argc; i++) {
        const char *a = env->attrs->argv[i];

        if (strncmp(a, name, len) == 0 && a[len] == '=')
            return a + len + 1;
    }
    return NULL;
}

/* queue_file_load - read a whole queue file, bounded */
int queue_file_load(int fd, size_t max, struct buf *out, const char *path,
                    struct buf *why)
{
    buf_reset(out);
    if (lseek(fd, 0, SEEK_SET) < 0) {
        buf_catf(why, "seek %s: %s", path, strerror(errno));
        return -1;
    }
    return fs_read_all(fd, max, out, path, why);
}

/* queue_file_read - open, load and parse, with the outcome classified */
enum queue_read queue_file_read(const char *path, int open_flags, size_t max,
                                int *fd, struct buf *data,
                                struct queue_env *env, struct buf *why)
{
    memset(env, 0, sizeof(*env));
    *fd = fs_safe_open(path, open_flags, 0, FS_ANY_OWNER, NULL, why);
    if (*fd < 0) {
        switch (errno) {
            case ENOENT:
                return QUEUE_READ_GONE;
            case ELOOP:
            case EPERM:
            case EINVAL:
                return QUEUE_READ_CORRUPT; /* symlink, links, not a file */
            default:
                return QUEUE_READ_ERROR;
        }
    }
    if (queue_file_load(*fd, max, data, path, why) < 0) {
        int saved = errno;

        (void) close(*fd);
        *fd = -1;
        return saved == EFBIG ? QUEUE_READ_CORRUPT : QUEUE_READ_ERROR;
    }
    if (queue_file_parse(span_make(buf_str(data), buf_len(data)), env, why)
        < 0) {
        (void) close(*fd);
        *fd = -1;
        return QUEUE_READ_CORRUPT;
    }
    return QUEUE_READ_OK;
}

/* queue_content_init - start walking the content */
void queue_content_init(struct queue_content *c, struct span file,
                        const struct queue_env *env)
{
    c->file = file;
    c->off = env->content_offset + QUEUE_REC_HDR; /* after M */
    c->end = env->xtra_offset;
    c->body = env->body_offset;
    c->in_body = false;
    c->line_at = c->off;
}

/* queue_content_next - the next content line, long lines joined */
int queue_content_next(struct queue_content *c, struct buf *line)
{
    struct queue_rec r;
    struct buf ignore = BUF_INIT;
    bool started = false;

    buf_reset(line);
    while (c->off < c->end) {
        if (queue_rec_next(c->file, &c->off, &r, &ignore) <= 0)
            msg_panic("queue_content_next: a span that was not parsed");
        if (r.type == QUEUE_REC_BODY) {
            c->in_body = true;
            continue;
        }
        if (!started)
            c->line_at = r.offset;
        started = true;
        buf_catspan(line, r.data);
        if (r.type == QUEUE_REC_LINE) {
            buf_fini(&ignore);
            return 1;
        }
    }
    buf_fini(&ignore);
    return 0;
}

/* queue_content_piece - the next content record, unjoined */
int queue_content_piece(struct queue_content *c, struct span *piece, bool *more)
{
    struct queue_rec r;
    struct buf ignore = BUF_INIT;

    while (c->off < c->end) {
        if (queue_rec_next(c->file, &c->off, &r, &ignore) <= 0)
            msg_panic("queue_content_piece: a span that was not parsed");
        if (r.type == QUEUE_REC_BODY) {
            c->in_body = true;
            continue;
        }
        c->line_at = r.offset;
        *piece = r.data;
        *more = r.type == QUEUE_REC_CONT;
        buf_fini(&ignore);
        return 1;
    }
    buf_fini(&ignore);
    return 0;
}

/* update_at - check the type at OFFSET, pwrite DATA at OFFSET + AT */
static int update_at(int fd, size_t offset, const char *types, size_t at,
                     const char *data, size_t len, struct buf *why)
{
    unsigned char hdr[QUEUE_REC_HDR];
    ssize_t n;

    while ((n = pread(fd, hdr, sizeof(hdr), (off_t) offset)) < 0
           && errno == EINTR)
        ;
    if (n != (ssize_t) sizeof(hdr)) {
        buf_catf(why, "read queue file at offset %zu: %s", offset,
                 n < 0 ? strerror(errno) : "end of file");
        return -1;
    }
    if (strchr(types, hdr[0]) == NULL || hdr[0] == 0) {
        buf_catf(why, "offset %zu: record type 0x%02x, not %s", offset, hdr[0],
                 types);
        return -1;
    }
    if (fs_pwrite_all(fd, data, len, (off_t) (offset + at), "queue file", why)
        < 0)
        return -1;
    return 0;
}

/* queue_file_mark_done - the recipient at OFFSET is delivered */
int queue_file_mark_done(int fd, size_t offset, struct buf *why)
{
    const char done = QUEUE_REC_DONE;

    return update_at(fd, offset, "Rr", 0, &done, 1, why);
}

/* queue_file_set_warn - a new delay warning time */
int queue_file_set_warn(int fd, size_t offset, long long when, struct buf *why)
{
    char text[QUEUE_WARN_LEN + 1];

    if (when < 0
        || str_fmt(text, sizeof(text), "%*lld", QUEUE_WARN_LEN, when) < 0)
        msg_panic("queue_file_set_warn: bad time %lld", when);
    return update_at(fd, offset, "W", QUEUE_REC_HDR, text, QUEUE_WARN_LEN, why);
}

/*
 * The writer.
 */
enum wstate {
    W_ENV,
    W_CONTENT,
    W_XTRA,
};

struct queue_writer {
    const struct queue_dir *qd;
    enum queue_folder folder;
    int fd;
    char *tmp_path;
    char id[QUEUE_ID_SIZE];
    struct timeval created;
    struct buf out;   /* buffered records */
    size_t flushed;   /* bytes written to the file so far */
    struct buf error; /* the first failure */
    enum wstate state;
    bool seen_time;
    bool seen_from;
    bool seen_body;
    bool seen_warn;
    bool seen_envid;
    bool seen_ret;
    struct argv *attr_names;
    size_t nrcpt;
    long long content_bytes;
    size_t content_offset;
    size_t xtra_offset;
};

#define WRITER_FLUSH 65536

/* werr - record the first failure; always -1 */
static int werr(struct queue_writer *w, const char *fmt, ...)
    ULAK_PRINTFLIKE(2, 3);

static int werr(struct queue_writer *w, const char *fmt, ...)
{
    va_list ap;

    if (buf_len(&w->error) == 0) {
        va_start(ap, fmt);
        buf_vcatf(&w->error, fmt, ap);
        va_end(ap);
        if (buf_len(&w->error) == 0)
            buf_cat(&w->error, "error");
    }
    return -1;
}

/* flush - write the buffered records */
static int flush(struct queue_writer *w)
{
    struct buf why = BUF_INIT;
    int rc = 0;

    if (buf_len(&w->out) > 0) {
        if (fs_write_all(w->fd, buf_str(&w->out), buf_len(&w->out), w->tmp_path,
                         &why)
            < 0)
            rc = werr(w, "%s", buf_str(&why));
        else
            w->flushed += buf_len(&w->out);
        buf_reset(&w->out);
    }
    buf_fini(&why);
    return rc;
}

/* offset - the file offset of the next record */
static size_t offset(const struct queue_writer *w)
{
    return w->flushed + buf_len(&w->out);
}

/* put - append one record */
static int put(struct queue_writer *w, int type, const void *p, size_t len)
{
    unsigned char hdr[QUEUE_REC_HDR];

    if (buf_len(&w->error) > 0)
        return -1;
    if (len > QUEUE_REC_MAX)
        return werr(w, "record type %c: %zu bytes exceed %d", type, len,
                    QUEUE_REC_MAX);
    hdr[0] = (unsigned char) type;
    hdr[1] = (unsigned char) (len >> 8);
    hdr[2] = (unsigned char) (len & 0xff);
    buf_catn(&w->out, hdr, sizeof(hdr));
    buf_catn(&w->out, p, len);
    if (buf_len(&w->out) >= WRITER_FLUSH)
        return flush(w);
    return 0;
}

/* put_text - append an envelope text record (no NUL, CR, LF) */
static int put_text(struct queue_writer *w, int type, const char *s)
{
    struct span sp = span_of(s ? s : "");

    if (!text_ok(sp))
        return werr(w, "record type %c: text holds a NUL, CR or LF byte", type);
    return put(w, type, sp.p, sp.len);
}

/* size_text - the size record's data */
static void size_text(char *out, size_t size, long long msg_size,
                      size_t content_offset, size_t nrcpt, size_t xtra_offset)
{
    if (str_fmt(out, size, "%*lld %*zu %*zu %*zu %*d", QUEUE_SIZE_WIDTH,
                msg_size, QUEUE_SIZE_WIDTH, content_offset, QUEUE_SIZE_WIDTH,
                nrcpt, QUEUE_SIZE_WIDTH, xtra_offset, QUEUE_SIZE_WIDTH,
                QUEUE_FILE_VERSION)
        < 0)
        msg_panic("size_text: does not fit");
}

/* queue_writer_open - a new queue file with its ID */
struct queue_writer *queue_writer_open(const struct queue_dir *qd,
                                       enum queue_folder f, struct buf *why)
{
    static unsigned long seq;
    struct queue_writer *w = mem_zalloc(sizeof(*w));
    struct buf path = BUF_INIT;
    struct stat st;
    char size[QUEUE_SIZE_LEN + 1];
    mode_t mode = f == QUEUE_MAILDROP ? 0644 : 0600;

    w->qd = qd;
    w->folder = f;
    w->fd = -1;
    buf_init(&w->out, 0);
    buf_init(&w->error, 0);
    w->attr_names = argv_new();
    for (int tries = 0; tries < 100 && w->fd < 0; tries++) {
        queue_dir_folder_path(qd, f, &path);
        buf_catf(&path, "/tmp.%ld.%lu", (long) getpid(), ++seq);
        w->fd = open(buf_str(&path),
                     O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (w->fd < 0 && errno != EEXIST && errno != EINTR)
            break;
    }
    if (w->fd < 0) {
        buf_catf(why, "create %s: %s", buf_str(&path), strerror(errno));
        goto bad;
    }
    w->tmp_path = buf_steal(&path);
    /* The umask must not take the pickup service's read permission away. */
    if (fchmod(w->fd, mode) < 0 || fstat(w->fd, &st) < 0) {
        buf_catf(why, "set up %s: %s", w->tmp_path, strerror(errno));
        goto bad;
    }
    (void) gettimeofday(&w->created, NULL);
    queue_id_make(w->id, sizeof(w->id), qd->long_ids, &w->created, st.st_ino);
    size_text(size, sizeof(size), 0, 0, 0, 0);
    (void) put(w, QUEUE_REC_SIZE, size, QUEUE_SIZE_LEN);
    buf_fini(&path);
    return w;
bad:
    buf_fini(&path);
    queue_writer_abort(w);
    return NULL;
}

/* queue_writer_id - the queue ID */
const char *queue_writer_id(const struct queue_writer *w)
{
    return w->id;
}

/* queue_writer_created - the creation time */
struct timeval queue_writer_created(const struct queue_writer *w)
{
    return w->created;
}

/* queue_writer_error - the first failure */
const char *queue_writer_error(const struct queue_writer *w)
{
    return buf_len(&w->error) > 0 ? buf_str(&w->error) : NULL;
}

/* in_env - only before the content */
static int in_env(struct queue_writer *w, const char *what, bool *seen)
{
    if (w->state != W_ENV)
        return werr(w, "%s after the content", what);
    if (seen != NULL && *seen)
        return werr(w, "a second %s", what);
    if (seen != NULL)
        *seen = true;
    return 0;
}

/* queue_writer_time - the arrival time */
int queue_writer_time(struct queue_writer *w, const struct timeval *arrival)
{
    char text[64];

    if (in_env(w, "time record", &w->seen_time) < 0)
        return -1;
    if (arrival->tv_sec < 0 || arrival->tv_usec < 0
        || arrival->tv_usec > 999999)
        return werr(w, "bad arrival time");
    (void) str_fmt(text, sizeof(text), "%lld.%06ld",
                   (long long) arrival->tv_sec, (long) arrival->tv_usec);
    return put(w, QUEUE_REC_TIME, text, strlen(text));
}

/* queue_writer_warn - the delay warning time */
int queue_writer_warn(struct queue_writer *w, long long when)
{
    char text[QUEUE_WARN_LEN + 1];

    if (in_env(w, "warning time record", &w->seen_warn) < 0)
        return -1;
    if (when < 0
        || str_fmt(text, sizeof(text), "%*lld", QUEUE_WARN_LEN, when) < 0)
        return werr(w, "bad warning time %lld", when);
    return put(w, QUEUE_REC_WARN, text, QUEUE_WARN_LEN);
}

/* queue_writer_sender - the envelope sender ("" for <>) */
int queue_writer_sender(struct queue_writer *w, const char *sender)
{
    if (in_env(w, "sender record", &w->seen_from) < 0)
        return -1;
    return put_text(w, QUEUE_REC_FROM, sender);
}

/* queue_writer_envid - DSN ENVID */
int queue_writer_envid(struct queue_writer *w, const char *envid)
{
    if (in_env(w, "envelope-id record", &w->seen_envid) < 0)
        return -1;
    if (envid == NULL || *envid == 0)
        return werr(w, "empty envelope-id");
    return put_text(w, QUEUE_REC_ENVID, envid);
}

/* queue_writer_ret - DSN RET */
int queue_writer_ret(struct queue_writer *w, int ret)
{
    char c = (char) ('0' + ret);

    if (in_env(w, "RET record", &w->seen_ret) < 0)
        return -1;
    if (ret != QUEUE_RET_FULL && ret != QUEUE_RET_HDRS)
        return werr(w, "bad RET value %d", ret);
    return put(w, QUEUE_REC_RET, &c, 1);
}

/* not_in_content - attributes and recipients are envelope records */
static int not_in_content(struct queue_writer *w, const char *what)
{
    if (w->state == W_CONTENT)
        return werr(w, "%s inside the content", what);
    return 0;
}

/* queue_writer_attr - a name=value attribute */
int queue_writer_attr(struct queue_writer *w, const char *name,
                      const char *value)
{
    struct buf text = BUF_INIT;
    int rc;

    if (not_in_content(w, "attribute") < 0)
        return -1;
    buf_setf(&text, "%s=%s", name, value ? value : "");
    if (attr_name_len(span_make(buf_str(&text), buf_len(&text)))
        != strlen(name)) {
        buf_fini(&text);
        return werr(w, "bad attribute name \"%s\"", name);
    }
    for (size_t i = 0; i < w->attr_names->argc; i++) {
        if (strcmp(w->attr_names->argv[i], name) == 0) {
            buf_fini(&text);
            return werr(w, "duplicate attribute %s", name);
        }
    }
    argv_add(w->attr_names, name);
    rc = put_text(w, QUEUE_REC_ATTR, buf_str(&text));
    buf_fini(&text);
    return rc;
}

/* queue_writer_rcpt - one recipient and its fields */
int queue_writer_rcpt(struct queue_writer *w, const struct queue_rcpt_in *r)
{
    char text[8];

    if (not_in_content(w, "recipient") < 0)
        return -1;
    if (r->address == NULL || *r->address == 0)
        return werr(w, "empty recipient address");
    if (r->notify != 0 && !notify_ok(r->notify))
        return werr(w, "bad notify flags %d", r->notify);
    /* Postfix's order, which postcat users know: NOTIFY, ORCPT, original. */
    if (r->notify != 0) {
        (void) str_fmt(text, sizeof(text), "%d", r->notify);
        if (put(w, QUEUE_REC_NOTIFY, text, strlen(text)) < 0)
            return -1;
    }
    if (r->orcpt != NULL) {
        if (*r->orcpt == 0)
            return werr(w, "empty ORCPT");
        if (put_text(w, QUEUE_REC_ORCPT, r->orcpt) < 0)
            return -1;
    }
    if (r->orig != NULL) {
        if (*r->orig == 0)
            return werr(w, "empty original recipient");
        if (put_text(w, QUEUE_REC_ORIG, r->orig) < 0)
            return -1;
    }
    if (put_text(w, QUEUE_REC_RCPT, r->address) < 0)
        return -1;
    w->nrcpt++;
    return 0;
}

/* queue_writer_content_begin - the M record */
int queue_writer_content_begin(struct queue_writer *w)
{
    if (in_env(w, "content", NULL) < 0)
        return -1;
    if (!w->seen_time || !w->seen_from)
        return werr(w, "content before the %s record",
                    w->seen_time ? "sender" : "time");
    w->content_offset = offset(w);
    w->state = W_CONTENT;
    return put(w, QUEUE_REC_MESSAGE, "", 0);
}

/* queue_writer_line - one content line, split into pieces when long */
int queue_writer_line(struct queue_writer *w, const char *p, size_t len)
{
    if (w->state != W_CONTENT)
        return werr(w, "content line outside the content");
    if (memchr(p, '\n', len) != NULL)
        return werr(w, "content line holds a LF byte");
    while (len > QUEUE_REC_MAX) {
        if (put(w, QUEUE_REC_CONT, p, QUEUE_REC_MAX) < 0)
            return -1;
        p += QUEUE_REC_MAX;
        len -= QUEUE_REC_MAX;
        w->content_bytes += QUEUE_REC_MAX;
    }
    w->content_bytes += (long long) len + 1;
    return put(w, QUEUE_REC_LINE, p, len);
}

/* queue_writer_body_begin - the B record */
int queue_writer_body_begin(struct queue_writer *w)
{
    if (w->state != W_CONTENT || w->seen_body)
        return werr(w, "unexpected body mark");
    w->seen_body = true;
    return put(w, QUEUE_REC_BODY, "", 0);
}

/* queue_writer_content_end - the X record */
int queue_writer_content_end(struct queue_writer *w)
{
    if (w->state != W_CONTENT)
        return werr(w, "end of content without content");
    w->state = W_XTRA;
    w->xtra_offset = offset(w);
    return put(w, QUEUE_REC_XTRA, "", 0);
}

/* sync_folder - fsync folder DIR of W's file; a set-group-ID sendmail
 * cannot: maildrop/ is write-only for its group (0730), as Postfix's is
 * for postdrop.  Its file itself was fsynced, and pickup commits it
 * durably into incoming/. */
static int sync_folder(struct queue_writer *w, const char *dir)
{
    size_t len = buf_len(&w->error);

    if (fs_fsync_dir(dir, &w->error) == 0)
        return 0;
    if (errno == EACCES && w->folder == QUEUE_MAILDROP) {
        buf_truncate(&w->error, len);
        return 0;
    }
    return -1;
}

/* queue_writer_commit - make the file durable under its queue ID */
int queue_writer_commit(struct queue_writer *w, struct buf *why)
{
    struct buf path = BUF_INIT;
    struct buf d1 = BUF_INIT;
    struct buf d2 = BUF_INIT;
    char size[QUEUE_SIZE_LEN + 1];
    int rc = -1;

    if (w->state != W_XTRA)
        (void) werr(w, "commit before the end of the content");
    if (put(w, QUEUE_REC_END, "", 0) < 0 || flush(w) < 0)
        goto out;
    size_text(size, sizeof(size), w->content_bytes, w->content_offset, w->nrcpt,
              w->xtra_offset);
    if (fs_pwrite_all(w->fd, size, QUEUE_SIZE_LEN, QUEUE_REC_HDR, w->tmp_path,
                      &w->error)
            < 0
        || fs_fsync(w->fd, w->tmp_path, &w->error) < 0)
        goto out;
    if (close(w->fd) < 0) {
        w->fd = -1;
        (void) werr(w, "close %s: %s", w->tmp_path, strerror(errno));
        goto out;
    }
    w->fd = -1;
    /* Rename without replacing, then fsync both folders. */
    if (queue_dir_path(w->qd, w->folder, w->id, &path, &w->error) < 0
        || queue_dir_mkparent(w->qd, w->folder, w->id, &w->error) < 0
        || fs_rename_noreplace(w->tmp_path, buf_str(&path), &w->error) < 0)
        goto out;
    fs_dirname(buf_str(&path), &d1);
    fs_dirname(w->tmp_path, &d2);
    if (sync_folder(w, buf_str(&d1)) < 0
        || (strcmp(buf_str(&d1), buf_str(&d2)) != 0
            && sync_folder(w, buf_str(&d2)) < 0)) {
        /* The submitter hears "failed" and will try again: the queue file
         * must not be delivered as well. */
        (void) unlink(buf_str(&path));
        goto out;
    }
    mem_free(w->tmp_path);
    w->tmp_path = NULL; /* nothing left to remove */
    rc = 0;
out:
    if (rc < 0)
        buf_cat(why, buf_len(&w->error) ? buf_str(&w->error) : "error");
    buf_fini(&path);
    buf_fini(&d1);
    buf_fini(&d2);
    queue_writer_abort(w);
    return rc;
}

/* queue_writer_abort - remove the temporary file and free the writer */
void queue_writer_abort(struct queue_writer *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0)
        (void) close(w->fd);
    if (w->tmp_path != NULL)
        (void) unlink(w->tmp_path);
    mem_free(w->tmp_path);
    buf_fini(&w->out);
    buf_fini(&w->error);
    argv_free(w->attr_names);
    mem_free(w);
}
