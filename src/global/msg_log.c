#include "msg_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fs.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"

/* cat_value - VALUE with control characters as '?' (no line can break) */
static void cat_value(struct buf *out, const char *name, const char *value)
{
    buf_cat(out, name);
    buf_catc(out, '=');
    for (const unsigned char *p = (const unsigned char *) value; *p; p++)
        buf_catc(out, (*p < 0x20 || *p == 0x7f) ? '?' : *p);
    buf_catc(out, '\n');
}

/* msg_log_format - the bytes of one entry */
void msg_log_format(const struct msg_log_entry *e, struct buf *out)
{
    if (e->recipient == NULL || e->status == NULL || e->action == NULL
        || e->reason == NULL)
        msg_panic("msg_log_format: incomplete entry");
    /* The leading empty line ends a line torn by a crash, so that the
     * torn entry can never absorb this one (docs/QUEUE.md). */
    buf_catc(out, '\n');
    cat_value(out, "recipient", e->recipient);
    if (e->offset >= 0)
        buf_catf(out, "offset=%lld\n", e->offset);
    if (e->orig_rcpt != NULL)
        cat_value(out, "orig_rcpt", e->orig_rcpt);
    if (e->dsn_orig_rcpt != NULL)
        cat_value(out, "dsn_orig_rcpt", e->dsn_orig_rcpt);
    if (e->notify > 0)
        buf_catf(out, "notify=%d\n", e->notify);
    cat_value(out, "status", e->status);
    cat_value(out, "action", e->action);
    cat_value(out, "reason", e->reason);
    if (e->remote_mta != NULL)
        cat_value(out, "remote_mta", e->remote_mta);
    if (e->diag_code != NULL)
        cat_value(out, "diag_code", e->diag_code);
    buf_catc(out, '\n');
}

/* entry_reset - forget a partial entry */
static void entry_reset(struct msg_log_entry *e)
{
    mem_free(e->recipient);
    mem_free(e->orig_rcpt);
    mem_free(e->dsn_orig_rcpt);
    mem_free(e->status);
    mem_free(e->action);
    mem_free(e->reason);
    mem_free(e->remote_mta);
    mem_free(e->diag_code);
    memset(e, 0, sizeof(*e));
    e->offset = -1;
}

/* set_field - one "name=value" line into E; false when it is malformed */
static bool set_field(struct msg_log_entry *e, struct span line)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"recipient", offsetof(struct msg_log_entry, recipient)},
        {"orig_rcpt", offsetof(struct msg_log_entry, orig_rcpt)},
        {"dsn_orig_rcpt", offsetof(struct msg_log_entry, dsn_orig_rcpt)},
        {"status", offsetof(struct msg_log_entry, status)},
        {"action", offsetof(struct msg_log_entry, action)},
        {"reason", offsetof(struct msg_log_entry, reason)},
        {"remote_mta", offsetof(struct msg_log_entry, remote_mta)},
        {"diag_code", offsetof(struct msg_log_entry, diag_code)},
    };
    const char *eq = memchr(line.p, '=', line.len);
    struct span name;
    struct span value;
    char *text;
    long n;

    if (eq == NULL || eq == line.p || memchr(line.p, 0, line.len) != NULL)
        return false;
    name = span_make(line.p, (size_t) (eq - line.p));
    value = span_make(eq + 1, line.len - name.len - 1);
    for (size_t i = 0; i < NELEM(fields); i++) {
        char **slot = (char **) ((char *) e + fields[i].off);

        if (!span_eq(name, fields[i].name))
            continue;
        if (*slot != NULL)
            return false; /* twice in one entry: two entries ran together */
        *slot = span_dup(value);
        return true;
    }
    if (span_eq(name, "offset") || span_eq(name, "notify")) {
        text = span_dup(value);
        if (str_to_long(text, &n) < 0 || n < 0) {
            mem_free(text);
            return false;
        }
        mem_free(text);
        if (span_eq(name, "offset"))
            e->offset = n;
        else if (n <= 15)
            e->notify = (int) n;
        else
            return false;
    }
    return true; /* a name this version does not know */
}

/* msg_log_parse - the complete entries of FILE */
void msg_log_parse(struct span file, struct msg_log *log)
{
    struct msg_log_entry e;
    size_t cap = log->count;
    size_t pos = 0;
    bool open = false; /* an entry is in progress */
    bool bad = false;  /* ... and has a malformed line */

    memset(&e, 0, sizeof(e));
    e.offset = -1;
    while (pos < file.len) {
        const char *nl = memchr(file.p + pos, '\n', file.len - pos);
        size_t len = nl ? (size_t) (nl - (file.p + pos)) : file.len - pos;
        struct span line = span_make(file.p + pos, len);

        if (nl == NULL) {
            /* A last line without its LF is torn: its entry never ended. */
            break;
        }
        pos += len + 1;
        if (len == 0) {
            if (!open)
                continue;
            if (!bad && e.recipient && e.status && e.action && e.reason) {
                if (log->count == cap) {
                    cap = cap ? cap * 2 : 8;
                    log->entries =
                        mem_realloc(log->entries, cap * sizeof(*log->entries));
                }
                log->entries[log->count++] = e;
                memset(&e, 0, sizeof(e));
                e.offset = -1;
            } else {
                log->skipped++;
                entry_reset(&e);
            }
            open = bad = false;
            continue;
        }
        if (len > 10 && memcmp(line.p, "recipient=", 10) == 0 && open) {
            /* A new entry starts before the last one ended: that one was
             * torn by a crash (the writer starts each entry with an empty
             * line, so a complete entry is always ended first). */
            log->skipped++;
            entry_reset(&e);
            bad = false;
        }
        open = true;
        if (!set_field(&e, line))
            bad = true;
    }
    if (open)
        log->skipped++;
    entry_reset(&e);
}

