"""The queue manager: messages put into incoming/ (or left in active/ by a
crash) are resolved, scheduled and handed to delivery agents; delivered
recipients are marked done and the file removed; failed ones come back to
the sender as a non-delivery notification queued in incoming/; deferred
ones wait in deferred/ with the retry time in the file's mtime, until a
flush; expired messages bounce; damaged files go to corrupt/.

The delivery agent is tests/e2e/qmgr_agent.py under spawn(8): the
recipient's local part decides what it answers, and its journal records
every request it got.
"""
import json
import os
import pathlib
import pwd
import re
import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import BIN
from queuefile import id_hash, place_by_inode, queue_file
from test_master import AS_ROOT, USER, inst, pytestmark  # noqa: F401

AGENT = pathlib.Path(__file__).resolve().parent / "qmgr_agent.py"


def start_qmgr(inst, main="", maxproc=4, extra="", wakeup=300):
    shutil.copy(AGENT, inst.root / "agent.py")
    journal = inst.root / "journal"
    journal.write_text("")
    master = (f"qmgr unix n - n {wakeup} 1 qmgr\n"
              f"fake unix - n n - {maxproc} spawn user={USER or 'nobody'} "
              f"argv=/usr/bin/python3 {inst.root}/agent.py {journal}\n"
              + extra)
    inst.configure(master, "default_transport = fake\n"
                   "myhostname = mx.example.test\n" + main)
    r = inst.ulak("start")
    assert r.returncode == 0, r
    inst.wait_log(r"ulak/master\[\d+\]: daemon started")
    return journal


def own(path):
    if AS_ROOT:
        pw = pwd.getpwnam(USER)
        os.lchown(path, pw.pw_uid, pw.pw_gid)


def wakeup(inst, queue_name="incoming"):
    """A wakeup frame (ipc_msgs.def type 3) to public/qmgr; the reply."""
    body = struct.pack(">HI", 1, len(queue_name)) + queue_name.encode()
    frame = struct.pack(">IHHI", 12 + len(body), 3, 1, 7) + body
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(inst.sock("qmgr", private=False))
        s.sendall(frame)
        hdr = s.recv(12)
        ln, typ, ver, reqid = struct.unpack(">IHHI", hdr)
        rest = s.recv(ln - 12)
    assert (typ, reqid) == (6, 7)
    return rest


def put(inst, folder="incoming", **kw):
    """A queue file in FOLDER, owned by the mail user before it appears
    there: a running qmgr may take it at once."""
    kw.setdefault("arrival", int(time.time()))
    qid, tmp = place_by_inode(inst.queue, "staging", queue_file(**kw),
                              hashed=())
    own(tmp)
    d = inst.queue / folder
    if folder in ("deferred", "defer"):
        d = d.joinpath(*id_hash(qid, 1))
    d.mkdir(parents=True, exist_ok=True)
    path = str(d / qid)
    os.rename(tmp, path)
    return qid, path


