"""smtpd under a started instance (issue 4): the session, DATA and BDAT,
pipelining, smuggling probes, limits, and a message over SMTP into a
Maildir with Postfix's Received: header."""
import re
import smtplib
import socket
import time

from agentfix import chown, inst  # noqa: F401
from test_mailpath import MASTER, maildir_messages, virtual_setup
from test_master import free_port


def start_smtpd(inst, main="", master_extra="", boxes=("joe", "ann")):
    """an instance with smtpd on a free loopback port; returns
    (port, base of the virtual mailboxes)"""
    port = free_port()
    spool = inst.root / "spool"
    spool.mkdir()
    chown(spool)
    base, vconf = virtual_setup(inst, list(boxes))
    inst.configure(
        MASTER + f"127.0.0.1:{port} inet n - n - - smtpd\n" + master_extra,
        "compatibility_level = 3.6\n"
        "myhostname = mx.example.test\n"
        "mydomain = example.test\n"
        "mydestination = $myhostname, localhost\n"
        f"mail_spool_directory = {spool}\n"
        "alias_maps =\n"
        "mynetworks = 127.0.0.0/8\n"
        "smtpd_authorized_xclient_hosts = 127.0.0.0/8\n"
        "queue_run_delay = 1s\nminimal_backoff_time = 1s\n" + vconf + main)
    r = inst.ulak("start")
    assert r.returncode == 0, r
    return port, base


class Client:
    """a raw SMTP client that keeps every reply line"""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def reply(self):
        lines = []
        while True:
            ln = self.f.readline().decode("latin-1")
            if not ln:
                return lines or ["EOF"]
            lines.append(ln.rstrip("\r\n"))
            if len(ln) < 4 or ln[3] != "-":
                return lines

    def first(self):
        return self.reply()[-1] if False else self.reply()[0]

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.first()

    def close(self):
        self.s.close()


def test_banner_ehlo_and_a_message_into_a_maildir(inst):
    port, base = start_smtpd(inst)
    c = Client(port)
    assert c.first() == "220 mx.example.test ESMTP ulak"
    c.send("EHLO client.example\r\n")
    assert c.reply() == [
        "250-mx.example.test", "250-PIPELINING", "250-SIZE 10240000",
        "250-VRFY", "250-ETRN",
        "250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR "
        "DESTPORT",
        "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN", "250-SMTPUTF8",
        "250 CHUNKING"]
    assert c.cmd("MAIL FROM:<alice@example.org>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<joe@virt.test>") == "250 2.1.5 Ok"
    assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
    c.send("Subject: over smtp\r\n\r\nline one\r\n..dotted\r\n.\r\n")
    r = c.first()
    m = re.fullmatch(r"250 2\.0\.0 Ok: queued as ([0-9A-F]+)", r)
    assert m, r
    qid = m.group(1)
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    c.close()
    msg = maildir_messages(inst, base / "joe" / "new")[0]
    assert re.search(
        rb"Received: from client\.example \(localhost \[127\.0\.0\.1\]\)\n"
        rb"\tby mx\.example\.test \(ulak\) with ESMTP id " + qid.encode()
        + rb"\n\tfor <joe@virt\.test>; \w{3}, [ \d]?\d \w{3} \d{4} "
        rb"\d\d:\d\d:\d\d [-+]\d{4} \(\w+\)\n", msg), msg
    assert b"\nSubject: over smtp\n" in msg
    assert msg.endswith(b"\n\nline one\n.dotted\n"), msg
    log = inst.wait_log(rf"{qid}: removed")
    assert re.search(r"ulak/smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]",
                     log), log
    assert re.search(rf"ulak/smtpd\[\d+\]: {qid}: client=localhost\[127\.0\.0\.1\]",
                     log), log
    assert re.search(r"ulak/smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\]"
                     r" ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5", log), log


def test_smtplib_send_and_helo_without_esmtp(inst):
    port, base = start_smtpd(inst)
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.helo("old.example")
        s.sendmail("a@example.org", ["joe@virt.test", "ann@virt.test"],
                   b"Subject: two\r\n\r\nfor two\r\n")
    for box in ("joe", "ann"):
        msg = maildir_messages(inst, base / box / "new")[0]
        assert re.search(rb"Received: from old\.example \(localhost "
                         rb"\[127\.0\.0\.1\]\)\n\tby mx\.example\.test \(ulak\)"
                         rb" with SMTP id [0-9A-F]+;\n\t\w{3}, ", msg), msg


