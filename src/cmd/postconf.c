/*
 * postconf - Postfix's postconf(1): print and edit main.cf parameters.
 *
 * Printing follows Postfix's output byte for byte: "name = value" with the
 * value's white space folded to single spaces ("name =" when empty), -h for
 * the value only, -f to fold lines longer than 80 columns with a 4-space
 * indent, sorted listings for no names, and names printed in argument order.
 * Editing (-e, -X, -#) rewrites main.cf in place of the logical lines it
 * changes and keeps every comment, blank line and unrelated line.  The
 * master.cf side (-M, -F, -P) lives in postconf_master.c.
 */
#include "cmd.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/argv.h"
#include "lib/buf.h"
#include "lib/dict.h"
#include "lib/htable.h"
#include "lib/mem.h"
#include "lib/msg.h"

#include "global/conf.h"

#include "postconf_master.h"

#define FOLD_WIDTH  80 /* postconf -f line length */
#define FOLD_INDENT "    "

/* Output modes and flags from the command line. */
#define F_DEFAULTS (1 << 0) /* -d */
#define F_NONDEF   (1 << 1) /* -n */
#define F_NONAME   (1 << 2) /* -h */
#define F_NOVALUE  (1 << 3) /* -H */
#define F_EXPAND   (1 << 4) /* -x */
#define F_FOLD     (1 << 5) /* -f */

enum mode {
    MODE_PRINT,
    MODE_EDIT,    /* -e */
    MODE_EXCLUDE, /* -X */
    MODE_COMMENT, /* -# */
    MODE_MAPS,    /* -m */
    MODE_LOCKS,   /* -l */
    MODE_SASL,    /* -a, -A */
    MODE_MASTER,  /* -M */
    MODE_FIELDS,  /* -F */
    MODE_PARAMS,  /* -P */
};

/* usage - Postfix's usage line */
ULAK_NORETURN static void usage(void)
{
    msg_fatal("usage: postconf [-a (server SASL types)] [-A (client SASL "
              "types)] [-b (bounce templates)] [-c config_dir] [-c "
              "param_class] [-d (parameter defaults)] [-e (edit "
              "configuration)] [-f (fold lines)] [-F (master.cf fields)] [-h "
              "(no names)] [-H (no values)] [-l (lock types)] [-m (map "
              "types)] [-M (master.cf)] [-n (non-default parameters)] [-o "
              "name=value (override parameter value)] [-p (main.cf, "
              "default)] [-P (master.cf parameters)] [-t (bounce templates)] "
              "[-T compile-version|run-version|public-key-algorithms] [-v "
              "(verbose)] [-x (expand parameter values)] [-X (exclude)] [-# "
              "(comment-out)] [name...]");
}

/* print_words - print TEXT's words separated by single spaces, folding at
 * FOLD_WIDTH when FOLD; LINE holds what is already on the current line */
static void print_words(struct buf *line, const char *text, bool fold)
{
    struct argv *words = argv_split(text, " \t\r\n");

    for (size_t i = 0; i < words->argc; i++) {
        const char *w = words->argv[i];
        bool empty =
            buf_len(line) == 0 || strcmp(buf_str(line), FOLD_INDENT) == 0;

        if (!empty && fold && buf_len(line) + 1 + strlen(w) > FOLD_WIDTH) {
            fputs(buf_str(line), stdout);
            putchar('\n');
            buf_set(line, FOLD_INDENT);
            empty = true;
        }
        if (!empty)
            buf_catc(line, ' ');
        buf_cat(line, w);
    }
    argv_free(words);
    fputs(buf_str(line), stdout);
    putchar('\n');
}

/* print_param - one parameter in the form the flags ask for */
static void print_param(const char *name, const char *value, int flags)
{
    struct buf line = BUF_INIT;

    if (flags & F_NOVALUE) {
        puts(name);
        return;
    }
    if (!(flags & F_NONAME))
        buf_setf(&line, "%s =", name);
    print_words(&line, value, (flags & F_FOLD) != 0);
    buf_fini(&line);
}

