"""The seed configurations (tests/data/seeds/, see its README.md) through
ulak's postconf and Debian's Postfix 3.7 postconf, byte for byte.

For every seed directory with a master.cf: -M, -Mf, -F and -P on the
faithful copy (where Postfix refuses it, ulak must give Postfix's error,
with the file and line in front) and on the fixed copy (master.cf.fixed
where there is one).  For every main.cf: postconf -n, faithful and fixed.
"""
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from conftest import DATA, run

POSTFIX_POSTCONF = pathlib.Path("/usr/sbin/postconf")
SEEDS = DATA / "seeds"
MODES = [["-M"], ["-Mf"], ["-F"], ["-P"]]

pytestmark = pytest.mark.skipif(
    not POSTFIX_POSTCONF.exists(),
    reason="Debian's /usr/sbin/postconf is not installed")


def seed_dirs(name):
    """Directories under tests/data/seeds that hold NAME."""
    return sorted(p.parent for p in SEEDS.rglob(name))


def seed_id(p):
    return str(p.relative_to(SEEDS))


def variants(name):
    """(seed dir, variant) for each seed file NAME: "faithful", and "fixed"
    where NAME.fixed exists."""
    out = []
    for d in seed_dirs(name):
        out.append((d, "faithful"))
        if (d / (name + ".fixed")).exists():
            out.append((d, "fixed"))
    return out


def pick(seed, name, variant):
    """The file to use for NAME in VARIANT (the .fixed one when asked and
    present), or None."""
    fixed = seed / (name + ".fixed")
    if variant == "fixed" and fixed.exists():
        return fixed
    plain = seed / name
    return plain if plain.exists() else None


def make_dir(tmp_path, seed, variant):
    """A config dir with the seed's main.cf and master.cf (an empty main.cf
    when the seed has none), dated a minute back: Postfix's postconf waits
    while main.cf is younger than about a second."""
    d = tmp_path / "etc"
    d.mkdir()
    for name in ("main.cf", "master.cf"):
        src = pick(seed, name, variant)
        if src is not None:
            shutil.copy(src, d / name)
    if not (d / "main.cf").exists():
        (d / "main.cf").write_text("")
    past = time.time() - 60
    for f in d.iterdir():
        os.utime(f, (past, past))
    return d


def postfix(*args):
    """Debian's postconf (rc, stdout, stderr), named "postconf"."""
    proc = subprocess.run(["postconf", *map(str, args)],
                          executable=str(POSTFIX_POSTCONF),
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def master_warnings(err):
    """The lines of ERR that are about master.cf: not Postfix's "unused
    parameter" warnings (they need the parameter table) and not main.cf's
    own warnings ("overriding earlier entry"), which test_main_cf_n and the
    main.cf tests cover."""
    return "".join(line for line in err.splitlines(keepends=True)
                   if ": unused parameter: " not in line
                   and "/main.cf" not in line)


def fatal_line(path, text):
    """The line of PATH whose logical line Postfix quotes in TEXT."""
    start = text.index(' in "') + 5
    quoted = text[start:text.index(" ", start)]
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith(quoted + " "):
            return n
    raise AssertionError(f"no line of {path} starts with {quoted!r}")


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m[0])
@pytest.mark.parametrize("seed,variant", variants("master.cf"),
                         ids=lambda v: v if isinstance(v, str)
                         else seed_id(v))
def test_master_cf(tmp_path, seed, variant, mode):
    d = make_dir(tmp_path, seed, variant)
    want_rc, want_out, want_err = postfix("-c", d, *mode)
    got = run("postconf", "-c", d, *mode)
    assert got.out == want_out
    assert got.rc == want_rc, repr(got)
    if want_rc == 0:
        assert master_warnings(got.err) == master_warnings(want_err)
        return
    # A master.cf that Postfix refuses: the same message, with the place.
    assert want_err.startswith("postconf: fatal: ")
    text = want_err[len("postconf: fatal: "):]
    if not text.startswith("file "):
        n = fatal_line(d / "master.cf", text)
        text = f"file {d}/master.cf: line {n}: " + text
    assert last_line(got.err) == "postconf: fatal: " + text


def last_line(err):
    """The last line of ERR with its newline.  Postfix stops at a bad
    master.cf before it says anything about main.cf; ulak's postconf.c
    reads main.cf first and may warn about it (see the report), so only
    the fatal line, which must be the last, is compared."""
    lines = err.splitlines(keepends=True)
    return lines[-1] if lines else ""


# The seed master.cf files that Postfix refuses, and why (README.md).
REFUSED = {
    "000": 'invalid unprivileged field "???" in "submission inet n ??? n - '
           '- smtpd"',
    "002": 'invalid wakeup field "--" in "spf unix - n n -- spawn '
           'user=nobody argv=/usr/local/sbin/postfix-policyd-spf"',
}


