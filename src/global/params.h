/*
 * params - the table of every parameter that Postfix 3.7 knows.
 *
 * The table is generated from params.def (an X-macro made once by
 * scripts/gen_params.py) and sorted by name.  Each entry holds Postfix's
 * default text (unexpanded: "$myhostname ESMTP $mail_name"), the value type,
 * the bounds for numeric types and flags: PARAM_ACTED when ulak acts on the
 * parameter, PARAM_DYN when the default is computed at run time from the
 * host (conf.c does that).  Everything returned is static and borrowed.
 */
#ifndef ULAK_PARAMS_H
#define ULAK_PARAMS_H

#include "../lib/sys_defs.h"

enum param_type {
    PARAM_STR,
    PARAM_LIST,
    PARAM_BOOL,
    PARAM_INT,
    PARAM_SIZE,
    PARAM_TIME, /* seconds; bare numbers are in param.unit */
};

#define PARAM_ACTED (1 << 0) /* ulak acts on it */
#define PARAM_DYN   (1 << 1) /* default computed at run time */
#define PARAM_RAW   (1 << 2) /* never expanded at configuration time */
#define PARAM_RO    (1 << 3) /* read-only: main.cf settings are ignored */
#define PARAM_HIDDEN \
    (1 << 4)                /* an old name Postfix accepts; not listed by -d */
#define PARAM_ULAK (1 << 5) /* an ulak extension: Postfix has no such name */

struct param {
    const char *name;
    const char *def; /* default text, unexpanded */
    long min;
    long max;
    enum param_type type;
    char unit; /* PARAM_TIME: 's', 'm', 'h', 'd' or 'w' */
    unsigned flags;
};

/* params_find - the entry for NAME, or NULL. */
const struct param *params_find(const char *name);
/* params_table - all entries, sorted by name; *COUNT gets the number. */
const struct param *params_table(size_t *count);
/* params_type_name - "string", "boolean", "integer", "size", "time", "list". */
const char *params_type_name(enum param_type type);

#endif
