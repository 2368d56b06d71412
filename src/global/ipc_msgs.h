/*
 * ipc_msgs - the C face of ipc_msgs.def: one struct ipc_NAME per message
 * and group, its descriptor ipc_NAME_desc, and typed wrappers:
 *
 *   int ipc_NAME_encode(const struct ipc_NAME *m, uint32_t request_id,
 *                       struct buf *out, struct buf *why);
 *       append one frame to OUT (0), or -1 with WHY and OUT unchanged.
 *   int ipc_NAME_decode(const struct ipc_frame *f, struct ipc_NAME *m,
 *                       struct buf *why);
 *       strict decode (lib/ipc.h); on success M owns every pointer in it.
 *   void ipc_NAME_fini(struct ipc_NAME *m);
 *       free what M owns, leave it zeroed.
 *
 * A message built by hand for encoding borrows whatever it points to; call
 * _fini only on a decoded one (or one whose pointers come from mem_*).
 *
 * ipc_msgs_dump() prints any frame of the list as "name field=value ...".
 */
#ifndef ULAK_IPC_MSGS_H
#define ULAK_IPC_MSGS_H

#include "lib/buf.h"
#include "lib/ipc.h"

/* child_status.state */
enum ipc_child_state {
    IPC_CHILD_READY = 1, /* can take a connection */
    IPC_CHILD_BUSY = 2,  /* serving one */
    IPC_CHILD_IDLE = 3,  /* about to exit (idle or use limit) */
};

/* deliver_req.flags */
#define IPC_DELIVER_F_VERIFY 1 /* report how each recipient would go; no mail */
#define IPC_DELIVER_F_BOUNCE 2 /* the message is a notification: never bounce */

/* reply.status */
enum ipc_reply_status {
    IPC_REPLY_OK = 0,
    IPC_REPLY_TEMPFAIL = 1, /* try again later */
    IPC_REPLY_FAIL = 2,     /* the request cannot be served */
};

/* anvil_req.op (the same numbers as anvil_tab's enum anvil_tab_op) */
enum ipc_anvil_op {
    IPC_ANVIL_CONNECT = 1,       /* a new connection: count, rate */
    IPC_ANVIL_DISCONNECT = 2,    /* it ended: count (no rate) */
    IPC_ANVIL_MESSAGE = 3,       /* a MAIL command: rate */
    IPC_ANVIL_RECIPIENT = 4,     /* a RCPT command: rate */
    IPC_ANVIL_NEWTLS = 5,        /* a new (uncached) TLS session: rate */
    IPC_ANVIL_NEWTLS_REPORT = 6, /* the new TLS rate, nothing counted */
    IPC_ANVIL_AUTH = 7,          /* an AUTH command: rate */
    IPC_ANVIL_LOOKUP = 8,        /* every value, nothing counted */
};

/* The C type of each field kind. */
#define IPC_CTYPE_STR               char *
#define IPC_CTYPE_INT               int32_t
#define IPC_CTYPE_U64               uint64_t
#define IPC_CTYPE_BYTES             struct ipc_bytes
#define IPC_MEMBER_ONE(ctype, name) ctype name;
#define IPC_MEMBER_MANY(ctype, name) \
    ctype *name;                     \
    size_t name##_count;
/* A single group is a pointer to it; a repeated one an array of structs. */
#define IPC_GMEMBER_ONE(group, name) struct ipc_##group *name;
#define IPC_GMEMBER_MANY(group, name) \
    struct ipc_##group *name;         \
    size_t name##_count;

/* The structs. */
#define IPC_MSG_BEGIN(name, type, version) struct ipc_##name {
#define IPC_GROUP_BEGIN(name)              struct ipc_##name {
#define IPC_FIELD(msg, name, number, kind, presence, repeat) \
    IPC_MEMBER_##repeat(IPC_CTYPE_##kind, name)
#define IPC_GROUP(msg, name, number, group, presence, repeat) \
    IPC_GMEMBER_##repeat(group, name)
#define IPC_MSG_END(name) \
    }                     \
    ;
#include "ipc_msgs.def"
#undef IPC_MSG_BEGIN
#undef IPC_GROUP_BEGIN
#undef IPC_FIELD
#undef IPC_GROUP
#undef IPC_MSG_END

/* The descriptors and the typed wrappers. */
#define IPC_MSG_BEGIN(name, type, version)                                \
    extern const struct ipc_msg_desc ipc_##name##_desc;                   \
    ULAK_NODISCARD static inline int ipc_##name##_encode(                 \
        const struct ipc_##name *m, uint32_t request_id, struct buf *out, \
        struct buf *why)                                                  \
    {                                                                     \
        return ipc_encode(&ipc_##name##_desc, m, request_id, out, why);   \
    }                                                                     \
    ULAK_NODISCARD static inline int ipc_##name##_decode(                 \
        const struct ipc_frame *f, struct ipc_##name *m, struct buf *why) \
    {                                                                     \
        return ipc_decode(&ipc_##name##_desc, f, m, why);                 \
    }                                                                     \
    static inline void ipc_##name##_fini(struct ipc_##name *m)            \
    {                                                                     \
        ipc_msg_fini(&ipc_##name##_desc, m);                              \
    }
#define IPC_GROUP_BEGIN(name) \
    extern const struct ipc_msg_desc ipc_##name##_desc;
#define IPC_FIELD(msg, name, number, kind, presence, repeat)
#define IPC_GROUP(msg, name, number, group, presence, repeat)
#define IPC_MSG_END(name)
#include "ipc_msgs.def"
#undef IPC_MSG_BEGIN
#undef IPC_GROUP_BEGIN
#undef IPC_FIELD
#undef IPC_GROUP
#undef IPC_MSG_END

/* Every message type of the list (not the groups), for ipc_dump(). */
extern const struct ipc_msg_desc *const ipc_msgs_all[];
extern const size_t ipc_msgs_count;

/* ipc_msgs_dump - ipc_dump() over every declared message; 0 or -1. */
int ipc_msgs_dump(const struct ipc_frame *frame, struct buf *out);
/* ipc_msgs_name - the name of message TYPE, or NULL when unknown. */
const char *ipc_msgs_name(uint16_t type);

#endif
