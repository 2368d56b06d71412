#!/usr/bin/python3
"""record_anvil - ask Postfix 3.7's smtpd and anvil (Debian's, in
throw-away instances made by /work/shared/tools/postfix-ref) what each
client limit of anvil(8) answers over SMTP and what it logs, and write it
as the golden file for ulak's smtpd and anvil.

    record_anvil.py [WORKDIR] > anvil_golden.txt      (as root)

Each configuration below is one instance (its main.cf additions are in
CONFIGS) on its own port; the client is 127.0.0.1 and
smtpd_client_event_limit_exceptions is empty, so the limits apply to it
(except in "exempt", which keeps Postfix's default, $mynetworks).  The
instances run with TZ=UTC-24 (a day ahead), so that the day of the month
in anvil's "at MON DAY HH:MM:SS" shows how a one-digit day is written
around the end of a month.

Output, TAB separated, one line each:

    conf  NAME  MAIN.CF-SETTINGS
    step  NAME  CASE  SESSION  COMMAND  REPLY
    log   NAME  PROGRAM  TEXT

A step is one command of one session (SESSION numbers the connections of
a case; COMMAND "connect" is the banner, "close?" says whether the server
closed the connection after the reply before: REPLY "closed" or "open").
REPLY is the whole reply, lines joined by "\\n".  Queue IDs are written
QUEUEID, and the clock time of anvil's "at MON DAY HH:MM:SS" HH:MM:SS.  A log line is the
instance's maillog without the date, host and pid (PROGRAM is
postfix-ref/smtpd, postfix-ref/anvil), lines of smtpd and anvil only
(without smtpd's "Anonymous TLS connection established" lines); the
smtpd service name
127.0.0.1:PORT is written 127.0.0.1:PORT literally (ulak's smtpd writes
its own master.cf service name there, "smtp" in a stock master.cf).
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import time

REF = "/work/shared/tools/postfix-ref"
BASE_PORT = 24790
# Each configuration: name, main.cf additions, the case function.
TLS = ("smtpd_tls_cert_file = {dir}/combo.pem\n"
       "smtpd_tls_key_file = $smtpd_tls_cert_file\n"
       "smtpd_tls_security_level = may\n")
COMMON = "anvil_status_update_time = 5s\n"
LIMITED = "smtpd_client_event_limit_exceptions =\n"


class Sess:
    """Sess - one SMTP session that records its steps"""

    def __init__(self, rec, case, num, port):
        self.rec, self.case, self.num = rec, case, num
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.sock.makefile("rb")
        self.step("connect", self.reply())

    def reply(self):
        """reply - the lines of one reply, or "closed" at end of file"""
        lines = []
        while True:
            ln = self.f.readline().decode("latin-1")
            if ln == "":
                return "\\n".join(lines) if lines else "closed"
            ln = ln.rstrip("\r\n")
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return "\\n".join(lines)

    def step(self, cmd, rep):
        """step - write one step line"""
        self.rec.append("step\t%s\t%s\t%d\t%s\t%s" % (
            self.rec.name, self.case, self.num, cmd, rep))

    def cmd(self, line):
        """cmd - send LINE, record its reply"""
        try:
            self.sock.sendall(line.encode() + b"\r\n")
            rep = self.reply()
        except OSError:
            rep = "closed"
        self.step(line, rep)
        return rep

    def closed(self):
        """closed - record whether the server closed the connection"""
        self.sock.settimeout(2)
        try:
            data = self.sock.recv(1, socket.MSG_PEEK)
            state = "closed" if data == b"" else "open"
        except socket.timeout:
            state = "open"
        except OSError:
            state = "closed"
        self.sock.settimeout(10)
        self.step("close?", state)

    def starttls(self):
        """starttls - STARTTLS and a handshake without session reuse"""
        rep = self.cmd("STARTTLS")
        if rep.startswith("220"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            try:
                self.sock = ctx.wrap_socket(self.sock)
                self.f = self.sock.makefile("rb")
                self.step("tls-handshake", "ok")
            except OSError:
                self.step("tls-handshake", "failed")
                return "failed"
        return rep

    def close(self):
        """close - drop the connection"""
        try:
            self.sock.close()
        except OSError:
            pass


class Rec(list):
    """Rec - the output lines of one configuration"""

    def __init__(self, name):
        super().__init__()
        self.name = name


def case_count(rec, port):
    """count limit 2: two sessions held, a third, then one of the two
    quits and another comes in"""
    a = Sess(rec, "concurrent", 1, port)
    a.cmd("EHLO client.example")
    b = Sess(rec, "concurrent", 2, port)
    b.cmd("EHLO client.example")
    c = Sess(rec, "concurrent", 3, port)
    c.closed()
    c.close()
    a.cmd("QUIT")
    a.close()
    time.sleep(0.5)
    d = Sess(rec, "concurrent", 4, port)
    d.cmd("EHLO client.example")
    d.cmd("QUIT")
    b.cmd("QUIT")


def case_crate(rec, port):
    """connection rate limit 3: four connections one after another"""
    for n in range(1, 5):
        s = Sess(rec, "rate", n, port)
        if s.cmd("EHLO client.example").startswith("250"):
            s.cmd("QUIT")
        else:
            s.closed()
        s.close()


def case_mrate(rec, port):
    """message rate limit 2: MAIL three times in one session, then a
    second session"""
    s = Sess(rec, "mail", 1, port)
    s.cmd("EHLO client.example")
    for _ in range(3):
        s.cmd("MAIL FROM:<a@example.org>")
        s.cmd("RSET")
    s.cmd("NOOP")
    s.cmd("QUIT")
    s = Sess(rec, "mail", 2, port)
    s.cmd("EHLO client.example")
    s.cmd("MAIL FROM:<a@example.org>")
    s.cmd("QUIT")


def case_rrate(rec, port):
    """recipient rate limit 3: four RCPTs, then DATA"""
    s = Sess(rec, "rcpt", 1, port)
    s.cmd("EHLO client.example")
    s.cmd("MAIL FROM:<a@example.org>")
    for _ in range(4):
        s.cmd("RCPT TO:<root@mx.example.test>")
    s.cmd("DATA")
    s.cmd(".")
    s.cmd("RSET")
    s.cmd("MAIL FROM:<a@example.org>")
    s.cmd("RCPT TO:<root@mx.example.test>")
    s.cmd("QUIT")


def case_newtls(rec, port):
    """new TLS session rate limit 1: STARTTLS in two sessions"""
    for n in (1, 2):
        s = Sess(rec, "newtls", n, port)
        s.cmd("EHLO client.example")
        s.starttls()
        s.cmd("EHLO client.example")
        s.cmd("QUIT")
        s.close()


def case_auth(rec, port):
    """AUTH rate limit 1: two AUTH commands (they fail: no such user)"""
    s = Sess(rec, "auth", 1, port)
    s.cmd("EHLO client.example")
    s.cmd("AUTH PLAIN AHVzZXIAcGFzcw==")
    s.cmd("AUTH PLAIN AHVzZXIAcGFzcw==")
    s.cmd("NOOP")
    s.cmd("QUIT")


def case_exempt(rec, port):
    """every limit 1, default exceptions ($mynetworks has 127.0.0.0/8):
    nothing is limited"""
    a = Sess(rec, "exempt", 1, port)
    a.cmd("EHLO client.example")
    b = Sess(rec, "exempt", 2, port)
    b.cmd("EHLO client.example")
    for _ in range(2):
        b.cmd("MAIL FROM:<a@example.org>")
        b.cmd("RCPT TO:<root@mx.example.test>")
        b.cmd("RCPT TO:<root@mx.example.test>")
        b.cmd("RSET")
    b.cmd("QUIT")
    a.cmd("QUIT")


CONFIGS = [
    ("count", LIMITED + "smtpd_client_connection_count_limit = 2\n", case_count),
    ("crate", LIMITED + "smtpd_client_connection_rate_limit = 3\n", case_crate),
    ("mrate", LIMITED + "smtpd_client_message_rate_limit = 2\n", case_mrate),
    ("rrate", LIMITED + "smtpd_client_recipient_rate_limit = 3\n", case_rrate),
    ("newtls", LIMITED + "smtpd_client_new_tls_session_rate_limit = 1\n" + TLS,
     case_newtls),
    ("auth", LIMITED + "smtpd_client_auth_rate_limit = 1\nsmtpd_sasl_auth_enable = yes\n",
     case_auth),
    ("exempt", "smtpd_client_connection_count_limit = 1\n"
     "smtpd_client_connection_rate_limit = 1\n"
     "smtpd_client_message_rate_limit = 1\n"
     "smtpd_client_recipient_rate_limit = 1\n", case_exempt),
]

LOG_RE = re.compile(r"^\S+\s+\S+\s+\S+\s+\S+\s+(\S+?)\[\d+\]: (.*)$")


def logs(rec, path, port):
    """logs - the smtpd and anvil lines of the maillog"""
    with open(path, encoding="latin-1") as f:
        for ln in f:
            m = LOG_RE.match(ln.rstrip("\n"))
            if not m:
                continue
            prog, text = m.group(1), m.group(2)
            if not prog.endswith(("/smtpd", "/anvil")):
                continue
            if text.startswith("Anonymous TLS"):
                continue
            text = text.replace("127.0.0.1:%d" % port, "127.0.0.1:PORT")
            rec.append("log\t%s\t%s\t%s" % (rec.name, prog, text))


def normalize(line):
    """normalize - queue IDs and clock times vary from run to run"""
    line = re.sub(r"\b[0-9A-F]{10,12}\b", "QUEUEID", line)
    return re.sub(r" at ([A-Z][a-z]{2} [ 0-9]\d) \d\d:\d\d:\d\d$",
                  r" at \1 HH:MM:SS", line)


def main():
    """main - every configuration, one instance each"""
    work = sys.argv[1] if len(sys.argv) > 1 else "/tmp/anvref"
    os.environ["TZ"] = "UTC-24"
    out = []
    for i, (name, extra, case) in enumerate(CONFIGS):
        d = os.path.join(work, name)
        port = BASE_PORT + i
        subprocess.run([REF, "stop", d], check=False, capture_output=True)
        subprocess.run(["rm", "-rf", d], check=True)
        os.makedirs(d)
        if "combo.pem" in TLS and "tls" in extra:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                            "-nodes", "-keyout", d + "/key.pem", "-out",
                            d + "/cert.pem", "-days", "2", "-subj",
                            "/CN=mx.example.test"], check=True,
                           capture_output=True)
            with open(d + "/combo.pem", "w") as f:
                for p in ("key.pem", "cert.pem"):
                    with open(d + "/" + p) as g:
                        f.write(g.read())
        cf = os.path.join(work, name + ".cf")
        text = COMMON + extra.replace("{dir}", d)
        with open(cf, "w") as f:
            f.write(text)
        subprocess.run([REF, "start", d, str(port), cf], check=True,
                       capture_output=True)
        time.sleep(1)
        rec = Rec(name)
        rec.append("conf\t%s\t%s" % (name, text.strip().replace("\n", "; ")))
        try:
            case(rec, port)
        finally:
            # anvil logs its statistics every anvil_status_update_time
            # and when it exits
            time.sleep(7)
            subprocess.run([REF, "stop", d], check=False, capture_output=True)
            time.sleep(2)
        logs(rec, os.path.join(d, "maillog"), port)
        out.extend(normalize(x) for x in rec)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
