#include "queue_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/argv.h"
#include "../lib/fs.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "conf.h"

static const char *const folder_names[QUEUE_FOLDER_COUNT] = {
    [QUEUE_MAILDROP] = "maildrop", [QUEUE_INCOMING] = "incoming",
    [QUEUE_ACTIVE] = "active",     [QUEUE_DEFERRED] = "deferred",
    [QUEUE_HOLD] = "hold",         [QUEUE_CORRUPT] = "corrupt",
    [QUEUE_BOUNCE] = "bounce",     [QUEUE_DEFER] = "defer",
    [QUEUE_TRACE] = "trace",
};

/* queue_folder_name - the folder's name */
const char *queue_folder_name(enum queue_folder f)
{
    if ((unsigned) f >= QUEUE_FOLDER_COUNT)
        msg_panic("queue_folder_name: bad folder %d", (int) f);
    return folder_names[f];
}

/* queue_folder_lookup - a folder by name */
int queue_folder_lookup(const char *name, enum queue_folder *f)
{
    for (int i = 0; i < QUEUE_FOLDER_COUNT; i++) {
        if (strcmp(folder_names[i], name) == 0) {
            *f = (enum queue_folder) i;
            return 0;
        }
    }
    return -1;
}

/* queue_dir_init - set up the folder layout */
int queue_dir_init(struct queue_dir *qd, const char *top, int depth,
                   const char *hash_names, bool long_ids, struct buf *why)
{
    struct argv *names = argv_split(hash_names, ", \t\r\n");
    enum queue_folder f;

    memset(qd, 0, sizeof(*qd));
    if (depth < 0 || depth > QUEUE_ID_HASH_MAX) {
        buf_catf(why, "hash_queue_depth: %d is not in 0..%d", depth,
                 QUEUE_ID_HASH_MAX);
        argv_free(names);
        return -1;
    }
    for (size_t i = 0; i < names->argc; i++) {
        if (queue_folder_lookup(names->argv[i], &f) < 0) {
            buf_catf(why, "hash_queue_names: unknown queue folder \"%s\"",
                     names->argv[i]);
            argv_free(names);
            return -1;
        }
        /* Postfix: hashing MUST NOT be used with the maildrop folder, which
         * others write; sendmail could not create its sub-folders. */
        if (f == QUEUE_MAILDROP) {
            buf_catf(why,
                     "hash_queue_names: the maildrop folder cannot be hashed");
            argv_free(names);
            return -1;
        }
        qd->hashed[f] = depth > 0;
    }
    argv_free(names);
    qd->top = mem_strdup(top);
    qd->depth = depth;
    qd->long_ids = long_ids;
    return 0;
}

/* queue_dir_init_conf - the layout that main.cf asks for */
int queue_dir_init_conf(struct queue_dir *qd, struct buf *why)
{
    long depth = conf_int("hash_queue_depth");

    return queue_dir_init(
        qd, conf_str("queue_directory"), depth > 100 ? 100 : (int) depth,
        conf_str("hash_queue_names"), conf_bool("enable_long_queue_ids"), why);
}

/* queue_dir_fini - release the strings */
void queue_dir_fini(struct queue_dir *qd)
{
    mem_free(qd->top);
    qd->top = NULL;
}

/* queue_dir_folder_path - TOP/FOLDER */
void queue_dir_folder_path(const struct queue_dir *qd, enum queue_folder f,
                           struct buf *out)
{
    buf_setf(out, "%s/%s", qd->top, queue_folder_name(f));
}

/* hash_path - TOP/FOLDER[/h1/h2...] into OUT; -1 for an invalid ID */
static int hash_path(const struct queue_dir *qd, enum queue_folder f,
                     const char *id, struct buf *out)
{
    char hash[QUEUE_ID_HASH_MAX + 1];

    if (!queue_id_valid(id))
        return -1;
    queue_dir_folder_path(qd, f, out);
    if (qd->hashed[f]) {
        if (queue_id_hash(id, qd->depth, hash) < 0)
            return -1;
        for (int i = 0; i < qd->depth; i++)
            buf_catf(out, "/%c", hash[i]);
    }
    return 0;
}

/* bad_id - the reason for an invalid queue ID */
static int bad_id(const char *id, struct buf *why)
{
    buf_cat(why, "invalid queue ID \"");
    for (const char *p = id; *p && p - id < 64; p++)
        buf_catc(why, (*p > ' ' && *p < 127) ? *p : '?');
    buf_cat(why, "\"");
    errno = EINVAL;
    return -1;
}

/* queue_dir_path - the path of a queue file */
int queue_dir_path(const struct queue_dir *qd, enum queue_folder f,
                   const char *id, struct buf *out, struct buf *why)
{
    if (hash_path(qd, f, id, out) < 0)
        return bad_id(id, why);
    buf_catf(out, "/%s", id);
    return 0;
}

