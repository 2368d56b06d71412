/* ipc_test - frames, the table-driven codec and the socket helpers. */
#include "lib/ipc.h"
#include "lib/mem.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cmocka.h>

/* A hand-written message: what ipc_msgs.def generates, spelled out. */
struct item {
    char *name;
    int32_t n;
};
struct demo {
    char *s;
    int32_t i;
    uint64_t u;
    struct ipc_bytes b;
    char **tags;
    size_t tags_count;
    struct item *items;
    size_t items_count;
};

static const struct ipc_field_desc item_fields[] = {
    {"name", 1, IPC_KIND_STR, IPC_F_REQUIRED, offsetof(struct item, name), 0,
     NULL},
    {"n", 2, IPC_KIND_INT, 0, offsetof(struct item, n), 0, NULL},
};
static const struct ipc_msg_desc item_desc = {
    "item", 0, 1, item_fields, 2, sizeof(struct item)};
static const struct ipc_field_desc demo_fields[] = {
    {"s", 1, IPC_KIND_STR, IPC_F_REQUIRED, offsetof(struct demo, s), 0, NULL},
    {"i", 2, IPC_KIND_INT, 0, offsetof(struct demo, i), 0, NULL},
    {"u", 3, IPC_KIND_U64, 0, offsetof(struct demo, u), 0, NULL},
    {"b", 4, IPC_KIND_BYTES, 0, offsetof(struct demo, b), 0, NULL},
    {"tag", 5, IPC_KIND_STR, IPC_F_REPEATED, offsetof(struct demo, tags),
     offsetof(struct demo, tags_count), NULL},
    {"item", 6, IPC_KIND_GROUP, IPC_F_REPEATED, offsetof(struct demo, items),
     offsetof(struct demo, items_count), &item_desc},
};
static const struct ipc_msg_desc demo_desc = {
    "demo", 7, 2, demo_fields, 6, sizeof(struct demo)};
static const struct ipc_msg_desc *const all[] = {&demo_desc};

/* frame_of - parse OUT, which must hold exactly one frame */
static void frame_of(const struct buf *out, struct ipc_frame *f)
{
    struct buf why = BUF_INIT;
    size_t used;

    assert_int_equal(ipc_parse(span_make(out->data, out->len), &used, f, &why),
                     IPC_PARSE_FRAME);
    assert_int_equal(used, out->len);
    buf_fini(&why);
}

/* test_roundtrip - every kind encodes, decodes and dumps */
static void test_roundtrip(void **state)
{
    char *tags[] = {"a", "two words"};
    struct item items[] = {{"x", 5}, {"y", 0}};
    struct demo in = {.s = "hello",
                      .i = -3,
                      .u = 1ULL << 40,
                      .b = {(unsigned char *) "\0\1", 2},
                      .tags = tags,
                      .tags_count = 2,
                      .items = items,
                      .items_count = 2};
    struct demo got;
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    struct ipc_frame f;

    (void) state;
    assert_int_equal(ipc_encode(&demo_desc, &in, 99, &out, &why), 0);
    frame_of(&out, &f);
    assert_int_equal(f.type, 7);
    assert_int_equal(f.version, 2);
    assert_int_equal(f.request_id, 99);
    assert_int_equal(ipc_decode(&demo_desc, &f, &got, &why), 0);
    assert_string_equal(got.s, "hello");
    assert_int_equal(got.i, -3);
    assert_true(got.u == 1ULL << 40);
    assert_int_equal(got.b.len, 2);
    assert_memory_equal(got.b.p, "\0\1", 2);
    assert_int_equal(got.tags_count, 2);
    assert_string_equal(got.tags[1], "two words");
    assert_int_equal(got.items_count, 2);
    assert_string_equal(got.items[0].name, "x");
    assert_int_equal(got.items[0].n, 5);
    assert_string_equal(got.items[1].name, "y");
    assert_int_equal(got.items[1].n, 0);
    ipc_msg_fini(&demo_desc, &got);
    assert_null(got.s);

    buf_reset(&why);
    assert_int_equal(ipc_dump(all, 1, &f, &why), 0);
    assert_string_equal(buf_str(&why),
                        "demo s=hello i=-3 u=1099511627776 b=\"\\x00\\x01\" "
                        "tag=a tag=\"two words\" item={name=x n=5} "
                        "item={name=y}");
    buf_fini(&out);
    buf_fini(&why);
}

