"""local(8) forwarding under a started instance (pickup, qmgr, local):
alias and .forward destinations that are addresses, and luser_relay, go
into one new queue file written through cleanup; the recipient is logged
"status=sent (forwarded as NEWID)" and the new message is delivered in
turn."""
import re

from agentfix import USER, chown, inst  # noqa: F401
from test_local import build_aliases
from test_mailpath import MASTER, wait_for
from test_pickup import sendmail

DOM = "mx.example.test"


def start(inst, main, aliases=None):
    """As test_mailpath.prepare, with the alias table built before the
    start."""
    spool = inst.root / "spool"
    spool.mkdir()
    chown(spool)
    inst.configure(MASTER,
                   f"myhostname = {DOM}\n"
                   "mydomain = example.test\n"
                   "mydestination = $myhostname, localhost\n"
                   f"mail_spool_directory = {spool}\n"
                   + (f"alias_maps = hash:{inst.root}/aliases\n"
                      if aliases is not None else "alias_maps =\n")
                   + "queue_run_delay = 1s\nminimal_backoff_time = 1s\n"
                   "recipient_delimiter = +\n"
                   "allow_mail_to_files = alias, forward, include\n" + main)
    if aliases is not None:
        build_aliases(inst, aliases)
    r = inst.ulak("start")
    assert r.returncode == 0, r
    return spool


def forwarded(inst, rcpt):
    """The queue ID of the message and of its forwarded copy."""
    log = inst.wait_log(rf"to=<{re.escape(rcpt)}>, relay=local, .*"
                        r"status=sent \(forwarded as [0-9A-F]+\)", timeout=20)
    m = re.search(rf"ulak/local\[\d+\]: ([0-9A-F]+): to=<{re.escape(rcpt)}>,"
                  r" relay=local, delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0,"
                  r" status=sent \(forwarded as ([0-9A-F]+)\)", log)
    assert m, log
    return m.group(1), m.group(2)


def test_alias_fans_out_to_users_file_and_command(inst):
    out = inst.root / "out"
    out.mkdir()
    chown(out)
    aliases = (f"list: {USER}, {USER}+b, {out}/list.mbox, "
               f"\"|cat > {out}/cmd.out\", {USER}\n")
    spool = start(inst, "", aliases)
    r = sendmail(inst, "-f", "alice@example.test", f"list@{DOM}",
                 stdin="Subject: fan out\n\nto all of you\n")
    assert r.returncode == 0, r
    qid, fid = forwarded(inst, f"list@{DOM}")
    assert fid != qid
    # Both addresses (the duplicate USER only once) land in the mailbox,
    # each after the Delivered-To: list@ header of the forwarded copy.
    data = wait_for(inst, spool / USER, rb"(?s)to all of you\n\n.*"
                    rb"to all of you\n\n$")
    assert data.count(b"\nSubject: fan out\n") == 2, data
    assert data.count(b"\nDelivered-To: list@" + DOM.encode() + b"\n") == 2
    # No owner-list: the original recipient stays (X-Original-To, orig_to).
    assert data.count(b"\nX-Original-To: list@" + DOM.encode() + b"\n") == 2
    assert data.startswith(b"From alice@example.test  "), data
    mb = (out / "list.mbox").read_bytes()
    assert b"\nDelivered-To: list@mx.example.test\n" in mb
    assert mb.endswith(b"\nto all of you\n\n")
    cmd = (out / "cmd.out").read_bytes()
    assert cmd.startswith(b"From alice@example.test  ")
    assert b"\nSubject: fan out\n" in cmd
    assert cmd.endswith(b"\n\nto all of you\n")
    log = inst.wait_log(rf"{fid}: removed", timeout=20)
    assert re.search(rf"ulak/qmgr\[\d+\]: {fid}: from=<alice@example\.test>,"
                     r" size=\d+, nrcpt=2 \(queue active\)", log), log
    for to in (f"{USER}@{DOM}", f"{USER}\\+b@{DOM}"):
        assert re.search(rf"ulak/local\[\d+\]: {fid}: to=<{to}>, "
                         rf"orig_to=<list@{DOM}>, "
                         r"relay=local, .*dsn=2\.0\.0, status=sent "
                         r"\(delivered to mailbox\)", log), log
    assert re.search(rf"{qid}: removed", log), log


