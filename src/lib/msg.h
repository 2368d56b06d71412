/*
 * msg - diagnostics: info, warning, error, fatal, panic.
 *
 * The severity rules of the house style:
 *   msg_panic  a bug: log, then abort() for a core dump;
 *   msg_fatal  cannot start or continue: log, then exit(1);
 *   msg_error  a problem that was handled but that the administrator must fix;
 *   msg_warn   a handled failure;
 *   msg_info   normal operation (log lines are an interface: never split one).
 *
 * Text goes to every registered output.  msg_init() registers the stderr
 * output when stderr is a terminal or when asked; the logging module
 * (msg_syslog, msg_logfile) registers the others.  Formats are printf's, with
 * glibc's %m for strerror(errno).  A line is built once, capped at
 * MSG_LINE_MAX bytes, and passed to each output with its level.
 */
#ifndef ULAK_MSG_H
#define ULAK_MSG_H

#include <stdarg.h>

#include "sys_defs.h"

enum msg_level {
    MSG_LEVEL_INFO,
    MSG_LEVEL_WARN,
    MSG_LEVEL_ERROR,
    MSG_LEVEL_FATAL,
    MSG_LEVEL_PANIC,
};

#define MSG_LINE_MAX 4096

/* An output receives the level and the text without a severity prefix. */
typedef void (*msg_output_fn)(enum msg_level level, const char *text);

extern int msg_verbose;

/* msg_init - set the program name ("postconf", "smtpd"); enables stderr. */
void msg_init(const char *progname);
/* The program name set by msg_init (borrowed). */
const char *msg_progname(void);
/* msg_output_add - add an output; msg_output_stderr(false) removes stderr. */
void msg_output_add(msg_output_fn fn);
void msg_output_remove(msg_output_fn fn);
void msg_output_stderr(bool on);
/* msg_utf8 - every byte that is not printable ASCII becomes '?' in the
 * lines of every output; with msg_utf8(true), complete UTF-8 sequences
 * stay (Postfix's behaviour when its UTF-8 support is on). */
void msg_utf8(bool on);
/* msg_prefix - "warning: " etc. for LEVEL ("" for info). */
const char *msg_prefix(enum msg_level level);
/* msg_exit_hook - called by msg_fatal before exit (tests may longjmp). */
typedef void (*msg_exit_fn)(int status);
void msg_set_exit_hook(msg_exit_fn fn);

void msg_info(const char *fmt, ...) ULAK_PRINTFLIKE(1, 2);
void msg_warn(const char *fmt, ...) ULAK_PRINTFLIKE(1, 2);
void msg_error(const char *fmt, ...) ULAK_PRINTFLIKE(1, 2);
ULAK_NORETURN void msg_fatal(const char *fmt, ...) ULAK_PRINTFLIKE(1, 2);
ULAK_NORETURN void msg_panic(const char *fmt, ...) ULAK_PRINTFLIKE(1, 2);
void msg_vlog(enum msg_level level, const char *fmt, va_list ap)
    ULAK_PRINTFLIKE(2, 0);

/* msg_debug - verbose logging that evaluates nothing when filtered. */
#define msg_debug(level, ...)       \
    do {                            \
        if (msg_verbose >= (level)) \
            msg_info(__VA_ARGS__);  \
    } while (0)

#endif
