#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/fs.h"
#include "../lib/mem.h"
#include "../lib/msg.h"
#include "../lib/priv.h"
#include "../lib/spawn.h"
#include "../lib/str.h"
#include "../global/addr.h"
#include "../global/agent.h"
#include "../global/conf.h"
#include "../global/maildir.h"
#include "../global/maps.h"
#include "../global/mbox.h"
#include "../global/server.h"
#include "../cleanup/cleanup.h"

#include "local_expand.h"

/* How deep :include: files may nest. */
#define LOCAL_INCLUDE_DEPTH 10
/* The largest .forward or :include: file read. */
#define LOCAL_FILE_MAX      (1024 * 1024)
/* Command output kept for the reason. */
#define LOCAL_OUTPUT_MAX    200

struct local {
    struct maps *alias_maps;
    struct maps *mailbox_transport_maps;  /* per user, before passwd */
    struct maps *mailbox_command_maps;    /* per user */
    struct maps *fallback_transport_maps; /* per unknown user */
    struct mbox_opts mbox;
    bool privileged;
    uid_t privs_uid; /* default_privs, or the instance user */
    gid_t privs_gid;
    struct cleanup_conf *cf; /* forwarding: new queue files */
    uid_t owner_uid;         /* mail_owner, who writes them */
    gid_t owner_gid;
};

static struct local lc;

/* One recipient in progress. */
struct lrcpt {
    struct agent_msg *m;
    const struct ipc_rcpt *rcpt;
    struct agent_result *res;
    bool have;            /* RES holds an outcome */
    struct buf recipient; /* external form */
    struct buf local;     /* the local part, lower case */
    struct buf user;      /* without extension */
    struct buf ext;
    char delim[2];
    struct deliver_env env;
    struct argv *fwd;  /* addresses to forward to, in one new queue file */
    struct argv *seen; /* the duplicate filter: "kind:destination" */
    bool owner_reset;  /* an owner- alias: forwarded as new recipients */
};

/* rank - defer beats bounce beats success */
static int rank(const char *status)
{
    return status[0] == '4' ? 3 : status[0] == '5' ? 2 : 1;
}

/* outcome - merge one destination's outcome into the recipient's */
static void outcome(struct lrcpt *r, const char *status, const char *fmt, ...)
    ULAK_PRINTFLIKE(3, 4);
static void outcome(struct lrcpt *r, const char *status, const char *fmt, ...)
{
    va_list ap;
    struct buf text = BUF_INIT;

    va_start(ap, fmt);
    buf_vcatf(&text, fmt, ap);
    va_end(ap);
    if (!r->have || rank(status) > rank(r->res->status)) {
        agent_result_set(r->res, status, "%s", buf_str(&text));
        r->have = true;
    }
    buf_fini(&text);
}

/* may_act_as - an unprivileged instance acts only as its own user */
static int may_act_as(struct lrcpt *r, uid_t uid, const char *who)
{
    if (lc.privileged || uid == getuid())
        return 0;
    outcome(r, "4.3.0",
            "unprivileged instance: cannot deliver as %s (uid %ld); this "
            "instance runs as uid %ld",
            who, (long) uid, (long) getuid());
    return -1;
}

/* write_pipe - write to the command (FD non-blocking) until DEADLINE; -1
 * when the command stopped reading (a closed pipe: its exit status tells)
 * or the time is up (*TIMED_OUT) */
static int write_pipe(int fd, const char *p, size_t len, time_t deadline,
                      bool *timed_out)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            time_t left = deadline - time(NULL);

            if (left <= 0) {
                *timed_out = true;
                return -1;
            }
            if (poll(&pfd, 1, (int) (left > 60 ? 60 : left) * 1000) < 0
                && errno != EINTR)
                return -1;
            continue;
        }
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* feed_command - the From_ line, prepended headers and the content */
static void feed_command(int fd, struct lrcpt *r, time_t deadline,
                         bool *timed_out)
{
    struct buf hdr = BUF_INIT;
    struct agent_src as;
    struct deliver_src src;
    struct deliver_line line;
    struct buf why = BUF_INIT;

    deliver_hdr_format(&hdr, &r->env, DELIVER_HDR_MBOX);
    if (write_pipe(fd, buf_str(&hdr), buf_len(&hdr), deadline, timed_out) < 0)
        goto out;
    agent_src_init(&as, r->m, &src);
    while (src.next(src.ctx, &line, &why) == 1) {
        if (write_pipe(fd, line.text.p, line.text.len, deadline, timed_out) < 0
            || (!line.more && write_pipe(fd, "\n", 1, deadline, timed_out) < 0))
            break;
    }
out:
    buf_fini(&hdr);
    buf_fini(&why);
}

/* The sysexits.h codes of a command, as Postfix's local reports them
 * (text, then ". Command output: ..."); other non-zero codes are
 * "Command died with status N". */
struct sysexit {
    int code;
    const char *dsn;
    const char *text;
};

