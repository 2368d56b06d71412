/*
 * local_expand - the pure pieces of local(8): alias and .forward values
 * split into destinations, forward_path expansion, the environment and the
 * argument vector of a command.  No I/O, so the unit tests drive them
 * directly.
 *
 * Ownership: every returned struct argv and string is owned by the caller.
 */
#ifndef ULAK_LOCAL_EXPAND_H
#define ULAK_LOCAL_EXPAND_H

#include "../lib/argv.h"
#include "../lib/buf.h"

/* The most destinations one alias, :include: file or .forward may hold. */
#define LOCAL_ITEMS_MAX 1000

enum local_dest {
    LOCAL_DEST_ADDR,    /* an address: forward (or the user's own mailbox) */
    LOCAL_DEST_COMMAND, /* "|command": text after the bar */
    LOCAL_DEST_FILE,    /* "/path": an mbox file, or a Maildir with "/" */
    LOCAL_DEST_INCLUDE, /* ":include:/path": more destinations */
};

/*
 * local_split_items - split an aliases(5) value or a .forward text into its
 * destinations: separated by commas or line breaks (and, outside quotes,
 * by blanks after an address), "quoted" text kept together with its quotes
 * removed ("|cmd arg" is one command), a line starting with '#' ignored.
 * -1 with WHY when there are more than LOCAL_ITEMS_MAX or a quote is not
 * closed.
 */
int local_split_items(const char *text, struct argv *out, struct buf *why);

/* local_dest_kind - what ITEM is; *REST points at the command, path or
 * address (after "|", ":include:", a leading "\" of "\user"). */
enum local_dest local_dest_kind(const char *item, const char **rest);

/* The facts that forward_path and command environments expand. */
struct local_vars {
    const char *user;
    const char *home;
    const char *shell;
    const char *recipient;
    const char *extension; /* "" when none */
    const char *domain;
    const char *local;
    const char *delimiter; /* the delimiter found, "" when none */
    const char *sender;
    const char *orig_rcpt;
};

/*
 * local_expand_path - TEXT ($user, $home, $shell, $recipient, $extension,
 * $domain, $local, $recipient_delimiter, ${name}, ${name?text} (text when
 * the value is not empty), ${name:text} (text when it is empty), $$) into
 * OUT.  An item of forward_path whose expansion uses an empty variable in
 * ${name?..} simply loses that part.  -1 with WHY for an unknown name or
 * bad syntax.
 */
int local_expand_path(const char *text, const struct local_vars *v,
                      struct buf *out, struct buf *why);

/*
 * local_command_env - ENV (from spawn_env_clean) plus the variables
 * Postfix's local(8) documents: HOME, USER, LOGNAME, SHELL, SENDER,
 * RECIPIENT, EXTENSION, DOMAIN, LOCAL, ORIGINAL_RECIPIENT, and PATH.
 */
void local_command_env(struct argv *env, const struct local_vars *v);

/*
 * local_command_argv - the argument vector of command TEXT (from main.cf or
 * an alias file, never from the envelope): "/bin/sh -c TEXT" when it has
 * shell metacharacters or does not start with "/", else TEXT split at
 * blanks.  *PATH (borrowed from the result) is the program to execute.
 */
struct argv *local_command_argv(const char *text, const char **path);

#endif