/* msg_log_fini - free the entries */
void msg_log_fini(struct msg_log *log)
{
    for (size_t i = 0; i < log->count; i++)
        entry_reset(&log->entries[i]);
    mem_free(log->entries);
    memset(log, 0, sizeof(*log));
}

/* check_folder - F must be one of the log folders */
static void check_folder(enum queue_folder f)
{
    if (f != QUEUE_BOUNCE && f != QUEUE_DEFER && f != QUEUE_TRACE)
        msg_panic("msg_log: %s is not a log folder", queue_folder_name(f));
}

/* msg_log_append - one entry, one write, fsync */
int msg_log_append(const struct queue_dir *qd, enum queue_folder f,
                   const char *id, const struct msg_log_entry *e,
                   struct buf *why)
{
    struct buf path = BUF_INIT;
    struct buf text = BUF_INIT;
    struct stat st;
    bool created = false;
    int fd = -1;
    int rc = -1;

    check_folder(f);
    if (queue_dir_path(qd, f, id, &path, why) < 0
        || queue_dir_mkparent(qd, f, id, why) < 0)
        goto out;
    msg_log_format(e, &text);
    if ((fd = fs_safe_open(buf_str(&path), O_WRONLY | O_APPEND, 0, FS_ANY_OWNER,
                           &st, why))
        < 0) {
        if (errno != ENOENT)
            goto out;
        buf_reset(why);
        /* Another writer may create it first: then append to theirs. */
        fd =
            fs_safe_open(buf_str(&path), O_WRONLY | O_APPEND | O_CREAT | O_EXCL,
                         0600, FS_ANY_OWNER, &st, why);
        if (fd < 0 && errno == EEXIST) {
            buf_reset(why);
            fd = fs_safe_open(buf_str(&path), O_WRONLY | O_APPEND, 0,
                              FS_ANY_OWNER, &st, why);
        } else if (fd >= 0) {
            created = true;
        }
        if (fd < 0)
            goto out;
    }
    /* One write: O_APPEND writers of one file do not interleave. */
    if (fs_write_all(fd, buf_str(&text), buf_len(&text), buf_str(&path), why)
            < 0
        || fs_fsync(fd, buf_str(&path), why) < 0)
        goto out;
    if (created && fs_fsync_parent(buf_str(&path), why) < 0)
        goto out;
    rc = 0;
out:
    if (fd >= 0)
        (void) close(fd);
    buf_fini(&path);
    buf_fini(&text);
    return rc;
}

/* msg_log_read - the entries of one log file */
int msg_log_read(const struct queue_dir *qd, enum queue_folder f,
                 const char *id, struct msg_log *log, struct buf *why)
{
    struct buf path = BUF_INIT;
    struct buf data = BUF_INIT;
    int fd;
    int rc = -1;

    check_folder(f);
    if (queue_dir_path(qd, f, id, &path, why) < 0)
        goto out;
    if ((fd =
             fs_safe_open(buf_str(&path), O_RDONLY, 0, FS_ANY_OWNER, NULL, why))
        < 0) {
        if (errno == ENOENT) {
            buf_reset(why);
            rc = 0;
        }
        goto out;
    }
    if (fs_read_all(fd, MSG_LOG_MAX, &data, buf_str(&path), why) == 0) {
        msg_log_parse(span_make(buf_str(&data), buf_len(&data)), log);
        rc = 0;
    }
    (void) close(fd);
out:
    buf_fini(&path);
    buf_fini(&data);
    return rc;
}

/* msg_log_remove - remove one log file */
int msg_log_remove(const struct queue_dir *qd, enum queue_folder f,
                   const char *id, struct buf *why)
{
    struct buf path = BUF_INIT;
    int rc = -1;

    check_folder(f);
    if (queue_dir_path(qd, f, id, &path, why) < 0)
        goto out;
    if (unlink(buf_str(&path)) < 0) {
        if (errno == ENOENT)
            rc = 0;
        else
            buf_catf(why, "remove %s: %s", buf_str(&path), strerror(errno));
        goto out;
    }
    rc = fs_fsync_parent(buf_str(&path), why);
out:
    buf_fini(&path);
    return rc;
}
