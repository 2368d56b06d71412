#include "cmd.h"

#include "lib/msg.h"

/* postmap_main - placeholder until the command lands */
int postmap_main(int argc, char **argv)
{
    (void) argc;
    msg_init(argv[0]);
    msg_error("%s: not built yet", argv[0]);
    return 1;
}
