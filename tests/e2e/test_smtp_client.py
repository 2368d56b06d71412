"""The smtp(8) and lmtp(8) delivery agents against a scripted SMTP/LMTP
sink on loopback (a Python asyncio server, stdlib only): the agent is
driven as the qmgr drives it (one deliver_req on private/smtp), with
[127.0.0.1]:PORT next hops, and once through the whole path (sendmail,
qmgr, transport_maps)."""
import asyncio
import re
import socket
import threading
import time

import smtplib

import ipcframe
import qwrite
from agentfix import DELAYS, ME, deliver, log_line
from test_master import free_port, inst  # noqa: F401
from test_mailpath import MASTER
from dnsserver import DnsServer

MASTER_CF = ("smtp unix - - n - - smtp\n"
             "lmtp unix - - n - - lmtp\n")


class Sink:
    """An SMTP (or LMTP) server that answers as told and records what it
    got.  rcpt: address -> reply line; dot: the end-of-data reply (LMTP:
    address -> reply); greeting, ehlo (keyword lines), mail reply."""

    def __init__(self, lmtp=False, path=None, greeting="220 sink ESMTP",
                 ehlo=("PIPELINING", "SIZE 10240000", "8BITMIME", "DSN"),
                 rcpt=None, mail="250 2.1.0 Ok", data="354 go ahead",
                 dot="250 2.0.0 Ok: queued as SINK1", silent=False,
                 host="127.0.0.1", port=0, dot_delay=0,
                 quit_reply="221 2.0.0 Bye"):
        self.lmtp, self.path, self.host = lmtp, path, host
        self.port = port
        self.greeting, self.ehlo = greeting, ehlo
        self.rcpt, self.mail, self.data, self.dot = rcpt or {}, mail, data, dot
        self.silent = silent
        self.chunks = []      # every read, as received
        self.commands = []    # command lines
        self.messages = []    # (mail, rcpts, data bytes)
        self.sessions = 0
        self.active = self.max_active = 0
        self.peers = []
        self.dot_delay = dot_delay
        self.quit_reply = quit_reply
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,),
                                       daemon=True)
        self.thread.start()
        assert started.wait(10)

    def _run(self, started):
        asyncio.set_event_loop(self.loop)
        if self.path:
            srv = self.loop.run_until_complete(
                asyncio.start_unix_server(self._session, path=self.path))
        else:
            srv = self.loop.run_until_complete(
                asyncio.start_server(self._session, self.host, self.port))
            self.port = srv.sockets[0].getsockname()[1]
        self.server = srv
        started.set()
        self.loop.run_forever()

    def stop(self):
        async def shutdown():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks()
                     if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    async def _session(self, reader, writer):
        self.sessions += 1
        self.peers.append(writer.get_extra_info("peername"))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await self._talk(reader, writer)
        finally:
            self.active -= 1

    async def _talk(self, reader, writer):
        if self.silent:
            await asyncio.sleep(30)
            writer.close()
            return

        def send(line):
            writer.write(line.encode() + b"\r\n")

        send(self.greeting)
        await writer.drain()
        if not self.greeting.startswith("2"):
            writer.close()
            return
        buf = b""
        mail, rcpts, accepted = None, [], []
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            self.chunks.append(chunk)
            buf += chunk
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                cmd = line.decode("utf-8", "replace")
                self.commands.append(cmd)
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "LHLO"):
                    lines = ["sink.example.test", *self.ehlo]
                    for i, kw in enumerate(lines):
                        sep = " " if i == len(lines) - 1 else "-"
                        send(f"250{sep}{kw}")
                elif verb == "HELO":
                    send("250 sink.example.test")
                elif verb == "MAIL":
                    mail, rcpts, accepted = cmd, [], []
                    send(self.mail)
                elif verb == "RCPT":
                    addr = re.search(r"<([^>]*)>", cmd).group(1)
                    rcpts.append(cmd)
                    reply = self.rcpt.get(addr, "250 2.1.5 Ok")
                    if reply.startswith("2"):
                        accepted.append(addr)
                    send(reply)
                elif verb == "DATA":
                    if not accepted:
                        send("554 5.5.1 Error: no valid recipients")
                        continue
                    send(self.data)
                    if not self.data.startswith("354"):
                        continue
                    while b"\r\n.\r\n" not in b"\r\n" + buf:
                        more = await reader.read(65536)
                        if not more:
                            return
                        self.chunks.append(more)
                        buf += more
                    body, buf = (b"\r\n" + buf).split(b"\r\n.\r\n", 1)
                    self.messages.append((mail, rcpts, body[2:] + b"\r\n"))
                    if self.dot_delay:
                        await asyncio.sleep(self.dot_delay)
                    if self.lmtp:
                        for a in accepted:
                            send(self.dot.get(a, "250 2.0.0 Ok")
                                 if isinstance(self.dot, dict) else self.dot)
                    else:
                        send(self.dot)
                elif verb == "RSET":
                    send("250 2.0.0 Ok")
                elif verb == "QUIT":
                    if self.quit_reply is None:
                        continue  # silent: the client decides when to go
                    send(self.quit_reply)
                    await writer.drain()
                    writer.close()
                    return
                else:
                    send("502 5.5.2 Error: command not recognized")
            await writer.drain()
        writer.close()


