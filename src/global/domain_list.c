/* domain_list - domain lists of main.cf parameters */
#include "domain_list.h"

#include <ctype.h>
#include <errno.h>
#include <strings.h>

#include "../lib/argv.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/str.h"
#include "conf.h"
#include "maps.h"

/* A /file pattern is read whole; anything larger is a configuration
 * mistake, not a domain list. */
#define DOMAIN_LIST_FILE_MAX  (4 * 1024 * 1024)
/* "/file" inside "/file": as deep as this, then an error. */
#define DOMAIN_LIST_DEPTH_MAX 5

struct pattern {
    bool negate;
    char *name;        /* owned, lower case; NULL for a table or error */
    struct maps *maps; /* owned; NULL for a name */
    char *error;       /* owned: why this member always fails, or NULL */
};

struct domain_list {
    char *param; /* owned */
    enum domain_list_mode mode;
    bool parent_matches;
    struct pattern *v; /* owned */
    size_t n;
    struct buf why; /* owned */
};

/* domain_list_parent_matches - PARAM in parent_domain_matches_subdomains */
bool domain_list_parent_matches(const char *param)
{
    struct argv *a = conf_list("parent_domain_matches_subdomains");
    bool found = false;

    for (size_t i = 0; i < a->argc && !found; i++)
        found = strcasecmp(a->argv[i], param) == 0;
    argv_free(a);
    return found;
}

/* add - append one pattern */
static struct pattern *add(struct domain_list *dl, bool negate)
{
    struct pattern *p;

    dl->v = mem_realloc(dl->v, (dl->n + 1) * sizeof(*dl->v));
    p = &dl->v[dl->n++];
    p->negate = negate;
    p->name = NULL;
    p->maps = NULL;
    p->error = NULL;
    return p;
}

static void add_patterns(struct domain_list *dl, const char *value, int depth);

/* add_file - the patterns in FILE */
static void add_file(struct domain_list *dl, const char *file, bool negate,
                     int depth)
{
    struct buf text = BUF_INIT;
    char chunk[4096];
    FILE *fp;
    size_t got;

    if (depth >= DOMAIN_LIST_DEPTH_MAX) {
        add(dl, negate)->error = mem_strdup("too many nested /file patterns");
        msg_warn("%s: %s: too many nested /file patterns", dl->param, file);
        return;
    }
    if ((fp = fopen(file, "r")) == NULL) {
        struct buf why = BUF_INIT;

        buf_setf(&why, "open %s: %m", file);
        msg_warn("%s: %s", dl->param, buf_str(&why));
        add(dl, negate)->error = buf_steal(&why);
        buf_fini(&why);
        return;
    }
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (buf_len(&text) + got > DOMAIN_LIST_FILE_MAX)
            break;
        buf_catn(&text, chunk, got);
    }
    if (ferror(fp) || !feof(fp)) {
        struct buf why = BUF_INIT;

        buf_setf(&why, "read %s: %s", file,
                 ferror(fp) ? "read error" : "file too large");
        msg_warn("%s: %s", dl->param, buf_str(&why));
        add(dl, negate)->error = buf_steal(&why);
        buf_fini(&why);
    } else {
        /* '#' comment lines are skipped, as Postfix reads such files. */
        struct buf clean = BUF_INIT;
        const char *p = buf_str(&text);

        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t) (nl - p) : strlen(p);
            const char *q = p;

            while (q < p + len && isspace((unsigned char) *q))
                q++;
            if (q < p + len && *q != '#') {
                buf_catn(&clean, p, len);
                buf_catc(&clean, ' ');
            }
            p += len + (nl != NULL);
        }
        if (!negate) {
            add_patterns(dl, buf_str(&clean), depth + 1);
        } else {
            /* "!/file": every name in it excludes. */
            size_t first = dl->n;

            add_patterns(dl, buf_str(&clean), depth + 1);
            for (size_t i = first; i < dl->n; i++)
                dl->v[i].negate = !dl->v[i].negate;
        }
        buf_fini(&clean);
    }
    fclose(fp);
    buf_fini(&text);
}

