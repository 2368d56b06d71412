/*
 * postmap - Postfix lookup table management (postmap(1)).
 *
 * Builds indexed tables from their text source, queries (-q), lists (-s)
 * and deletes (-d) entries of any table type that dict_open knows.  The
 * messages, option checks and exit codes are Postfix 3.7's: a query exits 0
 * when found and 1 otherwise; every error is fatal (exit 1).
 */
#include "postmap.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/argv.h"
#include "../lib/dict.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../global/alias_src.h"
#include "../global/conf.h"
#include "../global/mime_keys.h"
#include "../global/tbl_src.h"
#include "cmd.h"

enum postmap_mode {
    MODE_BUILD,
    MODE_QUERY,
    MODE_DELETE,
    MODE_SEQUENCE,
};

struct postmap_ctx {
    const struct postmap_spec *spec;
    int dict_flags;  /* fold, NUL and duplicate flags from the options */
    bool incr;       /* -i */
    bool keep_perms; /* not -p */
    bool utf8;       /* smtputf8_enable and not -u: check the input */
    bool keep_root;  /* -o */
    bool base64;     /* -F */
    bool hdr_keys;   /* -h */
    bool body_keys;  /* -b */
    bool mime;       /* -m */
    const char *deftype;
};

/* split_map - TYPE and NAME of a command-line table argument (owned) */
static void split_map(const struct postmap_ctx *ctx, const char *arg,
                      char **type, char **name)
{
    const char *colon = strchr(arg, ':');

    if (colon != NULL) {
        *type = mem_strndup(arg, (size_t) (colon - arg));
        *name = mem_strdup(colon + 1);
    } else {
        *type = mem_strdup(ctx->deftype);
        *name = mem_strdup(arg);
    }
}

/* open_map - open ARG with OPEN_FLAGS or die with the table's reason */
static struct dict *open_map(const struct postmap_ctx *ctx, const char *arg,
                             int open_flags, int extra_flags)
{
    struct buf why = BUF_INIT;
    struct dict *d;
    char *type;
    char *name;

    split_map(ctx, arg, &type, &name);
    d = dict_open3(type, name, open_flags, ctx->dict_flags | extra_flags, &why);
    if (d == NULL)
        msg_fatal("%s", buf_str(&why));
    mem_free(type);
    mem_free(name);
    buf_fini(&why);
    return d;
}

/* print_entry - "key<TAB>value" (postmap) or "key:<TAB>value" (postalias) */
static void print_entry(const struct postmap_ctx *ctx, const char *key,
                        const char *value)
{
    printf("%s%s\t%s\n", key, ctx->spec->aliases ? ":" : "", value);
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64_encode - IN (LEN bytes) in base64 with padding into OUT */
static void b64_encode(const unsigned char *in, size_t len, struct buf *out)
{
    buf_reset(out);
    for (size_t i = 0; i < len; i += 3) {
        unsigned long v = (unsigned long) in[i] << 16;

        if (i + 1 < len)
            v |= (unsigned long) in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        buf_catc(out, b64chars[(v >> 18) & 63]);
        buf_catc(out, b64chars[(v >> 12) & 63]);
        buf_catc(out, i + 1 < len ? b64chars[(v >> 6) & 63] : '=');
        buf_catc(out, i + 2 < len ? b64chars[v & 63] : '=');
    }
}

/* b64_decode - base64 IN into OUT; -1 when IN is malformed */
static int b64_decode(const char *in, struct buf *out)
{
    size_t len = strlen(in);

    buf_reset(out);
    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        unsigned long v = 0;
        int pad = 0;

        for (size_t j = 0; j < 4; j++) {
            const char *c = strchr(b64chars, in[i + j]);

            if (in[i + j] == '=' && i + 4 == len && j >= 2) {
                pad++;
                v <<= 6;
            } else if (in[i + j] == 0 || c == NULL || pad > 0) {
                return -1;
            } else {
                v = (v << 6) | (unsigned long) (c - b64chars);
            }
        }
        buf_catc(out, (int) ((v >> 16) & 255));
        if (pad < 2)
            buf_catc(out, (int) ((v >> 8) & 255));
        if (pad < 1)
            buf_catc(out, (int) (v & 255));
    }
    return 0;
}

