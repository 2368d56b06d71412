/* mbox - append to a UNIX mailbox file (see mbox.h) */
#include "mbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/msg.h"

#include "conf.h"

struct mbox {
    char *path; /* owned */
    int fd;
    unsigned locks; /* the locks held */
    off_t size;     /* where the next message starts */
    off_t limit;
};

/* open_fail - record an open-stage failure */
static void open_fail(struct deliver_status *st, const char *dsn, int err)
{
    deliver_status_set(st, dsn, err);
}

/* mbox_opts_conf - options from main.cf */
int mbox_opts_conf(struct mbox_opts *o, const char *lock_param,
                   const char *limit_param, struct buf *why)
{
    static const struct mbox_opts init = MBOX_OPTS_INIT;
    unsigned locks;
    long delay;

    if (lock_methods_parse(lock_param, conf_str(lock_param), &locks, why) < 0)
        return -1;
    *o = init;
    o->locks = locks;
    o->retry.attempts = (int) conf_int("deliver_lock_attempts");
    delay = conf_time("deliver_lock_delay");
    o->retry.delay_ms = delay > 3600 ? 3600000u : (unsigned) delay * 1000u;
    o->retry.stale_sec = conf_time("stale_lock_time");
    o->size_limit = (off_t) conf_size(limit_param);
    return 0;
}

/* same_file - whether two stat results name the same inode */
static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* safe_open - open or create PATH for append, with Postfix's checks */
static int safe_open(const char *path, const struct mbox_opts *o,
                     struct deliver_status *st, struct buf *why)
{
    const int flags = O_WRONLY | O_APPEND | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    struct stat fst, lst;
    bool created = false;
    int fd, err;

    if ((fd = open(path, flags)) < 0 && errno == ENOENT) {
        if ((fd = open(path, flags | O_CREAT | O_EXCL, o->mode)) >= 0)
            created = true;
        else if (errno == EEXIST) /* lost a race: or a dangling symlink */
            fd = open(path, flags);
    }
    if (fd < 0) {
        err = errno;
        buf_setf(why, "cannot open file: %s", strerror(err));
        deliver_status_errno(st, err, "5.2.0");
        return -1;
    }
    if (fstat(fd, &fst) < 0) {
        err = errno;
        buf_setf(why, "cannot fstat file: %s", strerror(err));
        open_fail(st, "4.2.0", err);
        goto fail;
    }
    if (lstat(path, &lst) < 0) {
        err = errno;
        buf_setf(why, "file status changed unexpectedly: %s", strerror(err));
        open_fail(st, "4.2.0", err);
        goto fail;
    }
    if (S_ISLNK(lst.st_mode)) {
        /* Only root's links are trusted: a user's link could point a
         * root-privileged append at any file. */
        if (lst.st_uid != 0) {
            buf_set(why, "file is a symbolic link");
            open_fail(st, "5.2.0", 0);
            goto fail;
        }
        if (stat(path, &lst) < 0) {
            err = errno;
            buf_setf(why, "file status changed unexpectedly: %s",
                     strerror(err));
            open_fail(st, "4.2.0", err);
            goto fail;
        }
    }
    if (!same_file(&fst, &lst)) {
        buf_set(why, "file status changed unexpectedly");
        open_fail(st, "4.2.0", 0);
        goto fail;
    }
    if (!S_ISREG(fst.st_mode)) {
        buf_setf(why, "destination %s is not a regular file", path);
        open_fail(st, "5.2.0", 0);
        goto fail;
    }
    if (fst.st_nlink > 1) {
        buf_setf(why, "file has %lu hard links", (unsigned long) fst.st_nlink);
        open_fail(st, "5.2.0", 0);
        goto fail;
    }
    if (created && (o->chown_uid != (uid_t) -1 || o->chown_gid != (gid_t) -1)
        && fchown(fd, o->chown_uid, o->chown_gid) < 0) {
        err = errno;
        buf_setf(why, "cannot change ownership of new file %s: %s", path,
                 strerror(err));
        open_fail(st, "4.2.0", err);
        (void) unlink(path);
        goto fail;
    }
    if (!created && o->owner != (uid_t) -1 && fst.st_uid != o->owner) {
        buf_setf(why, "destination %s is not owned by recipient", path);
        open_fail(st, "4.2.0", 0);
        goto fail;
    }
    /* O_NONBLOCK only kept open() from hanging on a FIFO. */
    if (fcntl(fd, F_SETFL, O_WRONLY | O_APPEND) < 0) {
        err = errno;
        buf_setf(why, "cannot set file flags: %s", strerror(err));
        open_fail(st, "4.2.0", err);
        goto fail;
    }
    return fd;

fail:
    close(fd);
    return -1;
}

