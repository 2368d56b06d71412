/*
 * sendmail - the Sendmail-compatible way in for locally submitted mail
 * (sendmail(1) of Postfix 3.7, with postdrop's work done in-process).
 *
 * Modes: -bm (the default: submit), -bi / -I (newaliases), -bp and the
 * name mailq (postqueue -p), -bs (SMTP on standard input and output:
 * smtpd in stand-alone mode, the same session code as on the network),
 * -bv (address verification: the recipients are queued with the
 * attribute verify, the message itself is not read (with -t only its
 * header); the qmgr asks each delivery agent how it would deliver them
 * and mails the "Mail Delivery Status Report" to the sender), -q,
 * -qRsite, -qIid (postqueue -f, -s site, -i id), -bd / -bl / -bh / -bH
 * (refused, as Postfix refuses what it does not support).
 *
 * Submission reads the message from standard input (a line "." ends it
 * unless -i / -oi; CR before LF is removed; a missing final newline is
 * added), and writes it with the queue writer into maildrop/: arrival
 * time, the sender (-f / -r, else the invoking user's login name, not
 * rewritten: pickup's cleanup does that), the attributes rewrite_context=
 * local, sender_fullname (-F, else the GECOS name as Postfix takes it) and
 * uid, -V envid, -R ret, recipients with -N notify; with -t the
 * recipients of To:, Cc: and Bcc: in the extracted section (added to those
 * of the command line, as Postfix 2.1+ does) and the Bcc: headers
 * removed.  After the commit it writes "W" to public/pickup; a pickup that
 * is not running leaves the file in maildrop/, as in Postfix.
 *
 * Errors: fatal errors exit with EX_TEMPFAIL, as Postfix's sendmail does
 * (its msg_fatal does that), and go to the log as well as to stderr.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

#include "../lib/argv.h"
#include "../lib/buf.h"
#include "../lib/dict.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/priv.h"
#include "../lib/str.h"
#include "../global/addr.h"
#include "../global/conf.h"
#include "../global/mail_log.h"
#include "../global/queue_dir.h"
#include "../global/queue_file.h"
#include "../global/trigger.h"
#include "../smtpd/smtpd.h"
#include "cmd.h"

/* sysexits.h values (Postfix's sendmail uses them) */
#define EX_OK_          0
#define EX_USAGE_       64
#define EX_DATAERR_     65
#define EX_NOUSER_      67
#define EX_UNAVAILABLE_ 69
#define EX_SOFTWARE_    70
#define EX_TEMPFAIL_    75

/* The largest header block that -t reads for recipients. */
#define SENDMAIL_HDR_MAX ADDR_HDR_MAX_LEN

enum sm_mode {
    SM_MODE_ENQUEUE,
    SM_MODE_NEWALIAS,
    SM_MODE_MAILQ,
    SM_MODE_STREAM,
    SM_MODE_VERIFY,
    SM_MODE_FLUSH,
};

struct sendmail {
    enum sm_mode mode;
    const char *sender;   /* -f / -r as given, or NULL */
    const char *fullname; /* -F / -oF, or NULL */
    const char *envid;    /* -V */
    const char *oa;       /* -oA alias database */
    int notify;           /* -N: QUEUE_NOTIFY_* or 0 */
    int ret;              /* -R: QUEUE_RET_* or 0 */
    bool dot;             /* a lone "." ends the input (no -i) */
    bool extract;         /* -t */
    int verbose;
    const char *qflag;   /* -q: the postqueue flag (-f, -s, -i) */
    const char *qarg;    /* and its argument */
    struct argv *rcpts;  /* internal forms, from the arguments */
    struct argv *xrcpts; /* from To/Cc/Bcc (-t) */
    struct argv *rrcpts; /* from Resent-To/Cc/Bcc (-t) */
    bool resent;         /* the message has Resent- headers */
};

/* tempfail_exit - Postfix's sendmail fatal errors exit with EX_TEMPFAIL */
static void tempfail_exit(int status)
{
    (void) status;
    exit(EX_TEMPFAIL_);
}

