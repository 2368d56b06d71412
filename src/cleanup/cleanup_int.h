/*
 * cleanup_int - what the cleanup modules share (not for other callers).
 */
#ifndef ULAK_CLEANUP_INT_H
#define ULAK_CLEANUP_INT_H

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

#endif
