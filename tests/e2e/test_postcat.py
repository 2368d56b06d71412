"""postcat: queue files written from Python by docs/QUEUE.md, printed in
Postfix's postcat format (labels and sections checked against Postfix 3.7's
postcat on a queue file of a Postfix test instance)."""
import subprocess
import time

from conftest import BIN, run
from queuefile import fixed, queue_file, rec


def arrival_text(t):
    return time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(t))


def test_doc_example_is_exact(tmp_path, confdir):
    """The example in docs/QUEUE.md, byte for byte."""
    f = queue_file(rcpts=[{"addr": "bob@example.test",
                           "orcpt": "rfc822;bob@example.test",
                           "notify": 10}])
    assert f[:3] == b"S\x00\x4f"
    assert f[3:82].decode() == ("             41             197"
                                "               1             250"
                                "               1")
    assert f[197:200] == b"M\x00\x00"
    assert f[250:253] == b"X\x00\x00"
    p = tmp_path / "qf"
    p.write_bytes(f)
    r = run("postcat", "-c", confdir, p)
    assert r.rc == 0 and r.err == "", r
    assert r.out == (
        f"*** ENVELOPE RECORDS {p} ***\n"
        "message_size:              41             197               1"
        "             250               1\n"
        f"message_arrival_time: {arrival_text(1796064070)}\n"
        "sender: alice@example.test\n"
        "named_attribute: rewrite_context=local\n"
        "named_attribute: notify_flags=10\n"
        "named_attribute: dsn_orig_rcpt=rfc822;bob@example.test\n"
        "recipient: bob@example.test\n"
        f"*** MESSAGE CONTENTS {p} ***\n"
        "Subject: hello!\n"
        "\n"
        "the body of the message\n"
        f"*** HEADER EXTRACTED {p} ***\n"
        f"*** MESSAGE FILE END {p} ***\n"), r


def test_all_record_types_and_sections(tmp_path, confdir):
    long_line = "X-Long: " + "x" * 9000
    f = queue_file(
        sender="", envid="envid123", ret=2, warn=0,
        attrs={"log_client_name": "client.example", "protocol": "ESMTP"},
        rcpts=[{"addr": "bob@example.test", "orig": "Bob@Example.Test",
                "orcpt": "rfc822;Bob@Example.Test", "notify": 2},
               {"addr": "carol@example.test", "done": True}],
        headers=["Received: by mx", "\tid 1", long_line],
        body=["", "line 1", "", "line 3"],
        extracted=rec("A", "extra=1") + rec("R", "dave@example.test"),
        extracted_rcpts=1)
    p = tmp_path / "qf"
    p.write_bytes(f)
    r = run("postcat", "-c", confdir, p)
    assert r.rc == 0 and r.err == "", r
    lines = r.out.splitlines()
    assert lines[0] == f"*** ENVELOPE RECORDS {p} ***"
    assert lines[1].startswith("message_size: ")
    assert lines[2:12] == [
        f"message_arrival_time: {arrival_text(1796064070)}",
        "warning_message_time: 0",
        "sender: ",
        "named_attribute: envelope_id=envid123",
        "named_attribute: ret_flags=2",
        "named_attribute: log_client_name=client.example",
        "named_attribute: protocol=ESMTP",
        "named_attribute: notify_flags=2",
        "named_attribute: dsn_orig_rcpt=rfc822;Bob@Example.Test",
        "original_recipient: Bob@Example.Test",
    ]
    assert lines[12:14] == ["recipient: bob@example.test",
                            "done_recipient: carol@example.test"]
    assert lines[14] == f"*** MESSAGE CONTENTS {p} ***"
    assert lines[15:22] == ["Received: by mx", "\tid 1", long_line, "",
                            "line 1", "", "line 3"]
    assert lines[22:] == [f"*** HEADER EXTRACTED {p} ***",
                          "named_attribute: extra=1",
                          "recipient: dave@example.test",
                          f"*** MESSAGE FILE END {p} ***"]

    # -h: the headers only, no section lines; -b: from the empty line on.
    r = run("postcat", "-c", confdir, "-h", p)
    assert r.out.splitlines() == ["Received: by mx", "\tid 1", long_line], r
    r = run("postcat", "-c", confdir, "-b", p)
    assert r.out == "\nline 1\n\nline 3\n", r
    r = run("postcat", "-c", confdir, "-bh", p)
    assert r.out.splitlines() == lines[15:22], r
    # -e: the sections, no content.
    r = run("postcat", "-c", confdir, "-e", p)
    assert r.out.splitlines() == lines[:15] + lines[22:], r
    # -o: offsets; the long line shows as its three records.
    r = run("postcat", "-c", confdir, "-o", "-h", p)
    offs = r.out.splitlines()
    assert len(offs) == 5, r
    first = f.index(b"L\x00\x0fReceived: by mx")
    assert offs[0] == "%9d Received: by mx" % first
    # -d: the decimal record type.
    r = run("postcat", "-c", confdir, "-d", "-e", p)
    assert r.out.splitlines()[1].startswith(" 83 message_size: "), r