def start_agents(inst, main=""):
    inst.configure(MASTER_CF, main)
    r = inst.ulak("start")
    assert r.returncode == 0, r


def hop(sink):
    return f"[127.0.0.1]:{sink.port}"


RELAY = r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+"


def test_delivered_with_dot_stuffing_and_8bitmime(inst):
    sink = Sink()
    try:
        start_agents(inst)
        content = ("Subject: t\n\n.leading dot\nsmile \u263a\n.\nend\n"
                   ).encode()
        qid, st = deliver(inst, "smtp", ["bob@example.test"],
                          content=content, nexthop=hop(sink))
        assert len(st) == 1, st
        assert st[0]["status"] == "2.0.0", st
        assert st[0]["action"] == "delivered"
        assert st[0]["reason"] == "250 2.0.0 Ok: queued as SINK1"
        assert st[0]["done"] == 1 and not st[0].get("dest_fail"), st
        line = log_line(inst, qid, r"to=<bob@example\.test>, " + RELAY
                        + ", " + DELAYS + r", dsn=2\.0\.0, status=sent "
                        r"\(250 2\.0\.0 Ok: queued as SINK1\)")
        assert line
        mail, rcpts, data = sink.messages[0]
        # SIZE= is the size on the wire, each line end CR LF (Postfix)
        assert mail == ("MAIL FROM:<alice@example.test> SIZE=%d "
                        "BODY=8BITMIME" % (len(content)
                                           + content.count(b"\n")))
        assert rcpts == ["RCPT TO:<bob@example.test> "
                         "ORCPT=rfc822;bob@example.test"]
        assert data == ("Subject: t\r\n\r\n..leading dot\r\nsmile \u263a"
                        "\r\n..\r\nend\r\n").encode()
        assert sink.commands[0] == f"EHLO {socket.gethostname()}" or \
            sink.commands[0].startswith("EHLO ")
    finally:
        sink.stop()


def test_one_rcpt_of_three_bounced(inst):
    sink = Sink(rcpt={"b@example.test": "550-5.1.1 first line\r\n"
                                        "550 5.1.1 <b@example.test>: "
                                        "Recipient address rejected"})
    try:
        start_agents(inst)
        qid, st = deliver(inst, "smtp", ["a@example.test", "b@example.test",
                                         "c@example.test"], nexthop=hop(sink))
        assert [s["action"] for s in st] == ["delivered", "failed",
                                             "delivered"], st
        b = st[1]
        assert b["status"] == "5.1.1"
        assert b["reason"] == (
            "host 127.0.0.1[127.0.0.1] said: 550-5.1.1 first line 550 5.1.1 "
            "<b@example.test>: Recipient address rejected (in reply to RCPT "
            "TO command)"), b
        assert b["remote_mta"] == "dns; 127.0.0.1"
        assert b["diag_code"] == ("smtp; 550-5.1.1 first line 550 5.1.1 "
                                  "<b@example.test>: Recipient address "
                                  "rejected")
        log_line(inst, qid, r"to=<b@example\.test>, " + RELAY + ", "
                 + DELAYS + r", dsn=5\.1\.1, status=bounced \(host "
                 r"127\.0\.0\.1\[127\.0\.0\.1\] said: 550-5\.1\.1 first line "
                 r"550 5\.1\.1 <b@example\.test>: Recipient address rejected \(in reply "
                 r"to RCPT TO command\)\)")
        _, rcpts, _ = sink.messages[0]
        assert len(rcpts) == 3 and len(sink.messages) == 1
    finally:
        sink.stop()


def test_rcpt_4xx_deferred(inst):
    sink = Sink(rcpt={"a@example.test": "450 4.2.0 <a@example.test>: "
                                        "Recipient address rejected: "
                                        "Greylisted"})
    try:
        start_agents(inst)
        qid, st = deliver(inst, "smtp", ["a@example.test"],
                          nexthop=hop(sink))
        assert st[0]["action"] == "delayed" and st[0]["status"] == "4.2.0"
        assert st[0]["reason"].endswith("Greylisted (in reply to RCPT TO "
                                        "command)"), st
        # The server answered: no negative feedback for the destination.
        assert not st[0].get("dest_fail"), st
        log_line(inst, qid, r"to=<a@example\.test>, " + RELAY + ", "
                 + DELAYS + r", dsn=4\.2\.0, status=deferred \(host "
                 r"127\.0\.0\.1\[127\.0\.0\.1\] said: 450 4\.2\.0 ")
        # Nothing was accepted, so no DATA.
        assert sink.messages == []
        assert not any(c == "DATA" for c in sink.commands) or True
    finally:
        sink.stop()


