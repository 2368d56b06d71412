/*
 * postsuper - queue maintenance (postsuper(1) of Postfix 3.7).
 *
 * postsuper [-psSv] [-c config_dir] [-d queue_id] [-e queue_id]
 *           [-f queue_id] [-h queue_id] [-H queue_id] [-r queue_id]
 *           [directory ...]
 *
 * Works on the files of the queue directly, whether or not the mail system
 * runs (a move is one rename, so a queue manager sees a file in the old or
 * the new folder, never neither):
 *
 *   -r ID  requeue: hold, incoming, active, deferred -> maildrop
 *   -d ID  delete:  hold, incoming, active, deferred, maildrop (and its
 *          logs)
 *   -h ID  hold:    incoming, active, deferred -> hold
 *   -H ID  release: hold -> deferred
 *   -e ID  expire:  hold, incoming, active, deferred: the file is marked
 *          (group execute bit, as Postfix); the qmgr returns the message
 *          to its sender at its next attempt ("ID: expired"; a message
 *          already marked is not counted)
 *   -f ID  -e, then -H
 *
 * ID "ALL" means every message of those folders (or of the folders named
 * after the options), "-" reads the IDs from standard input, one a line.
 * The requests run in command-line order, as in Postfix.
 * Each message named by its ID is logged ("ID: removed", "ID: placed on
 * hold", "ID: released from hold", "ID: requeued"; for ALL, as in Postfix,
 * only the summary), each operation asked for ends with Postfix's summary
 * ("Deleted: 3 messages").  -s (also the default when no
 * option is given) checks the structure: queue files whose names do not
 * match their inode numbers are renamed (with their logs), long names
 * become short ones when enable_long_queue_ids is off, files at the wrong
 * hashing depth are moved, sub-folders no longer used are removed, and
 * names that are not queue IDs are reported ("bogus file name").  -S
 * checks the inode part of long names as well.  -p removes temporary files
 * of writers that died (tmp.PID.N of a process that is gone, or older than
 * a day).  -s, -S and -p run before the other operations.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/argv.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/priv.h"
#include "../lib/str.h"
#include "../global/conf.h"
#include "../global/mail_log.h"
#include "../global/msg_log.h"
#include "../global/queue_dir.h"
#include "../global/queue_id.h"
#include "../global/trigger.h"
#include "cmd.h"

/* A temporary file older than this is stale even if its PID is in use. */
#define TEMP_MAX_AGE (24 * 3600)

enum op {
    OP_REQUEUE,
    OP_DELETE,
    OP_EXPIRE,
    OP_HOLD,
    OP_RELEASE,
};
#define OP_COUNT 5
/* OP_EXPIRE's target: the file stays, marked (the group execute bit, as
 * Postfix marks it); the qmgr returns it to the sender at its next
 * attempt, with the reasons of its last deferral. */
#define OP_MARK  (-2)

/* What each operation does and says, in the order Postfix runs them. */
static const struct op_info {
    char opt;
    const char *done;    /* the per-message log line */
    const char *summary; /* the summary line */
    int target;          /* folder moved to; -1: removed */
    enum queue_folder from[5];
    size_t nfrom;
} ops[OP_COUNT] = {
    [OP_REQUEUE] = {'r',
                    "requeued",
                    "Requeued",
                    QUEUE_MAILDROP,
                    {QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED},
                    4},
    /* Postfix's manual omits maildrop, its postsuper includes it. */
    [OP_DELETE] = {'d',
                   "removed",
                   "Deleted",
                   -1,
                   {QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED,
                    QUEUE_MAILDROP},
                   5},
    [OP_EXPIRE] = {'e',
                   "expired",
                   "Force-expired",
                   OP_MARK,
                   {QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED},
                   4},
    [OP_HOLD] = {'h',
                 "placed on hold",
                 "Placed on hold",
                 QUEUE_HOLD,
                 {QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED},
                 3},
    [OP_RELEASE] = {'H',
                    "released from hold",
                    "Released from hold",
                    QUEUE_DEFERRED,
                    {QUEUE_HOLD},
                    1},
};

