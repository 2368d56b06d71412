/*
 * postqueue, mailq - list the mail queue, request delivery (postqueue(1)
 * of Postfix 3.7).
 *
 * postqueue [-v] [-c config_dir] -p | -j | -f | -i queue_id | -s site
 * mailq [-v] [-C config_dir]
 *
 * -p (and mailq) prints the sendmail-style listing with Postfix's columns,
 * markers ('*' active, '!' hold) and trailer; -j prints one JSON object
 * per message with exactly the members of Postfix 3.1+.  The listing reads
 * the queue folders directly (maildrop, active, incoming, deferred, hold,
 * Postfix's order) and the deferral reasons from the defer/ logs
 * (msg_log.h), in the order showq uses: the recipients of the defer log
 * with their reasons first, then the other undelivered recipients
 * ("reason unavailable" when there is a defer log).
 *
 * -f, -i and -s ask the queue manager for a delivery (flush_clnt.h),
 * after Postfix's argument checks; when it cannot be reached they end as
 * Postfix's postqueue does with the mail system down: "Cannot flush mail
 * queue - mail system is down".  Every fatal error
 * exits with status 69 (EX_UNAVAILABLE), as Postfix's postqueue.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/htable.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "../global/conf.h"
#include "../global/domain_list.h"
#include "../global/flush_clnt.h"
#include "../global/mail_log.h"
#include "../global/msg_log.h"
#include "../global/queue_dir.h"
#include "../global/queue_file.h"
#include "cmd.h"

/* The largest queue file the listing reads into memory. */
#define LIST_MAX ((size_t) 1 << 30)

/* The width the reasons are right-aligned to, as Postfix's showq. */
#define REASON_WIDTH 78

/* One recipient as listed. */
struct shown {
    const char *address; /* borrowed from the envelope or the defer log */
    const char *reason;  /* NULL: none */
};

/* exit_unavailable - postqueue's fatal errors exit with EX_UNAVAILABLE */
static void exit_unavailable(int status)
{
    (void) status;
    fflush(stdout);
    exit(EX_UNAVAILABLE);
}

/* usage - Postfix's usage line */
static ULAK_NORETURN void usage(void)
{
    msg_fatal("usage: postqueue -f | postqueue -i queueid | postqueue -j | "
              "postqueue -p | postqueue -s site");
}

/* json_str - S as a JSON string: quotes, backslashes and control
 * characters escaped, bytes that are not UTF-8 as '?' */
static void json_str(struct buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *) s;

    buf_catc(out, '"');
    while (*p) {
        size_t n = 0;

        if (*p == '"' || *p == '\\') {
            buf_catc(out, '\\');
            buf_catc(out, *p++);
            continue;
        }
        if (*p < 0x20 || *p == 0x7f) {
            buf_catf(out, "\\u%04x", *p++);
            continue;
        }
        if (*p < 0x80) {
            buf_catc(out, *p++);
            continue;
        }
        n = str_utf8_shape((const char *) p);
        if (n == 0) {
            buf_catc(out, '?');
            p++;
        } else {
            buf_catn(out, p, n);
            p += n;
        }
    }
    buf_catc(out, '"');
}

/* safe - TEXT for a terminal: control characters as '?' (into OUT) */
static const char *safe(struct buf *out, const char *text)
{
    buf_reset(out);
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        buf_catc(out, (*p < 0x20 || *p == 0x7f) ? '?' : *p);
    return buf_str(out);
}

