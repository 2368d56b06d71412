"""check_policy_service (SMTPD_POLICY_README): smtpd asks a policy server
over its own protocol; the request attributes, the actions, the replies
and log lines, a server that refuses or does not answer, and the real
postgrey.  Texts as Debian's Postfix 3.7 sends and logs them (recorded
with a reference instance and a recording policy server)."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from agentfix import inst  # noqa: F401
from test_master import AS_ROOT, free_port
from test_mailpath import maildir_messages
from test_smtpd import Client, start_smtpd

# What the test server answers, by the recipient's local part.
ACTIONS = {
    "dunno": "DUNNO",
    "reject": "REJECT go away",
    "dip": "DEFER_IF_PERMIT try later",
    "t450": "450 4.7.1 slow down",
    "prepend": "PREPEND X-Policy: checked",
    "ok": "OK",
    "bad": "BOGUS_ACTION xyz",
    "joe": "DUNNO",
}


class PolicyServer:
    """A policy server on 127.0.0.1 that records every request; SLEEP
    local parts get no answer, CLOSE ones a closed connection, NOACTION
    an answer without an action."""

    def __init__(self):
        self.requests = []
        self.connections = 0
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(16)
        self.port = self.s.getsockname()[1]
        self.stop = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stop:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.makefile("rwb")
        try:
            while True:
                req = []
                while True:
                    ln = f.readline()
                    if not ln:
                        return
                    ln = ln.decode().rstrip("\n")
                    if ln == "":
                        break
                    req.append(tuple(ln.split("=", 1)))
                self.requests.append(req)
                d = dict(req)
                local = (d.get("recipient") or "").split("@")[0]
                if local == "sleep":
                    time.sleep(5)
                    return
                if local == "close":
                    return
                if local == "noaction":
                    f.write(b"foo=bar\n\n")
                    f.flush()
                    continue
                f.write(f"action={ACTIONS.get(local, 'DUNNO')}\n\n".encode())
                f.flush()
        finally:
            f.close()
            c.close()

    def close(self):
        self.stop = True
        try:
            self.s.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        except OSError:
            pass
        self.s.close()


@pytest.fixture
def policy():
    p = PolicyServer()
    yield p
    p.close()


def log_has(inst, pattern, timeout=10):
    return inst.wait_log(pattern, timeout=timeout)


# The attributes Postfix 3.7 sends, in its order.
NAMES = ["request", "protocol_state", "protocol_name", "client_address",
         "client_name", "client_port", "reverse_client_name",
         "server_address", "server_port", "helo_name", "sender", "recipient",
         "recipient_count", "queue_id", "instance", "size", "etrn_domain",
         "stress", "sasl_method", "sasl_username", "sasl_sender",
         "ccert_subject", "ccert_issuer", "ccert_fingerprint",
         "ccert_pubkey_fingerprint", "encryption_protocol",
         "encryption_cipher", "encryption_keysize", "policy_context"]

BOXES = ("dunno", "prepend", "ok", "dip", "joe")


def test_actions_replies_log_and_request(inst, policy):
    port, base = start_smtpd(
        inst,
        "smtpd_recipient_restrictions = check_policy_service "
        f"inet:127.0.0.1:{policy.port}, permit_mynetworks, "
        "reject_unauth_destination\n"
        "smtpd_data_restrictions = check_policy_service "
        f"{{ inet:127.0.0.1:{policy.port}, policy_context=ctx1 }}\n"
        "smtpd_end_of_data_restrictions = check_policy_service "
        f"inet:127.0.0.1:{policy.port}\n", boxes=BOXES)
    c = Client(port)
    c.first()
    c.send("EHLO client.example.test\r\n")
    c.reply()
    assert c.cmd("MAIL FROM:<s@example.org> SIZE=100") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<dunno@virt.test>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<reject@virt.test>") == (
        "554 5.7.1 <reject@virt.test>: Recipient address rejected: go away")
    assert c.cmd("RCPT TO:<t450@virt.test>") == (
        "450 4.7.1 <t450@virt.test>: Recipient address rejected: slow down")
    # DEFER_IF_PERMIT, then permit_mynetworks permits: the deferral.
    assert c.cmd("RCPT TO:<dip@virt.test>") == (
        "450 4.7.1 <dip@virt.test>: Recipient address rejected: try later")
    assert c.cmd("RCPT TO:<bad@virt.test>") == (
        "451 4.3.5 Server configuration error")
    assert c.cmd("RCPT TO:<prepend@virt.test>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<ok@virt.test>") == "250 2.1.5 Ok"
    assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
    c.send("Subject: t\r\n\r\nhello\r\n.\r\n")
    r = c.first()
    m = re.fullmatch(r"250 2\.0\.0 Ok: queued as ([0-9A-F]+)", r)
    assert m, r
    qid = m.group(1)
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    c.close()
    msg = maildir_messages(inst, base / "prepend" / "new")[0]
    # PREPEND: the header goes in before smtpd's Received:.
    assert re.search(rb"\nX-Policy: checked\nReceived: from "
                     rb"client\.example\.test ", msg), msg
    log = log_has(inst, rf"{qid}: removed")
    tail = "; from=<s@example.org> to=<{}@virt.test> proto=ESMTP " \
        "helo=<client.example.test>"
    for text, who in [
            ("554 5.7.1 <reject@virt.test>: Recipient address rejected: "
             "go away", "reject"),
            ("450 4.7.1 <t450@virt.test>: Recipient address rejected: "
             "slow down", "t450"),
            ("450 4.7.1 <dip@virt.test>: Recipient address rejected: "
             "try later", "dip"),
            ("451 4.3.5 Server configuration error", "bad")]:
        line = (f"{qid}: reject: RCPT from localhost[127.0.0.1]: {text}"
                + tail.format(who))
        assert line in log, (line, log)
    assert 'warning: unknown smtpd restriction: "BOGUS_ACTION"' in log, log
    # Every request: Postfix's names in Postfix's order.
    reqs = policy.requests
    assert [r[-1][0] for r in reqs] == ["policy_context"] * len(reqs)
    for r in reqs:
        assert [k for k, _ in r] == NAMES, r
    first = dict(reqs[0])
    cport = first["client_port"]
    assert int(cport) > 0
    assert first == {
        "request": "smtpd_access_policy", "protocol_state": "RCPT",
        "protocol_name": "ESMTP", "client_address": "127.0.0.1",
        "client_name": "localhost", "client_port": cport,
        "reverse_client_name": "localhost", "server_address": "127.0.0.1",
        "server_port": str(port), "helo_name": "client.example.test",
        "sender": "s@example.org", "recipient": "dunno@virt.test",
        "recipient_count": "0", "queue_id": "",
        "instance": first["instance"], "size": "100", "etrn_domain": "",
        "stress": "", "sasl_method": "", "sasl_username": "",
        "sasl_sender": "", "ccert_subject": "", "ccert_issuer": "",
        "ccert_fingerprint": "", "ccert_pubkey_fingerprint": "",
        "encryption_protocol": "", "encryption_cipher": "",
        "encryption_keysize": "0", "policy_context": ""}
    assert re.fullmatch(r"[0-9a-f]+\.[0-9a-f]+\.[0-9a-f]+\.[0-9a-f]+",
                        first["instance"]), first
    # One instance for the whole message; the queue id once it exists.
    assert {dict(r)["instance"] for r in reqs} == {first["instance"]}
    assert dict(reqs[1])["queue_id"] == qid
    data = dict(reqs[-2])
    eod = dict(reqs[-1])
    assert (data["protocol_state"], data["recipient"],
            data["recipient_count"], data["size"],
            data["policy_context"]) == ("DATA", "", "3", "100", "ctx1")
    assert (eod["protocol_state"], eod["recipient_count"], eod["size"],
            eod["policy_context"]) == ("END-OF-MESSAGE", "3", "21", "")
    # One connection per service (the DATA list names another one, with
    # its own settings), reused by every request of the session.
    assert policy.connections == 2


def test_failing_servers_give_the_default_action(inst, policy):
    """A refused connection (inet, and unix relative to the queue
    directory), an answer without an action and a connection closed
    before the answer: Postfix's warnings and the default action, the
    service's own (default_action=...) or main.cf's."""
    dead = free_port()
    port, _ = start_smtpd(
        inst,
        "smtpd_restriction_classes = dead_policy, nosuch_policy\n"
        f"dead_policy = check_policy_service inet:127.0.0.1:{dead}\n"
        "nosuch_policy = check_policy_service { unix:private/nosuch, "
        "default_action = { REJECT no policy } }\n"
        "smtpd_recipient_restrictions = check_recipient_access inline:{ "
        "{dead@virt.test=dead_policy}, {nosuch@virt.test=nosuch_policy} }, "
        f"check_policy_service {{ inet:127.0.0.1:{policy.port}, "
        "default_action=DUNNO }, permit_mynetworks, "
        "reject_unauth_destination\n", boxes=BOXES + ("noaction", "close"))
    c = Client(port)
    c.first()
    c.send("EHLO client.example.test\r\n")
    c.reply()
    assert c.cmd("MAIL FROM:<s@example.org>") == "250 2.1.0 Ok"
    t0 = time.time()
    assert c.cmd("RCPT TO:<dead@virt.test>") == (
        "451 4.3.5 <dead@virt.test>: Recipient address rejected: Server "
        "configuration problem")
    assert time.time() - t0 >= 0.9  # the retry waited retry_delay
    assert c.cmd("RCPT TO:<nosuch@virt.test>") == (
        "554 5.7.1 <nosuch@virt.test>: Recipient address rejected: "
        "no policy")
    t0 = time.time()
    assert c.cmd("RCPT TO:<noaction@virt.test>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<close@virt.test>") == "250 2.1.5 Ok"
    assert time.time() - t0 < 0.9  # not tried again
    c.close()
    log = log_has(inst, r"reject: RCPT from.*no policy")
    for w, n in (
            (f"warning: connect to 127.0.0.1:{dead}: Connection refused", 2),
            (f"warning: problem talking to server 127.0.0.1:{dead}: "
             "Connection refused", 2),
            ("warning: connect to private/nosuch: No such file or "
             "directory", 2),
            ("warning: problem talking to server private/nosuch: No such "
             "file or directory", 1),
            ("warning: missing attribute action in input from "
             f"127.0.0.1:{policy.port}", 1),
            (f"warning: problem talking to server 127.0.0.1:{policy.port}: "
             "Application error", 2)):
        assert log.count(w) == n, (w, log)
    assert ("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 451 4.3.5 "
            "<dead@virt.test>: Recipient address rejected: Server "
            "configuration problem; from=<s@example.org> "
            "to=<dead@virt.test> proto=ESMTP helo=<client.example.test>"
            ) in log, log


def test_every_stage_without_delay_reject(inst, policy):
    """smtpd_delay_reject = no: the client, helo, sender and ETRN lists
    ask at CONNECT, EHLO, MAIL and ETRN; BDAT asks at DATA and
    END-OF-MESSAGE; attributes as Postfix 3.7 sends them there.  The
    service is named by a host file name."""
    pol = f"check_policy_service inet:localhost:{policy.port}"
    port, base = start_smtpd(
        inst,
        "smtpd_delay_reject = no\n"
        f"smtpd_client_restrictions = {pol}\n"
        f"smtpd_helo_restrictions = {pol}\n"
        f"smtpd_sender_restrictions = {pol}\n"
        f"smtpd_etrn_restrictions = {pol}\n"
        f"smtpd_recipient_restrictions = {pol}, permit_mynetworks, reject\n"
        f"smtpd_data_restrictions = {pol}\n"
        f"smtpd_end_of_data_restrictions = {pol}\n"
        "fast_flush_domains = example.test\n", boxes=BOXES)
    c = Client(port)
    assert c.first() == "220 mx.example.test ESMTP ulak"
    c.cmd("ETRN example.test")
    c.send("EHLO c.example.test\r\n")
    assert c.reply()[0] == "250-mx.example.test"
    assert c.cmd("MAIL FROM:<s@example.org>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<joe@virt.test>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<ok@virt.test>") == "250 2.1.5 Ok"
    body = "Subject: t\r\n\r\nhello\r\n"
    c.send(f"BDAT {len(body)} LAST\r\n{body}")
    r = c.first()
    assert re.fullmatch(r"250 2\.0\.0 Ok: 21 bytes queued as [0-9A-F]+", r), r
    qid = r.rsplit(" ", 1)[1]
    c.cmd("QUIT")
    c.close()
    maildir_messages(inst, base / "joe" / "new")
    got = [{k: d[k] for k in ("protocol_state", "protocol_name",
                              "helo_name", "sender", "recipient",
                              "recipient_count", "queue_id", "size",
                              "etrn_domain")}
           for d in map(dict, policy.requests)]
    assert got == [
        dict(protocol_state="CONNECT", protocol_name="SMTP", helo_name="",
             sender="", recipient="", recipient_count="0", queue_id="",
             size="0", etrn_domain=""),
        dict(protocol_state="ETRN", protocol_name="SMTP", helo_name="",
             sender="", recipient="", recipient_count="0", queue_id="",
             size="0", etrn_domain="example.test"),
        dict(protocol_state="EHLO", protocol_name="SMTP",
             helo_name="c.example.test", sender="", recipient="",
             recipient_count="0", queue_id="", size="0", etrn_domain=""),
        dict(protocol_state="MAIL", protocol_name="ESMTP",
             helo_name="c.example.test", sender="s@example.org",
             recipient="", recipient_count="0", queue_id="", size="0",
             etrn_domain=""),
        dict(protocol_state="RCPT", protocol_name="ESMTP",
             helo_name="c.example.test", sender="s@example.org",
             recipient="joe@virt.test", recipient_count="0", queue_id="",
             size="0", etrn_domain=""),
        dict(protocol_state="RCPT", protocol_name="ESMTP",
             helo_name="c.example.test", sender="s@example.org",
             recipient="ok@virt.test", recipient_count="0", queue_id=qid,
             size="0", etrn_domain=""),
        dict(protocol_state="DATA", protocol_name="ESMTP",
             helo_name="c.example.test", sender="s@example.org",
             recipient="", recipient_count="2", queue_id=qid, size="0",
             etrn_domain=""),
        dict(protocol_state="END-OF-MESSAGE", protocol_name="ESMTP",
             helo_name="c.example.test", sender="s@example.org",
             recipient="", recipient_count="2", queue_id=qid, size="21",
             etrn_domain="")], got
    inst_ids = [dict(r)["instance"] for r in policy.requests]
    assert inst_ids[:4] == ["", "", "", ""]
    assert inst_ids[4] and set(inst_ids[4:]) == {inst_ids[4]}
    log = inst.logtext()
    # Each command counted once, though it ran again after the answer.
    assert ("disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=2 "
            "bdat=1 etrn=1 quit=1 commands=7") in log, log


def test_timeout_retries_then_default_action(inst, policy):
    port, _ = start_smtpd(
        inst,
        "smtpd_recipient_restrictions = "
        f"check_policy_service {{ inet:127.0.0.1:{policy.port}, "
        "timeout=1s, default_action=DUNNO }, permit_mynetworks, "
        "reject_unauth_destination\n", boxes=BOXES + ("sleep",))
    c = Client(port)
    c.first()
    c.send("EHLO client.example.test\r\nMAIL FROM:<s@example.org>\r\n")
    c.reply()
    c.first()
    t0 = time.time()
    # Pipelined: the second RCPT waits behind the first one's answer.
    c.send("RCPT TO:<sleep@virt.test>\r\nRCPT TO:<reject@virt.test>\r\n")
    assert c.first() == "250 2.1.5 Ok"
    took = time.time() - t0
    assert c.first() == (
        "554 5.7.1 <reject@virt.test>: Recipient address rejected: go away")
    c.close()
    assert 2.5 <= took < 4.5, took  # 1s, retry_delay 1s, 1s
    log = log_has(inst, r"reject: RCPT from")
    w = (f"warning: problem talking to server 127.0.0.1:{policy.port}: "
         "Connection timed out")
    assert log.count(w) == 2, log
    locals_ = [dict(r)["recipient"] for r in policy.requests]
    assert locals_ == ["sleep@virt.test", "sleep@virt.test",
                       "reject@virt.test"]


def test_unix_socket_and_spawned_policy_server(inst, tmp_path):
    """A policy server run by spawn(8) per connection on
    private/policy, named relative to the queue directory."""
    script = inst.root / "policy.py"
    script.write_text(
        "import sys\n"
        "req = {}\n"
        "for line in sys.stdin:\n"
        "    line = line.rstrip('\\n')\n"
        "    if line:\n"
        "        k, _, v = line.partition('=')\n"
        "        req[k] = v\n"
        "        continue\n"
        "    who = req.get('recipient', '').split('@')[0]\n"
        "    act = 'REJECT spawned says no' if who == 'reject' else 'DUNNO'\n"
        "    sys.stdout.write('action=%s\\n\\n' % act)\n"
        "    sys.stdout.flush()\n"
        "    req = {}\n")
    os.chmod(script, 0o755)
    user = "nobody" if AS_ROOT else os.environ.get("USER", "nobody")
    port, _ = start_smtpd(
        inst,
        "smtpd_recipient_restrictions = check_policy_service "
        "unix:private/policy, permit_mynetworks, reject_unauth_destination\n"
        "policy_time_limit = 3600\n",
        master_extra=f"policy unix - n n - 0 spawn user={user} "
        f"argv=/usr/bin/python3 {script}\n", boxes=BOXES)
    c = Client(port)
    c.first()
    c.send("EHLO client.example.test\r\n")
    c.reply()
    assert c.cmd("MAIL FROM:<s@example.org>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<dunno@virt.test>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<reject@virt.test>") == (
        "554 5.7.1 <reject@virt.test>: Recipient address rejected: "
        "spawned says no")
    c.close()


def _postgrey():
    return shutil.which("postgrey") or (
        "/usr/sbin/postgrey" if os.path.exists("/usr/sbin/postgrey") else None)


def test_postgrey_greylists_then_passes(inst):
    exe = _postgrey()
    if exe is None:
        pytest.skip("postgrey is not installed (scripts/deps.sh TEST_PKGS)")
    if not AS_ROOT:
        pytest.skip("postgrey needs root to start with --user here")
    gport = free_port()
    db = tempfile.mkdtemp(prefix="ulak-postgrey-")
    shutil.chown(db, "nobody")
    pidfile = os.path.join(db, "pid")
    proc = subprocess.Popen(
        [exe, f"--inet=127.0.0.1:{gport}", f"--dbdir={db}", "--delay=1",
         "--user=nobody", "--group=nogroup", f"--pidfile={pidfile}",
         "--greylist-text=Greylisted, see here"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        end = time.time() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", gport), 1).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > end:
                    pytest.skip("postgrey did not start: "
                                + proc.stderr.read().decode()[-300:])
                time.sleep(0.1)
        port, _ = start_smtpd(
            inst,
            "smtpd_recipient_restrictions = permit_mynetworks, "
            f"check_policy_service inet:127.0.0.1:{gport}\n"
            "mynetworks = 10.9.9.0/24\n", boxes=BOXES)

        def attempt():
            c = Client(port)
            c.first()
            c.send("EHLO client.example.test\r\n")
            c.reply()
            assert c.cmd("MAIL FROM:<s@example.org>") == "250 2.1.0 Ok"
            r = c.cmd("RCPT TO:<joe@virt.test>")
            c.cmd("QUIT")
            c.close()
            return r

        r = attempt()
        assert r == ("450 4.2.0 <joe@virt.test>: Recipient address "
                     "rejected: Greylisted, see here"), r
        time.sleep(2.2)
        assert attempt() == "250 2.1.5 Ok"
        log = inst.logtext()
        assert ("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 450 4.2.0 "
                "<joe@virt.test>: Recipient address rejected: Greylisted, "
                "see here; from=<s@example.org> to=<joe@virt.test> "
                "proto=ESMTP helo=<client.example.test>") in log, log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(db, ignore_errors=True)


def test_with_anvil_rate_limits(inst, policy):
    """anvil's connection count and recipient rate, then the policy server:
    the greeting waits for both (client restrictions at connect), a RCPT
    for its rate and then for the policy answer; a limit still refuses."""
    pol = f"check_policy_service inet:127.0.0.1:{policy.port}"
    port, _ = start_smtpd(
        inst,
        "smtpd_delay_reject = no\n"
        f"smtpd_client_restrictions = {pol}\n"
        f"smtpd_recipient_restrictions = {pol}, permit_mynetworks, reject\n"
        "smtpd_client_recipient_rate_limit = 3\n"
        "smtpd_client_event_limit_exceptions =\n"
        "smtpd_error_sleep_time = 0\n",
        "anvil unix - - n - 1 anvil\n", boxes=BOXES)
    c = Client(port)
    assert c.first() == "220 mx.example.test ESMTP ulak"
    c.send("EHLO c.example.test\r\nMAIL FROM:<s@example.org>\r\n")
    c.reply()
    assert c.first() == "250 2.1.0 Ok"
    # Pipelined: each waits for anvil, then for the policy server.
    c.send("RCPT TO:<joe@virt.test>\r\nRCPT TO:<reject@virt.test>\r\n"
           "RCPT TO:<ok@virt.test>\r\nRCPT TO:<dunno@virt.test>\r\n")
    assert [c.first() for _ in range(4)] == [
        "250 2.1.5 Ok",
        "554 5.7.1 <reject@virt.test>: Recipient address rejected: go away",
        "250 2.1.5 Ok",
        "450 4.7.1 Error: too many recipients from 127.0.0.1"]
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    c.close()
    states = [(dict(r)["protocol_state"], dict(r)["recipient"])
              for r in policy.requests]
    assert states == [("CONNECT", ""), ("RCPT", "joe@virt.test"),
                      ("RCPT", "reject@virt.test"), ("RCPT", "ok@virt.test")]
    log = inst.wait_log(r"disconnect from")
    assert ("disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=2/4 "
            "quit=1 commands=5/7") in log, log


def test_xclient_asks_again_as_the_new_client(inst, policy):
    """XCLIENT starts a new session for the restrictions: without
    smtpd_delay_reject the client list asks the policy server about the
    new identity before the new greeting."""
    pol = f"check_policy_service inet:127.0.0.1:{policy.port}"
    port, _ = start_smtpd(
        inst,
        "smtpd_delay_reject = no\n"
        f"smtpd_client_restrictions = {pol}\n", boxes=BOXES)
    c = Client(port)
    c.first()
    c.send("EHLO c.example.test\r\n")
    c.reply()
    assert c.cmd("XCLIENT ADDR=192.0.2.7 NAME=seven.example PORT=4711 "
                 "HELO=x.example") == "220 mx.example.test ESMTP ulak"
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    c.close()
    got = [{k: d[k] for k in ("protocol_state", "client_address",
                              "client_name", "client_port", "helo_name")}
           for d in map(dict, policy.requests)]
    assert got[1:] == [dict(protocol_state="XCLIENT",
                            client_address="192.0.2.7",
                            client_name="seven.example", client_port="4711",
                            helo_name="x.example")], got
    assert got[0]["protocol_state"] == "CONNECT"
    log = inst.wait_log(r"disconnect from")
    assert "disconnect from seven.example[192.0.2.7] ehlo=1 xclient=1 " \
        "quit=1 commands=3" in log, log