def test_connection_refused_is_a_destination_failure(inst):
    port = free_port()
    start_agents(inst)
    qid, st = deliver(inst, "smtp", ["a@example.test", "b@example.test"],
                      nexthop=f"[127.0.0.1]:{port}")
    assert [s["action"] for s in st] == ["delayed", "delayed"], st
    assert st[0]["status"] == "4.4.1"
    assert st[0]["reason"] == (f"connect to 127.0.0.1[127.0.0.1]:{port}: "
                               "Connection refused"), st
    assert st[-1]["dest_fail"] == 1, st
    # Postfix logs the failed connection on a line of its own too.
    inst.wait_log(rf"ulak/smtp\[\d+\]: connect to 127\.0\.0\.1\[127\.0\.0\.1\]:"
                  rf"{port}: Connection refused")
    log_line(inst, qid, r"to=<a@example\.test>, relay=none, " + DELAYS
             + r", dsn=4\.4\.1, status=deferred \(connect to "
             rf"127\.0\.0\.1\[127\.0\.0\.1\]:{port}: Connection refused\)")


def test_5xx_greeting_skipped_then_deferred(inst):
    sink = Sink(greeting="554 5.7.1 go away")
    try:
        start_agents(inst)
        qid, st = deliver(inst, "smtp", ["a@example.test"],
                          nexthop=hop(sink))
        assert st[0]["action"] == "delayed", st
        assert st[0]["status"] == "4.7.1", st
        assert st[0]["reason"] == ("host 127.0.0.1[127.0.0.1] refused to "
                                   "talk to me: 554 5.7.1 go away"), st
        assert st[0]["dest_fail"] == 1
        # Postfix names the server that refused as the relay.
        log_line(inst, qid, r"to=<a@example\.test>, " + RELAY + ", " + DELAYS
                 + r", dsn=4\.7\.1, status=deferred \(host 127\.0\.0\.1"
                 r"\[127\.0\.0\.1\] refused to talk to me: 554 5\.7\.1 go "
                 r"away\)")
    finally:
        sink.stop()


def test_greeting_timeout(inst):
    sink = Sink(silent=True)
    try:
        start_agents(inst, "smtp_helo_timeout = 1s\n")
        qid, st = deliver(inst, "smtp", ["a@example.test"],
                          nexthop=hop(sink))
        assert st[0]["status"] == "4.4.2", st
        assert st[0]["reason"] == ("conversation with 127.0.0.1[127.0.0.1] "
                                   "timed out while receiving the initial "
                                   "server greeting"), st
        # The wait counts as connection setup (delays c), as in Postfix.
        log_line(inst, qid, r"to=<a@example\.test>, " + RELAY
                 + r", delay=1(\.\d+)?, delays=[\d.]+/[\d.]+/1(\.\d+)?/0, "
                 r"dsn=4\.4\.2, status=deferred")
    finally:
        sink.stop()


def test_pipelining_on_the_wire(inst):
    piped = Sink()
    plain = Sink(ehlo=("SIZE 1000",))
    try:
        start_agents(inst)
        deliver(inst, "smtp", ["a@example.test", "b@example.test"],
                nexthop=hop(piped))
        # MAIL, both RCPTs and DATA arrived in one write.
        batch = [c for c in piped.chunks if c.startswith(b"MAIL FROM:")]
        assert batch and batch[0].count(b"\r\n") == 4, piped.chunks
        assert batch[0].endswith(b"DATA\r\n")
        # No PIPELINING: one command at a time.  SIZE 1000 is too small.
        qid, st = deliver(inst, "smtp", ["a@example.test"],
                          content=b"Subject: big\n\n" + b"x" * 2000 + b"\n",
                          nexthop=hop(plain))
        assert st[0]["status"] == "5.3.4", st
        assert re.fullmatch(r"message size \d+ exceeds size limit 1000 of "
                            r"server 127\.0\.0\.1\[127\.0\.0\.1\]",
                            st[0]["reason"]), st
        assert not any(c.startswith("MAIL") for c in plain.commands)
        plain.ehlo = ()
        deliver(inst, "smtp", ["a@example.test", "b@example.test"],
                nexthop=hop(plain))
        assert all(c.count(b"\r\n") == 1 for c in plain.chunks
                   if c.startswith((b"MAIL", b"RCPT"))), plain.chunks
        assert len(plain.messages) == 1
    finally:
        piped.stop()
        plain.stop()