static const struct sysexit sysexits[] = {
    {64, "5.3.0", "command line usage error"},
    {65, "5.6.0", "data format error"},
    {66, "5.3.0", "cannot open input"},
    {67, "5.1.1", "user unknown"},
    {68, "5.1.2", "host name unknown"},
    {69, "5.3.0", "service unavailable"},
    {70, "5.3.0", "internal software error"},
    {71, "4.3.0", "system resource problem"},
    {72, "5.3.0", "critical OS file missing"},
    {73, "5.2.0", "can't create user output file"},
    {74, "5.3.0", "input/output error"},
    {75, "4.3.0", "temporary failure"},
    {76, "5.5.0", "remote error in protocol"},
    {77, "5.7.0", "permission denied"},
    {78, "5.3.5", "local configuration error"},
};

/* sysexit_find - the entry of exit status CODE, or NULL */
static const struct sysexit *sysexit_find(int code)
{
    for (size_t i = 0; i < NELEM(sysexits); i++)
        if (sysexits[i].code == code)
            return &sysexits[i];
    return NULL;
}

/* deliver_command - run TEXT with the message on its input */
static void deliver_command(struct lrcpt *r, const char *text, uid_t uid,
                            gid_t gid, const struct local_vars *v)
{
    struct buf why = BUF_INIT;
    struct buf out = BUF_INIT;
    struct argv *argv, *names, *env;
    const char *path;
    int pfd[2];
    FILE *tmp;
    pid_t pid;
    int status = 0;
    long limit = conf_time("command_time_limit");
    time_t deadline;
    bool timed_out = false;
    const struct sysexit *sx;

    if (may_act_as(r, uid, "the command's user") < 0)
        return;
    if ((tmp = tmpfile()) == NULL || pipe(pfd) < 0) {
        outcome(r, "4.3.0", "cannot run command: %m");
        if (tmp)
            fclose(tmp);
        return;
    }
    argv = local_command_argv(text, &path);
    names = conf_list("export_environment");
    env = spawn_env_clean(names);
    argv_free(names);
    local_command_env(env, v);
    {
        int fds[3] = {pfd[0], fileno(tmp), fileno(tmp)};
        struct spawn_req req = {
            .path = path,
            .argv = argv->argv,
            .envp = env->argv,
            .fds = fds,
            .nfds = 3,
            .setsid = true,
            .drop = lc.privileged,
            .uid = uid,
            .gid = gid,
        };

        pid = spawn_start(&req, &why);
    }
    close(pfd[0]);
    if (pid < 0) {
        close(pfd[1]);
        outcome(r, "4.3.0", "cannot run command \"%s\": %s", text,
                buf_str(&why));
        goto done;
    }
    deadline = time(NULL) + (limit > 0 ? limit : 1000);
    (void) fcntl(pfd[1], F_SETFL, O_NONBLOCK);
    feed_command(pfd[1], r, deadline, &timed_out);
    close(pfd[1]);
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (timed_out || time(NULL) >= deadline) {
            kill(-pid, SIGKILL);
            (void) waitpid(pid, &status, 0);
            outcome(r, "5.3.0", "Command time limit exceeded: \"%s\"", text);
            goto done;
        }
        usleep(20000);
    }
    {
        char chunk[LOCAL_OUTPUT_MAX + 1];
        ssize_t n = pread(fileno(tmp), chunk, LOCAL_OUTPUT_MAX, 0);

        if (n > 0) {
            chunk[n] = 0;
            buf_cat(&out, ". Command output: ");
            /* Line breaks become spaces, a trailing one too (Postfix). */
            for (ssize_t i = 0; i < n; i++)
                buf_catc(&out, chunk[i] == '\n' ? ' ' : chunk[i]);
        }
    }
    if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        outcome(r, "2.0.0", "delivered to command: %s", text);
    else if (status >= 0 && WIFEXITED(status)
             && (sx = sysexit_find(WEXITSTATUS(status))) != NULL)
        outcome(r, sx->dsn, "%s%s", sx->text, buf_str(&out));
    else if (status >= 0 && WIFEXITED(status))
        outcome(r, "5.3.0", "Command died with status %d: \"%s\"%s",
                WEXITSTATUS(status), text, buf_str(&out));
    else if (status >= 0 && WIFSIGNALED(status))
        outcome(r, "5.3.0", "Command died with signal %d: \"%s\"%s",
                WTERMSIG(status), text, buf_str(&out));
    else
        outcome(r, "4.3.0", "cannot wait for command \"%s\"", text);
done:
    fclose(tmp);
    argv_free(argv);
    argv_free(env);
    buf_fini(&why);
    buf_fini(&out);
}

/* deliver_path - an mbox file or a Maildir (trailing "/"), as UID/GID;
 * SPOOL: the mailbox is in mail_spool_directory, which the user may not be
 * able to write: as root it is opened as root, created for the user and
 * must belong to the user (mbox.h), as Postfix's local does it */
