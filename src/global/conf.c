/*
 * conf - main.cf: reading, values, lazy expansion, validation.
 *
 * State: one table of main.cf/-c/-o values (name -> struct val), a cache of
 * expanded values (cleared whenever a value changes, which is what makes the
 * returned strings "borrowed until the next conf_load, conf_override or
 * conf_defaults_only"), host-dependent defaults computed on first use,
 * the master.cf service names with the per-service parameters they create,
 * and the syntax errors of the last load (kept so that conf_check can list
 * every problem at once).
 */
#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/htable.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"

#include "params.h"

#define CONF_DEFAULT_DIR "/etc/postfix"
#define CONF_MAX_DEPTH   100           /* macro nesting, as Postfix */
#define CONF_MAX_LINE    (1024 * 1024) /* one logical line of main.cf */

struct val {
    char *text; /* owned, unexpanded */
    int line;   /* 0: -c, MAIL_CONFIG or -o */
    int order;  /* definition order, for CONF_NAMES_SET */
};

static char *cfg_dir;              /* -c; NULL: $MAIL_CONFIG or default */
static char *main_cf;              /* owned path */
static struct htable *vals;        /* name -> struct val */
static struct htable *cache;       /* name -> owned expanded text */
static struct htable *dyn;         /* name -> owned computed default */
static char *service_name_value;   /* owned: $service_name of a daemon */
static struct htable *svc;         /* per-service name -> owned default */
static struct htable *refs;        /* names referenced as $name in main.cf */
static struct htable *master_refs; /* ... in master.cf */
static struct argv *master_opts;   /* master.cf -o "name=value" */
static struct argv *master_where;  /* ... and their "service/type" */
static struct argv *syntax;        /* "FILE, line N: why" of the last load */
static struct argv *syntax_check;  /* the same as "FILE:N: why" */
static bool master_missing;        /* master.cf could not be opened */
static bool defaults_only;         /* postconf -d */
static int order_seq;

/* free_val - htable destructor for struct val */
static void free_val(void *p)
{
    struct val *v = p;

    mem_free(v->text);
    mem_free(v);
}

/* clear_cache - forget expanded values (a value changed) */
static void clear_cache(void)
{
    if (cache)
        htable_free(cache, mem_free);
    cache = htable_new(64);
    if (dyn)
        htable_free(dyn, mem_free);
    dyn = htable_new(16);
}

/* ensure_init - first use: empty tables */
static void ensure_init(void)
{
    if (vals == NULL) {
        vals = htable_new(128);
        svc = htable_new(64);
        refs = htable_new(64);
        master_refs = htable_new(16);
        master_opts = argv_new();
        master_where = argv_new();
        syntax = argv_new();
        syntax_check = argv_new();
        clear_cache();
    }
}

/* conf_set_dir - remember the -c directory */
void conf_set_dir(const char *dir)
{
    mem_free(cfg_dir);
    cfg_dir = mem_strdup(dir);
    mem_free(main_cf);
    main_cf = NULL;
}

/* conf_dir - -c, then $MAIL_CONFIG, then /etc/postfix */
const char *conf_dir(void)
{
    const char *env;

    if (cfg_dir)
        return cfg_dir;
    if ((env = getenv("MAIL_CONFIG")) != NULL && *env)
        return env;
    return CONF_DEFAULT_DIR;
}

/* conf_main_cf - path of main.cf */
const char *conf_main_cf(void)
{
    if (main_cf == NULL) {
        struct buf b = BUF_INIT;

        buf_setf(&b, "%s/main.cf", conf_dir());
        main_cf = buf_steal(&b);
    }
    return main_cf;
}

/* conf_master_cf_missing - master.cf was not readable at load */
bool conf_master_cf_missing(void)
{
    return master_missing;
}

/* set_val - define NAME=VALUE (LINE 0: from -c or -o) */
static void set_val(const char *name, const char *text, int line)
{
    struct val *v = htable_find(vals, name);

    if (v == NULL) {
        v = mem_zalloc(sizeof(*v));
        htable_enter(vals, name, v);
    } else {
        mem_free(v->text);
    }
    v->text = mem_strdup(text);
    v->line = line;
    v->order = order_seq++;
}

/* is_name_char - [A-Za-z0-9_], the characters of a parameter name */
static bool is_name_char(int c)
{
    return isalnum((unsigned char) c) || c == '_';
}

/* note_refs_into - remember in TABLE every $name that TEXT references */
static void note_refs_into(struct htable *table, const char *text)
{
    for (const char *p = text; (p = strchr(p, '$')) != NULL;) {
        const char *s;

        p++;
        if (*p == '$') {
            p++;
            continue;
        }
        if (*p == '{' || *p == '(')
            p++;
        while (*p == ' ' || *p == '\t')
            p++;
        for (s = p; is_name_char(*p); p++)
            ;
        if (p > s) {
            char *name = mem_strndup(s, (size_t) (p - s));

            htable_enter(table, name, NULL);
            mem_free(name);
        }
    }
}

/* note_refs - remember the $name references of a main.cf value */
static void note_refs(const char *text)
{
    note_refs_into(refs, text);
}

/* logical_line - parse one "name = value" line of main.cf */
static void logical_line(const char *path, struct buf *line, int lineno)
{
    const char *p = buf_str(line);
    const char *name = p;
    size_t nlen;
    struct span value;
    struct val *old;
    struct buf why = BUF_INIT;

    while (*p && !isspace((unsigned char) *p) && *p != '=')
        p++;
    nlen = (size_t) (p - name);
    while (isspace((unsigned char) *p))
        p++;
    if (nlen == 0 || *p != '=') {
        const char *what = nlen == 0 ? "missing attribute name"
                                     : "missing '=' after attribute name";

        /* Postfix's words for postconf, ulak's FILE:LINE form for check. */
        buf_setf(&why, "%s, line %d: %s: \"%s\"", path, lineno, what,
                 buf_str(line));
        argv_add(syntax, buf_str(&why));
        buf_setf(&why, "%s:%d: %s: \"%s\"", path, lineno, what, buf_str(line));
        argv_add(syntax_check, buf_str(&why));
        buf_fini(&why);
        return;
    }
    value = span_trim(span_of(p + 1));
    {
        char *n = mem_strndup(name, nlen);
        char *v = span_dup(value);

        if ((old = htable_find(vals, n)) != NULL)
            msg_warn("%s, line %d: overriding earlier entry: %s=%s", path,
                     lineno, n, old->text);
        set_val(n, v, lineno);
        note_refs(v);
        mem_free(n);
        mem_free(v);
    }
}

/* finish_line - parse a complete logical line, or reject an overlong one */
static void finish_line(const char *path, struct buf *logical, int lineno,
                        bool too_long)
{
    struct buf why = BUF_INIT;

    if (!too_long) {
        logical_line(path, logical, lineno);
        return;
    }
    buf_setf(&why, "%s, line %d: logical line longer than %d bytes", path,
             lineno, CONF_MAX_LINE);
    argv_add(syntax, buf_str(&why));
    buf_setf(&why, "%s:%d: logical line longer than %d bytes", path, lineno,
             CONF_MAX_LINE);
    argv_add(syntax_check, buf_str(&why));
    buf_fini(&why);
}

