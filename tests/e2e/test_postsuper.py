"""postsuper: delete, hold, release, requeue, structure check and purge on
queue files written from Python (tests/e2e/queuefile.py).

The messages, summaries, log lines and exit codes are those of Debian's
Postfix 3.7 postsuper, observed on a postfix-ref instance: "ID: removed" /
"ID: placed on hold" / "ID: released from hold" / "ID: requeued" for each
message on stderr and in the mail log, one summary per operation asked for
in the order Requeued, Deleted, Placed on hold, Released from hold, "invalid
mail queue id" only for IDs with characters no queue file name has, "bogus
file name" and "Renamed to match inode number" for -s, exit 1 on fatal
errors.  (Postfix's -s reports each bogus name twice, once per pass; ulak
once.)"""
import os
import pathlib
import re
import subprocess
import time

import pytest

from conftest import BIN, run
from queuefile import (defer_entry, id_hash, place, place_by_inode,
                       queue_file)


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


def files(top):
    """Every file under the queue, as relative paths."""
    out = []
    for d, _, names in os.walk(top):
        for n in names:
            out.append(os.path.relpath(os.path.join(d, n), top))
    return sorted(out)


def log_lines(top):
    """The postsuper lines of the mail log, without date, host and pid."""
    p = top.parent / "maillog"
    if not p.exists():
        return []
    out = []
    for line in p.read_text().splitlines():
        m = re.match(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ "
                     r"ulak/postsuper\[\d+\]: (.*)$", line)
        assert m, line
        out.append(m.group(1))
    return out


def logfile(top, folder, qid, text="x", depth=1):
    d = os.path.join(str(top), folder)
    if folder == "defer":
        d = os.path.join(d, *id_hash(qid, depth))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, qid), "w") as f:
        f.write(text)


def three(top):
    """A message in deferred (with logs), one in hold, one in incoming."""
    place(top, "deferred", "3C0CCA0001", queue_file())
    logfile(top, "defer", "3C0CCA0001",
            defer_entry("bob@example.test", "deferred transport"))
    logfile(top, "bounce", "3C0CCA0001")
    place(top, "hold", "4C0CCA0002", queue_file())
    place(top, "incoming", "5C0CCA0003", queue_file())


def test_delete_one_and_all(spool, confdir):
    three(spool)
    r = run("postsuper", "-c", confdir, "-d", "3C0CCA0001")
    assert r.rc == 0, r
    assert r.err == ("postsuper: 3C0CCA0001: removed\n"
                     "postsuper: Deleted: 1 message\n"), r
    # The message and its logs are gone, the others stay.
    assert files(spool) == ["hold/4C0CCA0002", "incoming/5C0CCA0003"]
    assert log_lines(spool) == ["3C0CCA0001: removed",
                                "Deleted: 1 message"]

    # Not there any more: nothing to do, no complaint.
    r = run("postsuper", "-c", confdir, "-d", "3C0CCA0001")
    assert r.rc == 0 and r.err == "postsuper: Deleted: 0 messages\n", r

    # ALL with a queue name: that queue only; as in Postfix, ALL gets
    # only the summary.
    r = run("postsuper", "-c", confdir, "-d", "ALL", "hold")
    assert r.rc == 0, r
    assert r.err == "postsuper: Deleted: 1 message\n", r
    assert files(spool) == ["incoming/5C0CCA0003"]
    r = run("postsuper", "-c", confdir, "-d", "ALL")
    assert r.rc == 0, r
    assert r.err.endswith("postsuper: Deleted: 1 message\n"), r
    assert files(spool) == []