/* usage - the fatal usage line */
static ULAK_NORETURN void usage(void)
{
    msg_fatal("usage: sendmail [options]");
}

/* parse_notify - the -N list "never" or "success,delay,failure" */
static int parse_notify(const char *arg)
{
    struct argv *words = argv_split(arg, ", \t");
    int bits = 0;
    bool never = false;

    for (size_t i = 0; i < words->argc; i++) {
        const char *w = words->argv[i];

        if (strcasecmp(w, "never") == 0)
            never = true;
        else if (strcasecmp(w, "success") == 0)
            bits |= QUEUE_NOTIFY_SUCCESS;
        else if (strcasecmp(w, "failure") == 0)
            bits |= QUEUE_NOTIFY_FAILURE;
        else if (strcasecmp(w, "delay") == 0)
            bits |= QUEUE_NOTIFY_DELAY;
        else {
            msg_warn("unknown DSN NOTIFY command value \"%s\" in \"%s\"", w,
                     arg);
            argv_free(words);
            return -1;
        }
    }
    argv_free(words);
    if (never && bits != 0) {
        msg_warn("bad DSN NOTIFY value \"%s\": NEVER with others", arg);
        return -1;
    }
    if (!never && bits == 0)
        return -1;
    return never ? QUEUE_NOTIFY_NEVER : bits;
}

/* add_addrs - the addresses of list TEXT (header syntax, so "a, b" and
 * "Name <a>" work as in Postfix) to OUT; -1 with WHY */
static int add_addrs(struct span text, struct argv *out, struct buf *why)
{
    struct addr_hdr_list l;
    int ret;

    addr_hdr_init(&l);
    ret = addr_parse_header(text, &l, why);
    for (size_t i = 0; ret == 0 && i < l.n; i++)
        if (l.v[i].addr[0] != 0)
            argv_add(out, l.v[i].addr);
    addr_hdr_free(&l);
    return ret;
}

/* parse_sender - the -f argument in internal form, as Postfix's sendmail
 * reads it: "<>" is the null sender, "Name <a@b>" is a@b, quotes are
 * removed; more than one address or a parse error is fatal */
static char *parse_sender(const char *arg)
{
    struct addr_hdr_list l;
    struct buf why = BUF_INIT;
    char *out;

    addr_hdr_init(&l);
    if (addr_parse_header(span_of(arg), &l, &why) < 0)
        msg_fatal("bad sender address \"%s\": %s", arg, buf_str(&why));
    if (l.n > 1)
        msg_fatal("bad sender address \"%s\": more than one address", arg);
    out = mem_strdup(l.n ? l.v[0].addr : "");
    addr_hdr_free(&l);
    buf_fini(&why);
    return out;
}

/* login_name - the invoking user's login name and GECOS full name */
static void login_name(struct buf *login, struct buf *gecos)
{
    struct passwd *pw = getpwuid(getuid());

    buf_reset(login);
    buf_reset(gecos);
    if (pw == NULL) {
        msg_fatal("no login name found for user ID %lu",
                  (unsigned long) getuid());
    }
    buf_set(login, pw->pw_name);
    /* The GECOS name up to the first comma, '&' as the capitalized login
     * name (what Postfix's sendmail takes as the default full name). */
    for (const char *p = pw->pw_gecos ? pw->pw_gecos : ""; *p && *p != ',';
         p++) {
        if (*p == '&') {
            for (const char *q = pw->pw_name; *q; q++)
                buf_catc(gecos,
                         q == pw->pw_name ? toupper((unsigned char) *q) : *q);
        } else {
            buf_catc(gecos, *p);
        }
    }
}

/* sendmail_fix_line_endings */
#define FIX_ALWAYS 0
#define FIX_STRICT 1
#define FIX_NEVER  2

/*
 * The input: lines from standard input, CR LF folded to LF, a lone "."
 * ending it unless -i.  Long lines are kept whole (the queue writer splits
 * them); the total is bounded by message_size_limit.
 */
struct input {
    FILE *fp;
    bool dot;
    bool eof;
    long long total;
    long long limit; /* 0: none */
    int crlf;        /* sendmail_fix_line_endings: FIX_* */
    bool first;      /* the next line is the first one */
    bool too_big;    /* the input passed LIMIT: the rest is not read */
    bool read_error; /* reading standard input failed */
};

