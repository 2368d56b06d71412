/* lock - exclusive mailbox locks (see lock.h for the protocol) */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "mem.h"

static const struct {
    const char *name;
    unsigned bit;
} lock_names[] = {
    {"flock", LOCK_METHOD_FLOCK},
    {"fcntl", LOCK_METHOD_FCNTL},
    {"dotlock", LOCK_METHOD_DOTLOCK},
};

/* lock_methods_parse - the mask of a method list */
int lock_methods_parse(const char *param, const char *list, unsigned *mask,
                       struct buf *why)
{
    struct argv *a = argv_split(list, ", \t\r\n");
    unsigned m = 0;
    size_t i, j;

    for (i = 0; i < a->argc; i++) {
        for (j = 0; j < NELEM(lock_names); j++) {
            if (span_caseeq(span_of(a->argv[i]), lock_names[j].name))
                break;
        }
        if (j == NELEM(lock_names)) {
            buf_setf(why,
                     "%s: unknown locking method \"%s\" (the methods are "
                     "flock, fcntl and dotlock)",
                     param, a->argv[i]);
            argv_free(a);
            return -1;
        }
        m |= lock_names[j].bit;
    }
    argv_free(a);
    *mask = m;
    return 0;
}

/* lock_sleep_jitter - sleep a random time in [delay/2, 3*delay/2) */
void lock_sleep_jitter(unsigned delay_ms)
{
    static uint32_t state;
    struct timespec ts;
    uint64_t ms;

    if (delay_ms == 0)
        return;
    if (state == 0) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        state = (uint32_t) getpid() * 2654435761u ^ (uint32_t) ts.tv_nsec;
        if (state == 0)
            state = 1;
    }
    /* xorshift32: jitter only, no secrecy needed */
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    ms = delay_ms / 2 + state % delay_ms;
    ts.tv_sec = (time_t) (ms / 1000);
    ts.tv_nsec = (long) (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        continue;
}

/* attempts_of - at least one attempt */
static int attempts_of(const struct lock_retry *retry)
{
    return retry->attempts < 1 ? 1 : retry->attempts;
}

/* try_kernel - one non-blocking attempt at one kernel lock */
static int try_kernel(int fd, unsigned bit)
{
    struct flock fl;

    if (bit == LOCK_METHOD_FLOCK)
        return flock(fd, LOCK_EX | LOCK_NB);
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    return fcntl(fd, F_SETLK, &fl);
}

/* busy - whether ERRNO says the lock is held by someone else */
static bool busy(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == EACCES;
}

/* lock_fd - take the kernel locks, flock before fcntl */
int lock_fd(int fd, unsigned methods, const struct lock_retry *retry,
            struct buf *why)
{
    static const unsigned order[] = {LOCK_METHOD_FLOCK, LOCK_METHOD_FCNTL};
    unsigned held = 0;
    size_t i;
    int n, err;

    for (i = 0; i < NELEM(order); i++) {
        if (!(methods & order[i]))
            continue;
        for (n = 1;; n++) {
            if (try_kernel(fd, order[i]) == 0)
                break;
            err = errno;
            if (!busy(err) || n >= attempts_of(retry)) {
                /* fcntl says EACCES on some systems for a busy lock */
                if (err == EACCES)
                    err = EAGAIN;
                lock_fd_release(fd, held);
                buf_setf(why, "unable to lock for exclusive access: %s",
                         strerror(err));
                errno = err;
                return -1;
            }
            lock_sleep_jitter(retry->delay_ms);
        }
        held |= order[i];
    }
    return 0;
}

/* lock_fd_release - release the kernel locks */
void lock_fd_release(int fd, unsigned methods)
{
    struct flock fl;
    int saved = errno;

    if (methods & LOCK_METHOD_FCNTL) {
        memset(&fl, 0, sizeof(fl));
        fl.l_type = F_UNLCK;
        fl.l_whence = SEEK_SET;
        (void) fcntl(fd, F_SETLK, &fl);
    }
    if (methods & LOCK_METHOD_FLOCK)
        (void) flock(fd, LOCK_UN);
    errno = saved;
}

/* lock_dot_acquire - the .lock file protocol */
int lock_dot_acquire(const char *path, const struct lock_retry *retry,
                     struct buf *why)
{
    struct buf lock_path = BUF_INIT;
    struct stat st;
    int n, fd, err;

    buf_setf(&lock_path, "%s.lock", path);
    for (n = 1;; n++) {
        if ((fd = open(buf_str(&lock_path), O_WRONLY | O_CREAT | O_EXCL, 0))
            >= 0) {
            close(fd);
            buf_fini(&lock_path);
            return 0;
        }
        err = errno;
        if (err != EEXIST || n >= attempts_of(retry))
            break;
        /* A lock whose creator died would block the mailbox for ever. */
        if (stat(buf_str(&lock_path), &st) == 0
            && time(NULL) - st.st_ctime > retry->stale_sec) {
            if (unlink(buf_str(&lock_path)) < 0 && errno != ENOENT) {
                err = errno;
                buf_setf(why, "unable to remove stale lock file %s: %s",
                         buf_str(&lock_path), strerror(err));
                buf_fini(&lock_path);
                errno = err;
                return -1;
            }
        }
        lock_sleep_jitter(retry->delay_ms);
    }
    buf_setf(why, "unable to create lock file %s: %s", buf_str(&lock_path),
             strerror(err));
    buf_fini(&lock_path);
    errno = err;
    return -1;
}

/* lock_dot_release - remove the .lock file */
int lock_dot_release(const char *path, struct buf *why)
{
    struct buf lock_path = BUF_INIT;
    int ret = 0;

    buf_setf(&lock_path, "%s.lock", path);
    if (unlink(buf_str(&lock_path)) < 0) {
        int err = errno;

        if (why)
            buf_setf(why, "remove lock file %s: %s", buf_str(&lock_path),
                     strerror(err));
        errno = err;
        ret = -1;
    }
    buf_fini(&lock_path);
    return ret;
}
