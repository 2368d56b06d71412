#!/usr/bin/python3
"""record_check - ask Postfix 3.7's smtpd (Debian's, in instances started
by /work/shared/tools/postfix-ref with the main.cf additions in
tests/data/smtpd/check_*.cf) how its restrictions answer, and write the
answers as golden cases for the restriction engine (src/smtpd/smtpd_check).

    record_check.py CONFIG PORT >> check_golden.txt

Each case is one session: banner, EHLO, "XCLIENT ADDR=... NAME=..."
(the instances authorize 127.0.0.0/8 for XCLIENT, so the client can be
any address and name), then HELO, MAIL FROM and each RCPT TO; the first
reply line to each of these is recorded.

Output: one line a step, TAB separated:
    config  case#  client_addr  client_name  step  argument  reply
"""
import socket
import sys

OUT = ("192.0.2.1", "outside.example")      # not in mynetworks
IN = ("192.0.2.200", "inside.example")      # in 192.0.2.128/25
CASES = [
    # client, helo, sender, recipients
    (OUT, "outside.example", "a@example.org",
     ["root@mx.example.test", "nosuchuser@mx.example.test", "u@remote.example",
      "postmaster@mx.example.test", "root@localhost", "root"]),
    (IN, "inside.example", "a@example.org", ["u@remote.example", "root@mx.example.test"]),
    # the classic open-relay probes from outside
    (OUT, "outside.example", "a@example.org",
     ["u%remote.example@mx.example.test", "\"u@remote.example\"@mx.example.test",
      "@mx.example.test:u@remote.example", "remote.example!u@mx.example.test",
      "u@remote.example@mx.example.test", "u@[192.0.2.9]", "u@[127.0.0.1]"]),
    # helo checks
    (OUT, "bad_helo!", "a@example.org", ["root@mx.example.test"]),
    (OUT, "nodots", "a@example.org", ["root@mx.example.test"]),
    (OUT, "evil.example", "a@example.org", ["root@mx.example.test"]),
    (OUT, "[192.0.2.1]", "a@example.org", ["root@mx.example.test"]),
    (OUT, "1.2.3.4", "a@example.org", ["root@mx.example.test"]),
    # sender checks
    (OUT, "outside.example", "spammer@example.org", ["root@mx.example.test"]),
    (OUT, "outside.example", "x@example.net", ["root@mx.example.test", "u@remote.example"]),
    (OUT, "outside.example", "friend@example.org", ["root@mx.example.test", "u@remote.example"]),
    (OUT, "outside.example", "nodomain", ["root@mx.example.test"]),
    (OUT, "outside.example", "", ["root@mx.example.test", "u@remote.example"]),
    # client checks
    (("198.51.100.7", "x.example"), "x.example", "a@example.org", ["root@mx.example.test"]),
    (("198.51.100.8", "y.example"), "y.example", "a@example.org", ["root@mx.example.test"]),
    (("198.51.100.9", "bad.example"), "y.example", "a@example.org", ["root@mx.example.test"]),
    # recipient checks
    (OUT, "outside.example", "a@example.org",
     ["blocked@mx.example.test", "held@mx.example.test", "root@mx"]),
    # classes, DEFER_IF_REJECT, restriction lists as table results,
    # configuration errors, failing tables (check_misc.cf)
    (OUT, "outside.example", "classy@example.org", ["root@mx.example.test"]),
    (OUT, "outside.example", "dir@example.org", ["root@mx.example.test", "root@localhost",
                                                 "u@remote.example"]),
    (OUT, "outside.example", "bad@example.org", ["root@mx.example.test"]),
    (OUT, "outside.example", "fail@example.org", ["root@mx.example.test"]),
    (OUT, "outside.example", "list@example.org", ["root@localhost", "u@remote.example"]),
]


def reply(f):
    """reply - the lines of one SMTP reply"""
    lines = []
    while True:
        ln = f.readline().decode("latin-1").rstrip("\r\n")
        lines.append(ln)
        if len(ln) < 4 or ln[3] != "-":
            return lines


def main():
    """main - every case, one session each"""
    config, port = sys.argv[1], int(sys.argv[2])
    for n, ((addr, name), helo, sender, rcpts) in enumerate(CASES):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        f = s.makefile("rb")

        def step(what, arg, line):
            s.sendall(line.encode() + b"\r\n")
            r = reply(f)[0]
            print("\t".join([config, str(n), addr, name, what, arg, r]))
            return r

        reply(f)
        s.sendall(b"EHLO rec.example\r\n")
        reply(f)
        s.sendall(("XCLIENT ADDR=%s NAME=%s\r\n" % (addr, name)).encode())
        reply(f)
        step("helo", helo, "HELO " + helo)
        r = step("mail", sender, "MAIL FROM:<%s>" % sender)
        if r.startswith("250"):
            for rc in rcpts:
                step("rcpt", rc, "RCPT TO:<%s>" % rc)
            step("data", "", "DATA")
        s.sendall(b"QUIT\r\n")
        s.close()


main()
