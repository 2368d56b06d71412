"""local(8) end to end: the test plays the queue manager (a queue file in
active/, one deliver_req on private/local) against an unprivileged
instance, and checks the mailbox bytes, files, command input and
environment, the deliver_status frames and the log lines."""
import os
import pwd
import re
import subprocess
import time

import pytest

from agentfix import (AS_ROOT, DELAYS, MASTER_CF, ME, USER, chown,  # noqa
                      deliver, inst, log_line)
from conftest import ULAK

MSG = (b"Subject: test\n"
       b"From: alice@example.test\n"
       b"\n"
       b"first line\n"
       b"From the start of a line\n"
       b">From already quoted\n")


def prepare(inst, main="", aliases=None):
    """Folders out/ and spool/, main.cf, the alias table built with
    postalias when ALIASES is given (else alias_maps is empty), start."""
    out = inst.root / "out"
    spool = inst.root / "spool"
    out.mkdir()
    spool.mkdir()
    chown(out)
    chown(spool)
    main = f"mail_spool_directory = {spool}\n" + main
    if aliases is None:
        main = "alias_maps =\n" + main
    else:
        main = f"alias_maps = hash:{inst.root}/aliases\n" + main
    inst.configure(MASTER_CF, main)
    if aliases is not None:
        build_aliases(inst, aliases)
    r = inst.ulak("start")
    assert r.returncode == 0, r
    return out, spool


def mbox_messages(path):
    return path.read_bytes()


def test_spool_mbox_delivery(inst):
    out, spool = prepare(inst)
    rcpt = f"{USER}@localhost"
    qid, st = deliver(inst, "local", [rcpt], content=MSG)
    assert st[0]["status"] == "2.0.0", st
    assert st[0]["reason"] == "delivered to mailbox"
    assert st[0]["relay"] == "local" and st[0]["done"] == 1
    data = (spool / USER).read_bytes()
    assert re.match(rb"From alice@example\.test  \w{3} \w{3} [ \d]\d "
                    rb"\d\d:\d\d:\d\d \d{4}\n", data), data
    lines = data.split(b"\n")
    assert lines[1] == b"Return-Path: <alice@example.test>"
    assert lines[2] == b"Delivered-To: " + rcpt.encode()
    assert b"\n>From the start of a line\n" in data
    assert b"\n>From already quoted\n" in data
    assert data.endswith(b">From already quoted\n\n")
    log_line(inst, qid, re.escape(f"to=<{rcpt}>, relay=local, ") + DELAYS
             + r", dsn=2\.0\.0, status=sent \(delivered to mailbox\)")


def test_second_delivery_appends(inst):
    out, spool = prepare(inst)
    deliver(inst, "local", [f"{USER}@localhost"], content=MSG)
    deliver(inst, "local", [f"{USER}@localhost"], content=MSG)
    assert (spool / USER).read_bytes().count(b"\nReturn-Path: ") == 2


def test_unknown_user_bounces(inst):
    prepare(inst)
    qid, st = deliver(inst, "local", ["nosuchuser42@localhost"])
    assert (st[0]["status"], st[0]["action"]) == ("5.1.1", "failed")
    assert st[0]["reason"] == 'unknown user: "nosuchuser42"'
    log_line(inst, qid, r"to=<nosuchuser42@localhost>, relay=local, "
             + DELAYS + r", dsn=5\.1\.1, status=bounced \(unknown user: "
             r"\"nosuchuser42\"\)")


def test_other_user_deferred_in_unprivileged_instance(inst):
    prepare(inst)
    qid, st = deliver(inst, "local", ["root@localhost"])
    assert (st[0]["status"], st[0]["action"]) == ("4.3.0", "delayed")
    assert "unprivileged instance" in st[0]["reason"]


def test_extension_and_orig_to(inst):
    out, spool = prepare(inst, "recipient_delimiter = +\n")
    rcpt = f"{USER}+tag@localhost"
    qid, st = deliver(inst, "local", [(rcpt, "Orig@Example.test")])
    assert st[0]["status"] == "2.0.0", st
    data = (spool / USER).read_bytes()
    assert b"\nX-Original-To: Orig@Example.test\n" in data
    assert b"\nDelivered-To: " + rcpt.encode() + b"\n" in data
    log_line(inst, qid, re.escape(f"to=<{rcpt}>, orig_to=<Orig@Example.test>"
                                  ", relay=local"))


