/* anvil_tab_test - counts, rates over the time unit, owners, expiry, the
 * entry cap and the statistics texts. */
#include "anvil/anvil_tab.h"
#include "lib/argv.h"
#include "lib/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#define T0 ((time_t) 1700000000)

/* ev - one event that must succeed; the values after it */
static struct anvil_counts ev(struct anvil_tab *t, struct anvil_owner *o,
                              enum anvil_tab_op op, const char *ident,
                              time_t now)
{
    struct anvil_counts c;

    assert_int_equal(anvil_tab_event(t, o, op, ident, now, &c), 0);
    return c;
}

/* test_count - connects count up, disconnects down, per ident */
static void test_count(void **state)
{
    struct anvil_tab *t = anvil_tab_new(60, 100);
    struct anvil_owner *o = anvil_owner_new(t);
    struct anvil_counts c;

    (void) state;
    c = ev(t, o, ANVIL_TAB_CONNECT, "smtp:192.0.2.1", T0);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.conn_rate, 1);
    c = ev(t, o, ANVIL_TAB_CONNECT, "smtp:192.0.2.1", T0 + 1);
    assert_int_equal(c.count, 2);
    assert_int_equal(c.conn_rate, 2);
    c = ev(t, o, ANVIL_TAB_CONNECT, "smtp:192.0.2.2", T0 + 1);
    assert_int_equal(c.count, 1);
    c = ev(t, o, ANVIL_TAB_DISCONNECT, "smtp:192.0.2.1", T0 + 2);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.conn_rate, 2); /* a disconnect is no connection */
    c = ev(t, o, ANVIL_TAB_LOOKUP, "smtp:192.0.2.1", T0 + 2);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.conn_rate, 2);
    /* the other service is another ident */
    c = ev(t, o, ANVIL_TAB_CONNECT, "submission:192.0.2.1", T0 + 2);
    assert_int_equal(c.count, 1);
    assert_int_equal(anvil_tab_size(t), 3);
    anvil_owner_free(t, o, T0 + 3);
    anvil_tab_free(t);
}

/* test_rates - each rate counts in its window; the window starts over a
 * unit after it began */
static void test_rates(void **state)
{
    struct anvil_tab *t = anvil_tab_new(60, 100);
    struct anvil_owner *o = anvil_owner_new(t);
    const char *id = "smtp:2001:db8::1";
    struct anvil_counts c;

    (void) state;
    ev(t, o, ANVIL_TAB_CONNECT, id, T0);
    for (int i = 1; i <= 3; i++) {
        c = ev(t, o, ANVIL_TAB_MESSAGE, id, T0 + i);
        assert_int_equal(c.mail_rate, i);
    }
    for (int i = 1; i <= 5; i++) {
        c = ev(t, o, ANVIL_TAB_RECIPIENT, id, T0 + 10);
        assert_int_equal(c.rcpt_rate, i);
    }
    c = ev(t, o, ANVIL_TAB_NEWTLS, id, T0 + 11);
    assert_int_equal(c.ntls_rate, 1);
    c = ev(t, o, ANVIL_TAB_NEWTLS_REPORT, id, T0 + 12);
    assert_int_equal(c.ntls_rate, 1); /* a report counts nothing */
    c = ev(t, o, ANVIL_TAB_NEWTLS_REPORT, id, T0 + 12);
    assert_int_equal(c.ntls_rate, 1);
    c = ev(t, o, ANVIL_TAB_AUTH, id, T0 + 13);
    assert_int_equal(c.auth_rate, 1);
    assert_int_equal(c.mail_rate, 3);
    assert_int_equal(c.rcpt_rate, 5);
    assert_int_equal(c.conn_rate, 1);
    assert_int_equal(c.count, 1);
    /* 59 s after the window began: still in it */
    c = ev(t, o, ANVIL_TAB_MESSAGE, id, T0 + 59);
    assert_int_equal(c.mail_rate, 4);
    /* a lookup after the window shows no rate, and starts nothing */
    c = ev(t, o, ANVIL_TAB_LOOKUP, id, T0 + 60);
    assert_int_equal(c.mail_rate, 0);
    assert_int_equal(c.count, 1);
    /* 60 s: a new window, every rate from 0; the count stays */
    c = ev(t, o, ANVIL_TAB_MESSAGE, id, T0 + 60);
    assert_int_equal(c.mail_rate, 1);
    assert_int_equal(c.rcpt_rate, 0);
    assert_int_equal(c.auth_rate, 0);
    assert_int_equal(c.count, 1);
    c = ev(t, o, ANVIL_TAB_CONNECT, id, T0 + 61);
    assert_int_equal(c.conn_rate, 1);
    assert_int_equal(c.count, 2);
    /* a clock that went back starts a new window too */
    c = ev(t, o, ANVIL_TAB_RECIPIENT, id, T0 - 100);
    assert_int_equal(c.rcpt_rate, 1);
    assert_int_equal(c.conn_rate, 0);
    anvil_owner_free(t, o, T0 + 62);
    anvil_tab_free(t);
}