/* decode_value - -F: replace VALUE with its base64 decoding, or die */
static void decode_value(const struct dict *d, const char *key,
                         struct buf *value)
{
    struct buf plain = BUF_INIT;

    if (b64_decode(buf_str(value), &plain) < 0) {
        msg_warn("table %s:%s: key %s: malformed BASE64 value: %s", d->type,
                 d->name, key, buf_str(value));
        msg_fatal("table %s:%s: query error", d->type, d->name);
    }
    buf_reset(value);
    buf_catn(value, buf_str(&plain), buf_len(&plain));
    buf_fini(&plain);
}

/* op_fatal - die after OP failed on D: an operation the type lacks is
 * reported as such, any other failure as "table T:N: OP error: REASON" */
static void op_fatal(struct dict *d, const char *op)
{
    if (dict_unsupported(d))
        msg_fatal("%s", dict_why(d));
    msg_fatal("table %s:%s: %s error: %s", d->type, d->name, op, dict_why(d));
}

/* lookup_one - KEY in the tables in order; true when found */
static bool lookup_one(struct dict **maps, char **args, int count,
                       const struct postmap_ctx *ctx, const char *key,
                       struct buf *value)
{
    for (int i = 0; i < count; i++) {
        if (maps[i] == NULL)
            maps[i] = open_map(ctx, args[i], O_RDONLY, DICT_FLAG_LOCK);
        switch (dict_lookup(maps[i], key, value)) {
            case LK_FOUND:
                if (ctx->base64)
                    decode_value(maps[i], key, value);
                return true;
            case LK_NOTFOUND:
                break;
            case LK_TEMPFAIL:
                msg_fatal("table %s:%s: query error: %s", maps[i]->type,
                          maps[i]->name, dict_why(maps[i]));
        }
    }
    return false;
}

/* read_key - the next line of standard input without its newline */
static bool read_key(struct buf *key)
{
    int c;

    buf_reset(key);
    while ((c = getchar()) != EOF && c != '\n')
        buf_catc(key, c);
    return c != EOF || buf_len(key) > 0;
}

struct msg_query {
    const struct postmap_ctx *ctx;
    struct dict **maps;
    char **args;
    int count;
    struct buf value;
    bool found;
};

/* msg_key - -h/-b: look up one header or body key of the message */
static void msg_key(enum mime_keys_kind kind, const char *key, void *ptr)
{
    struct msg_query *q = ptr;

    switch (kind) {
        case MIME_KEYS_HEADER:
            if (!q->ctx->hdr_keys)
                return;
            break;
        case MIME_KEYS_BODY:
            if (!q->ctx->body_keys)
                return;
            break;
    }
    if (lookup_one(q->maps, q->args, q->count, q->ctx, key, &q->value)) {
        print_entry(q->ctx, key, buf_str(&q->value));
        q->found = true;
    }
}

/* do_msg_query - -q - with -h/-b: the keys of the message on stdin */
static int do_msg_query(const struct postmap_ctx *ctx, char **args, int count)
{
    struct msg_query q = {.ctx = ctx, .args = args, .count = count};
    struct mime_keys m;
    struct buf line = BUF_INIT;

    q.maps = mem_calloc((size_t) count, sizeof(*q.maps));
    buf_init(&q.value, 0);
    mime_keys_init(&m, ctx->mime, msg_key, &q);
    while (read_key(&line))
        mime_keys_line(&m, buf_str(&line));
    mime_keys_end(&m);
    mime_keys_fini(&m);
    for (int i = 0; i < count; i++)
        dict_close(q.maps[i]);
    mem_free(q.maps);
    buf_fini(&q.value);
    buf_fini(&line);
    return q.found ? 0 : 1;
}

