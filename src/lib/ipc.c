/* ipc - frames, their table-driven codec and socket helpers (see ipc.h). */
#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "mem.h"
#include "msg.h"

/* get16 - big-endian u16 at P */
static uint16_t get16(const char *p)
{
    const unsigned char *u = (const unsigned char *) p;

    return (uint16_t) ((u[0] << 8) | u[1]);
}

/* get32 - big-endian u32 at P */
static uint32_t get32(const char *p)
{
    const unsigned char *u = (const unsigned char *) p;

    return ((uint32_t) u[0] << 24) | ((uint32_t) u[1] << 16)
           | ((uint32_t) u[2] << 8) | (uint32_t) u[3];
}

/* get64 - big-endian u64 at P */
static uint64_t get64(const char *p)
{
    return ((uint64_t) get32(p) << 32) | get32(p + 4);
}

/* put16 - append V big-endian */
static void put16(struct buf *out, uint16_t v)
{
    unsigned char b[2] = {(unsigned char) (v >> 8), (unsigned char) v};

    buf_catn(out, b, sizeof(b));
}

/* put32 - append V big-endian */
static void put32(struct buf *out, uint32_t v)
{
    unsigned char b[4] = {(unsigned char) (v >> 24), (unsigned char) (v >> 16),
                          (unsigned char) (v >> 8), (unsigned char) v};

    buf_catn(out, b, sizeof(b));
}