def test_delivered_to_loop_bounces(inst):
    out, spool = prepare(inst)
    rcpt = f"{USER}@localhost"
    msg = b"Delivered-To: " + rcpt.encode() + b"\nSubject: x\n\nbody\n"
    qid, st = deliver(inst, "local", [rcpt], content=msg)
    assert (st[0]["status"], st[0]["action"]) == ("5.4.6", "failed")
    assert st[0]["reason"] == f"mail forwarding loop for {rcpt}"
    assert not (spool / USER).exists()


def build_aliases(inst, text):
    path = inst.root / "aliases"
    path.write_text(text)
    chown(path)
    r = subprocess.run([str(ULAK), "postalias", "-c", str(inst.etc),
                        str(path)], capture_output=True, text=True,
                       user=USER if AS_ROOT else None)
    assert r.returncode == 0, r
    return path


def test_alias_file_command_maildir_include(inst):
    root = inst.root
    inc = root / "inc"
    inc.write_text(f"# a comment\n{root}/out/inc.mbox\n")
    chown(inc)
    out, spool = prepare(
        inst, "allow_mail_to_files = alias, forward, include\n", aliases=(
            f"team: {root}/out/file.mbox, {root}/out/Maildir/,\n"
            f"  \"|cat > {root}/out/cmd.out\", :include:{inc}\n"))
    qid, st = deliver(inst, "local", ["team@localhost"], content=MSG)
    assert st[0]["status"] == "2.0.0", st
    f = (out / "file.mbox").read_bytes()
    assert f.startswith(b"From alice@example.test ")
    assert b"\nDelivered-To: team@localhost\n" in f
    new = list((out / "Maildir" / "new").iterdir())
    assert len(new) == 1
    md = new[0].read_bytes()
    assert md.startswith(b"Return-Path: <alice@example.test>\n"
                         b"Delivered-To: team@localhost\n")
    assert b"\nFrom the start of a line\n" in md  # no quoting in Maildir
    cmd = (out / "cmd.out").read_bytes()
    assert cmd.startswith(b"From alice@example.test ")
    assert cmd.endswith(b"first line\nFrom the start of a line\n"
                        b">From already quoted\n")
    assert (out / "inc.mbox").exists()
    log_line(inst, qid, r"to=<team@localhost>, relay=local, " + DELAYS
             + r", dsn=2\.0\.0, status=sent")


def test_include_file_restricted_by_default(inst):
    root = inst.root
    inc = root / "inc"
    inc.write_text(f"{root}/out/inc.mbox\n\"|cat > {root}/out/x\"\n")
    chown(inc)
    prepare(inst, "allow_mail_to_commands = alias\n",
            aliases=f"lst: :include:{inc}\n")
    qid, st = deliver(inst, "local", ["lst@localhost"])
    assert (st[0]["status"], st[0]["action"]) == ("5.7.1", "failed")
    assert st[0]["reason"] in ("mail to file is restricted",
                               "mail to command is restricted")
    assert not (root / "out" / "inc.mbox").exists()
    assert not (root / "out" / "x").exists()


def test_owner_alias_becomes_the_sender(inst):
    root = inst.root
    out, spool = prepare(inst, "myorigin = example.org\n", aliases=(
        f"team: {root}/out/t.mbox, \"|env > {root}/out/env\"\n"
        "owner-team: boss\n"))
    qid, st = deliver(inst, "local", ["team@localhost"])
    assert st[0]["status"] == "2.0.0", st
    data = (out / "t.mbox").read_bytes()
    assert data.startswith(b"From owner-team@example.org  ")
    assert b"\nReturn-Path: <owner-team@example.org>\n" in data
    assert "SENDER=owner-team@example.org\n" in (out / "env").read_text()


