"""smtpd's queue file commit on cleanup's commit workers (docs/PERFORMANCE.md):
the session waits for its commit with the pipelined input behind it, the
replies stay in order, and a client that leaves before its reply does not
lose the message nor disturb the others."""
import re

from agentfix import inst  # noqa: F401
from test_mailpath import maildir_messages
from test_smtpd import Client, start_smtpd


def queued_ids(lines):
    return [re.fullmatch(r"250 2\.0\.0 Ok: \d+ bytes queued as ([0-9A-F]+)",
                         ln).group(1) for ln in lines]


def test_pipelined_transactions_wait_for_their_commits(inst):
    """Five BDAT transactions in one write: every reply in order, each
    message queued once and delivered."""
    port, base = start_smtpd(inst)
    c = Client(port)
    c.first()
    c.send("EHLO p.example\r\n")
    c.reply()
    batch = b""
    for i in range(5):
        body = b"Subject: n%d\r\n\r\nbody %d\r\n" % (i, i)
        batch += (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<joe@virt.test>\r\n"
                  b"BDAT %d LAST\r\n" % len(body) + body)
    c.send(batch + b"QUIT\r\n")
    replies = [c.first() for _ in range(16)]
    for i in range(5):
        assert replies[3 * i] == "250 2.1.0 Ok", replies
        assert replies[3 * i + 1] == "250 2.1.5 Ok", replies
    ids = queued_ids(replies[2:15:3])
    assert len(set(ids)) == 5, replies
    assert replies[15] == "221 2.0.0 Bye", replies
    c.close()
    for qid in ids:
        inst.wait_log(rf"{qid}: removed")
    msgs = maildir_messages(inst, base / "joe" / "new", n=5)
    assert sorted(m.split(b"\n\n", 1)[1] for m in msgs) == [
        b"body %d\n" % i for i in range(5)]


def test_client_gone_before_its_reply(inst):
    """A client that sends the end of its data and closes at once: the
    message is still queued and delivered, and the next session works."""
    port, base = start_smtpd(inst)
    for i in range(3):
        c = Client(port)
        c.first()
        c.send("EHLO g.example\r\n")
        c.reply()
        c.cmd("MAIL FROM:<a@example.org>")
        c.cmd("RCPT TO:<ann@virt.test>")
        assert c.cmd("DATA").startswith("354")
        c.send(b"Subject: gone %d\r\n\r\nbye\r\n.\r\n" % i)
        c.close()
    assert len(maildir_messages(inst, base / "ann" / "new", n=3)) == 3
    c = Client(port)
    assert c.first().startswith("220 ")
    c.send("EHLO g.example\r\n")
    c.reply()
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<ann@virt.test>")
    body = b"Subject: after\r\n\r\nstill here\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    assert queued_ids([c.first()])
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    assert "panic" not in inst.logtext() and "fatal" not in inst.logtext()