/* set32 - overwrite 4 bytes of OUT at OFF with V big-endian */
static void set32(struct buf *out, size_t off, uint32_t v)
{
    unsigned char *p = (unsigned char *) out->data + off;

    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

/* ipc_parse - find the first frame at the start of IN */
enum ipc_parse_result ipc_parse(struct span in, size_t *used,
                                struct ipc_frame *frame, struct buf *why)
{
    uint32_t len;

    *used = 0;
    if (in.len < 4)
        return IPC_PARSE_MORE;
    len = get32(in.p);
    if (len > IPC_FRAME_MAX) {
        buf_setf(why, "frame length %lu exceeds the limit of %d bytes",
                 (unsigned long) len, IPC_FRAME_MAX);
        return IPC_PARSE_ERROR;
    }
    if (len < IPC_HDR_LEN) {
        buf_setf(why, "frame length %lu is shorter than the %d-byte header",
                 (unsigned long) len, IPC_HDR_LEN);
        return IPC_PARSE_ERROR;
    }
    if (in.len < len)
        return IPC_PARSE_MORE;
    frame->type = get16(in.p + 4);
    frame->version = get16(in.p + 6);
    frame->request_id = get32(in.p + 8);
    frame->body = span_make(in.p + IPC_HDR_LEN, len - IPC_HDR_LEN);
    *used = len;
    return IPC_PARSE_FRAME;
}

/* ipc_cursor_init - iterate over the fields of BODY */
void ipc_cursor_init(struct ipc_cursor *c, struct span body)
{
    c->rest = body;
}

/* ipc_field_next - the next field of the cursor */
int ipc_field_next(struct ipc_cursor *c, uint16_t *field, struct span *value,
                   struct buf *why)
{
    uint32_t len;

    if (c->rest.len == 0)
        return 0;
    if (c->rest.len < IPC_FIELD_HDR_LEN) {
        buf_setf(why, "%lu trailing bytes after the last field",
                 (unsigned long) c->rest.len);
        return -1;
    }
    *field = get16(c->rest.p);
    len = get32(c->rest.p + 2);
    if (len > c->rest.len - IPC_FIELD_HDR_LEN) {
        buf_setf(why, "field %u length %lu runs past the end of the frame",
                 (unsigned) *field, (unsigned long) len);
        return -1;
    }
    *value = span_make(c->rest.p + IPC_FIELD_HDR_LEN, len);
    c->rest.p += IPC_FIELD_HDR_LEN + len;
    c->rest.len -= IPC_FIELD_HDR_LEN + len;
    return 1;
}

/* ipc_enc_begin - append a frame header with a zero length */
void ipc_enc_begin(struct buf *out, uint16_t type, uint16_t version,
                   uint32_t request_id)
{
    put32(out, 0);
    put16(out, type);
    put16(out, version);
    put32(out, request_id);
}

/* ipc_enc_field - append one field */
void ipc_enc_field(struct buf *out, uint16_t field, const void *p, size_t len)
{
    /* Lengths above the frame limit fail in ipc_enc_end: cap the u32. */
    put16(out, field);
    put32(out, len > UINT32_MAX ? UINT32_MAX : (uint32_t) len);
    buf_catn(out, p, len);
}

/* ipc_enc_int - append a 4-byte integer field */
void ipc_enc_int(struct buf *out, uint16_t field, int32_t v)
{
    put16(out, field);
    put32(out, 4);
    put32(out, (uint32_t) v);
}

/* ipc_enc_u64 - append an 8-byte integer field */
void ipc_enc_u64(struct buf *out, uint16_t field, uint64_t v)
{
    put16(out, field);
    put32(out, 8);
    put32(out, (uint32_t) (v >> 32));
    put32(out, (uint32_t) v);
}

/* ipc_enc_end - fill in the frame length, or undo an oversize frame */
int ipc_enc_end(struct buf *out, size_t start, struct buf *why)
{
    size_t len = buf_len(out) - start;

    if (len > IPC_FRAME_MAX) {
        buf_truncate(out, start);
        buf_setf(why, "frame length %zu exceeds the limit of %d bytes", len,
                 IPC_FRAME_MAX);
        return -1;
    }
    set32(out, start, (uint32_t) len);
    return 0;
}

/* elem_size - the C size of one value of field F */
static size_t elem_size(const struct ipc_field_desc *f)
{
    switch (f->kind) {
        case IPC_KIND_STR:
            return sizeof(char *);
        case IPC_KIND_INT:
            return sizeof(int32_t);
        case IPC_KIND_U64:
            return sizeof(uint64_t);
        case IPC_KIND_BYTES:
            return sizeof(struct ipc_bytes);
        case IPC_KIND_GROUP:
            return f->group->size;
    }
    msg_panic("ipc: bad field kind %d", (int) f->kind);
}

static int encode_fields(const struct ipc_msg_desc *d, const void *msg,
                         struct buf *out, struct buf *why);

/* encode_value - append one value of F stored at P */
static int encode_value(const struct ipc_field_desc *f, const void *p,
                        struct buf *out, struct buf *why)
{
    size_t at;

    switch (f->kind) {
        case IPC_KIND_STR: {
            const char *s = *(char *const *) p;

            ipc_enc_field(out, f->number, s, strlen(s));
            return 0;
        }
        case IPC_KIND_INT:
            ipc_enc_int(out, f->number, *(const int32_t *) p);
            return 0;
        case IPC_KIND_U64:
            ipc_enc_u64(out, f->number, *(const uint64_t *) p);
            return 0;
        case IPC_KIND_BYTES: {
            const struct ipc_bytes *b = p;

            ipc_enc_field(out, f->number, b->p, b->len);
            return 0;
        }
        case IPC_KIND_GROUP:
            put16(out, f->number);
            at = buf_len(out);
            put32(out, 0);
            if (encode_fields(f->group, p, out, why) < 0)
                return -1;
            if (buf_len(out) - at - 4 > IPC_FRAME_MAX) {
                buf_setf(why, "group %s exceeds the frame limit", f->name);
                return -1;
            }
            set32(out, at, (uint32_t) (buf_len(out) - at - 4));
            return 0;
    }
    msg_panic("ipc: bad field kind %d", (int) f->kind);
}

/* encode_fields - append the fields of MSG (described by D) */
static int encode_fields(const struct ipc_msg_desc *d, const void *msg,
                         struct buf *out, struct buf *why)
{
    const char *base = msg;

    for (size_t i = 0; i < d->nfields; i++) {
        const struct ipc_field_desc *f = d->fields + i;
        const void *slot = base + f->offset;

        if (f->flags & IPC_F_REPEATED) {
            size_t n = *(const size_t *) (base + f->count_offset);
            const char *arr = *(const char *const *) slot;

            if (n == 0 && (f->flags & IPC_F_REQUIRED)) {
                buf_setf(why, "missing required field %s in %s", f->name,
                         d->name);
                return -1;
            }
            for (size_t k = 0; k < n; k++) {
                const void *v = arr + k * elem_size(f);

                if (f->kind == IPC_KIND_STR && *(char *const *) v == NULL) {
                    buf_setf(why, "null element %zu of field %s in %s", k,
                             f->name, d->name);
                    return -1;
                }
                if (encode_value(f, v, out, why) < 0)
                    return -1;
            }
            continue;
        }
        switch (f->kind) {
            case IPC_KIND_STR:
            case IPC_KIND_GROUP:
                if (*(const void *const *) slot == NULL) {
                    if (f->flags & IPC_F_REQUIRED) {
                        buf_setf(why, "missing required field %s in %s",
                                 f->name, d->name);
                        return -1;
                    }
                    continue;
                }
                if (f->kind == IPC_KIND_GROUP)
                    slot = *(const void *const *) slot;
                break;
            case IPC_KIND_INT:
                if (!(f->flags & IPC_F_REQUIRED)
                    && *(const int32_t *) slot == 0)
                    continue;
                break;
            case IPC_KIND_U64:
                if (!(f->flags & IPC_F_REQUIRED)
                    && *(const uint64_t *) slot == 0)
                    continue;
                break;
            case IPC_KIND_BYTES:
                if (!(f->flags & IPC_F_REQUIRED)
                    && ((const struct ipc_bytes *) slot)->len == 0)
                    continue;
                break;
        }
        if (encode_value(f, slot, out, why) < 0)
            return -1;
    }
    return 0;
}

/* ipc_encode - append MSG as one frame */
int ipc_encode(const struct ipc_msg_desc *d, const void *msg,
               uint32_t request_id, struct buf *out, struct buf *why)
{
    size_t start = buf_len(out);

    if (d->type == 0)
        msg_panic("ipc_encode: %s is a group, not a message", d->name);
    ipc_enc_begin(out, d->type, d->version, request_id);
    if (encode_fields(d, msg, out, why) < 0) {
        buf_truncate(out, start);
        return -1;
    }
    return ipc_enc_end(out, start, why);
}

/* field_find - the descriptor of field NUMBER in D, or NULL */
static const struct ipc_field_desc *field_find(const struct ipc_msg_desc *d,
                                               uint16_t number)
{
    for (size_t i = 0; i < d->nfields; i++)
        if (d->fields[i].number == number)
            return d->fields + i;
    return NULL;
}

static int decode_fields(const struct ipc_msg_desc *d, struct span body,
                         void *msg, struct buf *why);

/* decode_value - decode V, a value of field F of D, into P */
static int decode_value(const struct ipc_msg_desc *d,
                        const struct ipc_field_desc *f, struct span v, void *p,
                        struct buf *why)
{
    switch (f->kind) {
        case IPC_KIND_STR:
            if (memchr(v.p, 0, v.len) != NULL) {
                buf_setf(why, "field %s in %s: string contains a NUL byte",
                         f->name, d->name);
                return -1;
            }
            *(char **) p = mem_strndup(v.p, v.len);
            return 0;
        case IPC_KIND_INT:
            if (v.len != 4) {
                buf_setf(why, "field %s in %s: integer length %zu, want 4",
                         f->name, d->name, v.len);
                return -1;
            }
            *(int32_t *) p = (int32_t) get32(v.p);
            return 0;
        case IPC_KIND_U64:
            if (v.len != 8) {
                buf_setf(why, "field %s in %s: integer length %zu, want 8",
                         f->name, d->name, v.len);
                return -1;
            }
            *(uint64_t *) p = get64(v.p);
            return 0;
        case IPC_KIND_BYTES: {
            struct ipc_bytes *b = p;

            b->len = v.len;
            b->p = v.len ? mem_dup(v.p, v.len) : NULL;
            return 0;
        }
        case IPC_KIND_GROUP:
            return decode_fields(f->group, v, p, why);
    }
    msg_panic("ipc: bad field kind %d", (int) f->kind);
}

/* decode_fields - decode BODY into MSG (zeroed by the caller) */
static int decode_fields(const struct ipc_msg_desc *d, struct span body,
                         void *msg, struct buf *why)
{
    char *base = msg;
    struct ipc_cursor c;
    uint16_t number;
    struct span v;
    int r;
    /* Which single fields were seen: a message has few fields. */
    unsigned char seen[64] = {0};

    if (d->nfields > sizeof(seen))
        msg_panic("ipc: %s has more than %zu fields", d->name, sizeof(seen));
    ipc_cursor_init(&c, body);
    while ((r = ipc_field_next(&c, &number, &v, why)) > 0) {
        const struct ipc_field_desc *f = field_find(d, number);
        void *slot;

        if (f == NULL) {
            buf_setf(why, "unknown field %u in %s", (unsigned) number, d->name);
            return -1;
        }
        slot = base + f->offset;
        if (f->flags & IPC_F_REPEATED) {
            size_t *n = (size_t *) (base + f->count_offset);
            char **arr = slot;
            size_t es = elem_size(f);

            /* Grow by doubling: the frame bound caps the element count. */
            if ((*n & (*n - 1)) == 0) {
                size_t cap = *n ? *n * 2 : 1;

                *arr = mem_realloc(*arr, cap * es);
            }
            memset(*arr + *n * es, 0, es);
            (*n)++;
            if (decode_value(d, f, v, *arr + (*n - 1) * es, why) < 0)
                return -1;
            continue;
        }
        if (seen[f - d->fields]) {
            buf_setf(why, "duplicate field %s in %s", f->name, d->name);
            return -1;
        }
        seen[f - d->fields] = 1;
        if (f->kind == IPC_KIND_GROUP) {
            *(void **) slot = mem_zalloc(f->group->size);
            slot = *(void **) slot;
        }
        if (decode_value(d, f, v, slot, why) < 0)
            return -1;
    }
    if (r < 0)
        return -1;
    for (size_t i = 0; i < d->nfields; i++) {
        const struct ipc_field_desc *f = d->fields + i;

        if (!(f->flags & IPC_F_REQUIRED))
            continue;
        if ((f->flags & IPC_F_REPEATED)
                ? *(size_t *) (base + f->count_offset) == 0
                : !seen[i]) {
            buf_setf(why, "missing required field %s in %s", f->name, d->name);
            return -1;
        }
    }
    return 0;
}

/* ipc_decode - decode FRAME into MSG */
int ipc_decode(const struct ipc_msg_desc *d, const struct ipc_frame *frame,
               void *msg, struct buf *why)
{
    memset(msg, 0, d->size);
    if (d->type == 0)
        msg_panic("ipc_decode: %s is a group, not a message", d->name);
    if (frame->type != d->type) {
        buf_setf(why, "message type %u, want %u (%s)", (unsigned) frame->type,
                 (unsigned) d->type, d->name);
        return -1;
    }
    if (frame->version != d->version) {
        buf_setf(why, "unsupported version %u of %s (want %u)",
                 (unsigned) frame->version, d->name, (unsigned) d->version);
        return -1;
    }
    if (decode_fields(d, frame->body, msg, why) < 0) {
        ipc_msg_fini(d, msg);
        return -1;
    }
    return 0;
}

/* value_fini - free what one value of F at P owns */
static void value_fini(const struct ipc_field_desc *f, void *p)
{
    switch (f->kind) {
        case IPC_KIND_STR:
            mem_free(*(char **) p);
            *(char **) p = NULL;
            break;
        case IPC_KIND_BYTES:
            mem_free(((struct ipc_bytes *) p)->p);
            ((struct ipc_bytes *) p)->p = NULL;
            ((struct ipc_bytes *) p)->len = 0;
            break;
        case IPC_KIND_GROUP:
            ipc_msg_fini(f->group, p);
            break;
        case IPC_KIND_INT:
        case IPC_KIND_U64:
            break;
    }
}

/* ipc_msg_fini - free what MSG owns and zero it */
void ipc_msg_fini(const struct ipc_msg_desc *d, void *msg)
{
    char *base = msg;

    for (size_t i = 0; i < d->nfields; i++) {
        const struct ipc_field_desc *f = d->fields + i;
        void *slot = base + f->offset;

        if (f->flags & IPC_F_REPEATED) {
            size_t *n = (size_t *) (base + f->count_offset);
            char *arr = *(char **) slot;

            for (size_t k = 0; k < *n; k++)
                value_fini(f, arr + k * elem_size(f));
            mem_free(arr);
            *(char **) slot = NULL;
            *n = 0;
        } else if (f->kind == IPC_KIND_GROUP) {
            void *g = *(void **) slot;

            if (g != NULL) {
                ipc_msg_fini(f->group, g);
                mem_free(g);
                *(void **) slot = NULL;
            }
        } else {
            value_fini(f, slot);
        }
    }
    memset(msg, 0, d->size);
}

/* ipc_desc_find - the descriptor of TYPE */
const struct ipc_msg_desc *
ipc_desc_find(const struct ipc_msg_desc *const *descs, size_t ndescs,
              uint16_t type)
{
    for (size_t i = 0; i < ndescs; i++)
        if (descs[i]->type == type && type != 0)
            return descs[i];
    return NULL;
}

/* dump_text - append V bare when printable without spaces, else quoted */
static void dump_text(struct span v, struct buf *out)
{
    bool bare = v.len > 0;

    for (size_t i = 0; i < v.len && bare; i++) {
        unsigned char c = (unsigned char) v.p[i];

        bare = c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '{'
               && c != '}';
    }
    if (bare) {
        buf_catspan(out, v);
        return;
    }
    buf_catc(out, '"');
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char) v.p[i];

        if (c == '"' || c == '\\')
            buf_catf(out, "\\%c", c);
        else if (c == '\n')
            buf_cat(out, "\\n");
        else if (c == '\t')
            buf_cat(out, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            buf_catf(out, "\\x%02x", c);
        else
            buf_catc(out, c);
    }
    buf_catc(out, '"');
}