/* test_encode_errors - missing required fields and oversize frames */
static void test_encode_errors(void **state)
{
    struct demo in = {0};
    struct item bad = {NULL, 1};
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;

    (void) state;
    buf_cat(&out, "keep");
    assert_int_equal(ipc_encode(&demo_desc, &in, 1, &out, &why), -1);
    assert_string_equal(buf_str(&why), "missing required field s in demo");
    assert_string_equal(buf_str(&out), "keep");
    in.s = "s";
    in.items = &bad;
    in.items_count = 1;
    assert_int_equal(ipc_encode(&demo_desc, &in, 1, &out, &why), -1);
    assert_string_equal(buf_str(&why), "missing required field name in item");
    in.items_count = 0;
    in.b.len = IPC_FRAME_MAX;
    in.b.p = mem_zalloc(in.b.len);
    assert_int_equal(ipc_encode(&demo_desc, &in, 1, &out, &why), -1);
    assert_string_equal(buf_str(&why), "frame length 1048601 exceeds the "
                                       "limit of 1048576 bytes");
    assert_string_equal(buf_str(&out), "keep");
    mem_free(in.b.p);
    buf_fini(&out);
    buf_fini(&why);
}

/* raw - a frame of type 7 version 2 with BODY (LEN bytes) */
static void raw(struct buf *out, const char *body, size_t len)
{
    buf_reset(out);
    ipc_enc_begin(out, 7, 2, 0);
    buf_catn(out, body, len);
    assert_int_equal(ipc_enc_end(out, 0, out), 0);
}

/* test_decode_errors - every reject path has its text */
static void test_decode_errors(void **state)
{
    static const struct {
        const char *name;
        const char *body;
        size_t len;
        const char *want;
    } cases[] = {
#define C(n, b, w) {n, b, sizeof(b) - 1, w}
        C("unknown field", "\0\1\0\0\0\1s\0\x09\0\0\0\0",
          "unknown field 9 in demo"),
        C("duplicate", "\0\1\0\0\0\1s\0\1\0\0\0\1t",
          "duplicate field s in demo"),
        C("missing", "\0\2\0\0\0\4\0\0\0\1",
          "missing required field s in demo"),
        C("int length", "\0\1\0\0\0\1s\0\2\0\0\0\2\0\1",
          "field i in demo: integer length 2, want 4"),
        C("u64 length", "\0\1\0\0\0\1s\0\3\0\0\0\4\0\0\0\1",
          "field u in demo: integer length 4, want 8"),
        C("nul", "\0\1\0\0\0\3a\0b",
          "field s in demo: string contains a "
          "NUL byte"),
        C("trailing", "\0\1\0\0\0\1s\0\1\0",
          "3 trailing bytes after the "
          "last field"),
        C("overrun", "\0\1\0\0\0\5s",
          "field 1 length 5 runs past the end "
          "of the frame"),
        C("group missing", "\0\1\0\0\0\1s\0\6\0\0\0\012\0\2\0\0\0\4\0\0\0\1",
          "missing required field name in item"),
        C("group unknown", "\0\1\0\0\0\1s\0\6\0\0\0\6\0\3\0\0\0\0",
          "unknown field 3 in item"),
        C("group overrun", "\0\1\0\0\0\1s\0\6\0\0\0\6\0\1\0\0\0\7",
          "field 1 length 7 runs past the end of the frame"),
#undef C
    };
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    struct ipc_frame f;
    struct demo got;

    (void) state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        raw(&out, cases[i].body, cases[i].len);
        frame_of(&out, &f);
        buf_reset(&why);
        if (ipc_decode(&demo_desc, &f, &got, &why) != -1
            || strcmp(buf_str(&why), cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
                     buf_str(&why), cases[i].want);
        assert_null(got.s);
        /* The dump shows the fields and the decoder's verdict. */
        buf_reset(&why);
        assert_int_equal(ipc_dump(all, 1, &f, &why), -1);
        assert_non_null(strstr(buf_str(&why), cases[i].want));
    }
    /* Wrong type and version. */
    buf_reset(&out);
    ipc_enc_begin(&out, 8, 2, 0);
    assert_int_equal(ipc_enc_end(&out, 0, &why), 0);
    frame_of(&out, &f);
    assert_int_equal(ipc_decode(&demo_desc, &f, &got, &why), -1);
    assert_string_equal(buf_str(&why), "message type 8, want 7 (demo)");
    buf_reset(&why);
    assert_int_equal(ipc_dump(all, 1, &f, &why), -1);
    assert_string_equal(buf_str(&why), "type8 [error: unknown message type 8]");
    buf_reset(&out);
    ipc_enc_begin(&out, 7, 3, 0);
    assert_int_equal(ipc_enc_end(&out, 0, &why), 0);
    frame_of(&out, &f);
    assert_int_equal(ipc_decode(&demo_desc, &f, &got, &why), -1);
    assert_string_equal(buf_str(&why), "unsupported version 3 of demo (want "
                                       "2)");
    buf_fini(&out);
    buf_fini(&why);
}