/* input_line - the next line without its LF into LINE: 1, or 0 at the end */
static int input_line(struct input *in, struct buf *line)
{
    int c;

    buf_reset(line);
    if (in->eof)
        return 0;
    while ((c = getc_unlocked(in->fp)) != EOF && c != '\n') {
        buf_catc(line, c);
        if (in->limit > 0
            && in->total + (long long) buf_len(line) > in->limit) {
            in->too_big = true;
            in->eof = true;
            return 0;
        }
    }
    if (c == EOF) {
        if (ferror(in->fp)) {
            in->read_error = true;
            return 0;
        }
        in->eof = true;
        if (buf_len(line) == 0)
            return 0;
        /* A missing final newline is added. */
    }
    if (buf_len(line) > 0 && buf_str(line)[buf_len(line) - 1] == '\r') {
        /* strict: only when the first line ended in CR LF. */
        if (in->first && in->crlf == FIX_STRICT)
            in->crlf = FIX_ALWAYS;
        if (in->crlf == FIX_ALWAYS)
            buf_truncate(line, buf_len(line) - 1);
    }
    if (in->first && in->crlf == FIX_STRICT)
        in->crlf = FIX_NEVER;
    in->first = false;
    if (in->dot && buf_len(line) == 1 && buf_str(line)[0] == '.') {
        in->eof = true;
        return 0;
    }
    in->total += (long long) buf_len(line) + 1;
    return 1;
}

/* is_header - LINE starts a header field: a name of printable characters
 * other than ':' followed by ':' (white space before the colon allowed,
 * as in Postfix's is_header) */
static size_t header_name_len(const char *p, size_t len)
{
    size_t i = 0;

    while (i < len && p[i] > ' ' && p[i] < 127 && p[i] != ':')
        i++;
    if (i == 0)
        return 0;
    size_t j = i;
    while (j < len && (p[j] == ' ' || p[j] == '\t'))
        j++;
    return j < len && p[j] == ':' ? i : 0;
}

/* header_is - whether the header in HDR is called NAME */
static bool header_is(const char *hdr, size_t len, const char *name)
{
    size_t n = header_name_len(hdr, len);

    return n == strlen(name) && strncasecmp(hdr, name, n) == 0;
}

/* header_value - the span after the colon */
static struct span header_value(const char *hdr, size_t len)
{
    const char *colon = memchr(hdr, ':', len);

    return span_make(colon + 1, len - (size_t) (colon + 1 - hdr));
}

/* extract_header - with -t: the recipients of one logical header HDR
 * (To, Cc, Bcc into xrcpts; Resent-To, -Cc, -Bcc into rrcpts: when the
 * message has Resent- headers, only those count, as in Postfix); true
 * when the header is to be dropped (Bcc, Resent-Bcc) */
static bool extract_header(struct sendmail *sm, const struct buf *hdr)
{
    static const char *const names[] = {"to",        "cc",        "bcc",
                                        "resent-to", "resent-cc", "resent-bcc"};
    struct buf why = BUF_INIT;
    size_t n = header_name_len(buf_str(hdr), buf_len(hdr));

    if (n > 7 && strncasecmp(buf_str(hdr), "resent-", 7) == 0)
        sm->resent = true;
    for (size_t i = 0; i < NELEM(names); i++) {
        if (!header_is(buf_str(hdr), buf_len(hdr), names[i]))
            continue;
        if (add_addrs(header_value(buf_str(hdr), buf_len(hdr)),
                      i < 3 ? sm->xrcpts : sm->rrcpts, &why)
            < 0)
            msg_warn("%s: header %s: %s", msg_progname(), names[i],
                     buf_str(&why));
        buf_fini(&why);
        return i == 2 || i == 5;
    }
    buf_fini(&why);
    return false;
}

/* flush_header - one logical header into the spool (lines split at LF) */
static void flush_header(struct queue_writer *w, const struct buf *hdr)
{
    const char *p = buf_str(hdr);
    const char *end = p + buf_len(hdr);

    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);

        if (w)
            (void) queue_writer_line(w, p, n);
        if (nl == NULL)
            break;
        p = nl + 1;
    }
}