static void deliver_path(struct lrcpt *r, const char *path, uid_t uid,
                         gid_t gid, bool file_dest, bool spool,
                         const char *user)
{
    struct buf why = BUF_INIT;
    struct agent_src as;
    struct deliver_src src;
    struct deliver_status st;
    bool as_root = spool && lc.privileged;

    if (may_act_as(r, uid, user) < 0)
        return;
    if (!as_root && priv_become(uid, gid, &why) < 0) {
        outcome(r, "4.3.0", "%s", buf_str(&why));
        goto out;
    }
    agent_src_init(&as, r->m, &src);
    if (str_has_suffix(path, "/")) {
        struct maildir_opts mo = {.size_limit = lc.mbox.size_limit,
                                  .flags = MAILDIR_FLAG_EACCES_BOUNCE};

        if (maildir_deliver(path, &mo, &r->env, &src, NULL, &st, &why) == 0)
            outcome(r, "2.0.0", "delivered to maildir");
        else
            outcome(r, st.dsn, "maildir delivery failed: %s", buf_str(&why));
    } else {
        struct mbox_opts o = lc.mbox;

        if (as_root) {
            o.chown_uid = uid;
            o.chown_gid = gid;
            o.owner = uid;
        }
        if (mbox_deliver(path, &o, &r->env, &src, &st, &why) == 0) {
            if (file_dest)
                outcome(r, "2.0.0", "delivered to file: %s", path);
            else
                outcome(r, "2.0.0", "delivered to mailbox");
        } else if (file_dest) {
            outcome(r, st.dsn, "cannot append message to file %s: %s", path,
                    buf_str(&why));
        } else {
            outcome(r, st.dsn, "cannot update mailbox %s for user %s. %s", path,
                    user, buf_str(&why));
        }
    }
    if (!as_root && priv_restore(&why) < 0)
        msg_fatal("%s", buf_str(&why));
out:
    buf_fini(&why);
}

/* fill_vars - the expansion variables of user PW */
static void fill_vars(struct lrcpt *r, const struct passwd *pw,
                      struct local_vars *v)
{
    struct span lp, dom;

    memset(v, 0, sizeof(*v));
    v->user = pw ? pw->pw_name : buf_str(&r->user);
    v->home = pw ? pw->pw_dir : "/";
    v->shell = pw ? pw->pw_shell : "/bin/sh";
    v->recipient = r->rcpt->address;
    v->extension = buf_str(&r->ext);
    v->delimiter = r->delim;
    v->sender = r->env.sender;
    v->orig_rcpt = r->rcpt->orig_rcpt;
    addr_split(span_of(r->rcpt->address), &lp, &dom);
    v->local = buf_str(&r->local);
    v->domain = dom.p ? dom.p : "";
}

/* pass_to - hand the recipient to SPEC, "transport" or
 * "transport:nexthop" (mailbox_transport, fallback_transport), as
 * Postfix's local does; an empty next hop is the recipient's domain */
static void pass_to(struct lrcpt *r, const char *spec)
{
    struct agent_result res;
    const char *colon = strchr(spec, ':');
    char *transport = colon ? span_dup(span_make(spec, (size_t) (colon - spec)))
                            : mem_strdup(spec);
    struct span lp, dom;
    char *nexthop;

    addr_split(span_of(r->rcpt->address), &lp, &dom);
    nexthop = colon && colon[1] ? mem_strdup(colon + 1) : span_dup(dom);
    buf_init(&res.reason, 0);
    res.quiet = false;
    agent_pass(r->m, r->rcpt, r->env.sender, transport, nexthop, &res);
    outcome(r, res.status, "%s", buf_str(&res.reason));
    if (res.quiet && r->res->status[0] == res.status[0])
        r->res->quiet = true;
    buf_fini(&res.reason);
    mem_free(transport);
    mem_free(nexthop);
}

/* user_map - look the recipient's user name (no extension, lower case)
 * up in M, as Postfix's local does for its per-user *_maps; a lookup
 * failure is the recipient's deferral */
static enum lk_result user_map(struct lrcpt *r, struct maps *m,
                               const char *title, struct buf *value)
{
    enum lk_result lk = maps_find(m, buf_str(&r->user), MAPS_FIND_ALL, value);

    if (lk == LK_TEMPFAIL)
        outcome(r, "4.3.0", "%s lookup failure for user \"%s\": %s", title,
                buf_str(&r->user), maps_why(m));
    return lk;
}

/* try_transport - hand the recipient to MAPS' transport for the user, or
 * to PARAM's; false when neither names one (mailbox_transport(_maps),
 * fallback_transport(_maps)) */
static bool try_transport(struct lrcpt *r, struct maps *maps,
                          const char *maps_name, const char *param)
{
    struct buf value = BUF_INIT;
    bool done = true;

    switch (user_map(r, maps, maps_name, &value)) {
        case LK_FOUND:
            pass_to(r, buf_str(&value));
            break;
        case LK_TEMPFAIL:
            break;
        case LK_NOTFOUND:
            if (*conf_str(param))
                pass_to(r, conf_str(param));
            else
                done = false;
            break;
    }
    buf_fini(&value);
    return done;
}

