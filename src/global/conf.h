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
 * Returned strings are borrowed: valid until the next conf_load,
 * conf_override or conf_defaults_only.  Vectors from conf_list and
 * conf_names are owned by the caller.
 *
 * conf_load keeps going after a syntax error (the line is skipped and
 * remembered) so that conf_check can report every problem at once; its -1
 * return and WHY give the first one in Postfix's words ("FILE, line N:
 * missing '=' after attribute name: ..."), which postconf prints as fatal.
 * Host-dependent defaults (myhostname, mydomain, mynetworks, process_id,
 * process_name) are computed when first used, from the current values.
 */
#ifndef ULAK_CONF_H
#define ULAK_CONF_H

#include "../lib/buf.h"
#include "../lib/argv.h"

/* conf_set_dir - use DIR as config_directory (the -c option). */
void conf_set_dir(const char *dir);
/* conf_dir - the configuration directory in effect (borrowed). */
const char *conf_dir(void);
/* conf_load - read conf_dir()/main.cf (and the service names and -o
 * settings of master.cf); -1 with WHY when main.cf cannot be read or has a
 * syntax error.  A missing main.cf is not an error (all defaults). */
int conf_load(struct buf *why);
/* conf_override - set NAME=VALUE as a master.cf -o option does. */
void conf_override(const char *name, const char *value);
/* conf_set_service_name - the read-only $service_name: the master.cf
 * service a daemon runs for (server_run sets it from -n). */
void conf_set_service_name(const char *name);

/* conf_str - the expanded value of NAME ("" when NAME is not a parameter
 * and not set). */
const char *conf_str(const char *name);
/* Typed values: the caller names a parameter of that type; a value that
 * does not parse was reported by conf_check and falls back to the default. */
bool conf_bool(const char *name);
long conf_int(const char *name);
long conf_time(const char *name); /* seconds */
long conf_size(const char *name); /* bytes */

/* conf_list - the expanded value of NAME split as Postfix splits lists:
 * on white space and commas, with a "{ ... }" group kept as one element
 * ("inline:{ a=b, c=d }").  The vector is owned by the caller. */
struct argv *conf_list(const char *name);
struct argv *conf_split_list(const char *text);

/*
 * Extensions for postconf and "ulak check" (owned by the conf module).
 */

/* conf_check - report EVERY problem of main.cf at once: syntax errors and
 * values that do not parse or are out of bounds (msg_error, "FILE:LINE:
 * NAME: why"), parameters accepted but not acted on yet and unused names
 * (msg_warn).  Returns the number of errors.  Call after conf_load; a
 * conf_load that failed on syntax still allows conf_check to list all. */
int conf_check(void);

/* conf_expand - expand TEXT ($name, ${name?x}, relational forms) into OUT
 * (appended).  -1 with WHY on a syntax error or a reference loop.  UNDEF,
 * when not NULL, is called for each reference to an undefined name. */
typedef void (*conf_undef_fn)(const char *name);
int conf_expand(const char *text, struct buf *out, struct buf *why,
                conf_undef_fn undef);
/* conf_scan - parse TEXT as conf_expand does but without expanding the
 * values of the names it refers to (postconf's check of main.cf): UNDEF
 * for each undefined name, -1 with WHY on a syntax error. */
int conf_scan(const char *text, struct buf *why, conf_undef_fn undef);
/* conf_defaults_only - with ON, values ignore main.cf and overrides
 * (postconf -d); host-dependent defaults follow. */
void conf_defaults_only(bool on);

/* conf_raw - the unexpanded value of NAME: main.cf or -o text, else the
 * default text, else NULL (not a parameter).  Borrowed. */
const char *conf_raw(const char *name);
/* conf_default - the default text of NAME (host-dependent ones computed),
 * or NULL when NAME has no built-in default.  Borrowed. */
const char *conf_default(const char *name);
/* conf_is_set - NAME is set in main.cf (or by -c / -o); *LINE gets the
 * line of its last definition (0 for -c and -o) when LINE is not NULL. */
bool conf_is_set(const char *name, int *line);
/* conf_set_text - the unexpanded text NAME is set to in main.cf, by -c or
 * -o, or NULL (read-only parameters included).  Borrowed. */
const char *conf_set_text(const char *name);
/* conf_master_options - the "name=value" -o settings of master.cf, as
 * read at conf_load (borrowed). */
const struct argv *conf_master_options(void);
/* conf_master_option_services - the "service/type" of each of those, at
 * the same index (borrowed). */
const struct argv *conf_master_option_services(void);
/* conf_is_known - NAME is a built-in parameter, a per-service parameter of
 * a master.cf service, or a user-defined name that is used (referenced as
 * $name, a restriction class, a legacy ldap:/mysql:/pgsql:/sqlite: table
 * parameter). */
bool conf_is_known(const char *name);
/* conf_names - sorted names (owned vector): ALL: built-in and per-service
 * parameters plus used names set in main.cf; SET: main.cf names in file
 * order, used or not; DEFAULTS: built-in and per-service parameters. */
enum conf_names {
    CONF_NAMES_ALL,
    CONF_NAMES_SET,
    CONF_NAMES_DEFAULTS,
};
struct argv *conf_names(enum conf_names which);
/* conf_is_raw - NAME holds run-time macros ($user, $rbl_code...) and is
 * never expanded at configuration time (conf_str returns it as is). */
bool conf_is_raw(const char *name);
/* conf_is_readonly - NAME is computed (process_id...): settings ignored. */
bool conf_is_readonly(const char *name);
/* conf_main_cf - the path of main.cf (borrowed). */
const char *conf_main_cf(void);
/* conf_master_cf_missing - master.cf could not be opened at conf_load. */
bool conf_master_cf_missing(void);
/* conf_parse_time/size/bool/int - parse VALUE as a parameter of that type
 * (time: bare numbers in UNIT); -1 with a reason ("is not a time"). */
int conf_parse_time(const char *value, char unit, long *out);
int conf_parse_long(const char *value, long *out);
int conf_parse_bool(const char *value, bool *out);

#endif
