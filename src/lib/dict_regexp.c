/*
 * dict_regexp - rule-file tables of regular expressions (regexp_table(5),
 * pcre_table(5)): "/pattern/flags result", "!/pattern/ result",
 * "if /pattern/" ... "endif", $n substitution, first match wins.  Postfix's
 * regexp tables also take "/re/flags!/re2/flags result" (match re and not
 * re2; "!!/re2/" requires re2), which pcre tables do not.
 *
 * The rule-file syntax, its warnings and the lookup live here once; the
 * regular-expression engine is a struct dict_pat_engine: POSIX regcomp for
 * regexp: (this file) and PCRE2 for pcre: (dict_pcre.c).  A bad rule is
 * warned about with its file and line and skipped, as Postfix does.
 */
#include "dict.h"

#include <ctype.h>
#include <regex.h>

#include "mem.h"
#include "msg.h"

#include "dict_impl.h"

enum pat_op {
    PAT_MATCH,
    PAT_IF,
    PAT_ENDIF,
};

/* One piece of a result: literal text, or a group reference. */
struct pat_piece {
    char *text;   /* owned literal, or NULL for a group */
    size_t group; /* group number when text is NULL */
};

struct pat_rule {
    enum pat_op op;
    bool negate;
    void *re;                 /* owned by the engine */
    bool negate2;             /* the secondary pattern, PAT_MATCH only */
    void *re2;                /* owned by the engine, or NULL */
    struct pat_piece *pieces; /* owned: the result, for PAT_MATCH */
    size_t npieces;
    size_t next; /* PAT_IF: the index after the matching ENDIF */
    int lineno;
};

struct dict_pat {
    struct dict dict; /* must be first */
    const struct dict_pat_engine *eng;
    struct pat_rule *rules; /* owned */
    size_t nrules;
    size_t max_nsub; /* largest group count of any rule */
    size_t *off;     /* owned: 2 * (max_nsub + 1) offsets */
};

/* Parse state for one logical line. */
struct pat_line {
    const char *map;  /* "regexp map" */
    const char *file; /* file name or inline text */
    int lineno;
};

/* add_piece - append a literal or group reference to a result */
static void add_piece(struct pat_rule *r, const char *text, size_t len,
                      size_t group)
{
    struct pat_piece *p;

    if (text != NULL && len == 0)
        return;
    r->pieces = mem_realloc(r->pieces, (r->npieces + 1) * sizeof(*r->pieces));
    p = &r->pieces[r->npieces++];
    p->text = text ? mem_strndup(text, len) : NULL;
    p->group = group;
}

/* free_pieces - release a parsed result */
static void free_pieces(struct pat_rule *r)
{
    for (size_t i = 0; i < r->npieces; i++)
        mem_free(r->pieces[i].text);
    mem_free(r->pieces);
    r->pieces = NULL;
    r->npieces = 0;
}

/* match_close - the bracket that closes the one at OPEN (nesting counted),
 * or NULL */
static const char *match_close(const char *open)
{
    char o = *open;
    char c = o == '{' ? '}' : ')';
    int depth = 0;

    for (const char *p = open; *p; p++) {
        if (*p == o)
            depth++;
        else if (*p == c && --depth == 0)
            return p;
    }
    return NULL;
}

/*
 * parse_result - split TEXT into literals and $n references.  Returns 0,
 * or -1 after the warnings of Postfix's macro parser; *MAX is the largest
 * group referenced.
 */
static int parse_result(const struct dict_pat_engine *eng,
                        const struct pat_line *pl, const char *text,
                        struct pat_rule *r, size_t *max)
{
    const char *lit = text;
    const char *p = text;
    int bad = 0;

