/*
 * fs - file system operations that must be durable or safe: fsync of a
 * file and of its folder, create-then-rename, rename without replacing,
 * opening files in folders that others can write, mkdir -p.  No mail
 * knowledge.
 *
 * Durability rules (POSIX leaves them to us, Linux honours them): data is on
 * disk after fsync(fd) of the file; a name created, renamed or removed in a
 * folder is on disk after fsync of that folder.  A rename between two
 * folders changes both, so both are fsynced.  Every function here retries
 * EINTR and reports the first failure as -1 with a reason in WHY (appended,
 * "fsync /path: Input/output error"); errno is left as the failing call set
 * it.  Paths are borrowed for the duration of a call only.
 */
#ifndef ULAK_FS_H
#define ULAK_FS_H

#include <sys/types.h>
#include <sys/stat.h>

#include "buf.h"

/* FS_ANY_OWNER - fs_safe_open: do not check the owner. */
#define FS_ANY_OWNER ((uid_t) -1)

/* fs_fsync - fsync(FD); PATH only names the file in WHY (may be NULL). */
int fs_fsync(int fd, const char *path, struct buf *why);
/* fs_fsync_dir - open the folder DIR and fsync it, so that names created,
 * renamed or removed in it are on disk. */
int fs_fsync_dir(const char *dir, struct buf *why);
/* fs_fsync_parent - fs_fsync_dir of the folder that holds PATH. */
int fs_fsync_parent(const char *path, struct buf *why);
/* fs_dirname - the folder part of PATH ("." when none) into OUT (reset). */
void fs_dirname(const char *path, struct buf *out);

/* fs_write_all - write LEN bytes (short writes continued). */
int fs_write_all(int fd, const void *p, size_t len, const char *path,
                 struct buf *why);
/* fs_pwrite_all - pwrite LEN bytes at OFFSET. */
int fs_pwrite_all(int fd, const void *p, size_t len, off_t offset,
                  const char *path, struct buf *why);
/* fs_read_all - append the rest of FD to OUT; -1 when it holds more than
 * MAX bytes (errno EFBIG) or a read fails.  OUT is left with what was read. */
int fs_read_all(int fd, size_t max, struct buf *out, const char *path,
                struct buf *why);

/* fs_rename_durable - rename FROM to TO (replacing TO), then fsync the
 * folder of TO and, when it differs, the folder of FROM.  Success means the
 * new name is on disk and the old one is gone from disk. */
int fs_rename_durable(const char *from, const char *to, struct buf *why);
/* fs_rename_noreplace - rename FROM to TO but fail with EEXIST when TO
 * exists (renameat2 RENAME_NOREPLACE; link+unlink where that is missing).
 * No fsync: the caller fsyncs the folders it changed. */
int fs_rename_noreplace(const char *from, const char *to, struct buf *why);

/* fs_safe_open - open PATH without following a symbolic link in its last
 * component, and insist on a regular file with one link and, unless OWNER
 * is FS_ANY_OWNER, owned by OWNER (the checks Postfix's safe_open makes
 * for files in folders that others can write).  FLAGS are open(2)'s;
 * O_NOFOLLOW, O_NONBLOCK (a FIFO must not block us; cleared after) and
 * O_CLOEXEC are added.  With O_CREAT|O_EXCL a new file is made with MODE.
 * ST, when not NULL, gets the fstat of the open file.  Returns the fd (owned
 * by the caller) or -1. */
int fs_safe_open(const char *path, int flags, mode_t mode, uid_t owner,
                 struct stat *st, struct buf *why);

/* fs_mkdirs - create PATH and any missing parents with MODE (umask not
 * applied: the mode is set with chmod after mkdir), fsyncing the parent of
 * each folder created so that the new entries are durable.  An existing
 * folder is fine (its mode is left alone); an existing non-folder is an
 * error (ENOTDIR). */
int fs_mkdirs(const char *path, mode_t mode, struct buf *why);

/*
 * Create-then-rename: the file appears under its final name complete and
 * on disk, or not at all.  fs_atomic_open creates a temporary file next to
 * FINAL (FINAL.tmp.PID.N, O_EXCL, MODE); the caller writes to a->fd;
 * fs_atomic_commit fsyncs the file, renames it to FINAL (replacing it) and
 * fsyncs the folder; fs_atomic_abort removes the temporary file.  Both
 * close the fd and release the paths; after either, the struct may be
 * reused with fs_atomic_open.  A process killed in between leaves only the
 * temporary file behind.
 */
struct fs_atomic {
    int fd;         /* -1 when not open */
    char *tmp_path; /* owned */
    char *path;     /* owned */
};

int fs_atomic_open(struct fs_atomic *a, const char *final, mode_t mode,
                   struct buf *why);
int fs_atomic_commit(struct fs_atomic *a, struct buf *why);
void fs_atomic_abort(struct fs_atomic *a);

#endif
