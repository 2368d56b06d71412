"""pickup under the master: sendmail drops a message into maildrop/, the
master's pickup takes it through cleanup into incoming/ (no queue manager
yet), with the headers and log lines of Postfix 3.7's pickup and cleanup
(checked on a /work/shared/tools/postfix-ref instance; ulak writes its
$mail_name in the Received: header)."""
import os
import pwd
import re
import subprocess
import time

import pytest

from conftest import BIN, run
from test_master import AS_ROOT, USER, Instance, inst, pytestmark, start  # noqa: F401

PICKUP = "pickup unix n - n 60 1 pickup\n"


def sendmail(inst, *args, stdin):
    e = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    return subprocess.run([str(BIN / "sendmail"), "-C", str(inst.etc), *args],
                          input=stdin, capture_output=True, text=True,
                          env=e, timeout=60, user=USER, cwd="/")


def files(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not p.name.startswith("tmp."))


def wait_files(folder, n=1, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if len(files(folder)) >= n:
            return files(folder)
        time.sleep(0.05)
    raise AssertionError(f"no file in {folder}")


def uid():
    return pwd.getpwnam(USER).pw_uid if AS_ROOT else os.getuid()


def login():
    return USER if AS_ROOT else pwd.getpwuid(os.getuid()).pw_name


@pytest.mark.parametrize("kind", ["unix", "fifo"])
def test_sendmail_to_incoming(inst, kind):
    inst.configure(f"pickup {kind} n - n 60 1 pickup\n",
                   "myhostname = mx.example.test\nmydomain = example.test\n")
    start(inst)
    r = sendmail(inst, "-F", "Joe User", "bob@example.test",
                 stdin="Subject: hello\nTo: bob\n\nbody\n")
    assert r.returncode == 0, r
    (path,) = wait_files(inst.queue / "incoming")
    assert files(inst.queue / "maildrop") == []
    qid = path.name
    log = inst.wait_log(rf"{qid}: message-id=<")
    assert re.search(rf"ulak/pickup\[\d+\]: {qid}: uid={uid()} "
                     rf"from=<{login()}>\n", log), log
    assert re.search(rf"ulak/pickup\[\d+\]: {qid}: message-id=<\d{{14}}\."
                     rf"{qid}@mx\.example\.test>\n", log), log
    out = run("postcat", "-c", inst.etc, "-q", qid)
    assert out.rc == 0, out
    text = out.out
    assert f"sender: {login()}@mx.example.test\n" in text
    assert "named_attribute: rewrite_context=local\n" in text
    assert "named_attribute: dsn_orig_rcpt=rfc822;bob@example.test\n" in text
    assert "original_recipient: bob@example.test\n" in text
    assert "recipient: bob@example.test\n" in text
    assert re.search(
        rf"\*\*\* MESSAGE CONTENTS incoming/{qid} \*\*\*\n"
        rf"Received: by mx\.example\.test \(ulak, from userid {uid()}\)\n"
        rf"\tid {qid}; \w{{3}}, \d\d \w{{3}} \d{{4}} \d\d:\d\d:\d\d [+-]\d{{4}}"
        rf" \(\w+\)\n"
        r"Subject: hello\n"
        r"To: bob@mx\.example\.test\n"
        rf"Message-Id: <\d{{14}}\.{qid}@mx\.example\.test>\n"
        r"Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)\n"
        rf"From: Joe User <{login()}@mx\.example\.test>\n"
        r"\n"
        r"body\n", text), text


def test_periodic_scan_finds_waiting_files(inst):
    """Files dropped while no master ran (no trigger reached pickup) are
    found by the scan of the master's wakeup (here every second)."""
    inst.configure("pickup unix n - n 1 1 pickup\n",
                   "myhostname = mx.example.test\n")
    # The folders exist only after a start; a stop leaves them.
    start(inst)
    assert inst.ulak("stop").returncode == 0
    for n in range(3):
        r = sendmail(inst, f"u{n}@example.test", stdin="Subject: x\n\nb\n")
        assert r.returncode == 0, r
    assert len(files(inst.queue / "maildrop")) == 3
    start(inst)
    wait_files(inst.queue / "incoming", 3)
    end = time.time() + 10
    while files(inst.queue / "maildrop") and time.time() < end:
        time.sleep(0.05)
    assert files(inst.queue / "maildrop") == []


def test_damaged_maildrop_file_goes_to_corrupt(inst):
    inst.configure(PICKUP, "myhostname = mx.example.test\n")
    start(inst)
    bad = inst.queue / "maildrop" / "ABCDE12345"
    bad.write_bytes(b"not a queue file")
    if AS_ROOT:
        pw = pwd.getpwnam(USER)
        os.chown(bad, pw.pw_uid, pw.pw_gid)
    r = sendmail(inst, "a@example.test", stdin="Subject: x\n\nb\n")
    assert r.returncode == 0, r
    wait_files(inst.queue / "corrupt")
    log = inst.wait_log(r"maildrop/ABCDE12345: .* -- moved to corrupt")
    assert "warning: maildrop/ABCDE12345: " in log
    wait_files(inst.queue / "incoming")
