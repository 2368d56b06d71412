/* dict_lmdb_test - unit tests for the lmdb table type. */
#include "lib/dict.h"
#include "lib/msg.h"
#include "lib/str.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];
static struct buf logged = BUF_INIT;

/* capture - collect msg_* lines for assertions */
static void capture(enum msg_level level, const char *text)
{
    buf_cat(&logged, msg_prefix(level));
    buf_cat(&logged, text);
    buf_catc(&logged, '\n');
}

/* setup - a fresh folder for the table files, and captured logging */
static int setup(void **state)
{
    (void) state;
    if (str_copy(dir, sizeof(dir), "/tmp/ulak-dict-XXXXXX") < 0
        || mkdtemp(dir) == NULL)
        return -1;
    msg_output_stderr(false);
    msg_output_add(capture);
    buf_reset(&logged);
    return 0;
}

/* teardown - remove the folder */
static int teardown(void **state)
{
    char cmd[128];

    (void) state;
    (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    msg_output_remove(capture);
    return system(cmd) == 0 ? 0 : -1;
}

/* table - "TYPE:DIR/t" */
static const char *table(const char *type)
{
    static char name[128];

    (void) snprintf(name, sizeof(name), "%s:%s/t", type, dir);
    return name;
}

/* build - create TYPE:DIR/t with three entries, one duplicate */
static void build(const char *type, int dup_flag)
{
    struct buf why = BUF_INIT;
    struct dict *d;

    d = dict_open(table(type), O_RDWR | O_CREAT | O_TRUNC,
                  DICT_FLAG_FOLD_FIX | DICT_FLAG_BULK_UPDATE | dup_flag, &why);
    assert_non_null(d);
    assert_int_equal(dict_update(d, "Alpha", "one"), 0);
    assert_int_equal(dict_update(d, "beta", "two words"), 0);
    assert_int_equal(dict_update(d, "alpha", "again"), 1);
    assert_int_equal(dict_update(d, "gamma", "three"), 0);
    assert_int_equal(dict_sync(d), 0);
    dict_close(d);
    buf_fini(&why);
}

/* expect - look KEY up in TYPE:DIR/t: WANT, or NULL for not found */
static void expect(const char *type, const char *key, const char *want)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *d;
    enum lk_result r;

    d = dict_open(table(type), O_RDONLY, DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK,
                  &why);
    assert_non_null(d);
    r = dict_lookup(d, key, &value);
    if (want == NULL) {
        assert_int_equal(r, LK_NOTFOUND);
    } else {
        assert_int_equal(r, LK_FOUND);
        assert_string_equal(buf_str(&value), want);
    }
    dict_close(d);
    buf_fini(&why);
    buf_fini(&value);
}

/* check_type - build, look up, handle duplicates and sequence */
static void check_type(const char *type, bool writable, bool sequence)
{
    struct buf why = BUF_INIT;
    struct buf want = BUF_INIT;
    struct dict *d;

    build(type, DICT_FLAG_DUP_WARN);
    buf_setf(&want, "warning: %s: duplicate entry: \"alpha\"\n",
             strcmp(type, "lmdb") == 0  ? table(type)
             : strcmp(type, "cdb") == 0 ? table(type) + 4
                                        : "");
    if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0)
        buf_setf(&want, "warning: %s/t.db: duplicate entry: \"alpha\"\n", dir);
    assert_string_equal(buf_str(&logged), buf_str(&want));
    expect(type, "ALPHA", "one");
    expect(type, "beta", "two words");
    expect(type, "delta", NULL);

    /* -r replaces silently, -w keeps the first silently. */
    buf_reset(&logged);
    build(type, DICT_FLAG_DUP_REPLACE);
    expect(type, "alpha", "again");
    build(type, DICT_FLAG_DUP_IGNORE);
    expect(type, "alpha", "one");
    assert_string_equal(buf_str(&logged), "");

    if (sequence) {
        const char *k;
        const char *v;
        int n = 0;

        d = dict_open(table(type), O_RDONLY, 0, &why);
        assert_non_null(d);
        for (int r = dict_sequence(d, DICT_SEQ_FIRST, &k, &v); r == 0;
             r = dict_sequence(d, DICT_SEQ_NEXT, &k, &v)) {
            n++;
            assert_true(strcmp(k, "alpha") == 0 || strcmp(k, "beta") == 0
                        || strcmp(k, "gamma") == 0);
        }
        assert_int_equal(n, 3);
        dict_close(d);
    }
    if (writable) {
        d = dict_open(table(type), O_RDWR, DICT_FLAG_FOLD_FIX, &why);
        assert_non_null(d);
        assert_int_equal(dict_delete(d, "Beta"), 0);
        assert_int_equal(dict_delete(d, "beta"), 1);
        assert_int_equal(dict_update(d, "delta", "four"), 0);
        dict_close(d);
        expect(type, "beta", NULL);
        expect(type, "delta", "four");
    } else {
        d = dict_open(table(type), O_RDWR, DICT_FLAG_FOLD_FIX, &why);
        assert_null(d);
        assert_string_equal(buf_str(&why),
                            "dict_cdb_open: inappropriate open flags for cdb "
                            "database - specify O_RDONLY or "
                            "O_WRONLY|O_CREAT|O_TRUNC");
    }
    buf_fini(&why);
    buf_fini(&want);
}

