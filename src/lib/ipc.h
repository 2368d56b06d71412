/*
 * ipc - the one frame format of ulak's processes, and its table-driven
 * encoder, decoder and dump.
 *
 * A frame, every number in network byte order:
 *
 *   u32 len         the whole frame, this header included (12..IPC_FRAME_MAX)
 *   u16 type        the message type (global/ipc_msgs.def)
 *   u16 version     the version of that type's field list
 *   u32 request_id  chosen by the requester, echoed in every reply
 *   fields          {u16 field, u32 len, len bytes} until the end of the frame
 *
 * One file descriptor may travel with a frame (SCM_RIGHTS, sent together
 * with the frame's first byte).
 *
 * This module knows no message: global/ipc_msgs.def declares them and the
 * preprocessor turns the declarations into the descriptor tables that
 * ipc_encode(), ipc_decode() and ipc_dump() walk.  Field kinds and sizes:
 * STR (no NUL byte; C type char *), INT (4 bytes, int32_t), U64 (8 bytes,
 * uint64_t), BYTES (struct ipc_bytes) and GROUP (a nested field list, C type
 * struct ipc_NAME *).  A field is required or optional, single or repeated.
 * An optional single INT, U64 or BYTES is sent only when it is not zero
 * (empty), and reads as zero when absent; an optional string or group is
 * NULL when absent.  A required field is always sent, even when zero.
 *
 * Decoding is strict: a frame above IPC_FRAME_MAX, an unknown type, version
 * or field, a duplicate single field, a missing required field, an integer
 * of the wrong length, a string with a NUL byte and bytes after the last
 * field are each rejected with their own text in WHY.
 *
 * Parsing never writes into its input, never reads past its span and needs
 * no socket, so the fuzzer drives ipc_parse()/ipc_decode() directly.
 *
 * Ownership: a decoded message owns every string, array and group it points
 * to; ipc_msg_fini() frees them.  struct ipc_frame borrows its body from the
 * span given to ipc_parse().
 */
#ifndef ULAK_IPC_H
#define ULAK_IPC_H

#include <sys/types.h>

#include "sys_defs.h"
#include "buf.h"

#define IPC_HDR_LEN       12
#define IPC_FIELD_HDR_LEN 6
/* The largest frame, header included; a larger one is an error. */
#define IPC_FRAME_MAX     (1024 * 1024)

enum ipc_kind {
    IPC_KIND_STR,
    IPC_KIND_INT,
    IPC_KIND_U64,
    IPC_KIND_BYTES,
    IPC_KIND_GROUP,
};

#define IPC_F_REQUIRED 1u
#define IPC_F_REPEATED 2u

struct ipc_bytes {
    unsigned char *p; /* owned by the message; NULL when empty */
    size_t len;
};

struct ipc_msg_desc;

struct ipc_field_desc {
    const char *name;
    uint16_t number;
    enum ipc_kind kind;
    unsigned flags;                   /* IPC_F_* */
    size_t offset;                    /* of the value, or of the array */
    size_t count_offset;              /* of the size_t count (repeated) */
    const struct ipc_msg_desc *group; /* IPC_KIND_GROUP only */
};

struct ipc_msg_desc {
    const char *name;
    uint16_t type; /* 0: a group, never a frame of its own */
    uint16_t version;
    const struct ipc_field_desc *fields;
    size_t nfields;
    size_t size; /* sizeof the C struct */
};

/* One parsed frame; body borrows from the parsed input. */
struct ipc_frame {
    uint16_t type;
    uint16_t version;
    uint32_t request_id;
    struct span body; /* the fields */
};

enum ipc_parse_result {
    IPC_PARSE_MORE,  /* need more bytes; *used is 0 */
    IPC_PARSE_FRAME, /* one frame; *used bytes of IN belong to it */
    IPC_PARSE_ERROR, /* the stream is corrupt: close the connection */
};

/*
 * ipc_parse - find the first frame at the start of IN (bytes as they
 * arrived).  On IPC_PARSE_FRAME, FRAME borrows from IN and the caller drops
 * *used bytes before the next call.  Only the header is checked here
 * (length bounds); field errors surface in ipc_decode().
 */
ULAK_NODISCARD enum ipc_parse_result ipc_parse(struct span in, size_t *used,
                                               struct ipc_frame *frame,
                                               struct buf *why);

/*
 * Field iteration over a frame body (or a group's value): ipc_field_next()
 * returns 1 with the next field, 0 at the clean end, -1 (WHY) when the body
 * ends inside a field header or a field runs past the end.
 */
struct ipc_cursor {
    struct span rest;
};
void ipc_cursor_init(struct ipc_cursor *c, struct span body);
ULAK_NODISCARD int ipc_field_next(struct ipc_cursor *c, uint16_t *field,
                                  struct span *value, struct buf *why);

/*
 * Low-level encoding into OUT (appended): ipc_enc_begin() writes a header
 * with a zero length, the ipc_enc_* calls append fields, ipc_enc_end()
 * fills in the length and fails (WHY, OUT truncated back to START) when the
 * frame exceeds IPC_FRAME_MAX.  START is buf_len(out) before ipc_enc_begin.
 */
void ipc_enc_begin(struct buf *out, uint16_t type, uint16_t version,
                   uint32_t request_id);
