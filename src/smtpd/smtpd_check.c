/* smtpd_check - Postfix's SMTP access restrictions, as a state machine. */
#include "smtpd/smtpd_check.h"
#include "smtpd/smtpd_policy.h"
#include "smtpd/smtpd_rbl.h"

#include "global/dns.h"

#include "global/addr.h"
#include "global/addr_match.h"
#include "global/conf.h"
#include "global/domain_list.h"
#include "global/maps.h"
#include "global/resolve.h"
#include "lib/htable.h"
#include "lib/mem.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

/* How deep classes and table results may nest: a loop is an error. */
#define SMTPD_CHECK_MAX_DEPTH 50

static const char *const stage_param[SMTPD_STAGE_COUNT] = {
    "smtpd_client_restrictions",      "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",      "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",   "smtpd_data_restrictions",
    "smtpd_end_of_data_restrictions", "smtpd_etrn_restrictions",
};

/* An access table named in a restriction, opened once. */
struct smtpd_table {
    char *spec;
    struct maps *maps;
};

struct smtpd_check {
    struct argv *lists[SMTPD_STAGE_COUNT];
    struct argv *class_names;
    struct argv **classes; /* the restrictions of each class */
    struct smtpd_table *tables;
    size_t ntables;
    struct addr_match *mynetworks;
    struct resolve *resolve;
    struct maps *local_rcpt; /* NULL: no local recipient check */
    struct maps *valias;     /* virtual_alias_maps, NULL when empty */
    struct maps *vmbox;      /* virtual_mailbox_maps, NULL when empty */
    struct maps *relay_rcpt; /* relay_recipient_maps, NULL: no check */
    struct maps *rbl_reply;  /* rbl_reply_maps, NULL when empty */
    char *rbl_default;       /* default_rbl_reply (unexpanded) */
    char *addr_tempfail;     /* unknown_address_tempfail_action */
    char *helo_tempfail;     /* unknown_helo_hostname_tempfail_action */
    long unknown_client, unknown_host, unknown_addr, rbl_code;
    struct maps_opts mopts;
    char *delim;
    bool delay_reject;
    bool soft_bounce;
    bool allow_untrusted_routing;
    bool relay_before_rcpt;
    bool unlisted_rcpt;   /* smtpd_reject_unlisted_recipient */
    bool unlisted_sender; /* smtpd_reject_unlisted_sender */
    long unknown_alias, unknown_mailbox, unknown_relay, multi_bounce;
    long access_reject, access_defer, relay_reject, non_fqdn, invalid_host;
    long unknown_local, reject_code, defer_code;
};

/* One list being evaluated. */
struct smtpd_frame {
    const struct argv *list;
    size_t at;
    enum smtpd_stage stage;
    struct argv *owned; /* a table result split into restrictions */
};

/* Outcomes of one restriction. */
enum outcome {
    O_DUNNO,
    O_PERMIT,
    O_REPLY,
    O_PUSHED,
    O_ERROR,
    O_PENDING
};

/* run->policy_state */
#define POLICY_NONE     0
#define POLICY_WAITING  1
#define POLICY_ANSWERED 2

/* One DNS answer kept for a run: the records as text (A/AAAA: the
 * address; MX: the exchange, "" for a null MX; PTR: the name; TXT: the
 * text). */
struct smtpd_dns_cached {
    char *name;
    int type;
    enum dns_status status;
    char *why;
    struct argv *rr;
};

static const char *nz(const char *s);

/* ---------------------------------------------------------------- */

/* table_get - the access table SPEC, opened on first use */
static struct maps *table_get(struct smtpd_check *c, const char *spec)
{
    size_t i;

    for (i = 0; i < c->ntables; i++)
        if (strcmp(c->tables[i].spec, spec) == 0)
            return c->tables[i].maps;
    c->tables = mem_realloc(c->tables, (c->ntables + 1) * sizeof(*c->tables));
    c->tables[c->ntables].spec = mem_strdup(spec);
    c->tables[c->ntables].maps = maps_open("smtpd_access_maps", spec,
                                           DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK);
    return c->tables[c->ntables++].maps;
}

/* class_find - the restrictions of class NAME, or NULL */
static const struct argv *class_find(const struct smtpd_check *c,
                                     const char *name)
{
    size_t i;

    for (i = 0; i < c->class_names->argc; i++)
        if (strcmp(c->class_names->argv[i], name) == 0)
            return c->classes[i];
    return NULL;
}

/* strip_proxy - SPEC without "proxy:" before each table (ulak reads the
 * tables directly) */
static char *strip_proxy(const char *spec)
{
    struct buf out = BUF_INIT;
    const char *p = spec;

    buf_set(&out, "");
    while (*p) {
        if ((p == spec || strchr(", \t", p[-1]) != NULL)
            && strncmp(p, "proxy:", 6) == 0) {
            p += 6;
            continue;
        }
        buf_catc(&out, *p++);
    }
    return buf_steal(&out);
}

/* param_maps - the tables of PARAM (without "proxy:"), NULL when empty */
static struct maps *param_maps(const char *param)
{
    const char *v = conf_str(param);
    struct maps *m;
    char *spec;

    if (v == NULL || *v == 0)
        return NULL;
    spec = strip_proxy(v);
    m = maps_open(param, spec, DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK);
    mem_free(spec);
    return m;
}

/* smtpd_check_open - read main.cf */
struct smtpd_check *smtpd_check_open(void)
{
    struct smtpd_check *c = mem_zalloc(sizeof(*c));
    size_t i;
    int s;

    for (s = 0; s < SMTPD_STAGE_COUNT; s++)
        c->lists[s] = conf_list(stage_param[s]);
    c->class_names = conf_list("smtpd_restriction_classes");
    c->classes = mem_zalloc((c->class_names->argc + 1) * sizeof(*c->classes));
    for (i = 0; i < c->class_names->argc; i++) {
        const char *v = conf_str(c->class_names->argv[i]);

        c->classes[i] = conf_split_list(v ? v : "");
    }
    c->mynetworks = addr_match_new("mynetworks", conf_str("mynetworks"));
    c->resolve = resolve_open();
    c->local_rcpt = param_maps("local_recipient_maps");
    c->valias = param_maps("virtual_alias_maps");
    c->vmbox = param_maps("virtual_mailbox_maps");
    c->relay_rcpt = param_maps("relay_recipient_maps");
    c->rbl_reply = param_maps("rbl_reply_maps");
    c->rbl_default = mem_strdup(nz(conf_raw("default_rbl_reply")));
    c->addr_tempfail = mem_strdup(conf_str("unknown_address_tempfail_action"));
    c->helo_tempfail =
        mem_strdup(conf_str("unknown_helo_hostname_tempfail_action"));
    c->unknown_client = conf_int("unknown_client_reject_code");
    c->unknown_host = conf_int("unknown_hostname_reject_code");
    c->unknown_addr = conf_int("unknown_address_reject_code");
    c->rbl_code = conf_int("maps_rbl_reject_code");
    c->unlisted_rcpt = conf_bool("smtpd_reject_unlisted_recipient");
    c->unlisted_sender = conf_bool("smtpd_reject_unlisted_sender");
    c->unknown_alias = conf_int("unknown_virtual_alias_reject_code");
    c->unknown_mailbox = conf_int("unknown_virtual_mailbox_reject_code");
    c->unknown_relay = conf_int("unknown_relay_recipient_reject_code");
    c->multi_bounce = conf_int("multi_recipient_bounce_reject_code");
    c->delim = mem_strdup(conf_str("recipient_delimiter"));
    c->mopts.delim = c->delim;
    c->mopts.parent_matches_sub =
        domain_list_parent_matches("smtpd_access_maps");
    c->delay_reject = conf_bool("smtpd_delay_reject");
    c->soft_bounce = conf_bool("soft_bounce");
    c->allow_untrusted_routing = conf_bool("allow_untrusted_routing");
    c->relay_before_rcpt =
        conf_bool("smtpd_relay_before_recipient_restrictions");
    c->access_reject = conf_int("access_map_reject_code");
    c->access_defer = conf_int("access_map_defer_code");
    c->relay_reject = conf_int("relay_domains_reject_code");
    c->non_fqdn = conf_int("non_fqdn_reject_code");
    c->invalid_host = conf_int("invalid_hostname_reject_code");
    c->unknown_local = conf_int("unknown_local_recipient_reject_code");
    c->reject_code = conf_int("reject_code");
    c->defer_code = conf_int("defer_code");
    return c;
}

