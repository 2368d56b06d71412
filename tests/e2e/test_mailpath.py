"""The whole local mail path of issue 3 under a started instance:
sendmail -> maildrop -> pickup/cleanup -> incoming -> qmgr -> local or
virtual -> the mailbox, and a bounce for an unknown user back to the
sender's mailbox, parsed with Python's email package."""
import email
import email.policy
import os
import re
import subprocess
import time

import pytest

from agentfix import ME, USER, chown, inst  # noqa: F401
from conftest import BIN
from test_local import HOME_USER, home_user  # noqa: F401
from test_pickup import sendmail

MASTER = (
    "pickup unix n - n 60 1 pickup\n"
    "qmgr unix n - n 300 1 qmgr\n"
    "local unix - n n - - local\n"
    "virtual unix - n n - - virtual\n"
    "error unix - - n - - error\n"
    "discard unix - - n - - discard\n")


def prepare(inst, main="", fast=True):
    spool = inst.root / "spool"
    spool.mkdir()
    chown(spool)
    inst.configure(MASTER,
                   "myhostname = mx.example.test\n"
                   "mydomain = example.test\n"
                   "mydestination = $myhostname, localhost\n"
                   f"mail_spool_directory = {spool}\n"
                   "alias_maps =\n"
                   + ("queue_run_delay = 1s\nminimal_backoff_time = 1s\n"
                      if fast else "") + main)
    r = inst.ulak("start")
    assert r.returncode == 0, r
    return spool


def postqueue(inst, *args):
    e = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    return subprocess.run([str(BIN / "postqueue"), "-c", str(inst.etc),
                           *args], capture_output=True, text=True, env=e,
                          timeout=60, user=USER, cwd="/")


def wait_for(inst, path, pattern, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if path.exists() and re.search(pattern, path.read_bytes()):
            return path.read_bytes()
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} not in {path}; log:\n"
                         f"{inst.logtext()}")


def test_sendmail_to_local_mbox(inst):
    spool = prepare(inst)
    r = sendmail(inst, "-f", "alice@example.test", f"{USER}@mx.example.test",
                 stdin="Subject: path test\n\nFrom here to there\nbye\n")
    assert r.returncode == 0, r
    data = wait_for(inst, spool / USER, rb"\nbye\n\n$")
    assert re.match(rb"From alice@example\.test  \w{3} \w{3} [ \d]\d "
                    rb"\d\d:\d\d:\d\d \d{4}\n"
                    rb"Return-Path: <alice@example\.test>\n"
                    rb"X-Original-To: " + USER.encode() + rb"@mx\.example\.test\n"
                    rb"Delivered-To: " + USER.encode() + rb"@mx.example.test\n"
                    rb"Received: by mx\.example\.test \(ulak, from userid "
                    rb"\d+\)\n\tid [0-9A-F]+; ", data), data
    assert b"\nSubject: path test\n" in data
    assert b"\n>From here to there\nbye\n\n" in data
    qid = re.search(rb"\tid ([0-9A-F]+);", data).group(1).decode()
    log = inst.wait_log(rf"{qid}: removed")
    assert re.search(rf"ulak/pickup\[\d+\]: {qid}: uid=\d+ "
                     r"from=<alice@example\.test>", log), log
    assert re.search(rf"ulak/qmgr\[\d+\]: {qid}: from=<alice@example\.test>,"
                     r" size=\d+, nrcpt=1 \(queue active\)", log), log
    assert re.search(rf"ulak/local\[\d+\]: {qid}: to=<{USER}@mx.example.test>, "
                     r"relay=local, delay=[\d.]+, delays=[\d./]+, "
                     r"dsn=2\.0\.0, status=sent \(delivered to mailbox\)",
                     log), log
    for folder in ("maildrop", "incoming", "active", "deferred"):
        assert [p for p in (inst.queue / folder).rglob("*")
                if p.is_file()] == [], folder


