/* queue_id_test - the short and long queue ID forms, validation, hashing. */
#include "global/queue_id.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* test_short - usec in five hex digits, then the inode in hex */
static void test_short(void **state)
{
    struct timeval tv = {.tv_sec = 1796064070, .tv_usec = 564289};
    char id[QUEUE_ID_SIZE];
    char hash[QUEUE_ID_HASH_MAX + 1];

    (void) state;
    queue_id_make(id, sizeof(id), false, &tv, 0x76141);
    assert_string_equal(id, "89C4176141");
    assert_true(queue_id_valid(id));
    assert_false(queue_id_is_long(id));
    assert_int_equal(queue_id_hash(id, 1, hash), 0);
    assert_string_equal(hash, "8");
    assert_int_equal(queue_id_hash(id, 5, hash), 0);
    assert_string_equal(hash, "89C41");
    assert_int_equal(queue_id_time(id, &tv), -1);

    tv.tv_usec = 0;
    queue_id_make(id, sizeof(id), false, &tv, 0xFFFFFFFFFFFFFFFFULL);
    assert_string_equal(id, "00000FFFFFFFFFFFFFFFF");
    assert_true(queue_id_valid(id));
}

/* test_long - Postfix's documented example decodes as its shape says */
static void test_long(void **state)
{
    struct timeval tv = {.tv_sec = 1796064070, .tv_usec = 123456};
    struct timeval back;
    char id[QUEUE_ID_SIZE];
    char hash[QUEUE_ID_HASH_MAX + 1];

    (void) state;
    assert_true(queue_id_valid("3Pt2mN2VXxznjll"));
    assert_true(queue_id_is_long("3Pt2mN2VXxznjll"));

    queue_id_make(id, sizeof(id), true, &tv, 4711);
    assert_true(queue_id_valid(id));
    assert_true(queue_id_is_long(id));
    assert_int_equal(id[10], 'z');
    assert_int_equal(queue_id_time(id, &back), 0);
    assert_int_equal(back.tv_sec, tv.tv_sec);
    assert_int_equal(back.tv_usec, tv.tv_usec);
    /* Hashing uses the hex microseconds, as for short IDs: 1E240. */
    assert_int_equal(queue_id_hash(id, 2, hash), 0);
    assert_string_equal(hash, "1E");
    /* No vowels anywhere. */
    assert_null(strpbrk(id, "AEIOUaeiou"));

    /* Time digits may hold 'z' (51): the last 'z' separates. */
    tv.tv_usec = 51;
    queue_id_make(id, sizeof(id), true, &tv, 0);
    assert_string_equal(id + 6, "000zz0");
    assert_true(queue_id_valid(id));
    assert_int_equal(queue_id_time(id, &back), 0);
    assert_int_equal(back.tv_usec, 51);
}

/* test_long_order - long IDs sort by creation time */
static void test_long_order(void **state)
{
    struct timeval a = {.tv_sec = 1700000000, .tv_usec = 999999};
    struct timeval b = {.tv_sec = 1700000001, .tv_usec = 0};
    struct timeval c = {.tv_sec = 1700000001, .tv_usec = 1};
    char ia[QUEUE_ID_SIZE], ib[QUEUE_ID_SIZE], ic[QUEUE_ID_SIZE];

    (void) state;
    queue_id_make(ia, sizeof(ia), true, &a, 99999);
    queue_id_make(ib, sizeof(ib), true, &b, 1);
    queue_id_make(ic, sizeof(ic), true, &c, 0);
    assert_true(strcmp(ia, ib) < 0);
    assert_true(strcmp(ib, ic) < 0);
}

/* test_invalid - every reject path of the validator */
static void test_invalid(void **state)
{
    static const char *const bad[] = {
        "",                         /* empty */
        "ABCDE",                    /* no inode digits */
        "89dc5a76141",              /* lower-case hex */
        "F4240A",                   /* usec 1000000 */
        "89DC5A7614G",              /* not hex, no z */
        "../deferred",              /* path characters */
        "89DC5/A76141",             /* slash */
        "0000000000000000000000",   /* 22 hex digits */
        "3Pt2mN2VXxz",              /* no inode after z */
        "3Pt2mN2VXznjll",           /* only 9 time digits */
        "3Pt2mN2VXxznjlA",          /* vowel */
        "3Pt2mN2VXxznjl.",          /* dot */
        "00000000000000000zB",      /* 17 time digits */
        "000000zzzzz0",             /* usec zzzz = 7311615 */
        "0000000000z0000000000000", /* 13 inode digits */
        " 89DC5A76141",
        "89DC5A76141\n",
    };
    char hash[QUEUE_ID_HASH_MAX + 1];

    (void) state;
    for (size_t i = 0; i < NELEM(bad); i++) {
        if (queue_id_valid(bad[i]))
            fail_msg("\"%s\": got valid, want invalid", bad[i]);
        if (queue_id_hash(bad[i], 1, hash) != -1)
            fail_msg("\"%s\": hashed", bad[i]);
    }
    assert_false(queue_id_valid(NULL));
    assert_false(queue_id_valid_n("89DC5A76141", 0));
    assert_true(queue_id_valid_n("89DC5A76141xyz", 11));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_long),
        cmocka_unit_test(test_long_order),
        cmocka_unit_test(test_invalid),
    };

    msg_output_stderr(false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
