/* anvil_tab - anvil's counters and peaks (see anvil_tab.h). */
#include "anvil_tab.h"

#include <string.h>

#include "../lib/htable.h"
#include "../lib/mem.h"
#include "../lib/msg.h"

/* One ident. */
struct ent {
    const char *ident; /* the htable's key (borrowed from the table) */
    unsigned count;
    unsigned rate[5]; /* by enum rate */
    time_t start;     /* of the current window */
    time_t used;      /* last event */
    struct ent *prev; /* the idle list (count == 0), least recently used */
    struct ent *next; /* first */
    bool idle;
};

enum rate {
    RATE_CONN,
    RATE_MAIL,
    RATE_RCPT,
    RATE_NTLS,
    RATE_AUTH,
};

/* One peak of the report. */
struct peak {
    unsigned value;
    char *ident; /* owned; NULL for the cache size */
    time_t when;
};

/* What the report prints, in its order. */
enum peak_kind {
    PEAK_CONN_RATE,
    PEAK_COUNT,
    PEAK_MAIL_RATE,
    PEAK_RCPT_RATE,
    PEAK_NTLS_RATE,
    PEAK_AUTH_RATE,
    PEAK_CACHE,
    PEAK_N,
};

struct anvil_tab {
    long unit;
    size_t max;
    struct htable *ents;  /* ident -> struct ent */
    struct ent *idle_old; /* head: least recently used idle entry */
    struct ent *idle_new; /* tail */
    struct peak peak[PEAK_N];
    bool changed; /* a peak since the last report */
};

/* The connections one owner counts, per ident. */
struct anvil_owner {
    struct htable *conns; /* ident -> (uintptr_t) count, as a pointer */
};

/* anvil_tab_new - an empty table */
struct anvil_tab *anvil_tab_new(long unit, size_t max_idents)
{
    struct anvil_tab *t = mem_zalloc(sizeof(*t));

    if (unit < 1 || max_idents < 1)
        msg_panic("anvil_tab_new: unit %ld, max %zu", unit, max_idents);
    t->unit = unit;
    t->max = max_idents;
    t->ents = htable_new(max_idents < 1024 ? max_idents : 1024);
    return t;
}

/* ent_free - htable_free_fn */
static void ent_free(void *p)
{
    mem_free(p);
}

/* anvil_tab_free - free the table */
void anvil_tab_free(struct anvil_tab *t)
{
    if (t == NULL)
        return;
    htable_free(t->ents, ent_free);
    for (int i = 0; i < PEAK_N; i++)
        mem_free(t->peak[i].ident);
    mem_free(t);
}

/* idle_unlink - take E off the idle list */
static void idle_unlink(struct anvil_tab *t, struct ent *e)
{
    if (!e->idle)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        t->idle_old = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        t->idle_new = e->prev;
    e->prev = e->next = NULL;
    e->idle = false;
}

/* idle_append - E is the most recently used idle entry */
static void idle_append(struct anvil_tab *t, struct ent *e)
{
    idle_unlink(t, e);
    e->prev = t->idle_new;
    e->next = NULL;
    if (t->idle_new)
        t->idle_new->next = e;
    else
        t->idle_old = e;
    t->idle_new = e;
    e->idle = true;
}

/* ent_drop - remove idle entry E */
static void ent_drop(struct anvil_tab *t, struct ent *e)
{
    idle_unlink(t, e);
    /* The key string belongs to the htable: copy nothing, delete last. */
    htable_delete(t->ents, e->ident, ent_free);
}

/* anvil_tab_expire - drop the idle entries unused for a time unit */
void anvil_tab_expire(struct anvil_tab *t, time_t now)
{
    /* The idle list is in order of last use, and a window starts no
     * later than the last use: from the head, every entry unused for a
     * unit has an ended window. */
    while (t->idle_old
           && (now - t->idle_old->used >= t->unit || now < t->idle_old->used))
        ent_drop(t, t->idle_old);
}