def test_alias_to_self_reaches_the_mailbox(inst):
    out, spool = prepare(inst, aliases=f"{USER}: \\{USER}, /dev/null\n")
    qid, st = deliver(inst, "local", [f"{USER}@localhost"])
    assert st[0]["status"] == "2.0.0", st
    assert (spool / USER).exists()


def test_alias_forwarding_writes_one_queue_file(inst):
    prepare(inst, aliases="fwd: someone@example.com, other@example.com\n")
    qid, st = deliver(inst, "local", ["fwd@localhost"])
    assert (st[0]["status"], st[0]["action"]) == ("2.0.0", "delivered"), st
    m = re.fullmatch(r"forwarded as ([0-9A-F]+)", st[0]["reason"])
    assert m, st
    files = [p for p in (inst.queue / "incoming").rglob(m.group(1))]
    assert len(files) == 1, files
    data = files[0].read_bytes()
    assert b"someone@example.com" in data and b"other@example.com" in data
    assert b"Delivered-To: fwd@localhost" in data


def test_command_exit_codes(inst):
    prepare(inst, aliases=(
        "fail: \"|echo no such thing; exit 1\"\n"
        "tmp: \"|exit 75\"\n"))
    qid, st = deliver(inst, "local", ["fail@localhost"])
    assert (st[0]["status"], st[0]["action"]) == ("5.3.0", "failed")
    assert st[0]["reason"] == ('Command died with status 1: "echo no such '
                               'thing; exit 1". Command output: no such '
                               'thing ')
    qid, st = deliver(inst, "local", ["tmp@localhost"])
    assert (st[0]["status"], st[0]["action"], st[0]["reason"]) == (
        "4.3.0", "delayed", "temporary failure")
    log_line(inst, qid, r"to=<tmp@localhost>, relay=local, " + DELAYS
             + r", dsn=4\.3\.0, status=deferred \(temporary failure\)")


# What Postfix 3.7's local reports for each sysexits.h code (recorded from
# Debian's Postfix with alias commands "echo outN; exit N").
SYSEXITS = {
    64: ("5.3.0", "command line usage error"),
    65: ("5.6.0", "data format error"),
    66: ("5.3.0", "cannot open input"),
    67: ("5.1.1", "user unknown"),
    68: ("5.1.2", "host name unknown"),
    69: ("5.3.0", "service unavailable"),
    70: ("5.3.0", "internal software error"),
    71: ("4.3.0", "system resource problem"),
    72: ("5.3.0", "critical OS file missing"),
    73: ("5.2.0", "can't create user output file"),
    74: ("5.3.0", "input/output error"),
    75: ("4.3.0", "temporary failure"),
    76: ("5.5.0", "remote error in protocol"),
    77: ("5.7.0", "permission denied"),
    78: ("5.3.5", "local configuration error"),
}


def test_command_sysexits_as_postfix(inst):
    codes = list(SYSEXITS) + [79]
    prepare(inst, aliases="".join(
        f"e{c}: \"|echo out{c}; exit {c}\"\n" for c in codes))
    qid, st = deliver(inst, "local", [f"e{c}@localhost" for c in codes])
    got = {s["offset"]: s for s in st}
    assert len(got) == len(codes)
    for c, s in zip(codes, st):
        if c in SYSEXITS:
            dsn, text = SYSEXITS[c]
            assert (s["status"], s["reason"]) == (
                dsn, f"{text}. Command output: out{c} "), (c, s)
            assert s["action"] == ("delayed" if dsn[0] == "4" else "failed")
        else:
            assert (s["status"], s["reason"]) == (
                "5.3.0", f'Command died with status 79: "echo out79; '
                f'exit 79". Command output: out79 '), s


