"""postqueue -p / mailq / postqueue -j: the queue listing, and -f/-i/-s.

Queue files and defer logs are written from Python (tests/e2e/queuefile.py,
docs/QUEUE.md).  The expected layouts were taken from Debian's Postfix 3.7
(postfix-ref instance, mailq and postqueue -j with mail deferred by
defer_transports, held with postsuper -h, moved into active/, and with
enable_long_queue_ids = yes): column widths, the '*' and '!' markers, the
reasons right-aligned to column 78 and grouped while they repeat, the log's
recipients first and "(reason unavailable)" for the others, MAILER-DAEMON
for the null sender, Kbytes rounded down, "1 Request." in the singular."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, run
from queuefile import defer_entry, id_hash, place, queue_file

T0 = 1796064070  # Mon Nov 30 18:41:10 2026 UTC


def when(t):
    return time.strftime("%a %b %e %H:%M:%S", time.localtime(t))


@pytest.fixture
def spool(tmp_path, confdir):
    top = tmp_path / "spool"
    for d in ["maildrop", "incoming", "active", "deferred", "hold",
              "corrupt", "bounce", "defer", "trace"]:
        (top / d).mkdir(parents=True)
    (confdir / "main.cf").write_text(
        f"queue_directory = {top}\n"
        f"maillog_file = {tmp_path}/maillog\n"
        f"maillog_file_prefixes = {tmp_path}\n")
    return top


def defer_log(top, qid, text, depth=1):
    d = os.path.join(str(top), "defer", *id_hash(qid, depth))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, qid), "w") as f:
        f.write(text)


def test_empty_queue(spool, confdir):
    r = run("postqueue", "-c", confdir, "-p")
    assert r.rc == 0 and r.out == "Mail queue is empty\n" and r.err == "", r
    r = run("mailq", "-C", confdir)
    assert r.rc == 0 and r.out == "Mail queue is empty\n" and r.err == "", r
    r = run("postqueue", "-c", confdir, "-j")
    assert r.rc == 0 and r.out == "" and r.err == "", r


def big_body(n):
    return ["", "x" * n]


def test_listing_layout(spool, confdir):
    """Every folder, its marker, reasons, done recipients, the trailer."""
    place(spool, "maildrop", "12345A0001",
          queue_file(sender="md@example.test",
                     rcpts=[{"addr": "md@remote.test"}], arrival=T0 + 1))
    place(spool, "active", "23456A0002",
          queue_file(sender="act@example.test", headers=[],
                     body=big_body(1999), arrival=T0 + 2))
    place(spool, "deferred", "3C0CCA0003", queue_file(
        sender="alice@example.test", arrival=T0 + 3,
        rcpts=[{"addr": "r1@remote.test"}, {"addr": "r2@remote.test"},
               {"addr": "done@remote.test", "done": True},
               {"addr": "r3@remote.test"}, {"addr": "r4@remote.test"}]))
    defer_log(spool, "3C0CCA0003",
              defer_entry("r3@remote.test", "deferred transport")
              + defer_entry("r1@remote.test", "deferred transport")
              + defer_entry("r2@remote.test", "reason B"))
    place(spool, "hold", "45678A0004",
          queue_file(sender="", rcpts=[{"addr": "bob@example.test"}],
                     arrival=T0 + 4))
    r = run("postqueue", "-c", confdir, "-p")
    assert r.rc == 0 and r.err == "", r
    # 41 + 2001 + 41 + 41 bytes: 2124 -> 2 Kbytes (rounded down).
    assert r.out == (
        "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
        f"12345A0001       41 {when(T0 + 1)}  md@example.test\n"
        + " " * 41 + "md@remote.test\n"
        "\n"
        f"23456A0002*    2001 {when(T0 + 2)}  act@example.test\n"
        + " " * 41 + "bob@example.test\n"
        "\n"
        f"3C0CCA0003       41 {when(T0 + 3)}  alice@example.test\n"
        + " " * 58 + "(deferred transport)\n"
        + " " * 41 + "r3@remote.test\n"
        + " " * 41 + "r1@remote.test\n"
        + " " * 68 + "(reason B)\n"
        + " " * 41 + "r2@remote.test\n"
        + " " * 58 + "(reason unavailable)\n"
        + " " * 41 + "r4@remote.test\n"
        "\n"
        f"45678A0004!      41 {when(T0 + 4)}  MAILER-DAEMON\n"
        + " " * 41 + "bob@example.test\n"
        "\n"
        "-- 2 Kbytes in 4 Requests.\n"), r
    # mailq is the same listing.
    m = run("mailq", "-C", confdir)
    assert m.rc == 0 and m.out == r.out, m

    j = run("postqueue", "-c", confdir, "-j")
    assert j.rc == 0 and j.err == "", j
    lines = j.out.split("\n")
    assert lines[-1] == "" and len(lines) == 5, j
    objs = [json.loads(line) for line in lines[:-1]]
    for o in objs:
        assert list(o) == ["queue_name", "queue_id", "arrival_time",
                           "message_size", "forced_expire", "sender",
                           "recipients"], o
    assert objs[2] == {
        "queue_name": "deferred", "queue_id": "3C0CCA0003",
        "arrival_time": T0 + 3, "message_size": 41, "forced_expire": False,
        "sender": "alice@example.test",
        "recipients": [
            {"address": "r3@remote.test",
             "delay_reason": "deferred transport"},
            {"address": "r1@remote.test",
             "delay_reason": "deferred transport"},
            {"address": "r2@remote.test", "delay_reason": "reason B"},
            {"address": "r4@remote.test"}]}
    assert [(o["queue_name"], o["queue_id"]) for o in objs] == [
        ("maildrop", "12345A0001"), ("active", "23456A0002"),
        ("deferred", "3C0CCA0003"), ("hold", "45678A0004")]
    assert objs[3]["sender"] == "MAILER-DAEMON"
    assert objs[1]["message_size"] == 2001
    # Postfix's exact spacing, as one line per object.
    assert lines[3] == (
        '{"queue_name": "hold", "queue_id": "45678A0004", "arrival_time": '
        f'{T0 + 4}, "message_size": 41, "forced_expire": false, "sender": '
        '"MAILER-DAEMON", "recipients": [{"address": "bob@example.test"}]}')


def test_one_request_and_long_reason(spool, confdir):
    place(spool, "deferred", "3C0CCA0003",
          queue_file(rcpts=[{"addr": "a@remote.test"}]))
    reason = "host mx.remote.test[192.0.2.7] said: 451 4.7.1 " + "y" * 100
    defer_log(spool, "3C0CCA0003", defer_entry("a@remote.test", reason))
    r = run("postqueue", "-c", confdir, "-p")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    # Wider than the column: no padding at all.
    assert lines[2] == f"({reason})", r
    assert lines[-1] == "-- 0 Kbytes in 1 Request.", r


def test_long_queue_ids(spool, confdir):
    with open(confdir / "main.cf", "a") as f:
        f.write("enable_long_queue_ids = yes\n")
    qid = "3Pt2mN2VXxznjll"
    place(spool, "deferred", qid, queue_file(arrival=T0))
    place(spool, "hold", "ABCDE12345", queue_file(arrival=T0))
    defer_log(spool, qid, defer_entry("bob@example.test", "reason Z"))
    r = run("postqueue", "-c", confdir, "-p")
    assert r.rc == 0 and r.err == "", r
    assert r.out == (
        "----Queue ID----- --Size-- ---Arrival Time---- "
        "--Sender/Recipient------\n"
        f"3Pt2mN2VXxznjll         41 {when(T0)} alice@example.test\n"
        + " " * 68 + "(reason Z)\n"
        + " " * 47 + "bob@example.test\n"
        "\n"
        f"ABCDE12345!             41 {when(T0)} alice@example.test\n"
        + " " * 47 + "bob@example.test\n"
        "\n"
        "-- 0 Kbytes in 2 Requests.\n"), r


def test_json_quoting(spool, confdir):
    place(spool, "incoming", "3C0CCA0003",
          queue_file(sender='"odd\\name"@example.test',
                     rcpts=[{"addr": "b\u00fcro@example.test"}]))
    r = run("postqueue", "-c", confdir, "-j")
    assert r.rc == 0, r
    o = json.loads(r.out)
    assert o["sender"] == '"odd\\name"@example.test'
    assert o["recipients"] == [{"address": "b\u00fcro@example.test"}]
    assert '"sender": "\\"odd\\\\name\\"@example.test"' in r.out


def test_damaged_file_is_skipped(spool, confdir):
    good = queue_file()
    place(spool, "deferred", "3C0CCA0003", good[:-3])  # no end record
    place(spool, "deferred", "3C0CCA0004", good)
    r = run("postqueue", "-c", confdir, "-p")
    assert r.rc == 0, r
    assert "3C0CCA0004" in r.out and "3C0CCA0003" not in r.out, r
    assert r.out.endswith("-- 0 Kbytes in 1 Request.\n"), r
    assert r.err == ("postqueue: warning: 3C0CCA0003: offset 222: missing "
                     "end record: truncated queue file\n"), r
    # Files that are not queue files, or in the wrong place, are not listed.
    (spool / "incoming" / "tmp.1.2").write_bytes(good)
    (spool / "incoming" / "notes.txt").write_text("hello")
    r2 = run("postqueue", "-c", confdir, "-j")
    assert [json.loads(x)["queue_id"] for x in r2.out.splitlines()] == [
        "3C0CCA0004"], r2


FLUSH_CASES = [
    ["-f"], ["-i", "3C0CCA0003"], ["-i", "../x"], ["-s", "example.test"],
    ["-s", "sub.example.test"], ["-s", "EXAMPLE.TEST"], ["-s", "other.test"],
    ["-s", "no.example.test"], ["-s", "tab.test"], ["-s", "a.tab.test"],
    ["-s", "[192.0.2.1]"], ["-s", "[192.0.2.2]"], ["-s", "a b"],
    ["-s", "-x.test"], ["-s", "ex.ample."], ["-s", "a@b"], [], ["-p", "-j"],
]


def flush_conf(confdir):
    with open(confdir / "main.cf", "a") as f:
        f.write("fast_flush_domains = !no.example.test, example.test, "
                "[192.0.2.1], inline:{ tab.test=x }\n")


def test_flush_when_the_mail_system_is_down(spool, confdir):
    """As Postfix's postqueue with a stopped instance: exit 69."""
    flush_conf(confdir)
    cases = [
        (["-f"], "postqueue: fatal: Cannot flush mail queue - mail system "
                 "is down\n"),
        (["-i", "3C0CCA0003"], "postqueue: fatal: Cannot flush mail queue "
                               "- mail system is down\n"),
        (["-i", "../x"], 'postqueue: fatal: Cannot flush queue ID - '
                         'invalid name: "../x"\n'),
        (["-s", "example.test"], "postqueue: fatal: Cannot flush mail "
                                 "queue - mail system is down\n"),
        (["-s", "[192.0.2.1]"], "postqueue: fatal: Cannot flush mail queue"
                                " - mail system is down\n"),
        (["-s", "sub.example.test"], "postqueue: fatal: Cannot flush mail "
                                     "queue - mail system is down\n"),
        (["-s", "other.test"], 'postqueue: fatal: Flush service is not '
                               'configured for destination "other.test"\n'),
        (["-s", "a b"], 'postqueue: fatal: Cannot flush mail queue - '
                        'invalid destination: "a b"\n'),
        (["-s", "-x.test"], 'postqueue: fatal: Cannot flush mail queue - '
                            'invalid destination: "-x.test"\n'),
        (["-s", "ex.ample."], 'postqueue: fatal: Cannot flush mail queue '
                              '- invalid destination: "ex.ample."\n'),
        ([], "postqueue: fatal: usage: postqueue -f | postqueue -i queueid"
             " | postqueue -j | postqueue -p | postqueue -s site\n"),
        (["-p", "-j"], "postqueue: fatal: usage: postqueue -f | postqueue "
                       "-i queueid | postqueue -j | postqueue -p | "
                       "postqueue -s site\n"),
    ]
    for args, err in cases:
        r = run("postqueue", "-c", confdir, *args)
        assert r.rc == 69, (args, r)
        assert r.err == err, (args, r)
        assert r.out == "", (args, r)
    log = (spool.parent / "maillog").read_text()
    assert "ulak/postqueue[" in log
    assert "]: fatal: Cannot flush mail queue - mail system is down" in log


