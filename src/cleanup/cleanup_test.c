/* cleanup_test - one message through cleanup, table-driven.
 *
 * Each case writes a main.cf (myhostname = mx.example.test, mydomain =
 * example.test, queue_directory under a temporary folder) and its lookup
 * tables, feeds an envelope and content lines, and checks the outcome:
 * the status, the recipients of the committed queue file (orig>final),
 * the header section, and the log.  The expected header forms are those
 * of Postfix 3.7.11's cleanup for the same input (a postfix-ref instance,
 * read with postcat), with ulak's mail_name in the Received: header. */
#include "cleanup/cleanup.h"
#include "cleanup/cleanup_int.h"
#include "global/conf.h"
#include "global/queue_dir.h"
#include "global/queue_file.h"
#include "lib/loop.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

static char dir[64];
static struct buf logged = BUF_INIT;

/* capture - the log lines the tests assert on */
static void capture(enum msg_level level, const char *text)
{
    buf_catf(&logged, "%s%s\n", msg_prefix(level), text);
}

/* write_file - DIR/NAME holding TEXT */
static void write_file(const char *name, const char *text)
{
    char path[128];
    FILE *fp;

    str_fmt(path, sizeof(path), "%s/%s", dir, name);
    assert_non_null(fp = fopen(path, "w"));
    fputs(text, fp);
    fclose(fp);
}

/* use_conf - a fresh instance: MAIN with "DIR" replaced by its folder */
static void use_conf(const char *main)
{
    struct buf text = BUF_INIT;
    struct buf why = BUF_INIT;
    struct queue_dir qd;

    str_copy(dir, sizeof(dir), "/tmp/cleanup_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    buf_setf(&text,
             "compatibility_level = 3.6\n"
             "myhostname = mx.example.test\n"
             "mydomain = example.test\n"
             "queue_directory = %s/q\n",
             dir);
    for (const char *p = main; *p; p++) {
        if (strncmp(p, "DIR", 3) == 0) {
            buf_cat(&text, dir);
            p += 2;
        } else {
            buf_catc(&text, *p);
        }
    }
    write_file("main.cf", buf_str(&text));
    conf_set_dir(dir);
    conf_defaults_only(false);
    assert_int_equal(conf_load(&why), 0);
    assert_int_equal(queue_dir_init_conf(&qd, &why), 0);
    assert_int_equal(queue_dir_create(&qd, getuid(), getgid(), &why), 0);
    queue_dir_fini(&qd);
    buf_fini(&text);
    buf_fini(&why);
}

/* drop_conf - remove the instance */
static void drop_conf(void)
{
    struct buf cmd = BUF_INIT;

    /* A fixed path of our own making, no outside data. */
    buf_setf(&cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(buf_str(&cmd)), 0);
    buf_fini(&cmd);
}

struct msg_case {
    const char *title;
    const char *main;   /* main.cf additions */
    const char *tables; /* "name\n--\ntext\n==\n" ... */
    const char *sender;
    const char *rcpts;    /* comma separated */
    const char *uid;      /* NULL: no uid attribute (not a local submission) */
    const char *context;  /* rewrite_context, NULL: none */
    const char *fullname; /* sender_fullname, NULL: none */
    const char *content;  /* lines separated by \n */
    enum cleanup_status status;
    const char *reason;    /* for REJECTED/TEMPFAIL: prefix */
    const char *want_rcpt; /* "orig>final,..." */
    const char *want_hdr;  /* substrings of the header section, "|"-separated */
    const char *no_hdr;    /* must not be in it */
    const char *want_log;  /* substrings of the log, "|"-separated */
    const char *no_log;    /* must not be in the log */
    const char *folder;    /* "incoming" (default) or "hold" */
};

/* write_tables - the tables of a case */
static void write_tables(const char *spec)
{
    const char *p = spec;

    while (p && *p) {
        const char *sep = strstr(p, "\n--\n");
        const char *end = strstr(sep, "\n==\n");
        char name[64];
        char *text;

        assert_non_null(sep);
        assert_non_null(end);
        assert_true((size_t) (sep - p) < sizeof(name));
        memcpy(name, p, (size_t) (sep - p));
        name[sep - p] = 0;
        text = strndup(sep + 4, (size_t) (end - sep - 4 + 1));
        write_file(name, text);
        free(text);
        p = end + 4;
    }
}