def test_unknown_user_bounces_to_sender(inst):
    spool = prepare(inst)
    r = sendmail(inst, "-f", f"{USER}@mx.example.test", "nosuchuser@mx.example.test",
                 stdin="Subject: to nobody\n\nhello\n")
    assert r.returncode == 0, r
    data = wait_for(inst, spool / USER, rb"\n\n$")
    # The bounce comes from the null sender.
    assert data.startswith(b"From MAILER-DAEMON  "), data
    raw = data.split(b"\n", 1)[1]
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert msg["Return-Path"] == "<>"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert parts[1].get_content_type() == "message/delivery-status"
    blocks = parts[1].get_payload()
    rcpt = blocks[1]
    assert rcpt["Final-Recipient"] == "rfc822; nosuchuser@mx.example.test"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.1.1"
    assert "nosuchuser" in parts[0].get_payload()
    log = inst.logtext()
    assert re.search(r"to=<nosuchuser@mx.example.test>, relay=local, .*dsn=5\.1\.1,"
                     r" status=bounced \(unknown user: \"nosuchuser\"\)", log)
    assert re.search(r"sender non-delivery notification: [0-9A-F]+", log)


def test_rejected_local_mail_returns_to_sender(inst):
    """header_checks REJECT of locally submitted mail: the submitter has
    gone, so the message comes back to its sender, logged as Postfix 3.7's
    cleanup and bounce log it (recorded with sendmail on a postfix-ref
    instance)."""
    (inst.root / "hc").write_text("/^Subject: reject me/ REJECT no thanks\n")
    spool = prepare(inst, f"header_checks = regexp:{inst.root}/hc\n")
    r = sendmail(inst, "-f", f"{USER}@mx.example.test",
                 "someone@mx.example.test", "other@mx.example.test",
                 stdin="Subject: reject me\n\nbody\n")
    assert r.returncode == 0, r
    data = wait_for(inst, spool / USER, rb"\n\n$")
    assert data.startswith(b"From MAILER-DAEMON  "), data
    msg = email.message_from_bytes(data.split(b"\n", 1)[1],
                                   policy=email.policy.compat32)
    parts = msg.get_payload()
    assert "<someone@mx.example.test>: no thanks" in parts[0].get_payload()
    blocks = parts[1].get_payload()
    assert [(b["Final-Recipient"], b["Action"], b["Status"])
            for b in blocks[1:]] == [
        ("rfc822; someone@mx.example.test", "failed", "5.7.1"),
        ("rfc822; other@mx.example.test", "failed", "5.7.1")]
    assert b"Subject: reject me" in parts[2].as_bytes()
    log = inst.logtext()
    qid = re.search(r"ulak/pickup\[\d+\]: ([0-9A-F]+): uid=\d+ from=", log
                    ).group(1)
    for rcpt in ("someone", "other"):
        assert re.search(rf"ulak/pickup\[\d+\]: {qid}: "
                         rf"to=<{rcpt}@mx\.example\.test>, relay=none, "
                         r"delay=[\d.]+, delays=[\d.]+/0/0/0, dsn=5\.7\.1, "
                         r"status=bounced \(no thanks\)\n", log), log
    assert re.search(rf"{qid}: sender non-delivery notification: [0-9A-F]+",
                     log), log
    assert [p for p in (inst.queue / "maildrop").rglob("*")
            if p.is_file()] == []


def status_report(mbox_msg, user_text):
    """The parts of a "Mail Delivery Status Report" (one mbox message),
    checked for the texts of USER's and nosuch's lines."""
    msg = email.message_from_bytes(mbox_msg.split(b"\n", 1)[1],
                                   policy=email.policy.compat32)
    assert msg["Subject"] == "Mail Delivery Status Report"
    parts = msg.get_payload()
    text = parts[0].get_payload()
    assert "Enclosed is the mail delivery report that you requested." in text
    assert f"<{USER}@mx.example.test>: delivery via local: {user_text}" \
        in text, text
    assert '<nosuch@mx.example.test>: delivery via local: unknown user: ' \
        '"nosuch"' in text, text
    return parts