/* test_owners - a disconnect takes back only the owner's connections;
 * the end of an owner takes back all of them */
static void test_owners(void **state)
{
    struct anvil_tab *t = anvil_tab_new(60, 100);
    struct anvil_owner *a = anvil_owner_new(t);
    struct anvil_owner *b = anvil_owner_new(t);
    const char *id = "smtp:192.0.2.9";
    struct anvil_counts c;

    (void) state;
    ev(t, a, ANVIL_TAB_CONNECT, id, T0);
    ev(t, a, ANVIL_TAB_CONNECT, id, T0);
    ev(t, a, ANVIL_TAB_CONNECT, "smtp:192.0.2.10", T0);
    c = ev(t, b, ANVIL_TAB_CONNECT, id, T0);
    assert_int_equal(c.count, 3);
    /* b counted one: its second disconnect changes nothing */
    c = ev(t, b, ANVIL_TAB_DISCONNECT, id, T0 + 1);
    assert_int_equal(c.count, 2);
    c = ev(t, b, ANVIL_TAB_DISCONNECT, id, T0 + 1);
    assert_int_equal(c.count, 2);
    /* a disconnect of an ident nobody knows makes no entry */
    c = ev(t, b, ANVIL_TAB_DISCONNECT, "smtp:198.51.100.1", T0 + 1);
    assert_int_equal(c.count, 0);
    assert_int_equal(anvil_tab_size(t), 2);
    /* a goes away (a crashed smtpd): its connections go with it */
    anvil_owner_free(t, a, T0 + 2);
    c = ev(t, b, ANVIL_TAB_LOOKUP, id, T0 + 2);
    assert_int_equal(c.count, 0);
    c = ev(t, b, ANVIL_TAB_LOOKUP, "smtp:192.0.2.10", T0 + 2);
    assert_int_equal(c.count, 0);
    assert_int_equal(c.conn_rate, 1); /* the rate is history, it stays */
    anvil_owner_free(t, b, T0 + 3);
    anvil_tab_free(t);
}

/* test_expiry - idle entries go a unit after their last use; entries with
 * connections stay */
static void test_expiry(void **state)
{
    struct anvil_tab *t = anvil_tab_new(60, 100);
    struct anvil_owner *o = anvil_owner_new(t);

    (void) state;
    ev(t, o, ANVIL_TAB_CONNECT, "smtp:192.0.2.1", T0);
    ev(t, o, ANVIL_TAB_MESSAGE, "smtp:192.0.2.2", T0);
    ev(t, o, ANVIL_TAB_MESSAGE, "smtp:192.0.2.3", T0 + 30);
    anvil_tab_expire(t, T0 + 59);
    assert_int_equal(anvil_tab_size(t), 3);
    anvil_tab_expire(t, T0 + 60);
    assert_int_equal(anvil_tab_size(t), 2); /* .2 went */
    anvil_tab_expire(t, T0 + 1000);
    assert_int_equal(anvil_tab_size(t), 1); /* .1 has a connection */
    ev(t, o, ANVIL_TAB_DISCONNECT, "smtp:192.0.2.1", T0 + 1000);
    anvil_tab_expire(t, T0 + 1059);
    assert_int_equal(anvil_tab_size(t), 1);
    anvil_tab_expire(t, T0 + 1060);
    assert_int_equal(anvil_tab_size(t), 0);
    anvil_owner_free(t, o, T0 + 1061);
    anvil_tab_free(t);
}

