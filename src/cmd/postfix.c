#include "cmd.h"

#include "lib/msg.h"

/* postfix_main - placeholder until the command lands */
int postfix_main(int argc, char **argv)
{
    (void) argc;
    msg_init(argv[0]);
    msg_error("%s: not built yet", argv[0]);
    return 1;
}
