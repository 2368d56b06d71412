/* mime_keys_test - header and body keys of messages (the wants are what
 * Postfix 3.7's postmap -h/-b/-m generates for the same input). */
#include "global/mime_keys.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* collect - "H:key" or "B:key" lines */
static void collect(enum mime_keys_kind kind, const char *key, void *ctx)
{
    struct buf *out = ctx;

    buf_cat(out, kind == MIME_KEYS_HEADER ? "H:" : "B:");
    buf_cat(out, key);
    buf_catc(out, '|');
}

/* keys - all keys of TEXT (lines separated by \n) */
static void keys(const char *text, bool mime, struct buf *out)
{
    struct mime_keys m;
    struct buf line = BUF_INIT;

    buf_reset(out);
    mime_keys_init(&m, mime, collect, out);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t) (nl - p) : strlen(p);

        buf_reset(&line);
        buf_catn(&line, p, n);
        mime_keys_line(&m, buf_str(&line));
        p += n + (nl ? 1 : 0);
    }
    mime_keys_end(&m);
    mime_keys_fini(&m);
    buf_fini(&line);
}

/* test_plain - headers, continuation, the separator and the body */
static void test_plain(void **state)
{
    struct buf out = BUF_INIT;

    (void) state;
    keys("Subject: s\nX-Multi: one\n\ttwo\n\nbody\n", false, &out);
    assert_string_equal(buf_str(&out),
                        "H:Subject: s|H:X-Multi: one\n\ttwo|B:|B:body|");
    keys("Subject: s\nnot a header\nSubject: late\n", false, &out);
    assert_string_equal(buf_str(&out), "H:Subject: s|B:|B:not a header|"
                                       "B:Subject: late|");
    buf_fini(&out);
}

/* test_mime - part headers and attached messages are headers */
static void test_mime(void **state)
{
    static const char msg[] = "Subject: s\n"
                              "Content-Type: multipart/mixed; boundary=XX\n"
                              "\n"
                              "pre\n"
                              "--XX\n"
                              "Content-Type: message/rfc822\n"
                              "\n"
                              "Subject: inner\n"
                              "\n"
                              "inner body\n"
                              "--XX--\n"
                              "epilogue\n";
    struct buf out = BUF_INIT;

    (void) state;
    keys(msg, true, &out);
    assert_string_equal(buf_str(&out),
                        "H:Subject: s|"
                        "H:Content-Type: multipart/mixed; boundary=XX|B:|"
                        "B:pre|B:--XX|H:Content-Type: message/rfc822|B:|"
                        "H:Subject: inner|B:|B:inner body|B:--XX--|"
                        "B:epilogue|");
    keys(msg, false, &out);
    assert_string_equal(buf_str(&out),
                        "H:Subject: s|"
                        "H:Content-Type: multipart/mixed; boundary=XX|B:|"
                        "B:pre|B:--XX|B:Content-Type: message/rfc822|B:|"
                        "B:Subject: inner|B:|B:inner body|B:--XX--|"
                        "B:epilogue|");
    buf_fini(&out);
}

/* test_fuzz_boundary - a "boundary" parameter name at the end of the
 * header without "=" (found by fuzz_table_src: read past the end) */
static void test_fuzz_boundary(void **state)
{
    struct buf out = BUF_INIT;

    (void) state;
    keys("Subject: s\nContent-Type: multipart/\xffw\xa4ixed; boundard; "
         "boundary\n--x\nbody",
         true, &out);
    assert_string_equal(buf_str(&out),
                        "H:Subject: s|H:Content-Type: multipart/\xffw\xa4ixed; "
                        "boundard; boundary|B:|B:--x|B:body|");
    buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_mime),
        cmocka_unit_test(test_fuzz_boundary),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
