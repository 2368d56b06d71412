"""ulak's smtpd answers the golden SMTP sessions of tests/data/smtpd as
Postfix 3.7 did (issue 4): each configuration of the golden files gets an
instance with postfix-ref's main.cf settings plus that configuration's
lines, an smtpd on a free 127.0.0.1 port, and smtpd_replay replays the
recorded sessions over SMTP; there must be no mismatch.

The ulak tests are skipped when this ulak has no smtpd daemon (`ulak
check` says the service is "not available ... yet").  DAEMON_GAPS and
DAEMON_GAP_CONFIGS list what the daemon still answers unlike Postfix.  test_replay_matches_postfix checks the replay
harness itself against Debian's Postfix (postfix-ref instances, root only).
"""
import functools
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

import smtpd_replay
from conftest import ULAK
from test_master import free_port, inst  # noqa: F401

# Where ulak is deliberately stricter than Postfix (src/global/addr.h:
# RFC 5321 paths refuse "a@@b", control bytes and "a@b@c", which
# Postfix's tokenizer lets through; the same list as the stricter[] table
# of src/smtpd/smtpd_cmd_test.c): (step or prelude, argument or escaped
# line) -> ulak's answer.
STRICTER = {
    ("ehlo", "MAIL FROM:<a@@b.example>"): "501 5.1.7 Bad sender address syntax",
    ("ehlo", "MAIL FROM:<a%01@b.example>"):
        "501 5.1.7 Bad sender address syntax",
    ("mail", "RCPT TO:<a@@b.example>"):
        "501 5.1.3 Bad recipient address syntax",
    ("rcpt", "u@remote.example@mx.example.test"):
        "501 5.1.3 Bad recipient address syntax",
}

# Where the smtpd daemon (src/smtpd, as it landed) still answers unlike
# Postfix 3.7: (config, step or prelude, argument or escaped line).  The
# test fails on any other mismatch, and on one of these once it is fixed
# (then delete its entry), so the list can only shrink.
_CMD_GAPS = []
DAEMON_GAPS = {(mode, step, arg) for mode in ("cmd_lax", "cmd_strict")
               for step, arg in _CMD_GAPS}

# Configurations where the daemon misses whole features the restriction
# engine has (recorded answers in check_golden.txt): strict xfail, so the
# test says when one starts passing (then delete it here).
DAEMON_GAP_CONFIGS = {}


def _configs():
    for c in smtpd_replay.CMD_MODES + smtpd_replay.CHECK_CONFIGS:
        if c in DAEMON_GAP_CONFIGS:
            yield pytest.param(c, marks=pytest.mark.xfail(
                strict=True, reason="smtpd: " + DAEMON_GAP_CONFIGS[c]))
        else:
            yield c


MASTER = (
    "pickup unix n - n 60 1 pickup\n"
    "qmgr unix n - n 300 1 qmgr\n"
    "local unix - n n - - local\n"
    "virtual unix - n n - - virtual\n"
    "error unix - - n - - error\n"
    "discard unix - - n - - discard\n")


@functools.lru_cache(maxsize=1)
def smtpd_available():
    """whether this ulak runs an smtpd service (ulak check on a master.cf
    with one says whether the master would start it)"""
    d = pathlib.Path(tempfile.mkdtemp(prefix="ulak-smtpd-probe-"))
    try:
        (d / "main.cf").write_text(f"queue_directory = {d}/q\n"
                                   f"data_directory = {d}/d\n")
        (d / "master.cf").write_text("127.0.0.1:2525 inet n - n - - smtpd\n")
        r = subprocess.run([str(ULAK), "-c", str(d), "check"],
                           capture_output=True, text=True, timeout=60)
        text = r.stdout + r.stderr
        return not ("(smtpd)" in text and "not available" in text)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_probe_sees_the_registry():
    """The probe agrees with the master's table of daemons: it must not
    skip the golden tests after smtpd lands, nor run them before."""
    reg = (pathlib.Path(__file__).resolve().parents[2] / "src" / "master"
           / "master_registry.c").read_text()
    line = [ln for ln in reg.splitlines() if '{"smtpd",' in ln]
    assert len(line) == 1
    assert smtpd_available() == ("MASTER_PROG_NOTYET" not in line[0])