/* copy_content - standard input into W: headers (for -t), the body mark,
 * the body; W NULL: read the headers for -t only.  -1 when the input is
 * larger than message_size_limit, -2 on a read error (errno). */
static int copy_content(struct sendmail *sm, struct queue_writer *w)
{
    struct input in = {.fp = stdin, .dot = sm->dot, .first = true};
    const char *fix = conf_str("sendmail_fix_line_endings");
    struct buf line = BUF_INIT;
    struct buf hdr = BUF_INIT;
    bool in_headers = true;
    bool have_hdr = false;
    int more;

    in.limit = conf_size("message_size_limit");
    if (strcasecmp(fix, "strict") == 0)
        in.crlf = FIX_STRICT;
    else if (strcasecmp(fix, "never") == 0)
        in.crlf = FIX_NEVER;
    else if (strcasecmp(fix, "always") != 0)
        msg_warn("bad sendmail_fix_line_endings value \"%s\" -- using "
                 "\"always\"",
                 fix);
    if (w)
        (void) queue_writer_content_begin(w);
    while ((more = input_line(&in, &line)) == 1) {
        const char *p = buf_str(&line);
        size_t n = buf_len(&line);

        if (in_headers) {
            if (have_hdr && n > 0 && (p[0] == ' ' || p[0] == '\t')
                && buf_len(&hdr) < SENDMAIL_HDR_MAX) {
                buf_catc(&hdr, '\n');
                buf_catn(&hdr, p, n);
                continue;
            }
            if (have_hdr) {
                if (!(sm->extract && extract_header(sm, &hdr)))
                    flush_header(w, &hdr);
                have_hdr = false;
            }
            if (n > 0 && header_name_len(p, n) > 0) {
                buf_reset(&hdr);
                buf_catn(&hdr, p, n);
                have_hdr = true;
                continue;
            }
            in_headers = false;
            if (w == NULL) /* -bv -t: only the headers matter */
                break;
            (void) queue_writer_body_begin(w);
        }
        (void) queue_writer_line(w, p, n);
    }
    if (have_hdr && !(sm->extract && extract_header(sm, &hdr)))
        flush_header(w, &hdr);
    if (w)
        (void) queue_writer_content_end(w);
    if (sm->resent) {
        struct argv *t = sm->xrcpts;

        sm->xrcpts = sm->rrcpts;
        sm->rrcpts = t;
    }
    buf_fini(&line);
    buf_fini(&hdr);
    return in.read_error ? -2 : in.too_big ? -1 : 0;
}

/* write_rcpts - the recipient records of LIST */
static void write_rcpts(const struct sendmail *sm, struct queue_writer *w,
                        const struct argv *list)
{
    for (size_t i = 0; i < list->argc; i++) {
        struct queue_rcpt_in r = {.address = list->argv[i],
                                  .notify = sm->notify};

        (void) queue_writer_rcpt(w, &r);
    }
}

/* verify_content - sendmail -bv without -t: the message is not read;
 * the queued request has an empty content, as Postfix's */
static int verify_content(struct queue_writer *w)
{
    (void) queue_writer_content_begin(w);
    (void) queue_writer_content_end(w);
    return 0;
}