/* read_main_cf - Postfix's logical-line rules over FP */
static void read_main_cf(const char *path, FILE *fp)
{
    struct buf logical;
    char *line = NULL;
    size_t size = 0;
    ssize_t n;
    int lineno = 0;
    int start = 0;
    bool too_long = false;

    buf_init(&logical, CONF_MAX_LINE);
    while ((n = getline(&line, &size, fp)) >= 0) {
        const char *p = line;

        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        /* Comment and blank lines are skipped, even inside a value. */
        if (*p == '#' || *p == 0)
            continue;
        if (p != line) {
            if (start == 0) {
                msg_warn("%s: logical line must not start with whitespace: "
                         "\"%s\"",
                         path, line);
                continue;
            }
            if (buf_catn(&logical, line, (size_t) n) < 0)
                too_long = true;
            continue;
        }
        if (start)
            finish_line(path, &logical, start, too_long);
        too_long = buf_set(&logical, line) < 0;
        start = lineno;
    }
    if (start)
        finish_line(path, &logical, start, too_long);
    free(line);
    buf_fini(&logical);
}

/* Per-service parameters that a delivery service in master.cf creates. */
static const char *const svc_suffix[][2] = {
    {"delivery_slot_cost", "$default_delivery_slot_cost"},
    {"delivery_slot_discount", "$default_delivery_slot_discount"},
    {"delivery_slot_loan", "$default_delivery_slot_loan"},
    {"destination_concurrency_failed_cohort_limit",
     "$default_destination_concurrency_failed_cohort_limit"},
    {"destination_concurrency_limit", "$default_destination_concurrency_limit"},
    {"destination_concurrency_negative_feedback",
     "$default_destination_concurrency_negative_feedback"},
    {"destination_concurrency_positive_feedback",
     "$default_destination_concurrency_positive_feedback"},
    {"destination_rate_delay", "$default_destination_rate_delay"},
    {"destination_recipient_limit", "$default_destination_recipient_limit"},
    {"extra_recipient_limit", "$default_extra_recipient_limit"},
    {"initial_destination_concurrency", "$initial_destination_concurrency"},
    {"minimum_delivery_slots", "$default_minimum_delivery_slots"},
    {"recipient_limit", "$default_recipient_limit"},
    {"recipient_refill_delay", "$default_recipient_refill_delay"},
    {"recipient_refill_limit", "$default_recipient_refill_limit"},
    {"transport_rate_delay", "$default_transport_rate_delay"},
    {"time_limit", "$command_time_limit"},
};

/* add_service - remember SERVICE and the parameters its COMMAND creates:
 * a delivery agent gets the scheduler's per-transport parameters (and
 * pipe(8) its time limit), spawn(8) its time limit; nothing else */
static void add_service(const char *service, const char *command)
{
    static const char *const agents[] = {"smtp",    "lmtp",  "local",
                                         "virtual", "error", "pipe"};
    bool agent = false;
    bool pipe = command && strcmp(command, "pipe") == 0;
    bool spawn = command && strcmp(command, "spawn") == 0;

    for (size_t i = 0; command && i < NELEM(agents); i++)
        if (strcmp(command, agents[i]) == 0)
            agent = true;
    if (!agent && !spawn)
        return;
    for (size_t i = 0; i < NELEM(svc_suffix); i++) {
        struct buf name = BUF_INIT;
        bool time_limit = strcmp(svc_suffix[i][0], "time_limit") == 0;

        if (time_limit ? !(pipe || spawn) : spawn)
            continue;
        buf_setf(&name, "%s_%s", service, svc_suffix[i][0]);
        if (params_find(buf_str(&name)) == NULL
            && htable_find(svc, buf_str(&name)) == NULL)
            htable_enter(svc, buf_str(&name), mem_strdup(svc_suffix[i][1]));
        buf_fini(&name);
    }
}

/* master_tokens - split a master.cf logical line into fields, keeping a
 * "{ ... }" group as one field */
static struct argv *master_tokens(const char *p)
{
    struct argv *a = argv_new();

    for (;;) {
        const char *s;

        while (isspace((unsigned char) *p))
            p++;
        if (*p == 0)
            break;
        s = p;
        if (*p == '{') {
            int level = 0;

            for (; *p; p++) {
                if (*p == '{')
                    level++;
                else if (*p == '}' && --level == 0) {
                    p++;
                    break;
                }
            }
        } else {
            while (*p && !isspace((unsigned char) *p))
                p++;
        }
        argv_addn(a, s, (size_t) (p - s));
    }
    return a;
}

/* add_option - record the -o argument ARG ("name=value" or "{ name =
 * value }") of service WHERE ("smtp/inet") as "name=value" */
static void add_option(const char *where, const char *arg)
{
    struct span in = span_of(arg);
    const char *eq;
    struct buf b = BUF_INIT;

    if (in.len >= 2 && in.p[0] == '{' && in.p[in.len - 1] == '}')
        in = span_trim(span_make(in.p + 1, in.len - 2));
    if ((eq = memchr(in.p, '=', in.len)) == NULL)
        return;
    buf_catspan(&b, span_trim(span_make(in.p, (size_t) (eq - in.p))));
    buf_catc(&b, '=');
    buf_catspan(
        &b, span_trim(span_make(eq + 1, (size_t) (in.p + in.len - eq - 1))));
    argv_add(master_opts, buf_str(&b));
    argv_add(master_where, where);
    buf_fini(&b);
}

/* master_line - one logical line of master.cf: the service, and the -o
 * options that come before the first command argument (later ones belong
 * to the command, as spawn's argv=...) */
static void master_line(const char *text)
{
    struct argv *f = master_tokens(text);
    struct buf where = BUF_INIT;

    if (f->argc >= 1)
        add_service(f->argv[0], f->argc >= 8 ? f->argv[7] : NULL);
    if (f->argc >= 2)
        buf_setf(&where, "%s/%s", f->argv[0], f->argv[1]);
    for (size_t i = 8; i < f->argc && f->argv[i][0] == '-'; i++) {
        const char *opt = f->argv[i];

        if (strcmp(opt, "-o") == 0) {
            if (i + 1 < f->argc)
                add_option(buf_str(&where), f->argv[++i]);
        } else if (strncmp(opt, "-o", 2) == 0) {
            add_option(buf_str(&where), opt + 2);
        } else if (opt[1] != 0 && strchr("nstiC", opt[1]) && opt[2] == 0) {
            i++; /* an option with an argument */
        }
    }
    argv_free(f);
    buf_fini(&where);
    /* Postfix's postconf does not count these references as uses of a
     * main.cf name; "ulak check" does (the service does expand them). */
    note_refs_into(master_refs, text);
}