/* dump_fields - append BODY's fields as " name=value"; 0 or -1 (WHY) */
static int dump_fields(const struct ipc_msg_desc *d, struct span body,
                       struct buf *out, struct buf *why)
{
    struct ipc_cursor c;
    uint16_t number;
    struct span v;
    int r;
    bool first = true;

    ipc_cursor_init(&c, body);
    while ((r = ipc_field_next(&c, &number, &v, why)) > 0) {
        const struct ipc_field_desc *f = d ? field_find(d, number) : NULL;

        if (!first)
            buf_catc(out, ' ');
        first = false;
        if (f == NULL) {
            buf_catf(out, "field%u=", (unsigned) number);
            dump_text(v, out);
            continue;
        }
        buf_catf(out, "%s=", f->name);
        switch (f->kind) {
            case IPC_KIND_STR:
            case IPC_KIND_BYTES:
                dump_text(v, out);
                break;
            case IPC_KIND_INT:
                if (v.len == 4)
                    buf_catf(out, "%ld", (long) (int32_t) get32(v.p));
                else
                    dump_text(v, out);
                break;
            case IPC_KIND_U64:
                if (v.len == 8)
                    buf_catf(out, "%llu", (unsigned long long) get64(v.p));
                else
                    dump_text(v, out);
                break;
            case IPC_KIND_GROUP:
                buf_catc(out, '{');
                if (dump_fields(f->group, v, out, why) < 0)
                    return -1;
                buf_catc(out, '}');
                break;
        }
    }
    return r;
}

