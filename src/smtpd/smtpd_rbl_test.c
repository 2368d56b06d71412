/* smtpd_rbl_test - reversed names, filters and reply templates. */
#include "smtpd/smtpd_rbl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

/* test_reverse - IPv4 and IPv6 (any spelling) reversed; junk refused */
static void test_reverse(void **state)
{
    struct buf b = BUF_INIT;
    bool v6 = true;

    (void) state;
    assert_int_equal(smtpd_rbl_reverse("127.0.0.2", &b, &v6), 0);
    assert_string_equal(buf_str(&b), "2.0.0.127");
    assert_false(v6);
    buf_reset(&b);
    assert_int_equal(smtpd_rbl_reverse("2001:DB8::1", &b, &v6), 0);
    assert_string_equal(buf_str(&b), "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                                     "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2");
    assert_true(v6);
    buf_reset(&b);
    assert_int_equal(smtpd_rbl_reverse("::ffff:192.0.2.1", &b, NULL), 0);
    assert_string_equal(buf_str(&b), "1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0."
                                     "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0");
    buf_reset(&b);
    assert_int_equal(smtpd_rbl_reverse("unknown", &b, NULL), -1);
    assert_int_equal(smtpd_rbl_reverse("1.2.3", &b, NULL), -1);
    assert_int_equal(smtpd_rbl_reverse("1.2.3.4.example", &b, NULL), -1);
    assert_int_equal(buf_len(&b), 0);
    buf_fini(&b);
}

/* test_filter - domain=d.d.d.d with lists and ranges */
static void test_filter(void **state)
{
    struct buf d = BUF_INIT;
    const char *f;

    (void) state;
    f = smtpd_rbl_split("zen.test=127.0.0.[2;4..10]", &d);
    assert_string_equal(buf_str(&d), "zen.test");
    assert_string_equal(f, "127.0.0.[2;4..10]");
    assert_true(smtpd_rbl_filter_ok(f));
    assert_true(smtpd_rbl_filter_match(f, "127.0.0.2"));
    assert_false(smtpd_rbl_filter_match(f, "127.0.0.3"));
    assert_true(smtpd_rbl_filter_match(f, "127.0.0.4"));
    assert_true(smtpd_rbl_filter_match(f, "127.0.0.10"));
    assert_false(smtpd_rbl_filter_match(f, "127.0.0.11"));
    assert_false(smtpd_rbl_filter_match(f, "127.0.1.2"));
    buf_reset(&d);
    assert_null(smtpd_rbl_split("zen.test", &d));
    assert_string_equal(buf_str(&d), "zen.test");
    /* no filter: any IPv4 answer; never a non-address */
    assert_true(smtpd_rbl_filter_match(NULL, "127.0.0.2"));
    assert_false(smtpd_rbl_filter_match(NULL, "::1"));
    assert_true(smtpd_rbl_filter_match("127.0.0.2", "127.0.0.2"));
    assert_false(smtpd_rbl_filter_match("127.0.0.2", "127.0.0.20"));
    /* malformed filters match nothing */
    {
        static const char *const bad[] = {
            "127.0.0",        "127.0.0.256",    "127.0.0.2.1", "127.0.0.[2",
            "127.0.0.[]",     "127.0.0.[5..2]", "127.0.0.x",   "",
            "127.0.0.[2;;3]", "127..0.1",       "127.0.0.1 ",  "1234.0.0.1",
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            assert_false(smtpd_rbl_filter_ok(bad[i]));
            assert_false(smtpd_rbl_filter_match(bad[i], "127.0.0.2"));
        }
    }
    buf_fini(&d);
}

/* test_expand - default_rbl_reply's macros and the reply's status code */
static void test_expand(void **state)
{
    struct smtpd_rbl_macros m;
    struct buf out = BUF_INIT, why = BUF_INIT, r = BUF_INIT;
    const char *dflt = "$rbl_code Service unavailable; $rbl_class [$rbl_what] "
                       "blocked using $rbl_domain${rbl_reason?; $rbl_reason}";

    (void) state;
    memset(&m, 0, sizeof(m));
    m.rbl_code = "554";
    m.rbl_class = "Client host";
    m.rbl_what = "127.0.0.2";
    m.rbl_domain = "zen.test";
    m.rbl_reason = "see http://x/?a=1";
    m.client_address = "127.0.0.2";
    assert_int_equal(smtpd_rbl_expand(dflt, &m, &out, &why), 0);
    assert_string_equal(buf_str(&out), "554 Service unavailable; Client host "
                                       "[127.0.0.2] blocked using zen.test; "
                                       "see http://x/?a=1");
    assert_int_equal(smtpd_rbl_reply(buf_str(&out), &r, &why), 0);
    assert_string_equal(buf_str(&r), "554 5.7.1 Service unavailable; Client "
                                     "host [127.0.0.2] blocked using "
                                     "zen.test; see http://x/?a=1");
    /* without a reason */
    m.rbl_reason = "";
    buf_reset(&out);
    assert_int_equal(smtpd_rbl_expand(dflt, &m, &out, &why), 0);
    assert_string_equal(buf_str(&out), "554 Service unavailable; Client host "
                                       "[127.0.0.2] blocked using zen.test");
    /* ${x:text}, ${x}, $(x), $$, nested parentheses */
    buf_reset(&out);
    assert_int_equal(smtpd_rbl_expand("4${rbl_code:x}${sender:5}0 4.7.0 "
                                      "${client_address}$$ $(rbl_domain) "
                                      "${rbl_what?(a (b))}",
                                      &m, &out, &why),
                     0);
    assert_string_equal(buf_str(&out), "450 4.7.0 127.0.0.2$ zen.test (a (b))");
    buf_reset(&r);
    assert_int_equal(smtpd_rbl_reply(buf_str(&out), &r, &why), 0);
    assert_string_equal(buf_str(&r), "450 4.7.0 127.0.0.2$ zen.test (a (b))");
    /* errors */
    static const char *const bad[] = {"$nosuch", "${rbl_code", "$",
                                      "${rbl_code x}", "${}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf_reset(&out);
        assert_int_equal(smtpd_rbl_expand(bad[i], &m, &out, &why), -1);
    }
    buf_reset(&r);
    assert_int_equal(smtpd_rbl_reply("250 fine", &r, &why), -1);
    assert_int_equal(smtpd_rbl_reply("55 x", &r, &why), -1);
    assert_int_equal(smtpd_rbl_reply("5541 x", &r, &why), -1);
    buf_fini(&out);
    buf_fini(&why);
    buf_fini(&r);
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reverse),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_expand),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
