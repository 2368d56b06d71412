#include "msg_syslog.h"

#include <errno.h>
#include <fcntl.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"

static char *syslog_tag;
static char *file_tag;
static char *file_host;
static int file_fd = -1;

static const struct {
    const char *name;
    int value;
} facilities[] = {
    {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
    {"daemon", LOG_DAEMON}, {"ftp", LOG_FTP},           {"kern", LOG_KERN},
    {"lpr", LOG_LPR},       {"mail", LOG_MAIL},         {"news", LOG_NEWS},
    {"syslog", LOG_SYSLOG}, {"user", LOG_USER},         {"uucp", LOG_UUCP},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

/* msg_syslog_facility - map a facility name to its value */
int msg_syslog_facility(const char *name)
{
    for (size_t i = 0; i < NELEM(facilities); i++)
        if (strcasecmp(facilities[i].name, name) == 0)
            return facilities[i].value;
    return -1;
}

/* syslog_output - the msg output that calls syslog(3) */
static void syslog_output(enum msg_level level, const char *text)
{
    static const int prio[] = {
        [MSG_LEVEL_INFO] = LOG_INFO,  [MSG_LEVEL_WARN] = LOG_WARNING,
        [MSG_LEVEL_ERROR] = LOG_ERR,  [MSG_LEVEL_FATAL] = LOG_CRIT,
        [MSG_LEVEL_PANIC] = LOG_CRIT,
    };

    syslog(prio[level], "%s%s", msg_prefix(level), text);
}

/* msg_syslog_open - start logging to syslog */
void msg_syslog_open(const char *tag, int facility)
{
    mem_free(syslog_tag);
    syslog_tag = mem_strdup(tag);
    openlog(syslog_tag, LOG_PID | LOG_NDELAY, facility);
    msg_output_add(syslog_output);
}

/* msg_syslog_close - stop logging to syslog */
void msg_syslog_close(void)
{
    msg_output_remove(syslog_output);
    closelog();
    mem_free(syslog_tag);
    syslog_tag = NULL;
}

/* msg_logfile_format - build one syslog-shaped line */
void msg_logfile_format(struct buf *out, long now, const char *host,
                        const char *tag, long pid, const char *level_prefix,
                        const char *text)
{
    time_t t = (time_t) now;
    struct tm tm;
    char stamp[32];

    localtime_r(&t, &tm);
    if (strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm) == 0)
        stamp[0] = 0;
    buf_reset(out);
    /* A line longer than the cap is cut; it is still one line. */
    (void) buf_catf(out, "%s %s %s[%ld]: %s", stamp, host, tag, pid,
                    level_prefix);
    for (const char *p = text; *p; p++)
        (void) buf_catc(out, *p == '\n' ? ' ' : *p);
    (void) buf_catc(out, '\n');
}

/* logfile_output - the msg output that appends to the log file */
static void logfile_output(enum msg_level level, const char *text)
{
    struct buf line;

    if (file_fd < 0)
        return;
    buf_init(&line, 0);
    msg_logfile_format(&line, (long) time(NULL), file_host, file_tag,
                       (long) getpid(), msg_prefix(level), text);
    if (write(file_fd, buf_str(&line), buf_len(&line)) < 0) {
        /* A full disk must not stop mail; syslog may still work. */
    }
    buf_fini(&line);
}

/* msg_logfile_open - start logging to a file */
int msg_logfile_open(const char *path, const char *tag, const char *host,
                     struct buf *why)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) {
        buf_setf(why, "open %s: %m", path);
        return -1;
    }
    msg_logfile_close();
    file_fd = fd;
    file_tag = mem_strdup(tag);
    file_host = mem_strdup(host);
    msg_output_add(logfile_output);
    return 0;
}

/* msg_logfile_close - stop logging to the file */
void msg_logfile_close(void)
{
    msg_output_remove(logfile_output);
    if (file_fd >= 0)
        close(file_fd);
    file_fd = -1;
    mem_free(file_tag);
    mem_free(file_host);
    file_tag = file_host = NULL;
}