void ipc_enc_field(struct buf *out, uint16_t field, const void *p, size_t len);
void ipc_enc_int(struct buf *out, uint16_t field, int32_t v);
void ipc_enc_u64(struct buf *out, uint16_t field, uint64_t v);
ULAK_NODISCARD int ipc_enc_end(struct buf *out, size_t start, struct buf *why);

/*
 * ipc_encode - append MSG (a struct described by D) as one frame to OUT.
 * Fails (WHY, OUT unchanged) when a required field is missing (a NULL
 * string or group, a repeated field with no element) or when the frame
 * would exceed IPC_FRAME_MAX.
 */
ULAK_NODISCARD int ipc_encode(const struct ipc_msg_desc *d, const void *msg,
                              uint32_t request_id, struct buf *out,
                              struct buf *why);

/*
 * ipc_decode - decode FRAME into MSG (a struct described by D, which this
 * zeroes first).  On failure MSG holds nothing to free and WHY says why.
 */
ULAK_NODISCARD int ipc_decode(const struct ipc_msg_desc *d,
                              const struct ipc_frame *frame, void *msg,
                              struct buf *why);

/* ipc_msg_fini - free what a decoded (or hand-built, mem_* owned) MSG owns. */
void ipc_msg_fini(const struct ipc_msg_desc *d, void *msg);

/*
 * ipc_dump - append FRAME as "type name=value ..." to OUT, in wire order,
 * for traces and tests.  DESCS lists the known types.  Strings print bare
 * when they are printable without spaces, else quoted with C escapes;
 * groups print as name={...}.  Returns 0, or -1 after appending
 * " [error: why]" when the frame does not decode.
 */
int ipc_dump(const struct ipc_msg_desc *const *descs, size_t ndescs,
             const struct ipc_frame *frame, struct buf *out);

/* ipc_desc_find - the descriptor of TYPE in DESCS, or NULL. */
const struct ipc_msg_desc *
ipc_desc_find(const struct ipc_msg_desc *const *descs, size_t ndescs,
              uint16_t type);

/*
 * Socket helpers.  TIMEOUT_MS < 0 waits forever.
 *
 * ipc_send - write the whole frame FRAME (len bytes) on the stream socket
 * FD, passing PASS_FD with it when PASS_FD >= 0.  0 or -1 (WHY).
 *
 * ipc_recv - read exactly one frame from FD into OUT (reset first), with
 * the descriptor that came with it in *FD_OUT (-1 when none; close it).
 * Reads no byte beyond the frame.  Returns 1 with a frame (FRAME borrows
 * from OUT), 0 on end of file before the first byte, -1 (WHY) on error,
 * timeout, a corrupt header or end of file inside a frame.
 *
 * ipc_read_fd - one recvmsg(2) of at most LEN bytes that keeps a passed
 * descriptor (*FD_OUT, which must be -1 on entry, receives it; a second one
 * in the same stream position is closed and reported as an error).  For
 * event-driven readers that feed ipc_parse().  Returns read(2)'s value.
 *
 * ipc_write_fd - one sendmsg(2) of LEN bytes with PASS_FD attached (when
 * >= 0).  Returns write(2)'s value; MSG_NOSIGNAL, so no SIGPIPE.
 */
/*
 * ipc_reader - frames from a non-blocking reader (an event loop's read
 * callback): call ipc_reader_read() when the socket is readable until it
 * returns IPC_READ_MORE.  It reads no byte past the current frame, so a
 * passed descriptor stays with its frame.  On IPC_READ_FRAME, FRAME borrows
 * from the reader until the next call and *FD_OUT is the frame's descriptor
 * (-1 when none; the caller owns it).  IPC_READ_EOF is a clean end of file
 * between frames; IPC_READ_ERROR (WHY) a corrupt stream, a read error or an
 * end of file inside a frame: close the connection.  The socket need not
 * be non-blocking (reads use MSG_DONTWAIT).
 */
enum ipc_read_result {
    IPC_READ_MORE,
    IPC_READ_FRAME,
    IPC_READ_EOF,
    IPC_READ_ERROR,
};
struct ipc_reader {
    struct buf in; /* the frame so far */
    int fd;        /* a descriptor that came with it, or -1 */
    bool done;     /* in holds a frame already returned */
};
void ipc_reader_init(struct ipc_reader *r);
void ipc_reader_fini(struct ipc_reader *r);
ULAK_NODISCARD enum ipc_read_result
ipc_reader_read(struct ipc_reader *r, int sock, struct ipc_frame *frame,
                int *fd_out, struct buf *why);

ULAK_NODISCARD int ipc_send(int fd, struct span frame, int pass_fd,
                            int timeout_ms, struct buf *why);
ULAK_NODISCARD int ipc_recv(int fd, struct buf *out, struct ipc_frame *frame,
                            int *fd_out, int timeout_ms, struct buf *why);
/* ipc_send_some - send what stream socket FD takes now (never blocking)
 * from OUT and drop it from OUT's front; 0 (OUT keeps what is left), or
 * -1 with errno when the peer is gone.  For event-driven writers: wait
 * for the socket to be writable while OUT is not empty. */
ULAK_NODISCARD int ipc_send_some(int fd, struct buf *out);
ssize_t ipc_read_fd(int fd, void *p, size_t len, int *fd_out);
ssize_t ipc_write_fd(int fd, const void *p, size_t len, int pass_fd);

#endif
