/* queue_file_test - writer, strict reader, in-place updates. */
#include "global/queue_file.h"
#include "lib/fs.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static struct queue_dir qd;

/* setup - a fresh queue tree */
static int setup(void **state)
{
    struct buf why = BUF_INIT;
    int rc;

    (void) state;
    msg_output_stderr(false);
    if (str_copy(dir, sizeof(dir), "/tmp/ulak-qfile-XXXXXX") < 0
        || mkdtemp(dir) == NULL)
        return -1;
    rc = queue_dir_init(&qd, dir, 1, "deferred, defer, incoming", false, &why);
    if (rc == 0)
        rc = queue_dir_create(&qd, geteuid(), getegid(), &why);
    buf_fini(&why);
    return rc;
}

/* teardown - remove the tree */
static int teardown(void **state)
{
    char cmd[128];

    (void) state;
    queue_dir_fini(&qd);
    (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* write_message - a complete message through the writer; the ID into ID */
static int write_message(char *id, size_t size, const char *long_line,
                         struct buf *why)
{
    struct queue_writer *w = queue_writer_open(&qd, QUEUE_INCOMING, why);
    struct timeval arrival = {.tv_sec = 1796064070, .tv_usec = 42};
    const struct queue_rcpt_in r1 = {
        .address = "bob@example.test",
        .orig = "Bob@Example.Test",
        .orcpt = "rfc822;Bob@Example.Test",
        .notify = QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_DELAY,
    };
    const struct queue_rcpt_in r2 = {.address = "carol@example.test"};
    const struct queue_rcpt_in r3 = {.address = "dave@example.test",
                                     .notify = QUEUE_NOTIFY_NEVER};

    if (w == NULL)
        return -1;
    assert_true(queue_id_valid(queue_writer_id(w)));
    (void) str_copy(id, size, queue_writer_id(w));
    queue_writer_time(w, &arrival);
    queue_writer_warn(w, 1796067670);
    queue_writer_sender(w, "alice@example.test");
    queue_writer_envid(w, "envid123");
    queue_writer_ret(w, QUEUE_RET_HDRS);
    queue_writer_attr(w, "rewrite_context", "local");
    queue_writer_attr(w, "log_client_name", "client.example");
    queue_writer_rcpt(w, &r1);
    queue_writer_rcpt(w, &r2);
    queue_writer_content_begin(w);
    queue_writer_line(w, "Subject: hello", 14);
    queue_writer_line(w, long_line, strlen(long_line));
    queue_writer_body_begin(w);
    queue_writer_line(w, "", 0);
    queue_writer_line(w, "body\r", 5);
    queue_writer_line(w, "with\0nul", 8);
    queue_writer_content_end(w);
    queue_writer_rcpt(w, &r3);
    queue_writer_attr(w, "extracted", "yes");
    return queue_writer_commit(w, why);
}

/* load - the file of ID in FOLDER into OUT; its fd (O_RDWR) */
static int load(enum queue_folder f, const char *id, struct buf *out)
{
    struct buf p = BUF_INIT;
    struct buf why = BUF_INIT;
    int fd;

    assert_int_equal(queue_dir_path(&qd, f, id, &p, &why), 0);
    fd = open(buf_str(&p), O_RDWR);
    if (fd < 0)
        fail_msg("open %s: %s", buf_str(&p), strerror(errno));
    if (queue_file_load(fd, 1 << 20, out, buf_str(&p), &why) < 0)
        fail_msg("load: %s", buf_str(&why));
    buf_fini(&p);
    buf_fini(&why);
    return fd;
}

/* count_files - regular files in the incoming tree (any name) */
static int count_files(void)
{
    char cmd[200];
    FILE *fp;
    int n = -1;

    (void) snprintf(cmd, sizeof(cmd), "find %s/incoming -type f | wc -l", dir);
    if ((fp = popen(cmd, "r")) != NULL) {
        if (fscanf(fp, "%d", &n) != 1)
            n = -1;
        pclose(fp);
    }
    return n;
}

/* test_roundtrip - what the writer writes, the reader reads back */
static void test_roundtrip(void **state)
{
    char id[QUEUE_ID_SIZE];
    char long_line[10010];
    struct buf why = BUF_INIT;
    struct buf data = BUF_INIT;
    struct buf line = BUF_INIT;
    struct queue_env env;
    struct queue_content c;
    struct span file;
    struct span piece;
    bool more;
    size_t pieces = 0;
    long long total = 0;
    int fd;

    (void) state;
    memset(long_line, 'x', sizeof(long_line) - 1);
    long_line[sizeof(long_line) - 1] = 0;
    memcpy(long_line, "X-Long: ", 8);
    if (write_message(id, sizeof(id), long_line, &why) < 0)
        fail_msg("write: %s", buf_str(&why));
    assert_int_equal(count_files(), 1); /* no temporary file left */
    fd = load(QUEUE_INCOMING, id, &data);
    close(fd);
    file = span_make(buf_str(&data), buf_len(&data));
    if (queue_file_parse(file, &env, &why) < 0)
        fail_msg("parse: %s", buf_str(&why));
    assert_int_equal(env.arrival.tv_sec, 1796064070);
    assert_int_equal(env.arrival.tv_usec, 42);
    assert_int_equal(env.warn_time, 1796067670);
    assert_true(env.warn_offset > 0);
    assert_string_equal(env.sender, "alice@example.test");
    assert_string_equal(env.envid, "envid123");
    assert_int_equal(env.ret, QUEUE_RET_HDRS);
    assert_string_equal(queue_env_attr(&env, "rewrite_context"), "local");
    assert_string_equal(queue_env_attr(&env, "extracted"), "yes");
    assert_null(queue_env_attr(&env, "rewrite"));
    assert_int_equal(env.nrcpt, 3);
    assert_int_equal(env.ndone, 0);
    assert_string_equal(env.rcpts[0].address, "bob@example.test");
    assert_string_equal(env.rcpts[0].orig, "Bob@Example.Test");
    assert_string_equal(env.rcpts[0].orcpt, "rfc822;Bob@Example.Test");
    assert_int_equal(env.rcpts[0].notify, 10);
    assert_null(env.rcpts[1].orig);
    assert_null(env.rcpts[1].orcpt);
    assert_int_equal(env.rcpts[1].notify, 0);
    assert_string_equal(env.rcpts[2].address, "dave@example.test");
    assert_int_equal(env.rcpts[2].notify, QUEUE_NOTIFY_NEVER);
    assert_true(env.rcpts[2].offset > env.xtra_offset);
    assert_int_equal(env.message_size,
                     15 + (long long) strlen(long_line) + 1 + 1 + 6 + 9);

    queue_content_init(&c, file, &env);
    assert_int_equal(queue_content_next(&c, &line), 1);
    assert_string_equal(buf_str(&line), "Subject: hello");
    assert_false(c.in_body);
    assert_int_equal(queue_content_next(&c, &line), 1);
    assert_string_equal(buf_str(&line), long_line);
    assert_false(c.in_body);
    assert_int_equal(queue_content_next(&c, &line), 1);
    assert_string_equal(buf_str(&line), "");
    assert_true(c.in_body);
    assert_int_equal(queue_content_next(&c, &line), 1);
    assert_string_equal(buf_str(&line), "body\r");
    assert_int_equal(queue_content_next(&c, &line), 1);
    assert_int_equal(buf_len(&line), 8);
    assert_memory_equal(buf_str(&line), "with\0nul", 8);
    assert_int_equal(queue_content_next(&c, &line), 0);

    /* The same content in pieces: the long line in 4096-byte parts. */
    queue_content_init(&c, file, &env);
    while (queue_content_piece(&c, &piece, &more) > 0) {
        assert_true(piece.len <= QUEUE_REC_MAX);
        total += (long long) piece.len + !more;
        pieces++;
    }
    assert_int_equal(total, env.message_size);
    assert_int_equal(pieces, 5 + 2); /* 10009 bytes: 4096+4096+1817 */
    assert_true(c.in_body);
    queue_env_fini(&env);
    buf_fini(&why);
    buf_fini(&data);
    buf_fini(&line);
}

/* test_mark_done - the mark survives closing and reopening the file */
static void test_mark_done(void **state)
{
    char id[QUEUE_ID_SIZE];
    struct buf why = BUF_INIT;
    struct buf data = BUF_INIT;
    struct queue_env env;
    size_t off;
    int fd;

    (void) state;
    assert_int_equal(write_message(id, sizeof(id), "X: y", &why), 0);
    fd = load(QUEUE_INCOMING, id, &data);
    assert_int_equal(
        queue_file_parse(span_make(buf_str(&data), buf_len(&data)), &env, &why),
        0);
    off = env.rcpts[1].offset;
    assert_int_equal(queue_file_mark_done(fd, off, &why), 0);
    assert_int_equal(queue_file_mark_done(fd, off, &why), 0); /* again */
    assert_int_equal(queue_file_set_warn(fd, env.warn_offset, 0, &why), 0);
    /* Not a recipient record: refused, nothing written. */
    assert_int_equal(queue_file_mark_done(fd, env.content_offset, &why), -1);
    assert_non_null(strstr(buf_str(&why), "not Rr"));
    buf_reset(&why);
    assert_int_equal(queue_file_set_warn(fd, off, 5, &why), -1);
    assert_int_equal(queue_file_mark_done(fd, 1 << 20, &why), -1);
    close(fd);
    queue_env_fini(&env);

    /* Moved to another folder, reopened, read again. */
    assert_int_equal(
        queue_dir_move(&qd, QUEUE_INCOMING, QUEUE_DEFERRED, id, &why), 0);
    fd = load(QUEUE_DEFERRED, id, &data);
    close(fd);
    if (queue_file_parse(span_make(buf_str(&data), buf_len(&data)), &env, &why)
        < 0)
        fail_msg("parse: %s", buf_str(&why));
    assert_false(env.rcpts[0].done);
    assert_true(env.rcpts[1].done);
    assert_false(env.rcpts[2].done);
    assert_int_equal(env.ndone, 1);
    assert_int_equal(env.warn_time, 0);
    queue_env_fini(&env);
    buf_fini(&why);
    buf_fini(&data);
}

/* test_writer_errors - misuse fails, sticky, and leaves no file */
static void test_writer_errors(void **state)
{
    struct buf why = BUF_INIT;
    struct queue_writer *w;
    struct timeval now = {.tv_sec = 1, .tv_usec = 0};
    const struct queue_rcpt_in empty = {.address = ""};
    const struct queue_rcpt_in badn = {.address = "a@b", .notify = 3};
    char big[QUEUE_REC_MAX + 2];
    struct buf p = BUF_INIT;
    static const struct {
        const char *name;
        int step;
        const char *want;
    } cases[] = {
        {"content before time", 0, "content before the time record"},
        {"NUL-free sender", 1, "text holds a NUL, CR or LF byte"},
        {"bad attribute name", 2, "bad attribute name \"Bad-Name\""},
        {"duplicate attribute", 3, "duplicate attribute a"},
        {"empty recipient", 4, "empty recipient address"},
        {"NEVER with others", 5, "bad notify flags 3"},
        {"LF in a line", 6, "content line holds a LF byte"},
        {"oversize envelope record", 7, "4101 bytes exceed 4096"},
        {"recipient in the content", 8, "recipient inside the content"},
        {"commit without content", 9, "commit before the end of the content"},
        {"second sender", 10, "a second sender record"},
    };

    (void) state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    for (size_t i = 0; i < NELEM(cases); i++) {
        buf_reset(&why);
        w = queue_writer_open(&qd, QUEUE_INCOMING, &why);
        assert_non_null(w);
        if (cases[i].step != 0) {
            queue_writer_time(w, &now);
            queue_writer_sender(w, cases[i].step == 1 ? "a\nb" : "");
        }
        switch (cases[i].step) {
            case 2:
                queue_writer_attr(w, "Bad-Name", "x");
                break;
            case 3:
                queue_writer_attr(w, "a", "1");
                queue_writer_attr(w, "a", "2");
                break;
            case 4:
                queue_writer_rcpt(w, &empty);
                break;
            case 5:
                queue_writer_rcpt(w, &badn);
                break;
            case 6:
                queue_writer_content_begin(w);
                queue_writer_line(w, "a\nb", 3);
                break;
            case 7:
                queue_writer_attr(w, "big", big);
                break;
            case 8:
                queue_writer_content_begin(w);
                queue_writer_rcpt(w, &badn);
                break;
            case 10:
                queue_writer_sender(w, "again");
                break;
            default:
                break;
        }
        if (cases[i].step != 9) {
            queue_writer_content_begin(w);
            queue_writer_content_end(w);
        }
        /* Sticky: a later good call fails as well. */
        if (cases[i].step != 9 && queue_writer_attr(w, "late", "x") != -1)
            fail_msg("%s: a call after the failure succeeded", cases[i].name);
        if (queue_writer_commit(w, &why) != -1)
            fail_msg("%s: commit succeeded", cases[i].name);
        if (strstr(buf_str(&why), cases[i].want) == NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
                     buf_str(&why), cases[i].want);
        assert_int_equal(count_files(), 0);
    }
    /* Abort removes the file. */
    w = queue_writer_open(&qd, QUEUE_INCOMING, &why);
    assert_int_equal(count_files(), 1);
    queue_writer_abort(w);
    assert_int_equal(count_files(), 0);
    queue_writer_abort(NULL);
    /* A folder that is missing. */
    buf_reset(&why);
    queue_dir_folder_path(&qd, QUEUE_HOLD, &p);
    assert_int_equal(rmdir(buf_str(&p)), 0);
    assert_null(queue_writer_open(&qd, QUEUE_HOLD, &why));
    assert_non_null(strstr(buf_str(&why), "create "));
    buf_fini(&why);
    buf_fini(&p);
}

/*
 * The reader over byte spans: a good file built by hand, then one change
 * per case.
 */

/* rec - append one record */
static void rec(struct buf *b, int type, const char *data, size_t len)
{
    buf_catc(b, type);
    buf_catc(b, (int) (len >> 8));
    buf_catc(b, (int) (len & 0xff));
    buf_catn(b, data, len);
}

/* recs - append a text record */
static void recs(struct buf *b, int type, const char *text)
{
    rec(b, type, text, strlen(text));
}

/* size_rec - the size record with these fields */
static void size_rec(struct buf *b, long long size, long long off,
                     long long nrcpt, long long xtra, long long version)
{
    char text[100];

    (void) str_fmt(text, sizeof(text), "%15lld %15lld %15lld %15lld %15lld",
                   size, off, nrcpt, xtra, version);
    recs(b, 'S', text);
}

/* build - "Subject: hi" + body "x", one recipient; MUT names a flaw */
static void build(struct buf *b, const char *mut)
{
    struct buf env = BUF_INIT;
    struct buf content = BUF_INIT;
    long long size = 11 + 1 + 1 + 1;
    long long off;
    long long nrcpt = 1;

    recs(&env, 'T', strcmp(mut, "time") ? "1796064070.000042" : "17960.42");
    if (strcmp(mut, "sender nul") == 0)
        rec(&env, 'F', "a\0b", 3);
    else if (strcmp(mut, "no sender") != 0)
        recs(&env, 'F', "a@b");
    if (strcmp(mut, "dup time") == 0)
        recs(&env, 'T', "1796064070.000042");
    if (strcmp(mut, "warn") == 0)
        recs(&env, 'W', "12");
    if (strcmp(mut, "ret") == 0)
        recs(&env, 'D', "3");
    if (strcmp(mut, "attr") == 0)
        recs(&env, 'A', "Name=x");
    if (strcmp(mut, "dup attr") == 0)
        recs(&env, 'A', "a=1"), recs(&env, 'A', "a=2");
    if (strcmp(mut, "notify") == 0)
        recs(&env, 'N', "17");
    if (strcmp(mut, "orphan orig") == 0)
        recs(&env, 'O', "x@y"), recs(&env, 'A', "a=1");
    if (strcmp(mut, "dup orig") == 0)
        recs(&env, 'O', "x@y"), recs(&env, 'O', "x@y");
    recs(&env, 'R', strcmp(mut, "empty rcpt") ? "c@d" : "");
    if (strcmp(mut, "lf") == 0)
        rec(&content, 'L', "Subj\nct: hi", 11);
    else
        recs(&content, 'L', "Subject: hi");
    if (strcmp(mut, "two bodies") == 0)
        recs(&content, 'B', "");
    recs(&content, 'B', "");
    recs(&content, 'L', "x");
    if (strcmp(mut, "piece at end") == 0)
        recs(&content, 'C', "");
    if (strcmp(mut, "rcpt in content") == 0)
        recs(&content, 'R', "x@y");
    if (strcmp(mut, "size") == 0)
        size++;
    if (strcmp(mut, "nrcpt") == 0)
        nrcpt++;
    off = 3 + QUEUE_SIZE_LEN + (long long) buf_len(&env);
    size_rec(b, size, off + (strcmp(mut, "offset") == 0), nrcpt,
             off + 3 + (long long) buf_len(&content)
                 + (strcmp(mut, "xtra") == 0),
             strcmp(mut, "version") ? 1 : 2);
    buf_catn(b, buf_str(&env), buf_len(&env));
    recs(b, 'M', "");
    buf_catn(b, buf_str(&content), buf_len(&content));
    recs(b, 'X', "");
    if (strcmp(mut, "no end") != 0)
        recs(b, 'E', "");
    if (strcmp(mut, "after end") == 0)
        recs(b, 'E', "");
    buf_fini(&env);
    buf_fini(&content);
}

/* test_reader_good - the hand-built file parses; every prefix does not */
static void test_reader_good(void **state)
{
    struct buf b = BUF_INIT;
    struct buf why = BUF_INIT;
    struct queue_env env;

    (void) state;
    build(&b, "");
    if (queue_file_parse(span_make(buf_str(&b), buf_len(&b)), &env, &why) < 0)
        fail_msg("good file: %s", buf_str(&why));
    assert_int_equal(env.nrcpt, 1);
    assert_int_equal(env.message_size, 14);
    queue_env_fini(&env);
    /* Truncated anywhere: an error, never a success or a crash. */
    for (size_t n = 0; n < buf_len(&b); n++) {
        buf_reset(&why);
        if (queue_file_parse(span_make(buf_str(&b), n), &env, &why) == 0)
            fail_msg("prefix of %zu bytes parsed", n);
        if (strncmp(buf_str(&why), "offset ", 7) != 0)
            fail_msg("prefix %zu: no offset in \"%s\"", n, buf_str(&why));
        queue_env_fini(&env);
    }
    buf_fini(&b);
    buf_fini(&why);
}

/* test_reader_rejects - one golden reason for each reject path */
static void test_reader_rejects(void **state)
{
    static const struct {
        const char *mut, *want;
    } cases[] = {
        {"time", "offset 82: malformed time record"},
        {"dup time", "unexpected time record"},
        {"sender nul", "record type F holds a NUL, CR or LF byte"},
        {"no sender", "no sender record before the content"},
        {"warn", "malformed warning time record"},
        {"ret", "malformed RET record"},
        {"attr", "malformed attribute record"},
        {"dup attr", "duplicate attribute a"},
        {"notify", "malformed notify record"},
        {"orphan orig", "recipient fields not followed by a recipient record"},
        {"dup orig", "duplicate recipient field O"},
        {"empty rcpt", "unexpected or empty recipient record"},
        {"lf", "content record holds a LF byte"},
        {"two bodies", "unexpected body record"},
        {"piece at end", "unexpected end of content"},
        {"rcpt in content", "unexpected or empty recipient record"},
        {"size", "offset 0: message size 15, but the content holds 14 bytes"},
        {"nrcpt", "offset 0: recipient count 2, but the file holds 1"},
        {"offset", "unexpected content record (content offset"},
        {"version", "offset 0: queue file format version 2, not 1"},
        {"xtra", "offset 0: extracted offset 139, but the X record is at 138"},
        {"no end", "missing end record: truncated queue file"},
        {"after end", "record type E after the end record"},
    };
    struct buf b = BUF_INIT;
    struct buf why = BUF_INIT;
    struct queue_env env;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        buf_reset(&b);
        buf_reset(&why);
        build(&b, cases[i].mut);
        if (queue_file_parse(span_make(buf_str(&b), buf_len(&b)), &env, &why)
            == 0)
            fail_msg("%s: parsed", cases[i].mut);
        if (strstr(buf_str(&why), cases[i].want) == NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].mut, buf_str(&why),
                     cases[i].want);
        queue_env_fini(&env);
    }
    buf_fini(&b);
    buf_fini(&why);
}