def test_flush_compared_with_postfix(spool, confdir):
    """Postfix's postqueue on the same main.cf with no mail system
    running: the same fatal line and exit status (Postfix also warns about
    the socket it could not reach; ulak has no such socket yet)."""
    if not os.path.exists("/usr/sbin/postqueue") or os.geteuid() != 0:
        pytest.skip("needs Debian's postqueue, run as root (-c)")
    flush_conf(confdir)
    for args in FLUSH_CASES:
        ours = run("postqueue", "-c", confdir, *args)
        theirs = subprocess.run(["/usr/sbin/postqueue", "-c", str(confdir),
                                 *args], capture_output=True, text=True,
                                timeout=60)
        assert ours.rc == theirs.returncode == 69, (args, ours, theirs)
        assert ours.err.splitlines()[-1] == \
            theirs.stderr.splitlines()[-1], (args, ours, theirs)


def test_missing_queue_directory(tmp_path, confdir):
    (confdir / "main.cf").write_text(f"queue_directory = {tmp_path}/nosuch\n")
    r = run("postqueue", "-c", confdir, "-p")
    assert r.rc == 69, r
    assert r.err == (f"postqueue: fatal: chdir {tmp_path}/nosuch: No such "
                     "file or directory\n"), r


def test_control_characters_never_reach_the_terminal(spool, confdir):
    """An envelope or a defer log is outside input: an escape sequence in
    it is shown as '?' by mailq and as \\u001b by -j."""
    place(spool, "deferred", "3C0CCA0003",
          queue_file(sender="\x1b[2Jevil@example.test",
                     rcpts=[{"addr": "a\x07@example.test"}]))
    defer_log(spool, "3C0CCA0003",
              "\nrecipient=a\x07@example.test\nstatus=4.0.0\n"
              "action=delayed\nreason=bad\x1b]0;x\n\n")
    r = run("postqueue", "-c", confdir, "-p")
    assert r.rc == 0, r
    assert "\x1b" not in r.out and "\x07" not in r.out, r
    assert "  ?[2Jevil@example.test\n" in r.out, r
    assert "(bad?]0;x)\n" in r.out and "a?@example.test\n" in r.out, r
    j = run("postqueue", "-c", confdir, "-j")
    assert '"sender": "\\u001b[2Jevil@example.test"' in j.out, j
    assert json.loads(j.out)["recipients"] == [
        {"address": "a\x07@example.test", "delay_reason": "bad\x1b]0;x"}], j


