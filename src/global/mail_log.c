#include "mail_log.h"

#include "../lib/argv.h"
#include "../lib/msg.h"
#include "../lib/msg_syslog.h"
#include "../lib/str.h"

#include "conf.h"

/* allowed_path - whether PATH starts with one of maillog_file_prefixes */
static bool allowed_path(const char *path, const char *prefixes)
{
    struct argv *list = argv_split(prefixes, ", \t\r\n");
    bool ok = false;

    for (size_t i = 0; i < list->argc && !ok; i++)
        ok = str_has_prefix(path, list->argv[i]);
    argv_free(list);
    return ok;
}

/* mail_log_init - open the syslog or file output */
int mail_log_init(const char *program, struct buf *why)
{
    const char *file = conf_str("maillog_file");
    const char *fac_name = conf_str("syslog_facility");
    struct buf tag = BUF_INIT;
    struct buf host = BUF_INIT;
    const char *dot;
    int facility;
    int ret = 0;

    buf_setf(&tag, "%s/%s", conf_str("syslog_name"), program);
    if (*file) {
        /* The host field is the short name, as syslog writes it. */
        const char *name = conf_str("myhostname");

        dot = strchr(name, '.');
        buf_catn(&host, name, dot ? (size_t) (dot - name) : strlen(name));
        if (!allowed_path(file, conf_str("maillog_file_prefixes"))) {
            buf_setf(why,
                     "maillog_file: \"%s\" does not match any of "
                     "maillog_file_prefixes (%s)",
                     file, conf_str("maillog_file_prefixes"));
            ret = -1;
        } else if (msg_logfile_open(file, buf_str(&tag), buf_str(&host), why)
                   < 0) {
            ret = -1;
        }
    } else if ((facility = msg_syslog_facility(fac_name)) < 0) {
        buf_setf(why, "syslog_facility: \"%s\" is not a syslog facility",
                 fac_name);
        ret = -1;
    } else {
        msg_syslog_open(buf_str(&tag), facility);
    }
    buf_fini(&tag);
    buf_fini(&host);
    return ret;
}
