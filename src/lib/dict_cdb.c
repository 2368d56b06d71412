/*
 * dict_cdb - cdb: constant databases (NAME.cdb) with tinycdb.
 *
 * As in Postfix, a cdb table is either read (O_RDONLY) or created from
 * scratch (O_CREAT|O_TRUNC); it cannot be updated in place, and it has no
 * sequence operation.  Keys and values are stored without a trailing NUL by
 * default (DICT_FLAG_TRY0NULL); a reader given neither flag tries both.
 *
 * A build writes NAME.cdb.PID.tmp and renames it over NAME.cdb at close, so
 * readers see the old table or the new one, never a partial file.
 */
#include "dict_impl.h"

#include <cdb.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict_tmp.h"
#include "mem.h"
#include "msg.h"

struct dict_cdb {
    struct dict dict;
    struct cdb cdb;       /* reader */
    struct cdb_make make; /* writer */
    bool writing;
    int fd;
    char *path;     /* owned: NAME.cdb */
    char *tmp_path; /* owned: the file being built */
    char *target;   /* owned: the file a build replaces (links followed) */
};

/* cdb_lookup - find KEY, trying the NUL forms the flags allow */
static enum lk_result cdb_lookup(struct dict *d, const char *key,
                                 struct buf *value)
{
    struct dict_cdb *dc = (struct dict_cdb *) d;
    size_t klen = strlen(key);
    int rc;

    for (int nul = 0; nul <= 1; nul++) {
        if ((d->flags & (nul ? DICT_FLAG_TRY1NULL : DICT_FLAG_TRY0NULL)) == 0)
            continue;
        rc = cdb_find(&dc->cdb, key, (unsigned) (klen + (size_t) nul));
        if (rc < 0) {
            buf_setf(&d->why, "error reading %s: %m", dc->path);
            return LK_TEMPFAIL;
        }
        if (rc > 0) {
            unsigned len = cdb_datalen(&dc->cdb);
            const char *p = cdb_getdata(&dc->cdb);

            if (len > 0 && p[len - 1] == 0)
                len--;
            d->flags &= nul ? ~DICT_FLAG_TRY0NULL : ~DICT_FLAG_TRY1NULL;
            buf_reset(value);
            buf_catn(value, p, len);
            return LK_FOUND;
        }
    }
    return LK_NOTFOUND;
}

/* cdb_lookup_unready - a table being built cannot be read yet */
static enum lk_result cdb_lookup_unready(struct dict *d, const char *key,
                                         struct buf *value)
{
    (void) key;
    (void) value;
    buf_setf(&d->why,
             "table cdb:%s: lookup is not possible while the table "
             "is being built",
             d->name);
    return LK_TEMPFAIL;
}

/* cdb_update - add KEY=VALUE to the table being built */
static int cdb_update(struct dict *d, const char *key, const char *value)
{
    struct dict_cdb *dc = (struct dict_cdb *) d;
    /* Both forms allowed: cdb's own default is no NUL. */
    bool nul = (d->flags & DICT_FLAG_TRY0NULL) == 0;
    unsigned klen = (unsigned) (strlen(key) + (nul ? 1 : 0));
    unsigned vlen = (unsigned) (strlen(value) + (nul ? 1 : 0));
    enum cdb_put_mode mode =
        (d->flags & DICT_FLAG_DUP_REPLACE) ? CDB_PUT_REPLACE : CDB_PUT_INSERT;
    int rc;

    if (!nul)
        d->flags &= ~DICT_FLAG_TRY1NULL;
    rc = cdb_make_put(&dc->make, key, klen, value, vlen, mode);
    if (rc < 0) {
        buf_setf(&d->why, "error writing %s: %m", dc->tmp_path);
        return -1;
    }
    if (rc == 0)
        return 0;
    if ((d->flags & (DICT_FLAG_DUP_REPLACE | DICT_FLAG_DUP_IGNORE)) == 0)
        msg_warn("%s: duplicate entry: \"%s\"", d->name, key);
    return 1;
}

