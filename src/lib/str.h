/*
 * str - small string helpers for fixed local buffers and number parsing.
 *
 * str_copy and str_fmt replace strcpy/strncpy/sprintf: they always
 * terminate and return -1 when the result did not fit.  str_to_long and
 * str_to_ulong replace atoi/atol/strtol: the whole string must be a number in
 * range, or they return -1 and leave *out alone.
 */
#ifndef ULAK_STR_H
#define ULAK_STR_H

#include "sys_defs.h"

int str_copy(char *dst, size_t size, const char *src);
int str_fmt(char *dst, size_t size, const char *fmt, ...) ULAK_PRINTFLIKE(3, 4);
ULAK_NODISCARD int str_to_long(const char *s, long *out);
ULAK_NODISCARD int str_to_ulong(const char *s, unsigned long *out);
/* str_lower - ASCII lower case in place; returns S. */
char *str_lower(char *s);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* str_utf8_shape - the length of the sequence at P (a non-NUL byte): 1
 * for ASCII, 2-4 for a lead byte (0xc2-0xf4) followed by all its
 * continuation bytes, 0 for any other byte.  Only the shape is checked
 * (what Postfix's logging keeps), not the code point. */
size_t str_utf8_shape(const char *p);
/* str_utf8_valid - whether S is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
bool str_utf8_valid(const char *s);

#endif
