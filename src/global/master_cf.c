#include "master_cf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/mem.h"
#include "../lib/msg.h"

/*
 * A logical line longer than this is refused: Postfix has no limit, but a
 * master.cf line of a megabyte is a broken file, not a configuration.
 */
#define MASTER_LINE_MAX (1024 * 1024)
/* The whole file: master.cf files are a few kilobytes. */
#define MASTER_FILE_MAX (64 * 1024 * 1024)

/* The field separators of master.cf (Postfix uses the same four). */
#define MASTER_BLANKS " \t\r\n"

/*
 * Tokens of one logical line: values, whether each was a { } group, and
 * the warning that reading it gave.  Postfix reads the arguments one at a
 * time as it scans the options, so its warnings come in that order: ours
 * are kept with their token and given out as the scan reaches it.
 */
struct toks {
    struct argv *val;
    unsigned char *grp;
    char **warn; /* owned, NULL: none */
    size_t size;
    size_t emitted; /* warnings of tokens below this were given */
};

/* is_blank - a master.cf field separator */
static bool is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* has_blank - does S contain a field separator? */
static bool has_blank(const char *s)
{
    return s[strcspn(s, MASTER_BLANKS)] != 0;
}

/* sanitize - append S (LEN bytes) to OUT with non-printable bytes as '?',
 * the way Postfix quotes configuration text in its messages */
static void sanitize(struct buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        buf_catc(out, (c >= 0x20 && c < 0x7f) ? c : '?');
    }
}

/* quoted - PREFIX "\"TEXT\"" with TEXT sanitized (owned) */
static char *quoted(const char *prefix, const char *s, size_t len)
{
    struct buf b = BUF_INIT;

    buf_init(&b, 0);
    buf_cat(&b, prefix);
    buf_catc(&b, '"');
    sanitize(&b, s, len);
    buf_catc(&b, '"');
    return buf_steal(&b);
}

/* warn_quoted - msg_warn PREFIX "\"TEXT\"" with TEXT sanitized */
static void warn_quoted(const char *prefix, const char *s, size_t len)
{
    char *text = quoted(prefix, s, len);

    msg_warn("%s", text);
    mem_free(text);
}

/* toks_add - append a token value of LEN bytes with its group flag */
static void toks_add(struct toks *t, const char *s, size_t len, bool group)
{
    if (t->val->argc >= t->size) {
        t->size = t->size ? 2 * t->size : 16;
        t->grp = mem_realloc(t->grp, t->size);
        t->warn = mem_realloc(t->warn, t->size * sizeof(*t->warn));
    }
    t->grp[t->val->argc] = group;
    t->warn[t->val->argc] = NULL;
    argv_addn(t->val, s, len);
}

/* toks_warn - keep TEXT (transferred) as the warning of the last token */
static void toks_warn(struct toks *t, char *text)
{
    size_t last = t->val->argc - 1;

    mem_free(t->warn[last]);
    t->warn[last] = text;
}

/* toks_flush - give the warnings of the tokens below UPTO */
static void toks_flush(struct toks *t, size_t upto)
{
    for (; t->emitted < upto && t->emitted < t->val->argc; t->emitted++) {
        if (t->warn[t->emitted])
            msg_warn("%s", t->warn[t->emitted]);
    }
}

/* toks_fini - release the tokens */
static void toks_fini(struct toks *t)
{
    for (size_t i = 0; i < t->val->argc; i++)
        mem_free(t->warn[i]);
    mem_free(t->warn);
    mem_free(t->grp);
    argv_free(t->val);
}

/* trimmed - S..S+LEN without blanks at either end */
static struct span trimmed(const char *s, size_t len)
{
    while (len > 0 && is_blank((unsigned char) s[0])) {
        s++;
        len--;
    }
    while (len > 0 && is_blank((unsigned char) s[len - 1]))
        len--;
    return span_make(s, len);
}

/* tokenize - split LINE (LEN bytes) into blank-separated tokens, where a
 * token that starts with '{' extends to the matching '}'.  The first RAW
 * tokens (the eight columns) are kept as written, braces included, as
 * Postfix's postconf keeps them; a later group stands for its trimmed
 * content, with Postfix's two warnings for a bad one. */