/* read_master_cf - service names and commands (columns 1 and 8), -o
 * settings and $name references; the full parser is master_cf.c's */
static void read_master_cf(void)
{
    struct buf path = BUF_INIT;
    struct buf logical = BUF_INIT;
    FILE *fp;
    char *line = NULL;
    size_t size = 0;
    ssize_t n;

    buf_setf(&path, "%s/master.cf", conf_dir());
    if ((fp = fopen(buf_str(&path), "r")) == NULL) {
        master_missing = true;
        buf_fini(&path);
        return;
    }
    while ((n = getline(&line, &size, fp)) >= 0) {
        const char *p = line;

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == 0)
            continue;
        if (p == line && buf_len(&logical)) {
            master_line(buf_str(&logical));
            buf_reset(&logical);
        }
        if (buf_len(&logical) + (size_t) n < CONF_MAX_LINE) {
            buf_catc(&logical, ' ');
            buf_cat(&logical, line);
        }
    }
    if (buf_len(&logical))
        master_line(buf_str(&logical));
    free(line);
    fclose(fp);
    buf_fini(&logical);
    buf_fini(&path);
}

/* conf_master_options - the -o settings of master.cf */
const struct argv *conf_master_options(void)
{
    ensure_init();
    return master_opts;
}

/* conf_master_option_services - "service/type" of each -o setting */
const struct argv *conf_master_option_services(void)
{
    ensure_init();
    return master_where;
}

/* reset - forget everything loaded */
static void reset(void)
{
    ensure_init();
    htable_free(vals, free_val);
    vals = htable_new(128);
    htable_free(svc, mem_free);
    svc = htable_new(64);
    htable_free(refs, NULL);
    refs = htable_new(64);
    htable_free(master_refs, NULL);
    master_refs = htable_new(16);
    argv_free(master_opts);
    master_opts = argv_new();
    argv_free(master_where);
    master_where = argv_new();
    argv_free(syntax);
    syntax = argv_new();
    argv_free(syntax_check);
    syntax_check = argv_new();
    master_missing = false;
    order_seq = 0;
    mem_free(main_cf);
    main_cf = NULL;
    clear_cache();
}

/* conf_load - read main.cf (and master.cf service names) */
int conf_load(struct buf *why)
{
    const char *path;
    const char *env = getenv("MAIL_CONFIG");
    FILE *fp;

    reset();
    path = conf_main_cf();
    /* -c and MAIL_CONFIG set config_directory as an earlier entry, which
     * is why postconf -n shows it and main.cf may override it. */
    if (cfg_dir || (env && *env))
        set_val("config_directory", conf_dir(), 0);
    if (defaults_only) {
        /* postconf -d: main.cf plays no part. */
    } else if ((fp = fopen(path, "r")) == NULL) {
        if (errno != ENOENT) {
            buf_setf(why, "open %s: %m", path);
            return -1;
        }
    } else {
        read_main_cf(path, fp);
        fclose(fp);
    }
    read_master_cf();
    if (syntax->argc > 0) {
        buf_set(why, syntax->argv[0]);
        return -1;
    }
    return 0;
}

/* conf_override - a master.cf -o setting */
void conf_override(const char *name, const char *value)
{
    ensure_init();
    set_val(name, value, 0);
    note_refs(value);
    clear_cache();
}

/* conf_set_service_name - $service_name of this process */
void conf_set_service_name(const char *name)
{
    ensure_init();
    mem_free(service_name_value);
    service_name_value = mem_strdup(name);
    clear_cache();
}

/* conf_defaults_only - postconf -d mode */
void conf_defaults_only(bool on)
{
    ensure_init();
    defaults_only = on;
    clear_cache();
}

/*
 * Host-dependent defaults, computed as Postfix documents them.
 */

