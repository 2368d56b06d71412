/*
 * smtpd - the SMTP server daemon: smtpd(8) for every master.cf "inet"
 * service whose command is smtpd (smtp, submission, 127.0.0.1:10025...).
 * One process serves many sessions at once on the server loop
 * (server.h); the master starts one process per core, at most the
 * service's maxproc, and each takes its share of maxproc sessions.
 *
 * The parts: smtpd.c (the daemon: configuration snapshot, accept),
 * smtpd_sess.c (one session: input, the command state machine, DATA and
 * BDAT, replies, timeouts, limits, the log lines), smtpd_peer.c (who the
 * client is), smtpd_cmd.c (the parsers), smtpd_check.c (the
 * restrictions) and smtpd_policy.c (the policy servers of
 * check_policy_service).  Messages go into the queue through cleanup.h.
 *
 * Ownership: struct smtpd is the daemon's, for the life of the process;
 * each session owns its struct smtpd_sess and frees it at its end.
 */
#ifndef ULAK_SMTPD_H
#define ULAK_SMTPD_H

#include <stdint.h>

#include "../lib/buf.h"
#include "../lib/loop.h"
#include "../global/addr_match.h"
#include "../global/anvil_clnt.h"
#include "../global/maps.h"
#include "../global/server.h"
#include "../cleanup/cleanup.h"
#include "smtpd_check.h"
#include "smtpd_cmd.h"

/* EHLO keywords that smtpd_discard_ehlo_keywords can remove. */
#define SMTPD_EHLO_PIPELINING (1u << 0)
#define SMTPD_EHLO_SIZE       (1u << 1)
#define SMTPD_EHLO_VRFY       (1u << 2)
#define SMTPD_EHLO_ETRN       (1u << 3)
#define SMTPD_EHLO_ENHANCED   (1u << 4)
#define SMTPD_EHLO_8BITMIME   (1u << 5)
#define SMTPD_EHLO_DSN        (1u << 6)
#define SMTPD_EHLO_SMTPUTF8   (1u << 7)
#define SMTPD_EHLO_CHUNKING   (1u << 8)
#define SMTPD_EHLO_XCLIENT    (1u << 9)
#define SMTPD_EHLO_XFORWARD   (1u << 10)
#define SMTPD_EHLO_SILENT     (1u << 31) /* "silent-discard" */

/* The daemon's configuration snapshot (main.cf with the -o overrides). */
struct smtpd {
    struct server *srv;
    struct loop *loop;
    struct smtpd_cmd_opts cmd;
    char *myhostname;
    char *mail_name;
    char *banner;                /* smtpd_banner, expanded */
    size_t line_limit;           /* line_length_limit */
    long timeout_ms;             /* smtpd_timeout */
    bool per_request_deadline;   /* smtpd_per_request_deadline */
    long min_data_rate;          /* smtpd_min_data_rate (bytes/s) */
    long error_sleep_ms;         /* smtpd_error_sleep_time */
    long soft_limit, hard_limit; /* smtpd_{soft,hard}_error_limit */
    long junk_limit;             /* smtpd_junk_command_limit */
    long rcpt_limit;             /* smtpd_recipient_limit */
    long overshoot_limit;        /* smtpd_recipient_overshoot_limit */
    bool helo_required;
    bool delay_open;   /* smtpd_delay_open_until_valid_rcpt */
    bool tls_required; /* smtpd_tls_security_level encrypt, smtpd_enforce_tls */
    bool tls_wrapper;  /* smtpd_tls_wrappermode */
    bool soft_bounce;
    bool disable_vrfy;
    bool forbid_bare_newline;
    int bare_newline_code;
    bool peername_lookup;
    bool port_logging;
    unsigned ehlo_discard;         /* SMTPD_EHLO_* */
    struct argv *forbidden;        /* smtpd_forbidden_commands: names */
    struct maps *forbidden_maps;   /* ... and tables */
    struct addr_match *xclient_ok; /* smtpd_authorized_xclient_hosts */
    struct addr_match *xforward_ok;
    struct addr_match *bare_nl_exempt;
    struct argv *local_rewrite;      /* local_header_rewrite_clients */
    struct addr_match *mynetworks;   /* for permit_mynetworks there */
    struct argv *fast_flush;         /* fast_flush_domains (lower case) */
    struct anvil_clnt *anvil;        /* NULL: no client limits */
    struct addr_match *limit_exempt; /* smtpd_client_event_limit_exceptions */
    long conn_count_limit, conn_rate_limit, msg_rate_limit, rcpt_rate_limit;
    struct smtpd_check *check;
    struct smtpd_policy *policy; /* check_policy_service connections */
    struct dns *dns;             /* client names and the DNS restrictions */
    struct cleanup_conf *cf;
    struct resolve *resolve; /* for permit_inet_interfaces */
    unsigned long sessions;  /* sessions started (for generation ids) */
};

/* smtpd_main - the daemon ("ulak --daemon smtpd", started by master). */
int smtpd_main(int argc, char **argv);

/* smtpd_sess_start - serve a new connection on FD (owned from now on);
 * replies go to WFD (owned too) when it is not -1 (sendmail -bs: standard
 * input and output). */
void smtpd_sess_start(struct smtpd *d, int fd, int wfd);

/*
 * smtpd_peer_name - the client's host name from the system's host file
 * (/etc/hosts) alone: the first name of the first line for ADDR (which
 * maps back to ADDR by the same line), else "unknown" in both NAME and
 * REVERSE.
 */
void smtpd_peer_name(const char *addr, struct buf *name, struct buf *reverse);

/*
 * smtpd_peer_lookup - the client's name as smtpd_peername_lookup finds it:
 * the host file first, then the DNS (dns.h): the PTR name of ADDR, then its
 * A (AAAA for an IPv6 client) records must contain ADDR.  NAME gets the
 * confirmed name (lower case) or "unknown", REVERSE the PTR name or
 * "unknown"; *NAME_STATUS and *REVERSE_STATUS 0 (found), 4 (a temporary
 * failure) or 5 (not found or not confirmed).  A name that does not
 * confirm is logged as Postfix 3.7 does ("warning: hostname N does not
 * resolve to address A[: Name or service not known | : Temporary failure
 * in name resolution]").
 * Returns NULL when the answer is already in (the host file had it, or
 * DNS is NULL); otherwise DONE(ARG) runs once from the loop when it is,
 * unless smtpd_peer_cancel() comes first.  The bufs and ints are the
 * caller's and must outlive the lookup.
 */
struct dns;
struct smtpd_peer_lookup;
struct smtpd_peer_lookup *
smtpd_peer_lookup(struct dns *dns, const char *addr, struct buf *name,
                  struct buf *reverse, int *name_status, int *reverse_status,
                  void (*done)(void *), void *arg);
void smtpd_peer_cancel(struct smtpd_peer_lookup *lk);
#endif