static void tokenize(const char *line, size_t len, size_t raw, struct toks *t)
{
    size_t i = 0;

    while (i < len) {
        while (i < len && is_blank((unsigned char) line[i]))
            i++;
        if (i >= len)
            break;
        size_t start = i;
        if (line[i] != '{') {
            while (i < len && !is_blank((unsigned char) line[i]))
                i++;
            toks_add(t, line + start, i - start, false);
            continue;
        }
        int depth = 0;
        size_t close = len;
        for (size_t j = i; j < len; j++) {
            if (line[j] == '{') {
                depth++;
            } else if (line[j] == '}' && --depth == 0) {
                close = j;
                break;
            }
        }
        if (close == len) {
            if (t->val->argc < raw) {
                struct span c = trimmed(line + start, len - start);
                toks_add(t, c.p, c.len, false);
                break;
            }
            struct span c = trimmed(line + start + 1, len - start - 1);
            toks_add(t, c.p, c.len, true);
            toks_warn(t, quoted("master.cf: missing '}' in ", line + start,
                                len - start));
            break;
        }
        i = close + 1;
        while (i < len && !is_blank((unsigned char) line[i]))
            i++;
        if (t->val->argc < raw) {
            toks_add(t, line + start, i - start, false);
            continue;
        }
        struct span c = trimmed(line + start + 1, close - start - 1);
        toks_add(t, c.p, c.len, true);
        if (i > close + 1)
            toks_warn(t, quoted("master.cf: syntax error after '}' in ",
                                line + start, i - start));
    }
}

/* opt_value - the value of "-o" as postconf normalizes it: a { } group
 * "name = value" becomes "name=value"; a group that is not of that form is
 * kept, with Postfix's warning */
static char *opt_value(const char *v, bool group)
{
    if (!group)
        return mem_strdup(v);
    size_t n = strcspn(v, MASTER_BLANKS "=");
    if (n == 0) {
        warn_quoted("master.cf: missing attribute name: ", v, strlen(v));
        return mem_strdup(v);
    }
    const char *p = v + n;
    while (is_blank((unsigned char) *p))
        p++;
    if (*p != '=') {
        warn_quoted("master.cf: missing '=' after attribute name: ", v,
                    strlen(v));
        return mem_strdup(v);
    }
    struct span val = trimmed(p + 1, strlen(p + 1));
    struct buf b = BUF_INIT;
    buf_init(&b, 0);
    buf_catn(&b, v, n);
    buf_catc(&b, '=');
    buf_catspan(&b, val);
    return buf_steal(&b);
}

/* add_param - the "-o" override in V ("name=value", each side trimmed;
 * none when the name is empty or has blanks) */
static void add_param(struct master_ent *e, const char *v)
{
    const char *eq = strchr(v, '=');

    if (eq == NULL)
        return;
    struct span name = trimmed(v, (size_t) (eq - v));
    struct span val = trimmed(eq + 1, strlen(eq + 1));
    if (name.len == 0)
        return;
    for (size_t i = 0; i < name.len; i++) {
        if (is_blank((unsigned char) name.p[i]))
            return;
    }
    e->opts = mem_realloc(e->opts, (e->nopts + 1) * sizeof(*e->opts));
    e->opts[e->nopts].name = span_dup(name);
    e->opts[e->nopts].value = span_dup(val);
    e->nopts++;
}

/* normalize_options - the command from tokens FIRST.. of T, as Postfix's
 * postconf rewrites it: the leading options, up to the first token that
 * is not an option (a { } group, a word without '-', or "--"), are
 * split the way getopt reads them ("-vox=1" becomes "-v", "-o", "x=1") and
 * a { } group after "-o" becomes "name=value" */
static void normalize_options(struct master_ent *e, struct toks *t,
                              size_t first)
{
    char **v = t->val->argv;
    size_t n = t->val->argc;
    size_t i = first + 1;

    e->command = argv_new();
    argv_add(e->command, v[first]);
    toks_flush(t, first + 1);
    while (i < n) {
        toks_flush(t, i + 1);
        if (t->grp[i])
            break;
        const char *a = v[i];
        if (strcmp(a, "-") == 0 && i + 1 < n) {
            /* Postfix's postconf takes the word after a lone "-" as its
             * argument, as is, and goes on. */
            toks_flush(t, i + 2);
            argv_add(e->command, a);
            argv_add(e->command, v[i + 1]);
            i += 2;
            continue;
        }
        if (a[0] != '-' || a[1] == 0 || strcmp(a, "--") == 0)
            break;
        const char *o = strchr(a + 1, 'o');
        if (o == NULL) {
            argv_add(e->command, a);
            i++;
            continue;
        }
        if (o > a + 1)
            argv_addn(e->command, a, (size_t) (o - a));
        argv_add(e->command, "-o");
        if (o[1] != 0) {
            argv_add(e->command, o + 1);
            i++;
        } else if (i + 1 < n) {
            toks_flush(t, i + 2);
            char *val = opt_value(v[i + 1], t->grp[i + 1]);
            argv_add(e->command, val);
            mem_free(val);
            i += 2;
        } else {
            i++;
        }
    }
    for (; i < n; i++)
        argv_add(e->command, v[i]);
    toks_flush(t, n);
}

