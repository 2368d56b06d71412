#!/usr/bin/python3
"""smtpd_replay - replay the golden SMTP sessions of tests/data/smtpd over
SMTP against a server, and say where its answers differ from Postfix 3.7's.

The golden files are Postfix 3.7's answers, recorded by
tests/data/smtpd/record_check.py (check_golden.txt: restrictions, one
config a check_CONFIG.cf) and tests/data/smtpd/record_cmd.py
(cmd_golden.txt: command syntax, modes "lax" and "strict") against Debian
Postfix instances made by /work/shared/tools/postfix-ref.  This module
sends the same bytes in the same order as those scripts did:

  check sessions: banner; "EHLO rec.example"; "XCLIENT ADDR=a NAME=n"
      (a client 127.x connects from that address instead, without
      XCLIENT); then the recorded steps.  Greeting step "helo": "HELO h",
      "MAIL FROM:<s>", and, when the server answers MAIL with 250 (as the
      recorder decided), each "RCPT TO:<r>", "DATA" and, in the
      configurations with an "eod" step, a message and its final dot.
      Greeting "HELO"/"EHLO": that greeting, then MAIL, the RCPTs, DATA
      and the message in one write; "HELO+"/"EHLO+": all in one write.
      Then "QUIT".
  cmd cases: banner; the prelude (none | EHLO client.example | + MAIL
      FROM:<s@example.org> | + RCPT TO:<root@mx.example.test>); the line
      under test; "QUIT".
The first line of the answer to each recorded step is compared (a queue
id in "queued as ID" is not).

API (what tests/e2e/test_smtpd_golden.py uses):
  CHECK_CONFIGS, CMD_MODES       the configurations of the golden files:
                                 check_golden.txt's (default, strict, ...)
                                 and cmd_golden.txt's modes as cmd_lax and
                                 cmd_strict
  main_cf(config)                the main.cf lines postfix-ref's instance
                                 had for CONFIG, beyond its base main.cf
                                 (check_CONFIG.cf; "strict_rfc821_envelopes
                                 = yes" for cmd_strict)
  BASE_MAIN_CF                   postfix-ref's main.cf settings that decide
                                 smtpd's answers (myhostname, mynetworks...)
  replay(host, port, config, overrides=None)
                                 -> [Mismatch(case, step, argument, want,
                                    got)], empty when every answer matches;
                                 CONFIG is a check config or a cmd mode.
                                 OVERRIDES maps (step, argument) to the
                                 answer wanted instead of Postfix's (where
                                 ulak is deliberately stricter).
  A step not taken (the session ended early, or MAIL got no 250) has got
  None; a step taken that Postfix did not answer (RCPT after a MAIL that
  Postfix refused) has want None.  A closed connection answers "".

Verifying the module against Postfix itself (needs root, Debian's postfix
packages - scripts/deps.sh installs them - and /work/shared/tools/postfix-ref):

    python3 tests/e2e/smtpd_replay.py --postfix-ref [FIRST_PORT]

starts one postfix-ref instance per configuration under /tmp/smtpd-replay
(ports FIRST_PORT.., default 24860), replays every golden session, stops
the instances and prints the mismatches; it exits 0 when there are none.
Against any running server:

    python3 tests/e2e/smtpd_replay.py HOST PORT CONFIG
"""
import collections
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "smtpd"
CHECK_GOLDEN = DATA / "check_golden.txt"
CMD_GOLDEN = DATA / "cmd_golden.txt"
POSTFIX_REF = "/work/shared/tools/postfix-ref"
TIMEOUT = 10

CHECK_CONFIGS = sorted(p.stem[len("check_"):] for p in DATA.glob("check_*.cf"))
# The command cases' two instances (cmd_golden.txt's modes lax and strict);
# "cmd_" keeps them apart from the check configs ("strict" is one too).
CMD_MODES = ["cmd_lax", "cmd_strict"]

# What postfix-ref's main.cf sets that smtpd's answers depend on.
BASE_MAIN_CF = (
    "compatibility_level = 3.6\n"
    "myhostname = mx.example.test\n"
    "mydomain = example.test\n"
    "inet_interfaces = 127.0.0.1\n"
    "inet_protocols = ipv4\n"
    "mynetworks = 127.0.0.0/8\n"
    "smtp_dns_support_level = disabled\n"
    "alias_maps =\n"
    "alias_database =\n")

Mismatch = collections.namedtuple("Mismatch",
                                  "case step argument want got")


def main_cf(config):
    """main.cf lines that CONFIG adds to postfix-ref's base main.cf"""
    if config == "cmd_lax":
        return ""
    if config == "cmd_strict":
        return "strict_rfc821_envelopes = yes\n"
    return (DATA / f"check_{config}.cf").read_text()


def _unesc(s):
    """record_cmd's %XX escapes undone, as bytes"""
    return re.sub(rb"%([0-9A-Fa-f]{2})",
                  lambda m: bytes([int(m.group(1), 16)]),
                  s.encode("latin-1"))