/* anvil_tab_size - entries now */
size_t anvil_tab_size(const struct anvil_tab *t)
{
    return t->ents->used;
}

/* peak_note - VALUE for IDENT at NOW may be a new peak of KIND */
static void peak_note(struct anvil_tab *t, enum peak_kind kind, unsigned value,
                      const char *ident, time_t now)
{
    struct peak *p = &t->peak[kind];

    if (value <= p->value)
        return;
    p->value = value;
    p->when = now;
    if (ident && (p->ident == NULL || strcmp(p->ident, ident) != 0)) {
        mem_free(p->ident);
        p->ident = mem_strdup(ident);
    }
    t->changed = true;
}

/* ent_get - the entry of IDENT, made when CREATE; NULL when it is not
 * there (or the table is full) */
static struct ent *ent_get(struct anvil_tab *t, const char *ident, bool create,
                           time_t now)
{
    struct htable_entry *he;
    struct ent *e;

    if ((e = htable_find(t->ents, ident)) != NULL || !create)
        return e;
    if (t->ents->used >= t->max) {
        if (t->idle_old == NULL)
            return NULL;
        ent_drop(t, t->idle_old);
    }
    e = mem_zalloc(sizeof(*e));
    he = htable_enter(t->ents, ident, e);
    e->ident = he->key;
    e->start = now;
    e->used = now;
    idle_append(t, e);
    peak_note(t, PEAK_CACHE, (unsigned) t->ents->used, NULL, now);
    return e;
}

/* owner_add - DELTA to O's count of IDENT; returns the count before */
static unsigned owner_add(struct anvil_owner *o, const char *ident, int delta)
{
    struct htable_entry *he = htable_locate(o->conns, ident);
    uintptr_t n = he ? (uintptr_t) he->value : 0;

    if (delta < 0 && n == 0)
        return 0;
    n = delta < 0 ? n - 1 : n + 1;
    if (n == 0)
        htable_delete(o->conns, ident, NULL);
    else if (he)
        he->value = (void *) n;
    else
        htable_enter(o->conns, ident, (void *) n);
    return (unsigned) (delta < 0 ? n + 1 : n - 1);
}

/* fill - the values of E into OUT */
static void fill(const struct ent *e, struct anvil_counts *out)
{
    out->count = e->count;
    out->conn_rate = e->rate[RATE_CONN];
    out->mail_rate = e->rate[RATE_MAIL];
    out->rcpt_rate = e->rate[RATE_RCPT];
    out->ntls_rate = e->rate[RATE_NTLS];
    out->auth_rate = e->rate[RATE_AUTH];
}

/* bump - one more event of rate R; the new value (saturating) */
static unsigned bump(struct ent *e, enum rate r)
{
    if (e->rate[r] < UINT32_MAX)
        e->rate[r]++;
    return e->rate[r];
}

/* anvil_tab_event - register OP for IDENT */
int anvil_tab_event(struct anvil_tab *t, struct anvil_owner *o,
                    enum anvil_tab_op op, const char *ident, time_t now,
                    struct anvil_counts *out)
{
    bool counts = op != ANVIL_TAB_DISCONNECT && op != ANVIL_TAB_NEWTLS_REPORT
                  && op != ANVIL_TAB_LOOKUP;
    struct ent *e;