/* value_of - the value of NAME to print: default or set, expanded for -x */
static const char *value_of(const char *name, int flags, struct buf *out)
{
    const char *raw =
        (flags & F_DEFAULTS) ? conf_default(name) : conf_raw(name);
    struct buf why = BUF_INIT;

    if (raw == NULL)
        raw = "";
    if (!(flags & F_EXPAND) || conf_is_raw(name))
        return raw;
    buf_reset(out);
    if (conf_expand(raw, out, &why, NULL) < 0) {
        msg_warn("%s", buf_str(&why));
        msg_fatal("macro processing error");
    }
    buf_fini(&why);
    return buf_str(out);
}

static struct htable *undef_seen; /* names already warned about */
static const char *undef_file;    /* "main.cf" or "master.cf" path */

/* warn_undef - one "undefined parameter" warning per name */
static void warn_undef(const char *name)
{
    if (htable_find(undef_seen, name) == NULL) {
        htable_enter(undef_seen, name, (void *) 1);
        msg_warn("%s: undefined parameter: %s", undef_file, name);
    }
}

/* scan_text - Postfix's check of one value: undefined names and syntax */
static void scan_text(const char *text)
{
    struct buf why = BUF_INIT;

    if (conf_scan(text, &why, warn_undef) < 0)
        msg_warn("%s", buf_str(&why));
    buf_fini(&why);
}

/* scan_undefined - Postfix's "undefined parameter" warnings: names that a
 * main.cf value or a master.cf -o value refers to and that have no value */
static void scan_undefined(void)
{
    struct argv *names = conf_names(CONF_NAMES_SET);
    const struct argv *opts = conf_master_options();
    struct buf master = BUF_INIT;

    undef_seen = htable_new(16);
    undef_file = conf_main_cf();
    for (size_t i = 0; i < names->argc; i++)
        if (!conf_is_raw(names->argv[i]) && !conf_is_readonly(names->argv[i]))
            scan_text(conf_raw(names->argv[i]));
    argv_free(names);
    buf_setf(&master, "%s/master.cf", conf_dir());
    undef_file = buf_str(&master);
    for (size_t i = 0; i < opts->argc; i++)
        scan_text(strchr(opts->argv[i], '=') + 1);
    buf_fini(&master);
    htable_free(undef_seen, NULL);
    undef_seen = NULL;
}

/* scan_unused - Postfix's "unused parameter" warnings, for main.cf and
 * for the -o settings of master.cf */
static void scan_unused(bool main_cf)
{
    struct argv *names = conf_names(CONF_NAMES_SET);
    const struct argv *opts = conf_master_options();

    for (size_t i = 0; main_cf && i < names->argc; i++)
        if (!conf_is_known(names->argv[i]))
            msg_warn("%s: unused parameter: %s=%s", conf_main_cf(),
                     names->argv[i], conf_raw(names->argv[i]));
    argv_free(names);
    for (size_t i = 0; i < opts->argc; i++) {
        const char *eq = strchr(opts->argv[i], '=');
        char *name = mem_strndup(opts->argv[i], (size_t) (eq - opts->argv[i]));

        if (!conf_is_known(name))
            msg_warn("%s/master.cf: unused parameter: %s", conf_dir(),
                     opts->argv[i]);
        mem_free(name);
    }
}

/* is_sep - a separator of list elements */
static bool is_sep(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',';
}

static void brace_check(const char *label, struct span text);

/* check_group - the "{" at G opens a group in the element TOKEN: it must
 * close, at the end of the element; its inside is a list again */
static void check_group(const char *label, struct span token, const char *g)
{
    const char *end = token.p + token.len;
    const char *q;
    int level = 0;

    for (q = g; q < end; q++) {
        if (*q == '{')
            level++;
        else if (*q == '}' && --level == 0)
            break;
    }
    if (q >= end) {
        msg_warn("%s: missing '}' in \"%.*s\"", label, (int) (end - g), g);
        brace_check(label, span_make(g + 1, (size_t) (end - g - 1)));
    } else if (q + 1 < end) {
        msg_warn("%s: syntax error after '}' in \"%.*s\"", label,
                 (int) (end - g), g);
    } else {
        brace_check(label, span_make(g + 1, (size_t) (q - g - 1)));
    }
}

/* brace_check - Postfix's check of "{ ... }" groups in a list value:
 * elements are separated by white space and commas outside braces; an
 * element that starts with "{", or has "type:{", holds a group */