/* do_query - -q KEY or -q -: print what the tables answer */
static int do_query(const struct postmap_ctx *ctx, const char *key, char **args,
                    int count)
{
    struct dict **maps = mem_calloc((size_t) count, sizeof(*maps));
    struct buf value = BUF_INIT;
    struct buf line = BUF_INIT;
    bool found = false;

    if (strcmp(key, "-") != 0) {
        if ((found = lookup_one(maps, args, count, ctx, key, &value)))
            printf("%s\n", buf_str(&value));
    } else {
        while (read_key(&line)) {
            if (lookup_one(maps, args, count, ctx, buf_str(&line), &value)) {
                print_entry(ctx, buf_str(&line), buf_str(&value));
                found = true;
            }
        }
    }
    for (int i = 0; i < count; i++)
        dict_close(maps[i]);
    mem_free(maps);
    buf_fini(&value);
    buf_fini(&line);
    return found ? 0 : 1;
}

/* delete_one - remove KEY from every table; true when one had it */
static bool delete_one(struct dict **maps, int count, const char *key)
{
    bool found = false;

    for (int i = 0; i < count; i++) {
        switch (dict_delete(maps[i], key)) {
            case 0:
                found = true;
                break;
            case 1:
                break;
            default:
                op_fatal(maps[i], "delete");
        }
    }
    return found;
}

/* do_delete - -d KEY or -d -: remove one entry per table */
static int do_delete(const struct postmap_ctx *ctx, const char *key,
                     char **args, int count)
{
    struct dict **maps = mem_calloc((size_t) count, sizeof(*maps));
    struct buf line = BUF_INIT;
    bool found = false;

    for (int i = 0; i < count; i++)
        maps[i] = open_map(ctx, args[i], O_RDWR, DICT_FLAG_LOCK);
    if (strcmp(key, "-") != 0) {
        found = delete_one(maps, count, key);
    } else {
        while (read_key(&line))
            if (delete_one(maps, count, buf_str(&line)))
                found = true;
    }
    for (int i = 0; i < count; i++) {
        if (dict_sync(maps[i]) < 0)
            msg_fatal("%s", dict_why(maps[i]));
        dict_close(maps[i]);
    }
    mem_free(maps);
    buf_fini(&line);
    return found ? 0 : 1;
}

/* do_sequence - -s: list every entry of every table */
static int do_sequence(const struct postmap_ctx *ctx, char **args, int count)
{
    for (int i = 0; i < count; i++) {
        struct dict *d = open_map(ctx, args[i], O_RDONLY, DICT_FLAG_LOCK);
        enum dict_seq func = DICT_SEQ_FIRST;
        struct buf plain = BUF_INIT;
        const char *key;
        const char *value;
        int r;

        while ((r = dict_sequence(d, func, &key, &value)) == 0) {
            if (*key == 0)
                msg_warn("table %s:%s: empty lookup key value is not allowed",
                         d->type, d->name);
            if (ctx->base64) {
                buf_set(&plain, value);
                decode_value(d, key, &plain);
                value = buf_str(&plain);
            }
            print_entry(ctx, key, value);
            func = DICT_SEQ_NEXT;
        }
        if (r < 0)
            op_fatal(d, "sequence");
        dict_close(d);
        buf_fini(&plain);
    }
    return 0;
}

/* db_suffix - the file that a build of TYPE:NAME writes, for its mode */
static const char *db_suffix(const char *type)
{
    if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0)
        return ".db";
    if (strcmp(type, "lmdb") == 0)
        return ".lmdb";
    if (strcmp(type, "cdb") == 0)
        return ".cdb";
    return NULL;
}

/* update - store KEY=VALUE or die */
static void update(struct dict *d, const char *key, const char *value)
{
    if (dict_update(d, key, value) < 0)
        op_fatal(d, "write");
}

/* update_raw - store an entry without the NUL byte whatever the table's
 * form (Postfix writes the YP_* entries of an alias database that way) */
