/*
 * queue_file - the records of a queue file: writer, strict reader, and the
 * two in-place updates (recipient done, delay warning time).
 *
 * docs/QUEUE.md is the specification of the format; this header is the API.
 * In short, a queue file is a sequence of records {type byte, 2-byte
 * big-endian length <= QUEUE_REC_MAX, data}:
 *
 *   S size (first, fixed width, completed last)
 *   envelope: T W F V D A, and per recipient N P O (any order) then R
 *   M, content: L lines, C pieces of long lines, B where the body starts
 *   X, then extracted envelope records: A, and O P N R
 *   E (last)
 *
 * Writing (cleanup, sendmail): queue_writer_open creates a file with a
 * temporary name in the folder's top level and fixes the queue ID; the
 * caller adds records; queue_writer_commit completes the size record, fsyncs
 * the file, renames it to its queue ID (never replacing a file) and fsyncs
 * the folder(s).  Only a 0 from queue_writer_commit means that the message
 * is safe: answer the client after that, never before.  Writer errors are
 * sticky: after the first failure every call returns -1, and commit returns
 * -1 with the first reason.  Commit and abort free the writer; on any
 * failure the temporary file is removed.
 *
 * Reading: queue_file_read opens, loads and parses a queue file and says
 * which of OK, GONE, CORRUPT or ERROR (retry) happened; under it,
 * queue_file_load reads a whole file into memory (bounded);
 * queue_file_parse checks the whole span strictly and returns the envelope
 * (owned copies); queue_content_* walks the message content.  Any malformed,
 * oversize, truncated or out-of-order record, a missing end, or sizes that
 * do not add up is an error with the file offset in WHY ("offset 123:
 * ..."); the caller moves such a file to corrupt/ (queue_dir_move) and logs
 * it.  The parser and the record reader are pure functions over a span:
 * they never write into it, never log, and never read outside it.
 */
#ifndef ULAK_QUEUE_FILE_H
#define ULAK_QUEUE_FILE_H

#include <sys/time.h>

#include "../lib/argv.h"
#include "../lib/buf.h"
#include "dsn.h"
#include "queue_dir.h"

/* The largest data of one record; longer content lines are split. */
#define QUEUE_REC_MAX      4096
/* The record header: type, length (big-endian u16). */
#define QUEUE_REC_HDR      3
/* The format version in the size record. */
#define QUEUE_FILE_VERSION 1

/* Record types (docs/QUEUE.md). */
#define QUEUE_REC_SIZE    'S'
#define QUEUE_REC_TIME    'T'
#define QUEUE_REC_WARN    'W'
#define QUEUE_REC_FROM    'F'
#define QUEUE_REC_ENVID   'V'
#define QUEUE_REC_RET     'D'
#define QUEUE_REC_ATTR    'A'
#define QUEUE_REC_ORIG    'O'
#define QUEUE_REC_ORCPT   'P'
#define QUEUE_REC_NOTIFY  'N'
#define QUEUE_REC_RCPT    'R'
#define QUEUE_REC_DONE    'r'
#define QUEUE_REC_MESSAGE 'M'
#define QUEUE_REC_LINE    'L'
#define QUEUE_REC_CONT    'C'
#define QUEUE_REC_BODY    'B'
#define QUEUE_REC_XTRA    'X'
#define QUEUE_REC_END     'E'

/* DSN NOTIFY bits and RET values, with Postfix's numbers (postcat prints
 * them as Postfix's notify_flags and ret_flags). */
#define QUEUE_NOTIFY_NEVER   1
#define QUEUE_NOTIFY_SUCCESS 2
#define QUEUE_NOTIFY_FAILURE 4
#define QUEUE_NOTIFY_DELAY   8
#define QUEUE_NOTIFY_ALL     15

/* queue_notify_from_dsn / queue_notify_to_dsn - DSN_NOTIFY_* bits (dsn.h,
 * what parsers and the agents use) to the queue file's Postfix-numbered
 * QUEUE_NOTIFY_* bits and back. */
static inline int queue_notify_from_dsn(int n)
{
    return (n & DSN_NOTIFY_NEVER ? QUEUE_NOTIFY_NEVER : 0)
           | (n & DSN_NOTIFY_SUCCESS ? QUEUE_NOTIFY_SUCCESS : 0)
           | (n & DSN_NOTIFY_FAILURE ? QUEUE_NOTIFY_FAILURE : 0)
           | (n & DSN_NOTIFY_DELAY ? QUEUE_NOTIFY_DELAY : 0);
}

