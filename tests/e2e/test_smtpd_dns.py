"""smtpd's DNS parts against the tests' DNS server (dnsserver.py): the
client name (PTR, then forward confirmation) in "connect from", and the
DNS restrictions: reject_unknown_client_hostname,
reject_unknown_reverse_client_hostname, reject_unknown_helo_hostname,
reject_unknown_sender_domain, reject_unknown_recipient_domain (null MX),
reject_rbl_client and the rhsbl family with filters and rbl_reply_maps,
permit_dnswl_client and permit_rhswl_client.  Every reply and log text
was recorded with Debian's Postfix 3.7 resolving through the same zone
(a private mount namespace with its own /etc/resolv.conf)."""
import socket

import pytest

from agentfix import inst  # noqa: F401
from dnsserver import DnsServer
from test_smtpd import start_smtpd

RECORDS = [
    "2.0.0.127.in-addr.arpa. PTR good.test.",
    "good.test. A 127.0.0.2",
    "3.0.0.127.in-addr.arpa. PTR bad.test.",
    "bad.test. A 127.0.0.9",
    "4.0.0.127.in-addr.arpa. PTR nx.test.",
    "7.0.0.127.in-addr.arpa. PTR sf.test.",
    "2.0.0.127.zen.test. A 127.0.0.2",
    '2.0.0.127.zen.test. TXT "Listed, see http://zen.test/q?127.0.0.2"',
    "3.0.0.127.zen.test. A 127.0.0.4",
    "spam.test.dbl.test. A 127.0.1.2",
    'spam.test.dbl.test. TXT "bad domain"',
    "good.test.dbl.test. A 127.0.1.2",
    "2.0.0.127.wl.test. A 127.0.2.1",
    "good.test.dwl.test. A 127.0.2.1",
    "mx.test. MX 10 mx1.mx.test.",
    "nullmx.test. MX 0 .",
    "aonly.test. A 127.0.0.20",
    "spam.test. A 127.0.0.21",
    "mx1.mx.test. A 127.0.0.22",
]
SERVFAIL = ["6.0.0.127.in-addr.arpa", "sf.test", "sfdom.test", "sfbl.test"]

# Each test recipient runs one restriction class (as on the reference).
CLASSES = {
    "uc": "reject_unknown_client_hostname",
    "uco": "reject_unknown_client",
    "urc": "reject_unknown_reverse_client_hostname",
    "uh": "reject_unknown_helo_hostname",
    "us": "reject_unknown_sender_domain",
    "ur": "reject_unknown_recipient_domain",
    "rbl": "reject_rbl_client zen.test",
    "rblf": "reject_rbl_client zen.test=127.0.0.3",
    "rblsf": "reject_rbl_client sfbl.test, reject_rhsbl_sender sfbl.test",
    "rhs": "reject_rhsbl_sender dbl.test",
    "rhsc": "reject_rhsbl_client dbl.test",
    "rhsh": "reject_rhsbl_helo dbl.test",
    "rhsr": "reject_rhsbl_reverse_client dbl.test",
    "rhsf": "reject_rhsbl_sender dbl.test=127.0.1.[1;3..9]",
    "wl": "permit_dnswl_client wl.test, reject",
    "rhswl": "permit_rhswl_client dwl.test, reject",
    "wlsf": "permit_dnswl_client sfbl.test, reject",
    "rblmap": "reject_rbl_client zen.test",
    "rhswlsf": "permit_rhswl_client sfbl.test, reject",
    "rhsrcpt": "reject_rhsbl_recipient dbl.test",
}


@pytest.fixture
def dns(tmp_path):
    with DnsServer(tmp_path, RECORDS, servfail=SERVFAIL) as d:
        yield d


def start(inst, dns, extra=""):
    rcpt = inst.root / "rcpt"
    lines = []
    for cls in CLASSES:
        lines.append(f"{cls}@example.test {cls}")
        lines.append(f"{cls}@mx.example.test {cls}")
    for d in ("nxdom.test", "sfdom.test", "nullmx.test", "mx.test",
              "aonly.test"):
        lines.append(f"ur@{d} ur")
    lines.append("rhsrcpt@spam.test rhsrcpt")
    rcpt.write_text("\n".join(lines) + "\n")
    rblmap = inst.root / "rblmap"
    rblmap.write_text("zen.test 521 $client_address is on $rbl_domain"
                      "${rbl_reason? ($rbl_reason)} for <$recipient>\n")
    main = (f"ulak_dns_servers = {dns.servers}\n"
            "smtpd_restriction_classes = " + " ".join(CLASSES) + "\n"
            + "".join(f"{k} = {v}\n" for k, v in CLASSES.items())
            + f"smtpd_recipient_restrictions = check_recipient_access "
            f"texthash:{rcpt}, permit\n"
            "local_recipient_maps =\n" + extra)
    port, _ = start_smtpd(inst, main)
    return port


