"""postconf -M/-F/-P against Debian's Postfix 3.7 postconf, byte for byte.

Each master.cf under tests/data/master_cf/ is run through both programs with
the same arguments; stdout and the exit status must be identical, and so
must stderr once Postfix's "unused parameter" warnings (which need the
parameter table, see the report) are left out.  Bad lines in
tests/data/master_cf/bad/ must give Postfix's message, with ulak's
"file PATH: line N: " in front where Postfix leaves the place out.
"""
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from conftest import DATA, run

POSTFIX_POSTCONF = pathlib.Path("/usr/sbin/postconf")
MASTER_DATA = DATA / "master_cf"
CASES = sorted(MASTER_DATA.glob("*.cf"))
BAD = sorted((MASTER_DATA / "bad").glob("*.cf"))
MODES = [["-M"], ["-Mf"], ["-F"], ["-P"]]

needs_postfix = pytest.mark.skipif(
    not POSTFIX_POSTCONF.exists(),
    reason="Debian's /usr/sbin/postconf is not installed")


def postfix(*args, env=None):
    """Run Debian's postconf; (rc, stdout, stderr)."""
    proc = subprocess.run(["postconf", *map(str, args)],
                          executable=str(POSTFIX_POSTCONF),
                          stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60,
                          env=env)
    return proc.returncode, proc.stdout, proc.stderr


def strip_unused(err):
    """ERR without "unused parameter" warnings: Postfix gives them in hash
    table order, several times over; ulak's conf.c has its own."""
    return "".join(line for line in err.splitlines(keepends=True)
                   if ": unused parameter: " not in line)


def age(d):
    """Date the files in D a minute back: Postfix's postconf waits up to
    about two seconds while main.cf is younger than a second or so."""
    past = time.time() - 60
    for f in d.iterdir():
        os.utime(f, (past, past))


def make_dir(tmp_path, master):
    """A config dir with an empty main.cf and MASTER as master.cf."""
    d = tmp_path / "etc"
    d.mkdir()
    (d / "main.cf").write_text("")
    shutil.copy(master, d / "master.cf")
    age(d)
    return d


def compare(d, *args):
    """Assert that ulak's postconf and Postfix's agree on ARGS."""
    want_rc, want_out, want_err = postfix("-c", d, *args)
    got = run("postconf", "-c", d, *args)
    assert got.out == want_out, f"stdout differs for {args}"
    assert got.rc == want_rc, f"exit status for {args}: {got!r}"
    assert strip_unused(got.err) == strip_unused(want_err), \
        f"stderr differs for {args}"


@needs_postfix
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m[0])
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_same_as_postfix(tmp_path, case, mode):
    compare(make_dir(tmp_path, case), *mode)


REQUESTS = [
    ["-M", "smtp"],
    ["-M", "smtp/inet", "nonexist", "smtp/foo"],
    ["-M", "smtp/", "relay/unix", "smtp//"],
    ["-M", "smtp", "smtp"],
    ["-M", "smtp/unix", "smtp/inet"],
    ["-Mf", "relay", "maildrop/unix"],
    ["-M", "/inet"],
    ["-M", "smtp/inet/x"],
    ["-M", "smt*"],
    ["-F", "smtp/inet"],
    ["-F", "smtp/inet/command", "smtp/unix/command", "smtp/inet/service"],
    ["-F", "smtp/inet/chroot", "smtp/inet/private"],
    ["-F", "*/inet", "*/*/command"],
    ["-F", "smtp//command", "smtp/inet/", "smtp//inet"],
    ["-F", "smtp/inet/foo"],
    ["-F", "/unix/command"],
    ["-F", "smtp/*/chroot", "smtp/inet/ch*"],
    ["-P", "relay", "relay/unix/syslog_name", "relay/unix/foo"],
    ["-P", "*/*/syslog_name", "smtp/inet"],
    ["-P", "relay//", "relay/unix/"],
    ["-P", "smtp/inet/x/y"],
    ["-P", "relay/*/sys*"],
]


@needs_postfix
@pytest.mark.parametrize("args", REQUESTS, ids=" ".join)
def test_requests_same_as_postfix(tmp_path, args):
    compare(make_dir(tmp_path, MASTER_DATA / "debian-default.cf"), *args)


@needs_postfix
@pytest.mark.parametrize("args", [["-P", "b/unix/y", "b/unix/x"],
                                  ["-P", "m/unix/*", "m/*/z"],
                                  ["-F", "{my svc}"],
                                  ["-M", "c1", "c2/unix"]],
                         ids=" ".join)
def test_requests_on_odd_files(tmp_path, args):
    src = "groups.cf" if args[1] in ("{my svc}", "c1") else "options.cf"
    compare(make_dir(tmp_path, MASTER_DATA / src), *args)


@needs_postfix
@pytest.mark.parametrize("case", BAD, ids=lambda p: p.stem)
def test_bad_line(tmp_path, case):
    d = make_dir(tmp_path, case)
    want_rc, want_out, want_err = postfix("-c", d, "-M")
    got = run("postconf", "-c", d, "-M")
    assert want_rc == 1 and want_err.startswith("postconf: fatal: ")
    text = want_err[len("postconf: fatal: "):]
    # Every bad line in these files is on line 4.
    if not text.startswith("file "):
        text = f"file {d}/master.cf: line 4: " + text
    assert got.rc == 1, repr(got)
    assert got.out == ""
    # The fatal line is the last; ulak's postconf.c may warn about main.cf
    # before it reads master.cf (Postfix reads master.cf first).
    assert got.err.splitlines(keepends=True)[-1] == "postconf: fatal: " + text


def test_bad_line_names_file_and_line(confdir):
    (confdir / "master.cf").write_text(
        "smtp inet n - y - - smtpd\n"
        "# comment\n"
        "\n"
        "a unix x\n"
        "  # inside\n"
        "  - n - - smtp\n")
    got = run("postconf", "-c", confdir, "-M")
    assert got.rc == 1
    assert got.out == ""
    assert got.err == (
        f"postconf: fatal: file {confdir}/master.cf: line 4: invalid private "
        'field "x" in "a unix x  - n - - smtp"\n')


def test_missing_master_cf(confdir):
    got = run("postconf", "-c", confdir, "-M")
    assert got.rc == 1
    assert got.err == (f"postconf: fatal: open {confdir}/master.cf: "
                       "No such file or directory\n")


def test_mail_config(confdir):
    shutil.copy(MASTER_DATA / "debian-default.cf", confdir / "master.cf")
    got = run("postconf", "-M", "relay", env={"MAIL_CONFIG": str(confdir)})
    assert got.rc == 0
    assert got.out == ("relay      unix  -       -       y       -       -"
                       "       smtp -o syslog_name=postfix/$service_name\n")


def test_fold_exact(confdir):
    (confdir / "master.cf").write_text(
        "s17 unix - - n - - pipe " + "x" * 17 + " yyyyy\n"
        "s18 unix - - n - - pipe " + "x" * 18 + " yyyyy\n"
        "b unix - - n - - smtpd -v -o x=1 -o y=2 -D foo\n")
    got = run("postconf", "-c", confdir, "-Mf")
    assert got.rc == 0
    assert got.out == (
        "s17        unix  -       -       n       -       -       pipe "
        + "x" * 17 + "\n"
        "    yyyyy\n"
        "s18        unix  -       -       n       -       -       pipe\n"
        "    " + "x" * 18 + " yyyyy\n"
        "b          unix  -       -       n       -       -       smtpd -v\n"
        "    -o x=1\n"
        "    -o y=2\n"
        "    -D foo\n")