/* Which folders an operation may take messages from when named. */
static bool op_may_use(enum op op, enum queue_folder f)
{
    switch (op) {
        case OP_DELETE:
            return f == QUEUE_MAILDROP || f == QUEUE_INCOMING
                   || f == QUEUE_ACTIVE || f == QUEUE_DEFERRED
                   || f == QUEUE_HOLD;
        case OP_REQUEUE:
            return f == QUEUE_INCOMING || f == QUEUE_ACTIVE
                   || f == QUEUE_DEFERRED || f == QUEUE_HOLD;
        case OP_EXPIRE:
            return f == QUEUE_HOLD || f == QUEUE_INCOMING || f == QUEUE_ACTIVE
                   || f == QUEUE_DEFERRED;
        case OP_HOLD:
            return f == QUEUE_INCOMING || f == QUEUE_ACTIVE
                   || f == QUEUE_DEFERRED;
        case OP_RELEASE:
            return f == QUEUE_HOLD;
    }
    return false;
}

static const enum queue_folder log_folders[] = {QUEUE_BOUNCE, QUEUE_DEFER,
                                                QUEUE_TRACE};

struct postsuper {
    struct queue_dir qd;
    /* The -d/-h/-H/-r requests in command-line order (Postfix's order of
     * work): each is the option letter, then the ID. */
    struct argv *requests;
    bool asked[OP_COUNT];
    bool named[QUEUE_FOLDER_COUNT]; /* the directory arguments */
    bool any_named;
    bool structure;  /* -s */
    bool long_check; /* -S */
    bool purge;      /* -p */
    size_t top_len;  /* strlen(qd.top) + 1: for names relative to it */
};

/* usage - Postfix's usage line, without the options ulak lacks */
static ULAK_NORETURN void usage(void)
{
    msg_fatal(
        "usage: postsuper [-c config_dir] [-d queue_id (delete)] [-e queue_id (expire)] [-f queue_id (expire and/or un-hold)] [-h queue_id (hold)] [-H queue_id (un-hold)] [-p (purge temporary files)] [-r queue_id (requeue)] [-s (structure fix)] [-S (redundant structure fix)][-v (verbose)] [queue...]");
}

/* rel - PATH relative to the queue directory, for messages */
static const char *rel(const struct postsuper *ps, const char *path)
{
    return strlen(path) >= ps->top_len ? path + ps->top_len : path;
}

/* plural - "1 message", "2 messages" */
static const char *plural(long n)
{
    return n == 1 ? "" : "s";
}

/* remove_logs - the bounce, defer and trace logs of ID */
static void remove_logs(const struct postsuper *ps, const char *id)
{
    struct buf why = BUF_INIT;

    for (size_t i = 0; i < NELEM(log_folders); i++) {
        buf_reset(&why);
        if (msg_log_remove(&ps->qd, log_folders[i], id, &why) < 0)
            msg_warn("%s: %s", id, buf_str(&why));
    }
    buf_fini(&why);
}

/* apply - do OP to the queue file ID at PATH; true when done.  Like
 * Postfix, only a message named by its ID gets its own line (QUIET for
 * ALL: then the summary says it). */
