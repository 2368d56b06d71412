/* ipc_msgs - descriptor tables generated from ipc_msgs.def (see .h). */
#include "ipc_msgs.h"

#include <stddef.h>

/* Field flags from the .def words. */
#define IPC_PRESENCE_REQ          IPC_F_REQUIRED
#define IPC_PRESENCE_OPT          0u
#define IPC_REPEAT_ONE            0u
#define IPC_REPEAT_MANY           IPC_F_REPEATED
#define IPC_COUNT_ONE(msg, name)  0
#define IPC_COUNT_MANY(msg, name) offsetof(struct ipc_##msg, name##_count)

/* The type and version of each message, as enum constants. */
#define IPC_MSG_BEGIN(N, T, V) \
    enum {                     \
        IPC_TYPE_##N = T,      \
        IPC_VERSION_##N = V    \
    };
#define IPC_GROUP_BEGIN(N)  \
    enum {                  \
        IPC_TYPE_##N = 0,   \
        IPC_VERSION_##N = 0 \
    };
#define IPC_FIELD(M, F, NUM, K, P, R)
#define IPC_GROUP(M, F, NUM, G, P, R)
#define IPC_MSG_END(N)
#include "ipc_msgs.def"
#undef IPC_MSG_BEGIN
#undef IPC_GROUP_BEGIN
#undef IPC_FIELD
#undef IPC_GROUP
#undef IPC_MSG_END

/*
 * Field tables and descriptors.  A group is declared in the .def before the
 * messages that contain it, so its descriptor exists when they refer to it.
 * (Macro parameters are single letters: a parameter called "name" would
 * replace the ".name" designators.)
 */
#define IPC_MSG_BEGIN(N, T, V) \
    static const struct ipc_field_desc ipc_##N##_fields[] = {
#define IPC_GROUP_BEGIN(N) \
    static const struct ipc_field_desc ipc_##N##_fields[] = {
#define IPC_FIELD(M, F, NUM, K, P, R)            \
    {.name = #F,                                 \
     .number = NUM,                              \
     .kind = IPC_KIND_##K,                       \
     .flags = IPC_PRESENCE_##P | IPC_REPEAT_##R, \
     .offset = offsetof(struct ipc_##M, F),      \
     .count_offset = IPC_COUNT_##R(M, F),        \
     .group = NULL},
#define IPC_GROUP(M, F, NUM, G, P, R)            \
    {.name = #F,                                 \
     .number = NUM,                              \
     .kind = IPC_KIND_GROUP,                     \
     .flags = IPC_PRESENCE_##P | IPC_REPEAT_##R, \
     .offset = offsetof(struct ipc_##M, F),      \
     .count_offset = IPC_COUNT_##R(M, F),        \
     .group = &ipc_##G##_desc},
#define IPC_MSG_END(N)                           \
    }                                            \
    ;                                            \
    const struct ipc_msg_desc ipc_##N##_desc = { \
        .name = #N,                              \
        .type = IPC_TYPE_##N,                    \
        .version = IPC_VERSION_##N,              \
        .fields = ipc_##N##_fields,              \
        .nfields = NELEM(ipc_##N##_fields),      \
        .size = sizeof(struct ipc_##N),          \
    };
#include "ipc_msgs.def"
#undef IPC_MSG_BEGIN
#undef IPC_GROUP_BEGIN
#undef IPC_FIELD
#undef IPC_GROUP
#undef IPC_MSG_END

/* The list of frame types; groups are not in it. */
#define IPC_MSG_BEGIN(N, T, V) &ipc_##N##_desc,
#define IPC_GROUP_BEGIN(N)
#define IPC_FIELD(msg, name, number, kind, presence, repeat)
#define IPC_GROUP(msg, name, number, group, presence, repeat)
#define IPC_MSG_END(name)
const struct ipc_msg_desc *const ipc_msgs_all[] = {
#include "ipc_msgs.def"
};
#undef IPC_MSG_BEGIN
#undef IPC_GROUP_BEGIN
#undef IPC_FIELD
#undef IPC_GROUP
#undef IPC_MSG_END
const size_t ipc_msgs_count = NELEM(ipc_msgs_all);

/* Two declarations of one type number would make dumps lie: catch it. */
#define IPC_MSG_BEGIN(N, T, V) case T:
#define IPC_GROUP_BEGIN(N)
#define IPC_FIELD(msg, name, number, kind, presence, repeat)
#define IPC_GROUP(msg, name, number, group, presence, repeat)
#define IPC_MSG_END(name)
/* ipc_msgs_unique - compiles only when the message types are distinct */
static ULAK_UNUSED void ipc_msgs_unique(int t)
{
    switch (t) {
#include "ipc_msgs.def"
        break;
    }
}
#undef IPC_MSG_BEGIN
#undef IPC_GROUP_BEGIN
#undef IPC_FIELD
#undef IPC_GROUP
#undef IPC_MSG_END

/*
 * The same for the field numbers of each message, and the decoder's limit
 * of 64 fields per message (it tracks duplicates in a fixed array).
 */
#define IPC_MSG_BEGIN(N, T, V) IPC_GROUP_BEGIN(N)
#define IPC_GROUP_BEGIN(N)                                                \
    _Static_assert(NELEM(ipc_##N##_fields) <= 64, #N " has more than 64 " \
                                                     "fields");           \
    static ULAK_UNUSED void ipc_##N##_unique(int f)                       \
    {                                                                     \
        switch (f) {
#define IPC_FIELD(M, F, NUM, K, P, R) case NUM:
#define IPC_GROUP(M, F, NUM, G, P, R) case NUM:
#define IPC_MSG_END(N) \
    break;             \
    }                  \
    }
#include "ipc_msgs.def"
#undef IPC_MSG_BEGIN
#undef IPC_GROUP_BEGIN
#undef IPC_FIELD
#undef IPC_GROUP
#undef IPC_MSG_END

/* ipc_msgs_dump - ipc_dump() over every declared message */
int ipc_msgs_dump(const struct ipc_frame *frame, struct buf *out)
{
    return ipc_dump(ipc_msgs_all, ipc_msgs_count, frame, out);
}

/* ipc_msgs_name - the name of message TYPE, or NULL */
const char *ipc_msgs_name(uint16_t type)
{
    const struct ipc_msg_desc *d =
        ipc_desc_find(ipc_msgs_all, ipc_msgs_count, type);

    return d ? d->name : NULL;
}
