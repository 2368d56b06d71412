/*
 * dict_lmdb - lmdb: tables in OpenLDAP LMDB files (NAME.lmdb).
 *
 * The on-disk form is Postfix's: one file without a sub-directory and
 * without LMDB's lock file (MDB_NOSUBDIR | MDB_NOLOCK; processes coordinate
 * with flock(2) on the file instead), the unnamed database, keys and values
 * with a trailing NUL byte by default (DICT_FLAG_TRY1NULL).
 *
 * A build (O_CREAT|O_TRUNC) writes a temporary file beside NAME.lmdb and
 * renames it at close.  Writes are batched into transactions; when the map
 * fills up (MDB_MAP_FULL) the map size is doubled and the batch of the
 * failed transaction is replayed, so the table grows beyond the initial
 * 16 MB size (Postfix's lmdb_map_size default) without losing entries.
 */
#include "dict_impl.h"

#include <errno.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argv.h"
#include "dict_tmp.h"
#include "mem.h"
#include "msg.h"

#define LMDB_MAP_SIZE (16UL * 1024 * 1024) /* lmdb_map_size default */
#define LMDB_BATCH    1000                 /* puts per bulk transaction */

struct dict_lmdb {
    struct dict dict;
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;       /* the open write batch (bulk mode) */
    struct argv *batch; /* key, value pairs of txn, for a replay */
    MDB_txn *seq_txn;   /* read transaction of a sequence */
    MDB_cursor *cursor; /* sequence cursor */
    size_t map_size;    /* current map size */
    int fd;             /* lock file descriptor */
    char *path;         /* owned: NAME.lmdb */
    char *tmp_path;     /* owned: the file being built */
    char *target;       /* owned: the file a build replaces (links followed) */
    char *label;        /* owned: "lmdb:NAME" for messages */
    struct buf skey;
    struct buf sval;
};

/* lock - flock(2) the table when locking was asked for */
static void lock(struct dict_lmdb *dl, int how)
{
    if ((dl->dict.flags & DICT_FLAG_LOCK) != 0)
        (void) flock(dl->fd, how);
}

/* copy_out - VAL without its trailing NUL into OUT */
static void copy_out(struct buf *out, const MDB_val *val)
{
    size_t len = val->mv_size;

    if (len > 0 && ((const char *) val->mv_data)[len - 1] == 0)
        len--;
    buf_reset(out);
    buf_catn(out, val->mv_data, len);
}

/* set_why - "what PATH: lmdb error" into the table's reason */
static void set_why(struct dict_lmdb *dl, const char *what, int rc)
{
    buf_setf(&dl->dict.why, "%s %s: %s", what, dl->path, mdb_strerror(rc));
}

/* grow - double the map size (no transaction may be open) */
static int grow(struct dict_lmdb *dl)
{
    int rc;

    dl->map_size *= 2;
    if ((rc = mdb_env_set_mapsize(dl->env, dl->map_size)) != 0) {
        set_why(dl, "grow", rc);
        return -1;
    }
    return 0;
}

/* lmdb_lookup - find KEY, trying the NUL forms the flags allow */
static enum lk_result lmdb_lookup(struct dict *d, const char *key,
                                  struct buf *value)
{
    struct dict_lmdb *dl = (struct dict_lmdb *) d;
    enum lk_result r = LK_NOTFOUND;
    MDB_txn *txn = dl->txn;
    MDB_val k;
    MDB_val v;
    int rc;

    lock(dl, LOCK_SH);
    if (txn == NULL && (rc = mdb_txn_begin(dl->env, NULL, MDB_RDONLY, &txn))) {
        /* A writer grew the map: adopt the new size and retry once. */
        if (rc != MDB_MAP_RESIZED || mdb_env_set_mapsize(dl->env, 0) != 0
            || (rc = mdb_txn_begin(dl->env, NULL, MDB_RDONLY, &txn)) != 0) {
            set_why(dl, "read", rc);
            lock(dl, LOCK_UN);
            return LK_TEMPFAIL;
        }
    }
    for (int nul = 1; nul >= 0 && r == LK_NOTFOUND; nul--) {
        if ((d->flags & (nul ? DICT_FLAG_TRY1NULL : DICT_FLAG_TRY0NULL)) == 0)
            continue;
        k.mv_data = (void *) key;
        k.mv_size = strlen(key) + (size_t) nul;
        rc = mdb_get(txn, dl->dbi, &k, &v);
        if (rc == 0) {
            d->flags &= nul ? ~DICT_FLAG_TRY0NULL : ~DICT_FLAG_TRY1NULL;
            copy_out(value, &v);
            r = LK_FOUND;
        } else if (rc != MDB_NOTFOUND) {
            set_why(dl, "read", rc);
            r = LK_TEMPFAIL;
        }
    }
    if (txn != dl->txn)
        mdb_txn_abort(txn);
    lock(dl, LOCK_UN);
    return r;
}