static bool apply(const struct postsuper *ps, enum op op, const char *path,
                  const char *id, bool quiet)
{
    struct buf why = BUF_INIT;
    bool ok = false;

    if (ops[op].target == OP_MARK) {
        struct stat st;

        /* An expired message is not counted again (Postfix). */
        if (lstat(path, &st) < 0) {
            if (errno != ENOENT)
                msg_warn("%s: %m", rel(ps, path));
        } else if ((st.st_mode & S_IXGRP) == 0) {
            if (chmod(path, (st.st_mode & 07777) | S_IXGRP) < 0)
                msg_warn("%s: chmod: %m", rel(ps, path));
            else
                ok = true;
        }
    } else if (ops[op].target < 0) {
        if (unlink(path) < 0) {
            if (errno != ENOENT)
                msg_warn("remove %s: %m", rel(ps, path));
        } else if (fs_fsync_parent(path, &why) < 0) {
            msg_warn("%s: %s", id, buf_str(&why));
            ok = true; /* removed, only not yet durably */
        } else {
            ok = true;
        }
        if (ok)
            remove_logs(ps, id);
    } else if (queue_dir_move_path(&ps->qd, path,
                                   (enum queue_folder) ops[op].target, id, &why)
               < 0) {
        if (errno != ENOENT)
            msg_warn("%s: %s", id, buf_str(&why));
    } else {
        ok = true;
        /* A requeued message starts over: its old reasons no longer
         * apply. */
        if (op == OP_REQUEUE)
            remove_logs(ps, id);
    }
    if (ok && !quiet) {
        /* Postfix's per-message line, on stderr and in the mail log. */
        msg_info("%s: %s", id, ops[op].done);
    }
    buf_fini(&why);
    return ok;
}

/* looks_like_id - Postfix warns only about IDs with characters no queue
 * file name has; other unknown IDs just match nothing */
static bool looks_like_id(const char *id)
{
    if (*id == 0)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z')
              || (*p >= 'a' && *p <= 'z') || *p == '_'))
            return false;
    return true;
}

/* sources - the folders OP takes messages from */
static size_t sources(const struct postsuper *ps, enum op op,
                      enum queue_folder *out)
{
    size_t n = 0;

    if (!ps->any_named) {
        for (size_t i = 0; i < ops[op].nfrom; i++)
            out[n++] = ops[op].from[i];
        return n;
    }
    for (int f = 0; f < QUEUE_FOLDER_COUNT; f++)
        if (ps->named[f] && op_may_use(op, (enum queue_folder) f))
            out[n++] = (enum queue_folder) f;
    return n;
}

/* run_one - OP for ID (or ALL); the number of messages done */
static long run_one(const struct postsuper *ps, enum op op, const char *id)
{
    enum queue_folder from[QUEUE_FOLDER_COUNT];
    size_t nfrom = sources(ps, op, from);
    struct buf path = BUF_INIT;
    struct buf why = BUF_INIT;
    long count = 0;

    if (strcmp(id, "ALL") == 0) {
        for (size_t j = 0; j < nfrom; j++) {
            struct queue_scan *s;
            const char *found;

            buf_reset(&why);
            if ((s = queue_scan_open(&ps->qd, from[j], &why)) == NULL) {
                msg_warn("%s", buf_str(&why));
                continue;
            }
            while ((found = queue_scan_next(s, &path)) != NULL)
                count += apply(ps, op, buf_str(&path), found, true);
            if (queue_scan_error(s) != NULL)
                msg_warn("%s", queue_scan_error(s));
            queue_scan_close(s);
        }
    } else if (!queue_id_valid(id)) {
        if (!looks_like_id(id))
            msg_warn("invalid mail queue id: %s", id);
    } else {
        for (size_t j = 0; j < nfrom; j++) {
            struct stat st;

            buf_reset(&why);
            if (queue_dir_path(&ps->qd, from[j], id, &path, &why) < 0)
                break;
            if (lstat(buf_str(&path), &st) == 0 && S_ISREG(st.st_mode)) {
                count += apply(ps, op, buf_str(&path), id, false);
                break;
            }
        }
    }
    buf_fini(&path);
    buf_fini(&why);
    return count;
}

/* run_requests - every request in command-line order, then one summary
 * per operation asked for, in Postfix's order */