@pytest.mark.parametrize("seed", sorted(REFUSED))
def test_refused_seed_master_cf(tmp_path, seed):
    d = make_dir(tmp_path, SEEDS / seed, "faithful")
    n = fatal_line(d / "master.cf", REFUSED[seed])
    got = run("postconf", "-c", d, "-M")
    assert got.rc == 1
    assert got.out == ""
    assert last_line(got.err) == (
        f"postconf: fatal: file {d}/master.cf: line {n}: " + REFUSED[seed]
        + "\n")


def main_cf_cases():
    """variants("main.cf"), and the faithful main.cf with the fixed
    master.cf where only master.cf needed fixing; Postfix's postconf -n
    dies on the faithful 000 and 002 master.cf, and so must ulak's."""
    cases = variants("main.cf")
    cases += [(seed, "fixed") for seed, variant in cases
              if variant == "faithful"
              and (seed / "master.cf.fixed").exists()
              and not (seed / "main.cf.fixed").exists()]
    return [pytest.param(seed, variant, id=f"{seed_id(seed)}-{variant}")
            for seed, variant in sorted(cases)]


@pytest.mark.parametrize("seed,variant", main_cf_cases())
def test_main_cf_n(tmp_path, seed, variant):
    d = make_dir(tmp_path, seed, variant)
    want_rc, want_out, _ = postfix("-c", d, "-n")
    got = run("postconf", "-c", d, "-n")
    assert got.out == want_out
    assert got.rc == want_rc, repr(got)


POSTFIX_POSTMAP = pathlib.Path("/usr/sbin/postmap")
POSTFIX_POSTALIAS = pathlib.Path("/usr/sbin/postalias")

# The seed tables (README.md) and keys to look up in them: some that are
# there and some that are not.
TABLES = [
    ("001/local_recipients", "hash",
     ["request@mail.boratanrikulu.me", "info@mail.boratanrikulu.me"]),
    ("002/aliases", "alias", ["postmaster", "root", "www", "ftp", "nobody"]),
    ("002/virtual_aliases", "hash",
     ["joe@example.com", "sales@example.com", "sharon@example.com",
      "@example.com", "other@example.com"]),
    ("002/virtual_mboxes", "hash",
     ["info@example.com", "john.smith@example.com", "sales@example.com",
      "nobody@example.com"]),
    ("002/filter_stuff", "hash",
     ["sales@example.com", "example.net", "example.org", "example.com"]),
    ("002/script_filter", "hash",
     ["sales@example.com", "info@example.com", "example.net"]),
    ("002/greylist_filter", "hash", ["example.com", "example.org", "x.org"]),
    ("002/spf_filter", "hash", ["example.net", "example.org", "x.org"]),
    ("002/transport", "hash", ["mail.example.com", "example.com"]),
    ("002/backup-mx/transport", "hash", ["example.com", "example.net"]),
    ("003/whitelist", "hash", ["ok", "OK", "no"]),
    ("004/mime_header_checks.regexp.fixed", "regexp",
     ['Content-Disposition: attachment; filename="x.exe"',
      'Content-Type: application/x; name="evil.pif"',
      'Content-Type: text/plain; name="notes.txt"']),
    # Faithful: Postfix warns about the indented and wrapped rules.
    ("004/mime_header_checks.regexp", "regexp",
     ['Content-Disposition: attachment; filename="x.exe"',
      'Content-Type: application/x; name="evil.pif"']),
]


def postfix_tool(exe, *args, stdin=None):
    """Debian's postmap or postalias (rc, stdout, stderr)."""
    proc = subprocess.run([exe.name, *map(str, args)], executable=str(exe),
                          input=stdin, capture_output=True, text=True,
                          timeout=60,
                          stdin=None if stdin is not None
                          else subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("name,kind,keys", TABLES,
                         ids=[t[0] for t in TABLES])
def test_seed_table(tmp_path, name, kind, keys):
    """Each seed table answers the same through ulak's postmap as through
    Postfix's, built by either (Berkeley DB files are shared)."""
    src = SEEDS / name
    for builder in ("postfix", "ulak"):
        d = tmp_path / builder
        d.mkdir()
        f = d / src.name
        shutil.copy(src, f)
        past = time.time() - 60
        os.utime(f, (past, past))
        if kind == "regexp":
            spec = f"regexp:{f}"
        else:
            spec = f"hash:{f}"
            tool = "postalias" if kind == "alias" else "postmap"
            if builder == "postfix":
                exe = POSTFIX_POSTALIAS if kind == "alias" else POSTFIX_POSTMAP
                rc, _, err = postfix_tool(exe, spec)
                assert rc == 0, err
            else:
                got = run(tool, spec)
                assert got.rc == 0, repr(got)
        for key in keys:
            want = postfix_tool(POSTFIX_POSTMAP, "-q", key, spec)
            got = run("postmap", "-q", key, spec)
            assert (got.rc, got.out) == want[:2], f"{builder} {key!r}"
            assert got.err == want[2], f"{builder} {key!r}"
