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


# The configurations added for the restrictions of issue 4's second part;
# each case: client, greeting, helo, sender, recipients.  Greeting "helo"
# sends HELO and then each command waiting for its reply; "HELO" and
# "EHLO" send the greeting alone and then MAIL, the RCPTs, DATA and a
# message in one write (pipelined: illegal after HELO, legal after EHLO);
# "HELO+" and "EHLO+" send the greeting in that same write too (pipelined
# HELO/EHLO is always illegal).  The step name of the greeting is the
# greeting word, so the replay knows whether illegal pipelining was seen.
LOCAL = ("127.0.0.1", "localhost")
NEW_CASES = {
    # allow_untrusted_routing = yes: sender-specified routing to a
    # relay_domains destination is relayed for anyone (check_routing.cf)
    "routing": [
        (OUT, "helo", "outside.example", "a@example.org",
         ["u%remote.example@relay.example", "remote.example!u@relay.example",
          "u@relay.example", "u%remote.example@mx.example.test",
          "u@remote.example"]),
    ],
    # every access action, permit/reject/defer, permit_auth_destination,
    # check_reverse_client_hostname_access and the old helo names
    # (check_actions.cf)
    "actions": [
        (OUT, "helo", "outside.example", "a@example.org",
         ["root+bcc@mx.example.test", "root+dunno@mx.example.test",
          "root+filt@mx.example.test", "root+pre@mx.example.test",
          "root+redir@mx.example.test", "root+info@mx.example.test",
          "root+warn@mx.example.test", "root+cls@mx.example.test",
          "u@remote.example"]),
        # after DISCARD, Postfix checks no further recipient
        (OUT, "helo", "outside.example", "a@example.org",
         ["root+disc@mx.example.test", "root+cls@mx.example.test",
          "u@remote.example"]),
        (IN, "helo", "inside.example", "a@example.org", ["u@remote.example"]),
        (OUT, "helo", "outside.example", "p@example.org", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "r@example.org", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "d@example.org", ["root@mx.example.test"]),
        (("192.0.2.5", "rev.example"), "helo", "rev.example", "a@example.org",
         ["root@mx.example.test"]),
        (OUT, "helo", "bad_helo!", "a@example.org", ["root@mx.example.test"]),
        (OUT, "helo", "nodots", "a@example.org", ["root@mx.example.test"]),
    ],
    "unlisted": [
        (OUT, "helo", "outside.example", "a@example.org",
         ["nosuchuser@valias.example", "known@valias.example", "x@wild.example",
          "nosuch@vmbox.example", "box@vmbox.example", "va@vmbox.example",
          "nosuch@relay.example", "r@relay.example", "va@relay.example",
          "alias@mx.example.test", "nosuchuser@mx.example.test", "u@remote.example"]),
        (IN, "helo", "inside.example", "a@example.org",
         ["nosuchuser@valias.example", "nosuch@vmbox.example", "nosuch@relay.example",
          "u@remote.example"]),
        (OUT, "helo", "outside.example", "nosuchuser@mx.example.test", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "nosuch@valias.example", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "nosuch@vmbox.example", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "nosuch@relay.example", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "known@valias.example", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "box@vmbox.example", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "alias@mx.example.test", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "",
         ["root@mx.example.test", "postmaster@mx.example.test", "nosuchuser@mx.example.test"]),
        (OUT, "helo", "outside.example", "", ["nosuchuser@mx.example.test",
                                              "root@mx.example.test", "root@mx.example.test"]),
    ],
    "unlistx": [
        (OUT, "helo", "outside.example", "a@example.org",
         ["nosuchuser@valias.example", "known@valias.example", "nosuch@vmbox.example",
          "nosuch@relay.example", "r@relay.example", "nosuchuser@mx.example.test",
          "root@mx.example.test", "u@remote.example"]),
        (IN, "helo", "inside.example", "a@example.org",
         ["nosuchuser@valias.example", "old@valias.example", "nosuch@vmbox.example",
          "nosuch@relay.example", "nosuchuser@mx.example.test", "u@remote.example"]),
        (OUT, "helo", "outside.example", "nosuchuser@mx.example.test", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "nosuch@valias.example", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "nosuch@vmbox.example", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "nosuch@relay.example", ["root@mx.example.test"]),
    ],
    "pipe": [
        (OUT, "helo", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "HELO", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "EHLO", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "EHLO+", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "EHLO", "outside.example", "", ["root@mx.example.test",
                                               "postmaster@mx.example.test"]),
        (OUT, "helo", "outside.example", "", ["root@mx.example.test",
                                               "postmaster@mx.example.test"]),
        (OUT, "EHLO", "outside.example", "", ["root@mx.example.test"]),
    ],
    "pipe2": [
        (OUT, "helo", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "HELO", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "HELO+", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "EHLO", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "EHLO+", "outside.example", "a@example.org", ["root@mx.example.test"]),
    ],
    "pipe3": [
        (OUT, "helo", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "HELO", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "EHLO", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "EHLO+", "outside.example", "a@example.org", ["root@mx.example.test"]),
    ],
    "access2": [
        (("198.51.100.77", "a.example"), "helo", "a.example", "a@example.org",
         ["root@mx.example.test"]),
        (("203.0.113.5", "a.example"), "helo", "a.example", "a@example.org",
         ["root@mx.example.test"]),
        (("203.0.7.7", "a.example"), "helo", "a.example", "a@example.org",
         ["root@mx.example.test"]),
        (("192.0.2.1", "host.sub.example.com"), "helo", "a.example", "a@example.org",
         ["root@mx.example.test"]),
        (("192.0.2.1", "example.com"), "helo", "a.example", "a@example.org",
         ["root@mx.example.test"]),
        (("192.0.2.1", "notexample.com"), "helo", "a.example", "a@example.org",
         ["root@mx.example.test"]),
        (("2001:db8:1::5", "a.example"), "helo", "a.example", "a@example.org",
         ["root@mx.example.test"]),
        (("2001:db8:1:0:0:0:0:5", "a.example"), "helo", "a.example", "a@example.org",
         ["root@mx.example.test"]),
        (("2001:db8:2::7", "a.example"), "helo", "a.example", "a@example.org",
         ["root@mx.example.test"]),
        (LOCAL, "helo", "localhost", "a@example.org", ["u@remote.example"]),
        (("127.0.0.2", "localhost"), "helo", "localhost", "a@example.org",
         ["u@remote.example"]),
    ],
    "bounce2": [
        (OUT, "helo", "outside.example", "", ["root@mx.example.test",
                                               "postmaster@mx.example.test"]),
    ],
    "eod": [
        (OUT, "helo", "outside.example", "", ["root@mx.example.test",
                                               "postmaster@mx.example.test"]),
        (OUT, "helo", "outside.example", "", ["root@mx.example.test"]),
        (OUT, "EHLO", "outside.example", "a@example.org", ["root@mx.example.test"]),
        (OUT, "helo", "outside.example", "a@example.org", ["root@mx.example.test"]),
    ],
    "ifall": [
        (LOCAL, "helo", "localhost", "a@example.org", ["u@remote.example"]),
        (("127.0.0.2", "localhost"), "helo", "localhost", "a@example.org",
         ["u@remote.example"]),
    ],
}