/* check_nul - tables written without NUL bytes read back, and with -N */
static void check_nul(const char *type)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *d;

    for (int i = 0; i < 2; i++) {
        int form = i ? DICT_FLAG_TRY1NULL : DICT_FLAG_TRY0NULL;

        d = dict_open(table(type), O_RDWR | O_CREAT | O_TRUNC,
                      form | DICT_FLAG_DUP_WARN, &why);
        assert_non_null(d);
        assert_int_equal(dict_update(d, "k", "v"), 0);
        dict_close(d);
        expect(type, "k", "v");
        /* Asking for the other form only does not find it. */
        d = dict_open(table(type), O_RDONLY,
                      i ? DICT_FLAG_TRY0NULL : DICT_FLAG_TRY1NULL, &why);
        assert_non_null(d);
        assert_int_equal(dict_lookup(d, "k", &value), LK_NOTFOUND);
        dict_close(d);
    }
    buf_fini(&why);
    buf_fini(&value);
}

/* check_missing - a missing table is an error that names the file */
static void check_missing(const char *type, const char *suffix)
{
    struct buf why = BUF_INIT;
    struct buf want = BUF_INIT;
    char name[128];

    (void) snprintf(name, sizeof(name), "%s:%s/none", type, dir);
    assert_null(dict_open(name, O_RDONLY, 0, &why));
    buf_setf(&want, "open database %s/none%s: No such file or directory", dir,
             suffix);
    assert_string_equal(buf_str(&why), buf_str(&want));
    buf_fini(&why);
    buf_fini(&want);
}

/* test_lmdb - lmdb: tables */
static void test_lmdb(void **state)
{
    (void) state;
    check_type("lmdb", true, true);
    check_nul("lmdb");
    check_missing("lmdb", ".lmdb");
}

/* test_lmdb_grow - a build larger than the initial map size */
static void test_lmdb_grow(void **state)
{
    struct buf why = BUF_INIT;
    struct buf key = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *d;
    char big[4000];

    (void) state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    d = dict_open(table("lmdb"), O_RDWR | O_CREAT | O_TRUNC,
                  DICT_FLAG_BULK_UPDATE | DICT_FLAG_DUP_WARN, &why);
    assert_non_null(d);
    for (int i = 0; i < 6000; i++) {
        buf_setf(&key, "key%d", i);
        assert_int_equal(dict_update(d, buf_str(&key), big), 0);
    }
    dict_close(d);
    expect("lmdb", "key0", big);
    expect("lmdb", "key5999", big);
    buf_fini(&why);
    buf_fini(&key);
    buf_fini(&value);
}

/* test_rebuild_lmdb - a reader keeps the table it opened while a rebuild
 * replaces it; a new open sees the new table */
static void test_rebuild_lmdb(void **state)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *old;
    struct dict *d;

    (void) state;
    build("lmdb", DICT_FLAG_DUP_IGNORE);
    old = dict_open(table("lmdb"), O_RDONLY, DICT_FLAG_LOCK, &why);
    assert_non_null(old);
    d = dict_open(table("lmdb"), O_RDWR | O_CREAT | O_TRUNC,
                  DICT_FLAG_BULK_UPDATE, &why);
    assert_non_null(d);
    assert_int_equal(dict_update(d, "alpha", "new"), 0);
    /* Not visible before the build completes. */
    assert_int_equal(dict_lookup(old, "alpha", &value), LK_FOUND);
    assert_string_equal(buf_str(&value), "one");
    dict_close(d);
    assert_int_equal(dict_lookup(old, "alpha", &value), LK_FOUND);
    assert_string_equal(buf_str(&value), "one");
    assert_int_equal(dict_lookup(old, "beta", &value), LK_FOUND);
    dict_close(old);
    expect("lmdb", "alpha", "new");
    expect("lmdb", "beta", NULL);
    buf_fini(&why);
    buf_fini(&value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lmdb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_lmdb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lmdb_grow, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