/* test_cap - a full table drops the least recently used idle entry, and
 * refuses a new ident when every entry holds connections */
static void test_cap(void **state)
{
    struct anvil_tab *t = anvil_tab_new(60, 3);
    struct anvil_owner *o = anvil_owner_new(t);
    struct anvil_counts c;

    (void) state;
    ev(t, o, ANVIL_TAB_MESSAGE, "a", T0);
    ev(t, o, ANVIL_TAB_MESSAGE, "b", T0 + 1);
    ev(t, o, ANVIL_TAB_MESSAGE, "c", T0 + 2);
    ev(t, o, ANVIL_TAB_MESSAGE, "a", T0 + 3); /* a is now the newest */
    ev(t, o, ANVIL_TAB_CONNECT, "d", T0 + 4); /* b goes */
    assert_int_equal(anvil_tab_size(t), 3);
    c = ev(t, o, ANVIL_TAB_LOOKUP, "b", T0 + 4);
    assert_int_equal(c.mail_rate, 0);
    c = ev(t, o, ANVIL_TAB_LOOKUP, "a", T0 + 4);
    assert_int_equal(c.mail_rate, 2);
    ev(t, o, ANVIL_TAB_CONNECT, "e", T0 + 5); /* c goes */
    ev(t, o, ANVIL_TAB_CONNECT, "f", T0 + 5); /* a goes */
    c = ev(t, o, ANVIL_TAB_LOOKUP, "a", T0 + 5);
    assert_int_equal(c.mail_rate, 0);
    /* d, e, f hold connections: no room */
    assert_int_equal(anvil_tab_event(t, o, ANVIL_TAB_CONNECT, "g", T0 + 6, &c),
                     -1);
    assert_int_equal(c.count, 0);
    /* known idents still work */
    c = ev(t, o, ANVIL_TAB_CONNECT, "d", T0 + 6);
    assert_int_equal(c.count, 2);
    ev(t, o, ANVIL_TAB_DISCONNECT, "e", T0 + 7);
    c = ev(t, o, ANVIL_TAB_CONNECT, "g", T0 + 8); /* e made room */
    assert_int_equal(c.count, 1);
    assert_int_equal(anvil_tab_size(t), 3);
    anvil_owner_free(t, o, T0 + 9);
    anvil_tab_free(t);
}

/* collect - anvil_tab_report_fn into an argv */
static void collect(void *ctx, const char *text)
{
    argv_add(ctx, text);
}

/* when - TIME as the report writes it */
static const char *when(time_t tv, char *buf, size_t len)
{
    struct tm tm;

    localtime_r(&tv, &tm);
    strftime(buf, len, "%b %e %H:%M:%S", &tm);
    return buf;
}