/* queue_dir_mkparent - create the hashed sub-folders of ID in F */
int queue_dir_mkparent(const struct queue_dir *qd, enum queue_folder f,
                       const char *id, struct buf *why)
{
    struct buf dir = BUF_INIT;
    struct stat sb;
    int rc = 0;

    if (!qd->hashed[f])
        return queue_id_valid(id) ? 0 : bad_id(id, why);
    if (hash_path(qd, f, id, &dir) < 0) {
        buf_fini(&dir);
        return bad_id(id, why);
    }
    if (stat(buf_str(&dir), &sb) < 0 || !S_ISDIR(sb.st_mode))
        rc = fs_mkdirs(buf_str(&dir), 0700, why);
    buf_fini(&dir);
    return rc;
}

/* move_path - move a file at FROM_PATH into folder TO; SYNC: fsync the
 * folders */
static int move_path(const struct queue_dir *qd, const char *from_path,
                     enum queue_folder to, const char *id, bool sync,
                     struct buf *why)
{
    struct buf to_path = BUF_INIT;
    struct buf d1 = BUF_INIT;
    struct buf d2 = BUF_INIT;
    int rc = -1;

    if (queue_dir_path(qd, to, id, &to_path, why) < 0)
        goto out;
    if (queue_dir_mkparent(qd, to, id, why) < 0)
        goto out;
    if (fs_rename_noreplace(from_path, buf_str(&to_path), why) < 0)
        goto out;
    if (!sync) {
        rc = 0;
        goto out;
    }
    fs_dirname(buf_str(&to_path), &d1);
    fs_dirname(from_path, &d2);
    if (fs_fsync_dir(buf_str(&d1), why) < 0)
        goto out;
    if (strcmp(buf_str(&d1), buf_str(&d2)) != 0
        && fs_fsync_dir(buf_str(&d2), why) < 0)
        goto out;
    rc = 0;
out:
    buf_fini(&to_path);
    buf_fini(&d1);
    buf_fini(&d2);
    return rc;
}

/* queue_dir_move_path - move a file at FROM_PATH into folder TO */
int queue_dir_move_path(const struct queue_dir *qd, const char *from_path,
                        enum queue_folder to, const char *id, struct buf *why)
{
    return move_path(qd, from_path, to, id, true, why);
}

/* queue_dir_move_path_unsynced - the same without the folder fsyncs */
int queue_dir_move_path_unsynced(const struct queue_dir *qd,
                                 const char *from_path, enum queue_folder to,
                                 const char *id, struct buf *why)
{
    return move_path(qd, from_path, to, id, false, why);
}

/* move - a queue file between folders */
static int move(const struct queue_dir *qd, enum queue_folder from,
                enum queue_folder to, const char *id, bool sync,
                struct buf *why)
{
    struct buf from_path = BUF_INIT;
    int rc = -1;

    if (queue_dir_path(qd, from, id, &from_path, why) == 0)
        rc = move_path(qd, buf_str(&from_path), to, id, sync, why);
    buf_fini(&from_path);
    return rc;
}

/* queue_dir_move - move a queue file between folders */
int queue_dir_move(const struct queue_dir *qd, enum queue_folder from,
                   enum queue_folder to, const char *id, struct buf *why)
{
    return move(qd, from, to, id, true, why);
}

/* queue_dir_move_unsynced - the same without the folder fsyncs */
int queue_dir_move_unsynced(const struct queue_dir *qd, enum queue_folder from,
                            enum queue_folder to, const char *id,
                            struct buf *why)
{
    return move(qd, from, to, id, false, why);
}

/* queue_dir_find - which message folder holds ID */
int queue_dir_find(const struct queue_dir *qd, const char *id,
                   enum queue_folder *f, struct buf *path, struct buf *why)
{
    static const enum queue_folder order[] = {
        QUEUE_INCOMING, QUEUE_ACTIVE,   QUEUE_DEFERRED,
        QUEUE_HOLD,     QUEUE_MAILDROP, QUEUE_CORRUPT,
    };
    struct stat sb;

    if (!queue_id_valid(id))
        return bad_id(id, why);
    for (size_t i = 0; i < NELEM(order); i++) {
        if (queue_dir_path(qd, order[i], id, path, why) < 0)
            return -1;
        if (lstat(buf_str(path), &sb) == 0 && S_ISREG(sb.st_mode)) {
            *f = order[i];
            return 0;
        }
    }
    buf_catf(why, "queue file %s: not found in the queue", id);
    errno = ENOENT;
    return -1;
}

