/*
 * smtpd - the SMTP server daemon (see smtpd.h): the configuration
 * snapshot and the accepted connections.
 */
#include "smtpd.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../lib/argv.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "../global/conf.h"
#include "../global/dns.h"
#include "../global/resolve.h"
#include "smtpd_policy.h"

static struct smtpd smtpd;

/* ehlo_bits - smtpd_discard_ehlo_keywords as SMTPD_EHLO_* bits */
static unsigned ehlo_bits(const char *value)
{
    static const struct {
        const char *name;
        unsigned bit;
    } kw[] = {
        {"pipelining", SMTPD_EHLO_PIPELINING},
        {"size", SMTPD_EHLO_SIZE},
        {"vrfy", SMTPD_EHLO_VRFY},
        {"etrn", SMTPD_EHLO_ETRN},
        {"enhancedstatuscodes", SMTPD_EHLO_ENHANCED},
        {"8bitmime", SMTPD_EHLO_8BITMIME},
        {"dsn", SMTPD_EHLO_DSN},
        {"smtputf8", SMTPD_EHLO_SMTPUTF8},
        {"chunking", SMTPD_EHLO_CHUNKING},
        {"xclient", SMTPD_EHLO_XCLIENT},
        {"xforward", SMTPD_EHLO_XFORWARD},
        {"silent-discard", SMTPD_EHLO_SILENT},
    };
    struct argv *w = conf_split_list(value);
    unsigned bits = 0;

    for (size_t i = 0; i < w->argc; i++) {
        bool known = false;

        for (size_t j = 0; j < sizeof(kw) / sizeof(kw[0]); j++) {
            if (strcasecmp(w->argv[i], kw[j].name) == 0) {
                bits |= kw[j].bit;
                known = true;
            }
        }
        /* Keywords ulak does not offer (STARTTLS, AUTH) need no
         * discarding; Postfix ignores unknown ones silently too. */
        (void) known;
    }
    argv_free(w);
    return bits;
}

/* str_int - a number parameter that Postfix defines as text (with a
 * ${stress?...} default); -1 with WHY when it is not a number */
static int str_int(const char *name, long *out, struct buf *why)
{
    const char *v = conf_str(name);

    if (str_to_long(v, out) < 0 || *out < 0) {
        buf_setf(why, "%s: \"%s\" is not a number", name, v);
        return -1;
    }
    return 0;
}

