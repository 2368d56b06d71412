/* addr_match_test - mynetworks-style address lists. */
#include "global/addr_match.h"

#include "lib/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

/* find - the answer for ADDR in the list VALUE */
static enum lk_result find(const char *value, const char *addr)
{
    struct addr_match *m = addr_match_new("mynetworks", value);
    enum lk_result r;

    r = addr_match_find(m, addr);
    addr_match_free(m);
    return r;
}

/* test_networks - addresses and prefixes, both families */
static void test_networks(void **state)
{
    const char *nets = "127.0.0.0/8, 192.0.2.128/25 [::1]/128 "
                       "[2001:db8::]/32\t198.51.100.7";

    (void) state;
    assert_int_equal(find(nets, "127.0.0.1"), LK_FOUND);
    assert_int_equal(find(nets, "127.255.255.255"), LK_FOUND);
    assert_int_equal(find(nets, "128.0.0.1"), LK_NOTFOUND);
    assert_int_equal(find(nets, "192.0.2.200"), LK_FOUND);
    assert_int_equal(find(nets, "192.0.2.127"), LK_NOTFOUND);
    assert_int_equal(find(nets, "198.51.100.7"), LK_FOUND);
    assert_int_equal(find(nets, "198.51.100.8"), LK_NOTFOUND);
    assert_int_equal(find(nets, "::1"), LK_FOUND);
    assert_int_equal(find(nets, "::2"), LK_NOTFOUND);
    assert_int_equal(find(nets, "2001:db8:ffff::9"), LK_FOUND);
    assert_int_equal(find(nets, "2001:db9::1"), LK_NOTFOUND);
    /* An IPv4-mapped IPv6 client is an IPv4 client. */
    assert_int_equal(find(nets, "::ffff:127.0.0.1"), LK_FOUND);
    assert_int_equal(find(nets, "not-an-address"), LK_NOTFOUND);
    assert_int_equal(find("0.0.0.0/0", "203.0.113.9"), LK_FOUND);
    assert_int_equal(find("[::]/0", "2001:db8::1"), LK_FOUND);
    assert_int_equal(find("", "127.0.0.1"), LK_NOTFOUND);
}

/* test_negation - "!" excludes and the first match decides */
static void test_negation(void **state)
{
    (void) state;
    assert_int_equal(find("!192.0.2.1 192.0.2.0/24", "192.0.2.1"), LK_NOTFOUND);
    assert_int_equal(find("!192.0.2.1 192.0.2.0/24", "192.0.2.2"), LK_FOUND);
    assert_int_equal(find("192.0.2.0/24 !192.0.2.1", "192.0.2.1"), LK_FOUND);
}

/* test_errors - malformed patterns fail the matches that reach them,
 * as Postfix 3.7's smtpd does (checked on a reference instance) */
static void test_errors(void **state)
{
    static const char *const bad[] = {
        "192.0.2.1/24",     "192.0.2.0/33", "192.0.2.0/",    "192.0.2.0/x",
        "[2001:db8::1]/32", "[::1]/129",    "2001:db8::/32", "x.example/24",
    };
    struct addr_match *m;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf v = BUF_INIT;

        buf_setf(&v, "192.0.2.128/25 %s 127.0.0.0/8", bad[i]);
        m = addr_match_new("mynetworks", buf_str(&v));
        /* Before the bad pattern: decided; at or after it: tempfail. */
        assert_int_equal(addr_match_find(m, "192.0.2.200"), LK_FOUND);
        assert_int_equal(addr_match_find(m, "127.0.0.1"), LK_TEMPFAIL);
        assert_non_null(strstr(addr_match_why(m), bad[i]));
        addr_match_free(m);
        buf_fini(&v);
    }
    m = addr_match_new("mynetworks", "10.1.2.3/8");
    assert_int_equal(addr_match_find(m, "10.1.2.3"), LK_TEMPFAIL);
    assert_string_equal(addr_match_why(m),
                        "mynetworks: non-null host address bits in "
                        "\"10.1.2.3/8\", perhaps you should use "
                        "\"10.0.0.0/8\" instead");
    addr_match_free(m);
    m = addr_match_new("mynetworks", "[2001:db8::1]/32");
    assert_int_equal(addr_match_find(m, "::1"), LK_TEMPFAIL);
    assert_non_null(strstr(addr_match_why(m), "\"[2001:db8::]/32\""));
    addr_match_free(m);
    /* A word that is no address is a host name: it matches nothing. */
    assert_int_equal(find("300.1.2.3 host.example", "127.0.0.1"), LK_NOTFOUND);
}

/* test_file_table - "/file" patterns and "type:table" lookups */
static void test_file_table(void **state)
{
    char dir[] = "/tmp/addr_match_testXXXXXX";
    char file[128], nested[128], value[512];
    FILE *fp;

    (void) state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(snprintf(nested, sizeof(nested), "%s/nested", dir) > 0, 1);
    fp = fopen(nested, "w");
    assert_non_null(fp);
    fputs("203.0.113.0/24\n", fp);
    fclose(fp);
    assert_int_equal(snprintf(file, sizeof(file), "%s/nets", dir) > 0, 1);
    fp = fopen(file, "w");
    assert_non_null(fp);
    fprintf(fp,
            "# our networks\n192.0.2.0/24, [2001:db8::]/32 # lab\n"
            "!198.51.100.1\n%s\n",
            nested);
    fclose(fp);
    assert_int_equal(snprintf(value, sizeof(value),
                              "%s inline:{198.51.100.1=x,198.51.100.2=y}", file)
                         > 0,
                     1);
    assert_int_equal(find(value, "192.0.2.9"), LK_FOUND);
    assert_int_equal(find(value, "2001:db8::5"), LK_FOUND);
    assert_int_equal(find(value, "203.0.113.77"), LK_FOUND);
    /* Excluded in the file before the table is reached. */
    assert_int_equal(find(value, "198.51.100.1"), LK_NOTFOUND);
    assert_int_equal(find(value, "198.51.100.2"), LK_FOUND);
    assert_int_equal(find(value, "198.51.100.3"), LK_NOTFOUND);
    /* A file that cannot be read fails the matches that reach it. */
    {
        struct addr_match *m =
            addr_match_new("mynetworks", "127.0.0.0/8 /nonexistent/nets");

        assert_int_equal(addr_match_find(m, "127.0.0.1"), LK_FOUND);
        assert_int_equal(addr_match_find(m, "192.0.2.1"), LK_TEMPFAIL);
        assert_non_null(strstr(addr_match_why(m), "/nonexistent/nets"));
        addr_match_free(m);
    }
    unlink(nested);
    unlink(file);
    rmdir(dir);
}

/* main - run the tests */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_networks),
        cmocka_unit_test(test_negation),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_file_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