/* test_framing - the record reader alone */
static void test_framing(void **state)
{
    static const struct {
        const char *name;
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"bad type", "Q\0\0", 3, "offset 0: unknown record type 0x51"},
        {"nul type", "\0\0\0", 3, "offset 0: unknown record type 0x00"},
        {"short header", "L\0", 2, "offset 0: truncated record header"},
        {"oversize", "L\x10\x01", 3, "length 4097 exceeds 4096"},
        {"short data", "L\0\5abc", 6,
         "truncated record type L: length 5, 3 bytes left"},
        {"not a queue file", "L\0\0", 3,
         "offset 0: not a queue file: no size record"},
        {"bad size record", "S\0\1x", 4,
         "offset 0: not a queue file: no size record"},
        {"empty", "", 0, "offset 0: empty file"},
    };
    struct buf why = BUF_INIT;
    struct buf b = BUF_INIT;
    struct queue_env env;
    struct queue_rec r;
    size_t off = 0;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        buf_reset(&why);
        if (queue_file_parse(span_make(cases[i].in, cases[i].len), &env, &why)
            == 0)
            fail_msg("%s: parsed", cases[i].name);
        if (strstr(buf_str(&why), cases[i].want) == NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
                     buf_str(&why), cases[i].want);
        queue_env_fini(&env);
    }
    /* An incomplete size record (the writer died before commit). */
    buf_reset(&why);
    size_rec(&b, 0, 0, 0, 0, 1);
    assert_int_equal(
        queue_file_parse(span_make(buf_str(&b), buf_len(&b)), &env, &why), -1);
    assert_string_equal(buf_str(&why), "offset 0: incomplete queue file: "
                                       "size record not completed");
    queue_env_fini(&env);
    /* Records one by one. */
    buf_reset(&b);
    recs(&b, 'L', "ab");
    recs(&b, 'E', "");
    assert_int_equal(
        queue_rec_next(span_make(buf_str(&b), buf_len(&b)), &off, &r, &why), 1);
    assert_int_equal(r.type, 'L');
    assert_int_equal(r.data.len, 2);
    assert_int_equal(off, 5);
    assert_int_equal(
        queue_rec_next(span_make(buf_str(&b), buf_len(&b)), &off, &r, &why), 1);
    assert_int_equal(r.offset, 5);
    assert_int_equal(
        queue_rec_next(span_make(buf_str(&b), buf_len(&b)), &off, &r, &why), 0);
    buf_fini(&why);
    buf_fini(&b);
}