/* smtpd_check_free - free C */
void smtpd_check_free(struct smtpd_check *c)
{
    size_t i;
    int s;

    if (c == NULL)
        return;
    for (s = 0; s < SMTPD_STAGE_COUNT; s++)
        argv_free(c->lists[s]);
    for (i = 0; c->class_names && i < c->class_names->argc; i++)
        argv_free(c->classes[i]);
    mem_free(c->classes);
    argv_free(c->class_names);
    for (i = 0; i < c->ntables; i++) {
        mem_free(c->tables[i].spec);
        maps_free(c->tables[i].maps);
    }
    mem_free(c->tables);
    addr_match_free(c->mynetworks);
    resolve_free(c->resolve);
    maps_free(c->local_rcpt);
    maps_free(c->valias);
    maps_free(c->vmbox);
    maps_free(c->relay_rcpt);
    maps_free(c->rbl_reply);
    mem_free(c->rbl_default);
    mem_free(c->addr_tempfail);
    mem_free(c->helo_tempfail);
    mem_free(c->delim);
    mem_free(c);
}

/* smtpd_check_delay_reject - smtpd_delay_reject */
bool smtpd_check_delay_reject(const struct smtpd_check *c)
{
    return c->delay_reject;
}

/* smtpd_check_rcpt_stages - the lists of RCPT TO */
size_t smtpd_check_rcpt_stages(const struct smtpd_check *c,
                               enum smtpd_stage out[SMTPD_STAGE_COUNT])
{
    size_t n = 0;

    if (c->delay_reject) {
        out[n++] = SMTPD_STAGE_CLIENT;
        out[n++] = SMTPD_STAGE_HELO;
        out[n++] = SMTPD_STAGE_SENDER;
    }
    if (c->relay_before_rcpt) {
        out[n++] = SMTPD_STAGE_RELAY;
        out[n++] = SMTPD_STAGE_RECIPIENT;
    } else {
        out[n++] = SMTPD_STAGE_RECIPIENT;
        out[n++] = SMTPD_STAGE_RELAY;
    }
    return n;
}

/* ---------------------------------------------------------------- */

/* smtpd_check_run_init - an idle run */
void smtpd_check_run_init(struct smtpd_check_run *run)
{
    memset(run, 0, sizeof(*run));
    buf_init(&run->reply, 0);
    buf_init(&run->dip, 0);
    buf_init(&run->dir, 0);
    buf_init(&run->fx.hold, 0);
    buf_init(&run->fx.filter, 0);
    buf_init(&run->fx.redirect, 0);
    run->fx.bcc = argv_new();
    run->fx.prepend = argv_new();
    run->fx.warnings = argv_new();
    buf_init(&run->policy_spec, 0);
    buf_init(&run->policy_request, 0);
    buf_init(&run->policy_action, 0);
    buf_init(&run->dns_name, 0);
}

/* dns_clear - forget the run's DNS answers */
static void dns_clear(struct smtpd_check_run *run)
{
    while (run->ndns > 0) {
        struct smtpd_dns_cached *d = &run->dns[--run->ndns];

        mem_free(d->name);
        mem_free(d->why);
        argv_free(d->rr);
    }
    run->dns_waiting = false;
}

/* frames_clear - drop every frame */
static void frames_clear(struct smtpd_check_run *run)
{
    while (run->nframes > 0)
        argv_free(run->frames[--run->nframes].owned);
}

/* smtpd_check_run_fini - free RUN */
void smtpd_check_run_fini(struct smtpd_check_run *run)
{
    frames_clear(run);
    mem_free(run->frames);
    buf_fini(&run->reply);
    buf_fini(&run->dip);
    buf_fini(&run->dir);
    buf_fini(&run->fx.hold);
    buf_fini(&run->fx.filter);
    buf_fini(&run->fx.redirect);
    argv_free(run->fx.bcc);
    argv_free(run->fx.prepend);
    argv_free(run->fx.warnings);
    buf_fini(&run->policy_spec);
    buf_fini(&run->policy_request);
    buf_fini(&run->policy_action);
    dns_clear(run);
    mem_free(run->dns);
    buf_fini(&run->dns_name);
}

/* push - evaluate LIST next, in STAGE's name; OWNED is freed with it */
static int push(struct smtpd_check_run *run, const struct argv *list,
                enum smtpd_stage stage, struct argv *owned)
{
    if (run->nframes >= SMTPD_CHECK_MAX_DEPTH) {
        argv_free(owned);
        return -1;
    }
    if (run->nframes == run->frames_cap) {
        run->frames_cap = run->frames_cap ? 2 * run->frames_cap : 8;
        run->frames =
            mem_realloc(run->frames, run->frames_cap * sizeof(*run->frames));
    }
    run->frames[run->nframes].list = list;
    run->frames[run->nframes].at = 0;
    run->frames[run->nframes].stage = stage;
    run->frames[run->nframes].owned = owned;
    run->nframes++;
    return 0;
}

/* smtpd_check_start - begin a run */
void smtpd_check_start(struct smtpd_check_run *run, struct smtpd_check *c,
                       const struct smtpd_state *st,
                       const enum smtpd_stage *stages, size_t nstages)
{
    frames_clear(run);
    run->c = c;
    run->st = st;
    memcpy(run->stages, stages, nstages * sizeof(*stages));
    run->nstages = nstages;
    run->stage_at = 0;
    run->status = SMTPD_CHECK_PENDING;
    run->defer_if_permit = run->defer_if_reject = 0;
    run->warn_next = false;
    run->local_checked = false;
    run->sender_checked = false;
    run->policy_state = POLICY_NONE;
    dns_clear(run);
    buf_reset(&run->reply);
    buf_reset(&run->dip);
    buf_reset(&run->dir);
    if (st->defer_if_permit && *st->defer_if_permit) {
        run->defer_if_permit = 1;
        buf_set(&run->dip, st->defer_if_permit);
    }
    run->fx.held = run->fx.discard = false;
    buf_reset(&run->fx.hold);
    buf_reset(&run->fx.filter);
    buf_reset(&run->fx.redirect);
    argv_truncate(run->fx.bcc, 0);
    argv_truncate(run->fx.prepend, 0);
    argv_truncate(run->fx.warnings, 0);
}

/* ---------------------------------------------------------------- */

/* The subject of a reply: "<x>: Sender address rejected". */
enum subject {
    SUBJ_CLIENT,
    SUBJ_HELO,
    SUBJ_SENDER,
    SUBJ_RCPT,
    SUBJ_DATA,
    SUBJ_EOD,
    SUBJ_ETRN,
    SUBJ_REVERSE /* check_reverse_client_hostname_access */
};

/* stage_subject - whose name a generic reject in STAGE carries */
static enum subject stage_subject(enum smtpd_stage s)
{
    switch (s) {
        case SMTPD_STAGE_CLIENT:
            return SUBJ_CLIENT;
        case SMTPD_STAGE_HELO:
            return SUBJ_HELO;
        case SMTPD_STAGE_SENDER:
            return SUBJ_SENDER;
        case SMTPD_STAGE_RELAY:
        case SMTPD_STAGE_RECIPIENT:
        case SMTPD_STAGE_COUNT:
            return SUBJ_RCPT;
        case SMTPD_STAGE_DATA:
            return SUBJ_DATA;
        case SMTPD_STAGE_EOD:
            return SUBJ_EOD;
        case SMTPD_STAGE_ETRN:
            return SUBJ_ETRN;
    }
    return SUBJ_RCPT;
}

/* nz - S or "" */
static const char *nz(const char *s)
{
    return s ? s : "";
}

/* subject_text - append "<name>: What rejected" for SUBJ */
static void subject_text(const struct smtpd_state *st, enum subject subj,
                         struct buf *out)
{
    switch (subj) {
        case SUBJ_CLIENT:
            buf_catf(out, "<%s[%s]>: Client host rejected",
                     st->client_name ? st->client_name : "unknown",
                     nz(st->client_addr));
            break;
        case SUBJ_REVERSE:
            buf_catf(out, "<%s>: Unverified Client host rejected",
                     st->reverse_name ? st->reverse_name : "unknown");
            break;
        case SUBJ_HELO:
            buf_catf(out, "<%s>: Helo command rejected", nz(st->helo));
            break;
        case SUBJ_SENDER:
            buf_catf(out, "<%s>: Sender address rejected", nz(st->sender));
            break;
        case SUBJ_RCPT:
            buf_catf(out, "<%s>: Recipient address rejected",
                     nz(st->recipient));
            break;
        case SUBJ_DATA:
            buf_cat(out, "<DATA>: Data command rejected");
            break;
        case SUBJ_EOD:
            buf_cat(out, "<END-OF-MESSAGE>: End-of-data rejected");
            break;
        case SUBJ_ETRN:
            buf_catf(out, "<%s>: Etrn command rejected", nz(st->etrn_domain));
            break;
    }
}