def test_stdin_and_queue_lookup(tmp_path, confdir):
    top = tmp_path / "spool"
    (confdir / "main.cf").write_text(f"queue_directory = {top}\n")
    (top / "deferred" / "3").mkdir(parents=True)
    (top / "hold").mkdir()
    qid = "3C0CCA764B7"
    f = queue_file()
    (top / "deferred" / "3" / qid).write_bytes(f)
    r = run("postcat", "-c", confdir, "-q", qid)
    assert r.rc == 0, r
    assert r.out.startswith(f"*** ENVELOPE RECORDS deferred/3/{qid} ***\n"), r
    assert r.out.endswith(f"*** MESSAGE FILE END deferred/3/{qid} ***\n"), r

    (top / "hold" / "B2345C").write_bytes(f)
    r = run("postcat", "-c", confdir, "-hq", "B2345C")
    assert r.rc == 0 and r.out == "Subject: hello!\n", r

    r = run("postcat", "-c", confdir, "-q", "B2345D")
    assert r.rc == 1, r
    assert r.err == ("postcat: fatal: open queue file B2345D: No such file "
                     "or directory\n"), r
    # Not a queue ID: never becomes a path.
    r = run("postcat", "-c", confdir, "-q", "../hold/B2345C")
    assert r.rc == 1, r
    assert r.err == "postcat: fatal: bad mail queue ID: ../hold/B2345C\n", r

    p = tmp_path / "qf"
    p.write_bytes(f)
    with open(p, "rb") as fh:
        proc = subprocess.run([str(BIN / "postcat"), "-c", str(confdir),
                               "-b"], stdin=fh, capture_output=True,
                              text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == (
        "\nthe body of the message\n"), proc


def test_damaged_files(tmp_path, confdir):
    good = queue_file()
    p = tmp_path / "qf"

    p.write_bytes(b"From alice Mon Nov 30\nhello\n")
    r = run("postcat", "-c", confdir, p)
    assert r.rc == 0 and r.out == "", r
    assert r.err == f"postcat: warning: {p}: input is not a valid queue file\n"

    cases = [
        ("truncated", good[:-10], "truncated record type"),
        ("missing end", good[:-3], "missing end record"),
        ("bad type", good[:102] + b"?" + good[103:], "unknown record type 0x3f"),
        ("oversize", good[:82] + b"T\x20\x00" + good[85:],
         "length 8192 exceeds 4096"),
        ("incomplete", rec("S", fixed(0, 0, 0, 0, 1)) + good[82:],
         "incomplete queue file"),
    ]
    for name, data, want in cases:
        p.write_bytes(data)
        r = run("postcat", "-c", confdir, p)
        assert r.rc == 1, (name, r)
        assert want in r.err, (name, r)
        assert r.err.endswith("postcat: fatal: record read error\n"), (name, r)


def test_usage(confdir):
    r = run("postcat", "-c", confdir, "-x")
    assert r.rc == 1 and "postcat: fatal: usage: postcat [-b (body text)]" \
        in r.err, r


def test_queue_lookup_follows_hashing(tmp_path, confdir):
    """-q finds a long ID in deferred/ hashed two levels deep by its hex
    microseconds (2VXx = 353025 = 0x56301), as hash_queue_depth says."""
    top = tmp_path / "spool"
    (confdir / "main.cf").write_text(
        f"queue_directory = {top}\nhash_queue_depth = 2\n"
        "enable_long_queue_ids = yes\n")
    qid = "3Pt2mN2VXxznjll"
    (top / "deferred" / "5" / "6").mkdir(parents=True)
    (top / "deferred" / "5" / "6" / qid).write_bytes(queue_file())
    r = run("postcat", "-c", confdir, "-eq", qid)
    assert r.rc == 0, r
    assert r.out.splitlines()[0] == \
        f"*** ENVELOPE RECORDS deferred/5/6/{qid} ***", r
    # At depth 1 it would be deferred/5/ID: not there.
    (confdir / "main.cf").write_text(f"queue_directory = {top}\n")
    r = run("postcat", "-c", confdir, "-eq", qid)
    assert r.rc == 1 and "No such file or directory" in r.err, r