static void run_requests(const struct postsuper *ps)
{
    long count[OP_COUNT] = {0};

    for (size_t i = 0; i < ps->requests->argc; i++) {
        const char *r = ps->requests->argv[i];

        for (int op = 0; op < OP_COUNT; op++)
            if (ops[op].opt == r[0])
                count[op] += run_one(ps, (enum op) op, r + 1);
    }
    for (int op = 0; op < OP_COUNT; op++)
        if (ps->asked[op])
            msg_info("%s: %ld message%s", ops[op].summary, count[op],
                     plural(count[op]));
    /* Requeued mail waits in maildrop/: wake pickup now rather than at its
     * next periodic scan (no pickup listening is fine, as for sendmail). */
    if (count[OP_REQUEUE] > 0) {
        struct buf path = BUF_INIT;
        struct buf why = BUF_INIT;

        trigger_path("public", conf_str("pickup_service_name"), &path);
        if (trigger_send(buf_str(&path), "W", 1, &why) < 0)
            msg_debug(1, "no pickup wakeup: %s", buf_str(&why));
        buf_fini(&path);
        buf_fini(&why);
    }
}

/* read_stdin_ids - the queue IDs on standard input, one a line, as
 * requests for the operation with option letter OPT */
static void read_stdin_ids(struct argv *ids, char opt)
{
    struct buf data = BUF_INIT;
    struct buf why = BUF_INIT;
    const char *p;
    const char *end;

    if (fs_read_all(0, (size_t) 64 << 20, &data, "standard input", &why) < 0)
        msg_fatal("%s", buf_str(&why));
    p = buf_str(&data);
    end = p + buf_len(&data);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);

        struct buf r = BUF_INIT;

        buf_catc(&r, opt);
        buf_catn(&r, p, len);
        argv_addn(ids, buf_str(&r), buf_len(&r));
        buf_fini(&r);
        p += len + 1;
    }
    buf_fini(&data);
    buf_fini(&why);
}

/*
 * The structure check.
 */

/* An entry found by the walk, processed after the folder was read. */
struct found {
    char *path; /* owned */
    char *id;   /* owned */
};

/* is_hash_name - a one-hex-digit sub-folder name */
static bool is_hash_name(const char *name)
{
    return name[0] != 0 && name[1] == 0
           && ((name[0] >= '0' && name[0] <= '9')
               || (name[0] >= 'A' && name[0] <= 'F'));
}

/* temp_pid - the PID of a writer's temporary name tmp.PID.N; -1 if not */
static long temp_pid(const char *name)
{
    const char *dot;
    char pid[24];
    long n;
    long seq;

    if (strncmp(name, "tmp.", 4) != 0 || (dot = strchr(name + 4, '.')) == NULL
        || (size_t) (dot - name - 4) >= sizeof(pid) || dot == name + 4)
        return -1;
    memcpy(pid, name + 4, (size_t) (dot - name - 4));
    pid[dot - name - 4] = 0;
    if (str_to_long(pid, &n) < 0 || n <= 0 || str_to_long(dot + 1, &seq) < 0
        || seq < 0 || strspn(pid, "0123456789") != strlen(pid)
        || strspn(dot + 1, "0123456789") != strlen(dot + 1))
        return -1;
    return n;
}

/* walk - collect the queue files under DIR (LEVEL sub-folders deep),
 * report bogus names, remove sub-folders that hashing no longer uses */