/* is_dsn - S starts with an enhanced status code "D.D{1,3}.D{1,3} " of
 * class CLS; its length (with the space) or 0 */
static size_t is_dsn(const char *s, char cls)
{
    size_t i = 0, part;

    if (s[0] != cls || s[1] != '.')
        return 0;
    i = 2;
    for (part = 0; part < 2; part++) {
        size_t d = 0;

        while (isdigit((unsigned char) s[i]) && d < 3) {
            i++;
            d++;
        }
        if (d == 0)
            return 0;
        if (part == 0 && s[i++] != '.')
            return 0;
    }
    if (s[i] != ' ' && s[i] != 0)
        return 0;
    return s[i] == ' ' ? i + 1 : i;
}

/*
 * make_reply - RUN->reply = "CODE DSN <subject>: X rejected: TEXT"; the
 * text may start with its own enhanced code, which then replaces DSN.
 */
static void make_reply(struct smtpd_check_run *run, long code, const char *dsn,
                       enum subject subj, const char *text)
{
    char cls = (char) ('0' + code / 100);
    size_t n = is_dsn(text, cls);
    struct buf d = BUF_INIT;

    if (n > 0) {
        buf_catn(&d, text, text[n - 1] == ' ' ? n - 1 : n);
        text += n;
    } else {
        buf_set(&d, dsn);
        d.data[0] = cls;
    }
    buf_setf(&run->reply, "%ld %s ", code, buf_str(&d));
    subject_text(run->st, subj, &run->reply);
    buf_catf(&run->reply, ": %s", text);
    buf_fini(&d);
}

/* config_error - the answer to a restriction ulak cannot evaluate */
static enum outcome config_error(struct smtpd_check_run *run, const char *what)
{
    struct buf w = BUF_INIT;

    buf_setf(&w, "warning: %s", what);
    argv_add(run->fx.warnings, buf_str(&w));
    buf_fini(&w);
    buf_set(&run->reply, "451 4.3.5 Server configuration error");
    return O_ERROR;
}

/* tempfail - the answer to a table that cannot answer now */
static enum outcome tempfail(struct smtpd_check_run *run, enum subject subj,
                             const char *why)
{
    struct buf name = BUF_INIT;

    buf_setf(&name, "warning: %s", why);
    argv_add(run->fx.warnings, buf_str(&name));
    buf_reset(&name);
    const char *colon;

    /* Postfix 3.7: "451 4.3.0 <name>: Temporary lookup failure", the name
     * without "... rejected" (checked on a reference instance). */
    subject_text(run->st, subj, &name);
    colon = strstr(buf_str(&name), ">: ");
    if (colon != NULL)
        buf_truncate(&name, (size_t) (colon - buf_str(&name)) + 1);
    buf_setf(&run->reply, "451 4.3.0 %s: Temporary lookup failure",
             buf_str(&name));
    buf_fini(&name);
    return O_ERROR;
}

/* hostname_ok - NAME as Postfix's valid_hostname (or an address literal
 * "[...]") */
static bool helo_valid(const char *name)
{
    struct buf why = BUF_INIT;
    size_t n = strlen(name);
    bool ok;

    if (n > 0 && name[n - 1] == '.')
        n--;
    ok = n > 0 && addr_check_domain(span_make(name, n), true, &why) == 0;
    buf_fini(&why);
    return ok;
}

/* is_ipv4 - NAME is a dotted quad (non-FQDN for HELO: not in brackets) */
static bool all_numeric(const char *name)
{
    return strspn(name, "0123456789.") == strlen(name);
}

/* fqdn_host - NAME has a dot inside and is not an address: what
 * reject_non_fqdn_* accept (an address literal is fine) */
static bool fqdn_host(const char *name)
{
    size_t n = strlen(name);

    if (name[0] == '[')
        return true;
    if (n > 0 && name[n - 1] == '.')
        n--;
    return memchr(name, '.', n) != NULL && !all_numeric(name);
}

/* fqdn_addr - the domain of internal address ADDR is fully qualified */
static bool fqdn_addr(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at != NULL && fqdn_host(at + 1);
}

static enum outcome access_result(struct smtpd_check_run *run,
                                  enum smtpd_stage stage, enum subject subj,
                                  const char *value);

/* access_lookup - KEY in TABLE by ORDER; FOUND with the value in V */
static enum lk_result access_lookup(struct smtpd_check_run *run, struct maps *m,
                                    enum maps_order order, const char *key,
                                    struct buf *v)
{
    return maps_search(m, order, key, &run->c->mopts, v, NULL);
}

/* check_access - check_*_access TABLE for SUBJ */
static enum outcome check_access(struct smtpd_check_run *run,
                                 enum smtpd_stage stage, enum subject subj,
                                 const char *spec, bool reverse)
{
    const struct smtpd_state *st = run->st;
    struct maps *m = table_get(run->c, spec);
    struct buf v = BUF_INIT;
    enum lk_result r = LK_NOTFOUND;
    enum outcome o;

    switch (subj) {
        case SUBJ_REVERSE:
        case SUBJ_CLIENT: {
            const char *name = reverse ? st->reverse_name : st->client_name;

            if (name && strcmp(name, "unknown") != 0)
                r = access_lookup(run, m, MAPS_ORDER_ACCESS_HOST, name, &v);
            if (r == LK_NOTFOUND && st->client_addr)
                r = access_lookup(run, m, MAPS_ORDER_ACCESS_IP, st->client_addr,
                                  &v);
            break;
        }
        case SUBJ_HELO:
            if (st->helo)
                r = access_lookup(run, m, MAPS_ORDER_ACCESS_HOST, st->helo, &v);
            break;
        case SUBJ_SENDER:
            if (st->sender)
                r = access_lookup(run, m, MAPS_ORDER_ACCESS_ADDR,
                                  *st->sender ? st->sender : "<>", &v);
            break;
        case SUBJ_RCPT:
            if (st->recipient)
                r = access_lookup(run, m, MAPS_ORDER_ACCESS_ADDR, st->recipient,
                                  &v);
            break;
        case SUBJ_DATA:
        case SUBJ_EOD:
        case SUBJ_ETRN:
            break;
    }
    if (r == LK_TEMPFAIL) {
        bool failed_open = false;
        size_t i;

        /* A table that could not be opened is a configuration error
         * (Postfix: 451 4.3.5); one that fails a lookup is a tempfail. */
        for (i = 0; i < m->count; i++)
            if (m->errors[i] != NULL)
                failed_open = true;
        o = failed_open ? config_error(run, maps_why(m))
                        : tempfail(run, subj, maps_why(m));
    } else if (r == LK_FOUND) {
        o = access_result(run, stage, subj, buf_str(&v));
    } else
        o = O_DUNNO;
    buf_fini(&v);
    return o;
}

/* word_is - VALUE's first word is W (case-insensitive); *REST the text */
static bool word_is(const char *value, const char *w, const char **rest)
{
    size_t n = strlen(w);

    if (strncasecmp(value, w, n) != 0
        || (value[n] != 0 && value[n] != ' ' && value[n] != '\t'))
        return false;
    *rest = value + n;
    *rest += strspn(*rest, " \t");
    return true;
}

