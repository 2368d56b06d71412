/* dict_tmp - remove the temporary files of unfinished table builds */
#include "dict_tmp.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"

static char **pending; /* owned paths; NULL slots are free */
static size_t npending;
static bool registered;

/* cleanup - the atexit handler */
static void cleanup(void)
{
    for (size_t i = 0; i < npending; i++) {
        if (pending[i] != NULL) {
            (void) unlink(pending[i]);
            mem_free(pending[i]);
            pending[i] = NULL;
        }
    }
}

/* dict_tmp_add - remember PATH */
void dict_tmp_add(const char *path)
{
    if (!registered) {
        registered = true;
        (void) atexit(cleanup);
    }
    for (size_t i = 0; i < npending; i++) {
        if (pending[i] == NULL) {
            pending[i] = mem_strdup(path);
            return;
        }
    }
    pending = mem_realloc(pending, (npending + 1) * sizeof(*pending));
    pending[npending++] = mem_strdup(path);
}

/* dict_tmp_done - forget PATH */
void dict_tmp_done(const char *path)
{
    for (size_t i = 0; i < npending; i++) {
        if (pending[i] != NULL && strcmp(pending[i], path) == 0) {
            mem_free(pending[i]);
            pending[i] = NULL;
            return;
        }
    }
}

/* dict_tmp_target - PATH, or the file its symbolic link names */
char *dict_tmp_target(const char *path)
{
    struct stat st;
    char *real;

    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)
        && (real = realpath(path, NULL)) != NULL) {
        char *copy = mem_strdup(real);

        free(real);
        return copy;
    }
    return mem_strdup(path);
}

/* dict_tmp_in_place - no temporary file possible, but TARGET is writable */
bool dict_tmp_in_place(const char *target)
{
    const char *slash = strrchr(target, '/');
    char *dir;
    bool ok;

    if (slash == NULL)
        dir = mem_strdup(".");
    else if (slash == target)
        dir = mem_strdup("/");
    else
        dir = mem_strndup(target, (size_t) (slash - target));
    ok = access(dir, W_OK) == 0;
    mem_free(dir);
    return !ok && access(target, W_OK) == 0;
}