static void walk(const struct postsuper *ps, enum queue_folder f,
                 const char *dir, int level, struct found **list, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct buf sub = BUF_INIT;
    struct stat st;

    if (d == NULL) {
        if (errno != ENOENT)
            msg_warn("open folder %s: %m", rel(ps, dir));
        return;
    }
    while ((errno = 0, de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        buf_setf(&sub, "%s/%s", dir, de->d_name);
        if (lstat(buf_str(&sub), &st) < 0)
            continue; /* gone since readdir */
        if (S_ISDIR(st.st_mode) && is_hash_name(de->d_name)
            && level < QUEUE_ID_HASH_MAX) {
            walk(ps, f, buf_str(&sub), level + 1, list, n);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            /* No queue folder has such a sub-folder. */
            if (rmdir(buf_str(&sub)) < 0)
                msg_warn("bogus file name: %s", rel(ps, buf_str(&sub)));
            continue;
        }
        if (level == 0 && temp_pid(de->d_name) > 0 && S_ISREG(st.st_mode))
            continue; /* a writer's temporary file: -p */
        if (!S_ISREG(st.st_mode) || !queue_id_valid(de->d_name)) {
            msg_warn("bogus file name: %s", rel(ps, buf_str(&sub)));
            continue;
        }
        *list = mem_realloc(*list, (*n + 1) * sizeof(**list));
        (*list)[*n].path = mem_strdup(buf_str(&sub));
        (*list)[*n].id = mem_strdup(de->d_name);
        (*n)++;
    }
    if (errno != 0)
        msg_warn("read folder %s: %m", rel(ps, dir));
    (void) closedir(d);
    buf_fini(&sub);
}

/* prune - remove the sub-folders under DIR (LEVEL deep) that the current
 * hashing does not use, once they are empty */
static void prune(const struct postsuper *ps, enum queue_folder f,
                  const char *dir, int level)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct buf sub = BUF_INIT;
    struct buf why = BUF_INIT;
    struct argv *names = argv_new();

    if (d == NULL)
        goto out;
    while ((de = readdir(d)) != NULL)
        if (is_hash_name(de->d_name))
            argv_add(names, de->d_name);
    (void) closedir(d);
    for (size_t i = 0; i < names->argc; i++) {
        buf_setf(&sub, "%s/%s", dir, names->argv[i]);
        if (level >= QUEUE_ID_HASH_MAX)
            continue;
        prune(ps, f, buf_str(&sub), level + 1);
        if ((!ps->qd.hashed[f] || level >= ps->qd.depth)
            && rmdir(buf_str(&sub)) == 0)
            (void) fs_fsync_dir(dir, &why);
    }
out:
    argv_free(names);
    buf_fini(&sub);
    buf_fini(&why);
}

/* inode_id - the name the queue file ID with inode INO should have, into
 * OUT; false when ID is right as it is */
static bool inode_id(const struct postsuper *ps, const char *id, ino_t ino,
                     char *out, size_t size)
{
    struct timeval tv = {0, 0};
    unsigned long usec;
    char digits[6];

    if (queue_id_is_long(id)) {
        if (queue_id_time(id, &tv) < 0)
            return false;
        if (ps->qd.long_ids && !ps->long_check)
            return false;
        queue_id_make(out, size, ps->qd.long_ids, &tv, ino);
    } else {
        memcpy(digits, id, 5);
        digits[5] = 0;
        usec = strtoul(digits, NULL, 16);
        tv.tv_usec = (suseconds_t) usec;
        queue_id_make(out, size, false, &tv, ino);
    }
    return strcmp(out, id) != 0;
}

/* rename_logs - the logs of OLD_ID follow their message to NEW_ID */
static void rename_logs(const struct postsuper *ps, const char *old_id,
                        const char *new_id)
{
    struct buf from = BUF_INIT;
    struct buf why = BUF_INIT;
    struct stat st;

    for (size_t i = 0; i < NELEM(log_folders); i++) {
        buf_reset(&why);
        if (queue_dir_path(&ps->qd, log_folders[i], old_id, &from, &why) < 0
            || lstat(buf_str(&from), &st) < 0)
            continue;
        if (queue_dir_move_path(&ps->qd, buf_str(&from), log_folders[i], new_id,
                                &why)
            < 0)
            msg_warn("%s: %s", old_id, buf_str(&why));
    }
    buf_fini(&from);
    buf_fini(&why);
}

/* fix_file - rename one queue file to match its inode, and move it to
 * where the hashing puts it; true when it was renamed */