/* print_text - one message in the sendmail-style listing */
static void print_text(const struct queue_dir *qd, enum queue_folder f,
                       const char *id, const struct queue_env *env, bool forced,
                       const struct shown *r, size_t n)
{
    char date[64];
    char idm[QUEUE_ID_SIZE + 2];
    time_t when = (time_t) env->arrival.tv_sec;
    const char *prev = NULL;
    int indent = qd->long_ids ? 47 : 41;
    struct buf text = BUF_INIT;
    struct tm tm;

    if (localtime_r(&when, &tm) == NULL
        || strftime(date, sizeof(date), "%a %b %e %H:%M:%S", &tm) == 0)
        date[0] = 0;
    (void) str_fmt(idm, sizeof(idm), "%s%s", id,
                   f == QUEUE_ACTIVE ? "*"
                   : f == QUEUE_HOLD ? "!"
                   : forced          ? "#"
                                     : "");
    if (qd->long_ids)
        printf("%-17s %8lld %-19s %s\n", idm, env->message_size, date,
               *env->sender ? safe(&text, env->sender) : "MAILER-DAEMON");
    else
        printf("%-11s %7lld %-20s %s\n", idm, env->message_size, date,
               *env->sender ? safe(&text, env->sender) : "MAILER-DAEMON");
    for (size_t i = 0; i < n; i++) {
        if (r[i].reason != NULL
            && (prev == NULL || strcmp(prev, r[i].reason) != 0)) {
            size_t len = strlen(r[i].reason) + 2;

            printf("%*s(%s)\n",
                   len < REASON_WIDTH ? (int) (REASON_WIDTH - len) : 0, "",
                   safe(&text, r[i].reason));
        }
        prev = r[i].reason;
        printf("%*s%s\n", indent, "", safe(&text, r[i].address));
    }
    putchar('\n');
    buf_fini(&text);
}

/* print_json - one message as a JSON object on one line */
static void print_json(enum queue_folder f, const char *id,
                       const struct queue_env *env, bool forced,
                       const struct shown *r, size_t n)
{
    struct buf out = BUF_INIT;

    buf_cat(&out, "{\"queue_name\": ");
    json_str(&out, queue_folder_name(f));
    buf_cat(&out, ", \"queue_id\": ");
    json_str(&out, id);
    buf_catf(&out,
             ", \"arrival_time\": %lld, \"message_size\": %lld, "
             "\"forced_expire\": %s, \"sender\": ",
             (long long) env->arrival.tv_sec, env->message_size,
             forced ? "true" : "false");
    json_str(&out, *env->sender ? env->sender : "MAILER-DAEMON");
    buf_cat(&out, ", \"recipients\": [");
    for (size_t i = 0; i < n; i++) {
        buf_cat(&out, i ? ", {\"address\": " : "{\"address\": ");
        json_str(&out, r[i].address);
        if (r[i].reason != NULL) {
            buf_cat(&out, ", \"delay_reason\": ");
            json_str(&out, r[i].reason);
        }
        buf_catc(&out, '}');
    }
    buf_cat(&out, "]}\n");
    fwrite(buf_str(&out), 1, buf_len(&out), stdout);
    buf_fini(&out);
}

/* show_message - list one queue file; false when it was not listed */
static bool show_message(const struct queue_dir *qd, enum queue_folder f,
                         const char *id, const char *path, bool json,
                         struct buf *data, long long *total)
{
    struct queue_env env;
    struct msg_log log;
    struct buf why = BUF_INIT;
    struct htable *seen = htable_new(16);
    struct shown *r;
    size_t n = 0;
    bool have_log;
    bool shown = false;
    bool forced;
    struct stat st;
    int fd = -1;

