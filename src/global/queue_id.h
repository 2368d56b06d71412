/*
 * queue_id - queue IDs: the names of queue files, shaped like Postfix's so
 * that log tools (pflogsumm, mailgraph, postfix_exporter) match them.
 *
 * Short form (the default): the microseconds of the creation time as five
 * upper-case hex digits, then the inode number of the queue file in
 * upper-case hex: "3F2A81C0B4D".  Unique among live queue files (two live
 * files never share an inode on one file system), not ordered across
 * seconds, as in Postfix.
 *
 * Long form (enable_long_queue_ids = yes): in the 52-character alphabet
 * 0-9, B-Z and b-z without vowels, at least 6 characters of the creation
 * time in seconds, 4 of the microseconds, the letter 'z', then the inode
 * number in the first 51 characters of that alphabet: "3Pt2mN2VXxznjll".
 * The alphabet is in ASCII order, so long IDs sort by creation time.  The
 * time digits may contain 'z'; the inode digits never do, so the last 'z'
 * separates them.
 *
 * Every ID that comes from outside (a command argument, a file name found
 * in a folder, an IPC field) goes through queue_id_valid before it is used
 * in a path: a valid ID has no '/', '.', or other special character.
 */
#ifndef ULAK_QUEUE_ID_H
#define ULAK_QUEUE_ID_H

#include <sys/types.h>
#include <sys/time.h>

#include "../lib/sys_defs.h"

/* QUEUE_ID_SIZE - room for any valid ID and its NUL. */
#define QUEUE_ID_SIZE     32
/* QUEUE_ID_HASH_MAX - the deepest hashing: five hex digits of the usec. */
#define QUEUE_ID_HASH_MAX 5

/* queue_id_make - the ID of a file created at TV with inode INO into OUT
 * (QUEUE_ID_SIZE bytes or more); LONG_FORM selects the long form. */
void queue_id_make(char *out, size_t size, bool long_form,
                   const struct timeval *tv, ino_t ino);
/* queue_id_valid - ID is a well-formed short or long queue ID. */
bool queue_id_valid(const char *id);
/* queue_id_valid_n - the same for LEN bytes at P (need not be terminated). */
bool queue_id_valid_n(const char *p, size_t len);
/* queue_id_is_long - ID (valid) has the long form. */
bool queue_id_is_long(const char *id);
/* queue_id_hash - the first DEPTH (<= QUEUE_ID_HASH_MAX) characters of the
 * creation microseconds of ID in upper-case hex into OUT (DEPTH + 1 bytes),
 * the names of the hashed sub-folders, as Postfix hashes both forms.
 * -1 when ID is not valid. */
int queue_id_hash(const char *id, int depth, char *out);
/* queue_id_time - the creation time of a long ID; -1 for a short ID (it
 * holds only the microseconds) or an invalid one. */
int queue_id_time(const char *id, struct timeval *tv);

#endif
