"""sendmail: local submission into maildrop/, read back with postcat.

The records and their order follow what Postfix 3.7's sendmail writes into
its maildrop (checked with postcat on a /work/shared/tools/postfix-ref
instance): the sender as given (not rewritten), rewrite_context=local,
sender_fullname, recipients from -t in the extracted section.  Postfix
keeps the Bcc: header in maildrop and lets cleanup remove it; ulak's
sendmail removes it itself (the maildrop format is ulak's own)."""
import os
import pwd
import socket
import threading

import pytest

from conftest import run


@pytest.fixture
def inst(tmp_path):
    """A configuration with its own queue directory and maildrop/."""
    etc = tmp_path / "etc"
    etc.mkdir()
    q = tmp_path / "q"
    (q / "maildrop").mkdir(parents=True)
    (q / "public").mkdir()
    (etc / "main.cf").write_text(
        f"queue_directory = {q}\n"
        "myhostname = mx.example.test\n"
        "mydomain = example.test\n"
        "compatibility_level = 3.6\n")
    return etc, q


def maildrop(q):
    return sorted(p.name for p in (q / "maildrop").iterdir())


def postcat(etc, qid, *flags):
    r = run("postcat", "-c", etc, *flags, "-q", qid)
    assert r.rc == 0, r
    return r.out


def send(etc, *args, stdin="Subject: hi\n\nbody\n"):
    return run("sendmail", "-C", etc, *args, stdin=stdin)


def one_file(etc, q):
    names = maildrop(q)
    assert len(names) == 1, names
    return postcat(etc, names[0])


def test_arguments_and_envelope_flags(inst):
    etc, q = inst
    r = send(etc, "-f", "joe@example.test", "-F", "Joe User",
             "-N", "success,delay", "-R", "hdrs", "-V", "env-42",
             "bob@example.test", "Carol <carol@example.test>, dave")
    assert r.rc == 0, r
    out = one_file(etc, q)
    assert "sender: joe@example.test\n" in out
    assert "named_attribute: rewrite_context=local\n" in out
    assert "named_attribute: sender_fullname=Joe User\n" in out
    assert f"named_attribute: uid={os.getuid()}\n" in out
    assert "named_attribute: envelope_id=env-42\n" in out
    assert "named_attribute: ret_flags=2\n" in out
    assert out.count("named_attribute: notify_flags=10\n") == 3
    env = out.split("*** MESSAGE CONTENTS")[0]
    assert ("recipient: bob@example.test\n" in env
            and "recipient: carol@example.test\n" in env
            and "recipient: dave\n" in env)
    assert "Subject: hi\n\nbody\n" in out


def test_never_and_full(inst):
    etc, q = inst
    r = send(etc, "-N", "never", "-R", "full", "a@example.test")
    assert r.rc == 0, r
    out = one_file(etc, q)
    assert "named_attribute: notify_flags=1\n" in out
    assert "named_attribute: ret_flags=1\n" in out


def test_bad_notify_and_ret_are_ignored_with_warnings(inst):
    etc, q = inst
    r = send(etc, "-N", "bogus", "-R", "bogus", "a@example.test")
    assert r.rc == 0, r
    assert ('sendmail: warning: unknown DSN NOTIFY command value "bogus" '
            'in "bogus"') in r.err
    assert "sendmail: warning: bad -N option value -- ignored" in r.err
    assert "sendmail: warning: bad -R option value -- ignored" in r.err
    out = one_file(etc, q)
    assert "notify_flags" not in out and "ret_flags" not in out


def test_default_sender_and_full_name(inst):
    etc, q = inst
    pw = pwd.getpwuid(os.getuid())
    r = send(etc, "a@example.test")
    assert r.rc == 0, r
    out = one_file(etc, q)
    assert f"sender: {pw.pw_name}\n" in out
    gecos = pw.pw_gecos.split(",")[0].replace("&", pw.pw_name.capitalize())
    if gecos:
        assert f"named_attribute: sender_fullname={gecos}\n" in out