/* ipc_dump - append FRAME as "type name=value ..." */
int ipc_dump(const struct ipc_msg_desc *const *descs, size_t ndescs,
             const struct ipc_frame *frame, struct buf *out)
{
    const struct ipc_msg_desc *d = ipc_desc_find(descs, ndescs, frame->type);
    struct buf why = BUF_INIT;
    int ret = 0;
    void *msg;

    if (d)
        buf_cat(out, d->name);
    else
        buf_catf(out, "type%u", (unsigned) frame->type);
    if (frame->body.len)
        buf_catc(out, ' ');
    if (dump_fields(d, frame->body, out, &why) < 0) {
        ret = -1;
    } else if (d == NULL) {
        buf_setf(&why, "unknown message type %u", (unsigned) frame->type);
        ret = -1;
    } else {
        /* Shown in wire order above; the strict decoder has the last say. */
        msg = mem_zalloc(d->size);
        if (ipc_decode(d, frame, msg, &why) < 0)
            ret = -1;
        ipc_msg_fini(d, msg);
        mem_free(msg);
    }
    if (ret < 0)
        buf_catf(out, " [error: %s]", buf_str(&why));
    buf_fini(&why);
    return ret;
}

/* now_ms - a monotonic clock in milliseconds */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_fd - poll FD for EVENTS until DEADLINE (ms, < 0: none); 0 or -1 */
static int wait_fd(int fd, short events, long long deadline, struct buf *why)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r;

    for (;;) {
        int ms = -1;

        if (deadline >= 0) {
            long long left = deadline - now_ms();

            ms = left <= 0 ? 0 : left > 1000000 ? 1000000 : (int) left;
        }
        r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r == 0) {
            buf_set(why, "timeout");
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR) {
            buf_setf(why, "poll: %m");
            return -1;
        }
    }
}