/* dyn_myhostname - gethostname(), plus ".$mydomain" when not qualified */
static void dyn_myhostname(struct buf *out)
{
    char host[256];

    if (gethostname(host, sizeof(host)) != 0)
        str_copy(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = 0;
    buf_set(out, host);
    if (strchr(host, '.') == NULL)
        buf_cat(out, ".localdomain");
}

/* dyn_mydomain - $myhostname minus its first label, or "localdomain" */
static void dyn_mydomain(struct buf *out)
{
    const char *host = conf_str("myhostname");
    const char *dot = strchr(host, '.');

    buf_set(out, dot && dot[1] ? dot + 1 : "localdomain");
}

/* add_net - append ADDR/BITS once (IPv6 in brackets) */
static void add_net(struct buf *out, int af, const void *addr, int bits)
{
    char text[INET6_ADDRSTRLEN];
    char item[INET6_ADDRSTRLEN + 8];

    if (inet_ntop(af, addr, text, sizeof(text)) == NULL)
        return;
    if (af == AF_INET6)
        str_fmt(item, sizeof(item), "[%s]/%d", text, bits);
    else
        str_fmt(item, sizeof(item), "%s/%d", text, bits);
    /* Skip duplicates: several interfaces on one subnet. */
    for (const char *p = buf_str(out); (p = strstr(p, item)) != NULL; p++)
        if ((p == buf_str(out) || p[-1] == ' ')
            && (p[strlen(item)] == ' ' || p[strlen(item)] == 0))
            return;
    if (buf_len(out))
        buf_catc(out, ' ');
    buf_cat(out, item);
}

/* mask_bits - the prefix length of netmask M (LEN bytes) */
static int mask_bits(const unsigned char *m, size_t len)
{
    int bits = 0;

    for (size_t i = 0; i < len; i++)
        for (int b = 7; b >= 0 && (m[i] >> b) & 1; b--)
            bits++;
    return bits;
}

/* apply_mask - keep the first BITS bits of A (LEN bytes) */
static void apply_mask(unsigned char *a, size_t len, int bits)
{
    for (size_t i = 0; i < len; i++) {
        int keep = bits - (int) i * 8;

        if (keep <= 0)
            a[i] = 0;
        else if (keep < 8)
            a[i] &= (unsigned char) (0xff << (8 - keep));
    }
}

/* resolves_to - host name NAME has the address TEXT (inet_interfaces may
 * name hosts, as "localhost") */
static bool resolves_to(struct span name, const char *text)
{
    struct addrinfo hints = {0};
    struct addrinfo *res = NULL;
    char *host = span_dup(name);
    bool found = false;

    hints.ai_socktype = SOCK_STREAM;
    if (strchr(host, ':') == NULL && !isdigit((unsigned char) host[0])
        && getaddrinfo(host, NULL, &hints, &res) == 0) {
        for (struct addrinfo *r = res; r && !found; r = r->ai_next) {
            char got[INET6_ADDRSTRLEN];
            const void *a =
                r->ai_family == AF_INET
                    ? (const void *) &((struct sockaddr_in *) r->ai_addr)
                          ->sin_addr
                    : (const void *) &((struct sockaddr_in6 *) r->ai_addr)
                          ->sin6_addr;

            if ((r->ai_family == AF_INET || r->ai_family == AF_INET6)
                && inet_ntop(r->ai_family, a, got, sizeof(got)) != NULL)
                found = strcmp(got, text) == 0;
        }
        freeaddrinfo(res);
    }
    mem_free(host);
    return found;
}

/* listening_on - interface address I is one of inet_interfaces (IFS):
 * "all", "loopback-only", or an address (IPv6 with or without brackets) */
static bool listening_on(const struct ifaddrs *i, const struct argv *ifs)
{
    char text[INET6_ADDRSTRLEN];
    const void *addr =
        i->ifa_addr->sa_family == AF_INET
            ? (const void *) &((const struct sockaddr_in *) i->ifa_addr)
                  ->sin_addr
            : (const void *) &((const struct sockaddr_in6 *) i->ifa_addr)
                  ->sin6_addr;

    if (inet_ntop(i->ifa_addr->sa_family, addr, text, sizeof(text)) == NULL)
        return false;
    for (size_t k = 0; k < ifs->argc; k++) {
        struct span want = span_of(ifs->argv[k]);

        if (want.len >= 2 && want.p[0] == '[' && want.p[want.len - 1] == ']')
            want = span_make(want.p + 1, want.len - 2);
        if (span_caseeq(want, "all"))
            return true;
        if (span_caseeq(want, "loopback-only") && (i->ifa_flags & IFF_LOOPBACK))
            return true;
        if (span_caseeq(want, text))
            return true;
        if (resolves_to(want, text))
            return true;
    }
    return false;
}

/* dyn_mynetworks - the interface networks in mynetworks_style */
static void dyn_mynetworks(struct buf *out)
{
    const char *style = conf_str("mynetworks_style");
    const char *protos = conf_str("inet_protocols");
    bool host = strcasecmp(style, "host") == 0;
    bool klass = strcasecmp(style, "class") == 0;
    bool v4 = strstr(protos, "all") || strstr(protos, "ipv4");
    bool v6 = strstr(protos, "all") || strstr(protos, "ipv6");
    struct ifaddrs *ifa = NULL;
    struct argv *ifs = conf_list("inet_interfaces");

    buf_reset(out);
    if (getifaddrs(&ifa) != 0) {
        argv_free(ifs);
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        int af = pass == 0 ? AF_INET : AF_INET6;

        if ((af == AF_INET && !v4) || (af == AF_INET6 && !v6))
            continue;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
            unsigned char a[16];
            size_t len;
            int bits;

            if (i->ifa_addr == NULL || i->ifa_addr->sa_family != af
                || !(i->ifa_flags & IFF_UP) || !listening_on(i, ifs))
                continue;
            if (af == AF_INET) {
                len = 4;
                memcpy(a, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, 4);
                bits =
                    i->ifa_netmask
                        ? mask_bits((unsigned char *) &(
                                        (struct sockaddr_in *) i->ifa_netmask)
                                        ->sin_addr,
                                    4)
                        : 32;
                if (klass)
                    bits = a[0] < 128 ? 8 : a[0] < 192 ? 16 : 24;
            } else {
                len = 16;
                memcpy(a, &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr,
                       16);
                bits =
                    i->ifa_netmask
                        ? mask_bits((unsigned char *) &(
                                        (struct sockaddr_in6 *) i->ifa_netmask)
                                        ->sin6_addr,
                                    16)
                        : 128;
            }
            if (host)
                bits = (int) len * 8;
            apply_mask(a, len, bits);
            add_net(out, af, a, bits);
        }
    }
    freeifaddrs(ifa);
    argv_free(ifs);
}

/* dyn_default - compute the host-dependent default of NAME */
static const char *dyn_default(const char *name)
{
    struct htable_entry *e = htable_locate(dyn, name);
    struct buf b = BUF_INIT;

    if (e)
        return e->value;
    /* Enter a placeholder first: a default that refers to itself through
     * another parameter ends there instead of recursing forever. */
    htable_enter(dyn, name, mem_strdup(""));
    if (strcmp(name, "myhostname") == 0)
        dyn_myhostname(&b);
    else if (strcmp(name, "mydomain") == 0)
        dyn_mydomain(&b);
    else if (strcmp(name, "mynetworks") == 0)
        dyn_mynetworks(&b);
    else if (strcmp(name, "process_id") == 0)
        buf_setf(&b, "%ld", (long) getpid());
    else if (strcmp(name, "process_name") == 0)
        buf_set(&b, msg_progname());
    else if (strcmp(name, "service_name") == 0)
        buf_set(&b, service_name_value ? service_name_value : "");
    else if (strcmp(name, "mail_version") == 0)
        buf_set(&b, ULAK_VERSION);
    else if (strcmp(name, "config_directory") == 0)
        buf_set(&b, CONF_DEFAULT_DIR);
    e = htable_locate(dyn, name);
    mem_free(e->value);
    e->value = buf_steal(&b);
    return e->value;
}

/* conf_default - the default text of NAME */
const char *conf_default(const char *name)
{
    const struct param *p = params_find(name);

    ensure_init();
    if (p)
        return (p->flags & PARAM_DYN) ? dyn_default(name) : p->def;
    return htable_find(svc, name);
}

/* conf_raw - set text, else default text, else NULL */
const char *conf_raw(const char *name)
{
    struct val *v;
    const struct param *p;

    ensure_init();
    if (!defaults_only && (v = htable_find(vals, name)) != NULL
        && ((p = params_find(name)) == NULL || !(p->flags & PARAM_RO)))
        return v->text;
    return conf_default(name);
}

/* conf_set_text - the text NAME is set to, or NULL */
const char *conf_set_text(const char *name)
{
    struct val *v;

    ensure_init();
    return (v = htable_find(vals, name)) != NULL ? v->text : NULL;
}

/* conf_is_set - defined in main.cf, by -c or by -o */
bool conf_is_set(const char *name, int *line)
{
    struct val *v;

    ensure_init();
    if ((v = htable_find(vals, name)) == NULL)
        return false;
    if (line)
        *line = v->line;
    return true;
}

/*
 * Expansion.  A cursor walks a span; errors go to x->why in Postfix's
 * words ("unexpected input at: "...a}>>>:{b}"") and stop the expansion.
 */
struct xctx {
    int depth;
    struct buf *why;
    conf_undef_fn undef;
    bool shallow;    /* conf_scan: do not expand the values of names */
    struct span cur; /* the text being expanded, for messages */
};

static int expand_span(struct span text, struct buf *out, struct xctx *x);
static int expand_text(struct span text, struct buf *out, struct xctx *x);

/* fail_at - "WHAT at: "...BEFORE>>>AFTER"" */
static int fail_at(struct xctx *x, const char *what, const char *tok,
                   const char *at, const char *end)
{
    buf_setf(x->why, "%s at: \"...%.*s>>>%.*s\"", what, (int) (at - tok), tok,
             (int) (end - at), at);
    return -1;
}