static inline int queue_notify_to_dsn(int n)
{
    return (n & QUEUE_NOTIFY_NEVER ? DSN_NOTIFY_NEVER : 0)
           | (n & QUEUE_NOTIFY_SUCCESS ? DSN_NOTIFY_SUCCESS : 0)
           | (n & QUEUE_NOTIFY_FAILURE ? DSN_NOTIFY_FAILURE : 0)
           | (n & QUEUE_NOTIFY_DELAY ? DSN_NOTIFY_DELAY : 0);
}
#define QUEUE_RET_FULL 1
#define QUEUE_RET_HDRS 2

/* Fixed widths of the records updated in place. */
#define QUEUE_SIZE_FIELDS 5
#define QUEUE_SIZE_WIDTH  15
#define QUEUE_SIZE_LEN    (QUEUE_SIZE_FIELDS * (QUEUE_SIZE_WIDTH + 1) - 1)
#define QUEUE_WARN_LEN    QUEUE_SIZE_WIDTH

/*
 * One record, as the reader sees it: DATA points into the span.
 */
struct queue_rec {
    int type;
    size_t offset; /* of the type byte */
    struct span data;
};

/* queue_rec_next - decode the record at *OFF in FILE and advance *OFF.
 * 1: a record; 0: *OFF is at the end of FILE; -1: a truncated record, an
 * unknown type or a length above QUEUE_REC_MAX, with "offset N: why" in
 * WHY.  Checks only the framing, not the order of records. */
int queue_rec_next(struct span file, size_t *off, struct queue_rec *rec,
                   struct buf *why);

/*
 * The envelope of a parsed file.  Strings are owned by the struct
 * (queue_env_fini frees them) and NUL-terminated (envelope records never
 * hold NUL, CR or LF).  Offsets locate the records for in-place updates
 * and for reading the content.
 */
struct queue_rcpt {
    char *address; /* the recipient: owned */
    char *orig;    /* original recipient (as given to ulak), or NULL */
    char *orcpt;   /* DSN ORCPT "addr-type;address", or NULL */
    int notify;    /* QUEUE_NOTIFY_* bits; 0: not specified */
    bool done;     /* marked done (type 'r') */
    size_t offset; /* of the R/r record: queue_file_mark_done */
};

struct queue_env {
    long long message_size; /* content bytes, each line counted with LF */
    size_t content_offset;  /* of the M record */
    size_t body_offset;     /* of the B record; 0 when there is none */
    size_t xtra_offset;     /* of the X record */
    struct timeval arrival;
    long long warn_time; /* 0: none */
    size_t warn_offset;  /* of the W record; 0 when there is none */
    char *sender;        /* "" for the null sender */
    char *envid;         /* DSN ENVID, or NULL */
    int ret;             /* QUEUE_RET_*, 0: not specified */
    struct argv *attrs;  /* "name=value", in file order */
    struct queue_rcpt *rcpts;
    size_t nrcpt;
    size_t ndone;
    size_t bad_offset; /* after a failed parse: where the error is */
};

/* queue_file_parse - check all of FILE and fill ENV (which the caller
 * then finalizes with queue_env_fini, also after a failure).  0, or -1
 * with "offset N: why" in WHY and ENV->bad_offset set. */
int queue_file_parse(struct span file, struct queue_env *env, struct buf *why);
void queue_env_fini(struct queue_env *env);
/* queue_env_attr - the value of attribute NAME, or NULL (borrowed). */
const char *queue_env_attr(const struct queue_env *env, const char *name);

/* queue_file_load - read the open queue file FD (from its start) into OUT
 * (reset); -1 with WHY when it is larger than MAX bytes or unreadable. */
int queue_file_load(int fd, size_t max, struct buf *out, const char *path,
                    struct buf *why);

/* queue_file_read - open the queue file at PATH (fs_safe_open: no symlink,
 * one link; OPEN_FLAGS O_RDONLY or O_RDWR for the in-place updates), load
 * at most MAX bytes into DATA and parse them into ENV.  The outcomes a
 * queue manager must tell apart:
 *   QUEUE_READ_OK       *FD is open (the caller closes it), ENV filled;
 *   QUEUE_READ_GONE     no such file (moved or removed meanwhile);
 *   QUEUE_READ_CORRUPT  not a regular file with one link, larger than
 *                       MAX, or malformed: move it to corrupt/ and log WHY;
 *   QUEUE_READ_ERROR    an I/O or resource error: try again later.
 * ENV needs queue_env_fini in every case; *FD is -1 unless OK. */
enum queue_read {
    QUEUE_READ_OK,
    QUEUE_READ_GONE,
    QUEUE_READ_CORRUPT,
    QUEUE_READ_ERROR,
};
ULAK_NODISCARD enum queue_read
queue_file_read(const char *path, int open_flags, size_t max, int *fd,
                struct buf *data, struct queue_env *env, struct buf *why);