/* queue_dir_create - make the folder tree */
int queue_dir_create(const struct queue_dir *qd, uid_t owner,
                     gid_t maildrop_gid, struct buf *why)
{
    struct buf path = BUF_INIT;
    bool root = geteuid() == 0;
    struct stat sb;
    int rc = -1;

    if (fs_mkdirs(qd->top, 0755, why) < 0)
        goto out;
    for (int i = 0; i < QUEUE_FOLDER_COUNT; i++) {
        enum queue_folder f = (enum queue_folder) i;
        mode_t mode = f == QUEUE_MAILDROP ? 0730 : 0700;

        queue_dir_folder_path(qd, f, &path);
        if (lstat(buf_str(&path), &sb) == 0) {
            if (!S_ISDIR(sb.st_mode)) {
                buf_catf(why, "%s: exists and is not a folder", buf_str(&path));
                goto out;
            }
            continue;
        }
        if (fs_mkdirs(buf_str(&path), mode, why) < 0)
            goto out;
        if (root
            && chown(buf_str(&path), owner,
                     f == QUEUE_MAILDROP ? maildrop_gid : (gid_t) -1)
                   < 0) {
            buf_catf(why, "chown %s: %s", buf_str(&path), strerror(errno));
            goto out;
        }
    }
    rc = 0;
out:
    buf_fini(&path);
    return rc;
}

/*
 * The scan: a stack of open folders, the top-level one first.
 */
#define SCAN_LEVELS (QUEUE_ID_HASH_MAX + 1)

struct queue_scan {
    DIR *dirs[SCAN_LEVELS];
    struct buf paths[SCAN_LEVELS];
    int level; /* index of the innermost open folder, -1 when done */
    char id[QUEUE_ID_SIZE];
    struct buf error;
};

/* scan_push - open folder PATH (no symlink) at the next level */
static int scan_push(struct queue_scan *s, int dirfd, const char *name,
                     const char *path)
{
    int fd =
        openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d;

    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        buf_setf(&s->error, "open folder %s: %s", path, strerror(errno));
        if (fd >= 0)
            (void) close(fd);
        return -1;
    }
    s->level++;
    s->dirs[s->level] = d;
    buf_set(&s->paths[s->level], path);
    return 0;
}

/* queue_scan_open - start a scan of one folder */
struct queue_scan *queue_scan_open(const struct queue_dir *qd,
                                   enum queue_folder f, struct buf *why)
{
    struct queue_scan *s = mem_zalloc(sizeof(*s));
    struct buf path = BUF_INIT;

    s->level = -1;
    for (int i = 0; i < SCAN_LEVELS; i++)
        buf_init(&s->paths[i], 0);
    buf_init(&s->error, 0);
    queue_dir_folder_path(qd, f, &path);
    if (scan_push(s, AT_FDCWD, buf_str(&path), buf_str(&path)) < 0) {
        buf_cat(why, buf_str(&s->error));
        queue_scan_close(s);
        s = NULL;
    }
    buf_fini(&path);
    return s;
}

/* is_hash_name - a one-character hex sub-folder name */
static bool is_hash_name(const char *name)
{
    return name[0] != 0 && name[1] == 0
           && ((name[0] >= '0' && name[0] <= '9')
               || (name[0] >= 'A' && name[0] <= 'F'));
}

/* scan_pop - close the innermost folder */
static void scan_pop(struct queue_scan *s)
{
    (void) closedir(s->dirs[s->level]);
    s->dirs[s->level] = NULL;
    s->level--;
}

/* queue_scan_next - the next queue file */
const char *queue_scan_next(struct queue_scan *s, struct buf *path)
{
    struct dirent *de;
    struct stat sb;
    struct buf sub = BUF_INIT;

    while (s->level >= 0) {
        DIR *d = s->dirs[s->level];

        errno = 0;
        if ((de = readdir(d)) == NULL) {
            if (errno != 0) {
                buf_setf(&s->error, "read folder %s: %s",
                         buf_str(&s->paths[s->level]), strerror(errno));
                while (s->level >= 0)
                    scan_pop(s);
                break;
            }
            scan_pop(s);
            continue;
        }
        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* removed since readdir: gone, not an error */
        if (S_ISDIR(sb.st_mode)) {
            if (is_hash_name(de->d_name) && s->level + 1 < SCAN_LEVELS) {
                buf_setf(&sub, "%s/%s", buf_str(&s->paths[s->level]),
                         de->d_name);
                if (scan_push(s, dirfd(d), de->d_name, buf_str(&sub)) < 0) {
                    while (s->level >= 0)
                        scan_pop(s);
                    break;
                }
            }
            continue;
        }
        if (!S_ISREG(sb.st_mode) || !queue_id_valid(de->d_name))
            continue;
        (void) str_copy(s->id, sizeof(s->id), de->d_name);
        if (path != NULL)
            buf_setf(path, "%s/%s", buf_str(&s->paths[s->level]), s->id);
        buf_fini(&sub);
        return s->id;
    }
    buf_fini(&sub);
    return NULL;
}

/* queue_scan_error - why the scan stopped early */
const char *queue_scan_error(const struct queue_scan *s)
{
    return buf_len(&s->error) > 0 ? buf_str(&s->error) : NULL;
}

/* queue_scan_close - end a scan */
void queue_scan_close(struct queue_scan *s)
{
    if (s == NULL)
        return;
    while (s->level >= 0)
        scan_pop(s);
    for (int i = 0; i < SCAN_LEVELS; i++)
        buf_fini(&s->paths[i]);
    buf_fini(&s->error);
    mem_free(s);
}
