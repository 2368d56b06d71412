/*
 * postconf_master - postconf -M, -F and -P: master.cf as Postfix prints it.
 *
 * The output is Postfix 3.7's, byte for byte: -M aligns the eight columns
 * at fixed positions (a long value pushes the rest right by one space) and,
 * with -f, folds the command at 80 columns with every "-o name=value" on a
 * line of its own; -F prints "service/type/field = value"; -P prints each
 * entry's -o parameters sorted by name, the last value of a name winning.
 * Requests are "service[/type[/field-or-parameter]]" where "*" or a missing
 * part matches anything; a request that prints nothing gets Postfix's
 * "unmatched request" warning.
 */
#include "postconf_master.h"

#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/msg.h"

#include "global/conf.h"
#include "global/master_cf.h"

/* Column start positions of postconf -M output. */
static const size_t column[8] = {0, 11, 17, 25, 33, 41, 49, 57};

/* postconf -Mf folds before a word that would reach this column. */
#define FOLD_WIDTH  80
#define FOLD_INDENT "    "

/* The attribute names of -F, in output order. */
static const char *const field_names[8] = {
    "service", "type",   "private",       "unprivileged",
    "chroot",  "wakeup", "process_limit", "command",
};

/* One parsed request: up to three parts, NULL meaning "any". */
struct request {
    const char *arg;
    char *part[3];
    bool matched;
};

/* load - read conf_dir()/master.cf; fatal as in Postfix when that fails */
static struct master_cf *load(void)
{
    struct buf path = BUF_INIT;
    struct buf why = BUF_INIT;

    buf_init(&path, 0);
    buf_init(&why, 0);
    buf_setf(&path, "%s/master.cf", conf_dir());
    struct master_cf *cf = master_cf_load(buf_str(&path), &why);
    if (cf == NULL)
        msg_fatal("%s", buf_str(&why));
    buf_fini(&path);
    buf_fini(&why);
    return cf;
}

/* postconf_master_verify - fatal when master.cf exists but does not parse */
void postconf_master_verify(void)
{
    master_cf_free(load());
}

/* parse_requests - split each NAMES[i] at '/' (empty parts are skipped, as
 * Postfix does) into at most MAXPARTS parts; USAGE is the fatal text */
static struct request *parse_requests(char **names, int count, int maxparts,
                                      const char *usage)
{
    struct request *req =
        mem_calloc(count > 0 ? (size_t) count : 1, sizeof(*req));

    for (int i = 0; i < count; i++) {
        const char *s = names[i];
        int n = 0;

        req[i].arg = s;
        if (s[0] == '/' || s[0] == 0)
            msg_fatal("%s", usage);
        while (*s) {
            size_t len = strcspn(s, "/");
            if (len > 0) {
                if (n >= maxparts)
                    msg_fatal("%s", usage);
                char *p = mem_strndup(s, len);
                if (strchr(p, '*') != NULL && strcmp(p, "*") != 0)
                    msg_fatal("%s", usage);
                if (strcmp(p, "*") == 0) {
                    mem_free(p);
                    p = NULL;
                }
                req[i].part[n] = p;
                n++;
            }
            s += len;
            if (*s == '/')
                s++;
        }
    }
    return req;
}

/* free_requests - release what parse_requests made */
static void free_requests(struct request *req, int count)
{
    for (int i = 0; i < count; i++) {
        for (int j = 0; j < 3; j++)
            mem_free(req[i].part[j]);
    }
    mem_free(req);
}

/* report_unmatched - Postfix's warning for each request that printed
 * nothing */
static void report_unmatched(const struct request *req, int count)
{
    fflush(stdout);
    for (int i = 0; i < count; i++) {
        if (!req[i].matched)
            msg_warn("unmatched request: \"%s\"", req[i].arg);
    }
}

/* part_match - does request part P (NULL: any) match VALUE? */
static bool part_match(const char *p, const char *value)
{
    return p == NULL || strcmp(p, value) == 0;
}

/* entry_match - does R's service/type match E? */
static bool entry_match(const struct request *r, const struct master_ent *e)
{
    return part_match(r->part[0], e->service)
           && part_match(r->part[1], e->type_name);
}