def test_sendmail_bv_mails_a_report(inst):
    """sendmail -bv: nothing is delivered; the sender gets Postfix's "Mail
    Delivery Status Report" with each agent's answer (texts recorded from
    Debian's Postfix 3.7)."""
    spool = prepare(inst)
    r = sendmail(inst, "-bv", "-f", f"{USER}@mx.example.test",
                 f"{USER}@mx.example.test", "nosuch@mx.example.test",
                 stdin="")
    assert r.returncode == 0, r
    assert r.stdout == ("Mail Delivery Status Report will be mailed to "
                        f"<{USER}@mx.example.test>.\n"), r
    data = wait_for(inst, spool / USER, rb"\n\n$")
    assert data.count(b"\nFrom MAILER-DAEMON ") == 0, data  # one message
    parts = status_report(data, "delivers to mailbox")
    blocks = parts[1].get_payload()
    assert [(b["Final-Recipient"], b["Action"], b["Status"])
            for b in blocks[1:]] == [
        (f"rfc822; {USER}@mx.example.test", "deliverable", "2.0.0"),
        ("rfc822; nosuch@mx.example.test", "undeliverable", "5.1.1")]
    log = inst.logtext()
    qid = re.search(r"ulak/pickup\[\d+\]: ([0-9A-F]+): uid=", log).group(1)
    assert re.search(rf"ulak/local\[\d+\]: {qid}: "
                     rf"to=<{USER}@mx\.example\.test>, relay=local, .*"
                     r"dsn=2\.0\.0, status=deliverable \(delivers to "
                     r"mailbox\)\n", log), log
    assert re.search(rf"{qid}: sender delivery status notification: "
                     r"[0-9A-F]+\n", log), log
    inst.wait_log(rf"qmgr\[\d+\]: {qid}: removed\n")


def test_sendmail_v_mails_a_report_of_the_first_attempt(inst):
    """sendmail -v: the message is delivered as usual (a failure bounces),
    and the sender also gets a "Mail Delivery Status Report" of the first
    attempt with every recipient: delivered, failed, delayed (Postfix
    3.7's behaviour, recorded)."""
    (inst.root / "aliases").write_text('tmp "|exit 75"\n')
    spool = prepare(inst, f"alias_maps = texthash:{inst.root}/aliases\n"
                    "allow_mail_to_commands = alias\n", fast=False)
    r = sendmail(inst, "-v", "-f", f"{USER}@mx.example.test",
                 f"{USER}@mx.example.test", "nosuch@mx.example.test",
                 "tmp@mx.example.test", stdin="Subject: vtest\n\nbody\n")
    assert r.returncode == 0, r
    assert r.stdout == ("Mail Delivery Status Report will be mailed to "
                        f"<{USER}@mx.example.test>.\n"), r
    log = inst.wait_log(r"sender delivery status notification: [0-9A-F]+")
    qid = re.search(r"ulak/pickup\[\d+\]: ([0-9A-F]+): uid=", log).group(1)
    assert re.search(rf"{qid}: sender non-delivery notification: ", log), log
    # the message itself, the bounce, the report: three in the mailbox
    data = wait_for(inst, spool / USER, rb"(?s)(\nFrom MAILER-DAEMON .*){2}")
    reports = [m for m in re.split(rb"\n(?=From )", data)
               if b"Subject: Mail Delivery Status Report" in m]
    assert len(reports) == 1, data
    parts = status_report(reports[0], "delivered to mailbox")
    got = {b["Final-Recipient"]: (b["Action"], b["Status"])
           for b in parts[1].get_payload()[1:]}
    assert got == {f"rfc822; {USER}@mx.example.test": ("delivered", "2.0.0"),
                   "rfc822; nosuch@mx.example.test": ("failed", "5.1.1"),
                   "rfc822; tmp@mx.example.test": ("delayed", "4.3.0")}, got