static void brace_check(const char *label, struct span text)
{
    const char *p = text.p;
    const char *end = text.p + text.len;

    while (p < end) {
        const char *s;
        int level = 0;

        while (p < end && is_sep(*p))
            p++;
        if (p >= end)
            break;
        for (s = p; p < end && (level > 0 || !is_sep(*p)); p++) {
            if (*p == '{')
                level++;
            else if (*p == '}' && level > 0)
                level--;
        }
        if (*s == '{') {
            check_group(label, span_make(s, (size_t) (p - s)), s);
        } else {
            for (const char *c = s; c + 1 < p; c++) {
                if (c[0] == ':' && c[1] == '{') {
                    check_group(label, span_make(s, (size_t) (p - s)), c + 1);
                    break;
                }
            }
        }
    }
}

/* check_values - as Postfix's postconf does: expand every parameter (a
 * macro error is fatal) and check the "{ }" groups of the values, and of
 * the master.cf -o values */
static void check_values(void)
{
    struct argv *set = conf_names(CONF_NAMES_SET);
    struct argv *defaults = conf_names(CONF_NAMES_DEFAULTS);
    struct htable *listed = htable_new(1024);
    struct argv *names = argv_new();
    const struct argv *opts = conf_master_options();
    const struct argv *where = conf_master_option_services();
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    struct buf label = BUF_INIT;

    /* The parameters set in main.cf first, so that an error names what
     * Postfix names; then every other one. */
    for (size_t i = 0; i < defaults->argc; i++)
        htable_enter(listed, defaults->argv[i], NULL);
    for (size_t i = 0; i < set->argc; i++)
        if (htable_locate(listed, set->argv[i]))
            argv_add(names, set->argv[i]);
    for (size_t i = 0; i < defaults->argc; i++)
        argv_add(names, defaults->argv[i]);
    argv_free(set);
    argv_free(defaults);
    htable_free(listed, NULL);
    for (size_t i = 0; i < names->argc; i++) {
        if (conf_is_raw(names->argv[i]) || conf_is_readonly(names->argv[i]))
            continue;
        buf_reset(&out);
        if (conf_expand(conf_raw(names->argv[i]), &out, &why, NULL) < 0) {
            msg_warn("%s", buf_str(&why));
            msg_fatal("macro processing error");
        }
        /* Postfix checks the groups of what main.cf sets (expanded). */
        if (conf_is_set(names->argv[i], NULL))
            brace_check("main.cf", span_of(buf_str(&out)));
    }
    argv_free(names);
    for (size_t i = 0; i < opts->argc; i++) {
        buf_reset(&out);
        if (conf_expand(strchr(opts->argv[i], '=') + 1, &out, &why, NULL) < 0)
            continue;
        buf_setf(&label, "master.cf:%s", where->argv[i]);
        brace_check(buf_str(&label), span_of(buf_str(&out)));
    }
    buf_fini(&out);
    buf_fini(&why);
    buf_fini(&label);
}

/* load - read the configuration as postconf does, with its warnings */
static void load(int flags, struct argv *overrides)
{
    struct buf why = BUF_INIT;
    struct stat st;

    if (!(flags & F_DEFAULTS) && stat(conf_main_cf(), &st) < 0)
        msg_fatal("open %s: %m", conf_main_cf());
    if (flags & F_DEFAULTS)
        conf_defaults_only(true);
    if (conf_load(&why) < 0 && !(flags & F_DEFAULTS))
        msg_fatal("%s", buf_str(&why));
    buf_fini(&why);
    for (size_t i = 0; i < overrides->argc; i++) {
        const char *eq = strchr(overrides->argv[i], '=');
        char *name =
            mem_strndup(overrides->argv[i], (size_t) (eq - overrides->argv[i]));

        conf_override(name, eq + 1);
        mem_free(name);
    }
    if (conf_master_cf_missing())
        msg_warn("open %s/master.cf: No such file or directory", conf_dir());
    else
        postconf_master_verify();
    if (flags & F_DEFAULTS) {
        conf_defaults_only(true);
        return;
    }
    scan_undefined();
    {
        struct argv *set = conf_names(CONF_NAMES_SET);

        for (size_t i = 0; i < set->argc; i++) {
            int line = 0;

            if (conf_is_readonly(set->argv[i])
                && conf_is_set(set->argv[i], &line) && line > 0) {
                msg_warn("%s: read-only parameter assignment: %s=%s",
                         conf_main_cf(), set->argv[i],
                         conf_set_text(set->argv[i]));
            }
        }
        argv_free(set);
    }
    check_values();
}