/* deliver_mailbox - the user's own mailbox (step 5) */
static void deliver_mailbox(struct lrcpt *r, const struct passwd *pw)
{
    const char *cmd = conf_str("mailbox_command");
    const char *home_mb = conf_str("home_mailbox");
    struct local_vars v;
    struct buf path = BUF_INIT;
    struct buf mapped = BUF_INIT;

    if (try_transport(r, lc.mailbox_transport_maps, "mailbox_transport_maps",
                      "mailbox_transport"))
        return;
    switch (
        user_map(r, lc.mailbox_command_maps, "mailbox_command_maps", &mapped)) {
        case LK_FOUND:
            cmd = buf_str(&mapped);
            break;
        case LK_TEMPFAIL:
            buf_fini(&mapped);
            return;
        case LK_NOTFOUND:
            break;
    }
    if (agent_verify(r->m)) {
        if (*cmd)
            outcome(r, "2.0.0", "delivers to command: %s", cmd);
        else
            outcome(r, "2.0.0", "delivers to %s",
                    str_has_suffix(home_mb, "/") ? "maildir" : "mailbox");
        goto done;
    }
    if (may_act_as(r, pw->pw_uid, pw->pw_name) < 0)
        goto done;
    fill_vars(r, pw, &v);
    if (*cmd) {
        deliver_command(r, cmd, pw->pw_uid, pw->pw_gid, &v);
        goto done;
    }
    if (*home_mb) {
        buf_setf(&path, "%s/%s", pw->pw_dir, home_mb);
        deliver_path(r, buf_str(&path), pw->pw_uid, pw->pw_gid, false, false,
                     pw->pw_name);
    } else {
        buf_setf(&path, "%s/%s", conf_str("mail_spool_directory"), pw->pw_name);
        deliver_path(r, buf_str(&path), pw->pw_uid, pw->pw_gid, false, true,
                     pw->pw_name);
    }
done:
    buf_fini(&path);
    buf_fini(&mapped);
}

static void expand_items(struct lrcpt *r, const char *text, const char *self,
                         uid_t uid, gid_t gid, const struct passwd *owner,
                         const char *from, int depth);

/* allowed - whether FROM (alias, forward, include) is in list PARAM */
static bool allowed(const char *param, const char *from)
{
    struct argv *list = conf_list(param);
    bool ok = false;

    for (size_t i = 0; i < list->argc && !ok; i++)
        ok = strcasecmp(list->argv[i], from) == 0;
    argv_free(list);
    return ok;
}

/* read_file_as - a .forward or :include: file, read as UID; 1 read (ST
 * gets its status when not NULL), 0 no such file, -1 error (outcome set) */
static int read_file_as(struct lrcpt *r, const char *path, uid_t uid, gid_t gid,
                        struct buf *out, struct stat *st)
{
    struct buf why = BUF_INIT;
    int fd, rc = -1;

    if (priv_become(uid, gid, &why) < 0) {
        outcome(r, "4.3.0", "%s", buf_str(&why));
        buf_fini(&why);
        return -1;
    }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
        rc = 0;
    } else if (fd < 0) {
        outcome(r, "4.3.0", "cannot open %s: %m", path);
    } else if (st != NULL && fstat(fd, st) < 0) {
        outcome(r, "4.3.0", "cannot stat %s: %m", path);
    } else if (fs_read_all(fd, LOCAL_FILE_MAX, out, path, &why) < 0) {
        outcome(r, "4.3.0", "%s", buf_str(&why));
    } else {
        rc = 1;
    }
    if (fd >= 0)
        close(fd);
    if (priv_restore(&why) < 0)
        msg_fatal("%s", buf_str(&why));
    buf_fini(&why);
    return rc;
}

/* been_here - the duplicate filter of one recipient's expansion, as
 * Postfix's: a destination is delivered once; after
 * duplicate_filter_limit entries it remembers no more */
static bool been_here(struct lrcpt *r, enum local_dest kind, const char *dest)
{
    struct buf key = BUF_INIT;
    long limit = conf_int("duplicate_filter_limit");
    bool seen = false;

    buf_setf(&key, "%d:%s", (int) kind, dest);
    if (kind == LOCAL_DEST_ADDR)
        buf_lower(&key);
    for (size_t i = 0; i < r->seen->argc && !seen; i++)
        seen = strcmp(r->seen->argv[i], buf_str(&key)) == 0;
    if (!seen && (limit <= 0 || (long) r->seen->argc < limit))
        argv_add(r->seen, buf_str(&key));
    buf_fini(&key);
    return seen;
}

