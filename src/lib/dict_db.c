/*
 * dict_db - hash: and btree: tables in Berkeley DB 5.3 files (NAME.db).
 *
 * The on-disk form is Postfix's: one DB file without an environment, keys
 * and values stored with a trailing NUL byte by default (DICT_FLAG_TRY1NULL;
 * DICT_FLAG_TRY0NULL stores them without).  A reader that was given neither
 * flag tries both forms and then sticks to the one that matched, so tables
 * built with "postmap -n" read as well.
 *
 * A table opened with O_CREAT|O_TRUNC is built in a temporary file next to
 * NAME.db and renamed over it at close, so a reader never sees a half-built
 * table: it sees the old file or the new one.  Other writable opens (postmap
 * -i, -d) update NAME.db in place under an exclusive flock(2), and lookups
 * take a shared flock when DICT_FLAG_LOCK is set, which is also what
 * Postfix's own programs do.  Duplicate keys are handled by the
 * DICT_FLAG_DUP_* flags; the warning names the file as Postfix does.
 */
#include "dict_impl.h"

#include <db.h>
#include <errno.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict_tmp.h"
#include "mem.h"
#include "msg.h"

#define DB_CREATE_CACHE (16 * 1024 * 1024) /* berkeley_db_create_buffer_size */
#define DB_READ_CACHE   (128 * 1024)       /* berkeley_db_read_buffer_size */

struct dict_db {
    struct dict dict;
    DB_ENV *env; /* private, in memory: only the cache lives there */
    DB *db;
    DBC *cursor;     /* open during a sequence */
    int fd;          /* lock file descriptor */
    char *path;      /* owned: NAME.db */
    char *tmp_path;  /* owned: the file being built, NULL when in place */
    char *target;    /* owned: the file a build replaces (links followed) */
    struct buf skey; /* sequence key (borrowed by the caller) */
    struct buf sval; /* sequence value */
};

/* lock - flock(2) the table when locking was asked for */
static void lock(struct dict_db *dd, int how)
{
    if (dd->fd >= 0 && (dd->dict.flags & DICT_FLAG_LOCK) != 0)
        (void) flock(dd->fd, how);
}

/* copy_out - DATA without its trailing NUL into OUT */
static void copy_out(struct buf *out, const DBT *data)
{
    size_t len = data->size;

    if (len > 0 && ((const char *) data->data)[len - 1] == 0)
        len--;
    buf_reset(out);
    buf_catn(out, data->data, len);
}

/* db_get - one get with or without the NUL; 0 found, 1 not, -1 error */
static int db_get(struct dict_db *dd, const char *key, bool nul, DBT *data)
{
    DBT k;
    int ret;

    memset(&k, 0, sizeof(k));
    memset(data, 0, sizeof(*data));
    k.data = (void *) key;
    k.size = (u_int32_t) (strlen(key) + (nul ? 1 : 0));
    ret = dd->db->get(dd->db, NULL, &k, data, 0);
    if (ret == 0)
        return 0;
    if (ret == DB_NOTFOUND)
        return 1;
    buf_setf(&dd->dict.why, "error reading %s: %s", dd->path, db_strerror(ret));
    return -1;
}

/* db_lookup - find KEY, trying the NUL forms the flags allow */
static enum lk_result db_lookup(struct dict *d, const char *key,
                                struct buf *value)
{
    struct dict_db *dd = (struct dict_db *) d;
    enum lk_result r = LK_NOTFOUND;
    DBT data;
    int ret;

    lock(dd, LOCK_SH);
    if (d->flags & DICT_FLAG_TRY1NULL) {
        if ((ret = db_get(dd, key, true, &data)) == 0) {
            d->flags &= ~DICT_FLAG_TRY0NULL;
            copy_out(value, &data);
            r = LK_FOUND;
        } else if (ret < 0) {
            r = LK_TEMPFAIL;
        }
    }
    if (r == LK_NOTFOUND && (d->flags & DICT_FLAG_TRY0NULL)) {
        if ((ret = db_get(dd, key, false, &data)) == 0) {
            d->flags &= ~DICT_FLAG_TRY1NULL;
            copy_out(value, &data);
            r = LK_FOUND;
        } else if (ret < 0) {
            r = LK_TEMPFAIL;
        }
    }
    lock(dd, LOCK_UN);
    return r;
}

