"""Scripted SMTP and LMTP servers for the outbound tests: the peers that
ulak's (or Postfix's) smtp and lmtp clients talk to.

Sink(host, port) is a small threaded server that answers as it is told
(the greeting, EHLO extensions, a reply per recipient, the reply to the end
of DATA, LMTP's one reply per recipient), keeps every message it accepted
(envelope and data) and every read from the wire, so that a test can see
which commands came in one packet (PIPELINING).

Silent(host, port) listens but never accepts: the kernel completes the TCP
handshake, and the client then waits in vain for the greeting.

Addresses: each test takes its own loopback addresses from addrs() (a
random 127.x.y.0/24 block, checked free), so that tests can run in
parallel with each other and with other test runs on the machine.
"""
import os
import random
import re
import socket
import threading
import time

_lock = threading.Lock()
_taken = set()


def addrs(n=4):
    """(addresses, port): N loopback addresses of a block that no other
    test uses, and one port that is free on every one of them."""
    rnd = random.Random(os.urandom(8))
    while True:
        with _lock:
            block = f"127.{rnd.randint(16, 250)}.{rnd.randint(1, 250)}"
            if block in _taken:
                continue
            _taken.add(block)
        hosts = [f"{block}.{i}" for i in range(2, 2 + n)]
        port = _free_on(hosts, rnd)
        if port:
            return hosts, port


def _free_on(hosts, rnd):
    for _ in range(20):
        port = rnd.randint(20000, 60000)
        try:
            for h in hosts:
                with socket.socket() as s:
                    s.bind((h, port))
            return port
        except OSError:
            continue
    return None


class Sink:
    """An SMTP (or LMTP) server on HOST:PORT, or on the UNIX socket PATH.

    greeting   the first reply ("220 ..."); a 4xx or 5xx one is followed
               by 221 to QUIT and the close
    extensions the EHLO keywords after the host name; None: EHLO is
               refused with 502 (the client must fall back to HELO)
    rcpt       {address: reply} for RCPT TO; others get "250 2.1.5 Ok"
    data_reply the reply after the message ("250 2.0.0 Ok: queued as ID");
               for LMTP, {address: reply} per accepted recipient
    name       the host name in the replies
    """

    def __init__(self, host=None, port=None, path=None, lmtp=False,
                 name="mx.sink.test", greeting=None, extensions=(
                     "PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES",
                     "8BITMIME", "DSN"), rcpt=None, data_reply=None,
                 mail_reply="250 2.1.0 Ok"):
        self.host, self.port, self.path, self.lmtp = host, port, path, lmtp
        self.name = name
        self.greeting = greeting or f"220 {name} ESMTP sink"
        self.extensions = extensions
        self.rcpt = rcpt or {}
        self.mail_reply = mail_reply
        self.queue_id = "".join(random.choice("0123456789ABCDEF")
                                for _ in range(10))
        self.data_reply = data_reply or f"250 2.0.0 Ok: queued as " \
                                        f"{self.queue_id}"
        self.messages = []   # dicts: helo, mail, rcpts, data (bytes)
        self.sessions = []   # per connection: the list of reads
        self.commands = []   # every command line, in order, all sessions
        self.cond = threading.Condition()
        self.sock = None
        self.stopping = False

    def start(self):
        if self.path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(self.path)
            os.chmod(self.path, 0o777)
        else:
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((self.host, self.port))
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self.stopping = True
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait(self, n=1, timeout=20, log=None):
        """the first N messages, waiting up to TIMEOUT for them"""
        end = time.time() + timeout
        with self.cond:
            while len(self.messages) < n:
                left = end - time.time()
                if left <= 0:
                    raise AssertionError(
                        f"{self.name}: {len(self.messages)} of {n} messages;"
                        f" commands {self.commands}"
                        + (f"\nlog:\n{log()}" if log else ""))
                self.cond.wait(left)
            return self.messages[:n]

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,),
                             daemon=True).start()

    def _session(self, conn):
        reads = []
        with self.cond:
            self.sessions.append(reads)
        conn.settimeout(60)
        buf = b""

        def send(*lines):
            conn.sendall(b"".join(ln.encode() + b"\r\n" for ln in lines))

        def line():
            nonlocal buf
            while b"\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    raise EOFError
                reads.append(chunk)
                buf += chunk
            ln, buf = buf.split(b"\n", 1)
            return ln.rstrip(b"\r")

        try:
            send(self.greeting)
            if not self.greeting.startswith("2"):
                while True:
                    cmd = line().decode("latin-1")
                    self._note(cmd)
                    if cmd.upper() == "QUIT":
                        send(f"221 2.0.0 {self.name} closing")
                        return
                    send("503 5.5.1 Error: no service")
            msg = None
            helo = None
            while True:
                cmd = line().decode("latin-1")
                self._note(cmd)
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "LHLO"):
                    if self.extensions is None:
                        send("502 5.5.2 Error: command not recognized")
                        continue
                    helo = cmd
                    ext = list(self.extensions)
                    send(*[f"250-{self.name}"] + [f"250-{e}" for e in ext[:-1]]
                         + [f"250 {ext[-1]}"] if ext else [f"250 {self.name}"])
                elif verb == "HELO":
                    helo = cmd
                    send(f"250 {self.name}")
                elif verb == "MAIL":
                    msg = {"helo": helo, "mail": cmd, "rcpts": [],
                           "accepted": [], "data": None}
                    send(self.mail_reply)
                elif verb == "RCPT":
                    m = re.match(r"RCPT TO:<([^>]*)>", cmd, re.I)
                    addr = m.group(1) if m else ""
                    reply = self.rcpt.get(addr, "250 2.1.5 Ok")
                    if msg is not None:
                        msg["rcpts"].append(cmd)
                        if reply.startswith("2"):
                            msg["accepted"].append(addr)
                    send(reply)
                elif verb == "DATA":
                    if msg is None or not msg["accepted"]:
                        send("554 5.5.1 Error: no valid recipients")
                        continue
                    send("354 End data with <CR><LF>.<CR><LF>")
                    data = []
                    while True:
                        ln = line()
                        if ln == b".":
                            break
                        data.append(ln[1:] if ln.startswith(b".") else ln)
                    msg["data"] = b"\r\n".join(data) + b"\r\n"
                    if self.lmtp:
                        per = self.data_reply if isinstance(
                            self.data_reply, dict) else {}
                        send(*[per.get(a, f"250 2.1.5 <{a}> delivered as "
                                          f"{self.queue_id}")
                               for a in msg["accepted"]])
                    else:
                        send(self.data_reply)
                    with self.cond:
                        self.messages.append(msg)
                        self.cond.notify_all()
                    msg = None
                elif verb == "RSET":
                    msg = None
                    send("250 2.0.0 Ok")
                elif verb == "NOOP":
                    send("250 2.0.0 Ok")
                elif verb == "QUIT":
                    send("221 2.0.0 Bye")
                    return
                else:
                    send("502 5.5.2 Error: command not recognized")
        except (EOFError, OSError):
            pass
        finally:
            conn.close()

    def _note(self, cmd):
        with self.cond:
            self.commands.append(cmd)