    *max = 0;
    while ((p = strchr(p, '$')) != NULL) {
        const char *name;
        size_t len;
        const char *after;

        add_piece(r, lit, (size_t) (p - lit), 0);
        if (p[1] == '$') {
            add_piece(r, "$", 1, 0);
            lit = p = p + 2;
            continue;
        }
        if (p[1] == '{' || p[1] == '(') {
            const char *close = match_close(p + 1);

            if (close == NULL) {
                dict_warn("truncated macro reference: \"%s\"", text);
                return -1;
            }
            name = p + 2;
            len = (size_t) (close - name);
            after = close + 1;
            /* As Postfix: a bracketed reference after a bad one ends
             * the scan (plain $name ones before it are still checked). */
            if (bad)
                return -1;
        } else {
            name = p + 1;
            len = 0;
            while (isalnum((unsigned char) name[len]) || name[len] == '_')
                len++;
            after = name + len;
        }
        if (len == 0) {
            dict_warn("empty macro name: \"%s\"", text);
            return -1;
        }
        {
            size_t n = 0;
            size_t i;

            for (i = 0; i < len && isdigit((unsigned char) name[i]); i++)
                n = n > 1000000 ? n : n * 10 + (size_t) (name[i] - '0');
            if (i < len) {
                dict_warn(
                    "%s %s, line %d: non-numeric replacement index \"%.*s\"",
                    pl->map, pl->file, pl->lineno, (int) len, name);
                bad = 1;
            } else if (n == 0) {
                dict_warn("%s %s, line %d: %s \"%.*s\"", pl->map, pl->file,
                          pl->lineno, eng->zero_warning, (int) len, name);
                bad = 1;
            } else {
                add_piece(r, NULL, 0, n);
                if (n > *max)
                    *max = n;
            }
        }
        lit = p = after;
    }
    add_piece(r, lit, strlen(lit), 0);
    return bad ? -1 : 0;
}

/*
 * parse_pattern - "!/re/flags" at *S: the pattern (owned) and flags, with
 * *S after the flags.  NULL after a warning.
 */
static char *parse_pattern(const struct dict_pat_engine *eng,
                           const struct pat_line *pl, const char **s,
                           bool *negate, int *flags)
{
    const char *p = *s;
    const char *start;
    char delim;
    char *pattern;

    *negate = false;
    for (;;) {
        while (isspace((unsigned char) *p))
            p++;
        if (*p != '!')
            break;
        *negate = !*negate;
        p++;
    }
    if (*p == 0) {
        dict_warn("%s %s, line %d: no regexp: skipping this rule", pl->map,
                  pl->file, pl->lineno);
        return NULL;
    }
    delim = *p++;
    start = p;
    /* A backslash escapes the next byte, even when it is the delimiter.
     * Postfix's regexp tables also end the pattern at a backslash that
     * ends the line, whatever the delimiter. */
    while (*p) {
        if (*p == '\\') {
            if (p[1] == 0 && eng->end_backslash_closes)
                break;
            p += p[1] != 0 ? 2 : 1;
            continue;
        }
        if (*p == delim)
            break;
        p++;
    }
    if (*p == 0) {
        dict_warn(
            "%s %s, line %d: no closing regexp delimiter \"%c\": %s this rule",
            pl->map, pl->file, pl->lineno, delim, eng->no_delim);
        return NULL;
    }
    pattern = mem_strndup(start, (size_t) (p - start));
    *flags = eng->default_flags;
    for (p++;
         *p && !isspace((unsigned char) *p) && !(eng->secondary && *p == '!');
         p++) {
        switch (eng->flag((unsigned char) *p, flags)) {
            case 0:
                break;
            case 1:
                dict_warn(
                    "%s %s, line %d: ignoring obsolete regexp option \"%c\"",
                    pl->map, pl->file, pl->lineno, *p);
                break;
            default:
                dict_warn(
                    "%s %s, line %d: unknown regexp option \"%c\": skipping this rule",
                    pl->map, pl->file, pl->lineno, *p);
                mem_free(pattern);
                return NULL;
        }
    }
    *s = p;
    return pattern;
}