def test_extract_recipients_bcc_removed(inst):
    etc, q = inst
    msg = ("To: Bob <bob@example.test>,\n\tcarol@example.test\n"
           "Cc: dave@example.test\nBcc: secret@example.test\n"
           "Subject: t\n\nbody\n")
    r = send(etc, "-t", "-f", "joe", "extra@example.test", stdin=msg)
    assert r.rc == 0, r
    out = one_file(etc, q)
    env, rest = out.split("*** MESSAGE CONTENTS")
    content, extracted = rest.split("*** HEADER EXTRACTED")
    assert "recipient: extra@example.test\n" in env
    for a in ("bob@example.test", "carol@example.test", "dave@example.test",
              "secret@example.test"):
        assert f"recipient: {a}\n" in extracted
    assert "Bcc" not in content
    assert "To: Bob <bob@example.test>,\n\tcarol@example.test\n" in content


def test_extract_without_recipients_fails(inst):
    etc, q = inst
    r = send(etc, "-t", stdin="Subject: x\n\nb\n")
    assert r.rc == 75, r
    assert "No recipient addresses found in message header" in r.err
    assert maildrop(q) == []


def test_no_recipients(inst):
    etc, q = inst
    r = send(etc)
    assert r.rc == 75, r
    assert ("Recipient addresses must be specified on the command line or "
            "via the -t option") in r.err
    assert maildrop(q) == []


def test_dot_crlf_and_final_newline(inst):
    etc, q = inst
    r = send(etc, "a@example.test",
             stdin="Subject: x\r\n\r\nline\r\n.\r\nafter\n")
    assert r.rc == 0, r
    out = postcat(etc, maildrop(q)[0], "-b")
    assert out == "\nline\n"
    for name in maildrop(q):
        os.unlink(q / "maildrop" / name)
    for flag in ("-i", "-oi"):
        r = send(etc, flag, "a@example.test",
                 stdin="Subject: x\n\nline\n.\nafter")
        assert r.rc == 0, r
        out = postcat(etc, maildrop(q)[0], "-b")
        assert out == "\nline\n.\nafter\n"
        for name in maildrop(q):
            os.unlink(q / "maildrop" / name)


def test_long_line_kept(inst):
    etc, q = inst
    body = "x" * 10000
    r = send(etc, "a@example.test", stdin=f"Subject: x\n\n{body}\n")
    assert r.rc == 0, r
    assert postcat(etc, maildrop(q)[0], "-b") == f"\n{body}\n"


def test_message_size_limit(inst):
    etc, q = inst
    with open(etc / "main.cf", "a") as f:
        f.write("message_size_limit = 100\n")
    r = send(etc, "a@example.test", stdin="Subject: x\n\n" + "y" * 200 + "\n")
    assert r.rc == 75, r
    assert "message file too big" in r.err
    assert maildrop(q) == []


def test_ignored_options(inst):
    etc, q = inst
    r = send(etc, "-om", "-oem", "-odb", "-o7", "-B", "8BITMIME", "-G", "-U",
             "-h", "5", "-L", "x", "-n", "-bm", "a@example.test")
    assert r.rc == 0, r
    assert len(maildrop(q)) == 1


def test_oF_and_r(inst):
    etc, q = inst
    r = send(etc, "-oFA Name", "-r", "s@example.test", "a@example.test")
    assert r.rc == 0, r
    out = one_file(etc, q)
    assert "named_attribute: sender_fullname=A Name\n" in out
    assert "sender: s@example.test\n" in out


def test_unavailable_modes(inst):
    etc, q = inst
    r = send(etc, "-bz", stdin="")
    assert r.rc == 75 and "sendmail: fatal: unsupported: -bz" in r.err
    r = send(etc, "-Z", stdin="")
    assert r.rc == 75 and "sendmail: fatal: usage: sendmail [options]" in r.err