/* test_read_outcomes - the four outcomes of queue_file_read */
static void test_read_outcomes(void **state)
{
    char id[QUEUE_ID_SIZE];
    struct buf why = BUF_INIT;
    struct buf data = BUF_INIT;
    struct buf p = BUF_INIT;
    struct buf other = BUF_INIT;
    struct queue_env env;
    int fd;

    (void) state;
    assert_int_equal(write_message(id, sizeof(id), "X: y", &why), 0);
    assert_int_equal(queue_dir_path(&qd, QUEUE_INCOMING, id, &p, &why), 0);
    assert_int_equal(
        queue_file_read(buf_str(&p), O_RDWR, 1 << 20, &fd, &data, &env, &why),
        QUEUE_READ_OK);
    assert_true(fd >= 0);
    assert_int_equal(env.nrcpt, 3);
    assert_int_equal(queue_file_mark_done(fd, env.rcpts[0].offset, &why), 0);
    close(fd);
    queue_env_fini(&env);
    /* Too large for the bound. */
    assert_int_equal(
        queue_file_read(buf_str(&p), O_RDONLY, 100, &fd, &data, &env, &why),
        QUEUE_READ_CORRUPT);
    assert_int_equal(fd, -1);
    queue_env_fini(&env);
    /* A second link: not trusted. */
    buf_setf(&other, "%s/hold/x", dir);
    assert_int_equal(link(buf_str(&p), buf_str(&other)), 0);
    assert_int_equal(
        queue_file_read(buf_str(&p), O_RDONLY, 1 << 20, &fd, &data, &env, &why),
        QUEUE_READ_CORRUPT);
    queue_env_fini(&env);
    unlink(buf_str(&other));
    /* Damaged. */
    assert_int_equal(truncate(buf_str(&p), 100), 0);
    buf_reset(&why);
    assert_int_equal(
        queue_file_read(buf_str(&p), O_RDONLY, 1 << 20, &fd, &data, &env, &why),
        QUEUE_READ_CORRUPT);
    assert_non_null(strstr(buf_str(&why), "offset "));
    queue_env_fini(&env);
    /* Gone. */
    unlink(buf_str(&p));
    assert_int_equal(
        queue_file_read(buf_str(&p), O_RDONLY, 1 << 20, &fd, &data, &env, &why),
        QUEUE_READ_GONE);
    queue_env_fini(&env);
    buf_fini(&why);
    buf_fini(&data);
    buf_fini(&p);
    buf_fini(&other);
}

