"""postmap: tables built by Postfix read by ulak and the other way round,
and every mode (-q, -q -, -s, -d, -i, -f, -r, -w, -n, -N) compared with
Postfix 3.7's postmap on the same files (exit code, stdout and stderr)."""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import DATA, ROOT, run

POSTFIX_POSTMAP = "/usr/sbin/postmap"
TYPES = ["hash", "btree", "lmdb", "cdb"]
SRC = DATA / "postmap"
MAIN_CF = "myhostname = host.example.com\n"


def need_postfix():
    if not os.path.exists(POSTFIX_POSTMAP):
        pytest.skip("Postfix's /usr/sbin/postmap is not installed")


class Res:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return f"rc={self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"

    def key(self):
        return (self.rc, self.out, self.err)


def postfix(prog, *args, cwd, conf, stdin=None):
    """Run Postfix's PROG (postmap or postalias) in CWD."""
    env = dict(os.environ)
    env["MAIL_CONFIG"] = str(conf)
    p = subprocess.run([f"/usr/sbin/{prog}", *map(str, args)], input=stdin,
                       capture_output=True, text=True, cwd=cwd, env=env,
                       timeout=60)
    return Res(p.returncode, p.stdout, p.stderr)


def ulak(prog, *args, cwd, conf, stdin=None):
    r = run(prog, *args, stdin=stdin, cwd=cwd, env={"MAIL_CONFIG": str(conf)})
    return Res(r.rc, r.out, r.err)


@pytest.fixture
def dirs():
    """Two work folders with the same sources: pf/ for Postfix, ul/ for
    ulak, so that relative names make the messages comparable, and a
    configuration folder.  They live outside pytest's tmp_path, which
    concurrent pytest runs may clean up under a long run."""
    base = pathlib.Path(tempfile.mkdtemp(prefix="ulak-postmap-"))
    conf = base / "etc"
    conf.mkdir()
    # Postfix resolves the host name when main.cf leaves it out: slow.
    (conf / "main.cf").write_text(MAIN_CF)
    pf = base / "pf"
    ul = base / "ul"
    for d in (pf, ul):
        d.mkdir()
        for f in SRC.iterdir():
            shutil.copy(f, d / f.name[:-3] if f.name.endswith(".in")
                        else d / f.name)
    yield pf, ul, conf
    shutil.rmtree(base, ignore_errors=True)


def both(dirs, *args, stdin=None, prog="postmap"):
    pf, ul, conf = dirs
    return (postfix(prog, *args, cwd=pf, conf=conf, stdin=stdin),
            ulak(prog, *args, cwd=ul, conf=conf, stdin=stdin))


def keys_of(path):
    keys = []
    for line in pathlib.Path(path).read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            keys.append(line.split()[0])
    return keys


def query_keys():
    ks = keys_of(SRC / "access.in")
    return ks + [k.upper() for k in ks] + ["missing.example", "quoted key"]


def same(a, b):
    assert a.key() == b.key(), f"postfix:\n{a}\nulak:\n{b}"


@pytest.mark.parametrize("typ", TYPES)
def test_ulak_reads_postfix_table(dirs, typ):
    need_postfix()
    pf, ul, conf = dirs
    assert postfix("postmap", f"{typ}:access", cwd=pf, conf=conf).rc == 0
    for k in query_keys():
        want = postfix("postmap", "-q", k, f"{typ}:access", cwd=pf, conf=conf)
        got = ulak("postmap", "-q", k, f"{typ}:{pf}/access", cwd=pf,
                   conf=conf)
        assert (got.rc, got.out) == (want.rc, want.out), k
        assert got.err == ""


@pytest.mark.parametrize("typ", TYPES)
def test_postfix_reads_ulak_table(dirs, typ):
    need_postfix()
    pf, ul, conf = dirs
    r = ulak("postmap", f"{typ}:access", cwd=ul, conf=conf)
    assert (r.rc, r.out, r.err) == (0, "", "")
    for k in query_keys():
        want = ulak("postmap", "-q", k, f"{typ}:access", cwd=ul, conf=conf)
        got = postfix("postmap", "-q", k, f"{typ}:{ul}/access", cwd=ul,
                      conf=conf)
        assert (got.rc, got.out) == (want.rc, want.out), k
    # Nothing but the table is left behind (the temporary file was renamed).
    assert sorted(os.listdir(ul)) == sorted(
        [f for f in os.listdir(ul) if "tmp" not in f])