/* compile - compile PATTERN or warn; NULL on error */
static void *compile(const struct dict_pat_engine *eng,
                     const struct pat_line *pl, const char *pattern, int flags,
                     bool subs, size_t *nsub)
{
    struct buf err = BUF_INIT;
    void *re = eng->compile(pattern, flags, subs, nsub, &err);

    if (re == NULL)
        dict_warn("%s %s, line %d: %s", pl->map, pl->file, pl->lineno,
                  buf_str(&err));
    buf_fini(&err);
    return re;
}

/* add_rule - append a rule to the table */
static struct pat_rule *add_rule(struct dict_pat *dp, enum pat_op op,
                                 int lineno)
{
    struct pat_rule *r;

    dp->rules = mem_realloc(dp->rules, (dp->nrules + 1) * sizeof(*dp->rules));
    r = &dp->rules[dp->nrules++];
    memset(r, 0, sizeof(*r));
    r->op = op;
    r->lineno = lineno;
    return r;
}

/* parse_match - a "/re/flags result" rule, or a warning and no rule */
static void parse_match(struct dict_pat *dp, const struct pat_line *pl,
                        const char *s)
{
    const struct dict_pat_engine *eng = dp->eng;
    struct pat_rule tmp;
    bool negate;
    int flags;
    char *pattern;
    char *pattern2 = NULL;
    bool negate2 = false;
    int flags2 = 0;
    size_t nsub = 0;
    size_t nsub2 = 0;
    size_t max = 0;
    void *re;
    void *re2 = NULL;

    if ((pattern = parse_pattern(eng, pl, &s, &negate, &flags)) == NULL)
        return;
    if (eng->secondary && *s == '!') {
        s++;
        if ((pattern2 = parse_pattern(eng, pl, &s, &negate2, &flags2))
            == NULL) {
            mem_free(pattern);
            return;
        }
        /* The "!" that introduced it is one negation. */
        negate2 = !negate2;
    }
    while (isspace((unsigned char) *s))
        s++;
    if (*s == 0)
        dict_warn("%s %s, line %d: no replacement text: using empty string",
                  pl->map, pl->file, pl->lineno);
    memset(&tmp, 0, sizeof(tmp));
    if (parse_result(eng, pl, s, &tmp, &max) < 0) {
        dict_warn("%s %s, line %d: bad replacement syntax: skipping this rule",
                  pl->map, pl->file, pl->lineno);
        goto skip;
    }
    if (max > 0 && (dp->dict.flags & DICT_FLAG_NO_REGSUB)) {
        dict_warn("%s %s, line %d: regular expression substitution is not "
                  "allowed: skipping this rule",
                  pl->map, pl->file, pl->lineno);
        goto skip;
    }
    if (negate && max > 0) {
        dict_warn(
            "%s %s, line %d: $number found in negative match replacement text: skipping this rule",
            pl->map, pl->file, pl->lineno);
        goto skip;
    }
    if ((re = compile(eng, pl, pattern, flags, max > 0, &nsub)) == NULL)
        goto skip;
    if (max > nsub) {
        dict_warn(
            "%s %s, line %d: out of range replacement index \"%zu\": skipping this rule",
            pl->map, pl->file, pl->lineno, max);
        eng->free(re);
        goto skip;
    }
    /* Postfix checks the replacement before it compiles the secondary. */
    if (pattern2 != NULL
        && (re2 = compile(eng, pl, pattern2, flags2, false, &nsub2)) == NULL) {
        eng->free(re);
        goto skip;
    }
    {
        struct pat_rule *r = add_rule(dp, PAT_MATCH, pl->lineno);

        r->negate = negate;
        r->re = re;
        r->negate2 = negate2;
        r->re2 = re2;
        r->pieces = tmp.pieces;
        r->npieces = tmp.npieces;
        if (nsub > dp->max_nsub)
            dp->max_nsub = nsub;
        if (nsub2 > dp->max_nsub)
            dp->max_nsub = nsub2;
    }
    mem_free(pattern);
    mem_free(pattern2);
    return;
skip:
    free_pieces(&tmp);
    mem_free(pattern);
    mem_free(pattern2);
}