static void update_raw(struct dict *d, const char *key, const char *value)
{
    int saved = d->flags;

    d->flags = (d->flags & ~DICT_FLAG_TRY1NULL) | DICT_FLAG_TRY0NULL;
    d->flags &= ~DICT_FLAG_FOLD_FIX;
    d->flags |= DICT_FLAG_DUP_REPLACE;
    d->flags &= ~(DICT_FLAG_DUP_WARN | DICT_FLAG_DUP_IGNORE);
    update(d, key, value);
    d->flags = saved;
}

/* alias_extras - the "@" and YP_* entries of an alias database */
static void alias_extras(struct dict *d)
{
    int saved = d->flags;
    char stamp[32];

    /* They are rewritten at every update, so never a duplicate. */
    d->flags = (d->flags & ~(DICT_FLAG_DUP_WARN | DICT_FLAG_DUP_IGNORE))
               | DICT_FLAG_DUP_REPLACE;
    update(d, "@", "@");
    (void) snprintf(stamp, sizeof(stamp), "%ld", (long) time(NULL));
    update_raw(d, "YP_LAST_MODIFIED", stamp);
    update_raw(d, "YP_MASTER_NAME", conf_str("myhostname"));
    d->flags = saved;
}

/* file_value - -F: the base64 of the files named in VALUE; false (with a
 * warning) when one cannot be read */
static bool file_value(const char *src, int lineno, struct buf *value)
{
    struct argv *files = argv_split(buf_str(value), ", \t\r\n");
    struct buf data = BUF_INIT;
    bool ok = true;

    for (size_t i = 0; ok && i < files->argc; i++) {
        FILE *fp = fopen(files->argv[i], "re");
        char chunk[8192];
        size_t n;

        if (fp == NULL) {
            msg_warn("%s, line %d: open %s: %m: skipping this entry", src,
                     lineno, files->argv[i]);
            ok = false;
            break;
        }
        if (i > 0)
            buf_catc(&data, '\n');
        while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
            buf_catn(&data, chunk, n);
        if (ferror(fp)) {
            msg_warn("%s, line %d: read %s: %m: skipping this entry", src,
                     lineno, files->argv[i]);
            ok = false;
        }
        (void) fclose(fp);
    }
    if (ok)
        b64_encode((const unsigned char *) buf_str(&data), buf_len(&data),
                   value);
    argv_free(files);
    buf_fini(&data);
    return ok;
}

