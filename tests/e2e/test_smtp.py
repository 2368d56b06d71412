"""The outbound path of issue 5, checked as a mail administrator would:
mail submitted with sendmail (or over SMTP) leaves through ulak's smtp and
lmtp clients to scripted peers (smtpsink.Sink), to Python's aiosmtpd and
to a real Postfix, with the next hops found through the tests' own DNS
server (dnsserver.DnsServer, $ulak_dns_servers).

Every expected log line, status and bounce text is what Postfix 3.7
(Debian's 3.7.11) logged and sent for the same case, recorded with the
same zones served by unbound (Postfix's resolver pointed at it through a
/etc/resolv.conf bind-mounted in a private mount namespace, unshare -m),
the same transport_maps and the same sinks; the recorded lines are quoted
next to each test, and tests/data/smtp_client/postfix-3.7.log holds
that log and the bounces.  Where ulak's texts carry other names or
addresses (its myhostname, the test's addresses), only those differ.

The peers of one test listen on loopback addresses of their own
(smtpsink.addrs: 127.x.y.2, .3, ... and one port P free on all of them);
the MX hosts resolve to those addresses, and transport_maps sends the
domain to "smtp:example.test:P" (transport(5): a domain with a port is
looked up in DNS as usual, and P is used for every MX host).
"""
import email
import email.policy
import re
import shutil
import smtplib
import tempfile
import time

import pytest

from agentfix import DELAYS, inst  # noqa: F401
from postfixpeer import PostfixPeer
from smtpsink import AioSink, Sink, Silent, addrs
from test_mailpath import MASTER, maildir_messages, postqueue, \
    virtual_setup, wait_folder
from test_master import AS_ROOT, free_port
from test_pickup import sendmail

try:  # the tests' DNS server comes with the resolver (branch dns)
    from dnsserver import DnsServer
except ImportError:  # pragma: no cover
    DnsServer = None

SERVICES = ("smtp unix - - n - - smtp\n"
            "lmtp unix - - n - - lmtp\n")
ME_HOST = "ulak.local.test"
SENDER = "alice@sender.test"
ID = r"[0-9A-F]+"
SINK_TIMEOUT = 30


def zone(domain, mx=(), a=None):
    """zone-file lines: DOMAIN's MX records [(pref, host, address)] and
    each host's A record, or DOMAIN's own A record"""
    lines = []
    for pref, host, addr in mx:
        lines.append(f"{domain}. 300 IN MX {pref} {host}.")
        if addr:
            lines.append(f"{host}. 300 IN A {addr}")
    if a:
        lines.append(f"{domain}. 300 IN A {a}")
    return lines


