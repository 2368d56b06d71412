/* mime_keys - header and body lookup keys of a message */
#include "mime_keys.h"

#include <ctype.h>
#include <strings.h>

/* mime_keys_init - start at the message's headers */
void mime_keys_init(struct mime_keys *m, bool mime, mime_keys_fn fn, void *ctx)
{
    m->mime = mime;
    m->in_headers = true;
    m->primary = true;
    m->have_pending = false;
    buf_init(&m->pending, 0);
    m->bounds = argv_new();
    m->ct_multipart = false;
    m->ct_message = false;
    buf_init(&m->ct_bound, 0);
    m->fn = fn;
    m->ctx = ctx;
}

/* mime_keys_fini - release the state */
void mime_keys_fini(struct mime_keys *m)
{
    buf_fini(&m->pending);
    buf_fini(&m->ct_bound);
    argv_free(m->bounds);
    m->bounds = NULL;
}

/* is_header - "name:" with a name of printable non-blank bytes */
static bool is_header(const char *s)
{
    const char *p = s;

    while (*p > ' ' && *p < 0x7f && *p != ':')
        p++;
    if (p == s)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == ':';
}

/* content_type - note what a Content-Type header says */
static void content_type(struct mime_keys *m, const char *hdr)
{
    const char *p = strchr(hdr, ':') + 1;
    const char *q;

    while (isspace((unsigned char) *p))
        p++;
    if (strncasecmp(p, "message/rfc822", 14) == 0) {
        m->ct_message = true;
        return;
    }
    if (strncasecmp(p, "multipart/", 10) != 0)
        return;
    for (const char *at = p; *at; at++) {
        if (strncasecmp(at, "boundary", 8) != 0)
            continue;
        q = at + 8;
        while (isspace((unsigned char) *q))
            q++;
        if (*q != '=')
            continue;
        q++;
        while (isspace((unsigned char) *q))
            q++;
        buf_reset(&m->ct_bound);
        if (*q == '"') {
            for (q++; *q && *q != '"'; q++)
                buf_catc(&m->ct_bound, *q);
        } else {
            for (; *q && *q != ';' && !isspace((unsigned char) *q); q++)
                buf_catc(&m->ct_bound, *q);
        }
        m->ct_multipart = buf_len(&m->ct_bound) > 0;
        return;
    }
}

/* flush - deliver the pending header */
static void flush(struct mime_keys *m)
{
    if (!m->have_pending)
        return;
    m->have_pending = false;
    if (m->mime) {
        const char *h = buf_str(&m->pending);

        if (strncasecmp(h, "content-type", 12) == 0
            && (h[12] == ':' || h[12] == ' ' || h[12] == '\t'))
            content_type(m, h);
    }
    m->fn(MIME_KEYS_HEADER, buf_str(&m->pending), m->ctx);
}

/* start_headers - a new header block (MIME part or attached message) */
static void start_headers(struct mime_keys *m)
{
    m->in_headers = true;
    m->ct_multipart = false;
    m->ct_message = false;
}

/* mime_keys_line - one line of the message */
void mime_keys_line(struct mime_keys *m, const char *line)
{
    if (m->in_headers) {
        if (m->have_pending && (line[0] == ' ' || line[0] == '\t')) {
            buf_catc(&m->pending, '\n');
            buf_cat(&m->pending, line);
            return;
        }
        flush(m);
        if (is_header(line)) {
            buf_set(&m->pending, line);
            m->have_pending = true;
            return;
        }
        /* The line that ends the headers is a body line, after an empty
         * one when it is not empty itself (the header/body separator). */
        m->in_headers = false;
        if (line[0] != 0 && m->primary)
            m->fn(MIME_KEYS_BODY, "", m->ctx);
        m->primary = false;
        m->fn(MIME_KEYS_BODY, line, m->ctx);
        if (m->mime) {
            if (m->ct_multipart)
                argv_add(m->bounds, buf_str(&m->ct_bound));
            if (m->ct_message)
                start_headers(m);
        }
        return;
    }
    if (m->mime && line[0] == '-' && line[1] == '-') {
        for (size_t i = m->bounds->argc; i-- > 0;) {
            const char *b = m->bounds->argv[i];
            size_t blen = strlen(b);

            if (strncmp(line + 2, b, blen) != 0)
                continue;
            m->fn(MIME_KEYS_BODY, line, m->ctx);
            if (line[2 + blen] == '-' && line[3 + blen] == '-') {
                argv_truncate(m->bounds, i);
            } else {
                argv_truncate(m->bounds, i + 1);
                start_headers(m);
            }
            return;
        }
    }
    m->fn(MIME_KEYS_BODY, line, m->ctx);
}

/* mime_keys_end - deliver what is pending */
void mime_keys_end(struct mime_keys *m)
{
    if (m->in_headers)
        flush(m);
}