/* classify - how postconf shows each command element, and the -o
 * overrides.  Postfix's postconf scans the (normalized) arguments again:
 * words that start with '-' are options, shown as they are; "-o" takes
 * the next word as a parameter setting; an option that starts with "-o",
 * or a lone "-", is shown with the next word as a unit (as "-o name=value"
 * is); the first word that is not an option, or "--", ends the scan and is
 * shown without braces; later words get braces when they have blanks */
static void classify(struct master_ent *e)
{
    char **v = e->command->argv;
    size_t n = e->command->argc;
    size_t i = 1;

    e->argfl = mem_calloc(n, 1);
    for (size_t j = 0; j < n; j++)
        e->argfl[j] = MASTER_ARG_PLAIN;
    e->argfl[0] = MASTER_ARG_RAW; /* a column: as written */
    while (i < n) {
        const char *a = v[i];
        if (a[0] != '-' || strcmp(a, "--") == 0) {
            e->argfl[i] = MASTER_ARG_RAW;
            break;
        }
        if ((a[1] == 'o' || a[1] == 0) && i + 1 < n) {
            e->argfl[i] = MASTER_ARG_OPTION;
            e->argfl[i + 1] = MASTER_ARG_OPTVAL;
            if (strcmp(a, "-o") == 0)
                add_param(e, v[i + 1]);
            i += 2;
            continue;
        }
        e->argfl[i] = MASTER_ARG_RAW;
        i++;
    }
}

/* valid_flag - y, n or - */
static bool valid_flag(const char *s)
{
    return strcmp(s, "y") == 0 || strcmp(s, "n") == 0 || strcmp(s, "-") == 0;
}

/* valid_wakeup - "-", or digits with an optional trailing '?' (Postfix also
 * takes a lone "?") */
static bool valid_wakeup(const char *s)
{
    if (strcmp(s, "-") == 0)
        return true;
    size_t n = strspn(s, "0123456789");
    if (s[n] == '?')
        n++;
    return n > 0 && s[n] == 0;
}

/* valid_maxproc - "-" or digits */
static bool valid_maxproc(const char *s)
{
    if (strcmp(s, "-") == 0)
        return true;
    size_t n = strspn(s, "0123456789");
    return n > 0 && s[n] == 0;
}

/* parse_type - the type for NAME, -1 when unknown */
static int parse_type(const char *name)
{
    static const struct {
        const char *name;
        enum master_type type;
    } types[] = {
        {"inet", MASTER_TYPE_INET},
        {"unix", MASTER_TYPE_UNIX},
        {"unix-dgram", MASTER_TYPE_UNIX_DGRAM},
        {"fifo", MASTER_TYPE_FIFO},
        {"pass", MASTER_TYPE_PASS},
    };

    for (size_t i = 0; i < NELEM(types); i++) {
        if (strcmp(types[i].name, name) == 0)
            return (int) types[i].type;
    }
    return -1;
}

/* ent_free - release one entry */
static void ent_free(struct master_ent *e)
{
    if (e == NULL)
        return;
    mem_free(e->service);
    mem_free(e->type_name);
    mem_free(e->private_);
    mem_free(e->unpriv);
    mem_free(e->chroot);
    mem_free(e->wakeup);
    mem_free(e->maxproc);
    argv_free(e->command);
    mem_free(e->argfl);
    for (size_t i = 0; i < e->nopts; i++) {
        mem_free(e->opts[i].name);
        mem_free(e->opts[i].value);
    }
    mem_free(e->opts);
    mem_free(e);
}

/* field_error - WHY = 'file PATH: line N: invalid NAME field "V" in "LINE"' */
static void field_error(struct buf *why, const char *path, int line,
                        const char *name, const char *value, const char *text,
                        size_t len)
{
    buf_setf(why, "file %s: line %d: invalid %s field \"", path, line, name);
    sanitize(why, value, strlen(value));
    buf_cat(why, "\" in \"");
    sanitize(why, text, len);
    buf_catc(why, '"');
}

