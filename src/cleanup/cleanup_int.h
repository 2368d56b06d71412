/*
 * cleanup_int - what the cleanup modules share (not for other callers).
 */
#ifndef ULAK_CLEANUP_INT_H
#define ULAK_CLEANUP_INT_H

#include "../lib/buf.h"
#include "../lib/loop.h"
#include "../global/domain_list.h"
#include "../global/maps.h"
#include "../global/queue_dir.h"
#include "../global/rewrite.h"
#include "cleanup.h"

struct cleanup_conf {
    struct queue_dir qd;
    char *content_filter; /* content_filter, "" when none */
    struct rewrite_conf *rc;
    struct maps *canon;      /* canonical_maps, or NULL */
    struct maps *send_canon; /* sender_canonical_maps, or NULL */
    struct maps *rcpt_canon; /* recipient_canonical_maps, or NULL */
    struct maps *virt;       /* virtual_alias_maps, or NULL */
    struct maps *hdr_checks; /* header_checks, or NULL */
    struct maps *body_checks;
    struct domain_list *mydest;
    int canon_classes, send_classes, rcpt_classes, masq_classes;
    struct argv *masq_domains;
    struct argv *masq_except;
    struct argv *drop_headers; /* message_drop_headers */
    char *myorigin, *myhostname, *mail_name, *delim, *qmgr_service;
    char *double_bounce;
    bool owner_request_special;
    bool propagate_canon, propagate_virt;
    bool always_add;
    bool orig_rcpt; /* enable_original_recipient */
    long recursion_limit, expansion_limit;
    long size_limit, hdr_size_limit, hopcount, body_checks_size;
    long dup_limit;
    int override;
};

/*
 * The commit workers (cleanup_pool.c): queue_writer_commit on one of
 * CLEANUP_POOL_THREADS threads, started at the first job; then JOB->fn(JOB)
 * from the loop, never from inside cleanup_pool_submit.  The loop's part
 * of a batch of finished jobs ends with cleanup_pool_batch_end()
 * (cleanup.c: one qmgr wakeup for the batch).
 *
 * Ownership: the job is the caller's; W is transferred to the pool (the
 * commit frees it); WHY is initialised by the pool and the caller's to
 * free in FN.
 */
#define CLEANUP_POOL_THREADS 16

struct queue_writer;
struct cleanup_pool_job {
    struct queue_writer *w;                   /* in: the file to commit */
    void (*fn)(struct cleanup_pool_job *job); /* in: from the loop after */
    int rc;                                   /* out: queue_writer_commit */
    struct buf why;                           /* out: its reason */
    struct cleanup_pool_job *next;            /* the pool's */
};

/* cleanup_pool_submit - 0: JOB is on its way; -1: no worker could be
 * started (logged once): commit in the caller, as before. */
int cleanup_pool_submit(struct loop *l, struct cleanup_pool_job *job);
/* cleanup_pool_drain - wait until every submitted job is committed and
 * run the callbacks (at exit, when the loop no longer runs). */
void cleanup_pool_drain(void);
/* cleanup_pool_busy - jobs whose callback has not run yet. */
long cleanup_pool_busy(void);
/* cleanup_pool_batch_end - cleanup.c's hook after a batch of callbacks. */
void cleanup_pool_batch_end(void);

#endif