    memset(out, 0, sizeof(*out));
    anvil_tab_expire(t, now);
    if ((e = ent_get(t, ident, counts, now)) == NULL)
        return counts ? -1 : 0;
    if (counts && (now - e->start >= t->unit || now < e->start)) {
        memset(e->rate, 0, sizeof(e->rate));
        e->start = now;
    }
    switch (op) {
        case ANVIL_TAB_CONNECT:
            e->count++;
            (void) owner_add(o, ident, 1);
            idle_unlink(t, e);
            peak_note(t, PEAK_COUNT, e->count, ident, now);
            peak_note(t, PEAK_CONN_RATE, bump(e, RATE_CONN), ident, now);
            break;
        case ANVIL_TAB_DISCONNECT:
            if (owner_add(o, ident, -1) > 0 && e->count > 0
                && --e->count == 0) {
                e->used = now;
                idle_append(t, e);
            }
            break;
        case ANVIL_TAB_MESSAGE:
            peak_note(t, PEAK_MAIL_RATE, bump(e, RATE_MAIL), ident, now);
            break;
        case ANVIL_TAB_RECIPIENT:
            peak_note(t, PEAK_RCPT_RATE, bump(e, RATE_RCPT), ident, now);
            break;
        case ANVIL_TAB_NEWTLS:
            peak_note(t, PEAK_NTLS_RATE, bump(e, RATE_NTLS), ident, now);
            break;
        case ANVIL_TAB_AUTH:
            peak_note(t, PEAK_AUTH_RATE, bump(e, RATE_AUTH), ident, now);
            break;
        case ANVIL_TAB_NEWTLS_REPORT:
        case ANVIL_TAB_LOOKUP:
            /* A query shows the rates of an ended window as 0, and does
             * not start a new one. */
            if (now - e->start >= t->unit || now < e->start) {
                out->count = e->count;
                return 0;
            }
            break;
    }
    if (counts) {
        e->used = now;
        if (e->idle)
            idle_append(t, e);
    }
    fill(e, out);
    return 0;
}

/* anvil_owner_new - a new owner */
struct anvil_owner *anvil_owner_new(struct anvil_tab *t)
{
    struct anvil_owner *o = mem_zalloc(sizeof(*o));

    (void) t;
    o->conns = htable_new(8);
    return o;
}

/* anvil_owner_free - take back O's connections, free O */
void anvil_owner_free(struct anvil_tab *t, struct anvil_owner *o, time_t now)
{
    struct htable_entry **list;

    if (o == NULL)
        return;
    list = htable_list(o->conns, false);
    for (size_t i = 0; list[i]; i++) {
        uintptr_t n = (uintptr_t) list[i]->value;
        struct ent *e = htable_find(t->ents, list[i]->key);

        if (e == NULL || e->count == 0)
            continue;
        e->count = n >= e->count ? 0 : e->count - (unsigned) n;
        if (e->count == 0) {
            e->used = now;
            idle_append(t, e);
        }
    }
    mem_free(list);
    htable_free(o->conns, NULL);
    mem_free(o);
}

/* anvil_tab_report - the peaks as "statistics:" texts; then start over */
void anvil_tab_report(struct anvil_tab *t, anvil_tab_report_fn fn, void *ctx)
{
    static const char *const what[PEAK_N] = {
        [PEAK_CONN_RATE] = "connection rate",
        [PEAK_COUNT] = "connection count",
        [PEAK_MAIL_RATE] = "message rate",
        [PEAK_RCPT_RATE] = "recipient rate",
        [PEAK_NTLS_RATE] = "newtls rate",
        [PEAK_AUTH_RATE] = "auth rate",
        [PEAK_CACHE] = "cache size",
    };
    struct buf text = BUF_INIT;

    if (!t->changed)
        return;
    for (int i = 0; i < PEAK_N; i++) {
        struct peak *p = &t->peak[i];
        char when[64];
        struct tm tm;

        if (p->value == 0)
            continue;
        if (localtime_r(&p->when, &tm) == NULL
            || strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm) == 0)
            when[0] = 0;
        buf_setf(&text, "statistics: max %s %u", what[i], p->value);
        if (i != PEAK_COUNT && i != PEAK_CACHE)
            buf_catf(&text, "/%lds", t->unit);
        if (p->ident)
            buf_catf(&text, " for (%s)", p->ident);
        buf_catf(&text, " at %s", when);
        fn(ctx, buf_str(&text));
    }
    for (int i = 0; i < PEAK_N; i++) {
        mem_free(t->peak[i].ident);
        t->peak[i] = (struct peak){0};
    }
    t->changed = false;
    buf_fini(&text);
}