/* access_result - act on access(5) result VALUE */
static enum outcome access_result(struct smtpd_check_run *run,
                                  enum smtpd_stage stage, enum subject subj,
                                  const char *value)
{
    struct smtpd_check *c = run->c;
    const char *text;

    if (word_is(value, "OK", &text) || (*value && all_numeric(value)))
        return O_PERMIT;
    if (word_is(value, "DUNNO", &text))
        return O_DUNNO;
    if (word_is(value, "REJECT", &text)) {
        make_reply(run, c->access_reject, "5.7.1", subj,
                   *text ? text : "Access denied");
        return O_REPLY;
    }
    if (word_is(value, "DEFER", &text)) {
        make_reply(run, c->access_defer, "4.7.1", subj,
                   *text ? text : "Access denied");
        return O_REPLY;
    }
    if (word_is(value, "DEFER_IF_REJECT", &text)) {
        if (!run->defer_if_reject) {
            run->defer_if_reject = 1;
            make_reply(run, c->access_defer, "4.7.1", subj,
                       *text ? text : "Service unavailable");
            buf_set(&run->dir, buf_str(&run->reply));
        }
        return O_DUNNO;
    }
    if (word_is(value, "DEFER_IF_PERMIT", &text)) {
        if (!run->defer_if_permit) {
            run->defer_if_permit = 1;
            make_reply(run, c->access_defer, "4.7.1", subj,
                       *text ? text : "Service unavailable");
            buf_set(&run->dip, buf_str(&run->reply));
        }
        return O_DUNNO;
    }
    if ((value[0] == '4' || value[0] == '5')
        && isdigit((unsigned char) value[1])
        && isdigit((unsigned char) value[2])
        && (value[3] == ' ' || value[3] == 0)) {
        long code =
            (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');

        text = value + 3;
        text += strspn(text, " \t");
        make_reply(run, code, value[0] == '4' ? "4.7.1" : "5.7.1", subj,
                   *text ? text : "Access denied");
        return O_REPLY;
    }
    if (word_is(value, "HOLD", &text)) {
        run->fx.held = true;
        buf_set(&run->fx.hold, text);
        return O_DUNNO;
    }
    if (word_is(value, "DISCARD", &text)) {
        run->fx.discard = true;
        return O_PERMIT;
    }
    if (word_is(value, "FILTER", &text)) {
        if (strchr(text, ':') == NULL)
            return config_error(run, "FILTER needs transport:destination");
        buf_set(&run->fx.filter, text);
        return O_DUNNO;
    }
    if (word_is(value, "REDIRECT", &text)) {
        if (*text == 0)
            return config_error(run, "REDIRECT needs an address");
        buf_set(&run->fx.redirect, text);
        return O_DUNNO;
    }
    if (word_is(value, "BCC", &text)) {
        if (*text == 0)
            return config_error(run, "BCC needs an address");
        argv_add(run->fx.bcc, text);
        return O_DUNNO;
    }
    if (word_is(value, "PREPEND", &text)) {
        if (*text == 0)
            return config_error(run, "PREPEND needs a header");
        argv_add(run->fx.prepend, text);
        return O_DUNNO;
    }
    if (word_is(value, "WARN", &text) || word_is(value, "INFO", &text)) {
        struct buf w = BUF_INIT;

        buf_setf(&w, "%s: %s",
                 value[0] == 'W' || value[0] == 'w' ? "warn" : "info", text);
        argv_add(run->fx.warnings, buf_str(&w));
        buf_fini(&w);
        return O_DUNNO;
    }
    /* A class name or a list of restrictions, evaluated in place. */
    {
        struct argv *list = conf_split_list(value);

        if (list->argc == 0) {
            argv_free(list);
            return O_DUNNO;
        }
        if (push(run, list, stage, list) != 0)
            return config_error(run, "restrictions nested too deeply");
        (void) subj;
        return O_PUSHED;
    }
}

/* local_known - the local-class address RCPT (resolved) is in
 * local_recipient_maps: by its user (with, then without extension), then
 * whole; postmaster always exists */
static enum lk_result local_known(struct smtpd_check *c, const char *rcpt)
{
    struct buf v = BUF_INIT;
    struct span local, domain;
    enum lk_result lr = LK_FOUND;
    char *user;

    (void) addr_split(span_of(rcpt), &local, &domain);
    local.len = maps_split_ext(local.p, local.len, &c->mopts);
    user = span_dup(local);
    if (strcasecmp(user, "postmaster") != 0) {
        lr = maps_search(c->local_rcpt, MAPS_ORDER_ALIAS, user, &c->mopts, &v,
                         NULL);
        if (lr == LK_NOTFOUND)
            lr = maps_find(c->local_rcpt, rcpt, MAPS_FIND_ALL, &v);
    }
    mem_free(user);
    buf_fini(&v);
    return lr;
}

/*
 * unlisted - ADDR (the recipient, or the sender for SUBJ_SENDER) is not a
 * known address of its class: 1 with the reply, 0 (known, or a class that
 * is not checked), or -1 with a tempfail reply.  See the header.
 */
static int unlisted(struct smtpd_check_run *run, const char *addr,
                    enum subject subj)
{
    struct smtpd_check *c = run->c;
    struct resolve_reply r;
    struct buf v = BUF_INIT;
    struct maps_opts vo = c->mopts;
    struct maps *m = NULL;
    const char *table = NULL;
    const char *rcpt;
    enum lk_result lr;
    long code = 550;
    int rc = 0;

    resolve_reply_init(&r);
    lr = resolve_addr(c->resolve, span_of(addr), &r);
    if (lr == LK_TEMPFAIL) {
        (void) tempfail(run, subj, buf_str(&r.why));
        resolve_reply_fini(&r);
        return -1;
    }
    rcpt = buf_str(&r.recipient);
    if ((r.flags & RESOLVE_FLAG_ERROR) || r.rclass == RESOLVE_CLASS_DEFAULT
        || (r.rclass == RESOLVE_CLASS_LOCAL && c->local_rcpt == NULL)
        || (r.rclass == RESOLVE_CLASS_RELAY && c->relay_rcpt == NULL))
        goto out;
    /* An address with a virtual alias is known, whatever its class. */
    if (c->valias != NULL) {
        vo.parent_matches_sub = false;
        vo.local_domain = r.rclass == RESOLVE_CLASS_LOCAL;
        lr = maps_search(c->valias, MAPS_ORDER_VIRTUAL, rcpt, &vo, &v, NULL);
        if (lr == LK_TEMPFAIL) {
            (void) tempfail(run, subj, maps_why(c->valias));
            rc = -1;
            goto out;
        }
        if (lr == LK_FOUND)
            goto out;
    }
    vo.local_domain = false;
    switch (r.rclass) {
        case RESOLVE_CLASS_LOCAL:
            m = c->local_rcpt;
            lr = local_known(c, rcpt);
            table = "local recipient table";
            code = c->unknown_local;
            break;
        case RESOLVE_CLASS_ALIAS:
            lr = LK_NOTFOUND;
            table = "virtual alias table";
            code = c->unknown_alias;
            break;
        case RESOLVE_CLASS_VIRTUAL:
            m = c->vmbox;
            lr = m ? maps_search(m, MAPS_ORDER_VIRTUAL, rcpt, &vo, &v, NULL)
                   : LK_NOTFOUND;
            table = "virtual mailbox table";
            code = c->unknown_mailbox;
            break;
        case RESOLVE_CLASS_RELAY:
            m = c->relay_rcpt;
            lr = maps_search(m, MAPS_ORDER_VIRTUAL, rcpt, &vo, &v, NULL);
            table = "relay recipient table";
            code = c->unknown_relay;
            break;
        case RESOLVE_CLASS_DEFAULT:
            goto out;
    }
    if (lr == LK_TEMPFAIL) {
        (void) tempfail(run, subj, maps_why(m));
        rc = -1;
    } else if (lr == LK_NOTFOUND) {
        struct buf text = BUF_INIT;

        buf_setf(&text, "User unknown in %s", table);
        /* Postfix 3.7: 5.1.1 for a recipient; for a sender 5.1.0, but
         * 5.1.7 in a virtual alias domain. */
        make_reply(run, code,
                   subj != SUBJ_SENDER               ? "5.1.1"
                   : r.rclass == RESOLVE_CLASS_ALIAS ? "5.1.7"
                                                     : "5.1.0",
                   subj, buf_str(&text));
        buf_fini(&text);
        rc = 1;
    }
out:
    buf_fini(&v);
    resolve_reply_fini(&r);
    return rc;
}

/* unlisted_outcome - unlisted() as the outcome of a restriction */
static enum outcome unlisted_outcome(struct smtpd_check_run *run,
                                     const char *addr, enum subject subj)
{
    switch (unlisted(run, addr, subj)) {
        case 1:
            return O_REPLY;
        case -1:
            return O_ERROR;
        default:
            return O_DUNNO;
    }
}

/* relay_ok - the recipient is one we may accept from anyone */
static enum outcome relay_check(struct smtpd_check_run *run, bool *ok)
{
    struct resolve_reply r;
    enum lk_result lr;
    const char *rcpt = nz(run->st->recipient);

    *ok = false;
    resolve_reply_init(&r);
    lr = resolve_addr(run->c->resolve, span_of(rcpt), &r);
    if (lr == LK_TEMPFAIL) {
        enum outcome o = tempfail(run, SUBJ_RCPT, buf_str(&r.why));

        resolve_reply_fini(&r);
        return o;
    }
    /* Sender-specified routing (user%remote@here) is relayed only to
     * relay_domains, and only with allow_untrusted_routing. */
    *ok = !(r.flags & RESOLVE_FLAG_ERROR) && r.rclass != RESOLVE_CLASS_DEFAULT
          && (!(r.flags & RESOLVE_FLAG_ROUTED)
              || (run->c->allow_untrusted_routing
                  && r.rclass == RESOLVE_CLASS_RELAY));
    resolve_reply_fini(&r);
    return O_DUNNO;
}

/* ---------------------------------------------------------------- */
/* The DNS restrictions. */

/* dns_get - the answer for NAME/TYPE: 0 with *OUT, or -1 after asking for
 * it (the restriction returns O_PENDING and runs again with the answer) */
static int dns_get(struct smtpd_check_run *run, const char *name, int type,
                   const struct smtpd_dns_cached **out)
{
    size_t i;

    for (i = 0; i < run->ndns; i++) {
        if (run->dns[i].type == type
            && strcasecmp(run->dns[i].name, name) == 0) {
            *out = &run->dns[i];
            return 0;
        }
    }
    buf_set(&run->dns_name, name);
    run->dns_type = type;
    run->dns_waiting = true;
    return -1;
}

/* smtpd_check_dns_answer - keep ANS for the pending lookup */
void smtpd_check_dns_answer(struct smtpd_check_run *run,
                            const struct dns_answer *ans)
{
    struct smtpd_dns_cached *d;
    size_t i;

    if (!run->dns_waiting)
        msg_panic("smtpd_check_dns_answer: no lookup waits");
    run->dns = mem_realloc(run->dns, (run->ndns + 1) * sizeof(*run->dns));
    d = &run->dns[run->ndns++];
    d->name = mem_strdup(buf_str(&run->dns_name));
    d->type = run->dns_type;
    d->status = ans->status;
    d->why = mem_strdup(ans->why ? ans->why : "");
    d->rr = argv_new();
    for (i = 0; ans->status == DNS_OK && i < ans->nrr; i++) {
        const struct dns_rr *rr = &ans->rr[i];
        char host[INET6_ADDRSTRLEN];

        if (rr->type != d->type)
            continue;
        switch (rr->type) {
            case DNS_T_A:
                if (inet_ntop(
                        AF_INET,
                        &((const struct sockaddr_in *) (const void *) &rr->addr)
                             ->sin_addr,
                        host, sizeof(host)))
                    argv_add(d->rr, host);
                break;
            case DNS_T_AAAA:
                if (inet_ntop(AF_INET6,
                              &((const struct sockaddr_in6 *) (const void *) &rr
                                    ->addr)
                                   ->sin6_addr,
                              host, sizeof(host)))
                    argv_add(d->rr, host);
                break;
            case DNS_T_TXT:
                argv_add(d->rr, nz(rr->text));
                break;
            default:
                argv_add(d->rr, nz(rr->name));
                break;
        }
    }
    /* An OK answer without a usable record is no record. */
    if (d->status == DNS_OK && d->rr->argc == 0)
        d->status = DNS_NODATA;
    run->dns_waiting = false;
}

/* temp_action - a reject-type restriction could not decide: ACTION
 * (a *_tempfail_action value) with "450 DSN <subject>: TEXT" */
static enum outcome temp_action(struct smtpd_check_run *run, const char *action,
                                enum subject subj, const char *dsn,
                                const char *text)
{
    bool permit = strcasecmp(action, "defer_if_permit") == 0;

    if (strcasecmp(action, "defer") == 0 || strcasecmp(action, "reject") == 0) {
        make_reply(run, 450, dsn, subj, text);
        return O_REPLY;
    }
    if (!permit && strcasecmp(action, "defer_if_reject") != 0) {
        struct buf w = BUF_INIT;
        enum outcome o;

        buf_setf(&w, "unknown tempfail action: \"%s\"", action);
        o = config_error(run, buf_str(&w));
        buf_fini(&w);
        return o;
    }
    if (!(permit ? run->defer_if_permit : run->defer_if_reject)) {
        make_reply(run, 450, dsn, subj, text);
        buf_set(permit ? &run->dip : &run->dir, buf_str(&run->reply));
        if (permit)
            run->defer_if_permit = 1;
        else
            run->defer_if_reject = 1;
        buf_reset(&run->reply);
    }
    return O_DUNNO;
}

/* trim_dot - NAME without one final dot, into OUT */
static const char *trim_dot(const char *name, struct buf *out)
{
    size_t n = strlen(name);

    buf_reset(out);
    buf_catn(out, name, n > 0 && name[n - 1] == '.' ? n - 1 : n);
    return buf_str(out);
}

/* unknown_client - reject_unknown_client_hostname and
 * reject_unknown_reverse_client_hostname (REVERSE) */
static enum outcome unknown_client(struct smtpd_check_run *run, bool reverse)
{
    const struct smtpd_state *st = run->st;
    const char *name = reverse ? st->reverse_name : st->client_name;
    int status = reverse ? st->reverse_name_status : st->client_name_status;
    long code;

    if (status == 0 && name != NULL && strcmp(name, "unknown") != 0)
        return O_DUNNO;
    code = status == 4 ? 450 : run->c->unknown_client;
    buf_setf(&run->reply,
             "%ld %c.7.%s Client host rejected: cannot find your %shostname, "
             "[%s]",
             code, (char) ('0' + code / 100), reverse ? "1" : "25",
             reverse ? "reverse " : "", nz(st->client_addr));
    return O_REPLY;
}

/* unknown_helo - reject_unknown_helo_hostname: the HELO name has no A,
 * AAAA or MX record */
static enum outcome unknown_helo(struct smtpd_check_run *run)
{
    static const int types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_MX};
    const struct smtpd_state *st = run->st;
    const struct smtpd_dns_cached *a;
    struct buf name = BUF_INIT;
    bool retry = false;
    size_t i;

    if (st->helo == NULL || st->helo[0] == '[')
        return O_DUNNO;
    trim_dot(st->helo, &name);
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (dns_get(run, buf_str(&name), types[i], &a) < 0) {
            buf_fini(&name);
            return O_PENDING;
        }
        if (a->status == DNS_OK) {
            buf_fini(&name);
            return O_DUNNO;
        }
        if (a->status == DNS_RETRY)
            retry = true;
        if (a->status == DNS_NOTFOUND || a->status == DNS_INVAL)
            break; /* the name does not exist: no other type either */
    }
    buf_fini(&name);
    if (retry)
        return temp_action(run, run->c->helo_tempfail, SUBJ_HELO, "4.7.1",
                           "Host not found");
    make_reply(run, run->c->unknown_host, "5.7.1", SUBJ_HELO, "Host not found");
    return O_REPLY;
}