def test_virtual_maildir(inst):
    base = inst.root / "vmail"
    base.mkdir()
    chown(base)
    (inst.root / "vmailbox").write_text("joe@virt.test joe/\n")
    spool = prepare(inst,
                  "virtual_mailbox_domains = virt.test\n"
                  f"virtual_mailbox_base = {base}\n"
                  f"virtual_mailbox_maps = texthash:{inst.root}/vmailbox\n"
                  f"virtual_uid_maps = static:{ME.pw_uid}\n"
                  f"virtual_gid_maps = static:{ME.pw_gid}\n"
                  "virtual_minimum_uid = 1\n")
    assert spool.exists()
    r = sendmail(inst, "-f", "alice@example.test", "joe@virt.test",
                 stdin="Subject: v\n\nvirtual body\n")
    assert r.returncode == 0, r
    end = time.time() + 20
    files = []
    while time.time() < end and not files:
        files = list((base / "joe" / "new").glob("*")) if (
            base / "joe" / "new").exists() else []
        time.sleep(0.1)
    assert len(files) == 1, files
    data = files[0].read_bytes()
    assert data.startswith(b"Return-Path: <alice@example.test>\n"
                           b"X-Original-To: joe@virt.test\n"
                           b"Delivered-To: joe@virt.test\n"), data
    assert data.endswith(b"\nvirtual body\n"), data


def test_deferred_then_postqueue_f(inst):
    """A mailbox that cannot be written defers; postqueue -f delivers the
    message at once once it can, without waiting for the back-off."""
    spool = prepare(inst, "queue_run_delay = 3600s\n"
                          "minimal_backoff_time = 3600s\n"
                          "maximal_backoff_time = 3600s\n", fast=False)
    spool.chmod(0o500)
    rcpt = f"{USER}@mx.example.test"
    r = sendmail(inst, "-f", "alice@example.test", rcpt,
                 stdin="Subject: later\n\nretry me\n")
    assert r.returncode == 0, r
    log = inst.wait_log(rf"to=<{re.escape(rcpt)}>, relay=local, .*"
                        r"status=deferred", timeout=20)
    qid = re.search(r"(\w+): to=<.*status=deferred", log).group(1)
    deadline = time.time() + 10
    while time.time() < deadline and not list(
            (inst.queue / "deferred").rglob(qid)):
        time.sleep(0.05)
    assert list((inst.queue / "deferred").rglob(qid)), "not in deferred/"
    q = postqueue(inst, "-p")
    assert q.returncode == 0, q
    assert qid in q.stdout and rcpt in q.stdout, q.stdout
    spool.chmod(0o755)
    f = postqueue(inst, "-f")
    assert (f.returncode, f.stdout, f.stderr) == (0, "", ""), f
    wait_for(inst, spool / USER, rb"\nretry me\n\n$")
    inst.wait_log(rf"{qid}: removed")


VIRTUAL = ("virtual_mailbox_domains = virt.test\n"
           "virtual_mailbox_base = {base}\n"
           "virtual_mailbox_maps = texthash:{root}/vmailbox\n"
           "virtual_uid_maps = static:{uid}\n"
           "virtual_gid_maps = static:{gid}\n"
           "virtual_minimum_uid = 1\n")


def virtual_setup(inst, boxes):
    base = inst.root / "vmail"
    base.mkdir()
    chown(base)
    (inst.root / "vmailbox").write_text(
        "".join(f"{b}@virt.test {b}/\n" for b in boxes))
    return base, VIRTUAL.format(base=base, root=inst.root, uid=ME.pw_uid,
                                gid=ME.pw_gid)


def maildir_messages(inst, folder, n=1, timeout=20):
    end = time.time() + timeout
    files = []
    while time.time() < end:
        files = sorted(folder.glob("*")) if folder.exists() else []
        if len(files) >= n:
            return [f.read_bytes() for f in files]
        time.sleep(0.1)
    raise AssertionError(f"{len(files)} of {n} messages in {folder}; log:\n"
                         f"{inst.logtext()}")