/* send_fd - one sendmsg(2) with an optional descriptor and FLAGS */
static ssize_t send_fd(int fd, const void *p, size_t len, int pass_fd,
                       int flags)
{
    struct iovec iov = {.iov_base = (void *) p, .iov_len = len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;

    if (pass_fd >= 0) {
        struct cmsghdr *cm;

        memset(&u, 0, sizeof(u));
        m.msg_control = u.buf;
        m.msg_controllen = sizeof(u.buf);
        cm = CMSG_FIRSTHDR(&m);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
    }
    return sendmsg(fd, &m, MSG_NOSIGNAL | flags);
}

/* ipc_send_some - send what the socket takes, without blocking */
int ipc_send_some(int fd, struct buf *out)
{
    size_t done = 0;
    int rc = 0;

    while (done < buf_len(out)) {
        ssize_t n = send(fd, buf_str(out) + done, buf_len(out) - done,
                         MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            if (n == 0)
                errno = EPIPE;
            rc = -1;
            break;
        }
        done += (size_t) n;
    }
    if (done > 0) {
        size_t left = buf_len(out) - done;

        memmove(out->data, out->data + done, left);
        buf_truncate(out, left);
    }
    return rc;
}

/* ipc_write_fd - one sendmsg(2) with an optional descriptor */
ssize_t ipc_write_fd(int fd, const void *p, size_t len, int pass_fd)
{
    return send_fd(fd, p, len, pass_fd, 0);
}

/* recv_fd - one recvmsg(2) with FLAGS that keeps a passed descriptor */
static ssize_t recv_fd(int fd, void *p, size_t len, int *fd_out, int flags)
{
    struct iovec iov = {.iov_base = p, .iov_len = len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    ssize_t n;
    bool extra = false;

    m.msg_control = u.buf;
    m.msg_controllen = sizeof(u.buf);
    n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC | flags);
    if (n < 0)
        return n;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
        size_t nfd;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfd; i++) {
            int got;

            memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (*fd_out < 0) {
                *fd_out = got;
            } else {
                (void) close(got);
                extra = true;
            }
        }
    }
    if (extra || (m.msg_flags & MSG_CTRUNC)) {
        /* A peer that sends more descriptors than frames is broken. */
        errno = EPROTO;
        return -1;
    }
    return n;
}

