/*
 * smtpd_check - Postfix's SMTP access restrictions (SMTPD_ACCESS_README,
 * postconf(5)) evaluated over a session state, as a resumable state
 * machine.  No I/O to the client: the daemon asks, and gets an answer
 * (accept, or a reply line) plus side effects as data.
 *
 * Configuration is read once from main.cf (conf must be loaded):
 * smtpd_{client,helo,sender,relay,recipient,data,end_of_data,etrn}_
 * restrictions, smtpd_restriction_classes, smtpd_delay_reject,
 * soft_bounce, mynetworks (addr_match.h), local_recipient_maps, the
 * virtual_alias_maps, virtual_mailbox_maps, relay_recipient_maps,
 * smtpd_reject_unlisted_sender, smtpd_reject_unlisted_recipient, the
 * reply codes (access_map_reject_code, access_map_defer_code,
 * relay_domains_reject_code, non_fqdn_reject_code,
 * invalid_hostname_reject_code, unknown_local_recipient_reject_code,
 * unknown_virtual_alias_reject_code, unknown_virtual_mailbox_reject_code,
 * unknown_relay_recipient_reject_code,
 * multi_recipient_bounce_reject_code, reject_code, defer_code),
 * recipient_delimiter; relay and local decisions go through resolve.h
 * (mydestination, inet_interfaces, relay_domains, virtual domains).
 *
 * Restrictions implemented: permit, reject, defer, permit_mynetworks,
 * permit_sasl_authenticated (SMTPD_STATE.sasl_username),
 * reject_unauth_destination, defer_unauth_destination,
 * permit_auth_destination, reject_invalid_helo_hostname (and
 * reject_invalid_hostname), reject_non_fqdn_helo_hostname (and
 * reject_non_fqdn_hostname), reject_non_fqdn_sender,
 * reject_non_fqdn_recipient, permit_inet_interfaces (resolve.h
 * resolve_inet_interface), reject_unauth_pipelining
 * (SMTPD_STATE.unauth_pipelining), reject_multi_recipient_bounce
 * (SMTPD_STATE.rcpt_count), reject_unlisted_sender,
 * reject_unlisted_recipient (and check_recipient_maps),
 * check_client_access (the name with its parent domains, then the
 * address with its parent networks, as access(5) says),
 * check_reverse_client_hostname_access, check_helo_access,
 * check_sender_access, check_recipient_access, warn_if_reject,
 * defer_if_permit, defer_if_reject, and class names of
 * smtpd_restriction_classes.  Access(5) results: OK (and all-numeric),
 * REJECT [text], DEFER [text], 4NN/5NN text, DEFER_IF_REJECT,
 * DEFER_IF_PERMIT, DUNNO, HOLD, DISCARD, FILTER, REDIRECT, BCC, PREPEND,
 * INFO, WARN, a class name or a list of restrictions.  Any other
 * restriction name is a configuration error: 451 4.3.5 "Server
 * configuration error", as Postfix answers it (so are permit_mx_backup,
 * check_*_mx_access and check_*_ns_access, not implemented yet).
 *
 * check_policy_service SERVICE (SMTPD_POLICY_README; SERVICE as
 * smtpd_policy.h parses it): the run goes PENDING with the request; the
 * caller sends it and gives back the action, which is evaluated as a
 * check_*_access result with the subject of the list being evaluated
 * ("554 5.7.1 <rcpt>: Recipient address rejected: text").  The request's
 * recipient_count is the session's count at DATA and END-OF-MESSAGE and 0
 * before, as Postfix 3.7 sends it.  A SERVICE that does not parse is a
 * configuration error (451 4.3.5).
 *
 * Unlisted addresses (reject_unlisted_recipient, and implicitly after
 * the recipient restrictions accept when smtpd_reject_unlisted_recipient
 * is set; reject_unlisted_sender, and implicitly after the sender
 * restrictions accept when smtpd_reject_unlisted_sender is set): the
 * address is resolved; one with a virtual_alias_maps entry is known; else
 * by class: local needs local_recipient_maps (when set), virtual alias
 * domains have nothing else, virtual mailbox domains need
 * virtual_mailbox_maps, relay domains relay_recipient_maps (when set);
 * the default class is not checked.  Unknown: "CODE 5.1.1 <rcpt>:
 * Recipient address rejected: User unknown in local recipient table"
 * (virtual alias table, virtual mailbox table, relay recipient table)
 * with the class's unknown_*_reject_code; for a sender "Sender address
 * rejected" and 5.1.0 (5.1.7 for a virtual alias domain), as Postfix 3.7
 * answers.  A table that fails: 451 4.3.0 <addr>: Temporary lookup
 * failure.
 *
 * Suspension: smtpd_check_step evaluates until an answer or until a
 * check must wait (check_policy_service); the run keeps its position in
 * every nested list so that evaluation can resume where it stopped.
 *
 * Ownership: struct smtpd_check owns its configuration and tables; the
 * session state's strings are the caller's and must outlive a run;
 * struct smtpd_check_run owns its result.
 */
