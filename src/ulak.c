/*
 * ulak - the multi-call binary.
 *
 * Invoked through a link NAME (build/bin/postconf) or as "ulak NAME ARGS",
 * it runs NAME's main.  "ulak VERB" for any other word, and plain "ulak", is
 * the postfix(1) command: "ulak -c DIR check" is "postfix -c DIR check".
 * "ulak --daemon NAME ..." is how the master runs a daemon (master.h).
 */
#include "lib/sys_defs.h"

#include "lib/msg.h"
#include "lib/priv.h"
#include "cmd/cmd.h"
#include "master/master.h"

struct prog {
    const char *name;
    int (*main)(int argc, char **argv);
};

static const struct prog progs[] = {
    {"postfix", postfix_main},       {"postconf", postconf_main},
    {"postmap", postmap_main},       {"postalias", postalias_main},
    {"newaliases", newaliases_main}, {"postqueue", postqueue_main},
    {"mailq", mailq_main},           {"postsuper", postsuper_main},
    {"postcat", postcat_main},       {"sendmail", sendmail_main},
};

/* find - the program called NAME, or NULL */
static const struct prog *find(const char *name)
{
    for (size_t i = 0; i < NELEM(progs); i++)
        if (strcmp(progs[i].name, name) == 0)
            return &progs[i];
    return NULL;
}

/* main - dispatch on argv[0], then on argv[1] */
int main(int argc, char **argv)
{
    const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
    const struct prog *p;

    base = base ? base + 1 : (argc > 0 ? argv[0] : "ulak");
    /* Installed set-group-ID setgid_group (for non-root submission to a
     * root instance, as Postfix's postdrop and postqueue): only sendmail,
     * mailq and postqueue may keep the group, and they decide for
     * themselves (cmd_setgid_policy); every other program gives it up
     * before it reads anything. */
    if (priv_is_setgid()) {
        const char *name = base;

        if (strcmp(name, "ulak") == 0 && argc > 1)
            name = argv[1];
        if (strcmp(name, "sendmail") != 0 && strcmp(name, "mailq") != 0
            && strcmp(name, "postqueue") != 0)
            priv_drop_setgid();
    }
    /* The master starts its daemons as "ulak --daemon NAME ...". */
    if (argc > 2 && strcmp(argv[1], "--daemon") == 0)
        return master_daemon_main(argc - 2, argv + 2);
    if ((p = find(base)) != NULL)
        return p->main(argc, argv);
    if (argc > 1 && (p = find(argv[1])) != NULL)
        return p->main(argc - 1, argv + 1);
    /* "ulak start", "ulak -c DIR check": the postfix command, named ulak. */
    return postfix_main(argc, argv);
}
