/*
 * dict - one API for every lookup table type ("type:name").
 *
 * dict_open("hash:/etc/postfix/access", O_RDONLY, flags, why) returns a
 * handle or NULL with the reason in WHY.  A table opened twice with the same
 * "type:name", open flags and dict flags is shared: the second open returns
 * the same handle with a reference count, and dict_close() releases one
 * reference.
 *
 * Lookups have three outcomes (enum lk_result): found, not found, and try
 * again later.  LK_TEMPFAIL is never "not found": callers turn it into a
 * deferral (451 4.3.0 for smtpd).  After LK_TEMPFAIL, dict_why() says why.
 * Values are copied into the caller's buf, so no pointer into a table's
 * internal storage escapes.
 *
 * Keys: with DICT_FLAG_FOLD_FIX, dict_lookup/update/delete fold the keys of
 * fixed-string tables (DICT_TYPE_FIXED) to lower case, which is what
 * postmap and postalias do by default (-f turns it off); pattern tables
 * (regexp, pcre, cidr) get the key unchanged and match case by their own
 * flags; composites pass the key on to members that fold for themselves.
 * With DICT_FLAG_UTF8 (Postfix's smtputf8_enable), a key that is not valid
 * UTF-8 is warned about and not found, a value that is not is warned about
 * and LK_TEMPFAIL, and folding is Unicode case folding.  A found empty
 * value draws Postfix's two warnings ("empty string result is not
 * allowed").
 *
 * dict_changed() compares the mtime of the file that the implementation
 * registered with dict_set_file() (the source file, or the .db file) with
 * its mtime at open: daemons use it to restart after a table was rebuilt.
 *
 * Implementations register a struct dict_type in dict_types.c.  Each open
 * function allocates a struct that embeds struct dict as its first member,
 * fills the ops it supports (NULL ops answer "not supported"), and returns it.
 */
#ifndef ULAK_DICT_H
#define ULAK_DICT_H

#include <fcntl.h>
#include <time.h>

#include "buf.h"

enum lk_result {
    LK_FOUND,
    LK_NOTFOUND,
    LK_TEMPFAIL,
};

/* dict flags (open-time) */
#define DICT_FLAG_NONE        0
#define DICT_FLAG_DUP_WARN    (1 << 0) /* warn about duplicate key, keep first */
#define DICT_FLAG_DUP_IGNORE  (1 << 1) /* silently keep first */
#define DICT_FLAG_DUP_REPLACE (1 << 2) /* silently replace */
#define DICT_FLAG_TRY0NULL    (1 << 3) /* keys stored without a trailing NUL */
#define DICT_FLAG_TRY1NULL    (1 << 4) /* keys stored with a trailing NUL */
#define DICT_FLAG_FOLD_FIX    (1 << 5) /* fold fixed-string keys to lower case */
#define DICT_FLAG_LOCK        (1 << 6) /* lock the table while accessing it */
#define DICT_FLAG_BULK_UPDATE \
    (1 << 7) /* build into a temp file, rename at close */
#define DICT_FLAG_PARANOID  (1 << 8) /* reject keys with odd characters */
#define DICT_FLAG_UTF8      (1 << 9) /* keys and values must be valid UTF-8 */
/* regexp/pcre: a rule whose result has $number is skipped with Postfix's
 * warning (tables whose results become commands or transports, keyed by
 * text a sender chooses: local's *_maps) */
#define DICT_FLAG_NO_REGSUB (1 << 10)

/* sequence functions */
enum dict_seq {
    DICT_SEQ_FIRST,
    DICT_SEQ_NEXT,
};

/* dict_type flags */
#define DICT_TYPE_FIXED    (1 << 0) /* exact-key lookups (not regexp/cidr) */
#define DICT_TYPE_PATTERN  (1 << 1) /* regexp, pcre, cidr: keys are patterns */
#define DICT_TYPE_WRITABLE (1 << 2) /* update/delete work (postmap builds it) */
#define DICT_TYPE_INDEXED  (1 << 3) /* built by postmap from a text source */

struct dict;
struct argv;

struct dict_ops {
    /* required */
    enum lk_result (*lookup)(struct dict *d, const char *key,
                             struct buf *value);
    /* 0 ok, 1 duplicate key (kept or replaced as flags say), -1 error */
    int (*update)(struct dict *d, const char *key, const char *value);
    /* 0 deleted, 1 not found, -1 error */
    int (*delete)(struct dict *d, const char *key);
    /* 0 got an entry (key, value borrowed until the next call), 1 end,
     * -1 error */
    int (*sequence)(struct dict *d, enum dict_seq func, const char **key,
                    const char **value);
    /* flush to disk; 0 ok, -1 error */
    int (*sync)(struct dict *d);
    /* release everything the implementation allocated, including D */
    void (*close)(struct dict *d);
};

struct dict {
    const char *type;    /* borrowed from the dict_type */
    char *name;          /* owned: the part after "type:" */
    int open_flags;      /* O_RDONLY, O_RDWR|O_CREAT|O_TRUNC, ... */
    int flags;           /* DICT_FLAG_* */
    struct dict_ops ops; /* filled by the implementation */
    struct buf why;      /* owned: reason of the last failure */
    bool unsupported;    /* the last failure: the type lacks the operation */
    time_t mtime;        /* source file time at open, 0 when none */
    int refcount;        /* managed by dict.c */
    char *key;           /* owned by dict.c: the sharing key */
    char *file;          /* owned: file whose mtime dict_changed() watches,
                            set with dict_set_file(); NULL for none */
};