/* ipc_read_fd - one recvmsg(2) that keeps a passed descriptor */
ssize_t ipc_read_fd(int fd, void *p, size_t len, int *fd_out)
{
    return recv_fd(fd, p, len, fd_out, 0);
}

/* ipc_send - write the whole frame, with an optional descriptor */
int ipc_send(int fd, struct span frame, int pass_fd, int timeout_ms,
             struct buf *why)
{
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    size_t done = 0;

    while (done < frame.len) {
        ssize_t n;

        if (wait_fd(fd, POLLOUT, deadline, why) < 0) {
            if (errno == ETIMEDOUT)
                buf_set(why, "timeout sending a frame");
            return -1;
        }
        /* Without MSG_DONTWAIT a blocking socket could outlast the timeout. */
        n = send_fd(fd, frame.p + done, frame.len - done,
                    done == 0 ? pass_fd : -1, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            buf_setf(why, "send: %m");
            return -1;
        }
        done += (size_t) n;
    }
    return 0;
}

/* ipc_reader_init - an empty reader */
void ipc_reader_init(struct ipc_reader *r)
{
    buf_init(&r->in, 0);
    r->fd = -1;
    r->done = false;
}

/* ipc_reader_fini - free the buffer, close a descriptor not handed out */
void ipc_reader_fini(struct ipc_reader *r)
{
    buf_fini(&r->in);
    if (r->fd >= 0)
        (void) close(r->fd);
    r->fd = -1;
}