/* ent_fields - the seven column values of E (borrowed) */
static void ent_fields(const struct master_ent *e, const char *f[7])
{
    f[0] = e->service;
    f[1] = e->type_name;
    f[2] = e->private_;
    f[3] = e->unpriv;
    f[4] = e->chroot;
    f[5] = e->wakeup;
    f[6] = e->maxproc;
}

/* format_entry - one -M entry in OUT, folded when FOLD.  Postfix's folding:
 * "-o value" (and the other units, see master_cf.h) on a line of its own;
 * any other word goes on the current line unless the line, plus a space,
 * plus the word's length without the braces that printing adds, would pass
 * column 79; a word starts a new line without a space, and an empty word
 * does not count as the start of a line. */
static void format_entry(const struct master_ent *e, bool fold, struct buf *out)
{
    const char *f[7];
    size_t line_start = buf_len(out);
    bool break_next = false;
    bool has_text = true;

    ent_fields(e, f);
    for (size_t i = 0; i < 8; i++) {
        if (i > 0) {
            size_t at = buf_len(out) - line_start;
            do {
                buf_catc(out, ' ');
                at++;
            } while (at < column[i]);
        }
        if (i < 7)
            buf_cat(out, f[i]);
        else
            master_ent_format_arg(e, 0, out);
    }
    for (size_t i = 1; i < e->command->argc; i++) {
        bool unit = e->argfl[i] == MASTER_ARG_OPTION && i + 1 < e->command->argc
                    && e->argfl[i + 1] == MASTER_ARG_OPTVAL;
        size_t cur = buf_len(out) - line_start;
        size_t len = strlen(e->command->argv[i]);
        if (fold && (unit || break_next || cur + 1 + len >= FOLD_WIDTH)) {
            buf_catc(out, '\n');
            line_start = buf_len(out);
            buf_cat(out, FOLD_INDENT);
            has_text = false;
        }
        if (has_text || !fold)
            buf_catc(out, ' ');
        master_ent_format_arg(e, i, out);
        if (len > 0)
            has_text = true;
        if (unit) {
            buf_catc(out, ' ');
            master_ent_format_arg(e, i + 1, out);
            has_text = true;
            i++;
        }
        break_next = unit;
    }
    buf_catc(out, '\n');
}

/* postconf_master_entries - postconf -M */
int postconf_master_entries(char **names, int count, bool fold)
{
    struct master_cf *cf = load();
    struct request *req = parse_requests(
        names, count, 2, "-M option requires service_name[/type]");
    struct buf out = BUF_INIT;

    buf_init(&out, 0);
    for (struct master_ent *e = cf->head; e; e = e->next) {
        if (count == 0)
            format_entry(e, fold, &out);
        for (int i = 0; i < count; i++) {
            if (entry_match(&req[i], e)) {
                req[i].matched = true;
                format_entry(e, fold, &out);
            }
        }
        fwrite(buf_str(&out), 1, buf_len(&out), stdout);
        buf_reset(&out);
    }
    report_unmatched(req, count);
    buf_fini(&out);
    free_requests(req, count);
    master_cf_free(cf);
    return 0;
}

/* print_field - "service/type/NAME = value" for field number I */
static void print_field(const struct master_ent *e, size_t i, struct buf *out)
{
    const char *f[7];

    ent_fields(e, f);
    buf_cat(out, e->service);
    buf_catc(out, '/');
    buf_cat(out, e->type_name);
    buf_catf(out, "/%s = ", field_names[i]);
    if (i < 7)
        buf_cat(out, f[i]);
    else
        master_ent_format_command(e, out);
    buf_catc(out, '\n');
}

/* postconf_master_fields - postconf -F */
int postconf_master_fields(char **names, int count)
{
    struct master_cf *cf = load();
    struct request *req = parse_requests(
        names, count, 3, "-F option requires service_name[/type[/field]]");
    struct buf out = BUF_INIT;

    for (int i = 0; i < count; i++) {
        const char *name = req[i].part[2];
        bool ok = name == NULL;
        for (size_t j = 0; j < 8 && !ok; j++)
            ok = strcmp(name, field_names[j]) == 0;
        if (!ok)
            msg_fatal("invalid service attribute name: \"%s\"", name);
    }
    buf_init(&out, 0);
    for (struct master_ent *e = cf->head; e; e = e->next) {
        for (int i = 0; i < (count ? count : 1); i++) {
            if (count > 0 && !entry_match(&req[i], e))
                continue;
            const char *name = count > 0 ? req[i].part[2] : NULL;
            for (size_t j = 0; j < 8; j++) {
                if (name == NULL || strcmp(name, field_names[j]) == 0)
                    print_field(e, j, &out);
            }
            if (count > 0)
                req[i].matched = true;
        }
        fwrite(buf_str(&out), 1, buf_len(&out), stdout);
        buf_reset(&out);
    }
    report_unmatched(req, count);
    buf_fini(&out);
    free_requests(req, count);
    master_cf_free(cf);
    return 0;
}