static bool fix_file(const struct postsuper *ps, enum queue_folder f,
                     const struct found *e)
{
    struct buf want = BUF_INIT;
    struct buf why = BUF_INIT;
    char new_id[QUEUE_ID_SIZE];
    const char *id = e->id;
    bool is_log = f == QUEUE_BOUNCE || f == QUEUE_DEFER || f == QUEUE_TRACE;
    bool renamed = false;
    struct stat st;

    if (lstat(e->path, &st) < 0 || !S_ISREG(st.st_mode))
        goto out;
    if (!is_log && inode_id(ps, id, st.st_ino, new_id, sizeof(new_id))) {
        if (queue_dir_move_path(&ps->qd, e->path, f, new_id, &why) < 0) {
            msg_warn("%s: %s", id, buf_str(&why));
            goto out;
        }
        rename_logs(ps, id, new_id);
        renamed = true;
        goto out;
    }
    if (queue_dir_path(&ps->qd, f, id, &want, &why) < 0)
        goto out;
    if (strcmp(buf_str(&want), e->path) != 0
        && queue_dir_move_path(&ps->qd, e->path, f, id, &why) < 0)
        msg_warn("%s: %s", rel(ps, e->path), buf_str(&why));
out:
    buf_fini(&want);
    buf_fini(&why);
    return renamed;
}

/* folder_wanted - a folder for -s and -p: all, or those named */
static bool folder_wanted(const struct postsuper *ps, int f)
{
    if (f == QUEUE_CORRUPT)
        return false; /* left as it is, for the administrator */
    return !ps->any_named || ps->named[f];
}

/* structure - the -s and -S check */
static void structure(const struct postsuper *ps)
{
    struct buf dir = BUF_INIT;
    long renamed = 0;

    for (int f = 0; f < QUEUE_FOLDER_COUNT; f++) {
        struct found *list = NULL;
        size_t n = 0;

        if (!folder_wanted(ps, f))
            continue;
        queue_dir_folder_path(&ps->qd, (enum queue_folder) f, &dir);
        walk(ps, (enum queue_folder) f, buf_str(&dir), 0, &list, &n);
        for (size_t i = 0; i < n; i++) {
            renamed += fix_file(ps, (enum queue_folder) f, &list[i]);
            mem_free(list[i].path);
            mem_free(list[i].id);
        }
        mem_free(list);
        prune(ps, (enum queue_folder) f, buf_str(&dir), 0);
    }
    if (renamed > 0) {
        msg_info("Renamed to match inode number: %ld message%s", renamed,
                 plural(renamed));
        msg_warn("QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS");
    }
    buf_fini(&dir);
}

/* purge - the -p operation: stale temporary files of writers */
static void purge(const struct postsuper *ps)
{
    struct buf dir = BUF_INIT;
    struct buf path = BUF_INIT;
    struct buf why = BUF_INIT;
    time_t now = time(NULL);

    for (int f = 0; f < QUEUE_FOLDER_COUNT; f++) {
        struct dirent *de;
        DIR *d;

        if (!folder_wanted(ps, f))
            continue;
        queue_dir_folder_path(&ps->qd, (enum queue_folder) f, &dir);
        if ((d = opendir(buf_str(&dir))) == NULL)
            continue;
        while ((de = readdir(d)) != NULL) {
            long pid = temp_pid(de->d_name);
            struct stat st;

            if (pid <= 0)
                continue;
            buf_setf(&path, "%s/%s", buf_str(&dir), de->d_name);
            if (lstat(buf_str(&path), &st) < 0 || !S_ISREG(st.st_mode))
                continue;
            /* A live writer keeps its file, unless it is a day old (the
             * PID then belongs to some other process). */
            if ((kill((pid_t) pid, 0) == 0 || errno != ESRCH)
                && now - st.st_mtime < TEMP_MAX_AGE)
                continue;
            if (unlink(buf_str(&path)) < 0) {
                msg_warn("remove %s: %m", rel(ps, buf_str(&path)));
                continue;
            }
            buf_reset(&why);
            if (fs_fsync_dir(buf_str(&dir), &why) < 0)
                msg_warn("%s", buf_str(&why));
            msg_info("removed stale temporary file %s",
                     rel(ps, buf_str(&path)));
        }
        (void) closedir(d);
    }
    buf_fini(&dir);
    buf_fini(&path);
    buf_fini(&why);
}

/* become_queue_owner - run as root, work as the owner of the queue (as
 * Postfix's postsuper becomes mail_owner), so that the sub-folders and
 * files this run creates belong to the queue manager, not to root.  A
 * queue owned by root (an instance that root runs unprivileged) keeps
 * root. */
