/* dict_cdb_test - unit tests for the cdb table type. */
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

/* check_type - build, look up, handle duplicates (cdb has no update in place and no sequence) */
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

/* test_cdb - cdb: tables */
static void test_cdb(void **state)
{
    struct buf why = BUF_INIT;
    struct dict *d;
    const char *k;
    const char *v;

    (void) state;
    check_type("cdb", false, false);
    check_nul("cdb");
    check_missing("cdb", ".cdb");
    d = dict_open(table("cdb"), O_RDONLY, 0, &why);
    assert_non_null(d);
    assert_int_equal(dict_sequence(d, DICT_SEQ_FIRST, &k, &v), -1);
    buf_setf(&why, "table cdb:%s/t.cdb: sequence operation is not supported",
             dir);
    assert_string_equal(dict_why(d), buf_str(&why));
    dict_close(d);
    buf_fini(&why);
}

/* test_rebuild_cdb - a reader keeps the table it opened while a rebuild
 * replaces it; a new open sees the new table */
static void test_rebuild_cdb(void **state)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *old;
    struct dict *d;

    (void) state;
    build("cdb", DICT_FLAG_DUP_IGNORE);
    old = dict_open(table("cdb"), O_RDONLY, DICT_FLAG_LOCK, &why);
    assert_non_null(old);
    d = dict_open(table("cdb"), O_RDWR | O_CREAT | O_TRUNC,
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
    expect("cdb", "alpha", "new");
    expect("cdb", "beta", NULL);
    buf_fini(&why);
    buf_fini(&value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cdb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_cdb, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