/* cmp_str - qsort strings */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* load_for_master - -M, -F, -P: main.cf must exist and parse, and the
 * -o settings of master.cf get Postfix's warnings */
static void load_for_master(void)
{
    struct buf why = BUF_INIT;
    struct stat st;

    if (stat(conf_main_cf(), &st) < 0)
        msg_fatal("open %s: %m", conf_main_cf());
    if (conf_load(&why) < 0)
        msg_fatal("%s", buf_str(&why));
    buf_fini(&why);
    scan_undefined();
    check_values();
    scan_unused(false);
}

/* print_params - no names: every parameter; names: those, in order */
static int print_params(int flags, char **names, int count)
{
    struct buf val = BUF_INIT;

    if (count == 0) {
        struct argv *all = conf_names((flags & F_DEFAULTS) ? CONF_NAMES_DEFAULTS
                                      : (flags & F_NONDEF) ? CONF_NAMES_SET
                                                           : CONF_NAMES_ALL);

        if (flags & F_NONDEF) {
            /* -n: the main.cf names that postconf knows, sorted. */
            struct argv *known = argv_new();

            for (size_t i = 0; i < all->argc; i++)
                if (conf_is_known(all->argv[i])
                    && !conf_is_readonly(all->argv[i]))
                    argv_add(known, all->argv[i]);
            argv_free(all);
            all = known;
            qsort(all->argv, all->argc, sizeof(char *), cmp_str);
        }
        for (size_t i = 0; i < all->argc; i++)
            print_param(all->argv[i], value_of(all->argv[i], flags, &val),
                        flags);
        argv_free(all);
    } else {
        for (int i = 0; i < count; i++) {
            if (!conf_is_known(names[i])
                || ((flags & F_DEFAULTS) && conf_default(names[i]) == NULL)) {
                msg_warn("%s: unknown parameter", names[i]);
                continue;
            }
            if ((flags & F_NONDEF) && !conf_is_set(names[i], NULL))
                continue;
            print_param(names[i], value_of(names[i], flags, &val), flags);
        }
    }
    buf_fini(&val);
    if (!(flags & F_DEFAULTS))
        scan_unused(true);
    return 0;
}

/*
 * Editing main.cf: -e, -X, -#.
 */

/* line_name - the parameter name that physical line LINE starts, into
 * NAME; false for comments, blank lines and continuation lines */
static bool line_name(const char *line, struct buf *name)
{
    const char *p = line;

    if (*p == 0 || isspace((unsigned char) *p) || *p == '#')
        return false;
    while (*p && !isspace((unsigned char) *p) && *p != '=')
        p++;
    buf_setf(name, "%.*s", (int) (p - line), line);
    return true;
}

/* is_continuation - a white-space-led line that is not blank or comment */
static bool is_continuation(const char *line)
{
    const char *p = line;

    if (!isspace((unsigned char) *p))
        return false;
    while (isspace((unsigned char) *p))
        p++;
    return *p != 0 && *p != '#';
}

/* split_setting - "name=value" or "name = value" into NAME and VALUE */
static void split_setting(const char *arg, struct buf *name, struct buf *value)
{
    const char *eq = strchr(arg, '=');
    struct span n, v;
    struct span all = span_of(arg); /* as messages quote it: no leading
                                     * white space */

    while (all.len && isspace((unsigned char) *all.p)) {
        all.p++;
        all.len--;
    }
    if (eq == NULL)
        msg_fatal("missing '=' after attribute name: \"%.*s\"", (int) all.len,
                  all.p);
    n = span_trim(span_make(arg, (size_t) (eq - arg)));
    if (n.len == 0)
        msg_fatal("missing attribute name: \"%.*s\"", (int) all.len, all.p);
    v = span_trim(span_of(eq + 1));
    buf_reset(name);
    buf_catspan(name, n);
    buf_reset(value);
    buf_catspan(value, v);
}