/* release - free everything but the base */
static void release(struct dict_cdb *dc)
{
    if (dc->fd >= 0) {
        if (!dc->writing)
            cdb_free(&dc->cdb);
        (void) close(dc->fd);
    }
    mem_free(dc->path);
    mem_free(dc->tmp_path);
    mem_free(dc->target);
}

/* cdb_close - finish a build and rename it in place */
static void cdb_close(struct dict *d)
{
    struct dict_cdb *dc = (struct dict_cdb *) d;

    if (dc->writing) {
        if (cdb_make_finish(&dc->make) < 0)
            msg_fatal("close database %s: %m", dc->tmp_path);
        if (fsync(dc->fd) < 0)
            msg_fatal("fsync %s: %m", dc->tmp_path);
        if (rename(dc->tmp_path, dc->target) < 0)
            msg_fatal("rename %s to %s: %m", dc->tmp_path, dc->target);
        dict_tmp_done(dc->tmp_path);
    }
    release(dc);
    dict_free_base(d);
}

/* dict_cdb_open - open cdb:NAME for reading or for a fresh build */
struct dict *dict_cdb_open(const char *name, int open_flags, int dict_flags,
                           struct buf *why)
{
    struct dict_cdb *dc;
    struct buf b = BUF_INIT;
    int acc = open_flags & O_ACCMODE;
    struct stat st;

    if (acc != O_RDONLY
        && (open_flags & (O_CREAT | O_TRUNC)) != (O_CREAT | O_TRUNC)) {
        buf_set(why, "dict_cdb_open: inappropriate open flags for cdb "
                     "database - specify O_RDONLY or O_WRONLY|O_CREAT|O_TRUNC");
        return NULL;
    }
    if ((dict_flags & (DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL)) == 0)
        dict_flags |= DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL;
    dc = (struct dict_cdb *) dict_alloc("cdb", name, open_flags, dict_flags,
                                        sizeof(*dc));
    buf_setf(&b, "%s.cdb", name);
    dc->path = buf_steal(&b);
    if (acc == O_RDONLY) {
        if ((dc->fd = open(dc->path, O_RDONLY | O_CLOEXEC)) < 0
            || cdb_init(&dc->cdb, dc->fd) < 0) {
            buf_setf(why, "open database %s: %m", dc->path);
            if (dc->fd >= 0)
                (void) close(dc->fd);
            dc->fd = -1;
            release(dc);
            dict_free_base(&dc->dict);
            return NULL;
        }
        if (fstat(dc->fd, &st) == 0)
            dc->dict.mtime = st.st_mtime;
        dict_set_file(&dc->dict, dc->path);
        /* Postfix names an open cdb reader after its file in messages. */
        mem_free(dc->dict.name);
        dc->dict.name = mem_strdup(dc->path);
        dc->dict.ops.lookup = cdb_lookup;
    } else {
        dc->target = dict_tmp_target(dc->path);
        buf_setf(&b, "%s.%ld.tmp", dc->target, (long) getpid());
        dc->tmp_path = buf_steal(&b);
        (void) unlink(dc->tmp_path);
        dict_tmp_add(dc->tmp_path);
        dc->fd =
            open(dc->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (dc->fd < 0 || cdb_make_start(&dc->make, dc->fd) < 0) {
            buf_setf(why, "open database %s: %m", dc->path);
            if (dc->fd >= 0) {
                (void) close(dc->fd);
                (void) unlink(dc->tmp_path);
                dict_tmp_done(dc->tmp_path);
            }
            dc->fd = -1;
            release(dc);
            dict_free_base(&dc->dict);
            return NULL;
        }
        dc->writing = true;
        dc->dict.ops.lookup = cdb_lookup_unready;
        dc->dict.ops.update = cdb_update;
    }
    dc->dict.ops.close = cdb_close;
    return &dc->dict;
}