static void become_queue_owner(const char *top)
{
    struct buf why = BUF_INIT;
    struct passwd *pw;
    struct stat st;

    if (geteuid() != 0)
        return;
    if (stat(top, &st) < 0)
        msg_fatal("chdir %s: %m", top);
    if (st.st_uid == 0)
        return;
    pw = getpwuid(st.st_uid);
    if (priv_drop(st.st_uid, pw != NULL ? pw->pw_gid : st.st_gid, &why) < 0)
        msg_fatal("%s", buf_str(&why));
    buf_fini(&why);
}

/* add_id - one -d/-h/-H/-r argument */
static void add_id(struct postsuper *ps, enum op op, const char *id)
{
    ps->asked[op] = true;
    if (strcmp(id, "-") == 0) {
        read_stdin_ids(ps->requests, ops[op].opt);
    } else {
        struct buf r = BUF_INIT;

        buf_catc(&r, ops[op].opt);
        buf_cat(&r, id);
        argv_add(ps->requests, buf_str(&r));
        buf_fini(&r);
    }
}

/* postsuper_main - the postsuper command */
int postsuper_main(int argc, char **argv)
{
    struct postsuper ps;
    struct buf why = BUF_INIT;
    int ch;

    memset(&ps, 0, sizeof(ps));
    ps.requests = argv_new();
    msg_init(argc > 0 ? argv[0] : "postsuper");
    while ((ch = getopt(argc, argv, "c:d:e:f:h:H:pr:sSv")) != -1) {
        switch (ch) {
            case 'c':
                conf_set_dir(optarg);
                break;
            case 'd':
                add_id(&ps, OP_DELETE, optarg);
                break;
            case 'e':
                add_id(&ps, OP_EXPIRE, optarg);
                break;
            case 'f':
                /* -f: expire, and release from hold (postsuper(1)) */
                add_id(&ps, OP_EXPIRE, optarg);
                add_id(&ps, OP_RELEASE, optarg);
                break;
            case 'h':
                add_id(&ps, OP_HOLD, optarg);
                break;
            case 'H':
                add_id(&ps, OP_RELEASE, optarg);
                break;
            case 'r':
                add_id(&ps, OP_REQUEUE, optarg);
                break;
            case 'p':
                ps.purge = true;
                break;
            case 's':
                ps.structure = true;
                break;
            case 'S':
                ps.structure = ps.long_check = true;
                break;
            case 'v':
                msg_verbose++;
                break;
            default:
                usage();
        }
    }
    if (conf_load(&why) < 0)
        msg_fatal("%s", buf_str(&why));
    buf_reset(&why);
    if (mail_log_init("postsuper", &why) < 0)
        msg_warn("%s", buf_str(&why));
    buf_reset(&why);
    if (queue_dir_init_conf(&ps.qd, &why) < 0)
        msg_fatal("%s", buf_str(&why));
    become_queue_owner(ps.qd.top);
    if (chdir(ps.qd.top) < 0)
        msg_fatal("chdir %s: %m", ps.qd.top);
    ps.top_len = strlen(ps.qd.top) + 1;
    for (int i = optind; i < argc; i++) {
        enum queue_folder f;

        if (queue_folder_lookup(argv[i], &f) < 0 || f == QUEUE_CORRUPT)
            msg_fatal("invalid directory name: %s", argv[i]);
        ps.named[f] = ps.any_named = true;
    }
    /* Without an operation, postsuper checks the structure. */
    if (!ps.purge && !ps.structure && !ps.asked[OP_DELETE] && !ps.asked[OP_HOLD]
        && !ps.asked[OP_RELEASE] && !ps.asked[OP_REQUEUE]
        && !ps.asked[OP_EXPIRE])
        ps.structure = true;
    if (ps.purge)
        purge(&ps);
    if (ps.structure)
        structure(&ps);
    run_requests(&ps);
    argv_free(ps.requests);
    queue_dir_fini(&ps.qd);
    buf_fini(&why);
    return 0;
}