/* edit_main_cf - apply -e, -X or -# for ARGS to main.cf */
static int edit_main_cf(enum mode mode, char **args, int count)
{
    const char *path = conf_main_cf();
    struct htable *want = htable_new(16); /* name -> index into args + 1 */
    struct htable *hits = htable_new(16); /* name -> count of entries */
    struct argv *names = argv_new();
    struct argv *values = argv_new();
    struct buf name = BUF_INIT, value = BUF_INIT, out = BUF_INIT;
    struct buf tmp = BUF_INIT;
    FILE *fp;
    char *line = NULL;
    size_t size = 0;
    ssize_t n;
    const char *cur = NULL; /* name of the logical line being edited */
    struct stat st;

    for (int i = 0; i < count; i++) {
        if (mode == MODE_EDIT) {
            split_setting(args[i], &name, &value);
        } else if (strchr(args[i], '=') != NULL) {
            msg_fatal("specify one of -e -X");
        } else {
            buf_set(&name, args[i]);
            buf_reset(&value);
        }
        if (htable_find(want, buf_str(&name)) == NULL) {
            argv_add(names, buf_str(&name));
            argv_add(values, buf_str(&value));
            htable_enter(want, buf_str(&name),
                         (void *) (uintptr_t) names->argc);
        } else {
            size_t k = (uintptr_t) htable_find(want, buf_str(&name)) - 1;

            if (mode == MODE_EDIT)
                msg_warn("ignoring earlier request: '%s = %s'", names->argv[k],
                         values->argv[k]);
            mem_free(values->argv[k]);
            values->argv[k] = mem_strdup(buf_str(&value));
        }
    }
    if ((fp = fopen(path, "r")) == NULL)
        msg_fatal("open %s for reading: %m", path);
    while ((n = getline(&line, &size, fp)) >= 0) {
        bool nl = n > 0 && line[n - 1] == '\n';

        if (nl)
            line[--n] = 0;
        if (line_name(line, &name)) {
            void *k = htable_find(want, buf_str(&name));

            cur = NULL;
            if (k != NULL) {
                struct htable_entry *h;
                size_t idx = (uintptr_t) k - 1;

                cur = names->argv[idx];
                if ((h = htable_locate(hits, cur)) == NULL)
                    htable_enter(hits, cur, (void *) 1);
                else
                    h->value = (void *) ((uintptr_t) h->value + 1);
                if (mode == MODE_EDIT)
                    buf_catf(&out, "%s = %s\n", cur, values->argv[idx]);
                else if (mode == MODE_COMMENT)
                    buf_catf(&out, "#%s%s", line, nl ? "\n" : "");
                continue;
            }
        } else if (cur != NULL && is_continuation(line)) {
            if (mode == MODE_COMMENT)
                buf_catf(&out, "#%s%s", line, nl ? "\n" : "");
            continue;
        }
        /* Copied as read: Postfix keeps a missing final newline too. */
        buf_cat(&out, line);
        if (nl)
            buf_catc(&out, '\n');
    }
    free(line);
    if (ferror(fp))
        msg_fatal("read %s: %m", path);
    fclose(fp);
    for (size_t i = 0; i < names->argc; i++) {
        uintptr_t c = (uintptr_t) htable_find(hits, names->argv[i]);

        if (c > 1)
            msg_warn("%s: multiple entries for \"%s\"", path, names->argv[i]);
        if (c == 0 && mode == MODE_EDIT)
            buf_catf(&out, "%s = %s\n", names->argv[i], values->argv[i]);
    }
    /* Write a new file and rename it over main.cf, so that a reader never
     * sees half a file; keep the old file's permissions. */
    buf_setf(&tmp, "%s.tmp", path);
    if ((fp = fopen(buf_str(&tmp), "w")) == NULL)
        msg_fatal("open %s: %m", buf_str(&tmp));
    if (stat(path, &st) == 0)
        (void) fchmod(fileno(fp), st.st_mode & 07777);
    if (fwrite(buf_str(&out), 1, buf_len(&out), fp) != buf_len(&out)
        || fflush(fp) != 0 || fsync(fileno(fp)) != 0 || fclose(fp) != 0)
        msg_fatal("write %s: %m", buf_str(&tmp));
    if (rename(buf_str(&tmp), path) < 0)
        msg_fatal("rename %s to %s: %m", buf_str(&tmp), path);
    buf_fini(&tmp);
    buf_fini(&out);
    buf_fini(&name);
    buf_fini(&value);
    argv_free(names);
    argv_free(values);
    htable_free(want, NULL);
    htable_free(hits, NULL);
    return 0;
}

/* set_mode - record MODE, rejecting a second, different one */
static void set_mode(enum mode *cur, enum mode want)
{
    if (*cur != MODE_PRINT && *cur != want)
        usage();
    *cur = want;
}

