"""error(8), retry and discard(8) delivery agents: the test plays the queue
manager (a queue file in active/, one deliver_req on private/NAME) and
checks the deliver_status frames and Postfix's delivery log lines."""
import re

from agentfix import DELAYS, deliver, inst, log_line, start  # noqa: F401


def test_error_bounces_with_the_nexthop_text(inst):
    start(inst)
    qid, st = deliver(inst, "error", ["a@example.test", "b@example.test"],
                      nexthop="5.1.1 no such mailbox here")
    assert [s["status"] for s in st] == ["5.1.1", "5.1.1"]
    assert [s["action"] for s in st] == ["failed", "failed"]
    assert st[0]["reason"] == "no such mailbox here"
    assert st[0]["relay"] == "none"
    assert "done" not in st[0] and st[1]["done"] == 1
    line = log_line(inst, qid, r"to=<b@example.test>, relay=none, "
                    + DELAYS + r", dsn=5\.1\.1, status=bounced "
                    r"\(no such mailbox here\)")
    assert line


def test_error_default_code_and_class(inst):
    start(inst)
    qid, st = deliver(inst, "error", ["a@example.test"], nexthop="go away")
    assert (st[0]["status"], st[0]["reason"]) == ("5.0.0", "go away")
    # a 4.x.x code given to "error" is ignored, as Postfix 3.7 does
    qid, st = deliver(inst, "error", ["a@example.test"],
                      nexthop="4.2.2 quota")
    assert (st[0]["status"], st[0]["action"], st[0]["reason"]) == (
        "5.0.0", "failed", "quota")
    inst.wait_log(r'ulak/error\[\d+\]: warning: ignoring dsn code "4\.2\.2"')
    qid, st = deliver(inst, "error", ["a@example.test"], nexthop="")
    assert (st[0]["status"], st[0]["reason"]) == (
        "5.0.0", "Address is undeliverable")


def test_retry_defers(inst):
    start(inst)
    qid, st = deliver(inst, "retry", ["a@example.test"],
                      nexthop="4.4.1 host down")
    assert (st[0]["status"], st[0]["action"]) == ("4.4.1", "delayed")
    log_line(inst, qid, r"to=<a@example.test>, relay=none, " + DELAYS
             + r", dsn=4\.4\.1, status=deferred \(host down\)")
    qid, st = deliver(inst, "retry", ["a@example.test"], nexthop="")
    assert (st[0]["status"], st[0]["reason"]) == (
        "4.0.0", "Address is undeliverable")


def test_discard_reports_sent(inst):
    start(inst)
    qid, st = deliver(inst, "discard", [("x@example.test", "X@Example.test")],
                      nexthop="2.1.5 spam trap")
    assert (st[0]["status"], st[0]["action"], st[0]["reason"]) == (
        "2.1.5", "delivered", "spam trap")
    log_line(inst, qid, r"to=<x@example.test>, orig_to=<X@Example.test>, "
             r"relay=none, " + DELAYS + r", dsn=2\.1\.5, status=sent "
             r"\(spam trap\)")


def test_missing_queue_file_defers_every_recipient(inst):
    start(inst)
    qid, st = deliver(inst, "discard", ["a@example.test", "b@example.test"],
                      write=False)
    assert [s["status"] for s in st] == ["4.3.0", "4.3.0"]
    assert "is gone" in st[0]["reason"]
    assert st[1]["done"] == 1


def test_corrupt_queue_file_defers_with_reason(inst):
    start(inst)
    import qwrite
    from agentfix import ME
    qid = qwrite.new_id()
    qwrite.write(str(inst.queue), "active", qid, b"S\x00\x05junk",
                 ME.pw_uid, ME.pw_gid)
    qid, st = deliver(inst, "error", ["a@example.test"], queue_id=qid,
                      write=False)
    assert st[0]["status"] == "4.3.0"
    assert re.search(r"queue file .*" + qid, st[0]["reason"]), st


def test_bad_request_is_refused_and_the_agent_goes_on(inst):
    import socket
    import struct

    import ipcframe
    start(inst)
    bad = [
        struct.pack(">IHHI", 12, 2, 1, 5),             # a status, not a req
        ipcframe.frame((1, 2), 5, ipcframe.field(99, "str", "x")),
        ipcframe.frame((1, 1), 5, b""),                # old version
        b"\x00\x00\x00\x05junk",                       # too short a length
    ]
    for data in bad:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(inst.sock("discard"))
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            assert s.recv(100) == b""
    inst.wait_log(r"ulak/discard\[\d+\]: warning: (bad delivery request|"
                  r"read request): ", count=len(bad))
    qid, st = deliver(inst, "discard", ["a@example.test"], nexthop="fine")
    assert st[0]["status"] == "2.0.0"