def session(port, src, helo, sender, rcpt):
    """one SMTP session from SRC; the greeting and the RCPT reply"""
    s = socket.create_connection(("127.0.0.1", port), timeout=15,
                                 source_address=(src, 0))
    f = s.makefile("rb")

    def reply():
        while True:
            ln = f.readline().decode("latin-1").rstrip("\r\n")
            if len(ln) < 4 or ln[3] != "-":
                return ln

    def cmd(line):
        s.sendall((line + "\r\n").encode())
        return reply()

    greeting = reply()
    assert greeting.startswith("220 "), greeting
    assert cmd(f"EHLO {helo}").startswith("250")
    assert cmd(f"MAIL FROM:<{sender}>").startswith("250")
    r = cmd(f"RCPT TO:<{rcpt}>")
    cmd("QUIT")
    s.close()
    return r


def test_client_names_and_unknown_client(inst, dns):
    port = start(inst, dns, "unknown_client_reject_code = 550\n")
    cases = [
        # source, class, reply
        ("127.0.0.2", "uc", "250 2.1.5 Ok"),
        ("127.0.0.2", "urc", "250 2.1.5 Ok"),
        ("127.0.0.3", "uc", "550 5.7.25 Client host rejected: cannot find "
         "your hostname, [127.0.0.3]"),
        ("127.0.0.3", "uco", "550 5.7.25 Client host rejected: cannot find "
         "your hostname, [127.0.0.3]"),
        ("127.0.0.3", "urc", "250 2.1.5 Ok"),
        ("127.0.0.4", "uc", "550 5.7.25 Client host rejected: cannot find "
         "your hostname, [127.0.0.4]"),
        ("127.0.0.5", "uc", "550 5.7.25 Client host rejected: cannot find "
         "your hostname, [127.0.0.5]"),
        ("127.0.0.5", "urc", "550 5.7.1 Client host rejected: cannot find "
         "your reverse hostname, [127.0.0.5]"),
        ("127.0.0.6", "uc", "450 4.7.25 Client host rejected: cannot find "
         "your hostname, [127.0.0.6]"),
        ("127.0.0.6", "urc", "450 4.7.1 Client host rejected: cannot find "
         "your reverse hostname, [127.0.0.6]"),
        ("127.0.0.7", "uc", "450 4.7.25 Client host rejected: cannot find "
         "your hostname, [127.0.0.7]"),
        ("127.0.0.7", "urc", "250 2.1.5 Ok"),
    ]
    for src, cls, want in cases:
        got = session(port, src, "good.test", "a@mx.test",
                      f"{cls}@example.test")
        assert got == want, (src, cls, got)
    log = inst.wait_log(r"connect from unknown\[127\.0\.0\.7\]")
    for line in [
            "connect from good.test[127.0.0.2]",
            "connect from unknown[127.0.0.3]",
            "warning: hostname bad.test does not resolve to address "
            "127.0.0.3",
            "warning: hostname nx.test does not resolve to address "
            "127.0.0.4: Name or service not known",
            "connect from unknown[127.0.0.5]",
            "connect from unknown[127.0.0.6]",
            "warning: hostname sf.test does not resolve to address "
            "127.0.0.7: Temporary failure in name resolution",
            "NOQUEUE: reject: RCPT from unknown[127.0.0.3]: 550 5.7.25 "
            "Client host rejected: cannot find your hostname, [127.0.0.3]; "
            "from=<a@mx.test> to=<uc@example.test> proto=ESMTP "
            "helo=<good.test>"]:
        assert line in log, (line, log)
    # The host file still comes first: 127.0.0.1 is localhost.
    assert session(port, "127.0.0.1", "x.test", "a@mx.test",
                   "uc@example.test") == "250 2.1.5 Ok"
    assert "connect from localhost[127.0.0.1]" in inst.wait_log(
        r"connect from localhost")


