"""The golden delivery status notifications of tests/data/bounce_report.

Each NAME.ref is what Postfix 3.7's bounce(8) queued for one case (minus
the Received: and Message-Id: headers its cleanup adds), and
src/global/bounce_report_test.c checks that ulak's bounce_report produces
the same bytes.  This test checks that those bytes are an RFC 3464 report
that a mail client's parser (Python's email package) understands, with the
right per-recipient fields.
"""
import email
import email.policy

import pytest

from conftest import DATA

REF = DATA / "bounce_report"

CASES = {
    # name: (subject, [(final recipient, action, status)], returned part)
    "failure_full": ("Undelivered Mail Returned to Sender",
                     [("nosuch2@mx.example.test", "failed", "5.1.1"),
                      ("nosuchuser@mx.example.test", "failed", "5.1.1")],
                     "message/rfc822"),
    "failure_wrap": ("Undelivered Mail Returned to Sender",
                     [("long2@mx.example.test", "failed", "5.7.1"),
                      ("long@mx.example.test", "failed", "5.7.1")],
                     "message/rfc822"),
    "failure_hdrs": ("Undelivered Mail Returned to Sender",
                     [("nosuchuser3@mx.example.test", "failed", "5.1.1")],
                     "text/rfc822-headers"),
    "delay": ("Delayed Mail (still being retried)",
              [("far@other.test", "delayed", "4.3.2")],
              "text/rfc822-headers"),
    "verify": ("Mail Delivery Status Report",
               [("nosuchx@mx.example.test", "undeliverable", "5.1.1"),
                ("root@mx.example.test", "deliverable", "2.0.0")],
               "text/rfc822-headers"),
    "success": ("Successful Mail Delivery Report",
                [("root@mx.example.test", "delivered", "2.0.0")],
                "text/rfc822-headers"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bounce_golden_parses(name):
    subject, rcpts, returned = CASES[name]
    msg = email.message_from_bytes((REF / f"{name}.ref").read_bytes(),
                                   policy=email.policy.compat32)
    assert msg["Subject"] == subject
    assert msg["From"].startswith("Mail Delivery System <MAILER-DAEMON@")
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert [p.get_content_type() for p in parts] == [
        "text/plain", "message/delivery-status", returned]
    assert "This is the mail system at host mx.example.test." in \
        parts[0].get_payload()
    # message/delivery-status: the per-message block, then one per recipient
    blocks = parts[1].get_payload()
    assert blocks[0]["Reporting-MTA"] == "dns; mx.example.test"
    assert blocks[0]["Arrival-Date"]
    got = [(b["Final-Recipient"], b["Action"], b["Status"])
           for b in blocks[1:]]
    assert got == [(f"rfc822; {a}", act, st) for a, act, st in rcpts]
    for b in blocks[1:]:
        assert b["Original-Recipient"].startswith("rfc822;")
        assert b["Diagnostic-Code"].startswith("X-Postfix;")
        assert (b["Will-Retry-Until"] is not None) == (b["Action"] ==
                                                       "delayed")
    if name == "failure_full":
        inner = parts[2].get_payload()[0]
        assert inner["Subject"] == "full ret"
        assert inner.get_payload() == "hello body line\nsecond line\n"