/* expect_parts - every "|"-separated part of WANT in HAVE (or none, NOT) */
static void expect_parts(const char *title, const char *what, const char *want,
                         const char *have, bool present)
{
    char *copy;
    char *save = NULL;

    if (want == NULL)
        return;
    copy = strdup(want);
    for (char *part = strtok_r(copy, "|", &save); part;
         part = strtok_r(NULL, "|", &save))
        if ((strstr(have, part) != NULL) != present)
            fail_msg("%s: %s %s \"%s\" in:\n%s", title, what,
                     present ? "lacks" : "has", part, have);
    free(copy);
}

/* read_result - the recipients and headers of queue file ID in FOLDER */
static void read_result(const char *id, enum queue_folder f, struct buf *rcpts,
                        struct buf *hdrs)
{
    struct queue_dir qd;
    struct queue_env env = {0};
    struct queue_content qc;
    struct buf path = BUF_INIT;
    struct buf data = BUF_INIT;
    struct buf why = BUF_INIT;
    struct buf line = BUF_INIT;
    int fd = -1;

    assert_int_equal(queue_dir_init_conf(&qd, &why), 0);
    assert_int_equal(queue_dir_path(&qd, f, id, &path, &why), 0);
    if (queue_file_read(buf_str(&path), O_RDONLY, 1 << 24, &fd, &data, &env,
                        &why)
        != QUEUE_READ_OK)
        fail_msg("%s: %s", buf_str(&path), buf_str(&why));
    close(fd);
    for (size_t i = 0; i < env.nrcpt; i++)
        buf_catf(rcpts, "%s%s>%s", i ? "," : "",
                 env.rcpts[i].orig ? env.rcpts[i].orig : "",
                 env.rcpts[i].address);
    buf_catf(hdrs, "sender=<%s>\n", env.sender);
    queue_content_init(&qc, span_make(buf_str(&data), buf_len(&data)), &env);
    while (queue_content_next(&qc, &line) == 1) {
        buf_catf(hdrs, "%s%s\n", qc.in_body ? "B:" : "", buf_str(&line));
    }
    queue_env_fini(&env);
    queue_dir_fini(&qd);
    buf_fini(&path);
    buf_fini(&data);
    buf_fini(&why);
    buf_fini(&line);
}

/* subst_id - TEXT with "%ID%" replaced by the queue ID into OUT */
static const char *subst_id(const char *text, const char *id, struct buf *out)
{
    buf_reset(out);
    if (text == NULL)
        return NULL;
    for (const char *p = text; *p; p++) {
        if (strncmp(p, "%ID%", 4) == 0) {
            buf_cat(out, id);
            p += 3;
        } else {
            buf_catc(out, *p);
        }
    }
    return buf_str(out);
}

/* run_case - one message */
static void run_case(const struct msg_case *k)
{
    struct buf why = BUF_INIT;
    struct buf reason = BUF_INIT;
    struct buf rcpts = BUF_INIT;
    struct buf hdrs = BUF_INIT;
    struct cleanup_conf *cf;
    struct cleanup *c;
    enum cleanup_status st;
    char id[64];

    use_conf(k->main ? k->main : "");
    write_tables(k->tables);
    buf_reset(&logged);
    assert_non_null(cf = cleanup_conf_new(&why));
    assert_non_null(c = cleanup_open(cf, &why));
    str_copy(id, sizeof(id), cleanup_id(c));
    cleanup_attr(c, "rewrite_context", k->context ? k->context : "local");
    if (k->uid)
        cleanup_attr(c, "uid", k->uid);
    cleanup_sender(c, k->sender);
    if (k->fullname)
        cleanup_attr(c, "sender_fullname", k->fullname);
    if (k->rcpts) {
        char *copy = strdup(k->rcpts);
        char *save = NULL;

        for (char *r = strtok_r(copy, ",", &save); r;
             r = strtok_r(NULL, ",", &save))
            cleanup_rcpt(c, r, NULL, 0);
        free(copy);
    }
    for (const char *p = k->content; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t) (nl - p) : strlen(p);

        cleanup_line(c, p, n);
        p += n + (nl ? 1 : 0);
    }
    st = cleanup_finish(c, &reason);
    if (st != k->status)
        fail_msg("%s: status %d, want %d (%s)\nlog:\n%s", k->title, st,
                 k->status, buf_str(&reason), buf_str(&logged));
    if (k->reason && strncmp(buf_str(&reason), k->reason, strlen(k->reason)))
        fail_msg("%s: reason \"%s\", want \"%s\"", k->title, buf_str(&reason),
                 k->reason);
    if (st == CLEANUP_OK) {
        enum queue_folder f = QUEUE_INCOMING;

        if (k->folder && strcmp(k->folder, "hold") == 0)
            f = QUEUE_HOLD;
        read_result(id, f, &rcpts, &hdrs);
        if (k->want_rcpt && strcmp(buf_str(&rcpts), k->want_rcpt) != 0)
            fail_msg("%s: recipients %s, want %s", k->title, buf_str(&rcpts),
                     k->want_rcpt);
        struct buf want = BUF_INIT;

        expect_parts(k->title, "headers", subst_id(k->want_hdr, id, &want),
                     buf_str(&hdrs), true);
        buf_fini(&want);
        expect_parts(k->title, "headers", k->no_hdr, buf_str(&hdrs), false);
    }
    /* The log names the message by its queue ID. */
    {
        struct buf want = BUF_INIT;

        expect_parts(k->title, "log", subst_id(k->want_log, id, &want),
                     buf_str(&logged), true);
        expect_parts(k->title, "log", k->no_log, buf_str(&logged), false);
        buf_fini(&want);
    }
    cleanup_conf_free(cf);
    drop_conf();
    buf_fini(&why);
    buf_fini(&reason);
    buf_fini(&rcpts);
    buf_fini(&hdrs);
}

