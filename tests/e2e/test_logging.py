"""Logging: maillog_file lines in Postfix's shape, read by pflogsumm."""
import re
import shutil
import subprocess

import pytest

from conftest import run

LINE = re.compile(r"^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d (\S+) "
                  r"(\S+)/(\S+)\[(\d+)\]: (.*)$")


def write_conf(confdir, log, extra=""):
    (confdir / "main.cf").write_text(
        f"myhostname = mx.example.test\n"
        f"maillog_file = {log}\n"
        f"maillog_file_prefixes = {confdir.parent}\n"
        f"{extra}")
    # A service that ulak runs: "check" says nothing about it.
    (confdir / "master.cf").write_text(
        "policy unix - n n - 0 spawn user=nobody argv=/bin/cat\n")


def test_check_logs_to_maillog_file(confdir):
    log = confdir.parent / "maillog"
    write_conf(confdir, log, "foo = bar\nmessage_size_limit = 10MB\n")
    r = run("ulak", "-c", confdir, "check")
    assert r.rc == 1, r
    lines = log.read_text().splitlines()
    parsed = [LINE.match(l) for l in lines]
    assert all(parsed), lines
    host, name, prog = parsed[0].group(1, 2, 3)
    assert (host, name, prog) == ("mx", "ulak", "postfix"), lines
    texts = [m.group(5) for m in parsed]
    assert (f"warning: {confdir}/main.cf: unused parameter: foo=bar"
            in texts), texts
    assert (f'error: {confdir}/main.cf:5: message_size_limit: "10MB" is '
            "not a size" in texts), texts


def test_syslog_name_sets_the_tag(confdir):
    log = confdir.parent / "maillog"
    write_conf(confdir, log, "syslog_name = ulak-test\nfoo = bar\n")
    run("postfix", "-c", confdir, "check")
    assert "mx ulak-test/postfix[" in log.read_text()


def test_maillog_file_outside_prefixes_is_refused(confdir):
    (confdir / "main.cf").write_text("maillog_file = /tmp/elsewhere.log\n")
    (confdir / "master.cf").write_text("")
    r = run("ulak", "-c", confdir, "check")
    assert ('ulak: warning: maillog_file: "/tmp/elsewhere.log" does not '
            "match any of maillog_file_prefixes (/var, /dev/stdout)\n"
            ) in r.err, r


def test_pflogsumm_reads_the_log(confdir):
    pflogsumm = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
    if not shutil.os.path.exists(pflogsumm):
        pytest.skip("pflogsumm is not installed (scripts/deps.sh installs it)")
    log = confdir.parent / "maillog"
    write_conf(confdir, log, "foo = bar\n")
    run("ulak", "-c", confdir, "check")
    out = subprocess.run([pflogsumm, "--syslog-name=ulak", str(log)],
                         capture_output=True, text=True, check=True).stdout
    warnings = out.split("Warnings\n--------\n", 1)[1].split("\n\n", 1)[0]
    # pflogsumm groups warnings by program and shortens long texts.
    assert "  postfix (total: 1)\n" in warnings, out
    assert f"         1   {confdir}"[:40] in warnings, out