/* db_update - store KEY=VALUE, handling a duplicate as the flags say */
static int db_update(struct dict *d, const char *key, const char *value)
{
    struct dict_db *dd = (struct dict_db *) d;
    bool nul = (d->flags & DICT_FLAG_TRY1NULL) != 0;
    DBT k;
    DBT v;
    int ret;

    /* Writing fixes the form: with both allowed, Postfix writes the NUL. */
    if (nul)
        d->flags &= ~DICT_FLAG_TRY0NULL;
    memset(&k, 0, sizeof(k));
    memset(&v, 0, sizeof(v));
    k.data = (void *) key;
    k.size = (u_int32_t) (strlen(key) + (nul ? 1 : 0));
    v.data = (void *) value;
    v.size = (u_int32_t) (strlen(value) + (nul ? 1 : 0));
    ret = dd->db->put(dd->db, NULL, &k, &v, DB_NOOVERWRITE);
    if (ret == 0)
        return 0;
    if (ret != DB_KEYEXIST) {
        buf_setf(&d->why, "error writing %s: %s", dd->path, db_strerror(ret));
        return -1;
    }
    if (d->flags & DICT_FLAG_DUP_REPLACE) {
        if ((ret = dd->db->put(dd->db, NULL, &k, &v, 0)) != 0) {
            buf_setf(&d->why, "error writing %s: %s", dd->path,
                     db_strerror(ret));
            return -1;
        }
    } else if ((d->flags & DICT_FLAG_DUP_IGNORE) == 0) {
        msg_warn("%s: duplicate entry: \"%s\"", dd->path, key);
    }
    return 1;
}

/* db_delete - remove KEY in whichever NUL form it was stored */
static int db_delete(struct dict *d, const char *key)
{
    struct dict_db *dd = (struct dict_db *) d;
    static const bool forms[] = {true, false};

    for (size_t i = 0; i < NELEM(forms); i++) {
        DBT k;
        int ret;

        if ((d->flags & (forms[i] ? DICT_FLAG_TRY1NULL : DICT_FLAG_TRY0NULL))
            == 0)
            continue;
        memset(&k, 0, sizeof(k));
        k.data = (void *) key;
        k.size = (u_int32_t) (strlen(key) + (forms[i] ? 1 : 0));
        ret = dd->db->del(dd->db, NULL, &k, 0);
        if (ret == 0)
            return 0;
        if (ret != DB_NOTFOUND) {
            buf_setf(&d->why, "error deleting from %s: %s", dd->path,
                     db_strerror(ret));
            return -1;
        }
    }
    return 1;
}

/* db_sequence - walk the table in database order */
static int db_sequence(struct dict *d, enum dict_seq func, const char **key,
                       const char **value)
{
    struct dict_db *dd = (struct dict_db *) d;
    DBT k;
    DBT v;
    int ret;

    if (func == DICT_SEQ_FIRST && dd->cursor != NULL) {
        dd->cursor->close(dd->cursor);
        dd->cursor = NULL;
    }
    if (dd->cursor == NULL) {
        if (func == DICT_SEQ_NEXT)
            return 1;
        if ((ret = dd->db->cursor(dd->db, NULL, &dd->cursor, 0)) != 0) {
            buf_setf(&d->why, "error reading %s: %s", dd->path,
                     db_strerror(ret));
            return -1;
        }
    }
    memset(&k, 0, sizeof(k));
    memset(&v, 0, sizeof(v));
    ret = dd->cursor->get(dd->cursor, &k, &v, DB_NEXT);
    if (ret != 0) {
        dd->cursor->close(dd->cursor);
        dd->cursor = NULL;
        if (ret == DB_NOTFOUND)
            return 1;
        buf_setf(&d->why, "error reading %s: %s", dd->path, db_strerror(ret));
        return -1;
    }
    copy_out(&dd->skey, &k);
    copy_out(&dd->sval, &v);
    *key = buf_str(&dd->skey);
    *value = buf_str(&dd->sval);
    return 0;
}

