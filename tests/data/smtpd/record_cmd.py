#!/usr/bin/python3
"""record_cmd - ask a Postfix 3.7 smtpd (Debian's, started by
/work/shared/tools/postfix-ref) how it answers SMTP command lines, and
write the answers as golden cases for src/smtpd/smtpd_cmd_test.c.

    record_cmd.py PORT_LAX PORT_STRICT > cmd_golden.txt

PORT_LAX runs the postfix-ref defaults; PORT_STRICT adds
"strict_rfc821_envelopes = yes".  Each case is one fresh session: the
banner, a prelude (none / EHLO / EHLO + MAIL FROM), then the line under
test; the first reply line to it is recorded.

Output: one case a line, fields separated by TAB:
    mode(lax|strict)  prelude(none|ehlo|mail|rcpt)  line  reply
where LINE has bytes < 0x20, 0x7f-0xff and '%' written as %XX.
"""
import socket
import sys

CASES = [
    # verbs and bare syntax
    ("ehlo", "FOO"), ("ehlo", "foo bar"), ("ehlo", ""), ("ehlo", " "),
    ("ehlo", "NOOP"), ("ehlo", "noop"), ("ehlo", "NOOP x"), ("ehlo", "RSET"),
    ("ehlo", "RSET x"), ("ehlo", "QUIT x"), ("ehlo", "HELP"), ("ehlo", "VRFY"),
    ("ehlo", "VRFY root"), ("ehlo", "ETRN"), ("ehlo", "ETRN a b"),
    ("ehlo", "DATA x"), ("ehlo", "HELO"), ("ehlo", "EHLO"),
    ("ehlo", "HELO a b"), ("ehlo", "EHLO a b"), ("none", "HELO client.example"),
    ("ehlo", "STARTTLS"), ("ehlo", "AUTH PLAIN"), ("ehlo", "XCLIENT NAME=x"),
    ("ehlo", "XFORWARD NAME=x"), ("ehlo", "BDAT"), ("ehlo", "BDAT x"),
    ("mail", "BDAT 10 FOO"), ("ehlo", "TURN"), ("ehlo", "MAIL"),
    ("ehlo", "MAIL FROM"), ("ehlo", "MAIL FROM:"), ("ehlo", "MAIL TO:<a@b.example>"),
    ("ehlo", "MAIL FROM<a@b.example>"),
    # MAIL FROM paths
    ("ehlo", "MAIL FROM:<>"), ("ehlo", "MAIL FROM:<a@b.example>"),
    ("ehlo", "mail from:<a@b.example>"), ("ehlo", "MAIL FROM: <a@b.example>"),
    ("ehlo", "MAIL FROM:a@b.example"), ("ehlo", "MAIL FROM: a@b.example"),
    ("ehlo", "MAIL FROM:<a@b.example"), ("ehlo", "MAIL FROM:<a@@b.example>"),
    ("ehlo", "MAIL FROM:<a@b..example>"), ("ehlo", "MAIL FROM:<a@-b.example>"),
    ("ehlo", "MAIL FROM:<a b@b.example>"), ("ehlo", "MAIL FROM:<\"a b\"@b.example>"),
    ("ehlo", "MAIL FROM:<@r.example:a@b.example>"), ("ehlo", "MAIL FROM:<user>"),
    ("ehlo", "MAIL FROM:<a@[127.0.0.1]>"), ("ehlo", "MAIL FROM:<a@[300.0.0.1]>"),
    ("ehlo", "MAIL FROM:<a@b.example> x"),
    # ESMTP parameters on MAIL
    ("ehlo", "MAIL FROM:<a@b.example> SIZE=100"), ("ehlo", "MAIL FROM:<a@b.example> SIZE=abc"),
    ("ehlo", "MAIL FROM:<a@b.example> SIZE="), ("ehlo", "MAIL FROM:<a@b.example> SIZE"),
    ("ehlo", "MAIL FROM:<a@b.example> SIZE=99999999999999999999"),
    ("ehlo", "MAIL FROM:<a@b.example> SIZE=20480001"),
    ("ehlo", "MAIL FROM:<a@b.example> BODY=8BITMIME"), ("ehlo", "MAIL FROM:<a@b.example> BODY=7bit"),
    ("ehlo", "MAIL FROM:<a@b.example> BODY=BINARYMIME"), ("ehlo", "MAIL FROM:<a@b.example> BODY"),
    ("ehlo", "MAIL FROM:<a@b.example> SMTPUTF8"), ("ehlo", "MAIL FROM:<a@b.example> SMTPUTF8=x"),
    ("ehlo", "MAIL FROM:<a@b.example> RET=FULL"), ("ehlo", "MAIL FROM:<a@b.example> RET=hdrs"),
    ("ehlo", "MAIL FROM:<a@b.example> RET=FOO"), ("ehlo", "MAIL FROM:<a@b.example> RET=FULL RET=HDRS"),
    ("ehlo", "MAIL FROM:<a@b.example> ENVID=abc+2B"), ("ehlo", "MAIL FROM:<a@b.example> ENVID=a+zz"),
    ("ehlo", "MAIL FROM:<a@b.example> ENVID=x ENVID=y"),
    ("ehlo", "MAIL FROM:<a@b.example> AUTH=<>"), ("ehlo", "MAIL FROM:<a@b.example> AUTH=a+40b"),
    ("ehlo", "MAIL FROM:<a@b.example> FOO"), ("ehlo", "MAIL FROM:<a@b.example> FOO=BAR"),
    ("ehlo", "MAIL FROM:<a@b.example> NOTIFY=NEVER"), ("ehlo", "MAIL FROM:<a@b.example> ORCPT=rfc822;a@b"),
    ("ehlo", "MAIL FROM:<a@b.example> size=10 body=8bitmime"),
    ("ehlo", "MAIL FROM:<a@b.example>  SIZE=10"),
    ("ehlo", "MAIL FROM:<\xc3\xa9@b.example>"), ("ehlo", "MAIL FROM:<\xc3\xa9@b.example> SMTPUTF8"),
    ("ehlo", "MAIL FROM:<a\x01@b.example>"),
    # RCPT
    ("ehlo", "RCPT TO:<root@mx.example.test>"), ("mail", "RCPT"), ("mail", "RCPT TO"),
    ("mail", "RCPT TO:"), ("mail", "RCPT FROM:<root@mx.example.test>"),
    ("mail", "RCPT TO:<root@mx.example.test>"), ("mail", "RCPT TO: <root@mx.example.test>"),
    ("mail", "RCPT TO:root@mx.example.test"), ("mail", "RCPT TO:<>"),
    ("mail", "RCPT TO:<root@mx.example.test"), ("mail", "RCPT TO:<a@@b.example>"),
    ("mail", "RCPT TO:<root@mx.example.test> NOTIFY=SUCCESS,FAILURE"),
    ("mail", "RCPT TO:<root@mx.example.test> NOTIFY=NEVER,SUCCESS"),
    ("mail", "RCPT TO:<root@mx.example.test> NOTIFY=FOO"),
    ("mail", "RCPT TO:<root@mx.example.test> NOTIFY=SUCCESS NOTIFY=FAILURE"),
    ("mail", "RCPT TO:<root@mx.example.test> ORCPT=rfc822;root+40mx.example.test"),
    ("mail", "RCPT TO:<root@mx.example.test> ORCPT=rfc822"),
    ("mail", "RCPT TO:<root@mx.example.test> ORCPT=rfc822;a+zz"),
    ("mail", "RCPT TO:<root@mx.example.test> ORCPT=x;a ORCPT=x;b"),
    ("mail", "RCPT TO:<root@mx.example.test> SIZE=10"),
    ("mail", "RCPT TO:<root@mx.example.test> FOO"),
    ("mail", "RCPT TO:<postmaster>"), ("mail", "RCPT TO:<a b@mx.example.test>"),
    ("mail", "BDAT 0"), ("mail", "BDAT 0 LAST"), ("mail", "BDAT 0 last"), ("mail", "BDAT -1"),
    ("mail", "BDAT 99999999999999999999"), ("mail", "BDAT 1 LAST x"),
    ("mail", "DATA"), ("ehlo", "DATA"), ("mail", "MAIL FROM:<a@b.example>"),
    ("ehlo", "A" * 3000), ("ehlo", "MAIL FROM:<" + "a" * 2100 + "@b.example>"),
    ("ehlo", "NOOP\x00x"), ("ehlo", "\x80\x81"),
    ("rcpt", "DATA x"), ("rcpt", "BDAT 10 FOO"), ("rcpt", "BDAT 0"), ("rcpt", "BDAT x"),
    ("ehlo", "MAIL FROM:<a@b.example> AUTH=a+zz"), ("ehlo", "MAIL FROM:<a@b.example> AUTH"),
    ("ehlo", "MAIL FROM:<a@b.example> SIZE=1 SIZE=2"),
    ("ehlo", "MAIL FROM:<a@b.example> BODY=7BIT BODY=8BITMIME"),
    ("ehlo", "MAIL FROM:<a@b.example> SMTPUTF8 SMTPUTF8"),
    ("ehlo", "MAIL FROM:<a@b.example> ENVID="), ("ehlo", "MAIL FROM:<a@b.example> RET="),
    ("ehlo", "MAIL FROM:<a@b.example> FOO SIZE=x"), ("ehlo", "MAIL FROM:<a@b.example> SIZE=x FOO"),
    ("ehlo", "MAIL FROM:<a@b.example>x"), ("ehlo", "MAIL  FROM:<a@b.example>"),
    ("ehlo", "MAIL FROM:<a@b.example> "), ("ehlo", "MAIL FROM :<a@b.example>"),
    ("ehlo", "MAIL FROM:<a@b.example> SIZE=+5"), ("ehlo", "MAIL FROM:<a@b.example> SIZE=0"),
    ("ehlo", "VRFY a b"), ("ehlo", "ETRN example.org"), ("ehlo", "QUIT"),
    ("ehlo", "HELO\tx"), ("ehlo", "NOOP\tx"), ("ehlo", "RSET "), ("ehlo", "XYZZY"),
    ("mail", "RCPT TO:<root@mx.example.test> NOTIFY="), ("mail", "RCPT TO:<root@mx.example.test> ORCPT="),
    ("mail", "RCPT TO:<root@mx.example.test> NOTIFY=never"),
    ("mail", "RCPT TO:<root@mx.example.test> BODY=8BITMIME"),
    ("mail", "RCPT TO:<root@mx.example.test> SMTPUTF8"),
    # every isspace() byte separates words (found by fuzz_smtpd_mail_rcpt)
    ("ehlo", "MAIL FROM:<a@b.example> FOO\rBAR"), ("ehlo", "MAIL FROM:<a@b.example> FOO\x0bBAR"),
    ("ehlo", "MAIL FROM:<a@b.example> FOO\x01BAR"), ("ehlo", "MAIL FROM:<a@b.example>\rSIZE=1"),
    ("ehlo", "MAIL FROM:\r<a@b.example>"), ("ehlo", "MAIL FROM:\x0ba@b.example"),
    ("ehlo", "MAIL FROM:a@b.example\rSIZE=1"), ("ehlo", "MAIL\x0cFROM:<>"),
    ("ehlo", "MAIL FROM:<a@b.example> SIZE=\rx"),
    ("mail", "RCPT TO:<root@mx.example.test>\x0cNOTIFY=NEVER"),
    ("mail", "RCPT\x0bTO:\x0b<root@mx.example.test>"),
    ("mail", "RCPT TO:<root@mx.example.test> NOTIFY=NEVER\x0cFOO"),
    ("ehlo", "VRFY\x0broot\x0cSMTPUTF8"), ("ehlo", "ETRN\x0bexample.org\x0bx"),
    ("ehlo", "\x0bNOOP"), ("ehlo", "\rNOOP"), ("ehlo", "\x0b"), ("ehlo", "RSET\r"),
    ("ehlo", "RSET\rx"), ("ehlo", "HELO\x0b"), ("mail", "BDAT\x0b0"),
]