/* unknown_domain - reject_unknown_sender_domain (SUBJ_SENDER) and
 * reject_unknown_recipient_domain: the domain of ADDR has no MX, A or
 * AAAA record, or a null MX */
static enum outcome unknown_domain(struct smtpd_check_run *run,
                                   enum subject subj, const char *addr)
{
    static const int types[] = {DNS_T_MX, DNS_T_A, DNS_T_AAAA};
    bool sender = subj == SUBJ_SENDER;
    const struct smtpd_dns_cached *a;
    struct resolve_reply r;
    enum lk_result lr;
    struct buf dom = BUF_INIT;
    const char *at;
    bool retry = false;
    size_t i;

    if (addr == NULL || *addr == 0 || (at = strrchr(addr, '@')) == NULL
        || at[1] == 0 || at[1] == '[')
        return O_DUNNO;
    /* Where Postfix is the final destination or a relay, no look-up. */
    resolve_reply_init(&r);
    lr = resolve_addr(run->c->resolve, span_of(addr), &r);
    if (lr == LK_TEMPFAIL) {
        enum outcome o = tempfail(run, subj, buf_str(&r.why));

        resolve_reply_fini(&r);
        return o;
    }
    if (r.rclass != RESOLVE_CLASS_DEFAULT) {
        resolve_reply_fini(&r);
        return O_DUNNO;
    }
    resolve_reply_fini(&r);
    trim_dot(at + 1, &dom);
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (dns_get(run, buf_str(&dom), types[i], &a) < 0) {
            buf_fini(&dom);
            return O_PENDING;
        }
        if (a->status == DNS_OK) {
            if (types[i] == DNS_T_MX && a->rr->argc == 1
                && a->rr->argv[0][0] == 0) {
                struct buf t = BUF_INIT;

                buf_setf(&t, "Domain %s does not accept mail (nullMX)",
                         buf_str(&dom));
                make_reply(run, sender ? 550 : 556,
                           sender ? "5.7.27" : "5.1.10", subj, buf_str(&t));
                buf_fini(&t);
                buf_fini(&dom);
                return O_REPLY;
            }
            buf_fini(&dom);
            return O_DUNNO;
        }
        if (a->status == DNS_RETRY)
            retry = true;
        if (a->status == DNS_NOTFOUND || a->status == DNS_INVAL)
            break;
    }
    buf_fini(&dom);
    if (retry)
        return temp_action(run, run->c->addr_tempfail, subj,
                           sender ? "4.1.8" : "4.1.2", "Domain not found");
    make_reply(run, run->c->unknown_addr, sender ? "5.1.8" : "5.1.2", subj,
               "Domain not found");
    return O_REPLY;
}