/* put - one mdb_put in TXN; MDB return code */
static int put(struct dict_lmdb *dl, MDB_txn *txn, const char *key,
               const char *value, bool nul, unsigned flags)
{
    MDB_val k;
    MDB_val v;

    k.mv_data = (void *) key;
    k.mv_size = strlen(key) + (nul ? 1 : 0);
    v.mv_data = (void *) value;
    v.mv_size = strlen(value) + (nul ? 1 : 0);
    return mdb_put(txn, dl->dbi, &k, &v, flags);
}

/* replay - a fresh write transaction in a bigger map with the batch
 * applied again; -1 with the reason set */
static int replay(struct dict_lmdb *dl)
{
    int rc = 0;

    for (int tries = 0; tries < 24; tries++) {
        if (dl->txn) {
            mdb_txn_abort(dl->txn);
            dl->txn = NULL;
        }
        if (grow(dl) < 0)
            return -1;
        if ((rc = mdb_txn_begin(dl->env, NULL, 0, &dl->txn)) != 0) {
            dl->txn = NULL;
            set_why(dl, "write", rc);
            return -1;
        }
        for (size_t i = 0; i + 2 < dl->batch->argc; i += 3) {
            const char *how = dl->batch->argv[i + 2];

            rc = put(dl, dl->txn, dl->batch->argv[i], dl->batch->argv[i + 1],
                     how[1] == '1', how[0] == 'r' ? 0 : MDB_NOOVERWRITE);
            if (rc == MDB_KEYEXIST)
                rc = 0;
            if (rc != 0)
                break;
        }
        if (rc == 0)
            return 0;
        if (rc != MDB_MAP_FULL)
            break;
    }
    set_why(dl, "write", rc);
    mdb_txn_abort(dl->txn);
    dl->txn = NULL;
    return -1;
}

/* begin - make sure a write transaction is open */
static int begin(struct dict_lmdb *dl)
{
    int rc;

    if (dl->txn != NULL)
        return 0;
    if ((rc = mdb_txn_begin(dl->env, NULL, 0, &dl->txn)) != 0) {
        dl->txn = NULL;
        set_why(dl, "write", rc);
        return -1;
    }
    return 0;
}

/* commit - commit the write transaction, growing the map when full */
static int commit(struct dict_lmdb *dl)
{
    int rc;

    while (dl->txn != NULL) {
        rc = mdb_txn_commit(dl->txn);
        dl->txn = NULL;
        if (rc == 0)
            break;
        if (rc != MDB_MAP_FULL) {
            set_why(dl, "commit", rc);
            return -1;
        }
        if (replay(dl) < 0)
            return -1;
    }
    argv_truncate(dl->batch, 0);
    return 0;
}

/* lmdb_update - store KEY=VALUE, handling a duplicate as the flags say */
static int lmdb_update(struct dict *d, const char *key, const char *value)
{
    struct dict_lmdb *dl = (struct dict_lmdb *) d;
    bool replace = (d->flags & DICT_FLAG_DUP_REPLACE) != 0;
    bool nul = (d->flags & DICT_FLAG_TRY1NULL) != 0;
    int rc;

    if (nul)
        d->flags &= ~DICT_FLAG_TRY0NULL;
    if (begin(dl) < 0)
        return -1;
    while ((rc = put(dl, dl->txn, key, value, nul, MDB_NOOVERWRITE))
           == MDB_MAP_FULL)
        if (replay(dl) < 0)
            return -1;
    if (rc == MDB_KEYEXIST) {
        if (!replace) {
            if ((d->flags & DICT_FLAG_DUP_IGNORE) == 0)
                msg_warn("%s: duplicate entry: \"%s\"", dl->label, key);
            return 1;
        }
        while ((rc = put(dl, dl->txn, key, value, nul, 0)) == MDB_MAP_FULL)
            if (replay(dl) < 0)
                return -1;
        if (rc == 0)
            rc = 1;
    }
    if (rc < 0 || rc > 1) {
        set_why(dl, "write", rc);
        return -1;
    }
    argv_add(dl->batch, key);
    argv_add(dl->batch, value);
    /* How to write it again in a replay: replace or insert, NUL or not. */
    argv_add(dl->batch, replace ? (nul ? "r1" : "r0") : (nul ? "n1" : "n0"));
    if ((d->flags & DICT_FLAG_BULK_UPDATE) == 0
        || dl->batch->argc >= 3 * LMDB_BATCH) {
        if (commit(dl) < 0)
            return -1;
    }
    return rc;
}

