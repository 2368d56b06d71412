/*
 * smtpd_cmd - the SMTP server's parsers of network input: command lines,
 * MAIL FROM / RCPT TO with their ESMTP parameters, BDAT, and the argument
 * checks of the simple commands, each error answered with the exact reply
 * Postfix 3.7's smtpd gives (golden cases: tests/data/smtpd/cmd_golden.txt,
 * recorded from Debian's Postfix by tests/data/smtpd/record_cmd.py).
 *
 * These are pure functions: no session state, no I/O, no logging.  The
 * daemon checks the session state (HELO first, nested MAIL, need RCPT...)
 * itself BEFORE calling the per-command parsers, because Postfix answers
 * state errors first ("DATA x" before RCPT is "503 5.5.1 Error: need RCPT
 * command", after it "501 5.5.4 Syntax: DATA").
 *
 * Replies are one line, without CRLF, e.g. "501 5.5.4 Syntax: MAIL
 * FROM:<address>".  Note "521 ..." (BDAT syntax): Postfix disconnects after
 * it, and so must the daemon.
 *
 * Ownership: spans in struct smtpd_cmd point into the caller's line; the
 * bufs in struct smtpd_mail / smtpd_rcpt are owned by the struct (init /
 * fini); REPLY is the caller's (reset, then filled).
 */
#ifndef ULAK_SMTPD_CMD_H
#define ULAK_SMTPD_CMD_H

#include "global/dsn.h"
#include "lib/buf.h"

#include <stdint.h>

/* Postfix's line_length_limit default: the longest command line read. */
#define SMTPD_LINE_LIMIT 2048

enum smtpd_verb {
    SMTPD_VERB_UNKNOWN = 0,
    SMTPD_VERB_HELO,
    SMTPD_VERB_EHLO,
    SMTPD_VERB_MAIL,
    SMTPD_VERB_RCPT,
    SMTPD_VERB_DATA,
    SMTPD_VERB_BDAT,
    SMTPD_VERB_RSET,
    SMTPD_VERB_NOOP,
    SMTPD_VERB_QUIT,
    SMTPD_VERB_VRFY,
    SMTPD_VERB_HELP,
    SMTPD_VERB_ETRN,
    SMTPD_VERB_AUTH,
    SMTPD_VERB_STARTTLS,
    SMTPD_VERB_XCLIENT,
    SMTPD_VERB_XFORWARD,
};

/* What the parsers need from main.cf. */
struct smtpd_cmd_opts {
    bool strict_rfc821;          /* strict_rfc821_envelopes */
    bool smtputf8_enable;        /* smtputf8_enable (default yes) */
    uint64_t message_size_limit; /* 0: none */
};

/* smtpd_cmd_opts_default - Postfix 3.7's defaults (10240000 bytes). */
void smtpd_cmd_opts_default(struct smtpd_cmd_opts *o);

/*
 * smtpd_line_take - the next command line at the start of IN (bytes read
 * from the client, not yet consumed).  Returns 1 with LINE (without the
 * LF and a CR before it) and *USED (bytes to drop from IN, the LF
 * included); 0 when IN holds no complete line yet and fewer than LIMIT
 * bytes (read more); 2 when LIMIT bytes came without a LF: LINE is the
 * first LIMIT bytes (*USED = LIMIT), and the caller must then discard
 * input up to and including the next LF, as Postfix skips the rest of an
 * overlong command line.
 */
int smtpd_line_take(struct span in, size_t limit, struct span *line,
                    size_t *used);

struct smtpd_cmd {
    enum smtpd_verb verb;
    struct span name; /* the verb as sent */
    struct span args; /* after the verb and white space; may be empty */
};

/*
 * smtpd_cmd_split - LINE (from smtpd_line_take) as a verb and arguments.
 * -1 with REPLY for an empty or blank line ("500 5.5.2 Error: bad
 * syntax"), invalid UTF-8 when O->smtputf8_enable ("500 5.5.2 Error: bad
 * UTF-8 syntax") or an unknown verb ("500 5.5.2 Error: command not
 * recognized").  A NUL byte ends LINE (Postfix reads it as a C string:
 * "NOOP<NUL>x" is NOOP); CMD's spans stop there.  HELP is in the table, but Postfix 3.7 has no HELP: the
 * daemon answers it with smtpd_cmd_unknown's reply.
 */
int smtpd_cmd_split(struct span line, const struct smtpd_cmd_opts *o,
                    struct smtpd_cmd *cmd, struct buf *reply);

