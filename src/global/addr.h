/*
 * addr - mail addresses: RFC 5321 paths, RFC 5322 header address lists,
 * and Postfix's internal and external forms.
 *
 * Forms.  Postfix, and ulak, keep an address in its *internal* form: the
 * local part without RFC 822 quoting ("a b@example.com"), then "@" and the
 * domain as written (a literal keeps its brackets: "u@[192.0.2.1]").  The
 * *external* form is what goes on the wire and into headers: the local
 * part quoted when it needs it ("\"a b\"@example.com"), by the rules of
 * Postfix's quote_822_local (see addr_externalize).  The local part and the
 * domain are split at the LAST '@', so an internal address "a@b@c" has the
 * local part "a@b".  The empty address (the null sender "<>") is "".
 *
 * Every parser here is a pure function over a span: it never writes into
 * its input, never reads past it, and bounds its output explicitly
 * (ADDR_MAX_LEN, ADDR_HDR_MAX_LEN, ADDR_HDR_MAX_ADDRS).  Malformed input is
 * a -1 return with a specific reason in WHY, never a crash.
 *
 * Ownership: output bufs are the caller's (they are reset, then filled,
 * unless a function says it appends) and must not be the memory an input
 * span points into; spans returned point into the caller's input; struct addr_hdr_list owns its entries and their strings.
 */
#ifndef ULAK_ADDR_H
#define ULAK_ADDR_H

#include "../lib/buf.h"

struct maps_opts;

/* The longest address (internal form, in bytes) the parsers accept: as
 * long as an SMTP command line may be (Postfix's line_length_limit). */
#define ADDR_MAX_LEN       2048
/* The longest header value addr_parse_header reads: Postfix's default
 * header_size_limit. */
#define ADDR_HDR_MAX_LEN   102400
/* The most addresses one header value may yield. */
#define ADDR_HDR_MAX_ADDRS 10000

/* Host name limits (RFC 1035, and Postfix's valid_hostname). */
#define ADDR_DOMAIN_MAX 255
#define ADDR_LABEL_MAX  63

/*
 * RFC 5321 paths (MAIL FROM:, RCPT TO:, VRFY, sendmail arguments).
 */
#define ADDR_PATH_STRICT  (1 << 0) /* strict_rfc821_envelopes: <> required */
#define ADDR_PATH_UTF8    (1 << 1) /* SMTPUTF8: UTF-8 allowed in the address */
#define ADDR_PATH_NUMERIC (1 << 2) /* resolve_numeric_domain: u@1.2.3.4 */

/*
 * addr_parse_path - the path at the start of IN, after optional white
 * space: "<local@domain>", "<>", "<@relay1,@relay2:local@domain>" (the
 * source route is checked and dropped, as Postfix does), or, without
 * ADDR_PATH_STRICT, a bare "local@domain" that ends at white space.  The
 * local part is a dot-string (atext and dots; dots anywhere, as Postfix
 * accepts them) or a quoted string; the domain is labels of letters,
 * digits, '-' and '_' separated by dots (a trailing dot allowed, rewriting
 * strips it) that addr_check_domain accepts, or an address literal that it
 * accepts; the domain may be missing ("<user>": unqualified, qualified
 * later by rewriting).  Postfix's smtpd answers "Bad recipient address
 * syntax" to the same domains (golden cases in addr_test.c).  ulak is
 * stricter than Postfix in RFC 5321's favour: it refuses comments, control
 * bytes, "a@b@c", "<@domain>", "<\"a@b\">" and an unterminated literal,
 * which Postfix's tokenizer lets through.  Bytes above 0x7f
 * only with ADDR_PATH_UTF8, and only as valid UTF-8.
 *
 * Returns 0 with the internal form in ADDR ("" for "<>") and, when USED is
 * not NULL, the number of bytes of IN consumed (up to and including '>'),
 * so the caller can read ESMTP parameters after it.  Returns -1 with the
 * reason in WHY ("missing '>'", "bad character 0x01 in local part", ...).
 */
int addr_parse_path(struct span in, int flags, struct buf *addr, size_t *used,
                    struct buf *why);

/*
 * addr_check_domain - DOMAIN (no trailing dot) as Postfix accepts a
 * host name for delivery: labels of letters, digits, '-', '_' (and 8-bit
 * bytes: UTF-8 domains are checked by the caller), none empty, none
 * starting or ending with '-', none longer than ADDR_LABEL_MAX, at most
 * ADDR_DOMAIN_MAX in all, and not all-numeric unless NUMERIC and it is an
 * IPv4 address; or an address literal that addr_literal_ip accepts.  0, or
 * -1 with the reason in WHY.
 */
int addr_check_domain(struct span domain, bool numeric, struct buf *why);

/*
 * addr_externalize - the external form of internal address ADDR into OUT:
 * the local part is quoted as a whole when it is empty (and a domain
 * follows), contains white space, a control byte, DEL or one of
 * ()<>@,;:\".[], or has a leading, trailing or doubled dot; inside the
 * quotes " and \ get a backslash.  ! % and 8-bit bytes need no quotes.
 * (Golden cases in addr_test.c were read from Postfix 3.7's log.)
 */
