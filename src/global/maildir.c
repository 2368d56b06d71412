/* maildir - crash-safe Maildir delivery (see maildir.h) */
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/msg.h"

/* maildir_hostname - escape "/" and ":" */
void maildir_hostname(struct buf *out, const char *host)
{
    for (; *host; host++) {
        if (*host == '/')
            buf_cat(out, "\\057");
        else if (*host == ':')
            buf_cat(out, "\\072");
        else
            buf_catc(out, *host);
    }
}

/* make_dir - mkdir PATH (0700) unless it is there */
static int make_dir(const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* make_dirs - DIR and the SUBS under it; -1 with errno */
static int make_dirs(const char *dir, const char *const *subs, size_t n)
{
    struct buf p = BUF_INIT;
    size_t i;
    int ret = 0;

    if (make_dir(dir) < 0)
        ret = -1;
    for (i = 0; ret == 0 && i < n; i++) {
        buf_setf(&p, "%s/%s", dir, subs[i]);
        if (make_dir(buf_str(&p)) < 0)
            ret = -1;
    }
    buf_fini(&p);
    return ret;
}

/* fail_create - the status of a failed create or link */
static void fail_create(const struct maildir_opts *o, const char *path, int err,
                        struct deliver_status *st, struct buf *why)
{
    buf_setf(why, "create maildir file %s: %s", path, strerror(err));
    if (err == EACCES && (o->flags & MAILDIR_FLAG_EACCES_BOUNCE))
        deliver_status_set(st, "5.2.0", err);
    else
        deliver_status_errno(st, err, "4.2.0");
}

/* sync_dir - fsync a directory */
static int sync_dir(const char *path)
{
    int fd, err;

    if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    if (fsync(fd) < 0) {
        err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return close(fd);
}

/* maildir_deliver - tmp/, fsync, link into new/, fsync new/ */
int maildir_deliver(const char *dir, const struct maildir_opts *opts,
                    const struct deliver_env *env, struct deliver_src *src,
                    struct buf *new_path, struct deliver_status *st,
                    struct buf *why)
{
    static const char *const all[] = {"tmp", "new", "cur"};
    static const char *const cur_new[] = {"cur", "new"};
    char hostbuf[HOST_NAME_MAX + 1];
    struct buf base = BUF_INIT; /* DIR without trailing slashes */
    struct buf host = BUF_INIT;
    struct buf tmp = BUF_INIT;
    struct buf newp = BUF_INIT;
    struct buf newdir = BUF_INIT;
    struct timeval tv;
    struct stat fst;
    int fd = -1, err, ret = -1;
    bool made = false; /* the tmp file is ours to remove */
    bool linked = false;
    size_t len = strlen(dir);

    while (len > 1 && dir[len - 1] == '/')
        len--;
    buf_catn(&base, dir, len);
    if (opts->hostname) {
        maildir_hostname(&host, opts->hostname);
    } else {
        if (gethostname(hostbuf, sizeof(hostbuf)) < 0)
            msg_fatal("gethostname: %m");
        hostbuf[sizeof(hostbuf) - 1] = 0;
        maildir_hostname(&host, hostbuf);
    }
    gettimeofday(&tv, NULL);
    buf_setf(&tmp, "%s/tmp/%lld.P%ld.%s", buf_str(&base), (long long) tv.tv_sec,
             (long) getpid(), buf_str(&host));
    buf_setf(&newdir, "%s/new", buf_str(&base));

    fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT) {
        if (make_dirs(buf_str(&base), all, NELEM(all)) == 0)
            fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                      0600);
    }
    if (fd < 0) {
        fail_create(opts, buf_str(&tmp), errno, st, why);
        goto out;
    }
    made = true;
    if (fstat(fd, &fst) < 0) {
        err = errno;
        buf_setf(why, "cannot fstat maildir file %s: %s", buf_str(&tmp),
                 strerror(err));
        deliver_status_set(st, "4.2.0", err);
        goto out;
    }
    if (deliver_copy(fd, 0, opts->size_limit, env, DELIVER_HDR_MAILDIR, 0, src,
                     st, why)
        < 0)
        goto out;
    err = close(fd) < 0 ? errno : 0;
    fd = -1;
    if (err) {
        buf_setf(why, "error writing message: %s", strerror(err));
        deliver_status_errno(st, err, "4.2.0");
        goto out;
    }
    buf_setf(&newp, "%s/%lld.V%llxI%llxM%ld.%s", buf_str(&newdir),
             (long long) tv.tv_sec, (unsigned long long) fst.st_dev,
             (unsigned long long) fst.st_ino, (long) tv.tv_usec,
             buf_str(&host));
    if (link(buf_str(&tmp), buf_str(&newp)) < 0) {
        if (errno != ENOENT
            || make_dirs(buf_str(&base), cur_new, NELEM(cur_new)) < 0
            || link(buf_str(&tmp), buf_str(&newp)) < 0) {
            fail_create(opts, buf_str(&newp), errno, st, why);
            goto out;
        }
    }
    linked = true;
    if (sync_dir(buf_str(&newdir)) < 0) {
        err = errno;
        buf_setf(why, "cannot sync maildir directory %s: %s", buf_str(&newdir),
                 strerror(err));
        deliver_status_errno(st, err, "4.2.0");
        goto out;
    }
    if (new_path)
        buf_set(new_path, buf_str(&newp));
    deliver_status_set(st, "2.0.0", 0);
    ret = 0;

out:
    if (fd >= 0)
        close(fd);
    /* The tmp name goes in every case: on success new/ holds the message,
     * on failure nothing may stay. */
    if (made && unlink(buf_str(&tmp)) < 0 && errno != ENOENT)
        msg_warn("remove %s: %m", buf_str(&tmp));
    if (ret < 0 && linked && unlink(buf_str(&newp)) < 0)
        msg_warn("remove %s: %m", buf_str(&newp));
    buf_fini(&base);
    buf_fini(&host);
    buf_fini(&tmp);
    buf_fini(&newp);
    buf_fini(&newdir);
    return ret;
}