/* postconf_main - the postconf command */
int postconf_main(int argc, char **argv)
{
    enum mode mode = MODE_PRINT;
    int flags = 0;
    int ch;
    struct argv *overrides = argv_new();
    int rc = 0;

    msg_init(argv[0]);
    /* "+": options end at the first name, as with Postfix's getopt. */
    opterr = 1;
    optind = 1;
    while ((ch = getopt(argc, argv, "+aAc:deEfFhHlmMno:pPvxX#")) > 0) {
        switch (ch) {
            case 'a':
            case 'A':
                set_mode(&mode, MODE_SASL);
                break;
            case 'c':
                conf_set_dir(optarg);
                break;
            case 'd':
                flags |= F_DEFAULTS;
                break;
            case 'e':
                set_mode(&mode, MODE_EDIT);
                break;
            case 'f':
                flags |= F_FOLD;
                break;
            case 'F':
                set_mode(&mode, MODE_FIELDS);
                break;
            case 'h':
                flags |= F_NONAME;
                break;
            case 'H':
                flags |= F_NOVALUE;
                break;
            case 'l':
                set_mode(&mode, MODE_LOCKS);
                break;
            case 'm':
                set_mode(&mode, MODE_MAPS);
                break;
            case 'M':
                set_mode(&mode, MODE_MASTER);
                break;
            case 'n':
                flags |= F_NONDEF;
                break;
            case 'o':
                if (strchr(optarg, '=') == NULL)
                    msg_fatal("invalid '-o' argument: \"%s\"", optarg);
                argv_add(overrides, optarg);
                break;
            case 'p':
                /* main.cf parameters: the default mode. */
                break;
            case 'P':
                set_mode(&mode, MODE_PARAMS);
                break;
            case 'v':
                msg_verbose++;
                break;
            case 'x':
                flags |= F_EXPAND;
                break;
            case 'X':
                set_mode(&mode, MODE_EXCLUDE);
                break;
            case '#':
                set_mode(&mode, MODE_COMMENT);
                break;
            default:
                /* Also -E: Postfix takes it, then prints the usage. */
                usage();
        }
    }
    if ((flags & F_DEFAULTS) && (flags & F_NONDEF))
        msg_fatal("specify one of -d -n");
    argc -= optind;
    argv += optind;
    /* "postconf name=value" edits main.cf, as -e does (Postfix < 2.x). */
    for (int i = 0; mode == MODE_PRINT && i < argc; i++)
        if (strchr(argv[i], '=') != NULL)
            mode = MODE_EDIT;
    switch (mode) {
        case MODE_SASL:
            /* ulak has no working SASL plug-in yet: list none, as -m lists
             * only the table types that work. */
            break;
        case MODE_LOCKS:
            fputs("flock\nfcntl\ndotlock\n", stdout);
            break;
        case MODE_MAPS: {
            const struct dict_type *const *t = dict_type_list();
            struct argv *types = argv_new();

            for (; t && *t; t++)
                argv_add(types, (*t)->name);
            qsort(types->argv, types->argc, sizeof(char *), cmp_str);
            for (size_t i = 0; i < types->argc; i++)
                puts(types->argv[i]);
            argv_free(types);
            break;
        }
        case MODE_MASTER:
            load_for_master();
            rc = postconf_master_entries(argv, argc, (flags & F_FOLD) != 0);
            break;
        case MODE_FIELDS:
            load_for_master();
            rc = postconf_master_fields(argv, argc);
            break;
        case MODE_PARAMS:
            load_for_master();
            rc = postconf_master_params(argv, argc);
            break;
        case MODE_EDIT:
            if (argc == 0)
                msg_fatal("-e requires name=value argument");
            rc = edit_main_cf(mode, argv, argc);
            break;
        case MODE_EXCLUDE:
        case MODE_COMMENT:
            /* Postfix's words, odd as they are for main.cf names. */
            if (argc == 0)
                msg_fatal("missing service argument");
            rc = edit_main_cf(mode, argv, argc);
            break;
        case MODE_PRINT:
            load(flags, overrides);
            rc = print_params(flags, argv, argc);
            break;
    }
    argv_free(overrides);
    if (fflush(stdout) != 0 || ferror(stdout))
        msg_fatal("write error: %m");
    return rc;
}