/* test_report - Postfix's statistics lines, peaks only, then start over */
static void test_report(void **state)
{
    struct anvil_tab *t = anvil_tab_new(60, 100);
    struct anvil_owner *o = anvil_owner_new(t);
    struct argv *lines = argv_new();
    char w[5][64], want[256];

    (void) state;
    setenv("TZ", "UTC", 1);
    tzset();
    ev(t, o, ANVIL_TAB_CONNECT, "smtp:192.0.2.1", T0);
    ev(t, o, ANVIL_TAB_CONNECT, "smtp:192.0.2.2", T0 + 1);
    ev(t, o, ANVIL_TAB_CONNECT, "smtp:192.0.2.2", T0 + 2);
    ev(t, o, ANVIL_TAB_DISCONNECT, "smtp:192.0.2.2", T0 + 3);
    ev(t, o, ANVIL_TAB_CONNECT, "smtp:192.0.2.2", T0 + 4);
    ev(t, o, ANVIL_TAB_RECIPIENT, "smtp:192.0.2.1", T0 + 5);
    ev(t, o, ANVIL_TAB_AUTH, "smtp:192.0.2.1", T0 + 6);
    anvil_tab_report(t, collect, lines);
    assert_int_equal(lines->argc, 5);
    when(T0 + 4, w[0], sizeof(w[0]));
    when(T0 + 2, w[1], sizeof(w[1]));
    when(T0 + 5, w[2], sizeof(w[2]));
    when(T0 + 6, w[3], sizeof(w[3]));
    when(T0 + 1, w[4], sizeof(w[4]));
    snprintf(want, sizeof(want),
             "statistics: max connection rate 3/60s for (smtp:192.0.2.2) at %s",
             w[0]);
    assert_string_equal(lines->argv[0], want);
    snprintf(want, sizeof(want),
             "statistics: max connection count 2 for (smtp:192.0.2.2) at %s",
             w[1]);
    assert_string_equal(lines->argv[1], want);
    snprintf(want, sizeof(want),
             "statistics: max recipient rate 1/60s for (smtp:192.0.2.1) at %s",
             w[2]);
    assert_string_equal(lines->argv[2], want);
    snprintf(want, sizeof(want),
             "statistics: max auth rate 1/60s for (smtp:192.0.2.1) at %s",
             w[3]);
    assert_string_equal(lines->argv[3], want);
    snprintf(want, sizeof(want), "statistics: max cache size 2 at %s", w[4]);
    assert_string_equal(lines->argv[4], want);
    /* a one-digit day has a space before it, as Postfix writes it */
    assert_string_equal(when(1701388800 + 3600, w[0], sizeof(w[0])),
                        "Dec  1 01:00:00");
    /* nothing new: nothing logged */
    anvil_tab_report(t, collect, lines);
    assert_int_equal(lines->argc, 5);
    ev(t, o, ANVIL_TAB_MESSAGE, "smtp:192.0.2.1", T0 + 7);
    anvil_tab_report(t, collect, lines);
    assert_int_equal(lines->argc, 6);
    snprintf(want, sizeof(want),
             "statistics: max message rate 1/60s for (smtp:192.0.2.1) at %s",
             when(T0 + 7, w[0], sizeof(w[0])));
    assert_string_equal(lines->argv[5], want);
    argv_free(lines);
    anvil_owner_free(t, o, T0 + 8);
    anvil_tab_free(t);
}

/*
 * The golden replay: tests/data/smtpd/anvil_golden.txt holds, per
 * configuration, the SMTP sessions with Debian's Postfix and the
 * statistics its anvil logged.  The sessions are turned back into the
 * events smtpd sent (a banner: connect; MAIL: message; RCPT: recipient; a
 * TLS handshake: newtls; AUTH: auth; QUIT or a closed connection:
 * disconnect) and the table must log the same lines (the clock time
 * aside).  As the recording shows, Postfix's smtpd sends a rate event only
 * when that rate has a limit (connect and disconnect always: the count
 * limit is 50 by default), and registers no exempt client ("exempt" is
 * not replayed).
 */
#define GOLDEN "tests/data/smtpd/anvil_golden.txt"
#define IDENT  "127.0.0.1:PORT:127.0.0.1"

struct replay {
    char name[32];
    struct anvil_tab *t;
    struct anvil_owner *o;
    struct argv *want;
    struct argv *got;
    int configs;
    const char *conf; /* the settings: which limits are on */
};

/* untime - TEXT without its " at ..." clock time */
static void untime(char *text)
{
    char *at = strstr(text, " at ");

    if (at)
        *at = 0;
}