@pytest.mark.parametrize("typ", ["hash", "btree", "lmdb"])
def test_dump(dirs, typ):
    need_postfix()
    a, b = both(dirs, f"{typ}:access")
    same(a, b)
    a, b = both(dirs, "-s", f"{typ}:access")
    assert (b.rc, b.err) == (a.rc, a.err)
    assert sorted(b.out.splitlines()) == sorted(a.out.splitlines())
    # Postfix's -s of ulak's table
    pf, ul, conf = dirs
    c = postfix("postmap", "-s", f"{typ}:{ul}/access", cwd=pf, conf=conf)
    assert sorted(c.out.splitlines()) == sorted(a.out.splitlines())


def test_dump_cdb_unsupported(dirs):
    need_postfix()
    same(*both(dirs, "cdb:access"))
    same(*both(dirs, "-s", "cdb:access"))


@pytest.mark.parametrize("typ", TYPES)
def test_build_warnings(dirs, typ):
    need_postfix()
    same(*both(dirs, f"{typ}:warnings"))
    same(*both(dirs, "-q", "dup", f"{typ}:warnings"))
    same(*both(dirs, "-q", "alias:", f"{typ}:warnings"))


@pytest.mark.parametrize("flag", ["-r", "-w", "-f"])
@pytest.mark.parametrize("typ", TYPES)
def test_build_flags(dirs, typ, flag):
    need_postfix()
    same(*both(dirs, flag, f"{typ}:warnings"))
    for k in ["dup", "DUP", "ok"]:
        same(*both(dirs, flag, "-q", k, f"{typ}:warnings"))
        same(*both(dirs, "-q", k, f"{typ}:warnings"))


@pytest.mark.parametrize("typ", TYPES)
def test_query_stdin(dirs, typ):
    need_postfix()
    same(*both(dirs, f"{typ}:access"))
    keys = "\n".join(query_keys()) + "\n"
    same(*both(dirs, "-q", "-", f"{typ}:access", stdin=keys))
    same(*both(dirs, "-q", "-", f"{typ}:access", stdin="nothing\nhere\n"))


@pytest.mark.parametrize("typ", ["hash", "btree", "lmdb"])
def test_delete(dirs, typ):
    need_postfix()
    same(*both(dirs, f"{typ}:access"))
    same(*both(dirs, "-d", "Example.COM", f"{typ}:access"))
    same(*both(dirs, "-d", "example.com", f"{typ}:access"))
    same(*both(dirs, "-d", "-", f"{typ}:access",
               stdin="10.0.0.1\nnothing\n"))
    same(*both(dirs, "-d", "-", f"{typ}:access", stdin="nothing\n"))
    a, b = both(dirs, "-s", f"{typ}:access")
    assert sorted(a.out.splitlines()) == sorted(b.out.splitlines())


@pytest.mark.parametrize("typ", TYPES)
def test_incremental(dirs, typ):
    need_postfix()
    same(*both(dirs, f"{typ}:access"))
    stdin = "New.Key new value\nexample.com DUPLICATE\n  continued\nnoval\n"
    same(*both(dirs, "-i", f"{typ}:access", stdin=stdin))
    for k in ["new.key", "example.com", "mixed.example.org"]:
        same(*both(dirs, "-q", k, f"{typ}:access"))
    if typ != "cdb":
        a, b = both(dirs, "-s", f"{typ}:access")
        assert sorted(a.out.splitlines()) == sorted(b.out.splitlines())


@pytest.mark.parametrize("typ", TYPES)
def test_nul_forms(dirs, typ):
    need_postfix()
    for build in ["-n", "-N"]:
        same(*both(dirs, build, f"{typ}:access"))
        for q in [[], ["-n"], ["-N"]]:
            same(*both(dirs, *q, "-q", "example.com", f"{typ}:access"))
        # The other program reads it with its default.
        pf, ul, conf = dirs
        a = postfix("postmap", "-q", "example.com", f"{typ}:{ul}/access",
                    cwd=pf, conf=conf)
        assert (a.rc, a.out) == (0, "OK\n")


def test_default_database_type(dirs):
    need_postfix()
    pf, ul, conf = dirs
    (conf / "main.cf").write_text(MAIN_CF + "default_database_type = btree\n")
    same(*both(dirs, "access"))
    a = postfix("postmap", "-q", "example.com", f"btree:{ul}/access",
                cwd=pf, conf=conf)
    assert (a.rc, a.out) == (0, "OK\n")
    same(*both(dirs, "-q", "example.com", "access"))
    same(*both(dirs, "-q", "example.com", "hash:access"))


def test_multiple_tables(dirs):
    need_postfix()
    same(*both(dirs, "hash:access", "btree:warnings"))
    same(*both(dirs, "-q", "ok", "hash:access", "btree:warnings"))
    same(*both(dirs, "-q", "example.com", "hash:access", "btree:warnings"))
    same(*both(dirs, "-q", "-", "hash:access", "btree:warnings",
               stdin="ok\nexample.com\nnone\n"))