/*
 * The content of a parsed file, one line at a time, long lines joined.
 */
struct queue_content {
    struct span file;
    size_t off;     /* next record */
    size_t end;     /* the X record */
    size_t body;    /* the B record, or 0 */
    bool in_body;   /* the last line returned is a body line */
    size_t line_at; /* offset of the first record of the last line */
};

/* queue_content_init - walk the content of FILE as parsed into ENV. */
void queue_content_init(struct queue_content *c, struct span file,
                        const struct queue_env *env);
/* queue_content_next - the next line, without its LF, into LINE (reset);
 * 1: a line; 0: the end of the content.  Header lines come before the
 * first body line; c->in_body says which one LINE is.  The span must be
 * the one that queue_file_parse accepted. */
int queue_content_next(struct queue_content *c, struct buf *line);
/* queue_content_piece - the next record of the content without joining:
 * PIECE points into the file span; MORE is true when the line continues
 * in the next piece (a C record), false when PIECE ends a line.  1: a
 * piece; 0: the end.  The shape of deliver.h's struct deliver_src, so a
 * delivery agent needs no buffer as large as the longest line.  Do not
 * mix with queue_content_next on one walk. */
int queue_content_piece(struct queue_content *c, struct span *piece,
                        bool *more);

/*
 * In-place updates on a queue file open for writing (O_RDWR): one pwrite
 * each, of at most one sector, so that a crash leaves either the old or
 * the new value.  They check the record type at OFFSET first.  There is
 * no fsync: a process that is killed loses nothing written (the page cache
 * is the kernel's), and what a power failure may lose is a mark, so a
 * delivery is repeated at worst -- the one repeat the design allows.
 */

/* queue_file_mark_done - mark the recipient at OFFSET (queue_rcpt.offset)
 * delivered: its type byte becomes 'r'.  Idempotent.  After success no
 * process crash repeats that delivery. */
int queue_file_mark_done(int fd, size_t offset, struct buf *why);
/* queue_file_set_warn - set the W record at OFFSET to WHEN (0: no more
 * warnings). */
int queue_file_set_warn(int fd, size_t offset, long long when, struct buf *why);

/*
 * The writer.
 */
struct queue_writer;

/* The fields of one recipient (borrowed for the call). */
struct queue_rcpt_in {
    const char *address;
    const char *orig;  /* NULL: none */
    const char *orcpt; /* NULL: none */
    int notify;        /* 0: none */
};

/* queue_writer_open - create a new queue file in folder F (incoming for
 * cleanup, maildrop for sendmail) with mode 0600 (maildrop: 0644 so that
 * pickup can read another user's file), write its size record, and fix its
 * queue ID from the creation time and inode.  NULL with WHY on failure. */
struct queue_writer *queue_writer_open(const struct queue_dir *qd,
                                       enum queue_folder f, struct buf *why);
/* queue_writer_id - the queue ID (borrowed, valid until commit/abort). */
const char *queue_writer_id(const struct queue_writer *w);
/* queue_writer_created - the creation time (the default arrival time). */
struct timeval queue_writer_created(const struct queue_writer *w);

/* Envelope records, before content_begin (T and F exactly once). */
int queue_writer_time(struct queue_writer *w, const struct timeval *arrival);
int queue_writer_warn(struct queue_writer *w, long long when);
int queue_writer_sender(struct queue_writer *w, const char *sender);
int queue_writer_envid(struct queue_writer *w, const char *envid);
int queue_writer_ret(struct queue_writer *w, int ret);
/* Attributes and recipients: before content_begin, or after content_end
 * (extracted records, for recipients found in headers).  NAME is
 * [a-z0-9_]+ and unique. */
int queue_writer_attr(struct queue_writer *w, const char *name,
                      const char *value);
int queue_writer_rcpt(struct queue_writer *w, const struct queue_rcpt_in *r);
/* Content: begin, lines (each without its LF; any bytes but LF), the body
 * mark before the first body line (normally the empty separator line),
 * end. */
int queue_writer_content_begin(struct queue_writer *w);
int queue_writer_line(struct queue_writer *w, const char *p, size_t len);
int queue_writer_body_begin(struct queue_writer *w);
int queue_writer_content_end(struct queue_writer *w);
/* queue_writer_error - the first failure so far, or NULL (borrowed). */
const char *queue_writer_error(const struct queue_writer *w);

/* queue_writer_commit - end mark, size record, fsync, rename to the queue
 * ID, fsync of the folder: 0 means durable.  Frees W either way. */
int queue_writer_commit(struct queue_writer *w, struct buf *why);
/* queue_writer_abort - remove the file and free W (NULL: no-op). */
void queue_writer_abort(struct queue_writer *w);

#endif
