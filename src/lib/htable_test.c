/* htable_test - unit tests for htable and argv. */
#include "lib/htable.h"
#include "lib/argv.h"
#include "lib/mem.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

static int freed;

/* count_free - value destructor that counts calls */
static void count_free(void *value)
{
    (void) value;
    freed++;
}

/* test_htable - insert, replace, find, delete, grow, sorted list */
static void test_htable(void **state)
{
    struct htable *t = htable_new(0);
    struct htable_entry **list;
    char key[16];
    static int values[100];

    (void) state;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%03d", 99 - i);
        htable_enter(t, key, &values[i]);
    }
    assert_int_equal(t->used, 100);
    assert_ptr_equal(htable_find(t, "k099"), &values[0]);
    htable_enter(t, "k099", &values[5]);
    assert_int_equal(t->used, 100);
    assert_ptr_equal(htable_find(t, "k099"), &values[5]);
    assert_null(htable_find(t, "nosuch"));
    htable_delete(t, "k000", count_free);
    assert_int_equal(freed, 1);
    assert_null(htable_locate(t, "k000"));
    list = htable_list(t, true);
    assert_string_equal(list[0]->key, "k001");
    assert_string_equal(list[98]->key, "k099");
    assert_null(list[99]);
    mem_free(list);
    htable_free(t, count_free);
    assert_int_equal(freed, 100);
}

/* test_argv - split drops empty fields; the vector stays NULL-terminated */
static void test_argv(void **state)
{
    struct argv *a = argv_split(",, a, b\tc,,", ", \t");

    (void) state;
    assert_int_equal(a->argc, 3);
    assert_string_equal(a->argv[0], "a");
    assert_string_equal(a->argv[2], "c");
    assert_null(a->argv[3]);
    for (int i = 0; i < 20; i++)
        argv_add(a, "x");
    assert_int_equal(a->argc, 23);
    assert_null(a->argv[23]);
    argv_truncate(a, 1);
    assert_int_equal(a->argc, 1);
    assert_null(a->argv[1]);
    argv_free(a);
    argv_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_htable),
        cmocka_unit_test(test_argv),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