@pytest.fixture
def dnsdir():
    d = tempfile.mkdtemp(prefix="ulak-dns-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Env:
    """one test's instance, DNS server and peers; stops them all"""

    def __init__(self, inst, dnsdir):
        self.inst, self.dnsdir = inst, dnsdir
        self.hosts, self.port = addrs(6)
        self.peers = []
        self.dns = None
        self.bounces = None

    def sink(self, i, **kw):
        s = Sink(self.hosts[i], self.port, **kw).start()
        self.peers.append(s)
        return s

    def silent(self, i):
        s = Silent(self.hosts[i], self.port)
        self.peers.append(s)
        return s

    def start(self, records=None, servfail=(), nxdomain=(), transport=None,
              main="", smtpd_port=None, bounce_sink=True):
        """start DNS (when RECORDS is given) and ulak; TRANSPORT is
        {pattern: nexthop}; the sender's domain goes to a sink of its
        own (the last address) that receives the bounces"""
        transport = dict(transport or {})
        if bounce_sink:
            self.bounces = self.sink(-1, name="mx.sender.test")
            transport["sender.test"] = f"smtp:[{self.hosts[-1]}]:{self.port}"
        conf = ""
        if records is not None:
            assert DnsServer, "tests/e2e/dnsserver.py is missing"
            self.dns = DnsServer(self.dnsdir, records=records,
                                 servfail=list(servfail),
                                 nxdomain=list(nxdomain))
            self.dns.start()
            conf += f"ulak_dns_servers = {self.dns.servers}\n"
        if transport:
            tf = self.inst.root / "transport"
            tf.write_text("".join(f"{k} {v}\n" for k, v in transport.items()))
            conf += f"transport_maps = texthash:{tf}\n"
        spool = self.inst.root / "spool"
        spool.mkdir(exist_ok=True)
        master = MASTER + SERVICES
        if smtpd_port:
            master += f"127.0.0.1:{smtpd_port} inet n - n - - smtpd\n"
        self.inst.configure(
            master,
            "compatibility_level = 3.6\n"
            f"myhostname = {ME_HOST}\n"
            "mydomain = local.test\n"
            "mydestination = $myhostname, localhost\n"
            f"mail_spool_directory = {spool}\n"
            "alias_maps =\n"
            "mynetworks = 127.0.0.0/8\n"
            "queue_run_delay = 3600s\n"
            "minimal_backoff_time = 3600s\n"
            "maximal_backoff_time = 3600s\n"
            "smtp_connect_timeout = 2s\n"
            "smtp_helo_timeout = 2s\n" + conf + main)
        r = self.inst.ulak("start")
        assert r.returncode == 0, r

    def stop(self):
        for p in self.peers:
            p.stop()
        if self.dns:
            self.dns.stop()

    def send(self, rcpts, body="Subject: outbound\n\nhello there\n",
             sender=SENDER):
        r = sendmail(self.inst, "-f", sender, *rcpts, stdin=body)
        assert r.returncode == 0, r

    def line(self, rcpt, rest, agent="smtp", timeout=SINK_TIMEOUT):
        """the delivery line of RCPT; REST is a regex after 'to=<...>, ';
        returns (queue id, the line)"""
        pat = (rf"ulak/{agent}\[\d+\]: ({ID}): to=<{re.escape(rcpt)}>, "
               + rest)
        text = self.inst.wait_log(pat, timeout=timeout)
        m = re.search(pat + r"\n", text)
        assert m, f"{pat!r} is not the whole line:\n{text}"
        return m.group(1), m.group(0)

    def bounce(self, n=1):
        """the Nth bounce the sender got, parsed"""
        msg = self.bounces.wait(n, log=self.inst.logtext)[n - 1]
        assert msg["mail"].startswith("MAIL FROM:<>"), msg
        assert msg["accepted"] == [SENDER], msg
        return email.message_from_bytes(msg["data"].replace(b"\r\n", b"\n"),
                                        policy=email.policy.compat32)


@pytest.fixture
def env(inst, dnsdir):  # noqa: F811
    e = Env(inst, dnsdir)
    yield e
    e.stop()


def sent(host, addr, port, queue_id, dsn="2.0.0", code="250 2.0.0"):
    """Postfix's 'relay=..., status=sent' rest of line"""
    return (rf"relay={re.escape(host)}\[{re.escape(addr)}\]:{port}, "
            rf"{DELAYS}, dsn={re.escape(dsn)}, status=sent "
            rf"\({re.escape(code)} Ok: queued as {queue_id}\)")


def unfold(text):
    return " ".join(text.split())


def check_bounce(env, rcpt, status, notification, diagnostic,
                 remote_mta=None):
    """the sender's bounce for RCPT: Postfix's texts, with the folded
    lines compared word for word (their breaks depend on the lengths of
    this test's addresses)"""
    msg = env.bounce()
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg["From"] == f"Mail Delivery System <MAILER-DAEMON@{ME_HOST}>"
    assert msg["To"] == SENDER
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_content_type() == "multipart/report"
    text, report, returned = msg.get_payload()
    body = text.get_payload()
    assert body.startswith(f"This is the mail system at host {ME_HOST}.\n\n"
                           "I'm sorry to have to inform you that your "
                           "message could not\nbe delivered to one or more "
                           "recipients. It's attached below.\n"), body
    para = body.split("                   The mail system\n\n", 1)[1]
    para = para.split("\n\n", 1)[0].rstrip("\n")
    assert unfold(para) == unfold(f"<{rcpt}>: {notification}"), para
    for ln in para.split("\n"):
        assert len(ln) <= 78, para
    for ln in para.split("\n")[1:]:
        assert ln.startswith("    "), para
    blocks = report.get_payload()
    assert blocks[0]["Reporting-MTA"] == f"dns; {ME_HOST}"
    r = blocks[1]
    assert r["Final-Recipient"] == f"rfc822; {rcpt}"
    assert r["Original-Recipient"] == f"rfc822;{rcpt}"
    assert r["Action"] == "failed"
    assert r["Status"] == status
    assert r["Remote-MTA"] == remote_mta
    assert unfold(r["Diagnostic-Code"]) == unfold(diagnostic)
    assert returned.get_content_type() == "message/rfc822"
    return msg


# --- MX routing -----------------------------------------------------------

def test_mx_preference_order(env):
    """Postfix 3.7: 'to=<u@pref.test>, relay=mx1.pref.test[127.61.5.2]:2525,
    delay=0.06, delays=0/0.01/0/0.05, dsn=2.0.0, status=sent (250 2.0.0 Ok:
    queued as 33F7143152)'; mx2 is never contacted."""
    h, p = env.hosts, env.port
    mx1 = env.sink(0, name="mx1.example.test")
    mx2 = env.sink(1, name="mx2.example.test")
    # the worse preference first in the answer: the order is by preference
    env.start(zone("example.test", [(20, "mx2.example.test", h[1]),
                                    (10, "mx1.example.test", h[0])]),
              transport={"example.test": f"smtp:example.test:{p}"})
    env.send(["u@example.test"])
    qid, _ = env.line("u@example.test",
                      sent("mx1.example.test", h[0], p, mx1.queue_id))
    m = mx1.wait(log=env.inst.logtext)[0]
    assert m["helo"] == f"EHLO {ME_HOST}"
    assert re.fullmatch(r"MAIL FROM:<alice@sender\.test> SIZE=\d+", m["mail"])
    assert m["accepted"] == ["u@example.test"]
    assert b"\r\nSubject: outbound\r\n" in m["data"]
    assert m["data"].endswith(b"\r\n\r\nhello there\r\n")
    assert mx2.sessions == []
    env.inst.wait_log(rf"{qid}: removed")


def test_failover_when_first_mx_refuses(env):
    """Postfix 3.7: 'postfix/smtp[6870]: connect to
    mx1.refuse.test[127.61.5.4]:2525: Connection refused', then
    'to=<u@refuse.test>, relay=mx2.refuse.test[127.61.5.5]:2525, ...,
    dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 5BE3E344A5)'."""
    h, p = env.hosts, env.port
    mx2 = env.sink(1, name="mx2.example.test")   # nothing on h[0]
    env.start(zone("example.test", [(10, "mx1.example.test", h[0]),
                                    (20, "mx2.example.test", h[1])]),
              transport={"example.test": f"smtp:example.test:{p}"})
    env.send(["u@example.test"])
    env.line("u@example.test", sent("mx2.example.test", h[1], p,
                                    mx2.queue_id))
    log = env.inst.logtext()
    assert re.search(rf"ulak/smtp\[\d+\]: connect to mx1\.example\.test"
                     rf"\[{re.escape(h[0])}\]:{p}: Connection refused\n",
                     log), log


def test_failover_when_first_mx_times_out(env):
    """Postfix 3.7 (smtp_helo_timeout = 2s): '8B815A7C0B9: conversation
    with mx1.timeout.test[127.61.5.6] timed out while receiving the initial
    server greeting', then 'to=<u@timeout.test>,
    relay=mx2.timeout.test[127.61.5.7]:2525, delay=2, delays=0/0/2/0.04,
    dsn=2.0.0, status=sent (...)'."""
    h, p = env.hosts, env.port
    env.silent(0)
    mx2 = env.sink(1, name="mx2.example.test")
    env.start(zone("example.test", [(10, "mx1.example.test", h[0]),
                                    (20, "mx2.example.test", h[1])]),
              transport={"example.test": f"smtp:example.test:{p}"})
    t0 = time.time()
    env.send(["u@example.test"])
    qid, _ = env.line("u@example.test", sent("mx2.example.test", h[1], p,
                                             mx2.queue_id))
    assert time.time() - t0 >= 1.5   # it did wait for the greeting
    log = env.inst.logtext()
    assert re.search(rf"ulak/smtp\[\d+\]: {qid}: conversation with "
                     rf"mx1\.example\.test\[{re.escape(h[0])}\] timed out "
                     r"while receiving the initial server greeting\n",
                     log), log


def test_failover_when_first_mx_greets_4xx(env):
    """Postfix 3.7: '92464A7C10F: host mx1.greet.test[127.61.5.8] refused
    to talk to me: 421 4.3.2 mx1.greet.test Service not available', QUIT
    sent to mx1, then sent through mx2."""
    h, p = env.hosts, env.port
    greet = "421 4.3.2 mx1.example.test Service not available"
    mx1 = env.sink(0, name="mx1.example.test", greeting=greet)
    mx2 = env.sink(1, name="mx2.example.test")
    env.start(zone("example.test", [(10, "mx1.example.test", h[0]),
                                    (20, "mx2.example.test", h[1])]),
              transport={"example.test": f"smtp:example.test:{p}"})
    env.send(["u@example.test"])
    qid, _ = env.line("u@example.test", sent("mx2.example.test", h[1], p,
                                             mx2.queue_id))
    log = env.inst.logtext()
    assert re.search(rf"ulak/smtp\[\d+\]: {qid}: host mx1\.example\.test"
                     rf"\[{re.escape(h[0])}\] refused to talk to me: "
                     rf"{re.escape(greet)}\n", log), log
    assert mx1.commands == ["QUIT"]


def test_only_mx_refuses_or_greets_4xx_deferred(env):
    """Postfix 3.7, when no MX is left:
    'to=<u@deadend.test>, relay=none, delay=0, delays=0/0/0/0, dsn=4.4.1,
    status=deferred (connect to mx.deadend.test[127.61.5.14]:2525:
    Connection refused)' and 'to=<u@greetonly.test>,
    relay=mx.greetonly.test[127.61.5.8]:2525, delay=0.01, delays=0/0/0/0,
    dsn=4.3.2, status=deferred (host mx.greetonly.test[127.61.5.8] refused
    to talk to me: 421 4.3.2 mx1.greet.test Service not available)'"""
    h, p = env.hosts, env.port
    greet = "421 4.3.2 mx.greet.test Service not available"
    env.sink(1, name="mx.greet.test", greeting=greet)
    env.start(zone("dead.test", [(10, "mx.dead.test", h[0])])
              + zone("greet.test", [(10, "mx.greet.test", h[1])]),
              transport={"dead.test": f"smtp:dead.test:{p}",
                         "greet.test": f"smtp:greet.test:{p}"})
    env.send(["u@dead.test"])
    env.send(["u@greet.test"])
    qid, _ = env.line(
        "u@dead.test",
        rf"relay=none, {DELAYS}, dsn=4\.4\.1, status=deferred \(connect to "
        rf"mx\.dead\.test\[{re.escape(h[0])}\]:{p}: Connection refused\)")
    env.line("u@greet.test",
             rf"relay=mx\.greet\.test\[{re.escape(h[1])}\]:{p}, {DELAYS}, "
             rf"dsn=4\.3\.2, status=deferred \(host mx\.greet\.test"
             rf"\[{re.escape(h[1])}\] refused to talk to me: "
             rf"{re.escape(greet)}\)")
    wait_folder(env.inst, "deferred", qid)
    # the server is back: "ulak flush" (Postfix's "postfix flush") sends
    # the deferred mail at once, without waiting for its back-off
    mx = env.sink(0, name="mx.dead.test")
    r = env.inst.ulak("flush")
    assert r.returncode == 0, r
    env.line("u@dead.test", sent("mx.dead.test", h[0], p, mx.queue_id))
    env.inst.wait_log(rf"{qid}: removed")


def test_implicit_mx(env):
    """no MX record: the domain's own A record. Postfix 3.7:
    'to=<u@implicit.test>, relay=implicit.test[127.61.5.10]:2525, ...,
    status=sent (...)'"""
    h, p = env.hosts, env.port
    s = env.sink(0, name="example.test")
    env.start(zone("example.test", a=h[0]),
              transport={"example.test": f"smtp:example.test:{p}"})
    env.send(["u@example.test"])
    env.line("u@example.test", sent("example.test", h[0], p, s.queue_id))
    assert s.wait()[0]["accepted"] == ["u@example.test"]


# --- DNS failures ---------------------------------------------------------

def test_null_mx_bounces(env):
    """RFC 7505. Postfix 3.7 logs dsn=5.1.0 (not 5.1.10):
    'to=<u@nullmx.test>, relay=none, delay=0, delays=0/0/0/0, dsn=5.1.0,
    status=bounced (Domain nullmx.test does not accept mail (nullMX))';
    the bounce: '<u@nullmx.test>: Domain nullmx.test does not accept mail
    (nullMX)', 'Status: 5.1.0', no Remote-MTA, 'Diagnostic-Code: X-Postfix;
    Domain nullmx.test does not accept mail (nullMX)'."""
    p = env.port
    env.start(["nullmx.test. 300 IN MX 0 ."],
              transport={"nullmx.test": f"smtp:nullmx.test:{p}"})
    env.send(["u@nullmx.test"])
    why = "Domain nullmx.test does not accept mail (nullMX)"
    env.line("u@nullmx.test", rf"relay=none, {DELAYS}, dsn=5\.1\.0, "
                              rf"status=bounced \({re.escape(why)}\)")
    check_bounce(env, "u@nullmx.test", "5.1.0", why, f"X-Postfix; {why}")


def test_nxdomain_bounces(env):
    """Postfix 3.7 (NXDOMAIN for the MX query, then for the A query):
    'to=<u@nosuch.test>, relay=none, delay=0, delays=0/0/0/0, dsn=5.4.4,
    status=bounced (Host or domain name not found. Name service error for
    name=nosuch.test type=A: Host not found)'"""
    p = env.port
    env.start(zone("other.test", a=env.hosts[0]), nxdomain=["nosuch.test"],
              transport={"nosuch.test": f"smtp:nosuch.test:{p}"})
    env.send(["u@nosuch.test"])
    why = ("Host or domain name not found. Name service error for "
           "name=nosuch.test type=A: Host not found")
    env.line("u@nosuch.test", rf"relay=none, {DELAYS}, dsn=5\.4\.4, "
                              rf"status=bounced \({re.escape(why)}\)")
    check_bounce(env, "u@nosuch.test", "5.4.4", why, f"X-Postfix; {why}")


def test_servfail_defers(env):
    """Postfix 3.7: 'to=<u@servfail.test>, relay=none, delay=3,
    delays=0/0.01/3/0, dsn=4.4.3, status=deferred (Host or domain name not
    found. Name service error for name=servfail.test type=MX: Host not
    found, try again)'; no bounce, the message waits in deferred/."""
    p = env.port
    env.start(zone("other.test", a=env.hosts[0]),
              servfail=["servfail.test"],
              transport={"servfail.test": f"smtp:servfail.test:{p}"})
    env.send(["u@servfail.test"])
    why = ("Host or domain name not found. Name service error for "
           "name=servfail.test type=MX: Host not found, try again")
    qid, _ = env.line("u@servfail.test",
                      rf"relay=none, {DELAYS}, dsn=4\.4\.3, "
                      rf"status=deferred \({re.escape(why)}\)")
    q = postqueue(env.inst, "-p")
    assert re.search(rf"^{qid}\s", q.stdout, re.M), q.stdout
    assert f"({why})" in unfold(q.stdout), q.stdout
    assert env.bounces.messages == []


# --- routing by configuration ---------------------------------------------

def test_relayhost(env):
    """relayhost = [addr]:port: no DNS at all. Postfix 3.7 for
    [127.61.5.10]:2525: 'relay=127.61.5.10[127.61.5.10]:2525, ...,
    status=sent (...)'"""
    h, p = env.hosts, env.port
    s = env.sink(0, name="relay.example.test")
    env.start(main=f"relayhost = [{h[0]}]:{p}\n", bounce_sink=False)
    env.send(["u@far.test", "v@elsewhere.test"])
    for rcpt in ("u@far.test", "v@elsewhere.test"):
        env.line(rcpt, sent(h[0], h[0], p, s.queue_id))
    m = s.wait(log=env.inst.logtext)
    assert sorted(m[0]["accepted"]) == ["u@far.test", "v@elsewhere.test"]


def test_transport_maps_per_domain_and_per_address(env):
    """transport_maps: a user@domain entry wins over the domain entry;
    'special@implicit.test smtp:[127.61.5.10]:2525' gave Postfix 3.7
    'relay=127.61.5.10[127.61.5.10]:2525'."""
    h, p = env.hosts, env.port
    mx = env.sink(0, name="mx1.example.test")
    one = env.sink(1, name="special.example.test")
    other = env.sink(2, name="other.example.test")
    env.start(zone("example.test", [(10, "mx1.example.test", h[0])]),
              transport={"special@example.test": f"smtp:[{h[1]}]:{p}",
                         "example.test": f"smtp:example.test:{p}",
                         "other.test": f"smtp:[{h[2]}]:{p}"})
    env.send(["u@example.test", "special@example.test", "x@other.test"])
    env.line("u@example.test", sent("mx1.example.test", h[0], p,
                                    mx.queue_id))
    env.line("special@example.test", sent(h[1], h[1], p, one.queue_id))
    env.line("x@other.test", sent(h[2], h[2], p, other.queue_id))
    assert mx.wait()[0]["accepted"] == ["u@example.test"]
    assert one.wait()[0]["accepted"] == ["special@example.test"]
    assert other.wait()[0]["accepted"] == ["x@other.test"]


def test_lmtp_unix_socket(env):
    """lmtp:unix:/path, one reply per recipient after the data. Postfix
    3.7 logged, with myhostname as the host of a UNIX socket:
    'to=<a@lmtp.test>, relay=mx.example.test[/tmp/.../lmtp.sock], ...,
    dsn=2.1.5, status=sent (250 2.1.5 <a@lmtp.test> delivered as ...)',
    'to=<nobody@lmtp.test>, ..., dsn=5.1.1, status=bounced (host
    mx.example.test[/tmp/.../lmtp.sock] said: 550 5.1.1 <nobody@lmtp.test>
    User doesn't exist (in reply to RCPT TO command))',
    'to=<later@lmtp.test>, ..., dsn=4.2.2, status=deferred (host
    mx.example.test[/tmp/.../lmtp.sock] said: 452 4.2.2 <later@lmtp.test>
    Mailbox full (in reply to end of DATA command))'"""
    path = str(env.inst.root / "lmtp.sock")
    s = Sink(path=path, lmtp=True, name="lmtp.sink.test", rcpt={
        "nobody@lmtp.test": "550 5.1.1 <nobody@lmtp.test> User doesn't exist"
    }, data_reply={
        "later@lmtp.test": "452 4.2.2 <later@lmtp.test> Mailbox full"}).start()
    env.peers.append(s)
    env.start(transport={"lmtp.test": f"lmtp:unix:{path}"})
    env.send(["a@lmtp.test", "nobody@lmtp.test", "later@lmtp.test"])
    relay = rf"relay={re.escape(ME_HOST)}\[{re.escape(path)}\], {DELAYS}"
    host = rf"host {re.escape(ME_HOST)}\[{re.escape(path)}\] said"
    env.line("a@lmtp.test", rf"{relay}, dsn=2\.1\.5, status=sent \(250 "
                            rf"2\.1\.5 <a@lmtp\.test> delivered as "
                            rf"{s.queue_id}\)", agent="lmtp")
    env.line("nobody@lmtp.test",
             rf"{relay}, dsn=5\.1\.1, status=bounced \({host}: 550 5\.1\.1 "
             r"<nobody@lmtp\.test> User doesn't exist \(in reply to RCPT TO "
             r"command\)\)", agent="lmtp")
    env.line("later@lmtp.test",
             rf"{relay}, dsn=4\.2\.2, status=deferred \({host}: 452 4\.2\.2 "
             r"<later@lmtp\.test> Mailbox full \(in reply to end of DATA "
             r"command\)\)", agent="lmtp")
    m = s.wait()[0]
    assert m["helo"] == f"LHLO {ME_HOST}"
    assert m["accepted"] == ["a@lmtp.test", "later@lmtp.test"]
    check_bounce(env, "nobody@lmtp.test", "5.1.1",
                 f"host {ME_HOST}[{path}] said: 550 5.1.1 <nobody@lmtp.test>"
                 " User doesn't exist (in reply to RCPT TO command)",
                 "smtp; 550 5.1.1 <nobody@lmtp.test> User doesn't exist",
                 remote_mta=f"dns; {ME_HOST}")


# --- replies of the remote server -----------------------------------------

def test_remote_4xx_deferred_then_delivered_on_flush(env):
    """Postfix 3.7: 'to=<slow@rcpt.test>, relay=mx.rcpt.test[...]:2525,
    ..., dsn=4.2.1, status=deferred (host mx.rcpt.test[127.61.5.11] said:
    450 4.2.1 <slow@rcpt.test>: Recipient address rejected: try again later
    (in reply to RCPT TO command))'; postqueue -f delivers it at once once
    the server accepts."""
    h, p = env.hosts, env.port
    reply = ("450 4.2.1 <u@example.test>: Recipient address rejected: "
             "try again later")
    mx = env.sink(0, name="mx1.example.test", rcpt={"u@example.test": reply})
    env.start(zone("example.test", [(10, "mx1.example.test", h[0])]),
              transport={"example.test": f"smtp:example.test:{p}"})
    env.send(["u@example.test"])
    qid, _ = env.line(
        "u@example.test",
        rf"relay=mx1\.example\.test\[{re.escape(h[0])}\]:{p}, {DELAYS}, "
        rf"dsn=4\.2\.1, status=deferred \(host mx1\.example\.test"
        rf"\[{re.escape(h[0])}\] said: {re.escape(reply)} \(in reply to "
        r"RCPT TO command\)\)")
    wait_folder(env.inst, "deferred", qid)
    assert mx.messages == []
    mx.rcpt = {}
    f = postqueue(env.inst, "-f")
    assert (f.returncode, f.stdout, f.stderr) == (0, "", ""), f
    env.line("u@example.test", sent("mx1.example.test", h[0], p,
                                    mx.queue_id))
    assert mx.wait()[0]["accepted"] == ["u@example.test"]
    env.inst.wait_log(rf"{qid}: removed")


def test_5xx_for_one_recipient_bounced_others_delivered(env):
    """One session, MAIL, three RCPTs and DATA pipelined; the 550 is
    bounced, the two others are delivered. Postfix 3.7:
    'to=<bad@rcpt.test>, relay=mx.rcpt.test[127.61.5.11]:2525, ...,
    dsn=5.1.1, status=bounced (host mx.rcpt.test[127.61.5.11] said: 550
    5.1.1 <bad@rcpt.test>: Recipient address rejected: User unknown (in
    reply to RCPT TO command))' and in the bounce 'Remote-MTA: dns;
    mx.rcpt.test', 'Diagnostic-Code: smtp; 550 5.1.1 <bad@rcpt.test>:
    Recipient address rejected: User unknown'."""
    h, p = env.hosts, env.port
    reply = ("550 5.1.1 <bad@example.test>: Recipient address rejected: "
             "User unknown")
    mx = env.sink(0, name="mx1.example.test", rcpt={"bad@example.test": reply})
    env.start(zone("example.test", [(10, "mx1.example.test", h[0])]),
              transport={"example.test": f"smtp:example.test:{p}"})
    env.send(["good1@example.test", "bad@example.test", "good2@example.test"],
             body="Subject: three\n\nfor three\n")
    for r in ("good1@example.test", "good2@example.test"):
        env.line(r, sent("mx1.example.test", h[0], p, mx.queue_id))
    host = f"host mx1.example.test[{h[0]}] said"
    env.line("bad@example.test",
             rf"relay=mx1\.example\.test\[{re.escape(h[0])}\]:{p}, {DELAYS}, "
             rf"dsn=5\.1\.1, status=bounced \({re.escape(host)}: "
             rf"{re.escape(reply)} \(in reply to RCPT TO command\)\)")
    m = mx.wait(log=env.inst.logtext)
    assert len(m) == 1 and sorted(m[0]["accepted"]) == [
        "good1@example.test", "good2@example.test"], m
    assert len(mx.sessions) == 1
    msg = check_bounce(
        env, "bad@example.test", "5.1.1",
        f"{host}: {reply} (in reply to RCPT TO command)", f"smtp; {reply}",
        remote_mta="dns; mx1.example.test")
    inner = msg.get_payload()[2].get_payload()[0]
    assert inner["Subject"] == "three"
    assert inner["Return-Path"] == f"<{SENDER}>"



def test_dsn_notify_decides_the_bounce(env):
    """A 550 for mail that came in over SMTP: with NOTIFY=FAILURE the
    sender gets the bounce, with NOTIFY=NEVER none.  Postfix 3.7 logged
    'status=bounced (host mx.rcpt.test[127.61.5.11] said: 550 5.1.1 ...)'
    for both and 'sender non-delivery notification' for the first only."""
    h, p = env.hosts, env.port
    reply = ("550 5.1.1 <bad@example.test>: Recipient address rejected: "
             "User unknown")
    env.sink(0, name="mx1.example.test", rcpt={"bad@example.test": reply})
    sport = free_port()
    env.start(zone("example.test", [(10, "mx1.example.test", h[0])]),
              transport={"example.test": f"smtp:example.test:{p}"},
              smtpd_port=sport)
    smtp_submit(sport, ["bad@example.test"], b"Subject: never\r\n\r\nn\r\n",
                (), ["NOTIFY=NEVER"])
    smtp_submit(sport, ["bad@example.test"], b"Subject: failure\r\n\r\nf\r\n",
                (), ["NOTIFY=FAILURE"])
    bounced = (rf"relay=mx1\.example\.test\[{re.escape(h[0])}\]:{p}, "
               rf"{DELAYS}, dsn=5\.1\.1, status=bounced \(host "
               rf"mx1\.example\.test\[{re.escape(h[0])}\] said: "
               rf"{re.escape(reply)} \(in reply to RCPT TO command\)\)")
    log = env.inst.wait_log(rf"({ID}): to=<bad@example\.test>, {bounced}\n",
                            count=2, timeout=SINK_TIMEOUT)
    msg = check_bounce(
        env, "bad@example.test", "5.1.1",
        f"host mx1.example.test[{h[0]}] said: {reply} (in reply to RCPT TO "
        "command)", f"smtp; {reply}", remote_mta="dns; mx1.example.test")
    assert msg.get_payload()[2].get_payload()[0]["Subject"] == "failure"
    time.sleep(1)   # a second bounce would have come by now
    assert len(env.bounces.messages) == 1, env.inst.logtext()
    # Both bounced, one notification (which one: the Subject above; the
    # two deliveries may end in either order).
    qids = [m.group(1) for m in re.finditer(
        rf"({ID}): to=<bad@example\.test>, {bounced}\n", log)]
    notes = re.findall(rf"({ID}): sender non-delivery notification: {ID}\n",
                       env.inst.logtext())
    assert len(qids) == 2 and len(notes) == 1 and notes[0] in qids, \
        (qids, notes)


# --- real peers -----------------------------------------------------------

def smtp_submit(port, rcpts, data, mail_options=(), rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.ehlo("client.test")
        refused = c.sendmail(SENDER, rcpts, data,
                             mail_options=list(mail_options),
                             rcpt_options=list(rcpt_options))
        assert refused == {}


EIGHT = ("Subject: caf\u00e9\r\n\r\nbody with caf\u00e9 \u00e0 la "
         "cr\u00e8me\r\n").encode()


def aiosmtpd_run(env):
    """ulak relays two messages that came in over SMTP to Python's
    aiosmtpd: an 8-bit one with every DSN parameter, and a 7-bit one for
    two recipients with NOTIFY=NEVER.  Returns {recipient: (the read
    that holds its RCPT, the envelope aiosmtpd got)} and the sessions'
    wire texts."""
    h, p = env.hosts, env.port
    aio = AioSink(h[0], p).start()
    env.peers.append(aio)
    sport = free_port()
    env.start(transport={"aio.test": f"smtp:[{h[0]}]:{p}"},
              smtpd_port=sport, bounce_sink=False)
    smtp_submit(sport, ["u8@aio.test"], EIGHT,
                ["BODY=8BITMIME", "RET=HDRS", "ENVID=env+2Bid42"],
                ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;orig+2Bx@aio.test"])
    aio.wait(log=env.inst.logtext)
    env.line("u8@aio.test",
             rf"relay={re.escape(h[0])}\[{re.escape(h[0])}\]:{p}, {DELAYS}, "
             r"dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued by "
             r"aiosmtpd\)")
    smtp_submit(sport, ["u7@aio.test", "w7@aio.test"],
                b"Subject: plain\r\n\r\nplain\r\n", (), ["NOTIFY=NEVER"])
    envs = aio.wait(2, log=env.inst.logtext)
    sessions = [r for r in aio.reads if r]   # not the ready probe
    wire = [b"".join(r).decode("utf-8", "replace") for r in sessions]
    reads = [r.decode("utf-8", "replace") for s in sessions for r in s]
    out = {}
    for rcpt, e in (("u8@aio.test", envs[0]), ("u7@aio.test", envs[1])):
        rd = [r for r in reads if f"RCPT TO:<{rcpt}>" in r]
        assert len(rd) == 1, reads
        out[rcpt] = (rd[0], e)
    return out, wire


def test_aiosmtpd_peer_pipelining_and_8bitmime(env):
    """As Postfix 3.7 sends to a server that offers PIPELINING: after EHLO,
    'MAIL FROM:<alice@sender.test> SIZE=350 BODY=8BITMIME ...', the RCPTs
    and 'DATA' in one packet; BODY=8BITMIME for the 8-bit message only."""
    got, wire = aiosmtpd_run(env)
    assert any(w.startswith(f"EHLO {ME_HOST}\r\n") for w in wire), wire
    read8, env8 = got["u8@aio.test"]
    lines = read8.split("\r\n")
    assert len(lines) == 4 and lines[0].startswith(
        "MAIL FROM:<alice@sender.test> ") and lines[1].startswith(
        "RCPT TO:<u8@aio.test>") and lines[2:] == ["DATA", ""], read8
    assert " BODY=8BITMIME" in lines[0]
    assert env8[0] == SENDER and env8[2] == ["u8@aio.test"]
    assert "body with caf\u00e9 \u00e0 la cr\u00e8me".encode() in env8[4]
    assert re.search(rb"^Received: from client\.test \(localhost "
                     rb"\[127\.0\.0\.1\]\)\r\n\tby " + ME_HOST.encode()
                     + rb" \(ulak\) with ESMTP id ", env8[4], re.M), env8[4]
    read7, env7 = got["u7@aio.test"]
    lines = read7.split("\r\n")
    assert len(lines) == 5 and lines[0].startswith(
        "MAIL FROM:<alice@sender.test> ") and lines[3:] == ["DATA", ""], \
        read7
    assert sorted(ln.split()[1] for ln in lines[1:3]) == [
        "TO:<u7@aio.test>", "TO:<w7@aio.test>"], read7
    assert "BODY=" not in lines[0], read7
    assert sorted(env7[2]) == ["u7@aio.test", "w7@aio.test"]


def test_aiosmtpd_peer_dsn_parameters(env):
    """Postfix 3.7 passed on 'ENVID=env+2Bid42 RET=HDRS' (in that order,
    after SIZE and BODY) and 'RCPT TO:<u8@pref.test>
    ORCPT=rfc822;orig+2Bx@pref.test NOTIFY=SUCCESS,FAILURE'; for
    recipients without ORCPT it sends their address: 'RCPT
    TO:<u7@pref.test> ORCPT=rfc822;u7@pref.test NOTIFY=NEVER'."""
    got, _ = aiosmtpd_run(env)
    mail, rcpt = got["u8@aio.test"][0].split("\r\n")[:2]
    lines7 = got["u7@aio.test"][0].split("\r\n")
    checks = [(mail, "MAIL FROM:<alice@sender.test>",
               ["SIZE", "BODY=8BITMIME", "ENVID=env+2Bid42", "RET=HDRS"]),
              (rcpt, "RCPT TO:<u8@aio.test>",
               ["ORCPT=rfc822;orig+2Bx@aio.test", "NOTIFY=SUCCESS,FAILURE"]),
              (lines7[0], "MAIL FROM:<alice@sender.test>", ["SIZE"])]
    for ln in lines7[1:3]:
        to = ln.split()[1][4:-1]
        checks.append((ln, f"RCPT TO:<{to}>",
                       [f"ORCPT=rfc822;{to}", "NOTIFY=NEVER"]))
    for line, head, want in checks:   # the values first, then the order
        params(line, head, want, order=False)
    for line, head, want in checks:
        params(line, head, want)


def test_aiosmtpd_peer_size(env):
    """SIZE= is what Postfix 3.7 counts for a message of short lines: the
    bytes of DATA as sent, CRLFs included.  Its 'SIZE=393' came with 393
    bytes of DATA (13 lines, 380 bytes with LF ends; its qmgr logged
    'size=393'), 'SIZE=322' with 322 bytes in 9 lines."""
    got, _ = aiosmtpd_run(env)
    for rcpt in ("u8@aio.test", "u7@aio.test"):
        read, e = got[rcpt]
        size = int(re.search(r"^MAIL FROM:<[^>]*> SIZE=(\d+)( |\r)",
                             read).group(1))
        assert size == len(e[4]), (rcpt, size, len(e[4]),
                                   e[4].count(b"\r\n"))


def params(line, head, want, order=True):
    """LINE is HEAD and the parameters WANT (SIZE's value left out):
    first which ones with which values, then in Postfix's order"""
    assert line.startswith(head + " ") or line == head, line
    got = ["SIZE" if p.startswith("SIZE=") else p
           for p in line[len(head):].split()]
    assert "SIZE" not in want or re.search(r" SIZE=\d+( |$)", line), line
    assert sorted(got) == sorted(want), line
    assert got == want or not order, \
        f"{line}: not in Postfix's order {want}"

def wait_text(read, pattern, timeout=20):
    """READ() once PATTERN is in it"""
    end = time.time() + timeout
    while time.time() < end:
        text = read()
        if re.search(pattern, text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in:\n{read()}")


@pytest.mark.skipif(not AS_ROOT, reason="a Postfix instance runs as root "
                    "only: its master drops to the postfix user")
def test_postfix_peer_both_ways(env):
    """Postfix 3.7 relays into ulak's smtpd, which delivers to a Maildir;
    ulak relays to that Postfix, which relays on to a sink."""
    h, p = env.hosts, env.port
    out = env.sink(0, name="beyond.example.test")
    sport, pport = free_port(), free_port()
    pdir = tempfile.mkdtemp(prefix="ulak-postfix-", dir="/tmp")
    with open(f"{pdir}/transport", "w") as f:
        f.write(f"beyond.test smtp:[{h[0]}]:{p}\n"
                f"virt.test smtp:[127.0.0.1]:{sport}\n")
    pf = PostfixPeer(pdir, pport,
                     f"transport_maps = texthash:{pdir}/transport\n")
    base, vconf = virtual_setup(env.inst, ["joe"])
    try:
        pf.start()
        env.start(transport={"beyond.test": f"smtp:[127.0.0.1]:{pport}"},
                  main=vconf, smtpd_port=sport, bounce_sink=False)
        # Postfix -> ulak's smtpd -> Maildir
        smtp_submit(pport, ["joe@virt.test"],
                    b"Subject: from postfix\r\n\r\ninto ulak\r\n")
        msg = maildir_messages(env.inst, base / "joe" / "new")[0]
        assert re.search(rb"Received: from mx\.example\.test \(localhost "
                         rb"\[127\.0\.0\.1\]\)\n\tby " + ME_HOST.encode()
                         + rb" \(ulak\) with ESMTP id [0-9A-F]+\n", msg), msg
        assert msg.endswith(b"\n\ninto ulak\n"), msg
        wait_text(pf.log,
                  rf"to=<joe@virt\.test>, relay=127\.0\.0\.1"
                  rf"\[127\.0\.0\.1\]:{sport}, {DELAYS}, dsn=2\.0\.0, "
                  rf"status=sent \(250 2\.0\.0 Ok: queued as {ID}\)")
        # ulak -> Postfix -> sink
        env.send(["far@beyond.test"], body="Subject: via postfix\n\nhop\n")
        got = out.wait(log=lambda: env.inst.logtext() + pf.log())[0]
        assert got["accepted"] == ["far@beyond.test"]
        pid = re.search(rb"by mx\.example\.test \(Postfix\) with ESMTP id "
                        rb"([0-9A-F]+)", got["data"])
        assert pid, got["data"]
        assert re.search(rb"Received: from " + ME_HOST.encode()
                         + rb" \(localhost \[127\.0\.0\.1\]\)\r\n",
                         got["data"]), got["data"]
        env.line("far@beyond.test",
                 rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{pport}, {DELAYS}, "
                 r"dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as "
                 + pid.group(1).decode() + r"\)")
    finally:
        pf.stop()
        shutil.rmtree(pdir, ignore_errors=True)
