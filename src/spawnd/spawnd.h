/*
 * spawnd - Postfix's spawn(8): run a command per connection.
 *
 * master.cf:  NAME unix - n n - MAXPROC spawn user=USER argv=/path args...
 * The master listens on private/NAME (or public/NAME) and starts up to
 * MAXPROC spawnd processes; each takes one connection at a time and runs
 * the command with its standard input and output on the connection
 * (standard error on /dev/null), in a clean environment
 * ($export_environment), as USER when the instance is privileged (never
 * root) and as the instance's user otherwise.  The command is killed after
 * $NAME_time_limit (default $command_time_limit).  A command that exits
 * with a non-zero status is logged as Postfix's spawn logs it.
 */
#ifndef ULAK_SPAWND_H
#define ULAK_SPAWND_H

int spawnd_main(int argc, char **argv);

#endif