@pytest.mark.skipif(not smtpd_available(),
                    reason="ulak has no smtpd daemon yet (master_registry.c)")
@pytest.mark.parametrize("config", list(_configs()))
def test_smtpd_answers_as_postfix(inst, config):  # noqa: F811
    port = free_port()
    spool = inst.root / "spool"
    spool.mkdir()
    inst.configure(
        MASTER + f"127.0.0.1:{port} inet n - n - - smtpd\n",
        # Instance.configure sets inet_interfaces and inet_protocols itself.
        "".join(ln for ln in smtpd_replay.BASE_MAIN_CF.splitlines(True)
                if not ln.startswith("inet_"))
        + f"mail_spool_directory = {spool}\n"
        + smtpd_replay.main_cf(config))
    r = inst.ulak("start")
    assert r.returncode == 0, r
    assert smtpd_replay._wait_port(port), inst.logtext()
    stricter = STRICTER
    if config == "soft":
        # soft_bounce = yes: every 5XX goes out as 4XX (Postfix's too)
        stricter = {k: "4" + v[1:4] + "4" + v[5:] for k, v in STRICTER.items()}
    bad = smtpd_replay.replay("127.0.0.1", port, config, stricter)
    new = [m for m in bad if (config, m.step, m.argument) not in DAEMON_GAPS]
    assert new == [], "\n".join(map(str, new)) + "\n" + inst.logtext()[-3000:]
    seen = {(config, m.step, m.argument) for m in bad}
    fixed = {g for g in DAEMON_GAPS if g[0] == config} - seen
    assert not fixed, f"fixed now, delete from DAEMON_GAPS: {sorted(fixed)}"


def _postfix_ref_usable():
    return (os.geteuid() == 0 and os.access(smtpd_replay.POSTFIX_REF, os.X_OK)
            and shutil.which("postconf") is not None
            and shutil.which("postfix") is not None)


@pytest.mark.skipif(not _postfix_ref_usable(),
                    reason="needs root, Debian's postfix and "
                    f"{smtpd_replay.POSTFIX_REF}")
def test_replay_matches_postfix():
    """The harness replays Postfix's own answers exactly (every
    configuration, against postfix-ref instances made one after the other:
    postfix-ref edits /etc/postfix/main.cf), and tells a wrong
    configuration apart (strict cases against the lax instance)."""
    # A fixed folder: postfix-ref lists each instance in
    # /etc/postfix/main.cf for good, so fresh names would pile up there.
    root = pathlib.Path("/tmp/smtpd-replay-test")
    try:
        for config in smtpd_replay.CMD_MODES + smtpd_replay.CHECK_CONFIGS:
            # A free port can be taken by another test's instance before
            # Postfix binds it, and a postfix-ref start can stall: a
            # failed start is tried again on another port.
            for attempt in range(3):
                try:
                    bad = smtpd_replay.verify_postfix_config(
                        config, free_port(), root)
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
            assert bad == [], (config, bad)
        cf = root / "cmd_lax.cf"
        cf.write_text("")
        port = free_port()
        subprocess.run([smtpd_replay.POSTFIX_REF, "start",
                        str(root / "cmd_lax"), str(port), str(cf)],
                       capture_output=True, check=True)
        try:
            assert smtpd_replay._wait_port(port)
            bad = smtpd_replay.replay("127.0.0.1", port, "cmd_strict")
            assert {m.argument for m in bad} >= {"MAIL FROM:a@b.example",
                                                 "RCPT TO:root@mx.example.test"}
            # Without XCLIENT authorization every client is 127.0.0.1.
            bad = smtpd_replay.replay("127.0.0.1", port, "default")
            assert ("rcpt", "u@remote.example") in {
                (m.step, m.argument) for m in bad}
        finally:
            subprocess.run([smtpd_replay.POSTFIX_REF, "stop",
                            str(root / "cmd_lax")], capture_output=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