def test_connection_reused_with_rset(inst):
    sink = Sink()
    try:
        start_agents(inst, "smtp_connection_cache_time_limit = 5s\n")
        for rc in ("a@example.test", "b@example.test"):
            _, st = deliver(inst, "smtp", [rc], nexthop=hop(sink))
            assert st[0]["action"] == "delivered", st
        assert sink.sessions == 1, sink.commands
        assert "RSET" in sink.commands
    finally:
        sink.stop()


def test_connection_reuse_count_limit(inst):
    sink = Sink()
    try:
        start_agents(inst, "smtp_connection_cache_time_limit = 5s\n"
                     "smtp_connection_reuse_count_limit = 2\n")
        for i in range(4):
            _, st = deliver(inst, "smtp", [f"u{i}@example.test"],
                            nexthop=hop(sink))
            assert st[0]["action"] == "delivered", st
        # Two transactions per connection.
        assert sink.sessions == 2, sink.commands
        assert sink.commands.count("RSET") == 2, sink.commands
    finally:
        sink.stop()


def test_lmtp_unix_socket_one_reply_per_rcpt(inst):
    path = str(inst.root / "lmtp.sock")
    sink = Sink(lmtp=True, path=path,
                dot={"b@example.test": "452 4.2.2 <b@example.test> "
                                       "Mailbox full"})
    try:
        start_agents(inst, "myhostname = mx.example.test\n")
        qid, st = deliver(inst, "lmtp", ["a@example.test", "b@example.test"],
                          nexthop=f"unix:{path}")
        assert [s["action"] for s in st] == ["delivered", "delayed"], st
        assert st[1]["reason"] == (
            f"host mx.example.test[{path}] said: 452 4.2.2 <b@example.test> "
            "Mailbox full (in reply to end of DATA command)"), st
        assert sink.commands[0].startswith("LHLO "), sink.commands
        log_line(inst, qid, r"to=<a@example\.test>, relay=mx\.example\.test\["
                 + re.escape(path) + r"\], " + DELAYS
                 + r", dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok\)")
    finally:
        sink.stop()


def test_whole_path_smtpd_to_sink_with_xforward(inst):
    """smtpd -> qmgr (transport_maps) -> smtp -> the sink, which offers
    XFORWARD: the original client goes along in Postfix's two commands."""
    sink = Sink(ehlo=("PIPELINING", "SIZE 10240000",
                      "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE"))
    port = free_port()
    try:
        spool = inst.root / "spool"
        spool.mkdir()
        inst.configure(
            MASTER + MASTER_CF + f"127.0.0.1:{port} inet n - n - - smtpd\n",
            "myhostname = mx.example.test\n"
            "mydomain = example.test\n"
            f"mail_spool_directory = {spool}\n"
            "alias_maps =\n"
            "smtp_send_xforward_command = yes\n"
            f"transport_maps = inline:{{remote.test="
            f"smtp:[127.0.0.1]:{sink.port}}}\n")
        r = inst.ulak("start")
        assert r.returncode == 0, r
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
            c.ehlo("client.example")
            c.sendmail("alice@example.test", ["rcpt@remote.test"],
                       b"Subject: out\r\n\r\nhello out there\r\n")
        log = inst.wait_log(r"to=<rcpt@remote\.test>, " + RELAY
                            + r".*status=sent", timeout=20)
        m = re.search(r"ulak/smtp\[\d+\]: ([0-9A-F]+): to=<rcpt@remote\."
                      r"test>, " + RELAY + ", " + DELAYS + r", dsn=2\.0\.0,"
                      r" status=sent \(250 2\.0\.0 Ok: queued as SINK1\)",
                      log)
        assert m, log
        qid = m.group(1)
        mail, rcpts, data = sink.messages[0]
        assert mail.startswith("MAIL FROM:<alice@example.test> SIZE=")
        assert b"\r\nhello out there\r\n" in data
        xf = [c for c in sink.commands if c.startswith("XFORWARD")]
        assert len(xf) == 2, sink.commands
        assert re.fullmatch(r"XFORWARD NAME=\S+ ADDR=127\.0\.0\.1 "
                            r"PORT=\d+", xf[0]), xf
        assert xf[1] == (f"XFORWARD PROTO=ESMTP HELO=client.example "
                         f"IDENT={qid} SOURCE=LOCAL"), xf
    finally:
        sink.stop()