/* build_one - build (or with -i, update) the table ARG from its source */
static void build_one(const struct postmap_ctx *ctx, const char *arg)
{
    struct buf why = BUF_INIT;
    struct buf line = BUF_INIT;
    struct buf key = BUF_INIT;
    struct buf value = BUF_INIT;
    struct tbl_src src;
    struct dict *d;
    struct stat st;
    const struct dict_type *dt;
    const char *suffix;
    char *type;
    char *name;
    char *path = NULL;
    mode_t mode = 0644;
    uid_t uid = (uid_t) -1;
    gid_t gid = (gid_t) -1;
    mode_t old_umask;
    sigset_t block;
    sigset_t saved_mask;
    int open_flags = O_RDWR | O_CREAT;
    int flags = DICT_FLAG_LOCK;
    int lineno;

    split_map(ctx, arg, &type, &name);
    if (strcmp(type, "proxy") == 0 && !ctx->incr)
        msg_fatal("can't create maps via the proxy service");
    if (ctx->incr) {
        tbl_src_fdopen(&src, stdin, "stdin");
    } else {
        if (tbl_src_open(&src, name, &why) < 0)
            msg_fatal("%s", buf_str(&why));
        open_flags |= O_TRUNC;
        flags |= DICT_FLAG_BULK_UPDATE;
        /* A new table gets the source file's group and other read bits. */
        if (fstat(fileno(src.fp), &st) == 0) {
            if (ctx->keep_perms)
                mode = 0600 | (st.st_mode & 044);
            /* Postfix run by root builds as the source file's owner (unless
             * -o): the new table belongs to that owner. */
            if (geteuid() == 0 && !ctx->keep_root && st.st_uid != 0) {
                uid = st.st_uid;
                gid = st.st_gid;
            }
        }
    }
    /* Only the indexed types (and fail, for tests) can be built. */
    dt = dict_type_find(type);
    if (dt == NULL && strcmp(type, "proxy") != 0)
        msg_fatal("unsupported dictionary type: %s. Is the postfix-%s package "
                  "installed?",
                  type, type);
    if ((dt == NULL || (dt->flags & DICT_TYPE_INDEXED) == 0)
        && strcmp(type, "fail") != 0)
        msg_fatal("unsupported dictionary type: %s does not support "
                  "bulk-mode creation.",
                  type);
    /* An existing table keeps its mode. */
    if ((suffix = db_suffix(type)) != NULL) {
        struct buf b = BUF_INIT;

        buf_setf(&b, "%s%s", name, suffix);
        path = buf_steal(&b);
        if (stat(path, &st) == 0) {
            mode = st.st_mode & 07777;
            uid = st.st_uid;
            gid = st.st_gid;
        }
    }
    /* As Postfix: signals wait until the table is complete. */
    sigemptyset(&block);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &saved_mask);
    old_umask = umask((mode_t) (~mode & 0777));
    d = dict_open3(type, name, open_flags, ctx->dict_flags | flags, &why);
    (void) umask(old_umask);
    if (d == NULL)
        msg_fatal("%s", buf_str(&why));
    while (tbl_src_next(&src, &line, &lineno)) {
        int r;

        if (ctx->utf8 && !tbl_src_utf8_ok(buf_str(&line))) {
            tbl_src_utf8_show(buf_str(&line), &value);
            msg_warn("%s, line %d: non-UTF-8 input \"%s\" -- ignoring this "
                     "line",
                     src.name, lineno, buf_str(&value));
            continue;
        }
        if (ctx->spec->aliases)
            r = alias_src_parse(buf_str(&line), &key, &value, &why);
        else
            r = tbl_src_split(buf_str(&line), &key, &value, &why);
        if (r < 0) {
            msg_warn("%s, line %d: %s", src.name, lineno, buf_str(&why));
            continue;
        }
        if (!ctx->spec->aliases && buf_str(&key)[buf_len(&key) - 1] == ':')
            msg_warn("%s, line %d: record is in \"key: value\" format; is "
                     "this an alias file?",
                     src.name, lineno);
        if (ctx->base64 && !file_value(src.name, lineno, &value))
            continue;
        update(d, buf_str(&key), buf_str(&value));
    }
    if (ctx->spec->aliases)
        alias_extras(d);
    if (dict_sync(d) < 0)
        msg_fatal("%s", dict_why(d));
    dict_close(d);
    /* The table replaced the old file: give it the old owner and mode. */
    if (path != NULL) {
        if (geteuid() == 0 && uid != (uid_t) -1 && chown(path, uid, gid) < 0)
            msg_warn("chown %s: %m", path);
        (void) chmod(path, mode);
    }
    sigprocmask(SIG_SETMASK, &saved_mask, NULL);
    tbl_src_close(&src);
    mem_free(path);
    mem_free(type);
    mem_free(name);
    buf_fini(&why);
    buf_fini(&line);
    buf_fini(&key);
    buf_fini(&value);
}

