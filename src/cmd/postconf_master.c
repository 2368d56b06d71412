/*
 * postconf_master - postconf -M, -F and -P (first cut: not implemented yet).
 */
#include "postconf_master.h"

#include "lib/msg.h"

/* postconf_master_entries - print master.cf entries (not yet) */
int postconf_master_entries(char **names, int count, bool fold)
{
    (void) names;
    (void) count;
    (void) fold;
    msg_error("postconf -M is not implemented yet");
    return 1;
}

/* postconf_master_fields - print master.cf fields (not yet) */
int postconf_master_fields(char **names, int count)
{
    (void) names;
    (void) count;
    msg_error("postconf -F is not implemented yet");
    return 1;
}

/* postconf_master_params - print master.cf -o parameters (not yet) */
int postconf_master_params(char **names, int count)
{
    (void) names;
    (void) count;
    msg_error("postconf -P is not implemented yet");
    return 1;
}