#ifndef ULAK_SMTPD_CHECK_H
#define ULAK_SMTPD_CHECK_H

#include "lib/argv.h"
#include "lib/buf.h"

enum smtpd_stage {
    SMTPD_STAGE_CLIENT,
    SMTPD_STAGE_HELO,
    SMTPD_STAGE_SENDER,
    SMTPD_STAGE_RELAY,
    SMTPD_STAGE_RECIPIENT,
    SMTPD_STAGE_DATA,
    SMTPD_STAGE_EOD,
    SMTPD_STAGE_ETRN,
    SMTPD_STAGE_COUNT,
};

/* What the restrictions look at; NULL: not known (yet). */
struct smtpd_state {
    const char *client_name;  /* verified name, or "unknown" */
    const char *client_addr;  /* textual, IPv6 without brackets */
    const char *reverse_name; /* reverse client name, or "unknown" */
    /* How the name lookups ended: 0 found (confirmed), 4 a temporary
     * failure, 5 not found / not confirmed (also assumed for an
     * "unknown" name with 0). */
    int client_name_status;
    int reverse_name_status;
    const char *helo;      /* HELO/EHLO argument */
    const char *sender;    /* internal form, "" for <> */
    const char *recipient; /* internal form */
    const char *etrn_domain;
    const char *sasl_username; /* set once AUTH succeeded */
    /* A DEFER_IF_PERMIT from an earlier run (RUN->dip after HELO or MAIL
     * without smtpd_delay_reject): it is reported when a later run that
     * includes the relay, recipient, data, end-of-data or ETRN lists
     * would accept, as Postfix does. */
    const char *defer_if_permit;
    /* Illegal pipelining was seen in this session (sticky until the
     * session ends or XCLIENT starts a new one), as Postfix 3.7 sets it:
     * the client sent input before the greeting; or sent anything after
     * HELO/EHLO in the same read (a pipelined HELO/EHLO is never allowed);
     * or, PIPELINING not having been announced (HELO, or EHLO without
     * it), sent a command while an earlier one was still unanswered (input
     * already waiting behind the command being handled); or sent anything
     * after DATA before its 354 (message text ahead of time: illegal even
     * with PIPELINING).  reject_unauth_pipelining refuses while it is set
     * ("503 5.5.0 <...>: ... rejected: Improper use of SMTP command
     * pipelining"). */
    bool unauth_pipelining;
    /* Recipients accepted so far in this transaction, not counting the one
     * being checked (0 at MAIL; at DATA, every accepted RCPT):
     * reject_multi_recipient_bounce refuses a null sender when this is
     * above 0 at RCPT, above 1 at DATA and end-of-data. */
    unsigned rcpt_count;
    /* A DISCARD action fired earlier in this transaction: as in Postfix,
     * every later check of the transaction accepts at once (the message
     * is dropped anyway). */
    bool discarded;
    /* What else a check_policy_service request says (smtpd_policy.h);
     * NULL: sent empty. */
    const char *protocol_state; /* "RCPT", "END-OF-MESSAGE", ... */
    const char *protocol_name;  /* "SMTP" or "ESMTP" */
    const char *client_port;
    const char *server_address;
    const char *server_port;
    const char *queue_id;
    const char *instance; /* the same for every request of a message */
    unsigned long long size;
};

struct smtpd_check;

/* smtpd_check_open - read the configuration.  Never NULL: what cannot be
 * used (a table, a malformed mynetworks entry, an unknown restriction) is
 * reported where it is reached, as Postfix's smtpd does (451 4.3.0 or
 * 451 4.3.5). */
struct smtpd_check *smtpd_check_open(void);
void smtpd_check_free(struct smtpd_check *c);
/* smtpd_check_delay_reject - smtpd_delay_reject */
bool smtpd_check_delay_reject(const struct smtpd_check *c);

enum smtpd_check_status {
    SMTPD_CHECK_ACCEPT,  /* go on; REPLY empty */
    SMTPD_CHECK_REPLY,   /* answer REPLY (4XX or 5XX) and refuse */
    SMTPD_CHECK_PENDING, /* waiting for a policy server or the DNS */
};