    memset(&log, 0, sizeof(log));
    switch (queue_file_read(path, O_RDONLY, LIST_MAX, &fd, data, &env, &why)) {
        case QUEUE_READ_OK:
            break;
        case QUEUE_READ_GONE:
            goto out; /* delivered or moved while we listed */
        case QUEUE_READ_CORRUPT:
        case QUEUE_READ_ERROR:
            msg_warn("%s: %s", id, buf_str(&why));
            goto out;
    }
    /* postsuper -e/-f marks the file with the group execute bit. */
    forced = fstat(fd, &st) == 0 && (st.st_mode & S_IXGRP) != 0;
    (void) close(fd);
    if (msg_log_read(qd, QUEUE_DEFER, id, &log, &why) < 0) {
        msg_warn("%s: %s", id, buf_str(&why));
        msg_log_fini(&log);
    }
    have_log = log.count > 0;
    r = mem_calloc(log.count + env.nrcpt + 1, sizeof(*r));
    /* The deferred recipients with their reasons, in log order... */
    for (size_t i = 0; i < log.count; i++) {
        r[n].address = log.entries[i].recipient;
        r[n++].reason = log.entries[i].reason;
        (void) htable_enter(seen, log.entries[i].recipient, NULL);
    }
    /* ... then the others that are still to be delivered. */
    for (size_t i = 0; i < env.nrcpt; i++) {
        if (env.rcpts[i].done || htable_locate(seen, env.rcpts[i].address))
            continue;
        r[n].address = env.rcpts[i].address;
        /* "reason unavailable" is mailq's text, not a reason for -j. */
        r[n++].reason = have_log && !json ? "reason unavailable" : NULL;
    }
    if (json)
        print_json(f, id, &env, forced, r, n);
    else
        print_text(qd, f, id, &env, forced, r, n);
    *total += env.message_size;
    shown = true;
    mem_free(r);
out:
    queue_env_fini(&env);
    msg_log_fini(&log);
    htable_free(seen, NULL);
    buf_fini(&why);
    return shown;
}

/* postqueue_list - the queue listing (-p, or -j with JSON) */
int postqueue_list(bool json)
{
    static const enum queue_folder order[] = {
        QUEUE_MAILDROP, QUEUE_ACTIVE, QUEUE_INCOMING,
        QUEUE_DEFERRED, QUEUE_HOLD,
    };
    struct queue_dir qd;
    struct buf why = BUF_INIT;
    struct buf path = BUF_INIT;
    struct buf data = BUF_INIT;
    long long total = 0;
    long count = 0;
    const char *id;

    cmd_queue_access("authorized_mailq_users", "view");

    if (queue_dir_init_conf(&qd, &why) < 0)
        msg_fatal("%s", buf_str(&why));
    if (chdir(qd.top) < 0)
        msg_fatal("chdir %s: %m", qd.top);
    for (size_t i = 0; i < NELEM(order); i++) {
        struct queue_scan *s;

        buf_reset(&why);
        if ((s = queue_scan_open(&qd, order[i], &why)) == NULL) {
            msg_warn("%s", buf_str(&why));
            continue;
        }
        while ((id = queue_scan_next(s, &path)) != NULL) {
            if (count == 0 && !json)
                puts(qd.long_ids
                         ? "----Queue ID----- --Size-- ---Arrival Time---- "
                           "--Sender/Recipient------"
                         : "-Queue ID-  --Size-- ----Arrival Time---- "
                           "-Sender/Recipient-------");
            if (show_message(&qd, order[i], id, buf_str(&path), json, &data,
                             &total))
                count++;
        }
        if (queue_scan_error(s) != NULL)
            msg_warn("%s", queue_scan_error(s));
        queue_scan_close(s);
    }
    if (!json) {
        if (count == 0)
            puts("Mail queue is empty");
        else
            printf("-- %lld Kbytes in %ld Request%s.\n", total / 1024, count,
                   count == 1 ? "" : "s");
    }
    fflush(stdout);
    queue_dir_fini(&qd);
    buf_fini(&why);
    buf_fini(&path);
    buf_fini(&data);
    return ferror(stdout) ? 1 : 0;
}

/* valid_site - a destination that postqueue -s accepts: a host name
 * (letters, digits, '-' and '_' in dot-separated labels, none empty, none
 * starting or ending with '-') or an address literal in [] */
static bool valid_site(const char *s)
{
    size_t len = strlen(s);
    size_t label = 0;

    if (len == 0 || len > 255)
        return false;
    if (s[0] == '[')
        return len > 2 && s[len - 1] == ']'
               && strcspn(s + 1, "[] \t\"\\") == len - 2;
    for (size_t i = 0; i <= len; i++) {
        char c = s[i];

        if (c == '.' || c == 0) {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || (c == '-' && label)))
            return false;
        if (++label > 63)
            return false;
    }
    return true;
}