def test_unknown_helo_sender_recipient(inst, dns):
    port = start(inst, dns, "unknown_hostname_reject_code = 550\n"
                 "unknown_address_reject_code = 550\n")
    cases = [
        ("good.test", "a@mx.test", "uh@example.test", "250 2.1.5 Ok"),
        ("nx.test", "a@mx.test", "uh@example.test",
         "550 5.7.1 <nx.test>: Helo command rejected: Host not found"),
        ("sf.test", "a@mx.test", "uh@example.test",
         "450 4.7.1 <sf.test>: Helo command rejected: Host not found"),
        ("nullmx.test", "a@mx.test", "uh@example.test", "250 2.1.5 Ok"),
        ("[127.0.0.1]", "a@mx.test", "uh@example.test", "250 2.1.5 Ok"),
        ("good.test", "a@nxdom.test", "us@example.test",
         "550 5.1.8 <a@nxdom.test>: Sender address rejected: Domain not "
         "found"),
        ("good.test", "a@sfdom.test", "us@example.test",
         "450 4.1.8 <a@sfdom.test>: Sender address rejected: Domain not "
         "found"),
        ("good.test", "a@nullmx.test", "us@example.test",
         "550 5.7.27 <a@nullmx.test>: Sender address rejected: Domain "
         "nullmx.test does not accept mail (nullMX)"),
        ("good.test", "a@aonly.test", "us@example.test", "250 2.1.5 Ok"),
        ("good.test", "a@mx.test", "us@example.test", "250 2.1.5 Ok"),
        # A local domain is not looked up.
        ("good.test", "a@mx.example.test", "us@example.test",
         "250 2.1.5 Ok"),
        ("good.test", "", "us@example.test", "250 2.1.5 Ok"),
        ("good.test", "a@mx.test", "ur@nxdom.test",
         "550 5.1.2 <ur@nxdom.test>: Recipient address rejected: Domain "
         "not found"),
        ("good.test", "a@mx.test", "ur@sfdom.test",
         "450 4.1.2 <ur@sfdom.test>: Recipient address rejected: Domain "
         "not found"),
        ("good.test", "a@mx.test", "ur@nullmx.test",
         "556 5.1.10 <ur@nullmx.test>: Recipient address rejected: Domain "
         "nullmx.test does not accept mail (nullMX)"),
        ("good.test", "a@mx.test", "ur@mx.test", "250 2.1.5 Ok"),
    ]
    for helo, sender, rcpt, want in cases:
        got = session(port, "127.0.0.2", helo, sender, rcpt)
        assert got == want, (helo, sender, rcpt, got)


def test_default_codes_and_defer_tempfail(inst, dns):
    """450 by default; unknown_address_tempfail_action = defer answers the
    temporary failure at once (a later permit does not matter)."""
    port = start(inst, dns, "unknown_address_tempfail_action = defer\n")
    assert session(port, "127.0.0.2", "good.test", "a@nxdom.test",
                   "us@example.test") == (
        "450 4.1.8 <a@nxdom.test>: Sender address rejected: Domain not "
        "found")
    assert session(port, "127.0.0.5", "good.test", "a@mx.test",
                   "uc@example.test") == (
        "450 4.7.25 Client host rejected: cannot find your hostname, "
        "[127.0.0.5]")
    assert session(port, "127.0.0.2", "good.test", "a@sfdom.test",
                   "us@example.test") == (
        "450 4.1.8 <a@sfdom.test>: Sender address rejected: Domain not "
        "found")