/* smtpd_verb_name - "MAIL" etc., or NULL for SMTPD_VERB_UNKNOWN. */
const char *smtpd_verb_name(enum smtpd_verb v);

/* smtpd_cmd_unknown - REPLY = "500 5.5.2 Error: command not recognized". */
void smtpd_cmd_unknown(struct buf *reply);

/*
 * smtpd_cmd_check_args - the argument syntax of HELO, EHLO (a host name
 * must follow: "501 Syntax: HELO hostname"), RSET and DATA (nothing
 * follows: "501 5.5.4 Syntax: RSET"), VRFY (something follows), ETRN
 * (exactly one word: "500 Syntax: ETRN domain"); NOOP and QUIT take
 * anything.  0, or -1 with REPLY.  Other verbs: 0 (they have their own
 * parsers, or depend on configuration: AUTH, STARTTLS, XCLIENT...).
 */
int smtpd_cmd_check_args(const struct smtpd_cmd *cmd, struct buf *reply);

enum smtpd_body {
    SMTPD_BODY_NONE = 0, /* not given */
    SMTPD_BODY_7BIT,
    SMTPD_BODY_8BITMIME,
};

struct smtpd_mail {
    struct buf addr; /* internal form; "" for <> */
    bool has_size;
    uint64_t size;        /* SIZE= */
    enum smtpd_body body; /* BODY= (the last one given) */
    bool smtputf8;        /* SMTPUTF8 */
    enum dsn_ret ret;     /* RET= */
    bool has_envid;
    struct buf envid; /* ENVID=, decoded */
    bool has_auth;
    struct buf auth; /* AUTH=, as sent (xtext; checked only with SASL) */
};

struct smtpd_rcpt {
    struct buf addr; /* internal form */
    int notify;      /* DSN_NOTIFY_* bits; 0: not given */
    bool has_orcpt;
    struct buf orcpt_type; /* e.g. "rfc822" */
    struct buf orcpt_addr; /* decoded */
};

void smtpd_mail_init(struct smtpd_mail *m);
void smtpd_mail_fini(struct smtpd_mail *m);
void smtpd_rcpt_init(struct smtpd_rcpt *r);
void smtpd_rcpt_fini(struct smtpd_rcpt *r);

/*
 * smtpd_cmd_mail - the arguments of MAIL ("FROM:<path> params") into M
 * (reset first).  -1 with REPLY: "501 5.5.4 Syntax: MAIL FROM:<address>",
 * "501 5.1.7 Bad sender address syntax", "555 5.5.4 Unsupported option:
 * X", "501 5.5.4 Bad message size syntax", "552 5.3.4 Message size
 * exceeds fixed limit", "501 5.5.4 Bad RET parameter syntax", ...
 * Parameters are checked in the order sent; the first error wins.
 */
int smtpd_cmd_mail(struct span args, const struct smtpd_cmd_opts *o,
                   struct smtpd_mail *m, struct buf *reply);

/*
 * smtpd_cmd_rcpt - the arguments of RCPT ("TO:<path> params") into R.
 * -1 with REPLY: "501 5.5.4 Syntax: RCPT TO:<address>", "501 5.1.3 Bad
 * recipient address syntax" (also for <>), "501 5.5.4 Error: Bad NOTIFY
 * parameter syntax", "501 5.5.4 Error: Bad ORCPT parameter syntax",
 * "555 5.5.4 Unsupported option: X".
 */
int smtpd_cmd_rcpt(struct span args, const struct smtpd_cmd_opts *o,
                   struct smtpd_rcpt *r, struct buf *reply);

/*
 * smtpd_cmd_bdat - the arguments of BDAT: "count [LAST]" (LAST in any
 * case).  -1 with REPLY "521 5.5.4 Syntax: BDAT count [LAST]" (the
 * daemon then disconnects) or, for a 0 count without LAST, "551 5.7.1
 * Null BDAT request".
 */
int smtpd_cmd_bdat(struct span args, uint64_t *count, bool *last,
                   struct buf *reply);

/*
 * smtpd_cmd_vrfy - the address of VRFY (bare or in <>) into ADDR; -1 with
 * "501 5.5.4 Syntax: VRFY address [SMTPUTF8]" or "501 5.1.3 Bad recipient
 * address syntax".
 */
int smtpd_cmd_vrfy(struct span args, const struct smtpd_cmd_opts *o,
                   struct buf *addr, struct buf *reply);

#endif
