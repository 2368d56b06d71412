#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"

/* fail - append "WHAT PATH: strerror" to WHY, keep errno, return -1 */
static int fail(struct buf *why, const char *what, const char *path)
{
    int saved = errno;

    if (why != NULL)
        buf_catf(why, "%s %s: %s", what, path ? path : "(fd)", strerror(saved));
    errno = saved;
    return -1;
}

/* fs_fsync - fsync a file */
int fs_fsync(int fd, const char *path, struct buf *why)
{
    while (fsync(fd) < 0) {
        if (errno != EINTR)
            return fail(why, "fsync", path);
    }
    return 0;
}

/* fs_fsync_dir - fsync a folder so that its entries are durable */
int fs_fsync_dir(const char *dir, struct buf *why)
{
    int fd;
    int rc;

    while ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        if (errno != EINTR)
            return fail(why, "open folder", dir);
    }
    rc = fs_fsync(fd, dir, why);
    (void) close(fd);
    return rc;
}

/* fs_dirname - the folder part of a path */
void fs_dirname(const char *path, struct buf *out)
{
    const char *slash = strrchr(path, '/');

    buf_reset(out);
    if (slash == NULL)
        buf_cat(out, ".");
    else if (slash == path)
        buf_cat(out, "/");
    else
        buf_catn(out, path, (size_t) (slash - path));
}

/* fs_fsync_parent - fsync the folder that holds PATH */
int fs_fsync_parent(const char *path, struct buf *why)
{
    struct buf dir = BUF_INIT;
    int rc;

    fs_dirname(path, &dir);
    rc = fs_fsync_dir(buf_str(&dir), why);
    buf_fini(&dir);
    return rc;
}

/* fs_write_all - write everything, continuing short writes */
int fs_write_all(int fd, const void *p, size_t len, const char *path,
                 struct buf *why)
{
    const char *cp = p;
    ssize_t n;

    while (len > 0) {
        if ((n = write(fd, cp, len)) < 0) {
            if (errno == EINTR)
                continue;
            return fail(why, "write", path);
        }
        cp += n;
        len -= (size_t) n;
    }
    return 0;
}

/* fs_pwrite_all - pwrite everything at an offset */
int fs_pwrite_all(int fd, const void *p, size_t len, off_t offset,
                  const char *path, struct buf *why)
{
    const char *cp = p;
    ssize_t n;

    while (len > 0) {
        if ((n = pwrite(fd, cp, len, offset)) < 0) {
            if (errno == EINTR)
                continue;
            return fail(why, "write", path);
        }
        cp += n;
        len -= (size_t) n;
        offset += n;
    }
    return 0;
}

/* fs_read_all - read to the end, bounded by MAX */
int fs_read_all(int fd, size_t max, struct buf *out, const char *path,
                struct buf *why)
{
    char chunk[65536];
    size_t got = 0;
    ssize_t n;

    for (;;) {
        if ((n = read(fd, chunk, sizeof(chunk))) < 0) {
            if (errno == EINTR)
                continue;
            return fail(why, "read", path);
        }
        if (n == 0)
            return 0;
        if ((size_t) n > max - got) {
            errno = EFBIG;
            return fail(why, "read", path);
        }
        got += (size_t) n;
        buf_catn(out, chunk, (size_t) n);
    }
}

/* fsync_two - fsync the folders of TO and FROM (once when the same) */
static int fsync_two(const char *from, const char *to, struct buf *why)
{
    struct buf d1 = BUF_INIT;
    struct buf d2 = BUF_INIT;
    int rc;

    fs_dirname(to, &d1);
    fs_dirname(from, &d2);
    rc = fs_fsync_dir(buf_str(&d1), why);
    if (rc == 0 && strcmp(buf_str(&d1), buf_str(&d2)) != 0)
        rc = fs_fsync_dir(buf_str(&d2), why);
    buf_fini(&d1);
    buf_fini(&d2);
    return rc;
}

/* fs_rename_durable - rename, then fsync both folders */
int fs_rename_durable(const char *from, const char *to, struct buf *why)
{
    if (rename(from, to) < 0) {
        int saved = errno;

        if (why != NULL)
            buf_catf(why, "rename %s to %s: %s", from, to, strerror(saved));
        errno = saved;
        return -1;
    }
    return fsync_two(from, to, why);
}

/* fs_rename_noreplace - rename that never replaces an existing name */
int fs_rename_noreplace(const char *from, const char *to, struct buf *why)
{
    int saved;

    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EINVAL || errno == ENOSYS) {
        /* A file system without RENAME_NOREPLACE: link() never replaces. */
        if (link(from, to) == 0) {
            if (unlink(from) == 0)
                return 0;
            saved = errno;
            (void) unlink(to);
            errno = saved;
        }
    }
    saved = errno;
    if (why != NULL)
        buf_catf(why, "rename %s to %s: %s", from, to, strerror(saved));
    errno = saved;
    return -1;
}

/* fs_safe_open - open a file in a folder others can write, safely */
int fs_safe_open(const char *path, int flags, mode_t mode, uid_t owner,
                 struct stat *st, struct buf *why)
{
    struct stat sb;
    int fd;
    int fl;