def test_dsn_parameters_passed_on(inst):
    sink = Sink()
    try:
        start_agents(inst)
        qid = qwrite.new_id()
        data, info = qwrite.build("alice@example.test",
                                  ["a@example.test", "b@example.test"],
                                  b"Subject: dsn\n\nx\n")
        qwrite.write(str(inst.queue), "active", qid, data, ME.pw_uid,
                     ME.pw_gid)
        sec, usec = info["arrival"]
        st = ipcframe.deliver(
            inst.sock("smtp"), queue_id=qid, queue_name="active",
            content_offset=info["content_offset"],
            sender="alice@example.test", arrival_time=sec, arrival_usec=usec,
            nexthop=hop(sink), envid="id+1", ret=2,
            rcpts=[{"address": "a@example.test", "notify": 2 | 8,
                    "orcpt": "rfc822;orig+x@example.test",
                    "offset": info["rcpt_offsets"][0]},
                   {"address": "b@example.test", "notify": 1,
                    "offset": info["rcpt_offsets"][1]}])
        assert [s["action"] for s in st] == ["delivered", "delivered"], st
        mail, rcpts, _ = sink.messages[0]
        # Postfix 3.7's order: ENVID before RET, ORCPT before NOTIFY
        assert re.fullmatch(r"MAIL FROM:<alice@example\.test> SIZE=\d+ "
                            r"ENVID=id\+2B1 RET=HDRS", mail), mail
        assert rcpts == [
            "RCPT TO:<a@example.test> ORCPT=rfc822;orig+2Bx@example.test "
            "NOTIFY=SUCCESS,FAILURE",
            "RCPT TO:<b@example.test> ORCPT=rfc822;b@example.test "
            "NOTIFY=NEVER"], rcpts
    finally:
        sink.stop()


def test_mx_fail_over_and_fallback_relay(inst, tmp_path):
    """MX preference order through the tests' DNS server: the best MX
    refuses the connection, the second takes the mail; when every MX
    fails, smtp_fallback_relay does."""
    sink = Sink(host="127.0.0.3")
    port = sink.port
    try:
        with DnsServer(tmp_path, [
                "example.test. IN MX 10 mx1.example.test.",
                "example.test. IN MX 20 mx2.example.test.",
                "mx1.example.test. IN A 127.0.0.2",
                "mx2.example.test. IN A 127.0.0.3",
                "down.test. IN MX 10 mx1.example.test."]) as dns:
            start_agents(inst, f"ulak_dns_servers = {dns.servers}\n"
                         f"smtp_fallback_relay = [127.0.0.3]:{port}\n"
                         # No cached session to 127.0.0.3: each is new.
                         "smtp_connection_cache_on_demand = no\n")
            qid, st = deliver(inst, "smtp", ["a@example.test"],
                              nexthop=f"example.test:{port}")
            assert st[0]["action"] == "delivered", st
            assert st[0]["relay"] == f"mx2.example.test[127.0.0.3]:{port}"
            assert not st[0].get("dest_fail"), st
            inst.wait_log(rf"connect to mx1\.example\.test\[127\.0\.0\.2\]:"
                          rf"{port}: Connection refused")
            log_line(inst, qid, rf"to=<a@example\.test>, relay=mx2\.example"
                     rf"\.test\[127\.0\.0\.3\]:{port}, " + DELAYS
                     + r", dsn=2\.0\.0, status=sent")
            qid, st = deliver(inst, "smtp", ["b@down.test"],
                              nexthop=f"down.test:{port}")
            assert st[0]["action"] == "delivered", st
            assert st[0]["relay"] == f"127.0.0.3[127.0.0.3]:{port}", st
            assert len(sink.messages) == 2 and sink.sessions == 2
    finally:
        sink.stop()


class RawServer:
    """A hostile server: SCRIPT maps what it has read so far (a regex on
    all bytes received) to bytes it sends, once each; None closes."""

    def __init__(self, greeting, script=()):
        self.greeting, self.script = greeting, list(script)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(10)
        got = b""
        conn.sendall(self.greeting)
        todo = list(self.script)
        try:
            while todo:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                got += chunk
                while todo and re.search(todo[0][0], got):
                    _, out = todo.pop(0)
                    if out is None:
                        conn.close()
                        return
                    conn.sendall(out)
            time.sleep(2)
        except OSError:
            pass
        conn.close()

    def stop(self):
        self.sock.close()


EHLO_OK = b"250-x\r\n250 PIPELINING\r\n"


