/*
 * smtp_proto - the pure parts of the SMTP/LMTP client: server replies,
 * EHLO keywords, the MAIL and RCPT commands with their ESMTP parameters,
 * the message content as it goes on the wire, and the texts that turn a
 * reply into a delivery status.  No socket, no configuration: the session
 * code (smtp.c) feeds bytes in and takes commands out, and the fuzzer
 * drives smtp_reply_parse directly.
 *
 * Replies (RFC 5321 4.2): one or more lines "CODE-text" ending with one
 * "CODE text" (or a bare "CODE"), each line ending in LF (a CR before it
 * is dropped).  Lenient where Postfix's client is (recorded with
 * postfix-ref): a line that does not start with a code of 2..5 and two
 * digits and a space or '-' is skipped, and the code of a reply is its
 * last line's.  Bounded everywhere: a line longer than
 * SMTP_REPLY_LINE_MAX or more than SMTP_REPLY_LINES_MAX lines (skipped
 * ones included) are errors (the caller ends the session: "... sent a
 * malformed reply"; Postfix truncates such lines with a warning).
 *
 * Ownership: struct smtp_reply owns its text (smtp_reply_fini); spans
 * given to the parsers are borrowed and never written.
 */
#ifndef ULAK_SMTP_PROTO_H
#define ULAK_SMTP_PROTO_H

#include "../lib/argv.h"
#include "../lib/buf.h"
#include "../global/dsn.h"

#define SMTP_REPLY_LINE_MAX  2048
#define SMTP_REPLY_LINES_MAX 100

struct smtp_reply {
    int code;                  /* 220, 250, ... */
    char dsn[DSN_STATUS_SIZE]; /* the enhanced code of the first line, or
                                * the one the code implies (X.0.0) */
    bool has_dsn;              /* the server sent an enhanced code */
    struct buf text;           /* every line with its code, joined by spaces:
                       * "550-5.1.1 a 550 5.1.1 b", as Postfix logs it */
    struct argv *lines; /* the text of each line after "CODE-" / "CODE " */
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_fini(struct smtp_reply *r);

enum smtp_parse {
    SMTP_PARSE_MORE,  /* no complete reply yet: read more; the first
                       * *USED bytes (skipped lines) may be dropped */
    SMTP_PARSE_REPLY, /* one reply in R; *USED bytes of IN were its */
    SMTP_PARSE_ERROR, /* malformed (WHY): end the session */
};

/* smtp_reply_parse - the first complete reply at the start of IN into R
 * (reset first). */
ULAK_NODISCARD enum smtp_parse smtp_reply_parse(struct span in, size_t *used,
                                                struct smtp_reply *r,
                                                struct buf *why);

/* The EHLO keywords a client acts on. */
#define SMTP_EXT_PIPELINING 0x01
#define SMTP_EXT_SIZE       0x02
#define SMTP_EXT_8BITMIME   0x04
#define SMTP_EXT_DSN        0x08
#define SMTP_EXT_SMTPUTF8   0x10
#define SMTP_EXT_XFORWARD   0x20

/* The XFORWARD attributes (as the server lists them after XFORWARD). */
#define SMTP_XF_NAME   0x01
#define SMTP_XF_ADDR   0x02
#define SMTP_XF_PORT   0x04
#define SMTP_XF_PROTO  0x08
#define SMTP_XF_HELO   0x10
#define SMTP_XF_IDENT  0x20
#define SMTP_XF_SOURCE 0x40

struct smtp_ext {
    unsigned flags;     /* SMTP_EXT_* */
    unsigned xforward;  /* SMTP_XF_* */
    long long size_max; /* SIZE N; 0: none announced or no limit */
};

/* smtp_ehlo_parse - the keywords of an EHLO reply R (its first line is the
 * greeting, not a keyword) into EXT (reset first).  Case-insensitive;
 * unknown keywords and bad SIZE values are ignored. */
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ext *ext);

/* What the envelope and content need from the server. */
struct smtp_mail_in {
    const char *sender; /* internal form; "" is <> */
    long long size;     /* message_size: SIZE= */
    bool eightbit;      /* the content has bytes above 127 */
    bool smtputf8;      /* an envelope address is not ASCII */
    const char *envid;  /* NULL: none */
    int ret;            /* enum dsn_ret */
};

/* smtp_mail_cmd - "MAIL FROM:<sender> SIZE=N BODY=8BITMIME SMTPUTF8
 * RET=.. ENVID=.." (no CRLF) into OUT (reset), each parameter only when
 * EXT offers it. */
void smtp_mail_cmd(const struct smtp_mail_in *in, const struct smtp_ext *ext,
                   struct buf *out);
/* smtp_rcpt_cmd - "RCPT TO:<addr> NOTIFY=.. ORCPT=type;xtext" (no CRLF)
 * into OUT (reset); NOTIFY and ORCPT only with DSN offered.  ORCPT is the
 * queue file's "type;address" (decoded) or NULL. */
void smtp_rcpt_cmd(const char *addr, int notify, const char *orcpt,
                   const struct smtp_ext *ext, struct buf *out);

/* smtp_size_refused - the message is larger than the server's SIZE
 * limit (EXT), and must not be sent there. */
bool smtp_size_refused(const struct smtp_ext *ext, long long size);

/*
 * The content on the wire: smtp_data_piece appends one piece of a line
 * (queue_content_piece: MORE says the line continues) to OUT with a dot
 * doubled at the start of a line, CRLF at the end of the line, and a line
 * longer than LIMIT (0: none) broken with CRLF SPACE, as Postfix's
 * smtp_line_length_limit does.  *COL is the column in the output line
 * (0 at the start); smtp_data_end appends the final ".\r\n".
 */
void smtp_data_piece(struct span piece, bool more, size_t limit, size_t *col,
                     struct buf *out);
void smtp_data_end(struct buf *out);

/* smtp_reply_dsn - the status a reply stands for: its enhanced code when
 * it has one of the reply's class, else X.0.0 (X from the code; a 2xx or
 * 3xx where none was wanted is the caller's business). */
const char *smtp_reply_dsn(const struct smtp_reply *r);

#endif