/* forward_copy - the content of M into C after the headers Postfix's
 * forwarded copy starts with: "Received: by HOST (MAIL_NAME)" with the new
 * queue ID and the arrival date, then Delivered-To: for loop detection;
 * long lines joined again; -1 with WHY on a read error */
static int forward_copy(struct lrcpt *r, struct cleanup *c, struct buf *why)
{
    struct deliver_env env = {.recipient = r->env.recipient};
    struct buf line = BUF_INIT;
    struct agent_src as;
    struct deliver_src src;
    struct deliver_line dl;
    time_t when = r->m->env.arrival.tv_sec;
    struct tm tm;
    char date[80];
    int rc;

    buf_setf(&line, "Received: by %s (%s)", conf_str("myhostname"),
             conf_str("mail_name"));
    cleanup_line(c, buf_str(&line), buf_len(&line));
    if (localtime_r(&when, &tm) == NULL
        || strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm)
               == 0)
        str_fmt(date, sizeof(date), "%lld", (long long) when);
    buf_setf(&line, "\tid %s; %s", cleanup_id(c), date);
    cleanup_line(c, buf_str(&line), buf_len(&line));
    buf_reset(&line);
    deliver_hdr_format(&line, &env, DELIVER_HDR_DELIVERED_TO);
    while (buf_len(&line) && buf_str(&line)[buf_len(&line) - 1] == '\n')
        buf_truncate(&line, buf_len(&line) - 1);
    cleanup_line(c, buf_str(&line), buf_len(&line));
    buf_reset(&line);
    agent_src_init(&as, r->m, &src);
    while ((rc = src.next(src.ctx, &dl, why)) == 1) {
        buf_catspan(&line, dl.text);
        if (!dl.more) {
            cleanup_line(c, buf_str(&line), buf_len(&line));
            buf_reset(&line);
        }
    }
    buf_fini(&line);
    return rc;
}

/* forward_all - the collected addresses of the recipient into ONE new
 * queue file through cleanup, as Postfix's local forwards: the sender of
 * this delivery (owner-NAME@$myorigin for an alias with an owner), the
 * arrival time, ENVID and RET of the message, the recipient's NOTIFY,
 * original recipient and ORCPT (not for an owner alias), and the content
 * (forward_copy) */
static void forward_all(struct lrcpt *r)
{
    struct buf why = BUF_INIT;
    struct buf id = BUF_INIT;
    struct cleanup *c;
    enum cleanup_status st;
    bool as_owner = lc.privileged;

    if (as_owner && priv_become(lc.owner_uid, lc.owner_gid, &why) < 0) {
        outcome(r, "4.3.0", "cannot forward: %s", buf_str(&why));
        goto out;
    }
    if ((c = cleanup_open(lc.cf, &why)) == NULL) {
        outcome(r, "4.3.0", "cannot forward: %s", buf_str(&why));
        goto restore;
    }
    buf_set(&id, cleanup_id(c));
    cleanup_time(c, &r->m->env.arrival);
    cleanup_sender(c, r->env.sender);
    cleanup_attr(c, "rewrite_context", "local");
    if (r->m->env.envid)
        cleanup_envid(c, r->m->env.envid);
    if (r->m->env.ret)
        cleanup_ret(c, r->m->env.ret);
    /* As Postfix: the original recipient and its DSN ORCPT stay, except
     * for an alias with an owner (a list), whose members are new
     * recipients. */
    for (size_t i = 0; i < r->fwd->argc; i++) {
        if (r->owner_reset)
            cleanup_rcpt(c, r->fwd->argv[i], NULL,
                         queue_notify_from_dsn((int) r->rcpt->notify));
        else
            cleanup_rcpt_orig(
                c, r->fwd->argv[i],
                r->rcpt->orig_rcpt ? r->rcpt->orig_rcpt : r->rcpt->address,
                r->rcpt->orcpt && *r->rcpt->orcpt ? r->rcpt->orcpt : NULL,
                queue_notify_from_dsn((int) r->rcpt->notify));
    }
    if (forward_copy(r, c, &why) < 0) {
        cleanup_abort(c);
        outcome(r, "4.3.0", "cannot forward: %s", buf_str(&why));
        goto restore;
    }
    switch ((st = cleanup_finish(c, &why))) {
        case CLEANUP_OK:
        case CLEANUP_DISCARDED:
            /* Among successes the forwarding is what the log names. */
            if (r->have && r->res->status[0] == '2')
                r->have = false;
            outcome(r, "2.0.0", "forwarded as %s", buf_str(&id));
            break;
        case CLEANUP_REJECTED:
        case CLEANUP_TEMPFAIL: {
            char status[DSN_STATUS_SIZE];
            const char *text = buf_str(&why);
            size_t n = strspn(text, "0123456789.");

            if (n >= 5 && n < sizeof(status)
                && (text[0] == '4' || text[0] == '5') && text[n] == ' ') {
                str_copy(status, sizeof(status), text);
                status[n] = 0;
                text += n + 1;
            } else {
                str_copy(status, sizeof(status),
                         st == CLEANUP_REJECTED ? "5.3.0" : "4.3.0");
            }
            outcome(r, status, "%s", text);
            break;
        }
    }
restore:
    if (as_owner && priv_restore(&why) < 0)
        msg_fatal("%s", buf_str(&why));
out:
    buf_fini(&why);
    buf_fini(&id);
}