def esc(s):
    """esc - %XX for control bytes, 8-bit bytes and '%'"""
    return "".join(c if 0x20 <= ord(c) < 0x7f and c != "%" else "%%%02X" % ord(c)
                   for c in s)


def reply(f):
    """reply - the lines of one SMTP reply"""
    lines = []
    while True:
        ln = f.readline().decode("latin-1").rstrip("\r\n")
        lines.append(ln)
        if len(ln) < 4 or ln[3] != "-":
            return lines


def ask(port, prelude, line):
    """ask - the first reply line to LINE after PRELUDE in a new session"""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    reply(f)
    pre = {"none": [], "ehlo": ["EHLO client.example"],
           "mail": ["EHLO client.example", "MAIL FROM:<s@example.org>"],
           "rcpt": ["EHLO client.example", "MAIL FROM:<s@example.org>",
                    "RCPT TO:<root@mx.example.test>"]}[prelude]
    for p in pre:
        s.sendall(p.encode() + b"\r\n")
        reply(f)
    s.sendall(line.encode("latin-1") + b"\r\n")
    r = reply(f)
    s.sendall(b"QUIT\r\n")
    s.close()
    return r[0]


def main():
    """main - every case in both modes"""
    for mode, port in (("lax", int(sys.argv[1])), ("strict", int(sys.argv[2]))):
        for prelude, line in CASES:
            print("%s\t%s\t%s\t%s" % (mode, prelude, esc(line), ask(port, prelude, line)))


main()
