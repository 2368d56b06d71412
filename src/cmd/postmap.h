/*
 * postmap - the engine shared by postmap(1), postalias(1) and newaliases.
 *
 * The three commands take the same options and differ only in the source
 * format (postmap: "key value"; postalias: aliases(5)), in the output of -s
 * and "-q -" ("key<TAB>value" against "key:<TAB>value"), and in the extra
 * entries of an alias database ("@" and the YP_* entries).
 */
#ifndef ULAK_POSTMAP_H
#define ULAK_POSTMAP_H

#include "../lib/sys_defs.h"

struct postmap_spec {
    const char *prog;  /* "postmap" or "postalias": message prefix */
    const char *usage; /* the usage line after "usage: " */
    bool aliases;      /* aliases(5) source and alias database extras */
};

/* postmap_run - run the command SPEC with the arguments ARGV; returns the
 * exit status (fatal errors exit directly with status 1). */
int postmap_run(const struct postmap_spec *spec, int argc, char **argv);

#endif