def test_verify_queues_a_request(inst):
    """-bv queues the recipients with the verify attribute and an empty
    content (the message is not read), and says where the report goes, as
    Postfix's sendmail; the report itself: test_mailpath.py."""
    etc, q = inst
    r = send(etc, "-bv", "root", "joe@remote.test", stdin="never read\n")
    assert r.rc == 0, r
    assert r.out == "Mail Delivery Status Report will be mailed to <%s>.\n" \
        % pwd.getpwuid(os.getuid()).pw_name, r
    out = one_file(etc, q)
    assert "named_attribute: verify=1\n" in out and "never read" not in out, out
    assert "recipient: joe@remote.test\n" in out, out


def test_verify_extract(inst):
    etc, q = inst
    r = send(etc, "-bv", "-f", "me@example.test", "-t",
             stdin="To: a@x.test\nSubject: s\n\nbody text\n")
    assert r.rc == 0, r
    assert r.out == ("Mail Delivery Status Report will be mailed to "
                     "<me@example.test>.\n"), r
    out = one_file(etc, q)
    assert "a@x.test" in out and "named_attribute: verify=1\n" in out, out


def test_newaliases(inst, tmp_path):
    etc, q = inst
    aliases = tmp_path / "aliases"
    aliases.write_text("postmaster: root\n")
    with open(etc / "main.cf", "a") as f:
        f.write(f"alias_database = hash:{aliases}\n")
    r = send(etc, "-bi", stdin="")
    assert r.rc == 0, r
    assert (tmp_path / "aliases.db").exists()
    os.unlink(tmp_path / "aliases.db")
    r = send(etc, "-I", stdin="")
    assert r.rc == 0, r
    assert (tmp_path / "aliases.db").exists()


def test_pickup_woken_through_its_socket(inst):
    etc, q = inst
    path = str(q / "public" / "pickup")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(10)
    got = []

    def serve():
        conn, _ = srv.accept()
        conn.settimeout(10)
        got.append(conn.recv(16))
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    r = send(etc, "a@example.test")
    t.join(15)
    srv.close()
    assert r.rc == 0, r
    assert got == [b"W"]
    assert len(maildrop(q)) == 1