class Silent:
    """A listener that never accepts: connect() succeeds, no greeting
    ever comes."""

    def __init__(self, host, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)

    def stop(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class AioSink:
    """Python's aiosmtpd (Debian's python3-aiosmtpd) as the peer, with a
    record of the wire: every read (to see PIPELINING) and the commands.

    aiosmtpd does not implement DSN: it answers 555 to NOTIFY, ORCPT, RET
    and ENVID.  The wire is recorded as it came; the DSN parameters are
    then taken out before aiosmtpd parses the commands, and DSN and
    PIPELINING are added to its EHLO reply."""

    DSN_PARAM = re.compile(rb" (?:NOTIFY|ORCPT|RET|ENVID)=[^ \r\n]*", re.I)

    def __init__(self, host, port, name="aio.sink.test"):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        sink = self
        self.reads = []      # per connection: the list of reads
        self.envelopes = []  # (mail_from, mail_options, rcpt_tos,
        #                      rcpt_options, content bytes)
        self.cond = threading.Condition()

        class Handler:
            async def handle_EHLO(self, server, session, envelope,
                                  hostname, responses):
                session.host_name = hostname
                return responses[:-1] + ["250-PIPELINING", "250-DSN",
                                         responses[-1]]

            async def handle_DATA(self, server, session, envelope):
                with sink.cond:
                    sink.envelopes.append(
                        (envelope.mail_from, list(envelope.mail_options),
                         list(envelope.rcpt_tos),
                         list(envelope.rcpt_options), envelope.content))
                    sink.cond.notify_all()
                return "250 2.0.0 Ok: queued by aiosmtpd"

        class Recording(SMTP):
            def connection_made(self, transport):
                self._reads = []
                with sink.cond:
                    sink.reads.append(self._reads)
                super().connection_made(transport)

            def data_received(self, data):
                self._reads.append(data)
                super().data_received(sink.DSN_PARAM.sub(b"", data))

        class Ctl(Controller):
            def factory(self):
                return Recording(self.handler, hostname=name,
                                 decode_data=False)

        self.ctl = Ctl(Handler(), hostname=host, port=port)

    def start(self):
        self.ctl.start()
        return self

    def stop(self):
        self.ctl.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait(self, n=1, timeout=20, log=None):
        end = time.time() + timeout
        with self.cond:
            while len(self.envelopes) < n:
                left = end - time.time()
                if left <= 0:
                    raise AssertionError(
                        f"aiosmtpd: {len(self.envelopes)} of {n} messages; "
                        f"reads {self.reads}"
                        + (f"\nlog:\n{log()}" if log else ""))
                self.cond.wait(left)
            return self.envelopes[:n]