static const struct msg_case cases[] = {
    {
        .title = "local submission: Received, Message-Id, Date, From added",
        .sender = "joe",
        .rcpts = "bob@example.test",
        .uid = "1000",
        .content = "Subject: hi\n\nbody",
        .status = CLEANUP_OK,
        .want_rcpt = "bob@example.test>bob@example.test",
        .want_hdr = "sender=<joe@mx.example.test>\n"
                    "|\nReceived: by mx.example.test (ulak, from userid "
                    "1000)\n\tid %ID%"
                    "|\nSubject: hi\nMessage-Id: <"
                    "|@mx.example.test>\nDate: "
                    "|\nFrom: joe@mx.example.test\nB:\nB:body\n",
        .want_log = "%ID%: message-id=<",
    },
    {
        .title = "existing headers kept, From with full name not added",
        .sender = "joe",
        .rcpts = "bob",
        .uid = "0",
        .content = "Message-ID: <abc@x>\nDate: Mon, 1 Jan 2024 00:00:00 "
                   "+0000\nFrom: Joe <joe@x.test>\n\nbody",
        .status = CLEANUP_OK,
        .want_rcpt = "bob@mx.example.test>bob@mx.example.test",
        .no_hdr = "Message-Id:|\nDate: Mon, 30",
        .want_log = "%ID%: message-id=<abc@x>",
    },
    {
        .title = "Resent- headers: the Resent- forms are added (postfix)",
        .sender = "root",
        .rcpts = "u9@example.test",
        .uid = "0",
        .content = "Resent-To: x@example.test\nSubject: resent\nFrom: "
                   "a@b.test\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
                   "Message-ID: <m@x>\n\nb",
        .status = CLEANUP_OK,
        .want_hdr = "\nMessage-ID: <m@x>\nResent-Message-Id: <"
                    "|>\nResent-Date: "
                    "|\nResent-From: root@mx.example.test\nB:",
        .want_log = "%ID%: message-id=<m@x>\n|%ID%: resent-message-id=<",
    },
    {
        .title = "a full name with specials is quoted, control bytes blanked",
        .sender = "joe",
        .fullname = "J. \"Q\" Doe\nBcc: x",
        .rcpts = "bob@example.test",
        .uid = "0",
        .content = "Subject: x\n\nb",
        .status = CLEANUP_OK,
        .want_hdr = "\nFrom: \"J. \\\"Q\\\" Doe Bcc: x\" "
                    "<joe@mx.example.test>\nB:",
    },
    {
        .title = "message_drop_headers; a dropped Resent-Bcc still means "
                 "resent (postfix)",
        .sender = "root",
        .rcpts = "u@example.test",
        .uid = "0",
        .content = "Return-Path: <x@y>\nBcc: hidden@example.test\n"
                   "Content-Length: 5\nResent-Bcc: z@example.test\n"
                   "Subject: drop\n\nb",
        .status = CLEANUP_OK,
        .want_hdr = "\nSubject: drop\nResent-Message-Id: <|\nResent-Date: "
                    "|\nResent-From: root@mx.example.test\nB:",
        .no_hdr = "Return-Path|Bcc|Content-Length|\nMessage-Id",
    },
    {
        .title = "message_drop_headers can be emptied",
        .main = "message_drop_headers =\n",
        .sender = "root",
        .rcpts = "u@example.test",
        .uid = "0",
        .content = "Bcc: hidden@example.test\nSubject: keep\n\nb",
        .status = CLEANUP_OK,
        .want_hdr = "\nBcc: hidden@example.test\n",
    },
    {
        .title = "null sender: From: MAILER-DAEMON",
        .sender = "",
        .rcpts = "bob@example.test",
        .uid = "0",
        .content = "Subject: x\n\nb",
        .status = CLEANUP_OK,
        .want_hdr = "sender=<>|\nFrom: MAILER-DAEMON\n",
    },
    {
        .title = "remote without always_add: nothing added",
        .sender = "a@remote.test",
        .rcpts = "bob@example.test",
        .context = "remote",
        .content = "Subject: x\n\nb",
        .status = CLEANUP_OK,
        .no_hdr = "Received:|Message-Id:|Date:|From:",
    },
    {
        .title = "remote, remote_header_rewrite_domain empty: headers as "
                 "they are, also for canonical_maps",
        .main = "canonical_maps = inline:{ bob=robert@x.test }\n",
        .sender = "a@remote.test",
        .rcpts = "bob@example.test",
        .context = "remote",
        .content = "To: bob\n\nb",
        .status = CLEANUP_OK,
        .want_hdr = "\nTo: bob\n",
    },
    {
        .title = "remote with remote_header_rewrite_domain",
        .main = "remote_header_rewrite_domain = domain.invalid\n",
        .sender = "a@remote.test",
        .rcpts = "bob@example.test",
        .context = "remote",
        .content = "To: bob, c@d.test\n\nb",
        .status = CLEANUP_OK,
        .want_hdr = "\nTo: bob@domain.invalid, c@d.test\n",
    },
    {
        .title = "header addresses rewritten in the local context",
        .sender = "joe",
        .rcpts = "bob",
        .uid = "0",
        .content = "To: bob, carol\nCc: \"A B\" <ab>\nSubject: x\n\nb",
        .status = CLEANUP_OK,
        .want_hdr = "\nTo: bob@mx.example.test, carol@mx.example.test\n"
                    "|\nCc: \"A B\" <ab@mx.example.test>\n",
    },
    {
        .title = "canonical, sender_canonical and recipient_canonical",
        .main = "canonical_maps = inline:{ joe@mx.example.test=joseph@ex.test, "
                "bob@example.test=robert@example.test }\n"
                "sender_canonical_maps = inline:{ "
                "joe@mx.example.test=sender@ex.test }\n",
        .sender = "joe",
        .rcpts = "bob@example.test",
        .uid = "0",
        .content = "From: joe\nTo: bob@example.test\n\nb",
        .status = CLEANUP_OK,
        .want_rcpt = "bob@example.test>robert@example.test",
        .want_hdr = "sender=<sender@ex.test>|\nFrom: sender@ex.test\n"
                    "|\nTo: robert@example.test\n",
    },
    {
        .title = "canonical_classes without envelope_recipient",
        .main = "canonical_maps = inline:{ bob@example.test=robert@x.test }\n"
                "canonical_classes = header_recipient\n",
        .sender = "joe",
        .rcpts = "bob@example.test",
        .uid = "0",
        .content = "To: bob@example.test\n\nb",
        .status = CLEANUP_OK,
        .want_rcpt = "bob@example.test>bob@example.test",
        .want_hdr = "\nTo: robert@x.test\n",
    },
    {
        .title = "masquerade_domains with an exception and a negation",
        .main = "masquerade_domains = !keep.example.test, example.test\n"
                "masquerade_exceptions = root\n",
        .sender = "joe@host.example.test",
        .rcpts = "bob@example.test",
        .uid = "0",
        .content = "From: joe@host.example.test\nCc: root@a.example.test, "
                   "x@h.keep.example.test, y@keep.example.test\n\nb",
        .status = CLEANUP_OK,
        .want_hdr = "sender=<joe@example.test>|\nFrom: joe@example.test\n"
                    "|\nCc: root@a.example.test, x@h.keep.example.test, "
                    "y@keep.example.test\n",
    },
    {
        .title = "virtual aliases: one-to-many, recursion, catch-all, dups",
        .main = "virtual_alias_maps = texthash:DIR/virtual\n",
        .tables = "virtual\n--\n"
                  "list@example.test a@example.test, b@example.test, "
                  "list2@example.test\n"
                  "list2@example.test a@example.test, c@example.test\n"
                  "self@example.test self@example.test, d@example.test\n"
                  "@catch.test caught@example.test\n==\n",
        .sender = "joe",
        .rcpts = "list@example.test,self@example.test,x@catch.test,"
                 "a@example.test",
        .uid = "0",
        .content = "Subject: x\n\nb",
        .status = CLEANUP_OK,
        .want_rcpt = "list@example.test>a@example.test,"
                     "list@example.test>b@example.test,"
                     "list@example.test>c@example.test,"
                     "self@example.test>self@example.test,"
                     "self@example.test>d@example.test,"
                     "x@catch.test>caught@example.test,"
                     "a@example.test>a@example.test",
    },
    {
        .title = "enable_original_recipient = no: one recipient per address",
        .main = "virtual_alias_maps = inline:{ l@example.test=a@example.test "
                "}\nenable_original_recipient = no\n",
        .sender = "joe",
        .rcpts = "l@example.test,a@example.test",
        .uid = "0",
        .content = "Subject: x\n\nb",
        .status = CLEANUP_OK,
        .want_rcpt = ">a@example.test",
    },
    {
        .title = "virtual alias extension propagated",
        .main = "virtual_alias_maps = inline:{ bob@example.test=rob@x.test }\n"
                "recipient_delimiter = +\n",
        .sender = "joe",
        .rcpts = "bob+tag@example.test",
        .uid = "0",
        .content = "Subject: x\n\nb",
        .status = CLEANUP_OK,
        .want_rcpt = "bob+tag@example.test>rob+tag@x.test",
    },
    {
        .title = "virtual alias expansion limit",
        .main = "virtual_alias_maps = texthash:DIR/virtual\n"
                "virtual_alias_expansion_limit = 2\n",
        .tables = "virtual\n--\nl@example.test a@x.test, b@x.test, c@x.test\n"
                  "==\n",
        .sender = "joe",
        .rcpts = "l@example.test",
        .uid = "0",
        .content = "Subject: x\n\nb",
        .status = CLEANUP_TEMPFAIL,
        .reason = "4.6.0",
        .want_log = "warning: unreasonable virtual_alias_maps map expansion "
                    "size for l@example.test -- message not accepted, try "
                    "again later",
    },
    {
        .title = "virtual alias recursion limit",
        .main = "virtual_alias_maps = inline:{ a@x.test=b@x.test, "
                "b@x.test=a@x.test }\nvirtual_alias_recursion_limit = 5\n",
        .sender = "joe",
        .rcpts = "a@x.test",
        .uid = "0",
        .content = "Subject: x\n\nb",
        .status = CLEANUP_TEMPFAIL,
        .want_log = "unreasonable virtual_alias_maps map nesting for",
    },
    {
        .title = "no_address_mappings",
        .main = "virtual_alias_maps = inline:{ bob@example.test=rob@x.test }\n"
                "canonical_maps = inline:{ joe@mx.example.test=j@x.test }\n"
                "receive_override_options = no_address_mappings\n",
        .sender = "joe",
        .rcpts = "bob@example.test",
        .uid = "0",
        .content = "From: joe\n\nb",
        .status = CLEANUP_OK,
        .want_rcpt = "bob@example.test>bob@example.test",
        .want_hdr =
            "sender=<joe@mx.example.test>|\nFrom: joe@mx.example.test\n",
    },
    {
        .title = "header_checks WARN, PREPEND, REPLACE, IGNORE",
        .main = "header_checks = regexp:DIR/hc\n",
        .tables = "hc\n--\n/^Subject: warnme/ WARN watch out\n"
                  "/^X-Pre:/ PREPEND X-Added: yes\n"
                  "/^X-Rep:/ REPLACE X-Replaced: yes\n"
                  "/^X-Ign:/ IGNORE\n==\n",
        .sender = "a.b",
        .rcpts = "u1@example.test",
        .uid = "0",
        .content = "Subject: warnme\nX-Pre: 1\nX-Rep: 2\nX-Ign: 3\n\nbody",
        .status = CLEANUP_OK,
        .want_hdr = "\nSubject: warnme\nX-Added: yes\nX-Pre: 1\n"
                    "X-Replaced: yes\nMessage-Id:",
        .no_hdr = "X-Ign|X-Rep: 2",
        .want_log =
            "%ID%: warning: header Subject: warnme from local; "
            "from=<a.b@mx.example.test> to=<u1@example.test>: watch out\n"
            "|%ID%: prepend: header X-Pre: 1 from local; "
            "from=<a.b@mx.example.test> to=<u1@example.test>: X-Added: yes\n"
            "|%ID%: replace: header X-Rep: 2 from local; "
            "from=<a.b@mx.example.test> to=<u1@example.test>: X-Replaced: "
            "yes\n",
    },
    {
        .title = "header_checks REJECT",
        .main = "header_checks = regexp:DIR/hc\n",
        .tables = "hc\n--\n/^Subject: rej/ REJECT\n==\n",
        .sender = "root",
        .rcpts = "u3@example.test",
        .uid = "0",
        .content = "Subject: rej\n\nx",
        .status = CLEANUP_REJECTED,
        .reason = "5.7.1 message content rejected",
        .want_log = "%ID%: reject: header Subject: rej from local; "
                    "from=<root@mx.example.test> to=<u3@example.test>: 5.7.1 "
                    "message content rejected\n",
    },
    {
        .title = "header_checks HOLD: the file goes to hold/",
        .main = "header_checks = regexp:DIR/hc\n",
        .tables = "hc\n--\n/^Subject: holdme/ HOLD\n==\n",
        .sender = "",
        .rcpts = "u2@example.test",
        .uid = "0",
        .content = "Subject: holdme\n\nx",
        .status = CLEANUP_OK,
        .folder = "hold",
        .want_log = "%ID%: hold: header Subject: holdme from local; from=<> "
                    "to=<u2@example.test>\n",
    },
    {
        .title = "header_checks DISCARD",
        .main = "header_checks = regexp:DIR/hc\n",
        .tables = "hc\n--\n/^Subject: spam/ DISCARD gone\n==\n",
        .sender = "joe",
        .rcpts = "u@example.test",
        .uid = "0",
        .content = "Subject: spam\n\nx",
        .status = CLEANUP_DISCARDED,
        .no_log = "message-id=",
        .want_log = "%ID%: discard: header Subject: spam from local; "
                    "from=<joe@mx.example.test> to=<u@example.test>: gone\n",
    },
    {
        .title = "header_checks REDIRECT, BCC, FILTER",
        .main = "header_checks = pcre:DIR/hc\n",
        .tables = "hc\n--\n/^Subject: r/ REDIRECT other@example.test\n"
                  "/^X-Bcc:/ BCC copy@example.test\n"
                  "/^X-Filter:/ FILTER smtp:[127.0.0.1]:10025\n==\n",
        .sender = "joe",
        .rcpts = "u@example.test",
        .uid = "0",
        .content = "Subject: r\nX-Bcc: 1\nX-Filter: 1\n\nx",
        .status = CLEANUP_OK,
        .want_rcpt = "u@example.test>other@example.test,"
                     "copy@example.test>copy@example.test",
        .want_log = "%ID%: redirect: header Subject: r from local; "
                    "from=<joe@mx.example.test> to=<u@example.test>: "
                    "other@example.test\n"
                    "|%ID%: filter: header X-Filter: 1",
    },
    {
        .title = "body_checks REJECT and WARN",
        .main = "body_checks = regexp:DIR/bc\n",
        .tables = "bc\n--\n/^badbody/ REJECT no body\n/^warnbody/ WARN\n==\n",
        .sender = "root",
        .rcpts = "u4@example.test",
        .uid = "0",
        .content = "Subject: ok\n\nwarnbody\nbadbody",
        .status = CLEANUP_REJECTED,
        .reason = "5.7.1 no body",
        .want_log = "%ID%: warning: body warnbody from local; "
                    "from=<root@mx.example.test> to=<u4@example.test>\n"
                    "|%ID%: reject: body badbody from local; "
                    "from=<root@mx.example.test> to=<u4@example.test>: 5.7.1 "
                    "no body\n",
    },
    {
        .title = "no_header_body_checks",
        .main = "body_checks = regexp:DIR/bc\n"
                "receive_override_options = no_header_body_checks\n",
        .tables = "bc\n--\n/^badbody/ REJECT no body\n==\n",
        .sender = "root",
        .rcpts = "u4@example.test",
        .uid = "0",
        .content = "Subject: ok\n\nbadbody",
        .status = CLEANUP_OK,
        .want_hdr = "B:badbody",
    },
    {
        .title = "message_size_limit",
        .main = "message_size_limit = 20\n",
        .sender = "root",
        .rcpts = "u@example.test",
        .uid = "0",
        .content = "Subject: ok\n\n0123456789012345678901234567890",
        .status = CLEANUP_REJECTED,
        .reason = "5.3.4 Message file too big",
    },
    {
        .title = "hopcount_limit",
        .main = "hopcount_limit = 2\n",
        .sender = "root",
        .rcpts = "u@example.test",
        .content = "Received: a\nReceived: b\n\nx",
        .status = CLEANUP_REJECTED,
        .reason = "5.4.6 too many hops",
    },
    {
        .title = "a recipient too long for the queue is bad syntax",
        .sender = "joe",
        .rcpts =
            "bob@example.test,"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "@example.test",
        .uid = "0",
        .content = "Subject: x\n\nb",
        .status = CLEANUP_REJECTED,
        .reason = "5.1.3 Bad recipient address syntax",
    },
    {
        .title = "no recipients",
        .sender = "root",
        .uid = "0",
        .content = "Subject: x\n\nb",
        .status = CLEANUP_REJECTED,
        .reason = "5.1.3",
    },
    {
        .title = "a body without the empty line gets one (postfix)",
        .sender = "root",
        .rcpts = "u@example.test",
        .uid = "0",
        .content = "Subject: nb\nthis is not a header\nmore",
        .status = CLEANUP_OK,
        .want_hdr = "\nFrom: root@mx.example.test\nB:\nB:this is not a "
                    "header\nB:more\n",
    },
    {
        .title = "a continued header and no body",
        .sender = "root",
        .rcpts = "u@example.test",
        .uid = "0",
        .content = "Subject: one\n two",
        .status = CLEANUP_OK,
        .want_hdr = "\nSubject: one\n two\nMessage-Id:",
        .no_hdr = "B:",
    },
};