/* replay_end - compare the configuration replayed so far */
static void replay_end(struct replay *r)
{
    if (r->t == NULL)
        return;
    anvil_tab_report(r->t, collect, r->got);
    for (size_t i = 0; i < r->got->argc; i++)
        untime(r->got->argv[i]);
    for (size_t i = 0; i < r->want->argc || i < r->got->argc; i++) {
        const char *w = i < r->want->argc ? r->want->argv[i] : "(none)";
        const char *g = i < r->got->argc ? r->got->argv[i] : "(none)";

        if (strcmp(w, g) != 0)
            fail_msg("%s: line %zu: got \"%s\", want \"%s\"", r->name, i, g, w);
    }
    anvil_owner_free(r->t, r->o, T0);
    anvil_tab_free(r->t);
    argv_free(r->want);
    argv_free(r->got);
    r->t = NULL;
    r->configs++;
}

/* replay_step - the event of one recorded step */
static void replay_step(struct replay *r, const char *cmd, const char *reply)
{
    enum anvil_tab_op op;

    if (strcmp(cmd, "connect") == 0)
        op = ANVIL_TAB_CONNECT;
    else if (str_has_prefix(cmd, "MAIL ")
             && strstr(r->conf, "message_rate_limit"))
        op = ANVIL_TAB_MESSAGE;
    else if (str_has_prefix(cmd, "RCPT ")
             && strstr(r->conf, "recipient_rate_limit"))
        op = ANVIL_TAB_RECIPIENT;
    else if (strcmp(cmd, "tls-handshake") == 0 && strcmp(reply, "ok") == 0
             && strstr(r->conf, "new_tls_session_rate_limit"))
        op = ANVIL_TAB_NEWTLS;
    else if (str_has_prefix(cmd, "AUTH ") && strstr(r->conf, "auth_rate_limit"))
        op = ANVIL_TAB_AUTH;
    else if (strcmp(cmd, "QUIT") == 0
             || (strcmp(cmd, "close?") == 0 && strcmp(reply, "closed") == 0)
             || (strcmp(reply, "closed") == 0 && strcmp(cmd, "QUIT") != 0))
        op = ANVIL_TAB_DISCONNECT;
    else
        return;
    ev(r->t, r->o, op, IDENT, T0);
}

/* test_golden - Postfix's anvil statistics for the recorded sessions */
static void test_golden(void **state)
{
    FILE *fp = fopen(GOLDEN, "r");
    struct replay r = {0};
    char line[8192];
    char conf[1024] = "";
    bool closed = false;

    (void) state;
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp)) {
        struct argv *f;

        line[strcspn(line, "\n")] = 0;
        f = argv_split(line, "\t");
        if (f->argc >= 2 && strcmp(f->argv[0], "conf") == 0) {
            replay_end(&r);
            if (strcmp(f->argv[1], "exempt") != 0) {
                assert_int_equal(str_copy(r.name, sizeof(r.name), f->argv[1]),
                                 0);
                r.t = anvil_tab_new(60, 100);
                r.o = anvil_owner_new(r.t);
                r.want = argv_new();
                r.got = argv_new();
                if (f->argc >= 3)
                    assert_int_equal(str_copy(conf, sizeof(conf), f->argv[2]),
                                     0);
                r.conf = conf;
            }
            closed = false;
        } else if (r.t && f->argc == 6 && strcmp(f->argv[0], "step") == 0) {
            /* a session that was closed ends once */
            bool end = strcmp(f->argv[5], "closed") == 0;

            if (strcmp(f->argv[4], "connect") == 0)
                closed = false;
            if (!(end && closed))
                replay_step(&r, f->argv[4], f->argv[5]);
            closed |= end || strcmp(f->argv[4], "QUIT") == 0;
        } else if (r.t && f->argc == 4 && strcmp(f->argv[0], "log") == 0
                   && str_has_suffix(f->argv[2], "/anvil")) {
            argv_add(r.want, f->argv[3]);
            untime(r.want->argv[r.want->argc - 1]);
        }
        argv_free(f);
    }
    replay_end(&r);
    fclose(fp);
    assert_int_equal(r.configs, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count),  cmocka_unit_test(test_rates),
        cmocka_unit_test(test_owners), cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_cap),    cmocka_unit_test(test_report),
        cmocka_unit_test(test_golden),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