/* enqueue - the message into maildrop/, then wake pickup */
static int enqueue(struct sendmail *sm)
{
    struct queue_dir qd;
    struct queue_writer *w;
    struct buf why = BUF_INIT;
    struct buf login = BUF_INIT;
    struct buf gecos = BUF_INIT;
    struct buf text = BUF_INIT;
    struct timeval now;
    char *sender;
    char id[64];

    login_name(&login, &gecos);
    if (!cmd_user_allowed("authorized_submit_users", buf_str(&login)))
        msg_fatal("User %s(%lu) is not allowed to submit mail", buf_str(&login),
                  (unsigned long) getuid());
    /* Envelope records hold no line breaks: refuse them here, with a
     * clear reason, rather than fail at commit. */
    if (sm->sender && strpbrk(sm->sender, "\r\n"))
        msg_fatal("bad sender address: line break in \"%s\"", sm->sender);
    if (sm->fullname && strpbrk(sm->fullname, "\r\n"))
        msg_fatal("bad full name: line break in -F argument");
    for (size_t i = 0; i < sm->rcpts->argc; i++)
        if (strpbrk(sm->rcpts->argv[i], "\r\n"))
            msg_fatal("bad recipient address: line break in \"%s\"",
                      sm->rcpts->argv[i]);
    if (!sm->extract && sm->rcpts->argc == 0)
        msg_fatal("%s(%lu): Recipient addresses must be specified on the "
                  "command line or via the -t option",
                  buf_str(&login), (unsigned long) getuid());
    /* Everything that can fail on the input is checked before the queue
     * file exists. */
    sender =
        sm->sender ? parse_sender(sm->sender) : mem_strdup(buf_str(&login));
    if (queue_dir_init_conf(&qd, &why) < 0)
        msg_fatal("%s", buf_str(&why));
    if ((w = queue_writer_open(&qd, QUEUE_MAILDROP, &why)) == NULL)
        msg_fatal("%s(%lu): unable to create a queue file: %s", buf_str(&login),
                  (unsigned long) getuid(), buf_str(&why));
    str_copy(id, sizeof(id), queue_writer_id(w));
    gettimeofday(&now, NULL);
    (void) queue_writer_time(w, &now);
    (void) queue_writer_sender(w, sender);
    mem_free(sender);
    (void) queue_writer_attr(w, "rewrite_context", "local");
    if (sm->fullname ? sm->fullname[0] != 0 : buf_len(&gecos) > 0)
        (void) queue_writer_attr(w, "sender_fullname",
                                 sm->fullname ? sm->fullname : buf_str(&gecos));
    buf_setf(&text, "%lu", (unsigned long) getuid());
    (void) queue_writer_attr(w, "uid", buf_str(&text));
    if (sm->envid)
        (void) queue_writer_envid(w, sm->envid);
    if (sm->ret)
        (void) queue_writer_ret(w, sm->ret);
    if (sm->mode == SM_MODE_VERIFY)
        (void) queue_writer_attr(w, "verify", "1");
    else if (sm->verbose > 0)
        (void) queue_writer_attr(w, "trace", "1");
    write_rcpts(sm, w, sm->rcpts);
    switch (sm->mode == SM_MODE_VERIFY && !sm->extract ? verify_content(w)
                                                       : copy_content(sm, w)) {
        case -1:
            queue_writer_abort(w);
            msg_fatal("%s(%lu): message file too big", buf_str(&login),
                      (unsigned long) getuid());
        case -2:
            queue_writer_abort(w);
            msg_fatal("%s(%lu): error reading input: %m", buf_str(&login),
                      (unsigned long) getuid());
        default:
            break;
    }
    if (sm->extract) {
        if (sm->xrcpts->argc == 0 && sm->rcpts->argc == 0) {
            queue_writer_abort(w);
            msg_fatal("%s(%lu): No recipient addresses found in message "
                      "header",
                      buf_str(&login), (unsigned long) getuid());
        }
        write_rcpts(sm, w, sm->xrcpts);
    }
    if (queue_writer_commit(w, &why) < 0)
        msg_fatal("%s(%lu): unable to queue the message: %s", buf_str(&login),
                  (unsigned long) getuid(), buf_str(&why));
    msg_debug(1, "%s: queued in maildrop", id);
    if (sm->mode == SM_MODE_VERIFY || sm->verbose > 0)
        printf("Mail Delivery Status Report will be mailed to <%s>.\n",
               sm->sender ? sm->sender : buf_str(&login));
    trigger_path("public", conf_str("pickup_service_name"), &text);
    if (trigger_send(buf_str(&text), "W", 1, &why) < 0)
        msg_debug(1, "no pickup wakeup: %s", buf_str(&why));
    queue_dir_fini(&qd);
    buf_fini(&why);
    buf_fini(&login);
    buf_fini(&gecos);
    buf_fini(&text);
    return EX_OK_;
}