/* parse_entry - one logical line; NULL with WHY on a fatal error */
static struct master_ent *parse_entry(const char *path, int line,
                                      const char *text, size_t len,
                                      struct buf *why)
{
    struct toks t = {argv_new(), NULL, NULL, 0, 0};
    struct master_ent *e = NULL;
    static const char *const names[] = {"private", "unprivileged", "chroot"};

    tokenize(text, len, 8, &t);
    toks_flush(&t, 8);
    if (t.val->argc < 8) {
        buf_setf(why, "file %s: line %d: bad field count", path, line);
        goto out;
    }
    char **v = t.val->argv;
    int type = parse_type(v[1]);
    if (type < 0) {
        field_error(why, path, line, "type", v[1], text, len);
        goto out;
    }
    for (size_t i = 0; i < 3; i++) {
        if (!valid_flag(v[2 + i])) {
            field_error(why, path, line, names[i], v[2 + i], text, len);
            goto out;
        }
    }
    if (!valid_wakeup(v[5])) {
        field_error(why, path, line, "wakeup", v[5], text, len);
        goto out;
    }
    if (!valid_maxproc(v[6])) {
        field_error(why, path, line, "process_limit", v[6], text, len);
        goto out;
    }
    e = mem_zalloc(sizeof(*e));
    e->service = mem_strdup(v[0]);
    e->type = (enum master_type) type;
    e->type_name = mem_strdup(v[1]);
    e->private_ = mem_strdup(v[2]);
    e->unpriv = mem_strdup(v[3]);
    e->chroot = mem_strdup(v[4]);
    e->wakeup = mem_strdup(v[5]);
    e->maxproc = mem_strdup(v[6]);
    e->line = line;
    normalize_options(e, &t, 7);
    classify(e);
out:
    toks_fini(&t);
    return e;
}

/* line_is_blank - only white space */
static bool line_is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!isspace((unsigned char) s[i]))
            return false;
    }
    return true;
}

/* line_is_comment - first non-space byte is '#' */
static bool line_is_comment(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!isspace((unsigned char) s[i]))
            return s[i] == '#';
    }
    return false;
}

/* flush_entry - parse the pending logical line in LL and append it */
static int flush_entry(struct master_cf *cf, struct master_ent ***tail,
                       struct buf *ll, int line, struct buf *why)
{
    if (line == 0)
        return 0;
    struct master_ent *e =
        parse_entry(cf->path, line, buf_str(ll), buf_len(ll), why);
    if (e == NULL)
        return -1;
    **tail = e;
    *tail = &e->next;
    return 0;
}

/* master_cf_parse - parse master.cf text */
struct master_cf *master_cf_parse(const char *path, const char *text,
                                  size_t len, struct buf *why)
{
    struct master_cf *cf = mem_zalloc(sizeof(*cf));
    struct master_ent **tail = &cf->head;
    struct buf ll = BUF_INIT;
    int lineno = 0;
    int start = 0; /* first line of the pending logical line, 0: none */
    size_t pos = 0;

    cf->path = mem_strdup(path);
    buf_init(&ll, MASTER_LINE_MAX);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t) (nl - (text + pos)) : len - pos;
        const char *s = text + pos;
        pos += n + (nl != NULL);
        lineno++;
        if (line_is_blank(s, n) || line_is_comment(s, n))
            continue;
        if (isspace((unsigned char) s[0])) {
            if (start == 0) {
                struct buf b = BUF_INIT;
                buf_init(&b, 0);
                sanitize(&b, s, n);
                msg_warn("%s: logical line must not start with whitespace: "
                         "\"%s\"",
                         path, buf_str(&b));
                buf_fini(&b);
                continue;
            }
        } else {
            if (flush_entry(cf, &tail, &ll, start, why) < 0)
                goto bad;
            buf_reset(&ll);
            start = lineno;
        }
        if (buf_catn(&ll, s, n) < 0) {
            buf_setf(why, "file %s: line %d: logical line too long", path,
                     start);
            goto bad;
        }
    }
    if (flush_entry(cf, &tail, &ll, start, why) < 0)
        goto bad;
    buf_fini(&ll);
    return cf;
bad:
    buf_fini(&ll);
    master_cf_free(cf);
    return NULL;
}

/* master_cf_load - read and parse PATH */
struct master_cf *master_cf_load(const char *path, struct buf *why)
{
    struct buf text = BUF_INIT;
    char chunk[8192];
    ssize_t n;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        buf_setf(why, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    buf_init(&text, MASTER_FILE_MAX);
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            buf_setf(why, "read %s: %s", path, strerror(errno));
            break;
        }
        if (buf_catn(&text, chunk, (size_t) n) < 0) {
            buf_setf(why, "read %s: file too large", path);
            n = -1;
            break;
        }
    }
    close(fd);
    struct master_cf *cf = NULL;
    if (n == 0)
        cf = master_cf_parse(path, buf_str(&text), buf_len(&text), why);
    buf_fini(&text);
    return cf;
}