def check_sessions(config):
    """[(case, addr, name, [(step, argument, want)])] of CONFIG"""
    sessions = {}
    with open(CHECK_GOLDEN, encoding="latin-1") as f:
        for line in f:
            c, case, addr, name, step, arg, want = \
                line.rstrip("\n").split("\t", 6)
            if c != config:
                continue
            s = sessions.setdefault(case, (case, addr, name, []))
            s[3].append((step, arg, want))
    return list(sessions.values())


def cmd_cases(mode):
    """[(prelude, line bytes, escaped line, want)] of MODE (cmd_lax or
    cmd_strict)"""
    mode = mode[len("cmd_"):]
    out = []
    with open(CMD_GOLDEN, encoding="latin-1") as f:
        for line in f:
            m, prelude, esc, want = line.rstrip("\n").split("\t", 3)
            if m == mode:
                out.append((prelude, _unesc(esc), esc, want))
    return out


class _Session:
    """one SMTP connection, read a reply at a time"""

    def __init__(self, host, port, source=None):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT,
                                             source_address=source)
        self.f = self.sock.makefile("rb")

    def reply(self):
        """the lines of one reply; [""] when the server closed"""
        lines = []
        while True:
            try:
                ln = self.f.readline()
            except OSError:
                ln = b""
            if not ln:
                return lines or [""]
            ln = ln.decode("latin-1").rstrip("\r\n")
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return lines

    def send(self, data):
        """DATA and CRLF; False when the connection is gone"""
        try:
            self.sock.sendall(data + b"\r\n")
            return True
        except OSError:
            return False

    def ask(self, data):
        """the first line of the answer to DATA"""
        if not self.send(data):
            return ""
        return self.reply()[0]

    def close(self):
        self.send(b"QUIT")
        try:
            self.sock.close()
        except OSError:
            pass


_QUEUE_ID = re.compile(r"(queued as )[0-9A-Za-z]+")


def _same(want, got):
    """WANT and GOT agree, queue ids apart ("250 2.0.0 Ok: queued as ID")"""
    if want is None or got is None:
        return want is got
    return _QUEUE_ID.sub(r"\1ID", want) == _QUEUE_ID.sub(r"\1ID", got)


def _want(overrides, step, arg, want):
    return overrides.get((step, arg), want) if overrides else want


MESSAGE = b"Subject: t\r\n\r\nbody\r\n.\r\n"
GREETINGS = ("helo", "HELO", "EHLO", "HELO+", "EHLO+")


def _keyed(steps):
    """[(step, argument, n)]: N counts the earlier steps with the same
    step and argument (a session may name a recipient twice)"""
    seen = collections.Counter()
    out = []
    for st, a in steps:
        out.append((st, a, seen[(st, a)]))
        seen[(st, a)] += 1
    return out


def _xclient_arg(addr):
    return "IPV6:" + addr if ":" in addr else addr


def _check_session(host, port, addr, name, steps, eod):
    """one check session as record_check.py ran it; [(step, arg, got)]"""
    greet, helo = steps[0][0], steps[0][1]
    sender = next((a for st, a, _ in steps if st == "mail"), "")
    rcpts = [a for st, a, _ in steps if st == "rcpt"]
    got = []
    # A 127.x client really connects from there (permit_inet_interfaces
    # sees the connection's address, which XCLIENT does not change).
    real = addr.startswith("127.")
    s = _Session(host, port, (addr, 0) if real else None)
    try:
        s.reply()
        if not real:
            s.ask(b"EHLO rec.example")
            s.ask(f"XCLIENT ADDR={_xclient_arg(addr)} NAME={name}".encode())
        if greet == "helo":
            got.append(("helo", helo, s.ask(f"HELO {helo}".encode("latin-1"))))
            r = s.ask(f"MAIL FROM:<{sender}>".encode("latin-1"))
            got.append(("mail", sender, r))
            if r.startswith("250"):
                for rc in rcpts:
                    got.append(("rcpt", rc,
                                s.ask(f"RCPT TO:<{rc}>".encode("latin-1"))))
                r = s.ask(b"DATA")
                got.append(("data", "", r))
                if r.startswith("354") and eod:
                    s.send(MESSAGE[:-2])
                    got.append(("eod", "", s.reply()[0]))
            return got
        todo = [(greet, helo, f"{greet.rstrip('+')} {helo}"),
                ("mail", sender, f"MAIL FROM:<{sender}>")]
        todo += [("rcpt", rc, f"RCPT TO:<{rc}>") for rc in rcpts]
        todo.append(("data", "", "DATA"))
        if not greet.endswith("+"):
            got.append((greet, helo, s.ask(todo[0][2].encode("latin-1"))))
            todo = todo[1:]
        s.send("".join(t[2] + "\r\n" for t in todo).encode("latin-1")
               + MESSAGE[:-2])
        r = ""
        for st, a, _ in todo:
            r = s.reply()[0]
            got.append((st, a, r))
        if r.startswith("354") and eod:
            got.append(("eod", "", s.reply()[0]))
        return got
    finally:
        s.close()