/* keyword - the leading run of letters and digits of S */
static struct span keyword(const char *s)
{
    size_t n = 0;

    while (isalnum((unsigned char) s[n]))
        n++;
    return span_make(s, n);
}

/* pat_parse - turn the logical lines into rules */
static void pat_parse(struct dict_pat *dp, struct dict_text *text,
                      const char *name)
{
    const struct dict_pat_engine *eng = dp->eng;
    struct buf line = BUF_INIT;
    struct buf map = BUF_INIT;
    struct pat_line pl;
    size_t *stack = NULL; /* indexes of open IF rules */
    size_t depth = 0;

    buf_setf(&map, "%s map", eng->type);
    pl.map = buf_str(&map);
    pl.file = name;
    while (dict_text_next(text, &line, &pl.lineno)) {
        const char *s = buf_str(&line);
        struct span kw = keyword(s);

        if (kw.len == 0) {
            parse_match(dp, &pl, s);
        } else if (span_caseeq(kw, "if")) {
            const char *p = s + kw.len;
            bool negate;
            int flags;
            size_t nsub;
            char *pattern = parse_pattern(eng, &pl, &p, &negate, &flags);
            void *re;
            struct pat_rule *r;
            struct span extra;

            if (pattern == NULL)
                continue;
            extra = span_trim(span_of(p));
            if (extra.len > 0) {
                dict_warn(
                    "%s %s, line %d: ignoring extra text after IF statement: \"%.*s\"",
                    pl.map, pl.file, pl.lineno, (int) extra.len, extra.p);
                dict_warn(
                    "%s %s, line %d: do not prepend whitespace to statements between IF and ENDIF",
                    pl.map, pl.file, pl.lineno);
            }
            re = compile(eng, &pl, pattern, flags, false, &nsub);
            mem_free(pattern);
            if (re == NULL)
                continue;
            r = add_rule(dp, PAT_IF, pl.lineno);
            r->negate = negate;
            r->re = re;
            if (nsub > dp->max_nsub)
                dp->max_nsub = nsub;
            stack = mem_realloc(stack, (depth + 1) * sizeof(*stack));
            stack[depth++] = dp->nrules - 1;
        } else if (span_caseeq(kw, "endif")) {
            if (depth == 0) {
                dict_warn("%s %s, line %d: ignoring ENDIF without matching IF",
                          pl.map, pl.file, pl.lineno);
                continue;
            }
            if (span_trim(span_of(s + kw.len)).len > 0)
                dict_warn("%s %s, line %d: ignoring extra text after ENDIF",
                          pl.map, pl.file, pl.lineno);
            add_rule(dp, PAT_ENDIF, pl.lineno);
            dp->rules[stack[--depth]].next = dp->nrules;
        } else {
            dict_warn("%s %s, line %d: ignoring unrecognized request", pl.map,
                      pl.file, pl.lineno);
        }
    }
    /* An IF without ENDIF extends to the end of the table. */
    while (depth > 0) {
        struct pat_rule *r = &dp->rules[stack[--depth]];

        dict_warn("%s %s, line %d: IF has no matching ENDIF", pl.map, pl.file,
                  r->lineno);
        r->next = dp->nrules;
    }
    mem_free(stack);
    buf_fini(&line);
    buf_fini(&map);
}

/* pat_match - whether RE matches KEY, NEGATE applied */
static int pat_match(struct dict_pat *dp, const struct pat_rule *r, void *re,
                     bool negate, const char *key)
{
    struct buf err = BUF_INIT;
    int m = dp->eng->match(re, key, dp->max_nsub, dp->off, &err);

    if (m < 0) {
        dict_warn("%s map %s, line %d: %s", dp->eng->type, dp->dict.name,
                  r->lineno, buf_str(&err));
        m = 0;
    }
    buf_fini(&err);
    return negate ? !m : m;
}