/* test_cases - every case */
static void test_cases(void **state)
{
    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++)
        run_case(&cases[i]);
}

/* test_classes - *_classes and override parsing, with their errors */
static void test_classes(void **state)
{
    struct buf why = BUF_INIT;
    int bits;

    (void) state;
    assert_int_equal(cleanup_parse_classes("x",
                                           "envelope_sender, "
                                           "header_recipient",
                                           &bits, &why),
                     0);
    assert_int_equal(bits, CLEANUP_CLASS_ENV_SENDER | CLEANUP_CLASS_HDR_RCPT);
    assert_int_equal(
        cleanup_parse_classes("masquerade_classes", "bogus", &bits, &why), -1);
    assert_string_equal(buf_str(&why),
                        "masquerade_classes: unknown address class \"bogus\"");
    assert_int_equal(
        cleanup_parse_overrides("no_milters no_address_mappings", &bits, &why),
        0);
    assert_int_equal(bits, CLEANUP_NO_MILTERS | CLEANUP_NO_ADDR_MAPPINGS);
    assert_int_equal(cleanup_parse_overrides("no_such", &bits, &why), -1);
    assert_string_equal(buf_str(&why),
                        "receive_override_options: unknown option \"no_such\"");
    buf_fini(&why);
}

/* test_bad_conf - a bad class value is an error at conf time */
static void test_bad_conf(void **state)
{
    struct buf why = BUF_INIT;

    (void) state;
    use_conf("masquerade_classes = nope\n");
    assert_null(cleanup_conf_new(&why));
    assert_string_equal(buf_str(&why),
                        "masquerade_classes: unknown address class \"nope\"");
    drop_conf();
    buf_fini(&why);
}