/* An open function: return a struct dict (allocated with dict_alloc) or
 * NULL with WHY set. */
typedef struct dict *(*dict_open_fn)(const char *name, int open_flags,
                                     int dict_flags, struct buf *why);

struct dict_type {
    const char *name; /* "hash" */
    dict_open_fn open;
    int flags; /* DICT_TYPE_* */
};

/* dict_open - open "type:name"; NULL with WHY on failure. */
struct dict *dict_open(const char *type_name, int open_flags, int dict_flags,
                       struct buf *why);
/* dict_open3 - the same with type and name apart. */
struct dict *dict_open3(const char *type, const char *name, int open_flags,
                        int dict_flags, struct buf *why);
void dict_close(struct dict *d);

ULAK_NODISCARD enum lk_result dict_lookup(struct dict *d, const char *key,
                                          struct buf *value);
ULAK_NODISCARD int dict_update(struct dict *d, const char *key,
                               const char *value);
ULAK_NODISCARD int dict_delete(struct dict *d, const char *key);
ULAK_NODISCARD int dict_sequence(struct dict *d, enum dict_seq func,
                                 const char **key, const char **value);
int dict_sync(struct dict *d);
/* dict_why - reason of the last failure (borrowed). */
const char *dict_why(const struct dict *d);
/* dict_unsupported - whether the last failure was an operation that the
 * type does not have (dict_why() then says so in full) */
bool dict_unsupported(const struct dict *d);
/* dict_changed - whether the table's source file changed since open. */
bool dict_changed(const struct dict *d);

/* For implementations. */
/* dict_alloc - zeroed struct of SIZE bytes (>= sizeof(struct dict)) with
 * type, name, flags and why initialised. */
struct dict *dict_alloc(const char *type, const char *name, int open_flags,
                        int dict_flags, size_t size);
/* dict_free_base - release what dict_alloc allocated (call from close). */
void dict_free_base(struct dict *d);
/*
 * dict_fold_key - KEY as a table with D's flags stores and looks it up:
 * unchanged without DICT_FLAG_FOLD_FIX or for pattern tables, else ASCII
 * lower case, or Unicode case folding when DICT_FLAG_UTF8 is set (what
 * Postfix does with smtputf8_enable).  The result is KEY or borrowed from
 * TMP.  dict_lookup/update/delete call it; tables that fold at load time
 * (texthash, inline) call it too.
 */
const char *dict_fold_key(const struct dict *d, const char *key,
                          struct buf *tmp);
/* dict_utf8_valid - S is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
bool dict_utf8_valid(const char *s);
/* dict_utf8_printable - S for a warning, as Postfix prints it: control
 * bytes and bytes outside a complete UTF-8 sequence become '?'. */
void dict_utf8_printable(const char *s, struct buf *out);
/* dict_warn - msg_warn with control bytes and broken UTF-8 shown as '?',
 * as Postfix shows table text in its warnings. */
void dict_warn(const char *fmt, ...) ULAK_PRINTFLIKE(1, 2);
/* dict_set_file - remember PATH and its current mtime for dict_changed(). */
void dict_set_file(struct dict *d, const char *path);

/*
 * dict_text - the logical lines of a table source file, as postmap reads
 * them: a line that starts with white space continues the previous one (the
 * newline is dropped, the white space kept), lines whose first non-blank
 * byte is '#' and blank lines are skipped (also inside a continuation), and
 * trailing white space is removed.  LINENO is the first physical line.  A
 * logical line that starts with white space (only possible at the start of
 * the file) is skipped with Postfix's warning.
 */
struct dict_text {
    char *path;      /* owned */
    struct buf data; /* owned: the whole file */
    size_t off;
    int lineno; /* physical lines consumed */
};
/* dict_text_open - read PATH: 0; -1 with "open PATH: strerror" in WHY;
 * -2 after a read error, with "read PATH: strerror" in WHY, errno set and
 * T holding what was read (the caller decides, and closes T). */
int dict_text_open(struct dict_text *t, const char *path, struct buf *why);
/* dict_text_init - iterate over TEXT (copied) instead of a file. */
void dict_text_init(struct dict_text *t, const char *name, const char *text);
/* dict_text_next - the next logical line into LINE; false at the end. */
bool dict_text_next(struct dict_text *t, struct buf *line, int *lineno);
void dict_text_close(struct dict_text *t);

/*
 * dict_split - split S at SEP bytes outside { } groups, dropping empty
 * fields and the white space around each field; a field that is a whole
 * "{ text }" group is returned with its braces.  NULL with WHY when braces
 * do not balance.  The result is owned by the caller.
 */
struct argv *dict_split(const char *s, const char *sep, struct buf *why);
/* dict_unbrace - the text inside "{ text }" trimmed, or S trimmed when it
 * is not a group; -1 with WHY "missing '}'" or "syntax error after '}'"
 * (Postfix's words, for the caller to place). */
int dict_unbrace(const char *s, struct buf *out, struct buf *why);

/* The registry (dict_types.c). */
const struct dict_type *dict_type_find(const char *type);
/* dict_type_list - the types that work, NULL-terminated, sorted by name. */
const struct dict_type *const *dict_type_list(void);

#endif
