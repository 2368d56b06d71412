/*
 * smtpd_policy - Postfix's SMTP access policy delegation
 * (SMTPD_POLICY_README): the check_policy_service client of smtpd, for a
 * process that serves many sessions on one event loop.  Nothing here
 * blocks.
 *
 * The protocol: smtpd writes "name=value" lines and an empty line
 * (smtpd_policy_encode: the attributes Postfix 3.7 sends, in its order);
 * the server answers "action=..." (other attributes are ignored) and an
 * empty line.  The action is an access(5) result, which smtpd_check
 * evaluates as it evaluates check_*_access results.
 *
 * A service is named as in main.cf: "inet:host:port" (host a numeric
 * address, [ipv6], or a name in /etc/hosts: the name service is not
 * asked, it would block the loop; port a number or a name in
 * /etc/services), "unix:path" (relative to
 * $queue_directory unless absolute: unix:private/policy), or since
 * Postfix 3.0 "{ endpoint, name=value, ... }" with per-service settings
 * timeout, default_action, max_idle, max_ttl, request_limit, try_limit,
 * retry_delay and policy_context (a value with spaces or commas in
 * "{ }").  Settings not given come from smtpd_policy_service_timeout,
 * _default_action, _max_idle, _max_ttl, _request_limit, _try_limit,
 * _retry_delay and _policy_context.
 *
 * Connections: one per service per process, reused by the sessions in
 * turn (one request at a time on it; the others queue in order), closed
 * after max_idle without a request, after max_ttl, and after
 * request_limit requests (0: no limit).  An attempt that fails (connect,
 * write, read, a malformed reply, or no complete answer within the
 * timeout, which bounds each attempt) is logged as Postfix logs it
 * ("warning: connect to 127.0.0.1:9998: Connection refused" for a
 * connect error, then "warning: problem talking to server
 * 127.0.0.1:9998: Connection refused" for every failure), the connection
 * is closed, and the request is sent again on a new one after
 * retry_delay, at most try_limit attempts in all; after the last, the
 * answer is the service's default_action.  A reply that has no action
 * (or does not parse) is logged ("warning: missing attribute action in
 * input from 127.0.0.1:9998", "warning: problem talking to server
 * 127.0.0.1:9998: Application error") and answered with the default
 * action at once, as are a connection the server closes before its answer
 * ("Application error"), except that a request on a reused connection
 * that turns out closed is sent again on a new one first, silently.
 *
 * Callbacks run from the loop, never inside smtpd_policy_request.
 * smtpd_policy_cancel(p, id) makes sure a request's callback never runs
 * (a session that goes away); a request already on the wire is still
 * answered by the server (and the answer dropped) so that the
 * connection stays in step.
 *
 * Ownership: the client borrows LOOP; strings are copied.  The callback's
 * ACTION is valid during the call only.
 */
#ifndef ULAK_SMTPD_POLICY_H
#define ULAK_SMTPD_POLICY_H

#include <stdint.h>

#include "lib/buf.h"
#include "lib/loop.h"

/* The longest reply line, and the most reply lines, that are accepted. */
#define SMTPD_POLICY_LINE_MAX  65536
#define SMTPD_POLICY_ATTRS_MAX 100
#define SMTPD_POLICY_REPLY_MAX (256 * 1024) /* all lines together */

/* One service's settings. */
struct smtpd_policy_conf {
    char *endpoint; /* "inet:host:port" or "unix:path" */
    long timeout_ms;
    long max_idle_ms;
    long max_ttl_ms;
    long retry_delay_ms;
    long request_limit; /* 0: none */
    long try_limit;
    char *default_action;
    char *policy_context;
};

/* smtpd_policy_conf_parse - SPEC (an endpoint or a "{ ... }" group) with
 * the main.cf defaults; 0, or -1 with WHY (OUT then needs no fini). */
int smtpd_policy_conf_parse(const char *spec, struct smtpd_policy_conf *out,
                            struct buf *why);
void smtpd_policy_conf_fini(struct smtpd_policy_conf *conf);

/* What a request says; NULL strings are sent empty. */
struct smtpd_policy_attrs {
    const char *protocol_state; /* CONNECT, EHLO, HELO, MAIL, RCPT, DATA,
                                   END-OF-MESSAGE, VRFY, ETRN */
    const char *protocol_name;  /* SMTP or ESMTP */
    const char *client_address;
    const char *client_name;
    const char *client_port;
    const char *reverse_client_name;
    const char *server_address;
    const char *server_port;
    const char *helo_name;
    const char *sender;
    const char *recipient;
    unsigned recipient_count;
    const char *queue_id;
    const char *instance;
    unsigned long long size;
    const char *etrn_domain;
    const char *stress;
    const char *sasl_method;
    const char *sasl_username;
    const char *sasl_sender;
    const char *policy_context;
};

/* smtpd_policy_encode - the request for A, with its empty line, into OUT
 * (a line break in a value is sent as a space). */
void smtpd_policy_encode(const struct smtpd_policy_attrs *a, struct buf *out);

/*
 * smtpd_policy_reply_parse - a server's answer at the start of IN (LEN
 * bytes): 0 when it is not complete yet; 1 when it is, with the action in
 * ACTION and the bytes it took in *USED; -1 with WHY when it is
 * malformed (a line over SMTPD_POLICY_LINE_MAX, more than
 * SMTPD_POLICY_REPLY_MAX bytes in all, more than
 * SMTPD_POLICY_ATTRS_MAX lines, a line without "=", a NUL byte, no
 * action attribute: "missing attribute action").
 */
int smtpd_policy_reply_parse(const char *in, size_t len, size_t *used,
                             struct buf *action, struct buf *why);

typedef void (*smtpd_policy_fn)(void *arg, const char *action);

struct smtpd_policy;

struct smtpd_policy *smtpd_policy_open(struct loop *loop);
/* smtpd_policy_close - free P (NULL: nothing); no callback runs after. */
void smtpd_policy_close(struct smtpd_policy *p);

/* smtpd_policy_request - send REQUEST (smtpd_policy_encode's) to the
 * service SPEC; FN gets the action, or the default action when the
 * service fails.  The id to cancel it with (never 0).  A SPEC that does
 * not parse answers the default action of main.cf, with a warning. */
uint32_t smtpd_policy_request(struct smtpd_policy *p, const char *spec,
                              const char *request, smtpd_policy_fn fn,
                              void *arg);
/* smtpd_policy_cancel - FN of request ID will not run. */
void smtpd_policy_cancel(struct smtpd_policy *p, uint32_t id);

#endif