def test_delete_from_stdin(spool, confdir):
    three(spool)
    ids = "3C0CCA0001\nall\nbad/id\n\n 4C0CCA0002 \n5C0CCA0003\n"
    proc = subprocess.run([str(BIN / "postsuper"), "-c", str(confdir),
                           "-d", "-"], input=ids, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc
    # "all" may be a queue ID shape: no warning; the others are not.
    assert proc.stderr == (
        "postsuper: 3C0CCA0001: removed\n"
        "postsuper: warning: invalid mail queue id: bad/id\n"
        "postsuper: warning: invalid mail queue id: \n"
        "postsuper: warning: invalid mail queue id:  4C0CCA0002 \n"
        "postsuper: 5C0CCA0003: removed\n"
        "postsuper: Deleted: 2 messages\n"), proc
    assert files(spool) == ["hold/4C0CCA0002"]


def test_hold_release_and_mailq(spool, confdir):
    three(spool)
    r = run("postsuper", "-c", confdir, "-h", "3C0CCA0001")
    assert r.rc == 0, r
    assert r.err == ("postsuper: 3C0CCA0001: placed on hold\n"
                     "postsuper: Placed on hold: 1 message\n"), r
    # The defer log stays: mailq still shows the reason, with '!'.
    assert files(spool) == ["bounce/3C0CCA0001", "defer/3/3C0CCA0001",
                            "hold/3C0CCA0001", "hold/4C0CCA0002",
                            "incoming/5C0CCA0003"]
    q = run("postqueue", "-c", confdir, "-p")
    assert "\n3C0CCA0001!      41 " in q.out, q
    assert "(deferred transport)" in q.out, q
    # Held already: nothing to do.
    r = run("postsuper", "-c", confdir, "-h", "3C0CCA0001")
    assert r.err == "postsuper: Placed on hold: 0 messages\n", r

    r = run("postsuper", "-c", confdir, "-h", "ALL")
    assert r.err == "postsuper: Placed on hold: 1 message\n", r
    r = run("postsuper", "-c", confdir, "-H", "ALL")
    assert r.rc == 0, r
    assert r.err == "postsuper: Released from hold: 3 messages\n", r
    # Released mail goes to deferred, hashed.
    assert files(spool) == ["bounce/3C0CCA0001", "defer/3/3C0CCA0001",
                            "deferred/3/3C0CCA0001", "deferred/4/4C0CCA0002",
                            "deferred/5/5C0CCA0003"]
    j = run("postqueue", "-c", confdir, "-j")
    assert j.out.count('"queue_name": "deferred"') == 3, j
    assert log_lines(spool) == [
        "3C0CCA0001: placed on hold", "Placed on hold: 1 message",
        "Placed on hold: 0 messages", "Placed on hold: 1 message",
        "Released from hold: 3 messages"]


def test_requeue(spool, confdir):
    three(spool)
    r = run("postsuper", "-c", confdir, "-r", "3C0CCA0001")
    assert r.rc == 0, r
    assert r.err == ("postsuper: 3C0CCA0001: requeued\n"
                     "postsuper: Requeued: 1 message\n"), r
    # To maildrop, for pickup; the old reasons no longer apply.
    assert files(spool) == ["hold/4C0CCA0002", "incoming/5C0CCA0003",
                            "maildrop/3C0CCA0001"]
    # Several operations: done in command-line order (4C0CCA0002 is
    # released, then requeued by ALL), summarized in Postfix's order.
    r = run("postsuper", "-c", confdir, "-H", "4C0CCA0002", "-d",
            "5C0CCA0003", "-r", "ALL", "-h", "ALL")
    assert r.rc == 0, r
    assert r.err == ("postsuper: 4C0CCA0002: released from hold\n"
                     "postsuper: 5C0CCA0003: removed\n"
                     "postsuper: Requeued: 1 message\n"
                     "postsuper: Deleted: 1 message\n"
                     "postsuper: Placed on hold: 0 messages\n"
                     "postsuper: Released from hold: 1 message\n"), r
    assert files(spool) == ["maildrop/3C0CCA0001", "maildrop/4C0CCA0002"]
    # Maildrop mail cannot be held; it can be deleted when named.
    r = run("postsuper", "-c", confdir, "-h", "ALL", "maildrop")
    assert r.err == "postsuper: Placed on hold: 0 messages\n", r
    r = run("postsuper", "-c", confdir, "-d", "ALL", "maildrop")
    assert r.err == "postsuper: Deleted: 2 messages\n", r
    assert files(spool) == []


def test_errors(spool, confdir):
    r = run("postsuper", "-c", confdir, "-d", "ALL", "nosuch")
    assert r.rc == 1, r
    assert r.err == "postsuper: fatal: invalid directory name: nosuch\n", r
    r = run("postsuper", "-c", confdir, "-d", "ALL", "corrupt")
    assert r.rc == 1, r
    assert r.err == "postsuper: fatal: invalid directory name: corrupt\n", r
    r = run("postsuper", "-c", confdir, "-x")
    assert r.rc == 1, r
    assert "invalid option -- 'x'\n" in r.err, r
    assert r.err.splitlines()[-1].startswith(
        "postsuper: fatal: usage: postsuper [-c config_dir] [-d queue_id "
        "(delete)]"), r
    r = run("postsuper", "-c", confdir, "-d", "../../etc/passwd")
    assert r.rc == 0, r
    assert r.err == ("postsuper: warning: invalid mail queue id: "
                     "../../etc/passwd\npostsuper: Deleted: 0 messages\n"), r
    (confdir / "main.cf").write_text(
        f"queue_directory = {spool.parent}/nosuch\n")
    r = run("postsuper", "-c", confdir, "-d", "ALL")
    assert r.rc == 1, r
    assert r.err == (f"postsuper: fatal: chdir {spool.parent}/nosuch: No "
                     "such file or directory\n"), r


def test_structure_check(spool, confdir):
    # A file at depth 1, then the depth becomes 2: -s moves it.
    qid, _ = place_by_inode(spool, "deferred", queue_file(), usec=0x56301)
    logfile(spool, "defer", qid)
    # A name that does not match the inode (a queue restored from backup),
    # with its logs: renamed, the logs follow.
    place(spool, "incoming", "12345A0001", queue_file())
    logfile(spool, "bounce", "12345A0001")
    # Bogus names are reported and left alone; an empty stray sub-folder
    # is removed; a writer's temporary file is left for -p.
    (spool / "deferred" / "foo").write_text("x")
    (spool / "hold" / "ABCDE1234").symlink_to("/etc/passwd")
    (spool / "deferred" / "zz").mkdir()
    (spool / "incoming" / "tmp.1.1").write_text("x")
    with open(confdir / "main.cf", "a") as f:
        f.write("hash_queue_depth = 2\n")
    r = run("postsuper", "-c", confdir, "-s")
    assert r.rc == 0, r
    new = [n for n in os.listdir(spool / "incoming")
           if n.startswith("12345")]
    assert len(new) == 1 and new[0] != "12345A0001", new
    ino = os.stat(spool / "incoming" / new[0]).st_ino
    assert new[0] == "12345%X" % ino
    assert sorted(r.err.splitlines()) == sorted([
        "postsuper: warning: bogus file name: deferred/foo",
        "postsuper: warning: bogus file name: hold/ABCDE1234",
        "postsuper: Renamed to match inode number: 1 message",
        "postsuper: warning: QUEUE FILE NAMES WERE CHANGED TO MATCH INODE "
        "NUMBERS"]), r
    assert files(spool) == sorted([
        f"bounce/{new[0]}", f"defer/5/6/{qid}", f"deferred/5/6/{qid}",
        "deferred/foo", "hold/ABCDE1234", f"incoming/{new[0]}",
        "incoming/tmp.1.1"]), r
    assert not (spool / "deferred" / "zz").exists()
    # The moved message is found where the hashing says.
    q = run("postqueue", "-c", confdir, "-j")
    assert f'"queue_id": "{qid}"' in q.out, q
    # A second run has nothing to fix.
    r = run("postsuper", "-c", confdir, "-s", "incoming")
    assert r.rc == 0 and r.err == "", r
    # Back to depth 1: the now unused sub-folders go when empty.
    with open(confdir / "main.cf", "a") as f:
        f.write("hash_queue_depth = 1\n")
    r = run("postsuper", "-c", confdir, "deferred", "defer")
    assert r.rc == 0 and "foo" in r.err, r
    assert f"deferred/5/{qid}" in files(spool)
    assert f"defer/5/{qid}" in files(spool)
    assert not (spool / "deferred" / "5" / "6").exists()


def test_long_names_become_short(spool, confdir):
    """With enable_long_queue_ids = no, -s gives long names short ones
    (the migration path of Postfix's manual)."""
    qid = "3Pt2mN2VXxznjll"
    place(spool, "hold", qid, queue_file())
    r = run("postsuper", "-c", confdir)
    assert r.rc == 0, r
    (name,) = os.listdir(spool / "hold")
    assert name == "56301%X" % os.stat(spool / "hold" / name).st_ino
    assert "Renamed to match inode number: 1 message" in r.err, r


def test_purge_temporary_files(spool, confdir):
    dead = subprocess.Popen(["true"])
    dead.wait()
    (spool / "incoming" / f"tmp.{dead.pid}.3").write_text("x")
    (spool / "maildrop" / f"tmp.{os.getpid()}.1").write_text("x")
    old = spool / "incoming" / f"tmp.{os.getpid()}.2"
    old.write_text("x")
    t = time.time() - 2 * 86400
    os.utime(old, (t, t))
    (spool / "incoming" / "tmp.x.1").write_text("x")
    r = run("postsuper", "-c", confdir, "-p")
    assert r.rc == 0, r
    assert sorted(r.err.splitlines()) == sorted([
        f"postsuper: removed stale temporary file incoming/tmp.{dead.pid}.3",
        f"postsuper: removed stale temporary file incoming/tmp.{os.getpid()}"
        ".2"]), r
    # A live writer's file stays; so does a name that is no temporary one.
    assert files(spool) == ["incoming/tmp.x.1",
                            f"maildrop/tmp.{os.getpid()}.1"]


def postfix_tree(base, layout):
    """The same layout as a queue for Debian's postsuper: readable by its
    mail_owner, message files with the execute bit (Postfix's mark of a
    complete queue file; postsuper ignores files without it)."""
    import pwd
    import shutil
    pw = pwd.getpwnam("postfix")
    top = base / "spool"
    for d in ["maildrop", "incoming", "active", "deferred", "hold",
              "corrupt", "bounce", "defer", "trace", "flush"]:
        (top / d).mkdir(parents=True)
    for rel_path, data in layout.items():
        p = top / rel_path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        if rel_path.split("/")[0] not in ("bounce", "defer", "trace"):
            p.chmod(0o700)
    for d, _, names in os.walk(top):
        shutil.chown(d, pw.pw_uid, pw.pw_gid)
        for n in names:
            shutil.chown(os.path.join(d, n), pw.pw_uid, pw.pw_gid)
    return top


def test_compared_with_postfix(spool, confdir):
    """The same operations on the same queue layout with Debian's Postfix
    3.7 postsuper and with ulak's: the same messages, summaries, exit codes
    and resulting files (these operations never read a file's content)."""
    import pwd
    import tempfile
    if (os.geteuid() != 0 or not os.path.exists("/usr/sbin/postsuper")):
        pytest.skip("needs Debian's postsuper, run as root")
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        pytest.skip("no postfix user")
    f = queue_file()
    layout = {"deferred/3/3C0CCA0001": f, "defer/3/3C0CCA0001": b"log\n",
              "bounce/3C0CCA0001": b"log\n", "hold/4C0CCA0002": f,
              "incoming/5C0CCA0003": f, "active/6C0CCA0004": f,
              "deferred/7/7C0CCA0005": f}
    for rel_path, data in layout.items():
        p = spool / rel_path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    base = pathlib.Path(tempfile.mkdtemp(prefix="ulak-pf-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        (base / "etc").mkdir()
        (base / "etc" / "main.cf").write_text(
            f"queue_directory = {base}/spool\n")
        pf_top = postfix_tree(base, layout)
        steps = [
            (["-d", "3C0CCA0001"], None),
            (["-d", "3C0CCA0001"], None),
            (["-h", "ALL"], None),
            (["-h", "4C0CCA0002"], None),
            (["-H", "4C0CCA0002"], None),
            (["-d", "-"], "5C0CCA0003\nall\nbad/id\n\nx y\n"),
            (["-r", "6C0CCA0004", "-H", "ALL", "-d", "NOSUCH1234",
              "-h", "7C0CCA0005"], None),
            (["-h", "ALL", "maildrop"], None),
            (["-r", "ALL", "hold"], None),
            (["-d", "ALL", "maildrop"], None),
            (["-d", "ALL", "nosuch"], None),
        ]
        for args, stdin in steps:
            ours = subprocess.run(
                [str(BIN / "postsuper"), "-c", str(confdir), *args],
                input=stdin, capture_output=True, text=True, timeout=60)
            theirs = subprocess.run(
                ["/usr/sbin/postsuper", "-c", str(base / "etc"), *args],
                input=stdin, capture_output=True, text=True, timeout=60)
            assert ours.returncode == theirs.returncode, (args, ours, theirs)
            # Messages for ALL come in directory order: compare as sets,
            # and the summaries in their order.
            assert sorted(ours.stderr.splitlines()) == \
                sorted(theirs.stderr.splitlines()), \
                (args, ours.stderr, theirs.stderr)
            summary = re.compile(r"^postsuper: [A-Z][a-z ]+: \d+ messages?$")
            assert [x for x in ours.stderr.splitlines() if summary.match(x)] \
                == [x for x in theirs.stderr.splitlines()
                    if summary.match(x)], (args, ours, theirs)
            assert files(spool) == [x for x in files(pf_top)], \
                (args, files(spool), files(pf_top))
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_root_works_as_the_queue_owner(confdir):
    """Run by root on a queue that belongs to another user (mail_owner),
    postsuper works as that user: what it creates belongs to the queue
    manager."""
    import tempfile
    if os.geteuid() != 0:
        pytest.skip("needs root")
    base = pathlib.Path(tempfile.mkdtemp(prefix="ulak-own-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        top = base / "spool"
        for d in ["maildrop", "incoming", "active", "deferred", "hold",
                  "corrupt", "bounce", "defer", "trace"]:
            (top / d).mkdir(parents=True)
        place(top, "hold", "3C0CCA0001", queue_file())
        subprocess.run(["chown", "-R", "65534:65534", str(top)], check=True)
        (confdir / "main.cf").write_text(f"queue_directory = {top}\n")
        r = run("postsuper", "-c", confdir, "-H", "3C0CCA0001")
        assert r.rc == 0, r
        assert r.err == ("postsuper: 3C0CCA0001: released from hold\n"
                         "postsuper: Released from hold: 1 message\n"), r
        st = os.stat(top / "deferred" / "3")
        assert (st.st_uid, st.st_gid) == (65534, 65534)
        assert os.stat(top / "deferred" / "3" / "3C0CCA0001").st_uid == 65534
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_structure_compared_with_postfix(spool, confdir):
    """postsuper -s on the same layout with Debian's postsuper: the same
    files end in the same places under the same names (the inode part of a
    renamed name differs, as the inodes do), and the same messages
    (Postfix reports a bogus name once per pass, ulak once)."""
    import pwd
    import tempfile
    if os.geteuid() != 0 or not os.path.exists("/usr/sbin/postsuper"):
        pytest.skip("needs Debian's postsuper, run as root")
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        pytest.skip("no postfix user")
    layout = {"deferred/5/6301A0001": b"x", "defer/5/56301A0001": b"x",
              "deferred/56301A0002": b"x", "hold/C/56301A0003": b"x",
              "incoming/bad.name": b"x", "deferred/5/junk": b"x"}
    for rel_path, data in layout.items():
        p = spool / rel_path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (spool / "deferred" / "A" / "B").mkdir(parents=True)
    with open(confdir / "main.cf", "a") as f:
        f.write("hash_queue_depth = 2\n")
    base = pathlib.Path(tempfile.mkdtemp(prefix="ulak-pf-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        (base / "etc").mkdir()
        (base / "etc" / "main.cf").write_text(
            f"queue_directory = {base}/spool\nhash_queue_depth = 2\n")
        pf_top = postfix_tree(base, layout)
        (pf_top / "deferred" / "A" / "B").mkdir(parents=True)
        ours = run("postsuper", "-c", confdir, "-s")
        theirs = subprocess.run(["/usr/sbin/postsuper", "-c",
                                 str(base / "etc"), "-s"],
                                capture_output=True, text=True, timeout=60)
        assert ours.rc == theirs.returncode == 0, (ours, theirs)
        assert sorted(set(ours.err.splitlines())) == \
            sorted(set(theirs.stderr.splitlines())), (ours, theirs.stderr)

        def shape(top):
            # A renamed file: the first five characters, then its inode.
            out = []
            for rel_path in files(top):
                head, name = os.path.split(rel_path)
                ino = os.stat(os.path.join(top, rel_path)).st_ino
                if name == name[:5] + "%X" % ino:
                    name = name[:5] + "<inode>"
                out.append(os.path.join(head, name))
            return sorted(out)
        assert shape(spool) == shape(pf_top), (files(spool), files(pf_top))
        assert shape(spool) == [
            "defer/5/6/56301A0001", "deferred/5/6/56301<inode>",
            "deferred/5/junk", "deferred/6/3/6301A<inode>",
            "hold/56301<inode>", "incoming/bad.name"]
        assert (spool / "deferred" / "A" / "B").is_dir()
        assert not (spool / "hold" / "C").exists()
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)