/* luser_relay - an unknown user's mail forwarded to $luser_relay, with
 * $user, $local, $domain, $extension, $recipient expanded */
static void luser_relay(struct lrcpt *r)
{
    struct local_vars v;
    struct buf addr = BUF_INIT;
    struct buf why = BUF_INIT;

    fill_vars(r, NULL, &v);
    if (local_expand_path(conf_str("luser_relay"), &v, &addr, &why) < 0) {
        msg_warn("luser_relay: %s", buf_str(&why));
        outcome(r, "4.3.0", "bad luser_relay value: %s", buf_str(&why));
    } else if (agent_verify(r->m)) {
        outcome(r, "2.0.0", "aliased to %s", buf_str(&addr));
    } else {
        argv_add(r->fwd, buf_str(&addr));
    }
    buf_fini(&addr);
    buf_fini(&why);
}

/* include_owner - the rights for the destinations of an :include: file
 * with status ST, read with UID and GID (in and out): without a user context (an alias,
 * which runs as default_privs in a privileged instance) those of the
 * file's owner unless that is root, as Postfix's local (DELIVERY RIGHTS
 * in local(8)); in a user's context (.forward) the user's stay */
static void include_owner(const struct stat *st, uid_t *uid, gid_t *gid)
{
    struct passwd *pw;

    if (!lc.privileged || *uid != lc.privs_uid || st->st_uid == 0
        || st->st_uid == *uid)
        return;
    *uid = st->st_uid;
    pw = getpwuid(st->st_uid);
    *gid = pw ? pw->pw_gid : st->st_gid;
}

/* expand_item - one destination of an alias, include file or .forward
 * (FROM says which, for allow_mail_to_commands and allow_mail_to_files) */
static void expand_item(struct lrcpt *r, const char *item, const char *self,
                        uid_t uid, gid_t gid, const struct passwd *owner,
                        const char *from, int depth)
{
    const char *rest;
    struct local_vars v;
    enum local_dest kind = local_dest_kind(item, &rest);

    if (been_here(r, kind, rest))
        return;
    switch (kind) {
        case LOCAL_DEST_COMMAND:
            if (!allowed("allow_mail_to_commands", from)) {
                outcome(r, "5.7.1", "mail to command is restricted");
                return;
            }
            fill_vars(r, owner, &v);
            deliver_command(r, rest, uid, gid, &v);
            return;
        case LOCAL_DEST_FILE:
            if (!allowed("allow_mail_to_files", from)) {
                outcome(r, "5.7.1", "mail to file is restricted");
                return;
            }
            /* As in Postfix: /dev/null takes mail without locks. */
            if (strcmp(rest, "/dev/null") == 0) {
                outcome(r, "2.0.0", "delivered to file: /dev/null");
                return;
            }
            deliver_path(r, rest, uid, gid, true, false,
                         owner ? owner->pw_name : "");
            return;
        case LOCAL_DEST_INCLUDE: {
            struct buf text = BUF_INIT;

            if (depth >= LOCAL_INCLUDE_DEPTH) {
                outcome(r, "5.4.6", "include file nesting too deep: %s", rest);
            } else if (rest[0] != '/') {
                outcome(r, "5.3.5", "include file must be an absolute path: %s",
                        rest);
            } else {
                struct stat fst;

                switch (read_file_as(r, rest, uid, gid, &text, &fst)) {
                    case 1:
                        include_owner(&fst, &uid, &gid);
                        expand_items(r, buf_str(&text), self, uid, gid, owner,
                                     "include", depth + 1);
                        break;
                    case 0:
                        outcome(r, "5.3.0",
                                "cannot open include file %s: No such file "
                                "or directory",
                                rest);
                        break;
                    default:
                        break;
                }
            }
            buf_fini(&text);
            return;
        }
        case LOCAL_DEST_ADDR: {
            struct passwd *pw;

            if (self && strcasecmp(rest, self) == 0) {
                pw = getpwnam(self);
                if (pw == NULL)
                    outcome(r, "5.1.1", "unknown user: \"%s\"", self);
                else
                    deliver_mailbox(r, pw);
                return;
            }
            argv_add(r->fwd, rest);
            return;
        }
    }
}

/* expand_items - every destination of TEXT */
static void expand_items(struct lrcpt *r, const char *text, const char *self,
                         uid_t uid, gid_t gid, const struct passwd *owner,
                         const char *from, int depth)
{
    struct argv *items = argv_new();
    struct buf why = BUF_INIT;

    if (local_split_items(text, items, &why) < 0)
        outcome(r, "5.3.5", "bad destination list: %s", buf_str(&why));
    else if (items->argc == 0)
        outcome(r, "5.3.5", "empty destination list");
    for (size_t i = 0; i < items->argc; i++)
        expand_item(r, items->argv[i], self, uid, gid, owner, from, depth);
    argv_free(items);
    buf_fini(&why);
}

