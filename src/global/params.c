/*
 * params - the parameter table, expanded from params.def.
 */
#include "params.h"

#include <limits.h>

#define MAX    LONG_MAX
#define ACTED  PARAM_ACTED
#define DYN    PARAM_DYN
#define RAW    PARAM_RAW
#define RO     PARAM_RO
#define HIDDEN PARAM_HIDDEN
#define ULAK   PARAM_ULAK

/* Type tokens of params.def: the type and the unit of bare time values. */
#define T_STR    PARAM_STR, 0
#define T_LIST   PARAM_LIST, 0
#define T_BOOL   PARAM_BOOL, 0
#define T_INT    PARAM_INT, 0
#define T_SIZE   PARAM_SIZE, 0
#define T_TIME_S PARAM_TIME, 's'
#define T_TIME_M PARAM_TIME, 'm'
#define T_TIME_H PARAM_TIME, 'h'
#define T_TIME_D PARAM_TIME, 'd'
#define T_TIME_W PARAM_TIME, 'w'

#define PARAM(type, name, def, min, max, flags) \
    {#name, def, min, max, T_##type, flags},

static const struct param table[] = {
#include "params.def"
};

#undef PARAM

/* params_find - binary search of the sorted table */
const struct param *params_find(const char *name)
{
    size_t lo = 0;
    size_t hi = NELEM(table);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(name, table[mid].name);

        if (cmp == 0)
            return &table[mid];
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* params_table - the whole table */
const struct param *params_table(size_t *count)
{
    *count = NELEM(table);
    return table;
}

/* params_type_name - the type as a word for messages */
const char *params_type_name(enum param_type type)
{
    switch (type) {
        case PARAM_STR:
            return "string";
        case PARAM_LIST:
            return "list";
        case PARAM_BOOL:
            return "boolean";
        case PARAM_INT:
            return "integer";
        case PARAM_SIZE:
            return "size";
        case PARAM_TIME:
            return "time";
    }
    return "string";
}