/* expand_name - append the expanded value of NAME */
static int expand_name(const char *name, struct buf *out, struct xctx *x)
{
    const char *raw = conf_raw(name);
    int rc;

    if (raw == NULL) {
        if (x->undef)
            x->undef(name);
        return 0;
    }
    if (x->shallow)
        return 0;
    if (x->depth + 1 >= CONF_MAX_DEPTH) {
        buf_setf(x->why, "unreasonable macro call nesting: \"%s\"", name);
        return -1;
    }
    x->depth++;
    rc = expand_span(span_of(raw), out, x);
    x->depth--;
    return rc;
}

/* skip_ws - advance P past white space up to END */
static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char) *p))
        p++;
    return p;
}

/* braced - P at '{': the inside of the balanced group; *NEXT after '}' */
static int braced(const char *p, const char *end, struct span *in,
                  const char **next)
{
    int level = 0;

    for (const char *q = p; q < end; q++) {
        if (*q == '{')
            level++;
        else if (*q == '}' && --level == 0) {
            /* White space inside the braces is not part of the value. */
            *in = span_trim(span_make(p + 1, (size_t) (q - p - 1)));
            *next = q + 1;
            return 0;
        }
    }
    return -1;
}

/* level_ok - LEVEL is a compatibility level: "N", "N.N" or "N.N.N" */
static bool level_ok(const char *level)
{
    int parts = 0;

    for (;;) {
        if (!isdigit((unsigned char) *level))
            return false;
        while (isdigit((unsigned char) *level))
            level++;
        if (++parts > 3)
            return false;
        if (*level == 0)
            return true;
        if (*level++ != '.')
            return false;
    }
}

/* level_cmp - compare compatibility levels "3.6" and "2" */
static int level_cmp(const char *a, const char *b)
{
    for (int i = 0; i < 3; i++) {
        unsigned long na = 0, nb = 0;

        while (isdigit((unsigned char) *a) && na < 1000000)
            na = na * 10 + (unsigned long) (*a++ - '0');
        while (isdigit((unsigned char) *b) && nb < 1000000)
            nb = nb * 10 + (unsigned long) (*b++ - '0');
        if (na != nb)
            return na < nb ? -1 : 1;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
    }
    return 0;
}

/* all_digits - non-empty and only digits */
static bool all_digits(const char *s)
{
    if (*s == 0)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char) *s))
            return false;
    return true;
}

/* compare - evaluate "{a} OP {b}" */
static int compare(const char *a, const char *op, size_t oplen, bool level,
                   const char *b)
{
    int cmp;

    if (level) {
        cmp = level_cmp(a, b);
    } else if (all_digits(a) && all_digits(b)) {
        /* Numbers compare by value: strip leading zeros, then by length. */
        while (*a == '0' && a[1])
            a++;
        while (*b == '0' && b[1])
            b++;
        cmp = strlen(a) != strlen(b) ? (strlen(a) < strlen(b) ? -1 : 1)
                                     : strcmp(a, b);
    } else {
        cmp = strcmp(a, b);
    }
    if (oplen == 2 && op[0] == '=')
        return cmp == 0;
    if (oplen == 2 && op[0] == '!')
        return cmp != 0;
    if (oplen == 2 && op[0] == '<')
        return cmp <= 0;
    if (oplen == 2 && op[0] == '>')
        return cmp >= 0;
    if (op[0] == '<')
        return cmp < 0;
    return cmp > 0;
}

/* conditional - "?value", "?{a}:{b}", ":value" after a test that gave
 * NONEMPTY; P points at '?' or ':' */
static int conditional(const char *p, const char *end, bool nonempty,
                       struct buf *out, struct xctx *x)
{
    char op = *p++;
    struct span v1, v2 = {"", 0};
    const char *q = skip_ws(p, end);

    if (q < end && *q == '{') {
        const char *next;

        if (braced(q, end, &v1, &next) < 0) {
            buf_setf(x->why, "unmatched '{' at: \"%.*s\"", (int) (end - q), q);
            return -1;
        }
        q = skip_ws(next, end);
        if (q < end) {
            if (op != '?')
                return fail_at(x, "unexpected input", v1.p, q, end);
            if (*q != ':')
                return fail_at(x, "\":\" expected", v1.p, q, end);
            q = skip_ws(q + 1, end);
            if (q < end && *q == '{') {
                if (braced(q, end, &v2, &next) < 0) {
                    buf_setf(x->why, "unmatched '{' at: \"%.*s\"",
                             (int) (end - q), q);
                    return -1;
                }
                q = skip_ws(next, end);
                if (q < end)
                    return fail_at(x, "unexpected input", v2.p, q, end);
            } else {
                v2 = span_make(q, (size_t) (end - q));
            }
        }
    } else {
        v1 = span_make(p, (size_t) (end - p));
    }
    if (op == '?')
        return expand_span(nonempty ? v1 : v2, out, x);
    return nonempty ? 0 : expand_span(v1, out, x);
}

/* relational - "{a} OP {b} [?...|:...]" inside ${...} */
static int relational(const char *p, const char *end, struct buf *out,
                      struct xctx *x)
{
    struct span a, b;
    const char *next;
    const char *op;
    size_t oplen;
    bool level = false;
    struct buf va = BUF_INIT, vb = BUF_INIT;
    int rc = -1;
    int result;

    if (braced(p, end, &a, &next) < 0) {
        buf_setf(x->why, "unmatched '{' at: \"%.*s\"", (int) (end - p), p);
        return -1;
    }
    op = skip_ws(next, end);
    if (op + 1 < end && strchr("=!<>", op[0]) && op[1] == '=')
        oplen = 2;
    else if (op < end && (op[0] == '<' || op[0] == '>'))
        oplen = 1;
    else
        return fail_at(x,
                       "\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" "
                       "or \">\" expected",
                       a.p, op, end);
    p = op + oplen;
    if ((size_t) (end - p) >= 5 && strncmp(p, "level", 5) == 0) {
        level = true;
        p += 5;
    }
    if (p < end && !isspace((unsigned char) *p) && *p != '{') {
        const char *q = p;

        /* The operator is a word: show the rest of it, as Postfix does. */
        while (q < end && isalnum((unsigned char) *q))
            q++;
        return fail_at(x, "bad operator suffix", op, p, q > p ? q : p + 1);
    }
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return fail_at(x, "\"{\" expected", op, p, end);
    if (braced(p, end, &b, &next) < 0) {
        buf_setf(x->why, "unmatched '{' at: \"%.*s\"", (int) (end - p), p);
        return -1;
    }
    if (expand_span(a, &va, x) < 0 || expand_span(b, &vb, x) < 0)
        goto done;
    /* A shallow scan has not expanded the operands: nothing to judge. */
    if (level && !x->shallow
        && (!level_ok(buf_str(&va)) || !level_ok(buf_str(&vb)))) {
        buf_setf(x->why, "malformed compatibility level syntax: \"%s\"",
                 level_ok(buf_str(&va)) ? buf_str(&vb) : buf_str(&va));
        goto done;
    }
    result = compare(buf_str(&va), op, oplen, level, buf_str(&vb));
    p = skip_ws(next, end);
    if (p >= end) {
        if (result)
            buf_cat(out, "true");
        rc = 0;
    } else if (*p == '?' || *p == ':') {
        rc = conditional(p, end, result, out, x);
    } else {
        rc = fail_at(x, "unexpected input", b.p, p, end);
    }
done:
    buf_fini(&va);
    buf_fini(&vb);
    return rc;
}