/* run_newaliases - -bi / -I: newaliases with -C, -oA and -v passed on */
static int run_newaliases(struct sendmail *sm)
{
    struct argv *args = argv_new();
    struct buf oa = BUF_INIT;
    int status = EX_SOFTWARE_;

    argv_add(args, "newaliases");
    if (conf_dir()) {
        argv_add(args, "-C");
        argv_add(args, conf_dir());
    }
    if (sm->oa) {
        buf_setf(&oa, "-oA%s", sm->oa);
        argv_add(args, buf_str(&oa));
    }
    for (int i = 0; i < sm->verbose; i++)
        argv_add(args, "-v");
    status = newaliases_main((int) args->argc, args->argv);
    argv_free(args);
    buf_fini(&oa);
    return status;
}

/* run_postqueue - -bp and -q as Postfix's sendmail runs them: postqueue
 * with -c and FLAG (and ARG), in this process */
static int run_postqueue(const char *flag, const char *arg)
{
    struct argv *args = argv_new();
    int status;

    argv_add(args, "postqueue");
    argv_add(args, "-c");
    argv_add(args, conf_dir());
    argv_add(args, flag);
    if (arg)
        argv_add(args, arg);
    optind = 0; /* postqueue parses its own options afresh */
    status = postqueue_main((int) args->argc, args->argv);
    argv_free(args);
    return status;
}

