#include "msg.h"

#include <unistd.h>
#include <errno.h>

#include "str.h"

#define MSG_MAX_OUTPUTS 8

int msg_verbose;

static const char *progname = "ulak";
static msg_output_fn outputs[MSG_MAX_OUTPUTS];
static size_t n_outputs;
static bool use_stderr = true;
static msg_exit_fn exit_hook;
static int in_msg;
static bool utf8_on; /* msg_utf8 */

/* msg_progname - the current program name */
const char *msg_progname(void)
{
    return progname;
}

/* msg_prefix - severity prefix for a level */
const char *msg_prefix(enum msg_level level)
{
    switch (level) {
        case MSG_LEVEL_INFO:
            return "";
        case MSG_LEVEL_WARN:
            return "warning: ";
        case MSG_LEVEL_ERROR:
            return "error: ";
        case MSG_LEVEL_FATAL:
            return "fatal: ";
        case MSG_LEVEL_PANIC:
            return "panic: ";
    }
    return "";
}

/* msg_init - name the program and reset outputs to stderr only */
void msg_init(const char *name)
{
    const char *slash = strrchr(name, '/');

    progname = slash ? slash + 1 : name;
    use_stderr = true;
}

/* msg_output_add - register an output once */
void msg_output_add(msg_output_fn fn)
{
    for (size_t i = 0; i < n_outputs; i++)
        if (outputs[i] == fn)
            return;
    if (n_outputs >= MSG_MAX_OUTPUTS)
        msg_panic("msg_output_add: too many outputs");
    outputs[n_outputs++] = fn;
}

/* msg_output_remove - unregister an output */
void msg_output_remove(msg_output_fn fn)
{
    for (size_t i = 0; i < n_outputs; i++) {
        if (outputs[i] == fn) {
            memmove(outputs + i, outputs + i + 1,
                    (n_outputs - i - 1) * sizeof(outputs[0]));
            n_outputs--;
            return;
        }
    }
}

/* msg_output_stderr - turn the "prog: warning: text" stderr output on/off */
void msg_output_stderr(bool on)
{
    use_stderr = on;
}

/* msg_set_exit_hook - replace exit() in msg_fatal (tests) */
void msg_set_exit_hook(msg_exit_fn fn)
{
    exit_hook = fn;
}

/* printable - replace in LINE every byte that is not printable ASCII with
 * '?', as Postfix's logging does: peer and file text must not forge log
 * lines (a newline) or reach a terminal as control sequences.  With
 * msg_utf8() on, structurally complete UTF-8 sequences stay, as Postfix
 * keeps them when its UTF-8 support is on (postmap with smtputf8_enable);
 * its other commands (postconf) print them as '?'. */
static void printable(char *line)
{
    char *p = line;

    while (*p) {
        size_t n = str_utf8_shape(p);

        if (n == 1 ? ((unsigned char) *p < 0x20 || *p == 0x7f) : !utf8_on)
            n = 0;
        if (n == 0) {
            *p++ = '?';
        } else {
            p += n;
        }
    }
}

/* msg_utf8 - keep UTF-8 sequences in log lines (see printable) */
void msg_utf8(bool on)
{
    utf8_on = on;
}

/* emit - format once, then hand the line to every output */
static void ULAK_PRINTFLIKE(2, 0)
    emit(enum msg_level level, const char *fmt, va_list ap)
{
    char line[MSG_LINE_MAX];
    int saved_errno = errno;
    int n;

    /* An output that itself logs must not recurse forever. */
    if (in_msg > 1)
        return;
    in_msg++;
    errno = saved_errno;
    n = vsnprintf(line, sizeof(line), fmt, ap);
    if (n < 0)
        snprintf(line, sizeof(line), "(unformattable message: %s)", fmt);
    printable(line);
    if (use_stderr) {
        /* One write so that concurrent processes do not interleave. */
        char out[MSG_LINE_MAX + 128];
        int len = snprintf(out, sizeof(out), "%s: %s%s\n", progname,
                           msg_prefix(level), line);

        if (len > 0) {
            if ((size_t) len >= sizeof(out))
                len = sizeof(out) - 1;
            if (write(STDERR_FILENO, out, (size_t) len) < 0) {
                /* Nowhere left to report it. */
            }
        }
    }
    for (size_t i = 0; i < n_outputs; i++)
        outputs[i](level, line);
    in_msg--;
    errno = saved_errno;
}

/* msg_vlog - log at LEVEL without terminating */
void msg_vlog(enum msg_level level, const char *fmt, va_list ap)
{
    emit(level, fmt, ap);
}

/* msg_info - informational message */
void msg_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(MSG_LEVEL_INFO, fmt, ap);
    va_end(ap);
}

/* msg_warn - handled failure */
void msg_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(MSG_LEVEL_WARN, fmt, ap);
    va_end(ap);
}

/* msg_error - problem the administrator must fix */
void msg_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(MSG_LEVEL_ERROR, fmt, ap);
    va_end(ap);
}

/* msg_fatal - log and exit(1) */
void msg_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(MSG_LEVEL_FATAL, fmt, ap);
    va_end(ap);
    if (exit_hook)
        exit_hook(1);
    exit(1);
}

/* msg_panic - log and abort for a core dump */
void msg_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(MSG_LEVEL_PANIC, fmt, ap);
    va_end(ap);
    abort();
}