/* expand_braces - the inside of ${...} or $(...) */
static int expand_braces(struct span body, struct buf *out, struct xctx *x)
{
    const char *end = body.p + body.len;
    const char *p = skip_ws(body.p, end);
    const char *name;
    char *n;
    int rc;

    if (p < end && *p == '{')
        return relational(p, end, out, x);
    if (body.len == 0) {
        buf_setf(x->why, "empty macro name: \"%.*s\"", (int) x->cur.len,
                 x->cur.p);
        return -1;
    }
    /* As in Postfix, a blank name ("${ }", "${:x}") is a name, one that is
     * never defined. */
    for (name = p; p < end && is_name_char(*p); p++)
        ;
    if (p < end && !isspace((unsigned char) *p) && *p != '?' && *p != ':')
        return fail_at(x, "attribute name syntax error", name, p, end);
    n = mem_strndup(name, (size_t) (p - name));
    p = skip_ws(p, end);
    if (p >= end) {
        rc = expand_name(n, out, x);
    } else if (*p == '?' || *p == ':') {
        const char *raw = conf_raw(n);

        if (raw == NULL && x->undef)
            x->undef(n);
        rc = conditional(p, end, raw != NULL && *raw != 0, out, x);
    } else {
        rc = fail_at(x, "attribute name syntax error", name, p, end);
    }
    mem_free(n);
    return rc;
}

/* expand_span - expand every $ form in TEXT (the text that messages
 * quote) */
static int expand_span(struct span text, struct buf *out, struct xctx *x)
{
    struct span saved = x->cur;
    int rc;

    x->cur = text;
    rc = expand_text(text, out, x);
    x->cur = saved;
    return rc;
}

/* expand_text - the work of expand_span */
static int expand_text(struct span text, struct buf *out, struct xctx *x)
{
    const char *p = text.p;
    const char *end = text.p + text.len;

    while (p < end) {
        const char *dollar = memchr(p, '$', (size_t) (end - p));

        if (dollar == NULL) {
            buf_catn(out, p, (size_t) (end - p));
            break;
        }
        buf_catn(out, p, (size_t) (dollar - p));
        p = dollar + 1;
        if (p < end && *p == '$') {
            buf_catc(out, '$');
            p++;
        } else if (p < end && (*p == '{' || *p == '(')) {
            char open = *p;
            char close = open == '{' ? '}' : ')';
            int level = 0;
            const char *q;

            for (q = p; q < end; q++) {
                if (*q == open)
                    level++;
                else if (*q == close && --level == 0)
                    break;
            }
            if (q >= end) {
                buf_setf(x->why, "truncated macro reference: \"%.*s\"",
                         (int) text.len, text.p);
                return -1;
            }
            if (expand_braces(span_make(p + 1, (size_t) (q - p - 1)), out, x)
                < 0)
                return -1;
            p = q + 1;
        } else if (p < end && is_name_char(*p)) {
            const char *s = p;
            char *n;
            int rc;

            while (p < end && is_name_char(*p))
                p++;
            n = mem_strndup(s, (size_t) (p - s));
            rc = expand_name(n, out, x);
            mem_free(n);
            if (rc < 0)
                return -1;
        } else {
            buf_setf(x->why, "empty macro name: \"%.*s\"", (int) text.len,
                     text.p);
            return -1;
        }
    }
    return 0;
}

/* conf_expand - expand TEXT into OUT */
int conf_expand(const char *text, struct buf *out, struct buf *why,
                conf_undef_fn undef)
{
    struct xctx x = {0, why, undef, false, {"", 0}};

    ensure_init();
    return expand_span(span_of(text), out, &x);
}

/* conf_scan - parse TEXT one level deep, reporting undefined names */
int conf_scan(const char *text, struct buf *why, conf_undef_fn undef)
{
    struct xctx x = {0, why, undef, true, {"", 0}};
    struct buf out = BUF_INIT;
    int rc;

    ensure_init();
    rc = expand_span(span_of(text), &out, &x);
    buf_fini(&out);
    return rc;
}

/* conf_is_raw - NAME's value holds run-time macros, not $parameters */
bool conf_is_raw(const char *name)
{
    const struct param *p = params_find(name);

    return p && (p->flags & PARAM_RAW);
}

/* conf_is_readonly - NAME cannot be set in main.cf */
bool conf_is_readonly(const char *name)
{
    const struct param *p = params_find(name);

    return p && (p->flags & PARAM_RO);
}

/* conf_str - expanded value, cached until the next change */
const char *conf_str(const char *name)
{
    struct htable_entry *e;
    const char *raw;
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;

    ensure_init();
    if ((e = htable_locate(cache, name)) != NULL)
        return e->value;
    if ((raw = conf_raw(name)) == NULL)
        return "";
    if (conf_is_raw(name)) {
        buf_set(&out, raw);
    } else if (conf_expand(raw, &out, &why, NULL) < 0) {
        msg_warn("%s: %s", name, buf_str(&why));
        buf_reset(&out);
    }
    buf_fini(&why);
    e = htable_enter(cache, name, buf_steal(&out));
    return e->value;
}

/* conf_split_list - split TEXT on white space and commas; a "{ ... }"
 * group (with what is attached to it, as in "inline:{ a=b, c=d }") stays
 * one element */
struct argv *conf_split_list(const char *text)
{
    struct argv *a = argv_new();
    const char *p = text;

    for (;;) {
        const char *s;
        int level = 0;

        while (*p && (isspace((unsigned char) *p) || *p == ','))
            p++;
        if (*p == 0)
            break;
        for (s = p; *p; p++) {
            if (*p == '{')
                level++;
            else if (*p == '}' && level > 0)
                level--;
            else if (level == 0 && (isspace((unsigned char) *p) || *p == ','))
                break;
        }
        argv_addn(a, s, (size_t) (p - s));
    }
    return a;
}

/* conf_list - the expanded value of NAME as a list */
struct argv *conf_list(const char *name)
{
    return conf_split_list(conf_str(name));
}

/*
 * Typed values.
 */

/* conf_parse_long - a whole decimal number */
int conf_parse_long(const char *value, long *out)
{
    return str_to_long(value, out);
}

/* conf_parse_time - number with an optional s/m/h/d/w unit */
int conf_parse_time(const char *value, char unit, long *out)
{
    size_t len = strlen(value);
    char num[32];
    long n, mult;
    char u = unit;

    if (len == 0 || len >= sizeof(num))
        return -1;
    if (!isdigit((unsigned char) value[len - 1])) {
        u = (char) tolower((unsigned char) value[len - 1]);
        len--;
    }
    if (len == 0)
        return -1;
    memcpy(num, value, len);
    num[len] = 0;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char) num[i]))
            return -1;
    if (str_to_long(num, &n) < 0)
        return -1;
    switch (u) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        case 'w':
            mult = 604800;
            break;
        default:
            return -1;
    }
    if (n > LONG_MAX / mult)
        return -1;
    *out = n * mult;
    return 0;
}

