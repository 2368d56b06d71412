/*
 * mime_keys - the lookup keys that a message gives header_checks and
 * body_checks, as "postmap -h/-b/-m -q -" generates them.
 *
 * Feed the message one line at a time (without the newline) with
 * mime_keys_line() and finish with mime_keys_end().  The callback receives
 * each key with its kind: a logical header (continuation lines joined with
 * "\n"), or one body line.  The first line that is neither a header nor a
 * continuation ends the headers and is itself a body line (usually the
 * empty line; when the message's own headers end with a line that is not
 * empty, an empty body line comes first).  Without MIME processing only the message's own headers are
 * headers and every later line is body.  With MIME processing, multipart
 * boundaries are followed: the headers of each part and of each attached
 * message/rfc822 are headers too, and are not body lines; boundary lines
 * and the line that ends a header block stay body lines.
 *
 * Keys are borrowed for the duration of the callback.
 */
#ifndef ULAK_MIME_KEYS_H
#define ULAK_MIME_KEYS_H

#include "../lib/argv.h"
#include "../lib/buf.h"

enum mime_keys_kind {
    MIME_KEYS_HEADER,
    MIME_KEYS_BODY,
};

typedef void (*mime_keys_fn)(enum mime_keys_kind kind, const char *key,
                             void *ctx);

struct mime_keys {
    bool mime;           /* follow MIME structure */
    bool in_headers;     /* reading a header block */
    bool primary;        /* ... the message's own headers */
    bool have_pending;   /* PENDING holds a header */
    struct buf pending;  /* the logical header being gathered */
    struct argv *bounds; /* multipart boundaries, innermost last */
    bool ct_multipart;   /* the header block so far says multipart */
    bool ct_message;     /* ... or message/rfc822 */
    struct buf ct_bound; /* its boundary */
    mime_keys_fn fn;
    void *ctx;
};

void mime_keys_init(struct mime_keys *m, bool mime, mime_keys_fn fn, void *ctx);
void mime_keys_line(struct mime_keys *m, const char *line);
/* mime_keys_end - deliver a pending header; call once at the end */
void mime_keys_end(struct mime_keys *m);
void mime_keys_fini(struct mime_keys *m);

#endif
