/*
 * conf - main.cf: reading, parameter values, expansion, validation.
 *
 * Postfix's rules: "name = value" logical lines, white-space continuation,
 * '#' comment lines, last definition wins, lazy recursive $name expansion
 * (with ${name?x}, ${name:x}, ${name?{x}:{y}} and the 3.6+ comparisons) at
 * the time a value is used.  Every parameter that Postfix 3.7 knows is in
 * params.def with its type, default text and bounds; per-table names such as
 * "PostfixUser_server_host" and per-service names such as
 * "smtp-amavis_destination_concurrency_limit" are accepted as Postfix does.
 *
 * The configuration directory comes from, in order: the -c option
 * (conf_set_dir), $MAIL_CONFIG, then the built-in /etc/postfix.
 *
 * Returned strings are borrowed: valid until the next conf_load or
 * conf_override.
 */
#ifndef ULAK_CONF_H
#define ULAK_CONF_H

#include "../lib/buf.h"

/* conf_set_dir - use DIR as config_directory (the -c option). */
void conf_set_dir(const char *dir);
/* conf_dir - the configuration directory in effect (borrowed). */
const char *conf_dir(void);
/* conf_load - read conf_dir()/main.cf; -1 with WHY when it cannot be read.
 * A missing main.cf is not an error (all defaults), as in Postfix. */
int conf_load(struct buf *why);
/* conf_override - set NAME=VALUE as a master.cf -o option does. */
void conf_override(const char *name, const char *value);

/* conf_str - the expanded value of NAME ("" when NAME is not a parameter
 * and not set). */
const char *conf_str(const char *name);
/* Typed values: the caller names a parameter of that type; a value that
 * does not parse was reported by conf_check and falls back to the default. */
bool conf_bool(const char *name);
long conf_int(const char *name);
long conf_time(const char *name); /* seconds */
long conf_size(const char *name); /* bytes */

#endif