def replay_check(host, port, config, overrides=None):
    """the mismatches of CONFIG's restriction sessions"""
    out = []
    sessions = check_sessions(config)
    # record_check.py sends the message (step "eod") for these only.
    eod = any(st == "eod" for _, _, _, steps in sessions for st, _, _ in steps)
    for case, addr, name, steps in sessions:
        got_steps = _check_session(host, port, addr, name, steps, eod)
        wanted = dict(zip(_keyed([(st, a) for st, a, _ in steps]),
                          [w for _, _, w in steps]))
        got = dict(zip(_keyed([(st, a) for st, a, _ in got_steps]),
                       [g for _, _, g in got_steps]))
        for key in list(wanted) + [k for k in got if k not in wanted]:
            w = _want(overrides, key[0], key[1], wanted.get(key))
            g = got.get(key)
            if not _same(w, g):
                out.append(Mismatch(int(case), key[0], key[1], w, g))
    return out


PRELUDES = {
    "none": [],
    "ehlo": [b"EHLO client.example"],
    "mail": [b"EHLO client.example", b"MAIL FROM:<s@example.org>"],
    "rcpt": [b"EHLO client.example", b"MAIL FROM:<s@example.org>",
             b"RCPT TO:<root@mx.example.test>"],
}


def replay_cmd(host, port, mode, overrides=None):
    """the mismatches of MODE's command cases (case: the line number in
    MODE's part of cmd_golden.txt, from 0; argument: the escaped line)"""
    out = []
    for n, (prelude, line, esc, want) in enumerate(cmd_cases(mode)):
        s = _Session(host, port)
        try:
            s.reply()
            for p in PRELUDES[prelude]:
                s.ask(p)
            got = s.ask(line)
        finally:
            s.close()
        want = _want(overrides, prelude, esc, want)
        if not _same(want, got):
            out.append(Mismatch(n, prelude, esc, want, got))
    return out


def replay(host, port, config, overrides=None):
    """the mismatches of CONFIG (a check config or a cmd mode)"""
    if config in CMD_MODES:
        return replay_cmd(host, port, config, overrides)
    if config not in CHECK_CONFIGS:
        raise ValueError(f"unknown golden configuration {config!r}")
    return replay_check(host, port, config, overrides)


def _wait_port(port, timeout=20):
    """PORT answers with a 220 banner within TIMEOUT seconds"""
    end = time.time() + timeout
    while time.time() < end:
        try:
            s = _Session("127.0.0.1", port)
            banner = s.reply()[0]
            s.close()
            if banner.startswith("220"):
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _ref(*args, timeout=120):
    """postfix-ref ARGS in a process group of its own; a hang (Postfix's
    own tools block for good when a killed earlier run left a postlogd
    that no longer reads its socket) is an error, not a stuck test"""
    p = subprocess.Popen([POSTFIX_REF, *map(str, args)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise RuntimeError(f"postfix-ref {' '.join(map(str, args))}: no "
                           f"answer in {timeout} s (stale Postfix processes "
                           "of an earlier, killed run?)")
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def verify_postfix_config(config, port, root="/tmp/smtpd-replay"):
    """start a postfix-ref instance for CONFIG on PORT (its folder
    ROOT/CONFIG), replay CONFIG's sessions, stop it; the mismatches"""
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    d, cf = root / config, root / f"{config}.cf"
    cf.write_text(main_cf(config))
    _ref("stop", d)
    r = _ref("start", d, port, cf)
    try:
        if r.returncode != 0 or not _wait_port(port):
            raise RuntimeError(f"postfix-ref {config}: {r.stdout}{r.stderr}")
        return replay("127.0.0.1", port, config)
    finally:
        _ref("stop", d)


def verify_postfix(first_port=24860, root="/tmp/smtpd-replay"):
    """replay every configuration against postfix-ref instances, one at a
    time (postfix-ref edits /etc/postfix/main.cf); the mismatches as
    {config: [Mismatch]} (only non-empty lists)"""
    bad = {}
    for i, config in enumerate(CMD_MODES + CHECK_CONFIGS):
        m = verify_postfix_config(config, first_port + i, root)
        if m:
            bad[config] = m
    return bad


def _main(argv):
    if len(argv) >= 1 and argv[0] == "--postfix-ref":
        bad = verify_postfix(int(argv[1]) if len(argv) > 1 else 24860)
        for config, ms in bad.items():
            for m in ms:
                print(config, *m, sep="\t")
        print("postfix-ref: %d configurations, %d mismatches" % (
            len(CMD_MODES + CHECK_CONFIGS), sum(map(len, bad.values()))))
        return 1 if bad else 0
    if len(argv) != 3:
        print("usage: smtpd_replay.py HOST PORT CONFIG | --postfix-ref "
              "[FIRST_PORT]\nCONFIG: " + " ".join(CMD_MODES + CHECK_CONFIGS),
              file=sys.stderr)
        return 2
    ms = replay(argv[0], int(argv[1]), argv[2])
    for m in ms:
        print(*m, sep="\t")
    print(f"{argv[2]}: {len(ms)} mismatches")
    return 1 if ms else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