def test_rbl_rhsbl(inst, dns):
    port = start(inst, dns)
    cases = [
        ("127.0.0.2", "good.test", "a@mx.test", "rbl@example.test",
         "554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked "
         "using zen.test; Listed, see http://zen.test/q?127.0.0.2"),
        ("127.0.0.3", "good.test", "a@mx.test", "rbl@example.test",
         "554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked "
         "using zen.test"),
        ("127.0.0.2", "good.test", "a@mx.test", "rblf@example.test",
         "250 2.1.5 Ok"),
        # A SERVFAIL on a list is no reject.
        ("127.0.0.2", "good.test", "a@sfdom.test", "rblsf@example.test",
         "250 2.1.5 Ok"),
        ("127.0.0.2", "good.test", "a@spam.test", "rhs@example.test",
         "554 5.7.1 Service unavailable; Sender address [a@spam.test] "
         "blocked using dbl.test; bad domain"),
        ("127.0.0.2", "good.test", "a@mx.test", "rhs@example.test",
         "250 2.1.5 Ok"),
        ("127.0.0.2", "good.test", "a@spam.test", "rhsf@example.test",
         "250 2.1.5 Ok"),
        ("127.0.0.2", "good.test", "a@mx.test", "rhsc@example.test",
         "554 5.7.1 Service unavailable; Client host [good.test] blocked "
         "using dbl.test"),
        ("127.0.0.3", "spam.test", "a@mx.test", "rhsh@example.test",
         "554 5.7.1 Service unavailable; Helo command [spam.test] blocked "
         "using dbl.test; bad domain"),
        ("127.0.0.2", "spam.test", "a@mx.test", "rhsr@example.test",
         "554 5.7.1 Service unavailable; Unverified Client host "
         "[good.test] blocked using dbl.test"),
        ("127.0.0.3", "spam.test", "a@mx.test", "rhsr@example.test",
         "250 2.1.5 Ok"),
        ("127.0.0.2", "good.test", "a@mx.test", "rhsrcpt@spam.test",
         "554 5.7.1 Service unavailable; Recipient address "
         "[rhsrcpt@spam.test] blocked using dbl.test; bad domain"),
    ]
    for src, helo, sender, rcpt, want in cases:
        got = session(port, src, helo, sender, rcpt)
        assert got == want, (src, rcpt, got)
    log = inst.wait_log(r"RBL lookup error.*sfdom")
    for line in [
            "NOQUEUE: reject: RCPT from good.test[127.0.0.2]: 554 5.7.1 "
            "Service unavailable; Client host [127.0.0.2] blocked using "
            "zen.test; Listed, see http://zen.test/q?127.0.0.2; "
            "from=<a@mx.test> to=<rbl@example.test> proto=ESMTP "
            "helo=<good.test>",
            "warning: 2.0.0.127.sfbl.test: RBL lookup error: Host or domain "
            "name not found. Name service error for "
            "name=2.0.0.127.sfbl.test type=A: Host not found, try again",
            "warning: sfdom.test.sfbl.test: RBL lookup error: Host or "
            "domain name not found. Name service error for "
            "name=sfdom.test.sfbl.test type=A: Host not found, try again"]:
        assert line in log, (line, log)


def test_dnswl_rhswl(inst, dns):
    port = start(inst, dns)
    cases = [
        ("127.0.0.2", "wl@mx.example.test", "250 2.1.5 Ok"),
        ("127.0.0.3", "wl@mx.example.test",
         "554 5.7.1 <wl@mx.example.test>: Recipient address rejected: "
         "Access denied"),
        # Never an open relay: the allowlist does not override
        # reject_unauth_destination.
        ("127.0.0.2", "wl@example.test",
         "554 5.7.1 <wl@example.test>: Recipient address rejected: "
         "Access denied"),
        ("127.0.0.2", "rhswl@mx.example.test", "250 2.1.5 Ok"),
        ("127.0.0.3", "rhswl@mx.example.test",
         "554 5.7.1 <rhswl@mx.example.test>: Recipient address rejected: "
         "Access denied"),
        ("127.0.0.2", "wlsf@mx.example.test",
         "450 4.7.1 <127.0.0.2>: Client host rejected: Service "
         "unavailable"),
        ("127.0.0.2", "rhswlsf@mx.example.test",
         "450 4.7.1 <good.test>: Client host rejected: Service "
         "unavailable"),
    ]
    for src, rcpt, want in cases:
        got = session(port, src, "good.test", "a@mx.test", rcpt)
        assert got == want, (src, rcpt, got)


def test_rbl_reply_maps(inst, dns):
    """rbl_reply_maps overrides default_rbl_reply for its domain; a reply
    without an enhanced code gets D.7.1."""
    rblmap_line = ""
    port = start(inst, dns, "rbl_reply_maps = texthash:"
                 + str(inst.root / "rblmap") + "\n" + rblmap_line)
    got = session(port, "127.0.0.2", "good.test", "a@mx.test",
                  "rblmap@example.test")
    assert got == ("521 5.7.1 127.0.0.2 is on zen.test (Listed, see "
                   "http://zen.test/q?127.0.0.2) for <rblmap@example.test>")