/* test_abort - an aborted message leaves no file */
static void test_abort(void **state)
{
    struct buf why = BUF_INIT;
    struct cleanup_conf *cf;
    struct cleanup *c;
    struct queue_dir qd;
    struct queue_scan *s;

    (void) state;
    use_conf("");
    assert_non_null(cf = cleanup_conf_new(&why));
    assert_non_null(c = cleanup_open(cf, &why));
    cleanup_sender(c, "a");
    cleanup_line(c, "Subject: x", 10);
    cleanup_abort(c);
    assert_int_equal(queue_dir_init_conf(&qd, &why), 0);
    assert_non_null(s = queue_scan_open(&qd, QUEUE_INCOMING, &why));
    assert_null(queue_scan_next(s, NULL));
    queue_scan_close(s);
    queue_dir_fini(&qd);
    cleanup_conf_free(cf);
    drop_conf();
    buf_fini(&why);
}

/* test_rcpt_orig - a forwarded recipient keeps the original recipient */
static void test_rcpt_orig(void **state)
{
    struct buf why = BUF_INIT;
    struct buf rcpts = BUF_INIT;
    struct buf hdrs = BUF_INIT;
    struct cleanup_conf *cf;
    struct cleanup *c;
    char id[64];

    (void) state;
    use_conf("");
    assert_non_null(cf = cleanup_conf_new(&why));
    assert_non_null(c = cleanup_open(cf, &why));
    str_copy(id, sizeof(id), cleanup_id(c));
    cleanup_sender(c, "a@example.com");
    cleanup_rcpt_orig(c, "bob@example.com", "list@mx.example.test", NULL, 0);
    cleanup_rcpt(c, "carol@example.com", NULL, 0);
    cleanup_line(c, "Subject: x", 10);
    assert_int_equal(cleanup_finish(c, &why), CLEANUP_OK);
    read_result(id, QUEUE_INCOMING, &rcpts, &hdrs);
    assert_string_equal(buf_str(&rcpts), "list@mx.example.test>bob@example.com,"
                                         "carol@example.com>carol@example.com");
    cleanup_conf_free(cf);
    drop_conf();
    buf_fini(&why);
    buf_fini(&rcpts);
    buf_fini(&hdrs);
}