def test_forward_file_to_another_address(inst):
    fdir = inst.root / "fwd"
    fdir.mkdir()
    (fdir / f"{USER}.forward").write_text(f"list+x@{DOM}\n")
    chown(fdir)
    chown(fdir / f"{USER}.forward")
    out = inst.root / "out"
    out.mkdir()
    chown(out)
    spool = start(inst, f"forward_path = {fdir}/$user.forward\n",
                  f"list: {out}/got.mbox\n")
    r = sendmail(inst, "-f", "alice@example.test", f"{USER}@{DOM}",
                 stdin="Subject: fwd\n\nvia .forward\n")
    assert r.returncode == 0, r
    qid, fid = forwarded(inst, f"{USER}@{DOM}")
    data = wait_for(inst, out / "got.mbox", rb"via \.forward\n\n$")
    assert b"\nDelivered-To: " + USER.encode() + b"@" + DOM.encode() in data
    assert not (spool / USER).exists()
    inst.wait_log(rf"{fid}: to=<list\+x@{DOM}>, orig_to=<{USER}@{DOM}>, "
                  r".*status=sent \(delivered "
                  rf"to file: {re.escape(str(out))}/got\.mbox\)", timeout=20)


def test_luser_relay(inst):
    out = inst.root / "out"
    out.mkdir()
    chown(out)
    spool = start(inst, f"luser_relay = {USER}+$user@$domain\n")
    r = sendmail(inst, "-f", "alice@example.test", f"nobody1@{DOM}",
                 stdin="Subject: lost\n\nfor nobody\n")
    assert r.returncode == 0, r
    qid, fid = forwarded(inst, f"nobody1@{DOM}")
    data = wait_for(inst, spool / USER, rb"for nobody\n\n$")
    assert b"\nX-Original-To: nobody1@" + DOM.encode() + b"\n" in data, data
    assert b"\nDelivered-To: nobody1@" + DOM.encode() + b"\n" in data
    inst.wait_log(rf"{fid}: to=<{USER}\+nobody1@{DOM}>, orig_to=<nobody1@"
                  rf"{DOM}>, .*status=sent "
                  r"\(delivered to mailbox\)", timeout=20)


def test_owner_alias_is_the_forwarded_sender(inst):
    spool = start(inst, "myorigin = example.org\n",
                  f"team: {USER}+t@{DOM}\nowner-team: {USER}\n")
    r = sendmail(inst, "-f", "alice@example.test", f"team@{DOM}",
                 stdin="Subject: owned\n\nlist mail\n")
    assert r.returncode == 0, r
    qid, fid = forwarded(inst, f"team@{DOM}")
    data = wait_for(inst, spool / USER, rb"list mail\n\n$")
    assert data.startswith(b"From owner-team@example.org  "), data
    # As Postfix's forwarded copy: cleanup's Received: with the new ID,
    # then local's Delivered-To:, then the original content.
    assert re.search(
        rb"\nDelivered-To: " + USER.encode() + rb"\+t@mx\.example\.test\n"
        rb"Received: by mx\.example\.test \(ulak\)\n"
        rb"\tid " + fid.encode() + rb"; \w{3}, \d\d \w{3} \d{4} [\d:]{8} "
        rb"[-+]\d{4} \(\w+\)\n"
        rb"Delivered-To: team@mx\.example\.test\n"
        rb"Received: by mx\.example\.test \(ulak, from userid \d+\)\n"
        rb"\tid " + qid.encode() + rb"; ", data), data
    assert b"\nReturn-Path: <owner-team@example.org>\n" in data
    # With an owner- alias the members are new recipients (no orig_to).
    assert re.search(rb"\nX-Original-To: " + USER.encode()
                     + rb"\+t@mx\.example\.test\n", data), data
    inst.wait_log(rf"{fid}: from=<owner-team@example\.org>", timeout=20)
    inst.wait_log(rf"{fid}: to=<{USER}\+t@{DOM}>, relay=local, .*"
                  r"status=sent \(delivered to mailbox\)", timeout=20)