/* db_sync - flush the table to disk */
static int db_sync(struct dict *d)
{
    struct dict_db *dd = (struct dict_db *) d;
    int ret;

    if ((ret = dd->db->sync(dd->db, 0)) != 0) {
        buf_setf(&d->why, "sync %s: %s", dd->path, db_strerror(ret));
        return -1;
    }
    return 0;
}

/* db_close - close, and put a freshly built table in place */
static void db_close(struct dict *d)
{
    struct dict_db *dd = (struct dict_db *) d;
    int ret;

    if (dd->cursor)
        dd->cursor->close(dd->cursor);
    if (dd->db && (ret = dd->db->close(dd->db, 0)) != 0)
        msg_fatal("close database %s: %s", dd->path, db_strerror(ret));
    if (dd->env)
        (void) dd->env->close(dd->env, 0);
    if (dd->tmp_path) {
        if (dd->fd >= 0 && fsync(dd->fd) < 0)
            msg_fatal("fsync %s: %m", dd->tmp_path);
        if (rename(dd->tmp_path, dd->target) < 0)
            msg_fatal("rename %s to %s: %m", dd->tmp_path, dd->target);
        dict_tmp_done(dd->tmp_path);
    }
    if (dd->fd >= 0)
        (void) close(dd->fd);
    mem_free(dd->path);
    mem_free(dd->tmp_path);
    mem_free(dd->target);
    buf_fini(&dd->skey);
    buf_fini(&dd->sval);
    dict_free_base(d);
}

/* db_fail - undo a failed open; always NULL */
static struct dict *db_fail(struct dict_db *dd, struct buf *b)
{
    buf_fini(b);
    if (dd->db)
        (void) dd->db->close(dd->db, 0);
    if (dd->env)
        (void) dd->env->close(dd->env, 0);
    dd->env = NULL;
    if (dd->fd >= 0)
        (void) close(dd->fd);
    if (dd->tmp_path)
        (void) unlink(dd->tmp_path);
    dict_tmp_done(dd->tmp_path);
    dd->db = NULL;
    dd->fd = -1;
    mem_free(dd->tmp_path);
    mem_free(dd->target);
    dd->tmp_path = NULL;
    mem_free(dd->path);
    dd->path = NULL;
    buf_fini(&dd->skey);
    buf_fini(&dd->sval);
    dict_free_base(&dd->dict);
    return NULL;
}