/* The DNS lists. */
enum rbl_kind {
    RBL_CLIENT,    /* reject_rbl_client: the reversed address */
    RHS_CLIENT,    /* reject_rhsbl_client: the client name */
    RHS_REVERSE,   /* reject_rhsbl_reverse_client */
    RHS_HELO,      /* reject_rhsbl_helo */
    RHS_SENDER,    /* reject_rhsbl_sender: the sender's domain */
    RHS_RECIPIENT, /* reject_rhsbl_recipient */
    DNSWL_CLIENT,  /* permit_dnswl_client */
    RHSWL_CLIENT,  /* permit_rhswl_client */
};

/* rbl_subject - what the list looks up for KIND ("" when nothing, as for
 * an unknown client name), its reply class and the query prefix */
static void rbl_subject(const struct smtpd_state *st, enum rbl_kind kind,
                        const char **what, const char **cls, struct buf *prefix)
{
    const char *v = NULL, *at;

    *cls = "Client host";
    switch (kind) {
        case RBL_CLIENT:
        case DNSWL_CLIENT:
            *what = nz(st->client_addr);
            if (smtpd_rbl_reverse(*what, prefix, NULL) < 0)
                buf_reset(prefix);
            return;
        case RHS_CLIENT:
        case RHSWL_CLIENT:
            v = st->client_name;
            break;
        case RHS_REVERSE:
            *cls = "Unverified Client host";
            v = st->reverse_name;
            break;
        case RHS_HELO:
            *cls = "Helo command";
            v = st->helo;
            break;
        case RHS_SENDER:
            *cls = "Sender address";
            v = st->sender;
            break;
        case RHS_RECIPIENT:
            *cls = "Recipient address";
            v = st->recipient;
            break;
    }
    *what = nz(v);
    if (v == NULL || *v == 0 || strcmp(v, "unknown") == 0)
        return;
    if (kind == RHS_SENDER || kind == RHS_RECIPIENT) {
        if ((at = strrchr(v, '@')) == NULL)
            return;
        v = at + 1;
    }
    if (*v == 0 || *v == '[' || inet_addr(v) != INADDR_NONE
        || strchr(v, ':') != NULL)
        return;
    trim_dot(v, prefix);
}

/* rbl_reply - the reply for a listing of WHAT in DOMAIN with REASON */
static enum outcome rbl_reply(struct smtpd_check_run *run, const char *domain,
                              const char *cls, const char *what,
                              const char *reason)
{
    const struct smtpd_state *st = run->st;
    struct smtpd_rbl_macros m;
    struct buf tmpl = BUF_INIT, text = BUF_INIT, why = BUF_INIT;
    struct buf client = BUF_INIT, code = BUF_INIT;
    enum outcome o = O_REPLY;

    if (run->c->rbl_reply != NULL) {
        switch (maps_find(run->c->rbl_reply, domain, MAPS_FIND_ALL, &tmpl)) {
            case LK_FOUND:
                break;
            case LK_NOTFOUND:
                buf_set(&tmpl, run->c->rbl_default);
                break;
            case LK_TEMPFAIL:
                o = tempfail(run, SUBJ_CLIENT, maps_why(run->c->rbl_reply));
                goto out;
        }
    } else {
        buf_set(&tmpl, run->c->rbl_default);
    }
    memset(&m, 0, sizeof(m));
    buf_setf(&client, "%s[%s]", nz(st->client_name), nz(st->client_addr));
    buf_setf(&code, "%ld", run->c->rbl_code);
    m.client = buf_str(&client);
    m.client_address = st->client_addr;
    m.client_name = st->client_name;
    m.reverse_client_name = st->reverse_name;
    m.helo_name = st->helo;
    m.sender = st->sender;
    m.recipient = st->recipient;
    m.rbl_class = cls;
    m.rbl_code = buf_str(&code);
    m.rbl_domain = domain;
    m.rbl_reason = reason;
    m.rbl_txt = reason;
    m.rbl_what = what;
    if (smtpd_rbl_expand(buf_str(&tmpl), &m, &text, &why) < 0
        || (buf_reset(&run->reply),
            smtpd_rbl_reply(buf_str(&text), &run->reply, &why) < 0)) {
        struct buf w = BUF_INIT;

        buf_setf(&w, "%s: %s", buf_str(&tmpl), buf_str(&why));
        o = config_error(run, buf_str(&w));
        buf_fini(&w);
    }
out:
    buf_fini(&tmpl);
    buf_fini(&text);
    buf_fini(&why);
    buf_fini(&client);
    buf_fini(&code);
    return o;
}

/* rbl_check - one DNS list SPEC ("domain" or "domain=filter") of KIND */
static enum outcome rbl_check(struct smtpd_check_run *run, enum rbl_kind kind,
                              const char *spec)
{
    const struct smtpd_state *st = run->st;
    const struct smtpd_dns_cached *a, *t;
    struct buf dom = BUF_INIT, prefix = BUF_INIT, q = BUF_INIT;
    const char *filter, *what, *cls;
    bool allow = kind == DNSWL_CLIENT || kind == RHSWL_CLIENT;
    bool hit = false;
    enum outcome o = O_DUNNO;
    size_t i;

    filter = smtpd_rbl_split(spec, &dom);
    if (filter != NULL && !smtpd_rbl_filter_ok(filter)) {
        buf_setf(&q, "invalid DNS list filter: \"%s\"", spec);
        o = config_error(run, buf_str(&q));
        goto out;
    }
    rbl_subject(st, kind, &what, &cls, &prefix);
    if (buf_len(&prefix) == 0 || buf_len(&dom) == 0)
        goto out;
    buf_setf(&q, "%s.%s", buf_str(&prefix), buf_str(&dom));
    if (dns_get(run, buf_str(&q), DNS_T_A, &a) < 0) {
        o = O_PENDING;
        goto out;
    }
    if (a->status == DNS_RETRY) {
        struct buf w = BUF_INIT;

        buf_setf(&w,
                 "warning: %s: RBL lookup error: Host or domain name not "
                 "found. Name service error for name=%s type=A: %s",
                 buf_str(&q), buf_str(&q), a->why);
        argv_add(run->fx.warnings, buf_str(&w));
        buf_fini(&w);
        if (allow && !run->defer_if_reject) {
            buf_setf(&run->dir,
                     "450 4.7.1 <%s>: Client host rejected: Service "
                     "unavailable",
                     kind == DNSWL_CLIENT ? nz(st->client_addr) : what);
            run->defer_if_reject = 1;
        }
        goto out;
    }
    if (a->status != DNS_OK)
        goto out;
    for (i = 0; i < a->rr->argc && !hit; i++)
        hit = smtpd_rbl_filter_match(filter, a->rr->argv[i]);
    if (!hit)
        goto out;
    if (allow) {
        bool ok = true;

        /* Never an open relay because of an allowlist. */
        if (st->recipient != NULL && (o = relay_check(run, &ok)) != O_DUNNO)
            goto out;
        o = ok ? O_PERMIT : O_DUNNO;
        goto out;
    }
    if (dns_get(run, buf_str(&q), DNS_T_TXT, &t) < 0) {
        o = O_PENDING;
        goto out;
    }
    o = rbl_reply(run, buf_str(&dom), cls, what,
                  t->status == DNS_OK ? t->rr->argv[0] : "");
out:
    buf_fini(&dom);
    buf_fini(&prefix);
    buf_fini(&q);
    return o;
}