def test_pickup_woken_through_its_fifo(inst):
    etc, q = inst
    path = q / "public" / "pickup"
    os.mkfifo(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        r = send(etc, "a@example.test")
        assert r.rc == 0, r
        assert os.read(fd, 16) == b"W"
    finally:
        os.close(fd)


def test_no_pickup_listening_is_fine(inst):
    etc, q = inst
    os.mkfifo(q / "public" / "pickup")
    r = send(etc, "a@example.test")
    assert r.rc == 0, r
    assert len(maildrop(q)) == 1


def test_line_breaks_in_envelope_arguments_refused(inst):
    etc, q = inst
    r = send(etc, "-f", "a@x\nR evil@x", "b@example.test")
    assert r.rc == 75 and "bad sender address: line break" in r.err, r
    r = send(etc, "-F", "Joe\nBcc: evil@x", "b@example.test")
    assert r.rc == 75 and "bad full name: line break" in r.err, r
    assert maildrop(q) == []
    # In a recipient argument a line break is white space between
    # addresses, as Postfix's tokenizer reads it: no record is forged.
    r = send(etc, "b@example.test\nR evil@x")
    assert r.rc == 0, r
    out = one_file(etc, q)
    assert ("recipient: b@example.test\nrecipient: R\n"
            "recipient: evil@x\n") in out


def test_extract_resent_headers_win(inst):
    """With Resent- headers, -t takes Resent-To/Cc/Bcc only (Postfix)."""
    etc, q = inst
    msg = ("To: to@example.test\nResent-To: rto@example.test\n"
           "Resent-Cc: rcc@example.test\nResent-Bcc: rbcc@example.test\n"
           "Subject: rs\n\nb\n")
    r = send(etc, "-t", stdin=msg)
    assert r.rc == 0, r
    out = one_file(etc, q)
    extracted = out.split("*** HEADER EXTRACTED")[1]
    assert extracted.count("recipient:") == 3
    for a in ("rto@example.test", "rcc@example.test", "rbcc@example.test"):
        assert f"recipient: {a}\n" in extracted
    assert "Resent-Bcc" not in out


def test_fix_line_endings(inst):
    """The CRs kept, read from the maildrop file's bytes (postcat's text
    output would go through Python's newline translation)."""
    etc, q = inst
    cases = [("never", "Subject: x\r\n\r\na\r\n", 3),
             ("strict", "Subject: x\n\na\r\n", 1),
             ("strict", "Subject: x\r\n\r\na\r\n", 0),
             ("always", "Subject: x\n\na\r\n", 0)]
    base = (etc / "main.cf").read_text()
    for value, stdin, crs in cases:
        (etc / "main.cf").write_text(
            base + f"sendmail_fix_line_endings = {value}\n")
        r = send(etc, "a@example.test", stdin=stdin)
        assert r.rc == 0, r
        (name,) = maildrop(q)
        data = (q / "maildrop" / name).read_bytes()
        assert data.count(b"\r") == crs, (value, data)
        os.unlink(q / "maildrop" / name)


def test_authorized_submit_users(inst):
    etc, q = inst
    me = pwd.getpwuid(os.getuid()).pw_name
    base = (etc / "main.cf").read_text()
    for value, ok in ((f"bob, !{me}", False), (f"!bob, {me}", True),
                      ("bob", False), ("static:anyone", True),
                      (f"inline:{{ {me}=x }}", True), ("inline:{ x=y }", False)):
        (etc / "main.cf").write_text(
            base + f"authorized_submit_users = {value}\n")
        r = send(etc, "a@example.test")
        if ok:
            assert r.rc == 0, (value, r)
        else:
            assert r.rc == 75, (value, r)
            assert (f"sendmail: fatal: User {me}({os.getuid()}) is not "
                    "allowed to submit mail") in r.err
    assert len(maildrop(q)) == 3


def test_sender_forms(inst):
    """-f as Postfix's sendmail reads it (postfix-ref's maildrop)."""
    etc, q = inst
    for arg, want in (("<>", ""), ("<a@b.test>", "a@b.test"),
                      ("Joe <j@x.test>", "j@x.test"),
                      ('"a b"@x.test', "a b@x.test")):
        r = send(etc, "-f", arg, "u@example.test")
        assert r.rc == 0, r
        out = one_file(etc, q)
        assert f"sender: {want}\n" in out, (arg, out)
        for name in maildrop(q):
            os.unlink(q / "maildrop" / name)
    r = send(etc, "-f", "a@x, b@y", "u@example.test")
    assert r.rc == 75 and "more than one address" in r.err, r


def test_bp_lists_the_queue(inst):
    """-bp is postqueue -p (Postfix's sendmail runs it)."""
    etc, q = inst
    r = send(etc, "-f", "joe@example.test", "bob@example.test")
    assert r.rc == 0, r
    (qid,) = maildrop(q)
    r = send(etc, "-bp", stdin="")
    want = run("postqueue", "-c", etc, "-p")
    assert (r.rc, r.out, r.err) == (want.rc, want.out, want.err), (r, want)
    assert qid in r.out and "joe@example.test" in r.out


def test_q_is_postqueue_flush(inst):
    """-q, -qRsite, -qIid answer as postqueue -f, -s, -i do."""
    etc, q = inst
    for args, pq in ((["-q"], ["-f"]), (["-qRexample.test"], ["-s", "example.test"]),
                     (["-qIABCDE12345"], ["-i", "ABCDE12345"])):
        r = send(etc, *args, stdin="")
        want = run("postqueue", "-c", etc, *pq)
        assert (r.rc, r.err) == (want.rc, want.err), (args, r, want)
    r = send(etc, "-q30m", "a@example.test")
    assert r.rc == 0, r