def journal(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def files(inst, folder):
    return sorted(p.name for p in (inst.queue / folder).rglob("*")
                  if p.is_file())


def postcat(inst, qid):
    r = subprocess.run([str(BIN / "postcat"), "-c", str(inst.etc), "-q",
                        qid], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_deliver_and_remove(inst):
    j = start_qmgr(inst)
    qid, _ = put(inst, rcpts=[{"addr": "one@example.test"},
                              {"addr": "two@example.test"}])
    assert wakeup(inst) == struct.pack(">HIi", 1, 4, 0)  # status ok
    log = inst.wait_log(rf"qmgr\[\d+\]: {qid}: removed\n")
    assert re.search(rf"qmgr\[\d+\]: {qid}: from=<alice@example.test>, "
                     r"size=41, nrcpt=2 \(queue active\)\n", log), log
    reqs = journal(j)
    assert len(reqs) == 1, reqs
    assert reqs[0]["queue_id"] == qid
    assert reqs[0]["queue_name"] == "active"
    assert reqs[0]["sender"] == "alice@example.test"
    assert reqs[0]["nexthop"] == "example.test"
    assert [r["address"] for r in reqs[0]["rcpts"]] == \
        ["one@example.test", "two@example.test"]
    for d in ("incoming", "active", "deferred"):
        assert files(inst, d) == [], d


def test_bounce_defer_and_flush(inst):
    j = start_qmgr(inst)
    qid, _ = put(inst, sender="defer-sender@example.test",
                 rcpts=[{"addr": "ok@example.test"},
                        {"addr": "fail@example.test"},
                        {"addr": "defer@example.test"}])
    wakeup(inst)
    log = inst.wait_log(rf"{qid}: sender non-delivery notification: (\w+)\n")
    bid = re.search(rf"{qid}: sender non-delivery notification: (\w+)\n",
                    log).group(1)
    # The notification is a message of its own, from <> to the sender; the
    # agent defers it (the sender's local part), so it stays in deferred/.
    log = inst.wait_log(rf"{bid}: from=<>, size=\d+, nrcpt=1 "
                        r"\(queue active\)\n")
    assert re.search(rf"qmgr\[\d+\]: {bid}: message-id="
                     rf"<\d{{14}}\.{bid}@mx\.example\.test>\n", log), log
    end = time.time() + 10
    while sorted(files(inst, "deferred")) != sorted([qid, bid]):
        assert time.time() < end, files(inst, "deferred")
        time.sleep(0.1)
    out = postcat(inst, qid)
    assert "done_recipient: ok@example.test\n" in out, out
    assert "done_recipient: fail@example.test\n" in out, out
    assert "\nrecipient: defer@example.test\n" in out, out
    # The retry time is the mtime: minimal_backoff_time ahead.
    st = next((inst.queue / "deferred").rglob(qid)).stat()
    assert 250 < st.st_mtime - time.time() <= 300, st.st_mtime - time.time()

    # The defer log holds the deferred recipient's reason; the bounce log
    # is gone once the report is queued.
    dlog = next((inst.queue / "defer").rglob(qid)).read_text()
    assert "recipient=defer@example.test\n" in dlog, dlog
    assert "status=4.4.1\naction=delayed\nreason=connection refused " \
        "(test)\n" in dlog, dlog
    assert "fail@" not in dlog and "ok@" not in dlog, dlog
    assert list((inst.queue / "bounce").rglob(qid)) == []
    r = subprocess.run([str(BIN / "postqueue"), "-c", str(inst.etc), "-p"],
                       capture_output=True, text=True, timeout=30)
    assert "(connection refused (test))" in r.stdout, r
    assert "defer@example.test" in r.stdout, r

    bounce = postcat(inst, bid)
    assert "sender: \n" in bounce, bounce
    assert "recipient: defer-sender@example.test\n" in bounce, bounce
    assert re.search(r"Received: by mx\.example\.test \(ulak\)\n"
                     rf"\tid {bid}; ", bounce), bounce
    assert "Subject: Undelivered Mail Returned to Sender\n" in bounce
    assert "<fail@example.test>: user unknown (test)" in bounce, bounce
    assert "ok@example.test" not in bounce.split("MESSAGE CONTENTS")[1] \
        .split("Content-Description: Undelivered Message")[0], bounce
    assert re.search(rf"Message-Id: <\d{{14}}\.{bid}@mx\.example\.test>\n",
                     bounce), bounce
    reqs = journal(j)
    breq = [r for r in reqs if r["queue_id"] == bid]
    assert breq and breq[0]["sender"] == "" and breq[0]["flags"] == 2, reqs

    # Flush: both go back and are tried again now.
    n = len(reqs)
    r = inst.ulak("flush")
    assert r.returncode == 0, r
    inst.wait_log(rf"{qid}: from=<defer-sender@example.test>, size=41, "
                  r"nrcpt=3 \(queue active\)\n", count=2)
    end = time.time() + 10
    while len(journal(j)) < n + 2:
        assert time.time() < end, journal(j)
        time.sleep(0.1)
    again = [x for x in journal(j)[n:] if x["queue_id"] == qid]
    assert [x["address"] for x in again[0]["rcpts"]] == \
        ["defer@example.test"]


def test_recovery_skips_done(inst):
    j = start_qmgr(inst)
    r = inst.ulak("stop")
    assert r.returncode == 0, r
    qid, _ = put(inst, folder="active",
                 rcpts=[{"addr": "done@example.test", "done": True},
                        {"addr": "left@example.test"}])
    r = inst.ulak("start")
    assert r.returncode == 0, r
    inst.wait_log(rf"qmgr\[\d+\]: {qid}: removed\n")
    reqs = journal(j)
    assert [x["address"] for x in reqs[0]["rcpts"]] == ["left@example.test"]
    assert len(reqs) == 1


def test_concurrency_and_recipient_limit(inst):
    j = start_qmgr(inst, "fake_destination_concurrency_limit = 2\n"
                    "fake_destination_recipient_limit = 2\n")
    qid, _ = put(inst, rcpts=[{"addr": f"slow{i}@example.test"}
                              for i in range(6)]
                 + [{"addr": "quick@other.test"}])
    wakeup(inst)
    inst.wait_log(rf"{qid}: removed\n", timeout=20)
    reqs = journal(j)
    slow = [r for r in reqs if r["nexthop"] == "example.test"]
    assert sorted(len(r["rcpts"]) for r in slow) == [2, 2, 2], reqs
    # never more than 2 at once to example.test, and 2 at some point
    assert peak(slow) == 2, [(x["start"], x["end"]) for x in slow]
    # the other destination is not held up behind the slow one
    other = [r for r in reqs if r["nexthop"] == "other.test"]
    assert other and other[0]["start"] < max(r["end"] for r in slow)


def test_expired_and_null_sender(inst):
    start_qmgr(inst, "maximal_queue_lifetime = 0\nbounce_queue_lifetime = 0\n")
    qid, _ = put(inst, rcpts=[{"addr": "defer@example.test"}])
    nid, _ = put(inst, sender="", rcpts=[{"addr": "fail@example.test"}])
    wakeup(inst)
    log = inst.wait_log(rf"{qid}: removed\n")
    assert f"{qid}: from=<alice@example.test>, status=expired, returned " \
        "to sender\n" in log, log
    assert re.search(rf"{qid}: sender non-delivery notification: \w+\n", log)
    assert f"{nid}: from=<>, status=expired" not in log, log
    # A bounce of a bounce is never sent: logged and dropped.
    log = inst.wait_log(rf"{nid}: removed\n")
    assert not re.search(rf"{nid}: \w+ non-delivery notification", log), log


def test_delay_warning(inst):
    start_qmgr(inst)
    qid, _ = put(inst, sender="defer-me@example.test",
                 rcpts=[{"addr": "defer@example.test"}],
                 warn=int(time.time()) - 1)
    wakeup(inst)
    log = inst.wait_log(rf"{qid}: sender delay notification: (\w+)\n")
    end = time.time() + 10
    while qid not in files(inst, "deferred"):
        assert time.time() < end
        time.sleep(0.1)
    assert "warning_message_time: 0\n" in postcat(inst, qid)
    did = re.search(rf"{qid}: sender delay notification: (\w+)\n",
                    log).group(1)
    inst.wait_log(rf"{did}: from=<>")


def test_corrupt_and_unavailable(inst):
    start_qmgr(inst, "transport_maps = inline:{nowhere.test=nosuch:}\n")
    bad, path = put(inst)
    with open(path, "r+b") as f:
        f.seek(90)
        f.write(b"\xff\xff")
    qid, _ = put(inst, rcpts=[{"addr": "x@nowhere.test"}])
    wakeup(inst)
    inst.wait_log(rf"warning: saving corrupt file \"{bad}\" from queue "
                  r"\"active\" to queue \"corrupt\"\n")
    assert files(inst, "corrupt") == [bad]
    log = inst.wait_log(rf"{qid}: to=<x@nowhere.test>, relay=none, "
                        r"delay=[\d.]+, delays=[\d.]+/0/0/0, dsn=4.3.0, "
                        r"status=deferred \(mail transport unavailable\)\n")
    assert "warning: connect to transport private/nosuch: " in log, log


def test_master_wakeup_agent_crash_and_retry(inst):
    """No wakeup frame: the master's "W" (wakeup column 1) starts the run;
    an agent that dies defers; queue_run_delay and the back-off bring the
    message back on their own."""
    start_qmgr(inst, "queue_run_delay = 1s\nminimal_backoff_time = 1s\n"
               "maximal_backoff_time = 1s\n", wakeup=1)
    time.sleep(0.5)
    qid, _ = put(inst, rcpts=[{"addr": "crash@example.test"}])
    log = inst.wait_log(rf"{qid}: to=<crash@example.test>, relay=fake, "
                        r"delay=[\d.]+, delays=[\d.]+/0/0/0, dsn=4.3.0, "
                        r"status=deferred \(unknown mail transport error\)\n")
    assert re.search(rf"warning: {qid}: private/fake: unexpected end of "
                     "file\n", log), log
    inst.wait_log(rf"{qid}: from=<alice@example.test>, size=41, nrcpt=1 "
                  r"\(queue active\)\n", count=3, timeout=15)
    assert f"{qid}: removed" not in inst.logtext()


def test_hostile_public_socket(inst):
    """Garbage and unknown frames on public/qmgr close that connection and
    nothing else; a flush frame is answered."""
    start_qmgr(inst)
    for junk in [b"\x00\x00\x00\x05abcdefgh",
                 struct.pack(">IHHI", 12, 99, 1, 5),
                 struct.pack(">IHHI", 18, 3, 1, 5) + b"\x00\x09\x00\x00"
                 b"\x00\x00"]:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(inst.sock("qmgr", private=False))
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            while s.recv(4096):
                pass
    log = inst.wait_log(r"qmgr\[\d+\]: warning: public socket: "
                        r"unexpected message type 99\n")
    assert "bad wakeup" in log, log
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(inst.sock("qmgr", private=False))
        s.sendall(struct.pack(">IHHI", 12, 5, 1, 9))
        ln, typ, ver, reqid = struct.unpack(">IHHI", s.recv(12))
        assert (typ, reqid) == (6, 9)
        assert s.recv(ln - 12) == struct.pack(">HIi", 1, 4, 0)
    qid, _ = put(inst, rcpts=[{"addr": "after@example.test"}])
    wakeup(inst)
    inst.wait_log(rf"{qid}: removed\n")
    assert len(re.findall(r"ulak/qmgr\[(\d+)\]", inst.logtext())) >= 1
    assert len(set(re.findall(r"ulak/qmgr\[(\d+)\]", inst.logtext()))) == 1


def test_success_notice_and_timeout(inst):
    """NOTIFY=SUCCESS gets a delivery report; an agent that does not answer
    within qmgr_daemon_timeout is given up and its recipient deferred."""
    start_qmgr(inst, "qmgr_daemon_timeout = 1s\n")
    qid, _ = put(inst, sender="defer-s@example.test",
                 rcpts=[{"addr": "yes@example.test", "notify": 2},
                        {"addr": "no@example.test"}])
    hid, _ = put(inst, rcpts=[{"addr": "hang@example.test"}])
    wakeup(inst)
    log = inst.wait_log(rf"{qid}: sender delivery status notification: "
                        r"(\w+)\n")
    sid = re.search(rf"{qid}: sender delivery status notification: (\w+)",
                    log).group(1)
    inst.wait_log(rf"{qid}: removed\n")
    end = time.time() + 10
    while sid not in files(inst, "deferred"):
        assert time.time() < end, files(inst, "deferred")
        time.sleep(0.1)
    out = postcat(inst, sid)
    assert "Subject: Successful Mail Delivery Report\n" in out, out
    assert "<yes@example.test>: delivered (test)" in out, out
    assert "no@example.test" not in out, out
    log = inst.wait_log(rf"{hid}: to=<hang@example.test>, relay=fake, "
                        r"delay=[\d.]+, delays=[\d.]+/0/0/0, dsn=4.3.0, "
                        r"status=deferred \(mail transport timed out\)\n")
    assert f"warning: {hid}: private/fake: delivery timed out after 1s\n" \
        in log, log


def peak(reqs):
    events = sorted([(r["start"], 1) for r in reqs]
                    + [(r["end"], -1) for r in reqs])
    now = top = 0
    for _, step in events:
        now += step
        top = max(top, now)
    return top


def test_one_recipient_per_delivery_limits_per_recipient(inst):
    """With a recipient limit of 1 the concurrency limit is per recipient
    (as Postfix's local transport): two recipients of one domain go at
    once even with a limit of 1; one recipient twice does not."""
    j = start_qmgr(inst, "fake_destination_concurrency_limit = 1\n"
                         "fake_destination_recipient_limit = 1\n")
    qid, _ = put(inst, rcpts=[{"addr": "slow1@example.test"},
                              {"addr": "slow2@example.test"}])
    rid, _ = put(inst, rcpts=[{"addr": "slow3@example.test"}])
    sid, _ = put(inst, rcpts=[{"addr": "slow3@example.test"}])
    wakeup(inst)
    for x in (qid, rid, sid):
        inst.wait_log(rf"{x}: removed\n", timeout=20)
    reqs = journal(j)
    assert sorted(len(r["rcpts"]) for r in reqs) == [1, 1, 1, 1], reqs
    assert peak([r for r in reqs if r["queue_id"] == qid]) == 2, reqs
    assert peak([r for r in reqs
                 if r["rcpts"][0]["address"] == "slow3@example.test"]) == 1


def test_stop_waits_for_deliveries(inst):
    """ulak stop: the qmgr takes no new work but waits for the deliveries
    in progress, marks them and removes finished messages, so that a
    restart repeats nothing."""
    j = start_qmgr(inst)
    qid, _ = put(inst, rcpts=[{"addr": "slow@example.test"}])
    wakeup(inst)
    inst.wait_log(rf"{qid}: from=<alice@example.test>")
    time.sleep(0.3)
    r = inst.ulak("stop")
    assert r.returncode == 0, r
    log = inst.logtext()
    assert re.search(rf"qmgr\[\d+\]: {qid}: removed\n", log), log
    assert files(inst, "active") == []
    assert len(journal(j)) == 1


def flush_frame(inst, qid=None):
    body = b""
    if qid:
        body = struct.pack(">HI", 2, len(qid)) + qid.encode()
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(inst.sock("qmgr", private=False))
        s.sendall(struct.pack(">IHHI", 12 + len(body), 5, 1, 3) + body)
        ln, typ, ver, reqid = struct.unpack(">IHHI", s.recv(12))
        assert (typ, reqid) == (6, 3)
        return s.recv(ln - 12)


def test_flush_one_message(inst):
    """A flush frame with a queue ID brings back that message only."""
    start_qmgr(inst)
    a, _ = put(inst, rcpts=[{"addr": "defer-a@example.test"}])
    b, _ = put(inst, rcpts=[{"addr": "defer-b@example.test"}])
    wakeup(inst)
    end = time.time() + 10
    while sorted(files(inst, "deferred")) != sorted([a, b]):
        assert time.time() < end, files(inst, "deferred")
        time.sleep(0.1)
    assert flush_frame(inst, a) == struct.pack(">HIi", 1, 4, 0)
    inst.wait_log(rf"{a}: from=<alice@example.test>", count=2)
    end = time.time() + 10
    while sorted(files(inst, "deferred")) != sorted([a, b]):
        assert time.time() < end, files(inst, "deferred")
        time.sleep(0.1)
    assert len(re.findall(rf"{b}: from=<", inst.logtext())) == 1
    flush_frame(inst)
    inst.wait_log(rf"{b}: from=<alice@example.test>", count=2)


def test_request_larger_than_a_frame_is_split(inst):
    """Without a recipient limit, a request that would exceed the 1 MB
    frame limit goes out as several smaller ones; every recipient is
    delivered once."""
    j = start_qmgr(inst, "fake_destination_recipient_limit = 0\n")
    rcpts = [{"addr": "u%03d@example.test" % i,
              "orig": "o%03d%s@example.test" % (i, "x" * 4000),
              "orcpt": "rfc822;p%03d%s@example.test" % (i, "x" * 4000)}
             for i in range(200)]
    qid, _ = put(inst, rcpts=rcpts)
    wakeup(inst)
    inst.wait_log(rf"{qid}: removed\n", timeout=30)
    reqs = journal(j)
    assert len(reqs) > 1, len(reqs)
    got = sorted(r["address"] for x in reqs for r in x["rcpts"])
    assert got == sorted(r["addr"] for r in rcpts)


def test_real_error_and_discard_agents(inst):
    """error: and discard: destinations reach the error(8) and discard(8)
    agents: the failure comes back to the sender, the discard counts as
    delivered."""
    start_qmgr(inst, "transport_maps = inline:{ {err.test=error:5.1.1 "
                     "nobody here}, {gone.test=discard:spam trap} }\n",
               extra="error unix - - n - - error\n"
                     "discard unix - - n - - discard\n")
    qid, _ = put(inst, sender="defer-x@example.test",
                 rcpts=[{"addr": "a@err.test"}, {"addr": "b@gone.test"},
                        {"addr": "c@example.test"}])
    wakeup(inst)
    log = inst.wait_log(rf"qmgr\[\d+\]: {qid}: removed\n")
    assert re.search(rf"ulak/error\[\d+\]: {qid}: to=<a@err.test>, "
                     r"relay=none, .*dsn=5\.1\.1, status=bounced "
                     r"\(nobody here\)\n", log), log
    assert re.search(rf"ulak/discard\[\d+\]: {qid}: to=<b@gone.test>, "
                     r"relay=none, .*status=sent \(spam trap\)\n", log), log
    bid = re.search(rf"{qid}: sender non-delivery notification: (\w+)\n",
                    log).group(1)
    end = time.time() + 10
    while bid not in files(inst, "deferred"):
        assert time.time() < end, files(inst, "deferred")
        time.sleep(0.1)
    bounce = postcat(inst, bid)
    assert "<a@err.test>: nobody here" in bounce, bounce
    assert "gone.test" not in bounce.split("Content-Description: "
                                           "Undelivered Message")[0], bounce


def test_resolver_failure_defers(inst):
    """A transport table that cannot answer defers (4.3.0), never bounces."""
    start_qmgr(inst, "transport_maps = inline:{broken\n")
    qid, _ = put(inst, rcpts=[{"addr": "x@example.test"}])
    wakeup(inst)
    log = inst.wait_log(rf"{qid}: to=<x@example.test>, relay=none, "
                        r"delay=[\d.]+, delays=[\d.]+/0/0/0, dsn=4\.3\.0, "
                        r"status=deferred \(address resolver failure\)\n")
    assert re.search(rf"warning: {qid}: resolve <x@example.test>: ", log)
    end = time.time() + 10
    while qid not in files(inst, "deferred"):
        assert time.time() < end, files(inst, "deferred")
        time.sleep(0.1)
    assert "non-delivery" not in inst.logtext()


def wait_files(inst, folder, want, timeout=10):
    end = time.time() + timeout
    while sorted(files(inst, folder)) != sorted(want):
        assert time.time() < end, (files(inst, folder), want)
        time.sleep(0.1)


RETRY = "retry unix - - n - - error\n"


@pytest.mark.parametrize("retry", [True, False], ids=["retry", "noretry"])
def test_dead_destination(inst, retry):
    """A delivery whose destination failed as a whole (dest_fail) at
    concurrency 1 makes the destination dead: its other queued messages
    and new ones are deferred at once, with Postfix's "delivery
    temporarily suspended: REASON" and no connection to the destination's
    agent: through the retry service (error(8)), which logs them as
    Postfix's does, or by the qmgr when master.cf has none; another
    destination goes on; after minimal_backoff_time the destination is
    tried again, with one delivery."""
    j = start_qmgr(inst, "fake_initial_destination_concurrency = 1\n"
                         "minimal_backoff_time = 3s\n"
                         "maximal_backoff_time = 3s\nqueue_run_delay = 1s\n",
                   extra=RETRY if retry else "")
    prog = "error" if retry else "qmgr"
    ids = [put(inst, rcpts=[{"addr": f"down{i}@dead.test"}])[0]
           for i in range(3)]
    ok, _ = put(inst, rcpts=[{"addr": "fine@alive.test"}])
    wakeup(inst)
    inst.wait_log(rf"{ok}: removed\n")
    wait_files(inst, "deferred", ids)
    log = inst.logtext()
    reqs = [r for r in journal(j) if r["nexthop"] == "dead.test"]
    assert len(reqs) == 1, reqs
    first = reqs[0]["queue_id"]
    reason = ("connect to mx.dead.test[127.0.0.1]:25: Connection refused")
    for qid in ids:
        if qid == first:
            continue
        n = ids.index(qid)
        assert re.search(rf"ulak/{prog}\[\d+\]: {qid}: "
                         rf"to=<down{n}@dead\.test>, relay=none, "
                         r"delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, "
                         r"dsn=4\.4\.1, status=deferred \(delivery "
                         rf"temporarily suspended: {re.escape(reason)}\)\n",
                         log), log
    # the defer log has the same reason, for mailq
    other = [x for x in ids if x != first][0]
    dlog = next((inst.queue / "defer").rglob(other)).read_text()
    assert f"reason=delivery temporarily suspended: {reason}\n" in dlog
    # A new message for the dead destination: deferred without a delivery.
    new, _ = put(inst, rcpts=[{"addr": "down9@dead.test"}])
    wakeup(inst)
    inst.wait_log(rf"ulak/{prog}\[\d+\]: {new}: to=<down9@dead\.test>, "
                  r"relay=none, .*status=deferred \(delivery temporarily "
                  r"suspended: ")
    assert len([r for r in journal(j) if r["nexthop"] == "dead.test"]) == 1
    # After minimal_backoff_time: tried again, one delivery (concurrency 1);
    # it fails as a whole again, and the others are suspended again.
    end = time.time() + 15
    while len([r for r in journal(j) if r["nexthop"] == "dead.test"]) < 2:
        assert time.time() < end, journal(j)
        time.sleep(0.1)
    time.sleep(1)
    reqs = [r for r in journal(j) if r["nexthop"] == "dead.test"]
    assert reqs[1]["start"] - reqs[0]["end"] >= 2.5, reqs
    assert peak(reqs) == 1, reqs
    assert len(reqs) == 2, reqs


def test_transport_unavailable_throttles(inst):
    """An agent socket that does not answer throttles the transport: the
    other messages for it are deferred without trying to connect again
    for each (one connection attempt, one warning), through the retry
    service as Postfix does."""
    start_qmgr(inst, "transport_maps = inline:{nowhere.test=nosuch:}\n",
               extra=RETRY)
    ids = [put(inst, rcpts=[{"addr": f"x{i}@nowhere.test"}])[0]
           for i in range(4)]
    ok, _ = put(inst, rcpts=[{"addr": "y@example.test"}])
    wakeup(inst)
    inst.wait_log(rf"{ok}: removed\n")
    wait_files(inst, "deferred", ids)
    log = inst.logtext()
    for i, qid in enumerate(ids):
        assert re.search(rf"ulak/error\[\d+\]: {qid}: to=<x{i}@nowhere.test>"
                         r", relay=none, delay=[\d.]+, delays=[\d./]+, "
                         r"dsn=4.3.0, "
                         r"status=deferred \(mail transport unavailable\)\n",
                         log), log
    assert log.count("warning: connect to transport private/nosuch: ") == 1
    # A new message while the transport is throttled: deferred at once.
    new, _ = put(inst, rcpts=[{"addr": "z@nowhere.test"}])
    wakeup(inst)
    inst.wait_log(rf"{new}: to=<z@nowhere.test>, relay=none, .*"
                  r"status=deferred \(mail transport unavailable\)\n")
    assert inst.logtext().count("warning: connect to transport "
                                "private/nosuch: ") == 1


def test_destination_rate_delay(inst):
    """fake_destination_rate_delay: one delivery at a time to a destination,
    each starting at least the delay after the previous one ended; another
    destination is not held up."""
    j = start_qmgr(inst, "fake_destination_rate_delay = 1s\n")
    ids = [put(inst, rcpts=[{"addr": f"r{i}@example.test"}])[0]
           for i in range(3)]
    other, _ = put(inst, rcpts=[{"addr": "q@other.test"}])
    wakeup(inst)
    for qid in ids + [other]:
        inst.wait_log(rf"{qid}: removed\n", timeout=15)
    reqs = sorted([r for r in journal(j) if r["nexthop"] == "example.test"],
                  key=lambda r: r["start"])
    assert len(reqs) == 3, reqs
    for a, b in zip(reqs, reqs[1:]):
        assert b["start"] - a["end"] >= 0.9, reqs
    o = [r for r in journal(j) if r["nexthop"] == "other.test"][0]
    assert o["start"] < reqs[1]["start"], (o, reqs)


def postqueue(inst, *args):
    return subprocess.run([str(BIN / "postqueue"), "-c", str(inst.etc)]
                          + list(args), capture_output=True, text=True,
                          timeout=30)


def test_flush_site_and_one_message(inst):
    """postqueue -s SITE brings back only the deferred messages with a
    recipient at SITE; postqueue -i ID only that message."""
    start_qmgr(inst, "fast_flush_domains = a.test, b.test\n")
    a, _ = put(inst, rcpts=[{"addr": "defer@a.test"}])
    b, _ = put(inst, rcpts=[{"addr": "defer@b.test"}])
    ab, _ = put(inst, rcpts=[{"addr": "ok@b.test"},
                             {"addr": "defer@A.TEST"}])
    done, _ = put(inst, rcpts=[{"addr": "ok@a.test", "done": True},
                               {"addr": "defer@c.test"}])
    wakeup(inst)
    wait_files(inst, "deferred", [a, b, ab, done])
    r = postqueue(inst, "-s", "a.test")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r
    inst.wait_log(rf"{a}: from=<alice@example.test>", count=2)
    inst.wait_log(rf"{ab}: from=<alice@example.test>", count=2)
    wait_files(inst, "deferred", [a, b, ab, done])
    log = inst.logtext()
    assert len(re.findall(rf"{b}: from=<", log)) == 1, log
    # a.test is done for this one: only c.test is left
    assert len(re.findall(rf"{done}: from=<", log)) == 1, log
    r = postqueue(inst, "-i", b)
    assert r.returncode == 0, r
    inst.wait_log(rf"{b}: from=<alice@example.test>", count=2)
    wait_files(inst, "deferred", [a, b, ab, done])
    log = inst.logtext()
    assert len(re.findall(rf"{a}: from=<", log)) == 2, log
    assert len(re.findall(rf"{done}: from=<", log)) == 1, log


def test_etrn_flushes_one_site(inst):
    """smtpd's ETRN for a fast_flush_domains site brings back the deferred
    messages for that site only."""
    from test_master import free_port
    port = free_port()
    start_qmgr(inst, "fast_flush_domains = a.test\n",
               extra=f"127.0.0.1:{port} inet n - n - - smtpd\n")
    a, _ = put(inst, rcpts=[{"addr": "defer@a.test"}])
    b, _ = put(inst, rcpts=[{"addr": "defer@b.test"}])
    wakeup(inst)
    wait_files(inst, "deferred", [a, b])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rwb")
        assert f.readline().startswith(b"220 ")
        f.write(b"EHLO client.test\r\n")
        f.flush()
        while not f.readline().startswith(b"250 "):
            pass
        f.write(b"ETRN a.test\r\n")
        f.flush()
        assert f.readline() == b"250 Queuing started\r\n"
        f.write(b"QUIT\r\n")
        f.flush()
    inst.wait_log(rf"{a}: from=<alice@example.test>", count=2)
    wait_files(inst, "deferred", [a, b])
    assert len(re.findall(rf"{b}: from=<", inst.logtext())) == 1


def postsuper(inst, *args):
    r = subprocess.run([str(BIN / "postsuper"), "-c", str(inst.etc), *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r
    return r.stderr


def test_forced_expiry(inst):
    """postsuper -e / -f: the message goes back to its sender at the next
    attempt without a delivery, with the reason of its last deferral, or
    'message is administratively expired' (4.7.0, through the retry
    service) when it has none; Postfix 3.7's texts (recorded)."""
    j = start_qmgr(inst, extra="retry unix - - n - - error\n")
    qid, _ = put(inst, sender="defer-x@example.test",
                 rcpts=[{"addr": "defer@example.test"}])
    wakeup(inst)
    wait_files(inst, "deferred", [qid])
    hid, _ = put(inst, "hold", sender="defer-y@example.test",
                 rcpts=[{"addr": "ok@example.test"}])
    n = len(journal(j))

    err = postsuper(inst, "-e", qid, "-e", hid, "-e", qid)
    assert err == (f"postsuper: {qid}: expired\n"
                   f"postsuper: {hid}: expired\n"
                   "postsuper: Force-expired: 2 messages\n"), err
    r = subprocess.run([str(BIN / "postqueue"), "-c", str(inst.etc), "-j"],
                       capture_output=True, text=True, timeout=30)
    got = {m["queue_id"]: (m["queue_name"], m["forced_expire"])
           for m in map(json.loads, r.stdout.splitlines())}
    assert got == {qid: ("deferred", True), hid: ("hold", True)}, got
    r = subprocess.run([str(BIN / "postqueue"), "-c", str(inst.etc), "-p"],
                       capture_output=True, text=True, timeout=30)
    assert re.search(rf"^{qid}# ", r.stdout, re.M), r.stdout
    assert re.search(rf"^{hid}! ", r.stdout, re.M), r.stdout
    # -f on a message already expired: released, not counted again.
    err = postsuper(inst, "-f", hid)
    assert err == (f"postsuper: {hid}: released from hold\n"
                   "postsuper: Force-expired: 0 messages\n"
                   "postsuper: Released from hold: 1 message\n"), err

    r = inst.ulak("flush")
    assert r.returncode == 0, r
    log = inst.wait_log(r"sender non-delivery notification", count=2)
    assert re.search(rf"qmgr\[\d+\]: {qid}: from=<defer-x@example\.test>, "
                     r"status=force-expired, returned to sender\n", log), log
    assert re.search(rf"ulak/error\[\d+\]: {hid}: to=<ok@example\.test>, "
                     r"relay=none, delay=[\d.]+, delays=[\d./]+, "
                     r"dsn=4\.7\.0, status=deferred \(message is "
                     r"administratively expired\)\n", log), log
    assert re.search(rf"qmgr\[\d+\]: {hid}: from=<defer-y@example\.test>, "
                     r"status=force-expired, returned to sender\n", log), log
    # No delivery was attempted for either.
    assert [x["queue_id"] for x in journal(j)[n:]
            if x["queue_id"] in (qid, hid)] == [], journal(j)[n:]
    for mid, text in ((qid, "<defer@example.test>: connection refused "
                       "(test)"),
                      (hid, "<ok@example.test>: message is administratively "
                       "expired")):
        bid = re.search(rf"{mid}: sender non-delivery notification: (\w+)\n",
                        log).group(1)
        end = time.time() + 10
        while bid not in files(inst, "deferred") + files(inst, "active") \
                + files(inst, "incoming"):
            assert time.time() < end, bid
            time.sleep(0.1)
        assert text in postcat(inst, bid)
    inst.wait_log(rf"qmgr\[\d+\]: {qid}: removed\n")
    inst.wait_log(rf"qmgr\[\d+\]: {hid}: removed\n")
