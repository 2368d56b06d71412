#include "local_expand.h"

#include <string.h>

#include "../lib/mem.h"
#include "../lib/spawn.h"

/* add_item - one trimmed item */
static int add_item(struct argv *out, struct buf *cur, struct buf *why)
{
    const char *p = buf_str(cur);
    size_t len = buf_len(cur);

    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    if (len) {
        if (out->argc >= LOCAL_ITEMS_MAX) {
            buf_setf(why, "more than %d destinations", LOCAL_ITEMS_MAX);
            return -1;
        }
        argv_addn(out, p, len);
    }
    buf_reset(cur);
    return 0;
}

/* local_split_items - destinations of an alias value or .forward */
int local_split_items(const char *text, struct argv *out, struct buf *why)
{
    struct buf cur = BUF_INIT;
    bool quoted = false;
    bool bol = true;
    int rc = 0;

    for (const char *p = text; *p && rc == 0; p++) {
        if (bol && !quoted && *p == '#') {
            while (p[1] && p[1] != '\n')
                p++;
            continue;
        }
        bol = false;
        if (quoted) {
            if (*p == '\\' && p[1]) {
                buf_catc(&cur, *++p);
            } else if (*p == '"') {
                quoted = false;
            } else {
                buf_catc(&cur, *p);
            }
        } else if (*p == '"') {
            quoted = true;
        } else if (*p == ',' || *p == '\n') {
            rc = add_item(out, &cur, why);
            bol = *p == '\n';
        } else {
            buf_catc(&cur, *p);
        }
    }
    if (rc == 0 && quoted) {
        buf_setf(why, "unterminated quoted string");
        rc = -1;
    }
    if (rc == 0)
        rc = add_item(out, &cur, why);
    buf_fini(&cur);
    return rc;
}

/* local_dest_kind - classify a destination */
enum local_dest local_dest_kind(const char *item, const char **rest)
{
    if (item[0] == '|') {
        *rest = item + 1;
        return LOCAL_DEST_COMMAND;
    }
    if (item[0] == '/') {
        *rest = item;
        return LOCAL_DEST_FILE;
    }
    if (strncasecmp(item, ":include:", 9) == 0) {
        *rest = item + 9;
        while (**rest == ' ')
            (*rest)++;
        return LOCAL_DEST_INCLUDE;
    }
    *rest = item[0] == '\\' ? item + 1 : item;
    return LOCAL_DEST_ADDR;
}

/* var_value - the value of variable NAME (LEN bytes), or NULL */
static const char *var_value(const struct local_vars *v, const char *name,
                             size_t len)
{
    static const struct {
        const char *name;
        size_t off;
    } vars[] = {
        {"user", offsetof(struct local_vars, user)},
        {"home", offsetof(struct local_vars, home)},
        {"shell", offsetof(struct local_vars, shell)},
        {"recipient", offsetof(struct local_vars, recipient)},
        {"extension", offsetof(struct local_vars, extension)},
        {"domain", offsetof(struct local_vars, domain)},
        {"local", offsetof(struct local_vars, local)},
        {"recipient_delimiter", offsetof(struct local_vars, delimiter)},
    };

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (strlen(vars[i].name) == len
            && memcmp(vars[i].name, name, len) == 0) {
            const char *s =
                *(const char *const *) ((const char *) v + vars[i].off);

            return s ? s : "";
        }
    }
    return NULL;
}

/* local_expand_path - forward_path expansion */
int local_expand_path(const char *text, const struct local_vars *v,
                      struct buf *out, struct buf *why)
{
    buf_reset(out);
    for (const char *p = text; *p; p++) {
        const char *name, *val, *alt = NULL;
        size_t nlen, alen = 0;
        int op = 0;

        if (*p != '$') {
            buf_catc(out, *p);
            continue;
        }
        p++;
        if (*p == '$') {
            buf_catc(out, '$');
            continue;
        }
        if (*p == '{' || *p == '(') {
            char close = *p == '{' ? '}' : ')';
            const char *end = strchr(p, close);

            if (end == NULL) {
                buf_setf(why, "missing '%c' in \"%s\"", close, text);
                return -1;
            }
            name = p + 1;
            nlen = strcspn(name, "?:}) ");
            if (name + nlen < end && (name[nlen] == '?' || name[nlen] == ':')) {
                op = name[nlen];
                alt = name + nlen + 1;
                alen = (size_t) (end - alt);
            } else if (name + nlen != end) {
                buf_setf(why, "bad variable syntax in \"%s\"", text);
                return -1;
            }
            p = end;
        } else {
            name = p;
            nlen = strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789");
            if (nlen == 0) {
                buf_setf(why, "bad '$' in \"%s\"", text);
                return -1;
            }
            p += nlen - 1;
        }
        val = var_value(v, name, nlen);
        if (val == NULL) {
            buf_setf(why, "unknown variable \"%.*s\" in \"%s\"", (int) nlen,
                     name, text);
            return -1;
        }
        if ((op == '?' && *val) || (op == ':' && *val == 0)) {
            /* The text is expanded in turn (no nesting of braces). */
            char *sub = span_dup(span_make(alt, alen));
            struct buf tmp = BUF_INIT;
            int rc = local_expand_path(sub, v, &tmp, why);

            buf_cat(out, buf_str(&tmp));
            buf_fini(&tmp);
            mem_free(sub);
            if (rc < 0)
                return -1;
        } else if (op) {
            /* the condition is false: nothing */
        } else {
            buf_cat(out, val);
        }
    }
    return 0;
}

/* local_command_env - the documented variables */
void local_command_env(struct argv *env, const struct local_vars *v)
{
    spawn_env_set(env, "HOME", v->home ? v->home : "/");
    spawn_env_set(env, "USER", v->user ? v->user : "");
    spawn_env_set(env, "LOGNAME", v->user ? v->user : "");
    spawn_env_set(env, "SHELL", v->shell && *v->shell ? v->shell : "/bin/sh");
    spawn_env_set(env, "SENDER", v->sender ? v->sender : "");
    spawn_env_set(env, "RECIPIENT", v->recipient ? v->recipient : "");
    spawn_env_set(env, "EXTENSION", v->extension ? v->extension : "");
    spawn_env_set(env, "DOMAIN", v->domain ? v->domain : "");
    spawn_env_set(env, "LOCAL", v->local ? v->local : "");
    spawn_env_set(env, "ORIGINAL_RECIPIENT",
                  v->orig_rcpt ? v->orig_rcpt
                               : (v->recipient ? v->recipient : ""));
    spawn_env_set(env, "PATH", "/usr/bin:/bin");
}

/* local_command_argv - a shell only for shell syntax */
struct argv *local_command_argv(const char *text, const char **path)
{
    struct argv *a;

    if (text[0] != '/' || strpbrk(text, "|&;<>()$`\\\"'*?[#~=%{}\n") != NULL) {
        a = argv_new();
        argv_add(a, "/bin/sh");
        argv_add(a, "-c");
        argv_add(a, text);
    } else {
        a = argv_split(text, " \t");
    }
    *path = a->argv[0];
    return a;
}