/* rule_match - the primary pattern and, when present, the secondary one;
 * the secondary goes first so that the groups are the primary's */
static int rule_match(struct dict_pat *dp, const struct pat_rule *r,
                      const char *key)
{
    if (r->re2 != NULL && !pat_match(dp, r, r->re2, r->negate2, key))
        return 0;
    return pat_match(dp, r, r->re, r->negate, key);
}

/* pat_lookup - the result of the first rule that matches KEY */
static enum lk_result pat_lookup(struct dict *d, const char *key,
                                 struct buf *value)
{
    struct dict_pat *dp = (struct dict_pat *) d;
    size_t i = 0;

    while (i < dp->nrules) {
        struct pat_rule *r = &dp->rules[i];

        switch (r->op) {
            case PAT_ENDIF:
                i++;
                break;
            case PAT_IF:
                i = rule_match(dp, r, key) ? i + 1 : r->next;
                break;
            case PAT_MATCH:
                if (!rule_match(dp, r, key)) {
                    i++;
                    break;
                }
                buf_reset(value);
                for (size_t j = 0; j < r->npieces; j++) {
                    const struct pat_piece *p = &r->pieces[j];
                    size_t so;
                    size_t eo;

                    if (p->text) {
                        buf_cat(value, p->text);
                        continue;
                    }
                    so = dp->off[2 * p->group];
                    eo = dp->off[2 * p->group + 1];
                    if (so != DICT_PAT_UNSET && eo >= so)
                        buf_catn(value, key + so, eo - so);
                }
                return LK_FOUND;
        }
    }
    return LK_NOTFOUND;
}

/* pat_close - release the rules */
static void pat_close(struct dict *d)
{
    struct dict_pat *dp = (struct dict_pat *) d;

    for (size_t i = 0; i < dp->nrules; i++) {
        if (dp->rules[i].re)
            dp->eng->free(dp->rules[i].re);
        if (dp->rules[i].re2)
            dp->eng->free(dp->rules[i].re2);
        free_pieces(&dp->rules[i]);
    }
    mem_free(dp->rules);
    mem_free(dp->off);
    dict_free_base(d);
}

/* dict_pat_open - read and compile a rule file or inline rule list */
struct dict *dict_pat_open(const struct dict_pat_engine *eng, const char *name,
                           int open_flags, int dict_flags, struct buf *why)
{
    struct dict_text text;
    struct dict_pat *dp;
    struct buf map = BUF_INIT;

    if ((open_flags & O_ACCMODE) != O_RDONLY) {
        buf_setf(why, "%s:%s map requires O_RDONLY access mode", eng->type,
                 name);
        return NULL;
    }
    buf_setf(&map, "%s map", eng->type);
    /* As Postfix: a read error ends the rules read so far, silently. */
    if (dict_text_any(&text, buf_str(&map), name, why) == -1) {
        buf_fini(&map);
        return NULL;
    }
    buf_fini(&map);
    /* Patterns match case by their own flags: never fold the key. */
    dp = (struct dict_pat *) dict_alloc(eng->type, name, open_flags,
                                        dict_flags & ~DICT_FLAG_FOLD_FIX,
                                        sizeof(*dp));
    dp->eng = eng;
    if (name[0] != '{')
        dict_set_file(&dp->dict, name);
    pat_parse(dp, &text, name);
    dict_text_close(&text);
    dp->off = mem_calloc(2 * (dp->max_nsub + 1), sizeof(*dp->off));
    dp->dict.ops.lookup = pat_lookup;
    dp->dict.ops.close = pat_close;
    return &dp->dict;
}

/* POSIX engine. */