/* writer_child - write messages forever, reporting each committed ID */
static ULAK_NORETURN void writer_child(int out)
{
    struct buf why = BUF_INIT;
    char id[QUEUE_ID_SIZE + 1];
    size_t len;

    for (;;) {
        if (write_message(id, sizeof(id) - 1, "X-Test: sigkill", &why) < 0)
            _exit(2);
        len = strlen(id);
        id[len++] = '\n';
        if (write(out, id, len) != (ssize_t) len)
            _exit(3);
    }
}

/* test_sigkill - a writer killed at random moments: every ID it was told
 * is committed is there and complete, every file under an ID name is
 * complete, and only temporary names hold partial files. */
static void test_sigkill(void **state)
{
    struct buf acked = BUF_INIT;
    struct buf why = BUF_INIT;
    struct buf data = BUF_INIT;
    struct buf p = BUF_INIT;
    struct queue_scan *s;
    struct queue_env env;
    const char *id;
    size_t files = 0;
    char chunk[4096];
    ssize_t n;

    (void) state;
    srand((unsigned) time(NULL));
    for (int round = 0; round < 5; round++) {
        int fds[2];
        pid_t pid;
        struct timespec ts = {0, (long) (rand() % 40 + 5) * 1000000L};

        assert_int_equal(pipe(fds), 0);
        if ((pid = fork()) == 0) {
            close(fds[0]);
            writer_child(fds[1]);
        }
        close(fds[1]);
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        while ((n = read(fds[0], chunk, sizeof(chunk))) > 0)
            buf_catn(&acked, chunk, (size_t) n);
        close(fds[0]);
    }
    s = queue_scan_open(&qd, QUEUE_INCOMING, &why);
    assert_non_null(s);
    while ((id = queue_scan_next(s, &p)) != NULL) {
        int fd = open(buf_str(&p), O_RDONLY);

        assert_true(fd >= 0);
        assert_int_equal(queue_file_load(fd, 1 << 20, &data, "f", &why), 0);
        close(fd);
        if (queue_file_parse(span_make(buf_str(&data), buf_len(&data)), &env,
                             &why)
            < 0)
            fail_msg("%s: %s", id, buf_str(&why));
        queue_env_fini(&env);
        files++;
    }
    queue_scan_close(s);
    /* Every acknowledged ID is a complete file in the queue. */
    for (char *line = acked.data, *nl; line && (nl = strchr(line, '\n'));
         line = nl + 1) {
        *nl = 0;
        assert_int_equal(queue_dir_path(&qd, QUEUE_INCOMING, line, &p, &why),
                         0);
        if (access(buf_str(&p), F_OK) < 0)
            fail_msg("acknowledged %s is missing", line);
    }
    assert_true(files > 0);
    buf_fini(&acked);
    buf_fini(&why);
    buf_fini(&data);
    buf_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_errors, setup, teardown),
        cmocka_unit_test(test_reader_good),
        cmocka_unit_test(test_reader_rejects),
        cmocka_unit_test(test_framing),
        cmocka_unit_test_setup_teardown(test_sigkill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_outcomes, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
