"""anvil: the connection count and rate server of the smtpd processes,
under a real master, spoken to by two client streams as two smtpd
processes would (ipc frames on private/anvil)."""
import re
import socket
import struct
import time

from ipcframe import (ANVIL_REPLY, anvil_req, decode_anvil_reply, frame,
                      recv_frame)
from test_master import inst, start  # noqa: F401 (the fixture)

MASTER_CF = "anvil unix - - n - 1 anvil\n"


class Peer:
    """One client stream of anvil (one smtpd process)."""

    def __init__(self, inst):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(10)
        self.s.connect(inst.sock("anvil"))
        self.rid = 0

    def send(self, op, client, service="smtp"):
        self.rid += 1
        self.s.sendall(anvil_req(self.rid, op, service, client))
        return self.rid

    def reply(self, rid):
        f = recv_frame(self.s)
        assert f is not None, "anvil closed the stream"
        t, v, got, body = f
        assert (t, v) == ANVIL_REPLY
        assert got == rid, f"reply to request {got}, want {rid}"
        return decode_anvil_reply(body)

    def ask(self, op, client, service="smtp"):
        return self.reply(self.send(op, client, service))

    def close(self):
        self.s.close()


def up(inst, main=""):
    inst.configure(MASTER_CF, main)
    start(inst)


def lookup_until(peer, client, want_count, timeout=5.0):
    """anvil takes back a closed stream's connections when it sees the end
    of file: ask until it did."""
    end = time.time() + timeout
    while True:
        r = peer.ask("lookup", client)
        if r["count"] == want_count or time.time() > end:
            return r
        time.sleep(0.05)


def test_counts_and_rates_across_two_streams(inst):
    up(inst, "anvil_status_update_time = 1s\n")
    a, b = Peer(inst), Peer(inst)
    assert a.ask("connect", "192.0.2.1") == dict(
        status=0, count=1, rate=1, conn_rate=0, mail_rate=0, rcpt_rate=0,
        ntls_rate=0, auth_rate=0)
    r = b.ask("connect", "192.0.2.1")
    assert (r["count"], r["rate"]) == (2, 2)
    # another service is another counter
    r = b.ask("connect", "192.0.2.1", service="submission")
    assert (r["count"], r["rate"]) == (1, 1)
    assert a.ask("message", "192.0.2.1")["rate"] == 1
    assert b.ask("message", "192.0.2.1")["rate"] == 2
    for n in range(1, 4):
        assert a.ask("recipient", "192.0.2.1")["rate"] == n
    assert a.ask("newtls", "192.0.2.1")["rate"] == 1
    assert b.ask("newtls_report", "192.0.2.1")["rate"] == 1
    assert b.ask("auth", "192.0.2.1")["rate"] == 1
    assert a.ask("lookup", "192.0.2.1") == dict(
        status=0, count=2, rate=0, conn_rate=2, mail_rate=2, rcpt_rate=3,
        ntls_rate=1, auth_rate=1)
    # pipelined: three requests in one write, answered in order
    s = b""
    for rid, op in ((101, "connect"), (102, "message"), (103, "lookup")):
        s += anvil_req(rid, op, "smtp", "2001:db8::5")
    b.s.sendall(s)
    assert b.reply(101)["count"] == 1
    assert b.reply(102)["rate"] == 1
    assert b.reply(103)["mail_rate"] == 1
    # a disconnect takes back one connection; a disconnect of a connection
    # the stream never counted changes nothing
    assert a.ask("disconnect", "192.0.2.1")["count"] == 1
    assert a.ask("disconnect", "192.0.2.1")["count"] == 1
    assert b.ask("lookup", "192.0.2.1")["count"] == 1
    text = inst.wait_log(
        r"anvil\[\d+\]: statistics: max connection count 2 for "
        r"\(smtp:192\.0\.2\.1\) at [A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d\n")
    assert re.search(r"anvil\[\d+\]: statistics: max connection rate 2/60s "
                     r"for \(smtp:192\.0\.2\.1\) at ", text)
    assert re.search(r"anvil\[\d+\]: statistics: max recipient rate 3/60s "
                     r"for \(smtp:192\.0\.2\.1\) at ", text)
    assert re.search(r"anvil\[\d+\]: statistics: max cache size 3 at ", text)
    a.close()
    b.close()


def test_stream_end_drops_its_connections(inst):
    # (time settings far beyond what a timer takes must work too)
    up(inst, "anvil_rate_time_unit = 36500d\n"
             "anvil_status_update_time = 36500d\n")
    a, b = Peer(inst), Peer(inst)
    for _ in range(3):
        a.ask("connect", "192.0.2.7")
    assert b.ask("connect", "192.0.2.7")["count"] == 4
    a.ask("connect", "192.0.2.8")
    # the smtpd process behind a crashes: none of its connections stays
    a.s.close()
    r = lookup_until(b, "192.0.2.7", 1)
    assert r["count"] == 1
    assert r["conn_rate"] == 4  # the rate is history: it stays
    assert b.ask("lookup", "192.0.2.8")["count"] == 0
    # and anvil serves a new stream as before
    c = Peer(inst)
    assert c.ask("connect", "192.0.2.7")["count"] == 2
    c.close()
    assert lookup_until(b, "192.0.2.7", 1)["count"] == 1
    b.close()


def test_bad_requests(inst):
    up(inst)
    a = Peer(inst)
    # an unknown op and an unprintable client are refused, the stream stays
    assert a.ask(99, "192.0.2.1")["status"] == 2
    assert a.ask("connect", "192.0.2.1 x")["status"] == 2
    assert a.ask("connect", "")["status"] == 2
    assert a.ask("connect", "x" * 256)["status"] == 2
    assert a.ask("connect", "192.0.2.1")["count"] == 1
    inst.wait_log(r"anvil\[\d+\]: warning: request with unknown op 99")
    # a frame that does not decode (an unknown field) ends the stream
    a.s.sendall(frame((7, 1), 5, struct.pack(">HI", 9, 0)))
    assert recv_frame(a.s) is None
    inst.wait_log(r"anvil\[\d+\]: warning: bad request: ")
    b = Peer(inst)
    assert lookup_until(b, "192.0.2.1", 0)["count"] == 0
    b.close()


def test_stop_with_clients_connected(inst):
    up(inst)
    a = Peer(inst)
    a.ask("connect", "192.0.2.1")
    r = inst.ulak("stop", timeout=30)
    assert r.returncode == 0, r
    # anvil ended the stream, logged its last statistics and exited
    assert recv_frame(a.s) is None
    inst.wait_log(r"anvil\[\d+\]: statistics: max connection count 1 for "
                  r"\(smtp:192\.0\.2\.1\)")
    a.close()