@pytest.mark.parametrize("args", [
    ["-q", "x", "hash:none"],
    ["-q", "x", "btree:none"],
    ["-q", "x", "lmdb:none"],
    ["-q", "x", "cdb:none"],
    ["none"],
    ["-q", "x", "nosuch:type"],
    ["-d", "x", "cdb:access"],
    ["-q", "x", "fail:whatever"],
    [],
    ["-q", "a", "-d", "b", "access"],
    ["-s", "-q", "a", "access"],
    ["-d", "a", "-s", "access"],
    ["-q", "x", "inline:{x=y, z=w}"],
    ["-q", "z", "inline:{x=y, z=w}"],
    ["-q", "q", "static:value"],
    ["texthash:access"],
    ["regexp:access"],
    ["inline:access"],
    ["nosuch:access"],
    ["proxy:access"],
    ["-i", "proxy:access"],
    ["fail:access"],
    ["texthash:nonexist"],
    ["-c", "/nonexistent", "-q", "a", "hash:access"],
    ["-d", "x", "static:b"],
    ["-s", "static:b"],
    ["-s", "fail:x"],
    ["-s", "inline:{a=b}"],
])
def test_errors_and_other_types(dirs, args):
    need_postfix()
    same(*both(dirs, "cdb:access"))
    same(*both(dirs, *args))


def test_wrong_type_file(dirs):
    need_postfix()
    same(*both(dirs, "btree:access"))
    same(*both(dirs, "-q", "example.com", "hash:access"))


def test_permissions(dirs):
    need_postfix()
    pf, ul, conf = dirs
    for d in (pf, ul):
        os.chmod(d / "access", 0o640)
    same(*both(dirs, "hash:access"))
    assert (os.stat(ul / "access.db").st_mode & 0o7777
            == os.stat(pf / "access.db").st_mode & 0o7777 == 0o640)
    # An existing table keeps its mode; -p gives a new one 0644.
    for d in (pf, ul):
        os.chmod(d / "access.db", 0o600)
    same(*both(dirs, "hash:access"))
    assert os.stat(ul / "access.db").st_mode & 0o7777 == 0o600
    same(*both(dirs, "-p", "lmdb:access"))
    assert (os.stat(ul / "access.lmdb").st_mode & 0o7777
            == os.stat(pf / "access.lmdb").st_mode & 0o7777)


def test_reader_sees_old_or_new(dirs):
    """A rebuild replaces the file at once: a table opened before the
    rebuild keeps answering from the old data, a new open sees the new."""
    pf, ul, conf = dirs
    r = ulak("postmap", "hash:access", cwd=ul, conf=conf)
    assert r.rc == 0
    before = os.stat(ul / "access.db").st_ino
    (ul / "access").write_text("example.com NEW\n")
    r = ulak("postmap", "hash:access", cwd=ul, conf=conf)
    assert r.rc == 0
    assert os.stat(ul / "access.db").st_ino != before
    r = ulak("postmap", "-q", "example.com", "hash:access", cwd=ul, conf=conf)
    assert (r.rc, r.out) == (0, "NEW\n")


@pytest.mark.parametrize("typ", ["hash", "cdb"])
def test_non_utf8_input(dirs, typ):
    """smtputf8_enable = yes (the default): malformed lines are skipped with
    Postfix's warning; -u turns the check off."""
    need_postfix()
    same(*both(dirs, f"{typ}:utf8"))
    same(*both(dirs, "-q", "good.example", f"{typ}:utf8"))
    same(*both(dirs, "-u", f"{typ}:utf8"))
    same(*both(dirs, "-q", "good.example", f"{typ}:utf8"))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_owner(dirs):
    """Run by root, postmap builds as the source file's owner (the table
    belongs to it) unless -o; an existing table keeps its owner.  (Checked
    with Postfix in a world-writable folder; pytest's folders are not.)"""
    pf, ul, conf = dirs
    os.chown(ul / "access", 65534, 65534)
    r = ulak("postmap", "hash:access", cwd=ul, conf=conf)
    assert r.rc == 0
    st = os.stat(ul / "access.db")
    assert (st.st_uid, st.st_gid) == (65534, 65534)
    os.chown(ul / "access.db", 1, 1)
    assert ulak("postmap", "hash:access", cwd=ul, conf=conf).rc == 0
    st = os.stat(ul / "access.db")
    assert (st.st_uid, st.st_gid) == (1, 1)
    os.unlink(ul / "access.db")
    assert ulak("postmap", "-o", "hash:access", cwd=ul, conf=conf).rc == 0
    assert os.stat(ul / "access.db").st_uid == 0