/* lmdb_delete - remove KEY in whichever NUL form it was stored */
static int lmdb_delete(struct dict *d, const char *key)
{
    struct dict_lmdb *dl = (struct dict_lmdb *) d;
    int rc = MDB_NOTFOUND;
    MDB_val k;

    if (commit(dl) < 0 || begin(dl) < 0)
        return -1;
    for (int nul = 1; nul >= 0 && rc == MDB_NOTFOUND; nul--) {
        if ((d->flags & (nul ? DICT_FLAG_TRY1NULL : DICT_FLAG_TRY0NULL)) == 0)
            continue;
        k.mv_data = (void *) key;
        k.mv_size = strlen(key) + (size_t) nul;
        rc = mdb_del(dl->txn, dl->dbi, &k, NULL);
    }
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(dl->txn);
        dl->txn = NULL;
        return 1;
    }
    if (rc != 0) {
        set_why(dl, "delete from", rc);
        mdb_txn_abort(dl->txn);
        dl->txn = NULL;
        return -1;
    }
    return commit(dl);
}

/* seq_end - close the sequence cursor and its transaction */
static void seq_end(struct dict_lmdb *dl)
{
    if (dl->cursor)
        mdb_cursor_close(dl->cursor);
    if (dl->seq_txn)
        mdb_txn_abort(dl->seq_txn);
    dl->cursor = NULL;
    dl->seq_txn = NULL;
}

/* lmdb_sequence - walk the table in key order */
static int lmdb_sequence(struct dict *d, enum dict_seq func, const char **key,
                         const char **value)
{
    struct dict_lmdb *dl = (struct dict_lmdb *) d;
    MDB_val k;
    MDB_val v;
    int rc;

    if (func == DICT_SEQ_FIRST) {
        seq_end(dl);
        if (commit(dl) < 0)
            return -1;
        if ((rc = mdb_txn_begin(dl->env, NULL, MDB_RDONLY, &dl->seq_txn))
            != 0) {
            dl->seq_txn = NULL;
            set_why(dl, "read", rc);
            return -1;
        }
        if ((rc = mdb_cursor_open(dl->seq_txn, dl->dbi, &dl->cursor)) != 0) {
            dl->cursor = NULL;
            seq_end(dl);
            set_why(dl, "read", rc);
            return -1;
        }
    } else if (dl->cursor == NULL) {
        return 1;
    }
    rc = mdb_cursor_get(dl->cursor, &k, &v,
                        func == DICT_SEQ_FIRST ? MDB_FIRST : MDB_NEXT);
    if (rc != 0) {
        seq_end(dl);
        if (rc == MDB_NOTFOUND)
            return 1;
        set_why(dl, "read", rc);
        return -1;
    }
    copy_out(&dl->skey, &k);
    copy_out(&dl->sval, &v);
    *key = buf_str(&dl->skey);
    *value = buf_str(&dl->sval);
    return 0;
}

/* lmdb_sync - commit pending writes and flush them to disk */
static int lmdb_sync(struct dict *d)
{
    struct dict_lmdb *dl = (struct dict_lmdb *) d;
    int rc;

    if ((d->open_flags & O_ACCMODE) == O_RDONLY)
        return 0;
    if (commit(dl) < 0)
        return -1;
    if ((rc = mdb_env_sync(dl->env, 1)) != 0) {
        set_why(dl, "sync", rc);
        return -1;
    }
    return 0;
}

/* release - free everything but the base */
static void release(struct dict_lmdb *dl)
{
    seq_end(dl);
    if (dl->txn)
        mdb_txn_abort(dl->txn);
    if (dl->env)
        mdb_env_close(dl->env);
    if (dl->fd >= 0)
        (void) close(dl->fd);
    argv_free(dl->batch);
    mem_free(dl->path);
    mem_free(dl->tmp_path);
    mem_free(dl->target);
    mem_free(dl->label);
    buf_fini(&dl->skey);
    buf_fini(&dl->sval);
}

/* lmdb_close - close, and put a freshly built table in place */
static void lmdb_close(struct dict *d)
{
    struct dict_lmdb *dl = (struct dict_lmdb *) d;

    if ((d->open_flags & O_ACCMODE) != O_RDONLY && lmdb_sync(d) < 0)
        msg_fatal("close database %s: %s", dl->path, buf_str(&d->why));
    if (dl->tmp_path) {
        if (rename(dl->tmp_path, dl->target) < 0)
            msg_fatal("rename %s to %s: %m", dl->tmp_path, dl->target);
        dict_tmp_done(dl->tmp_path);
    }
    release(dl);
    dict_free_base(d);
}

