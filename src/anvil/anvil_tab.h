/*
 * anvil_tab - the counters of anvil(8): per ident ("service:client_addr")
 * the number of connections now and the number of connections, messages,
 * recipients, new TLS sessions and AUTH requests in the current time unit
 * (anvil_rate_time_unit), plus the peaks that anvil logs as "statistics:"
 * lines.  No I/O and no clock: every call takes NOW, so the tests drive
 * time.
 *
 * Rates: an ident's rates count the events since its window began; the
 * first event at least UNIT seconds after the window began (or before it:
 * a clock that went back) starts a new window with every rate at 0.  The
 * event being registered is counted in the rate that is returned, as
 * Postfix's anvil does, so a client is over a limit L when the rate > L.
 *
 * Owners: each client stream of the daemon (one smtpd process) is an
 * owner.  A connect counts for its owner; a disconnect takes back one of
 * that owner's connections of that ident and nothing else (a disconnect
 * for a connection the owner never counted, such as one counted by an
 * anvil that has since restarted, changes nothing), and
 * anvil_owner_free() takes back every connection the owner still holds:
 * a crashed smtpd leaves no count behind.
 *
 * Memory: at most MAX_IDENTS entries.  An entry is idle while its
 * connection count is 0; idle entries are kept in the order they were
 * last used, dropped when they were not used for a time unit (their rates
 * would start over anyway), and the least recently used one is dropped
 * when a new ident needs room.  When every entry holds connections the
 * table is full and a new ident is refused (-1): the caller answers with
 * an error and smtpd goes on without a limit for that client.
 *
 * Ownership: the table owns its entries and owners; an owner must be freed
 * (anvil_owner_free) before the table.  Strings passed in are copied.
 */
#ifndef ULAK_ANVIL_TAB_H
#define ULAK_ANVIL_TAB_H

#include <time.h>

#include "../lib/sys_defs.h"
#include "../lib/buf.h"

/* What an event changes (values of anvil_req.op in ipc_msgs.def). */
enum anvil_tab_op {
    ANVIL_TAB_CONNECT = 1,
    ANVIL_TAB_DISCONNECT = 2,
    ANVIL_TAB_MESSAGE = 3,
    ANVIL_TAB_RECIPIENT = 4,
    ANVIL_TAB_NEWTLS = 5,
    ANVIL_TAB_NEWTLS_REPORT = 6, /* the new TLS rate, not counted */
    ANVIL_TAB_AUTH = 7,
    ANVIL_TAB_LOOKUP = 8, /* every value, nothing counted */
};
#define ANVIL_TAB_OP_MAX ANVIL_TAB_LOOKUP

/* The values of one ident after an event. */
struct anvil_counts {
    unsigned count;     /* connections now */
    unsigned conn_rate; /* connections in this time unit */
    unsigned mail_rate; /* MAIL commands */
    unsigned rcpt_rate; /* RCPT commands */
    unsigned ntls_rate; /* new (uncached) TLS sessions */
    unsigned auth_rate; /* AUTH commands */
};

struct anvil_tab;
struct anvil_owner;

/* anvil_tab_new - an empty table; UNIT is anvil_rate_time_unit (seconds,
 * >= 1), MAX_IDENTS the entry cap (>= 1). */
struct anvil_tab *anvil_tab_new(long unit, size_t max_idents);
/* anvil_tab_free - free the table (NULL: nothing); its owners must be
 * gone. */
void anvil_tab_free(struct anvil_tab *t);

/* anvil_owner_new - a new owner (one client stream). */
struct anvil_owner *anvil_owner_new(struct anvil_tab *t);
/* anvil_owner_free - take back every connection O still counts, then free
 * it (NULL: nothing). */
void anvil_owner_free(struct anvil_tab *t, struct anvil_owner *o, time_t now);

/*
 * anvil_tab_event - register OP for IDENT by owner O at NOW and fill OUT
 * with the ident's values afterwards.  A disconnect or a query (newtls
 * report, lookup) of an unknown ident creates nothing and answers zeros.
 * Returns 0, or -1 when a new ident finds the table full (OUT zeroed).
 */
ULAK_NODISCARD int anvil_tab_event(struct anvil_tab *t, struct anvil_owner *o,
                                   enum anvil_tab_op op, const char *ident,
                                   time_t now, struct anvil_counts *out);

/* anvil_tab_expire - drop the idle entries unused for a time unit. */
void anvil_tab_expire(struct anvil_tab *t, time_t now);
/* anvil_tab_size - entries now. */
size_t anvil_tab_size(const struct anvil_tab *t);

/* anvil_tab_report_fn - one "statistics: ..." text (borrowed). */
typedef void (*anvil_tab_report_fn)(void *ctx, const char *text);
/*
 * anvil_tab_report - the peaks since the last report, as Postfix's anvil
 * logs them, one call of FN each, in this order and only those above 0:
 *   max connection rate N/UNITs for (IDENT) at TIME
 *   max connection count N for (IDENT) at TIME
 *   max message rate N/UNITs for (IDENT) at TIME
 *   max recipient rate N/UNITs for (IDENT) at TIME
 *   max newtls rate N/UNITs for (IDENT) at TIME
 *   max auth rate N/UNITs for (IDENT) at TIME
 *   max cache size N at TIME
 * (TIME as strftime "%b %e %H:%M:%S", local time), each prefixed with
 * "statistics: ".  Then the peaks start over.  Nothing happens when no
 * peak changed since the last report.
 */
void anvil_tab_report(struct anvil_tab *t, anvil_tab_report_fn fn, void *ctx);

#endif
