/*
 * postcat - show queue file contents (postcat(1) of Postfix 3.7).
 *
 * postcat [-bdehoqv] [-c config_dir] [files...]: print each queue file (or
 * standard input) in the section and label format of Postfix's postcat;
 * -q takes queue IDs and looks them up in the queue folders.  The file
 * format is ulak's (docs/QUEUE.md); each record type is printed with the
 * label Postfix uses for the same information.  A file that does not start
 * with a size record is "not a valid queue file" (a warning, as in
 * Postfix); a damaged one is printed up to the damage, then reported and
 * ends the run with status 1 ("record read error", as Postfix).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/msg.h"
#include "../global/conf.h"
#include "../global/queue_dir.h"
#include "../global/queue_file.h"
#include "cmd.h"

/* The largest queue file postcat reads into memory. */
#define POSTCAT_MAX ((size_t) 1 << 30)

enum {
    SHOW_BODY = 1,
    SHOW_ENV = 2,
    SHOW_HDR = 4,
};

struct postcat {
    int show;
    bool offsets; /* -o */
    bool types;   /* -d */
};

/* usage - Postfix's usage line */
static ULAK_NORETURN void usage(void)
{
    msg_fatal(
        "usage: postcat [-b (body text)] [-c config_dir] [-d (decimal record type)] [-e (envelope records)] [-h (header text)] [-q (access queue)] [-v] [file(s)...]");
}

/* prefix - the -o offset and -d type columns */
static void prefix(const struct postcat *pc, const struct queue_rec *r)
{
    if (pc->offsets)
        printf("%9zu ", r->offset);
    if (pc->types)
        printf("%3d ", r->type);
}

/* print_time - Postfix's ctime-like form, local time */
static void print_time(const char *label, long long t)
{
    char text[64];
    time_t when = (time_t) t;
    struct tm tm;

    if (localtime_r(&when, &tm) == NULL
        || strftime(text, sizeof(text), "%a %b %e %H:%M:%S %Y", &tm) == 0)
        printf("%s: %lld\n", label, t);
    else
        printf("%s: %s\n", label, text);
}

/* print_data - the data of a record as it is */
static void print_data(struct span d)
{
    fwrite(d.p, 1, d.len, stdout);
}

/* print_env - one envelope record, with Postfix's label */
static void print_env(const struct postcat *pc, const struct queue_rec *r)
{
    static const struct {
        int type;
        const char *label;
    } labels[] = {
        {QUEUE_REC_SIZE, "message_size: "},
        {QUEUE_REC_FROM, "sender: "},
        {QUEUE_REC_ENVID, "named_attribute: envelope_id="},
        {QUEUE_REC_RET, "named_attribute: ret_flags="},
        {QUEUE_REC_ATTR, "named_attribute: "},
        {QUEUE_REC_ORIG, "original_recipient: "},
        {QUEUE_REC_ORCPT, "named_attribute: dsn_orig_rcpt="},
        {QUEUE_REC_NOTIFY, "named_attribute: notify_flags="},
        {QUEUE_REC_RCPT, "recipient: "},
        {QUEUE_REC_DONE, "done_recipient: "},
    };
    long long t;

    prefix(pc, r);
    if (r->type == QUEUE_REC_TIME || r->type == QUEUE_REC_WARN) {
        /* Digits only up to the '.' (T) or after the padding (W). */
        t = 0;
        for (size_t i = 0; i < r->data.len && r->data.p[i] != '.'; i++)
            if (r->data.p[i] >= '0' && r->data.p[i] <= '9')
                t = t * 10 + (r->data.p[i] - '0');
        if (r->type == QUEUE_REC_TIME)
            print_time("message_arrival_time", t);
        else if (t != 0)
            print_time("warning_message_time", t);
        else
            printf("warning_message_time: 0\n");
        return;
    }
    for (size_t i = 0; i < NELEM(labels); i++) {
        if (labels[i].type == r->type) {
            fputs(labels[i].label, stdout);
            print_data(r->data);
            putchar('\n');
            return;
        }
    }
    printf("record type %d: ", r->type);
    print_data(r->data);
    putchar('\n');
}