/* conf_parse_bool - "yes" or "no", any case */
int conf_parse_bool(const char *value, bool *out)
{
    if (strcasecmp(value, "yes") == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(value, "no") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

/* check_value - parse VALUE as P's type; 0 with *N, or -1 with WHY */
static int check_value(const struct param *p, const char *value, long *n,
                       struct buf *why)
{
    bool b;

    switch (p->type) {
        case PARAM_STR:
        case PARAM_LIST:
            return 0;
        case PARAM_BOOL:
            if (conf_parse_bool(value, &b) < 0) {
                buf_setf(why, "\"%s\" is not a boolean (yes or no)", value);
                return -1;
            }
            *n = b;
            return 0;
        case PARAM_INT:
        case PARAM_SIZE:
            if (conf_parse_long(value, n) < 0) {
                buf_setf(why, "\"%s\" is not %s", value,
                         p->type == PARAM_SIZE ? "a size" : "a number");
                return -1;
            }
            break;
        case PARAM_TIME:
            if (conf_parse_time(value, p->unit, n) < 0) {
                buf_setf(why, "\"%s\" is not a time", value);
                return -1;
            }
            break;
    }
    if (*n < p->min) {
        buf_setf(why, "\"%s\" is below the minimum of %ld", value, p->min);
        return -1;
    }
    if (*n > p->max) {
        buf_setf(why, "\"%s\" is above the maximum of %ld", value, p->max);
        return -1;
    }
    return 0;
}

/* typed - the value of NAME as a number of TYPE; the default when the
 * value does not parse (conf_check reports that) */
static long typed(const char *name, enum param_type type)
{
    const struct param *p = params_find(name);
    struct buf why = BUF_INIT;
    struct buf def = BUF_INIT;
    long n = 0;

    if (p == NULL || p->type != type)
        msg_panic("conf: %s is not a %s parameter", name,
                  params_type_name(type));
    if (check_value(p, conf_str(name), &n, &why) < 0) {
        struct buf ewhy = BUF_INIT;

        n = 0;
        if (conf_expand(p->def, &def, &ewhy, NULL) == 0)
            (void) check_value(p, buf_str(&def), &n, &ewhy);
        buf_fini(&ewhy);
    }
    buf_fini(&why);
    buf_fini(&def);
    return n;
}

/* conf_bool - boolean value */
bool conf_bool(const char *name)
{
    return typed(name, PARAM_BOOL) != 0;
}

/* conf_int - integer value */
long conf_int(const char *name)
{
    return typed(name, PARAM_INT);
}

/* conf_time - time value in seconds */
long conf_time(const char *name)
{
    return typed(name, PARAM_TIME);
}

/* conf_size - size value in bytes */
long conf_size(const char *name)
{
    return typed(name, PARAM_SIZE);
}

/*
 * Which user-defined names are "used" (postconf does not call them unused).
 */

/* Legacy main.cf parameters of ldap:NAME etc. tables (ldap_table(5),
 * mysql_table(5), pgsql_table(5), sqlite_table(5): OBSOLETE MAIN.CF
 * PARAMETERS), checked against Postfix 3.7's postconf. */
static const char *const legacy_ldap[] = {
    "bind",
    "bind_dn",
    "bind_pw",
    "cache",
    "cache_expiry",
    "cache_size",
    "chase_referrals",
    "debuglevel",
    "dereference",
    "domain",
    "expansion_limit",
    "leaf_result_attribute",
    "query_filter",
    "recursion_limit",
    "result_attribute",
    "result_format",
    "sasl_authz_id",
    "sasl_mechs",
    "sasl_minssf",
    "sasl_realm",
    "scope",
    "search_base",
    "server_host",
    "server_port",
    "size_limit",
    "special_result_attribute",
    "start_tls",
    "terminal_result_attribute",
    "timeout",
    "tls_ca_cert_dir",
    "tls_ca_cert_file",
    "tls_cert",
    "tls_cipher_suite",
    "tls_key",
    "tls_random_file",
    "tls_require_cert",
    "version",
    NULL,
};
static const char *const legacy_mysql[] = {
    "additional_conditions",
    "dbname",
    "domain",
    "expansion_limit",
    "hosts",
    "option_file",
    "option_group",
    "password",
    "query",
    "require_result_set",
    "result_format",
    "select_field",
    "table",
    "tls_CAfile",
    "tls_CApath",
    "tls_cert_file",
    "tls_ciphers",
    "tls_key_file",
    "tls_verify_cert",
    "user",
    "where_field",
    NULL,
};
static const char *const legacy_pgsql[] = {
    "additional_conditions",
    "dbname",
    "domain",
    "expansion_limit",
    "hosts",
    "password",
    "query",
    "result_format",
    "select_field",
    "select_function",
    "table",
    "user",
    "where_field",
    NULL,
};
static const char *const legacy_sqlite[] = {
    "additional_conditions",
    "dbpath",
    "domain",
    "expansion_limit",
    "query",
    "result_format",
    "select_field",
    "table",
    "where_field",
    NULL,
};

/* legacy_suffixes - the legacy parameter list of table TYPE, or NULL */
static const char *const *legacy_suffixes(struct span type)
{
    if (span_eq(type, "ldap"))
        return legacy_ldap;
    if (span_eq(type, "mysql"))
        return legacy_mysql;
    if (span_eq(type, "pgsql"))
        return legacy_pgsql;
    if (span_eq(type, "sqlite"))
        return legacy_sqlite;
    return NULL;
}

/* text_has_table - TEXT names TYPE:PREFIX (not a file path) with a legacy
 * parameter list containing SUFFIX */
static bool text_has_table(const char *text, const char *name)
{
    for (const char *p = text; (p = strchr(p, ':')) != NULL; p++) {
        const char *t = p;
        const char *q = p + 1;
        const char *const *list;
        size_t plen;

        while (t > text && isalpha((unsigned char) t[-1]))
            t--;
        if (t > text && is_name_char(t[-1]))
            continue;
        if ((list = legacy_suffixes(span_make(t, (size_t) (p - t)))) == NULL)
            continue;
        while (is_name_char(*q) || *q == '-' || *q == '.')
            q++;
        plen = (size_t) (q - (p + 1));
        if (plen == 0 || strncmp(name, p + 1, plen) != 0 || name[plen] != '_')
            continue;
        for (; *list; list++)
            if (strcmp(name + plen + 1, *list) == 0)
                return true;
    }
    return false;
}

/* is_legacy_table_param - NAME is PREFIX_suffix for a ldap:PREFIX (etc.)
 * table named anywhere in main.cf */
static bool is_legacy_table_param(const char *name)
{
    struct htable_entry **list = htable_list(vals, false);
    bool found = false;

    for (struct htable_entry **e = list; *e && !found; e++)
        found = text_has_table(((struct val *) (*e)->value)->text, name);
    mem_free(list);
    return found;
}

/* is_service_param - NAME is a parameter that a master.cf service creates
 * (smtp-amavis_destination_concurrency_limit, spf_time_limit) */
static bool is_service_param(const char *name)
{
    return htable_find(svc, name) != NULL;
}

/* service_param_acted - NAME is a service parameter whose global default
 * ("$default_destination_concurrency_limit") ulak acts on: the qmgr reads
 * the per-service form wherever it reads the default */
static bool service_param_acted(const char *name)
{
    const char *def = htable_find(svc, name);
    const struct param *p = def && def[0] == '$' ? params_find(def + 1) : NULL;

    return p != NULL && (p->flags & PARAM_ACTED);
}

/* is_restriction_class - NAME is listed in smtpd_restriction_classes */
static bool is_restriction_class(const char *name)
{
    struct val *v = htable_find(vals, "smtpd_restriction_classes");
    struct argv *a;
    bool found = false;

    if (v == NULL)
        return false;
    a = argv_split(v->text, ", \t\r\n");
    for (size_t i = 0; i < a->argc && !found; i++)
        found = strcmp(a->argv[i], name) == 0;
    argv_free(a);
    return found;
}

/* conf_is_known - a parameter, or a user-defined name that is used */
bool conf_is_known(const char *name)
{
    ensure_init();
    if (params_find(name) || is_service_param(name))
        return true;
    if (!htable_find(vals, name))
        return false;
    return htable_locate(refs, name) != NULL || is_restriction_class(name)
           || is_legacy_table_param(name);
}

/* cmp_str - qsort strings */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* cmp_order - qsort entries by definition order */
static int cmp_order(const void *a, const void *b)
{
    const struct val *va = (*(struct htable_entry *const *) a)->value;
    const struct val *vb = (*(struct htable_entry *const *) b)->value;

    return va->order - vb->order;
}

/* conf_names - names for postconf's listings */
struct argv *conf_names(enum conf_names which)
{
    struct argv *a = argv_new();
    struct htable_entry **list;
    size_t count;
    const struct param *t;

    ensure_init();
    if (which == CONF_NAMES_SET) {
        size_t n = 0;

        list = htable_list(vals, false);
        while (list[n])
            n++;
        qsort(list, n, sizeof(*list), cmp_order);
        for (size_t i = 0; i < n; i++)
            argv_add(a, list[i]->key);
        mem_free(list);
        return a;
    }
    t = params_table(&count);
    for (size_t i = 0; i < count; i++)
        if (!(t[i].flags & PARAM_HIDDEN))
            argv_add(a, t[i].name);
    list = htable_list(svc, false);
    for (struct htable_entry **e = list; *e; e++)
        argv_add(a, (*e)->key);
    mem_free(list);
    if (which == CONF_NAMES_ALL) {
        list = htable_list(vals, false);
        for (struct htable_entry **e = list; *e; e++)
            if ((t = params_find((*e)->key)) != NULL
                    ? (t->flags & PARAM_HIDDEN) != 0
                    : !htable_find(svc, (*e)->key) && conf_is_known((*e)->key))
                argv_add(a, (*e)->key);
        mem_free(list);
    }
    qsort(a->argv, a->argc, sizeof(char *), cmp_str);
    return a;
}

/*
 * conf_check - every problem at once.
 */

/* Where the reference being checked is written, for check_undef. */
static const char *check_path;
static int check_line;
static const char *check_name;

/* check_undef - a main.cf value refers to a name that has no value */
static void check_undef(const char *name)
{
    msg_warn("%s:%d: %s: undefined parameter: %s", check_path, check_line,
             check_name, name);
}

/* conf_check - report syntax, type, bound, undefined, not-acted and unused
 * problems */
int conf_check(void)
{
    struct argv *names;
    const char *path = conf_main_cf();
    int errors = 0;

    ensure_init();
    for (size_t i = 0; i < syntax_check->argc; i++, errors++)
        msg_error("%s", syntax_check->argv[i]);
    names = conf_names(CONF_NAMES_SET);
    for (size_t i = 0; i < names->argc; i++) {
        const char *name = names->argv[i];
        struct val *v = htable_find(vals, name);
        const struct param *p = params_find(name);
        struct buf out = BUF_INIT;
        struct buf why = BUF_INIT;
        long n;

        if (v->line == 0)
            continue;
        if (p && (p->flags & PARAM_RO)) {
            msg_warn("%s:%d: %s: read-only parameter, setting ignored", path,
                     v->line, name);
            continue;
        }
        if (!(p && (p->flags & PARAM_RAW))) {
            /* Undefined names in this value itself (one level deep: a
             * deeper one is reported at the line that refers to it). */
            check_path = path;
            check_line = v->line;
            check_name = name;
            (void) conf_scan(v->text, &why, check_undef);
            buf_reset(&why);
        }
        if (p && (p->flags & PARAM_RAW)) {
            buf_set(&out, v->text);
        } else if (conf_expand(v->text, &out, &why, NULL) < 0) {
            msg_error("%s:%d: %s: %s", path, v->line, name, buf_str(&why));
            errors++;
        } else if (p && check_value(p, buf_str(&out), &n, &why) < 0) {
            msg_error("%s:%d: %s: %s", path, v->line, name, buf_str(&why));
            errors++;
        } else if (strcmp(name, "compatibility_level") == 0
                   && !level_ok(buf_str(&out))) {
            msg_error("%s:%d: %s: \"%s\" is not a compatibility level", path,
                      v->line, name, buf_str(&out));
            errors++;
        }
        if (p && !(p->flags & PARAM_ACTED))
            msg_warn("%s:%d: %s: accepted, not acted on yet by ulak", path,
                     v->line, name);
        else if (!p
                 && ((is_service_param(name) && !service_param_acted(name))
                     || is_legacy_table_param(name)))
            msg_warn("%s:%d: %s: accepted, not acted on yet by ulak", path,
                     v->line, name);
        else if (!conf_is_known(name) && !htable_locate(master_refs, name))
            msg_warn("%s: unused parameter: %s=%s", path, name, v->text);
        buf_fini(&out);
        buf_fini(&why);
    }
    argv_free(names);
    /* master.cf's -o settings: the same word for what ulak ignores. */
    for (size_t i = 0; i < master_opts->argc; i++) {
        const char *opt = master_opts->argv[i];
        const char *eq = strchr(opt, '=');
        char *name = mem_strndup(opt, eq ? (size_t) (eq - opt) : strlen(opt));
        const struct param *p = params_find(name);

        if (p && !(p->flags & PARAM_ACTED))
            msg_warn("master.cf: service %s: -o %s: accepted, not acted on "
                     "yet by ulak",
                     master_where->argv[i], name);
        mem_free(name);
    }
    return errors;
}