/* try_forward - step 4: 1 when a .forward file took the mail */
static int try_forward(struct lrcpt *r, const struct passwd *pw)
{
    struct argv *paths = conf_list("forward_path");
    struct local_vars v;
    struct buf path = BUF_INIT;
    struct buf text = BUF_INIT;
    struct buf why = BUF_INIT;
    int done = 0;

    fill_vars(r, pw, &v);
    for (size_t i = 0; i < paths->argc && !done; i++) {
        if (local_expand_path(paths->argv[i], &v, &path, &why) < 0) {
            msg_warn("forward_path: %s", buf_str(&why));
            continue;
        }
        if (buf_len(&path) == 0 || buf_str(&path)[0] != '/')
            continue;
        if (!lc.privileged && pw->pw_uid != getuid())
            break; /* the mailbox step gives the reason */
        switch (read_file_as(r, buf_str(&path), pw->pw_uid, pw->pw_gid, &text,
                             NULL)) {
            case 0:
                break;
            case 1:
                expand_items(r, buf_str(&text), pw->pw_name, pw->pw_uid,
                             pw->pw_gid, pw, "forward", 0);
                done = 1;
                break;
            default:
                done = 1;
                break;
        }
    }
    argv_free(paths);
    buf_fini(&path);
    buf_fini(&text);
    buf_fini(&why);
    return done;
}

/* owner_sender - when alias NAME has an owner-NAME alias, the deliveries
 * of its expansion get owner-NAME@$myorigin as sender (in OWNER), as
 * Postfix's local does, so that errors go to the list owner; -1 (outcome
 * set) when the table cannot answer */
static int owner_sender(struct lrcpt *r, const char *name, struct buf *owner)
{
    struct buf key = BUF_INIT;
    struct buf value = BUF_INIT;
    int rc = 0;

    if (strncasecmp(name, "owner-", 6) == 0)
        return 0;
    buf_setf(&key, "owner-%s", name);
    switch (maps_find(lc.alias_maps, buf_str(&key), MAPS_FIND_ALL, &value)) {
        case LK_FOUND:
            buf_setf(owner, "%s@%s", buf_str(&key), conf_str("myorigin"));
            r->env.sender = buf_str(owner);
            r->owner_reset = true;
            break;
        case LK_NOTFOUND:
            break;
        case LK_TEMPFAIL:
            outcome(r, "4.3.0", "alias database unavailable: %s",
                    maps_why(lc.alias_maps));
            rc = -1;
            break;
    }
    buf_fini(&key);
    buf_fini(&value);
    return rc;
}

