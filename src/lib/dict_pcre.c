/*
 * dict_pcre - pcre_table(5): the rule-file table of dict_regexp.c with the
 * PCRE2 engine.  Flags toggle CASELESS (i, on), MULTILINE (m), DOTALL (s,
 * on), EXTENDED (x), ANCHORED (A), DOLLAR_ENDONLY (E) and UNGREEDY (U);
 * X (PCRE1's EXTRA) is obsolete with PCRE2 and ignored with a warning.
 */
#include "dict.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "mem.h"

#include "dict_impl.h"

/* pcre_flag - toggle one option bit */
static int pcre_flag(int c, int *flags)
{
    switch (c) {
        case 'i':
            *flags ^= PCRE2_CASELESS;
            return 0;
        case 'm':
            *flags ^= PCRE2_MULTILINE;
            return 0;
        case 's':
            *flags ^= PCRE2_DOTALL;
            return 0;
        case 'x':
            *flags ^= PCRE2_EXTENDED;
            return 0;
        case 'A':
            *flags ^= PCRE2_ANCHORED;
            return 0;
        case 'E':
            *flags ^= PCRE2_DOLLAR_ENDONLY;
            return 0;
        case 'U':
            *flags ^= PCRE2_UNGREEDY;
            return 0;
        case 'X':
            return 1;
        default:
            return -1;
    }
}

/* pcre_compile_rule - compile with PCRE2; Postfix's error text */
static void *pcre_compile_rule(const char *pattern, int flags, bool subs,
                               size_t *nsub, struct buf *err)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re;
    uint32_t count = 0;

    (void) subs;
    re = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED,
                       (uint32_t) flags, &code, &offset, NULL);
    if (re == NULL) {
        PCRE2_UCHAR msg[256];

        pcre2_get_error_message(code, msg, sizeof(msg));
        buf_setf(err, "error in regex at offset %zu: %s", (size_t) offset,
                 (const char *) msg);
        return NULL;
    }
    (void) pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &count);
    *nsub = count;
    return re;
}

/* pcre_match_rule - pcre2_match, offsets into OFF */
static int pcre_match_rule(void *re, const char *key, size_t nsub, size_t *off,
                           struct buf *err)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR) key, strlen(key), 0, 0, md, NULL);
    int ret;

    if (rc >= 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        uint32_t n = pcre2_get_ovector_count(md);

        for (size_t i = 0; i <= nsub; i++) {
            bool set = i < n && ov[2 * i] != PCRE2_UNSET;

            off[2 * i] = set ? (size_t) ov[2 * i] : DICT_PAT_UNSET;
            off[2 * i + 1] = set ? (size_t) ov[2 * i + 1] : DICT_PAT_UNSET;
        }
        ret = 1;
    } else if (rc == PCRE2_ERROR_NOMATCH) {
        ret = 0;
    } else {
        PCRE2_UCHAR msg[256];

        pcre2_get_error_message(rc, msg, sizeof(msg));
        buf_set(err, (const char *) msg);
        ret = -1;
    }
    pcre2_match_data_free(md);
    return ret;
}

/* pcre_free_rule - release a compiled pattern */
static void pcre_free_rule(void *re)
{
    pcre2_code_free(re);
}

static const struct dict_pat_engine pcre_engine = {
    .type = "pcre",
    .default_flags = PCRE2_CASELESS | PCRE2_DOTALL,
    .zero_warning = "out of range replacement index",
    .no_delim = "ignoring",
    .flag = pcre_flag,
    .compile = pcre_compile_rule,
    .match = pcre_match_rule,
    .free = pcre_free_rule,
};

/* dict_pcre_open - a PCRE2 table */
struct dict *dict_pcre_open(const char *name, int open_flags, int dict_flags,
                            struct buf *why)
{
    return dict_pat_open(&pcre_engine, name, open_flags, dict_flags, why);
}