def test_virtual_alias_fan_out_catch_all_and_extension(inst):
    """virtual_alias_maps one-to-many and an @domain catch-all, and
    recipient_delimiter: joe+tag reaches joe."""
    base, vconf = virtual_setup(inst, ["joe", "ann", "catch"])
    (inst.root / "valias").write_text(
        "team@alias.test joe@virt.test, ann@virt.test\n"
        "@alias.test catch@virt.test\n")
    prepare(inst, vconf + "virtual_alias_domains = alias.test\n"
            f"virtual_alias_maps = texthash:{inst.root}/valias\n"
            "recipient_delimiter = +\n")
    for rcpt in ("team@alias.test", "other@alias.test", "joe+tag@virt.test"):
        r = sendmail(inst, "-f", "alice@example.test", rcpt,
                     stdin=f"Subject: to {rcpt}\n\nfor {rcpt}\n")
        assert r.returncode == 0, r
    joe = maildir_messages(inst, base / "joe" / "new", 2)
    ann = maildir_messages(inst, base / "ann" / "new", 1)
    catch = maildir_messages(inst, base / "catch" / "new", 1)
    assert any(b"X-Original-To: team@alias.test\n"
               b"Delivered-To: joe@virt.test\n" in m for m in joe), joe
    assert any(b"X-Original-To: joe+tag@virt.test\n" in m
               and b"\nfor joe+tag@virt.test\n" in m for m in joe), joe
    assert b"X-Original-To: team@alias.test\nDelivered-To: ann@virt.test\n" \
        in ann[0], ann
    assert b"X-Original-To: other@alias.test\n" \
        b"Delivered-To: catch@virt.test\n" in catch[0], catch


def test_defer_delay_warning_then_bounce(inst):
    """A mailbox that cannot be written is retried with back-off, the
    sender gets a delay warning after delay_warning_time and a bounce
    once maximal_queue_lifetime has passed."""
    base, vconf = virtual_setup(inst, ["sender"])
    spool = prepare(inst, vconf + "maximal_queue_lifetime = 6s\n"
                    "bounce_queue_lifetime = 6s\n"
                    "delay_warning_time = 2s\n"
                    "maximal_backoff_time = 1s\n", fast=True)
    spool.chmod(0o500)
    rcpt = f"{USER}@mx.example.test"
    r = sendmail(inst, "-f", "sender@virt.test", rcpt,
                 stdin="Subject: doomed\n\nnever delivered\n")
    assert r.returncode == 0, r
    msgs = maildir_messages(inst, base / "sender" / "new", 2, timeout=40)
    delay = [m for m in msgs if b"Subject: Delayed Mail (still being " in m]
    bounce = [m for m in msgs
              if b"Subject: Undelivered Mail Returned to Sender" in m]
    assert len(delay) == 1 and len(bounce) == 1, msgs
    for raw in (delay[0], bounce[0]):
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        assert msg["Return-Path"] == "<>"
        assert msg.get_content_type() == "multipart/report"
        st = msg.get_payload()[1].get_payload()[1]
        assert st["Final-Recipient"] == f"rfc822; {rcpt}"
    dmsg = email.message_from_bytes(delay[0], policy=email.policy.compat32)
    assert dmsg.get_payload()[1].get_payload()[1]["Action"] == "delayed"
    bmsg = email.message_from_bytes(bounce[0], policy=email.policy.compat32)
    assert bmsg.get_payload()[1].get_payload()[1]["Action"] == "failed"
    log = inst.logtext()
    assert len(re.findall(rf"to=<{re.escape(rcpt)}>, relay=local, .*"
                          r"status=deferred", log)) >= 2, log
    assert re.search(r"sender delay notification: [0-9A-F]+", log), log


def postsuper(inst, *args):
    e = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    return subprocess.run([str(BIN / "postsuper"), "-c", str(inst.etc),
                           *args], capture_output=True, text=True, env=e,
                          timeout=60, user=USER, cwd="/")


def in_folder(inst, folder, qid):
    return bool(list((inst.queue / folder).rglob(qid)))