def test_per_user_maps(inst):
    """mailbox_transport_maps (also for users not in passwd),
    mailbox_command_maps, fallback_transport_maps: keyed by the user name
    without extension, as Postfix 3.7 looks them up (recorded)."""
    root = inst.root
    (root / "mtm").write_text(
        "ghost error:5.1.1 mtm-ghost\n"
        "ghost@localhost error:5.1.1 full-address-never-matches\n")
    (root / "mcm").write_text(f"{USER} /bin/sh -c 'cat > {root}/out/cmd'\n")
    (root / "ftm").write_text("stray error:5.1.1 ftm-stray\n")
    out, spool = prepare(inst, (
        "recipient_delimiter = +\n"
        f"mailbox_transport_maps = texthash:{root}/mtm\n"
        f"mailbox_command_maps = texthash:{root}/mcm\n"
        f"fallback_transport_maps = texthash:{root}/ftm\n"
        "fallback_transport = error:5.1.1 ft-default\n"))
    qid, st = deliver(inst, "local", [
        "ghost+x@localhost", f"{USER}@localhost", "stray@localhost",
        "other42@localhost"], content=MSG)
    assert [(s["status"], s["reason"]) for s in st] == [
        ("5.1.1", "mtm-ghost"),
        ("2.0.0", f"delivered to command: /bin/sh -c 'cat > {root}/out/cmd'"),
        ("5.1.1", "ftm-stray"),
        ("5.1.1", "ft-default")], st
    assert b"first line" in (out / "cmd").read_bytes()
    assert not (spool / USER).exists()


def test_mailbox_transport_for_unknown_users(inst):
    """mailbox_transport applies whether or not the user is in passwd, and
    before fallback_transport (local(8) precedence)."""
    prepare(inst, "mailbox_transport = error:5.1.1 via mailbox_transport\n"
            "fallback_transport = error:5.1.1 via fallback\n")
    qid, st = deliver(inst, "local", ["nosuchuser42@localhost"])
    assert (st[0]["status"], st[0]["reason"]) == (
        "5.1.1", "via mailbox_transport")


def test_command_maps_refuse_regexp_substitution(inst):
    root = inst.root
    (root / "mcm.re").write_text(
        f"/^({USER})$/ /bin/sh -c 'echo $1 > {root}/out/injected'\n")
    out, spool = prepare(inst, f"mailbox_command_maps = regexp:{root}/mcm.re\n")
    qid, st = deliver(inst, "local", [f"{USER}@localhost"], content=MSG)
    assert (st[0]["status"], st[0]["reason"]) == (
        "2.0.0", "delivered to mailbox"), st
    assert not (out / "injected").exists()
    inst.wait_log(re.escape(f"warning: regexp map {root}/mcm.re, line 1: "
                            "regular expression substitution is not "
                            "allowed: skipping this rule"))


def test_mailbox_command_environment(inst):
    root = inst.root
    out, spool = prepare(inst, (
        "recipient_delimiter = +\n"
        f"mailbox_command = /bin/sh -c 'env > {root}/out/env; "
        f"cat > {root}/out/msg'\n"))
    rcpt = f"{USER}+ext@localhost"
    qid, st = deliver(inst, "local", [(rcpt, "o@example.test")],
                      sender="s$(touch /tmp/pwned)@example.test")
    assert st[0]["status"] == "2.0.0", st
    assert st[0]["reason"].startswith("delivered to command: /bin/sh -c")
    env = dict(line.split("=", 1) for line in
               (out / "env").read_text().splitlines() if "=" in line)
    assert env["SENDER"] == "s$(touch /tmp/pwned)@example.test"
    assert env["RECIPIENT"] == rcpt
    assert env["EXTENSION"] == "ext"
    assert env["LOCAL"] == f"{USER}+ext"
    assert env["DOMAIN"] == "localhost"
    assert env["USER"] == USER and env["LOGNAME"] == USER
    assert env["HOME"] == ME.pw_dir
    assert env["ORIGINAL_RECIPIENT"] == "o@example.test"
    assert not os.path.exists("/tmp/pwned")
    assert (out / "msg").read_bytes().startswith(b"From s$(touch ")