/* post_jail - the configuration snapshot */
static int post_jail(struct server *srv, struct buf *why)
{
    struct smtpd *d = &smtpd;
    struct argv *w;
    struct buf maps = BUF_INIT;

    d->srv = srv;
    d->loop = server_loop(srv);
    smtpd_cmd_opts_default(&d->cmd);
    d->cmd.strict_rfc821 = conf_bool("strict_rfc821_envelopes");
    d->cmd.smtputf8_enable = conf_bool("smtputf8_enable");
    d->cmd.message_size_limit = (uint64_t) conf_size("message_size_limit");
    d->myhostname = mem_strdup(conf_str("myhostname"));
    d->mail_name = mem_strdup(conf_str("mail_name"));
    d->banner = mem_strdup(conf_str("smtpd_banner"));
    d->line_limit = (size_t) conf_int("line_length_limit");
    if (d->line_limit < 512)
        d->line_limit = 512; /* Postfix's floor for command lines */
    d->timeout_ms = conf_time("smtpd_timeout") * 1000;
    /* A text parameter in Postfix (its default is an expression). */
    {
        const char *v = conf_str("smtpd_per_request_deadline");

        if (strcasecmp(v, "yes") == 0)
            d->per_request_deadline = true;
        else if (strcasecmp(v, "no") != 0) {
            buf_setf(why,
                     "smtpd_per_request_deadline: \"%s\" is not a "
                     "boolean (yes or no)",
                     v);
            return -1;
        }
    }
    d->min_data_rate = conf_int("smtpd_min_data_rate");
    d->error_sleep_ms = conf_time("smtpd_error_sleep_time") * 1000;
    d->soft_limit = conf_int("smtpd_soft_error_limit");
    if (str_int("smtpd_hard_error_limit", &d->hard_limit, why) < 0
        || str_int("smtpd_junk_command_limit", &d->junk_limit, why) < 0)
        return -1;
    d->rcpt_limit = conf_int("smtpd_recipient_limit");
    d->overshoot_limit = conf_int("smtpd_recipient_overshoot_limit");
    d->helo_required = conf_bool("smtpd_helo_required");
    d->soft_bounce = conf_bool("soft_bounce");
    d->delay_open = conf_bool("smtpd_delay_open_until_valid_rcpt");
    /* ulak has no TLS yet.  Where TLS is required, mail is refused as
     * Postfix refuses it before STARTTLS; a wrapper-mode port (smtps)
     * speaks no plaintext at all.  Never plaintext where TLS was asked. */
    d->tls_required =
        strcasecmp(conf_str("smtpd_tls_security_level"), "encrypt") == 0
        || conf_bool("smtpd_enforce_tls");
    d->tls_wrapper = conf_bool("smtpd_tls_wrappermode");
    if (d->tls_required)
        msg_warn("%s: TLS is required here, and this ulak release has no "
                 "TLS: mail is refused (530 5.7.0)",
                 server_service(srv));
    if (d->tls_wrapper)
        msg_warn("%s: smtpd_tls_wrappermode = yes, and this ulak release "
                 "has no TLS: connections are closed",
                 server_service(srv));
    if (conf_bool("smtpd_sasl_auth_enable"))
        msg_warn("%s: smtpd_sasl_auth_enable = yes, and this ulak release "
                 "has no SASL: AUTH is refused",
                 server_service(srv));
    d->disable_vrfy = conf_bool("disable_vrfy_command");
    d->forbid_bare_newline = conf_bool("smtpd_forbid_bare_newline");
    d->bare_newline_code =
        (int) conf_int("smtpd_forbid_bare_newline_reject_code");
    d->peername_lookup = conf_bool("smtpd_peername_lookup");
    d->port_logging = conf_bool("smtpd_client_port_logging");
    d->ehlo_discard = ehlo_bits(conf_str("smtpd_discard_ehlo_keywords"));
    d->forbidden = argv_new();
    w = conf_split_list(conf_str("smtpd_forbidden_commands"));
    for (size_t i = 0; i < w->argc; i++) {
        if (strchr(w->argv[i], ':')) {
            if (buf_len(&maps))
                buf_catc(&maps, ' ');
            buf_cat(&maps, w->argv[i]);
        } else {
            argv_add(d->forbidden, w->argv[i]);
        }
    }
    argv_free(w);
    if (buf_len(&maps))
        d->forbidden_maps = maps_open("smtpd_forbidden_commands",
                                      buf_str(&maps), DICT_FLAG_FOLD_FIX);
    buf_fini(&maps);
    d->xclient_ok = addr_match_new("smtpd_authorized_xclient_hosts",
                                   conf_str("smtpd_authorized_xclient_hosts"));
    d->xforward_ok =
        addr_match_new("smtpd_authorized_xforward_hosts",
                       conf_str("smtpd_authorized_xforward_hosts"));
    d->bare_nl_exempt =
        addr_match_new("smtpd_forbid_bare_newline_exclusions",
                       conf_str("smtpd_forbid_bare_newline_exclusions"));
    d->mynetworks = addr_match_new("mynetworks", conf_str("mynetworks"));
    d->local_rewrite =
        conf_split_list(conf_str("local_header_rewrite_clients"));
    d->fast_flush = conf_split_list(conf_str("fast_flush_domains"));
    for (size_t i = 0; i < d->fast_flush->argc; i++)
        str_lower(d->fast_flush->argv[i]);
    d->resolve = resolve_open();
    d->conn_count_limit = conf_int("smtpd_client_connection_count_limit");
    d->conn_rate_limit = conf_int("smtpd_client_connection_rate_limit");
    d->msg_rate_limit = conf_int("smtpd_client_message_rate_limit");
    d->rcpt_rate_limit = conf_int("smtpd_client_recipient_rate_limit");
    d->limit_exempt =
        addr_match_new("smtpd_client_event_limit_exceptions",
                       conf_str("smtpd_client_event_limit_exceptions"));
    /* anvil counts per master.cf service; without a service name (a
     * stand-alone test run) there is nothing to share. */
    if (server_service(srv)[0])
        d->anvil = anvil_clnt_open(d->loop, server_service(srv));
    d->check = smtpd_check_open();
    d->policy = smtpd_policy_open(d->loop);
    /* The resolver for client names and the DNS restrictions (after the
     * privilege drop, on this loop). */
    if ((d->dns = dns_new(d->loop, conf_str("ulak_dns_servers"), why)) == NULL)
        return -1;
    if ((d->cf = cleanup_conf_new(why)) == NULL)
        return -1;
    return 0;
}

/* on_accept - a new client */
static void on_accept(struct server *srv, int fd)
{
    int wfd = -1;

    /* Stand-alone (sendmail -bs): the replies go to standard output, and
     * the log only to the log, not into the user's terminal. */
    if (server_standalone(srv)) {
        wfd = dup(1);
        msg_output_stderr(false);
    }
    smtpd_sess_start(&smtpd, fd, wfd);
}

/* smtpd_free - the snapshot, at exit */
static void smtpd_free(struct smtpd *d)
{
    mem_free(d->myhostname);
    mem_free(d->mail_name);
    mem_free(d->banner);
    argv_free(d->forbidden);
    maps_free(d->forbidden_maps);
    addr_match_free(d->xclient_ok);
    addr_match_free(d->xforward_ok);
    addr_match_free(d->bare_nl_exempt);
    addr_match_free(d->mynetworks);
    argv_free(d->local_rewrite);
    argv_free(d->fast_flush);
    resolve_free(d->resolve);
    addr_match_free(d->limit_exempt);
    if (d->anvil)
        anvil_clnt_close(d->anvil);
    if (d->check)
        smtpd_check_free(d->check);
    smtpd_policy_close(d->policy);
    if (d->dns)
        dns_free(d->dns);
    cleanup_conf_free(d->cf);
    memset(d, 0, sizeof(*d));
}

/* smtpd_main - the SMTP server */
int smtpd_main(int argc, char **argv)
{
    static const struct server_spec spec = {
        .name = "smtpd",
        .post_jail = post_jail,
        .on_accept = on_accept,
    };
    int status = server_run(&spec, argc, argv);

    smtpd_free(&smtpd);
    return status;
}