void addr_externalize(struct span addr, struct buf *out);

/*
 * addr_internalize - the internal form of external address ADDR into
 * OUT: quotes are removed from the local part (up to the last '@' outside
 * quotes) and backslash escapes inside them undone; the domain is copied
 * as is.  An unterminated quote ends at the end.
 */
void addr_internalize(struct span addr, struct buf *out);

/* addr_split - the local part and domain of internal address ADDR, split
 * at the last '@'.  Without '@', LOCAL is all of ADDR, DOMAIN empty and
 * the return false; true when there is an '@'. */
bool addr_split(struct span addr, struct span *local, struct span *domain);

/* addr_lower_domain - ADDR into OUT with the domain folded to ASCII
 * lower case (local parts are case-sensitive; domains are not), for
 * lookups and comparisons. */
void addr_lower_domain(struct span addr, struct buf *out);

/*
 * addr_split_ext - USER and EXT of local part LOCAL by recipient_delimiter
 * O->delim, which may hold several characters, each a delimiter (Postfix
 * 2.11+): the local part splits at the first byte that is one of them;
 * *DELIM gets that byte and EXT starts after it.  Postmaster,
 * mailer-daemon, the double-bounce name and (with owner_request_special)
 * owner-* / *-request are never split; a delimiter at the start does not
 * split.  Returns true when there was an extension; else USER is LOCAL,
 * EXT empty and *DELIM 0.  DELIM may be NULL.
 */
bool addr_split_ext(struct span local, const struct maps_opts *o,
                    struct span *user, struct span *ext, char *delim);

/*
 * addr_literal_ip - whether DOMAIN is an address literal "[1.2.3.4]" or
 * "[IPv6:2001:db8::1]" (tag case-insensitive) holding a valid address;
 * the address (without brackets and tag, in inet_ntop's canonical form)
 * into IP, which may be NULL.
 */
bool addr_literal_ip(struct span domain, struct buf *ip);

/*
 * RFC 5322 address lists (To:, Cc:, Bcc:, From:, Reply-To:, Sender:,
 * Resent-*:).
 */
struct addr_hdr_entry {
    char *addr;    /* owned: internal form ("" for "<>") */
    char *display; /* owned: display name, or the comment of the old
                      "addr (Name)" form; NULL when none */
    char *group;   /* owned: name of the group it is in; NULL when none */
};

struct addr_hdr_list {
    struct addr_hdr_entry *v; /* owned */
    size_t n;
    size_t size;
    /* The value had an unterminated quote, comment, literal or '<', a
     * stray '>', or text after an angle address; the addresses were read
     * as Postfix reads them (to the end), the caller may warn. */
    bool malformed;
};

void addr_hdr_init(struct addr_hdr_list *l);
void addr_hdr_free(struct addr_hdr_list *l);

/*
 * addr_parse_header - append the addresses of header value VALUE (the
 * text after "To:", unfolded or not) to L.  Elements are separated by
 * commas; "Name <addr>", "<addr>", "addr", "addr (Name)" and groups
 * "Name: a, b;" (an empty group yields nothing) are understood; a route
 * "<@a,@b:u@d>" is dropped; comments are dropped from addresses; quoted
 * local parts are unquoted (internal form); empty elements are skipped.
 * Words with no special between them outside angle brackets are separate
 * addresses, as Postfix reads them ("To: a b" is a and b).  Returns 0, or
 * -1 with WHY when VALUE holds a NUL byte, is longer than ADDR_HDR_MAX_LEN,
 * holds more than ADDR_HDR_MAX_ADDRS addresses or an address longer than
 * ADDR_MAX_LEN (L then holds the addresses before the problem).
 */
int addr_parse_header(struct span value, struct addr_hdr_list *l,
                      struct buf *why);

/*
 * addr_rewrite_header - header value VALUE with every address replaced by
 * what FN makes of it, written back as Postfix's cleanup writes a
 * rewritten header (golden cases in addr_test.c and rewrite_test.c):
 *   - FN gets each address in internal form (a route "@a,@b:" already
 *     dropped, comments removed) and writes the new internal form to its
 *     OUT, which the caller then sees in external (quoted) form;
 *   - when no address changed, OUT is VALUE unchanged and *CHANGED false;
 *     a value with an unterminated quote, comment, literal or angle
 *     bracket, or a stray '>', is also left as it is;
 *   - otherwise elements are joined by ", ", phrases get one space between
 *     words, "Name <addr (comments inside)>(comments after)",
 *     "addr (comment) (comment)", groups "name: a, b;", empty elements
 *     kept; a line is folded ("\n\t") before an element whose text
 *     (and its comma) would bring the line to ADDR_HDR_FOLD bytes or
 *     more, counting PREFIX_LEN bytes for the header name ("To: ") and one
 *     for the tab of a continuation line.
 * Returns 0, or -1 with WHY at the bounds of addr_parse_header.
 */
#define ADDR_HDR_FOLD 70

typedef void (*addr_rewrite_fn)(void *ctx, struct span addr, struct buf *out);

int addr_rewrite_header(struct span value, size_t prefix_len,
                        addr_rewrite_fn fn, void *ctx, struct buf *out,
                        bool *changed, struct buf *why);

#endif