/* flush_eligible - whether fast_flush_domains names SITE (as Postfix's
 * flush service decides: a host name list) */
static enum lk_result flush_eligible(const char *site)
{
    struct domain_list *dl = domain_list_new(
        "fast_flush_domains", conf_str("fast_flush_domains"), DOMAIN_LIST_HOST);
    enum lk_result r = domain_list_match(dl, site);

    domain_list_free(dl);
    return r;
}

static ULAK_NORETURN void flush_down(void);

/* flush - one flush request to the queue manager (flush_clnt.h): silent
 * success as Postfix's postqueue, or its "mail system is down" */
static int flush(const char *queue_id, const char *site)
{
    struct buf why = BUF_INIT;

    cmd_queue_access("authorized_flush_users", "flush");
    if (flush_clnt_request(queue_id, site, &why) < 0) {
        if (msg_verbose)
            msg_info("flush: %s", buf_str(&why));
        flush_down();
    }
    buf_fini(&why);
    return 0;
}

/* flush_down - what postqueue says when no queue manager is there */
static ULAK_NORETURN void flush_down(void)
{
    msg_fatal("Cannot flush mail queue - mail system is down");
}

/* load - main.cf and logging */
static void load(const char *prog)
{
    struct buf why = BUF_INIT;

    cmd_setgid_policy();
    if (conf_load(&why) < 0)
        msg_fatal("%s", buf_str(&why));
    buf_reset(&why);
    if (mail_log_init(prog, &why) < 0)
        msg_warn("%s", buf_str(&why));
    buf_fini(&why);
}

/* postqueue_main - the postqueue command */
int postqueue_main(int argc, char **argv)
{
    const char *arg = NULL;
    int action = 0;
    int ch;

    msg_init(argc > 0 ? argv[0] : "postqueue");
    msg_set_exit_hook(exit_unavailable);
    while ((ch = getopt(argc, argv, "c:fi:jps:v")) != -1) {
        switch (ch) {
            case 'c':
                conf_set_dir(optarg);
                break;
            case 'f':
            case 'j':
            case 'p':
                if (action != 0)
                    usage();
                action = ch;
                break;
            case 'i':
            case 's':
                if (action != 0)
                    usage();
                action = ch;
                arg = optarg;
                break;
            case 'v':
                msg_verbose++;
                break;
            default:
                usage();
        }
    }
    if (action == 0 || optind < argc)
        usage();
    load("postqueue");
    switch (action) {
        case 'p':
        case 'j':
            return postqueue_list(action == 'j');
        case 'i':
            if (!queue_id_valid(arg))
                msg_fatal("Cannot flush queue ID - invalid name: \"%s\"", arg);
            return flush(arg, NULL);
        case 's':
            if (!valid_site(arg))
                msg_fatal("Cannot flush mail queue - invalid destination: "
                          "\"%s\"",
                          arg);
            /* A table that cannot answer is no "no": the flush service
             * decides then. */
            if (flush_eligible(arg) == LK_NOTFOUND)
                msg_fatal("Flush service is not configured for destination "
                          "\"%s\"",
                          arg);
            return flush(NULL, arg);
        default:
            return flush(NULL, NULL);
    }
}

/* mailq_main - mailq: the sendmail-style listing (sendmail -bp) */
int mailq_main(int argc, char **argv)
{
    int ch;

    msg_init(argc > 0 ? argv[0] : "mailq");
    while ((ch = getopt(argc, argv, "C:c:v")) != -1) {
        switch (ch) {
            case 'C':
            case 'c':
                conf_set_dir(optarg);
                break;
            case 'v':
                msg_verbose++;
                break;
            default:
                msg_fatal("usage: mailq [-v] [-C config_dir]");
        }
    }
    /* Postfix's mailq is postqueue -p: its messages say postqueue. */
    msg_init("postqueue");
    msg_set_exit_hook(exit_unavailable);
    load("postqueue");
    return postqueue_list(false);
}