#define RX_ICASE    (1 << 0)
#define RX_EXTENDED (1 << 1)
#define RX_NEWLINE  (1 << 2)

/* regexp_flag - i, x and m toggle case, extended syntax and newlines */
static int regexp_flag(int c, int *flags)
{
    switch (c) {
        case 'i':
            *flags ^= RX_ICASE;
            return 0;
        case 'x':
            *flags ^= RX_EXTENDED;
            return 0;
        case 'm':
            *flags ^= RX_NEWLINE;
            return 0;
        default:
            return -1;
    }
}

/* A compiled POSIX pattern. */
struct regexp_re {
    regex_t re;
    bool nosub; /* compiled with REG_NOSUB: match without groups */
};

/* regexp_compile - regcomp with the toggled flags */
static void *regexp_compile(const char *pattern, int flags, bool subs,
                            size_t *nsub, struct buf *err)
{
    struct regexp_re *rr = mem_alloc(sizeof(*rr));
    int cflags = 0;
    int rc;

    if (flags & RX_ICASE)
        cflags |= REG_ICASE;
    if (flags & RX_EXTENDED)
        cflags |= REG_EXTENDED;
    if (flags & RX_NEWLINE)
        cflags |= REG_NEWLINE;
    if (!subs)
        cflags |= REG_NOSUB;
    rr->nosub = !subs;
    if ((rc = regcomp(&rr->re, pattern, cflags)) != 0) {
        char msg[256];

        regerror(rc, &rr->re, msg, sizeof(msg));
        buf_set(err, msg);
        mem_free(rr);
        return NULL;
    }
    *nsub = rr->re.re_nsub;
    return rr;
}

/* regexp_match - regexec, offsets into OFF (none without groups) */
static int regexp_match(void *re, const char *key, size_t nsub, size_t *off,
                        struct buf *err)
{
    struct regexp_re *rr = re;
    regmatch_t pm[10];
    regmatch_t *pmatch = NULL;
    size_t nmatch = 0;
    int rc;

    if (!rr->nosub) {
        nmatch = nsub + 1;
        pmatch = nmatch <= NELEM(pm) ? pm : mem_calloc(nmatch, sizeof(*pmatch));
    }
    rc = regexec(&rr->re, key, nmatch, pmatch, 0);
    if (rc == 0) {
        for (size_t i = 0; i <= nsub; i++) {
            bool set = i < nmatch && pmatch[i].rm_so >= 0;

            off[2 * i] = set ? (size_t) pmatch[i].rm_so : DICT_PAT_UNSET;
            off[2 * i + 1] = set ? (size_t) pmatch[i].rm_eo : DICT_PAT_UNSET;
        }
    } else if (rc != REG_NOMATCH) {
        char msg[256];

        regerror(rc, &rr->re, msg, sizeof(msg));
        buf_set(err, msg);
    }
    if (pmatch != NULL && pmatch != pm)
        mem_free(pmatch);
    return rc == 0 ? 1 : rc == REG_NOMATCH ? 0 : -1;
}

/* regexp_free - regfree and release */
static void regexp_free(void *re)
{
    struct regexp_re *rr = re;

    regfree(&rr->re);
    mem_free(rr);
}

static const struct dict_pat_engine regexp_engine = {
    .type = "regexp",
    .default_flags = RX_ICASE | RX_EXTENDED,
    .zero_warning = "out-of-range replacement index",
    .no_delim = "skipping",
    .secondary = true,
    .end_backslash_closes = true,
    .flag = regexp_flag,
    .compile = regexp_compile,
    .match = regexp_match,
    .free = regexp_free,
};

/* dict_regexp_open - a POSIX regular expression table */
struct dict *dict_regexp_open(const char *name, int open_flags, int dict_flags,
                              struct buf *why)
{
    return dict_pat_open(&regexp_engine, name, open_flags, dict_flags, why);
}
