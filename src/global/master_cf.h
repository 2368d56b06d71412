/*
 * master_cf - master.cf: the service table.
 *
 * One entry per logical line (continuation lines joined, '#' lines skipped):
 * service, type, private, unpriv, chroot, wakeup, maxproc, command and its
 * arguments.  Fields are kept as written ("-" included) so postconf -M and
 * -F can print them as Postfix does; the helpers give effective values.
 *
 * Arguments may be "{ ... }" groups (Postfix 3.0+): the entry keeps a
 * group's content, trimmed, without the braces.  In the eight columns
 * (command name included) braces only keep words together and stay part
 * of the value, as Postfix's postconf shows them: "{a b}" as a service
 * name is "{a b}", and "{n}" as private is an invalid value.  The
 * command is kept as Postfix's postconf rewrites it, in two scans that
 * were worked out by comparing with Postfix 3.7's postconf output:
 *  1. The leading options are read as getopt reads them, up to the first
 *     word that is a { } group, does not start with '-', or is "--":
 *     "-vox=1" becomes "-v", "-o", "x=1"; a { } group after "-o" becomes
 *     "name=value" (trimmed), with Postfix's warning when it is not of that
 *     form; a lone "-" takes the next word as it is.
 *  2. The result is scanned again for display and for the overrides:
 *     words that start with '-' are shown as they are; "-o" takes the next
 *     word as an override ("name=value"; none when the name is empty or
 *     has blanks); any word that starts with "-o", and a lone "-", is shown
 *     with the next word as a unit; the first other word, or "--", ends the
 *     scan and is shown without braces; later words get braces when they
 *     have blanks.
 * argfl[] records the result for each command element (MASTER_ARG_*) and
 * opts[] the overrides.
 *
 * Duplicates: master(5) says that when several lines define the same
 * service/type, only the last one is remembered.  The list keeps them all,
 * in file order, because postconf -M/-F/-P print every line (Postfix's
 * postconf does, without a warning); master_cf_find returns the last one,
 * which is the one the master daemon uses.
 *
 * Errors: the first fatal error stops parsing; WHY gets Postfix's text with
 * the file and line in front, in the shape of Postfix's own "bad field
 * count" message: 'file ./master.cf: line 3: invalid private field "x" in
 * "a unix x - n - - smtp"'.  (Postfix's postconf leaves out the file and
 * line for field errors; ulak adds them.)  Warnings that Postfix gives
 * (a first line that starts with white space, a group with no '}', text
 * after '}', a "-o { }" group with no '=') go through msg_warn in Postfix's
 * words.
 *
 * Ownership: a master_cf owns its entries and every string in them; the
 * accessors return borrowed pointers, valid until master_cf_free.
 */
#ifndef ULAK_MASTER_CF_H
#define ULAK_MASTER_CF_H

#include "../lib/buf.h"
#include "../lib/argv.h"

enum master_type {
    MASTER_TYPE_INET,
    MASTER_TYPE_UNIX,
    MASTER_TYPE_UNIX_DGRAM,
    MASTER_TYPE_FIFO,
    MASTER_TYPE_PASS,
};

/* How postconf prints one command element (scan 2 above). */
enum master_arg {
    MASTER_ARG_PLAIN,  /* in braces when it contains white space */
    MASTER_ARG_RAW,    /* as is: the options and the first non-option */
    MASTER_ARG_OPTION, /* "-o..." or "-", shown with the next word */
    MASTER_ARG_OPTVAL, /* that next word: braces when white space */
};

/* One "-o name=value" override. */
struct master_opt {
    char *name;  /* owned */
    char *value; /* owned */
};

struct master_ent {
    char *service; /* owned: "smtp", "127.0.0.1:10025" */
    enum master_type type;
    char *type_name;         /* owned: as written */
    char *private_;          /* owned: "y", "n" or "-" */
    char *unpriv;            /* owned */
    char *chroot;            /* owned */
    char *wakeup;            /* owned: "60", "1000?", "-" */
    char *maxproc;           /* owned: "100", "0", "-" */
    struct argv *command;    /* owned: command name, then arguments, with
                           * "{ a b }" groups as one element "a b" */
    unsigned char *argfl;    /* owned: enum master_arg per command element */
    struct master_opt *opts; /* owned: the -o overrides, in order */
    size_t nopts;
    int line; /* first line of the logical line */
    struct master_ent *next;
};

struct master_cf {
    char *path;              /* owned */
    struct master_ent *head; /* owned list, in file order */
};

/* master_cf_load - parse PATH; NULL with WHY ("file PATH: line 12: ...") on
 * the first fatal error, or 'open PATH: <strerror>' when it cannot be read.
 * Warnings go through msg_warn. */
struct master_cf *master_cf_load(const char *path, struct buf *why);
/* master_cf_parse - the same for TEXT (LEN bytes) read from PATH; for tests
 * and fuzzing. */
struct master_cf *master_cf_parse(const char *path, const char *text,
                                  size_t len, struct buf *why);
void master_cf_free(struct master_cf *cf);
/* master_cf_find - the entry for SERVICE/TYPE (type NULL: any), or NULL.
 * With duplicates, the last one (the one that counts). */
struct master_ent *master_cf_find(const struct master_cf *cf,
                                  const char *service, const char *type);
/* master_cf_services - the distinct service names in file order (owned
 * vector of copies), for per-service parameter names such as
 * "smtp-amavis_destination_concurrency_limit". */
struct argv *master_cf_services(const struct master_cf *cf);

/* Effective values: "-" stands for the built-in default. */
/* private: default y; false for inet, which master(5) says cannot be
 * private (Postfix's postconf accepts "y" there without a word, and so does
 * the parser; what the master daemon says is left to it). */
bool master_ent_private(const struct master_ent *e);
bool master_ent_unpriv(const struct master_ent *e); /* default y */
bool master_ent_chroot(const struct master_ent *e); /* default n (3.x) */
/* master_ent_wakeup - seconds, 0 for none; *IF_USED (may be NULL) tells a
 * trailing '?' (no wake-up until the service has been used). */
long master_ent_wakeup(const struct master_ent *e, bool *if_used);
/* master_ent_maxproc - the process limit, DEFAULT_LIMIT (the caller's
 * $default_process_limit) for "-"; 0 means no limit. */
long master_ent_maxproc(const struct master_ent *e, long default_limit);
/* master_ent_opts - the -o overrides in order (a later one for the same
 * name wins when applied in order); *COUNT gets their number. */
const struct master_opt *master_ent_opts(const struct master_ent *e,
                                         size_t *count);

/* master_ent_format_arg - append command element I of E to OUT as postconf
 * prints it (with "{ }" where Postfix puts them). */
void master_ent_format_arg(const struct master_ent *e, size_t i,
                           struct buf *out);
/* master_ent_format_command - the whole command on one line. */
void master_ent_format_command(const struct master_ent *e, struct buf *out);
/* master_format_field - append a column value (service, type, ...) as
 * postconf prints it. */
void master_format_field(const char *value, struct buf *out);

#endif