def test_forward_file_with_extension(inst):
    root = inst.root
    fwd = root / "fwd"
    fwd.mkdir()
    (fwd / ".forward+tag").write_text(f"{root}/out/tag.mbox\n")
    (fwd / ".forward").write_text(f"\"|cat > {root}/out/plain.out\"\n")
    chown(fwd)
    out, spool = prepare(inst, (
        "recipient_delimiter = +\n"
        f"forward_path = {fwd}/.forward${{recipient_delimiter}}"
        f"${{extension}}, {fwd}/.forward\n"))
    qid, st = deliver(inst, "local", [f"{USER}+tag@localhost"])
    assert st[0]["status"] == "2.0.0", st
    assert (out / "tag.mbox").exists() and not (out / "plain.out").exists()
    qid, st = deliver(inst, "local", [f"{USER}@localhost"])
    assert st[0]["reason"] == f"delivered to command: cat > {root}/out/plain.out"
    assert (out / "plain.out").exists()
    assert not (spool / USER).exists()


def test_mailbox_size_limit(inst):
    out, spool = prepare(inst, "mailbox_size_limit = 200\n"
                       "message_size_limit = 100\n")
    big = b"Subject: big\n\n" + b"x" * 300 + b"\n"
    qid, st = deliver(inst, "local", [f"{USER}@localhost"], content=big)
    assert (st[0]["status"], st[0]["action"]) == ("5.2.2", "failed")
    assert "File too large" in st[0]["reason"]
    assert (spool / USER).read_bytes() == b""


def test_two_recipients_one_request(inst):
    out, spool = prepare(inst)
    qid, st = deliver(inst, "local", [f"{USER}@localhost",
                                      "nosuchuser42@localhost"])
    assert [s["status"] for s in st] == ["2.0.0", "5.1.1"]
    assert "done" not in st[0] and st[1]["done"] == 1


@pytest.mark.skipif(not AS_ROOT, reason="needs root for a privileged "
                    "instance")
def test_privileged_instance_writes_as_the_recipient(inst):
    """As root: the spool mailbox is created for the user (who cannot
    write the spool folder), an alias command runs as default_privs."""
    root = inst.root
    spool = root / "spool"
    out = root / "out"
    spool.mkdir()
    out.mkdir()
    (root / "aliases").write_text(
        f"idtest: \"|/usr/bin/id -un > {out}/id\"\n"
        f"inctest: :include:{root}/inc.daemon\n"
        f"incroot: :include:{root}/inc.root\n")
    (root / "inc.daemon").write_text(f"\"|/usr/bin/id -un > {out}/id.daemon\"\n")
    (root / "inc.root").write_text(f"\"|/usr/bin/id -un > {out}/id.root\"\n")
    inst.configure(MASTER_CF, (
        "mail_owner = postfix\n"
        "allow_mail_to_commands = alias, forward, include\n"
        f"mail_spool_directory = {spool}\n"
        f"alias_maps = hash:{root}/aliases\n"))
    for p in [root, spool, root / "aliases", root / "inc.root"]:
        os.chown(p, 0, 0)
    os.chown(root / "inc.daemon", pwd.getpwnam("daemon").pw_uid, 0)
    os.chmod(spool, 0o755)
    os.chmod(out, 0o777)
    e = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    r = subprocess.run([str(ULAK), "postalias", "-c", str(inst.etc),
                        str(root / "aliases")], capture_output=True,
                       text=True, env=e)
    assert r.returncode == 0, r
    e = inst.start_privileged()
    try:
        qid, st = deliver(inst, "local", ["nobody@localhost"])
        assert st[0]["status"] == "2.0.0", st
        s = os.stat(spool / "nobody")
        assert (s.st_uid, s.st_mode & 0o777) == (
            pwd.getpwnam("nobody").pw_uid, 0o600)
        qid, st = deliver(inst, "local", ["idtest@localhost"])
        assert st[0]["status"] == "2.0.0", st
        assert (out / "id").read_text() == "nobody\n"
        # :include: commands run as the file's owner, default_privs when
        # root owns it (local(8) DELIVERY RIGHTS)
        qid, st = deliver(inst, "local", ["inctest@localhost",
                                          "incroot@localhost"])
        assert [s["status"] for s in st] == ["2.0.0", "2.0.0"], st
        assert (out / "id.daemon").read_text() == "daemon\n", inst.logtext()
        assert (out / "id.root").read_text() == "nobody\n"
    finally:
        subprocess.run([str(ULAK), "-c", str(inst.etc), "stop"], env=e,
                       timeout=60)


