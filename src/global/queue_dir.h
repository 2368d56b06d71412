/*
 * queue_dir - the folders of the mail queue under queue_directory.
 *
 * Message folders: maildrop (submissions by sendmail, waiting for pickup),
 * incoming (new queue files, before qmgr), active (what qmgr is working
 * on), deferred (waiting for a retry), hold (put aside by postsuper -h or a
 * HOLD action), corrupt (damaged files, kept for the administrator).
 * Per-message logs, one file per queue ID: bounce (reasons for bounced
 * recipients), defer (reasons for deferred recipients), trace (what
 * happened to each recipient, for DSN SUCCESS and sendmail -bv).
 *
 * Folders listed in hash_queue_names (default "deferred, defer") are split
 * into hash_queue_depth levels of one-character sub-folders named by the
 * hex digits of the queue ID's creation microseconds (queue_id_hash), as
 * Postfix does: deferred/8/89DC5A76141.  Sub-folders are created when
 * first needed, durably (their parent is fsynced).
 *
 * All folders must be on one file system: a move is a rename(2), and
 * queue IDs are unique only among files on one file system.
 *
 * Ownership: struct queue_dir owns its strings (queue_dir_fini frees them).
 * Paths and IDs returned through a struct buf belong to the caller's buf;
 * the ID returned by queue_scan_next is borrowed until the next call on the
 * scan.  No function here logs: failures return -1 with a reason in WHY.
 */
#ifndef ULAK_QUEUE_DIR_H
#define ULAK_QUEUE_DIR_H

#include <sys/types.h>

#include "../lib/buf.h"
#include "queue_id.h"

enum queue_folder {
    QUEUE_MAILDROP,
    QUEUE_INCOMING,
    QUEUE_ACTIVE,
    QUEUE_DEFERRED,
    QUEUE_HOLD,
    QUEUE_CORRUPT,
    QUEUE_BOUNCE,
    QUEUE_DEFER,
    QUEUE_TRACE,
};
#define QUEUE_FOLDER_COUNT 9

struct queue_dir {
    char *top;                       /* queue_directory, owned */
    int depth;                       /* hash_queue_depth */
    bool hashed[QUEUE_FOLDER_COUNT]; /* in hash_queue_names */
    bool long_ids;                   /* enable_long_queue_ids */
};

/* queue_folder_name - "maildrop", "incoming", ... (static). */
const char *queue_folder_name(enum queue_folder f);
/* queue_folder_lookup - the folder called NAME; -1 when there is none. */
int queue_folder_lookup(const char *name, enum queue_folder *f);

/* queue_dir_init - set QD up for TOP with DEPTH levels of hashing for the
 * folders named in HASH_NAMES (a Postfix list: commas and white space);
 * -1 with WHY for an unknown folder name or a depth outside
 * 0..QUEUE_ID_HASH_MAX.  QD owns copies of the strings. */
int queue_dir_init(struct queue_dir *qd, const char *top, int depth,
                   const char *hash_names, bool long_ids, struct buf *why);
/* queue_dir_init_conf - queue_dir_init from the loaded main.cf:
 * queue_directory, hash_queue_depth, hash_queue_names,
 * enable_long_queue_ids. */
int queue_dir_init_conf(struct queue_dir *qd, struct buf *why);
void queue_dir_fini(struct queue_dir *qd);

/* queue_dir_create - make queue_directory and every folder (mode 0700;
 * maildrop 0730, so that sendmail's setgid group may write there), then
 * fsync each parent.  Existing folders are left as they are.  As root, new
 * folders are given to OWNER and, for maildrop, group MAILDROP_GID; an
 * unprivileged instance passes its own uid and gid, and nothing is
 * chowned. */
int queue_dir_create(const struct queue_dir *qd, uid_t owner,
                     gid_t maildrop_gid, struct buf *why);

/* queue_dir_folder_path - TOP/FOLDER into OUT (reset). */
void queue_dir_folder_path(const struct queue_dir *qd, enum queue_folder f,
                           struct buf *out);
/* queue_dir_path - the path of queue file ID in folder F, with its hashed
 * sub-folders, into OUT (reset); -1 with WHY when ID is not valid. */
int queue_dir_path(const struct queue_dir *qd, enum queue_folder f,
                   const char *id, struct buf *out, struct buf *why);
/* queue_dir_mkparent - create the hashed sub-folders that the path of ID in
 * F needs (durably); a no-op for a folder without hashing. */
int queue_dir_mkparent(const struct queue_dir *qd, enum queue_folder f,
                       const char *id, struct buf *why);

/* queue_dir_move - move queue file ID from folder FROM to folder TO:
 * rename (creating TO's hashed sub-folders first when needed), then fsync
 * both folders.  Fails (EEXIST) rather than replace a file already in TO.
 * On success the file is on disk in TO only. */
int queue_dir_move(const struct queue_dir *qd, enum queue_folder from,
                   enum queue_folder to, const char *id, struct buf *why);
/* queue_dir_move_path - the same for a file at FROM_PATH (one that
 * queue_scan found in a sub-folder where the current hashing would not
 * put it). */
int queue_dir_move_path(const struct queue_dir *qd, const char *from_path,
                        enum queue_folder to, const char *id, struct buf *why);
/* queue_dir_move_unsynced / queue_dir_move_path_unsynced - the same moves
 * without the fsyncs of the folders: the qmgr's own moves (incoming ->
 * active -> deferred), whose loss in a power failure (never in a process
 * crash: a rename is atomic and the page cache survives the process) only
 * leaves the file in the folder it came from, from where it is delivered
 * again at worst.  The content itself was made durable when it entered the
 * queue. */
int queue_dir_move_unsynced(const struct queue_dir *qd, enum queue_folder from,
                            enum queue_folder to, const char *id,
                            struct buf *why);
int queue_dir_move_path_unsynced(const struct queue_dir *qd,
                                 const char *from_path, enum queue_folder to,
                                 const char *id, struct buf *why);

/* queue_dir_find - the first of the message folders (incoming, active,
 * deferred, hold, maildrop, corrupt) that holds ID; its path into PATH.
 * 0 when found, -1 otherwise (errno ENOENT when ID is in none, EINVAL
 * when it is not a valid ID). */
int queue_dir_find(const struct queue_dir *qd, const char *id,
                   enum queue_folder *f, struct buf *path, struct buf *why);

/*
 * queue_scan - the queue files of one folder, including every hashed
 * sub-folder (also one that the current hash_queue_depth would not use,
 * so that no file is forgotten after a change of depth).  Names that are
 * not valid queue IDs (temporary files of writers in progress, stray
 * files) are skipped; so are symbolic links, sub-folders whose names are
 * not one hex digit, and anything that is not a regular file or folder.
 * The order is readdir's.  A folder that cannot be read is reported once
 * by queue_scan_next returning NULL with queue_scan_error set.
 */
struct queue_scan;

/* queue_scan_open - start a scan of folder F; the scan is owned by the
 * caller (queue_scan_close); NULL with WHY when F cannot be opened. */
struct queue_scan *queue_scan_open(const struct queue_dir *qd,
                                   enum queue_folder f, struct buf *why);
/* queue_scan_next - the next queue ID (borrowed until the next call), its
 * full path into PATH when not NULL; NULL at the end or on an error. */
const char *queue_scan_next(struct queue_scan *s, struct buf *path);
/* queue_scan_error - the error that stopped the scan, or NULL (borrowed). */
const char *queue_scan_error(const struct queue_scan *s);
void queue_scan_close(struct queue_scan *s);

#endif