/* mbox_open - lock and open */
struct mbox *mbox_open(const char *path, const struct mbox_opts *opts,
                       struct deliver_status *st, struct buf *why)
{
    struct mbox *mb;
    int fd, err;
    off_t size;

    if ((opts->locks & LOCK_METHOD_DOTLOCK)
        && lock_dot_acquire(path, &opts->retry, why) < 0) {
        deliver_status_errno(st, errno, "4.2.0");
        return NULL;
    }
    if ((fd = safe_open(path, opts, st, why)) < 0)
        goto unlock_dot;
    if (lock_fd(fd, opts->locks & LOCK_METHOD_KERNEL, &opts->retry, why) < 0) {
        deliver_status_errno(st, errno, "4.2.0");
        close(fd);
        goto unlock_dot;
    }
    if ((size = lseek(fd, 0, SEEK_END)) < 0) {
        err = errno;
        buf_setf(why, "cannot find the end of the file: %s", strerror(err));
        deliver_status_set(st, "4.2.0", err);
        lock_fd_release(fd, opts->locks);
        close(fd);
        goto unlock_dot;
    }
    mb = mem_zalloc(sizeof(*mb));
    mb->path = mem_strdup(path);
    mb->fd = fd;
    mb->locks = opts->locks;
    mb->size = size;
    mb->limit = opts->size_limit;
    deliver_status_set(st, "2.0.0", 0);
    return mb;

unlock_dot:
    if (opts->locks & LOCK_METHOD_DOTLOCK) {
        err = errno;
        (void) lock_dot_release(path, NULL);
        errno = err;
    }
    return NULL;
}

/* mbox_append - one message, truncated back on failure */
int mbox_append(struct mbox *mb, const struct deliver_env *env,
                unsigned hdr_flags, struct deliver_src *src,
                struct deliver_status *st, struct buf *why)
{
    struct stat fst;

    if (deliver_copy(mb->fd, mb->size, mb->limit, env, hdr_flags,
                     DELIVER_COPY_QUOTE | DELIVER_COPY_BLANK, src, st, why)
        < 0) {
        if (ftruncate(mb->fd, mb->size) < 0)
            msg_warn("%s: cannot truncate to %lld bytes after a failed "
                     "delivery: %m",
                     mb->path, (long long) mb->size);
        return -1;
    }
    if (fstat(mb->fd, &fst) == 0)
        mb->size = fst.st_size;
    return 0;
}

/* mbox_size - the current size */
off_t mbox_size(const struct mbox *mb)
{
    return mb->size;
}

/* mbox_close - unlock and close */
void mbox_close(struct mbox *mb)
{
    struct buf why = BUF_INIT;

    if (mb == NULL)
        return;
    lock_fd_release(mb->fd, mb->locks);
    if (close(mb->fd) < 0)
        msg_warn("%s: close: %m", mb->path);
    if ((mb->locks & LOCK_METHOD_DOTLOCK)
        && lock_dot_release(mb->path, &why) < 0)
        msg_warn("%s", buf_str(&why));
    buf_fini(&why);
    mem_free(mb->path);
    mem_free(mb);
}

/* mbox_deliver - open, append, close */
int mbox_deliver(const char *path, const struct mbox_opts *opts,
                 const struct deliver_env *env, struct deliver_src *src,
                 struct deliver_status *st, struct buf *why)
{
    struct mbox *mb;
    int ret;

    if ((mb = mbox_open(path, opts, st, why)) == NULL)
        return -1;
    ret = mbox_append(mb, env, DELIVER_HDR_MBOX, src, st, why);
    mbox_close(mb);
    return ret;
}