/* show - print FILE (named NAME) as the options ask; -1 when damaged */
static int show(const struct postcat *pc, struct span file, const char *name)
{
    struct queue_env env;
    struct buf why = BUF_INIT;
    struct buf line = BUF_INIT;
    struct queue_rec r;
    size_t end = file.len;
    size_t off = 0;
    bool env_ok;
    bool in_content = false;
    bool in_body = false;
    bool in_line = false; /* C pieces joined so far */
    int rc = 0;

    if (file.len == 0 || file.p[0] != QUEUE_REC_SIZE) {
        msg_warn("%s: input is not a valid queue file", name);
        return 0;
    }
    env_ok = queue_file_parse(file, &env, &why) == 0;
    if (!env_ok)
        end = env.bad_offset;
    queue_env_fini(&env);

    if (pc->show & SHOW_ENV)
        printf("*** ENVELOPE RECORDS %s ***\n", name);
    while (off < end && queue_rec_next(file, &off, &r, &why) > 0) {
        bool want;

        switch (r.type) {
            case QUEUE_REC_MESSAGE:
                in_content = true;
                if (pc->show & SHOW_ENV) {
                    prefix(pc, &r);
                    printf("*** MESSAGE CONTENTS %s ***\n", name);
                }
                continue;
            case QUEUE_REC_BODY:
                in_body = true;
                continue;
            case QUEUE_REC_XTRA:
                in_content = false;
                if (pc->show & SHOW_ENV) {
                    prefix(pc, &r);
                    printf("*** HEADER EXTRACTED %s ***\n", name);
                }
                continue;
            case QUEUE_REC_END:
                if (pc->show & SHOW_ENV) {
                    prefix(pc, &r);
                    printf("*** MESSAGE FILE END %s ***\n", name);
                }
                continue;
            default:
                break;
        }
        if (!in_content) {
            if (pc->show & SHOW_ENV)
                print_env(pc, &r);
            continue;
        }
        want = (pc->show & (in_body ? SHOW_BODY : SHOW_HDR)) != 0;
        if (!want)
            continue;
        if (pc->offsets || pc->types) {
            /* One output line per record, as Postfix's -o does. */
            prefix(pc, &r);
            print_data(r.data);
            putchar('\n');
            continue;
        }
        buf_catspan(&line, r.data);
        in_line = r.type == QUEUE_REC_CONT;
        if (!in_line) {
            fwrite(buf_str(&line), 1, buf_len(&line), stdout);
            putchar('\n');
            buf_reset(&line);
        }
    }
    if (!env_ok) {
        fflush(stdout);
        msg_warn("%s: %s", name, buf_str(&why));
        rc = -1;
    }
    buf_fini(&why);
    buf_fini(&line);
    return rc;
}

/* open_queue - the queue file of ID, and its name relative to the queue */
static int open_queue(const struct queue_dir *qd, const char *id,
                      struct buf *name)
{
    struct buf path = BUF_INIT;
    struct buf why = BUF_INIT;
    enum queue_folder f;
    size_t top = strlen(qd->top);
    int fd;

    if (!queue_id_valid(id))
        msg_fatal("bad mail queue ID: %s", id);
    if (queue_dir_find(qd, id, &f, &path, &why) < 0) {
        errno = ENOENT;
        msg_fatal("open queue file %s: %m", id);
    }
    if ((fd = fs_safe_open(buf_str(&path), O_RDONLY, 0, FS_ANY_OWNER, NULL,
                           &why))
        < 0)
        msg_fatal("open queue file %s: %s", id, buf_str(&why));
    buf_set(name, buf_str(&path) + top + (buf_str(&path)[top] == '/'));
    buf_fini(&path);
    buf_fini(&why);
    return fd;
}

/* postcat_main - the postcat command */
int postcat_main(int argc, char **argv)
{
    struct postcat pc = {0};
    struct queue_dir qd;
    struct buf why = BUF_INIT;
    struct buf data = BUF_INIT;
    struct buf name = BUF_INIT;
    bool by_id = false;
    bool have_qd = false;
    int status = 0;
    int ch;

    msg_init(argc > 0 ? argv[0] : "postcat");
    while ((ch = getopt(argc, argv, "bc:dehoqv")) != -1) {
        switch (ch) {
            case 'b':
                pc.show |= SHOW_BODY;
                break;
            case 'c':
                conf_set_dir(optarg);
                break;
            case 'd':
                pc.types = true;
                break;
            case 'e':
                pc.show |= SHOW_ENV;
                break;
            case 'h':
                pc.show |= SHOW_HDR;
                break;
            case 'o':
                pc.offsets = true;
                break;
            case 'q':
                by_id = true;
                break;
            case 'v':
                msg_verbose++;
                break;
            default:
                usage();
        }
    }
    if (pc.show == 0)
        pc.show = SHOW_BODY | SHOW_ENV | SHOW_HDR;
    if (conf_load(&why) < 0)
        msg_fatal("%s", buf_str(&why));
    if (by_id) {
        buf_reset(&why);
        if (queue_dir_init_conf(&qd, &why) < 0)
            msg_fatal("%s", buf_str(&why));
        have_qd = true;
    }

    if (optind >= argc) {
        buf_reset(&why);
        if (fs_read_all(0, POSTCAT_MAX, &data, "stdin", &why) < 0)
            msg_fatal("%s", buf_str(&why));
        if (show(&pc, span_make(buf_str(&data), buf_len(&data)), "stdin") < 0)
            msg_fatal("record read error");
    }
    for (int i = optind; i < argc; i++) {
        int fd;

        if (by_id) {
            fd = open_queue(&qd, argv[i], &name);
        } else {
            if ((fd = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0)
                msg_fatal("open %s: %m", argv[i]);
            buf_set(&name, argv[i]);
        }
        buf_reset(&why);
        if (queue_file_load(fd, POSTCAT_MAX, &data, buf_str(&name), &why) < 0)
            msg_fatal("%s", buf_str(&why));
        (void) close(fd);
        if (show(&pc, span_make(buf_str(&data), buf_len(&data)), buf_str(&name))
            < 0)
            msg_fatal("record read error");
    }
    fflush(stdout);
    if (have_qd)
        queue_dir_fini(&qd);
    buf_fini(&why);
    buf_fini(&data);
    buf_fini(&name);
    return status;
}