    flags |= O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    while ((fd = open(path, flags, mode)) < 0) {
        if (errno != EINTR)
            return fail(why, "open", path);
    }
    if (fstat(fd, &sb) < 0) {
        (void) fail(why, "fstat", path);
        goto bad;
    }
    if (!S_ISREG(sb.st_mode)) {
        errno = EINVAL;
        if (why != NULL)
            buf_catf(why, "open %s: not a regular file", path);
        goto bad;
    }
    if (sb.st_nlink != 1) {
        errno = EPERM;
        if (why != NULL)
            buf_catf(why, "open %s: file has %lu hard links", path,
                     (unsigned long) sb.st_nlink);
        goto bad;
    }
    if (owner != FS_ANY_OWNER && sb.st_uid != owner) {
        errno = EPERM;
        if (why != NULL)
            buf_catf(why, "open %s: file is owned by uid %lu, not %lu", path,
                     (unsigned long) sb.st_uid, (unsigned long) owner);
        goto bad;
    }
    if ((fl = fcntl(fd, F_GETFL)) < 0
        || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        (void) fail(why, "fcntl", path);
        goto bad;
    }
    if (st != NULL)
        *st = sb;
    return fd;

bad : {
    int saved = errno;

    /* A file we just created and then refused is ours to remove. */
    if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
        (void) unlink(path);
    (void) close(fd);
    errno = saved;
}
    return -1;
}

/* fs_mkdirs - mkdir -p with a mode, durable */
int fs_mkdirs(const char *path, mode_t mode, struct buf *why)
{
    struct buf part = BUF_INIT;
    struct stat sb;
    const char *p = path;
    int rc = -1;

    if (*path == 0) {
        errno = ENOENT;
        return fail(why, "mkdir", path);
    }
    for (;;) {
        const char *slash = strchr(p + (*p == '/'), '/');
        size_t len = slash ? (size_t) (slash - path) : strlen(path);

        buf_reset(&part);
        buf_catn(&part, path, len);
        if (buf_len(&part) > 0 && mkdir(buf_str(&part), mode) == 0) {
            if (chmod(buf_str(&part), mode) < 0) {
                (void) fail(why, "chmod", buf_str(&part));
                goto out;
            }
            if (fs_fsync_parent(buf_str(&part), why) < 0)
                goto out;
        } else if (buf_len(&part) > 0) {
            if (errno != EEXIST) {
                (void) fail(why, "mkdir", buf_str(&part));
                goto out;
            }
            if (stat(buf_str(&part), &sb) < 0) {
                (void) fail(why, "stat", buf_str(&part));
                goto out;
            }
            if (!S_ISDIR(sb.st_mode)) {
                errno = ENOTDIR;
                (void) fail(why, "mkdir", buf_str(&part));
                goto out;
            }
        }
        if (slash == NULL)
            break;
        p = slash;
        while (p[1] == '/')
            p++;
        if (p[1] == 0)
            break;
    }
    rc = 0;
out:
    buf_fini(&part);
    return rc;
}

/* fs_atomic_open - create the temporary file of a create-then-rename */
int fs_atomic_open(struct fs_atomic *a, const char *final, mode_t mode,
                   struct buf *why)
{
    static unsigned long seq;
    struct buf tmp = BUF_INIT;

    a->fd = -1;
    a->tmp_path = NULL;
    a->path = NULL;
    for (int tries = 0; tries < 100; tries++) {
        buf_setf(&tmp, "%s.tmp.%ld.%lu", final, (long) getpid(), ++seq);
        a->fd =
            open(buf_str(&tmp),
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (a->fd >= 0 || (errno != EEXIST && errno != EINTR))
            break;
    }
    if (a->fd < 0) {
        (void) fail(why, "create", buf_str(&tmp));
        buf_fini(&tmp);
        return -1;
    }
    a->tmp_path = buf_steal(&tmp);
    a->path = mem_strdup(final);
    buf_fini(&tmp);
    return 0;
}

/* release - close and forget the paths */
static void release(struct fs_atomic *a)
{
    if (a->fd >= 0)
        (void) close(a->fd);
    a->fd = -1;
    mem_free(a->tmp_path);
    mem_free(a->path);
    a->tmp_path = a->path = NULL;
}

/* fs_atomic_commit - fsync, rename into place, fsync the folder */
int fs_atomic_commit(struct fs_atomic *a, struct buf *why)
{
    int rc = -1;

    if (a->fd < 0 || a->tmp_path == NULL)
        msg_panic("fs_atomic_commit: not open");
    if (fs_fsync(a->fd, a->tmp_path, why) < 0)
        goto bad;
    if (close(a->fd) < 0) {
        a->fd = -1;
        (void) fail(why, "close", a->tmp_path);
        goto bad;
    }
    a->fd = -1;
    if (fs_rename_durable(a->tmp_path, a->path, why) < 0)
        goto bad;
    rc = 0;
    release(a);
    return rc;
bad:
    (void) unlink(a->tmp_path);
    release(a);
    return rc;
}

/* fs_atomic_abort - remove the temporary file */
void fs_atomic_abort(struct fs_atomic *a)
{
    if (a->tmp_path != NULL)
        (void) unlink(a->tmp_path);
    release(a);
}
