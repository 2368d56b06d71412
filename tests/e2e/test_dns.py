"""The tests' own DNS server (dnsserver.py) answers as the smtp tests expect.

Queries are built by hand (dnsserver.query); what ulak's resolver makes of
the same answers (SERVFAIL for a refused name, ...) is checked by the unit
tests src/global/dns_test.c and src/smtp/smtp_addr_test.c, which start this
server too.
"""
import socket

import pytest

from conftest import run
from dnsserver import DnsServer, query

A, MX, AAAA, TXT = 1, 15, 28, 16
NOERROR, NXDOMAIN, REFUSED = 0, 3, 5

RECORDS = [
    "example.test. 300 IN MX 10 mx1.example.test.",
    "example.test. 300 IN MX 20 mx2.example.test.",
    "mx1.example.test. IN A 127.0.0.2",
    "mx2.example.test. IN AAAA ::1",
    'txt.test. IN TXT "v=spf1 -all"',
    "hidden.gone.test. IN A 127.0.0.3",
]


def test_answers(tmp_path):
    with DnsServer(tmp_path, RECORDS, servfail=["broken.test"],
                   nxdomain=["gone.test"]) as dns:
        host, port = dns.servers.split(":")
        assert host == "127.0.0.1" and int(port) == dns.port
        assert query(dns.port, "example.test", MX) == (NOERROR, 2)
        assert query(dns.port, "mx1.example.test", A) == (NOERROR, 1)
        assert query(dns.port, "mx2.example.test", AAAA) == (NOERROR, 1)
        assert query(dns.port, "txt.test", TXT) == (NOERROR, 1)
        # the name exists, the type does not: NODATA
        assert query(dns.port, "mx1.example.test", AAAA) == (NOERROR, 0)
        # no records under .test (or anywhere): NXDOMAIN
        assert query(dns.port, "nosuch.test", MX) == (NXDOMAIN, 0)
        assert query(dns.port, "example.com", A) == (NXDOMAIN, 0)
        # nxdomain wins over records below it
        assert query(dns.port, "hidden.gone.test", A) == (NXDOMAIN, 0)
        # refused (libunbound, ulak's forwarder, turns it into SERVFAIL)
        assert query(dns.port, "x.broken.test", A) == (REFUSED, 0)
    # stopped: nothing answers any more
    with pytest.raises(OSError):
        query(dns.port, "example.test", MX, timeout=0.3)


def test_two_servers_and_restart(tmp_path):
    a = DnsServer(tmp_path / "a", ["a.test. IN A 127.0.0.5"]).start()
    b = DnsServer(tmp_path / "b", ["b.test. IN A 127.0.0.6"]).start()
    try:
        assert a.port != b.port
        assert query(a.port, "a.test", A) == (NOERROR, 1)
        assert query(b.port, "a.test", A) == (NXDOMAIN, 0)
    finally:
        a.stop()
        b.stop()
    a.start()
    try:
        assert query(a.port, "a.test", A) == (NOERROR, 1)
    finally:
        a.stop()


def test_bad_record_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="unbound.conf"):
        DnsServer(tmp_path, ["example.test. IN MX notanumber"]).start()


def test_parameter_is_known(tmp_path):
    """ulak_dns_servers is an ulak parameter: postconf knows it, empty by
    default, and takes the server's value."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "main.cf").write_text("ulak_dns_servers = 127.0.0.1:5353\n")
    (etc / "master.cf").write_text("")
    r = run("postconf", "-c", etc, "-d", "ulak_dns_servers")
    assert r.rc == 0 and r.out == "ulak_dns_servers =\n"
    r = run("postconf", "-c", etc, "-n")
    assert "ulak_dns_servers = 127.0.0.1:5353\n" in r.out.splitlines(True)
    assert "unused parameter" not in r.err and "unknown" not in r.err