/* test_parse_incremental - need-more until the last byte, then a frame */
static void test_parse_incremental(void **state)
{
    struct demo in = {.s = "abc", .i = 1};
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    struct ipc_frame f;
    size_t used = 7;

    (void) state;
    assert_int_equal(ipc_encode(&demo_desc, &in, 5, &out, &why), 0);
    assert_int_equal(ipc_encode(&demo_desc, &in, 6, &out, &why), 0);
    for (size_t n = 0; n < out.len / 2; n++) {
        assert_int_equal(ipc_parse(span_make(out.data, n), &used, &f, &why),
                         IPC_PARSE_MORE);
        assert_int_equal(used, 0);
    }
    /* Two frames back to back: the first, then the second after it. */
    assert_int_equal(ipc_parse(span_make(out.data, out.len), &used, &f, &why),
                     IPC_PARSE_FRAME);
    assert_int_equal(used, out.len / 2);
    assert_int_equal(f.request_id, 5);
    assert_int_equal(
        ipc_parse(span_make(out.data + used, out.len - used), &used, &f, &why),
        IPC_PARSE_FRAME);
    assert_int_equal(f.request_id, 6);

    /* Header errors: too long, too short. */
    assert_int_equal(ipc_parse(span_make("\0\x10\0\1", 4), &used, &f, &why),
                     IPC_PARSE_ERROR);
    assert_string_equal(buf_str(&why),
                        "frame length 1048577 exceeds the limit of 1048576 "
                        "bytes");
    assert_int_equal(ipc_parse(span_make("\0\0\0\013", 4), &used, &f, &why),
                     IPC_PARSE_ERROR);
    assert_string_equal(buf_str(&why),
                        "frame length 11 is shorter than the 12-byte header");
    /* Exactly the limit is fine (and needs more bytes). */
    assert_int_equal(ipc_parse(span_make("\0\x10\0\0", 4), &used, &f, &why),
                     IPC_PARSE_MORE);
    buf_fini(&out);
    buf_fini(&why);
}

/* test_send_some - the sent bytes leave OUT, a full socket keeps the
 * rest, a closed peer is -1 */
