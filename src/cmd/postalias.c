/*
 * postalias - Postfix alias database maintenance (postalias(1)), and
 * newaliases, which rebuilds every table of alias_database.
 *
 * Both run the postmap engine (postmap.h) with the aliases(5) source format.
 * newaliases takes Postfix sendmail's options for that mode: -C and -c name
 * the configuration, -oA names the database(s) instead of alias_database,
 * -v is verbose; the other sendmail options are accepted and ignored, as
 * Postfix's sendmail does.  Its messages are postalias's, as in Postfix,
 * where sendmail runs postalias for this.
 */
#include "cmd.h"

#include <unistd.h>

#include "../lib/argv.h"
#include "../lib/buf.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../global/conf.h"
#include "postmap.h"

static const struct postmap_spec alias_spec = {
    .prog = "postalias",
    .usage = "postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] "
             "[map_type:]file...",
    .aliases = true,
};

/* postalias_main - postalias(1) */
int postalias_main(int argc, char **argv)
{
    return postmap_run(&alias_spec, argc, argv);
}

/* tempfail_exit - newaliases' own fatal errors exit with EX_TEMPFAIL, as
 * Postfix's sendmail does */
static void tempfail_exit(int status)
{
    (void) status;
    exit(75);
}

/* newaliases_main - postalias of each alias_database table */
int newaliases_main(int argc, char **argv)
{
    struct argv *args = argv_new();
    struct argv *dbs = NULL;
    const char *conf = NULL;
    const char *oa = NULL;
    struct buf why = BUF_INIT;
    int verbose = 0;
    int status;

    /* Until postalias runs, errors are newaliases' own (sendmail's). */
    msg_init("newaliases");
    msg_set_exit_hook(tempfail_exit);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-C") == 0 || strcmp(a, "-c") == 0) {
            if (i + 1 >= argc) {
                /* Postfix's sendmail scans its options twice: the
                 * complaint comes twice. */
                for (int n = 0; n < 2; n++)
                    fprintf(stderr, "%s: option requires an argument -- '%c'\n",
                            argv[0], a[1]);
                msg_fatal("usage: newaliases [options]");
            }
            conf = argv[++i];
        } else if (strncmp(a, "-C", 2) == 0) {
            conf = a + 2;
        } else if (strncmp(a, "-oA", 3) == 0) {
            oa = a + 3;
        } else if (strcmp(a, "-v") == 0) {
            verbose++;
        }
    }
    if (conf != NULL) {
        /* -C names main.cf or its directory. */
        size_t n = strlen(conf);

        if (n > 8 && strcmp(conf + n - 8, "/main.cf") == 0) {
            char *dir = mem_strndup(conf, n - 8);

            conf_set_dir(dir);
            mem_free(dir);
        } else {
            conf_set_dir(conf);
        }
    }
    if (access(conf_main_cf(), F_OK) < 0)
        msg_fatal("open %s: %m", conf_main_cf());
    if (conf_load(&why) < 0)
        msg_fatal("%s", buf_str(&why));
    dbs = argv_split(oa != NULL ? oa : conf_str("alias_database"), ", \t\r\n");
    argv_add(args, "postalias");
    for (int i = 0; i < verbose; i++)
        argv_add(args, "-v");
    if (conf != NULL) {
        argv_add(args, "-c");
        argv_add(args, conf_dir());
    }
    for (size_t i = 0; i < dbs->argc; i++)
        argv_add(args, dbs->argv[i]);
    msg_set_exit_hook(NULL);
    status = 0;
    if (dbs->argc > 0)
        status = postmap_run(&alias_spec, (int) args->argc, args->argv);
    argv_free(dbs);
    argv_free(args);
    buf_fini(&why);
    return status;
}
