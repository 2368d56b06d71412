"""virtual(8) end to end: mailboxes under virtual_mailbox_base for
virtual_mailbox_maps, mbox and Maildir, uid/gid maps, the minimum uid,
the size limit, unknown users; the test plays the queue manager."""
import re

from agentfix import (DELAYS, MASTER_CF, ME, chown, deliver, inst,  # noqa
                      log_line)

MSG = b"Subject: v\n\nFrom here\nbody\n"


def prepare(inst, main="", uid=None):
    base = inst.root / "vmail"
    (base / "a").mkdir(parents=True)
    (base / "b").mkdir()
    chown(base)
    maps = inst.root / "vmaps"
    maps.write_text("a@example.test a/mbox\n"
                    "b@example.test b/Maildir/\n"
                    "@catch.test b/catch/\n")
    chown(maps)
    uid = ME.pw_uid if uid is None else uid
    inst.configure(MASTER_CF, (
        f"virtual_mailbox_base = {base}\n"
        f"virtual_mailbox_maps = texthash:{maps}\n"
        f"virtual_uid_maps = static:{uid}\n"
        f"virtual_gid_maps = static:{ME.pw_gid}\n"
        "virtual_minimum_uid = 100\n" + main))
    r = inst.ulak("start")
    assert r.returncode == 0, r
    return base


def test_mbox(inst):
    base = prepare(inst)
    qid, st = deliver(inst, "virtual", [("a@Example.TEST", "x@example.test")],
                      content=MSG)
    assert st[0]["status"] == "2.0.0", st
    assert (st[0]["reason"], st[0]["relay"]) == ("delivered to mailbox",
                                                 "virtual")
    data = (base / "a" / "mbox").read_bytes()
    assert data.startswith(b"From alice@example.test  ")
    assert b"\nReturn-Path: <alice@example.test>\nX-Original-To: " \
        b"x@example.test\nDelivered-To: a@Example.TEST\n" in data
    assert b"\n>From here\n" in data
    log_line(inst, qid, r"to=<a@Example\.TEST>, orig_to=<x@example\.test>, "
             r"relay=virtual, " + DELAYS + r", dsn=2\.0\.0, status=sent "
             r"\(delivered to mailbox\)")


def test_maildir_and_catchall(inst):
    base = prepare(inst)
    qid, st = deliver(inst, "virtual", ["b@example.test", "zz@catch.test"],
                      content=MSG)
    assert [s["status"] for s in st] == ["2.0.0", "2.0.0"], st
    assert st[0]["reason"] == "delivered to maildir"
    [f] = list((base / "b" / "Maildir" / "new").iterdir())
    data = f.read_bytes()
    assert data == (b"Return-Path: <alice@example.test>\n"
                    b"Delivered-To: b@example.test\n" + MSG)
    [g] = list((base / "b" / "catch" / "new").iterdir())
    assert b"Delivered-To: zz@catch.test\n" in g.read_bytes()


def test_unknown_user(inst):
    prepare(inst)
    qid, st = deliver(inst, "virtual", ["nobody@example.test"])
    assert (st[0]["status"], st[0]["action"]) == ("5.1.1", "failed")
    assert st[0]["reason"] == 'unknown user: "nobody@example.test"'
    log_line(inst, qid, r"to=<nobody@example\.test>, relay=virtual, "
             + DELAYS + r", dsn=5\.1\.1, status=bounced \(unknown user: "
             r"\"nobody@example\.test\"\)")


def test_minimum_uid(inst):
    prepare(inst, uid=5)
    qid, st = deliver(inst, "virtual", ["a@example.test"])
    assert (st[0]["status"], st[0]["action"]) == ("4.3.0", "delayed")
    assert "below virtual_minimum_uid 100" in st[0]["reason"]


def test_other_uid_deferred_when_unprivileged(inst):
    prepare(inst, uid=ME.pw_uid - 1 if ME.pw_uid > 101 else 4242)
    qid, st = deliver(inst, "virtual", ["a@example.test"])
    assert st[0]["status"] == "4.3.0"
    assert "unprivileged instance" in st[0]["reason"]


def test_size_limit(inst):
    base = prepare(inst, "virtual_mailbox_limit = 100\n"
                   "message_size_limit = 50\n")
    big = b"Subject: big\n\n" + b"y" * 200 + b"\n"
    qid, st = deliver(inst, "virtual", ["a@example.test", "b@example.test"],
                      content=big)
    assert [s["status"] for s in st] == ["5.2.2", "5.2.2"], st
    assert re.search("File too large", st[0]["reason"])
    assert (base / "a" / "mbox").read_bytes() == b""


def test_verify(inst):
    base = prepare(inst)
    qid, st = deliver(inst, "virtual", ["b@example.test", "x@example.test"],
                      flags=1)
    assert [(s["status"], s["action"], s["reason"]) for s in st] == [
        ("2.0.0", "deliverable", "delivers to maildir"),
        ("5.1.1", "undeliverable", 'unknown user: "x@example.test"')]
    assert not (base / "b" / "Maildir").exists()
