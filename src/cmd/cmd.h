/*
 * cmd - entry points of the commands in the multi-call binary.
 *
 * Each takes the argument vector as its program sees it: argv[0] is the
 * command name ("postconf"), never "ulak".
 */
#ifndef ULAK_CMD_H
#define ULAK_CMD_H

int postfix_main(int argc, char **argv);
int postconf_main(int argc, char **argv);
int postmap_main(int argc, char **argv);
int postalias_main(int argc, char **argv);
int newaliases_main(int argc, char **argv);
int postcat_main(int argc, char **argv);
int notyet_main(int argc, char **argv);

#endif