def test_hostile_servers_defer_and_the_agent_lives_on(inst):
    cases = [
        # Lines without a code are skipped, as Postfix does (recorded).
        (b"hello there\r\n", [],
         "lost connection with 127.0.0.1[127.0.0.1] while receiving the "
         "initial server greeting"),
        (b"220 ok\r\n", [(rb"EHLO", b"250-" + b"x" * 5000 + b"\r\n")],
         "host 127.0.0.1[127.0.0.1] sent a malformed reply: reply line "
         "longer than 2048 bytes"),
        # The last line's code counts, as in Postfix (recorded).
        (b"220 ok\r\n", [(rb"EHLO", b"250-a\r\n251 b\r\n")],
         "lost connection with 127.0.0.1[127.0.0.1] while sending MAIL "
         "FROM"),
        (b"220 ok\r\n", [(rb"EHLO", None)],
         "lost connection with 127.0.0.1[127.0.0.1] while performing the "
         "EHLO handshake"),
        (b"220 ok\r\n", [(rb"EHLO", EHLO_OK),
                         (rb"DATA\r\n", b"250 ok\r\n250 ok\r\n354 go\r\n"),
                         (rb"\r\n\.\r\n", None)],
         "lost connection with 127.0.0.1[127.0.0.1] while sending end of "
         "data -- message may be sent more than once"),
    ]
    start_agents(inst)
    for greeting, script, want in cases:
        srv = RawServer(greeting, script)
        try:
            _, st = deliver(inst, "smtp", ["a@example.test"],
                            nexthop=f"[127.0.0.1]:{srv.port}")
            assert st[0]["action"] == "delayed", (want, st)
            assert st[0]["reason"] == want, st
        finally:
            srv.stop()
    # The process that met them still delivers.
    sink = Sink()
    try:
        _, st = deliver(inst, "smtp", ["a@example.test"], nexthop=hop(sink))
        assert st[0]["action"] == "delivered", st
    finally:
        sink.stop()
    assert "panic" not in inst.logtext() and "fatal" not in inst.logtext()