/* sendmail_main - parse the options, then do what the mode says */
int sendmail_main(int argc, char **argv)
{
    struct sendmail sm = {.mode = SM_MODE_ENQUEUE, .dot = true};
    const char *prog = argc > 0 ? argv[0] : "sendmail";
    const char *base = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
    struct buf why = BUF_INIT;
    int ch;
    int status = EX_SOFTWARE_;

    msg_init("sendmail");
    msg_set_exit_hook(tempfail_exit);
    sm.rcpts = argv_new();
    sm.xrcpts = argv_new();
    sm.rrcpts = argv_new();
    if (strcmp(base, "mailq") == 0)
        sm.mode = SM_MODE_MAILQ;
    else if (strcmp(base, "newaliases") == 0)
        sm.mode = SM_MODE_NEWALIAS;

    /* Postfix's option letters; getopt stops at the first recipient
     * ("+" keeps GNU getopt from permuting). */
    opterr = 1;
    while ((ch = getopt(argc, argv,
                        "+B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q::tvx"))
           != -1) {
        switch (ch) {
            case 'B': /* body type: ignored (as Postfix) */
            case 'G': /* gateway submission: ignored */
            case 'L': /* syslog label: ignored */
            case 'O': /* option=value: ignored */
            case 'U': /* initial user submission: ignored */
            case 'X': /* traffic log file: ignored */
            case 'c': /* ignored */
            case 'e': /* error mode: ignored */
            case 'h': /* hop count: ignored */
            case 'm': /* ignored */
            case 'n': /* no aliasing: ignored */
            case 'x': /* ignored */
            case 'p': /* protocol: ignored */
                break;
            case 'C':
                conf_set_dir(optarg);
                break;
            case 'F':
                sm.fullname = optarg;
                break;
            case 'I':
                sm.mode = SM_MODE_NEWALIAS;
                break;
            case 'N':
                if ((sm.notify = parse_notify(optarg)) < 0) {
                    msg_warn("bad -N option value -- ignored");
                    sm.notify = 0;
                }
                break;
            case 'R':
                if (strcasecmp(optarg, "full") == 0)
                    sm.ret = QUEUE_RET_FULL;
                else if (strcasecmp(optarg, "hdrs") == 0)
                    sm.ret = QUEUE_RET_HDRS;
                else
                    msg_warn("bad -R option value -- ignored");
                break;
            case 'V':
                if (optarg[0] == 0 || strlen(optarg) > 100
                    || strpbrk(optarg, "\r\n") != NULL) {
                    msg_warn("bad -V option value -- ignored");
                    break;
                }
                sm.envid = optarg;
                break;
            case 'b':
                switch (optarg[0]) {
                    case 'm':
                        sm.mode = SM_MODE_ENQUEUE;
                        break;
                    case 'i':
                        sm.mode = SM_MODE_NEWALIAS;
                        break;
                    case 'p':
                        sm.mode = SM_MODE_MAILQ;
                        break;
                    case 's':
                        sm.mode = SM_MODE_STREAM;
                        break;
                    case 'v':
                        sm.mode = SM_MODE_VERIFY;
                        break;
                    default:
                        msg_fatal("unsupported: -b%s", optarg);
                }
                break;
            case 'f':
            case 'r':
                sm.sender = optarg;
                break;
            case 'i':
                sm.dot = false;
                break;
            case 'o':
                switch (optarg[0]) {
                    case 'i':
                        sm.dot = false;
                        break;
                    case 'A':
                        if (optarg[1] == 0)
                            msg_fatal("-oA requires pathname");
                        sm.oa = optarg + 1;
                        break;
                    case 'F':
                        sm.fullname = optarg + 1;
                        break;
                    default: /* -o7 -o8 -oB -om -oX...: ignored */
                        break;
                }
                break;
            case 'q':
                /* -q: postqueue -f; -qRsite: postqueue -s site; -qIid:
                 * postqueue -i id; -q with a time ("-q15m") is ignored,
                 * as Postfix ignores it. */
                if (optarg == NULL) {
                    sm.mode = SM_MODE_FLUSH;
                    sm.qflag = "-f";
                } else if (optarg[0] == 'R' && optarg[1]) {
                    sm.mode = SM_MODE_FLUSH;
                    sm.qflag = "-s";
                    sm.qarg = optarg + 1;
                } else if (optarg[0] == 'I' && optarg[1]) {
                    sm.mode = SM_MODE_FLUSH;
                    sm.qflag = "-i";
                    sm.qarg = optarg + 1;
                }
                break;
            case 't':
                sm.extract = true;
                break;
            case 'v':
                /* -v: a report of the first delivery attempt by mail;
                 * -v -v: verbose logging as well (Postfix) */
                if (sm.verbose++ > 0)
                    msg_verbose++;
                break;
            default:
                usage();
        }
    }
    /* The set-group-ID group is for writing maildrop/ and waking pickup
     * and qmgr: newaliases and -bs run without it. */
    if (sm.mode != SM_MODE_ENQUEUE && sm.mode != SM_MODE_VERIFY
        && sm.mode != SM_MODE_MAILQ && sm.mode != SM_MODE_FLUSH)
        priv_drop_setgid();
    cmd_setgid_policy();
    if (conf_load(&why) < 0)
        msg_fatal("%s", buf_str(&why));
    if (mail_log_init("sendmail", &why) < 0)
        msg_warn("%s", buf_str(&why));

    for (int i = optind; i < argc; i++) {
        if (sm.mode != SM_MODE_ENQUEUE && sm.mode != SM_MODE_VERIFY)
            break;
        if (add_addrs(span_of(argv[i]), sm.rcpts, &why) < 0)
            msg_fatal("bad recipient address \"%s\": %s", argv[i],
                      buf_str(&why));
    }

    switch (sm.mode) {
        case SM_MODE_ENQUEUE:
            status = enqueue(&sm);
            break;
        case SM_MODE_VERIFY:
            status = enqueue(&sm);
            break;
        case SM_MODE_NEWALIAS:
            status = run_newaliases(&sm);
            break;
        case SM_MODE_MAILQ:
            status = run_postqueue("-p", NULL);
            break;
        case SM_MODE_FLUSH:
            status = run_postqueue(sm.qflag, sm.qarg);
            break;
        case SM_MODE_STREAM: {
            /* A copy: smtpd's option parsing sets the directory again. */
            char *dir = mem_strdup(conf_dir());
            char *args[] = {(char *) "smtpd", (char *) "-S", (char *) "-c", dir,
                            NULL};

            status = smtpd_main(4, args);
            mem_free(dir);
            break;
        }
    }
    argv_free(sm.rcpts);
    argv_free(sm.xrcpts);
    argv_free(sm.rrcpts);
    buf_fini(&why);
    return status;
}
