#include "cmd.h"

#include "lib/msg.h"

/* postalias_main - placeholder until the command lands */
int postalias_main(int argc, char **argv)
{
    (void) argc;
    msg_init(argv[0]);
    msg_error("%s: not built yet", argv[0]);
    return 1;
}

/* newaliases_main - placeholder */
int newaliases_main(int argc, char **argv)
{
    return postalias_main(argc, argv);
}