/* Side effects that the restrictions ask for; the caller acts on them. */
struct smtpd_check_effects {
    struct buf hold; /* HOLD [text]: "" text when set without one */
    bool held;
    bool discard;         /* DISCARD */
    struct buf filter;    /* FILTER transport:destination, last wins */
    struct buf redirect;  /* REDIRECT addr, last wins */
    struct argv *bcc;     /* BCC addr, each */
    struct argv *prepend; /* PREPEND header: value, each */
    /* What to log, each "warning: TEXT" (a configuration or table
     * problem: a warning line), "warn: TEXT" / "info: TEXT" (the WARN
     * and INFO actions) or "reject_warning: REPLY" (warn_if_reject): the
     * latter three as "NOQUEUE: warn: RCPT from ...; from=<..> ..." */
    struct argv *warnings;
};

/* One evaluation: the stages to run in order, and where it stands. */
struct smtpd_check_run {
    enum smtpd_check_status status;
    struct buf reply; /* "554 5.7.1 <u@x>: Relay access denied" */
    struct smtpd_check_effects fx;
    /* Private: the evaluator's position. */
    struct smtpd_check *c;
    const struct smtpd_state *st;
    enum smtpd_stage stages[SMTPD_STAGE_COUNT];
    size_t nstages, stage_at;
    struct smtpd_frame *frames;
    size_t nframes, frames_cap;
    /* A DEFER_IF_PERMIT reply is in dip.  After an accepting run of only
     * client/helo/sender lists, the caller keeps dip for the next run
     * (smtpd_state.defer_if_permit). */
    int defer_if_permit;
    int defer_if_reject;
    struct buf dip, dir;
    bool warn_next;
    bool local_checked;  /* the implicit recipient check ran */
    bool sender_checked; /* the implicit sender check ran */
    /* check_policy_service: while the run is PENDING, the service
     * (policy_spec, as written in the restriction) and the request to
     * send it (policy_request, smtpd_policy_encode's text). */
    int policy_state; /* 0 none, 1 waiting, 2 answered */
    struct buf policy_spec, policy_request, policy_action;
    /* A DNS restriction: while dns_waiting, look up dns_name/dns_type and
     * give the answer to smtpd_check_dns_answer.  The answers so far
     * (private) are kept until the next smtpd_check_start. */
    bool dns_waiting;
    struct buf dns_name;
    int dns_type;
    struct smtpd_dns_cached *dns;
    size_t ndns;
};

void smtpd_check_run_init(struct smtpd_check_run *run);
void smtpd_check_run_fini(struct smtpd_check_run *run);

/*
 * smtpd_check_start - begin evaluating STAGES (NSTAGES of them, in
 * order: each list must pass for the next to run) over ST.  For RCPT
 * TO use smtpd_check_rcpt_stages.  Then call smtpd_check_step.
 */
void smtpd_check_start(struct smtpd_check_run *run, struct smtpd_check *c,
                       const struct smtpd_state *st,
                       const enum smtpd_stage *stages, size_t nstages);
/* smtpd_check_step - evaluate until an answer or a wait; RUN->status.
 * PENDING: send RUN->policy_request to RUN->policy_spec, then give the
 * answer with smtpd_check_policy_answer, smtpd_check_resume and step
 * again (stepping before the answer stays PENDING). */
enum smtpd_check_status smtpd_check_step(struct smtpd_check_run *run);
/* smtpd_check_policy_answer - the policy server's ACTION (an access(5)
 * result; the service's default action when it failed). */
void smtpd_check_policy_answer(struct smtpd_check_run *run, const char *action);
/* smtpd_check_dns_answer - the answer to the pending lookup. */
struct dns_answer;
void smtpd_check_dns_answer(struct smtpd_check_run *run,
                            const struct dns_answer *ans);
/* smtpd_check_resume - go on over ST, a state with the same content as
 * the one the run started with (its strings may have moved). */
void smtpd_check_resume(struct smtpd_check_run *run,
                        const struct smtpd_state *st);

/*
 * smtpd_check_rcpt_stages - the lists RCPT TO evaluates: with
 * smtpd_delay_reject, client, helo and sender first (their rejects are
 * reported here), then relay and recipient.  Returns the count.
 */
size_t smtpd_check_rcpt_stages(const struct smtpd_check *c,
                               enum smtpd_stage out[SMTPD_STAGE_COUNT]);

#endif