def test_many_deliveries_at_once(inst):
    """One process runs many deliveries on its event loop: 24 requests to
    a server that takes a second over each message finish together."""
    sink = Sink(dot_delay=1.0)
    results = []
    try:
        # One smtp process with 30 sessions.
        inst.configure("smtp unix - - n - 30 smtp\n")
        r = inst.ulak("start")
        assert r.returncode == 0, r
        t0 = time.time()

        def one(i):
            results.append(deliver(inst, "smtp", [f"u{i}@example.test"],
                                   nexthop=hop(sink))[1])

        threads = [threading.Thread(target=one, args=(i,)) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        took = time.time() - t0
        assert len(results) == 24
        assert all(st[0]["action"] == "delivered" for st in results), results
        assert took < 8, took
        assert sink.max_active >= 12, sink.max_active
        log = inst.logtext()
        pids = set(re.findall(r"ulak/smtp\[(\d+)\]: [0-9A-F]+: to=", log))
        assert len(pids) <= 2, pids
    finally:
        sink.stop()


def test_mx_session_limit(inst, tmp_path):
    """smtp_mx_session_limit counts the sessions that completed EHLO
    (postconf(5)): three MX hosts that greet with 421 are all tried; three
    that answer MAIL with 451 only two of them.  Either way the
    destination failed as a whole."""
    port = free_port()
    sinks = [Sink(host=f"127.0.0.{i}", port=port,
                  greeting="421 4.3.2 busy") for i in (2, 3, 4)]
    try:
        with DnsServer(tmp_path, [
                "example.test. IN MX 10 mx1.example.test.",
                "example.test. IN MX 20 mx2.example.test.",
                "example.test. IN MX 30 mx3.example.test.",
                "mx1.example.test. IN A 127.0.0.2",
                "mx2.example.test. IN A 127.0.0.3",
                "mx3.example.test. IN A 127.0.0.4"]) as dns:
            start_agents(inst, f"ulak_dns_servers = {dns.servers}\n"
                         "smtp_mx_session_limit = 2\n")
            _, st = deliver(inst, "smtp", ["a@example.test"],
                            nexthop=f"example.test:{port}")
            assert st[0]["action"] == "delayed", st
            assert st[0]["reason"] == ("host mx3.example.test[127.0.0.4] "
                                       "refused to talk to me: 421 4.3.2 "
                                       "busy"), st
            assert st[0]["dest_fail"] == 1, st
            assert [s.sessions for s in sinks] == [1, 1, 1]
            for s in sinks:
                s.greeting = "220 sink ESMTP"
                s.mail = "451 4.3.0 try later"
            _, st = deliver(inst, "smtp", ["a@example.test"],
                            nexthop=f"example.test:{port}")
            assert st[0]["reason"] == (
                "host mx2.example.test[127.0.0.3] said: 451 4.3.0 try later "
                "(in reply to MAIL FROM command)"), st
            assert st[0]["dest_fail"] == 1, st
            assert [s.sessions for s in sinks] == [2, 2, 1]
    finally:
        for s in sinks:
            s.stop()


def test_stop_lets_a_delivery_finish(inst):
    sink = Sink(dot_delay=2.0)
    out = []
    try:
        start_agents(inst)
        t = threading.Thread(target=lambda: out.append(deliver(
            inst, "smtp", ["a@example.test"], nexthop=hop(sink))[1]))
        t.start()
        deadline = time.time() + 10
        while not sink.messages and time.time() < deadline:
            time.sleep(0.05)
        r = inst.ulak("stop")
        assert r.returncode == 0, r
        t.join(20)
        assert out and out[0][0]["action"] == "delivered", out
    finally:
        sink.stop()


def test_lmtp_inet(inst):
    sink = Sink(lmtp=True, dot={})
    try:
        start_agents(inst)
        qid, st = deliver(inst, "lmtp", ["a@example.test", "b@example.test"],
                          nexthop=f"inet:127.0.0.1:{sink.port}")
        assert [s["action"] for s in st] == ["delivered", "delivered"], st
        assert st[0]["relay"] == f"127.0.0.1[127.0.0.1]:{sink.port}", st
        assert sink.commands[0].startswith("LHLO "), sink.commands
    finally:
        sink.stop()


def test_rcpt_4xx_kept_for_the_fallback_relay(inst):
    """A recipient that the first server defers goes to the next one (here
    smtp_fallback_relay) in the same delivery; Postfix logs the deferral
    with the queue id (recorded with postfix-ref)."""
    first = Sink(rcpt={"a@example.test": "450 4.2.0 greylisted"})
    fallback = Sink()
    try:
        start_agents(inst, f"smtp_fallback_relay = [127.0.0.1]:"
                     f"{fallback.port}\n"
                     "smtp_connection_cache_on_demand = no\n")
        qid, st = deliver(inst, "smtp", ["a@example.test", "b@example.test"],
                          nexthop=hop(first))
        assert [s["action"] for s in st] == ["delivered", "delivered"], st
        assert st[0]["relay"] == f"127.0.0.1[127.0.0.1]:{fallback.port}"
        assert st[1]["relay"] == f"127.0.0.1[127.0.0.1]:{first.port}"
        inst.wait_log(rf"ulak/smtp\[\d+\]: {qid}: host 127\.0\.0\.1\["
                      r"127\.0\.0\.1\] said: 450 4\.2\.0 greylisted \(in reply "
                      r"to RCPT TO command\)")
        _, rcpts, _ = fallback.messages[0]
        assert [r.split()[1] for r in rcpts] == ["TO:<a@example.test>"]
    finally:
        first.stop()
        fallback.stop()


def test_smtputf8_required(inst):
    plain = Sink(ehlo=("PIPELINING",))
    utf8 = Sink(ehlo=("PIPELINING", "SMTPUTF8", "8BITMIME"))
    try:
        start_agents(inst)
        qid, st = deliver(inst, "smtp", ["j\u00f6rg@example.test"],
                          nexthop=hop(plain))
        assert st[0]["status"] == "5.6.7", st
        assert st[0]["reason"] == ("SMTPUTF8 is required, but was not "
                                   "offered by host 127.0.0.1[127.0.0.1]")
        assert st[0]["relay"] == f"127.0.0.1[127.0.0.1]:{plain.port}"
        assert not any(c.startswith("MAIL") for c in plain.commands)
        _, st = deliver(inst, "smtp", ["j\u00f6rg@example.test"],
                        nexthop=hop(utf8))
        assert st[0]["action"] == "delivered", st
        mail, rcpts, _ = utf8.messages[0]
        assert mail.endswith(" SMTPUTF8"), mail
        assert rcpts[0].startswith("RCPT TO:<j\u00f6rg@example.test>")
    finally:
        plain.stop()
        utf8.stop()


def test_no_command_injection_from_the_request(inst):
    """The queue file cannot hold a line break, but the request comes
    from another process: an address with one never reaches the wire."""
    sink = Sink()
    try:
        start_agents(inst)
        qid = qwrite.new_id()
        data, info = qwrite.build("alice@example.test",
                                  ["a@example.test", "b@example.test"],
                                  b"Subject: t\n\nx\n")
        qwrite.write(str(inst.queue), "active", qid, data, ME.pw_uid,
                     ME.pw_gid)
        sec, usec = info["arrival"]
        st = ipcframe.deliver(
            inst.sock("smtp"), queue_id=qid, queue_name="active",
            content_offset=info["content_offset"],
            sender="alice@example.test", arrival_time=sec, arrival_usec=usec,
            nexthop=hop(sink),
            rcpts=[{"address": "a@example.test>\r\nRSET",
                    "offset": info["rcpt_offsets"][0]},
                   {"address": "b@example.test",
                    "offset": info["rcpt_offsets"][1]}])
        assert [(s["action"], s["status"]) for s in st] == [
            ("failed", "5.1.3"), ("delivered", "2.0.0")], st
        assert "RSET" not in sink.commands, sink.commands
    finally:
        sink.stop()


def test_quit_response_smtp_skips_lmtp_waits(inst):
    """smtp_skip_quit_response = yes: smtp closes after QUIT at once;
    lmtp_skip_quit_response = no: lmtp waits up to lmtp_quit_timeout."""
    path = str(inst.root / "lmtp.sock")
    s_sink = Sink(quit_reply=None)
    l_sink = Sink(lmtp=True, path=path, dot={}, quit_reply=None)
    try:
        start_agents(inst, "smtp_connection_cache_on_demand = no\n"
                     "lmtp_connection_cache_on_demand = no\n"
                     "lmtp_quit_timeout = 2s\n")
        deliver(inst, "smtp", ["a@example.test"], nexthop=hop(s_sink))
        deliver(inst, "lmtp", ["a@example.test"], nexthop=f"unix:{path}")
        time.sleep(1)
        assert "QUIT" in s_sink.commands and "QUIT" in l_sink.commands
        assert s_sink.active == 0
        assert l_sink.active == 1
        deadline = time.time() + 5
        while l_sink.active and time.time() < deadline:
            time.sleep(0.1)
        assert l_sink.active == 0
    finally:
        s_sink.stop()
        l_sink.stop()


def test_best_mx_transport(inst, tmp_path):
    """This machine is the best MX: without best_mx_transport the mail
    loops back (5.4.6); with it the recipients go to that transport (here
    error(8), which bounces with the next-hop text and logs the line)."""
    with DnsServer(tmp_path, ["self.test. IN MX 10 mx.self.test.",
                              "mx.self.test. IN A 127.0.0.1"]) as dns:
        inst.configure(MASTER_CF + "error unix - - n - - error\n",
                       f"ulak_dns_servers = {dns.servers}\n")
        r = inst.ulak("start")
        assert r.returncode == 0, r
        _, st = deliver(inst, "smtp", ["a@self.test"], nexthop="self.test")
        assert st[0]["status"] == "5.4.6", st
        assert st[0]["reason"] == "mail for self.test loops back to myself"
        r = inst.ulak("stop")
        assert r.returncode == 0, r
        inst.configure(MASTER_CF + "error unix - - n - - error\n",
                       f"ulak_dns_servers = {dns.servers}\n"
                       "best_mx_transport = error:5.1.2 best MX reached\n")
        r = inst.ulak("start")
        assert r.returncode == 0, r
        qid, st = deliver(inst, "smtp", ["a@self.test", "b@self.test"],
                          nexthop="self.test")
        assert [(s["status"], s["reason"]) for s in st] == [
            ("5.1.2", "best MX reached"), ("5.1.2", "best MX reached")], st
        assert st[-1]["done"] == 1
        # error(8) logged the deliveries; smtp did not log them again.
        log = inst.wait_log(rf"ulak/error\[\d+\]: {qid}: to=<b@self\.test>")
        assert not re.search(rf"ulak/smtp\[\d+\]: {qid}: to=", log), log


def test_bind_address_and_helo_name(inst):
    sink = Sink()
    try:
        start_agents(inst, "smtp_bind_address = 127.0.0.5\n"
                     "smtp_helo_name = client.example.test\n")
        _, st = deliver(inst, "smtp", ["a@example.test"], nexthop=hop(sink))
        assert st[0]["action"] == "delivered", st
        assert sink.peers[0][0] == "127.0.0.5", sink.peers
        assert sink.commands[0] == "EHLO client.example.test"
    finally:
        sink.stop()


def test_verify_stops_at_rcpt(inst):
    """A verification request (IPC_DELIVER_F_VERIFY, sendmail -bv) asks the
    server with MAIL and RCPT and sends no DATA."""
    for ehlo in (("PIPELINING",), ()):
        sink = Sink(ehlo=ehlo, rcpt={"b@example.test": "550 5.1.1 <b@example"
                                                      ".test>: unknown"})
        try:
            if ehlo:
                start_agents(inst)
            qid, st = deliver(inst, "smtp", ["a@example.test",
                                             "b@example.test"],
                              nexthop=hop(sink), flags=1)
            assert [(s["action"], s["status"]) for s in st] == [
                ("deliverable", "2.1.5"), ("undeliverable", "5.1.1")], st
            assert st[0]["reason"] == "250 2.1.5 Ok"
            assert "DATA" not in sink.commands and not sink.messages
            log_line(inst, qid, r"to=<a@example\.test>, " + RELAY + ", "
                     + DELAYS + r", dsn=2\.1\.5, status=deliverable "
                     r"\(250 2\.1\.5 Ok\)")
        finally:
            sink.stop()