/* policy_check - check_policy_service SPEC: the request, or (resumed)
 * the server's action evaluated as an access(5) result */
static enum outcome policy_check(struct smtpd_check_run *run,
                                 struct smtpd_frame *f, enum subject subj,
                                 const char *spec)
{
    const struct smtpd_state *st = run->st;
    struct smtpd_policy_conf pc;
    struct smtpd_policy_attrs a;
    struct buf why = BUF_INIT;
    bool counted = f->stage == SMTPD_STAGE_DATA || f->stage == SMTPD_STAGE_EOD;

    if (run->policy_state == POLICY_ANSWERED) {
        run->policy_state = POLICY_NONE;
        return access_result(run, f->stage, subj, buf_str(&run->policy_action));
    }
    if (smtpd_policy_conf_parse(spec, &pc, &why) < 0) {
        enum outcome o = config_error(run, buf_str(&why));

        buf_fini(&why);
        return o;
    }
    buf_fini(&why);
    memset(&a, 0, sizeof(a));
    a.protocol_state = st->protocol_state;
    a.protocol_name = st->protocol_name;
    a.client_address = st->client_addr;
    a.client_name = st->client_name;
    a.client_port = st->client_port;
    a.reverse_client_name = st->reverse_name;
    a.server_address = st->server_address;
    a.server_port = st->server_port;
    a.helo_name = st->helo;
    a.sender = st->sender;
    a.recipient = st->recipient;
    a.recipient_count = counted ? st->rcpt_count : 0;
    a.queue_id = st->queue_id;
    a.instance = st->instance;
    a.size = st->size;
    a.etrn_domain = st->etrn_domain;
    a.sasl_username = st->sasl_username;
    a.policy_context = pc.policy_context;
    buf_reset(&run->policy_request);
    smtpd_policy_encode(&a, &run->policy_request);
    smtpd_policy_conf_fini(&pc);
    buf_set(&run->policy_spec, spec);
    run->policy_state = POLICY_WAITING;
    /* Back to the restriction: the answer is evaluated when it comes. */
    f->at -= 2;
    return O_PENDING;
}

/* one - evaluate restriction NAME (LIST[*AT], which may take arguments)
 * in STAGE */
static enum outcome one(struct smtpd_check_run *run, struct smtpd_frame *f)
{
    struct smtpd_check *c = run->c;
    const struct smtpd_state *st = run->st;
    const char *name = f->list->argv[f->at++];
    enum subject ssub = stage_subject(f->stage);
    const struct argv *cls;
    const char *arg;
    bool ok;
    enum outcome o;

    if (strcasecmp(name, "permit") == 0)
        return O_PERMIT;
    if (strcasecmp(name, "reject") == 0) {
        make_reply(run, c->reject_code, "5.7.1", ssub, "Access denied");
        return O_REPLY;
    }
    if (strcasecmp(name, "defer") == 0) {
        make_reply(run, c->defer_code, "4.7.1", ssub, "Access denied");
        return O_REPLY;
    }
    if (strcasecmp(name, "warn_if_reject") == 0) {
        run->warn_next = true;
        return O_DUNNO;
    }
    if (strcasecmp(name, "defer_if_permit") == 0
        || strcasecmp(name, "defer_if_reject") == 0) {
        bool permit = strcasecmp(name, "defer_if_permit") == 0;

        if (!(permit ? run->defer_if_permit : run->defer_if_reject)) {
            make_reply(run, c->defer_code, "4.7.1", ssub,
                       "Service unavailable");
            buf_set(permit ? &run->dip : &run->dir, buf_str(&run->reply));
            if (permit)
                run->defer_if_permit = 1;
            else
                run->defer_if_reject = 1;
        }
        return O_DUNNO;
    }
    if (strcasecmp(name, "permit_sasl_authenticated") == 0)
        return st->sasl_username && *st->sasl_username ? O_PERMIT : O_DUNNO;
    if (strcasecmp(name, "permit_inet_interfaces") == 0)
        return st->client_addr
                       && resolve_inet_interface(c->resolve, st->client_addr)
                   ? O_PERMIT
                   : O_DUNNO;
    if (strcasecmp(name, "reject_unauth_pipelining") == 0) {
        if (!st->unauth_pipelining)
            return O_DUNNO;
        make_reply(run, 503, "5.5.0", ssub,
                   "Improper use of SMTP command pipelining");
        return O_REPLY;
    }
    if (strcasecmp(name, "reject_multi_recipient_bounce") == 0) {
        /* At RCPT the count excludes the recipient being checked; at
         * DATA it is every accepted one. */
        unsigned most =
            f->stage == SMTPD_STAGE_DATA || f->stage == SMTPD_STAGE_EOD ? 1 : 0;

        if (st->sender == NULL || *st->sender != 0 || st->rcpt_count <= most)
            return O_DUNNO;
        make_reply(run, c->multi_bounce, "5.5.3", ssub,
                   "Multi-recipient bounce");
        return O_REPLY;
    }
    if (strcasecmp(name, "reject_unlisted_recipient") == 0
        || strcasecmp(name, "check_recipient_maps") == 0) {
        if (st->recipient == NULL)
            return O_DUNNO;
        return unlisted_outcome(run, st->recipient, SUBJ_RCPT);
    }
    if (strcasecmp(name, "reject_unlisted_sender") == 0) {
        if (st->sender == NULL || *st->sender == 0)
            return O_DUNNO;
        return unlisted_outcome(run, st->sender, SUBJ_SENDER);
    }
    if (strcasecmp(name, "permit_mynetworks") == 0) {
        switch (addr_match_find(c->mynetworks, nz(st->client_addr))) {
            case LK_FOUND:
                return O_PERMIT;
            case LK_NOTFOUND:
                return O_DUNNO;
            case LK_TEMPFAIL:
                /* Postfix names the list's subject: "451 4.3.0 <rcpt>:
                 * Temporary lookup failure" in the relay list. */
                return tempfail(run, ssub, addr_match_why(c->mynetworks));
        }
    }
    if (strcasecmp(name, "reject_unauth_destination") == 0
        || strcasecmp(name, "defer_unauth_destination") == 0
        || strcasecmp(name, "permit_auth_destination") == 0) {
        if (st->recipient == NULL)
            return O_DUNNO;
        if ((o = relay_check(run, &ok)) != O_DUNNO)
            return o;
        if (name[0] == 'p')
            return ok ? O_PERMIT : O_DUNNO;
        if (ok)
            return O_DUNNO;
        buf_setf(&run->reply, "%ld 5.7.1 <%s>: Relay access denied",
                 name[0] == 'd' ? c->relay_reject % 100 + 400 : c->relay_reject,
                 st->recipient);
        if (name[0] == 'd')
            run->reply.data[4] = '4';
        return O_REPLY;
    }
    if (strcasecmp(name, "reject_invalid_helo_hostname") == 0
        || strcasecmp(name, "reject_invalid_hostname") == 0) {
        if (st->helo == NULL || (st->helo[0] == '[') || helo_valid(st->helo))
            return O_DUNNO;
        make_reply(run, c->invalid_host, "5.5.2", SUBJ_HELO, "Invalid name");
        return O_REPLY;
    }
    if (strcasecmp(name, "reject_unknown_helo_hostname") == 0
        || strcasecmp(name, "reject_unknown_hostname") == 0) {
        return unknown_helo(run);
    }
    if (strcasecmp(name, "reject_unknown_client_hostname") == 0
        || strcasecmp(name, "reject_unknown_client") == 0)
        return unknown_client(run, false);
    if (strcasecmp(name, "reject_unknown_reverse_client_hostname") == 0)
        return unknown_client(run, true);
    if (strcasecmp(name, "reject_unknown_sender_domain") == 0)
        return unknown_domain(run, SUBJ_SENDER, st->sender);
    if (strcasecmp(name, "reject_unknown_recipient_domain") == 0)
        return unknown_domain(run, SUBJ_RCPT, st->recipient);
    {
        static const struct {
            const char *name;
            enum rbl_kind kind;
        } lists[] = {
            {"reject_rbl_client", RBL_CLIENT},
            {"reject_rhsbl_client", RHS_CLIENT},
            {"reject_rhsbl_reverse_client", RHS_REVERSE},
            {"reject_rhsbl_helo", RHS_HELO},
            {"reject_rhsbl_sender", RHS_SENDER},
            {"reject_rhsbl_recipient", RHS_RECIPIENT},
            {"permit_dnswl_client", DNSWL_CLIENT},
            {"permit_rhswl_client", RHSWL_CLIENT},
        };
        size_t i;

        for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
            if (strcasecmp(name, lists[i].name) != 0)
                continue;
            if (f->at >= f->list->argc) {
                struct buf w = BUF_INIT;

                buf_setf(&w, "restriction %s requires domain name argument",
                         name);
                o = config_error(run, buf_str(&w));
                buf_fini(&w);
                return o;
            }
            arg = f->list->argv[f->at++];
            return rbl_check(run, lists[i].kind, arg);
        }
    }
    if (strcasecmp(name, "reject_non_fqdn_helo_hostname") == 0
        || strcasecmp(name, "reject_non_fqdn_hostname") == 0) {
        if (st->helo == NULL || fqdn_host(st->helo))
            return O_DUNNO;
        make_reply(run, c->non_fqdn, "5.5.2", SUBJ_HELO,
                   "need fully-qualified hostname");
        return O_REPLY;
    }
    if (strcasecmp(name, "reject_non_fqdn_sender") == 0) {
        if (st->sender == NULL || *st->sender == 0 || fqdn_addr(st->sender))
            return O_DUNNO;
        make_reply(run, c->non_fqdn, "5.5.2", SUBJ_SENDER,
                   "need fully-qualified address");
        return O_REPLY;
    }
    if (strcasecmp(name, "reject_non_fqdn_recipient") == 0) {
        if (st->recipient == NULL || fqdn_addr(st->recipient))
            return O_DUNNO;
        make_reply(run, c->non_fqdn, "5.5.2", SUBJ_RCPT,
                   "need fully-qualified address");
        return O_REPLY;
    }
    if (strcasecmp(name, "check_policy_service") == 0) {
        if (f->at >= f->list->argc)
            return config_error(run, "missing argument after "
                                     "check_policy_service");
        arg = f->list->argv[f->at++];
        return policy_check(run, f, ssub, arg);
    }
    {
        static const struct {
            const char *name;
            enum subject subj;
            bool reverse;
        } checks[] = {
            {"check_client_access", SUBJ_CLIENT, false},
            {"check_reverse_client_hostname_access", SUBJ_REVERSE, true},
            {"check_helo_access", SUBJ_HELO, false},
            {"check_sender_access", SUBJ_SENDER, false},
            {"check_recipient_access", SUBJ_RCPT, false},
        };
        size_t i;

        for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
            if (strcasecmp(name, checks[i].name) != 0)
                continue;
            if (f->at >= f->list->argc)
                return config_error(run, "missing table after access check");
            arg = f->list->argv[f->at++];
            return check_access(run, f->stage, checks[i].subj, arg,
                                checks[i].reverse);
        }
    }
    if ((cls = class_find(c, name)) != NULL) {
        if (push(run, cls, f->stage, NULL) != 0)
            return config_error(run, "restriction classes nested too deeply");
        return O_PUSHED;
    }
    {
        struct buf w = BUF_INIT;
        enum outcome bad;

        buf_setf(&w, "unknown smtpd restriction: \"%s\"", name);
        bad = config_error(run, buf_str(&w));
        buf_fini(&w);
        return bad;
    }
}