def wait_folder(inst, folder, qid, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if in_folder(inst, folder, qid):
            return
        time.sleep(0.05)
    raise AssertionError(f"{qid} not in {folder}; log:\n{inst.logtext()}")


def test_postsuper_on_a_live_queue(inst):
    """hold, release, requeue and delete on a deferred message of a
    running instance, as mailq and postqueue -j show them."""
    spool = prepare(inst, "queue_run_delay = 3600s\n"
                          "minimal_backoff_time = 3600s\n"
                          "maximal_backoff_time = 3600s\n", fast=False)
    spool.chmod(0o500)
    rcpt = f"{USER}@mx.example.test"
    r = sendmail(inst, "-f", "alice@example.test", rcpt,
                 stdin="Subject: held\n\nqueued\n")
    assert r.returncode == 0, r
    log = inst.wait_log(r"status=deferred")
    qid = re.search(r"(\w+): to=<.*status=deferred", log).group(1)
    wait_folder(inst, "deferred", qid)

    h = postsuper(inst, "-h", qid)
    assert (h.returncode, h.stderr) == (
        0, f"postsuper: {qid}: placed on hold\n"
           "postsuper: Placed on hold: 1 message\n"), h
    assert in_folder(inst, "hold", qid) and not in_folder(
        inst, "deferred", qid)
    q = postqueue(inst, "-p")
    assert re.search(rf"^{qid}!\s", q.stdout, re.M), q.stdout
    j = postqueue(inst, "-j")
    assert f'"queue_name": "hold", "queue_id": "{qid}"' in j.stdout, j.stdout

    rel = postsuper(inst, "-H", qid)
    assert rel.returncode == 0 and "released from hold" in rel.stderr, rel
    assert in_folder(inst, "deferred", qid)

    spool.chmod(0o755)
    rq = postsuper(inst, "-r", qid)
    assert rq.returncode == 0 and f"{qid}: requeued" in rq.stderr, rq
    # Requeued mail goes through pickup and cleanup again, then qmgr
    # delivers it at once (Postfix's behaviour).
    wait_for(inst, spool / USER, rb"\nqueued\n\n$")
    # local removes its lock file before it answers qmgr: wait for that.
    inst.wait_log(r": removed\n")

    spool.chmod(0o500)
    r = sendmail(inst, "-f", "alice@example.test", rcpt,
                 stdin="Subject: gone\n\ndelete me\n")
    assert r.returncode == 0, r
    log = inst.wait_log(r"status=deferred", count=2, timeout=30)
    qid2 = re.findall(r"(\w+): to=<[^>]*>, relay=local, .*status=deferred",
                      log)[-1]
    wait_folder(inst, "deferred", qid2)
    d = postsuper(inst, "-d", qid2)
    assert (d.returncode, d.stderr) == (
        0, f"postsuper: {qid2}: removed\npostsuper: Deleted: 1 message\n"), d
    assert postqueue(inst, "-p").stdout == "Mail queue is empty\n"
    spool.chmod(0o755)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: a privileged "
                    "instance and a set-group-ID binary")