/* opt_cmp - qsort order of -P parameters: by name */
static int opt_cmp(const void *a, const void *b)
{
    const struct master_opt *x = *(const struct master_opt *const *) a;
    const struct master_opt *y = *(const struct master_opt *const *) b;

    return strcmp(x->name, y->name);
}

/* same_name - do A and B have the same service and type? */
static bool same_name(const struct master_ent *a, const struct master_ent *b)
{
    return strcmp(a->service, b->service) == 0
           && strcmp(a->type_name, b->type_name) == 0;
}

/* sorted_opts - the -o parameters that postconf -P shows for E: one per
 * name, sorted, an owned array of borrowed pointers.  Postfix keeps one
 * parameter set per service/type: the first entry with -o parameters
 * creates it, every entry of that name parsed from then on shares it, and
 * the parameters of all of them go into it (a later value wins). */
static const struct master_opt **sorted_opts(const struct master_cf *cf,
                                             const struct master_ent *e,
                                             size_t *count)
{
    bool shared = false;
    size_t total = 0;
    size_t k = 0;

    for (const struct master_ent *x = cf->head; x; x = x->next) {
        if (same_name(x, e)) {
            if (x->nopts > 0 && !shared)
                shared = true;
            total += x->nopts;
        }
        if (x == e && !shared)
            break;
    }
    const struct master_opt **v = mem_calloc(total ? total : 1, sizeof(*v));
    for (const struct master_ent *x = cf->head; shared && x; x = x->next) {
        if (!same_name(x, e))
            continue;
        for (size_t i = 0; i < x->nopts; i++) {
            size_t j;
            for (j = 0; j < k && strcmp(v[j]->name, x->opts[i].name) != 0; j++)
                continue;
            v[j] = &x->opts[i];
            if (j == k)
                k++;
        }
    }
    qsort(v, k, sizeof(*v), opt_cmp);
    *count = k;
    return v;
}

/* cat_words - " " and VALUE with each run of blanks as one space, the
 * way postconf -P prints a value */
static void cat_words(struct buf *out, const char *value)
{
    const char *p = value;

    while (*p) {
        size_t skip = strspn(p, " \t\r\n");
        size_t len = strcspn(p + skip, " \t\r\n");
        if (len > 0) {
            buf_catc(out, ' ');
            buf_catn(out, p + skip, len);
        }
        p += skip + len;
    }
}

/* postconf_master_params - postconf -P */
int postconf_master_params(char **names, int count)
{
    struct master_cf *cf = load();
    struct request *req = parse_requests(
        names, count, 3, "-P option requires service_name[/type[/parameter]]");
    struct buf out = BUF_INIT;

    buf_init(&out, 0);
    for (struct master_ent *e = cf->head; e; e = e->next) {
        size_t n;
        const struct master_opt **v = sorted_opts(cf, e, &n);
        for (int i = 0; i < (count ? count : 1); i++) {
            if (count > 0 && !entry_match(&req[i], e))
                continue;
            const char *name = count > 0 ? req[i].part[2] : NULL;
            for (size_t j = 0; j < n; j++) {
                if (name != NULL && strcmp(name, v[j]->name) != 0)
                    continue;
                buf_cat(&out, e->service);
                buf_catc(&out, '/');
                buf_cat(&out, e->type_name);
                buf_catf(&out, "/%s =", v[j]->name);
                cat_words(&out, v[j]->value);
                buf_catc(&out, '\n');
                if (count > 0)
                    req[i].matched = true;
            }
        }
        mem_free(v);
        fwrite(buf_str(&out), 1, buf_len(&out), stdout);
        buf_reset(&out);
    }
    report_unmatched(req, count);
    buf_fini(&out);
    free_requests(req, count);
    master_cf_free(cf);
    return 0;
}