/* lmdb_fail - undo a failed open; always NULL */
static struct dict *lmdb_fail(struct dict_lmdb *dl)
{
    if (dl->tmp_path)
        (void) unlink(dl->tmp_path);
    dict_tmp_done(dl->tmp_path);
    release(dl);
    dict_free_base(&dl->dict);
    return NULL;
}

/* dict_lmdb_open - open lmdb:NAME */
struct dict *dict_lmdb_open(const char *name, int open_flags, int dict_flags,
                            struct buf *why)
{
    struct dict_lmdb *dl;
    struct buf b = BUF_INIT;
    bool rdonly = (open_flags & O_ACCMODE) == O_RDONLY;
    bool build = !rdonly && (open_flags & O_TRUNC) && (open_flags & O_CREAT);
    bool truncate_it = false;
    unsigned env_flags = MDB_NOSUBDIR | MDB_NOLOCK;
    const char *file;
    MDB_envinfo info;
    MDB_txn *txn;
    struct stat st;
    int rc;

    if ((dict_flags & (DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL)) == 0)
        dict_flags |= DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL;
    dl = (struct dict_lmdb *) dict_alloc("lmdb", name, open_flags, dict_flags,
                                         sizeof(*dl));
    dl->fd = -1;
    dl->batch = argv_new();
    dl->map_size = LMDB_MAP_SIZE;
    buf_init(&dl->skey, 0);
    buf_init(&dl->sval, 0);
    buf_setf(&b, "%s.lmdb", name);
    dl->path = buf_steal(&b);
    buf_setf(&b, "lmdb:%s", name);
    dl->label = buf_steal(&b);
    if (build && dict_tmp_in_place(dl->target = dict_tmp_target(dl->path))) {
        /* Truncated under the lock below, then written in place. */
        build = false;
        truncate_it = true;
    }
    if (build) {
        buf_setf(&b, "%s.%ld.tmp", dl->target, (long) getpid());
        dl->tmp_path = buf_steal(&b);
        (void) unlink(dl->tmp_path);
        dict_tmp_add(dl->tmp_path);
        dl->fd =
            open(dl->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        file = dl->tmp_path;
    } else if (rdonly) {
        dl->fd = open(dl->path, O_RDONLY | O_CLOEXEC);
        file = dl->path;
        env_flags |= MDB_RDONLY;
    } else {
        dl->fd =
            open(dl->path, O_RDWR | O_CLOEXEC | (open_flags & O_CREAT), 0644);
        file = dl->path;
    }
    if (dl->fd < 0) {
        buf_setf(why, "open database %s: %m", dl->path);
        return lmdb_fail(dl);
    }
    if (flock(dl->fd, rdonly ? LOCK_SH : LOCK_EX) < 0
        || (truncate_it && ftruncate(dl->fd, 0) < 0)) {
        buf_setf(why, "lock database %s: %m", dl->path);
        return lmdb_fail(dl);
    }
    if ((rc = mdb_env_create(&dl->env)) != 0
        || (rc = mdb_env_set_mapsize(dl->env, dl->map_size)) != 0
        || (rc = mdb_env_open(dl->env, file, env_flags, 0644)) != 0) {
        buf_setf(why, "open database %s: %s", dl->path, mdb_strerror(rc));
        return lmdb_fail(dl);
    }
    if (mdb_env_info(dl->env, &info) == 0 && info.me_mapsize > dl->map_size)
        dl->map_size = info.me_mapsize;
    if ((rc = mdb_txn_begin(dl->env, NULL, rdonly ? MDB_RDONLY : 0, &txn))
        != 0) {
        buf_setf(why, "open database %s: %s", dl->path, mdb_strerror(rc));
        return lmdb_fail(dl);
    }
    if ((rc = mdb_dbi_open(txn, NULL, rdonly ? 0 : MDB_CREATE, &dl->dbi)) != 0
        || (rc = mdb_txn_commit(txn)) != 0) {
        if (rc != 0)
            buf_setf(why, "open database %s: %s", dl->path, mdb_strerror(rc));
        return lmdb_fail(dl);
    }
    if (rdonly)
        (void) flock(dl->fd, LOCK_UN);
    if (fstat(dl->fd, &st) == 0)
        dl->dict.mtime = st.st_mtime;
    if (!build)
        dict_set_file(&dl->dict, dl->path);
    dl->dict.ops.lookup = lmdb_lookup;
    dl->dict.ops.update = lmdb_update;
    dl->dict.ops.delete = lmdb_delete;
    dl->dict.ops.sequence = lmdb_sequence;
    dl->dict.ops.sync = lmdb_sync;
    dl->dict.ops.close = lmdb_close;
    return &dl->dict;
}
