/*
 * postfix - the control command: "ulak [-c dir] [-Dv] command".
 *
 * This release has the configuration half of the mail system: "check"
 * validates main.cf and master.cf and reports every problem at once.  The
 * verbs that need the master daemon and the queue (start, stop, reload,
 * flush, ...) answer with a clear error until those exist.
 */
#include "cmd.h"

#include <getopt.h>
#include <sys/stat.h>

#include "lib/buf.h"
#include "lib/msg.h"
#include "global/conf.h"
#include "global/mail_log.h"
#include "global/master_cf.h"

static const char *const later_verbs[] = {
    "start",
    "start-fg",
    "stop",
    "abort",
    "reload",
    "status",
    "flush",
    "set-permissions",
    "upgrade-configuration",
    "post-install",
    "tls",
};

/* usage - the synopsis, then exit */
static int usage(void)
{
    msg_error("usage: %s [-c config_dir] [-Dv] command", msg_progname());
    return 2;
}

/* check_master - parse master.cf; returns the number of errors */
static int check_master(void)
{
    struct buf path = BUF_INIT;
    struct buf why = BUF_INIT;
    struct master_cf *cf;
    int errors = 0;

    buf_setf(&path, "%s/master.cf", conf_dir());
    if ((cf = master_cf_load(buf_str(&path), &why)) == NULL) {
        msg_error("%s", buf_str(&why));
        errors++;
    }
    master_cf_free(cf);
    buf_fini(&path);
    buf_fini(&why);
    return errors;
}

/* check_dirs - the directories the instance needs; number of errors */
static int check_dirs(void)
{
    static const char *const names[] = {"config_directory", "queue_directory",
                                        "data_directory"};
    int errors = 0;
    struct stat st;

    for (size_t i = 0; i < NELEM(names); i++) {
        const char *dir = conf_str(names[i]);

        if (stat(dir, &st) < 0) {
            /* The queue and data folders are created at start-up. */
            if (i == 0) {
                msg_error("%s: %s: %m", names[i], dir);
                errors++;
            } else {
                msg_warn("%s: %s does not exist yet: it is created when "
                         "the mail system starts",
                         names[i], dir);
            }
        } else if (!S_ISDIR(st.st_mode)) {
            msg_error("%s: %s is not a directory", names[i], dir);
            errors++;
        }
    }
    return errors;
}

/* postfix_check - validate the whole configuration */
static int postfix_check(void)
{
    int errors = conf_check();

    errors += check_master();
    errors += check_dirs();
    if (errors) {
        msg_error("configuration check: %d problem%s found in %s", errors,
                  errors == 1 ? "" : "s", conf_dir());
        return 1;
    }
    return 0;
}

/* postfix_main - parse options and run the command */
int postfix_main(int argc, char **argv)
{
    struct buf why = BUF_INIT;
    const char *verb;
    int ch;

    msg_init(argc > 0 ? argv[0] : "postfix");
    optind = 1;
    while ((ch = getopt(argc, argv, "+c:Dv")) != -1) {
        switch (ch) {
            case 'c':
                conf_set_dir(optarg);
                break;
            case 'D':
                break;
            case 'v':
                msg_verbose++;
                break;
            default:
                return usage();
        }
    }
    if (optind >= argc)
        return usage();
    verb = argv[optind];
    /* check lists this problem with every other one (conf_check) */
    if (conf_load(&why) < 0 && strcmp(verb, "check") != 0) {
        msg_error("%s", buf_str(&why));
        buf_fini(&why);
        return 1;
    }
    /* Children started later find the instance through MAIL_CONFIG. */
    setenv("MAIL_CONFIG", conf_dir(), 1);
    if (mail_log_init("postfix", &why) < 0)
        msg_warn("%s", buf_str(&why));
    buf_fini(&why);
    if (strcmp(verb, "check") == 0)
        return postfix_check();
    for (size_t i = 0; i < NELEM(later_verbs); i++) {
        if (strcmp(verb, later_verbs[i]) == 0) {
            msg_error("%s: this ulak release (%s) has no master daemon or "
                      "queue yet; only \"check\" is available",
                      verb, ULAK_VERSION);
            return 1;
        }
    }
    msg_error("unknown command: '%s'", verb);
    return usage();
}
