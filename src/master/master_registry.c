/*
 * master_registry - which master.cf commands ulak runs, builds in, or does
 * not have yet.  A daemon that lands adds its main here (kind RUN) or
 * moves its entry from NOTYET to BUILTIN with the process that hosts it.
 */
#include "master.h"

#include "../lib/msg.h"
#include "../anvil/anvil.h"
#include "../discard/discard.h"
#include "../error/error.h"
#include "../local/local.h"
#include "../pickup/pickup.h"
#include "../qmgr/qmgr.h"
#include "../smtp/smtp.h"
#include "../smtpd/smtpd.h"
#include "../spawnd/spawnd.h"
#include "../virtual/virtual.h"

static const struct master_prog progs[] = {
    /* Daemons in this binary. */
    {"spawn", MASTER_PROG_RUN, spawnd_main, 0, NULL},
    {"local", MASTER_PROG_RUN, local_main, 0, NULL},
    {"virtual", MASTER_PROG_RUN, virtual_main, 0, NULL},
    {"error", MASTER_PROG_RUN, error_main, 0, NULL},
    {"discard", MASTER_PROG_RUN, discard_main, 0, NULL},
    {"qmgr", MASTER_PROG_RUN, qmgr_main, MASTER_PROG_ALWAYS, NULL},
    {"pickup", MASTER_PROG_RUN, pickup_main, 0, NULL},
    {"smtpd", MASTER_PROG_RUN, smtpd_main, MASTER_PROG_MULTI, NULL},
    {"smtp", MASTER_PROG_RUN, smtp_main, MASTER_PROG_MULTI, NULL},
    {"lmtp", MASTER_PROG_RUN, lmtp_main, MASTER_PROG_MULTI, NULL},
    {"anvil", MASTER_PROG_RUN, anvil_main, 0, NULL},

    /* Postfix programs whose work ulak does inside another process. */
    {"cleanup", MASTER_PROG_BUILTIN, NULL, 0, "pickup and smtpd"},
    {"trivial-rewrite", MASTER_PROG_BUILTIN, NULL, 0, "qmgr"},
    {"bounce", MASTER_PROG_BUILTIN, NULL, 0, "qmgr"},
    {"verify", MASTER_PROG_NOTYET, NULL, 0, "smtpd"},
    {"flush", MASTER_PROG_NOTYET, NULL, 0, "qmgr"},
    {"proxymap", MASTER_PROG_NOTYET, NULL, 0, "lookup"},
    {"scache", MASTER_PROG_NOTYET, NULL, 0, "smtp"},
    {"tlsmgr", MASTER_PROG_NOTYET, NULL, 0, "smtpd and smtp"},
    {"showq", MASTER_PROG_NOTYET, NULL, 0, "postqueue"},
    {"postlogd", MASTER_PROG_NOTYET, NULL, 0, "every process"},
    {"oqmgr", MASTER_PROG_NOTYET, NULL, 0, "qmgr"},

    /* Postfix programs that ulak will run as processes of their own. */
    {"pipe", MASTER_PROG_NOTYET, NULL, 0, NULL},
    {"postscreen", MASTER_PROG_NOTYET, NULL, 0, NULL},
    {"dnsblog", MASTER_PROG_NOTYET, NULL, 0, NULL},
    {"tlsproxy", MASTER_PROG_NOTYET, NULL, 0, NULL},
    {"qmqpd", MASTER_PROG_NOTYET, NULL, 0, NULL},
};

/* master_prog_find - look COMMAND up */
const struct master_prog *master_prog_find(const char *command)
{
    for (size_t i = 0; i < NELEM(progs); i++)
        if (strcmp(progs[i].name, command) == 0)
            return &progs[i];
    return NULL;
}

/* master_daemon_main - the hidden role dispatch */
int master_daemon_main(int argc, char **argv)
{
    const struct master_prog *p;

    if (argc < 1)
        msg_fatal("--daemon: no program name");
    if (strcmp(argv[0], "master") == 0)
        return master_main(argc, argv);
    if ((p = master_prog_find(argv[0])) == NULL || p->kind != MASTER_PROG_RUN)
        msg_fatal("--daemon %s: not a daemon of this ulak release", argv[0]);
    return p->main(argc, argv);
}

/* master_check_services - what happens to each service, once */
int master_check_services(const struct master_cf *cf)
{
    int errors = 0;

    for (const struct master_ent *e = cf->head; e; e = e->next) {
        const struct master_prog *p;
        const char *cmd = e->command->argc ? e->command->argv[0] : "";

        /* Only the last definition of a name/type counts (master(5)). */
        if (master_cf_find(cf, e->service, e->type_name) != e)
            continue;
        if (e->type != MASTER_TYPE_INET
            && (strchr(e->service, '/') || e->service[0] == '.')) {
            msg_error("file %s: line %d: service %s/%s: a %s service name "
                      "may not contain '/' or start with '.'",
                      cf->path, e->line, e->service, e->type_name,
                      e->type_name);
            errors++;
            continue;
        }
        if ((p = master_prog_find(cmd)) == NULL) {
            msg_error("file %s: line %d: service %s/%s: unknown command "
                      "\"%s\": neither ulak nor Postfix has such a daemon",
                      cf->path, e->line, e->service, e->type_name, cmd);
            errors++;
            continue;
        }
        switch (p->kind) {
            case MASTER_PROG_RUN:
                break;
            case MASTER_PROG_BUILTIN:
                msg_info("master.cf: service %s/%s (%s): accepted; built "
                         "into ulak's %s, the master starts no process for "
                         "it",
                         e->service, e->type_name, cmd, p->note);
                break;
            case MASTER_PROG_NOTYET:
                msg_warn("master.cf: service %s/%s (%s): accepted, but not "
                         "available in ulak %s yet; the master does not "
                         "start it",
                         e->service, e->type_name, cmd, ULAK_VERSION);
                break;
        }
    }
    return errors;
}
