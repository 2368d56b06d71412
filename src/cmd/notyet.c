#include "cmd.h"

#include "lib/msg.h"

/* notyet_main - the queue commands, whose queue does not exist yet */
int notyet_main(int argc, char **argv)
{
    (void) argc;
    msg_init(argv[0]);
    msg_error("%s is not implemented in ulak %s yet: it needs the mail "
              "queue, which comes in a later release",
              msg_progname(), ULAK_VERSION);
    return 1;
}
