#include "queue_id.h"

#include "../lib/msg.h"
#include "../lib/str.h"

/* The long form's alphabet, in ASCII order: digits, consonants. */
static const char b52[] =
    "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

#define SHORT_USEC_DIGITS 5 /* 999999 = F423F */
#define LONG_SEC_DIGITS   6
#define LONG_USEC_DIGITS  4
#define USEC_MAX          999999L

/* b52_value - the digit value of C in the long alphabet, or -1 */
static int b52_value(int c)
{
    const char *p;

    if (c == 0 || (p = strchr(b52, c)) == NULL)
        return -1;
    return (int) (p - b52);
}

/* encode - V in BASE with at least MIN digits, appended at OUT[*pos] */
static void encode(char *out, size_t size, size_t *pos, unsigned long long v,
                   unsigned base, size_t min)
{
    char tmp[32];
    size_t n = 0;

    do {
        tmp[n++] = b52[v % base];
        v /= base;
    } while (v > 0 && n < sizeof(tmp));
    while (n < min && n < sizeof(tmp))
        tmp[n++] = '0';
    while (n > 0 && *pos + 1 < size)
        out[(*pos)++] = tmp[--n];
    out[*pos] = 0;
}

/* queue_id_make - an ID from a creation time and an inode number */
void queue_id_make(char *out, size_t size, bool long_form,
                   const struct timeval *tv, ino_t ino)
{
    size_t pos = 0;
    long usec = (long) tv->tv_usec;

    if (size < QUEUE_ID_SIZE)
        msg_panic("queue_id_make: buffer of %zu bytes", size);
    if (usec < 0 || usec > USEC_MAX)
        msg_panic("queue_id_make: bad microseconds %ld", usec);
    if (long_form) {
        encode(out, size, &pos, (unsigned long long) tv->tv_sec, 52,
               LONG_SEC_DIGITS);
        encode(out, size, &pos, (unsigned long long) usec, 52,
               LONG_USEC_DIGITS);
        out[pos++] = 'z';
        out[pos] = 0;
        encode(out, size, &pos, (unsigned long long) ino, 51, 1);
    } else {
        (void) str_fmt(out, size, "%05lX%llX", usec, (unsigned long long) ino);
    }
}

/* decode - the value of LEN digits at P in BASE; -1 on a bad digit or
 * overflow beyond MAX */
static long long decode(const char *p, size_t len, int base, long long max)
{
    long long v = 0;

    for (size_t i = 0; i < len; i++) {
        int d = b52_value((unsigned char) p[i]);

        if (d < 0 || d >= base || v > (max - d) / base)
            return -1;
        v = v * base + d;
    }
    return v;
}

/* short_ok - P[LEN] is a short ID: hex, usec in range, an inode */
static bool short_ok(const char *p, size_t len)
{
    long usec = 0;

    if (len < SHORT_USEC_DIGITS + 1 || len > SHORT_USEC_DIGITS + 16)
        return false;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char) p[i];
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;

        if (d < 0)
            return false;
        if (i < SHORT_USEC_DIGITS)
            usec = usec * 16 + d;
    }
    return usec <= USEC_MAX;
}

/* long_split - P[LEN] is a long ID: position of the separating 'z' */
static bool long_split(const char *p, size_t len, size_t *zpos)
{
    size_t z = len;
    long long usec;

    for (size_t i = len; i > 0; i--) {
        if (p[i - 1] == 'z') {
            z = i - 1;
            break;
        }
    }
    /* Seconds (6+), usec (4), 'z', inode (1+, 12 digits hold 64 bits). */
    if (z == len || z < LONG_SEC_DIGITS + LONG_USEC_DIGITS || z + 1 == len
        || len - z - 1 > 12 || z > LONG_SEC_DIGITS + LONG_USEC_DIGITS + 6)
        return false;
    for (size_t i = 0; i < len; i++)
        if (b52_value((unsigned char) p[i]) < 0)
            return false;
    usec = decode(p + z - LONG_USEC_DIGITS, LONG_USEC_DIGITS, 52, USEC_MAX);
    if (usec < 0)
        return false;
    if (decode(p, z - LONG_USEC_DIGITS, 52, INT64_MAX) < 0
        || decode(p + z + 1, len - z - 1, 51, INT64_MAX) < 0)
        return false;
    *zpos = z;
    return true;
}

/* queue_id_valid_n - a short or long ID */
bool queue_id_valid_n(const char *p, size_t len)
{
    size_t z;

    if (len == 0 || len >= QUEUE_ID_SIZE)
        return false;
    return short_ok(p, len) || long_split(p, len, &z);
}

/* queue_id_valid - a short or long ID, NUL-terminated */
bool queue_id_valid(const char *id)
{
    return id != NULL && queue_id_valid_n(id, strnlen(id, QUEUE_ID_SIZE));
}

/* queue_id_is_long - a valid ID of the long form */
bool queue_id_is_long(const char *id)
{
    size_t z;

    return long_split(id, strnlen(id, QUEUE_ID_SIZE), &z);
}

/* queue_id_hash - the hashed sub-folder names of an ID */
int queue_id_hash(const char *id, int depth, char *out)
{
    size_t len = strnlen(id, QUEUE_ID_SIZE);
    size_t z;
    char hex[16];

    if (depth < 0 || depth > QUEUE_ID_HASH_MAX)
        msg_panic("queue_id_hash: depth %d", depth);
    if (short_ok(id, len)) {
        memcpy(hex, id, SHORT_USEC_DIGITS);
    } else if (long_split(id, len, &z)) {
        long long usec =
            decode(id + z - LONG_USEC_DIGITS, LONG_USEC_DIGITS, 52, USEC_MAX);

        (void) str_fmt(hex, sizeof(hex), "%05llX", usec);
    } else {
        return -1;
    }
    memcpy(out, hex, (size_t) depth);
    out[depth] = 0;
    return 0;
}

/* queue_id_time - the creation time of a long ID */
int queue_id_time(const char *id, struct timeval *tv)
{
    size_t len = strnlen(id, QUEUE_ID_SIZE);
    size_t z;

    if (!long_split(id, len, &z))
        return -1;
    tv->tv_sec = (time_t) decode(id, z - LONG_USEC_DIGITS, 52, INT64_MAX);
    tv->tv_usec = (suseconds_t) decode(id + z - LONG_USEC_DIGITS,
                                       LONG_USEC_DIGITS, 52, USEC_MAX);
    return 0;
}