/* db_open - open NAME.db as a table of TYPE */
static struct dict *db_open(const char *type, DBTYPE dbtype, const char *name,
                            int open_flags, int dict_flags, struct buf *why)
{
    struct dict_db *dd;
    struct buf b = BUF_INIT;
    bool rdonly = (open_flags & O_ACCMODE) == O_RDONLY;
    bool build = !rdonly && (open_flags & O_TRUNC) && (open_flags & O_CREAT);
    const char *file;
    const char *slash;
    bool late_fd = false;
    u_int32_t db_flags;
    struct stat st;
    int ret;

    if ((dict_flags & (DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL)) == 0)
        dict_flags |= DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL;
    dd = (struct dict_db *) dict_alloc(type, name, open_flags, dict_flags,
                                       sizeof(*dd));
    dd->fd = -1;
    buf_init(&dd->skey, 0);
    buf_init(&dd->sval, 0);
    buf_setf(&b, "%s.db", name);
    dd->path = buf_steal(&b);
    /* Postfix names a Berkeley DB table after its file in messages. */
    mem_free(dd->dict.name);
    dd->dict.name = mem_strdup(dd->path);
    if (build && dict_tmp_in_place(dd->target = dict_tmp_target(dd->path))) {
        /* No temporary file possible: truncate and write in place under
         * the lock, as Postfix does (readers wait for the lock). */
        build = false;
        dd->fd = open(dd->path, O_RDWR | O_CLOEXEC);
        file = dd->path;
        db_flags = DB_TRUNCATE;
    } else if (build) {
        /* Build beside the target, then rename at close. */
        buf_setf(&b, "%s.%ld.tmp", dd->target, (long) getpid());
        dd->tmp_path = buf_steal(&b);
        (void) unlink(dd->tmp_path);
        dict_tmp_add(dd->tmp_path);
        /* Berkeley DB creates it: it refuses an empty existing file. */
        file = dd->tmp_path;
        db_flags = DB_CREATE | DB_EXCL;
    } else if (rdonly) {
        dd->fd = open(dd->path, O_RDONLY | O_CLOEXEC);
        file = dd->path;
        db_flags = DB_RDONLY;
    } else {
        dd->fd = open(dd->path, O_RDWR | O_CLOEXEC);
        file = dd->path;
        db_flags = 0;
        /* A missing table is created by Berkeley DB, which refuses an
         * empty file; it is locked once it exists. */
        if (dd->fd < 0 && errno == ENOENT && (open_flags & O_CREAT)) {
            late_fd = true;
            db_flags = DB_CREATE;
        }
    }
    if (!build && !late_fd && dd->fd < 0) {
        buf_setf(why, "open database %s: %m", dd->path);
        return db_fail(dd, &b);
    }
    /* Wait for a writer that updates in place (Postfix's postmap does). */
    if (!build && !late_fd && flock(dd->fd, rdonly ? LOCK_SH : LOCK_EX) < 0) {
        buf_setf(why, "lock database %s: %m", dd->path);
        return db_fail(dd, &b);
    }
    /* The environment's home is the table's folder. */
    slash = strrchr(file, '/');
    buf_reset(&b);
    if (slash == NULL)
        buf_set(&b, ".");
    else if (slash == file)
        buf_set(&b, "/");
    else
        buf_catn(&b, file, (size_t) (slash - file));
    /* A private environment, as Postfix uses: it holds the cache, and
     * Berkeley DB's own messages name the file as Postfix's do. */
    if ((ret = db_env_create(&dd->env, 0)) != 0
        || (ret = dd->env->set_cachesize(
                dd->env, 0, rdonly ? DB_READ_CACHE : DB_CREATE_CACHE, 0))
               != 0
        || (ret = dd->env->open(dd->env, buf_str(&b),
                                DB_CREATE | DB_INIT_MPOOL | DB_PRIVATE, 0))
               != 0
        || (ret = db_create(&dd->db, dd->env, 0)) != 0) {
        buf_setf(why, "create DB database handle: %s", db_strerror(ret));
        return db_fail(dd, &b);
    }
    ret = dd->db->open(dd->db, NULL, slash ? slash + 1 : file, NULL, dbtype,
                       db_flags, 0644);
    if (ret != 0) {
        buf_setf(why, "open database %s: %s", dd->path, db_strerror(ret));
        return db_fail(dd, &b);
    }
    /* The descriptor of a new file serves fsync at close. */
    if ((build || late_fd)
        && ((dd->fd = open(file, O_RDWR | O_CLOEXEC)) < 0
            || (late_fd && flock(dd->fd, LOCK_EX) < 0))) {
        buf_setf(why, "open database %s: %m", file);
        return db_fail(dd, &b);
    }
    /* Readers lock per lookup; a writer keeps its lock until close. */
    if (rdonly)
        (void) flock(dd->fd, LOCK_UN);
    if (fstat(dd->fd, &st) == 0)
        dd->dict.mtime = st.st_mtime;
    buf_fini(&b);
    if (!build)
        dict_set_file(&dd->dict, dd->path);
    dd->dict.ops.lookup = db_lookup;
    dd->dict.ops.update = db_update;
    dd->dict.ops.delete = db_delete;
    dd->dict.ops.sequence = db_sequence;
    dd->dict.ops.sync = db_sync;
    dd->dict.ops.close = db_close;
    return &dd->dict;
}

/* dict_hash_open - open hash:NAME */
struct dict *dict_hash_open(const char *name, int open_flags, int dict_flags,
                            struct buf *why)
{
    return db_open("hash", DB_HASH, name, open_flags, dict_flags, why);
}

/* dict_btree_open - open btree:NAME */
struct dict *dict_btree_open(const char *name, int open_flags, int dict_flags,
                             struct buf *why)
{
    return db_open("btree", DB_BTREE, name, open_flags, dict_flags, why);
}