/* master_cf_free - release the table */
void master_cf_free(struct master_cf *cf)
{
    if (cf == NULL)
        return;
    while (cf->head) {
        struct master_ent *e = cf->head;
        cf->head = e->next;
        ent_free(e);
    }
    mem_free(cf->path);
    mem_free(cf);
}

/* master_cf_find - the last entry for SERVICE[/TYPE] */
struct master_ent *master_cf_find(const struct master_cf *cf,
                                  const char *service, const char *type)
{
    struct master_ent *found = NULL;

    for (struct master_ent *e = cf->head; e; e = e->next) {
        if (strcmp(e->service, service) == 0
            && (type == NULL || strcmp(e->type_name, type) == 0))
            found = e;
    }
    return found;
}

/* master_cf_services - distinct service names in file order */
struct argv *master_cf_services(const struct master_cf *cf)
{
    struct argv *a = argv_new();

    for (struct master_ent *e = cf->head; e; e = e->next) {
        bool seen = false;
        for (size_t i = 0; i < a->argc && !seen; i++)
            seen = strcmp(a->argv[i], e->service) == 0;
        if (!seen)
            argv_add(a, e->service);
    }
    return a;
}

/* master_ent_private - effective private flag; master(5): "Internet (type
 * inet) services can't be private", so an inet service never is */
bool master_ent_private(const struct master_ent *e)
{
    return e->type != MASTER_TYPE_INET && strcmp(e->private_, "n") != 0;
}

/* master_ent_unpriv - effective unprivileged flag */
bool master_ent_unpriv(const struct master_ent *e)
{
    return strcmp(e->unpriv, "n") != 0;
}

/* master_ent_chroot - effective chroot flag (Postfix 3.x default: n) */
bool master_ent_chroot(const struct master_ent *e)
{
    return strcmp(e->chroot, "y") == 0;
}

/* master_ent_wakeup - effective wake-up time */
long master_ent_wakeup(const struct master_ent *e, bool *if_used)
{
    long secs = 0;

    if (if_used)
        *if_used = false;
    if (strcmp(e->wakeup, "-") == 0)
        return 0;
    for (const char *p = e->wakeup; *p >= '0' && *p <= '9'; p++) {
        if (secs > (LONG_MAX - 9) / 10)
            secs = LONG_MAX; /* absurd but valid: never */
        else
            secs = secs * 10 + (*p - '0');
    }
    if (if_used)
        *if_used = strchr(e->wakeup, '?') != NULL;
    return secs;
}

/* master_ent_maxproc - effective process limit */
long master_ent_maxproc(const struct master_ent *e, long default_limit)
{
    long n = 0;

    if (strcmp(e->maxproc, "-") == 0)
        return default_limit;
    for (const char *p = e->maxproc; *p; p++) {
        if (n > (LONG_MAX - 9) / 10)
            return LONG_MAX;
        n = n * 10 + (*p - '0');
    }
    return n;
}

/* master_ent_opts - the -o overrides */
const struct master_opt *master_ent_opts(const struct master_ent *e,
                                         size_t *count)
{
    *count = e->nopts;
    return e->opts;
}

/* master_format_field - a value, in braces when it has blanks */
void master_format_field(const char *value, struct buf *out)
{
    if (has_blank(value)) {
        buf_catc(out, '{');
        buf_cat(out, value);
        buf_catc(out, '}');
    } else {
        buf_cat(out, value);
    }
}

/* master_ent_format_arg - one command element as postconf prints it */
void master_ent_format_arg(const struct master_ent *e, size_t i,
                           struct buf *out)
{
    const char *a = e->command->argv[i];

    switch ((enum master_arg) e->argfl[i]) {
        case MASTER_ARG_RAW:
        case MASTER_ARG_OPTION:
            buf_cat(out, a);
            break;
        case MASTER_ARG_PLAIN:
        case MASTER_ARG_OPTVAL:
            master_format_field(a, out);
            break;
    }
}

/* master_ent_format_command - the command on one line */
void master_ent_format_command(const struct master_ent *e, struct buf *out)
{
    for (size_t i = 0; i < e->command->argc; i++) {
        if (i > 0)
            buf_catc(out, ' ');
        master_ent_format_arg(e, i, out);
    }
}