def test_setgid_sendmail_submits_to_a_root_instance(inst):
    """An ordinary user submits to a root instance through a sendmail that
    is set-group-ID setgid_group (maildrop/ is 0730 mail_owner:postdrop),
    as with Postfix's postdrop; without the bit, or with a configuration
    the user could have written, the group is not used."""
    import grp
    import shutil
    import stat
    try:
        gid = grp.getgrnam("postdrop").gr_gid
    except KeyError:
        pytest.skip("no postdrop group on this host")
    inst.configure(MASTER, "mail_owner = postfix\nsetgid_group = postdrop\n"
                   "alias_maps =\n")
    for p in [inst.etc, *inst.etc.iterdir()]:
        os.chown(p, 0, 0)
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    e = inst.start_privileged()
    bindir = inst.root / "bin"
    bindir.mkdir()
    for name, mode in (("sendmail", 0o2755), ("plain", 0o755)):
        d = bindir / name
        d.mkdir()
        shutil.copy(BIN.parent / "ulak", d / "sendmail")
        os.chown(d / "sendmail", 0, gid)
        os.chmod(d / "sendmail", mode)
        os.chmod(d, 0o755)
    os.chmod(bindir, 0o755)
    maildrop = inst.queue / "maildrop"
    st = os.stat(maildrop)
    assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o730, gid)

    def submit(which, etc):
        return subprocess.run([str(bindir / which / "sendmail"), "-C",
                               str(etc), "-f", "nobody@example.test",
                               "someone@example.test"],
                              input="Subject: setgid\n\nhi\n",
                              capture_output=True, text=True, env=e,
                              timeout=60, user="nobody", cwd="/")
    try:
        r = submit("sendmail", inst.etc)
        assert r.returncode == 0, r
        inst.wait_log(r"ulak/pickup\[\d+\]: [0-9A-F]+: uid=65534 "
                      r"from=<nobody@example\.test>")
        r = submit("plain", inst.etc)
        assert r.returncode == 75 and "Permission denied" in r.stderr, r
        # A copy of the configuration that nobody owns: the group goes.
        mine = inst.root / "mine"
        shutil.copytree(inst.etc, mine)
        for p in [mine, *mine.iterdir()]:
            os.chown(p, 65534, 65534)
        r = submit("sendmail", mine)
        assert r.returncode == 75 and "Permission denied" in r.stderr, r
    finally:
        subprocess.run([str(BIN.parent / "ulak"), "-c", str(inst.etc),
                        "stop"], env=e, timeout=60)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: a privileged "
                    "instance and a test account")
@pytest.mark.parametrize("home_mailbox", ["Maildir/", "Mailbox"])
def test_sendmail_to_home_mailbox(inst, home_user, home_mailbox):
    """The whole path as root: sendmail -> pickup -> qmgr -> local, into a
    Maildir or an mbox in the user's home (home_mailbox), written as the
    user, with Return-Path:, Delivered-To: and the Received: of local
    submission."""
    pw, home = home_user
    inst.configure(MASTER, "mail_owner = postfix\nalias_maps =\n"
                   "myhostname = mx.example.test\n"
                   "mydestination = $myhostname, localhost\n"
                   f"home_mailbox = {home_mailbox}\n")
    os.chown(home, pw.pw_uid, pw.pw_gid)  # configure gave it to USER
    e = inst.start_privileged()
    rcpt = f"{HOME_USER}@mx.example.test"
    try:
        r = subprocess.run([str(BIN / "sendmail"), "-C", str(inst.etc),
                            "-f", "alice@example.test", rcpt],
                           input="Subject: home\n\nhello home\n",
                           capture_output=True, text=True, env=e,
                           timeout=60)
        assert r.returncode == 0, r
        want = "maildir" if home_mailbox.endswith("/") else "mailbox"
        log = inst.wait_log(rf"to=<{rcpt}>, relay=local, .* status=sent "
                            rf"\(delivered to {want}\)", timeout=20)
    finally:
        subprocess.run([str(BIN.parent / "ulak"), "-c", str(inst.etc),
                        "stop"], env=e, timeout=60)
    if home_mailbox == "Maildir/":
        files = list((home / "Maildir" / "new").iterdir())
        assert len(files) == 1, files
        path = files[0]
        data = path.read_bytes()
    else:
        path = home / "Mailbox"
        data = path.read_bytes()
        assert data.startswith(b"From alice@example.test "), data
        data = data.split(b"\n", 1)[1]
    assert os.stat(path).st_uid == pw.pw_uid
    assert re.match(rb"Return-Path: <alice@example\.test>\n"
                    rb"X-Original-To: " + rcpt.encode() + rb"\n"
                    rb"Delivered-To: " + rcpt.encode() + rb"\n"
                    rb"Received: by mx\.example\.test \(ulak, from userid "
                    rb"0\)\n\tid [0-9A-F]+; ", data), data
    assert data.endswith(b"\nhello home\n") or \
        data.endswith(b"\nhello home\n\n"), data
    assert re.search(r"ulak/pickup\[\d+\]: [0-9A-F]+: uid=0 "
                     r"from=<alice@example\.test>", log), log