@pytest.mark.parametrize("typ", TYPES)
def test_base64_files(dirs, typ):
    """-F: values name files whose content is stored base64-encoded, and
    -q/-s decode; a missing file skips the entry, a bad value is fatal."""
    need_postfix()
    pf, ul, conf = dirs
    for d in (pf, ul):
        (d / "f1").write_text("line1\nline2\n")
        (d / "f2").write_text("other")
        (d / "fsrc").write_text("k1 f1\nk2 f1, f2\nk3 nonexist\nk4 f2 f2 f2\n")
        (d / "bad").write_text("k notbase64!\n")
    same(*both(dirs, "-F", f"{typ}:fsrc"))
    same(*both(dirs, "-q", "k4", f"{typ}:fsrc"))
    same(*both(dirs, "-F", "-q", "k2", f"{typ}:fsrc"))
    same(*both(dirs, "-F", "-q", "-", f"{typ}:fsrc", stdin="k1\nk3\nk4\n"))
    same(*both(dirs, f"{typ}:bad"))
    same(*both(dirs, "-F", "-q", "k", f"{typ}:bad"))
    if typ != "cdb":
        a, b = both(dirs, "-F", "-s", f"{typ}:fsrc")
        assert sorted(a.out.split("\n")) == sorted(b.out.split("\n"))
        same(*both(dirs, "-F", "-i", f"{typ}:fsrc", stdin="k9 f2\n"))
        same(*both(dirs, "-q", "k9", f"{typ}:fsrc"))


@pytest.mark.parametrize("msg", ["msg", "m2", "m4", "m6", "m7"])
@pytest.mark.parametrize("opts", ["-h", "-b", "-hm", "-bm", "-hbm", "-m"])
def test_message_keys(dirs, msg, opts):
    """-h/-b/-m: header and body keys of a message, with and without MIME
    structure, as header_checks/body_checks see them."""
    need_postfix()
    text = (SRC / f"{msg}.eml").read_text()
    same(*both(dirs, opts, "-q", "-", "regexp:checks.regexp", stdin=text))


def test_message_keys_need_stdin(dirs):
    need_postfix()
    same(*both(dirs, "-h", "-q", "x", "regexp:checks.regexp"))
    same(*both(dirs, "-b", "access"))


@pytest.mark.parametrize("typ", TYPES)
def test_unicode_keys(dirs, typ):
    """smtputf8_enable = yes: keys are Unicode case-folded (ß is ss) when
    building and querying; a non-UTF-8 query key is warned about and not
    found; -u goes back to ASCII folding."""
    need_postfix()
    same(*both(dirs, f"{typ}:unicode"))
    for k in ["STRASSE.example", "straße.example", "çöş.EXAMPLE",
              "ÇÖŞ.Example", "PLAIN.example", "\udcff", "a\udcffb"]:
        same(*both(dirs, "-q", k, f"{typ}:unicode"))
        same(*both(dirs, "-u", "-q", k, f"{typ}:unicode"))
    same(*both(dirs, "-u", f"{typ}:unicode"))
    same(*both(dirs, "-u", "-q", "ÇÖŞ.example", f"{typ}:unicode"))
    same(*both(dirs, "-q", "ÇÖŞ.example", f"{typ}:unicode"))


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"),
                    reason="needs root and runuser")
@pytest.mark.parametrize("typ,ext", [("hash", "db"), ("btree", "db"),
                                     ("lmdb", "lmdb")])
def test_rebuild_in_place(dirs, typ, ext):
    """A user who may write the table but not its folder rebuilds it in
    place, as with Postfix (no temporary file can be made there)."""
    pf, ul, conf = dirs
    for d in (ul.parent, ul, conf):
        os.chmod(d, 0o755)
    os.chmod(conf / "main.cf", 0o644)
    (ul / "t").write_text("a 1\n")
    assert ulak("postmap", f"{typ}:t", cwd=ul, conf=conf).rc == 0
    os.chown(ul / f"t.{ext}", 65534, 65534)
    (ul / "t").write_text("a 2\nb 3\n")
    env = dict(os.environ, MAIL_CONFIG=str(conf))
    p = subprocess.run(["runuser", "-u", "nobody", "--",
                        str(ROOT / "build" / "bin" / "postmap"), f"{typ}:t"],
                       cwd=ul, env=env, capture_output=True, text=True)
    assert (p.returncode, p.stderr) == (0, "")
    r = ulak("postmap", "-s", f"{typ}:t", cwd=ul, conf=conf)
    assert sorted(r.out.splitlines()) == ["a\t2", "b\t3"]
    assert [f for f in os.listdir(ul) if f.startswith("t.")] == [f"t.{ext}"]