/* ipc_reader_read - read toward the next frame without blocking */
enum ipc_read_result ipc_reader_read(struct ipc_reader *r, int sock,
                                     struct ipc_frame *frame, int *fd_out,
                                     struct buf *why)
{
    char tmp[8192];
    size_t used;

    *fd_out = -1;
    if (r->done) {
        buf_reset(&r->in);
        r->done = false;
    }
    for (;;) {
        size_t want;
        ssize_t n;

        if (r->in.len < IPC_HDR_LEN) {
            want = IPC_HDR_LEN - r->in.len;
        } else {
            switch (ipc_parse(span_make(r->in.data, r->in.len), &used, frame,
                              why)) {
                case IPC_PARSE_ERROR:
                    return IPC_READ_ERROR;
                case IPC_PARSE_FRAME:
                    r->done = true;
                    *fd_out = r->fd;
                    r->fd = -1;
                    return IPC_READ_FRAME;
                case IPC_PARSE_MORE:
                    break;
            }
            want = (size_t) get32(r->in.data) - r->in.len;
        }
        /*
         * Never read past the frame: a descriptor arrives with the first
         * byte of its frame, so reading frame by frame keeps each
         * descriptor with the frame it was sent with.
         */
        n = recv_fd(sock, tmp, want < sizeof(tmp) ? want : sizeof(tmp), &r->fd,
                    MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return IPC_READ_MORE;
            if (errno == EPROTO)
                buf_set(why, "more than one descriptor passed with a frame");
            else
                buf_setf(why, "receive: %m");
            return IPC_READ_ERROR;
        }
        if (n == 0) {
            if (r->in.len == 0)
                return IPC_READ_EOF;
            buf_set(why, "end of file inside a frame");
            return IPC_READ_ERROR;
        }
        buf_catn(&r->in, tmp, (size_t) n);
    }
}

/* ipc_recv - read exactly one frame */
int ipc_recv(int fd, struct buf *out, struct ipc_frame *frame, int *fd_out,
             int timeout_ms, struct buf *why)
{
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    struct ipc_reader r;
    int ret = -1;

    /* The reader works in OUT's storage, so FRAME borrows from OUT. */
    r.in = *out;
    r.fd = -1;
    r.done = false;
    if (r.in.data == NULL)
        buf_init(&r.in, 0);
    buf_reset(&r.in);
    for (;;) {
        switch (ipc_reader_read(&r, fd, frame, fd_out, why)) {
            case IPC_READ_FRAME:
                ret = 1;
                break;
            case IPC_READ_EOF:
                ret = 0;
                break;
            case IPC_READ_ERROR:
                ret = -1;
                break;
            case IPC_READ_MORE:
                if (wait_fd(fd, POLLIN, deadline, why) < 0) {
                    if (errno == ETIMEDOUT)
                        buf_set(why, "timeout receiving a frame");
                    ret = -1;
                    break;
                }
                continue;
        }
        break;
    }
    *out = r.in;
    if (r.fd >= 0)
        (void) close(r.fd);
    return ret;
}