static void test_send_some(void **state)
{
    int sv[2];
    struct buf out = BUF_INIT;
    char got[16];
    int size = 4096;
    size_t total = 0;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    buf_set(&out, "hello");
    assert_int_equal(ipc_send_some(sv[0], &out), 0);
    assert_int_equal(buf_len(&out), 0);
    assert_int_equal(read(sv[1], got, sizeof(got)), 5);
    assert_memory_equal(got, "hello", 5);
    /* More than the socket holds: what is left stays, in order. */
    assert_int_equal(
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
    for (int i = 0; i < 100000; i++)
        buf_catc(&out, 'a' + i % 26);
    assert_int_equal(ipc_send_some(sv[0], &out), 0);
    assert_true(buf_len(&out) > 0 && buf_len(&out) < 100000);
    assert_int_equal(buf_str(&out)[0], 'a' + (100000 - buf_len(&out)) % 26);
    while (total < 100000 - buf_len(&out)) {
        ssize_t n = read(sv[1], got, sizeof(got));

        assert_true(n > 0);
        total += (size_t) n;
    }
    close(sv[1]);
    assert_int_equal(ipc_send_some(sv[0], &out), -1);
    close(sv[0]);
    buf_fini(&out);
}

/* test_socket - whole frames over a socket pair, with a descriptor */
static void test_socket(void **state)
{
    int sv[2];
    int pfd[2];
    int got_fd = 99;
    struct demo in = {.s = "over the wire"};
    struct demo got;
    struct buf out = BUF_INIT;
    struct buf rx = BUF_INIT;
    struct buf why = BUF_INIT;
    struct ipc_frame f;
    char c;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(ipc_encode(&demo_desc, &in, 42, &out, &why), 0);
    assert_int_equal(
        ipc_send(sv[0], span_make(out.data, out.len), pfd[0], 1000, &why), 0);
    assert_int_equal(
        ipc_send(sv[0], span_make(out.data, out.len), -1, 1000, &why), 0);
    assert_int_equal(ipc_recv(sv[1], &rx, &f, &got_fd, 1000, &why), 1);
    assert_int_equal(f.request_id, 42);
    assert_int_equal(ipc_decode(&demo_desc, &f, &got, &why), 0);
    assert_string_equal(got.s, "over the wire");
    ipc_msg_fini(&demo_desc, &got);
    /* The descriptor is the pipe's read end: what is written arrives. */
    assert_true(got_fd >= 0);
    assert_int_equal(write(pfd[1], "z", 1), 1);
    assert_int_equal(read(got_fd, &c, 1), 1);
    assert_int_equal(c, 'z');
    close(got_fd);
    /* The second frame came without one. */
    assert_int_equal(ipc_recv(sv[1], &rx, &f, &got_fd, 1000, &why), 1);
    assert_int_equal(got_fd, -1);

    /* Nothing to read: a timeout. */
    assert_int_equal(ipc_recv(sv[1], &rx, &f, &got_fd, 50, &why), -1);
    assert_string_equal(buf_str(&why), "timeout receiving a frame");

    /* Half a frame, then end of file. */
    assert_int_equal(write(sv[0], out.data, out.len - 1),
                     (ssize_t) out.len - 1);
    shutdown(sv[0], SHUT_WR);
    assert_int_equal(ipc_recv(sv[1], &rx, &f, &got_fd, 1000, &why), -1);
    assert_string_equal(buf_str(&why), "end of file inside a frame");
    /* Clean end of file at a frame boundary. */
    assert_int_equal(ipc_recv(sv[1], &rx, &f, &got_fd, 1000, &why), 0);
    close(sv[0]);
    close(sv[1]);

    /* A corrupt header is an error, read no further. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[0], "\xff\0\0\0\0\0\0\0\0\0\0\0", 12), 12);
    assert_int_equal(ipc_recv(sv[1], &rx, &f, &got_fd, 1000, &why), -1);
    assert_string_equal(buf_str(&why), "frame length 4278190080 exceeds the "
                                       "limit of 1048576 bytes");
    /* A frame larger than the socket buffer, nobody reading: a timeout. */
    {
        struct demo big = {.s = "big"};
        struct buf frame = BUF_INIT;

        big.b.len = IPC_FRAME_MAX - 100;
        big.b.p = mem_zalloc(big.b.len);
        assert_int_equal(ipc_encode(&demo_desc, &big, 1, &frame, &why), 0);
        assert_int_equal(
            ipc_send(sv[1], span_make(frame.data, frame.len), -1, 100, &why),
            -1);
        assert_string_equal(buf_str(&why), "timeout sending a frame");
        mem_free(big.b.p);
        buf_fini(&frame);
    }
    /* Send to a closed peer fails without SIGPIPE. */
    close(sv[1]);
    assert_int_equal(
        ipc_send(sv[0], span_make(out.data, out.len), -1, 1000, &why), -1);
    assert_string_equal(buf_str(&why), "send: Broken pipe");
    close(sv[0]);
    close(pfd[0]);
    close(pfd[1]);
    buf_fini(&out);
    buf_fini(&rx);
    buf_fini(&why);
}

/* test_reader - frames and their descriptors, piece by piece */
static void test_reader(void **state)
{
    int sv[2];
    int p1[2];
    int p2[2];
    int got_fd;
    struct demo a = {.s = "first"};
    struct demo b = {.s = "second"};
    struct buf fa = BUF_INIT;
    struct buf fb = BUF_INIT;
    struct buf why = BUF_INIT;
    struct ipc_reader r;
    struct ipc_frame f;
    struct stat st1, st2;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(pipe(p1), 0);
    assert_int_equal(pipe(p2), 0);
    assert_int_equal(ipc_encode(&demo_desc, &a, 1, &fa, &why), 0);
    assert_int_equal(ipc_encode(&demo_desc, &b, 2, &fb, &why), 0);
    ipc_reader_init(&r);

    /* Nothing yet. */
    assert_int_equal(ipc_reader_read(&r, sv[1], &f, &got_fd, &why),
                     IPC_READ_MORE);
    /* Two frames, each with its own descriptor, queued back to back. */
    assert_int_equal(
        ipc_send(sv[0], span_make(fa.data, fa.len), p1[0], 1000, &why), 0);
    assert_int_equal(
        ipc_send(sv[0], span_make(fb.data, fb.len), p2[0], 1000, &why), 0);
    assert_int_equal(ipc_reader_read(&r, sv[1], &f, &got_fd, &why),
                     IPC_READ_FRAME);
    assert_int_equal(f.request_id, 1);
    assert_int_equal(fstat(got_fd, &st1), 0);
    assert_int_equal(fstat(p1[0], &st2), 0);
    assert_true(st1.st_ino == st2.st_ino);
    close(got_fd);
    assert_int_equal(ipc_reader_read(&r, sv[1], &f, &got_fd, &why),
                     IPC_READ_FRAME);
    assert_int_equal(f.request_id, 2);
    assert_int_equal(fstat(got_fd, &st1), 0);
    assert_int_equal(fstat(p2[0], &st2), 0);
    assert_true(st1.st_ino == st2.st_ino);
    close(got_fd);

    /* One frame a byte at a time: more, more, ..., then the frame. */
    for (size_t i = 0; i < fa.len; i++) {
        assert_int_equal(write(sv[0], fa.data + i, 1), 1);
        assert_int_equal(ipc_reader_read(&r, sv[1], &f, &got_fd, &why),
                         i + 1 < fa.len ? IPC_READ_MORE : IPC_READ_FRAME);
    }
    assert_int_equal(got_fd, -1);
    assert_int_equal(f.request_id, 1);

    /* End of file between frames, then inside one. */
    shutdown(sv[0], SHUT_WR);
    assert_int_equal(ipc_reader_read(&r, sv[1], &f, &got_fd, &why),
                     IPC_READ_EOF);
    ipc_reader_fini(&r);
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ipc_reader_init(&r);
    assert_int_equal(write(sv[0], fa.data, 5), 5);
    shutdown(sv[0], SHUT_WR);
    assert_int_equal(ipc_reader_read(&r, sv[1], &f, &got_fd, &why),
                     IPC_READ_ERROR);
    assert_string_equal(buf_str(&why), "end of file inside a frame");
    ipc_reader_fini(&r);
    close(sv[0]);
    close(sv[1]);
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
    close(p2[1]);
    buf_fini(&fa);
    buf_fini(&fb);
    buf_fini(&why);
}

/* main - run the ipc tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_parse_incremental),
        cmocka_unit_test(test_socket),
        cmocka_unit_test(test_send_some),
        cmocka_unit_test(test_reader),
    };

    msg_init("ipc_test");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
