/*
 * dict_tmp - the temporary files of table builds in progress.
 *
 * hash, btree, lmdb and cdb build a new table in a temporary file that is
 * renamed over the table when the build completes.  A build that never
 * completes (msg_fatal, exit) must not leave that file behind: each build
 * registers its file here, and an atexit handler removes the files of
 * builds that did not call dict_tmp_done.  Paths are copied (owned here).
 */
#ifndef ULAK_DICT_TMP_H
#define ULAK_DICT_TMP_H

#include "sys_defs.h"

/* dict_tmp_target - where a build of PATH goes (owned): the file that PATH
 * points to when it is a symbolic link, so that a rebuild updates the
 * linked file as an in-place write would, else PATH itself. */
char *dict_tmp_target(const char *path);
/* dict_tmp_in_place - whether a build of TARGET must write it in place, as
 * Postfix always does: its folder does not let us create a temporary file,
 * but the table itself is writable. */
bool dict_tmp_in_place(const char *target);
/* dict_tmp_add - remove PATH at exit unless dict_tmp_done(PATH) is called */
void dict_tmp_add(const char *path);
/* dict_tmp_done - PATH was renamed or removed: forget it */
void dict_tmp_done(const char *path);

#endif