/* postmap_run - the command line of postmap and postalias */
int postmap_run(const struct postmap_spec *spec, int argc, char **argv)
{
    struct postmap_ctx ctx = {.spec = spec, .keep_perms = true};
    enum postmap_mode mode = MODE_BUILD;
    const char *key = NULL;
    bool fold = true;
    bool no_utf8 = false;
    int nul_flags = 0;
    int dup_flags = DICT_FLAG_DUP_WARN;
    struct buf why = BUF_INIT;
    int status = 0;
    int c;

    msg_init(spec->prog);
    if (getenv("MAIL_VERBOSE") != NULL)
        msg_verbose++;
    optind = 1;
    opterr = 1;
    while ((c = getopt(argc, argv, "bc:d:fFhimnNopq:rsuUvw")) != -1) {
        switch (c) {
            case 'c':
                conf_set_dir(optarg);
                break;
            case 'd':
                if (mode != MODE_BUILD)
                    msg_fatal("specify only one of -s -q or -d");
                mode = MODE_DELETE;
                key = optarg;
                break;
            case 'q':
                if (mode != MODE_BUILD)
                    msg_fatal("specify only one of -s -q or -d");
                mode = MODE_QUERY;
                key = optarg;
                break;
            case 's':
                if (mode != MODE_BUILD)
                    msg_fatal("specify only one of -s or -q or -d");
                mode = MODE_SEQUENCE;
                break;
            case 'f':
                fold = false;
                break;
            case 'i':
                ctx.incr = true;
                break;
            case 'n':
                nul_flags = DICT_FLAG_TRY0NULL;
                break;
            case 'N':
                nul_flags = DICT_FLAG_TRY1NULL;
                break;
            case 'o':
                ctx.keep_root = true;
                break;
            case 'p':
                ctx.keep_perms = false;
                break;
            case 'r':
                dup_flags = DICT_FLAG_DUP_REPLACE;
                break;
            case 'w':
                dup_flags = DICT_FLAG_DUP_IGNORE;
                break;
            case 'v':
                msg_verbose++;
                break;
            case 'u':
                no_utf8 = true;
                break;
            case 'm':
                ctx.mime = true;
                break;
            case 'U':
                /* UTF-8 checks of -b/-h keys: ulak does not check them. */
                break;
            case 'F':
                ctx.base64 = true;
                break;
            case 'b':
                ctx.body_keys = true;
                break;
            case 'h':
                ctx.hdr_keys = true;
                break;
            default:
                msg_fatal("usage: %s", spec->usage);
        }
    }
    if (optind >= argc)
        msg_fatal("usage: %s", spec->usage);
    if ((ctx.hdr_keys || ctx.body_keys || ctx.mime)
        && (mode != MODE_QUERY || strcmp(key, "-") != 0))
        msg_fatal("specify -b -h or -m only with \"-q -\"");
    if (ctx.mime && !ctx.hdr_keys && !ctx.body_keys) {
        msg_warn("ignoring -m option without -b or -h");
        ctx.mime = false;
    }
    /* Postfix's commands need main.cf (conf_load accepts its absence). */
    if (access(conf_main_cf(), F_OK) < 0)
        msg_fatal("open %s: %m", conf_main_cf());
    if (conf_load(&why) < 0)
        msg_fatal("%s", buf_str(&why));
    ctx.deftype = conf_str("default_database_type");
    if (ctx.deftype == NULL || *ctx.deftype == 0)
        ctx.deftype = "hash";
    ctx.utf8 = !no_utf8 && conf_bool("smtputf8_enable");
    msg_utf8(ctx.utf8);
    ctx.dict_flags = nul_flags | dup_flags | (fold ? DICT_FLAG_FOLD_FIX : 0)
                     | (ctx.utf8 ? DICT_FLAG_UTF8 : 0);
    switch (mode) {
        case MODE_QUERY:
            if (ctx.hdr_keys || ctx.body_keys)
                status = do_msg_query(&ctx, argv + optind, argc - optind);
            else
                status = do_query(&ctx, key, argv + optind, argc - optind);
            break;
        case MODE_DELETE:
            status = do_delete(&ctx, key, argv + optind, argc - optind);
            break;
        case MODE_SEQUENCE:
            status = do_sequence(&ctx, argv + optind, argc - optind);
            break;
        case MODE_BUILD:
            for (int i = optind; i < argc; i++)
                build_one(&ctx, argv[i]);
            break;
    }
    buf_fini(&why);
    if (fflush(stdout) != 0 || ferror(stdout))
        msg_fatal("write error: %m");
    return status;
}

/* postmap_main - postmap(1) */
int postmap_main(int argc, char **argv)
{
    static const struct postmap_spec spec = {
        .prog = "postmap",
        .usage = "postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] "
                 "[-q key] [map_type:]file...",
        .aliases = false,
    };

    return postmap_run(&spec, argc, argv);
}