def test_state_errors_and_relay_refused(inst):
    port, _ = start_smtpd(inst, "smtpd_helo_required = yes\n"
                          "smtpd_error_sleep_time = 0\n")
    c = Client(port)
    c.first()
    assert c.cmd("MAIL FROM:<a@example.org>") == \
        "503 5.5.1 Error: send HELO/EHLO first"
    assert c.cmd("RCPT TO:<joe@virt.test>") == \
        "503 5.5.1 Error: need MAIL command"
    assert c.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
    assert c.cmd("HELO x.example") == "250 mx.example.test"
    assert c.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    assert c.cmd("MAIL FROM:<a@example.org>") == \
        "503 5.5.1 Error: nested MAIL command"
    assert c.cmd("FOO") == "500 5.5.2 Error: command not recognized"
    assert c.cmd("RSET") == "250 2.0.0 Ok"
    assert c.cmd("NOOP") == "250 2.0.0 Ok"
    assert c.cmd("VRFY joe@virt.test") == "252 2.0.0 joe@virt.test"
    assert c.cmd("ETRN remote.example") == "459 <remote.example>: service unavailable"
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    log = inst.wait_log(r"disconnect from")
    assert re.search(r"disconnect from localhost\[127\.0\.0\.1\] helo=1 "
                     r"mail=1/3 rcpt=0/1 data=0/1 rset=1 noop=1 vrfy=1 "
                     r"etrn=0/1 quit=1 unknown=0/1 commands=6/12", log), log


def test_xclient_outside_client_cannot_relay(inst):
    port, _ = start_smtpd(inst, "smtpd_error_sleep_time = 0\n")
    c = Client(port)
    c.first()
    c.send("EHLO rec.example\r\n")
    c.reply()
    assert c.cmd("XCLIENT ADDR=192.0.2.1 NAME=outside.example") == \
        "220 mx.example.test ESMTP ulak"
    assert c.cmd("HELO outside.example") == "250 mx.example.test"
    assert c.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<u@remote.example>") == \
        "454 4.7.1 <u@remote.example>: Relay access denied"
    for probe in ["u%remote.example@mx.example.test",
                  "\"u@remote.example\"@mx.example.test",
                  "@mx.example.test:u@remote.example",
                  "remote.example!u@mx.example.test"]:
        r = c.cmd(f"RCPT TO:<{probe}>")
        assert r.startswith("454 4.7.1 <") and r.endswith(
            ">: Relay access denied"), (probe, r)
    assert c.cmd("RCPT TO:<joe@virt.test>") == "250 2.1.5 Ok"
    c.cmd("QUIT")
    log = inst.wait_log(r"disconnect from outside")
    assert re.search(r"NOQUEUE: reject: RCPT from outside\.example\[192\.0\.2\.1\]:"
                     r" 454 4\.7\.1 <u@remote\.example>: Relay access denied; "
                     r"from=<a@example\.org> to=<u@remote\.example> proto=SMTP "
                     r"helo=<outside\.example>", log), log


def test_pipelining_100_recipients_in_one_write(inst):
    port, base = start_smtpd(inst)
    c = Client(port)
    c.first()
    c.send("EHLO p.example\r\n")
    c.reply()
    batch = "MAIL FROM:<a@example.org>\r\n"
    batch += "".join("RCPT TO:<joe@virt.test>\r\n" for _ in range(100))
    batch += "DATA\r\n"
    c.send(batch)
    assert c.first() == "250 2.1.0 Ok"
    for _ in range(100):
        assert c.first() == "250 2.1.5 Ok"
    assert c.first() == "354 End data with <CR><LF>.<CR><LF>"
    c.send("Subject: piped\r\n\r\nhello\r\n.\r\nQUIT\r\n")
    assert c.first().startswith("250 2.0.0 Ok: queued as ")
    assert c.first() == "221 2.0.0 Bye"
    msg = maildir_messages(inst, base / "joe" / "new")[0]
    assert msg.endswith(b"\n\nhello\n")