/* soften - soft_bounce: 5XX X.Y.Z becomes 4XX 4.Y.Z */
static void soften(struct smtpd_check_run *run)
{
    char *p = run->reply.data;

    if (!run->c->soft_bounce || p == NULL || p[0] != '5')
        return;
    p[0] = '4';
    if (p[3] == ' ' && p[4] == '5' && p[5] == '.')
        p[4] = '4';
}

/* finish - the answer */
static enum smtpd_check_status finish(struct smtpd_check_run *run,
                                      enum smtpd_check_status s)
{
    frames_clear(run);
    if (s == SMTPD_CHECK_ACCEPT)
        buf_reset(&run->reply);
    else
        soften(run);
    run->status = s;
    return s;
}

/* final_stage - the run includes a list whose accept is final */
static bool final_stage(const struct smtpd_check_run *run)
{
    size_t i;

    for (i = 0; i < run->nstages; i++)
        if (run->stages[i] >= SMTPD_STAGE_RELAY)
            return true;
    return false;
}

/* smtpd_check_step - run until an answer */
enum smtpd_check_status smtpd_check_step(struct smtpd_check_run *run)
{
    if (run->policy_state == POLICY_WAITING || run->dns_waiting) {
        run->status = SMTPD_CHECK_PENDING;
        return run->status;
    }
    if (run->st->discarded) {
        run->status = SMTPD_CHECK_ACCEPT;
        return run->status;
    }
    for (;;) {
        struct smtpd_frame *f;
        enum outcome o;
        bool warn;
        size_t at0;

        if (run->nframes == 0) {
            /* The current list passed (or has not started). */
            if (run->stage_at > 0
                && run->stages[run->stage_at - 1] == SMTPD_STAGE_SENDER
                && !run->sender_checked) {
                const char *snd = run->st->sender;

                run->sender_checked = true;
                if (run->c->unlisted_sender && snd != NULL && *snd != 0
                    && unlisted(run, snd, SUBJ_SENDER) != 0)
                    return finish(run, SMTPD_CHECK_REPLY);
            }
            if (run->stage_at > 0
                && run->stages[run->stage_at - 1] == SMTPD_STAGE_RECIPIENT
                && !run->local_checked) {
                const char *rcpt = run->st->recipient;

                run->local_checked = true;
                if (run->c->unlisted_rcpt && rcpt != NULL
                    && unlisted(run, rcpt, SUBJ_RCPT) != 0)
                    return finish(run, SMTPD_CHECK_REPLY);
            }
            if (run->stage_at == run->nstages) {
                if (run->defer_if_permit && final_stage(run)) {
                    buf_set(&run->reply, buf_str(&run->dip));
                    return finish(run, SMTPD_CHECK_REPLY);
                }
                return finish(run, SMTPD_CHECK_ACCEPT);
            }
            {
                enum smtpd_stage s = run->stages[run->stage_at++];

                /* DEFER_IF_REJECT holds within one list (Postfix 3.7:
                 * a sender-list DEFER_IF_REJECT does not soften a
                 * relay-list reject); DEFER_IF_PERMIT carries on. */
                run->defer_if_reject = 0;
                buf_reset(&run->dir);
                (void) push(run, run->c->lists[s], s, NULL);
            }
            continue;
        }
        f = &run->frames[run->nframes - 1];
        if (f->at >= f->list->argc) {
            argv_free(f->owned);
            run->nframes--;
            continue;
        }
        warn = run->warn_next;
        run->warn_next = false;
        at0 = f->at;
        o = one(run, f);
        if (warn && o == O_REPLY) {
            struct buf w = BUF_INIT;

            buf_setf(&w, "reject_warning: %s", buf_str(&run->reply));
            argv_add(run->fx.warnings, buf_str(&w));
            buf_fini(&w);
            buf_reset(&run->reply);
            o = O_DUNNO;
        }
        switch (o) {
            case O_DUNNO:
            case O_PUSHED:
                break;
            case O_PERMIT: {
                /* This list (and the frames it pushed) is done. */
                enum smtpd_stage s = f->stage;

                while (run->nframes > 0
                       && run->frames[run->nframes - 1].stage == s) {
                    argv_free(run->frames[run->nframes - 1].owned);
                    run->nframes--;
                }
                break;
            }
            case O_REPLY:
                if (run->defer_if_reject)
                    buf_set(&run->reply, buf_str(&run->dir));
                return finish(run, SMTPD_CHECK_REPLY);
            case O_ERROR:
                return finish(run, SMTPD_CHECK_REPLY);
            case O_PENDING:
                /* The restriction runs again when the answer is in. */
                run->frames[run->nframes - 1].at = at0;
                run->warn_next = warn;
                run->status = SMTPD_CHECK_PENDING;
                return run->status;
        }
    }
}

/* smtpd_check_policy_answer - the action for the pending request */
void smtpd_check_policy_answer(struct smtpd_check_run *run, const char *action)
{
    if (run->policy_state != POLICY_WAITING)
        msg_panic("smtpd_check_policy_answer: no request waits");
    buf_set(&run->policy_action, action);
    run->policy_state = POLICY_ANSWERED;
}

/* smtpd_check_resume - go on over ST */
void smtpd_check_resume(struct smtpd_check_run *run,
                        const struct smtpd_state *st)
{
    run->st = st;
}