def test_authorized_users(spool, confdir):
    """authorized_mailq_users / authorized_flush_users: refused users get
    Postfix 3.7's fatal error and exit 69 (recorded); root and mail_owner
    always pass."""
    # A configuration another user (nobody, when root runs the tests) can
    # read: pytest's own folders are private.
    confdir = pathlib.Path(tempfile.mkdtemp(prefix="ulak-pq-"))
    os.chmod(confdir, 0o755)
    (confdir / "main.cf").write_text(
        f"queue_directory = {spool}\n"
        "authorized_mailq_users = root, !nobody, static:anyone\n"
        "authorized_flush_users = root\n")
    os.chmod(confdir / "main.cf", 0o644)
    user = "nobody" if os.geteuid() == 0 else None
    name = "nobody" if user else \
        __import__("pwd").getpwuid(os.getuid()).pw_name
    uid = 65534 if user else os.getuid()
    env = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    cmds = [(["postqueue", "-p"], "view"), (["postqueue", "-j"], "view"),
            (["mailq"], "view"), (["postqueue", "-f"], "flush"),
            (["sendmail", "-q"], "flush"), (["postqueue", "-i", "ABCDEF"],
                                            "flush")]
    for argv, what in cmds:
        if name != "nobody" and what == "view":
            continue  # only nobody is refused the listing
        flag = "-C" if argv[0] in ("mailq", "sendmail") else "-c"
        r = subprocess.run([str(BIN / argv[0]), flag, str(confdir),
                            *argv[1:]], capture_output=True, text=True,
                           env=env, user=user, cwd="/", timeout=30)
        assert r.returncode == 69, (argv, r)
        # mailq and sendmail run postqueue, as Postfix's do
        assert r.stderr == (f"postqueue: fatal: User {name}({uid}) is not "
                            f"allowed to {what} the mail queue\n"), (argv, r)
    if os.geteuid() == 0:
        r = subprocess.run([str(BIN / "postqueue"), "-c", str(confdir), "-p"],
                           capture_output=True, text=True, env=env,
                           timeout=30)
        assert r.returncode == 0 and r.stdout == "Mail queue is empty\n", r
    shutil.rmtree(confdir)