def test_smuggling_probes_do_not_end_the_message(inst):
    port, base = start_smtpd(inst)
    c = Client(port)
    c.first()
    for line in ["EHLO s.example", "MAIL FROM:<a@example.org>",
                 "RCPT TO:<joe@virt.test>"]:
        c.cmd(line)
    assert c.cmd("DATA").startswith("354")
    c.send(b"Subject: smuggle\r\n\r\none\n.\nMAIL FROM:<evil@x>\r\n"
           b"two\r.\r\nthree\n.\r\nRCPT TO:<ann@virt.test>\r\nend\r\n.\r\n")
    r = c.first()
    assert r.startswith("250 2.0.0 Ok: queued as "), r
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    msg = maildir_messages(inst, base / "joe" / "new")[0]
    # The lone dots are content lines (a leading dot is unstuffed).
    assert msg.endswith(b"\n\none\n\nMAIL FROM:<evil@x>\ntwo\r.\nthree\n"
                        b"\nRCPT TO:<ann@virt.test>\nend\n"), msg
    time.sleep(0.5)
    assert not (base / "ann" / "new").exists() or \
        not list((base / "ann" / "new").iterdir())


def test_bdat_chunks(inst):
    port, base = start_smtpd(inst)
    c = Client(port)
    c.first()
    c.send("EHLO b.example\r\n")
    c.reply()
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<ann@virt.test>")
    body = b"Subject: chunks\r\n\r\nfirst part\r\n"
    c.send(b"BDAT %d\r\n" % len(body) + body)
    assert c.first() == f"250 2.0.0 Ok: {len(body)} bytes"
    assert c.cmd("DATA") == "503 5.5.1 Error: DATA after BDAT"
    tail = b"second part\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(tail) + tail)
    r = c.first()
    assert re.fullmatch(rf"250 2\.0\.0 Ok: {len(body) + len(tail)} bytes "
                        r"queued as [0-9A-F]+", r), r
    c.cmd("QUIT")
    msg = maildir_messages(inst, base / "ann" / "new")[0]
    assert msg.endswith(b"\n\nfirst part\nsecond part\n"), msg


def test_overlong_line_noise_and_non_smtp(inst):
    port, _ = start_smtpd(inst, "smtpd_error_sleep_time = 0\n")
    c = Client(port)
    c.first()
    c.send(b"NOOP " + b"x" * 5000 + b"\r\n")
    # The first 2048 bytes are the command; the rest of the line is dropped.
    assert c.first() == "250 2.0.0 Ok"
    assert c.cmd("NOOP") == "250 2.0.0 Ok"
    c.close()
    # 10 MB of noise: the hard error limit ends it.
    c = Client(port)
    c.first()
    noise = (b"zzzz noise\r\n" * 1000)
    replies = []
    try:
        for _ in range(900):
            c.send(noise)
    except OSError:
        pass
    while True:
        r = c.first()
        replies.append(r)
        if r == "EOF" or r.startswith("421"):
            break
    assert replies[-1] == "421 4.7.0 mx.example.test Error: too many errors", \
        replies[-3:]
    assert replies[:-1] == ["500 5.5.2 Error: command not recognized"] * 20 \
        or len(replies) == 21
    c.close()
    c = Client(port)
    c.first()
    assert c.cmd("GET / HTTP/1.0") == \
        "221 2.7.0 Error: I can break rules, too. Goodbye."
    assert c.first() == "EOF"
    log = inst.wait_log(r"non-SMTP command")
    assert "warning: non-SMTP command from localhost[127.0.0.1]: GET / HTTP/1.0" \
        in log
    assert "too many errors after UNKNOWN from localhost[127.0.0.1]" in log


def test_silent_and_slow_clients_time_out_others_served(inst):
    port, base = start_smtpd(inst, "smtpd_timeout = 2s\n")
    silent = Client(port)
    assert silent.first().startswith("220")
    slow = Client(port)
    slow.first()
    t0 = time.time()
    # Another client is served while those two idle.
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.sendmail("a@example.org", ["joe@virt.test"], b"Subject: x\r\n\r\nx\r\n")
    assert time.time() - t0 < 2
    for ch in b"NOOP\r\n":
        slow.send(bytes([ch]))
        time.sleep(0.6)
    # Each byte came within smtpd_timeout of the last: the per-read limit
    # (Postfix's default) lets the slow client go on.
    assert slow.first() == "250 2.0.0 Ok"
    assert silent.first() == "421 4.4.2 mx.example.test Error: timeout exceeded"
    assert silent.first() == "EOF"
    log = inst.wait_log(r"timeout after CONNECT from localhost")
    assert "timeout after CONNECT" in log
    maildir_messages(inst, base / "joe" / "new")