/* add_patterns - the patterns of VALUE */
static void add_patterns(struct domain_list *dl, const char *value, int depth)
{
    struct argv *a = conf_split_list(value);

    for (size_t i = 0; i < a->argc; i++) {
        const char *s = a->argv[i];
        bool negate = false;

        while (*s == '!') {
            negate = !negate;
            s++;
        }
        if (*s == '/') {
            add_file(dl, s, negate, depth);
        } else if (strchr(s, ':') != NULL && s[0] != '[') {
            add(dl, negate)->maps =
                maps_open(dl->param, s, DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK);
        } else if (*s) {
            add(dl, negate)->name = str_lower(mem_strdup(s));
        }
    }
    argv_free(a);
}

/* domain_list_new - parse the list */
struct domain_list *domain_list_new(const char *param, const char *value,
                                    enum domain_list_mode mode)
{
    struct domain_list *dl = mem_zalloc(sizeof(*dl));

    dl->param = mem_strdup(param);
    dl->mode = mode;
    dl->parent_matches =
        mode == DOMAIN_LIST_HOST && domain_list_parent_matches(param);
    buf_init(&dl->why, 0);
    add_patterns(dl, value, 0);
    return dl;
}

/* domain_list_free - release everything */
void domain_list_free(struct domain_list *dl)
{
    if (dl == NULL)
        return;
    for (size_t i = 0; i < dl->n; i++) {
        mem_free(dl->v[i].name);
        maps_free(dl->v[i].maps);
        mem_free(dl->v[i].error);
    }
    mem_free(dl->v);
    mem_free(dl->param);
    buf_fini(&dl->why);
    mem_free(dl);
}

/* name_match - a name pattern against lower-case DOMAIN */
static bool name_match(const struct domain_list *dl, const char *pat,
                       const char *domain)
{
    size_t dlen = strlen(domain);
    size_t plen = strlen(pat);

    if (strcmp(pat, domain) == 0)
        return true;
    if (dl->mode != DOMAIN_LIST_HOST)
        return false;
    if (pat[0] == '.')
        return dlen > plen && strcmp(domain + dlen - plen, pat) == 0;
    return dl->parent_matches && dlen > plen + 1
           && domain[dlen - plen - 1] == '.'
           && strcmp(domain + dlen - plen, pat) == 0;
}

/* pattern_match - one pattern against lower-case DOMAIN */
static enum lk_result pattern_match(struct domain_list *dl,
                                    const struct pattern *p, const char *domain,
                                    struct buf *value)
{
    struct maps_opts o = {.parent_matches_sub = dl->parent_matches};
    enum lk_result m;

    if (p->error != NULL) {
        buf_setf(&dl->why, "%s: %s", dl->param, p->error);
        return LK_TEMPFAIL;
    }
    if (p->name != NULL)
        return name_match(dl, p->name, domain) ? LK_FOUND : LK_NOTFOUND;
    if (dl->mode == DOMAIN_LIST_HOST)
        m = maps_search(p->maps, MAPS_ORDER_ACCESS_HOST, domain, &o, value,
                        NULL);
    else
        m = maps_find(p->maps, domain, MAPS_FIND_ALL, value);
    if (m == LK_TEMPFAIL)
        buf_set(&dl->why, maps_why(p->maps));
    return m;
}

/* domain_list_match - the first pattern that matches decides */
enum lk_result domain_list_match(struct domain_list *dl, const char *domain)
{
    struct buf value = BUF_INIT;
    char *lower = str_lower(mem_strdup(domain));
    enum lk_result r = LK_NOTFOUND;
    size_t i;

    for (i = 0; i < dl->n; i++)
        if ((r = pattern_match(dl, &dl->v[i], lower, &value)) != LK_NOTFOUND)
            break;
    /* A negated match excludes the domain and ends the search. */
    if (r == LK_FOUND && dl->v[i].negate)
        r = LK_NOTFOUND;
    mem_free(lower);
    buf_fini(&value);
    return r;
}

/* domain_list_why - the reason of the last LK_TEMPFAIL */
const char *domain_list_why(const struct domain_list *dl)
{
    return buf_str(&dl->why);
}