HOME_USER = "ulakhome"


@pytest.fixture
def home_user(inst):
    """A system account whose home is inside the test's folder (as root:
    created with useradd, removed afterwards; an account left by a killed
    run is taken over)."""
    home = inst.root / "home"
    home.mkdir()
    try:
        pwd.getpwnam(HOME_USER)
        subprocess.run(["usermod", "-d", str(home), HOME_USER], check=True)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--home-dir",
                        str(home), "--shell", "/usr/sbin/nologin",
                        HOME_USER], check=True)
    pw = pwd.getpwnam(HOME_USER)
    os.chown(home, pw.pw_uid, pw.pw_gid)
    os.chmod(home, 0o700)
    yield pw, home
    subprocess.run(["userdel", HOME_USER], check=False)


def start_privileged(inst, main):
    inst.configure(MASTER_CF, "mail_owner = postfix\nalias_maps =\n" + main)
    return inst.start_privileged()


@pytest.mark.skipif(not AS_ROOT, reason="needs root for a privileged "
                    "instance and a test account")
@pytest.mark.parametrize("home_mailbox", ["Maildir/", "Mailbox"])
def test_home_mailbox_as_the_user(inst, home_user, home_mailbox):
    """home_mailbox: a Maildir (trailing slash) or an mbox file in the
    user's home, made by and for the user (who alone can enter the home)."""
    pw, home = home_user
    e = start_privileged(inst, f"home_mailbox = {home_mailbox}\n")
    os.chown(home, pw.pw_uid, pw.pw_gid)  # configure gave it to USER
    rcpt = f"{HOME_USER}@localhost"
    try:
        qid, st = deliver(inst, "local", [rcpt], content=MSG)
        want = "maildir" if home_mailbox.endswith("/") else "mailbox"
        assert (st[0]["status"], st[0]["reason"]) == (
            "2.0.0", f"delivered to {want}"), st
    finally:
        subprocess.run([str(ULAK), "-c", str(inst.etc), "stop"], env=e,
                       timeout=60)
    if home_mailbox == "Maildir/":
        for sub in ("new", "cur", "tmp"):
            s = os.stat(home / "Maildir" / sub)
            assert (s.st_uid, s.st_mode & 0o777) == (pw.pw_uid, 0o700)
        files = list((home / "Maildir" / "new").iterdir())
        assert len(files) == 1, files
        data = files[0].read_bytes()
        assert data.startswith(b"Return-Path: <alice@example.test>\n"
                               b"Delivered-To: " + rcpt.encode() + b"\n")
        assert os.stat(files[0]).st_uid == pw.pw_uid
    else:
        data = (home / "Mailbox").read_bytes()
        assert data.startswith(b"From alice@example.test ")
        assert b"\n>From the start of a line\n" in data
        s = os.stat(home / "Mailbox")
        assert (s.st_uid, s.st_mode & 0o777) == (pw.pw_uid, 0o600)
    log_line(inst, qid, re.escape(f"to=<{rcpt}>, relay=local, ") + DELAYS
             + re.escape(f", dsn=2.0.0, status=sent (delivered to {want})"))


def test_mailbox_transport_passes_the_request_on(inst):
    out, spool = prepare(inst, "mailbox_transport = discard:kept aside\n")
    qid, st = deliver(inst, "local", [f"{USER}@localhost"])
    assert (st[0]["status"], st[0]["reason"]) == ("2.0.0", "kept aside")
    text = inst.wait_log(re.escape(f"{qid}: to=<{USER}@localhost>, "
                                   "relay=none, "))
    assert re.search(r"ulak/discard\[\d+\]: " + re.escape(qid), text)
    assert not re.search(r"ulak/local\[\d+\]: " + re.escape(qid), text)
    assert not (spool / USER).exists()


def test_fallback_transport_for_unknown_users(inst):
    prepare(inst, "fallback_transport = error:5.1.1 no such mailbox\n")
    qid, st = deliver(inst, "local", ["nosuchuser42@localhost"])
    assert (st[0]["status"], st[0]["reason"]) == ("5.1.1", "no such mailbox")
    inst.wait_log(r"ulak/error\[\d+\]: " + re.escape(
        f"{qid}: to=<nosuchuser42@localhost>, relay=none, "))