def smtpd_rss_kib(inst):
    """the resident memory of the instance's smtpd processes, in KiB"""
    total = 0
    for d in __import__("pathlib").Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
            if b"smtpd" not in cmd or str(inst.etc).encode() not in cmd:
                continue
            for ln in (d / "status").read_text().splitlines():
                if ln.startswith("VmRSS:"):
                    total += int(ln.split()[1])
        except OSError:
            pass
    return total


def test_2000_concurrent_sessions(inst):
    """2,000 sessions held at once (maxproc 3000); each is answered, and a
    message still goes through meanwhile.  The memory is printed (see
    docs/PERFORMANCE.md)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    port = free_port()
    spool = inst.root / "spool"
    spool.mkdir()
    chown(spool)
    base, vconf = virtual_setup(inst, ["joe"])
    inst.configure(
        MASTER + f"127.0.0.1:{port} inet n - n - 3000 smtpd\n",
        "compatibility_level = 3.6\nmyhostname = mx.example.test\n"
        "mydestination = $myhostname\nalias_maps =\n"
        f"mail_spool_directory = {spool}\n" + vconf)
    assert inst.ulak("start").returncode == 0
    base_rss = None
    socks = []
    for i in range(2000):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
        except TimeoutError:
            raise AssertionError(f"connection {i} refused; log:\n"
                                 + inst.logtext()[-3000:])
        socks.append(s)
        if i == 0:
            assert s.recv(100).startswith(b"220 ")
            base_rss = smtpd_rss_kib(inst)
    for i, s in enumerate(socks[1:]):
        try:
            assert s.recv(100).startswith(b"220 ")
        except TimeoutError:
            raise AssertionError(f"session {i + 1} got no banner; log:\n"
                                 + inst.logtext()[-3000:])
    for s in socks:
        s.sendall(b"EHLO many.example\r\n")
    for s in socks:
        data = b""
        while not data.endswith(b"250 CHUNKING\r\n"):
            chunk = s.recv(1000)
            assert chunk, data
            data += chunk
    rss = smtpd_rss_kib(inst)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.sendmail("a@example.org", ["joe@virt.test"], b"Subject: 2001\r\n\r\nx\r\n")
    maildir_messages(inst, base / "joe" / "new")
    for s in socks:
        s.close()
    print(f"smtpd RSS: {base_rss} KiB with one session, {rss} KiB with 2000 "
          f"({(rss - base_rss) / 2000:.1f} KiB a session)")
    assert rss > 0


ANVIL_GOLDEN = (__import__("pathlib").Path(__file__).resolve().parents[1]
                / "data" / "smtpd" / "anvil_golden.txt")


def anvil_cases():
    confs, steps = {}, {}
    for ln in ANVIL_GOLDEN.read_text().splitlines():
        f = ln.split("\t")
        if f[0] == "conf":
            confs[f[1]] = f[2]
        elif f[0] == "step":
            steps.setdefault(f[1], []).append((f[3], f[4], f[5]))
    # newtls and auth need STARTTLS and SASL, which ulak does not offer yet.
    return [(n, confs[n], steps[n]) for n in confs if n not in ("newtls", "auth")]


@__import__("pytest").mark.parametrize(
    "name,conf,steps", anvil_cases(), ids=[c[0] for c in anvil_cases()])
def test_client_limits_answer_as_postfix(inst, name, conf, steps):
    """the client limits that anvil keeps, replayed from Postfix 3.7's
    answers (tests/data/smtpd/anvil_golden.txt)"""
    main = "".join(s.strip() + "\n" for s in conf.split(";")
                   if not s.strip().startswith("smtpd_tls")
                   and not s.strip().startswith("smtpd_sasl"))
    port, _ = start_smtpd(inst, "smtpd_error_sleep_time = 0\n"
                          "smtpd_authorized_xclient_hosts =\n" + main,
                          "anvil unix - - n - 1 anvil\n")
    open_ = {}
    for sess, line, want in steps:
        if line == "connect":
            c = Client(port)
            open_[sess] = c
            got = "\n".join(c.reply())
            want = want.replace("ESMTP Postfix", "ESMTP ulak")
        elif line == "close?":
            got = "closed" if open_[sess].first() == "EOF" else "open"
        elif line == ".":
            open_[sess].send("Subject: limits\r\n\r\nx\r\n.\r\n")
            got = "\n".join(open_[sess].reply())
            got = re.sub(r"queued as [0-9A-F]+$", "queued as QUEUEID", got)
        else:
            c = open_[sess]
            try:
                c.send(line + "\r\n")
                r = c.reply()
            except OSError:
                r = ["EOF"]
            got = "closed" if r == ["EOF"] else "\n".join(r)
        assert got == want.replace("\\n", "\n"), (name, sess, line, inst.logtext()[-2000:])
    log = inst.logtext()
    for ln in ANVIL_GOLDEN.read_text().splitlines():
        f = ln.split("\t")
        if f[0] == "log" and f[1] == name and f[2].endswith("/smtpd") \
                and "limit exceeded" in f[3]:
            want = f[3].replace("127.0.0.1:PORT", f"127.0.0.1:{port}")
            assert want in log, (want, log[-3000:])


def test_sendmail_bs_speaks_smtp_on_stdin_and_stdout(inst):
    """sendmail -bs: the same SMTP session on standard input and output,
    the message into the queue and on to the Maildir"""
    from test_pickup import sendmail
    _, base = start_smtpd(inst)
    r = sendmail(inst, "-bs", stdin=(
        "EHLO me.example\r\nMAIL FROM:<a@example.org>\r\n"
        "RCPT TO:<ann@virt.test>\r\nDATA\r\nSubject: bs\r\n\r\nvia -bs\r\n"
        ".\r\nQUIT\r\n"))
    assert r.returncode == 0, r
    lines = [ln.rstrip("\r") for ln in r.stdout.splitlines()]
    assert lines[0] == "220 mx.example.test ESMTP ulak", r.stdout
    assert "250 2.1.5 Ok" in lines and "221 2.0.0 Bye" in lines, r.stdout
    assert any(re.fullmatch(r"250 2\.0\.0 Ok: queued as [0-9A-F]+", ln)
               for ln in lines), r.stdout
    assert r.stderr == "", r.stderr
    msg = maildir_messages(inst, base / "ann" / "new")[0]
    assert re.search(rb"Received: from me\.example \(localhost \[127\.0\.0\.1\]\)"
                     rb"\n\tby mx\.example\.test \(ulak\) with ESMTP id ", msg)
    assert msg.endswith(b"\n\nvia -bs\n")


def test_etrn_flushes_fast_flush_domains_only(inst):
    port, _ = start_smtpd(inst, "fast_flush_domains = remote.example\n"
                          "smtpd_error_sleep_time = 0\n")
    c = Client(port)
    c.first()
    assert c.cmd("EHLO e.example").startswith("250")
    assert c.cmd("ETRN other.example") == \
        "459 <other.example>: service unavailable"
    assert c.cmd("ETRN remote.example") == "250 Queuing started"
    assert c.cmd("ETRN a b") == "500 Syntax: ETRN domain"
    assert c.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    assert c.cmd("ETRN remote.example") == \
        "503 Error: MAIL transaction in progress"
    c.cmd("QUIT")


def test_message_over_the_size_limit(inst):
    """SIZE at MAIL and the content itself, against message_size_limit,
    as Postfix 3.7 answers (552 5.3.4)"""
    port, base = start_smtpd(inst, "message_size_limit = 1000\n")
    c = Client(port)
    c.first()
    c.cmd("HELO x.example")
    assert c.cmd("MAIL FROM:<a@example.org> SIZE=2000") == \
        "552 5.3.4 Message size exceeds fixed limit"
    assert c.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<joe@virt.test>") == "250 2.1.5 Ok"
    assert c.cmd("DATA").startswith("354")
    c.send(b"Subject: x\r\n\r\n" + (b"z" * 70 + b"\r\n") * 50 + b".\r\n")
    assert c.first() == "552 5.3.4 Error: message file too big"
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    log = inst.wait_log(r"disconnect from")
    assert "helo=1 mail=1/2 rcpt=1 data=0/1 quit=1 commands=4/6" in log, log
    assert re.search(r"smtpd\[\d+\]: warning: [0-9A-F]+: queue file size "
                     r"limit exceeded", log), log
    assert not (base / "joe" / "new").exists() or \
        not list((base / "joe" / "new").iterdir())
    assert not [p for p in (inst.queue / "incoming").rglob("*") if p.is_file()]


def test_swaks_sends_a_message(inst):
    """swaks (Debian's package) as the client: a whole ESMTP transaction
    with PIPELINING, into the Maildir"""
    import subprocess
    port, base = start_smtpd(inst)
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{port}",
                        "--from", "a@example.org", "--to", "joe@virt.test",
                        "--pipeline", "--header", "Subject: from swaks",
                        "--body", "swaks body"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    assert re.search(r"<\*\*  250 2\.0\.0 Ok: queued as [0-9A-F]+|"
                     r"<-  250 2\.0\.0 Ok: queued as [0-9A-F]+", r.stdout), \
        r.stdout
    msg = maildir_messages(inst, base / "joe" / "new")[0]
    assert b"\nSubject: from swaks\n" in msg and b"swaks body" in msg


def test_access_actions_are_logged_and_held(inst):
    """HOLD and WARN from an access table: Postfix's log lines, and the
    held message waits in hold/; an unknown restriction is a warning and
    451 4.3.5"""
    port, base = start_smtpd(
        inst, "smtpd_error_sleep_time = 0\n"
        "smtpd_recipient_restrictions = check_recipient_access inline:{ "
        "{joe@virt.test=HOLD} {ann@virt.test=WARN odd} "
        "{x@virt.test=no_such_restriction} }, permit\n", boxes=("joe", "ann", "x"))
    c = Client(port)
    c.first()
    c.cmd("HELO h.example")
    c.cmd("MAIL FROM:<a@example.org>")
    assert c.cmd("RCPT TO:<joe@virt.test>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<ann@virt.test>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<x@virt.test>") == \
        "451 4.3.5 Server configuration error"
    assert c.cmd("DATA").startswith("354")
    c.send("Subject: held\r\n\r\nheld\r\n.\r\n")
    qid = re.fullmatch(r"250 2\.0\.0 Ok: queued as ([0-9A-F]+)",
                       c.first()).group(1)
    c.cmd("QUIT")
    log = inst.wait_log(r"disconnect from")
    ctx = "; from=<a@example.org> to=<{}> proto=SMTP helo=<h.example>"
    # The first recipient is checked before the queue file exists.
    assert ("NOQUEUE: hold: RCPT from localhost[127.0.0.1]: <joe@virt.test>: "
            "Recipient address triggers HOLD action"
            + ctx.format("joe@virt.test")) in log, log
    assert (f"{qid}: warn: RCPT from localhost[127.0.0.1]: odd"
            + ctx.format("ann@virt.test")) in log, log
    assert 'warning: unknown smtpd restriction: "no_such_restriction"' in log
    assert [p for p in (inst.queue / "hold").rglob(qid)], log


def test_recipient_and_junk_limits_count_errors_as_postfix(inst):
    """smtpd_recipient_limit with its overshoot, and
    smtpd_junk_command_limit, under smtpd_hard_error_limit: the replies
    Postfix 3.7 gives under the same settings"""
    port, _ = start_smtpd(inst, "smtpd_recipient_limit = 2\n"
                          "smtpd_recipient_overshoot_limit = 1\n"
                          "smtpd_hard_error_limit = 2\n"
                          "smtpd_error_sleep_time = 0\n"
                          "smtpd_junk_command_limit = 2\n")
    c = Client(port)
    c.first()
    c.cmd("HELO x.example")
    c.cmd("MAIL FROM:<a@example.org>")
    got = [c.cmd("RCPT TO:<joe@virt.test>") for _ in range(5)]
    assert got == ["250 2.1.5 Ok"] * 2 + \
        ["452 4.5.3 Error: too many recipients"] * 3
    assert c.cmd("NOOP") == "421 4.7.0 mx.example.test Error: too many errors"
    c.close()
    c = Client(port)
    c.first()
    c.cmd("HELO x.example")
    got = [c.cmd("NOOP") for _ in range(5)]
    assert got == ["250 2.0.0 Ok"] * 4 + \
        ["421 4.7.0 mx.example.test Error: too many errors"]


def test_per_request_deadline_ends_a_trickling_client(inst):
    """smtpd_per_request_deadline = yes: a command that trickles in one
    byte at a time must still be complete within smtpd_timeout; without
    it (the default) the time limit is per read, as in Postfix"""
    port, _ = start_smtpd(inst, "smtpd_timeout = 2s\n"
                          "smtpd_per_request_deadline = yes\n")
    c = Client(port)
    c.first()
    t0 = time.time()
    try:
        for ch in b"NOOP NOOP NOOP NOOP NOOP NOOP":
            c.send(bytes([ch]))
            time.sleep(0.25)
    except OSError:
        pass
    assert c.first() == "421 4.4.2 mx.example.test Error: timeout exceeded"
    assert 1.5 < time.time() - t0 < 6


def test_tls_required_or_wrapped_is_never_plaintext(inst):
    """ulak has no TLS yet: a service that requires it refuses mail as
    Postfix does before STARTTLS, a wrapper-mode service (smtps) closes
    at once, and both say so in the log and in ulak check"""
    wrap = free_port()
    port, _ = start_smtpd(
        inst, "smtpd_tls_security_level = encrypt\n",
        f"127.0.0.1:{wrap} inet n - n - - smtpd\n"
        "  -o smtpd_tls_wrappermode=yes\n")
    c = Client(port)
    assert c.first().startswith("220 ")
    c.cmd("EHLO t.example")
    assert c.cmd("MAIL FROM:<a@example.org>") == \
        "530 5.7.0 Must issue a STARTTLS command first"
    c.close()
    w = Client(wrap)
    assert w.first() == "EOF"
    log = inst.wait_log(r"connection closed")
    assert "TLS is required here, and this ulak release has no TLS" in log
    r = inst.ulak("check")
    assert (f"master.cf: service 127.0.0.1:{wrap}/inet: -o "
            "smtpd_tls_wrappermode: accepted, not acted on yet by ulak") \
        in r.stderr, r
    assert "smtpd_tls_security_level: accepted, not acted on yet" in r.stderr


def test_queue_file_at_mail_without_delay_open(inst):
    """smtpd_delay_open_until_valid_rcpt = no: the queue file (and the
    client= line) at MAIL; RSET removes it again"""
    port, _ = start_smtpd(inst, "smtpd_delay_open_until_valid_rcpt = no\n")
    c = Client(port)
    c.first()
    c.cmd("HELO x.example")
    assert c.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    log = inst.wait_log(r"client=localhost")
    qid = re.search(r"([0-9A-F]+): client=localhost\[127\.0\.0\.1\]",
                    log).group(1)
    assert [p for p in (inst.queue / "incoming").rglob("*") if p.is_file()]
    assert c.cmd("RSET") == "250 2.0.0 Ok"
    assert c.cmd("NOOP") == "250 2.0.0 Ok"
    assert not [p for p in (inst.queue / "incoming").rglob("*")
                if p.is_file()], qid
    c.cmd("QUIT")


def test_bdat_after_a_failed_chunk(inst):
    """the chunks after a refused BDAT are read and answered as Postfix
    3.7 answers them"""
    port, _ = start_smtpd(inst, "smtpd_error_sleep_time = 0\n")
    c = Client(port)
    c.first()
    c.send("EHLO x\r\n")
    c.reply()
    assert c.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    c.send(b"BDAT 3\r\nabc")
    assert c.first() == "554 5.5.1 Error: no valid recipients"
    c.send(b"BDAT 3\r\nabc")
    assert c.first() == "551 5.0.0 Discarded 3 bytes after earlier error"
    c.send(b"BDAT 3 LAST\r\nabc")
    assert c.first() == "551 5.0.0 Discarded 3 bytes after earlier error"
    assert c.cmd("NOOP") == "250 2.0.0 Ok"
    c.send(b"BDAT 2\r\nab")
    assert c.first() == "503 5.5.1 Error: need RCPT command"
    assert c.cmd("QUIT") == "221 2.0.0 Bye"


def test_forbid_bare_newline_refuses_a_bare_lf_in_data(inst):
    """smtpd_forbid_bare_newline = yes: a bare LF in the content ends the
    session with smtpd_forbid_bare_newline_reject_code, nothing queued;
    clients in the exclusions ($mynetworks) may still send one"""
    port, base = start_smtpd(inst, "smtpd_forbid_bare_newline = yes\n"
                             "smtpd_forbid_bare_newline_exclusions =\n")
    c = Client(port)
    c.first()
    for line in ["HELO x.example", "MAIL FROM:<a@example.org>",
                 "RCPT TO:<joe@virt.test>"]:
        c.cmd(line)
    assert c.cmd("DATA").startswith("354")
    c.send(b"Subject: bare\r\n\r\none\ntwo\r\n.\r\n")
    assert c.first() == \
        "550 5.5.2 mx.example.test Error: bare <LF> received"
    assert c.first() == "EOF"
    time.sleep(0.5)
    assert not [p for p in (inst.queue / "incoming").rglob("*") if p.is_file()]
    assert not (base / "joe" / "new").exists() or \
        not list((base / "joe" / "new").iterdir())


def test_access_actions_shape_the_message(inst):
    """DISCARD, REDIRECT, BCC, PREPEND, FILTER and DUNNO from
    check_recipient_access: the reply is 250 and the message is what the
    action says"""
    port, base = start_smtpd(
        inst, "smtpd_recipient_restrictions = check_recipient_access "
        "inline:{ {joe@virt.test=PREPEND X-Tag: tagged} "
        "{ann@virt.test=BCC bob@virt.test} {x@virt.test=DUNNO} "
        "{gone@virt.test=DISCARD} {redir@virt.test=REDIRECT ann@virt.test} "
        "{filt@virt.test=FILTER error:filtered here} }, permit\n",
        boxes=("joe", "ann", "bob", "x", "gone", "redir", "filt"))

    def send(rcpt, body):
        with smtplib.SMTP("127.0.0.1", port) as s:
            refused = s.sendmail("a@example.org", [rcpt],
                                 f"Subject: {body}\r\n\r\n{body}\r\n".encode())
            assert refused == {}

    send("joe@virt.test", "prepended")
    msg = maildir_messages(inst, base / "joe" / "new")[0]
    assert re.search(rb"\nX-Tag: tagged\nReceived: from ", msg), msg
    send("ann@virt.test", "copied")
    assert b"copied" in maildir_messages(inst, base / "bob" / "new")[0]
    assert b"copied" in maildir_messages(inst, base / "ann" / "new")[0]
    send("redir@virt.test", "redirected")
    got = maildir_messages(inst, base / "ann" / "new", 2)
    assert any(b"redirected" in m for m in got)
    send("gone@virt.test", "discarded")
    send("filt@virt.test", "filtered")
    send("x@virt.test", "plain")
    maildir_messages(inst, base / "x" / "new")
    log = inst.wait_log(r"filtered here")
    # The FILTER transport (error:) got the message instead of virtual.
    assert re.search(r"to=<filt@virt\.test>, relay=none, .*status=bounced "
                     r"\(filtered here\)", log), log
    assert not (base / "gone" / "new").exists() or \
        not list((base / "gone" / "new").iterdir())
    assert not (base / "redir" / "new").exists() or \
        not list((base / "redir" / "new").iterdir())
    assert "triggers DISCARD action" in log and \
        "triggers REDIRECT ann@virt.test" in log, log


def test_content_filter_and_its_override(inst):
    """main.cf content_filter sends every message to the filter transport;
    "-o content_filter=" on a service (the re-injection port of a content
    filter setup) turns it off there"""
    plain = free_port()
    port, base = start_smtpd(
        inst, "content_filter = error:5.7.1 filtered out\n",
        f"127.0.0.1:{plain} inet n - n - - smtpd -o content_filter=\n")
    for p, subject in ((port, "to the filter"), (plain, "past the filter")):
        with smtplib.SMTP("127.0.0.1", p) as s:
            s.sendmail("a@example.org", ["joe@virt.test"],
                       f"Subject: {subject}\r\n\r\nx\r\n".encode())
    msg = maildir_messages(inst, base / "joe" / "new")[0]
    assert b"Subject: past the filter" in msg
    log = inst.wait_log(r"filtered out")
    assert re.search(r"to=<joe@virt\.test>, relay=none, .*dsn=5\.7\.1, "
                     r"status=bounced \(filtered out\)", log), log
    assert len(list((base / "joe" / "new").iterdir())) == 1