# Configurations whose end-of-data answer is recorded too (step "eod").
EOD_CONFIGS = {"eod"}
MESSAGE = b"Subject: t\r\n\r\nbody\r\n.\r\n"


def xclient_arg(addr):
    """xclient_arg - XCLIENT's form of an address"""
    return "IPV6:" + addr if ":" in addr else addr


def lockstep(config, n, s, f, addr, name, helo, sender, rcpts):
    """lockstep - one command at a time, each reply read before the next"""
    def step(what, arg, line):
        s.sendall(line.encode() + b"\r\n")
        r = reply(f)[0]
        print("\t".join([config, str(n), addr, name, what, arg, r]))
        return r

    step("helo", helo, "HELO " + helo)
    r = step("mail", sender, "MAIL FROM:<%s>" % sender)
    if r.startswith("250"):
        for rc in rcpts:
            step("rcpt", rc, "RCPT TO:<%s>" % rc)
        r = step("data", "", "DATA")
        if r.startswith("354") and config in EOD_CONFIGS:
            s.sendall(MESSAGE)
            print("\t".join([config, str(n), addr, name, "eod", "", reply(f)[0]]))


def pipelined(config, n, s, f, addr, name, greet, helo, sender, rcpts):
    """pipelined - the greeting, then the rest in one write"""
    steps = [(greet, helo, "%s %s" % (greet.rstrip("+"), helo)),
             ("mail", sender, "MAIL FROM:<%s>" % sender)]
    steps += [("rcpt", rc, "RCPT TO:<%s>" % rc) for rc in rcpts]
    steps.append(("data", "", "DATA"))
    first = 0
    if not greet.endswith("+"):
        s.sendall(steps[0][2].encode() + b"\r\n")
        print("\t".join([config, str(n), addr, name, greet, helo, reply(f)[0]]))
        first = 1
    s.sendall("".join(st[2] + "\r\n" for st in steps[first:]).encode()
              + MESSAGE)
    r = ""
    for what, arg, _ in steps[first:]:
        r = reply(f)[0]
        print("\t".join([config, str(n), addr, name, what, arg, r]))
    if r.startswith("354") and config in EOD_CONFIGS:
        print("\t".join([config, str(n), addr, name, "eod", "", reply(f)[0]]))


def main():
    """main - every case, one session each"""
    config, port = sys.argv[1], int(sys.argv[2])
    if config in NEW_CASES:
        cases = NEW_CASES[config]
    else:
        cases = [(c, "helo", h, snd, r) for (c, h, snd, r) in CASES]
    for n, ((addr, name), greet, helo, sender, rcpts) in enumerate(cases):
        # permit_inet_interfaces looks at the connection's own address,
        # which XCLIENT does not change: a 127.x client really connects
        # from there.
        real = addr.startswith("127.")
        s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                     source_address=(addr, 0) if real else None)
        f = s.makefile("rb")
        reply(f)
        if not real:
            s.sendall(b"EHLO rec.example\r\n")
            reply(f)
            s.sendall(("XCLIENT ADDR=%s NAME=%s\r\n"
                       % (xclient_arg(addr), name)).encode())
            reply(f)
        if greet == "helo":
            lockstep(config, n, s, f, addr, name, helo, sender, rcpts)
        else:
            pipelined(config, n, s, f, addr, name, greet, helo, sender, rcpts)
        s.sendall(b"QUIT\r\n")
        s.close()


main()