/* One asynchronous finish. */
struct async_res {
    char id[64];
    bool called;
    bool durable; /* the file was in incoming/ when the callback ran */
    enum cleanup_status st;
    char reason[128];
};

static struct loop *async_loop;
static int async_left;

/* in_incoming - the committed file of ID is in incoming/ */
static bool in_incoming(const char *id)
{
    char path[256];

    str_fmt(path, sizeof(path), "%s/q/incoming/%s", dir, id);
    return access(path, F_OK) == 0;
}

/* async_done - the callback: what it was told and what the disk held */
static void async_done(void *arg, enum cleanup_status st, const char *reason)
{
    struct async_res *r = arg;

    assert_false(r->called);
    r->called = true;
    r->st = st;
    r->durable = in_incoming(r->id);
    str_copy(r->reason, sizeof(r->reason), reason);
    if (--async_left == 0)
        loop_stop(async_loop);
}

/* async_timeout - the callbacks did not all come */
static void async_timeout(int fd, int what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
    loop_stop(async_loop);
}

/* test_async - commits on the workers: the callback from the loop only,
 * after the file is in incoming/; a cancelled one is still committed; a
 * reject is answered at once; a failed rename is a temporary failure */
static void test_async(void **state)
{
    enum {
        N = 24,
        CANCEL = 3,
        CLASH = 5
    };
    static struct async_res res[N];
    struct buf why = BUF_INIT;
    struct cleanup_conf *cf;
    struct cleanup *c;
    struct cleanup_job *job;
    struct loop_ev *timer;
    enum cleanup_status st;
    char path[256];

    (void) state;
    use_conf("");
    assert_non_null(cf = cleanup_conf_new(&why));
    async_loop = loop_new();
    async_left = N - 1; /* the cancelled one never calls */
    for (int i = 0; i < N; i++) {
        assert_non_null(c = cleanup_open(cf, &why));
        str_copy(res[i].id, sizeof(res[i].id), cleanup_id(c));
        cleanup_sender(c, "a@example.com");
        cleanup_rcpt(c, "b@example.com", NULL, 0);
        cleanup_line(c, "Subject: x", 10);
        cleanup_line(c, "", 0);
        cleanup_line(c, "body", 4);
        if (i == CLASH) {
            /* A file under the queue ID already: the rename must fail. */
            FILE *fp;

            str_fmt(path, sizeof(path), "%s/q/incoming/%s", dir, res[i].id);
            assert_non_null(fp = fopen(path, "w"));
            fclose(fp);
        }
        assert_int_equal(cleanup_finish_async(c, async_loop, &st, &why,
                                              async_done, &res[i], &job),
                         1);
        assert_non_null(job);
        /* Never from inside the call. */
        assert_false(res[i].called);
        if (i == CANCEL)
            cleanup_finish_cancel(job);
    }
    /* No recipients: rejected at once, no callback, no file. */
    assert_non_null(c = cleanup_open(cf, &why));
    cleanup_sender(c, "a@example.com");
    cleanup_line(c, "Subject: x", 10);
    assert_int_equal(
        cleanup_finish_async(c, async_loop, &st, &why, async_done, NULL, &job),
        0);
    assert_null(job);
    assert_int_equal(st, CLEANUP_REJECTED);
    assert_string_equal(buf_str(&why), "5.1.3 no recipients specified");

    timer = loop_timer(async_loop, async_timeout, NULL);
    loop_ev_arm(timer, 20000);
    assert_int_equal(loop_run(async_loop), 0);
    assert_int_equal(async_left, 0);
    for (int i = 0; i < N; i++) {
        if (i == CANCEL) {
            assert_false(res[i].called);
            assert_true(in_incoming(res[i].id));
        } else if (i == CLASH) {
            assert_true(res[i].called);
            assert_int_equal(res[i].st, CLEANUP_TEMPFAIL);
            assert_string_equal(res[i].reason, "4.3.0 queue file write error");
        } else {
            assert_true(res[i].called);
            assert_int_equal(res[i].st, CLEANUP_OK);
            assert_true(res[i].durable);
        }
    }
    assert_non_null(strstr(buf_str(&logged), "File exists"));
    assert_int_equal(cleanup_pool_busy(), 0);
    loop_ev_free(timer);
    cleanup_conf_free(cf);
    drop_conf();
    buf_fini(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),     cmocka_unit_test(test_classes),
        cmocka_unit_test(test_bad_conf),  cmocka_unit_test(test_abort),
        cmocka_unit_test(test_rcpt_orig), cmocka_unit_test(test_async),
    };

    msg_init("cleanup_test");
    msg_output_stderr(false);
    msg_output_add(capture);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