/* local_rcpt - one recipient */
static void local_rcpt(void *ctx, struct agent_msg *m,
                       const struct ipc_rcpt *rcpt, struct agent_result *res)
{
    struct maps_opts o = {.delim = conf_str("recipient_delimiter"),
                          .owner_request_special =
                              conf_bool("owner_request_special")};
    struct lrcpt r = {.m = m, .rcpt = rcpt, .res = res};
    struct span lp, dom, user, ext;
    struct buf value = BUF_INIT;
    struct buf matched = BUF_INIT;
    struct buf owner = BUF_INIT;
    struct buf why = BUF_INIT;
    struct agent_src as;
    struct deliver_src src;
    struct deliver_status st;
    struct passwd *pw;
    char delim = 0;

    (void) ctx;
    buf_init(&r.recipient, 0);
    buf_init(&r.local, 0);
    buf_init(&r.user, 0);
    buf_init(&r.ext, 0);
    addr_externalize(span_of(rcpt->address), &r.recipient);
    addr_split(span_of(rcpt->address), &lp, &dom);
    buf_catspan(&r.local, lp);
    buf_lower(&r.local);
    addr_split_ext(span_make(buf_str(&r.local), buf_len(&r.local)), &o, &user,
                   &ext, &delim);
    buf_catspan(&r.user, user);
    buf_catspan(&r.ext, ext);
    r.delim[0] = delim;
    r.env.sender = m->req.sender;
    r.env.recipient = buf_str(&r.recipient);
    r.env.orig_rcpt = rcpt->orig_rcpt;
    r.fwd = argv_new();
    r.seen = argv_new();

    /* 1. Delivered-To: loops */
    agent_src_init(&as, m, &src);
    if (deliver_loop_check(&src, buf_str(&r.recipient), &st, &why) != 0) {
        outcome(&r, st.dsn, "%s", buf_str(&why));
        goto out;
    }

    /* 2. aliases */
    switch (maps_search(lc.alias_maps, MAPS_ORDER_ALIAS, buf_str(&r.local), &o,
                        &value, &matched)) {
        case LK_FOUND: {
            struct passwd *self = getpwnam(buf_str(&r.user));

            if (owner_sender(&r, buf_str(&matched), &owner) < 0)
                goto out;
            if (agent_verify(m)) {
                struct buf clean = BUF_INIT;

                agent_sanitize(buf_str(&value), &clean);
                outcome(&r, "2.0.0", "aliased to %s", buf_str(&clean));
                buf_fini(&clean);
                goto out;
            }
            expand_items(&r, buf_str(&value), buf_str(&r.user), lc.privs_uid,
                         lc.privs_gid, self, "alias", 0);
            goto out;
        }
        case LK_NOTFOUND:
            break;
        case LK_TEMPFAIL:
            outcome(&r, "4.3.0", "alias database unavailable: %s",
                    maps_why(lc.alias_maps));
            goto out;
    }

    /* 3. the user */
    errno = 0;
    pw = getpwnam(buf_str(&r.user));
    if (pw == NULL) {
        if (errno != 0 && errno != ENOENT && errno != ESRCH) {
            outcome(&r, "4.3.0", "user lookup failure for \"%s\": %m",
                    buf_str(&r.user));
        } else if (try_transport(&r, lc.mailbox_transport_maps,
                                 "mailbox_transport_maps", "mailbox_transport")
                   || try_transport(&r, lc.fallback_transport_maps,
                                    "fallback_transport_maps",
                                    "fallback_transport")) {
            ; /* passed on (or the lookup failed) */
        } else if (*conf_str("luser_relay")) {
            luser_relay(&r);
        } else {
            outcome(&r, "5.1.1", "unknown user: \"%s\"", buf_str(&r.user));
        }
        goto out;
    }

    /* 4. .forward, 5. the mailbox (verify: no .forward is read) */
    if (agent_verify(m) || !try_forward(&r, pw))
        deliver_mailbox(&r, pw);
out:
    if (r.fwd->argc > 0 && !agent_verify(m))
        forward_all(&r);
    if (!r.have)
        agent_result_set(res, "4.3.0", "no delivery was attempted");
    buf_fini(&r.recipient);
    buf_fini(&r.local);
    buf_fini(&r.user);
    buf_fini(&r.ext);
    argv_free(r.fwd);
    argv_free(r.seen);
    buf_fini(&value);
    buf_fini(&matched);
    buf_fini(&owner);
    buf_fini(&why);
}

/* pre_jail - tables, options, default_privs */
static int pre_jail(struct server *srv, struct buf *why)
{
    lc.privileged = server_privileged(srv);
    if (mbox_opts_conf(&lc.mbox, "mailbox_delivery_lock", "mailbox_size_limit",
                       why)
        < 0)
        return -1;
    if ((lc.cf = cleanup_conf_new(why)) == NULL)
        return -1;
    cleanup_conf_internal(lc.cf);
    lc.alias_maps = maps_open("alias_maps", conf_str("alias_maps"),
                              DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK);
    /* Keyed by a name the sender chooses: no $number in their results. */
    lc.mailbox_transport_maps =
        maps_open("mailbox_transport_maps", conf_str("mailbox_transport_maps"),
                  DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK | DICT_FLAG_NO_REGSUB);
    lc.mailbox_command_maps =
        maps_open("mailbox_command_maps", conf_str("mailbox_command_maps"),
                  DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK | DICT_FLAG_NO_REGSUB);
    lc.fallback_transport_maps = maps_open(
        "fallback_transport_maps", conf_str("fallback_transport_maps"),
        DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK | DICT_FLAG_NO_REGSUB);
    if (lc.privileged) {
        if (priv_lookup(conf_str("default_privs"), &lc.privs_uid, &lc.privs_gid,
                        why)
            < 0)
            return -1;
        if (lc.privs_uid == 0) {
            buf_setf(why, "default_privs must not be root");
            return -1;
        }
        if (priv_lookup(conf_str("mail_owner"), &lc.owner_uid, &lc.owner_gid,
                        why)
            < 0)
            return -1;
    } else {
        lc.privs_uid = getuid();
        lc.privs_gid = getgid();
    }
    return 0;
}

/* on_accept - one request */
static void on_accept(struct server *srv, int fd)
{
    agent_session(srv, fd, "local", local_rcpt, srv);
}

/* on_exit - drop the tables */
static void on_exit_(struct server *srv)
{
    (void) srv;
    maps_free(lc.alias_maps);
    maps_free(lc.mailbox_transport_maps);
    maps_free(lc.mailbox_command_maps);
    maps_free(lc.fallback_transport_maps);
    cleanup_conf_free(lc.cf);
}

/* local_main - the daemon */
int local_main(int argc, char **argv)
{
    static const struct server_spec spec = {
        .name = "local",
        .max_sessions = 1,
        .pre_jail = pre_jail,
        .on_accept = on_accept,
        .on_exit = on_exit_,
    };

    return server_run(&spec, argc, argv);
}