def test_unreachable_mailbox_transport_defers(inst):
    prepare(inst, "mailbox_transport = nosuchservice\n")
    qid, st = deliver(inst, "local", [f"{USER}@localhost"])
    assert st[0]["status"] == "4.3.0"
    assert "connect to transport private/nosuchservice" in st[0]["reason"]


def test_verify_reports_without_delivering(inst):
    root = inst.root
    out, spool = prepare(inst, aliases=f"team: {root}/out/t.mbox, joe\n")
    qid, st = deliver(inst, "local", [f"{USER}@localhost", "team@localhost",
                                      "nosuchuser42@localhost"], flags=1)
    assert [(s["status"], s["action"]) for s in st] == [
        ("2.0.0", "deliverable"), ("2.0.0", "deliverable"),
        ("5.1.1", "undeliverable")]
    assert st[0]["reason"] == "delivers to mailbox"
    assert st[1]["reason"] == f"aliased to {root}/out/t.mbox, joe"
    log_line(inst, qid, re.escape(f"to=<{USER}@localhost>, relay=local, ")
             + DELAYS + r", dsn=2\.0\.0, status=deliverable \(delivers to "
             r"mailbox\)")
    assert not (spool / USER).exists() and not (out / "t.mbox").exists()


def test_command_time_limit(inst):
    """A command that neither reads nor exits is killed at the limit,
    also while the message is still being written to it."""
    prepare(inst, "command_time_limit = 2s\n", aliases="slow: \"|sleep 30\"\n")
    big = b"Subject: big\n\n" + (b"z" * 1000 + b"\n") * 300
    t0 = time.time()
    qid, st = deliver(inst, "local", ["slow@localhost"], content=big)
    assert time.time() - t0 < 15
    assert (st[0]["status"], st[0]["action"]) == ("5.3.0", "failed")
    assert st[0]["reason"] == 'Command time limit exceeded: "sleep 30"'


def test_home_mailbox_paths(inst):
    """home_mailbox is $HOME/NAME; a trailing / makes it a Maildir.  The
    instance user's home does not exist here, so the attempt fails with
    the path in the reason."""
    if os.path.exists(ME.pw_dir):
        pytest.skip(f"{ME.pw_dir} exists: no delivery into a real home")
    prepare(inst, "home_mailbox = Maildir/\n")
    qid, st = deliver(inst, "local", [f"{USER}@localhost"])
    assert st[0]["status"][0] in "45", st
    assert st[0]["reason"].startswith(
        f"maildir delivery failed: create maildir file {ME.pw_dir}/Maildir/"
    ), st


def test_forwarding_cleanup_tempfail_defers(inst):
    prepare(inst, f"virtual_alias_maps = hash:{inst.root}/missing\n",
            aliases="fwd: someone@example.com\n")
    qid, st = deliver(inst, "local", ["fwd@localhost"])
    assert (st[0]["status"][0], st[0]["action"]) == ("4", "delayed"), st
    assert st[0]["reason"] == ("virtual_alias_maps map lookup problem for "
                               "someone@example.com"), st
    assert not [p for p in (inst.queue / "incoming").rglob("*")
                if p.is_file()]


def test_forwarded_copy_skips_header_checks(inst):
    """As Postfix: header_checks are not applied to the copy local writes
    (a REJECT on its Delivered-To: header does not stop it)."""
    hc = inst.root / "hc"
    hc.write_text("/^Delivered-To:/ REJECT no forwarding\n")
    chown(hc)
    prepare(inst, f"header_checks = regexp:{hc}\n",
            aliases="fwd: someone@example.com\n")
    qid, st = deliver(inst, "local", ["fwd@localhost"])
    assert st[0]["status"] == "2.0.0", st
    m = re.fullmatch(r"forwarded as ([0-9A-F]+)", st[0]["reason"])
    assert m, st
    assert len(list((inst.queue / "incoming").rglob(m.group(1)))) == 1
